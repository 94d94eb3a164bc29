"""Behavioural tests for rules that were guarded only by a notebook output, a message regex or
one end of a limit (issue 19). Each names its item and fails when the rule is broken."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from vmbackup.billing import Event, monthly_bill
from vmbackup.churn import trace_churn
from vmbackup.data import dataset_path, read_fleet, read_lag_profile, read_msr_trace, read_prices
from vmbackup.policy import Policy
from vmbackup.transfer import backup_jobs, backup_timeline

D = dt.date
PRICES = read_prices(region="westeurope")
LAG = [0.25] * 24


def bill(events: list[Event], until: dt.date, **options: object) -> pl.DataFrame:
    return monthly_bill(
        events, until=until, policy=Policy(daily_retention_days=30), prices=PRICES, **options
    )


# --- an order of lifecycle events never tried ----------------------------------------------------


def test_s25_a_resize_after_protection_stopped_leaves_the_pi_size_at_the_last_backup() -> None:
    """S25: once protection stops, the PI size is the last successful backup's; growing the VM
    afterwards is never backed up and changes neither fee nor storage."""
    events = [
        Event("protect", D(2026, 1, 1), used_gb=400),
        Event("first-backup", D(2026, 1, 1)),
        Event("stop", D(2026, 3, 1)),
        Event("resize", D(2026, 4, 10), used_gb=1800),
    ]
    grown = bill(events, D(2026, 6, 30))
    same = bill(events[:3], D(2026, 6, 30))
    after = grown.filter(pl.col("month") >= D(2026, 3, 1))
    assert after["pi_size_gb"].to_list() == [400.0] * 4
    assert grown["total_usd"].to_list() == pytest.approx(same["total_usd"].to_list())


def test_s25_a_resize_while_protected_changes_the_pi_size_from_that_day() -> None:
    """S26/S25: while protected the PI follows the data; the fee jumps in the resize month."""
    events = [
        Event("protect", D(2026, 1, 1), used_gb=400),
        Event("first-backup", D(2026, 1, 1)),
        Event("resize", D(2026, 2, 15), used_gb=600),
    ]
    b = bill(events, D(2026, 3, 31))
    assert b["pi_size_gb"].to_list() == [400.0, 600.0, 600.0]
    assert b["pi_fee_usd"][0] < b["pi_fee_usd"][1] < b["pi_fee_usd"][2]


# --- snapshot storage after a stop ---------------------------------------------------------------


def test_p4_snapshots_keep_costing_after_a_stop_until_they_expire() -> None:
    """P4, S24: the Instant Restore snapshots of the last backups stay until their retention
    runs out after protection stops; then snapshot storage is zero."""
    stop = D(2026, 3, 1)
    events = [
        Event("protect", D(2026, 1, 1), used_gb=200),
        Event("first-backup", D(2026, 1, 1)),
        Event("stop", stop),
    ]
    b = monthly_bill(
        events,
        until=D(2026, 4, 30),
        policy=Policy(daily_retention_days=30, instant_restore_days=5),
        prices=PRICES,
    )
    march, april = (
        b.filter(pl.col("month") == D(2026, 3, 1)),
        b.filter(pl.col("month") == D(2026, 4, 1)),
    )
    assert march["snapshot_storage_usd"][0] > 0
    assert april["snapshot_storage_usd"][0] == 0
    february = b.filter(pl.col("month") == D(2026, 2, 1))["snapshot_storage_usd"][0]
    assert march["snapshot_storage_usd"][0] < february  # only the first days of March


# --- a non-default parameter never used ----------------------------------------------------------


def test_trace_churn_days_start_at_the_backup_hour_not_midnight() -> None:
    """S10: a backup day runs from one backup to the next; with day_start_hour the writes
    before that hour belong to the previous backup day."""
    trace = read_msr_trace()
    midnight = trace_churn(trace, 65536)
    evening = trace_churn(trace, 65536, day_start_hour=22.0)
    assert midnight["written_bytes"].sum() == evening["written_bytes"].sum()
    first_write = trace.filter(pl.col("type") == "Write")["timestamp"].min()
    assert first_write is not None
    starts_before_22 = first_write.hour < 22  # type: ignore[union-attr]
    assert starts_before_22
    # the first calendar day's writes before 22:00 fall into the previous backup day
    assert evening["day"].min() == midnight["day"].min() - dt.timedelta(days=1)
    assert not midnight.select("day", "written_bytes").equals(
        evening.select("day", "written_bytes")
    )


def test_the_trace_extent_and_response_time_units() -> None:
    """The MSR trace reader: offsets and sizes in bytes, response time in seconds (FILETIME ticks
    of 100 ns divided by 10^7); extents count runs of consecutive changed blocks."""
    trace = read_msr_trace()
    assert trace["response_time_s"].max() < 10  # seconds, not ticks
    assert trace["response_time_s"].min() >= 0
    raw = dataset_path("msr_sample_trace.csv").read_text().splitlines()[0].split(",")
    assert trace["response_time_s"][0] == pytest.approx(int(raw[6]) / 1e7)
    assert trace["offset_bytes"][0] == int(raw[4])
    assert trace["size_bytes"][0] == int(raw[5])
    # timestamps: FILETIME, 100 ns ticks since 1601-01-01 (UTC), read to the microsecond
    since_1601 = dt.timedelta(microseconds=int(raw[0]) // 10)
    assert trace["timestamp"][0] == dt.datetime(1601, 1, 1, tzinfo=dt.UTC) + since_1601
    one = trace.head(1).with_columns(
        type=pl.lit("Write"),
        offset_bytes=pl.lit(0, pl.Int64),
        size_bytes=pl.lit(3 * 4096, pl.Int64),
    )
    two = pl.concat([one, one.with_columns(offset_bytes=pl.lit(10 * 4096, pl.Int64))])
    churn = trace_churn(two, 4096)
    assert churn["changed_blocks"][0] == 6
    assert churn["extents"][0] == 2


# --- a failure flag tested only where it is true -------------------------------------------------


def _disks(**change: object) -> pl.DataFrame:
    row = {
        "vm": "a",
        "disk": "data",
        "used_gb": 3000.0,
        "allocated_gb": 4096.0,
        "churn_gb": 10.0,
        "extents": 100.0,
        "new_disk": False,
        "start_hour": 22.0,
        "first_backup": False,
        "snapshot_missing": False,
    }
    return pl.DataFrame([row | change])


@pytest.mark.parametrize(
    "change", [{"first_backup": True}, {"new_disk": True}], ids=["first-backup", "new-disk"]
)
def test_s12_s15_a_long_first_backup_or_new_disk_is_late_but_not_failed(
    change: dict[str, object],
) -> None:
    """S12, S15, S17: a full copy of 3 TB takes more than 24 h and misses the window, but only
    the checksum fallback fails a job."""
    job = backup_jobs(_disks(**change), LAG).row(0, named=True)
    assert job["total_hours"] > 24
    assert not job["met_window"]
    assert not job["failed"]


def test_s17_only_the_checksum_fallback_fails_and_only_past_its_limit() -> None:
    """S17: with the snapshot deleted the whole disk is scanned; a long scan fails, a short
    one is only slow."""
    big = backup_jobs(_disks(snapshot_missing=True, allocated_gb=32_000.0, used_gb=3000.0), LAG)
    small = backup_jobs(_disks(snapshot_missing=True, allocated_gb=64.0, used_gb=30.0), LAG)
    assert big["failed"][0]
    assert not small["failed"][0]
    first = backup_timeline(
        [{"disk": "d", "used_gb": 3000.0, "allocated_gb": 4096.0, "churn_gb": 0.0, "extents": 0.0}],
        start_hour=22.0,
        lag_profile_hours=LAG,
        first_backup=True,
        snapshot_missing=True,
    )
    assert not first.failed  # a first backup copies everything: no checksum pass


# --- a reader's schema rule without a broken-file test -------------------------------------------


def test_a_fleet_vm_without_an_os_disk_is_named(tmp_path: Path) -> None:
    """A VM has exactly one OS disk; the reader names the VM."""
    fleet = read_fleet()
    vm = fleet["vm_name"][0]
    broken = fleet.with_columns(
        disk_role=pl.when((pl.col("vm_name") == vm) & (pl.col("disk_role") == "os"))
        .then(pl.lit("data"))
        .otherwise(pl.col("disk_role"))
    )
    broken.write_csv(tmp_path / "fleet.csv")
    with pytest.raises(ValueError, match=f"fleet.csv: vm_name='{vm}' has 0 OS disks"):
        read_fleet(tmp_path / "fleet.csv")


def test_a_lag_profile_above_8_hours_names_the_file(tmp_path: Path) -> None:
    """S11: the lag is at most 8 hours; a profile above that is refused, naming the file."""
    text = dataset_path("peak_lag_profile.csv").read_text().replace("0,8.0", "0,9.5", 1)
    (tmp_path / "lag.csv").write_text(text)
    with pytest.raises(ValueError, match="lag.csv: lag_hours must be between 0 and 8"):
        read_lag_profile(tmp_path / "lag.csv")
    assert float(read_lag_profile().max()) == 8.0


def test_the_lag_profile_is_read_in_hour_order() -> None:
    profile = read_lag_profile()
    assert profile.shape == (24,)
    assert np.argmax(profile) in (0, 23)


# --- errors: rejected and accepted at each boundary, and the message names field and rule -------


def test_a_flag_column_accepts_booleans_and_refuses_words_saying_what_it_must_hold() -> None:
    """Clear errors: a flag column of words is refused, naming the file, the column and that it
    must hold True or False; real booleans pass unchanged."""
    from vmbackup._checks import Column, check_frame

    flags = {"agentless": Column("bool")}
    ok = check_frame(pl.DataFrame({"agentless": [True, False]}), flags, name="fleet.csv")
    assert ok["agentless"].to_list() == [True, False]
    with pytest.raises(ValueError, match="agentless") as refused:
        check_frame(pl.DataFrame({"agentless": ["yes"]}), flags, name="fleet.csv")
    assert str(refused.value) == (
        "fleet.csv: column 'agentless' holds String values; it must hold True or False"
    )


def test_recovery_points_refuse_a_datetime_for_either_date_naming_which() -> None:
    """Clear errors: both dates of ``recovery_points`` must be dates (a datetime has a time of
    day the points do not); each refusal names its own argument."""
    from vmbackup.data import dataset_path, read_policy
    from vmbackup.retention import recovery_points

    policy = read_policy(dataset_path("policies/standard_daily.json"))
    day = dt.date(2026, 1, 1)
    assert recovery_points(policy, day, dt.date(2026, 1, 10)).height > 0
    noon = dt.datetime(2026, 1, 10, 12)
    with pytest.raises(ValueError, match=r"^on=datetime"):
        recovery_points(policy, day, noon)
    with pytest.raises(ValueError, match=r"^first_backup=datetime"):
        recovery_points(policy, noon, dt.date(2026, 1, 10))


def test_vault_storage_refuses_a_negative_used_size_naming_it() -> None:
    """Clear errors: ``vault_storage_gb`` takes sizes >= 0; a negative one is named."""
    from vmbackup.data import dataset_path, read_policy
    from vmbackup.retention import vault_storage_gb

    policy = read_policy(dataset_path("policies/standard_daily.json"))
    days = pl.date_range(dt.date(2026, 1, 1), dt.date(2026, 1, 10), "1d", eager=True)
    assert vault_storage_gb(policy, days, 100.0, 1.0).shape == (days.len(),)
    assert (vault_storage_gb(policy, days, 0.0, 0.0) == 0).all()
    with pytest.raises(ValueError, match=r"^used_gb"):
        vault_storage_gb(policy, days, -1.0, 1.0)
