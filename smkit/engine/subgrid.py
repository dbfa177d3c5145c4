"""The sub-grid pattern learned at the fine scale from point data.

Windowed learners are trained between 25-km cell means, and relations between
cell means do not hold inside a cell (change of support): elevation, for
one, makes a cell wetter through rain and cold but a pixel within a cell
drier when it sits on a ridge. Stations are the only fine-scale target the
method has. This module learns from them how a pixel departs from its cell,
and adds that to a product without changing its cell means:

1. **Features** (:func:`design`) of every fine pixel: each covariate's
   anomaly from its own smooth cell-mean field (pixel minus the bilinear
   interpolation of the cell means, :func:`smkit.engine.features.smooth_native`),
   the same anomaly times the product's own wetness, and the smooth
   cell-level fields themselves (context).
2. **Fit** (:func:`fit_subgrid`): per learner, a ridge regression
   (:class:`SubgridModel`; the penalty chosen by leave-one-station-out
   cross-validation) of *station minus product at the station's pixel* on
   the features at the station, both averaged over each observation's
   period (QXZ daily, CERN pentads, NZW dekads) -- *within stations*: each
   station's own means of the target and of the features are removed first
   (a fixed-effects regression). A single probe's static offset from its
   pixel (a few hundredths) is as large as the static sub-grid signal and
   cannot be told from it with a dozen stations: fitted across stations, the
   pattern does not carry to a left-out station (leave-one-station-out r
   -0.47 on the demo), fitted within stations it does (+0.30). So the model
   learns how a pixel's departure *varies in time* with its covariates.
3. **Apply** (:func:`apply_subgrid`): the predicted departure from each
   pixel's own mean over the product's period, minus its smooth cell-mean
   field, is added to the product. That keeps the product's cell means (to
   the curvature of the interpolant) and its static sub-grid pattern, and is
   continuous across cell edges; values are clipped to ``[0, sm_max]``. The
   work is split into (day block, tile) chunks with halos and run lazily by
   dask; each tile's pixel means are one pass over its days.

Covariates are prepared as the engine prepares them: cloud gaps filled in
time (:func:`smkit.engine.fill_time_gaps`) and covariates on a coarser native
grid interpolated from their cell centres.
"""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
import pandas as pd
import xarray as xr
from sklearn.base import BaseEstimator, RegressorMixin

from smkit._compat import renamed_keywords
from smkit.core.grid import Grid
from smkit.engine.features import COVARIATES, fill_time_gaps, native_block, smooth_cell_field, smooth_native

__all__ = ["DEFAULT_ALPHAS", "SubgridModel", "apply_subgrid", "design", "feature_names", "fit_subgrid",
           "oracle_stations", "station_table"]

#: Ridge penalties tried by the leave-one-station-out cross-validation.
DEFAULT_ALPHAS = (1.0, 10.0, 100.0, 1000.0, 10000.0)
_LEVEL_REF = 0.2  # m3 m-3: wetness about which the anomalies' effect is allowed to change
_HALO_CELLS = 3  # a pixel's correction depends on the cells up to three rings around it


def feature_names(covariates) -> list[str]:
    """Names of the columns of :func:`design`."""
    names = [f"{v}_anomaly" for v in covariates]
    names += [f"{v}_anomaly_x_wetness" for v in covariates]
    names += [f"{v}_cell" for v in covariates] + ["wetness"]
    return names


def design(covs: dict[str, np.ndarray], level: np.ndarray, factor: int) -> np.ndarray:
    """The features of every pixel of a block (see the module docstring).

    Parameters
    ----------
    covs : dict of ndarray, shape (T, Y, X) each
        Prepared covariates (gap-filled, smoothed from their native grid) on
        a block whose edges are coarse-cell edges.
    level : ndarray, shape (T, Y, X)
        The product's smooth cell-level field (m3 m-3).
    factor : int
        Fine pixels per coarse cell.

    Returns
    -------
    list of ndarray, shape (T, Y, X) each
        The K features in the order of :func:`feature_names`.
    """
    anomalies, cells = [], []
    for a in covs.values():
        cell = smooth_native(a, factor)
        anomalies.append(a - cell)
        cells.append(cell)
    wet = level - _LEVEL_REF
    return [*anomalies, *[a * wet for a in anomalies], *cells, level]


class SubgridModel(RegressorMixin, BaseEstimator):
    """Ridge regression of a pixel's departure from the product on its sub-grid features.

    Parameters
    ----------
    alphas : sequence of float
        Penalties on the standardised coefficients to choose from.
    cv : int or iterable, optional
        Cross-validation of the choice (scikit-learn's ``RidgeCV``); the
        fitting functions pass leave-one-station-out splits.

    Attributes
    ----------
    alpha_ : float
        The chosen penalty.
    coef_ : ndarray, shape (K,)
        Coefficients on the raw features.
    intercept_ : float
    n_samples_ : int
    """

    def __init__(self, alphas=DEFAULT_ALPHAS, cv=None):
        self.alphas = alphas
        self.cv = cv

    def fit(self, X, y):
        """Standardise, choose the penalty by cross-validation, keep the raw-scale coefficients."""
        from sklearn.linear_model import RidgeCV

        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if X.ndim != 2 or len(X) != len(y):
            raise ValueError(f"X must be (n, K) and y (n,), got {X.shape} and {y.shape}")
        if len(y) < 2 * X.shape[1]:
            raise ValueError(f"{len(y)} samples are too few to fit {X.shape[1]} sub-grid features")
        mean = X.mean(0)
        scale = X.std(0)
        scale = np.where(scale > 1e-12, scale, 1.0)
        cv = self.cv
        if cv is not None and not isinstance(cv, int):
            cv = list(cv)
        model = RidgeCV(alphas=np.asarray(self.alphas, dtype=float), cv=cv).fit((X - mean) / scale, y)
        self.alpha_ = float(model.alpha_)
        self.coef_ = model.coef_ / scale
        self.intercept_ = float(model.intercept_ - (mean * self.coef_).sum())
        self.n_samples_ = int(len(y))
        return self

    def predict(self, X):
        """Departure of each row from the product, m3 m-3."""
        return np.asarray(X, dtype=np.float64) @ self.coef_ + self.intercept_


# --------------------------------------------------------------------------- covariate preparation
def _prepare(fine: xr.Dataset, covariates, t0, t1, r0, r1, c0, c1, gap_days, native, origin):
    """Covariates of a block (rows r0:r1, columns c0:c1, days t0:t1 of ``fine``), NaN outside, prepared."""
    nt, ny, nx = fine.sizes["time"], fine.sizes["lat"], fine.sizes["lon"]
    out = {}
    for name in covariates:
        m = native.get(name, 0)
        rr0, rr1, cc0, cc1 = r0 - m, r1 + m, c0 - m, c1 + m
        d0, d1 = t0 - gap_days, t1 + gap_days
        a = np.full((d1 - d0, rr1 - rr0, cc1 - cc0), np.nan)
        a0, a1, b0, b1 = max(rr0, 0), min(rr1, ny), max(cc0, 0), min(cc1, nx)
        e0, e1 = max(d0, 0), min(d1, nt)
        var = fine[name].isel(lat=slice(a0, a1), lon=slice(b0, b1))
        if "time" in var.dims:
            vals = var.isel(time=slice(e0, e1)).transpose("time", "lat", "lon").values
        else:
            vals = np.broadcast_to(var.transpose("lat", "lon").values, (e1 - e0, a1 - a0, b1 - b0))
        a[e0 - d0 : e1 - d0, a0 - rr0 : a1 - rr0, b0 - cc0 : b1 - cc0] = vals
        if gap_days and "time" in fine[name].dims and np.isnan(a).any():
            a, _ = fill_time_gaps(a, gap_days)
        a = a[gap_days : a.shape[0] - gap_days]
        if m:
            a = smooth_native(a, m, origin[0] + rr0, origin[1] + cc0)
            a = a[:, m : a.shape[1] - m, m : a.shape[2] - m]
        out[name] = a
    return out


def _read_block(da_: xr.DataArray, t0, t1, r0, r1, c0, c1) -> np.ndarray:
    """Values (T, Y, X) of a (time, lat, lon) array over a block, NaN outside."""
    ny, nx = da_.sizes["lat"], da_.sizes["lon"]
    out = np.full((t1 - t0, r1 - r0, c1 - c0), np.nan)
    a0, a1, b0, b1 = max(r0, 0), min(r1, ny), max(c0, 0), min(c1, nx)
    if a0 < a1 and b0 < b1:
        out[:, a0 - r0 : a1 - r0, b0 - c0 : b1 - c0] = da_.isel(
            time=slice(t0, t1), lat=slice(a0, a1), lon=slice(b0, b1)).transpose("time", "lat", "lon").values
    return out


def _setup(product: xr.Dataset, fine: xr.Dataset, covariates, smooth_coarse: bool):
    fgrid = Grid.from_dataset(fine)
    factor = int(product.attrs.get("factor", 0)) or None
    if factor is None:
        raise ValueError("the product carries no 'factor' attribute (fine pixels per coarse cell)")
    native = {v: native_block(fine[v], fgrid.res) for v in covariates} if smooth_coarse else {}
    native = {k: b for k, b in native.items() if b > 1}
    origin = tuple(int(g) for g in fgrid.global_index(fgrid.lat[0], fgrid.lon[0]))
    if not (np.array_equal(product["lat"].values, fine["lat"].values)
            and np.array_equal(product["lon"].values, fine["lon"].values)):
        raise ValueError("the product and the fine covariates are not on the same grid")
    return factor, native, origin


# --------------------------------------------------------------------------- training table
@renamed_keywords(methods="models")
def station_table(product: xr.Dataset, fine: xr.Dataset, stations: xr.Dataset, *, models=None,
                  covariates=COVARIATES, gap_days: int = 8,
                  smooth_coarse: bool = True, time=None) -> pd.DataFrame:
    """The sub-grid training table: features and the product at each station, over its observing periods.

    Parameters
    ----------
    product : xarray.Dataset
        ``sm(model, time, lat, lon)`` (m3 m-3) with a ``factor`` attribute.
    fine : xarray.Dataset
        The fine covariates the product was made from.
    stations : xarray.Dataset
        In-situ stations (see :func:`smkit.validate.match_stations`).
    models : sequence of str, optional
        Product models (values of the ``model`` dimension; default all).
    covariates : sequence of str
    gap_days : int
        Longest cloud gap filled in time, days (the engine's default).
    smooth_coarse : bool
        Interpolate covariates from their native grid (as the engine did).
    time : slice, optional
        Days to use (e.g. the training years).

    Returns
    -------
    pandas.DataFrame
        One row per station observation: ``station``, ``name``, ``network``,
        ``time``, ``obs`` (m3 m-3), the product of each model (m3 m-3) and
        the features of :func:`feature_names` per model
        (``<model>:<feature>``), each averaged over the observation's period.
    """
    from smkit.core.matching import match_stations, period_means, station_cadences

    sel = {} if time is None else {"time": time}
    prod = product.sel(sel)
    methods = [str(m) for m in prod["model"].values] if models is None else list(models)
    fin = fine.sel(time=prod["time"])
    factor, native, origin = _setup(prod, fin, covariates, smooth_coarse)
    matched = match_stations(prod[["sm"]].sel({"model": methods}), stations)
    ok = matched["status"].values == "ok"
    days = pd.DatetimeIndex(prod["time"].values)
    cadence = station_cadences(matched)
    names = feature_names(covariates)
    lat, lon = prod["lat"].values, prod["lon"].values
    ny, nx = len(lat), len(lon)
    windows = {}
    for s in np.flatnonzero(ok):  # a 3 x 3-cell window around each station's cell
        i = int(np.searchsorted(lat, matched["pixel_lat"].values[s]))
        j = int(np.searchsorted(lon, matched["pixel_lon"].values[s]))
        ci, cj = i // factor, j // factor
        windows[s] = ((ci - 1) * factor, (ci + 2) * factor, (cj - 1) * factor, (cj + 2) * factor, i, j)
    margin = max(native.values(), default=0)
    R0 = max(min(w[0] for w in windows.values()) - margin, 0) if windows else 0
    R1 = min(max(w[1] for w in windows.values()) + margin, ny) if windows else 0
    C0 = max(min(w[2] for w in windows.values()) - margin, 0) if windows else 0
    C1 = min(max(w[3] for w in windows.values()) + margin, nx) if windows else 0
    block_days = 32
    # read the stations' region once per block of days when it is small, else window by window
    shared = (R1 - R0) * (C1 - C0) * (block_days + 2 * gap_days) * len(covariates) * 8 < 600e6
    daily = {s: {m: np.full((len(days), len(names)), np.nan) for m in methods} for s in windows}
    for t0 in range(0, len(days), block_days):
        t1 = min(t0 + block_days, len(days))
        if shared:
            e0, e1 = max(t0 - gap_days, 0), min(t1 + gap_days, len(days))
            f_src = fin.isel(time=slice(e0, e1), lat=slice(R0, R1), lon=slice(C0, C1)).load()
            p_src = prod["sm"].sel({"model": methods}).isel(time=slice(t0, t1), lat=slice(R0, R1),
                                                              lon=slice(C0, C1)).load()
            dt, dr, dc, tt0 = e0, R0, C0, t0
        else:
            f_src, p_src, dt, dr, dc, tt0 = fin, prod["sm"].sel({"model": methods}), 0, 0, 0, 0
        for s, (r0, r1, c0, c1, i, j) in windows.items():
            covs = _prepare(f_src, covariates, t0 - dt, t1 - dt, r0 - dr, r1 - dr, c0 - dc, c1 - dc, gap_days,
                            native, (origin[0] + dr, origin[1] + dc))
            for m in methods:
                pm = p_src.sel({"model": m})
                p = _read_block(pm, t0 - tt0, t1 - tt0, r0 - dr, r1 - dr, c0 - dc, c1 - dc)
                feats = design(covs, smooth_native(p, factor), factor)
                daily[s][m][t0:t1] = np.stack([x[:, i - r0, j - c0] for x in feats], axis=-1)
    rows = []
    out_times = pd.DatetimeIndex(matched["time"].values)
    for s in windows:
        obs = matched["obs"].values[s]
        has = np.isfinite(obs)
        frame = {"station": matched["station"].values[s], "name": str(matched["name"].values[s]),
                 "network": str(matched["network"].values[s]), "time": out_times[has], "obs": obs[has]}
        for k, m in enumerate(methods):
            frame[m] = matched["pred"].values[k, s][has]
            means = period_means(daily[s][m][None], days, np.repeat(cadence[s], len(names)), out_times)
            for n, name in enumerate(names):
                frame[f"{m}:{name}"] = means[0, n][has]
        rows.append(pd.DataFrame(frame))
    if not rows:
        raise ValueError("no station lies inside the product with data: "
                         "nothing to learn the sub-grid pattern from")
    return pd.concat(rows, ignore_index=True)


def fit_subgrid(table: pd.DataFrame, methods, covariates=COVARIATES, *,
                alphas=DEFAULT_ALPHAS, min_stations: int = 3) -> dict[str, SubgridModel]:
    """One :class:`SubgridModel` per method from a :func:`station_table`.

    The target is the observation minus the method's product at the station,
    and target and features are taken within stations (each station's means
    removed: see the module docstring); the penalty is chosen by
    leave-one-station-out cross-validation, so a pattern that only one
    station supports is shrunk away.

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`station_table` (rows of the training period).
    methods : sequence of str
    covariates : sequence of str
        As given to :func:`station_table`.
    alphas : sequence of float
    min_stations : int
        Fewer stations with complete rows is an error.

    Returns
    -------
    dict
        ``{method: fitted SubgridModel}``; each carries ``stations_``, the
        names of the stations it learned from.
    """
    names = feature_names(covariates)
    models = {}
    for m in methods:
        cols = [f"{m}:{n}" for n in names]
        sub = table[["name", "obs", m, *cols]].dropna()
        stations = sub["name"].unique()
        if len(stations) < min_stations:
            raise ValueError(f"{m}: {len(stations)} station(s) with complete pairs; the sub-grid model needs "
                             f"at least {min_stations}")
        groups = sub["name"].to_numpy()
        splits = [(np.flatnonzero(groups != g), np.flatnonzero(groups == g)) for g in stations]
        x, y = _within(sub[cols].to_numpy(), groups), _within((sub["obs"] - sub[m]).to_numpy(), groups)
        model = SubgridModel(alphas=alphas, cv=splits).fit(x, y)
        model.stations_ = [str(s) for s in stations]
        models[m] = model
    return models


def _within(v: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """``v`` minus the mean of its group, per column."""
    frame = pd.DataFrame(np.asarray(v, dtype=np.float64).reshape(len(groups), -1))
    out = (frame - frame.groupby(groups).transform("mean")).to_numpy()
    return out.reshape(np.shape(v))


# --------------------------------------------------------------------------- application
def _block_predictors(product_sm, fine, covariates, models, t0, t1, y0, y1, x0, x1, factor, gap_days, native,
                      origin):
    """Products (with halo) and the linear predictor ``sum_k coef_k x_k`` of each model over a block.

    The covariates' anomalies and cell fields are computed once and shared by
    the methods; the interaction terms are folded into per-pixel slopes so no
    (T, Y, X, K) array is built.
    """
    h = _HALO_CELLS * factor
    r0, r1, c0, c1 = y0 * factor - h, y1 * factor + h, x0 * factor - h, x1 * factor + h
    covs = _prepare(fine, covariates, t0, t1, r0, r1, c0, c1, gap_days, native, origin)
    cells = {v: smooth_native(a, factor) for v, a in covs.items()}
    nv = len(covariates)
    out = {}
    for m, model in models.items():
        w = model.coef_
        p = _read_block(product_sm.sel({"model": m}), t0, t1, r0, r1, c0, c1)
        level = smooth_native(p, factor)
        wet = level - _LEVEL_REF
        lin = w[-1] * level
        for k, v in enumerate(covariates):
            lin = lin + (covs[v] - cells[v]) * (w[k] + w[nv + k] * wet) + w[2 * nv + k] * cells[v]
        out[m] = (p, lin)
    return out


def _tile_means(product_sm, fine, covariates, models, tblocks, y0, y1, x0, x1, factor, gap_days, native,
                origin):
    """Each pixel's mean over all days of each model's linear predictor (tile and halo): {m: (Y, X)}."""
    total, count = {}, {}
    for t0, t1 in tblocks:
        parts = _block_predictors(product_sm, fine, covariates, models, t0, t1, y0, y1, x0, x1, factor,
                                  gap_days, native, origin)
        for m, (_, lin) in parts.items():
            s, c = np.nansum(lin, axis=0), np.isfinite(lin).sum(axis=0)
            total[m], count[m] = (s, c) if m not in total else (total[m] + s, count[m] + c)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {m: np.where(count[m] > 0, total[m] / np.maximum(count[m], 1), np.nan) for m in total}


def _apply_block(product_sm, fine, covariates, models, means, t0, t1, y0, y1, x0, x1, factor, gap_days,
                 native, origin, sm_max):
    """The corrected products of the methods in ``models`` over cells y0:y1, x0:x1 and days t0:t1.

    Returns (M, T, Y*f, X*f) float32 in the order of ``models``.
    """
    h = _HALO_CELLS * factor
    parts = _block_predictors(product_sm, fine, covariates, models, t0, t1, y0, y1, x0, x1, factor, gap_days,
                              native, origin)
    outs = []
    for m in models:
        p, lin = parts[m]
        r = lin - means[m][None]  # the departure from the pixel's own mean
        r = np.where(np.isfinite(r), r, 0.0)  # no correction where a feature is missing
        r = r - smooth_cell_field(r, factor, iterations=1)  # keep the cell means; continuous across edges
        outs.append(np.clip((p + r)[:, h : p.shape[1] - h, h : p.shape[2] - h], 0.0, sm_max))
    return np.stack(outs).astype(np.float32)


class _Inputs:
    """The lazy product and covariates, in an object dask does not look into.

    (Passed to ``dask.delayed`` directly, dask would compute them in full
    before each task.) Each task reads its own block from them.
    """

    def __init__(self, product_sm: xr.DataArray, fine: xr.Dataset):
        self.product_sm, self.fine = product_sm, fine

    def __dask_tokenize__(self):
        return ("smkit-subgrid-inputs", id(self))


def _tile_means_of(inputs, *args):
    with dask.config.set(scheduler="synchronous"):
        return _tile_means(inputs.product_sm, inputs.fine, *args)


def _apply_block_of(inputs, *args):
    with dask.config.set(scheduler="synchronous"):
        return _apply_block(inputs.product_sm, inputs.fine, *args)


def apply_subgrid(product: xr.Dataset, fine: xr.Dataset, models: dict[str, SubgridModel], *,
                  covariates=COVARIATES, gap_days: int = 8,
                  smooth_coarse: bool = True, sm_max: float | None = None, tile: int = 24,
                  time_chunk: int = 32) -> xr.Dataset:
    """Add the learned sub-grid departures to a product, lazily.

    Parameters
    ----------
    product, fine : xarray.Dataset
        The product ``sm(model, time, lat, lon)`` (m3 m-3) and its fine
        covariates, as given to :func:`station_table`.
    models : dict
        ``{method: SubgridModel}`` (:func:`fit_subgrid`); other methods are
        left as they are.
    covariates, gap_days, smooth_coarse
        As given to :func:`station_table`.
    sm_max : float, optional
        Upper bound, m3 m-3 (default the product's ``sm_max`` attribute or 0.6).
    tile, time_chunk : int
        Coarse cells per chunk side and days per chunk.

    Returns
    -------
    xarray.Dataset
        The product with corrected ``sm`` (dask-backed) and the attribute
        ``subgrid`` naming the corrected methods and the stations they learned from.
    """
    factor, native, origin = _setup(product, fine, covariates, smooth_coarse)
    fin = fine.sel(time=product["time"])
    sm_max = float(product.attrs.get("sm_max", 0.6)) if sm_max is None else float(sm_max)
    nt = product.sizes["time"]
    ny, nx = product.sizes["lat"] // factor, product.sizes["lon"] // factor
    tb = [(a, min(a + time_chunk, nt)) for a in range(0, nt, time_chunk)]
    yb = [(a, min(a + tile, ny)) for a in range(0, ny, tile)]
    xb = [(a, min(a + tile, nx)) for a in range(0, nx, tile)]
    corrected = [str(m) for m in product["model"].values if str(m) in models]
    fitted = {m: models[m] for m in corrected}
    inputs = _Inputs(product["sm"], fin)  # dask must not look into (and compute) the lazy inputs
    rest = (factor, gap_days, native, origin)
    means = {(y0, x0): dask.delayed(_tile_means_of, pure=True)(inputs, tuple(covariates), fitted, tb, y0, y1,
                                                               x0, x1, *rest)
             for y0, y1 in yb for x0, x1 in xb}
    new = da.block([[[[da.from_delayed(
        dask.delayed(_apply_block_of, pure=True)(inputs, tuple(covariates), fitted, means[(y0, x0)], t0, t1,
                                                 y0, y1, x0, x1, *rest, sm_max),
        shape=(len(corrected), t1 - t0, (y1 - y0) * factor, (x1 - x0) * factor), dtype=np.float32)
        for x0, x1 in xb] for y0, y1 in yb] for t0, t1 in tb]]) if corrected else None
    layers = []
    for m in product["model"].values:
        if str(m) in fitted:
            layers.append(new[corrected.index(str(m))])
        else:
            data = product["sm"].sel({"model": m}).data
            layers.append(data if isinstance(data, da.Array) else da.from_array(data))
    sm = xr.DataArray(da.stack(layers), dims=product["sm"].dims, coords=product["sm"].coords,
                      attrs=product["sm"].attrs)
    note = "; ".join(f"{m}: alpha {md.alpha_:g}, stations {','.join(getattr(md, 'stations_', []))}"
                     for m, md in models.items())
    return product.assign(sm=sm).assign_attrs(subgrid=note)


def oracle_stations(truth: xr.Dataset | xr.DataArray, n: int = 30, *, seed: int = 0) -> xr.Dataset:
    """Pseudo-stations that report the 1-km truth of random pixels every day, without any error.

    Fitting the sub-grid model (:func:`fit_subgrid`) on them instead of on the
    real stations gives an upper bound of what the model could learn from
    perfect, dense point data (synthetic scenarios only).

    Parameters
    ----------
    truth : xarray.Dataset or DataArray
        The 1-km truth ``sm(time, lat, lon)``, m3 m-3.
    n : int
        Number of pixels, drawn uniformly (at least one cell from the edge).
    seed : int

    Returns
    -------
    xarray.Dataset
        Stations (station, time) with ``sm``, ``name`` (``oracle-k``),
        ``network`` "ORACLE", ``cadence`` "daily", ``lat``, ``lon``.
    """
    t = truth["sm"] if isinstance(truth, xr.Dataset) else truth
    rng = np.random.default_rng(seed)
    ny, nx = t.sizes["lat"], t.sizes["lon"]
    margin = max(1, min(ny, nx) // 10)
    i = rng.integers(margin, ny - margin, n)
    j = rng.integers(margin, nx - margin, n)
    sm = t.isel(lat=xr.DataArray(i, dims="station"), lon=xr.DataArray(j, dims="station"))
    sm = sm.drop_vars(["lat", "lon"]).transpose("station", "time").load()
    return xr.Dataset(
        {"sm": (("station", "time"), np.asarray(sm.values, np.float32), {"units": "m3 m-3"})},
        coords={"station": np.arange(n), "time": t["time"].values,
                "name": ("station", np.array([f"oracle-{k}" for k in range(n)], dtype=object)),
                "network": ("station", np.array(["ORACLE"] * n, dtype=object)),
                "cadence": ("station", np.array(["daily"] * n, dtype=object)),
                "lat": ("station", t["lat"].values[i]), "lon": ("station", t["lon"].values[j])})
