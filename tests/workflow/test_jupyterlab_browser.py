"""A paper notebook opened from JupyterLab's file browser by double-click, run, and saved unchanged.

Drives JupyterLab (started from this environment, with the user settings of a
fresh account) in headless Debian Chromium with Playwright. The double-click
opens the jupytext ``.py`` as a notebook because ``make`` (and Binder's
``postBuild``) install ``binder/overrides.json`` as the environment's JupyterLab
default-viewer setting.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.notebooks]

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
NOTEBOOK = "00_study_area_and_data.py"
OVERRIDES = Path(sys.prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.json"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if CHROMIUM is None:
        pytest.skip("needs Debian's chromium (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api", reason="needs the playwright package")
    assert OVERRIDES.exists(), f"{OVERRIDES} is missing: `make` installs it from binder/overrides.json"
    home = tmp_path_factory.mktemp("lab")
    port = _free_port()
    # as a user's JupyterLab: without the test session's MPLBACKEND=Agg, which would hide every inline figure
    env = {**{k: v for k, v in os.environ.items() if k != "MPLBACKEND"}, "JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"), "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
           "SMKIT_CACHE": str(home / "cache")}
    log = (home / "lab.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
         "--IdentityProvider.token=", "--ServerApp.password=", f"--ServerApp.root_dir={ROOT}",
         "--ServerApp.disable_check_xsrf=True", "--ServerApp.allow_root=True", "--LabApp.news_url=", "--LabApp.check_for_updates_class="
         "jupyterlab.NeverCheckForUpdate"],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            urllib.request.urlopen(f"{url}/api/status", timeout=2)
            break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail(f"JupyterLab did not start: {(home / 'lab.log').read_text()[-2000:]}")
    yield url
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_double_click_opens_a_paper_notebook_as_a_notebook_and_it_runs(lab):
    from playwright.sync_api import sync_playwright

    source = (ROOT / "notebooks" / NOTEBOOK).read_text()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{lab}/lab/tree/notebooks", timeout=120_000)
        item = page.locator(".jp-DirListing-item", has_text=NOTEBOOK)
        item.wait_for(timeout=120_000)
        item.dblclick()
        panel = page.locator(".jp-NotebookPanel:visible")
        panel.wait_for(timeout=60_000)  # a notebook, not a text editor
        assert page.locator(".jp-FileEditor:visible").count() == 0
        # the preferred kernel starts by itself (no "Select Kernel" dialog: binder/overrides.json)
        page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").first.wait_for(timeout=120_000)
        assert page.locator(".jp-Dialog").count() == 0, page.locator(".jp-Dialog").all_inner_texts()
        page.locator(".jp-StatusBar-TextItem", has_text="| Idle").first.wait_for(timeout=120_000)

        def prompts():  # textContent, not innerText: cells scrolled out of view are not laid out
            return page.locator(".jp-CodeCell .jp-InputPrompt").evaluate_all("els => els.map(e => e.textContent)")

        def run_all():
            page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
            page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()

        run_all()
        deadline, started = time.time() + 900, time.time()
        while time.time() < deadline:
            now = prompts()
            if now and all(p.strip() not in ("[*]:", "[ ]:", "") for p in now):
                break
            if time.time() - started > 30 and all(p.strip() == "[ ]:" for p in now):
                run_all()  # the first request reached a kernel that was still connecting
                started = time.time()
            time.sleep(2)
        else:
            pytest.fail(f"the notebook did not finish in 15 minutes; prompts: {prompts()}")
        outputs = page.locator(".jp-OutputArea-output").evaluate_all("els => els.map(e => e.textContent)")
        assert not [o for o in outputs if "Traceback" in o or "Error" in o[:200]], outputs[-3:]
        page.locator(".jp-OutputArea img").first.wait_for(state="attached", timeout=30_000)  # its figures show
        # saving from JupyterLab leaves the tracked file as it was
        page.keyboard.press("Control+s")
        time.sleep(3)
        browser.close()
    assert (ROOT / "notebooks" / NOTEBOOK).read_text() == source
