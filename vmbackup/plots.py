"""Matplotlib figures drawn from model results. Every function takes ``ax=None`` and returns it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, cast

import matplotlib.pyplot as plt
import numpy as np
import numpy.typing as npt
import polars as pl
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from matplotlib.colors import ListedColormap
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.text import Annotation

from vmbackup.billing import Prices, pi_fee_usd_per_month

__all__ = [
    "BILL_PARTS",
    "LEVEL_COLOURS",
    "BillChart",
    "Chart",
    "ChurnChart",
    "InFlightChart",
    "PolicyChart",
    "SpaceChart",
    "TimelineChart",
    "plot_backup_timeline",
    "plot_block_map",
    "plot_daily_churn",
    "plot_in_flight",
    "plot_instant_restore_limits",
    "plot_job_durations",
    "plot_lag_profile",
    "plot_level_grid",
    "plot_monthly_bill",
    "plot_onboarding_waves",
    "plot_pi_fee",
    "plot_space_check",
    "plot_storage_growth",
    "plot_vault_ingest",
]

#: One colour per outcome, used wherever a consistency level is drawn.
LEVEL_COLOURS: dict[str, str] = {
    "application": "#2a9d8f",
    "file-system": "#8ab17d",
    "crash": "#e76f51",
    "retry": "#bdbdbd",
}

#: Columns of the level grid: a label and the inputs that define the scenario.
GRID_SCENARIOS: dict[str, dict[str, Any]] = {
    "Windows\nVSS all OK": {"os": "windows", "vss_writers": "all-succeeded"},
    "Windows\nsome writers\nfailed": {"os": "windows", "vss_writers": "some-failed"},
    "Windows\nall writers\nfailed": {"os": "windows", "vss_writers": "all-failed"},
    "Linux\nscripts OK": {"os": "linux", "linux_scripts": "succeeded"},
    "Linux\nno scripts": {"os": "linux", "linux_scripts": "not-configured"},
    "Linux\nscript failed,\ncontinue": {
        "os": "linux",
        "linux_scripts": "failed",
        "continue_backup_on_failure": True,
    },
    "Linux\nscript failed,\nstop": {
        "os": "linux",
        "linux_scripts": "failed",
        "continue_backup_on_failure": False,
    },
    "Agentless\n(any OS)": {"os": "windows", "policy_consistency": "crash"},
}

_BASE = {
    "policy_consistency": "application",
    "extension_installed": True,
    "vss_writers": "all-succeeded",
    "vss_mode": "full",
    "linux_scripts": "not-configured",
    "continue_backup_on_failure": True,
}


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def plot_level_grid(table: pl.DataFrame, ax: Axes | None = None) -> Axes:
    """Draw the consistency level for each VM state (rows) and scenario (columns).

    Parameters
    ----------
    table
        The output of :func:`vmbackup.consistency.decision_table` (or a superset of its rows).
    ax
        Axes to draw on; a new figure when None.
    """
    ax = _axes(ax, (11, 6.5))
    states = table.select("power_state", "provisioning_state").unique(maintain_order=True)
    codes = list(LEVEL_COLOURS)
    grid = np.zeros((states.height, len(GRID_SCENARIOS)), dtype=int)
    for j, scenario in enumerate(GRID_SCENARIOS.values()):
        wanted = {**_BASE, **scenario}
        chosen = table.filter(**wanted)
        lookup = {
            (row["power_state"], row["provisioning_state"]): row["level"] or "retry"
            for row in chosen.iter_rows(named=True)
        }
        for i, (power, provisioning) in enumerate(states.iter_rows()):
            grid[i, j] = codes.index(lookup[(power, provisioning)])
    ax.imshow(
        grid, cmap=ListedColormap(list(LEVEL_COLOURS.values())), vmin=0, vmax=3, aspect="auto"
    )
    ax.set_xticks(np.arange(-0.5, len(GRID_SCENARIOS)), minor=True)
    ax.set_yticks(np.arange(-0.5, states.height), minor=True)
    ax.grid(which="minor", color="white", linewidth=1.5)
    ax.tick_params(which="minor", length=0)
    ax.set_xticks(range(len(GRID_SCENARIOS)), list(GRID_SCENARIOS), fontsize=8)
    ax.set_yticks(
        range(states.height),
        [f"{power} / {prov}" for power, prov in states.iter_rows()],
        fontsize=8,
    )
    ax.set_xlabel("scenario inside the VM (extension already installed)")
    ax.set_ylabel("power state / provisioning state")
    ax.set_title("Which consistency does each backup get?")
    ax.legend(
        handles=[Patch(color=c, label=name) for name, c in LEVEL_COLOURS.items()],
        title="outcome",
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
    )
    return ax


def plot_pi_fee(prices: Prices, max_size_gb: float = 2500.0, ax: Axes | None = None) -> Axes:
    """Draw the monthly protected-instance fee against the used size (P1, S27)."""
    ax = _axes(ax, (8, 4.5))
    sizes = np.linspace(0, max_size_gb, 2001)
    for consistency, label, style in (
        ("application", "agent-based (application / file-system)", "-"),
        ("crash", "agentless crash-consistent (preview: 0.5 PI)", "--"),
    ):
        fee = pi_fee_usd_per_month(sizes, prices, consistency)
        ax.step(sizes, fee, where="post", linestyle=style, label=label)
    ax.axvline(prices.pi_small_max_gb, color="grey", linewidth=0.8, linestyle=":")
    ax.set_xlabel("protected-instance size: used data on OS + data disks [GB]")
    ax.set_ylabel(f"fee per VM per month [{prices.currency}]")
    ax.set_title(f"Protected-instance fee by size ({prices.region}, {prices.dated()})")
    ax.set_xlim(0, max_size_gb)
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper left")
    return ax


BILL_PARTS = {
    "pi_fee_usd": ("protected-instance fee", "#264653"),
    "vault_storage_usd": ("vault storage", "#2a9d8f"),
    "snapshot_storage_usd": ("snapshot storage (Instant Restore)", "#e9c46a"),
}


def _padded(low: float, high: float, margin: float = 0.05) -> tuple[float, float]:
    """``low``..``high`` widened by ``margin`` of its span on each side (matplotlib's autoscale)."""
    pad = margin * (high - low)
    return low - pad, high + pad


def _place(
    bars: PolyCollection,
    left: npt.ArrayLike,
    bottom: npt.ArrayLike,
    width: npt.ArrayLike,
    height: npt.ArrayLike,
) -> None:
    """Move ``bars`` to the rectangles given by (broadcast) arrays, in one vectorised step."""
    x0, y0, dx, dy = np.broadcast_arrays(
        *(np.atleast_1d(np.asarray(a, dtype=np.float64)) for a in (left, bottom, width, height))
    )
    xs = np.stack([x0, x0 + dx, x0 + dx, x0], axis=-1)
    ys = np.stack([y0, y0, y0 + dy, y0 + dy], axis=-1)
    # an (n, 4, 2) array takes set_verts's fast path; its type hints only name sequences
    bars.set_verts(cast(Any, np.stack([xs, ys], axis=-1)))


def _bars(ax: Axes, **style: Any) -> PolyCollection:
    """An empty set of bars on ``ax``, drawn in one call; ``_place`` moves them.
    It does not take part in autoscaling: the charts set their limits themselves."""
    bars = PolyCollection([], **style)
    ax.add_collection(bars, autolim=False)
    return bars


class Chart:
    """A chart drawn once on ``ax`` and updated in place by its ``show`` method.

    ``stable`` names the artists that lie outside the data area and that ``show`` changes only
    now and then (an axis whose limits and labels stay, a legend beside the axes); every change
    to them goes through :meth:`_keep`, which bumps ``stable_version``. A viewer may keep those
    artists in a cached background and redraw only the others (see ``vmbackup.apps``); drawn
    the ordinary way, a chart looks the same.
    """

    def __init__(self, ax: Axes) -> None:
        self.ax = ax
        self.stable: tuple[Artist, ...] = ()
        self.stable_version = 0
        self._ylabels: list[str] | None = None

    def _keep(self, *artists: Artist | None) -> None:
        """Declare the stable artists (again, after one of them changed)."""
        self.stable = tuple(a for a in artists if a is not None)
        self.stable_version += 1

    def _title(self, title: str) -> None:
        # A fixed position: these charts have no x axis on top, so the search matplotlib makes
        # for one on every draw (it measures every tick label) would find the same place.
        self.ax.set_title(title, y=1.0)

    def _yticks(self, labels: Sequence[str], fontsize: float) -> bool:
        """Label rows 0, 1, ... with ``labels``; False (and nothing done) if they are the same."""
        if list(labels) == self._ylabels:
            return False
        self._ylabels = list(labels)
        self.ax.set_yticks(np.arange(len(labels)), self._ylabels, fontsize=fontsize)
        return True


class BillChart(Chart):
    """Stacked bars of a monthly bill with labelled event markers, updated in place.

    :meth:`show` moves the bars, markers, limits and texts to a new bill; the month axis is
    rebuilt only when the months change. ``plot_monthly_bill`` draws one bill with it.
    """

    def __init__(self, ax: Axes) -> None:
        super().__init__(ax)
        self._months: list[dt.date] = []
        self._parts = {
            column: _bars(ax, facecolors=colour, edgecolors="none")
            for column, (_, colour) in BILL_PARTS.items()
        }
        self._markers: list[tuple[Line2D, Annotation]] = []
        ax.set_xlabel("month")
        ax.legend(
            handles=[Patch(color=colour, label=label) for label, colour in BILL_PARTS.values()],
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            fontsize=8,
        )

    def _month_axis(self, months: list[dt.date]) -> None:
        x = np.arange(len(months))
        step = max(1, len(months) // 12)
        labels = [m.strftime("%b %Y") for m in months[::step]]
        self.ax.set_xticks(x[::step], labels, rotation=45, ha="right")
        self.ax.set_xlim(*_padded(-0.4, len(months) - 0.6))
        self._months = months
        self._keep(self.ax.xaxis, self.ax.get_legend())

    def _marker(self, index: int) -> tuple[Line2D, Annotation]:
        while len(self._markers) <= index:
            line = self.ax.axvline(0, color="#b00020", linewidth=1, linestyle="--")
            note = self.ax.annotate(
                "",
                (0, 1.0),
                xycoords=("data", "axes fraction"),
                rotation=90,
                va="top",
                ha="right",
                fontsize=8,
                color="#b00020",
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1},
            )
            self._markers.append((line, note))
        return self._markers[index]

    def show(
        self,
        bill: pl.DataFrame,
        *,
        events: Sequence[tuple[str, dt.date]] = (),
        title: str = "Monthly bill",
        currency: str = "USD",
    ) -> Axes:
        """Draw ``bill`` (from ``vmbackup.billing.monthly_bill``) and its events (name, date)."""
        months = bill["month"].to_list()
        if months != self._months:
            self._month_axis(months)
        x = np.arange(len(months)) - 0.4
        bottom = np.zeros(len(months))
        for column, bars in self._parts.items():
            values = bill[column].to_numpy()
            _place(bars, x, bottom, 0.8, values)
            bottom = bottom + values
        self.ax.set_ylim(0, max(float(bottom.max(initial=0.0)), 1.0) * 1.3)  # room for labels
        for index, (name, day) in enumerate(events):
            position = (day.year - months[0].year) * 12 + day.month - months[0].month
            position += (day.day - 1) / 31 - 0.4
            line, note = self._marker(index)
            line.set_xdata([position, position])
            note.xy = note.xyann = (position, 1.0)  # the marked point and the label's anchor
            note.set_text(name)
            line.set_visible(True)
            note.set_visible(True)
        for line, note in self._markers[len(events) :]:
            line.set_visible(False)
            note.set_visible(False)
        self.ax.set_ylabel(f"cost [{currency}]")
        self._title(title)
        return self.ax


def plot_monthly_bill(
    bill: pl.DataFrame,
    ax: Axes | None = None,
    *,
    events: Sequence[tuple[str, dt.date]] = (),
    title: str = "Monthly bill",
    currency: str = "USD",
) -> Axes:
    """Stacked bars of a monthly bill (from ``vmbackup.billing.monthly_bill``), with optional
    labelled event markers (name, date)."""
    chart = BillChart(_axes(ax, (10, 4.5)))
    return chart.show(bill, events=events, title=title, currency=currency)


def plot_storage_growth(
    days: pl.Series,
    storage_gb: Mapping[str, npt.ArrayLike],
    ax: Axes | None = None,
    title: str = "Vault storage as recovery points accumulate",
) -> Axes:
    """Vault storage over time for one or more scenarios (label -> GB per day)."""
    ax = _axes(ax, (9, 4.5))
    for label, values in storage_gb.items():
        ax.plot(days.to_list(), np.asarray(values), label=label)
    ax.set_xlabel("date")
    ax.set_ylabel("data stored in the vault [GB]")
    ax.set_title(title)
    ax.set_ylim(bottom=0)
    ax.legend(loc="lower right")
    ax.figure.autofmt_xdate()
    return ax


_SPACE_COLOURS = {"used": "#264653", "free": "#e9ecef", "edge": "#adb5bd", "mark": "#e76f51"}
#: Per scope of the check (``capacity.SpaceCheck.scope``): the x label and the legend's words
#: for what takes the space and for the mark.
_SPACE_WORDS = {
    "disks": ("premium OS + data disks [GB]", "used", "50% of allocated"),
    "storage-account": (
        "premium storage account capacity [GB] (G15)",
        "allocated by its disks",
        "free must stay >= 50% of allocated",
    ),
}


class SpaceChart(Chart):
    """Premium storage before the first backup, what takes the space and what is free against
    the 50% mark (S21 per VM, or G15 per storage account), one row per VM, updated in place.
    ``plot_space_check`` draws one table with it."""

    def __init__(self, ax: Axes, top: int = 15) -> None:
        super().__init__(ax)
        self.top = top
        colours = _SPACE_COLOURS
        self._used = _bars(ax, facecolors=colours["used"], edgecolors="none")
        self._free = _bars(ax, facecolors=colours["free"], edgecolors=colours["edge"])
        self._short = _bars(
            ax, facecolors="none", edgecolors=colours["mark"], hatch="xx", hatchcolors="edge"
        )
        self._mark = ax.vlines([], [], [], color=colours["mark"], linewidth=2.5, zorder=3)
        ax.set_ylabel("VM")
        self._title("Room for the first backup: what is taken must stay left of the mark")
        self._scope = ""
        self._words("disks")

    def _words(self, scope: str) -> None:
        """Axis label and legend for the scope of the check (kept until the scope changes)."""
        if scope == self._scope or scope not in _SPACE_WORDS:
            return
        self._scope = scope
        label, taken, mark = _SPACE_WORDS[scope]
        colours = _SPACE_COLOURS
        self.ax.set_xlabel(label)
        self.ax.legend(
            handles=[
                Patch(color=colours["used"], label=taken),
                Patch(facecolor=colours["free"], edgecolor=colours["edge"], label="free"),
                Line2D([], [], color=colours["mark"], linewidth=2.5, label=mark),
                Patch(facecolor="none", edgecolor=colours["mark"], hatch="xx", label="shortfall"),
            ],
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            fontsize=8,
        )
        self._keep(self.ax.yaxis, self.ax.title, self.ax.get_legend())

    def show(self, checks: pl.DataFrame) -> Axes:
        """Draw the ``top`` VMs of ``checks`` (output of ``capacity.premium_space_check``)
        whose space was measured (``space_gb`` above 0), in their order (largest shortfall
        first); under today's rule each row names the VM's storage account."""
        rows = checks.filter(pl.col("space_gb") > 0).head(self.top)
        scopes = rows["scope"].unique().to_list() if "scope" in rows.columns else []
        self._words(scopes[0] if len(scopes) == 1 else "disks")
        y = np.arange(rows.height, dtype=np.float64)
        taken = rows["taken_gb"].to_numpy()
        space = rows["space_gb"].to_numpy()
        mark = space - rows["required_free_gb"].to_numpy()
        short = rows["status"].to_numpy() == "short"
        _place(self._used, 0.0, y - 0.4, taken, 0.8)
        _place(self._free, taken, y - 0.4, space - taken, 0.8)
        _place(self._short, mark[short], y[short] - 0.4, (taken - mark)[short], 0.8)
        ends = np.stack([y - 0.45, y + 0.45], axis=-1)
        segments = np.stack([np.stack([mark, mark], axis=-1), ends], axis=-1)
        self._mark.set_segments(cast(Any, segments))
        names = rows["vm_name"].to_list()
        if "storage_account" in rows.columns:
            accounts = rows["storage_account"].to_list()
            names = [f"{n} ({a})" if a else n for n, a in zip(names, accounts, strict=True)]
        if self._yticks(names, fontsize=8):
            low, high = _padded(-0.45, rows.height - 0.55)
            self.ax.set_ylim(high, low)  # first row on top
            self._keep(self.ax.yaxis, self.ax.title, self.ax.get_legend())
        self.ax.set_xlim(0, max(float(space.max(initial=0.0)), 1.0) * 1.05)
        return self.ax


def plot_space_check(checks: pl.DataFrame, ax: Axes | None = None, top: int = 15) -> Axes:
    """Premium storage before the first backup: what takes the space and what is free against
    the 50% mark (S21, G15), for the first ``top`` VMs of ``checks`` whose space was measured
    (output of ``capacity.premium_space_check``, largest shortfall first)."""
    shown = min(top, checks.filter(pl.col("space_gb") > 0).height)
    ax = _axes(ax, (9, max(3.0, 0.3 * shown + 1.5)))
    return SpaceChart(ax, top).show(checks)


def plot_block_map(
    changed: npt.ArrayLike, ax: Axes | None = None, *, columns: int = 64, title: str = ""
) -> Axes:
    """Draw a disk's blocks as a grid, changed blocks dark (from ``blocks.changed_blocks``)."""
    mask = np.asarray(changed, dtype=bool)
    rows = -(-mask.size // columns)
    grid = np.full(rows * columns, np.nan)
    grid[: mask.size] = mask
    ax = _axes(ax, (8, max(2.0, rows * 0.12 + 1.2)))
    ax.imshow(
        grid.reshape(rows, columns),
        cmap=ListedColormap(["#e9ecef", "#e76f51"]),
        vmin=0,
        vmax=1,
        aspect="auto",
        interpolation="nearest",
    )
    ax.set_xlabel(f"block within a row of {columns}")
    ax.set_ylabel(f"row ({columns} blocks each)")
    ax.set_title(title or f"{int(mask.sum())} of {mask.size} blocks changed")
    ax.legend(
        handles=[
            Patch(color="#e76f51", label="changed"),
            Patch(color="#e9ecef", label="unchanged"),
        ],
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        fontsize=8,
    )
    return ax


PHASE_COLOURS = {
    "preparation": "#adb5bd",
    "wait for vault": "#e9c46a",
    "checksum scan": "#e76f51",
    "transfer": "#2a9d8f",
}


def _timeline_rows(phases: pl.DataFrame) -> tuple[list[str], list[str]]:
    """Each phase's row label ("VM: <phase>" for the whole VM, else the disk), and the labels
    in order of first appearance."""
    rows = [
        ("VM: " + p) if d == "all" else d
        for d, p in zip(phases["disk"], phases["phase"], strict=True)
    ]
    return rows, list(dict.fromkeys(rows))


class TimelineChart(Chart):
    """Gantt chart of a backup job (``transfer.backup_timeline``) with its 24 h window, updated
    in place. The chart keeps room for at least ``min_rows`` rows, so it does not jump when a row
    comes or goes; ``plot_backup_timeline`` draws one job with it."""

    def __init__(self, ax: Axes, min_rows: int = 0) -> None:
        super().__init__(ax)
        self.min_rows = min_rows
        self._bars = _bars(ax, edgecolors="none")
        ax.axvline(24, color="#b00020", linestyle="--", linewidth=1)
        ax.annotate(
            "24 h window",
            (24, 1.0),
            xycoords=("data", "axes fraction"),
            ha="right",
            va="top",
            fontsize=8,
            color="#b00020",
            rotation=90,
        )
        ax.set_ylabel("phase / disk")
        ax.legend(
            handles=[Patch(color=c, label=p) for p, c in PHASE_COLOURS.items()],
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            fontsize=8,
        )

    def show(self, timeline: Any, title: str = "") -> Axes:
        """Draw ``timeline``, a ``vmbackup.transfer.Timeline``."""
        phases = timeline.phases
        rows, labels = _timeline_rows(phases)
        begin = phases["start_hour"].to_numpy()
        start = float(begin.min())
        y = np.array([labels.index(row) for row in rows], dtype=np.float64)
        _place(self._bars, begin - start, y - 0.3, phases["end_hour"].to_numpy() - begin, 0.6)
        self._bars.set_facecolor([PHASE_COLOURS[phase] for phase in phases["phase"]])
        if self._yticks(labels, fontsize=8):
            low, high = _padded(-0.3, max(len(labels), self.min_rows) - 0.7)
            self.ax.set_ylim(high, low)  # first row on top
            self._keep(self.ax.yaxis, self.ax.get_legend())
        self.ax.set_xlim(0, max(26.0, timeline.total_hours * 1.05))
        self.ax.set_xlabel(f"hours since the scheduled start ({start:05.2f} h)")
        verdict = "failed" if timeline.failed else ("met" if timeline.met_window else "missed")
        self._title(title or f"Backup job: {timeline.total_hours:.1f} h, window {verdict}")
        return self.ax


def plot_backup_timeline(timeline: Any, ax: Axes | None = None, title: str = "") -> Axes:
    """Gantt chart of a backup job (``transfer.backup_timeline``) with its 24 h window."""
    _, labels = _timeline_rows(timeline.phases)
    ax = _axes(ax, (10, 0.5 * len(labels) + 1.8))
    return TimelineChart(ax).show(timeline, title)


_CHURN_COLOURS = {"written": "#adb5bd", "changed": "#2a9d8f"}


def _churn_labels(table: pl.DataFrame) -> list[str]:
    """One tick label per row of a ``churn.trace_churn`` table: its period and disk."""
    disks = [f"disk {n}" for n in table["disk_number"]]
    if "day" in table.columns:
        return [f"{d:%a %d %b}\n{disk}" for d, disk in zip(table["day"], disks, strict=True)]
    return [
        f"{d:%d %b} + {n} day{'s' if n != 1 else ''}\n{disk}"
        for d, n, disk in zip(table["period_start"], table["period_days"], disks, strict=True)
    ]


class ChurnChart(Chart):
    """Bytes written against distinct data changed [GB] per period and disk, on a log scale (an
    OS disk's megabytes and a database disk's gigabytes side by side), each bar labelled with
    its value; updated in place. ``plot_daily_churn`` draws one table with it."""

    def __init__(self, ax: Axes) -> None:
        super().__init__(ax)
        self._written = _bars(ax, facecolor=_CHURN_COLOURS["written"], edgecolors="none")
        self._changed = _bars(ax, facecolor=_CHURN_COLOURS["changed"], edgecolors="none")
        self._values: list[Any] = []
        ax.set_yscale("log")
        ax.set_ylabel("data [GB], log scale")
        ax.legend(
            handles=[
                Patch(color=_CHURN_COLOURS["written"], label="written"),
                Patch(color=_CHURN_COLOURS["changed"], label="distinct changed: what is sent"),
            ],
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            fontsize=8,
        )
        self._keep(ax.get_legend())

    def _label(self, index: int) -> Any:
        while len(self._values) <= index:
            self._values.append(
                self.ax.annotate(
                    "", (0, 0), xytext=(0, 2), textcoords="offset points", ha="center", fontsize=7
                )
            )
        return self._values[index]

    def show(self, table: pl.DataFrame, title: str = "") -> Axes:
        """Draw ``table``, from ``churn.trace_churn`` (any period)."""
        written = table["written_bytes"].to_numpy() / 1e9
        changed = table["changed_bytes"].to_numpy() / 1e9
        both = np.concatenate([written, changed])
        positive = both[both > 0]
        low = float(positive.min()) if positive.size else 1e-3
        bottom = 10 ** np.floor(np.log10(low) - 0.3)
        top = float(both.max(initial=1.0))
        x = np.arange(table.height, dtype=np.float64)
        _place(self._written, x - 0.38, bottom, 0.36, np.maximum(written - bottom, 0))
        _place(self._changed, x + 0.02, bottom, 0.36, np.maximum(changed - bottom, 0))
        for index, (left, value) in enumerate(
            [
                *((xi - 0.2, v) for xi, v in zip(x, written, strict=True)),
                *((xi + 0.2, v) for xi, v in zip(x, changed, strict=True)),
            ]
        ):
            text = self._label(index)
            text.xy = (left, max(value, bottom))
            text.set_text(f"{value:.3g}")
            text.set_visible(True)
        for text in self._values[2 * table.height :]:
            text.set_visible(False)
        self.ax.set_xticks(x, _churn_labels(table), fontsize=8)
        self.ax.set_xlim(-0.6, max(table.height, 1) - 0.4)
        self.ax.set_ylim(bottom, top * 4)
        self._title(title or "Churn: data written vs distinct data changed (sent)")
        return self.ax


def plot_daily_churn(days: pl.DataFrame, ax: Axes | None = None, title: str = "") -> Axes:
    """Bytes written against distinct data changed [GB], per period and disk
    (``churn.trace_churn``), on a log scale with each bar's value written on it."""
    return ChurnChart(_axes(ax, (10, 4.5))).show(days, title)


def plot_lag_profile(
    lag_profile_hours: npt.ArrayLike,
    ax: Axes | None = None,
    *,
    mark_hour: float | None = None,
    title: str = "",
) -> Axes:
    """The wait for the vault by the hour a snapshot is taken (S11), one bar per hour; a
    marked hour (a job's snapshot) is drawn in a stronger colour and labelled."""
    lag = np.asarray(lag_profile_hours, dtype=np.float64)
    ax = _axes(ax, (10, 3.2))
    hours = np.arange(lag.size)
    colours = ["#e9c46a"] * lag.size
    if mark_hour is not None:
        marked = int(mark_hour) % lag.size
        colours[marked] = "#e76f51"
        ax.annotate(
            f"snapshot at {mark_hour:05.2f} h: waits {lag[marked]:g} h",
            (marked + 0.4, lag[marked]),
            xytext=(0, 4),
            textcoords="offset points",
            ha="right" if marked > lag.size * 0.75 else "left" if marked < 4 else "center",
            fontsize=8,
        )
    ax.bar(hours, lag, width=0.8, color=colours, align="edge")
    ax.set_xticks(hours[::2], [f"{h:02d}:00" for h in hours[::2]], fontsize=8)
    ax.set_xlim(0, lag.size)
    ax.set_ylim(0, max(float(lag.max(initial=0.0)), 1.0) * 1.2)
    ax.set_xlabel("hour the snapshot is taken (local time)")
    ax.set_ylabel("wait for the vault [h]")
    ax.set_title(title or "Lag profile: how long a snapshot waits for the vault, by hour")
    return ax


class InFlightChart(Chart):
    """Transfers in flight over ``hours``, one line per scenario, updated in place;
    ``plot_in_flight`` draws one set of curves with it."""

    def __init__(
        self, ax: Axes, bin_hours: float, *, hours: tuple[float, float] = (0.0, 72.0)
    ) -> None:
        super().__init__(ax)
        self.bin_hours, self.hours = bin_hours, hours
        self._lines: list[Line2D] = []
        self._labels: tuple[str, ...] = ()
        for day in range(int(hours[0] // 24) + 1, int(hours[1] // 24) + 1):
            ax.axvline(day * 24, color="#adb5bd", linewidth=0.8, linestyle=":")
        ax.set_xlim(*hours)
        ax.set_xlabel("hours since the first day's midnight")
        ax.set_ylabel("transfers in flight [VMs]")
        self._keep(ax.xaxis)

    def show(
        self, concurrency: Mapping[str, npt.ArrayLike], title: str = "Backup transfers in flight"
    ) -> Axes:
        """Draw each scenario's ``FleetResult.concurrency`` (label -> transfers per bin)."""
        top = 0.0
        for index, (label, values) in enumerate(concurrency.items()):
            series = np.asarray(values, dtype=np.float64)
            x = np.arange(series.size) * self.bin_hours
            keep = (x >= self.hours[0]) & (x <= self.hours[1])
            if index == len(self._lines):
                self._lines.append(self.ax.plot([], [], linewidth=1.2)[0])
            line = self._lines[index]
            line.set_data(x[keep], series[keep])
            line.set_label(label)
            line.set_visible(True)
            top = max(top, float(series[keep].max(initial=0.0)))
        for line in self._lines[len(concurrency) :]:
            line.set_visible(False)
        if tuple(concurrency) != self._labels:
            self._labels = tuple(concurrency)
            self.ax.legend(handles=self._lines[: len(concurrency)], loc="upper right")
        self.ax.set_ylim(0, max(top, 1.0) * 1.05)
        self._title(title)
        return self.ax


def plot_in_flight(
    concurrency: Mapping[str, npt.ArrayLike],
    bin_hours: float,
    ax: Axes | None = None,
    *,
    hours: tuple[float, float] = (0.0, 72.0),
    title: str = "Backup transfers in flight",
) -> Axes:
    """Transfers in flight over time, one line per scenario (``FleetResult.concurrency``)."""
    chart = InFlightChart(_axes(ax, (10, 4.5)), bin_hours, hours=hours)
    return chart.show(concurrency, title)


def plot_job_durations(
    durations: Mapping[str, npt.ArrayLike], ax: Axes | None = None, title: str = ""
) -> Axes:
    """Histogram of backup job durations against the 24 h window, one per scenario."""
    ax = _axes(ax, (9, 4.5))
    arrays = {k: np.asarray(v, dtype=np.float64) for k, v in durations.items()}
    top = max(26.0, max(float(a.max()) for a in arrays.values()) * 1.05)
    bins = np.linspace(0, top, 60).tolist()
    for label, values in arrays.items():
        ax.hist(values, bins=bins, histtype="step", linewidth=1.5, label=label)
    ax.axvline(24, color="#b00020", linestyle="--", linewidth=1, label="24 h window")
    ax.set_yscale("log")
    ax.set_xlabel("job duration: scheduled start to last disk done [h]")
    ax.set_ylabel("jobs (log scale)")
    ax.set_title(title or "How long the month's backup jobs took")
    ax.legend(loc="upper right")
    return ax


def plot_instant_restore_limits(
    rules: Mapping[str, Any], ax: Axes | None = None, title: str = ""
) -> Axes:
    """The longest Instant Restore each hourly interval allows, one bar per rule set (G2).

    ``rules`` maps a label to a :class:`vmbackup.policy.PolicyRules`; an interval a rule set
    does not offer has no bar.
    """
    ax = _axes(ax, (9, 3.6))
    intervals = sorted({i for r in rules.values() for i in r.hourly_intervals_hours})
    x = np.arange(len(intervals), dtype=np.float64)
    width = 0.8 / max(len(rules), 1)
    colours = ("#8d99ae", "#2a9d8f", "#e76f51")
    for k, (label, rule) in enumerate(rules.items()):
        high = rule.instant_restore_days[("enhanced", "hourly")][1]
        days = [
            rule.hourly_instant_restore_max_days.get(i, high)
            if i in rule.hourly_intervals_hours
            else np.nan
            for i in intervals
        ]
        bars = ax.bar(
            x + (k - (len(rules) - 1) / 2) * width,
            days,
            width,
            label=label,
            color=colours[k % len(colours)],
        )
        ax.bar_label(bars, fmt="%g", fontsize=8, padding=2)
        for position, value in zip(x + (k - (len(rules) - 1) / 2) * width, days, strict=True):
            if np.isnan(value):
                ax.text(position, 1, "not\noffered", ha="center", va="bottom", fontsize=7)
    ax.set_xticks(x, [f"every {i} h" for i in intervals])
    ax.set_xlabel("hourly interval of an Enhanced policy")
    ax.set_ylabel("longest Instant Restore [days]")
    ax.set_ylim(0, 34)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    ax.set_title(title or "Instant Restore allowed by interval: the seed's rule and today's")
    return ax


class PolicyChart(Chart):
    """Monthly storage cost of a policy and its Enhanced twins, one stacked bar each (snapshots,
    vault), with each variant's RPO in its label; updated in place."""

    def __init__(self, ax: Axes) -> None:
        super().__init__(ax)
        snap, vault = (BILL_PARTS[c][1] for c in ("snapshot_storage_usd", "vault_storage_usd"))
        self._snap = _bars(ax, facecolors=snap, edgecolors="none")
        self._vault = _bars(ax, facecolors=vault, edgecolors="none")
        self._notes: list[Annotation] = []
        ax.legend(
            handles=[
                Patch(color=snap, label="Instant Restore snapshots"),
                Patch(color=vault, label="vault storage"),
            ],
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            fontsize=8,
        )

    def show(self, table: pl.DataFrame, *, currency: str = "USD", title: str = "") -> Axes:
        """Draw ``table`` (from :func:`vmbackup.lint.enhanced_whatif`), first variant on top."""
        y = np.arange(table.height, dtype=np.float64)
        snap = table["snapshot_usd_per_month"].to_numpy()
        vault = table["vault_usd_per_month"].to_numpy()
        _place(self._snap, 0.0, y - 0.35, snap, 0.7)
        _place(self._vault, snap, y - 0.35, vault, 0.7)
        labels = [
            f"{p}\nRPO {r:g} h" for p, r in zip(table["policy"], table["rpo_hours"], strict=True)
        ]
        if self._yticks(labels, fontsize=8):
            low, high = _padded(-0.45, table.height - 0.55)
            self.ax.set_ylim(high, low)
        total = snap + vault
        while len(self._notes) < table.height:
            self._notes.append(
                self.ax.annotate(
                    "", (0, 0), xytext=(3, 0), textcoords="offset points", va="center", fontsize=8
                )
            )
        for note, value, row in zip(self._notes, total, y, strict=False):
            note.xy = (value, row)
            note.set_text(f"{value:,.2f}")
            note.set_visible(True)
        for note in self._notes[table.height :]:
            note.set_visible(False)
        self.ax.set_xlim(0, max(float(total.max(initial=0.0)), 0.01) * 1.25)
        self.ax.set_xlabel(f"storage cost [{currency} per month]")
        self._title(title or "The same VMs under the policy and its Enhanced twins")
        return self.ax


def plot_onboarding_waves(waves: pl.DataFrame, ax: Axes | None = None, title: str = "") -> Axes:
    """The onboarding waves (``Onboarding.waves`` of :func:`vmbackup.onboarding.plan_onboarding`):
    VMs enabled each day, and VMs with a first recovery point by the end of each day."""
    ax = _axes(ax, (9, 4.0))
    day = waves["day"].to_numpy()
    ax.bar(day, waves["vms"].to_numpy(), width=0.7, color="#2a9d8f", label="VMs enabled that day")
    ax.step(
        day,
        waves["protected_vms"].to_numpy(),
        where="mid",
        color="#264653",
        linewidth=2,
        label="VMs with a recovery point (end of day)",
    )
    ax.set_xlabel("day of the roll-out")
    ax.set_ylabel("VMs")
    ax.set_xticks(day if day.size <= 31 else day[:: int(np.ceil(day.size / 31))])
    ax.set_ylim(0, max(float(waves["protected_vms"].max() or 0), 1.0) * 1.1)  # type: ignore[arg-type]
    ax.set_title(title or "Onboarding waves: first backups by day (S12, S23)")
    ax.legend(loc="upper left")
    return ax


def plot_vault_ingest(hourly: pl.DataFrame, ax: Axes | None = None, title: str = "") -> Axes:
    """The vaults' ingest per hour while the waves run (``Onboarding.hourly``): what the steady
    state is served and what the first backups send, against the capacity."""
    ax = _axes(ax, (10, 4.0))
    hour = hourly["hour"].to_numpy()
    steady = hourly["steady_mb_s"].to_numpy()
    onboarding = hourly["onboarding_mb_s"].to_numpy()
    ax.fill_between(hour, 0, steady, step="post", color="#e9c46a", label="steady-state jobs")
    ax.fill_between(
        hour, steady, steady + onboarding, step="post", color="#2a9d8f", label="first backups"
    )
    ax.step(
        hour,
        hourly["capacity_mb_s"].to_numpy(),
        where="post",
        color="#b00020",
        linestyle="--",
        linewidth=1,
        label="ingest capacity",
    )
    for day in range(24, int(hour.max(initial=0)) + 1, 24):
        ax.axvline(day, color="#adb5bd", linewidth=0.8, linestyle=":")
    ax.set_xlim(0, max(float(hour.max(initial=0)) + 1, 24.0))
    ax.set_ylim(0, max(float((steady + onboarding).max(initial=0.0)), 1.0) * 1.3)
    ax.set_xlabel("hours since the first day's midnight")
    ax.set_ylabel("vault ingest, all vaults [MB/s]")
    ax.set_title(title or "Vault ingest while the waves run (S11, S13)")
    ax.legend(loc="upper right", fontsize=8)
    return ax
