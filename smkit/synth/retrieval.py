"""The coarse retrieval: the ESA CCI COMBINED-like product of the truth's cell means.

:func:`retrieve` applies the error model of :class:`smkit.synth.presets.RetrievalErrors`
to the 0.25 degree means of the 1-km truth: rescaling towards a land model's
climatology (:meth:`smkit.synth.world.World.model_mean`), static and seasonal biases,
an error correlated in time (AR(1)) and between neighbouring cells (the footprint),
day-to-day noise, and gaps flagged like ESA CCI (1 frozen soil, 2 dense vegetation,
4 other losses).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from smkit.synth.constants import FREEZE, Stream
from smkit.synth.noise import hash_normal, hash_uniform
from smkit.synth.physics import day_of_year
from smkit.synth.presets import Preset, RetrievalErrors

if TYPE_CHECKING:
    from smkit.synth.world import World

__all__ = ["retrieve"]


def retrieve(world: World, preset: Preset, days, cell, t_cell, veg_cell, clat, clon):
    """The coarse retrieval of cell-mean truth ``cell`` (D, Ny, Nx): values, uncertainty, flags.

    See :class:`~smkit.synth.presets.RetrievalErrors`. Every term is a pure function of
    the seed, the cell's global index and the day, so a block can be built alone.

    Parameters
    ----------
    world : World
        The truth model (its seed, error model and smooth fields).
    preset : Preset
        Fixes the coarse grid.
    days : ndarray of int, shape (D,)
        Day numbers.
    cell, t_cell : ndarray, shape (D, Ny, Nx)
        Cell means of the truth (m3 m-3) and of air temperature (K).
    veg_cell : ndarray, shape (Ny, Nx)
        Cell-mean vegetation fraction (0-1).
    clat, clon : ndarray, shape (Ny,) and (Nx,)
        Cell centres, degrees.

    Returns
    -------
    c_sm, c_unc : ndarray, shape (D, Ny, Nx)
        Retrieved soil moisture and its uncertainty estimate, m3 m-3 (NaN in gaps).
    flag : ndarray of int8, shape (D, Ny, Nx)
        Gap flags (1, 2, 4; 0 where retrieved).
    """
    e = world.retrieval
    nd, ny, nx = cell.shape
    cla, clo = np.meshgrid(clat, clon, indexing="ij")
    cgi, cgj = preset.coarse.global_index(cla, clo)
    clim = world.model_mean(cla.ravel(), clo.ravel()).reshape(ny, nx)
    gain = e.gain - e.gain_veg * (veg_cell - 0.3) + e.gain_sd * world.f_gain(cla, clo)
    gain = np.clip(gain, 0.3, 1.0)
    doy = day_of_year(days)[:, None, None]
    growing = np.exp(-(((doy - 215.0) / 55.0) ** 2))  # the phenology of the NDVI
    rug = world.static(cla, clo)["rug"]
    bias = (e.bias_sd * world.f_bias(cla, clo) + e.bias_terrain * rug * world.f_bias_local(cla, clo)
            - e.bias_season * veg_cell * growing)
    ar = _correlated_error(e, world.seed, days, cgi, cgj)
    sd = e.error_sd + e.error_sd_veg * veg_cell
    white = hash_normal(world.seed, Stream.CWHITE, days[:, None, None], cgi, cgj)
    c_sm = clim + gain * (cell - clim + sd * ar + e.white_sd * white) + bias
    c_sm = np.clip(c_sm, 0.01, 0.55)
    frozen = t_cell < FREEZE
    dense = np.broadcast_to(veg_cell > e.dense_vegetation, c_sm.shape)
    lost = hash_uniform(world.seed, Stream.CGAP, days[:, None, None], cgi, cgj) < e.gap_rate
    flag = (frozen * 1 + dense * 2 + (lost & ~frozen & ~dense) * 4).astype(np.int8)
    c_sm = np.where(flag > 0, np.nan, c_sm)
    # the product's own uncertainty estimate: the error model's s.d., known to +-20 %
    c_unc = np.hypot(sd, e.white_sd) * (0.8 + 0.4 * hash_uniform(
        world.seed, Stream.CUNC, days[:, None, None], cgi, cgj))
    c_unc = np.where(flag > 0, np.nan, c_unc)
    return c_sm, c_unc, flag


def _correlated_error(e: RetrievalErrors, seed: int, days, cgi, cgj) -> np.ndarray:
    """Unit-variance retrieval error of cells ``cgi, cgj`` (global indices), correlated in time and space.

    White noise over the cells and a ring around them, spread by the footprint
    kernel, then an AR(1) in time as a truncated exponential sum.
    """
    nd, (ny, nx) = days.size, cgi.shape
    lags = e.lags
    ext = np.arange(days[0] - lags + 1, days[-1] + 1)
    ri = cgi[0, 0] - 1 + np.arange(ny + 2)
    rj = cgj[0, 0] - 1 + np.arange(nx + 2)
    w = hash_normal(seed, Stream.CNOISE, ext[:, None, None], ri[None, :, None], rj[None, None, :])
    k1 = np.array([e.footprint, 1.0, e.footprint])
    kern = np.outer(k1, k1) / np.sqrt(np.sum(np.outer(k1, k1) ** 2))
    spread = sum(kern[a, b] * w[:, a : a + ny, b : b + nx] for a in range(3) for b in range(3))
    phi = np.exp(-1.0 / e.memory)
    ar = np.zeros((nd, ny, nx))
    for j in range(lags):
        ar += phi**j * spread[lags - 1 - j : lags - 1 - j + nd]
    ar *= np.sqrt((1.0 - phi**2) / (1.0 - phi ** (2 * lags)))
    return ar
