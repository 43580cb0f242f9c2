"""Optimal choice of new sites: an integer programme over the candidate blocks, solved by HiGHS.

Greedy selection (:func:`wlgeo.engine.siting.select.select_sites`) takes the best block, blocks its
neighbourhood and repeats; it can miss a better set (two good blocks on either side of one
slightly better block) and cannot say how far from the best it is. Here the choice is exact:

**Pool.** The compact, site-sized blocks the greedy code builds: one unlimited sweep of
:func:`~wlgeo.engine.siting.select.candidate_pool` over the whole candidate ground plus every block
greedy grew in its rounds (so the pool always holds greedy's picks). The optimum is the
optimum *over this pool*, not over every possible set of cells. Conflicts are measured on the
cells (:func:`block_conflicts`, exact for unions of cell squares); the chosen blocks are
checked with vector geometry against the original constraints
(:func:`~wlgeo.engine.siting.select.check_sites`), and a block that fails is left out and the
programme solved again.

**Programme.** With ``x_i ∈ {0, 1}`` for block ``i`` of score ``s_i`` (mean suitability) and
planned capacity ``c_i``::

    maximise   Σ s_i x_i
    subject to x_i + x_j ≤ 1              blocks i, j closer than site_spacing_m (overlapping ones too)
               Σ x_i ≤ max_new_sites
               Σ x_i ≤ max_quarries − quarries kept             (when capped)
               Σ c_i x_i ≤ max_total_capacity − capacity kept   (when capped)

The pairwise rows are mostly replaced by clique rows (:func:`block_cliques`: at most one
site per square of side spacing/√2), which the solver relaxes far more tightly.

Spacing to retained quarries is part of the candidate ground (the exclusion mask) and of the
vector check. Greedy's set is the starting point: it is a feasible solution, blocks that cannot
reach its total (``s_i`` + the best ``k − 1`` other scores below it) are left out, and if the
solver returns nothing better (time limit) greedy's set is kept and the
solver's bound (or, without one, the sum of the best ``k`` scores of the pool) gives its gap. The run reports the objective, the gap (0 when proven optimal:
HiGHS runs with ``mip_rel_gap = 0``) and greedy's objective beside it.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field

import numpy as np
import shapely
from scipy import ndimage
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix, vstack
from scipy.spatial import cKDTree

from wlgeo.engine.siting.grid import Grid
from wlgeo.engine.siting.mask import Exclusion, Inside
from wlgeo.engine.siting.select import Site, candidate_pool, check_sites, polygonise, select_sites

__all__ = ["Caps", "Solution", "SelectionReport", "conflict_pairs", "block_conflicts", "solve_selection",
           "choose_sites"]

log = logging.getLogger(__name__)

_TOL = 1e-9


@dataclass(frozen=True)
class Caps:
    """How many new sites the scenario allows, limit by limit.

    Attributes
    ----------
    max_sites : ``siting.max_new_sites``.
    quarry_room : ``max_quarries`` less the quarries kept (``None`` = no cap; may be negative).
    capacity_room : ``max_total_capacity`` less the capacity kept, 万吨/年 (``None`` = no cap).
    site_capacity : planned capacity of one new site, 万吨/年.
    """

    max_sites: int
    quarry_room: int | None = None
    capacity_room: float | None = None
    site_capacity: float = 0.0

    @property
    def count(self) -> int:
        """The most sites all the limits together allow (0 when a cap is already exceeded)."""
        n = self.max_sites
        if self.quarry_room is not None:
            n = min(n, self.quarry_room)
        if self.capacity_room is not None and self.site_capacity > 0:
            n = min(n, math.floor(self.capacity_room / self.site_capacity + 1e-9))
        return max(0, n)

    @property
    def exceeded(self) -> list[str]:
        """The caps the kept quarries alone already break (then the programme is infeasible)."""
        out = []
        if self.quarry_room is not None and self.quarry_room < 0:
            out.append(f"quarry cap exceeded by {-self.quarry_room} before any new site")
        if self.capacity_room is not None and self.capacity_room < 0:
            out.append(f"capacity cap exceeded by {-self.capacity_room:g} 万吨/年 before any new site")
        return out


@dataclass
class Solution:
    """What :func:`solve_selection` found.

    ``chosen`` are indices into the scores; ``objective`` their total score; ``gap`` the
    relative optimality gap (0 when proven optimal, ``None`` when unknown); ``bound`` the best
    bound on the objective; ``status`` one of ``optimal``, ``time_limit``, ``infeasible``,
    ``error``; ``message`` the solver's own words; ``kept_incumbent`` when the solver found
    nothing better than the incumbent, which is returned instead.
    """

    chosen: np.ndarray
    objective: float
    gap: float | None
    bound: float | None
    status: str
    message: str = ""
    kept_incumbent: bool = False


@dataclass
class SelectionReport:
    """How the sites were chosen (written to the notes and to ``manifest.json`` under ``siting``)."""

    selection: str
    objective: float
    gap: float | None
    greedy_objective: float | None
    status: str
    candidates: int = 0
    conflicts: int = 0
    seconds: float = 0.0
    time_limit_s: float | None = None
    bound: float | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """JSON-friendly dict (objective and gap rounded to 1e-6)."""
        def r(v):
            return None if v is None or not math.isfinite(v) else round(float(v), 6)

        return {"selection": self.selection, "objective": r(self.objective), "gap": r(self.gap),
                "greedy_objective": r(self.greedy_objective), "status": self.status, "bound": r(self.bound),
                "candidates": int(self.candidates), "conflicts": int(self.conflicts),
                "seconds": round(self.seconds, 3), "time_limit_s": self.time_limit_s}

    def to_text(self) -> str:
        """One line for the notes."""
        gap = ("not computed" if self.selection == "greedy" else "unknown") if self.gap is None else ("0 (proven optimal)" if self.gap == 0 else f"{self.gap:.2%}")
        greedy = ("" if self.greedy_objective is None or self.selection == "greedy"
                  else f"; greedy would score {self.greedy_objective:.4f}")
        pool = f" over {self.candidates} candidate block(s)" if self.selection == "optimal" else ""
        return (f"{self.selection} selection ({self.status}): objective {self.objective:.4f} "
                f"(sum of the sites' scores){pool}, gap {gap}{greedy}")


# ---------------------------------------------------------------------- the programme
def conflict_pairs(polygons, spacing_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Pairs ``(i, j)``, ``i < j``, of polygons that may not both be sites.

    Two sites conflict when they lie less than ``spacing_m`` apart (``distance < spacing_m``);
    with ``spacing_m = 0`` when they overlap (share area).

    Examples
    --------
    >>> import shapely
    >>> boxes = [shapely.box(x, 0, x + 100, 100) for x in (0, 250, 500)]
    >>> [a.tolist() for a in conflict_pairs(boxes, 200)]
    [[0, 1], [1, 2]]
    """
    polys = np.asarray(polygons, dtype=object)
    if len(polys) < 2:
        return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.intp)
    tree = shapely.STRtree(polys)
    if spacing_m > 0:
        a, b = tree.query(polys, predicate="dwithin", distance=float(spacing_m))
        keep = a < b
        a, b = a[keep], b[keep]
        close = shapely.distance(polys[a], polys[b]) < spacing_m
        return a[close], b[close]
    a, b = tree.query(polys, predicate="intersects")
    keep = a < b
    a, b = a[keep], b[keep]
    overlap = shapely.area(shapely.intersection(polys[a], polys[b])) > 0
    return a[overlap], b[overlap]


def _boundary_cells(cells: np.ndarray) -> np.ndarray:
    """The cells of a block with an 8-neighbour outside it (where its distance to others is reached)."""
    if len(cells) <= 16:
        return cells
    r0, c0 = cells.min(axis=0)
    window = np.zeros(tuple(cells.max(axis=0) - (r0, c0) + 3), dtype=bool)
    window[cells[:, 0] - r0 + 1, cells[:, 1] - c0 + 1] = True
    inner = ndimage.binary_erosion(window, structure=np.ones((3, 3), dtype=bool))
    keep = ~inner[cells[:, 0] - r0 + 1, cells[:, 1] - c0 + 1]
    return cells[keep]


def block_conflicts(blocks, grid: Grid, spacing_m: float, *, chunk: int = 4_000_000) -> tuple[np.ndarray, np.ndarray]:
    """:func:`conflict_pairs` for blocks of grid cells, from the cells (no polygons built).

    The distance between two blocks is the least distance between a cell square of one and a
    cell square of the other (``hypot(max(0, |Δcol| − 1)·cell_x, max(0, |Δrow| − 1)·cell_y)``),
    exactly the distance between the blocks' polygons; it is reached at cells with an
    8-neighbour outside their block, so only those are compared. Blocks whose bounding boxes
    are already ``spacing_m`` apart are never compared cell by cell.

    Parameters
    ----------
    blocks : sequence of ``(n, 2)`` arrays of (row, col).
    grid : the grid (cell sizes).
    spacing_m : least distance between two sites; 0 = blocks may touch but not share a cell.
    """
    nb = len(blocks)
    empty = (np.empty(0, dtype=np.intp), np.empty(0, dtype=np.intp))
    if nb < 2:
        return empty
    cx, cy = grid.cell_x, grid.cell_y
    lo = np.array([b.min(axis=0) for b in blocks], dtype=np.int64)
    hi = np.array([b.max(axis=0) for b in blocks], dtype=np.int64)
    centre = np.column_stack([(lo[:, 1] + hi[:, 1] + 1) * cx / 2, (lo[:, 0] + hi[:, 0] + 1) * cy / 2])
    half = np.hypot((hi[:, 1] - lo[:, 1] + 1) * cx, (hi[:, 0] - lo[:, 0] + 1) * cy).max() / 2
    pairs = cKDTree(centre).query_pairs(r=spacing_m + 2 * half + 1e-6, output_type="ndarray")
    if not len(pairs):
        return empty
    a, b = pairs[:, 0].astype(np.intp), pairs[:, 1].astype(np.intp)
    # bounding-box gap: a lower bound of the distance
    gap_c = np.maximum(0, np.maximum(lo[b, 1] - hi[a, 1], lo[a, 1] - hi[b, 1]) - 1) * cx
    gap_r = np.maximum(0, np.maximum(lo[b, 0] - hi[a, 0], lo[a, 0] - hi[b, 0]) - 1) * cy
    if spacing_m > 0:
        near = np.hypot(gap_c, gap_r) < spacing_m
    else:  # sharing a cell needs overlapping boxes
        near = (np.maximum(lo[a, 1], lo[b, 1]) <= np.minimum(hi[a, 1], hi[b, 1])) & \
               (np.maximum(lo[a, 0], lo[b, 0]) <= np.minimum(hi[a, 0], hi[b, 0]))
    a, b = a[near], b[near]
    edge = [_boundary_cells(blk) if spacing_m > 0 else blk for blk in blocks]
    m = max(len(e) for e in edge)
    rows = np.full((nb, m), -(10**9), dtype=np.int64)
    cols = np.full((nb, m), -(10**9), dtype=np.int64)
    for i, e in enumerate(edge):
        rows[i, : len(e)], cols[i, : len(e)] = e[:, 0], e[:, 1]
    counts = np.array([len(e) for e in edge])
    keep = np.zeros(len(a), dtype=bool)
    step = max(1, chunk // (m * m))
    for s0 in range(0, len(a), step):
        ia, ib = a[s0:s0 + step], b[s0:s0 + step]
        dr = np.abs(rows[ia][:, :, None] - rows[ib][:, None, :])
        dc = np.abs(cols[ia][:, :, None] - cols[ib][:, None, :])
        valid = (np.arange(m)[None, :, None] < counts[ia][:, None, None]) & \
                (np.arange(m)[None, None, :] < counts[ib][:, None, None])
        if spacing_m > 0:
            d = np.hypot(np.maximum(0, dc - 1) * cx, np.maximum(0, dr - 1) * cy)
            keep[s0:s0 + step] = (np.where(valid, d, np.inf).min(axis=(1, 2))) < spacing_m
        else:
            keep[s0:s0 + step] = ((dr == 0) & (dc == 0) & valid).any(axis=(1, 2))
    return a[keep], b[keep]


def block_cliques(blocks, grid: Grid, spacing_m: float) -> list[np.ndarray]:
    """Sets of blocks of which at most one may be a site (clique constraints of the programme).

    The ground is cut into squares of side ``h`` with ``h·√2 < spacing_m`` (four partitions,
    shifted by half a square): two blocks that each have a cell centre in the same square lie
    less than ``h·√2`` apart, so they conflict. One row ``Σ x ≤ 1`` per square then replaces many
    pairwise rows and gives the programme a much tighter relaxation.
    """
    if spacing_m <= 0 or len(blocks) < 2:
        return []
    h = 0.99 * spacing_m / math.sqrt(2)
    owner = np.repeat(np.arange(len(blocks)), [len(b) for b in blocks])
    cells = np.concatenate(blocks)
    x = (cells[:, 1] + 0.5) * grid.cell_x
    y = (cells[:, 0] + 0.5) * grid.cell_y
    out: list[np.ndarray] = []
    for k, (sx, sy) in enumerate(((0.0, 0.0), (0.5, 0.0), (0.0, 0.5), (0.5, 0.5))):
        qx = np.floor(x / h + sx).astype(np.int64)
        qy = np.floor(y / h + sy).astype(np.int64)
        square = (qy - qy.min()) * (int(qx.max() - qx.min()) + 1) + (qx - qx.min())
        pairs = np.unique(np.column_stack([square, owner]), axis=0)
        starts = np.flatnonzero(np.r_[True, pairs[1:, 0] != pairs[:-1, 0]])
        sizes = np.diff(np.r_[starts, len(pairs)])
        for st, sz in zip(starts[sizes >= 2], sizes[sizes >= 2]):
            out.append(pairs[st:st + sz, 1])
    return out


def solve_selection(
    scores,
    pairs: tuple[np.ndarray, np.ndarray],
    caps: Caps,
    *,
    capacities=None,
    incumbent=None,
    cliques=(),
    time_limit_s: float = 60.0,
) -> Solution:
    """Choose the set of candidates with the largest total score (HiGHS via :func:`scipy.optimize.milp`).

    Parameters
    ----------
    scores : score of each candidate (≥ 0).
    pairs : ``(i, j)`` index arrays of candidates that may not both be chosen.
    caps : the count and capacity limits.
    capacities : planned capacity of each candidate (default ``caps.site_capacity`` each).
    incumbent : indices of a known feasible set (greedy's), reported when the solver finds nothing
        better (the caller keeps it).
    cliques : index arrays of candidates of which at most one may be chosen (valid conflicts;
        pairs inside a clique need not be repeated in ``pairs``).
    time_limit_s : the solver's time limit; the best set found by then is returned with its gap.

    Returns
    -------
    Solution

    Examples
    --------
    Three candidates in a row, the middle one conflicting with both neighbours:

    >>> import numpy as np
    >>> sol = solve_selection([0.8, 0.9, 0.8], (np.array([0, 1]), np.array([1, 2])), Caps(max_sites=5))
    >>> sol.chosen.tolist(), round(sol.objective, 6), sol.gap, sol.status
    ([0, 2], 1.6, 0.0, 'optimal')
    """
    s = np.asarray(scores, dtype="float64")
    n = len(s)
    cap = np.full(n, caps.site_capacity) if capacities is None else np.asarray(capacities, dtype="float64")
    empty = np.empty(0, dtype=np.intp)
    if caps.exceeded:
        return Solution(empty, 0.0, None, None, "infeasible", "; ".join(caps.exceeded))
    if n == 0 or caps.count == 0:
        return Solution(empty, 0.0, 0.0, 0.0, "optimal", "nothing to choose")
    a, b = (np.asarray(p, dtype=np.intp) for p in pairs)
    rows = []
    if len(a):
        k = np.arange(len(a))
        rows.append((coo_matrix((np.ones(2 * len(a)), (np.r_[k, k], np.r_[a, b])), shape=(len(a), n)),
                     -np.inf, 1.0))
    if len(cliques):
        ci = np.repeat(np.arange(len(cliques)), [len(c) for c in cliques])
        cj = np.concatenate(cliques)
        rows.append((coo_matrix((np.ones(len(cj)), (ci, cj)), shape=(len(cliques), n)), -np.inf, 1.0))
    rows.append((coo_matrix(np.ones((1, n))), -np.inf, float(caps.max_sites)))
    if caps.quarry_room is not None:
        rows.append((coo_matrix(np.ones((1, n))), -np.inf, float(caps.quarry_room)))
    if caps.capacity_room is not None:
        rows.append((coo_matrix(cap.reshape(1, n)), -np.inf, float(caps.capacity_room) + 1e-9))
    matrix = vstack([r[0] for r in rows]).tocsr()
    lower = np.concatenate([np.full(r[0].shape[0], r[1]) for r in rows])
    upper = np.concatenate([np.full(r[0].shape[0], r[2]) for r in rows])
    res = milp(-s, integrality=np.ones(n), bounds=Bounds(0, 1), constraints=LinearConstraint(matrix, lower, upper),
               options={"time_limit": float(time_limit_s), "mip_rel_gap": 0.0, "presolve": True})
    bound = None if getattr(res, "mip_dual_bound", None) is None else -float(res.mip_dual_bound)
    if bound is not None and not math.isfinite(bound):
        bound = None
    if res.x is None:
        status = "time_limit" if res.status == 1 else ("infeasible" if res.status == 2 else "error")
        chosen, objective, gap = empty, 0.0, None
    else:
        chosen = np.flatnonzero(res.x > 0.5)
        objective = float(s[chosen].sum())
        gap = getattr(res, "mip_gap", None)
        gap = None if gap is None or not math.isfinite(gap) else float(gap)
        if res.status == 0:
            status = "optimal"
            gap = 0.0 if gap is None or gap <= _TOL else gap
        else:
            status = "time_limit" if res.status == 1 else "error"
    kept = False
    if incumbent is not None and len(incumbent):
        inc = np.asarray(incumbent, dtype=np.intp)
        floor = float(s[inc].sum())
        if objective < floor - 1e-9:
            chosen, objective, kept = np.sort(inc), floor, True
            gap = None if bound is None or floor <= 0 else max(0.0, (bound - floor) / floor)
    return Solution(chosen, objective, gap, bound, status, str(res.message), kept)


# ---------------------------------------------------------------------- from the rasters
def _key(cells: np.ndarray, cols: int) -> bytes:
    return np.sort(cells[:, 0] * cols + cells[:, 1]).tobytes()


def _prune(scores: np.ndarray, k: int, floor: float, keep: np.ndarray) -> np.ndarray:
    """Candidates that could belong to a set of at most ``k`` scoring ≥ ``floor`` (and ``keep``)."""
    if k <= 0 or len(scores) == 0:
        return keep.copy()
    top = np.sort(scores)[::-1]
    best_k = top[:k].sum()
    # best total of a set holding i: s_i + the k - 1 best other scores
    kth = top[k - 1] if len(top) >= k else 0.0
    others = np.where(scores >= kth, best_k - scores, top[: k - 1].sum())
    return keep | (scores + others >= floor - 1e-7)


def choose_sites(
    ground: np.ndarray,
    suitability: np.ndarray,
    grid: Grid,
    *,
    n_cells: int,
    caps: Caps,
    spacing_m: float,
    exclusions: list[Exclusion] = (),
    inside: list[Inside] = (),
    selection: str = "optimal",
    time_limit_s: float = 60.0,
) -> tuple[list[Site], list[str], SelectionReport]:
    """Choose the new sites on ``ground``: greedily, or optimally over the pool of blocks.

    Greedy always runs (it is the starting point and the figure reported beside the optimum).

    Returns
    -------
    sites : chosen sites, best score first.
    notes : what happened (dropped blocks, solver status, fallbacks).
    report : :class:`SelectionReport` (objective, gap, greedy's objective, pool size, time).
    """
    t0 = time.perf_counter()
    limit = caps.count
    record: list[tuple[float, np.ndarray]] = []
    greedy, notes = select_sites(ground, suitability, grid, n_cells=n_cells, limit=limit, spacing_m=spacing_m,
                                 exclusions=exclusions, inside=inside, record=record)
    greedy_objective = float(sum(site.score for site in greedy))
    if selection == "greedy":
        report = SelectionReport("greedy", greedy_objective, None, greedy_objective, "greedy",
                                 candidates=len({_key(c, ground.shape[1]) for _, c in record}),
                                 seconds=time.perf_counter() - t0)
        return greedy, notes, report
    if selection != "optimal":
        raise ValueError(f"selection must be 'optimal' or 'greedy', got {selection!r}")
    if caps.exceeded:
        report = SelectionReport("optimal", 0.0, None, greedy_objective, "infeasible", seconds=time.perf_counter() - t0,
                                 time_limit_s=time_limit_s)
        notes.append("optimal selection: the programme is infeasible (" + "; ".join(caps.exceeded) + "): no new site")
        return [], notes, report

    # the pool: one sweep over all the ground, plus every block greedy grew (its picks among them)
    cols = ground.shape[1]
    pool: dict[bytes, tuple[float, np.ndarray]] = {}
    for score, cells in [*candidate_pool(ground, suitability, n_cells), *record]:
        pool.setdefault(_key(cells, cols), (score, cells))
    keys = list(pool)
    scores = np.array([pool[k][0] for k in keys], dtype="float64")
    incumbent_keys = {_key(np.column_stack([s.rows, s.cols]), cols) for s in greedy}
    is_greedy = np.array([k in incumbent_keys for k in keys], dtype=bool)
    usable = _prune(scores, limit, greedy_objective, is_greedy) if greedy else np.ones(len(keys), dtype=bool)
    pruned = int((~usable).sum())
    idx = np.flatnonzero(usable)
    blocks = [pool[keys[i]][1] for i in idx]
    a, b = block_conflicts(blocks, grid, spacing_m)
    incumbent = np.flatnonzero(is_greedy[idx])
    if len(incumbent) > 1:  # greedy's picks passed the vector spacing check: never in conflict
        both = np.isin(a, incumbent) & np.isin(b, incumbent)
        a, b = a[~both], b[~both]
    n_conflicts = len(a)
    cliques = block_cliques(blocks, grid, spacing_m)
    if cliques and len(a):  # pairs inside a clique are implied by its row
        ci = np.repeat(np.arange(len(cliques)), [len(c) for c in cliques])
        member = coo_matrix((np.ones(len(ci)), (np.concatenate(cliques), ci)), shape=(len(idx), len(cliques))).tocsr()
        covered = np.asarray(member[a].multiply(member[b]).sum(axis=1)).ravel() > 0
        a, b = a[~covered], b[~covered]
    sub = scores[idx]
    # vector check of the chosen blocks only (the raster rules make a failure unlikely); a block
    # that fails is taken out of the pool and the programme solved again
    banned = np.zeros(len(idx), dtype=bool)
    polys: dict[int, shapely.Geometry] = {}
    for _round in range(10):
        keep = np.flatnonzero(~banned)
        remap = np.full(len(idx), -1)
        remap[keep] = np.arange(len(keep))
        ok_pair = ~banned[a] & ~banned[b]
        rows = [remap[c][remap[c] >= 0] for c in cliques]
        sol = solve_selection(sub[keep], (remap[a[ok_pair]], remap[b[ok_pair]]), caps,
                              incumbent=remap[incumbent][remap[incumbent] >= 0], time_limit_s=time_limit_s,
                              cliques=[r for r in rows if len(r) >= 2])
        chosen = keep[sol.chosen]
        for i in chosen:
            if int(i) not in polys:
                cells = blocks[i]
                polys[int(i)] = polygonise(cells[:, 0], cells[:, 1], grid)
        bad = [int(i) for i, ok in zip(chosen, check_sites([polys[int(i)] for i in chosen], list(exclusions),
                                                          list(inside))) if not ok and not is_greedy[idx[i]]]
        if not bad:
            break
        banned[bad] = True
        notes.append(f"optimal selection: {len(bad)} chosen block(s) failed the vector check: left out, solved again")
    objective, gap, status = sol.objective, sol.gap, sol.status
    # an upper bound whatever the solver says: the best `limit` scores of the pool
    top_k = float(np.sort(sub[~banned])[::-1][:limit].sum()) if limit > 0 else 0.0
    bound = top_k if sol.bound is None else min(sol.bound, top_k)
    if status != "optimal" and objective > 0:
        gap = max(0.0, (bound - objective) / objective)
    if sol.kept_incumbent:
        notes.append(f"optimal selection: the solver returned no better set than greedy's ({sol.status}: "
                     f"{sol.message}); greedy's sites are kept")
    if status == "time_limit":
        notes.append(f"optimal selection stopped at the time limit of {time_limit_s:g} s: the best set found is kept, "
                     + ("gap unknown" if gap is None else f"within {gap:.2%} of the best possible (bound {bound:.4f})"))
    if status in ("infeasible", "error") and not len(greedy):
        notes.append(f"optimal selection: {status} ({sol.message})")
    if limit == 0:
        status = "no_room"
    sites = []
    for i in chosen:
        cells = blocks[i]
        poly = polys[int(i)] if int(i) in polys else polygonise(cells[:, 0], cells[:, 1], grid)
        sites.append(Site(cells[:, 0], cells[:, 1], poly, float(sub[i])))
    sites.sort(key=lambda site: -site.score)
    report = SelectionReport("optimal", float(sum(site.score for site in sites)), gap, greedy_objective, status,
                             candidates=len(idx), conflicts=n_conflicts, seconds=time.perf_counter() - t0,
                             time_limit_s=time_limit_s, bound=bound)
    if pruned:
        notes.append(f"optimal selection: {pruned} of {len(keys)} candidate block(s) left out: even with the best other "
                     f"scores they cannot reach greedy's total {greedy_objective:.4f}")
    log.info("siting: %s", report.to_text())
    return sites, notes, report
