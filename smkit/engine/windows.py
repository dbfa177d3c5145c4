"""Adaptive spatio-temporal windows (the paper's section 3.4), vectorised.

For every coarse cell and day, the training set of its local models is the
valid coarse cell-days in an ``sw x sw`` block of cells around it over ``nd``
days. The search starts at ``sw = 3``, ``nd = 1`` and grows through a
sequence of (sw, nd) candidates until the window holds at least
``min_samples`` valid samples (8 x the number of covariates in the paper), up
to the caps (5 and 3 by default; the paper's sensitivity grid reaches 10 and
5). Days are added in the order t, t-1, t+1, t-2, t+2, ...

The search for all cells and days at once is a handful of box sums over the
validity mask (a summed-area table per day, then sums over day offsets), so a
whole day costs milliseconds. The ``global`` strategy's windows are whole
zones instead (:func:`zone_windows`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "GROWTH_ORDERS",
    "FLAG_OK",
    "FLAG_SHORT",
    "FLAG_SKIPPED",
    "FLAG_CENTRE_MISSING",
    "FLAG_GAP_FILLED",
    "FLAG_CLIPPED",
    "FLAG_MEANINGS",
    "day_offsets",
    "space_offsets",
    "candidates",
    "WindowChoice",
    "choose_windows",
    "zone_windows",
    "gather",
]

GROWTH_ORDERS = ("space", "time", "alternate")

# diagnostics flag bits (per coarse cell and day)
FLAG_OK = 0
FLAG_SHORT = 1  # the window at the caps is short of min_samples but was fitted
FLAG_SKIPPED = 2  # too few samples even at the caps: left NaN
FLAG_CENTRE_MISSING = 4  # the cell's own retrieval is missing; predicted from its window
FLAG_GAP_FILLED = 8  # fine covariates of the cell were gap-filled in time
FLAG_CLIPPED = 16  # some predicted pixels fell outside [0, sm_max] and were clipped
FLAG_MEANINGS = "short_window skipped centre_retrieval_missing covariate_gap_filled values_clipped"


def day_offsets(nd: int) -> np.ndarray:
    """Day offsets of a temporal window of ``nd`` days: 0, -1, +1, -2, +2, ..."""
    out = [0]
    k = 1
    while len(out) < nd:
        out.append(-k)
        if len(out) < nd:
            out.append(k)
        k += 1
    return np.array(out, dtype=np.int64)


def space_offsets(sw: int) -> np.ndarray:
    """Row/column offsets of an ``sw x sw`` block: ``-(sw // 2) ... (sw - 1) // 2``."""
    return np.arange(-(sw // 2), (sw - 1) // 2 + 1, dtype=np.int64)


def candidates(sw0: int = 3, nd0: int = 1, sw_max: int = 5, nd_max: int = 3,
               growth: str = "space") -> list[tuple[int, int]]:
    """The sequence of (sw, nd) windows tried, from the start to the caps.

    Parameters
    ----------
    sw0, nd0 : int
        Starting spatial size (cells) and duration (days).
    sw_max, nd_max : int
        Caps (the paper's sensitivity grid spans sw 3-10 and nd 1-5).
    growth : {"space", "time", "alternate"}
        Grow space first to its cap then time (the default), time first, or
        alternate one step of each.
    """
    if growth not in GROWTH_ORDERS:
        raise ValueError(f"unknown growth order {growth!r}; choose one of {list(GROWTH_ORDERS)}")
    if not (1 <= sw0 <= sw_max and 1 <= nd0 <= nd_max):
        raise ValueError(f"need 1 <= sw0 <= sw_max and 1 <= nd0 <= nd_max, got {sw0, sw_max, nd0, nd_max}")
    sw, nd = sw0, nd0
    seq = [(sw, nd)]
    while (sw, nd) != (sw_max, nd_max):
        if growth == "space":
            sw, nd = (sw + 1, nd) if sw < sw_max else (sw, nd + 1)
        elif growth == "time":
            sw, nd = (sw, nd + 1) if nd < nd_max else (sw + 1, nd)
        else:
            grow_space = (len(seq) % 2 == 1 and sw < sw_max) or nd >= nd_max
            sw, nd = (sw + 1, nd) if grow_space else (sw, nd + 1)
        seq.append((sw, nd))
    return seq


def _box_counts(valid: np.ndarray, sw: int) -> np.ndarray:
    """Number of valid cells in the sw x sw block around each cell, per day (edges clipped)."""
    t, ny, nx = valid.shape
    sat = np.zeros((t, ny + 1, nx + 1), dtype=np.int64)
    sat[:, 1:, 1:] = valid.astype(np.int64).cumsum(1).cumsum(2)
    off = space_offsets(sw)
    i = np.arange(ny)
    j = np.arange(nx)
    i0, i1 = np.clip(i + off[0], 0, ny), np.clip(i + off[-1] + 1, 0, ny)
    j0, j1 = np.clip(j + off[0], 0, nx), np.clip(j + off[-1] + 1, 0, nx)
    return (
        sat[:, i1[:, None], j1[None, :]] - sat[:, i0[:, None], j1[None, :]]
        - sat[:, i1[:, None], j0[None, :]] + sat[:, i0[:, None], j0[None, :]]
    )


@dataclass
class WindowChoice:
    """The window chosen for every cell and day.

    Attributes
    ----------
    sw, nd : ndarray of int8, shape (T, Ny, Nx)
        Chosen spatial size (cells) and duration (days); the caps where short.
    count : ndarray of int32, shape (T, Ny, Nx)
        Valid training samples in the chosen window.
    short : ndarray of bool
        The window at the caps holds fewer than ``min_samples``.
    """

    sw: np.ndarray
    nd: np.ndarray
    count: np.ndarray
    short: np.ndarray


def choose_windows(valid: np.ndarray, min_samples: int, seq: list[tuple[int, int]]) -> WindowChoice:
    """Choose the first window of ``seq`` holding ``min_samples`` valid samples.

    Parameters
    ----------
    valid : ndarray of bool, shape (T, Ny, Nx)
        Valid training cell-days (retrieval and every aggregated covariate present).
        Days outside the array count as invalid.
    min_samples : int
        Required number of samples (8 x number of covariates in the paper).
    seq : list of (sw, nd)
        Candidates in growth order (see :func:`candidates`).

    Returns
    -------
    WindowChoice
    """
    valid = np.asarray(valid, dtype=bool)
    t = valid.shape[0]
    shape = valid.shape
    sw = np.zeros(shape, np.int8)
    nd = np.zeros(shape, np.int8)
    count = np.zeros(shape, np.int32)
    done = np.zeros(shape, bool)
    boxes: dict[int, np.ndarray] = {}
    for s, n in seq:
        if s not in boxes:
            boxes[s] = _box_counts(valid, s)
        box = boxes[s]
        c = np.zeros(shape, np.int64)
        for d in day_offsets(n):
            lo, hi = max(0, -d), min(t, t - d)
            if lo < hi:
                c[lo:hi] += box[lo + d : hi + d]
        take = ~done & (c >= min_samples)
        sw[take], nd[take], count[take] = s, n, c[take]
        done |= take
        last = (s, n)
        last_count = c
    short = ~done
    sw[short], nd[short], count[short] = last[0], last[1], last_count[short]
    return WindowChoice(sw, nd, count, short)


def zone_windows(valid: np.ndarray, zone: np.ndarray, min_samples: int, nd_max: int) -> WindowChoice:
    """The global strategy's windows: per zone and day, every cell of the zone over ``nd`` days.

    ``nd`` grows from 1 day (in the order of :func:`day_offsets`) until the
    zone holds ``min_samples`` valid samples, up to ``nd_max``; the spatial
    size is 0 (the whole zone).

    Parameters
    ----------
    valid : ndarray of bool, shape (T, Ny, Nx)
        Valid training cell-days.
    zone : ndarray of int, shape (Ny, Nx)
        Zone labels; negative: in no zone.
    min_samples : int
        Required number of samples.
    nd_max : int
        Cap on the duration, days.

    Returns
    -------
    WindowChoice
        ``sw`` 0, ``nd`` and ``count`` per cell-day (a cell's count is its zone's).
    """
    t = valid.shape[0]
    labels = np.unique(zone[zone >= 0])
    count = np.zeros(valid.shape, np.int32)
    nd = np.zeros(valid.shape, np.int8)
    done = np.zeros(valid.shape, bool)
    for n in range(1, nd_max + 1):
        c = np.zeros(valid.shape, np.int64)
        for lab in labels:
            m = zone == lab
            per_day = (valid & m).sum(axis=(1, 2))
            tot = np.zeros(t, np.int64)
            for d in day_offsets(n):
                lo, hi = max(0, -d), min(t, t - d)
                tot[lo:hi] += per_day[lo + d : hi + d]
            c[:, m] = tot[:, None]
        take = ~done & (c >= min_samples)
        nd[take], count[take] = n, c[take]
        done |= take
    nd[~done] = nd_max
    count[~done] = c[~done]
    sw = np.zeros(valid.shape, np.int8)
    return WindowChoice(sw, nd, count, ~done)


def gather(
    valid: np.ndarray,
    features: np.ndarray,
    target: np.ndarray,
    choice: WindowChoice,
    cells: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Training samples of a set of windows as ragged arrays.

    Parameters
    ----------
    valid : ndarray of bool, shape (T, Ny, Nx)
    features : ndarray, shape (T, Ny, Nx, P)
        Aggregated covariates on the coarse grid.
    target : ndarray, shape (T, Ny, Nx)
        Coarse soil moisture.
    choice : WindowChoice
    cells : ndarray of int, shape (B, 3)
        (t, i, j) of the windows' centre cell-days, in output order.

    Returns
    -------
    X : ndarray, shape (N, P)
    y : ndarray, shape (N,)
    ptr : ndarray of int64, shape (B + 1,)
        Window b's samples are rows ``ptr[b]:ptr[b+1]``; within a window,
        samples are ordered by day offset (t, t-1, t+1, ...), then row, column.
    """
    t_n, ny, nx = valid.shape
    b = cells.shape[0]
    sws = choice.sw[cells[:, 0], cells[:, 1], cells[:, 2]]
    nds = choice.nd[cells[:, 0], cells[:, 1], cells[:, 2]]
    counts = np.zeros(b, np.int64)
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    for s in np.unique(sws):
        for n in np.unique(nds[sws == s]):
            sel = np.flatnonzero((sws == s) & (nds == n))
            off_s, off_t = space_offsets(int(s)), day_offsets(int(n))
            dt, di, dj = np.meshgrid(off_t, off_s, off_s, indexing="ij")
            tt = cells[sel, 0, None] + dt.ravel()[None, :]
            ii = cells[sel, 1, None] + di.ravel()[None, :]
            jj = cells[sel, 2, None] + dj.ravel()[None, :]
            inside = (tt >= 0) & (tt < t_n) & (ii >= 0) & (ii < ny) & (jj >= 0) & (jj < nx)
            ok = inside.copy()
            ok[inside] = valid[tt[inside], ii[inside], jj[inside]]
            counts[sel] = ok.sum(axis=1)
            w, k = np.nonzero(ok)
            parts.append((sel[w], tt[w, k], ii[w, k], jj[w, k]))
    win = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, np.int64)
    order = np.argsort(win, kind="stable")
    tt = np.concatenate([p[1] for p in parts])[order] if parts else win
    ii = np.concatenate([p[2] for p in parts])[order] if parts else win
    jj = np.concatenate([p[3] for p in parts])[order] if parts else win
    ptr = np.zeros(b + 1, np.int64)
    np.cumsum(counts, out=ptr[1:])
    return features[tt, ii, jj], target[tt, ii, jj], ptr
