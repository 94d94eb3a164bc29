"""Binder's recipe, proven without docker: a fresh virtual environment built from binder/
(requirements.txt, then postBuild) runs the index notebook."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(command: list[str | Path], env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [str(c) for c in command], capture_output=True, text=True, env=env, cwd=ROOT, check=False
    )
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


@pytest.mark.binder
def test_binder_environment_builds_and_runs_the_index_notebook(tmp_path: Path) -> None:
    runtime = (ROOT / "binder" / "runtime.txt").read_text().strip()
    assert runtime == f"python-{sys.version_info.major}.{sys.version_info.minor}", (
        "build this test's environment with the Python that binder/runtime.txt names"
    )
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", venv])
    python = venv / "bin" / "python"
    _run([python, "-m", "pip", "install", "--quiet", "-r", ROOT / "binder" / "requirements.txt"])
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"
    env["JUPYTER_CONFIG_DIR"] = str(tmp_path / "jupyter-config")
    env["JUPYTER_RUNTIME_DIR"] = str(tmp_path / "jupyter-runtime")
    _run(["bash", ROOT / "binder" / "postBuild"], env=env)
    _run([python, "-m", "pip", "check"], env=env)

    overrides = json.loads((venv / "share/jupyter/lab/settings/overrides.json").read_text())
    notification = overrides["@jupyterlab/apputils-extension:notification"]
    assert notification == {"checkForUpdates": False, "fetchNews": "false"}
    extensions = _run([venv / "bin" / "jupyter", "labextension", "list"], env=env)
    assert "@jupyter-widgets/jupyterlab-manager" in extensions or "jupyterlab_widgets" in extensions

    out = tmp_path / "index-executed.ipynb"
    _run(
        [
            venv / "bin" / "jupyter",
            "nbconvert",
            "--to",
            "notebook",
            "--execute",
            "--output",
            out,
            ROOT / "notebooks" / "00_index.ipynb",
        ],
        env=env,
    )
    executed = json.loads(out.read_text())
    outputs = [o for c in executed["cells"] if c["cell_type"] == "code" for o in c["outputs"]]
    assert outputs, "the index notebook produced no output"
    assert not [o for o in outputs if o["output_type"] == "error"]
    code = "import vmbackup, pathlib; print(pathlib.Path(vmbackup.__file__))"
    where = subprocess.run(
        [python, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert Path(where.stdout.strip()).is_relative_to(ROOT)
