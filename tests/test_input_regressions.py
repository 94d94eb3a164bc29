"""One regression test per class of bad input that used to crash, hang or pass silently.

Each test is the smallest example of a class found by generating bad input against every entry
point; the property suite (``tests/test_contract.py``) covers the classes in general.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from conftest import mutated

from vmbackup.capacity import premium_space_check, vm_space_check
from vmbackup.churn import trace_churn
from vmbackup.data import check_fleet, dataset_path, read_fleet, read_msr_trace, read_policy
from vmbackup.policy import Policy
from vmbackup.policy_json import policy_from_arm
from vmbackup.restore import restore_plan, simulate_restore
from vmbackup.transfer import backup_jobs, backup_timeline, extents_for

ARM = json.loads(dataset_path("policies/standard_daily.json").read_text())
MONTHLY = ["properties", "retentionPolicy", "monthlySchedule"]
FLEET = read_fleet()
LAG = [0.25] * 24
DISK = {"disk": "os", "used_gb": 30.0, "allocated_gb": 64.0, "churn_gb": 1.0, "extents": 10.0}


# --- crashes with the wrong exception ------------------------------------------------------------


def test_an_empty_weeks_of_the_month_list_is_named() -> None:
    """Was IndexError."""
    bad = mutated(ARM, [*MONTHLY, "retentionScheduleWeekly", "weeksOfTheMonth"], [])
    with pytest.raises(ValueError, match=r"weeksOfTheMonth=\[\] must be a non-empty list"):
        policy_from_arm(bad)


def test_days_of_the_month_as_bare_numbers_are_named() -> None:
    """Was AttributeError: ``daysOfTheMonth: [5]`` instead of ``[{"date": 5}]``."""
    bad = mutated(ARM, [*MONTHLY, "retentionScheduleFormatType"], "Daily")
    bad = mutated(bad, [*MONTHLY, "retentionScheduleDaily"], {"daysOfTheMonth": [5]})
    with pytest.raises(ValueError, match=r"daysOfTheMonth\[0\] must be an object"):
        policy_from_arm(bad)


def test_a_deeply_nested_json_file_is_named(tmp_path: Path) -> None:
    """Was RecursionError."""
    path = tmp_path / "deep.json"
    path.write_text("[" * 50_000 + "]" * 50_000)
    with pytest.raises(ValueError, match="deep.json: JSON nested too deeply"):
        read_policy(path)


def test_a_huge_json_integer_is_named() -> None:
    """Was OverflowError."""
    bad = mutated(ARM, ["properties", "instantRpRetentionRangeInDays"], 10**400)
    with pytest.raises(ValueError, match="instant_restore_days=1000"):
        policy_from_arm(bad)


def test_a_lower_case_weekday_is_accepted_and_a_wrong_one_named() -> None:
    """Was ``tuple.index(x): x not in tuple``; Azure's names match case-insensitively."""
    assert Policy(weekly_retention_weeks=4, weekly_days=("sunday",)).weekly_days == ("Sunday",)
    with pytest.raises(ValueError, match="weekly_days='Sundy' is not allowed"):
        Policy(weekly_retention_weeks=4, weekly_days=("Sundy",))


def test_an_empty_disk_table_is_named() -> None:
    """Was OutOfBoundsError from the timeline."""
    empty = pl.DataFrame(schema=dict.fromkeys(DISK, pl.Float64) | {"disk": pl.String})
    with pytest.raises(ValueError, match="holds no disk"):
        backup_timeline(empty, start_hour=1.0, lag_profile_hours=LAG)


def test_an_unknown_churn_class_or_an_integer_flag_column_is_named(tmp_path: Path) -> None:
    """Was a polars error from deep inside."""
    with pytest.raises(ValueError, match="churn_class='extreme' must be one of"):
        check_fleet(FLEET.with_columns(churn_class=pl.lit("extreme")))
    with pytest.raises(ValueError, match="column 'managed' holds Int32 values"):
        check_fleet(FLEET.with_columns(managed=pl.lit(1, dtype=pl.Int32)))


def test_a_wrong_type_keyword_is_named() -> None:
    """Was TypeError deep inside."""
    with pytest.raises(ValueError, match="start_hour=None must be a finite number"):
        backup_timeline([DISK], start_hour=None, lag_profile_hours=LAG)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="block_size_bytes='64k' must be a whole number"):
        extents_for(1.0, 0.5, "64k")  # type: ignore[arg-type]


# --- hangs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("disk_throughput_mb_s", 0),
        ("io_size_kib", 0),
        ("account_iops", 0),
    ],
)
def test_a_restore_that_could_never_finish_is_refused(option: str, value: float) -> None:
    """Was a restore that never returned."""
    with pytest.raises(ValueError, match=f"{option}=0 must be a number in"):
        simulate_restore(restore_plan(FLEET, **{option: value}))


def test_ten_million_accounts_are_refused() -> None:
    """Was a restore plan that never returned."""
    with pytest.raises(ValueError, match="accounts=10000000 must be a whole number in"):
        restore_plan(FLEET, placement="balanced", accounts=10_000_000)


# --- silent nonsense -----------------------------------------------------------------------------


def test_a_blank_or_nan_fleet_value_is_named(tmp_path: Path) -> None:
    """Was a plan computed from NaN or a blank schedule hour. A blank start-time override now
    means the policy's run time (S1, the sample leaves them all blank); NaN is still refused."""
    text = (
        dataset_path("sample_fleet.csv").read_text().replace("DailyPolicy,,", "DailyPolicy,nan,", 1)
    )
    (tmp_path / "nan.csv").write_text(text)
    with pytest.raises(ValueError, match=r"nan.csv: row 2 \(.*\): schedule_hour=nan must be"):
        read_fleet(tmp_path / "nan.csv")
    blank_used = dataset_path("sample_fleet.csv").read_text().replace(",30.0,10.4", ",30.0,", 1)
    (tmp_path / "blank.csv").write_text(blank_used)
    with pytest.raises(ValueError, match=r"blank.csv: row 2 \(.*\): used_gb=None"):
        read_fleet(tmp_path / "blank.csv")
    nan = FLEET.with_columns(used_gb=pl.lit(float("nan")))
    with pytest.raises(ValueError, match="used_gb=nan must be a finite number"):
        premium_space_check(nan)


def test_short_csv_lines_are_named(tmp_path: Path) -> None:
    """Was a plan printed from a file with missing fields."""
    lines = dataset_path("sample_fleet.csv").read_text().splitlines()
    lines[3] = ",".join(lines[3].split(",")[:5])
    (tmp_path / "short.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match="short.csv"):
        read_fleet(tmp_path / "short.csv")


def test_a_zero_throughput_is_refused_not_infinite() -> None:
    """Was an infinite or NaN duration."""
    with pytest.raises(ValueError, match="incremental_throughput_mb_s=0 must be a finite"):
        backup_timeline(
            [DISK], start_hour=1.0, lag_profile_hours=LAG, incremental_throughput_mb_s=0
        )


def test_a_string_flag_is_refused_not_true() -> None:
    """Was ``first_backup="no"`` counting as True."""
    with pytest.raises(ValueError, match="first_backup='no' must be True or False"):
        backup_timeline([DISK], start_hour=1.0, lag_profile_hours=LAG, first_backup="no")  # type: ignore[arg-type]


def test_fragmentation_above_one_is_refused() -> None:
    with pytest.raises(ValueError, match="fragmentation=1.5 must be between 0 and 1"):
        extents_for(1.0, 1.5)


def test_a_nan_used_size_is_refused_not_short() -> None:
    """Was status "short" with a NaN shortfall."""
    with pytest.raises(ValueError, match="used_gb=nan must be a finite number"):
        vm_space_check(allocated_gb=100.0, used_gb=float("nan"))


def test_a_trace_with_a_negative_offset_is_refused() -> None:
    """Was counted as changed blocks."""
    trace = read_msr_trace().head(10)
    with pytest.raises(ValueError, match="offset_bytes=-4096 must be a whole number >= 0"):
        trace_churn(trace.with_columns(offset_bytes=pl.lit(-4096, dtype=pl.Int64)))


def test_a_header_only_fleet_is_named(tmp_path: Path) -> None:
    """Was "zero-size array to reduction operation"."""
    header = dataset_path("sample_fleet.csv").read_text().splitlines()[0]
    (tmp_path / "header.csv").write_text(header + "\n")
    with pytest.raises(ValueError, match="header.csv: the table holds no disk"):
        read_fleet(tmp_path / "header.csv")


def test_a_broadcast_mismatch_is_named_not_a_numpy_message() -> None:
    with pytest.raises(ValueError, match="churn_gb .* and fragmentation .* must be"):
        extents_for([1.0, 2.0], [0.1, 0.2, 0.3])


def test_jobs_never_leave_nan_or_negative_hours() -> None:
    jobs = backup_jobs(
        pl.DataFrame(
            [
                DISK
                | {
                    "vm": "a",
                    "new_disk": False,
                    "start_hour": 23.5,
                    "first_backup": True,
                    "snapshot_missing": False,
                }
            ]
        ),
        LAG,
    )
    hours = jobs.select(pl.col("start_hour", "snapshot_at", "transfer_start", "end", "total_hours"))
    assert np.isfinite(hours.to_numpy()).all()
    assert (hours.to_numpy() >= 0).all()


@pytest.mark.parametrize(("cell", "message"), [("", "it is blank"), ("nan", "nan"), ("inf", "inf")])
def test_a_blank_or_non_finite_price_is_named(cell: str, message: str, tmp_path: Path) -> None:
    """Was a TypeError (blank) or a NaN / infinite bill."""
    from vmbackup.data import read_prices

    lines = dataset_path("prices.csv").read_text().splitlines()
    header = lines[0].split(",")
    fields = lines[1].split(",")
    fields[header.index("price")] = cell
    lines[1] = ",".join(fields)
    (tmp_path / "prices.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=f"prices.csv: price table: row 2 .*price=.*{message}"):
        read_prices(tmp_path / "prices.csv", region="eastus")


def test_the_fleet_app_refuses_more_copies_than_it_can_answer_while_a_slider_moves() -> None:
    """The fleet app simulates at most 100 copies of the sample (20,000 VMs, under a second);
    4,139 copies (828,000 VMs, 15 s on a loaded machine) is a plan's job, refused in one line."""
    from vmbackup.apps.fleet import fleet_update
    from vmbackup.data import read_fleet, read_lag_profile, read_policies

    common = {
        "fleet": read_fleet(),
        "policies": read_policies(),
        "lag_profile_hours": read_lag_profile(),
    }
    result, text, ax = fleet_update(**common, fleet_copies=101, days=1)
    assert (result, ax) == (None, None)
    assert "fleet_copies=101 must be a whole number in 1..100" in text
    result, _, _ = fleet_update(**common, fleet_copies=100, days=1)
    assert result is not None


def test_an_overlap_pool_beyond_any_float_is_the_sequential_bound() -> None:
    """A32: a pool of 10^400 days (a whole number no float holds) behaves as an endless pool,
    the sequential bound, instead of crashing with OverflowError (found by the contract suite)."""
    from vmbackup.retention import distinct_change_gb

    huge = distinct_change_gb(100.0, 2.0, 10, overlap=10**400)
    assert float(huge) == float(distinct_change_gb(100.0, 2.0, 10, overlap="sequential")) == 20.0


def test_a_period_churn_share_beyond_any_float_is_refused_by_name() -> None:
    """A33: a monthly share of 10^400 is refused naming the field, not an OverflowError."""
    from vmbackup.retention import PeriodChurn

    with pytest.raises(ValueError, match="^monthly_churn_fraction=1000"):
        PeriodChurn(monthly_churn_fraction=10**400)
