import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import xarray as xr  # noqa: E402

from smkit.plot import report  # noqa: E402


def _fields(days, empty):
    t = pd.DatetimeIndex(days)
    lat, lon = 38 + 0.25 * np.arange(3), 100 + 0.25 * np.arange(3)
    c = np.full((t.size, 3, 3), 0.2)
    p = np.full((2, t.size, 3 * 4, 3 * 4), 0.2)
    for k, d in enumerate(t):
        if str(d.date()) in empty:
            c[k] = np.nan
            p[:, k] = np.nan
    coarse = xr.Dataset({"sm": (("time", "lat", "lon"), c)}, coords={"time": t, "lat": lat, "lon": lon})
    product = xr.Dataset({"sm": (("model", "time", "lat", "lon"), p)},
                         coords={"model": ["rf", "bma"], "time": t,
                                 "lat": 37.9 + 0.0625 * np.arange(12), "lon": 99.9 + 0.0625 * np.arange(12)})
    return coarse, product


def test_month_maps_leave_out_and_name_empty_days():
    days = ["2010-05-15", "2010-06-15", "2010-07-15"]
    coarse, product = _fields(days, empty={"2010-05-15"})
    fig = report.figure_month_maps(coarse, product, 2010)
    rows = {ax.get_ylabel() for ax in fig.axes if ax.get_ylabel() and "soil" not in ax.get_ylabel()}
    assert rows == {"2010-06-15", "2010-07-15"}
    assert "no data on 2010-05-15" in fig._suptitle.get_text()
    coarse, product = _fields(days, empty=set(days))
    with pytest.raises(ValueError, match="no value on any of the days"):
        report.figure_month_maps(coarse, product, 2010)


def test_figures_are_saved_for_a_paper_300_dpi_png_and_pdf(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    from smkit.workflow.report import Report

    report = Report(tmp_path, "nb")
    fig, ax = plt.subplots(figsize=(2, 1))
    ax.plot([0, 1], [0, 1])
    report.figure(fig, "line", caption="A line")
    png, pdf = tmp_path / "figures" / "nb_line.png", tmp_path / "figures" / "nb_line.pdf"
    assert pdf.read_bytes().startswith(b"%PDF")
    dpi = Image.open(png).info["dpi"]
    assert round(dpi[0]) == 300
    section = (tmp_path / "sections" / "nb.md").read_text()
    assert "![A line](figures/nb_line.png)" in section and "[PDF](figures/nb_line.pdf)" in section
    report.figure(fig, "svg", formats=("svg",), dpi=72)
    assert (tmp_path / "figures" / "nb_svg.svg").exists()
    with pytest.raises(ValueError, match="among png, pdf, svg"):
        report.figure(fig, "bad", formats=("jpeg",))
    plt.close(fig)


def test_maps_in_a_pdf_figure_are_rasterized_so_the_file_stays_small(tmp_path):
    import matplotlib.pyplot as plt

    from smkit.workflow.report import Report

    fig, ax = plt.subplots()
    ax.pcolormesh(np.random.default_rng(0).random((300, 300)))
    Report(tmp_path, "nb").figure(fig, "map", formats=("pdf",))
    assert (tmp_path / "figures" / "nb_map.pdf").stat().st_size < 1_000_000
    plt.close(fig)
