"""The product's layout and its store: the template, resumable Zarr stores, writing and assembling chunks.

A product is ``sm(model, time, lat, lon)`` on the fine grid and the window
diagnostics per coarse cell and day (:func:`product_template`). With a store,
each finished chunk is written into its own region (:func:`write_part`) and
marked done in ``<store>.done/``, so a killed run restarted with the same
arguments skips finished chunks (:func:`open_store`, following the one store
protocol of :mod:`smkit.core.store`); without one, the chunks are assembled in
memory (:func:`assemble`).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from smkit import __version__
from smkit.core.cf import cf_product, now_iso
from smkit.core.grid import Grid
from smkit.core.store import (
    REQUEST_ATTR,
    Parts,
    StoreMismatch,
    check_request,
    reporting_disk_full,
    request_of,
    write_atomically,
)
from smkit.engine.windows import FLAG_MEANINGS, FLAG_SKIPPED

if TYPE_CHECKING:
    from smkit.engine.chunks import ChunkResult
    from smkit.engine.config import Config

__all__ = [
    "DIAGNOSTICS",
    "product_attrs",
    "product_template",
    "request",
    "open_store",
    "write_part",
    "assemble",
]

#: The per-cell diagnostics of a product (dims time, clat, clon).
DIAGNOSTICS = ("window_sw", "window_nd", "window_count", "window_flag")

#: Each variable of a product: the :class:`~smkit.engine.chunks.ChunkResult` field it comes from, its dims.
_VARIABLES = {
    "sm": ("sm", ("model", "time", "lat", "lon")),
    "window_sw": ("sw", ("time", "clat", "clon")),
    "window_nd": ("nd", ("time", "clat", "clon")),
    "window_count": ("count", ("time", "clat", "clon")),
    "window_flag": ("flag", ("time", "clat", "clon")),
    "clipped": ("clipped", ("model", "time", "clat", "clon")),
}


def product_attrs(cfg: Config, factor: int, blends: bool) -> dict:
    """The attributes of a product made with ``cfg`` (``params`` resolved), ``factor`` pixels per cell."""
    return {
        "title": "smkit downscaled soil moisture",
        "smkit_version": __version__,
        "strategy": cfg.strategy,
        "backend": cfg.backend,
        "covariates": ",".join(cfg.covariates),
        "aggregation": cfg.aggregation,
        "window_caps": f"sw_max={cfg.sw_max} cells, nd_max={cfg.nd_max} days, growth={cfg.growth}",
        "min_samples": cfg.min_samples,
        "residual_correction": int(cfg.residual_correction),
        "clamp_covariates": int(cfg.clamp_covariates),
        "blend": int(blends),
        "blend_width": cfg.blend_width,
        "smooth_coarse": int(cfg.smooth_coarse),
        "sm_max": cfg.sm_max,
        "hyperparameters": json.dumps(cfg.params, sort_keys=True),
        "factor": factor,
        "smkit_config": cfg.digest(),
    }


def product_template(coarse: xr.Dataset, fine: xr.Dataset, grids: tuple[Grid, Grid], attrs: dict,
                     learners: tuple[str, ...], mask: np.ndarray | None = None) -> xr.Dataset:
    """The empty product (lazy fill values), for the days of ``coarse``, with its CF/ACDD metadata.

    The metadata (``crs`` grid mapping, cell bounds, standard names, discovery
    attributes) are :func:`smkit.core.cf.cf_product`'s; a store made from the
    template is also stamped with its creation time (:func:`open_store`).

    Parameters
    ----------
    coarse, fine : xarray.Dataset
        The produced days of the coarse input and the fine covariates (for coordinates).
    grids : (Grid, Grid)
        The coarse and the fine grid.
    attrs : dict
        The product's attributes (:func:`product_attrs`).
    learners : tuple of str
        The ``model`` coordinate.
    mask : ndarray of bool, shape (Ny, Nx), optional
        The requested cells: the others are flagged skipped, and the mask is
        part of the configuration digest (a resumed run must ask for the same).

    Returns
    -------
    xarray.Dataset
    """
    template = _template(coarse, fine, grids, learners, attrs)
    if mask is not None:
        template.attrs["cells"] = int(mask.sum())
        # the requested cells are part of what the store holds: a resumed run must ask for the same
        template.attrs["smkit_config"] = hashlib.sha256(
            (attrs["smkit_config"] + np.packbits(mask).tobytes().hex()).encode()).hexdigest()[:16]
        template["window_flag"] = template["window_flag"] + np.int8(FLAG_SKIPPED)
    return template


def _template(coarse, fine, grids, learners, attrs) -> xr.Dataset:
    cgrid, fgrid = grids
    nt, (ny, nx), (fy, fx) = coarse.sizes["time"], cgrid.shape, fgrid.shape
    L = len(learners)
    import dask.array as da

    time = coarse["time"]
    coords = {
        "model": ("model", list(learners)),
        "time": time,
        "lat": ("lat", fgrid.lat, fine["lat"].attrs),
        "lon": ("lon", fgrid.lon, fine["lon"].attrs),
        "clat": ("clat", cgrid.lat),  # described by cf_product (not a second CF latitude)
        "clon": ("clon", cgrid.lon),
    }
    full = lambda shape, dtype, fill: da.full(shape, fill, dtype=dtype, chunks=shape)  # noqa: E731
    return cf_product(xr.Dataset(
        {
            "sm": (("model", "time", "lat", "lon"), full((L, nt, fy, fx), np.float32, np.nan),
                   {"long_name": "downscaled soil moisture", "units": "m3 m-3",
                    "valid_range": np.array([0.0, attrs.get("sm_max", 1.0)], np.float32)}),
            "window_sw": (("time", "clat", "clon"), full((nt, ny, nx), np.int8, 0),
                          {"long_name": "spatial window size, in coarse cells", "units": "1"}),
            "window_nd": (("time", "clat", "clon"), full((nt, ny, nx), np.int8, 0),
                          {"long_name": "temporal window length", "units": "days"}),
            "window_count": (("time", "clat", "clon"), full((nt, ny, nx), np.int32, 0),
                             {"long_name": "training samples in the window", "units": "1"}),
            "window_flag": (("time", "clat", "clon"), full((nt, ny, nx), np.int8, 0),
                            {"long_name": "window flag", "flag_masks": np.array([1, 2, 4, 8, 16], np.int8),
                             "flag_meanings": FLAG_MEANINGS, "units": "1"}),
            "clipped": (("model", "time", "clat", "clon"), full((L, nt, ny, nx), np.int16, 0),
                        {"long_name": "fine pixels clipped to the physical range [0, sm_max]",
                         "units": "1"}),
        },
        coords=coords,
        attrs=attrs,
    ))


def request(template: xr.Dataset, *, time_chunk: int | None = None, tile: int | None = None) -> dict:
    """What a product store is made for: the options' digest, the period, the grid, the models, the chunking.

    Computed from a product's template (or from an existing store, whose chunking is then read from its
    recorded request); two runs may share a store only if these are equal.
    """
    t = template.indexes["time"]
    lat, lon = template["lat"].values, template["lon"].values
    out = {
        "config": template.attrs.get("smkit_config"),
        "period": f"{t[0].date()} to {t[-1].date()} ({len(t)} days)" if len(t) else "no days",
        "grid": f"lat {lat[0]:.5f} to {lat[-1]:.5f} ({lat.size}), lon {lon[0]:.5f} to {lon[-1]:.5f} ({lon.size})",
        "models": [str(m) for m in template["model"].values],
    }
    if time_chunk is not None:
        out.update(time_chunk=int(time_chunk), tile=int(tile))
    return out


def open_store(store: Path, template: xr.Dataset, mask: np.ndarray | None, *, time_chunk: int, tile: int,
               factor: int) -> Parts:
    """Create a product store from its template, or check that an existing one was made for the same request.

    The template is written through ``<store>.partial`` and renamed into place
    (:func:`smkit.core.store.write_atomically`): a store that exists is whole, a
    kill while writing it leaves only a ``.partial`` that the next run rebuilds.
    A new store's ``date_created`` and first ``history`` line say when it was
    created (a resumed run keeps them).

    Parameters
    ----------
    store : Path
        The Zarr store.
    template : xarray.Dataset
        The product's template (:func:`product_template`).
    mask : ndarray of bool, optional
        The requested cells (chunks never computed must still read as skipped).
    time_chunk, tile, factor : int
        Days and coarse cells per chunk, fine pixels per cell: the store's chunking.

    Returns
    -------
    smkit.core.store.Parts
        The markers of finished chunks, beside the store.

    Raises
    ------
    smkit.core.store.StoreMismatch
        If the store holds a product made for another request (options, period, grid, models or
        chunking), naming each difference.
    """
    parts = Parts(store)
    asked = request(template, time_chunk=time_chunk, tile=tile)
    if store.exists():
        existing = xr.open_zarr(store, consolidated=False)
        if "method" in existing.dims:
            raise StoreMismatch(
                f"{store} was written by smkit 0.1 (its learner dimension is 'method', now 'model') and "
                "cannot be resumed; read it with smkit.open_product, or delete it to rebuild it",
                {"dimension": ("method", "model")})
        stored = request_of(existing.attrs)
        if stored is None:  # written before requests were recorded: what its coordinates say
            stored = request(existing)
            asked = {k: asked[k] for k in stored}
        check_request(store, stored, asked)
        return parts
    enc = {
        "sm": {"chunks": (1, time_chunk, tile * factor, tile * factor)},
        **{v: {"chunks": (time_chunk, tile, tile)} for v in DIAGNOSTICS},
        "clipped": {"chunks": (1, time_chunk, tile, tile)},
    }
    # the wall-clock time of the store's creation: a resumed run keeps it
    template = cf_product(template, created=now_iso())
    template = template.assign_attrs({REQUEST_ATTR: json.dumps(asked, sort_keys=True)})

    def write(tmp: Path) -> None:
        template.to_zarr(tmp, mode="w", compute=False, encoding=enc, consolidated=False)
        if mask is not None:  # chunks never computed must still read as skipped
            flags = template[["window_flag"]].drop_vars(["time", "clat", "clon"]).compute()
            flags.to_zarr(tmp, mode="r+", consolidated=False,
                          region={"time": slice(None), "clat": slice(None), "clon": slice(None)})

    parts.reset()  # markers of an older, deleted store
    write_atomically(store, write)
    return parts


def write_part(store: Path, result: ChunkResult, regions: tuple[tuple[slice, ...], tuple[slice, ...]]):
    """Write one chunk's result into its region of a product store.

    ``regions`` are the chunk's (time, lat, lon) slices of the fine grid and
    (time, clat, clon) slices of the coarse grid
    (:meth:`smkit.engine.chunks.Chunk.regions`).
    """
    (t, lat, lon), (_, clat, clon) = regions
    part = xr.Dataset({var: (dims, getattr(result, key)) for var, (key, dims) in _VARIABLES.items()})
    with reporting_disk_full(store):
        part.to_zarr(store, region={"time": t, "lat": lat, "lon": lon, "clat": clat, "clon": clon},
                     mode="r+", consolidated=False)


def assemble(template: xr.Dataset, parts: list) -> xr.Dataset:
    """The product in memory: the template with every chunk's result in its region.

    ``parts`` are ``(regions, result)`` pairs (see :func:`write_part`).
    """
    data = {k: np.array(template[k].values) for k in template.data_vars}
    for (fine, coarse), result in parts:
        for var, (key, dims) in _VARIABLES.items():
            region = fine if "lat" in dims else coarse
            data[var][(slice(None), *region) if dims[0] == "model" else region] = getattr(result, key)
    ds = template.copy()
    for k, v in data.items():
        ds[k] = (template[k].dims, v, template[k].attrs)
    return ds
