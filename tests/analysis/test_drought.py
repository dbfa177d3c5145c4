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
    assert 0.15 < sk.loc[(1, "cci"), "r"] < 0.95
    # a region's mean by hand
    lab = reg.sel(lat=truth["lat"], lon=truth["lon"], method="nearest").values
    day = truth.isel(time=100).values
    np.testing.assert_allclose(ser["sm"].sel(region=1, source="product").isel(time=100),
                               np.nanmean(day[lab == 1]), rtol=1e-5)
    figure_regions(reg, tiny.fine["dem"])
    figure_series(ser, sk)
