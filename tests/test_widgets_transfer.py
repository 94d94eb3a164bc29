"""The transfer app's update function at the ends of every control."""

from __future__ import annotations

import html

import pytest

from vmbackup.apps import transfer_app, transfer_update
from vmbackup.data import read_lag_profile

LAG = read_lag_profile()
APP = transfer_app(LAG)


def _ends() -> list[tuple[str, object]]:
    cases: list[tuple[str, object]] = []
    for name, control in APP.controls.items():
        if isinstance(control.value, bool):
            cases += [(name, True), (name, False)]
        else:
            cases += [(name, control.min), (name, control.max)]
    return cases


@pytest.mark.parametrize(("name", "value"), _ends())
def test_transfer_update_at_every_end(name: str, value: object) -> None:
    timeline, text, ax = transfer_update(lag_profile_hours=LAG, **{name: value})
    assert timeline is not None, text
    assert f"{timeline.total_hours:.2f} h" in text
    assert ax is not None
    assert "24 h window" in [t.get_text() for t in ax.texts]


@pytest.mark.parametrize(
    ("name", "value", "expect"),
    [
        ("first_backup", True, "S12, S14"),
        ("new_disk", True, "S15"),
        ("snapshot_missing", True, "S17"),
        ("churn_data2_gb", 1200.0, "beyond the 24 h window"),
    ],
)
def test_each_switch_changes_the_story(name: str, value: object, expect: str) -> None:
    app = transfer_app(LAG)
    before = app.image.value
    app.controls[name].value = value
    assert expect in html.unescape(app.summary.value)
    assert app.image.value != before


def test_bad_input_shows_the_message() -> None:
    timeline, text, ax = transfer_update(lag_profile_hours=LAG, fragmentation=2.0)
    assert timeline is None
    assert ax is None
    assert "fragmentation=2.0 must be between 0 and 1" in text
