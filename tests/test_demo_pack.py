"""The bundled Wulong demo pack: contract of DESIGN §3, real boundary, DEM grid, determinism.

Golden values come from outside the builder: the 26 township names from the district's
published division list, the district extent from DOMAIN.md, rules of DESIGN §4 recomputed here
with plain shapely.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest
import rasterio
import shapely
from osgeo_utils.samples import validate_gpkg
from pyproj import Transformer

import wlgeo
from wlgeo.model.schema import LAYER_NAMES, PARK_ROLES, PROTECTED_KINDS, ROAD_KINDS

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "build_demo_pack.py"
PACK = REPO / "layers" / "wulong.gpkg"
DEM = REPO / "layers" / "wulong.dem.tif"

# 4 街道, 10 镇, 8 乡, 4 民族乡 (武隆区行政区划)
TOWN_NAMES = {
    "凤山街道", "芙蓉街道", "羊角街道", "仙女山街道",
    "凤来镇", "火炉镇", "白马镇", "江口镇", "鸭江镇", "长坝镇", "平桥镇", "桐梓镇", "和顺镇", "双河镇",
    "庙垭乡", "黄莺乡", "沧沟乡", "土地乡", "白云乡", "接龙乡", "赵家乡", "大洞河乡",
    "石桥苗族土家族乡", "文复苗族土家族乡", "后坪苗族土家族乡", "浩口苗族仡佬族乡",
}
# DOMAIN.md §2: Wulong's extent in EPSG:4545 (minx, miny, maxx, maxy)
DOMAIN_EXTENT = (424_655.0, 3_212_358.0, 507_808.0, 3_283_713.0)
EXPECTED_LAYERS = set(LAYER_NAMES) - {"planning_blocks"}


@pytest.fixture(scope="module")
def pack():
    return wlgeo.read_pack(PACK)


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory):
    out = tmp_path_factory.mktemp("rebuilt")
    proc = subprocess.run([sys.executable, str(SCRIPT), "--out-dir", str(out)], capture_output=True, text=True,
                          cwd=REPO, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return out


def _gk(lon, lat):
    return Transformer.from_crs("EPSG:4326", "EPSG:4545", always_xy=True).transform(lon, lat)


def test_every_canonical_layer_in_working_crs(pack):
    assert set(pack.layers) == EXPECTED_LAYERS
    for name, frame in pack.layers.items():
        assert frame.crs is not None and frame.crs.to_epsg() == 4545, name
        assert len(frame) > 0, name
        assert frame.geometry.is_valid.all(), name
    assert pack.dem == DEM


def test_gpkg_passes_gdal_validator():
    errors = validate_gpkg.check(str(PACK), abort_at_first_error=False, warning_as_error=True,
                                 myprint=lambda *_: None)
    assert not errors


def test_every_feature_says_real_or_synthetic(pack):
    for name, frame in pack.layers.items():
        src = frame["source"]
        assert src.notna().all() and (src.str.len() > 0).all(), name
        expected = "real" if name == "boundary" else "synthetic"
        assert src.str.startswith(expected).all(), name


def test_towns_are_the_26_units_and_tile_the_district(pack):
    towns = pack["towns"]
    assert len(towns) == 26
    assert set(towns["town"]) == TOWN_NAMES
    assert towns["code"].is_unique
    boundary = pack["boundary"].geometry.iloc[0]
    assert towns.area.sum() == pytest.approx(boundary.area, rel=1e-6)
    # Voronoi cells do not overlap: pairwise intersections have (almost) no area
    union = shapely.union_all(towns.geometry.values)
    assert union.area == pytest.approx(towns.area.sum(), rel=1e-6)


def test_boundary_is_the_real_district(pack):
    b = pack["boundary"]
    assert len(b) == 1 and b["name"].iloc[0] == "武隆区"
    assert "GCJ-02" in b["source"].iloc[0]
    bounds = b.total_bounds
    assert np.all(np.abs(bounds - np.array(DOMAIN_EXTENT)) < 2000), bounds
    # official area 2 901 km²
    assert b.area.iloc[0] / 1e6 == pytest.approx(2901, rel=0.01)
    # the known sites lie inside it
    poly = b.geometry.iloc[0]
    for lon, lat in [(107.760, 29.325), (107.801, 29.434), (107.903, 29.229), (107.56, 29.39)]:
        assert poly.contains(shapely.Point(_gk(lon, lat)))


def test_quarries_contract(pack):
    q = pack["quarries"]
    assert 140 <= len(q) <= 160
    assert q["quarry_id"].is_unique
    assert q["quarry_id"].str.fullmatch(r"WL-\d{3}").all()
    assert pd.api.types.is_datetime64_any_dtype(q["license_end"])
    assert pd.api.types.is_datetime64_any_dtype(q["license_start"])
    assert (q["license_end"] > q["license_start"]).all()
    assert (q["capacity"] > 0).all() and (q["capacity"] <= 300).all()
    assert (q["capacity"] < 50).mean() > 0.5  # mostly small
    assert (q["mineral"] == "石灰岩").mean() > 0.6
    areas_ha = q.area / 1e4
    assert areas_ha.median() > 1 and areas_ha.median() < 15
    boundary = pack["boundary"].geometry.iloc[0]
    assert q.within(boundary).all()
    # the town attribute names the town polygon holding the quarry
    towns = pack["towns"].set_index("town")
    for town, geom in zip(q["town"], q.geometry):
        assert towns.geometry[town].contains(geom.representative_point())
    # some holes and some multi-part quarries
    assert sum(len(p.interiors) for g in q.geometry for p in g.geoms) >= 2
    assert sum(len(g.geoms) > 1 for g in q.geometry) >= 2


def test_field_values_within_schema(pack):
    assert set(pack["protected_areas"]["kind"]) <= set(PROTECTED_KINDS)
    assert {"world_heritage", "forest_park"} <= set(pack["protected_areas"]["kind"])
    assert set(pack["roads"]["kind"]) <= set(ROAD_KINDS)
    assert {"railway", "expressway", "national"} <= set(pack["roads"]["kind"])
    assert set(pack["parks"]["role"]) <= set(PARK_ROLES)
    assert (pack["parks"]["role"] == "core").sum() == 1
    rivers = pack["rivers"]
    assert rivers["main"].sum() == 1 and rivers.loc[rivers["main"], "name"].iloc[0] == "乌江"
    assert "芙蓉江" in set(rivers["name"])
    assert set(pack["bases"]["name"].str[:2]) == {"和顺", "白马", "白云", "鸭江"}


def test_red_line_share_is_realistic(pack):
    boundary = pack["boundary"].geometry.iloc[0]
    red = shapely.union_all(pack["red_line"].geometry.values)
    share = red.intersection(boundary).area / boundary.area
    assert 0.25 <= share <= 0.35
    assert len(pack["farmland"]) >= 300


def test_baseline_decisions_all_occur(pack):
    """DESIGN §4 rules 1–2 recomputed with plain shapely on the pack's layers."""
    q = pack["quarries"]
    red = shapely.union_all(pack["red_line"].geometry.values)
    farm = shapely.union_all(pack["farmland"].geometry.values)
    prot = shapely.union_all(pack["protected_areas"].geometry.values)
    settle = shapely.union_all(pack["settlements"].geometry.values)
    roads = pack["roads"]
    trunk = shapely.union_all(roads[roads["kind"].isin(["expressway", "railway", "national"])].geometry.values)
    rivers = pack["rivers"]
    main = shapely.union_all(rivers[rivers["main"]].geometry.values)
    geoms = q.geometry.values
    overlap = {name: shapely.area(shapely.intersection(geoms, layer)) for name, layer in
               (("red", red), ("farm", farm), ("prot", prot))}
    near = shapely.distance(geoms, settle) <= 300
    close = (overlap["red"] > 1) | (overlap["farm"] > 1) | (overlap["prot"] > 1) | near
    corridor = ~close & ((shapely.distance(geoms, trunk) <= 1000) | (shapely.distance(geoms, main) <= 1000))
    assert close.sum() >= 15
    for cause in ("red", "farm", "prot"):
        assert (overlap[cause] > 1).sum() >= 3, cause
    assert near.sum() >= 3
    assert corridor.sum() >= 15
    surviving = np.flatnonzero(~close & ~corridor)
    small = q["capacity"].to_numpy() < 50
    linked = {i: set() for i in surviving}
    for a in surviving:
        for b in surviving:
            if a < b and (small[a] or small[b]) and shapely.distance(geoms[a], geoms[b]) <= 1000:
                linked[a].add(b)
                linked[b].add(a)
    isolated_small = [i for i in surviving if small[i] and not linked[i]]
    retained = [i for i in surviving if not small[i] and not linked[i]]
    in_groups = [i for i in surviving if linked[i]]
    assert len(isolated_small) >= 10
    assert len(retained) >= 15
    assert len(in_groups) >= 10


def test_dem_grid_and_values(pack):
    with rasterio.open(DEM) as src:
        assert src.crs.to_epsg() == 4545
        assert src.res == (100.0, 100.0)
        assert src.dtypes[0] in ("int16", "float32")
        assert src.nodata is not None
        assert src.compression is not None and src.compression.name.lower() == "deflate"
        b = pack["boundary"].total_bounds
        assert src.bounds.left <= b[0] and src.bounds.bottom <= b[1]
        assert src.bounds.right >= b[2] and src.bounds.top >= b[3]
        z = src.read(1, masked=True)
        assert 140 <= z.min() < 250
        assert 1800 <= z.max() <= 2200
        city = next(src.sample([_gk(107.760, 29.330)]))[0]
        xiannv = next(src.sample([_gk(107.730, 29.465)]))[0]
        assert city < 400
        assert xiannv > 1500
    assert DEM.stat().st_size < 2_000_000


def test_dem_is_a_function_of_xy(tmp_path):
    """A 500 m DEM-only build samples the same surface at the 100 m DEM's cell centres."""
    out = tmp_path / "dem500.tif"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--dem-resolution", "500", "--dem-out", str(out)],
                          capture_output=True, text=True, cwd=REPO, timeout=600)
    assert proc.returncode == 0, proc.stderr
    with rasterio.open(out) as coarse, rasterio.open(DEM) as fine:
        assert coarse.res == (500.0, 500.0) and coarse.crs.to_epsg() == 4545
        zc = coarse.read(1, masked=True)
        rows, cols = np.nonzero(~np.ma.getmaskarray(zc))
        xs, ys = rasterio.transform.xy(coarse.transform, rows, cols)
        zf = np.array([v[0] for v in fine.sample(list(zip(xs, ys)))])
        ok = zf != fine.nodata
        assert ok.sum() > 5000
        np.testing.assert_array_equal(zc.data[rows, cols][ok], zf[ok])


def test_rebuild_is_deterministic(rebuilt):
    new_pack = rebuilt / "wulong.gpkg"
    assert pyogrio.list_layers(new_pack).tolist() == pyogrio.list_layers(PACK).tolist()
    for name, _ in pyogrio.list_layers(PACK):
        old = pyogrio.read_dataframe(PACK, layer=name)
        new = pyogrio.read_dataframe(new_pack, layer=name)
        assert list(old.columns) == list(new.columns), name
        pd.testing.assert_frame_equal(old.drop(columns="geometry"), new.drop(columns="geometry"), check_exact=True)
        assert shapely.equals_exact(old.geometry.values, new.geometry.values, tolerance=0).all(), name
    with rasterio.open(DEM) as a, rasterio.open(rebuilt / "wulong.dem.tif") as b:
        assert a.profile == b.profile
        np.testing.assert_array_equal(a.read(1), b.read(1))


def test_catalog_form_reads_the_same_layers(pack):
    cat = wlgeo.read_pack(REPO / "layers" / "catalog.toml")
    assert set(cat.layers) == EXPECTED_LAYERS
    for name in EXPECTED_LAYERS:
        assert len(cat[name]) == len(pack[name]), name
    assert cat.dem is not None and cat.dem.resolve() == DEM.resolve()
