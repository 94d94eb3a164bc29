"""The premium-space and restore apps: update functions at the ends of every control."""

from __future__ import annotations

import html

import polars as pl
import pytest

from vmbackup.apps import premium_space_app, premium_space_update, restore_app, restore_update
from vmbackup.data import read_fleet, read_policies

FLEET = read_fleet()
POLICIES = read_policies()
SPACE = premium_space_app()
RESTORE = restore_app(FLEET, POLICIES)


def _ends(app: object) -> list[tuple[str, object]]:
    cases: list[tuple[str, object]] = []
    for name, control in app.controls.items():  # type: ignore[attr-defined]
        if hasattr(control, "options") and control.options:
            cases += [(name, option) for option in control.options]
        elif isinstance(control.value, bool):
            cases += [(name, True), (name, False)]
        else:
            cases += [(name, control.min), (name, control.max)]
    return cases


@pytest.mark.parametrize(("name", "value"), _ends(SPACE))
def test_premium_space_update_at_every_end(name: str, value: object) -> None:
    check, text, ax = premium_space_update(**{name: value})
    if check is None:
        assert "exceeds allocated_gb" in html.unescape(text)  # used above allocated
        assert ax is None
    else:
        assert check.status in html.unescape(text)
        assert ax is not None


def test_premium_space_app_follows_the_first_backup_switch() -> None:
    """S21 in the app: the verdict changes once the first backup is done."""
    app = premium_space_app()
    app.controls["used_gb"].value = 900
    assert ">short<" in app.summary.value
    app.controls["first_backup_done"].value = True
    assert ">not-applicable<" in app.summary.value


@pytest.mark.parametrize(("name", "value"), _ends(RESTORE))
def test_restore_update_at_every_end(name: str, value: object) -> None:
    result, text, ax = restore_update(fleet=FLEET, policies=POLICIES, **{name: value})
    assert result is not None, text
    ok = result.filter(pl.col("status") == "ok")
    if ok.height:
        assert f"restored after {ok['rto_hours'].max():.2f} h" in text
    else:  # e.g. cross-region from a point too young for the secondary region (G10)
        assert "blocked" in text
    assert ax is not None


def test_restore_app_redraws_when_accounts_change() -> None:
    app = restore_app(FLEET, POLICIES)
    before = (app.summary.value, app.image.value)
    app.controls["accounts"].value = 1
    assert app.summary.value != before[0]
    assert app.image.value != before[1]


@pytest.mark.parametrize("placement", ["one-account", "per-vm", "round-robin", "balanced"])
def test_the_accounts_slider_is_live_or_says_why_not(placement: str) -> None:
    """S20: under round-robin and balanced, more accounts change the answer; under one-account
    and per-vm the slider is disabled with the reason beside it."""
    app = restore_app(FLEET, POLICIES)
    app.controls["placement"].value = placement
    app.controls["recovery_point_age_days"].value = 10.0  # every VM from the vault tier
    slider = app.controls["accounts"]
    if placement in ("round-robin", "balanced"):
        assert not slider.disabled
        assert app.accounts_note.value == ""
        before = app.summary.value
        slider.value = 1
        assert app.summary.value != before
    else:
        assert slider.disabled
        assert "the accounts slider does not apply" in app.accounts_note.value


def test_restore_update_reports_bad_input() -> None:
    result, text, ax = restore_update(fleet=FLEET, policies=POLICIES, vms=0)
    assert result is None
    assert ax is None
    assert "vms=0 must be a whole number in 1..200" in text
