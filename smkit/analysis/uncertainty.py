"""Uncertainty of the product: leave one covariate out, and fewer BMA pairs (section 4.6).

:func:`leave_one_out` reruns downscaling without each covariate in turn — at
the coarse cells holding stations only, since the stations are what scores
it, with every other cell still training the windows — refits BMA on the
training years and scores it against the stations over the validation years
(Fig. 12a). Each rerun is cached like the base product, so a second run of
the notebook costs seconds.

:func:`sample_reduction` removes a share of the BMA training pairs at random,
refits and scores, repeated over seeds (Fig. 12b); removing 0 % reproduces
the base BMA exactly.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import xarray as xr


def station_cells(st) -> xr.DataArray:
    """Boolean mask on the coarse grid of the cells holding a matched station."""
    coarse = st.scenario.coarse
    lat, lon = coarse["lat"].values, coarse["lon"].values
    res = float(np.median(np.diff(lat)))
    m = st.matched
    ok = np.asarray(m["status"].values) == "ok" if "status" in m.coords else np.ones(m.sizes["station"], bool)
    # the matched fine pixel's centre is never on a cell edge, unlike a station's coordinates
    i = np.floor((np.asarray(m["pixel_lat"].values)[ok] - (lat[0] - res / 2)) / res).astype(int)
    j = np.floor((np.asarray(m["pixel_lon"].values)[ok] - (lon[0] - res / 2)) / res).astype(int)
    inside = (i >= 0) & (i < lat.size) & (j >= 0) & (j < lon.size)
    mask = np.zeros((lat.size, lon.size), bool)
    mask[i[inside], j[inside]] = True
    return xr.DataArray(mask, dims=("lat", "lon"), coords={"lat": coarse["lat"], "lon": coarse["lon"]},
                        name="station_cells")


def _bma_scores(st, pairs: pd.DataFrame, fit_pairs: pd.DataFrame | None = None) -> pd.DataFrame:
    """Fit BMA on the training years of ``fit_pairs`` (default ``pairs``); score on the validation years.

    Scored on the pairs of Table 4 (every learner, the retrieval and the
    station have a value), so the ``all`` case equals Table 4's BMA row.
    """
    from smkit.bma import BMAWarning
    from smkit.validate.metrics import all_metrics
    from smkit.workflow.study import bma_at_pairs, fit_bma

    fit_pairs = pairs if fit_pairs is None else fit_pairs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BMAWarning)
        fit = fit_bma(fit_pairs, st.learners, st.train_years, zones=st.zones, method="em")
    year = pd.DatetimeIndex(pairs["time"]).year
    test = pairs[np.isin(year, st.test_years)]
    # the support of Table 4: pairs where every product, the retrieval included, has a value
    need = st.learners + ["obs"] + (["cci"] if "cci" in test else [])
    test = test[np.isfinite(test[need].to_numpy()).all(axis=1)]
    pred = bma_at_pairs(fit, test, st.learners)
    rows = []
    for net, idx in test.groupby("network", sort=False).groups.items():
        sel = test.index.get_indexer(idx)
        m = all_metrics(pred[sel], test["obs"].to_numpy()[sel])
        rows.append({"network": net, **{k: m[k] for k in ("n", "r", "rmse", "mae", "ubrmse")}})
    return pd.DataFrame(rows)


def leave_one_out(st, covariates=None, *, progress: bool = True) -> pd.DataFrame:
    """BMA's station scores with all covariates and without each one (Fig. 12a).

    Every case is the windowed learners' product (without the sub-grid
    pattern learned from the stations), BMA refitted on its training years.

    Parameters
    ----------
    st : smkit.workflow.study.Study
        The study (its product, learners, zones, years and caps are reused).
    covariates : sequence of str, optional
        Covariates to leave out in turn (default: those of the product).
    progress : bool

    Returns
    -------
    pandas.DataFrame
        Rows (case, network) with case ``all`` or ``without X``; columns
        ``n``, ``r`` (1), ``rmse``, ``mae``, ``ubrmse`` (m3 m-3).
    """
    from smkit.workflow.study import PRODUCT_OPTIONS, station_pairs, variant_products

    all_covs = str(st.product.attrs.get("covariates", "")).split(",")
    leave = list(covariates or all_covs)
    unknown = [c for c in leave if c not in all_covs]
    if unknown:
        raise KeyError(f"covariates {unknown} are not in the product; it has {all_covs}")
    cells = station_cells(st)
    opts = {k: v for k, v in st.params.items() if k in PRODUCT_OPTIONS and k != "covariates"}
    opts["seed"] = st.params.get("seed", 0)
    # like with like: the variants are windowed products, so the full set is scored at the same stage
    # (the sub-grid model learned from the stations is not refitted per variant)
    if getattr(st, "windowed", None) is not None:
        _, base_pairs = station_pairs(st.windowed, st.scenario, st.zones if st.params.get("clustered", True)
                                      else None)
    else:
        base_pairs = st.pairs
    frames = [_bma_scores(st, base_pairs).assign(case="all")]
    sets = {f"without {cov}": tuple(c for c in all_covs if c != cov) for cov in leave}
    # few cells: reading dominates, so every set shares one pass over the inputs, in long day blocks
    products = variant_products(st.scenario, sets, learners=st.learners, cache_dir=st.params.get("cache_dir"),
                                cells=cells, time_chunk=64, progress=progress, **opts)
    zones = st.zones if st.params.get("clustered", True) else None
    for case, product in products.items():
        _, pairs = station_pairs(product, st.scenario, zones)
        frames.append(_bma_scores(st, pairs).assign(case=case))
    return pd.concat(frames).set_index(["case", "network"])


def figure_leave_one_out(table: pd.DataFrame, metrics=("r", "rmse", "mae")):
    """Bars of each score per network for all covariates and without each (Fig. 12a)."""
    import matplotlib.pyplot as plt

    cases = list(dict.fromkeys(table.index.get_level_values("case")))
    nets = list(dict.fromkeys(table.index.get_level_values("network")))
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.8), squeeze=False)
    w = 0.8 / len(cases)
    x = np.arange(len(nets))
    for ax, m in zip(axes[0], metrics, strict=True):
        for k, case in enumerate(cases):
            vals = [table.loc[(case, n), m] if (case, n) in table.index else np.nan for n in nets]
            ax.bar(x + (k - (len(cases) - 1) / 2) * w, vals, w, label=case,
                   color="k" if case == "all" else f"C{k}")
        ax.set_xticks(x, nets)
        ax.set_ylabel(m.upper() + (" [1]" if m == "r" else " [m3 m-3]"))
        ax.set_title(m.upper())
    axes[0, 0].legend(fontsize=8)
    fig.suptitle("BMA against the stations, validation years: all covariates and without each")
    fig.tight_layout()
    return fig


def sample_reduction(st, fractions=(0.0, 0.1, 0.2, 0.3, 0.4, 0.5), repeats: int = 10, seed: int = 0,
                     progress: bool = True) -> pd.DataFrame:
    """BMA's station scores after removing a share of its training pairs at random (Fig. 12b).

    Parameters
    ----------
    st : smkit.workflow.study.Study
    fractions : sequence of float
        Shares (0-1) of the training-year pairs removed.
    repeats : int
        Random draws per share (one for 0, which removes nothing).
    seed : int
    progress : bool

    Returns
    -------
    pandas.DataFrame
        One row per (fraction, repeat, network): ``n``, ``r``, ``rmse``,
        ``mae``, ``ubrmse``, ``n_train`` (pairs left to fit).
    """
    pairs = st.pairs
    year = pd.DatetimeIndex(pairs["time"]).year
    train_idx = np.flatnonzero(np.isin(year, st.train_years) &
                               np.isfinite(pairs[st.learners + ["obs"]].to_numpy()).all(axis=1))
    rng = np.random.default_rng(seed)
    frames = []
    jobs = [(f, r) for f in fractions for r in range(1 if f == 0 else repeats)]
    it = jobs
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(jobs, desc="sample reduction")
    for frac, rep in it:
        if not 0 <= frac < 1:
            raise ValueError(f"fractions must be in [0, 1), got {frac}")
        drop = rng.choice(train_idx, int(round(frac * train_idx.size)), replace=False)
        fit_pairs = pairs.drop(index=pairs.index[drop])
        scores = _bma_scores(st, pairs, fit_pairs)
        frames.append(scores.assign(fraction=frac, repeat=rep, n_train=train_idx.size - drop.size))
    return pd.concat(frames).set_index(["fraction", "repeat", "network"])


def summarise_reduction(table: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation over repeats per share removed and network."""
    g = table.groupby(level=["fraction", "network"], sort=False)[["r", "rmse", "mae", "ubrmse", "n_train"]]
    out = g.agg(["mean", "std"])
    out.columns = [f"{a}_{b}" for a, b in out.columns]
    return out


def figure_sample_reduction(table: pd.DataFrame, metrics=("r", "rmse")):
    """Scores against the share of pairs removed, mean ± sd over repeats, per network (Fig. 12b)."""
    import matplotlib.pyplot as plt

    s = summarise_reduction(table)
    nets = list(dict.fromkeys(s.index.get_level_values("network")))
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.5 * len(metrics), 3.8), squeeze=False)
    for ax, m in zip(axes[0], metrics, strict=True):
        for k, net in enumerate(nets):
            sub = s.xs(net, level="network")
            x = 100 * sub.index.to_numpy(dtype=float)
            ax.errorbar(x, sub[f"{m}_mean"], yerr=sub[f"{m}_std"].fillna(0), marker="o", capsize=3,
                        label=net, color=f"C{k}")
        ax.set_xlabel("training pairs removed [%]")
        ax.set_ylabel(m.upper() + (" [1]" if m == "r" else " [m3 m-3]"))
        ax.set_title(f"BMA {m.upper()} vs the stations")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
