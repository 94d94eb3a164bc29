"""Shared test set-up: a run that covers notebooks/ must collect every notebook there."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

# Hypothesis profiles: "default" keeps ``make test`` quick; ``make fuzz`` runs the "fuzz" one.
settings.register_profile(
    "default", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "fuzz", max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck)
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS_DIR = ROOT / "notebooks"


def _run_covers_notebooks(config: pytest.Config) -> bool:
    if config.option.keyword or config.option.markexpr:
        return False  # a deliberate selection; the full run is what must not be empty
    targets = [Path(arg.split("::")[0]).resolve() for arg in config.args]
    return any(t == NOTEBOOKS_DIR or NOTEBOOKS_DIR.is_relative_to(t) for t in targets)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Fail a run that should test the notebooks but collected none (or not all) of them."""
    if not _run_covers_notebooks(session.config):
        return
    on_disk = {p.resolve() for p in NOTEBOOKS_DIR.glob("*.ipynb")}
    collected = {
        Path(str(item.path)).resolve() for item in session.items if item.path.suffix == ".ipynb"
    }
    if not on_disk:
        raise pytest.UsageError(f"no notebooks found in {NOTEBOOKS_DIR}")
    missing = sorted(p.name for p in on_disk - collected)
    if missing:
        raise pytest.UsageError(
            f"notebooks not collected by nbval: {missing}; run pytest with --nbval "
            "(pyproject.toml's addopts does this)"
        )


def mutated(document: Any, path: list[Any], value: Any = KeyError) -> Any:
    """A deep copy of a parsed JSON ``document`` with the field at ``path`` set to ``value``, or
    removed when ``value`` is ``KeyError``; the original is left untouched."""
    changed = copy.deepcopy(document)
    node = changed
    for key in path[:-1]:
        node = node[key]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return changed


class MutmutAttribution:
    """Under ``make mutation``'s stats run only: charge the model functions that a test module
    calls at import (``TABLE = decision_table()``), or that a module- or session-scoped fixture
    calls, to every test that reads them.

    mutmut maps each function to the tests that call it by clearing its hit list at each test's
    teardown, so such calls were charged to whichever test ran first; a mutant of the function was
    then tried against that one test and "survived" the tests that would have failed. This plugin
    keeps those hits apart while the module is imported or the fixture is set up, and adds them to
    each test of the module or user of the fixture. Charging a function to more tests only makes
    its mutants' runs longer; it never hides a survivor. Written against mutmut 3.8.1's state
    (``tools/requirements-mutation.txt`` pins it).
    """

    def __init__(self) -> None:
        from mutmut.state import state

        self._state = state
        self._by_module: dict[str, set[str]] = {}
        self._by_fixture: dict[int, set[str]] = {}

    def _apart(self) -> tuple[set[str], set[str]]:
        hits = self._state()._stats
        saved = set(hits)
        hits.clear()
        return hits, saved

    @pytest.hookimpl(wrapper=True)
    def pytest_make_collect_report(self, collector: pytest.Collector) -> Any:
        if not isinstance(collector, pytest.Module):
            return (yield)
        hits, saved = self._apart()
        try:
            return (yield)
        finally:
            self._by_module[collector.nodeid] = set(hits)
            hits.clear()
            hits |= saved

    @pytest.hookimpl(wrapper=True)
    def pytest_fixture_setup(self, fixturedef: Any, request: pytest.FixtureRequest) -> Any:
        if fixturedef.scope == "function":
            return (yield)
        hits, saved = self._apart()
        try:
            return (yield)
        finally:
            self._by_fixture.setdefault(id(fixturedef), set()).update(hits)
            hits.clear()
            hits |= saved

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> None:
        module = item.getparent(pytest.Module)
        names = set(self._by_module.get(module.nodeid, ())) if module else set()
        for argname in getattr(item, "fixturenames", ()):
            defs = item._fixtureinfo.name2fixturedefs.get(argname)  # type: ignore[attr-defined]
            if defs:
                names |= self._by_fixture.get(id(defs[-1]), set())
        test = item.nodeid.removeprefix("mutants/")
        for name in names:
            self._state().tests_by_mangled_function_name[name].add(test)


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("MUTANT_UNDER_TEST") == "stats":
        config.pluginmanager.register(MutmutAttribution(), "vmbackup-mutmut-attribution")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under ``make mutation``, mutmut's copies of each function (``x_f__mutmut_3``) carry its
    docstring too: run each doctest once, from the function as the package exports it."""
    copies = [item for item in items if "__mutmut_" in item.name]
    if copies:
        config.hook.pytest_deselected(items=copies)
        items[:] = [item for item in items if "__mutmut_" not in item.name]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Under ``make mutation``, a test module that cannot even be imported with the mutant in
    place has caught it: report a failure (1), not an interrupted run (2), which mutmut would
    read as a run the user stopped."""
    under_mutant = "__mutmut_" in os.environ.get("MUTANT_UNDER_TEST", "")
    if under_mutant and exitstatus == pytest.ExitCode.INTERRUPTED and session.testsfailed:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
