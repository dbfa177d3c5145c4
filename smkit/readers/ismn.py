"""ISMN station files (``header+values`` format): in-situ ``sm`` of the stations group.

Owns the format's file names, header line and value lines (parsed by the
``ismn`` package when installed, else by smkit's own parser), its quality flags
and the daily mean over a station's sensors.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from smkit.readers.common import ReadError, as_files, check_download, guarded, read_text
from smkit.readers.stations import Station, stations_dataset

__all__ = ["GOOD_FLAGS", "ISMN_LOGIN", "read_ismn"]

_ISMN_NAME = re.compile(r"_(?P<var>[a-z]+)_(?P<d0>-?\d+\.\d+)_(?P<d1>-?\d+\.\d+)_"
                        r"(?P<sensor>.+)_(?P<start>\d{8})_(?P<end>\d{8})\.stm$")


def _ismn_header(path: str) -> dict:
    kind = "ISMN"
    first = read_text(path, kind, "cannot be read as text ({err}): corrupt file",
                      "download the file again", first_line=True, encoding="ascii", errors="strict")
    tok = first.split()
    if len(tok) < 8:
        raise ReadError(path, kind, None, f"the header line {first.strip()[:80]!r} has {len(tok)} "
                        "field(s), not the 'CSE network station lat lon elevation depth_from depth_to "
                        "sensor' of the ISMN header+values format",
                        "download the data in 'header+values' format")
    try:
        lat, lon, elev, d0, d1 = (float(t) for t in tok[3:8])
    except ValueError as err:
        raise ReadError(path, kind, None, f"the header line has non-numeric coordinates/depths: "
                        f"{first.strip()!r}",
                        "download the data in 'header+values' format") from err
    return {"network": tok[1], "station": tok[2], "lat": lat, "lon": lon, "elevation": elev,
            "depth_from": d0, "depth_to": d1, "sensor": " ".join(tok[8:]).strip("'")}


def _ismn_values_builtin(path: str) -> pd.DataFrame:
    kind = "ISMN"
    rows = []
    with open(path, encoding="ascii", errors="replace") as f:
        next(f)
        for k, line in enumerate(f, start=2):
            tok = line.split()
            if not tok:
                continue
            if len(tok) < 4:
                raise ReadError(path, kind, "sm", f"line {k} has {len(tok)} field(s) "
                                f"({line.strip()!r}); expected 'YYYY/MM/DD HH:MM value flag ...': "
                                "truncated file?",
                                "download the file again")
            rows.append((tok[0] + " " + tok[1], tok[2], tok[3]))
    if not rows:
        raise ReadError(path, kind, "sm", "has a header but no values: truncated file?",
                        "download the file again")
    df = pd.DataFrame(rows, columns=["time", "value", "flag"])
    t = pd.to_datetime(df["time"], format="%Y/%m/%d %H:%M", errors="coerce")
    v = pd.to_numeric(df["value"], errors="coerce")
    bad = t.isna() | v.isna()
    if bad.any():
        k = int(np.flatnonzero(bad.to_numpy())[0])
        raise ReadError(path, kind, "sm", f"line {k + 2} cannot be parsed ({' '.join(rows[k])!r}): "
                        "corrupt or truncated file?", "download the file again")
    return pd.DataFrame({"value": v.to_numpy(float), "flag": df["flag"].to_numpy(str)},
                        index=pd.DatetimeIndex(t))


def _ismn_values_package(path: str) -> pd.DataFrame:
    from ismn.filehandlers import DataFile

    p = Path(path)
    f = DataFile(str(p.parent), p.name)
    df = f.read_data()
    var = [c for c in df.columns if not c.endswith("_flag")]
    flag = [c for c in df.columns if c.endswith("_flag") and not c.endswith("orig_flag")]
    no_flag = df[flag[0]].isna().to_numpy() if flag else np.zeros(len(df), bool)
    if no_flag.any():
        k = int(np.flatnonzero(no_flag)[0])
        raise ReadError(path, "ISMN", "sm", f"the value of {df.index[k]} (line {k + 2}) has no ISMN "
                        "quality flag: truncated file?", "download the file again")
    out = pd.DataFrame({"value": pd.to_numeric(df[var[0]], errors="coerce").to_numpy(float),
                        "flag": df[flag[0]].astype(str).to_numpy()},
                       index=pd.DatetimeIndex(df.index))
    if out["value"].isna().any() or out.index.isna().any() or not len(out):
        raise ReadError(path, "ISMN", "sm", "has lines that cannot be parsed: corrupt or "
                        "truncated file?", "download the file again")
    return out


def _ismn_engine(engine: str) -> str:
    if engine not in ("auto", "ismn", "builtin"):
        raise ValueError(f"engine must be 'auto', 'ismn' or 'builtin', not {engine!r}")
    if engine == "auto":
        try:
            import ismn.filehandlers  # noqa: F401
        except ImportError:
            return "builtin"
        return "ismn"
    return engine


#: Where ISMN downloads are logged in to, for the messages.
ISMN_LOGIN = "ismn.earth (the data viewer's downloads need a free account)"
#: ISMN quality flags kept by default: ``G`` (good) and ``U`` (unknown: the network's values not
#: checked by ISMN, the flag many networks' downloads carry throughout). ``C01``-``C03`` (outside
#: the plausible range: below 0, above 0.6 m3 m-3, above saturation), ``D..`` (dubious) and ``M``
#: (missing) are dropped.
GOOD_FLAGS = ("G", "U")


def read_ismn(files, *, time=None, good_flags: Sequence[str] = GOOD_FLAGS, max_depth: float = 0.10,
              engine: str = "auto", cadence: str = "daily") -> xr.Dataset:
    """Read ISMN station files (``header+values`` format) into a stations dataset.

    An ISMN ``.stm`` file
    (``NETWORK_NETWORK_STATION_sm_0.050000_0.050000_SENSOR_YYYYMMDD_YYYYMMDD.stm``)
    holds one sensor: a header line ``CSE network station lat lon elevation
    depth_from depth_to sensor`` (degrees, m, m), then one line per
    measurement ``YYYY/MM/DD HH:MM value ISMN_flag provider_flag`` with soil
    moisture in m3 m-3 and ISMN quality flags (``G`` good; ``U`` unknown, not
    checked; ``C..`` outside the plausible range; ``D..`` dubious; ``M``
    missing). Values with a flag outside ``good_flags`` are dropped (with a
    warning counting them per flag when a file loses all its values); the rest
    are averaged per day and over the station's sensors down to ``max_depth``.

    Parameters
    ----------
    files : str, path, or sequence of them
        Files, folders (searched for ``*_sm_*.stm``) or globs; files of other
        variables are skipped.
    time : array-like of dates, optional
        Daily axis of the result. Default: the days with data.
    good_flags : sequence of str, default :data:`GOOD_FLAGS` (``G``, ``U``)
        ISMN flags of the values kept (a value with several flags, e.g.
        ``D01,D03``, needs all of them in this list).
    max_depth : float, default 0.10
        Deepest sensor bottom kept, m.
    engine : {"auto", "ismn", "builtin"}
        Parse with the ``ismn`` package when installed ("auto") or with
        smkit's own parser of the same format.
    cadence : str, default "daily"
        Observing period recorded for the stations.

    Returns
    -------
    xarray.Dataset
        ``sm`` (m3 m-3, float32), dims (station, time), coords ``name``,
        ``station_id``, ``network`` (the ISMN network), ``cadence``, ``lat``,
        ``lon``, ``elevation`` (m), ``land_cover`` ("unknown").

    Raises
    ------
    ReadError
        Naming the file: not in header+values format, or a truncated or
        corrupt line.
    """
    kind = "ISMN"
    engine = _ismn_engine(engine)
    paths = as_files(files, kind, "*_sm_*.stm")
    good = set(good_flags)
    series: dict[tuple, dict] = {}
    skipped = []
    for p in paths:
        fmt = check_download(p, kind, "ISMN header+values text", login=ISMN_LOGIN)
        if fmt is not None:
            raise ReadError(p, kind, None, f"is a {fmt} file, not ISMN header+values text",
                            "download the data from ismn.earth in 'header+values' format")
        m = _ISMN_NAME.search(os.path.basename(p))
        if m is None:
            raise ReadError(p, kind, None, "the file name does not follow the ISMN pattern "
                            "NETWORK_NETWORK_STATION_VAR_DEPTHFROM_DEPTHTO_SENSOR_START_END.stm",
                            "keep the archive's file names")
        if m.group("var") != "sm":
            skipped.append(f"{m.group('var')} {os.path.basename(p)}")
            continue
        head = _ismn_header(p)
        if head["depth_to"] > max_depth + 1e-9:
            skipped.append(f"sm down to {head['depth_to']:g} m {os.path.basename(p)}")
            continue
        df = guarded(_ismn_values_package if engine == "ismn" else _ismn_values_builtin,
                      p, kind, "sm", p)
        ok = df["flag"].map(lambda f: set(str(f).split(",")) <= good).to_numpy(bool)
        if len(df) and not ok.any():
            counts = df["flag"].astype(str).value_counts().to_dict()
            warnings.warn(f"{kind}: every one of the {len(df)} values of {os.path.basename(p)} has a flag "
                          f"outside good_flags={sorted(good)} (flags: {counts}); the file adds no data. Pass "
                          "good_flags=... to keep them", UserWarning, stacklevel=2)
        daily = df["value"][ok].groupby(df.index[ok].normalize()).mean()
        key = (head["network"], head["station"])
        rec = series.setdefault(key, {"head": head, "series": [], "files": []})
        for c in ("lat", "lon"):
            if abs(rec["head"][c] - head[c]) > 1e-3:
                raise ReadError(p, kind, c, f"station {key[1]} has {c} {head[c]:g} here but "
                                f"{rec['head'][c]:g} in {rec['files'][0]}", "check the files")
        rec["series"].append(daily)
        rec["files"].append(p)
    if skipped:
        warnings.warn(f"{kind}: skipped {len(skipped)} file(s) of other variables or deeper than "
                      f"{max_depth:g} m", UserWarning, stacklevel=2)
    if not series:
        shown = "; ".join(skipped[:5]) + ("; ..." if len(skipped) > 5 else "")
        raise FileNotFoundError(f"{kind}: no soil moisture (sm) file down to {max_depth:g} m among "
                                f"{len(paths)} file(s) ({', '.join(paths[:3])}"
                                f"{', ...' if len(paths) > 3 else ''}); found: {shown}. Fix: download "
                                "the variable 'soil moisture' of the stations, or raise max_depth")
    stations = []
    for (net, name), rec in sorted(series.items()):
        sm = pd.concat(rec["series"], axis=1).mean(axis=1) if rec["series"] else None
        h = rec["head"]
        stations.append(Station(name, net, h["lat"], h["lon"], h["elevation"], "unknown", cadence,
                                 f"{net}/{name}", sm=sm, files=rec["files"]))
    return stations_dataset(stations, time, f"ISMN ({engine} parser)")
