"""Triple collocation against pytesmo.metrics.tcol_metrics."""

import numpy as np
import pytest
import xarray as xr
from pytesmo.metrics import tcol_metrics

from smkit.validate.collocation import triple_collocation

RTOL = 1e-10


def triplet(seed, n=None, errors=(0.02, 0.03, 0.04)):
    """Three linear views of one signal with independent errors (m3 m-3)."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(150, 900)) if n is None else n
    truth = rng.normal(0.25, 0.06, n)
    x = truth + rng.normal(0, errors[0], n)
    y = 1.3 * truth - 0.05 + rng.normal(0, errors[1], n)
    z = 0.7 * truth + 0.10 + rng.normal(0, errors[2], n)
    return x, y, z


@pytest.mark.parametrize("ref", [0, 1, 2])
@pytest.mark.parametrize("seed", range(6))
def test_error_std_snr_and_beta_are_pytesmos(seed, ref):
    errors = (0.02, 0.03, np.random.default_rng(seed).uniform(0.002, 0.1))
    x, y, z = triplet(seed, errors=errors)
    snr, err_std, beta = tcol_metrics(x, y, z, ref_ind=ref)
    out = triple_collocation(x, y, z, ref=ref)
    for ours, theirs in ((out["snr"], snr), (out["err_std"], err_std), (out["beta"], beta)):
        np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
        np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=1e-15)
    assert out["n"] == x.size


def test_a_negative_error_variance_gives_nan_as_in_pytesmo():
    rng = np.random.default_rng(1)
    t = rng.normal(size=300)
    e = rng.normal(size=300)
    x, y, z = t + 0.01 * rng.normal(size=300), t + e, t + e + 0.3 * rng.normal(size=300)  # y, z share errors
    out = triple_collocation(x, y, z)
    theirs = tcol_metrics(x, y, z)[1]
    assert np.isnan(out["err_std"]).sum() == np.isnan(theirs).sum() >= 1


def test_per_station_estimates_on_complete_triplets_in_m3_m3():
    rng = np.random.default_rng(2)
    stations = [triplet(10 + s, n=400) for s in range(3)]
    data = [np.stack([st[k] for st in stations]) for k in range(3)]  # (station, time) each
    for d in data:
        d[rng.random(d.shape) < 0.1] = np.nan
    names = ("product", "cci", "stations")
    das = [xr.DataArray(d, dims=("station", "time"), attrs={"units": "m3 m-3"}) for d in data]
    out = triple_collocation(*das, ref=2, names=names)
    assert out["err_std"].dims == ("station", "dataset") and list(out["dataset"].values) == list(names)
    assert out["err_std"].attrs["units"] == "m3 m-3" and out["snr"].attrs["units"] == "dB"
    for s in range(3):
        ok = np.isfinite(data[0][s]) & np.isfinite(data[1][s]) & np.isfinite(data[2][s])
        snr, err_std, beta = tcol_metrics(*(d[s][ok] for d in data), ref_ind=2)
        assert int(out["n"][s]) == ok.sum()
        np.testing.assert_allclose(out["err_std"].values[s], err_std, rtol=RTOL)
        np.testing.assert_allclose(out["beta"].values[s], beta, rtol=RTOL)
    lazy = triple_collocation(*(d.chunk({"station": 1}) for d in das), ref=2, names=names)
    assert lazy["err_std"].chunks is not None
    xr.testing.assert_allclose(lazy.compute(), out)


def test_long_records_recover_the_error_std_in_the_reference_space():
    x, y, z = triplet(3, n=20000)
    out = triple_collocation(x, y, z, ref=0)  # errors of y and z in x's (the truth's) scale
    np.testing.assert_allclose(out["err_std"], [0.02, 0.03 / 1.3, 0.04 / 0.7], rtol=0.05)


def test_too_few_triplets_say_how_many_were_found():
    x, y, z = triplet(4, n=150)
    y[60:] = np.nan
    with pytest.raises(ValueError, match="needs at least 100 complete triplets; found 60"):
        triple_collocation(x, y, z)
    assert np.isfinite(triple_collocation(x, y, z, min_triplets=50)["err_std"]).all()
    pixels = triple_collocation(np.stack([x, x]), np.stack([y, np.roll(x, 1)]), np.stack([z, z]),
                                too_few="nan")
    assert np.isnan(pixels["err_std"][0]).all() and np.isfinite(pixels["snr"][1]).all()
    with pytest.raises(ValueError, match="at least 3"):
        triple_collocation(x, y, z, min_triplets=2)
    with pytest.raises(ValueError, match="ref is the index"):
        triple_collocation(x, y, z, ref=3)
