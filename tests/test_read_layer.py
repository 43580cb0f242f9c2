"""The ``read_layer`` funnel on GeoPackage, GeoJSON and shapefile input.

Every file is written here in code. Golden values: the rectangles' own coordinates (hand
arithmetic) and, for lon/lat input, the points projected to EPSG:4545 by pyproj directly.
"""

from __future__ import annotations

import json
import warnings

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from pyproj import Transformer

from wlgeo import (
    CRSError,
    CRSWarning,
    DatumWarning,
    EncodingGuessWarning,
    ReadError,
    read_layer,
    wgs84_to_gcj02,
)

pytestmark = pytest.mark.filterwarnings("ignore::wlgeo.WlgeoWarning", "ignore:'crs' was not provided")

E0, N0 = 476_000.0, 3_245_000.0  # inside Wulong, EPSG:4545
NAME = "生态保护红线"


def _box(x0=E0, y0=N0, w=200.0, h=100.0):
    return shapely.box(x0, y0, x0 + w, y0 + h)


def _read(path, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gdf = read_layer(path, **kwargs)
    return gdf, [w.category for w in caught]


def _write_shp(tmp_path, geoms, *, crs=None, encoding="gbk", keep_cpg=False, name="red.shp"):
    frame = gpd.GeoDataFrame({"name": [NAME] * len(geoms), "kind": ["红线"] * len(geoms)}, geometry=geoms, crs=crs)
    path = tmp_path / name
    pyogrio.write_dataframe(frame, path, encoding=encoding)
    if not keep_cpg:
        path.with_suffix(".cpg").unlink(missing_ok=True)
    return path


def _write_gpkg(tmp_path, geoms, crs, name="layer.gpkg"):
    frame = gpd.GeoDataFrame({"name": [NAME] * len(geoms)}, geometry=geoms, crs=crs)
    path = tmp_path / name
    frame.to_file(path, layer="red_line", engine="pyogrio")
    return path


# --- encodings ------------------------------------------------------------------------------


def test_gbk_shapefile_without_cpg_is_decoded(tmp_path):
    path = _write_shp(tmp_path, [_box()], crs="EPSG:4545")
    assert not path.with_suffix(".cpg").exists()
    gdf, categories = _read(path)
    assert gdf.loc[0, "name"] == NAME
    assert gdf.loc[0, "kind"] == "红线"
    assert EncodingGuessWarning in categories
    assert any("GBK" in n for n in gdf.attrs["wlgeo_notes"])
    assert gdf.attrs["wlgeo_source"]["encoding"] == "gbk"
    assert gdf.geometry[0].bounds == pytest.approx((E0, N0, E0 + 200, N0 + 100))


def test_explicit_encoding_wins(tmp_path):
    path = _write_shp(tmp_path, [_box()], crs="EPSG:4545")
    gdf, categories = _read(path, encoding="latin-1")
    assert gdf.loc[0, "name"] == NAME.encode("gbk").decode("latin-1")  # what was asked for
    assert EncodingGuessWarning not in categories
    gdf, categories = _read(path, encoding="gbk")
    assert gdf.loc[0, "name"] == NAME
    assert EncodingGuessWarning not in categories


def test_utf8_shapefile_with_cpg_is_not_touched(tmp_path):
    path = _write_shp(tmp_path, [_box()], crs="EPSG:4545", encoding="utf-8", keep_cpg=True)
    gdf, categories = _read(path)
    assert gdf.loc[0, "name"] == NAME
    assert EncodingGuessWarning not in categories


# --- CRS recognition ------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", [None, 36])
def test_no_crs_gk_metres_recognised(tmp_path, prefix):
    offset = prefix * 1_000_000 if prefix else 0
    path = _write_shp(tmp_path, [_box(E0 + offset)], crs=None)
    assert not path.with_suffix(".prj").exists()
    # without a prefix the zone is that of the working CRS (a pack's); with one, the prefix's
    gdf, categories = _read(path, **({} if prefix else {"working_crs": "EPSG:4545"}))
    assert CRSWarning in categories
    assert gdf.crs.to_epsg() == 4545
    assert gdf.geometry[0].bounds == pytest.approx((E0, N0, E0 + 200, N0 + 100), abs=1e-6)
    notes = " | ".join(gdf.attrs["wlgeo_notes"])
    assert "no CRS in the file" in notes
    assert ("zone prefix 36 removed" in notes) == (prefix == 36)


def test_swapped_axes_fixed(tmp_path):
    swapped = shapely.transform(_box(E0 + 36_000_000), lambda c: c[:, ::-1])
    path = _write_shp(tmp_path, [swapped], crs=None)
    gdf, _ = _read(path)
    assert gdf.geometry[0].bounds == pytest.approx((E0, N0, E0 + 200, N0 + 100), abs=1e-6)
    assert gdf.geometry[0].area == pytest.approx(20_000.0)
    assert any("swapped" in n for n in gdf.attrs["wlgeo_notes"])


def test_declared_prefixed_crs_with_swapped_axes(tmp_path):
    swapped = shapely.transform(_box(E0 + 36_000_000), lambda c: c[:, ::-1])
    path = _write_gpkg(tmp_path, [swapped], "EPSG:4524")
    gdf, _ = _read(path)
    assert gdf.geometry[0].bounds == pytest.approx((E0, N0, E0 + 200, N0 + 100), abs=1e-6)


def test_no_crs_no_prefix_without_working_crs_lists_candidate_zones(tmp_path):
    path = _write_shp(tmp_path, [_box(E0)], crs=None)
    with pytest.raises(CRSError) as info:
        read_layer(path)
    text = str(info.value)
    assert "zone cannot be known" in text and "25–45" in text and "13–23" in text and "crs=" in text
    assert str(path) in text


def test_zone_prefix_35_read_in_zone_35(tmp_path):
    # the prefix names the zone: read there, and the working CRS is the zone holding the data
    path = _write_shp(tmp_path, [_box(E0 + 35_000_000)], crs=None)
    gdf, _ = _read(path)
    assert gdf.crs.to_epsg() == 4544  # CGCS2000 3-degree GK CM 105E, zone 35
    assert gdf.geometry[0].bounds == pytest.approx((E0, N0, E0 + 200, N0 + 100), abs=1e-6)
    assert any("zone prefix 35 removed" in n for n in gdf.attrs["wlgeo_notes"])


def test_coordinates_that_fit_nothing_refused(tmp_path):
    # Web Mercator metres of a point in Wulong: neither GK zone 36 nor degrees
    lon, lat = 107.76, 29.325
    x, y = Transformer.from_crs(4326, 3857, always_xy=True).transform(lon, lat)
    path = _write_shp(tmp_path, [shapely.Point(x, y)], crs=None)
    with pytest.raises(CRSError) as info:
        read_layer(path)
    assert "crs=" in str(info.value) and str(path) in str(info.value)
    # ... and the hint works
    gdf, _ = _read(path, crs="EPSG:3857")
    ex, ny = Transformer.from_crs(4326, 4545, always_xy=True).transform(lon, lat)
    assert (gdf.geometry[0].x, gdf.geometry[0].y) == pytest.approx((ex, ny), abs=0.01)


def test_unknown_encoding_name_is_a_read_error(tmp_path):
    path = _write_shp(tmp_path, [_box()], crs="EPSG:4545")
    with pytest.raises(ReadError, match="no-such-codec"):
        read_layer(path, encoding="no-such-codec")


def test_declared_4326_holding_metres_refused(tmp_path):
    path = _write_gpkg(tmp_path, [_box()], "EPSG:4326")
    with pytest.raises(CRSError) as info:
        read_layer(path)
    assert "crs=" in str(info.value) and str(path) in str(info.value)


def test_geojson_metres_without_crs_member(tmp_path):
    path = tmp_path / "metres.geojson"
    feature = {"type": "Feature", "properties": {"name": NAME}, "geometry": shapely.geometry.mapping(_box())}
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}, ensure_ascii=False), encoding="utf-8")
    gdf, _ = _read(path, working_crs="EPSG:4545")
    assert gdf.loc[0, "name"] == NAME
    assert gdf.geometry[0].bounds == pytest.approx((E0, N0, E0 + 200, N0 + 100), abs=1e-6)


def test_gcj02_round_trip_under_half_a_metre(tmp_path):
    lon = np.array([107.760, 107.801, 107.903, 107.56])
    lat = np.array([29.325, 29.434, 29.229, 29.39])
    glon, glat = wgs84_to_gcj02(lon, lat)
    features = [
        {"type": "Feature", "properties": {"i": i}, "geometry": {"type": "Point", "coordinates": [float(a), float(b)]}}
        for i, (a, b) in enumerate(zip(glon, glat))
    ]
    path = tmp_path / "gaode.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    gdf, _ = _read(path, gcj02=True)
    ex, ny = Transformer.from_crs(4326, 4545, always_xy=True).transform(lon, lat)
    error = np.hypot(gdf.geometry.x.to_numpy() - ex, gdf.geometry.y.to_numpy() - ny)
    assert error.max() < 0.5
    # without gcj02=True the offset (≈ 530 m) stays: the test can tell the two apart
    raw, _ = _read(path)
    offset = np.hypot(raw.geometry.x.to_numpy() - ex, raw.geometry.y.to_numpy() - ny)
    assert offset.min() > 400
    assert any("GCJ-02" in n for n in gdf.attrs["wlgeo_notes"])


def test_xian80_gives_datum_warning(tmp_path):
    path = _write_gpkg(tmp_path, [_box()], "EPSG:2381")
    gdf, categories = _read(path)
    assert DatumWarning in categories
    assert gdf.crs.to_epsg() == 4545
    x, y = Transformer.from_crs(2381, 4545, always_xy=True).transform(E0, N0)
    assert gdf.geometry[0].bounds[:2] == pytest.approx((x, y), abs=0.01)
    assert any("Xian 1980" in n for n in gdf.attrs["wlgeo_notes"])


def test_gpkg_layer_choice(tmp_path):
    path = _write_gpkg(tmp_path, [_box()], "EPSG:4545")
    gpd.GeoDataFrame({"name": ["x"]}, geometry=[_box()], crs="EPSG:4545").to_file(path, layer="farmland")
    with pytest.raises(ReadError) as info:
        read_layer(path)
    assert "red_line" in str(info.value) and "farmland" in str(info.value)
    with pytest.raises(ReadError, match="nope"):
        read_layer(path, layer="nope")
    gdf, _ = _read(path, layer="red_line")
    assert gdf.loc[0, "name"] == NAME


# --- unreadable files -----------------------------------------------------------------------


def _file(path, data: bytes):
    path.write_bytes(data)
    return path


def _truncated_gpkg(tmp_path):
    good = _write_gpkg(tmp_path, [_box()], "EPSG:4545", name="good.gpkg")
    bad = tmp_path / "truncated.gpkg"
    bad.write_bytes(good.read_bytes()[:3000])
    return bad


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda d: d / "missing.gpkg", "no such file"),
        (lambda d: d, "directory"),
        (lambda d: _file(d / "empty.geojson", b""), "empty"),
        (lambda d: _file(d / "layer.kml", b"<kml/>"), "unsupported"),
        (_truncated_gpkg, "cannot"),
    ],
    ids=["missing", "directory", "empty", "extension", "truncated"],
)
def test_unreadable_files_raise_read_error(tmp_path, make, fragment):
    path = make(tmp_path)
    with pytest.raises(ReadError) as info:
        read_layer(path)
    assert str(path) in str(info.value)
    assert fragment in str(info.value)
    assert isinstance(info.value, OSError)


def test_a_stray_feature_is_named_not_the_whole_layer(tmp_path):
    """One polygon typed at (0, 0) among GK features: the error names it, not just the layer."""
    import geopandas as gpd
    import shapely

    import wlgeo

    frame = gpd.GeoDataFrame(
        {"quarry_id": ["WL-1", "WL-2", "WL-BAD"]},
        geometry=[shapely.box(470000, 3250000, 470100, 3250100), shapely.box(471000, 3250000, 471100, 3250100),
                  shapely.box(0, 0, 100, 100)],
        crs=4545,
    )
    path = tmp_path / "q.gpkg"
    frame.to_file(path, layer="quarries")
    with pytest.raises(wlgeo.CRSError) as caught:
        wlgeo.read_layer(path, layer="quarries")
    message = str(caught.value)
    assert "1 of 3 features" in message and "'WL-BAD'" in message and "WL-1" not in message
    assert str(path) in message and "layer 'quarries'" in message
