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

NETWORK_COLOURS = {"QXZ": "tab:red", "CERN": "tab:orange", "NZW": "tab:purple"}
PAPER_SIGNS = {"lst": -1, "ndvi": 1, "albedo": -1, "precip": 1, "dem": 1}


def write_table(df: pd.DataFrame, folder: Path, name: str, floatfmt: str = ".3f") -> str:
    """Write a table as CSV and Markdown; return the Markdown."""
    folder.mkdir(parents=True, exist_ok=True)
    df.to_csv(folder / f"{name}.csv")
    md = df.to_markdown(floatfmt=floatfmt)
    (folder / f"{name}.md").write_text(md + "\n")
    return md


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
    ``sections/NAME.md`` that :func:`smkit.reproduce.write_index` stitches
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
