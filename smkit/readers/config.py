"""The ingestion configuration (``sources.yaml``): reading it and checking every key.

Owns :func:`load_config`, its defaults and checks (region snapped to whole coarse
cells, period, chunks, each source's files and reader options against the
readers of :mod:`smkit.readers.registry`), :class:`ConfigError`, and the
resolution of a source's files against the configuration's root.
"""

from __future__ import annotations

import inspect
import os
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from smkit.core.grid import Grid, nesting_factor
from smkit.readers.common import ReadError, as_files, check_download
from smkit.readers.registry import REQUIRED_SOURCES, SOURCES, STATION_FORMATS

__all__ = ["ConfigError", "load_config", "resolve_files"]

_TOP_KEYS = {"region", "period", "sources", "root", "chunks", "validate", "stations_outside"}


class ConfigError(ValueError):
    """An ingestion configuration (``sources.yaml``) is invalid; the message says where."""


def _reader_options(reader) -> set[str]:
    sig = inspect.signature(reader)
    return {p.name for p in sig.parameters.values()
            if p.kind == p.KEYWORD_ONLY and p.name not in ("time",)}


def _check_options(where: str, reader, opts: Mapping):
    allowed = _reader_options(reader)
    unknown = sorted(set(opts) - allowed)
    if unknown:
        raise ConfigError(f"{where}: unknown option(s) {unknown} for {reader.__name__}; valid: "
                          f"{sorted(allowed) + ['files']}")


def load_config(config) -> dict:
    """Read and check an ingestion configuration.

    Parameters
    ----------
    config : str, Path or mapping
        A ``sources.yaml`` path or the same content as a mapping (see
        ``docs/data-sources.md``).

    Returns
    -------
    dict
        The configuration with defaults filled in: ``region`` (``bbox``
        west, south, east, north in degrees, snapped outwards to whole coarse
        cells; ``coarse_res`` 0.25 and ``fine_res`` 0.01 degrees), ``period``
        (``start``, ``end`` as ISO dates), ``root`` (folder of relative
        paths: the YAML's folder or the working directory), ``chunks``
        (``time`` days, ``space`` fine pixels), ``validate``,
        ``stations_outside`` and ``sources``.

    Raises
    ------
    ConfigError
        Naming the key at fault.
    """
    raw, base = _read_mapping(config)
    region = _region(raw["region"])
    start, end = _period(raw["period"])
    chunks = {"time": 8, "space": 500, **dict(raw.get("chunks") or {})}
    if set(chunks) - {"time", "space"} or any(int(v) < 1 for v in chunks.values()):
        raise ConfigError(f"chunks takes positive 'time' (days) and 'space' (pixels), got {chunks}")
    outside = raw.get("stations_outside", "drop")
    if outside not in ("drop", "raise", "keep"):
        raise ConfigError(f"stations_outside must be drop, raise or keep, not {outside!r}")
    root = Path(raw.get("root") or base)
    if not root.is_absolute():
        root = (base / root).resolve()
    return {
        "region": region,
        "period": {"start": str(start.date()), "end": str(end.date())},
        "root": str(root), "chunks": {k: int(v) for k, v in chunks.items()},
        "validate": bool(raw.get("validate", True)), "stations_outside": outside,
        "sources": _sources(raw["sources"]),
    }


def _read_mapping(config) -> tuple[dict, Path]:
    """The configuration's top-level mapping (its keys checked) and the folder of relative paths."""
    import yaml

    base = Path.cwd()
    if isinstance(config, (str, os.PathLike)):
        path = Path(config)
        if not path.exists():
            raise FileNotFoundError(f"no configuration file {path}")
        try:
            fmt = check_download(path, "configuration", "YAML")
        except ReadError as err:
            raise ConfigError(str(err)) from None
        if fmt is not None:
            raise ConfigError(f"{path}: configuration file: is a {fmt} file, not YAML text. Fix: give "
                              "the sources.yaml (see docs/sources.example.yaml)")
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError as err:
            raise ConfigError(f"{path}: configuration file: is not UTF-8 text ({err}). Fix: save it "
                              "as UTF-8 YAML") from None
        except yaml.YAMLError as err:
            raise ConfigError(f"{path}: not valid YAML: {err}") from err
        base = path.resolve().parent
    else:
        raw = config
    if not isinstance(raw, Mapping):
        where = f"{config}: " if isinstance(config, (str, os.PathLike)) else ""
        raise ConfigError(f"{where}the configuration must be a mapping with keys region, period, "
                          f"sources; found {type(raw).__name__}"
                          + (" (an empty file)" if raw is None else ""))
    raw = dict(raw)
    unknown = sorted(set(raw) - _TOP_KEYS)
    if unknown:
        raise ConfigError(f"unknown top-level key(s) {unknown}; valid: {sorted(_TOP_KEYS)}")
    for key in ("region", "period", "sources"):
        if key not in raw:
            raise ConfigError(f"missing top-level key '{key}'")
    return raw, base


def _region(raw) -> dict:
    """``region`` checked: bbox snapped outwards to whole coarse cells (with a warning), resolutions."""
    region = dict(raw or {})
    bad = sorted(set(region) - {"bbox", "coarse_res", "fine_res"})
    if bad:
        raise ConfigError(f"region: unknown key(s) {bad}; valid: bbox, coarse_res, fine_res")
    if "bbox" not in region:
        raise ConfigError("region: missing 'bbox' [west, south, east, north] (degrees)")
    try:
        w, s, e, n = (float(v) for v in region["bbox"])
    except (TypeError, ValueError):
        raise ConfigError(f"region.bbox must be four numbers [west, south, east, north], got "
                          f"{region['bbox']!r}") from None
    if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
        raise ConfigError(f"region.bbox {[w, s, e, n]} is not west < east in -180..180 and "
                          "south < north in -90..90")
    cres = float(region.get("coarse_res", 0.25))
    fres = float(region.get("fine_res", 0.01))
    snapped = [np.floor(w / cres + 1e-9) * cres, np.floor(s / cres + 1e-9) * cres,
               np.ceil(e / cres - 1e-9) * cres, np.ceil(n / cres - 1e-9) * cres]
    snapped = [float(np.round(v, 8)) for v in snapped]
    if not np.allclose(snapped, [w, s, e, n]):
        warnings.warn(f"region.bbox {[w, s, e, n]} snapped outwards to whole {cres:g}-degree "
                      f"cells: {snapped}", UserWarning, stacklevel=3)
    coarse = Grid(snapped[0], snapped[2], snapped[1], snapped[3], cres)
    try:
        nesting_factor(coarse, coarse.with_res(fres))
    except ValueError as err:
        raise ConfigError(f"region: fine_res {fres:g} does not nest in coarse_res {cres:g}: "
                          f"{err}") from None
    return {"bbox": snapped, "coarse_res": cres, "fine_res": fres}


def _period(raw) -> tuple[pd.Timestamp, pd.Timestamp]:
    """``period``'s start and end dates, checked."""
    period = dict(raw or {})
    try:
        start, end = pd.Timestamp(period["start"]), pd.Timestamp(period["end"])
    except (KeyError, ValueError, TypeError):
        raise ConfigError("period needs 'start' and 'end' dates (YYYY-MM-DD), "
                          f"got {period!r}") from None
    if end < start:
        raise ConfigError(f"period: end {end.date()} is before start {start.date()}")
    return start, end


def _sources(raw) -> dict:
    """``sources`` checked against the registry: known keys, the required ones, each one's spec."""
    sources = dict(raw or {})
    unknown = sorted(set(sources) - set(SOURCES))
    if unknown:
        raise ConfigError(f"sources: unknown source(s) {unknown}; valid: {list(SOURCES)}")
    missing = [k for k in REQUIRED_SOURCES if k not in sources]
    if missing:
        raise ConfigError(f"sources: missing required source(s) {missing} (the cube needs coarse "
                          "sm and the five fine covariates)")
    return {key: _station_entries(spec) if key == "stations" else _source_spec(key, spec)
            for key, spec in sources.items()}


def _station_entries(spec) -> list[dict]:
    """``sources.stations``: one entry or a list, each with a known ``format``, ``files`` and options."""
    entries = spec if isinstance(spec, list) else [spec]
    out = []
    for i, ent in enumerate(entries):
        ent = dict(ent or {})
        fmt = str(ent.pop("format", "")).lower()
        if fmt not in STATION_FORMATS:
            raise ConfigError(f"sources.stations[{i}]: 'format' must be one of "
                              f"{list(STATION_FORMATS)}, got {fmt!r}")
        if "files" not in ent:
            raise ConfigError(f"sources.stations[{i}]: missing 'files'")
        _check_options(f"sources.stations[{i}]", STATION_FORMATS[fmt][0],
                       {k: v for k, v in ent.items() if k != "files"})
        out.append({"format": fmt, **ent})
    return out


def _source_spec(key: str, spec) -> dict:
    """``sources.<key>``: its ``files`` (a bare folder, glob or list stands for them) and options."""
    spec = {"files": spec} if isinstance(spec, (str, list)) else dict(spec or {})
    if "files" not in spec:
        raise ConfigError(f"sources.{key}: missing 'files' (a folder, glob or list of them)")
    _check_options(f"sources.{key}", SOURCES[key][0],
                   {k: v for k, v in spec.items() if k != "files"})
    return spec


def resolve_files(spec_files, root: str, pattern, where: str) -> list[str]:
    """The files a source's ``files`` stand for, relative paths taken from ``root``.

    Parameters
    ----------
    spec_files : str or list of str
        Files, folders or globs, as in the configuration (``~`` expanded).
    root : str
        Folder of relative paths (``load_config(...)["root"]``).
    pattern : str or tuple of str
        File pattern searched for in folders (see :data:`smkit.readers.registry.SOURCES`).
    where : str
        The configuration key, for the message.

    Returns
    -------
    list of str
        Sorted files.

    Raises
    ------
    ConfigError
        If nothing is found.
    """
    items = spec_files if isinstance(spec_files, list) else [spec_files]
    absolute = [os.path.join(root, os.path.expanduser(str(i))) for i in items]
    try:
        return as_files(absolute, where, pattern)
    except FileNotFoundError as err:
        raise ConfigError(str(err)) from None
