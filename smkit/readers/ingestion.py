"""The resumable ingest: every source of a configuration into the analysis-ready cube.

Owns :func:`ingest`: the plan of the cube's groups (which readers build each one,
from which files), the writing of each group time block by time block into a
Zarr store, the progress file that makes a rerun resume, the provenance every
group records, and the final check of the cube. The readers are looked up in
:mod:`smkit.readers.registry`, the configuration is :mod:`smkit.readers.config`'s.
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import dask
import numpy as np
import pandas as pd
import xarray as xr

from smkit import __version__
from smkit.core.cf import CF_VERSION
from smkit.core.grid import Grid
from smkit.core.schema import check_coarse, check_fine, check_stations, encode_group
from smkit.core.store import lock, reporting_disk_full
from smkit.readers.config import ConfigError, load_config, resolve_files
from smkit.readers.registry import GROUPS, READER_VERSIONS, SOURCES, STATION_FORMATS
from smkit.readers.stations import merge_stations

__all__ = ["ingest"]

#: Sources of the fine group with a time axis (the DEM is static).
_FINE_SERIES = ("lst", "ndvi", "albedo", "precip")
_FINE = (*_FINE_SERIES, "dem")


def _library_versions() -> dict[str, str]:
    out = {"smkit": __version__, "xarray": xr.__version__, "dask": dask.__version__,
           "numpy": np.__version__, "pandas": pd.__version__}
    for mod in ("rioxarray", "rasterio", "pyproj", "h5netcdf", "netCDF4", "zarr", "ismn"):
        try:
            m = __import__(mod)
            out[mod] = str(getattr(m, "__version__", "?"))
        except ImportError:
            pass
    try:
        import rasterio

        out["GDAL"] = rasterio.__gdal_version__
    except ImportError:
        pass
    return out


def _fingerprint(*parts) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(json.dumps(p, sort_keys=True, default=str).encode())
    return h.hexdigest()[:20]


def _file_stamp(paths: Iterable[str]) -> list:
    out = []
    for p in paths:
        st = os.stat(p)
        out.append([p, st.st_size, st.st_mtime_ns])
    return out


@dataclass
class _GroupPlan:
    name: str
    build: object  # callable() -> (Dataset, sources provenance)
    files: list
    spec: dict
    time_chunk: int
    space_chunk: int | None = None


def _rechunk(ds: xr.Dataset, tchunk: int, schunk: int | None) -> xr.Dataset:
    chunks = {}
    if "time" in ds.dims:
        chunks["time"] = tchunk
    for d in ("lat", "lon"):
        if d in ds.dims:
            chunks[d] = schunk if schunk else ds.sizes[d]
    data = {n: v.chunk({d: c for d, c in chunks.items() if d in v.dims})
            if v.chunks is not None else v for n, v in ds.data_vars.items()}
    out = ds.assign(data)
    for v in out.data_vars.values():
        v.encoding = {}
    return out


def _state_path(out: Path) -> Path:
    return out.with_name(out.name + ".ingest.json")


def _load_state(out: Path) -> dict:
    sp = _state_path(out)
    if not out.exists() or not sp.exists():
        return {"groups": {}}
    try:
        return json.loads(sp.read_text())
    except json.JSONDecodeError:
        return {"groups": {}}


def _save_state(out: Path, state: dict):
    sp = _state_path(out)
    tmp = sp.with_name(sp.name + ".tmp")
    tmp.write_text(json.dumps(state, indent=1))
    os.replace(tmp, sp)


def _group_exists(out: Path, group: str) -> bool:
    return (out / group / "zarr.json").exists()


def _write_template(out: Path, group: str, ds: xr.Dataset):
    """Write the group's metadata, coordinates and in-memory (static) variables."""
    encode_group(ds).to_zarr(out, group=group, mode="w", compute=False, consolidated=False)


def _write_block(out: Path, group: str, part: xr.Dataset, region: dict):
    """Compute and write one time block of a group into its place in the store."""
    part.to_zarr(out, group=group, region=region, mode="r+", consolidated=False)


def _time_blocks(n: int, size: int) -> list[tuple[int, int]]:
    return [(a, min(a + size, n)) for a in range(0, n, size)]


# =========================================================================== the plan
@dataclass(frozen=True)
class _Inputs:
    """What the groups are built from: the checked configuration, its files, grids and days."""

    cfg: dict
    files: dict  # source key -> files
    station_files: list  # files of each stations entry
    coarse_grid: Grid
    fine_grid: Grid
    days: pd.DatetimeIndex

    def options(self, key: str) -> dict:
        """The reader options of source ``key`` (its spec without ``files``)."""
        return {k: v for k, v in self.cfg["sources"][key].items() if k != "files"}


def _inputs(cfg: dict) -> _Inputs:
    root, src = cfg["root"], cfg["sources"]
    w, s, e, n = cfg["region"]["bbox"]
    coarse_grid = Grid(w, e, s, n, cfg["region"]["coarse_res"])
    fine_grid = coarse_grid.with_res(cfg["region"]["fine_res"])
    days = pd.date_range(cfg["period"]["start"], cfg["period"]["end"], freq="D")
    files = {k: resolve_files(v["files"], root, SOURCES[k][1], f"sources.{k}")
             for k, v in src.items() if k != "stations"}
    station_files = [resolve_files(ent["files"], root, STATION_FORMATS[ent["format"]][1],
                                   f"sources.stations[{i}]")
                     for i, ent in enumerate(src.get("stations", []))]
    return _Inputs(cfg, files, station_files, coarse_grid, fine_grid, days)


def _provenance(reader, paths, options) -> dict:
    return {"reader": f"smkit.readers.{reader.__name__}",
            "reader_version": READER_VERSIONS[reader.__name__],
            "options": options, "files": list(paths)}


def _build_coarse(inp: _Inputs):
    reader = SOURCES["coarse"][0]
    ds = reader(inp.files["coarse"], inp.coarse_grid, time=inp.days, **inp.options("coarse"))
    return ds, {"sm": _provenance(reader, inp.files["coarse"], inp.options("coarse"))}


def _build_fine(inp: _Inputs):
    parts, p = [], {}
    for key in _FINE_SERIES:
        reader = SOURCES[key][0]
        parts.append(reader(inp.files[key], inp.fine_grid, time=inp.days, **inp.options(key)))
        p[key] = _provenance(reader, inp.files[key], inp.options(key))
    reader = SOURCES["dem"][0]  # static: no time
    dem = reader(inp.files["dem"], inp.fine_grid, **inp.options("dem"))
    p["dem"] = _provenance(reader, inp.files["dem"], inp.options("dem"))
    ds = xr.merge([*parts, dem], join="exact", combine_attrs="override")
    return ds, p


def _build_stations(inp: _Inputs):
    cfg = inp.cfg
    dsets, p = [], {}
    for i, ent in enumerate(cfg["sources"]["stations"]):
        reader = STATION_FORMATS[ent["format"]][0]
        o = {k: v for k, v in ent.items() if k not in ("files", "format")}
        dsets.append(reader(inp.station_files[i], time=inp.days, **o))
        p[f"{ent['format']}[{i}]"] = _provenance(reader, inp.station_files[i], o)
    st = merge_stations(dsets, time=inp.days)
    st = check_stations(st, grid=inp.coarse_grid, on_outside=cfg["stations_outside"])
    if st.sizes["station"] == 0:
        raise ConfigError("sources.stations: no station inside the region "
                          f"{cfg['region']['bbox']}")
    st = st.assign_coords(station=("station", np.arange(st.sizes["station"])))
    st.attrs = {}
    return st, p


def _build_aux(inp: _Inputs, key: str):
    reader = SOURCES[key][0]
    ds = reader(inp.files[key], inp.coarse_grid, time=inp.days, **inp.options(key))
    ds.attrs = {}
    return ds, {ds_var: _provenance(reader, inp.files[key], inp.options(key))
                for ds_var in ds.data_vars}


def _plans(inp: _Inputs) -> list[_GroupPlan]:
    """The groups to write, in order, each with its builder, files and spec."""
    src, files = inp.cfg["sources"], inp.files
    tchunk, schunk = inp.cfg["chunks"]["time"], inp.cfg["chunks"]["space"]
    plans = [_GroupPlan("coarse", functools.partial(_build_coarse, inp), files["coarse"],
                        src["coarse"], tchunk)]
    fine_files = sorted(f for k in _FINE for f in files[k])
    plans.append(_GroupPlan("fine", functools.partial(_build_fine, inp), fine_files,
                            {k: src[k] for k in _FINE}, tchunk, schunk))
    if "stations" in src:
        plans.append(_GroupPlan("stations", functools.partial(_build_stations, inp),
                                sorted(f for fs in inp.station_files for f in fs),
                                {"stations": src["stations"], "outside": inp.cfg["stations_outside"]},
                                len(inp.days)))
    for key in ("era5", "noah"):
        if key in src:
            plans.append(_GroupPlan(key, functools.partial(_build_aux, inp, key), files[key],
                                    src[key], tchunk))
    if "pdsi" in src:
        plans.append(_GroupPlan("pdsi", functools.partial(_build_aux, inp, "pdsi"),
                                files["pdsi"], src["pdsi"], 12))
    return plans


# =========================================================================== the writing
@dataclass
class _Run:
    """One ingest run: the store, its progress state and bar, and what every group records."""

    out: Path
    state: dict
    bar: object
    common: dict  # part of every group's fingerprint
    bbox: list
    config_json: str
    libs: str
    created: str

    def save(self):
        _save_state(self.out, self.state)

    def group_attrs(self, name: str, sources: dict) -> dict:
        """The provenance attributes of group ``name`` built from ``sources``."""
        return {
            "Conventions": CF_VERSION,
            "title": f"smkit analysis-ready cube: {name}",
            "source": "real observations, read by smkit.readers (see ingest_sources)",
            "smkit_version": __version__,
            "region_bbox": list(self.bbox),
            "ingest_config": self.config_json,
            "ingest_sources": json.dumps(sources),
            "library_versions": self.libs,
            "date_created": self.created,
        }


def _write_group(run: _Run, plan: _GroupPlan):
    """Build and write one group, skipping what an earlier run with the same fingerprint wrote."""
    fp = _fingerprint(run.common, plan.name, plan.spec, _file_stamp(plan.files))
    gs = run.state["groups"].get(plan.name, {})
    if gs.get("fingerprint") == fp and gs.get("done") and _group_exists(run.out, plan.name):
        run.bar.set_postfix_str(f"{plan.name}: done before, skipped")
        return
    run.bar.set_postfix_str(f"{plan.name}: reading")
    ds, sources = plan.build()
    ds = _rechunk(ds, plan.time_chunk, plan.space_chunk)
    ds.attrs = run.group_attrs(plan.name, sources)
    fresh = not (gs.get("fingerprint") == fp and gs.get("template")
                 and _group_exists(run.out, plan.name))
    if fresh:
        ds = _write_fresh_template(run, plan.name, ds)
        gs = {"fingerprint": fp, "template": True, "blocks": [], "done": False}
        run.state["groups"][plan.name] = gs
        run.save()
    _write_blocks(run, plan, ds, gs)
    gs["done"] = True
    run.save()


def _write_fresh_template(run: _Run, name: str, ds: xr.Dataset) -> xr.Dataset:
    """Write the group's template with its static fields computed; return the dataset so."""
    static = [v for v in ds.data_vars if "time" not in ds[v].dims]
    if static:  # static fields (dem) are computed now and written with the template
        run.bar.set_postfix_str(f"{name}: static fields")
        ds = ds.assign({v: ds[v].compute() for v in static})
    if name == "stations":
        ds = ds.compute()
    run.bar.set_postfix_str(f"{name}: template")
    _write_template(run.out, name, ds)
    return ds


def _write_blocks(run: _Run, plan: _GroupPlan, ds: xr.Dataset, gs: dict):
    """Write the time blocks of the group's lazy variables that ``gs`` does not list as written."""
    timed = [v for v in ds.data_vars if "time" in ds[v].dims and ds[v].chunks is not None]
    blocks = _time_blocks(ds.sizes.get("time", 0), plan.time_chunk) if timed else []
    run.bar.total += len(blocks)
    run.bar.refresh()
    drop = [c for c in ds.coords if "time" not in ds[c].dims]
    for b, (t0, t1) in enumerate(blocks):
        if b in gs["blocks"]:
            run.bar.update(1)
            continue
        steps = "months" if plan.name == "pdsi" else "days"
        run.bar.set_postfix_str(f"{plan.name}: {steps} {t0 + 1}-{t1} of {ds.sizes['time']}")
        part = ds[timed].isel(time=slice(t0, t1)).drop_vars(drop)
        _write_block(run.out, plan.name, part, {"time": slice(t0, t1)})
        gs["blocks"].append(b)
        run.save()
        run.bar.update(1)


def _write_empty_groups(run: _Run, present: set[str]):
    """An empty ``truth`` and an empty group for every source not configured."""
    for name in ("truth", *[g for g in GROUPS if g not in present]):
        # an empty group, also in place of one written by an earlier configuration
        stale = run.state["groups"].pop(name, None) is not None
        if stale or not _group_exists(run.out, name):
            why = ("no 1-km truth exists for real observations" if name == "truth"
                   else f"no '{name}' source was configured")
            xr.Dataset(attrs={"title": f"smkit analysis-ready cube: {name} (empty)",
                              "comment": why, "smkit_version": __version__}).to_zarr(
                run.out, group=name, mode="w", consolidated=False)
            run.save()


def _validate(run: _Run, cfg: dict, coarse_grid: Grid, stations: bool):
    """Open the written cube as a scenario and check its groups; record that in the state."""
    from smkit.core.scenario import open_scenario

    sc = open_scenario(run.out)
    coarse = check_coarse(sc.coarse)
    check_fine(sc.fine, coarse=coarse)
    if stations:
        check_stations(sc.stations, grid=coarse_grid,
                       on_outside="keep" if cfg["stations_outside"] == "keep" else "raise")
    run.state["validated"] = True
    run.save()


def ingest(config, out, progress: bool = True) -> Path:
    """Build the analysis-ready cube from raw archive files (resumable).

    Reads every source of the configuration with its reader, onto the common
    grids of the region (coarse 0.25 degrees, fine 0.01 degrees nesting in it,
    by default) and the daily period, and writes a Zarr store with the groups
    ``coarse``, ``fine``, ``stations``, ``era5``, ``noah``, ``pdsi`` and an
    empty ``truth``, which :func:`smkit.synth.open_scenario` opens like a
    synthetic scenario. Data are read lazily with dask and written time block
    by time block (``chunks.time`` days).

    Resuming: the progress of each group is kept in ``<out>.ingest.json``
    beside the store (written atomically after every block). A rerun skips
    finished groups and, inside an unfinished one, finished blocks; a group
    whose sources, options, files (names, sizes, times) or smkit/reader
    versions changed is rewritten. A group is finished only once all its
    blocks are written. As every store of smkit (:mod:`smkit.core.store`),
    the cube has one writer at a time (``<out>.lock``) and a full disk is
    reported as such; the ledger is that protocol's request record and part
    markers, per group.

    Provenance: every group's attributes hold ``smkit_version``,
    ``ingest_config`` (the checked configuration, JSON), ``ingest_sources``
    (per variable: reader, reader version, options, source files; JSON),
    ``library_versions`` (JSON) and ``date_created``.

    Parameters
    ----------
    config : str, Path or mapping
        ``sources.yaml`` or its content (:func:`load_config`).
    out : str or Path
        The Zarr store to write (``.zarr``).
    progress : bool, default True
        Show a tqdm progress bar over blocks.

    Returns
    -------
    Path
        ``out``.

    Raises
    ------
    ConfigError
        For an invalid configuration.
    ReadError
        Naming the file, for any unreadable source file.
    smkit.core.schema.InputError
        If the written cube does not pass :func:`smkit.core.schema.check_coarse`,
        :func:`smkit.core.schema.check_fine` or :func:`smkit.core.schema.check_stations`.
    """
    from smkit.core.progress import progress_bar

    cfg = load_config(config)
    out = Path(out)
    inp = _inputs(cfg)
    plans = _plans(inp)
    common = {"region": cfg["region"], "period": cfg["period"], "chunks": cfg["chunks"],
              "smkit": __version__, "readers": READER_VERSIONS}
    state = _load_state(out)
    created = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    config_json = json.dumps(cfg, default=str)
    libs = json.dumps(_library_versions())
    present = {p.name for p in plans}
    bar = progress_bar(total=0, desc=f"ingest {out.name}", unit="block", disable=not progress)
    run = _Run(out, state, bar, common, cfg["region"]["bbox"], config_json, libs, created)
    try:
        with lock(out), reporting_disk_full(out):  # one writer; a full disk said as such
            for plan in plans:
                _write_group(run, plan)
            _write_empty_groups(run, present)
    finally:
        run.bar.close()
    if cfg["validate"]:
        _validate(run, cfg, inp.coarse_grid, "stations" in present)
    return out
