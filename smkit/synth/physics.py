"""The world's shared equations: calendar, windowed water stores, temperature and loss rates.

Pure functions of their arguments, used by the truth model (:mod:`smkit.synth.world`)
and the stations (:mod:`smkit.synth.stations`) alike.

Examples
--------
>>> import numpy as np
>>> days = day_numbers(["2009-01-01", "2009-01-17", "2009-02-01"])
>>> days.tolist(), day_of_year(days).tolist(), (days - ndvi_period_start(days)).tolist()
([14245, 14261, 14276], [1, 17, 32], [0, 0, 15])
>>> windowed_store(np.ones((4, 1)), np.full((4, 1), 0.5), 2, 3).ravel().tolist()
[1.75, 1.75]
"""

from __future__ import annotations

import numba
import numpy as np
import pandas as pd

__all__ = ["day_numbers", "day_of_year", "loss_rate", "ndvi_period_start", "root_decay",
           "temperature_climatology", "windowed_store"]


def day_numbers(times) -> np.ndarray:
    """Day numbers since 1970-01-01.

    Parameters
    ----------
    times : array-like of datetime-like
        Days (anything ``numpy.datetime64`` accepts).

    Returns
    -------
    ndarray of int64
        Days since 1970-01-01.
    """
    t = np.asarray(times, dtype="datetime64[D]")
    return (t - np.datetime64("1970-01-01", "D")).astype(np.int64)


def day_of_year(days: np.ndarray) -> np.ndarray:
    """Day of the year (1-366) of day numbers (days since 1970-01-01)."""
    return pd.DatetimeIndex(np.asarray(days, "datetime64[D]")).day_of_year.to_numpy()


def ndvi_period_start(days: np.ndarray) -> np.ndarray:
    """First day of the MODIS 16-day period (DOY 1, 17, 33, ...) holding each day (day numbers)."""
    doy = day_of_year(days)
    return days - (doy - 1) % 16


def windowed_store(p: np.ndarray, decay: np.ndarray, first: int, length: int) -> np.ndarray:
    """Storage ``S_t = sum_{j<L} p_{t-j} prod_{i<j} decay_{t-i}`` for rows ``first:``.

    The sum runs in a fixed order for every day, so a day's value does not
    depend on which block it is computed in.

    Parameters
    ----------
    p : ndarray, shape (D, ...)
        Daily water input, mm day-1 (days along the first axis).
    decay : ndarray, broadcastable to ``p``
        Share of the storage kept from one day to the next (0-1).
    first : int
        First day (row of ``p``) to return; at least ``length - 1``.
    length : int
        Days of the window ``L``.

    Returns
    -------
    ndarray, shape (D - first, ...)
        Storage, mm.
    """
    if first < length - 1:
        raise ValueError("not enough days before the block for the storage window")
    p2 = np.ascontiguousarray(p.reshape(p.shape[0], -1), dtype=np.float64)
    d2 = np.ascontiguousarray(np.broadcast_to(decay, p.shape).reshape(p2.shape), dtype=np.float64)
    return _store_kernel(p2, d2, first, length).reshape((p.shape[0] - first,) + p.shape[1:])


@numba.njit(cache=True, nogil=True)
def _store_kernel(p, decay, first, length):  # pragma: no cover - compiled
    n, m = p.shape
    out = np.zeros((n - first, m))
    w = np.empty(m)
    for t in range(first, n):
        row = out[t - first]
        w[:] = 1.0
        for j in range(length):
            pj, dj = p[t - j], decay[t - j]
            for k in range(m):
                row[k] += w[k] * pj[k]
                w[k] *= dj[k]
    return out


def temperature_climatology(lat: np.ndarray, doy: np.ndarray) -> np.ndarray:
    """Sea-level climatological air temperature, K: latitude and a continental seasonal cycle.

    Parameters
    ----------
    lat : ndarray
        Latitude, degrees north.
    doy : ndarray
        Day of the year (broadcast against ``lat``).
    """
    amp = 14.0 + 0.4 * (lat - 40.0)
    return 288.5 - 0.75 * (lat - 40.0) - amp * np.cos(2 * np.pi * (doy - 15) / 365.25)


def loss_rate(t_air: np.ndarray) -> np.ndarray:
    """Daily loss rate of the stores from air temperature ``t_air`` (K), day-1.

    Evaporative demand grows with temperature: surface drydowns of 2-10 days
    in the warm season (McColl et al. 2017), weeks when cold.
    """
    return 0.025 + 0.2 * np.clip((t_air - 270.0) / 28.0, 0.0, 1.0)


def root_decay(k: np.ndarray) -> np.ndarray:
    """Share of root-zone storage kept from one day to the next at loss rate ``k`` (day-1)."""
    return np.exp(-(0.25 * k + 0.004))
