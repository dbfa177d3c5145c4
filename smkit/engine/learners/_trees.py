"""Batched, numba-compiled tree learners for many tiny regression windows.

The downscaling engine fits one small regression model per *window*: a
training set of a few tens to a few hundred samples with a handful of
features, plus the points to predict. Calling scikit-learn or xgboost once per
window costs milliseconds of Python and bookkeeping overhead, far more than the
arithmetic. This module fits and predicts whole batches of windows in a single
compiled call, one window per task of a ``numba.prange`` loop (the GIL is
released, and each window's work is serial and independent).

Ragged batch layout
-------------------
Both learners take the same arguments:

``X`` : float64 (N_train_total, p)
    Training features of all windows, stacked.
``y`` : float64 (N_train_total,)
    Training targets.
``train_ptr`` : int64 (B + 1,)
    Window ``b`` trains on rows ``train_ptr[b]:train_ptr[b + 1]``.
``Z`` : float64 (N_pred_total, p)
    Points to predict, stacked.
``pred_ptr`` : int64 (B + 1,)
    Window ``b`` predicts rows ``pred_ptr[b]:pred_ptr[b + 1]`` of ``Z``.

and return float64 (N_pred_total,) predictions. A window with fewer than two
training rows predicts NaN for all its points, as does any row of ``Z`` not
covered by a window. Inputs must be finite (no missing-value handling).

Learners
--------
:func:`forest_fit_predict`
    Random forest (bootstrap, random feature subsets per split, mean of the
    trees), grown level by level on per-window presorted feature orders.
    Deterministic for a given ``seed`` and window id, whatever the batching.
:func:`gbt_fit_predict`
    Gradient-boosted trees with squared error, reproducing xgboost's exact
    greedy updater (``tree_method="exact"``: ``grow_colmaker`` then
    ``prune``) with its float32 arithmetic, its sort order and its parameter
    parsing, so that predictions agree bit for bit.

All kernels are compiled with ``cache=True``; the first call in a fresh
environment compiles them (4-7 s each; the boosting kernel with LLVM's SLP
vectoriser, see :func:`_call_slp`). Indicative single-core cost for a window
of 50 samples x 5 features with 625 points to predict: random forest (100
trees) ~1 ms against ~57 ms for one scikit-learn model per window; gradient
boosting (100 rounds, depth 4) on the engine benchmark's windows (38 samples,
551 points) ~0.31 ms against ~8.3 ms for xgboost (``smkit bench engine``).
"""

from __future__ import annotations

import math
import threading

import numpy as np
from numba import njit, prange

__all__ = ["forest_fit_predict", "gbt_fit_predict"]

_JIT = dict(cache=True, nogil=True, error_model="numpy")
_PJIT = dict(cache=True, nogil=True, parallel=True, error_model="numpy")

# scikit-learn's constant (sklearn/tree/_tree.pyx)
_SK_EPSILON = float(np.finfo(np.float64).eps)
_INT32_MAX = int(np.iinfo(np.int32).max)

# xgboost's kRtEps (float)
_XGB_RT_EPS = np.float32(1e-6)

# float32 values are integer multiples of 2^-24 times their smallest nonzero magnitude (or
# of a finer unit); when their magnitudes sum to at most 2^53 such units, i.e. to at most
# 2^29 times the smallest, every partial sum in double is exact, whatever the order
_EXACT_SUM_RATIO = 2.0 ** 29

# splitmix64 constants for the forest's random numbers
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_U30 = np.uint64(30)
_U27 = np.uint64(27)
_U31 = np.uint64(31)
_U1 = np.uint64(1)
_U16 = np.uint64(16)
_U16MASK = np.uint64(0xFFFF)
_U32 = np.uint64(32)
_U32MASK = np.uint64(0xFFFFFFFF)
_U64MAX = np.uint64(0xFFFFFFFFFFFFFFFF)


# --------------------------------------------------------------------------------------
# input handling
# --------------------------------------------------------------------------------------


def _as_batch(X, y, train_ptr, Z, pred_ptr):
    """Validate and normalise the ragged batch layout (see module docstring)."""
    X = np.ascontiguousarray(X, dtype=np.float64)
    Z = np.ascontiguousarray(Z, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64).reshape(-1)
    train_ptr = np.ascontiguousarray(train_ptr, dtype=np.int64).reshape(-1)
    pred_ptr = np.ascontiguousarray(pred_ptr, dtype=np.int64).reshape(-1)
    if X.ndim != 2 or Z.ndim != 2:
        raise ValueError("X and Z must be 2-D (rows, features)")
    if X.shape[1] != Z.shape[1]:
        raise ValueError(f"X has {X.shape[1]} features but Z has {Z.shape[1]}")
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"y has {y.shape[0]} rows but X has {X.shape[0]}")
    if train_ptr.shape != pred_ptr.shape or train_ptr.shape[0] < 1:
        raise ValueError("train_ptr and pred_ptr must both have B + 1 entries")
    for name, ptr, nrows in (("train_ptr", train_ptr, X.shape[0]),
                             ("pred_ptr", pred_ptr, Z.shape[0])):
        if ptr[0] < 0 or ptr[-1] > nrows or np.any(np.diff(ptr) < 0):
            raise ValueError(f"{name} must be non-decreasing within [0, {nrows}]")
    for name, a in (("X", X), ("y", y), ("Z", Z)):
        if not np.isfinite(a).all():
            raise ValueError(f"{name} has NaN or infinite values (no missing-value support)")
    return X, y, train_ptr, Z, pred_ptr


def _window_ids(window_ids, n_windows):
    if window_ids is None:
        return np.arange(n_windows, dtype=np.int64)
    ids = np.ascontiguousarray(window_ids, dtype=np.int64).reshape(-1)
    if ids.shape[0] != n_windows:
        raise ValueError(f"window_ids has {ids.shape[0]} entries for {n_windows} windows")
    return ids


def _xgb_param(value):
    """A float training parameter as xgboost stores it.

    The Python package hands parameters over as ``str(value)``, and the C++
    side parses float fields with dmlc-core's fast ``ParseFloat<float>``
    (integer part and fraction rounded to float separately, then added in
    float), which is not always the correctly rounded float32: about one
    random value in twenty lands one ulp away. Reproduced here so that
    ``learning_rate``, ``reg_lambda``, ``gamma`` and ``min_child_weight`` are
    the very numbers xgboost computes with.
    """
    f32 = np.float32
    float(value)  # a number, or fail here
    s = str(value).strip()
    n = len(s)
    p = 0
    negative = False
    if p < n and s[p] in "+-":
        negative = s[p] == "-"
        p += 1
    rest = s[p:].lower()
    if rest.startswith("inf") or rest.startswith("nan"):
        v = f32(float(s))
        return v
    predec = 0
    while p < n and s[p].isdigit():
        predec = (predec * 10 + int(s[p])) % 2**64
        p += 1
    v = f32(float(predec))
    if p < n and s[p] == ".":
        p += 1
        val2, pow10, count = 0, 1, 0
        while p < n and s[p].isdigit():
            if count < 19:
                val2 = val2 * 10 + int(s[p])
                pow10 *= 10
            p += 1
            count += 1
        v = f32(v + f32(float(val2) / float(pow10)))
    if p < n and s[p] in "eE":
        p += 1
        frac = False
        if p < n and s[p] in "+-":
            frac = s[p] == "-"
            p += 1
        expon = 0
        while p < n and s[p].isdigit():
            expon = expon * 10 + int(s[p])
            p += 1
        expon = min(expon, 38)
        scale = f32(1.0)
        while expon >= 8:
            scale = f32(scale * f32(1e8))
            expon -= 8
        while expon > 0:
            scale = f32(scale * f32(10.0))
            expon -= 1
        v = f32(v / scale) if frac else f32(v * scale)
    return f32(-v) if negative else v


# --------------------------------------------------------------------------------------
# random forest on presorted indices, one window
# --------------------------------------------------------------------------------------


@njit(inline="always", **_JIT)
def _mix64(z):
    z = (z ^ (z >> _U30)) * _MIX1
    z = (z ^ (z >> _U27)) * _MIX2
    return z ^ (z >> _U31)


@njit(inline="always", **_JIT)
def _next64(st):
    """Next 64 random bits of the splitmix64 stream in ``st[0]``."""
    s = st[0] + _GOLDEN
    st[0] = s
    return _mix64(s)


@njit(**_JIT)
def _forest_window(Xw, yw, Zw, out, n_estimators, max_depth, min_samples_split,
                   min_samples_leaf, mtry, bootstrap, seed, wid):
    """Grow ``n_estimators`` trees on one window; write the mean prediction to ``out``.

    Per tree, the in-bag rows of every feature are listed in sorted order;
    each level of the tree is a run of node segments in these lists, and a
    split moves each node's rows, stably, to its children's segments in the
    other buffer. Children that cannot be split are finished at once. The
    tree then predicts all points with a fixed number of branch-free steps.
    """
    n, p = Xw.shape
    m = Zw.shape[0]
    eps = _SK_EPSILON
    ft = 1e-7
    neg_inf = -np.inf
    st = np.empty(1, np.uint64)
    st[0] = _mix64(_mix64(np.uint64(seed) ^ _GOLDEN) ^ np.uint64(wid))

    Xt = np.empty((p, n), np.float64)
    for i in range(n):
        for f in range(p):
            Xt[f, i] = Xw[i, f]
    Zt = np.empty(p * m, np.float64)        # features transposed, flat: Zt[f * m + i]
    for i in range(m):
        for f in range(p):
            Zt[f * m + i] = Zw[i, f]
    # (row and node indices loaded from memory are kept unsigned: numba then skips
    # the negative-index wraparound, which costs ~15% in these loops)
    order = np.empty((p, n), np.uint64)
    sorted_x = np.empty((p, n), np.float64)
    for f in range(p):
        o = np.argsort(Xt[f], kind="mergesort")
        for jj in range(n):
            order[f, jj] = o[jj]
            sorted_x[f, jj] = Xt[f, o[jj]]

    counts = np.zeros(n, np.int64)
    wy = np.empty(n, np.float64)
    wyy = np.empty(n, np.float64)
    inv = np.empty(n + 1, np.float64)      # 1 / k for integer weight sums k
    inv[0] = 0.0
    for k in range(1, n + 1):
        inv[k] = 1.0 / k
    # in-bag rows of every feature, sorted within nodes, nodes of a level side by side;
    # two buffers used alternately from level to level
    idx = np.empty((2, p, n + 1), np.uint64)    # (slot n: scratch for dropped rows)
    val = np.empty((2, p, n + 1), np.float64)
    goleft = np.zeros(n, np.bool_)
    cur_l = np.empty(p, np.int64)
    cur_r = np.empty(p, np.int64)
    feat_perm = np.arange(p)
    vis = np.empty(p, np.int64)

    cap = 2 * n + 1
    t_pack = np.empty(cap, np.int64)       # (left child << 32) | feature * m; a leaf: self << 32
    t_thr = np.empty(cap, np.float64)
    t_val = np.empty(cap, np.float64)
    q_node = np.empty(cap, np.int64)
    q_s = np.empty(cap, np.int64)
    q_e = np.empty(cap, np.int64)
    nq_node = np.empty(cap, np.int64)
    nq_s = np.empty(cap, np.int64)
    nq_e = np.empty(cap, np.int64)
    q_cw = np.empty(cap, np.int64)
    q_sum = np.empty(cap, np.float64)
    q_sq = np.empty(cap, np.float64)
    nq_cw = np.empty(cap, np.int64)
    nq_sum = np.empty(cap, np.float64)
    nq_sq = np.empty(cap, np.float64)
    acc = np.zeros(m, np.float64)
    node_of = np.empty(m, np.uint64)
    u_pack = np.empty(cap, np.uint64)

    for _t in range(n_estimators):
        # ---- bootstrap sample, as integer weights ----
        if bootstrap:
            for i in range(n):
                counts[i] = 0
            nu = np.uint64(n)
            for _k in range(0, n, 2):
                z = _next64(st)
                counts[np.int64(((z & _U32MASK) * nu) >> _U32)] += 1
                if _k + 1 < n:
                    counts[np.int64(((z >> _U32) * nu) >> _U32)] += 1
        else:
            for i in range(n):
                counts[i] = 1
        for i in range(n):
            wy[i] = counts[i] * yw[i]
            wyy[i] = wy[i] * yw[i]
        n_in = 0
        for f in range(p):
            k = 0
            for jj in range(n):
                r = order[f, jj]
                uk = np.uint64(k)
                idx[0, f, uk] = r
                val[0, f, uk] = sorted_x[f, jj]
                k += counts[r] > 0
            n_in = k

        # ---- level-wise growth ----
        cur = 0
        n_nodes = 1
        tree_depth = 0
        nq = 1
        q_node[0] = 0
        q_s[0] = 0
        q_e[0] = n_in
        cw = 0
        ssum = 0.0
        sq = 0.0
        for i in range(n):
            cw += counts[i]
            ssum += wy[i]
            sq += wyy[i]
        q_cw[0] = cw
        q_sum[0] = ssum
        q_sq[0] = sq
        depth = 0
        while nq > 0:
            nxt = 1 - cur
            nn = 0
            w0 = 0
            for j in range(nq):
                node = q_node[j]
                s = q_s[j]
                e = q_e[j]
                c = e - s
                cw = q_cw[j]
                ssum = q_sum[j]
                sq = q_sq[j]
                wsum = np.float64(cw)
                mean = ssum / wsum
                t_val[node] = mean
                nv = 0
                imp = sq / wsum - mean * mean
                # (sums of children come from subtractions: a pure node may show a
                # variance of a few ulps of the mean square instead of 0)
                if not (depth >= max_depth or c < min_samples_split
                        or imp <= eps or imp <= 1e-13 * (sq / wsum)):
                    # features tried here, in random order: at least mtry, and at least
                    # one that is not constant in the node
                    remaining = p
                    n_visited = 0
                    bits = 0
                    z = np.uint64(0)
                    while remaining > 0 and (n_visited < mtry or nv == 0):
                        if bits == 0:
                            z = _next64(st)
                            bits = 4
                        jj = np.int64(((z & _U16MASK) * np.uint64(remaining)) >> _U16)
                        z >>= _U16
                        bits -= 1
                        f = feat_perm[jj]
                        feat_perm[jj] = feat_perm[remaining - 1]
                        feat_perm[remaining - 1] = f
                        remaining -= 1
                        n_visited += 1
                        if val[cur, f, e - 1] > val[cur, f, s] + ft:
                            vis[nv] = f
                            nv += 1
                best_q = -1
                best_k = 0
                if nv > 0:
                    best = neg_inf
                    for q in range(nv):
                        f = vis[q]
                        cl = 0
                        sl = 0.0
                        v = val[cur, f, s]
                        uf = np.uint64(f)
                        ucur = np.uint64(cur)
                        for k in range(s, e - 1):
                            uk = np.uint64(k)
                            r = idx[ucur, uf, uk]
                            cl += counts[r]
                            sl += wy[r]
                            vn = val[ucur, uf, uk + _U1]
                            nl = k + 1 - s
                            sr = ssum - sl
                            pr = sl * sl * inv[cl] + sr * sr * inv[cw - cl]
                            if (pr > best and vn > v + ft and nl >= min_samples_leaf
                                    and c - nl >= min_samples_leaf):
                                best = pr
                                best_q = q
                                best_k = k - s
                            v = vn
                if best_q < 0:
                    t_pack[node] = node << 32
                    t_thr[node] = np.inf
                    continue
                bf = vis[best_q]
                nl = best_k + 1
                left = n_nodes
                n_nodes += 2
                tree_depth = depth + 1
                t_pack[node] = (left << 32) | (bf * m)
                t_thr[node] = val[cur, bf, s + best_k] / 2.0 + val[cur, bf, s + nl] / 2.0
                lcw = 0
                lsum = 0.0
                lsq = 0.0
                for k in range(s, s + nl):
                    r = idx[cur, bf, k]
                    goleft[r] = True
                    lcw += counts[r]
                    lsum += wy[r]
                    lsq += wyy[r]
                for k in range(s + nl, e):
                    goleft[idx[cur, bf, k]] = False
                rcw = cw - lcw
                rsum = ssum - lsum
                rsq = sq - lsq
                # a child that cannot be split is finished here; the others are queued and
                # receive their rows (stable partition of every feature) in the next buffer
                grow = depth + 1 < max_depth
                keep_l = grow and nl >= min_samples_split
                keep_r = grow and c - nl >= min_samples_split
                if keep_l:
                    nq_node[nn] = left
                    nq_s[nn] = w0
                    nq_e[nn] = w0 + nl
                    nq_cw[nn] = lcw
                    nq_sum[nn] = lsum
                    nq_sq[nn] = lsq
                    nn += 1
                else:
                    t_val[left] = lsum / lcw
                    t_pack[left] = left << 32
                    t_thr[left] = np.inf
                if keep_r:
                    nq_node[nn] = left + 1
                    nq_s[nn] = w0 + nl * keep_l
                    nq_e[nn] = w0 + nl * keep_l + (c - nl)
                    nq_cw[nn] = rcw
                    nq_sum[nn] = rsum
                    nq_sq[nn] = rsq
                    nn += 1
                else:
                    t_val[left + 1] = rsum / rcw
                    t_pack[left + 1] = (left + 1) << 32
                    t_thr[left + 1] = np.inf
                if keep_l or keep_r:
                    kl = np.int64(keep_l)
                    kr = np.int64(keep_r)
                    for f in range(p):
                        cur_l[f] = w0 if keep_l else n
                        cur_r[f] = (w0 + nl * kl) if keep_r else n
                    ucur = np.uint64(cur)
                    unxt = np.uint64(nxt)
                    for k in range(s, e):
                        uk = np.uint64(k)
                        for f in range(p):
                            uf = np.uint64(f)
                            r = idx[ucur, uf, uk]
                            gl = np.int64(goleft[r])
                            dl = cur_l[f]
                            dr = cur_r[f]
                            dst = np.uint64(dl if gl else dr)
                            cur_l[f] = dl + kl * gl
                            cur_r[f] = dr + kr * (1 - gl)
                            idx[unxt, uf, dst] = r
                            val[unxt, uf, dst] = val[ucur, uf, uk]
                    w0 += nl * kl + (c - nl) * kr
            for j in range(nn):
                q_node[j] = nq_node[j]
                q_s[j] = nq_s[j]
                q_e[j] = nq_e[j]
                q_cw[j] = nq_cw[j]
                q_sum[j] = nq_sum[j]
                q_sq[j] = nq_sq[j]
            nq = nn
            cur = nxt
            depth += 1

        # ---- predict: tree_depth branch-free steps (leaves loop on themselves) ----
        for nd in range(n_nodes):
            u_pack[nd] = np.uint64(t_pack[nd])
        for i in range(m):
            node_of[i] = 0
        for _d in range(tree_depth):
            for i in range(m):
                nd = node_of[i]
                pk = u_pack[nd]
                zi = Zt[(pk & _U32MASK) + np.uint64(i)]
                node_of[i] = (pk >> _U32) + np.uint64(zi > t_thr[nd])
        for i in range(m):
            acc[i] += t_val[node_of[i]]
    for i in range(m):
        out[i] = acc[i] / n_estimators


@njit(**_PJIT)
def _forest_batch(X, y, train_ptr, Z, pred_ptr, window_ids, n_estimators, max_depth,
                  min_samples_split, min_samples_leaf, mtry, bootstrap, seed, out):
    n_windows = train_ptr.shape[0] - 1
    for b in prange(n_windows):
        a0 = train_ptr[b]
        a1 = train_ptr[b + 1]
        c0 = pred_ptr[b]
        c1 = pred_ptr[b + 1]
        if a1 - a0 < 2:
            for i in range(c0, c1):
                out[i] = np.nan
            continue
        _forest_window(X[a0:a1], y[a0:a1], Z[c0:c1], out[c0:c1], n_estimators, max_depth,
                       min_samples_split, min_samples_leaf, mtry, bootstrap, seed,
                       window_ids[b])


def forest_fit_predict(X, y, train_ptr, Z, pred_ptr, n_estimators=100, max_depth=-1,
                       min_samples_leaf=1, max_features=1.0, bootstrap=True, seed=0,
                       window_ids=None):
    """Fit a random forest per window and predict its points.

    Each tree is a CART regression tree like scikit-learn's (variance
    reduction, threshold at the midpoint of consecutive distinct values,
    ``x <= threshold`` goes left, gaps up to 1e-7 are not split, a node is a
    leaf at ``max_depth``, below ``max(2, 2 * min_samples_leaf)`` distinct
    samples or when pure), grown on a bootstrap sample of the window (``n``
    draws with replacement, used as integer sample weights, as scikit-learn
    does) and trying, at each split, a random subset of
    ``max(1, int(max_features * p))`` features in random order (more are
    drawn while all drawn ones are constant in the node; ties between equally
    good splits go to the first feature tried). The prediction is the mean of
    the trees. This is scikit-learn's ``RandomForestRegressor`` in
    distribution, not bit for bit: the random numbers differ (and features
    stay float64, where scikit-learn rounds them to float32).

    Trees are grown level by level on per-window presorted feature orders
    (no sorting per node). Random numbers come from a splitmix64 stream seeded
    by ``(seed, window id)`` and drawn window by window, so a window's result
    depends neither on the batch it is in, nor on its position, nor on the
    number of threads.

    Parameters
    ----------
    X, y, train_ptr, Z, pred_ptr : array_like
        The ragged batch (see the module docstring).
    n_estimators : int, default 100
        Number of trees.
    max_depth : int, default -1
        Maximum depth; negative means unlimited.
    min_samples_leaf : int, default 1
        Minimum number of distinct samples in each child of a split.
    max_features : float, default 1.0
        Fraction of the features tried at each split (1.0 = all, the default
        of ``RandomForestRegressor``).
    bootstrap : bool, default True
        Grow each tree on a bootstrap sample; if False every tree sees the
        whole window (and trees differ only through ``max_features`` and tie
        breaking).
    seed : int, default 0
        Base seed.
    window_ids : array_like of int64 (B,), optional
        Global id of each window, the second half of its random seed.
        Defaults to ``arange(B)``; pass global ids to make results independent
        of how the windows are split into batches.

    Returns
    -------
    numpy.ndarray
        float64 (N_pred_total,) predictions; NaN for windows with fewer than
        two training rows and for rows of ``Z`` outside every window.
    """
    X, y, train_ptr, Z, pred_ptr = _as_batch(X, y, train_ptr, Z, pred_ptr)
    n_windows = train_ptr.shape[0] - 1
    ids = _window_ids(window_ids, n_windows)
    if n_estimators < 1 or min_samples_leaf < 1:
        raise ValueError("need n_estimators >= 1 and min_samples_leaf >= 1")
    if not 0.0 < max_features <= 1.0:
        raise ValueError("max_features is a fraction in (0, 1]")
    p = X.shape[1]
    if p * int(np.diff(pred_ptr).max(initial=0)) >= 2**32 or p >= 2**16:
        raise ValueError("too many prediction points or features in a window")
    mtry = max(1, int(max_features * p))
    md = _INT32_MAX if max_depth is None or max_depth < 0 else int(max_depth)
    mss = max(2, 2 * int(min_samples_leaf))
    out = np.full(Z.shape[0], np.nan)
    _forest_batch(X, y, train_ptr, Z, pred_ptr, ids, int(n_estimators), md, mss,
                  int(min_samples_leaf), mtry, bool(bootstrap),
                  np.uint64(int(seed) & 0xFFFFFFFFFFFFFFFF), out)
    return out


# --------------------------------------------------------------------------------------
# gradient boosting, xgboost's exact greedy updater (grow_colmaker + prune), one window
# --------------------------------------------------------------------------------------


@njit(inline="always", **_JIT)
def _cxx_swap(v, ix, i, j):
    t = v[i]
    v[i] = v[j]
    v[j] = t
    u = ix[i]
    ix[i] = ix[j]
    ix[j] = u


@njit(**_JIT)
def _cxx_adjust_heap(v, ix, off, hole, length, val, vix):
    """libstdc++ ``__adjust_heap`` (then ``__push_heap``) on ``v[off:off + length]``."""
    top = hole
    second = hole
    while second < (length - 1) // 2:
        second = 2 * (second + 1)
        if v[off + second] < v[off + second - 1]:
            second -= 1
        v[off + hole] = v[off + second]
        ix[off + hole] = ix[off + second]
        hole = second
    if (length & 1) == 0 and second == (length - 2) // 2:
        second = 2 * (second + 1)
        v[off + hole] = v[off + second - 1]
        ix[off + hole] = ix[off + second - 1]
        hole = second - 1
    parent = (hole - 1) // 2
    while hole > top and v[off + parent] < val:
        v[off + hole] = v[off + parent]
        ix[off + hole] = ix[off + parent]
        hole = parent
        parent = (hole - 1) // 2
    v[off + hole] = val
    ix[off + hole] = vix


@njit(**_JIT)
def _cxx_heapsort(v, ix, first, last):
    """libstdc++ ``__partial_sort(first, last, last)``: make_heap then sort_heap."""
    length = last - first
    if length >= 2:
        parent = (length - 2) // 2
        while True:
            _cxx_adjust_heap(v, ix, first, parent, length, v[first + parent], ix[first + parent])
            if parent == 0:
                break
            parent -= 1
    while last - first > 1:
        last -= 1
        val = v[last]
        vix = ix[last]
        v[last] = v[first]
        ix[last] = ix[first]
        _cxx_adjust_heap(v, ix, first, 0, last - first, val, vix)


@njit(**_JIT)
def _cxx_sort(v, ix, stack):
    """libstdc++ ``std::sort`` of ``v`` (carrying ``ix``) with ``a < b``.

    xgboost sorts each column of its ``SortedCSCPage`` this way (rows start in
    row order); the resulting order of tied values decides the order in which
    gradients are summed, so it is reproduced exactly (introsort with
    median-of-3 pivot moved to the front, unguarded partition, heapsort
    fallback, final insertion sort with a 16-element threshold).
    """
    n = v.shape[0]
    if n <= 1:
        return
    lg = 0
    while (n >> (lg + 1)) > 0:
        lg += 1
    stack[0, 0] = 0
    stack[0, 1] = n
    stack[0, 2] = 2 * lg
    top = 1
    while top > 0:
        top -= 1
        first = stack[top, 0]
        last = stack[top, 1]
        depth = stack[top, 2]
        while last - first > 16:
            if depth == 0:
                _cxx_heapsort(v, ix, first, last)
                break
            depth -= 1
            a = first + 1
            b = first + (last - first) // 2
            c = last - 1
            if v[a] < v[b]:
                if v[b] < v[c]:
                    _cxx_swap(v, ix, first, b)
                elif v[a] < v[c]:
                    _cxx_swap(v, ix, first, c)
                else:
                    _cxx_swap(v, ix, first, a)
            elif v[a] < v[c]:
                _cxx_swap(v, ix, first, a)
            elif v[b] < v[c]:
                _cxx_swap(v, ix, first, c)
            else:
                _cxx_swap(v, ix, first, b)
            pv = v[first]
            lo = first + 1
            hi = last
            while True:
                while v[lo] < pv:
                    lo += 1
                hi -= 1
                while pv < v[hi]:
                    hi -= 1
                if not lo < hi:
                    break
                _cxx_swap(v, ix, lo, hi)
                lo += 1
            stack[top, 0] = lo
            stack[top, 1] = last
            stack[top, 2] = depth
            top += 1
            last = lo
    # __final_insertion_sort
    head = 16 if n > 16 else n
    for i in range(1, head):
        val = v[i]
        vix = ix[i]
        if val < v[0]:
            for j in range(i, 0, -1):
                v[j] = v[j - 1]
                ix[j] = ix[j - 1]
            v[0] = val
            ix[0] = vix
        else:
            j = i
            while val < v[j - 1]:
                v[j] = v[j - 1]
                ix[j] = ix[j - 1]
                j -= 1
            v[j] = val
            ix[j] = vix
    for i in range(head, n):
        val = v[i]
        vix = ix[i]
        j = i
        while val < v[j - 1]:
            v[j] = v[j - 1]
            ix[j] = ix[j - 1]
            j -= 1
        v[j] = val
        ix[j] = vix


#: Trees up to this depth predict the points through a complete-tree layout (vectorised).
_HEAP_DEPTH = 6


@njit(inline="always", **_JIT)
def _xgb_gain(G, H, lam):
    """Gain term of a node with gradient sum ``G`` and hessian sum ``H``.

    Mathematically ``G^2 / (H + lambda)``, but xgboost 3.x evaluates it from
    the float node weight ``w = -G / (H + lambda)`` as
    ``-(2 G w + (H + lambda) w^2)`` (``w^2`` in float, the rest in double) and
    rounds to float; the last bits decide near-ties between splits, so the
    same expression is used here (probed against the loss changes xgboost
    stores in its models).
    """
    if H <= 0.0:
        return np.float32(0.0)
    w = np.float32(-G / (H + lam))
    ww = w * w
    return np.float32(-(2.0 * G * np.float64(w) + (H + lam) * np.float64(ww)))


@njit(inline="always", **_JIT)
def _xgb_weight(G, H, lam):
    """Node weight -G / (H + lambda) in double, rounded to float.

    xgboost 3.x does not zero it when ``H < min_child_weight`` (which only
    matters for a root with too few rows to split).
    """
    if H <= 0.0:
        return np.float32(0.0)
    return np.float32(-G / (H + lam))


#: Features are processed in blocks of this many lanes (one AVX-512 vector of doubles).
_FB = 8

#: Distinct point tests (feature, threshold) whose outcome over the points a window keeps.
_ZCACHE = 256

#: Node layouts a window keeps, in rows per training row (at least ``max_depth``, the room a
#: round needs; the pool starts afresh when a round might not fit).
_GBT_POOL = 24


@njit(inline="always", **_JIT)
def _gbt_lane(e, a, b, g, u, v, G, il, it):
    """One feature of :func:`_gbt_phase1` for one row.

    Adds the row's gradient ``g`` to the right-hand sum ``e`` and ranks the
    candidate just below it (estimate ``x``; -inf when the row's value ``v``
    equals the next row's ``u``) against the best ``a`` and second best ``b``.
    Selects only, so that eight calls side by side compile to vector code.
    """
    e = e + g
    d = G - e
    x = d * d * il + e * e * it
    y = x if u != v else -np.inf
    lo = y if y < a else a
    b = lo if lo > b else b
    a = y if y > a else a
    return e, a, b, x


@njit(**_JIT)
def _gbt_phase1(LG, LV, e, c, fb, G, inv, t_lo, t_hi, A, E, fm1, fm2):
    """Rank the candidate splits of one node for the features ``fb:fb + 8``.

    The node holds rows ``e - c:e`` of the layout. Right-hand sums run
    from the largest value down in xgboost's order of additions; ``E[t, f]``
    is the sum of the first ``t`` rows and ``A[t, f]`` a division-free
    estimate ``G_L^2/(H_L+lambda) + G_R^2/(H_R+lambda)`` of the gain of
    putting them on the right, for ``t_lo <= t <= t_hi``. ``fm1[f]`` and
    ``fm2[f]`` get the best and second best estimate among the candidates
    between two distinct values. Eight features side by side in straight-line
    code: loads, then arithmetic, then stores, which LLVM's SLP vectoriser
    turns into vector instructions (see :func:`gbt_fit_predict`).
    """
    ninf = -np.inf
    ue = np.uint64(e)
    uc = np.uint64(c)
    f0 = np.uint64(fb)
    f1 = f0 + np.uint64(1)
    f2 = f0 + np.uint64(2)
    f3 = f0 + np.uint64(3)
    f4 = f0 + np.uint64(4)
    f5 = f0 + np.uint64(5)
    f6 = f0 + np.uint64(6)
    f7 = f0 + np.uint64(7)
    e0 = e1 = e2 = e3 = e4 = e5 = e6 = e7 = 0.0
    a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = ninf
    b0 = b1 = b2 = b3 = b4 = b5 = b6 = b7 = ninf
    for tt in range(1, t_lo):
        # rows before the first admissible candidate (min_child_weight): sums only
        k = ue - np.uint64(tt)
        e0 += LG[k, f0]
        e1 += LG[k, f1]
        e2 += LG[k, f2]
        e3 += LG[k, f3]
        e4 += LG[k, f4]
        e5 += LG[k, f5]
        e6 += LG[k, f6]
        e7 += LG[k, f7]
    for tt in range(t_lo, t_hi + 1):
        t = np.uint64(tt)
        k = ue - t
        j = k - np.uint64(1)
        il = inv[uc - t]
        it = inv[t]
        e0, a0, b0, x0 = _gbt_lane(e0, a0, b0, LG[k, f0], LV[j, f0], LV[k, f0], G, il, it)
        e1, a1, b1, x1 = _gbt_lane(e1, a1, b1, LG[k, f1], LV[j, f1], LV[k, f1], G, il, it)
        e2, a2, b2, x2 = _gbt_lane(e2, a2, b2, LG[k, f2], LV[j, f2], LV[k, f2], G, il, it)
        e3, a3, b3, x3 = _gbt_lane(e3, a3, b3, LG[k, f3], LV[j, f3], LV[k, f3], G, il, it)
        e4, a4, b4, x4 = _gbt_lane(e4, a4, b4, LG[k, f4], LV[j, f4], LV[k, f4], G, il, it)
        e5, a5, b5, x5 = _gbt_lane(e5, a5, b5, LG[k, f5], LV[j, f5], LV[k, f5], G, il, it)
        e6, a6, b6, x6 = _gbt_lane(e6, a6, b6, LG[k, f6], LV[j, f6], LV[k, f6], G, il, it)
        e7, a7, b7, x7 = _gbt_lane(e7, a7, b7, LG[k, f7], LV[j, f7], LV[k, f7], G, il, it)
        A[t, f0] = x0
        A[t, f1] = x1
        A[t, f2] = x2
        A[t, f3] = x3
        A[t, f4] = x4
        A[t, f5] = x5
        A[t, f6] = x6
        A[t, f7] = x7
        E[t, f0] = e0
        E[t, f1] = e1
        E[t, f2] = e2
        E[t, f3] = e3
        E[t, f4] = e4
        E[t, f5] = e5
        E[t, f6] = e6
        E[t, f7] = e7
    fm1[f0] = a0
    fm1[f1] = a1
    fm1[f2] = a2
    fm1[f3] = a3
    fm1[f4] = a4
    fm1[f5] = a5
    fm1[f6] = a6
    fm1[f7] = a7
    fm2[f0] = b0
    fm2[f1] = b1
    fm2[f2] = b2
    fm2[f3] = b3
    fm2[f4] = b4
    fm2[f5] = b5
    fm2[f6] = b6
    fm2[f7] = b7


@njit(inline="always", **_JIT)
def _probe(keys, vals, key):
    """Look ``key`` up in an open-addressing table (linear probing).

    ``keys`` has a power-of-two size and holds ``_U64MAX`` in its free slots;
    returns the slot of ``key`` and its value in ``vals``, or the free slot
    where it belongs and -1.
    """
    mask = np.uint64(keys.shape[0] - 1)
    slot = np.int64(((key * _GOLDEN) >> _U32) & mask)
    while keys[slot] != _U64MAX:
        if keys[slot] == key:
            return slot, vals[slot]
        slot = np.int64((np.uint64(slot) + _U1) & mask)
    return slot, np.int64(-1)


@njit(inline="always", **_JIT)
def _gbt_gather(PLG, PLI, gd, k0, k1):
    """Gather the round's gradients of the layout rows ``k0:k1``: ``PLG[k, f] = gd[PLI[f, k]]``."""
    for f in range(PLI.shape[0]):
        uf = np.uint64(f)
        for kk in range(k0, k1):
            k = np.uint64(kk)
            PLG[k, uf] = gd[np.uint64(PLI[uf, k])]


@njit(**_JIT)
def _gbt_window(Xw, yw, Zw, out, n_rounds, eta, max_depth, lam, gamma, mcw, base, pool):
    """Boost ``n_rounds`` trees on one window, as xgboost's exact updater does.

    The layout differs from xgboost's (every node keeps its rows sorted by
    each feature, instead of one sorted column scanned with a node lookup per
    row), but every sum is accumulated in xgboost's order and every gain,
    weight and threshold is computed with its float/double arithmetic, so the
    trees are the same bit for bit.

    * Candidate splits are first ranked with a division-free double estimate
      of their gain, eight features at once (:func:`_gbt_phase1`); only those
      within a (generous) rounding margin of the best are then evaluated
      exactly and compared under xgboost's rules.
    * xgboost sums a node's gradients in row order. When a round's gradients
      span a narrow enough range of magnitudes, every partial sum is exact in
      double, so any order gives the same bits and a child's sum is taken
      from the split search; otherwise the rows are summed in row order.
    * A child's sorted rows depend only on its parent's and on the split, and
      boosted trees repeat most splits round after round: the layouts of a
      split's children are kept (memo by parent, feature and rows to the left)
      and reused, with the round's gradients gathered, instead of partitioning
      the parent again.
    * The points descend each tree through a complete-tree layout, one byte
      per point and node; the outcome of a test (feature, threshold) over the
      points is kept and reused by later trees (boosted trees repeat most of
      their splits).
    """
    n, p = Xw.shape
    m = Zw.shape[0]
    P = ((p + _FB - 1) // _FB) * _FB
    rt_eps = _XGB_RT_EPS
    half = np.float32(0.5)
    neg_inf = -np.inf
    # float32 features, transposed and flat: Xt[f * n + i], Zt[f * mp + i]; the points are
    # padded to a multiple of 64 so that their byte loops have no scalar remainder
    mp = ((m + 63) // 64) * 64
    Xt = np.empty(p * n, np.float32)
    for i in range(n):
        for f in range(p):
            Xt[f * n + i] = Xw[i, f]
    Zt = np.zeros(p * mp, np.float32)
    for i in range(m):
        for f in range(p):
            Zt[f * mp + i] = Zw[i, f]
    yf = np.empty(n, np.float32)
    for i in range(n):
        yf[i] = yw[i]
    # A node's layout: its rows sorted by each feature in xgboost's order (std::sort of
    # the column, then kept in that order), as row ids PLI[f, k], values PLV[k, f] and
    # gradients PLG[k, f] (features side by side for the vector code) over the pool rows
    # k of its entry, ent_off[q]:ent_off[q] + ent_cnt[q]. A child's layout depends only
    # on its parent's and on the split (feature, rows to the left), and boosted trees
    # split the same way round after round, so the children of a split seen before reuse
    # their entries (memo) and only gather the round's gradients. Entry 0 is the root.
    # Padding features (f >= p) hold equal values: never a candidate.
    pool_rows = max(pool, max_depth) * n  # room for a round's new layouts at least
    ent_max = max(2048, 4 * n + 1)
    PLI = np.zeros((p, pool_rows), np.uint32)
    PLV = np.zeros((pool_rows, P), np.float32)
    PLG = np.zeros((pool_rows, P), np.float64)
    ent_off = np.zeros(ent_max, np.int64)
    ent_cnt = np.zeros(ent_max, np.int64)
    memo_key = np.full(2 * ent_max, _U64MAX, np.uint64)   # (entry, feature, left rows)
    memo_val = np.zeros(2 * ent_max, np.int64)            # -> left child's entry (+1: right)
    sort_stack = np.empty((n + 1, 3), np.int64)
    sv = np.empty(n, np.float32)
    si = np.empty(n, np.int64)
    for f in range(p):
        for k in range(n):
            si[k] = k
            sv[k] = Xt[f * n + k]
        _cxx_sort(sv, si, sort_stack)
        for k in range(n):
            PLI[f, k] = si[k]
            PLV[k, f] = sv[k]
    ent_cnt[0] = n
    n_ent = 1
    pool_used = n

    # node capacity: a level holds at most n non-empty nodes, each splitting in two
    cap = 1
    width = 1
    for _ in range(max_depth):
        width = min(2 * width, 2 * n)
        cap += width
    sg = np.zeros(cap, np.float64)          # node gradient sum (row order)
    sh = np.zeros(cap, np.float64)          # node hessian sum (= rows)
    weight = np.zeros(cap, np.float32)      # node weight -G / (H + lambda)
    root_gain = np.zeros(cap, np.float32)
    b_loss = np.zeros(cap, np.float32)      # loss change of the node's split
    t_feat = np.zeros(cap, np.int64)
    t_cond = np.zeros(cap, np.float32)      # x < t_cond goes left
    t_left = np.zeros(cap, np.int64)        # -1 for a leaf; the right child is left + 1
    t_kid = np.zeros(cap, np.int64)         # left child before pruning (-1: none)
    t_leaf = np.zeros(cap, np.float32)
    t_depth = np.zeros(cap, np.int64)
    t_top = np.zeros(cap, np.int64)         # the leaf a node's rows end in after pruning
    node_ent = np.zeros(cap, np.int64)      # each node's layout entry
    b_nleft = np.zeros(cap, np.int64)
    qexp = np.empty(cap, np.int64)
    qnew = np.empty(cap, np.int64)

    pos = np.empty(n, np.int64)             # node of each row; -2 - leaf once in a finished leaf
    gd = np.empty(n, np.float64)            # float32 gradients, widened
    A = np.zeros((n + 1, P), np.float64)    # phase 1: each candidate's estimate,
    E = np.zeros((n + 1, P), np.float64)    # its right-hand sum,
    fm1 = np.zeros(P, np.float64)           # and per feature the best and second best
    fm2 = np.zeros(P, np.float64)
    inv = np.empty(n + 1, np.float64)       # 1 / (H + lambda) for integer H
    inv[0] = 0.0
    for h in range(1, n + 1):
        inv[h] = 1.0 / (h + lam)
    # rows needed on each side of a split for min_child_weight (H = rows)
    need = max(1, int(math.ceil(mcw)))
    pred = np.empty(n, np.float32)          # margins (float32, as xgboost's cache)
    for i in range(n):
        pred[i] = base
    predz = np.empty(m, np.float32)
    for i in range(m):
        predz[i] = base

    # points: complete-tree layout of each tree, and the kept outcomes of its tests
    hdepth = min(max_depth, _HEAP_DEPTH)
    hmax = max((1 << hdepth) - 1, 1)
    hn = np.zeros((1 << (hdepth + 1)) - 1, np.int64)
    h_thr = np.zeros(hmax, np.float32)
    h_row = np.zeros(hmax, np.int64)        # row of ZB with the node's outcomes
    h_leaf = np.zeros(1 << hdepth, np.float32)
    ZB = np.empty((_ZCACHE + hmax, mp), np.uint8)   # kept outcomes, then this tree's others
    zkey = np.full(2 * _ZCACHE, _U64MAX, np.uint64)
    zval = np.zeros(2 * _ZCACHE, np.int64)
    n_kept = 0
    thr32 = np.zeros(1, np.float32)
    thr_bits = thr32.view(np.uint32)
    zidx = np.zeros(mp, np.uint8)
    zbit = np.zeros(mp, np.uint8)
    node_of = np.empty(m, np.uint64)        # deeper trees: scalar descent
    c_child = np.zeros(cap, np.uint64)
    c_offz = np.zeros(cap, np.uint64)
    c_thr = np.zeros(cap, np.float32)

    for _round in range(n_rounds):
        G0 = 0.0
        sabs = 0.0
        gmin = np.inf
        for i in range(n):
            g = np.float64(pred[i] - yf[i])
            gd[i] = g
            G0 += g
            ag = abs(g)
            sabs += ag
            if ag > 0.0 and ag < gmin:
                gmin = ag
            pos[i] = 0
        # every partial sum of the gradients exact in double (see _EXACT_SUM_RATIO)?
        exact = sabs <= gmin * _EXACT_SUM_RATIO
        if pool_used + (max_depth - 1) * n > pool_rows or n_ent + 2 * n > ent_max:
            # room for a whole round of new layouts, or start the pool afresh
            n_ent = 1
            pool_used = n
            memo_key[:] = _U64MAX
        _gbt_gather(PLG, PLI, gd, 0, n)
        node_ent[0] = 0
        n_nodes = 1
        t_left[0] = -1
        t_kid[0] = -1
        t_depth[0] = 0
        nq = 1
        qexp[0] = 0
        H0 = np.float64(n)
        sg[0] = G0
        sh[0] = H0
        weight[0] = _xgb_weight(G0, H0, lam)
        root_gain[0] = _xgb_gain(G0, H0, lam)
        for depth in range(max_depth):
            nn = 0
            for j in range(nq):
                nid = qexp[j]
                ent = node_ent[nid]
                s = ent_off[ent]
                c = ent_cnt[ent]
                e = s + c
                G = sg[nid]
                rg = root_gain[nid]
                tail = c >= mcw and 0.0 >= mcw
                if c < 2.0 * mcw and not tail:
                    # no split can give both children min_child_weight: a leaf
                    b_loss[nid] = 0.0
                    t_leaf[nid] = weight[nid] * eta
                    b_nleft[j] = -1
                    for k in range(s, e):
                        pos[PLI[0, k]] = -2 - nid
                    continue
                # phase 1: estimates of every candidate (t = rows on the right)
                t_lo = need
                t_hi = c - need
                if tail:
                    t_hi = c - 1
                for fb in range(0, P, _FB):
                    _gbt_phase1(PLG, PLV, e, c, fb, G, inv, t_lo, t_hi, A, E, fm1, fm2)
                amax = neg_inf
                for f in range(p):
                    amax = max(amax, fm1[f])
                # phase 2: xgboost's float loss change for the candidates whose estimate
                # is within 4e-6 (relative) of the best -- float rounding moves a loss by
                # well under 1e-6 of these magnitudes -- in xgboost's order (features
                # ascending, values descending) and with its SplitEntry::Update rule
                if amax < 1e30:
                    thr = amax - 4e-6 * (abs(amax) + abs(np.float64(rg)))
                else:
                    thr = neg_inf
                bl = np.float32(0.0)
                bf = 0
                bv = np.float32(0.0)
                bnl = 0
                bes = 0.0
                for f in range(p):
                    if fm1[f] >= thr and fm1[f] > neg_inf:
                        # one candidate near the best in this feature unless the second
                        # best is near it too
                        single = fm2[f] < thr
                        for t in range(t_lo, t_hi + 1):
                            if A[t, f] >= thr:
                                k = e - t
                                if PLV[k - 1, f] != PLV[k, f]:
                                    egs = E[t, f]
                                    loss = (_xgb_gain(G - egs, c - t, lam)
                                            + _xgb_gain(egs, t, lam)) - rg
                                    if (loss > bl) if bf <= f else not (bl > loss):
                                        if not np.isinf(loss):
                                            bl = loss
                                            bf = f
                                            fvalue = PLV[k - 1, f]
                                            last = PLV[k, f]
                                            prop = (fvalue + last) * half
                                            bv = last if prop == fvalue else prop
                                            bnl = c - t
                                            bes = egs
                                    if single:
                                        break
                    if tail:
                        # every row on the right (possible only with min_child_weight <= 0)
                        egs = E[c - 1, f] + PLG[s, f]
                        loss = (_xgb_gain(G - egs, 0.0, lam) + _xgb_gain(egs, c, lam)) - rg
                        if (loss > bl) if bf <= f else not (bl > loss):
                            if not np.isinf(loss):
                                last = PLV[s, f]
                                bl = loss
                                bf = f
                                bv = last - (abs(last) + rt_eps)
                                bnl = 0
                                bes = egs
                b_loss[nid] = bl
                if bl > rt_eps:
                    lc = n_nodes
                    n_nodes += 2
                    t_feat[nid] = bf
                    t_cond[nid] = bv
                    t_left[nid] = lc
                    t_kid[nid] = lc
                    t_left[lc] = -1
                    t_kid[lc] = -1
                    t_depth[lc] = depth + 1
                    t_left[lc + 1] = -1
                    t_kid[lc + 1] = -1
                    t_depth[lc + 1] = depth + 1
                    qnew[nn] = lc
                    qnew[nn + 1] = lc + 1
                    b_nleft[j] = bnl
                    # x < split value is exactly the first bnl rows of the split feature
                    for k in range(s, s + bnl):
                        pos[PLI[bf, k]] = lc
                    for k in range(s + bnl, e):
                        pos[PLI[bf, k]] = lc + 1
                    sh[lc] = np.float64(bnl)
                    sh[lc + 1] = np.float64(c - bnl)
                    if exact:
                        sg[lc] = G - bes
                        sg[lc + 1] = bes
                    nn += 2
                else:
                    t_leaf[nid] = weight[nid] * eta
                    b_nleft[j] = -1
                    for k in range(s, e):
                        pos[PLI[0, k]] = -2 - nid
            # the children's layouts (after the last level they only become leaves)
            cc = 0
            for j in range(nq):
                bnl = b_nleft[j]
                if bnl < 0:
                    continue
                lc = qnew[cc]
                cc += 2
                if depth + 1 >= max_depth:
                    continue
                pid = qexp[j]
                ent = node_ent[pid]
                s = ent_off[ent]
                c = ent_cnt[ent]
                bf = t_feat[pid]
                key = np.uint64((ent * p + bf) * (n + 1) + bnl)
                slot, kid = _probe(memo_key, memo_val, key)
                if kid >= 0:
                    # seen before: the same rows in the same orders; this round's gradients
                    _gbt_gather(PLG, PLI, gd, ent_off[kid], ent_off[kid] + c)
                else:
                    # new: partition the parent's rows, feature by feature, keeping the order
                    kid = n_ent
                    n_ent += 2
                    o = pool_used
                    pool_used += c
                    ent_off[kid] = o
                    ent_cnt[kid] = bnl
                    ent_off[kid + 1] = o + bnl
                    ent_cnt[kid + 1] = c - bnl
                    memo_key[slot] = key
                    memo_val[slot] = kid
                    for f in range(p):
                        uf = np.uint64(f)
                        wl = np.uint64(o)
                        wr = np.uint64(o + bnl)
                        xo = uf * np.uint64(n)
                        for kk in range(s, s + c):
                            k = np.uint64(kk)
                            r = np.uint64(PLI[uf, k])
                            left = pos[r] == lc
                            dst = wl if left else wr
                            PLI[uf, dst] = r
                            PLV[dst, uf] = Xt[xo + r]
                            PLG[dst, uf] = gd[r]
                            wl += np.uint64(left)
                            wr += np.uint64(not left)
                node_ent[lc] = kid
                node_ent[lc + 1] = kid + 1
            nq = nn
            for j in range(nq):
                qexp[j] = qnew[j]
            if nq == 0:
                break
            if not exact:
                # InitNewNode: node sums in row order
                for j in range(nq):
                    sg[qexp[j]] = 0.0
                for i in range(n):
                    nid = pos[i]
                    if nid >= 0:
                        sg[nid] += gd[i]
            for j in range(nq):
                nid = qexp[j]
                weight[nid] = _xgb_weight(sg[nid], sh[nid], lam)
                root_gain[nid] = _xgb_gain(sg[nid], sh[nid], lam)
        for j in range(nq):
            nid = qexp[j]
            t_leaf[nid] = weight[nid] * eta
            b_loss[nid] = 0.0
        # prune: collapse, bottom-up, splits whose loss change is below gamma and whose
        # children are both leaves (children have larger ids than their parent)
        for nid in range(n_nodes - 1, -1, -1):
            lc = t_left[nid]
            if lc >= 0 and t_left[lc] < 0 and t_left[lc + 1] < 0 and b_loss[nid] < gamma:
                t_left[nid] = -1
                t_leaf[nid] = eta * weight[nid]
        # margins of the training rows: each row's leaf, or the pruned split above it
        # that became a leaf (top-down: parents have smaller ids than their children)
        dmax = 0
        t_top[0] = 0 if t_left[0] < 0 else -1
        for nid in range(n_nodes):
            lc = t_kid[nid]
            if lc >= 0:
                for ch in range(lc, lc + 2):
                    if t_top[nid] >= 0:
                        t_top[ch] = t_top[nid]
                    elif t_left[ch] < 0:
                        t_top[ch] = ch
                    else:
                        t_top[ch] = -1
            if t_top[nid] == nid and t_depth[nid] > dmax:
                dmax = t_depth[nid]
        for i in range(n):
            nid = pos[i]
            if nid < 0:
                nid = -2 - nid
            pred[i] += t_leaf[t_top[nid]]
        if dmax <= _HEAP_DEPTH:
            # the points descend the tree laid out as a complete binary tree (a leaf
            # above the bottom repeats itself, its test always false)
            hn[0] = 0
            first = (1 << dmax) - 1
            for h in range(first):
                nid = hn[h]
                lc = t_left[nid]
                if lc >= 0 and t_depth[nid] < dmax:
                    hn[2 * h + 1] = lc
                    hn[2 * h + 2] = lc + 1
                    f = t_feat[nid]
                    zthr = t_cond[nid]
                    h_thr[h] = zthr
                    # the test's outcome over the points: kept from an earlier tree,
                    # or computed (and kept while there is room)
                    thr32[0] = zthr
                    key = (np.uint64(f) << _U32) | np.uint64(thr_bits[0])
                    slot, row = _probe(zkey, zval, key)
                    if row < 0:
                        if n_kept < _ZCACHE:
                            row = n_kept
                            zkey[slot] = key
                            zval[slot] = row
                            n_kept += 1
                        else:
                            row = _ZCACHE + h
                        zf = Zt[f * mp:(f + 1) * mp]
                        zb = ZB[row]
                        for i in range(mp):
                            zb[i] = np.uint8(zf[i] >= zthr)
                    h_row[h] = row
                else:
                    hn[2 * h + 1] = nid
                    hn[2 * h + 2] = nid
                    h_thr[h] = np.float32(np.inf)
            for L in range(1 << dmax):
                h_leaf[L] = t_leaf[hn[first + L]]
            if dmax == 0:
                for i in range(mp):
                    zidx[i] = 0
            else:
                zb = ZB[h_row[0]]
                for i in range(mp):
                    zidx[i] = zb[i]
            for d in range(1, dmax):
                hb = (1 << d) - 1
                for i in range(mp):
                    zbit[i] = 0
                for k in range(1 << d):
                    if h_thr[hb + k] == np.float32(np.inf):
                        continue
                    zb = ZB[h_row[hb + k]]
                    kk = np.uint8(k)
                    for i in range(mp):
                        zbit[i] |= zb[i] & np.uint8(zidx[i] == kk)
                for i in range(mp):
                    zidx[i] = (zidx[i] << np.uint8(1)) | zbit[i]
            for i in range(m):
                predz[i] += h_leaf[zidx[i]]
        else:
            for nid in range(n_nodes):
                if t_left[nid] >= 0:
                    c_child[nid] = t_left[nid]
                    c_offz[nid] = t_feat[nid] * mp
                    c_thr[nid] = t_cond[nid]
                else:
                    c_child[nid] = nid
                    c_offz[nid] = 0
                    c_thr[nid] = np.float32(np.inf)
            for i in range(m):
                node_of[i] = 0
            for _d in range(dmax):
                for i in range(m):
                    nd = node_of[i]
                    zi = Zt[c_offz[nd] + np.uint64(i)]
                    node_of[i] = c_child[nd] + np.uint64(zi >= c_thr[nd])
            for i in range(m):
                predz[i] += t_leaf[node_of[i]]
    for i in range(m):
        out[i] = predz[i]


@njit(**_PJIT)
def _gbt_batch(X, y, train_ptr, Z, pred_ptr, n_rounds, eta, max_depth, lam, gamma, mcw,
               base, pool, out):
    n_windows = train_ptr.shape[0] - 1
    for b in prange(n_windows):
        a0 = train_ptr[b]
        a1 = train_ptr[b + 1]
        c0 = pred_ptr[b]
        c1 = pred_ptr[b + 1]
        if a1 - a0 < 2:
            for i in range(c0, c1):
                out[i] = np.nan
            continue
        _gbt_window(X[a0:a1], y[a0:a1], Z[c0:c1], out[c0:c1], n_rounds, eta, max_depth, lam,
                    gamma, mcw, base, pool)


_SLP_LOCK = threading.Lock()


def _call_slp(kernel, *args):
    """Call a numba kernel whose first call compiles it with LLVM's SLP vectoriser on.

    numba runs LLVM without the superword-level-parallelism vectoriser by
    default (``NUMBA_SLP_VECTORIZE=0``); :func:`_gbt_phase1`'s eight
    side-by-side lanes need it to become vector instructions (about 4x faster,
    same results: no fast-math). The switch is numba's process-wide
    ``config.SLP_VECTORIZE``, read when a function is compiled, so it is set
    under a lock for the first call only (which compiles the kernel or loads it
    from numba's cache); other code compiled meanwhile merely gets the extra
    optimisation pass.
    """
    if getattr(kernel, "signatures", True):  # compiled already, or plain Python (NUMBA_DISABLE_JIT)
        return kernel(*args)
    from numba.core import config

    with _SLP_LOCK:
        old = config.SLP_VECTORIZE
        config.SLP_VECTORIZE = 1
        try:
            return kernel(*args)
        finally:
            config.SLP_VECTORIZE = old


def gbt_fit_predict(X, y, train_ptr, Z, pred_ptr, n_rounds=100, eta=0.3, max_depth=6,
                    reg_lambda=1.0, gamma=0.0, min_child_weight=1.0, base_score=0.5,
                    _pool=_GBT_POOL):
    """Fit gradient-boosted trees per window and predict its points.

    Reproduces ``xgboost.XGBRegressor(tree_method="exact",
    objective="reg:squarederror", n_estimators=n_rounds, learning_rate=eta,
    max_depth=max_depth, reg_lambda=reg_lambda, gamma=gamma,
    min_child_weight=min_child_weight, base_score=base_score, n_jobs=1)`` (no
    row or column subsampling, ``reg_alpha=0``, ``max_delta_step=0``) fitted
    on each window, as xgboost 3.x computes it (equal to xgboost's predictions
    bit for bit in the tests, NaN-free data):

    * features, targets, margins and gradients are float32 (``g = pred - y``,
      hessian 1); node sums are float64, in xgboost's order;
    * trees grow level by level (``grow_colmaker``): each feature's rows are
      enumerated from the largest value down and a candidate between two
      distinct consecutive values ``a < b`` is evaluated when both sides have
      hessian sum ``>= min_child_weight``; its loss change is
      ``gain(G_L, H_L) + gain(G_R, H_R) - gain(G, H)`` with
      ``gain(G, H) = G^2 / (H + lambda)``, no factor 1/2 and no gamma, where
      xgboost evaluates ``gain`` as ``-(2 G w + (H + lambda) w^2)`` from the
      float weight ``w = -G / (H + lambda)``, each term rounded to float;
      the split value is ``(a + b) * 0.5f`` (``b`` if that rounds to ``a``)
      and ``x < value`` goes left; the best candidate wins (ties: the first
      one found, features in increasing order);
    * a node is split if its best loss change exceeds 1e-6, otherwise it is a
      leaf worth ``eta * w`` (float); nodes at ``max_depth`` are leaves;
    * then (``prune``) splits whose loss change is below ``gamma`` and whose
      children are both leaves are collapsed, bottom-up;
    * the margin starts at ``base_score`` and each tree's leaf value is added
      in float32.

    ``eta``, ``reg_lambda``, ``gamma`` and ``min_child_weight`` are rounded
    to float32 the way xgboost parses them from ``str(value)`` (see
    :func:`_xgb_param`), so pass the same Python numbers as to xgboost.

    Parameters
    ----------
    X, y, train_ptr, Z, pred_ptr : array_like
        The ragged batch (see the module docstring).
    n_rounds : int, default 100
        Number of boosting rounds (trees); 0 predicts ``base_score``.
    eta : float, default 0.3
        Learning rate.
    max_depth : int, default 6
        Maximum tree depth (>= 1; the exact updater has no unlimited depth).
    reg_lambda : float, default 1.0
        L2 regularisation of leaf weights (>= 0).
    gamma : float, default 0.0
        Minimum loss reduction to keep a split (``min_split_loss``, >= 0).
    min_child_weight : float, default 1.0
        Minimum hessian sum, i.e. number of rows, in each child (>= 0).
    base_score : float, default 0.5
        Initial margin.
    _pool : int, default ``_GBT_POOL``
        Kept node layouts per window, in rows per training row (performance
        only; tests lower it to exercise the pool's restarts).

    Returns
    -------
    numpy.ndarray
        float64 (N_pred_total,) predictions (float32 values); NaN for windows
        with fewer than two training rows and for rows of ``Z`` outside every
        window.
    """
    X, y, train_ptr, Z, pred_ptr = _as_batch(X, y, train_ptr, Z, pred_ptr)
    if max_depth < 1:
        raise ValueError("the exact updater needs max_depth >= 1")
    if n_rounds < 0:
        raise ValueError("n_rounds must be >= 0")
    if min(float(eta), float(reg_lambda), float(gamma), float(min_child_weight)) < 0:
        raise ValueError("eta, reg_lambda, gamma and min_child_weight must be >= 0")
    out = np.full(Z.shape[0], np.nan)
    _call_slp(_gbt_batch, X, y, train_ptr, Z, pred_ptr, int(n_rounds), _xgb_param(eta),
              int(max_depth), float(_xgb_param(reg_lambda)), _xgb_param(gamma),
              float(_xgb_param(min_child_weight)), np.float32(base_score), int(_pool), out)
    return out
