"""CF-1.11 and ACDD-1.3 metadata of a product, so that GIS tools and CF readers understand it.

:func:`cf_product` gives a product (``sm(model, time, lat, lon)`` in m3 m-3 on a
regular latitude/longitude grid) what CF and ACDD ask for and what smkit knows:
the ``crs`` grid mapping (EPSG:4326, written by rioxarray), cell bounds, axis and
standard names, the model descriptions, and the discovery attributes (title,
summary, coverage in time and space, version, keywords, references). It never
invents a creator, an institution or a licence.

The wall-clock time (``date_created`` and the ``history`` line) is stamped only
when a product is written (its store created, or exported), so two runs with
the same inputs still give identical datasets in memory.

Examples
--------
>>> import numpy as np, pandas as pd, xarray as xr
>>> ds = xr.Dataset({"sm": (("model", "time", "lat", "lon"), np.zeros((1, 2, 2, 3), np.float32),
...                         {"units": "m3 m-3"})},
...                 coords={"model": ["rf"], "time": pd.date_range("2009-07-01", periods=2),
...                         "lat": [37.005, 37.015], "lon": [99.005, 99.015, 99.025]})
>>> out = cf_product(ds)
>>> out.attrs["Conventions"], out["sm"].attrs["grid_mapping"], out.attrs["geospatial_lat_min"]
('CF-1.11, ACDD-1.3', 'crs', 37.0)
>>> out["lat_bnds"].values[0].tolist(), int(out["crs"].attrs["epsg_code"].split(":")[1])
([37.0, 37.01], 4326)
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import xarray as xr

from smkit import __version__
from smkit.core.grid import LAT_ATTRS, LON_ATTRS, TIME_ATTRS
from smkit.core.vocabulary import MODEL_DESCRIPTIONS, SM_STANDARD_NAME

__all__ = [
    "BOUNDS_DIM",
    "CF_VERSION",
    "CONVENTIONS",
    "GRID_MAPPING",
    "PROVENANCE_ATTRS",
    "REFERENCES",
    "cf_product",
    "crs_variable",
    "now_iso",
]

#: The CF version smkit's products and cubes follow.
CF_VERSION = "CF-1.11"
#: A product's ``Conventions`` attribute.
CONVENTIONS = f"{CF_VERSION}, ACDD-1.3"
#: Name of the grid-mapping variable (EPSG:4326) every gridded variable points to.
GRID_MAPPING = "crs"
#: Dimension of the cell-bounds variables ``lat_bnds(lat, bnds)`` and ``lon_bnds(lon, bnds)``.
BOUNDS_DIM = "bnds"
#: Attributes stamped with the wall-clock time when a product is written; they differ between two stores
#: of the same product.
PROVENANCE_ATTRS = ("date_created", "history")
#: The method smkit implements.
REFERENCES = ("Liu et al., Downscaling satellite-derived soil moisture in the Three North region using "
              "ensemble machine learning and multiple-source knowledge integration (windowed ensemble "
              "machine learning merged by Bayesian model averaging)")
_KEYWORDS = ("soil moisture, surface soil moisture, downscaling, machine learning, ensemble learning, "
             "random forest, multiple linear regression, support vector regression, XGBoost, "
             "Bayesian model averaging, EARTH SCIENCE > LAND SURFACE > SOILS > SOIL MOISTURE/WATER CONTENT")
_SM_COMMENT = ("volumetric water content of the surface soil layer (about 0-5 cm), the layer the coarse "
               "satellite retrieval senses (as in ESA CCI SM)")
#: coverage_content_type of the per-cell diagnostics.
_DIAGNOSTIC_CONTENT = {"window_flag": "qualityInformation", "clipped": "qualityInformation"}


def now_iso() -> str:
    """The current UTC time as ISO 8601 to the second, e.g. ``2026-12-04T20:15:03Z``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@functools.cache
def _crs_attrs() -> dict:
    import rioxarray  # noqa: F401  (registers .rio)

    probe = xr.Dataset(coords={"lat": [0.5, 1.5], "lon": [0.5, 1.5]})
    attrs = dict(probe.rio.write_crs("EPSG:4326", grid_mapping_name=GRID_MAPPING)[GRID_MAPPING].attrs)
    attrs.pop("GeoTransform", None)  # the coordinates say where the pixels are
    return {**attrs, "epsg_code": "EPSG:4326", "long_name": "coordinate reference system (WGS 84)"}


def crs_variable() -> xr.DataArray:
    """The scalar grid-mapping variable of EPSG:4326 (WGS 84 latitude/longitude).

    Its attributes are those rioxarray's ``write_crs`` writes (``grid_mapping_name``
    ``latitude_longitude``, the ellipsoid, ``crs_wkt`` and GDAL's ``spatial_ref``), plus
    ``epsg_code``.

    Returns
    -------
    xarray.DataArray
        A 0-d int32 array named ``crs``.
    """
    return xr.DataArray(np.int32(0), attrs=_crs_attrs(), name=GRID_MAPPING)


def _edges(centres: np.ndarray) -> np.ndarray:
    """Cell bounds ``(n, 2)`` of ascending or descending centres: halfway to each neighbour."""
    c = np.asarray(centres, dtype=np.float64)
    mid = (c[1:] + c[:-1]) / 2
    edges = np.concatenate([[c[0] - (mid[0] - c[0])], mid, [c[-1] + (c[-1] - mid[-1])]])
    return np.round(np.stack([edges[:-1], edges[1:]], axis=1), 10)


def _regular_axis(ds: xr.Dataset, name: str) -> bool:
    return name in ds.coords and ds[name].ndim == 1 and ds[name].dims == (name,) and ds.sizes[name] >= 2


def _coordinates(out: xr.Dataset) -> None:
    """Axis, standard names and bounds of lat/lon/time; coarse-cell and model coordinates described."""
    for name, attrs, axis in (("lat", LAT_ATTRS, "Y"), ("lon", LON_ATTRS, "X")):
        if name not in out.coords:
            continue
        out[name].attrs.update({**attrs, "axis": axis})
        if _regular_axis(out, name):
            bounds_attrs = {"long_name": f"{attrs['long_name']} cell bounds", "units": attrs["units"]}
            out[f"{name}_bnds"] = ((name, BOUNDS_DIM), _edges(out[name].values), bounds_attrs)
            out[name].attrs["bounds"] = f"{name}_bnds"
            out[f"{name}_bnds"].encoding["_FillValue"] = None
        out[name].encoding["_FillValue"] = None
    for name, what in (("clat", "latitude"), ("clon", "longitude")):
        if name in out.coords:  # not a CF latitude/longitude: the fine grid's lat/lon are the dataset's ones
            unit = "north" if what == "latitude" else "east"
            out[name].attrs = {"long_name": f"coarse-cell centre {what} (degrees {unit})"}
            out[name].encoding["_FillValue"] = None
    if "time" in out.coords and np.issubdtype(out["time"].dtype, np.datetime64):
        out["time"].attrs.update({**TIME_ATTRS, "axis": "T"})
    if "model" in out.coords:
        models = [str(m) for m in np.atleast_1d(out["model"].values)]
        out["model"].attrs.update({
            "long_name": "model: a learner, or the Bayesian model average of the learners",
            "models_long_name": "; ".join(f"{m}: {MODEL_DESCRIPTIONS.get(m, m)}" for m in models),
        })


def _variables(out: xr.Dataset) -> None:
    """Standard name, grid mapping and content type of every variable; UDUNITS units."""
    for name, var in out.data_vars.items():
        if name == GRID_MAPPING or str(name).endswith("_bnds"):
            continue
        var.encoding.pop("grid_mapping", None)  # one place: the attribute
        if {"lat", "lon"} <= set(var.dims):
            var.attrs.update(grid_mapping=GRID_MAPPING, coverage_content_type="modelResult")
        elif {"clat", "clon"} <= set(var.dims):
            var.attrs["coverage_content_type"] = _DIAGNOSTIC_CONTENT.get(str(name), "auxiliaryInformation")
        if name in ("sm", "bma") and var.attrs.get("units", "m3 m-3") == "m3 m-3":
            var.attrs.update(standard_name=SM_STANDARD_NAME, comment=_SM_COMMENT)
        if var.attrs.get("units") == "cells":  # not a UDUNITS unit: a count, said in the long name
            var.attrs["units"] = "1"
            var.attrs["long_name"] = f"{var.attrs.get('long_name', name)}, in coarse cells"


def _summary(out: xr.Dataset) -> str:
    """What the product is, from what it holds."""
    parts = ["Daily surface soil moisture (m3 m-3)"]
    if _regular_axis(out, "lat"):
        res = abs(float(np.median(np.diff(out["lat"].values))))
        parts.append(f"on a {res:g} degree (about {res * 111.2:.1f} km) latitude-longitude grid")
    if _regular_axis(out, "clat"):
        parts.append(f"downscaled from a {abs(float(np.median(np.diff(out['clat'].values)))):g} degree "
                     "satellite retrieval")
    else:
        parts.append("downscaled from a coarse satellite retrieval")
    text = " ".join(parts)
    models = [str(m) for m in np.atleast_1d(out["model"].values)] if "model" in out.coords else []
    learners = [MODEL_DESCRIPTIONS.get(m, m) for m in models if m != "bma"]
    text += f" by {', '.join(learners)}" if learners else " by machine learning"
    text += ", each trained in adaptive spatio-temporal windows of coarse cells on fine covariates"
    if out.attrs.get("covariates"):
        text += f" ({str(out.attrs['covariates']).replace(',', ', ')})"
    if "bma" in models:
        text += "; model bma merges them by Bayesian model averaging"
    if "window_sw" in out.data_vars:
        text += "; the windows' size, length, sample count and flags per coarse cell and day are included"
    return text + "."


def _discovery(out: xr.Dataset) -> None:
    """The ACDD attributes smkit knows: title, summary, coverage, version, keywords, references."""
    version = str(out.attrs.get("smkit_version", __version__))
    out.attrs.setdefault("title", "smkit downscaled soil moisture")
    out.attrs.update({
        "Conventions": CONVENTIONS,
        "summary": _summary(out),
        "source": f"smkit {version}",
        "product_version": version,
        "keywords": _KEYWORDS,
        "references": REFERENCES,
        "cdm_data_type": "Grid",
    })
    if "time" in out.coords and out.sizes.get("time", 0) and np.issubdtype(out["time"].dtype, np.datetime64):
        t = pd.DatetimeIndex(np.atleast_1d(out["time"].values))
        out.attrs.update(time_coverage_start=t[0].strftime("%Y-%m-%dT%H:%M:%SZ"),
                         time_coverage_end=t[-1].strftime("%Y-%m-%dT%H:%M:%SZ"))
        if len(t) > 1 and (np.diff(t.values) == np.timedelta64(1, "D")).all():
            out.attrs["time_coverage_resolution"] = "P1D"
    for name, axis, units in (("lat", "lat", "degrees_north"), ("lon", "lon", "degrees_east")):
        bounds = out.get(f"{name}_bnds")
        values = out[name].values if bounds is None and name in out.coords else None
        if bounds is not None or values is not None:
            lo, hi = (float(np.min(bounds.values)), float(np.max(bounds.values))) if bounds is not None else \
                (float(np.min(values)), float(np.max(values)))
            out.attrs.update({f"geospatial_{axis}_min": lo, f"geospatial_{axis}_max": hi,
                              f"geospatial_{axis}_units": units})
            if _regular_axis(out, name):
                res = abs(float(np.median(np.diff(out[name].values))))
                out.attrs[f"geospatial_{axis}_resolution"] = f"{res:g} degree"


def cf_product(ds: xr.Dataset, *, created: str | None = None, history: str | None = None) -> xr.Dataset:
    """A product with its CF-1.11 and ACDD-1.3 metadata (lazy data stay lazy; nothing is computed).

    Adds, from what the product holds: global ``Conventions``, ``title`` (kept when
    set), ``summary``, ``source``, ``product_version``, ``keywords``,
    ``references``, ``time_coverage_start/end``, ``geospatial_lat/lon_min/max``
    (cell edges, degrees) and their units; the scalar ``crs`` variable
    (EPSG:4326, :func:`crs_variable`) that every variable on ``lat``/``lon``
    names as its ``grid_mapping``; ``lat_bnds``/``lon_bnds`` (degrees) named by
    ``lat``/``lon``'s ``bounds``; axis and standard names of ``lat``, ``lon`` and
    ``time``; ``standard_name`` ``volume_fraction_of_condensed_water_in_soil`` on
    ``sm``; the models in words on ``model``. The coarse-cell coordinates
    ``clat``/``clon`` get a long name only (so that ``lat``/``lon`` are the
    dataset's one latitude and longitude); a ``units`` of ``cells`` (not UDUNITS)
    becomes ``1``. Coordinates are marked to be written without ``_FillValue``.
    Applying it again gives the same dataset.

    Parameters
    ----------
    ds : xarray.Dataset
        A product: ``sm(model, time, lat, lon)`` (m3 m-3), lat/lon in degrees.
    created : str, optional
        ISO 8601 UTC time the product is being written (:func:`now_iso`): sets
        ``date_created`` (kept when already set) and appends a line to ``history``.
        Default: no time is stamped.
    history : str, optional
        What was done, for the ``history`` line (default: the downscaling, from
        the product's ``strategy`` and models).

    Returns
    -------
    xarray.Dataset
        A shallow copy of ``ds`` with the metadata.
    """
    out = ds.copy()
    _coordinates(out)
    if "lat" in out.coords and "lon" in out.coords:
        out[GRID_MAPPING] = crs_variable()
    _variables(out)
    _discovery(out)
    if created is not None:
        out.attrs.setdefault("date_created", created)
        if history is None:
            models = ", ".join(str(m) for m in np.atleast_1d(out["model"].values)) if "model" in out.coords \
                else ""
            history = f"downscale ({out.attrs.get('strategy', 'window')} strategy; models {models})"
        line = f"{created} smkit {__version__}: {history}"
        before = str(out.attrs.get("history", "")).strip()
        out.attrs["history"] = f"{before}\n{line}" if before else line
    return out
