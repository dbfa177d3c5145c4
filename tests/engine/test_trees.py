"""Batched numba tree learners (smkit.engine.learners._trees) against scikit-learn and xgboost."""

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smkit.engine.learners._trees import _xgb_param, forest_fit_predict, gbt_fit_predict

sk_ensemble = pytest.importorskip("sklearn.ensemble")
xgb = pytest.importorskip("xgboost")

HYPO = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def truth(X):
    return np.sin(X[:, 0]) * 2 + X[:, 1] ** 2 - X[:, 2]


def make_batch(rng, sizes, n_pred=30, p=5, noise=0.3, decimals=None, scale=1.0):
    """Stacked windows of the synthetic problem; ``decimals`` rounds X and Z (ties)."""
    Xs, ys, Zs = [], [], []
    for n in sizes:
        X = rng.normal(size=(n, p)) * scale
        Z = rng.normal(size=(n_pred, p)) * scale
        if decimals is not None:
            X, Z = np.round(X, decimals), np.round(Z, decimals)
        Xs.append(X)
        ys.append(truth(X / scale) + noise * rng.normal(size=n))
        Zs.append(Z)
    train_ptr = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    pred_ptr = (np.arange(len(sizes) + 1) * n_pred).astype(np.int64)
    return np.vstack(Xs), np.concatenate(ys), train_ptr, np.vstack(Zs), pred_ptr


def per_window(make_model, X, y, train_ptr, Z, pred_ptr):
    """Reference: one library model per window (NaN below two training rows)."""
    out = np.full(Z.shape[0], np.nan)
    for b in range(len(train_ptr) - 1):
        a0, a1, c0, c1 = train_ptr[b], train_ptr[b + 1], pred_ptr[b], pred_ptr[b + 1]
        if a1 - a0 >= 2 and c1 > c0:
            out[c0:c1] = make_model().fit(X[a0:a1], y[a0:a1]).predict(Z[c0:c1])
    return out


def xgb_model(n_rounds=100, eta=0.3, max_depth=6, reg_lambda=1.0, gamma=0.0,
              min_child_weight=1.0, base_score=0.5):
    return lambda: xgb.XGBRegressor(
        tree_method="exact", objective="reg:squarederror", n_estimators=n_rounds,
        learning_rate=eta, max_depth=max_depth, reg_lambda=reg_lambda, gamma=gamma,
        min_child_weight=min_child_weight, base_score=base_score, subsample=1,
        colsample_bytree=1, reg_alpha=0, max_delta_step=0, n_jobs=1,
    )


def one_by_one(fn, X, y, train_ptr, Z, pred_ptr, **kw):
    out = np.full(Z.shape[0], np.nan)
    for b in range(len(train_ptr) - 1):
        a0, a1, c0, c1 = train_ptr[b], train_ptr[b + 1], pred_ptr[b], pred_ptr[b + 1]
        out[c0:c1] = fn(X[a0:a1], y[a0:a1], [0, a1 - a0], Z[c0:c1], [0, c1 - c0], **kw)
    return out


# ------------------------------------------------------------------------------- GBT

GBT_SETTINGS = [
    dict(),
    dict(n_rounds=1),
    dict(max_depth=2, reg_lambda=0.0),
    dict(max_depth=3, eta=0.1, gamma=0.2, min_child_weight=5.0),
    dict(max_depth=4, reg_lambda=5.0, gamma=0.5, min_child_weight=3.0, n_rounds=60),
    dict(max_depth=5, reg_lambda=2.5, gamma=0.05, min_child_weight=1.7, eta=0.45),
    dict(max_depth=6, reg_lambda=0.37, min_child_weight=2.0, n_rounds=30, base_score=1.25),
    dict(max_depth=8, n_rounds=20),  # deeper than the vectorised prediction's complete-tree layout
]


def _ids(d):
    return ",".join(f"{k}={v}" for k, v in d.items()) or "defaults"


@pytest.mark.parametrize("params", GBT_SETTINGS, ids=_ids)
def test_gbt_matches_xgboost(params):
    rng = np.random.default_rng(len(params))
    batch = make_batch(rng, rng.integers(20, 160, size=5), scale=float(rng.uniform(0.1, 50)))
    got = gbt_fit_predict(*batch, **params)
    ref = per_window(xgb_model(**params), *batch)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-5)


@HYPO
@given(
    seed=st.integers(0, 2**32 - 1),
    sizes=st.lists(st.integers(2, 150), min_size=1, max_size=4),
    n_rounds=st.integers(1, 100),
    eta=st.floats(0.01, 0.5).map(lambda v: round(v, 6)),
    max_depth=st.integers(2, 6),
    reg_lambda=st.floats(0.0, 5.0).map(lambda v: round(v, 6)),
    gamma=st.sampled_from([0.0, 0.0, 0.1, 0.5]) | st.floats(0.0, 0.5).map(lambda v: round(v, 6)),
    min_child_weight=st.sampled_from([1.0, 2.0]) | st.floats(1.0, 5.0).map(lambda v: round(v, 6)),
    decimals=st.sampled_from([None, None, 1]),
    yscale=st.sampled_from([0.01, 1.0, 100.0]),
)
def test_gbt_matches_xgboost_hypothesis(seed, sizes, n_rounds, eta, max_depth, reg_lambda,
                                        gamma, min_child_weight, decimals, yscale):
    rng = np.random.default_rng(seed)
    X, y, tp, Z, pp = make_batch(rng, sizes, n_pred=15, decimals=decimals)
    y = y * yscale
    params = dict(n_rounds=n_rounds, eta=eta, max_depth=max_depth, reg_lambda=reg_lambda,
                  gamma=gamma, min_child_weight=min_child_weight)
    got = gbt_fit_predict(X, y, tp, Z, pp, **params)
    ref = per_window(xgb_model(**params), X, y, tp, Z, pp)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-5 * max(1.0, yscale))
    np.testing.assert_array_equal(got, one_by_one(gbt_fit_predict, X, y, tp, Z, pp, **params))


def test_gbt_matches_xgboost_with_min_child_weight_zero():
    """min_child_weight=0 admits the split that puts every row on the right."""
    rng = np.random.default_rng(11)
    batch = make_batch(rng, [3, 17, 60], decimals=1)
    params = dict(n_rounds=15, max_depth=3, min_child_weight=0.0, reg_lambda=0.5)
    np.testing.assert_allclose(gbt_fit_predict(*batch, **params),
                               per_window(xgb_model(**params), *batch), rtol=0, atol=1e-5)


def test_gbt_matches_xgboost_when_gradient_sums_are_inexact():
    """Targets over twelve orders of magnitude: node sums are not exact in double, so the
    kernel must sum them in xgboost's row order instead of taking them from the split."""
    rng = np.random.default_rng(5)
    X, _, tp, Z, pp = make_batch(rng, [40, 90])
    y = np.exp(rng.uniform(-14, 14, size=X.shape[0])) * rng.choice([-1, 1], size=X.shape[0])
    params = dict(n_rounds=30, max_depth=4)
    got = gbt_fit_predict(X, y, tp, Z, pp, **params)
    ref = per_window(xgb_model(**params), X, y, tp, Z, pp)
    np.testing.assert_array_equal(got, ref)  # bit for bit, as everywhere else


_F32 = st.builds(lambda sign, e, mant: float(np.float32(sign * (1 + mant / 2**23) * 2.0**e)),
                 st.sampled_from([-1, 1]), st.integers(-20, 16), st.integers(0, 2**23 - 1))


@settings(HYPO, max_examples=400)
@given(st.lists(_F32 | st.just(0.0), min_size=2, max_size=40), st.randoms())
def test_gbt_exact_sum_criterion(values, rnd):
    """Where the kernel takes a child's gradient sum from the split search instead of
    summing in row order, any order of double additions gives the exact sum."""
    import math

    from smkit.engine.learners._trees import _EXACT_SUM_RATIO

    g = [float(v) for v in values]
    nonzero = [abs(v) for v in g if v != 0.0]
    if not nonzero or sum(abs(v) for v in g) > min(nonzero) * _EXACT_SUM_RATIO:
        return
    for _ in range(3):
        rnd.shuffle(g)
        acc = 0.0
        for i, v in enumerate(g):
            acc += v
            assert acc == math.fsum(g[:i + 1])  # every partial sum is the exact one


def test_gbt_matches_xgboost_past_the_kept_point_tests():
    """More distinct (feature, threshold) tests than the kernel keeps for its points."""
    from smkit.engine.learners._trees import _ZCACHE

    rng = np.random.default_rng(8)
    batch = make_batch(rng, [150], n_pred=200, p=7)
    params = dict(n_rounds=80, max_depth=6, eta=0.5)
    model = xgb_model(**params)().fit(batch[0], batch[1])
    dump = model.get_booster().get_dump(dump_format="json")
    tests = {(n["split"], n["split_condition"]) for tree in dump for n in _nodes(json.loads(tree))
             if "split" in n}
    assert len(tests) > _ZCACHE
    np.testing.assert_allclose(gbt_fit_predict(*batch, **params),
                               per_window(xgb_model(**params), *batch), rtol=0, atol=1e-5)


@pytest.mark.parametrize("pool", [1, 5, 24])
def test_gbt_matches_xgboost_across_layout_pool_restarts(pool):
    """The kernel keeps node layouts in a pool that starts afresh when a round might not
    fit; the smallest pools (at least max_depth rows per row) restart nearly every round."""
    rng = np.random.default_rng(3)
    batch = make_batch(rng, [40, 77, 130], n_pred=25, noise=1.0)
    params = dict(n_rounds=150, max_depth=4, eta=0.6, reg_lambda=0.5)
    np.testing.assert_array_equal(gbt_fit_predict(*batch, **params, _pool=pool),
                                  per_window(xgb_model(**params), *batch))


def _nodes(node):
    yield node
    for child in node.get("children", []):
        yield from _nodes(child)


def test_xgb_param_parsing_matches_xgboost():
    """Float parameters are rounded to float32 the way xgboost's parser does."""

    rng = np.random.default_rng(0)
    d = xgb.DMatrix(rng.normal(size=(8, 2)), label=rng.normal(size=8))
    values = [float(v) for v in rng.uniform(0, 5, size=40)] + [0.3, 1e-5, 2.5e-7, 123.456]
    mismatches_f32 = 0
    for v in values:
        cfg = json.loads(xgb.train({"reg_lambda": v, "nthread": 1}, d, 1).save_config())
        tree_param = cfg["learner"]["gradient_booster"]["tree_train_param"]
        stored = np.float32(float(tree_param["reg_lambda"]))
        assert _xgb_param(v) == stored, v
        mismatches_f32 += np.float32(v) != stored
    assert mismatches_f32 > 0  # why the parser is reproduced at all


# -------------------------------------------------------------------------------- RF


def test_forest_skill_matches_sklearn():
    rng = np.random.default_rng(2024)
    sizes = rng.integers(60, 151, size=50)
    n_pred = 40
    X, y, tp, Z, pp = make_batch(rng, sizes, n_pred=n_pred, noise=0.5)
    target = truth(Z)
    got = forest_fit_predict(X, y, tp, Z, pp, n_estimators=100, seed=7)
    ref = per_window(
        lambda: sk_ensemble.RandomForestRegressor(n_estimators=100, random_state=0, n_jobs=1),
        X, y, tp, Z, pp)
    r_got = np.corrcoef(got, target)[0, 1]
    r_ref = np.corrcoef(ref, target)[0, 1]
    assert abs(r_got - r_ref) <= 0.01, (r_got, r_ref)
    assert r_got > 0.8


@pytest.mark.parametrize("kw", [dict(max_features=0.4), dict(min_samples_leaf=5, max_depth=4),
                                dict(bootstrap=False, max_features=0.6)])
def test_forest_options_track_sklearn(kw):
    rng = np.random.default_rng(11)
    X, y, tp, Z, pp = make_batch(rng, rng.integers(60, 151, size=12), n_pred=40, noise=0.5)
    got = forest_fit_predict(X, y, tp, Z, pp, n_estimators=50, **kw)
    sk_kw = dict(kw)
    if "max_depth" in sk_kw and sk_kw["max_depth"] < 0:
        sk_kw["max_depth"] = None
    ref = per_window(lambda: sk_ensemble.RandomForestRegressor(
        n_estimators=50, random_state=0, n_jobs=1, **sk_kw), X, y, tp, Z, pp)
    r_got, r_ref = np.corrcoef(got, truth(Z))[0, 1], np.corrcoef(ref, truth(Z))[0, 1]
    assert abs(r_got - r_ref) <= 0.03, (r_got, r_ref)
    assert np.corrcoef(got, ref)[0, 1] > 0.95


def test_forest_deterministic_and_batching_invariant():
    rng = np.random.default_rng(3)
    sizes = [35, 1, 80, 0, 50, 120]
    X, y, tp, Z, pp = make_batch(rng, sizes, n_pred=20)
    full = forest_fit_predict(X, y, tp, Z, pp, n_estimators=30, seed=42)
    np.testing.assert_array_equal(full, forest_fit_predict(X, y, tp, Z, pp, n_estimators=30,
                                                           seed=42))
    assert not np.array_equal(full, forest_fit_predict(X, y, tp, Z, pp, n_estimators=30, seed=43),
                              equal_nan=True)
    # windows one by one, each with its global id
    for b in range(len(sizes)):
        a0, a1, c0, c1 = tp[b], tp[b + 1], pp[b], pp[b + 1]
        one = forest_fit_predict(X[a0:a1], y[a0:a1], [0, a1 - a0], Z[c0:c1], [0, c1 - c0],
                                 n_estimators=30, seed=42, window_ids=[b])
        np.testing.assert_array_equal(one, full[c0:c1])
    # the windows in reverse order, as one batch
    order = np.arange(len(sizes))[::-1]
    Xr = np.vstack([X[tp[b]:tp[b + 1]] for b in order])
    yr = np.concatenate([y[tp[b]:tp[b + 1]] for b in order])
    Zr = np.vstack([Z[pp[b]:pp[b + 1]] for b in order])
    tpr = np.concatenate([[0], np.cumsum([sizes[b] for b in order])])
    ppr = np.concatenate([[0], np.cumsum([pp[b + 1] - pp[b] for b in order])])
    rev = forest_fit_predict(Xr, yr, tpr, Zr, ppr, n_estimators=30, seed=42, window_ids=order)
    np.testing.assert_array_equal(rev, np.concatenate([full[pp[b]:pp[b + 1]] for b in order]))


def test_forest_thread_count_invariant():
    import numba

    rng = np.random.default_rng(4)
    batch = make_batch(rng, rng.integers(20, 100, size=8), n_pred=10)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = forest_fit_predict(*batch, n_estimators=20, seed=1)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(one, forest_fit_predict(*batch, n_estimators=20, seed=1))


# ------------------------------------------------------------------------ edge cases

LEARNERS = [
    pytest.param(forest_fit_predict, dict(n_estimators=20), id="forest"),
    pytest.param(gbt_fit_predict, dict(n_rounds=20), id="gbt"),
]


@pytest.mark.parametrize("fn, kw", LEARNERS)
def test_tiny_windows_give_nan(fn, kw):
    rng = np.random.default_rng(8)
    sizes = [0, 1, 30, 1, 2]
    X, y, tp, Z, pp = make_batch(rng, sizes, n_pred=6)
    pp = np.array([0, 6, 12, 18, 24, 24, 30])  # the 5th window predicts nothing
    tp = np.concatenate([tp, [tp[-1]]])  # and a 6th, empty window predicts the last rows
    out = fn(X, y, tp, Z, pp, **kw)
    assert np.isnan(out[:12]).all() and np.isnan(out[18:24]).all() and np.isnan(out[24:]).all()
    assert np.isfinite(out[12:18]).all()


@pytest.mark.parametrize("fn, kw", LEARNERS)
def test_rows_outside_windows_are_nan(fn, kw):
    rng = np.random.default_rng(9)
    X, y, tp, Z, pp = make_batch(rng, [30, 40], n_pred=5)
    out = fn(X, y, tp, Z, np.array([2, 5, 8]), **kw)
    assert np.isnan(out[:2]).all() and np.isnan(out[8:]).all() and np.isfinite(out[2:8]).all()


@pytest.mark.parametrize("fn, kw", LEARNERS)
def test_constant_target_gives_constant_prediction(fn, kw):
    rng = np.random.default_rng(10)
    X, _, tp, Z, pp = make_batch(rng, [40, 3, 90], n_pred=25)
    y = np.full(X.shape[0], 0.3)
    out = fn(X, y, tp, Z, pp, **kw)
    for b in range(3):
        w = out[pp[b]:pp[b + 1]]
        assert np.ptp(w) == 0.0
        if fn is not gbt_fit_predict:
            assert w[0] == pytest.approx(0.3, abs=1e-12)
    if fn is gbt_fit_predict:
        np.testing.assert_allclose(out, per_window(xgb_model(n_rounds=20), X, y, tp, Z, pp),
                                   rtol=0, atol=1e-5)


@pytest.mark.parametrize("fn", [forest_fit_predict, gbt_fit_predict])
def test_bad_input_is_rejected(fn):
    X = np.zeros((4, 2))
    with pytest.raises(ValueError):
        fn(X, np.zeros(3), [0, 4], X, [0, 4])
    with pytest.raises(ValueError):
        fn(X, np.zeros(4), [0, 5], X, [0, 4])
    with pytest.raises(ValueError):
        fn(X, np.zeros(4), [0, 4], np.zeros((4, 3)), [0, 4])
    with pytest.raises(ValueError):
        fn(X, np.array([0.0, np.nan, 1.0, 2.0]), [0, 4], X, [0, 4])
