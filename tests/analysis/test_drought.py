import numpy as np
import pandas as pd
import pytest
import xarray as xr

from smkit.analysis.drought import drought_regions, regional_series, regional_skill
from smkit.plot.drought import figure_regions, figure_series


def _pdsi(values):
    t = pd.date_range("2009-01-01", periods=values.shape[0], freq="MS")
    ny, nx = values.shape[1:]
    return xr.DataArray(values, dims=("time", "lat", "lon"),
                        coords={"time": t, "lat": 38 + 0.04 * np.arange(ny), "lon": 100 + 0.04 * np.arange(nx)},
                        name="pdsi")


def test_regions_are_labelled_by_area():
    v = np.zeros((10, 12, 12))
    v[:, 1:4, 1:4] = -3  # 9 pixels, always in drought
    v[:, 7:11, 6:11] = -2.5  # 20 pixels
    v[:2, 7:11, 6:11] = 0  # ... in drought 8 of 10 months: exactly 80 %, not more -> out
    v[:, 10, 0] = -4  # a single pixel: below min_pixels
    reg = drought_regions(_pdsi(v), min_pixels=4)
    assert reg.attrs["n_regions"] == 1 and int(reg.max()) == 1
    assert int((reg == 1).sum()) == 9
    v[:1, 7:11, 6:11] = -2.5  # now 9 of 10 months
    reg = drought_regions(_pdsi(v))
    assert int((reg == 1).sum()) == 20 and int((reg == 2).sum()) == 9


def test_no_region_when_pdsi_never_drops():
    reg = drought_regions(_pdsi(np.full((6, 5, 5), -1.0)))
    assert int(reg.max()) == 0
    assert "none: no pixel passes" in figure_regions(reg).axes[0].get_title()
    with pytest.raises(ValueError, match="no drought region"):
        regional_series(reg, coarse=xr.DataArray(np.zeros((2, 2, 2)), dims=("time", "lat", "lon")))


def test_series_on_tiny(tiny):
    reg = drought_regions(tiny.pdsi)
    assert int(reg.max()) >= 1
    truth = tiny.truth["sm"]
    from smkit.core.schema import stations_to_volumetric

    st = stations_to_volumetric(tiny.stations)
    ser = regional_series(reg, product=truth, coarse=tiny.coarse["sm"], stations=st)
    assert ser["sm"].dims == ("region", "source", "time")
    assert list(ser["source"].values) == ["product", "cci", "stations"]
    # the coarse retrieval follows the truth's regional mean, loosely: in the driest region its
    # errors are as large as the signal
    sk = regional_skill(ser, reference="product")
    assert 0.15 < sk.loc[(1, "product", "cci"), "r"] < 0.95
    # a region's mean by hand
    lab = reg.sel(lat=truth["lat"], lon=truth["lon"], method="nearest").values
    day = truth.isel(time=100).values
    np.testing.assert_allclose(ser["sm"].sel(region=1, source="product").isel(time=100),
                               np.nanmean(day[lab == 1]), rtol=1e-5)
    figure_regions(reg, tiny.fine["dem"])
    figure_series(ser, sk)


def _world(n_days=730, seed=0):
    """Two regions of a 6 x 6 fine grid, a truth with a seasonal cycle and weather, three noisy copies."""
    rng = np.random.default_rng(seed)
    t = pd.date_range("2009-01-01", periods=n_days, freq="D")
    lat, lon = 38 + 0.01 * np.arange(6), 100 + 0.01 * np.arange(6)
    regions = xr.DataArray(np.zeros((6, 6), np.int32), dims=("lat", "lon"), coords={"lat": lat, "lon": lon})
    regions[:3, :3] = 1
    regions[3:, 3:] = 2
    signal = 0.2 + 0.05 * np.sin(2 * np.pi * np.arange(n_days) / 365) + np.convolve(
        rng.normal(0, 0.01, n_days + 29), np.ones(30) / 30 * 3, "valid")
    field = signal[:, None, None] + rng.normal(0, 0.005, (n_days, 6, 6))

    def da(v):
        return xr.DataArray(v, dims=("time", "lat", "lon"), coords={"time": t, "lat": lat, "lon": lon})

    truth = da(field)
    good = da(field + rng.normal(0, 0.005, field.shape))  # close to the truth
    bad = da(field + np.convolve(rng.normal(0, 0.03, n_days + 9), np.ones(10) / 10 * 3, "valid")[:, None, None])
    return regions, truth, good, bad


def test_truth_is_the_reference_and_the_closer_product_wins():
    regions, truth, good, bad = _world()
    ser = regional_series(regions, product=good, coarse=bad, truth=truth)
    assert list(ser["source"].values) == ["product", "cci", "truth"]
    sk = regional_skill(ser, n_boot=200)
    assert set(sk.index.get_level_values("reference")) == {"truth"}
    for r in (1, 2):
        row = sk.loc[(r, "truth", "cci")]
        assert sk.loc[(r, "truth", "product"), "r"] > row["r"]
        assert row["dr"] > 0 and 0 < row["dr_lo"] <= row["dr"] <= row["dr_hi"]
        assert row["drmse"] < 0 and row["drmse_hi"] < 0
        assert np.isnan(sk.loc[(r, "truth", "product"), "dr"])  # no gain over itself
    # swapped: the product is now the noisy one, and loses beyond the interval
    sk = regional_skill(regional_series(regions, product=bad, coarse=good, truth=truth), n_boot=200)
    assert (sk.xs("cci", level="source")["dr_hi"] < 0).all()


def test_stations_and_truth_both_score_and_without_either_nothing_is_scored():
    regions, truth, good, bad = _world(400)
    # two stations in region 1 (pixels (0, 0) and (1, 1)), none in region 2
    st = xr.Dataset({"sm": (("station", "time"), truth.values[:, [0, 1], [0, 1]].T)},
                    coords={"station": ["a", "b"], "lat": ("station", truth["lat"].values[[0, 1]]),
                            "lon": ("station", truth["lon"].values[[0, 1]]), "time": truth["time"]})
    ser = regional_series(regions, product=good, coarse=bad, truth=truth, stations=st)
    sk = regional_skill(ser, n_boot=50)
    assert {"truth", "stations"} == set(sk.index.get_level_values("reference"))
    assert sk.loc[(1, "stations", "product"), "n"] == 400 and sk.loc[(2, "stations", "product"), "n"] == 0
    # real data without a station in the regions: no score at all, not the retrieval against the product
    real = regional_series(regions, product=good, coarse=bad)
    assert regional_skill(real).empty
    with pytest.raises(ValueError, match="not among the series' sources"):
        regional_skill(real, reference="stations")
    figure_series(ser, sk)
