"""The vault over years (issue 25): one model of distinct change (A32), bounded by the used
data, the same in the single-VM bill and the fleet, fitted on the project's trace, and cheap over
years."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vmbackup.billing import Event, monthly_bill
from vmbackup.churn import change_windows, fit_pool_days
from vmbackup.data import dataset_path, read_fleet, read_msr_trace, read_prices
from vmbackup.fleet import FLEET_START, fleet_bill_lines, fleet_plan, horizon_bill
from vmbackup.horizon import horizon_summary
from vmbackup.policy import MonthlyDay, Policy
from vmbackup.retention import (
    TRACE_POOL_DAYS,
    chain_gaps,
    chain_storage_gb,
    changed_gb,
    distinct_change_gb,
    point_sizes_gb,
    pool_curve,
    vault_points,
    vault_storage_gb,
)

PRICES = read_prices(region="westeurope")
FLEET = read_fleet()
YEAR = pl.date_range(dt.date(2026, 1, 1), dt.date(2027, 6, 30), "1d", eager=True)
#: 7 daily + 12 monthly points (the issue's hand check)
MONTHLY = Policy(daily_retention_days=7, monthly_retention_months=12)


def test_a32_named_cases_at_their_edges() -> None:
    """A32/A20: random is the pool of the whole used data, sequential the infinite pool; a pool
    of one day rewrites the same blocks daily; one day is one day's churn in every model."""
    used, churn = 100.0, 2.0
    n = np.array([1, 2, 30, 365])
    random = distinct_change_gb(used, churn, n, "random")
    assert random.tolist() == pytest.approx((100 * (1 - 0.98**n)).tolist())
    assert distinct_change_gb(used, churn, n, used / churn).tolist() == pytest.approx(
        random.tolist()
    )
    assert distinct_change_gb(used, churn, n, "sequential").tolist() == [2.0, 4.0, 60.0, 100.0]
    assert distinct_change_gb(used, churn, n, math.inf).tolist() == [2.0, 4.0, 60.0, 100.0]
    assert distinct_change_gb(used, churn, n, 1.0).tolist() == [2.0, 2.0, 2.0, 2.0]
    for model in ("trace", "random", "sequential"):
        assert float(distinct_change_gb(used, churn, 1, model)) == pytest.approx(2.0)
    # the trace's pool: 11.2 days of churn at most, whatever the period
    assert float(distinct_change_gb(used, churn, 3650)) == pytest.approx(2.0 * TRACE_POOL_DAYS)


@pytest.mark.parametrize("bad", [0.5, 0, -1, "overlapping", True, float("nan")])
def test_a32_overlap_rejects_a_pool_below_one_day(bad: object) -> None:
    """A32: overlap is a named model or a pool of at least one day of churn."""
    with pytest.raises(ValueError, match="^overlap="):
        distinct_change_gb(100.0, 2.0, 30, bad)  # type: ignore[arg-type]


def test_a32_timeline_form_matches_the_closed_form() -> None:
    """A32: changed_gb on a constant timeline is distinct_change_gb over the period."""
    used, churn = np.full(400, 80.0), np.full(400, 4.0)
    older, newer = np.array([0, 10, 3]), np.array([1, 40, 368])
    for model in ("trace", "random", "sequential"):
        assert changed_gb(used, churn, older, newer, model).tolist() == pytest.approx(
            distinct_change_gb(80.0, 4.0, newer - older, model).tolist()
        )


def test_a32_pool_model_matches_simulated_pool_writes() -> None:
    """A32: a VM whose days each rewrite a random 1/m of a pool of m days of churn: the model's
    chain matches a block-level simulation within 2% (7 daily + 12 monthly points, a year)."""
    rng = np.random.default_rng(25)
    blocks, churn, pool_days = 50_000, 500, 11.2
    pool = int(churn * pool_days)
    days = YEAR[:400]
    writes = [np.flatnonzero(rng.random(pool) < churn / pool) for _ in range(days.len())]
    points = vault_points(MONTHLY, days)
    born, dies = points["created_day"].to_numpy(), points["expires_day"].to_numpy()
    # the chain holds the full copy plus each linked point's distinct blocks
    from tests.test_s28_chain import simulate_blocks

    simulated = simulate_blocks(born, dies, writes, blocks)
    modelled = chain_storage_gb(
        born, dies, np.full(400, float(blocks)), np.full(400, float(churn)), overlap=pool_days
    )
    assert np.max(np.abs(modelled[7:] / simulated[7:] - 1)) < 0.02


def test_s28_hand_check_100_gb_2_percent_7_daily_12_monthly() -> None:
    """S28, A32 hand check: 100 GB used, 2 GB/day, 7 daily + 12 monthly points, after a year.
    The full copy 100 GB, six daily increments of 2 GB, and each monthly point holds the
    distinct change since the one before it: 2 x 11.2 x (1 - (1 - 1/11.2)^gap), 21.0 GB for a
    30-day gap, never the 60 GB of 30 days' churn summed (the old sequential fleet) nor more
    than the 100 GB used."""
    on = dt.date(2027, 3, 31)
    sizes = point_sizes_gb(MONTHLY, YEAR, 100.0, 2.0, on)
    monthly = sizes.filter(pl.col("kept_by") == "monthly")
    assert sizes["actual_gb"][0] == 100.0
    assert monthly.height == 12
    gaps = monthly["created"].diff().dt.total_days().drop_nulls().to_numpy()
    assert monthly["actual_gb"][1:].to_list() == pytest.approx(
        (2 * 11.2 * (1 - (1 - 1 / 11.2) ** gaps)).tolist()
    )
    # monthly points on the first Sunday: gaps of 28 or 35 days, 20.8 or 21.6 GB
    assert monthly["actual_gb"][1:].min() == pytest.approx(20.767, abs=1e-3)
    assert monthly["actual_gb"][1:].max() == pytest.approx(21.552, abs=1e-3)
    daily = sizes.filter(pl.col("kept_by") == "daily")["actual_gb"]
    assert daily.to_list()[1:] == pytest.approx([2.0] * (daily.len() - 1))
    total = float(vault_storage_gb(MONTHLY, YEAR, 100.0, 2.0)[(on - YEAR[0]).days])
    assert total == pytest.approx(float(sizes["actual_gb"].sum()))
    assert 350 < total < 365  # 100 + 12 + about 12 x 21 (vs 100 + 12 + 12 x 60 = 832 before)


policies = st.builds(
    Policy,
    daily_retention_days=st.integers(7, 60),
    weekly_retention_weeks=st.one_of(st.none(), st.integers(1, 20)),
    monthly_retention_months=st.one_of(st.none(), st.integers(1, 24)),
    monthly_day=st.just(MonthlyDay(days_of_month=(1,))),
    yearly_retention_years=st.one_of(st.none(), st.integers(1, 3)),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    policy=policies,
    used=st.floats(1.0, 5_000.0),
    share=st.floats(0.0, 1.0),
    overlap=st.sampled_from(["trace", "random", "sequential", 1.0, 3.0, 40.0]),
)
def test_s28_no_increment_exceeds_the_used_data(
    policy: Policy, used: float, share: float, overlap: str | float
) -> None:
    """S28, A32: for any used size, churn and policy, no point's increment exceeds the used
    data and the vault never exceeds (points kept x used data), in every overlap model."""
    days = pl.date_range(dt.date(2026, 1, 1), dt.date(2027, 12, 31), "1d", eager=True)
    points = vault_points(policy, days)
    born, dies = points["created_day"].to_numpy(), points["expires_day"].to_numpy()
    vault = chain_storage_gb(
        born, dies, np.full(days.len(), used), np.full(days.len(), used * share), overlap=overlap
    )
    day = np.arange(days.len())
    kept = ((born[None, :] <= day[:, None]) & (dies[None, :] > day[:, None])).sum(axis=1)
    assert np.all(vault <= kept * used * (1 + 1e-12))
    gaps, _, _ = chain_gaps(born, dies, days.len())
    increments = distinct_change_gb(used, used * share, gaps, overlap)
    assert np.all(increments <= used * (1 + 1e-12))
    assert np.all(increments <= used * share * gaps * (1 + 1e-12))  # never above summed churn


def one_vm(used_gb: float) -> pl.DataFrame:
    vm = FLEET.filter(pl.col("policy") == "DailyPolicy")["vm_name"][0]
    rows = FLEET.filter((pl.col("vm_name") == vm) & (pl.col("disk_role") != "temp"))
    return rows.with_columns(used_gb=pl.lit(used_gb / rows.height), policy=pl.lit("P"))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    policy=policies,
    used=st.floats(5.0, 2_000.0),
    fraction=st.floats(0.0, 0.2),
    overlap=st.sampled_from([None, "random", "sequential"]),
)
def test_s28_fleet_vault_is_the_single_vm_bill(
    policy: Policy, used: float, fraction: float, overlap: str | None
) -> None:
    """S28: for the same VM and policy the fleet's vault equals the single-VM bill month by
    month, by default (both take A32's trace-fitted pool) and with a named model on both."""
    plan = fleet_plan(one_vm(used), {"P": policy})
    size = float(plan.pi_size_gb[0])
    chosen = {} if overlap is None else {"overlap": overlap}
    lines = fleet_bill_lines(
        plan, np.array([fraction * size]), FLEET_START, 400, PRICES, "LRS", **chosen
    )
    bill = monthly_bill(
        [Event("protect", FLEET_START, used_gb=size), Event("first-backup", FLEET_START)],
        until=FLEET_START + dt.timedelta(days=399),
        policy=policy,
        prices=PRICES,
        daily_churn_fraction=fraction,
        redundancy="LRS",
        **chosen,
    )
    vault = lines.filter(pl.col("meter") == "Standard LRS Data Stored").sort("month")
    assert vault["quantity"].to_list() == pytest.approx(
        (bill["vault_storage_usd"] / PRICES.storage_usd_per_gb_month["LRS"]).to_list(), rel=1e-9
    )


def test_a32_the_stored_fit_is_the_traces() -> None:
    """A32: the fitted pool, the windows and the curve in datasets/ are what the trace gives."""
    windows = change_windows(read_msr_trace())
    assert round(fit_pool_days(windows), 1) == TRACE_POOL_DAYS == 11.2
    stored = pl.read_csv(dataset_path("change_windows.csv"), try_parse_dates=True)
    assert stored["distinct_bytes"].to_list() == windows["distinct_bytes"].to_list()
    assert stored["daily_sum_bytes"].to_list() == windows["daily_sum_bytes"].to_list()
    # the trace overlaps: three days change 8% less than their churns summed
    three = windows.filter(pl.col("days") == 3).row(0, named=True)
    assert three["distinct_bytes"] / three["daily_sum_bytes"] == pytest.approx(0.9158, abs=1e-4)
    curve = pl.read_csv(dataset_path("change_curve.csv"))
    assert set(curve["pool_days"]) == {TRACE_POOL_DAYS}
    assert curve["distinct_days_of_churn"].to_list() == pytest.approx(
        pool_curve(curve["days"].to_numpy(), TRACE_POOL_DAYS).tolist(), abs=1e-6
    )


def test_horizon_three_years_of_the_sample_fleet() -> None:
    """S28, P7: over three years the fleet's bill equals its invoice lines over the same days,
    and the vault of a 7-daily + 12-monthly policy stops growing (within 2%) once it holds its
    12 monthly points, in December 2026, before the first of them expires (372 days, A1)."""
    plan = fleet_plan(one_vm(100.0), {"P": MONTHLY})
    churn = np.array([2.0])
    monthly = horizon_bill(plan, churn, PRICES, start=dt.date(2026, 1, 1), years=3)
    assert monthly.height == 36
    lines = fleet_bill_lines(plan, churn, dt.date(2026, 1, 1), 365 + 365 + 366, PRICES)
    assert monthly["total_usd"].sum() == pytest.approx(float(lines["cost"].sum()))
    summary = horizon_summary(monthly)
    assert summary.vault_stops_growing is not None
    assert summary.vault_stops_growing == dt.date(2026, 12, 1)
    assert summary.three_year_usd == pytest.approx(float(monthly["total_usd"].sum()))
    assert 350 < summary.final_vault_gb < 365  # the hand check's 100 + 12 + 12 x ~21 GB


def test_horizon_a_vault_still_growing_has_no_steady_state() -> None:
    """A ten-year yearly retention keeps adding a yearly point: over three years the vault never
    stops growing, so no steady monthly cost is claimed."""
    policy = Policy(daily_retention_days=7, yearly_retention_years=10)
    plan = fleet_plan(one_vm(100.0), {"P": policy})
    monthly = horizon_bill(plan, np.array([2.0]), PRICES, start=dt.date(2026, 1, 1), years=3)
    summary = horizon_summary(monthly)
    assert summary.vault_stops_growing is None
    assert summary.steady_month_usd is None


@pytest.mark.parametrize("years", [0, 11, 2.5])
def test_horizon_years_out_of_range(years: object) -> None:
    """The horizon runs 1 to 10 whole years."""
    plan = fleet_plan(one_vm(100.0), {"P": MONTHLY})
    with pytest.raises(ValueError, match="^years="):
        horizon_bill(plan, np.array([2.0]), PRICES, years=years)  # type: ignore[arg-type]
