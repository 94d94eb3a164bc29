"""The churn app: what a backup sends from a block I/O trace, by tracking block size and by the
period between backups (a day, a week, the whole trace; S10, S16)."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import ipywidgets as w
import polars as pl
from matplotlib.axes import Axes

from vmbackup.apps._form import FigureImage, Form, Off, error_html, figure_app, new_axes
from vmbackup.apps.table import table_html
from vmbackup.churn import trace_churn
from vmbackup.plots import ChurnChart

__all__ = ["BLOCK_SIZES", "churn_app", "churn_rules", "churn_update"]

#: The tracking block sizes the app offers: (label, bytes).
BLOCK_SIZES = (
    ("4 KiB", 4096),
    ("16 KiB", 16384),
    ("64 KiB", 65536),
    ("256 KiB", 262144),
    ("1 MiB", 1 << 20),
    ("4 MiB", 4 << 20),
)

#: Size [inches] of the churn chart.
FIGSIZE_IN = (10.0, 4.2)

_PERIOD_WORDS = {"day": "daily", "week": "weekly", "trace": "once over the whole trace"}


def _gb(value_bytes: float) -> str:
    return f"{value_bytes / 1e9:,.3f} GB"


def _row_label(row: Mapping[str, Any]) -> str:
    if "day" in row:
        return f"{row['day']:%a %d %b}"
    return f"{row['period_start']:%d %b} + {row['period_days']} d"


def churn_update(
    *,
    trace: pl.DataFrame,
    block_size_bytes: int = 65536,
    period: str = "day",
    day_start_hour: float = 0.0,
    chart: ChurnChart | None = None,
) -> tuple[pl.DataFrame | None, str, Axes | None]:
    """The churn app's pure update: the trace's churn per period and disk at one block size,
    a table in GB, the comparison with daily backups, drawn into ``chart`` (the app's, updated
    in place) or a new one."""
    try:
        table = trace_churn(trace, block_size_bytes, day_start_hour=day_start_hour, period=period)
        daily = (
            table
            if period == "day"
            else trace_churn(trace, block_size_bytes, day_start_hour=day_start_hour)
        )
    except ValueError as error:
        return None, error_html(error), None
    shown = pl.DataFrame(
        {
            "period": [_row_label(row) for row in table.iter_rows(named=True)],
            "disk": table["disk_number"],
            "written": [_gb(v) for v in table["written_bytes"]],
            "sent (distinct)": [_gb(v) for v in table["changed_bytes"]],
            "sent / written": [
                f"{c / w:.0%}"
                for c, w in zip(table["changed_bytes"], table["written_bytes"], strict=True)
            ],
            "extents": [f"{n:,}" for n in table["extents"]],
            "fragmentation": [f"{f:.2f}" for f in table["fragmentation"]],
        }
    )
    sent, days_sum = int(table["changed_bytes"].sum()), int(daily["changed_bytes"].sum())
    days = daily["day"].n_unique()
    comparison = (
        f"Backed up daily, the {days} days send {_gb(days_sum)} in all."
        if period == "day"
        else (
            f"Backed up {_PERIOD_WORDS[period]}, the trace sends {_gb(sent)}; daily backups "
            f"would send {_gb(days_sum)} over the same {days} days: a block rewritten on "
            f"several days is sent once per backup, so {_gb(days_sum - sent)} fewer."
        )
    )
    weeks = table["period_start"].n_unique() if period == "week" else 0
    same = (
        f" The trace's {days} days all fall in one week, so a week's churn is the whole "
        "trace's here."
        if period in ("week", "trace") and days <= 7 and weeks <= 1
        else ""
    )
    text = f"<p><b>{html.escape(comparison)}</b>{html.escape(same)}</p>" + table_html(shown)
    size = {b: label for label, b in BLOCK_SIZES}.get(block_size_bytes, f"{block_size_bytes:,} B")
    title = f"Churn per {'backup' if period != 'day' else 'day'} at {size} blocks"
    if chart is None:
        chart = ChurnChart(new_axes(*FIGSIZE_IN))
    return table, text, chart.show(table, title=title)


def churn_rules(values: Mapping[str, Any]) -> dict[str, str | Off]:
    """The churn app's controls that cannot matter in a state, and why."""
    if values["period"] == "trace":
        return {
            "day_start_hour": "over the whole trace every write counts, whatever hour a day starts"
        }
    return {}


def churn_app(trace: pl.DataFrame) -> w.Box:
    """Block size, the period between backups and the hour a backup day starts: the trace's
    churn per disk, written against sent."""
    form = Form(230, 520)
    controls: dict[str, w.ValueWidget] = {
        "block_size_bytes": form.choice("tracking block size", BLOCK_SIZES, 65536),
        "period": form.choice(
            "backups run",
            (("daily", "day"), ("weekly", "week"), ("once, over the whole trace", "trace")),
            "day",
        ),
        "day_start_hour": form.whole("backup day starts at [h]", 0, 0, 23),
    }
    view = FigureImage(ChurnChart, *FIGSIZE_IN)
    return figure_app(
        controls,
        lambda **v: churn_update(trace=trace, chart=view.chart, **v),
        view,
        rules=churn_rules,
    )
