"""Figures of restores and recovery times (RTO): every function takes ``ax=None``.

Drawn from the results of :mod:`vmbackup.restore` and :mod:`vmbackup.restore_options`, with
the helpers and account colours of :mod:`vmbackup.plots`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import numpy.typing as npt
import polars as pl
from matplotlib.axes import Axes
from matplotlib.patches import Patch
from matplotlib.ticker import NullFormatter

from vmbackup.plots import Chart, _axes, _bars, _padded, _place

__all__ = [
    "PHASE_COLOURS",
    "RtoChart",
    "plot_accounts_curves",
    "plot_disk_rates",
    "plot_rto_by_age",
    "plot_rto_options",
    "plot_rto_timeline",
]

#: One colour per phase of a restore, wherever an RTO is split into its parts.
PHASE_COLOURS: dict[str, str] = {
    "rehydrate_hours": "#8d99ae",
    "wait_hours": "#d9d9d9",
    "copy_hours": "#2a9d8f",
    "finish_hours": "#e9c46a",
}
_PHASE_LABELS = {
    "rehydrate_hours": "rehydrating from archive (G7)",
    "wait_hours": "waiting in the vault's queue (S19)",
    "copy_hours": "restoring the data (snapshot or vault tier)",
    "finish_hours": "after the copy: keys, VM created (R1)",
}
_FINISH = PHASE_COLOURS["finish_hours"]
#: Colour of a copy that writes no account (a snapshot-tier restore, a file recovery).
_NO_ACCOUNT = (0.6, 0.6, 0.6, 1.0)
#: Account colours: matplotlib's tab10 without its grey, which means "no account" here.
_ACCOUNT_COLOURS = np.array([plt.get_cmap("tab10")(i) for i in range(10) if i != 7])


def _account_colour(account: npt.ArrayLike) -> Any:
    """The colour (RGBA) of storage account number(s) ``account``, repeating every 9."""
    return _ACCOUNT_COLOURS[np.asarray(account) % len(_ACCOUNT_COLOURS)]


class RtoChart(Chart):
    """One bar per VM of an estate restore, updated in place: before the copy (hatched: queued
    or rehydrating), the copy (solid, coloured by target account; grey from a snapshot) and the
    steps after it (yellow), ending when the VM is usable (its RTO).

    With ``rows`` set the chart keeps that size and shows the VMs that are usable last.
    """

    def __init__(self, ax: Axes, rows: int | None = None, min_rows: int = 10) -> None:
        if rows is not None and rows < 1:
            raise ValueError(f"rows={rows!r} must be a whole number >= 1 or None")
        super().__init__(ax)
        self.rows, self.min_rows = rows, min_rows
        self._wait = _bars(ax, facecolors="none", hatch="//", linewidths=0.5, hatchcolors="edge")
        self._copy = _bars(ax, edgecolors="none")
        self._finish = _bars(ax, facecolors=_FINISH, edgecolors="none")
        self._note = ax.text(
            0.99, 0.01, "", transform=ax.transAxes, ha="right", va="bottom", fontsize=8
        )
        ax.set_xlabel("hours since the restore was requested")
        ax.set_ylabel("VM, in the vault's queue order")
        # one legend for every restore (it never changes, so it stays in a viewer's cached
        # background): the copy's colour is its account, as the note in the corner says
        ax.legend(
            handles=[
                Patch(color=_account_colour(0), label="copying (colour: account)"),
                Patch(color=_NO_ACCOUNT, label="copying from a snapshot"),
                Patch(
                    facecolor="none", edgecolor="#555555", hatch="//", label="queued or rehydrating"
                ),
                Patch(color=_FINISH, label="keys, VM created"),
            ],
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            fontsize=8,
        )
        self._keep(ax.get_legend())

    def show(self, rto: pl.DataFrame, title: str = "") -> Axes:
        """Draw ``rto``, the output of :func:`vmbackup.restore_options.estate_rto` (blocked VMs
        are left out; a VM without an account, file recovery, is drawn in grey)."""
        ordered = rto.filter(pl.col("status") == "ok").sort("order")
        shown = ordered
        if self.rows is not None and ordered.height > self.rows:
            shown = ordered.sort("rto_hours", "order").tail(self.rows)
        # rows in queue order: a new placement recolours the bars but keeps the labels, so a
        # viewer's cached background (the y axis, the legend) stays valid
        shown = shown.sort("order")
        rows = shown.height
        y = np.arange(rows) - 0.35
        start = shown["start_hours"].to_numpy()
        end = shown["end_hours"].to_numpy()
        accounts = shown["account"].fill_null(-1).to_numpy()
        colours: Any = np.where(
            (accounts >= 0)[:, None], _account_colour(np.maximum(accounts, 0)), _NO_ACCOUNT
        )
        _place(self._wait, 0.0, y, start, 0.7)
        self._wait.set_edgecolor(colours)
        _place(self._copy, start, y, end - start, 0.7)
        self._copy.set_facecolor(colours)
        _place(self._finish, end, y, shown["finish_hours"].to_numpy(), 0.7)
        used = ordered["account"].drop_nulls().n_unique()
        self._note.set_text(f"{used} storage account(s) written" if used else "")
        if self._yticks(shown["vm_name"].to_list(), fontsize=7):
            slots = rows if self.rows is None else max(rows, self.min_rows)
            low, high = _padded(-0.35, max(slots, 1) - 0.65)
            self.ax.set_ylim(high, low)  # first row on top
        last = float(ordered["rto_hours"].max() or 0.0)  # type: ignore[arg-type]
        self.ax.set_xlim(0, max(last, 1e-3) * 1.05)
        default = f"{ordered.height} VMs usable after {last:.2f} h"
        if rows < ordered.height:
            default += f": the {rows} that are usable last"
        self._title(title or default)
        return self.ax


def plot_rto_timeline(
    rto: pl.DataFrame, ax: Axes | None = None, title: str = "", *, rows: int | None = None
) -> Axes:
    """An estate restore VM by VM, from the request until each VM is usable (``estate_rto``);
    with ``rows``, only the VMs usable last."""
    shown = rto.filter(pl.col("status") == "ok").height
    shown = shown if rows is None else min(shown, max(rows, 10))
    ax = _axes(ax, (10, max(3.0, 0.22 * shown + 1.5)))
    return RtoChart(ax, rows=rows).show(rto, title)


def plot_accounts_curves(
    accounts: Sequence[int],
    hours: Mapping[str, Sequence[float]],
    ax: Axes | None = None,
    *,
    ylabel: str = "hours until the VMs are usable [h]",
    title: str = "An estate restore against the number of storage accounts",
) -> Axes:
    """Restore times against the number of target accounts, one line per scenario (median
    and last VM, placements, other load)."""
    ax = _axes(ax, (8, 4.5))
    for label, values in hours.items():
        dashed = "median" in label
        ax.plot(
            list(accounts),
            list(values),
            marker="o",
            markersize=3,
            linestyle="--" if dashed else "-",
            label=label,
        )
    ax.set_xlabel("number of target storage accounts")
    ax.set_ylabel(f"{ylabel}, log scale")
    ax.set_yscale("log")  # the median and the last VM differ tenfold
    every = np.array([v for series in hours.values() for v in series], dtype=float)
    every = every[np.isfinite(every) & (every > 0)]
    if every.size:
        low, high = float(every.min()), float(every.max())
        steps = (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)
        ticks = [t for t in steps if low / 2.5 <= t <= high * 2.5]
        ax.set_yticks(ticks, [f"{t:g}" for t in ticks])
        ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_title(title)
    ax.legend(loc="center right", fontsize=8)
    return ax


def plot_disk_rates(
    disks: Sequence[int],
    rates_mb_s: Mapping[str, npt.ArrayLike],
    ax: Axes | None = None,
    *,
    title: str = "Each disk restores more slowly as disks share an account",
) -> Axes:
    """Rate of each disk against the disks restoring into one account, one line per scenario
    (from :func:`vmbackup.restore.disk_rate_mb_s`)."""
    ax = _axes(ax, (8, 4.5))
    for label, rates in rates_mb_s.items():
        ax.plot(list(disks), np.asarray(rates), marker="o", markersize=2.5, label=label)
    ax.set_xlabel("disks restoring into the same storage account")
    ax.set_ylabel("rate of each disk [MB/s]")
    ax.set_title(title)
    ax.set_ylim(bottom=0)
    ax.set_xlim(left=0)
    ax.legend(loc="upper right", fontsize=8)
    return ax


def plot_rto_options(table: pl.DataFrame, ax: Axes | None = None, title: str = "") -> Axes:
    """One bar per restore option of one VM, split into rehydration, queue, copy and the steps
    after it; a blocked option shows its first finding (``restore_options``)."""
    ax = _axes(ax, (9, 0.6 * table.height + 1.6))
    rows = table.with_columns(
        wait_hours=pl.col("start_hours") - pl.col("rehydrate_hours"),
        copy_hours=pl.col("end_hours") - pl.col("start_hours"),
    )
    y = np.arange(rows.height)
    left = np.zeros(rows.height)
    for phase, colour in PHASE_COLOURS.items():
        width = rows[phase].fill_null(0.0).to_numpy()
        ax.barh(y, width, left=left, color=colour, label=_PHASE_LABELS[phase], height=0.6)
        left = left + width
    for i, row in enumerate(rows.iter_rows(named=True)):
        if row["status"] == "blocked":
            reason = str(row["findings"]).split("; ")[0]
            ax.text(0, i, f" blocked: {reason[:70]}", va="center", fontsize=8, color="#b00020")
        else:
            ax.text(
                left[i], i, f" {row['rto_hours']:.2f} h ({row['tier']})", va="center", fontsize=8
            )
    ax.set_yticks(y, rows["option"].to_list())
    ax.invert_yaxis()
    ax.set_xlim(0, max(float(left.max()), 1e-3) * 1.35)
    ax.set_xlabel("hours until the VM is usable (RTO)")
    ax.set_title(title or "How long until this VM is back, by restore option")
    ax.legend(loc="lower right", fontsize=8)
    return ax


def plot_rto_by_age(
    ages_days: Sequence[float],
    rto_hours: Mapping[str, Sequence[float | None]],
    ax: Axes | None = None,
    *,
    title: str = "RTO against the age of the recovery point",
) -> Axes:
    """RTO against the age of the point restored, one line per scenario (a step where the
    point's snapshot expires, R2)."""
    ax = _axes(ax, (8, 4.5))
    widths = np.linspace(4.5, 1.5, max(len(rto_hours), 1))  # lines that coincide stay visible
    for (label, hours), width in zip(rto_hours.items(), widths, strict=False):
        values = np.array([np.nan if h is None else h for h in hours], dtype=float)
        ax.step(list(ages_days), values, where="post", label=label, linewidth=width)
    ax.set_xlabel("age of the recovery point [days]")
    ax.set_ylabel("hours until the VM is usable (RTO) [h]")
    ax.set_title(title)
    ax.set_ylim(bottom=0)
    ax.legend(loc="lower right", fontsize=8)
    return ax
