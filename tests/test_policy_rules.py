"""Policies as Azure enforces them today (G1-G4, Y1-Y3), every policy source, and the linter."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from conftest import mutated
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from vmbackup.cli import main
from vmbackup.data import dataset_path, read_lag_profile, read_policy, read_policy_file, read_prices
from vmbackup.inventory import estate_disks
from vmbackup.lint import enhanced_whatif, lint_estate, lint_policy
from vmbackup.policy import MONTHS, WEEKDAYS, WEEKS_OF_MONTH, MonthlyDay, Policy, service_findings
from vmbackup.policy_json import (
    ARM_SCHEDULE_DATE,
    policies_from_document,
    policy_from_arm,
    policy_to_arm,
)
from vmbackup.retention import point_expiry

DATASETS = Path(dataset_path("README.md")).parent
POLICIES = DATASETS / "policies"
SHAPES = POLICIES / "shapes"
ESTATE = (
    DATASETS / "azure" / "eligibility_vms.json",
    DATASETS / "azure" / "eligibility_disks.json",
)
LAG = read_lag_profile()


def hourly(interval: int, window: int = 24, **extra: Any) -> Policy:
    return Policy(
        policy_type="enhanced",
        frequency="hourly",
        hourly_interval_hours=interval,
        window_hours=window,
        **extra,
    )


def rules_of(policy: Policy, rules: str = "today") -> list[str]:
    return [f.rule for f in service_findings(policy, rules)]


# --- G2: hourly schedules and Instant Restore ----------------------------------------------------


@pytest.mark.parametrize("interval", [4, 6, 8, 12, 24])
def test_g2_every_documented_interval_is_accepted_today(interval: int) -> None:
    """G2: Enhanced hourly schedules run every 4, 6, 8, 12 or 24 hours."""
    assert hourly(interval).backups_per_day() == 24 // interval


@pytest.mark.parametrize("interval", [1, 2, 3, 5, 7, 9, 10, 16, 23])
def test_g2_other_intervals_are_refused(interval: int) -> None:
    """G2: no other interval exists."""
    with pytest.raises(ValueError, match=f"hourly_interval_hours={interval}: Azure allows every"):
        hourly(interval)


def test_g2_24_hour_interval_is_new_the_seed_refuses_it() -> None:
    """G2 vs Y2: the seed's intervals stop at 12 h; the 24 h one is today's."""
    assert rules_of(hourly(24, enforce=False), "seed") == ["hourly-interval"]
    assert rules_of(hourly(24)) == []


@pytest.mark.parametrize(("interval", "cap"), [(4, 17), (6, 22), (8, 22), (12, 30), (24, 30)])
def test_g2_3_instant_restore_cap_by_interval_is_a_risk_at_both_ends(
    interval: int, cap: int
) -> None:
    """G2.3 (unverified): 17 d at 4 h, 22 d at 6 h, 30 d at 12 h (8 h assumed 22 d, 24 h 30 d):
    up to the figure no finding, one day past it a risk naming the unverified status, never a
    refusal; 0 days is still refused (G2.2)."""
    assert service_findings(hourly(interval, instant_restore_days=1)) == []
    assert service_findings(hourly(interval, instant_restore_days=cap)) == []
    past = hourly(interval, instant_restore_days=cap + 1) if cap < 30 else None
    if past is not None:
        (finding,) = service_findings(past)
        assert (finding.item, finding.severity, finding.status) == ("G2.3", "risk", "unverified")
        assert finding.message.startswith(
            f"instant_restore_days={cap + 1}: a 2025 Microsoft page gives at most {cap} days "
            f"with backups every {interval} h"
        )
    with pytest.raises(ValueError, match="instant_restore_days=0"):
        hourly(interval, instant_restore_days=0)


def test_g2_3_enhanced_4_hourly_with_30_days_is_accepted_with_a_risk() -> None:
    """G2.3: the issue's first example, Enhanced every 4 h with 30 days of Instant Restore, as
    Azure's own REST example keeps: accepted (no documented rule refuses it), linted as a risk."""
    policy = hourly(4, instant_restore_days=30)
    assert [(f.rule, f.severity) for f in service_findings(policy)] == [
        ("instant-restore-hourly-max", "risk")
    ]
    assert service_findings(hourly(4, instant_restore_days=30, rules="seed")) == []


def test_g2_4_instant_restore_beyond_the_vault_retention_is_a_risk_not_a_refusal() -> None:
    """G2.4: Microsoft recommends keeping vault points longer than snapshots; it does not
    refuse a policy that keeps snapshots longer. Equal is fine; one day more is a risk."""
    enhanced = Policy(policy_type="enhanced", daily_retention_days=10, instant_restore_days=10)
    assert enhanced.instant_restore_days == 10
    assert service_findings(enhanced) == []
    longer = Policy(policy_type="enhanced", daily_retention_days=10, instant_restore_days=11)
    (finding,) = service_findings(longer)
    assert (finding.rule, finding.item, finding.severity) == (
        "instant-restore-within-retention",
        "G2.4",
        "risk",
    )
    assert finding.message == (
        "instant_restore_days=11: Microsoft recommends keeping vault points longer than "
        "snapshots; the scheduled vault points are kept 10 days (G2.4 documented, "
        "instant-restore-within-retention)"
    )
    weekly = {"frequency": "weekly", "run_days": ("Sunday",), "daily_retention_days": None}
    week = Policy(
        policy_type="enhanced", **weekly, weekly_retention_weeks=1, instant_restore_days=8
    )
    assert [f.severity for f in service_findings(week)] == ["risk"]


def test_g2_weekly_instant_restore_standard_fixed_at_5_enhanced_5_to_20() -> None:
    """G2: weekly schedules: Standard keeps Instant Restore at 5 days; Enhanced 5-20 days."""
    weekly = {"frequency": "weekly", "run_days": ("Sunday",), "daily_retention_days": None}
    assert Policy(**weekly, weekly_retention_weeks=4).instant_restore_days == 5
    for days in (2, 4, 6):
        with pytest.raises(ValueError, match=f"instant_restore_days={days}: exactly 5 days"):
            Policy(**weekly, weekly_retention_weeks=4, instant_restore_days=days)
    enhanced = dict(weekly, policy_type="enhanced", weekly_retention_weeks=4)
    assert Policy(**enhanced).instant_restore_days == 5
    assert Policy(**enhanced, instant_restore_days=20).instant_restore_days == 20
    for days in (4, 21):
        with pytest.raises(ValueError, match=f"instant_restore_days={days}: 5..20 days"):
            Policy(**enhanced, instant_restore_days=days)
    assert Policy(**weekly, weekly_retention_weeks=4, instant_restore_days=2, rules="seed")


def test_y1_standard_instant_restore_lowest_and_highest() -> None:
    """Y1: Standard daily Instant Restore 1 to 5 days, both ends."""
    assert Policy(instant_restore_days=1).instant_restore_days == 1
    assert Policy(instant_restore_days=5).instant_restore_days == 5
    for days in (0, 6):
        with pytest.raises(ValueError, match=f"instant_restore_days={days}"):
            Policy(instant_restore_days=days)


# --- G3, G1, G4, Y3 ------------------------------------------------------------------------------


def test_g3_daily_retention_at_least_7_days_today() -> None:
    """G3: the API refuses fewer than 7 days of daily retention (the seed allowed 1)."""
    assert Policy(daily_retention_days=7, instant_restore_days=2).daily_retention_days == 7
    with pytest.raises(ValueError, match="daily_retention_days=6: at least 7 days"):
        Policy(daily_retention_days=6)
    with pytest.raises(ValueError, match="daily_retention_days=1: at least 7 days"):
        Policy(daily_retention_days=1, instant_restore_days=1)
    assert Policy(daily_retention_days=1, instant_restore_days=1, rules="seed")


def test_g3_a_month_of_retention_is_31_days_today_a_calendar_month_in_the_seed() -> None:
    """G3: 12 months of monthly retention keep a point 372 days today; the seed counts
    calendar months (365 days from 1 January)."""
    created = pl.Series([dt.date(2026, 1, 4)])  # the first Sunday of 2026
    today = Policy(monthly_retention_months=12)
    seed = Policy(monthly_retention_months=12, rules="seed")
    assert point_expiry(today, created)["expires"][0] == dt.date(2026, 1, 4) + dt.timedelta(372)
    assert point_expiry(seed, created)["expires"][0] == dt.date(2027, 1, 4)
    one = Policy(monthly_retention_months=1)
    assert point_expiry(one, pl.Series([dt.date(2026, 2, 1)]))["expires"][0] == dt.date(2026, 3, 4)


def test_y3_yearly_retention_over_several_years_keeps_its_months() -> None:
    """Y3: yearly points are made in the chosen months only and last whole calendar years."""
    p = Policy(
        yearly_retention_years=3,
        yearly_months=("January", "July"),
        yearly_day=MonthlyDay(days_of_month=(1,)),
    )
    days = pl.date_range(dt.date(2026, 1, 1), dt.date(2029, 12, 31), "1d", eager=True)
    yearly = point_expiry(p, days).filter(pl.col("yearly"))
    assert yearly["created"].dt.month().unique().sort().to_list() == [1, 7]
    assert yearly.height == 8
    assert (yearly["expires"] == yearly["created"].dt.offset_by("3y")).all()


def test_g1_agentless_crash_consistent_only_on_enhanced_today() -> None:
    """G1: agentless crash-consistent backup needs the Enhanced policy."""
    assert Policy(policy_type="enhanced", consistency="crash").consistency == "crash"
    with pytest.raises(ValueError, match="consistency='crash': agentless crash-consistent"):
        Policy(consistency="crash")
    assert Policy(consistency="crash", rules="seed").consistency == "crash"


def test_g4_window_not_a_multiple_is_accepted_today_and_counted_by_started_interval() -> None:
    """G4: Microsoft's example: a 23 h window every 4 h (6 backups); the seed refused it."""
    p = hourly(4, 23, run_hour=8)
    assert p.backup_hours() == (8.0, 12.0, 16.0, 20.0, 0.0, 4.0)
    assert rules_of(dataclasses.replace(p, enforce=False), "seed") == ["window-multiple"]
    assert [f.rule for f in lint_policy(p)] == ["terraform-window-multiple"]


def test_y3_recovery_point_limit_counts_every_monthly_day() -> None:
    """Y3: at most 9,999 points; monthly rules on several days keep several points a month."""
    two = MonthlyDay(weekdays=("Monday", "Thursday"), weeks=("First", "Third"))
    assert Policy(monthly_retention_months=1188, monthly_day=two).max_recovery_points() == 4782
    nine = MonthlyDay(weekdays=("Monday", "Tuesday", "Friday"), weeks=("First", "Third", "Last"))
    with pytest.raises(ValueError, match="retention=10722: at most 9999 recovery points"):
        Policy(monthly_retention_months=1188, monthly_day=nine)
    assert Policy(daily_retention_days=9999, instant_restore_days=5).max_recovery_points() == 9999


def test_structural_errors_hold_under_every_rule_set() -> None:
    for rules in ("seed", "today"):
        with pytest.raises(ValueError, match="frequency='hourly' is allowed only"):
            Policy(frequency="hourly", hourly_interval_hours=4, window_hours=8, rules=rules)
        with pytest.raises(ValueError, match="window_hours=25 must be"):
            hourly(12, 25, rules=rules)
        with pytest.raises(ValueError, match="weekly_days='Sunday' must be a list"):
            Policy(weekly_retention_weeks=4, weekly_days="Sunday", rules=rules)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="only an hourly schedule has an interval"):
            Policy(hourly_interval_hours=4, rules=rules)
    with pytest.raises(ValueError, match="rules='2019' is not allowed"):
        Policy(rules="2019")


def test_rpo_hours_per_schedule() -> None:
    assert hourly(4).rpo_hours() == 4
    assert hourly(4, 12, run_hour=8).rpo_hours() == 16  # 16:00 to 08:00 the next day
    assert hourly(24).rpo_hours() == 24


# --- every source of a policy --------------------------------------------------------------------


def test_y4_the_three_rest_spec_examples_parse() -> None:
    """Y4: the public REST examples (Simple, Complex, V2 hourly) read into the model; two of
    them ask for what Azure refuses today (the examples predate G2/G3), which the reader names."""
    simple = read_policy(SHAPES / "rest_example_simple.json", rules="seed")
    assert (simple.name, simple.frequency, simple.daily_retention_days) == (
        "testPolicy1",
        "daily",
        1,
    )
    assert simple.time_zone == "Pacific Standard Time"
    complex_ = read_policy(SHAPES / "rest_example_complex.json")
    assert complex_.run_days == ("Monday", "Wednesday", "Thursday")
    assert complex_.monthly_day.days_per_month == 4
    assert complex_.yearly_months == ("February", "November")
    assert complex_.instant_restore_days == 5  # G2: fixed for weekly
    v2 = read_policy(SHAPES / "rest_example_v2_hourly.json", enforce=False)
    assert (v2.consistency, v2.hourly_interval_hours, v2.window_hours) == ("crash", 4, 16)
    # G2.3: 30 days at 4 h passes a 2025 draft note's 17 (unverified): read, linted as a risk
    assert read_policy(SHAPES / "rest_example_v2_hourly.json").instant_restore_days == 30
    with pytest.raises(ValueError, match=r"dailySchedule.retentionDuration.count: daily_ret"):
        read_policy(SHAPES / "rest_example_simple.json")


def test_y4_a_put_body_takes_its_name_from_the_file() -> None:
    p = read_policy(SHAPES / "put_body_enhanced_daily.json")
    assert (p.name, p.policy_type, p.run_hour, p.instant_restore_days) == (
        "put_body_enhanced_daily",
        "enhanced",
        21.0,
        14,
    )
    assert p.monthly_day == MonthlyDay(last=True)


def test_terraform_plan_and_state_parse_with_their_addresses() -> None:
    plan = read_policy_file(SHAPES / "terraform_plan.json")
    assert [(s.where, s.policy.name) for s in plan] == [
        ("azurerm_backup_policy_vm.daily", "tf-daily"),
        ("module.enhanced.azurerm_backup_policy_vm.weekly", "tf-enhanced-weekly"),
    ]
    daily, weekly = (s.policy for s in plan)
    assert (daily.run_hour, daily.daily_retention_days, daily.weekly_days) == (
        23.0,
        10,
        ("Sunday", "Wednesday", "Friday", "Saturday"),
    )
    assert daily.monthly_day == MonthlyDay(
        weekdays=("Sunday", "Wednesday"), weeks=("First", "Last")
    )
    assert (weekly.policy_type, weekly.run_days, weekly.instant_restore_days) == (
        "enhanced",
        ("Saturday",),
        10,
    )
    (state,) = read_policy_file(SHAPES / "terraform_state.json")
    assert (state.policy.hourly_interval_hours, state.policy.window_hours) == (6, 18)
    assert state.policy.time_zone == "GMT Standard Time"


def test_terraform_errors_name_the_json_path() -> None:
    document = json.loads((SHAPES / "terraform_plan.json").read_text())
    before = copy.deepcopy(document)
    values = ["planned_values", "root_module", "resources", 1, "values"]
    bad = mutated(document, [*values, "retention_daily"], [{"count": 3}])
    with pytest.raises(ValueError, match=r"resources\[1\]\.values\.retention_daily\[0\]\.count: "):
        policies_from_document(bad, label="plan.json")
    bad = mutated(document, [*values, "backup"], [{"frequency": "Daily", "time": "25:00"}])
    with pytest.raises(ValueError, match=r"backup\[0\]\.time='25:00' is not a time of day"):
        policies_from_document(bad, label="plan.json")
    bad = mutated(document, ["planned_values", "root_module", "resources"], [])
    bad["planned_values"]["root_module"].pop("child_modules")
    with pytest.raises(ValueError, match="no azurerm_backup_policy_vm resource"):
        policies_from_document(bad, label="plan.json")
    assert document == before


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (
            ["retentionPolicy", "monthlySchedule", "retentionScheduleWeekly", "weeksOfTheMonth"],
            [],
            "weeksOfTheMonth=[] must be a non-empty list",
        ),
        (
            ["retentionPolicy", "monthlySchedule", "retentionScheduleWeekly", "daysOfTheWeek"],
            ["sunday", "Funday"],
            "weekdays='Funday' is not allowed",
        ),
        (
            ["retentionPolicy", "monthlySchedule", "retentionScheduleFormatType"],
            "Daily",
            "retentionScheduleDaily is null; a value is required",
        ),
        (["schedulePolicy", "scheduleRunTimes"], [], "scheduleRunTimes must be a non-empty"),
        (["instantRpRetentionRangeInDays"], True, "instantRpRetentionRangeInDays=True must be"),
    ],
)
def test_arm_errors_name_the_json_path(path: list[str], value: Any, message: str) -> None:
    document = json.loads((POLICIES / "standard_daily.json").read_text())
    with pytest.raises(ValueError, match="std.json: properties") as raised:
        policy_from_arm(mutated(document, ["properties", *path], value), label="std.json")
    assert message in str(raised.value)


def test_az_backup_policy_list_holds_several_policies() -> None:
    listed = [json.loads(p.read_text()) for p in sorted(POLICIES.glob("*.json"))]
    names = [s.policy.name for s in policies_from_document(listed)]
    assert names == ["AgentlessDaily", "EnhancedHourly", "DailyPolicy"]


def test_a_policy_saved_as_utf16_or_with_a_bom_reads(tmp_path: Path) -> None:
    text = (POLICIES / "standard_daily.json").read_text()
    for encoding in ("utf-16", "utf-8-sig"):
        file = tmp_path / f"{encoding}.json"
        file.write_bytes(text.encode(encoding))
        assert read_policy(file).name == "DailyPolicy"


# --- round trip ----------------------------------------------------------------------------------

DAYS = st.lists(st.sampled_from(WEEKDAYS), min_size=1, max_size=3, unique=True).map(tuple)
MONTHLY = st.one_of(
    st.builds(
        MonthlyDay,
        weekdays=DAYS,
        weeks=st.lists(st.sampled_from(WEEKS_OF_MONTH), min_size=1, max_size=2, unique=True).map(
            tuple
        ),
    ),
    st.builds(
        MonthlyDay,
        days_of_month=st.lists(st.integers(1, 28), min_size=1, max_size=3, unique=True).map(tuple),
        last=st.booleans(),
    ),
    st.just(MonthlyDay(last=True)),
)


@st.composite
def policy_args(draw: st.DrawFn) -> dict[str, Any]:
    """Keyword arguments of a policy, mostly ones Azure accepts."""
    kind = draw(st.sampled_from(["standard", "enhanced"]))
    frequencies = ["daily", "weekly"] + (["hourly"] if kind == "enhanced" else [])
    frequency = draw(st.sampled_from(frequencies))
    args: dict[str, Any] = {
        "name": draw(st.sampled_from(["P1", "nightly-prod", "Weekly Archive"])),
        "policy_type": kind,
        "frequency": frequency,
        "run_hour": draw(st.integers(0, 47)) / 2,
        "time_zone": draw(st.sampled_from(["UTC", "W. Europe Standard Time"])),
        "schedule_reference_date": draw(st.none() | st.dates(dt.date(2000, 1, 1))),
        "consistency": draw(
            st.sampled_from(["application", "crash"] if kind == "enhanced" else ["application"])
        ),
        "instant_restore_days": draw(st.none() | st.integers(1, 5 if kind == "standard" else 17)),
        "daily_retention_days": draw(st.integers(30, 400)),
        "weekly_retention_weeks": draw(st.none() | st.integers(1, 100)),
        "weekly_days": draw(DAYS),
        "monthly_retention_months": draw(st.none() | st.integers(1, 120)),
        "monthly_day": draw(MONTHLY),
        "yearly_retention_years": draw(st.none() | st.integers(1, 20)),
        "yearly_months": draw(
            st.lists(st.sampled_from(MONTHS), min_size=1, max_size=2, unique=True).map(tuple)
        ),
        "yearly_day": draw(MONTHLY),
    }
    if frequency == "weekly":
        args.update(run_days=draw(DAYS), daily_retention_days=None, instant_restore_days=None)
        args["weekly_retention_weeks"] = draw(st.integers(3, 100))
    if frequency == "hourly":
        args.update(
            hourly_interval_hours=draw(st.sampled_from([4, 6, 8, 12, 24])),
            window_hours=draw(st.integers(4, 24)),
        )
    return args


@settings(max_examples=150, deadline=None)
@given(args=policy_args())
def test_every_accepted_policy_round_trips_through_arm_json(args: dict[str, Any]) -> None:
    """Y4, G13: any policy the model accepts writes to ARM JSON and reads back unchanged, the
    date of its run time included; one without a date gets ARM_SCHEDULE_DATE (ARM stores a
    date-time)."""
    try:
        policy = Policy(**args)
    except ValueError:
        assume(False)
        raise
    document = json.loads(json.dumps(policy_to_arm(policy)))
    dated = policy.schedule_reference_date or ARM_SCHEDULE_DATE
    assert policy_from_arm(document) == dataclasses.replace(policy, schedule_reference_date=dated)


# --- the linter ----------------------------------------------------------------------------------


def test_lint_shipped_samples_flag_what_a_reviewer_would() -> None:
    """S11, G2, G3, P4: the shipped samples, linted as a reviewer would read them."""
    found = {
        f"{path.name} {s.policy.name}": [
            (f.severity, f.rule) for f in lint_policy(s.policy, lag_profile_hours=LAG)
        ]
        for path in [*sorted(POLICIES.glob("*.json")), *sorted(SHAPES.glob("*.json"))]
        for s in read_policy_file(path, enforce=False)
    }
    peak = [("risk", "peak-lag-hour")]
    above = [("risk", "instant-restore-above-default")]
    assert found == {
        "enhanced_agentless_daily.json AgentlessDaily": peak,  # 01:15
        "enhanced_hourly.json EnhancedHourly": [],
        "standard_daily.json DailyPolicy": peak,  # 22:30
        "put_body_enhanced_daily.json put_body_enhanced_daily": above,  # 14 days
        "rest_example_complex.json testPolicy1": [],
        "rest_example_simple.json testPolicy1": [
            ("risk", "instant-restore-within-retention"),  # G2.4: a recommendation
            ("refused", "daily-retention-min"),
        ],
        "rest_example_v2_hourly.json v2-daily-sample": [
            ("risk", "instant-restore-hourly-max"),  # G2.3: unverified
            *above,
        ],
        "terraform_plan.json tf-daily": [*above, *peak],  # 5 days, 23:00
        "terraform_plan.json tf-enhanced-weekly": [  # 10 days: Azure 5-20, Terraform only 5
            ("risk", "terraform-weekly-instant-restore"),
            *above,
        ],
        "terraform_state.json tf-hourly": above,
    }


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        ({"instant_restore_days": 6}, "instant-restore-range"),
        ({"daily_retention_days": 3, "instant_restore_days": 2}, "daily-retention-min"),
        (
            {
                "daily_retention_days": 7,
                "instant_restore_days": 5,
                "monthly_retention_months": 1188,
                "monthly_day": MonthlyDay(days_of_month=(1, 2, 3, 4, 5, 6, 7, 8, 9)),
            },
            "recovery-point-limit",
        ),
        ({"consistency": "crash"}, "agentless-enhanced-only"),
        (
            {
                "frequency": "weekly",
                "run_days": ("Sunday",),
                "daily_retention_days": None,
                "weekly_retention_weeks": 4,
                "instant_restore_days": 2,
            },
            "instant-restore-range",
        ),
        (
            {"policy_type": "enhanced", "daily_retention_days": 10, "instant_restore_days": 12},
            "instant-restore-within-retention",
        ),
        (
            {
                "policy_type": "enhanced",
                "frequency": "hourly",
                "hourly_interval_hours": 6,
                "window_hours": 24,
                "instant_restore_days": 23,
            },
            "instant-restore-hourly-max",
        ),
        (
            {
                "policy_type": "enhanced",
                "frequency": "hourly",
                "hourly_interval_hours": 5,
                "window_hours": 20,
            },
            "hourly-interval",
        ),
        ({"run_hour": 23.5}, "peak-lag-hour"),
        (
            {
                "policy_type": "enhanced",
                "frequency": "hourly",
                "hourly_interval_hours": 8,
                "window_hours": 20,
            },
            "terraform-window-multiple",
        ),
        ({"instant_restore_days": 4}, "instant-restore-above-default"),
    ],
)
def test_lint_finds_each_broken_variant(change: dict[str, Any], rule: str) -> None:
    """G1-G4, Y1-Y3, S11: each broken or risky variant of a clean policy is named."""
    clean = Policy(run_hour=9.0, daily_retention_days=30)
    assert lint_policy(clean, lag_profile_hours=LAG) == []
    broken = dataclasses.replace(clean, enforce=False, **change)
    assert rule in [f.rule for f in lint_policy(broken, lag_profile_hours=LAG)]


def test_lint_estate_names_each_vm_and_why() -> None:
    """G1, G8, G11: which VMs need Enhanced, bill differently, or cannot be protected."""
    disks = estate_disks(*(json.loads(p.read_text()) for p in ESTATE))
    standard = {(f.field, f.severity) for f in lint_estate(Policy(), disks)}
    assert standard == {
        ("vm app-tl-01", "risk"),
        ("vm db-ultra-01", "refused"),
        ("vm cluster-01", "refused"),
        ("vm cvm-01", "refused"),
    }
    enhanced = {(f.field, f.severity) for f in lint_estate(Policy(policy_type="enhanced"), disks)}
    assert enhanced == {("vm cluster-01", "risk"), ("vm cvm-01", "refused")}
    agentless = Policy(policy_type="enhanced", consistency="crash")
    refused = {f.field for f in lint_estate(agentless, disks) if f.severity == "refused"}
    assert refused == {"vm db-ultra-01", "vm cluster-01", "vm cvm-01", "vm web-eph-01"}


def test_enhanced_whatif_matches_p4_and_shows_the_rpo() -> None:
    """P4 and G2: moving Microsoft's 100 GB / 2% / 5 days example to Enhanced: snapshots 10 GB
    -> 108 GB; the vault is unchanged; every 12 h halves the RPO."""
    prices = read_prices(region="westeurope")
    table = enhanced_whatif(Policy(instant_restore_days=5), prices=prices)
    assert table["snapshot_gb"].to_list() == [10.0, 108.0, 108.0]
    assert table["rpo_hours"].to_list() == [24.0, 24.0, 12.0]
    assert table["snapshots_kept"].to_list() == [5, 5, 10]
    assert table["vault_gb"].n_unique() == 1
    zrs = prices.snapshot_prices[("enhanced", "ZRS")]  # G9: Standard HDD incremental, ZRS
    assert table["snapshot_usd_per_month"][1] == pytest.approx(108 * zrs)
    own = prices.snapshot_prices[("standard", "LRS")]  # G9: a Standard policy's own row
    assert table["snapshot_usd_per_month"][0] == pytest.approx(10 * own)


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_cli_lint_exit_codes(tmp_path: Path) -> None:
    """The linter exits 0 on a clean policy, 1 with findings, 2 on unreadable input."""
    clean = tmp_path / "clean.json"
    clean.write_text(json.dumps(policy_to_arm(Policy(name="Clean", run_hour=9.0))))
    code, out, _ = _run("lint", str(clean))
    assert code == 0
    assert "clean: Azure accepts it" in out
    assert "Enhanced, every 12 h" in out
    code, out, _ = _run("lint", str(SHAPES / "rest_example_v2_hourly.json"), "--no-whatif")
    assert code == 1
    assert "risk     parameters.parameters.properties.instantRpRetentionRangeInDays: 30" in out
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    code, _, err = _run("lint", str(broken))
    assert code == 2
    assert "broken.json: malformed JSON" in err
    assert _run("lint", str(clean), "--estate", str(ESTATE[0]))[0] == 2
    code, out, _ = _run("lint", str(clean), "--estate", str(ESTATE[0]), "--disks", str(ESTATE[1]))
    assert code == 1
    assert "vm cvm-01" in out


TF_PLAN = json.loads((SHAPES / "terraform_plan.json").read_text())
TF_DAILY = ["planned_values", "root_module", "resources", 1, "values"]
TF_WEEKLY = ["planned_values", "root_module", "child_modules", 0, "resources", 0, "values"]
TF_STATE = json.loads((SHAPES / "terraform_state.json").read_text())
TF_HOURLY = ["values", "root_module", "resources", 0, "values"]


@pytest.mark.parametrize(
    ("document", "where", "field", "value", "path"),
    [
        (TF_PLAN, TF_DAILY, ["name"], "", "resources[1].values.name"),
        (TF_PLAN, TF_DAILY, ["policy_type"], "V3", "resources[1].values.policy_type"),
        (TF_PLAN, TF_DAILY, ["backup", 0, "frequency"], "Monthly", "backup[0].frequency"),
        (TF_PLAN, TF_DAILY, ["backup", 0, "time"], "7pm", "resources[1].values.backup[0].time"),
        (TF_PLAN, TF_DAILY, ["instant_restore_retention_days"], 9, "instant_restore_retention"),
        (TF_PLAN, TF_DAILY, ["retention_daily", 0, "count"], 3, "retention_daily[0].count"),
        (TF_PLAN, TF_DAILY, ["retention_weekly", 0, "count"], 0, "retention_weekly[0].count"),
        (TF_PLAN, TF_DAILY, ["retention_weekly", 0, "weekdays"], ["Funday"], "weekly[0].weekdays"),
        (TF_PLAN, TF_DAILY, ["retention_monthly", 0, "count"], 0, "retention_monthly[0].count"),
        (TF_PLAN, TF_DAILY, ["retention_monthly", 0, "weeks"], ["Fifth"], "retention_monthly[0]"),
        (TF_PLAN, TF_DAILY, ["retention_yearly", 0, "count"], 0, "retention_yearly[0].count"),
        (TF_PLAN, TF_DAILY, ["retention_yearly", 0, "months"], ["Smarch"], "yearly[0].months"),
        (TF_PLAN, TF_DAILY, ["retention_yearly", 0, "days"], "1", "retention_yearly[0].days"),
        (TF_PLAN, TF_DAILY, ["backup"], [{}, {}], "resources[1].values.backup"),
        (TF_PLAN, TF_WEEKLY, ["backup", 0, "weekdays"], [], "backup[0].weekdays"),
        (TF_STATE, TF_HOURLY, ["backup", 0, "hour_interval"], 5, "backup[0].hour_interval"),
        (TF_STATE, TF_HOURLY, ["backup", 0, "hour_duration"], 30, "backup[0].hour_duration"),
        (TF_STATE, TF_HOURLY, ["instant_restore_retention_days"], 31, "instant_restore_retention"),
    ],
)
def test_each_terraform_field_is_named_by_its_path(
    document: Any, where: list[Any], field: list[Any], value: Any, path: str
) -> None:
    """Y4: a bad Terraform attribute is reported at its own JSON path, so the user finds it."""
    bad = mutated(document, [*where, *field], value)
    with pytest.raises(ValueError, match="^tf.json: ") as raised:
        policies_from_document(bad, label="tf.json")
    assert path in str(raised.value)


def test_a_terraform_values_object_that_is_not_an_object_is_named() -> None:
    from vmbackup.policy_json import policy_from_terraform

    with pytest.raises(ValueError, match="^terraform JSON: values must be an object"):
        policy_from_terraform("nope")  # type: ignore[arg-type]
    assert (
        policy_from_terraform(
            TF_STATE["values"]["root_module"]["resources"][0]["values"]
        ).policy.time_zone
        == "GMT Standard Time"
    )
