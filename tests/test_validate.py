"""check_pack: every problem reported at once, with layer / feature / field; strict; repair."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box

import wlgeo
from wlgeo import LayerError, LayerPack, check_pack, normalise_quarries, read_pack
from wlgeo.io.validate import parse_date_series

CRS = "EPSG:4545"
# District: a 60 km square inside Wulong's EPSG:4545 extent.
X0, Y0, X1, Y1 = 440_000.0, 3_220_000.0, 500_000.0, 3_280_000.0
BOUNDARY = gpd.GeoDataFrame({"name": ["武隆区"]}, geometry=[box(X0, Y0, X1, Y1)], crs=CRS)


def _q(x, y, w=200.0, h=100.0):
    return box(x, y, x + w, y + h)


def _valid_layers() -> dict[str, gpd.GeoDataFrame]:
    quarries = gpd.GeoDataFrame(
        {
            "quarry_id": ["Q-1", "Q-2"],
            "name": ["和顺采石场", "白马采石场"],
            "capacity": [30.0, "60"],
            "license_end": ["2026-06-30", "2027年1月1日"],
            "license_start": ["20160630", None],
        },
        geometry=[_q(450_000, 3_250_000), _q(460_000, 3_250_000)],
        crs=CRS,
    )
    roads = gpd.GeoDataFrame(
        {"kind": ["expressway", "county"]},
        geometry=[LineString([(441_000, 3_230_000), (499_000, 3_230_000)]), LineString([(441_000, 3_240_000), (460_000, 3_260_000)])],
        crs=CRS,
    )
    rivers = gpd.GeoDataFrame(
        {"name": ["乌江", "芙蓉江"], "main": [True, "否"]},
        geometry=[LineString([(430_000, 3_260_000), (510_000, 3_262_000)]), LineString([(480_000, 3_230_000), (482_000, 3_262_000)])],
        crs=CRS,
    )
    parks = gpd.GeoDataFrame({"name": ["白马园区"], "role": ["core"]}, geometry=[_q(470_000, 3_255_000, 1000, 1000)], crs=CRS)
    return {"boundary": BOUNDARY, "quarries": quarries, "roads": roads, "rivers": rivers, "parks": parks}


def _bad_layers() -> dict[str, gpd.GeoDataFrame]:
    bowtie = Polygon([(452_000, 3_252_000), (452_100, 3_252_100), (452_100, 3_252_000), (452_000, 3_252_100)])
    quarries = gpd.GeoDataFrame(
        {
            "quarry_id": ["Q-1", "Q-2", "Q-2", "Q-4", "Q-5", "Q-6", "Q-7", "Q-8", "Q-9", None, "Q-11"],
            "capacity": [30, -5, "abc", None, 0, 40, 40, 40, 40, 40, "25万吨/年"],
            "license_end": [
                "2026-06-30",
                "2025/6/30",
                "soon",
                "2025年6月30日",
                20250630,
                "2026-01-01",
                "2026-01-01",
                "2026-01-01",
                "2025-02-30",
                "2026-01-01",
                "2026-01-01",
            ],
        },
        geometry=[
            _q(450_000, 3_250_000),
            _q(451_000, 3_250_000),
            _q(452_000, 3_250_000),
            bowtie,
            LineString([(453_000, 3_250_000), (453_100, 3_250_000)]),
            _q(520_000, 3_250_000),  # 20 km east of the district
            None,
            Polygon(),
            _q(499_950, 3_250_000),  # sticks out 150 m
            _q(499_900, 3_251_000),  # sticks out 100 m: within tolerance
            _q(454_000, 3_250_000),
        ],
        crs=CRS,
    )
    roads = gpd.GeoDataFrame(
        {"kind": ["expressway", "highway", "national"]},
        geometry=[
            LineString([(441_000, 3_230_000), (499_000, 3_230_000)]),
            LineString([(441_000, 3_240_000), (460_000, 3_260_000)]),
            _q(445_000, 3_245_000),
        ],
        crs=CRS,
    )
    protected = gpd.GeoDataFrame({"name": ["天生三桥"]}, geometry=[_q(470_000, 3_270_000, 2000, 2000)], crs=CRS)
    rivers = gpd.GeoDataFrame({"name": ["乌江"]}, geometry=[LineString([(430_000, 3_260_000), (510_000, 3_262_000)])], crs=CRS)
    parks = gpd.GeoDataFrame({"name": ["白马园区"], "role": ["industrial"]}, geometry=[_q(470_000, 3_255_000)], crs=CRS)
    return {
        "boundary": BOUNDARY,
        "quarries": quarries,
        "roads": roads,
        "protected_areas": protected,
        "rivers": rivers,
        "parks": parks,
    }


def _find(report, code, **where):
    found = [
        p
        for p in report.problems
        if p.code == code and all(getattr(p, key) == value for key, value in where.items())
    ]
    assert len(found) == 1, f"{code} {where}: found {found} in\n{report}"
    return found[0]


def _assert_bad_pack_report(report):
    assert not report.ok
    # values
    p = _find(report, "capacity_not_positive", layer="quarries", feature="Q-2", field="capacity")
    assert p.severity == "error" and "-5" in p.message
    p = _find(report, "capacity_not_positive", layer="quarries", feature="Q-5", field="capacity")
    assert "0" in p.message
    p = _find(report, "not_numeric", layer="quarries", feature="Q-2", field="capacity")
    assert "'abc'" in p.message and p.row == 2
    _find(report, "value_missing", layer="quarries", feature="Q-4", field="capacity")
    p = _find(report, "value_missing", layer="quarries", field="quarry_id")
    assert p.feature == 9 and p.row == 9  # no id: the row index names it
    p = _find(report, "date_unparseable", layer="quarries", feature="Q-2", field="license_end")
    assert "'soon'" in p.message
    p = _find(report, "date_unparseable", layer="quarries", feature="Q-9", field="license_end")
    assert "2025-02-30" in p.message
    assert not [q for q in report.problems if q.code == "date_unparseable" and q.feature in ("Q-1", "Q-4", "Q-5")]
    p = _find(report, "duplicate_id", layer="quarries", feature="Q-2", field="quarry_id")
    assert "rows 1, 2" in p.message
    # geometry
    p = _find(report, "geometry_invalid", layer="quarries", feature="Q-4")
    assert "Self-intersection at (452050, 3252050)" in p.message
    p = _find(report, "geometry_type", layer="quarries", feature="Q-5")
    assert "LineString" in p.message and "Polygon or MultiPolygon" in p.message
    _find(report, "geometry_null", layer="quarries", feature="Q-7")
    _find(report, "geometry_empty", layer="quarries", feature="Q-8")
    p = _find(report, "outside_boundary", layer="quarries", feature="Q-6")
    assert p.severity == "error"
    p = _find(report, "crosses_boundary", layer="quarries", feature="Q-9")
    assert p.severity == "warning"
    assert not [q for q in report.problems if q.layer == "quarries" and q.row == 9 and "boundary" in q.code]
    # other layers
    p = _find(report, "value_not_allowed", layer="roads", feature=1, field="kind")
    assert "'highway'" in p.message and "expressway, railway, national, provincial, county, township" in p.message
    p = _find(report, "geometry_type", layer="roads", feature=2)
    assert "Polygon" in p.message
    _find(report, "field_missing", layer="protected_areas", field="kind")
    p = _find(report, "rivers_no_main", layer="rivers")
    assert p.severity == "warning"
    p = _find(report, "value_not_allowed", layer="parks", feature=0, field="role")
    assert "core, park" in p.message
    # nothing reported for the clean quarries
    assert not [q for q in report.problems if q.feature in ("Q-1", "Q-11")]


def test_every_problem_reported_at_once():
    report = check_pack(LayerPack(_bad_layers()))
    _assert_bad_pack_report(report)
    assert len(report.errors) == 17  # 13 quarries + 2 roads + protected_areas + parks
    assert {p.code for p in report.warnings} == {"crosses_boundary", "rivers_no_main"}


def test_same_report_through_a_geopackage(tmp_path):
    path = tmp_path / "pack.gpkg"
    for name, frame in _bad_layers().items():
        frame = frame.copy()
        for column in frame.columns:
            if column != "geometry" and frame[column].dtype == object:
                frame[column] = frame[column].map(lambda v: None if v is None else str(v))
        frame.to_file(path, layer=name, engine="pyogrio")
    report = check_pack(path)
    _assert_bad_pack_report(report)
    assert report.source == path
    again = check_pack(read_pack(path))
    assert [str(p) for p in again.problems] == [str(p) for p in report.problems]


def test_valid_pack_is_ok_with_no_problems():
    report = check_pack(LayerPack(_valid_layers()))
    assert report.problems == (), str(report)
    assert report.ok
    assert "OK" in report.to_text()


def test_missing_mandatory_layer_and_empty_layers():
    layers = _valid_layers()
    del layers["quarries"]
    layers["farmland"] = gpd.GeoDataFrame(geometry=[], crs=CRS)
    report = check_pack(LayerPack(layers))
    assert _find(report, "layer_missing", layer="quarries").severity == "error"
    assert _find(report, "layer_empty", layer="farmland").severity == "warning"
    empty_q = _valid_layers()
    empty_q["quarries"] = empty_q["quarries"].iloc[:0]
    assert _find(check_pack(LayerPack(empty_q)), "layer_empty", layer="quarries").severity == "error"


def test_strict_counts_warnings_as_errors():
    layers = _valid_layers()
    layers["rivers"] = layers["rivers"].drop(columns="main")
    lenient = check_pack(LayerPack(layers))
    strict = check_pack(LayerPack(layers), strict=True)
    assert lenient.ok and [p.code for p in lenient.warnings] == ["rivers_no_main"]
    assert not strict.ok
    assert [p.code for p in strict.errors] == ["rivers_no_main"] and strict.warnings == []
    assert "error 错误 (strict)" in strict.to_text()
    with pytest.raises(wlgeo.PackError, match="main"):
        strict.raise_for_errors()
    lenient.raise_for_errors()  # no error: no exception


def test_repair_works_on_a_copy_and_records_each_fix():
    layers = _valid_layers()
    bowtie = Polygon([(452_000, 3_252_000), (452_100, 3_252_100), (452_100, 3_252_000), (452_000, 3_252_100)])
    spike = Polygon([(455_000, 3_252_000), (455_100, 3_252_000), (455_100, 3_252_100), (455_050, 3_252_100),
                     (455_050, 3_252_300), (455_050, 3_252_100), (455_000, 3_252_100)])
    layers["quarries"] = pd.concat(
        [
            layers["quarries"],
            gpd.GeoDataFrame(
                {"quarry_id": ["Q-3", "Q-4"], "capacity": [40, 40], "license_end": ["2026-01-01"] * 2},
                geometry=[bowtie, spike],
                crs=CRS,
            ),
        ],
        ignore_index=True,
    )
    pack = LayerPack(layers)
    unrepaired = check_pack(pack)
    assert {p.feature for p in unrepaired.errors} == {"Q-3", "Q-4"}
    report = check_pack(pack, repair=True)
    assert report.ok, str(report)
    fixes = [p for p in report.warnings if p.code == "geometry_repaired"]
    assert [p.feature for p in fixes] == ["Q-3", "Q-4"]
    assert "Self-intersection at (452050, 3252050)" in fixes[0].message
    fixed = report.pack["quarries"].set_index("quarry_id").geometry
    # the bow tie becomes two triangles of 100 x 50 / 2 = 2500 m² each; the spike is dropped
    assert isinstance(fixed["Q-3"], MultiPolygon) and fixed["Q-3"].area == pytest.approx(5000.0)
    assert fixed["Q-4"].geom_type == "Polygon" and fixed["Q-4"].area == pytest.approx(100 * 100)
    assert fixed.is_valid.all()
    # input untouched
    assert not shapely.is_valid(pack["quarries"].geometry.iloc[2])
    assert report.pack is not pack and report.pack["quarries"] is not pack["quarries"]
    assert not check_pack(pack, repair=True, strict=True).ok  # a repair is never silent


def test_layer_without_placeable_crs_is_reported_and_others_still_checked(tmp_path):
    path = tmp_path / "pack.gpkg"
    layers = _valid_layers()
    layers["quarries"].loc[0, "capacity"] = -1.0
    layers["quarries"]["capacity"] = layers["quarries"]["capacity"].astype(float)
    for name, frame in layers.items():
        frame.to_file(path, layer=name, engine="pyogrio")
    with pytest.warns(UserWarning, match="crs"):  # pyogrio: writing a layer without a CRS
        gpd.GeoDataFrame({"category": ["a"]}, geometry=[box(5, 5, 6, 6)], crs=None).to_file(
            path, layer="red_line", engine="pyogrio"
        )
    gpd.GeoDataFrame({"x": [1]}, geometry=[Point(450_000, 3_250_000)], crs=CRS).to_file(
        path, layer="Quarries_old", engine="pyogrio"
    )
    report = check_pack(path)
    p = _find(report, "crs_unplaced", layer="red_line")
    assert p.severity == "error"
    _find(report, "capacity_not_positive", layer="quarries", feature="Q-1")
    assert _find(report, "layer_ignored", layer="Quarries_old").severity == "warning"


def test_layer_in_another_crs_is_checked_after_reprojection():
    layers = _valid_layers()
    towns = gpd.GeoDataFrame({"town": ["白马镇"]}, geometry=[_q(455_000, 3_255_000, 5000, 5000)], crs=CRS)
    layers["towns"] = towns.to_crs("EPSG:4326")
    report = check_pack(LayerPack(layers))
    p = _find(report, "crs_not_working", layer="towns")
    assert p.severity == "warning" and "EPSG:4326" in p.message
    assert [q.code for q in report.problems] == ["crs_not_working"]  # inside the boundary once reprojected


def test_alias_hint_for_chinese_column_names():
    layers = _valid_layers()
    layers["quarries"] = layers["quarries"].rename(columns={"quarry_id": "矿山编号"})
    p = _find(check_pack(LayerPack(layers)), "field_missing", layer="quarries", field="quarry_id")
    assert "'矿山编号'" in p.message


def test_report_text_and_frame():
    report = check_pack(LayerPack(_bad_layers()))
    lines = report.to_text().splitlines()
    assert len(lines) == len(report.problems) + 1
    assert lines[0].startswith("FAILED 未通过: 17 error(s)")
    assert any(line.startswith("error 错误  layer 'quarries', feature 'Q-2', field 'capacity': 生产规模须大于0") for line in lines)
    frame = report.to_frame()
    assert list(frame.columns) == ["severity", "layer", "feature", "row", "field", "code", "message", "message_zh"]
    assert len(frame) == len(report.problems)
    assert (frame["severity"] == "error").sum() == 17


def test_normalise_quarries_parses_values():
    quarries = _valid_layers()["quarries"]
    out = normalise_quarries(quarries)
    assert out["capacity"].dtype == float and out["capacity"].tolist() == [30.0, 60.0]
    assert out["license_end"].tolist() == [pd.Timestamp("2026-06-30"), pd.Timestamp("2027-01-01")]
    assert out["license_start"].iloc[0] == pd.Timestamp("2016-06-30") and pd.isna(out["license_start"].iloc[1])
    assert str(out["license_end"].dtype).startswith("datetime64")
    assert out.index.equals(quarries.index) and out.geometry.equals(quarries.geometry)
    assert quarries["capacity"].tolist() == [30.0, "60"]  # input untouched


def test_normalise_quarries_refuses_errors():
    quarries = _valid_layers()["quarries"]
    quarries.loc[1, "license_end"] = "next year"
    with pytest.raises(LayerError) as info:
        normalise_quarries(quarries)
    assert info.value.layer == "quarries" and info.value.feature == "Q-2" and info.value.field == "license_end"
    assert "'next year'" in str(info.value)


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2025-06-30", "2025-06-30"),
        ("2025/6/30", "2025-06-30"),
        ("2025.06.30", "2025-06-30"),
        ("20250630", "2025-06-30"),
        (20250630, "2025-06-30"),
        ("2025年6月30日", "2025-06-30"),
        ("２０２５年６月３０日", "2025-06-30"),
        ("2025-06-30T00:00:00", "2025-06-30"),
        (pd.Timestamp("2025-06-30 15:00"), "2025-06-30"),
        ("2025-13-01", None),
        ("30/06/2025", None),
        ("45838", None),
        ("soon", None),
    ],
)
def test_parse_date_series(value, expected):
    dates, bad = parse_date_series(pd.Series([value]))
    if expected is None:
        assert bad.iloc[0] and pd.isna(dates.iloc[0])
    else:
        assert not bad.iloc[0] and dates.iloc[0] == pd.Timestamp(expected)


def _dem(path, *, crs, x0=X0, y0=Y1, size=600, res=100.0):
    import numpy as np
    import rasterio
    from affine import Affine

    with rasterio.open(
        path, "w", driver="GTiff", width=size, height=size, count=1, dtype="float32",
        crs=crs, transform=Affine(res, 0.0, x0, 0.0, -res, y0),
    ) as dst:
        dst.write(np.zeros((1, size, size), dtype="float32"))
    return path


def test_dem_checks(tmp_path):
    layers = _valid_layers()
    good = _dem(tmp_path / "good.tif", crs=CRS)  # 600 cells x 100 m = the 60 km district exactly
    assert check_pack(LayerPack(layers, dem=good)).problems == ()
    short = _dem(tmp_path / "short.tif", crs=CRS, size=300)
    p = _find(check_pack(LayerPack(layers, dem=short)), "dem_coverage", layer="dem")
    assert p.severity == "warning" and "short.tif" in p.message
    wrong = _dem(tmp_path / "wrong.tif", crs="EPSG:4326", x0=107.3, y0=29.6, res=0.001)
    p = _find(check_pack(LayerPack(layers, dem=wrong)), "dem_crs", layer="dem")
    assert p.severity == "error" and "EPSG:4326" in p.message
    broken = tmp_path / "broken.tif"
    broken.write_bytes(good.read_bytes()[:200])
    p = _find(check_pack(LayerPack(layers, dem=broken)), "dem_unreadable", layer="dem")
    assert "broken.tif" in p.message
