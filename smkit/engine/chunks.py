"""The chunk layer: one (day block, tile) of the product, read with its halos and downscaled.

Work is split into independent chunks (:class:`Chunk`) with halos
(:class:`Halo`) so that a chunk needs nothing outside itself.
:func:`load_inputs` reads a chunk's arrays (:class:`ChunkInputs`) from the
whole product's inputs (:class:`Sources`), gap-filling, smoothing and
aggregating the fine covariates on the way; :func:`process_chunk` downscales
them, a pure function of numpy arrays, into a :class:`ChunkResult`. How the
windows are chosen and the pixels predicted is the configuration's
:class:`Strategy`, decided once by :func:`strategy_for`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from smkit.engine.blend import clip_to_range, predict_blended
from smkit.engine.features import AGGREGATION_HALO, aggregate_array, fill_time_gaps, smooth_native
from smkit.engine.learners import get_learner
from smkit.engine.predict import predict_global, predict_window
from smkit.engine.windows import (
    FLAG_CENTRE_MISSING,
    FLAG_CLIPPED,
    FLAG_GAP_FILLED,
    FLAG_SHORT,
    FLAG_SKIPPED,
    WindowChoice,
    candidates,
    choose_windows,
    zone_windows,
)

if TYPE_CHECKING:
    from smkit.engine.config import Config

__all__ = [
    "Chunk",
    "Halo",
    "Sources",
    "ChunkInputs",
    "ChunkResult",
    "Pixels",
    "ChunkWindows",
    "Strategy",
    "strategy_for",
    "load_inputs",
    "process_chunk",
]


# --------------------------------------------------------------------------- what a chunk is
@dataclass(frozen=True)
class Chunk:
    """A box of the product: half-open ranges of days and of coarse rows and columns.

    A chunk of work is such a box inside the domain; the box a chunk reads
    (:meth:`grown` by its halo) may reach outside it.

    Examples
    --------
    >>> c = Chunk(t0=0, t1=16, y0=0, y1=24, x0=24, x1=30)
    >>> c.id, c.grown(1, 2).corner
    ('t0-16_y0-24_x24-30', (-1, -2, 22))
    >>> c.slices(origin=(0, 0, 24), factor=10)[1:]
    (slice(0, 240, None), slice(0, 60, None))
    """

    t0: int
    t1: int
    y0: int
    y1: int
    x0: int
    x1: int

    @property
    def id(self) -> str:
        """A name for the chunk, unique in its product (its store's done marker)."""
        return f"t{self.t0}-{self.t1}_y{self.y0}-{self.y1}_x{self.x0}-{self.x1}"

    @property
    def corner(self) -> tuple[int, int, int]:
        """The (day, row, column) of its first cell-day."""
        return self.t0, self.y0, self.x0

    @property
    def cells(self) -> tuple[slice, slice]:
        """Its coarse rows and columns, as slices of the coarse grid."""
        return slice(self.y0, self.y1), slice(self.x0, self.x1)

    def grown(self, days: int, cells: int) -> Chunk:
        """The box extended by ``days`` days and ``cells`` coarse cells on each side."""
        return Chunk(self.t0 - days, self.t1 + days, self.y0 - cells, self.y1 + cells, self.x0 - cells,
                     self.x1 + cells)

    def clipped(self, extent: tuple[int, int, int]) -> Chunk:
        """The part of the box inside a product of ``extent`` (days, rows, columns)."""
        nt, ny, nx = extent
        return Chunk(max(self.t0, 0), min(self.t1, nt), max(self.y0, 0), min(self.y1, ny), max(self.x0, 0),
                     min(self.x1, nx))

    def slices(self, origin: tuple[int, int, int] = (0, 0, 0), factor: int = 1) -> tuple[slice, slice, slice]:
        """Its days, rows and columns in an array whose first element is cell-day ``origin``.

        ``factor`` > 1 gives the rows and columns of its fine pixels
        (``factor`` per coarse cell).
        """
        t, y, x = origin
        return (slice(self.t0 - t, self.t1 - t), slice((self.y0 - y) * factor, (self.y1 - y) * factor),
                slice((self.x0 - x) * factor, (self.x1 - x) * factor))

    def regions(self, first_day: int, factor: int) -> tuple[tuple[slice, ...], tuple[slice, ...]]:
        """Its (time, lat, lon) region of the fine grid and (time, clat, clon) of the coarse grid.

        In a product whose first day is day ``first_day`` of the input.
        """
        origin = (first_day, 0, 0)
        return self.slices(origin, factor), self.slices(origin)


@dataclass(frozen=True)
class Halo:
    """How far a chunk reads beyond its core, on each side: its windows reach that far.

    Attributes
    ----------
    days : int
        Days (half the temporal window cap).
    cells : int
        Coarse cells (half the spatial cap, plus one with blending).
    """

    days: int
    cells: int


@dataclass(frozen=True, eq=False)
class Sources:
    """The whole product's inputs, which each chunk reads its part of.

    Attributes
    ----------
    sm : ndarray, shape (T, Ny, Nx)
        Coarse soil moisture, m3 m-3 (float64; NaN = no retrieval).
    fine : xarray.Dataset
        Fine covariates on the nesting fine grid (lazy: a chunk reads only
        its footprint).
    factor : int
        Fine pixels per coarse cell.
    zones : ndarray of int, shape (Ny, Nx), optional
        Zone labels of the global strategy.
    cells : ndarray of bool, shape (Ny, Nx), optional
        The cells to produce (default: all).
    native : dict
        ``{covariate: fine pixels per native cell}`` of covariates that come
        on a coarser native grid (interpolated bilinearly from their native
        cell centres, :func:`smkit.engine.features.smooth_native`).
    origin_px : (int, int)
        Global fine (row, column) of the dataset's first pixel.
    """

    sm: np.ndarray
    fine: xr.Dataset
    factor: int
    zones: np.ndarray | None = None
    cells: np.ndarray | None = None
    native: dict = field(default_factory=dict)
    origin_px: tuple[int, int] = (0, 0)


@dataclass(frozen=True, eq=False)
class ChunkInputs:
    """One chunk's arrays, with halos (NaN outside the domain).

    Attributes
    ----------
    y : ndarray, shape (T+2h, Ny+2s, Nx+2s)
        Coarse soil moisture, m3 m-3, with the chunk's halo of ``h`` days
        and ``s`` cells.
    agg : ndarray, shape (T+2h, Ny+2s, Nx+2s, P)
        The (gap-filled) covariates aggregated to the coarse grid, their units.
    fine : ndarray, shape (T, Ny*f, Nx*f, P)
        The gap-filled fine covariates of the core cell-days.
    filled_by : ndarray of bool, shape (T, Ny*f, Nx*f, P)
        Where each covariate was gap-filled.
    halo : Halo
    factor : int
        Fine pixels per coarse cell (``f``).
    origin, extent : tuple of int
        (t, i, j) of the chunk's first core cell-day in the whole product
        and (T, Ny, Nx) of the whole product: they give every window a
        global id, so that the forest's randomness does not depend on the
        chunking.
    zone : ndarray of int, shape (Ny+2s, Nx+2s), optional
        Zone labels (-1 outside the domain).
    mask : ndarray of bool, shape (Ny, Nx), optional
        The cells to produce (default: all).
    """

    y: np.ndarray
    agg: np.ndarray
    fine: np.ndarray
    filled_by: np.ndarray
    halo: Halo
    factor: int
    origin: tuple[int, int, int]
    extent: tuple[int, int, int]
    zone: np.ndarray | None = None
    mask: np.ndarray | None = None

    @property
    def filled(self) -> np.ndarray:
        """Where any covariate was gap-filled, (T, Ny*f, Nx*f)."""
        return self.filled_by.any(-1)

    @property
    def core_shape(self) -> tuple[int, int, int]:
        """(T, Ny, Nx) of the core cell-days."""
        tt, hy, hx = self.y.shape
        return tt - 2 * self.halo.days, hy - 2 * self.halo.cells, hx - 2 * self.halo.cells

    @property
    def core(self) -> tuple[slice, slice, slice]:
        """The core cell-days in the arrays with halos."""
        (nt, ny, nx), ht, hs = self.core_shape, self.halo.days, self.halo.cells
        return slice(ht, ht + nt), slice(hs, hs + ny), slice(hs, hs + nx)

    def columns(self, idx: np.ndarray) -> ChunkInputs:
        """The same inputs with only the covariates at positions ``idx``."""
        return replace(self, agg=self.agg[..., idx], fine=self.fine[..., idx],
                       filled_by=self.filled_by[..., idx])


@dataclass(frozen=True, eq=False)
class ChunkResult:
    """One downscaled chunk.

    Attributes
    ----------
    sm : ndarray of float32, shape (L, T, Ny*f, Nx*f)
        Fine soil moisture per learner, m3 m-3 (NaN: not produced).
    sw, nd : ndarray of int8, shape (T, Ny, Nx)
        Chosen window size (cells) and duration (days).
    count : ndarray of int32, shape (T, Ny, Nx)
        Training samples in the window.
    flag : ndarray of int8, shape (T, Ny, Nx)
        Window flag bits (:data:`smkit.engine.windows.FLAG_MEANINGS`).
    clipped : ndarray of int16, shape (L, T, Ny, Nx)
        Fine pixels clipped to ``[0, sm_max]``.
    """

    sm: np.ndarray
    sw: np.ndarray
    nd: np.ndarray
    count: np.ndarray
    flag: np.ndarray
    clipped: np.ndarray


class Pixels:
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


@dataclass(frozen=True, eq=False)
class ChunkWindows:
    """A chunk's inputs with its training windows chosen: what every learner's prediction reads.

    Attributes
    ----------
    inputs : ChunkInputs
    valid : ndarray of bool, shape (T+2h, Ny+2s, Nx+2s)
        Valid training cell-days (retrieval and every aggregated covariate present).
    choice : WindowChoice
        The window of every cell-day, halos included.
    pixels : Pixels
        The fine pixels of the core cell-days.
    """

    inputs: ChunkInputs
    valid: np.ndarray
    choice: WindowChoice
    pixels: Pixels


# --------------------------------------------------------------------------- the strategies
@dataclass(frozen=True)
class Strategy:
    """What a strategy does, decided once from the configuration (:func:`strategy_for`).

    Attributes
    ----------
    choose : callable
        ``choose(valid, zone, cfg)``: the :class:`~smkit.engine.windows.WindowChoice`
        of a chunk's cell-days.
    predict : callable
        ``predict(name, fit, need, windows, cfg)``: the (T, Ny*f, Nx*f)
        float32 map of learner ``name`` over the cells ``fit`` to produce,
        from windows of at least ``need`` samples (:class:`ChunkWindows`).
    blends : bool
        Whether neighbouring windows' models are blended.
    zoned : bool
        One model per zone: a zone spans the domain, so chunks split the
        days only and need no spatial halo.
    """

    choose: Callable[..., WindowChoice]
    predict: Callable[..., np.ndarray]
    blends: bool = False
    zoned: bool = False

    def halo(self, cfg: Config) -> Halo:
        """Days and cells a chunk reads beyond its core.

        Half the window caps; blending fits the windows of a ring of cells
        around the chunk too, which takes one more cell.
        """
        return Halo(cfg.nd_max // 2, 0 if self.zoned else cfg.sw_max // 2 + int(self.blends))


def _adaptive_windows(valid: np.ndarray, zone, cfg: Config) -> WindowChoice:
    return choose_windows(valid, cfg.min_samples, candidates(3, 1, cfg.sw_max, cfg.nd_max, cfg.growth))


def _zone_windows(valid: np.ndarray, zone: np.ndarray, cfg: Config) -> WindowChoice:
    return zone_windows(valid, zone, cfg.min_samples, cfg.nd_max)


def strategy_for(cfg: Config) -> Strategy:
    """The configuration's strategy (``cfg.strategy``, with ``cfg.blend`` for windows)."""
    if cfg.strategy == "global":
        return Strategy(_zone_windows, predict_global, zoned=True)
    if cfg.blend:
        return Strategy(_adaptive_windows, predict_blended, blends=True)
    return Strategy(_adaptive_windows, predict_window)


# --------------------------------------------------------------------------- reading a chunk
@dataclass(frozen=True, eq=False)
class _Footprint:
    """The fine pixels a chunk reads.

    ``box``: its days with their halo, and its coarse cells with their halo
    and the margin their aggregates need; ``inside``: the part of the chunk
    and its halo inside the domain; ``gap``: longest gap filled, days.
    """

    sources: Sources
    box: Chunk
    inside: Chunk
    gap: int

    def read(self, name: str, margin: int, extra_days: int = 0) -> np.ndarray:
        """One covariate over the box (and ``extra_days`` more days, ``margin`` more pixels around it)."""
        f, fine = self.sources.factor, self.sources.fine
        nt_all, ny_all, nx_all = self.sources.sm.shape
        d0, d1 = self.box.t0 - extra_days, self.box.t1 + extra_days
        r0, r1 = self.box.y0 * f - margin, self.box.y1 * f + margin
        c0, c1 = self.box.x0 * f - margin, self.box.x1 * f + margin
        out = np.full((d1 - d0, r1 - r0, c1 - c0), np.nan)
        a0, a1, b0, b1 = max(r0, 0), min(r1, ny_all * f), max(c0, 0), min(c1, nx_all * f)
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

    def covariate(self, name: str, margin: int) -> tuple[np.ndarray, np.ndarray | None]:
        """One covariate over the box, gap-filled and smoothed; where it was filled (None: nowhere).

        Only a covariate with gaps inside the domain is read over ``gap``
        more days on either side and filled. ``margin`` is one native cell
        of a coarser covariate, for the interpolation at the box's edge.
        """
        m, f, gap = margin, self.sources.factor, self.gap
        v = self.read(name, m)
        crop = np.s_[:, m : v.shape[1] - m, m : v.shape[2] - m]
        t, r, c = self.inside.slices(self.box.corner, f)
        inside = (t, slice(r.start + m, r.stop + m), slice(c.start + m, c.stop + m))
        filled = None
        if gap and "time" in self.sources.fine[name].dims and np.isnan(v[inside]).any():
            ext, was = fill_time_gaps(self.read(name, m, extra_days=gap), gap)
            nt = self.box.t1 - self.box.t0
            v, filled = ext[gap : gap + nt], was[gap : gap + nt][crop]
        if m:
            row0, col0 = self.sources.origin_px
            v = smooth_native(v, m, row0 + self.box.y0 * f - m, col0 + self.box.x0 * f - m)
        return v[crop], filled


def _padded(array: np.ndarray, box: Chunk, fill, dtype) -> np.ndarray:
    """``array`` (days, rows, columns) over ``box``, which may reach outside it: ``fill`` there."""
    out = np.full((box.t1 - box.t0, box.y1 - box.y0, box.x1 - box.x0), fill, dtype=dtype)
    inside = box.clipped(array.shape)
    out[inside.slices(box.corner)] = array[inside.slices()]
    return out


def load_inputs(chunk: Chunk, sources: Sources, cfg: Config, halo: Halo) -> ChunkInputs:
    """One chunk's arrays with halos (NaN outside the domain).

    The fine covariates of the chunk and its halo are gap-filled in time
    first, then aggregated to the coarse grid, so that training (coarse) and
    prediction (fine) see the same covariates. Only covariates with gaps in
    the chunk's days are read over the extra ``gap_days`` on either side.
    Covariates coarser than the fine grid (``sources.native``) are
    interpolated bilinearly from their native cell centres
    (:func:`smkit.engine.features.smooth_native`) after gap filling.

    Parameters
    ----------
    chunk : Chunk
        The core days and cells.
    sources : Sources
        The whole product's inputs.
    cfg : Config
        Covariates, aggregation and gap filling.
    halo : Halo
        Days and cells read around the core.

    Returns
    -------
    ChunkInputs
    """
    covs, f = cfg.covariates, sources.factor
    native = {k: b for k, b in sources.native.items() if b > 1 and k in covs}
    ha = AGGREGATION_HALO[cfg.aggregation]  # extra coarse cells the aggregation needs
    outer = chunk.grown(halo.days, halo.cells)  # the chunk with its halo
    box = outer.grown(0, ha)  # ... and what its aggregates need
    foot = _Footprint(sources, box, outer.clipped(sources.sm.shape), cfg.gap_days if cfg.fill_gaps else 0)
    vals = np.empty((box.t1 - box.t0, (box.y1 - box.y0) * f, (box.x1 - box.x0) * f, len(covs)))
    filled = np.zeros(vals.shape, bool)  # per covariate
    for k, name in enumerate(covs):
        v, was = foot.covariate(name, native.get(name, 0))
        vals[..., k] = v
        if was is not None:
            filled[..., k] = was
    agg = np.moveaxis(aggregate_array(np.moveaxis(vals, -1, 1), f, cfg.aggregation, cfg.min_valid), 1, -1)
    agg = agg[:, ha : ha + outer.y1 - outer.y0, ha : ha + outer.x1 - outer.x0]
    core = chunk.slices(box.corner, f)
    zone = None
    if sources.zones is not None:  # one "day" of labels
        zone = _padded(sources.zones[None], replace(outer, t0=0, t1=1), -1, np.int64)[0]
    mask = None if sources.cells is None else sources.cells[chunk.cells]
    return ChunkInputs(
        y=_padded(sources.sm, outer, np.nan, np.float64), agg=agg, fine=vals[core], filled_by=filled[core],
        halo=halo, factor=f, origin=chunk.corner, extent=sources.sm.shape, zone=zone, mask=mask,
    )


# --------------------------------------------------------------------------- downscaling a chunk
def _window_flags(windows: ChunkWindows, short: np.ndarray) -> np.ndarray:
    """The flag bits known before predicting: short window, centre retrieval missing, gap-filled."""
    inputs = windows.inputs
    nt, ny, nx = inputs.core_shape
    f = inputs.factor
    gap_cell = inputs.filled.reshape(nt, ny, f, nx, f).any(axis=(2, 4))
    flag = np.where(short, FLAG_SHORT, 0).astype(np.int8)
    flag |= np.where(~np.isfinite(inputs.y[inputs.core]), FLAG_CENTRE_MISSING, 0).astype(np.int8)
    flag |= np.where(gap_cell, FLAG_GAP_FILLED, 0).astype(np.int8)
    return flag


def process_chunk(inputs: ChunkInputs, cfg: Config) -> ChunkResult:
    """Downscale one chunk (pure function of numpy arrays).

    Parameters
    ----------
    inputs : ChunkInputs
        The chunk's arrays (:func:`load_inputs`).
    cfg : Config
        Learners, strategy, windows, blending and bounds.

    Returns
    -------
    ChunkResult
        Fine ``sm`` per learner and the window diagnostics per cell-day.
    """
    strategy = strategy_for(cfg)
    valid = np.isfinite(inputs.y) & np.isfinite(inputs.agg).all(-1)
    choice = strategy.choose(valid, inputs.zone, cfg)
    windows = ChunkWindows(inputs, valid, choice, Pixels(inputs.fine, inputs.factor))
    core = inputs.core
    sw, nd, count, short = (a[core] for a in (choice.sw, choice.nd, choice.count, choice.short))
    flag = _window_flags(windows, short)
    nt, ny, nx = inputs.core_shape
    f = inputs.factor
    sm = np.full((len(cfg.learners), nt, ny * f, nx * f), np.nan, np.float32)
    for li, name in enumerate(cfg.learners):
        need = max(get_learner(name).min_samples, 2)
        fit = (count >= need) & windows.pixels.any_valid
        if inputs.mask is not None:  # only the requested cells
            fit &= np.broadcast_to(inputs.mask, (nt, ny, nx))
        sm[li] = strategy.predict(name, fit, need, windows, cfg)
        if li == 0:
            skipped = count < need
            if inputs.mask is not None:
                skipped |= ~inputs.mask[None]
            flag |= np.where(skipped, FLAG_SKIPPED, 0).astype(np.int8)
    clipped = clip_to_range(sm, cfg.sm_max, f)
    flag |= np.where(clipped.any(axis=0), FLAG_CLIPPED, 0).astype(np.int8)
    return ChunkResult(sm=sm, sw=sw.astype(np.int8), nd=nd.astype(np.int8), count=count.astype(np.int32),
                       flag=flag, clipped=clipped)
