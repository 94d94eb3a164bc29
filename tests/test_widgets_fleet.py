"""The fleet app's update function at the ends of every control."""

from __future__ import annotations

import pytest

from vmbackup.apps import fleet_app, fleet_update
from vmbackup.data import read_fleet, read_lag_profile, read_policies

FLEET, POLICIES, LAG = read_fleet(), read_policies(), read_lag_profile()
APP = fleet_app(FLEET, POLICIES, LAG)
ENDS = [(name, value) for name, c in APP.controls.items() for value in (c.min, c.max)]


@pytest.mark.parametrize(("name", "value"), ENDS)
def test_fleet_update_at_every_end(name: str, value: object) -> None:
    result, text, ax = fleet_update(
        fleet=FLEET, policies=POLICIES, lag_profile_hours=LAG, days=3, **{name: value}
    )
    assert result is not None, text
    assert f"{result.jobs.height:,} jobs" in text
    assert ax is not None
    assert ax.get_xlabel().startswith("hours since")


def test_spreading_start_times_lowers_the_peak_in_the_app() -> None:
    """S13 in the app: a ±120 min spread flattens the peak of transfers in flight."""
    app = fleet_app(FLEET, POLICIES, LAG)
    before = app.summary.value
    app.controls["spread_minutes"].value = 120
    assert app.summary.value != before
    assert "at the default times: 150" in app.summary.value
    assert "peak 150 transfers" not in app.summary.value


def test_bad_input_shows_the_message() -> None:
    result, text, ax = fleet_update(
        fleet=FLEET, policies=POLICIES, lag_profile_hours=LAG, vault_ingest_mb_s=0.0
    )
    assert result is None
    assert ax is None
    assert (
        "vault_ingest_mb_s=0.0 must be a finite number &gt; 0" in text
        or "vault_ingest_mb_s=0.0 must be a finite number > 0" in text
    )
