"""Calibration from job history: churn, throughput per disk and lag recovered from generated
history with known parameters (items S9-S12, S15-S17)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from history_sample import generator, history_file, truth

from vmbackup.calibrate import (
    FULL_COPY_SHARE,
    HistoryFit,
    apply_fit,
    describe_fit,
    fit_history,
)
from vmbackup.data import read_fleet, read_lag_profile
from vmbackup.records import jobs_from_document, read_backup_jobs, read_history
from vmbackup.transfer import backup_jobs, extents_for

ESTATE = read_fleet(history_file("estate.csv"))
ASSUMED = read_lag_profile()
TRUTH = truth()


def _fit(jobs: pl.DataFrame, fleet: pl.DataFrame = ESTATE, **options: Any) -> HistoryFit:
    return fit_history(jobs, fleet, lag_profile_hours=ASSUMED, **options)


def _errors(fit: HistoryFit, truth: dict[str, Any]) -> pl.DataFrame:
    """Each VM's fitted churn and throughput relative to the generating parameters."""
    true = pl.DataFrame([{"vm_name": k, **v} for k, v in truth["vms"].items()])
    return fit.vms.join(true, on="vm_name", suffix="_true").select(
        "vm_name",
        churn=pl.col("churn_gb_per_day") / pl.col("churn_gb_per_day_true") - 1,
        throughput=pl.col("throughput_mb_s_per_disk") / pl.col("throughput_mb_s_per_disk_true") - 1,
    )


def _lag_errors(fit: HistoryFit, truth: dict[str, Any]) -> np.ndarray:
    fitted = fit.lag.filter(pl.col("fitted"))
    true = np.asarray(truth["lag_profile_hours"])[fitted["hour"].to_numpy()]
    return fitted["lag_hours"].to_numpy() / true - 1


@pytest.fixture(scope="module")
def shipped_fit() -> HistoryFit:
    return _fit(read_backup_jobs(history_file("jobs.json")))


def test_the_fit_recovers_churn_throughput_and_lag_within_10_percent(
    shipped_fit: HistoryFit,
) -> None:
    """Issue 14: on the shipped history (task times), every VM's churn and throughput per disk
    and the lag of every hour it covers, within 10% of the generating parameters."""
    errors = _errors(shipped_fit, TRUTH)
    assert errors.height == 10
    assert errors["churn"].abs().max() < 0.10  # type: ignore[operator]
    assert errors["throughput"].abs().max() < 0.10  # type: ignore[operator]
    lag = _lag_errors(shipped_fit, TRUTH)
    assert lag.size == 2  # the sample's VMs snapshot at 22:00 and 01:00
    assert np.abs(lag).max() < 0.10
    assert shipped_fit.method == "task times"
    assert (shipped_fit.vms["jobs"] >= 30).all()


def test_outliers_are_exactly_the_planted_jobs(shipped_fit: HistoryFit) -> None:
    """S12, S17: first backups, failed jobs and checksum-fallback days are left out and listed,
    and no ordinary day is."""
    out = shipped_fit.outliers.with_columns(day=pl.col("start_time").dt.date().cast(pl.String))
    firsts = out.filter(pl.col("reason").str.starts_with("first backup"))
    assert sorted(firsts["vm_name"]) == sorted(TRUTH["vms"])
    assert set(firsts["day"]) == {TRUTH["onboarded"]}
    failed = out.filter(pl.col("reason").str.starts_with("failed"))
    assert sorted(failed.select("vm_name", "day").rows()) == [
        tuple(x) for x in TRUTH["outliers"]["failed"]
    ]
    slow = out.filter(pl.col("reason").str.contains("S17"))
    assert sorted(slow.select("vm_name", "day").rows()) == [
        tuple(x) for x in TRUTH["outliers"]["checksum_fallback"]
    ]
    assert out.height == 10 + 4 + 2
    assert shipped_fit.jobs.height + out.height == 350


def test_the_fitted_model_predicts_durations_better_than_the_defaults(
    shipped_fit: HistoryFit,
) -> None:
    """The calibrated model's job durations are closer to the measured ones than the defaults'
    (7 MB/s per disk, the assumed peak-hour lag)."""
    jobs = shipped_fit.jobs
    fitted = (jobs["modelled_hours"] - jobs["measured_hours"]).abs().median()
    default = (jobs["default_hours"] - jobs["measured_hours"]).abs().median()
    assert fitted is not None
    assert default is not None
    assert fitted < 0.5 * default  # type: ignore[operator]
    assert fitted < 0.5  # type: ignore[operator]


def test_reports_alone_fit_churn_and_lag_but_not_throughput() -> None:
    """Backup reports hold durations, not task times: churn and the lag by hour are recovered
    within 10%; a VM's throughput is reported only where its transfer shows through the lag's
    day-to-day spread, and otherwise marked not identifiable."""
    history = read_history(
        [history_file("AddonAzureBackupJobs.csv"), history_file("CoreAzureBackup.csv")]
    )
    fit = _fit(history.jobs)
    errors = _errors(fit, TRUTH)
    assert errors["churn"].abs().max() < 0.10  # type: ignore[operator]
    assert np.abs(_lag_errors(fit, TRUTH)).max() < 0.10
    assert fit.method == "durations"
    unknown = fit.vms.filter(pl.col("throughput_mb_s_per_disk").is_null())
    assert unknown.height >= 5
    assert (unknown["method"] == "durations: not identifiable").all()
    # a throughput fitted from noisy durations carries its standard error, never zero
    known = fit.vms.filter(pl.col("throughput_mb_s_per_disk").is_not_null())
    assert known.height >= 1
    assert (known["throughput_spread_mb_s"] > 0).all()


def test_recovery_holds_for_another_seed_and_every_hour_of_the_day() -> None:
    """Another world: each VM scheduled at a different hour, 60 days: churn, throughput and the
    lag of every covered hour within 10%."""
    make = generator()
    fleet = make.estate()
    names = fleet["vm_name"].unique(maintain_order=True).to_list()
    hours = {name: float(2 * i + 0.5) for i, name in enumerate(names)}
    fleet = fleet.with_columns(schedule_hour=pl.col("vm_name").replace_strict(hours))
    made = make.generate(seed=7, fleet=fleet, days=60)
    jobs, _ = jobs_from_document(made["jobs"])
    fit = _fit(jobs, read_fleet_frame(made["estate"]))
    errors = _errors(fit, made["truth"])
    assert errors["churn"].abs().max() < 0.10  # type: ignore[operator]
    assert errors["throughput"].abs().max() < 0.10  # type: ignore[operator]
    lag = _lag_errors(fit, made["truth"])
    assert lag.size == 10
    assert np.abs(lag).max() < 0.10


def read_fleet_frame(frame: pl.DataFrame) -> pl.DataFrame:
    from vmbackup.data import check_fleet

    return check_fleet(frame)


def test_the_transfer_model_is_affine_in_the_inverse_throughput() -> None:
    """The fit inverts vmbackup.transfer through two evaluations; that holds only if a job's
    transfer time is a / throughput + b: checked against the model at other throughputs."""
    rows = ESTATE.filter(pl.col("disk_role") != "temp")
    churn = rows["used_gb"].to_numpy() * 0.05
    table = pl.DataFrame(
        {
            "vm": rows["vm_name"],
            "disk": rows["disk_name"],
            "used_gb": rows["used_gb"],
            "allocated_gb": rows["allocated_gb"],
            "churn_gb": churn,
            "extents": extents_for(churn, 0.3),
            "new_disk": False,
            "start_hour": 22.5,
            "first_backup": False,
            "snapshot_missing": False,
        }
    )

    def transfer(rate: float) -> np.ndarray:
        jobs = backup_jobs(table, np.zeros(24), incremental_throughput_mb_s=rate)
        return (jobs["end"] - jobs["transfer_start"]).to_numpy()

    h1, h2 = transfer(1.0), transfer(2.0)
    a, b = 2 * (h1 - h2), 2 * h2 - h1
    for rate in (3.0, 7.0, 55.0):
        assert np.allclose(transfer(rate), a / rate + b)


def test_full_copies_are_recognised_by_their_size(shipped_fit: HistoryFit) -> None:
    """S12, S15: a job sending at least half the VM's used data is a full copy; the VM's first
    is its first backup, a later one a new disk."""
    jobs = read_backup_jobs(history_file("jobs.json"))
    used = (
        ESTATE.filter(pl.col("disk_role") != "temp")
        .group_by("vm_name")
        .agg(pl.col("used_gb").sum())
    )
    vm = "vm-win-009"
    size = float(used.filter(pl.col("vm_name") == vm)["used_gb"][0])
    late = jobs.filter((pl.col("vm_name") == vm) & (pl.col("status") == "Completed")).sort(
        "start_time"
    )[10]
    bigger = jobs.with_columns(
        transferred_gb=pl.when(pl.col("job_id") == late["job_id"][0])
        .then(FULL_COPY_SHARE * size)
        .otherwise(pl.col("transferred_gb"))
    )
    reasons = _fit(bigger).outliers.filter(pl.col("job_id") == late["job_id"][0])["reason"]
    assert reasons.to_list() == ["full copy: new disk or re-protection (S15)"]
    smaller = bigger.with_columns(
        transferred_gb=pl.when(pl.col("job_id") == late["job_id"][0])
        .then(0.99 * FULL_COPY_SHARE * size)
        .otherwise(pl.col("transferred_gb"))
    )
    assert late["job_id"][0] not in _fit(smaller).outliers["job_id"].to_list()


def test_hours_and_vms_with_too_few_jobs_keep_the_defaults() -> None:
    jobs = read_backup_jobs(history_file("jobs.json"))
    few = jobs.filter(pl.col("vm_name") != "vm-lnx-004").vstack(
        jobs.filter(pl.col("vm_name") == "vm-lnx-004").sort("start_time").head(3)
    )
    fit = _fit(few)
    row = fit.vms.filter(pl.col("vm_name") == "vm-lnx-004").row(0, named=True)
    assert row["jobs"] == 2  # the first backup left out
    assert row["churn_gb_per_day"] is None
    assert row["throughput_mb_s_per_disk"] is None
    assert not fit.lag.filter(pl.col("hour") == 3)["fitted"][0]
    assert fit.lag_profile_hours[3] == ASSUMED[3]


def test_vms_outside_the_fleet_are_left_out() -> None:
    jobs = read_backup_jobs(history_file("jobs.json"))
    fleet = ESTATE.filter(pl.col("vm_name") != "vm-win-010")
    fit = _fit(jobs, fleet)
    assert "vm-win-010" not in fit.vms["vm_name"].to_list()
    reasons = fit.outliers.filter(pl.col("vm_name") == "vm-win-010")["reason"]
    assert set(reasons) == {"VM not in the fleet", "failed (Failed)"}
    assert reasons.len() == 35


def test_apply_fit_fills_the_two_columns_by_vm(shipped_fit: HistoryFit) -> None:
    """The fleet comes back with churn_gb_per_day and throughput_mb_s_per_disk per VM (its rows
    and columns otherwise unchanged); VMs without history keep null, or their own value."""
    whole = read_fleet()
    before = whole.clone()
    applied = apply_fit(whole, shipped_fit)
    assert whole.equals(before)
    assert applied.drop("churn_gb_per_day", "throughput_mb_s_per_disk").equals(whole)
    fitted = applied.filter(pl.col("vm_name").is_in(shipped_fit.vms["vm_name"]))
    assert fitted["churn_gb_per_day"].null_count() == 0
    assert fitted["throughput_mb_s_per_disk"].null_count() == 0
    others = applied.filter(~pl.col("vm_name").is_in(shipped_fit.vms["vm_name"]))
    assert others["churn_gb_per_day"].null_count() == others.height
    own = whole.with_columns(churn_gb_per_day=pl.lit(1.5), throughput_mb_s_per_disk=pl.lit(None))
    again = apply_fit(own, shipped_fit)
    kept = again.filter(~pl.col("vm_name").is_in(shipped_fit.vms["vm_name"]))
    assert (kept["churn_gb_per_day"] == 1.5).all()
    per_vm = again.group_by("vm_name").agg(pl.col("churn_gb_per_day").n_unique())
    assert (per_vm["churn_gb_per_day"] == 1).all()


def test_the_fitted_lag_profile_is_what_read_lag_profile_returns(shipped_fit: HistoryFit) -> None:
    profile = shipped_fit.lag_profile_hours
    assert profile.shape == (24,)
    assert profile.dtype == np.float64
    assert (profile >= 0).all()
    assert (profile <= 8).all()  # S11
    changed = np.flatnonzero(profile != ASSUMED).tolist()
    assert changed == [1, 22]


def test_describe_fit_says_what_was_fitted(shipped_fit: HistoryFit) -> None:
    lines = describe_fit(shipped_fit)
    assert lines[0].startswith("History: 350 jobs of 10 VMs from 2025-11-01 to 2025-12-05")
    text = "\n".join(lines)
    assert "10 first backup: full copy (S12)" in text
    assert "4 failed (Failed)" in text
    assert "2 slow: checksum fallback suspected (S17)" in text
    assert "lag after a snapshot at 22:00 (S11)" in text
    assert "throughput per disk: median" in text


def test_bad_tables_and_options_are_refused_by_name() -> None:
    jobs = read_backup_jobs(history_file("jobs.json"))
    with pytest.raises(ValueError, match="missing column"):
        _fit(jobs.drop("transferred_gb"))
    with pytest.raises(ValueError, match="utc_offset_hours=20"):
        _fit(jobs, utc_offset_hours=20)
    with pytest.raises(ValueError, match="lag_profile_hours"):
        fit_history(jobs, ESTATE, lag_profile_hours=[9.0] * 24)
    with pytest.raises(ValueError, match="no completed backup job"):
        _fit(jobs.with_columns(status=pl.lit("Failed")))
    with pytest.raises(ValueError, match="fit must be a HistoryFit"):
        apply_fit(ESTATE, "fit")  # type: ignore[arg-type]


def test_utc_offset_moves_the_hours(shipped_fit: HistoryFit) -> None:
    """Times are UTC; the project's hours are local: an offset moves the fitted hours."""
    moved = _fit(read_backup_jobs(history_file("jobs.json")), utc_offset_hours=1.0)
    assert np.flatnonzero(moved.lag["fitted"].to_numpy()).tolist() == [2, 23]
    assert moved.vms.select("vm_name", "churn_gb_per_day").equals(
        shipped_fit.vms.select("vm_name", "churn_gb_per_day")
    )


def test_the_sample_parameters_file_matches_the_generator_constants() -> None:
    assert TRUTH["onboarded"] == generator().ONBOARDED.isoformat()
    assert json.loads(Path(history_file("generating_parameters.json")).read_text()) == TRUTH
    assert dt.date.fromisoformat(TRUTH["onboarded"]) < generator().WINDOW[0]


def test_the_slopes_standard_error_has_n_minus_2_degrees_of_freedom() -> None:
    """With three jobs at one hour (the fewest ``min_jobs`` allows by default), the fitted slope's
    standard error is the textbook one of a straight line: residuals over n - 2 = 1 degree of
    freedom, divided by the spread of the data sent."""
    from vmbackup.calibrate import _solve

    a = np.array([10.0, 20.0, 40.0])
    y = np.array([1.5, 2.4, 4.7])  # about 0.5 h lag + a / 10, with noise
    lag, k, se_k = _solve(np.zeros(3, np.intp), np.full(3, 4), a, y, np.full(1, np.nan))
    slope, intercept = np.polyfit(a, y, 1)
    residual = y - (intercept + slope * a)
    expected = np.sqrt(residual @ residual / (3 - 2) / ((a - a.mean()) @ (a - a.mean())))
    assert k[0] == pytest.approx(slope)
    assert lag[4] == pytest.approx(intercept)
    assert se_k[0] == pytest.approx(expected)


def test_a_vm_with_one_job_has_no_day_to_day_spread() -> None:
    """A VM seen on one day only has a churn (that day's data) and no spread to speak of: 0 GB,
    not an invented one."""
    jobs = read_backup_jobs(history_file("jobs.json"))
    vm = jobs["vm_name"][0]
    ok = pl.col("status") == "Completed"
    last = jobs.filter(ok & (pl.col("vm_name") == vm)).sort("start_time").tail(1)
    one = pl.concat([jobs.filter(pl.col("vm_name") != vm), last])
    fit = _fit(one, min_jobs=1)
    row = fit.vms.filter(pl.col("vm_name") == vm)
    assert row["jobs"].item() == 1
    assert row["churn_spread_gb"].item() == 0.0
    assert row["churn_gb_per_day"].item() > 0


def test_the_fit_says_how_it_knows_each_vm_and_counts_jobs_in_every_hour() -> None:
    """A fit from the job list's task times says so for every VM; the lag table counts the jobs
    of every hour of the day, 0 where there are none (never a blank)."""
    fit = _fit(read_backup_jobs(history_file("jobs.json")))
    assert fit.vms["method"].to_list() == ["task times"] * fit.vms.height
    assert fit.lag.height == 24
    assert fit.lag["jobs"].null_count() == 0
    empty = fit.lag.filter(~pl.col("fitted"))
    assert empty.height > 0
    assert (empty["jobs"] == 0).all()


def test_lags_from_durations_are_never_negative_and_fall_back_to_the_default_throughput() -> None:
    """The durations fit: where transfer explains a job's whole duration its lag is 0 h (not
    below, not a floor above); where no VM's throughput shows through, the lag is fitted with
    the default throughput's slope."""
    from vmbackup.calibrate import _durations
    from vmbackup.transfer import DEFAULTS

    a = [10.0, 20.0, 40.0]
    exact = pl.DataFrame(
        {
            "vm_name": ["v"] * 3,
            "snapshot_hour": [4] * 3,
            "a": a,
            "duration_hours": [x / 10 for x in a],
            "prep_hours": [0.0] * 3,
            "b": [0.0] * 3,
        }
    )
    lags, ks, jobs = _durations(exact, 3)
    assert ks["k"].item() == pytest.approx(0.1)
    assert jobs["lag_hours"].to_list() == pytest.approx([0.0, 0.0, 0.0], abs=1e-9)
    falling = exact.with_columns(duration_hours=pl.Series([3.0, 2.0, 1.0]))  # no slope to see
    lags, ks, jobs = _durations(falling, 3)
    assert ks["k"].null_count() == 1
    k = 1.0 / DEFAULTS["incremental_throughput_mb_s"]
    expected = np.mean(np.array([3.0, 2.0, 1.0]) - k * np.array(a))
    assert lags["mean"].item() == pytest.approx(expected)
