import numpy as np
import pytest
import xarray as xr

from smkit.analysis.importance import factor_importance, summarise
from smkit.plot.importance import figure_importance, figure_learners


@pytest.fixture(scope="module")
def with_noise(tiny):
    """The tiny scenario's covariates plus a covariate of pure noise."""
    fine = tiny.fine.sel(time=slice("2009-05-01", "2010-08-31"))
    rng = np.random.default_rng(0)
    noise = xr.DataArray(rng.normal(size=fine["lst"].shape).astype(np.float32), dims=fine["lst"].dims,
                         coords=fine["lst"].coords, attrs={"units": "1"})
    return tiny.coarse.sel(time=fine["time"]), fine.assign(noise=noise)


def test_noise_covariate_is_unimportant(with_noise):
    coarse, fine = with_noise
    covs = ("lst", "ndvi", "albedo", "precip", "dem", "noise")
    imp = factor_importance(coarse, fine, covariates=covs, learners=("rf", "mlr"), by="year",
                            max_samples=1500, n_repeats=3, params={"rf": {"n_estimators": 40}},
                            progress=False)
    assert set(imp["slice"]) == {2009, 2010}
    s = summarise(imp)
    for learner in ("rf", "mlr"):
        assert s.loc[(learner, "noise"), "permutation_mean"] < 0.05
        assert s.loc[(learner, "noise"), "shap_mean"] < 0.05
        assert abs(s.loc[(learner, "noise"), "r_mean"]) < 0.1
        # shares sum to one per slice
        per = imp[imp.learner == learner].groupby("slice")[["permutation", "shap"]].sum()
        np.testing.assert_allclose(per.to_numpy(), 1.0)
    # the paper's signs (Fig. 3b)
    assert s.loc[("rf", "lst"), "r_mean"] < 0 < s.loc[("rf", "ndvi"), "r_mean"]
    fig = figure_importance(imp, "rf")
    assert len(fig.axes) == 2
    assert len(figure_learners(imp).axes) == 1


def test_errors(with_noise):
    coarse, fine = with_noise
    with pytest.raises(ValueError, match="slice"):
        factor_importance(coarse, fine, by="decade", progress=False)
    with pytest.raises(KeyError, match="choose from"):
        factor_importance(coarse, fine, learners=("cnn",), progress=False)
    empty = coarse.assign(sm=coarse["sm"] * np.nan)
    with pytest.raises(ValueError, match="no valid cell-day"):
        factor_importance(empty, fine, progress=False)
