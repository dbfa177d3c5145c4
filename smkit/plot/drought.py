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
    """Regional mean series of every source, one panel per region (Fig. 11)."""
    regions = series["region"].values
    fig, axes = plt.subplots(len(regions), 1, figsize=(11, 2.8 * len(regions)), squeeze=False,
                             sharex=True)
    styles = {"product": ("tab:blue", "-", "downscaled (BMA)"), "cci": ("tab:orange", "-", "CCI-like retrieval"),
              "stations": ("k", "none", "stations")}
    for ax, r in zip(axes[:, 0], regions, strict=True):
        for s in series["source"].values:
            y = series["sm"].sel(region=r, source=s)
            colour, ls, label = styles.get(str(s), ("grey", "-", str(s)))
            if str(s) == "stations":
                ax.plot(y["time"], y, "o", ms=2.5, color=colour, label=label)
            else:
                ax.plot(y["time"], y.rolling(time=rolling, min_periods=1).mean(), ls, color=colour,
                        lw=1, label=label)
        title = f"region {int(r)}"
        if skill is not None and (int(r), "product") in skill.index:
            row = skill.loc[(int(r), "product")]
            title += f" — R(product, {row['reference']}) = {row['r']:.2f}"
        ax.set_title(title)
        ax.set_ylabel("sm [m3 m-3]")
        ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    return fig
