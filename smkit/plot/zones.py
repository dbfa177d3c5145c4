"""Map of the climate zones (:mod:`smkit.bma.zones`), optionally with the stations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from smkit.bma.zones import NO_ZONE, check_zones, grid_of, station_table

__all__ = ["plot_zones"]

_MARKERS = ["o", "^", "s", "D", "v", "P", "X", "*"]


def _networks(stations, n: int) -> np.ndarray:
    """The ``network`` of every station, or ``"station"`` for all when there is none."""
    if isinstance(stations, pd.DataFrame):
        network = (
            stations["network"].astype(str).to_numpy() if "network" in stations.columns else None
        )
    else:
        network = (
            np.asarray(stations["network"].values).astype(str)
            if "network" in stations.coords
            else None
        )
    return np.array(["station"] * n) if network is None else network


def _station_markers(ax, stations, annotate: bool | None) -> list:
    """Draw one marker shape per network (and the names); returns the legend handles."""
    from matplotlib.lines import Line2D

    tab = station_table(stations)
    network = _networks(stations, len(tab))
    handles = []
    for i, net in enumerate(sorted(set(network))):
        sel = network == net
        marker = _MARKERS[i % len(_MARKERS)]
        ax.scatter(
            tab["lon"].to_numpy()[sel],
            tab["lat"].to_numpy()[sel],
            marker=marker,
            s=46,
            facecolor="white",
            edgecolor="black",
            linewidth=1.0,
            zorder=3,
        )
        handles.append(
            Line2D(
                [],
                [],
                marker=marker,
                linestyle="none",
                markerfacecolor="white",
                markeredgecolor="black",
                label=net,
            )
        )
    if annotate is None:
        annotate = len(tab) <= 30
    if annotate:
        for _, r in tab.iterrows():
            ax.annotate(
                r["name"],
                (r["lon"], r["lat"]),
                xytext=(4, 3),
                textcoords="offset points",
                fontsize=7,
                zorder=4,
            )
    return handles


def plot_zones(
    zones: xr.DataArray,
    stations=None,
    *,
    ax=None,
    title: str | None = None,
    annotate: bool | None = None,
):
    """Map of the zones, optionally with station markers.

    Parameters
    ----------
    zones : xarray.DataArray
        ``zone(lat, lon)`` labels (coarse or fine grid); :data:`smkit.bma.zones.NO_ZONE` is drawn grey.
    stations : xarray.Dataset or pandas.DataFrame, optional
        Stations with ``lat``/``lon`` (degrees) and optionally ``name`` and
        ``network`` (one marker shape per network).
    ax : matplotlib.axes.Axes, optional
        Axes to draw in (default: a new figure).
    title : str, optional
    annotate : bool, optional
        Write station names beside the markers (default: when 30 stations or fewer).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.patches import Patch
    from matplotlib.ticker import MaxNLocator

    zones = check_zones(zones)
    grid = grid_of(zones, "zones")
    vals = np.asarray(zones.values)
    labels = sorted(int(v) for v in np.unique(vals) if v != NO_ZONE)
    k = max(labels) if labels else 1
    if ax is None:
        fig, ax = plt.subplots(figsize=(7.0, 5.2), constrained_layout=True)
    else:
        fig = ax.figure
    colors = plt.get_cmap("BrBG")(np.linspace(0.08, 0.92, max(k, 2)))[:k]  # brown (dry) to teal (wet)
    cmap = ListedColormap(colors).with_extremes(bad="#d9d9d9")
    norm = BoundaryNorm(np.arange(0.5, k + 1.5), k)
    lon_e = np.linspace(grid.lon0, grid.lon1, grid.nlon + 1)
    lat_e = np.linspace(grid.lat0, grid.lat1, grid.nlat + 1)
    mesh = ax.pcolormesh(lon_e, lat_e, np.ma.masked_less(vals, 1), cmap=cmap, norm=norm)
    cbar = fig.colorbar(mesh, ax=ax, ticks=np.arange(1, k + 1), shrink=0.9)
    cbar.set_label(f"zone (1 = driest, {k} = wettest)")
    handles = (
        [Patch(facecolor="#d9d9d9", edgecolor="none", label="no data")]
        if (vals == NO_ZONE).any()
        else []
    )
    if stations is not None:
        handles += _station_markers(ax, stations, annotate)
    if handles:
        ax.legend(handles=handles, loc="lower left", fontsize="small", framealpha=0.85)
    ax.set_xlim(grid.lon0, grid.lon1)
    ax.set_ylim(grid.lat0, grid.lat1)
    ax.set_aspect(1.0 / np.cos(np.deg2rad(0.5 * (grid.lat0 + grid.lat1))))
    ax.xaxis.set_major_locator(MaxNLocator(6))
    ax.yaxis.set_major_locator(MaxNLocator(6))
    ax.set_xlabel("longitude (degrees east)")
    ax.set_ylabel("latitude (degrees north)")
    ax.set_title(title or f"Soil-moisture zones (k-means, k = {k}) on the {grid.res:g}-degree grid")
    return fig
