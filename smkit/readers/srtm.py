"""SRTM elevation tiles (GeoTIFF or ``.hgt``): the static fine ``dem``.

Owns the tiles' void value and the mosaic onto the grid; the raster mechanics are
:mod:`smkit.readers.raster`'s.
"""

from __future__ import annotations

import os

import dask
import dask.array as da
import numpy as np
import xarray as xr

from smkit.core.grid import Grid
from smkit.readers.common import (
    EARTHDATA_LOGIN,
    IO_LOCK,
    ReadError,
    as_files,
    check_download,
    extent_text,
)
from smkit.readers.raster import (
    check_resampling,
    read_layer,
    scan_raster,
    warp_into,
    warp_sum_into,
)

__all__ = ["HGT_SIZES", "read_srtm"]


#: Sizes (bytes) of SRTM ``.hgt`` tiles: 1201 x 1201 (3 arc-second) and 3601 x 3601 (1 arc-second) int16.
HGT_SIZES = {2 * 1201 * 1201: "3 arc-second", 2 * 3601 * 3601: "1 arc-second"}


def _check_tile(path: str, kind: str):
    """A ReadError unless ``path`` is a tile: not a download's leftover, a ``.tif`` that is a TIFF,
    an ``.hgt`` of a whole tile's size (other rasters are left to GDAL)."""
    fmt = check_download(path, kind, "GeoTIFF or .hgt", login=EARTHDATA_LOGIN, noun="tile")
    if path.lower().endswith(".hgt"):
        size = os.path.getsize(path)
        if size not in HGT_SIZES:
            raise ReadError(path, kind, "elevation", f"is {size} bytes, but an .hgt tile is "
                            + " or ".join(f"{n} bytes ({res})" for n, res in HGT_SIZES.items())
                            + (f"; it is a {fmt} file" if fmt else ": truncated or not an SRTM tile"),
                            "download the tile again (SRTMGL1/SRTMGL3 .hgt.zip, unzipped)")
    elif path.lower().endswith((".tif", ".tiff")) and fmt not in ("TIFF", "BigTIFF"):
        raise ReadError(path, kind, "elevation", "does not start like a GeoTIFF ("
                        + (f"it is a {fmt} file" if fmt else "no TIFF signature: truncated or another "
                           "format") + ")", "download the tile again, as GeoTIFF or .hgt")


def _srtm_mosaic(tiles: list[str], grid: Grid, resampling: str) -> np.ndarray:
    with IO_LOCK:
        return _srtm_mosaic_locked(tiles, grid, resampling)


def _srtm_mosaic_locked(tiles: list[str], grid: Grid, resampling: str) -> np.ndarray:
    kind = "SRTM"
    out = np.full(grid.shape, np.nan, dtype=np.float32)
    # "average" is the mean of every tile's 90 m cells in a grid cell, also on the seams between
    # tiles; other resamplings take each cell from the first tile that gives it a value
    total, weight = (np.zeros(grid.shape), np.zeros(grid.shape)) if resampling == "average" else (None, None)
    for path in tiles:
        raw = read_layer(path, path, kind, "elevation")
        v = np.asarray(raw.values).astype(np.float32)
        bad = ~np.isfinite(v) | (v == -32768)
        nod = raw.rio.nodata
        if nod is not None and np.isfinite(nod):
            bad |= v == np.float32(nod)
        clean = raw.copy(data=np.where(bad, np.float32(np.nan), v))
        if total is not None:
            warp_sum_into(total, weight, clean, grid, path, kind, "elevation")
        else:
            warp_into(out, clean, grid, resampling, path, kind, "elevation")
    if total is not None:
        ok = weight > 1e-6
        out[ok] = (total[ok] / weight[ok]).astype(np.float32)
    return out


def read_srtm(files, grid: Grid, *, resampling: str = "average") -> xr.Dataset:
    """Mosaic SRTM elevation tiles and aggregate them onto a lat/lon grid.

    Parameters
    ----------
    files : str, path, or sequence of them
        GeoTIFF tiles (e.g. ``n38_e100_3arc_v2.tif`` or ``srtm_57_05.tif``,
        geographic lat/lon, int16 metres, voids -32768) or unzipped ``.hgt``
        tiles (``N38E100.SRTMGL3.hgt``, GDAL's SRTMHGT driver), folders
        (searched for ``*.tif``, ``*.tiff``, ``*.hgt``) or globs.
        Tiles not overlapping ``grid`` are skipped.
    grid : smkit.core.grid.Grid
        Target (fine) grid.
    resampling : str, default "average"
        GDAL resampling: "average" is the mean of the 90 m cells in each grid
        cell (voids excluded).

    Returns
    -------
    xarray.Dataset
        Lazy static ``dem`` (m, float32), dims (lat, lon).

    Raises
    ------
    ReadError
        Naming the tile: unreadable, no CRS or a projected CRS.
    """
    kind = "SRTM"
    check_resampling(resampling)
    paths = as_files(files, kind, ("*.tif", "*.tiff", "*.hgt"))
    tiles = []
    for p in paths:
        _check_tile(p, kind)
        (w, s, e, n), _ = scan_raster(p, p, kind, "elevation", ("geographic",), "SRTM")
        if e > grid.lon0 and w < grid.lon1 and n > grid.lat0 and s < grid.lat1:
            tiles.append(p)
    if not tiles:
        raise FileNotFoundError(f"{kind}: none of the {len(paths)} tile(s) overlaps the grid "
                                f"({extent_text(grid)})")
    arr = da.from_delayed(dask.delayed(_srtm_mosaic, pure=True)(tiles, grid, resampling),
                          grid.shape, dtype=np.float32)
    dem = xr.DataArray(arr, dims=("lat", "lon"), coords=grid.coords(),
                       attrs={"long_name": "elevation (SRTM)", "standard_name": "surface_altitude",
                              "units": "m"})
    return xr.Dataset({"dem": dem}, attrs={"source": "SRTM", "tiles": len(tiles)})
