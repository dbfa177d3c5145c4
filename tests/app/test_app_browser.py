"""The served map explorer driven in headless Debian Chromium with Playwright.

Needs Debian's ``chromium`` (``apt-get install chromium``) and the ``playwright``
Python package (``pip install playwright``; no ``playwright install``: the
browser is the system one). Skipped, saying which is missing, without them.

Screenshots and the measured date-change latency go to
``reports/test-artifacts/``.
"""

import json
import os
import shutil
import socket
import statistics
import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).resolve().parents[2] / "reports" / "test-artifacts"
# What Chromium needs on these machines (no sandbox as root, no GPU, no calls home).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LATENCY_BUDGET_S = 2.0  # the target on a quiet 2-core machine is < 1 s; CI may be busier

# In the page: note when a widget value changes on the client, when the map's image
# data arrive from the server, and the next animation frame after them (painted).
INSTRUMENT = """() => {
  const doc = window.Bokeh.documents[0];
  const st = window.__smkit = {seq: 0, t_value: null, t_data: null, t_paint: null, log: []};
  const onData = () => {
    if (st.t_value === null || st.t_data !== null) return;
    st.t_data = performance.now();
    requestAnimationFrame(() => {
      st.t_paint = performance.now();
      st.seq += 1;
      st.log.push({value_to_data: st.t_data - st.t_value, value_to_paint: st.t_paint - st.t_value});
    });
  };
  for (const m of doc.all_models) {
    const widget = ["panel.models.widgets.DiscretePlayer", "panel.models.widgets.CustomSelect",
                    "Checkbox"];
    if (widget.includes(m.type)) {
      m.properties.value?.change.connect(() => {
        st.t_value = performance.now(); st.t_data = null; st.t_paint = null;
      });
      m.properties.active?.change.connect(() => {
        st.t_value = performance.now(); st.t_data = null; st.t_paint = null;
      });
    }
    if (m.type === "GlyphRenderer" && m.glyph.type === "Image") {
      m.data_source.change.connect(onData);
      m.data_source.properties.data.change.connect(onData);
    }
  }
  return st.seq;
}"""

APP_READY = """() => {
  const B = window.Bokeh;
  if (!B || !B.documents || !B.documents.length) return false;
  const doc = B.documents[0];
  if (!doc.is_idle) return false;
  for (const m of doc.all_models)
    if (m.type === "GlyphRenderer" && m.glyph.type === "Image") return true;
  return false;
}"""


def _require_browser():
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip(
            "the playwright package is missing: pip install playwright "
            "(Debian's chromium is used; no `playwright install`)"
        )
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is missing: apt-get install chromium")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, timeout: float = 120.0):
    """Wait until the server accepts connections (a TCP connect opens no session)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _pixels(path: Path) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(path).convert("RGB"), dtype=np.int16)


def _changed_fraction(a: Path, b: Path) -> float:
    x, y = _pixels(a), _pixels(b)
    h, w = min(x.shape[0], y.shape[0]), min(x.shape[1], y.shape[1])
    return float((np.abs(x[:h, :w] - y[:h, :w]).max(axis=-1) > 12).mean())


_PLAYWRIGHT = []  # one Playwright per test session: its sync API allows one at a time per thread


def _playwright():
    from playwright.sync_api import sync_playwright

    if not _PLAYWRIGHT:
        _PLAYWRIGHT.append(sync_playwright().start())
    return _PLAYWRIGHT[0]


@pytest.fixture(scope="module", autouse=True)
def _stop_playwright():
    yield
    while _PLAYWRIGHT:
        _PLAYWRIGHT.pop().stop()


class _App:
    """A served explorer and a Chromium page on it."""

    def __init__(self, scenario, tag: str, viewport=(1480, 1000), **serve_kwargs):
        from smkit.app import serve

        self.tag, self.sessions, self.port = tag, [], _free_port()
        self.viewport = {"width": viewport[0], "height": viewport[1]}
        t0 = time.perf_counter()
        self.server = serve(
            scenario, port=self.port, threaded=True, on_session=self.sessions.append, progress=False,
            **serve_kwargs,
        )
        self._pw = self.browser = None
        try:
            _wait_port(self.port)
            self.startup_s = time.perf_counter() - t0
            self._pw = _playwright()
            self._open_page()
        except BaseException:
            self.close()
            raise

    def _open_page(self):
        self.browser = self._pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        self.page = self.browser.new_page(viewport=self.viewport, accept_downloads=True)
        self.external = []
        self.page.on(
            "request",
            lambda r: (
                None
                if r.url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "blob:", "data:"))
                else self.external.append(r.url)
            ),
        )
        self.errors = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        t0 = time.perf_counter()
        self.page.goto(f"http://127.0.0.1:{self.port}/")
        self.page.wait_for_function(APP_READY, timeout=120_000)
        self.load_s = time.perf_counter() - t0
        assert len(self.sessions) == 1
        self.ex = self.sessions[0]
        self.page.evaluate(INSTRUMENT)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def shot(self, name: str, full: bool = False) -> Path:
        time.sleep(0.4)  # let the markers' own update (a second message) arrive too
        self.page.wait_for_function("() => window.Bokeh.documents[0].is_idle", timeout=30_000)
        path = ARTIFACTS / f"app-{self.tag}-{name}.png"
        if full:
            self.page.screenshot(path=str(path))
        else:
            self.page.locator(".smkit-map").first.screenshot(path=str(path))
        return path

    def act(self, action) -> dict:
        """Run a UI action; wait until the map's new image is painted; return the timings (s)."""
        seq = self.page.evaluate("() => window.__smkit.seq")
        t0 = time.perf_counter()
        action()
        self.page.wait_for_function(f"() => window.__smkit.seq > {seq}", timeout=30_000)
        wall = time.perf_counter() - t0
        log = self.page.evaluate("() => window.__smkit.log")[-1]
        self.page.wait_for_function("() => window.Bokeh.documents[0].is_idle", timeout=30_000)
        return {
            "value_to_paint_s": log["value_to_paint"] / 1000,
            "value_to_data_s": log["value_to_data"] / 1000,
            "click_to_paint_s": wall,
        }

    def close(self):
        if self.browser is not None:
            self.browser.close()
        self.server.stop()


def _drive(app: _App, n_steps: int = 6) -> dict:
    """Change date, product and mode through the UI; check the map; record the latency."""
    ex, page = app.ex, app.page
    dates = ex.param["date"].objects
    start = dates.index(ex.date)
    before = app.shot("1-initial")
    shown0 = ex.current_map()[0].copy()

    steps = []
    for i in range(n_steps):  # the player's "next" button, one day at a time
        steps.append(app.act(lambda: page.locator(".smkit-date button.next").first.click()))
        assert ex.date == dates[start + i + 1]
    after = app.shot("2-next-days")
    shown1 = ex.current_map()[0]
    layer = ex.layers[ex.product]
    np.testing.assert_array_equal(shown1, layer.day(dates[start + n_steps]))
    assert not np.array_equal(shown0, shown1, equal_nan=True)
    date_change = _changed_fraction(before, after)
    assert date_change > 0.01, "the map looks the same after the date changed"

    product = app.act(
        lambda: page.locator(".smkit-product select").first.select_option(label="Truth")
    )
    assert ex.product == "Truth"
    truth = app.shot("3-truth")
    np.testing.assert_array_equal(ex.current_map()[0], ex.layers["Truth"].day(ex.date))
    product_change = _changed_fraction(after, truth)
    assert product_change > 0.01, "the map looks the same after the product changed"

    diff = app.act(lambda: page.locator(".smkit-difference input").first.check())
    assert ex.difference and ex.reference == "CCI"
    diff_shot = app.shot("4-truth-minus-cci")
    assert _changed_fraction(truth, diff_shot) > 0.01

    # a click on the map shows the series of every product there
    box = page.locator(".smkit-map canvas").first.bounding_box()
    t0 = time.perf_counter()
    page.mouse.click(box["x"] + box["width"] * 0.4, box["y"] + box["height"] * 0.5)
    page.locator(".smkit-series-title").filter(has_text="°N").first.wait_for(timeout=60_000)
    click_to_series = time.perf_counter() - t0
    assert ex._selected is not None
    series = ex.pixel_series(ex._selected["pixel_lat"], ex._selected["pixel_lon"])
    assert list(series.columns) == list(ex.layers)
    assert series.notna().any().any()
    app.shot("5-page-after-click", full=True)

    assert not app.errors, app.errors
    assert not app.external, f"the page requested outside resources: {app.external}"
    lat = [s["value_to_paint_s"] for s in steps]
    result = {
        "scenario": app.tag,
        "map_pixels": int(ex.current_map()[0].size),
        "server_start_s": round(app.startup_s, 2),
        "page_load_s": round(app.load_s, 2),
        "date_change_value_to_paint_s": [round(x, 3) for x in lat],
        "date_change_median_s": round(statistics.median(lat), 3),
        "date_change_click_to_paint_s": [round(s["click_to_paint_s"], 3) for s in steps],
        "product_change_value_to_paint_s": round(product["value_to_paint_s"], 3),
        "difference_value_to_paint_s": round(diff["value_to_paint_s"], 3),
        "click_to_series_title_s": round(click_to_series, 3),
        "changed_pixels_date": round(date_change, 3),
        "changed_pixels_product": round(product_change, 3),
    }
    (ARTIFACTS / f"app-{app.tag}-latency.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return result


def test_explorer_in_chromium_tiny(tiny):
    _require_browser()
    app = _App(tiny, "tiny")
    try:
        result = _drive(app)
    finally:
        app.close()
    assert result["date_change_median_s"] < LATENCY_BUDGET_S


@pytest.mark.slow
def test_explorer_in_chromium_demo():
    """The demo domain (300 x 300 pixels a day); the scenario is cached first (~1 min)."""
    _require_browser()
    app = _App(os.environ.get("SMKIT_BROWSER_SCENARIO", "demo"), "demo")
    try:
        result = _drive(app)
    finally:
        app.close()
    assert result["date_change_median_s"] < LATENCY_BUDGET_S


# --------------------------------------------------------------------------- one served app, many checks
@pytest.fixture(scope="module")
def long_app(tiny):
    """The tiny scenario's baselines over all its 548 days: the default day is index 470."""
    _require_browser()
    app = _App(tiny, "tiny-long", quick="baselines")
    yield app
    app.close()


def _slider_state(page) -> dict:
    """The date player's range input (value, max) and its label, read in the page (shadow DOM)."""
    slider = page.locator(".smkit-date input[type=range]").first
    return {
        "slider": int(slider.input_value()),
        "max": int(slider.get_attribute("max") or slider.evaluate("s => s.max")),
        "label": page.locator(".smkit-date .pn-player-value").first.text_content().strip(),
    }


def test_date_slider_label_and_map_agree(long_app):
    app, ex, page = long_app, long_app.ex, long_app.page
    dates = ex.param["date"].objects
    assert dates.index(ex.date) > 100  # beyond the range input's default maximum

    def check():
        st = _slider_state(page)
        assert st["max"] == len(dates) - 1
        assert dates[st["slider"]] == st["label"] == ex.date, st
        np.testing.assert_array_equal(ex.current_map()[0], ex.layers[ex.product].day(ex.date))

    check()  # at start
    app.act(lambda: page.locator(".smkit-date button.next").first.click())
    check()
    app.act(lambda: page.locator(".smkit-date input[type=range]").first.evaluate(
        "s => { s.value = '200'; s.dispatchEvent(new Event('input'));"
        " s.dispatchEvent(new Event('change')); }"))
    assert ex.date == dates[200]
    check()
    ex.date = dates[400]  # from Python
    deadline = time.monotonic() + 30
    while _slider_state(page)["slider"] != 400 and time.monotonic() < deadline:
        time.sleep(0.1)
    check()
    assert not app.errors, app.errors


def _wait(cond, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting in the page")
        time.sleep(0.1)


def _click_map(app, fx=0.4, fy=0.5):
    """Click the map at a fraction of its canvas; wait until the server has the new point."""
    before = app.ex._selected
    box = app.page.locator(".smkit-map canvas").first.bounding_box()
    app.page.mouse.click(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
    _wait(lambda: app.ex._selected is not None and app.ex._selected != before, 60)
    app.page.locator(".smkit-series-title").filter(has_text="°N").first.wait_for(timeout=60_000)


def test_line_picker_in_the_page(long_app):
    ex, page = long_app.ex, long_app.page
    _click_map(long_app)
    assert "Truth" in ex.lines
    page.locator(".smkit-lines").first.get_by_label("Truth", exact=True).uncheck()
    _wait(lambda: "Truth" not in ex.lines)
    assert ex.lines == [lab for lab in ex.param["lines"].objects if lab != "Truth"]
    page.locator(".smkit-lines").first.get_by_label("Truth", exact=True).check()
    _wait(lambda: "Truth" in ex.lines)
    assert not long_app.errors, long_app.errors


MAP_BAR = """() => {
  for (const m of window.Bokeh.documents[0].all_models)
    if (m.type === "ColorBar" && m.title && m.title.startsWith("Soil moisture"))
      return {title: m.title, low: m.color_mapper.low, high: m.color_mapper.high,
              palette: m.color_mapper.palette.length};
  return null;
}"""


def test_compare_two_dates_in_the_page(long_app):
    app, ex, page = long_app, long_app.ex, long_app.page
    dates = ex.param["date"].objects
    app.act(lambda: page.locator(".smkit-compare input").first.check())
    assert ex.compare_dates and not ex.difference
    target = dates[dates.index(ex.date) + 20]
    app.act(lambda: page.locator(".smkit-date-b select").first.select_option(label=target))
    assert ex.date_b == target
    layer = ex.layers[ex.product]
    np.testing.assert_allclose(ex.current_map()[0], layer.day(target) - layer.day(ex.date),
                               equal_nan=True)
    _wait(lambda: (page.evaluate(MAP_BAR) or {}).get("title", "").startswith("Soil moisture diff"))
    bar = page.evaluate(MAP_BAR)
    assert bar["title"] == "Soil moisture difference [m3 m-3]"
    assert bar["low"] == -bar["high"] < 0
    app.shot("compare-dates")
    app.act(lambda: page.locator(".smkit-compare input").first.uncheck())
    _wait(lambda: page.evaluate(MAP_BAR)["title"] == "Soil moisture [m3 m-3]")
    assert not app.errors, app.errors


def test_downloads_in_the_page(long_app, tmp_path):
    import io

    import pandas as pd
    import xarray as xr

    app, ex, page = long_app, long_app.ex, long_app.page
    if ex.compare_dates:
        app.act(lambda: page.locator(".smkit-compare input").first.uncheck())
    with page.expect_download(timeout=60_000) as info:
        page.locator(".smkit-download-netcdf button, .smkit-download-netcdf a").first.click()
    dl = info.value
    assert dl.suggested_filename == f"smkit_{ex.product}_{ex.date}.nc"
    path = tmp_path / dl.suggested_filename
    dl.save_as(path)
    with xr.open_dataset(path) as nc:
        np.testing.assert_allclose(nc["sm"].values[0, 0], ex.current_map()[0], equal_nan=True)
        assert nc["sm"].attrs["units"] == "m3 m-3"

    with page.expect_download(timeout=60_000) as info:
        page.locator(".smkit-download-geotiff button, .smkit-download-geotiff a").first.click()
    dl = info.value
    assert dl.suggested_filename.endswith(".tif")
    path = tmp_path / dl.suggested_filename
    dl.save_as(path)
    assert path.read_bytes()[:4] in (b"II*\x00", b"MM\x00*")

    _click_map(app, 0.3, 0.6)
    sel = ex._selected
    _wait(lambda: not ex.series_download.disabled)
    time.sleep(0.5)
    with page.expect_download(timeout=60_000) as info:
        page.locator(".smkit-download-csv button, .smkit-download-csv a").first.click()
    dl = info.value
    path = tmp_path / dl.suggested_filename
    dl.save_as(path)
    text = path.read_text()
    assert "m3 m-3" in text.splitlines()[0] + text.splitlines()[1] + text.splitlines()[2]
    assert f"lat {sel['pixel_lat']:.4f} N, lon {sel['pixel_lon']:.4f} E" in text
    csv = pd.read_csv(io.StringIO(text), comment="#", index_col="date")
    assert list(csv.columns)[: len(ex.layers)] == list(ex.layers)
    assert len(csv) == len(ex.times)
    assert not app.errors, app.errors


def test_scale_bar_and_report_link_in_the_page(long_app):
    from smkit.app.serve import report_file
    from smkit.app.views import scale_bar_length

    app, ex, page = long_app, long_app.ex, long_app.page
    km = scale_bar_length(ex.grid)[0]
    texts = page.evaluate("""() => {
      const out = [];
      for (const m of window.Bokeh.documents[0].all_models)
        if (m.type === "GlyphRenderer" && m.glyph.type === "Text" && m.visible)
          out.push(...(m.data_source.data.text || []));
      return out;
    }""")
    assert f"{km:g} km" in texts
    report = report_file()
    if report is None:
        pytest.skip("no reports/demo in this checkout")
    link = page.locator(".smkit-report a").first
    href = link.get_attribute("href")
    assert href.endswith(report.name)
    resp = page.request.get(f"http://127.0.0.1:{app.port}/" + href.lstrip("./"))
    assert resp.status == 200 and resp.body() == report.read_bytes()


# Every element of the page, in shadow roots too, that reaches past the viewport's left or right edge.
OVERFLOW = """(limit) => {
  const out = [];
  const walk = (root) => {
    for (const el of root.querySelectorAll("*")) {
      const r = el.getBoundingClientRect();
      const style = getComputedStyle(el);
      if (r.width > 0 && r.height > 0 && (r.right > limit + 0.5 || r.left < -0.5) && style.visibility !== "hidden")
        out.push({tag: el.tagName, cls: String(el.className).slice(0, 60), left: Math.round(r.left),
                  right: Math.round(r.right)});
      if (el.shadowRoot) walk(el.shadowRoot);
    }
  };
  walk(document);
  return {scrollWidth: document.documentElement.scrollWidth, over: out.slice(0, 20)};
}"""

# The histogram's title: its text, its width in its font and the width of its figure (px).
HIST_TITLE = """() => {
  for (const m of window.Bokeh.documents[0].all_models) {
    if (m.type !== "Figure" || !m.title || !String(m.title.text).startsWith("Visible map")) continue;
    const t = m.title;
    const ctx = document.createElement("canvas").getContext("2d");
    ctx.font = `${t.text_font_style} ${t.text_font_size} ${t.text_font}`;
    const lines = String(t.text).split("\\n");
    return {text: t.text, text_width: Math.max(...lines.map(l => ctx.measureText(l).width)),
            width: m.width, inner_width: m.inner_width, visible: m.visible};
  }
  return null;
}"""


@pytest.mark.parametrize("inline", [False, True], ids=["page", "notebook-layout"])
def test_layout_fits_1280_pixels(tiny, inline):
    """At 1280 x 800 nothing reaches past the left or right edge; the histogram's title is whole."""
    _require_browser()
    tag = "tiny-1280-" + ("inline" if inline else "page")
    app = _App(tiny, tag, viewport=(1280, 800), quick="baselines", inline=inline)
    try:
        page = app.page
        _click_map(app)  # the series and its legend are drawn too
        time.sleep(0.5)
        app.shot("layout", full=True)
        res = page.evaluate(OVERFLOW, 1280)
        assert res["scrollWidth"] <= 1280, res
        assert not res["over"], res
        hist = page.locator(".smkit-hist").first
        assert hist.is_visible()
        box = hist.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 1280
        title = page.evaluate(HIST_TITLE)
        assert title is not None and title["visible"], title
        assert title["text_width"] <= title["width"] - 10, title  # drawn whole, not cut
        legend = page.locator(".smkit-series").first.bounding_box()
        assert legend["x"] + legend["width"] <= 1280
        assert not app.errors, app.errors
    finally:
        app.close()
