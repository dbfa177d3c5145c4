"""Figures of validation against stations and other models (the paper's Figs. 7-10).

:func:`plot_station_map` maps station skill (Fig. 7), :func:`plot_scatter`
draws product against in-situ soil moisture per network with season boxes
(Fig. 8), :func:`plot_station_series` one station over time (Fig. 9) and
:func:`plot_model_comparison` the per-pixel agreement with other models
(Fig. 10). They draw what :mod:`smkit.validate` computes (matched pairs,
station scores, model comparisons); every function returns its Figure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from smkit._compat import renamed_keywords
from smkit.core.grid import Grid
from smkit.core.vocabulary import LEARNER_ORDER
from smkit.validate.labels import METRIC_LABELS, MONSOON_MONTHS, model_label, model_order, network_order
from smkit.validate.metrics import METRIC_NAMES, all_metrics
from smkit.validate.scores import scoring_arrays

__all__ = ["plot_model_comparison", "plot_scatter", "plot_station_map", "plot_station_series"]

_NETWORK_MARKERS = {"NZW": "^", "CERN": "s", "QXZ": "o"}
_METRIC_CMAPS = {
    "r": "RdYlBu",
    "mae": "YlOrRd",
    "rmse": "YlOrRd",
    "ubrmse": "YlOrRd",
    "bias": "BrBG",
}
_SEASON_COLOURS = {"M1": "tab:blue", "M2": "tab:orange"}
_LETTERS = "abcdefghijklmnopqrstuvwxyz"  # panel letters


def _metric_axis_label(metric: str) -> str:
    name, units = METRIC_LABELS.get(metric, (metric, "1"))
    return f"{name} [-]" if units == "1" else f"{name} [{units}]"


def _pick_model(models: Sequence[str], model: str) -> str:
    """Find a model id from its id or its paper label (case-insensitive)."""
    models = [str(m) for m in models]
    for m in models:
        if model.lower() in (m.lower(), model_label(m).lower()):
            return m
    raise KeyError(
        f"model {model!r} not available; available: "
        f"{', '.join(f'{m} ({model_label(m)})' for m in models)}"
    )


def _draw_outline(ax, outline, fig) -> None:
    """Background of a station map: a field (with a colour bar), a Grid or a lon/lat box."""
    if outline is None:
        return
    if isinstance(outline, xr.Dataset):
        outline = outline[next(iter(outline.data_vars))]
    if isinstance(outline, xr.DataArray):
        field = outline.squeeze(drop=True)
        if set(field.dims) != {"lat", "lon"}:
            raise ValueError(f"outline field must be 2-D (lat, lon); got dims {field.dims}")
        field = field.transpose("lat", "lon")
        im = ax.pcolormesh(
            field["lon"].values,
            field["lat"].values,
            np.asarray(field.values, float),
            cmap="Greys",
            shading="nearest",
            alpha=0.55,
            zorder=0,
        )
        label = field.attrs.get("long_name", field.name or "background")
        units = field.attrs.get("units")
        fig.colorbar(
            im,
            ax=ax,
            orientation="horizontal",
            fraction=0.045,
            pad=0.1,
            aspect=40,
            label=f"{label} [{units}]" if units else str(label),
        )
        return
    if isinstance(outline, Grid):
        box = (outline.lon0, outline.lon1, outline.lat0, outline.lat1)
    else:
        box = tuple(float(v) for v in outline)
        if len(box) != 4:
            raise ValueError("outline must be a field, a Grid or (lon0, lon1, lat0, lat1)")
    lon0, lon1, lat0, lat1 = box
    ax.plot(
        [lon0, lon1, lon1, lon0, lon0],
        [lat0, lat0, lat1, lat1, lat0],
        color="0.3",
        lw=1.0,
        zorder=1,
        label="domain",
    )


@renamed_keywords(method="model")
def plot_station_map(
    scores: pd.DataFrame, metric: str | Sequence[str] = "r", model: str = "bma", outline=None
):
    """Stations coloured by their skill over the domain (the paper's Fig. 7).

    Parameters
    ----------
    scores : pandas.DataFrame
        Output of :func:`smkit.validate.score_stations`.
    metric : str or sequence of str, default "r"
        Metric(s) to map, one panel each (``("r", "mae")`` gives Fig. 7a-b);
        R is dimensionless, MAE, RMSE, ubRMSE and bias in m3 m-3.
    model : str, default "bma"
        Model id or paper label (e.g. "xgb" or "XG").
    outline : xarray.DataArray, smkit.core.grid.Grid or tuple, optional
        Background: a 2-D (lat, lon) field such as elevation (drawn in grey
        with its own colour bar), a Grid or a ``(lon0, lon1, lat0, lat1)``
        box in degrees drawn as the domain outline. Nothing is downloaded.

    Returns
    -------
    matplotlib.figure.Figure
        Markers by network; stations with no complete pair (N = 0) drawn as
        open grey markers.
    """
    import matplotlib.pyplot as plt

    metrics = [metric] if isinstance(metric, str) else list(metric)
    m = _pick_model(scores["model"].unique(), model)
    sub = scores[scores["model"] == m]
    fig, axes = plt.subplots(
        1, len(metrics), figsize=(5.6 * len(metrics), 5.2), squeeze=False, layout="constrained"
    )
    for ax, met in zip(axes[0], metrics, strict=True):
        if met not in sub.columns:
            raise KeyError(f"metric {met!r} not in scores; available: {', '.join(METRIC_NAMES)}")
        _draw_outline(ax, outline, fig)
        _draw_station_metric(fig, ax, sub, met)
        name, _ = METRIC_LABELS.get(met, (met, "1"))
        ax.set_title(f"{name} of {model_label(m)} against in-situ soil moisture")
        ax.set_xlabel("longitude [degrees east]")
        ax.set_ylabel("latitude [degrees north]")
        ax.set_aspect("equal", adjustable="datalim")
    return fig


def _station_colour_limits(met: str, vals: np.ndarray) -> tuple[float, float]:
    """Colour range of a station map: R up to 1 (down to its lowest value when negative), bias symmetric about 0,
    the others from 0."""
    finite = vals[np.isfinite(vals)]
    if met == "r":  # 0 to 1, reaching down to the lowest R (to 0.1) when some station's R is negative
        low = float(finite.min()) if finite.size else 0.0
        return (min(0.0, np.floor(low * 10) / 10), 1.0)
    if met == "bias":
        a = float(np.abs(finite).max()) if finite.size else 0.1
        return -a, a
    return 0.0, (float(finite.max()) if finite.size and finite.max() > 0 else 0.1)


def _draw_station_metric(fig, ax, sub: pd.DataFrame, met: str) -> None:
    """Stations coloured by ``met`` with a marker per network (open grey where NaN), colour bar, legend."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import Normalize, TwoSlopeNorm

    vals = sub[met].to_numpy(dtype=float)
    vmin, vmax = _station_colour_limits(met, vals)
    cmap = _METRIC_CMAPS.get(met, "viridis")
    # R below 0 (or any bias) is a different kind of result: diverging about 0, the bar spanning the data
    norm = TwoSlopeNorm(0.0, vmin, vmax) if vmin < 0 < vmax else Normalize(vmin, vmax)
    sc_ = None
    for net in network_order(sub["network"]):
        rows = sub[sub["network"] == net]
        v = rows[met].to_numpy(dtype=float)
        ok = np.isfinite(v)
        marker = _NETWORK_MARKERS.get(net, "D")
        if ok.any():
            sc_ = ax.scatter(
                rows["lon"].to_numpy()[ok],
                rows["lat"].to_numpy()[ok],
                c=v[ok],
                cmap=cmap,
                norm=norm,
                marker=marker,
                s=70,
                edgecolor="k",
                linewidth=0.6,
                zorder=3,
            )
        if (~ok).any():
            ax.scatter(
                rows["lon"].to_numpy()[~ok],
                rows["lat"].to_numpy()[~ok],
                facecolor="none",
                edgecolor="0.5",
                marker=marker,
                s=70,
                linewidth=1.0,
                zorder=3,
            )
    if sc_ is None:  # nothing to colour: still give the colour bar its scale
        sc_ = plt.cm.ScalarMappable(cmap=cmap, norm=norm)
    fig.colorbar(sc_, ax=ax, shrink=0.85, label=_metric_axis_label(met))
    _network_legend(ax, sub, no_pairs=bool((~np.isfinite(vals)).any()))


def _network_legend(ax, sub: pd.DataFrame, no_pairs: bool) -> None:
    """Legend of a station map: a marker per network with its station count, and N = 0 if any."""
    from matplotlib.lines import Line2D

    handles = [
        Line2D(
            [],
            [],
            marker=_NETWORK_MARKERS.get(n, "D"),
            ls="",
            color="0.6",
            mec="k",
            ms=8,
            label=f"{n} ({(sub['network'] == n).sum()})",
        )
        for n in network_order(sub["network"])
    ]
    if no_pairs:
        handles.append(
            Line2D([], [], marker="o", ls="", mfc="none", mec="0.5", ms=8, label="no pairs (N = 0)")
        )
    ax.legend(
        handles=handles,
        loc="best",
        fontsize=8,
        title="network",
        title_fontsize=8,
        framealpha=0.85,
    )


def _signed(v: float, digits: int = 3) -> str:
    """``+0.012`` / ``-0.012``, and ``0.000`` for what rounds to zero (never ``-0.000``)."""
    text = f"{v:+.{digits}f}"
    return f"{0:.{digits}f}" if float(text) == 0 else text


def _stat_text(x: np.ndarray, y: np.ndarray) -> str:
    """The scores box of a scatter panel, with units: N and R dimensionless, the errors in m3 m-3."""
    s = all_metrics(x, y)
    return (
        f"N = {int(s['n'])}\nR = {s['r']:.3f}\nRMSE = {s['rmse']:.3f} m3 m-3\n"
        f"ubRMSE = {s['ubrmse']:.3f} m3 m-3\nbias = {_signed(s['bias'])} m3 m-3"
    )


@renamed_keywords(methods="models")
def plot_scatter(
    matched: xr.Dataset,
    models: Sequence[str] = ("cci", "bma"),
    *,
    common: bool = True,
    monsoon: Sequence[int] = MONSOON_MONTHS,
):
    """Product against in-situ soil moisture per network, with season boxes (the paper's Fig. 8).

    Parameters
    ----------
    matched : xarray.Dataset
        Output of :func:`smkit.validate.match_stations`.
    models : sequence of str, default ("cci", "bma")
        Models (ids or paper labels), one row of panels each.
    common : bool, default True
        Use the pairs where every listed model has a value.
    monsoon : sequence of int, default (5, 6, 7, 8, 9)
        Months of the monsoon season M1; the other months are M2.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per model (rows) and network (columns): points coloured by
        season, the 1:1 line, N, R, RMSE, ubRMSE and bias (m3 m-3) in the top
        left, and beside each panel, on its soil-moisture scale, box plots
        (median, 25-75 %, whiskers 5-95 %) of in-situ and product soil
        moisture in M1 and M2.
    """
    import matplotlib.pyplot as plt

    ids = [_pick_model(matched["model"].values, m) for m in models]
    pred, obs = scoring_arrays(matched, ids, common)
    nets = network_order(np.asarray(matched["network"].values).astype(str))
    times = pd.DatetimeIndex(matched["time"].values)
    m1 = np.isin(times.month, list(monsoon))
    o_all, p_all = obs.values, pred.values
    hi = _scatter_limit(o_all, p_all)
    nrow, ncol = len(ids), max(len(nets), 1)
    height = 4.3 * nrow + 1.1
    fig, axes = plt.subplots(nrow, ncol, figsize=(5.6 * ncol, height), squeeze=False)
    # a fixed layout (constrained layout is slow with the inset axes); room right of each panel for its boxes
    fig.subplots_adjust(
        left=0.06, right=0.93, top=1 - 0.75 / height, bottom=1.0 / height, wspace=0.62, hspace=0.32
    )
    networks = np.asarray(matched["network"].values).astype(str)
    for r, mid in enumerate(ids):
        for c, net in enumerate(nets):
            s = networks == net
            k = len(nets) * r + c
            _season_scatter(
                axes[r, c], o_all[s], p_all[r][s], m1, hi,
                title=f"({_LETTERS[k % 26]}) {model_label(mid)} vs {net} stations",
                ylabel=f"{model_label(mid)} soil moisture [m3 m-3]",
            )
    _season_legend(fig, monsoon)
    fig.suptitle("Products against in-situ soil moisture (boxes: median, 25-75 %, 5-95 %)")
    return fig


def _scatter_limit(o_all: np.ndarray, p_all: np.ndarray) -> float:
    """Upper axis limit of the scatter panels: 5 % above the 99.5th percentile, on a 0.05 step."""
    hi = (
        np.nanpercentile(np.r_[o_all[np.isfinite(o_all)], p_all[np.isfinite(p_all)]], 99.5)
        if np.isfinite(o_all).any()
        else 0.5
    )
    return float(np.ceil(hi * 1.05 / 0.05) * 0.05)


def _season_scatter(ax, o: np.ndarray, p: np.ndarray, m1: np.ndarray, hi: float, *, title: str,
                    ylabel: str) -> None:
    """One network and model: points by season, the 1:1 line, the scores and the season boxes."""
    season = np.broadcast_to(m1, o.shape)
    ok = np.isfinite(o) & np.isfinite(p)
    for key, sel in (("M2", ~season), ("M1", season)):
        k = ok & sel
        ax.scatter(
            o[k], p[k], s=9, alpha=0.45, color=_SEASON_COLOURS[key], edgecolor="none"
        )
    ax.plot([0, hi], [0, hi], color="k", lw=0.9, ls="--")
    ax.set_xlim(0, hi)
    ax.set_ylim(0, hi)
    ax.set_aspect("equal")
    ax.text(
        0.03,
        0.97,
        _stat_text(p[ok], o[ok]),
        transform=ax.transAxes,
        va="top",
        ha="left",
        fontsize=8,
        bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "0.7"},
    )
    ax.set_title(title)
    ax.set_xlabel("in-situ soil moisture [m3 m-3]")
    ax.set_ylabel(ylabel)
    _season_boxes(ax, [o[ok & season], p[ok & season], o[ok & ~season], p[ok & ~season]], hi)


def _season_boxes(ax, data: list[np.ndarray], hi: float) -> None:
    """Box plots of in-situ and product soil moisture in M1 and M2 beside the scatter (empty ones left out).

    The boxes sit in their own axes to the right of the panel, on the panel's
    soil-moisture scale (0 to ``hi``, m3 m-3), so they never cover a point.
    """
    ins = ax.inset_axes([1.04, 0.0, 0.3, 1.0])
    keep = [d.size > 0 for d in data]
    bp = ins.boxplot(
        [d for d, kk in zip(data, keep, strict=True) if kk],
        positions=np.array([1, 2, 3.5, 4.5])[keep],
        widths=0.7,
        whis=(5, 95),
        showfliers=False,
        patch_artist=True,
        medianprops={"color": "k"},
    )
    face = np.array(["0.85", _SEASON_COLOURS["M1"], "0.85", _SEASON_COLOURS["M2"]])[keep]
    for patch, fc in zip(bp["boxes"], face, strict=True):
        patch.set_facecolor(fc)
    ins.set_xticks([1.5, 4.0], ["M1", "M2"], fontsize=7)
    ins.set_xlim(0.3, 5.2)
    ins.set_ylim(0, hi)
    ins.tick_params(axis="y", labelleft=False)
    ins.set_title("seasons", fontsize=7)


def _season_legend(fig, monsoon: Sequence[int]) -> None:
    """The figure legend of :func:`plot_scatter`: seasons, the 1:1 line and the boxes."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [
        Line2D(
            [],
            [],
            marker="o",
            ls="",
            color=_SEASON_COLOURS["M1"],
            label=f"M1 monsoon (months {min(monsoon)}-{max(monsoon)})",
        ),
        Line2D([], [], marker="o", ls="", color=_SEASON_COLOURS["M2"], label="M2 rest of the year"),
        Line2D([], [], color="k", ls="--", label="1:1"),
        Patch(facecolor="0.85", edgecolor="k", label="box: in situ"),
        Patch(facecolor="white", edgecolor="k", label="coloured box: product"),
    ]
    fig.legend(
        handles=handles,
        loc="lower center",
        ncol=5,
        fontsize=8,
        frameon=False,
        bbox_to_anchor=(0.5, 0.0),
    )


@renamed_keywords(methods="models")
def plot_station_series(matched: xr.Dataset, station, models: Sequence[str] | None = None):
    """In-situ soil moisture and every product at one station over time (the paper's Fig. 9).

    Parameters
    ----------
    matched : xarray.Dataset
        Output of :func:`smkit.validate.match_stations`.
    station : str or int
        Station name, or value of the ``station`` coordinate.
    models : sequence of str, optional
        Models to draw (default all).

    Returns
    -------
    matplotlib.figure.Figure
        Observations as black dots, each product at the station's cadence as
        a line; the legend gives each product's R over the pairs shown. The
        retrieval and BMA (and any other non-learner) share the upper panel,
        the learners the lower one, so no panel carries more than four lines.
    """
    import matplotlib.pyplot as plt

    names = np.asarray(matched["name"].values).astype(str)
    if isinstance(station, str):
        hit = np.flatnonzero(names == station)
    else:
        hit = np.flatnonzero(matched["station"].values == station)
    if hit.size != 1:
        raise KeyError(
            f"station {station!r} not found (or not unique); stations: {', '.join(names)}"
        )
    one = matched.isel(station=int(hit[0]))
    ids = (
        [str(m) for m in one["model"].values]
        if models is None
        else [_pick_model(one["model"].values, m) for m in models]
    )
    ordered = model_order(ids)
    # readable panels: the retrieval and the merged product above, the learners below (each with the stations)
    learners = [m for m in ordered if m in LEARNER_ORDER]
    groups = [g for g in ([m for m in ordered if m not in LEARNER_ORDER], learners) if g] or [ordered]
    fig, axes = plt.subplots(len(groups), 1, figsize=(10, 2.9 * len(groups) + 0.9), sharex=True, sharey=True,
                             layout="constrained", squeeze=False)
    colour = {m: f"C{k}" for k, m in enumerate(ordered)}
    for ax, group in zip(axes[:, 0], groups, strict=True):
        _series_panel(ax, one, group, colour)
    axes[-1, 0].set_xlabel("time")
    fig.suptitle(
        f"{names[hit[0]]} ({one['network'].values}, {one['cadence'].values} observations, "
        f"lat {float(one['lat']):.2f}, lon {float(one['lon']):.2f})"
    )
    return fig


def _series_panel(ax, one: xr.Dataset, ids: list[str], colour: dict) -> None:
    """One station's observations (black dots) and the products ``ids`` at its cadence, legend outside."""
    obs = one["obs"].values
    t = pd.DatetimeIndex(one["time"].values)
    have = np.isfinite(obs)
    cad = str(one["cadence"].values)
    daily = cad == "daily"
    max_gap = np.timedelta64({"daily": 3, "pentad": 12}.get(cad, 25), "D")  # longer gaps break lines
    for mid in ids:
        p = one["pred"].sel({"model": mid}).values
        ok = np.isfinite(p) & have
        tt, pp = t[ok].values, p[ok]
        if tt.size > 1:  # a NaN after each long gap breaks the line there
            gap = np.flatnonzero(np.diff(tt) > max_gap) + 1
            tt = np.insert(tt, gap, tt[gap - 1] + np.timedelta64(1, "D"))
            pp = np.insert(pp, gap, np.nan)
        rr = all_metrics(p, obs)["r"]
        label = f"{model_label(mid)} (R = {rr:.2f})" if np.isfinite(rr) else f"{model_label(mid)} (no pairs)"
        ax.plot(tt, pp, lw=1.1 if daily else 1.4, marker=None if daily else ".", ms=4, color=colour[mid],
                label=label, zorder=2)
    ax.plot(t[have], obs[have], "o", ms=3 if daily else 5, color="k", label="in situ", zorder=3)
    if not have.any() or str(one["status"].values) != "ok":
        ax.text(0.5, 0.5, f"status: {one['status'].values}", transform=ax.transAxes, ha="center",
                va="center", fontsize=12, color="tab:red")
    ax.set_ylabel("soil moisture [m3 m-3]")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, title="product", title_fontsize=8)
    ax.grid(alpha=0.3)


def plot_model_comparison(
    result: Mapping[str, xr.Dataset], metrics: Sequence[str] = ("r", "mae"), crop: bool = True
):
    """Map the per-pixel agreement with each reference model (the paper's Fig. 10).

    Parameters
    ----------
    result : dict of str to xarray.Dataset
        Output of :func:`smkit.validate.compare_models`.
    metrics : sequence of str, default ("r", "mae")
        Maps to draw for each reference (R dimensionless; MAE etc. m3 m-3).
    crop : bool, default True
        Zoom each map to where the reference has values (Noah covers part of
        the domain only).

    Returns
    -------
    matplotlib.figure.Figure
        One row per reference, one column per metric, each with a colour bar.
    """
    import matplotlib.pyplot as plt

    refs = list(result)
    if not refs:
        raise ValueError("no reference in result")
    fig, axes = plt.subplots(
        len(refs),
        len(metrics),
        figsize=(5.2 * len(metrics), 4.4 * len(refs)),
        squeeze=False,
        layout="constrained",
    )
    for r, name in enumerate(refs):
        ds = result[name].compute()
        valid = ds["n"] > 0
        for c, met in enumerate(metrics):
            ax = axes[r, c]
            v = ds[met].where(valid)
            vals = v.values[np.isfinite(v.values)]
            if met == "r":
                vmin, vmax = (min(0.0, float(np.nanpercentile(vals, 2))) if vals.size else 0.0), 1.0
            elif met == "bias":
                a = float(np.nanpercentile(np.abs(vals), 98)) if vals.size else 0.1
                vmin, vmax = -a, a
            else:
                vmin, vmax = 0.0, (float(np.nanpercentile(vals, 98)) if vals.size else 0.1) or 0.1
            im = ax.pcolormesh(
                ds["lon"].values,
                ds["lat"].values,
                v.values,
                shading="nearest",
                cmap=_METRIC_CMAPS.get(met, "viridis"),
                vmin=vmin,
                vmax=vmax,
            )
            fig.colorbar(im, ax=ax, shrink=0.9, label=_metric_axis_label(met))
            if crop and bool(valid.any()):
                la = ds["lat"].values[valid.any("lon").values]
                lo = ds["lon"].values[valid.any("lat").values]
                dy = abs(float(np.median(np.diff(ds["lat"].values))))
                dx = abs(float(np.median(np.diff(ds["lon"].values))))
                ax.set_xlim(lo.min() - dx, lo.max() + dx)
                ax.set_ylim(la.min() - dy, la.max() + dy)
            if not bool(valid.any()):
                ax.text(0.5, 0.5, "no overlap", transform=ax.transAxes, ha="center", va="center")
            mname, _ = METRIC_LABELS.get(met, (met, "1"))
            k = len(metrics) * r + c
            ax.set_title(
                f"({_LETTERS[k % 26]}) {mname}: {model_label(ds.attrs.get('model', ''))} vs "
                f"{name} ({ds.attrs.get('resolution', '')})",
                fontsize=10,
            )
            ax.set_xlabel("longitude [degrees east]")
            ax.set_ylabel("latitude [degrees north]")
            ax.set_aspect("equal", adjustable="box")
    fig.suptitle("Per-pixel agreement over time with model soil moisture")
    return fig
