"""The restore app: how long restoring the first VMs of a fleet takes, into how many accounts."""

from __future__ import annotations

from functools import partial

import ipywidgets as w
import numpy as np
import polars as pl
from matplotlib.axes import Axes

from vmbackup._checks import non_negative
from vmbackup.apps._form import FigureImage, Form, error_html, figure_app, new_axes
from vmbackup.plots import RestoreChart
from vmbackup.restore import PLACEMENTS, restore_plan, simulate_restore

__all__ = ["CHART_ROWS", "restore_app", "restore_update"]

#: The most VMs the restore chart draws; a larger restore shows the ones that finish last.
CHART_ROWS = 20

#: Size [inches] of the restore chart, room for :data:`CHART_ROWS` rows.
FIGSIZE_IN = (10.0, 5.0)

#: The most VMs the app restores (its slider's end).
MAX_VMS = 60


def restore_update(
    *,
    fleet: pl.DataFrame,
    vms: int = 12,
    accounts: int = 3,
    placement: str = "round-robin",
    background_load_percent: float = 0.0,
    tier: str = "vault",
    vault_concurrency: int = 100,
    chart: RestoreChart | None = None,
) -> tuple[pl.DataFrame | None, str, Axes | None]:
    """The restore app's pure update: the first ``vms`` VMs of ``fleet`` restored as chosen.

    The timeline is drawn into ``chart`` (the app's, updated in place) or a new one of at most
    :data:`CHART_ROWS` rows.
    """
    try:
        names = fleet["vm_name"].unique(maintain_order=True)
        if not (isinstance(vms, int) and 1 <= vms <= names.len()):
            raise ValueError(f"vms={vms!r} must be a whole number in 1..{names.len()}")
        chosen = fleet.filter(pl.col("vm_name").is_in(names[:vms].to_list()))
        load = non_negative("background_load_percent", background_load_percent) / 100
        plan = restore_plan(
            chosen,
            placement=placement,
            accounts=accounts,
            background_load=load,
            tier=tier,
            vault_concurrency=vault_concurrency,
        )
        result = simulate_restore(plan)
    except ValueError as error:
        return None, error_html(error), None
    per_account = np.bincount(plan.vm_account[plan.disk_vm])
    last_hours = float(result["end_hours"].max())  # type: ignore[arg-type]
    median_hours = float(result["end_hours"].median())  # type: ignore[arg-type]
    text = (
        f"<p><b>All {vms} VMs restored after {last_hours:.2f} h</b> "
        f"(median VM {median_hours:.2f} h). "
        f"{per_account.size} account(s), up to {per_account.max()} disks on one account"
        f"{' (more than 10: expect throttling, S22)' if per_account.max() > 10 else ''}.</p>"
    )
    if chart is None:
        chart = RestoreChart(new_axes(*FIGSIZE_IN), rows=CHART_ROWS)
    return result, text, chart.show(result)


def restore_app(fleet: pl.DataFrame) -> w.Box:
    """VMs, accounts, placement, background load, tier: the restore timeline per account.

    The sliders report when released: this is the heaviest app (a new simulation, and a chart
    whose rows, VM labels and legend change with most moves; ``benchmarks/widgets.py``).
    """
    form = Form(200, 520, continuous=False)
    n = fleet["vm_name"].n_unique()
    controls: dict[str, w.ValueWidget] = {
        "vms": form.whole("VMs to restore", 12, 1, min(n, MAX_VMS)),
        "accounts": form.whole("storage accounts", 3, 1, 20),
        "placement": form.choice("placement", PLACEMENTS, "round-robin"),
        "background_load_percent": form.real("other load on accounts [%]", 0, 0, 90, 5),
        "tier": form.choice("restore from", ("vault", "snapshot"), "vault"),
        "vault_concurrency": form.whole("vault restore slots", 100, 1, 100),
    }
    view = FigureImage(partial(RestoreChart, rows=CHART_ROWS), *FIGSIZE_IN)
    return figure_app(
        controls, lambda **values: restore_update(fleet=fleet, chart=view.chart, **values), view
    )
