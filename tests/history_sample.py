"""The generator of datasets/history/ (datasets/make_history.py) as a module, for the tests."""

from __future__ import annotations

import functools
import importlib.util
import json
from types import ModuleType
from typing import Any

from vmbackup.data import dataset_path


@functools.cache
def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_history", dataset_path("make_history.py"))
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def truth() -> dict[str, Any]:
    """The generating parameters of the shipped sample."""
    parameters: dict[str, Any] = json.loads(
        dataset_path("history/generating_parameters.json").read_text()
    )
    return parameters


def history_file(name: str) -> str:
    return str(dataset_path(f"history/{name}"))
