"""The fleet app: a week of the whole estate's backups, its scale, vault and schedule spread."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

import ipywidgets as w
import numpy.typing as npt
import polars as pl
from matplotlib.axes import Axes

from vmbackup._checks import whole
from vmbackup.apps._form import FigureImage, Form, error_html, figure_app, new_axes
from vmbackup.fleet import (
    BIN_HOURS,
    FleetResult,
    fleet_plan,
    scale_fleet,
    simulate_fleet,
    stagger_offsets,
)
from vmbackup.plots import InFlightChart
from vmbackup.policy import Policy

__all__ = ["fleet_app", "fleet_update"]

#: Size [inches] of the transfers-in-flight chart.
FIGSIZE_IN = (10.0, 4.2)


#: The most copies of the sample fleet the app simulates (see :func:`fleet_update`).
MAX_APP_COPIES = 100


def fleet_update(
    *,
    fleet: pl.DataFrame,
    policies: Mapping[str, Policy],
    lag_profile_hours: npt.ArrayLike,
    fleet_copies: int = 1,
    vault_ingest_mb_s: float = 700.0,
    spread_minutes: float = 0.0,
    days: int = 7,
    chart: InFlightChart | None = None,
) -> tuple[FleetResult | None, str, Axes | None]:
    """The fleet app's pure update: a week of the (scaled) fleet with a start-time spread,
    drawn into ``chart`` (the app's, updated in place) or a new one."""
    try:
        # an app answers while the slider moves: at most 100 copies (20,000 sample VMs, well
        # under a second); bigger estates are the plan's job (python -m vmbackup plan)
        whole("fleet_copies", fleet_copies, 1, MAX_APP_COPIES)
        scaled = scale_fleet(fleet, fleet_copies)
        plan = fleet_plan(scaled, policies)
        offsets = stagger_offsets(plan, spread_minutes)
        common: dict[str, Any] = {
            "lag_profile_hours": lag_profile_hours,
            "days": days,
            "vault_ingest_mb_s": vault_ingest_mb_s,
        }
        result = simulate_fleet(plan, offsets_hours=offsets, **common)
        default = simulate_fleet(plan, **common) if spread_minutes else result
    except ValueError as error:
        return None, error_html(error), None
    jobs = result.jobs
    worst = float(jobs["duration_hours"].max())  # type: ignore[arg-type]
    over = int((~jobs["met_window"]).sum())
    text = (
        f"<p><b>{plan.vms:,} VMs x {days} days: {over:,} of {jobs.height:,} jobs over the 24 h "
        f"window</b>; worst job {worst:.1f} h; peak {result.concurrency.max():.0f} transfers in "
        f"flight (at the default times: {default.concurrency.max():.0f}).</p>"
    )
    curves = {"default start times": default.concurrency}
    if spread_minutes:
        curves[f"start times spread over ±{spread_minutes:g} min"] = result.concurrency
    if chart is None:
        chart = InFlightChart(new_axes(*FIGSIZE_IN), BIN_HOURS)
    ax = chart.show(
        curves, title=f"Transfers in flight, {plan.vms:,} VMs, vault {vault_ingest_mb_s:g} MB/s"
    )
    return result, text, ax


def fleet_app(
    fleet: pl.DataFrame, policies: Mapping[str, Policy], lag_profile_hours: npt.ArrayLike
) -> w.Box:
    """Fleet scale, vault capacity and schedule spread: the week's traffic jam."""
    form = Form(220, 540)
    controls: dict[str, w.ValueWidget] = {
        "fleet_copies": form.whole("fleet size (x the sample)", 1, 1, 5),
        "vault_ingest_mb_s": form.real("vault ingest [MB/s]", 700, 50, 3000, 50),
        "spread_minutes": form.whole("spread start times [± min]", 0, 0, 180, 15),
    }
    view = FigureImage(partial(InFlightChart, bin_hours=BIN_HOURS), *FIGSIZE_IN)
    return figure_app(
        controls,
        lambda **v: fleet_update(
            fleet=fleet,
            policies=policies,
            lag_profile_hours=lag_profile_hours,
            chart=view.chart,
            **v,
        ),
        view,
    )
