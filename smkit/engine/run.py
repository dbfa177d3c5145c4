"""Downscaling: coarse soil moisture to the fine grid with windowed learners.

For every coarse cell and day, each learner is trained on the cell's adaptive
spatio-temporal window of coarse samples (aggregated covariates -> coarse
``sm``; :mod:`smkit.engine.windows`) and applied to the fine covariates of the cell
(:mod:`smkit.engine.learners`). The ``global`` strategy trains one model per zone and
day on every cell of the zone instead (the paper's Fig. S7 comparison).

Work is split into independent (day block, tile) chunks with halos so that a
chunk needs nothing outside itself (:mod:`smkit.engine.chunks`); with ``out=``
each finished chunk is written into its own region of a Zarr store and marked
done (in ``<out>.done/``, :mod:`smkit.engine.store`), so a killed run
restarted with the same arguments skips finished chunks and ends with the same
content as an uninterrupted run. This module plans a run and schedules its
chunks on dask.
"""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import xarray as xr

from smkit.core.grid import Grid, nesting_factor
from smkit.core.schema import check_coarse, check_fine, require_dataset
from smkit.core.store import Parts, lock
from smkit.engine.chunks import Chunk, Halo, Sources, Strategy, load_inputs, process_chunk, strategy_for
from smkit.engine.config import Config
from smkit.engine.features import native_block
from smkit.engine.learners import resolve_params
from smkit.engine.learners.base import kernels_cached
from smkit.engine.store import assemble, open_store, product_attrs, product_template, write_part

__all__ = ["DEFAULT_TILE", "downscale", "downscale_variants", "VALUE_CHECK_DAYS", "VALUE_CHECK_PIXELS", "tune_params"]

DEFAULT_TILE = 24  # coarse cells per chunk side


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
        ``sm(model, time, lat, lon)`` float32 (m3 m-3) on the fine grid and,
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
    (('model', 'time', 'lat', 'lon'), 'm3 m-3')
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
    models = fit_subgrid(table, [str(m) for m in product["model"].values], covs)
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
    _check_run_args(time_chunk=time_chunk, tile=tile, workers=workers)
    workers = workers or min(os.cpu_count() or 1, 4)
    union, grids, factor, coarse, fine = _check_inputs(coarse, fine, covariate_sets, out)
    base = _with_params(base, coarse, fine, union, progress)
    strategy = strategy_for(base)
    ny, nx = grids[0].shape
    zone_all = None
    if strategy.zoned:
        zone_all = np.zeros((ny, nx), np.int64) if zones is None else np.asarray(zones.values, np.int64)
        tile = max(ny, nx)  # a zone spans the domain: chunk in time only
    plan = _Plan(coarse, fine, grids, factor, _day_range(coarse, days), time_chunk,
                 tile or min(max(ny, nx), DEFAULT_TILE), _cells_mask(cells, (ny, nx)), strategy)
    with contextlib.ExitStack() as held:  # one writer per store, from its template to its last chunk
        for store in (out or {}).values():
            held.enter_context(lock(Path(store)))
        targets = [_target(plan, name, replace(base, covariates=tuple(covs)), union,
                           None if out is None else Path(out[name]))
                   for name, covs in covariate_sets.items()]
        todo = [c for c in plan.chunks() if not all(tg.done(c) for tg in targets)]
        threads = None if workers == 1 else max(1, (os.cpu_count() or 1) // workers)
        job = _ChunkJob(_sources(plan, base, union, zone_all), replace(base, covariates=union),
                        strategy.halo(base), targets, plan.days[0], threads)
        if progress and todo and base.backend == "fast" and not kernels_cached():
            print("smkit: compiling the learners' kernels (first run on this machine: one to three minutes, "
                  "cached for later runs)", file=sys.stderr, flush=True)
        results = _run_chunks(job, todo, scheduler, workers, progress,
                              desc=f"downscaling ({base.strategy}, {base.backend})")
        return {tg.name: _product(tg, results, plan) for tg in targets}


# --------------------------------------------------------------------------- planning a run
#: Days of the fine covariates whose values are checked: units and scaling mistakes are systematic, so
#: the first days show them (the structure and the time axis are checked over the whole period). Kept
#: small: on three-north every day checked costs about 0.2 s on the hot path.
VALUE_CHECK_DAYS = 3
#: ... over a block of this many fine pixels a side at the domain's centre (a few stored chunks).
VALUE_CHECK_PIXELS = 256


def _check_run_args(**args) -> None:
    """Refuse a chunking or worker count that is not a whole number >= 1 (None: the default)."""
    for name, v in args.items():
        if v is not None and (isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1):
            raise ValueError(f"{name} must be a whole number >= 1 (or None for the default), got {v!r}")


def _checked(coarse, fine, covariates) -> tuple[xr.Dataset, xr.Dataset]:
    """The inputs through the schema checks every entry point runs (normalised layout, or an InputError)."""
    coarse = check_coarse(coarse)
    fine = check_fine(fine, coarse=coarse, check_values=False, variables=covariates)
    ny, nx = fine.sizes["lat"], fine.sizes["lon"]
    centre = {"lat": slice(max(ny // 2 - VALUE_CHECK_PIXELS // 2, 0), ny // 2 + VALUE_CHECK_PIXELS // 2),
              "lon": slice(max(nx // 2 - VALUE_CHECK_PIXELS // 2, 0), nx // 2 + VALUE_CHECK_PIXELS // 2)}
    check_fine(fine.isel(time=slice(0, VALUE_CHECK_DAYS), **centre), variables=covariates)
    return coarse, fine


def _check_inputs(coarse: xr.Dataset, fine: xr.Dataset, covariate_sets: dict, out: dict | None):
    """Check a run's inputs: covariate union, (coarse, fine) grids, factor and the checked inputs."""
    if not covariate_sets:
        raise ValueError("give at least one set of covariates")
    coarse, fine = require_dataset(coarse, "coarse"), require_dataset(fine, "fine")
    union = tuple(dict.fromkeys(v for covs in covariate_sets.values() for v in covs))
    missing = [v for v in union if v not in fine.data_vars]
    if missing:
        raise KeyError(f"fine covariates {missing} not found; the fine dataset has {sorted(fine.data_vars)}")
    if out is not None and set(out) != set(covariate_sets):
        raise ValueError(f"out names {sorted(out)} differ from the covariate sets {sorted(covariate_sets)}")
    if "sm" not in coarse.data_vars:
        raise KeyError(f"coarse dataset has no 'sm'; it has {sorted(coarse.data_vars)}")
    coarse, fine = _checked(coarse, fine, union)
    cgrid, fgrid = Grid.from_dataset(coarse), Grid.from_dataset(fine)
    try:
        factor = nesting_factor(cgrid, fgrid)
    except ValueError as err:
        raise ValueError(f"cannot downscale: {err}") from None
    if not np.array_equal(coarse["time"].values, fine["time"].values):
        raise ValueError("coarse and fine datasets must have the same days (time coordinates differ)")
    return union, (cgrid, fgrid), factor, coarse, fine


def _with_params(base: Config, coarse, fine, covariates: tuple, progress: bool) -> Config:
    """``base`` with every learner's hyperparameters resolved (tuned first for ``params="tune"``)."""
    params = base.params
    if params == "tune":
        params = tune_params(coarse, fine, base.learners, covariates, base.aggregation, base.min_valid,
                             base.seed, progress)
    resolved = {name: resolve_params(name, (params or {}).get(name)) for name in base.learners}
    return replace(base, params=resolved)


def _day_range(coarse: xr.Dataset, days: slice | None) -> tuple[int, int]:
    """The first and the end index of the days to produce."""
    nt = coarse.sizes["time"]
    if days is None:
        return 0, nt
    sl = coarse.indexes["time"].slice_indexer(days.start, days.stop)
    i0, i1 = sl.start or 0, nt if sl.stop is None else sl.stop
    if i1 <= i0:
        raise ValueError(f"no days of the input fall in {days}")
    return i0, i1


def _cells_mask(cells: xr.DataArray | None, shape: tuple[int, int]) -> np.ndarray | None:
    """The requested cells as a boolean (lat, lon) array (None: all)."""
    if cells is None:
        return None
    mask = np.asarray(cells.transpose("lat", "lon").values, dtype=bool)
    if mask.shape != shape:
        raise ValueError(f"cells mask has shape {mask.shape}; the coarse grid is {shape}")
    if not mask.any():
        raise ValueError("the cells mask selects no cell")
    return mask


@dataclass(frozen=True, eq=False)
class _Plan:
    """How a run is laid out: inputs, grids, the days produced, the chunking, the requested cells."""

    coarse: xr.Dataset
    fine: xr.Dataset
    grids: tuple[Grid, Grid]
    factor: int
    days: tuple[int, int]  # first and end index of the days produced
    time_chunk: int
    tile: int
    mask: np.ndarray | None
    strategy: Strategy

    def chunks(self) -> list[Chunk]:
        """The chunks to compute, days first: those holding a requested cell."""
        (i0, i1), (ny, nx), tc, tile = self.days, self.grids[0].shape, self.time_chunk, self.tile
        grid = (Chunk(t0, min(t0 + tc, i1), y0, min(y0 + tile, ny), x0, min(x0 + tile, nx))
                for t0 in range(i0, i1, tc) for y0 in range(0, ny, tile) for x0 in range(0, nx, tile))
        return [c for c in grid if self.mask is None or self.mask[c.cells].any()]


@dataclass(frozen=True, eq=False)
class _Target:
    """One product a chunk job writes: its configuration, covariates and store."""

    name: str
    cfg: Config
    cov_idx: np.ndarray  # columns of the loaded covariates it uses
    template: xr.Dataset
    out: Path | None
    parts: Parts | None

    def done(self, c: Chunk) -> bool:
        """Whether chunk ``c`` is already in this target's store."""
        return self.parts is not None and self.parts.done(c.id)


def _target(plan: _Plan, name: str, cfg: Config, union: tuple, store: Path | None) -> _Target:
    """The product of one covariate set: its template, and its store opened (or checked) when given."""
    attrs = product_attrs(cfg, plan.factor, plan.strategy.blends)
    template = product_template(plan.coarse.isel(time=slice(*plan.days)), plan.fine, plan.grids, attrs,
                                cfg.learners, plan.mask)
    parts = None
    if store is not None:
        parts = open_store(store, template, plan.mask, time_chunk=plan.time_chunk, tile=plan.tile,
                           factor=plan.factor)
    idx = np.array([union.index(v) for v in cfg.covariates], dtype=np.int64)
    return _Target(name, cfg, idx, template, store, parts)


def _sources(plan: _Plan, cfg: Config, union: tuple, zones: np.ndarray | None) -> Sources:
    """What every chunk reads: coarse sm in memory, the fine covariates lazily, zones and requested cells."""
    fgrid = plan.grids[1]
    y_all = plan.coarse["sm"].transpose("time", "lat", "lon").values.astype(np.float64)
    native = {v: native_block(plan.fine[v], fgrid.res) for v in union} if cfg.smooth_coarse else {}
    origin_px = tuple(int(g) for g in fgrid.global_index(fgrid.lat[0], fgrid.lon[0]))
    return Sources(y_all, plan.fine, plan.factor, zones=zones, cells=plan.mask, native=native,
                   origin_px=origin_px)


def _product(tg: _Target, results: list, plan: _Plan) -> xr.Dataset:
    """A finished product: opened from its store, or assembled from the chunks' results."""
    if tg.out is not None:
        return xr.open_zarr(tg.out, consolidated=False)
    return assemble(tg.template, [(c.regions(plan.days[0], plan.factor), res[tg.name]) for c, res in results])


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


# --------------------------------------------------------------------------- running the chunks
class _ChunkJob:
    """What every chunk task needs, in one object that dask does not look into.

    (Passing the lazy ``fine`` dataset to ``dask.delayed`` directly would make
    dask compute it in full before the task runs.) A chunk's inputs are read
    once for the union of the targets' covariates (``load_cfg``); each target
    then gets its columns (leave-one-covariate-out reruns share all their
    reading).
    """

    def __init__(self, sources: Sources, load_cfg: Config, halo: Halo, targets: list[_Target], first_day: int,
                 threads: int | None):
        self.sources, self.load_cfg, self.halo = sources, load_cfg, halo
        self.targets, self.first_day, self.threads = targets, first_day, threads

    def __call__(self, c: Chunk):
        """Downscale chunk ``c`` for every target; write to stores or return the results."""
        import dask

        if self.threads:
            import numba

            numba.set_num_threads(self.threads)  # per calling thread
        with dask.config.set(scheduler="synchronous"):  # a chunk reads its inputs itself
            inputs = load_inputs(c, self.sources, self.load_cfg, self.halo)
        results = {}
        for tg in self.targets:
            if tg.done(c):
                continue
            res = process_chunk(inputs.columns(tg.cov_idx), tg.cfg)
            if tg.out is None:
                results[tg.name] = res
                continue
            write_part(tg.out, res, c.regions(self.first_day, self.sources.factor))
            tg.parts.mark(c.id)  # only after the region is complete
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


def _run_chunks(job: _ChunkJob, todo: list[Chunk], scheduler: str | None, workers: int, progress,
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
        from smkit.core.progress import progress_bar

        bar = progress_bar(total=len(todo), desc=desc, unit="chunk")
    try:
        client = _open_client(scheduler, workers)
        if client is None:
            from dask.callbacks import Callback

            tasks = [dask.delayed(job, pure=False)(c, dask_key_name=f"chunk-{c.id}") for c in todo]
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
