"""三区两线 by line of sight (wlgeo.visibility) on synthetic DEMs built here.

Golden values are hand geometry: a road along y = Y0, a ridge that hides a quarry 500 m away,
an open slope that shows a quarry 2000 m away (the nearest observer stands at the foot of the
perpendicular: observers are 50 m apart from the road's start), and the horizon of a 1.6 m eye
over flat ground, √(2R·1.6 / (1 − 0.13)) = 4840.9 m.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine
from shapely.geometry import LineString, box

import wlgeo
from wlgeo import LayerPack, Scenario
from wlgeo.model.crs import WORKING_CRS
from wlgeo.model.errors import PackError
from wlgeo.engine.siting import Grid, propose_sites, read_dem
from wlgeo.engine.visibility import EARTH_RADIUS_M, REFRACTION, line_of_sight, observer_points, quarry_visibility, visible_cells

X0, Y0 = 450_000.0, 3_250_000.0
CELL = 50.0
CRS = "EPSG:4545"
ROAD = "G65 测试高速"
ON = {"visibility.enabled": True}


def _frame(geoms, crs=CRS, **cols):
    return gpd.GeoDataFrame(cols, geometry=list(geoms), crs=crs)


def _dem(path, height, *, x_range=(-500, 8500), y_range=(-500, 3500), nodata_box=None, crs=CRS):
    """A DEM of 50 m cells; ``height(dx, dy)`` gives the ground at offsets from (X0, Y0)."""
    cols = int((x_range[1] - x_range[0]) / CELL)
    rows = int((y_range[1] - y_range[0]) / CELL)
    transform = Affine(CELL, 0, X0 + x_range[0], 0, -CELL, Y0 + y_range[1])
    dx = x_range[0] + (np.arange(cols) + 0.5) * CELL
    dy = y_range[1] - (np.arange(rows) + 0.5) * CELL
    gx, gy = np.meshgrid(dx, dy)
    z = height(gx, gy).astype("float32")
    if nodata_box is not None:
        a, b, c, d = nodata_box
        z[(gx >= a) & (gx <= c) & (gy >= b) & (gy <= d)] = -9999.0
    with rasterio.open(path, "w", driver="GTiff", width=cols, height=rows, count=1, dtype="float32", crs=crs,
                       transform=transform, nodata=-9999.0) as dst:
        dst.write(z, 1)
    return path


def ridge(gx, gy):
    """Flat at 300 m, a 100 m high ridge between 200 and 300 m north of the road, the whole way along."""
    return np.where((gy >= 200) & (gy <= 300), 400.0, 300.0)


def slope(gx, gy):
    """Flat at 300 m for 1 km, then rising 1 in 5 northwards, facing the road."""
    return 300.0 + 0.2 * np.clip(gy - 1000.0, 0, None)


def _pack(tmp_path, height, quarry, *, dem_kw=None, dem=True, crs=CRS):
    layers = {
        "quarries": _frame([quarry], crs, quarry_id=["Q-1"], capacity=[80.0], license_end=["2030-12-31"]),
        "roads": _frame([LineString([(X0, Y0), (X0 + 8000, Y0)])], crs, kind=["expressway"], name=[ROAD]),
    }
    path = _dem(tmp_path / "dem.tif", height, crs=crs, **(dem_kw or {})) if dem else None
    return LayerPack(layers, path, tmp_path / "pack.gpkg", {}, working_crs=crs)


BEHIND_RIDGE = box(X0 + 4000, Y0 + 500, X0 + 4200, Y0 + 700)     # 500 m from the road
ON_THE_SLOPE = box(X0 + 4000, Y0 + 2000, X0 + 4200, Y0 + 2200)   # 2000 m from the road


def test_a_ridge_hides_a_quarry_500_m_from_the_road(tmp_path):
    pack = _pack(tmp_path, ridge, BEHIND_RIDGE)
    buffer = wlgeo.plan(pack, Scenario(), sites=False).quarries.iloc[0]
    assert buffer["decision"] == "expire" and buffer["reasons"].startswith(f"trunk_line:500m({ROAD})")
    sight = wlgeo.plan(pack, Scenario().replace(**ON), sites=False)
    q = sight.quarries.iloc[0]
    assert q["decision"] == "retain"
    assert q["reasons"].split(";")[0] == f"hidden:500m({ROAD})"
    assert q["trunk_line_sight"] == "hidden" and np.isnan(q["trunk_line_seen_m"])
    assert sight.visibility["trunk_line"]["hidden"] == 1 and sight.visibility["sight_lines"] > 0


def test_the_ridge_in_another_gauss_kruger_zone(tmp_path):
    # the same ground in CGCS2000 3-degree zone 37 (EPSG:4546): nothing assumes EPSG:4545
    pack = _pack(tmp_path, ridge, BEHIND_RIDGE, crs="EPSG:4546")
    result = wlgeo.plan(pack, Scenario().replace(**ON), sites=False)
    q = result.quarries.iloc[0]
    assert q["decision"] == "retain" and q["reasons"].split(";")[0] == f"hidden:500m({ROAD})"


def test_an_open_slope_shows_a_quarry_2_km_from_the_road(tmp_path):
    pack = _pack(tmp_path, slope, ON_THE_SLOPE)
    buffer = wlgeo.plan(pack, Scenario(), sites=False).quarries.iloc[0]
    assert buffer["decision"] == "retain" and "trunk_line" not in buffer["reasons"]
    q = wlgeo.plan(pack, Scenario().replace(**ON), sites=False).quarries.iloc[0]
    assert q["decision"] == "expire"
    # nearest observer that sees it: (X0 + 4000, Y0) → vertex (X0 + 4000, Y0 + 2000)
    assert q["reasons"].split(";")[0] == f"visible:2000m({ROAD})"
    assert q["trunk_line_seen_m"] == pytest.approx(2000.0, abs=1e-6)


def test_beyond_max_distance_nothing_is_seen(tmp_path):
    pack = _pack(tmp_path, slope, ON_THE_SLOPE)
    q = wlgeo.plan(pack, Scenario().replace(**ON, **{"visibility.max_distance_m": 1500.0}), sites=False).quarries.iloc[0]
    assert q["decision"] == "retain" and q["trunk_line_sight"] == "out_of_range" and q["reasons"] == ""


def test_a_dem_short_of_the_road_is_not_checked_and_the_corridor_applies(tmp_path):
    # the DEM stops 1 km east of the quarry: observers further east within 3 km have no ground
    pack = _pack(tmp_path, ridge, BEHIND_RIDGE, dem_kw={"x_range": (-500, 5200)})
    result = wlgeo.plan(pack, Scenario().replace(**ON), sites=False)
    q = result.quarries.iloc[0]
    assert q["trunk_line_sight"] == "not_checked"
    assert q["reasons"].startswith(f"sight:not_checked;trunk_line:500m({ROAD})") and q["decision"] == "expire"
    assert any("not checked" in n and "Q-1" in n for n in result.notes)
    assert any("fixed corridors" in n and "Q-1" in n for n in result.notes)


def flat(gx, gy):
    return np.full(gx.shape, 300.0)


def test_nodata_on_every_sight_line_is_not_checked(tmp_path):
    # flat ground, a nodata strip between the road and the quarry along the whole road
    pack = _pack(tmp_path, flat, BEHIND_RIDGE, dem_kw={"nodata_box": (-500, 100, 8500, 200)})
    q = wlgeo.plan(pack, Scenario().replace(**ON), sites=False).quarries.iloc[0]
    assert q["trunk_line_sight"] == "not_checked"
    assert q["reasons"].startswith(f"sight:not_checked;trunk_line:500m({ROAD})") and q["decision"] == "expire"
    grid, dem, _ = read_dem(pack.dem)
    direct = quarry_visibility(pack["quarries"], {"trunk_line": pack["roads"]}, dem, grid, Scenario().visibility)
    assert direct.loc[0, "trunk_line_sight"] == "not_checked"
    assert any("Q-1" in n and "nodata" in n for n in direct.attrs["notes"])


def test_known_terrain_blocks_even_past_nodata(tmp_path):
    # the same strip in front of the ridge: every line is still blocked by the (known) ridge
    pack = _pack(tmp_path, ridge, BEHIND_RIDGE, dem_kw={"nodata_box": (-500, 100, 8500, 150)})
    q = wlgeo.plan(pack, Scenario().replace(**ON), sites=False).quarries.iloc[0]
    assert q["trunk_line_sight"] == "hidden" and q["reasons"].split(";")[0] == f"hidden:500m({ROAD})"


def test_a_slope_seen_through_a_nodata_patch_stays_visible_elsewhere(tmp_path):
    pack = _pack(tmp_path, slope, ON_THE_SLOPE, dem_kw={"nodata_box": (3900, 400, 4300, 600)})
    q = wlgeo.plan(pack, Scenario().replace(**ON), sites=False).quarries.iloc[0]
    # the straight-on lines cross the nodata patch, oblique ones do not: still visible, farther
    assert q["trunk_line_sight"] == "visible" and q["trunk_line_seen_m"] > 2000.0
    assert q["decision"] == "expire"


def test_visibility_needs_a_dem(tmp_path):
    pack = _pack(tmp_path, ridge, BEHIND_RIDGE, dem=False)
    with pytest.raises(PackError, match=r"enables \[visibility\].*no DEM"):
        wlgeo.plan(pack, Scenario().replace(**ON), sites=False)


def test_horizon_of_a_1_6_m_eye_over_flat_ground():
    grid = Grid(WORKING_CRS, Affine(10.0, 0, X0 - 100, 0, -10.0, Y0 + 100), (20, 700))
    dem = np.zeros(grid.shape)
    horizon = math.sqrt(2 * EARTH_RADIUS_M * 1.6 / (1 - REFRACTION))
    assert horizon == pytest.approx(4840.9, abs=0.1)
    d = np.array([4700.0, 4800.0, 4900.0, 5000.0])
    obs = np.column_stack([np.full(4, X0), np.full(4, Y0), np.full(4, 1.6)])
    tgt = np.column_stack([X0 + d, np.full(4, Y0), np.zeros(4)])
    assert line_of_sight(dem, grid, obs, tgt, earth_curvature=True, step=5.0).tolist() == [1, 1, 0, 0]
    assert line_of_sight(dem, grid, obs, tgt, earth_curvature=False, step=5.0).tolist() == [1, 1, 1, 1]


def test_a_bump_blocks_and_unknown_ground_is_unknown():
    grid = Grid(WORKING_CRS, Affine(10.0, 0, 0.0, 0, -10.0, 100.0), (10, 120))
    dem = np.zeros(grid.shape)
    obs = np.array([[5.0, 55.0, 2.0]])
    tgt = np.array([[1105.0, 55.0, 2.0]])
    assert line_of_sight(dem, grid, obs, tgt, earth_curvature=False).tolist() == [1]
    bump = dem.copy()
    bump[:, 60] = 2.5  # a 2.5 m wall across the middle
    assert line_of_sight(bump, grid, obs, tgt, earth_curvature=False).tolist() == [0]
    hole = dem.copy()
    hole[:, 30] = np.nan
    assert line_of_sight(hole, grid, obs, tgt, earth_curvature=False).tolist() == [-1]
    hole[:, 60] = 2.5  # known terrain blocks it anyway
    assert line_of_sight(hole, grid, obs, tgt, earth_curvature=False).tolist() == [0]


def test_observers_are_at_most_one_cell_apart():
    line = LineString([(0, 0), (1000, 0), (1000, 733)])
    obs = observer_points([line], 50.0)
    gaps = np.hypot(*np.diff(obs.xy, axis=0).T)
    assert gaps.max() <= 50.0 + 1e-9 and len(obs.xy) == 1 + 20 + 15
    assert shapely.distance(shapely.points(obs.xy), line).max() < 1e-9


def test_the_viewshed_stops_at_the_ridge(tmp_path):
    path = _dem(tmp_path / "dem.tif", ridge)
    grid, dem, _ = read_dem(path)
    roads = _frame([LineString([(X0, Y0), (X0 + 8000, Y0)])], kind=["expressway"], name=[ROAD])
    xs, ys = grid.cell_centres()
    gx, gy = np.meshgrid(xs - X0, ys - Y0)
    cells = (np.abs(gx - 4000) < 200) | (np.abs(gx - 200) < 100)  # a strip mid-road and one near its west end
    found = visible_cells(dem, grid, {"trunk_line": roads}, grid, cells, Scenario().visibility)
    near = cells & (np.hypot(np.clip(gx, 0, 8000) - gx, gy) <= 3000)  # tested, within 3 km of the road
    front = near & (gy > 0) & (gy < 200)
    behind = near & (gy > 300)
    assert found.visible[front].all()
    assert not found.visible[behind].any()
    assert not found.visible[~near].any()
    assert not found.visible[~cells].any() and not found.unknown[~cells].any()
    # cells near the west end, behind the ridge, see observers whose ground is there: known, hidden
    assert not (found.visible & found.unknown).any()


def test_new_sites_stay_out_of_the_visible_range(tmp_path):
    # a ridge 800–900 m north of the road: with the 1000 m corridor sites keep > 1000 m away;
    # with visibility the open ground in front of the ridge is seen, the ground behind it is not
    def far_ridge(gx, gy):
        return np.where((gy >= 800) & (gy <= 900), 400.0, 300.0)

    layers = {
        "boundary": _frame([box(X0 - 500, Y0 - 500, X0 + 8500, Y0 + 3500)], name=["测试区"]),
        "roads": _frame([LineString([(X0, Y0), (X0 + 8000, Y0)])], kind=["expressway"], name=[ROAD]),
        "resource_zones": _frame([box(X0 + 1000, Y0 + 100, X0 + 7000, Y0 + 2500)], mineral=["石灰岩"]),
    }
    pack = LayerPack(layers, _dem(tmp_path / "dem.tif", far_ridge), tmp_path / "pack.gpkg", {})
    siting = {"weights": {"roads": 1.0}, "max_new_sites": 3, "min_site_area_m2": 40_000.0, "site_spacing_m": 500.0}
    off = propose_sites(pack, Scenario(siting=siting), kept=None, kept_capacity=0.0).new_sites
    on = propose_sites(pack, Scenario(siting=siting).replace(**ON), kept=None, kept_capacity=0.0)
    road = layers["roads"].geometry.iloc[0]
    assert len(off) == 3 and (off.geometry.distance(road) > 1000.0).all()
    assert len(on.new_sites) == 3
    d = on.new_sites.geometry.distance(road)
    assert (d >= 900.0).all()  # nothing in front of the ridge
    assert (d < 1000.0).any()  # the corridor no longer applies: the hidden ground behind the ridge is used
    assert "visible_range" in on.mask_layers and any("can be seen from a trunk line" in n for n in on.notes)


def test_demo_plan_unchanged_with_visibility_off(demo_pack_path):
    base = wlgeo.plan(demo_pack_path, "baseline", sites=False)
    # every visibility parameter changed, but the test off: the same plan, reason for reason
    other = Scenario.preset("baseline").replace(**{"visibility.max_distance_m": 500.0,
                                                   "visibility.target_height_m": 1.0})
    res = wlgeo.plan(demo_pack_path, other, sites=False)
    assert res.counts() == base.counts() == {"close": 29, "expire": 62, "retain": 33, "consolidate": 26}
    assert (res.quarries["reasons"] == base.quarries["reasons"]).all()
    assert not res.quarries["reasons"].str.contains("visible:|hidden:").any()
    assert "trunk_line_sight" not in res.quarries.columns and res.visibility is None


def test_a_dem_short_of_the_road_leaves_cells_unknown(tmp_path):
    path = _dem(tmp_path / "dem.tif", ridge, x_range=(-500, 5200))
    grid, dem, _ = read_dem(path)
    roads = _frame([LineString([(X0, Y0), (X0 + 8000, Y0)])], kind=["expressway"], name=[ROAD])
    xs, ys = grid.cell_centres()
    gx, gy = np.meshgrid(xs - X0, ys - Y0)
    cells = (np.abs(gx - 4000) < 60) & (gy > 400) & (gy < 2000)  # behind the ridge, < 3 km from x = 5200+
    found = visible_cells(dem, grid, {"trunk_line": roads}, grid, cells, Scenario().visibility)
    assert not found.visible.any() and found.unknown[cells].all()
    assert any("not checked" in n for n in found.notes)


def test_compare_names_the_visibility_parameters(tmp_path):
    pack = _pack(tmp_path, ridge, BEHIND_RIDGE)
    a = wlgeo.plan(pack, Scenario(), sites=False)
    b = wlgeo.plan(pack, Scenario().replace(name="sight", **ON), sites=False)
    c = wlgeo.compare(a, b)
    assert c.changes[["quarry_id", "decision_a", "decision_b"]].values.tolist() == [["Q-1", "expire", "retain"]]
    cause = c.changes.loc[0, "cause"]
    assert cause == (f"−trunk_line:500m({ROAD}) [visibility.enabled False→True]; "
                     f"+hidden:500m({ROAD}) [visibility.enabled False→True]")
    assert c.parameters.values.tolist() == [["visibility.enabled", False, True]]
