"""New sites: grid, slope, distances, normalisation, exclusion rasterisation, selection, caps.

Golden values are analytic (planes, point and line distances) or hand arithmetic; the site
checks use shapely on the original vector layers, independently of the code's own check.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import rasterio.features
import shapely
from affine import Affine
from shapely.geometry import LineString, Point, box

from wlgeo import LayerPack, Scenario
from wlgeo.model.errors import CRSError, LayerError
from wlgeo.io.raster import write_raster
from wlgeo.engine.siting import (
    Grid,
    burn_inside,
    burn_outside,
    check_on_grid,
    distance_to,
    grid_from_bounds,
    normalise,
    propose_sites,
    room_for_sites,
    slope_degrees,
    weighted_sum,
)
from wlgeo.model.crs import WORKING_CRS

X0, Y0 = 450_000.0, 3_250_000.0  # a corner inside Wulong's GK extent
CRS = "EPSG:4545"


# ---------------------------------------------------------------------- slope
@pytest.mark.parametrize("a, b", [(0.1, 0.0), (0.0, -0.3), (0.25, 0.4), (1.0, 1.0)])
@pytest.mark.parametrize("cell", [(10.0, 10.0), (10.0, 25.0)])
def test_slope_of_a_plane(a, b, cell):
    cx, cy = cell
    grid = Grid(WORKING_CRS, Affine(cx, 0, X0, 0, -cy, Y0), (12, 15))
    xs, ys = grid.cell_centres()
    z = a * xs[None, :] + b * ys[:, None] + 300.0
    slope = slope_degrees(z, grid)
    expected = math.degrees(math.atan(math.hypot(a, b)))
    assert slope.shape == grid.shape
    np.testing.assert_allclose(slope, expected, atol=1e-3)  # edges too (odd reflection is exact on planes)


def test_slope_nodata_spreads_to_neighbours():
    grid = grid_from_bounds((X0, Y0, X0 + 100, Y0 + 100), 10)
    z = np.full(grid.shape, 100.0)
    z[5, 5] = np.nan
    slope = slope_degrees(z, grid)
    assert np.isnan(slope[4:7, 4:7]).all()
    assert np.isfinite(slope[0, 0]) and slope[0, 0] == 0.0
    assert int(np.isnan(slope).sum()) == 9


def test_slope_on_wrong_grid_is_an_error():
    grid = grid_from_bounds((X0, Y0, X0 + 100, Y0 + 100), 10)
    with pytest.raises(LayerError, match="nothing is resampled"):
        slope_degrees(np.zeros((9, 10)), grid)


# ---------------------------------------------------------------------- distances
def test_distance_to_points_and_lines_within_half_a_cell_diagonal():
    cell = 20.0
    grid = grid_from_bounds((X0, Y0, X0 + 2000, Y0 + 1500), cell)
    xs, ys = grid.cell_centres()
    gx, gy = np.meshgrid(xs, ys)
    port = Point(X0 + 613.0, Y0 + 877.0)
    line = LineString([(X0 + 100.0, Y0 + 51.0), (X0 + 1900.0, Y0 + 1333.0)])
    dist = distance_to([port, line], grid)
    exact = np.minimum(np.hypot(gx - port.x, gy - port.y), shapely.distance(shapely.points(gx, gy), line))
    half_diag = cell * math.sqrt(2) / 2
    assert np.abs(dist - exact).max() <= half_diag + 1e-6
    # the raster is not trivially exact: it does carry the half-cell error somewhere
    assert np.abs(dist - exact).max() > 0.5


def test_distance_sees_features_outside_the_grid():
    grid = grid_from_bounds((X0, Y0, X0 + 1000, Y0 + 1000), 10)
    outside = Point(X0 - 2995.0, Y0 + 505.0)  # 3 km west of the grid
    dist = distance_to([outside], grid, max_distance=5000)
    xs, ys = grid.cell_centres()
    # the cell centre nearest the point: column 0, row for y = Y0 + 505
    row = int(np.argmin(np.abs(ys - 505.0 - Y0)))
    assert dist[row, 0] == pytest.approx(math.hypot(xs[0] - outside.x, ys[row] - outside.y), abs=10 * math.sqrt(2) / 2)
    # beyond max_distance the feature is not seen at all
    assert np.isinf(distance_to([outside], grid, max_distance=1000)).all()


# ---------------------------------------------------------------------- normalisation
def test_normalise_direction_and_saturation():
    d = np.array([0.0, 1000.0, 2500.0, 5000.0, 7000.0, np.inf, np.nan])
    near = normalise(d, saturation=5000.0)
    np.testing.assert_allclose(near, [1.0, 0.8, 0.5, 0.0, 0.0, 0.0, np.nan])
    far = normalise(d, saturation=5000.0, better="high")
    np.testing.assert_allclose(far, [0.0, 0.2, 0.5, 1.0, 1.0, 1.0, np.nan])
    with pytest.raises(ValueError):
        normalise(d, saturation=0.0)


def test_weighted_sum_checks_the_grid():
    grid = grid_from_bounds((X0, Y0, X0 + 50, Y0 + 50), 10)
    ones = np.ones(grid.shape, dtype="float32")
    out = weighted_sum({"roads": ones, "slope": 0.5 * ones}, {"roads": 0.25, "slope": 0.75}, grid)
    np.testing.assert_allclose(out, 0.25 + 0.375)
    with pytest.raises(LayerError, match="siting grid is 5×5"):
        weighted_sum({"roads": np.ones((5, 6))}, {"roads": 1.0}, grid)
    with pytest.raises(LayerError):
        check_on_grid(np.ones((6, 5)), grid, "mask")


# ---------------------------------------------------------------------- rasterising exclusions
def test_sliver_touching_a_cell_excludes_it():
    grid = grid_from_bounds((X0, Y0, X0 + 100, Y0 + 100), 10)
    # covers column 4 fully, most of column 5 and a 1 µm sliver of column 3
    sliver = box(X0 + 40 - 1e-6, Y0, X0 + 59, Y0 + 100)
    plain = rasterio.features.rasterize([(sliver, 1)], out_shape=grid.shape, transform=grid.transform, all_touched=True)
    ours = burn_outside([sliver], 0.0, grid)
    assert ours[:, 3].all() and ours[:, 4:6].all()
    assert not ours[:, 2].any() and not ours[:, 6].any()
    # GDAL's all_touched alone misses a sliver this thin: that is why wlgeo buffers by eps
    assert not plain[:, 3].any()


def test_polygon_on_cell_edges_excludes_its_neighbours_too():
    grid = grid_from_bounds((X0, Y0, X0 + 100, Y0 + 100), 10)
    edge = box(X0 + 40, Y0 + 40, X0 + 60, Y0 + 60)  # exactly on cell edges
    ours = burn_outside([edge], 0.0, grid)
    # cells sharing an edge or corner with the polygon touch it: rows/cols 3..6 around it
    assert ours[3:7, 3:7].all()
    assert ours.sum() == 16


def test_buffer_excludes_every_cell_within_the_distance():
    grid = grid_from_bounds((X0, Y0, X0 + 1000, Y0 + 1000), 10)
    village = Point(X0 + 503.0, Y0 + 497.0)
    ours = burn_outside([village], 300.0, grid)
    # exact distance from each cell (as a square) to the point
    xs = X0 + np.arange(100) * 10.0
    ys = Y0 + 1000 - np.arange(100) * 10.0
    gx, gy = np.meshgrid(xs, ys)
    squares = shapely.box(gx, gy - 10, gx + 10, gy)
    d = shapely.distance(squares, village)
    assert ours[d <= 300.0].all()  # nothing within 300 m is left allowed
    # only a thin margin beyond is lost: the circumscribing 32-gon reaches 300/cos(π/32) = 301.45 m,
    # plus the 0.1 m eps (1 % of the cell)
    assert not ours[d > 301.6].any()
    assert ours[(d > 300.0) & (d < 301.0)].any()


def test_inside_keeps_only_whole_cells():
    grid = grid_from_bounds((X0, Y0, X0 + 100, Y0 + 100), 10)
    zone = box(X0 + 20 + 1e-6, Y0 + 20, X0 + 80, Y0 + 80)  # misses a µm of column 2; other edges on cell edges
    inside = burn_inside(zone, grid)
    assert not inside[:, 2].any()
    assert inside[2:8, 3:8].all()  # rows 2..7 (y 80..20), columns 3..7 (x 30..80)
    assert inside.sum() == 6 * 5
    # a diagonal outline: a cell is inside exactly when the triangle covers its square
    tri = shapely.Polygon([(X0, Y0), (X0 + 100, Y0), (X0, Y0 + 100)])
    inside = burn_inside(tri, grid)
    rows, cols = np.indices(grid.shape)
    # cell (r, c) spans x 10c..10c+10, y 90-10r..100-10r (from the corner); covered iff its
    # top-right corner satisfies x + y ≤ 100
    expected = (10 * cols + 10) + (100 - 10 * rows) <= 100
    np.testing.assert_array_equal(inside, expected)


# ---------------------------------------------------------------------- caps
def test_room_for_sites():
    sc = Scenario(max_quarries=30, max_total_capacity=3000.0)
    assert room_for_sites(sc, kept_count=10, kept_capacity=2000.0)[0] == 5
    n, notes = room_for_sites(sc, kept_count=10, kept_capacity=2750.0)
    assert n == 2 and "room for 2 new site(s)" in notes[0]
    n, notes = room_for_sites(sc, kept_count=10, kept_capacity=3120.0)
    assert n == 0 and notes == ["capacity cap 3000 万吨/年 leaves 0 after 3120 kept: no room for a new site of 100 万吨/年"]
    n, notes = room_for_sites(sc, kept_count=28, kept_capacity=0.0)
    assert n == 2 and "quarry cap 30 leaves 2 after 28 kept" in notes[0]
    assert room_for_sites(Scenario(max_quarries=None, max_total_capacity=None), kept_count=99, kept_capacity=1e9)[0] == 5


# ---------------------------------------------------------------------- a small synthetic district
SIZE = 6000.0  # a 6 km square district


def _frame(geoms, **cols):
    return gpd.GeoDataFrame(cols, geometry=list(geoms), crs=CRS)


def _write_dem(path, cell=50.0, steep=None):
    """A gentle plane (2 % east) plus a steep ridge in the north-east corner."""
    n = int(SIZE // cell) + 4
    transform = Affine(cell, 0, X0 - 2 * cell, 0, -cell, Y0 + SIZE + 2 * cell)
    xs = X0 - 2 * cell + (np.arange(n) + 0.5) * cell
    ys = Y0 + SIZE + 2 * cell - (np.arange(n) + 0.5) * cell
    gx, gy = np.meshgrid(xs, ys)
    z = 400.0 + 0.02 * (gx - X0)
    ridge = (gx > X0 + 4500) & (gy > Y0 + 4500)
    z = np.where(ridge, z + 1.0 * (gx - (X0 + 4500)), z)  # 45° slope there
    with rasterio.open(path, "w", driver="GTiff", width=n, height=n, count=1, dtype="float32",
                       crs=CRS, transform=transform, nodata=-9999.0) as dst:
        dst.write(z.astype("float32"), 1)
    return path


def small_pack(tmp_path, *, dem=True):
    boundary = box(X0, Y0, X0 + SIZE, Y0 + SIZE)
    layers = {
        "boundary": _frame([boundary], name=["测试区"]),
        "red_line": _frame([box(X0 + 2000, Y0 + 2000, X0 + 2600, Y0 + 2600)], category=["生态"]),
        "farmland": _frame([box(X0 + 300, Y0 + 4000, X0 + 1300, Y0 + 4700)]),
        "protected_areas": _frame([box(X0 + 3000, Y0 + 200, X0 + 3800, Y0 + 900)], kind=["geopark"], name=["地质公园"]),
        "settlements": _frame([Point(X0 + 1000, Y0 + 1000), Point(X0 + 5000, Y0 + 2500)], name=["甲村", "乙村"]),
        "roads": _frame(
            [LineString([(X0, Y0 + 3000), (X0 + SIZE, Y0 + 3100)]), LineString([(X0 + 4000, Y0), (X0 + 4100, Y0 + SIZE)]),
             LineString([(X0, Y0 + 5600), (X0 + SIZE, Y0 + 5650)])],
            kind=["county", "township", "railway"], name=["县道X1", "乡道Y1", "铁路"],
        ),
        "rivers": _frame([LineString([(X0 + 5800, Y0), (X0 + 5900, Y0 + SIZE)])], name=["乌江"], main=[True]),
        "parks": _frame([box(X0 + 4200, Y0 + 3300, X0 + 4700, Y0 + 3800)], name=["测试园区"], role=["park"]),
        "ports": _frame([Point(X0 + 5500, Y0 + 3000)], name=["测试港"]),
        "resource_zones": _frame(
            [box(X0 + 200, Y0 + 200, X0 + 5000, Y0 + 5400), box(X0 + 5000, Y0 + 200, X0 + 6000, Y0 + 1000)],
            mineral=["石灰岩", "砂岩"], name=["灰岩区", "砂岩区"],
        ),
    }
    dem_path = _write_dem(tmp_path / "dem.tif") if dem else None
    return LayerPack(layers, dem_path, tmp_path / "pack.gpkg", {})


def kept_quarries():
    return _frame([box(X0 + 1500, Y0 + 3600, X0 + 1700, Y0 + 3800)], quarry_id=["Q-1"], capacity=[80.0])


def _independent_violations(site, pack, sc, kept):
    """Shapely checks of one site polygon against the original layers and the scenario's distances."""
    bad = []
    for name in ("red_line", "farmland", "protected_areas", "parks"):
        if pack[name].geometry.intersects(site).any():
            bad.append(name)
    if (pack["settlements"].geometry.distance(site) <= sc.blast_distance_m).any():
        bad.append("settlements")
    roads = pack["roads"]
    for kind, geom in zip(roads["kind"], roads.geometry):
        need = sc.siting.road_buffer_m[kind]
        if kind in sc.trunk_kinds:
            need = max(need, sc.trunk_line_m)
        if geom.distance(site) <= need:
            bad.append(f"road {kind}")
    if (pack["rivers"].geometry.distance(site) <= max(sc.main_river_m, sc.siting.wujiang_buffer_m)).any():
        bad.append("river")
    if (kept.geometry.distance(site) < sc.siting.site_spacing_m).any():
        bad.append("kept")
    lime = pack["resource_zones"][pack["resource_zones"]["mineral"] == "石灰岩"].geometry.union_all()
    if not lime.covers(site):
        bad.append("resource")
    if not pack["boundary"].geometry.iloc[0].covers(site):
        bad.append("boundary")
    return bad


SMALL = dict(max_new_sites=4, min_site_area_m2=100_000.0, site_spacing_m=800.0)


def test_sites_respect_every_constraint_spacing_and_caps(tmp_path):
    pack = small_pack(tmp_path)
    sc = Scenario(siting=SMALL)
    kept = kept_quarries()
    res = propose_sites(pack, sc, kept=kept, kept_capacity=80.0)
    sites = res.new_sites
    assert 0 < len(sites) <= 4
    assert sites.crs == WORKING_CRS
    assert list(sites["decision"].unique()) == ["new"] and list(sites["decision_zh"].unique()) == ["规划新建"]
    for site in sites.geometry:
        assert _independent_violations(site, pack, sc, kept) == []
        # on the 45° ridge slope exceeds 25°: no site there (ridge starts at x = 4500, y = 4500)
        assert not site.intersects(box(X0 + 4550, Y0 + 4550, X0 + SIZE, Y0 + SIZE))
    geoms = list(sites.geometry)
    for i in range(len(geoms)):
        for j in range(i + 1, len(geoms)):
            assert geoms[i].distance(geoms[j]) >= 800.0
    # each site is exactly the cells it needs: ceil(100 000 / 2 500) = 40 cells of 50 m
    np.testing.assert_allclose(sites["area_m2"], 40 * 2500.0)
    np.testing.assert_allclose(sites.geometry.area, 40 * 2500.0)
    assert (sites["capacity"] == 100.0).all()
    assert sites["score"].is_monotonic_decreasing
    assert {"f_roads", "f_parks", "f_ports", "f_slope", "f_railway"} <= set(sites.columns)
    # mean slope on the 2 % plane: atan(0.02) = 1.146°
    np.testing.assert_allclose(sites["slope_deg"], math.degrees(math.atan(0.02)), atol=1e-3)
    # nearest port and its distance, by hand for the first site
    first = sites.iloc[0]
    assert first["nearest_port"] == "测试港"
    assert first["port_m"] == pytest.approx(first.geometry.distance(Point(X0 + 5500, Y0 + 3000)))
    assert "score:" in first["reasons"] and "port:" in first["reasons"]
    # the score is the weighted sum of the factor means (weights sum to 1)
    w = res.weights
    assert first["score"] == pytest.approx(sum(w[k] * first[f"f_{k}"] for k in w), abs=1e-3)
    # grid = the DEM's 50 m grid, never resampled to the scenario's 30 m; a note says so
    assert res.grid.cell_x == 50.0 and any("DEM's own 50×50 m cells" in n for n in res.notes)
    assert np.isnan(res.suitability[~res.mask]).all() and np.isfinite(res.suitability[res.mask]).all()


def test_best_site_sits_where_the_factors_point(tmp_path):
    pack = small_pack(tmp_path)
    sc = Scenario(siting={**SMALL, "max_new_sites": 1, "weights": {"ports": 1.0}})
    res = propose_sites(pack, sc, kept=None, kept_capacity=0.0)
    assert len(res.new_sites) == 1
    site = res.new_sites.geometry.iloc[0]
    # allowed limestone ground nearest the port: best possible distance found by brute force on the allowed cells
    rows, cols = np.nonzero(res.mask)
    xs, ys = res.grid.cell_centres()
    best = np.hypot(xs[cols] - (X0 + 5500), ys[rows] - (Y0 + 3000)).min()
    assert site.distance(Point(X0 + 5500, Y0 + 3000)) <= best + 200.0  # within a site's half width


def test_no_room_under_the_capacity_cap(tmp_path):
    pack = small_pack(tmp_path)
    sc = Scenario(max_total_capacity=3000.0, siting=SMALL)
    res = propose_sites(pack, sc, kept=kept_quarries(), kept_capacity=3120.0)
    assert len(res.new_sites) == 0
    assert "capacity cap 3000 万吨/年 leaves 0 after 3120 kept: no room for a new site of 100 万吨/年" in res.notes
    assert list(res.new_sites.columns[:4]) == ["site_id", "decision", "decision_zh", "score"]


def test_quarry_cap_limits_the_count(tmp_path):
    pack = small_pack(tmp_path)
    sc = Scenario(max_quarries=3, siting=SMALL)
    res = propose_sites(pack, sc, kept=kept_quarries(), kept_capacity=80.0, kept_count=1)
    assert len(res.new_sites) == 2 and res.limit == 2


def test_no_ground_big_enough_gives_no_sites_and_says_why(tmp_path):
    pack = small_pack(tmp_path)
    sc = Scenario(siting={**SMALL, "min_site_area_m2": 50_000_000.0})
    res = propose_sites(pack, sc, kept=None, kept_capacity=0.0)
    assert len(res.new_sites) == 0
    assert any("no block of allowed cells reaches min_site_area_m2" in n for n in res.notes)


def test_weights_normalisation_note(tmp_path):
    pack = small_pack(tmp_path)
    sc = Scenario(siting={**SMALL, "max_new_sites": 1, "weights": {"roads": 2, "parks": 1, "ports": 1}})
    res = propose_sites(pack, sc, kept=None, kept_capacity=0.0)
    assert any("summed to 4, normalised to 1" in n for n in res.notes)
    assert res.weights == pytest.approx({"roads": 0.5, "parks": 0.25, "ports": 0.25})


def test_without_dem_grid_from_boundary_and_slope_not_checked(tmp_path):
    pack = small_pack(tmp_path, dem=False)
    sc = Scenario(siting={**SMALL, "grid_resolution_m": 40.0})
    res = propose_sites(pack, sc, kept=None, kept_capacity=0.0)
    assert res.grid.cell_x == 40.0 and res.grid.shape == (150, 150)
    assert res.grid.bounds == pytest.approx((X0, Y0, X0 + SIZE, Y0 + SIZE))
    assert "slope" in res.not_checked and "factor slope" in res.not_checked
    assert res.weights == pytest.approx({"roads": 0.375, "parks": 0.375, "ports": 0.25})
    assert len(res.new_sites) >= 1 and res.new_sites["slope_deg"].isna().all()
    for site in res.new_sites.geometry:
        assert _independent_violations(site, pack, sc, gpd.GeoDataFrame(geometry=[], crs=CRS)) == []


def test_dem_in_another_crs_is_refused(tmp_path):
    pack = small_pack(tmp_path)
    bad = tmp_path / "dem_4326.tif"
    with rasterio.open(bad, "w", driver="GTiff", width=4, height=4, count=1, dtype="float32", crs="EPSG:4326",
                       transform=Affine(0.001, 0, 107.5, 0, -0.001, 29.4)) as dst:
        dst.write(np.zeros((1, 4, 4), dtype="float32"))
    pack.dem = bad
    with pytest.raises(CRSError, match="not EPSG:4545"):
        propose_sites(pack, Scenario(), kept=None, kept_capacity=0.0)


def test_write_raster_round_trip(tmp_path):
    grid = grid_from_bounds((X0, Y0, X0 + 300, Y0 + 200), 10)
    arr = np.arange(600, dtype="float32").reshape(grid.shape)
    arr[0, 0] = np.nan
    out = write_raster(tmp_path / "suitability.tif", arr, grid)
    with rasterio.open(out) as src:
        assert src.crs.to_epsg() == 4545
        assert src.transform == grid.transform and (src.height, src.width) == grid.shape
        np.testing.assert_array_equal(src.read(1), arr)
    assert [p.name for p in tmp_path.iterdir()] == ["suitability.tif"]
    with pytest.raises(LayerError):
        write_raster(tmp_path / "x.tif", arr[:, :-1], grid)


def test_progress_and_timings(tmp_path):
    pack = small_pack(tmp_path)
    calls = []
    res = propose_sites(pack, Scenario(siting={**SMALL, "max_new_sites": 1}), kept=None, kept_capacity=0.0,
                        progress=lambda step, frac: calls.append((step, frac)))
    steps = ["grid", "slope", "distances", "mask", "suitability", "candidates", "select", "attributes"]
    assert [c[0] for c in calls] == steps and calls[-1][1] == 1.0
    assert list(res.timings) == steps and all(t >= 0 for t in res.timings.values())


def test_cells_without_dem_data_are_never_sites(tmp_path):
    pack = small_pack(tmp_path)
    hole = box(X0 + 4000, Y0 + 2600, X0 + 5000, Y0 + 4400)
    before = propose_sites(pack, Scenario(siting=SMALL), kept=None, kept_capacity=0.0)
    assert before.new_sites.geometry.intersects(hole).any()  # the best ground is there
    # punch a nodata hole over that ground near the port and the park
    with rasterio.open(pack.dem, "r+") as dst:
        z = dst.read(1)
        t = dst.transform
        c0, c1 = int((X0 + 4000 - t.c) / t.a), int((X0 + 5000 - t.c) / t.a)
        r0, r1 = int((Y0 + 4400 - t.f) / t.e), int((Y0 + 2600 - t.f) / t.e)
        z[r0:r1, c0:c1] = -9999.0
        dst.write(z, 1)
    res = propose_sites(pack, Scenario(siting=SMALL), kept=None, kept_capacity=0.0)
    assert len(res.new_sites) >= 1
    assert not res.new_sites.geometry.intersects(hole).any()
    assert any("without DEM data" in n for n in res.notes)


def test_kept_quarries_push_sites_beyond_the_spacing(tmp_path):
    pack = small_pack(tmp_path)
    sc = Scenario(siting=SMALL)
    free = propose_sites(pack, sc, kept=None, kept_capacity=0.0).new_sites
    best = free.geometry.iloc[0]
    kept = _frame([best.centroid.buffer(60)], quarry_id=["Q-9"], capacity=[60.0])
    res = propose_sites(pack, sc, kept=kept, kept_capacity=60.0)
    assert len(res.new_sites) >= 1
    assert (res.new_sites.geometry.distance(kept.geometry.iloc[0]) >= 800.0).all()
    assert not res.new_sites.geometry.intersects(best).any()
