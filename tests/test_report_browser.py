"""The plan report in a real browser: the sample estate's report opened from a file in Debian's
headless Chromium (Playwright), every section heading shown and every figure loaded, nothing
requested from anywhere. The screenshot goes to ``test-artifacts/plan_report.png``.

Chromium is found and skipped as in ``tests/test_browser.py``.
"""

from __future__ import annotations

import io
from pathlib import Path

from test_browser import (  # type: ignore[import-not-found]
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    pytestmark,
)

from vmbackup.cli import main
from vmbackup.data import dataset_path
from vmbackup.report import PLAN_SECTIONS

AZURE_FILES = ("vms.json", "disks.json", "items.json", "policies.json", "used_sizes.csv")

__all__ = ["pytestmark"]  # the browser markers, shared with test_browser.py

IMAGES_LOADED = """() => [...document.images].map(i => ({
    alt: i.alt, complete: i.complete, width: i.naturalWidth, height: i.naturalHeight}))"""


def test_the_report_opens_with_every_section_and_figure(tmp_path: Path) -> None:
    """The report ``plan --report`` writes for the az sample, from a file:// URL: each section
    heading is visible, each figure has loaded (naturalWidth > 0), and the page made no request
    but its own."""
    from playwright.sync_api import sync_playwright

    report = tmp_path / "plan.html"
    # end to end, as the README says: Azure's JSON, the vault's items and policies, the CLI
    azure = {name: str(dataset_path(f"azure/{name}")) for name in AZURE_FILES}
    argv = ["plan", azure["vms.json"], "--disks", azure["disks.json"], "--items"]
    argv += [azure["items.json"], "--policy", azure["policies.json"], "--used-sizes"]
    argv += [azure["used_sizes.csv"], "--days", "7", "--report", str(report)]
    out, err = io.StringIO(), io.StringIO()
    assert main(argv, out, err) == 0, err.getvalue()
    assert f"Wrote the plan as one HTML page to {report}" in out.getvalue()
    requested: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("request", lambda request: requested.append(request.url))
            page.goto(report.as_uri())
            page.wait_for_load_state("load")
            headings = page.locator("main h2")
            assert headings.all_inner_texts() == list(PLAN_SECTIONS)
            for index in range(headings.count()):
                assert headings.nth(index).is_visible()
            pictures = page.evaluate(IMAGES_LOADED)
            # five figures: the premium-space chart is left out, the estate having only managed
            # premium disks (today's rule, G15: not applicable)
            assert len(pictures) >= 5
            for picture in pictures:
                assert picture["complete"], picture["alt"]
                assert picture["width"] > 0, picture["alt"]
                assert picture["height"] > 0, picture["alt"]
            links = page.locator("nav a")
            assert links.count() == len(PLAN_SECTIONS)
            links.nth(len(PLAN_SECTIONS) - 1).click()  # the contents lead to each section
            assert page.evaluate("window.location.hash") == "#rules-cited-rules-md"
            page.locator('main a[href="#rule-g15"]').first.click()  # a citation to its rule
            assert page.evaluate("window.location.hash") == "#rule-g15"
            assert page.locator("tr#rule-g15").is_visible()
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "plan_report.png"), full_page=True)
        finally:
            browser.close()
    others = [url for url in requested if not url.startswith(("file:", "data:"))]
    assert others == [], f"the report requested {others}"
    assert [url for url in requested if url.startswith("file:")] == [report.as_uri()]
