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
