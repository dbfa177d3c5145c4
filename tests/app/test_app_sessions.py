"""Twenty browser sessions opened at once on the served explorer all get the app (localhost, Chromium)."""

import time

import pytest
from test_app_browser import APP_READY, CHROMIUM, CHROMIUM_ARGS, _free_port, _require_browser, _wait_port

pytestmark = pytest.mark.browser

SESSIONS = 20


def _burst(port: int, n: int) -> list[bool]:
    """Open ``n`` pages at once (each load only started), then whether each shows the app."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        pages = [context.new_page() for _ in range(n)]
        for page in pages:  # start every load before waiting for any
            page.goto(f"http://127.0.0.1:{port}/", wait_until="commit", timeout=120_000)
        ready = []
        for page in pages:
            try:
                page.wait_for_function(APP_READY, timeout=240_000, polling=500)
                ready.append(True)
            except Exception:  # noqa: BLE001 - a page without the app is what is counted
                ready.append(False)
        browser.close()
    return ready


def test_twenty_sessions_at_once_all_get_the_app():
    _require_browser()
    from smkit.app import serve

    built = []
    port = _free_port()
    server = serve("tiny", port=port, threaded=True, on_session=built.append, progress=False)
    try:
        _wait_port(port)
        t0 = time.perf_counter()
        ready = _burst(port, SESSIONS)
        seconds = time.perf_counter() - t0
    finally:
        server.stop()
    assert all(ready), f"{ready.count(False)} of {SESSIONS} pages got no app ({seconds:.0f} s)"
    assert len(built) == SESSIONS
