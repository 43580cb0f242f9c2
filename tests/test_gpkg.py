"""The GeoPackage writer: validity (GDAL's validator), dates, booleans, aliases, metadata,
QGIS styles, atomic writing and the round trip through ``read_layer``."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
import subprocess
import sys
import xml.etree.ElementTree as ET

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from osgeo_utils.samples import validate_gpkg
from shapely.geometry import LineString, Point, box

from wlgeo import OutputError, read_layer
from wlgeo.products.geopackage import read_gpkg_metadata, write_geopackage

# a corner in Wulong (about 107.7E 29.3N) in EPSG:4545 metres: read_layer checks the coordinates
X0, Y0 = 470_000.0, 3_245_000.0

DECISION_ZH = {"close": "关闭退出", "expire": "到期退出", "retain": "予以保留", "consolidate": "优化整合", "new": "规划新建"}


def validator_errors(path) -> list:
    """Every error and warning of GDAL's validate_gpkg (warnings count as errors)."""
    return validate_gpkg.check(str(path), abort_at_first_error=False, warning_as_error=True, myprint=lambda *_: None)


def plan_layers() -> dict[str, gpd.GeoDataFrame]:
    quarries = gpd.GeoDataFrame(
        {
            "quarry_id": ["Q-1", "Q-2", "Q-3", "Q-4"],
            "name": ["白马石场", None, "火炉采石场", "江口石场"],
            "capacity": [30.0, 80.0, 12.5, 60.0],
            "license_end": [dt.date(2027, 5, 1), None, dt.date(2030, 1, 31), dt.date(2029, 12, 31)],
            "license_start": pd.to_datetime(["2017-05-01", "2018-01-01", None, "2019-03-15"]),
            "town": ["白马镇", "白马镇", "火炉镇", "江口镇"],
            "decision": ["close", "retain", "consolidate", "expire"],
            "decision_zh": ["关闭退出", "予以保留", "优化整合", "到期退出"],
            "reasons": ["red_line:100m2(1.0%)", "", "merge:G-1", "trunk_line:800m"],
            "red_line_m2": [100.0, 0.0, 0.0, np.nan],
            "group_id": pd.array([None, None, "G-1", None], dtype="string"),
            "checked": [True, False, True, True],
        },
        geometry=[
            box(0, 0, 100, 100),
            shapely.MultiPolygon([box(200, 0, 300, 100), box(400, 0, 500, 50)]),
            box(600, 0, 700, 100),
            box(800, 0, 900, 200),
        ],
        crs="EPSG:4545",
    )
    roads = gpd.GeoDataFrame(
        {"kind": ["national", "township"], "name": ["G319", None]},
        geometry=[LineString([(0, 0), (1000, 1000)]), LineString([(0, 100), (50, 1000)])],
        crs="EPSG:4545",
    )
    ports = gpd.GeoDataFrame({"name": ["白马港"]}, geometry=[Point(5, 5)], crs="EPSG:4545")
    groups = gpd.GeoDataFrame(
        {"group_id": ["G-1"], "members": ["Q-3"], "n_members": [1], "capacity": [12.5]},
        geometry=[box(600, 0, 700, 100)],
        crs="EPSG:4545",
    )
    new_sites = gpd.GeoDataFrame(
        {"site_id": pd.Series([], dtype=object), "score": pd.Series([], dtype=float)},
        geometry=gpd.GeoSeries([], crs="EPSG:4545"),
    )
    layers = {"quarries": quarries, "consolidation_groups": groups, "new_sites": new_sites, "roads": roads, "ports": ports}
    for frame in layers.values():
        frame.geometry = frame.geometry.translate(X0, Y0)
    return layers


META = {
    "scenario": {"name": "baseline", "horizon": dt.date(2028, 12, 31), "blast_distance_m": 300.0},
    "inputs": {"quarries": {"path": "layers/wulong.gpkg", "sha256": "ab" * 32}},
    "wlgeo_version": "0.1.0",
    "run_time": "2025-01-02T03:04:05+08:00",
}


@pytest.fixture()
def plan_gpkg(tmp_path):
    return write_geopackage(tmp_path / "plan.gpkg", plan_layers(), metadata=META)


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---------------------------------------------------------------------------- validity


def test_plan_gpkg_passes_gdal_validator(plan_gpkg):
    assert validator_errors(plan_gpkg) == []


def test_validator_command_line_exit_zero(plan_gpkg):
    run = subprocess.run(
        [sys.executable, "-m", "osgeo_utils.samples.validate_gpkg", "-k", str(plan_gpkg)],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Req" not in run.stdout and "Error" not in run.stdout


def test_layers_crs_and_geometries(plan_gpkg):
    # the validator skips WKB parsing without osgeo: compare the geometries ourselves
    layers = dict(pyogrio.list_layers(plan_gpkg))
    assert layers["quarries"] == "MultiPolygon"
    assert layers["roads"] == "LineString"
    assert layers["ports"] == "Point"
    back = pyogrio.read_dataframe(plan_gpkg, layer="quarries")
    assert back.crs.to_epsg() == 4545
    # areas of the rectangles built above: 100*100, 100*100 + 100*50, 100*100, 100*200
    assert back.area.tolist() == pytest.approx([10_000, 15_000, 10_000, 20_000])
    assert back.geometry.geom_type.unique().tolist() == ["MultiPolygon"]
    with sqlite3.connect(plan_gpkg) as conn:
        srs = {r[0] for r in conn.execute("SELECT srs_id FROM gpkg_contents WHERE data_type = 'features'")}
    assert srs == {4545}


def test_contents_identifier_and_description(plan_gpkg):
    with sqlite3.connect(plan_gpkg) as conn:
        rows = dict(
            (r[0], r[1:]) for r in conn.execute("SELECT table_name, identifier, description, data_type FROM gpkg_contents")
        )
    assert rows["quarries"][0] == "碎石矿山 quarries"
    assert "关闭退出" in rows["quarries"][1]
    assert rows["roads"][0] == "交通干线 roads"
    assert rows["new_sites"][0] == "规划新建 new_sites"
    assert rows["layer_styles"][2] == "attributes"
    assert all(r[1] for r in rows.values())


def test_description_override(tmp_path):
    path = write_geopackage(tmp_path / "d.gpkg", {"ports": plan_layers()["ports"]}, descriptions={"ports": "港口 2024 普查"})
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT description FROM gpkg_contents WHERE table_name='ports'").fetchone()[0] == "港口 2024 普查"


# ---------------------------------------------------------------------------- field types


def test_dates_are_geopackage_dates(plan_gpkg):
    with sqlite3.connect(plan_gpkg) as conn:
        declared = {r[1]: r[2] for r in conn.execute("PRAGMA table_info(quarries)")}
        stored = conn.execute("SELECT license_end, license_start FROM quarries ORDER BY fid").fetchall()
    assert declared["license_end"] == "DATE"
    assert declared["license_start"] == "DATE"
    assert stored == [("2027-05-01", "2017-05-01"), (None, "2018-01-01"), ("2030-01-31", None), ("2029-12-31", "2019-03-15")]
    info = pyogrio.read_info(plan_gpkg, layer="quarries")
    types = dict(zip(info["fields"], info["ogr_types"]))
    assert types["license_end"] == "OFTDate"
    back = read_layer(plan_gpkg, layer="quarries")
    assert back["license_end"].iloc[0].date() == dt.date(2027, 5, 1)
    assert pd.isna(back["license_end"].iloc[1])


def test_datetime_with_time_stays_datetime(tmp_path):
    frame = plan_layers()["ports"].assign(license_end=pd.to_datetime(["2027-05-01 13:30"]))
    path = write_geopackage(tmp_path / "t.gpkg", {"ports": frame})
    with sqlite3.connect(path) as conn:
        declared = {r[1]: r[2] for r in conn.execute("PRAGMA table_info(ports)")}
    assert declared["license_end"] == "DATETIME"  # a time of day is not dropped silently


def test_booleans_are_booleans(plan_gpkg):
    with sqlite3.connect(plan_gpkg) as conn:
        declared = {r[1]: r[2] for r in conn.execute("PRAGMA table_info(quarries)")}
    assert declared["checked"] == "BOOLEAN"
    back = pyogrio.read_dataframe(plan_gpkg, layer="quarries")
    assert back["checked"].dtype == bool
    assert back["checked"].tolist() == [True, False, True, True]


# ---------------------------------------------------------------------------- aliases, metadata


def test_chinese_aliases_in_data_columns(plan_gpkg):
    with sqlite3.connect(plan_gpkg) as conn:
        aliases = dict(conn.execute("SELECT column_name, name FROM gpkg_data_columns WHERE table_name='quarries'"))
        ext = conn.execute("SELECT COUNT(*) FROM gpkg_extensions WHERE extension_name='gpkg_schema'").fetchone()[0]
    assert aliases["quarry_id"] == "矿山编号"
    assert aliases["capacity"] == "生产规模(万吨/年)"
    assert aliases["license_end"] == "采矿许可证有效期止"
    assert aliases["decision"] == "处置方式"
    assert "checked" not in aliases  # no alias known: none invented
    assert ext == 2


def test_metadata_json_round_trip(plan_gpkg):
    got = read_gpkg_metadata(plan_gpkg)
    expected = json.loads(json.dumps(META, default=str))  # dates become ISO strings
    assert got == expected
    assert got["scenario"]["horizon"] == "2028-12-31"
    with sqlite3.connect(plan_gpkg) as conn:
        refs = conn.execute(
            "SELECT r.reference_scope, m.mime_type, m.md_scope FROM gpkg_metadata_reference r "
            "JOIN gpkg_metadata m ON m.id = r.md_file_id"
        ).fetchall()
    assert refs == [("geopackage", "application/json", "dataset")]


def test_no_metadata_means_none(tmp_path):
    path = write_geopackage(tmp_path / "n.gpkg", {"ports": plan_layers()["ports"]})
    assert read_gpkg_metadata(path) is None
    assert validator_errors(path) == []


def test_metadata_not_json_is_refused(tmp_path):
    with pytest.raises(OutputError, match="JSON"):
        write_geopackage(tmp_path / "m.gpkg", {"ports": plan_layers()["ports"]}, metadata={"x": object()})
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------- QGIS styles


def _styles(path) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT f_table_name, styleName, styleQML, styleSLD, useAsDefault, f_geometry_column FROM layer_styles").fetchall()


def test_one_default_style_per_layer(plan_gpkg):
    rows = _styles(plan_gpkg)
    defaults = [r[0] for r in rows if r[4] == 1]
    assert sorted(defaults) == sorted(plan_layers())
    assert all(r[5] == "geom" for r in rows)


def _qml(path, layer) -> ET.Element:
    qml = next(r[2] for r in _styles(path) if r[0] == layer)
    assert qml.startswith("<!DOCTYPE qgis")
    return ET.fromstring(qml.split("\n", 1)[1])


def test_quarries_qml_categories_and_labels(plan_gpkg):
    root = _qml(plan_gpkg, "quarries")
    renderer = root.find("renderer-v2")
    assert renderer.get("type") == "categorizedSymbol"
    assert renderer.get("attr") == "decision"
    categories = {c.get("value"): c.get("label") for c in renderer.iter("category")}
    assert set(categories) == set(DECISION_ZH)
    for value, zh in DECISION_ZH.items():
        assert zh in categories[value]
    symbol_names = {s.get("name") for s in renderer.find("symbols")}
    assert {c.get("symbol") for c in renderer.iter("category")} == symbol_names
    assert all(s.get("type") == "fill" for s in renderer.find("symbols"))
    # close is drawn with the style spec's red fill #e31a1c at 0.75 opacity
    close = renderer.find("symbols/symbol[@name='%s']" % next(c.get("symbol") for c in renderer.iter("category") if c.get("value") == "close"))
    assert close.find("layer/Option/Option[@name='color']").get("value") == "227,26,28,191"
    assert root.find("layerGeometryType").text == "2"
    label = root.find("labeling/settings/text-style").get("fieldName")
    assert '"quarry_id"' in label and '"name"' in label
    aliases = {a.get("field"): a.get("name") for a in root.iter("alias")}
    assert aliases["quarry_id"] == "矿山编号"


def test_context_layer_styles(plan_gpkg):
    roads = _qml(plan_gpkg, "roads")
    assert roads.find("renderer-v2").get("attr") == "kind"
    kinds = {c.get("value") for c in roads.iter("category")}
    assert {"expressway", "railway", "national", "provincial", "county", "township"} <= kinds
    assert roads.find("layerGeometryType").text == "1"
    ports = _qml(plan_gpkg, "ports")
    assert ports.find("renderer-v2").get("type") == "singleSymbol"
    assert ports.find("renderer-v2/symbols/symbol").get("type") == "marker"
    assert ports.find("layerGeometryType").text == "0"
    groups = _qml(plan_gpkg, "consolidation_groups")
    classes = [layer.get("class") for layer in groups.iter("layer")]
    assert classes == ["SimpleFill", "SimpleLine"]  # no fill, dashed outline (4, 3)
    assert groups.find(".//layer[@class='SimpleLine']/Option/Option[@name='customdash']").get("value") == "4;3"


def test_sld_parses_with_rules(plan_gpkg):
    sld = next(r[3] for r in _styles(plan_gpkg) if r[0] == "quarries")
    root = ET.fromstring(sld.encode("utf-8"))
    se = "{http://www.opengis.net/se}"
    rules = root.findall(f".//{se}Rule")
    assert len(rules) == 5
    literals = [e.text for e in root.iter("{http://www.opengis.net/ogc}Literal")]
    assert sorted(literals) == sorted(DECISION_ZH)


def test_styles_false_writes_no_style_table(tmp_path):
    path = write_geopackage(tmp_path / "s.gpkg", plan_layers(), styles=False)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT 1 FROM sqlite_master WHERE name='layer_styles'").fetchone() is None
    assert validator_errors(path) == []


# ---------------------------------------------------------------------------- round trip


def test_round_trip_through_read_layer(plan_gpkg):
    original = plan_layers()["quarries"]
    back = read_layer(plan_gpkg, layer="quarries")
    assert len(back) == len(original)
    assert back["quarry_id"].tolist() == original["quarry_id"].tolist()
    assert back["decision"].tolist() == original["decision"].tolist()
    assert back["decision_zh"].tolist() == original["decision_zh"].tolist()
    assert back["capacity"].tolist() == original["capacity"].tolist()
    assert back["name"].iloc[0] == "白马石场" and pd.isna(back["name"].iloc[1])
    # single polygons come back as one-part multipolygons covering the same ground
    assert shapely.equals(back.geometry.values, original.geometry.values).all()
    assert back.area.tolist() == pytest.approx([10_000, 15_000, 10_000, 20_000])


# ---------------------------------------------------------------------------- refusals, atomicity


def test_existing_target_refused_without_overwrite(plan_gpkg):
    before = _sha(plan_gpkg)
    with pytest.raises(OutputError, match="overwrite"):
        write_geopackage(plan_gpkg, {"ports": plan_layers()["ports"]})
    assert _sha(plan_gpkg) == before
    write_geopackage(plan_gpkg, {"ports": plan_layers()["ports"]}, overwrite=True)
    assert [row[0] for row in pyogrio.list_layers(plan_gpkg)] == ["ports", "layer_styles"]


def test_failure_in_second_layer_leaves_nothing(tmp_path):
    layers = plan_layers()
    layers["roads"] = layers["roads"].assign(duration=pd.to_timedelta([1, 2], unit="s"))
    with pytest.raises(OutputError) as info:
        write_geopackage(tmp_path / "plan.gpkg", layers)
    assert info.value.layer == "roads" and info.value.field == "duration"
    assert list(tmp_path.iterdir()) == []


def test_failure_keeps_existing_target_intact(plan_gpkg):
    before = _sha(plan_gpkg)
    layers = plan_layers()
    layers["roads"] = layers["roads"].assign(z=np.array([1 + 2j, 3j]))
    with pytest.raises(OutputError):
        write_geopackage(plan_gpkg, layers, overwrite=True)
    assert _sha(plan_gpkg) == before
    assert sorted(p.name for p in plan_gpkg.parent.iterdir()) == ["plan.gpkg"]
    assert validator_errors(plan_gpkg) == []


@pytest.mark.parametrize("name", ["", "1abc", "a-b", "gpkg_x", "layer_styles", "rtree_q", "a b"])
def test_bad_layer_names_refused(tmp_path, name):
    with pytest.raises(OutputError, match="layer names"):
        write_geopackage(tmp_path / "x.gpkg", {name: plan_layers()["ports"]})
    assert list(tmp_path.iterdir()) == []


def test_bad_targets_refused(tmp_path):
    with pytest.raises(OutputError, match=".gpkg"):
        write_geopackage(tmp_path / "x.shp", {"ports": plan_layers()["ports"]})
    (tmp_path / "d.gpkg").mkdir()
    with pytest.raises(OutputError, match="directory"):
        write_geopackage(tmp_path / "d.gpkg", {"ports": plan_layers()["ports"]}, overwrite=True)
    with pytest.raises(OutputError, match="no layers"):
        write_geopackage(tmp_path / "e.gpkg", {})


def test_layer_without_crs_refused_other_crs_reprojected(tmp_path):
    ports = plan_layers()["ports"]
    with pytest.raises(OutputError, match="no CRS") as info:
        write_geopackage(tmp_path / "c.gpkg", {"ports": ports.set_crs(None, allow_override=True)})
    assert info.value.layer == "ports"
    wgs = gpd.GeoDataFrame({"name": ["p"]}, geometry=[Point(107.75, 29.33)], crs="EPSG:4326")
    path = write_geopackage(tmp_path / "c.gpkg", {"ports": wgs})
    back = pyogrio.read_dataframe(path, layer="ports")
    assert back.crs.to_epsg() == 4545
    # 107.75E lies 0.25 degrees (about 24 km at 29.3N) west of CM 108E: easting below the
    # 500 000 m false easting of EPSG:4545 (the CM form, no zone prefix)
    x = back.geometry.x.iloc[0]
    assert 470_000 < x < 480_000
