"""The premium-space app: is there room on premium storage for the first backup (S21, G15)?"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import ipywidgets as w
import polars as pl
from matplotlib.axes import Axes

from vmbackup.apps._form import FigureImage, Form, error_html, figure_app, new_axes
from vmbackup.capacity import SPACE_RULES, SpaceCheck, vm_space_check
from vmbackup.plots import SpaceChart

__all__ = ["premium_space_app", "premium_space_rules", "premium_space_update"]

#: Size [inches] of the one-VM space chart.
FIGSIZE_IN = (8.0, 2.6)

_STATUS_COLOURS = {"ok": "#2a9d8f", "short": "#e76f51", "not-applicable": "#6c757d"}


def premium_space_update(
    *,
    allocated_gb: float = 1024.0,
    used_gb: float = 600.0,
    premium: bool = True,
    managed: bool = True,
    instant_restore: bool = True,
    first_backup_done: bool = False,
    rules: str = "seed",
    chart: SpaceChart | None = None,
) -> tuple[SpaceCheck | None, str, Axes | None]:
    """The S21 app's pure update: the check, an HTML verdict and a bar of the space measured,
    drawn into ``chart`` (the app's, updated in place) or a new one.

    ``rules="seed"`` (the app's default, as notebook 04 teaches) checks the VM's premium disks
    (S21); ``rules="today"`` only unmanaged premium disks, in their storage account, the VM
    alone in it (G15; ``vmbackup.capacity``)."""
    try:
        check = vm_space_check(
            allocated_gb=allocated_gb,
            used_gb=used_gb,
            premium=premium,
            managed=managed,
            instant_restore=instant_restore,
            first_backup_done=first_backup_done,
            rules=rules,
        )
    except ValueError as error:
        return None, error_html(error), None
    colour = _STATUS_COLOURS[check.status]
    why_not = [
        reason
        for reason, holds in (
            ("the disks are not premium storage", not premium),
            (
                "managed disks have no storage account to fill",
                premium and managed and check.rules == "today",
            ),
            ("the policy keeps no Instant Restore snapshot", not instant_restore),
            ("the first backup is already done", first_backup_done),
        )
        if holds
    ]
    where = (
        f"in the storage account ({check.space_gb:,.0f} GB assumed, this VM alone in it) "
        if check.scope == "storage-account"
        else ""
    )
    need = (
        f"the first backup needs {check.required_free_gb:,.1f} GB free {where}"
        f"(free {check.free_gb:,.1f} GB); shortfall {check.shortfall_gb:,.1f} GB"
        if not why_not
        else "no free space is needed: "
        + "; ".join(why_not)
        + (" (S21, G15)" if check.rules == "today" else " (S21)")
    )
    rule = (
        "today's rule (G15): unmanaged premium disks only, per storage account"
        if check.rules == "today"
        else "the seed's rule (S21): every premium VM"
    )
    sizes = f"premium disks: {used_gb:,.1f} GB used of {allocated_gb:,.1f} GB allocated"
    text = (
        f'<p><b style="color:{colour}">{check.status}</b>: {html.escape(check.advice)}.</p>'
        f"<p>{html.escape(rule)}; {html.escape(need)}.</p><p>{html.escape(sizes)}.</p>"
    )
    frame = pl.DataFrame(
        {
            "vm_name": ["this VM"],
            "scope": [check.scope],
            "space_gb": [check.space_gb],
            "taken_gb": [check.taken_gb],
            "required_free_gb": [check.required_free_gb],
            "status": [check.status],
        }
    )
    ax = (chart if chart is not None else SpaceChart(new_axes(*FIGSIZE_IN))).show(frame)
    return check, text, ax


def premium_space_rules(values: Mapping[str, Any]) -> dict[str, str]:
    """The premium-space app's controls that cannot matter in a state, and why."""
    greyed: dict[str, str] = {}
    if values["rules"] == "seed":
        greyed["managed"] = "the seed's rule (S21) checks premium disks, managed or not"
    elif not values["premium"]:
        greyed["managed"] = "the disks are not premium storage: there is nothing to check"
    if values["rules"] == "today":
        greyed["used_gb"] = (
            "today's rule (G15) weighs what the disks allocate in their storage account, not "
            "the data on them"
        )
    return greyed


def premium_space_app() -> w.Box:
    """Allocated and used premium storage, managed or not, Instant Restore, first backup done,
    the seed's or today's rule: the verdict (S21, G15)."""
    form = Form(160, 480)
    controls: dict[str, w.ValueWidget] = {
        "allocated_gb": form.real("allocated [GB]", 1024, 0, 8192, 32),
        "used_gb": form.real("used [GB]", 600, 0, 8192, 8),
        "premium": form.flag("premium storage", True),
        "managed": form.flag("managed disks", True),
        "instant_restore": form.flag("Instant Restore", True),
        "first_backup_done": form.flag("first backup done", False),
        "rules": form.choice("rules (seed or today)", SPACE_RULES, "seed"),
    }
    view = FigureImage(SpaceChart, *FIGSIZE_IN)
    return figure_app(
        controls,
        lambda **values: premium_space_update(chart=view.chart, **values),
        view,
        rules=premium_space_rules,
    )
