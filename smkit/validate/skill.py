"""Honest skill: scores beside the baselines a user has, with intervals, at stations and against the truth.

A downscaled product is worth something only where it beats what the user
would use instead -- the coarse retrieval itself, or its nearest or bilinear
interpolation -- on data it was not tuned on, by more than the sampling
noise. This module turns matched station pairs (:func:`smkit.validate.match_stations`)
and products against a truth into such statements:

* :func:`station_scores` -- per network and model: pooled R (what the paper
  reports), the median of the per-station R, the station-demeaned R (each
  station's mean removed from both series: temporal skill only, no reward
  for matching or missing static offsets), the short-term anomaly R
  (pytesmo's convention: anomalies from a centred 35-day moving mean),
  ubRMSE and the mean station bias, each with a moving-block bootstrap 90 %
  interval, and the same for the difference to a reference model (CCI);
* :func:`truth_scores` -- against a 1-km truth: total and within-cell
  anomaly R, ubRMSE and the seam ratio per model, with block-bootstrap
  intervals over days;
* :func:`verdict` -- one sentence per comparison, computed from the
  intervals: where a product wins, loses or cannot be told apart.

Intervals come from a moving-block bootstrap over time (blocks of
``block_days``, 30 by default: soil moisture and its errors persist for weeks,
so resampling single days would understate the uncertainty), with every
model resampled on the same blocks, so differences are paired.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from smkit._compat import renamed_keywords
from smkit.core.grid import block_mean
from smkit.validate.anomaly import anomalies

__all__ = ["block_resamples", "interval_table", "station_scores", "truth_scores", "verdict"]

LEVEL = 0.9  # two-sided coverage of the intervals
ANOMALY_WINDOW = 35  # days of pytesmo's moving-mean climatology


def block_resamples(n: int, block: int, n_boot: int, seed: int = 0) -> np.ndarray:
    """Indices of moving-block bootstrap resamples of a series of ``n`` steps.

    Parameters
    ----------
    n : int
        Length of the series.
    block : int
        Block length, steps (at least 1; at most ``n``).
    n_boot : int
        Number of resamples.
    seed : int
        Seed of the draws.

    Returns
    -------
    ndarray of int, shape (n_boot, n)
        Each row is a resample: ``ceil(n / block)`` blocks of consecutive
        indices with uniformly drawn starts, cut to ``n``.

    Examples
    --------
    >>> idx = block_resamples(10, 4, 2, seed=1)
    >>> idx.shape, bool(np.all(np.diff(idx[0][:4]) == 1))
    ((2, 10), True)
    """
    block = int(min(max(block, 1), max(n, 1)))
    rng = np.random.default_rng(seed)
    k = -(-n // block)
    starts = rng.integers(0, n - block + 1, size=(n_boot, k))
    idx = (starts[:, :, None] + np.arange(block)[None, None, :]).reshape(n_boot, -1)
    return idx[:, :n]


def _interval(samples: np.ndarray) -> tuple[float, float]:
    s = np.asarray(samples, dtype=float)
    s = s[np.isfinite(s)]
    if s.size < 10:
        return float("nan"), float("nan")
    lo, hi = np.quantile(s, [(1 - LEVEL) / 2, 1 - (1 - LEVEL) / 2])
    return float(lo), float(hi)


def _r(x: np.ndarray, y: np.ndarray) -> float:
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3:
        return float("nan")
    x, y = x[ok] - x[ok].mean(), y[ok] - y[ok].mean()
    d = np.sqrt((x * x).sum() * (y * y).sum())
    return float((x * y).sum() / d) if d > 0 else float("nan")


def _moving_anomaly(v: np.ndarray, times: pd.DatetimeIndex, window: int) -> np.ndarray:
    """Each station's values minus their centred moving mean over ``window`` days (pytesmo's anomalies).

    A window needs at least ``max(3, window // 7)`` values (pytesmo asks for one).
    """
    days = pd.DatetimeIndex(times).normalize()
    v = xr.DataArray(np.asarray(v, dtype=np.float64), dims=("station", "time"), coords={"time": days})
    return anomalies(v, "moving", window=window, min_obs=max(3, window // 7)).to_numpy()


def _station_stats(obs: np.ndarray, pred: np.ndarray, anom_obs: np.ndarray, anom_pred: np.ndarray) -> dict:
    """Scores of one model over (station, time) arrays with NaN where there is no pair."""
    ok = np.isfinite(obs) & np.isfinite(pred)
    o, p = np.where(ok, obs, np.nan), np.where(ok, pred, np.nan)
    n_st = ok.sum(1)
    with np.errstate(invalid="ignore"):
        mo, mp = np.nanmean(o, 1), np.nanmean(p, 1)
    per_station = [_r(o[s], p[s]) for s in range(o.shape[0]) if n_st[s] >= 3]
    d = p - o
    bias = np.nanmean(d)
    ub = np.sqrt(np.nanmean((d - bias) ** 2)) if ok.any() else np.nan
    return {
        "n": int(ok.sum()),
        "r": _r(p.ravel(), o.ravel()),
        "r_station_median": float(np.nanmedian(per_station)) if per_station else np.nan,
        "r_demeaned": _r((p - mp[:, None]).ravel(), (o - mo[:, None]).ravel()),
        "r_anomaly": _r(np.where(ok, anom_pred, np.nan).ravel(), np.where(ok, anom_obs, np.nan).ravel()),
        "ubrmse": float(ub),
        "bias": float(np.nanmean(mp - mo)) if ok.any() else np.nan,
    }


_STATION_METRICS = ("r", "r_station_median", "r_demeaned", "r_anomaly", "ubrmse", "bias")


@renamed_keywords(methods="models")
def station_scores(matched: xr.Dataset, *, models=None, reference: str | None = "cci",
                   n_boot: int = 500, block_days: int = 30, seed: int = 0,
                   by: str = "network") -> pd.DataFrame:
    """Station scores per group and model, with block-bootstrap intervals and differences to a reference.

    Every model is scored on the same pairs (where the observation and
    every selected model have a value).

    Parameters
    ----------
    matched : xarray.Dataset
        Output of :func:`smkit.validate.match_stations` (``obs``, ``pred``).
    models : sequence of str, optional
        Models to score (default all).
    reference : str or None, default "cci"
        Model whose scores are subtracted to give the ``diff_*`` columns
        (model minus reference, with intervals); None for none.
    n_boot : int
        Bootstrap resamples.
    block_days : int
        Length of the bootstrap's blocks of observation time stamps.
    seed : int
    by : {"network", "all"}
        Score each network, or all stations pooled.

    Returns
    -------
    pandas.DataFrame
        Index (group, model); columns ``n``, ``n_stations``, and for each of
        ``r``, ``r_station_median``, ``r_demeaned``, ``r_anomaly`` (1),
        ``ubrmse``, ``bias`` (m3 m-3, mean over stations of product minus
        observation): the value, ``<metric>_lo`` and ``<metric>_hi`` (90 %
        interval), and ``diff_<metric>`` with ``diff_<metric>_lo`` /
        ``_hi`` against ``reference``.
    """
    all_methods = [str(m) for m in matched["model"].values]
    models = list(models) if models is not None else all_methods
    if reference is not None and reference not in all_methods:
        raise KeyError(f"reference {reference!r} not among the models {all_methods}")
    use = list(dict.fromkeys([*([reference] if reference else []), *models]))
    pred = matched["pred"].sel({"model": use}).transpose("model", "station", "time")
    pred = np.asarray(pred.values, float)
    obs = np.asarray(matched["obs"].transpose("station", "time").values, float)
    common = np.isfinite(obs) & np.isfinite(pred).all(axis=0)
    obs = np.where(common, obs, np.nan)
    pred = np.where(common[None], pred, np.nan)
    times = pd.DatetimeIndex(matched["time"].values)
    anom_obs = _moving_anomaly(obs, times, ANOMALY_WINDOW)
    anom_pred = np.stack([_moving_anomaly(p, times, ANOMALY_WINDOW) for p in pred])
    groups = (np.asarray(matched["network"].values).astype(str) if by == "network"
              else np.full(matched.sizes["station"], "all"))
    resamples = block_resamples(len(times), block_days, n_boot, seed)
    rows = []
    for g in dict.fromkeys(groups):
        s = np.flatnonzero(groups == g)
        point = {m: _station_stats(obs[s], pred[k, s], anom_obs[s], anom_pred[k, s])
                 for k, m in enumerate(use)}
        boots = {m: [] for m in use}
        for idx in resamples:
            for k, m in enumerate(use):
                boots[m].append(_station_stats(obs[s][:, idx], pred[k, s][:, idx], anom_obs[s][:, idx],
                                               anom_pred[k, s][:, idx]))
        for m in models:
            row = {"group": g, "model": m, "n": point[m]["n"],
                   "n_stations": int((np.isfinite(obs[s]).sum(1) > 0).sum())}
            for metric in _STATION_METRICS:
                row[metric] = point[m][metric]
                row[f"{metric}_lo"], row[f"{metric}_hi"] = _interval([b[metric] for b in boots[m]])
                if reference is not None:
                    row[f"diff_{metric}"] = point[m][metric] - point[reference][metric]
                    row[f"diff_{metric}_lo"], row[f"diff_{metric}_hi"] = _interval(
                        [b[metric] - br[metric] for b, br in zip(boots[m], boots[reference], strict=True)])
            rows.append(row)
    return pd.DataFrame(rows).set_index(["group", "model"])


def _day_moments(p: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Per-day pairwise-complete sums (n, sx, sy, sxx, syy, sxy) of (D, Y, X) arrays -> (D, 6)."""
    ok = np.isfinite(p) & np.isfinite(t)
    x = np.where(ok, p, 0.0)
    y = np.where(ok, t, 0.0)
    ax = (1, 2)
    return np.stack([ok.sum(ax), x.sum(ax), y.sum(ax), (x * x).sum(ax), (y * y).sum(ax), (x * y).sum(ax)], -1)


def _edge_moments(p: np.ndarray, factor: int) -> np.ndarray:
    """Per-day sums of |differences| across and inside cells (D, 4)."""
    out = np.zeros((p.shape[0], 4))
    for axis in (2, 1):
        d = np.abs(np.diff(p, axis=axis))
        edge = np.zeros(d.shape[axis], bool)
        edge[factor - 1 :: factor] = True
        shape = [1, 1, 1]
        shape[axis] = -1
        edge = edge.reshape(shape)
        ok = np.isfinite(d)
        a, i = ok & edge, ok & ~edge
        out += np.stack([np.where(a, d, 0).sum((1, 2)), a.sum((1, 2)), np.where(i, d, 0).sum((1, 2)),
                         i.sum((1, 2))], -1)
    return out


def _from_sums(m: np.ndarray) -> dict:
    n, sx, sy, sxx, syy, sxy = (m[..., k] for k in range(6))
    with np.errstate(invalid="ignore", divide="ignore"):
        mx, my = sx / n, sy / n
        vx, vy = sxx / n - mx**2, syy / n - my**2
        r = (sxy / n - mx * my) / np.sqrt(vx * vy)
        mse = np.maximum((sxx - 2 * sxy + syy) / n, 0.0)
        bias = mx - my
        ub = np.sqrt(np.maximum(mse - bias**2, 0.0))
    return {"r": r, "ubrmse": ub, "bias": bias}


def truth_scores(product, truth, factor: int, *, coarse: xr.Dataset | None = None, n_boot: int = 500,
                 block_days: int = 30, seed: int = 0, reference: str | None = "bilinear",
                 chunk_days: int = 32) -> pd.DataFrame:
    """Skill of every model against a 1-km truth, with block-bootstrap intervals over days.

    Parameters
    ----------
    product : xarray.Dataset or DataArray
        ``sm(model, time, lat, lon)``, m3 m-3, on the truth's grid.
    truth : xarray.Dataset or DataArray
        ``sm(time, lat, lon)``, m3 m-3.
    factor : int
        Fine pixels per coarse cell.
    coarse : xarray.Dataset, optional
        The retrieval: its nearest and bilinear interpolations are scored too
        (models ``nearest``, ``bilinear``).
    n_boot, block_days, seed
        Bootstrap resamples, block length (days) and seed.
    reference : str or None, default "bilinear"
        Model subtracted in the ``diff_*`` columns.
    chunk_days : int
        Days read at a time.

    Returns
    -------
    pandas.DataFrame
        Index model; ``r``, ``r_anomaly`` (within-cell), ``ubrmse`` (m3 m-3),
        ``bias`` (m3 m-3), ``seam`` (and the truth's ``seam_truth``), ``n``,
        each with ``_lo``/``_hi`` 90 % intervals, and ``diff_r`` /
        ``diff_r_anomaly`` (model minus ``reference``) with intervals.
        Every model is scored on the pixel-days where all have a value.
    """
    from smkit.validate import interpolation_baselines

    p = product["sm"] if isinstance(product, xr.Dataset) else product
    t = truth["sm"] if isinstance(truth, xr.Dataset) else truth
    t = t.sel(time=p["time"])
    models = [str(m) for m in p["model"].values]
    if coarse is not None:
        cs = coarse[["sm"]].sel(time=p["time"])
        models += ["nearest", "bilinear"]
    nt = p.sizes["time"]
    full = np.zeros((len(models), nt, 6))
    anom = np.zeros((len(models), nt, 6))
    edges = np.zeros((len(models) + 1, nt, 4))
    for i0 in range(0, nt, chunk_days):
        sl = {"time": slice(i0, i0 + chunk_days)}
        tb = np.asarray(t.isel(sl).values, dtype=np.float64)
        pb = np.asarray(p.isel(sl).transpose("model", "time", "lat", "lon").values, dtype=np.float64)
        if coarse is not None:
            base = interpolation_baselines(cs.isel(sl).load(), t)["sm"].values.astype(np.float64)
            pb = np.concatenate([pb, base])
        ok = np.isfinite(pb).all(axis=0) & np.isfinite(tb)
        pb = np.where(ok, pb, np.nan)
        tb = np.where(ok, tb, np.nan)
        ta = tb - _up(block_mean(tb, factor), factor)
        d = slice(i0, i0 + tb.shape[0])
        for k in range(len(models)):
            full[k, d] = _day_moments(pb[k], tb)
            anom[k, d] = _day_moments(pb[k] - _up(block_mean(pb[k], factor), factor), ta)
            edges[k, d] = _edge_moments(pb[k], factor)
        edges[-1, d] = _edge_moments(tb, factor)

    def stats(idx):
        f = _from_sums(full[:, idx].sum(1))
        a = _from_sums(anom[:, idx].sum(1))
        e = edges[:, idx].sum(1)
        with np.errstate(invalid="ignore", divide="ignore"):
            seam = (e[:, 0] / e[:, 1]) / (e[:, 2] / e[:, 3])
        return {"r": f["r"], "r_anomaly": a["r"], "ubrmse": f["ubrmse"], "bias": f["bias"],
                "seam": seam[:-1], "seam_truth": np.full(len(models), seam[-1])}

    point = stats(np.arange(nt))
    boots = [stats(idx) for idx in block_resamples(nt, block_days, n_boot, seed)]
    ref = models.index(reference) if reference in models else None
    rows = []
    for k, m in enumerate(models):
        row = {"model": m, "n": int(full[k, :, 0].sum())}
        for metric in ("r", "r_anomaly", "ubrmse", "bias", "seam", "seam_truth"):
            row[metric] = float(point[metric][k])
            row[f"{metric}_lo"], row[f"{metric}_hi"] = _interval([b[metric][k] for b in boots])
        if ref is not None:
            for metric in ("r", "r_anomaly"):
                row[f"diff_{metric}"] = float(point[metric][k] - point[metric][ref])
                row[f"diff_{metric}_lo"], row[f"diff_{metric}_hi"] = _interval(
                    [b[metric][k] - b[metric][ref] for b in boots])
        rows.append(row)
    return pd.DataFrame(rows).set_index("model")


def _up(c: np.ndarray, factor: int) -> np.ndarray:
    return np.repeat(np.repeat(c, factor, axis=-2), factor, axis=-1)


def verdict(diff: float, lo: float, hi: float, *, what: str, than: str, metric: str) -> str:
    """A plain sentence on a paired difference and its interval.

    Examples
    --------
    >>> verdict(0.05, 0.02, 0.08, what="BMA", than="bilinear", metric="R")
    'BMA beats bilinear in R by 0.050 (90 % interval 0.020 to 0.080).'
    >>> verdict(-0.01, -0.04, 0.02, what="RF", than="CCI", metric="R")
    'RF and CCI cannot be told apart in R: -0.010 (90 % interval -0.040 to 0.020).'
    """
    span = f"(90 % interval {lo:.3f} to {hi:.3f})"
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return f"{what} vs {than} in {metric}: {diff:+.3f}, interval unavailable."
    if lo > 0:
        return f"{what} beats {than} in {metric} by {diff:.3f} {span}."
    if hi < 0:
        return f"{what} loses to {than} in {metric} by {-diff:.3f} {span}."
    return f"{what} and {than} cannot be told apart in {metric}: {diff:.3f} {span}."


def interval_table(scores: pd.DataFrame, metrics: dict[str, str], digits: int = 3) -> pd.DataFrame:
    """Scores with their intervals as text, for a report: ``0.784 (0.770 to 0.796)``.

    Parameters
    ----------
    scores : pandas.DataFrame
        Output of :func:`truth_scores` or :func:`station_scores`.
    metrics : dict
        ``{column: header}`` of the metrics to show (each needs ``_lo`` and
        ``_hi`` columns).
    digits : int

    Examples
    --------
    >>> df = pd.DataFrame({"r": [0.5], "r_lo": [0.4], "r_hi": [0.6]}, index=["rf"])
    >>> interval_table(df, {"r": "R"}).iloc[0, 0]
    '0.500 (0.400 to 0.600)'
    """
    index = scores.index
    if isinstance(index, pd.MultiIndex):  # plain labels, not tuples, in a report's table
        index = pd.MultiIndex.from_arrays([index.get_level_values(k).astype(str) for k in range(index.nlevels)],
                                          names=index.names)
    out = pd.DataFrame(index=index)
    for col, head in metrics.items():
        v, lo, hi = scores[col], scores[f"{col}_lo"], scores[f"{col}_hi"]
        out[head] = [
            "" if not np.isfinite(a) else (f"{a:.{digits}f}" if not (np.isfinite(b) and np.isfinite(c))
                                           else f"{a:.{digits}f} ({b:.{digits}f} to {c:.{digits}f})")
            for a, b, c in zip(v, lo, hi, strict=True)]
    return out
