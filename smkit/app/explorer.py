"""Map explorer: browse a downscaled product day by day, in JupyterLab or a browser.

:func:`explorer` builds a Panel layout around one product
(``sm(model, time, lat, lon)``) and, optionally, the coarse retrieval, the
1-km truth, reference models (ERA5, Noah, ...), in-situ stations and zones:

* a date player (one day is read per update; a lazy product is never loaded
  whole), a product selector (``CCI`` = the coarse retrieval, the product's
  models as ``RF``, ``MLR``, ``SVR``, ``XG``, ``BMA``, ``Truth``, and the
  references by name);
* a difference mode: the map minus another product. Both are brought to the
  product's fine grid by their *nearest parent cell* -- each fine pixel takes
  the value of the cell of the other grid that contains the pixel's centre (a
  0.25 degree retrieval becomes blocks of 25 x 25 identical 1-km pixels; a
  field already on the fine grid is unchanged); pixels outside the other
  grid are NaN;
* a colour range with a lock, on by default so a colour means one value on
  every day (set from the first map's 2nd-98th percentiles, or symmetrically
  for differences; unlocked, each map is scaled so) and a lock of the map
  extent (locked, a zoom is kept from day to day and product to product;
  unlocked, every update shows the whole map);
* station markers coloured by R or MAE of the selected product against each
  station, over the product's days, from :func:`smkit.validate.metrics.all_metrics` on
  the series of the pixel holding the station (cached per product);
* zone outlines: the cell edges between different zone labels;
* a click on the map (a HoloViews ``Tap`` stream) shows the time series of
  every product at that pixel, and of the station when the click falls on a
  station marker;
* a histogram of the visible part of the map;
* a comparison of two dates: the selected product on date B minus on the
  date, in diverging symmetric colours;
* a line picker of the time series (each line keeps its colour), a scale bar
  (km at the map's latitude), downloads of the map shown (GeoTIFF, NetCDF,
  through :mod:`smkit.workflow.export`) and of the clicked point's series
  (CSV; :mod:`smkit.app.downloads`), and a link to the demo run's report.

The layout wraps (a :class:`panel.FlexBox`) so that it fits a 1280 px wide
screen, served or inline.

Everything is drawn offline: no map tiles, no downloaded coastlines; the
domain box (and an optional outline given as coordinates) marks the region.

This module owns the explorer's state (:class:`Explorer`'s parameters), the
streams and callbacks that redraw the plots, and the widgets and layout. What
it shows is read through :class:`smkit.app.data.ExplorerData`, drawn by
:mod:`smkit.app.views`; :mod:`smkit.app.serve` opens a scenario and serves
the explorer (``smkit serve``).

Usage::

    smkit serve --scenario demo          # then open http://127.0.0.1:5006/

    # in JupyterLab (notebooks/explore.py)
    import panel as pn
    from smkit.app import open_explorer
    pn.extension()
    open_explorer("demo")
"""

from __future__ import annotations

import html
import io
from functools import partial
from typing import TYPE_CHECKING

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import param

from smkit.app import downloads, links, views
from smkit.app.data import COARSE_LABEL, STATION_METRICS, ExplorerData, default_date
from smkit.core.vocabulary import SM_UNITS

if TYPE_CHECKING:
    from smkit.core.grid import Grid

__all__ = ["DatePlayer", "Explorer", "explorer"]

#: Run in the page once the explorer is drawn. Panel's player sets its slider's value before its
#: ``min``/``max``, so a browser clamps it to the range input's default 0-100 (the slider sat at
#: index 100 while the label said 470), and a value set from Python moves the slider but not the
#: label: set min, max, then value again, now and on every re-render, and redraw the label with
#: every value.
SLIDER_SYNC_JS = """
for (const view of Bokeh.index.find_all(player)) {
  const proto = Object.getPrototypeOf(view)
  if (!proto.__smkit_slider_sync) {
    const render = proto.render
    const update_value = proto.update_value
    proto.render = function () { render.call(this); this.update_value() }
    proto.update_value = function () { update_value.call(this); this.update_title_and_value() }
    proto.__smkit_slider_sync = true
  }
  view.update_value()
}
"""


class DatePlayer(pn.widgets.DiscretePlayer):
    """A :class:`panel.widgets.DiscretePlayer` whose slider shows the day its label names.

    Panel's player builds its range input with the value before the bounds, and
    a browser clamps a value beyond 100 to 100; each document holding the player
    runs :data:`SLIDER_SYNC_JS` once drawn (Bokeh's ``document_ready``), which
    puts the slider where the value is, and makes a value set from Python (or
    a notebook cell) redraw the label as well as the slider.
    """

    def _get_model(self, doc, root=None, parent=None, comm=None):
        from bokeh.models import CustomJS

        model = super()._get_model(doc, root, parent, comm)
        if doc is not None:
            doc.js_on_event("document_ready", CustomJS(args={"player": model}, code=SLIDER_SYNC_JS))
        return model


class Explorer(pn.viewable.Viewer):
    """State, plots and widgets of the map explorer (see :func:`explorer`).

    Parameters
    ----------
    product, coarse, stations, truth, references, zones, outline, title, description, report_url
        As for :func:`explorer`.

    Attributes
    ----------
    data : smkit.app.data.ExplorerData
        What the explorer shows; ``layers``, ``grid``, ``times``,
        ``stations``, ``zone_path`` and ``outline`` are its attributes.

    Notes
    -----
    The parameters below are the explorer's state; setting one from Python
    (``ex.date = "2010-07-15"``) updates the plots as the widgets do.
    :meth:`current_map` returns the array the map shows.
    """

    date = param.Selector(doc="Day shown (YYYY-MM-DD).")
    product = param.Selector(doc="Product shown.")
    difference = param.Boolean(False, doc="Show the product minus the reference product.")
    reference = param.Selector(doc="Product subtracted in difference mode.")
    date_b = param.Selector(doc="Second day (YYYY-MM-DD) of the date comparison.")
    compare_dates = param.Boolean(
        False, doc="Show the selected product on date B minus on the date (turns difference off)."
    )
    clim = param.Range(views.DEFAULT_CLIM, doc="Colour range (m3 m-3).")
    lock_colour = param.Boolean(
        True,
        doc="Keep the colour range (first set from the first map shown, 2-98 %), so a colour means "
        "the same value on every day; unlocked, each map is scaled to its data.",
    )
    lock_extent = param.Boolean(
        True, doc="Keep the current zoom; unlocked, each update shows the whole map."
    )
    station_metric = param.Selector(
        objects=list(STATION_METRICS),
        default="R",
        doc="Metric of the selected product against each station.",
    )
    lines = param.ListSelector(
        default=[], doc="Lines drawn in the time series: layer labels and 'Station' (default all)."
    )
    _refresh = param.Event(doc="Redraw the map (colour range edited while locked).")

    def __init__(
        self,
        product,
        *,
        coarse=None,
        stations=None,
        truth=None,
        references=None,
        zones=None,
        outline=None,
        title="smkit map explorer",
        description="",
        report_url=None,
        **params,
    ):
        data = ExplorerData(product, coarse=coarse, truth=truth, references=references)
        self.data = data
        self.layers, self.grid, self.times = data.layers, data.grid, data.times
        self.title, self.description, self.report_url = title, description, report_url
        initial = {
            k: params.pop(k) for k in ("date", "product", "reference", "lines", "date_b") if k in params
        }
        super().__init__(**params)
        self._select_initial(initial)
        data.add_stations(stations)
        data.add_outlines(zones, outline)
        self.stations, self.zone_path, self.outline = data.stations, data.zone_path, data.outline
        self._select_lines(initial.get("lines"))
        self._clim_kind = None
        self._auto_clim = False  # True while the map sets the colour range itself
        self._selected: dict | None = None
        self._frame: dict | None = None
        self._build()

    def _select_initial(self, initial: dict) -> None:
        """The selectors' choices, and the day, product and reference shown first."""
        labels = list(self.layers)
        self.param.date.objects = self.param.date_b.objects = [str(t.date()) for t in self.times]
        self.param.product.objects = labels
        self.param.reference.objects = labels
        with param.parameterized.discard_events(self):
            self.date = str(initial.get("date", default_date(self.times)))
            dates = self.param.date.objects
            week_on = dates[min(dates.index(self.date) + 7, len(dates) - 1)]
            self.date_b = str(initial.get("date_b", week_on))
            self.product = initial.get("product", self.data.first_product)
            default_ref = COARSE_LABEL if COARSE_LABEL in self.layers else labels[0]
            if default_ref == self.product and len(labels) > 1:
                default_ref = next(lab for lab in labels if lab != self.product)
            self.reference = initial.get("reference", default_ref)

    def _select_lines(self, lines) -> None:
        """The line picker's choices (every layer, and the station when there are stations)."""
        choices = list(self.layers)
        if self.stations is not None and len(self.stations):
            choices.append(views.STATION_LINE)
        self.param.lines.objects = choices
        with param.parameterized.discard_events(self):
            self.lines = list(choices if lines is None else lines)

    # ------------------------------------------------------------------ data
    @property
    def shows_difference(self) -> bool:
        """The map is a difference (of products, or of two dates): diverging, symmetric colours."""
        return bool(self.difference or self.compare_dates)

    @param.depends("difference", watch=True)
    def _difference_ends_comparison(self):
        if self.difference:
            self.compare_dates = False

    @param.depends("compare_dates", watch=True)
    def _comparison_ends_difference(self):
        if self.compare_dates:
            self.difference = False

    def current_map(self) -> tuple[np.ndarray, Grid, str]:
        """The map on display: values, their grid and a title.

        Returns
        -------
        (numpy.ndarray, Grid, str)
            Comparing dates, the selected product on :attr:`date_b` minus on
            :attr:`date`, on its own grid (m3 m-3); in difference mode, the
            selected product minus the reference, both on the product's fine
            grid by nearest parent cell (m3 m-3); else the selected product's
            day on its own grid.
        """
        date_b = self.date_b if self.compare_dates else None
        return self.data.map(self.product, self.date, self.difference, self.reference, date_b)

    def station_metrics(self, label: str | None = None) -> pd.DataFrame:
        """R, MAE and N of a product against every station, over the explorer's days.

        Each station is compared with the series of the product's cell that
        holds it (the fine pixel for a downscaled product, the 0.25 degree
        cell for CCI), on the days both have a value (a station's cadence
        thereby selects the days). Computed once per product and cached.

        Parameters
        ----------
        label : str, optional
            Product label; default the selected product.

        Returns
        -------
        pandas.DataFrame
            One row per station inside the domain: ``name``, ``network``,
            ``lat``, ``lon``, ``r``, ``mae`` (m3 m-3) and ``n``.
        """
        return self.data.station_metrics(label or self.product)

    def pixel_series(self, lat: float, lon: float) -> pd.DataFrame:
        """Time series of every product at the cell holding (``lat``, ``lon``), explorer's days."""
        return self.data.pixel_series(lat, lon)

    def select_point(self, lon: float | None, lat: float | None) -> dict | None:
        """Resolve a click (see :meth:`smkit.app.data.ExplorerData.select_point`)."""
        return self.data.select_point(lon, lat)

    # ------------------------------------------------------------------ downloads
    def map_export(self, fmt: str = "geotiff") -> tuple[str, io.BytesIO]:
        """The map on display as a file: its download name and bytes.

        Parameters
        ----------
        fmt : {"geotiff", "netcdf"}
            A Cloud-Optimised GeoTIFF or a CF NetCDF4 file, written by
            :mod:`smkit.workflow.export` (:func:`smkit.app.downloads.map_file`)
            -- the product, day and mode shown (a difference of products or of
            dates is exported as that difference, m3 m-3).
        """
        arr, g, _ = self.current_map()
        which = {
            "reference": self.reference if self.difference and not self.compare_dates else None,
            "date_b": self.date_b if self.compare_dates else None,
        }
        ds = downloads.map_dataset(arr, g, self.product, self.date, **which)
        name = downloads.map_filename(self.product, self.date, fmt=fmt, **which)
        return name, downloads.map_file(ds, fmt)

    def series_export(self) -> tuple[str, io.BytesIO]:
        """The clicked point's series (every layer, and its station) as CSV: name and bytes.

        Raises
        ------
        ValueError
            If no point has been clicked.
        """
        sel = self._selected
        if sel is None:
            raise ValueError("no point selected: click a pixel or a station on the map first")
        series = self.pixel_series(sel["pixel_lat"], sel["pixel_lon"])
        name = obs = None
        if sel["station"] is not None:
            name = str(self.stations["name"].values[sel["station"]])
            obs = self.data.station_obs[sel["station"]]
        text = downloads.series_csv(series, sel["pixel_lat"], sel["pixel_lon"], station=name,
                                    station_values=obs)
        fname = downloads.series_filename(sel["pixel_lat"], sel["pixel_lon"], name)
        return fname, io.BytesIO(text.encode("utf-8"))

    def _download(self, widget, make):
        """A FileDownload callback: name the file, then hand over its bytes."""
        name, data = make()
        widget.filename = name
        return data

    # ------------------------------------------------------------------ colour and extent
    def _colour_range(self, arr: np.ndarray) -> tuple[float, float]:
        kind = "dates" if self.compare_dates else "diff" if self.difference else "abs"
        if self.lock_colour and kind == self._clim_kind:
            lo, hi = self.clim
            return (float(lo), float(hi)) if hi > lo else (float(lo), float(lo) + 1e-3)
        lo, hi = views.auto_clim(arr, self.shows_difference)
        self._clim_kind = kind
        self._auto_clim = True
        try:
            self.clim = (lo, hi)
        finally:
            self._auto_clim = False
        return lo, hi

    def _on_clim(self, event):
        """A colour range edited by hand locks it (and redraws)."""
        if self._auto_clim:
            return
        if self.lock_colour:
            self.param.trigger("_refresh")
        else:
            self.lock_colour = True

    def frame(self) -> dict:
        """What the map shows now: ``values``, ``grid``, ``title``, ``clim``, ``cmap``, ``extent``.

        Computed once per state (product, day, difference, reference, colour
        lock and locked range); the map and the histogram share it.
        """
        key = (
            self.product,
            self.date,
            self.difference,
            self.reference,
            self.date_b if self.compare_dates else None,
            self.lock_colour,
            tuple(self.clim) if self.lock_colour else None,
        )
        if self._frame is not None and self._frame["key"] == key:
            return self._frame
        arr, g, title = self.current_map()
        lo, hi = self._colour_range(arr)
        key = key[:-1] + ((lo, hi) if self.lock_colour else None,)
        self._frame = {
            "key": key,
            "values": arr,
            "grid": g,
            "title": title,
            "clim": (lo, hi),
            "cmap": views.DIFF_CMAP if self.shows_difference else views.SM_CMAP,
            "extent": (g.lon0, g.lon1, g.lat0, g.lat1),
        }
        return self._frame

    # ------------------------------------------------------------------ plots (stream callbacks)
    def _image_view(self, **_):
        return views.map_image(self.frame(), self.shows_difference)

    def _apply_frame(self, plot, element):
        """Bokeh hook run after each render of the map: colour range, title and extent."""
        f = self._frame
        if f is None:
            return
        lo, hi = f["clim"]
        cm = plot.handles.get("color_mapper")
        if cm is not None:
            cm.update(low=lo, high=hi)
        for key, handle in plot.handles.items():
            if key.endswith("colorbar"):  # the bar is built once: its title follows the mode
                handle.title = f"{views.sm_label(self.shows_difference)} [{views.SM_UNITS}]"
        fig = plot.state
        fig.title.text = f["title"]
        if not self.lock_extent:
            x0, x1, y0, y1 = f["extent"]
            fig.x_range.update(start=x0, end=x1)
            fig.y_range.update(start=y0, end=y1)

    def _static_view(self) -> hv.Overlay:
        return views.outlines(self.grid, self.zone_path, self.outline) * views.scale_bar(self.grid)

    def _stations_view(self, **_):
        metric = self.station_metric
        scores = self.station_metrics(self.product)
        self._station_title = f"{metric} of {self.product} against each station"
        return views.station_points(scores, metric, hooks=[self._title_stations])

    def _title_stations(self, plot, element):
        """Bokeh hook: the station colour bar names the metric and the product."""
        for key, handle in plot.handles.items():
            if key.endswith("colorbar"):
                handle.title = self._station_title

    def _marker_view(self, x=None, y=None, **_):
        return views.marker(self.select_point(x, y))

    def _hist_view(self, x_range=None, y_range=None, **_):
        return views.histogram(self.frame(), self.shows_difference, x_range, y_range)

    def _series_view(self, x=None, y=None, **_):
        sel = self.select_point(x, y)
        self._selected = sel
        self._update_info()
        series = station = None
        if sel is None:
            where = "Click a pixel or a station on the map for its time series"
        else:
            series = self.pixel_series(sel["pixel_lat"], sel["pixel_lon"])
            where = f"{sel['pixel_lat']:.3f}°N {sel['pixel_lon']:.3f}°E"
            if sel["station"] is not None:
                name = self.stations["name"].values[sel["station"]]
                station = self.data.station_obs[sel["station"]]
                where = f"Station {name} ({where})"
        if hasattr(self, "series_title"):
            self.series_title.object = f"**Time series:** {where}"
        if hasattr(self, "series_download"):
            self.series_download.disabled = sel is None
        return views.time_series(self.times, list(self.layers), series, station, shown=self.lines)

    def _date_line(self, **_):
        return views.date_line(self.date)

    def _update_info(self):
        if not hasattr(self, "info"):
            return
        lines = [f"**{self.description}**" if self.description else ""]
        sel = self._selected
        if sel is not None:
            lines.append(f"Pixel {sel['pixel_lat']:.3f}°N, {sel['pixel_lon']:.3f}°E")
            if sel["station"] is not None and self.stations is not None:
                st = self.stations.iloc[sel["station"]]
                m = self.station_metrics(self.product).iloc[sel["station"]]
                lines.append(
                    f"Station **{st['name']}** ({st['network']}): "
                    f"R {m['r']:.2f}, MAE {m['mae']:.3f} m3 m-3, N {m['n']} ({self.product})"
                )
        self.info.object = "\n\n".join(x for x in lines if x)

    # ------------------------------------------------------------------ layout
    def _build(self):
        self._build_map()
        self._build_side_plots()
        self.param.watch(self._on_clim, "clim")
        self._build_panes()
        self._build_widgets()
        self._update_info()

    def _build_map(self):
        """The map: the day's image, outlines, station markers and the clicked point."""
        self._range = hv.streams.RangeXY()
        self._tap = hv.streams.Tap(x=None, y=None)
        state = hv.streams.Params(
            self,
            [
                "date",
                "product",
                "difference",
                "reference",
                "date_b",
                "compare_dates",
                "lock_colour",
                "lock_extent",
                "_refresh",
            ],
        )
        self._img = hv.DynamicMap(self._image_view, streams=[state]).opts(
            colorbar=True,
            clipping_colors={"NaN": "#d9d9d9"},
            tools=["hover", "tap"],
            hooks=[self._apply_frame],
        )
        self._range.source = self._img
        self._tap.source = self._img
        layers = [self._img, self._static_view()]
        if self.stations is not None and len(self.stations):
            layers.append(
                hv.DynamicMap(
                    self._stations_view,
                    streams=[hv.streams.Params(self, ["product", "station_metric"])],
                )
            )
        layers.append(hv.DynamicMap(self._marker_view, streams=[self._tap]))
        self._map = layers[0]
        for layer in layers[1:]:
            self._map = self._map * layer

    def _build_side_plots(self):
        """The histogram of the visible map and the time series of the clicked point."""
        hist_state = hv.streams.Params(
            self,
            ["date", "product", "difference", "reference", "date_b", "compare_dates", "lock_colour",
             "_refresh"],
        )
        self._hist = hv.DynamicMap(self._hist_view, streams=[hist_state, self._range])
        self._series_dmap = hv.DynamicMap(
            self._series_view, streams=[self._tap, hv.streams.Params(self, ["lines"])]
        )
        self._vline = hv.DynamicMap(self._date_line, streams=[hv.streams.Params(self, ["date"])])

    def _build_panes(self):
        """The plots' panes, the map sized to the domain's aspect."""
        aspect = (self.grid.lat1 - self.grid.lat0) / (self.grid.lon1 - self.grid.lon0)
        fw, fh = (
            (460, int(round(460 * aspect))) if aspect <= 1.3 else (int(round(600 / aspect)), 600)
        )
        self.map_pane = pn.pane.HoloViews(
            self._map.opts(
                hv.opts.Overlay(
                    frame_width=fw, frame_height=fh, toolbar="above", active_tools=["wheel_zoom"]
                )
            ),
            css_classes=["smkit-map"],
            linked_axes=False,
        )
        self.hist_pane = pn.pane.HoloViews(
            self._hist, css_classes=["smkit-hist"], linked_axes=False
        )
        self.series_title = pn.pane.Markdown(
            "**Time series:** click a pixel or a station on the map",
            margin=(0, 10),
            css_classes=["smkit-series-title"],
        )
        series = (self._series_dmap * self._vline).opts(
            hv.opts.Overlay(
                framewise=True, legend_position="right", frame_width=260, frame_height=230
            )
        )
        self.series_pane = pn.pane.HoloViews(
            series, css_classes=["smkit-series"], linked_axes=False
        )

    def _build_widgets(self):
        """The widgets, each bound to a parameter, and the info pane."""
        w = pn.widgets
        self.date_player = DatePlayer.from_param(
            self.param.date,
            name="Date",
            interval=400,
            loop_policy="once",
            show_loop_controls=False,
            scale_buttons=0.85,  # nine buttons in the 260 px of the controls (none cut off)
            css_classes=["smkit-date"],
            width=260,
        )
        self.product_select = w.Select.from_param(
            self.param.product, name="Product", css_classes=["smkit-product"], width=260
        )
        self.difference_toggle = w.Checkbox.from_param(
            self.param.difference, name="Difference to", css_classes=["smkit-difference"]
        )
        self.reference_select = w.Select.from_param(
            self.param.reference,
            name="Reference product",
            css_classes=["smkit-reference"],
            width=260,
        )
        self.date_b_select = w.Select.from_param(
            self.param.date_b, name="Date B", css_classes=["smkit-date-b"], width=260
        )
        self.compare_toggle = w.Checkbox.from_param(
            self.param.compare_dates,
            name="Compare dates: date B minus the date",
            css_classes=["smkit-compare"],
        )
        self.clim_slider = w.EditableRangeSlider.from_param(
            self.param.clim,
            name=f"Colour range ({SM_UNITS})",
            start=-0.5,
            end=0.8,
            step=0.005,
            format="0.000",
            css_classes=["smkit-clim"],
            width=260,
        )
        self.lock_colour_toggle = w.Checkbox.from_param(
            self.param.lock_colour, name="Lock colour range"
        )
        self.lock_extent_toggle = w.Checkbox.from_param(
            self.param.lock_extent, name="Lock map extent"
        )
        self.metric_select = w.RadioButtonGroup.from_param(
            self.param.station_metric, name="Station metric", width=260
        )
        self.lines_picker = w.CheckBoxGroup.from_param(
            self.param.lines, name="Lines", inline=True, css_classes=["smkit-lines"], width=440
        )
        self.info = pn.pane.Markdown("", width=260, css_classes=["smkit-info"])
        link = f'<a href="{html.escape(self.report_url or "")}" target="_blank" rel="noopener">'
        self.report_link = pn.pane.Markdown(
            f"{link}Report of the demo run</a>" if self.report_url else "",
            width=260, css_classes=["smkit-report"], visible=bool(self.report_url),
        )
        self.map_downloads = {}
        for fmt, what in (("geotiff", "GeoTIFF"), ("netcdf", "NetCDF")):
            button = w.FileDownload(
                label=f"Map as {what}", filename=f"smkit_map{downloads.MAP_FORMATS[fmt]}",
                css_classes=[f"smkit-download-{fmt}"], width=125, color="primary",
                variant="outline",
            )
            button.callback = partial(self._download, button, partial(self.map_export, fmt))
            self.map_downloads[fmt] = button
        self.series_download = w.FileDownload(
            label="Series of the point as CSV", filename="smkit_series.csv",
            css_classes=["smkit-download-csv"], width=260, disabled=True, color="primary",
            variant="outline",
        )
        self.series_download.callback = partial(
            self._download, self.series_download, self.series_export
        )

    def release(self) -> int:
        """Forget this explorer's widgets in Panel's link registries, so it can be freed.

        :func:`smkit.app.serve` calls this when a browser session closes; see
        :mod:`smkit.app.links`. Returns the number of registry entries dropped.
        """
        return links.forget(vars(self).values())

    def controls(self) -> pn.Column:
        """The widgets, in a column."""
        items = [
            self.date_player,
            self.product_select,
            self.difference_toggle,
            self.reference_select,
            self.compare_toggle,
            self.date_b_select,
            self.clim_slider,
            self.lock_colour_toggle,
            self.lock_extent_toggle,
        ]
        if self.stations is not None:
            items += [
                pn.pane.Markdown(
                    "Station markers: metric of the product vs. station", margin=(10, 10, 0, 10)
                ),
                self.metric_select,
            ]
        items += [
            pn.pane.Markdown("Export the map shown, or the clicked point's series",
                             margin=(10, 10, 0, 10)),
            pn.Row(*self.map_downloads.values(), width=290),
            self.series_download,
            self.info,
            self.report_link,
        ]
        return pn.Column(*items, width=290)

    def _plot_items(self) -> list:
        """The map, and the column of the histogram and the time series."""
        side = pn.Column(self.hist_pane, self.series_title, self.lines_picker, self.series_pane)
        return [self.map_pane, side]

    def plots(self) -> pn.FlexBox:
        """The map, and beside it (below it on a narrow screen) the histogram and the time series."""
        return pn.FlexBox(*self._plot_items(), flex_wrap="wrap", sizing_mode="stretch_width",
                          css_classes=["smkit-plots"])

    def __panel__(self) -> pn.FlexBox:
        """Controls and plots side by side, wrapping to fit the width (inline in JupyterLab).

        On a 1280 px wide screen the histogram and the time series go below
        the controls and the map rather than past the right edge.
        """
        return pn.FlexBox(self.controls(), *self._plot_items(), flex_wrap="wrap",
                          sizing_mode="stretch_width", css_classes=["smkit-explorer"])

    def template(self) -> pn.template.BootstrapTemplate:
        """The explorer in a page template (sidebar of controls, plots in the main area).

        A :class:`panel.template.BootstrapTemplate`: its resources are served by
        Panel itself, whereas the Fast and Material designs request web fonts
        from Google, which an offline machine cannot reach.
        """
        return pn.template.BootstrapTemplate(
            title=self.title,
            sidebar=[self.controls()],
            main=[self.plots()],
            sidebar_width=320,
            header_background="#2b6a99",
        )


def explorer(product, *, coarse=None, stations=None, truth=None, references=None, zones=None, outline=None,
             title: str = "smkit map explorer", description: str = "", report_url: str | None = None,
             template: bool = False):
    """An interactive map explorer of a soil-moisture product.

    Parameters
    ----------
    product : xarray.Dataset or DataArray
        ``sm(model, time, lat, lon)`` on the fine grid (m3 m-3), eager or
        lazy; its days are the explorer's days.
    coarse : xarray.Dataset or DataArray, optional
        The coarse retrieval ``sm(time, lat, lon)`` (selector label ``CCI``).
    stations : xarray.Dataset, optional
        ``sm`` (m3 m-3) or ``rsm`` (percent, converted with
        :func:`smkit.core.schema.stations_to_volumetric`) along ``(station, time)``
        with coordinates ``name``, ``network``, ``lat``, ``lon``; stations
        outside the product's domain are left out.
    truth : xarray.Dataset or DataArray, optional
        The 1-km truth ``sm(time, lat, lon)`` (label ``Truth``).
    references : mapping of str to Dataset or DataArray, optional
        Other fields ``sm(time, lat, lon)`` on any regular grid, by label
        (``{"ERA5": sc.era5, "Noah": sc.noah}``).
    zones : xarray.DataArray, optional
        Integer labels ``zone(lat, lon)`` (e.g. on the coarse grid); their
        boundaries are drawn.
    outline : array or list of arrays, optional
        ``(n, 2)`` lon/lat vertices of outlines to draw (a region shipped with
        the data); the domain box is always drawn.
    title, description : str
        Page title and a line describing the product.
    report_url : str, optional
        Where the report of the demo run is (a link under the controls, opening
        in a new browser tab so the explorer stays as it is; none without it).
        :func:`smkit.app.serve` serves ``reports/demo`` and links its
        ``index.html`` (else ``README.md``).
    template : bool, default False
        Return a :class:`panel.template.BootstrapTemplate` (for a server)
        instead of a wrapping row (a :class:`panel.FlexBox`) that also
        displays inline in JupyterLab.

    Returns
    -------
    panel.FlexBox or panel.template.BootstrapTemplate
        The layout; its :class:`Explorer` (state and data access) is the
        ``explorer`` attribute of the returned object.

    Raises
    ------
    ValueError
        If the product's ``sm`` is not ``(model, time, lat, lon)`` or an
        optional field is not ``(time, lat, lon)``.

    Examples
    --------
    >>> from smkit.synth import make_scenario
    >>> from smkit.validate import interpolation_baselines
    >>> sc = make_scenario("tiny")
    >>> layout = explorer(interpolation_baselines(sc.coarse, sc.truth).isel(time=slice(0, 5)),
    ...                   coarse=sc.coarse, truth=sc.truth)
    >>> layout.explorer.param["product"].objects
    ['CCI', 'NEAREST', 'BILINEAR', 'Truth']
    """
    ex = Explorer(product, coarse=coarse, stations=stations, truth=truth, references=references, zones=zones,
                  outline=outline, title=title, description=description, report_url=report_url)
    layout = ex.template() if template else ex.__panel__()
    layout.explorer = ex
    return layout
