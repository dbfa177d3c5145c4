"""Predictions cell by cell: each model predicts the fine pixels of its own cells only.

Two of the strategies of :func:`smkit.engine.chunks.strategy_for` predict this
way: the ``window`` strategy without blending (:func:`predict_window`: every
cell-day's window predicts its centre cell) and the ``global`` strategy
(:func:`predict_global`: one model per zone and day predicts all of the
zone's cells). The blended window strategy is :func:`smkit.engine.blend.predict_blended`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from smkit.engine.blend import WindowBatch
from smkit.engine.windows import day_offsets, gather

if TYPE_CHECKING:
    from smkit.engine.chunks import ChunkWindows
    from smkit.engine.config import Config

__all__ = ["cells_to_map", "shift_to_retrieval", "predict_window", "predict_global"]


def cells_to_map(pred: np.ndarray, fit: np.ndarray, f: int) -> np.ndarray:
    """The (T, Ny*f, Nx*f) map of per-cell predictions.

    Parameters
    ----------
    pred : ndarray, shape (n, f*f)
        The fine pixels of the cells of ``fit``, in ``argwhere`` order, m3 m-3.
    fit : ndarray of bool, shape (T, Ny, Nx)
        The cells predicted (the others stay NaN).
    f : int
        Fine pixels per coarse cell.

    Returns
    -------
    ndarray of float32
    """
    nt, ny, nx = fit.shape
    out = np.full((nt * ny * nx, f * f), np.nan, np.float32)
    out[fit.ravel()] = pred
    return out.reshape(nt, ny, nx, f, f).transpose(0, 1, 3, 2, 4).reshape(nt, ny * f, nx * f)


def shift_to_retrieval(res: np.ndarray, retrieval: np.ndarray) -> None:
    """Shift each cell's pixels (rows of ``res``) so that they average to its retrieval, in place.

    Cells without a retrieval (NaN) are left as they are.
    """
    with np.errstate(invalid="ignore"):
        resid = retrieval - np.nanmean(res, axis=1)
    res += np.where(np.isfinite(resid), resid, 0.0).astype(np.float32)[:, None]


def predict_window(name: str, fit: np.ndarray, need: int, windows: ChunkWindows, cfg: Config) -> np.ndarray:
    """Fit the window of every cell of ``fit`` and predict its centre cell's valid fine pixels.

    With residual correction, each cell's pixels are shifted by the retrieval
    minus their mean, so they average back to the retrieval where it exists.
    Arguments and result as :func:`smkit.engine.blend.predict_blended`.
    """
    cells = np.argwhere(fit)
    pix, inputs = windows.pixels, windows.inputs
    res = np.full((len(cells), pix.per_cell), np.nan, np.float32)
    if len(cells):
        halo_cells = cells + np.array([inputs.halo.days, inputs.halo.cells, inputs.halo.cells])
        X, yy, ptr = gather(windows.valid, inputs.agg, inputs.y, windows.choice, halo_cells)
        zp, zok = pix.get(cells)
        ids = np.ravel_multi_index((cells + np.asarray(inputs.origin)).T, inputs.extent)
        res[zok] = WindowBatch(X, yy, ptr, zp[zok], np.r_[0, np.cumsum(zok.sum(1))], ids).predict(name, cfg)
        if cfg.residual_correction:
            shift_to_retrieval(res, inputs.y[halo_cells[:, 0], halo_cells[:, 1], halo_cells[:, 2]])
    return cells_to_map(res, fit, pix.f)


def _zone_day_batch(cells: np.ndarray, windows: ChunkWindows) -> tuple[WindowBatch, list]:
    """One window per (day, zone) of ``cells``: every valid cell-day of the zone over its ``nd`` days.

    Returns the batch and, per window, its member cells (rows of ``cells``)
    and their valid pixels.
    """
    inputs, choice, valid, pix = windows.inputs, windows.choice, windows.valid, windows.pixels
    ht, hs, zone = inputs.halo.days, inputs.halo.cells, inputs.zone
    ny, nx = choice.nd.shape[1] - 2 * hs, choice.nd.shape[2] - 2 * hs
    zc = zone[hs : hs + ny, hs : hs + nx]
    keys = np.stack([cells[:, 0], zc[cells[:, 1], cells[:, 2]]], axis=1)
    groups, inv = np.unique(keys, axis=0, return_inverse=True)
    Xs, ys, ptr, Zs, zptr, order = [], [], [0], [], [0], []
    for g, (t, lab) in enumerate(groups):
        th = t + ht
        n = int(choice.nd[th][zone == lab].max())
        days = np.array([th + d for d in day_offsets(n) if 0 <= th + d < valid.shape[0]])
        tt, ii, jj = np.nonzero((zone == lab)[None] & valid[days])
        Xs.append(inputs.agg[days[tt], ii, jj])
        ys.append(inputs.y[days[tt], ii, jj])
        ptr.append(ptr[-1] + len(tt))
        members = np.flatnonzero(inv.ravel() == g)
        zp, ok = pix.get(cells[members])
        Zs.append(zp[ok])
        zptr.append(zptr[-1] + int(ok.sum()))
        order.append((members, ok))
    n_labels = int(zone.max()) + 2
    ids = (groups[:, 0] + inputs.origin[0]) * n_labels + groups[:, 1] + 1  # global (day, zone)
    batch = WindowBatch(np.concatenate(Xs), np.concatenate(ys), np.array(ptr), np.concatenate(Zs),
                        np.array(zptr), ids)
    return batch, order


def predict_global(name: str, fit: np.ndarray, need: int, windows: ChunkWindows, cfg: Config) -> np.ndarray:
    """Global strategy: one model per zone and day, trained on every valid cell of the zone.

    Arguments and result as :func:`smkit.engine.blend.predict_blended`.
    """
    cells = np.argwhere(fit)
    pix, inputs = windows.pixels, windows.inputs
    res = np.full((len(cells), pix.per_cell), np.nan, np.float32)
    if len(cells):
        batch, order = _zone_day_batch(cells, windows)
        pred = batch.predict(name, cfg)
        for g, (members, ok) in enumerate(order):
            block = np.full((len(members), pix.per_cell), np.nan, np.float32)
            block[ok] = pred[batch.zptr[g] : batch.zptr[g + 1]]
            res[members] = block
        if cfg.residual_correction:
            ht, hs = inputs.halo.days, inputs.halo.cells
            shift_to_retrieval(res, inputs.y[cells[:, 0] + ht, cells[:, 1] + hs, cells[:, 2] + hs])
    return cells_to_map(res, fit, pix.f)
