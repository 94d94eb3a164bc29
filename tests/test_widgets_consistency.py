"""The consistency apps' update functions, for every control value."""

from __future__ import annotations

import html

import pytest

from vmbackup.apps import (
    ANY,
    consistency_app,
    consistency_report,
    decision_table_app,
    filter_decisions,
)
from vmbackup.consistency import INPUTS, LEVELS, decide, decision_table

CONTROL_VALUES = [(name, value) for name, values in INPUTS.items() for value in values]


@pytest.mark.parametrize(("name", "value"), CONTROL_VALUES)
def test_report_for_every_control_value_shows_the_decision(name: str, value: object) -> None:
    for os in ("windows", "linux"):
        case = {"os": os, name: value}
        decision = decide(**case)  # type: ignore[arg-type]
        report = html.unescape(consistency_report(**case))
        if decision.level is None:
            assert "the job is retried" in report
        else:
            assert f"{decision.level}-consistent" in report
            assert LEVELS[decision.level] in report
        for reason in decision.reasons:
            assert reason in report


@pytest.mark.parametrize(("name", "value"), CONTROL_VALUES)
def test_explorer_redraws_for_every_control_value(name: str, value: object) -> None:
    app = consistency_app()
    app.controls[name].value = value
    values = {n: c.value for n, c in app.controls.items()}
    assert app.report.value == consistency_report(**values)


def test_explorer_greys_out_controls_of_the_other_os() -> None:
    app = consistency_app()
    assert not app.controls["vss_mode"].disabled
    assert app.controls["linux_scripts"].disabled
    app.controls["os"].value = "linux"
    assert app.controls["vss_mode"].disabled
    assert not app.controls["linux_scripts"].disabled


def test_report_shows_the_error_message_not_a_traceback() -> None:
    report = html.unescape(consistency_report(os="windows", power_state="hibernating"))
    assert "Input not accepted" in report
    assert "power_state='hibernating' is not allowed" in report
    assert "Traceback" not in report


@pytest.mark.parametrize(
    ("name", "value"),
    [*CONTROL_VALUES, *[("level", v) for v in (*LEVELS, "retry")]],
)
def test_browser_filters_for_every_control_value(name: str, value: object) -> None:
    app = decision_table_app()
    before = app.view.value
    app.controls[name].value = value
    expected = filter_decisions(decision_table(), {name: value})
    assert f"<b>{expected.height} matching combinations</b>" in app.view.value
    assert app.view.value != before
    app.controls[name].value = ANY
    assert app.view.value == before


def test_filter_rejects_an_unknown_column() -> None:
    with pytest.raises(ValueError, match=r"filter column\(s\) \['colour'\]"):
        filter_decisions(decision_table(), {"colour": "red"})
