"""Assembly of a scenario: :func:`make_scenario` puts the world's blocks into smkit's data model.

A preset built eagerly (``tiny``) is computed in memory at once; the others become
dask arrays whose tasks call the block functions of :class:`~smkit.synth.world.World`,
several outputs of one block sharing one task, so that a block is built once
whichever of its variables is computed first.
"""

from __future__ import annotations

import json
import operator
from dataclasses import asdict

import dask
import dask.array as da
import numpy as np
import pandas as pd
import xarray as xr
from dask.highlevelgraph import HighLevelGraph

from smkit import __version__
from smkit.core.cf import CF_VERSION
from smkit.core.grid import TIME_ATTRS, Grid
from smkit.core.scenario import Scenario
from smkit.core.vocabulary import SM_ATTRS
from smkit.synth.constants import ALBEDO_RES, CELL, PDSI_RES, WORLD_VERSION
from smkit.synth.physics import day_numbers
from smkit.synth.presets import PRESETS, Preset, RetrievalErrors, StationErrors
from smkit.synth.world import World

__all__ = ["make_scenario"]


def make_scenario(preset: str | Preset = "tiny", seed: int = 0, *, valley_wetness: float = 0.5,
                  retrieval: RetrievalErrors | None = None,
                  station_errors: StationErrors | None = None) -> Scenario:
    """Build the synthetic observing-system experiment of a preset.

    Parameters
    ----------
    preset : {"tiny", "demo", "three-north"} or Preset
        Size and period (see :data:`PRESETS`): ``tiny`` is built in memory in
        seconds; ``demo`` and ``three-north`` return lazy dask-backed datasets
        whose blocks are built on demand (write them with
        :meth:`Scenario.to_zarr` or call :meth:`Scenario.load`).
    seed : int, default 0
        Seed of every random quantity; the same seed gives bit-identical data.
    valley_wetness, retrieval, station_errors
        Parameters of the world (see :class:`World`); the defaults are
        calibrated to published error statistics (:mod:`smkit.analysis.realism`).

    Returns
    -------
    Scenario
        ``coarse`` (0.25 degree ``sm``, ``sm_uncertainty`` in m3 m-3, ``flag``),
        ``fine`` (``lst`` K, ``ndvi`` 1, ``albedo`` 1, ``precip`` mm day-1,
        ``dem`` m), ``truth`` (1-km ``sm``, m3 m-3), ``stations`` (``sm`` m3 m-3,
        ``rsm`` percent for NZW), ``era5`` and ``noah`` (``sm``, m3 m-3, on
        0.1 and 0.05 degree grids) and ``pdsi`` (monthly, ~4 km).

    Examples
    --------
    >>> sc = make_scenario("tiny")
    >>> sorted(sc.fine.data_vars)
    ['albedo', 'dem', 'lst', 'ndvi', 'precip']
    >>> sc.coarse["sm"].attrs["units"]
    'm3 m-3'
    """
    preset = _preset(preset)
    world = World(seed, valley_wetness=valley_wetness, retrieval=retrieval or RetrievalErrors(),
                  station_errors=station_errors or StationErrors())
    world_params = {"valley_wetness": world.valley_wetness, "retrieval": asdict(world.retrieval),
                    "station_errors": asdict(world.station_errors)}
    token = dask.base.tokenize(preset, seed, json.dumps(world_params, sort_keys=True), WORLD_VERSION,
                               __version__)
    attrs = {
        "Conventions": CF_VERSION,
        "title": f"smkit synthetic observing-system experiment, preset {preset.name}",
        "source": "smkit.synth (synthetic; not real observations)",
        "preset": preset.name,
        "seed": seed,
        "world_version": WORLD_VERSION,
        "world": json.dumps(world_params, sort_keys=True),
        "smkit_version": __version__,
    }
    arr, dem = _fine_arrays(world, preset, token)
    truth, fine = _fine_datasets(preset, arr, dem, attrs)
    coarse = _coarse_dataset(preset, arr, attrs)
    era5, noah, pdsi = _model_datasets(world, preset, token, attrs)
    stations = world.stations(preset)
    stations.attrs = _titled(attrs, "in-situ stations")
    return Scenario(coarse, fine, truth, stations, era5, noah, pdsi)


def _preset(preset: str | Preset) -> Preset:
    """The preset of a name (or the preset itself), checked."""
    if isinstance(preset, str):
        if preset not in PRESETS:
            raise KeyError(f"unknown preset {preset!r}; choose one of {sorted(PRESETS)}")
        preset = PRESETS[preset]
    if preset.space_chunk % preset.factor:
        raise ValueError("space_chunk must be a multiple of the nesting factor")
    return preset


def _titled(attrs: dict, what: str) -> dict:
    """The scenario's attributes with ``what`` added to the title."""
    return {**attrs, "title": attrs["title"] + ": " + what}


def _fine_arrays(world: World, preset: Preset, token: str) -> tuple[dict, np.ndarray | da.Array]:
    """Outputs of the world's fine blocks (see :meth:`World.fine_block`) and the elevation.

    Numpy arrays for an eager preset, dask arrays sharing one task per block otherwise.
    """
    nt, (ny, nx) = len(preset.time), preset.fine.shape

    def block(t0, t1, y0, y1, x0, x1):
        return world.fine_block(preset, t0, t1, y0, y1, x0, x1)

    if preset.eager:
        return block(0, nt, 0, ny, 0, nx), world.dem_block(preset, 0, ny, 0, nx)
    outputs = {
        "sm": (1, np.float32), "lst": (1, np.float32), "ndvi": (1, np.float32),
        "albedo": (1, np.float32), "precip": (1, np.float32),
        "c_sm": (preset.factor, np.float32), "c_unc": (preset.factor, np.float32),
        "c_flag": (preset.factor, np.int8),
    }
    sb = _blocks(ny, preset.space_chunk), _blocks(nx, preset.space_chunk)
    arr = _lazy_multi(block, _blocks(nt, preset.time_chunk), *sb, outputs, token)
    name = f"smkit-dem-{token}"
    layer = {
        (name, b, c): (world.dem_block, preset, y0, y1, x0, x1)
        for b, (y0, y1) in enumerate(sb[0]) for c, (x0, x1) in enumerate(sb[1])
    }
    graph = HighLevelGraph({name: layer}, {name: set()})
    dem = da.Array(graph, name, tuple(map(_sizes, sb)), dtype=np.float32)
    return arr, dem


def _fine_datasets(preset: Preset, arr: dict, dem, attrs: dict) -> tuple[xr.Dataset, xr.Dataset]:
    """The 1-km truth and the fine covariates of a scenario."""
    fc = {"time": _time_coord(preset.time), **preset.fine.coords()}
    cube = ("time", "lat", "lon")
    truth = xr.Dataset(
        {"sm": (cube, arr["sm"], {**SM_ATTRS, "long_name": "true 1-km surface soil moisture"})},
        coords=fc, attrs=_titled(attrs, "1-km truth"),
    )
    fine = xr.Dataset(
        {
            "lst": (cube, arr["lst"], {
                "long_name": "land surface temperature (MOD11A1-like, daytime)",
                "standard_name": "surface_temperature", "units": "K"}),
            "ndvi": (cube, arr["ndvi"], {
                "long_name": "normalized difference vegetation index (MOD13A2-like 16-day composite)",
                "units": "1"}),
            "albedo": (cube, arr["albedo"], {
                "long_name": "surface albedo (MCD43C3-like, 0.05 degree)",
                "standard_name": "surface_albedo", "units": "1", "native_resolution": ALBEDO_RES}),
            "precip": (cube, arr["precip"], {
                "long_name": "precipitation (GPM-IMERG-like, 0.1 degree)",
                "standard_name": "lwe_precipitation_rate", "units": "mm day-1",
                "native_resolution": CELL}),
            "dem": (("lat", "lon"), dem, {
                "long_name": "elevation (SRTM-like)", "standard_name": "surface_altitude", "units": "m"}),
        },
        coords=fc, attrs=_titled(attrs, "fine covariates"),
    )
    return truth, fine


def _coarse_dataset(preset: Preset, arr: dict, attrs: dict) -> xr.Dataset:
    """The coarse retrieval of a scenario: values, uncertainty and flags."""
    cube = ("time", "lat", "lon")
    return xr.Dataset(
        {
            "sm": (cube, arr["c_sm"], {
                **SM_ATTRS, "long_name": "satellite soil moisture (ESA CCI COMBINED-like)"}),
            "sm_uncertainty": (cube, arr["c_unc"], {
                "long_name": "soil moisture uncertainty", "units": "m3 m-3"}),
            "flag": (cube, arr["c_flag"], {
                "long_name": "retrieval flag",
                "flag_masks": np.array([1, 2, 4], np.int8),
                "flag_meanings": "frozen_soil dense_vegetation other_loss",
                "units": "1"}),
        },
        coords={"time": _time_coord(preset.time), **preset.coarse.coords()},
        attrs=_titled(attrs, "coarse retrieval"),
    )


def _model_datasets(world: World, preset: Preset, token: str, attrs: dict):
    """The model-like fields of a scenario on their own grids: ERA5-like, Noah-like, PDSI-like."""
    times, coarse = preset.time, preset.coarse
    g_era, g_noah, g_pdsi = coarse.with_res(CELL), coarse.with_res(ALBEDO_RES), coarse.with_res(PDSI_RES)
    days = day_numbers(times)
    months = pd.date_range(times[0], times[-1], freq="MS")
    tchunk = max(preset.time_chunk, 32)
    era = _aux_grid_array(
        lambda d, *b: world.era5_block(g_era, d, *b), g_era, days, tchunk, 250, token + "era5", preset.eager
    )
    noah = _aux_grid_array(
        lambda d, *b: world.noah_block(g_noah, d, *b), g_noah, days, tchunk, 250, token + "noah", preset.eager
    )
    pdsi = _aux_grid_array(
        lambda m, *b: world.pdsi_block(g_pdsi, m, *b), g_pdsi, months, 12, 250, token + "pdsi", preset.eager
    )
    cube, tcoord = ("time", "lat", "lon"), _time_coord(times)
    era_ds = xr.Dataset(
        {"sm": (cube, era, {**SM_ATTRS, "long_name": "ERA5-Land-like top layer (0-7 cm) soil moisture"})},
        coords={"time": tcoord, **g_era.coords()}, attrs=_titled(attrs, "ERA5-like"),
    )
    noah_ds = xr.Dataset(
        {"sm": (cube, noah, {
            **SM_ATTRS, "long_name": "Noah-like 0-10 cm soil moisture (Loess-Plateau-like region)"})},
        coords={"time": tcoord, **g_noah.coords()}, attrs=_titled(attrs, "Noah-like"),
    )
    pdsi_ds = xr.Dataset(
        {"pdsi": (cube, pdsi, {
            "long_name": "Palmer drought severity index (PDSI-like, monthly)", "units": "1"})},
        coords={"time": _time_coord(months), **g_pdsi.coords()}, attrs=_titled(attrs, "PDSI-like"),
    )
    return era_ds, noah_ds, pdsi_ds


def _time_coord(times) -> xr.Variable:
    """The CF time coordinate of days ``times``."""
    return xr.Variable("time", pd.DatetimeIndex(times).values.astype("datetime64[ns]"), TIME_ATTRS)


def _blocks(n: int, size: int) -> list[tuple[int, int]]:
    """``(start, stop)`` of consecutive blocks of ``size`` covering ``range(n)``."""
    return [(a, min(a + size, n)) for a in range(0, n, size)]


def _sizes(blocks: list[tuple[int, int]], div: int = 1) -> tuple[int, ...]:
    """Chunk sizes of ``blocks`` (see :func:`_blocks`), divided by ``div``."""
    return tuple((b - a) // div for a, b in blocks)


def _lazy_multi(func, tblocks, yblocks, xblocks, outputs: dict, token: str) -> dict:
    """Dask arrays of several outputs of one block function, sharing one task per block.

    ``outputs`` maps an output key to ``(divisor, dtype)``: spatial chunk sizes
    are the block sizes divided by ``divisor``.
    """
    gen = f"smkit-synth-{token}"
    idx = [(a, b, c) for a in range(len(tblocks)) for b in range(len(yblocks)) for c in range(len(xblocks))]
    layer = {(gen, a, b, c): (func, *tblocks[a], *yblocks[b], *xblocks[c]) for a, b, c in idx}
    arrays = {}
    for key, (div, dtype) in outputs.items():
        name = f"{gen}-{key}"
        sub = {(name, a, b, c): (operator.getitem, (gen, a, b, c), key) for a, b, c in idx}
        graph = HighLevelGraph({gen: layer, name: sub}, {gen: set(), name: {gen}})
        chunks = (_sizes(tblocks), _sizes(yblocks, div), _sizes(xblocks, div))
        arrays[key] = da.Array(graph, name, chunks, dtype=dtype)
    return arrays


def _aux_grid_array(block_fn, grid: Grid, times, tchunk: int, schunk: int, token: str, eager: bool):
    """An auxiliary (time, lat, lon) field on its own grid, eager or lazy."""
    nt, (ny, nx) = len(times), grid.shape
    if eager:
        return block_fn(times, 0, ny, 0, nx)
    tb, yb, xb = _blocks(nt, tchunk), _blocks(ny, schunk), _blocks(nx, schunk)
    name = f"smkit-aux-{token}"
    layer = {
        (name, a, b, c): (block_fn, times[t0:t1], y0, y1, x0, x1)
        for a, (t0, t1) in enumerate(tb)
        for b, (y0, y1) in enumerate(yb)
        for c, (x0, x1) in enumerate(xb)
    }
    chunks = (_sizes(tb), _sizes(yb), _sizes(xb))
    return da.Array(HighLevelGraph({name: layer}, {name: set()}), name, chunks, dtype=np.float32)
