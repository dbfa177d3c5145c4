"""What every reader shares: errors, the I/O lock, files, days, regions, units.

Owns :class:`ReadError` (the error that names the file), :data:`IO_LOCK`,
finding a product's files, the daily axis, regions as bboxes and the units that
mean volumetric soil moisture.

The format modules (:mod:`smkit.readers.netcdf`, :mod:`smkit.readers.raster`) and
the product readers build on these; nothing here knows a product.
"""

from __future__ import annotations

import glob
import os
import re
import threading
import warnings

import numpy as np
import pandas as pd
import xarray as xr

from smkit.core.grid import TIME_ATTRS, Grid
from smkit.core.schema import InputError

__all__ = [
    "IO_LOCK", "SM_UNIT_ALIASES", "ReadError", "guarded", "as_files", "day_index", "time_coord",
    "as_bbox", "extent_text", "warn_missing", "norm_units", "read_text",
]

#: Units strings that mean volumetric soil moisture (m3 m-3), after :func:`norm_units`.
SM_UNIT_ALIASES = {"m3 m-3", "m3/m3", "m^3 m^-3", "m**3 m**-3", "m3m-3", "cm3 cm-3", "cm3/cm3"}
#: Every file is read under this lock: the netCDF4 C library is not thread-safe, and
#: rasterio/rioxarray enter ``warnings.catch_warnings`` (which is not thread-safe
#: either) around their calls, so that concurrent reads can swallow all later warnings.
IO_LOCK = threading.RLock()


class ReadError(InputError):
    """A source file cannot be read into smkit's data model.

    A subclass of :class:`smkit.core.schema.InputError` whose message starts with the
    file. Attributes ``path``, ``kind``, ``variable``, ``problem`` and ``fix``.
    """

    def __init__(self, path, kind: str, variable: str | None, problem: str, fix: str = ""):
        self.path = str(path)
        self.kind, self.variable, self.problem, self.fix = kind, variable, problem, fix
        what = f", variable '{variable}'" if variable else ""
        msg = f"{self.path}: {kind} file{what}: {problem}"
        ValueError.__init__(self, msg + (f". Fix: {fix}" if fix else ""))

    def __reduce__(self):
        return type(self), (self.path, self.kind, self.variable, self.problem, self.fix)


def guarded(func, path, kind: str, variable: str | None, *args, **kwargs):
    """Call ``func(*args, **kwargs)``; any failure but a :class:`ReadError` becomes one naming ``path``.

    Parameters
    ----------
    func : callable
        What reads the file.
    path : str
        The file, for the message.
    kind : str
        The product (e.g. ``"SRTM"``), for the message.
    variable : str or None
        The variable or layer being read, for the message.

    Returns
    -------
    object
        What ``func`` returns.
    """
    try:
        return func(*args, **kwargs)
    except ReadError:
        raise
    except Exception as err:  # noqa: BLE001 - re-raised with the file named
        raise ReadError(path, kind, variable, f"reading failed ({type(err).__name__}: {err}); "
                        "the file is probably corrupt or truncated",
                        "download the file again") from err


def as_files(files, kind: str, pattern: str | tuple[str, ...] = "*") -> list[str]:
    """Sorted unique paths from a path, a folder (searched with ``pattern``), a glob or a list.

    Parameters
    ----------
    files : str, path, or sequence of them
        Files, folders (searched recursively) or globs.
    kind : str
        The product, for the messages.
    pattern : str or tuple of str, default "*"
        File name pattern(s) searched for inside folders.

    Returns
    -------
    list of str
        The files found.

    Raises
    ------
    FileNotFoundError
        If a named file does not exist, or nothing is found.
    """
    if isinstance(files, (str, os.PathLike)):
        files = [files]
    patterns = (pattern,) if isinstance(pattern, str) else tuple(pattern)
    out: list[str] = []
    for item in files:
        item = os.fspath(item)
        if os.path.isdir(item):
            found = [f for pat in patterns
                     for f in glob.glob(os.path.join(item, "**", pat), recursive=True)]
        elif glob.has_magic(item):
            found = glob.glob(item, recursive=True)
        else:
            if not os.path.exists(item):
                raise FileNotFoundError(f"{kind}: no such file: {item}")
            found = [item]
        out += [f for f in found if os.path.isfile(f)]
    out = sorted(set(out))
    if not out:
        raise FileNotFoundError(f"{kind}: no files found in {list(map(str, files))} "
                                f"(pattern {pattern!r} in folders)")
    return out


def day_index(time) -> pd.DatetimeIndex | None:
    """The distinct days (midnight, ascending) of ``time``, or None for None."""
    if time is None:
        return None
    t = pd.DatetimeIndex(np.asarray(time, dtype="datetime64[ns]")).normalize()
    return t.drop_duplicates().sort_values()


def time_coord(times) -> xr.Variable:
    """A CF ``time`` coordinate (``datetime64[ns]``) of ``times``."""
    return xr.Variable("time", pd.DatetimeIndex(times).values.astype("datetime64[ns]"), TIME_ATTRS)


def as_bbox(bbox) -> tuple[float, float, float, float] | None:
    """``(west, south, east, north)`` in degrees from a Grid, a 4-sequence or None.

    Raises
    ------
    ValueError
        If west is not below east or south not below north.
    """
    if bbox is None:
        return None
    if isinstance(bbox, Grid):
        return bbox.lon0, bbox.lat0, bbox.lon1, bbox.lat1
    w, s, e, n = (float(v) for v in bbox)
    if not (w < e and s < n):
        raise ValueError(f"bbox must be (west, south, east, north) with west < east and "
                         f"south < north, got {bbox}")
    return w, s, e, n


def extent_text(grid: Grid) -> str:
    """The grid's extent for messages: ``"lon W..E, lat S..N"`` (degrees)."""
    return f"lon {grid.lon0:g}..{grid.lon1:g}, lat {grid.lat0:g}..{grid.lat1:g}"


def warn_missing(kind: str, missing: pd.DatetimeIndex, what: str = "day"):
    """Warn that the ``missing`` days (or months) of the period have no file: they are NaN.

    The warning points two frames above the caller (``stacklevel=3``).
    """
    if len(missing):
        shown = ", ".join(str(d.date()) for d in missing[:5])
        shown += ", ..." if len(missing) > 5 else ""
        warnings.warn(f"{kind}: no file for {len(missing)} {what}(s) of the period ({shown}); "
                      "they are NaN", UserWarning, stacklevel=3)


def norm_units(u) -> str:
    """A units attribute lower-cased with single spaces ("" for None), to compare with known units."""
    return re.sub(r"\s+", " ", str(u).strip().lower()) if u is not None else ""


def read_text(path: str, kind: str, problem: str, fix: str, *, first_line: bool = False,
              **open_kwargs) -> str:
    """The text of a file (or only its first line), or a ReadError naming it.

    Parameters
    ----------
    path : str
        The file.
    kind : str
        The format, for the message.
    problem, fix : str
        The message's problem (``{err}`` stands for the error) and fix.
    first_line : bool, default False
        Read only the first line.
    **open_kwargs
        For :func:`open` (``encoding``, ``errors``, ``newline``).

    Raises
    ------
    ReadError
        If the file cannot be opened or decoded.
    """
    try:
        with open(path, **open_kwargs) as f:
            return f.readline() if first_line else f.read()
    except (OSError, UnicodeDecodeError) as err:
        raise ReadError(path, kind, None, problem.format(err=err), fix) from err
