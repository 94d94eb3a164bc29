"""What-if apps: ipywidgets wired to the models. Each app has a pure update function that turns
control values into what is shown; the widget only calls it, so tests can call it too.

Errors from the models are shown in the app's output area as the message, never a traceback.
"""

from __future__ import annotations

import datetime as dt
import html
import io
from collections.abc import Callable, Mapping
from typing import Any, cast

import ipywidgets as w
import numpy as np
import numpy.typing as npt
import polars as pl
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from vmbackup._checks import non_negative
from vmbackup.billing import REDUNDANCIES, Event, Prices, monthly_bill, whatif_bill
from vmbackup.capacity import SpaceCheck, vm_space_check
from vmbackup.consistency import INPUTS, LEVELS, decide, decision_table
from vmbackup.fleet import (
    BIN_HOURS,
    FleetResult,
    fleet_plan,
    scale_fleet,
    simulate_fleet,
    stagger_offsets,
)
from vmbackup.plots import (
    BILL_PARTS,
    LEVEL_COLOURS,
    plot_backup_timeline,
    plot_in_flight,
    plot_monthly_bill,
    plot_restore_gantt,
    plot_space_check,
)
from vmbackup.policy import Policy
from vmbackup.restore import PLACEMENTS, restore_plan, simulate_restore
from vmbackup.transfer import Timeline, backup_timeline, extents_for

__all__ = [
    "ANY",
    "billing_whatif_app",
    "billing_whatif_update",
    "consistency_explorer",
    "consistency_report",
    "decision_browser",
    "error_html",
    "filter_decisions",
    "fleet_app",
    "fleet_update",
    "lifecycle_app",
    "lifecycle_update",
    "premium_space_app",
    "premium_space_update",
    "restore_app",
    "restore_update",
    "transfer_app",
    "transfer_update",
]

#: The "no filter" choice of the table browser's drop-downs.
ANY = "(any)"


def error_html(error: Exception) -> str:
    """The message of a model's error, ready for a widget's output area."""
    return (
        '<div style="color:#b00020;border-left:4px solid #b00020;padding:4px 8px">'
        f"<b>Input not accepted:</b> {html.escape(str(error))}</div>"
    )


class _Form:
    """Builds labelled controls of one width, so every app's controls line up."""

    def __init__(self, label_px: int = 200, width_px: int = 520) -> None:
        self.style = {"description_width": f"{label_px}px"}
        self.width = f"{width_px}px"

    def _common(self, description: str) -> dict[str, Any]:
        return {
            "description": description,
            "style": self.style,
            "layout": w.Layout(width=self.width),
        }

    def whole(
        self, description: str, value: int, low: int, high: int, step: int = 1
    ) -> w.IntSlider:
        return w.IntSlider(value=value, min=low, max=high, step=step, **self._common(description))

    def real(
        self, description: str, value: float, low: float, high: float, step: float
    ) -> w.FloatSlider:
        return w.FloatSlider(value=value, min=low, max=high, step=step, **self._common(description))

    def choice(self, description: str, options: tuple[Any, ...], value: Any) -> w.Dropdown:
        return w.Dropdown(options=options, value=value, **self._common(description))

    def flag(self, description: str, value: bool) -> w.Checkbox:
        return w.Checkbox(value=value, **self._common(description))


def consistency_report(**inputs: Any) -> str:
    """HTML for the consistency explorer: level, what restoring means, reasons, VM changes.

    Takes the keyword arguments of :func:`vmbackup.consistency.decide`.
    """
    try:
        decision = decide(**inputs)
    except ValueError as error:
        return error_html(error)
    if decision.level is None:
        headline = "No recovery point now: the job is retried"
        colour = LEVEL_COLOURS["retry"]
        meaning = "Nothing is restored from this attempt; the next try decides the level."
    else:
        headline = f"{decision.level}-consistent"
        colour = LEVEL_COLOURS[decision.level]
        meaning = LEVELS[decision.level]
    reasons = "".join(f"<li>{html.escape(r)}</li>" for r in decision.reasons)
    changes = "".join(f"<li>{html.escape(c)}</li>" for c in decision.vm_changes) or "<li>none</li>"
    return (
        f'<div style="font-size:1.3em;font-weight:bold;color:white;background:{colour};'
        f'padding:4px 8px;display:inline-block">{headline}</div>'
        f"<p><b>Restoring it:</b> {html.escape(meaning)}</p>"
        f"<p><b>Backup extension:</b> {decision.extension}</p>"
        f"<p><b>Why:</b></p><ol>{reasons}</ol>"
        f"<p><b>What happens inside the VM:</b></p><ul>{changes}</ul>"
    )


def _control(name: str, allowed: tuple[Any, ...], value: Any) -> w.ValueWidget:
    form, label = _Form(190, 420), name.replace("_", " ")
    if isinstance(allowed[0], bool):
        return form.flag(label, value)
    return form.choice(label, allowed, value)


_WINDOWS_ONLY = ("vss_writers", "vss_mode")
_LINUX_ONLY = ("linux_scripts", "continue_backup_on_failure")


def consistency_explorer(**start: Any) -> w.Box:
    """An app with a control for every input of ``decide`` and the report beside them.

    Controls that do not apply to the chosen OS are greyed out.
    """
    defaults: dict[str, Any] = {name: allowed[0] for name, allowed in INPUTS.items()}
    defaults.update(continue_backup_on_failure=True, **start)
    controls = {name: _control(name, INPUTS[name], defaults[name]) for name in INPUTS}
    report = w.HTML(layout=w.Layout(width="560px"))

    def update(_: object = None) -> None:
        values = {name: c.value for name, c in controls.items()}
        for name in _WINDOWS_ONLY:
            controls[name].disabled = values["os"] != "windows"
        for name in _LINUX_ONLY:
            controls[name].disabled = values["os"] != "linux"
        report.value = consistency_report(**values)

    for control in controls.values():
        control.observe(update, names="value")
    update()
    app = w.HBox([w.VBox(list(controls.values())), report])
    app.controls = controls
    app.report = report
    return app


def filter_decisions(table: pl.DataFrame, filters: Mapping[str, Any]) -> pl.DataFrame:
    """Rows of ``table`` matching every filter; a value of :data:`ANY` leaves a column free and
    ``level="retry"`` selects the retried jobs (level None).

    Raises ValueError for a column that is not in the table.
    """
    unknown = [name for name in filters if name not in table.columns]
    if unknown:
        raise ValueError(f"filter column(s) {unknown} not in the table; columns: {table.columns}")
    conditions = [
        pl.col(name).is_null() if (name, value) == ("level", "retry") else pl.col(name) == value
        for name, value in filters.items()
        if value != ANY
    ]
    return table.filter(*conditions) if conditions else table


def _table_html(rows: pl.DataFrame, shown: int) -> str:
    counts = rows.group_by("level", maintain_order=True).len().sort("level", nulls_last=True)
    summary = ", ".join(
        f"{(level or 'retry')}: {n}" for level, n in counts.select("level", "len").iter_rows()
    )
    head = rows.head(shown)
    cells = "".join(f"<th>{html.escape(c)}</th>" for c in head.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
        for row in head.iter_rows()
    )
    return (
        f"<p><b>{rows.height} matching combinations</b> ({summary}); "
        f"showing {head.height}.</p>"
        f'<table style="font-size:0.8em"><tr>{cells}</tr>{body}</table>'
    )


def decision_browser(shown: int = 15) -> w.Box:
    """The whole decision table with a drop-down filter per input and per outcome."""
    table = decision_table()
    filter_columns: dict[str, tuple[Any, ...]] = {**INPUTS, "level": (*tuple(LEVELS), "retry")}
    controls = {
        name: w.Dropdown(
            options=(ANY, *values),
            value=ANY,
            description=name.replace("_", " "),
            style={"description_width": "170px"},
            layout=w.Layout(width="330px"),
        )
        for name, values in filter_columns.items()
    }
    view = w.HTML()

    def update(_: object = None) -> None:
        rows = filter_decisions(table, {name: c.value for name, c in controls.items()})
        view.value = _table_html(rows, shown)

    for control in controls.values():
        control.observe(update, names="value")
    update()
    grid = w.GridBox(
        list(controls.values()), layout=w.Layout(grid_template_columns="repeat(3, 340px)")
    )
    app = w.VBox([grid, view])
    app.controls = controls
    app.view = view
    return app


# --- billing -------------------------------------------------------------------------------------


def figure_png(figure: Figure) -> bytes:
    """Render a matplotlib figure to PNG bytes for an ``ipywidgets.Image``."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80)
    return buffer.getvalue()


def _new_axes(width: float = 10, height: float = 4.5) -> Axes:
    return Figure(figsize=(width, height), layout="constrained").subplots()


def _bill_summary(bill: pl.DataFrame, currency: str) -> str:
    totals = {column: float(bill[column].sum()) for column in BILL_PARTS}
    total = sum(totals.values())
    parts = ", ".join(f"{label} {totals[column]:,.2f}" for column, (label, _) in BILL_PARTS.items())
    return f"<p><b>Total over {bill.height} months: {total:,.2f} {currency}</b> ({parts}).</p>"


LIFECYCLE_HORIZON_MONTHS = 24


def lifecycle_update(
    *,
    prices: Prices,
    used_gb: float = 200.0,
    first_backup_month: int = 1,
    grow_to_gb: float = 800.0,
    grow_month: int = 6,
    stop_month: int = 12,
    delete_month: int = 18,
    soft_delete_days: int = 14,
    redundancy: str = "GRS",
) -> tuple[pl.DataFrame | None, str, Axes | None]:
    """The lifecycle app's pure update: events from month numbers, the bill, a summary, a chart.

    Months count from the ``protect`` event (month 0) in a 24-month window; a stop or delete
    month of 24 means "never". Returns (bill, summary HTML, axes), or (None, error HTML, None).
    """
    start = dt.date(2026, 1, 1)

    def month(n: int) -> dt.date:
        return dt.date(start.year + n // 12, n % 12 + 1, 1)

    try:
        for name, value in {
            "first_backup_month": first_backup_month,
            "grow_month": grow_month,
            "stop_month": stop_month,
            "delete_month": delete_month,
        }.items():
            if not (isinstance(value, int) and 0 <= value <= LIFECYCLE_HORIZON_MONTHS):
                raise ValueError(f"{name}={value!r} must be a month number in 0..24")
        events = [Event("protect", start, used_gb=used_gb)]
        if first_backup_month < LIFECYCLE_HORIZON_MONTHS:
            events.append(Event("first-backup", month(first_backup_month)))
        if first_backup_month < grow_month < min(stop_month, LIFECYCLE_HORIZON_MONTHS):
            events.append(Event("resize", month(grow_month), used_gb=grow_to_gb))
        if stop_month < LIFECYCLE_HORIZON_MONTHS:
            if stop_month <= first_backup_month:
                raise ValueError(
                    f"stop_month={stop_month} must come after first_backup_month="
                    f"{first_backup_month}"
                )
            events.append(Event("stop", month(stop_month)))
        if delete_month < LIFECYCLE_HORIZON_MONTHS:
            if delete_month <= stop_month:
                raise ValueError(
                    f"delete_month={delete_month} must come after stop_month={stop_month} "
                    "(data is deleted after protection stops)"
                )
            events.append(Event("delete", month(delete_month)))
        bill = monthly_bill(
            events,
            until=month(LIFECYCLE_HORIZON_MONTHS) - dt.timedelta(days=1),
            policy=Policy(daily_retention_days=30, weekly_retention_weeks=12),
            prices=prices,
            redundancy=redundancy,
            soft_delete_days=soft_delete_days,
        )
    except ValueError as error:
        return None, error_html(error), None
    ax = plot_monthly_bill(
        bill,
        _new_axes(),
        events=[(e.kind, e.day) for e in events],
        title="A VM's bill over its protection lifecycle",
        currency=prices.currency,
    )
    return bill, _bill_summary(bill, prices.currency), ax


def lifecycle_app(prices: Prices) -> w.Box:
    """Protect, back up, grow, stop and delete on a 24-month timeline; watch the bill."""
    form, months = _Form(250, 580), LIFECYCLE_HORIZON_MONTHS
    controls: dict[str, w.ValueWidget] = {
        "used_gb": form.real("used data [GB]", 200, 0, 3000, 10),
        "first_backup_month": form.whole("first successful backup (month)", 1, 0, months),
        "grow_to_gb": form.real("data grows to [GB]", 800, 0, 3000, 10),
        "grow_month": form.whole("growth happens (month)", 6, 0, months),
        "stop_month": form.whole("stop protection (month, 24 = never)", 12, 0, months),
        "delete_month": form.whole("delete data (month, 24 = never)", 18, 0, months),
        "soft_delete_days": form.whole("soft delete [days]", 14, 14, 180),
        "redundancy": form.choice("vault redundancy", REDUNDANCIES, "GRS"),
    }
    return _figure_app(controls, lambda **values: lifecycle_update(prices=prices, **values))


def _figure_app(
    controls: Mapping[str, w.ValueWidget],
    update: Callable[..., tuple[object, str, Axes | None]],
) -> w.Box:
    """Controls on top, a summary and a figure below, redrawn by ``update`` on every change."""
    summary = w.HTML()
    image = w.Image(format="png")

    def redraw(_: object = None) -> None:
        _, text, ax = update(**{name: c.value for name, c in controls.items()})
        summary.value = text
        if ax is not None:
            image.value = figure_png(cast(Figure, ax.figure))
            image.layout.display = None
        else:
            image.layout.display = "none"

    for control in controls.values():
        control.observe(redraw, names="value")
    redraw()
    app = w.VBox([w.VBox(list(controls.values())), summary, image])
    app.controls = controls
    app.summary = summary
    app.image = image
    return app


def billing_whatif_update(
    *,
    prices: Prices,
    used_gb: float = 500.0,
    daily_churn_percent: float = 3.0,
    daily_retention_days: int = 30,
    weekly_retention_weeks: int = 0,
    monthly_retention_months: int = 0,
    redundancy: str = "GRS",
    policy_type: str = "standard",
    instant_restore_days: int = 2,
    consistency: str = "application",
) -> tuple[pl.DataFrame | None, str, Axes | None]:
    """The what-if app's pure update: 12 months of one VM's bill, split into its parts.

    Returns (bill, summary HTML, axes), or (None, error HTML, None) for inputs the service
    does not allow (e.g. 10 Instant Restore days on a Standard policy).
    """
    try:
        policy = Policy(
            policy_type=policy_type,
            instant_restore_days=instant_restore_days,
            daily_retention_days=daily_retention_days,
            weekly_retention_weeks=weekly_retention_weeks or None,
            monthly_retention_months=monthly_retention_months or None,
            consistency=consistency,
        )
        bill = whatif_bill(
            used_gb=used_gb,
            prices=prices,
            policy=policy,
            daily_churn_fraction=non_negative("daily_churn_percent", daily_churn_percent) / 100,
            redundancy=redundancy,
        )
    except ValueError as error:
        return None, error_html(error), None
    title = (
        f"{used_gb:,.0f} GB VM, {daily_churn_percent:g}% daily churn, {policy_type} policy, "
        f"{redundancy}: 12 months"
    )
    ax = plot_monthly_bill(bill, _new_axes(), title=title, currency=prices.currency)
    return bill, _bill_summary(bill, prices.currency), ax


def billing_whatif_app(prices: Prices) -> w.Box:
    """Used size, churn, retention, redundancy, Standard vs Enhanced: 12 months of cost."""
    form = _Form(200, 520)
    controls: dict[str, w.ValueWidget] = {
        "used_gb": form.real("used data [GB]", 500, 0, 5000, 10),
        "daily_churn_percent": form.real("daily churn [%]", 3, 0, 20, 0.5),
        "daily_retention_days": form.whole("daily points kept [days]", 30, 1, 365),
        "weekly_retention_weeks": form.whole("weekly points kept [weeks]", 0, 0, 104),
        "monthly_retention_months": form.whole("monthly points kept [months]", 0, 0, 120),
        "redundancy": form.choice("vault redundancy", REDUNDANCIES, "GRS"),
        "policy_type": form.choice("policy type", ("standard", "enhanced"), "standard"),
        "instant_restore_days": form.whole("Instant Restore [days]", 2, 1, 30),
        "consistency": form.choice("consistency", ("application", "crash"), "application"),
    }
    return _figure_app(controls, lambda **values: billing_whatif_update(prices=prices, **values))


# --- premium space and restore -------------------------------------------------------------------


def premium_space_update(
    *,
    allocated_gb: float = 1024.0,
    used_gb: float = 600.0,
    premium: bool = True,
    instant_restore: bool = True,
    first_backup_done: bool = False,
) -> tuple[SpaceCheck | None, str, Axes | None]:
    """The S21 app's pure update: the check, an HTML verdict and a bar of used/free space."""
    try:
        check = vm_space_check(
            allocated_gb=allocated_gb,
            used_gb=used_gb,
            premium=premium,
            instant_restore=instant_restore,
            first_backup_done=first_backup_done,
        )
    except ValueError as error:
        return None, error_html(error), None
    colour = {"ok": "#2a9d8f", "short": "#e76f51", "not-applicable": "#6c757d"}[check.status]
    text = (
        f'<p><b style="color:{colour}">{check.status}</b>: {html.escape(check.advice)}.</p>'
        f"<p>free {check.free_gb:,.1f} GB of {allocated_gb:,.1f} GB; the first backup needs "
        f"{check.required_free_gb:,.1f} GB free; shortfall {check.shortfall_gb:,.1f} GB.</p>"
    )
    frame = pl.DataFrame(
        {
            "vm_name": ["this VM"],
            "premium_allocated_gb": [float(allocated_gb)],
            "premium_used_gb": [float(used_gb)],
            "status": [check.status],
        }
    )
    ax = plot_space_check(frame, _new_axes(8, 2.6))
    return check, text, ax


def premium_space_app() -> w.Box:
    """Allocated and used premium storage, Instant Restore, first backup done: S21's verdict."""
    form = _Form(160, 480)
    controls: dict[str, w.ValueWidget] = {
        "allocated_gb": form.real("allocated [GB]", 1024, 0, 8192, 32),
        "used_gb": form.real("used [GB]", 600, 0, 8192, 8),
        "premium": form.flag("premium storage", True),
        "instant_restore": form.flag("Instant Restore", True),
        "first_backup_done": form.flag("first backup done", False),
    }
    return _figure_app(controls, premium_space_update)


def restore_update(
    *,
    fleet: pl.DataFrame,
    vms: int = 12,
    accounts: int = 3,
    placement: str = "round-robin",
    background_load_percent: float = 0.0,
    tier: str = "vault",
    vault_concurrency: int = 100,
) -> tuple[pl.DataFrame | None, str, Axes | None]:
    """The restore app's pure update: the first ``vms`` VMs of ``fleet`` restored as chosen."""
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
    ax = plot_restore_gantt(result, _new_axes(10, max(3.0, 0.22 * vms + 1.5)))
    return result, text, ax


def restore_app(fleet: pl.DataFrame) -> w.Box:
    """VMs, accounts, placement, background load, tier: the restore timeline per account."""
    form = _Form(200, 520)
    n = fleet["vm_name"].n_unique()
    controls: dict[str, w.ValueWidget] = {
        "vms": form.whole("VMs to restore", 12, 1, min(n, 60)),
        "accounts": form.whole("storage accounts", 3, 1, 20),
        "placement": form.choice("placement", PLACEMENTS, "round-robin"),
        "background_load_percent": form.real("other load on accounts [%]", 0, 0, 90, 5),
        "tier": form.choice("restore from", ("vault", "snapshot"), "vault"),
        "vault_concurrency": form.whole("vault restore slots", 100, 1, 100),
    }
    return _figure_app(controls, lambda **values: restore_update(fleet=fleet, **values))


# --- incremental transfer -------------------------------------------------------------------------

#: The what-if VM of the transfer app: (disk, allocated GB, used GB).
WHATIF_DISKS = (("os", 127.0, 60.0), ("data1", 1024.0, 700.0), ("data2", 2048.0, 1200.0))
NEW_DISK = ("data3 (new)", 1024.0, 800.0)


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
) -> tuple[Timeline | None, str, Axes | None]:
    """The transfer app's pure update: the job of a 3-disk VM (plus an optional new disk)."""
    try:
        churns = {"os": churn_os_gb, "data1": churn_data1_gb, "data2": churn_data2_gb}
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
    ax = plot_backup_timeline(timeline, _new_axes(10, 0.5 * timeline.phases.height + 2.0))
    return timeline, text, ax


def transfer_app(lag_profile_hours: npt.ArrayLike) -> w.Box:
    """Churn per disk, fragmentation, start hour, first backup, new disk, snapshot deleted."""
    form = _Form(210, 520)
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
    return _figure_app(
        controls, lambda **v: transfer_update(lag_profile_hours=lag_profile_hours, **v)
    )


# --- fleet ---------------------------------------------------------------------------------------


def fleet_update(
    *,
    fleet: pl.DataFrame,
    policies: Mapping[str, Policy],
    lag_profile_hours: npt.ArrayLike,
    fleet_copies: int = 1,
    vault_ingest_mb_s: float = 700.0,
    spread_minutes: float = 0.0,
    days: int = 7,
) -> tuple[FleetResult | None, str, Axes | None]:
    """The fleet app's pure update: a week of the (scaled) fleet with a start-time spread."""
    try:
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
    ax = plot_in_flight(
        curves,
        BIN_HOURS,
        _new_axes(10, 4.2),
        title=f"Transfers in flight, {plan.vms:,} VMs, vault {vault_ingest_mb_s:g} MB/s",
    )
    return result, text, ax


def fleet_app(
    fleet: pl.DataFrame, policies: Mapping[str, Policy], lag_profile_hours: npt.ArrayLike
) -> w.Box:
    """Fleet scale, vault capacity and schedule spread: the week's traffic jam."""
    form = _Form(220, 540)
    controls: dict[str, w.ValueWidget] = {
        "fleet_copies": form.whole("fleet size (x the sample)", 1, 1, 5),
        "vault_ingest_mb_s": form.real("vault ingest [MB/s]", 700, 50, 3000, 50),
        "spread_minutes": form.whole("spread start times [± min]", 0, 0, 180, 15),
    }
    return _figure_app(
        controls,
        lambda **v: fleet_update(
            fleet=fleet, policies=policies, lag_profile_hours=lag_profile_hours, **v
        ),
    )
