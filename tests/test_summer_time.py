"""G13: Azure Backup does not adjust VM backup times for summer time. A policy's run time keeps
its UTC time all year, so its local time moves by an hour when its zone changes its clock
(``backup-support-matrix.md``, "Daylight saving time support", ms.date 2023-08-14). The UTC
time is fixed by the zone's offset on the date stored with the run time, else on the plan's
first day (assumption A7)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import numpy as np
import polars as pl
import pytest

from vmbackup.data import DATASETS_DIR, read_fleet, read_lag_profile
from vmbackup.fleet import fleet_plan, simulate_fleet
from vmbackup.planning import PlanOptions, build_plan, policy_lines
from vmbackup.policy import Policy
from vmbackup.policy_json import policy_from_arm, policy_to_arm
from vmbackup.timezones import describe_run_time, run_times

D = dt.date
WINTER, SUMMER = D(2026, 1, 1), D(2026, 7, 1)
FREE = {"lag_profile_hours": read_lag_profile(), "vault_ingest_mb_s": 1e12}
FLEET = read_fleet()
#: 10 VMs of the sample, whatever their policy column says
SMALL = FLEET.filter(pl.col("vm_name").is_in(FLEET["vm_name"].unique(maintain_order=True)[:10]))


def arm_policy(run_time: str, zone: str, name: str = "Nightly") -> Policy:
    """A Standard daily policy as ``az backup policy show`` prints it."""
    return policy_from_arm(
        {
            "name": name,
            "properties": {
                "backupManagementType": "AzureIaasVM",
                "schedulePolicy": {
                    "schedulePolicyType": "SimpleSchedulePolicy",
                    "scheduleRunFrequency": "Daily",
                    "scheduleRunTimes": [run_time],
                },
                "retentionPolicy": {
                    "retentionPolicyType": "LongTermRetentionPolicy",
                    "dailySchedule": {"retentionDuration": {"count": 30, "durationType": "Days"}},
                },
                "timeZone": zone,
            },
        }
    )


def daily_hours(policy: Policy, start: dt.date, days: int, clock: str = "UTC", **kw: Any) -> Any:
    """Each simulated day's job start [h since that day's midnight on ``clock``] (every VM of
    SMALL runs ``policy``; they all start at the same time)."""
    plan = fleet_plan(SMALL, {policy}, time_zone=clock)
    jobs = simulate_fleet(plan, start=start, days=days, **(FREE | kw)).jobs
    hours = jobs["start_hours"].to_numpy() - 24 * jobs["day"].to_numpy()
    per_day = (
        pl.DataFrame({"day": jobs["day"], "hours": hours})
        .group_by("day")
        .agg(pl.col("hours").unique())
    )
    assert (per_day["hours"].list.len() == 1).all()  # every VM at the same time each day
    return per_day.sort("day")["hours"].list.first().to_list()


def by_date(table: pl.DataFrame, column: str) -> dict[dt.date, float]:
    return dict(zip(table["date"], table[column], strict=True))


# --- the reference date: stored with the run time --------------------------------------------


def test_g13_the_date_of_schedule_run_times_is_the_reference_date() -> None:
    """G13, A7: '2026-01-01T22:00:00Z' is 22:00 local on the reference date 2026-01-01; ARM
    JSON written back keeps the date."""
    policy = arm_policy("2026-01-01T22:00:00Z", "W. Europe Standard Time")
    assert (policy.run_hour, policy.schedule_reference_date) == (22.0, WINTER)
    summer = dataclasses.replace(policy, schedule_reference_date=SUMMER)
    body = policy_to_arm(summer)
    assert body["properties"]["schedulePolicy"]["scheduleRunTimes"] == ["2026-07-01T22:00:00Z"]
    assert policy_from_arm(body) == summer


@pytest.mark.parametrize("value", ["2026-01-01", dt.datetime(2026, 1, 1, 22), 20260101])
def test_g13_a_reference_date_that_is_not_a_date_is_refused_by_name(value: object) -> None:
    """G13: ``schedule_reference_date`` must be a datetime.date (or None)."""
    with pytest.raises(ValueError, match=r"schedule_reference_date=.* must be a datetime.date"):
        Policy(schedule_reference_date=value)  # type: ignore[arg-type]


# --- spring: W. Europe moves its clock on 2026-03-29 ------------------------------------------


def test_g13_w_europe_22_00_fixed_in_winter_stays_21_00_utc_after_the_spring_change() -> None:
    """G13: 22:00 W. Europe time with reference date 2026-01-01 (UTC+1) is 21:00 UTC on
    2026-03-28 and still 21:00 UTC on 2026-03-30, after the clock moved on 2026-03-29: local
    22:00, then 23:00."""
    policy = arm_policy("2026-01-01T22:00:00Z", "W. Europe Standard Time")
    table = run_times(policy.time_zone, 22.0, D(2026, 3, 28), 3, policy.schedule_reference_date)
    assert by_date(table, "utc_hour") == {
        D(2026, 3, 28): 21,
        D(2026, 3, 29): 21,
        D(2026, 3, 30): 21,
    }
    assert by_date(table, "local_hour") == {
        D(2026, 3, 28): 22,
        D(2026, 3, 29): 23,
        D(2026, 3, 30): 23,
    }
    # the simulation runs the jobs so: on a UTC clock and on a Berlin clock, 2026-03-28..30
    assert daily_hours(policy, D(2026, 3, 28), 3) == [21, 21, 21]
    assert daily_hours(policy, D(2026, 3, 28), 3, clock="Europe/Berlin") == [22, 23, 23]


def test_g13_the_same_policy_fixed_in_summer_is_20_00_utc_all_year_21_00_local_in_winter() -> None:
    """G13, A7: with reference date 2026-07-01 (UTC+2) 22:00 W. Europe time is 20:00 UTC all
    year: local 21:00 in winter (2026-01-15, 2026-03-28), 22:00 from 2026-03-29 to 2026-10-24,
    21:00 again from 2026-10-25."""
    policy = arm_policy("2026-07-01T22:00:00Z", "W. Europe Standard Time")
    assert policy.schedule_reference_date == SUMMER
    year = run_times(policy.time_zone, 22.0, WINTER, 365, SUMMER)
    assert year["utc_hour"].unique().to_list() == [20.0]
    local = by_date(year, "local_hour")
    assert [local[D(2026, 1, 15)], local[D(2026, 3, 28)], local[D(2026, 3, 29)]] == [21, 21, 22]
    assert [local[D(2026, 10, 24)], local[D(2026, 10, 25)], local[D(2026, 12, 31)]] == [22, 21, 21]
    assert daily_hours(policy, D(2026, 3, 27), 4) == [20, 20, 20, 20]
    assert daily_hours(policy, D(2026, 3, 27), 4, clock="Europe/Berlin") == [21, 21, 22, 22]


def test_g13_without_a_stored_date_the_plans_first_day_fixes_the_utc_time() -> None:
    """G13, A7: a policy built in Python has no reference date; the plan's first day fixes its
    UTC time: from 2026-01-01 21:00 UTC, from 2026-07-01 20:00 UTC, all year."""
    policy = Policy(name="Plain", run_hour=22.0, time_zone="W. Europe Standard Time")
    assert policy.schedule_reference_date is None
    assert daily_hours(policy, WINTER, 2) == [21, 21]
    assert daily_hours(policy, SUMMER, 2) == [20, 20]
    assert daily_hours(policy, D(2026, 3, 28), 3) == [21, 21, 21]


# --- autumn: W. Europe moves its clock back on 2026-10-25 -------------------------------------


def test_g13_autumn_the_local_time_falls_back_an_hour_on_2026_10_25() -> None:
    """G13: 22:00 W. Europe time fixed in winter (21:00 UTC) runs at 23:00 local on 2026-10-24
    and 22:00 local on 2026-10-25; fixed in summer (20:00 UTC) at 22:00, then 21:00."""
    winter = run_times("W. Europe Standard Time", 22.0, D(2026, 10, 24), 2, WINTER)
    assert by_date(winter, "utc_hour") == {D(2026, 10, 24): 21, D(2026, 10, 25): 21}
    assert by_date(winter, "local_hour") == {D(2026, 10, 24): 23, D(2026, 10, 25): 22}
    summer = run_times("W. Europe Standard Time", 22.0, D(2026, 10, 24), 2, SUMMER)
    assert by_date(summer, "utc_hour") == {D(2026, 10, 24): 20, D(2026, 10, 25): 20}
    assert by_date(summer, "local_hour") == {D(2026, 10, 24): 22, D(2026, 10, 25): 21}
    policy = arm_policy("2026-07-01T22:00:00Z", "W. Europe Standard Time")
    assert daily_hours(policy, D(2026, 10, 23), 4) == [20, 20, 20, 20]
    assert daily_hours(policy, D(2026, 10, 23), 4, clock="Europe/Berlin") == [22, 22, 21, 21]


def test_g13_a_run_time_in_the_hour_the_reference_date_skips_or_repeats() -> None:
    """G13, A7: 02:30 on 2026-03-29 does not exist in W. Europe: it takes the offset before the
    jump (UTC+1, 01:30 UTC); 02:30 on 2026-10-25 comes twice: the first, UTC+2 (00:30 UTC)."""
    skipped = run_times("W. Europe Standard Time", 2.5, D(2026, 3, 29), 2, D(2026, 3, 29))
    assert skipped["utc_hour"].to_list() == [1.5, 1.5]
    assert skipped["local_hour"].to_list() == [3.5, 3.5]  # the clock has jumped
    repeated = run_times("W. Europe Standard Time", 2.5, D(2026, 10, 24), 3, D(2026, 10, 25))
    assert repeated["utc_hour"].to_list() == [0.5, 0.5, 0.5]
    # 00:30 UTC on 2026-10-25 is before the change (01:00 UTC): still 02:30 local, then 01:30
    assert repeated["local_hour"].to_list() == [2.5, 2.5, 1.5]


# --- UTC and other zones --------------------------------------------------------------------


def test_g13_a_utc_policy_is_unchanged_all_year() -> None:
    """G13: a UTC policy at 22:00 runs at 22:00 UTC on every day of 2026, on either side of
    both European changes; its description has no local drift."""
    policy = arm_policy("2026-07-01T22:00:00Z", "UTC")
    year = run_times("UTC", 22.0, WINTER, 365, SUMMER)
    assert year["utc_hour"].unique().to_list() == [22.0]
    assert year["local_hour"].unique().to_list() == [22.0]
    assert daily_hours(policy, D(2026, 3, 28), 3) == [22, 22, 22]
    assert describe_run_time("UTC", 22.0, WINTER, reference=SUMMER) == "fixed at 22:00 UTC"


def test_g13_eastern_time_changes_on_2026_03_08_not_with_europe() -> None:
    """G13: 22:00 Eastern Standard Time fixed in winter (UTC-5) is 03:00 UTC the next morning:
    local 22:00 on 2026-03-07, 23:00 from 2026-03-08 (the second Sunday of March), three weeks
    before W. Europe; on a UTC clock the job stays at 03:00 the next day (27 h)."""
    policy = arm_policy("2026-01-01T22:00:00Z", "Eastern Standard Time")
    table = run_times(policy.time_zone, 22.0, D(2026, 3, 7), 2, policy.schedule_reference_date)
    assert by_date(table, "utc_hour") == {D(2026, 3, 7): 3, D(2026, 3, 8): 3}
    assert by_date(table, "local_hour") == {D(2026, 3, 7): 22, D(2026, 3, 8): 23}
    assert daily_hours(policy, D(2026, 3, 6), 4) == [27, 27, 27, 27]
    assert daily_hours(policy, D(2026, 3, 6), 4, clock="America/New_York") == [22, 22, 23, 23]
    # the same dates leave a W. Europe policy alone
    europe = run_times("W. Europe Standard Time", 22.0, D(2026, 3, 7), 2, WINTER)
    assert europe["local_hour"].to_list() == [22.0, 22.0]


# --- the plan ------------------------------------------------------------------------------


def test_g13_the_plans_utc_start_times_stay_put_across_2026_03_29_in_a_two_zone_estate() -> None:
    """G13: the sample Azure estate (DailyPolicy 22:30 and WeeklyFiles 01:00 W. Europe time,
    EnhancedHourly 08:00-20:00 UTC; all stored with the date 2026-01-01) planned from
    2026-03-27 for 7 days: on the UTC clock each VM starts at the same hour every day, across
    the change of 2026-03-29; on a Berlin clock the W. Europe jobs move an hour later."""
    files = DATASETS_DIR / "azure"
    options = PlanOptions(
        fleet=files / "vms.json",
        disks=files / "disks.json",
        items=files / "items.json",
        policies=(files / "policies.json",),
        used_sizes=files / "used_sizes.csv",
        start=D(2026, 3, 27),
        days=7,
        onboarding=False,
    )

    def starts(clock: str) -> dict[str, list[tuple[int, float]]]:
        estate = build_plan(dataclasses.replace(options, time_zone=clock))
        jobs = estate.result.jobs.sort("vm", "day")
        names = np.array(estate.plan.vm_names)[jobs["vm"].to_numpy()]
        hours = jobs["start_hours"].to_numpy() - 24 * jobs["day"].to_numpy()
        found: dict[str, list[tuple[int, float]]] = {}
        for name, day, hour in zip(names, jobs["day"], hours, strict=True):
            found.setdefault(str(name), []).append((int(day), round(float(hour), 2)))
        return found

    utc = starts("UTC")
    assert utc["web-01"] == [(day, 21.5) for day in range(7)]  # 22:30 W. Europe in winter
    assert utc["files-01"] == [(2, 0.0), (5, 0.0)]  # Sunday 03-29 and Wednesday 04-01
    assert utc["sql-01"] == [(day, 16.0) for day in range(7)]  # last snapshot, 08:00 + 8 h UTC
    berlin = starts("Europe/Berlin")
    assert berlin["web-01"] == [(0, 22.5), (1, 22.5)] + [(day, 23.5) for day in range(2, 7)]
    # 00:00 UTC on 03-29 is before the change (01:00 UTC): 01:00 local; on 04-01 02:00 local
    assert berlin["files-01"] == [(2, 1.0), (5, 2.0)]
    assert berlin["sql-01"] == [(0, 17.0), (1, 17.0)] + [(day, 18.0) for day in range(2, 7)]


def test_g13_the_plan_shows_each_run_time_in_utc_and_local_time_with_its_drift() -> None:
    """G13, A7: the plan's policy lines give the fixed UTC time, the local time and the dates
    it moves: 22:00 local (21:00 UTC) to 2026-03-28, 23:00 from 2026-03-29, 22:00 from
    2026-10-25."""
    policy = arm_policy("2026-01-01T22:00:00Z", "W. Europe Standard Time")
    (line,) = policy_lines({"Nightly": policy}, ["Nightly"], WINTER)
    assert line == (
        "Nightly: standard daily at 22:00, W. Europe Standard Time; fixed at 21:00 UTC (22:00 "
        "W. Europe Standard Time at its offset of 2026-01-01, A7); local time 22:00 to "
        "2026-03-28, 23:00 from 2026-03-29, 22:00 from 2026-10-25 (G13: Azure does not adjust "
        "for summer time)"
    )
    summer = dataclasses.replace(policy, schedule_reference_date=SUMMER)
    assert describe_run_time(summer.time_zone, 22.0, WINTER, reference=SUMMER).startswith(
        "fixed at 20:00 UTC (22:00 W. Europe Standard Time at its offset of 2026-07-01, A7); "
        "local time 21:00 to 2026-03-28, 22:00 from 2026-03-29, 21:00 from 2026-10-25"
    )


@pytest.mark.parametrize(
    ("argument", "value", "message"),
    [
        ("zone", "Mars Standard Time", "zone='Mars Standard Time' is not a time zone"),
        ("local_hour", 24.0, "local_hour=24.0 must be an hour of the day in"),
        ("local_hour", -0.5, r"local_hour=-0.5 must be a number in \[0, 24\]"),
        ("start", "2026-01-01", "start='2026-01-01' must be a datetime.date"),
        ("days", 0, "days=0 must be a whole number in 1..3660"),
        ("reference", "2026-07-01", "reference='2026-07-01' must be a datetime.date"),
    ],
)
def test_g13_run_times_names_a_bad_argument(argument: str, value: object, message: str) -> None:
    """G13: run_times refuses a bad argument with its name and value."""
    arguments: dict[str, Any] = {
        "zone": "W. Europe Standard Time",
        "local_hour": 22.0,
        "start": WINTER,
        "days": 2,
        "reference": None,
    }
    with pytest.raises(ValueError, match=message):
        run_times(**(arguments | {argument: value}))
