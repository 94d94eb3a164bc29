"""The suite in a real browser: every notebook run in JupyterLab, every widget moved, and one
Voila dashboard, in Debian's headless Chromium driven by Playwright.

Screenshots go to ``test-artifacts/``. Without Chromium the tests are skipped with the command
that installs it.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
BIN = Path(sys.executable).parent
TOKEN = "vmbackup-e2e"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="Chromium not found: install it with 'apt-get install -y chromium' (Debian) to run "
        "the browser tests; .ci/run does this",
    ),
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for(url: str, server: subprocess.Popen[bytes], seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"server exited with code {server.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {seconds} s")


def _server_env(home: Path) -> dict[str, str]:
    config = home / "config"
    settings = config / "lab" / "user-settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    # render every cell, so that widgets below the fold exist in the page
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    return dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(config),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        JUPYTER_DATA_DIR=str(home / "data"),
    )


def _stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(10)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """JupyterLab on a free port of 127.0.0.1, serving a copy of the notebooks."""
    home = tmp_path_factory.mktemp("lab")
    shutil.copytree(ROOT / "notebooks", home / "notebooks")
    port = _free_port()
    command = [
        str(BIN / "jupyter"),
        "lab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        f"--ServerApp.token={TOKEN}",
        f"--ServerApp.root_dir={home / 'notebooks'}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    log = (home / "lab.log").open("wb")
    server = subprocess.Popen(command, env=_server_env(home), stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_for(f"http://127.0.0.1:{port}/api/status?token={TOKEN}", server)
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(server)
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"
PROMPTS_DONE = """() => {
    const prompts = [...document.querySelectorAll(
        '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputArea-prompt')]
        .map(e => e.textContent.trim());
    return prompts.length > 0 && prompts.every(t => /^\\[\\d+\\]:$/.test(t));
}"""
RUN_STARTED = """() => [...document.querySelectorAll(
    '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputArea-prompt')]
    .some(e => /\\[(\\*|\\d+)\\]/.test(e.textContent))"""


def _menu(page: Any, menu: str, command: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=menu).first.click()
    page.locator(f".lm-Menu-item[data-command='{command}']").click()


def _run_all(page: Any) -> None:
    """Clear every output, then Run All; click again if Lab ignored the first click."""
    _menu(page, "Edit", "editmenu:clear-all")
    for _ in range(3):
        _menu(page, "Run", "runmenu:run-all")
        try:
            page.wait_for_function(RUN_STARTED, timeout=5000)
            break
        except Exception:
            continue
    page.wait_for_function(PROMPTS_DONE, timeout=300_000)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)


RESULT_PARTS = """nodes => nodes.map(n => n.tagName === 'IMG'
    ? n.src.length + n.src.slice(-64) : n.innerText)"""


def _state(cell: Any) -> str:
    """What a widget app shows as its result: its HTML outputs and the images it draws (not the
    controls, whose own read-outs change when they move)."""
    return "|".join(cell.locator(".widget-html, img").evaluate_all(RESULT_PARTS))


def _move_first_control(page: Any, cell: Any) -> str:
    """Change the app's first control; return what was changed."""
    select = cell.locator("select")
    handle = cell.locator(".noUi-handle")
    checkbox = cell.locator("input[type=checkbox]")
    first = cell.locator("select, .noUi-handle, input[type=checkbox]").first
    tag = first.evaluate("n => n.tagName + ' ' + n.className")
    if tag.startswith("SELECT"):
        options = select.first.locator("option").all_text_contents()
        current = select.first.input_value()
        choice = next(o for o in options if o != current)
        select.first.select_option(label=choice)
        return f"dropdown -> {choice}"
    if "noUi-handle" in tag:
        handle.first.focus()
        for _ in range(3):
            page.keyboard.press("ArrowRight")
        return "slider -> 3 steps right"
    checkbox.first.click()
    return "checkbox toggled"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_in_jupyterlab_and_its_widgets_respond(
    lab: str, browser: Any, notebook: Path
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(f"{lab}/lab/tree/{notebook.name}?reset&token={TOKEN}")
        page.wait_for_selector(PANEL, timeout=90_000)
        page.wait_for_selector(
            ".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=90_000
        )
        _run_all(page)
        panel = page.locator(PANEL)
        errors = panel.locator("[data-mime-type='application/vnd.jupyter.error']")
        assert errors.count() == 0, errors.first.inner_text()
        stderr = panel.locator("[data-mime-type='application/vnd.jupyter.stderr']")
        assert stderr.count() == 0, stderr.first.inner_text()
        apps = panel.locator(".jp-CodeCell:has(.jupyter-widgets)")
        for index in range(apps.count()):
            cell = apps.nth(index)
            cell.scroll_into_view_if_needed()
            before = _state(cell)
            assert "Input not accepted" not in before
            moved = _move_first_control(page, cell)
            deadline = time.monotonic() + 30
            while _state(cell) == before and time.monotonic() < deadline:
                page.wait_for_timeout(250)
            assert _state(cell) != before, f"app {index + 1}: {moved} changed nothing on screen"
            if index == 0:
                page.screenshot(path=str(ARTIFACTS / f"{notebook.stem}-app.png"))
        page.screenshot(path=str(ARTIFACTS / f"{notebook.stem}.png"))
    finally:
        page.close()


def test_a_voila_dashboard_renders_and_responds(browser: Any, tmp_path: Path) -> None:
    """The what-if notebooks run as code-free dashboards: ``voila notebooks/<name>.ipynb``."""
    ARTIFACTS.mkdir(exist_ok=True)
    port = _free_port()
    notebook = ROOT / "notebooks" / "05_restore_parallelism.ipynb"
    command = [
        str(BIN / "voila"),
        str(notebook),
        "--no-browser",
        f"--port={port}",
        "--Voila.ip=127.0.0.1",
        "--show_tracebacks=True",
    ]
    log = (tmp_path / "voila.log").open("wb")
    server = subprocess.Popen(
        command,
        env=_server_env(tmp_path),
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=ROOT / "notebooks",
    )
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        _wait_for(f"http://127.0.0.1:{port}/", server, seconds=120)
        for _attempt in range(3):  # a first render can stall: reload
            page.goto(f"http://127.0.0.1:{port}/", timeout=120_000)
            try:
                page.wait_for_selector(".jupyter-widgets .noUi-handle", timeout=60_000)
                break
            except Exception:
                continue
        app = page.locator(".jp-OutputArea:has(.jupyter-widgets)").first
        assert "def " not in page.inner_text("body"), "Voila should hide the code"
        before = _state(app)
        assert "restored after" in before
        app.locator(".noUi-handle").first.focus()
        page.keyboard.press("ArrowRight")
        deadline = time.monotonic() + 30
        while _state(app) == before and time.monotonic() < deadline:
            page.wait_for_timeout(250)
        assert _state(app) != before
        assert "All 13 VMs restored" in _state(app)
        page.screenshot(path=str(ARTIFACTS / "voila-05_restore_parallelism.png"), full_page=True)
    finally:
        page.close()
        _stop(server)
        log.close()
