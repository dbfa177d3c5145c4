"""Regular latitude/longitude grids, CF coordinates and nesting between them.

Every gridded object in smkit lives on a regular grid of cell centres with
ascending latitude and longitude in degrees. A fine grid *nests* in a coarse
grid when the coarse resolution is an integer multiple of the fine one and
both share their outer edges, so that every coarse cell holds exactly
``factor x factor`` fine pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import xarray as xr

__all__ = ["LAT_ATTRS", "LON_ATTRS", "TIME_ATTRS", "Grid", "nesting_factor", "block_mean"]

LAT_ATTRS = {"standard_name": "latitude", "long_name": "latitude", "units": "degrees_north"}
LON_ATTRS = {"standard_name": "longitude", "long_name": "longitude", "units": "degrees_east"}
TIME_ATTRS = {"standard_name": "time", "long_name": "time"}

_DECIMALS = 8  # coordinates are rounded so that grids built twice compare equal


@dataclass(frozen=True)
class Grid:
    """A regular grid given by its outer edges and its resolution.

    Parameters
    ----------
    lon0, lon1 : float
        West and east edges, degrees east.
    lat0, lat1 : float
        South and north edges, degrees north.
    res : float
        Cell size, degrees (same in latitude and longitude).
    """

    lon0: float
    lon1: float
    lat0: float
    lat1: float
    res: float

    @property
    def nlon(self) -> int:
        """Number of columns."""
        return int(round((self.lon1 - self.lon0) / self.res))

    @property
    def nlat(self) -> int:
        """Number of rows."""
        return int(round((self.lat1 - self.lat0) / self.res))

    @property
    def shape(self) -> tuple[int, int]:
        """``(nlat, nlon)``."""
        return self.nlat, self.nlon

    @property
    def lat(self) -> np.ndarray:
        """Cell-centre latitudes, ascending, degrees north."""
        return np.round(self.lat0 + (np.arange(self.nlat) + 0.5) * self.res, _DECIMALS)

    @property
    def lon(self) -> np.ndarray:
        """Cell-centre longitudes, ascending, degrees east."""
        return np.round(self.lon0 + (np.arange(self.nlon) + 0.5) * self.res, _DECIMALS)

    def coords(self) -> dict[str, xr.Variable]:
        """CF coordinate variables ``lat`` and ``lon``."""
        return {
            "lat": xr.Variable("lat", self.lat, LAT_ATTRS),
            "lon": xr.Variable("lon", self.lon, LON_ATTRS),
        }

    def with_res(self, res: float) -> Grid:
        """The same extent at another resolution."""
        return Grid(self.lon0, self.lon1, self.lat0, self.lat1, res)

    def global_index(self, lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Row and column of the cells holding ``lat``/``lon`` on the global grid of this resolution.

        The global grid starts at 90 S, 180 W; its indices do not depend on the
        extent, so a location keeps its index in every domain.
        """
        i = np.floor((np.asarray(lat) + 90.0) / self.res + 1e-9).astype(np.int64)
        j = np.floor((np.asarray(lon) + 180.0) / self.res + 1e-9).astype(np.int64)
        return i, j

    def contains(self, lat, lon) -> np.ndarray:
        """Whether points fall inside the grid's outer edges."""
        lat = np.asarray(lat)
        lon = np.asarray(lon)
        return (lat >= self.lat0) & (lat < self.lat1) & (lon >= self.lon0) & (lon < self.lon1)

    @classmethod
    def from_dataset(cls, ds: xr.Dataset | xr.DataArray) -> Grid:
        """Infer the grid of an object with regular ascending ``lat``/``lon`` centres."""
        lat = np.asarray(ds["lat"].values, dtype=float)
        lon = np.asarray(ds["lon"].values, dtype=float)
        if lat.size < 2 or lon.size < 2:
            raise ValueError("a grid needs at least two latitudes and two longitudes")
        res_lat = float(np.median(np.diff(lat)))
        res_lon = float(np.median(np.diff(lon)))
        if not np.isclose(res_lat, res_lon, rtol=1e-6):
            raise ValueError(
                f"grid cells are not square: {res_lat:g} degrees in latitude, "
                f"{res_lon:g} in longitude"
            )
        res = float(np.round(res_lat, 10))
        return cls(
            float(np.round(lon[0] - res / 2, _DECIMALS)),
            float(np.round(lon[-1] + res / 2, _DECIMALS)),
            float(np.round(lat[0] - res / 2, _DECIMALS)),
            float(np.round(lat[-1] + res / 2, _DECIMALS)),
            res,
        )


def nesting_factor(coarse: Grid, fine: Grid) -> int:
    """Number of fine pixels per coarse cell along each axis.

    Raises
    ------
    ValueError
        If the fine grid does not nest in the coarse grid.
    """
    ratio = coarse.res / fine.res
    factor = int(round(ratio))
    if factor < 1 or not np.isclose(ratio, factor, rtol=0, atol=1e-6):
        raise ValueError(
            f"fine grid ({fine.res:g} degrees) does not nest in the coarse grid "
            f"({coarse.res:g} degrees): the ratio {ratio:.6g} is not an integer"
        )
    for name in ("lon0", "lon1", "lat0", "lat1"):
        a, b = getattr(coarse, name), getattr(fine, name)
        if not np.isclose(a, b, atol=fine.res * 1e-3):
            raise ValueError(
                f"fine grid does not nest in the coarse grid: edge {name} is {b:g} on the "
                f"fine grid and {a:g} on the coarse grid; crop the fine grid to whole coarse cells"
            )
    return factor


def block_mean(data: np.ndarray, factor: int, min_valid: float = 0.0) -> np.ndarray:
    """NaN-aware mean over ``factor x factor`` blocks of the last two axes.

    Parameters
    ----------
    data : ndarray, shape (..., ny*factor, nx*factor)
        Values on the fine grid.
    factor : int
        Block size in pixels.
    min_valid : float, default 0
        Minimum fraction of valid pixels (0-1) for a block to get a value;
        blocks below it (and all-NaN blocks) are NaN.

    Returns
    -------
    ndarray, shape (..., ny, nx)
    """
    *lead, ny, nx = data.shape
    if ny % factor or nx % factor:
        raise ValueError(f"array of shape {data.shape} is not a whole number of {factor}-blocks")
    flat = np.ascontiguousarray(data).reshape(-1, ny, nx)
    if not np.issubdtype(flat.dtype, np.floating):
        flat = flat.astype(np.float64)
    mean = _block_mean_kernel(flat, factor, float(min_valid))
    mean = mean.reshape(*lead, ny // factor, nx // factor)
    return mean.astype(data.dtype if np.issubdtype(data.dtype, np.floating) else np.float64)


@numba.njit(cache=True, nogil=True, parallel=True)
def _block_mean_kernel(x, f, min_valid):  # pragma: no cover - compiled
    """Mean of the finite values of each f x f block of each plane (float64 sums)."""
    n, ny, nx = x.shape
    by, bx = ny // f, nx // f
    out = np.empty((n, by, bx))
    for k in numba.prange(n):
        for i in range(by):
            for j in range(bx):
                total = 0.0
                count = 0
                for a in range(i * f, i * f + f):
                    for b in range(j * f, j * f + f):
                        v = x[k, a, b]
                        if np.isfinite(v):
                            total += v
                            count += 1
                if count == 0 or count < min_valid * f * f:
                    out[k, i, j] = np.nan
                else:
                    out[k, i, j] = total / count
    return out
