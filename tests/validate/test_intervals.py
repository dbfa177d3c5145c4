"""Intervals of R, RMSE, ubRMSE and bias against pytesmo's analytic and bootstrap intervals."""

import numpy as np
import pytest
import xarray as xr
from pytesmo.metrics import bias, pearson_r, rmsd, ubrmsd, with_analytical_ci, with_bootstrapped_ci

from smkit.validate.intervals import (
    bias_interval,
    bootstrap_interval,
    r_interval,
    rmse_interval,
    ubrmse_interval,
)

TOL = 1e-10
ANALYTIC = [(r_interval, pearson_r, "r"), (ubrmse_interval, ubrmsd, "ubrmse"), (bias_interval, bias, "bias")]


def pair(seed=0, n=150, nan_frac=0.0):
    rng = np.random.default_rng(seed)
    y = rng.normal(0.25, 0.05, n)
    x = 0.8 * y + 0.07 + rng.normal(0, 0.03, n)
    if nan_frac:
        x[rng.random(n) < nan_frac] = np.nan
        y[rng.random(n) < nan_frac] = np.nan
    return x, y


@pytest.mark.parametrize("level", [0.9, 0.95, 0.99])
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(("ours", "theirs", "name"), ANALYTIC, ids=[a[2] for a in ANALYTIC])
def test_analytic_intervals_are_pytesmos(ours, theirs, name, seed, level):
    x, y = pair(seed, n=40 + 60 * seed, nan_frac=0.15)
    ok = np.isfinite(x) & np.isfinite(y)
    value, lo, hi = with_analytical_ci(theirs, x[ok], y[ok], alpha=1 - level)
    out = ours(x, y, level=level)
    assert out["n"] == ok.sum()
    np.testing.assert_allclose([out[name], out[f"{name}_lo"], out[f"{name}_hi"]], [value, lo, hi], rtol=0,
                               atol=TOL)


def test_rmse_interval_covers_at_its_level_without_bias_and_more_with_one():
    rng = np.random.default_rng(0)
    sigma, n, reps = 0.04, 40, 4000
    d = rng.normal(0, sigma, (reps, n))
    out = rmse_interval(d, np.zeros_like(d), axis=-1, level=0.9)
    cover = np.mean((out["rmse_lo"] <= sigma) & (sigma <= out["rmse_hi"]))
    assert 0.88 < cover < 0.92
    true_rmse = np.sqrt(sigma**2 + 0.06**2)  # with a bias the interval is conservative (about 0.977 here)
    out = rmse_interval(d + 0.06, np.zeros_like(d), axis=-1, level=0.9)
    assert np.mean((out["rmse_lo"] <= true_rmse) & (true_rmse <= out["rmse_hi"])) > 0.95


def test_dataarrays_give_one_interval_per_station_and_learner_and_dask_stays_lazy():
    rng = np.random.default_rng(4)
    y = xr.DataArray(rng.normal(0.25, 0.05, (3, 120)), dims=("station", "time"), attrs={"units": "m3 m-3"})
    x = (xr.DataArray(rng.normal(0, 0.03, (2, 3, 120)), dims=("model", "station", "time")) + y).assign_attrs(
        units="m3 m-3")
    out = ubrmse_interval(x, y, dim="time", level=0.95)
    assert out["ubrmse"].dims == ("model", "station") and out["ubrmse_lo"].attrs["units"] == "m3 m-3"
    for m in range(2):
        for s in range(3):
            ref = with_analytical_ci(ubrmsd, x.values[m, s], y.values[s], alpha=0.05)
            assert out["ubrmse_hi"].values[m, s] == pytest.approx(ref[2], abs=TOL)
    lazy = r_interval(x.chunk({"station": 1}), y.chunk({"station": 1}), dim="time")
    assert lazy["r"].chunks is not None
    xr.testing.assert_allclose(lazy.compute(), r_interval(x, y, dim="time"))


def test_too_few_pairs_say_how_many_were_found_and_needed():
    x, y = np.array([0.1, 0.2, np.nan, 0.3]), np.array([0.1, 0.25, 0.2, 0.28])
    with pytest.raises(ValueError, match="needs at least 4 complete pairs; found 3"):
        r_interval(x, y)
    with pytest.raises(ValueError, match="needs at least 10 complete pairs; found 3"):
        rmse_interval(x, y, min_pairs=10)
    two = np.stack([x, np.linspace(0, 1, 4)]), np.stack([y, np.linspace(0, 1, 4) ** 2])
    with pytest.raises(ValueError, match="1 of 2 series have fewer"):
        r_interval(*two, axis=-1)
    out = r_interval(*two, axis=-1, too_few="nan")
    assert np.isnan(out["r_lo"][0]) and np.isfinite(out["r_lo"][1]) and out["n"].tolist() == [3, 4]
    with pytest.raises(ValueError, match="by its formula"):
        r_interval(x, y, min_pairs=2)
    with pytest.raises(ValueError, match="between 0 and 1"):
        bias_interval(x, y, level=90)


def _pytesmo_draws(seed, nsamples, n):
    np.random.seed(seed)
    return np.array([np.random.choice(n, size=n) for _ in range(nsamples)])


@pytest.mark.parametrize("method", ["percentile", "basic"])
@pytest.mark.parametrize(("name", "theirs"), [("rmse", rmsd), ("r", pearson_r), ("ubrmse", ubrmsd),
                                              ("bias", bias)])
def test_bootstrap_with_pytesmos_draws_gives_pytesmos_interval(name, theirs, method):
    x, y = pair(7, n=120)
    np.random.seed(11)
    value, lo, hi = with_bootstrapped_ci(theirs, x, y, alpha=0.05, method=method, nsamples=300)
    out = bootstrap_interval(name, x, y, level=0.95, method=method, resamples=_pytesmo_draws(11, 300, 120))
    np.testing.assert_allclose([out[name], out[f"{name}_lo"], out[f"{name}_hi"]], [value, lo, hi], rtol=0,
                               atol=TOL)


def test_block_bootstrap_widens_the_interval_of_persistent_errors_and_is_paired_across_series():
    rng = np.random.default_rng(5)
    n = 730
    e = np.zeros(n)
    for t in range(1, n):  # errors persisting for weeks (AR(1), 0.95 a day)
        e[t] = 0.95 * e[t - 1] + rng.normal(0, 0.01)
    y = xr.DataArray(rng.normal(0.25, 0.05, n), dims="time")
    x = y + 0.02 + e
    iid = bootstrap_interval("bias", x, y, n_boot=300, seed=1)
    blocks = bootstrap_interval("bias", x, y, n_boot=300, block=30, seed=1)
    assert (blocks["bias_hi"] - blocks["bias_lo"]) > 2 * (iid["bias_hi"] - iid["bias_lo"])
    both = bootstrap_interval("r", xr.concat([x, x], "station"), y, n_boot=100, block=30)
    assert float(both["r_lo"][0]) == float(both["r_lo"][1])  # the same resamples for every series
    with pytest.raises(ValueError, match="needs at least 20 complete pairs; found 5"):
        bootstrap_interval("r", x[:5], y[:5])
    with pytest.raises(ValueError, match="method must be one of"):
        bootstrap_interval("r", x, y, method="BCa")
    with pytest.raises(ValueError, match="resamples must be indices"):
        bootstrap_interval("r", x, y, resamples=np.zeros((3, 4), int))
