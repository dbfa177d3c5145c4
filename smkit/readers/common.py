"""What every reader shares: errors, the I/O lock, files, days, regions, units.

Owns :class:`ReadError` (the error that names the file), :data:`IO_LOCK`,
finding a product's files, telling what a file is from its first bytes
(:func:`file_format`, :func:`check_download`: the login page, the archive not
unpacked, the empty download that every reader refuses the same way), the daily
axis, regions as bboxes and the units that mean volumetric soil moisture.

The format modules (:mod:`smkit.readers.netcdf`, :mod:`smkit.readers.raster`) and
the product readers build on these; nothing here knows a product.
"""

from __future__ import annotations

import glob
import os
import re
import shlex
import threading
import warnings
import zlib

import numpy as np
import pandas as pd
import xarray as xr

from smkit.core.grid import TIME_ATTRS, Grid
from smkit.core.schema import InputError

__all__ = [
    "IO_LOCK", "SM_UNIT_ALIASES", "ReadError", "guarded", "as_files", "day_index", "time_coord",
    "as_bbox", "extent_text", "warn_missing", "norm_units", "read_text", "SIGNATURES",
    "ARCHIVE_SUFFIXES", "EARTHDATA_LOGIN", "CDS_LOGIN", "file_format", "check_download", "unpack_command",
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
        If a named file does not exist, or nothing is found: the message names
        each folder or glob, the pattern expected, what the folders hold
        instead, and how to unpack the archives among them.
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
        raise FileNotFoundError(_nothing_found(kind, [os.fspath(f) for f in files], patterns))
    return out


def _nothing_found(kind: str, items: list[str], patterns: tuple[str, ...]) -> str:
    """The message of :func:`as_files` when nothing matched: what was expected, what was there."""
    want = " or ".join(repr(p) for p in patterns)
    parts, archives = [], []
    for item in items:
        if os.path.isdir(item):
            held = sorted(os.path.relpath(f, item) for f in glob.glob(os.path.join(item, "**", "*"),
                                                                      recursive=True)
                          if os.path.isfile(f))
            archives += [os.path.join(item, f) for f in held if f.lower().endswith(ARCHIVE_SUFFIXES)]
            shown = ", ".join(held[:8]) + (", ..." if len(held) > 8 else "")
            parts.append(f"folder {item} holds no file matching {want}: it "
                         + (f"holds {len(held)} other file(s): {shown}" if held else "is empty"))
        else:
            parts.append(f"{item!r} matches no file")
    msg = f"{kind}: " + "; ".join(parts)
    if archives:
        n = len(archives)
        msg += (f". {n} of them {'is an archive' if n == 1 else 'are archives'} not unpacked: unpack "
                f"{'it' if n == 1 else 'them'} first, e.g. {unpack_command(archives[0])}")
    else:
        msg += f". Fix: put the product's files (named like {want}) there, or list the files in 'files'"
    return msg


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


# =========================================================================== what a file is
#: First bytes of the formats smkit meets in (and around) the archives, and their names.
SIGNATURES = (
    (b"\x0e\x03\x13\x01", "HDF4"), (b"\x89HDF\r\n\x1a\n", "HDF5"), (b"CDF\x01", "NetCDF-3"),
    (b"CDF\x02", "NetCDF-3 (64-bit offset)"), (b"CDF\x05", "NetCDF-3 (64-bit data)"), (b"GRIB", "GRIB"),
    (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"), (b"II+\x00", "BigTIFF"), (b"MM\x00+", "BigTIFF"),
    (b"PK\x03\x04", "ZIP"), (b"PK\x05\x06", "ZIP"), (b"PK\x07\x08", "ZIP"), (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"), (b"\xfd7zXZ\x00", "xz"), (b"7z\xbc\xaf\x27\x1c", "7z"), (b"Rar!", "RAR"),
)
#: File-name endings of archives a download may leave packed.
ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".gz", ".tar.bz2", ".bz2", ".xz", ".7z", ".rar")
#: Where NASA's archives (LP DAAC, GES DISC) are logged in to, for the fixes of the messages.
EARTHDATA_LOGIN = ("NASA Earthdata (an ~/.netrc entry for urs.earthdata.nasa.gov, or a bearer token "
                   "for wget/curl, or earthaccess.login())")
#: Where the Copernicus Climate Data Store is logged in to (ERA5-Land, and ESA CCI SM from the CDS).
CDS_LOGIN = ("the Copernicus Climate Data Store (your API key in ~/.cdsapirc, and the dataset's "
             "licence accepted on its download page)")
_ARCHIVES = {"ZIP": "a ZIP archive (starts with 'PK')", "tar": "a tar archive",
             "tar.gz": "a gzip-compressed tar archive (.tar.gz)", "gzip": "a gzip-compressed file",
             "bzip2": "a bzip2-compressed file", "xz": "an xz-compressed file", "7z": "a 7-Zip archive",
             "RAR": "a RAR archive"}


def file_format(path) -> str | None:
    """What a file's first bytes say it is.

    Parameters
    ----------
    path : str or path
        The file.

    Returns
    -------
    str or None
        ``"empty"`` (0 bytes), ``"HTML"`` (a web page: a login or error page),
        ``"XML"``, an archive (``"ZIP"``, ``"tar"``, ``"tar.gz"``, ``"gzip"``,
        ``"bzip2"``, ``"xz"``, ``"7z"``, ``"RAR"``), a data format (``"HDF4"``,
        ``"HDF5"`` -- NetCDF-4 is HDF5 --, ``"NetCDF-3"``, ``"GRIB"``,
        ``"TIFF"``, ...; see :data:`SIGNATURES`); None when the bytes announce
        none of these (text, raw binary such as an SRTM ``.hgt``, or garbage);
        None too when the file cannot be read.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        return None
    return _format_of(head)


def _format_of(head: bytes) -> str | None:
    if not head:
        return "empty"
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "tar"
    name = next((n for sig, n in SIGNATURES if head.startswith(sig)), None)
    if name == "gzip":
        try:
            inner = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, 512)
        except zlib.error:
            inner = b""
        return "tar.gz" if inner[257:262] == b"ustar" else "gzip"
    if name is not None:
        return name
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body")) or (
            text.startswith(b"<") and b"<html" in text):
        return "HTML"
    if text.startswith(b"<?xml"):
        return "XML"
    return None


def unpack_command(path) -> str:
    """The shell command that unpacks the archive ``path`` beside itself (by its content, else its name)."""
    path = os.fspath(path)
    fmt = file_format(path)
    if fmt not in _ARCHIVES:
        low = path.lower()
        fmt = next((f for suffix, f in ((".tar.gz", "tar.gz"), (".tgz", "tar.gz"), (".zip", "ZIP"),
                                        (".tar", "tar"), (".gz", "gzip"), (".bz2", "bzip2"),
                                        (".xz", "xz"), (".7z", "7z"), (".rar", "RAR"))
                    if low.endswith(suffix)), "ZIP")
    q, folder = shlex.quote(path), shlex.quote(os.path.dirname(path) or ".")
    if fmt in ("gzip", "bzip2", "xz"):
        tool = {"gzip": "gunzip", "bzip2": "bunzip2", "xz": "unxz"}[fmt]
        ext = {"gzip": ".gz", "bzip2": ".bz2", "xz": ".xz"}[fmt]
        if path.lower().endswith(ext):
            return f"{tool} {q}"
        return f"mv {q} {shlex.quote(path + ext)} && {tool} {shlex.quote(path + ext)}"
    return {"ZIP": f"unzip {q} -d {folder}", "tar": f"tar -xf {q} -C {folder}",
            "tar.gz": f"tar -xzf {q} -C {folder}", "7z": f"7z x {q} -o{folder}",
            "RAR": f"unrar x {q} {folder}"}[fmt]


def check_download(path, kind: str, expected: str, *, login: str | None = None,
                   noun: str = "file") -> str | None:
    """Refuse what a download leaves in place of a data file; return the file's format.

    The shared first check of every reader: an empty file, an HTML page (the
    login page a download without credentials saves under the data file's
    name), an XML error message, or an archive not unpacked (ZIP, tar, tar.gz,
    gzip ...) raises a :class:`ReadError` that names the file, says what it is
    and gives the fix. Other formats are returned for the reader to judge.

    Parameters
    ----------
    path : str or path
        The file.
    kind : str
        The product, for the message.
    expected : str
        What the file should be (e.g. ``"NetCDF-4/HDF5"``, ``"HDF4"``, ``"CSV"``).
    login : str, optional
        Where the archive is logged in to (e.g. :data:`EARTHDATA_LOGIN`): the
        fix of a login page or an empty download. None for open archives.
    noun : str, default "file"
        What the product's files are called (``"granule"``, ``"tile"``).

    Returns
    -------
    str or None
        :func:`file_format` of the file.

    Raises
    ------
    ReadError
        If the file cannot be read, is empty, a web page, or an archive.
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError as err:
        raise ReadError(path, kind, None, f"cannot be read ({err})",
                        "check the path and its permissions") from err
    fmt = _format_of(head)
    an = "an" if expected[:1].lower() in "aeiouh" else "a"
    again = f"download the {noun} again" + (f", logged in to {login}" if login else "")
    if fmt == "empty":
        raise ReadError(path, kind, None, f"is empty (0 bytes), not {an} {expected} {noun}: an empty "
                        "file is what an interrupted or refused download leaves", again)
    if fmt in ("HTML", "XML"):
        first = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:15].decode("ascii", "replace")
        what = ("an HTML page (a login page?)" if login else "an HTML page (an error or download "
                "page?)") if fmt == "HTML" else "an XML document (a server's error message?)"
        why = (" most likely the login page, saved because the download had no credentials"
               if login else " the server's answer, saved in place of the data")
        fix = (f"log in to {login} and download the {noun} again" if login else
               f"download the {noun} again from the archive's data link (not the page that links to it)")
        raise ReadError(path, kind, None, f"is {what}, not {an} {expected} {noun}: it starts like no "
                        f"format smkit reads but with {first!r}, as a web page does:{why}", fix)
    if fmt in _ARCHIVES:
        raise ReadError(path, kind, None, f"is {_ARCHIVES[fmt]}, not unpacked: not {an} {expected} "
                        f"{noun}", f"unpack it first: {unpack_command(path)}, and give smkit the "
                        f"{expected} {noun}s inside")
    return fmt
