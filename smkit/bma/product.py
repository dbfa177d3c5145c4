"""BMA on a product: the merged map ``bma`` and its predictive spread ``sm_std``, per zone."""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr

from smkit.bma.mixture import MISSING, BMAWarning, check_choice, mixture_moments
from smkit.bma.perzone import ZoneBMA
from smkit.bma.zones import check_zones, zones_to_fine
from smkit.core.cf import cf_product
from smkit.core.vocabulary import SM_UNITS

__all__ = ["apply", "zone_fractions"]

_NO_LABEL = np.iinfo(np.int64).min  # the label of a map without zones: matches no pixel

def _bma_kernel(f, zone, labels, W, C, S, missing):
    """Mixture mean and std for member values ``f`` (..., K) and zone labels (...)."""
    zone = np.asarray(zone)
    pos = np.searchsorted(labels, zone)
    pos = np.clip(pos, 0, len(labels) - 1)
    known = labels[pos] == zone
    idx = np.where(known, pos, 0)
    mean, std = mixture_moments(f, W[idx], C[idx], S[idx], missing)
    mean = np.where(known, mean, np.nan).astype(np.float32)
    std = np.where(known, std, np.nan).astype(np.float32)
    return mean, std


def _bma_blend_kernel(f, frac, W, C, S, missing):
    """Mixture mean and std with parameters blended by zone fractions ``frac`` (..., Z)."""
    known = np.isfinite(frac).all(-1) & (frac.sum(-1) > 0)
    fr = np.where(known[..., None], frac, 0.0)
    w = fr @ W
    c = np.einsum("...z,zkj->...kj", fr, C)
    sg = fr @ S
    mean, std = mixture_moments(f, w, c, sg, missing)
    return np.where(known, mean, np.nan).astype(np.float32), np.where(known, std, np.nan).astype(np.float32)


def zone_fractions(zones: xr.DataArray, labels: np.ndarray, fine_grid) -> xr.DataArray:
    """Each fine pixel's share of every zone: the zones' indicators interpolated from the cell centres.

    A pixel deep inside a zone has share 1 of it; towards a boundary the
    shares change linearly over the last half cell, so parameters blended
    with them are continuous across zone boundaries (per-zone BMA weights
    would otherwise print a step on every boundary).

    Parameters
    ----------
    zones : xarray.DataArray
        ``zone(lat, lon)`` on the coarse grid.
    labels : ndarray of int
        The labels to give shares for (in order).
    fine_grid : xarray.Dataset or DataArray
        Anything with the fine ``lat`` and ``lon``.

    Returns
    -------
    xarray.DataArray
        ``(lat, lon, zone)`` float32 shares summing to 1 (NaN outside every label).
    """
    from smkit.core.grid import Grid, nesting_factor
    from smkit.engine.features import smooth_native

    factor = nesting_factor(Grid.from_dataset(zones), Grid.from_dataset(fine_grid))
    z = np.asarray(zones.transpose("lat", "lon").values)
    onehot = np.stack([(z == lab).astype(np.float64) for lab in labels])
    up = np.repeat(np.repeat(onehot, factor, axis=1), factor, axis=2)
    frac = smooth_native(up, factor)
    total = frac.sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(total > 0, frac / total, np.nan)
    return xr.DataArray(np.moveaxis(frac, 0, -1).astype(np.float32), dims=("lat", "lon", "zone"),
                        coords={"lat": fine_grid["lat"].values, "lon": fine_grid["lon"].values,
                                "zone": np.asarray(labels)})


def apply(
    product: xr.Dataset, zone_bma: ZoneBMA, zones: xr.DataArray, *, missing: str = "nan",
    smooth: bool = True,
) -> xr.Dataset:
    """Add the BMA mean and its predictive spread to a product.

    Parameters
    ----------
    product : xarray.Dataset
        ``sm(model, time, lat, lon)`` float32, m3 m-3, on the fine grid, with
        every member of ``zone_bma`` among the ``model`` values. Eager or
        dask-backed (the result then stays lazy).
    zone_bma : ZoneBMA
        Per-zone parameters from :func:`fit_zones` (or :meth:`ZoneBMA.from_dataset`).
    zones : xarray.DataArray
        ``zone(lat, lon)`` on the coarse grid (mapped to the fine grid with
        :func:`smkit.bma.zones.zones_to_fine`), or already on the product's grid.
    missing : {"nan", "renormalise"}, default "nan"
        Where a member with a nonzero weight is NaN, ``nan`` leaves ``bma`` and
        ``sm_std`` NaN (a merged value always uses the same members, so it
        never jumps where one learner has a gap); ``renormalise`` uses the
        available members with their weights rescaled to sum to one.
    smooth : bool, default True
        Blend the zones' parameters across zone boundaries over half a cell
        (:func:`zone_fractions`) so the merged map has no step where the zone
        changes; with zones given on the product's own grid the labels are used
        as they are.

    Returns
    -------
    xarray.Dataset
        The product with ``"bma"`` appended to ``model`` in ``sm`` (the mixture
        mean ``sum_k w_k (a_k + b_k f_k)`` with the pixel's zone parameters,
        replacing an existing ``bma``), and ``sm_std(time, lat, lon)``, the
        mixture standard deviation (m3 m-3), with their CF/ACDD metadata
        (:func:`smkit.core.cf.cf_product`). Pixels without a zone (label -1:
        their cell never had a retrieval) use the pooled fit, or are NaN when
        ``zone_bma`` has none. Zones of the map missing from ``zone_bma`` use
        its pooled fit (with a :class:`BMAWarning`).
    """
    check_choice("missing", missing, MISSING)
    zones = check_zones(zones)
    product, sm, have = _checked_product(product, zone_bma.members)
    same = (  # zones on the product's grid
        zones.sizes.get("lat") == sm.sizes["lat"]
        and zones.sizes.get("lon") == sm.sizes["lon"]
        and np.allclose(zones["lat"].values, sm["lat"].values)
        and np.allclose(zones["lon"].values, sm["lon"].values)
    )
    fine = (zones if same else zones_to_fine(zones, product)).astype(np.int32)
    fine = fine.assign_coords(lat=sm["lat"], lon=sm["lon"])
    labels, W, C, S = _parameter_tables(zone_bma, zones)
    f = sm.sel({"model": list(zone_bma.members)})
    if smooth and not same and labels[0] != _NO_LABEL:
        frac = zone_fractions(zones, labels, sm)
        if f.chunks is not None:
            f = f.chunk({"model": -1})
            frac = frac.chunk({"lat": f.chunksizes["lat"], "lon": f.chunksizes["lon"], "zone": -1})
        mean, std = xr.apply_ufunc(
            _bma_blend_kernel, f, frac,
            input_core_dims=[["model"], ["zone"]], output_core_dims=[[], []],
            kwargs={"W": W, "C": C, "S": S, "missing": missing},
            dask="parallelized", output_dtypes=[np.float32, np.float32],
        )
    else:
        if f.chunks is not None:
            f = f.chunk({"model": -1})
            fine = fine.chunk({"lat": f.chunksizes["lat"], "lon": f.chunksizes["lon"]})
        mean, std = xr.apply_ufunc(
            _bma_kernel,
            f,
            fine,
            input_core_dims=[["model"], []],
            output_core_dims=[[], []],
            kwargs={"labels": labels, "W": W, "C": C, "S": S, "missing": missing},
            dask="parallelized",
            output_dtypes=[np.float32, np.float32],
        )
    return _with_bma(product, sm, have, mean, std, zone_bma, missing)


def _checked_product(product, members) -> tuple[xr.Dataset, xr.DataArray, list[str]]:
    """The product as a Dataset, its ``sm`` and its models, checked to hold every member."""
    if isinstance(product, xr.DataArray):
        product = product.to_dataset(name="sm")
    if "sm" not in product.data_vars:
        raise KeyError(
            f"product has no 'sm' variable; variables: {sorted(map(str, product.data_vars))}"
        )
    sm = product["sm"]
    if "model" not in sm.dims:
        raise ValueError(f"product sm needs a 'model' dim; got {sm.dims}")
    have = [str(m) for m in sm["model"].values]
    absent = [m for m in members if m not in have]
    if absent:
        raise KeyError(f"product lacks member model(s) {absent}; it has {have}")
    return product, sm, have


def _parameter_tables(zone_bma: ZoneBMA, zones: xr.DataArray):
    """Labels and weights (L, K), bias coefficients (L, K, 2), sigma (L, K) for every label of the map.

    Label -1 (cells without a zone) and zones missing from the fit take the
    pooled parameters; with no label at all the one label matches nothing.
    """
    labels = np.array(sorted({int(v) for v in np.unique(zones.values) if int(v) != -1}), np.int64)
    fitted = set(zone_bma.zones.tolist())
    unknown = [int(z) for z in labels if int(z) not in fitted]
    if zone_bma.pooled is not None and (np.asarray(zones.values) == -1).any():
        # cells without a zone (never a retrieval, so no k-means label) take the pooled weights
        labels = np.concatenate([[-1], labels]).astype(np.int64)
    if unknown:
        if zone_bma.pooled is None:
            raise KeyError(
                f"zone(s) {unknown} of the map have no BMA parameters and the fit has no pooled "
                "parameters; refit with fit_zones(..., zones=zones)"
            )
        warnings.warn(
            f"zone(s) {unknown} of the map are not in the BMA fit; they use the pooled fit",
            BMAWarning,
            stacklevel=3,
        )
    K = len(zone_bma.members)
    W = np.zeros((max(len(labels), 1), K))
    C = np.zeros((max(len(labels), 1), K, 2))
    S = np.zeros((max(len(labels), 1), K))
    for i, z in enumerate(labels):
        p = zone_bma.params_for(int(z) if int(z) in fitted else "pooled")  # -1 and unfitted: pooled
        W[i], C[i], S[i] = p["weights"], p["bias_coefs"], p["sigma"]
    if len(labels) == 0:
        labels = np.array([_NO_LABEL])  # matches nothing: all NaN
    return labels, W, C, S


def _with_bma(product: xr.Dataset, sm: xr.DataArray, have: list[str], mean: xr.DataArray,
              std: xr.DataArray, zone_bma: ZoneBMA, missing: str) -> xr.Dataset:
    """The product with ``bma`` appended to (or replaced in) ``model`` and ``sm_std`` added."""
    dims = [d for d in sm.dims if d != "model"]
    mean = mean.transpose(*dims).expand_dims(model=["bma"])
    std = std.transpose(*dims)
    keep = sm.sel({"model": [m for m in have if m != "bma"]})
    new_sm = xr.concat(
        [keep, mean.drop_vars([c for c in mean.coords if c not in keep.coords], errors="ignore")],
        dim="model",
    ).transpose(*sm.dims)
    names = np.array([*(m for m in have if m != "bma"), "bma"], dtype=object)
    if sm["model"].dtype.kind == "U":
        names = names.astype(str)
    new_sm = new_sm.astype(np.float32).assign_coords(model=names)
    new_sm.attrs = dict(sm.attrs)
    new_sm.attrs.setdefault("units", SM_UNITS)
    std.attrs = {
        "long_name": "BMA predictive standard deviation of soil moisture",
        "units": SM_UNITS,
        "bma_method": zone_bma.method,
    }
    others = [v for v in product.data_vars if v != "sm" and "model" in product[v].dims]
    out = product.drop_vars(["sm", *others, "model"])
    out = out.assign(sm=new_sm, sm_std=std.astype(np.float32))
    for v in others:
        out[v] = product[v].reindex(model=new_sm["model"].values)
    out.attrs.update(
        {
            "bma_method": zone_bma.method,
            "bma_members": " ".join(zone_bma.members),
            "bma_missing": missing,
        }
    )
    return cf_product(out)  # CF/ACDD metadata, the model coordinate describing bma too
