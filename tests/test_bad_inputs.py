"""Bad inputs a planner really hands over: each ends in a clear wlgeo error or a stated fix, never a
traceback, a silent wrong answer or a changed input file.

CLI cases run ``wlgeo`` in a subprocess and check the exit code, that no traceback is shown, that
the message names the file/field, and that every input file hashes the same afterwards.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import warnings
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest

import wlgeo
from wlgeo.model.errors import ReadError, ScenarioError, WlgeoWarning
from wlgeo.model.values import parse_date

sys.path.insert(0, str(Path(__file__).resolve().parent))
import plan_fixtures as pf  # noqa: E402


def _hashes(*paths: Path) -> dict[str, str]:
    out = {}
    for root in paths:
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for file in files:
            out[str(file)] = hashlib.sha256(file.read_bytes()).hexdigest()
    return out


def wlgeo_cli(*args, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "wlgeo.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=600)


def _no_traceback(result: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    assert "internal error" not in result.stderr, result.stderr


def _write(path: Path, layers: dict[str, gpd.GeoDataFrame]) -> Path:
    for name, frame in layers.items():
        frame.to_file(path, layer=name, driver="GPKG", engine="pyogrio")
    return path


@pytest.fixture(scope="module")
def base_pack(tmp_path_factory) -> Path:
    return _write(tmp_path_factory.mktemp("pack") / "base.gpkg", pf.layers())


# ---------------------------------------------------------------------------- run never writes over its inputs
def test_run_refuses_to_overwrite_the_pack_it_reads(tmp_path, base_pack):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    pack = run_dir / "plan.gpkg"  # re-running from a previous run's plan, into that run
    pack.write_bytes(base_pack.read_bytes())
    before = _hashes(run_dir)
    result = wlgeo_cli("run", pack, "--out", run_dir, "--no-sites", "--overwrite", cwd=tmp_path)
    _no_traceback(result)
    assert result.returncode == 2
    assert "would overwrite its own input" in result.stderr and str(pack) in result.stderr
    assert _hashes(run_dir) == before
    assert sorted(p.name for p in run_dir.iterdir()) == ["plan.gpkg"]


def test_run_into_the_pack_directory_keeps_the_pack(tmp_path, base_pack):
    pack = tmp_path / "base.gpkg"
    pack.write_bytes(base_pack.read_bytes())
    before = _hashes(pack)
    refused = wlgeo_cli("run", pack, "--out", tmp_path, "--no-sites", cwd=tmp_path)
    _no_traceback(refused)
    assert refused.returncode == 2 and "not empty" in refused.stderr
    done = wlgeo_cli("run", pack, "--out", tmp_path, "--no-sites", "--overwrite", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert _hashes(pack) == before
    assert (tmp_path / "plan.gpkg").is_file()


def test_catalog_naming_a_run_output_is_refused(tmp_path, base_pack):
    pf.quarries().to_file(tmp_path / "q.gpkg", engine="pyogrio")
    tmp_csv = tmp_path / "summary_towns.csv"  # a corner table that happens to be called like a run output
    tmp_csv.write_text("x\n", encoding="utf-8")
    catalog = tmp_path / "cat.toml"
    catalog.write_text('[layers.quarries]\npath = "q.gpkg"\n[layers.farmland]\npath = "summary_towns.csv"\n', encoding="utf-8")
    with pytest.raises(wlgeo.model.errors.OutputError, match="overwrite its own input"):
        wlgeo.run(catalog, out_dir=tmp_path, overwrite=True, sites=False)
    assert tmp_csv.read_text(encoding="utf-8") == "x\n"


# ---------------------------------------------------------------------------- values
def test_timezone_aware_licence_dates(tmp_path):
    layers = pf.layers()
    layers["quarries"]["license_end"] = pd.Timestamp("2027-06-30T23:00:00+08:00")
    pack = _write(tmp_path / "tz.gpkg", layers)
    before = _hashes(pack)
    result = wlgeo_cli("validate", pack, cwd=tmp_path)
    _no_traceback(result)
    assert result.returncode == 0, result.stdout + result.stderr
    assert _hashes(pack) == before
    # the date it falls on in China, whichever zone the value carries
    assert parse_date(pd.Timestamp("2027-06-29T16:00:00Z")) == pd.Timestamp("2027-06-30")
    assert parse_date(pd.Timestamp("2027-06-30T23:00:00+08:00")) == pd.Timestamp("2027-06-30")


def test_quarry_ids_as_spreadsheet_floats_are_text_and_duplicates_are_found():
    quarries = pf.quarries()
    quarries["quarry_id"] = [float(i) for i in range(1, len(quarries) + 1)]
    result = wlgeo.plan(wlgeo.LayerPack({**pf.layers(), "quarries": quarries}), "baseline", sites=False)
    assert sorted(result.quarries["quarry_id"], key=int) == [str(i) for i in range(1, 18)]
    # the chain Q08–Q09–Q10 is rows 8, 9, 10 → ids 8, 9, 10; the pair P2, P1 is rows 16, 17
    assert sorted(result.consolidation_groups["members"]) == ["10;8;9", "16;17"]  # not '8.0;9.0;10.0'
    mixed = pf.quarries()
    mixed["quarry_id"] = [1.0, "1"] + [f"Q{i}" for i in range(len(mixed) - 2)]
    report = wlgeo.check_pack(wlgeo.LayerPack({**pf.layers(), "quarries": mixed}))
    duplicates = [p for p in report.errors if p.code == "duplicate_id"]
    assert len(duplicates) == 1 and duplicates[0].feature == "1" and duplicates[0].field == "quarry_id"


# ---------------------------------------------------------------------------- shapefiles
@pytest.fixture()
def shapefile(tmp_path) -> Path:
    frame = pf.quarries()
    frame["license_end"] = frame["license_end"].astype(str)
    folder = tmp_path / "shp"
    folder.mkdir()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame.to_file(folder / "q.shp", engine="pyogrio", encoding="gbk")
    return folder / "q.shp"


def test_gbk_shapefile_with_a_cpg_saying_utf8(tmp_path, shapefile):
    shapefile.with_suffix(".cpg").write_text("UTF-8")
    before = _hashes(shapefile.parent)
    with pytest.warns(WlgeoWarning, match="the .cpg says UTF-8"):
        frame = wlgeo.read_layer(shapefile)
    assert frame["name"].tolist()[:2] == ["Q01采石场", "Q02采石场"]
    result = wlgeo_cli("import", shapefile, "--as", "quarries", "--out", tmp_path / "p.gpkg", cwd=tmp_path)
    _no_traceback(result)
    assert result.returncode == 0 and "decoded as GBK" in result.stderr
    assert _hashes(shapefile.parent) == before


def test_shapefile_without_shx_or_dbf(tmp_path, shapefile):
    shapefile.with_suffix(".shx").unlink()
    before = _hashes(shapefile.parent)
    result = wlgeo_cli("import", shapefile, "--as", "quarries", "--out", tmp_path / "p.gpkg", cwd=tmp_path)
    _no_traceback(result)
    assert result.returncode == 2 and "q.shx is missing" in result.stderr and str(shapefile) in result.stderr
    assert _hashes(shapefile.parent) == before
    assert not (tmp_path / "p.gpkg").exists()


def test_shapefile_without_dbf_is_warned(tmp_path, shapefile):
    shapefile.with_suffix(".dbf").unlink()
    with pytest.warns(WlgeoWarning, match="q.dbf is missing"):
        frame = wlgeo.read_layer(shapefile)
    assert list(frame.columns) == ["geometry"] and len(frame) == 17


# ---------------------------------------------------------------------------- TOML files
def test_catalog_with_bom_backslashes_spaces_and_chinese_names(tmp_path):
    folder = tmp_path / "图层 目录"
    (folder / "子 目录").mkdir(parents=True)
    pf.quarries().to_file(folder / "子 目录" / "采矿权.gpkg", engine="pyogrio")
    catalog = folder / "目录.toml"
    catalog.write_bytes("\ufeff[layers.quarries]\npath = '子 目录\\采矿权.gpkg'\n".encode("utf-8"))
    before = _hashes(folder)
    result = wlgeo_cli("validate", catalog, cwd=Path("/"))  # relative paths are the catalog's, not the cwd's
    _no_traceback(result)
    assert "OK" in result.stdout, result.stdout + result.stderr
    assert len(wlgeo.read_pack(catalog)["quarries"]) == 17
    assert _hashes(folder) == before


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[layers.quarries]\npath = 3\n', "path must be a file name in quotes"),
        ('[layers.quarries]\npath = "q.gpkg"\ngcj02 = "false"\n', "gcj02 must be true or false"),
        ('[layers.quarries]\npath = "q.gpkg"\ncrs = 4545\n', "crs must be text"),
        ('layers = "q.gpkg"\n', "layers must be tables"),
    ],
)
def test_catalog_values_of_the_wrong_type(tmp_path, body, message):
    pf.quarries().to_file(tmp_path / "q.gpkg", engine="pyogrio")
    catalog = tmp_path / "cat.toml"
    catalog.write_text(body, encoding="utf-8")
    result = wlgeo_cli("validate", catalog, cwd=tmp_path)
    _no_traceback(result)
    assert result.returncode == 2 and message in result.stderr and "cat.toml" in result.stderr


def test_scenario_with_bom_and_scenario_directory(tmp_path, base_pack):
    scenario = tmp_path / "wide.toml"
    scenario.write_bytes('\ufeffname = "wide"\nblast_distance_m = 500\n'.encode("utf-8"))
    assert wlgeo.Scenario.from_toml(scenario).blast_distance_m == 500
    result = wlgeo_cli("run", base_pack, "--scenario", tmp_path, "--out", tmp_path / "out", cwd=tmp_path)
    _no_traceback(result)
    assert result.returncode == 2 and "is a directory" in result.stderr and str(tmp_path) in result.stderr
    assert not (tmp_path / "out").exists()
    with pytest.raises((ScenarioError, ReadError)):
        wlgeo.load_scenario(tmp_path)


def test_library_refuses_a_missing_pack_argument():
    for call in (wlgeo.read_pack, wlgeo.check_pack):
        with pytest.raises(ReadError, match="not a layer pack path"):
            call(None)


# ---------------------------------------------------------------------------- export
def test_export_by_town_of_a_plan_where_every_quarry_closes(tmp_path):
    layers = pf.layers()
    layers["red_line"] = gpd.GeoDataFrame({"category": ["全域"]}, geometry=list(layers["boundary"].geometry), crs=pf.CRS)
    pack = _write(tmp_path / "closed.gpkg", layers)
    run = wlgeo_cli("run", pack, "--out", tmp_path / "run", "--no-sites", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    plan = tmp_path / "run" / "plan.gpkg"
    assert set(pyogrio.read_dataframe(plan, layer="quarries")["decision"]) == {"close"}
    before = _hashes(tmp_path / "run")
    result = wlgeo_cli("export", plan, "--by", "town", "--out", tmp_path / "x", cwd=tmp_path)
    _no_traceback(result)
    assert result.returncode == 0, result.stderr
    counts = {p.stem: len(pyogrio.read_dataframe(p, layer="quarries")) for p in (tmp_path / "x").glob("*.gpkg")}
    assert counts == {pf.TOWN_A: 9, pf.TOWN_B: 8}  # slots 0–8 west of the town line (Q08's field says 乙乡)
    assert _hashes(tmp_path / "run") == before


def test_export_of_a_pack_instead_of_a_plan_names_the_file(tmp_path, base_pack):
    result = wlgeo_cli("export", base_pack, "--by", "decision", "--out", tmp_path / "x", cwd=tmp_path)
    _no_traceback(result)
    assert result.returncode == 2
    assert str(base_pack) in result.stderr and "field 'decision'" in result.stderr


def test_export_never_overwrites_the_plan_it_reads(tmp_path, base_pack):
    run = tmp_path / "run"
    assert wlgeo_cli("run", base_pack, "--out", run, "--no-sites", cwd=tmp_path).returncode == 0
    plan = run / "plan.gpkg"
    quarries = pyogrio.read_dataframe(plan, layer="quarries")
    quarries["town"] = "plan"  # a town whose file name is plan.gpkg, exported into the run itself
    pyogrio.write_dataframe(quarries, plan, layer="quarries")
    before = _hashes(plan)
    result = wlgeo_cli("export", plan, "--by", "town", "--out", run, "--overwrite", cwd=tmp_path)
    _no_traceback(result)
    assert result.returncode == 2 and "would overwrite the plan" in result.stderr
    assert _hashes(plan) == before
