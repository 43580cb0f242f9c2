"""Overlay: overlap areas and distances against hand-computed rectangles and independent paths."""

from __future__ import annotations

import math

import geopandas as gpd
import geopandas.testing
import numpy as np
import pytest
import shapely
from shapely import LineString, MultiPolygon, Point, Polygon

import wlgeo
from wlgeo import LayerPack, Scenario
from wlgeo.engine.overlay import (
    METRIC_COLUMNS,
    constraint_metrics,
    nearest_distance,
    overlap_area,
    subdivide,
)

# A local origin inside Wulong (EPSG:4545 metres) so the same data also survives reprojection.
E0, N0 = 470_000.0, 3_250_000.0


def box(x0, y0, x1, y1):
    return shapely.box(E0 + x0, N0 + y0, E0 + x1, N0 + y1)


def pt(x, y):
    return Point(E0 + x, N0 + y)


def line(*xy):
    return LineString([(E0 + x, N0 + y) for x, y in xy])


def frame(geoms, **columns):
    return gpd.GeoDataFrame(columns, geometry=list(geoms), crs="EPSG:4545")


def quarries(*geoms):
    return frame(geoms, quarry_id=[f"Q-{i}" for i in range(len(geoms))])


Q = box(0, 0, 200, 100)  # 20 000 m²


# ---------------------------------------------------------------- overlap_area
def test_partial_overlap_rectangle():
    # overlap is x 100..200, y 50..100 = 100 m × 50 m
    assert overlap_area([Q], [box(100, 50, 400, 400)]) == pytest.approx([5000.0], abs=1e-6)


def test_quarry_wholly_inside_constraint():
    inner = box(10, 10, 60, 30)  # 50 × 20
    assert overlap_area([inner], [box(-1000, -1000, 1000, 1000)]) == pytest.approx([1000.0], abs=1e-9)


def test_constraint_inside_hole_does_not_overlap():
    shell = [(E0, N0), (E0 + 300, N0), (E0 + 300, N0 + 300), (E0, N0 + 300)]
    hole = [(E0 + 100, N0 + 100), (E0 + 200, N0 + 100), (E0 + 200, N0 + 200), (E0 + 100, N0 + 200)]
    holed = Polygon(shell, [hole])  # 90 000 − 10 000 = 80 000 m²
    assert holed.area == 80000.0
    assert overlap_area([holed], [box(120, 120, 180, 180)]) == pytest.approx([0.0], abs=1e-9)
    # constraint filling the hole exactly (touching its ring) → 0
    assert overlap_area([holed], [box(100, 100, 200, 200)]) == pytest.approx([0.0], abs=1e-9)
    # half in the hole: box 150..250 is 10 000 m², of which 50 × 50 lies in the hole
    assert overlap_area([holed], [box(150, 150, 250, 250)]) == pytest.approx([7500.0], abs=1e-6)


def test_touching_edges_zero_area_zero_distance():
    neighbour = box(200, 0, 300, 100)  # shares Q's east edge
    corner = box(200, 100, 260, 160)  # shares only Q's north-east corner
    assert overlap_area([Q], [neighbour, corner]) == pytest.approx([0.0], abs=1e-9)
    assert nearest_distance([Q], [neighbour]) == pytest.approx([0.0], abs=1e-9)
    assert nearest_distance([Q], [corner]) == pytest.approx([0.0], abs=1e-9)


def test_overlapping_constraints_counted_once():
    a = box(50, -50, 150, 150)  # covers x 50..150 of Q: 10 000
    b = box(100, -50, 250, 150)  # covers x 100..200 of Q: 10 000
    # union covers x 50..200: 150 × 100 (the sum would be 20 000)
    assert overlap_area([Q], [a, b]) == pytest.approx([15000.0], abs=1e-6)
    # the same two as one self-overlapping (invalid) MultiPolygon
    assert overlap_area([Q], [MultiPolygon([a, b])]) == pytest.approx([15000.0], abs=1e-6)
    # a constraint duplicated
    assert overlap_area([Q], [a, a, a]) == pytest.approx([10000.0], abs=1e-6)


def test_multipolygon_quarry():
    two = MultiPolygon([box(0, 0, 100, 100), box(1000, 0, 1100, 100)])
    got = overlap_area([two], [box(50, 0, 1050, 50)])  # 50×50 in each part
    assert got == pytest.approx([5000.0], abs=1e-6)


def test_missing_and_empty_quarries_are_nan():
    got = overlap_area([Q, None, Polygon()], [box(100, 50, 400, 400)])
    assert got[0] == pytest.approx(5000.0)
    assert np.isnan(got[1]) and np.isnan(got[2])


def test_no_constraints_is_zero_not_nan():
    assert overlap_area([Q], []) == pytest.approx([0.0])


def comb(teeth=1000):
    """Base y 0..10 over x 0..2·teeth, teeth of width 1 at x 2k..2k+1 up to y 100 (≈4 000 vertices)."""
    pts = [(0.0, 0.0), (2.0 * teeth, 0.0)]
    for k in range(teeth - 1, -1, -1):
        pts += [(2 * k + 2.0, 10.0), (2 * k + 1.0, 10.0), (2 * k + 1.0, 100.0), (2 * k + 0.0, 100.0), (2 * k + 0.0, 10.0)]
    return Polygon([(E0 + x, N0 + y) for x, y in pts])


@pytest.mark.parametrize("max_vertices", [256, 16])
def test_zigzag_polygon_analytic(max_vertices):
    z = comb()
    assert shapely.get_num_coordinates(z) > 4000 and z.is_valid
    # base: 200 × 5 (y 5..10); teeth in x 100.5..300.5: 0.5 + 99 + 0.5 = 100 m wide, y 10..50
    r = box(100.5, 5, 300.5, 50)
    assert overlap_area([r], [z], max_vertices=max_vertices) == pytest.approx([1000.0 + 4000.0], abs=1e-6)


def test_huge_circle_against_unsubdivided_intersection():
    circle = pt(0, 0).buffer(1000, quad_segs=2000)  # 8 001 coordinates
    rects = [
        box(-100, -100, 100, 100),  # inside: 40 000
        box(500, -300, 1500, 300),  # straddles the rim
        box(-2000, 900, 2000, 1200),  # cap
        box(2000, 2000, 2100, 2100),  # outside
        box(-1000, -1000, 1000, 1000),  # circumscribed square: the whole circle
    ]
    got = overlap_area(rects, [circle])
    independent = [shapely.intersection(r, circle).area for r in rects]
    assert got == pytest.approx(independent, rel=1e-9, abs=1e-6)
    assert got[0] == pytest.approx(40000.0)
    assert got[3] == 0.0
    # the circle's polygon area approaches π r² (within 1e-6 for 8 000 segments)
    assert got[4] == pytest.approx(math.pi * 1000**2, rel=1e-6)


def test_random_quarries_match_dissolve_then_intersect():
    rng = np.random.default_rng(7)
    xs, ys = rng.uniform(0, 5000, 300), rng.uniform(0, 5000, 300)
    quarry_geoms = [box(x, y, x + rng.uniform(20, 300), y + rng.uniform(20, 300)) for x, y in zip(xs, ys)]
    blobs = [pt(*rng.uniform(0, 5000, 2)).buffer(rng.uniform(100, 900), quad_segs=200) for _ in range(25)]
    got = overlap_area(quarry_geoms, blobs)
    dissolved = shapely.union_all(blobs)
    independent = [shapely.intersection(g, dissolved).area for g in quarry_geoms]
    assert np.abs(got - independent).max() < 1e-4
    assert (np.asarray(independent) > 0).sum() > 30  # the test does exercise overlaps


# ---------------------------------------------------------------- subdivide
def test_subdivide_keeps_area_and_bounds_vertices():
    z = comb(500)
    pieces, parent = subdivide([None, z, box(0, 0, 1, 1)], max_vertices=64)
    assert shapely.get_num_coordinates(pieces).max() <= 64
    assert set(parent.tolist()) == {1, 2}
    assert shapely.area(pieces[parent == 1]).sum() == pytest.approx(z.area, rel=1e-12)
    # pieces of one polygon share edges only
    assert shapely.union_all(pieces[parent == 1]).area == pytest.approx(z.area, rel=1e-9)


# ---------------------------------------------------------------- distances
def test_distance_to_point_and_line():
    assert nearest_distance([Q], [pt(380, 50), pt(100, 700)]) == pytest.approx([180.0])
    assert nearest_distance([Q], [line((-500, 400), (500, 400))]) == pytest.approx([300.0])
    # a long wiggly line (subdivided) keeps its distance: vertical line at x = 350
    wiggle = line(*[(350 + (i % 2), -5000 + i) for i in range(10001)])
    assert nearest_distance([Q], [wiggle]) == pytest.approx([150.0])
    assert np.isnan(nearest_distance([Q], [])).all()


def test_settlement_polygon_containing_quarry_is_zero():
    assert nearest_distance([Q], [box(-50, -50, 300, 300)]) == pytest.approx([0.0])


# ---------------------------------------------------------------- constraint_metrics
def full_pack(q):
    return LayerPack(
        {
            "quarries": q,
            "red_line": frame([box(100, 50, 400, 400)]),
            "farmland": frame([box(50, -50, 150, 150), box(100, -50, 250, 150)]),
            "protected_areas": frame(
                [box(-100, -100, 20, 200), box(180, 0, 300, 100)], kind=["scenic_area", "forest_park"], name=["A", "B"]
            ),
            "settlements": frame([pt(380, 50), pt(100, 700)], name=["村甲", "村乙"]),
            "roads": frame(
                [line((-500, 150), (500, 150)), line((-500, 400), (500, 400)), line((-500, 800), (500, 800))],
                kind=["county", "national", "provincial"],
                name=["X101", "G319", "S203"],
            ),
            "rivers": frame(
                [line((-500, -100), (500, -100)), line((-500, -700), (500, -700))],
                name=["芙蓉江支流", "乌江"],
                main=[False, True],
            ),
        }
    )


def test_metrics_hand_values():
    q = quarries(Q)
    m = constraint_metrics(q, full_pack(q), Scenario())
    row = m.iloc[0]
    assert row["red_line_m2"] == pytest.approx(5000.0) and row["red_line_pct"] == pytest.approx(25.0)
    assert row["farmland_m2"] == pytest.approx(15000.0) and row["farmland_pct"] == pytest.approx(75.0)
    # protected: scenic 0..20 × 0..100 = 2000; forest 180..200 × 0..100 = 2000
    assert row["protected_m2"] == pytest.approx(4000.0) and row["protected_pct"] == pytest.approx(20.0)
    assert row["settlement_m"] == pytest.approx(180.0) and row["nearest_settlement"] == "村甲"
    # county road at 50 m is not a trunk line; national at 300 m is
    assert row["trunk_line_m"] == pytest.approx(300.0) and row["nearest_trunk_line"] == "G319"
    # the tributary at 100 m is not main; the Wujiang at 700 m is
    assert row["main_river_m"] == pytest.approx(700.0) and row["nearest_main_river"] == "乌江"
    assert m.attrs["not_checked"] == {}
    assert list(m.columns[: len(METRIC_COLUMNS)]) == list(METRIC_COLUMNS)


def test_scenario_filters_kinds():
    q = quarries(Q)
    sc = Scenario(trunk_kinds=("county",), closing_protected_kinds=("scenic_area",))
    m = constraint_metrics(q, full_pack(q), sc)
    assert m.loc[0, "trunk_line_m"] == pytest.approx(50.0) and m.loc[0, "nearest_trunk_line"] == "X101"
    assert m.loc[0, "protected_m2"] == pytest.approx(2000.0)
    strict = constraint_metrics(q, full_pack(q), wlgeo.load_scenario("strict"))
    assert strict.loc[0, "trunk_line_m"] == pytest.approx(300.0)  # provincial at 700 m is farther


def test_no_trunk_kind_present_is_not_checked():
    q = quarries(Q)
    m = constraint_metrics(q, full_pack(q), Scenario(trunk_kinds=("railway",)))
    assert np.isnan(m.loc[0, "trunk_line_m"])
    assert "railway" in m.attrs["not_checked"]["trunk_line"]


def test_rivers_without_main_field_all_count_with_note():
    q = quarries(Q)
    pack = full_pack(q)
    pack.layers["rivers"] = pack["rivers"].drop(columns="main")
    m = constraint_metrics(q, pack, Scenario())
    assert m.loc[0, "main_river_m"] == pytest.approx(100.0)
    assert any("no `main` field" in n for n in m.attrs["notes"])


def test_rivers_main_as_text():
    q = quarries(Q)
    pack = full_pack(q)
    pack.layers["rivers"]["main"] = ["否", "是"]
    assert constraint_metrics(q, pack, Scenario()).loc[0, "main_river_m"] == pytest.approx(700.0)


def test_absent_layers_are_nan_and_not_checked():
    q = quarries(Q, box(1000, 0, 1100, 100))
    pack = LayerPack({"quarries": q, "red_line": frame([box(100, 50, 400, 400)])})
    m = constraint_metrics(q, pack, Scenario())
    assert m["red_line_m2"].tolist() == pytest.approx([5000.0, 0.0])
    for col in METRIC_COLUMNS[2:]:
        assert m[col].isna().all(), col
    assert set(m.attrs["not_checked"]) == {"farmland", "protected", "settlement", "trunk_line", "main_river"}
    assert m.attrs["not_checked"]["farmland"] == "layer farmland absent"


def test_empty_layer_is_not_checked():
    q = quarries(Q)
    pack = LayerPack({"quarries": q, "farmland": frame([])})
    m = constraint_metrics(q, pack, Scenario())
    assert np.isnan(m.loc[0, "farmland_m2"])
    assert "empty" in m.attrs["not_checked"]["farmland"]


def test_index_alignment_and_input_untouched():
    q = quarries(box(1000, 0, 1100, 100), Q).set_index("quarry_id")
    before = q.copy()
    m = constraint_metrics(q, full_pack(q), Scenario())
    assert list(m.index) == ["Q-0", "Q-1"]
    assert m.loc["Q-1", "red_line_m2"] == pytest.approx(5000.0)
    assert m.loc["Q-0", "red_line_m2"] == pytest.approx(0.0)
    gpd.testing.assert_geodataframe_equal(q, before)


def test_quarries_in_other_crs_are_reprojected():
    q = quarries(Q)
    pack = full_pack(q)
    m = constraint_metrics(q.to_crs("EPSG:4326"), pack, Scenario())
    assert m.loc[0, "red_line_m2"] == pytest.approx(5000.0, rel=1e-4)
    assert m.loc[0, "settlement_m"] == pytest.approx(180.0, abs=0.01)
    assert any("reprojected" in n for n in m.attrs["notes"])


@pytest.mark.parametrize("epsg", [4326, 4490, 4524])
def test_same_pack_in_other_crs_through_read_layer(tmp_path, epsg):
    q = quarries(Q, box(100, 300, 400, 600), MultiPolygon([box(0, 0, 100, 100), box(1000, 0, 1100, 100)]))
    q["capacity"] = [30.0, 60.0, 80.0]
    pack = full_pack(q)
    reference = constraint_metrics(q, pack, Scenario())
    path = tmp_path / f"pack_{epsg}.gpkg"
    for name, layer in pack.layers.items():
        layer.to_crs(epsg=epsg).to_file(path, layer=name, engine="pyogrio")
    reread = LayerPack({name: wlgeo.read_layer(path, layer=name) for name in pack.layers})
    assert all(layer.crs.to_epsg() == 4545 for layer in reread.layers.values())
    got = constraint_metrics(reread["quarries"], reread, Scenario())
    for col in ("red_line_m2", "farmland_m2", "protected_m2"):
        np.testing.assert_allclose(got[col], reference[col], rtol=0.005, atol=0.5)
    for col in ("settlement_m", "trunk_line_m", "main_river_m"):
        np.testing.assert_allclose(got[col], reference[col], atol=1.0)
    # hand values of the reference: x 100..400 × y 300..400 of the red line
    assert reference.loc[1, "red_line_m2"] == pytest.approx(30000.0)
    assert got.loc[1, "red_line_m2"] == pytest.approx(30000.0, rel=0.005)


def test_quarry_without_geometry_gets_nan():
    q = quarries(Q, None)
    m = constraint_metrics(q, full_pack(q), Scenario())
    assert m.loc[0, "red_line_m2"] == pytest.approx(5000.0)
    assert m.loc[1, METRIC_COLUMNS].isna().all()


def test_random_distances_match_brute_force():
    rng = np.random.default_rng(11)
    quarry_geoms = [box(x, y, x + 150, y + 90) for x, y in rng.uniform(-20000, 20000, (400, 2))]
    quarry_geoms.append(MultiPolygon([box(0, 0, 50, 50), box(30000, 30000, 30050, 30050)]))
    walk = np.cumsum(rng.normal(0, 40, (3000, 2)), axis=0)  # a winding river of 3 000 vertices
    targets = [
        line(*walk.tolist()),
        line((-30000, 5000), (30000, 5200)),
        pt(12000, -7000),
        pt(-15000, 15000).buffer(800, quad_segs=64),  # a settlement polygon
    ]
    got = nearest_distance(quarry_geoms, targets)
    brute = [min(shapely.distance(g, t) for t in targets) for g in quarry_geoms]
    np.testing.assert_allclose(got, brute, rtol=0, atol=1e-6)
    assert len(set(np.round(brute, -2))) > 50  # distances are varied, not all zero


def test_nearest_feature_name_is_the_nearest():
    q = quarries(Q, box(5000, 0, 5100, 100))
    settlements = frame([pt(380, 50), pt(5050, 400), pt(100, 700)], name=["甲", "乙", "丙"])
    m = constraint_metrics(q, LayerPack({"quarries": q, "settlements": settlements}), Scenario())
    assert m["nearest_settlement"].tolist() == ["甲", "乙"]
    assert m["settlement_m"].tolist() == pytest.approx([180.0, 300.0])


def test_invalid_quarry_is_repaired_with_note():
    bowtie = Polygon([(E0, N0), (E0 + 100, N0 + 100), (E0 + 100, N0), (E0, N0 + 100)])  # two 2 500 m² lobes
    q = quarries(bowtie)
    m = constraint_metrics(q, LayerPack({"quarries": q, "red_line": frame([box(-50, -50, 150, 150)])}), Scenario())
    assert m.loc[0, "red_line_m2"] == pytest.approx(5000.0)
    assert m.loc[0, "red_line_pct"] == pytest.approx(100.0)
    assert any("invalid" in n and "Q-0" in n for n in m.attrs["notes"])
