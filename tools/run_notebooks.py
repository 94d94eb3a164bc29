"""Re-execute notebooks in place and store their outputs, ready for nbval (``make notebooks``).

Each notebook runs with its own folder as the working directory (as nbval does), in the current
Python environment. Widget state is not stored and volatile metadata is stripped, so diffs stay
readable and nbval compares only what a learner reads.

Usage: python tools/run_notebooks.py notebooks/*.ipynb
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def clean(nb: nbformat.NotebookNode) -> None:
    """Drop widget state and per-run metadata; keep outputs."""
    nb.metadata.pop("widgets", None)
    nb.metadata["kernelspec"] = {
        "display_name": "Python 3",
        "language": "python",
        "name": "python3",
    }
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            for output in cell.outputs:
                output.get("data", {}).pop(WIDGET_STATE, None)


def run(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=False,
    )
    client.execute()
    clean(nb)
    nbformat.write(nb, path)
    print(f"executed {path}")


if __name__ == "__main__":
    paths = [Path(p) for p in sys.argv[1:]]
    if not paths:
        sys.exit("usage: python tools/run_notebooks.py NOTEBOOK.ipynb [...]")
    for notebook in paths:
        run(notebook)
