"""Matplotlib figures drawn from model results. Every function takes ``ax=None`` and returns it."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import polars as pl
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap
from matplotlib.patches import Patch

__all__ = ["LEVEL_COLOURS", "plot_level_grid"]

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
