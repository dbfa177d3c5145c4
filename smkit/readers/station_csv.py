"""smkit's CSV templates of the paper's Chinese station networks (NZW, CERN, QXZ).

Owns the two templates (relative soil moisture for NZW, volumetric for CERN and
QXZ), their checks (numbers, dates, station columns that agree, percent where
fractions are due) and one reader per network.
"""

from __future__ import annotations

import csv
import io as _stdio
from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from smkit.core.vocabulary import NETWORK_CADENCE
from smkit.readers.common import ReadError, as_files, check_download, file_format, read_text
from smkit.readers.stations import Station, stations_dataset

__all__ = ["NZW_COLUMNS", "VOLUMETRIC_COLUMNS", "read_station_csv", "read_nzw", "read_cern",
           "read_qxz"]

#: Columns of the NZW CSV template (see :func:`read_nzw`).
NZW_COLUMNS = ("station_id", "name", "lat", "lon", "elevation", "land_cover", "date", "rsm",
               "field_capacity", "bulk_density")
#: Columns of the CERN and QXZ CSV template (see :func:`read_cern`).
VOLUMETRIC_COLUMNS = ("station_id", "name", "lat", "lon", "elevation", "land_cover", "date", "sm")


def _check_csv_file(path: str, kind: str):
    """A ReadError unless ``path`` is text: a spreadsheet, a web page, an archive or a binary file named."""
    if file_format(path) == "ZIP":
        import zipfile

        try:
            with zipfile.ZipFile(path) as z:
                workbook = any(n.startswith("xl/") for n in z.namelist())
        except (zipfile.BadZipFile, OSError):
            workbook = False
        if workbook:
            raise ReadError(path, kind, None, "is an Excel workbook (.xlsx), not a CSV table",
                            "save it as 'CSV UTF-8 (comma delimited)' from the spreadsheet program")
    fmt = check_download(path, kind, "CSV")
    if fmt is not None:
        raise ReadError(path, kind, None, f"is a {fmt} file, not a CSV table",
                        "give smkit the station table saved as CSV (UTF-8)")


def _read_csv_rows(path: str, columns: Sequence[str], kind: str) -> pd.DataFrame:
    _check_csv_file(path, kind)
    text = read_text(path, kind, "cannot be read as UTF-8 text ({err}): corrupt file?",
                     "save the table as UTF-8 CSV", newline="", encoding="utf-8-sig")
    reader = csv.reader(_stdio.StringIO(text))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise ReadError(path, kind, None, "is empty",
                        "write the template's header and rows") from None
    missing = [c for c in columns if c not in header]
    if missing:
        other = next((name for name, cols in (("NZW (format nzw)", NZW_COLUMNS),
                                              ("volumetric (format cern or qxz)", VOLUMETRIC_COLUMNS))
                      if tuple(cols) != tuple(columns) and all(c in header for c in cols)), None)
        raise ReadError(path, kind, ", ".join(missing), f"column(s) missing; header has {header}"
                        + (f": the {other} template" if other else ""),
                        (f"read it as the {other} template, or " if other else "")
                        + f"use the template header {','.join(columns)}")
    rows = []
    for k, row in enumerate(reader, start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) < len(header):
            raise ReadError(path, kind, None, f"line {k} has {len(row)} field(s) but the header "
                            f"has {len(header)}: truncated file?",
                            "export or download the table again, or complete or remove the line")
        rows.append([c.strip() for c in row[:len(header)]])
    if not rows:
        raise ReadError(path, kind, None, "has a header but no rows", "add observations")
    return pd.DataFrame(rows, columns=header)[list(columns)].assign(_line=range(2, 2 + len(rows)))


def _numeric(df: pd.DataFrame, col: str, path: str, kind: str, allow_empty: bool) -> pd.Series:
    raw = df[col].replace("", np.nan)
    v = pd.to_numeric(raw, errors="coerce")
    bad = v.isna() & (raw.notna() if allow_empty else True)
    if bad.any():
        k = int(np.flatnonzero(bad.to_numpy())[0])
        raise ReadError(path, kind, col, f"line {int(df['_line'].iloc[k])}: "
                        f"{df[col].iloc[k]!r} is not a number", "fix the value (empty = missing)"
                        if allow_empty else "fill the value")
    return v.astype(float)


def _blank(x) -> bool:
    return x is None or x == "" or (isinstance(x, float) and np.isnan(x))


def read_station_csv(files, network: str, *, time=None, cadence: str | None = None) -> xr.Dataset:
    """Read station CSV files of smkit's templates (NZW, CERN, QXZ) into a stations dataset.

    Volumetric template (CERN, QXZ), one row per observation::

        station_id,name,lat,lon,elevation,land_cover,date,sm
        QXZ-ARO,Arou,38.04,100.46,2295,Grassland,2009-07-01,0.231

    NZW template (relative soil moisture), one row per observation::

        station_id,name,lat,lon,elevation,land_cover,date,rsm,field_capacity,bulk_density
        52681,Minqin,38.63,103.08,1367,Farmland,2009-07-08,62.5,0.21,1.42

    Units: ``lat``/``lon`` degrees north/east (WGS84), ``elevation`` m,
    ``date`` ``YYYY-MM-DD`` (or ``YYYY-MM-DD HH:MM``; several rows of a
    station on one day are averaged), ``sm`` m3 m-3, ``rsm`` percent of field
    capacity, ``field_capacity`` g g-1 (gravimetric fraction), ``bulk_density``
    g cm-3. Station columns repeat on every row and must agree. An empty
    value is a missing observation.

    Parameters
    ----------
    files : str, path, or sequence of them
        Files, folders (searched for ``*.csv``) or globs.
    network : {"NZW", "CERN", "QXZ"} or str
        Network; "NZW" selects the relative template, any other name the
        volumetric one.
    time : array-like of dates, optional
        Daily axis of the result. Default: the days with data.
    cadence : {"daily", "pentad", "dekad"}, optional
        Observing period; default from the network (NZW dekad, CERN pentad,
        QXZ daily; others daily).

    Returns
    -------
    xarray.Dataset
        Dims (station, time): ``sm`` (m3 m-3; NaN for NZW) and, for NZW,
        ``rsm`` (percent) with coords ``field_capacity`` and
        ``bulk_density``; coords as :func:`read_ismn`. NZW values are
        converted to m3 m-3 later by :func:`smkit.core.schema.stations_to_volumetric`.

    Raises
    ------
    ReadError
        Naming the file: missing columns, a truncated line, a non-numeric
        value, inconsistent station columns, percent where fractions are due.
    """
    network = str(network)
    kind = f"{network} CSV"
    relative = network.upper() == "NZW"
    columns = NZW_COLUMNS if relative else VOLUMETRIC_COLUMNS
    cadence = cadence or NETWORK_CADENCE.get(network.upper(), "daily")
    paths = as_files(files, kind, "*.csv")
    records: dict[str, dict] = {}
    for p in paths:
        df = _read_csv_rows(p, columns, kind)
        lat = _numeric(df, "lat", p, kind, False)
        lon = _numeric(df, "lon", p, kind, False)
        elev = _numeric(df, "elevation", p, kind, True)
        text = df["date"].str.replace("/", "-", regex=False)
        t = pd.to_datetime(text, format="ISO8601", errors="coerce")
        if t.isna().any():
            k = int(np.flatnonzero(t.isna().to_numpy())[0])
            raise ReadError(p, kind, "date", f"line {int(df['_line'].iloc[k])}: "
                            f"{df['date'].iloc[k]!r} is not a date", "write dates as YYYY-MM-DD")
        values = {c: _numeric(df, c, p, kind, True) for c in (("rsm",) if relative else ("sm",))}
        if relative:
            fc = _numeric(df, "field_capacity", p, kind, True)
            bd = _numeric(df, "bulk_density", p, kind, True)
            if np.nanmax(fc.to_numpy(), initial=0) > 1:
                raise ReadError(p, kind, "field_capacity", "values above 1 g g-1 look like percent",
                                "divide by 100 (gravimetric fraction)")
            if np.nanmax(bd.to_numpy(), initial=0) > 3:
                raise ReadError(p, kind, "bulk_density", "values above 3 g cm-3 look like kg m-3",
                                "divide by 1000")
        elif np.nanmax(values["sm"].to_numpy(), initial=0) > 1:
            raise ReadError(p, kind, "sm", "values above 1 m3 m-3 look like percent",
                            "divide by 100 (volumetric fraction)")
        for sid, idx in df.groupby("station_id", sort=True).groups.items():
            sub = df.loc[idx]
            meta = {"name": sub["name"], "lat": lat[idx], "lon": lon[idx], "elevation": elev[idx],
                    "land_cover": sub["land_cover"]}
            if relative:
                meta.update(field_capacity=fc[idx], bulk_density=bd[idx])
            one = {}
            for c, col in meta.items():
                u = list(dict.fromkeys(x for x in col.tolist() if not _blank(x)))
                if len(u) > 1:
                    raise ReadError(p, kind, c, f"station {sid} has several values {list(u)[:3]}",
                                    "station columns must agree on every row")
                one[c] = u[0] if len(u) else (np.nan if c not in ("name", "land_cover") else "")
            rec = records.setdefault(str(sid), {"meta": one, "parts": [], "files": []})
            for c in ("lat", "lon"):
                if abs(float(rec["meta"][c]) - float(one[c])) > 1e-6:
                    raise ReadError(p, kind, c, f"station {sid} has {c} {one[c]} here but "
                                    f"{rec['meta'][c]} in {rec['files'][0]}", "fix the coordinates")
            day = t[idx].dt.normalize()
            rec["parts"].append(pd.DataFrame({c: v[idx].to_numpy() for c, v in values.items()},
                                             index=pd.DatetimeIndex(day)))
            rec["files"].append(p)
    stations = []
    for sid, rec in sorted(records.items()):
        obs = pd.concat(rec["parts"]).groupby(level=0).mean()
        m = rec["meta"]
        st = Station(str(m["name"] or sid), network, float(m["lat"]), float(m["lon"]),
                      float(m["elevation"]), str(m["land_cover"] or "unknown"), cadence, str(sid),
                      files=rec["files"])
        if relative:
            st.rsm = obs["rsm"]
            st.field_capacity = float(m["field_capacity"])
            st.bulk_density = float(m["bulk_density"])
            st.sm = pd.Series(np.nan, index=obs.index)
        else:
            st.sm = obs["sm"]
        stations.append(st)
    return stations_dataset(stations, time, f"{network} stations (smkit CSV template)")


def _network_reader(network: str, summary: str, template: str, returns: str):
    """:func:`read_station_csv` with ``network`` bound, named and documented for that network."""

    def reader(files, *, time=None) -> xr.Dataset:
        return read_station_csv(files, network, time=time)

    reader.__name__ = reader.__qualname__ = f"read_{network.lower()}"
    reader.__doc__ = f"""{summary}

    See :func:`read_station_csv` for the template
    ({template}).

    Parameters
    ----------
    files : str, path, or sequence of them
        CSV files, folders or globs.
    time : array-like of dates, optional
        Daily axis of the result.

    Returns
    -------
    xarray.Dataset
        {returns}
    """
    return reader


read_nzw = _network_reader(
    "NZW", "Read NZW stations (relative soil moisture, ten-day) from the NZW CSV template.",
    "``station_id,name,lat,lon,elevation,land_cover,date,rsm,field_capacity,bulk_density``;\n"
    "    ``rsm`` percent of field capacity, ``field_capacity`` g g-1,\n"
    "    ``bulk_density`` g cm-3",
    "Stations with ``rsm`` (percent), ``field_capacity``, ``bulk_density``.")
read_cern = _network_reader(
    "CERN", "Read CERN stations (volumetric, five-day) from the volumetric CSV template.",
    "``station_id,name,lat,lon,elevation,land_cover,date,sm``; ``sm`` m3 m-3",
    'Stations with ``sm`` (m3 m-3), cadence "pentad".')
read_qxz = _network_reader(
    "QXZ", "Read QXZ stations (volumetric, daily) from the volumetric CSV template.",
    "``station_id,name,lat,lon,elevation,land_cover,date,sm``;\n"
    "    ``sm`` m3 m-3; sub-daily rows are averaged per day",
    'Stations with ``sm`` (m3 m-3), cadence "daily".')
