"""The world's parameters and geography: presets, error models, the station table, anchors.

:class:`Preset` fixes a scenario's domain, resolution and period (:data:`PRESETS`);
:class:`RetrievalErrors` and :class:`StationErrors` are the error models of the coarse
retrieval and the in-situ stations; :data:`STATION_TABLE` holds the paper's stations,
:data:`DEM_ANCHORS` the heights the large-scale terrain passes through,
:data:`FIXED_DROUGHTS` the persistent drought patches placed by hand and
:data:`NOAH_POLYGON` the coverage of the Noah-like model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from smkit.core.grid import Grid

__all__ = ["PRESETS", "Preset", "RetrievalErrors", "STATION_TABLE", "StationErrors"]


@dataclass(frozen=True)
class RetrievalErrors:
    """Error model of the coarse retrieval (ESA CCI SM COMBINED-like), in m3 m-3.

    ``retrieval = model + gain * (truth + error - model) + bias``, clipped to
    0.01-0.55, then gaps; ``truth`` is the cell mean of the 1-km truth and
    ``model`` the long-term mean of a land model in the cell
    (:meth:`smkit.synth.world.World.model_mean`): a linear stand-in for COMBINED's CDF matching,
    which keeps the retrieval's timing and gives it the model's mean and a
    narrower range.

    Parameters
    ----------
    gain : float, default 0.6
        Mean ratio of retrieval to truth anomalies about the climatology.
        COMBINED is rescaled (CDF-matched) to the GLDAS-Noah climatology, whose
        dynamic range is narrower than the stations' (Gruber et al. 2019,
        Earth Syst. Sci. Data 11, 717-739; Dorigo et al. 2015, Remote Sens.
        Environ. 162, 380-395: the product is under-dispersed against in-situ).
    gain_veg : float, default 0.2
        Gain lost per unit vegetation fraction (microwave sensitivity falls
        under vegetation).
    gain_sd : float, default 0.06
        Spread of the gain over the domain (smooth over 100-1500 km).
    bias_sd : float, default 0.03
        Static additive bias, smooth over 100-1500 km: Dorigo et al. (2015)
        report biases of several hundredths against stations; the paper's
        RMSEs of 0.07-0.17 m3 m-3 are mostly bias.
    bias_terrain : float, default 0.045
        Static bias varying from cell to cell (25-150 km) in rugged terrain,
        where retrievals are poorest (Dorigo et al. 2015; Gruber et al. 2019).
    bias_season : float, default 0.03
        Dry bias per unit vegetation fraction at the peak of the growing
        season (imperfect vegetation correction; Dorigo et al. 2015 find the
        largest errors under vegetation and in summer).
    error_sd : float, default 0.058
        Serially and spatially correlated random error over bare soil, before
        the rescaling (which multiplies it by the gain) ...
    error_sd_veg : float, default 0.025
        ... plus this per unit vegetation fraction: triple-collocation errors
        of 0.02-0.06 m3 m-3 that grow with vegetation density (Gruber et al.
        2016, Int. J. Appl. Earth Obs. 45, 200-211; Dorigo et al. 2015, ~0.04).
    memory : float, default 10
        E-folding time of the correlated error, days (an AR(1) process).
        Retrieval errors persist for days to weeks through vegetation,
        soil-temperature and rescaling effects (Su et al. 2014, J. Geophys.
        Res. Atmos. 119, 6419-6439).
    footprint : float, default 0.5
        Weight of each edge neighbour (corners: its square) in the 3 x 3
        kernel that spreads the error of one cell into its neighbours: the
        ~40-50 km footprints of AMSR-E / ASCAT overlap adjacent 0.25-degree
        cells (Gruber et al. 2019); neighbour correlation 2a / (1 + 2a^2).
    white_sd : float, default 0.015
        Day-to-day noise, independent between cells and days (changing
        sensors and overpass times of the merged record).
    model_precip_error : float, default 0.35
        Log-s.d. of the precipitation errors of the land model whose
        climatology the retrieval is rescaled to (smooth over 50-800 km); the
        model also has its own soil map. The rescaling passes the model's
        biases into the product (Gruber et al. 2019).
    gap_rate : float, default 0.12
        Share of cell-days lost at random (besides frozen soil and dense
        vegetation, which are always lost).
    dense_vegetation : float, default 0.72
        Vegetation fraction above which a cell is never retrieved.
    """

    gain: float = 0.6
    gain_veg: float = 0.2
    gain_sd: float = 0.06
    bias_sd: float = 0.03
    bias_terrain: float = 0.045
    bias_season: float = 0.03
    error_sd: float = 0.058
    error_sd_veg: float = 0.025
    memory: float = 10.0
    footprint: float = 0.5
    white_sd: float = 0.015
    model_precip_error: float = 0.35
    gap_rate: float = 0.12
    dense_vegetation: float = 0.72

    @property
    def lags(self) -> int:
        """Days of the truncated AR(1) sum (weight of the last one below 2 %)."""
        return int(np.ceil(4.0 * self.memory))


@dataclass(frozen=True)
class StationErrors:
    """Representativeness and sensor errors of the in-situ stations, in m3 m-3.

    A station reports ``0.2 + gain * (probe - 0.2) + offset + drift + noise``,
    where ``probe`` mixes the 1-km truth of its pixel (0-5 cm, what the
    retrieval sees) with the slower root-zone signal: the probe sits at 5-10 cm
    and measures a few cm3 of soil, not a 1-km pixel (Crow et al. 2012,
    Rev. Geophys. 50, RG2002: single probes carry static offsets and
    noise of a few hundredths against the footprint mean).

    Parameters
    ----------
    depth_weight : (float, float), default (0.2, 0.6)
        Range of the root-zone share of a probe's signal.
    gain : (float, float), default (0.8, 1.2)
        Range of the station's sensitivity relative to its pixel (local
        texture, calibration).
    offset_sd : float, default 0.035
        Static offset (local texture, calibration).
    noise_sd : float, default 0.015
        Sensor noise.
    drift_share : float, default 0.25
        Share of stations whose sensor drifts...
    drift_rate : float, default 0.015
        ... by up to this much per year, from a random day on.
    outage_rate : float, default 0.05
        Chance that a station is down for a whole 30-day block.
    gap_rate : float, default 0.03
        Chance of a single missing day.
    property_error : float, default 0.1
        Relative error of NZW's published field capacity and bulk density
        against the soil that produced the relative moisture, so that
        converting back to m3 m-3 carries its real error.
    """

    depth_weight: tuple[float, float] = (0.2, 0.6)
    gain: tuple[float, float] = (0.8, 1.2)
    offset_sd: float = 0.035
    noise_sd: float = 0.015
    drift_share: float = 0.25
    drift_rate: float = 0.015
    outage_rate: float = 0.05
    gap_rate: float = 0.03
    property_error: float = 0.1


# --------------------------------------------------------------------------- presets
@dataclass(frozen=True)
class Preset:
    """Size and period of a synthetic scenario.

    Parameters
    ----------
    name : str
        Registry key.
    coarse : Grid
        The coarse (retrieval) grid, which fixes the domain.
    factor : int
        Fine pixels per coarse cell along each axis (25 for 0.25 -> 0.01 degrees).
    start, end : str
        First and last day, inclusive.
    time_chunk : int
        Days per generated block.
    space_chunk : int
        Fine pixels per generated block along each axis (a multiple of ``factor``).
    n_nzw : int
        Number of NZW-like agricultural stations to place.
    eager : bool
        Build in memory (True) or as lazy dask arrays (False).
    description : str, optional
        One line for people: what the preset covers.
    """

    name: str
    coarse: Grid
    factor: int
    start: str
    end: str
    time_chunk: int
    space_chunk: int
    n_nzw: int
    eager: bool
    description: str = ""

    @property
    def fine(self) -> Grid:
        """The fine grid."""
        return self.coarse.with_res(round(self.coarse.res / self.factor, 10))

    @property
    def time(self) -> pd.DatetimeIndex:
        """Daily time axis."""
        return pd.date_range(self.start, self.end, freq="D")


PRESETS: dict[str, Preset] = {
    "tiny": Preset(
        "tiny", Grid(99.5, 101.5, 37.5, 39.5, 0.25), 10, "2009-04-01", "2010-09-30",
        time_chunk=549, space_chunk=80, n_nzw=3, eager=True,
        description="2 x 2 degrees of the Heihe basin at 0.025 degrees, 18 months; for tests",
    ),
    "demo": Preset(
        "demo", Grid(99.0, 102.0, 37.0, 40.0, 0.25), 25, "2008-01-01", "2010-12-31",
        time_chunk=32, space_chunk=300, n_nzw=10, eager=False,
        description="3 x 3 degrees around the Heihe basin at 0.01 degrees, 2008-2010",
    ),
    "three-north": Preset(
        "three-north", Grid(73.5, 127.75, 33.5, 50.25, 0.25), 25, "2003-01-01", "2010-12-31",
        time_chunk=8, space_chunk=250, n_nzw=234, eager=False,
        description="the full Three-North bounding box at 0.01 degrees, 2003-2010, lazy",
    ),
}

# --------------------------------------------------------------------------- geography
# The paper's tables 2 (CERN, five-day) and 3 (QXZ, daily): real coordinates.
STATION_TABLE = [
    # name, network, land cover, elevation m, lon, lat
    ("Aksu", "CERN", "Farmland", 1028, 80.85, 40.67),
    ("Ansai", "CERN", "Farmland", 1083, 109.31, 36.85),
    ("Beijing Forest", "CERN", "Forest", 1248, 115.43, 39.97),
    ("Qira", "CERN", "Desert", 1306, 80.70, 37.01),
    ("Changwu", "CERN", "Farmland", 1200, 107.67, 35.25),
    ("Ordos", "CERN", "Desert", 1270, 110.18, 39.50),
    ("Fukang", "CERN", "Desert", 460, 88.00, 44.15),
    ("Haibei", "CERN", "Farmland", 3280, 101.33, 37.66),
    ("Hailun", "CERN", "Farmland", 236, 126.63, 47.43),
    ("Linze", "CERN", "Farmland", 1375, 100.12, 39.33),
    ("Naiman", "CERN", "Desert", 363, 120.70, 42.92),
    ("Shapotou", "CERN", "Farmland", 1350, 104.95, 37.45),
    ("Arou", "QXZ", "Grassland", 2295, 100.46, 38.04),
    ("Daxing", "QXZ", "Farmland", 20, 116.42, 39.62),
    ("Guantan", "QXZ", "Forest", 2835, 100.25, 38.53),
    ("Maliantan", "QXZ", "Grassland", 2817, 100.30, 38.55),
    ("Miyun", "QXZ", "Farmland", 350, 117.32, 40.63),
    ("Yingke", "QXZ", "Farmland", 1519, 100.42, 38.85),
]

# Large-scale elevation anchors (lon, lat, m): basins, ranges and plains of the
# region, plus the paper's stations; thin-plate interpolation between them.
DEM_ANCHORS = [
    (74.5, 38.5, 4500), (75.5, 40.0, 3200), (76.0, 39.5, 1300), (80.0, 39.0, 1200),
    (83.0, 39.5, 1100), (87.0, 40.0, 900), (89.2, 42.8, 0), (76.0, 34.5, 5000),
    (80.0, 35.6, 4900), (85.0, 34.5, 5000), (90.0, 36.4, 4600), (92.0, 34.5, 4700),
    (97.0, 34.5, 4300), (94.0, 37.0, 2900), (96.0, 38.3, 3600), (98.2, 38.9, 4000),
    (99.5, 38.3, 3900), (101.5, 37.9, 3500), (102.8, 37.0, 3000), (98.5, 39.8, 1500),
    (96.0, 40.5, 1200), (94.7, 40.1, 1140), (102.0, 40.0, 1300), (105.0, 39.0, 1400),
    (80.0, 42.0, 3800), (84.0, 43.0, 4000), (88.0, 43.2, 3500), (93.0, 43.3, 2500),
    (85.0, 45.5, 400), (88.0, 45.4, 500), (88.0, 48.0, 2600), (90.5, 47.5, 2400),
    (73.5, 44.0, 600), (73.5, 50.2, 400), (80.0, 47.0, 700), (95.0, 43.0, 1500),
    (100.0, 42.0, 1200), (100.0, 46.5, 1900), (105.0, 42.0, 1300), (105.0, 48.0, 1300),
    (110.0, 43.0, 1100), (115.0, 44.0, 1100), (110.0, 50.0, 1000), (120.0, 46.0, 900),
    (121.0, 48.5, 1100), (120.0, 44.0, 700), (125.0, 45.0, 180), (124.0, 43.0, 200),
    (122.0, 41.5, 100), (127.7, 49.5, 500), (127.7, 42.5, 600), (127.7, 33.5, 0),
    (122.0, 37.0, 50), (119.0, 34.5, 20), (116.0, 37.0, 30), (113.5, 38.0, 1500),
    (114.5, 35.0, 100), (112.5, 37.5, 1000), (110.0, 35.5, 900), (106.0, 37.0, 1600),
    (108.0, 33.9, 2000), (104.0, 34.0, 2300), (99.0, 33.6, 4300), (110.0, 40.5, 1100),
    (117.5, 41.8, 1100), (119.0, 40.0, 200),
] + [(lon, lat, elev) for _, _, _, elev, lon, lat in STATION_TABLE]

# Persistent precipitation deficits (lon, lat, radius deg, severity): one in the
# Heihe/Badain Jaran margin so that demo and tiny hold a drought-prone region.
FIXED_DROUGHTS = [(101.1, 39.25, 0.3, 0.75)]
N_RANDOM_DROUGHTS = 7
#: The Three-North domain, where the random drought patches are placed.
THREE_NORTH = PRESETS["three-north"].coarse

# Loess-Plateau-like coverage of the Noah-like model (lon, lat), extended west to
# the Qilian foothills so that the demo window holds part of it.
NOAH_POLYGON = [
    (100.6, 37.0), (101.8, 38.2), (103.5, 38.6), (107.0, 40.5), (111.0, 41.3),
    (114.0, 40.0), (114.5, 36.5), (112.5, 34.5), (109.0, 33.8), (104.5, 34.3), (101.5, 35.3),
]
