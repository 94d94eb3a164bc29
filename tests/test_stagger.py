"""S13: staggering VMs that share a start time: who goes where, and by how much."""

from __future__ import annotations

import numpy as np
import pytest
from test_onboarding import FLAT_LAG, plan_of

from vmbackup.fleet import _offsets_hours, _stagger_positions, propose_stagger


def test_s13_two_vms_at_one_time_go_to_both_ends_and_a_lone_vm_stays_put() -> None:
    """Two VMs sharing a start are placed first and last (largest first); a VM alone at its
    time keeps the middle, so its offset is 0."""
    plan = plan_of([("big", 400.0), ("small", 100.0)])
    assert _stagger_positions(plan).tolist() == [0.0, 1.0]
    alone = plan_of([("only", 100.0)])
    assert _stagger_positions(alone).tolist() == [0.5]
    assert _offsets_hours(np.array([0.5]), 60).tolist() == [0.0]


def test_s13_offsets_span_plus_minus_the_spread_in_5_minute_steps() -> None:
    """Offsets run from -spread to +spread, each a whole number of 5-minute steps."""
    offsets = _offsets_hours(np.array([0.0, 0.25, 0.5, 0.75, 1.0]), 60)
    assert offsets * 60 == pytest.approx([-60, -30, 0, 30, 60])
    uneven = _offsets_hours(np.array([0.0, 1 / 3, 2 / 3, 1.0]), 50) * 60
    assert uneven == pytest.approx([-50, -15, 15, 50])


def test_propose_stagger_checks_its_seed_and_spreads_naming_them() -> None:
    """Clear errors: the seed is a whole number in [0, 2**63 - 1]; a spread is >= 0 minutes."""
    plan = plan_of([("a", 100.0), ("b", 100.0)])
    kw = {"lag_profile_hours": FLAT_LAG, "days": 1}
    offsets, _ = propose_stagger(plan, seed=2**63 - 1, **kw)
    assert offsets.shape == (2,)
    with pytest.raises(ValueError, match=r"^seed="):
        propose_stagger(plan, seed=2**63, **kw)
    with pytest.raises(ValueError, match=r"^spread_minutes="):
        propose_stagger(plan, spreads_minutes=(-15,), **kw)


def test_simulate_fleet_reports_its_stages_in_order() -> None:
    """The progress callback (the CLI's progress line) hears each stage once, in order, then
    'done' at 3 of 3."""
    from vmbackup.fleet import simulate_fleet

    heard: list[tuple[int, int, str]] = []
    plan = plan_of([("a", 100.0), ("b", 50.0)])
    simulate_fleet(plan, lag_profile_hours=FLAT_LAG, days=2, progress=lambda *a: heard.append(a))
    assert heard == [
        (0, 3, "churn and transfer"),
        (1, 3, "congestion"),
        (2, 3, "rollups"),
        (3, 3, "done"),
    ]
