"""What the map explorer shows: its layers, days, stations and zone outlines, and the reads of them.

:class:`Layer` is one selectable map (a product's model, the coarse
retrieval, the truth or a reference model) that reads one day, or the series
at some points, of a field that may be lazy. :class:`ExplorerData` holds the
layers of one explorer with its days and stations, and answers what the
explorer asks: the map of a state (:meth:`ExplorerData.map`), the series of
every layer at a pixel, the station scores of a layer and the pixel or
station under a click. Nothing here draws (:mod:`smkit.app.views`) or holds
widgets (:mod:`smkit.app.explorer`); the products are opened and scored by
:mod:`smkit.workflow.explorer_data`.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from smkit.core.grid import Grid
from smkit.core.schema import stations_to_volumetric
from smkit.core.vocabulary import MODEL_LABELS
from smkit.workflow.explorer_data import ascending, product_sm, station_scores

__all__ = [
    "BLOCK_BYTES",
    "COARSE_LABEL",
    "STATION_METRICS",
    "TRUTH_LABEL",
    "ExplorerData",
    "Layer",
    "default_date",
    "zone_edges",
]

#: Labels of the product's models in the selector; other models are upper-cased.
COARSE_LABEL = "CCI"
TRUTH_LABEL = "Truth"
#: Station metrics offered for the markers, and their key in :func:`smkit.validate.metrics.all_metrics`.
STATION_METRICS = {"R": "r", "MAE": "mae"}
BLOCK_BYTES = 64 * 2**20  # largest storage chunk of a lazy layer kept in memory (see Layer)


# --------------------------------------------------------------------------- layers
def _field(obj: xr.Dataset | xr.DataArray, what: str) -> xr.DataArray:
    """``sm(time, lat, lon)`` of a Dataset (its ``sm``) or a DataArray, ascending coordinates."""
    da = obj["sm"] if isinstance(obj, xr.Dataset) else obj
    if not isinstance(da, xr.DataArray):
        raise TypeError(
            f"{what} must be an xarray Dataset with 'sm' or a DataArray, got {type(obj)}"
        )
    if set(da.dims) != {"time", "lat", "lon"}:
        raise ValueError(f"{what} must have dims (time, lat, lon); it has {da.dims}")
    return ascending(da.transpose("time", "lat", "lon"))


def _cell_index(grid: Grid, lat, lon) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row, column and inside-mask of the cells of ``grid`` holding points ``lat``/``lon``."""
    lat = np.asarray(lat, dtype=float)
    lon = np.asarray(lon, dtype=float)
    i = np.floor((lat - grid.lat0) / grid.res + 1e-9).astype(np.int64)
    j = np.floor((lon - grid.lon0) / grid.res + 1e-9).astype(np.int64)
    inside = (i >= 0) & (i < grid.nlat) & (j >= 0) & (j < grid.nlon)
    return np.clip(i, 0, grid.nlat - 1), np.clip(j, 0, grid.nlon - 1), inside


@dataclass
class Layer:
    """One selectable map: a ``(time, lat, lon)`` field on its own regular grid.

    Parameters
    ----------
    label : str
        Name in the selector (``CCI``, ``RF``, ``Truth``, ``ERA5`` ...).
    data : xarray.DataArray
        Soil moisture (m3 m-3), dims ``(time, lat, lon)`` with ascending
        coordinates; may be lazy (dask), one day is read per call of
        :meth:`day`.
    kind : {"product", "coarse", "truth", "reference"}
        Where the layer comes from.

    Notes
    -----
    For a lazy (dask/Zarr) field, :meth:`day` reads the storage chunk that
    holds the day -- the store decompresses all of it anyway -- and keeps it
    for the next day (stepping or playing through a chunk then costs no
    read); a chunk larger than :data:`BLOCK_BYTES` is never kept, only the
    day is read.
    """

    label: str
    data: xr.DataArray
    kind: str
    grid: Grid = field(init=False)
    _times: pd.DatetimeIndex = field(init=False, repr=False)
    _block: tuple | None = field(init=False, repr=False, default=None)

    def __post_init__(self):
        self.grid = Grid.from_dataset(self.data)
        self._times = pd.DatetimeIndex(self.data["time"].values)
        chunks = self.data.chunks
        self._bounds = None if chunks is None else np.cumsum((0,) + tuple(chunks[0]))

    def day(self, date) -> np.ndarray:
        """The map of one day, ``(nlat, nlon)`` float32; all NaN if the layer lacks the day."""
        k = int(self._times.get_indexer([pd.Timestamp(date)])[0])
        if k < 0:
            return np.full(self.grid.shape, np.nan, np.float32)
        if self._bounds is None:  # in memory
            return np.asarray(self.data.isel(time=k).values, dtype=np.float32)
        b = int(np.searchsorted(self._bounds, k, side="right")) - 1
        t0, t1 = int(self._bounds[b]), int(self._bounds[b + 1])
        if (t1 - t0) * self.grid.nlat * self.grid.nlon * self.data.dtype.itemsize > BLOCK_BYTES:
            return np.asarray(self.data.isel(time=k).values, dtype=np.float32)
        if self._block is None or self._block[0] != t0:
            self._block = (t0, np.asarray(self.data.isel(time=slice(t0, t1)).values))
        return self._block[1][k - t0].astype(np.float32)

    def on_grid(self, values: np.ndarray, target: Grid) -> np.ndarray:
        """Values of this layer's grid brought to ``target`` by the nearest parent cell.

        Each target pixel takes the value of the cell holding its centre;
        pixels outside this layer's grid are NaN.
        """
        if target == self.grid:
            return values
        i, _, ok_i = _cell_index(self.grid, target.lat, np.full(target.nlat, self.grid.lon0))
        _, j, ok_j = _cell_index(self.grid, np.full(target.nlon, self.grid.lat0), target.lon)
        out = values[np.ix_(i, j)].astype(np.float32, copy=True)
        out[~ok_i, :] = np.nan
        out[:, ~ok_j] = np.nan
        return out

    def series(self, lat, lon, times: pd.DatetimeIndex) -> np.ndarray:
        """Values at points ``lat``/``lon`` (their cells) on ``times``: ``(point, time)`` float64.

        Points outside the grid and days the layer lacks are NaN.
        """
        lat, lon = np.atleast_1d(lat), np.atleast_1d(lon)
        i, j, inside = _cell_index(self.grid, lat, lon)
        pts = self.data.isel(lat=xr.DataArray(i, dims="point"), lon=xr.DataArray(j, dims="point"))
        k = self._times.get_indexer(times)
        have = k >= 0
        out = np.full((lat.size, len(times)), np.nan)
        if have.any():
            vals = np.asarray(
                pts.isel(time=xr.DataArray(k[have], dims="t")).transpose("point", "t").values,
                dtype=np.float64,
            )
            out[:, have] = vals
        out[~inside] = np.nan
        return out


def default_date(times: pd.DatetimeIndex) -> str:
    """The last 15 July of ``times`` (a summer day, no frozen-soil gaps), else the middle day.

    Examples
    --------
    >>> import pandas as pd
    >>> default_date(pd.date_range("2009-07-01", "2010-07-31"))
    '2010-07-15'
    >>> default_date(pd.date_range("2009-01-01", "2009-01-03"))
    '2009-01-02'
    """
    july = times[(times.month == 7) & (times.day == 15)]
    return str((july[-1] if len(july) else times[len(times) // 2]).date())


def _model_label(model: str) -> str:
    return MODEL_LABELS.get(str(model).lower(), str(model).upper())


def _layers(sm: xr.DataArray, coarse, truth, references) -> dict[str, Layer]:
    """The selectable maps by label: CCI, the product's models, Truth, the references."""
    layers: dict[str, Layer] = {}
    if coarse is not None:
        layers[COARSE_LABEL] = Layer(COARSE_LABEL, _field(coarse, "coarse"), "coarse")
    for m in sm["model"].values:
        lab = _model_label(m)
        layers[lab] = Layer(lab, sm.sel({"model": m}, drop=True), "product")
    if truth is not None:
        layers[TRUTH_LABEL] = Layer(TRUTH_LABEL, _field(truth, "truth"), "truth")
    for name, ref in (references or {}).items():
        if ref is None:
            continue
        if str(name) in layers:
            raise ValueError(f"reference name {name!r} clashes with a product label")
        layers[str(name)] = Layer(str(name), _field(ref, f"reference {name!r}"), "reference")
    return layers


def _stations_frame(stations: xr.Dataset, grid: Grid) -> tuple[pd.DataFrame, np.ndarray]:
    """Stations inside ``grid``: a table (name, network, lat, lon) and their ``sm``."""
    if "rsm" in stations.data_vars:
        stations = stations_to_volumetric(stations)
    if "sm" not in stations.data_vars:
        raise ValueError(
            "stations need 'sm' (m3 m-3) or 'rsm' (percent) with field_capacity/bulk_density"
        )
    lat = np.asarray(stations["lat"].values, dtype=float)
    lon = np.asarray(stations["lon"].values, dtype=float)
    inside = grid.contains(lat, lon)
    n = stations.sizes["station"]
    names = (
        stations["name"].values.astype(str)
        if "name" in stations.coords
        else np.arange(n).astype(str)
    )
    nets = (
        stations["network"].values.astype(str) if "network" in stations.coords else np.full(n, "")
    )
    df = pd.DataFrame({"name": names, "network": nets, "lat": lat, "lon": lon})[inside]
    sm = stations["sm"].transpose("station", "time").isel(station=np.nonzero(inside)[0])
    return df.reset_index(drop=True), sm


def zone_edges(zones: xr.DataArray) -> np.ndarray:
    """Outlines of integer zones: the cell edges between different labels.

    Parameters
    ----------
    zones : xarray.DataArray
        Integer labels ``zone(lat, lon)`` on a regular grid (NaN/negative
        labels count as a zone of their own).

    Returns
    -------
    numpy.ndarray, shape (3 n, 2)
        ``(lon, lat)`` vertices of the ``n`` edge segments, each followed by a
        row of NaN (one broken line, drawn as a single path).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> z = xr.DataArray([[0, 1], [0, 1]], dims=("lat", "lon"),
    ...                  coords={"lat": [0.5, 1.5], "lon": [0.5, 1.5]})
    >>> zone_edges(z)[:2].tolist()  # one vertical edge at lon = 1
    [[1.0, 0.0], [1.0, 1.0]]
    """
    if set(zones.dims) != {"lat", "lon"}:
        raise ValueError(f"zones must have dims (lat, lon); they have {zones.dims}")
    z = ascending(zones.transpose("lat", "lon"))
    g = Grid.from_dataset(z)
    v = np.asarray(z.values, dtype=float)
    v = np.where(np.isfinite(v), v, -1.0)
    lat_e = g.lat0 + np.arange(g.nlat + 1) * g.res
    lon_e = g.lon0 + np.arange(g.nlon + 1) * g.res
    segs = []
    ii, jj = np.nonzero(v[:, 1:] != v[:, :-1])  # vertical edges at lon_e[j + 1]
    for i, j in zip(ii, jj, strict=True):
        segs.append([[lon_e[j + 1], lat_e[i]], [lon_e[j + 1], lat_e[i + 1]]])
    ii, jj = np.nonzero(v[1:, :] != v[:-1, :])  # horizontal edges at lat_e[i + 1]
    for i, j in zip(ii, jj, strict=True):
        segs.append([[lon_e[j], lat_e[i + 1]], [lon_e[j + 1], lat_e[i + 1]]])
    if not segs:
        return np.empty((0, 2))
    a = np.array(segs, dtype=float)  # (n, 2, 2)
    gap = np.full((len(segs), 1, 2), np.nan)
    return np.concatenate([a, gap], axis=1).reshape(-1, 2)


# --------------------------------------------------------------------------- one explorer's data
class ExplorerData:
    """The layers of one explorer, its days, stations and outlines, and the reads it makes.

    Parameters
    ----------
    product, coarse, truth, references
        As for :func:`smkit.app.explorer`.

    Attributes
    ----------
    layers : dict of str to Layer
        The selectable maps by label, in the selector's order.
    grid : Grid
        The product's fine grid.
    times : pandas.DatetimeIndex
        The product's days: the explorer's days.
    first_product : str
        Label of the product's first model.
    stations : pandas.DataFrame or None
        Stations inside the domain (:meth:`add_stations`).
    station_obs : numpy.ndarray or None
        Their soil moisture on :attr:`times`, ``(station, time)`` (m3 m-3).
    zone_path, outline
        What :meth:`add_outlines` draws: zone edges and outlines (lon/lat).

    Raises
    ------
    ValueError
        If a field has the wrong dims, a reference's name clashes with a
        product label, or the product has no days.
    """

    def __init__(self, product, *, coarse=None, truth=None, references=None):
        sm = product_sm(product)
        self.layers = _layers(sm, coarse, truth, references)
        self.grid = Grid.from_dataset(sm)
        self.times = pd.DatetimeIndex(sm["time"].values)
        if len(self.times) == 0:
            raise ValueError("product has no days")
        self.first_product = _model_label(sm["model"].values[0])
        self.stations = None
        self.station_obs = None
        self.zone_path = np.empty((0, 2))
        self.outline: list[np.ndarray] = []
        self._maps: OrderedDict = OrderedDict()  # (product, date, difference, reference, date_b) -> map
        self._metrics: dict[str, pd.DataFrame] = {}  # product -> station metrics
        self._series: OrderedDict = OrderedDict()  # (label, lat, lon) -> series

    def add_stations(self, stations: xr.Dataset | None) -> None:
        """Keep the stations inside the domain and their series on the explorer's days.

        Parameters
        ----------
        stations : xarray.Dataset or None
            As for :func:`smkit.app.explorer`.
        """
        if stations is None:
            return
        self.stations, obs = _stations_frame(stations, self.grid)
        self.station_obs = np.asarray(obs.reindex(time=self.times).values, dtype=np.float64)

    def add_outlines(self, zones: xr.DataArray | None, outline) -> None:
        """Keep the zone edges (:func:`zone_edges`) and outlines to draw.

        Parameters
        ----------
        zones, outline
            As for :func:`smkit.app.explorer`.
        """
        if zones is not None:
            self.zone_path = zone_edges(zones)
        if outline is not None:
            self.outline = [
                np.asarray(o, dtype=float)
                for o in (outline if isinstance(outline, list) else [outline])
            ]

    def map(self, product: str, date: str, difference: bool, reference: str,
            date_b: str | None = None):
        """The map of a state: values, their grid and a title (see :meth:`Explorer.current_map`).

        With ``date_b``, the product's map of ``date_b`` minus that of ``date``
        on the product's own grid (m3 m-3; ``difference`` and ``reference`` are
        then not used). The last eight maps are kept.
        """
        key = (product, date, difference, reference, date_b)
        if key in self._maps:
            self._maps.move_to_end(key)
            return self._maps[key]
        layer = self.layers[product]
        if date_b is not None:
            out = (layer.day(date_b) - layer.day(date), layer.grid, f"{product}, {date_b} − {date}")
        elif difference:
            ref = self.layers[reference]
            a = layer.on_grid(layer.day(date), self.grid)
            b = ref.on_grid(ref.day(date), self.grid)
            out = (a - b, self.grid, f"{product} − {reference}, {date}")
        else:
            out = (layer.day(date), layer.grid, f"{product}, {date}")
        self._maps[key] = out
        while len(self._maps) > 8:
            self._maps.popitem(last=False)
        return out

    def station_metrics(self, label: str) -> pd.DataFrame:
        """R, MAE and N of a layer against every station (see :meth:`Explorer.station_metrics`)."""
        if self.stations is None:
            raise ValueError("the explorer was built without stations")
        if label not in self._metrics:
            x = self.layers[label].series(
                self.stations["lat"].values, self.stations["lon"].values, self.times
            )
            self._metrics[label] = station_scores(self.stations, x, self.station_obs)
        return self._metrics[label]

    def pixel_series(self, lat: float, lon: float) -> pd.DataFrame:
        """Time series of every layer at the cell holding (``lat``, ``lon``), on :attr:`times`.

        The last 256 series read are kept.
        """
        cols = {}
        for label, layer in self.layers.items():
            key = (label, round(float(lat), 8), round(float(lon), 8))
            if key not in self._series:
                self._series[key] = layer.series(lat, lon, self.times)[0]
                while len(self._series) > 256:
                    self._series.popitem(last=False)
            cols[label] = self._series[key]
        return pd.DataFrame(cols, index=self.times)

    def select_point(self, lon: float | None, lat: float | None) -> dict | None:
        """Resolve a click: the fine pixel and, if the click hit a marker, the station.

        A click within 1.5 % of the domain's width of a station (at least one
        fine pixel) selects the station and its pixel; elsewhere, the pixel
        under the click. Returns None outside the domain.
        """
        if lon is None or lat is None or not self.grid.contains(lat, lon):
            return None
        out = {"lon": float(lon), "lat": float(lat), "station": None}
        if self.stations is not None and len(self.stations):
            d = np.hypot(self.stations["lon"].values - lon, self.stations["lat"].values - lat)
            k = int(np.argmin(d))
            tol = max(0.015 * (self.grid.lon1 - self.grid.lon0), self.grid.res)
            if d[k] <= tol:
                out.update(
                    lon=float(self.stations["lon"].values[k]),
                    lat=float(self.stations["lat"].values[k]),
                    station=k,
                )
        i, j, _ = _cell_index(self.grid, out["lat"], out["lon"])
        out["pixel_lat"], out["pixel_lon"] = float(self.grid.lat[i]), float(self.grid.lon[j])
        return out
