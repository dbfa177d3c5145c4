import numpy as np
import pytest

from smkit.engine.learners import fit_predict, mlr_batch


def _batch(seed=1, B=120):
    rng = np.random.default_rng(seed)
    n = rng.integers(0, 90, B)
    n[:3] = [0, 1, 2]
    ptr = np.r_[0, np.cumsum(n)]
    m = rng.integers(0, 40, B)
    zptr = np.r_[0, np.cumsum(m)]
    scale, loc = np.array([3, 0.1, 0.05, 2, 800]), np.array([300, 0.3, 0.2, 1, 2000])
    X = rng.normal(size=(ptr[-1], 5)) * scale + loc
    y = X @ [0.01, 0.3, -0.5, 0.02, 1e-4] + rng.normal(0, 0.02, len(X))
    if B > 6:
        X[ptr[5]:ptr[6], 3] = 0.0  # a constant covariate in one window
    Z = rng.normal(size=(zptr[-1], 5)) * scale + loc
    return X, y, ptr, Z, zptr


def test_fast_mlr_matches_sklearn():
    X, y, ptr, Z, zptr = _batch()
    fast = fit_predict("mlr", X, y, ptr, Z, zptr)
    ref = fit_predict("mlr", X, y, ptr, Z, zptr, backend="reference")
    assert np.array_equal(np.isnan(fast), np.isnan(ref))
    np.testing.assert_allclose(fast, ref, atol=1e-8, rtol=0)


def test_mlr_batching_does_not_matter():
    X, y, ptr, Z, zptr = _batch(seed=2, B=40)
    whole = mlr_batch(X, y, ptr, Z, zptr)
    half = 20
    a = mlr_batch(X[:ptr[half]], y[:ptr[half]], ptr[:half + 1], Z[:zptr[half]], zptr[:half + 1])
    np.testing.assert_allclose(whole[:zptr[half]], a, atol=1e-12)


def test_unknown_names():
    X, y, ptr, Z, zptr = _batch(B=5)
    with pytest.raises(KeyError, match="choose from"):
        fit_predict("cnn", X, y, ptr, Z, zptr)
    with pytest.raises(KeyError, match="choose from"):
        fit_predict("mlr", X, y, ptr, Z, zptr, backend="gpu")
    with pytest.raises(KeyError, match="valid"):
        fit_predict("svr", X, y, ptr, Z, zptr, params={"kernel": "poly"})


def test_tune_on_the_pooled_coarse_set(tiny):
    from smkit.engine.features import training_table
    from smkit.engine.learners import tune

    df = training_table(tiny.coarse, tiny.fine)
    assert len(df) > 500 and df.notna().all().all()
    cols = ["lst", "ndvi", "albedo", "precip", "dem"]
    res = tune(df[cols].values, df["sm"].values, learners=("mlr", "rf", "xgb"), folds=5,
               max_samples=600, search={"rf": {"min_samples_leaf": [1, 5], "n_estimators": [20]},
                                        "xgb": {"max_depth": [2, 4], "n_rounds": [20]}},
               progress=False)
    assert res["rf"]["min_samples_leaf"] in (1, 5) and res["rf"]["n_estimators"] == 20
    assert res["xgb"]["max_depth"] in (2, 4)
    for name in ("mlr", "rf", "xgb"):
        assert 0 < res[name]["cv_rmse"] < 0.2


def test_tuning_with_spatial_folds_holds_out_whole_cells(tiny, monkeypatch):
    """With groups, every fold validates on cells it never trained on (the paper's 90 % / 10 % of cells)."""
    import sklearn.model_selection as ms

    from smkit.engine.features import training_table
    from smkit.engine.learners import tune

    df = training_table(tiny.coarse, tiny.fine)
    cells = df.groupby(["lat", "lon"]).ngroup().to_numpy()
    seen = []
    real = ms.GroupKFold.split

    def spy(self, X, y=None, groups=None):
        for tr, te in real(self, X, y, groups):
            seen.append((set(groups[tr]), set(groups[te])))
            yield tr, te

    monkeypatch.setattr(ms.GroupKFold, "split", spy)
    cols = ["lst", "ndvi", "albedo", "precip", "dem"]
    res = tune(df[cols].values, df["sm"].values, learners=("mlr",), folds=5, max_samples=800,
               search={"mlr": {"alpha": [1.0, 30.0]}}, groups=cells, progress=False)
    assert res["mlr"]["alpha"] in (1.0, 30.0) and len(seen) == 5
    assert all(not (a & b) for a, b in seen)
    with pytest.raises(ValueError, match="groups"):
        tune(df[cols].values, df["sm"].values, learners=("mlr",), folds=5, groups=np.zeros(len(df)),
             progress=False)
