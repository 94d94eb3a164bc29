"""The billing apps' update functions at the ends of every control's range."""

from __future__ import annotations

import html

import pytest

from vmbackup.apps import (
    billing_whatif_app,
    billing_whatif_update,
    lifecycle_app,
    lifecycle_update,
)
from vmbackup.data import read_prices

PRICES = read_prices()
LIFECYCLE = lifecycle_app(PRICES)
WHATIF = billing_whatif_app(PRICES)


def _ends(app: object) -> list[tuple[str, object]]:
    cases = []
    for name, control in app.controls.items():  # type: ignore[attr-defined]
        if hasattr(control, "options") and control.options:
            cases += [(name, option) for option in control.options]
        else:
            cases += [(name, control.min), (name, control.max)]
    return cases


@pytest.mark.parametrize(("name", "value"), _ends(LIFECYCLE))
def test_lifecycle_update_at_the_ends_of_every_control(name: str, value: object) -> None:
    bill, summary, ax = lifecycle_update(prices=PRICES, **{name: value})
    if bill is None:
        assert "Input not accepted" in summary
        assert ax is None
    else:
        assert bill.height == 24
        assert (bill["total_usd"] >= 0).all()
        assert f"{bill['total_usd'].sum():,.2f} USD" in summary
        assert ax is not None
        assert ax.get_title()


@pytest.mark.parametrize(("name", "value"), _ends(WHATIF))
def test_whatif_update_at_the_ends_of_every_control(name: str, value: object) -> None:
    bill, summary, ax = billing_whatif_update(prices=PRICES, **{name: value})
    if bill is None:  # what Azure refuses for the default Standard policy, explained
        refused = {
            ("instant_restore_days", 30): "instant_restore_days=30: 1..5 days for a standard",
            ("consistency", "crash"): "agentless crash-consistent backup needs an Enhanced",
        }
        assert (name, value) in refused
        assert refused[(name, value)] in html.unescape(summary)
    else:
        assert bill.height == 12
        assert (bill["total_usd"] >= 0).all()
        assert ax is not None


def test_lifecycle_explains_an_impossible_order() -> None:
    bill, summary, _ = lifecycle_update(prices=PRICES, first_backup_month=5, stop_month=3)
    assert bill is None
    assert "stop_month=3 must come after first_backup_month=5" in summary


def test_lifecycle_with_no_successful_backup_costs_nothing() -> None:
    """S23 in the app: first backup 'never' (month 24) bills nothing."""
    bill, _, _ = lifecycle_update(
        prices=PRICES, first_backup_month=24, stop_month=24, delete_month=24
    )
    assert bill is not None
    assert bill["total_usd"].sum() == 0.0


@pytest.mark.parametrize(
    ("app", "name", "value"),
    [
        (LIFECYCLE, "stop_month", 15),
        (LIFECYCLE, "used_gb", 2500.0),
        (LIFECYCLE, "redundancy", "LRS"),
        (WHATIF, "used_gb", 4000.0),
        (WHATIF, "policy_type", "enhanced"),
        (WHATIF, "redundancy", "RA-GRS"),
    ],
)
def test_changing_a_control_redraws_the_summary_and_figure(
    app: object, name: str, value: object
) -> None:
    before = (app.summary.value, app.image.value)  # type: ignore[attr-defined]
    app.controls[name].value = value  # type: ignore[attr-defined]
    assert app.summary.value != before[0]  # type: ignore[attr-defined]
    assert app.image.value != before[1]  # type: ignore[attr-defined]


def test_an_error_hides_the_figure_and_shows_the_message() -> None:
    app = billing_whatif_app(PRICES)
    app.controls["instant_restore_days"].value = 9
    assert "instant_restore_days=9: 1..5 days" in html.unescape(app.summary.value)
    assert app.image.layout.display == "none"
    app.controls["policy_type"].value = "enhanced"
    assert app.image.layout.display is None
