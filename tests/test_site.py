"""The course as a website (``make site``): it builds from the README's environment, holds every
notebook, and every internal link and image on it resolves (issue 17)."""

from __future__ import annotations

import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent


class _Page(HTMLParser):
    """The links, image sources and element ids of one HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(str(values["id"]))
        if tag == "a" and values.get("name"):
            self.ids.add(str(values["name"]))
        for attribute in ("href", "src"):
            target = values.get(attribute)
            if target and (tag != "link" or values.get("rel") in ("stylesheet", "icon")):
                self.links.append(target)


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site") / "site"
    subprocess.run(
        [sys.executable, str(ROOT / "tools" / "build_site.py"), str(out)],
        check=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    return out


def test_every_notebook_and_page_is_on_the_site(site: Path) -> None:
    notebooks = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert notebooks
    for notebook in notebooks:
        assert (site / "notebooks" / f"{notebook.stem}.html").is_file(), notebook.name
    for page in (
        "index",
        "GLOSSARY",
        "RULES",
        "CONTRIBUTING",
        "notebooks/TRAINER",
        "datasets/README",
    ):
        assert (site / f"{page}.html").is_file(), page
    home = (site / "index.html").read_text(encoding="utf-8")
    for notebook in notebooks:  # the sidebar links every notebook
        assert f"notebooks/{notebook.stem}.html" in home


def test_every_internal_link_and_image_resolves(site: Path) -> None:
    # the pages; _static/ holds the theme's template fragments, not pages
    pages = sorted(p for p in site.rglob("*.html") if "_static" not in p.relative_to(site).parts)
    parsed = {page: _parse(page) for page in pages}
    broken = []
    for page, content in parsed.items():
        for link in content.links:
            parts = urlsplit(link)
            if parts.scheme or link.startswith(("//", "mailto:", "javascript:")):
                continue
            target = page if not parts.path else (page.parent / unquote(parts.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{page.relative_to(site)}: {link}")
                continue
            if parts.fragment and target.suffix == ".html":
                ids = parsed[target].ids if target in parsed else _parse(target).ids
                if unquote(parts.fragment) not in ids:
                    broken.append(f"{page.relative_to(site)}: {link} (no such anchor)")
    assert not broken, "\n".join(broken)


def test_the_site_is_searchable(site: Path) -> None:
    index = (site / "searchindex.js").read_text(encoding="utf-8")
    for word in ("churn", "protect", "consist"):
        assert word in index
    assert (site / "search.html").is_file()


def test_every_page_links_to_binder_and_apps_say_how_to_run_them(site: Path) -> None:
    for page in [site / "index.html", *sorted((site / "notebooks").glob("*.html"))]:
        text = page.read_text(encoding="utf-8")
        assert re.search(r'class="vmbackup-binder"><a href="https://mybinder\.org/v2/gh/', text), (
            page.name
        )
    billing = (site / "notebooks" / "06_billing.html").read_text(encoding="utf-8")
    assert "vmbackup-live-app" in billing  # the apps need a kernel: the page says where
    assert "application/vnd.jupyter.widget-view+json" not in billing
    assert 'class="tag_solution' in billing or "tag_solution" in billing  # folded, still there
