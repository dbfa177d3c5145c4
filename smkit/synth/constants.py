"""Constants shared by the synthetic world's modules: version, grids, physical constants, stream ids.

The parameters of the water balance alone live with it in :mod:`smkit.synth.world`.
The stream identifiers (:class:`Stream`) name the independent random quantities of
the world (see :mod:`smkit.synth.noise`): each number serves one quantity only, and
changing one changes the world (bump :data:`WORLD_VERSION`).
"""

__all__ = ["WORLD_VERSION", "CELL", "ALBEDO_RES", "PDSI_RES", "LAPSE", "FREEZE", "Stream"]

#: Version of the world's equations: bumped whenever a change alters generated values, so that
#: scenarios and products cached from an older world are never reused.
WORLD_VERSION = 2

CELL = 0.1  # forcing grid (precipitation, air temperature), degrees
ALBEDO_RES = 0.05  # MCD43C3 climate-modelling grid, degrees
PDSI_RES = 1.0 / 24.0  # TerraClimate grid, degrees
LAPSE = 0.0065  # K m-1
FREEZE = 273.15  # K


class Stream:
    """Stream identifiers of the random quantities: one number each, never reused for two things.

    Plain integers, passed after the seed as the first key of :func:`smkit.synth.noise.rng`,
    :func:`~smkit.synth.noise.hash_normal`, :func:`~smkit.synth.noise.hash_uniform`
    and :func:`~smkit.synth.noise.daily_waves`.
    """

    DEM_MID, DEM_SMALL, SOIL, VEG, BIAS, DROUGHT = 1, 2, 3, 4, 5, 6
    RAIN, RAINAMT, TEMP, CLOUD = 10, 11, 12, 13
    TRUTH, LST, NDVI, ALB = 20, 21, 22, 23
    CNOISE, CGAP, CUNC = 30, 31, 32
    STOFF, STNOISE, STGAP, NZW = 40, 41, 42, 43
    NOAH, ERA5 = 50, 51
    WET, TEXTURE, ILLUM, COLOUR, GAIN, OVERPASS = 60, 61, 62, 63, 64, 65
    CWHITE, STGAIN, STDEPTH, STDRIFT, STOUT = 66, 67, 68, 69, 70
    PATCH, IRR, IRRDAY, BIASLOC, MSOIL, MPRECIP = 71, 72, 73, 74, 75, 76
    PCLIM, HEAT = 77, 78
