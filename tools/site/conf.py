"""Sphinx configuration of the course's website; tools/build_site.py stages the pages and runs
Sphinx with this folder as its configuration directory (``make site``)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from build_site import REPOSITORY, binder_url

project = "Azure VM Backup, explained and explored"
author = "the vmbackup authors"
root_doc = "index"
extensions = ["myst_nb"]
exclude_patterns = ["_build", "**/.ipynb_checkpoints"]

# notebooks are shown with their stored outputs (make notebooks executes them); nothing runs here
nb_execution_mode = "off"
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3

html_theme = "sphinx_book_theme"
html_title = project
html_theme_options = {
    "repository_url": f"https://github.com/{REPOSITORY}",
    "repository_branch": "HEAD",
    "path_to_docs": "",
    "use_repository_button": True,
    "launch_buttons": {"binderhub_url": "https://mybinder.org", "notebook_interface": "jupyterlab"},
    "show_toc_level": 2,
}
html_last_updated_fmt = None


def _binder_link(
    app: Any, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    """Every page starts with a link that opens it (a notebook) or the course on Binder."""
    if doctree is None or "body" not in context:
        return
    source = app.env.doc2path(pagename, False).as_posix()
    source = "README.md" if source == "index.md" else source
    what = "this notebook" if source.endswith(".ipynb") else "the course"
    link = (
        f'<p class="vmbackup-binder"><a href="{binder_url(source)}">'
        f"Open {what} on Binder</a> (live apps and exercises, nothing to install)</p>"
    )
    context["body"] = link + context["body"]


def setup(app: Any) -> dict[str, Any]:
    app.connect("html-page-context", _binder_link)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
