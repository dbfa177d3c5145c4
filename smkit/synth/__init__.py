"""The synthetic Three-North world: a known 1-km truth and everything observed of it.

No archive is reachable from a newcomer's laptop, and a downscaling method can
only be scored at 1 km where the 1-km truth is known. So smkit ships an
observing-system experiment shaped like the paper's region, calibrated so that
it is as hard as the real data (:mod:`smkit.analysis.realism` measures it against the
published error statistics):

* **terrain** -- a large-scale elevation surface interpolated through
  real-looking anchor heights of the Three-North region (Tarim, Qilian,
  Loess Plateau, the North-East plain, the paper's stations ...) plus
  fractal relief that is rougher in the mountains;
* **weather** -- daily precipitation on a 0.1 degree grid (GPM-like) from a
  climatology that dries from east to west, wets with altitude and has
  regional structure elevation does not explain, a summer monsoon peak,
  rain/no-rain patterns drawn as smooth random fields down to convective
  scales, and a few persistent drought patches (deficits of up to 75 %); air
  temperature from latitude, season, a 6.5 K/km lapse rate and day-to-day
  anomalies;
* **truth** -- a daily water balance. Each 0.05 degree cell gets its own,
  patchy share of its 0.1 degree cell's rain (what a 0.1 degree product
  cannot see) plus flood irrigation in oases; two surface stores, of slowly
  (loam) and fast (sand) draining soil, lose water at a rate set by
  temperature, ``S_t = sum_j W_{t-j} exp(-sum_{i<j} k_{t-i})`` over the last
  60 days, and each 1-km pixel mixes them by its sand share, so the sub-grid
  pattern changes with rain and drydown, not only with terrain; a slower
  root-zone store ``R`` (120 days) feeds vegetation. The pixel's soil
  moisture maps storage through a saturating curve whose parameters come from
  soil texture, vegetation and a topographic wetness index,
  ``theta = theta_r + (theta_s - theta_r) (1 - exp(-alpha (S + S_base) / S0))``;
  whether valleys or ridges are wetter inside a cell is the world parameter
  ``valley_wetness``;
* **covariates tied to the truth, as loosely as the real ones** -- LST rises
  above air temperature as the surface dries and falls with vegetation, with
  sun-facing slopes, land-cover heating, a day-to-day swath-scale error,
  noise and cloud gaps; NDVI as 16-day MODIS-period composites that follow
  root-zone water with a lag; albedo at 0.05 degrees brightening over dry
  bare soil of varying colour; precipitation at 0.1 degrees; elevation at 1 km;
* **the coarse retrieval** -- the 0.25 degree cell mean of the truth plus
  errors that persist in time (AR(1), ten days) and spread over neighbouring
  cells (the sensor footprint), grow with vegetation, rescaled towards a land
  model's climatology (range compressed, the model's biases passed on), with
  static and seasonal biases and gaps (frozen soil, dense vegetation, random
  losses) flagged like ESA CCI (1, 2, 4); see :class:`RetrievalErrors`;
* **stations** at the paper's coordinates (tables 2 and 3) with their
  cadences (QXZ daily, CERN five-day, NZW ten-day in percent relative
  humidity, published with soil properties that differ from the ones that
  produced it) and the representativeness and sensor errors of single probes:
  depth, gain, offset, noise, drift and outages (:class:`StationErrors`);
* **models** -- ERA5-like (0.1 degree, wet bias in drylands), Noah-like
  (0.05 degree, Loess-Plateau-like region only, dry bias) and a PDSI-like
  monthly index on a ~4 km grid from root-zone storage anomalies.

Every value is a pure function of the seed, the world's parameters, the
location and the day (see :mod:`smkit.synth.noise`), so any chunk can be built
alone -- the ``three-north`` preset is built lazily with dask -- and the same
seed gives bit-identical data.

Modules: :mod:`~smkit.synth.presets` (presets, error models, geography),
:mod:`~smkit.synth.constants`, :mod:`~smkit.synth.noise` (location-keyed random
numbers), :mod:`~smkit.synth.physics` (shared equations), :mod:`~smkit.synth.world`
(the truth model), :mod:`~smkit.synth.retrieval`, :mod:`~smkit.synth.stations` and
:mod:`~smkit.synth.build` (:func:`make_scenario`). The data model,
:class:`Scenario` and :func:`open_scenario`, lives in :mod:`smkit.core.scenario`.
"""

from smkit.core.scenario import GROUPS, Scenario, open_scenario  # noqa: F401
from smkit.synth.build import make_scenario
from smkit.synth.constants import ALBEDO_RES, CELL, FREEZE, LAPSE, PDSI_RES, WORLD_VERSION  # noqa: F401
from smkit.synth.presets import PRESETS, STATION_TABLE, Preset, RetrievalErrors, StationErrors  # noqa: F401
from smkit.synth.world import (  # noqa: F401
    HALO,
    IRRIGATION,
    L_ROOT,
    L_SURFACE,
    PATCHINESS,
    S0,
    SUB,
    SURFACE_LOSS,
    World,
)

__all__ = [
    "PRESETS",
    "Preset",
    "RetrievalErrors",
    "Scenario",
    "StationErrors",
    "World",
    "make_scenario",
    "open_scenario",
]
