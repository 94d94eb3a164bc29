"""Schedules as Azure runs them in the fleet simulation (S1, S12-S17, S23, S29, Y1, Y2, G4,
G13), one job model shared with ``vmbackup.transfer``, and the per-VM inputs an architect
controls."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import numpy as np
import polars as pl
import pytest

from vmbackup.data import read_fleet, read_lag_profile, read_policies, read_prices
from vmbackup.fleet import FLEET_START, fleet_plan, simulate_fleet
from vmbackup.policy import WEEKDAYS, Policy
from vmbackup.transfer import DEFAULTS, backup_jobs, extents_for

FLEET = read_fleet()
LAG = read_lag_profile()
PRICES = read_prices()
POLICIES = read_policies()
#: 20 VMs of the sample, whatever their policy column says
SMALL = FLEET.filter(pl.col("vm_name").is_in(FLEET["vm_name"].unique(maintain_order=True)[:20]))
DAILY = Policy(name="Daily", run_hour=22.5)
FREE = {"lag_profile_hours": LAG, "vault_ingest_mb_s": 1e12}  # a vault that never fills


def hourly(interval: int = 4, window: int = 12, run_hour: float = 8.0, **more: Any) -> Policy:
    return Policy(
        name="Hourly",
        policy_type="enhanced",
        frequency="hourly",
        run_hour=run_hour,
        hourly_interval_hours=interval,
        window_hours=window,
        **more,
    )


def weekly(days: tuple[str, ...] = ("Sunday", "Wednesday"), run_hour: float = 1.0) -> Policy:
    return Policy(
        name="Weekly",
        frequency="weekly",
        run_days=days,
        run_hour=run_hour,
        daily_retention_days=None,
        weekly_retention_weeks=8,
        weekly_days=days,
    )


def run(policy: Policy, days: int = 14, fleet: pl.DataFrame = SMALL, **kw: Any) -> Any:
    plan = fleet_plan(fleet, {policy})
    return plan, simulate_fleet(plan, days=days, **(FREE | kw))


# --- S1: the policy decides the run time ---------------------------------------------------------


def test_s1_fleet_plan_takes_one_policy_for_every_vm_without_a_policy_column_edit() -> None:
    """S1: ``fleet_plan(estate, {my_policy})`` plans every VM under ``my_policy`` (the fleet's
    policy column names other policies), at the policy's run time."""
    plan, result = run(DAILY)
    assert plan.policies == (DAILY,)
    assert (plan.policy_index == 0).all()
    assert set(plan.start_hour) == {22.5}
    assert np.allclose(result.jobs["start_hours"].to_numpy() % 24, 22.5)


def test_s1_moving_the_run_time_moves_every_job_and_changes_the_plan() -> None:
    """S1: the same estate at 22:30 and at 12:00 gives other start times and, through the
    peak-hour lag (S11), other job durations."""
    _, late = run(DAILY)
    _, noon = run(dataclasses.replace(DAILY, run_hour=12.0))
    shift = late.jobs["start_hours"].to_numpy() - noon.jobs["start_hours"].to_numpy()
    assert np.allclose(shift, 10.5)
    assert noon.jobs["duration_hours"].max() < late.jobs["duration_hours"].max()


def test_s1_the_run_time_is_read_in_the_policys_time_zone_and_kept_in_utc() -> None:
    """S1, Y4, G13: 22:00 in Tokyo is 13:00 UTC; 22:00 W. Europe time, fixed in UTC on the
    first day 2026-03-27 (winter: 21:00 UTC), stays 21:00 UTC after the clock moves on
    2026-03-29 (Azure does not adjust for summer time): on a Berlin clock 22:00, then 23:00."""
    tokyo = dataclasses.replace(DAILY, run_hour=22.0, time_zone="Tokyo Standard Time")
    _, result = run(tokyo, days=2)
    assert np.allclose(result.jobs["start_hours"].to_numpy() % 24, 13.0)
    berlin = dataclasses.replace(DAILY, run_hour=22.0, time_zone="W. Europe Standard Time")
    plan = fleet_plan(SMALL, berlin)
    spring = simulate_fleet(plan, days=4, start=dt.date(2026, 3, 27), **FREE).jobs
    by_day = spring.group_by("day").agg(pl.col("start_hours").first()).sort("day")
    assert (by_day["start_hours"].to_numpy() - 24 * np.arange(4)).tolist() == [21, 21, 21, 21]
    clock = fleet_plan(SMALL, berlin, time_zone="Europe/Berlin")
    local = simulate_fleet(clock, days=4, start=dt.date(2026, 3, 27), **FREE).jobs
    by_day = local.group_by("day").agg(pl.col("start_hours").first()).sort("day")
    assert (by_day["start_hours"].to_numpy() - 24 * np.arange(4)).tolist() == [22, 22, 23, 23]


def test_s1_a_start_time_override_moves_only_its_vm() -> None:
    """S1: the fleet's ``schedule_hour`` overrides the policy's run time for that VM only."""
    first = SMALL["vm_name"][0]
    moved = SMALL.with_columns(
        schedule_hour=pl.when(pl.col("vm_name") == first).then(3.0).otherwise(None)
    )
    plan, result = run(DAILY, days=2, fleet=moved)
    assert plan.start_hour[0] == 3.0
    assert set(plan.start_hour[1:]) == {22.5}
    assert np.allclose(result.jobs.filter(pl.col("vm") == 0)["start_hours"].to_numpy() % 24, 3)


# --- Y1: weekly ----------------------------------------------------------------------------------


def test_y1_a_weekly_policy_runs_on_its_days_only_and_sends_the_days_between() -> None:
    """Y1: a weekly policy has jobs on its weekdays only; each sends the changes since the
    previous one (several days of churn, capped at the data), more than a daily job."""
    _, result = run(weekly(), days=21)
    weekdays = {
        WEEKDAYS[(FLEET_START + dt.timedelta(days=int(d))).weekday()] for d in result.jobs["day"]
    }
    assert weekdays == {"Sunday", "Wednesday"}
    assert result.jobs.height == 20 * 6  # 3 weeks x 2 days x 20 VMs
    assert result.daily.filter(pl.col("jobs") == 0).height == 21 - 6
    _, daily = run(dataclasses.replace(DAILY, run_hour=1.0), days=21)
    per_job = result.jobs["sent_gb"].mean() / daily.jobs["sent_gb"].mean()  # type: ignore[operator]
    assert 3.0 < per_job < 4.0  # Sunday -> Wednesday 3 days, Wednesday -> Sunday 4
    assert result.daily["sent_gb"].sum() == pytest.approx(daily.daily["sent_gb"].sum(), rel=0.1)


def test_y1_moving_the_run_days_changes_the_plan() -> None:
    """Y1: the same weekly policy on other weekdays runs on other days."""
    _, a = run(weekly(("Sunday",)), days=14)
    _, b = run(weekly(("Monday", "Friday")), days=14)
    assert set(a.jobs["day"]) != set(b.jobs["day"])
    assert a.jobs.height == 40
    assert b.jobs.height == 80


# --- Y2, S29: Enhanced hourly --------------------------------------------------------------------


def test_y2_every_snapshot_of_the_window_is_counted_and_the_last_one_is_sent() -> None:
    """Y2, S29: every 4 h in a 12 h window from 08:00 takes 3 snapshots a day; the vault
    transfer starts at the last, 16:00."""
    _, result = run(hourly(), days=3)
    assert result.jobs["snapshots"].unique().to_list() == [3]
    assert result.daily["snapshots"].to_list() == [60, 60, 60]
    assert np.allclose(result.jobs["start_hours"].to_numpy() % 24, 16.0)


def test_y2_the_interval_changes_the_snapshots_and_their_cost() -> None:
    """Y2, P4, G9: every 4 h over 24 h takes 6 snapshots a day, every 12 h 2; the snapshot
    bill changes with them (each holds its interval's changes; more of them wait for clean-up),
    and the vault transfer moves to the window's last snapshot."""
    _, often = run(hourly(4, 24, run_hour=0.0), days=10, prices=PRICES)
    _, rarely = run(hourly(12, 24, run_hour=0.0), days=10, prices=PRICES)
    assert often.jobs["snapshots"].unique().to_list() == [6]
    assert rarely.jobs["snapshots"].unique().to_list() == [2]
    assert np.allclose(often.jobs["start_hours"].to_numpy() % 24, 20.0)
    assert np.allclose(rarely.jobs["start_hours"].to_numpy() % 24, 12.0)
    often_usd = often.monthly["snapshot_storage_usd"].sum()
    assert often_usd != pytest.approx(rarely.monthly["snapshot_storage_usd"].sum(), rel=1e-4)


def test_y2_moving_the_window_moves_the_transfer() -> None:
    _, early = run(hourly(run_hour=2.0), days=2)
    _, late = run(hourly(run_hour=9.0), days=2)
    assert np.allclose(late.jobs["start_hours"] - early.jobs["start_hours"], 7.0)


# --- G4 and failed backups -----------------------------------------------------------------------


def test_g4_a_failed_last_hourly_snapshot_sends_the_next_days_first() -> None:
    """G4: when the day's last hourly backup fails, the next day's first snapshot (08:00) is
    sent to the vault instead of 16:00."""
    failures = np.zeros((20, 3), dtype=bool)
    failures[0, 1] = True
    _, result = run(hourly(), days=3, failed_backups=failures)
    vm0 = result.jobs.filter(pl.col("vm") == 0).sort("day")
    assert vm0["start_hours"].to_list() == [16.0, 24 + 24 + 8.0, 48 + 16.0]
    assert not vm0["failed"].any()
    assert vm0["snapshots"].to_list() == [3, 2, 3]  # the failed one is not kept


def test_a_failed_daily_backup_sends_nothing_and_its_changes_go_with_the_next() -> None:
    """S1, S10: a failed job makes no recovery point; the next job sends both days' changes."""
    failures = np.zeros((20, 4), dtype=bool)
    failures[0, 1] = True
    _, ok = run(DAILY, days=4)
    _, broken = run(DAILY, days=4, failed_backups=failures)
    a = ok.jobs.filter(pl.col("vm") == 0).sort("day")["sent_gb"].to_numpy()
    b = broken.jobs.filter(pl.col("vm") == 0).sort("day")
    assert b["failed"].to_list() == [False, True, False, False]
    assert b["sent_gb"][1] == 0
    assert b["sent_gb"][2] == pytest.approx(a[1] + a[2], rel=1e-5)
    assert broken.daily["failed"].to_list() == [0, 1, 0, 0]


# --- S12, S14, S15, S17, S23: one job model with vmbackup.transfer -------------------------------


def test_s12_s14_s23_a_first_backup_copies_all_installs_the_extension_and_starts_billing() -> None:
    """S12, S14: from its enabling day a VM's first job copies all its used data and installs
    the extension (the same numbers as ``vmbackup.transfer.backup_jobs``); no job before; S23:
    billing starts that day."""
    plan = fleet_plan(SMALL, DAILY)
    enabled = np.full(plan.vms, -1)
    enabled[0] = 3
    result = simulate_fleet(plan, days=10, first_backup_day=enabled, prices=PRICES, **FREE)
    vm0 = result.jobs.filter(pl.col("vm") == 0).sort("day")
    assert vm0["day"].to_list() == list(range(3, 10))
    assert vm0["first_backup"].to_list() == [True] + [False] * 6
    assert vm0["sent_gb"][0] == pytest.approx(plan.pi_size_gb[0], rel=1e-5)
    disks = plan.disk_vm == 0
    single = backup_jobs(
        pl.DataFrame(
            {
                "vm": "vm0",
                "disk": [f"d{i}" for i in range(disks.sum())],
                "used_gb": plan.disk_used_gb[disks],
                "allocated_gb": plan.disk_allocated_gb[disks],
                "churn_gb": 0.0,
                "extents": 0.0,
                "new_disk": False,
                "start_hour": 22.5,
                "first_backup": True,
                "snapshot_missing": False,
            }
        ),
        LAG,
    )
    assert vm0["duration_hours"][0] == pytest.approx(single["total_hours"][0], rel=1e-5)
    assert result.billed_from_day is not None
    assert result.billed_from_day[0] == 3
    late = simulate_fleet(
        plan, days=10, first_backup_day=np.full(plan.vms, 5), prices=PRICES, **FREE
    )
    early = simulate_fleet(plan, days=10, prices=PRICES, **FREE)
    assert late.monthly["pi_fee_usd"][0] == pytest.approx(early.monthly["pi_fee_usd"][0] / 2)


def test_s12_a_pending_first_backup_from_the_fleet_starts_on_day_0() -> None:
    """S12: a VM whose first backup is still to come (``first_backup_done`` False, IRPending)
    gets its first full backup on day 0."""
    fleet = SMALL.with_columns(first_backup_done=pl.col("vm_name") != SMALL["vm_name"][0])
    plan, result = run(DAILY, days=2, fleet=fleet)
    assert plan.first_backup_pending is not None
    assert plan.first_backup_pending[0]
    assert result.jobs.filter(pl.col("first_backup"))["vm"].to_list() == [0]


def test_s15_a_new_disk_is_copied_whole_on_its_first_job() -> None:
    """S15: a disk added on day 2 sends nothing before and all its used data on day 2."""
    plan = fleet_plan(SMALL, DAILY)
    added = np.full(plan.disk_vm.size, -1)
    disk = int(np.flatnonzero(plan.disk_vm == 0)[-1])
    added[disk] = 2
    base = simulate_fleet(plan, days=4, **FREE).jobs.filter(pl.col("vm") == 0).sort("day")
    new = simulate_fleet(plan, days=4, new_disk_day=added, **FREE).jobs
    vm0 = new.filter(pl.col("vm") == 0).sort("day")
    assert vm0["sent_gb"][2] > plan.disk_used_gb[disk]
    assert vm0["duration_hours"][2] > base["duration_hours"][2]
    assert vm0["sent_gb"][0] < base["sent_gb"][0]


def test_s17_a_deleted_snapshot_scans_the_disks_and_a_huge_disk_fails() -> None:
    """S17: the checksum fallback reads every allocated GB; past its limit the job fails."""
    huge = SMALL.with_columns(
        allocated_gb=pl.when(pl.col("disk_role") == "data")
        .then(pl.lit(32_000.0))
        .otherwise(pl.col("allocated_gb"))
    )
    plan = fleet_plan(huge, DAILY)
    missing = np.zeros((plan.vms, 2), dtype=bool)
    missing[:, 1] = True
    result = simulate_fleet(plan, days=2, snapshot_missing=missing, **FREE).jobs.sort("vm", "day")
    hours = result["duration_hours"].to_numpy().reshape(plan.vms, 2)
    largest = np.zeros(plan.vms)
    np.maximum.at(largest, plan.disk_vm, plan.disk_allocated_gb)
    scan_hours = largest * 1000 / DEFAULTS["checksum_scan_mb_s"] / 3600  # the largest disk
    assert (hours[:, 1] - hours[:, 0] > 0.9 * scan_hours - 1).all()
    has_data = np.bincount(plan.disk_vm, minlength=plan.vms) > 1
    failed = result.filter(pl.col("day") == 1).sort("vm")["failed"].to_numpy()
    assert failed[has_data].all()
    assert not result.filter(pl.col("day") == 0)["failed"].any()


def test_y1_without_congestion_a_weekly_job_is_the_transfer_model_on_a_weeks_changes() -> None:
    """Y1, one job model: the first Sunday job (day 3; day 0 is a Thursday) sends each disk's
    changes of the 7 days since the Sunday before (capped at its data) and lasts what
    ``vmbackup.transfer.backup_jobs`` computes for them."""
    from vmbackup.fleet import _churn

    plan, result = run(weekly(("Sunday",), run_hour=12.0), days=7)
    churn = _churn(plan, 7 + 7, 0, 0.5).astype(np.float64)  # 7 days of warm-up, then the horizon
    week = np.minimum(churn[:, 7 + 3 - 6 : 7 + 3 + 1].sum(axis=1), plan.disk_used_gb)
    disks = pl.DataFrame(
        {
            "vm": plan.disk_vm.astype(str),
            "disk": [f"d{i}" for i in range(plan.disk_vm.size)],
            "used_gb": plan.disk_used_gb,
            "allocated_gb": plan.disk_allocated_gb,
            "churn_gb": week,
            "extents": extents_for(week, 0.3),
            "new_disk": False,
            "start_hour": 12.0,
            "first_backup": False,
            "snapshot_missing": False,
        }
    )
    single = backup_jobs(disks, LAG)
    jobs = result.jobs.sort("vm")
    assert jobs["day"].unique().to_list() == [3]
    assert np.allclose(jobs["sent_gb"], single["sent_gb"], rtol=1e-4)
    assert np.allclose(jobs["duration_hours"], single["total_hours"], rtol=1e-4)


# --- the per-VM inputs an architect controls -----------------------------------------------------


def test_churn_gb_per_day_replaces_the_churn_class() -> None:
    """P6: a VM's measured GB a day replaces its class share of used data."""
    measured = SMALL.with_columns(churn_gb_per_day=pl.lit(5.0))
    plan, result = run(DAILY, days=30, fleet=measured, churn_sigma=0.0)
    assert result.mean_churn_gb is not None
    covered = plan.pi_size_gb >= 5.0
    assert np.allclose(result.mean_churn_gb[covered], 5.0, rtol=1e-5)


def test_throughput_per_disk_replaces_the_default_rate() -> None:
    """A VM's measured throughput per disk (calibration) replaces the 7 MB/s default: half the
    rate, twice the transfer."""
    slow = SMALL.with_columns(
        throughput_mb_s_per_disk=pl.lit(DEFAULTS["incremental_throughput_mb_s"] / 2)
    )
    noon = dataclasses.replace(DAILY, run_hour=12.0)
    fast_plan, fast = run(noon, days=2, fragmentation=0.0)
    slow_plan, slow_run = run(noon, days=2, fleet=slow, fragmentation=0.0)
    assert fast_plan.throughput_mb_s is None
    assert slow_plan.throughput_mb_s is not None
    prep = DEFAULTS["snapshot_hours"] + LAG[12]
    a = fast.jobs["duration_hours"].to_numpy() - prep
    b = slow_run.jobs["duration_hours"].to_numpy() - prep
    assert np.allclose(b, 2 * a, rtol=1e-3)


def test_extents_follow_the_kernel() -> None:
    """S16: the fleet's extents are ``extents_for``'s (one kernel)."""
    from vmbackup.fleet import _disk_hours

    churn = np.array([[0.0, 6.5536]], dtype=np.float32)
    hours = _disk_hours(churn, 1.0)
    extents = extents_for(churn.astype(np.float64), 1.0)
    expected = churn * 1000 / DEFAULTS["incremental_throughput_mb_s"] / 3600
    expected += extents * DEFAULTS["per_extent_seconds"] / 3600
    assert np.allclose(hours, expected, rtol=1e-5)


# --- policy assignment ---------------------------------------------------------------------------


def test_s1_several_policies_are_assigned_by_the_policy_column_and_blank_means_unprotected() -> (
    None
):
    """S1: with several policies each VM follows the one it names; a VM without a policy is not
    protected: left out and listed."""
    first = SMALL["vm_name"][0]
    fleet = SMALL.with_columns(
        policy=pl.when(pl.col("vm_name") == first).then(None).otherwise(pl.col("policy"))
    )
    plan = fleet_plan(fleet, POLICIES)
    assert first not in plan.vm_names
    assert plan.vms == 19
    assert plan.unprotected is not None
    assert plan.unprotected.rows() == [(first, "NotProtected")]
    names = [plan.policies[i].name for i in plan.policy_index]
    expected = fleet.unique("vm_name", maintain_order=True).filter(pl.col("policy").is_not_null())
    assert names == expected["policy"].to_list()


@pytest.mark.parametrize(
    ("policies", "message"),
    [
        ([], "policies is empty"),
        ("DailyPolicy", "must be a Policy, a collection"),
        ({"x": 3}, r"policies\['x'\]=3 must map a policy name to a Policy"),
        (
            [DAILY, dataclasses.replace(DAILY, run_hour=1.0)],
            "two different policies named 'Daily'",
        ),
        ({dataclasses.replace(DAILY, time_zone="Mars")}, "policy 'Daily' time_zone='Mars'"),
    ],
)
def test_bad_policies_are_named(policies: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        fleet_plan(SMALL, policies)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"failed_backups": np.zeros((20, 2), dtype=bool)}, r"failed_backups must be True/False"),
        ({"snapshot_missing": np.zeros((20, 3))}, r"snapshot_missing must be True/False"),
        ({"first_backup_day": np.full(20, 3)}, "first_backup_day=3 is past the horizon of 3"),
        ({"first_backup_day": np.full(19, 0)}, "first_backup_day must hold one whole day"),
        ({"new_disk_day": [0.5]}, "new_disk_day must hold one whole day"),
        ({"start": "2026-01-01"}, "start='2026-01-01' must be a datetime.date"),
        ({"offsets_hours": "soon"}, "offsets_hours='soon' must be hours"),
        ({"offsets_hours": [float("nan")] * 20}, "offsets_hours must be finite hours"),
        ({"seed": -1}, r"seed=-1 must be a whole number"),
        ({"redundancy": "GRS2"}, "redundancy='GRS2' is not allowed"),
        ({"prices": "cheap"}, "prices must be Prices"),
    ],
)
def test_bad_schedule_inputs_are_named(kwargs: dict[str, Any], message: str) -> None:
    plan = fleet_plan(SMALL, DAILY)
    with pytest.raises(ValueError, match=message):
        simulate_fleet(plan, days=3, **(FREE | kwargs))


def test_a_plan_that_is_not_one_is_named() -> None:
    with pytest.raises(ValueError, match="plan must be a FleetPlan"):
        simulate_fleet(SMALL, days=3, **FREE)  # type: ignore[arg-type]


def test_a_bad_clock_zone_is_named() -> None:
    with pytest.raises(ValueError, match="time_zone='Atlantis' is not a time zone"):
        fleet_plan(SMALL, DAILY, time_zone="Atlantis")
