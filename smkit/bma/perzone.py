"""BMA per climate zone: :func:`fit_zones` fits one estimator per zone into a :class:`ZoneBMA`."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from smkit.bma.estimators import ESTIMATORS, get_estimator
from smkit.bma.mixture import BMAFit, BMAWarning, ConvergenceWarning
from smkit.bma.pymc import diagnostics
from smkit.core.schema import check_soil_moisture
from smkit.core.vocabulary import LEARNER_ORDER, SM_UNITS

__all__ = ["RESERVED_COLUMNS", "ZoneBMA", "fit_zones"]

#: Columns of a pairs table that are never members.
RESERVED_COLUMNS = frozenset(
    "zone obs station name network time lat lon cadence elevation land_cover status "
    "pixel_lat pixel_lon cell_lat cell_lon".split()
)


@dataclass
class ZoneBMA:
    """BMA parameters per zone.

    Attributes
    ----------
    method : str
        Estimator key (``em``, ``pymc`` or ``mc3``).
    members : tuple of str
        Member names, in the order of the ``member`` dimension.
    weights : xarray.DataArray
        ``weights(zone, member)`` (1); posterior mean for ``pymc``,
        model-averaged for ``mc3``.
    sigma : xarray.DataArray
        ``sigma(zone)`` (m3 m-3), or ``sigma(zone, member)`` without equal variance.
    bias_coefs : xarray.DataArray
        ``bias_coefs(zone, member, coef)``, ``coef`` = intercept (m3 m-3), slope (1).
    n_pairs : xarray.DataArray
        ``n_pairs(zone)``: complete pairs of each zone (before any fallback).
    fallback : tuple of int
        Zones that use the pooled fit.
    weights_sd : xarray.DataArray or None
        ``weights_sd(zone, member)``: posterior sd of the weights (``pymc``;
        across subsets for ``mc3``); None for ``em``.
    pooled : xarray.Dataset or None
        The pooled fit (all zones together): ``weights(member)``, ``sigma``,
        ``bias_coefs(member, coef)``, ``n_pairs``; None when not computed.
    fits : dict
        Zone label (and ``"pooled"``) -> the estimator's :class:`smkit.bma.BMAFit`
        (fallback zones share the pooled one); empty after :meth:`from_dataset`.
    bias_correction : str
    equal_variance : bool
    """

    method: str
    members: tuple[str, ...]
    weights: xr.DataArray
    sigma: xr.DataArray
    bias_coefs: xr.DataArray
    n_pairs: xr.DataArray
    fallback: tuple[int, ...] = ()
    weights_sd: xr.DataArray | None = None
    pooled: xr.Dataset | None = None
    fits: dict = field(default_factory=dict, repr=False)
    bias_correction: str = "none"
    equal_variance: bool = True

    @property
    def zones(self) -> np.ndarray:
        """Zone labels."""
        return np.asarray(self.weights["zone"].values)

    @property
    def trees(self) -> dict:
        """Per-zone PyMC DataTrees (``pymc`` only; fallback zones share the pooled tree)."""
        estimator = ESTIMATORS.get(self.method)
        if estimator is None or not estimator.has_posterior:
            raise AttributeError(
                f"trees exist for method 'pymc' only; this fit used {self.method!r}"
            )
        return {z: f.posterior for z, f in self.fits.items()}

    def sigma_k(self) -> xr.DataArray:
        """``sigma(zone, member)`` broadcast to one per member (m3 m-3)."""
        return self.sigma.broadcast_like(self.weights).transpose("zone", "member")

    def __repr__(self) -> str:
        mean = self.weights.mean("zone").values
        w = ", ".join(f"{m} {v:.2f}" for m, v in zip(self.members, mean, strict=True))
        fallback = f", {len(self.fallback)} on the pooled fit" if self.fallback else ""
        return (f"<ZoneBMA {self.method}: {self.weights.sizes['zone']} zones{fallback}, "
                f"{int(self.n_pairs.sum())} pairs; mean weights {w} (.table() for every zone)>")

    def table(self) -> pd.DataFrame:
        """Weights, sigma, pair counts and fallback flag, one row per zone."""
        df = self.weights.to_pandas()
        df.columns = [f"w_{c}" for c in df.columns]
        if self.weights_sd is not None:
            for c in self.members:
                df[f"w_{c}_sd"] = self.weights_sd.sel(member=c).values
        sig = self.sigma_k()
        if self.equal_variance:
            df["sigma"] = sig.isel(member=0).values
        else:
            for c in self.members:
                df[f"sigma_{c}"] = sig.sel(member=c).values
        df["n_pairs"] = self.n_pairs.values
        df["fallback"] = [z in self.fallback for z in df.index]
        return df

    def diagnostics(self) -> pd.DataFrame:
        """:func:`diagnostics` of every zone's posterior, stacked (``pymc`` only)."""
        parts = []
        for z, dt in self.trees.items():
            d = diagnostics(dt, warn=False)
            d.insert(0, "zone", z)
            parts.append(d)
        return pd.concat(parts)

    def params_for(self, zone) -> dict:
        """Weights (K,), sigma (K,) and bias coefficients (K, 2) of one zone (or ``"pooled"``)."""
        if zone == "pooled":
            if self.pooled is None:
                raise KeyError("this ZoneBMA has no pooled fit")
            p = self.pooled
            sig = np.broadcast_to(np.asarray(p["sigma"].values, float), (len(self.members),)).copy()
            return {
                "weights": p["weights"].values,
                "sigma": sig,
                "bias_coefs": p["bias_coefs"].values,
            }
        if zone not in set(self.zones.tolist()):
            raise KeyError(f"zone {zone!r} not fitted; zones: {self.zones.tolist()}")
        return {
            "weights": self.weights.sel(zone=zone).values,
            "sigma": self.sigma_k().sel(zone=zone).values,
            "bias_coefs": self.bias_coefs.sel(zone=zone).values,
        }

    def to_dataset(self) -> xr.Dataset:
        """All parameters as a Dataset (e.g. for ``to_netcdf``); DataTrees are not included."""
        ds = xr.Dataset(
            {
                "weights": self.weights,
                "sigma": self.sigma,
                "bias_coefs": self.bias_coefs,
                "n_pairs": self.n_pairs,
                "fallback": (
                    "zone",
                    np.isin(self.zones, list(self.fallback)).astype(np.int8),
                    {
                        "long_name": "zone uses the pooled fit",
                        "flag_values": np.array([0, 1], np.int8),
                        "flag_meanings": "own_fit pooled_fit",
                    },
                ),
            }
        )
        if self.weights_sd is not None:
            ds["weights_sd"] = self.weights_sd
        if self.pooled is not None:
            for v in self.pooled.data_vars:
                ds[f"pooled_{v}"] = self.pooled[v]
        ds.attrs.update(
            {
                "title": "smkit Bayesian model averaging parameters per zone",
                "bma_method": self.method,
                "members": " ".join(self.members),
                "bias_correction": self.bias_correction,
                "equal_variance": int(self.equal_variance),
            }
        )
        return ds

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> ZoneBMA:
        """Rebuild from :meth:`to_dataset` output (fit objects are not restored)."""
        missing = {"weights", "sigma", "bias_coefs", "n_pairs", "fallback"} - set(ds.data_vars)
        if missing:
            raise KeyError(f"not a ZoneBMA dataset: missing {sorted(missing)}")
        zones = np.asarray(ds["zone"].values)
        fb = tuple(int(z) for z, f in zip(zones, ds["fallback"].values, strict=True) if f)
        pooled = None
        pv = [v for v in ds.data_vars if str(v).startswith("pooled_")]
        if pv:
            pooled = xr.Dataset({str(v)[len("pooled_") :]: ds[v] for v in pv})
        members = tuple(str(m) for m in ds["member"].values)
        return cls(
            method=str(ds.attrs.get("bma_method", "em")),
            members=members,
            weights=ds["weights"],
            sigma=ds["sigma"],
            bias_coefs=ds["bias_coefs"],
            n_pairs=ds["n_pairs"],
            fallback=fb,
            weights_sd=ds["weights_sd"] if "weights_sd" in ds else None,
            pooled=pooled,
            bias_correction=str(ds.attrs.get("bias_correction", "none")),
            equal_variance=bool(int(ds.attrs.get("equal_variance", 1))),
        )


def _zone_labels(zones) -> list[int]:
    if zones is None:
        return []
    vals = np.asarray(zones.values if isinstance(zones, xr.DataArray) else list(zones)).ravel()
    vals = vals[np.isfinite(vals.astype(float))] if vals.dtype.kind == "f" else vals
    return sorted({int(v) for v in vals if int(v) != -1})


def _default_members(pairs: pd.DataFrame) -> list[str]:
    known = [m for m in LEARNER_ORDER if m in pairs.columns]
    if known:
        return known
    return [
        str(c)
        for c in pairs.columns
        if c not in RESERVED_COLUMNS and pd.api.types.is_numeric_dtype(pairs[c])
    ]


def check_pair_values(pairs: pd.DataFrame, members: Sequence[str]) -> None:
    """Refuse station pairs holding percent or raw counts (soil moisture is m3 m-3 here).

    Parameters
    ----------
    pairs : pandas.DataFrame
        ``obs`` and the member columns (m3 m-3).
    members : sequence of str
        The member columns.

    Raises
    ------
    smkit.core.schema.InputError
        Naming the column (members may dip below 0; the observations may not).
    """
    for col in ["obs", *members]:
        da = xr.DataArray(pairs[col].to_numpy(dtype=float), dims="pair", attrs={"units": SM_UNITS})
        check_soil_moisture(da, "stations" if col == "obs" else "members", col, negative_ok=col != "obs")


def fit_zones(
    pairs: pd.DataFrame,
    *,
    method: str = "em",
    min_pairs: int = 30,
    min_stations: int = 5,
    zones=None,
    members: Sequence[str] | None = None,
    **kw,
) -> ZoneBMA:
    """Fit BMA weights per zone, with the pooled fit for zones short of stations or pairs.

    Parameters
    ----------
    pairs : pandas.DataFrame
        Tidy station pairs: ``zone`` (int label; -1 = no zone), ``obs``
        (m3 m-3) and one column per member (m3 m-3), optionally ``station``,
        ``network``, ``time``. Rows with a NaN member or obs are not used.
    method : {"em", "pymc", "mc3"}, default "em"
        Estimator (:data:`ESTIMATORS`).
    min_pairs : int, default 30
        Fewest complete pairs for a zone to get its own fit; zones with fewer
        use the pooled fit (all zones' pairs together), with a :class:`BMAWarning`.
    min_stations : int, default 5
        Fewest distinct stations (column ``station``) among a zone's complete
        pairs for it to get its own fit. Pairs of one station are not
        independent: with one to four stations a zone's weights collapse
        onto whichever member happens to match those stations (an RF weight
        of 1.00 was seen in a one-station zone), and a per-zone regression
        bias correction would fit those stations' own offsets. Ignored when
        ``pairs`` has no ``station`` column.
    zones : xarray.DataArray or iterable of int, optional
        All zone labels that need parameters (e.g. the zone map): zones
        without any pair fall back to the pooled fit too. Default: the zones
        present in ``pairs``.
    members : sequence of str, optional
        Member columns; default the learners ``rf, mlr, svr, xgb`` present in
        ``pairs``, or else every numeric column that is not a reserved
        pairs column (``zone``, ``obs``, ``station``, ``time``, ...).
    **kw
        Passed to the estimator (e.g. ``bias_correction``, ``equal_variance``,
        ``draws``, ``chains``, ``n_iter``).

    Returns
    -------
    ZoneBMA
    """
    if not isinstance(pairs, pd.DataFrame):
        raise TypeError(f"pairs must be a pandas DataFrame, not {type(pairs).__name__}")
    estimator = get_estimator(method)
    members = _member_columns(pairs, members)
    equal_variance = bool(kw.get("equal_variance", True))
    table, complete = _zoned_pairs(pairs, members)
    check_pair_values(table, members)
    labels, n_pairs, n_stations = _zone_counts(table, complete, zones)
    short = [z for z, n, ns in zip(labels, n_pairs, n_stations, strict=True)
             if n < min_pairs or ns < min_stations]

    def run(df):
        return estimator.fit(df[members], df["obs"], **kw)

    fits: dict = {}
    pooled_fit = None
    if short or not estimator.has_posterior:  # a sampled pooled fit only where a zone needs it
        if len(complete) < 2:
            raise ValueError(
                f"only {len(complete)} complete pair(s) in all zones together: cannot fit BMA"
            )
        pooled_fit = run(complete)
        fits["pooled"] = pooled_fit
    if short:
        with_st = "station" in complete.columns
        have = {z: (int(n_pairs[labels.index(z)]), int(n_stations[labels.index(z)]) if with_st else None)
                for z in short}
        warnings.warn(
            f"zone(s) {short} have fewer than min_pairs={min_pairs} complete pairs or "
            f"min_stations={min_stations} stations ((pairs, stations): {have}) "
            f"and use the pooled fit of all zones ({len(complete)} pairs)",
            BMAWarning,
            stacklevel=2,
        )
    for z in labels:
        fits[z] = pooled_fit if z in short else run(complete[complete["zone"] == z])
        if fits[z].posterior is not None and not (z in short and z != short[0]):  # each posterior once
            _check_posterior(fits[z].posterior, "the pooled fit" if z in short else f"zone {z}")
    arrays = _zone_arrays([fits[z] for z in labels], labels, members, n_pairs, equal_variance)
    return ZoneBMA(
        method=method,
        members=tuple(members),
        **arrays,
        fallback=tuple(int(z) for z in short),
        pooled=None if pooled_fit is None else _pooled_dataset(pooled_fit, arrays, members,
                                                                len(complete), equal_variance),
        fits=fits,
        bias_correction=kw.get("bias_correction", "none"),
        equal_variance=equal_variance,
    )


def _member_columns(pairs: pd.DataFrame, members) -> list[str]:
    """The member columns of ``pairs`` (given, or the default ones), checked with ``zone`` and ``obs``."""
    for c in ("zone", "obs"):
        if c not in pairs.columns:
            raise KeyError(f"pairs lack column {c!r}; columns: {list(pairs.columns)}")
    members = list(members) if members is not None else _default_members(pairs)
    if not members:
        raise ValueError(
            f"no member columns found in pairs (columns: {list(pairs.columns)}); pass members="
        )
    absent = [m for m in members if m not in pairs.columns]
    if absent:
        raise KeyError(f"member column(s) {absent} not in pairs; columns: {list(pairs.columns)}")
    return members


def _zoned_pairs(pairs: pd.DataFrame, members: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The pairs with an integer zone (those without one dropped, with a warning), and their complete rows."""
    zcol = pd.to_numeric(pairs["zone"], errors="coerce")
    table = pairs.assign(zone=zcol)
    nozone = table["zone"].isna() | (table["zone"] == -1)
    if nozone.any():
        warnings.warn(
            f"{int(nozone.sum())} pair(s) without a zone (zone -1 or missing) are not used",
            BMAWarning,
            stacklevel=3,
        )
        table = table[~nozone]
    table = table.assign(zone=table["zone"].astype(np.int64))
    vals = table[members + ["obs"]].to_numpy(dtype=np.float64)
    return table, table[np.isfinite(vals).all(axis=1)]


def _zone_counts(table: pd.DataFrame, complete: pd.DataFrame, zones):
    """Every zone label (of the pairs and of ``zones``), with its complete pairs and distinct stations."""
    labels = sorted(
        set(complete["zone"].unique().tolist())
        | set(table["zone"].unique().tolist())
        | set(_zone_labels(zones))
    )
    if not labels:
        raise ValueError("pairs hold no zone and no zones were given")
    counts = complete.groupby("zone").size()
    n_pairs = np.array([int(counts.get(z, 0)) for z in labels])
    if "station" in complete.columns:
        st_counts = complete.groupby("zone")["station"].nunique()
        n_stations = np.array([int(st_counts.get(z, 0)) for z in labels])
    else:
        n_stations = np.full(len(labels), np.iinfo(np.int64).max)
    return labels, n_pairs, n_stations


def _check_posterior(posterior: xr.DataTree, where: str) -> None:
    """Re-emit the convergence warnings of one posterior's :func:`diagnostics`, saying whose they are."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        diagnostics(posterior, warn=True)
    for c in caught:
        warnings.warn(f"{where}: {c.message}", c.category, stacklevel=3)


def _zone_arrays(fits: list[BMAFit], labels, members, n_pairs, equal_variance: bool) -> dict:
    """The per-zone DataArrays of :class:`ZoneBMA` from one fit per zone label."""
    K = len(members)
    W = np.zeros((len(labels), K))
    WS = np.full((len(labels), K), np.nan)
    S = np.zeros((len(labels), K))
    C = np.zeros((len(labels), K, 2))
    for i, f in enumerate(fits):
        W[i], S[i], C[i] = f.weights, f.sigma_k, f.bias_coefs
        if f.weights_sd is not None:
            WS[i] = f.weights_sd
    zc = {
        "zone": ("zone", np.asarray(labels, np.int64), {"long_name": "soil-moisture climate zone"}),
        "member": list(members),
    }
    sigma_attrs = {"long_name": "BMA component standard deviation", "units": SM_UNITS}
    return {
        "weights": xr.DataArray(W, dims=("zone", "member"), coords=zc, name="weights",
                                attrs={"long_name": "BMA weight", "units": "1"}),
        "sigma": xr.DataArray(S[:, 0], dims="zone", coords={"zone": zc["zone"]}, name="sigma",
                              attrs=sigma_attrs) if equal_variance
        else xr.DataArray(S, dims=("zone", "member"), coords=zc, name="sigma", attrs=sigma_attrs),
        "bias_coefs": xr.DataArray(
            C,
            dims=("zone", "member", "coef"),
            coords={**zc, "coef": ["intercept", "slope"]},
            name="bias_coefs",
            attrs={
                "long_name": "bias-correction coefficients (corrected = intercept + slope * member)",
                "units": "intercept: m3 m-3; slope: 1",
            },
        ),
        "n_pairs": xr.DataArray(n_pairs, dims="zone", coords={"zone": zc["zone"]}, name="n_pairs",
                                attrs={"long_name": "complete station pairs in the zone", "units": "1"}),
        "weights_sd": None if all(f.weights_sd is None for f in fits) else xr.DataArray(
            WS, dims=("zone", "member"), coords=zc, name="weights_sd",
            attrs={"long_name": "posterior standard deviation of the BMA weight", "units": "1"}),
    }


def _pooled_dataset(fit: BMAFit, arrays: dict, members, n: int, equal_variance: bool) -> xr.Dataset:
    """The pooled fit as :attr:`ZoneBMA.pooled`, with the attributes of the per-zone arrays."""
    ps = fit.sigma_k
    return xr.Dataset(
        {
            "weights": ("member", np.asarray(fit.weights), arrays["weights"].attrs),
            "sigma": ((), float(ps[0]), arrays["sigma"].attrs)
            if equal_variance
            else ("member", ps, arrays["sigma"].attrs),
            "bias_coefs": (("member", "coef"), np.asarray(fit.bias_coefs), arrays["bias_coefs"].attrs),
            "n_pairs": ((), n, arrays["n_pairs"].attrs),
        },
        coords={"member": list(members), "coef": ["intercept", "slope"]},
    )
