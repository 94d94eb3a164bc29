"""The policy app: what Azure says about a policy under the seed's rules and today's, and what the
same VMs would cost and recover under its Enhanced twins (G1-G4, Y1-Y3, P4)."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import ipywidgets as w
import numpy.typing as npt
import polars as pl
from matplotlib.axes import Axes

from vmbackup._checks import non_negative
from vmbackup.apps._form import FigureImage, Form, Off, error_html, figure_app, new_axes
from vmbackup.billing import Prices
from vmbackup.lint import enhanced_whatif, lint_policy
from vmbackup.plots import PolicyChart
from vmbackup.policy import Finding, Policy

__all__ = ["policy_app", "policy_rules", "policy_update"]

#: Size [inches] of the what-if chart.
FIGSIZE_IN = (9.0, 3.2)
_SEVERITY = {"refused": "#b00020", "risk": "#b86e00", "advice": "#2a6f97"}


def _findings_html(policy: Policy, found: list[Finding], rules: str) -> str:
    refused = [f for f in found if f.severity == "refused"]
    verdict = (
        f'<b style="color:#b00020">Azure refuses this policy</b> under the {rules!r} rules'
        if refused
        else f'<b style="color:#2a9d8f">Azure accepts this policy</b> under the {rules!r} rules'
    )
    lines = "".join(
        f'<li><b style="color:{_SEVERITY[f.severity]}">{f.severity}</b> '
        f"{html.escape(f.message)}</li>"
        for f in found
    )
    rpo = f"RPO {policy.rpo_hours():g} h, {policy.backups_per_day()} backup(s) a backup day"
    kept = (
        f"the vault keeps {policy.weekly_retention_weeks} weekly points (retention days / 7)"
        if policy.frequency == "weekly"
        else f"the vault keeps {policy.daily_retention_days} daily points"
    )
    kind = (
        "agentless crash-consistent snapshots (no extension, no scripts; G1)"
        if policy.consistency == "crash"
        else "application- or file-system-consistent snapshots through the extension (S2)"
    )
    return f"<p>{verdict}; {rpo}; {kept}; {kind}.</p>" + (f"<ul>{lines}</ul>" if lines else "")


def policy_update(
    *,
    prices: Prices,
    lag_profile_hours: npt.ArrayLike,
    rules: str = "today",
    policy_type: str = "standard",
    frequency: str = "daily",
    hourly_interval_hours: int = 4,
    window_hours: int = 24,
    run_hour: float = 22.5,
    instant_restore_days: int = 2,
    daily_retention_days: int = 30,
    consistency: str = "application",
    used_gb: float = 100.0,
    daily_churn_percent: float = 2.0,
    chart: PolicyChart | None = None,
) -> tuple[pl.DataFrame | None, str, Axes | None]:
    """The policy app's pure update: the linter's findings and the Enhanced what-if.

    A weekly schedule runs on Sundays and keeps ``daily_retention_days // 7`` weeks (at least
    one); an hourly one uses the interval and window. Returns (what-if table, findings HTML,
    axes), or (None, error HTML, None) when the settings do not make a policy at all.
    """
    try:
        hourly = frequency == "hourly"
        weekly = frequency == "weekly"
        policy = Policy(
            name="this policy",
            policy_type=policy_type,
            frequency=frequency,
            run_hour=run_hour,
            run_days=("Sunday",) if weekly else (),
            hourly_interval_hours=hourly_interval_hours if hourly else None,
            window_hours=window_hours if hourly else None,
            instant_restore_days=instant_restore_days,
            daily_retention_days=None if weekly else daily_retention_days,
            weekly_retention_weeks=max(1, daily_retention_days // 7) if weekly else None,
            weekly_days=("Sunday",),
            consistency=consistency,
            rules=rules,
            enforce=False,
        )
        found = lint_policy(policy, lag_profile_hours=lag_profile_hours, rules=policy.rules)
        used = non_negative("used_gb", used_gb)
        churn_gb = used * non_negative("daily_churn_percent", daily_churn_percent, high=100) / 100
        table = enhanced_whatif(policy, used_gb=used_gb, daily_churn_gb=churn_gb, prices=prices)
    except ValueError as error:
        return None, error_html(error), None
    text = _findings_html(policy, found, policy.rules)
    title = f"{used_gb:,.0f} GB changing {daily_churn_percent:g}% a day: storage per month"
    ax = (chart if chart is not None else PolicyChart(new_axes(*FIGSIZE_IN))).show(
        table, currency=prices.currency, title=title
    )
    return table, text, ax


def policy_rules(values: Mapping[str, Any]) -> dict[str, str | Off]:
    """The policy app's controls that cannot matter in a state, and why (Y1, G2).

    An interval and a window belong to an hourly schedule only; an hourly schedule exists only
    in an Enhanced policy, so choosing it sets the policy type to Enhanced (rather than showing
    an input error) and greys the type out until the schedule changes back.
    """
    if values["frequency"] == "hourly":
        return {
            "policy_type": Off("only an Enhanced policy backs up hourly (Y1, G2)", "enhanced"),
        }
    once = "once a week (Sundays)" if values["frequency"] == "weekly" else "once a day"
    reason = (
        f"a {values['frequency']} schedule backs up {once} at the run time; "
        "only an hourly one has an interval and a window (G2)"
    )
    return dict.fromkeys(("hourly_interval_hours", "window_hours"), reason)


def policy_app(prices: Prices, lag_profile_hours: npt.ArrayLike) -> w.Box:
    """A policy's settings and rule set: what Azure says, and its Enhanced twins side by side."""
    form = Form(220, 520)
    controls: dict[str, w.ValueWidget] = {
        "rules": form.choice("rules (seed or today)", ("today", "seed"), "today"),
        "policy_type": form.choice("policy type", ("standard", "enhanced"), "standard"),
        "frequency": form.choice("schedule", ("daily", "weekly", "hourly"), "daily"),
        "hourly_interval_hours": form.choice("hourly: every [h]", (4, 6, 8, 12, 24), 4),
        "window_hours": form.whole("hourly: window [h]", 24, 4, 24),
        "run_hour": form.real("run time / window start [h]", 22.5, 0, 23.5, 0.5),
        "instant_restore_days": form.whole("Instant Restore [days]", 2, 1, 30),
        "daily_retention_days": form.whole("vault retention [days]", 30, 1, 365),
        "consistency": form.choice("consistency", ("application", "crash"), "application"),
        "used_gb": form.real("used data [GB]", 100, 10, 5000, 10),
        "daily_churn_percent": form.real("daily churn [%]", 2, 0, 20, 0.5),
    }
    view = FigureImage(PolicyChart, *FIGSIZE_IN)
    return figure_app(
        controls,
        lambda **values: policy_update(
            prices=prices, lag_profile_hours=lag_profile_hours, chart=view.chart, **values
        ),
        view,
        rules=policy_rules,
    )
