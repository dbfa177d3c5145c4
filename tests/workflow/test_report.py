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
