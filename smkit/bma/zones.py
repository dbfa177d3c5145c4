"""Climate zones: k-means clustering of the multi-year mean coarse soil moisture.

The domain is split into ``k`` zones (the paper uses seven) by k-means on the
per-cell time mean of the coarse retrieval ``sm`` (m3 m-3), optionally joined by
further static features. Zones are then used to fit one set of Bayesian model
averaging weights per zone (:mod:`smkit.bma`) and to apply them on the fine grid.

Label convention
----------------
Zones are integers ``1..k`` ordered by the zone's mean wetness: zone 1 is the
driest, zone ``k`` the wettest. Ordering by a physical quantity (rather than by
k-means' arbitrary cluster index) makes the labels stable across runs, seeds and
library versions whenever the partition itself is the same. Cells without any
valid retrieval (or with a missing feature) carry :data:`NO_ZONE` (``-1``).

Functions
---------
:func:`kmeans_zones`
    Zones on the coarse grid.
:func:`zones_to_fine`
    The same zones on a nested fine grid (each fine pixel takes its parent
    coarse cell's label).
:func:`zone_of_stations`
    The zone of the coarse cell holding each station.

The map of the zones, :func:`smkit.plot.zones.plot_zones`, lives with the other figures.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from smkit._compat import moved_names
from smkit.core.grid import Grid, nesting_factor

__all__ = [
    "NO_ZONE",
    "ZONE_ATTRS",
    "check_zones",
    "grid_of",
    "kmeans_zones",
    "station_table",
    "zone_of_stations",
    "zones_to_fine",
]

#: Label of cells (and stations) that belong to no zone.
NO_ZONE = -1
#: Attributes shared by every zone map.
ZONE_ATTRS = {
    "long_name": "soil-moisture climate zone",
    "units": "1",
    "comment": (
        "k-means zones of the multi-year mean coarse soil moisture, numbered 1..k "
        "from driest to wettest; -1 where a cell never has data"
    ),
}
N_INIT = 10  # k-means restarts (fixed, so that results depend on the seed only)

__getattr__ = moved_names("smkit.bma.zones", {"plot_zones": "smkit.plot.zones"})


# --------------------------------------------------------------------------- helpers
def _as_sm(coarse_sm) -> xr.DataArray:
    """Return the ``sm`` DataArray of a coarse DataArray or Dataset."""
    if isinstance(coarse_sm, xr.Dataset):
        if "sm" not in coarse_sm.data_vars:
            raise KeyError(
                "coarse dataset has no 'sm' variable; variables: "
                f"{sorted(map(str, coarse_sm.data_vars))}"
            )
        coarse_sm = coarse_sm["sm"]
    if not isinstance(coarse_sm, xr.DataArray):
        raise TypeError(
            f"coarse_sm must be an xarray DataArray or Dataset, not {type(coarse_sm).__name__}"
        )
    missing = {"lat", "lon"} - set(coarse_sm.dims)
    if missing:
        raise ValueError(
            f"coarse sm needs dims 'lat' and 'lon' (and usually 'time'); got {coarse_sm.dims}"
        )
    extra = set(coarse_sm.dims) - {"time", "lat", "lon"}
    if extra:
        raise ValueError(
            f"coarse sm has unexpected dims {sorted(extra)}; expected (time, lat, lon)"
        )
    return coarse_sm


def _check_ascending(obj, what: str) -> None:
    for c in ("lat", "lon"):
        v = np.asarray(obj[c].values, dtype=float)
        if v.size > 1 and not np.all(np.diff(v) > 0):
            raise ValueError(
                f"{what}: coordinate {c!r} must be ascending (normalise inputs with "
                "smkit.core.schema.normalise first)"
            )


def grid_of(obj, what: str) -> Grid:
    """The grid of ``obj`` (a Grid, or an xarray object with ascending ``lat``/``lon``).

    Parameters
    ----------
    obj : smkit.core.grid.Grid, xarray.Dataset or xarray.DataArray
    what : str
        What ``obj`` is, for the error messages.

    Returns
    -------
    smkit.core.grid.Grid
    """
    if isinstance(obj, Grid):
        return obj
    if not isinstance(obj, (xr.Dataset, xr.DataArray)):
        raise TypeError(
            f"{what} must be a smkit.core.grid.Grid or an xarray object, not {type(obj).__name__}"
        )
    _check_ascending(obj, what)
    return Grid.from_dataset(obj)


def _feature_arrays(features, template: xr.DataArray) -> list[tuple[str, np.ndarray]]:
    """Return static feature fields (lat, lon) as float arrays on ``template``'s grid."""
    if features is None:
        return []
    if isinstance(features, xr.DataArray):
        items = [(features.name or "feature_0", features)]
    elif isinstance(features, xr.Dataset):
        items = [(str(k), v) for k, v in features.data_vars.items()]
    elif isinstance(features, Mapping):
        items = [(str(k), v) for k, v in features.items()]
    elif isinstance(features, Sequence) and not isinstance(features, str):
        items = [(getattr(v, "name", None) or f"feature_{i}", v) for i, v in enumerate(features)]
    else:
        raise TypeError(
            "features must be a DataArray, a Dataset, a mapping of name to DataArray or a list "
            f"of DataArrays, not {type(features).__name__}"
        )
    out = []
    for name, da in items:
        if not isinstance(da, xr.DataArray):
            raise TypeError(f"feature {name!r} is a {type(da).__name__}, not an xarray DataArray")
        if "time" in da.dims:
            da = da.mean("time", skipna=True)
        if set(da.dims) != {"lat", "lon"}:
            raise ValueError(
                f"feature {name!r} must have dims (lat, lon) (or time, lat, lon); got {da.dims}"
            )
        for c in ("lat", "lon"):
            if da.sizes[c] != template.sizes[c] or not np.allclose(
                np.asarray(da[c].values, float), np.asarray(template[c].values, float), atol=1e-6
            ):
                raise ValueError(
                    f"feature {name!r} is not on the coarse grid ({c} differs); regrid it to the "
                    "coarse sm grid first (e.g. smkit.engine.features.aggregate)"
                )
        out.append((str(name), np.asarray(da.transpose("lat", "lon").values, dtype=np.float64)))
    return out


def _cell_stats(sm: xr.DataArray) -> tuple[np.ndarray, np.ndarray]:
    """Per-cell time mean of ``sm`` (m3 m-3) and count of valid days, in one pass over the data."""
    if "time" in sm.dims:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN cells
            stats = (
                xr.Dataset(
                    {  # one pass over (possibly dask-backed) data
                        "count": sm.notnull().sum("time"),
                        "mean": sm.mean("time", skipna=True),
                    }
                )
                .transpose("lat", "lon")
                .compute()
            )
        count = np.asarray(stats["count"].values)
        mean = np.asarray(stats["mean"].values, np.float64)
    else:
        mean = np.asarray(sm.transpose("lat", "lon").values, np.float64)
        count = np.isfinite(mean).astype(np.int64)
    return mean, count


def _cluster_features(mean: np.ndarray, valid: np.ndarray, feats, k: int) -> np.ndarray:
    """The k-means input (valid cells, features): mean ``sm``, and with features all standardised."""
    n_valid = int(valid.sum())
    cols = [mean[valid]] + [f[valid] for _, f in feats]
    X = np.column_stack(cols)
    if feats:
        sd = X.std(axis=0)
        X = (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    n_distinct = len(np.unique(X, axis=0))
    if k > n_distinct:
        raise ValueError(
            f"k={k} zones requested but the {n_valid} valid cells have only {n_distinct} distinct "
            f"feature value(s); choose k <= {n_distinct}"
        )
    return X


# --------------------------------------------------------------------------- zones
def kmeans_zones(
    coarse_sm: xr.DataArray | xr.Dataset,
    k: int = 7,
    seed: int = 0,
    features=None,
    *,
    min_count: int = 1,
) -> xr.DataArray:
    """Climate zones from k-means on the multi-year mean of coarse soil moisture.

    Parameters
    ----------
    coarse_sm : xarray.DataArray or xarray.Dataset
        Coarse retrieval ``sm(time, lat, lon)``, m3 m-3, NaN where there is no
        retrieval (a Dataset is accepted and its ``sm`` used). May be dask-backed;
        only the time mean is computed.
    k : int, default 7
        Number of zones.
    seed : int, default 0
        Seed of the k-means initialisation (``n_init`` is fixed at 10 restarts),
        so the zones are deterministic per seed.
    features : DataArray, Dataset, mapping or list of DataArray, optional
        Further static features on the coarse grid (dims ``lat, lon``; a
        ``time`` dim is averaged out), e.g. elevation (m) or mean NDVI (1).
        With features, every column (the mean ``sm`` included) is standardised
        to zero mean and unit variance over the valid cells so that units do not
        weigh in; without them k-means runs on the mean ``sm`` in m3 m-3.
    min_count : int, default 1
        Minimum number of valid days (retrievals) for a cell to get a zone.

    Returns
    -------
    xarray.DataArray
        ``zone(lat, lon)``, int32, labels ``1..k`` from driest (1) to wettest
        (``k``) by the zone's mean of the multi-year mean ``sm``; :data:`NO_ZONE`
        (-1) where a cell has fewer than ``min_count`` retrievals or a missing
        feature. Attributes carry CF ``flag_values``/``flag_meanings``, ``k``,
        ``seed``, the features used and ``zone_mean_sm`` (m3 m-3, one per zone).

    Raises
    ------
    ValueError
        If ``coarse_sm`` is entirely NaN, if ``k`` is not positive, or if ``k``
        exceeds the number of valid cells (or of distinct feature vectors).

    Examples
    --------
    >>> import numpy as np, pandas as pd, xarray as xr
    >>> sm = xr.DataArray(
    ...     np.linspace(0.05, 0.35, 16).reshape(1, 4, 4),
    ...     dims=("time", "lat", "lon"),
    ...     coords={"time": pd.date_range("2003-01-01", periods=1),
    ...             "lat": [40.125, 40.375, 40.625, 40.875],
    ...             "lon": [100.125, 100.375, 100.625, 100.875]},
    ... )
    >>> z = kmeans_zones(sm, k=2)
    >>> z.values.tolist()
    [[1, 1, 1, 1], [1, 1, 1, 1], [2, 2, 2, 2], [2, 2, 2, 2]]
    """
    from sklearn.cluster import KMeans

    sm = _as_sm(coarse_sm)
    k = int(k)
    if k < 1:
        raise ValueError(f"k must be a positive number of zones, got {k}")
    mean, count = _cell_stats(sm)
    valid = (count >= max(int(min_count), 1)) & np.isfinite(mean)
    if not np.isfinite(mean).any():
        raise ValueError(
            "coarse sm is NaN everywhere (no retrieval in any cell and day): cannot form zones"
        )
    feats = _feature_arrays(features, sm)
    for _, f in feats:
        valid &= np.isfinite(f)
    n_valid = int(valid.sum())
    if n_valid == 0:
        raise ValueError(
            "no cell has a valid mean soil moisture"
            + (f" with at least {min_count} retrievals" if min_count > 1 else "")
            + (" and all features" if feats else "")
            + ": cannot form zones"
        )
    if k > n_valid:
        raise ValueError(
            f"k={k} zones requested but only {n_valid} coarse cell(s) have data; "
            f"choose k <= {n_valid}"
        )
    X = _cluster_features(mean, valid, feats, k)
    km = KMeans(n_clusters=k, n_init=N_INIT, random_state=int(seed)).fit(X)
    raw = km.labels_
    wet = np.array([mean[valid][raw == c].mean() for c in range(k)])
    order = np.argsort(wet, kind="stable")  # order[j] = raw cluster of zone j+1
    rank = np.empty(k, np.int64)
    rank[order] = np.arange(1, k + 1)
    labels = np.full(mean.shape, NO_ZONE, np.int32)
    labels[valid] = rank[raw]
    attrs = {
        **ZONE_ATTRS,
        "flag_values": np.arange(1, k + 1, dtype=np.int32),
        "flag_meanings": " ".join(f"zone_{i}" for i in range(1, k + 1)),
        "k": k,
        "seed": int(seed),
        "features": " ".join(["sm_mean"] + [n for n, _ in feats]),
        "zone_mean_sm": np.round(wet[order], 6),
        "zone_mean_sm_units": "m3 m-3",
    }
    coords = {c: sm[c] for c in ("lat", "lon")}
    zone = xr.DataArray(labels, dims=("lat", "lon"), coords=coords, name="zone", attrs=attrs)
    zone.encoding["_FillValue"] = NO_ZONE
    return zone


def check_zones(zones) -> xr.DataArray:
    """A zone map checked and made ready for use: integer labels, dims ``(lat, lon)``, ascending.

    Parameters
    ----------
    zones : xarray.DataArray
        ``zone(lat, lon)`` labels (-1 for no zone); whole-numbered floats are
        cast to int32.

    Returns
    -------
    xarray.DataArray
        The zones transposed to ``(lat, lon)``.

    Raises
    ------
    TypeError, ValueError
        For anything else than a DataArray, other dims, fractional or NaN
        labels, or descending coordinates.
    """
    if not isinstance(zones, xr.DataArray):
        raise TypeError(
            f"zones must be an xarray DataArray zone(lat, lon), not {type(zones).__name__}"
        )
    if set(zones.dims) != {"lat", "lon"}:
        raise ValueError(f"zones must have dims (lat, lon); got {zones.dims}")
    if not np.issubdtype(zones.dtype, np.integer):
        vals = np.asarray(zones.values)
        if np.isnan(vals).any() or not np.all(vals == np.round(vals)):
            raise ValueError(
                "zones must hold integer labels (-1 for no zone), not fractional or NaN values"
            )
        zones = zones.astype(np.int32)
    _check_ascending(zones, "zones")
    return zones.transpose("lat", "lon")


def zones_to_fine(zones: xr.DataArray, fine_grid_or_ds) -> xr.DataArray:
    """Zones on a fine grid nested in the zones' coarse grid.

    Each fine pixel takes the label of the coarse cell holding it (its parent
    cell), so the fine map is an exact block copy of the coarse one.

    Parameters
    ----------
    zones : xarray.DataArray
        ``zone(lat, lon)`` integer labels on the coarse grid (e.g. from
        :func:`kmeans_zones`).
    fine_grid_or_ds : smkit.core.grid.Grid, xarray.Dataset or xarray.DataArray
        The fine grid, or an object with its ascending ``lat``/``lon``
        (degrees). It must nest in the coarse grid (integer resolution ratio,
        same outer edges; see :func:`smkit.core.grid.nesting_factor`).

    Returns
    -------
    xarray.DataArray
        ``zone(lat, lon)`` on the fine grid, same dtype and attributes.

    Raises
    ------
    ValueError
        If the fine grid does not nest in the coarse grid.
    """
    zones = check_zones(zones)
    cgrid = grid_of(zones, "zones")
    fgrid = grid_of(fine_grid_or_ds, "fine grid")
    factor = nesting_factor(cgrid, fgrid)
    if factor == 1 and fgrid == cgrid:
        return zones.copy()
    rows = np.arange(fgrid.nlat) // factor
    cols = np.arange(fgrid.nlon) // factor
    fine = zones.isel(lat=xr.DataArray(rows, dims="lat"), lon=xr.DataArray(cols, dims="lon"))
    fine = fine.drop_vars(["lat", "lon"], errors="ignore").assign_coords(fgrid.coords())
    fine.attrs = dict(zones.attrs)
    fine.encoding["_FillValue"] = NO_ZONE
    return fine.rename("zone")


def station_table(stations) -> pd.DataFrame:
    """Station names and coordinates as a DataFrame indexed like the input.

    Parameters
    ----------
    stations : xarray.Dataset or pandas.DataFrame
        Stations with ``lat`` and ``lon`` (degrees) along a ``station`` dim, or
        as columns; ``name`` when present (else the station ids).

    Returns
    -------
    pandas.DataFrame
        Columns ``station``, ``name``, ``lat`` (degrees_north), ``lon`` (degrees_east).
    """
    if isinstance(stations, xr.Dataset | xr.DataArray):
        if "station" not in stations.dims:
            raise ValueError(f"stations must have a 'station' dim; got {stations.dims}")
        for c in ("lat", "lon"):
            if c not in stations.coords and c not in getattr(stations, "data_vars", {}):
                raise KeyError(f"stations need a {c!r} coordinate along 'station' (degrees)")
        sid = stations["station"].values
        lat = np.asarray(stations["lat"].values, float)
        lon = np.asarray(stations["lon"].values, float)
        name = (
            np.asarray(stations["name"].values).astype(str)
            if "name" in stations.coords
            else np.asarray(sid).astype(str)
        )
        return pd.DataFrame({"station": sid, "name": name, "lat": lat, "lon": lon})
    if isinstance(stations, pd.DataFrame):
        missing = {"lat", "lon"} - set(stations.columns)
        if missing:
            raise KeyError(
                f"stations table needs columns 'lat' and 'lon' (degrees); missing {sorted(missing)}"
            )
        sid = (
            stations["station"].to_numpy()
            if "station" in stations.columns
            else stations.index.to_numpy()
        )
        name = (
            stations["name"].astype(str).to_numpy()
            if "name" in stations.columns
            else np.asarray(sid).astype(str)
        )
        return pd.DataFrame(
            {
                "station": sid,
                "name": name,
                "lat": stations["lat"].to_numpy(float),
                "lon": stations["lon"].to_numpy(float),
            }
        )
    raise TypeError(
        f"stations must be an xarray Dataset or a pandas DataFrame, not {type(stations).__name__}"
    )


def zone_of_stations(zones: xr.DataArray, stations) -> xr.DataArray:
    """Find the zone of the coarse cell holding each station.

    A cell spans ``[centre - res/2, centre + res/2)`` in latitude and
    longitude (:meth:`smkit.core.grid.Grid.contains`).

    Parameters
    ----------
    zones : xarray.DataArray
        ``zone(lat, lon)`` integer labels on a regular ascending grid.
    stations : xarray.Dataset or pandas.DataFrame
        Stations with ``lat`` (degrees_north) and ``lon`` (degrees_east) along a
        ``station`` dim (Dataset) or as columns (DataFrame; a ``station`` column
        or the index identifies them); ``name`` is used in messages when present.

    Returns
    -------
    xarray.DataArray
        ``zone(station)`` int32; :data:`NO_ZONE` (-1) for stations outside the
        grid or in a cell without a zone. Coords ``station`` and ``name``.

    Warns
    -----
    UserWarning
        Naming the stations outside the grid, and those in cells without a zone.
    """
    zones = check_zones(zones)
    grid = grid_of(zones, "zones")
    tab = station_table(stations)
    lat, lon = tab["lat"].to_numpy(), tab["lon"].to_numpy()
    finite = np.isfinite(lat) & np.isfinite(lon)
    inside = finite & grid.contains(np.where(finite, lat, np.inf), np.where(finite, lon, np.inf))
    out = np.full(len(tab), NO_ZONE, np.int32)
    if inside.any():
        i = (
            np.floor((lat[inside] - grid.lat0) / grid.res + 1e-9)
            .astype(np.int64)
            .clip(0, grid.nlat - 1)
        )
        j = (
            np.floor((lon[inside] - grid.lon0) / grid.res + 1e-9)
            .astype(np.int64)
            .clip(0, grid.nlon - 1)
        )
        out[inside] = np.asarray(zones.values)[i, j]
    names = tab["name"].to_numpy()
    if (~inside).any():
        listed = ", ".join(
            f"{n} (lat {a:.4f}, lon {o:.4f})"
            for n, a, o in zip(names[~inside], lat[~inside], lon[~inside], strict=True)
        )
        warnings.warn(
            f"{int((~inside).sum())} station(s) outside the zone grid (lon {grid.lon0:g} to "
            f"{grid.lon1:g}, lat {grid.lat0:g} to {grid.lat1:g}) get zone {NO_ZONE}: {listed}",
            UserWarning,
            stacklevel=2,
        )
    nozone = inside & (out < 1)
    if nozone.any():
        warnings.warn(
            f"{int(nozone.sum())} station(s) fall in coarse cells without a zone (no retrieval) "
            "and "
            f"get zone {NO_ZONE}: {', '.join(names[nozone])}",
            UserWarning,
            stacklevel=2,
        )
    return xr.DataArray(
        out,
        dims="station",
        coords={"station": tab["station"].to_numpy(), "name": ("station", names)},
        name="zone",
        attrs={k: v for k, v in zones.attrs.items() if k in ("long_name", "units", "comment")},
    )
