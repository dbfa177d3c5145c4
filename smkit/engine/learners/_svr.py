"""Batched, numba-compiled RBF support vector regression for many tiny windows.

The downscaling engine fits one small model per *window* (a few tens to a few
hundred training samples, a handful of covariates) and predicts the fine
pixels of the window's centre cell. :func:`svr_fit_predict` fits and predicts
a whole ragged batch of windows (the layout of :mod:`smkit.engine.learners._trees`: training
rows ``X[ptr[b]:ptr[b+1]]``, prediction rows ``Z[zptr[b]:zptr[b+1]]``) in one
compiled call, one window per task of a ``numba.prange`` loop.

What it reproduces
------------------
For every window, the reference estimator of :func:`smkit.engine.learners.make_estimator`::

    make_pipeline(StandardScaler(), SVR(kernel="rbf", C=C, epsilon=epsilon, gamma=gamma))

fitted on the window's rows and applied to its prediction rows, following
scikit-learn's code (its bundled libsvm) operation for operation:

1. Standardisation as ``StandardScaler``: column mean, population variance
   by the corrected two-pass algorithm, a column whose variance is within
   rounding error of zero (scikit-learn's ``_is_constant_feature`` bound) gets
   scale 1 and is only centred. A static covariate such as elevation can be
   constant within a window.
2. ``gamma="scale"`` (passed as ``-1``): ``1 / (p * Xs.var())`` over all
   entries of the *standardised* training matrix, summed with numpy's
   pairwise summation; 1.0 if that variance is zero.
3. The kernel matrix ``K_ij = exp(-gamma * (|x_i|^2 + |x_j|^2 - 2 x_i.x_j))``
   is computed once per window and stored in float32, as libsvm's kernel
   cache (``Qfloat``) stores it; the diagonal stays in float64.
4. The epsilon-SVR dual, written as libsvm writes it: 2n variables
   ``alpha = (alpha+, alpha-)`` with labels +1/-1, linear term
   ``epsilon -/+ y``, box ``[0, C]`` and one equality constraint, solved by
   SMO with the second-order working-set selection WSS3 of Fan, Chen & Lin
   (2005) (``TAU = 1e-12`` for non-positive curvature), libsvm's clipping of
   the two-variable update, its shrinking heuristic (a shrink pass every
   ``min(2n, 1000)`` iterations, gradient reconstruction from ``G_bar``,
   un-shrinking once the violation falls below ``10 * tol``) and its
   stopping rule (maximal violation ``< tol``, scikit-learn's ``tol``,
   default 1e-3).
5. The intercept as libsvm's ``calculate_rho``: the mean of ``y_i G_i`` over
   free variables, or the midpoint of the bounds when none is free.
6. Predictions ``sum_i (alpha+_i - alpha-_i) K(z, x_i) - rho`` over the
   support vectors in index order, with ``z`` standardised by the window's
   scaler and ``|z - x_i|^2`` summed as libsvm's ``k_function`` sums it. The
   exponential alone differs: a vectorisable polynomial (:func:`_exp_nonpos`,
   within one ulp of libm's) instead of one libm call per (row, support
   vector) pair, which would dominate the cost.

Because the iterations follow libsvm's, the fitted models normally agree with
scikit-learn's to rounding error (same iteration count, predictions within
~1e-14), not just to the solver tolerance. Differences could only come from
floating-point details out of our hands: libsvm takes its dot products from
BLAS ``ddot``, which OpenBLAS on x86-64 sums sequentially for fewer than 16
elements, as here; another BLAS, or many more covariates, could change a last
bit of a float32 kernel entry and, rarely, one working-set choice. Two runs
that take different paths still both meet the stopping rule, but that only
bounds their difference by the order of ``tol``: with noisy targets, merely
permuting a window's rows moves predictions by up to ~2e-3 at ``tol=1e-3``
(~6e-8 at ``tol=1e-8``).

All kernels are compiled with ``cache=True``; the first call in a fresh
environment compiles them (about half a minute; the solver is split into
small functions that mirror libsvm's). Indicative single-core cost for a
window of 50 samples x 5 covariates with 625 points to predict (``C=1``,
``epsilon=0.01``, ``gamma="scale"``): about 0.25 ms, half of it the SMO
solver and half the predictions, against about 5 ms for one scikit-learn
pipeline per window (measured in CPU time on a shared 2-core machine: 3800 to
4400 against 170 to 225 windows per second, about 20 times faster).
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np
from numba import njit, prange

__all__ = ["svr_fit_predict"]

_JIT = dict(cache=True, nogil=True, error_model="numpy")
_PJIT = dict(cache=True, nogil=True, parallel=True, error_model="numpy")

# libsvm's alpha_status values and its curvature floor (svm.cpp)
_LOWER = 0
_UPPER = 1
_FREE = 2
_TAU = 1e-12
_EPS64 = float(np.finfo(np.float64).eps)
# numpy's pairwise-summation block (PW_BLOCKSIZE in loops_utils.h)
_PW_BLOCK = 128

# exp(x), x <= 0, for the predictions (see _exp_nonpos): x = k ln2 + r, |r| <= ln2 / 2
_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01  # fdlibm's split of ln 2: k * _LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10
_SHIFTER = 6755399441055744.0  # 1.5 * 2**52: v + _SHIFTER holds round(v) in its low bits
_SHIFTER_BITS = int(np.array(_SHIFTER).view(np.int64))
_EXP_MIN = -708.0  # 2**k stays a normal float64 down to here; below, exp (< 3e-308) is 0
_EXP_TAYLOR = tuple(1.0 / math.factorial(k) for k in range(13, -1, -1))  # 1/13!, ..., 1/0!


# --------------------------------------------------------------------------------------
# standardisation and gamma, as StandardScaler and SVR(gamma="scale") compute them
# --------------------------------------------------------------------------------------


@njit(**_JIT)
def _pairwise_block(a, lo, n):
    """Sum ``a[lo:lo + n]``, at most ``_PW_BLOCK`` values, as numpy's unrolled block sum."""
    if n < 8:
        res = 0.0
        for i in range(lo, lo + n):
            res += a[i]
        return res
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    i = 8
    while i < n - n % 8:
        k = lo + i
        r0 += a[k]
        r1 += a[k + 1]
        r2 += a[k + 2]
        r3 += a[k + 3]
        r4 += a[k + 4]
        r5 += a[k + 5]
        r6 += a[k + 6]
        r7 += a[k + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[lo + i]
        i += 1
    return res


@njit(**_JIT)
def _pairwise_sum(a):
    """Sum of a contiguous 1-D array in numpy's pairwise order (what ``np.sum`` returns).

    numpy splits a range longer than ``_PW_BLOCK`` at ``n // 2`` rounded down
    to a multiple of 8 and adds the sums of the halves. The recursion is
    unrolled onto an explicit stack (numba's on-disk cache does not handle
    recursive functions reliably): a task is a range to sum, or (``n < 0``)
    the addition of the two partial sums on top of the value stack.
    """
    depth = 64  # ample: each split at least halves the range
    t_lo = np.empty(depth, np.int64)
    t_n = np.empty(depth, np.int64)
    vals = np.empty(depth)
    nt = 1
    nv = 0
    t_lo[0] = 0
    t_n[0] = a.shape[0]
    while nt > 0:
        nt -= 1
        lo = t_lo[nt]
        n = t_n[nt]
        if n < 0:
            nv -= 1
            vals[nv - 1] = vals[nv - 1] + vals[nv]
        elif n <= _PW_BLOCK:
            vals[nv] = _pairwise_block(a, lo, n)
            nv += 1
        else:
            n2 = n // 2
            n2 -= n2 % 8
            t_n[nt] = -1  # add the halves once both are on the value stack
            t_lo[nt + 1] = lo + n2
            t_n[nt + 1] = n - n2
            t_lo[nt + 2] = lo
            t_n[nt + 2] = n2
            nt += 3
    return vals[0]


@njit(**_JIT)
def _standardise(Xw, mean, scale, Xs):
    """Fit ``StandardScaler`` on ``Xw`` (into ``mean``, ``scale``); write the scaled rows to ``Xs``.

    Mirrors ``sklearn.utils.extmath._incremental_mean_and_var`` on a first
    call (column sums in row order, corrected two-pass variance) and
    ``_is_constant_feature`` / ``_handle_zeros_in_scale``.
    """
    n, p = Xw.shape
    nf = float(n)
    for f in range(p):
        s = 0.0
        for i in range(n):
            s += Xw[i, f]
        m = s / nf
        corr = 0.0
        sq = 0.0
        for i in range(n):
            d = Xw[i, f] - m
            corr += d
            sq += d * d
        var = (sq - corr**2 / nf) / nf
        bound = nf * _EPS64 * var + (nf * m * _EPS64) ** 2
        mean[f] = m
        scale[f] = 1.0 if var <= bound else math.sqrt(var)
    for i in range(n):
        for f in range(p):
            Xs[i, f] = (Xw[i, f] - mean[f]) / scale[f]


@njit(**_JIT)
def _gamma_scale(Xs):
    """``1 / (p * Xs.var())`` as ``SVR(gamma="scale")`` computes it (1.0 for zero variance)."""
    n, p = Xs.shape
    N = n * p
    flat = Xs.reshape(N)
    m = _pairwise_sum(flat) / N
    dev = np.empty(N)
    for k in range(N):
        d = flat[k] - m
        dev[k] = d * d
    var = _pairwise_sum(dev) / N
    if var == 0.0:
        return 1.0
    return 1.0 / (p * var)


@njit(**_JIT)
def _rbf_gram(Xs, gamma, K, QD):
    """Compute libsvm's training kernel: float32 ``K`` (``Qfloat``) and float64 diagonal ``QD``.

    ``exp(-gamma * (|x_i|^2 + |x_j|^2 - 2 x_i.x_j))`` with sequential dot
    products, as libsvm's dense ``Kernel::kernel_rbf`` over a BLAS ``ddot``.
    """
    n, p = Xs.shape
    xsq = np.empty(n)
    for i in range(n):
        s = 0.0
        for f in range(p):
            s += Xs[i, f] * Xs[i, f]
        xsq[i] = s
    for i in range(n):
        for j in range(i + 1):
            s = 0.0
            for f in range(p):
                s += Xs[i, f] * Xs[j, f]
            v = math.exp(-gamma * (xsq[i] + xsq[j] - 2.0 * s))
            K[i, j] = np.float32(v)
            K[j, i] = K[i, j]
            if i == j:
                QD[i] = v


@njit(**_JIT)
def _exp_taylor(r):
    """exp(r) for |r| <= ln2 / 2: Taylor polynomial of degree 13 by Horner's rule.

    The truncation error, r**14 / 14!, is below 5e-18 relative: the result is
    within about one ulp of the correctly rounded value.
    """
    c13, c12, c11, c10, c9, c8, c7, c6, c5, c4, c3, c2, c1, c0 = _EXP_TAYLOR
    p = c13
    p = p * r + c12
    p = p * r + c11
    p = p * r + c10
    p = p * r + c9
    p = p * r + c8
    p = p * r + c7
    p = p * r + c6
    p = p * r + c5
    p = p * r + c4
    p = p * r + c3
    p = p * r + c2
    p = p * r + c1
    return p * r + c0


@njit(**_JIT)
def _exp_nonpos(x, out, work):
    """``out = exp(x)`` for ``x <= 0``, in loops the compiler can vectorise.

    ``math.exp`` is a scalar libm call (numba has no vector math library
    here) and would dominate the cost of the predictions: each window
    evaluates its kernel at every (prediction row, support vector) pair. Here
    ``x = k ln2 + r`` with ``k = round(x / ln2)`` (rounded by adding
    ``_SHIFTER``, which leaves ``k`` in the low mantissa bits), ``exp(r)`` is
    :func:`_exp_taylor` and ``2**k`` is assembled in the exponent bits.
    Within one ulp of libm's exp; ``exp(x) = 0`` for ``x < -708`` (true value
    below 3e-308), so that ``2**k`` stays a normal number. ``work`` is
    scratch space of the length of ``x``.
    """
    n = x.shape[0]
    for s in range(n):
        v = max(x[s], _EXP_MIN)
        kt = v * _LOG2E + _SHIFTER
        k = kt - _SHIFTER
        r = (v - k * _LN2_HI) - k * _LN2_LO
        out[s] = _exp_taylor(r)
        work[s] = kt
    bits = work.view(np.int64)
    for s in range(n):
        bits[s] = (bits[s] - _SHIFTER_BITS + 1023) << 52  # the float64 2**k
    for s in range(n):
        out[s] = out[s] * work[s] if x[s] >= _EXP_MIN else 0.0


# --------------------------------------------------------------------------------------
# libsvm's Solver (SMO, WSS3, shrinking) for the epsilon-SVR dual
# --------------------------------------------------------------------------------------
#
# Variables t = 0..2n-1 live in libsvm's permuted order (shrinking swaps them);
# idx[t] is the training row of variable t and sgn[t] its label (+1 for alpha+,
# -1 for alpha-), so that Q_tu = sgn[t] sgn[u] K[idx[t], idx[u]].


@njit(**_JIT)
def _status(a, C):
    if a >= C:
        return _UPPER
    if a <= 0.0:
        return _LOWER
    return _FREE


@njit(**_JIT)
def _q_row(K, sgn, idx, i, length, out):
    """Row ``i`` of Q over the first ``length`` variables (libsvm's ``get_Q``)."""
    si = sgn[i]
    ri = idx[i]
    for k in range(length):
        out[k] = si * sgn[k] * np.float64(K[ri, idx[k]])


@njit(**_JIT)
def _swap(a, b, sgn, idx, QD, G, G_bar, alpha, status, lin, active_set):
    """Swap variables ``a`` and ``b`` (libsvm's ``Solver::swap_index``, ``SVR_Q::swap_index``)."""
    sgn[a], sgn[b] = sgn[b], sgn[a]
    idx[a], idx[b] = idx[b], idx[a]
    QD[a], QD[b] = QD[b], QD[a]
    G[a], G[b] = G[b], G[a]
    G_bar[a], G_bar[b] = G_bar[b], G_bar[a]
    alpha[a], alpha[b] = alpha[b], alpha[a]
    status[a], status[b] = status[b], status[a]
    lin[a], lin[b] = lin[b], lin[a]
    active_set[a], active_set[b] = active_set[b], active_set[a]


@njit(**_JIT)
def _reconstruct_gradient(K, sgn, idx, G, G_bar, alpha, status, lin, active, n_var, buf):
    """Gradient of the shrunk variables from ``G_bar`` and the free ones (libsvm's order)."""
    if active == n_var:
        return
    for j in range(active, n_var):
        G[j] = G_bar[j] + lin[j]
    nr_free = 0
    for j in range(active):
        if status[j] == _FREE:
            nr_free += 1
    if nr_free * n_var > 2 * active * (n_var - active):
        for i in range(active, n_var):
            _q_row(K, sgn, idx, i, active, buf)
            for j in range(active):
                if status[j] == _FREE:
                    G[i] += alpha[j] * buf[j]
    else:
        for i in range(active):
            if status[i] == _FREE:
                _q_row(K, sgn, idx, i, n_var, buf)
                a = alpha[i]
                for j in range(active, n_var):
                    G[j] += a * buf[j]


@njit(**_JIT)
def _select_working_set(K, sgn, idx, QD, G, status, active, tol, Qi):
    """WSS3 (second-order) working set; ``(-1, -1)`` when the violation is below ``tol``.

    Leaves row ``i`` of Q in ``Qi`` (over the active variables).
    """
    Gmax = -np.inf
    Gmax2 = -np.inf
    Gmax_idx = -1
    Gmin_idx = -1
    obj_diff_min = np.inf
    for t in range(active):
        if sgn[t] > 0.0:
            if status[t] != _UPPER and -G[t] >= Gmax:
                Gmax = -G[t]
                Gmax_idx = t
        else:
            if status[t] != _LOWER and G[t] >= Gmax:
                Gmax = G[t]
                Gmax_idx = t
    i = Gmax_idx
    if i == -1:
        return -1, -1
    _q_row(K, sgn, idx, i, active, Qi)
    yi = sgn[i]
    for j in range(active):
        if sgn[j] > 0.0:
            if status[j] != _LOWER:
                grad_diff = Gmax + G[j]
                if G[j] >= Gmax2:
                    Gmax2 = G[j]
                if grad_diff > 0.0:
                    quad = QD[i] + QD[j] - 2.0 * yi * Qi[j]
                    if quad > 0.0:
                        obj_diff = -(grad_diff * grad_diff) / quad
                    else:
                        obj_diff = -(grad_diff * grad_diff) / _TAU
                    if obj_diff <= obj_diff_min:
                        Gmin_idx = j
                        obj_diff_min = obj_diff
        else:
            if status[j] != _UPPER:
                grad_diff = Gmax - G[j]
                if -G[j] >= Gmax2:
                    Gmax2 = -G[j]
                if grad_diff > 0.0:
                    quad = QD[i] + QD[j] + 2.0 * yi * Qi[j]
                    if quad > 0.0:
                        obj_diff = -(grad_diff * grad_diff) / quad
                    else:
                        obj_diff = -(grad_diff * grad_diff) / _TAU
                    if obj_diff <= obj_diff_min:
                        Gmin_idx = j
                        obj_diff_min = obj_diff
    if Gmax + Gmax2 < tol or Gmin_idx == -1:
        return -1, -1
    return Gmax_idx, Gmin_idx


@njit(**_JIT)
def _be_shrunk(t, sgn, G, status, Gmax1, Gmax2):
    if status[t] == _UPPER:
        if sgn[t] > 0.0:
            return -G[t] > Gmax1
        return -G[t] > Gmax2
    if status[t] == _LOWER:
        if sgn[t] > 0.0:
            return G[t] > Gmax2
        return G[t] > Gmax1
    return False


@njit(**_JIT)
def _do_shrinking(K, sgn, idx, QD, G, G_bar, alpha, status, lin, active_set, active, n_var,
                  tol, unshrink, buf):
    """Shrink the active set as libsvm's ``do_shrinking``; return active size and ``unshrink``."""
    Gmax1 = -np.inf  # max { -y_t G_t | t in I_up }
    Gmax2 = -np.inf  # max {  y_t G_t | t in I_low }
    for t in range(active):
        if sgn[t] > 0.0:
            if status[t] != _UPPER and -G[t] >= Gmax1:
                Gmax1 = -G[t]
            if status[t] != _LOWER and G[t] >= Gmax2:
                Gmax2 = G[t]
        else:
            if status[t] != _UPPER and -G[t] >= Gmax2:
                Gmax2 = -G[t]
            if status[t] != _LOWER and G[t] >= Gmax1:
                Gmax1 = G[t]
    if not unshrink and Gmax1 + Gmax2 <= tol * 10.0:
        unshrink = True
        _reconstruct_gradient(K, sgn, idx, G, G_bar, alpha, status, lin, active, n_var, buf)
        active = n_var
    t = 0
    while t < active:
        if _be_shrunk(t, sgn, G, status, Gmax1, Gmax2):
            active -= 1
            while active > t:
                if not _be_shrunk(active, sgn, G, status, Gmax1, Gmax2):
                    _swap(t, active, sgn, idx, QD, G, G_bar, alpha, status, lin, active_set)
                    break
                active -= 1
        t += 1
    return active, unshrink


@njit(**_JIT)
def _calculate_rho(sgn, G, status, active):
    """Intercept as libsvm's ``calculate_rho``: mean ``y G`` over free variables, else midpoint."""
    nr_free = 0
    ub = np.inf
    lb = -np.inf
    sum_free = 0.0
    for t in range(active):
        yG = sgn[t] * G[t]
        if status[t] == _UPPER:
            if sgn[t] < 0.0:
                ub = min(ub, yG)
            else:
                lb = max(lb, yG)
        elif status[t] == _LOWER:
            if sgn[t] > 0.0:
                ub = min(ub, yG)
            else:
                lb = max(lb, yG)
        else:
            nr_free += 1
            sum_free += yG
    if nr_free > 0:
        return sum_free / nr_free
    return (ub + lb) / 2.0


@njit(**_JIT)
def _solve_epsilon_svr(K, QD_rows, yw, C, epsilon, tol, shrinking, max_iter, coef):
    """Solve the epsilon-SVR dual of one window as libsvm does.

    Writes ``alpha+ - alpha-`` of every training row to ``coef`` and returns
    ``(rho, n_iter)``; the model is ``f(x) = sum_i coef_i K(x_i, x) - rho``.
    ``max_iter < 0`` means no limit; a run stopped by ``max_iter`` returns
    ``n_iter == max_iter`` (its rho over the then active variables, as
    scikit-learn's libsvm).
    """
    n = yw.shape[0]
    n_var = 2 * n
    sgn = np.empty(n_var)
    idx = np.empty(n_var, np.int64)
    QD = np.empty(n_var)
    lin = np.empty(n_var)
    for k in range(n):
        sgn[k] = 1.0
        sgn[k + n] = -1.0
        idx[k] = k
        idx[k + n] = k
        QD[k] = QD_rows[k]
        QD[k + n] = QD_rows[k]
        lin[k] = epsilon - yw[k]
        lin[k + n] = epsilon + yw[k]
    alpha = np.zeros(n_var)
    status = np.full(n_var, _LOWER, np.int8)
    active_set = np.arange(n_var)
    G = lin.copy()  # all alphas start at 0: G = linear term, G_bar = 0
    G_bar = np.zeros(n_var)
    Qi = np.empty(n_var)
    Qj = np.empty(n_var)

    active = n_var
    unshrink = False
    n_iter = 0
    counter = min(n_var, 1000) + 1
    while True:
        if max_iter >= 0 and n_iter >= max_iter:
            break
        counter -= 1
        if counter == 0:
            counter = min(n_var, 1000)
            if shrinking:
                active, unshrink = _do_shrinking(K, sgn, idx, QD, G, G_bar, alpha, status, lin,
                                                 active_set, active, n_var, tol, unshrink, Qj)
        i, j = _select_working_set(K, sgn, idx, QD, G, status, active, tol, Qi)
        if i < 0:
            _reconstruct_gradient(K, sgn, idx, G, G_bar, alpha, status, lin, active, n_var, Qj)
            active = n_var
            i, j = _select_working_set(K, sgn, idx, QD, G, status, active, tol, Qi)
            if i < 0:
                break
            counter = 1  # shrink at the next iteration
        n_iter += 1

        # two-variable update, clipped to the box as libsvm clips it (Qi holds row i)
        _q_row(K, sgn, idx, j, active, Qj)
        old_ai = alpha[i]
        old_aj = alpha[j]
        if sgn[i] != sgn[j]:
            quad = QD[i] + QD[j] + 2.0 * Qi[j]
            if quad <= 0.0:
                quad = _TAU
            delta = (-G[i] - G[j]) / quad
            diff = alpha[i] - alpha[j]
            alpha[i] += delta
            alpha[j] += delta
            if diff > 0.0:
                if alpha[j] < 0.0:
                    alpha[j] = 0.0
                    alpha[i] = diff
            else:
                if alpha[i] < 0.0:
                    alpha[i] = 0.0
                    alpha[j] = -diff
            if diff > 0.0:  # C_i - C_j == 0: every variable has the same bound
                if alpha[i] > C:
                    alpha[i] = C
                    alpha[j] = C - diff
            else:
                if alpha[j] > C:
                    alpha[j] = C
                    alpha[i] = C + diff
        else:
            quad = QD[i] + QD[j] - 2.0 * Qi[j]
            if quad <= 0.0:
                quad = _TAU
            delta = (G[i] - G[j]) / quad
            total = alpha[i] + alpha[j]
            alpha[i] -= delta
            alpha[j] += delta
            if total > C:
                if alpha[i] > C:
                    alpha[i] = C
                    alpha[j] = total - C
            else:
                if alpha[j] < 0.0:
                    alpha[j] = 0.0
                    alpha[i] = total
            if total > C:
                if alpha[j] > C:
                    alpha[j] = C
                    alpha[i] = total - C
            else:
                if alpha[i] < 0.0:
                    alpha[i] = 0.0
                    alpha[j] = total

        dai = alpha[i] - old_ai
        daj = alpha[j] - old_aj
        for k in range(active):
            G[k] += Qi[k] * dai + Qj[k] * daj

        # statuses, and G_bar for variables entering or leaving the upper bound
        ui = status[i] == _UPPER
        uj = status[j] == _UPPER
        status[i] = _status(alpha[i], C)
        status[j] = _status(alpha[j], C)
        if ui != (status[i] == _UPPER):
            _q_row(K, sgn, idx, i, n_var, Qi)
            if ui:
                for k in range(n_var):
                    G_bar[k] -= C * Qi[k]
            else:
                for k in range(n_var):
                    G_bar[k] += C * Qi[k]
        if uj != (status[j] == _UPPER):
            _q_row(K, sgn, idx, j, n_var, Qj)
            if uj:
                for k in range(n_var):
                    G_bar[k] -= C * Qj[k]
            else:
                for k in range(n_var):
                    G_bar[k] += C * Qj[k]

    rho = _calculate_rho(sgn, G, status, active)
    full = np.empty(n_var)
    for t in range(n_var):
        full[active_set[t]] = alpha[t]
    for k in range(n):
        coef[k] = full[k] - full[k + n]
    return rho, n_iter


# --------------------------------------------------------------------------------------
# one window, and the batch
# --------------------------------------------------------------------------------------


@njit(**_JIT)
def _svr_window(Xw, yw, Zw, out, C, epsilon, gamma, tol, shrinking, max_iter):
    """Fit the scaler + SVR pipeline on one window, predict ``Zw`` into ``out``; return n_iter."""
    n, p = Xw.shape
    mean = np.empty(p)
    scale = np.empty(p)
    Xs = np.empty((n, p))
    _standardise(Xw, mean, scale, Xs)
    g = _gamma_scale(Xs) if gamma < 0.0 else gamma
    K = np.empty((n, n), np.float32)
    QD = np.empty(n)
    _rbf_gram(Xs, g, K, QD)
    coef = np.empty(n)
    rho, n_iter = _solve_epsilon_svr(K, QD, yw, C, epsilon, tol, shrinking, max_iter, coef)

    # f(z) = sum over support vectors (coef != 0, in row order, as libsvm stores them) of
    # coef_s exp(-g |z - x_s|^2), minus rho. Loops run over the prediction rows (long and
    # vectorisable); every row still sums its terms in libsvm's order.
    m = Zw.shape[0]
    zT = np.empty((p, m))
    for r in range(m):
        for f in range(p):
            zT[f, r] = (Zw[r, f] - mean[f]) / scale[f]
    acc = np.zeros(m)
    arg = np.empty(m)
    ker = np.empty(m)
    work = np.empty(m)
    for s in range(n):
        cs = coef[s]
        if cs == 0.0:
            continue
        arg[:] = 0.0
        for f in range(p):
            xf = Xs[s, f]
            for r in range(m):
                d = zT[f, r] - xf
                arg[r] += d * d
        for r in range(m):
            arg[r] = -g * arg[r]
        _exp_nonpos(arg, ker, work)
        for r in range(m):
            acc[r] += cs * ker[r]
    for r in range(m):
        out[r] = acc[r] - rho
    return n_iter


@njit(**_PJIT)
def _svr_batch(X, y, ptr, Z, zptr, C, epsilon, gamma, tol, shrinking, max_iter, out, n_iter):
    n_windows = ptr.shape[0] - 1
    for b in prange(n_windows):
        a0 = ptr[b]
        a1 = ptr[b + 1]
        c0 = zptr[b]
        c1 = zptr[b + 1]
        n_iter[b] = 0
        if a1 - a0 < 2:
            for r in range(c0, c1):
                out[r] = np.nan
            continue
        if c1 == c0:  # nothing to predict: skip the fit
            continue
        n_iter[b] = _svr_window(X[a0:a1], y[a0:a1], Z[c0:c1], out[c0:c1], C, epsilon, gamma,
                                tol, shrinking, max_iter)


# --------------------------------------------------------------------------------------
# public entry point
# --------------------------------------------------------------------------------------


def _check_batch(X, y, ptr, Z, zptr):
    """Validate and normalise the ragged batch (see the module docstring)."""
    X = np.ascontiguousarray(X, dtype=np.float64)
    Z = np.ascontiguousarray(Z, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64)
    ptr = np.ascontiguousarray(ptr)
    zptr = np.ascontiguousarray(zptr)
    if X.ndim != 2 or Z.ndim != 2:
        raise ValueError(
            f"X and Z must be 2-D (rows, features); got shapes {X.shape} and {Z.shape}")
    if X.shape[1] != Z.shape[1]:
        raise ValueError(f"X has {X.shape[1]} features but Z has {Z.shape[1]}")
    if X.shape[1] == 0:
        raise ValueError("X and Z need at least one feature (column)")
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise ValueError(
            f"y must be 1-D with one value per row of X ({X.shape[0]}); got shape {y.shape}")
    for name, a in (("ptr", ptr), ("zptr", zptr)):
        if a.ndim != 1 or a.shape[0] < 1 or not np.issubdtype(a.dtype, np.integer):
            raise ValueError(f"{name} must be a 1-D integer array of B + 1 offsets")
    if ptr.shape != zptr.shape:
        raise ValueError(
            f"ptr and zptr must both have B + 1 entries; got {ptr.shape[0]} and {zptr.shape[0]}")
    for name, a, rows in (("ptr", ptr, X.shape[0]), ("zptr", zptr, Z.shape[0])):
        if a[0] < 0 or a[-1] > rows or np.any(np.diff(a) < 0):
            raise ValueError(f"{name} must be non-decreasing offsets within [0, {rows}]")
    for name, a in (("X", X), ("y", y), ("Z", Z)):
        if not np.isfinite(a).all():
            raise ValueError(f"{name} has NaN or infinite values; drop or fill them before fitting")
    return X, y, ptr.astype(np.int64), Z, zptr.astype(np.int64)


def svr_fit_predict(X, y, ptr, Z, zptr, C=1.0, epsilon=0.1, gamma=-1.0, *, tol=1e-3,
                    shrinking=True, max_iter=-1, return_n_iter=False):
    """Fit a standardised RBF support vector regression per window and predict its points.

    For every window ``b`` this is ``make_pipeline(StandardScaler(),
    SVR(kernel="rbf", C=C, epsilon=epsilon, gamma=gamma, tol=tol,
    shrinking=shrinking, max_iter=max_iter))`` fitted on ``X[ptr[b]:ptr[b+1]]``,
    ``y[ptr[b]:ptr[b+1]]`` and applied to ``Z[zptr[b]:zptr[b+1]]``, with
    libsvm's solver reproduced step by step (see the module docstring).

    Parameters
    ----------
    X : array_like, float64 (N, p)
        Training covariates of all windows, stacked (each in its own units;
        they are standardised per window).
    y : array_like, float64 (N,)
        Training targets: coarse soil moisture, m3 m-3.
    ptr : array_like of int (B + 1,)
        Window ``b`` trains on rows ``ptr[b]:ptr[b+1]`` (non-decreasing).
    Z : array_like, float64 (M, p)
        Covariates of the points to predict, stacked, same columns as ``X``.
    zptr : array_like of int (B + 1,)
        Window ``b`` predicts rows ``zptr[b]:zptr[b+1]`` of ``Z``.
    C : float, default 1.0
        Regularisation: the box bound of the dual variables (> 0).
    epsilon : float, default 0.1
        Half-width of the insensitive tube, in the units of ``y`` (m3 m-3;
        >= 0). Note that :data:`smkit.engine.learners.LEARNERS` uses 0.01.
    gamma : float or "scale", default -1.0
        RBF coefficient on the standardised covariates (>= 0), or ``-1`` /
        ``"scale"`` for scikit-learn's ``1 / (p * var)`` of the window's
        standardised training matrix.
    tol : float, keyword-only, default 1e-3
        Stopping tolerance on the maximal KKT violation (scikit-learn's
        ``tol``).
    shrinking : bool, keyword-only, default True
        Use libsvm's shrinking heuristic (scikit-learn's default). Either
        setting converges to the same tolerance; the iterations differ.
    max_iter : int, keyword-only, default -1
        Maximum number of SMO iterations per window; -1 for no limit, as
        scikit-learn. A ``ConvergenceWarning`` names the windows that hit it.
    return_n_iter : bool, keyword-only, default False
        Also return the number of SMO iterations of every window
        (scikit-learn's ``n_iter_``; 0 for windows that were not fitted).

    Returns
    -------
    pred : numpy.ndarray, float64 (M,)
        Predicted soil moisture, m3 m-3. NaN for windows with fewer than two
        training rows and for rows of ``Z`` outside every window.
    n_iter : numpy.ndarray, int64 (B,)
        Only with ``return_n_iter=True``.

    Raises
    ------
    ValueError
        On inconsistent shapes or offsets, non-finite inputs or out-of-range
        hyperparameters.
    """
    X, y, ptr, Z, zptr = _check_batch(X, y, ptr, Z, zptr)
    if isinstance(gamma, str):
        if gamma != "scale":
            raise ValueError(f'gamma must be a number >= 0, -1 or "scale"; got {gamma!r}')
        gamma = -1.0
    C, epsilon, gamma, tol = float(C), float(epsilon), float(gamma), float(tol)
    if not (math.isfinite(C) and C > 0.0):
        raise ValueError(f"C must be a finite number > 0; got {C}")
    if not (math.isfinite(epsilon) and epsilon >= 0.0):
        raise ValueError(f"epsilon must be a finite number >= 0 (m3 m-3); got {epsilon}")
    if not (math.isfinite(gamma) and (gamma >= 0.0 or gamma == -1.0)):
        raise ValueError(f'gamma must be a finite number >= 0, or -1 / "scale"; got {gamma}')
    if not (math.isfinite(tol) and tol > 0.0):
        raise ValueError(f"tol must be a finite number > 0; got {tol}")
    if not isinstance(max_iter, numbers.Integral) or (max_iter < 1 and max_iter != -1):
        raise ValueError(f"max_iter must be a positive integer or -1 (no limit); got {max_iter!r}")

    n_windows = ptr.shape[0] - 1
    out = np.full(Z.shape[0], np.nan)
    n_iter = np.zeros(n_windows, np.int64)
    _svr_batch(X, y, ptr, Z, zptr, C, epsilon, gamma, tol, bool(shrinking), int(max_iter), out,
               n_iter)
    if max_iter > 0:
        stopped = np.flatnonzero(n_iter >= max_iter)
        if stopped.size:
            from sklearn.exceptions import ConvergenceWarning

            warnings.warn(
                f"SVR solver stopped at max_iter={max_iter} in {stopped.size} window(s) "
                f"(first: {stopped[:5].tolist()}); their predictions may be inaccurate",
                ConvergenceWarning, stacklevel=2,
            )
    if return_n_iter:
        return out, n_iter
    return out
