"""GeoTIFF rasters through rasterio/rioxarray, and HDF4 granules through pyhdf.

CRS checks, HDF4 data sets, reading one layer, and warping it onto a lat/lon grid.
HDF4 granules are always read with :mod:`smkit.readers.hdf4` (pyhdf), whether or
not rasterio's GDAL has the HDF4 driver (PyPI wheels have none), so that they
read the same everywhere.

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
from smkit.readers.hdf4 import Hdf4Source, hdf4_source, open_sds, scan_sds

__all__ = ["RESAMPLING", "check_resampling", "raster_source", "scan_raster", "read_layer",
           "warp_into", "warp_sum_into"]

#: GDAL resamplings the raster readers accept.
RESAMPLING = ("nearest", "bilinear", "cubic", "average", "mode", "min", "max", "med")


def check_resampling(resampling: str):
    """Raise a ValueError unless ``resampling`` is one of :data:`RESAMPLING`."""
    if resampling not in RESAMPLING:
        raise ValueError(f"unknown resampling {resampling!r}; choose from {list(RESAMPLING)}")


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


def raster_source(path: str, sds: str | None, kind: str) -> str | Hdf4Source:
    """Return the GDAL name of a GeoTIFF, or the :class:`~smkit.readers.hdf4.Hdf4Source` of
    the data set ``sds`` of an HDF4 granule (read with pyhdf, see :mod:`smkit.readers.hdf4`).

    Raises
    ------
    ReadError
        If the granule is not HDF4 (an HTML login page, empty, a ZIP ...), cannot
        be opened or lacks ``sds``.
    """
    if sds is None:
        return path
    with IO_LOCK:
        return hdf4_source(path, sds, kind)


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
    if isinstance(src, Hdf4Source):
        from rasterio.crs import CRS
        from rasterio.warp import transform_bounds

        crs, (x0, dx, _, y0, _, dy), (rows, cols), dtype = scan_sds(src, kind)
        crs = CRS.from_user_input(crs)
        _check_raster_crs(path, kind, variable, crs, accepted, product)
        bounds = transform_bounds(crs, "EPSG:4326", x0, y0 + rows * dy, x0 + cols * dx, y0,
                                  densify_pts=21)
        return tuple(float(b) for b in bounds), dtype
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


def read_layer(path: str, src, kind: str, layer: str, bbox=None):
    """Read a raster layer (rioxarray, band dropped) with its values loaded.

    An HDF4 data set (``src`` an :class:`~smkit.readers.hdf4.Hdf4Source`) comes
    with its raw stored values and its attributes (``_FillValue``,
    ``scale_factor`` ...), not decoded, and only its window over ``bbox``
    (``(west, south, east, north)``, degrees) when given; GeoTIFFs are read whole.
    """
    if isinstance(src, Hdf4Source):
        return guarded(open_sds, path, kind, layer, src, kind, bbox)

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


def warp_sum_into(total: np.ndarray, weight: np.ndarray, values: xr.DataArray, grid: Grid,
                  path: str, kind: str, layer: str):
    """Add a geographic tile's pixel sum and pixel count in each cell of ``grid`` to two arrays.

    The tile's "average" over each cell is weighted by the area of the cell it
    covers (its footprint's overlap with the cell) times the part of its
    pixels there that are valid (not NaN). After every tile, ``total /
    weight`` is the mean of all the tiles' pixels in each cell, a cell on the
    seam of two tiles included: with :func:`warp_into` and "average", the
    first tile's sliver of such a cell (its edge row, half a pixel wide) would
    give the whole cell's value.

    Parameters
    ----------
    total, weight : numpy.ndarray
        float64 (lat, lon) arrays on ``grid``, latitude ascending, updated in place.
    values : xarray.DataArray
        A layer (rioxarray) in geographic lat/lon, float with NaN nodata.
    grid : smkit.core.grid.Grid
        Target lat/lon grid.
    path, kind, layer : str
        File, product and layer, for a :class:`~smkit.readers.common.ReadError`.
    """
    from affine import Affine
    from rasterio.enums import Resampling

    values = values.rio.write_nodata(np.nan, encoded=False)
    w, s, e, n = values.rio.transform_bounds("EPSG:4326", densify_pts=21)
    win = _grid_window((w, s, e, n), grid)
    if win is None:
        return
    r0, r1, c0, c1 = win
    transform = Affine(grid.res, 0.0, grid.lon0 + c0 * grid.res,
                       0.0, -grid.res, grid.lat1 - r0 * grid.res)
    valid = values.copy(data=np.isfinite(values.values).astype(np.float32))
    blocks = []
    for src in (values, valid):
        warped = guarded(src.rio.reproject, path, kind, layer, "EPSG:4326",
                         shape=(r1 - r0, c1 - c0), transform=transform,
                         resampling=Resampling.average, nodata=np.nan)
        blocks.append(np.asarray(warped.values, dtype=np.float64)[::-1])  # rows south to north
    mean, frac = blocks
    # the footprint's share of each cell, rows south to north
    x0 = grid.lon0 + np.arange(c0, c1) * grid.res
    y0 = grid.lat0 + np.arange(grid.nlat - r1, grid.nlat - r0) * grid.res
    fx = np.clip((np.minimum(e, x0 + grid.res) - np.maximum(w, x0)) / grid.res, 0.0, 1.0)
    fy = np.clip((np.minimum(n, y0 + grid.res) - np.maximum(s, y0)) / grid.res, 0.0, 1.0)
    wgt = fy[:, None] * fx[None, :] * np.where(np.isfinite(frac), frac, 0.0)
    ok = np.isfinite(mean) & (wgt > 0)
    rows = slice(grid.nlat - r1, grid.nlat - r0)
    total[rows, c0:c1] += np.where(ok, mean * wgt, 0.0)
    weight[rows, c0:c1] += np.where(ok, wgt, 0.0)
