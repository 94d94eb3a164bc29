"""The policy app (G1-G4, Y1-Y3, P4): its update at the ends of every control, and no dead
control."""

from __future__ import annotations

import html

import pytest

from vmbackup.apps import policy_app, policy_update
from vmbackup.data import read_lag_profile, read_prices

PRICES = read_prices(region="westeurope")
LAG = read_lag_profile()
APP = policy_app(PRICES, LAG)


def _ends() -> list[tuple[str, object]]:
    cases = []
    for name, control in APP.controls.items():  # type: ignore[attr-defined]
        if hasattr(control, "options") and control.options:
            cases += [(name, option) for option in control.options]
        else:
            cases += [(name, control.min), (name, control.max)]
    return cases


@pytest.mark.parametrize(("name", "value"), _ends())
def test_policy_update_at_the_ends_of_every_control(name: str, value: object) -> None:
    table, summary, ax = policy_update(prices=PRICES, lag_profile_hours=LAG, **{name: value})
    if table is None:  # a Standard policy cannot run hourly at all (Y1): explained
        assert (name, value) == ("frequency", "hourly")
        assert "allowed only for policy_type='enhanced'" in html.unescape(summary)
        assert ax is None
    else:
        assert "Azure accepts" in summary or "Azure refuses" in summary
        assert (table["snapshot_usd_per_month"] >= 0).all()
        assert ax is not None
        assert ax.get_title()


def test_an_unverified_cap_is_a_risk_today_and_nothing_under_the_seed() -> None:
    """G2.3 vs Y2: every 4 hours with 30 days of Instant Restore: Azure accepts it (no documented
    rule refuses it); today's rules flag the unverified 17-day figure as a risk."""
    settings = {
        "policy_type": "enhanced",
        "frequency": "hourly",
        "instant_restore_days": 30,
        "run_hour": 9.0,
    }
    _, today, _ = policy_update(prices=PRICES, lag_profile_hours=LAG, **settings)
    _, seed, _ = policy_update(prices=PRICES, lag_profile_hours=LAG, rules="seed", **settings)
    assert "Azure accepts" in today
    assert "Azure refuses" not in today
    assert "at most 17 days with backups every 4 h" in html.unescape(today)
    assert "(G2.3 unverified, instant-restore-hourly-max)" in html.unescape(today)
    assert "Azure accepts" in seed
    assert "17 days" not in html.unescape(seed)


def test_a_documented_rule_is_refused_today_and_accepted_by_the_seed() -> None:
    """G3.1 vs Y3: 3 days of daily retention: Azure refuses it today (documented), the seed's
    service accepted it."""
    _, today, _ = policy_update(
        prices=PRICES, lag_profile_hours=LAG, daily_retention_days=3, instant_restore_days=2
    )
    _, seed, _ = policy_update(
        prices=PRICES,
        lag_profile_hours=LAG,
        rules="seed",
        daily_retention_days=3,
        instant_restore_days=2,
    )
    assert "Azure refuses" in today
    assert "daily_retention_days=3: at least 7 days (G3.1, daily-retention-min)" in html.unescape(
        today
    )
    assert "Azure accepts" in seed


def test_every_control_changes_the_result_or_is_disabled_with_a_reason() -> None:
    """No dead control: moving a control changes what is shown, unless it is disabled (the
    hourly interval and window outside an hourly schedule, labelled 'hourly:')."""
    app = policy_app(PRICES, LAG)
    app.controls["policy_type"].value = "enhanced"
    for frequency in ("daily", "hourly"):
        app.controls["frequency"].value = frequency
        for name, control in app.controls.items():
            if name in ("frequency", "policy_type"):
                continue
            before = (app.summary.value, bytes(app.image.value))
            start = control.value
            options = getattr(control, "options", None)
            control.value = (
                next(o for o in options if o != start)
                if options
                else (control.max if start != control.max else control.min)
            )
            after = (app.summary.value, bytes(app.image.value))
            if control.disabled:
                assert frequency != "hourly"
                assert control.description.startswith("hourly:")
            else:
                assert after != before, f"{name} changed nothing under a {frequency} schedule"
            control.value = start


def test_an_hourly_schedule_makes_the_policy_enhanced_and_greys_out_what_cannot_matter() -> None:
    """Y1/G2: only an Enhanced policy backs up hourly, so choosing hourly under Standard sets
    Enhanced (not an input error) and greys the type out with the reason; a daily or weekly
    schedule greys out the interval and window with theirs."""
    app = policy_app(PRICES, LAG)
    controls = app.controls  # type: ignore[attr-defined]
    hourly_only = ("hourly_interval_hours", "window_hours")
    for name in hourly_only:
        assert controls[name].disabled
        assert "only an hourly one has an interval and a window" in controls[name].tooltip
    controls["frequency"].value = "hourly"
    assert controls["policy_type"].value == "enhanced"
    assert controls["policy_type"].disabled
    assert "Y1" in controls["policy_type"].tooltip
    assert "Azure accepts" in app.summary.value  # type: ignore[attr-defined]
    assert not any(controls[name].disabled for name in hourly_only)
    controls["frequency"].value = "weekly"
    assert not controls["policy_type"].disabled
    assert "once a week" in controls["window_hours"].tooltip
    assert "weekly points" in app.summary.value  # type: ignore[attr-defined]
