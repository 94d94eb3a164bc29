"""Daily churn: what a backup must send, from recorded writes or from a churn class (S10, S18).

A backup sends each changed block once, however often it was written, so the churn of a day is
the number of *distinct* blocks written times the block size, which is less than the bytes
written. :func:`trace_churn` computes it from a block I/O trace (the MSR Cambridge format, read
by ``vmbackup.data.read_msr_trace``), with the extents the changes form (S16).

:data:`CHURN_CLASS_FRACTION` maps the fleet's churn classes to a daily share of the used data
(P6: typically 2 to 7% a day).

:func:`change_windows` measures how much data a VM changes over periods of 1, 2, ... days of a
trace (each block counted once), and :func:`fit_pool_days` fits the overlap model of
:func:`vmbackup.retention.distinct_change_gb` to it (A32).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from vmbackup._checks import Column, check_frame, choice, non_negative
from vmbackup.blocks import DEFAULT_BLOCK_SIZE_BYTES, _check_block_size
from vmbackup.retention import pool_curve

__all__ = ["CHURN_CLASS_FRACTION", "PERIODS", "change_windows", "fit_pool_days", "trace_churn"]

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


def change_windows(
    trace: pl.DataFrame,
    block_size_bytes: int = DEFAULT_BLOCK_SIZE_BYTES,
    *,
    day_start_hour: float = 0.0,
) -> pl.DataFrame:
    """Distinct data a VM changes over every window of whole days of a trace.

    For each window of ``N`` consecutive trace days (all disks of each host together, as one
    backup of the VM sends them): the sum of its days' churns and the distinct bytes changed
    over the window, each block counted once (:func:`trace_churn` on the window).

    Returns
    -------
    polars.DataFrame
        ``hostname``, ``first_day``, ``days`` [days], ``daily_sum_bytes`` (sum of the days'
        churns), ``mean_daily_bytes`` and ``distinct_bytes``; one row per host and window.

    Examples
    --------
    >>> from vmbackup.data import read_msr_trace
    >>> windows = change_windows(read_msr_trace())
    >>> windows.filter(pl.col("days") == 3).select("daily_sum_bytes", "distinct_bytes").rows()
    [(3257991168, 2983657472)]
    """
    daily = trace_churn(trace, block_size_bytes, day_start_hour=day_start_hour)
    days = daily["day"].unique().sort()
    shift = dt.timedelta(hours=day_start_hour)
    rows = []
    # windows of a trace: a few days, so a few dozen windows (not a hot path)
    for i, first in enumerate(days):
        for last in days[i:]:
            start = dt.datetime.combine(first, dt.time(), dt.UTC) + shift
            end = dt.datetime.combine(last, dt.time(), dt.UTC) + shift + dt.timedelta(days=1)
            window = trace.filter(pl.col("timestamp").is_between(start, end, closed="left"))
            part = trace_churn(window, block_size_bytes, period="trace")
            summed = daily.filter(pl.col("day").is_between(first, last))
            for host in part["hostname"].unique().sort():
                rows.append(
                    (
                        host,
                        first,
                        (last - first).days + 1,
                        int(summed.filter(pl.col("hostname") == host)["changed_bytes"].sum()),
                        int(part.filter(pl.col("hostname") == host)["changed_bytes"].sum()),
                    )
                )
    schema = ["hostname", "first_day", "days", "daily_sum_bytes", "distinct_bytes"]
    return (
        pl.DataFrame(rows, schema=schema, orient="row")
        .with_columns(mean_daily_bytes=pl.col("daily_sum_bytes") / pl.col("days"))
        .select(*schema[:4], "mean_daily_bytes", "distinct_bytes")
    )


def fit_pool_days(windows: pl.DataFrame) -> float:
    """The pool [days of churn] whose curve best fits a trace's windows (A32).

    Least squares on the relative error of the distinct change of every window of two days or
    more: ``distinct ~ mean daily churn x m (1 - (1 - 1/m)^N)``
    (:func:`vmbackup.retention.pool_curve`), over ``m`` from 1 to 10,000 days on a log grid
    refined twice. One-day windows say nothing of overlap and are left out.

    Examples
    --------
    >>> from vmbackup.data import read_msr_trace
    >>> round(fit_pool_days(change_windows(read_msr_trace())), 1)
    11.2
    """
    long = windows.filter(pl.col("days") >= 2)
    if long.height == 0:
        raise ValueError("windows holds no window of 2 days or more: overlap cannot be fitted")
    n = long["days"].to_numpy().astype(np.float64)
    mean = long["mean_daily_bytes"].to_numpy()
    seen = long["distinct_bytes"].to_numpy().astype(np.float64)
    low, high = 0.0, 4.0  # log10 of the pool [days]
    for _ in range(3):
        grid = np.logspace(low, high, 2001)
        model = mean[None, :] * pool_curve(n[None, :], grid[:, None])
        error = ((model - seen[None, :]) / seen[None, :]) ** 2
        best = int(np.argmin(error.sum(axis=1)))
        step = (high - low) / 2000
        low, high = np.log10(grid[best]) - 2 * step, np.log10(grid[best]) + 2 * step
    return float(grid[best])
