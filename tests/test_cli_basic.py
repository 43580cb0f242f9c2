"""The ``wlgeo`` CLI: validate and import, exit codes, and no traceback for bad input.

Every command runs in a real subprocess (``python -m wlgeo.cli``), as a user would run it.
"""

from __future__ import annotations

import subprocess
import sys

import geopandas as gpd
import pyogrio
import pytest
from shapely.geometry import LineString, box

from wlgeo import read_layer, read_pack

pytestmark = pytest.mark.filterwarnings("ignore::wlgeo.WlgeoWarning")

CRS = "EPSG:4545"
NAME = "和顺碎石场"


def wlgeo_cli(*args, cwd=None) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "wlgeo.cli", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )
    assert "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr
    return result


def _quarries(**overrides) -> gpd.GeoDataFrame:
    data = {
        "quarry_id": ["Q-1", "Q-2"],
        "name": [NAME, "白马采石场"],
        "capacity": [30.0, 60.0],
        "license_end": ["2026-06-30", "2027/1/1"],
    }
    data.update(overrides)
    return gpd.GeoDataFrame(
        data, geometry=[box(450_000, 3_250_000, 450_200, 3_250_100), box(460_000, 3_250_000, 460_200, 3_250_100)], crs=CRS
    )


def _pack(tmp_path, name="pack.gpkg", **layers) -> object:
    path = tmp_path / name
    layers = layers or {"quarries": _quarries()}
    for layer, frame in layers.items():
        frame.to_file(path, layer=layer, engine="pyogrio")
    return path


# --- validate -------------------------------------------------------------------------------
def test_version():
    result = wlgeo_cli("--version")
    assert result.returncode == 0 and "0.1.0" in result.stdout


def test_validate_clean_pack_exits_0(tmp_path):
    path = _pack(tmp_path)
    result = wlgeo_cli("validate", path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK" in result.stdout and str(path) in result.stdout


def test_validate_problems_exit_1_and_are_listed(tmp_path):
    path = _pack(tmp_path, quarries=_quarries(capacity=[-3.0, 60.0], license_end=["2026-06-30", "明年"]))
    result = wlgeo_cli("validate", path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{path}: FAILED") and "2 error(s)" in lines[0]
    assert any("feature 'Q-1', field 'capacity'" in line and "capacity_not_positive" in line for line in lines)
    assert any("feature 'Q-2', field 'license_end'" in line and "'明年'" in line for line in lines)


def test_validate_strict_and_repair(tmp_path):
    rivers = gpd.GeoDataFrame({"name": ["乌江"]}, geometry=[LineString([(440_000, 3_260_000), (470_000, 3_262_000)])], crs=CRS)
    path = _pack(tmp_path, quarries=_quarries(), rivers=rivers)
    assert wlgeo_cli("validate", path).returncode == 0  # a warning only
    strict = wlgeo_cli("validate", path, "--strict")
    assert strict.returncode == 1 and "rivers_no_main" in strict.stdout

    from shapely.geometry import Polygon

    bowtie = Polygon([(452_000, 3_252_000), (452_100, 3_252_100), (452_100, 3_252_000), (452_000, 3_252_100)])
    bad = _quarries()
    bad.loc[1, "geometry"] = bowtie
    path = _pack(tmp_path, name="bowtie.gpkg", quarries=bad)
    before = path.read_bytes()
    plain = wlgeo_cli("validate", path)
    assert plain.returncode == 1 and "geometry_invalid" in plain.stdout and "Q-2" in plain.stdout
    repaired = wlgeo_cli("validate", path, "--repair")
    assert repaired.returncode == 0 and "geometry_repaired" in repaired.stdout
    assert path.read_bytes() == before  # --repair never touches the input


def _truncated_gpkg(tmp_path):
    good = _pack(tmp_path, name="good.gpkg")
    data = good.read_bytes()
    bad = tmp_path / "truncated.gpkg"
    bad.write_bytes(data[: len(data) // 2])
    return bad


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


def _bad_toml(tmp_path):
    return _write(tmp_path / "catalog.toml", "[layers.quarries\npath = 'q.gpkg'\n".encode())


def _catalog_missing_file(tmp_path):
    return _write(tmp_path / "catalog.toml", '[layers.quarries]\npath = "采矿权.shp"\n'.encode())


def _catalog_unknown_layer(tmp_path):
    _pack(tmp_path, name="q.gpkg")
    return _write(tmp_path / "catalog.toml", '[layers.quarry]\npath = "q.gpkg"\n'.encode())


@pytest.mark.parametrize(
    ("make", "named", "fragment"),
    [
        (lambda d: d / "missing.gpkg", "missing.gpkg", "no such"),
        (lambda d: d, None, "directory"),
        (lambda d: _write(d / "empty.gpkg", b""), "empty.gpkg", "empty"),
        (_truncated_gpkg, "truncated.gpkg", "cannot"),
        (lambda d: _write(d / "pack.shp", b"not a shapefile"), "pack.shp", ".shp"),
        (_bad_toml, "catalog.toml", "TOML"),
        (_catalog_missing_file, "采矿权.shp", "no such file"),
        (_catalog_unknown_layer, "catalog.toml", "quarry"),
    ],
    ids=["missing", "directory", "empty", "truncated", "extension", "bad-toml", "catalog-missing-file", "catalog-unknown-layer"],
)
def test_validate_unreadable_input_exits_2_in_one_line(tmp_path, make, named, fragment):
    path = make(tmp_path)
    result = wlgeo_cli("validate", path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert str(named or path) in lines[0]
    assert fragment in lines[0]


def test_validate_layer_with_unplaceable_crs_is_a_problem_not_a_crash(tmp_path):
    path = _pack(tmp_path)
    with pytest.warns(UserWarning, match="crs"):
        gpd.GeoDataFrame({"category": ["x"]}, geometry=[box(1, 1, 2, 2)]).to_file(path, layer="red_line", engine="pyogrio")
    result = wlgeo_cli("validate", path)
    assert result.returncode == 1
    assert "layer 'red_line'" in result.stdout and "crs_unplaced" in result.stdout


# --- import ---------------------------------------------------------------------------------
def _gbk_shapefile(tmp_path):
    frame = gpd.GeoDataFrame(
        {
            "矿山编号": ["Q-1", "Q-2"],
            "生产规模": [30.0, 60.0],
            "license_end": ["2026-06-30", "2027-01-01"],
            "name": [NAME, "白马采石场"],
        },
        geometry=[box(450_000, 3_250_000, 450_200, 3_250_100), box(460_000, 3_250_000, 460_200, 3_250_100)],
        crs=CRS,
    )
    path = tmp_path / "采矿权.shp"
    with pytest.warns(RuntimeWarning, match="license_en"):  # DBF field names are cut at 10 characters
        pyogrio.write_dataframe(frame, path, encoding="gbk")
    path.with_suffix(".cpg").unlink(missing_ok=True)
    assert not path.with_suffix(".cpg").exists()
    return path


def test_import_gbk_shapefile_into_new_pack(tmp_path):
    source = _gbk_shapefile(tmp_path)
    pack = tmp_path / "out" / "pack.gpkg"
    pack.parent.mkdir()
    result = wlgeo_cli("import", source, "--as", "quarries", "--out", pack)
    assert result.returncode == 0, result.stderr
    assert "added layer 'quarries' (2 features)" in result.stdout
    # the GBK guess is told once, as one line, not in Python's warning format
    assert result.stderr.count("GBK") == 1
    assert any(line.startswith("warning: ") and "GBK" in line for line in result.stderr.splitlines())
    assert "EncodingGuessWarning" not in result.stderr and "warnings.warn" not in result.stderr
    assert "note: column '矿山编号' renamed to 'quarry_id'" in result.stderr
    assert "note: column 'license_en' renamed to 'license_end'" in result.stderr  # DBF cut it
    back = read_layer(pack, layer="quarries")
    assert back["name"].tolist() == [NAME, "白马采石场"]
    assert back["quarry_id"].tolist() == ["Q-1", "Q-2"] and back["capacity"].tolist() == [30.0, 60.0]
    assert back.crs.to_epsg() == 4545
    assert back.geometry.area.tolist() == pytest.approx([20_000.0, 20_000.0])
    assert [p.name for p in pack.parent.iterdir()] == ["pack.gpkg"]  # no temp file left
    assert wlgeo_cli("validate", pack).returncode == 0


def test_import_adds_refuses_and_overwrites(tmp_path):
    pack = _pack(tmp_path)
    roads = gpd.GeoDataFrame({"kind": ["expressway"]}, geometry=[LineString([(440_000, 3_230_000), (499_000, 3_230_000)])], crs=CRS)
    roads_file = tmp_path / "roads.geojson"
    roads.to_file(roads_file, engine="pyogrio")
    added = wlgeo_cli("import", roads_file, "--as", "roads", "--out", pack)
    assert added.returncode == 0, added.stderr
    assert sorted(read_pack(pack).layers) == ["quarries", "roads"]

    other = _pack(tmp_path, name="other.gpkg", quarries=_quarries(quarry_id=["Q-8", "Q-9"]))
    before = pack.read_bytes()
    refused = wlgeo_cli("import", other, "--as", "quarries", "--out", pack)
    assert refused.returncode == 2
    assert str(pack) in refused.stderr and "already has layer 'quarries'" in refused.stderr and "--overwrite" in refused.stderr and "overwrite=True" not in refused.stderr
    assert pack.read_bytes() == before

    replaced = wlgeo_cli("import", other, "--as", "quarries", "--out", pack, "--overwrite")
    assert replaced.returncode == 0 and "replaced layer 'quarries'" in replaced.stdout
    result = read_pack(pack)
    assert result["quarries"]["quarry_id"].tolist() == ["Q-8", "Q-9"]
    assert len(result["roads"]) == 1


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["missing.shp", "--as", "quarries", "--out", "p.gpkg"], "missing.shp"),
        (["src.gpkg", "--as", "quarry", "--out", "p.gpkg"], "quarry"),
        (["src.gpkg", "--as", "quarries", "--out", "p.shp"], "p.shp"),
        (["src.gpkg", "--as", "quarries", "--out", "half.gpkg"], "half.gpkg"),
        (["src.gpkg", "--as", "quarries", "--out", "p.gpkg", "--encoding", "klingon"], "klingon"),
        (["src.gpkg", "--as", "quarries", "--out", "p.gpkg", "--crs", "EPSG:nonsense"], "EPSG:nonsense"),
    ],
    ids=["missing-source", "unknown-layer", "not-gpkg", "truncated-pack", "bad-encoding", "bad-crs"],
)
def test_import_bad_input_exits_2(tmp_path, args, fragment):
    _pack(tmp_path, name="src.gpkg")
    good = (tmp_path / "src.gpkg").read_bytes()
    (tmp_path / "half.gpkg").write_bytes(good[: len(good) // 2])
    result = wlgeo_cli("import", *args, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert fragment in result.stderr
    assert not (tmp_path / "p.gpkg").exists() and not (tmp_path / "p.shp").exists()
    assert (tmp_path / "half.gpkg").read_bytes() == good[: len(good) // 2]


# --- the demo pack and logging ----------------------------------------------------------------
def test_demo_pack_validates_clean(demo_pack_path):
    result = wlgeo_cli("validate", demo_pack_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK" in result.stdout.splitlines()[0]


def test_quiet_and_verbose(tmp_path):
    source = _gbk_shapefile(tmp_path)
    quiet = wlgeo_cli("-q", "import", source, "--as", "quarries", "--out", tmp_path / "q.gpkg")
    assert quiet.returncode == 0 and quiet.stderr == ""
    verbose = wlgeo_cli("-v", "import", source, "--as", "quarries", "--out", tmp_path / "v.gpkg")
    assert verbose.returncode == 0
    assert "INFO: added layer quarries (2 features)" in verbose.stderr
