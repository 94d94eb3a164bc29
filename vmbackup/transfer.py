"""The timeline of a VM backup job: preparation, snapshot, wait for the vault, parallel disk
transfer, and the 24-hour window (items S9, S11, S12, S14-S18).

The job of one VM runs in phases:

1. **preparation** (S14): installing the backup extension on the first backup, then triggering
   the snapshot;
2. **wait for the vault** (S11): the snapshot waits for a transfer slot; the lag depends on the
   hour the snapshot is taken (a 24-value profile, at most 8 h);
3. **transfer**, every disk in parallel (S9), each disk sending:
   - on the first backup (S12), or for a newly added disk (S15), all its used data at the
     initial throughput;
   - otherwise its changed data (churn) at the incremental throughput, plus a fixed cost per
     extent, so scattered changes are slower than contiguous ones (S16);
   - when the Instant Restore snapshot was deleted (S17), a checksum comparison that first
     reads the whole allocated disk; such a job fails when it passes a time limit.

The job ends when its slowest disk ends; it meets the window when it takes at most 24 h.

:data:`DEFAULTS` holds every figure that is not a fact of the service, with its source; they are
calibrated so that the service description's statements hold (each is a test):

- ``incremental_throughput_mb_s = 7``: S18 says more than 200 GB of daily churn takes more than
  8 h, an effective rate of at most about 7 MB/s per disk including change identification
  (X2's 640 Mbps is a best case that S18 shows is not reached);
- ``initial_throughput_mb_s = 20``: X2's 160 Mbps for an initial backup; a 2 TB disk then
  takes about 28 h (S12);
- ``per_extent_seconds = 0.002``: assumption, one request round trip per extent;
- ``checksum_scan_mb_s = 40``: assumption; a 4 TB disk takes about 28 h to scan (S17);
- ``checksum_fail_after_hours = 48``: assumption, when a checksum-mode job is declared failed;
- ``extension_install_hours = 0.5`` and ``snapshot_hours = 0.25``: assumptions (S14).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from vmbackup._checks import (
    Column,
    check_frame,
    flag,
    non_negative,
    non_negative_array,
    positive,
    whole,
)

__all__ = [
    "DEFAULTS",
    "WINDOW_HOURS",
    "Timeline",
    "backup_jobs",
    "backup_timeline",
    "extents_for",
]

#: S11: a daily backup job should finish within 24 hours.
WINDOW_HOURS = 24.0
#: S11: the lag between snapshot and transfer is at most 8 hours.
MAX_LAG_HOURS = 8.0
DEFAULTS: dict[str, float] = {
    "extension_install_hours": 0.5,
    "snapshot_hours": 0.25,
    "initial_throughput_mb_s": 20.0,
    "incremental_throughput_mb_s": 7.0,
    "per_extent_seconds": 0.002,
    "checksum_scan_mb_s": 40.0,
    "checksum_fail_after_hours": 48.0,
}
DISK_COLUMNS = ("vm", "disk", "used_gb", "allocated_gb", "churn_gb", "extents", "new_disk")
VM_COLUMNS = ("start_hour", "first_backup", "snapshot_missing")
MB_PER_GB = 1000.0


def extents_for(
    churn_gb: npt.ArrayLike, fragmentation: npt.ArrayLike, block_size_bytes: int = 65536
) -> npt.NDArray[np.float64]:
    """Extents that ``churn_gb`` of changes form at a given fragmentation (0 contiguous, 1 every
    block apart): ``1 + fragmentation x (changed blocks - 1)``.

    >>> extents_for([0.0, 6.5536, 6.5536], [0.5, 0.0, 1.0], 65536).tolist()
    [0.0, 1.0, 100000.0]
    """
    churn = non_negative_array("churn_gb", churn_gb)
    share = non_negative_array("fragmentation", fragmentation)
    if (share > 1).any():
        raise ValueError(f"fragmentation={share.max()} must be between 0 and 1")
    size = whole("block_size_bytes", block_size_bytes, 1, 2**40)
    try:
        churn, share = np.broadcast_arrays(churn, share)
    except ValueError:
        raise ValueError(
            f"churn_gb (shape {churn.shape}) and fragmentation (shape {share.shape}) must be "
            "scalars or arrays of one length"
        ) from None
    blocks = np.ceil(churn * 1e9 / size)
    return np.where(blocks > 0, 1 + share * np.maximum(blocks - 1, 0), 0.0)


#: What each column of a disk table must hold (one row per disk to back up).
DISK_TABLE: dict[str, Column] = {
    "vm": Column("str"),
    "disk": Column("str"),
    "used_gb": Column("float", low=0),
    "allocated_gb": Column("float", low=0),
    "churn_gb": Column("float", low=0),
    "extents": Column("float", low=0),
    "new_disk": Column("bool"),
    "start_hour": Column("float", low=0, high=24, high_open=True),
    "first_backup": Column("bool"),
    "snapshot_missing": Column("bool"),
}


def _lag_profile(lag_profile_hours: npt.ArrayLike) -> npt.NDArray[np.float64]:
    profile = non_negative_array("lag_profile_hours", lag_profile_hours)
    if profile.shape != (24,):
        raise ValueError(
            f"lag_profile_hours has shape {profile.shape}; it needs one value per hour (24)"
        )
    if (profile > MAX_LAG_HOURS).any():
        raise ValueError(f"lag_profile_hours={profile.max()} exceeds the {MAX_LAG_HOURS} h of S11")
    return profile


def _validate(
    frame: pl.DataFrame, lag_profile_hours: npt.ArrayLike
) -> tuple[pl.DataFrame, npt.NDArray[np.float64]]:
    frame = check_frame(frame, DISK_TABLE, name="disks", label="disk")
    if frame.height == 0:
        raise ValueError("disks: the table holds no disk; a backup job needs at least one")
    too_full = frame.filter(pl.col("used_gb") > pl.col("allocated_gb"))
    if too_full.height:
        row = too_full.row(0, named=True)
        raise ValueError(
            f"disk {row['disk']!r} of {row['vm']!r}: used_gb={row['used_gb']} exceeds "
            f"allocated_gb={row['allocated_gb']}"
        )
    return frame, _lag_profile(lag_profile_hours)


def _disk_phases(
    frame: pl.DataFrame, profile: npt.NDArray[np.float64], p: dict[str, float]
) -> pl.DataFrame:
    """Every disk's phase boundaries [h since the VM's local midnight] as polars expressions."""
    full_copy = pl.col("first_backup") | pl.col("new_disk")
    checksum = pl.col("snapshot_missing") & ~full_copy
    prep = pl.lit(p["snapshot_hours"]) + pl.when(pl.col("first_backup")).then(
        p["extension_install_hours"]
    ).otherwise(0.0)
    snapshot_at = pl.col("start_hour") + prep
    lag = pl.lit(pl.Series(profile)).gather((snapshot_at.floor().cast(pl.Int64)) % 24)
    send_gb = pl.when(full_copy).then(pl.col("used_gb")).otherwise(pl.col("churn_gb"))
    rate = (
        pl.when(full_copy)
        .then(p["initial_throughput_mb_s"])
        .otherwise(p["incremental_throughput_mb_s"])
    )
    extent_hours = (
        pl.when(full_copy).then(0.0).otherwise(pl.col("extents") * p["per_extent_seconds"] / 3600)
    )
    scan_hours = (
        pl.when(checksum)
        .then(pl.col("allocated_gb") * MB_PER_GB / p["checksum_scan_mb_s"] / 3600)
        .otherwise(0.0)
    )
    return frame.with_columns(
        snapshot_at=snapshot_at,
        transfer_start=snapshot_at + lag,
        scan_hours=scan_hours,
        send_hours=send_gb * MB_PER_GB / rate / 3600 + extent_hours,
        sent_gb=send_gb,
        mode=pl.when(pl.col("first_backup"))
        .then(pl.lit("first backup"))
        .when(pl.col("new_disk"))
        .then(pl.lit("new disk"))
        .when(checksum)
        .then(pl.lit("checksum"))
        .otherwise(pl.lit("incremental")),
    ).with_columns(end=pl.col("transfer_start") + pl.col("scan_hours") + pl.col("send_hours"))


def backup_jobs(
    disks: pl.DataFrame, lag_profile_hours: npt.ArrayLike, **overrides: float
) -> pl.DataFrame:
    """The backup job of every VM at once (vectorised; one row per disk in, one per VM out).

    Parameters
    ----------
    disks
        One row per disk to back up: ``vm``, ``disk``, ``used_gb``, ``allocated_gb``,
        ``churn_gb`` (changed data since the last backup), ``extents`` (runs the changes form),
        ``new_disk``; and the VM's ``start_hour`` [h], ``first_backup``, ``snapshot_missing``
        repeated on its disks.
    lag_profile_hours
        Wait for the vault by the hour the snapshot is taken: 24 values [h], at most 8.
    overrides
        Any of :data:`DEFAULTS`.

    Returns
    -------
    polars.DataFrame
        Per VM, in order of appearance: ``vm``, ``start_hour``, ``snapshot_at``,
        ``transfer_start``, ``end`` [h since the start day's midnight], ``total_hours``,
        ``sent_gb``, ``slowest_disk``, ``met_window``, ``failed``.
    """
    phases, params = _checked_phases(disks, lag_profile_hours, overrides)
    return _jobs(phases, params)


def _checked_phases(
    disks: pl.DataFrame, lag_profile_hours: npt.ArrayLike, overrides: dict[str, float]
) -> tuple[pl.DataFrame, dict[str, float]]:
    """Validate the inputs and options, then compute every disk's phases once."""
    unknown = set(overrides) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown option(s) {sorted(unknown)}; choose from {list(DEFAULTS)}")
    # rates divide: they must be > 0; durations may be 0; nothing may be infinite
    params = DEFAULTS | {
        k: positive(k, v) if k.endswith("_mb_s") else non_negative(k, v)
        for k, v in overrides.items()
    }
    frame, profile = _validate(disks, lag_profile_hours)
    return _disk_phases(frame, profile, params), params


def _jobs(phases: pl.DataFrame, params: dict[str, float]) -> pl.DataFrame:
    """Per-VM jobs from per-disk phases: the slowest disk ends the job."""
    jobs = phases.group_by("vm", maintain_order=True).agg(
        pl.col("start_hour", "snapshot_at", "transfer_start").first(),
        pl.col("end").max(),
        pl.col("sent_gb").sum(),
        slowest_disk=pl.col("disk").sort_by("end").last(),
        checksum=(pl.col("mode") == "checksum").any(),
    )
    total = pl.col("end") - pl.col("start_hour")
    return jobs.with_columns(
        total_hours=total,
        met_window=total <= WINDOW_HOURS,
        failed=pl.col("checksum") & (total > params["checksum_fail_after_hours"]),
    ).drop("checksum")


@dataclass(frozen=True)
class Timeline:
    """One VM's backup job.

    Attributes
    ----------
    phases
        One row per phase and disk: ``disk``, ``phase`` (``preparation``, ``wait for vault``,
        ``checksum scan``, ``transfer``), ``start_hour``, ``end_hour`` [h since midnight of the
        start day], ``detail``.
    total_hours
        From the scheduled start to the end of the slowest disk [h].
    met_window
        Whether the job took at most 24 h (S11).
    failed
        Whether a checksum-mode job ran past its limit (S17).
    notes
        What shaped the job, each naming its item.
    """

    phases: pl.DataFrame
    total_hours: float
    met_window: bool
    failed: bool
    notes: tuple[str, ...]


def backup_timeline(
    disks: pl.DataFrame | list[dict[str, Any]],
    *,
    start_hour: float,
    lag_profile_hours: npt.ArrayLike,
    first_backup: bool = False,
    snapshot_missing: bool = False,
    **overrides: float,
) -> Timeline:
    """The phases of one VM's backup job, for a Gantt chart (same model as :func:`backup_jobs`).

    Parameters
    ----------
    disks
        The VM's disks: ``disk``, ``used_gb``, ``allocated_gb``, ``churn_gb``, ``extents`` and
        optionally ``new_disk`` (default False).
    start_hour
        Scheduled start [h since midnight].
    lag_profile_hours, overrides
        As for :func:`backup_jobs`.
    first_backup, snapshot_missing
        The VM's first backup (S12, installs the extension, S14); Instant Restore snapshot
        deleted (S17).

    Examples
    --------
    >>> profile = [0.25] * 24
    >>> t = backup_timeline(
    ...     [{"disk": "os", "used_gb": 30, "allocated_gb": 64, "churn_gb": 1.2, "extents": 900}],
    ...     start_hour=12, lag_profile_hours=profile)
    >>> round(t.total_hours, 2), t.met_window
    (0.55, True)
    """
    if isinstance(disks, list) and disks and all(isinstance(d, dict) for d in disks):
        try:
            frame = pl.DataFrame(disks)
        except (TypeError, ValueError, pl.exceptions.PolarsError) as error:
            raise ValueError(f"disks: not a table of disks ({error})") from None
    elif isinstance(disks, pl.DataFrame):
        frame = disks
    else:
        raise ValueError(
            f"disks must be a table or a non-empty list of dicts, found {type(disks).__name__}"
        )
    if "new_disk" not in frame.columns:
        frame = frame.with_columns(new_disk=pl.lit(False))
    hour = non_negative("start_hour", start_hour)
    if hour >= 24:
        raise ValueError(f"start_hour={start_hour!r} must be an hour of the day in [0, 24)")
    frame = frame.with_columns(
        vm=pl.lit("vm"),
        start_hour=pl.lit(hour),
        first_backup=pl.lit(flag("first_backup", first_backup)),
        snapshot_missing=pl.lit(flag("snapshot_missing", snapshot_missing)),
    )
    detail, params = _checked_phases(frame, lag_profile_hours, overrides)
    job = _jobs(detail, params).row(0, named=True)
    common = detail.head(1)
    rows = [
        (
            "all",
            "preparation",
            hour,
            common["snapshot_at"][0],
            "extension install + snapshot" if first_backup else "snapshot trigger",
        ),
        (
            "all",
            "wait for vault",
            common["snapshot_at"][0],
            common["transfer_start"][0],
            "peak-hour lag",
        ),
    ]
    for disk in detail.iter_rows(named=True):
        begin = disk["transfer_start"]
        if disk["scan_hours"] > 0:
            rows.append(
                (
                    disk["disk"],
                    "checksum scan",
                    begin,
                    begin + disk["scan_hours"],
                    f"reads {disk['allocated_gb']:g} GB",
                )
            )
            begin += disk["scan_hours"]
        rows.append(
            (
                disk["disk"],
                "transfer",
                begin,
                disk["end"],
                f"{disk['mode']}: {disk['sent_gb']:g} GB",
            )
        )
    phases = pl.DataFrame(
        rows, schema=["disk", "phase", "start_hour", "end_hour", "detail"], orient="row"
    )
    notes = _notes(detail, job, first_backup, snapshot_missing)
    return Timeline(
        phases=phases,
        total_hours=float(job["total_hours"]),
        met_window=bool(job["met_window"]),
        failed=bool(job["failed"]),
        notes=notes,
    )


def _notes(
    detail: pl.DataFrame, job: dict[str, Any], first: bool, missing: bool
) -> tuple[str, ...]:
    notes = [f"S9: {detail.height} disk(s) transferred in parallel; the slowest sets the end"]
    if first:
        notes.append("S12, S14: first backup: extension installed, all used data copied")
    if detail.filter(pl.col("mode") == "new disk").height:
        notes.append("S15: a newly added disk is copied in full beside the others' deltas")
    if missing and not first:
        notes.append("S17: Instant Restore snapshot deleted: checksum comparison reads each disk")
    lag = float(job["transfer_start"] - job["snapshot_at"])
    notes.append(f"S11: waited {lag:.2f} h for the vault after the snapshot")
    verdict = "within" if job["met_window"] else "beyond"
    notes.append(f"S11: {job['total_hours']:.2f} h in all, {verdict} the 24 h window")
    if job["failed"]:
        notes.append("S17: the checksum-mode job ran past its limit and failed")
    return tuple(notes)
