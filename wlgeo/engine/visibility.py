"""三区两线 by line of sight: what can actually be seen from trunk lines and main rivers.

The rule's words are 直观可视范围, the directly visible range; one provincial authority defines
it as no mountain or landform blocking the view between the site and the river or road
(DOMAIN §1). With ``[visibility] enabled = true`` this module replaces the fixed corridors
``trunk_line_m`` / ``main_river_m``:

- **observers** stand on each line at most one DEM cell apart (the line's vertices plus points
  inserted by :func:`shapely.segmentize`), ``observer_height_m`` above the ground;
- **targets** are every DEM cell centre inside a quarry plus the quarry's vertices (or, for new
  sites, every candidate cell centre), ``target_height_m`` above the ground;
- a target is **visible** from an observer within ``max_distance_m`` (horizontal) when no
  terrain rises above the straight sight line between them. Each sight line is sampled at
  least once per cell length (step = the smaller cell side), the DEM read bilinearly between
  cell centres; with ``earth_curvature`` the terrain and the target are lowered by
  ``d² (1 − k) / 2R`` (R = 6 371 km, refraction k = 0.13), as GIS viewshed tools do.

A sight line that meets a DEM nodata cell, or leaves the DEM, is **unknown** unless terrain
elsewhere on it already blocks it. A quarry is visible from a line when any pair is visible;
hidden when every pair within range is known and blocked; otherwise *not checked* — never a
silent pass (:func:`wlgeo.engine.classify.classify` then falls back to the fixed corridor for it and
says so).

Everything here is a pure function on arrays and GeoDataFrames: the caller reads the DEM
(:func:`wlgeo.engine.siting.read_dem`) and picks the lines (:func:`wlgeo.engine.overlay.corridor_lines`).
Distances are in the units of the DEM grid's CRS (metres); frames in another CRS are
reprojected to it.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from scipy.spatial import cKDTree

from wlgeo.model.errors import LayerError
from wlgeo.model.timing import StepClock

if TYPE_CHECKING:
    from wlgeo.model.scenario import VisibilityParams
    from wlgeo.engine.siting.grid import Grid

__all__ = [
    "EARTH_RADIUS_M",
    "REFRACTION",
    "SIGHT_COLUMNS",
    "Observers",
    "observer_points",
    "sample_dem",
    "line_of_sight",
    "quarry_visibility",
    "visible_cells",
    "VisibleCells",
]

log = logging.getLogger(__name__)

#: Mean earth radius, m.
EARTH_RADIUS_M = 6_371_000.0
#: Coefficient of atmospheric refraction used with the curvature correction (ArcGIS's default).
REFRACTION = 0.13
#: Samples of sight lines held in memory at once (about 100 MB of float64 work arrays).
_CHUNK_SAMPLES = 2_000_000
#: Columns :func:`quarry_visibility` returns for each line category ``c``.
SIGHT_COLUMNS = ("{c}_sight", "{c}_seen_m", "{c}_seen_by", "{c}_near_m", "{c}_near_by")
VISIBLE, HIDDEN, UNKNOWN = 1, 0, -1


# ---------------------------------------------------------------------- sampling
def sample_dem(dem: np.ndarray, grid: Grid, x, y) -> np.ndarray:
    """Bilinear DEM height at map points ``(x, y)``; NaN outside the grid or next to nodata.

    Between the outermost cell centres and the grid's edge the nearest centre row/column is
    used. A point whose four surrounding cells include a NaN (nodata) gets NaN.

    Examples
    --------
    >>> import numpy as np
    >>> from affine import Affine
    >>> from wlgeo.engine.siting import Grid
    >>> from wlgeo.model.crs import WORKING_CRS
    >>> g = Grid(WORKING_CRS, Affine(10, 0, 0, 0, -10, 20), (2, 2))
    >>> sample_dem(np.array([[0.0, 10.0], [20.0, 30.0]]), g, [10.0, 25.0], [10.0, 5.0]).tolist()
    [15.0, nan]
    """
    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    rows, cols = dem.shape
    t = grid.transform
    fc = (x - t.c) * (1.0 / t.a) - 0.5
    fr = (y - t.f) * (1.0 / t.e) - 0.5
    out = np.full(np.broadcast(x, y).shape, np.nan)
    inside = (fc >= -0.5) & (fc <= cols - 0.5) & (fr >= -0.5) & (fr <= rows - 0.5)
    if not inside.any():
        return out
    every = bool(inside.all())
    if not every:
        fc, fr = fc[inside], fr[inside]
    np.clip(fc, 0.0, cols - 1.0, out=fc)
    np.clip(fr, 0.0, rows - 1.0, out=fr)
    c0 = np.minimum(fc.astype(np.intp), max(cols - 2, 0))  # fc ≥ 0: truncation is floor
    r0 = np.minimum(fr.astype(np.intp), max(rows - 2, 0))
    wc, wr = fc - c0, fr - r0
    flat = dem.ravel()
    i00 = r0 * cols + c0
    dc, dr = (1 if cols > 1 else 0), (cols if rows > 1 else 0)
    top = flat.take(i00) * (1 - wc) + flat.take(i00 + dc) * wc
    bottom = flat.take(i00 + dr) * (1 - wc) + flat.take(i00 + dr + dc) * wc
    z = top * (1 - wr) + bottom * wr
    if every:
        return z
    out[inside] = z
    return out


def _drop(d: np.ndarray, curvature: bool) -> np.ndarray:
    if not curvature:
        return np.zeros_like(d)
    return d * d * (1.0 - REFRACTION) / (2.0 * EARTH_RADIUS_M)


def line_of_sight(
    dem: np.ndarray,
    grid: Grid,
    observers: np.ndarray,
    targets: np.ndarray,
    *,
    earth_curvature: bool = True,
    step: float | None = None,
) -> np.ndarray:
    """Whether each observer sees each paired target over the DEM.

    Parameters
    ----------
    dem : heights on ``grid`` (float, NaN = nodata).
    grid : the DEM's grid.
    observers, targets : ``(k, 3)`` arrays of paired points ``x, y, z`` (z absolute: ground
        plus eye or target height; NaN when the ground is unknown).
    earth_curvature : lower terrain and target by the curvature less refraction.
    step : sample spacing along each sight line (default: the smaller cell side, i.e. at
        least one sample per cell length).

    Returns
    -------
    ndarray of int8, ``1`` visible, ``0`` blocked, ``-1`` unknown (an end or a sample without
    DEM data, and nothing known blocks the line).
    """
    obs = np.asarray(observers, dtype="float64").reshape(-1, 3)
    tgt = np.asarray(targets, dtype="float64").reshape(-1, 3)
    if len(obs) != len(tgt):
        raise ValueError(f"{len(obs)} observers for {len(tgt)} targets: give them in pairs")
    step = float(step) if step is not None else min(grid.cell_x, grid.cell_y)
    out = np.full(len(obs), UNKNOWN, dtype=np.int8)
    if not len(obs):
        return out
    d = np.hypot(tgt[:, 0] - obs[:, 0], tgt[:, 1] - obs[:, 1])
    n = np.maximum(np.ceil(d / step).astype(np.int64), 1)  # intervals; interior samples = n - 1
    ends_known = np.isfinite(obs[:, 2]) & np.isfinite(tgt[:, 2])
    tz = tgt[:, 2] - _drop(d, earth_curvature)
    cum = np.cumsum(n - 1)
    start = 0
    while start < len(obs):
        # a chunk of pairs holding about _CHUNK_SAMPLES samples
        before = cum[start - 1] if start else 0
        stop = min(len(obs), max(start + 1, int(np.searchsorted(cum, before + _CHUNK_SAMPLES, side="right"))))
        sl = slice(start, stop)
        k = n[sl] - 1
        local = np.repeat(np.arange(stop - start), k)
        first = np.r_[0, np.cumsum(k)[:-1]]
        f = (np.arange(len(local)) - np.repeat(first, k) + 1) / np.repeat(n[sl], k)
        ox, oy, oz = obs[sl, 0], obs[sl, 1], obs[sl, 2]
        px = np.repeat(ox, k) + f * np.repeat(tgt[sl, 0] - ox, k)
        py = np.repeat(oy, k) + f * np.repeat(tgt[sl, 1] - oy, k)
        ground = sample_dem(dem, grid, px, py)
        if earth_curvature:
            ground -= _drop(f * np.repeat(d[sl], k), True)
        sight = np.repeat(oz, k) + f * np.repeat(tz[sl] - oz, k)
        with np.errstate(invalid="ignore"):
            above = ground > sight + 1e-9
        blocked = np.bincount(local[above], minlength=stop - start) > 0
        unknown = np.bincount(local[np.isnan(ground)], minlength=stop - start) > 0
        known = ends_known[sl]
        out[sl] = np.where(blocked, HIDDEN, np.where(unknown | ~known, UNKNOWN, VISIBLE)).astype(np.int8)
        start = stop
    return out


# ---------------------------------------------------------------------- observers and targets
@dataclass
class Observers:
    """Observer points along lines: ``xy`` ``(n, 2)``, ``line`` (position of the line each lies on)."""

    xy: np.ndarray
    line: np.ndarray


def observer_points(geoms, spacing: float, *, clip: tuple[float, float, float, float] | None = None) -> Observers:
    """Points along lines (and polygon outlines) at most ``spacing`` apart, with each point's line.

    The lines' own vertices are kept and :func:`shapely.segmentize` inserts points so that no
    two consecutive ones are farther apart than ``spacing``. ``clip`` (minx, miny, maxx, maxy)
    keeps only the parts of the lines inside a rectangle first.

    Examples
    --------
    >>> import shapely
    >>> obs = observer_points([shapely.LineString([(0, 0), (250, 0)])], 100)
    >>> obs.xy[:, 0].tolist(), obs.line.tolist()
    ([0.0, 83.33333333333333, 166.66666666666666, 250.0], [0, 0, 0, 0])
    """
    arr = np.asarray(geoms, dtype=object).ravel()
    if not (spacing > 0):
        raise ValueError(f"observer spacing must be > 0, got {spacing}")
    keep = ~(shapely.is_missing(arr) | shapely.is_empty(arr)) if len(arr) else np.zeros(0, dtype=bool)
    idx = np.flatnonzero(keep)
    g = arr[keep]
    if len(g):
        poly = shapely.get_dimensions(g) == 2
        if poly.any():
            g = g.copy()
            g[poly] = shapely.boundary(g[poly])
        if clip is not None:
            g = shapely.clip_by_rect(g, *clip)
        g = shapely.segmentize(g, spacing)
        xy, owner = shapely.get_coordinates(g, return_index=True)
        if len(xy):
            # drop repeated points (closing vertices, shared ends)
            _, first = np.unique(np.column_stack([xy, owner]), axis=0, return_index=True)
            first = np.sort(first)
            return Observers(xy[first], idx[owner[first]])
    return Observers(np.empty((0, 2)), np.empty(0, dtype=np.intp))


def _targets(geoms: np.ndarray, grid: Grid) -> tuple[np.ndarray, np.ndarray]:
    """Cell centres inside each polygon plus its vertices: ``xy`` ``(n, 2)`` and the polygon of each."""
    xs, ys = grid.cell_centres()
    t = grid.transform
    out_xy, out_of = [], []
    for i, geom in enumerate(geoms):
        if geom is None or geom.is_empty:
            continue
        minx, miny, maxx, maxy = geom.bounds
        c0 = max(0, int(math.floor((minx - t.c) / t.a)))
        c1 = min(len(xs), int(math.ceil((maxx - t.c) / t.a)) + 1)
        r0 = max(0, int(math.floor((maxy - t.f) / t.e)))
        r1 = min(len(ys), int(math.ceil((miny - t.f) / t.e)) + 1)
        pts = [np.unique(shapely.get_coordinates(geom), axis=0)]
        if c1 > c0 and r1 > r0:
            gx, gy = np.meshgrid(xs[c0:c1], ys[r0:r1])
            inside = shapely.contains_xy(geom, gx.ravel(), gy.ravel())
            pts.append(np.column_stack([gx.ravel()[inside], gy.ravel()[inside]]))
        xy = np.concatenate(pts)
        out_xy.append(xy)
        out_of.append(np.full(len(xy), i, dtype=np.intp))
    if not out_xy:
        return np.empty((0, 2)), np.empty(0, dtype=np.intp)
    return np.concatenate(out_xy), np.concatenate(out_of)


def _in_crs(frame: gpd.GeoDataFrame, crs, name: str, notes: list[str]) -> gpd.GeoDataFrame:
    if frame.crs is None or crs is None:
        return frame
    if CRS.from_user_input(frame.crs) != CRS.from_user_input(crs):
        notes.append(f"visibility: {name} reprojected from {frame.crs.to_string()} to the DEM's CRS")
        return frame.to_crs(crs)
    return frame


def _line_names(frame: gpd.GeoDataFrame, fallback: str) -> np.ndarray:
    names = np.full(len(frame), fallback, dtype=object)
    for column in ("kind",) + (("name",) if "name" in frame.columns else ()):
        if column in frame.columns:
            values = frame[column].astype("object").to_numpy()
            ok = np.array([isinstance(v, str) and v.strip() != "" for v in values], dtype=bool)
            names[ok] = [str(v).strip() for v in values[ok]]
    return names


def _pairs(targets_xy: np.ndarray, observers_xy: np.ndarray, max_distance: float):
    """All (target, observer) index pairs within ``max_distance`` and their distances (k-d trees)."""
    if not len(targets_xy) or not len(observers_xy):
        return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.intp), np.empty(0)
    found = cKDTree(targets_xy).sparse_distance_matrix(cKDTree(observers_xy), max_distance, output_type="ndarray")
    return found["i"].astype(np.intp), found["j"].astype(np.intp), found["v"].astype("float64")




def _heights(dem, grid, xy, height):
    return sample_dem(dem, grid, xy[:, 0], xy[:, 1]) + height


# ---------------------------------------------------------------------- quarries
def quarry_visibility(
    quarries: gpd.GeoDataFrame,
    lines: Mapping[str, gpd.GeoDataFrame],
    dem: np.ndarray,
    grid: Grid,
    params: VisibilityParams,
) -> pd.DataFrame:
    """Line-of-sight test of every quarry against each category of lines.

    Parameters
    ----------
    quarries : the quarries (polygons; reprojected to the grid's CRS when needed).
    lines : category → lines, e.g. ``{"trunk_line": trunk roads, "main_river": main rivers}``
        (:func:`wlgeo.engine.overlay.corridor_lines`); a line is named by its ``name``, else ``kind``.
    dem, grid : the DEM (float, NaN = nodata) and its grid; must cover every line within
        ``max_distance_m`` of a quarry, else those quarries are "not checked".
    params : ``max_distance_m``, ``observer_height_m``, ``target_height_m``, ``earth_curvature``.

    Returns
    -------
    DataFrame
        Aligned to ``quarries.index``; for each category ``c``: ``c_sight`` (``visible``,
        ``hidden``, ``not_checked`` or ``out_of_range``), ``c_seen_m`` (distance from the nearest
        observer that sees a target of the quarry), ``c_seen_by`` (its line), ``c_near_m`` and
        ``c_near_by`` (the nearest line within range and its distance from the quarry polygon).
        ``attrs["notes"]`` says what was not checked and why; ``attrs["pairs"]`` counts the sight lines cast (a quarry
        once seen casts no more: pairs go nearest first), ``attrs["timings"]`` the time per step.

    Examples
    --------
    See ``tests/test_visibility.py`` (a ridge that hides a quarry, a slope that shows one).
    """
    if dem.shape != tuple(grid.shape):
        raise LayerError(f"the DEM array is {dem.shape} but its grid is {grid.shape}", layer="dem")
    notes: list[str] = []
    q = _in_crs(quarries, grid.crs, "quarries", notes)
    geoms = np.asarray(q.geometry.values, dtype=object)
    n = len(q)
    out = pd.DataFrame(index=quarries.index)
    clock = StepClock()
    tgt_xy, tgt_of = _targets(geoms, grid)
    tgt_z = _heights(dem, grid, tgt_xy, params.target_height_m)
    clock.done("targets")
    step = min(grid.cell_x, grid.cell_y)
    total_pairs = 0
    ids = q["quarry_id"].astype(str).to_numpy() if "quarry_id" in q.columns else q.index.astype(str).to_numpy()
    for category, frame in lines.items():
        sight = np.full(n, "out_of_range", dtype=object)
        seen_m, near_m = np.full(n, np.nan), np.full(n, np.nan)
        seen_by, near_by = np.full(n, None, dtype=object), np.full(n, None, dtype=object)
        if frame is not None and len(frame):
            frame = _in_crs(frame, grid.crs, category, notes)
            line_geoms = np.asarray(frame.geometry.values, dtype=object)
            names = _line_names(frame, category.replace("_", " "))
            # nearest line to each quarry polygon, within range
            tree = shapely.STRtree(line_geoms)
            present = np.flatnonzero(~(shapely.is_missing(geoms) | shapely.is_empty(geoms)))
            if len(present):
                (qi, li), dist = tree.query_nearest(geoms[present], return_distance=True, all_matches=False)
                within = dist <= params.max_distance_m
                near_m[present[qi[within]]] = dist[within]
                near_by[present[qi[within]]] = names[li[within]]
            bounds = tuple(np.asarray(q.total_bounds) + np.array([-1, -1, 1, 1]) * (params.max_distance_m + 2 * step))
            obs = observer_points(line_geoms, step, clip=bounds)
            obs_z = _heights(dem, grid, obs.xy, params.observer_height_m)
            clock.done("observers")
            t, o, d = _pairs(tgt_xy, obs.xy, params.max_distance_m)
            quarry = tgt_of[t]
            order = np.argsort(d, kind="stable")  # nearest first: a quarry seen is settled at once
            t, o, quarry, d = t[order], o[order], quarry[order], d[order]
            clock.done("pairs")
            has = np.bincount(quarry, minlength=n) > 0
            any_vis = np.zeros(n, dtype=bool)
            any_unknown = np.zeros(n, dtype=bool)
            batch = 1 << 16
            for s0 in range(0, len(t), batch):
                sl = slice(s0, s0 + batch)
                todo = ~any_vis[quarry[sl]]
                tt, oo, qq, dd = t[sl][todo], o[sl][todo], quarry[sl][todo], d[sl][todo]
                if not len(tt):
                    continue
                total_pairs += len(tt)
                res = line_of_sight(dem, grid, np.column_stack([obs.xy[oo], obs_z[oo]]),
                                    np.column_stack([tgt_xy[tt], tgt_z[tt]]),
                                    earth_curvature=params.earth_curvature, step=step)
                any_unknown[qq[res == UNKNOWN]] = True
                vis = res == VISIBLE
                if vis.any():
                    # pairs come nearest first: the first visible pair of a quarry is its nearest
                    qv, dv, ov = qq[vis], dd[vis], oo[vis]
                    new_q, first = np.unique(qv, return_index=True)
                    fresh = ~any_vis[new_q]
                    seen_m[new_q[fresh]] = dv[first[fresh]]
                    seen_by[new_q[fresh]] = names[obs.line[ov[first[fresh]]]]
                    any_vis[new_q] = True
            clock.done("sight_lines")
            sight[has] = "hidden"
            sight[has & any_unknown] = "not_checked"
            sight[any_vis] = "visible"
            unknown_ids = ids[sight == "not_checked"]
            if len(unknown_ids):
                notes.append(
                    f"visibility ({category}): {len(unknown_ids)} quarr{'y' if len(unknown_ids) == 1 else 'ies'} not "
                    f"checked — sight lines meet DEM nodata or leave the DEM within {params.max_distance_m:g} m: "
                    + ", ".join(unknown_ids[:10]) + (", ..." if len(unknown_ids) > 10 else "")
                )
        out[f"{category}_sight"] = pd.Series(sight, index=quarries.index, dtype=object)
        out[f"{category}_seen_m"] = seen_m
        out[f"{category}_seen_by"] = pd.Series(seen_by, index=quarries.index, dtype=object)
        out[f"{category}_near_m"] = near_m
        out[f"{category}_near_by"] = pd.Series(near_by, index=quarries.index, dtype=object)
    out.attrs["notes"] = notes
    out.attrs["pairs"] = total_pairs
    out.attrs["targets"] = len(tgt_xy)
    out.attrs["timings"] = clock.timings
    log.info("visibility: %d quarries, %d targets, %d sight lines", n, len(tgt_xy), total_pairs)
    return out


# ---------------------------------------------------------------------- new sites
@dataclass
class VisibleCells:
    """Cells of a grid seen from the lines (:func:`visible_cells`).

    ``visible``: seen from some observer; ``unknown``: not seen, but some sight line was
    unknown (nodata, outside the DEM); ``checked``: the cells tested; ``pairs``: sight lines.
    """

    visible: np.ndarray
    unknown: np.ndarray
    checked: np.ndarray
    pairs: int = 0
    observers: int = 0
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


def visible_cells(
    dem: np.ndarray,
    dem_grid: Grid,
    lines: Mapping[str, gpd.GeoDataFrame],
    grid: Grid,
    cells: np.ndarray,
    params: VisibilityParams,
    *,
    target_chunk: int = 50_000,
) -> VisibleCells:
    """The viewshed of the lines over the chosen ``cells`` of ``grid`` (e.g. the siting grid).

    Only the cells flagged in ``cells`` are tested (those a site could still use), each as a
    target at its centre, ``target_height_m`` above the ground, from every observer within
    ``max_distance_m``. ``dem``/``dem_grid`` may extend beyond ``grid`` (lines outside the
    district still see into it). Targets are taken ``target_chunk`` at a time, so memory stays
    bounded on a large grid.
    """
    notes: list[str] = []
    clock = StepClock()
    cells = np.asarray(cells, dtype=bool)
    if cells.shape != tuple(grid.shape):
        raise LayerError(f"cells mask is {cells.shape} but the grid is {grid.shape}", layer="visibility")
    visible = np.zeros(grid.shape, dtype=bool)
    unknown = np.zeros(grid.shape, dtype=bool)
    rows, cols = np.nonzero(cells)
    xs, ys = grid.cell_centres()
    tgt_xy = np.column_stack([xs[cols], ys[rows]])
    tgt_z = _heights(dem, dem_grid, tgt_xy, params.target_height_m)
    step = min(dem_grid.cell_x, dem_grid.cell_y)
    pairs = n_obs = 0
    clock.done("targets")
    if len(tgt_xy):
        pad = params.max_distance_m + 2 * step
        bounds = (tgt_xy[:, 0].min() - pad, tgt_xy[:, 1].min() - pad, tgt_xy[:, 0].max() + pad, tgt_xy[:, 1].max() + pad)
        seen = np.zeros(len(tgt_xy), dtype=bool)
        unsure = np.zeros(len(tgt_xy), dtype=bool)
        xy_parts, z_parts = [], []
        for category, frame in lines.items():  # seen from any of the lines counts
            if frame is None or not len(frame):
                continue
            frame = _in_crs(frame, dem_grid.crs, category, notes)
            obs = observer_points(np.asarray(frame.geometry.values, dtype=object), step, clip=bounds)
            xy_parts.append(obs.xy)
            z_parts.append(_heights(dem, dem_grid, obs.xy, params.observer_height_m))
        obs_xy = np.concatenate(xy_parts) if xy_parts else np.empty((0, 2))
        obs_z = np.concatenate(z_parts) if z_parts else np.empty(0)
        n_obs = len(obs_xy)
        clock.done("observers")
        obs_tree = cKDTree(obs_xy) if n_obs else None
        for c0 in range(0, len(tgt_xy) if n_obs else 0, target_chunk):  # bounded memory for big grids
            chunk = slice(c0, c0 + target_chunk)
            found = cKDTree(tgt_xy[chunk]).sparse_distance_matrix(obs_tree, params.max_distance_m,
                                                                  output_type="ndarray")
            # nearest observers first, so most seen targets are settled by the first batch
            order = np.argsort(found["v"], kind="stable")
            t, o = found["i"][order].astype(np.intp) + c0, found["j"][order].astype(np.intp)
            clock.done("pairs")
            batch = 1 << 18
            for s in range(0, len(t), batch):
                tt, oo = t[s:s + batch], o[s:s + batch]
                todo = ~seen[tt]
                tt, oo = tt[todo], oo[todo]
                if not len(tt):
                    continue
                pairs += len(tt)
                res = line_of_sight(dem, dem_grid, np.column_stack([obs_xy[oo], obs_z[oo]]),
                                    np.column_stack([tgt_xy[tt], tgt_z[tt]]), earth_curvature=params.earth_curvature,
                                    step=step)
                seen[tt[res == VISIBLE]] = True
                unsure[tt[res == UNKNOWN]] = True
            clock.done("sight_lines")
        visible[rows[seen], cols[seen]] = True
        unknown[rows[unsure & ~seen], cols[unsure & ~seen]] = True
        if unknown.any():
            notes.append(f"visibility: {int(unknown.sum())} cell(s) not checked (sight lines meet DEM nodata or leave "
                         "the DEM): excluded from new sites")
    return VisibleCells(visible, unknown, cells.copy(), pairs, n_obs, notes, clock.timings)
