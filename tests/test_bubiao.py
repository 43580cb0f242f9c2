"""部标 TXT reading, through the funnel (``read_layer``) and the raw reader.

Every file is written here in code; the golden areas and bounds are those of the rectangles
written (hand arithmetic), in EPSG:4545 metres.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from pyproj import Transformer

from wlgeo import CRSError, DatumWarning, EncodingGuessWarning, LayerError, ReadError, read_layer
from wlgeo.io.bubiao import datum_from_text, read_bubiao

pytestmark = pytest.mark.filterwarnings("ignore::wlgeo.WlgeoWarning")

HEADER = """[属性描述]
格式版本号=1.01版本
数据产生单位=武隆区规划和自然资源局
数据产生日期=2024-05-01
坐标系={datum}
几度分带={width}
投影类型=高斯克吕格
计量单位=米
带号={zone}
精度=0.001
转换参数=,,,,,,
[地块坐标]
"""

N0, E0 = 3_245_000.0, 476_000.0  # a corner inside Wulong (EPSG:4545)


def _rect(n, e, dn, de):
    """Corners (X=northing, Y=easting) of a rectangle, counter-clockwise, not closed."""
    return [(n, e), (n, e + de), (n + dn, e + de), (n + dn, e)]


def _parcel(count_area_id_name, rings, *, prefix=36, close=True, swap=False):
    """A parcel line and its point lines. ``rings`` is a list of (ring number, corners)."""
    lines = [count_area_id_name]
    k = 1
    for number, corners in rings:
        pts = list(corners) + ([corners[0]] if close else [])
        for n, e in pts:
            y = e + prefix * 1_000_000 if prefix else e
            a, b = (y, n) if swap else (n, y)
            lines.append(f"J{k},{number},{a:.3f},{b:.3f}")
            k += 1
    return lines


def _n_points(rings, close=True):
    return sum(len(c) + (1 if close else 0) for _, c in rings)


def _three_parcels(*, prefix=36, swap=False, area_a="2.0000"):
    """A (200 m x 100 m = 2 ha), B (300 x 300 with a 100 x 100 hole = 8 ha), C (two 100 x 100 parts)."""
    a_rings = [("1", _rect(N0, E0, 100, 200))]
    b_rings = [("1", _rect(N0 + 1000, E0, 300, 300)), ("2", _rect(N0 + 1100, E0 + 100, 100, 100))]
    c_rings = [("1", _rect(N0 + 2000, E0, 100, 100)), ("2", _rect(N0 + 2000, E0 + 500, 100, 100))]
    lines = []
    for rings, attrs in (
        (a_rings, f"{area_a},WL-001,和顺采石场,面,H48G001001,采矿用地,0602"),
        (b_rings, "8.0000,WL-002,白云石场,面,,采矿用地,0602"),
        (c_rings, "2.0000,WL-003,鸭江石场,面,,工业用地,0601"),
    ):
        lines += _parcel(f"{_n_points(rings)},{attrs},@", rings, prefix=prefix, swap=swap)
    return lines


def _write(tmp_path, body_lines, *, name="parcels.txt", datum="2000国家大地坐标系", width="3", zone="36",
           encoding="gbk", newline="\r\n", bom=False):
    text = HEADER.format(datum=datum, width=width, zone=zone) + "\n".join(body_lines) + "\n"
    text = text.replace("\n", newline)
    data = text.encode(encoding)
    if bom:
        data = b"\xef\xbb\xbf" + data
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _read(path, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gdf = read_layer(path, **kwargs)
    return gdf, [w.category for w in caught], [str(w.message) for w in caught]


def _by_id(gdf):
    return gdf.set_index("parcel_id")


def test_gbk_crlf_prefixed_file(tmp_path):
    path = _write(tmp_path, _three_parcels())
    gdf, categories, _ = _read(path)
    assert gdf.crs.to_epsg() == 4545
    assert list(gdf["parcel_id"]) == ["WL-001", "WL-002", "WL-003"]
    parcels = _by_id(gdf)
    assert parcels.loc["WL-001", "name"] == "和顺采石场"
    assert parcels.loc["WL-001", "use"] == "采矿用地"
    assert parcels.loc["WL-001", "land_code"] == "0602"
    assert parcels.loc["WL-001", "sheet"] == "H48G001001"
    assert parcels.loc["WL-001", "geom_type"] == "面"
    assert parcels.loc["WL-002", "area_ha"] == pytest.approx(8.0)
    # areas of the rectangles written
    assert parcels.loc["WL-001"].geometry.area == pytest.approx(20_000.0, abs=1e-3)
    assert parcels.loc["WL-002"].geometry.area == pytest.approx(90_000.0 - 10_000.0, abs=1e-3)
    assert parcels.loc["WL-003"].geometry.area == pytest.approx(20_000.0, abs=1e-3)
    # the hole is a hole, the second part of C a part
    assert parcels.loc["WL-002"].geometry.geom_type == "Polygon"
    assert len(parcels.loc["WL-002"].geometry.interiors) == 1
    assert parcels.loc["WL-003"].geometry.geom_type == "MultiPolygon"
    assert len(parcels.loc["WL-003"].geometry.geoms) == 2
    # bounds: prefix stripped, easting as x, northing as y
    assert parcels.loc["WL-001"].geometry.bounds == pytest.approx((E0, N0, E0 + 200, N0 + 100), abs=1e-6)
    assert tuple(gdf.total_bounds) == pytest.approx((E0, N0, E0 + 600, N0 + 2100), abs=1e-6)
    notes = gdf.attrs["wlgeo_notes"]
    assert any("GBK" in n for n in notes)
    assert any("zone prefix 36 removed" in n for n in notes)
    assert gdf.attrs["wlgeo_source"]["encoding"] == "gbk"
    assert EncodingGuessWarning in categories
    # no area mismatch noted: the declared 面积 match the polygons
    assert not any("面积" in n for n in notes)


def test_utf8_bom_no_prefix_unclosed_rings_same_result(tmp_path):
    lines = []
    rings = [("1", _rect(N0, E0, 100, 200))]
    lines += _parcel(f"{_n_points(rings, close=False)},2.0,WL-001,和顺采石场,面,,采矿用地,,@", rings, prefix=None, close=False)
    path = _write(tmp_path, lines, encoding="utf-8", bom=True, newline="\n", zone="")
    gdf, categories, _ = _read(path, working_crs="EPSG:4545")  # empty 带号, no prefix: the pack's zone
    assert gdf.attrs["wlgeo_source"]["encoding"] == "utf-8"
    assert EncodingGuessWarning not in categories
    assert gdf.loc[0, "name"] == "和顺采石场"
    assert gdf.geometry[0].area == pytest.approx(20_000.0, abs=1e-6)
    assert gdf.geometry[0].bounds == pytest.approx((E0, N0, E0 + 200, N0 + 100), abs=1e-6)
    assert not any("prefix" in n and "removed" in n for n in gdf.attrs["wlgeo_notes"])


def test_swapped_columns_are_fixed(tmp_path):
    path = _write(tmp_path, _three_parcels(swap=True))
    gdf, _, _ = _read(path)
    parcels = _by_id(gdf)
    assert parcels.loc["WL-001"].geometry.bounds == pytest.approx((E0, N0, E0 + 200, N0 + 100), abs=1e-6)
    assert parcels.loc["WL-002"].geometry.area == pytest.approx(80_000.0, abs=1e-3)
    assert any("swapped" in n for n in gdf.attrs["wlgeo_notes"])


def test_xian80_header_warns_and_uses_xian_crs(tmp_path):
    path = _write(tmp_path, _three_parcels(prefix=None), datum="1980西安坐标系")
    gdf, categories, _ = _read(path)
    assert DatumWarning in categories
    assert gdf.attrs["wlgeo_source"]["crs"] == "EPSG:2381"
    # expected position: the written corner taken through EPSG:2381 -> EPSG:4545
    x, y = Transformer.from_crs(2381, 4545, always_xy=True).transform(E0, N0)
    minx, miny, *_ = _by_id(gdf).loc["WL-001"].geometry.bounds
    assert (minx, miny) == pytest.approx((x, y), abs=0.01)
    assert any("Xian 1980" in n for n in gdf.attrs["wlgeo_notes"])


def test_area_mismatch_is_a_note_not_an_error(tmp_path):
    path = _write(tmp_path, _three_parcels(area_a="5.0"))
    gdf, _, _ = _read(path)
    mismatch = [n for n in gdf.attrs["wlgeo_notes"] if "面积" in n]
    assert len(mismatch) == 1
    assert "WL-001" in mismatch[0] and "2.0000 ha" in mismatch[0]
    assert _by_id(gdf).loc["WL-001", "area_ha"] == pytest.approx(5.0)


def test_header_zone_35_without_prefix_is_read_in_zone_35(tmp_path):
    path = _write(tmp_path, _three_parcels(prefix=None), zone="35")
    gdf, _, _ = _read(path)
    assert gdf.attrs["wlgeo_source"]["crs"] == "EPSG:4544"
    assert gdf.crs.to_epsg() == 4544
    assert _by_id(gdf).loc["WL-001"].geometry.bounds == pytest.approx((E0, N0, E0 + 200, N0 + 100), abs=1e-6)


def test_header_zone_35_with_prefix_36_trusts_the_coordinates(tmp_path):
    path = _write(tmp_path, _three_parcels(prefix=36), zone="35")
    gdf, _, _ = _read(path)
    assert any("带号=35" in n for n in gdf.attrs["wlgeo_notes"])
    assert _by_id(gdf).loc["WL-001"].geometry.bounds == pytest.approx((E0, N0, E0 + 200, N0 + 100), abs=1e-6)


def test_prefix_35_coordinates_into_a_zone_36_working_crs(tmp_path):
    path = _write(tmp_path, _three_parcels(prefix=35), zone="35")
    gdf, _, _ = _read(path, working_crs="EPSG:4545")
    to36 = Transformer.from_crs(4544, 4545, always_xy=True)
    written = [(E0, N0), (E0 + 200, N0), (E0 + 200, N0 + 100), (E0, N0 + 100)]
    expected = sorted(to36.transform(e, n) for e, n in written)
    got = sorted(set(_by_id(gdf).loc["WL-001"].geometry.exterior.coords))
    assert np.allclose(got, expected, atol=1e-6)
    assert any("reprojected from EPSG:4544 to EPSG:4545" in n for n in gdf.attrs["wlgeo_notes"])


def test_six_degree_zone_36_is_a_contradiction(tmp_path):
    path = _write(tmp_path, _three_parcels(prefix=None), width="6", zone="36")
    with pytest.raises(CRSError, match="几度分带=6 with 带号=36 is a contradiction"):
        read_layer(path)


def test_unknown_datum_is_refused(tmp_path):
    path = _write(tmp_path, _three_parcels(), datum="WGS84")
    with pytest.raises(CRSError, match="坐标系"):
        read_layer(path)


def test_bad_coordinate_names_line_parcel_and_field(tmp_path):
    lines = _three_parcels()
    # line numbers: the header has 12 lines, so the body's first line is line 13
    index = next(i for i, line in enumerate(lines) if line.startswith("J2,1") and i > 6)
    parts = lines[index].split(",")
    lines[index] = ",".join(parts[:2] + ["3245a00.0"] + parts[3:])
    parcel = "WL-002"
    path = _write(tmp_path, lines)
    with pytest.raises(LayerError) as info:
        read_layer(path)
    message = str(info.value)
    assert f"line {13 + index}" in message
    assert f"feature '{parcel}'" in message and "field 'X'" in message and str(path) in message


def test_point_count_mismatch_is_an_error(tmp_path):
    lines = _three_parcels()
    del lines[3]  # drop a point of WL-001 (declared 5)
    path = _write(tmp_path, lines)
    with pytest.raises(LayerError) as info:
        read_layer(path)
    assert "declares 5 points but 4" in str(info.value) and "WL-001" in str(info.value)


def test_bad_geometry_type_and_missing_section(tmp_path):
    lines = _three_parcels()
    lines[0] = lines[0].replace(",面,", ",圆,")
    path = _write(tmp_path, lines)
    with pytest.raises(LayerError, match="几何类型"):
        read_layer(path)
    other = tmp_path / "notes.txt"
    other.write_text("坐标系=2000国家大地坐标系\n随便写的文字\n", encoding="utf-8")
    with pytest.raises(LayerError, match=r"\[地块坐标\]"):
        read_layer(other)


def test_two_point_ring_is_an_error(tmp_path):
    rings = [("1", [(N0, E0), (N0, E0 + 100)])]
    lines = _parcel("3,0.1,WL-009,坏地块,面,,,,@", rings)
    path = _write(tmp_path, lines)
    with pytest.raises(LayerError) as info:
        read_layer(path)
    assert "WL-009" in str(info.value) and "at least 3" in str(info.value)


def test_explicit_encoding_wins(tmp_path):
    path = _write(tmp_path, _three_parcels())  # GBK bytes
    with pytest.raises(ReadError, match="utf-8"):
        read_layer(path, encoding="utf-8")
    gdf, categories, _ = _read(path, encoding="gbk")
    assert EncodingGuessWarning not in categories
    assert gdf.loc[0, "name"] == "和顺采石场"


def test_raw_reader_keeps_the_file_layout(tmp_path):
    path = _write(tmp_path, _three_parcels(), datum="1954北京坐标系")
    raw = read_bubiao(path)
    assert raw.datum == "beijing54"
    assert raw.frame.crs is None
    x, y = np.asarray(raw.frame.geometry[0].exterior.coords).min(axis=0)
    assert (x, y) == (E0 + 36_000_000, N0)  # x = the Y column, as written
    assert raw.frame["area_ha"].dtype.kind == "f"


@pytest.mark.parametrize(
    ("text", "datum"),
    [("2000国家大地坐标系", "cgcs2000"), ("CGCS2000", "cgcs2000"), ("1980西安坐标系", "xian80"),
     ("西安80", "xian80"), ("1954年北京坐标系", "beijing54"), ("", None), ("WGS84", None)],
)
def test_datum_from_text(text, datum):
    assert datum_from_text(text) == datum


def test_crossing_ring_is_kept_with_a_note(tmp_path):
    # a "bow tie": the points of a 100 x 100 square in the wrong order
    corners = [(N0, E0), (N0 + 100, E0 + 100), (N0, E0 + 100), (N0 + 100, E0)]
    lines = _parcel("5,,WL-010,错序地块,面,,,,@", [("1", corners)])
    path = _write(tmp_path, lines, zone="36带")
    gdf, _, _ = _read(path)
    assert not gdf.geometry[0].is_valid
    assert any("WL-010" in n and "not valid" in n for n in gdf.attrs["wlgeo_notes"])
    assert gdf.loc[0, "area_ha"] != gdf.loc[0, "area_ha"]  # empty 面积 → NaN, no mismatch note
    assert not any("面积" in n for n in gdf.attrs["wlgeo_notes"])


def test_line_parcel(tmp_path):
    pts = [(N0, E0), (N0 + 300, E0 + 400)]
    lines = ["2,,RD-1,矿区道路,线,,,,@"] + [f"J{i},1,{n:.1f},{36_000_000 + e:.1f}" for i, (n, e) in enumerate(pts, 1)]
    path = _write(tmp_path, lines)
    gdf, _, _ = _read(path)
    assert gdf.geometry[0].geom_type == "LineString"
    assert gdf.geometry[0].length == pytest.approx(500.0)  # 300-400-500 triangle
    assert gdf.loc[0, "geom_type"] == "线"
