"""GeoTIFF and HDF4 rasters through rasterio/rioxarray.

CRS checks, HDF4 subdatasets, reading one layer, and warping it onto a lat/lon grid.

Owns the raster mechanics the MODIS (:mod:`smkit.readers.modis`) and SRTM
(:mod:`smkit.readers.srtm`) readers share; every call into rasterio runs under
:data:`smkit.readers.common.IO_LOCK`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from smkit.core.grid import Grid
from smkit.readers.common import IO_LOCK, ReadError, guarded

__all__ = ["RESAMPLING", "check_resampling", "raster_source", "scan_raster", "read_layer",
           "warp_into"]

#: GDAL resamplings the raster readers accept.
RESAMPLING = ("nearest", "bilinear", "cubic", "average", "mode", "min", "max", "med")


def check_resampling(resampling: str):
    """Raise a ValueError unless ``resampling`` is one of :data:`RESAMPLING`."""
    if resampling not in RESAMPLING:
        raise ValueError(f"unknown resampling {resampling!r}; choose from {list(RESAMPLING)}")


def _hdf4_available() -> bool:
    import rasterio

    with rasterio.Env() as env:
        return "HDF4" in env.drivers()


def _crs_kind(crs) -> str | None:
    if crs is None:
        return None
    try:
        if crs.is_geographic:
            return "geographic"
        if crs.to_dict().get("proj") == "sinu":
            return "sinusoidal"
    except Exception:  # noqa: BLE001 - an exotic CRS is reported as such
        pass
    return "other"


def _check_raster_crs(path, kind, variable, crs, accepted: Sequence[str], product: str):
    k = _crs_kind(crs)
    if k is None:
        raise ReadError(path, kind, variable, "has no CRS (no georeferencing)",
                        "export the GeoTIFF with its projection (AppEEARS and GDAL keep it)")
    if k not in accepted:
        name = {"sinusoidal": "the MODIS sinusoidal projection",
                "geographic": "geographic lat/lon (e.g. EPSG:4326)"}
        raise ReadError(path, kind, variable, f"has CRS '{crs.to_string()}' but {product} comes in "
                        + " or ".join(name[a] for a in accepted) + " (wrong CRS)",
                        "export the product in its native projection or in EPSG:4326")


def raster_source(path: str, sds: str | None, kind: str) -> str:
    """Return the GDAL name of a GeoTIFF, or of the subdataset ``sds`` of an HDF4 granule.

    Raises
    ------
    ReadError
        If the granule needs a GDAL without HDF4, cannot be opened or lacks ``sds``.
    """
    if sds is None:
        return path
    import rasterio

    if not _hdf4_available():
        raise ReadError(path, kind, sds, f"is an HDF4 granule but this rasterio's GDAL "
                        f"({rasterio.__gdal_version__}) has no HDF4 driver (PyPI wheels have none)",
                        "download GeoTIFFs (e.g. from AppEEARS), convert with gdal_translate, or "
                        "install a rasterio built against a GDAL with HDF4")
    try:
        with IO_LOCK, rasterio.open(path) as src:
            subs = list(src.subdatasets)
    except Exception as err:  # noqa: BLE001
        raise ReadError(path, kind, None, f"cannot be opened ({err}): corrupt or truncated",
                        "download the file again") from err
    hit = [s for s in subs if s.endswith(":" + sds) or s.endswith(":" + sds.replace(" ", "_"))]
    if not hit:
        names = [s.rsplit(":", 1)[-1] for s in subs]
        raise ReadError(path, kind, sds, f"missing; subdatasets: {names}",
                        "check that the file is the right product")
    return hit[0]


def _open_raster(src: str):
    import rioxarray

    return rioxarray.open_rasterio(src, masked=False, mask_and_scale=False, cache=False)


def scan_raster(path: str, src: str, kind: str, variable: str, accepted, product: str):
    """CRS check and lon/lat bounds of a raster, or a ReadError naming the file.

    Parameters
    ----------
    path : str
        The file, for the messages.
    src : str
        Its GDAL name (see :func:`raster_source`).
    kind, variable : str
        Product and layer, for the messages.
    accepted : sequence of {"sinusoidal", "geographic"}
        The CRSs the product comes in.
    product : str
        The product's name, for the messages.

    Returns
    -------
    tuple
        ``((west, south, east, north), dtype)``: bounds in degrees (EPSG:4326)
        and the stored data type.
    """
    with IO_LOCK:
        return _scan_raster_locked(path, src, kind, variable, accepted, product)


def _scan_raster_locked(path, src, kind, variable, accepted, product):
    try:
        with _open_raster(src) as r:
            crs = r.rio.crs
            _check_raster_crs(path, kind, variable, crs, accepted, product)
            bounds = r.rio.transform_bounds("EPSG:4326", densify_pts=21)
            dtype = r.dtype
    except ReadError:
        raise
    except Exception as err:  # noqa: BLE001
        raise ReadError(path, kind, variable, f"cannot be opened as a raster "
                        f"({type(err).__name__}: {err}); the file is corrupt, truncated or not "
                        "a GeoTIFF/HDF",
                        "download or export the file again") from err
    return tuple(float(b) for b in bounds), dtype


def read_layer(path: str, src: str, kind: str, layer: str):
    """Read a raster layer (rioxarray, band dropped) with its values loaded."""
    def load():
        with _open_raster(src) as r:
            return r.squeeze("band", drop=True).load() if "band" in r.dims else r.load()

    return guarded(load, path, kind, layer)


def _grid_window(bounds, grid: Grid):
    """Rows from the north (r0, r1) and columns (c0, c1) of ``grid`` overlapping ``bounds``."""
    w, s, e, n = bounds
    c0 = max(0, int(np.floor((w - grid.lon0) / grid.res + 1e-9)))
    c1 = min(grid.nlon, int(np.ceil((e - grid.lon0) / grid.res - 1e-9)))
    r0 = max(0, int(np.floor((grid.lat1 - n) / grid.res + 1e-9)))
    r1 = min(grid.nlat, int(np.ceil((grid.lat1 - s) / grid.res - 1e-9)))
    return (r0, r1, c0, c1) if (r1 > r0 and c1 > c0) else None


def warp_into(out: np.ndarray, values: xr.DataArray, grid: Grid, resampling: str, path: str,
              kind: str, layer: str):
    """Reproject ``values`` (float, NaN nodata) onto ``grid`` and fill the NaN of ``out``.

    Parameters
    ----------
    out : numpy.ndarray
        float32 (lat, lon) array on ``grid``, latitude ascending; its NaN cells
        take the warped values (earlier tiles win).
    values : xarray.DataArray
        A georeferenced layer (rioxarray) in its own CRS.
    grid : smkit.core.grid.Grid
        Target lat/lon grid.
    resampling : str
        GDAL resampling (one of :data:`RESAMPLING`).
    path, kind, layer : str
        File, product and layer, for a :class:`~smkit.readers.common.ReadError`.
    """
    from affine import Affine
    from rasterio.enums import Resampling

    values = values.rio.write_nodata(np.nan, encoded=False)
    win = _grid_window(values.rio.transform_bounds("EPSG:4326", densify_pts=21), grid)
    if win is None:
        return
    r0, r1, c0, c1 = win
    transform = Affine(grid.res, 0.0, grid.lon0 + c0 * grid.res,
                       0.0, -grid.res, grid.lat1 - r0 * grid.res)
    warped = guarded(values.rio.reproject, path, kind, layer, "EPSG:4326",
                     shape=(r1 - r0, c1 - c0), transform=transform,
                     resampling=Resampling[resampling], nodata=np.nan)
    block = np.asarray(warped.values, dtype=np.float32)[::-1]  # rows south to north
    rows = slice(grid.nlat - r1, grid.nlat - r0)
    target = out[rows, c0:c1]
    np.copyto(target, block, where=np.isnan(target) & np.isfinite(block))
