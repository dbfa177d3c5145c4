"""Readers of the real archives, and ingestion into the analysis-ready cube.

Each reader takes the files of one product as the archive distributes them and
returns smkit's data model (see ``DESIGN.md``): CF attributes and ``units`` on
every variable, ascending latitude, longitude in -180..180, daily
``datetime64[ns]`` time, NaN where there is no valid value. Scale factors,
fill values and quality flags are applied by the reader, which knows the
product; the core never guesses.

Readers (product -> variables of the data model), one module per product:

* :func:`read_esacci` (:mod:`~smkit.readers.esacci`) -- ESA CCI SM COMBINED, daily
  0.25 degree -> coarse ``sm``, ``sm_uncertainty`` (m3 m-3), ``flag``;
* :func:`read_mod11a1` (:mod:`~smkit.readers.modis`) -- MOD11A1/MYD11A1 -> fine ``lst`` (K);
* :func:`read_mod13a2` -- MOD13A2/MYD13A2 16-day composites -> fine ``ndvi`` (1);
* :func:`read_mcd43c3` -- MCD43C3, 0.05 degree -> fine ``albedo`` (1);
* :func:`read_imerg` (:mod:`~smkit.readers.imerg`) -- GPM IMERG -> fine ``precip`` (mm day-1);
* :func:`read_srtm` (:mod:`~smkit.readers.srtm`) -- SRTM tiles -> static fine ``dem`` (m);
* :func:`read_era5_land` (:mod:`~smkit.readers.models`) -- ERA5-Land ``swvl1`` -> ``sm``
  (m3 m-3), native grid;
* :func:`read_noah` -- GLDAS/Noah ``SoilMoi0_10cm_inst`` -> ``sm`` (m3 m-3), native grid;
* :func:`read_terraclimate_pdsi` -- TerraClimate -> monthly ``pdsi`` (1), native grid;
* :func:`read_ismn` (:mod:`~smkit.readers.ismn`) -- ISMN header+values files -> stations
  ``sm`` (m3 m-3);
* :func:`read_nzw`, :func:`read_cern`, :func:`read_qxz` (:func:`read_station_csv`,
  :mod:`~smkit.readers.station_csv`) -- smkit's CSV templates of the paper's Chinese
  networks -> stations ``rsm`` (percent) or ``sm`` (m3 m-3); :func:`merge_stations`
  (:mod:`~smkit.readers.stations`) puts several together.

The file formats are :mod:`~smkit.readers.netcdf` (NetCDF/HDF5) and
:mod:`~smkit.readers.raster` (GeoTIFF, and HDF4 through :mod:`~smkit.readers.hdf4`), on
what :mod:`~smkit.readers.common` shares (:class:`ReadError`, finding files, the I/O lock,
and :func:`~smkit.readers.common.check_download`, which every reader runs first on each file: a
login page, an archive not unpacked or an empty download is named as such, with the fix).

Gridded readers are lazy: every file is opened once when the reader is called
(its variables, coordinates, CRS and time are checked then), and its data are
read by a dask task when computed (the reads themselves are serialised: the
netCDF4 library is not thread-safe, nor are the warning filters rasterio sets).
Every problem with a file -- corrupt or truncated, a missing variable, a wrong
CRS or grid -- raises a :class:`ReadError` that names the file.

:func:`ingest` (:mod:`~smkit.readers.ingestion`; command line: ``smkit ingest``)
reads a whole ``sources.yaml`` (:func:`load_config`, :mod:`~smkit.readers.config`)
with the readers registered in :mod:`~smkit.readers.registry` (``SOURCES``,
``STATION_FORMATS``) into a Zarr store shaped like
:meth:`smkit.synth.Scenario.to_zarr`, so that :func:`smkit.synth.open_scenario`
opens it in place of a synthetic scenario (its ``truth`` group is empty: real data
have no 1-km truth). See ``docs/data-sources.md`` for the archives and the
configuration format.
"""

from smkit.readers.common import ReadError
from smkit.readers.config import ConfigError, load_config
from smkit.readers.esacci import read_esacci
from smkit.readers.imerg import read_imerg
from smkit.readers.ingestion import ingest
from smkit.readers.ismn import GOOD_FLAGS, read_ismn
from smkit.readers.models import read_era5_land, read_noah, read_terraclimate_pdsi
from smkit.readers.modis import read_mcd43c3, read_mod11a1, read_mod13a2
from smkit.readers.registry import (  # noqa: F401 - the registry, importable from here as before
    GROUPS,
    READER_VERSIONS,
    REQUIRED_SOURCES,
    SOURCES,
    STATION_FORMATS,
)
from smkit.readers.srtm import read_srtm
from smkit.readers.station_csv import (
    NZW_COLUMNS,
    VOLUMETRIC_COLUMNS,
    read_cern,
    read_nzw,
    read_qxz,
    read_station_csv,
)
from smkit.readers.stations import merge_stations

__all__ = [
    "GOOD_FLAGS",
    "ConfigError",
    "NZW_COLUMNS",
    "READER_VERSIONS",
    "ReadError",
    "VOLUMETRIC_COLUMNS",
    "ingest",
    "load_config",
    "merge_stations",
    "read_cern",
    "read_era5_land",
    "read_esacci",
    "read_imerg",
    "read_ismn",
    "read_mcd43c3",
    "read_mod11a1",
    "read_mod13a2",
    "read_noah",
    "read_nzw",
    "read_qxz",
    "read_srtm",
    "read_station_csv",
    "read_terraclimate_pdsi",
]
