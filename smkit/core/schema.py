"""Input checks for smkit's data model: coarse retrievals, fine covariates, stations.

Every dataset entering the pipeline goes through :func:`check_coarse`,
:func:`check_fine` or :func:`check_stations`. They first :func:`normalise` the
layout (ascending latitude, longitude in -180..180, canonical dimension order;
each fix announced with a :class:`NormalisationWarning`), then validate
variables, dimensions, units, coordinates and time, and raise an
:class:`InputError` that names the dataset kind, the variable, the problem and
the fix. Units and values are never changed: the core never guesses.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import xarray as xr

from smkit.core.grid import Grid, nesting_factor

__all__ = [
    "REQUIRED", "OPTIONAL", "InputError", "NormalisationWarning", "normalise", "check_units",
    "check_coarse", "check_fine", "check_stations", "relative_to_volumetric",
    "stations_to_volumetric", "encode_group", "require_dataset", "SM_VARIABLES", "check_soil_moisture",
    "rename_legacy", "COORD_ALIASES",
]

KINDS = ("coarse", "fine", "stations")
#: Other names of smkit's coordinates that the checks rename (with a NormalisationWarning).
COORD_ALIASES = {"latitude": "lat", "longitude": "lon"}
GRID_DIMS = ("time", "lat", "lon")
STATION_DIMS = ("station", "time")
WATER_DENSITY = 1.0  # g cm-3

#: kind -> {variable: (dims, canonical units)}; all must be present. For stations,
#: ``sm`` may be replaced by ``rsm`` (relative soil moisture, percent).
REQUIRED: dict[str, dict[str, tuple[tuple[str, ...], str | None]]] = {
    "coarse": {"sm": (GRID_DIMS, "m3 m-3")},
    "fine": {
        "lst": (GRID_DIMS, "K"), "ndvi": (GRID_DIMS, "1"), "albedo": (GRID_DIMS, "1"),
        "precip": (GRID_DIMS, "mm day-1"), "dem": (("lat", "lon"), "m"),
    },
    "stations": {"sm": (STATION_DIMS, "m3 m-3")},
}
#: kind -> {variable: (dims, canonical units or None)}; checked when present.
OPTIONAL: dict[str, dict[str, tuple[tuple[str, ...], str | None]]] = {
    "coarse": {"sm_uncertainty": (GRID_DIMS, "m3 m-3"), "flag": (GRID_DIMS, None)},
    "fine": {},
    "stations": {"rsm": (STATION_DIMS, "percent")},
}
_AXIS_UNITS = {  # CF spellings, lower case
    "lat": {"degrees_north", "degree_north", "degrees_n", "degree_n", "degreesn", "degreen"},
    "lon": {"degrees_east", "degree_east", "degrees_e", "degree_e", "degreese", "degreee"},
}
STATION_COORDS = ("name", "network", "lat", "lon", "elevation", "land_cover")


class InputError(ValueError):
    """An input does not follow smkit's data model.

    The message names the dataset kind, the variable, the problem and the fix;
    they are also available as attributes ``kind``, ``variable``, ``problem``, ``fix``.
    """

    def __init__(self, kind: str, variable: str, problem: str, fix: str = ""):
        self.kind, self.variable, self.problem, self.fix = kind, variable, problem, fix
        msg = f"{kind} dataset, variable '{variable}': {problem}"
        super().__init__(msg + (f". Fix: {fix}" if fix else ""))

    def __reduce__(self):
        return type(self), (self.kind, self.variable, self.problem, self.fix)


class NormalisationWarning(UserWarning):
    """A safe layout fix was applied to an input (values and units unchanged)."""


# ------------------------------------------------------------------ units
def encode_group(ds: xr.Dataset) -> xr.Dataset:
    """Make object (string) coordinates writable by Zarr and NetCDF."""
    ds = ds.copy()
    for name, var in ds.variables.items():
        if var.dtype == object:
            ds[name] = var.astype(str)
    return ds


def _canon(units: str) -> str:
    u = str(units).strip().lower().replace("**", "").replace("^", "")
    return re.sub(r"\s+", " ", u)


def _aliases(*names: str) -> frozenset[str]:
    return frozenset(_canon(n) for n in names)


_UNIT_ALIASES = {
    "m3 m-3": _aliases("m3 m-3", "m3/m3", "m^3 m^-3", "m**3 m**-3", "cm3 cm-3", "cm3/cm3",
                       "m3.m-3"),
    "K": _aliases("K", "kelvin"),
    "1": _aliases("1", "", "-", "dimensionless", "unitless"),
    "mm day-1": _aliases("mm day-1", "mm/day", "mm d-1", "mm/d", "kg m-2 day-1", "kg m-2 d-1"),
    "m": _aliases("m", "meter", "meters", "metre", "metres"),
    "percent": _aliases("percent", "%"),
}
_PERCENT = _aliases("%", "percent", "pct", "vol%", "% vol")
_UNIT_FIXES = {  # canonical -> [(wrong units, fix)]
    "m3 m-3": [(_PERCENT, "divide by 100 and set units 'm3 m-3'")],
    "K": [(_aliases("degC", "C", "celsius", "deg C", "°C", "degree_Celsius", "degrees_Celsius"),
           "add 273.15 to the values and set units 'K'")],
    "mm day-1": [
        (_aliases("mm h-1", "mm/hr", "mm/h", "mm hr-1", "mm hour-1", "kg m-2 h-1"),
         "multiply by 24 (hours per day) and set units 'mm day-1'"),
        (_aliases("kg m-2 s-1", "mm s-1", "mm/s"),
         "multiply by 86400 (seconds per day) and set units 'mm day-1'"),
    ],
    "1": [(_PERCENT, "divide by 100 and set units '1'")],
    "m": [(_aliases("km"), "multiply by 1000 and set units 'm'")],
}
_RSM_HINT = ("; or, if these are relative soil moisture (percent of field capacity, NZW "
             "stations), store them as 'rsm' with 'field_capacity' (g g-1) and 'bulk_density' "
             "(g cm-3) coords")


def check_units(kind: str, name: str, da: xr.DataArray, expected: str) -> None:
    """Raise :class:`InputError` unless ``da.attrs['units']`` is ``expected`` or an alias.

    Parameters
    ----------
    kind : {"coarse", "fine", "stations"}
        Dataset kind, for the message.
    name : str
        Variable name, for the message.
    da : xarray.DataArray
        The variable.
    expected : str
        Canonical units: ``"m3 m-3"``, ``"K"``, ``"1"``, ``"mm day-1"``, ``"m"`` or ``"percent"``.
    """
    units = da.attrs.get("units")
    if units is None:
        raise InputError(kind, name, f"has no 'units' attribute (expected '{expected}')",
                         f"check the values are in {expected} and set "
                         f"ds['{name}'].attrs['units'] = '{expected}'")
    u = _canon(units)
    if u in _UNIT_ALIASES[expected]:
        return
    fix = f"convert the values to {expected} and set units '{expected}'"
    for wrong, hint in _UNIT_FIXES.get(expected, []):
        if u in wrong:
            fix = hint
    if kind == "stations" and name == "sm" and u in _PERCENT:
        fix += _RSM_HINT
    raise InputError(kind, name, f"has units '{units}' but '{expected}' is expected", fix)


def _value_ranges(ds: xr.Dataset, names: list[str]) -> dict[str, tuple[float, float, bool]]:
    """NaN-skipping min, max and "any infinite" of several variables in one (dask-friendly) compute."""
    red = {}
    for n in names:
        finite = ds[n].where(np.isfinite(ds[n])) if ds[n].dtype.kind == "f" else ds[n]
        red.update({f"min{n}": finite.min(), f"max{n}": finite.max(), f"inf{n}": np.isinf(ds[n]).any()})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN inputs
        red = xr.Dataset(red).compute()
    return {n: (float(red[f"min{n}"]), float(red[f"max{n}"]), bool(red[f"inf{n}"])) for n in names}


#: Variables holding soil moisture as a volume fraction (m3 m-3), physically in [0, 1].
SM_VARIABLES = ("sm", "sm_uncertainty")


def _check_sm_values(kind: str, name: str, lo: float, hi: float, dtype, negative_ok: bool = False) -> None:
    span = f"values range {lo:g} to {hi:g}"
    if np.issubdtype(dtype, np.integer) or hi > 100:
        raise InputError(kind, name, f"{span} ({np.dtype(dtype).name}) with units m3 m-3: these look "
                         "like raw stored counts, not a volume fraction",
                         "decode the file with its scale_factor/add_offset (xr.open_dataset(..., "
                         "mask_and_scale=True) or xr.decode_cf(ds)) before passing it")
    if hi > 1:
        raise InputError(kind, name, f"{span} with units m3 m-3: above 1, looks like percent",
                         "divide by 100 and keep units 'm3 m-3'" + (_RSM_HINT if kind == "stations" else ""))
    if lo < 0 and not negative_ok:
        raise InputError(kind, name, f"{span} with units m3 m-3: soil moisture cannot be negative",
                         f"mask the invalid values, e.g. ds['{name}'] = ds['{name}'].where(ds['{name}'] >= 0)"
                         ", after checking the file's fill value and scaling")


#: How far outside its physical range a fraction (albedo) may stray from resampling or smoothing
#: (bilinear/cubic weights overshoot by a few thousandths) before it is taken for a scaling mistake.
RESAMPLING_SLACK = 0.01


def _check_values(kind: str, ds: xr.Dataset, names: list[str], sm_names=SM_VARIABLES,
                  negative_ok: bool = False) -> None:
    for name, (lo, hi, has_inf) in _value_ranges(ds, names).items():
        if has_inf:
            raise InputError(kind, name, "holds infinite values (inf or -inf)",
                             f"replace them with NaN: ds['{name}'] = ds['{name}'].where(np.isfinite(ds['{name}']))")
        span = f"values range {lo:g} to {hi:g}"
        if name in sm_names:
            _check_sm_values(kind, name, lo, hi, ds[name].dtype, negative_ok)
        if name == "lst" and lo < 150:
            raise InputError(kind, name, f"{span} with units K: below 150 K, looks like Celsius",
                             "add 273.15 to convert degrees Celsius to K")
        if name == "ndvi" and (lo < -1 or hi > 1):
            raise InputError(kind, name, f"{span}, outside [-1, 1]: looks scaled",
                             "apply scale factor 0.0001 (MODIS NDVI integers)")
        if name == "albedo" and (lo < -RESAMPLING_SLACK or hi > 1 + RESAMPLING_SLACK):
            raise InputError(kind, name, f"{span}, outside [0, 1]: looks scaled",
                             "apply the product's scale factor (0.001 for MODIS MCD43 "
                             "integers, 0.01 for percent)")


# ------------------------------------------------------------------ normalisation
def _crosses_antimeridian(lon: np.ndarray) -> bool:
    # contiguous in 0..360 but split in two once mapped to -180..180
    before = np.diff(np.sort(lon[np.isfinite(lon)]))
    after = np.diff(np.sort(np.where(lon > 180, lon - 360, lon)[np.isfinite(lon)]))
    if before.size == 0:
        return False
    step = np.median(before)
    return bool(after.max() > 1.5 * step and before.max() <= 1.5 * step)


def require_dataset(ds, kind: str) -> xr.Dataset:
    """Return ``ds`` if it is an :class:`xarray.Dataset`, else raise an :class:`InputError` saying what to pass.

    Parameters
    ----------
    ds : object
        What the caller passed.
    kind : {"coarse", "fine", "stations"}
        Which part of the data model ``ds`` should be.

    Examples
    --------
    >>> import xarray as xr
    >>> require_dataset(xr.DataArray([0.2], dims="time", name="sm"), "coarse")
    Traceback (most recent call last):
    ...
    smkit.core.schema.InputError: coarse dataset, variable 'sm': got an xarray.DataArray, not a Dataset. Fix: wrap it: da.to_dataset(name='sm')
    """
    if isinstance(ds, xr.Dataset):
        return ds
    first = next(iter(REQUIRED.get(kind, {"sm": None})))
    if isinstance(ds, xr.DataArray):
        raise InputError(kind, str(ds.name or first), "got an xarray.DataArray, not a Dataset",
                         f"wrap it: da.to_dataset(name='{ds.name or first}')")
    raise InputError(kind, first, f"got {type(ds).__name__}, not an xarray.Dataset",
                     "open the data with xarray (xr.open_dataset / xr.open_zarr) or smkit.open_scenario")


def normalise(ds: xr.Dataset, kind: str) -> xr.Dataset:
    """Apply safe layout fixes, announcing each with a :class:`NormalisationWarning`.

    ``latitude``/``longitude`` (ESA CCI, ERA5, CF names) become ``lat``/``lon``;
    descending latitude is sorted ascending; longitudes in 0-360 (any above 180)
    become -180..180 (gridded data are then sorted ascending); variables are
    transposed to the canonical dimension order. Units and values never change.

    Parameters
    ----------
    ds : xarray.Dataset
        A coarse, fine or stations dataset.
    kind : {"coarse", "fine", "stations"}
        Which part of the data model ``ds`` is.

    Returns
    -------
    xarray.Dataset
        ``ds`` itself when nothing needed fixing, otherwise a new dataset.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    out, gridded = ds, kind != "stations"

    def say(msg):
        warnings.warn(f"{kind}: {msg}", NormalisationWarning, stacklevel=4)

    names = {old: new for old, new in COORD_ALIASES.items() if old in out.variables and new not in out.variables}
    if names:
        out = out.rename(names)
        say("renamed " + ", ".join(f"{o!r} to {n!r}" for o, n in names.items()))
    if gridded and "lat" in out.indexes and out.sizes["lat"] > 1:
        if np.all(np.diff(np.asarray(out["lat"].values, dtype=float)) < 0):
            out = out.isel(lat=slice(None, None, -1))
            say("latitude was descending; sorted ascending")
    if "lon" in out.coords:
        lon = np.asarray(out["lon"].values, dtype=float)
        if np.nanmax(lon, initial=-np.inf) > 180:
            if gridded and _crosses_antimeridian(lon):
                raise InputError(kind, "lon", f"the grid spans {np.nanmin(lon):g} to {np.nanmax(lon):g} "
                                 "degrees east, across the 180 degree meridian, which a -180..180 grid "
                                 "cannot hold contiguously", "split the domain at 180 degrees and "
                                 "downscale each side on its own")
            new = np.where(lon > 180, lon - 360, lon).astype(out["lon"].dtype)
            out = out.assign_coords(lon=out["lon"].copy(data=new))
            if gridded and "lon" in out.dims:
                out = out.sortby("lon")
            say("longitudes were in 0..360; converted to -180..180"
                + (" and sorted" if gridded else ""))
    order = GRID_DIMS if gridded else STATION_DIMS
    wrong = [n for n, v in out.data_vars.items() if set(v.dims) <= set(order)
             and v.dims != tuple(d for d in order if d in v.dims)]
    if wrong:
        out = out.transpose(*[d for d in order if d in out.dims], ...)
        say(f"transposed {wrong} to dimension order {order}")
    return out


# ------------------------------------------------------------------ shared checks
def _check_variables(kind: str, ds: xr.Dataset, required: dict) -> None:
    missing = [n for n in required if n not in ds.data_vars]
    if missing:
        raise InputError(kind, ", ".join(missing),
                         f"missing; variables found: {sorted(map(str, ds.data_vars))}",
                         f"add or rename the variables to {list(required)}")
    spec = {**required, **{n: s for n, s in OPTIONAL[kind].items() if n in ds.data_vars}}
    for name, (dims, canonical) in spec.items():
        have = ds[name].dims
        if set(have) != set(dims) or len(have) != len(dims):
            raise InputError(kind, name, f"has dims {have} but {dims} are expected",
                             "rename the dimensions (static fields such as dem have no time)")
        if canonical is not None:
            check_units(kind, name, ds[name], canonical)


_AXIS_ALTERNATIVES = {"lat": ("latitude", "y", "nav_lat"), "lon": ("longitude", "x", "nav_lon")}


def _check_axis(kind: str, ds: xr.Dataset, name: str, along: str) -> np.ndarray:
    expected = {"lat": "degrees_north", "lon": "degrees_east"}[name]
    if name not in ds.coords:
        alt = [a for a in _AXIS_ALTERNATIVES[name] if a in ds.variables]
        raise InputError(kind, name, f"no '{name}' coordinate; found {sorted(map(str, ds.coords))}",
                         f"rename with ds.rename({{'{alt[0]}': '{name}'}})" if alt
                         else f"add a '{name}' coordinate")
    if ds[name].dims != (along,):
        raise InputError(kind, name, f"has dims {ds[name].dims}, expected ('{along}',)",
                         "smkit needs a regular lat/lon grid; regrid curvilinear data first")
    units = ds[name].attrs.get("units")
    if units is None:
        raise InputError(kind, name, "has no 'units' attribute (CF requires one)",
                         f"set ds['{name}'].attrs['units'] = '{expected}'")
    if _canon(units) not in _AXIS_UNITS[name]:
        raise InputError(kind, name, f"has units '{units}', expected '{expected}'",
                         "reproject to a regular lat/lon grid in degrees")
    values = np.asarray(ds[name].values, dtype=float)
    limit = 90.0 if name == "lat" else 180.0
    if np.any(np.abs(values) > limit):
        raise InputError(kind, name, f"values outside [-{limit:g}, {limit:g}]",
                         "check the coordinate is in degrees")
    return values


def _check_grid(kind: str, ds: xr.Dataset) -> Grid:
    for name in ("lat", "lon"):
        v = _check_axis(kind, ds, name, name)
        if v.size < 2:
            raise InputError(kind, name, f"has {v.size} value(s); a grid needs at least 2",
                             "use a larger domain")
        step = np.diff(v)
        if not np.all(step > 0):
            i = int(np.argmin(step > 0))
            raise InputError(kind, name, f"is not ascending: {v[i + 1]:g} follows {v[i]:g}",
                             f"sort with ds.sortby('{name}')")
        if not np.allclose(step, step[0], rtol=0, atol=1e-3 * step[0]):
            raise InputError(kind, name, f"is irregular: spacing varies from {step.min():g} to "
                             f"{step.max():g} degrees", "regrid to a regular grid")
    try:
        return Grid.from_dataset(ds)
    except ValueError as err:
        raise InputError(kind, "lat, lon", str(err), "regrid to square cells") from None


def _check_time(kind: str, ds: xr.Dataset) -> pd.DatetimeIndex:
    if "time" not in ds.indexes:
        raise InputError(kind, "time", "no 'time' dimension coordinate",
                         "add daily datetime64 time coordinates")
    t = ds.indexes["time"]
    if not isinstance(t, pd.DatetimeIndex):
        raise InputError(kind, "time", f"has type {type(t).__name__}, expected datetime64",
                         "decode with xr.decode_cf(ds) or ds.convert_calendar('standard')")
    if len(t) == 0:
        raise InputError(kind, "time", "holds no days", "select a period inside the data")
    dup = t[t.duplicated()]
    if len(dup):
        raise InputError(kind, "time", f"duplicate time {dup[0].date()} (first of {len(dup)} "
                         "duplicates)", "drop duplicates with ds.drop_duplicates('time')")
    if not t.is_monotonic_increasing:
        i = int(np.flatnonzero(np.diff(t.asi8) < 0)[0])
        raise InputError(kind, "time", f"not increasing: {t[i + 1].date()} at position {i + 1} "
                         f"follows {t[i].date()}", "sort with ds.sortby('time')")
    off = t[t != t.normalize()]
    if len(off):
        raise InputError(kind, "time", f"is not daily: {off[0]} is not at midnight",
                         "floor to days: ds.assign_coords(time=ds.indexes['time'].floor('D'))")
    if kind != "stations" and len(t) > 1:
        gaps = np.flatnonzero(np.diff(t.asi8) != 86_400 * 10**9)
        if gaps.size:
            i = int(gaps[0])
            raise InputError(kind, "time", f"is not one step per day: {t[i + 1].date()} follows "
                             f"{t[i].date()} ({(t[i + 1] - t[i]).days} days; {gaps.size} such step(s))",
                             "put the data on a gap-free daily axis, missing days as NaN: ds.reindex("
                             "time=pd.date_range(ds.time[0].values, ds.time[-1].values, freq='D'))")
    return t


# ------------------------------------------------------------------ public checks
def check_coarse(ds: xr.Dataset, *, check_values: bool = True) -> xr.Dataset:
    """Validate a coarse soil-moisture dataset.

    Parameters
    ----------
    ds : xarray.Dataset
        Dims (time, lat, lon); ``sm`` (m3 m-3), optional ``sm_uncertainty``
        (m3 m-3) and ``flag`` (integer); NaN = no retrieval.
    check_values : bool, default True
        Also check value ranges (one min/max reduction; cheap on dask).

    Returns
    -------
    xarray.Dataset
        The dataset after :func:`normalise`.

    Raises
    ------
    InputError
        If ``ds`` does not follow the data model.
    """
    ds = normalise(require_dataset(ds, "coarse"), "coarse")
    _check_variables("coarse", ds, REQUIRED["coarse"])
    _check_grid("coarse", ds)
    _check_time("coarse", ds)
    if check_values:
        _check_values("coarse", ds, [n for n in ("sm", "sm_uncertainty") if n in ds.data_vars])
    return ds


def check_fine(ds: xr.Dataset, coarse: xr.Dataset | None = None, *,
               check_values: bool = True, variables=None) -> xr.Dataset:
    """Validate a fine covariate dataset, optionally against its coarse dataset.

    Parameters
    ----------
    ds : xarray.Dataset
        Dims (time, lat, lon): ``lst`` (K), ``ndvi`` (1), ``albedo`` (1),
        ``precip`` (mm day-1), and static ``dem`` (m) on (lat, lon).
    coarse : xarray.Dataset, optional
        When given, the fine grid must nest in the coarse grid (integer ratio,
        shared outer edges) and the fine times must cover the coarse times.
    check_values : bool, default True
        Also check value ranges (one min/max reduction; cheap on dask).
    variables : sequence of str, optional
        Only these covariates are required (the ones a run uses); default all five.

    Returns
    -------
    xarray.Dataset
        The dataset after :func:`normalise`.

    Raises
    ------
    InputError
        If ``ds`` does not follow the data model or does not match ``coarse``.
    """
    ds = normalise(require_dataset(ds, "fine"), "fine")
    required = {k: v for k, v in REQUIRED["fine"].items() if variables is None or k in variables}
    _check_variables("fine", ds, required)
    grid = _check_grid("fine", ds)
    t = _check_time("fine", ds)
    if coarse is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NormalisationWarning)
            coarse = normalise(coarse, "coarse")
        try:
            nesting_factor(_check_grid("coarse", coarse), grid)
        except ValueError as err:
            raise InputError("fine", "lat, lon", f"the fine grid does not nest in the coarse "
                             f"grid: {err}", "crop/regrid the fine data so the coarse resolution "
                             "is an integer multiple of the fine one with shared outer edges"
                             ) from None
        missing = _check_time("coarse", coarse).difference(t)
        if len(missing):
            shown = ", ".join(str(d.date()) for d in missing[:5])
            raise InputError("fine", "time", f"{len(missing)} coarse date(s) missing from the "
                             f"fine data: {shown}" + (", ..." if len(missing) > 5 else ""),
                             "provide fine covariates for every coarse date, or subset the coarse")
    if check_values:
        _check_values("fine", ds, [v for v in ("lst", "ndvi", "albedo") if v in required])
    return ds


def check_stations(ds: xr.Dataset, grid: Grid | None = None, on_outside: str = "raise", *,
                   check_values: bool = True) -> xr.Dataset:
    """Validate an in-situ stations dataset.

    Parameters
    ----------
    ds : xarray.Dataset
        Dims (station, time); ``sm`` (m3 m-3) and/or ``rsm`` (percent of field
        capacity); coords ``name``, ``network``, ``lat`` (degrees_north), ``lon``
        (degrees_east), ``elevation`` (m), ``land_cover``; with ``rsm`` also
        ``field_capacity`` (g g-1) and ``bulk_density`` (g cm-3).
    grid : smkit.core.grid.Grid, optional
        Domain the stations must fall in (:meth:`Grid.contains`).
    on_outside : {"raise", "drop", "keep"}, default "raise"
        What to do with stations outside ``grid``: raise an :class:`InputError`
        naming them, drop them with a warning, or keep them.
    check_values : bool, default True
        Also check value ranges (one min/max reduction; cheap on dask).

    Returns
    -------
    xarray.Dataset
        The dataset after :func:`normalise` (and dropping, if asked).

    Raises
    ------
    InputError
        If ``ds`` does not follow the data model, or stations fall outside
        ``grid`` with ``on_outside="raise"``.
    """
    if on_outside not in ("raise", "drop", "keep"):
        raise ValueError(f"on_outside must be 'raise', 'drop' or 'keep', not {on_outside!r}")
    kind = "stations"
    ds = normalise(require_dataset(ds, kind), kind)
    if ds.sizes.get("station", 0) == 0:
        raise InputError(kind, "station", "the dataset holds no stations (dimension 'station' is empty "
                         "or missing)", "pass at least one station, or leave the stations out")
    if "sm" not in ds.data_vars and "rsm" not in ds.data_vars:
        raise InputError(kind, "sm", f"missing (and no 'rsm'); variables found: "
                         f"{sorted(map(str, ds.data_vars))}", "provide volumetric 'sm' (m3 m-3) "
                         "or relative 'rsm' (percent) with field capacity and bulk density")
    _check_variables(kind, ds, REQUIRED[kind] if "sm" in ds.data_vars else {})
    absent = [c for c in STATION_COORDS if c not in ds.variables]
    if absent:
        raise InputError(kind, ", ".join(absent), f"missing station coordinate(s); found "
                         f"{sorted(map(str, ds.coords))}",
                         "add them along 'station' (NaN or 'unknown' where not known)")
    lat, lon = (_check_axis(kind, ds, c, "station") for c in ("lat", "lon"))
    names = np.asarray(ds["name"].values).astype(str)
    nowhere = names[~(np.isfinite(lat) & np.isfinite(lon))]
    if nowhere.size:
        raise InputError(kind, "lat, lon", f"stations without coordinates: {list(nowhere)}",
                         "add their coordinates or drop them")
    _check_time(kind, ds)
    if "rsm" in ds.data_vars:
        absent = [c for c in ("field_capacity", "bulk_density") if c not in ds.variables]
        if absent:
            raise InputError(kind, "rsm", f"relative soil moisture needs {absent} to convert to "
                             "m3 m-3", "add 'field_capacity' (g g-1) and 'bulk_density' (g cm-3) "
                             "coords along 'station'")
        has = np.asarray(ds["rsm"].notnull().any("time").values)
        ok = np.isfinite(ds["field_capacity"].values) & np.isfinite(ds["bulk_density"].values)
        if np.any(has & ~ok):
            raise InputError(kind, "rsm", f"stations {list(names[has & ~ok])} have rsm but no "
                             "field_capacity/bulk_density", "add their soil properties")
        if check_values and np.nanmax(ds["field_capacity"].values, initial=0) > 1:
            raise InputError(kind, "field_capacity", "values above 1 g g-1 look like percent",
                             "divide by 100")
        if check_values and np.nanmax(ds["bulk_density"].values, initial=0) > 3:
            raise InputError(kind, "bulk_density", "values above 3 g cm-3 look like kg m-3",
                             "divide by 1000")
    if check_values and "sm" in ds.data_vars:
        _check_values(kind, ds, ["sm"])
    if grid is not None and on_outside != "keep":
        outside = ~grid.contains(lat, lon)
        if outside.any():
            listed = ", ".join(f"{n} (lat {a:.4f}, lon {o:.4f})" for n, a, o
                               in zip(names[outside], lat[outside], lon[outside], strict=True))
            extent = f"lon {grid.lon0:g} to {grid.lon1:g}, lat {grid.lat0:g} to {grid.lat1:g}"
            what = f"{outside.sum()} station(s) outside the grid ({extent}): {listed}"
            if on_outside == "raise":
                raise InputError(kind, "lat, lon", what,
                                 "pass on_outside='drop' or 'keep', or use a grid covering them")
            warnings.warn(f"stations: dropped {what}", UserWarning, stacklevel=2)
            ds = ds.isel(station=np.flatnonzero(~outside))
    return ds


def check_soil_moisture(da: xr.DataArray, kind: str, name: str | None = None, *,
                        check_values: bool = True, negative_ok: bool = False) -> xr.DataArray:
    """Validate soil moisture that is about to be scored or mixed (a product, the truth, BMA members).

    Parameters
    ----------
    da : xarray.DataArray
        Volumetric soil moisture, units ``m3 m-3`` (or an alias), values in [0, 1], NaN = missing.
    kind : str
        What ``da`` is, for the message (e.g. ``"product"``, ``"truth"``, ``"members"``).
    name : str, optional
        Its name in the message (default ``da.name``).
    check_values : bool, default True
        Also check the values (one min/max reduction; cheap on dask).
    negative_ok : bool, default False
        Accept negative values (a product under test may have them; percent and raw
        counts are refused all the same).

    Returns
    -------
    xarray.DataArray
        ``da`` unchanged.

    Raises
    ------
    InputError
        If ``da`` is not a DataArray, has other units, or holds percent, negative,
        infinite or raw integer values.

    Examples
    --------
    >>> import xarray as xr
    >>> pct = xr.DataArray([21.0, 35.0], dims="time", name="sm", attrs={"units": "m3 m-3"})
    >>> check_soil_moisture(pct, "truth")
    Traceback (most recent call last):
    ...
    smkit.core.schema.InputError: truth dataset, variable 'sm': values range 21 to 35 with units m3 m-3: above 1, looks like percent. Fix: divide by 100 and keep units 'm3 m-3'
    """
    name = str(name or getattr(da, "name", None) or "sm")
    if isinstance(da, xr.Dataset):
        if "sm" not in da.data_vars:
            raise InputError(kind, name, f"got a Dataset without 'sm'; variables found: {sorted(map(str, da))}",
                             "pass the soil-moisture DataArray, e.g. ds['sm']")
        da = da["sm"]
    if not isinstance(da, xr.DataArray):
        raise InputError(kind, name, f"got {type(da).__name__}, not an xarray.DataArray",
                         "pass soil moisture as an xarray.DataArray with units 'm3 m-3'")
    check_units(kind, name, da, "m3 m-3")
    if check_values:
        _check_values(kind, da.to_dataset(name=name), [name], sm_names=(name,), negative_ok=negative_ok)
    return da


# ------------------------------------------------------------------ conversions
def relative_to_volumetric(rsm, field_capacity, bulk_density):
    """Volumetric water content from relative soil moisture.

    ``theta = rsm / 100 * field_capacity * bulk_density / rho_w`` with the
    water density ``rho_w = 1 g cm-3``.

    Parameters
    ----------
    rsm : array_like or xarray.DataArray
        Relative soil moisture, percent of field capacity.
    field_capacity : array_like or xarray.DataArray
        Gravimetric field capacity, g g-1.
    bulk_density : array_like or xarray.DataArray
        Dry bulk density, g cm-3.

    Returns
    -------
    ndarray or xarray.DataArray
        Volumetric soil moisture, m3 m-3 (NumPy or xarray broadcasting; a
        DataArray result is named ``sm`` with units "m3 m-3").
    """
    out = rsm / 100.0 * field_capacity * bulk_density / WATER_DENSITY
    if isinstance(out, xr.DataArray):
        out = out.rename("sm")
        out.attrs = {"long_name": "volumetric soil moisture from relative soil moisture",
                     "units": "m3 m-3"}
    return out


def stations_to_volumetric(ds: xr.Dataset) -> xr.Dataset:
    """Fill station ``sm`` from ``rsm`` where ``sm`` is NaN and ``rsm`` is valid.

    Existing ``sm`` values are never overwritten; stations without
    ``field_capacity``/``bulk_density`` stay NaN.

    Parameters
    ----------
    ds : xarray.Dataset
        Stations dataset with ``sm`` (m3 m-3) and/or ``rsm`` (percent), and
        ``field_capacity`` (g g-1) and ``bulk_density`` (g cm-3) along ``station``.

    Returns
    -------
    xarray.Dataset
        A copy whose ``sm`` has units "m3 m-3".
    """
    out = ds.copy()
    if "rsm" not in out.data_vars:
        if "sm" not in out.data_vars:
            raise InputError("stations", "sm", "missing and no 'rsm' to derive it from",
                             "provide 'sm' or 'rsm'")
        return out
    rsm = out["rsm"]
    if "sm" in out.data_vars:
        sm, attrs = out["sm"], dict(out["sm"].attrs)
    else:
        sm = xr.full_like(rsm, np.nan, dtype=float)
        attrs = {"long_name": "volumetric soil moisture"}
    fc, bd = (out[c] if c in out.variables else np.nan for c in ("field_capacity", "bulk_density"))
    filled = sm.fillna(relative_to_volumetric(rsm, fc, bd))
    if np.issubdtype(sm.dtype, np.floating):
        filled = filled.astype(sm.dtype)
    out["sm"] = filled.transpose(*sm.dims)
    out["sm"].attrs = {**attrs, "units": "m3 m-3"}
    return out


def rename_legacy(obj):
    """A product (Dataset or DataArray) of smkit 0.1 with its ``method`` dimension renamed ``model``.

    smkit 0.1 wrote ``sm(method, time, lat, lon)``; xarray reads ``method=`` in
    ``.sel`` as its own keyword, so the dimension is now ``model``. Objects
    without a ``method`` dimension are returned unchanged.

    Parameters
    ----------
    obj : xarray.Dataset or xarray.DataArray
        A product, a matched-stations Dataset or any object with the old dimension.

    Returns
    -------
    xarray.Dataset or xarray.DataArray
        ``obj`` with ``method`` renamed ``model`` (and a DeprecationWarning), or ``obj`` itself.

    Examples
    --------
    >>> import warnings
    >>> old = xr.DataArray(np.zeros((2, 1)), dims=("method", "time"), coords={"method": ["rf", "mlr"]})
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", DeprecationWarning)
    ...     new = rename_legacy(old)
    >>> new.dims, [str(m) for m in new["model"].values]
    (('model', 'time'), ['rf', 'mlr'])
    """
    if "method" not in obj.dims or "model" in obj.dims:
        return obj
    warnings.warn("this product was written by smkit 0.1: its 'method' dimension is read as 'model' "
                  "(rewrite it with smkit 0.2 to silence this; old stores stop opening in 0.3)",
                  DeprecationWarning, stacklevel=2)
    return obj.rename({"method": "model"})
