"""The stations data model the station readers return, and :func:`merge_stations`.

Owns :class:`Station` (one station's metadata and daily series, as a reader
collects them) and the dataset built from them (dims station, time); the formats
are :mod:`smkit.readers.ismn` and :mod:`smkit.readers.station_csv`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from smkit.readers.common import day_index, time_coord

__all__ = ["Station", "stations_dataset", "merge_stations"]


@dataclass
class Station:
    """One station as a reader collects it: metadata and daily series.

    ``lat``/``lon`` degrees north/east, ``elevation`` m, ``sm`` daily m3 m-3,
    ``rsm`` daily percent of field capacity, ``field_capacity`` g g-1,
    ``bulk_density`` g cm-3, ``files`` the source files.
    """

    name: str
    network: str
    lat: float
    lon: float
    elevation: float
    land_cover: str
    cadence: str
    station_id: str
    sm: pd.Series | None = None  # daily, m3 m-3
    rsm: pd.Series | None = None  # daily, percent
    field_capacity: float = np.nan
    bulk_density: float = np.nan
    files: list = field(default_factory=list)


def stations_dataset(stations: list[Station], time, source: str) -> xr.Dataset:
    """Build the stations data model (dims station, time) from per-station daily series."""
    if not stations:
        raise ValueError("no stations")
    days = day_index(time)
    if days is None:
        idx = [s.index for st in stations for s in (st.sm, st.rsm) if s is not None and len(s)]
        days = pd.DatetimeIndex(sorted(set().union(*[set(i) for i in idx]))) if idx else \
            pd.DatetimeIndex([])
    n, nt = len(stations), len(days)
    sm = np.full((n, nt), np.nan, dtype=np.float32)
    rsm = np.full((n, nt), np.nan, dtype=np.float32)
    for i, st in enumerate(stations):
        if st.sm is not None:
            sm[i] = st.sm.reindex(days).to_numpy(dtype=np.float32)
        if st.rsm is not None:
            rsm[i] = st.rsm.reindex(days).to_numpy(dtype=np.float32)
    has_rsm = any(st.rsm is not None for st in stations)
    data = {"sm": (("station", "time"), sm, {
        "long_name": "in-situ volumetric soil moisture, daily mean", "units": "m3 m-3"})}
    if has_rsm:
        data["rsm"] = (("station", "time"), rsm, {
            "long_name": "relative soil moisture, percent of field capacity", "units": "percent"})
    col = lambda a: np.array([getattr(st, a) for st in stations])  # noqa: E731
    coords = {
        "time": time_coord(days),
        "station": ("station", np.arange(n)),
        "name": ("station", col("name").astype(object)),
        "station_id": ("station", col("station_id").astype(object)),
        "network": ("station", col("network").astype(object)),
        "cadence": ("station", col("cadence").astype(object)),
        "lat": ("station", col("lat").astype(float), {"units": "degrees_north",
                                                     "standard_name": "latitude"}),
        "lon": ("station", col("lon").astype(float), {"units": "degrees_east",
                                                     "standard_name": "longitude"}),
        "elevation": ("station", col("elevation").astype(float), {"units": "m"}),
        "land_cover": ("station", col("land_cover").astype(object)),
    }
    if has_rsm:
        coords["field_capacity"] = ("station", col("field_capacity").astype(float),
                                    {"long_name": "field capacity (gravimetric)", "units": "g g-1"})
        coords["bulk_density"] = ("station", col("bulk_density").astype(float),
                                  {"long_name": "soil bulk density", "units": "g cm-3"})
    files = sorted({f for st in stations for f in st.files})
    return xr.Dataset(data, coords=coords, attrs={"source": source, "source_files": files})


def merge_stations(datasets: Sequence[xr.Dataset], time=None) -> xr.Dataset:
    """Concatenate stations datasets along ``station`` on one daily axis.

    Parameters
    ----------
    datasets : sequence of xarray.Dataset
        Results of the station readers.
    time : array-like of dates, optional
        Daily axis (default: the union of the inputs' days).

    Returns
    -------
    xarray.Dataset
        ``sm`` (m3 m-3) and, if any input has it, ``rsm`` (percent) with
        ``field_capacity``/``bulk_density`` (NaN where not known).
    """
    if not datasets:
        raise ValueError("no stations datasets to merge")
    days = day_index(time)
    if days is None:
        days = pd.DatetimeIndex(sorted(set().union(*[set(pd.DatetimeIndex(d["time"].values))
                                                     for d in datasets])))
    has_rsm = any("rsm" in d.data_vars for d in datasets)
    parts = []
    for d in datasets:
        d = d.reindex(time=days)
        if has_rsm:
            if "rsm" not in d.data_vars:
                d["rsm"] = xr.full_like(d["sm"], np.nan)
                d["rsm"].attrs = {"long_name": "relative soil moisture, percent of field capacity",
                                  "units": "percent"}
            for c, u in (("field_capacity", "g g-1"), ("bulk_density", "g cm-3")):
                if c not in d.coords:
                    d = d.assign_coords({c: ("station", np.full(d.sizes["station"], np.nan),
                                             {"units": u})})
        parts.append(d.drop_vars("station"))
    out = xr.concat(parts, dim="station", combine_attrs="drop_conflicts",
                    data_vars="all", coords="different", compat="equals")
    out = out.assign_coords(station=("station", np.arange(out.sizes["station"])),
                            time=time_coord(days))
    out.attrs = {"source": "; ".join(str(d.attrs.get("source", "")) for d in datasets),
                 "source_files": sorted({f for d in datasets
                                         for f in d.attrs.get("source_files", [])})}
    return out
