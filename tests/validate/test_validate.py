import numpy as np
import pytest

from smkit.validate import interpolation_baselines, truth_skill


def test_nearest_repeats_the_cell(tiny):
    b = interpolation_baselines(tiny.coarse, tiny.truth)
    near = b["sm"].sel({"model": "nearest"}).isel(time=120).values
    cell = tiny.coarse["sm"].isel(time=120).values
    np.testing.assert_array_equal(near[::10, ::10], cell)
    np.testing.assert_array_equal(near[9::10, 9::10], cell)
    bil = b["sm"].sel({"model": "bilinear"}).isel(time=120).values
    assert np.array_equal(np.isnan(bil), np.isnan(near))


def test_truth_skill_of_truth_and_against_numpy(tiny):
    import xarray as xr

    sub = tiny.truth["sm"].isel(time=slice(100, 130))
    prod = xr.concat([sub, sub + 0.05, sub * 0.5], dim="model").assign_coords(
        model=["same", "offset", "half"]).to_dataset(name="sm")
    sk = truth_skill(prod, sub, factor=10)
    assert sk.loc["same", "r"] == pytest.approx(1.0)
    assert sk.loc["same", "ubrmse"] == pytest.approx(0.0, abs=1e-7)
    assert sk.loc["offset", "bias"] == pytest.approx(0.05, abs=1e-6)
    assert sk.loc["offset", "ubrmse"] == pytest.approx(0.0, abs=1e-6)
    assert sk.loc["half", "r_anomaly"] == pytest.approx(1.0)
    b = interpolation_baselines(tiny.coarse.isel(time=slice(100, 130)), tiny.truth)
    sk = truth_skill(b, tiny.truth, factor=10)
    assert np.isnan(sk.loc["nearest", "r_anomaly"])
    x = b["sm"].sel({"model": "bilinear"}).values.ravel()
    y = sub.values.ravel()
    ok = np.isfinite(x) & np.isfinite(y)
    assert sk.loc["bilinear", "r"] == pytest.approx(np.corrcoef(x[ok], y[ok])[0, 1], abs=1e-6)
    assert sk.loc["bilinear", "n"] == ok.sum()
