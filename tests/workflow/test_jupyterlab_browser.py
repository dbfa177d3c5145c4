"""A paper notebook opened from JupyterLab's file browser by double-click, run, and saved unchanged.

Drives JupyterLab (started from this environment, with the user settings of a
fresh account) in headless Debian Chromium with Playwright. The double-click
opens the jupytext ``.py`` as a notebook because ``make`` (and Binder's
``postBuild``) install ``binder/overrides.json`` as the environment's JupyterLab
default-viewer setting.
"""

import contextlib
import os
import re
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


@contextlib.contextmanager
def _jupyterlab(root: Path, home: Path, **env_extra):
    """A JupyterLab on ``root`` with the user settings of a fresh account in ``home``; yields its URL."""
    port = _free_port()
    # as a user's JupyterLab: without the test session's MPLBACKEND=Agg, which would hide every inline figure
    env = {**{k: v for k, v in os.environ.items() if k != "MPLBACKEND"}, "JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"), "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
           "SMKIT_CACHE": str(home / "cache"), **env_extra}
    log = (home / "lab.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
         "--IdentityProvider.token=", "--ServerApp.password=", f"--ServerApp.root_dir={root}",
         "--ServerApp.disable_check_xsrf=True", "--ServerApp.allow_root=True", "--LabApp.news_url=", "--LabApp.check_for_updates_class="
         "jupyterlab.NeverCheckForUpdate"],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{url}/api/status", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail(f"JupyterLab did not start: {(home / 'lab.log').read_text()[-2000:]}")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _needs_chromium():
    if CHROMIUM is None:
        pytest.skip("needs Debian's chromium (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api", reason="needs the playwright package")
    assert OVERRIDES.exists(), f"{OVERRIDES} is missing: `make` installs it from binder/overrides.json"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    _needs_chromium()
    with _jupyterlab(ROOT, tmp_path_factory.mktemp("lab")) as url:
        yield url


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


def _checkout_copy(dest: Path) -> tuple[Path, str]:
    """The package, notebooks/explore.py and the demo report in ``dest``; the report page's heading.

    The report is the checkout's (``reports/demo``) when it has one; its ``index.html`` is written here
    when the checkout has none, so the test never skips for want of it.
    """
    from smkit.app.serve import REPORT_DIR, report_file

    shutil.copytree(ROOT / "smkit", dest / "smkit", ignore=shutil.ignore_patterns("__pycache__"))
    (dest / "notebooks").mkdir()
    shutil.copy2(ROOT / "notebooks" / "explore.py", dest / "notebooks" / "explore.py")
    report_dir = dest / "reports" / "demo"
    if report_file() is not None:
        shutil.copytree(REPORT_DIR, report_dir, ignore=shutil.ignore_patterns("*.pdf"))
    report_dir.mkdir(parents=True, exist_ok=True)
    if not (report_dir / "index.html").exists():  # the HTML page is what the explorer links first
        (report_dir / "index.html").write_text("<html><body><h1>smkit report (test page)</h1></body></html>")
    page = report_file(report_dir)
    assert page is not None and page.suffix == ".html", page
    heading = re.search(r"<h1[^>]*>(.*?)</h1>", page.read_text(encoding="utf-8"), re.S)
    assert heading, f"{page} has no <h1>"
    return page.relative_to(dest), re.sub(r"<[^>]+>", "", heading.group(1)).strip()


@pytest.mark.slow
def test_explorer_notebook_links_the_report_and_it_opens(tmp_path_factory):
    """notebooks/explore.py run in JupyterLab: its report link opens the report in a new tab.

    The explorer stays in the notebook's tab.

    A link relative to the notebook's folder was resolved by the browser against JupyterLab's own URL
    (``/lab/tree/notebooks/explore.py``): it reloaded JupyterLab in the notebook's tab, which opened the
    report but lost the explorer's output.
    """
    from playwright.sync_api import sync_playwright

    _needs_chromium()
    root = tmp_path_factory.mktemp("checkout")
    report, heading = _checkout_copy(root)
    # the kernel imports the copy's smkit, whose report is the copy's reports/demo
    with _jupyterlab(root, tmp_path_factory.mktemp("lab"), PYTHONPATH=str(root)) as lab, \
            sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        page = context.new_page()
        page.goto(f"{lab}/lab/tree/notebooks/explore.py", timeout=120_000)
        page.locator(".jp-NotebookPanel:visible").wait_for(timeout=120_000)
        page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").first.wait_for(timeout=120_000)
        page.locator(".jp-StatusBar-TextItem", has_text="| Idle").first.wait_for(timeout=120_000)
        link = page.locator(".smkit-report a").first
        deadline = time.time() + 600  # the tiny scenario and its quick MLR product: about 15 s
        while time.time() < deadline:
            page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
            page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
            try:  # a first request may reach a kernel that is still connecting
                link.wait_for(timeout=180_000)
                break
            except Exception:
                outputs = page.locator(".jp-OutputArea-output").evaluate_all(
                    "els => els.map(e => e.textContent)")
                assert not [o for o in outputs if "Traceback" in o or "Error" in o[:200]], outputs[-3:]
        else:
            pytest.fail("the explorer did not show within 10 minutes")
        notebook_url = page.url
        with context.expect_page(timeout=60_000) as opened:
            link.click()
        tab = opened.value
        tab.wait_for_load_state("load", timeout=60_000)
        assert tab.url == f"{lab}/files/{report.as_posix()}"
        assert tab.locator("h1").first.inner_text().strip() == heading
        # its figures (paths relative to the page) load too
        sizes = tab.locator("img").evaluate_all("els => els.map(e => e.complete ? e.naturalWidth : -1)")
        assert all(w > 0 for w in sizes), sizes
        # and the notebook, in its own tab, still shows the explorer
        assert page.url == notebook_url and not page.is_closed()
        assert page.locator(".smkit-report a").count() >= 1
        assert page.locator(".jp-NotebookPanel:visible .jp-OutputArea-output").count() >= 1
        # the server's URL of the report (no page-relative path), opened in a new tab
        link = page.locator(".smkit-report a").first
        assert link.get_attribute("href") == f"/files/{report.as_posix()}"
        assert link.get_attribute("target") == "_blank"
        browser.close()
