"""The map explorer without a browser: layout, state -> plotted data, station metrics, errors."""

import socket
import time
import urllib.error
import urllib.request

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import pytest
import xarray as xr

from smkit.app import Explorer, explorer, load, quick_days, serve, zone_edges
from smkit.core.schema import stations_to_volumetric
from smkit.engine import downscale
from smkit.validate import interpolation_baselines, metrics

DAYS = slice("2009-07-01", "2009-07-04")


@pytest.fixture(scope="module")
def product(tiny):
    """A real two-learner product of four days of the tiny scenario."""
    return downscale(tiny.coarse, tiny.fine, learners=("mlr", "xgb"), days=DAYS, progress=False)


@pytest.fixture(scope="module")
def zones(tiny):
    """Three zones from terciles of the mean coarse soil moisture."""
    mean = tiny.coarse["sm"].mean("time")
    q = np.nanquantile(mean.values, [1 / 3, 2 / 3])
    return xr.DataArray(np.digitize(mean.values, q), dims=("lat", "lon"), coords=mean.coords)


@pytest.fixture
def full(tiny, product, zones):
    layout = explorer(
        product,
        coarse=tiny.coarse,
        stations=tiny.stations,
        truth=tiny.truth,
        references={"ERA5": tiny.era5, "Noah": tiny.noah},
        zones=zones,
    )
    return layout.explorer


def _render(dmap):
    return hv.renderer("bokeh").get_plot(dmap)


def _image(plot):
    (r,) = [r for r in plot.state.renderers if type(r.glyph).__name__ == "Image"]
    return r


def _shown(plot) -> np.ndarray:
    return np.asarray(_image(plot).data_source.data["image"][0])


def test_minimal_layout(product):
    layout = explorer(product)
    assert isinstance(layout, pn.FlexBox)  # wraps on a narrow screen
    ex = layout.explorer
    assert isinstance(ex, Explorer)
    assert ex.param["product"].objects == ["MLR", "XG"]
    assert ex.param["date"].objects == ["2009-07-01", "2009-07-02", "2009-07-03", "2009-07-04"]
    assert ex.stations is None
    # builds its bokeh models without optional inputs
    pn.panel(layout).get_root()


def test_full_layout_and_template(full, product):
    assert full.param["product"].objects == ["CCI", "MLR", "XG", "Truth", "ERA5", "Noah"]
    assert full.reference == "CCI"
    assert len(full.stations) == 9  # every tiny station lies in the domain
    assert np.isfinite(full.zone_path).any()
    template = explorer(product, template=True)
    assert isinstance(template, pn.template.BootstrapTemplate)


def test_date_and_product_change_the_plotted_day(full, tiny, product):
    plot = _render(full._map)
    full.product, full.date = "MLR", "2009-07-02"
    want = product["sm"].sel({"model": "mlr"}).sel(time="2009-07-02").values
    np.testing.assert_array_equal(_shown(plot), want)
    full.date = "2009-07-03"
    want3 = product["sm"].sel({"model": "mlr"}).sel(time="2009-07-03").values
    np.testing.assert_array_equal(_shown(plot), want3)
    assert not np.array_equal(want, want3, equal_nan=True)
    full.product = "Truth"
    np.testing.assert_array_equal(_shown(plot), tiny.truth["sm"].sel(time="2009-07-03").values)
    full.product = "CCI"  # the coarse map is shown on its own grid
    np.testing.assert_array_equal(_shown(plot), tiny.coarse["sm"].sel(time="2009-07-03").values)
    assert plot.state.title.text == "CCI, 2009-07-03"


def test_difference_uses_the_nearest_parent_cell(full, tiny, product):
    plot = _render(full._map)
    full.product, full.date, full.reference = "XG", "2009-07-04", "CCI"
    full.difference = True
    nearest = interpolation_baselines(tiny.coarse, tiny.truth)["sm"].sel({"model": "nearest"})
    want = (
        product["sm"].sel({"model": "xgb"}).sel(time="2009-07-04") - nearest.sel(time="2009-07-04")
    ).values
    np.testing.assert_allclose(_shown(plot), want, equal_nan=True, atol=1e-7)
    lo, hi = full.clim  # a new kind of map: symmetric around zero
    assert lo == -hi and hi > 0
    from bokeh.models import ColorBar

    cm = _image(plot).glyph.color_mapper
    bars = [b for b in plot.state.select({"type": ColorBar}) if b.color_mapper is cm]
    assert bars and all(b.title == "Soil moisture difference [m3 m-3]" for b in bars)
    full.difference = False
    assert all(b.title == "Soil moisture [m3 m-3]" for b in bars)
    full.difference = True
    cm = _image(plot).glyph.color_mapper
    assert (cm.low, cm.high) == (lo, hi)
    # ERA5 (0.1 degrees) on the 0.025 degree grid: blocks of 4 x 4 pixels
    full.reference = "ERA5"
    era5 = tiny.era5["sm"].sel(time="2009-07-04").values
    xg = product["sm"].sel({"model": "xgb"}).sel(time="2009-07-04").values
    np.testing.assert_allclose(
        _shown(plot), xg - np.repeat(np.repeat(era5, 4, 0), 4, 1), equal_nan=True, atol=1e-7
    )


def test_colour_lock_and_extent_lock(full):
    plot = _render(full._map)
    # locked by default: a colour means the same value on every day and product
    first = full.clim
    full.product, full.date = "Truth", "2009-07-01"
    assert full.lock_colour and full.clim == first
    assert (_image(plot).glyph.color_mapper.low, _image(plot).glyph.color_mapper.high) == first
    full.lock_colour = False  # unlocked: each map is scaled to its data
    auto = full.clim
    truth = full.current_map()[0]
    assert auto == tuple(np.round(np.nanpercentile(truth, [2, 98]), 4))
    full.clim = (0.1, 0.2)  # editing the range locks it
    assert full.lock_colour
    full.date = "2009-07-02"
    cm = _image(plot).glyph.color_mapper
    assert (cm.low, cm.high) == (0.1, 0.2) and full.clim == (0.1, 0.2)
    full.lock_colour = False
    assert full.clim != (0.1, 0.2)
    fig = plot.state
    fig.x_range.update(start=100.0, end=100.5)  # a zoom, as the browser would set it
    full.date = "2009-07-03"
    assert (fig.x_range.start, fig.x_range.end) == (100.0, 100.5)  # locked extent: kept
    full.lock_extent = False
    assert (fig.x_range.start, fig.x_range.end) == (99.5, 101.5)  # unlocked: whole map


def test_histogram_counts_the_visible_pixels(full):
    plot = _render(full._hist)
    full.product, full.date = "Truth", "2009-07-02"
    lo, hi = full.clim
    truth = full.current_map()[0]
    hist = full._hist[()]
    ok = truth[np.isfinite(truth)]
    inside = ((ok >= lo) & (ok <= hi)).sum()
    assert hist.dimension_values("pixels").sum() == inside  # values outside the range are not binned
    assert 0 < inside < ok.size  # the range locked on the first map leaves some of Truth outside
    title = full._hist.opts.get().kwargs.get("title") or hist.opts.get().kwargs["title"]
    assert f"{int((ok < lo).sum())} below, {int((ok > hi).sum())} above" in title
    full.lock_colour = False  # Truth's own 2-98 % range
    lo, hi = full.clim
    hist = full._hist[()]
    edges = hist.interface.coords(hist, hist.kdims[0], edges=True)
    assert np.isclose(edges[0], lo) and np.isclose(edges[-1], hi)
    full._range.event(x_range=(99.5, 100.5), y_range=(37.5, 39.5))  # west half
    hist = full._hist[()]
    west = truth[:, :40][np.isfinite(truth[:, :40])]
    assert hist.dimension_values("pixels").sum() == ((west >= lo) & (west <= hi)).sum()
    assert plot is not None


def _holding(coord: xr.DataArray, value: float) -> int:
    """Index of the cell holding ``value`` (a point on an edge goes to the upper cell)."""
    c = coord.values
    res = c[1] - c[0]
    return int(np.floor((value - (c[0] - res / 2)) / res + 1e-9))


def test_station_metrics_match_smkit_metrics(full, tiny, product):
    df = full.station_metrics("MLR")
    st = stations_to_volumetric(tiny.stations)
    sm = product["sm"].sel({"model": "mlr"})
    for k, row in df.iterrows():
        s = st.isel(station=k)
        assert row["name"] == str(s["name"].values)
        x = sm.isel(
            lat=_holding(sm["lat"], row["lat"]), lon=_holding(sm["lon"], row["lon"])
        ).values.astype(float)
        y = s["sm"].sel(time=sm["time"]).values.astype(float)
        assert row["n"] == metrics.n(x, y)
        np.testing.assert_allclose(row["mae"], metrics.mae(x, y), equal_nan=True)
        np.testing.assert_allclose(row["r"], metrics.r(x, y), equal_nan=True)
    assert (df["n"] > 0).any()
    assert full.station_metrics("MLR") is df  # cached per product
    coarse = full.station_metrics("CCI")  # scored on the station's 0.25 degree cell
    s0 = coarse.iloc[2]
    c = tiny.coarse["sm"]
    x = (
        c.isel(lat=_holding(c["lat"], s0["lat"]), lon=_holding(c["lon"], s0["lon"]))
        .sel(time=DAYS)
        .values
    )
    y = st["sm"].isel(station=2).sel(time=DAYS).values
    np.testing.assert_allclose(s0["mae"], metrics.mae(x.astype(float), y.astype(float)))


def test_station_markers_follow_metric_and_product(full):
    full.station_metric = "MAE"
    pts = full._map[()].Points.I
    np.testing.assert_allclose(
        pts.dimension_values("value"),
        full.station_metrics("XG" if full.product == "XG" else full.product)["mae"],
    )
    full.product = "Truth"
    pts = full._map[()].Points.I
    np.testing.assert_allclose(pts.dimension_values("value"), full.station_metrics("Truth")["mae"])


def test_click_shows_series_of_every_product_and_the_station(full, tiny, product):
    _render(full._series_dmap)
    s = full.stations.iloc[3]
    full._tap.event(x=s["lon"] + 0.005, y=s["lat"] - 0.005)  # on the marker
    sel = full._selected
    assert sel["station"] == 3
    ov = full._series_dmap[()]
    curves = {str(k): v for k, v in ov.get(0).items()}
    assert list(curves) == ["CCI", "MLR", "XG", "Truth", "ERA5", "Noah"]
    t = tiny.truth["sm"]
    truth = (
        t.isel(lat=_holding(t["lat"], s["lat"]), lon=_holding(t["lon"], s["lon"]))
        .sel(time=DAYS)
        .values
    )
    np.testing.assert_allclose(curves["Truth"].dimension_values(1), truth)
    assert "Station" in full.series_title.object and s["name"] in full.series_title.object
    full._tap.event(x=99.6, y=37.6)  # a pixel far from any station
    assert full._selected["station"] is None
    assert full._selected["pixel_lon"] == pytest.approx(99.6125)
    full._tap.event(x=120.0, y=45.0)  # outside the domain
    assert full._selected is None


def test_wrong_dims_are_rejected(tiny, product):
    with pytest.raises(ValueError, match=r"\(model, time, lat, lon\)"):
        explorer(product["sm"].isel({"model": 0}))
    with pytest.raises(ValueError, match=r"\(model, time, lat, lon\)"):
        explorer(product["sm"].rename(model="learner"))
    with pytest.raises(ValueError, match=r"coarse must have dims \(time, lat, lon\)"):
        explorer(product, coarse=tiny.coarse["sm"].isel(time=0))
    with pytest.raises(ValueError, match="ERA5"):
        explorer(product, references={"ERA5": tiny.era5["sm"].expand_dims(level=[1])})
    with pytest.raises(TypeError):
        explorer(np.zeros((1, 2, 3, 3)))


def test_descending_latitude_is_accepted(tiny, product):
    flipped = product.isel(lat=slice(None, None, -1))
    ex = explorer(flipped, coarse=tiny.coarse.isel(lat=slice(None, None, -1))).explorer
    ex.date = "2009-07-02"
    want = product["sm"].sel({"model": "mlr"}).sel(time="2009-07-02").values
    np.testing.assert_array_equal(ex.current_map()[0], want)


def test_zone_edges():
    z = xr.DataArray(
        [[0, 0, 1], [2, 2, 1]],
        dims=("lat", "lon"),
        coords={"lat": [0.5, 1.5], "lon": [0.5, 1.5, 2.5]},
    )
    e = zone_edges(z)
    segs = e.reshape(-1, 3, 2)[:, :2]
    assert np.isnan(e.reshape(-1, 3, 2)[:, 2]).all()
    as_set = {tuple(map(tuple, s)) for s in segs}
    assert as_set == {
        ((2.0, 0.0), (2.0, 1.0)),
        ((2.0, 1.0), (2.0, 2.0)),
        ((0.0, 1.0), (1.0, 1.0)),
        ((1.0, 1.0), (2.0, 1.0)),
    }
    assert zone_edges(xr.zeros_like(z)).shape == (0, 2)


def test_quick_days():
    t = pd.date_range("2009-04-01", "2010-09-30")
    d = quick_days(t, 92)
    assert (pd.Timestamp(d.stop) - pd.Timestamp(d.start)).days == 91
    assert pd.Timestamp(d.start) < pd.Timestamp("2010-07-15") < pd.Timestamp(d.stop)
    d = quick_days(pd.date_range("2009-01-01", "2009-03-01"), 92)  # shorter than the window
    assert (d.start, d.stop) == ("2009-01-01", "2009-03-01")


def test_load_scenario_with_baselines(tiny):
    data = load(tiny, quick="baselines")
    assert list(data.product["model"].values) == ["nearest", "bilinear"]
    assert set(data.references) == {"ERA5", "Noah"}
    assert "interpolated" in data.description


def test_load_rejects_unknown_scenario(tmp_path):
    with pytest.raises(FileNotFoundError, match="neither a preset"):
        load(str(tmp_path / "missing.zarr"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _outside_ip() -> str | None:
    """An address of this machine other than loopback, if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))  # no packet is sent
            ip = s.getsockname()[0]
        except OSError:
            return None
    return None if ip.startswith("127.") else ip


def test_serve_binds_localhost_only(tiny):
    port = _free_port()
    server = serve(tiny, port=port, quick="baselines", threaded=True, progress=False)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                html = (
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10).read().decode()
                )
                break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        assert "smkit map explorer" in html
        ip = _outside_ip()
        if ip is not None:
            with pytest.raises(OSError), socket.create_connection((ip, port), timeout=2):
                pass
    finally:
        server.stop()


def test_cli_serve_help():
    from typer.testing import CliRunner

    from smkit.cli import app

    res = CliRunner().invoke(app, ["serve", "--help"])
    assert res.exit_code == 0
    for opt in ("--scenario", "--product", "--port", "--address"):
        assert opt in res.output


def test_cached_product_prefers_the_most_complete_store(tmp_path, product):
    from smkit.synth import WORLD_VERSION
    from smkit.workflow.explorer_data import cached_product

    w = f"w{WORLD_VERSION}"
    sm = product[["sm"]]
    sm.isel(model=[0]).to_zarr(tmp_path / f"tiny-seed0-{w}-product-mlr.zarr", consolidated=False)
    sm.to_zarr(tmp_path / f"tiny-seed0-{w}-product-0123abcd.zarr", consolidated=False)
    sm.to_zarr(tmp_path / f"tiny-seed1-{w}-product-0123abcd.zarr", consolidated=False)  # other seed
    sm.to_zarr(tmp_path / "tiny-seed0-product-4567cdef.zarr", consolidated=False)  # an older world
    (tmp_path / f"tiny-seed0-{w}-product-broken.zarr").mkdir()  # not a store
    path, ds = cached_product(tmp_path, "tiny", 0)
    assert path.name == f"tiny-seed0-{w}-product-0123abcd.zarr"
    assert list(ds["model"].values) == ["mlr", "xgb"]
    assert cached_product(tmp_path, "demo", 0) is None


def test_cached_product_offers_the_bma_stored_beside_it(tmp_path, product):
    """reproduce writes BMA beside the product's store; the explorer lists it as model 'bma'."""
    from smkit.synth import WORLD_VERSION
    from smkit.workflow.explorer_data import cached_product

    w = f"w{WORLD_VERSION}"
    sm = product[["sm"]]
    sm.to_zarr(tmp_path / f"tiny-seed0-{w}-product-0123abcd.zarr", consolidated=False)
    bma = sm["sm"].mean("model").rename("bma").to_dataset()
    bma.to_zarr(tmp_path / f"tiny-seed0-{w}-product-0123abcd-bma-89ab.zarr", consolidated=False)
    # a BMA store on other days is not this product's and is passed over
    other = bma.isel(time=slice(0, 2))
    other.to_zarr(tmp_path / f"tiny-seed0-{w}-product-0123abcd-bma-0000.zarr", consolidated=False)
    path, ds = cached_product(tmp_path, "tiny", 0)
    assert path.name == f"tiny-seed0-{w}-product-0123abcd.zarr"
    assert list(ds["model"].values) == ["mlr", "xgb", "bma"]
    np.testing.assert_allclose(ds["sm"].sel(model="bma").values, bma["bma"].values)


def test_domain_box_zones_and_outline_are_drawn(product, zones):
    ring = np.array([[99.8, 37.8], [101.0, 37.8], [101.0, 39.0], [99.8, 37.8]])
    ex = explorer(product, zones=zones, outline=ring).explorer
    paths = ex._static_view().values()[:3]  # then the scale bar
    box, zone_lines, outline = (np.asarray(p.split()[0].array()) for p in paths)
    assert box[:, 0].min() == 99.5 and box[:, 0].max() == 101.5  # the domain edges
    np.testing.assert_array_equal(zone_lines, ex.zone_path)
    np.testing.assert_array_equal(outline, ring)


def test_time_series_lines_have_distinct_colours_and_a_unit():
    """RF and Noah were both red, CCI and Truth both cyan; the axis said no unit."""
    import pandas as pd

    from smkit.app.views import time_series

    times = pd.date_range("2010-07-01", periods=5)
    labels = ["RF", "MLR", "SVR", "XGB", "BMA", "CCI", "Truth", "Noah", "ERA5"]
    frame = pd.DataFrame({lab: np.linspace(0.1, 0.3, 5) + k / 100 for k, lab in enumerate(labels)},
                         index=times)
    for series in (None, frame, frame[["Noah", "RF"]]):
        ov = time_series(times, labels, series)
        curves = ov.get(0)  # the NdOverlay of curves
        colours = {k[0]: hv.Store.lookup_options("bokeh", c, "style").kwargs["color"]
                   for k, c in curves.data.items()}
        assert len(set(colours.values())) == len(colours)
        if series is not None and len(series.columns) == 2:  # a line keeps its colour in any subset
            full = time_series(times, labels, frame).get(0)
            ref = {k[0]: hv.Store.lookup_options("bokeh", c, "style").kwargs["color"] for k, c in full.data.items()}
            assert colours == {lab: ref[lab] for lab in colours}
        dim = next(iter(curves.data.values())).vdims[0]
        assert dim.unit == "m3 m-3" and "m3 m-3" in dim.pprint_label


def test_date_player_starts_where_its_label_is(tiny):
    """The slider sat at index 100 while the label said 470: the page resets it once drawn."""
    from bokeh.document import Document

    from smkit.app.explorer import SLIDER_SYNC_JS, DatePlayer

    ex = explorer(interpolation_baselines(tiny.coarse, tiny.truth), coarse=tiny.coarse).explorer
    dates = ex.param["date"].objects
    assert isinstance(ex.date_player, DatePlayer)
    doc = Document()
    model = ex.date_player.get_root(doc)
    assert model.value == dates.index(ex.date) == 470 and model.end == len(dates) - 1
    assert model.options[model.value] == ex.date
    cbs = doc.callbacks._js_event_callbacks["document_ready"]
    assert any(cb.code == SLIDER_SYNC_JS and cb.args["player"] is model for cb in cbs)


def _legend(plot) -> list[str]:
    from bokeh.models import Legend

    (legend,) = plot.state.select({"type": Legend})
    return [it.label.value for it in legend.items if any(r.visible for r in it.renderers)]


def test_line_picker_chooses_the_lines_and_keeps_their_colours(full):
    from smkit.app.views import SERIES_PALETTE, STATION_LINE

    labels = list(full.layers)
    assert full.param["lines"].objects == labels + [STATION_LINE]
    assert full.lines == labels + [STATION_LINE]  # all by default
    assert full.lines_picker.value == full.lines
    plot = _render(full._series_dmap)
    s = full.stations.iloc[3]
    full._tap.event(x=s["lon"], y=s["lat"])
    assert _legend(plot) == labels + ["station"]

    def colours():
        ov = full._series_dmap[()]
        return {str(k): hv.Store.lookup_options("bokeh", c, "style").kwargs["color"]
                for k, c in ov.get(0).items()}

    everything = colours()
    assert everything == {lab: SERIES_PALETTE[k] for k, lab in enumerate(labels)}
    full.lines_picker.value = ["Truth", "ERA5"]  # through the widget
    assert full.lines == ["Truth", "ERA5"]
    assert colours() == {"Truth": everything["Truth"], "ERA5": everything["ERA5"]}
    assert _legend(plot) == ["Truth", "ERA5"]  # the station is hidden too
    full.lines = ["MLR", STATION_LINE]
    assert _legend(plot) == ["MLR", "station"]
    full.lines = []
    assert _legend(plot) == []
    ex = explorer(full.data.layers["MLR"].data.expand_dims(model=["mlr"]).to_dataset(name="sm")).explorer
    assert ex.param["lines"].objects == ["MLR"]  # no stations: no station line


def test_compare_dates_shows_date_b_minus_date(full, product):
    from bokeh.models import ColorBar

    from smkit.app.views import auto_clim

    plot = _render(full._map)
    hist = _render(full._hist)
    assert full.param["date_b"].objects == full.param["date"].objects
    full.product, full.date = "XG", "2009-07-01"
    full.difference = True
    full.date_b = "2009-07-04"
    full.compare_dates = True
    assert not full.difference  # one difference at a time
    xg = product["sm"].sel({"model": "xgb"})
    want = (xg.sel(time="2009-07-04") - xg.sel(time="2009-07-01")).values
    np.testing.assert_allclose(_shown(plot), want, atol=1e-7, equal_nan=True)
    assert plot.state.title.text == "XG, 2009-07-04 − 2009-07-01"
    lo, hi = full.clim  # diverging and symmetric, scaled to the date difference
    assert lo == -hi > -1 and full.frame()["cmap"] == "RdBu"
    assert (lo, hi) == auto_clim(want, True)
    cm = _image(plot).glyph.color_mapper
    bars = [b for b in plot.state.select({"type": ColorBar}) if b.color_mapper is cm]
    assert bars and all(b.title == "Soil moisture difference [m3 m-3]" for b in bars)
    assert full._hist[()].kdims[0].label == "Soil moisture difference"
    full.product = "CCI"  # the coarse retrieval on its own grid
    c = full.layers["CCI"]
    np.testing.assert_allclose(_shown(plot), c.day("2009-07-04") - c.day("2009-07-01"), equal_nan=True)
    full.difference = True
    assert not full.compare_dates
    assert plot.state.title.text.startswith("CCI − ")
    assert hist is not None


def test_export_the_map_shown_and_the_point_series(full, product, tmp_path):
    import io

    import rasterio
    import rioxarray

    full.product, full.date, full.difference, full.compare_dates = "XG", "2009-07-02", False, False
    name, data = full.map_export("geotiff")
    assert name == "smkit_XG_2009-07-02.tif"
    (tmp_path / name).write_bytes(data.getvalue())
    tif = rioxarray.open_rasterio(tmp_path / name)
    assert str(tif.rio.crs) == "EPSG:4326"
    want = product["sm"].sel({"model": "xgb"}).sel(time="2009-07-02").values
    np.testing.assert_allclose(tif.values[0, ::-1], want, equal_nan=True)  # north-up on disk
    assert tif.attrs["long_name"] == "volumetric soil moisture, XG, 2009-07-02, m3 m-3"
    full.reference, full.difference = "CCI", True
    name, data = full.map_export("geotiff")  # the band says difference, as the NetCDF's long_name does
    (tmp_path / name).write_bytes(data.getvalue())
    with rasterio.open(tmp_path / name) as src:
        want = "difference of volumetric soil moisture, XG minus CCI, 2009-07-02, m3 m-3"
        assert src.descriptions[0] == want
        assert src.tags()["units"] == "m3 m-3"
    name, data = full.map_export("netcdf")
    assert name == "smkit_XG-minus-CCI_2009-07-02.nc"
    (tmp_path / name).write_bytes(data.getvalue())
    with xr.open_dataset(tmp_path / name) as nc:
        np.testing.assert_allclose(nc["sm"].values[0, 0], full.current_map()[0], equal_nan=True)
        assert nc["sm"].attrs["units"] == "m3 m-3" and "minus CCI" in nc["sm"].attrs["long_name"]
        assert list(nc["model"].values) == ["xgb-minus-cci"]
    full.date_b, full.compare_dates = "2009-07-04", True
    name, data = full.map_export("netcdf")
    assert name == "smkit_XG_2009-07-04-minus-2009-07-02.nc"
    with pytest.raises(ValueError, match="click a pixel"):
        full._selected = None
        full.series_export()
    _render(full._series_dmap)
    s = full.stations.iloc[3]
    full._tap.event(x=s["lon"], y=s["lat"])
    name, data = full.series_export()
    assert name.startswith(f"smkit_series_{s['name']}_") and name.endswith(".csv")
    text = data.getvalue().decode()
    header = [line for line in text.splitlines() if line.startswith("#")]
    sel = full._selected
    assert any("m3 m-3" in line for line in header)
    assert any(f"lat {sel['pixel_lat']:.4f} N, lon {sel['pixel_lon']:.4f} E" in line for line in header)
    csv = pd.read_csv(io.StringIO(text), comment="#", index_col="date", parse_dates=True)
    assert list(csv.columns) == list(full.layers) + [s["name"]]
    series = full.pixel_series(sel["pixel_lat"], sel["pixel_lon"])
    np.testing.assert_allclose(csv[list(full.layers)].values, series.values, rtol=1e-4, equal_nan=True)
    # the buttons: the CSV one waits for a click; each names its file when pressed
    assert not full.series_download.disabled
    got = full.map_downloads["geotiff"].callback()
    assert full.map_downloads["geotiff"].filename == "smkit_XG_2009-07-04-minus-2009-07-02.tif"
    assert got.getvalue()[:4] in (b"II*\x00", b"MM\x00*")
    (tmp_path / "dates.tif").write_bytes(got.getvalue())
    with rasterio.open(tmp_path / "dates.tif") as src:
        want = "difference of volumetric soil moisture, XG, 2009-07-04 minus 2009-07-02, m3 m-3"
        assert src.descriptions[0] == want


def test_scale_bar_is_km_at_the_map_latitude(full):
    from smkit.app.views import scale_bar, scale_bar_length

    g = full.grid
    km, deg, lat = scale_bar_length(g)
    assert lat == pytest.approx((g.lat0 + g.lat1) / 2)
    assert deg * 111.32 * np.cos(np.radians(lat)) == pytest.approx(km)
    width_km = (g.lon1 - g.lon0) * 111.32 * np.cos(np.radians(lat))
    assert km in (1, 2, 5, 10, 20, 50, 100) and width_km / 10 < km <= width_km / 4
    line, text = scale_bar(g)
    x = line.split()[0].dimension_values(0)
    assert x.max() - x.min() == pytest.approx(deg) and g.lon0 < x.min() < x.max() < g.lon1
    assert text.text == f"{km:g} km"
    static = full._static_view()  # drawn on the map
    assert any(isinstance(el, hv.Text) and el.text == text.text for el in static.values())
    # farther north a degree is shorter: the same length spans more degrees
    from smkit.core.grid import Grid

    north = Grid(lon0=g.lon0, lon1=g.lon1, lat0=g.lat0 + 30, lat1=g.lat1 + 30, res=g.res)
    k2, d2, _ = scale_bar_length(north)
    assert d2 * 111.32 * np.cos(np.radians(lat + 30)) == pytest.approx(k2)


def test_report_link(tmp_path, product):
    from smkit.app.serve import REPORT_DIR, report_file

    assert report_file(tmp_path) is None
    (tmp_path / "README.md").write_text("# report\n")
    assert report_file(tmp_path) == tmp_path / "README.md"
    (tmp_path / "index.html").write_text("<h1>report</h1>")
    assert report_file(tmp_path) == tmp_path / "index.html"  # the HTML page first
    assert REPORT_DIR.parts[-2:] == ("reports", "demo")
    ex = explorer(product, report_url="./report/index.html").explorer
    assert ex.report_link.visible
    # a new browser tab: the explorer (a notebook's output, a served session) stays as it is
    assert ex.report_link.object == ('<a href="./report/index.html" target="_blank" rel="noopener">'
                                     "Report of the demo run</a>")
    assert not explorer(product).explorer.report_link.visible


def test_notebook_report_url_is_the_jupyter_servers(tmp_path, monkeypatch):
    """In a notebook under a Jupyter server the report link is that server's URL; else a file path."""
    import json
    import os

    from smkit.app.serve import jupyter_server, notebook_report_url

    root = tmp_path / "root"
    (root / "notebooks").mkdir(parents=True)
    (root / "reports" / "demo").mkdir(parents=True)
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(runtime))
    monkeypatch.chdir(root / "notebooks")
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    info = {"root_dir": str(root), "base_url": "/user/me/", "pid": os.getppid(), "url": "http://x/user/me/"}
    (runtime / "jpserver-1.json").write_text(json.dumps(info))
    assert jupyter_server() is None  # not a kernel a Jupyter server started (a script, papermill)
    monkeypatch.setenv("JPY_SESSION_NAME", str(root / "notebooks" / "explore.py"))
    assert jupyter_server() == info
    info["pid"] = os.getpid()  # not the parent, but the one server holding the working directory
    (runtime / "jpserver-1.json").write_text(json.dumps(info))
    assert jupyter_server() == info
    (runtime / "jpserver-2.json").write_text(json.dumps({**info, "base_url": "/"}))
    assert jupyter_server() is None  # two such servers: which one is not known
    (runtime / "jpserver-2.json").unlink()
    (runtime / "jpserver-1.json").write_text(json.dumps({**info, "root_dir": str(tmp_path / "elsewhere")}))
    assert jupyter_server() is None

    page = root / "reports" / "demo" / "index.html"
    assert notebook_report_url(page, info) == "/user/me/files/reports/demo/index.html"
    assert notebook_report_url(page, {**info, "base_url": "/"}) == "/files/reports/demo/index.html"
    readme = page.with_name("README.md")
    assert notebook_report_url(readme, info) == "/user/me/lab/tree/reports/demo/README.md"
    spaced = root / "my reports" / "index.html"
    assert notebook_report_url(spaced, info) == "/user/me/files/my%20reports/index.html"
    assert notebook_report_url(page, None) == "../reports/demo/index.html"  # relative to the notebook
    assert notebook_report_url(page, {**info, "root_dir": str(tmp_path / "elsewhere")}) == (
        "../reports/demo/index.html")  # outside the server's root: a file path


def test_layout_wraps_and_histogram_title_fits(full):
    """At 1280 px the plots wrap below instead of running off; the title's count is a second line."""
    row = full.__panel__()
    assert isinstance(row, pn.FlexBox) and row.flex_wrap == "wrap"
    assert row.sizing_mode == "stretch_width"
    assert isinstance(full.plots(), pn.FlexBox) and full.plots().flex_wrap == "wrap"
    full.product, full.date, full.lock_colour = "Truth", "2009-07-02", True
    full.clim = (0.15, 0.2)  # some pixels outside
    title = full._hist[()].opts.get().kwargs["title"]
    first, second = title.split("\n")
    assert first.startswith("Visible map:") and second.startswith("beyond colour range:")
    assert max(len(first), len(second)) <= 56  # about 7.5 px a character: within the 440 px plot


def test_release_lets_a_closed_explorer_be_freed(tiny, product):
    """Panel's link registries keep an explorer alive until release() drops its widgets from them."""
    import gc
    import weakref

    from panel.links import Callback, Link

    from smkit.app.explorer import Explorer

    def built(release: bool) -> weakref.ref:
        ex = Explorer(product, coarse=tiny.coarse, truth=tiny.truth)
        page = ex.template()
        if release:
            assert ex.release() > 0  # the colour range's number boxes are linked in the browser
            assert not any(id(k) in {id(o) for o in ex.clim_slider.select()}
                           for reg in (Callback.registry, Link.registry) for k in list(reg.keys()))
        ref = weakref.ref(ex)
        del ex, page
        gc.collect()
        return ref

    kept = built(release=False)
    assert kept() is not None  # what a served session left behind before
    kept().release()
    gc.collect()
    assert kept() is None
    assert built(release=True)() is None
