"""Predicate-first constraint metrics: overlap areas and distances per quarry.

The bureau's constraint layers mix a few huge polygons (the red line: dozens of polygons with
hundreds of thousands of vertices) with many small ones (farmland parcels). Intersecting a quarry
with a huge polygon costs time proportional to the polygon's vertex count, so:

1. huge constraint geometries are cut into pieces of at most ``max_vertices`` vertices
   (:func:`subdivide`, like PostGIS ``ST_Subdivide``: recursive ``shapely.clip_by_rect`` on the
   bounding-box halves);
2. an ``STRtree`` of the pieces is queried with the predicate ``intersects``;
3. a quarry lying wholly inside a piece (``contains_properly``) overlaps it by its own area, with
   no geometry built;
4. only the remaining pairs are intersected; a quarry hit by several distinct constraint
   polygons has its intersection pieces unioned, so ground shared by overlapping constraint
   polygons counts once (pieces of one polygon never overlap, their areas are simply summed).

Distances use ``STRtree.query_nearest`` on the (subdivided) targets. Everything is measured in
the pack's working CRS (metres, e.g. EPSG:4545); frames in another CRS are reprojected with a note.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from scipy.spatial import cKDTree

from wlgeo.model.crs import WORKING_CRS, in_working_crs
from wlgeo.model.values import yes_flags
from wlgeo.model.errors import LayerError
from wlgeo.model.pack import LayerPack
from wlgeo.model.scenario import Scenario
from wlgeo.model.schema import PROTECTED_KINDS

__all__ = [
    "constraint_metrics",
    "corridor_lines",
    "overlap_area",
    "nearest_distance",
    "protected_kinds",
    "subdivide",
    "METRIC_COLUMNS",
    "MAX_VERTICES",
    "NEAREST_MAX_VERTICES",
]

log = logging.getLogger(__name__)

#: Float columns of :func:`constraint_metrics`, in order.
METRIC_COLUMNS = (
    "red_line_m2",
    "red_line_pct",
    "farmland_m2",
    "farmland_pct",
    "protected_m2",
    "protected_pct",
    "settlement_m",
    "trunk_line_m",
    "main_river_m",
)
#: Default largest vertex count of a subdivided piece (PostGIS ``ST_Subdivide`` uses 256 too).
MAX_VERTICES = 256
#: Default piece size for distance targets: nearest-neighbour search gains from small pieces.
NEAREST_MAX_VERTICES = 8
_MAX_DEPTH = 40  # halvings of a bbox before giving up on a piece (2^-40 of the extent)


# ---------------------------------------------------------------------- geometry helpers
def _as_array(geoms) -> np.ndarray:
    """Geometries as a 1-D object array of shapely geometries (``None`` kept)."""
    if isinstance(geoms, (gpd.GeoSeries, gpd.GeoDataFrame)):
        geoms = geoms.geometry.values
    if isinstance(geoms, shapely.Geometry):
        geoms = [geoms]
    arr = np.asarray(geoms, dtype=object)
    if arr.ndim != 1:
        arr = arr.ravel()
    return arr


def _clean(geoms, dimension: int | None = None, *, repair: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Drop missing/empty geometries, repair invalid ones (``repair``), explode to single parts.

    Returns the parts and, for each part, the position of the geometry it came from.
    """
    arr = _as_array(geoms)
    keep = ~(shapely.is_missing(arr) | shapely.is_empty(arr))
    idx = np.flatnonzero(keep)
    arr = arr[keep]
    if repair and len(arr):
        bad = ~shapely.is_valid(arr)
        if bad.any():
            arr = arr.copy()
            arr[bad] = shapely.make_valid(arr[bad])
    parts, part_of = shapely.get_parts(arr, return_index=True)
    owner = idx[part_of]
    if dimension is not None and len(parts):
        ok = shapely.get_dimensions(parts) == dimension
        parts, owner = parts[ok], owner[ok]
    return parts, owner


def subdivide(geoms, *, max_vertices: int = MAX_VERTICES) -> tuple[np.ndarray, np.ndarray]:
    """Cut geometries into pieces of at most ``max_vertices`` coordinates.

    Like PostGIS ``ST_Subdivide``: a geometry with too many coordinates is clipped
    (``shapely.clip_by_rect``) to the two halves of its bounding box, split across the longer
    side, recursively. Pieces of one polygon share edges but no area, and together they cover
    exactly the polygon; lines are cut likewise. Validity is not checked here (``is_valid``
    costs about as much as the whole subdivision); :func:`overlap_area` checks the pieces it
    actually intersects.

    Parameters
    ----------
    geoms : array-like of shapely geometries (missing/empty ones are dropped).
    max_vertices : largest number of coordinates in a piece (≥ 8).

    Returns
    -------
    pieces : ndarray of single-part geometries.
    parent : ndarray of int, for each piece the position in ``geoms`` it came from.

    Examples
    --------
    >>> import shapely
    >>> circle = shapely.Point(0, 0).buffer(1000, quad_segs=1000)
    >>> pieces, parent = subdivide([circle], max_vertices=256)
    >>> bool(shapely.get_num_coordinates(pieces).max() <= 256)
    True
    >>> bool(abs(shapely.area(pieces).sum() - circle.area) < 1e-6)
    True
    """
    if max_vertices < 8:
        raise ValueError(f"max_vertices must be ≥ 8, got {max_vertices}")
    arr = _as_array(geoms)
    dims = np.full(len(arr), -1)
    present = ~(shapely.is_missing(arr) | shapely.is_empty(arr))
    dims[present] = shapely.get_dimensions(arr[present])
    parts, parent = _clean(arr, repair=False)
    part_dims = dims[parent]
    done_g, done_p = [], []
    for _depth in range(_MAX_DEPTH):
        if not len(parts):
            break
        small = shapely.get_num_coordinates(parts) <= max_vertices
        done_g.append(parts[small])
        done_p.append(parent[small])
        parts, parent, part_dims = parts[~small], parent[~small], part_dims[~small]
        if not len(parts):
            break
        xmin, ymin, xmax, ymax = shapely.bounds(parts).T
        wide = (xmax - xmin) >= (ymax - ymin)
        xmid, ymid = (xmin + xmax) / 2, (ymin + ymax) / 2
        # clip_by_rect takes one rectangle per call: loop over the (few) big parts, not quarries.
        first = [
            shapely.clip_by_rect(g, x0, y0, xm if w else x1, y1 if w else ym)
            for g, x0, y0, x1, y1, xm, ym, w in zip(parts, xmin, ymin, xmax, ymax, xmid, ymid, wide)
        ]
        second = [
            shapely.clip_by_rect(g, xm if w else x0, y0 if w else ym, x1, y1)
            for g, x0, y0, x1, y1, xm, ym, w in zip(parts, xmin, ymin, xmax, ymax, xmid, ymid, wide)
        ]
        halves = np.asarray(first + second, dtype=object)
        half_parent = np.concatenate([parent, parent])
        half_dims = np.concatenate([part_dims, part_dims])
        # clip_by_rect may return lower-dimensional slivers (edges along the cut): drop them.
        new_parts, new_of = _clean(halves, repair=False)
        keep = shapely.get_dimensions(new_parts) == half_dims[new_of]
        parts, parent, part_dims = new_parts[keep], half_parent[new_of][keep], half_dims[new_of][keep]
    if len(parts):  # pathological (max depth reached): keep the rest whole
        done_g.append(parts)
        done_p.append(parent)
    if not done_g:
        return np.empty(0, dtype=object), np.empty(0, dtype=np.intp)
    return np.concatenate(done_g), np.concatenate(done_p).astype(np.intp)


def overlap_area(geoms, constraints, *, max_vertices: int = MAX_VERTICES) -> np.ndarray:
    """Area of each geometry covered by the union of ``constraints``, in squared CRS units.

    Constraint polygons that overlap each other count their shared ground once; a constraint
    lying inside a hole of a geometry does not overlap it; touching edges give 0. Missing or
    empty input geometries give NaN. Non-polygonal constraint parts are ignored.

    Parameters
    ----------
    geoms : GeoSeries or array-like of (Multi)Polygons (e.g. quarries).
    constraints : GeoSeries or array-like of (Multi)Polygons (e.g. the red line).
    max_vertices : subdivide constraint parts with more coordinates than this.

    Returns
    -------
    ndarray of float, aligned to ``geoms``.

    Examples
    --------
    >>> import shapely
    >>> quarry = shapely.box(0, 0, 200, 100)
    >>> overlap_area([quarry], [shapely.box(100, 50, 300, 300), shapely.box(150, 0, 300, 300)])
    array([7500.])
    """
    arr = _as_array(geoms)
    out = np.full(len(arr), np.nan)
    present = ~(shapely.is_missing(arr) | shapely.is_empty(arr))
    out[present] = 0.0
    parts, _ = _clean(constraints, dimension=2, repair=False)
    if not len(parts) or not present.any():
        return out
    # Pieces of one part never overlap (parts of an invalid MultiPolygon may): key on the part.
    pieces, piece_parent = subdivide(parts, max_vertices=max_vertices)
    shapely.prepare(pieces)
    tree = shapely.STRtree(pieces)
    qpos = np.flatnonzero(present)
    q = arr[qpos]
    bad = ~shapely.is_valid(q)
    if bad.any():  # self-intersecting rings etc.: measure the repaired shape (a copy)
        q = q.copy()
        q[bad] = shapely.make_valid(q[bad])
    pair_q, pair_p = tree.query(q, predicate="intersects")
    if not len(pair_q):
        return out
    q_area = shapely.area(q)
    # Wholly inside one piece: the overlap is the quarry's own area, no geometry needed.
    inside = shapely.contains_properly(pieces[pair_p], q[pair_q])
    full = np.zeros(len(q), dtype=bool)
    full[pair_q[inside]] = True
    rest = ~full[pair_q]
    pair_q, pair_p = pair_q[rest], pair_p[rest]
    area = np.where(full, q_area, 0.0)
    if len(pair_q):
        # clip_by_rect is "fast but possibly dirty" and inputs may be invalid: check only the
        # pieces about to be intersected, and repair those (copies) before building geometry.
        used = np.unique(pair_p)
        bad = used[~shapely.is_valid(pieces[used])]
        if len(bad):
            pieces = pieces.copy()
            pieces[bad] = shapely.make_valid(pieces[bad])
        inter = _safe_intersection(q[pair_q], pieces[pair_p])
        inter_area = shapely.area(inter)
        owner = piece_parent[pair_p]
        # Quarries hit by pieces of more than one constraint feature need a union.
        order = np.lexsort((owner, pair_q))
        sq, so = pair_q[order], owner[order]
        distinct = np.ones(len(sq), dtype=bool)
        distinct[1:] = (sq[1:] != sq[:-1]) | (so[1:] != so[:-1])
        n_features = np.bincount(sq[distinct], minlength=len(q))
        simple = n_features[pair_q] <= 1
        area += np.bincount(pair_q[simple], weights=inter_area[simple], minlength=len(q))
        multi = ~simple
        if multi.any():
            mq, minter = pair_q[multi], inter[multi]
            morder = np.argsort(mq, kind="stable")
            mq, minter = mq[morder], minter[morder]
            starts = np.flatnonzero(np.r_[True, mq[1:] != mq[:-1]])
            ends = np.r_[starts[1:], len(mq)]
            # One union per quarry whose overlap comes from several features (usually few).
            unions = [shapely.union_all(minter[s:e]) for s, e in zip(starts, ends)]
            area[mq[starts]] += shapely.area(np.asarray(unions, dtype=object))
    out[qpos] = np.minimum(area, q_area)
    return out


def _safe_intersection(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Vectorised intersection; pairs GEOS cannot intersect are retried on a 1 mm grid."""
    try:
        return shapely.intersection(a, b)
    except shapely.errors.GEOSException:
        out = np.empty(len(a), dtype=object)
        for i, (ga, gb) in enumerate(zip(a, b)):
            try:
                out[i] = shapely.intersection(ga, gb)
            except shapely.errors.GEOSException:
                log.debug("robustness retry on a 1 mm grid for pair %d", i)
                out[i] = shapely.intersection(ga, gb, grid_size=1e-3)
        return out


def _chunk_lines(lines: np.ndarray, parent: np.ndarray, max_vertices: int) -> tuple[np.ndarray, np.ndarray]:
    """Cut LineStrings into runs of at most ``max_vertices`` consecutive vertices (vectorised).

    Consecutive runs share their end vertex, so together they are exactly the line.
    """
    step = max_vertices - 1
    coords, line_of = shapely.get_coordinates(lines, return_index=True)
    n = np.bincount(line_of, minlength=len(lines))
    first = np.r_[0, np.cumsum(n)[:-1]]
    pos = np.arange(len(coords)) - first[line_of]
    n_chunks = np.maximum((n - 1 + step - 1) // step, 1)
    chunk_base = np.r_[0, np.cumsum(n_chunks)[:-1]]
    own = np.minimum(pos // step, n_chunks[line_of] - 1)  # the last vertex closes the last run
    shared = (pos % step == 0) & (pos > 0) & (pos // step <= n_chunks[line_of] - 1)
    shared &= pos < n[line_of] - 1
    chunk = np.concatenate([chunk_base[line_of] + own, chunk_base[line_of][shared] + own[shared] - 1])
    order_pos = np.concatenate([pos, pos[shared]])
    xy = np.concatenate([coords, coords[shared]])
    order = np.lexsort((order_pos, chunk))
    chunk, xy = chunk[order], xy[order]
    pieces = shapely.linestrings(xy, indices=chunk)
    owner = np.repeat(np.arange(len(lines)), n_chunks)
    return pieces, parent[owner]


def _distance_pieces(targets, max_vertices: int) -> tuple[np.ndarray, np.ndarray]:
    """Targets as small pieces for nearest-neighbour search: lines in runs of vertices,
    polygons subdivided (so a quarry inside one still measures 0), points as they are."""
    parts, parent = _clean(targets, repair=False)
    if not len(parts):
        return parts, parent
    dims = shapely.get_dimensions(parts)
    is_line = (dims == 1) & (shapely.get_type_id(parts) == shapely.GeometryType.LINESTRING)
    pieces, owners = [parts[dims == 0]], [parent[dims == 0]]
    if is_line.any():
        lp, lo = _chunk_lines(parts[is_line], parent[is_line], max_vertices)
        pieces.append(lp)
        owners.append(lo)
    other = (dims > 0) & ~is_line
    if other.any():
        sp, so = subdivide(parts[other], max_vertices=max_vertices)
        pieces.append(sp)
        owners.append(parent[other][so])
    return np.concatenate(pieces), np.concatenate(owners)


def _nearest(geoms, targets, *, max_vertices: int = NEAREST_MAX_VERTICES) -> tuple[np.ndarray, np.ndarray]:
    """Distance to the nearest target and that target's position (-1 where none).

    Exact, in three vectorised steps instead of one nearest-neighbour search per polygon:

    1. a k-d tree of the pieces' vertices gives, for a point ``a`` inside each geometry, a
       nearby piece; the exact distance from the geometry to it is an upper bound ``ub`` of
       the answer ``d*``;
    2. every point of the geometry is within ``r`` (its farthest vertex) of ``a``, so a piece
       realising ``d* ≤ ub`` lies within ``ub + r`` of ``a``: the tree query ``dwithin`` from
       ``a`` lists the candidates (a thin ring of pieces, even for a winding river far away);
    3. the exact minimum distance over the candidates is ``d*``.
    """
    arr = _as_array(geoms)
    dist = np.full(len(arr), np.nan)
    which = np.full(len(arr), -1, dtype=np.intp)
    present = np.flatnonzero(~(shapely.is_missing(arr) | shapely.is_empty(arr)))
    pieces, parent = _distance_pieces(targets, max_vertices)
    if not len(pieces) or not len(present):
        return dist, which
    g = arr[present]
    vertex_xy, vertex_piece = shapely.get_coordinates(pieces, return_index=True)
    anchor = shapely.point_on_surface(g)
    anchor_xy = shapely.get_coordinates(anchor)
    _, nearest_vertex = cKDTree(vertex_xy).query(anchor_xy)
    ub = shapely.distance(g, pieces[vertex_piece[nearest_vertex]])
    xy, owner = shapely.get_coordinates(g, return_index=True)
    # owner is sorted and every present geometry has coordinates: reduce over contiguous runs
    starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    reach = np.zeros(len(g))
    reach[owner[starts]] = np.maximum.reduceat(np.hypot(*(xy - anchor_xy[owner]).T), starts)
    radius = (ub + reach) * (1 + 1e-9) + 1e-6
    tree = shapely.STRtree(pieces)
    cq, cp = tree.query(anchor, predicate="dwithin", distance=radius)
    d = shapely.distance(g[cq], pieces[cp])
    order = np.lexsort((d, cq))
    cq, cp, d = cq[order], cp[order], d[order]
    first = np.r_[True, cq[1:] != cq[:-1]]
    dist[present[cq[first]]] = d[first]
    which[present[cq[first]]] = parent[cp[first]]
    return dist, which


def nearest_distance(geoms, targets, *, max_vertices: int = NEAREST_MAX_VERTICES) -> np.ndarray:
    """Distance from each geometry to the nearest of ``targets`` (0 when touching or inside).

    Missing/empty geometries, or no targets at all, give NaN. Targets with many vertices (long
    roads, rivers) are cut into small pieces first, which leaves the distance unchanged.

    Examples
    --------
    >>> import shapely
    >>> nearest_distance([shapely.box(0, 0, 100, 100)], [shapely.Point(280, 50), shapely.Point(50, 400)])
    array([180.])
    """
    return _nearest(geoms, targets, max_vertices=max_vertices)[0]


def protected_kinds(quarries: gpd.GeoDataFrame, protected_m2, areas: gpd.GeoDataFrame | None,
                    scenario: Scenario, *, crs=None) -> pd.Series:
    """Kinds of the closing protected areas each quarry overlaps by more than ``min_overlap_m2``.

    ``protected_m2`` is the quarries' ``protected_m2`` metric (only quarries over the threshold
    are looked at); ``areas`` the ``protected_areas`` layer. Measured in ``crs`` (default
    EPSG:4545), the quarries being in it already. Returns ``;``-free ``kind,kind`` text or None.
    """
    out = pd.Series(None, index=quarries.index, dtype=object)
    if areas is None or "kind" not in areas.columns or protected_m2 is None:
        return out
    hit = (pd.Series(protected_m2, index=quarries.index).fillna(0) > scenario.min_overlap_m2).to_numpy()
    if not hit.any():
        return out
    target = CRS.from_user_input(crs if crs is not None else WORKING_CRS)
    if areas.crs is not None and CRS.from_user_input(areas.crs) != target:
        areas = areas.to_crs(target)
    geoms = quarries.geometry.values[hit]
    kinds = areas["kind"].astype("string").str.strip()
    found: list[list[str]] = [[] for _ in range(int(hit.sum()))]
    for kind in scenario.closing_protected_kinds:
        subset = areas.geometry[(kinds == kind).fillna(False).to_numpy()]
        if len(subset) == 0:
            continue
        m2 = overlap_area(geoms, subset)
        for j in np.flatnonzero(m2 > scenario.min_overlap_m2):
            found[j].append(kind)
    out.iloc[np.flatnonzero(hit)] = [",".join(k) if k else None for k in found]
    return out


# ---------------------------------------------------------------------- layer handling
def _layer(pack: LayerPack, name: str, notes: list[str], not_checked: dict, rules: Iterable[str], crs=None):
    frame = pack.get(name)
    if frame is None:
        for rule in rules:
            not_checked[rule] = f"layer {name} absent"
        return None
    geom = frame.geometry
    if len(frame) == 0 or (geom.is_empty | geom.isna()).all():
        for rule in rules:
            not_checked[rule] = f"layer {name} is empty"
        return None
    return in_working_crs(frame, name, notes, crs if crs is not None else pack.working_crs)


def _names(frame: gpd.GeoDataFrame, which: np.ndarray) -> np.ndarray:
    out = np.full(len(which), None, dtype=object)
    if "name" not in frame.columns:
        return out
    names = frame["name"].to_numpy(dtype=object)
    hit = which >= 0
    out[hit] = names[which[hit]]
    return out


def _kind_filter(frame, allowed, name, notes, field="kind") -> np.ndarray:
    if field not in frame.columns:
        notes.append(f"{name} has no `{field}` field: every feature counted")
        return np.ones(len(frame), dtype=bool)
    kinds = frame[field].astype("string").str.strip()
    keep = kinds.isin(list(allowed)).fillna(False).to_numpy(dtype=bool)
    return keep


# ---------------------------------------------------------------------- the metrics
def corridor_lines(pack: LayerPack, scenario: Scenario | None = None) -> tuple[dict, list[str]]:
    """The lines of the 三区两线 rule: trunk roads (``kind`` in ``trunk_kinds``) and main rivers.

    Returns ``({"trunk_line": frame or None, "main_river": frame or None}, notes)``, frames in
    the pack's working CRS, selected as :func:`constraint_metrics` selects them (a rivers layer without a
    ``main`` field counts every river as main; a roads layer without ``kind`` every road).
    """
    scenario = scenario if scenario is not None else Scenario()
    notes: list[str] = []
    out: dict[str, gpd.GeoDataFrame | None] = {"trunk_line": None, "main_river": None}
    frame = _layer(pack, "roads", notes, {}, ["trunk_line"])
    if frame is not None:
        keep = _kind_filter(frame, scenario.trunk_kinds, "roads", notes)
        out["trunk_line"] = frame[keep] if keep.any() else None
    frame = _layer(pack, "rivers", notes, {}, ["main_river"])
    if frame is not None:
        keep = (yes_flags(frame["main"], "rivers.main", notes) if "main" in frame.columns
                else np.ones(len(frame), dtype=bool))
        out["main_river"] = frame[keep] if keep.any() else None
    return out, notes


def constraint_metrics(
    quarries: gpd.GeoDataFrame,
    pack: LayerPack,
    scenario: Scenario | None = None,
    *,
    max_vertices: int = MAX_VERTICES,
    crs=None,
) -> pd.DataFrame:
    """Overlap areas and distances of every quarry against the pack's constraint layers.

    Parameters
    ----------
    quarries : the quarries (any CRS; measured in the pack's working CRS).
    pack : the layer pack holding ``red_line``, ``farmland``, ``protected_areas``,
        ``settlements``, ``roads``, ``rivers`` (each optional).
    scenario : gives ``closing_protected_kinds`` and ``trunk_kinds``; baseline when ``None``.
    max_vertices : subdivision size for huge constraint polygons (overlaps); distance targets
        use :data:`NEAREST_MAX_VERTICES`.
    crs : the metric CRS to measure in (default EPSG:4545); a city's district is measured in
        its own 3-degree zone.

    Returns
    -------
    DataFrame
        Aligned to ``quarries.index``, float columns ``red_line_m2, red_line_pct, farmland_m2,
        farmland_pct, protected_m2, protected_pct`` (overlap in m² and % of the quarry's area)
        and ``settlement_m, trunk_line_m, main_river_m`` (m from the quarry polygon; 0 when
        touching or inside), plus ``nearest_settlement``, ``nearest_trunk_line``,
        ``nearest_main_river`` (the nearest feature's ``name``, or None). NaN means "not
        checked": ``.attrs["not_checked"]`` maps the rule (``red_line``, ``farmland``,
        ``protected``, ``settlement``, ``trunk_line``, ``main_river``) to why;
        ``.attrs["notes"]`` lists what was assumed (no ``main`` field, reprojection, ...).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> from wlgeo.io.pack import LayerPack
    >>> q = gpd.GeoDataFrame({"quarry_id": ["Q1"]}, geometry=[shapely.box(0, 0, 200, 100)], crs=4545)
    >>> red = gpd.GeoDataFrame(geometry=[shapely.box(100, 50, 300, 300)], crs=4545)
    >>> m = constraint_metrics(q, LayerPack({"quarries": q, "red_line": red}))
    >>> float(m.loc[0, "red_line_m2"]), float(m.loc[0, "red_line_pct"])
    (5000.0, 25.0)
    >>> m.attrs["not_checked"]["farmland"]
    'layer farmland absent'
    """
    scenario = scenario if scenario is not None else Scenario()
    if not isinstance(quarries, gpd.GeoDataFrame):
        raise LayerError("quarries must be a GeoDataFrame", layer="quarries")
    notes: list[str] = []
    not_checked: dict[str, str] = {}
    crs = crs if crs is not None else getattr(pack, "working_crs", None)
    q = in_working_crs(quarries, "quarries", notes, crs)
    geoms = _as_array(q.geometry)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if missing.any():
        notes.append(f"quarries: {int(missing.sum())} feature(s) without geometry get NaN metrics")
    invalid = ~missing & ~shapely.is_valid(geoms)
    if invalid.any():
        ids = q["quarry_id"].to_numpy()[invalid] if "quarry_id" in q.columns else q.index.to_numpy()[invalid]
        shown = ", ".join(map(str, ids[:5])) + (", ..." if len(ids) > 5 else "")
        notes.append(f"quarries: {int(invalid.sum())} invalid geometry(ies) measured after repair (make_valid): {shown}")
        geoms = geoms.copy()
        geoms[invalid] = shapely.make_valid(geoms[invalid])
    q_area = shapely.area(geoms).astype(float)
    q_area[missing] = np.nan
    nan = np.full(len(q), np.nan)
    cols: dict[str, np.ndarray] = {}

    def pct(m2: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(q_area > 0, m2 / q_area * 100.0, np.nan)

    for rule, name in (("red_line", "red_line"), ("farmland", "farmland")):
        frame = _layer(pack, name, notes, not_checked, [rule], crs)
        m2 = nan if frame is None else overlap_area(geoms, frame.geometry, max_vertices=max_vertices)
        cols[f"{rule}_m2"], cols[f"{rule}_pct"] = m2, pct(m2)

    frame = _layer(pack, "protected_areas", notes, not_checked, ["protected"], crs)
    if frame is None:
        cols["protected_m2"] = cols["protected_pct"] = nan
    else:
        keep = _kind_filter(frame, scenario.closing_protected_kinds, "protected_areas", notes)
        if "kind" in frame.columns:
            odd = sorted(set(frame["kind"].dropna().astype(str).str.strip()) - set(PROTECTED_KINDS))
            if odd:
                notes.append(f"protected_areas: unknown kind(s) {odd} not counted as closing")
        if not scenario.closing_protected_kinds:
            notes.append("scenario has no closing protected kinds: protected-area overlaps do not close")
        m2 = overlap_area(geoms, frame.geometry[keep], max_vertices=max_vertices)
        cols["protected_m2"], cols["protected_pct"] = m2, pct(m2)

    names: dict[str, np.ndarray] = {}
    frame = _layer(pack, "settlements", notes, not_checked, ["settlement"], crs)
    if frame is None:
        cols["settlement_m"], names["nearest_settlement"] = nan, np.full(len(q), None, dtype=object)
    else:
        dist, which = _nearest(geoms, frame.geometry)
        cols["settlement_m"], names["nearest_settlement"] = dist, _names(frame, which)

    frame = _layer(pack, "roads", notes, not_checked, ["trunk_line"], crs)
    cols["trunk_line_m"], names["nearest_trunk_line"] = nan, np.full(len(q), None, dtype=object)
    if frame is not None:
        keep = _kind_filter(frame, scenario.trunk_kinds, "roads", notes)
        if not keep.any():
            not_checked["trunk_line"] = f"layer roads has no road of kind {', '.join(scenario.trunk_kinds) or '(none)'}"
        else:
            trunk = frame[keep]
            dist, which = _nearest(geoms, trunk.geometry)
            cols["trunk_line_m"], names["nearest_trunk_line"] = dist, _names(trunk, which)

    frame = _layer(pack, "rivers", notes, not_checked, ["main_river"], crs)
    cols["main_river_m"], names["nearest_main_river"] = nan, np.full(len(q), None, dtype=object)
    if frame is not None:
        if "main" in frame.columns:
            keep = yes_flags(frame["main"], "rivers.main", notes)
        else:
            notes.append("rivers has no `main` field: every river counted as main")
            keep = np.ones(len(frame), dtype=bool)
        if not keep.any():
            not_checked["main_river"] = "layer rivers has no river with main = true"
        else:
            main = frame[keep]
            dist, which = _nearest(geoms, main.geometry)
            cols["main_river_m"], names["nearest_main_river"] = dist, _names(main, which)

    out = pd.DataFrame({c: np.asarray(cols[c], dtype=float) for c in METRIC_COLUMNS}, index=quarries.index)
    for c, v in names.items():
        out[c] = pd.Series(v, index=quarries.index, dtype=object)
    out.attrs["not_checked"] = not_checked
    out.attrs["notes"] = notes
    log.debug("constraint metrics for %d quarries; not checked: %s", len(out), not_checked)
    return out

