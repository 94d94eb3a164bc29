"""No dead controls: in every app of ``vmbackup/apps/``, every control either changes what the
app shows when it moves, or is greyed out with a one-line reason (issue 17).

The apps are found as ``benchmarks/widgets.py`` finds them (every public ``*_app`` factory of
every module, built from the project's datasets by parameter name), so a new app is tested
without being listed here. Each app is checked in its start state and in every state one of its
drop-downs or check boxes can put it in (the states where a control stops mattering: a first
backup, a Linux VM, a non-premium disk). In each state, each live control is moved to the ends
and the middle of its range (every option of a drop-down, the other state of a check box) until
what the app shows (its HTML and images, not the controls) changes to a result that is not an
input error.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ipywidgets as w
import numpy as np
import pytest
from matplotlib.collections import Collection
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.text import Text

from vmbackup.apps._form import GREYED_CLASS, FigureImage
from vmbackup.data import read_fleet, read_lag_profile, read_msr_trace, read_policies, read_prices

ROOT = Path(__file__).resolve().parent.parent


def _benchmark() -> Any:
    spec = importlib.util.spec_from_file_location(
        "widgets_benchmark", ROOT / "benchmarks/widgets.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


BENCHMARK = _benchmark()
FACTORIES = BENCHMARK.factories("vmbackup.apps")
INPUTS = {
    "prices": read_prices(),
    "fleet": read_fleet(),
    "policies": read_policies(),
    "lag_profile_hours": read_lag_profile(),
    "trace": read_msr_trace(),
}

#: Apps owned by other engineers with a control that is still dead or greyed out without a
#: reason; each entry says what fails, so the owner can fix it and drop the entry (the test is a
#: strict xfail: it stops at the first problem, and fails once the app is fixed).
KNOWN_DEAD: dict[str, str] = {}


def _chart_content(view: FigureImage[Any]) -> bytes:
    """What a chart shows, without rasterising it: its limits, title, tick labels and every
    visible artist's data and text. Stands in for the PNG in this test, which moves thousands of
    controls (the PNG itself is tested in test_widgets_charts.py)."""
    ax = view.ax
    parts: list[object] = [ax.get_xlim(), ax.get_ylim(), ax.get_title(), ax.get_xlabel()]
    parts += [t.get_text() for t in (*ax.get_xticklabels(), *ax.get_yticklabels())]
    for artist in ax.get_children():
        if not artist.get_visible():
            continue
        if isinstance(artist, Text):
            parts += [artist.get_text(), artist.get_position()]
        elif isinstance(artist, Collection):
            parts += [p.vertices.tobytes() for p in artist.get_paths()]
            parts.append(np.asarray(artist.get_facecolor()).tobytes())
        elif isinstance(artist, Line2D):
            parts.append(np.asarray(artist.get_xydata()).tobytes())
        elif isinstance(artist, Patch) and artist is not ax.patch:
            parts.append(artist.get_patch_transform().transform(artist.get_path().vertices))
    return hashlib.sha256(repr(parts).encode()).digest()


@pytest.fixture(autouse=True)
def _charts_without_pixels(monkeypatch: pytest.MonkeyPatch) -> None:
    def refresh(self: FigureImage[Any]) -> None:
        self.image.value = _chart_content(self)
        self.image.layout.display = None

    monkeypatch.setattr(FigureImage, "refresh", refresh)


def _outputs(widget: Any, controls: set[int]) -> Iterator[Any]:
    """The output widgets (HTML, images) under ``widget``: not its controls, nor the line
    saying which controls are greyed out (a change there alone is no result)."""
    if id(widget) in controls or GREYED_CLASS in getattr(widget, "_dom_classes", ()):
        return
    if isinstance(widget, w.HTML | w.HTMLMath | w.Image):
        yield widget
    for child in getattr(widget, "children", ()):
        yield from _outputs(child, controls)


def _shown(app: Any) -> tuple[object, ...]:
    controls = {id(c) for c in app.controls.values()}
    return tuple(o.value for o in _outputs(app, controls))


def _is_error(shown: tuple[object, ...]) -> bool:
    return any(isinstance(v, str) and "Input not accepted" in v for v in shown)


def _is_slider(control: Any) -> bool:
    return not isinstance(control.value, bool) and not getattr(control, "options", None)


def _option_values(control: Any) -> tuple[object, ...]:
    """A drop-down's values (its options may be (label, value) pairs)."""
    return tuple(control._options_values)


def _candidates(control: Any) -> list[object]:
    """Other values of ``control``: its range's ends and middle, every other option, or the
    other state of a check box."""
    start = control.value
    if isinstance(start, bool):
        return [not start]
    if not _is_slider(control):
        return [o for o in _option_values(control) if o != start]
    low, high, step = control.min, control.max, control.step
    middle = low + round((high - low) / 2 / step) * step
    near = (min(start + step, high), max(start - step, low))
    values = [type(start)(v) for v in (*near, high, low, middle)]
    return [v for i, v in enumerate(values) if v != start and v not in values[:i]]


def _states(app: Any) -> list[dict[str, object]]:
    """The start state; each state one live drop-down or check box moves the app into; and,
    where that move brings a greyed-out drop-down or check box to life, each of its values."""
    states: list[dict[str, object]] = [{}]
    start = {name: c.value for name, c in app.controls.items()}
    greyed = {name for name, c in app.controls.items() if c.disabled}
    for name, control in app.controls.items():
        if _is_slider(control) or control.disabled:
            continue
        for value in _candidates(control):
            states.append({name: value})
            control.value = value
            for other in greyed:
                woken = app.controls[other]
                if not woken.disabled and not _is_slider(woken):
                    states += [{name: value, other: v} for v in _candidates(woken)]
            control.value = start[name]
    return states


def _label(state: dict[str, object]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in state.items()) or "start"


def _dead_controls(app: Any, *, first_only: bool = False) -> list[str]:
    """Every control that neither changes the result nor says why it is greyed out, per state
    (only the first one found, with ``first_only``)."""
    start = {name: c.value for name, c in app.controls.items()}
    problems = []
    for state in _states(app):
        for name, value in state.items():
            app.controls[name].value = value
        if _is_error(_shown(app)):
            problems.append(f"[{_label(state)}] the state itself is an input error")
        for name, control in app.controls.items():
            if name in state:
                continue
            if control.disabled:
                if not (getattr(control, "tooltip", None) or "").strip():
                    problems.append(f"[{_label(state)}] {name} is greyed out without a reason")
                continue
            before, initial, live = _shown(app), control.value, False
            for value in _candidates(control):
                control.value = value
                after = _shown(app)
                if after != before and not _is_error(after):
                    live = True
                    break
            control.value = initial
            if not live:
                problems.append(f"[{_label(state)}] moving {name} changes nothing")
            if problems and first_only:
                return problems
        for name, value in start.items():
            app.controls[name].value = value
    return problems


def _params() -> list[Any]:
    params = []
    for qualified in FACTORIES:
        marks = []
        if qualified in KNOWN_DEAD:
            marks.append(pytest.mark.xfail(reason=KNOWN_DEAD[qualified], strict=True))
        params.append(pytest.param(qualified, id=qualified.rsplit(".", 1)[-1], marks=marks))
    return params


def test_the_apps_are_found() -> None:
    assert len(FACTORIES) >= 8, sorted(FACTORIES)


@pytest.mark.parametrize("qualified", _params())
def test_every_control_is_live_or_greyed_out_with_a_reason(qualified: str) -> None:
    app = BENCHMARK.build(FACTORIES[qualified], INPUTS)
    problems = _dead_controls(app, first_only=qualified in KNOWN_DEAD)
    assert not problems, f"{qualified}:\n" + "\n".join(problems)
