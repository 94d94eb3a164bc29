"""Churn per point kind (issue 25, Deliver 2; P6): a VM's weekly, monthly and yearly churn set
the distinct change of its vault points (S28) in place of the overlap model's curve (A32), the
same in the single-VM bill, the S28 chain and the fleet."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vmbackup.billing import Event, monthly_bill
from vmbackup.cli import main
from vmbackup.data import dataset_path, read_fleet, read_prices
from vmbackup.fleet import FLEET_START, fleet_bill_lines, fleet_plan
from vmbackup.policy import MonthlyDay, Policy
from vmbackup.retention import (
    PeriodChurn,
    changed_gb,
    distinct_change_gb,
    point_sizes_gb,
    vault_storage_gb,
)

PRICES = read_prices(region="westeurope")
FLEET = read_fleet()
#: the brief's VM: 100 GB, 2% a day, a week 10%, a month 20%, a year 40% of its data
PERIOD = PeriodChurn(
    weekly_churn_fraction=0.1, monthly_churn_fraction=0.2, yearly_churn_fraction=0.4
)


def change(days: object, period: PeriodChurn | None = PERIOD, **kw: object) -> np.ndarray:
    return distinct_change_gb(100.0, 2.0, days, period_churn=period, **kw)  # type: ignore[arg-type]


def test_p6_each_point_kind_holds_its_periods_churn() -> None:
    """P6, S28: a weekly point 7 days after its predecessor holds 10 GB, a monthly one (31
    days, G3.2) 20 GB, a yearly one 40 GB; a daily one the day's 2 GB, in every overlap model."""
    for overlap in ("trace", "random", "sequential", 3.0):
        assert change([1, 7, 31, 365], overlap=overlap).tolist() == pytest.approx(
            [2.0, 10.0, 20.0, 40.0]
        )


def test_p6_between_anchors_linear_beyond_a_year_flat_never_above_used() -> None:
    """P6: 3 days lies on the line from day 1 (2 GB) to day 7 (10 GB); 19 days between a week
    and a month; beyond 365 days the year's share holds; a share of 1 caps at the used data."""
    assert float(change(3)) == pytest.approx(2.0 + 2.0 / 6.0 * 8.0)
    assert float(change(19)) == pytest.approx(10.0 + 12.0 / 24.0 * 10.0)
    assert change([365, 366, 730, 3650]).tolist() == pytest.approx([40.0] * 4)
    whole = PeriodChurn(weekly_churn_fraction=0.5, monthly_churn_fraction=1.0)
    assert change([31, 200, 365, 900], whole).tolist() == pytest.approx([100.0] * 4)
    # the timeline form and the chain take the same curve
    used, churn = np.full(40, 100.0), np.full(40, 2.0)
    assert changed_gb(used, churn, [0, 0, 5], [7, 31, 8], period_churn=PERIOD).tolist() == (
        pytest.approx([10.0, 20.0, 2.0 + 2.0 / 6.0 * 8.0])
    )


def test_p6_anchors_not_given_take_the_model_and_none_gives_todays_numbers() -> None:
    """A32: with no anchor the model's curve is unchanged (today's numbers); an anchor not given
    takes the model's value at its period, kept between the given ones around it."""
    n = np.array([0.25, 1, 3, 7, 30, 31, 200, 365, 1000])
    for overlap in ("trace", "random", "sequential"):
        model = distinct_change_gb(100.0, 2.0, n, overlap)
        assert change(n, None, overlap=overlap).tolist() == model.tolist()
        assert change(n, PeriodChurn(), overlap=overlap).tolist() == model.tolist()
    # only a yearly 40%: the trace's week (10.7 GB) and month (about 21 GB) stand in
    yearly = PeriodChurn(yearly_churn_fraction=0.4)
    model = distinct_change_gb(100.0, 2.0, [7, 31])
    assert change([7, 31], yearly).tolist() == pytest.approx(model.tolist())
    assert float(change(365, yearly)) == pytest.approx(40.0)
    # a weekly 30% above the model's month: the month's stand-in is raised to 30 GB
    assert float(change(31, PeriodChurn(weekly_churn_fraction=0.3))) == pytest.approx(30.0)
    # hourly snapshots (less than a day) always follow the model
    assert float(change(0.25)) == float(distinct_change_gb(100.0, 2.0, 0.25))


@pytest.mark.parametrize(
    ("shares", "message"),
    [
        (
            {"weekly_churn_fraction": 0.3, "monthly_churn_fraction": 0.2},
            "^monthly_churn_fraction=0.2 is below the weekly_churn_fraction \\(0.3\\)",
        ),
        (
            {"monthly_churn_fraction": 0.5, "yearly_churn_fraction": 0.1},
            "^yearly_churn_fraction=0.1 is below the monthly",
        ),
        ({"weekly_churn_fraction": 1.5}, "^weekly_churn_fraction=1.5 must be a share"),
        ({"yearly_churn_fraction": -0.1}, "^yearly_churn_fraction=-0.1 must be a share"),
    ],
)
def test_p6_decreasing_or_bad_shares_are_refused(shares: dict, message: str) -> None:
    """P6: a longer period cannot change less than a shorter one; shares lie in [0, 1]."""
    with pytest.raises(ValueError, match=message):
        PeriodChurn(**shares)


def test_p6_a_week_below_the_daily_churn_is_refused_naming_it() -> None:
    """P6: a week changing 1% of the data cannot follow a day changing 2%: refused in the
    model, in the single-VM bill and in the fleet plan (naming the VM)."""
    week = PeriodChurn(weekly_churn_fraction=0.01)
    with pytest.raises(
        ValueError, match="^weekly_churn_fraction=0.01 is below the daily_churn_gb / used_gb"
    ):
        distinct_change_gb(100.0, 2.0, 7, period_churn=week)
    assert float(distinct_change_gb(100.0, 1.0, 7, period_churn=week)) == pytest.approx(1.0)
    start = dt.date(2026, 1, 1)
    with pytest.raises(
        ValueError, match="^weekly_churn_fraction=0.01 is below the daily_churn_fraction"
    ):
        monthly_bill(
            [Event("protect", start, used_gb=100.0), Event("first-backup", start)],
            until=dt.date(2026, 2, 1),
            policy=Policy(daily_retention_days=7),
            prices=PRICES,
            daily_churn_fraction=0.02,
            weekly_churn_fraction=0.01,
        )
    vm = FLEET["vm_name"][0]
    fleet = FLEET.with_columns(
        weekly_churn_fraction=pl.when(pl.col("vm_name") == vm).then(pl.lit(0.001))
    )
    with pytest.raises(ValueError, match=f"vm_name='{vm}'"):
        fleet_plan(fleet, {"P": Policy(daily_retention_days=7)})


def test_s28_the_chain_holds_the_anchored_increments() -> None:
    """S28, P6: 7 daily and 4 weekly points on 100 GB (no overlap, the upper bound): after the
    dailies expire each weekly point holds a week's 10 GB (not 7 x 2 GB summed), the oldest the
    full copy, the dailies 2 GB; the chain's total is their sum."""
    days = pl.date_range(dt.date(2026, 1, 1), dt.date(2026, 3, 31), "1d", eager=True)
    policy = Policy(daily_retention_days=7, weekly_retention_weeks=4)
    on = dt.date(2026, 3, 31)
    sizes = point_sizes_gb(
        policy, days, 100.0, 2.0, on, overlap="sequential", period_churn=PERIOD
    ).sort("created")
    weekly = sizes.filter(pl.col("kept_by") == "weekly")["actual_gb"].to_list()
    # the newest weekly point is among the 7 daily ones: it holds the day's 2 GB
    assert weekly == pytest.approx([100.0, 10.0, 10.0, 2.0])
    daily = sizes.filter(pl.col("kept_by") == "daily")["actual_gb"].to_list()
    # the oldest daily point follows the second weekly point 3 days on: on the day-1 to day-7 line
    assert daily == pytest.approx([2.0 + 2.0 / 6.0 * 8.0] + [2.0] * 5)
    total = vault_storage_gb(policy, days, 100.0, 2.0, overlap="sequential", period_churn=PERIOD)
    assert float(total[-1]) == pytest.approx(float(sizes["actual_gb"].sum()))


policies = st.builds(
    Policy,
    daily_retention_days=st.integers(7, 60),
    weekly_retention_weeks=st.one_of(st.none(), st.integers(1, 20)),
    monthly_retention_months=st.one_of(st.none(), st.integers(1, 24)),
    monthly_day=st.just(MonthlyDay(days_of_month=(1,))),
    yearly_retention_years=st.one_of(st.none(), st.integers(1, 3)),
)
shares = st.one_of(st.none(), st.floats(0.2, 1.0))


def one_vm(used_gb: float) -> pl.DataFrame:
    vm = FLEET.filter(pl.col("policy") == "DailyPolicy")["vm_name"][0]
    rows = FLEET.filter((pl.col("vm_name") == vm) & (pl.col("disk_role") != "temp"))
    return rows.with_columns(used_gb=pl.lit(used_gb / rows.height), policy=pl.lit("P"))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    policy=policies,
    used=st.floats(5.0, 2_000.0),
    fraction=st.floats(0.0, 0.2),
    weekly=shares,
    monthly=shares,
    yearly=shares,
    overlap=st.sampled_from([None, "random", "sequential"]),
)
def test_s28_fleet_vault_with_period_churn_is_the_single_vm_bill(
    policy: Policy,
    used: float,
    fraction: float,
    weekly: float | None,
    monthly: float | None,
    yearly: float | None,
    overlap: str | None,
) -> None:
    """S28, P6, A32: with a VM's weekly, monthly and yearly churn given (any of them), the
    fleet's vault equals its single-VM bill month by month, in each overlap model."""
    given_shares = [s for s in (weekly, monthly, yearly) if s is not None]
    if given_shares != sorted(given_shares):
        weekly, monthly, yearly = sorted([weekly or 0.2, monthly or 0.2, yearly or 0.2])
    period = {
        "weekly_churn_fraction": weekly,
        "monthly_churn_fraction": monthly,
        "yearly_churn_fraction": yearly,
    }
    fleet = one_vm(used).with_columns(
        pl.lit(value, dtype=pl.Float64).alias(name) for name, value in period.items()
    )
    plan = fleet_plan(fleet, {"P": policy})
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
        **period,
    )
    vault = lines.filter(pl.col("meter") == "Standard LRS Data Stored").sort("month")
    assert vault["quantity"].to_list() == pytest.approx(
        (bill["vault_storage_usd"] / PRICES.storage_usd_per_gb_month["LRS"]).to_list(), rel=1e-9
    )


def test_p6_vm_settings_columns_change_the_plans_vault(tmp_path: Path) -> None:
    """P6: --vm-settings with weekly, monthly and yearly shares changes the plan's vault
    (DailyPolicy keeps weekly points: after its 30 daily points expire, each holds a week's
    change); a blank cell changes nothing; a share above 1 is refused naming the row."""
    estate = [
        "plan",
        str(dataset_path("azure/vms.json")),
        "--disks",
        str(dataset_path("azure/disks.json")),
        "--days",
        "60",
    ]

    def vault_line(*extra: str) -> str:
        out, err = io.StringIO(), io.StringIO()
        assert main([*estate, *extra], out, err) == 0, err.getvalue()
        return next(line for line in out.getvalue().splitlines() if "2026-02 (" in line)

    blank = tmp_path / "blank.csv"
    blank.write_text("vm_name,weekly_churn_fraction\nweb-01,\n")
    heavy = tmp_path / "heavy.csv"
    heavy.write_text(
        "vm_name,weekly_churn_fraction,monthly_churn_fraction,yearly_churn_fraction\n"
        "web-01,0.6,0.7,0.8\nsql-01,0.6,,\n"
    )
    base = vault_line()
    assert vault_line("--vm-settings", str(blank)) == base
    changed = vault_line("--vm-settings", str(heavy))
    assert changed != base
    vault = [float(line.split("vault")[1].split()[0].replace(",", "")) for line in (base, changed)]
    assert vault[1] > vault[0]
    bad = tmp_path / "bad.csv"
    bad.write_text("vm_name,monthly_churn_fraction\nweb-01,1.5\n")
    out, err = io.StringIO(), io.StringIO()
    assert main([*estate, "--vm-settings", str(bad)], out, err) != 0
    assert "bad.csv: row 2" in err.getvalue()
    assert "monthly_churn_fraction=1.5" in err.getvalue()
