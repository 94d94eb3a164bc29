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

from vmbackup._checks import Column, check_frame, choice, non_negative
from vmbackup.blocks import DEFAULT_BLOCK_SIZE_BYTES, _check_block_size

__all__ = ["CHURN_CLASS_FRACTION", "PERIODS", "trace_churn"]

#: The periods churn can be counted over: what one backup sends when backups run daily, weekly,
#: or once over the whole trace. The name of the table's first column for each.
PERIODS = {"day": "day", "week": "period_start", "trace": "period_start"}

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
    period: str = "day",
) -> pl.DataFrame:
    """Per day (or week, or the whole trace) and disk: bytes written, distinct bytes changed,
    and the extents they form.

    Churn over a period is the data a backup made at the end of that period sends: every block
    written in the period, counted once however often it was written. A week's churn is
    therefore at most, and usually less than, the sum of its days' churns (a block rewritten on
    several days is sent once): what a weekly schedule must transfer.

    Parameters
    ----------
    trace
        Columns ``timestamp``, ``hostname``, ``disk_number``, ``type``, ``offset_bytes``,
        ``size_bytes`` (as ``read_msr_trace`` returns).
    block_size_bytes
        Change-tracking block size [bytes].
    day_start_hour
        Hour at which a backup day starts (e.g. the backup time) [h].
    period
        What one row counts: ``"day"`` (a daily backup), ``"week"`` (a weekly one; weeks start
        on Monday at ``day_start_hour``) or ``"trace"`` (everything the trace holds).

    Returns
    -------
    polars.DataFrame
        ``day`` (for ``period="day"``) or ``period_start`` and ``period_days`` (the first day
        of the period, and how many days of the trace it covers [days]), then ``hostname``,
        ``disk_number``, ``writes``, ``written_bytes``, ``changed_blocks``, ``changed_bytes``
        (distinct blocks x block size), ``extents`` and ``fragmentation`` (0 contiguous .. 1
        every block apart), sorted by period and disk.

    Examples
    --------
    >>> import datetime as dt
    >>> at = dt.datetime(2026, 11, 2, 10, tzinfo=dt.UTC)
    >>> trace = pl.DataFrame({
    ...     "timestamp": [at, at + dt.timedelta(days=1)], "hostname": "h", "disk_number": 0,
    ...     "type": "Write", "offset_bytes": [0, 0], "size_bytes": [4096, 4096]})
    >>> trace_churn(trace, 4096)["changed_bytes"].to_list()  # each day sends the block
    [4096, 4096]
    >>> trace_churn(trace, 4096, period="week")["changed_bytes"].to_list()  # a week sends it once
    [4096]
    """
    size = _check_block_size(block_size_bytes)
    trace = check_frame(trace, TRACE_COLUMNS, name="trace")
    hour = non_negative("day_start_hour", day_start_hour)
    if hour >= 24:
        raise ValueError(f"day_start_hour={day_start_hour!r} must be an hour in [0, 24)")
    period = choice("period", period, PERIODS)
    key = PERIODS[period]
    shift = pl.duration(microseconds=round(hour * 3600e6))
    day = (pl.col("timestamp") - shift).dt.truncate("1d").dt.date()
    start = {
        "day": day,
        "week": (pl.col("timestamp") - shift).dt.truncate("1w").dt.date(),
        "trace": day.min(),
    }[period]
    stamped = trace.lazy().with_columns(**{"day": day, key: start})
    writes = stamped.filter((pl.col("type") == "Write") & (pl.col("size_bytes") > 0))
    writes = writes.with_columns(
        first=pl.col("offset_bytes") // size,
        last=(pl.col("offset_bytes") + pl.col("size_bytes") - 1) // size,
    )
    keys = [key, "hostname", "disk_number"]
    totals = writes.group_by(keys).agg(writes=pl.len(), written_bytes=pl.col("size_bytes").sum())
    # The blocks written form runs: sorted by first block, a write starts a new run when it
    # begins after every block written before it (plus one: touching runs are one extent).
    # Counting runs this way costs a sort of the writes, not one row per block written.
    reach = pl.col("last").cum_max().shift(1).over(keys)
    runs = (
        writes.select(*keys, "first", "last")
        .sort([*keys, "first"])
        .with_columns(run=(pl.col("first") > reach + 1).fill_null(True).cum_sum().over(keys))
        .group_by(*keys, "run")
        .agg(pl.col("first").min(), pl.col("last").max())
        .group_by(keys)
        .agg(
            changed_blocks=(pl.col("last") - pl.col("first") + 1).sum().cast(pl.UInt32),
            extents=pl.len(),
        )
    )
    table = totals.join(runs, on=keys)
    if period != "day":
        covered = stamped.group_by(key).agg(period_days=pl.col("day").n_unique())
        table = table.join(covered, on=key).select(
            key, "period_days", pl.exclude(key, "period_days")
        )
    return (
        table.with_columns(
            changed_bytes=pl.col("changed_blocks").cast(pl.Int64) * size,
            fragmentation=pl.when(pl.col("changed_blocks") > 1)
            .then((pl.col("extents") - 1) / (pl.col("changed_blocks") - 1))
            .otherwise(0.0),
        )
        .sort(keys)
        .collect()
    )
