"""The figures of a study's scenario and products that the notebooks share (Figs. 1, 4b, 5 and 6).

The domain and its stations, the covariates on one day, the product maps on
the 15th of each month, the distributions and box plots of the values, and
the chosen windows. Each function returns a matplotlib Figure;
:class:`smkit.workflow.report.Report` saves it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from smkit._compat import renamed_keywords
from smkit.core.vocabulary import COVARIATES, NETWORK_COLOURS, REAL_SOURCES

if TYPE_CHECKING:
    from smkit.core.scenario import Scenario

__all__ = [
    "figure_domain",
    "figure_covariates",
    "figure_month_maps",
    "figure_histograms",
    "figure_monthly_boxes",
    "figure_wetness_boxes",
    "figure_windows",
]


def figure_domain(sc):
    """Elevation of the domain with the stations by network (the paper's Fig. 1b)."""
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    sc.fine["dem"].plot(ax=ax, cmap="terrain", cbar_kwargs={"label": "elevation [m]"})
    st = sc.stations
    for net, colour in NETWORK_COLOURS.items():
        sel = st["network"].values == net
        if sel.any():
            ax.scatter(st["lon"].values[sel], st["lat"].values[sel], c=colour, edgecolor="k",
                       s=45, label=f"{net} ({sel.sum()})", zorder=3)
    for name, lon, lat, net in zip(st["name"].values, st["lon"].values, st["lat"].values,
                                   st["network"].values, strict=True):
        if net != "NZW":
            ax.annotate(str(name), (lon, lat), xytext=(4, 4), textcoords="offset points", fontsize=7)
    ax.legend(loc="lower left", fontsize=8, title="network")
    ax.set_title("Synthetic domain: elevation and in-situ stations")
    ax.set_xlabel("longitude [degrees east]")
    ax.set_ylabel("latitude [degrees north]")
    fig.tight_layout()
    return fig


def figure_covariates(sc: Scenario, date: str):
    """Maps of the retrieval and the five covariates on one day (units on the colour bars)."""
    panels = [("sm", sc.coarse["sm"].sel(time=date), "YlGnBu")]
    cmaps = {"lst": "inferno", "ndvi": "Greens", "albedo": "Greys_r", "precip": "Blues", "dem": "terrain"}
    for name in COVARIATES:
        if name in sc.fine:
            da = sc.fine[name]
            panels.append((name, da.sel(time=date) if "time" in da.dims else da, cmaps[name]))
    fig, axes = plt.subplots(2, 3, figsize=(14, 8), sharex=True, sharey=True)
    for ax, (name, da, cmap) in zip(axes.ravel(), panels, strict=False):
        units = da.attrs.get("units", "")
        da.plot(ax=ax, cmap=cmap, cbar_kwargs={"label": f"{name} [{units}]"})
        source = REAL_SOURCES[name][0].split(" v")[0] if name in REAL_SOURCES else None
        ax.set_title(f"{name} ({source}-like)" if source is not None else name)
        ax.set_xlabel("longitude [°E]")
        ax.set_ylabel("latitude [°N]")
    for ax in axes.ravel()[len(panels):]:
        ax.set_visible(False)
    fig.suptitle(f"Coarse retrieval and explanatory factors on {date}")
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- product figures
def _labels(models) -> list[str]:
    from smkit.validate import model_label

    return [model_label(str(m)) for m in models]


@renamed_keywords(methods="models")
def figure_month_maps(coarse, product, year: int, months=range(4, 11), day: int = 15,
                      models=None):
    """Maps on the 15th of each month: the retrieval, then each model (the paper's Fig. 5)."""
    models = list(models or [str(m) for m in product["model"].values])
    have = set(pd.DatetimeIndex(product["time"].values).strftime("%Y-%m-%d"))
    months = [m for m in months if f"{year}-{m:02d}-{day:02d}" in have]
    if not months:
        raise ValueError(f"the product has none of the days {year}-MM-{day:02d} asked for")
    cols = ["CCI", *_labels(models)]
    sel = [f"{year}-{m:02d}-{day:02d}" for m in months]
    fields = product["sm"].sel({"model": models}).sel(time=sel).load()
    cfields = coarse["sm"].sel(time=sel).load()
    # days without any value (a gap in the archive) are left out and named in the title
    has = (np.isfinite(fields).any(("model", "lat", "lon")) | np.isfinite(cfields).any(("lat", "lon"))).values
    if not has.any():
        raise ValueError(f"no value on any of the days {sel}: neither the retrieval nor the product")
    empty = [d for d, h in zip(sel, has, strict=True) if not h]
    sel = [d for d, h in zip(sel, has, strict=True) if h]
    fields, cfields = fields.sel(time=sel), cfields.sel(time=sel)
    fig, axes = plt.subplots(len(sel), len(cols), figsize=(2.3 * len(cols), 2.1 * len(sel) + 0.6),
                             sharex=True, sharey=True, squeeze=False)
    vmax = float(np.nanpercentile(fields.values, 99)) if np.isfinite(fields.values).any() else 0.4
    im = None
    for i, date in enumerate(sel):
        for j, name in enumerate(cols):
            ax = axes[i, j]
            da = cfields.sel(time=date) if j == 0 else fields.sel({"model": models[j - 1]}).sel(time=date)
            im = ax.pcolormesh(da["lon"], da["lat"], da.values, vmin=0, vmax=vmax, cmap="YlGnBu",
                               shading="nearest")
            if i == 0:
                ax.set_title(name)
            if j == 0:
                ax.set_ylabel(date)
            ax.set_xticks([])
            ax.set_yticks([])
    fig.colorbar(im, ax=axes, shrink=0.6, label="soil moisture [m3 m-3]")
    title = f"Soil moisture on the {day}th of each month, {year}"
    if empty:
        title += f"\n(no data on {', '.join(empty)})"
    fig.suptitle(title)
    return fig


def figure_histograms(coarse, product, period=None, bins=60):
    """Distributions of the retrieval and every model's values (the paper's Fig. 6a)."""
    sel = {"time": period} if period is not None else {}
    fig, ax = plt.subplots(figsize=(7, 4))
    edges = np.linspace(0, 0.6, bins + 1)
    c = coarse["sm"].sel(sel).values.ravel()
    ax.hist(c[np.isfinite(c)], edges, density=True, histtype="step", color="k", lw=2, label="CCI")
    for m, label in zip(product["model"].values, _labels(product["model"].values), strict=True):
        v = product["sm"].sel({"model": m}).sel(sel).values.ravel()
        ax.hist(v[np.isfinite(v)], edges, density=True, histtype="step", lw=1.2, label=label)
    ax.set_xlabel("soil moisture [m3 m-3]")
    ax.set_ylabel("density [1 / (m3 m-3)]")
    ax.set_title("Distribution of soil moisture values")
    ax.legend()
    fig.tight_layout()
    return fig


def _sample(values: np.ndarray, n: int = 200_000, seed: int = 0) -> np.ndarray:
    v = values[np.isfinite(values)]
    if v.size > n:
        v = np.random.default_rng(seed).choice(v, n, replace=False)
    return v


@renamed_keywords(method="model")
def figure_monthly_boxes(coarse, product, model: str = "bma"):
    """Monthly box plots of the retrieval and one model (the paper's Fig. 6b)."""
    fig, ax = plt.subplots(figsize=(9, 4))
    cm = coarse["sm"].groupby("time.month")
    pm = product["sm"].sel({"model": model}).groupby("time.month")
    pos = np.arange(1, 13)
    data_c = [_sample(g.values.ravel()) for _, g in cm]
    data_p = [_sample(g.values.ravel()) for _, g in pm]
    kw = {"widths": 0.35, "showfliers": False, "whis": (5, 95), "patch_artist": True}
    b1 = ax.boxplot(data_c, positions=pos - 0.2, **kw)
    b2 = ax.boxplot(data_p, positions=pos + 0.2, **kw)
    for b, colour in ((b1, "tab:orange"), (b2, "tab:blue")):
        for patch in b["boxes"]:
            patch.set_facecolor(colour)
            patch.set_alpha(0.6)
    ax.set_xticks(pos, [pd.Timestamp(2000, m, 1).strftime("%b") for m in pos])
    ax.set_ylabel("soil moisture [m3 m-3]")
    from smkit.validate import model_label

    ax.legend([b1["boxes"][0], b2["boxes"][0]], ["CCI", model_label(model)])
    ax.set_title("Monthly distributions (boxes: quartiles, whiskers: 5-95 %)")
    fig.tight_layout()
    return fig


@renamed_keywords(method="model")
def figure_wetness_boxes(coarse, product, model: str = "bma", classes=5):
    """Box plots by dryness class of the cell's mean retrieval (the paper's Fig. 6c)."""
    from smkit.core.grid import Grid, nesting_factor

    mean = coarse["sm"].mean("time").values
    edges = np.nanquantile(mean, np.linspace(0, 1, classes + 1))
    cls = np.clip(np.digitize(mean, edges[1:-1]), 0, classes - 1)
    f = nesting_factor(Grid.from_dataset(coarse), Grid.from_dataset(product))
    fine_cls = np.repeat(np.repeat(cls, f, 0), f, 1)
    c = coarse["sm"].values
    p = product["sm"].sel({"model": model}).values
    names = ["very dry", "dry", "medium", "wet", "very wet"] if classes == 5 else \
        [f"class {k + 1}" for k in range(classes)]
    fig, ax = plt.subplots(figsize=(8, 4))
    pos = np.arange(classes)
    kw = {"widths": 0.35, "showfliers": False, "whis": (5, 95), "patch_artist": True}
    b1 = ax.boxplot([_sample(c[:, cls == k].ravel()) for k in pos], positions=pos - 0.2, **kw)
    b2 = ax.boxplot([_sample(p[:, fine_cls == k].ravel()) for k in pos], positions=pos + 0.2, **kw)
    for b, colour in ((b1, "tab:orange"), (b2, "tab:blue")):
        for patch in b["boxes"]:
            patch.set_facecolor(colour)
            patch.set_alpha(0.6)
    ax.set_xticks(pos, names)
    ax.set_ylabel("soil moisture [m3 m-3]")
    from smkit.validate import model_label

    ax.legend([b1["boxes"][0], b2["boxes"][0]], ["CCI", model_label(model)])
    ax.set_title("Soil moisture by dryness class of the cell (quantiles of its mean retrieval)")
    fig.tight_layout()
    return fig


def figure_windows(product):
    """Chosen window sizes and durations, and the share of flagged cell-days (the paper's Fig. 4b)."""
    sw = product["window_sw"].values.ravel()
    nd = product["window_nd"].values.ravel()
    flag = product["window_flag"].values
    fig, (a, b, c) = plt.subplots(1, 3, figsize=(13, 3.8))
    ok = sw > 0
    table = pd.crosstab(sw[ok], nd[ok], normalize=True)
    im = a.imshow(table.values, origin="lower", cmap="Blues", aspect="auto")
    a.set_xticks(range(table.shape[1]), table.columns)
    a.set_yticks(range(table.shape[0]), table.index)
    a.set_xlabel("nd [days]")
    a.set_ylabel("sw [cells]")
    a.set_title("chosen windows (share of cell-days)")
    fig.colorbar(im, ax=a)
    count = product["window_count"].where(product["window_count"] > 0).mean("time")
    count.plot(ax=b, cmap="viridis", cbar_kwargs={"label": "samples per window"})
    b.set_title("mean training samples")
    b.set_xlabel("longitude [°E]")
    b.set_ylabel("latitude [°N]")
    shares = {"short at caps": ((flag & 1) > 0).mean(), "skipped": ((flag & 2) > 0).mean(),
              "retrieval missing": ((flag & 4) > 0).mean(), "gap-filled": ((flag & 8) > 0).mean()}
    c.barh(list(shares), list(shares.values()), color="tab:gray")
    c.set_xlim(0, 1)
    c.set_xlabel("share of cell-days")
    c.set_title("window flags")
    fig.tight_layout()
    return fig
