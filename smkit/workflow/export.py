"""A product for other tools: one CF NetCDF4 file, or one Cloud-Optimised GeoTIFF per model and day.

Both carry the product's CF-1.11/ACDD-1.3 metadata (:func:`smkit.core.cf.cf_product`)
and its coordinate reference system, EPSG:4326, so QGIS, GDAL, Panoply or
``xarray``/``rioxarray`` open them georeferenced. ``smkit export`` calls these.

Examples
--------
>>> from smkit.synth import make_scenario
>>> from smkit.engine import downscale
>>> import tempfile
>>> sc = make_scenario("tiny")
>>> sel = {"time": slice("2009-07-01", "2009-07-02")}
>>> p = downscale(sc.coarse.sel(sel), sc.fine.sel(sel), learners=("mlr",), progress=False)
>>> folder = Path(tempfile.mkdtemp())
>>> export_netcdf(p, folder / "p.nc").name
'p.nc'
>>> [f.name for f in export_geotiff(p, folder / "tif", days=slice("2009-07-02", None))]
['sm_mlr_20090702.tif']
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from smkit.core.cf import GRID_MAPPING, cf_product, now_iso
from smkit.core.grid import Grid
from smkit.core.vocabulary import MODEL_DESCRIPTIONS, SM_ATTRS, SM_UNITS
from smkit.workflow.explorer_data import open_product, product_sm, with_stored_bma

__all__ = ["GEOTIFF_NAME", "NETCDF_TILE", "band_description", "export_geotiff", "export_netcdf", "select"]

#: File name of one GeoTIFF: model id and day.
GEOTIFF_NAME = "sm_{model}_{day:%Y%m%d}.tif"
#: Fine pixels per side of a NetCDF chunk of ``sm`` (one model, one day each): 1 MB float32 chunks,
#: so that a GIS reading one day's map reads only that day.
NETCDF_TILE = 512
#: Bytes of fine maps a GeoTIFF export holds in memory at once.
_BLOCK_BYTES = 256 * 2**20


def _product(product: xr.Dataset | str | Path) -> xr.Dataset:
    """A product given as a Dataset, or opened from its store with the BMA maps stored beside it."""
    if isinstance(product, xr.Dataset):
        return product
    path = Path(product)
    ds = open_product(path)
    return ds if path.suffix == ".nc" else with_stored_bma(path, ds)


def select(product: xr.Dataset | str | Path, models=None, days: slice | None = None) -> xr.Dataset:
    """The models and days of a product to export.

    Parameters
    ----------
    product : xarray.Dataset, str or Path
        A product (``sm(model, time, lat, lon)``, m3 m-3) or its store (``.zarr``
        or ``.nc``, opened with :func:`smkit.workflow.explorer_data.open_product`;
        the BMA maps stored beside a ``.zarr`` store come along as model ``bma``).
    models : str or sequence of str, optional
        Model ids, e.g. ``["rf", "bma"]`` (default: all).
    days : slice, optional
        First and last day (inclusive), e.g. ``slice("2009-07-01", "2009-07-31")``;
        either end may be None (default: every day).

    Returns
    -------
    xarray.Dataset
        The selection (lazy where the product is).

    Raises
    ------
    KeyError
        If a model is not in the product (the message lists those it has).
    ValueError
        If no day of the product falls in ``days``.
    """
    ds = _product(product)
    product_sm(ds)  # the product's layout, checked
    have = [str(m) for m in ds["model"].values]
    if models is not None:
        models = [models] if isinstance(models, str) else list(models)
        absent = [m for m in models if m not in have]
        if absent:
            raise KeyError(f"the product has no model {absent}; it has {have}")
        ds = ds.sel(model=models)
    if days is not None:
        t = ds.indexes["time"]
        ds = ds.sel(time=slice(days.start, days.stop))
        if ds.sizes["time"] == 0:
            asked = f"{days.start or 'its start'} to {days.stop or 'its end'}"
            raise ValueError(f"no day of the product falls in {asked}: it runs from {t[0].date()} to "
                             f"{t[-1].date()}")
    return ds


def _netcdf_encoding(ds: xr.Dataset, complevel: int) -> dict:
    """zlib-compressed variables, ``sm`` chunked by model, day and tile, coordinates without _FillValue."""
    enc = {}
    for name, var in ds.variables.items():
        if name in ds.coords or str(name).endswith("_bnds") or name == GRID_MAPPING:
            enc[name] = {"_FillValue": None}
        elif var.ndim:
            enc[name] = {"zlib": True, "complevel": complevel, "shuffle": True}
    if "sm" in ds:
        sizes = ds["sm"].sizes
        enc["sm"].update(dtype="float32", _FillValue=np.float32(np.nan), chunksizes=tuple(
            min(sizes[d], NETCDF_TILE) if d in ("lat", "lon") else 1 for d in ds["sm"].dims))
    if "time" in ds.coords:
        enc["time"].update(units="days since 1970-01-01", calendar="standard", dtype="float64")
    if "model" in ds.coords:  # a char array: GDAL and rioxarray read a string dimension as it; xarray as str
        enc["model"]["dtype"] = "S1"
    return enc


def export_netcdf(product: xr.Dataset | str | Path, path: str | Path, *, models=None,
                  days: slice | None = None, complevel: int = 4) -> Path:
    """Write a product to one CF-1.11/ACDD-1.3 NetCDF4 file (zlib compressed).

    ``sm(model, time, lat, lon)`` (m3 m-3) is chunked one model, one day and
    :data:`NETCDF_TILE` pixels a side at a time; coordinates carry no
    ``_FillValue``; ``crs`` (EPSG:4326) is the grid mapping, which GDAL and
    rioxarray read. The file is written beside ``path`` and renamed into place,
    so a killed export leaves no partial file under the final name.

    Parameters
    ----------
    product : xarray.Dataset, str or Path
        A product or its store (see :func:`select`).
    path : str or Path
        The ``.nc`` file to write (replaced when it exists).
    models, days
        What to export (see :func:`select`; default: everything).
    complevel : int, default 4
        zlib compression level, 1-9.

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    ds = select(product, models, days)
    ds = cf_product(ds, created=now_iso(), history=f"exported to NetCDF4 ({path.name})")
    ds = ds.drop_encoding()
    tmp = path.with_name(path.name + ".partial")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        ds.to_netcdf(tmp, engine="netcdf4", format="NETCDF4", encoding=_netcdf_encoding(ds, complevel))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def band_description(attrs: dict, model: str, day: pd.Timestamp) -> tuple[str, str]:
    """What a GeoTIFF band of one model's day is, from its variable's own ``long_name`` and ``units``.

    A ``long_name`` that already names the day (the explorer's one-map
    exports, :func:`smkit.app.downloads.map_dataset`, e.g. ``difference of
    volumetric soil moisture, XG minus CCI, 2009-07-02``) describes the band
    as it is; a product's ``long_name`` (``downscaled soil moisture``) gets the
    model and the day appended. The units follow, unless it already ends with them.

    Parameters
    ----------
    attrs : dict
        The variable's attributes; without ``long_name`` or ``units``,
        ``volumetric soil moisture`` in m3 m-3.
    model : str
        The model id (``rf``; described by ``MODEL_DESCRIPTIONS`` when known).
    day : pandas.Timestamp
        The map's day.

    Returns
    -------
    description, units : str

    Examples
    --------
    >>> day = pd.Timestamp("2009-07-02")
    >>> band_description({"long_name": "downscaled soil moisture", "units": "m3 m-3"}, "rf", day)
    ('downscaled soil moisture, rf (random forest), 2009-07-02, m3 m-3', 'm3 m-3')
    >>> band_description({"long_name": "difference of volumetric soil moisture, XG minus CCI, 2009-07-02",
    ...                   "units": "m3 m-3"}, "xgb-minus-cci", day)[0]
    'difference of volumetric soil moisture, XG minus CCI, 2009-07-02, m3 m-3'
    """
    long_name = str(attrs.get("long_name") or SM_ATTRS["long_name"])
    units = str(attrs.get("units") or SM_UNITS)
    text = long_name
    if f"{day:%Y-%m-%d}" not in long_name:
        words = MODEL_DESCRIPTIONS.get(model)
        text += f", {model} ({words})" if words else f", {model}"
        text += f", {day:%Y-%m-%d}"
    if not text.endswith(f", {units}"):
        text += f", {units}"
    return text, units


def _geotiff(day_map: xr.DataArray, model: str, day: pd.Timestamp, path: Path) -> Path:
    """One north-up COG of a day's map (lat, lon) in EPSG:4326, NaN nodata, the band described."""
    import rioxarray  # noqa: F401  (registers .rio)
    from affine import Affine

    description, units = band_description(day_map.attrs, model, day)
    da = day_map.isel(lat=slice(None, None, -1)).astype(np.float32)  # north-up: first row at the top
    da = da.drop_vars([c for c in da.coords if c not in ("lat", "lon")])
    da.attrs = {"long_name": description, "units": units, "model": model, "date": f"{day:%Y-%m-%d}"}
    grid = Grid.from_dataset(day_map)  # the exact edges and pixel size (coordinates carry rounding)
    da = da.rio.set_spatial_dims(x_dim="lon", y_dim="lat").rio.write_crs("EPSG:4326")
    da = da.rio.write_transform(Affine(grid.res, 0.0, grid.lon0, 0.0, -grid.res, grid.lat1))
    da = da.rio.write_nodata(np.nan)
    da.rio.to_raster(path, driver="COG", compress="DEFLATE", predictor="YES", recalc_transform=False)
    return path


def export_geotiff(product: xr.Dataset | str | Path, directory: str | Path, models=None,
                   days: slice | None = None) -> list[Path]:
    """Write one Cloud-Optimised GeoTIFF per model and day of a product.

    Each file, ``sm_{model}_{YYYYMMDD}.tif`` (:data:`GEOTIFF_NAME`), holds one
    float32 band (``sm``, m3 m-3), north up, in EPSG:4326 with the product's
    pixel size, NaN as nodata, DEFLATE compressed. The band's description and
    its ``long_name``/``units`` tags follow ``sm``'s own ``long_name`` and
    ``units`` (:func:`band_description`): a product's soil moisture is named
    with its model and day, a difference map exported by the explorer as that
    difference. Existing files of the same name are replaced.

    Parameters
    ----------
    product : xarray.Dataset, str or Path
        A product or its store (see :func:`select`).
    directory : str or Path
        The folder to write into (created if needed).
    models, days
        What to export (see :func:`select`; default: every model and day).

    Returns
    -------
    list of Path
        The files written, by model then day.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    sm = product_sm(select(product, models, days))
    block = max(1, _BLOCK_BYTES // max(sm.sizes["lat"] * sm.sizes["lon"] * 4, 1))
    times = pd.DatetimeIndex(sm["time"].values)
    written = []
    for model in [str(m) for m in sm["model"].values]:
        for i0 in range(0, len(times), block):  # a block of days read at once (a store's chunks span days)
            maps = sm.sel(model=model).isel(time=slice(i0, i0 + block)).load()
            for k, day in enumerate(times[i0:i0 + block]):
                path = directory / GEOTIFF_NAME.format(model=model, day=day)
                written.append(_geotiff(maps.isel(time=k), model, day, path))
    return written
