"""Policies (Y1-Y4), recovery points and storage (S28, P4)."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from conftest import mutated
from hypothesis import given, settings
from hypothesis import strategies as st

from vmbackup.data import dataset_path, read_policy
from vmbackup.policy import MonthlyDay, Policy
from vmbackup.policy_json import policy_from_arm
from vmbackup.retention import recovery_points, snapshot_storage_gb, vault_storage_gb

POLICIES = Path(dataset_path("README.md")).parent / "policies"
STANDARD = json.loads((POLICIES / "standard_daily.json").read_text())
ENHANCED = json.loads((POLICIES / "enhanced_hourly.json").read_text())
YEAR = pl.date_range(dt.date(2026, 1, 1), dt.date(2026, 12, 31), "1d", eager=True)


# --- policies ------------------------------------------------------------------------------------


def test_y1_standard_instant_restore_defaults_to_2_days_within_1_to_5() -> None:
    """Y1: Standard policy: Instant Restore 1-5 days, default 2."""
    assert Policy().instant_restore_days == 2
    assert Policy(instant_restore_days=5).instant_restore_days == 5
    with pytest.raises(
        ValueError, match=r"instant_restore_days=6: 1\.\.5 days for a standard daily"
    ):
        Policy(instant_restore_days=6)


def test_y1_standard_policies_cannot_be_hourly() -> None:
    """Y1: a Standard policy backs up once a day or week."""
    with pytest.raises(ValueError, match="frequency='hourly' is allowed only for"):
        Policy(frequency="hourly", hourly_interval_hours=4, window_hours=12)


def test_y2_enhanced_hourly_intervals_window_and_instant_restore() -> None:
    """S29, Y2: Enhanced: several backups a day, every 4/6/8/12 h in a 4-24 h window that (in
    the seed) is a multiple of the interval; Instant Restore 1-30 days, default 7."""
    p = Policy(policy_type="enhanced", frequency="hourly", hourly_interval_hours=6, window_hours=24)
    assert p.instant_restore_days == 7
    assert p.backups_per_day() == 4
    assert p.backup_hours() == (22.5, 4.5, 10.5, 16.5)
    seed = {"policy_type": "enhanced", "frequency": "hourly", "rules": "seed"}
    with pytest.raises(
        ValueError, match=r"hourly_interval_hours=5: Azure allows every 4, 6, 8, 12 h"
    ):
        Policy(**seed, hourly_interval_hours=5, window_hours=10)
    with pytest.raises(ValueError, match="window_hours=10: the window must be a multiple of the 4"):
        Policy(**seed, hourly_interval_hours=4, window_hours=10)
    with pytest.raises(ValueError, match=r"instant_restore_days=31: 1\.\.30 days"):
        Policy(policy_type="enhanced", instant_restore_days=31)
    with pytest.raises(
        ValueError, match=r"hourly_interval_hours=24: Azure allows every 4, 6, 8, 12 h"
    ):
        Policy(**seed, hourly_interval_hours=24, window_hours=24)


def test_y3_at_most_9999_recovery_points() -> None:
    """Y3: at most 9,999 recovery points per protected item."""
    Policy(daily_retention_days=9999)
    with pytest.raises(
        ValueError, match="retention=10009: at most 9999 recovery points per protected item"
    ):
        Policy(daily_retention_days=9999, weekly_retention_weeks=10)


def test_y4_reads_a_v1_standard_policy_from_az_json() -> None:
    """Y4: V1 policy JSON as ``az backup policy show`` prints it."""
    p = policy_from_arm(STANDARD)
    assert (p.name, p.policy_type, p.frequency, p.run_hour) == (
        "DailyPolicy",
        "standard",
        "daily",
        22.5,
    )
    assert (p.daily_retention_days, p.weekly_retention_weeks, p.monthly_retention_months) == (
        30,
        12,
        12,
    )
    assert p.monthly_day == MonthlyDay(weekdays=("Sunday",), weeks=("First",))
    assert p.instant_restore_days == 2
    assert p.consistency == "application"
    assert p.time_zone == "W. Europe Standard Time"


def test_y4_reads_a_v2_enhanced_hourly_policy() -> None:
    """Y4: V2 policy with an hourly schedule and a yearly rule on the 1st of January."""
    p = policy_from_arm(ENHANCED)
    assert (p.policy_type, p.frequency, p.hourly_interval_hours, p.window_hours) == (
        "enhanced",
        "hourly",
        4,
        12,
    )
    assert p.backup_hours() == (8.0, 12.0, 16.0)
    assert (p.yearly_retention_years, p.yearly_months) == (3, ("January",))
    assert p.yearly_day == MonthlyDay(days_of_month=(1,))


def test_y4_snapshot_consistency_type_only_crash_consistent_means_agentless() -> None:
    """Y4: snapshotConsistencyType OnlyCrashConsistent is the agentless policy."""
    p = read_policy(POLICIES / "enhanced_agentless_daily.json")
    assert (p.consistency, p.frequency, p.run_hour) == ("crash", "daily", 1.25)


def test_y4_accepts_the_bare_properties_object() -> None:
    assert policy_from_arm(STANDARD["properties"]).daily_retention_days == 30


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (["properties", "backupManagementType"], "AzureSql", "only 'AzureIaasVM'"),
        (["properties", "policyType"], "V3", "policyType='V3'"),
        (["properties", "schedulePolicy"], KeyError, "properties.schedulePolicy: missing field"),
        (
            ["properties", "schedulePolicy", "scheduleRunFrequency"],
            "Monthly",
            "scheduleRunFrequency='Monthly'",
        ),
        (
            ["properties", "schedulePolicy", "scheduleRunTimes"],
            ["22:30"],
            "scheduleRunTimes[0]='22:30' is not an ISO date-time",
        ),
        (
            ["properties", "schedulePolicy", "schedulePolicyType"],
            "SimpleSchedulePolicyV2",
            "a V1 policy uses 'SimpleSchedulePolicy'",
        ),
        (
            ["properties", "retentionPolicy", "dailySchedule", "retentionDuration", "durationType"],
            "Weeks",
            "durationType='Weeks'; expected 'Days'",
        ),
        (
            ["properties", "retentionPolicy", "dailySchedule", "retentionDuration", "count"],
            "thirty",
            "count='thirty' must be a whole number",
        ),
        (
            ["properties", "instantRpRetentionRangeInDays"],
            9,
            "properties.instantRpRetentionRangeInDays: instant_restore_days=9: 1..5 days",
        ),
        (["properties", "snapshotConsistencyType"], "Maybe", "snapshotConsistencyType='Maybe'"),
    ],
)
def test_y4_broken_policy_json_names_the_field(
    path: list[str], value: object, message: str
) -> None:
    with pytest.raises(ValueError, match="policy JSON") as raised:
        policy_from_arm(mutated(STANDARD, path, value))
    assert message in str(raised.value)


def test_malformed_policy_file_names_the_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "mine.json"
    bad.write_text('{"properties": {"policyType": "V1",}}')
    with pytest.raises(ValueError, match=r"mine.json: malformed JSON at line 1"):
        read_policy(bad)


def test_policy_file_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "sql.json"
    bad.write_text(json.dumps(mutated(STANDARD, ["properties", "backupManagementType"], "SQL")))
    with pytest.raises(ValueError, match=r"^sql.json: properties.backupManagementType='SQL'"):
        read_policy(bad)


def test_parsing_does_not_modify_the_document() -> None:
    before = copy.deepcopy(ENHANCED)
    policy_from_arm(ENHANCED)
    assert before == ENHANCED


# --- recovery points -----------------------------------------------------------------------------


def test_y3_daily_weekly_monthly_points_on_a_date() -> None:
    """Y3: daily, weekly and monthly points exist side by side."""
    p = policy_from_arm(STANDARD)  # 30 days, 12 weeks (Sunday), 12 months (first Sunday)
    points = recovery_points(p, dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    assert points.filter(pl.col("daily") & ~pl.col("weekly")).height == 26
    assert points.filter(pl.col("weekly")).height == 12 + 10  # 12 kept weekly + older monthlies
    assert points.filter(pl.col("monthly")).height == 12
    assert points["created"].min() == dt.date(2026, 1, 4)  # the first Sunday of January
    assert (points["expires"] > dt.date(2026, 12, 31)).all()


def test_weekly_schedule_makes_points_on_its_days_only() -> None:
    p = Policy(
        frequency="weekly",
        run_days=("Wednesday",),
        weekly_retention_weeks=4,
        daily_retention_days=None,
        weekly_days=("Wednesday",),
    )
    points = recovery_points(p, dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    assert points["created"].dt.weekday().unique().to_list() == [3]
    assert points.height == 4


def test_monthly_day_choices() -> None:
    assert MonthlyDay(last=True).matches(dt.date(2026, 2, 28))
    assert not MonthlyDay(last=True).matches(dt.date(2026, 2, 27))
    assert MonthlyDay(weekdays=("Friday",), weeks=("Last",)).matches(dt.date(2026, 11, 27))
    assert not MonthlyDay(weekdays=("Friday",), weeks=("Last",)).matches(dt.date(2026, 11, 20))
    assert MonthlyDay(days_of_month=(15,)).matches(dt.date(2026, 3, 15))
    two = MonthlyDay(weekdays=("Wednesday", "Thursday"), weeks=("First", "Third"))
    november = pl.date_range(dt.date(2026, 11, 1), dt.date(2026, 11, 30), "1d", eager=True)
    chosen = [d.day for d in november if two.matches(d)]
    assert chosen == [4, 5, 18, 19]
    assert two.days_per_month == 4
    with pytest.raises(ValueError, match=r"days_of_month=\(32,\): each date must be 1..31"):
        MonthlyDay(days_of_month=(32,))
    with pytest.raises(ValueError, match="names no day"):
        MonthlyDay()


# --- storage -------------------------------------------------------------------------------------


def test_s28_vault_holds_the_full_copy_plus_retained_deltas() -> None:
    """S28: storage = the data of each retained point: one full copy plus daily deltas."""
    storage = vault_storage_gb(Policy(daily_retention_days=30), YEAR, 100.0, 2.0)
    assert storage[0] == pytest.approx(100.0)
    assert storage[9] == pytest.approx(100.0 + 9 * 2.0)
    assert storage[-1] == pytest.approx(100.0 + 29 * 2.0)


def test_s28_longer_retention_and_more_churn_store_more() -> None:
    """S28: more retained points or bigger deltas mean more stored data."""
    short = vault_storage_gb(Policy(daily_retention_days=7), YEAR, 100.0, 2.0)
    long = vault_storage_gb(
        Policy(daily_retention_days=7, monthly_retention_months=12), YEAR, 100.0, 2.0
    )
    busier = vault_storage_gb(Policy(daily_retention_days=7), YEAR, 100.0, 5.0)
    assert (long >= short).all()
    assert long[-1] > short[-1]
    assert (busier >= short).all()


def test_y2_enhanced_sends_one_vault_point_a_day() -> None:
    """Y2: only the day's last backup goes to the vault, so hourly == daily in the vault."""
    hourly = Policy(
        policy_type="enhanced", frequency="hourly", hourly_interval_hours=4, window_hours=24
    )
    daily = Policy(policy_type="enhanced")
    assert np.array_equal(
        vault_storage_gb(hourly, YEAR, 100.0, 2.0), vault_storage_gb(daily, YEAR, 100.0, 2.0)
    )


def test_stopped_protection_with_retained_data_freezes_the_vault() -> None:
    """S24: after stop (retain data) the existing points stay; nothing new is added."""
    stop = dt.date(2026, 6, 1)
    storage = vault_storage_gb(
        Policy(daily_retention_days=30),
        YEAR,
        100.0,
        2.0,
        backing_up=(stop > YEAR).to_numpy(),
        frozen_from=stop,
    )
    after = storage[(stop <= YEAR).to_numpy()]
    assert np.allclose(after, after[0])
    assert after[0] == pytest.approx(100.0 + 29 * 2.0)


def test_growth_of_the_used_data_is_stored_as_a_delta() -> None:
    used = np.where(np.arange(YEAR.len()) < 100, 100.0, 300.0)
    storage = vault_storage_gb(Policy(daily_retention_days=10), YEAR, used, 0.0)
    assert storage[99] == 100.0
    assert storage[100] == 300.0
    assert storage[150] == 300.0


def test_p4_instant_restore_snapshots_microsoft_example() -> None:
    """P4: 100 GB VM, 2% daily churn, 5 days: Standard 10 GB, Enhanced 108 GB."""
    assert float(snapshot_storage_gb("standard", 100, 2, 5)) == pytest.approx(10.0)
    assert float(snapshot_storage_gb("enhanced", 100, 2, 5)) == pytest.approx(108.0)


@settings(max_examples=40, deadline=None)
@given(
    daily=st.integers(7, 60),
    weekly=st.none() | st.integers(1, 20),
    monthly=st.none() | st.integers(1, 24),
    churn=st.floats(0, 50),
)
def test_storage_is_never_below_the_full_copy_nor_above_all_data(
    daily: int, weekly: int | None, monthly: int | None, churn: float
) -> None:
    p = Policy(
        daily_retention_days=daily, weekly_retention_weeks=weekly, monthly_retention_months=monthly
    )
    storage = vault_storage_gb(p, YEAR, 100.0, churn)
    assert (storage >= 100.0 - 1e-9).all()
    assert (storage <= 100.0 + churn * np.arange(1, YEAR.len() + 1) + 1e-6).all()
