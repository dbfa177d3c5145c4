"""What the explorer's download buttons send: the map on display and the clicked point's series.

:func:`map_dataset` turns the map on display (a product's day, a product
minus another, or one day minus another) into a one-model, one-day product
``sm(model, time, lat, lon)``; :func:`map_file` writes it with
:func:`smkit.workflow.export.export_geotiff` or
:func:`~smkit.workflow.export.export_netcdf` -- the writers of ``smkit export``
-- and returns the file's bytes; :func:`series_csv` writes the time series of
the clicked point as CSV with a header naming the place and the units.
:mod:`smkit.app.explorer` wires them to Panel ``FileDownload`` buttons.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from smkit.core.grid import Grid
from smkit.core.vocabulary import MODEL_LABELS, SM_UNITS
from smkit.workflow.export import export_geotiff, export_netcdf

__all__ = ["MAP_FORMATS", "map_dataset", "map_file", "map_filename", "series_csv", "series_filename"]

#: File suffix of each map format a download offers.
MAP_FORMATS = {"geotiff": ".tif", "netcdf": ".nc"}
_IDS = {label: mid for mid, label in MODEL_LABELS.items()}


def _model_id(label: str) -> str:
    """The model id of a layer label (``XG`` -> ``xgb``; other labels lower-cased, ``ERA5`` -> ``era5``)."""
    return _IDS.get(label, str(label).lower())


def map_filename(product: str, date: str, *, reference: str | None = None,
                 date_b: str | None = None, fmt: str = "geotiff") -> str:
    """The download's file name of a map: what is shown, its day and its format.

    Examples
    --------
    >>> map_filename("XG", "2010-07-15")
    'smkit_XG_2010-07-15.tif'
    >>> map_filename("XG", "2010-07-15", reference="CCI", fmt="netcdf")
    'smkit_XG-minus-CCI_2010-07-15.nc'
    >>> map_filename("XG", "2010-07-15", date_b="2010-07-22")
    'smkit_XG_2010-07-22-minus-2010-07-15.tif'
    """
    if fmt not in MAP_FORMATS:
        raise ValueError(f"map format {fmt!r} is not one of {sorted(MAP_FORMATS)}")
    if date_b is not None:
        what = f"{product}_{date_b}-minus-{date}"
    elif reference is not None:
        what = f"{product}-minus-{reference}_{date}"
    else:
        what = f"{product}_{date}"
    return f"smkit_{what}{MAP_FORMATS[fmt]}"


def map_dataset(values: np.ndarray, grid: Grid, product: str, date: str, *,
                reference: str | None = None, date_b: str | None = None) -> xr.Dataset:
    """The map on display as a product of one model and one day, for the export writers.

    Parameters
    ----------
    values : numpy.ndarray, shape (grid.nlat, grid.nlon)
        The map (m3 m-3), rows from south to north.
    grid : Grid
        Its regular grid.
    product : str
        The layer shown (``XG``, ``CCI``, ``Truth`` ...).
    date : str
        Its day (YYYY-MM-DD).
    reference : str, optional
        The layer subtracted (difference mode).
    date_b : str, optional
        The second day, of which ``date`` is subtracted (date comparison);
        the map's day is then ``date_b``.

    Returns
    -------
    xarray.Dataset
        ``sm(model, time, lat, lon)`` float32 (m3 m-3); its model id names the
        map (``xgb``, ``xgb-minus-cci``, ``xgb-20100722-minus-20100715``) and
        ``sm``'s ``long_name`` says what it is.

    Raises
    ------
    ValueError
        If ``values`` does not have the grid's shape.
    """
    values = np.asarray(values, dtype=np.float32)
    if values.shape != grid.shape:
        raise ValueError(f"the map has shape {values.shape}; its grid has {grid.shape}")
    mid = _model_id(product)
    day = date
    what = f"volumetric soil moisture, {product}, {date}"
    if date_b is not None:
        a, b = (pd.Timestamp(d).strftime("%Y%m%d") for d in (date, date_b))
        mid, day = f"{mid}-{b}-minus-{a}", date_b
        what = f"difference of volumetric soil moisture, {product}, {date_b} minus {date}"
    elif reference is not None:
        mid = f"{mid}-minus-{_model_id(reference)}"
        what = f"difference of volumetric soil moisture, {product} minus {reference}, {date}"
    sm = xr.DataArray(
        values[None, None],
        dims=("model", "time", "lat", "lon"),
        coords={"model": [mid], "time": [pd.Timestamp(day)], "lat": grid.lat, "lon": grid.lon},
        attrs={"long_name": what, "units": SM_UNITS},
        name="sm",
    )
    ds = sm.to_dataset()
    ds.attrs["title"] = f"smkit map explorer: {what}"
    return ds


def map_file(ds: xr.Dataset, fmt: str) -> io.BytesIO:
    """The bytes of :func:`map_dataset`'s map as a GeoTIFF or a NetCDF file.

    Written by :func:`smkit.workflow.export.export_geotiff` (a Cloud-Optimised
    GeoTIFF, EPSG:4326, NaN nodata) or
    :func:`~smkit.workflow.export.export_netcdf` (CF-1.11 NetCDF4) into a
    temporary folder, read back and the folder removed.

    Parameters
    ----------
    ds : xarray.Dataset
        One model and one day (:func:`map_dataset`).
    fmt : {"geotiff", "netcdf"}

    Returns
    -------
    io.BytesIO
        The file, positioned at its start.
    """
    if fmt not in MAP_FORMATS:
        raise ValueError(f"map format {fmt!r} is not one of {sorted(MAP_FORMATS)}")
    with tempfile.TemporaryDirectory(prefix="smkit-download-") as tmp:
        if fmt == "geotiff":
            (path,) = export_geotiff(ds, Path(tmp))
        else:
            path = export_netcdf(ds, Path(tmp) / "map.nc")
        return io.BytesIO(path.read_bytes())


def series_filename(lat: float, lon: float, station: str | None = None) -> str:
    """The download's file name of a point's series.

    >>> series_filename(38.5125, 100.0125)
    'smkit_series_38.5125N_100.0125E.csv'
    """
    where = f"{lat:.4f}N_{lon:.4f}E"
    return f"smkit_series_{where}.csv" if station is None else f"smkit_series_{station}_{where}.csv"


def series_csv(series: pd.DataFrame, lat: float, lon: float, *, station: str | None = None,
               station_values: np.ndarray | None = None, shown: str = "") -> str:
    """A point's time series as CSV: header lines (place, units), then a date column and one per line.

    Parameters
    ----------
    series : pandas.DataFrame
        One column per layer, indexed by day (m3 m-3;
        :meth:`smkit.app.Explorer.pixel_series`).
    lat, lon : float
        The pixel's centre (degrees north, east).
    station : str, optional
        The station at the point; its values, ``station_values`` (m3 m-3, on
        ``series``' days), become the last column.
    shown : str, optional
        What the map showed, for the header.

    Returns
    -------
    str
        Lines starting ``#`` (read with ``pandas.read_csv(..., comment="#")``)
        say where the point is and that the values are volumetric soil
        moisture in m3 m-3; empty cells have no value.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"MLR": [0.21, None]}, index=pd.date_range("2010-07-15", periods=2))
    >>> print(series_csv(s, 38.5125, 100.0125))
    # smkit map explorer: time series at lat 38.5125 N, lon 100.0125 E (pixel centre, WGS84)
    # units: m3 m-3 (volumetric soil moisture); an empty cell has no value
    date,MLR
    2010-07-15,0.21
    2010-07-16,
    <BLANKLINE>
    """
    head = [f"# smkit map explorer: time series at lat {lat:.4f} N, lon {lon:.4f} E (pixel centre, WGS84)"]
    if station is not None:
        head.append(f"# station: {station}")
    if shown:
        head.append(f"# map shown: {shown}")
    head.append(f"# units: {SM_UNITS} (volumetric soil moisture); an empty cell has no value")
    out = series.copy()
    if station is not None and station_values is not None:
        out[station] = np.asarray(station_values, dtype=float)
    out.index = pd.DatetimeIndex(out.index).strftime("%Y-%m-%d")
    out.index.name = "date"
    return "\n".join(head) + "\n" + out.to_csv(float_format="%.5g", lineterminator="\n")
