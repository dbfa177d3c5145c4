"""Downscaling: coarse soil moisture to the fine grid with windowed learners.

For every coarse cell and day, each learner is trained on the cell's adaptive
spatio-temporal window of coarse samples (aggregated covariates -> coarse
``sm``; :mod:`smkit.engine.windows`) and applied to the fine covariates of the cell
(:mod:`smkit.engine.learners`). The ``global`` strategy trains one model per zone and
day on every cell of the zone instead (the paper's Fig. S7 comparison).

Work is split into independent (day block, tile) chunks with halos so that a
chunk needs nothing outside itself; with ``out=`` each finished chunk is
written into its own region of a Zarr store and marked done (in
``<out>.done/``), so a killed run
restarted with the same arguments skips finished chunks and ends with the same
content as an uninterrupted run.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import numba
import numpy as np
import xarray as xr

from smkit import __version__
from smkit.engine.features import (
    AGGREGATION_HALO,
    AGGREGATIONS,
    COVARIATES,
    aggregate_array,
    native_block,
    smooth_native,
)
from smkit.core.grid import Grid, nesting_factor
from smkit.engine.learners import BACKENDS, fit_predict, get_learner, resolve_params
from smkit.core.vocabulary import LEARNER_ORDER
from smkit.engine.windows import (
    FLAG_CENTRE_MISSING,
    FLAG_CLIPPED,
    FLAG_GAP_FILLED,
    FLAG_MEANINGS,
    FLAG_SHORT,
    FLAG_SKIPPED,
    candidates,
    choose_windows,
    gather,
)

STRATEGIES = ("window", "global")
DEFAULT_TILE = 24  # coarse cells per chunk side


@dataclass(frozen=True)
class Config:
    """Every option that determines a product: the engine's one option list.

    :func:`downscale` and :func:`downscale_variants` take a ``Config`` and/or
    its fields as keyword overrides; cache keys and resumed-store guards come
    from :meth:`digest`. Options that change how a product is computed but
    not its values (``days``, ``out``, ``workers``, ...) are arguments of the
    functions, not fields.

    Parameters
    ----------
    learners : tuple of {"rf", "mlr", "svr", "xgb"}
        Learners to run, in the order of the output's ``method`` dimension.
    strategy : {"window", "global"}
        Adaptive windows (the paper) or one model per zone and day.
    backend : {"fast", "reference"}
        Batched compiled learners or one scikit-learn/xgboost estimator per window.
    params : dict or "tune" or None
        ``{learner: {param: value}}`` hyperparameters, or ``"tune"`` to tune
        them first on the pooled coarse training set
        (:func:`smkit.engine.learners.tune`); saved in the product's attributes
        (``hyperparameters``) either way. Default: :data:`smkit.engine.learners.LEARNERS`.
    covariates : tuple of str
        Explanatory variables.
    aggregation : {"mean", "cubic"}
        How fine covariates are brought to the coarse grid
        (:func:`smkit.engine.features.aggregate_array`).
    sw_max, nd_max : int
        Window caps in cells and days (the paper: 5 and 3; up to 10 and 5).
    growth : {"space", "time", "alternate"}
        Growth order of the window.
    samples_per_covariate : int
        A window is complete at this many samples per covariate (8).
    min_valid : float
        Minimum fraction of valid fine pixels for an aggregated covariate.
    residual_correction : bool, default False
        Shift each cell's fine pixels by the retrieval minus their mean, so
        that they average back to the retrieval (cells without a retrieval
        are left as predicted). Off by default: it lowers every learner's R
        against the 1-km truth (``reports/benchmarks/options.md``).
    clamp_covariates : bool, default True
        Clamp the fine covariates of a cell to the range of its window's
        training covariates before predicting (:func:`clamp_to_windows`).
        On by default: it keeps the linear model from extrapolating
        (``reports/benchmarks/options.md``).
    fill_gaps : bool, default True
        Fill cloud gaps of the fine covariates by linear interpolation in time
        (gaps up to ``gap_days``) before aggregating and predicting; such
        cells are flagged. On by default: more pixel-days at the same skill.
    gap_days : int, default 8
        Longest gap filled, days.
    blend : bool, default True
        Predict every fine pixel from the models of the four windows around
        it, blended in the distance to their cell centres, instead of from its
        own cell's model only: the product then has no step at coarse-cell
        edges (:func:`smkit.validate.seam_ratio`); it costs the windows of a
        ring of cells around each chunk and four predictions per pixel.
    blend_width : float, default 0.25
        Band on each side of a cell edge, in cells, over which the
        neighbouring window's model is mixed in (0.5: bilinear between the
        four nearest cell centres; :func:`blend_weights`).
    smooth_coarse : bool, default True
        Interpolate covariates that come on a coarser native grid (their
        ``native_resolution`` attribute, degrees: MCD43C3 albedo at 0.05,
        IMERG precipitation at 0.1) bilinearly from their native cell centres
        (:func:`smkit.engine.features.smooth_native`).
    sm_max : float, default 0.6
        Physical upper bound (a porosity), m3 m-3: predictions are clipped to
        ``[0, sm_max]`` and the clipped pixels counted per cell-day and
        learner (``clipped``; window flag bit 16).
    seed : int
        Seed of the random forest.

    Examples
    --------
    >>> cfg = Config.from_options(learners=["mlr"], sw_max=7)
    >>> cfg.learners, cfg.sw_max, cfg.min_samples
    (('mlr',), 7, 40)
    >>> Config.from_options(cfg, sw_max=5).digest() == Config(learners=("mlr",)).digest()
    True
    """

    learners: tuple[str, ...] = LEARNER_ORDER
    strategy: str = "window"
    backend: str = "fast"
    params: dict | str | None = None
    covariates: tuple[str, ...] = COVARIATES
    aggregation: str = "mean"
    sw_max: int = 5
    nd_max: int = 3
    growth: str = "space"
    samples_per_covariate: int = 8
    min_valid: float = 0.5
    residual_correction: bool = False
    clamp_covariates: bool = True
    fill_gaps: bool = True
    gap_days: int = 8
    blend: bool = True
    blend_width: float = 0.25
    smooth_coarse: bool = True
    sm_max: float = 0.6
    seed: int = 0

    def __post_init__(self):
        object.__setattr__(self, "learners", tuple(self.learners))
        object.__setattr__(self, "covariates", tuple(self.covariates))
        if not self.learners:
            raise ValueError("give at least one learner")
        for name in self.learners:
            get_learner(name)
        for option, value, choices in (("strategy", self.strategy, STRATEGIES),
                                       ("backend", self.backend, BACKENDS),
                                       ("aggregation", self.aggregation, AGGREGATIONS)):
            if value not in choices:
                raise KeyError(f"unknown {option} {value!r}; choose from {list(choices)}")
        if isinstance(self.params, str) and self.params != "tune":
            raise ValueError(f"params must be a dict, None or 'tune', got {self.params!r}")
        candidates(3, 1, self.sw_max, self.nd_max, self.growth)  # validates the caps and growth order
        blend_weights(2, 2, self.blend_width)  # validates the width
        if not 0.0 < self.sm_max <= 1.0:
            raise ValueError(f"sm_max must be a volumetric fraction in (0, 1], got {self.sm_max}")

    @classmethod
    def from_options(cls, config: Config | None = None, **overrides) -> Config:
        """A configuration from ``config`` (default: the defaults) with some fields replaced.

        Raises
        ------
        TypeError
            For a name that is not an option, listing the valid ones.
        """
        unknown = sorted(set(overrides) - set(OPTIONS))
        if unknown:
            raise TypeError(f"unknown downscaling option(s) {unknown}; valid: {list(OPTIONS)}")
        return replace(config or cls(), **overrides)

    @property
    def min_samples(self) -> int:
        """Samples a window must hold (8 x number of covariates in the paper)."""
        return self.samples_per_covariate * len(self.covariates)

    def digest(self) -> str:
        """A short hash of the configuration."""
        text = json.dumps(asdict(self), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


#: The names of the engine's options (the fields of :class:`Config`).
OPTIONS = tuple(f.name for f in fields(Config))


# --------------------------------------------------------------------------- gap filling
def fill_time_gaps(x: np.ndarray, max_gap: int) -> tuple[np.ndarray, np.ndarray]:
    """Fill NaN runs along axis 0 by linear interpolation between valid days.

    Gaps longer than ``max_gap`` days, and gaps at the ends, are left NaN.

    Parameters
    ----------
    x : ndarray, shape (T, ...)
        Daily values (any units); NaN = missing.
    max_gap : int
        Longest run of missing days that is filled, days.

    Returns
    -------
    (filled, was_filled)
        float64 values and a boolean mask of the filled entries, both shaped like ``x``.
    """
    t = x.shape[0]
    flat = np.ascontiguousarray(x.reshape(t, -1), dtype=np.float64)
    out = flat.copy()
    filled = np.zeros(flat.shape, np.bool_)
    _fill_gaps_kernel(flat, out, filled, int(max_gap))
    return out.reshape(x.shape), filled.reshape(x.shape)


@numba.njit(cache=True, nogil=True)
def _fill_gaps_kernel(x, out, filled, max_gap):  # pragma: no cover - compiled
    t, n = x.shape
    for j in range(n):
        prev = -1
        for i in range(t):
            if not np.isfinite(x[i, j]):
                continue
            if prev >= 0 and 1 <= i - prev - 1 <= max_gap:
                a, b = x[prev, j], x[i, j]
                for k in range(prev + 1, i):
                    w = (k - prev) / (i - prev)
                    out[k, j] = a * (1 - w) + b * w
                    filled[k, j] = True
            prev = i


# --------------------------------------------------------------------------- one chunk
def process_chunk(inputs: dict, cfg: Config, factor: int) -> dict:
    """Downscale one chunk (pure function of numpy arrays).

    Parameters
    ----------
    inputs : dict
        ``y`` coarse sm (T+2h, Ny+2s, Nx+2s) with halos; ``agg`` the
        (gap-filled) covariates aggregated to the coarse grid (same, + P);
        ``fine`` the gap-filled fine covariates of the core cell-days
        (T, Ny*factor, Nx*factor, P) and ``filled`` (T, Ny*factor,
        Nx*factor) where a value was filled; ``halo_t``, ``halo_s`` (days,
        cells); ``zone`` labels (Ny+2s, Nx+2s) or None; ``origin`` (t, i, j)
        of the chunk's first core cell-day in the whole product and ``extent``
        (T, Ny, Nx) of the whole product, which give every window a global id
        so that the forest's randomness does not depend on the chunking.
    cfg : Config
    factor : int
        Fine pixels per coarse cell.

    Returns
    -------
    dict
        ``sm`` (L, T, Ny*f, Nx*f) float32 and ``sw``, ``nd``, ``count``,
        ``flag`` (T, Ny, Nx).
    """
    y, agg, fine = inputs["y"], inputs["agg"], inputs["fine"]
    was_filled = inputs["filled"]
    ht, hs = inputs["halo_t"], inputs["halo_s"]
    tt, hy, hx = y.shape
    nt, ny, nx = tt - 2 * ht, hy - 2 * hs, hx - 2 * hs
    f = factor

    valid = np.isfinite(y) & np.isfinite(agg).all(-1)
    seq = candidates(3, 1, cfg.sw_max, cfg.nd_max, cfg.growth)
    zone = inputs.get("zone")
    if cfg.strategy == "window":
        choice = choose_windows(valid, cfg.min_samples, seq)
    else:
        choice = _zone_windows(valid, zone, cfg)
    core = (slice(ht, ht + nt), slice(hs, hs + ny), slice(hs, hs + nx))
    sw, nd, count, short = (a[core] for a in (choice.sw, choice.nd, choice.count, choice.short))

    pix = _Pixels(fine, f)  # the fine pixels of any core cell-day, gathered on demand
    gap_cell = was_filled.reshape(nt, ny, f, nx, f).any(axis=(2, 4))

    flag = np.where(short, FLAG_SHORT, 0).astype(np.int8)
    flag |= np.where(~np.isfinite(y[core]), FLAG_CENTRE_MISSING, 0).astype(np.int8)
    flag |= np.where(gap_cell, FLAG_GAP_FILLED, 0).astype(np.int8)
    sm = np.full((len(cfg.learners), nt, ny * f, nx * f), np.nan, np.float32)
    blend = cfg.blend and cfg.strategy == "window"
    for li, name in enumerate(cfg.learners):
        need = max(get_learner(name).min_samples, 2)
        fit = (count >= need) & pix.any_valid
        if inputs.get("mask") is not None:  # only the requested cells
            fit &= np.broadcast_to(inputs["mask"], (nt, ny, nx))
        if blend:
            sm[li] = _predict_blended(name, fit, valid, agg, y, pix, choice, cfg, ht, hs, inputs, need)
        else:
            cells = np.argwhere(fit)
            if cfg.strategy == "global":
                pred = _predict_global(name, cells, valid, agg, y, pix, choice, zone, cfg, ht, hs, inputs)
            else:
                pred = _predict_window(name, cells, valid, agg, y, pix, choice, cfg, ht, hs, inputs)
            out = np.full((nt * ny * nx, f * f), np.nan, np.float32)
            out[fit.ravel()] = pred
            sm[li] = out.reshape(nt, ny, nx, f, f).transpose(0, 1, 3, 2, 4).reshape(nt, ny * f, nx * f)
        if li == 0:
            skipped = count < need
            if inputs.get("mask") is not None:
                skipped |= ~inputs["mask"][None]
            flag |= np.where(skipped, FLAG_SKIPPED, 0).astype(np.int8)
    clipped = clip_to_range(sm, cfg.sm_max, f)
    flag |= np.where(clipped.any(axis=0), FLAG_CLIPPED, 0).astype(np.int8)
    return {
        "sm": sm,
        "sw": sw.astype(np.int8),
        "nd": nd.astype(np.int8),
        "count": count.astype(np.int32),
        "flag": flag,
        "clipped": clipped,
    }


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


def _predict_blended(name, fit, valid, agg, y, pix, choice, cfg, ht, hs, inputs, need):
    """Every core pixel as the bilinear blend of the models of the four windows around it.

    The windows of the core cells and of the ring of cells around the chunk
    are fitted (a ring window has the same global id, data and so model as in
    the chunk that owns it, so chunks join without a seam); each predicts the
    core pixels within one cell of its centre, and each pixel's predictions
    are averaged with bilinear weights (renormalised over the windows that
    have a model). Pixels of cells that are not produced (skipped, not
    requested) stay NaN. Returns (T, Ny*f, Nx*f) float32.
    """
    nt, ny, nx = fit.shape
    f = pix.f
    th, yh, xh = choice.count.shape
    ring = (slice(ht, ht + nt), slice(hs - 1, hs + ny + 1), slice(hs - 1, hs + nx + 1))
    has_model = choice.count[ring] >= need  # (T, Ny+2, Nx+2), ring included
    if inputs.get("mask") is not None:  # only windows next to a requested cell
        m = np.pad(inputs["mask"], 1)
        near = m.copy()
        for di in (-1, 0, 1):
            for dj in (-1, 0, 1):
                near |= np.roll(np.roll(m, di, 0), dj, 1)
        has_model &= near[None]
    rows, rw, rown = blend_weights(ny, f, cfg.blend_width)
    cols, cw, cown = blend_weights(nx, f, cfg.blend_width)
    produce = np.repeat(np.repeat(fit, f, axis=1), f, axis=2)  # pixels of produced cells
    out = np.full((nt, ny * f, nx * f), np.nan, np.float32)
    origin, extent = np.asarray(inputs["origin"]), inputs["extent"]
    slots = rows.shape[1] * cols.shape[1]
    per_call = max(1, 3_000_000 // max(1, slots * (ny + 2) * (nx + 2)))  # days per batch: bounded memory
    for d0 in range(0, nt, per_call):
        days = np.arange(d0, min(d0 + per_call, nt))
        wins = np.argwhere(has_model[days])  # (t, i+1, j+1)
        if len(wins) == 0:
            continue
        wins[:, 0] = days[wins[:, 0]]
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
            continue
        sel = ok[keep].reshape(-1)
        pflat, pw, po = (v[keep].reshape(-1)[sel] for v in (pidx, w, own))
        wins = wins[keep]
        zptr = np.r_[0, np.cumsum(counts[keep])]
        Z = pix.flat[pflat]
        halo_cells = wins + np.array([ht, hs - 1, hs - 1])
        X, yy, ptr = gather(valid, agg, y, choice, halo_cells)
        if cfg.clamp_covariates:
            Z = clamp_to_windows(X, ptr, Z, zptr)
        ids = np.ravel_multi_index((wins + np.array([0, -1, -1]) + origin).T, extent, mode="clip")
        pred = fit_predict(name, X, yy, ptr, Z, zptr, params=(cfg.params or {}).get(name), backend=cfg.backend,
                           seed=cfg.seed, window_ids=ids)
        if cfg.residual_correction:  # shift each window's predictions: its own cell averages to the retrieval
            win = np.repeat(np.arange(len(wins)), np.diff(zptr))
            with np.errstate(invalid="ignore"):
                own_mean = np.bincount(win, pred * po, len(wins)) / np.bincount(win, po, len(wins))
            resid = y[halo_cells[:, 0], halo_cells[:, 1], halo_cells[:, 2]] - own_mean
            pred = pred + np.where(np.isfinite(resid), resid, 0.0)[win]
        good = np.isfinite(pred)
        idx = pflat[good]  # the same flat layout as the output
        num = np.bincount(idx, pw[good] * pred[good], out.size)
        den = np.bincount(idx, pw[good], out.size)
        hit = den > 0
        out.reshape(-1)[hit] = (num[hit] / den[hit]).astype(np.float32)
    return out


class _Pixels:
    """The fine pixels of a chunk's core cell-days, gathered per cell without copying the whole tile.

    ``fine`` is (T, Ny*f, Nx*f, P); :meth:`get` returns the (n, f*f, P)
    covariates and (n, f*f) validity of the given (t, i, j) cells.
    """

    def __init__(self, fine: np.ndarray, f: int):
        nt, fy, fx, p = fine.shape
        self.f, self.p, self.fy, self.fx = f, p, fy, fx
        self.view = fine.reshape(nt, fy // f, f, fx // f, f, p)
        self.flat = fine.reshape(-1, p)
        ok = np.isfinite(fine).all(-1)
        self.ok_flat = ok.reshape(-1)
        self.ok = ok.reshape(nt, fy // f, f, fx // f, f)
        self.any_valid = self.ok.any(axis=(2, 4))  # (T, Ny, Nx)

    def index(self, t, r, c) -> np.ndarray:
        """Flat index of fine pixels at (day, row, column) index arrays."""
        return (t * self.fy + r) * self.fx + c

    @property
    def per_cell(self) -> int:
        """Fine pixels per coarse cell."""
        return self.f * self.f

    def get(self, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Covariates and validity of the pixels of ``cells`` (rows of t, i, j)."""
        t, i, j = cells[:, 0], cells[:, 1], cells[:, 2]
        z = self.view[t, i, :, j, :, :].reshape(len(cells), self.per_cell, self.p)
        ok = self.ok[t, i, :, j, :].reshape(len(cells), self.per_cell)
        return z, ok


def _predict_window(name, cells, valid, agg, y, pix, choice, cfg, ht, hs, inputs):
    """Fit every window of ``cells`` and predict its centre cell's valid fine pixels.

    Returns (n_cells, f*f) float32, NaN for invalid pixels. With residual
    correction, each cell's pixels are shifted by the retrieval minus their
    mean, so they average back to the retrieval where it exists.
    """
    n_cells = len(cells)
    res = np.full((n_cells, pix.per_cell), np.nan, np.float32)
    if n_cells == 0:
        return res
    halo_cells = cells + np.array([ht, hs, hs])
    X, yy, ptr = gather(valid, agg, y, choice, halo_cells)
    zp, zok = pix.get(cells)
    Z = zp[zok]
    zptr = np.r_[0, np.cumsum(zok.sum(1))]
    if cfg.clamp_covariates:
        Z = clamp_to_windows(X, ptr, Z, zptr)
    ids = np.ravel_multi_index((cells + np.asarray(inputs["origin"])).T, inputs["extent"])
    res[zok] = fit_predict(
        name, X, yy, ptr, Z, zptr, params=(cfg.params or {}).get(name), backend=cfg.backend,
        seed=cfg.seed, window_ids=ids,
    )
    if cfg.residual_correction:
        _shift_to_retrieval(res, y[halo_cells[:, 0], halo_cells[:, 1], halo_cells[:, 2]])
    return res


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


def _zone_windows(valid, zone, cfg):
    """Global strategy: per zone and day, all cells of the zone over nd days."""
    from smkit.engine.windows import WindowChoice, day_offsets

    t = valid.shape[0]
    labels = np.unique(zone[zone >= 0])
    count = np.zeros(valid.shape, np.int32)
    nd = np.zeros(valid.shape, np.int8)
    done = np.zeros(valid.shape, bool)
    for n in range(1, cfg.nd_max + 1):
        c = np.zeros(valid.shape, np.int64)
        for lab in labels:
            m = zone == lab
            per_day = (valid & m).sum(axis=(1, 2))
            tot = np.zeros(t, np.int64)
            for d in day_offsets(n):
                lo, hi = max(0, -d), min(t, t - d)
                tot[lo:hi] += per_day[lo + d : hi + d]
            c[:, m] = tot[:, None]
        take = ~done & (c >= cfg.min_samples)
        nd[take], count[take] = n, c[take]
        done |= take
    nd[~done] = cfg.nd_max
    count[~done] = c[~done]
    sw = np.zeros(valid.shape, np.int8)
    return WindowChoice(sw, nd, count, ~done)


def _predict_global(name, cells, valid, agg, y, pix, choice, zone, cfg, ht, hs, inputs):
    """Global strategy: one model per zone and day, trained on every valid cell of the zone."""
    from smkit.engine.windows import day_offsets

    ny, nx = choice.nd.shape[1] - 2 * hs, choice.nd.shape[2] - 2 * hs
    res = np.full((len(cells), pix.per_cell), np.nan, np.float32)
    if len(cells) == 0:
        return res
    zc = zone[hs : hs + ny, hs : hs + nx]
    keys = np.stack([cells[:, 0], zc[cells[:, 1], cells[:, 2]]], axis=1)
    groups, inv = np.unique(keys, axis=0, return_inverse=True)
    Xs, ys, ptr, Zs, zptr, order = [], [], [0], [], [0], []
    for g, (t, lab) in enumerate(groups):
        th = t + ht
        n = int(choice.nd[th][zone == lab].max())
        days = np.array([th + d for d in day_offsets(n) if 0 <= th + d < valid.shape[0]])
        tt, ii, jj = np.nonzero((zone == lab)[None] & valid[days])
        Xs.append(agg[days[tt], ii, jj])
        ys.append(y[days[tt], ii, jj])
        ptr.append(ptr[-1] + len(tt))
        members = np.flatnonzero(inv.ravel() == g)
        zp, ok = pix.get(cells[members])
        Zs.append(zp[ok])
        zptr.append(zptr[-1] + int(ok.sum()))
        order.append((members, ok))
    X, ptr, Z, zptr = np.concatenate(Xs), np.array(ptr), np.concatenate(Zs), np.array(zptr)
    if cfg.clamp_covariates:
        Z = clamp_to_windows(X, ptr, Z, zptr)
    n_labels = int(zone.max()) + 2
    ids = (groups[:, 0] + inputs["origin"][0]) * n_labels + groups[:, 1] + 1  # global (day, zone)
    pred = fit_predict(
        name, X, np.concatenate(ys), ptr, Z, zptr, params=(cfg.params or {}).get(name), backend=cfg.backend,
        seed=cfg.seed, window_ids=ids,
    )
    for g, (members, ok) in enumerate(order):
        block = np.full((len(members), pix.per_cell), np.nan, np.float32)
        block[ok] = pred[zptr[g] : zptr[g + 1]]
        res[members] = block
    if cfg.residual_correction:
        _shift_to_retrieval(res, y[cells[:, 0] + ht, cells[:, 1] + hs, cells[:, 2] + hs])
    return res


def _shift_to_retrieval(res: np.ndarray, retrieval: np.ndarray) -> None:
    """Shift each cell's pixels (rows of ``res``) so that they average to its retrieval, in place."""
    with np.errstate(invalid="ignore"):
        resid = retrieval - np.nanmean(res, axis=1)
    res += np.where(np.isfinite(resid), resid, 0.0).astype(np.float32)[:, None]


# --------------------------------------------------------------------------- the driver
def _chunks(i0: int, i1: int, ny: int, nx: int, time_chunk: int, tile: int):
    nt = i1
    for t0 in range(i0, i1, time_chunk):
        for y0 in range(0, ny, tile):
            for x0 in range(0, nx, tile):
                yield (t0, min(t0 + time_chunk, nt), y0, min(y0 + tile, ny), x0, min(x0 + tile, nx))


def _chunk_id(c) -> str:
    return "t{}-{}_y{}-{}_x{}-{}".format(*c)


def load_inputs(c, y_all, fine, covs, zone_all, cfg, factor, ht, hs, nt_all, native=None, origin_px=(0, 0)):
    """One chunk's arrays with halos (NaN outside the domain).

    The fine covariates of the chunk and its halo are gap-filled in time
    first, then aggregated to the coarse grid, so that training (coarse) and
    prediction (fine) see the same covariates. Only covariates with gaps in
    the chunk's days are read over the extra ``gap_days`` on either side.
    Covariates coarser than the fine grid (``native`` maps their names to
    fine pixels per native cell; ``origin_px`` is the global fine index of
    the dataset's first pixel) are interpolated bilinearly from their native
    cell centres (:func:`smkit.engine.features.smooth_native`) after gap filling.
    """
    t0, t1, y0, y1, x0, x1 = c
    ny_all, nx_all = y_all.shape[1:]
    native = {k: b for k, b in (native or {}).items() if b > 1 and k in covs}
    ha = AGGREGATION_HALO[cfg.aggregation]  # extra coarse cells the aggregation needs
    gap = cfg.gap_days if cfg.fill_gaps else 0
    T0, T1 = t0 - ht, t1 + ht  # days of the chunk with its temporal halo
    Y0, Y1, X0, X1 = y0 - hs, y1 + hs, x0 - hs, x1 + hs  # coarse cells covered
    A0, A1, B0, B1 = Y0 - ha, Y1 + ha, X0 - ha, X1 + ha  # ... and what their aggregates need
    f = factor

    y = np.full((T1 - T0, Y1 - Y0, X1 - X0), np.nan)
    ts, te = max(T0, 0), min(T1, nt_all)
    ys, ye, xs, xe = max(Y0, 0), min(Y1, ny_all), max(X0, 0), min(X1, nx_all)
    y[ts - T0 : te - T0, ys - Y0 : ye - Y0, xs - X0 : xe - X0] = y_all[ts:te, ys:ye, xs:xe]

    fy_all, fx_all = ny_all * f, nx_all * f

    def read(name, d0, d1, m=0):
        """Fine values of one covariate over days d0..d1 and the footprint, ``m`` more pixels around."""
        r0, r1, c0, c1 = A0 * f - m, A1 * f + m, B0 * f - m, B1 * f + m
        out = np.full((d1 - d0, r1 - r0, c1 - c0), np.nan)
        a0, a1, b0, b1 = max(r0, 0), min(r1, fy_all), max(c0, 0), min(c1, fx_all)
        e0, e1 = max(d0, 0), min(d1, nt_all)
        if e0 >= e1:
            return out
        sub = fine[name].isel(lat=slice(a0, a1), lon=slice(b0, b1))
        if "time" in sub.dims:
            vals = sub.isel(time=slice(e0, e1)).transpose("time", "lat", "lon").values
        else:  # static (elevation)
            vals = np.broadcast_to(sub.transpose("lat", "lon").values, (e1 - e0, *sub.shape))
        out[e0 - d0 : e1 - d0, a0 - r0 : a1 - r0, b0 - c0 : b1 - c0] = vals
        return out

    vals = np.empty((T1 - T0, (A1 - A0) * f, (B1 - B0) * f, len(covs)))
    filled = np.zeros(vals.shape, bool)  # per covariate
    for k, name in enumerate(covs):
        m = native.get(name, 0)  # a native cell of margin for the interpolation at the footprint's edge
        v = read(name, T0, T1, m)
        crop = np.s_[:, m : v.shape[1] - m, m : v.shape[2] - m]
        inside = np.s_[ts - T0 : te - T0, (ys - A0) * f + m : (ye - A0) * f + m,
                       (xs - B0) * f + m : (xe - B0) * f + m]
        if gap and "time" in fine[name].dims and np.isnan(v[inside]).any():
            ext = read(name, T0 - gap, T1 + gap, m)
            ext, was = fill_time_gaps(ext, gap)
            v, was = ext[gap : gap + T1 - T0], was[gap : gap + T1 - T0]
            filled[..., k] = was[crop]
        if m:
            v = smooth_native(v, m, origin_px[0] + A0 * f - m, origin_px[1] + B0 * f - m)
        vals[..., k] = v[crop]
    agg = np.moveaxis(aggregate_array(np.moveaxis(vals, -1, 1), f, cfg.aggregation, cfg.min_valid), 1, -1)
    agg = agg[:, ha : ha + Y1 - Y0, ha : ha + X1 - X0]
    core_t = slice(ht, ht + t1 - t0)
    core_s = (slice((ha + hs) * f, (ha + hs + y1 - y0) * f), slice((ha + hs) * f, (ha + hs + x1 - x0) * f))
    zone = None
    if zone_all is not None:
        zone = np.full((Y1 - Y0, X1 - X0), -1, np.int64)
        zone[ys - Y0 : ye - Y0, xs - X0 : xe - X0] = zone_all[ys:ye, xs:xe]
    return {
        "y": y, "agg": agg, "fine": vals[(core_t, *core_s)],
        "filled_by": filled[(core_t, *core_s)], "filled": filled[(core_t, *core_s)].any(-1),
        "halo_t": ht, "halo_s": hs, "zone": zone,
        "origin": (t0, y0, x0), "extent": (nt_all, ny_all, nx_all),
    }


@dataclass
class _Target:
    """One product a chunk job writes: its configuration, covariates and store."""

    name: str
    cfg: Config
    cov_idx: np.ndarray  # columns of the loaded covariates it uses
    template: xr.Dataset
    out: Path | None
    done_dir: Path | None

    def done(self, c) -> bool:
        """Whether chunk ``c`` is already in this target's store."""
        return self.done_dir is not None and (self.done_dir / _chunk_id(c)).exists()


class _ChunkJob:
    """What every chunk task needs, in one object that dask does not look into.

    (Passing the lazy ``fine`` dataset to ``dask.delayed`` directly would make
    dask compute it in full before the task runs.) A chunk's inputs are read
    once for the union of the targets' covariates; each target then gets its
    columns (leave-one-covariate-out reruns share all their reading).
    """

    def __init__(self, y_all, fine, zone_all, load_cfg, targets, factor, ht, hs, i0, threads, mask=None,
                 native=None, origin_px=(0, 0)):
        self.y_all, self.fine, self.zone_all, self.load_cfg = y_all, fine, zone_all, load_cfg
        self.native, self.origin_px = native or {}, origin_px
        self.targets, self.mask = targets, mask
        self.factor, self.ht, self.hs, self.i0, self.threads = factor, ht, hs, i0, threads

    def __call__(self, c):
        """Downscale chunk ``c`` for every target; write to stores or return the results."""
        import dask

        if self.threads:
            import numba

            numba.set_num_threads(self.threads)  # per calling thread
        with dask.config.set(scheduler="synchronous"):  # a chunk reads its inputs itself
            inputs = load_inputs(c, self.y_all, self.fine, self.load_cfg.covariates, self.zone_all,
                                  self.load_cfg, self.factor, self.ht, self.hs, self.y_all.shape[0],
                                  self.native, self.origin_px)
        if self.mask is not None:
            inputs["mask"] = self.mask[c[2]:c[3], c[4]:c[5]]
        results = {}
        for tg in self.targets:
            if tg.done(c):
                continue
            idx = tg.cov_idx
            sub = {**inputs, "agg": inputs["agg"][..., idx], "fine": inputs["fine"][..., idx],
                   "filled": inputs["filled_by"][..., idx].any(-1)}
            res = process_chunk(sub, tg.cfg, self.factor)
            if tg.out is None:
                results[tg.name] = res
                continue
            t0, t1, y0, y1, x0, x1 = c
            f, i0 = self.factor, self.i0
            fs = (slice(t0 - i0, t1 - i0), slice(y0 * f, y1 * f), slice(x0 * f, x1 * f))
            cs = (slice(t0 - i0, t1 - i0), slice(y0, y1), slice(x0, x1))
            _part(res).to_zarr(tg.out, region={"time": fs[0], "lat": fs[1], "lon": fs[2], "clat": cs[1],
                                               "clon": cs[2]}, mode="r+", consolidated=False)
            (tg.done_dir / _chunk_id(c)).touch()  # only after the region is complete
        return c, results


def _open_client(scheduler: str | None, workers: int):
    """A dask.distributed client for a scheduler address or a local process cluster, else None."""
    if scheduler in (None, "threads", "synchronous"):
        return None
    from distributed import Client, LocalCluster

    if scheduler == "processes":
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=None,
                               processes=True)
        return Client(cluster)
    if "://" not in scheduler:
        raise ValueError(
            f"unknown scheduler {scheduler!r}: give 'threads', 'synchronous', 'processes' or a "
            "dask.distributed scheduler address such as tcp://10.0.0.5:8786"
        )
    return Client(scheduler)


def _run_chunks(job: _ChunkJob, todo: list, scheduler: str | None, workers: int, progress,
                desc: str) -> list:
    """Run the chunk tasks on dask; return their (chunk, result) pairs.

    ``scheduler``: None or "threads" (dask's local threaded scheduler with
    ``workers`` threads; synchronous for one worker), "synchronous",
    "processes" (a ``LocalCluster`` of ``workers`` single-threaded processes)
    or a ``dask.distributed`` scheduler address.
    """
    import dask

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(todo), desc=desc, unit="chunk")
    try:
        client = _open_client(scheduler, workers)
        if client is None:
            from dask.callbacks import Callback

            tasks = [dask.delayed(job, pure=False)(c, dask_key_name=f"chunk-{_chunk_id(c)}") for c in todo]
            local = "synchronous" if scheduler == "synchronous" or workers <= 1 else "threads"

            def posttask(key, result, dsk, state, worker_id):
                if bar is not None and str(key).startswith("chunk-"):
                    bar.update()

            with Callback(posttask=posttask):
                return list(dask.compute(*tasks, scheduler=local, num_workers=workers))
        from distributed import as_completed

        try:
            futures = client.map(job, todo, pure=False)
            results = []
            for fut in as_completed(futures):
                results.append(fut.result())
                if bar is not None:
                    bar.update()
            return results
        finally:
            cluster = getattr(client, "cluster", None)
            client.close()
            if scheduler == "processes" and cluster is not None:
                cluster.close()
    finally:
        if bar is not None:
            bar.close()


def downscale(
    coarse: xr.Dataset,
    fine: xr.Dataset,
    config: Config | None = None,
    *,
    zones: xr.DataArray | None = None,
    days: slice | None = None,
    cells: xr.DataArray | None = None,
    time_chunk: int = 16,
    tile: int | None = None,
    out: str | Path | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool = True,
    stations: xr.Dataset | None = None,
    subgrid: bool = True,
    subgrid_period: slice | None = None,
    **options,
) -> xr.Dataset:
    """Downscale coarse soil moisture to the fine grid.

    Parameters
    ----------
    coarse : xarray.Dataset
        Coarse ``sm`` (time, lat, lon), m3 m-3; NaN where there is no retrieval.
    fine : xarray.Dataset
        Fine covariates (``lst`` K, ``ndvi`` 1, ``albedo`` 1, ``precip``
        mm day-1, ``dem`` m) on a grid nesting in the coarse grid, same days.
    config : Config, optional
        The engine's options (:class:`Config`: learners, strategy, backend,
        hyperparameters, covariates, window caps, blending, bounds, seed ...);
        default: ``Config()``.
    **options
        Fields of :class:`Config` overriding ``config``'s, e.g.
        ``learners=("rf",)`` or ``params="tune"``; an unknown name raises
        ``TypeError`` listing the valid ones.
    zones : xarray.DataArray, optional
        Integer zone labels on the coarse grid (used by ``strategy="global"``;
        ``None``: the whole domain is one zone).
    days : slice, optional
        Days to produce, e.g. ``slice("2009-07-15", "2009-07-15")``; the
        input's other days still serve as the windows' neighbouring days and
        for gap filling. Default: every day of the input.
    cells : xarray.DataArray, optional
        Boolean mask on the coarse grid (lat, lon) of the cells to produce,
        e.g. the cells holding stations (:func:`smkit.workflow.uncertainty.station_cells`);
        the others stay NaN and are flagged skipped, and chunks without a
        requested cell are not computed at all. Their neighbours still serve
        as training samples. Default: every cell.
    time_chunk : int
        Days per chunk.
    tile : int, optional
        Coarse cells per chunk side (default: the whole domain up to 24
        cells, which keeps a chunk's fine arrays to a few hundred MB).
    out : str or Path, optional
        Zarr store to stream the product into, region by region (resumable:
        a rerun with the same arguments skips finished chunks); the returned
        dataset is then opened lazily from it.
    workers : int, optional
        Chunks processed at once (default: the number of cores, at most 4),
        each with its share of the cores for the compiled learners. Two
        workers on two cores are 1.45x faster than one on demo, since a
        chunk's reading, gathering and writing are serial.
    scheduler : str, optional
        ``None``/"threads" (dask's local threaded scheduler), "synchronous",
        "processes" (a local ``dask.distributed`` cluster of ``workers``
        processes) or the address of a ``dask.distributed`` scheduler
        (``tcp://host:8786``); workers of a remote cluster must see ``fine``'s
        store and ``out``.
    seed : int
        Seed of the random forest.
    progress : bool
        Show a progress bar over chunks.
    stations : xarray.Dataset, optional
        In-situ stations inside the domain (dims station, time; ``sm`` in
        m3 m-3 or NZW's ``rsm``; see :func:`smkit.validate.match_stations`).
        When given (and ``subgrid`` is on), the sub-grid pattern is also
        learned from them at the fine scale and added to every learner's map
        without changing its cell means (:mod:`smkit.engine.subgrid`): on the demo
        (16 stations, fitted on 2008-2009, scored on 2010 against the truth)
        it raises the within-cell anomaly R of every learner by 0.15-0.17
        and the total R by 0.04. The returned product is then lazy (dask):
        writing it computes the correction.
    subgrid : bool, default True
        Learn and add the sub-grid pattern when ``stations`` are given; pass
        False for the windowed product alone.
    subgrid_period : slice, optional
        Days whose station observations fit the sub-grid model (e.g. the
        training years, so that other years stay independent). Default: all.

    Returns
    -------
    xarray.Dataset
        ``sm(method, time, lat, lon)`` float32 (m3 m-3) on the fine grid and,
        per coarse cell and day (dims ``time, clat, clon``): ``window_sw``
        (cells), ``window_nd`` (days), ``window_count`` (samples) and
        ``window_flag`` (bits: 1 short window at the caps, 2 skipped, 4 centre
        retrieval missing, 8 covariate gap-filled).

    Examples
    --------
    >>> from smkit.synth import make_scenario
    >>> sc = make_scenario("tiny")
    >>> sel = {"time": slice("2009-07-01", "2009-07-03")}
    >>> p = downscale(sc.coarse.sel(sel), sc.fine.sel(sel), learners=("mlr",), progress=False)
    >>> p["sm"].dims, p["sm"].attrs["units"]
    (('method', 'time', 'lat', 'lon'), 'm3 m-3')
    """
    cfg = Config.from_options(config, **options)
    product = downscale_variants(coarse, fine, {"product": cfg.covariates}, cfg,
                                 out=None if out is None else {"product": out}, zones=zones, days=days,
                                 cells=cells, time_chunk=time_chunk, tile=tile, workers=workers,
                                 scheduler=scheduler, progress=progress)["product"]
    if stations is None or not subgrid:
        return product
    from smkit.engine.subgrid import apply_subgrid, fit_subgrid, station_table

    covs = cfg.covariates
    table = station_table(product, fine, stations, covariates=covs, smooth_coarse=cfg.smooth_coarse,
                          time=subgrid_period)
    models = fit_subgrid(table, [str(m) for m in product["method"].values], covs)
    return apply_subgrid(product, fine, models, covariates=covs, smooth_coarse=cfg.smooth_coarse,
                         sm_max=cfg.sm_max)


def downscale_variants(
    coarse: xr.Dataset,
    fine: xr.Dataset,
    covariate_sets: dict[str, tuple[str, ...]],
    config: Config | None = None,
    *,
    out: dict[str, str | Path] | None = None,
    zones: xr.DataArray | None = None,
    days: slice | None = None,
    cells: xr.DataArray | None = None,
    time_chunk: int = 16,
    tile: int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool = True,
    **options,
) -> dict[str, xr.Dataset]:
    """Downscale with several sets of covariates in one pass over the inputs.

    Each chunk's inputs are read, gap-filled and aggregated once for the
    union of the sets, then every set is fitted on its own columns; the
    products are identical to separate :func:`downscale` calls with each
    set, at a fraction of the reading (leave-one-covariate-out reruns).

    Parameters
    ----------
    coarse, fine : xarray.Dataset
        As for :func:`downscale`.
    covariate_sets : dict
        ``{name: covariates}``, e.g. ``{"without lst": ("ndvi", "albedo", "precip", "dem")}``.
    out : dict, optional
        ``{name: store}`` Zarr stores (resumable per set); default: in memory.
    config, **options
        The engine's options (:class:`Config`) and overrides of its fields;
        ``covariates`` is replaced by each set's.
    zones, days, cells, time_chunk, tile, workers, scheduler, progress
        As for :func:`downscale`.

    Returns
    -------
    dict
        ``{name: product}`` (see :func:`downscale`).
    """
    base = Config.from_options(config, **options)
    learners, strategy, backend = base.learners, base.strategy, base.backend
    workers = workers or min(os.cpu_count() or 1, 4)
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if not covariate_sets:
        raise ValueError("give at least one set of covariates")
    union = tuple(dict.fromkeys(v for covs in covariate_sets.values() for v in covs))
    missing = [v for v in union if v not in fine.data_vars]
    if missing:
        raise KeyError(f"fine covariates {missing} not found; the fine dataset has {sorted(fine.data_vars)}")
    if out is not None and set(out) != set(covariate_sets):
        raise ValueError(f"out names {sorted(out)} differ from the covariate sets {sorted(covariate_sets)}")
    if "sm" not in coarse.data_vars:
        raise KeyError(f"coarse dataset has no 'sm'; it has {sorted(coarse.data_vars)}")
    cgrid, fgrid = Grid.from_dataset(coarse), Grid.from_dataset(fine)
    try:
        factor = nesting_factor(cgrid, fgrid)
    except ValueError as err:
        raise ValueError(f"cannot downscale: {err}") from None
    if not np.array_equal(coarse["time"].values, fine["time"].values):
        raise ValueError("coarse and fine datasets must have the same days (time coordinates differ)")
    params = base.params
    if params == "tune":
        params = tune_params(coarse, fine, learners, union, base.aggregation, base.min_valid, base.seed, progress)
    params = {name: resolve_params(name, (params or {}).get(name)) for name in learners}
    base = replace(base, params=params)

    load_cfg = replace(base, covariates=union)
    nt, (ny, nx) = coarse.sizes["time"], cgrid.shape
    zone_all = None
    if strategy == "global":
        zone_all = np.zeros((ny, nx), np.int64) if zones is None else np.asarray(zones.values, np.int64)
        tile = max(ny, nx)  # a zone spans the domain: chunk in time only
    tile = tile or min(max(ny, nx), DEFAULT_TILE)
    if days is None:
        i0, i1 = 0, nt
    else:
        sl = coarse.indexes["time"].slice_indexer(days.start, days.stop)
        i0, i1 = sl.start or 0, nt if sl.stop is None else sl.stop
        if i1 <= i0:
            raise ValueError(f"no days of the input fall in {days}")
    # blending fits the windows of a ring of cells around each chunk too: one more cell of halo
    ht, hs = base.nd_max // 2, (0 if strategy == "global" else base.sw_max // 2 + int(base.blend))
    mask = None
    if cells is not None:
        mask = np.asarray(cells.transpose("lat", "lon").values, dtype=bool)
        if mask.shape != (ny, nx):
            raise ValueError(f"cells mask has shape {mask.shape}; the coarse grid is {(ny, nx)}")
        if not mask.any():
            raise ValueError("the cells mask selects no cell")
    chunks = [c for c in _chunks(i0, i1, ny, nx, time_chunk, tile)
              if mask is None or mask[c[2]:c[3], c[4]:c[5]].any()]

    targets = []
    for name, covs in covariate_sets.items():
        cfg = replace(base, covariates=tuple(covs))
        attrs = {
            "title": "smkit downscaled soil moisture",
            "smkit_version": __version__,
            "strategy": strategy,
            "backend": backend,
            "covariates": ",".join(covs),
            "aggregation": cfg.aggregation,
            "window_caps": f"sw_max={cfg.sw_max} cells, nd_max={cfg.nd_max} days, growth={cfg.growth}",
            "min_samples": cfg.min_samples,
            "residual_correction": int(cfg.residual_correction),
            "clamp_covariates": int(cfg.clamp_covariates),
            "blend": int(cfg.blend and strategy == "window"),
            "blend_width": cfg.blend_width,
            "smooth_coarse": int(cfg.smooth_coarse),
            "sm_max": cfg.sm_max,
            "hyperparameters": json.dumps(params, sort_keys=True),
            "factor": factor,
            "smkit_config": cfg.digest(),
        }
        template = _template(coarse.isel(time=slice(i0, i1)), fine, cgrid, fgrid, learners, attrs)
        if mask is not None:
            template.attrs["cells"] = int(mask.sum())
            # the requested cells are part of what the store holds: a resumed run must ask for the same
            template.attrs["smkit_config"] = hashlib.sha256(
                (cfg.digest() + np.packbits(mask).tobytes().hex()).encode()).hexdigest()[:16]
            template["window_flag"] = template["window_flag"] + np.int8(FLAG_SKIPPED)
        store = done_dir = None
        if out is not None:
            store = Path(out[name])
            done_dir = _open_store(store, template, mask, time_chunk, tile, factor)
        idx = np.array([union.index(v) for v in covs], dtype=np.int64)
        targets.append(_Target(name, cfg, idx, template, store, done_dir))
    todo = [c for c in chunks if not all(tg.done(c) for tg in targets)]
    threads = None if workers == 1 else max(1, (os.cpu_count() or 1) // workers)
    y_all = coarse["sm"].transpose("time", "lat", "lon").values.astype(np.float64)
    native = {v: native_block(fine[v], fgrid.res) for v in union} if base.smooth_coarse else {}
    origin_px = tuple(int(g) for g in fgrid.global_index(fgrid.lat[0], fgrid.lon[0]))
    job = _ChunkJob(y_all, fine, zone_all, load_cfg, targets, factor, ht, hs, i0, threads, mask,
                    native, origin_px)
    results = _run_chunks(job, todo, scheduler, workers, progress,
                          desc=f"downscaling ({strategy}, {backend})")
    products = {}
    for tg in targets:
        if tg.out is not None:
            products[tg.name] = xr.open_zarr(tg.out, consolidated=False)
            continue
        result = {k: np.array(tg.template[k].values) for k in tg.template.data_vars}
        for c, res_by_name in results:
            res = res_by_name[tg.name]
            t0, t1, y0, y1, x0, x1 = c
            fs = (slice(t0 - i0, t1 - i0), slice(y0 * factor, y1 * factor), slice(x0 * factor, x1 * factor))
            cs = (slice(t0 - i0, t1 - i0), slice(y0, y1), slice(x0, x1))
            result["sm"][(slice(None), *fs)] = res["sm"]
            for k in ("sw", "nd", "count", "flag"):
                result[f"window_{k}"][cs] = res[k]
            result["clipped"][(slice(None), *cs)] = res["clipped"]
        ds = tg.template.copy()
        for k, v in result.items():
            ds[k] = (tg.template[k].dims, v, tg.template[k].attrs)
        products[tg.name] = ds
    return products


def _open_store(store: Path, template: xr.Dataset, mask, time_chunk: int, tile: int, factor: int) -> Path:
    """Create a product store from its template, or check that an existing one matches; the done folder."""
    done_dir = store.with_name(store.name + ".done")  # chunk markers, beside the store
    if store.exists():
        existing = xr.open_zarr(store, consolidated=False)
        if existing.attrs.get("smkit_config") != template.attrs["smkit_config"]:
            raise ValueError(
                f"{store} holds a product made with other arguments; give a new path or delete it"
            )
        done_dir.mkdir(parents=True, exist_ok=True)
        return done_dir
    enc = {
        "sm": {"chunks": (1, time_chunk, tile * factor, tile * factor)},
        **{v: {"chunks": (time_chunk, tile, tile)} for v in _DIAGNOSTICS},
        "clipped": {"chunks": (1, time_chunk, tile, tile)},
    }
    if done_dir.exists():  # markers of an older, deleted store
        shutil.rmtree(done_dir)
    template.to_zarr(store, mode="w", compute=False, encoding=enc, consolidated=False)
    if mask is not None:  # chunks never computed must still read as skipped
        flags = template[["window_flag"]].drop_vars(["time", "clat", "clon"]).compute()
        flags.to_zarr(store, mode="r+", consolidated=False,
                      region={"time": slice(None), "clat": slice(None), "clon": slice(None)})
    done_dir.mkdir(parents=True, exist_ok=True)
    return done_dir


def tune_params(coarse, fine, learners, covariates, aggregation="mean", min_valid=0.5, seed=0,
                progress=True) -> dict:
    """Tune the learners on the pooled coarse training set (see :func:`smkit.engine.learners.tune`)."""
    from smkit.engine.features import training_table
    from smkit.engine.learners import tune

    table = training_table(coarse, fine, covariates=tuple(covariates), min_valid=min_valid,
                           method=aggregation)
    cells = table.groupby(["lat", "lon"]).ngroup().to_numpy()  # spatial folds: whole cells held out
    tuned = tune(table[list(covariates)].to_numpy(), table["sm"].to_numpy(), learners, seed=seed,
                 progress=progress, groups=cells)
    return {name: {k: v for k, v in p.items() if k != "cv_rmse"} for name, p in tuned.items()}


_DIAGNOSTICS = ("window_sw", "window_nd", "window_count", "window_flag")


def _template(coarse, fine, cgrid, fgrid, learners, attrs) -> xr.Dataset:
    nt, (ny, nx), (fy, fx) = coarse.sizes["time"], cgrid.shape, fgrid.shape
    L = len(learners)
    import dask.array as da

    time = coarse["time"]
    coords = {
        "method": ("method", list(learners)),
        "time": time,
        "lat": ("lat", fgrid.lat, fine["lat"].attrs),
        "lon": ("lon", fgrid.lon, fine["lon"].attrs),
        "clat": ("clat", cgrid.lat, {**coarse["lat"].attrs, "long_name": "coarse-cell latitude"}),
        "clon": ("clon", cgrid.lon, {**coarse["lon"].attrs, "long_name": "coarse-cell longitude"}),
    }
    full = lambda shape, dtype, fill: da.full(shape, fill, dtype=dtype, chunks=shape)  # noqa: E731
    return xr.Dataset(
        {
            "sm": (("method", "time", "lat", "lon"), full((L, nt, fy, fx), np.float32, np.nan),
                   {"long_name": "downscaled soil moisture", "units": "m3 m-3",
                    "valid_range": np.array([0.0, attrs.get("sm_max", 1.0)], np.float32)}),
            "window_sw": (("time", "clat", "clon"), full((nt, ny, nx), np.int8, 0),
                          {"long_name": "spatial window size", "units": "cells"}),
            "window_nd": (("time", "clat", "clon"), full((nt, ny, nx), np.int8, 0),
                          {"long_name": "temporal window length", "units": "days"}),
            "window_count": (("time", "clat", "clon"), full((nt, ny, nx), np.int32, 0),
                             {"long_name": "training samples in the window", "units": "1"}),
            "window_flag": (("time", "clat", "clon"), full((nt, ny, nx), np.int8, 0),
                            {"long_name": "window flag", "flag_masks": np.array([1, 2, 4, 8, 16], np.int8),
                             "flag_meanings": FLAG_MEANINGS, "units": "1"}),
            "clipped": (("method", "time", "clat", "clon"), full((L, nt, ny, nx), np.int16, 0),
                        {"long_name": "fine pixels clipped to the physical range [0, sm_max]",
                         "units": "1"}),
        },
        coords=coords,
        attrs=attrs,
    )


def _part(res) -> xr.Dataset:
    return xr.Dataset(
        {
            "sm": (("method", "time", "lat", "lon"), res["sm"]),
            "window_sw": (("time", "clat", "clon"), res["sw"]),
            "window_nd": (("time", "clat", "clon"), res["nd"]),
            "window_count": (("time", "clat", "clon"), res["count"]),
            "window_flag": (("time", "clat", "clon"), res["flag"]),
            "clipped": (("method", "time", "clat", "clon"), res["clipped"]),
        }
    )
