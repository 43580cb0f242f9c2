"""Corner-point tables (CSV / XLSX) through the funnel and the raw reader.

Each table is written here in code; golden areas and bounds are those of the rectangles written.
"""

from __future__ import annotations

import warnings

import openpyxl
import pytest

from wlgeo import EncodingGuessWarning, LayerError, ReadError, read_layer
from wlgeo.io.corners import read_corner_table

pytestmark = pytest.mark.filterwarnings("ignore::wlgeo.WlgeoWarning")

N0, E0 = 3_245_000.0, 476_000.0


def _rect(n, e, dn, de):
    return [(n, e), (n, e + de), (n + dn, e + de), (n + dn, e)]


def _read(path, **kwargs):
    # the tables name no zone and some carry no prefix: read as a Wulong pack reads them (zone 36)
    kwargs.setdefault("working_crs", "EPSG:4545")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gdf = read_layer(path, **kwargs)
    return gdf, [w.category for w in caught]


def _chinese_rows(*, prefix=36, swap=False):
    """Two rights: C5001 100 x 200 m (2 ha), C5002 a 300 x 100 m rectangle closed explicitly (3 ha)."""
    rows = [["序号", "采矿许可证号", "矿山名称", "点号", "X坐标(m)", "Y坐标(m)", "开采标高", "生产规模"]]
    k = 1
    for right, name, corners, elev, cap in (
        ("C5001", "和顺石场", _rect(N0, E0, 100, 200), "+800m至+650m", "60"),
        ("C5002", "白云石场", _rect(N0 + 1000, E0 + 1000, 300, 100) + [(N0 + 1000, E0 + 1000)], "+700m至+600m", "30"),
    ):
        for j, (n, e) in enumerate(corners, start=1):
            y = e + prefix * 1_000_000 if prefix else e
            a, b = (y, n) if swap else (n, y)
            rows.append([str(k), right, name, f"J{j}", f"{a:.2f}", f"{b:.2f}", elev if j == 1 else "", cap])
            k += 1
    return rows


def _csv(tmp_path, rows, *, encoding="utf-8", name="rights.csv", title=None):
    lines = ([title] if title else []) + [",".join(r) for r in rows]
    path = tmp_path / name
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


def _check_two_rights(gdf):
    rights = gdf.set_index("quarry_id")
    assert list(rights.index) == ["C5001", "C5002"]
    assert rights.loc["C5001"].geometry.area == pytest.approx(20_000.0, abs=1e-4)
    assert rights.loc["C5002"].geometry.area == pytest.approx(30_000.0, abs=1e-4)
    assert rights.loc["C5001"].geometry.bounds == pytest.approx((E0, N0, E0 + 200, N0 + 100), abs=1e-6)
    assert rights.loc["C5002"].geometry.bounds == pytest.approx(
        (E0 + 1000, N0 + 1000, E0 + 1100, N0 + 1300), abs=1e-6
    )
    assert rights.loc["C5001", "name"] == "和顺石场"
    assert rights.loc["C5002", "elevation_range"] == "+700m至+600m"
    return rights


def test_csv_chinese_headers_title_row_prefix(tmp_path):
    path = _csv(tmp_path, _chinese_rows(), title="武隆区采矿权拐点坐标表（2000国家大地坐标系）,,,")
    gdf, categories = _read(path)
    assert gdf.crs.to_epsg() == 4545
    rights = _check_two_rights(gdf)
    assert rights.loc["C5001", "capacity"] == 60  # 生产规模 → capacity, numeric
    assert "序号" not in gdf.columns
    notes = gdf.attrs["wlgeo_notes"]
    assert any("cgcs2000" in n for n in notes)
    assert any("zone prefix 36 removed" in n for n in notes)
    assert EncodingGuessWarning not in categories


def test_csv_gbk_without_prefix(tmp_path):
    path = _csv(tmp_path, _chinese_rows(prefix=None), encoding="gbk")
    gdf, categories = _read(path)
    _check_two_rights(gdf)
    assert EncodingGuessWarning in categories
    assert gdf.attrs["wlgeo_source"]["encoding"] == "gbk"
    assert any("GBK" in n for n in gdf.attrs["wlgeo_notes"])


def test_csv_swapped_columns_are_fixed(tmp_path):
    path = _csv(tmp_path, _chinese_rows(swap=True))
    gdf, _ = _read(path)
    _check_two_rights(gdf)
    assert any("swapped" in n for n in gdf.attrs["wlgeo_notes"])


def test_xlsx_merged_ids_english_headers_and_hole(tmp_path):
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "corners"
    ws.append(["quarry_id", "point", "ring", "x", "y", "name"])
    outer = _rect(N0, E0, 300, 300)
    hole = _rect(N0 + 100, E0 + 100, 100, 100)
    for j, (n, e) in enumerate(outer, start=1):
        ws.append(["Q-1" if j == 1 else None, j, 1, n, e, "仙女山石场" if j == 1 else None])
    for j, (n, e) in enumerate(hole, start=5):
        ws.append([None, j, 2, n, e, None])
    ws.merge_cells("A2:A9")  # the id sits in a merged cell, as bureaus write it
    path = tmp_path / "rights.xlsx"
    book.save(path)
    gdf, _ = _read(path)
    assert list(gdf["quarry_id"]) == ["Q-1"]
    geom = gdf.geometry[0]
    assert geom.geom_type == "Polygon" and len(geom.interiors) == 1
    assert geom.area == pytest.approx(90_000.0 - 10_000.0, abs=1e-4)
    assert geom.bounds == pytest.approx((E0, N0, E0 + 300, N0 + 300), abs=1e-6)
    assert gdf.loc[0, "name"] == "仙女山石场"


def _book_with_two_sheets(tmp_path):
    book = openpyxl.Workbook()
    notes = book.active
    notes.title = "说明"
    notes.append(["本表坐标为2000国家大地坐标系"])
    corners = book.create_sheet("拐点")
    for row in _chinese_rows():
        corners.append(row)
    path = tmp_path / "book.xlsx"
    book.save(path)
    return path


def test_xlsx_picks_the_only_corner_sheet_and_layer_selects(tmp_path):
    path = _book_with_two_sheets(tmp_path)
    gdf, _ = _read(path)
    _check_two_rights(gdf)
    assert any("拐点" in n and "2 sheets" in n for n in gdf.attrs["wlgeo_notes"])
    gdf2, _ = _read(path, layer="拐点")
    _check_two_rights(gdf2)
    with pytest.raises(ReadError) as info:
        read_layer(path, layer="Sheet9")
    assert "Sheet9" in str(info.value) and "拐点" in str(info.value)


def test_two_point_right_is_refused(tmp_path):
    rows = _chinese_rows()
    rows = rows[:5] + [["9", "C5003", "坏", "J1", "3246000", "36477000", "", "1"],
                       ["10", "C5003", "坏", "J2", "3246000", "36477100", "", "1"],
                       ["11", "C5003", "坏", "J3", "3246000", "36477000", "", "1"]]
    path = _csv(tmp_path, rows)
    with pytest.raises(LayerError) as info:
        read_layer(path)
    message = str(info.value)
    assert "feature 'C5003'" in message and "row 6" in message and "2 distinct" in message


def test_non_numeric_coordinate_names_row_right_and_column(tmp_path):
    rows = _chinese_rows()
    rows[3][5] = "36476一00"
    path = _csv(tmp_path, rows)
    with pytest.raises(LayerError) as info:
        read_layer(path)
    message = str(info.value)
    assert "row 4" in message and "feature 'C5001'" in message and "field 'Y坐标(m)'" in message
    assert str(path) in message


def test_missing_id_is_refused(tmp_path):
    rows = _chinese_rows()
    rows[2][1] = ""
    path = _csv(tmp_path, rows)
    with pytest.raises(LayerError) as info:
        read_layer(path)
    assert "row 3" in str(info.value) and "no right id" in str(info.value)


def test_unknown_layout_lists_columns(tmp_path):
    path = _csv(tmp_path, [["名称", "经度", "纬度"], ["a", "107.7", "29.3"]])
    with pytest.raises(LayerError) as info:
        read_layer(path)
    message = str(info.value)
    assert "经度" in message and "纬度" in message  # found
    assert "X坐标" not in message  # names are given normalised ...
    assert "x坐标" in message and "点号" in message  # ... and the accepted ones are listed


def test_xls_is_refused_with_hint(tmp_path):
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0 not really a workbook")
    with pytest.raises(ReadError, match="xlsx"):
        read_layer(path)


def test_raw_reader_layout(tmp_path):
    path = _csv(tmp_path, _chinese_rows())
    raw = read_corner_table(path)
    assert raw.frame.crs is None
    assert raw.datum is None
    minx, miny, _, _ = raw.frame.geometry[0].bounds
    assert (minx, miny) == (E0 + 36_000_000, N0)  # x = the Y column, as written


def test_ring_column_outside_first_ring_makes_a_second_part(tmp_path):
    rows = [["right_id", "圈号", "x", "y"]]
    for ring, (n0, e0) in (("1", (N0, E0)), ("2", (N0, E0 + 500))):
        rows += [["R1", ring, f"{n:.1f}", f"{e:.1f}"] for n, e in _rect(n0, e0, 100, 100)]
    path = _csv(tmp_path, rows)
    gdf, _ = _read(path)
    geom = gdf.geometry[0]
    assert geom.geom_type == "MultiPolygon" and len(geom.geoms) == 2
    assert geom.area == pytest.approx(20_000.0, abs=1e-4)
    assert geom.bounds == pytest.approx((E0, N0, E0 + 600, N0 + 100), abs=1e-6)


def test_code_like_attributes_keep_leading_zeros(tmp_path):
    rows = [["编号", "点号", "X", "Y", "地类编码", "面积"]]
    rows += [["W1", str(i), f"{n:.1f}", f"{e:.1f}", "0602", "2.5"] for i, (n, e) in enumerate(_rect(N0, E0, 100, 100), 1)]
    path = _csv(tmp_path, rows)
    gdf, _ = _read(path)
    assert gdf.loc[0, "quarry_id"] == "W1"
    assert gdf.loc[0, "地类编码"] == "0602"
    assert gdf.loc[0, "area"] == pytest.approx(2.5)
