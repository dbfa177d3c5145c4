"""Scores of matched station pairs and their tables (the paper's Fig. 7 and Table 4).

:func:`score_stations` scores every model at every station,
:func:`score_networks` per network (and sub-period), :func:`score_seasons` in
the monsoon season and the rest of the year, and :func:`network_table` lays
the network scores out like the paper's Table 4. All take the output of
:func:`smkit.validate.match_stations`.

Units: soil moisture in m3 m-3 throughout; R dimensionless; N a count.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from smkit._compat import renamed_keywords
from smkit.core.pixels import select_models
from smkit.validate.labels import METRIC_LABELS, MONSOON_MONTHS, model_label, model_order, network_order
from smkit.validate.metrics import METRIC_NAMES, all_metrics

__all__ = [
    "network_table", "score_networks", "score_seasons", "score_stations", "scoring_arrays",
]


def scoring_arrays(
    matched: xr.Dataset, models, common: bool
) -> tuple[xr.DataArray, xr.DataArray]:
    """``pred`` (selected models) and ``obs`` of matched pairs, masked to common pairs if asked.

    Parameters
    ----------
    matched : xarray.Dataset
        Output of :func:`smkit.validate.match_stations`.
    models : str or sequence of str or None
        Models to keep (None for all).
    common : bool
        Keep only the pairs where the observation and every kept model have
        a value, so that gaps favour no model.

    Returns
    -------
    pred : xarray.DataArray
        ``(model, station, time)``, m3 m-3 (``units`` attribute set).
    obs : xarray.DataArray
        ``(station, time)``, m3 m-3.
    """
    if not isinstance(matched, xr.Dataset) or not {"obs", "pred"} <= set(matched.data_vars):
        raise TypeError("expected the output of match_stations (a Dataset with 'obs' and 'pred')")
    pred = select_models(matched["pred"], models).transpose("model", "station", "time")
    obs = matched["obs"].transpose("station", "time")
    if common:  # the same pairs for every model, so that gaps favour none
        valid = obs.notnull() & pred.notnull().all("model")
        pred, obs = pred.where(valid), obs.where(valid)
    pred = pred.assign_attrs(units="m3 m-3")
    obs = obs.assign_attrs(units="m3 m-3")
    return pred, obs


def _metrics_frame(ds: xr.Dataset, index: dict) -> list[dict]:
    """Rows ``{**index, model, label, n, r, rmse, mae, bias, ubrmse}`` of a metrics Dataset."""
    rows = []
    for k, m in enumerate(ds["model"].values):
        row = {**index, "model": str(m), "label": model_label(str(m))}
        for name in ("n", *[nm for nm in METRIC_NAMES if nm != "n"]):
            v = ds[name].values[k]
            row[name] = int(v) if name == "n" else float(v)
        rows.append(row)
    return rows


@renamed_keywords(methods="models")
def score_stations(matched: xr.Dataset, *, models=None, common: bool = True) -> pd.DataFrame:
    """Skill of every model at every station (the paper's Fig. 7).

    Parameters
    ----------
    matched : xarray.Dataset
        Output of :func:`smkit.validate.match_stations`.
    models : sequence of str, optional
        Models to score (default all, including ``cci``).
    common : bool, default True
        Score every model on the same pairs (where the observation and every
        selected model have a value), so that gaps do not favour one model.
        A model missing everywhere at a station then leaves that station with
        N = 0: pass ``models=`` to leave it out.

    Returns
    -------
    pandas.DataFrame
        One row per station and model: ``station``, ``name``, ``network``,
        ``cadence``, ``lat``, ``lon`` (degrees), ``status``, ``model``,
        ``label`` (the paper's label), ``n``, ``r`` (1), ``rmse``, ``mae``,
        ``bias`` (product - observation) and ``ubrmse`` (m3 m-3). Metrics are
        NaN with ``n = 0`` where there is no complete pair.
    """
    pred, obs = scoring_arrays(matched, models, common)
    sc = all_metrics(pred, obs, dim="time").transpose("model", "station")
    rows = []
    for s in range(matched.sizes["station"]):
        index = {"station": matched["station"].values[s]}
        for c in ("name", "network", "cadence", "lat", "lon", "status"):
            if c in matched.variables:
                index[c] = matched[c].values[s]
        rows += _metrics_frame(sc.isel(station=s), index)
    return pd.DataFrame(rows)


def _period_mask(times: pd.DatetimeIndex, sel) -> np.ndarray:
    """Boolean mask of ``times`` for a period selector (slice, (start, end) or months)."""
    if isinstance(sel, slice):
        start, stop = sel.start, sel.stop
    elif (
        isinstance(sel, tuple)
        and len(sel) == 2
        and not all(isinstance(v, (int, np.integer)) for v in sel)
    ):
        start, stop = sel
    else:
        months = np.atleast_1d(np.asarray(sel, dtype=int))
        if months.size == 0 or months.min() < 1 or months.max() > 12:
            raise ValueError(
                f"a period given as months needs values in 1..12, got {sel!r} "
                "(give dates as strings or Timestamps)"
            )
        return np.isin(times.month, months)
    ok = np.ones(len(times), dtype=bool)
    if start is not None:
        ok &= times >= pd.Timestamp(start)
    if stop is not None:  # inclusive, like label slicing: a date string covers its whole span
        stop = pd.Timestamp(stop)
        s = str(sel.stop if isinstance(sel, slice) else sel[1])
        if len(s) == 4:
            stop = stop + pd.offsets.YearEnd(0)
        elif len(s) == 7:
            stop = stop + pd.offsets.MonthEnd(0)
        ok &= times <= stop
    return ok


@renamed_keywords(methods="models")
def score_networks(
    matched: xr.Dataset,
    periods: Mapping[str, object] | None = None,
    *,
    models=None,
    common: bool = True,
) -> pd.DataFrame:
    """Skill of every model per network over all its pairs (the paper's Table 4).

    Parameters
    ----------
    matched : xarray.Dataset
        Output of :func:`smkit.validate.match_stations`.
    periods : dict, optional
        ``{label: selector}`` to score sub-periods separately; a selector is
        a ``slice`` or ``(start, end)`` pair of dates (inclusive; ``"2010"``
        means the whole year) or a sequence of months (1-12). Default: the
        whole record.
    models : sequence of str, optional
        Models to score (default all).
    common : bool, default True
        Score every model on the same pairs (see :func:`score_stations`),
        so ``n`` is the same for every model of a network and period.

    Returns
    -------
    pandas.DataFrame
        One row per network (NZW, CERN, QXZ first, then others), period (a
        ``period`` column when ``periods`` is given) and model: ``network``,
        ``model``, ``label``, ``n_stations`` (stations with at least one
        pair), ``n``, ``r`` (1), ``rmse``, ``mae``, ``bias``, ``ubrmse``
        (m3 m-3). Feed it to :func:`network_table` for the paper's layout.
    """
    pred, obs = scoring_arrays(matched, models, common)
    times = pd.DatetimeIndex(matched["time"].values)
    selectors = {None: slice(None)} if periods is None else dict(periods)
    networks = np.asarray(matched["network"].values).astype(str)
    rows = []
    for net in network_order(networks):
        s = np.flatnonzero(networks == net)
        for label, sel in selectors.items():
            t = np.flatnonzero(_period_mask(times, sel))
            p = pred.isel(station=s, time=t)
            o = obs.isel(station=s, time=t)
            sc = all_metrics(p, o, dim=["station", "time"])
            index = {"network": net}
            if periods is not None:
                index["period"] = label
            stations_with_pairs = (p.notnull() & o.notnull()).any("time").any("model")
            index["n_stations"] = int(stations_with_pairs.sum())
            rows += _metrics_frame(sc, index)
    return pd.DataFrame(rows)


@renamed_keywords(methods="models")
def score_seasons(
    matched: xr.Dataset,
    *,
    models=None,
    common: bool = True,
    monsoon: Sequence[int] = MONSOON_MONTHS,
) -> pd.DataFrame:
    """Skill per network and model in the monsoon season (M1) and the rest of the year (M2).

    Parameters
    ----------
    matched : xarray.Dataset
        Output of :func:`smkit.validate.match_stations`.
    models : sequence of str, optional
        Models to score (default all).
    common : bool, default True
        Score every model on the same pairs.
    monsoon : sequence of int, default (5, 6, 7, 8, 9)
        Months of M1 (May-September in the paper); the month is that of the
        observation's time stamp (pentads and dekads never cross a month).

    Returns
    -------
    pandas.DataFrame
        As :func:`score_networks`, with ``period`` in {"M1", "M2"}.
    """
    monsoon = sorted({int(m) for m in monsoon})
    rest = [m for m in range(1, 13) if m not in monsoon]
    return score_networks(matched, {"M1": monsoon, "M2": rest}, models=models, common=common)


def network_table(
    scores: pd.DataFrame, metrics: Sequence[str] = ("r", "rmse", "mae", "ubrmse")
) -> pd.DataFrame:
    """Lay out :func:`score_networks` (or :func:`score_seasons`) output as the paper's Table 4.

    Parameters
    ----------
    scores : pandas.DataFrame
        Output of :func:`score_networks` or :func:`score_seasons`.
    metrics : sequence of str, default ("r", "rmse", "mae", "ubrmse")
        Metrics to show, one block of rows each, in order.

    Returns
    -------
    pandas.DataFrame
        Index (``metric``, ``network``[, ``period``]) with metric names such as
        ``R`` or ``RMSE (m3 m-3)``; columns ``N`` (number of pairs) and one
        column per model with the paper's labels in the paper's order (CCI,
        RF, MLR, SVR, XG, BMA, then any other model). When the models were
        not scored on common pairs their counts differ, and the table gets an
        ``N`` block of rows instead of the ``N`` column.
    """
    keys = ["network", "period"] if "period" in scores.columns else ["network"]
    order = model_order(scores["model"].unique())
    labels = [model_label(m) for m in order]
    groups = list(dict.fromkeys(map(tuple, scores[keys].astype(object).to_numpy().tolist())))
    by = {tuple(k): g.set_index("label") for k, g in scores.groupby(keys, sort=False)}
    n = pd.DataFrame([by[g]["n"].reindex(labels).to_numpy() for g in groups], columns=labels)
    same_n = bool((n.nunique(axis=1, dropna=False) <= 1).all())
    blocks = ([] if same_n else ["n"]) + list(metrics)
    rows, index = [], []
    for metric in blocks:
        name, units = METRIC_LABELS.get(metric, (metric, "1"))
        head = name if units == "1" else f"{name} ({units})"
        for k, g in enumerate(groups):
            vals = by[g][metric].reindex(labels)
            row = {"N": int(n.iloc[k, 0])} if same_n else {}
            row.update({lab: (int(v) if metric == "n" else float(v)) for lab, v in vals.items()})
            rows.append(row)
            index.append((head, *g))
    # when counts and scores share the columns, object columns keep the counts integers
    out = pd.DataFrame(
        rows,
        index=pd.MultiIndex.from_tuples(index, names=["metric", *keys]),
        dtype=None if same_n else object,
    )
    return out
