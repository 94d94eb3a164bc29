"""Daily churn: what a backup must send, from recorded writes or from a churn class (S10, S18).

A backup sends each changed block once, however often it was written, so the churn of a day is
the number of *distinct* blocks written times the block size, which is less than the bytes
written. :func:`trace_churn` computes it from a block I/O trace (the MSR Cambridge format, read
by ``vmbackup.data.read_msr_trace``), with the extents the changes form (S16).

:data:`CHURN_CLASS_FRACTION` maps the fleet's churn classes to a daily share of the used data
(P6: typically 2 to 7% a day).
"""

from __future__ import annotations

import polars as pl

from vmbackup._checks import Column, check_frame, non_negative
from vmbackup.blocks import DEFAULT_BLOCK_SIZE_BYTES, _check_block_size

__all__ = ["CHURN_CLASS_FRACTION", "trace_churn"]

#: P6: daily churn as a share of used data, per churn class (Microsoft's typical 2-7%).
CHURN_CLASS_FRACTION = {"low": 0.02, "moderate": 0.04, "high": 0.07}


#: What a block I/O trace table must hold (as ``vmbackup.data.read_msr_trace`` returns it).
TRACE_COLUMNS = {
    "timestamp": Column("datetime"),
    "hostname": Column("str"),
    "disk_number": Column("int", low=0),
    "type": Column("str", allowed=("Read", "Write")),
    "offset_bytes": Column("int", low=0),
    "size_bytes": Column("int", low=0, high=2**40),
}


def trace_churn(
    trace: pl.DataFrame,
    block_size_bytes: int = DEFAULT_BLOCK_SIZE_BYTES,
    *,
    day_start_hour: float = 0.0,
) -> pl.DataFrame:
    """Per day and disk: bytes written, distinct bytes changed, and the extents they form.

    Parameters
    ----------
    trace
        Columns ``timestamp``, ``hostname``, ``disk_number``, ``type``, ``offset_bytes``,
        ``size_bytes`` (as ``read_msr_trace`` returns).
    block_size_bytes
        Change-tracking block size [bytes].
    day_start_hour
        Hour at which a backup day starts (e.g. the backup time) [h].

    Returns
    -------
    polars.DataFrame
        ``day``, ``hostname``, ``disk_number``, ``writes``, ``written_bytes``,
        ``changed_blocks``, ``changed_bytes`` (distinct blocks x block size), ``extents`` and
        ``fragmentation`` (0 contiguous .. 1 every block apart), sorted by day and disk.
    """
    size = _check_block_size(block_size_bytes)
    trace = check_frame(trace, TRACE_COLUMNS, name="trace")
    hour = non_negative("day_start_hour", day_start_hour)
    if hour >= 24:
        raise ValueError(f"day_start_hour={day_start_hour!r} must be an hour in [0, 24)")
    shift = pl.duration(microseconds=round(hour * 3600e6))
    writes = trace.lazy().filter((pl.col("type") == "Write") & (pl.col("size_bytes") > 0))
    writes = writes.with_columns(
        day=(pl.col("timestamp") - shift).dt.truncate("1d").dt.date(),
        first=pl.col("offset_bytes") // size,
        last=(pl.col("offset_bytes") + pl.col("size_bytes") - 1) // size,
    )
    keys = ["day", "hostname", "disk_number"]
    totals = writes.group_by(keys).agg(writes=pl.len(), written_bytes=pl.col("size_bytes").sum())
    blocks = (
        writes.select(*keys, block=pl.int_ranges("first", pl.col("last") + 1))
        .explode("block")
        .unique()
        .sort([*keys, "block"])
    )
    runs = blocks.group_by(keys).agg(
        changed_blocks=pl.len(),
        extents=((pl.col("block").diff() != 1).fill_null(True)).sum(),
    )
    return (
        totals.join(runs, on=keys)
        .with_columns(
            changed_bytes=pl.col("changed_blocks").cast(pl.Int64) * size,
            fragmentation=pl.when(pl.col("changed_blocks") > 1)
            .then((pl.col("extents") - 1) / (pl.col("changed_blocks") - 1))
            .otherwise(0.0),
        )
        .sort(keys)
        .collect()
    )
