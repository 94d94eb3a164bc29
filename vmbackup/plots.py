"""Matplotlib figures drawn from model results. Every function takes ``ax=None`` and returns it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import numpy.typing as npt
import polars as pl
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap
from matplotlib.patches import Patch

from vmbackup.billing import Prices, pi_fee_usd_per_month

__all__ = [
    "BILL_PARTS",
    "LEVEL_COLOURS",
    "plot_backup_timeline",
    "plot_block_map",
    "plot_daily_churn",
    "plot_in_flight",
    "plot_job_durations",
    "plot_level_grid",
    "plot_monthly_bill",
    "plot_pi_fee",
    "plot_restore_curves",
    "plot_restore_gantt",
    "plot_space_check",
    "plot_storage_growth",
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
    ax.set_title(f"Protected-instance fee by size ({prices.region}, prices as of {prices.as_of})")
    ax.set_xlim(0, max_size_gb)
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper left")
    return ax


BILL_PARTS = {
    "pi_fee_usd": ("protected-instance fee", "#264653"),
    "vault_storage_usd": ("vault storage", "#2a9d8f"),
    "snapshot_storage_usd": ("snapshot storage (Instant Restore)", "#e9c46a"),
}


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
    ax = _axes(ax, (10, 4.5))
    months = bill["month"].to_list()
    x = np.arange(len(months))
    bottom = np.zeros(len(months))
    for column, (label, colour) in BILL_PARTS.items():
        values = bill[column].to_numpy()
        ax.bar(x, values, bottom=bottom, label=label, color=colour, width=0.8)
        bottom += values
    ax.set_ylim(0, max(float(bottom.max()), 1.0) * 1.3)  # room for the event labels
    step = max(1, len(months) // 12)
    ax.set_xticks(x[::step], [m.strftime("%b %Y") for m in months[::step]], rotation=45, ha="right")
    for name, day in events:
        position = (day.year - months[0].year) * 12 + day.month - months[0].month
        position += (day.day - 1) / 31 - 0.4
        ax.axvline(position, color="#b00020", linewidth=1, linestyle="--")
        ax.annotate(
            name,
            (position, 1.0),
            xycoords=("data", "axes fraction"),
            rotation=90,
            va="top",
            ha="right",
            fontsize=8,
            color="#b00020",
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1},
        )
    ax.set_xlabel("month")
    ax.set_ylabel(f"cost [{currency}]")
    ax.set_title(title)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    return ax


def plot_storage_growth(
    days: pl.Series, storage_gb: Mapping[str, npt.ArrayLike], ax: Axes | None = None
) -> Axes:
    """Vault storage over time for one or more scenarios (label -> GB per day)."""
    ax = _axes(ax, (9, 4.5))
    for label, values in storage_gb.items():
        ax.plot(days.to_list(), np.asarray(values), label=label)
    ax.set_xlabel("date")
    ax.set_ylabel("data stored in the vault [GB]")
    ax.set_title("Vault storage grows with retention, then levels off")
    ax.set_ylim(bottom=0)
    ax.legend(loc="lower right")
    ax.figure.autofmt_xdate()
    return ax


def plot_restore_gantt(result: pl.DataFrame, ax: Axes | None = None, title: str = "") -> Axes:
    """One bar per VM restore (queue wait hatched, copy solid), grouped and coloured by account.

    ``result`` is the output of :func:`vmbackup.restore.simulate_restore`.
    """
    ordered = result.with_row_index("queue").sort("account", "queue")
    ax = _axes(ax, (10, max(3.0, 0.22 * ordered.height + 1.5)))
    colours = plt.get_cmap("tab10")
    accounts = ordered["account"].unique(maintain_order=True).to_list()
    y = np.arange(ordered.height)
    for account in accounts:
        rows = ordered.with_row_index("y").filter(pl.col("account") == account)
        colour = colours(accounts.index(account) % 10)
        ax.barh(
            rows["y"],
            rows["duration_hours"],
            left=rows["start_hours"],
            color=colour,
            height=0.7,
            label=f"account {account}" if len(accounts) <= 10 else None,
        )
        waiting = rows.filter(pl.col("wait_hours") > 0)
        if waiting.height:
            ax.barh(
                waiting["y"],
                waiting["wait_hours"],
                left=0,
                color="none",
                edgecolor=colour,
                hatch="//",
                height=0.7,
                linewidth=0.5,
            )
    ax.set_yticks(y, ordered["vm_name"].to_list(), fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("hours since the restore was requested")
    ax.set_ylabel("VM (grouped by target storage account)")
    ax.set_title(title or f"Restoring {ordered.height} VMs into {len(accounts)} storage account(s)")
    if len(accounts) <= 10:
        ax.legend(
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            fontsize=8,
            title="solid: copying\nhatched: queued",
            title_fontsize=8,
        )
    else:
        ax.text(
            0.99,
            0.01,
            f"{len(accounts)} accounts (colours repeat)",
            transform=ax.transAxes,
            ha="right",
            va="bottom",
            fontsize=8,
        )
    return ax


def plot_restore_curves(
    x: Sequence[float],
    curves: Mapping[str, Sequence[float]],
    ax: Axes | None = None,
    *,
    xlabel: str,
    title: str,
) -> Axes:
    """Restore time (hours) against a planning choice, one line per scenario."""
    ax = _axes(ax, (8, 4.5))
    for label, hours in curves.items():
        ax.plot(list(x), list(hours), marker="o", markersize=3, label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("time until the last VM is restored [h]")
    ax.set_title(title)
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper right")
    return ax


def plot_space_check(checks: pl.DataFrame, ax: Axes | None = None, top: int = 15) -> Axes:
    """Premium storage before the first backup: used and free against the 50% line (S21), for
    the ``top`` VMs with the largest shortfall (output of ``premium_space_check``)."""
    rows = checks.filter(pl.col("premium_allocated_gb") > 0).head(top)
    ax = _axes(ax, (9, max(3.0, 0.3 * rows.height + 1.5)))
    y = np.arange(rows.height)
    used = rows["premium_used_gb"].to_numpy()
    allocated = rows["premium_allocated_gb"].to_numpy()
    ax.barh(y, used, color="#264653", label="used")
    ax.barh(y, allocated - used, left=used, color="#e9ecef", edgecolor="#adb5bd", label="free")
    ax.vlines(
        allocated * 0.5,
        y - 0.45,
        y + 0.45,
        color="#e76f51",
        linewidth=2.5,
        zorder=3,
        label="50% of allocated",
    )
    short = rows["status"].to_numpy() == "short"
    ax.barh(
        y[short],
        (used - allocated * 0.5)[short],
        left=(allocated * 0.5)[short],
        color="none",
        edgecolor="#e76f51",
        hatch="xx",
        label="shortfall",
    )
    ax.set_yticks(y, rows["vm_name"].to_list(), fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("premium OS + data disks [GB]")
    ax.set_ylabel("VM")
    ax.set_title("Room for the first backup: used data must stay left of the 50% mark")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    return ax


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


def plot_backup_timeline(timeline: Any, ax: Axes | None = None, title: str = "") -> Axes:
    """Gantt chart of a backup job (``transfer.backup_timeline``) with its 24 h window."""
    phases = timeline.phases
    labels = list(
        dict.fromkeys(
            ("VM: " + p) if d == "all" else d
            for d, p in zip(phases["disk"], phases["phase"], strict=True)
        )
    )
    ax = _axes(ax, (10, 0.5 * len(labels) + 1.8))
    start = float(phases["start_hour"].min())
    for row in phases.iter_rows(named=True):
        label = ("VM: " + row["phase"]) if row["disk"] == "all" else row["disk"]
        ax.barh(
            labels.index(label),
            row["end_hour"] - row["start_hour"],
            left=row["start_hour"] - start,
            color=PHASE_COLOURS[row["phase"]],
            height=0.6,
        )
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
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, max(26.0, timeline.total_hours * 1.05))
    ax.set_xlabel(f"hours since the scheduled start ({start:05.2f} h)")
    ax.set_ylabel("phase / disk")
    verdict = "failed" if timeline.failed else ("met" if timeline.met_window else "missed")
    ax.set_title(title or f"Backup job: {timeline.total_hours:.1f} h, window {verdict}")
    ax.legend(
        handles=[Patch(color=c, label=p) for p, c in PHASE_COLOURS.items()],
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        fontsize=8,
    )
    return ax


def plot_daily_churn(days: pl.DataFrame, ax: Axes | None = None, title: str = "") -> Axes:
    """Bytes written against distinct bytes changed, per day and disk (``churn.trace_churn``)."""
    ax = _axes(ax, (9, 4.5))
    labels = [f"{d:%d %b}\ndisk {n}" for d, n in zip(days["day"], days["disk_number"], strict=True)]
    x = np.arange(days.height)
    ax.bar(
        x - 0.2,
        days["written_bytes"].to_numpy() / 1e9,
        width=0.4,
        label="bytes written",
        color="#adb5bd",
    )
    ax.bar(
        x + 0.2,
        days["changed_bytes"].to_numpy() / 1e9,
        width=0.4,
        label="distinct changed (sent)",
        color="#2a9d8f",
    )
    ax.set_xticks(x, labels, fontsize=8)
    ax.set_xlabel("day and disk")
    ax.set_ylabel("data [GB]")
    ax.set_title(title or "Daily churn: written vs what a backup sends")
    ax.legend(loc="upper left")
    return ax


def plot_in_flight(
    concurrency: Mapping[str, npt.ArrayLike],
    bin_hours: float,
    ax: Axes | None = None,
    *,
    hours: tuple[float, float] = (0.0, 72.0),
    title: str = "Backup transfers in flight",
) -> Axes:
    """Transfers in flight over time, one line per scenario (``FleetResult.concurrency``)."""
    ax = _axes(ax, (10, 4.5))
    for label, values in concurrency.items():
        series = np.asarray(values, dtype=np.float64)
        x = np.arange(series.size) * bin_hours
        keep = (x >= hours[0]) & (x <= hours[1])
        ax.plot(x[keep], series[keep], label=label, linewidth=1.2)
    for day in range(int(hours[0] // 24) + 1, int(hours[1] // 24) + 1):
        ax.axvline(day * 24, color="#adb5bd", linewidth=0.8, linestyle=":")
    ax.set_xlim(*hours)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("hours since the first day's midnight")
    ax.set_ylabel("transfers in flight [VMs]")
    ax.set_title(title)
    ax.legend(loc="upper right")
    return ax


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
