"""Optimal new-site selection (integer programme, HiGHS) against greedy.

Golden values are hand arithmetic on suitability rasters built here: blocks of known score,
placed so that the spacing rule makes the best single block exclude both its neighbours.
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from affine import Affine

from wlgeo import Scenario
from wlgeo.model.crs import WORKING_CRS
from wlgeo.engine.siting import Grid, propose_sites
from wlgeo.engine.siting.optimal import Caps, choose_sites, conflict_pairs, solve_selection
from wlgeo.engine.siting.select import candidate_ground

X0, Y0 = 450_000.0, 3_250_000.0
CELL = 10.0


def _three_blocks(scores=(0.8, 0.9, 0.8), gap_cells=5):
    """Three 3×3 blocks of allowed ground in a row, ``gap_cells`` cells apart, uniform scores."""
    cols = 3 * 3 + 2 * gap_cells + 4
    grid = Grid(WORKING_CRS, Affine(CELL, 0, X0, 0, -CELL, Y0 + 7 * CELL), (7, cols))
    allowed = np.zeros(grid.shape, dtype=bool)
    suit = np.full(grid.shape, np.nan)
    starts = [2 + k * (3 + gap_cells) for k in range(3)]
    for c0, score in zip(starts, scores):
        allowed[2:5, c0:c0 + 3] = True
        suit[2:5, c0:c0 + 3] = score
    boxes = [shapely.box(X0 + c0 * CELL, Y0 + 2 * CELL, X0 + (c0 + 3) * CELL, Y0 + 5 * CELL) for c0 in starts]
    return grid, allowed, suit, boxes


def test_optimal_takes_the_two_flanks_greedy_takes_the_middle():
    # blocks 30 m wide, 50 m apart: flank to flank 130 m. Spacing 100 m: the middle (0.9)
    # excludes both flanks (0.8 each); the flanks together (1.6) beat the middle alone (0.9).
    grid, allowed, suit, boxes = _three_blocks()
    ground, n_cells, _ = candidate_ground(allowed, grid, 900.0)
    assert n_cells == 9 and ground.sum() == 27
    greedy, _, rg = choose_sites(ground, suit, grid, n_cells=9, caps=Caps(max_sites=5), spacing_m=100.0,
                                 selection="greedy")
    assert [round(s.score, 9) for s in greedy] == [0.9]
    assert greedy[0].polygon.equals(boxes[1])
    sites, notes, report = choose_sites(ground, suit, grid, n_cells=9, caps=Caps(max_sites=5), spacing_m=100.0)
    assert len(sites) == 2
    assert {tuple(np.round(s.polygon.bounds, 6)) for s in sites} == {tuple(boxes[0].bounds), tuple(boxes[2].bounds)}
    assert report.selection == "optimal" and report.status == "optimal"
    assert report.gap == 0.0
    assert report.objective == pytest.approx(0.8 + 0.8, abs=1e-12)
    assert report.greedy_objective == pytest.approx(0.9, abs=1e-12)
    assert rg.objective == pytest.approx(0.9, abs=1e-12) and rg.gap is None
    assert report.to_dict()["objective"] == 1.6 and report.to_dict()["greedy_objective"] == 0.9
    assert any("greedy would score 0.9000" in n for n in [report.to_text()])


def test_a_count_cap_of_one_makes_the_middle_optimal():
    grid, allowed, suit, boxes = _three_blocks()
    ground, _, _ = candidate_ground(allowed, grid, 900.0)
    sites, _, report = choose_sites(ground, suit, grid, n_cells=9, caps=Caps(max_sites=5, quarry_room=1),
                                    spacing_m=100.0)
    assert len(sites) == 1 and sites[0].polygon.equals(boxes[1])
    assert report.objective == pytest.approx(0.9) and report.gap == 0.0


def test_capacity_cap_counts_sites_capacity():
    grid, allowed, suit, _ = _three_blocks()
    ground, _, _ = candidate_ground(allowed, grid, 900.0)
    # room for 250 万吨/年 with sites of 100: two sites fit, the flanks
    sites, _, report = choose_sites(ground, suit, grid, n_cells=9, spacing_m=100.0,
                                    caps=Caps(max_sites=5, capacity_room=250.0, site_capacity=100.0))
    assert len(sites) == 2 and report.objective == pytest.approx(1.6)
    # room for 150: one site, the middle
    sites, _, report = choose_sites(ground, suit, grid, n_cells=9, spacing_m=100.0,
                                    caps=Caps(max_sites=5, capacity_room=150.0, site_capacity=100.0))
    assert len(sites) == 1 and report.objective == pytest.approx(0.9)


def test_caps_already_exceeded_make_the_programme_infeasible():
    grid, allowed, suit, _ = _three_blocks()
    ground, _, _ = candidate_ground(allowed, grid, 900.0)
    sites, notes, report = choose_sites(ground, suit, grid, n_cells=9, spacing_m=100.0,
                                        caps=Caps(max_sites=5, quarry_room=-2))
    assert sites == [] and report.status == "infeasible" and report.gap is None
    assert any("infeasible" in n and "quarry cap exceeded by 2" in n for n in notes)


def test_no_room_under_the_caps_is_said():
    grid, allowed, suit, _ = _three_blocks()
    ground, _, _ = candidate_ground(allowed, grid, 900.0)
    sites, _, report = choose_sites(ground, suit, grid, n_cells=9, spacing_m=100.0, caps=Caps(max_sites=5, quarry_room=0))
    assert sites == [] and report.status == "no_room" and report.objective == 0.0


def test_block_conflicts_and_cliques_agree_with_polygon_distances():
    from wlgeo.engine.siting import grid_from_bounds
    from wlgeo.engine.siting.optimal import block_cliques, block_conflicts
    from wlgeo.engine.siting.select import polygonise

    grid = grid_from_bounds((X0, Y0, X0 + 3000, Y0 + 3000), 30)
    rng = np.random.default_rng(7)
    blocks = []
    for _ in range(150):
        r, c = rng.integers(0, 90, 2)
        h, w = rng.integers(1, 9, 2)
        cells = [(rr, cc) for rr in range(r, min(r + h, 100)) for cc in range(c, min(c + w, 100)) if rng.random() < 0.85]
        blocks.append(np.array(cells or [(r, c)]))
    polys = [polygonise(b[:, 0], b[:, 1], grid) for b in blocks]
    for spacing in (0.0, 45.0, 300.0):
        a, b = block_conflicts(blocks, grid, spacing)
        pa, pb = conflict_pairs(polys, spacing)
        assert set(zip(a.tolist(), b.tolist())) == set(zip(pa.tolist(), pb.tolist()))
        conflicts = set(zip(pa.tolist(), pb.tolist()))
        for clique in block_cliques(blocks, grid, spacing):  # every pair of a clique is a true conflict
            for i in range(len(clique)):
                for j in range(i + 1, len(clique)):
                    assert (min(clique[i], clique[j]), max(clique[i], clique[j])) in conflicts


def test_spacing_zero_only_forbids_overlap():
    boxes = [shapely.box(0, 0, 10, 10), shapely.box(10, 0, 20, 10), shapely.box(5, 0, 15, 10)]
    a, b = conflict_pairs(boxes, 0.0)
    assert sorted(zip(a.tolist(), b.tolist())) == [(0, 2), (1, 2)]


def test_solve_selection_on_a_path_and_the_time_limit_path():
    # a path of 7 candidates, each conflicting with its neighbours; the best independent set of
    # size ≤ 3 is found by enumerating every one ({1, 3, 5}: 0.8 + 0.75 + 0.8 = 2.35)
    scores = np.array([0.7, 0.8, 0.6, 0.75, 0.6, 0.8, 0.7])
    a, b = np.arange(6), np.arange(1, 7)
    sol = solve_selection(scores, (a, b), Caps(max_sites=3))
    best = max((scores[list(c)].sum(), c) for c in _independent_sets(7, 3))
    assert sol.status == "optimal" and sol.gap == 0.0
    assert sol.objective == pytest.approx(best[0]) == pytest.approx(2.35) and tuple(sol.chosen) == best[1] == (1, 3, 5)
    # a worse feasible set as incumbent changes nothing; the optimum is never below it
    sol = solve_selection(scores, (a, b), Caps(max_sites=3), incumbent=[0, 3, 6])
    assert sol.objective == pytest.approx(2.35) and sol.gap == 0.0 and not sol.kept_incumbent
    # the same conflicts given as cliques (each neighbouring pair a clique of two): same answer
    sol = solve_selection(scores, (np.empty(0, int), np.empty(0, int)), Caps(max_sites=3),
                          cliques=[np.array([i, i + 1]) for i in range(6)])
    assert tuple(sol.chosen) == (1, 3, 5) and sol.gap == 0.0


def _independent_sets(n, k):
    from itertools import combinations

    for size in range(1, k + 1):
        for combo in combinations(range(n), size):
            if all(j - i > 1 for i, j in zip(combo, combo[1:])):
                yield combo


def test_propose_sites_reports_optimal_and_greedy(tmp_path):
    from test_siting import SMALL, _independent_violations, kept_quarries, small_pack

    pack = small_pack(tmp_path)
    kept = kept_quarries()
    opt = propose_sites(pack, Scenario(siting=SMALL), kept=kept, kept_capacity=80.0)
    gre = propose_sites(pack, Scenario(siting={**SMALL, "selection": "greedy"}), kept=kept, kept_capacity=80.0)
    assert opt.selection.selection == "optimal" and gre.selection.selection == "greedy"
    assert opt.selection.objective >= gre.selection.objective - 1e-12
    assert opt.selection.greedy_objective == pytest.approx(gre.selection.objective)
    assert opt.selection.objective == pytest.approx(opt.new_sites["score"].sum(), abs=5e-4)
    assert opt.selection.gap == 0.0
    sc = Scenario(siting=SMALL)
    geoms = list(opt.new_sites.geometry)
    for site in geoms:
        assert _independent_violations(site, pack, sc, kept) == []
    for i in range(len(geoms)):
        for j in range(i + 1, len(geoms)):
            assert geoms[i].distance(geoms[j]) >= 800.0
    assert opt.new_sites["score"].is_monotonic_decreasing


def test_the_time_limit_keeps_the_best_found_and_states_the_gap():
    # with no time to search, HiGHS returns nothing: greedy's middle block (0.9) is kept, and the
    # gap is measured against the best possible total, every block's score: 0.8 + 0.9 + 0.8 = 2.5
    grid, allowed, suit, boxes = _three_blocks()
    ground, _, _ = candidate_ground(allowed, grid, 900.0)
    sites, notes, report = choose_sites(ground, suit, grid, n_cells=9, caps=Caps(max_sites=5), spacing_m=100.0,
                                        time_limit_s=1e-6)
    assert len(sites) == 1 and sites[0].polygon.equals(boxes[1])
    assert report.status == "time_limit" and report.objective == pytest.approx(0.9)
    assert report.bound == pytest.approx(2.5) and report.gap == pytest.approx((2.5 - 0.9) / 0.9)
    assert any("greedy's sites are kept" in n for n in notes)
    assert any("stopped at the time limit of 1e-06 s" in n and "177.78%" in n for n in notes)
    assert report.to_dict()["gap"] == pytest.approx(1.777778)
