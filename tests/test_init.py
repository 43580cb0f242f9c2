"""``wlgeo init``: from a folder of raw bureau files to a checked catalog.

The raw folder is built here in code from the demo pack (layers/wulong.gpkg): GBK shapefiles
without ``.cpg`` and with Chinese field names and values (capacity in 吨/年), a GeoPackage whose
layer has a Chinese name, a GeoJSON in WGS84, a 部标 TXT, an XLSX of corners, the DEM and
distractors (a photo, a Word file, a statistics CSV without coordinates). The golden answers are
the demo pack's own layers: which file each was written to, and the decisions ``wlgeo.plan``
takes on the canonical pack.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest

import wlgeo
from wlgeo.io.pack import read_pack
from wlgeo.io.read import SUPPORTED_SUFFIXES

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "layers" / "wulong.gpkg"
DEMO_DEM = REPO / "layers" / "wulong.dem.tif"

pytestmark = pytest.mark.filterwarnings("ignore::wlgeo.WlgeoWarning")

ROAD_ZH = {"railway": "铁路", "expressway": "高速公路", "national": "国道", "provincial": "省道", "county": "县道", "township": "乡道"}
PROTECTED_ZH = {
    "world_heritage": "世界自然遗产", "forest_park": "国家森林公园", "scenic_area": "风景名胜区",
    "water_source": "饮用水水源保护区", "nature_reserve": "自然保护区", "geopark": "地质公园",
}
ROLE_ZH = {"core": "核心园区", "park": "一般园区"}


def demo(layer: str) -> gpd.GeoDataFrame:
    return gpd.read_file(DEMO, layer=layer, engine="pyogrio")


def write_gbk_shapefile(frame: gpd.GeoDataFrame, path: Path, *, cpg: bool = False) -> Path:
    """A shapefile whose DBF is GBK; without .cpg as bureau files usually are."""
    frame.to_file(path, engine="pyogrio", encoding="gbk")
    if not cpg:
        for sidecar in (path.with_suffix(".cpg"), path.with_suffix(".CPG")):
            sidecar.unlink(missing_ok=True)
    return path


def write_bubiao(frame: gpd.GeoDataFrame, path: Path, *, use: str = "基本农田") -> Path:
    """A 部标 TXT (GBK, zone prefix 36, X = northing first) of the polygons of ``frame``."""
    lines = [
        "[属性描述]", "格式版本号=1.01版本", "数据产生单位=武隆区规划和自然资源局", "坐标系=2000国家大地坐标系",
        "几度分带=3", "投影类型=高斯克吕格", "计量单位=米", "带号=36", "精度=0.001", "[地块坐标]",
    ]
    for i, geom in enumerate(frame.geometry, start=1):
        parts = list(geom.geoms) if geom.geom_type == "MultiPolygon" else [geom]
        points, ring_no = [], 0
        for part in parts:
            for ring in [part.exterior, *part.interiors]:
                ring_no += 1
                for x, y in ring.coords:
                    points.append((ring_no, x, y))
        lines.append(f"{len(points)},{geom.area / 1e4:.4f},JBNT-{i:04d},基本农田{i},面,,{use},0101,@")
        for k, (ring_no, x, y) in enumerate(points, start=1):
            lines.append(f"J{k},{ring_no},{y:.3f},{36_000_000 + x:.3f}")
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("gbk"))
    return path


def write_corners_xlsx(quarries: gpd.GeoDataFrame, path: Path) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "拐点坐标"
    sheet.append(["武隆区采矿权拐点坐标表（2000国家大地坐标系）"])
    sheet.append(["矿山编号", "矿山名称", "点号", "X坐标", "Y坐标"])
    for _, row in quarries.iterrows():
        geom = row.geometry
        part = max(geom.geoms, key=lambda g: g.area) if geom.geom_type == "MultiPolygon" else geom
        for k, (x, y) in enumerate(list(part.exterior.coords)[:-1], start=1):
            sheet.append([row["quarry_id"], row["name"], f"J{k}", round(y, 3), round(36_000_000 + x, 3)])
    book.save(path)
    return path


def _quarries_raw(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "矿山编号": frame["quarry_id"],
            "矿山名称": frame["name"],
            "采矿权人": frame["owner"],
            "所在乡镇": frame["town"],
            "开采矿种": frame["mineral"],
            "生产规模": (frame["capacity"] * 10_000).round().astype("int64"),  # 吨/年
            "设计规模": (frame["capacity"] * 12_000).round().astype("int64"),  # another capacity-like field
            "有效期起": pd.to_datetime(frame["license_start"]).dt.date,
            "有效期止": pd.to_datetime(frame["license_end"]).dt.date,
            "许可证号": frame["license_no"],
            "保有资源量": frame["reserves"],
        },
        geometry=frame.geometry.values,
        crs=frame.crs,
    )


LAYER_FILES = {
    # canonical layer -> file written for it (named, relative to the raw folder)
    "quarries": ["武隆区采矿权2024.shp", "新增采矿权.shp"],
    "red_line": ["三线.gpkg"],
    "farmland": ["永久基本农田.txt"],
    "protected_areas": ["自然保护地.geojson"],
    "settlements": ["居民点.shp"],
    "roads": ["交通道路.shp"],
    "rivers": ["河流水系.shp"],
    "towns": ["乡镇界.shp"],
    "boundary": ["区界.shp"],
    "parks": ["产业园区.shp"],
    "bases": ["产业基地.shp"],
    "ports": ["港口码头.shp"],
    "resource_zones": ["矿产资源分布.shp"],
}


def build_raw_folder(root: Path, *, named: bool = True) -> dict[str, list[str]]:
    """Write the raw folder; return canonical layer -> the files holding it (as written).

    ``named=False`` names every file dataN.ext and every GeoPackage layer layerN, so that only
    geometry, fields and values are left to go by.
    """
    root.mkdir(parents=True, exist_ok=True)
    counter = iter(range(1, 100))
    written: dict[str, list[str]] = {}

    def name(canonical: str, wanted: str) -> str:
        chosen = wanted if named else f"data{next(counter)}{Path(wanted).suffix}"
        written.setdefault(canonical, []).append(chosen)
        return chosen

    quarries = demo("quarries")
    raw = _quarries_raw(quarries)
    write_gbk_shapefile(raw.iloc[:140], root / name("quarries", "武隆区采矿权2024.shp"))
    write_gbk_shapefile(raw.iloc[140:], root / name("quarries", "新增采矿权.shp"))
    corners = name("quarries_corners", "采矿权拐点坐标.xlsx")
    write_corners_xlsx(quarries.iloc[:6], root / corners)

    red = demo("red_line")
    gpkg = root / name("red_line", "三线.gpkg")
    gpd.GeoDataFrame({"红线类型": red["category"]}, geometry=red.geometry.values, crs=red.crs).to_file(
        gpkg, layer="生态保护红线" if named else "layer1", engine="pyogrio")
    boundary = demo("boundary")
    town_edge = gpd.GeoDataFrame({"名称": ["城镇开发边界"]}, geometry=[boundary.geometry[0].centroid.buffer(3000)], crs=boundary.crs)
    town_edge.to_file(gpkg, layer="城镇开发边界" if named else "layer2", engine="pyogrio")

    write_bubiao(demo("farmland"), root / name("farmland", "永久基本农田.txt"))

    protected = demo("protected_areas")
    gpd.GeoDataFrame(
        {"保护地名称": protected["name"], "类型": protected["kind"].map(PROTECTED_ZH), "功能分区": protected["zone"]},
        geometry=protected.geometry.values, crs=protected.crs,
    ).to_crs(4326).to_file(root / name("protected_areas", "自然保护地.geojson"), driver="GeoJSON", engine="pyogrio")

    settlements = demo("settlements")
    write_gbk_shapefile(gpd.GeoDataFrame(
        {"名称": settlements["name"], "人口": settlements["population"]}, geometry=settlements.geometry.values,
        crs=settlements.crs), root / name("settlements", "居民点.shp"))
    roads = demo("roads")
    write_gbk_shapefile(gpd.GeoDataFrame(
        {"道路名称": roads["name"], "道路等级": roads["kind"].map(ROAD_ZH)}, geometry=roads.geometry.values,
        crs=roads.crs), root / name("roads", "交通道路.shp"))
    rivers = demo("rivers")
    write_gbk_shapefile(gpd.GeoDataFrame(
        {"河流名称": rivers["name"], "是否干流": rivers["main"].map({True: "是", False: "否"})},
        geometry=rivers.geometry.values, crs=rivers.crs), root / name("rivers", "河流水系.shp"))
    towns = demo("towns")
    write_gbk_shapefile(gpd.GeoDataFrame(
        {"乡镇名称": towns["town"], "行政代码": towns["code"]}, geometry=towns.geometry.values, crs=towns.crs),
        root / name("towns", "乡镇界.shp"))
    write_gbk_shapefile(gpd.GeoDataFrame(
        {"名称": boundary["name"], "代码": boundary["code"]}, geometry=boundary.geometry.values, crs=boundary.crs),
        root / name("boundary", "区界.shp"))
    parks = demo("parks")
    write_gbk_shapefile(gpd.GeoDataFrame(
        {"园区名称": parks["name"], "定位": parks["role"].map(ROLE_ZH)}, geometry=parks.geometry.values, crs=parks.crs),
        root / name("parks", "产业园区.shp"))
    bases = demo("bases")
    write_gbk_shapefile(gpd.GeoDataFrame({"基地名称": bases["name"]}, geometry=bases.geometry.values, crs=bases.crs),
                        root / name("bases", "产业基地.shp"))
    ports = demo("ports")
    write_gbk_shapefile(gpd.GeoDataFrame({"名称": ports["name"]}, geometry=ports.geometry.values, crs=ports.crs),
                        root / name("ports", "港口码头.shp"))
    zones = demo("resource_zones")
    write_gbk_shapefile(gpd.GeoDataFrame(
        {"矿种": zones["mineral"], "品级": zones["grade"], "名称": zones["name"]}, geometry=zones.geometry.values,
        crs=zones.crs), root / name("resource_zones", "矿产资源分布.shp"))

    dem_dir = root / ("地形" if named else "")
    dem_dir.mkdir(exist_ok=True)
    dem_name = name("dem", "dem.tif")
    shutil.copyfile(DEMO_DEM, dem_dir / dem_name)
    written["dem"] = [str(Path(dem_dir.name) / dem_name) if named else dem_name]

    # distractors
    (root / "照片").mkdir(exist_ok=True)
    (root / "照片" / ("现场照片.jpg" if named else "data90.jpg")).write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8)
    (root / ("工作说明.docx" if named else "data91.docx")).write_bytes(b"PK\x03\x04" + b"\0" * 200)
    (root / ("2019年人口统计.csv" if named else "data92.csv")).write_bytes(
        "乡镇,人口,年份\r\n凤山街道,52000,2019\r\n白马镇,11000,2019\r\n".encode("gbk"))
    return written


@pytest.fixture(scope="module")
def named_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("raw") / "武隆区资料2024"
    return root, build_raw_folder(root)


@pytest.fixture(scope="module")
def named_init(named_folder, tmp_path_factory):
    root, written = named_folder
    out = tmp_path_factory.mktemp("catalog") / "catalog.toml"
    result = wlgeo.init_catalog(root, out)
    return result, written, root


@pytest.fixture(scope="module")
def renamed_init(tmp_path_factory):
    root = tmp_path_factory.mktemp("raw_renamed") / "data"
    written = build_raw_folder(root, named=False)
    out = root.parent / "catalog.toml"
    result = wlgeo.init_catalog(root, out)
    return result, written, root


def _catalog(result) -> dict:
    return tomllib.loads(result.catalog.read_text(encoding="utf-8"))


def _paths(entry) -> list[str]:
    raw = entry["path"]
    return [Path(p).name for p in (raw if isinstance(raw, list) else [raw])]


# ----------------------------------------------------------------------------- named folder
def test_named_folder_every_layer_placed(named_init):
    result, written, root = named_init
    catalog = _catalog(result)
    layers = catalog["layers"]
    for layer, files in written.items():
        if layer in ("dem", "quarries_corners"):
            continue
        assert layer in layers, (layer, result.text)
        assert sorted(_paths(layers[layer])) == sorted(files), layer
    assert Path(catalog["dem"]["path"]).name == "dem.tif"
    assert layers["red_line"]["layer"] == "生态保护红线"
    assert catalog["district"] == "武隆区"
    # the GBK shapefiles without .cpg get their encoding written; the reader found it
    for layer in ("quarries", "roads", "rivers", "towns", "settlements"):
        assert layers[layer]["encoding"] == "gbk", layer
    assert "encoding" not in layers["protected_areas"]
    # the CRS the reader settled on for the 部标 TXT is written; a GeoJSON declares its own
    assert layers["farmland"]["crs"] == "EPSG:4545" and layers["farmland"]["encoding"] == "gbk"
    assert "crs" not in layers["protected_areas"] and "crs" not in layers["quarries"]


def test_named_folder_fields_values_units(named_init):
    result, _, _ = named_init
    layers = _catalog(result)["layers"]
    assert layers["quarries"]["fields"] == {
        "quarry_id": "矿山编号", "capacity": "生产规模", "license_end": "有效期止", "name": "矿山名称",
        "owner": "采矿权人", "town": "所在乡镇", "mineral": "开采矿种", "license_no": "许可证号",
        "license_start": "有效期起", "reserves": "保有资源量",
    }
    assert layers["quarries"]["units"] == {"capacity": "吨/年"}
    # the second capacity-like field is shown, commented out
    assert '# capacity = "设计规模"' in result.text
    assert layers["roads"]["fields"] == {"kind": "道路等级", "name": "道路名称"}
    assert layers["roads"]["values"]["kind"] == {
        "高速公路": "expressway", "铁路": "railway", "国道": "national", "省道": "provincial", "县道": "county",
    }
    assert layers["rivers"]["fields"] == {"name": "河流名称", "main": "是否干流"}
    assert layers["rivers"]["values"]["main"] == {"是": True, "否": False}
    assert layers["protected_areas"]["fields"] == {"kind": "类型", "name": "保护地名称", "zone": "功能分区"}
    assert layers["protected_areas"]["values"]["kind"] == {
        "世界自然遗产": "world_heritage", "国家森林公园": "forest_park", "风景名胜区": "scenic_area",
        "饮用水水源保护区": "water_source",
    }
    assert layers["towns"]["fields"] == {"town": "乡镇名称", "code": "行政代码"}
    assert layers["settlements"]["fields"] == {"name": "名称", "population": "人口"}
    assert layers["parks"]["fields"] == {"name": "园区名称", "role": "定位"}
    assert layers["parks"]["values"]["role"] == {"核心园区": "core", "一般园区": "park"}
    assert layers["resource_zones"]["fields"] == {"mineral": "矿种", "grade": "品级"}
    assert layers["red_line"]["fields"] == {"category": "红线类型"}


def test_named_folder_evidence_alternatives_and_unplaced(named_init):
    result, _, root = named_init
    text = result.text
    assert "# confidence high: name '武隆区采矿权2024' has '采矿权'" in text
    # the corner table of the same rights is another candidate, shown commented out, with why
    assert "# [layers.quarries]" in text and "采矿权拐点坐标.xlsx" in text and "shares 6 quarry id(s)" in text
    # distractors listed with the reason, never dropped
    assert "照片/现场照片.jpg" in text and "not a spatial file type (.jpg)" in text
    assert "工作说明.docx: not a spatial file type (.docx)" in text
    assert "2019年人口统计.csv: a table without corner-point columns" in text
    assert "城镇开发边界" in text  # the other layer of the GeoPackage is shown somewhere
    assert not (root / "catalog.toml").exists()  # nothing written inside the raw folder


def test_named_folder_reads_as_canonical_pack(named_init):
    result, _, _ = named_init
    assert result.report.ok, result.report.to_text()
    pack = read_pack(result.catalog)
    canonical = read_pack(DEMO)
    quarries = pack["quarries"].set_index("quarry_id").sort_index()
    golden = canonical["quarries"].set_index("quarry_id").sort_index()
    assert list(quarries.index) == list(golden.index)  # 140 + 10 concatenated, none lost or doubled
    # 吨/年 converted back to 万吨/年 exactly
    np.testing.assert_array_equal(quarries["capacity"].to_numpy(dtype=float), golden["capacity"].to_numpy(dtype=float))
    assert (pd.to_datetime(quarries["license_end"]) == pd.to_datetime(golden["license_end"])).all()
    assert quarries.geometry.area.to_numpy() == pytest.approx(golden.geometry.area.to_numpy(), rel=1e-9)
    assert any("capacity converted from 吨/年 to 万吨/年" in n for n in pack.provenance["quarries"]["notes"])
    assert sorted(pack["roads"]["kind"]) == sorted(canonical["roads"]["kind"])
    assert pack["rivers"]["main"].tolist() == canonical["rivers"]["main"].tolist()
    assert sorted(pack["protected_areas"]["kind"]) == sorted(canonical["protected_areas"]["kind"])
    # the 部标 TXT farmland: the same parcels, areas to the millimetre coordinates written
    assert len(pack["farmland"]) == len(canonical["farmland"])
    assert pack["farmland"].geometry.area.sum() == pytest.approx(canonical["farmland"].geometry.area.sum(), rel=1e-7)


def test_run_on_init_catalog_same_decisions_as_canonical_pack(named_init, tmp_path):
    result, _, root = named_init
    out = tmp_path / "plan"
    run = wlgeo_cli("run", result.catalog, "--out", out, "--no-sites")
    assert run.returncode == 0, run.stdout + run.stderr  # written, caps met
    decided = gpd.read_file(out / "plan.gpkg", layer="quarries", engine="pyogrio").set_index("quarry_id")
    golden = wlgeo.plan(DEMO, sites=False).quarries.set_index("quarry_id")
    assert decided["decision"].sort_index().to_dict() == golden["decision"].sort_index().to_dict()
    assert decided["decision"].value_counts().to_dict() == {"expire": 62, "retain": 33, "close": 29, "consolidate": 26}
    # the manifest names and hashes both files of the quarries' path list
    import hashlib
    import json

    inputs = {Path(item["path"]).name: item for item in json.loads((out / "manifest.json").read_text())["inputs"]}
    for name in ("武隆区采矿权2024.shp", "新增采矿权.shp"):
        assert inputs[name]["layers"] == ["quarries"]
        parts = sorted(root.glob(Path(name).stem + ".*"))
        digest = hashlib.sha256(b"".join(p.read_bytes() for p in parts)).hexdigest()
        assert inputs[name]["sha256"] == digest
    # a folder that also holds that run's plan.gpkg: the raw files stay active, the plan's layers are not inputs
    again = tmp_path / "raw_and_plan"
    shutil.copytree(root, again)
    shutil.copyfile(out / "plan.gpkg", again / "plan.gpkg")
    second = wlgeo.init_catalog(again, tmp_path / "again.toml")
    layers = tomllib.loads(second.text)["layers"]
    assert sorted(_paths(layers["quarries"])) == ["新增采矿权.shp", "武隆区采矿权2024.shp"]
    assert "plan.gpkg (layer 'consolidation_groups'): a layer a wlgeo run writes (plan output), not an input" in second.text
    assert "this layer is a plan's output (it has decision and reasons), not raw input" in second.text


# ----------------------------------------------------------------------------- renamed folder
def test_renamed_folder_placed_from_fields_and_values(renamed_init):
    result, written, root = renamed_init
    layers = _catalog(result)["layers"]
    for layer in ("quarries", "roads", "rivers", "protected_areas", "towns", "settlements"):
        assert layer in layers, (layer, result.text)
        assert sorted(_paths(layers[layer])) == sorted(written[layer]), layer
    # whatever else was placed is placed right, and every layer file is named in the catalog
    for layer, entry in layers.items():
        assert sorted(_paths(entry)) == sorted(written[layer]), layer
    for layer, files in written.items():
        for file in files:
            assert Path(file).name in result.text, (layer, file)
    assert layers["roads"]["values"]["kind"]["高速公路"] == "expressway"
    assert layers["quarries"]["fields"]["capacity"] == "生产规模"
    # the evidence is from content, not names
    assert "values of 道路等级 are road classes" in result.text
    assert "field 人口 looks like population" in result.text


def test_renamed_folder_runs_like_canonical_pack(renamed_init):
    result, _, _ = renamed_init
    pack = read_pack(result.catalog)
    golden = read_pack(DEMO)
    for layer in ("quarries", "roads", "rivers", "protected_areas", "towns", "settlements"):
        assert len(pack[layer]) == len(golden[layer]), layer
    decided = wlgeo.plan(pack, sites=False).quarries.set_index("quarry_id")["decision"].sort_index()
    expected = wlgeo.plan(golden, sites=False).quarries.set_index("quarry_id")["decision"].sort_index()
    assert decided.to_dict() == expected.to_dict()


# ----------------------------------------------------------------------------- CLI and bad input
def wlgeo_cli(*args, cwd=None) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "wlgeo.cli", *map(str, args)], capture_output=True, text=True,
                            cwd=cwd, timeout=600)
    assert "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr
    return result


def _small_folder(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    quarries = _quarries_raw(demo("quarries").iloc[:5])
    write_gbk_shapefile(quarries, root / "采矿权.shp")
    return root


def test_cli_init_writes_validates_and_never_overwrites(tmp_path):
    folder = _small_folder(tmp_path / "raw")
    out = tmp_path / "catalog.toml"
    first = wlgeo_cli("init", folder, "--out", out)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "quarries" in first.stdout and f"wrote {out}" in first.stdout and "OK 通过" in first.stdout
    before = out.read_bytes()
    again = wlgeo_cli("init", folder, "--out", out)
    assert again.returncode == 2 and "already exists" in again.stderr and "--overwrite" in again.stderr
    assert out.read_bytes() == before
    forced = wlgeo_cli("init", folder, "--out", out, "--overwrite")
    assert forced.returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["catalog.toml", "raw"]  # no temporary file left
    assert sorted(p.name for p in folder.iterdir()) == ["采矿权.dbf", "采矿权.prj", "采矿权.shp", "采矿权.shx"]


def test_cli_init_empty_missing_and_non_spatial_folders(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    r = wlgeo_cli("init", empty, "--out", tmp_path / "a.toml")
    assert r.returncode == 2 and "holds no file" in r.stderr
    r = wlgeo_cli("init", tmp_path / "nosuch", "--out", tmp_path / "b.toml")
    assert r.returncode == 2 and "no such folder" in r.stderr
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "a.jpg").write_bytes(b"\xff\xd8\xff")
    (junk / "notes.txt").write_text("会议纪要\n", encoding="utf-8")
    r = wlgeo_cli("init", junk, "--out", tmp_path / "c.toml")
    assert r.returncode == 2 and "no layer found among 2 file(s)" in r.stderr
    assert not (tmp_path / "a.toml").exists() and not (tmp_path / "c.toml").exists()


def test_cli_init_no_quarries_bad_files_loops_zip_gbk_names(tmp_path):
    folder = tmp_path / "raw"
    folder.mkdir()
    roads = demo("roads")
    extra = roads.iloc[:3].copy()
    kinds = gpd.GeoDataFrame({"道路等级": ["高速公路", "一级公路", "村道"]}, geometry=extra.geometry.values, crs=roads.crs)
    write_gbk_shapefile(kinds, folder / "交通道路.shp")
    (folder / "交通道路.prj").unlink()  # no CRS: the reader places it from the magnitudes, init writes it down
    (folder / "坏文件.gpkg").write_bytes(b"SQLite format 3\0" + b"\0" * 50)  # truncated
    (folder / "截断.shp").write_bytes(b"\0\0\x27\x0a" + b"\0" * 20)
    (folder / "截断.shx").write_bytes(b"\0" * 10)
    os.symlink(folder, folder / "loop")  # a symlink loop
    import zipfile

    towns = demo("towns")
    inner = tmp_path / "zipped"
    inner.mkdir()
    write_gbk_shapefile(gpd.GeoDataFrame({"乡镇名称": towns["town"]}, geometry=towns.geometry.values, crs=towns.crs),
                        inner / "乡镇界.shp")
    with zipfile.ZipFile(folder / "乡镇界.zip", "w") as archive:
        for part in inner.iterdir():
            archive.write(part, part.name)
    gbk_name = os.fsdecode("采矿权2024.shp".encode("gbk"))
    write_gbk_shapefile(_quarries_raw(demo("quarries").iloc[:3]), tmp_path / "tmp.shp")
    for part in tmp_path.glob("tmp.*"):
        os.rename(part, folder / os.fsdecode("采矿权2024".encode("gbk") + part.suffix.encode()))
    (tmp_path / "old").mkdir()
    write_gbk_shapefile(kinds, tmp_path / "old" / "roads.shp")
    os.rename(tmp_path / "old", folder / os.fsdecode("旧资料".encode("gbk")))  # GDAL cannot write there itself
    out = tmp_path / "catalog.toml"
    before = {p.name: (p.lstat().st_size, p.lstat().st_mtime_ns) for p in folder.iterdir()}
    assert len(before) == 13
    r = wlgeo_cli("init", folder, "--out", out)
    assert r.returncode == 1, r.stdout + r.stderr  # written, but validation finds no quarries
    text = out.read_text(encoding="utf-8")
    catalog = tomllib.loads(text)
    assert [name for name in catalog["layers"] if name != "towns"] == ["roads"]
    assert catalog["layers"]["roads"]["values"]["kind"] == {"高速公路": "expressway"}
    assert catalog["layers"]["roads"]["crs"] == "EPSG:4545" and catalog["layers"]["roads"]["encoding"] == "gbk"
    assert '"一级公路" (1)' in text and '"村道" (1)' in text  # unmapped values listed
    assert "no layer looks like the quarries" in text
    assert "坏文件.gpkg: cannot be read" in text and "截断.shp: cannot be read" in text
    if ".zip" in SUPPORTED_SUFFIXES:  # the reader opens zipped shapefiles in place: the layer is placed
        assert _paths(catalog["layers"]["towns"]) == ["乡镇界.zip"]
    else:  # the reader does not: init says to unpack it, with its guess read in place through /vsizip/
        assert "乡镇界.zip (layer '乡镇界.shp'): holds 乡镇界.shp" in text and "unpack it" in text
        zip_line = next(line for line in text.splitlines() if "holds 乡镇界.shp" in line)
        assert "candidates: towns (" in zip_line
    assert "采矿权2024.shp: the file name is not UTF-8 (GBK bytes)" in text
    assert "旧资料: the folder name is not UTF-8 (GBK bytes): its files were not opened" in text
    assert "loop: a link back to a folder already scanned (symlink loop); skipped" in text
    assert "layer_missing" in r.stdout and "value_not_allowed" in r.stdout
    # nothing written or changed in the folder (the GBK-named files are where they were)
    assert {p.name: (p.lstat().st_size, p.lstat().st_mtime_ns) for p in folder.iterdir()} == before
    assert gbk_name in before


def test_unit_volume_needs_density_and_explicit_mapping_wins(tmp_path):
    folder = tmp_path / "raw"
    folder.mkdir()
    frame = demo("quarries").iloc[:4]
    raw = gpd.GeoDataFrame(
        {"矿山编号": frame["quarry_id"], "年产量(万方)": [10.0, 20.0, 30.0, 40.0], "有效期止": frame["license_end"]},
        geometry=frame.geometry.values, crs=frame.crs)
    raw.to_file(folder / "采矿权.gpkg", engine="pyogrio")
    out = tmp_path / "c.toml"
    result = wlgeo.init_catalog(folder, out)
    catalog = tomllib.loads(result.text)
    assert catalog["layers"]["quarries"]["fields"]["capacity"] == "年产量(万方)"
    assert catalog["layers"]["quarries"]["units"] == {"capacity": "万立方米/年"}
    assert "# density = 2.6" in result.text
    assert not result.report.ok and "set density" in result.report.to_text()
    # the planner edits the catalog: an explicit mapping and a density; a column the automatic
    # renaming would take for capacity (生产规模) is there too, and the explicit mapping wins
    raw["生产规模"] = [1.0, 2.0, 3.0, 4.0]
    raw.to_file(tmp_path / "edited.gpkg", engine="pyogrio")
    out.write_text(
        '[layers.quarries]\npath = "edited.gpkg"\n[layers.quarries.fields]\ncapacity = "年产量(万方)"\n'
        '[layers.quarries.units]\ncapacity = "万立方米/年"\ndensity = 2.5\n', encoding="utf-8")
    pack = read_pack(out)
    assert pack["quarries"]["capacity"].tolist() == [25.0, 50.0, 75.0, 100.0]
    assert pack["quarries"]["生产规模"].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert pack["quarries"]["quarry_id"].tolist() == frame["quarry_id"].tolist()  # Chinese alias still renamed


def test_thousands_of_files_capped_and_listed(tmp_path):
    folder = tmp_path / "raw"
    photos = folder / "照片"
    photos.mkdir(parents=True)
    for i in range(2500):
        (photos / f"IMG_{i:04d}.jpg").write_bytes(b"\xff\xd8\xff")
    roads = demo("roads").iloc[:4]
    frame = gpd.GeoDataFrame({"道路等级": ["高速公路"] * 4}, geometry=roads.geometry.values, crs=roads.crs)
    for i in range(5):
        frame.to_file(folder / f"交通道路{i}.gpkg", engine="pyogrio")
    seen = []
    result = wlgeo.init_catalog(folder, tmp_path / "c.toml", max_files=3, progress=lambda d, t, n: seen.append((d, t)))
    assert seen == [(1, 3), (2, 3), (3, 3)]
    assert result.proposal.scanned == 2505
    assert "5 spatial files found; only the first 3 were opened" in result.text
    assert result.text.count("more than 3 spatial files") == 2
    # three copies of the same roads: the first one active, the repeats shown as candidates
    assert _paths(tomllib.loads(result.text)["layers"]["roads"]) == ["交通道路0.gpkg"]
    assert result.text.count("repeats 4 geometries of 交通道路0.gpkg") == 2
    assert "… and 2202 more (2202 .jpg)" in result.text  # the listing stays readable


def test_unknown_crs_layer_kept_slope_raster_and_cad_explained(tmp_path):
    import rasterio
    from shapely.affinity import translate

    folder = tmp_path / "raw"
    folder.mkdir()
    raw = _quarries_raw(demo("quarries").iloc[:5])
    # a local grid: coordinates that fit no known system, no .prj
    raw = raw.set_geometry([translate(g, -440_000, -3_240_000) for g in raw.geometry], crs=None)
    write_gbk_shapefile(raw, folder / "采矿权.shp")
    (folder / "采矿权.prj").unlink(missing_ok=True)
    with rasterio.open(DEMO_DEM) as src:
        profile, band = src.profile, src.read(1)
    profile.update(dtype="float32", nodata=None)
    with rasterio.open(folder / "坡度.tif", "w", **profile) as dst:
        dst.write((band % 40).astype("float32"), 1)
    (folder / "规划图.dwg").write_bytes(b"AC1027" + b"\0" * 64)
    result = wlgeo.init_catalog(folder, tmp_path / "c.toml")
    catalog = tomllib.loads(result.text)
    assert _paths(catalog["layers"]["quarries"]) == ["采矿权.shp"]
    assert "crs" not in catalog["layers"]["quarries"]
    assert '# crs = "EPSG:…"                  # REQUIRED: no CRS in the file and the coordinates fit no known system' in result.text
    assert [p.code for p in result.report.errors] == ["crs_unplaced"]
    assert "dem" not in catalog
    assert "坡度.tif: raster (1 band(s) of float32)" in result.text and "name has '坡度': not an elevation model" in result.text
    assert "规划图.dwg: a CAD drawing (.dwg): export its layers" in result.text


@pytest.mark.parametrize(
    "tables, message",
    [
        ('[layers.quarries.fields]\ncapacity = 5\n', "[layers.quarries.fields] capacity must name a source column in quotes, got 5"),
        ('[layers.quarries.fields]\n"生产规模" = "capacity"\n', "a canonical field name is English snake_case"),
        ('[layers.quarries.units]\ncapacity = "斤/年"\n', "capacity = '斤/年': unknown unit; known: 万吨/年"),
        ('[layers.quarries.units]\nname = "吨"\n', "only capacity, reserves carry a unit"),
        ('[layers.quarries.units]\ndensity = -1\n', "density must be a positive number (t/m³, e.g. 2.6), got -1"),
        ('[layers.quarries.values.status]\n"停产" = ["x"]\n', "the canonical value must be text, a number or true/false"),
    ],
)
def test_catalog_mapping_tables_checked(tmp_path, tables, message):
    write_gbk_shapefile(_quarries_raw(demo("quarries").iloc[:3]), tmp_path / "采矿权.shp", cpg=True)
    catalog = tmp_path / "c.toml"
    catalog.write_text('[layers.quarries]\npath = "采矿权.shp"\n' + tables, encoding="utf-8")
    with pytest.raises(wlgeo.ReadError) as caught:
        read_pack(catalog)
    assert message in str(caught.value) and "c.toml" in str(caught.value)
    r = wlgeo_cli("validate", catalog)
    assert r.returncode == 2 and message in r.stderr


def test_catalog_path_list_and_missing_source_column(tmp_path):
    raw = _quarries_raw(demo("quarries").iloc[:6])
    write_gbk_shapefile(raw.iloc[:4], tmp_path / "a.shp", cpg=True)
    write_gbk_shapefile(raw.iloc[4:], tmp_path / "b.shp", cpg=True)
    catalog = tmp_path / "c.toml"
    catalog.write_text(
        'district = "武隆区"\nsynthetic = true\nworking_crs = "EPSG:4545"\n'
        '[layers.quarries]\npath = ["a.shp", "b.shp"]\n[layers.quarries.fields]\ncapacity = "生产规模"\n'
        '[layers.quarries.units]\ncapacity = "吨/年"\n', encoding="utf-8")
    pack = read_pack(catalog)
    assert pack["quarries"]["quarry_id"].tolist() == demo("quarries")["quarry_id"].iloc[:6].tolist()
    assert pack["quarries"]["capacity"].tolist() == demo("quarries")["capacity"].iloc[:6].tolist()
    assert pack.provenance["quarries"]["paths"] == [str(tmp_path / "a.shp"), str(tmp_path / "b.shp")]
    assert "2 files concatenated: a.shp (4), b.shp (2)" in pack.provenance["quarries"]["notes"]
    catalog.write_text('[layers.quarries]\npath = ["a.shp", "b.shp"]\n[layers.quarries.fields]\ncapacity = "产能"\n',
                       encoding="utf-8")
    report = wlgeo.check_pack(catalog)
    assert [p.code for p in report.errors] == ["layer_unreadable"]
    assert "[layers.quarries.fields] capacity = '产能': no such column; the columns are: 矿山编号" in report.errors[0].message
    catalog.write_text('[layers.quarries]\npath = []\n', encoding="utf-8")
    with pytest.raises(wlgeo.ReadError, match=r"path = \[\] lists no file"):
        read_pack(catalog)


def test_cropland_is_not_taken_for_permanent_farmland(tmp_path):
    folder = tmp_path / "raw"
    folder.mkdir()
    farmland = demo("farmland").iloc[:20]
    land_use = gpd.GeoDataFrame({"地类名称": ["水田", "旱地"] * 10, "地类编码": ["0101", "0103"] * 10},
                                geometry=farmland.geometry.values, crs=farmland.crs)
    land_use.to_file(folder / "耕地.gpkg", engine="pyogrio")
    result = wlgeo.init_catalog(folder, tmp_path / "c.toml")
    assert "layers" not in tomllib.loads(result.text)
    line = next(line for line in result.text.splitlines() if "耕地.gpkg" in line)
    assert "candidates: farmland (low:" in line and "has '耕地' (a weak hint)" in line
    assert "land use, not necessarily 永久基本农田" in line
    assert [p.code for p in result.report.errors] == ["layer_missing"]


def test_geopackage_attribute_table_listed_and_layer_named(tmp_path):
    import pyogrio

    folder = tmp_path / "raw"
    folder.mkdir()
    demo("ports").to_file(folder / "港口.gpkg", layer="港口", engine="pyogrio")
    pyogrio.write_dataframe(pd.DataFrame({"年份": [2023, 2024], "吞吐量": [120, 150]}), folder / "港口.gpkg", layer="吞吐量统计")
    result = wlgeo.init_catalog(folder, tmp_path / "c.toml")
    entry = tomllib.loads(result.text)["layers"]["ports"]
    assert entry["layer"] == "港口"  # the file lists two tables: the reader needs the name
    assert "港口.gpkg (layer '吞吐量统计'): a table without geometry (not a layer)" in result.text
    assert [p.code for p in result.report.problems] == ["layer_missing"]  # ports read clean; no quarries


def test_large_files_are_sampled(tmp_path, monkeypatch):
    from wlgeo.io import infer

    folder = tmp_path / "raw"
    folder.mkdir()
    roads = demo("roads")
    write_gbk_shapefile(gpd.GeoDataFrame({"道路等级": roads["kind"].map(ROAD_ZH)}, geometry=roads.geometry.values,
                                         crs=roads.crs), folder / "data1.shp")
    monkeypatch.setattr(infer, "LARGE_FILE_BYTES", 1024)  # every file counts as large here
    monkeypatch.setattr(infer, "SAMPLE_ROWS", 10)
    result = wlgeo.init_catalog(folder, tmp_path / "c.toml")
    entry = tomllib.loads(result.text)["layers"]["roads"]
    assert entry["encoding"] == "gbk" and entry["values"]["kind"]["高速公路"] == "expressway"
    assert "# reader: large file (0 MB): guessed from its first 10 features" in result.text
    assert "# 32 feature(s), line geometry" in result.text  # the count is the file's, not the sample's
    assert [p.code for p in result.report.problems] == ["layer_missing"]  # roads read clean; no quarries


def test_layer_with_only_geometry_listed_with_candidates(tmp_path):
    folder = tmp_path / "raw"
    folder.mkdir()
    farmland = demo("farmland")
    farmland[["geometry"]].to_file(folder / "data7.shp", engine="pyogrio")
    result = wlgeo.init_catalog(folder, tmp_path / "c.toml")
    assert "layers" not in tomllib.loads(result.text)  # never placed on geometry alone
    line = next(line for line in result.text.splitlines() if "data7.shp" in line)
    assert line.startswith("#   raw/data7.shp: 902 polygon(s): nothing in its name, fields or values points")
    assert "candidates: farmland, red_line, protected_areas (low: only the geometry to go by (902 polygon(s)" in line
