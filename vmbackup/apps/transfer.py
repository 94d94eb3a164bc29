"""The transfer app: tonight's incremental backup of a 3-disk VM against its 24 h window."""

from __future__ import annotations

import html
from collections.abc import Mapping
from functools import partial
from typing import Any

import ipywidgets as w
import numpy.typing as npt
import polars as pl
from matplotlib.axes import Axes

from vmbackup._checks import non_negative
from vmbackup.apps._form import FigureImage, Form, Off, error_html, figure_app, new_axes
from vmbackup.plots import TimelineChart
from vmbackup.transfer import Timeline, backup_timeline, extents_for

__all__ = ["NEW_DISK", "WHATIF_DISKS", "transfer_app", "transfer_rules", "transfer_update"]

#: The what-if VM of the transfer app: (disk, allocated GB, used GB).
WHATIF_DISKS = (("os", 127.0, 60.0), ("data1", 1024.0, 700.0), ("data2", 2048.0, 1200.0))
NEW_DISK = ("data3 (new)", 1024.0, 800.0)

#: Rows the chart keeps room for: two whole-VM phases and every disk, the new one included.
CHART_ROWS = 2 + len(WHATIF_DISKS) + 1

#: Size [inches] of the timeline chart.
FIGSIZE_IN = (10.0, 0.5 * CHART_ROWS + 1.8)


def transfer_update(
    *,
    lag_profile_hours: npt.ArrayLike,
    churn_os_gb: float = 2.0,
    churn_data1_gb: float = 20.0,
    churn_data2_gb: float = 10.0,
    fragmentation: float = 0.3,
    start_hour: float = 22.5,
    first_backup: bool = False,
    new_disk: bool = False,
    snapshot_missing: bool = False,
    chart: TimelineChart | None = None,
) -> tuple[Timeline | None, str, Axes | None]:
    """The transfer app's pure update: the job of a 3-disk VM (plus an optional new disk),
    drawn into ``chart`` (the app's, updated in place) or a new one."""
    try:
        churns = {
            "os": non_negative("churn_os_gb", churn_os_gb),
            "data1": non_negative("churn_data1_gb", churn_data1_gb),
            "data2": non_negative("churn_data2_gb", churn_data2_gb),
        }
        disks = [
            {
                "disk": name,
                "allocated_gb": allocated,
                "used_gb": used,
                "churn_gb": churns[name],
                "new_disk": False,
            }
            for name, allocated, used in WHATIF_DISKS
        ]
        if new_disk:
            name, allocated, used = NEW_DISK
            disks.append(
                {
                    "disk": name,
                    "allocated_gb": allocated,
                    "used_gb": used,
                    "churn_gb": 0.0,
                    "new_disk": True,
                }
            )
        frame = pl.DataFrame(disks)
        frame = frame.with_columns(
            extents=pl.Series(extents_for(frame["churn_gb"].to_numpy(), fragmentation))
        )
        timeline = backup_timeline(
            frame,
            start_hour=start_hour,
            lag_profile_hours=lag_profile_hours,
            first_backup=first_backup,
            snapshot_missing=snapshot_missing,
        )
    except ValueError as error:
        return None, error_html(error), None
    verdict = (
        '<b style="color:#b00020">failed</b>'
        if timeline.failed
        else '<b style="color:#2a9d8f">within the 24 h window</b>'
        if timeline.met_window
        else '<b style="color:#b00020">misses the 24 h window</b>'
    )
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in timeline.notes)
    text = f"<p>{timeline.total_hours:.2f} h: {verdict}</p><ul>{notes}</ul>"
    if chart is None:
        chart = TimelineChart(new_axes(*FIGSIZE_IN), min_rows=CHART_ROWS)
    return timeline, text, chart.show(timeline)


_CHURNS = ("churn_os_gb", "churn_data1_gb", "churn_data2_gb")


def transfer_rules(values: Mapping[str, Any]) -> dict[str, str | Off]:
    """The transfer app's controls that cannot matter in a state, and why (S12, S16, S17)."""
    if values["first_backup"]:
        copied = "a first backup copies all used data, whatever changed since (S12)"
        return {
            **dict.fromkeys((*_CHURNS, "fragmentation"), copied),
            "snapshot_missing": "a first backup has no earlier snapshot to compare with (S17)",
        }
    if all(values[name] == 0 for name in _CHURNS):
        return {"fragmentation": "no disk has churn: there are no changed blocks to scatter"}
    return {}


def transfer_app(lag_profile_hours: npt.ArrayLike) -> w.Box:
    """Churn per disk, fragmentation, start hour, first backup, new disk, snapshot deleted."""
    form = Form(210, 520)
    controls: dict[str, w.ValueWidget] = {
        "churn_os_gb": form.real("churn on os [GB]", 2, 0, 60, 1),
        "churn_data1_gb": form.real("churn on data1 [GB]", 20, 0, 700, 5),
        "churn_data2_gb": form.real("churn on data2 [GB]", 10, 0, 1200, 5),
        "fragmentation": form.real("fragmentation (0 = contiguous)", 0.3, 0, 1, 0.05),
        "start_hour": form.real("scheduled start [h]", 22.5, 0, 23.75, 0.25),
        "first_backup": form.flag("first backup", False),
        "new_disk": form.flag("a new 800 GB disk was added", False),
        "snapshot_missing": form.flag("Instant Restore snapshot deleted", False),
    }
    view = FigureImage(partial(TimelineChart, min_rows=CHART_ROWS), *FIGSIZE_IN)
    return figure_app(
        controls,
        lambda **v: transfer_update(lag_profile_hours=lag_profile_hours, chart=view.chart, **v),
        view,
        rules=transfer_rules,
    )
