"""How realistic a synthetic world is: its error statistics beside published ones.

A conclusion drawn on a synthetic world transfers to real data only if the
world is as hard as reality. This module measures, on any scenario that has a
truth, the statistics that decide how hard downscaling is, and holds the
ranges published for the real data sources beside them (:data:`TARGETS`, each
with its source). :func:`realism` computes the statistics, :func:`realism_table`
lays them out beside the targets, and :func:`out_of_range` lists those that
fall outside (the tests fail on any).

The statistics (every one over the scenario's valid cell-days):

* ``retrieval_error_sd`` -- the random error of the coarse retrieval against
  the 25-km truth (cell mean of the 1-km truth): per cell, the standard
  deviation in time of ``retrieval - truth``, averaged as a root mean square
  over cells (a triple-collocation-like error: static biases excluded), m3 m-3;
* ``retrieval_bias_sd`` -- spread over cells of the mean error, m3 m-3;
* ``retrieval_error_acf1`` -- lag-1 autocorrelation of the error anomaly
  (error minus its cell mean) over consecutive valid days;
* ``retrieval_error_neighbour_r`` -- correlation of the error anomalies of
  adjacent cells (east and north neighbours) on the same day;
* ``retrieval_sd_ratio`` -- temporal standard deviation of the retrieval over
  that of the truth's cell mean, median over cells (below 1: a rescaled,
  range-compressed product such as ESA CCI COMBINED);
* ``station_pixel_r`` -- median over stations of the correlation between a
  station and the 1-km truth of the pixel holding it, matched at the
  station's cadence; ``station_offset`` -- mean over stations of
  ``|mean(station - pixel)|``, m3 m-3;
* ``retrieval_station_r`` -- per network, the median over stations of the
  correlation between a station and the retrieval of its cell;
* ``max_abs_r_covariate`` -- the largest ``|r|`` between a covariate's cell
  mean and the retrieval, both pooled over cell-days (``r_covariates``) and
  as the mean over days of the spatial correlation (``r_covariates_daily``);
* ``static_share`` -- share of the variance of the truth's within-cell
  anomalies (pixel minus its cell mean) that is static in time (the
  variance of each pixel's time-mean anomaly over the total).
"""

from __future__ import annotations

import warnings

import dask
import numpy as np
import pandas as pd
import xarray as xr

from smkit.core.grid import Grid, nesting_factor
from smkit.engine.features import aggregate

__all__ = ["TARGETS", "Target", "out_of_range", "realism", "realism_table"]


class Target:
    """A published range for one statistic.

    Parameters
    ----------
    label : str
        What the statistic is, with units.
    low, high : float or None
        Inclusive bounds of the accepted range (None: unbounded).
    published : str
        The figure reported for the real data.
    source : str
        Where it comes from.
    """

    def __init__(self, label: str, low: float | None, high: float | None, published: str, source: str):
        self.label, self.low, self.high = label, low, high
        self.published, self.source = published, source

    def accepts(self, value: float) -> bool:
        """Whether ``value`` falls in the range (NaN never does)."""
        if not np.isfinite(value):
            return False
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)

    @property
    def range(self) -> str:
        """The range as text."""
        if self.low is None:
            return f"<= {self.high:g}"
        if self.high is None:
            return f">= {self.low:g}"
        return f"{self.low:g} to {self.high:g}"


_DORIGO = "Dorigo et al. (2015), Remote Sens. Environ. 162, 380-395"
_GRUBER = "Gruber et al. (2016), Int. J. Appl. Earth Obs. 45, 200-211"
_PAPER = "Liu et al., the paper smkit reproduces (Fig. 3b, Table 4)"
_FAMIGLIETTI = ("Vachaud et al. (1985), Soil Sci. Soc. Am. J. 49, 822-828; Famiglietti et al. (1999), "
                "Water Resour. Res. 35, 1839-1851 (SGP97)")
_GRUBER19 = "Gruber et al. (2019), Earth Syst. Sci. Data 11, 717-739"
_CROW = "Crow et al. (2012), Rev. Geophys. 50, RG2002 (upscaling errors of single probes)"
_DRAPER = "Draper et al. (2013), Remote Sens. Environ. 137; Su et al. (2016), JGR"

#: Published ranges of the realism statistics (see the module docstring).
TARGETS: dict[str, Target] = {
    "retrieval_error_sd": Target(
        "retrieval random error s.d. vs the 25-km truth [m3 m-3]", 0.035, 0.06,
        "ubRMSD ~0.05 vs stations; triple-collocation error ~0.04", f"{_DORIGO}; {_GRUBER}"),
    "retrieval_error_acf1": Target(
        "lag-1 autocorrelation of the retrieval error", 0.3, None,
        "errors persist for days to weeks (vegetation, soil temperature, rescaling)", _DRAPER),
    "retrieval_error_neighbour_r": Target(
        "error correlation of neighbouring cells", 0.3, None,
        "~50-km sensor footprints overlap neighbouring 25-km cells", _GRUBER19),
    "retrieval_sd_ratio": Target(
        "retrieval / truth temporal s.d.", None, 1.0,
        "COMBINED is rescaled to a land-model climatology (compressed range)", _GRUBER19),
    "station_pixel_r": Target(
        "R(station, its 1-km pixel), median", None, 0.92,
        "single probes: depth and footprint mismatch", _CROW),
    "station_offset": Target(
        "|mean(station - pixel)|, mean [m3 m-3]", 0.01, None,
        "static offsets of a few hundredths", _CROW),
    "max_abs_r_covariate": Target(
        "max |r(covariate, coarse sm)|", None, 0.7,
        "lst -0.4, ndvi 0.35, albedo -0.28", _PAPER),
    "static_share": Target(
        "static share of sub-grid variance", None, 0.6,
        "30-55 % of the spatial variance is time-stable", _FAMIGLIETTI),
}

#: What the paper reports for the retrieval against the networks (not a check:
#: shown for comparison).
PAPER_RETRIEVAL_STATION_R = {"NZW": 0.321, "CERN": 0.64, "QXZ": 0.48}


def _cell_stats(err: np.ndarray, ret: np.ndarray, tcell: np.ndarray) -> dict:
    """Error statistics of the retrieval from (T, Ny, Nx) arrays (NaN = missing)."""
    ok = np.isfinite(err)
    n = ok.sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, np.nansum(err, 0) / np.maximum(n, 1), np.nan)
        anom = err - mean
        var = np.where(n > 2, np.nansum(anom**2, 0) / np.maximum(n - 1, 1), np.nan)
    cells = np.isfinite(var)
    sd = float(np.sqrt(np.mean(var[cells])))
    bias_sd = float(np.std(mean[cells]))
    a0, a1 = anom[:-1], anom[1:]
    pair = np.isfinite(a0) & np.isfinite(a1)
    acf1 = float(np.corrcoef(a0[pair], a1[pair])[0, 1])
    xs, ys = [], []
    for a, b in ((anom[:, :, :-1], anom[:, :, 1:]), (anom[:, :-1, :], anom[:, 1:, :])):
        p = np.isfinite(a) & np.isfinite(b)
        xs.append(a[p])
        ys.append(b[p])
    neighbour = float(np.corrcoef(np.concatenate(xs), np.concatenate(ys))[0, 1])
    both = np.isfinite(ret) & np.isfinite(tcell)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # cells without valid days
        rs = np.nanstd(np.where(both, ret, np.nan), 0)
        ts = np.nanstd(np.where(both, tcell, np.nan), 0)
        ratio = rs / ts
    return {
        "retrieval_error_sd": sd,
        "retrieval_bias_sd": bias_sd,
        "retrieval_error_acf1": acf1,
        "retrieval_error_neighbour_r": neighbour,
        "retrieval_sd_ratio": float(np.nanmedian(np.where(both.sum(0) > 10, ratio, np.nan))),
    }


def _static_share(truth: np.ndarray, factor: int) -> tuple[float, float, float]:
    """Static share, within-cell and between-cell s.d. of a (T, Y, X) truth."""
    t, y, x = truth.shape
    b = truth.reshape(t, y // factor, factor, x // factor, factor)
    cm = b.mean(axis=(2, 4), keepdims=True)
    a = (b - cm).reshape(t, y, x)
    static = a.mean(axis=0)
    share = float((static**2).sum() * t / (a**2).sum())
    within = float(np.sqrt((a**2).mean()))
    between = float(cm.reshape(t, -1).std(axis=1).mean())
    return share, within, between


def _corr(x: np.ndarray, y: np.ndarray) -> float:
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3 or np.ptp(x[ok]) == 0 or np.ptp(y[ok]) == 0:
        return float("nan")
    return float(np.corrcoef(x[ok], y[ok])[0, 1])


def _station_stats(stations: xr.Dataset, coarse: xr.Dataset, truth: xr.DataArray) -> dict:
    """Station vs its own pixel and vs the retrieval of its cell, at each station's cadence."""
    from smkit.validate import match_stations

    prod = truth.expand_dims(model=["truth"]).to_dataset(name="sm")
    m = match_stations(prod, stations, coarse=coarse)
    obs = m["obs"].values
    pix = m["pred"].sel({"model": "truth"}).values
    cci = m["pred"].sel({"model": "cci"}).values
    r_pix, off, by_net = [], [], {}
    for s in range(obs.shape[0]):
        r_pix.append(_corr(obs[s], pix[s]))
        ok = np.isfinite(obs[s]) & np.isfinite(pix[s])
        if ok.any():
            off.append(abs(float(np.mean(obs[s][ok] - pix[s][ok]))))
        by_net.setdefault(str(m["network"].values[s]), []).append(_corr(obs[s], cci[s]))
    return {
        "station_pixel_r": float(np.nanmedian(r_pix)),
        "station_offset": float(np.mean(off)) if off else float("nan"),
        "retrieval_station_r": {k: float(np.nanmedian(v)) for k, v in sorted(by_net.items())},
    }


def realism(scenario, time=None, stations: bool = True) -> dict:
    """The realism statistics of a scenario with a truth (see the module docstring).

    Parameters
    ----------
    scenario : smkit.synth.Scenario
        A synthetic scenario (``truth`` must hold the 1-km ``sm``).
    time : slice, optional
        Period to use (default: all days).
    stations : bool, default True
        Also compute the station statistics.

    Returns
    -------
    dict
        Every statistic of :data:`TARGETS` plus ``retrieval_bias_sd``,
        ``r_covariates`` and ``r_covariates_daily`` (dicts by covariate),
        ``retrieval_station_r`` (dict by network), ``within_sd`` and
        ``between_sd`` (m3 m-3, the truth's mean within-cell and between-cell
        standard deviations per day) and ``r_coarse_truth`` (r of the
        retrieval with the truth's cell means, pooled).

    Examples
    --------
    >>> from smkit.synth import make_scenario
    >>> r = realism(make_scenario("tiny"), stations=False)
    >>> 0.0 < r["retrieval_error_sd"] < 0.2
    True
    """
    sel = {"time": time} if time is not None else {}
    coarse = scenario.coarse.sel(sel)
    fine = scenario.fine.sel(sel)
    truth = scenario.truth["sm"].sel(sel)
    grid = Grid.from_dataset(coarse)
    factor = nesting_factor(grid, Grid.from_dataset(truth))
    work = {
        "agg": aggregate(fine, grid),
        "sm": coarse["sm"].transpose("time", "lat", "lon"),
        "truth": truth.transpose("time", "lat", "lon"),
    }
    (w,) = dask.compute(work)
    ret = np.asarray(w["sm"].values, np.float64)
    tr = np.asarray(w["truth"].values, np.float64)
    t, y, x = tr.shape
    tcell = tr.reshape(t, y // factor, factor, x // factor, factor).mean(axis=(2, 4))
    out = _cell_stats(ret - tcell, ret, tcell)
    out["r_coarse_truth"] = _corr(tcell.ravel(), ret.ravel())
    out["r_covariates"], out["r_covariates_daily"] = {}, {}
    for name in w["agg"].data_vars:
        cov = w["agg"][name].broadcast_like(w["sm"]).transpose("time", "lat", "lon").values
        out["r_covariates"][name] = _corr(cov.ravel(), ret.ravel())
        daily = [_corr(cov[k].ravel(), ret[k].ravel()) for k in range(t)]
        out["r_covariates_daily"][name] = float(np.nanmean(daily))
    out["max_abs_r_covariate"] = float(max(
        max(abs(v) for v in out["r_covariates"].values()),
        max(abs(v) for v in out["r_covariates_daily"].values()),
    ))
    share, within, between = _static_share(tr, factor)
    out.update(static_share=share, within_sd=within, between_sd=between)
    if stations:
        out.update(_station_stats(scenario.stations.sel(sel), coarse, w["truth"]))
    return out


def out_of_range(stats: dict) -> dict[str, float]:
    """The statistics of :func:`realism` that fall outside :data:`TARGETS`."""
    return {k: stats[k] for k, tg in TARGETS.items() if k in stats and not tg.accepts(stats[k])}


def realism_table(stats: dict) -> pd.DataFrame:
    """The statistics of :func:`realism` beside their published ranges.

    Returns
    -------
    pandas.DataFrame
        Indexed by statistic: ``value``, ``target`` (accepted range),
        ``in range`` (bool), ``published`` and ``source``; then rows for the
        per-covariate and per-network correlations (no target).
    """
    rows = []
    for key, tg in TARGETS.items():
        if key not in stats:
            continue
        rows.append({"statistic": tg.label, "value": stats[key], "target": tg.range,
                     "in range": tg.accepts(stats[key]), "published": tg.published,
                     "source": tg.source})
    for name, v in stats.get("r_covariates", {}).items():
        daily = stats.get("r_covariates_daily", {}).get(name, np.nan)
        rows.append({"statistic": f"r({name}, coarse sm), pooled / daily spatial",
                     "value": v, "target": f"daily {daily:+.2f}", "in range": None,
                     "published": "", "source": ""})
    for net, v in stats.get("retrieval_station_r", {}).items():
        paper = PAPER_RETRIEVAL_STATION_R.get(net)
        rows.append({"statistic": f"R(retrieval, {net} stations), median", "value": v,
                     "target": "", "in range": None,
                     "published": "" if paper is None else f"{paper:g}", "source": _PAPER})
    return pd.DataFrame(rows).set_index("statistic")
