"""From windows' models to fine pixels: clamping their inputs, blending neighbours, clipping the result.

Windows are fitted together as a :class:`WindowBatch`. A window's model
predicts fine pixels whose covariates may lie outside what it trained on:
:func:`clamp_to_windows` clamps them to the window's training range first.
With blending (``Config.blend``, :func:`predict_blended`) every fine pixel
mixes the predictions of the models of the windows around it with the
weights of :func:`blend_weights`, so that the product has no step at
coarse-cell edges; :func:`clip_to_range` finally bounds the values to the
physical range.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numba
import numpy as np

from smkit.engine.learners import fit_predict
from smkit.engine.windows import gather

if TYPE_CHECKING:
    from smkit.engine.chunks import ChunkInputs, ChunkWindows, Pixels
    from smkit.engine.config import Config

__all__ = ["blend_weights", "clamp_to_windows", "clip_to_range", "WindowBatch", "predict_blended"]


def blend_weights(n_cells: int, factor: int, width: float = 0.5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which fine rows each cell's model predicts when neighbouring models are blended, and with what weight.

    Along each axis a fine pixel takes its own cell's model with weight 1 in
    the middle of the cell and mixes in the neighbouring cell's model over
    the last ``width`` of a cell before the edge, linearly, reaching 1/2 each
    at the edge: the product is continuous across cell edges. ``width`` = 0.5
    is bilinear interpolation in the distance to the two nearest cell
    centres; smaller widths cost fewer predictions. In two dimensions the
    weights are the products of those along each axis.

    Parameters
    ----------
    n_cells : int
        Coarse cells along the axis.
    factor : int
        Fine pixels per coarse cell.
    width : float, default 0.5
        Blending band on each side of an edge, in cells (0 < width <= 0.5).

    Returns
    -------
    rows : ndarray of int, shape (n_cells + 2, n)
        Fine rows (0 to ``n_cells * factor - 1``), sorted, that cell ``i``
        (-1 to ``n_cells``, the ring around included) contributes to, at
        index ``i + 1``; -1 pads.
    weights : ndarray, shape (n_cells + 2, n)
        Their weights (0 for pads); the weights of a row over all cells sum to
        1 (where a neighbour has no model -- outside the domain, or skipped --
        the others' weights are renormalised).
    own : ndarray of bool, shape (n_cells + 2, n)
        Whether the row lies inside the cell itself.

    Examples
    --------
    >>> rows, w, own = blend_weights(2, 4)
    >>> rows[1][w[1] > 0].tolist(), w[1][w[1] > 0].round(3).tolist()
    ([0, 1, 2, 3, 4, 5], [0.625, 0.875, 0.875, 0.625, 0.375, 0.125])
    >>> rows, w, own = blend_weights(2, 8, width=0.25)
    >>> w[1][w[1] > 0].round(3).tolist()
    [0.625, 0.875, 1.0, 1.0, 1.0, 1.0, 0.875, 0.625, 0.375, 0.125]
    """
    if not 0.0 < width <= 0.5:
        raise ValueError(f"blend width must be in (0, 0.5] cells, got {width}")
    p = np.arange(n_cells * factor)
    own_cell = p // factor
    u = (p + 0.5) / factor - 0.5 - own_cell  # position in its own cell, -0.5 .. 0.5
    inner = np.abs(u) <= 0.5 - width
    w_own = np.where(inner, 1.0, 0.5 + (0.5 - np.abs(u)) / (2 * width))
    side = np.where(u < 0, -1, 1)
    entries = [(own_cell, w_own), (own_cell + side, 1.0 - w_own)]
    rows = [[] for _ in range(n_cells + 2)]
    weights = [[] for _ in range(n_cells + 2)]
    for cell, w in entries:
        for k in np.flatnonzero(w > 1e-12):
            rows[cell[k] + 1].append(p[k])
            weights[cell[k] + 1].append(w[k])
    n = max(len(r) for r in rows)
    R = np.full((n_cells + 2, n), -1, np.int64)
    W = np.zeros((n_cells + 2, n))
    for i, (r, w) in enumerate(zip(rows, weights, strict=True)):
        order = np.argsort(r, kind="stable")
        R[i, : len(r)] = np.asarray(r, np.int64)[order]
        W[i, : len(r)] = np.asarray(w)[order]
    own = (R >= 0) & (R // factor == np.arange(-1, n_cells + 1)[:, None])
    return R, W, own


def clamp_to_windows(X: np.ndarray, ptr: np.ndarray, Z: np.ndarray, zptr: np.ndarray) -> np.ndarray:
    """Clamp each window's prediction rows to the range of its training rows, per covariate.

    Fine pixels are more extreme than the coarse cell means a window trains
    on (elevation and LST above all); clamping keeps the linear model and
    SVR from extrapolating off the training range (trees never do). Windows
    without training rows are left as they are. Returns a new array.
    """
    out = np.array(Z, dtype=np.float64, order="C")
    _clamp_kernel(np.ascontiguousarray(X, dtype=np.float64), np.asarray(ptr, np.int64), out,
                  np.asarray(zptr, np.int64))
    return out


@numba.njit(cache=True, nogil=True)
def _clamp_kernel(X, ptr, Z, zptr):  # pragma: no cover - compiled
    p = X.shape[1]
    lo = np.empty(p)
    hi = np.empty(p)
    for b in range(len(ptr) - 1):
        if ptr[b + 1] == ptr[b]:
            continue
        for k in range(p):
            lo[k] = np.inf
            hi[k] = -np.inf
        for i in range(ptr[b], ptr[b + 1]):
            for k in range(p):
                v = X[i, k]
                if v < lo[k]:
                    lo[k] = v
                if v > hi[k]:
                    hi[k] = v
        for i in range(zptr[b], zptr[b + 1]):
            for k in range(p):
                v = Z[i, k]
                if v < lo[k]:
                    Z[i, k] = lo[k]
                elif v > hi[k]:
                    Z[i, k] = hi[k]


def clip_to_range(sm: np.ndarray, sm_max: float, factor: int) -> np.ndarray:
    """Clip soil moisture to the physically possible ``[0, sm_max]`` in place; count clipped pixels.

    Parameters
    ----------
    sm : ndarray, shape (..., Y, X)
        Fine soil moisture, m3 m-3 (NaN = no value); modified in place.
    sm_max : float
        Upper bound, m3 m-3 (a porosity).
    factor : int
        Fine pixels per coarse cell along each axis.

    Returns
    -------
    ndarray of int16, shape (..., Y / factor, X / factor)
        Pixels clipped in each coarse cell.
    """
    with np.errstate(invalid="ignore"):
        out = (sm < 0.0) | (sm > sm_max)
    np.clip(sm, 0.0, sm_max, out=sm)
    *lead, fy, fx = out.shape
    return out.reshape(*lead, fy // factor, factor, fx // factor, factor).sum(axis=(-3, -1)).astype(np.int16)


# --------------------------------------------------------------------------- fitting windows
@dataclass(frozen=True, eq=False)
class WindowBatch:
    """Windows fitted together, as a ragged batch (:func:`smkit.engine.learners.fit_predict`).

    Attributes
    ----------
    X, y, ptr : ndarray
        Training covariates and coarse soil moisture (m3 m-3); window ``b``
        trains on rows ``ptr[b]:ptr[b+1]``.
    Z, zptr : ndarray
        Fine covariates to predict; window ``b`` predicts rows ``zptr[b]:zptr[b+1]``.
    ids : ndarray of int
        Global ids of the windows (the forest's seeds).
    """

    X: np.ndarray
    y: np.ndarray
    ptr: np.ndarray
    Z: np.ndarray
    zptr: np.ndarray
    ids: np.ndarray

    def predict(self, name: str, cfg: Config) -> np.ndarray:
        """Fit learner ``name`` on every window and predict its rows of ``Z``, m3 m-3.

        With ``cfg.clamp_covariates`` the rows are clamped to their window's
        training range first (:func:`clamp_to_windows`).
        """
        Z = clamp_to_windows(self.X, self.ptr, self.Z, self.zptr) if cfg.clamp_covariates else self.Z
        return fit_predict(name, self.X, self.y, self.ptr, Z, self.zptr, params=(cfg.params or {}).get(name),
                           backend=cfg.backend, seed=cfg.seed, window_ids=self.ids)


# --------------------------------------------------------------------------- the blended prediction
@dataclass(frozen=True, eq=False)
class _Targets:
    """The fine pixels some windows' models predict: flat index, blend weight, in the window's own cell."""

    wins: np.ndarray  # (W, 3) day, row + 1, column + 1 of each window's cell (the ring included)
    pixels: np.ndarray
    weights: np.ndarray
    own: np.ndarray
    zptr: np.ndarray  # window w predicts pixels zptr[w]:zptr[w+1]


def _models_to_fit(count: np.ndarray, need: int, inputs: ChunkInputs) -> np.ndarray:
    """Which windows of the core cells and of the ring around them get a model: (T, Ny+2, Nx+2)."""
    (nt, ny, nx), ht, hs = inputs.core_shape, inputs.halo.days, inputs.halo.cells
    ring = (slice(ht, ht + nt), slice(hs - 1, hs + ny + 1), slice(hs - 1, hs + nx + 1))
    has_model = count[ring] >= need
    if inputs.mask is not None:  # only windows next to a requested cell
        m = np.pad(inputs.mask, 1)
        near = m.copy()
        for di in (-1, 0, 1):
            for dj in (-1, 0, 1):
                near |= np.roll(np.roll(m, di, 0), dj, 1)
        has_model &= near[None]
    return has_model


def _targets(wins: np.ndarray, axes: tuple, pix: Pixels, produce: np.ndarray) -> _Targets | None:
    """The valid pixels of produced cells that the windows ``wins`` contribute to (None: none).

    ``axes`` are :func:`blend_weights` of the rows and of the columns.
    """
    (rows, rw, rown), (cols, cw, cown) = axes
    t, a, b = wins[:, 0], wins[:, 1], wins[:, 2]
    r = rows[a][:, :, None]  # (W, 2f, 1)
    c = cols[b][:, None, :]  # (W, 1, 2f)
    w = rw[a][:, :, None] * cw[b][:, None, :]
    own = rown[a][:, :, None] & cown[b][:, None, :]
    tt = np.broadcast_to(t[:, None, None], w.shape)
    rr, cc = np.broadcast_to(r, w.shape), np.broadcast_to(c, w.shape)
    ok = (w > 0) & (rr >= 0) & (cc >= 0)
    pidx = pix.index(tt, np.maximum(rr, 0), np.maximum(cc, 0))
    ok &= pix.ok_flat[pidx] & produce.reshape(-1)[pidx]
    counts = ok.reshape(len(wins), -1).sum(1)
    keep = counts > 0
    if not keep.any():
        return None
    sel = ok[keep].reshape(-1)
    pflat, pw, po = (v[keep].reshape(-1)[sel] for v in (pidx, w, own))
    return _Targets(wins[keep], pflat, pw, po, np.r_[0, np.cumsum(counts[keep])])


def _predict_targets(name: str, targets: _Targets, windows: ChunkWindows, cfg: Config) -> np.ndarray:
    """Fit the windows of ``targets`` and predict their pixels (residual correction: own cell shifted)."""
    inputs = windows.inputs
    ht, hs = inputs.halo.days, inputs.halo.cells
    wins, zptr = targets.wins, targets.zptr
    halo_cells = wins + np.array([ht, hs - 1, hs - 1])
    X, yy, ptr = gather(windows.valid, inputs.agg, inputs.y, windows.choice, halo_cells)
    ids = np.ravel_multi_index((wins + np.array([0, -1, -1]) + np.asarray(inputs.origin)).T, inputs.extent,
                               mode="clip")
    pred = WindowBatch(X, yy, ptr, windows.pixels.flat[targets.pixels], zptr, ids).predict(name, cfg)
    if cfg.residual_correction:  # shift each window's predictions: its own cell averages to the retrieval
        win = np.repeat(np.arange(len(wins)), np.diff(zptr))
        po = targets.own
        with np.errstate(invalid="ignore"):
            own_mean = np.bincount(win, pred * po, len(wins)) / np.bincount(win, po, len(wins))
        resid = inputs.y[halo_cells[:, 0], halo_cells[:, 1], halo_cells[:, 2]] - own_mean
        pred = pred + np.where(np.isfinite(resid), resid, 0.0)[win]
    return pred


def predict_blended(name: str, fit: np.ndarray, need: int, windows: ChunkWindows, cfg: Config) -> np.ndarray:
    """Every core pixel as the bilinear blend of the models of the four windows around it.

    The windows of the core cells and of the ring of cells around the chunk
    are fitted (a ring window has the same global id, data and so model as in
    the chunk that owns it, so chunks join without a seam); each predicts the
    core pixels within one cell of its centre, and each pixel's predictions
    are averaged with bilinear weights (renormalised over the windows that
    have a model). Pixels of cells that are not produced (skipped, not
    requested) stay NaN.

    Parameters
    ----------
    name : str
        Learner.
    fit : ndarray of bool, shape (T, Ny, Nx)
        Core cells to produce.
    need : int
        Samples a window needs for a model.
    windows : ChunkWindows
        The chunk's inputs and windows.
    cfg : Config
        Blend width, clamping, residual correction and the learners' settings.

    Returns
    -------
    ndarray of float32, shape (T, Ny*f, Nx*f)
        Soil moisture, m3 m-3.
    """
    nt, ny, nx = fit.shape
    pix = windows.pixels
    f = pix.f
    has_model = _models_to_fit(windows.choice.count, need, windows.inputs)  # (T, Ny+2, Nx+2), ring included
    axes = blend_weights(ny, f, cfg.blend_width), blend_weights(nx, f, cfg.blend_width)
    produce = np.repeat(np.repeat(fit, f, axis=1), f, axis=2)  # pixels of produced cells
    out = np.full((nt, ny * f, nx * f), np.nan, np.float32)
    slots = axes[0][0].shape[1] * axes[1][0].shape[1]
    per_call = max(1, 3_000_000 // max(1, slots * (ny + 2) * (nx + 2)))  # days per batch: bounded memory
    for d0 in range(0, nt, per_call):
        days = np.arange(d0, min(d0 + per_call, nt))
        wins = np.argwhere(has_model[days])  # (t, i+1, j+1)
        if len(wins) == 0:
            continue
        wins[:, 0] = days[wins[:, 0]]
        targets = _targets(wins, axes, pix, produce)
        if targets is None:
            continue
        pred = _predict_targets(name, targets, windows, cfg)
        good = np.isfinite(pred)
        idx = targets.pixels[good]  # the same flat layout as the output
        num = np.bincount(idx, targets.weights[good] * pred[good], out.size)
        den = np.bincount(idx, targets.weights[good], out.size)
        hit = den > 0
        out.reshape(-1)[hit] = (num[hit] / den[hit]).astype(np.float32)
    return out
