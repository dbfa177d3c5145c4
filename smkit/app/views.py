"""The map explorer's plots: HoloViews elements built from what the explorer shows.

Each function draws one thing from plain data -- the map of a frame
(:func:`map_image`), the domain box with zone edges and outlines
(:func:`outlines`), the station markers (:func:`station_points`), the clicked
point (:func:`marker`), the histogram of the visible map (:func:`histogram`),
the time series at a pixel (:func:`time_series`) and the day shown on them
(:func:`date_line`) -- and the automatic colour range of a map
(:func:`auto_clim`). The state, the streams that call these functions and the
widgets are in :mod:`smkit.app.explorer`.
"""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pandas as pd

from smkit.app.data import STATION_METRICS
from smkit.core.grid import Grid
from smkit.core.vocabulary import SM_UNITS

__all__ = [
    "DEFAULT_CLIM",
    "DIFF_CMAP",
    "MAX_PIXELS",
    "SERIES_PALETTE",
    "SM_CMAP",
    "STATION_LINE",
    "auto_clim",
    "date_line",
    "decimation",
    "histogram",
    "map_image",
    "marker",
    "outlines",
    "scale_bar",
    "scale_bar_length",
    "series_colour",
    "sm_label",
    "station_points",
    "time_series",
]

hv.renderer("bokeh")  # load the bokeh backend (no notebook output)

MAX_PIXELS = 1_000_000  # larger maps are shown decimated (every k-th pixel)
#: Colour maps of soil moisture and of differences; the colour range shown before any map (m3 m-3).
SM_CMAP, DIFF_CMAP = "YlGnBu", "RdBu"
DEFAULT_CLIM = (0.0, 0.5)
_METRIC_CMAPS = {"R": "viridis", "MAE": "plasma_r"}
_X = hv.Dimension("lon", label="Longitude", unit="°E")
_Y = hv.Dimension("lat", label="Latitude", unit="°N")


def sm_label(difference: bool) -> str:
    """The name of the mapped quantity (without its unit).

    >>> sm_label(False), sm_label(True)
    ('Soil moisture', 'Soil moisture difference')
    """
    return "Soil moisture" + (" difference" if difference else "")


def decimation(g: Grid) -> int:
    """Step ``k`` that keeps every k-th pixel of a map on ``g``: at most :data:`MAX_PIXELS` shown."""
    return max(1, int(np.ceil(np.sqrt(g.nlat * g.nlon / MAX_PIXELS))))


def auto_clim(arr: np.ndarray, difference: bool) -> tuple[float, float]:
    """The colour range of a map scaled to its data (m3 m-3, rounded to 4 decimals).

    Parameters
    ----------
    arr : numpy.ndarray
        The map (NaN where no value).
    difference : bool
        A difference map: symmetric around zero, to the 98th percentile of
        the absolute values; else the 2nd to 98th percentiles
        (:data:`DEFAULT_CLIM` for a map without values).

    Examples
    --------
    >>> import numpy as np
    >>> auto_clim(np.array([0.1, -0.2, np.nan]), True)
    (-0.198, 0.198)
    """
    finite = arr[np.isfinite(arr)]
    if difference:
        h = float(np.percentile(np.abs(finite), 98)) if finite.size else 0.1
        lo, hi = -max(h, 1e-3), max(h, 1e-3)
    elif finite.size:
        lo, hi = (float(v) for v in np.percentile(finite, [2, 98]))
        hi = hi if hi > lo else lo + 1e-3
    else:
        lo, hi = DEFAULT_CLIM
    return round(lo, 4), round(hi, 4)


def map_image(frame: dict, difference: bool) -> hv.Image:
    """The map of a frame (see :meth:`smkit.app.Explorer.frame`), decimated beyond :data:`MAX_PIXELS`."""
    arr, g = frame["values"], frame["grid"]
    k = decimation(g)
    # the colour range is known: a hard dimension range spares HoloViews a scan of the map
    zdim = hv.Dimension("sm", label=sm_label(difference), unit=SM_UNITS, range=frame["clim"])
    return hv.Image(
        (g.lon[::k], g.lat[::k], arr[::k, ::k]), kdims=[_X, _Y], vdims=[zdim]
    ).opts(cmap=frame["cmap"], clim=frame["clim"])


def outlines(g: Grid, zone_path: np.ndarray, outline: list[np.ndarray]) -> hv.Overlay:
    """The domain box of ``g``, the zone edges (:func:`smkit.app.zone_edges`) and outlines (lon/lat)."""
    ring = np.array(
        [
            [g.lon0, g.lat0],
            [g.lon1, g.lat0],
            [g.lon1, g.lat1],
            [g.lon0, g.lat1],
            [g.lon0, g.lat0],
        ]
    )
    box = hv.Path([ring], kdims=[_X, _Y]).opts(color="black", line_width=1.5)
    layers = [box]
    if len(zone_path):
        layers.append(
            hv.Path([zone_path], kdims=[_X, _Y]).opts(
                color="#333333", line_width=1.2, line_dash="dashed"
            )
        )
    if outline:
        layers.append(hv.Path(outline, kdims=[_X, _Y]).opts(color="black", line_width=1))
    return hv.Overlay(layers)


#: Kilometres in one degree of longitude at the equator (WGS84 semi-major axis).
KM_PER_DEG_LON = 111.32


def scale_bar_length(g: Grid, fraction: float = 0.25) -> tuple[float, float, float]:
    """A round length for a scale bar about ``fraction`` of the map's width wide.

    Parameters
    ----------
    g : Grid
        The map's grid (degrees).
    fraction : float
        Wanted length as a fraction of the map's width.

    Returns
    -------
    (km, degrees, lat) : (float, float, float)
        The length (1, 2 or 5 times a power of ten, km), the degrees of
        longitude it spans at the map's middle latitude ``lat`` (degrees north),
        where one degree of longitude is ``111.32 cos(lat)`` km.

    Examples
    --------
    >>> from smkit.core.grid import Grid
    >>> km, deg, lat = scale_bar_length(Grid(lon0=99.5, lon1=101.5, lat0=37.5, lat1=39.5, res=0.025))
    >>> km, round(deg, 4), lat  # 2 degrees are 174 km wide at 38.5 N
    (20.0, 0.2296, 38.5)
    """
    lat = (g.lat0 + g.lat1) / 2
    per_deg = KM_PER_DEG_LON * np.cos(np.radians(lat))
    want = max((g.lon1 - g.lon0) * per_deg * fraction, 1e-6)
    exp = np.floor(np.log10(want))
    km = max(m * 10**exp for m in (1, 2, 5) if m * 10**exp <= want)
    return float(km), float(km / per_deg), float(lat)


def scale_bar(g: Grid) -> hv.Overlay:
    """A scale bar in the lower left of the map: a line of :func:`scale_bar_length` and its length in km."""
    km, deg, _ = scale_bar_length(g)
    w, h = g.lon1 - g.lon0, g.lat1 - g.lat0
    x0, y0 = g.lon0 + 0.05 * w, g.lat0 + 0.05 * h
    ticks = [np.array([[x, y0 - 0.012 * h], [x, y0 + 0.012 * h]]) for x in (x0, x0 + deg)]
    line = hv.Path([np.array([[x0, y0], [x0 + deg, y0]]), *ticks], kdims=[_X, _Y]).opts(
        color="black", line_width=3
    )
    label = f"{km:g} km"
    text = hv.Text(x0 + deg / 2, y0 + 0.025 * h, label, kdims=[_X, _Y]).opts(
        text_color="black", text_font_size="10pt", text_baseline="bottom", text_align="center"
    )
    return hv.Overlay([line, text])


def station_points(scores: pd.DataFrame, metric: str, hooks: list) -> hv.Points:
    """Station markers coloured by a metric of :data:`smkit.app.STATION_METRICS`.

    Parameters
    ----------
    scores : pandas.DataFrame
        Station scores (:meth:`smkit.app.Explorer.station_metrics`).
    metric : {"R", "MAE"}
        The metric (R on 0 to 1; MAE from 0 to its largest value, m3 m-3).
    hooks : list
        Bokeh hooks of the markers.
    """
    pts = pd.DataFrame(
        {
            "lon": scores["lon"],
            "lat": scores["lat"],
            "value": scores[STATION_METRICS[metric]],
            "name": scores["name"],
            "network": scores["network"],
            "n": scores["n"],
        }
    )
    finite = pts["value"].dropna()
    crange = (
        (0.0, 1.0)
        if metric == "R"
        else (0.0, max(float(finite.max()) if len(finite) else 0.1, 1e-3))
    )
    vdims = [hv.Dimension("value", label=metric), "name", "network", "n"]
    return hv.Points(pts, kdims=[_X, _Y], vdims=vdims).opts(
        color="value",
        cmap=_METRIC_CMAPS[metric],
        clim=crange,
        size=11,
        line_color="black",
        colorbar=True,
        colorbar_position="bottom",
        tools=["hover"],
        hooks=hooks,
    )


def marker(sel: dict | None) -> hv.Points:
    """A cross at the selected point (:meth:`smkit.app.Explorer.select_point`); none without one."""
    return hv.Points([(sel["lon"], sel["lat"])] if sel else [], kdims=[_X, _Y]).opts(
        marker="x", size=16, color="red", line_width=3
    )


def histogram(frame: dict, difference: bool, x_range=None, y_range=None) -> hv.Histogram:
    """Histogram of the part of a frame's map inside ``x_range``/``y_range`` (lon/lat; default all).

    Forty bins over the frame's colour range; values beyond it are not
    binned (the end bins would mislead) but counted on the title's second
    line (the title fits the plot's 440 px).
    """
    arr, g = frame["values"], frame["grid"]
    lo, hi = frame["clim"]
    (x0, x1), (y0, y1) = (x_range or (g.lon0, g.lon1)), (y_range or (g.lat0, g.lat1))
    rows = (g.lat >= min(y0, y1)) & (g.lat <= max(y0, y1))
    cols = (g.lon >= min(x0, x1)) & (g.lon <= max(x0, x1))
    vals = arr[np.ix_(rows, cols)]
    vals = vals[np.isfinite(vals)]
    edges = np.linspace(lo, hi if hi > lo else lo + 1e-3, 41)
    counts, _ = np.histogram(vals, bins=edges)
    below, above = int((vals < edges[0]).sum()), int((vals > edges[-1]).sum())
    zname = "difference" if difference else "sm"
    dim = hv.Dimension(zname, label=sm_label(difference), unit=SM_UNITS)
    mean = f", mean {vals.mean():.3f}" if vals.size else ""
    if below or above:  # a second line: one line would be cut at the plot's width
        mean += f"\nbeyond colour range: {below} below, {above} above"
    return hv.Histogram((edges, counts), kdims=[dim], vdims=["pixels"]).opts(
        framewise=True,
        title=f"Visible map: {vals.size} pixels{mean}",
        color="#4c72b0",
        line_color=None,
        height=230,
        width=440,
        toolbar=None,
    )


#: One colour per line of the time series, in the order of the explorer's layers (Okabe-Ito, then
#: Tableau): every product, the retrieval, the truth and the models each keep a colour of their own.
SERIES_PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442",
                  "#8c564b", "#7f7f7f", "#bcbd22", "#17becf", "#9467bd")


def series_colour(k: int) -> str:
    """The colour of the ``k``-th line of the time series (the palette repeats after 12 lines).

    >>> series_colour(0), series_colour(12)
    ('#0072B2', '#0072B2')
    """
    return SERIES_PALETTE[k % len(SERIES_PALETTE)]


#: The name of the station's series in the line picker (:func:`time_series`'s ``shown``).
STATION_LINE = "Station"


def time_series(
    times: pd.DatetimeIndex,
    labels: list[str],
    series: pd.DataFrame | None = None,
    station: np.ndarray | None = None,
    shown: list[str] | None = None,
) -> hv.Overlay:
    """The time series of every layer at a pixel, and of a station, on ``times``.

    Parameters
    ----------
    times : pandas.DatetimeIndex
        The explorer's days.
    labels : list of str
        The layers (one empty curve each when there is no ``series``: the
        plot has a time axis before any click).
    series : pandas.DataFrame, optional
        One column per layer (:meth:`smkit.app.Explorer.pixel_series`).
    station : numpy.ndarray, optional
        The station's soil moisture on ``times`` (m3 m-3), drawn as points.
    shown : list of str, optional
        The lines to draw: layer labels and :data:`STATION_LINE` (default
        all). A line keeps its colour -- the one of its place in ``labels`` --
        whichever others are drawn.
    """
    ylab = hv.Dimension("sm", label=sm_label(False), unit=SM_UNITS)
    colour = {lab: series_colour(k) for k, lab in enumerate(labels)}
    keep = None if shown is None else set(shown)
    if series is None:
        empty = (times, np.full(len(times), np.nan))
        curves = {lab: hv.Curve(empty, "time", ylab).opts(color=colour[lab]) for lab in labels
                  if keep is None or lab in keep}
        points = hv.Scatter(empty, "time", ylab, label="station")
    else:
        extra = [c for c in series.columns if c not in colour]
        colour.update({lab: series_colour(len(labels) + k) for k, lab in enumerate(extra)})
        curves = {
            lab: hv.Curve((series.index, series[lab].values), "time", ylab).opts(color=colour[lab])
            for lab in series.columns
            if keep is None or lab in keep
        }
        if station is not None:
            ok = np.isfinite(station)
            points = hv.Scatter((times[ok], station[ok]), "time", ylab, label="station")
        else:
            points = hv.Scatter((times[:1], [np.nan]), "time", ylab, label="station")
    points = points.opts(color="black", size=5, visible=keep is None or STATION_LINE in keep)
    ov = hv.NdOverlay(curves, kdims="product", sort=False) * points
    return ov.opts(hv.opts.Curve(line_width=1.4, tools=["hover"], framewise=True))


def date_line(date: str) -> hv.VLine:
    """A dotted vertical line at the day shown."""
    return hv.VLine(pd.Timestamp(date)).opts(color="grey", line_dash="dotted")
