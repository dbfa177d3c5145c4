"""Experiments behind the paper's choices: window caps, windows versus a global model, clustering.

- :func:`window_sensitivity` — the sensitivity grid of section 3.4: every
  pair of caps (sw_max 3-10 cells, nd_max 1-5 days), scored against an
  independent reference (the synthetic truth), on one block of days. Inputs
  are read once with the largest halo and every configuration reuses them.
- :func:`relative_bias_by_quantile` — Fig. S7: the bias of a product
  relative to the reference within quantile bins of the reference.
- :func:`compare_strategies` — the window strategy against the global
  model (one model per zone and day) by that measure.
- :func:`compare_clustering` — BMA fitted per zone against one fit for the
  whole domain (Fig. S6), against the stations and the truth.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import xarray as xr

from smkit._compat import moved_names, renamed_keywords
from smkit.core.vocabulary import SM_ATTRS

__all__ = ["window_sensitivity", "relative_bias_by_quantile", "compare_strategies", "compare_clustering"]

#: Figures that moved to :mod:`smkit.plot.experiments` (the old name works, with a warning, until 0.3).
__getattr__ = moved_names("smkit.analysis.experiments", {
    "figure_sensitivity": "smkit.plot.experiments",
    "figure_strategies": "smkit.plot.experiments",
})


def window_sensitivity(
    coarse: xr.Dataset,
    fine: xr.Dataset,
    truth: xr.Dataset,
    *,
    days: slice,
    sw_caps=range(3, 11),
    nd_caps=range(1, 6),
    learner: str = "xgb",
    params: dict | None = None,
    progress: bool = True,
    **options,
) -> pd.DataFrame:
    """Score every pair of window caps against the 1-km truth.

    Parameters
    ----------
    coarse, fine : xarray.Dataset
        Coarse ``sm`` (m3 m-3) and fine covariates.
    truth : xarray.Dataset
        The 1-km truth ``sm`` (m3 m-3).
    days : slice
        Days to produce (one block, e.g. 16 days; neighbouring days of the
        input serve as window days).
    sw_caps, nd_caps : iterable of int
        Caps of the spatial size (cells) and duration (days); the paper: 3-10 and 1-5.
    learner : str
        One learner (the grid multiplies the cost).
    params : dict, optional
        Its hyperparameters.
    progress : bool
    **options
        Other :class:`smkit.engine.Config` fields (``growth``, ``aggregation``, ...).

    Returns
    -------
    pandas.DataFrame
        Indexed by (sw_max, nd_max): ``r``, ``ubrmse`` (m3 m-3), ``r_anomaly``
        against the truth, ``complete`` (share of cell-days whose window
        reached the sample target), ``mean_count`` (samples per window) and
        ``mean_sw``, ``mean_nd`` of the chosen windows.
    """
    from smkit.core.grid import Grid, nesting_factor
    from smkit.engine import Chunk, Config, Halo, Sources, load_inputs, process_chunk
    from smkit.engine.learners import resolve_params
    from smkit.validate import truth_skill

    sw_caps, nd_caps = list(sw_caps), list(nd_caps)
    cgrid = Grid.from_dataset(coarse)
    factor = nesting_factor(cgrid, Grid.from_dataset(fine))
    sl = coarse.indexes["time"].slice_indexer(days.start, days.stop)
    t0, t1 = sl.start or 0, sl.stop if sl.stop is not None else coarse.sizes["time"]
    if t1 <= t0:
        raise ValueError(f"no days of the input fall in {days}")
    ny, nx = cgrid.shape
    base = Config(learners=(learner,), params={learner: resolve_params(learner, (params or {}).get(learner))},
                  sw_max=max(sw_caps), nd_max=max(nd_caps), **options)
    y_all = coarse["sm"].transpose("time", "lat", "lon").values.astype(np.float64)
    inputs = load_inputs(Chunk(t0, t1, 0, ny, 0, nx), Sources(y_all, fine, factor), base,
                         Halo(base.nd_max // 2, base.sw_max // 2))
    truth_days = truth.isel(time=slice(t0, t1))
    rows = []
    grid = list(itertools.product(sw_caps, nd_caps))
    it = grid
    if progress:
        from smkit.core.progress import progress_bar

        it = progress_bar(grid, desc="window caps")
    for sw, nd in it:
        cfg = Config(**{**base.__dict__, "sw_max": sw, "nd_max": nd})
        res = process_chunk(inputs, cfg)
        product = xr.Dataset(
            {"sm": (("model", "time", "lat", "lon"), res.sm, SM_ATTRS)},
            coords={"model": [learner], "time": truth_days["time"], "lat": truth_days["lat"],
                    "lon": truth_days["lon"]},
        )
        sk = truth_skill(product, truth_days, factor=factor, common=False).loc[learner]
        complete = ~((res.flag & 1) > 0)
        rows.append({"sw_max": sw, "nd_max": nd, "r": sk["r"], "ubrmse": sk["ubrmse"],
                     "r_anomaly": sk["r_anomaly"], "complete": float(complete.mean()),
                     "mean_count": float(res.count.mean()), "mean_sw": float(res.sw.mean()),
                     "mean_nd": float(res.nd.mean())})
    return pd.DataFrame(rows).set_index(["sw_max", "nd_max"])


def relative_bias_by_quantile(product: xr.DataArray, reference: xr.DataArray,
                              quantiles=(0.1, 0.25, 0.5, 0.75, 0.9)) -> pd.Series:
    """Bias of a product relative to the reference within the reference's quantile bins.

    Parameters
    ----------
    product, reference : xarray.DataArray
        Same shape (any dims), m3 m-3; pairs where both are finite count.
    quantiles : sequence of float
        For each q, the bin holds the pairs whose reference value lies within
        ±5 percentage points of its q-quantile (q = 0.1 takes the 5 %-15 %
        band). ``all`` is every pair.

    Returns
    -------
    pandas.Series
        ``mean(product - reference) / mean(reference)`` (1) per bin, indexed
        by ``all`` and the quantiles.
    """
    p = np.asarray(product.values, dtype=float).ravel()
    r = np.asarray(reference.values, dtype=float).ravel()
    ok = np.isfinite(p) & np.isfinite(r)
    p, r = p[ok], r[ok]
    if p.size == 0:
        raise ValueError("no pair where both the product and the reference have a value")
    out = {"all": (p - r).mean() / r.mean()}
    for q in quantiles:
        lo, hi = np.quantile(r, [max(q - 0.05, 0), min(q + 0.05, 1)])
        sel = (r >= lo) & (r <= hi)
        out[q] = (p[sel] - r[sel]).mean() / r[sel].mean() if sel.any() else np.nan
    return pd.Series(out, name="relative bias")


@renamed_keywords(methods="models")
def compare_strategies(window: xr.Dataset, global_: xr.Dataset, reference: xr.DataArray, *,
                       models=None, quantiles=(0.1, 0.25, 0.5, 0.75, 0.9)) -> pd.DataFrame:
    """Relative bias by quantile of the window and the global strategy (Fig. S7).

    Both products are scored on the pixel-days where both have a value.

    Returns
    -------
    pandas.DataFrame
        Rows (model, strategy), columns ``all`` and the quantiles: relative
        bias (1); plus rows (model, "|window| / |global| - 1"): the relative
        change of the absolute bias (negative = the window strategy has less bias).
    """
    models = models or [str(m) for m in window["model"].values if m in global_["model"].values]
    rows = {}
    for m in models:
        w = window["sm"].sel({"model": m})
        g = global_["sm"].sel({"model": m})
        both = w.notnull() & g.notnull()
        rw = relative_bias_by_quantile(w.where(both), reference.where(both), quantiles)
        rg = relative_bias_by_quantile(g.where(both), reference.where(both), quantiles)
        rows[(m, "window")] = rw
        rows[(m, "global")] = rg
        rows[(m, "|window| / |global| - 1")] = rw.abs() / rg.abs() - 1
    return pd.DataFrame(rows).T


def compare_clustering(clustered, unclustered, *, truth: xr.Dataset | None = None,
                       period: slice | None = None) -> pd.DataFrame:
    """BMA fitted per zone against one fit for the whole domain (Fig. S6).

    Parameters
    ----------
    clustered, unclustered : smkit.workflow.study.Study
        Studies opened with ``clustered=True`` and ``False`` (same base product).
    truth : xarray.Dataset, optional
        1-km truth for a second, gap-free score.
    period : slice, optional
        Days scored against the truth (default: the validation years).

    Returns
    -------
    pandas.DataFrame
        Rows: network scores over the validation years (R, RMSE, MAE,
        ubRMSE, N) for "clustered" and "unclustered", and (if ``truth``) the
        truth skill; a column ``improvement [%]`` = relative reduction of the
        error (RMSE, MAE, ubRMSE) or increase of R with clusters.
    """
    from smkit.validate import score_networks, truth_skill

    rows = []
    for name, st in (("clustered", clustered), ("unclustered", unclustered)):
        sc = score_networks(st.test(), models=["bma"])
        for _, r in sc.reset_index().iterrows():
            rows.append({"reference": f"stations {r['network']}", "bma": name,
                         **{k: r[k] for k in ("n", "r", "rmse", "mae", "ubrmse")}})
        if truth is not None:
            yrs = [str(y) for y in st.test_years]
            sel = period or slice(f"{yrs[0]}-01-01", f"{yrs[-1]}-12-31")
            p = st.product["sm"].sel({"model": ["bma"]}).sel(time=sel)
            sk = truth_skill(p, truth, factor=int(st.product.attrs["factor"]), common=False).loc["bma"]
            rows.append({"reference": "1-km truth", "bma": name, "n": sk["n"], "r": sk["r"],
                         "rmse": sk["rmse"], "mae": np.nan, "ubrmse": sk["ubrmse"]})
    df = pd.DataFrame(rows).set_index(["reference", "bma"])
    out = []
    for ref in dict.fromkeys(df.index.get_level_values(0)):
        c, u = df.loc[(ref, "clustered")], df.loc[(ref, "unclustered")]
        imp = {"r": 100 * (c["r"] - u["r"]) / abs(u["r"]),
               **{k: 100 * (u[k] - c[k]) / u[k] for k in ("rmse", "mae", "ubrmse")}}
        out.append(pd.Series(imp, name=(ref, "improvement [%]")))
    return pd.concat([df, pd.DataFrame(out)]).sort_index(level=0, sort_remaining=False)
