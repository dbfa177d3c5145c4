"""BMA on one's own product in one call (smkit.bma.fit_product), against the study's step-by-step path."""

import numpy as np
import pytest
import xarray as xr

from smkit import bma
from smkit.bma.zones import kmeans_zones
from smkit.engine import downscale
from smkit.validate import match_stations

SEL = {"time": slice("2009-05-01", "2009-08-31")}


@pytest.fixture(scope="module")
def product(tiny):
    return downscale(tiny.coarse.sel(SEL), tiny.fine.sel(SEL), learners=("mlr", "rf"), progress=False)


def test_fit_product_equals_the_steps_it_replaces(tiny, product):
    zones = kmeans_zones(tiny.coarse["sm"], k=2, seed=0)
    fit = bma.fit_product(product, tiny.stations, coarse=tiny.coarse, k=2, min_pairs=5, min_stations=1)
    xr.testing.assert_equal(fit.zones, zones)
    # the steps by hand: match, zone each station, keep complete pairs, fit per zone
    _, pairs = bma.zone_pairs(match_stations(product, tiny.stations), zones)
    complete = pairs[np.isfinite(pairs[["mlr", "rf", "obs"]].to_numpy()).all(axis=1)]
    by_hand = bma.fit_zones(complete, zones=zones, members=["mlr", "rf"], min_pairs=5, min_stations=1)
    np.testing.assert_allclose(fit.zone_bma.weights.values, by_hand.weights.values)
    out = fit.apply(product)
    xr.testing.assert_allclose(out["sm"].sel(model="bma"),
                               bma.apply(product, by_hand, zones)["sm"].sel(model="bma"))
    assert out["sm_std"].attrs["units"] == "m3 m-3"
    assert fit.members == ("mlr", "rf") and len(fit.pairs) == len(complete)
    assert repr(fit).startswith("<ProductBMA em: 2 zones") and "\n" not in repr(fit)


def test_fit_on_one_period_applies_to_another(tiny, product):
    fit = bma.fit_product(product, tiny.stations, coarse=tiny.coarse, k=2, min_pairs=5, min_stations=1,
                          period=slice("2009-05-01", "2009-06-30"))
    assert fit.period[0] >= "2009-05-01" and fit.period[1] <= "2009-06-30"
    later = product.sel(time=slice("2009-07-01", None))
    out = fit.apply(later)
    assert out.sizes["time"] == later.sizes["time"]
    assert np.isfinite(out["sm"].sel(model="bma").values).any()


def test_zones_from_the_product_itself_when_no_retrieval_is_given(tiny, product):
    zones = bma.product_zones(product, k=2)
    assert zones.dims == ("lat", "lon")
    np.testing.assert_allclose(zones["lat"].values, product["clat"].values)
    assert set(np.unique(zones.values)) <= {-1, 1, 2}
    # the learners keep the retrieval's cell means: nearly the same zones as from the retrieval
    from_coarse = kmeans_zones(tiny.coarse["sm"].sel(SEL), k=2, seed=0)
    assert (zones.values == from_coarse.values).mean() > 0.8


def test_fit_product_says_what_is_wrong(tiny, product):
    with pytest.raises(ValueError, match=r"members \['svr'\] are not in the product"):
        bma.fit_product(product, tiny.stations, members=["svr"])
    with pytest.raises(ValueError, match="no complete station pair"):
        bma.fit_product(product, tiny.stations, coarse=tiny.coarse, k=2, period=slice("2011-01-01", "2011-12-31"))
    with pytest.raises(ValueError, match="clat/clon"):
        bma.product_zones(product.drop_vars(["clat", "clon"]))
    from smkit import InputError

    with pytest.raises(InputError, match="got an xarray.DataArray, not a Dataset"):
        bma.fit_product(product["sm"], tiny.stations)
