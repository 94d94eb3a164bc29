"""The estate-restore app: how long until the first VMs of a fleet are usable again, with which
restore option, from which point, into how many storage accounts."""

from __future__ import annotations

import html
from collections.abc import Mapping
from functools import partial

import ipywidgets as w
import polars as pl
from matplotlib.axes import Axes

from vmbackup._checks import non_negative
from vmbackup.apps._form import FigureImage, Form, error_html, figure_app, new_axes
from vmbackup.policy import Policy
from vmbackup.restore import PLACEMENTS, REGION_CLASSES, STORAGE_TARGETS
from vmbackup.restore_options import estate_rto
from vmbackup.restore_plots import RtoChart

__all__ = ["APP_OPTIONS", "CHART_ROWS", "accounts_note", "restore_app", "restore_update"]

#: The most VMs the restore chart draws; a larger restore shows the ones usable last.
CHART_ROWS = 20

#: Size [inches] of the restore chart, room for :data:`CHART_ROWS` rows.
FIGSIZE_IN = (10.0, 5.0)

#: The most VMs the app restores (its slider's end).
MAX_VMS = 60

#: The options the app offers (file recovery brings files back, not VMs: see notebook 05).
APP_OPTIONS = ("create-vm", "restore-disks", "replace-disks", "cross-region")


def accounts_note(placement: str, vms: int) -> str:
    """Why the accounts slider does not apply to ``placement`` ("" when it does)."""
    if placement == "one-account":
        return "one-account puts every VM into account 0: the accounts slider does not apply"
    if placement == "per-vm":
        return f"per-vm gives each VM its own account ({vms}): the accounts slider does not apply"
    return ""


def restore_update(
    *,
    fleet: pl.DataFrame,
    policies: Mapping[str, Policy],
    vms: int = 12,
    accounts: int = 3,
    placement: str = "round-robin",
    background_load_percent: float = 0.0,
    region_class: str = "major",
    recovery_point_age_days: float = 3.0,
    option: str = "create-vm",
    vault_concurrency: int = 100,
    chart: RtoChart | None = None,
) -> tuple[pl.DataFrame | None, str, Axes | None]:
    """The restore app's pure update: the first ``vms`` VMs of ``fleet`` restored at once.

    Cross-region restore assumes a GRS vault with Cross Region Restore enabled (G10). The
    timeline is drawn into ``chart`` (the app's, updated in place) or a new one of at most
    :data:`CHART_ROWS` rows.
    """
    try:
        names = fleet["vm_name"].unique(maintain_order=True)
        if not (isinstance(vms, int) and 1 <= vms <= names.len()):
            raise ValueError(f"vms={vms!r} must be a whole number in 1..{names.len()}")
        chosen = fleet.filter(pl.col("vm_name").is_in(names[:vms].to_list()))
        load = non_negative("background_load_percent", background_load_percent) / 100
        rto = estate_rto(
            chosen,
            policies,
            option=option,
            recovery_point_age_days=recovery_point_age_days,
            accounts=accounts,
            placement=placement,
            background_load=load,
            region_class=region_class,
            cross_region_enabled=True,
            vault_concurrency=vault_concurrency,
            alone=False,
        )
    except ValueError as error:
        return None, error_html(error), None
    ok = rto.filter(pl.col("status") == "ok")
    blocked = rto.height - ok.height
    text = _summary(rto, ok, vms, region_class, load)
    if chart is None:
        chart = RtoChart(new_axes(*FIGSIZE_IN), rows=CHART_ROWS)
    if ok.height == 0:
        return (
            rto,
            text + f"<p>All {blocked} VMs are blocked: nothing to draw.</p>",
            chart.show(rto),
        )
    return rto, text, chart.show(rto)


def _summary(rto: pl.DataFrame, ok: pl.DataFrame, vms: int, region: str, load: float) -> str:
    """The app's text: when the VMs are usable, where the time goes, what is blocked."""
    parts = []
    if ok.height:
        last = float(ok["rto_hours"].max())  # type: ignore[arg-type]
        median = float(ok["rto_hours"].median())  # type: ignore[arg-type]
        snapshots = int((ok["tier"] == "snapshot").sum())
        every = "All" if ok.height == vms else f"{ok.height} of"
        parts.append(
            f"<p><b>{every} {vms} VMs restored after {last:.2f} h</b> (median VM usable after "
            f"{median:.2f} h); {snapshots} from their Instant Restore snapshot, "
            f"{ok.height - snapshots} from the vault tier.</p>"
        )
        vault = ok.filter(pl.col("tier") != "snapshot")
        if vault.height:
            accounts = vault["account"].n_unique()
            per_account = int(vault["account"].value_counts()["count"].max())  # type: ignore[arg-type]
            ingress = STORAGE_TARGETS[region]["account_throughput_mb_s"]
            parts.append(
                f"<p>{accounts} account(s) in a {region} region ({ingress:,.0f} MB/s each), "
                f"up to {per_account} VM(s) on one; {load:.0%} of each taken by other "
                "work.</p>"
            )
    blocked = rto.filter(pl.col("status") == "blocked")
    if blocked.height:
        reasons = blocked.group_by("findings").len().sort("len", descending=True)
        first = reasons.row(0, named=True)
        parts.append(
            f"<p style='color:#b00020'>{blocked.height} VM(s) blocked, e.g. "
            f"{html.escape(first['findings'])}</p>"
        )
    return "".join(parts)


def restore_app(fleet: pl.DataFrame, policies: Mapping[str, Policy]) -> w.Box:
    """VMs, option, recovery point, accounts, placement, region, other load, vault slots: the
    estate's restore VM by VM until each is usable.

    The accounts slider is disabled, with the reason beside it, under the placements where it
    cannot matter (one-account, per-vm). The sliders report when released: this is the
    heaviest app (a new simulation, and a chart whose rows, VM labels and legend change with
    most moves; ``benchmarks/widgets.py``).
    """
    form = Form(200, 520, continuous=False)
    n = fleet["vm_name"].n_unique()
    controls: dict[str, w.ValueWidget] = {
        "vms": form.whole("VMs to restore", 12, 1, min(n, MAX_VMS)),
        "option": form.choice("restore option", APP_OPTIONS, "create-vm"),
        "recovery_point_age_days": form.real("recovery point age [days]", 3.0, 0.0, 30.0, 0.5),
        "accounts": form.whole("storage accounts", 3, 1, 20),
        "placement": form.choice("placement", PLACEMENTS, "round-robin"),
        "region_class": form.choice("target region", REGION_CLASSES, "major"),
        "background_load_percent": form.real("other load on accounts [%]", 0, 0, 90, 5),
        "vault_concurrency": form.whole("vault restore slots", 100, 1, 100),
    }
    view = FigureImage(partial(RtoChart, rows=CHART_ROWS), *FIGSIZE_IN)
    app = figure_app(
        controls,
        lambda **values: restore_update(fleet=fleet, policies=policies, chart=view.chart, **values),
        view,
    )
    note = w.HTML(layout=w.Layout(margin="0 0 0 210px"))
    slider = controls["accounts"]

    def follow(_: object = None) -> None:
        reason = accounts_note(str(controls["placement"].value), int(controls["vms"].value))
        slider.disabled = bool(reason)
        slider.tooltip = reason or None  # the reason also shows on hover
        note.value = f"<small><i>{html.escape(reason)}</i></small>" if reason else ""

    box = app.children[0]
    widgets = list(box.children)
    box.children = (
        *widgets[: widgets.index(slider) + 1],
        note,
        *widgets[widgets.index(slider) + 1 :],
    )
    for name in ("placement", "vms"):
        controls[name].observe(follow, names="value")
    follow()
    app.accounts_note = note
    return app
