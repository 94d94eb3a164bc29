"""The course's dashboards in a real browser: Voila shows a notebook's apps and story and none of
its exercises or worked answers (issue 17). Uses the set-up of ``test_browser.py``."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from test_browser import (  # type: ignore[import-not-found]
    ARTIFACTS,
    BIN,
    ROOT,
    _free_port,
    _server_env,
    _state,
    _stop,
    _wait_for,
    browser,
    pytestmark,
)

__all__ = ["browser", "pytestmark"]  # the fixture and the markers, shared with test_browser.py


def test_voila_shows_the_apps_and_hides_the_exercises(browser: Any, tmp_path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    port = _free_port()
    notebook = ROOT / "notebooks" / "02_incremental_transfer.ipynb"
    command = [str(BIN / "voila"), str(notebook), "--no-browser", f"--port={port}"]
    command.append("--Voila.ip=127.0.0.1")
    log = (tmp_path / "voila.log").open("wb")
    server = subprocess.Popen(
        command, env=_server_env(tmp_path), stdout=log, stderr=subprocess.STDOUT, cwd=ROOT
    )
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    try:
        _wait_for(f"http://127.0.0.1:{port}/", server, seconds=120)
        for _attempt in range(3):  # a first render can stall: reload
            page.goto(f"http://127.0.0.1:{port}/", timeout=120_000)
            try:
                page.wait_for_selector(".jupyter-widgets .noUi-handle", timeout=60_000)
                break
            except Exception:
                continue
        body = page.inner_text("body")
        assert "Key takeaways" in body
        for hidden in ("Exercises", "Replace ... with your answer", "Correct:", "answer_1"):
            assert hidden not in body, f"Voila shows {hidden!r}"
        app = page.locator(".jp-OutputArea:has(.jupyter-widgets)").first
        app.locator("input[type=checkbox]").first.click()  # first backup
        # the greyed-out note changes at once, the model's answer a moment later: wait for it
        deadline = time.monotonic() + 60
        while "S12, S14" not in _state(app) and time.monotonic() < deadline:
            page.wait_for_timeout(250)
        assert "S12, S14" in _state(app)
        assert "Greyed out here" in page.inner_text("body")
        page.screenshot(path=str(ARTIFACTS / "voila-02_incremental_transfer.png"), full_page=True)
    finally:
        page.close()
        _stop(server)
        log.close()


@pytest.mark.parametrize("tag", ["exercise", "solution"])
def test_the_voila_template_is_installed_and_the_default(tag: str) -> None:
    template = (ROOT / "binder" / "voila" / "course" / "index.html.j2").read_text()
    assert f"'{tag}' not in tags" in template
    config = Path(str(BIN.parent)) / "etc" / "jupyter" / "voila.json"
    assert '"template": "course"' in config.read_text(), "run binder/postBuild (make does)"
