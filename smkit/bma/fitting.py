"""BMA fitted on one's own product in one call: zones, station matching and the per-zone fit.

:func:`fit_product` takes a downscaled product and in-situ stations and does
what the study does between them: climate zones by k-means (from the coarse
retrieval, or from the product itself when no retrieval is given), the
product's members matched to each station's observing period at its pixel
(:func:`smkit.core.matching.match_stations`), each station given the zone of
its matched pixel (:func:`zone_pairs`), and the weights fitted per zone
(:func:`smkit.bma.fit_zones`). The result, a :class:`ProductBMA`, applies
itself to that product or to another one on the same grid (another year).

Units: soil moisture, bias intercepts and ``sigma`` in m3 m-3; weights (1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from smkit.bma.perzone import ZoneBMA, fit_zones
from smkit.bma.product import apply
from smkit.bma.zones import NO_ZONE, kmeans_zones, zone_of_stations
from smkit.core.matching import match_stations, to_pairs
from smkit.core.pixels import as_product
from smkit.core.schema import require_dataset
from smkit.core.vocabulary import LEARNER_ORDER

__all__ = ["ProductBMA", "fit_product", "product_zones", "zone_pairs"]


def zone_pairs(matched: xr.Dataset, zones: xr.DataArray | None = None) -> tuple[xr.Dataset, pd.DataFrame]:
    """The matched stations with their zone, and their tidy pairs with a ``zone`` column.

    Each station gets the zone of the coarse cell holding the centre of its
    matched pixel, so a station on a cell edge gets the zone of the cell its
    product values come from.

    Parameters
    ----------
    matched : xarray.Dataset
        Stations matched to a product (:func:`smkit.core.matching.match_stations`),
        with ``pixel_lat`` / ``pixel_lon`` (degrees).
    zones : xarray.DataArray, optional
        ``zone(lat, lon)`` on the coarse grid; None: every station in zone 1.

    Returns
    -------
    (xarray.Dataset, pandas.DataFrame)
        ``matched`` with a ``zone(station)`` coordinate (-1: outside every
        zone) when ``zones`` is given, and :func:`smkit.core.matching.to_pairs`
        of it with a ``zone`` column.
    """
    if zones is not None:
        where = pd.DataFrame({"lat": matched["pixel_lat"].values, "lon": matched["pixel_lon"].values,
                              "name": matched["name"].values})
        inside = np.isfinite(where["lat"].to_numpy())
        zone = np.full(len(where), NO_ZONE)
        if inside.any():
            zone[inside] = np.asarray(zone_of_stations(zones, where[inside].reset_index(drop=True)))
        matched = matched.assign_coords(zone=("station", zone))
    pairs = to_pairs(matched)
    zone = matched["zone"].values if "zone" in matched.coords else np.ones(matched.sizes["station"], int)
    pairs["zone"] = zone[np.searchsorted(matched["station"].values, pairs["station"].values)]
    return matched, pairs


def product_zones(product: xr.Dataset, *, coarse: xr.Dataset | None = None, k: int = 7, seed: int = 0,
                  members=None) -> xr.DataArray:
    """Climate zones for a product: k-means on the multi-year mean coarse soil moisture.

    Parameters
    ----------
    product : xarray.Dataset
        ``sm(model, time, lat, lon)`` (m3 m-3) with its coarse-cell coordinates
        ``clat`` / ``clon`` (as every smkit product has).
    coarse : xarray.Dataset, optional
        The coarse retrieval (``sm``, m3 m-3): the zones come from it, as in
        the paper. Without it, the mean of the product's members over each
        coarse cell stands in for the retrieval (the windowed learners keep
        the retrieval's cell means, so the zones are close to the same).
    k : int, default 7
        Number of zones.
    seed : int, default 0
        k-means seed.
    members : sequence of str, optional
        Members averaged when ``coarse`` is not given (default: the learners present).

    Returns
    -------
    xarray.DataArray
        ``zone(lat, lon)`` on the coarse grid (1 = driest; -1 = no retrieval).
    """
    if coarse is not None:
        return kmeans_zones(require_dataset(coarse, "coarse")["sm"], k=k, seed=seed)
    sm = as_product(product)
    if "clat" not in product.coords or "clon" not in product.coords:
        raise ValueError("the product has no coarse-cell coordinates clat/clon: pass coarse= (the retrieval) "
                         "or zones= to fit_product")
    members = _members(sm, members)
    fy, fx = sm.sizes["lat"] // product.sizes["clat"], sm.sizes["lon"] // product.sizes["clon"]
    cell = (sm.sel(model=members).mean("model").coarsen(lat=fy, lon=fx, boundary="trim").mean()
            .assign_coords(lat=product["clat"].values, lon=product["clon"].values))
    return kmeans_zones(cell.astype(np.float64), k=k, seed=seed)


def _members(sm: xr.DataArray, members) -> list[str]:
    have = [str(m) for m in sm["model"].values]
    if members is None:
        members = [m for m in have if m in LEARNER_ORDER]
        if not members:
            raise ValueError(f"the product holds none of the learners {list(LEARNER_ORDER)}; its models are {have}")
        return members
    missing = [m for m in members if m not in have]
    if missing:
        raise ValueError(f"members {missing} are not in the product; its models are {have}")
    return list(members)


@dataclass(frozen=True, repr=False)
class ProductBMA:
    """BMA weights fitted on a product at stations, ready to apply to a product on the same grid.

    Attributes
    ----------
    zone_bma : smkit.bma.ZoneBMA
        The per-zone parameters (weights (1), ``sigma`` (m3 m-3), bias coefficients).
    zones : xarray.DataArray
        ``zone(lat, lon)`` on the coarse grid used for the fit.
    members : tuple of str
        The merged learners.
    pairs : pandas.DataFrame
        The station pairs the weights were fitted on (``zone``, ``obs`` and a
        column per member, m3 m-3).
    period : tuple of str
        First and last day of the fitting pairs (ISO dates).
    """

    zone_bma: ZoneBMA
    zones: xr.DataArray
    members: tuple[str, ...]
    pairs: pd.DataFrame
    period: tuple[str, str]

    @property
    def weights(self) -> pd.DataFrame:
        """Weights, sigma, pair counts and fallback flag per zone (:meth:`ZoneBMA.table`)."""
        return self.zone_bma.table()

    def apply(self, product: xr.Dataset, *, missing: str = "nan", smooth: bool = True) -> xr.Dataset:
        """The product with ``bma`` appended to ``model`` and its predictive spread ``sm_std`` (m3 m-3).

        ``product`` may be the one the weights were fitted on or another on
        the same grid (e.g. a later year); see :func:`smkit.bma.apply` for
        ``missing`` and ``smooth``.
        """
        return apply(require_dataset(product, "product"), self.zone_bma, self.zones, missing=missing,
                     smooth=smooth)

    def __repr__(self) -> str:
        w = self.zone_bma.weights.mean("zone").values
        mean = ", ".join(f"{m} {v:.2f}" for m, v in zip(self.members, w, strict=True))
        n_zones = self.zone_bma.weights.sizes["zone"]
        return (f"<ProductBMA {self.zone_bma.method}: {n_zones} zones, {len(self.pairs)} pairs "
                f"({self.pairs['station'].nunique() if 'station' in self.pairs else '?'} stations, "
                f"{self.period[0]} to {self.period[1]}); mean weights {mean}>")


def fit_product(
    product: xr.Dataset,
    stations: xr.Dataset,
    *,
    zones: xr.DataArray | None = None,
    coarse: xr.Dataset | None = None,
    k: int = 7,
    seed: int = 0,
    members=None,
    period: slice | None = None,
    method: str = "em",
    **kw,
) -> ProductBMA:
    """Fit BMA per climate zone on a product against in-situ stations, in one call.

    Parameters
    ----------
    product : xarray.Dataset
        ``sm(model, time, lat, lon)`` (m3 m-3), e.g. from :func:`smkit.downscale`.
    stations : xarray.Dataset
        In-situ stations (dims ``station, time``; ``sm`` m3 m-3 or NZW's ``rsm``;
        coords ``lat``, ``lon``, ``network``; see :func:`smkit.core.matching.match_stations`).
    zones : xarray.DataArray, optional
        ``zone(lat, lon)`` on the coarse grid; default :func:`product_zones`
        (k-means on ``coarse`` or on the product's cell means).
    coarse : xarray.Dataset, optional
        The coarse retrieval, for the zones (the paper's choice).
    k, seed : int
        Number of zones and k-means seed (when the zones are computed).
    members : sequence of str, optional
        Learners to merge (default: every learner in the product).
    period : slice, optional
        Days whose pairs fit the weights, e.g. ``slice("2008", "2009")`` so a
        later year stays independent; default every day.
    method : {"em", "pymc", "mc3"}, default "em"
        Estimator (:data:`smkit.bma.ESTIMATORS`).
    **kw
        Passed to :func:`smkit.bma.fit_zones` (``min_pairs``, ``min_stations``,
        ``bias_correction`` ...).

    Returns
    -------
    ProductBMA
        With ``.apply(product)`` giving the product with ``bma`` and ``sm_std``.

    Raises
    ------
    ValueError
        When no station has a complete pair (every member and the observation)
        in ``period``, naming the stations and days that were looked at.

    Examples
    --------
    >>> import smkit
    >>> from smkit.bma import fit_product
    >>> sc = smkit.make_scenario("tiny")
    >>> sel = {"time": slice("2009-06-01", "2009-07-31")}
    >>> p = smkit.downscale(sc.coarse.sel(sel), sc.fine.sel(sel), learners=("mlr", "rf"), progress=False)
    >>> fit = fit_product(p, sc.stations, coarse=sc.coarse, k=2, min_pairs=5, min_stations=1)
    >>> out = fit.apply(p)
    >>> [str(m) for m in out["model"].values], out["sm_std"].attrs["units"]
    (['mlr', 'rf', 'bma'], 'm3 m-3')
    """
    product = require_dataset(product, "product")
    members = _members(as_product(product), members)
    if zones is None:
        zones = product_zones(product, coarse=coarse, k=k, seed=seed, members=members)
    matched = match_stations(product, require_dataset(stations, "stations"), models=members)
    _, pairs = zone_pairs(matched, zones)
    if period is not None:
        days = pd.DatetimeIndex(pairs["time"])
        lo = pd.Timestamp(period.start) if period.start is not None else days.min()
        hi = pd.Timestamp(period.stop) if period.stop is not None else days.max()
        if period.stop is not None and len(str(period.stop)) == 4:  # a year: through its last day
            hi = pd.Timestamp(f"{period.stop}-12-31")
        pairs = pairs[(days >= lo) & (days <= hi)]
    complete = pairs[np.isfinite(pairs[[*members, "obs"]].to_numpy(float)).all(axis=1)]
    if complete.empty:
        raise ValueError(f"no complete station pair (obs and every member of {members}) "
                         f"{'in ' + repr(period) if period is not None else ''}: {matched.sizes['station']} "
                         "stations were matched; check that they lie inside the product and observe on its days")
    zone_bma = fit_zones(complete, method=method, zones=zones, members=members, **kw)
    times = pd.DatetimeIndex(complete["time"])
    return ProductBMA(zone_bma, zones, tuple(members), complete.reset_index(drop=True),
                      (str(times.min().date()), str(times.max().date())))
