"""Calibrate the job model from the estate's own history: per-VM daily churn, effective
throughput per disk, and the lag between snapshot and transfer by hour (items S9-S12, S15-S17).

The defaults of :mod:`vmbackup.transfer` (7 MB/s per disk, the peak-hour lag profile) and the
churn classes (P6) describe the service, not an estate. :func:`fit_history` reads what the
estate's jobs did (the tables of :mod:`vmbackup.records`) and fits, per VM and per hour:

1. **outliers** are recognised, left out and listed: jobs that failed or did not finish, jobs of
   VMs not in the fleet, full copies (a job sending at least half the VM's used data: its first
   backup, S12, or a new disk, S15), and days far slower than the VM's other days (a checksum
   fallback after a deleted Instant Restore snapshot, S17: more than :data:`SLOW_SIGMAS` robust
   standard deviations and :data:`SLOW_FLOOR_HOURS` above the VM's fit);
2. **churn** per VM: the mean data transferred per job [GB/day], its day-to-day spread and the
   number of jobs;
3. **throughput per disk**: the transfer model is affine in the inverse of the throughput (each
   disk sends its churn at the throughput plus a cost per extent, S9, S16; the slowest disk ends
   the job). Two evaluations of :func:`vmbackup.transfer.backup_jobs` (at 1 and 2 MB/s) give
   each job's coefficients ``a`` and ``b`` of ``transfer_hours = a / throughput + b``, so the
   fit inverts the project's own model and follows any change to it. The VM's churn is split
   over its disks by used data (as the fleet simulation does). With task times (the ``Transfer
   data to vault`` task), ``throughput = sum(a) / sum(transfer_hours - b)``;
4. **lag by hour** (S11): with task times, the wait from the snapshot to the transfer start;
   otherwise the residual of duration minus preparation and transfer: the least-squares fit of
   ``duration - preparation - b = lag[snapshot hour] + a / throughput[VM]`` over every job,
   which separates a VM's throughput from the lag of its hour through the day-to-day changes in
   churn. Hours with fewer than ``min_jobs`` jobs keep the assumed profile.

Times of day are the job's start in UTC plus ``utc_offset_hours`` (the project's hours are
local). *Assumptions*: churn spreads over a VM's disks by their used data; the extents follow
``fragmentation`` as in the fleet simulation (0.3).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from vmbackup._checks import (
    Column,
    bounded,
    check_frame,
    instance,
    non_negative_array,
    whole,
)
from vmbackup.schema import fleet_columns
from vmbackup.transfer import DEFAULTS, MAX_LAG_HOURS, backup_jobs, extents_for

__all__ = [
    "COMPLETED",
    "FULL_COPY_SHARE",
    "JOB_COLUMNS",
    "SLOW_FLOOR_HOURS",
    "SLOW_SIGMAS",
    "HistoryFit",
    "apply_fit",
    "describe_fit",
    "fit_history",
]

#: What a job-history table holds (``vmbackup.records`` returns it; :func:`fit_history` takes it).
JOB_COLUMNS: dict[str, Column] = {
    "job_id": Column("str"),
    "vm_name": Column("str"),
    "operation": Column("str"),
    "status": Column("str"),
    "start_time": Column("datetime"),
    "end_time": Column("datetime", nullable=True),
    "duration_hours": Column("float", low=0, nullable=True),
    "snapshot_hours": Column("float", low=0, nullable=True),
    "transfer_start": Column("datetime", nullable=True),
    "transfer_hours": Column("float", low=0, nullable=True),
    "transferred_gb": Column("float", low=0, nullable=True),
    "where": Column("str"),
}
#: Job statuses of a finished backup whose numbers count (the REST API's words).
COMPLETED = ("Completed", "CompletedWithWarnings")
#: A job sending at least this share of the VM's used data is a full copy (S12, S15); daily
#: churn is typically 2-7% (P6).
FULL_COPY_SHARE = 0.5
#: A job this many robust standard deviations slower than its VM's fit is an outlier (S17) ...
SLOW_SIGMAS = 6.0
#: ... and at least this much slower [h].
SLOW_FLOOR_HOURS = 0.5
#: A throughput fitted from durations whose standard error exceeds this share of it is not
#: identifiable (the lag's day-to-day spread hides the transfer) and is not reported.
MAX_RELATIVE_ERROR = 0.5
#: The most throughput a disk is credited with [MB/s] (a fit above it is not believable).
MAX_THROUGHPUT_MB_S = 10_000.0
_FLEET = fleet_columns("vm_name", "disk_name", "disk_role", "used_gb", "allocated_gb")


@dataclass(frozen=True)
class HistoryFit:
    """What :func:`fit_history` found.

    Attributes
    ----------
    vms
        One row per VM with history: ``vm_name``, ``jobs`` (used in the fit), ``churn_gb_per_day``
        (mean data per job [GB]), ``churn_spread_gb`` (its day-to-day standard deviation [GB]),
        ``throughput_mb_s_per_disk`` [MB/s] (null where too few jobs or not identifiable),
        ``throughput_spread_mb_s`` (standard deviation of the per-job values with task times,
        the standard error of the fit from durations [MB/s]), ``method`` (``"task times"`` or
        ``"durations"``), ``first_backup`` (date of the VM's first full copy, null if none).
    lag
        One row per hour of the day: ``hour``, ``jobs``, ``lag_hours`` (fitted, or the assumed
        value where too few jobs), ``spread_hours`` (standard deviation of the jobs' lags, null
        where not fitted), ``assumed_hours``, ``fitted``.
    lag_profile_hours
        The profile to plan with: 24 values [h], fitted hours replaced (as
        ``vmbackup.data.read_lag_profile`` returns them).
    outliers
        Jobs left out: ``job_id``, ``vm_name``, ``start_time``, ``reason``, ``where``.
    jobs
        The jobs used: ``job_id``, ``vm_name``, ``start_time``, ``snapshot_hour``, ``sent_gb``,
        ``measured_hours`` (duration), ``modelled_hours`` (the fitted model),
        ``default_hours`` (the model with the defaults and the assumed lag), ``lag_hours``
        (measured, or the residual estimate).
    method
        How the lag was fitted: ``"task times"``, ``"durations"`` or ``"both"``.
    utc_offset_hours
        Added to UTC start times to get local hours.
    skipped
        Jobs that were not backups (restores, configuration), not counted anywhere.
    """

    vms: pl.DataFrame
    lag: pl.DataFrame
    lag_profile_hours: npt.NDArray[np.float64]
    outliers: pl.DataFrame
    jobs: pl.DataFrame
    method: str
    utc_offset_hours: float
    skipped: int = 0


def _profile(lag_profile_hours: npt.ArrayLike) -> npt.NDArray[np.float64]:
    profile = non_negative_array("lag_profile_hours", lag_profile_hours)
    if profile.shape != (24,) or (profile > MAX_LAG_HOURS).any():
        raise ValueError("lag_profile_hours must hold 24 values between 0 and 8 (S11)")
    return profile


def fit_history(
    jobs: pl.DataFrame,
    fleet: pl.DataFrame,
    *,
    lag_profile_hours: npt.ArrayLike,
    utc_offset_hours: float = 0.0,
    fragmentation: float = 0.3,
    min_jobs: int = 3,
) -> HistoryFit:
    """Fit churn, throughput per disk and the lag profile from job history (see module notes).

    Parameters
    ----------
    jobs
        The job table of :mod:`vmbackup.records` (:data:`JOB_COLUMNS`).
    fleet
        The estate, one row per disk (the fleet schema): which disks each VM backs up.
    lag_profile_hours
        The assumed profile [h] (24 values, at most 8, S11): kept for hours the history does
        not cover, and shown beside the fit.
    utc_offset_hours
        Local time minus UTC [h], for the hour of each job.
    fragmentation
        How scattered the changes are (0 contiguous .. 1), for the per-extent cost (S16).
    min_jobs
        Jobs a VM (or an hour) needs before its figures are fitted.

    Returns
    -------
    HistoryFit

    Raises
    ------
    ValueError
        A column of ``jobs`` or ``fleet`` missing or holding a bad value (naming it), or no job
        left to fit.
    """
    jobs = _utc(check_frame(jobs, JOB_COLUMNS, name="jobs", label="where"))
    fleet = check_frame(fleet, _FLEET, name="fleet", label="disk_name")
    assumed = _profile(lag_profile_hours)
    offset = bounded("utc_offset_hours", utc_offset_hours, -14, 14)
    share = bounded("fragmentation", fragmentation, 0, 1)
    least = whole("min_jobs", min_jobs, 1, 10_000)

    disks = fleet.filter(pl.col("disk_role") != "temp").select(
        "vm_name", "disk_name", "used_gb", "allocated_gb"
    )
    used = disks.group_by("vm_name").agg(vm_used_gb=pl.col("used_gb").sum(), disks=pl.len())
    backups = jobs.filter(pl.col("operation").str.to_lowercase() == "backup")
    skipped = jobs.height - backups.height
    labelled = _label(backups.join(used, on="vm_name", how="left"))
    outliers = labelled.filter(pl.col("reason").is_not_null())
    good = labelled.filter(pl.col("reason").is_null()).with_columns(
        local_hour=((pl.col("start_time").dt.epoch("us") / 3.6e9 + offset) % 24).clip(
            0.0, np.nextafter(24.0, 0.0)
        )
    )
    coefficients = _coefficients(good, disks, share)
    good = good.join(coefficients, on="job_id", how="left")

    fitted = _fit(good, assumed, least)
    slow = fitted.jobs.filter(pl.col("slow"))
    if slow.height:  # refit without the slow days (S17)
        slow_rows = labelled.join(slow.select("job_id"), on="job_id", how="semi").with_columns(
            reason=pl.lit("slow: checksum fallback suspected (S17)")
        )
        outliers = pl.concat([outliers, slow_rows])
        good = good.join(slow.select("job_id"), on="job_id", how="anti")
        fitted = _fit(good, assumed, least)
    if good.height == 0:
        raise ValueError(
            f"jobs: no completed backup job of a VM in the fleet left to fit "
            f"({jobs.height} jobs, {outliers.height} left out)"
        )
    firsts = (
        outliers.filter(pl.col("reason").str.starts_with("first backup"))
        .group_by("vm_name")
        .agg(first_backup=pl.col("start_time").min().dt.date())
    )
    vms = (
        fitted.vms.join(firsts, on="vm_name", how="left")
        .sort("vm_name")
        .select(
            "vm_name",
            "jobs",
            "churn_gb_per_day",
            "churn_spread_gb",
            "throughput_mb_s_per_disk",
            "throughput_spread_mb_s",
            "method",
            "first_backup",
        )
    )
    return HistoryFit(
        vms=vms,
        lag=fitted.lag,
        lag_profile_hours=fitted.lag["lag_hours"].to_numpy().astype(np.float64),
        outliers=outliers.sort("start_time").select(
            "job_id", "vm_name", "start_time", "reason", "where"
        ),
        jobs=fitted.jobs.drop("slow"),
        method=fitted.method,
        utc_offset_hours=offset,
        skipped=skipped,
    )


def _utc(jobs: pl.DataFrame) -> pl.DataFrame:
    """The job table's times as UTC datetimes in microseconds (naive times taken as UTC)."""
    columns = []
    for name in ("start_time", "end_time", "transfer_start"):
        dtype = jobs.schema[name]
        column = pl.col(name)
        if isinstance(dtype, pl.Datetime):
            column = (
                column.dt.replace_time_zone("UTC")
                if dtype.time_zone is None
                else column.dt.convert_time_zone("UTC")
            )
        columns.append(column.cast(pl.Datetime("us", "UTC")))
    return jobs.with_columns(columns)


def _label(backups: pl.DataFrame) -> pl.DataFrame:
    """Each backup job with the reason it is left out (null when it is used)."""
    status = pl.col("status")
    full = pl.col("transferred_gb") >= FULL_COPY_SHARE * pl.col("vm_used_gb")
    first_of_vm = pl.col("start_time") == pl.col("start_time").min().over("vm_name")
    reason = (
        pl.when(status.str.to_lowercase() == "inprogress")
        .then(pl.lit("not finished (InProgress)"))
        .when(~status.is_in(list(COMPLETED)))
        .then(pl.lit("failed (") + status + pl.lit(")"))
        .when(pl.col("vm_used_gb").is_null())
        .then(pl.lit("VM not in the fleet"))
        .when(pl.col("transferred_gb").is_null())
        .then(pl.lit("no data size recorded"))
        .when(pl.col("duration_hours").is_null())
        .then(pl.lit("no duration recorded"))
        .when(full & first_of_vm)
        .then(pl.lit("first backup: full copy (S12)"))
        .when(full)
        .then(pl.lit("full copy: new disk or re-protection (S15)"))
    )
    return backups.with_columns(reason=reason)


def _coefficients(good: pl.DataFrame, disks: pl.DataFrame, fragmentation: float) -> pl.DataFrame:
    """Each job's preparation [h] and the coefficients of ``transfer_hours = a / T + b`` (T in
    MB/s), from the transfer model evaluated at two throughputs; and the model's duration with
    the defaults and a zero lag (``default_no_lag_hours``)."""
    schema = {
        "job_id": pl.String,
        "prep_hours": pl.Float64,
        "a": pl.Float64,
        "b": pl.Float64,
        "default_no_lag_hours": pl.Float64,
    }
    if good.height == 0:
        return pl.DataFrame(schema=schema)
    rows = good.select("job_id", "vm_name", "transferred_gb", "local_hour").join(
        disks, on="vm_name"
    )
    count = pl.len().over("job_id")
    split = (
        pl.when(pl.col("vm_used_gb") > 0)
        .then(pl.col("used_gb") / pl.col("vm_used_gb"))
        .otherwise(1.0 / count)
    )
    rows = rows.join(good.select("job_id", "vm_used_gb"), on="job_id", how="left").with_columns(
        churn_gb=pl.col("transferred_gb") * split
    )
    table = rows.select(
        vm=pl.col("job_id"),
        disk=pl.col("disk_name"),
        used_gb=pl.col("used_gb"),
        allocated_gb=pl.col("allocated_gb"),
        churn_gb=pl.col("churn_gb"),
        extents=pl.Series(extents_for(rows["churn_gb"].to_numpy(), fragmentation)),
        new_disk=pl.lit(False),
        start_hour=pl.col("local_hour"),
        first_backup=pl.lit(False),
        snapshot_missing=pl.lit(False),
    )
    zero = np.zeros(24)
    one = backup_jobs(table, zero, incremental_throughput_mb_s=1.0)
    two = backup_jobs(table, zero, incremental_throughput_mb_s=2.0)
    default = backup_jobs(table, zero)
    h1 = (one["end"] - one["transfer_start"]).to_numpy()
    h2 = (two["end"] - two["transfer_start"]).to_numpy()
    return pl.DataFrame(
        {
            "job_id": one["vm"],
            "prep_hours": (one["snapshot_at"] - one["start_hour"]).to_numpy(),
            "a": 2 * (h1 - h2),
            "b": np.maximum(2 * h2 - h1, 0.0),
            "default_no_lag_hours": default["total_hours"].to_numpy(),
        },
        schema=schema,
    )


@dataclass(frozen=True)
class _Fitted:
    vms: pl.DataFrame
    lag: pl.DataFrame
    jobs: pl.DataFrame
    method: str


def _fit(good: pl.DataFrame, assumed: npt.NDArray[np.float64], least: int) -> _Fitted:
    """Churn, throughput and lag from the good jobs (with their model coefficients)."""
    good = good.with_columns(
        snapshot_hour=((pl.col("local_hour") + pl.col("prep_hours")).floor() % 24).cast(pl.Int64),
        task=pl.col("transfer_hours").is_not_null() & pl.col("transfer_start").is_not_null(),
    )
    per_vm = good.group_by("vm_name").agg(
        jobs=pl.len(),
        churn_gb_per_day=pl.col("transferred_gb").mean(),
        churn_spread_gb=pl.col("transferred_gb").std().fill_null(0.0),
        task_jobs=pl.col("task").sum(),
    )
    by_task = per_vm.filter(pl.col("task_jobs") >= least)["vm_name"]
    task = good.filter(pl.col("vm_name").is_in(by_task.implode()) & pl.col("task"))
    rest = good.filter(~pl.col("vm_name").is_in(by_task.implode()))

    # throughput from task times: sum(a) / sum(transfer - b); lag measured per job
    task = task.with_columns(
        lag_hours=(
            (pl.col("transfer_start") - pl.col("start_time")).dt.total_microseconds() / 3.6e9
            - pl.col("prep_hours")
        ).clip(0.0, None),
        net=pl.col("transfer_hours") - pl.col("b"),
    )
    task_k = task.group_by("vm_name").agg(
        k=pl.col("net").sum() / pl.col("a").sum(),
        per_job=(pl.col("a") / pl.col("net")).filter(pl.col("net") > 0).std(),
    )
    task = task.join(task_k, on="vm_name").with_columns(
        residual=pl.col("net") - pl.col("a") * pl.col("k")
    )

    # throughput and lag from durations: y = lag[hour] + a k[vm], solved exactly (Schur)
    lag_rest, k_rest, rest = _durations(rest, least)
    lag_task = task.group_by("snapshot_hour").agg(
        n=pl.len(), mean=pl.col("lag_hours").mean(), spread=pl.col("lag_hours").std()
    )
    lag = _lag_table(lag_task, lag_rest, assumed, least)
    profile = lag["lag_hours"].to_numpy()

    ks = pl.concat(
        [
            task_k.select(
                "vm_name",
                "k",
                spread_k=pl.lit(None, pl.Float64),
                per_job=pl.col("per_job"),
                method=pl.lit("task times"),
            ),
            k_rest.with_columns(
                per_job=pl.lit(None, pl.Float64),
                method=pl.when(pl.col("k").is_null())
                .then(pl.lit("durations: not identifiable"))
                .otherwise(pl.lit("durations")),
            ),
        ],
        how="vertical_relaxed",
    )
    believable = (pl.col("k") > 1 / MAX_THROUGHPUT_MB_S) & pl.col("k").is_finite()
    ks = ks.with_columns(
        throughput_mb_s_per_disk=pl.when(believable).then(1 / pl.col("k")),
        throughput_spread_mb_s=pl.when(believable).then(
            pl.coalesce(pl.col("per_job"), pl.col("spread_k") / pl.col("k") ** 2)
        ),
    )
    vms = per_vm.join(ks, on="vm_name", how="left").with_columns(
        pl.col("method").fill_null("too few jobs"),
    )
    vms = vms.with_columns(
        throughput_mb_s_per_disk=pl.when(pl.col("jobs") >= least).then("throughput_mb_s_per_disk"),
        churn_gb_per_day=pl.when(pl.col("jobs") >= least).then("churn_gb_per_day"),
    )

    # the jobs with measured and modelled durations, and the slow ones (S17)
    residuals = pl.concat(
        [
            task.select("job_id", "residual", "lag_hours"),
            rest.select("job_id", "residual", "lag_hours"),
        ],
        how="vertical_relaxed",
    )
    table = good.join(residuals, on="job_id", how="left").join(
        vms.select("vm_name", "throughput_mb_s_per_disk"), on="vm_name", how="left"
    )
    lag_at = pl.lit(pl.Series(profile)).gather(pl.col("snapshot_hour"))
    assumed_at = pl.lit(pl.Series(assumed)).gather(pl.col("snapshot_hour"))
    scale = 1.4826 * (pl.col("residual") - pl.col("residual").median()).abs().median().over(
        "vm_name"
    )
    table = table.with_columns(
        measured_hours=pl.col("duration_hours"),
        modelled_hours=pl.col("prep_hours")
        + lag_at
        + pl.col("a") / pl.col("throughput_mb_s_per_disk")
        + pl.col("b"),
        default_hours=pl.col("default_no_lag_hours") + assumed_at,
        slow=(
            pl.col("residual") > pl.max_horizontal(SLOW_SIGMAS * scale, SLOW_FLOOR_HOURS)
        ).fill_null(False),
        sent_gb=pl.col("transferred_gb"),
    ).sort("start_time")
    jobs = table.select(
        "job_id",
        "vm_name",
        "start_time",
        "snapshot_hour",
        "sent_gb",
        "measured_hours",
        "modelled_hours",
        "default_hours",
        "lag_hours",
        "slow",
    )
    kinds = {k for k, n in (("task times", task.height), ("durations", rest.height)) if n}
    method = "both" if len(kinds) == 2 else (kinds.pop() if kinds else "none")
    return _Fitted(vms=vms, lag=lag, jobs=jobs, method=method)


def _durations(rest: pl.DataFrame, least: int) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Least squares of ``y = duration - prep - b = lag[hour] + a k[vm]`` over jobs without task
    times: the VM slopes are eliminated (Schur complement), the 24 lags solved, the slopes
    recovered. A VM whose slope is not identifiable (``k <= 0`` or a relative standard error
    above :data:`MAX_RELATIVE_ERROR`: the lag's day-to-day spread hides its transfer) gets no
    throughput; a second pass fixes its slope at the identified VMs' median (else the default
    throughput) so its jobs still inform the lag. Returns the lag per hour, k per VM (with its
    standard error; null k where not identifiable) and the jobs with residuals and lags."""
    empty_lag = pl.DataFrame(
        schema={"snapshot_hour": pl.Int64, "n": pl.UInt32, "mean": pl.Float64, "spread": pl.Float64}
    )
    empty_k = pl.DataFrame(schema={"vm_name": pl.String, "k": pl.Float64, "spread_k": pl.Float64})
    counts = rest.group_by("vm_name").agg(n=pl.len())
    rest = rest.join(counts, on="vm_name").filter(pl.col("n") >= least)
    if rest.height == 0:
        return (
            empty_lag,
            empty_k,
            rest.with_columns(
                residual=pl.lit(None, pl.Float64), lag_hours=pl.lit(None, pl.Float64)
            ),
        )
    vm_codes, vm_index = np.unique(rest["vm_name"].to_numpy(), return_inverse=True)
    hour = rest["snapshot_hour"].to_numpy()
    a = rest["a"].to_numpy()
    y = (rest["duration_hours"] - rest["prep_hours"] - rest["b"]).to_numpy()
    fixed = np.full(vm_codes.size, np.nan)
    lag, k, se_k = _solve(vm_index, hour, a, y, fixed)
    identified = (k > 0) & (se_k < MAX_RELATIVE_ERROR * k)
    if not identified.all():
        pooled = (
            float(np.median(k[identified]))
            if identified.any()
            else 1.0 / DEFAULTS["incremental_throughput_mb_s"]
        )
        fixed = np.where(identified, np.nan, pooled)
        lag, k, se_k = _solve(vm_index, hour, a, y, fixed)
    residual = y - lag[hour] - a * k[vm_index]
    jobs = rest.with_columns(
        residual=pl.Series(residual), lag_hours=pl.Series(np.maximum(y - a * k[vm_index], 0.0))
    )
    lags = jobs.group_by("snapshot_hour").agg(n=pl.len(), spread=pl.col("lag_hours").std())
    lags = lags.with_columns(mean=pl.Series(lag[lags["snapshot_hour"].to_numpy()]))
    ks = pl.DataFrame(
        {
            "vm_name": vm_codes.astype(str),
            "k": np.where(np.isnan(fixed), k, np.nan),
            "spread_k": se_k,
        },
        schema={"vm_name": pl.String, "k": pl.Float64, "spread_k": pl.Float64},
    ).with_columns(pl.col("k").fill_nan(None))
    return lags.select("snapshot_hour", "n", "mean", "spread"), ks, jobs


def _solve(
    vm: npt.NDArray[np.intp],
    hour: npt.NDArray[np.int64],
    a: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
    fixed: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Least squares of ``y = lag[hour] + a k[vm]`` with the slopes of some VMs fixed (not NaN
    in ``fixed``): the free slopes eliminated, the lags solved, the slopes recovered. Returns
    the 24 lags, the slopes and their standard errors."""
    vms = fixed.size
    free = np.isnan(fixed)[vm]
    target_y = np.where(free, y, y - a * np.nan_to_num(fixed)[vm])
    s = np.bincount(vm, np.where(free, a * a, 0.0), vms)
    c = np.bincount(vm, np.where(free, a * target_y, 0.0), vms)
    m = np.zeros((vms, 24))
    np.add.at(m, (vm[free], hour[free]), a[free])
    safe = np.where(s > 0, s, 1.0)
    design = np.zeros((hour.size, 24))
    design[free] = -(a[free] / safe[vm[free]])[:, None] * m[vm[free]]
    design[np.arange(hour.size), hour] += 1.0
    target = np.where(free, target_y - a * c[vm] / safe[vm], target_y)
    used = np.unique(hour)
    solution, *_ = np.linalg.lstsq(design[:, used], target, rcond=None)
    lag = np.zeros(24)
    lag[used] = solution
    k = np.where(np.isnan(fixed), (c - m @ lag) / safe, fixed)
    residual = y - lag[hour] - a * k[vm]
    n = np.bincount(vm, minlength=vms)
    sigma2 = np.bincount(vm, residual**2, vms) / np.maximum(n - 2, 1)
    a_mean = np.bincount(vm, a, vms) / np.maximum(n, 1)
    spread_a = np.bincount(vm, (a - a_mean[vm]) ** 2, vms)
    se_k = np.sqrt(sigma2 / np.where(spread_a > 0, spread_a, np.inf))
    return lag, k, se_k


def _lag_table(
    from_tasks: pl.DataFrame,
    from_durations: pl.DataFrame,
    assumed: npt.NDArray[np.float64],
    least: int,
) -> pl.DataFrame:
    """The lag per hour: measured from task times where enough jobs show it, else the
    durations fit, else the assumed value; clipped to [0, 8] h (S11)."""
    hours = pl.DataFrame({"hour": np.arange(24, dtype=np.int64), "assumed_hours": assumed})
    task = from_tasks.rename({"snapshot_hour": "hour", "n": "n_t", "mean": "m_t", "spread": "s_t"})
    dur = from_durations.rename(
        {"snapshot_hour": "hour", "n": "n_d", "mean": "m_d", "spread": "s_d"}
    )
    table = hours.join(task, on="hour", how="left").join(dur, on="hour", how="left")
    use_task = pl.col("n_t").fill_null(0) >= least
    use_dur = pl.col("n_d").fill_null(0) >= least
    return table.select(
        "hour",
        jobs=pl.when(use_task)
        .then(pl.col("n_t"))
        .when(use_dur)
        .then(pl.col("n_d"))
        .otherwise(pl.col("n_t").fill_null(0) + pl.col("n_d").fill_null(0))
        .cast(pl.Int64),
        lag_hours=pl.when(use_task)
        .then(pl.col("m_t"))
        .when(use_dur)
        .then(pl.col("m_d"))
        .otherwise(pl.col("assumed_hours"))
        .clip(0.0, MAX_LAG_HOURS),
        spread_hours=pl.when(use_task).then(pl.col("s_t")).when(use_dur).then(pl.col("s_d")),
        assumed_hours="assumed_hours",
        fitted=use_task | use_dur,
    )


def apply_fit(fleet: pl.DataFrame, fit: HistoryFit) -> pl.DataFrame:
    """The fleet with each VM's fitted churn and throughput in ``churn_gb_per_day`` [GB/day] and
    ``throughput_mb_s_per_disk`` [MB/s] (new frame; the rows and other columns unchanged).

    VMs without a fitted value keep the column's value where the fleet has one, else null (the
    planner then uses the churn class and the default throughput).

    Examples
    --------
    >>> fleet = pl.DataFrame({"vm_name": ["a", "a", "b"], "disk_name": ["a0", "a1", "b0"]})
    >>> vms = pl.DataFrame({"vm_name": ["a"], "churn_gb_per_day": [2.5],
    ...                     "throughput_mb_s_per_disk": [9.0]})
    >>> fit = HistoryFit(vms, pl.DataFrame(), np.zeros(24), pl.DataFrame(), pl.DataFrame(),
    ...                  "task times", 0.0)
    >>> apply_fit(fleet, fit)["churn_gb_per_day"].to_list()
    [2.5, 2.5, None]
    """
    instance("fit", fit, HistoryFit, "a HistoryFit (vmbackup.calibrate.fit_history)")
    if not isinstance(fleet, pl.DataFrame) or "vm_name" not in fleet.columns:
        raise ValueError("fleet must be a fleet table (a polars DataFrame with vm_name)")
    columns = ("churn_gb_per_day", "throughput_mb_s_per_disk")
    fitted = fit.vms.select(
        "vm_name", *(pl.col(c).cast(pl.Float64).alias(f"_fit_{c}") for c in columns)
    )
    result = fleet.join(fitted, on="vm_name", how="left", maintain_order="left")
    updates = []
    for column in columns:
        own = (
            pl.col(column).cast(pl.Float64) if column in fleet.columns else pl.lit(None, pl.Float64)
        )
        updates.append(pl.coalesce(pl.col(f"_fit_{column}"), own).alias(column))
    return result.with_columns(updates).drop([f"_fit_{c}" for c in columns])


def describe_fit(fit: HistoryFit) -> list[str]:
    """What was fitted, as lines of text for the command line.

    >>> from vmbackup.data import dataset_path, read_fleet, read_lag_profile
    >>> from vmbackup.records import read_backup_jobs
    >>> fit = fit_history(read_backup_jobs(dataset_path("history/jobs.json")),
    ...                   read_fleet(dataset_path("history/estate.csv")),
    ...                   lag_profile_hours=read_lag_profile())
    >>> print(describe_fit(fit)[0])
    History: 350 jobs of 10 VMs from 2025-11-01 to 2025-12-05; 334 used, 16 left out
    """
    instance("fit", fit, HistoryFit, "a HistoryFit (vmbackup.calibrate.fit_history)")
    used, left = fit.jobs.height, fit.outliers.height
    times = pl.concat([fit.jobs["start_time"], fit.outliers["start_time"]])
    first, last = times.min(), times.max()
    span = (
        f" from {first:%Y-%m-%d} to {last:%Y-%m-%d}"
        if isinstance(first, dt.datetime) and isinstance(last, dt.datetime)
        else ""
    )
    lines = [
        f"History: {used + left:,} jobs of {fit.vms.height} VMs{span}; {used:,} used, "
        f"{left:,} left out"
    ]
    if left:
        reasons = fit.outliers.group_by("reason").len().sort("len", descending=True)
        lines.append(
            "  left out: "
            + "; ".join(f"{row['len']} {row['reason']}" for row in reasons.iter_rows(named=True))
        )
    fitted = fit.vms.filter(pl.col("churn_gb_per_day").is_not_null())
    if fitted.height:
        churn = fitted["churn_gb_per_day"]
        lines.append(
            f"  churn per VM (mean per job): median {_num(churn.median())} GB/day, "
            f"{_num(churn.min())} to {_num(churn.max())} over {fitted.height} VMs"
        )
    rates = fit.vms.filter(pl.col("throughput_mb_s_per_disk").is_not_null())
    if rates.height:
        rate = rates["throughput_mb_s_per_disk"]
        spread = (rates["throughput_spread_mb_s"] / rate).median()
        lines.append(
            f"  throughput per disk: median {_num(rate.median())} MB/s, {_num(rate.min())} to "
            f"{_num(rate.max())} (typical spread ±{100 * _float(spread):.0f}%; default "
            f"{DEFAULTS['incremental_throughput_mb_s']:g} MB/s)"
        )
    for row in fit.lag.filter(pl.col("fitted")).iter_rows(named=True):
        spread_text = f" ± {row['spread_hours']:.2f}" if row["spread_hours"] is not None else ""
        lines.append(
            f"  lag after a snapshot at {row['hour']:02d}:00 (S11): {row['lag_hours']:.2f} h"
            f"{spread_text} from {row['jobs']} jobs ({fit.method}); assumed "
            f"{row['assumed_hours']:.2f} h"
        )
    return lines


def _float(value: Any) -> float:
    return float(value) if value is not None else float("nan")


def _num(value: Any) -> str:
    number = _float(value)
    return f"{number:.3g}" if abs(number) < 1000 else f"{number:,.0f}"
