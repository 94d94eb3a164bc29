"""The foundation's promises: one pinned dependency list, the README's two commands, CI, and
notebooks that are executed, tested, linked and free of widget state."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "binder" / "requirements.txt").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, version = line.partition("==")
        assert sep, f"binder/requirements.txt: {line!r} is not pinned with =="
        pins[canonicalize_name(name)] = version
    return pins


def test_every_declared_dependency_is_pinned_in_binder_within_its_range() -> None:
    pins = _pins()
    project = PYPROJECT["project"]
    declared = list(project["dependencies"])
    for extra in ("lab", "test"):
        declared += project["optional-dependencies"][extra]
    for text in declared:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement.name} is declared in pyproject.toml but not pinned"
        assert SpecifierSet(str(requirement.specifier)).contains(pins[name]), (
            f"{name}=={pins[name]} in binder/requirements.txt is outside {requirement.specifier}"
        )


def test_runtime_txt_names_a_python_the_package_supports() -> None:
    runtime = (ROOT / "binder" / "runtime.txt").read_text().strip()
    match = re.fullmatch(r"python-(\d+)\.(\d+)", runtime)
    assert match, f"binder/runtime.txt must read like 'python-3.11', found {runtime!r}"
    assert SpecifierSet(PYPROJECT["project"]["requires-python"]).contains(f"{runtime[7:]}.0")


def test_postbuild_is_bash_with_set_e_and_installs_the_package() -> None:
    post_build = ROOT / "binder" / "postBuild"
    text = post_build.read_text()
    assert text.startswith("#!/bin/bash\n")
    assert "\nset -e" in text
    assert "pip install" in text
    assert "overrides.json" in text
    assert post_build.stat().st_mode & 0o111, "binder/postBuild must be executable"


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert ci.startswith(("#!/usr/bin/env bash", "#!/bin/bash"))
    assert "set -euo pipefail" in ci
    assert re.search(r"^make test$", ci, re.MULTILINE)
    assert (ROOT / ".ci" / "run").stat().st_mode & 0o111


def test_readme_has_exactly_the_two_setup_commands_and_a_binder_link() -> None:
    readme = (ROOT / "README.md").read_text()
    setup = readme.split("## Get started", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"^```(?:sh|bash)\n(.*?)\n```", setup, re.MULTILINE | re.DOTALL)
    assert commands == ["make lab", "make test"]
    assert "mybinder.org/v2/gh/" in readme
    assert "urlpath=lab%2Ftree%2Fnotebooks%2F00_index.ipynb" in readme


def test_import_vmbackup_stays_light() -> None:
    """Models never pull in plotting or widgets; importing the package must not either."""
    code = (
        "import sys, vmbackup, vmbackup.data;"
        "heavy = [m for m in ('matplotlib', 'ipywidgets', 'IPython') if m in sys.modules];"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_there_are_notebooks() -> None:
    assert NOTEBOOKS, "notebooks/ holds no notebook"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_executed_clean_and_without_widget_state(path: Path) -> None:
    nb = json.loads(path.read_text())
    assert "widgets" not in nb["metadata"], "widget state stored in notebook metadata"
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    code_cells = [c for c in nb["cells"] if c["cell_type"] == "code" and "".join(c["source"])]
    assert code_cells, "a notebook without code teaches nothing nbval can check"
    for number, cell in enumerate(code_cells, 1):
        assert cell["execution_count"] is not None, f"code cell {number} was never executed"
        for output in cell["outputs"]:
            assert output["output_type"] != "error", f"code cell {number} stores an error"
            assert WIDGET_STATE not in output.get("data", {})
            if WIDGET_VIEW in output.get("data", {}):
                tags = cell["metadata"].get("tags", [])
                assert "nbval-ignore-output" in tags, (
                    f"code cell {number} displays a widget but is not tagged nbval-ignore-output"
                )
    counts = [c["execution_count"] for c in code_cells]
    assert counts == list(range(1, len(counts) + 1)), "cells were not run top to bottom once"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_follows_the_template(path: Path) -> None:
    """Title, why it matters, 3-4 objectives (CONTRIBUTING.md's template)."""
    nb = json.loads(path.read_text())
    markdown = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]
    assert markdown, "a notebook needs Markdown cells"
    assert markdown[0].startswith("# "), "the first cell must be a '# Title'"
    text = "\n".join(markdown)
    assert "## Why it matters" in text
    objectives = text.split("## In this notebook you will", 1)
    assert len(objectives) == 2, "missing '## In this notebook you will'"
    bullets = re.findall(r"^- ", objectives[1].split("\n## ", 1)[0], re.MULTILINE)
    assert 3 <= len(bullets) <= 4, f"{len(bullets)} objectives; the template asks for 3-4"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_relative_links_resolve(path: Path) -> None:
    nb = json.loads(path.read_text())
    text = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    for target in re.findall(r"\]\(([^)\s#]+)(?:#[^)]*)?\)", text):
        if re.match(r"[a-z]+://", target):
            continue
        assert (path.parent / target).exists(), f"{path.name} links to missing {target}"
