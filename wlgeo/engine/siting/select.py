"""From a suitability raster to a few compact, well-spaced new sites.

1. **Candidate ground**: allowed cells, opened with a 3×3 square (so no site has one-cell
   slivers or one-cell necks), split into 4-connected components (:func:`scipy.ndimage.label`);
   components smaller than ``min_site_area_m2`` are dropped.
2. **Candidate sites**: seed cells are taken best-first; around each seed a square-ish site of
   ``ceil(min_site_area_m2 / cell area)`` cells is grown through candidate ground (cells nearest
   the seed in Chebyshev distance first, then Euclidean, then better suitability), so a large
   component is cut into site-sized blocks rather than proposed whole. A seed whose reachable
   ground is too small is dropped with that ground.
3. **Greedy selection**: of the candidates, the one with the best mean suitability is taken,
   polygonised (:func:`rasterio.features.shapes`), checked with vector geometry against every
   original constraint (:func:`check_site`), and its ``site_spacing_m`` zone is removed from the
   candidate ground; repeat until the limit (``max_new_sites`` and the room under the caps) is
   reached or no ground is left.
4. **Optimal selection** (``siting.selection = "optimal"``, the default) lives in
   :mod:`wlgeo.engine.siting.optimal`: the pool of blocks (:func:`candidate_pool` plus every block
   greedy grew) goes into an integer programme.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np
import rasterio.features
import shapely
import shapely.geometry
from affine import Affine
from scipy import ndimage

from wlgeo.model.scenario import Scenario
from wlgeo.engine.siting.grid import Grid
from wlgeo.engine.siting.mask import Exclusion, Inside, burn_outside

__all__ = ["Site", "candidate_ground", "grow_site", "grow_candidates", "candidate_pool", "select_sites", "check_site",
           "check_sites", "polygonise", "room_for_sites"]

#: Candidate sites grown per selection round.
CANDIDATES_PER_ROUND = 64
_SQUARE = np.ones((3, 3), dtype=bool)
_CROSS = ndimage.generate_binary_structure(2, 1)


@dataclass
class Site:
    """One selected site: its cells (row, col arrays), polygon and mean suitability."""

    rows: np.ndarray
    cols: np.ndarray
    polygon: shapely.Geometry
    score: float


def room_for_sites(
    scenario: Scenario, *, kept_count: int, kept_capacity: float
) -> tuple[int, list[str]]:
    """How many new sites the caps leave room for, with notes saying which limit binds.

    Examples
    --------
    >>> from wlgeo import Scenario
    >>> room_for_sites(Scenario(max_total_capacity=3000), kept_count=20, kept_capacity=3120)
    (0, ['capacity cap 3000 万吨/年 leaves 0 after 3120 kept: no room for a new site of 100 万吨/年'])
    """
    s = scenario.siting
    limit = s.max_new_sites
    notes: list[str] = []
    if limit == 0:
        notes.append("max_new_sites is 0: no new sites asked for")
    if scenario.max_quarries is not None:
        room = scenario.max_quarries - kept_count
        if room < limit:
            limit = max(0, room)
            notes.append(
                f"quarry cap {scenario.max_quarries} leaves {max(0, room)} after {kept_count} kept"
                + (": no room for a new site" if room <= 0 else f": at most {room} new site(s)")
            )
    if scenario.max_total_capacity is not None and s.new_site_capacity > 0:
        room_c = scenario.max_total_capacity - kept_capacity
        quotient = room_c / s.new_site_capacity + 1e-9  # inf for a huge cap over a tiny site
        fits = limit if not quotient < limit else max(0, math.floor(quotient))
        if fits < limit:
            limit = fits
            notes.append(
                f"capacity cap {scenario.max_total_capacity:g} 万吨/年 leaves {max(0.0, room_c):g} after "
                f"{kept_capacity:g} kept: "
                + (f"no room for a new site of {s.new_site_capacity:g} 万吨/年" if fits == 0
                   else f"room for {fits} new site(s) of {s.new_site_capacity:g} 万吨/年")
            )
    return limit, notes


def candidate_ground(allowed: np.ndarray, grid: Grid, min_area_m2: float) -> tuple[np.ndarray, int, list[str]]:
    """Allowed cells opened by a 3×3 square, in 4-connected components of at least ``min_area_m2``.

    Returns the candidate mask, the number of cells a site needs, and notes.
    """
    n_cells = max(1, math.ceil(min_area_m2 / grid.cell_area - 1e-9))
    opened = ndimage.binary_opening(allowed, structure=_SQUARE)
    labels, count = ndimage.label(opened, structure=_CROSS)
    notes = []
    if count == 0:
        return np.zeros(allowed.shape, dtype=bool), n_cells, notes
    sizes = np.bincount(labels.ravel())
    big = sizes >= n_cells
    big[0] = False
    ground = big[labels]
    notes.append(
        f"{int(allowed.sum())} allowed cell(s); {int(opened.sum())} after removing slivers; "
        f"{int(big.sum())} of {count} block(s) reach {min_area_m2:g} m² ({n_cells} cells of {grid.cell_area:g} m²)"
    )
    return ground, n_cells, notes


def grow_site(seed: tuple[int, int], ground: np.ndarray, suit: np.ndarray, n_cells: int) -> np.ndarray:
    """Grow a compact, 4-connected site of ``n_cells`` cells from ``seed`` through ``ground``.

    Cells are added nearest-first (Chebyshev distance to the seed, then Euclidean, then the better
    suitability), so sites come out square-ish. Returns an ``(n, 2)`` array of (row, col), or
    ``None`` when the reachable ground is smaller; then the reachable cells are returned as a
    negative result through :class:`_Exhausted`.
    """
    rows, cols = ground.shape
    r0, c0 = seed
    heap = [(0, 0, -float(suit[r0, c0]), r0, c0)]
    seen = {(r0, c0)}
    taken: list[tuple[int, int]] = []
    while heap and len(taken) < n_cells:
        _, _, _, r, c = heapq.heappop(heap)
        taken.append((r, c))
        for dr, dc in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            rr, cc = r + dr, c + dc
            if 0 <= rr < rows and 0 <= cc < cols and (rr, cc) not in seen and ground[rr, cc]:
                seen.add((rr, cc))
                drr, dcc = rr - r0, cc - c0
                heapq.heappush(heap, (max(abs(drr), abs(dcc)), drr * drr + dcc * dcc, -float(suit[rr, cc]), rr, cc))
    if len(taken) < n_cells:
        raise _Exhausted(np.array(taken, dtype=np.int64).reshape(-1, 2))
    return np.array(taken, dtype=np.int64)


class _Exhausted(Exception):
    """The ground reachable from a seed is smaller than a site (carries the reachable cells)."""

    def __init__(self, cells: np.ndarray) -> None:
        super().__init__("ground too small")
        self.cells = cells


def polygonise(rows: np.ndarray, cols: np.ndarray, grid: Grid) -> shapely.Geometry:
    """The union of the given cells as one (multi)polygon, traced with ``rasterio.features.shapes``."""
    r0, r1, c0, c1 = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    window = np.zeros((r1 - r0, c1 - c0), dtype="uint8")
    window[rows - r0, cols - c0] = 1
    t = grid.transform
    transform = Affine(t.a, 0.0, t.c + c0 * t.a, 0.0, t.e, t.f + r0 * t.e)
    parts = [shapely.geometry.shape(geom) for geom, value in
             rasterio.features.shapes(window, mask=window.astype(bool), connectivity=4, transform=transform)
             if value == 1]
    return parts[0] if len(parts) == 1 else shapely.union_all(parts)


def check_site(polygon: shapely.Geometry, exclusions: list[Exclusion], inside: list[Inside]) -> list[str]:
    """Vector check of one site against the original constraints; returns the problems (empty = clean).

    A site breaks an excluding constraint when it comes within the constraint's distance of one
    of its features (``distance ≤ d``; ``d = 0`` means touching or overlapping); it breaks an
    inside constraint when the constraint does not cover it.
    """
    problems = []
    for exc in exclusions:
        if len(exc.geoms) == 0:
            continue
        reach = float(exc.distance.max()) if len(exc.distance) else 0.0
        tree = shapely.STRtree(exc.geoms)
        hits = tree.query(polygon, predicate="dwithin", distance=reach)
        if len(hits):
            dist = shapely.distance(polygon, exc.geoms[hits])
            bad = hits[dist <= exc.distance[hits]]
            if len(bad):
                i = bad[0]
                problems.append(
                    f"{exc.name}: {float(shapely.distance(polygon, exc.geoms[i])):.1f} m from {exc.labels[i]} "
                    f"(needs > {exc.distance[i]:g} m)"
                )
    for ins in inside:
        if not shapely.covers(ins.geom, polygon):
            problems.append(f"{ins.name}: not wholly inside")
    return problems


def check_sites(polygons, exclusions: list[Exclusion], inside: list[Inside]) -> np.ndarray:
    """:func:`check_site` for many polygons at once: True where a polygon breaks no constraint."""
    polys = np.asarray(polygons, dtype=object)
    ok = np.ones(len(polys), dtype=bool)
    if not len(polys):
        return ok
    for exc in exclusions:
        if len(exc.geoms) == 0:
            continue
        reach = float(exc.distance.max()) if len(exc.distance) else 0.0
        tree = shapely.STRtree(exc.geoms)
        qi, gi = tree.query(polys, predicate="dwithin", distance=reach)
        if len(qi):
            bad = shapely.distance(polys[qi], exc.geoms[gi]) <= exc.distance[gi]
            ok[qi[bad]] = False
    for ins in inside:
        shapely.prepare(ins.geom)
        ok &= shapely.covers(ins.geom, polys)
    return ok


def select_sites(
    ground: np.ndarray,
    suitability: np.ndarray,
    grid: Grid,
    *,
    n_cells: int,
    limit: int,
    spacing_m: float,
    exclusions: list[Exclusion] = (),
    inside: list[Inside] = (),
    candidates_per_round: int = CANDIDATES_PER_ROUND,
    record: list | None = None,
) -> tuple[list[Site], list[str]]:
    """Greedy best-mean-score selection of up to ``limit`` sites of ``n_cells`` cells on ``ground``.

    Each chosen site is checked with :func:`check_site`; a site failing the check (which the
    rasterisation rules should make impossible) is dropped with a note and its cells removed.
    ``record``, when given, receives every candidate block grown in every round (mean score,
    cells), so :mod:`wlgeo.engine.siting.optimal` can put greedy's own blocks in its pool.
    """
    notes: list[str] = []
    sites: list[Site] = []
    if limit <= 0 or not ground.any():
        return sites, notes
    suit = np.where(ground, np.nan_to_num(suitability, nan=0.0), 0.0).astype("float64")
    available = ground.copy()
    flat = np.flatnonzero(available)
    seeds = flat[np.argsort(-suit.ravel()[flat], kind="stable")]
    while len(sites) < limit:
        seeds = seeds[available.ravel()[seeds]]
        if len(seeds) == 0:
            break
        candidates = grow_candidates(available, seeds, suit, n_cells, limit=candidates_per_round)
        if record is not None:
            record.extend(candidates)
        if not candidates:
            break
        score, cells = max(candidates, key=lambda item: item[0])
        polygon = polygonise(cells[:, 0], cells[:, 1], grid)
        problems = check_site(polygon, list(exclusions), list(inside))
        for other in sites:
            gap = float(shapely.distance(polygon, other.polygon))
            if gap < spacing_m or (spacing_m == 0 and shapely.intersection(polygon, other.polygon).area > 0):
                problems.append(f"spacing: {gap:.1f} m from another new site (needs ≥ {spacing_m:g} m)")
        available[cells[:, 0], cells[:, 1]] = False
        if problems:
            notes.append("a candidate site was dropped by the vector check: " + "; ".join(problems))
            continue
        sites.append(Site(cells[:, 0], cells[:, 1], polygon, score))
        if spacing_m > 0:
            available &= ~burn_outside([polygon], spacing_m, grid)
    return sites, notes


def grow_candidates(
    available: np.ndarray, seeds: np.ndarray, suit: np.ndarray, n_cells: int, *, limit: float = math.inf
) -> list[tuple[float, np.ndarray]]:
    """Grow disjoint site-sized blocks from ``seeds`` (flat indices, best first) on ``available``.

    A seed is skipped when an earlier block took it or lies within half a site's width of it;
    a seed whose reachable ground is smaller than a site has that ground removed from
    ``available`` (in place). Returns up to ``limit`` pairs (mean suitability, ``(n, 2)`` cells).
    """
    cols = available.shape[1]
    half = max(1, math.ceil(math.sqrt(n_cells) / 2))
    suppressed = np.zeros(available.shape, dtype=bool)
    candidates: list[tuple[float, np.ndarray]] = []
    for seed in seeds:
        r, c = divmod(int(seed), cols)
        if suppressed[r, c] or not available[r, c]:
            continue
        try:
            cells = grow_site((r, c), available, suit, n_cells)
        except _Exhausted as small:
            available[small.cells[:, 0], small.cells[:, 1]] = False
            continue
        candidates.append((float(suit[cells[:, 0], cells[:, 1]].mean()), cells))
        suppressed[cells[:, 0], cells[:, 1]] = True
        suppressed[max(0, r - half) : r + half + 1, max(0, c - half) : c + half + 1] = True
        if len(candidates) >= limit:
            break
    return candidates


def candidate_pool(ground: np.ndarray, suitability: np.ndarray, n_cells: int) -> list[tuple[float, np.ndarray]]:
    """Every block one unlimited round of :func:`grow_candidates` cuts from the whole of ``ground``.

    Seeds are taken best-first over all the ground, so the pool tiles it with disjoint,
    compact, site-sized blocks. Returns pairs (mean suitability, ``(n, 2)`` cells).
    """
    if not ground.any():
        return []
    suit = np.where(ground, np.nan_to_num(suitability, nan=0.0), 0.0).astype("float64")
    available = ground.copy()
    flat = np.flatnonzero(available)
    seeds = flat[np.argsort(-suit.ravel()[flat], kind="stable")]
    return grow_candidates(available, seeds, suit, n_cells)
