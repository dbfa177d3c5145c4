"""A product plots with hvplot the way xarray users expect (``sel(model=...)``, ``groupby``, ``by``)."""

import holoviews as hv
import hvplot.xarray  # noqa: F401
import numpy as np
import pytest

from smkit.engine import downscale


@pytest.fixture(scope="module")
def product(tiny):
    days = slice("2009-07-01", "2009-07-05")
    return downscale(tiny.coarse.sel(time=days), tiny.fine.sel(time=days), learners=("mlr", "rf"),
                     progress=False, workers=1)


def test_sel_model_selects_one_learner(product):
    one = product.sel(model="rf")
    assert one["sm"].dims == ("time", "lat", "lon")
    np.testing.assert_array_equal(one["sm"].values, product["sm"].isel(model=1).values)


def test_hvplot_renders_a_learner_a_groupby_and_a_by(product):
    hv.extension("bokeh")
    image = product.sel(model="rf").sm.isel(time=0).hvplot.image(x="lon", y="lat")
    assert hv.render(image, backend="bokeh") is not None
    grouped = product.sm.isel(time=slice(0, 2)).hvplot.image(x="lon", y="lat", groupby=["model", "time"])
    assert set(grouped.kdims[i].name for i in range(2)) == {"model", "time"}
    assert hv.render(grouped, backend="bokeh") is not None
    series = product.sm.mean(("lat", "lon")).hvplot.line(x="time", by="model")
    assert hv.render(series, backend="bokeh") is not None
    assert len(series) == 2
