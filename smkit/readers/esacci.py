"""ESA CCI Soil Moisture COMBINED (daily, 0.25 degree): the coarse soil moisture.

Owns the product's file names (CEDA and Copernicus CDS), its fill value, range
and flag screening; the NetCDF mechanics are :mod:`smkit.readers.netcdf`'s.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from smkit.core.grid import Grid
from smkit.core.vocabulary import SM_ATTRS
from smkit.readers.common import (
    SM_UNIT_ALIASES,
    ReadError,
    as_files,
    check_download,
    day_index,
    norm_units,
)
from smkit.readers.netcdf import (
    check_same_grid,
    check_unique_times,
    grid_coords,
    lazy_stack,
    read_nc,
    scan_nc,
    select_cover,
    select_grid,
    to_daily,
)

__all__ = ["read_esacci"]

_CCI_NAME = re.compile(r"(ESACCI|C3S)-SOILMOISTURE-L3S-SSM([VS])-([A-Z]+)-(?:DAILY-)?"
                       r"(\d{8})(\d{6})-(fv\d+(?:\.\d+)*|[TI]CDR-v\d+(?:\.\d+)*)")


def _post_cci(lay, sel, keep_flags, fill):
    arrs = read_nc(lay, sel.ysl, sel.xsl, sel.yidx, sel.xidx)
    sm = arrs["sm"].astype(np.float32)
    bad = ~np.isfinite(sm) | (sm == fill) | (sm < 0) | (sm > 1)
    out = {}
    if "flag" in arrs:
        flag = np.asarray(arrs["flag"], dtype=np.float64)
        flag = np.where(np.isfinite(flag), flag, -1).astype(np.int16)
        if keep_flags is not None:
            bad |= ~np.isin(flag, np.asarray(keep_flags, dtype=np.int16))
        out["flag"] = flag
    out["sm"] = np.where(bad, np.float32(np.nan), sm)
    if "sm_uncertainty" in arrs:
        unc = arrs["sm_uncertainty"].astype(np.float32)
        unc = np.where(bad | ~np.isfinite(unc) | (unc == fill) | (unc < 0), np.float32(np.nan), unc)
        out["sm_uncertainty"] = unc
    return out


def read_esacci(files, grid: Grid | None = None, *, time=None,
                keep_flags: Sequence[int] | None = (0,),
                variables: Sequence[str] = ("sm", "sm_uncertainty", "flag")) -> xr.Dataset:
    """Read ESA CCI SM daily COMBINED files into a coarse dataset.

    Parameters
    ----------
    files : str, path, or sequence of them
        Files, folders (searched recursively for
        ``*-SOILMOISTURE-L3S-SSMV-COMBINED-*.nc``) or globs. Names must
        follow the archive's pattern
        ``ESACCI-SOILMOISTURE-L3S-SSMV-COMBINED-YYYYMMDD000000-fvXX.Y.nc`` (CEDA),
        or the Copernicus CDS one
        ``C3S-SOILMOISTURE-L3S-SSMV-COMBINED-DAILY-YYYYMMDD000000-TCDR-vX.Y.Z.nc``.
    grid : smkit.core.grid.Grid, optional
        Target coarse grid; its cell centres must be cells of the product's
        0.25-degree grid. Default: the files' whole grid.
    time : array-like of dates, optional
        Daily axis of the result; days without a file are NaN (with a
        warning). Default: the days of the files.
    keep_flags : sequence of int or None, default (0,)
        Values of the product's ``flag`` for which ``sm`` is kept (0: no
        inconsistency detected); other retrievals become NaN. The flag is a
        bit field: 1 snow or frozen soil, 2 dense vegetation, 4 no
        convergence, 8 value beyond physical bounds, 16 weight below
        threshold, 32 all inputs unreliable, 64 barren-ground advisory
        (v08+, over deserts; add 64 to keep those retrievals). ``None``
        keeps every retrieval.
    variables : sequence of str
        Variables to return; ``sm`` is required, ``sm_uncertainty`` and
        ``flag`` are optional in the files.

    Returns
    -------
    xarray.Dataset
        Lazy (dask) ``sm`` (m3 m-3, float32), ``sm_uncertainty`` (m3 m-3)
        and ``flag`` (int16, the product's bits; -1 where a day has no file),
        dims (time, lat, lon), latitude ascending. The product's fill value
        (-9999) and values outside 0..1 are NaN.

    Raises
    ------
    ReadError
        Naming the file: unreadable (corrupt/truncated), not a COMBINED file,
        a missing variable, a grid that is not lat/lon or differs between
        files, a date in the name that differs from the file's time.
    """
    kind = "ESA CCI SM"
    paths = as_files(files, kind, "*-SOILMOISTURE-L3S-SSMV-COMBINED-*.nc")
    variables = tuple(variables)
    if "sm" not in variables:
        raise ValueError("variables must include 'sm'")
    need_flag = keep_flags is not None
    lays, versions = [], set()
    for p in paths:
        check_download(p, kind, "NetCDF-4")
        m = _CCI_NAME.search(os.path.basename(p))
        if m is None:
            raise ReadError(p, kind, None, "the file name does not follow the ESA CCI pattern "
                            "ESACCI-SOILMOISTURE-L3S-SSMV-COMBINED-YYYYMMDD000000-fvXX.Y.nc (or "
                            "C3S-SOILMOISTURE-L3S-SSMV-COMBINED-DAILY-YYYYMMDD000000-TCDR-vX.nc)",
                            "keep the archive's file names")
        if m.group(3) != "COMBINED" or m.group(2) != "V":
            raise ReadError(p, kind, None, f"is the {m.group(3)} product (SSM{m.group(2)}); the "
                            "coarse input is the COMBINED volumetric product (SSMV)",
                            "download ESACCI-SOILMOISTURE-L3S-SSMV-COMBINED files")
        versions.add(f"{m.group(1)} {m.group(6)}")
        date = pd.Timestamp(m.group(4))
        req = ("sm", "flag") if need_flag else ("sm",)
        opt = tuple(v for v in variables if v not in req)
        lay = scan_nc(p, kind, req, opt, date=date)
        if lay.times.size != 1 or pd.Timestamp(lay.times[0]).normalize() != date:
            raise ReadError(p, kind, "time", f"holds {[str(pd.Timestamp(t)) for t in lay.times]} "
                            f"but the name says {date.date()}", "download the file again")
        u = norm_units(lay.units.get("sm"))
        if u and u not in SM_UNIT_ALIASES:
            raise ReadError(p, kind, "sm", f"has units '{lay.units['sm']}', not m3 m-3: is this "
                            "the volumetric COMBINED product?", "use the SSMV COMBINED files")
        lays.append(lay)
    if len(versions) > 1:
        warnings.warn(f"{kind}: files of several product versions {sorted(versions)} are mixed",
                      UserWarning, stacklevel=2)
    check_same_grid(lays, kind)
    check_unique_times(lays, kind)
    if grid is None:
        sel = select_cover(lays[0], None, kind=kind)
    else:
        sel = select_grid(lays[0], grid, kind)
    names = [v for v in variables if v in lays[0].names]
    dtypes = {"sm": np.float32, "sm_uncertainty": np.float32, "flag": np.int16}
    arrs = lazy_stack(lays, _post_cci, names, (sel.lat.size, sel.lon.size), dtypes, kind, sel,
                       None if keep_flags is None else tuple(int(f) for f in keep_flags), -9999.0)
    times = np.concatenate([lay.times for lay in lays])
    coords = {"time": times, **grid_coords(sel.lat, sel.lon)}
    attrs = {
        "sm": {**SM_ATTRS, "long_name": "ESA CCI SM COMBINED volumetric soil moisture",
               "source_flags_kept": "all" if keep_flags is None else str(list(keep_flags))},
        "sm_uncertainty": {"long_name": "ESA CCI SM uncertainty (standard deviation)",
                           "units": "m3 m-3"},
        "flag": {"long_name": "ESA CCI SM flag (bits of the product; -1: no file)", "units": "1"},
    }
    days = day_index(time)
    out = {}
    for n, a in arrs.items():
        v = xr.DataArray(a, dims=("time", "lat", "lon"), coords=coords)
        if n == "flag":
            v = to_daily(v.astype(np.float32), days, kind, "first")
            v = v.fillna(-1).astype(np.int16)
        else:
            v = to_daily(v, days, kind)
        v.attrs = attrs[n]
        out[n] = v
    ds = xr.Dataset(out)
    ds.attrs = {"source": "ESA CCI Soil Moisture COMBINED, daily, 0.25 degree",
                "product_version": ",".join(sorted(versions))}
    return ds
