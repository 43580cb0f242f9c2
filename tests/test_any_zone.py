"""Any zone, any datum: survey files and vector files read in the grid they were published in.

Fixtures are built here, in code, the way real producers write them: 部标 TXT in 3-degree zones
35, 37, 38 and 40 and 6-degree zone 18, with and without the zone prefix, CGCS2000 and Xian 1980,
with the quirks seen in real files (empty 带号, fields out of order, unclosed rings, ArcPy
placeholder attributes, extra header keys). Golden values are independent of wlgeo: the vertices
are the numbers written into the file, the 公顷 field is a shoelace sum computed here in plain
Python, and lon/lat → grid positions come from pyproj directly.
"""

from __future__ import annotations

import json
import warnings
import zipfile

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from pyproj import CRS, Transformer

from wlgeo import CRSError, CRSWarning, DatumWarning, read_layer
from wlgeo.model.crs import (
    GKGrid,
    gcj02_to_wgs84,
    gk3_zone_epsg,
    out_of_china,
    wgs84_to_gcj02,
    working_crs_for,
)

pytestmark = pytest.mark.filterwarnings("ignore::wlgeo.WlgeoWarning")

# --- grids and places ---------------------------------------------------------------------------

#        name        datum       width zone  lon     lat    (a place inside the zone)
GRIDS = [
    ("z35-cgcs", "cgcs2000", 3, 35, 105.62, 29.41),  # 永川, western Chongqing
    ("z37-cgcs", "cgcs2000", 3, 37, 109.88, 31.08),  # 巫山
    ("z38-cgcs", "cgcs2000", 3, 38, 114.31, 30.59),  # 武汉
    ("z40-cgcs", "cgcs2000", 3, 40, 120.16, 30.27),  # 杭州
    ("z18-6deg", "cgcs2000", 6, 18, 106.55, 29.56),  # 重庆主城, 6-degree zone 18 (CM 105°E)
    ("z38-xian", "xian80", 3, 38, 114.31, 30.59),
    ("z18-xian6", "xian80", 6, 18, 106.55, 29.56),
]
DATUM_TEXT = {"cgcs2000": "2000国家大地坐标系", "xian80": "1980西安坐标系"}


def _shoelace(points) -> float:
    """Area of a ring of (E, N) points by the shoelace formula (plain Python, not shapely)."""
    total = 0.0
    for (x1, y1), (x2, y2) in zip(points, points[1:] + points[:1]):
        total += x1 * y2 - x2 * y1
    return abs(total) / 2.0


def _origin(grid: GKGrid, lon: float, lat: float) -> tuple[float, float]:
    """(E, N) of a place, rounded to the metre, in the grid without prefix (pyproj directly)."""
    e, n = Transformer.from_crs("EPSG:4490", grid.with_prefix(False).epsg, always_xy=True).transform(lon, lat)
    return round(e), round(n)


def _parcels(e0: float, n0: float):
    """Two parcels: an irregular pentagon (mm decimals) and a quadrilateral, as (E, N) rings."""
    a = [(e0, n0), (e0 + 231.417, n0 + 12.306), (e0 + 260.052, n0 + 148.991), (e0 + 101.733, n0 + 201.448),
         (e0 - 18.265, n0 + 97.102)]
    b = [(e0 + 1000.0, n0 + 500.0), (e0 + 1150.125, n0 + 505.5), (e0 + 1148.0, n0 + 655.875), (e0 + 990.25, n0 + 640.0)]
    return {"P-01": a, "P-02": b}


def _bubiao(parcels, *, datum="2000国家大地坐标系", width="3", zone="", prefix: int | None = None,
            close=True, extra_header=True, projection="高斯克吕格") -> str:
    header = ["[属性描述]"]
    if extra_header:
        header += ["格式版本号=1.01版本", "数据产生单位=巫山县规划和自然资源局", "数据产生日期=2019-11-20"]
    header += [f"坐标系={datum}", f"几度分带={width}", f"投影类型={projection}", "计量单位=米", f"带号={zone}",
               "精度=0.001", "转换参数=,,,,,,", "[地块坐标]"]
    body = []
    for pid, ring in parcels.items():
        pts = list(ring) + ([ring[0]] if close else [])
        area_ha = _shoelace(list(ring)) / 10_000.0
        body.append(f"{len(pts)},{area_ha:.4f},{pid},{pid}地块,面,H49G001001,采矿用地,0602,@")
        for k, (e, n) in enumerate(pts, start=1):
            y = e + prefix * 1_000_000 if prefix else e
            body.append(f"J{k},1,{n:.3f},{y:.3f}")
    return "\r\n".join(header + body) + "\r\n"


def _write(tmp_path, text: str, name="parcels.txt", encoding="gbk"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def _read(path, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gdf = read_layer(path, **kwargs)
    return gdf, caught


def _assert_vertices(gdf, parcels, tol=1e-3):
    by_id = gdf.set_index("parcel_id")
    for pid, ring in parcels.items():
        got = shapely.get_coordinates(by_id.loc[pid].geometry.exterior)[:-1]
        assert got.shape == (len(ring), 2), pid
        np.testing.assert_allclose(got, np.array(ring), rtol=0, atol=tol, err_msg=pid)


# --- the EPSG tables and the zone rule ------------------------------------------------------------


@pytest.mark.parametrize("datum, width, zone, prefixed, epsg", [
    ("cgcs2000", 3, 25, True, 4513), ("cgcs2000", 3, 45, False, 4554), ("cgcs2000", 3, 37, False, 4546),
    ("cgcs2000", 6, 13, True, 4491), ("cgcs2000", 6, 23, False, 4512), ("xian80", 3, 36, True, 2360),
    ("xian80", 6, 18, False, 2343), ("beijing54", 3, 36, False, 2433), ("beijing54", 6, 18, True, 21418),
    ("beijing54", 6, 18, False, 21478),
])
def test_gk_grid_epsg_codes_match_pyproj(datum, width, zone, prefixed, epsg):
    grid = GKGrid(datum, width, zone, prefixed)
    assert grid.epsg == epsg
    crs = CRS.from_epsg(epsg)
    params = {p.name: p.value for p in crs.coordinate_operation.params}
    assert params["Longitude of natural origin"] == grid.central_meridian
    assert params["False easting"] == (zone * 1_000_000 if prefixed else 0) + 500_000


@pytest.mark.parametrize("lon, epsg", [(105.62, 4544), (107.7, 4545), (109.49, 4545), (109.51, 4546),
                                       (109.9, 4546), (114.31, 4547), (75.0, 4534), (135.0, 4554)])
def test_gk3_zone_epsg(lon, epsg):
    assert gk3_zone_epsg(lon) == epsg


def test_gk3_zone_epsg_outside_china():
    with pytest.raises(ValueError, match="outside China"):
        gk3_zone_epsg(-111.9)


def test_working_crs_for_a_frame_in_another_zone():
    # a box around 巫山 stored in zone 36: its centre (≈109.9°E) lies in zone 37
    box = shapely.box(109.8, 31.0, 110.0, 31.2)
    frame = gpd.GeoDataFrame(geometry=[box], crs="EPSG:4490").to_crs(4545)
    assert working_crs_for(frame).to_epsg() == 4546
    assert working_crs_for(box).to_epsg() == 4546


# --- 部标 TXT in every grid -------------------------------------------------------------------------


@pytest.mark.parametrize("name, datum, width, zone, lon, lat", GRIDS, ids=[g[0] for g in GRIDS])
@pytest.mark.parametrize("prefixed", [False, True], ids=["no-prefix", "prefix"])
def test_bubiao_in_its_own_zone(tmp_path, name, datum, width, zone, lon, lat, prefixed):
    grid = GKGrid(datum, width, zone)
    parcels = _parcels(*_origin(grid, lon, lat))
    # without a prefix the header's 带号 names the zone; with one, 带号 is left empty (a real quirk)
    text = _bubiao(parcels, datum=DATUM_TEXT[datum], width=str(width), zone="" if prefixed else str(zone),
                   prefix=zone if prefixed else None)
    path = _write(tmp_path, text)
    gdf, caught = _read(path, working_crs=f"EPSG:{grid.epsg}")
    assert gdf.crs.to_epsg() == grid.epsg
    assert gdf.attrs["wlgeo_source"]["crs"] == f"EPSG:{grid.epsg}"
    _assert_vertices(gdf, parcels)
    for pid, ring in parcels.items():
        row = gdf.set_index("parcel_id").loc[pid]
        assert row.geometry.area / 10_000.0 == pytest.approx(row["area_ha"], abs=5e-5)
        assert row["area_ha"] == pytest.approx(_shoelace(ring) / 10_000.0, abs=5e-5)
    assert not any("面积" in n for n in gdf.attrs["wlgeo_notes"])
    assert (DatumWarning in [w.category for w in caught]) == (datum == "xian80")
    if prefixed:
        assert any(f"zone prefix {zone} removed" in n for n in gdf.attrs["wlgeo_notes"])


@pytest.mark.parametrize("name, datum, width, zone, lon, lat", [g for g in GRIDS if g[1] == "cgcs2000" and g[2] == 3],
                         ids=[g[0] for g in GRIDS if g[1] == "cgcs2000" and g[2] == 3])
def test_bubiao_default_working_crs_is_the_zone_holding_the_data(tmp_path, name, datum, width, zone, lon, lat):
    grid = GKGrid(datum, width, zone)
    parcels = _parcels(*_origin(grid, lon, lat))
    path = _write(tmp_path, _bubiao(parcels, zone=str(zone)))
    gdf, _ = _read(path)
    assert gdf.crs.to_epsg() == grid.epsg  # no reprojection: the data's own zone
    _assert_vertices(gdf, parcels)
    assert any(f"working CRS EPSG:{grid.epsg}" in n for n in gdf.attrs["wlgeo_notes"])


def test_six_degree_file_lands_in_the_three_degree_zone_holding_it(tmp_path):
    grid = GKGrid("cgcs2000", 6, 18)
    e0, n0 = _origin(grid, 106.55, 29.56)
    parcels = _parcels(e0, n0)
    path = _write(tmp_path, _bubiao(parcels, width="6", zone="18", prefix=18))
    gdf, _ = _read(path)
    # 106.55°E is in 3-degree zone 36 (CM 108°E): EPSG:4545; positions by pyproj from EPSG:4507
    assert gdf.crs.to_epsg() == 4545
    expected = Transformer.from_crs(4507, 4545, always_xy=True).transform(*np.array(parcels["P-02"]).T)
    got = shapely.get_coordinates(gdf.set_index("parcel_id").loc["P-02"].geometry.exterior)[:-1]
    np.testing.assert_allclose(got, np.column_stack(expected), atol=1e-6)


def test_real_file_quirks(tmp_path):
    """Empty 带号 with prefixed eastings, unclosed rings, extra header keys, ArcPy placeholders,
    a parcel line with fields out of order — all read, each said in a note."""
    grid = GKGrid("cgcs2000", 3, 38)
    e0, n0 = _origin(grid, 114.31, 30.59)
    a = _parcels(e0, n0)["P-01"]
    b = _parcels(e0, n0)["P-02"]
    lines = ["[属性描述]", "格式版本号=1.01版本", "数据产生单位=某测绘有限公司", "数据产生日期=2019-11-20",
             "坐标系=2000国家大地坐标系", "几度分带=3", "投影类型=高斯克吕格", "计量单位=米", "带号=", "精度=0.001",
             "[地块坐标]"]
    # ArcPy export: field names where values should be, unclosed ring
    lines.append(f"{len(a)},{_shoelace(a) / 1e4:.4f},FID_0,DKMC,面,TFH,DKYT,DLBM,@")
    lines += [f"{k},1,{n:.3f},{38_000_000 + e:.3f}" for k, (e, n) in enumerate(a, 1)]
    # a hand-made line with its fields out of the usual order: 点数,,编号, 名称-like number,,,名称,,@
    lines.append(f"{len(b) + 1},,010031, 32,,,地块1,,@")
    lines += [f"{k},1,{n:.3f},{38_000_000 + e:.3f}" for k, (e, n) in enumerate(b + b[:1], 1)]
    path = _write(tmp_path, "\r\n".join(lines) + "\r\n")
    gdf, _ = _read(path, working_crs="EPSG:4547")
    assert gdf.crs.to_epsg() == 4547
    by_id = gdf.set_index("parcel_id")
    assert list(by_id.index) == ["1", "010031"]
    assert by_id.loc["1", "name"] == "" and by_id.loc["1", "sheet"] == "" and by_id.loc["1", "land_code"] == ""
    assert by_id.loc["010031", "name"] == "地块1"
    assert by_id.loc["1"].geometry.area / 1e4 == pytest.approx(by_id.loc["1", "area_ha"], abs=5e-5)
    _assert_vertices(gdf, {"1": a, "010031": b})
    notes = " | ".join(gdf.attrs["wlgeo_notes"])
    assert "placeholder attribute values FID_0, DKMC, TFH, DKYT, DLBM" in notes
    assert "fields out of the usual order" in notes
    assert "zone prefix 38 removed" in notes


def test_crs_argument_wins_over_the_header_with_a_warning(tmp_path):
    # the header says zone 38, but the data are zone 37 metres (a producer's mistake): crs= wins
    grid = GKGrid("cgcs2000", 3, 37)
    parcels = _parcels(*_origin(grid, 109.88, 31.08))
    path = _write(tmp_path, _bubiao(parcels, zone="38"))
    gdf, caught = _read(path, crs="EPSG:4546")
    assert gdf.crs.to_epsg() == 4546
    _assert_vertices(gdf, parcels)
    messages = [str(w.message) for w in caught if issubclass(w.category, CRSWarning)]
    assert any("带号=38" in m and "crs=EPSG:4546" in m and "crs= wins" in m for m in messages)


def test_header_zone_disagreeing_with_the_prefix_the_prefix_wins(tmp_path):
    grid = GKGrid("cgcs2000", 3, 37)
    parcels = _parcels(*_origin(grid, 109.88, 31.08))
    path = _write(tmp_path, _bubiao(parcels, zone="36", prefix=37))
    gdf, caught = _read(path, working_crs="EPSG:4546")
    _assert_vertices(gdf, parcels)
    assert any("带号=36" in str(w.message) and "prefix 37" in str(w.message) for w in caught)


def test_crs_without_prefix_over_prefixed_coordinates_strips_the_prefix(tmp_path):
    grid = GKGrid("cgcs2000", 3, 40)
    parcels = _parcels(*_origin(grid, 120.16, 30.27))
    path = _write(tmp_path, _bubiao(parcels, zone="", prefix=40))
    gdf, _ = _read(path, crs="EPSG:4549")
    assert gdf.crs.to_epsg() == 4549
    _assert_vertices(gdf, parcels)
    assert any("has no zone prefix but the eastings carry the prefix 40" in n for n in gdf.attrs["wlgeo_notes"])


def test_crs_of_another_zone_than_the_prefix_is_refused(tmp_path):
    parcels = _parcels(*_origin(GKGrid("cgcs2000", 3, 40), 120.16, 30.27))
    path = _write(tmp_path, _bubiao(parcels, prefix=40))
    with pytest.raises(CRSError, match="prefix 40"):
        read_layer(path, crs="EPSG:4545")


def test_six_degree_width_with_a_three_degree_zone_is_a_contradiction(tmp_path):
    parcels = _parcels(*_origin(GKGrid("cgcs2000", 3, 36), 107.7, 29.3))
    path = _write(tmp_path, _bubiao(parcels, width="6", zone="36"))
    with pytest.raises(CRSError) as info:
        read_layer(path)
    assert "几度分带=6 with 带号=36 is a contradiction" in str(info.value) and str(path) in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("system", ["重庆独立坐标系", "巫山县地方坐标系"])
def test_local_grid_is_refused_asking_for_parameters(tmp_path, system):
    parcels = _parcels(*_origin(GKGrid("cgcs2000", 3, 37), 109.88, 31.08))
    path = _write(tmp_path, _bubiao(parcels, datum=system, zone="37"))
    with pytest.raises(CRSError) as info:
        read_layer(path)
    text = str(info.value)
    assert system in text and "parameters" in text and "crs=" in text


def test_unknown_zone_lists_the_candidates(tmp_path):
    parcels = _parcels(*_origin(GKGrid("cgcs2000", 3, 37), 109.88, 31.08))
    path = _write(tmp_path, _bubiao(parcels, zone=""))
    with pytest.raises(CRSError) as info:
        read_layer(path)
    text = str(info.value)
    assert "zone cannot be known" in text and "25–45" in text and "13–23" in text and "crs=" in text


def test_eastings_beyond_the_zone_width_are_refused_by_feature(tmp_path):
    grid = GKGrid("cgcs2000", 3, 37)
    e0, n0 = _origin(grid, 109.88, 31.08)
    parcels = _parcels(e0, n0)
    # a typo: 870 km easting (≈ 3.9° from the central meridian at 31°N; a 3-degree zone is ±1.5°)
    parcels["P-BAD"] = [(870_000.0, n0), (870_100.0, n0), (870_100.0, n0 + 100.0)]
    path = _write(tmp_path, _bubiao(parcels, zone="37"))
    with pytest.raises(CRSError) as info:
        read_layer(path)
    text = str(info.value)
    assert "'P-BAD'" in text and "beyond the width" in text and "P-01" not in text


def test_corner_table_title_names_the_zone(tmp_path):
    grid = GKGrid("xian80", 3, 38)
    e0, n0 = _origin(grid, 114.31, 30.59)
    ring = _parcels(e0, n0)["P-01"]
    rows = ["拐点坐标表（1980西安坐标系，3度分带，带号38）,,,", "矿权编号,点号,X,Y"]
    rows += [f"C38,J{k},{n:.3f},{e:.3f}" for k, (e, n) in enumerate(ring, 1)]
    path = tmp_path / "corners.csv"
    path.write_bytes("\r\n".join(rows).encode("gbk"))
    gdf, caught = _read(path, working_crs="EPSG:2383")
    assert gdf.crs.to_epsg() == 2383  # Xian 1980 3-degree GK CM 114E
    got = shapely.get_coordinates(gdf.geometry.iloc[0].exterior)[:-1]
    np.testing.assert_allclose(got, np.array(ring), atol=1e-3)
    assert DatumWarning in [w.category for w in caught]


# --- vector formats and their own CRS declarations -----------------------------------------------

UTM_RING = [(397_512.125, 3_438_204.5), (397_712.125, 3_438_204.5), (397_712.125, 3_438_304.75),
            (397_512.125, 3_438_304.75), (397_512.125, 3_438_204.5)]  # near 巫山, WGS84 / UTM 49N metres


def _esri_json(spatial_reference, *, at_geometry=False) -> dict:
    geometry = {"rings": [UTM_RING]}
    doc = {"displayFieldName": "", "geometryType": "esriGeometryPolygon",
           "fields": [{"name": "OBJECTID", "type": "esriFieldTypeOID", "alias": "OBJECTID"},
                      {"name": "name", "type": "esriFieldTypeString", "alias": "name", "length": 20}],
           "features": [{"attributes": {"OBJECTID": 1, "name": "采石场"}, "geometry": geometry}]}
    if at_geometry:
        geometry["spatialReference"] = spatial_reference
    else:
        doc["spatialReference"] = spatial_reference
    return doc


def _check_utm(gdf):
    """Vertices exact to 1 mm in the declared CRS, and the layer near 巫山 (zone 37), not 292 km off."""
    assert gdf.attrs["wlgeo_source"]["crs"] == "EPSG:32649"
    back = gdf.to_crs(32649)
    got = shapely.get_coordinates(back.geometry.iloc[0].exterior)
    assert len(got) == len(UTM_RING)
    np.testing.assert_allclose(got[:-1], np.array(UTM_RING)[:-1], atol=1e-3)
    lon, lat = Transformer.from_crs(32649, 4326, always_xy=True).transform(*UTM_RING[0])
    assert gdf.crs.to_epsg() == gk3_zone_epsg(lon) == 4546
    assert 109 < lon < 111 and 30 < lat < 32


@pytest.mark.parametrize("sr", [{"wkid": 32649}, {"wkid": 32649, "latestWkid": 32649},
                                {"wkt": CRS.from_epsg(32649).to_wkt("WKT1_ESRI")}], ids=["wkid", "latestWkid", "wkt"])
def test_esri_json_spatial_reference(tmp_path, sr):
    path = tmp_path / "rest_export.json"
    path.write_text(json.dumps(_esri_json(sr)), encoding="utf-8")
    gdf, _ = _read(path)
    _check_utm(gdf)
    assert any("ESRI JSON spatialReference" in n for n in gdf.attrs["wlgeo_notes"])


def test_esri_json_spatial_reference_on_the_geometry_gdal_drops_it(tmp_path):
    path = tmp_path / "rest_export.json"
    path.write_text(json.dumps(_esri_json({"wkid": 32649}, at_geometry=True)), encoding="utf-8")
    assert pyogrio.read_info(path)["crs"] is None  # GDAL does not read it: wlgeo does
    gdf, _ = _read(path)
    _check_utm(gdf)
    assert any("GDAL did not read it" in n for n in gdf.attrs["wlgeo_notes"])


@pytest.mark.parametrize("ref", ["http://www.opengis.net/def/crs/EPSG/0/32649", "[EPSG:32649]",
                                 {"type": "Reference", "href": "http://www.opengis.net/def/crs/EPSG/0/32649"}],
                         ids=["uri", "safe-curie", "object"])
def test_json_fg_coord_ref_sys(tmp_path, ref):
    doc = {"type": "FeatureCollection", "conformsTo": ["http://www.opengis.net/spec/json-fg-1/0.2/conf/core"],
           "coordRefSys": ref,
           "features": [{"type": "Feature", "id": 1, "time": None, "geometry": None,
                         "place": {"type": "Polygon", "coordinates": [UTM_RING]}, "properties": {"name": "采石场"}}]}
    path = tmp_path / "sites.fg.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    gdf, _ = _read(path)
    _check_utm(gdf)


def test_geojson_crs_member(tmp_path):
    frame = gpd.GeoDataFrame({"name": ["a"]}, geometry=[shapely.Polygon(UTM_RING)], crs="EPSG:32649")
    path = tmp_path / "old.geojson"
    frame.to_file(path, driver="GeoJSON", engine="pyogrio", layer_options={"RFC7946": "NO"})
    assert '"crs"' in path.read_text(encoding="utf-8")
    gdf, _ = _read(path)
    _check_utm(gdf)


def test_filegdb_layer_reads(tmp_path):
    grid = GKGrid("cgcs2000", 3, 37)
    ring = _parcels(*_origin(grid, 109.88, 31.08))["P-01"]
    frame = gpd.GeoDataFrame({"quarry_id": ["FG-1"], "name": ["地块"]}, geometry=[shapely.Polygon(ring)], crs="EPSG:4546")
    gdb = tmp_path / "bureau.gdb"
    frame.to_file(gdb, layer="采矿权", driver="OpenFileGDB", engine="pyogrio")
    other = frame.assign(quarry_id=["FG-2"])
    other.to_file(gdb, layer="other", driver="OpenFileGDB", engine="pyogrio")
    assert gdb.is_dir()
    gdf, _ = _read(gdb, layer="采矿权")
    assert gdf.crs.to_epsg() == 4546 and list(gdf["quarry_id"]) == ["FG-1"] and gdf.loc[0, "name"] == "地块"
    polygon = gdf.geometry.iloc[0]  # FileGDB stores multipolygons
    polygon = polygon.geoms[0] if polygon.geom_type == "MultiPolygon" else polygon
    coords = shapely.get_coordinates(polygon.exterior)[:-1]
    assert polygon.area == pytest.approx(_shoelace(ring), abs=0.01)  # FileGDB stores a 0.1 mm grid
    nearest = np.abs(coords[:, None, :] - np.array(ring)[None, :, :]).max(axis=2).min(axis=0)
    assert len(coords) == len(ring) and nearest.max() < 1e-3
    with pytest.raises(Exception, match="pass layer="):
        read_layer(gdb)


def test_zipped_shapefile_reads(tmp_path):
    ring = _parcels(*_origin(GKGrid("cgcs2000", 3, 35), 105.62, 29.41))["P-02"]
    frame = gpd.GeoDataFrame({"name": ["农田"]}, geometry=[shapely.Polygon(ring)], crs="EPSG:4544")
    shp = tmp_path / "farm.shp"
    frame.to_file(shp, engine="pyogrio", encoding="utf-8")
    archive = tmp_path / "farm.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in tmp_path.glob("farm.*"):
            if part != archive:
                zf.write(part, part.name)
    gdf, _ = _read(archive)
    assert gdf.crs.to_epsg() == 4544 and gdf.loc[0, "name"] == "农田"
    assert gdf.geometry.iloc[0].area == pytest.approx(_shoelace(ring), abs=1e-4)


# --- degrees, far-away data, GCJ-02 ---------------------------------------------------------------


def test_degrees_with_floating_noise_past_180_are_degrees(tmp_path):
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "east"},
         "geometry": {"type": "Polygon", "coordinates": [[[100.0, 20.0], [180.00000000000006, 20.0],
                                                          [180.00000000000006, 40.0], [100.0, 40.0], [100.0, 20.0]]]}}]}
    path = tmp_path / "world.geojson"
    path.write_text(json.dumps(doc), encoding="utf-8")
    gdf, _ = _read(path, working_crs="EPSG:3857")
    assert gdf.crs.to_epsg() == 3857
    assert any("floating noise" in n for n in gdf.attrs["wlgeo_notes"])


def test_data_far_away_refused_with_its_location(tmp_path):
    utah = gpd.GeoDataFrame({"name": ["Salt Lake"]}, geometry=[shapely.box(-112.0, 40.6, -111.8, 40.8)], crs="EPSG:4326")
    path = tmp_path / "utah.shp"
    utah.to_file(path, engine="pyogrio")
    with pytest.raises(CRSError) as info:
        read_layer(path, region=(108.0, 29.0, 112.0, 32.0))
    text = str(info.value)
    assert "outside the district's region" in text and "112.00°W" in text and "40.60°N" in text
    with pytest.raises(CRSError, match="outside China"):
        read_layer(path)


def test_gcj02_leaves_points_outside_china_unchanged():
    lon, lat = wgs84_to_gcj02([-104.99, 107.76], [39.74, 29.325])
    assert (float(lon[0]), float(lat[0])) == (-104.99, 39.74)
    assert abs(float(lon[1]) - 107.76) > 0.004
    back = gcj02_to_wgs84([-104.99], [39.74])
    assert (float(back[0][0]), float(back[1][0])) == (-104.99, 39.74)
    # the published box (eviltransform / coordtransform): lon 72.004–137.8347, lat 0.8293–55.8271
    assert out_of_china([72.0, 72.01, 137.84, 100.0, 100.0], [30.0, 30.0, 30.0, 0.8, 55.83]).tolist() == \
        [True, False, True, True, True]


def test_gcj02_read_notes_points_outside_china(tmp_path):
    frame = gpd.GeoDataFrame({"name": ["巫山", "Denver"]},
                             geometry=[shapely.Point(*[float(v) for v in wgs84_to_gcj02(109.88, 31.08)]),
                                       shapely.Point(-104.99, 39.74)], crs="EPSG:4326")
    path = tmp_path / "amap.geojson"
    frame.to_file(path, driver="GeoJSON", engine="pyogrio")
    gdf, _ = _read(path, gcj02=True, working_crs="EPSG:4546")
    back = gdf.to_crs(4326)
    assert back.geometry.iloc[0].x == pytest.approx(109.88, abs=1e-8)
    assert back.geometry.iloc[1].x == pytest.approx(-104.99, abs=1e-9)
    assert any("outside China" in n and "unchanged" in n for n in gdf.attrs["wlgeo_notes"])


def test_working_crs_must_be_projected_metres(tmp_path):
    parcels = _parcels(*_origin(GKGrid("cgcs2000", 3, 37), 109.88, 31.08))
    path = _write(tmp_path, _bubiao(parcels, zone="37"))
    with pytest.raises(CRSError) as info:
        read_layer(path, working_crs="EPSG:4490")
    assert "not a projected CRS" in str(info.value) and "\n" not in str(info.value)


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_degrees_without_crs_far_away_say_where_they_lie(tmp_path):
    grenada = gpd.GeoDataFrame({"name": ["St. George's"]}, geometry=[shapely.box(-61.8, 12.0, -61.6, 12.2)], crs=None)
    path = tmp_path / "gre.shp"
    grenada.to_file(path, engine="pyogrio")
    assert not path.with_suffix(".prj").exists()
    with pytest.raises(CRSError) as info:
        read_layer(path, working_crs="EPSG:4546")
    text = str(info.value)
    assert "61.80°W" in text and "12.00°N" in text and "outside" in text and "fit no known system" not in text


def test_bubiao_wgs84_utm_header(tmp_path):
    e0, n0 = 397_512.0, 3_438_204.0  # WGS84 / UTM 49N near 巫山
    parcels = _parcels(e0, n0)
    path = _write(tmp_path, _bubiao(parcels, datum="WGS84", width="6", zone="49", projection="UTM"))
    gdf, _ = _read(path, working_crs="EPSG:32649")
    assert gdf.attrs["wlgeo_source"]["crs"] == "EPSG:32649"
    _assert_vertices(gdf, parcels)
    default, _ = _read(path)
    assert default.crs.to_epsg() == 4546


def test_point_count_without_the_closing_point_and_central_meridian_header(tmp_path):
    grid = GKGrid("cgcs2000", 3, 37)
    parcels = _parcels(*_origin(grid, 109.88, 31.08))
    text = _bubiao(parcels, zone="")
    # a producer counting 点数 without the repeated closing point, and naming the zone by its meridian
    lines = text.split("\r\n")
    for i, line in enumerate(lines):
        if line.endswith(",@"):
            count, rest = line.split(",", 1)
            lines[i] = f"{int(count) - 1},{rest}"
    text = "\r\n".join(lines)
    text = text.replace("带号=\r\n", "带号=\r\n中央子午线=111°\r\n").replace("[地块坐标]", "【地块坐标】")
    path = _write(tmp_path, text)
    gdf, _ = _read(path)
    assert gdf.crs.to_epsg() == 4546
    _assert_vertices(gdf, parcels)
    notes = " | ".join(gdf.attrs["wlgeo_notes"])
    assert "does not count the closing point" in notes and "central meridian 111°E" in notes


def test_json_fg_features_declaring_different_crs_are_refused(tmp_path):
    features = [{"type": "Feature", "id": i, "coordRefSys": ref, "geometry": None, "time": None, "properties": {},
                 "place": {"type": "Point", "coordinates": xy}}
                for i, (ref, xy) in enumerate([("[EPSG:32649]", UTM_RING[0]), ("[EPSG:4546]", [397_000.0, 3_438_000.0])], 1)]
    doc = {"type": "FeatureCollection", "conformsTo": ["[ogc-json-fg-1-0.1:core]"], "features": features}
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    assert pyogrio.read_info(path)["crs"] is None  # GDAL reads it with no CRS at all
    with pytest.raises(Exception) as info:
        read_layer(path)
    text = str(info.value)
    assert "different CRSs" in text and "EPSG:32649 (feature 1)" in text and "EPSG:4546 (feature 2)" in text
