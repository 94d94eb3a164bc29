"""Figures of the calibration and the reconciliation (notebook 08). Every function takes
``ax=None`` and returns the axes it drew on."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import numpy.typing as npt
import polars as pl
from matplotlib.axes import Axes

from vmbackup.calibrate import HistoryFit
from vmbackup.reconcile import Reconciliation

__all__ = ["plot_durations", "plot_lag_fit", "plot_reconciliation"]

_FITTED, _DEFAULT, _TRUE = "#2a9d8f", "#e76f51", "#264653"


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def plot_durations(fit: HistoryFit, ax: Axes | None = None) -> Axes:
    """Measured against modelled duration of every job used in the fit: the model with the
    fitted figures, and with the defaults (7 MB/s per disk, the assumed lag profile)."""
    ax = _axes(ax, (6.0, 5.0))
    jobs = fit.jobs.filter(pl.col("modelled_hours").is_not_null())
    measured = jobs["measured_hours"].to_numpy()
    high = float(max(measured.max(), jobs["default_hours"].max(), jobs["modelled_hours"].max()))
    ax.plot([0, high * 1.05], [0, high * 1.05], color="#999999", lw=1, label="perfect model")
    ax.scatter(measured, jobs["default_hours"], s=12, color=_DEFAULT, alpha=0.6, label="defaults")
    ax.scatter(measured, jobs["modelled_hours"], s=12, color=_FITTED, alpha=0.7, label="fitted")
    ax.set(
        title="Job durations: measured against modelled",
        xlabel="measured duration [h]",
        ylabel="modelled duration [h]",
        xlim=(0, high * 1.05),
        ylim=(0, high * 1.05),
    )
    ax.legend(loc="upper left")
    return ax


def plot_lag_fit(
    fit: HistoryFit, ax: Axes | None = None, true_hours: npt.ArrayLike | None = None
) -> Axes:
    """The assumed lag profile (S11) against the lag fitted at the hours the history covers,
    with each hour's spread; and, for generated history, the true profile."""
    ax = _axes(ax, (8.0, 3.6))
    hours = np.arange(24)
    ax.step(hours, fit.lag["assumed_hours"], where="mid", color=_DEFAULT, label="assumed")
    if true_hours is not None:
        ax.step(hours, np.asarray(true_hours), where="mid", color=_TRUE, ls=":", label="true")
    fitted = fit.lag.filter(pl.col("fitted"))
    ax.errorbar(
        fitted["hour"],
        fitted["lag_hours"],
        yerr=fitted["spread_hours"].fill_null(0.0),
        fmt="o",
        color=_FITTED,
        capsize=4,
        label="fitted (± spread)",
    )
    ax.set(
        title="Wait for the vault by the hour of the snapshot",
        xlabel="hour of the snapshot [h]",
        ylabel="lag [h]",
        xticks=range(0, 24, 2),
        ylim=(0, 8.5),
    )
    ax.legend(loc="upper center", ncols=3)
    return ax


def plot_reconciliation(result: Reconciliation, ax: Axes | None = None, top: int = 12) -> Axes:
    """Modelled and invoiced cost per VM over the bill's window (the ``top`` largest
    differences), the VMs with a finding marked."""
    ax = _axes(ax, (8.0, 4.2))
    table = result.by_vm.sort(pl.col("difference").abs(), descending=True).head(top)
    found = set(result.findings["vm_name"].drop_nulls())
    names = table["vm_name"].to_list()
    y = np.arange(len(names))
    ax.barh(y - 0.2, table["modelled_cost"], height=0.4, color=_FITTED, label="modelled")
    ax.barh(y + 0.2, table["invoiced_cost"], height=0.4, color=_DEFAULT, label="invoiced")
    ax.set_yticks(y, [f"{n}  !" if n in found else n for n in names])
    ax.invert_yaxis()
    ax.set(
        title=f"Modelled against invoiced, {result.window[0]} to {result.window[1]} "
        "(! a difference)",
        xlabel=f"cost over the window [{result.currency}]",
    )
    ax.legend(loc="lower right")
    return ax
