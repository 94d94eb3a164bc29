"""The billing apps: one VM's bill over its protection lifecycle, and a year of what-ifs."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Mapping
from typing import Any

import ipywidgets as w
import polars as pl
from matplotlib.axes import Axes

from vmbackup._checks import non_negative
from vmbackup.apps._form import FigureImage, Form, Off, error_html, figure_app, new_axes
from vmbackup.billing import REDUNDANCIES, Event, Prices, monthly_bill, whatif_bill
from vmbackup.plots import BILL_PARTS, BillChart
from vmbackup.policy import Policy

__all__ = [
    "LIFECYCLE_HORIZON_MONTHS",
    "billing_whatif_app",
    "billing_whatif_rules",
    "billing_whatif_update",
    "lifecycle_app",
    "lifecycle_rules",
    "lifecycle_update",
]

LIFECYCLE_HORIZON_MONTHS = 24

#: Size [inches] of both billing charts.
FIGSIZE_IN = (10.0, 4.5)


def _bill_summary(bill: pl.DataFrame, currency: str) -> str:
    totals = {column: float(bill[column].sum()) for column in BILL_PARTS}
    total = sum(totals.values())
    parts = ", ".join(f"{label} {totals[column]:,.2f}" for column, (label, _) in BILL_PARTS.items())
    return f"<p><b>Total over {bill.height} months: {total:,.2f} {currency}</b> ({parts}).</p>"


def _chart(chart: BillChart | None) -> BillChart:
    return chart if chart is not None else BillChart(new_axes(*FIGSIZE_IN))


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
    chart: BillChart | None = None,
) -> tuple[pl.DataFrame | None, str, Axes | None]:
    """The lifecycle app's pure update: events from month numbers, the bill, a summary, a chart.

    Months count from the ``protect`` event (month 0) in a 24-month window; a stop or delete
    month of 24 means "never". The bill is drawn into ``chart`` (the app's, updated in place)
    or a new one. Returns (bill, summary HTML, axes), or (None, error HTML, None).
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
        if grow_month < LIFECYCLE_HORIZON_MONTHS:
            events.append(Event("resize", month(grow_month), used_gb=grow_to_gb))
            events.sort(key=lambda e: (e.day, e.kind != "protect"))  # first backup, then growth
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
    ax = _chart(chart).show(
        bill,
        events=[(e.kind, e.day) for e in events],
        title="A VM's bill over its protection lifecycle",
        currency=prices.currency,
    )
    return bill, _bill_summary(bill, prices.currency) + _growth_note(**locals()), ax


def _growth_note(
    *,
    used_gb: float,
    grow_to_gb: float,
    grow_month: int,
    first_backup_month: int,
    stop_month: int,
    **_: Any,
) -> str:
    """What the growth event does to the bill, where the timeline puts it (S23, S25, S26)."""
    if grow_month >= LIFECYCLE_HORIZON_MONTHS or first_backup_month >= LIFECYCLE_HORIZON_MONTHS:
        return ""
    if grow_month >= stop_month:
        note = (
            f"The data grows to {grow_to_gb:,.0f} GB in month {grow_month}, after protection "
            f"stopped in month {stop_month}: no backup sees it, so the fee stays at the last "
            "backup's size and the vault keeps the points it had (S25)."
        )
    elif grow_month <= first_backup_month:
        note = (
            f"The data grows from {used_gb:,.0f} to {grow_to_gb:,.0f} GB in month {grow_month}, "
            f"before the first backup (month {first_backup_month}): nothing is billed until "
            f"then, and the first backup already copies {grow_to_gb:,.0f} GB (S23, S26)."
        )
    else:
        note = (
            f"The data grows from {used_gb:,.0f} to {grow_to_gb:,.0f} GB in month {grow_month}: "
            "the fee follows the data from the next backup on, and the vault grows with it "
            "(S26)."
        )
    return f"<p>{html.escape(note)}</p>"


def lifecycle_rules(values: Mapping[str, Any]) -> dict[str, str | Off]:
    """The lifecycle app's controls that cannot matter in a state, and why (S23-S25, G5)."""
    never = LIFECYCLE_HORIZON_MONTHS
    if values["first_backup_month"] >= never:
        nothing = Off("no backup succeeds in the 24 months, so nothing is billed (S23)")
        stays = Off(nothing.reason, never)
        return {
            **dict.fromkeys(
                ("used_gb", "grow_to_gb", "grow_month", "soft_delete_days", "redundancy"),
                nothing,
            ),
            "stop_month": stays,
            "delete_month": stays,
        }
    greyed: dict[str, str | Off] = {}
    if values["grow_month"] >= never:
        greyed["grow_to_gb"] = "the data never grows (growth month 24 = never)"
    elif values["grow_month"] >= values["stop_month"]:
        greyed["grow_to_gb"] = (
            "the growth comes after protection stops: no backup sees it, the bill stays (S25)"
        )
    if values["stop_month"] >= never:
        greyed["delete_month"] = Off(
            "protection never stops, and backup data is deleted only after a stop (S24)", never
        )
    if values["stop_month"] >= never or values["delete_month"] >= never:
        greyed["soft_delete_days"] = "the backup data is never deleted: no soft delete (G5)"
    return greyed


def lifecycle_app(prices: Prices) -> w.Box:
    """Protect, back up, grow, stop and delete on a 24-month timeline; watch the bill."""
    form, months = Form(250, 580), LIFECYCLE_HORIZON_MONTHS
    controls: dict[str, w.ValueWidget] = {
        "used_gb": form.real("used data [GB]", 200, 0, 3000, 10),
        "first_backup_month": form.whole("first successful backup (month)", 1, 0, months),
        "grow_to_gb": form.real("data grows to [GB]", 800, 0, 3000, 10),
        "grow_month": form.whole("data grows (month, 24 = never)", 6, 0, months),
        "stop_month": form.whole("stop protection (month, 24 = never)", 12, 0, months),
        "delete_month": form.whole("delete data (month, 24 = never)", 18, 0, months),
        "soft_delete_days": form.whole("soft delete [days]", 14, 14, 180),
        "redundancy": form.choice("vault redundancy", REDUNDANCIES, "GRS"),
    }
    view = FigureImage(BillChart, *FIGSIZE_IN)
    return figure_app(
        controls,
        lambda **values: lifecycle_update(prices=prices, chart=view.chart, **values),
        view,
        rules=lifecycle_rules,
    )


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
    provisioned_gb: float = 1000.0,
    chart: BillChart | None = None,
) -> tuple[pl.DataFrame | None, str, Axes | None]:
    """The what-if app's pure update: 12 months of one VM's bill, split into its parts.

    ``provisioned_gb`` is the size of the VM's disks: an agentless (crash-consistent) VM pays
    its PI on half of it today (G1).

    The bill is drawn into ``chart`` (the app's, updated in place) or a new one. Returns (bill,
    summary HTML, axes), or (None, error HTML, None) for inputs the service does not allow
    (e.g. 10 Instant Restore days on a Standard policy).
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
            provisioned_gb=provisioned_gb,
        )
    except ValueError as error:
        return None, error_html(error), None
    kind = f"{policy_type} policy" + (", agentless" if consistency == "crash" else "")
    title = (
        f"{used_gb:,.0f} GB VM, {daily_churn_percent:g}% daily churn, {kind}, {redundancy}: "
        "12 months"
    )
    ax = _chart(chart).show(bill, title=title, currency=prices.currency)
    return bill, _bill_summary(bill, prices.currency), ax


def billing_whatif_rules(values: Mapping[str, Any]) -> dict[str, str | Off]:
    """The what-if app's controls that cannot matter in a state, and why (G1)."""
    greyed: dict[str, str | Off] = {}
    if values["policy_type"] != "enhanced":
        greyed["consistency"] = Off(
            "agentless crash-consistent backup needs an Enhanced policy today (G1)", "application"
        )
    if values["policy_type"] != "enhanced" or values["consistency"] != "crash":
        greyed["provisioned_gb"] = (
            "only agentless crash-consistent backups pay on the disks' size (half of it, G1)"
        )
    return greyed


def billing_whatif_app(prices: Prices) -> w.Box:
    """Used size, churn, retention, redundancy, Standard vs Enhanced: 12 months of cost."""
    form = Form(200, 520)
    controls: dict[str, w.ValueWidget] = {
        "used_gb": form.real("used data [GB]", 500, 0, 5000, 10),
        "daily_churn_percent": form.real("daily churn [%]", 3, 0, 20, 0.5),
        "daily_retention_days": form.whole("daily points kept [days]", 30, 7, 365),
        "weekly_retention_weeks": form.whole("weekly points kept [weeks]", 0, 0, 104),
        "monthly_retention_months": form.whole("monthly points kept [months]", 0, 0, 120),
        "redundancy": form.choice("vault redundancy", REDUNDANCIES, "GRS"),
        "policy_type": form.choice("policy type", ("standard", "enhanced"), "standard"),
        "instant_restore_days": form.whole("Instant Restore [days]", 2, 1, 30),
        "consistency": form.choice("consistency", ("application", "crash"), "application"),
        "provisioned_gb": form.real("disks provisioned [GB]", 1200, 0, 10000, 50),
    }
    view = FigureImage(BillChart, *FIGSIZE_IN)
    return figure_app(
        controls,
        lambda **values: billing_whatif_update(prices=prices, chart=view.chart, **values),
        view,
        rules=billing_whatif_rules,
    )
