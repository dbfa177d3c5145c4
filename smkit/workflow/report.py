"""The report writer: what a notebook shows, collected into a run folder.

:class:`Report` gathers a notebook's figures (300-dpi PNG and PDF), tables (CSV and
Markdown), headline numbers (JSON) and a Markdown section into the run
folder that :func:`smkit.workflow.reproduce.write_index` stitches together;
:func:`markdown_table` lays a table out for a reader. The figures themselves
are built in :mod:`smkit.plot`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from smkit._compat import moved_names

__all__ = ["Report", "markdown_table"]

#: Names that moved out of this module (the old name works, with a warning, until 0.3).
__getattr__ = moved_names("smkit.workflow.report", {
    **dict.fromkeys(("figure_domain", "figure_month_maps", "figure_histograms", "figure_monthly_boxes",
                     "figure_wetness_boxes", "figure_windows"), "smkit.plot.report"),
    "stations_table": "smkit.workflow.scenario",
})


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
    output_dir : str, Path or None
        The run folder (None: ``reports/notebooks`` at the project root, wherever Jupyter runs).
    name : str
        The notebook's name (prefixes its files).
    title : str, optional
        Heading of the notebook's section in the run's README.
    """

    #: Resolution of the raster figures, dots per inch (a journal's minimum for line art and maps).
    DPI = 300
    #: Figure files written per figure: the PNG the report shows, and a vector PDF for a manuscript.
    FORMATS = ("png", "pdf")

    def __init__(self, output_dir: str | Path | None, name: str, title: str | None = None):
        if output_dir is None:  # reports/notebooks at the project root, wherever Jupyter runs
            from smkit.workflow.cache import PROJECT_ROOT

            output_dir = (PROJECT_ROOT or Path.cwd()) / "reports" / "notebooks"
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

    def figure(self, fig, name: str, caption: str = "", dpi: int | None = None, formats=None):
        """Save a matplotlib figure (or an ArviZ PlotCollection) for a paper: 300-dpi PNG and vector PDF.

        Written as ``figures/NOTEBOOK_NAME.png`` and ``.pdf`` (``formats``,
        default :attr:`FORMATS`), at ``dpi`` (default :attr:`DPI`, 300) for the
        raster formats. Returns nothing: the notebook's inline backend shows
        the figure once already (returning it showed every figure twice).
        """
        if not hasattr(fig, "savefig"):
            raise TypeError(f"cannot save a {type(fig).__name__} as a figure")
        dpi = self.DPI if dpi is None else int(dpi)
        formats = tuple(self.FORMATS if formats is None else formats)
        unknown = [f for f in formats if f not in ("png", "pdf", "svg")]
        if unknown or not formats:
            raise ValueError(f"figure formats must be among png, pdf, svg; got {list(formats)}")
        paths = [self.out / "figures" / f"{self.name}_{name}.{fmt}" for fmt in formats]
        if any(f in ("pdf", "svg") for f in formats):
            _rasterize_dense(fig)
        for path in paths:
            try:
                fig.savefig(path, dpi=dpi, bbox_inches="tight")
            except TypeError:  # PlotCollection.savefig takes fewer options
                fig.savefig(path)
        shown = paths[0]
        others = " · ".join(f"[{p.suffix[1:].upper()}](figures/{p.name})" for p in paths[1:])
        self._add(f"![{caption or name}](figures/{shown.name})" + (f"\n\n*{caption}*" if caption else "")
                  + (f" ({others})" if others else ""))

    def table(self, df: pd.DataFrame, name: str, caption: str = "", floatfmt: str = ".3f"):
        """Write a table as ``tables/NOTEBOOK_NAME.csv`` and ``.md`` and add it to the section."""
        folder, stem = self.out / "tables", f"{self.name}_{name}"
        folder.mkdir(parents=True, exist_ok=True)
        df.to_csv(folder / f"{stem}.csv")
        md = markdown_table(df, floatfmt=floatfmt)
        (folder / f"{stem}.md").write_text(md + "\n")
        self._add((f"**{caption}**\n\n" if caption else "") + md)
        return df

    def metrics(self, **values) -> dict:
        """Record headline numbers (merged into the run's ``metrics.json``)."""
        current = json.loads(self._metrics.read_text())
        current.update(_plain(values))
        self._metrics.write_text(json.dumps(current, indent=2) + "\n")
        return values


#: Elements above which a collection is drawn as an image inside a vector figure (maps, dense scatters).
DENSE_ELEMENTS = 2000


def _rasterize_dense(fig) -> None:
    """Rasterize a figure's maps and dense point clouds in vector output (at the figure's dpi).

    A 1-km map drawn as vectors is one path per pixel: the demo's map panel made an 82 MB PDF.
    Axes, text, lines and sparse markers stay vectors.
    """
    from matplotlib.collections import Collection, QuadMesh
    from matplotlib.image import AxesImage

    for ax in getattr(fig, "axes", []):
        for artist in [*ax.collections, *ax.images]:
            dense = isinstance(artist, (QuadMesh, AxesImage)) or (
                isinstance(artist, Collection) and len(artist.get_offsets()) > DENSE_ELEMENTS)
            if dense:
                artist.set_rasterized(True)


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

