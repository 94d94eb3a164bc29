"""Churn over a period (S10, S16): a day, a week or the whole trace, each block counted once."""

from __future__ import annotations

import datetime as dt
import itertools

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vmbackup.churn import trace_churn
from vmbackup.data import read_msr_trace

TRACE = read_msr_trace()
MONDAY = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)


def _trace(writes: list[tuple[float, int, int, int]]) -> pl.DataFrame:
    """A trace of (hours since Monday 00:00, disk, offset, size) writes."""
    return pl.DataFrame(
        {
            "timestamp": [MONDAY + dt.timedelta(hours=h) for h, *_ in writes],
            "hostname": "h",
            "disk_number": [d for _, d, _, _ in writes],
            "type": "Write",
            "offset_bytes": [o for *_, o, _ in writes],
            "size_bytes": [s for *_, s in writes],
        },
        schema_overrides={"timestamp": pl.Datetime("us", "UTC")},
    )


@pytest.mark.parametrize("block", [4096, 65536, 1 << 20])
def test_a_period_sends_each_block_once_so_a_week_is_at_most_its_days(block: int) -> None:
    """S10: a weekly backup sends the distinct data of the week, not seven days of churn."""
    days = trace_churn(TRACE, block)
    week = trace_churn(TRACE, block, period="week")
    per_disk = days.group_by("disk_number").agg(
        pl.col("changed_bytes").sum().alias("sum"), pl.col("changed_bytes").max().alias("max")
    )
    joined = week.join(per_disk, on="disk_number")
    assert (joined["changed_bytes"] <= joined["sum"]).all()
    assert (joined["changed_bytes"] >= joined["max"]).all()
    # the database disk's log is rewritten every day: the week sends it once
    database = joined.filter(pl.col("disk_number") == 1)
    assert database["changed_bytes"][0] < database["sum"][0]
    assert week["written_bytes"].sum() == days["written_bytes"].sum()


def test_the_sample_trace_lies_in_one_week_so_week_and_trace_agree() -> None:
    week = trace_churn(TRACE, 65536, period="week")
    whole = trace_churn(TRACE, 65536, period="trace")
    assert week.equals(whole)
    assert week["period_start"].to_list() == [dt.date(2026, 11, 2)] * 2
    assert week["period_days"].to_list() == [3, 3]


def test_weeks_start_on_monday_at_the_day_start_hour() -> None:
    # Sunday 23:00 and Monday 01:00, then Monday 23:00; backup days start at 22:00
    trace = _trace([(-1.0, 0, 0, 4096), (1.0, 0, 0, 4096), (23.0, 0, 8192, 4096)])
    weeks = trace_churn(trace, 4096, period="week")
    assert weeks["period_start"].to_list() == [dt.date(2026, 10, 26), dt.date(2026, 11, 2)]
    late = trace_churn(trace, 4096, period="week", day_start_hour=22.0)
    # with backup days starting at 22:00, Monday 01:00 still belongs to Sunday's backup day,
    # and so to the week before: both writes of block 0 fall in it, sent once
    assert late["period_start"].to_list() == [dt.date(2026, 10, 26), dt.date(2026, 11, 2)]
    assert late["changed_blocks"].to_list() == [1, 1]
    assert late["writes"].to_list() == [2, 1]
    whole = trace_churn(trace, 4096, period="trace")
    assert whole["period_days"].to_list() == [2]
    assert whole["changed_blocks"].to_list() == [2]


@given(
    writes=st.lists(
        st.tuples(
            st.floats(min_value=0, max_value=24 * 9),
            st.integers(0, 1),
            st.integers(0, 40),
            st.integers(1, 5),
        ),
        min_size=1,
        max_size=40,
    ),
    period=st.sampled_from(["day", "week", "trace"]),
)
def test_runs_match_a_block_by_block_count(
    writes: list[tuple[float, int, int, int]], period: str
) -> None:
    """S16: changed blocks and extents equal a direct count of the blocks each write touches."""
    block = 4096
    trace = _trace([(h, d, o * 1024, s * 2048) for h, d, o, s in writes])
    table = trace_churn(trace, block, period=period)
    key = "day" if period == "day" else "period_start"
    stamped = trace.with_columns(
        day=pl.col("timestamp").dt.date(),
        week=pl.col("timestamp").dt.truncate("1w").dt.date(),
    )
    for row in table.iter_rows(named=True):
        if period == "day":
            rows = stamped.filter(pl.col("day") == row[key])
        elif period == "week":
            rows = stamped.filter(pl.col("week") == row[key])
        else:
            rows = stamped
        rows = rows.filter(pl.col("disk_number") == row["disk_number"])
        blocks = sorted(
            {
                b
                for o, s in zip(rows["offset_bytes"], rows["size_bytes"], strict=True)
                for b in range(o // block, (o + s - 1) // block + 1)
            }
        )
        runs = 1 + sum(1 for a, b in itertools.pairwise(blocks) if b != a + 1)
        assert row["changed_blocks"] == len(blocks)
        assert row["extents"] == runs
        assert row["written_bytes"] == rows["size_bytes"].sum()


def test_an_unknown_period_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match=r"period='month' is not allowed; choose one of 'day'"):
        trace_churn(TRACE, 4096, period="month")
