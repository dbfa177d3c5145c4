"""Figures and tables shared by the notebooks, and the collector of what they show.

:class:`Report` gathers what a notebook shows into a run folder (figures,
tables, headline numbers, a Markdown section); the figure functions here are
the ones several notebooks use (the domain map, maps of one day, the
covariate correlations). Each figure function returns a matplotlib Figure.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from smkit.core.vocabulary import NETWORK_COLOURS


def write_table(df: pd.DataFrame, folder: Path, name: str, floatfmt: str = ".3f") -> str:
    """Write a table as CSV and Markdown; return the Markdown."""
    folder.mkdir(parents=True, exist_ok=True)
    df.to_csv(folder / f"{name}.csv")
    md = markdown_table(df, floatfmt=floatfmt)
    (folder / f"{name}.md").write_text(md + "\n")
    return md


def markdown_table(df: pd.DataFrame, floatfmt: str = ".3f") -> str:
    """Markdown of a table as a reader wants it: index levels as plain columns, counts as integers.

    >>> df = pd.DataFrame({"n": [37.0, 5.0], "r": [0.51234, 0.7]},
    ...                   index=pd.MultiIndex.from_tuples([("R", "NZW"), ("R", "QXZ")], names=["score", "network"]))
    >>> print(markdown_table(df))
    | score   | network   |   n |     r |
    |:--------|:----------|----:|------:|
    | R       | NZW       |  37 | 0.512 |
    | R       | QXZ       |   5 | 0.700 |
    """
    multi = isinstance(df.index, pd.MultiIndex)
    shown = df.reset_index() if multi else df.copy()
    for col in shown.columns:
        values = shown[col]
        if str(col).lower() in ("n", "count", "stations", "pairs") and values.dtype.kind == "f" \
                and np.all(np.isnan(values) | (values == np.round(values))):
            shown[col] = values.astype("Int64")
    return shown.to_markdown(floatfmt=floatfmt, index=not multi)


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


def figure_maps(coarse, products, date: str, truth=None, ncol: int = 4):
    """The coarse retrieval, every product and (if known) the 1-km truth on one day."""
    panels = [("ESA CCI-like retrieval (0.25°)", coarse["sm"].sel(time=date))]
    for m in products["method"].values:
        panels.append((str(m).upper(), products["sm"].sel({"method": m}).sel(time=date)))
    if truth is not None:
        panels.append(("1-km truth", truth["sm"].sel(time=date)))
    vmin, vmax = 0.0, float(np.nanpercentile(panels[-1][1].values, 99))
    ncol = min(ncol, len(panels))
    nrow = -(-len(panels) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.3 * ncol, 3.9 * nrow), sharex=True, sharey=True,
                             squeeze=False)
    axes = axes.ravel()
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    axes = axes[: len(panels)]
    for ax, (title, da) in zip(axes, panels, strict=True):
        im = da.plot(ax=ax, vmin=vmin, vmax=vmax, cmap="YlGnBu", add_colorbar=False)
        ax.set_title(title)
        ax.set_xlabel("longitude [°E]")
        ax.set_ylabel("latitude [°N]")
    fig.colorbar(im, ax=axes, shrink=0.85, label="soil moisture [m3 m-3]")
    fig.suptitle(f"Soil moisture on {date}")
    return fig


def figure_correlations(r_covariates: dict):
    """Pearson r of each covariate's coarse mean with coarse soil moisture (Fig. 3b-like)."""
    r = pd.Series(r_covariates)
    fig, ax = plt.subplots(figsize=(6, 3.6))
    colours = ["tab:red" if v < 0 else "tab:blue" for v in r.values]
    ax.bar(r.index, r.values, color=colours)
    ax.axhline(0, color="k", lw=0.8)
    ax.set_ylabel("Pearson r with coarse soil moisture")
    ax.set_title("Explanatory factors vs. coarse soil moisture")
    ax.set_ylim(-1, 1)
    fig.tight_layout()
    return fig


def stations_table(stations) -> pd.DataFrame:
    """One row per station: network, cadence, position, elevation, land cover, observations."""
    st = stations
    obs = st["sm"].notnull()
    if "rsm" in st:
        obs = obs | st["rsm"].notnull()
    return pd.DataFrame(
        {
            "name": st["name"].values.astype(str),
            "network": st["network"].values.astype(str),
            "cadence": st["cadence"].values.astype(str) if "cadence" in st.coords else "",
            "lon": st["lon"].values,
            "lat": st["lat"].values,
            "elevation [m]": np.round(st["elevation"].values, 0),
            "land cover": st["land_cover"].values.astype(str),
            "observations": obs.sum("time").values,
        }
    ).set_index("name")


class Report:
    """Where a notebook puts what it shows: figures, tables, headline numbers.

    Every notebook makes one ``Report(output_dir, name)`` and passes what it
    shows through it, so a batch run collects the figures (PNG) in
    ``figures/``, the tables (CSV and Markdown) in ``tables/``, the headline
    numbers in ``metrics/NAME.json`` and a Markdown summary in
    ``sections/NAME.md`` that :func:`smkit.workflow.reproduce.write_index` stitches
    into the run's README. Each method returns its argument, so a notebook
    cell can end with ``report.figure(fig, ...)`` and still display it.

    Parameters
    ----------
    output_dir : str or Path
        The run folder.
    name : str
        The notebook's name (prefixes its files).
    title : str, optional
        Heading of the notebook's section in the run's README.
    """

    def __init__(self, output_dir: str | Path, name: str, title: str | None = None):
        self.out = Path(output_dir)
        self.name = name
        for sub in ("figures", "tables", "metrics", "sections"):
            (self.out / sub).mkdir(parents=True, exist_ok=True)
        self._section = self.out / "sections" / f"{name}.md"
        self._section.write_text(f"## {title or name}\n\n")
        self._metrics = self.out / "metrics" / f"{name}.json"
        self._metrics.write_text("{}\n")

    def _add(self, text: str) -> None:
        with self._section.open("a") as fh:
            fh.write(text.rstrip() + "\n\n")

    def text(self, markdown: str) -> str:
        """Add a paragraph to the section."""
        self._add(markdown)
        return markdown

    def figure(self, fig, name: str, caption: str = "", dpi: int = 110):
        """Save a matplotlib figure (or an ArviZ PlotCollection) as ``figures/NOTEBOOK_NAME.png``."""
        path = self.out / "figures" / f"{self.name}_{name}.png"
        if hasattr(fig, "savefig"):
            try:
                fig.savefig(path, dpi=dpi, bbox_inches="tight")
            except TypeError:  # PlotCollection.savefig takes fewer options
                fig.savefig(path)
        else:
            raise TypeError(f"cannot save a {type(fig).__name__} as a figure")
        self._add(f"![{caption or name}](figures/{path.name})" + (f"\n\n*{caption}*" if caption else ""))
        return fig

    def table(self, df: pd.DataFrame, name: str, caption: str = "", floatfmt: str = ".3f"):
        """Write a table as ``tables/NOTEBOOK_NAME.csv`` and ``.md`` and add it to the section."""
        md = write_table(df, self.out / "tables", f"{self.name}_{name}", floatfmt=floatfmt)
        self._add((f"**{caption}**\n\n" if caption else "") + md)
        return df

    def metrics(self, **values) -> dict:
        """Record headline numbers (merged into the run's ``metrics.json``)."""
        current = json.loads(self._metrics.read_text())
        current.update(_plain(values))
        self._metrics.write_text(json.dumps(current, indent=2) + "\n")
        return values


def _plain(obj):
    """JSON-ready copy of numbers, arrays, Series and DataFrames."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, pd.DataFrame):
        return _plain(obj.reset_index().to_dict(orient="records"))
    if isinstance(obj, pd.Series):
        return _plain(obj.to_dict())
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _plain(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


# --------------------------------------------------------------------------- product figures
def _labels(methods) -> list[str]:
    from smkit.validate import method_label

    return [method_label(str(m)) for m in methods]


def figure_month_maps(coarse, product, year: int, months=range(4, 11), day: int = 15,
                      methods=None):
    """Maps on the 15th of each month: the retrieval, then each method (the paper's Fig. 5)."""
    methods = list(methods or [str(m) for m in product["method"].values])
    have = set(pd.DatetimeIndex(product["time"].values).strftime("%Y-%m-%d"))
    months = [m for m in months if f"{year}-{m:02d}-{day:02d}" in have]
    if not months:
        raise ValueError(f"the product has none of the days {year}-MM-{day:02d} asked for")
    cols = ["CCI", *_labels(methods)]
    sel = [f"{year}-{m:02d}-{day:02d}" for m in months]
    fields = product["sm"].sel({"method": methods}).sel(time=sel).load()
    cfields = coarse["sm"].sel(time=sel).load()
    # days without any value (a gap in the archive) are left out and named in the title
    has = (np.isfinite(fields).any(("method", "lat", "lon")) | np.isfinite(cfields).any(("lat", "lon"))).values
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
            da = cfields.sel(time=date) if j == 0 else fields.sel({"method": methods[j - 1]}).sel(time=date)
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
    """Distributions of the retrieval and every method's values (the paper's Fig. 6a)."""
    sel = {"time": period} if period is not None else {}
    fig, ax = plt.subplots(figsize=(7, 4))
    edges = np.linspace(0, 0.6, bins + 1)
    c = coarse["sm"].sel(sel).values.ravel()
    ax.hist(c[np.isfinite(c)], edges, density=True, histtype="step", color="k", lw=2, label="CCI")
    for m, label in zip(product["method"].values, _labels(product["method"].values), strict=True):
        v = product["sm"].sel({"method": m}).sel(sel).values.ravel()
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


def figure_monthly_boxes(coarse, product, method: str = "bma"):
    """Monthly box plots of the retrieval and one method (the paper's Fig. 6b)."""
    fig, ax = plt.subplots(figsize=(9, 4))
    cm = coarse["sm"].groupby("time.month")
    pm = product["sm"].sel({"method": method}).groupby("time.month")
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
    from smkit.validate import method_label

    ax.legend([b1["boxes"][0], b2["boxes"][0]], ["CCI", method_label(method)])
    ax.set_title("Monthly distributions (boxes: quartiles, whiskers: 5-95 %)")
    fig.tight_layout()
    return fig


def figure_wetness_boxes(coarse, product, method: str = "bma", classes=5):
    """Box plots by dryness class of the cell's mean retrieval (the paper's Fig. 6c)."""
    from smkit.core.grid import Grid, nesting_factor

    mean = coarse["sm"].mean("time").values
    edges = np.nanquantile(mean, np.linspace(0, 1, classes + 1))
    cls = np.clip(np.digitize(mean, edges[1:-1]), 0, classes - 1)
    f = nesting_factor(Grid.from_dataset(coarse), Grid.from_dataset(product))
    fine_cls = np.repeat(np.repeat(cls, f, 0), f, 1)
    c = coarse["sm"].values
    p = product["sm"].sel({"method": method}).values
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
    from smkit.validate import method_label

    ax.legend([b1["boxes"][0], b2["boxes"][0]], ["CCI", method_label(method)])
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
