"""The synthetic in-situ stations: where they stand, what their probes read, when they report.

The paper's stations (:data:`smkit.synth.presets.STATION_TABLE`) inside a preset's domain
plus NZW-like agricultural sites placed on lowland farmland; each reads its pixel's
truth through a probe with the errors of :class:`smkit.synth.presets.StationErrors`
and reports at its network's cadence: QXZ daily, CERN five-day means, NZW ten-day
samples of relative moisture (percent of field capacity) with published soil
properties that differ from the ones that produced them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

from smkit.core.grid import TIME_ATTRS
from smkit.core.vocabulary import NETWORK_CADENCE
from smkit.synth.constants import FREEZE, LAPSE, Stream
from smkit.synth.noise import hash_normal, hash_uniform, rng
from smkit.synth.physics import day_numbers
from smkit.synth.presets import STATION_TABLE, Preset

if TYPE_CHECKING:
    from smkit.synth.world import World

__all__ = ["station_dataset"]


def station_dataset(world: World, preset: Preset) -> xr.Dataset:
    """In-situ stations of the preset's domain with their cadences and errors.

    Parameters
    ----------
    world : World
        The truth model (its seed and :class:`~smkit.synth.presets.StationErrors`).
    preset : Preset
        Domain, fine grid and period.

    Returns
    -------
    xarray.Dataset
        ``sm`` (m3 m-3; QXZ daily, CERN on pentad starts) and ``rsm`` (percent
        of field capacity; NZW on dekad starts) on (station, time), with the
        stations' name, network, cadence, lat, lon (degrees), elevation (m),
        land cover and, for NZW, published ``field_capacity`` (g g-1) and
        ``bulk_density`` (g cm-3).
    """
    fine = preset.fine
    rows = [r for r in STATION_TABLE if preset.coarse.contains(r[5], r[4])]
    rows += _nzw_sites(world, preset)
    names = [r[0] for r in rows]
    network = np.array([r[1] for r in rows])
    slat = np.array([r[5] for r in rows], float)
    slon = np.array([r[4] for r in rows], float)
    i, j = np.searchsorted(fine.lat + fine.res / 2, slat), np.searchsorted(fine.lon + fine.res / 2, slon)
    plat, plon = fine.lat[i], fine.lon[j]
    days = day_numbers(preset.time)
    ps = world.point_state(plat, plon, days, clim=False)
    st = ps["static"]
    gi, gj = fine.global_index(plat, plon)
    theta = world.truth(st, ps["surface"], days, gi, gj)  # the station pixel's truth
    t_air = ps["t_sl"] - LAPSE * st["dem"]
    uid = np.array([sum(ord(c) * 131**k for k, c in enumerate(n)) % 2**31 for n in names])
    obs = _readings(world, st, theta, ps["root"][16:], days, uid)
    dates = pd.DatetimeIndex(preset.time)
    reported = _report(world, network, obs, dates, st, t_air, uid)
    elev = np.array([r[3] if r[3] is not None else np.nan for r in rows], float)
    elev = np.where(np.isnan(elev), st["dem"], elev)
    coords = {
        "name": ("station", np.array(names, dtype=object)),
        "network": ("station", network.astype(object)),
        "cadence": ("station", np.array([NETWORK_CADENCE[n] for n in network], dtype=object)),
        "lat": ("station", slat, {"units": "degrees_north", "standard_name": "latitude"}),
        "lon": ("station", slon, {"units": "degrees_east", "standard_name": "longitude"}),
        "elevation": ("station", elev, {"units": "m"}),
        "land_cover": ("station", np.array([r[2] for r in rows], dtype=object)),
    }
    return _dataset(dates, coords, *reported)


def _readings(world: World, st: dict, theta: np.ndarray, root: np.ndarray, days: np.ndarray,
              uid: np.ndarray) -> np.ndarray:
    """Daily probe readings (m3 m-3) of the stations ``uid``, with their errors and gaps.

    ``theta`` is the truth of each station's pixel and ``root`` its root-zone
    storage (mm), both (days, stations).
    """
    e = world.station_errors
    # the probe: 5-10 cm, so part of its signal is the slower root zone
    deep = np.clip(world.theta(st, root / 4.0), 0.01, st["theta_s"])
    lo, hi = e.depth_weight
    depth = lo + (hi - lo) * hash_uniform(world.seed, Stream.STDEPTH, uid)
    probe = (1.0 - depth) * theta + depth * deep
    lo, hi = e.gain
    gain = lo + (hi - lo) * hash_uniform(world.seed, Stream.STGAIN, uid)
    offset = e.offset_sd * hash_normal(world.seed, Stream.STOFF, uid)
    # drift: some sensors drift linearly from a random day of 2003-2010 on
    drifts = hash_uniform(world.seed, Stream.STDRIFT, uid, 1) < e.drift_share
    rate = e.drift_rate * (2.0 * hash_uniform(world.seed, Stream.STDRIFT, uid, 2) - 1.0) / 365.25
    start = day_numbers(["2003-01-01"])[0] + (
        8 * 365 * hash_uniform(world.seed, Stream.STDRIFT, uid, 3)).astype(int)
    drift = np.where(drifts, rate * np.maximum(days[:, None] - start, 0), 0.0)
    noise = e.noise_sd * hash_normal(world.seed, Stream.STNOISE, days[:, None], uid)
    obs = np.clip(0.2 + gain * (probe - 0.2) + offset + drift + noise, 0.01, 0.6)
    gap = hash_uniform(world.seed, Stream.STGAP, days[:, None], uid) < e.gap_rate
    down = hash_uniform(world.seed, Stream.STOUT, days[:, None] // 30, uid) < e.outage_rate
    return np.where(gap | down, np.nan, obs)


def _report(world: World, network, obs, dates: pd.DatetimeIndex, st: dict, t_air, uid):
    """What each station publishes from its daily readings ``obs``, by network.

    Returns
    -------
    sm, rsm : ndarray, shape (days, stations)
        Volumetric (m3 m-3: QXZ, CERN) and relative (percent: NZW) moisture.
    fc, bd : ndarray, shape (stations,)
        Published field capacity (g g-1) and bulk density (g cm-3) of NZW stations.
    """
    e = world.station_errors
    sm = np.full(obs.shape, np.nan)
    rsm = np.full(obs.shape, np.nan)
    fc = np.full(obs.shape[1], np.nan)
    bd = np.full(obs.shape[1], np.nan)
    for s, net in enumerate(network):
        if net == "QXZ":
            sm[:, s] = obs[:, s]
        elif net == "CERN":  # pentads starting on days 1, 6, 11, 16, 21, 26
            pent = np.minimum((dates.day - 1) // 5, 5)
            key = dates.year * 1000 + dates.month * 10 + pent
            series = pd.Series(obs[:, s]).groupby(key).transform("mean").to_numpy()
            start = np.r_[True, key[1:] != key[:-1]]
            sm[start, s] = series[start]
        else:  # NZW: sampled on the 8th, 18th, 28th, stamped at the dekad start, not when frozen
            # the soil that produced the relative moisture, and the published
            # properties a user converts back with (they differ)
            bd_true = 1.25 + 0.25 * hash_uniform(world.seed, Stream.NZW, uid[s], 2)
            theta_fc = st["theta_r"][s] + 0.75 * (st["theta_s"][s] - st["theta_r"][s])
            fc_true = theta_fc / bd_true  # gravimetric field capacity of the station's soil
            fc[s] = fc_true * (1.0 + e.property_error * hash_normal(world.seed, Stream.NZW, uid[s], 3))
            bd[s] = bd_true * (1.0 + 0.5 * e.property_error * hash_normal(world.seed, Stream.NZW, uid[s], 4))
            for d in (8, 18, 28):
                take = np.flatnonzero(dates.day == d)
                ok = t_air[take, s] > FREEZE
                value = np.round(100.0 * obs[take, s] / (fc_true * bd_true), 1)
                rsm[take - 7, s] = np.where(ok, value, np.nan)
    return sm, rsm, fc, bd


def _dataset(dates: pd.DatetimeIndex, coords: dict, sm, rsm, fc, bd) -> xr.Dataset:
    """The stations dataset on (station, time) from what the stations report."""
    ds = xr.Dataset(
        {
            "sm": (("time", "station"), sm.astype(np.float32), {
                "long_name": "in-situ volumetric soil moisture (5-10 cm)", "units": "m3 m-3"}),
            "rsm": (("time", "station"), rsm.astype(np.float32), {
                "long_name": "relative soil moisture (10 cm), percent of field capacity",
                "units": "percent"}),
        },
        coords={
            "time": ("time", dates.values.astype("datetime64[ns]"), TIME_ATTRS),
            "station": ("station", np.arange(len(fc))),
            **coords,
            "field_capacity": ("station", fc, {
                "long_name": "field capacity (gravimetric)", "units": "g g-1"}),
            "bulk_density": ("station", bd, {"long_name": "soil bulk density", "units": "g cm-3"}),
        },
    )
    return ds.transpose("station", "time")


def _nzw_sites(world: World, preset: Preset):
    """NZW-like agricultural stations: lowland, vegetated, not desert."""
    g = rng(world.seed, Stream.NZW, int(preset.coarse.lon0 * 100), int(preset.coarse.lat0 * 100))
    c = preset.coarse
    lon = g.uniform(c.lon0 + 0.05, c.lon1 - 0.05, 200 * max(preset.n_nzw, 1))
    lat = g.uniform(c.lat0 + 0.05, c.lat1 - 0.05, lon.size)
    st = world.static(lat, lon)
    ok = (st["dem"] < 3000) & (st["fveg"] > 0.15) & (st["fveg"] < 0.75)
    idx = np.flatnonzero(ok)[: preset.n_nzw]
    if idx.size < preset.n_nzw:  # a very dry domain: take the greenest places
        idx = np.argsort(-st["fveg"])[: preset.n_nzw]
    return [
        (f"NZW-{52000 + k:05d}", "NZW", "Farmland", None, float(np.round(lon[i], 3)),
         float(np.round(lat[i], 3)))
        for k, i in enumerate(sorted(idx))
    ]
