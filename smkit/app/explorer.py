"""Map explorer: browse a downscaled product day by day, in JupyterLab or a browser.

:func:`explorer` builds a Panel layout around one product
(``sm(method, time, lat, lon)``) and, optionally, the coarse retrieval, the
1-km truth, reference models (ERA5, Noah, ...), in-situ stations and zones:

* a date player (one day is read per update; a lazy product is never loaded
  whole), a product selector (``CCI`` = the coarse retrieval, the product's
  methods as ``RF``, ``MLR``, ``SVR``, ``XG``, ``BMA``, ``Truth``, and the
  references by name);
* a difference mode: the map minus another product. Both are brought to the
  product's fine grid by their *nearest parent cell* -- each fine pixel takes
  the value of the cell of the other grid that contains the pixel's centre (a
  0.25 degree retrieval becomes blocks of 25 x 25 identical 1-km pixels; a
  field already on the fine grid is unchanged); pixels outside the other
  grid are NaN;
* a colour range with a lock (unlocked, each map is scaled to its 2nd-98th
  percentiles, or symmetrically for differences) and a lock of the map
  extent (locked, a zoom is kept from day to day and product to product;
  unlocked, every update shows the whole map);
* station markers coloured by R or MAE of the selected product against each
  station, over the product's days, from :func:`smkit.validate.metrics.all_metrics` on
  the series of the pixel holding the station (cached per product);
* zone outlines: the cell edges between different zone labels;
* a click on the map (a HoloViews ``Tap`` stream) shows the time series of
  every product at that pixel, and of the station when the click falls on a
  station marker;
* a histogram of the visible part of the map.

Everything is drawn offline: no map tiles, no downloaded coastlines; the
domain box (and an optional outline given as coordinates) marks the region.

:func:`serve` (``smkit serve``) starts a Panel/Bokeh server on 127.0.0.1
for a preset scenario or a scenario store; the app reads no path typed into
it. What it shows (:func:`load`): for a preset, the scenario from the cache
(:func:`smkit.workflow.cache.cached_scenario`) and the most complete product that
``smkit reproduce`` left beside it; without one, a quick product -- MLR over
three summer months (:func:`quick_days`), computed once (about 15 s for
``demo``) and kept in the cache. A real product store is shown with
``smkit serve --scenario demo --product PATH.zarr`` (any ``sm(method, time,
lat, lon)`` store on the scenario's fine grid, e.g. from ``smkit downscale``).
:func:`prepare` builds all this ahead (Binder's ``postBuild``);
:func:`open_explorer` does it in a notebook.

Usage::

    smkit serve --scenario demo          # then open http://127.0.0.1:5006/

    # in JupyterLab (notebooks/explore.py)
    import panel as pn
    from smkit.app import open_explorer
    pn.extension()
    open_explorer("demo")
"""

from __future__ import annotations

import warnings
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import param
import xarray as xr

from smkit.core.grid import Grid
from smkit.validate.metrics import all_metrics
from smkit.core.vocabulary import METHOD_LABELS, SM_UNITS

if TYPE_CHECKING:
    from smkit.synth import Scenario

__all__ = [
    "COARSE_LABEL",
    "METHOD_LABELS",
    "TRUTH_LABEL",
    "AppData",
    "Explorer",
    "explorer",
    "load",
    "open_explorer",
    "prepare",
    "quick_days",
    "serve",
]

hv.renderer("bokeh")  # load the bokeh backend (no notebook output)

#: Labels of the product's methods in the selector; other methods are upper-cased.
COARSE_LABEL = "CCI"
TRUTH_LABEL = "Truth"
#: Station metrics offered for the markers, and their key in :func:`smkit.validate.metrics.all_metrics`.
STATION_METRICS = {"R": "r", "MAE": "mae"}
MAX_PIXELS = 1_000_000  # larger maps are shown decimated (every k-th pixel)
BLOCK_BYTES = 64 * 2**20  # largest storage chunk of a lazy layer kept in memory (see Layer)
_SM_CMAP, _DIFF_CMAP = "YlGnBu", "RdBu"
_METRIC_CMAPS = {"R": "viridis", "MAE": "plasma_r"}
_DEFAULT_CLIM = (0.0, 0.5)


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
    return _ascending(da.transpose("time", "lat", "lon"))


def _ascending(da):
    """``da`` with ascending ``lat`` and ``lon`` (ESA CCI files come north to south)."""
    for dim in ("lat", "lon"):
        if da.sizes[dim] > 1 and da[dim].values[0] > da[dim].values[-1]:
            da = da.isel({dim: slice(None, None, -1)})
    return da


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


def _default_date(times: pd.DatetimeIndex) -> str:
    """The last 15 July of ``times`` (a summer day, no frozen-soil gaps), else the middle day."""
    july = times[(times.month == 7) & (times.day == 15)]
    return str((july[-1] if len(july) else times[len(times) // 2]).date())


def _method_label(method: str) -> str:
    return METHOD_LABELS.get(str(method).lower(), str(method).upper())


def _product_array(product: xr.Dataset | xr.DataArray) -> xr.DataArray:
    da = product["sm"] if isinstance(product, xr.Dataset) else product
    if not isinstance(da, xr.DataArray):
        raise TypeError(
            f"product must be an xarray Dataset with 'sm' or a DataArray, got {type(product)}"
        )
    if set(da.dims) != {"method", "time", "lat", "lon"}:
        raise ValueError(f"product must have dims (method, time, lat, lon); its 'sm' has {da.dims}")
    methods = [str(m) for m in da["method"].values]
    if not methods or len(set(methods)) != len(methods):
        raise ValueError(f"product needs distinct method names, got {methods}")
    return _ascending(da.transpose("method", "time", "lat", "lon"))


def _stations_frame(stations: xr.Dataset, grid: Grid) -> tuple[pd.DataFrame, np.ndarray]:
    """Stations inside ``grid``: a table (name, network, lat, lon) and their ``sm``."""
    from smkit.core.schema import stations_to_volumetric

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
    z = _ascending(zones.transpose("lat", "lon"))
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


# --------------------------------------------------------------------------- the explorer
class Explorer(pn.viewable.Viewer):
    """State, plots and widgets of the map explorer (see :func:`explorer`).

    Parameters
    ----------
    product, coarse, stations, truth, references, zones, outline, title, description
        As for :func:`explorer`.

    Notes
    -----
    The parameters below are the explorer's state; setting one from Python
    (``ex.date = "2010-07-15"``) updates the plots as the widgets do.
    :meth:`current_map` returns the array the map shows.
    """

    date = param.Selector(doc="Day shown (YYYY-MM-DD).")
    product = param.Selector(doc="Product shown.")
    difference = param.Boolean(False, doc="Show the product minus the reference product.")
    reference = param.Selector(doc="Product subtracted in difference mode.")
    clim = param.Range(_DEFAULT_CLIM, doc="Colour range (m3 m-3).")
    lock_colour = param.Boolean(
        False, doc="Keep the colour range; unlocked, each map is scaled to its data."
    )
    lock_extent = param.Boolean(
        True, doc="Keep the current zoom; unlocked, each update shows the whole map."
    )
    station_metric = param.Selector(
        objects=list(STATION_METRICS),
        default="R",
        doc="Metric of the selected product against each station.",
    )
    _refresh = param.Event(doc="Redraw the map (colour range edited while locked).")

    def __init__(
        self,
        product,
        *,
        coarse=None,
        stations=None,
        truth=None,
        references=None,
        zones=None,
        outline=None,
        title="smkit map explorer",
        description="",
        **params,
    ):
        sm = _product_array(product)
        layers: dict[str, Layer] = {}
        if coarse is not None:
            layers[COARSE_LABEL] = Layer(COARSE_LABEL, _field(coarse, "coarse"), "coarse")
        for m in sm["method"].values:
            lab = _method_label(m)
            layers[lab] = Layer(lab, sm.sel({"method": m}, drop=True), "product")
        if truth is not None:
            layers[TRUTH_LABEL] = Layer(TRUTH_LABEL, _field(truth, "truth"), "truth")
        for name, ref in (references or {}).items():
            if ref is None:
                continue
            if str(name) in layers:
                raise ValueError(f"reference name {name!r} clashes with a product label")
            layers[str(name)] = Layer(str(name), _field(ref, f"reference {name!r}"), "reference")
        self.layers = layers
        self.grid = Grid.from_dataset(sm)
        self.times = pd.DatetimeIndex(sm["time"].values)
        if len(self.times) == 0:
            raise ValueError("product has no days")
        self.title, self.description = title, description
        dates = [str(t.date()) for t in self.times]
        labels = list(layers)
        first_method = _method_label(sm["method"].values[0])
        initial = {k: params.pop(k) for k in ("date", "product", "reference") if k in params}
        super().__init__(**params)
        self.param.date.objects = dates
        self.param.product.objects = labels
        self.param.reference.objects = labels
        with param.parameterized.discard_events(self):
            self.date = str(initial.get("date", _default_date(self.times)))
            self.product = initial.get("product", first_method)
            default_ref = COARSE_LABEL if COARSE_LABEL in layers else labels[0]
            if default_ref == self.product and len(labels) > 1:
                default_ref = next(lab for lab in labels if lab != self.product)
            self.reference = initial.get("reference", default_ref)

        self.stations = None
        self._station_obs = None
        if stations is not None:
            self.stations, self._station_obs = _stations_frame(stations, self.grid)
            self._station_obs = np.asarray(
                self._station_obs.reindex(time=self.times).values, dtype=np.float64
            )
        self.zone_path = zone_edges(zones) if zones is not None else np.empty((0, 2))
        self.outline = (
            []
            if outline is None
            else [
                np.asarray(o, dtype=float)
                for o in (outline if isinstance(outline, list) else [outline])
            ]
        )
        self._maps: OrderedDict = OrderedDict()  # (product, date, difference, reference) -> array
        self._metrics: dict[str, pd.DataFrame] = {}  # product -> station metrics
        self._series: OrderedDict = OrderedDict()  # (label, lat, lon) -> series
        self._clim_kind = None
        self._auto_clim = False  # True while the map sets the colour range itself
        self._selected: dict | None = None
        self._frame: dict | None = None
        self._build()

    # ------------------------------------------------------------------ data
    def _decimation(self, g: Grid) -> int:
        return max(1, int(np.ceil(np.sqrt(g.nlat * g.nlon / MAX_PIXELS))))

    def current_map(self) -> tuple[np.ndarray, Grid, str]:
        """The map on display: values, their grid and a title.

        Returns
        -------
        (numpy.ndarray, Grid, str)
            In difference mode, the selected product minus the reference, both
            on the product's fine grid by nearest parent cell (m3 m-3); else
            the selected product's day on its own grid.
        """
        key = (self.product, self.date, self.difference, self.reference)
        if key in self._maps:
            self._maps.move_to_end(key)
            return self._maps[key]
        layer = self.layers[self.product]
        if self.difference:
            ref = self.layers[self.reference]
            a = layer.on_grid(layer.day(self.date), self.grid)
            b = ref.on_grid(ref.day(self.date), self.grid)
            out = (a - b, self.grid, f"{self.product} − {self.reference}, {self.date}")
        else:
            out = (layer.day(self.date), layer.grid, f"{self.product}, {self.date}")
        self._maps[key] = out
        while len(self._maps) > 8:
            self._maps.popitem(last=False)
        return out

    def station_metrics(self, label: str | None = None) -> pd.DataFrame:
        """R, MAE and N of a product against every station, over the explorer's days.

        Each station is compared with the series of the product's cell that
        holds it (the fine pixel for a downscaled product, the 0.25 degree
        cell for CCI), on the days both have a value (a station's cadence
        thereby selects the days). Computed once per product and cached.

        Parameters
        ----------
        label : str, optional
            Product label; default the selected product.

        Returns
        -------
        pandas.DataFrame
            One row per station inside the domain: ``name``, ``network``,
            ``lat``, ``lon``, ``r``, ``mae`` (m3 m-3) and ``n``.
        """
        label = label or self.product
        if self.stations is None:
            raise ValueError("the explorer was built without stations")
        if label not in self._metrics:
            x = self.layers[label].series(
                self.stations["lat"].values, self.stations["lon"].values, self.times
            )
            m = all_metrics(x, self._station_obs, axis=-1)
            df = self.stations.copy()
            df["r"], df["mae"] = np.asarray(m["r"], float), np.asarray(m["mae"], float)
            df["n"] = np.asarray(m["n"], dtype=np.int64)
            self._metrics[label] = df
        return self._metrics[label]

    def pixel_series(self, lat: float, lon: float) -> pd.DataFrame:
        """Time series of every product at the cell holding (``lat``, ``lon``), explorer's days."""
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

    # ------------------------------------------------------------------ colour and extent
    def _colour_range(self, arr: np.ndarray) -> tuple[float, float]:
        kind = "diff" if self.difference else "abs"
        if self.lock_colour and kind == self._clim_kind:
            lo, hi = self.clim
            return (float(lo), float(hi)) if hi > lo else (float(lo), float(lo) + 1e-3)
        finite = arr[np.isfinite(arr)]
        if kind == "diff":
            h = float(np.percentile(np.abs(finite), 98)) if finite.size else 0.1
            lo, hi = -max(h, 1e-3), max(h, 1e-3)
        elif finite.size:
            lo, hi = (float(v) for v in np.percentile(finite, [2, 98]))
            hi = hi if hi > lo else lo + 1e-3
        else:
            lo, hi = _DEFAULT_CLIM
        lo, hi = round(lo, 4), round(hi, 4)
        self._clim_kind = kind
        self._auto_clim = True
        try:
            self.clim = (lo, hi)
        finally:
            self._auto_clim = False
        return lo, hi

    def _on_clim(self, event):
        """A colour range edited by hand locks it (and redraws)."""
        if self._auto_clim:
            return
        if self.lock_colour:
            self.param.trigger("_refresh")
        else:
            self.lock_colour = True

    def frame(self) -> dict:
        """What the map shows now: ``values``, ``grid``, ``title``, ``clim``, ``cmap``, ``extent``.

        Computed once per state (product, day, difference, reference, colour
        lock and locked range); the map and the histogram share it.
        """
        key = (
            self.product,
            self.date,
            self.difference,
            self.reference,
            self.lock_colour,
            tuple(self.clim) if self.lock_colour else None,
        )
        if self._frame is not None and self._frame["key"] == key:
            return self._frame
        arr, g, title = self.current_map()
        lo, hi = self._colour_range(arr)
        key = key[:-1] + ((lo, hi) if self.lock_colour else None,)
        self._frame = {
            "key": key,
            "values": arr,
            "grid": g,
            "title": title,
            "clim": (lo, hi),
            "cmap": _DIFF_CMAP if self.difference else _SM_CMAP,
            "extent": (g.lon0, g.lon1, g.lat0, g.lat1),
        }
        return self._frame

    # ------------------------------------------------------------------ plots
    _X = hv.Dimension("lon", label="Longitude", unit="°E")
    _Y = hv.Dimension("lat", label="Latitude", unit="°N")

    def _image_view(self, **_):
        f = self.frame()
        arr, g = f["values"], f["grid"]
        k = self._decimation(g)
        # the colour range is known: a hard dimension range spares HoloViews a scan of the map
        zdim = hv.Dimension(
            "sm",
            label="Soil moisture" + (" difference" if self.difference else ""),
            unit=SM_UNITS,
            range=f["clim"],
        )
        return hv.Image(
            (g.lon[::k], g.lat[::k], arr[::k, ::k]), kdims=[self._X, self._Y], vdims=[zdim]
        ).opts(cmap=f["cmap"], clim=f["clim"])

    def _apply_frame(self, plot, element):
        """Bokeh hook run after each render of the map: colour range, title and extent."""
        f = self._frame
        if f is None:
            return
        lo, hi = f["clim"]
        cm = plot.handles.get("color_mapper")
        if cm is not None:
            cm.update(low=lo, high=hi)
        fig = plot.state
        fig.title.text = f["title"]
        if not self.lock_extent:
            x0, x1, y0, y1 = f["extent"]
            fig.x_range.update(start=x0, end=x1)
            fig.y_range.update(start=y0, end=y1)

    def _static_view(self) -> hv.Overlay:
        g = self.grid
        ring = np.array(
            [
                [g.lon0, g.lat0],
                [g.lon1, g.lat0],
                [g.lon1, g.lat1],
                [g.lon0, g.lat1],
                [g.lon0, g.lat0],
            ]
        )
        box = hv.Path([ring], kdims=[self._X, self._Y]).opts(color="black", line_width=1.5)
        layers = [box]
        if len(self.zone_path):
            layers.append(
                hv.Path([self.zone_path], kdims=[self._X, self._Y]).opts(
                    color="#333333", line_width=1.2, line_dash="dashed"
                )
            )
        if self.outline:
            layers.append(
                hv.Path(self.outline, kdims=[self._X, self._Y]).opts(color="black", line_width=1)
            )
        return hv.Overlay(layers)

    def _stations_view(self, **_):
        metric = self.station_metric
        df = self.station_metrics(self.product)
        pts = pd.DataFrame(
            {
                "lon": df["lon"],
                "lat": df["lat"],
                "value": df[STATION_METRICS[metric]],
                "name": df["name"],
                "network": df["network"],
                "n": df["n"],
            }
        )
        finite = pts["value"].dropna()
        crange = (
            (0.0, 1.0)
            if metric == "R"
            else (0.0, max(float(finite.max()) if len(finite) else 0.1, 1e-3))
        )
        vdims = [hv.Dimension("value", label=metric), "name", "network", "n"]
        self._station_title = f"{metric} of {self.product} against each station"
        return hv.Points(pts, kdims=[self._X, self._Y], vdims=vdims).opts(
            color="value",
            cmap=_METRIC_CMAPS[metric],
            clim=crange,
            size=11,
            line_color="black",
            colorbar=True,
            colorbar_position="bottom",
            tools=["hover"],
            hooks=[self._title_stations],
        )

    def _title_stations(self, plot, element):
        """Bokeh hook: the station colour bar names the metric and the product."""
        for key, handle in plot.handles.items():
            if key.endswith("colorbar"):
                handle.title = self._station_title

    def _marker_view(self, x=None, y=None, **_):
        sel = self.select_point(x, y)
        return hv.Points([(sel["lon"], sel["lat"])] if sel else [], kdims=[self._X, self._Y]).opts(
            marker="x", size=16, color="red", line_width=3
        )

    def _hist_view(self, x_range=None, y_range=None, **_):
        f = self.frame()
        arr, g = f["values"], f["grid"]
        lo, hi = f["clim"]
        (x0, x1), (y0, y1) = (x_range or (g.lon0, g.lon1)), (y_range or (g.lat0, g.lat1))
        rows = (g.lat >= min(y0, y1)) & (g.lat <= max(y0, y1))
        cols = (g.lon >= min(x0, x1)) & (g.lon <= max(x0, x1))
        vals = arr[np.ix_(rows, cols)]
        vals = vals[np.isfinite(vals)]
        edges = np.linspace(lo, hi if hi > lo else lo + 1e-3, 41)
        counts, _ = np.histogram(np.clip(vals, edges[0], edges[-1]), bins=edges)
        zname = "difference" if self.difference else "sm"
        dim = hv.Dimension(
            zname, label="Soil moisture" + (" difference" if self.difference else ""), unit=SM_UNITS
        )
        mean = f", mean {vals.mean():.3f}" if vals.size else ""
        return hv.Histogram((edges, counts), kdims=[dim], vdims=["pixels"]).opts(
            framewise=True,
            title=f"Visible map: {vals.size} pixels{mean}",
            color="#4c72b0",
            line_color=None,
            height=230,
            width=440,
            toolbar=None,
        )

    def _series_view(self, x=None, y=None, **_):
        sel = self.select_point(x, y)
        self._selected = sel
        self._update_info()
        ylab = ("sm", "Soil moisture")
        if sel is None:
            empty = (self.times, np.full(len(self.times), np.nan))  # a time axis from the start
            curves = {lab: hv.Curve(empty, "time", ylab) for lab in self.layers}
            station = hv.Scatter(empty, "time", ylab, label="station")
            where = "Click a pixel or a station on the map for its time series"
        else:
            df = self.pixel_series(sel["pixel_lat"], sel["pixel_lon"])
            curves = {lab: hv.Curve((df.index, df[lab].values), "time", ylab) for lab in df.columns}
            where = f"{sel['pixel_lat']:.3f}°N {sel['pixel_lon']:.3f}°E"
            if sel["station"] is not None:
                name = self.stations["name"].values[sel["station"]]
                obs = self._station_obs[sel["station"]]
                ok = np.isfinite(obs)
                station = hv.Scatter((self.times[ok], obs[ok]), "time", ylab, label="station")
                where = f"Station {name} ({where})"
            else:
                station = hv.Scatter((self.times[:1], [np.nan]), "time", ylab, label="station")
        if hasattr(self, "series_title"):
            self.series_title.object = f"**Time series:** {where}"
        ov = hv.NdOverlay(curves, kdims="product", sort=False) * station.opts(color="black", size=5)
        return ov.opts(hv.opts.Curve(line_width=1.4, tools=["hover"], framewise=True))

    def _date_line(self, **_):
        return hv.VLine(pd.Timestamp(self.date)).opts(color="grey", line_dash="dotted")

    def _update_info(self):
        if not hasattr(self, "info"):
            return
        lines = [f"**{self.description}**" if self.description else ""]
        sel = self._selected
        if sel is not None:
            lines.append(f"Pixel {sel['pixel_lat']:.3f}°N, {sel['pixel_lon']:.3f}°E")
            if sel["station"] is not None and self.stations is not None:
                st = self.stations.iloc[sel["station"]]
                m = self.station_metrics(self.product).iloc[sel["station"]]
                lines.append(
                    f"Station **{st['name']}** ({st['network']}): "
                    f"R {m['r']:.2f}, MAE {m['mae']:.3f} m3 m-3, N {m['n']} ({self.product})"
                )
        self.info.object = "\n\n".join(x for x in lines if x)

    def _build(self):
        self._range = hv.streams.RangeXY()
        self._tap = hv.streams.Tap(x=None, y=None)
        state = hv.streams.Params(
            self,
            [
                "date",
                "product",
                "difference",
                "reference",
                "lock_colour",
                "lock_extent",
                "_refresh",
            ],
        )
        self._img = hv.DynamicMap(self._image_view, streams=[state]).opts(
            colorbar=True,
            clipping_colors={"NaN": "#d9d9d9"},
            tools=["hover", "tap"],
            hooks=[self._apply_frame],
        )
        self._range.source = self._img
        self._tap.source = self._img
        layers = [self._img, self._static_view()]
        if self.stations is not None and len(self.stations):
            layers.append(
                hv.DynamicMap(
                    self._stations_view,
                    streams=[hv.streams.Params(self, ["product", "station_metric"])],
                )
            )
        layers.append(hv.DynamicMap(self._marker_view, streams=[self._tap]))
        self._map = layers[0]
        for layer in layers[1:]:
            self._map = self._map * layer
        hist_state = hv.streams.Params(
            self, ["date", "product", "difference", "reference", "lock_colour", "_refresh"]
        )
        self._hist = hv.DynamicMap(self._hist_view, streams=[hist_state, self._range])
        self._series_dmap = hv.DynamicMap(self._series_view, streams=[self._tap])
        self._vline = hv.DynamicMap(self._date_line, streams=[hv.streams.Params(self, ["date"])])
        self.param.watch(self._on_clim, "clim")
        aspect = (self.grid.lat1 - self.grid.lat0) / (self.grid.lon1 - self.grid.lon0)
        fw, fh = (
            (460, int(round(460 * aspect))) if aspect <= 1.3 else (int(round(600 / aspect)), 600)
        )
        self.map_pane = pn.pane.HoloViews(
            self._map.opts(
                hv.opts.Overlay(
                    frame_width=fw, frame_height=fh, toolbar="above", active_tools=["wheel_zoom"]
                )
            ),
            css_classes=["smkit-map"],
            linked_axes=False,
        )
        self.hist_pane = pn.pane.HoloViews(
            self._hist, css_classes=["smkit-hist"], linked_axes=False
        )
        self.series_title = pn.pane.Markdown(
            "**Time series:** click a pixel or a station on the map",
            margin=(0, 10),
            css_classes=["smkit-series-title"],
        )
        series = (self._series_dmap * self._vline).opts(
            hv.opts.Overlay(
                framewise=True, legend_position="right", frame_width=290, frame_height=230
            )
        )
        self.series_pane = pn.pane.HoloViews(
            series, css_classes=["smkit-series"], linked_axes=False
        )
        w = pn.widgets
        self.date_player = w.DiscretePlayer.from_param(
            self.param.date,
            name="Date",
            interval=400,
            loop_policy="once",
            show_loop_controls=False,
            css_classes=["smkit-date"],
            width=260,
        )
        self.product_select = w.Select.from_param(
            self.param.product, name="Product", css_classes=["smkit-product"], width=260
        )
        self.difference_toggle = w.Checkbox.from_param(
            self.param.difference, name="Difference to", css_classes=["smkit-difference"]
        )
        self.reference_select = w.Select.from_param(
            self.param.reference,
            name="Reference product",
            css_classes=["smkit-reference"],
            width=260,
        )
        self.clim_slider = w.EditableRangeSlider.from_param(
            self.param.clim,
            name=f"Colour range ({SM_UNITS})",
            start=-0.5,
            end=0.8,
            step=0.005,
            format="0.000",
            css_classes=["smkit-clim"],
            width=260,
        )
        self.lock_colour_toggle = w.Checkbox.from_param(
            self.param.lock_colour, name="Lock colour range"
        )
        self.lock_extent_toggle = w.Checkbox.from_param(
            self.param.lock_extent, name="Lock map extent"
        )
        self.metric_select = w.RadioButtonGroup.from_param(
            self.param.station_metric, name="Station metric", width=260
        )
        self.info = pn.pane.Markdown("", width=260, css_classes=["smkit-info"])
        self._update_info()

    def controls(self) -> pn.Column:
        """The widgets, in a column."""
        items = [
            self.date_player,
            self.product_select,
            self.difference_toggle,
            self.reference_select,
            self.clim_slider,
            self.lock_colour_toggle,
            self.lock_extent_toggle,
        ]
        if self.stations is not None:
            items += [
                pn.pane.Markdown(
                    "Station markers: metric of the product vs. station", margin=(10, 10, 0, 10)
                ),
                self.metric_select,
            ]
        items.append(self.info)
        return pn.Column(*items, width=290)

    def plots(self) -> pn.Row:
        """The map, and beside it the histogram and the time series."""
        return pn.Row(self.map_pane, pn.Column(self.hist_pane, self.series_title, self.series_pane))

    def __panel__(self) -> pn.Row:
        """Controls and plots side by side (inline in JupyterLab)."""
        return pn.Row(self.controls(), self.plots())

    def template(self) -> pn.template.BootstrapTemplate:
        """The explorer in a page template (sidebar of controls, plots in the main area).

        A :class:`panel.template.BootstrapTemplate`: its resources are served by
        Panel itself, whereas the Fast and Material designs request web fonts
        from Google, which an offline machine cannot reach.
        """
        return pn.template.BootstrapTemplate(
            title=self.title,
            sidebar=[self.controls()],
            main=[self.plots()],
            sidebar_width=320,
            header_background="#2b6a99",
        )


def explorer(
    product,
    *,
    coarse=None,
    stations=None,
    truth=None,
    references=None,
    zones=None,
    outline=None,
    title: str = "smkit map explorer",
    description: str = "",
    template: bool = False,
):
    """An interactive map explorer of a soil-moisture product.

    Parameters
    ----------
    product : xarray.Dataset or DataArray
        ``sm(method, time, lat, lon)`` on the fine grid (m3 m-3), eager or
        lazy; its days are the explorer's days.
    coarse : xarray.Dataset or DataArray, optional
        The coarse retrieval ``sm(time, lat, lon)`` (selector label ``CCI``).
    stations : xarray.Dataset, optional
        ``sm`` (m3 m-3) or ``rsm`` (percent, converted with
        :func:`smkit.core.schema.stations_to_volumetric`) along ``(station, time)``
        with coordinates ``name``, ``network``, ``lat``, ``lon``; stations
        outside the product's domain are left out.
    truth : xarray.Dataset or DataArray, optional
        The 1-km truth ``sm(time, lat, lon)`` (label ``Truth``).
    references : mapping of str to Dataset or DataArray, optional
        Other fields ``sm(time, lat, lon)`` on any regular grid, by label
        (``{"ERA5": sc.era5, "Noah": sc.noah}``).
    zones : xarray.DataArray, optional
        Integer labels ``zone(lat, lon)`` (e.g. on the coarse grid); their
        boundaries are drawn.
    outline : array or list of arrays, optional
        ``(n, 2)`` lon/lat vertices of outlines to draw (a region shipped with
        the data); the domain box is always drawn.
    title, description : str
        Page title and a line describing the product.
    template : bool, default False
        Return a :class:`panel.template.BootstrapTemplate` (for a server)
        instead of a row that also displays inline in JupyterLab.

    Returns
    -------
    panel.Row or panel.template.BootstrapTemplate
        The layout; its :class:`Explorer` (state and data access) is the
        ``explorer`` attribute of the returned object.

    Raises
    ------
    ValueError
        If the product's ``sm`` is not ``(method, time, lat, lon)`` or an
        optional field is not ``(time, lat, lon)``.

    Examples
    --------
    >>> from smkit.synth import make_scenario
    >>> from smkit.validate import interpolation_baselines
    >>> sc = make_scenario("tiny")
    >>> layout = explorer(interpolation_baselines(sc.coarse, sc.truth).isel(time=slice(0, 5)),
    ...                   coarse=sc.coarse, truth=sc.truth)
    >>> layout.explorer.param["product"].objects
    ['CCI', 'NEAREST', 'BILINEAR', 'Truth']
    """
    ex = Explorer(
        product,
        coarse=coarse,
        stations=stations,
        truth=truth,
        references=references,
        zones=zones,
        outline=outline,
        title=title,
        description=description,
    )
    layout = ex.template() if template else ex.__panel__()
    layout.explorer = ex
    return layout


# --------------------------------------------------------------------------- data for the server
@dataclass
class AppData:
    """What :func:`serve` and :func:`open_explorer` show.

    Attributes
    ----------
    product : xarray.Dataset
        ``sm(method, time, lat, lon)``.
    coarse, truth, stations : xarray.Dataset or None
    references : dict
        ``{"ERA5": ..., "Noah": ...}``.
    zones : xarray.DataArray or None
        Zone labels on the coarse grid.
    description : str
        What the product is (shown in the app).
    product_path : Path or None
        The product store, when the product comes from one.
    """

    product: xr.Dataset
    coarse: xr.Dataset | None = None
    truth: xr.Dataset | None = None
    stations: xr.Dataset | None = None
    references: dict = field(default_factory=dict)
    zones: xr.DataArray | None = None
    description: str = ""
    product_path: Path | None = None

    def kwargs(self) -> dict:
        """Keyword arguments of :func:`explorer`."""
        return {
            "coarse": self.coarse,
            "truth": self.truth,
            "stations": self.stations,
            "references": self.references,
            "zones": self.zones,
            "description": self.description,
        }


def quick_days(times, n_days: int = 92) -> slice:
    """A short period for a quick product: ``n_days`` around the last 15 July of ``times``.

    Falls back to the middle of the period when it holds no 15 July; the
    window is clipped to the period.

    Examples
    --------
    >>> import pandas as pd
    >>> quick_days(pd.date_range("2008-01-01", "2010-12-31"), 31)
    slice('2010-06-30', '2010-07-30', None)
    """
    t = pd.DatetimeIndex(times)
    july = t[(t.month == 7) & (t.day == 15)]
    centre = t.get_loc(july[-1]) if len(july) else len(t) // 2
    i0 = max(0, centre - n_days // 2)
    i1 = min(len(t), i0 + n_days)
    i0 = max(0, i1 - n_days)
    return slice(str(t[i0].date()), str(t[i1 - 1].date()))


def _open_product(path: Path) -> xr.Dataset:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no product store at {path}")
    if path.suffix == ".nc":
        ds = xr.open_dataset(path, chunks={})
    else:
        with warnings.catch_warnings():  # smkit writes unconsolidated stores; either is fine
            warnings.simplefilter("ignore", RuntimeWarning)
            ds = xr.open_zarr(path, consolidated=None)
    _product_array(ds)
    return ds


def _cached_product(root: Path, preset: str, seed: int) -> tuple[Path, xr.Dataset] | None:
    """The most complete product store the main job left in the cache for a preset, if any.

    Looks for ``<preset>-seed<seed>-w<world version>-product-*.zarr`` (the stores
    of ``smkit reproduce`` and :func:`smkit.workflow.study.base_product` for the current
    synthetic world; products of an older world are not the world's) and
    prefers the most methods, then the most days, then the newest; stores that
    do not open as a product are passed over.
    """
    from smkit.synth import WORLD_VERSION

    paths = set(root.glob(f"{preset}-seed{seed}-w{WORLD_VERSION}-product-*.zarr"))
    best = None
    for path in sorted(p for p in paths if p.is_dir()):
        try:
            ds = _open_product(path)
        except (OSError, ValueError, KeyError, TypeError):
            continue
        rank = (ds.sizes["method"], ds.sizes["time"], path.stat().st_mtime)
        if best is None or rank > best[0]:
            best = (rank, path, ds)
    return None if best is None else best[1:]


def _quick_path(store: Path, learner: str, days: slice) -> Path:
    return store.with_name(
        store.name.replace(".zarr", f"-quick-{learner}-{days.start}-{days.stop}.zarr")
    )


def _zones(coarse: xr.Dataset, k: int | None, seed: int) -> xr.DataArray | None:
    """k-means zones of the coarse retrieval (:func:`smkit.bma.zones.kmeans_zones`), or None."""
    if not k:
        return None
    try:
        from smkit.bma.zones import kmeans_zones
    except ImportError:  # zones not in this build of smkit: no outlines
        return None
    return kmeans_zones(coarse, k=k, seed=seed)


def load(
    scenario: str | Path | Scenario = "demo",
    *,
    product: str | Path | None = None,
    seed: int = 0,
    cache_dir: str | Path | None = None,
    quick: str = "mlr",
    days: slice | None = None,
    zones: int | None = 7,
    progress: bool = False,
) -> AppData:
    """Open a scenario and a product for the explorer.

    Parameters
    ----------
    scenario : str, Path or Scenario
        A preset name (``tiny``, ``demo``; built into the cache on first use
        by :func:`smkit.workflow.cache.cached_scenario`), a scenario store
        (``.zarr``/``.nc``) written by :meth:`smkit.synth.Scenario.to_zarr`,
        or a :class:`smkit.synth.Scenario` already open.
    product : str or Path, optional
        A product store (``.zarr`` from ``smkit downscale``, or ``.nc``) with
        ``sm(method, time, lat, lon)`` on the scenario's fine grid. Default:
        for a preset, the most complete product ``smkit reproduce`` left in
        the cache, else a quick product (below).
    seed : int
        Scenario seed (presets).
    cache_dir : str or Path, optional
        Scenario cache (default ``$SMKIT_CACHE`` or ``.smkit-cache``).
    quick : {"mlr", "rf", "svr", "xgb", "baselines"}
        The quick product: one learner run by :func:`smkit.engine.downscale`
        over :func:`quick_days` (three summer months; stored in the cache for
        a preset, so later starts are instant; kept in memory otherwise), or
        ``baselines``: the coarse
        retrieval interpolated to the fine grid (nearest and bilinear, all
        days, nothing to compute).
    days : slice, optional
        Period of the quick product (default :func:`quick_days`).
    zones : int or None, default 7
        Number of k-means zones of the coarse retrieval to outline
        (:func:`smkit.bma.zones.kmeans_zones`, the paper's k = 7); None for none.
    progress : bool
        Progress bars while building.

    Returns
    -------
    AppData
    """
    from smkit.workflow.cache import cached_scenario
    from smkit.workflow.study import has_truth
    from smkit.synth import PRESETS, Scenario, open_scenario

    store = None
    if isinstance(scenario, Scenario):
        sc = scenario
        name = f"the {sc.attrs.get('preset', 'given')} scenario"
    elif isinstance(scenario, str) and scenario in PRESETS:
        sc, store = cached_scenario(scenario, seed, cache_dir, progress=progress)
        name = f"the {scenario} scenario"
    else:
        path = Path(scenario)
        if not path.exists():
            raise FileNotFoundError(
                f"{scenario!r} is neither a preset ({sorted(PRESETS)}) nor a path"
            )
        sc = open_scenario(path)
        name = f"the scenario {path.name}"
    refs = {"ERA5": getattr(sc, "era5", None), "Noah": getattr(sc, "noah", None)}
    common = dict(
        coarse=sc.coarse,
        truth=sc.truth if has_truth(sc) else None,  # real data (an ingested cube) have none
        stations=getattr(sc, "stations", None),
        references={k: v for k, v in refs.items() if v is not None},
        zones=_zones(sc.coarse, zones, seed),
    )
    if product is not None:
        ds = _open_product(Path(product))
        return AppData(
            ds,
            **common,
            product_path=Path(product),
            description=f"Product {Path(product).name} over {name}",
        )
    if store is not None:
        found = _cached_product(store.parent, str(scenario), seed)
        if found is not None:
            path, ds = found
            return AppData(
                ds,
                **common,
                product_path=path,
                description=f"Downscaled product of {name} ({path.name})",
            )
    if quick == "baselines":
        from smkit.validate import interpolation_baselines

        ds = interpolation_baselines(sc.coarse, sc.fine)
        return AppData(
            ds,
            **common,
            description=f"Coarse retrieval of {name} interpolated to 1 km "
            "(nearest, bilinear): no downscaled product yet",
        )
    from smkit.engine import downscale

    days = days or quick_days(sc.coarse["time"].values)
    out = _quick_path(store, quick, days) if store is not None else None
    ds = downscale(  # with out=, a finished store is only reopened (resumable engine)
        sc.coarse,
        sc.fine,
        learners=(quick,),
        days=days,
        out=out,
        seed=seed,
        progress=progress and not (out is not None and out.exists()),
    )
    desc = (
        f"Quick {quick.upper()} product of {name}, {days.start} to {days.stop} "
        "(run `smkit reproduce` for all learners, or give --product)"
    )
    return AppData(ds, **common, product_path=out, description=desc)


def prepare(
    scenario: str = "demo",
    *,
    seed: int = 0,
    cache_dir: str | Path | None = None,
    quick: str = "mlr",
    progress: bool = True,
) -> AppData:
    """Build a preset's scenario and quick product into the cache ahead of time (Binder).

    Parameters
    ----------
    scenario : str
        Preset name (``tiny``, ``demo``).
    seed, cache_dir, quick, progress
        As for :func:`load`.

    Returns
    -------
    AppData
        What :func:`load` will find from now on (``product_path`` is the quick
        product's store, or the full product already in the cache).
    """
    return load(
        scenario, seed=seed, cache_dir=cache_dir, quick=quick, zones=None, progress=progress
    )


def open_explorer(
    scenario: str | Path | Scenario = "tiny",
    *,
    product: str | Path | None = None,
    seed: int = 0,
    cache_dir: str | Path | None = None,
    quick: str = "mlr",
    zones: int | None = 7,
    template: bool = False,
):
    """Load a scenario and a product and return the explorer's layout (for notebooks).

    Parameters
    ----------
    scenario, product, seed, cache_dir, quick, zones
        As for :func:`load`.
    template : bool
        As for :func:`explorer`.

    Returns
    -------
    panel.Row or panel.template.BootstrapTemplate
        :func:`explorer`'s layout.
    """
    data = load(scenario, product=product, seed=seed, cache_dir=cache_dir, quick=quick, zones=zones)
    return explorer(data.product, template=template, **data.kwargs())


def serve(
    scenario: str | Path | Scenario = "demo",
    *,
    product: str | Path | None = None,
    port: int = 5006,
    address: str = "127.0.0.1",
    show: bool = False,
    seed: int = 0,
    cache_dir: str | Path | None = None,
    quick: str = "mlr",
    zones: int | None = 7,
    threaded: bool = False,
    on_session: Callable[[Explorer], None] | None = None,
    progress: bool = True,
    **kwargs,
):
    """Serve the map explorer of a scenario with Panel's (Bokeh's) server.

    The data are opened once (:func:`load`) and shared by every browser
    session. Paths come only from the arguments: the app has no field that
    reads a file.

    Parameters
    ----------
    scenario, product, seed, cache_dir, quick, zones
        As for :func:`load`: a preset shows the cached full product of
        ``smkit reproduce`` if there is one, else a quick one-learner product
        of three summer months (computed once, about 10 s for ``demo``).
    port : int, default 5006
    address : str, default "127.0.0.1"
        Interface to bind; the default accepts connections from this
        machine only (use "0.0.0.0" deliberately to expose it).
    show : bool
        Open a browser tab.
    threaded : bool
        Run the server in a background thread and return it (call
        ``.stop()``); otherwise block until interrupted.
    on_session : callable, optional
        Called with each new session's :class:`Explorer` (tests use it to
        read the server-side state).
    progress : bool
        Progress bars while building data.
    **kwargs
        Passed on to :func:`panel.serve`.

    Returns
    -------
    panel.io.server.StoppableThread or bokeh.server.server.Server
    """
    data = load(
        scenario,
        product=product,
        seed=seed,
        cache_dir=cache_dir,
        quick=quick,
        zones=zones,
        progress=progress,
    )

    def page():
        ex = Explorer(data.product, **data.kwargs())
        if on_session is not None:
            on_session(ex)
        return ex.template()

    origins = [f"{address}:{port}"]
    if address in ("127.0.0.1", "localhost"):
        origins += [f"localhost:{port}", f"127.0.0.1:{port}"]
    return pn.serve(
        page,
        port=port,
        address=address,
        show=show,
        threaded=threaded,
        websocket_origin=sorted(set(origins)),
        title="smkit map explorer",
        verbose=False,
        **kwargs,
    )
