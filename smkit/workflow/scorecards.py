"""Scorecards and tables of a study: every product against the truth and the stations, with intervals.

:func:`truth_scorecard` and :func:`station_scorecard` score every product
over the validation years; :func:`station_holdout_scorecard` and
:func:`station_holdout` hold the scored stations out of the sub-grid model
and of the BMA weights; :func:`scorecard_summary` turns the scorecards into
sentences; :func:`tuning_comparison`, :func:`bma_vs_best`,
:func:`comparison_summary`, :func:`truth_table` and :func:`overview_table`
are the smaller tables of notebooks 02, 04, 05 and 09.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

from smkit.core.vocabulary import COVARIATES
from smkit.workflow.products import PRODUCT_OPTIONS, base_product
from smkit.workflow.scenario import has_truth

if TYPE_CHECKING:
    from smkit.workflow.study import Study

__all__ = [
    "bma_vs_best",
    "station_holdout",
    "truth_table",
    "tuning_comparison",
    "truth_scorecard",
    "station_scorecard",
    "station_holdout_scorecard",
    "scorecard_summary",
    "comparison_summary",
    "overview_table",
]


def bma_vs_best(networks: pd.DataFrame) -> pd.DataFrame:
    """R of BMA against the best single learner per network (from :func:`smkit.validate.score_networks`).

    Returns
    -------
    pandas.DataFrame
        Per network: ``bma_r``, ``best_learner``, ``best_r`` and ``bma_minus_best``.
    """
    df = networks.reset_index() if "network" not in networks.columns else networks
    rows = []
    for net, g in df.groupby("network", sort=False):
        g = g.set_index("model")
        learners = g.drop(index=[m for m in ("bma", "cci") if m in g.index])
        if "bma" not in g.index or learners.empty:
            continue
        best = learners["r"].idxmax()
        rows.append({"network": net, "bma_r": g.loc["bma", "r"], "best_learner": best,
                     "best_r": learners.loc[best, "r"], "bma_minus_best": g.loc["bma", "r"] - learners.loc[best, "r"],
                     "n": g.loc["bma", "n"]})
    return pd.DataFrame(rows).set_index("network")


def station_holdout(st: Study, n_folds: int = 5, seed: int = 0) -> pd.DataFrame:
    """Network scores of BMA whose weights never saw the scored stations.

    The stations are dealt into ``n_folds`` folds within each zone
    (:func:`smkit.validate.split_stations`); each fold is scored with
    weights fitted on the other folds' pairs (all years), so the score
    measures how the weights carry to unseen places.

    Returns
    -------
    pandas.DataFrame
        Per network: N, R, RMSE, MAE, ubRMSE of the held-out BMA, next to
        the in-sample BMA (weights fitted on every station, same pairs).
    """
    import warnings

    from smkit.bma import BMAWarning
    from smkit.validate import split_stations
    from smkit.validate.metrics import all_metrics
    from smkit.workflow.study import bma_at_pairs, fit_bma  # the study's BMA (study imports this module)

    pairs = st.pairs[np.isfinite(st.pairs[st.learners + ["obs"]].to_numpy()).all(axis=1)].copy()
    matched = st.matched
    folds = split_stations(matched, matched["zone"].values, n_folds=n_folds, seed=seed)
    station_ids = matched["station"].values
    pairs["bma_held_out"] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BMAWarning)
        for train_idx, test_idx in folds:
            train = pairs[np.isin(pairs["station"], station_ids[train_idx])]
            test = np.isin(pairs["station"], station_ids[test_idx])
            if train.empty or not test.any():
                continue
            fit = fit_bma(train, st.learners, None, zones=st.zones, method="em")
            pairs.loc[test, "bma_held_out"] = bma_at_pairs(fit, pairs[test], st.learners)
        full = fit_bma(pairs, st.learners, None, zones=st.zones, method="em")
    pairs["bma_in_sample"] = bma_at_pairs(full, pairs, st.learners)
    rows = []
    for net, g in pairs.groupby("network", sort=False):
        for col, label in (("bma_held_out", "held-out stations"), ("bma_in_sample", "in-sample")):
            m = all_metrics(g[col].to_numpy(), g["obs"].to_numpy())
            rows.append({"network": net, "weights": label, **{k: m[k] for k in ("n", "r", "rmse", "mae", "ubrmse")}})
    return pd.DataFrame(rows).set_index(["network", "weights"])


def truth_table(st: Study, years=None) -> pd.DataFrame:
    """Every method and the interpolation baselines against the 1-km truth over the validation years."""
    from smkit.validate import truth_skill

    yrs = [str(y) for y in (years or st.test_years)]
    sel = {"time": slice(f"{yrs[0]}-01-01", f"{yrs[-1]}-12-31")}
    product = st.product["sm"].sel(sel)
    return truth_skill(product, st.scenario.truth, factor=int(st.product.attrs["factor"]), common=True,
                       coarse=st.scenario.coarse)


def _test_period(st: Study, years=None) -> dict:
    yrs = [int(y) for y in (years or st.test_years)]
    return {"time": slice(f"{min(yrs)}-01-01", f"{max(yrs)}-12-31")}


def tuning_comparison(st: Study, months=range(4, 10), *, n_boot: int = 200,
                      progress: bool = True) -> pd.DataFrame:
    """The windowed learners with tuned and with default hyperparameters against the truth.

    Both are scored over the growing season (``months``) of the first
    validation year; the default-parameter product is computed (and cached)
    for those days only.

    Returns
    -------
    pandas.DataFrame
        :func:`smkit.validate.skill.truth_scores` rows ``<learner>_tuned`` and ``<learner>_default``.
    """
    from smkit.validate.skill import truth_scores

    if not st.params.get("tune"):
        raise ValueError("the study was opened without tuning (tune=False)")
    year = int(min(st.test_years))
    months = list(months)
    sel = slice(f"{year}-{min(months):02d}-01", str((pd.Timestamp(f"{year}-{max(months):02d}-01")
                                                      + pd.offsets.MonthEnd(0)).date()))
    opts = {k: v for k, v in st.params.items() if k in PRODUCT_OPTIONS and k != "params"}
    default = base_product(st.scenario, learners=st.learners, cache_dir=st.params.get("cache_dir"),
                           days=sel, seed=st.params.get("seed", 0), progress=progress, **opts)
    tuned = (st.windowed if st.windowed is not None else st.product)["sm"].sel({"model": st.learners})
    tuned = tuned.sel(time=sel).assign_coords(model=[f"{m}_tuned" for m in st.learners])
    default = default["sm"].sel(time=sel).assign_coords(model=[f"{m}_default" for m in st.learners])
    both = xr.concat([tuned, default], dim="model")
    return truth_scores(both.to_dataset(name="sm"), st.scenario.truth, int(st.product.attrs["factor"]),
                        n_boot=n_boot, reference=None)


def truth_scorecard(st: Study, *, n_boot: int = 300, oracle: int = 30, seed: int = 0,
                    progress: bool = True) -> pd.DataFrame:
    """Every product against the 1-km truth over the validation years, beside what a user has, with intervals.

    Rows: the final learners and BMA (sub-grid pattern learned from the
    stations of the training years), the windowed learners alone
    (``<learner>_windows``), the retrieval's nearest and bilinear
    interpolations and, with ``oracle`` > 0, each learner corrected by the
    sub-grid model fitted on ``oracle`` pixels of the *truth* of the training
    years (``<learner>_oracle``: an upper bound of what point data could teach).
    Columns as :func:`smkit.validate.skill.truth_scores` (differences to bilinear).
    """
    from smkit.validate.skill import truth_scores

    sel = _test_period(st)
    parts = [st.product["sm"].sel(sel)]
    if st.windowed is not None:
        w = st.windowed["sm"].sel(sel)
        parts.append(w.assign_coords(model=[f"{m}_windows" for m in w["model"].values]))
        if oracle:
            from smkit.engine.subgrid import apply_subgrid, fit_subgrid, oracle_stations, station_table

            covs = tuple(str(st.windowed.attrs.get("covariates", ",".join(COVARIATES))).split(","))
            years = [int(y) for y in st.train_years]
            pseudo = oracle_stations(st.scenario.truth, oracle, seed=seed)
            table = station_table(st.windowed, st.scenario.fine, pseudo, covariates=covs,
                                  time=slice(f"{min(years)}-01-01", f"{max(years)}-12-31"))
            models = fit_subgrid(table, [str(m) for m in w["model"].values], covs)
            o = apply_subgrid(st.windowed.sel(sel), st.scenario.fine, models, covariates=covs)["sm"]
            parts.append(o.assign_coords(model=[f"{m}_oracle" for m in o["model"].values]))
    both = xr.concat(parts, dim="model")
    if progress:
        from smkit.core.progress import dask_progress

        with dask_progress("scoring against the truth"):
            both = both.load()
    return truth_scores(both.to_dataset(name="sm"), st.scenario.truth, int(st.product.attrs["factor"]),
                        coarse=st.scenario.coarse, n_boot=n_boot, seed=seed)


def station_scorecard(st: Study, *, n_boot: int = 300, seed: int = 0) -> pd.DataFrame:
    """Every product and the retrieval at the stations over the validation years, with intervals.

    Per network and for all stations pooled (group ``all``): pooled R, median
    per-station R, station-demeaned R, 35-day anomaly R, ubRMSE and mean
    station bias, each with its 90 % block-bootstrap interval and its
    difference to CCI (:func:`smkit.validate.skill.station_scores`). The windowed
    learners alone appear as ``<learner>_windows``. The stations are those
    whose training-year data fitted the sub-grid model and BMA: the years are
    held out, the places are not (:func:`station_holdout` holds out places).
    """
    from smkit.validate import match_stations, split_years
    from smkit.validate.skill import station_scores

    test = st.test()
    if st.windowed is not None:
        w = match_stations(st.windowed[["sm"]], st.scenario.stations)
        w = split_years(w, st.train_years, st.test_years)[1]
        w = w.assign_coords(model=[f"{m}_windows" for m in w["model"].values])
        test = test.reindex(time=np.union1d(test["time"].values, w["time"].values))
        w = w.reindex(time=test["time"].values)
        test = test.assign(pred=xr.concat([test["pred"], w["pred"]], dim="model"))
    by_net = station_scores(test, reference="cci", n_boot=n_boot, seed=seed)
    pooled = station_scores(test, reference="cci", n_boot=n_boot, seed=seed, by="all")
    return pd.concat([by_net, pooled])


def station_holdout_scorecard(st: Study, *, n_folds: int = 4, n_boot: int = 300,
                              seed: int = 0) -> pd.DataFrame:
    """Station scores over the validation years with the sub-grid model fitted *without* the scored stations.

    The stations are dealt into ``n_folds`` folds (stratified by zone,
    :func:`smkit.validate.split_stations`); for each fold the sub-grid models
    are fitted on the other stations' training years, and each held-out
    station's members are corrected at its own pixel with the fold's
    anomaly terms: ``product + sum_k w_k (x_k - mean_k)`` over the
    anomaly and anomaly-times-wetness features at the station (the context
    terms, which the map's removal of each cell's mean cancels, are left
    out). BMA then merges the held-out members with the study's weights.
    Columns as :func:`station_scorecard`; the learners and ``bma`` here never
    saw the scored stations' data (the BMA weights did, as four numbers per zone).
    """
    from smkit.engine.subgrid import feature_names, fit_subgrid, station_table
    from smkit.validate import split_stations, split_years
    from smkit.validate.skill import station_scores

    if st.windowed is None:
        raise ValueError("the study was opened without the sub-grid model (subgrid=False)")
    w = st.windowed
    learners = st.learners
    covs = tuple(str(w.attrs.get("covariates", ",".join(COVARIATES))).split(","))
    names = feature_names(covs)
    anomaly_terms = [n for n in names if "_anomaly" in n]
    table = station_table(w, st.scenario.fine, st.scenario.stations, covariates=covs)
    train = table[np.isin(pd.DatetimeIndex(table["time"]).year, [int(y) for y in st.train_years])]
    matched = st.matched
    folds = split_stations(matched, matched["zone"].values, n_folds=n_folds, seed=seed)
    station_names = np.asarray(matched["name"].values).astype(str)
    held = table.copy()
    for m in learners:
        held[m] = np.nan
    for train_idx, test_idx in folds:
        fit_names, test_names = set(station_names[train_idx]), set(station_names[test_idx])
        models = fit_subgrid(train[train["name"].isin(fit_names)], learners, covs)
        rows = held["name"].isin(test_names).to_numpy()
        for m in learners:
            coef = dict(zip(names, models[m].coef_, strict=True))
            sub = table.loc[rows]
            corr = np.zeros(int(rows.sum()))
            for n in anomaly_terms:
                x = sub[f"{m}:{n}"]
                corr += coef[n] * (x - x.groupby(sub["name"]).transform("mean")).fillna(0.0).to_numpy()
            held.loc[rows, m] = np.clip(sub[m].to_numpy() + corr, 0.0, float(w.attrs.get("sm_max", 0.6)))
    # back onto the matched layout: (model, station, time), cci first, then the learners and BMA
    pred = st.matched["pred"].sel({"model": ["cci", *learners]}).values.copy()
    pred[1:] = np.nan
    pos = {str(n): k for k, n in enumerate(station_names)}
    tpos = pd.Index(pd.DatetimeIndex(st.matched["time"].values))
    si = held["name"].map(pos).to_numpy()
    ti = tpos.get_indexer(pd.DatetimeIndex(held["time"]))
    for k, m in enumerate(learners):
        pred[1 + k, si, ti] = held[m].to_numpy()
    bma_pred = np.full(pred.shape[1:], np.nan)
    for n in range(matched.sizes["station"]):
        z = int(matched["zone"].values[n])
        try:
            p = st.bma.params_for(z)
        except KeyError:
            p = st.bma.params_for("pooled")
        f = pred[1:, n, :].T  # (time, learner)
        bma_pred[n] = (p["bias_coefs"][:, 0] + p["bias_coefs"][:, 1] * f) @ p["weights"]
    both = xr.DataArray(np.concatenate([pred, bma_pred[None]]), dims=("model", "station", "time"),
                        coords={"model": ["cci", *learners, "bma"]})
    m = st.matched.drop_vars(["pred", "model"]).assign(pred=both)
    test = split_years(m, st.train_years, st.test_years)[1]
    by_net = station_scores(test, reference="cci", n_boot=n_boot, seed=seed)
    pooled = station_scores(test, reference="cci", n_boot=n_boot, seed=seed, by="all")
    return pd.concat([by_net, pooled])


def scorecard_summary(truth: pd.DataFrame | None, stations: pd.DataFrame, best: str = "bma") -> list[str]:
    """Plain sentences on where ``best`` wins and where it does not, computed from the scorecards."""
    from smkit.validate.skill import verdict

    lines = []
    if truth is not None and best in truth.index:
        for metric, label in (("r", "total R"), ("r_anomaly", "within-cell anomaly R")):
            row = truth.loc[best]
            lines.append(verdict(row[f"diff_{metric}"], row[f"diff_{metric}_lo"], row[f"diff_{metric}_hi"],
                                 what=f"Against the 1-km truth, {best.upper()}",
                                 than="bilinear interpolation",
                                 metric=label))
        for m in [i for i in truth.index if i.endswith("_windows")]:
            row = truth.loc[m]
            lines.append(verdict(row["diff_r"], row["diff_r_lo"], row["diff_r_hi"],
                                 what=f"Without stations, {m.removesuffix('_windows').upper()}",
                                 than="bilinear", metric="total R")
                         + f" Its within-cell anomaly R: {row['r_anomaly']:.3f} vs bilinear's "
                           f"{truth.loc['bilinear', 'r_anomaly']:.3f}.")
        row = truth.loc[best]
        lines.append(f"Seam statistic of {best.upper()}: {row['seam']:.3f} "
                     f"(the truth's {row['seam_truth']:.3f}).")
    for (group, method), row in stations.iterrows():
        if method != best:
            continue
        for metric, label in (("r_demeaned", "station-demeaned (temporal) R"), ("r", "pooled R")):
            lines.append(verdict(row[f"diff_{metric}"], row[f"diff_{metric}_lo"], row[f"diff_{metric}_hi"],
                                 what=f"At {'all' if group == 'all' else f'the {group}'} stations, "
                                      f"{best.upper()}", than="CCI", metric=label))
    return lines


def comparison_summary(result: dict) -> pd.DataFrame:
    """Spatial median and 10/90 % quantiles of the per-pixel scores of :func:`smkit.validate.compare_models`."""
    rows = []
    for name, ds in result.items():
        for m in ("r", "mae", "ubrmse", "bias"):
            if m not in ds:
                continue
            v = np.asarray(ds[m].values, dtype=float).ravel()
            v = v[np.isfinite(v)]
            if v.size == 0:
                continue
            rows.append({"reference": name, "metric": m, "median": np.median(v),
                         "q10": np.quantile(v, 0.1), "q90": np.quantile(v, 0.9), "pixels": v.size})
    return pd.DataFrame(rows).set_index(["reference", "metric"])


def overview_table(st: Study) -> pd.DataFrame:
    """All methods side by side: station scores over the validation years and, if known, truth skill."""
    from smkit.validate import score_networks

    net = score_networks(st.test()).reset_index()
    pooled = net.groupby("model", sort=False)[["r", "ubrmse"]].mean()
    pooled.columns = [f"stations {c} (mean of networks)" for c in pooled.columns]
    if has_truth(st.scenario):
        t = truth_table(st)[["r", "ubrmse", "r_anomaly"]]
        t.columns = [f"truth {c}" for c in t.columns]
        pooled = pooled.join(t, how="outer")
    return pooled
