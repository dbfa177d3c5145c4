"""Figures of the drought analysis: the drought-prone regions (Fig. S5) and their series (Fig. 11).

The regions and series come from :mod:`smkit.analysis.drought`; each
function returns a matplotlib Figure.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import xarray as xr

__all__ = ["figure_regions", "figure_series"]


def figure_regions(regions: xr.DataArray, background: xr.DataArray | None = None):
    """Map of the drought-prone regions (Fig. S5), over an optional background field."""
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    if background is not None:
        background.plot(ax=ax, cmap="Greys", alpha=0.6,
                        cbar_kwargs={"label": f"{background.name} [{background.attrs.get('units', '')}]"})
    masked = regions.where(regions > 0)
    if int(regions.max()) > 0:
        masked.plot(ax=ax, cmap="tab10", add_colorbar=True, cbar_kwargs={"label": "region"},
                    vmin=0.5, vmax=max(10.5, int(regions.max()) + 0.5))
    title = (f"Drought-prone regions: PDSI ≤ {regions.attrs.get('threshold')} "
             f"in > {100 * regions.attrs.get('fraction', 0):.0f} % of months")
    ax.set_title(title if int(regions.max()) > 0 else title + "\n(none: no pixel passes)")
    ax.set_xlabel("longitude [°E]")
    ax.set_ylabel("latitude [°N]")
    fig.tight_layout()
    return fig


def figure_series(series: xr.Dataset, skill: pd.DataFrame | None = None, rolling: int = 1):
    """Regional mean series of every source, one panel per region (Fig. 11).

    Parameters
    ----------
    series : xarray.Dataset
        :func:`smkit.analysis.drought.regional_series`: ``sm(region, source, time)`` (m3 m-3).
    skill : pandas.DataFrame, optional
        :func:`smkit.analysis.drought.regional_skill`; each panel's title gives R of the
        product and of the retrieval against the first reference with data (truth, then stations).
    rolling : int, default 1
        Centred moving mean of the gridded series, days (stations are shown as daily points).

    Returns
    -------
    matplotlib.figure.Figure
    """
    regions = series["region"].values
    fig, axes = plt.subplots(len(regions), 1, figsize=(11, 2.8 * len(regions)), squeeze=False,
                             sharex=True)
    styles = {"truth": ("k", "-", "1-km truth"), "product": ("tab:blue", "-", "downscaled (BMA)"),
              "cci": ("tab:orange", "-", "CCI-like retrieval"),
              "bilinear": ("tab:orange", ":", "retrieval, bilinear to 1 km"),
              "stations": ("tab:red", "none", "stations")}
    for ax, r in zip(axes[:, 0], regions, strict=True):
        for s in series["source"].values:
            y = series["sm"].sel(region=r, source=s)
            if not bool(y.notnull().any()):
                continue
            colour, ls, label = styles.get(str(s), ("grey", "-", str(s)))
            if str(s) == "stations":
                ax.plot(y["time"], y, "o", ms=2.5, color=colour, label=label)
            else:
                ax.plot(y["time"], y.rolling(time=rolling, center=True, min_periods=1).mean(), ls,
                        color=colour, lw=1.6 if str(s) == "truth" else 1, label=label)
        ax.set_title(_title(int(r), skill))
        ax.set_ylabel("soil moisture [m3 m-3]")
        ax.legend(loc="upper right", fontsize=8)
    axes[-1, 0].set_xlabel("date" + (f" ({rolling}-day moving mean)" if rolling > 1 else ""))
    fig.tight_layout()
    return fig


def _title(region: int, skill: pd.DataFrame | None) -> str:
    """``region k -- R against <reference>: product a, retrieval b`` for the first reference with data."""
    title = f"region {region}"
    if skill is None or skill.empty or skill.index.nlevels != 3 or region not in skill.index.get_level_values(0):
        return title
    g = skill.loc[region]
    for ref in dict.fromkeys(g.index.get_level_values(0)):
        rows = g.loc[ref]
        if "product" in rows.index and rows.loc["product", "n"] > 0:
            parts = [f"product {rows.loc['product', 'r']:.2f}"]
            if "cci" in rows.index:
                parts.append(f"retrieval {rows.loc['cci', 'r']:.2f}")
            return title + f" — R against the {ref}: " + ", ".join(parts)
    return title + " — no reference data"
