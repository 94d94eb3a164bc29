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

**One job model.** The formulas live once, in the vectorised *kernel* below
(:func:`changed_extents`, :func:`send_hours`, :func:`checksum_scan_hours`, :func:`disk_modes`,
:func:`disk_job_hours`, :func:`preparation_hours`, :func:`vault_lag_hours`,
:func:`checksum_failed`): numpy functions that take arrays of any shape and check nothing (their
callers check at their boundary). :func:`backup_jobs` and :func:`backup_timeline` run them on a
table of disks; ``vmbackup.fleet`` runs them on every disk-day of an estate (in float32, in
place), so the two can never drift apart.

:data:`DEFAULTS` holds every figure that is not a fact of the service, with its source; they are
calibrated so that the service description's statements hold (each is a test):

- ``incremental_throughput_mb_s = 7``: S18 says more than 200 GB of daily churn takes more than
  8 h, an effective rate of at most about 7 MB/s per disk including change identification
  (X2's 640 Mbps is a best case that S18 shows is not reached); a VM's measured rate (the
  fleet's ``throughput_mb_s_per_disk``) replaces it for that VM;
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
    MIN_RATE,
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
    "changed_extents",
    "checksum_failed",
    "checksum_scan_hours",
    "disk_job_hours",
    "disk_modes",
    "extents_for",
    "preparation_hours",
    "send_hours",
    "vault_lag_hours",
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
SECONDS_PER_HOUR = 3600.0
#: Change-tracking block size the extents are counted in [bytes] (64 KiB).
BLOCK_SIZE_BYTES = 65536

Array = npt.NDArray[np.floating[Any]]


# --- the kernel: every formula of a job, vectorised, without checks ------------------------------


def changed_extents(
    churn_gb: Array,
    fragmentation: float | Array,
    block_size_bytes: int = BLOCK_SIZE_BYTES,
    *,
    out: Array | None = None,
) -> Array:
    """Extents [count] that ``churn_gb`` [GB] of changes form: ``1 + fragmentation x (changed
    blocks - 1)`` for a disk with changes, 0 without (S16). Kernel: no checks; in the dtype of
    ``churn_gb`` (float32 stays float32), written into ``out`` when given.

    >>> changed_extents(np.array([0.0, 6.5536]), 1.0).tolist()
    [0.0, 100000.0]
    """
    dtype = churn_gb.dtype
    blocks = np.multiply(churn_gb, dtype.type(1e9 / block_size_bytes), out=out)
    np.ceil(blocks, out=blocks)
    changed = blocks > 0
    np.subtract(blocks, 1, out=blocks)
    np.maximum(blocks, 0, out=blocks)
    if np.ndim(fragmentation) == 0:
        np.multiply(blocks, dtype.type(fragmentation), out=blocks)
    else:
        np.multiply(blocks, np.asarray(fragmentation, dtype=dtype), out=blocks)
    np.add(blocks, changed, out=blocks)
    return blocks


def send_hours(
    sent_gb: Array,
    throughput_mb_s: float | Array,
    extents: Array | None = None,
    per_extent_seconds: float = DEFAULTS["per_extent_seconds"],
    *,
    out: Array | None = None,
) -> Array:
    """Hours [h] a disk takes to send ``sent_gb`` [GB] at ``throughput_mb_s`` [MB/s], plus
    ``per_extent_seconds`` [s] per extent (S16). Kernel: no checks; keeps the dtype of
    ``sent_gb``; ``extents`` is overwritten when ``out`` is ``extents``.

    >>> float(send_hours(np.array([25.2]), 7.0)[0])
    1.0
    """
    dtype = sent_gb.dtype
    if np.ndim(throughput_mb_s) == 0:
        scale: Any = dtype.type(MB_PER_GB / SECONDS_PER_HOUR / float(throughput_mb_s))
    else:
        rate = np.asarray(throughput_mb_s)
        scale = (MB_PER_GB / SECONDS_PER_HOUR / rate).astype(dtype)
    if extents is None:
        result: Array = np.multiply(sent_gb, scale, out=out)
        return result
    hours = np.multiply(extents, dtype.type(per_extent_seconds / SECONDS_PER_HOUR), out=out)
    hours += sent_gb * scale
    return hours


def checksum_scan_hours(
    allocated_gb: Array, scan_mb_s: float = DEFAULTS["checksum_scan_mb_s"]
) -> Array:
    """Hours [h] the checksum comparison takes to read a whole disk of ``allocated_gb`` [GB]
    when its Instant Restore snapshot is gone (S17). Kernel: no checks."""
    return send_hours(allocated_gb, scan_mb_s)


def disk_modes(
    first_backup: npt.NDArray[np.bool_],
    new_disk: npt.NDArray[np.bool_],
    snapshot_missing: npt.NDArray[np.bool_],
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Which disks copy all their used data (the VM's first backup, S12, or a newly added
    disk, S15) and which fall back to the checksum comparison (snapshot deleted and not a full
    copy, S17): ``(full_copy, checksum)``. Kernel: arrays broadcast together."""
    full_copy = first_backup | new_disk
    return full_copy, snapshot_missing & ~full_copy


def disk_job_hours(
    used_gb: Array,
    allocated_gb: Array,
    churn_gb: Array,
    extents: Array,
    *,
    full_copy: npt.NDArray[np.bool_] | None = None,
    checksum: npt.NDArray[np.bool_] | None = None,
    incremental_mb_s: float | Array = DEFAULTS["incremental_throughput_mb_s"],
    params: dict[str, float] = DEFAULTS,
) -> tuple[Array, Array, Array]:
    """Each disk's transfer: ``(scan_hours, send_hours, sent_gb)`` (S9-S17). Kernel: no checks.

    A full copy sends the used data at ``initial_throughput_mb_s`` without per-extent cost; any
    other disk sends its churn at ``incremental_mb_s`` (the default, or a VM's measured rate)
    plus the cost of its extents, after a checksum scan of the whole allocated disk when
    ``checksum``. Without ``full_copy`` and ``checksum`` every disk is incremental and the scan
    is 0 (the fleet's common case, computed without masks).
    """
    if full_copy is None and checksum is None:
        sent = send_hours(churn_gb, incremental_mb_s, extents, params["per_extent_seconds"])
        return np.zeros_like(sent), sent, churn_gb
    full = np.zeros(np.shape(churn_gb), dtype=bool) if full_copy is None else full_copy
    sent_gb = np.where(full, used_gb, churn_gb).astype(churn_gb.dtype, copy=False)
    rate = np.where(full, params["initial_throughput_mb_s"], incremental_mb_s)
    hours = send_hours(
        sent_gb,
        rate,
        np.where(full, 0.0, extents).astype(churn_gb.dtype, copy=False),
        params["per_extent_seconds"],
    )
    scan = np.zeros_like(hours)
    if checksum is not None:
        scan = np.where(
            checksum, checksum_scan_hours(allocated_gb, params["checksum_scan_mb_s"]), 0.0
        ).astype(hours.dtype, copy=False)
    return scan, hours, sent_gb


def preparation_hours(
    first_backup: npt.NDArray[np.bool_] | bool, params: dict[str, float] = DEFAULTS
) -> Any:
    """Hours [h] from the scheduled start to the snapshot: the snapshot trigger, plus the
    extension install on a VM's first backup (S14). Kernel: no checks."""
    return params["snapshot_hours"] + np.where(first_backup, params["extension_install_hours"], 0.0)


def vault_lag_hours(
    profile_hours: npt.NDArray[np.float64],
    at_hours: npt.NDArray[np.float64],
    *,
    span_hours: tuple[float, float] | None = None,
) -> npt.NDArray[np.float64]:
    """The wait for the vault [h] of snapshots taken at ``at_hours`` [h since day 0's midnight,
    any sign], from the 24-value profile by the hour of day (S11). Kernel: no checks.

    Reads a table of the profile laid out over every hour the times span, so no modulo per time
    (and for times >= 0 no floor: truncation is the floor of a number >= 0). ``span_hours``:
    the least and largest time, when the caller knows them (spares two passes).

    >>> vault_lag_hours(np.arange(24.0), np.array([[-0.5, 23.5, 47.0]])).tolist()
    [[23.0, 23.0, 23.0]]
    """
    if at_hours.size == 0:
        return np.zeros_like(at_hours, dtype=np.float64)
    low, high = (at_hours.min(), at_hours.max()) if span_hours is None else span_hours
    first, last = int(np.floor(low)), int(np.floor(high))
    if first >= 0:
        hour = at_hours.astype(np.intp)
        first = 0
    else:
        floored = np.floor(at_hours)
        floored -= first
        hour = floored.astype(np.intp)
    over_span = profile_hours[np.arange(first, last + 1) % 24]
    lag: npt.NDArray[np.float64] = np.take(over_span, hour)
    return lag


def checksum_failed(total_hours: Any, checksum: Any, params: dict[str, float] = DEFAULTS) -> Any:
    """Whether a job fails: a checksum-mode job that ran past its limit (S17). Kernel."""
    return checksum & (total_hours > params["checksum_fail_after_hours"])


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
    extents = changed_extents(np.atleast_1d(churn).astype(np.float64), np.atleast_1d(share), size)
    result: npt.NDArray[np.float64] = extents.reshape(churn.shape).astype(np.float64)
    return result


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
    # optional: a VM's measured incremental rate per disk [MB/s]; blank: the default
    "throughput_mb_s": Column("float", low=MIN_RATE, required=False, nullable=True),
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
    """Every disk's phase boundaries [h since the VM's local midnight], from the kernel."""
    first = frame["first_backup"].to_numpy()
    full_copy, checksum = disk_modes(
        first, frame["new_disk"].to_numpy(), frame["snapshot_missing"].to_numpy()
    )
    if "throughput_mb_s" in frame.columns:
        rate: float | npt.NDArray[np.float64] = (
            frame["throughput_mb_s"].fill_null(p["incremental_throughput_mb_s"]).to_numpy()
        )
    else:
        rate = p["incremental_throughput_mb_s"]
    scan, send, sent = disk_job_hours(
        frame["used_gb"].to_numpy(),
        frame["allocated_gb"].to_numpy(),
        frame["churn_gb"].to_numpy(),
        frame["extents"].to_numpy(),
        full_copy=full_copy,
        checksum=checksum,
        incremental_mb_s=rate,
        params=p,
    )
    snapshot_at = frame["start_hour"].to_numpy() + preparation_hours(first, p)
    transfer_start = snapshot_at + vault_lag_hours(profile, snapshot_at)
    mode = np.select(
        [first, full_copy, checksum], ["first backup", "new disk", "checksum"], "incremental"
    )
    return frame.with_columns(
        snapshot_at=pl.Series(snapshot_at),
        transfer_start=pl.Series(transfer_start),
        scan_hours=pl.Series(scan),
        send_hours=pl.Series(send),
        sent_gb=pl.Series(sent),
        mode=pl.Series(mode),
        end=pl.Series(transfer_start + scan + send),
    )


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
        repeated on its disks. Optional ``throughput_mb_s``: the disk's measured incremental
        rate [MB/s] (blank: ``incremental_throughput_mb_s``).
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
    jobs = jobs.with_columns(total_hours=total, met_window=total <= WINDOW_HOURS)
    failed = checksum_failed(jobs["total_hours"].to_numpy(), jobs["checksum"].to_numpy(), params)
    return jobs.with_columns(failed=pl.Series(failed, dtype=pl.Boolean)).drop("checksum")


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
