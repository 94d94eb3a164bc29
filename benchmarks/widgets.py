"""What-if app responsiveness: how long each app takes to show the result of a moved control.

Finds every app by itself: each module of ``vmbackup.apps`` is imported and every public
``*_app`` factory is built from the project's datasets (its parameters are matched by name).
Every control is then moved to a few values (the ends of a slider and three points between, every
option of a drop-down, both states of a check box) and back to its start, and each change is
timed from setting the value to the app's output being refreshed: the model, the redraw and, for
figures shown as PNG ``Image`` widgets, the PNG encoding, on matplotlib's Agg backend as in the
notebooks. Each move is repeated three times and the best is kept. The moves are made from the
app's start and again from its heaviest corner (every slider at its top, unless that is an input
error: the most VMs, the largest sizes); an app's time is its slowest move, next to the median.

Goal (issue 16): every app under 150 ms, the point where a slider stops feeling live.
Run: .venv/bin/python benchmarks/widgets.py [package or module to scan, default vmbackup.apps]
"""

from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import matplotlib

matplotlib.use("Agg")

from vmbackup.data import read_fleet, read_lag_profile, read_msr_trace, read_policies, read_prices

GOAL_MS = 150.0
ROUNDS = 3


def app_modules(name: str) -> Iterator[ModuleType]:
    """The module ``name`` itself, or every module of the package ``name``."""
    root = importlib.import_module(name)
    if not hasattr(root, "__path__"):
        yield root
        return
    for info in pkgutil.iter_modules(root.__path__, prefix=f"{name}."):
        if not info.name.rpartition(".")[2].startswith("_"):
            yield importlib.import_module(info.name)


def factories(name: str) -> dict[str, Callable[..., Any]]:
    """Every public ``*_app`` function defined in the modules of ``name``, by qualified name."""
    found = {}
    for module in app_modules(name):
        for attr, value in vars(module).items():
            if (
                attr.endswith("_app")
                and not attr.startswith("_")
                and inspect.isfunction(value)
                and value.__module__ == module.__name__
            ):
                found[f"{module.__name__}.{attr}"] = value
    if not found:
        raise SystemExit(f"no *_app factory found in {name}")
    return found


def build(factory: Callable[..., Any], inputs: dict[str, Any]) -> Any:
    """Call ``factory`` with the datasets its parameters name."""
    arguments = {}
    for parameter in inspect.signature(factory).parameters.values():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        if parameter.name in inputs:
            arguments[parameter.name] = inputs[parameter.name]
        elif parameter.default is inspect.Parameter.empty:
            raise SystemExit(
                f"{factory.__name__} needs {parameter.name!r}; add it to the benchmark's inputs "
                f"(it knows {sorted(inputs)})"
            )
    return factory(**arguments)


def moves(control: Any) -> list[Any]:
    """A few values for ``control`` that differ from its current one, then the current one."""
    start = control.value
    if isinstance(start, bool):
        values: list[Any] = [not start]
    elif getattr(control, "options", None):
        # a drop-down's values (its options may be (label, value) pairs)
        values = [o for o in control._options_values if o != start]
    else:
        low, high, step = control.min, control.max, control.step
        values = []
        for fraction in (0.0, 0.25, 0.5, 0.75, 1.0):
            value = low + round(fraction * (high - low) / step) * step
            value = type(start)(min(max(value, low), high))
            if value != start and value not in values:
                values.append(value)
    return [*values, start]


def shows_error(app: Any) -> bool:
    """Whether the app now shows an input error instead of a result."""
    image = getattr(app, "image", None)
    return image is not None and image.layout.display == "none"


def to_top_corner(app: Any) -> bool:
    """Move every slider to its top (the most VMs, the largest sizes), except where that is an
    input error; return False if the app has no slider."""
    moved = False
    for control in app.controls.values():
        if isinstance(control.value, bool) or getattr(control, "options", None):
            continue
        start, control.value = control.value, control.max
        if shows_error(app):
            control.value = start
        moved = True
    return moved


def time_moves(app: Any, state: str) -> list[tuple[float, float, str]]:
    """(wall-clock [s], CPU [s], control and state) of every move of every control, each the
    best of ``ROUNDS``."""
    times = []
    for name, control in app.controls.items():
        values = moves(control)
        wall = [float("inf")] * len(values)
        cpu = [float("inf")] * len(values)
        for _ in range(ROUNDS):
            for i, value in enumerate(values):
                began, began_cpu = time.perf_counter(), time.process_time()
                control.value = value  # observers run synchronously: model, redraw, PNG
                cpu[i] = min(cpu[i], time.process_time() - began_cpu)
                wall[i] = min(wall[i], time.perf_counter() - began)
        times += [(w, c, f"{name} ({state})") for w, c in zip(wall, cpu, strict=True)]
    return times


def main() -> None:
    package = sys.argv[1] if len(sys.argv) > 1 else "vmbackup.apps"
    inputs = {
        "prices": read_prices(),
        "fleet": read_fleet(),
        "policies": read_policies(),
        "lag_profile_hours": read_lag_profile(),
        "trace": read_msr_trace(),
    }
    load = os.getloadavg()[0]
    rows = []
    for qualified, factory in factories(package).items():
        began = time.perf_counter()
        app = build(factory, inputs)
        built_s = time.perf_counter() - began
        times = time_moves(app, "start")
        if to_top_corner(app):
            times += time_moves(app, "top")
        worst_s, worst_cpu_s, slowest = max(times)
        median_s = statistics.median(wall for wall, _, _ in times)
        rows.append((worst_s, worst_cpu_s, median_s, qualified, slowest, built_s))
    rows.sort(reverse=True)
    print(
        f"update = model + redraw + PNG until the output shows it; best of {ROUNDS} per move;\n"
        "every control moved from the app's start and again with every slider at its top;\n"
        f"goal: the slowest move < {GOAL_MS:.0f} ms wall-clock. CPU is that move's processor\n"
        f"time, what it takes on an idle machine (load average {load:.1f} at the start, "
        f"{os.getloadavg()[0]:.1f} at the end, on {os.cpu_count()} cores)\n"
    )
    print(
        f"{'app':<43} {'slowest':>8} {'vs goal':>7} {'CPU':>7} {'median':>7}  "
        f"{'slowest move':<30} {'build':>6}"
    )
    for worst_s, worst_cpu_s, median_s, qualified, slowest, built_s in rows:
        ms = worst_s * 1000
        print(
            f"{qualified:<43} {ms:5.0f} ms {ms / GOAL_MS:5.2f} x {worst_cpu_s * 1000:4.0f} ms "
            f"{median_s * 1000:4.0f} ms  {slowest:<30} {built_s * 1000:3.0f} ms  "
            f"{'ok' if ms < GOAL_MS else 'SLOW'}"
        )
    met = sum(worst_s * 1000 < GOAL_MS for worst_s, *_ in rows)
    print(f"\n{met} of {len(rows)} apps under {GOAL_MS:.0f} ms")


if __name__ == "__main__":
    main()
