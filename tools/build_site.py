"""Build the course as a static, searchable website (``make site``).

The pages are the README (the home page), every executed notebook in ``notebooks/`` (found by
glob, so a new notebook joins the site by itself), the trainer's kit, the glossary, CONTRIBUTING
and the datasets' README, built by Sphinx with MyST-NB (the stored outputs are shown, nothing is
executed) and the Sphinx Book Theme, which give the sidebar, the full-text search and the page
layout. Every page carries a link that opens it on Binder.

Why Sphinx + MyST-NB + the Book Theme: they are the maintained engine under Jupyter Book 1 and
the Executable Books project's tools, render stored notebook outputs (figures, tables, folded
cells) without a kernel or a network, and work offline. Jupyter Book 2 (mystmd) fetches its site
theme from the network at build time, and MkDocs is no longer maintained; the pins are in
binder/requirements.txt, so the site builds from the README's environment.

Before Sphinx sees them, the sources are copied to ``<out>/../site-src``: each widget output
(an app that needs a running kernel) becomes a note with the Binder link, worked solutions are
folded (``hide-cell``) and the hidden cell holding an exercise's expected answers is left out.

Usage: python tools/build_site.py [OUT]   (default build/site)
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
CONF = ROOT / "tools" / "site"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
#: The repository on GitHub and the Binder that launches it (as in the README's badge).
REPOSITORY = "vmbackup/vmbackup"
BINDER = f"https://mybinder.org/v2/gh/{REPOSITORY}/HEAD?urlpath=lab%2Ftree%2F"

#: Markdown pages of the site besides the notebooks, by their path in the repository.
PAGES = ("README.md", "GLOSSARY.md", "RULES.md", "CONTRIBUTING.md", "datasets/README.md")


#: The sidebar: the README (home page) holds the table of contents, hidden in its text.
NAVIGATION = """

```{toctree}
:hidden:
:caption: The course
:glob:

notebooks/[0-9]*
```

```{toctree}
:hidden:
:caption: For trainers and contributors

notebooks/TRAINER
GLOSSARY
RULES
datasets/README
CONTRIBUTING
```
"""


def binder_url(path: str) -> str:
    """The Binder link that opens ``path`` (a notebook) in JupyterLab, or the course map."""
    target = path if path.endswith(".ipynb") else "notebooks/00_index.ipynb"
    return BINDER + target.replace("/", "%2F")


def _live_note(path: str) -> nbformat.NotebookNode:
    text = (
        "This interactive app needs a running Python kernel: "
        f'<a href="{binder_url(path)}">open this notebook on Binder</a> '
        "or in JupyterLab (<code>make lab</code>) to move its controls."
    )
    return nbformat.v4.new_output(
        "display_data",
        data={
            "text/html": f'<p class="vmbackup-live-app"><em>{text}</em></p>',
            "text/plain": "(interactive app: run the notebook to use it)",
        },
    )


def stage_notebook(source: Path, target: Path) -> None:
    """Copy a notebook for the site: live apps become a note, solutions fold, the hidden
    cell of expected answers is left out."""
    nb = nbformat.read(source, as_version=4)
    path = source.relative_to(ROOT).as_posix()
    for cell in nb.cells:
        if cell.cell_type == "markdown":  # a rule's row of RULES.md is an HTML anchor, not a
            # heading Sphinx knows: link the built page's anchor directly
            cell.source = re.sub(
                r"\[([^\]]+)\]\(\.\./RULES\.md#([a-z0-9-]+)\)",
                r'<a href="../RULES.html#\2">\1</a>',
                cell.source,
            )
        tags = list(cell.metadata.get("tags", []))
        hidden = cell.metadata.get("jupyter", {}).get("source_hidden", False)
        if "solution" in tags:
            tags.append("hide-cell")
        elif hidden:
            tags.append("remove-cell")
        if cell.cell_type == "code" and any(WIDGET_VIEW in o.get("data", {}) for o in cell.outputs):
            cell.outputs = [_live_note(path)]
        if tags:
            cell.metadata["tags"] = tags
    nbformat.write(nb, target)


#: Links into the repository that are not pages of the site (a data file, a folder) go to the
#: repository on GitHub.
REPOSITORY_FILES = f"https://github.com/{REPOSITORY}/blob/HEAD/"
_LINK = re.compile(r"\]\((?!https?:|mailto:|#)([^)#\s]+)(#[^)\s]*)?\)")


def _repository_links(page: str) -> str:
    """A Markdown page's text with each link to a repository file that is not on the site
    pointed at the repository instead (Sphinx would refuse it as a missing reference)."""
    folder = (ROOT / page).parent
    on_site = {ROOT / p for p in PAGES} | {ROOT / "notebooks" / "TRAINER.md"}

    def retarget(match: re.Match[str]) -> str:
        target = (folder / match.group(1)).resolve()
        if target in on_site or target.suffix == ".ipynb" or not target.is_relative_to(ROOT):
            return match.group(0)
        return f"]({REPOSITORY_FILES}{target.relative_to(ROOT).as_posix()}{match.group(2) or ''})"

    return _LINK.sub(retarget, (ROOT / page).read_text(encoding="utf-8"))


def stage(source_dir: Path) -> list[str]:
    """Copy every page into ``source_dir``; return the notebooks' paths, in order."""
    if source_dir.exists():
        shutil.rmtree(source_dir)
    (source_dir / "notebooks").mkdir(parents=True)
    for page in PAGES:
        target = source_dir / ("index.md" if page == "README.md" else page)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(_repository_links(page), encoding="utf-8")
    shutil.copy(ROOT / "notebooks" / "TRAINER.md", source_dir / "notebooks" / "TRAINER.md")
    notebooks = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if not notebooks:
        raise SystemExit("no notebooks found in notebooks/")
    for notebook in notebooks:
        stage_notebook(notebook, source_dir / "notebooks" / notebook.name)
    with (source_dir / "index.md").open("a") as home:  # the site's navigation
        home.write(NAVIGATION)
    return [f"notebooks/{n.name}" for n in notebooks]


def build(out: Path) -> None:
    source_dir = out.parent / "site-src"
    stage(source_dir)
    command = [
        sys.executable,
        "-m",
        "sphinx",
        "-b",
        "html",
        "-c",
        str(CONF),
        "-q",
        "-W",
        "--keep-going",
        "-j",
        "auto",
        str(source_dir),
        str(out),
    ]
    subprocess.run(command, check=True)
    print(f"site built: {out / 'index.html'}")


if __name__ == "__main__":
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "build" / "site")
