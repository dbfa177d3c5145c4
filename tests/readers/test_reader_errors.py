"""Every reader's error names the file, what was found, and the fix (issue 18).

Each reader is fed what downloads really leave behind under the expected name:
an HTML page (an Earthdata/CDS login page), an archive not unpacked (ZIP, tar,
tar.gz), an empty file, a truncated file, a file of another product; and a
folder holding no matching file. Every case must raise an error whose message
names the file (or folder), says what it found and says what to do.

The good files are written by the fixture writers of ``test_readers.py`` /
``granules.py`` (imported, never changed here).
"""

import importlib
import io
import os
import shutil
import tarfile
import zipfile

import numpy as np
import pandas as pd
import pytest

rioxarray = pytest.importorskip("rioxarray")

from smkit import readers  # noqa: E402
from smkit.core.grid import Grid  # noqa: E402
from smkit.readers import ConfigError, ReadError  # noqa: E402
from smkit.readers.common import check_download, file_format, unpack_command  # noqa: E402

COARSE = Grid(100.0, 101.0, 38.0, 39.0, 0.25)
FINE = Grid(100.3, 100.5, 38.4, 38.6, 0.01)
DAY = pd.Timestamp("2009-07-01")

pytestmark = [
    pytest.mark.filterwarnings("ignore:Use `@` matmul:PendingDeprecationWarning"),
    pytest.mark.filterwarnings("ignore:The inplace keyword in DataFrame.set_index"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
]


def gen(name):
    """A fixture writer, wherever it lives now (granules.py, else test_readers.py)."""
    for module in ("granules", "test_readers"):
        try:
            mod = importlib.import_module(module)
        except ImportError:
            continue
        if hasattr(mod, name):
            return getattr(mod, name)
    raise LookupError(name)


# =========================================================================== good files
def _cci(d):
    return gen("write_cci")(d, DAY, 0, global_grid=False)


def _imerg(d):
    return gen("write_imerg_day")(d, DAY, 0)


def _lst_tif(d):
    return gen("write_modis_lst")(d, DAY, 0)[0]


def _lst_hdf(d):
    g = importlib.import_module("granules")
    w = g.Window.around((100.3, 100.5), (38.4, 38.6))
    return g.write_mod11a1(d, DAY, w, lambda x, y, la, lo: np.full(la.shape, 15000, np.uint16))


def _ndvi(d):
    return gen("write_modis_ndvi")(d, "2009-06-26", 0)


def _albedo(d):
    return gen("write_albedo")(d, DAY, 0)


def _srtm_tif(d):
    return gen("write_srtm")(d, 38, 100)


def _srtm_hgt(d):
    path = os.path.join(d, "N38E100.hgt")
    np.full((1201, 1201), 1500, ">i2").tofile(path)
    return path


def _era5(d):
    return gen("write_era5")(d, pd.DatetimeIndex([DAY]), np.round(np.arange(99.5, 101.55, 0.1), 1),
                             np.round(np.arange(39.5, 37.45, -0.1), 1))


def _era5_grib(d):
    pytest.importorskip("cfgrib")
    return gen("write_era5_grib")(d, pd.DatetimeIndex([DAY]), np.round(np.arange(99.5, 101.55, 0.1), 1),
                                  np.round(np.arange(39.5, 37.45, -0.1), 1))


def _gldas(d):
    return gen("write_gldas")(d, DAY, 20.0)


def _pdsi(d):
    return gen("write_terraclimate")(d, 2009)


def _ismn(d):
    rows = [(t, 0.25, "G") for t in pd.date_range(DAY, periods=48, freq="h")]
    return gen("write_ismn")(d, "HiWATER_EHWSN", "EC01", 38.55, 100.37, (0.04, 0.04), "sm", rows)


NZW_ROWS = [("52652", "Zhangye", 38.93, 100.43, 1483, "Farmland", "2009-07-01", 65.0, 0.22, 1.40),
            ("52652", "Zhangye", 38.93, 100.43, 1483, "Farmland", "2009-07-11", 70.0, 0.22, 1.40)]
VOL_ROWS = [("LZD", "Linze", 38.33, 100.12, 1375, "Farmland", "2009-07-01", 0.18),
            ("LZD", "Linze", 38.33, 100.12, 1375, "Farmland", "2009-07-06", 0.21)]


def _nzw(d):
    return gen("write_csv")(os.path.join(d, "nzw.csv"), readers.NZW_COLUMNS, NZW_ROWS)


def _vol(name):
    def write(d):
        return gen("write_csv")(os.path.join(d, f"{name}.csv"), readers.VOLUMETRIC_COLUMNS, VOL_ROWS)
    return write


# =========================================================================== another product
def _renamed(writer, name):
    """A writer of a file of another product, saved under ``name`` (relative to the folder)."""
    def write(d):
        tmp = os.path.join(d, "_other")
        os.makedirs(tmp)
        src = writer(tmp)
        dst = os.path.join(d, name)
        os.replace(src, dst)
        shutil.rmtree(tmp)
        return dst
    return write


def _sinusoidal_as_srtm(d):
    return _renamed(_lst_tif, "n38_e100_3arc_v2.tif")(d)


def _ndvi_granule_as_lst(d):
    g = importlib.import_module("granules")
    w = g.Window.around((100.3, 100.5), (38.4, 38.6))
    return _renamed(lambda t: g.write_mod13a2(t, DAY, w, lambda x, y, la, lo: np.full(la.shape, 0.5)),
                    os.path.basename(_lst_hdf_name()))(d)


def _lst_hdf_name():
    g = importlib.import_module("granules")
    w = g.Window.around((100.3, 100.5), (38.4, 38.6))
    return g.granule_name("MOD11A1", DAY, (w.h, w.v))


# reader key -> (read the files and compute, write a good file, write another product's file,
#                words the message of the other product must hold, words of the login fix)
CCI_NAME = "ESACCI-SOILMOISTURE-L3S-SSMV-COMBINED-20090701000000-fv08.1.nc"
READERS = {
    "esacci": (lambda p: readers.read_esacci(p, COARSE).load(), _cci,
               _renamed(_era5, CCI_NAME), ["variables found", "swvl1", "ERA5-Land"], ["download"]),
    "imerg": (lambda p: readers.read_imerg(p, FINE).load(), _imerg,
              _renamed(_gldas, "3B-DAY.MS.MRG.3IMERG.20090701-S000000-E235959.V07B.nc4"),
              ["variables found", "SoilMoi0_10cm_inst", "GLDAS Noah"], ["Earthdata"]),
    "mod11a1": (lambda p: readers.read_mod11a1(p, FINE, max_error=None).load(), _lst_tif, _ndvi,
                ["names MOD13A2", "read_mod13a2"], ["Earthdata"]),
    "mod11a1_hdf": (lambda p: readers.read_mod11a1(p, FINE, max_error=None).load(), _lst_hdf,
                    _ndvi_granule_as_lst, ["LST_Day_1km", "missing", "1 km 16 days NDVI"],
                    ["Earthdata", ".netrc"]),
    "mod13a2": (lambda p: readers.read_mod13a2(p, FINE).load(), _ndvi, _albedo,
                ["names MCD43C3", "read_mcd43c3"], ["Earthdata"]),
    "mcd43c3": (lambda p: readers.read_mcd43c3(p, FINE).load(), _albedo, _lst_tif,
                ["names MOD11A1", "read_mod11a1"], ["Earthdata"]),
    "srtm": (lambda p: readers.read_srtm(p, FINE).load(), _srtm_tif, _sinusoidal_as_srtm,
             ["wrong CRS", "sinu"], ["Earthdata"]),
    "srtm_hgt": (lambda p: readers.read_srtm(p, FINE).load(), _srtm_hgt,
                 _renamed(_srtm_tif, "N38E100.hgt"), ["bytes", "TIFF"], ["Earthdata"]),
    "era5": (lambda p: readers.read_era5_land(p, COARSE).load(), _era5,
             _renamed(_gldas, "era5land_swvl1.nc"), ["variables found", "GLDAS Noah", "read_noah"],
             ["Climate Data Store", "cdsapirc"]),
    "era5_grib": (lambda p: readers.read_era5_land(p, COARSE).load(), _era5_grib,
                  _renamed(_gldas, "era5land_swvl1.grib"), ["variables found", "GLDAS Noah"],
                  ["Climate Data Store", "cdsapirc"]),
    "noah": (lambda p: readers.read_noah(p, COARSE).load(), _gldas,
             _renamed(_era5, "GLDAS_NOAH025_3H.A20090701.0000.021.nc4"),
             ["variables found", "swvl1", "read_era5_land"], ["Earthdata"]),
    "pdsi": (lambda p: readers.read_terraclimate_pdsi(p, COARSE).load(), _pdsi,
             _renamed(_gldas, "TerraClimate_PDSI_2009.nc"), ["variables found", "SoilMoi0_10cm_inst"],
             ["download"]),
    "ismn": (lambda p: readers.read_ismn(p), _ismn,
             _renamed(_vol("qxz"), "HiWATER_EHWSN_HiWATER_EHWSN_EC01_sm_0.040000_0.040000_5TM_"
                      "20090701_20090706.stm"), ["header line", "station_id", "header+values"],
             ["ismn.earth"]),
    "nzw": (lambda p: readers.read_nzw(p), _nzw, _renamed(_vol("cern"), "nzw.csv"),
            ["rsm", "missing", "volumetric (format cern or qxz) template"], ["download"]),
    "cern": (lambda p: readers.read_cern(p), _vol("cern"), _renamed(_nzw, "cern.csv"),
             ["'sm'", "missing", "NZW (format nzw) template"], ["download"]),
    "qxz": (lambda p: readers.read_qxz(p), _vol("qxz"), _renamed(_nzw, "qxz.csv"),
            ["'sm'", "missing", "NZW (format nzw) template"], ["download"]),
}
KINDS = ("html", "zip", "tar", "tar.gz", "empty", "truncated", "wrong product")

LOGIN_PAGE = (b"<!DOCTYPE html>\n<html lang='en'><head><title>Earthdata Login</title></head>"
              b"<body><form action='/login'>...</form></body></html>\n")


def _good(key, folder):
    """A good file of the reader ``key`` written in ``folder``; the reader reads it."""
    read, write = READERS[key][:2]
    return write(str(folder))


def _archive_bytes(kind, src):
    buf = io.BytesIO()
    if kind == "zip":
        with zipfile.ZipFile(buf, "w") as z:
            z.write(src, os.path.basename(src))
    else:
        with tarfile.open(fileobj=buf, mode="w:gz" if kind == "tar.gz" else "w") as t:
            t.add(src, os.path.basename(src))
    return buf.getvalue()


def _truncate(path):
    data = open(path, "rb").read()
    if path.endswith((".csv", ".stm")):  # cut inside the last line, after its third field
        last = data.rstrip(b"\n").rfind(b"\n") + 1
        sep = b"," if path.endswith(".csv") else b" "
        cut = last
        for _ in range(3):
            cut = data.index(sep, cut) + 1
        data = data[:cut - 1]
    else:
        data = data[: int(len(data) * 0.4)]
    with open(path, "wb") as f:
        f.write(data)


def _bad(kind, key, tmp_path):
    """Write the bad file of ``kind`` for reader ``key``; return its path."""
    good_dir = tmp_path / "good"
    good_dir.mkdir()
    good = _good(key, good_dir)
    bad_dir = tmp_path / "bad"
    bad_dir.mkdir()
    if kind == "wrong product":
        return READERS[key][2](str(bad_dir))
    path = bad_dir / os.path.basename(good)
    if kind == "html":
        path.write_bytes(LOGIN_PAGE)
    elif kind in ("zip", "tar", "tar.gz"):
        path.write_bytes(_archive_bytes(kind, good))
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncated":
        shutil.copy(good, path)
        _truncate(str(path))
    return str(path)


EXPECT = {
    "html": ["HTML page", "'<!DOCTYPE html"],
    "zip": ["ZIP archive", "not unpacked", "unpack it first: unzip"],
    "tar": ["tar archive", "not unpacked", "tar -xf"],
    "tar.gz": ["(.tar.gz)", "not unpacked", "tar -xzf"],
    "empty": ["empty (0 bytes)", "download the", "again"],
    "truncated": [("truncated", "corrupt"), "again"],
}


def _check(msg, words):
    for w in words:
        alts = w if isinstance(w, tuple) else (w,)
        assert any(a.lower() in msg.lower() for a in alts), (w, msg)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("key", sorted(READERS))
def test_a_bad_file_names_the_file_what_it_is_and_the_fix(tmp_path, key, kind):
    if key == "mod11a1_hdf":
        pytest.importorskip("pyhdf")
    read = READERS[key][0]
    path = _bad(kind, key, tmp_path)
    with pytest.raises(ReadError) as err:
        read(path)
    msg = str(err.value)
    assert msg.startswith(str(path) + ": "), msg
    assert ". Fix: " in msg, msg
    if kind == "wrong product":
        _check(msg, READERS[key][3])
    else:
        _check(msg, EXPECT[kind])
    if kind in ("html", "empty"):
        _check(msg, READERS[key][4])


@pytest.mark.parametrize("key", sorted(READERS))
def test_a_good_file_reads(tmp_path, key):
    """The fixtures of the matrix are good files: only the damage makes them fail."""
    if key == "mod11a1_hdf":
        pytest.importorskip("pyhdf")
    READERS[key][0](_good(key, tmp_path))


@pytest.mark.parametrize("key", sorted(READERS))
def test_a_folder_without_matching_files_says_the_pattern_and_what_it_holds(tmp_path, key):
    read = READERS[key][0]
    folder = tmp_path / "downloads"
    folder.mkdir()
    (folder / "README.txt").write_text("notes")
    with pytest.raises(FileNotFoundError) as err:
        read(str(folder))
    msg = str(err.value)
    assert str(folder) in msg and "README.txt" in msg and "matching" in msg, msg
    assert "no file matching '" in msg and "Fix: " in msg, msg  # the pattern searched for


@pytest.mark.parametrize("key", sorted(READERS))
def test_a_folder_of_archives_says_unpack_them(tmp_path, key):
    read = READERS[key][0]
    good = _good(key, tmp_path)
    folder = tmp_path / "downloads"
    folder.mkdir()
    packed = folder / (os.path.basename(good) + ".zip")
    packed.write_bytes(_archive_bytes("zip", good))
    # a folder search skips it (the message lists it), or its name matches and the reader refuses it
    with pytest.raises((FileNotFoundError, ReadError)) as err:
        read(str(folder))
    msg = str(err.value)
    assert str(folder) in msg and packed.name in msg and "not unpacked" in msg, msg
    assert f"unzip {packed} -d {folder}" in msg, msg


# =========================================================================== the shared helper
def test_file_format_tells_the_formats_apart(tmp_path):
    def fmt(content):
        p = tmp_path / "f"
        p.write_bytes(content)
        return file_format(p)

    assert fmt(b"") == "empty"
    assert fmt(b"\xef\xbb\xbf\n <!doctype HTML><html>") == "HTML"
    assert fmt(b"<?xml version='1.0'?><Error><Code>AccessDenied</Code></Error>") == "XML"
    assert fmt(b"<?xml version='1.0'?><!DOCTYPE html><html>") == "HTML"
    assert fmt(b"\x0e\x03\x13\x01" + bytes(10)) == "HDF4"
    assert fmt(b"\x89HDF\r\n\x1a\n" + bytes(10)) == "HDF5"
    assert fmt(b"CDF\x01" + bytes(10)) == "NetCDF-3"
    assert fmt(b"GRIB" + bytes(10)) == "GRIB"
    assert fmt(b"II*\x00" + bytes(10)) == "TIFF"
    src = tmp_path / "x.txt"
    src.write_text("x")
    assert fmt(_archive_bytes("zip", str(src))) == "ZIP"
    assert fmt(_archive_bytes("tar", str(src))) == "tar"
    assert fmt(_archive_bytes("tar.gz", str(src))) == "tar.gz"
    import gzip

    assert fmt(gzip.compress(b"data")) == "gzip"
    assert fmt(b"station_id,name\n") is None
    assert file_format(tmp_path / "absent") is None


def test_unpack_commands(tmp_path):
    src = tmp_path / "x.nc"
    src.write_bytes(b"CDF\x01")
    z = tmp_path / "x.zip"
    z.write_bytes(_archive_bytes("zip", str(src)))
    assert unpack_command(z) == f"unzip {z} -d {tmp_path}"
    t = tmp_path / "x.nc"  # a tar.gz under a .nc name: told by its content
    t.write_bytes(_archive_bytes("tar.gz", str(z)))
    assert unpack_command(t) == f"tar -xzf {t} -C {tmp_path}"
    import gzip

    g = tmp_path / "a.hdf"
    g.write_bytes(gzip.compress(b"\x0e\x03\x13\x01"))
    assert unpack_command(g) == f"mv {g} {g}.gz && gunzip {g}.gz"


def test_check_download_returns_other_formats_for_the_reader_to_judge(tmp_path):
    p = tmp_path / "f.nc"
    p.write_bytes(b"GRIB" + bytes(10))
    assert check_download(p, "X", "NetCDF") == "GRIB"
    p.write_bytes(b"<html><body>Service unavailable</body></html>")
    with pytest.raises(ReadError, match=r"an error or download page.*data link"):
        check_download(p, "X", "NetCDF")


def test_a_spreadsheet_saved_under_a_csv_name_is_named_so(tmp_path):
    p = tmp_path / "qxz.csv"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
    with pytest.raises(ReadError, match=r"qxz.csv.*Excel workbook.*save it as 'CSV UTF-8"):
        readers.read_qxz(p)


def test_ismn_says_which_variables_and_depths_it_found(tmp_path):
    rows = [(t, 290.0, "G") for t in pd.date_range(DAY, periods=24, freq="h")]
    ts = gen("write_ismn")(str(tmp_path), "NET", "ST1", 38.5, 100.4, (0.05, 0.05), "ts", rows)
    deep = gen("write_ismn")(str(tmp_path), "NET", "ST1", 38.5, 100.4, (0.5, 0.5), "sm", rows)
    with pytest.raises(FileNotFoundError, match=r"no soil moisture \(sm\) file down to 0.1 m.*"
                       r"found: (ts NET_NET_ST1_ts.*sm down to 0.5 m|sm down to 0.5 m.*ts NET)"):
        readers.read_ismn([ts, deep])


# =========================================================================== smkit ingest
def _ingest_root(tmp_path):
    """A raw archive with a good file for every required source (only the coarse one is read)."""
    root = tmp_path / "raw"
    dirs = {k: root / k for k in ("esacci", "MOD11A1", "MOD13A2", "MCD43C3", "imerg", "srtm")}
    for d in dirs.values():
        d.mkdir(parents=True)
    _cci(str(dirs["esacci"]))
    _lst_tif(str(dirs["MOD11A1"]))
    _ndvi(str(dirs["MOD13A2"]))
    _albedo(str(dirs["MCD43C3"]))
    _imerg(str(dirs["imerg"]))
    _srtm_tif(str(dirs["srtm"]))
    cfg = {"region": {"bbox": [100.0, 38.0, 101.0, 39.0]},
           "period": {"start": "2009-07-01", "end": "2009-07-01"}, "root": str(root),
           "sources": {"coarse": "esacci", "lst": {"files": "MOD11A1", "max_error": None},
                       "ndvi": "MOD13A2", "albedo": "MCD43C3", "precip": "imerg", "dem": "srtm"}}
    return root, dirs, cfg


@pytest.mark.parametrize("kind", ["html", "zip", "empty", "truncated"])
def test_ingest_names_the_bad_file(tmp_path, kind):
    root, dirs, cfg = _ingest_root(tmp_path)
    (good,) = list(dirs["esacci"].iterdir())
    bad = _bad(kind, "esacci", tmp_path)
    os.replace(bad, good)
    with pytest.raises(ReadError) as err:
        readers.ingest(cfg, tmp_path / "cube.zarr", progress=False)
    msg = str(err.value)
    assert msg.startswith(str(good) + ": "), msg
    _check(msg, EXPECT[kind])


def test_ingest_says_what_a_source_folder_holds(tmp_path):
    root, dirs, cfg = _ingest_root(tmp_path)
    for f in dirs["srtm"].iterdir():
        f.unlink()
    (dirs["srtm"] / "N38E100.SRTMGL3.hgt.zip").write_bytes(_archive_bytes("zip", __file__))
    with pytest.raises(ConfigError) as err:
        readers.ingest(cfg, tmp_path / "cube.zarr", progress=False)
    msg = str(err.value)
    assert msg.startswith("sources.dem: folder " + str(dirs["srtm"])), msg
    assert "'*.hgt'" in msg and "N38E100.SRTMGL3.hgt.zip" in msg and "unzip" in msg, msg


@pytest.mark.parametrize("kind", ["html", "zip", "empty", "binary"])
def test_a_bad_configuration_file_is_named(tmp_path, kind):
    p = tmp_path / "sources.yaml"
    content = {"html": LOGIN_PAGE, "empty": b"", "binary": b"\x89HDF\r\n\x1a\n" + bytes(20),
               "zip": _archive_bytes("zip", __file__)}[kind]
    p.write_bytes(content)
    with pytest.raises(ConfigError) as err:
        readers.load_config(p)
    msg = str(err.value)
    assert msg.startswith(str(p)), msg
    _check(msg, {"html": ["HTML page"], "zip": ["ZIP archive", "unzip"], "empty": ["empty"],
                 "binary": ["HDF5", "not YAML"]}[kind])
