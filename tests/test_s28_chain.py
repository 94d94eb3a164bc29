"""S28: the vault's chain of incremental recovery points, checked against an independent
day-by-day simulation of the blocks each point holds."""

from __future__ import annotations

import datetime as dt

import numpy as np
import numpy.typing as npt
import polars as pl
import pytest

from vmbackup.policy import Policy
from vmbackup.retention import (
    chain_segments,
    changed_gb,
    vault_points,
    vault_storage_gb,
)

TWO_YEARS = pl.date_range(dt.date(2026, 1, 1), dt.date(2027, 12, 31), "1d", eager=True)
LONG = Policy(
    daily_retention_days=14,
    weekly_retention_weeks=8,
    monthly_retention_months=12,
    yearly_retention_years=2,
)


def simulate_blocks(
    created: npt.NDArray[np.int64],
    expires: npt.NDArray[np.int64],
    writes: list[npt.NDArray[np.int64]],
    blocks: int,
) -> npt.NDArray[np.float64]:
    """Day by day: each point stores the set of blocks changed since the point before it; the
    first point (and any point made when the chain is empty) stores every block; when a point
    expires its blocks fold into the next surviving point (or into the next one to be made).
    Returns the number of blocks stored at the end of each day."""
    n = len(writes)
    make = dict(zip(created.tolist(), expires.tolist(), strict=True))
    chain: list[tuple[int, npt.NDArray[np.bool_]]] = []  # (expires, blocks held), oldest first
    pending = np.zeros(blocks, dtype=bool)
    stored = np.zeros(n)
    for day in range(n):
        pending[writes[day]] = True
        survivors: list[tuple[int, npt.NDArray[np.bool_]]] = []
        carry = None
        for ends, held in chain:
            if carry is not None:
                held = held | carry
                carry = None
            if ends <= day:
                carry = held
            else:
                survivors.append((ends, held))
        if carry is not None:
            pending |= carry
        chain = survivors
        if day in make:
            held = np.ones(blocks, dtype=bool) if not chain else pending.copy()
            chain.append((make[day], held))
            pending[:] = False
        stored[day] = sum(int(held.sum()) for _, held in chain)
    return stored


def _sequential_writes(churn: npt.NDArray[np.int64], blocks: int) -> list[npt.NDArray[np.int64]]:
    start = np.concatenate([[0], np.cumsum(churn)[:-1]])
    return [(s + np.arange(c)) % blocks for s, c in zip(start, churn, strict=True)]


@pytest.mark.parametrize(
    "policy",
    [
        LONG,
        Policy(daily_retention_days=7, monthly_retention_months=3),
        Policy(
            frequency="weekly",
            run_days=("Wednesday", "Sunday"),
            daily_retention_days=None,
            weekly_retention_weeks=10,
            monthly_retention_months=6,
            instant_restore_days=5,
        ),
    ],
    ids=["daily-weekly-monthly-yearly", "daily-monthly", "weekly-schedule"],
)
def test_s28_chain_matches_a_day_by_day_block_simulation(policy: Policy) -> None:
    """S28: each point's actual data is the distinct data changed since the retained point
    before it; expired points fold into the next kept one. Two years of daily churn that
    wraps round the disk, to 1e-6 of an independent block-by-block simulation."""
    rng = np.random.default_rng(28)
    blocks = 3000
    churn = rng.integers(0, 120, TWO_YEARS.len())
    points = vault_points(policy, TWO_YEARS)
    created = points["created_day"].to_numpy()
    expires = points["expires_day"].to_numpy()
    simulated = simulate_blocks(created, expires, _sequential_writes(churn, blocks), blocks)
    modelled = vault_storage_gb(
        policy, TWO_YEARS, float(blocks), churn.astype(float), overlap="sequential"
    )
    assert np.max(np.abs(modelled - simulated)) < 1e-6
    assert simulated.max() > 2 * blocks  # long retention really holds more than a full copy


def test_s28_chain_after_stop_with_retained_data_matches_the_simulation() -> None:
    """S24, S28: protection stopped with data retained: no new points, nothing expires."""
    rng = np.random.default_rng(24)
    blocks, stop = 2000, dt.date(2026, 9, 15)
    churn = rng.integers(0, 80, TWO_YEARS.len())
    backing_up = (stop > TWO_YEARS).to_numpy()
    points = vault_points(LONG, TWO_YEARS, backing_up=backing_up, frozen_from=stop)
    simulated = simulate_blocks(
        points["created_day"].to_numpy(),
        points["expires_day"].to_numpy(),
        _sequential_writes(churn, blocks),
        blocks,
    )
    modelled = vault_storage_gb(
        LONG,
        TWO_YEARS,
        float(blocks),
        churn.astype(float),
        backing_up=backing_up,
        frozen_from=stop,
        overlap="sequential",
    )
    assert np.max(np.abs(modelled - simulated)) < 1e-6


def test_s28_random_overlap_matches_a_simulation_of_random_block_writes() -> None:
    """S28 with the random overlap model (the default until issue 25, now a named case, A20):
    each day rewrites 3% of the blocks at random; the closed form used x (1 - (1 - f)^k)
    matches the simulated chain within 1%."""
    rng = np.random.default_rng(7)
    blocks, share = 40_000, 0.03
    days = TWO_YEARS[:400]
    writes = [np.flatnonzero(rng.random(blocks) < share) for _ in range(days.len())]
    points = vault_points(LONG, days)
    simulated = simulate_blocks(
        points["created_day"].to_numpy(), points["expires_day"].to_numpy(), writes, blocks
    )
    modelled = vault_storage_gb(LONG, days, float(blocks), share * blocks, overlap="random")
    assert np.max(np.abs(modelled / simulated - 1)) < 0.01


def test_s28_a_weekly_point_holds_a_weeks_changes_not_one_days() -> None:
    """S28: with 7 daily and 4 weekly points, an old weekly point holds the week's changes
    (the previous model charged it one day's churn)."""
    policy = Policy(daily_retention_days=7, weekly_retention_weeks=4)
    days = TWO_YEARS[:120]
    storage = vault_storage_gb(policy, days, 1000.0, 10.0, overlap="sequential")
    last = days.len() - 1
    alive = vault_points(policy, days).filter(pl.col("expires_day") > last)
    oldest = int(alive["created_day"].min())  # type: ignore[arg-type]
    # without overlap the chain holds every change since its oldest point: the deltas telescope
    assert storage[-1] == pytest.approx(1000.0 + 10.0 * (last - oldest))
    assert storage[-1] > 1000.0 + 10.0 * (alive.height - 1)  # one day's churn per point


def test_chain_segments_name_the_predecessor_over_time() -> None:
    """S28: a daily point's changes fold into the monthly point after it expires."""
    rows = chain_segments([0, 1, 2], [1, 5, 3]).rows()
    # point 0 alone on day 0; point 1 follows 0 for no day (0 expired), is oldest from day 1
    assert rows == [(0, -1, 0, 1), (1, -1, 1, 5), (2, 1, 2, 3)]
    with pytest.raises(ValueError, match="created must be sorted"):
        chain_segments([2, 1], [5, 5])


def test_changed_data_never_exceeds_the_used_data() -> None:
    used, churn = np.full(50, 100.0), np.full(50, 30.0)
    for overlap in ("random", "sequential"):
        changed = changed_gb(used, churn, np.zeros(49, int), np.arange(1, 50), overlap)
        assert (changed <= 100.0 + 1e-9).all()
        assert np.all(np.diff(changed) >= -1e-9)
    with pytest.raises(ValueError, match="overlap='daily' is not allowed"):
        changed_gb(used, churn, 0, 1, "daily")


def test_s28_point_sizes_add_up_to_the_vault() -> None:
    """S28: the bill is the sum of the actual data in each recovery point."""
    from vmbackup.retention import point_sizes_gb

    on = dt.date(2027, 6, 30)
    sizes = point_sizes_gb(LONG, TWO_YEARS, 500.0, 15.0, on)
    vault = vault_storage_gb(LONG, TWO_YEARS, 500.0, 15.0)
    assert sizes["actual_gb"].sum() == pytest.approx(vault[(on - TWO_YEARS[0]).days])
    assert sizes.filter(pl.col("kept_by") == "monthly")["actual_gb"].min() > 15.0
