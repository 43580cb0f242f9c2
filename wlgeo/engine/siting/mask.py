"""Where a new site may not go: the exclusion mask on the siting grid.

Excluding ("outside") constraints — red line, farmland, protected areas of every kind, industrial
parks (zoned for industry, not extraction), the settlement blast buffer, road and railway buffers by kind, the 三区两线 corridors along trunk
lines and main rivers, the Wujiang control band, river channels, kept quarries plus the site
spacing — exclude a cell when **any part** of it touches the buffered geometry. GDAL's
``all_touched`` misses slivers thinner than about 1e-4 of a cell, so every geometry is buffered
by a further :data:`EPS_FRACTION` of the cell size before burning, and circular buffers are
made with the polygon *circumscribing* the true buffer (``d / cos(π / 4·quad_segs)``), so the
polygon approximation never lets a cell slip inside the true distance.

"Inside" constraints — limestone resource zones, planning blocks (when the layer exists), the
district boundary — keep only cells lying **wholly** inside: cells clear of the outline by
rasterisation, cells the outline touches by an exact ``covers`` test of the cell square.

Each constraint is also returned as vector geometry with its distance (:class:`Exclusion`), so
:mod:`wlgeo.engine.siting.select` can check every proposed site against the original layers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from wlgeo.model.pack import LayerPack
from wlgeo.model.crs import in_working_crs
from wlgeo.model.values import yes_flags
from wlgeo.model.scenario import Scenario
from wlgeo.model.resources import check_memory
from wlgeo.engine.siting.grid import Grid, rasterize

__all__ = ["Exclusion", "Inside", "MaskResult", "exclusion_mask", "burn_outside", "burn_inside",
           "LIMESTONE_WORDS", "EPS_FRACTION"]

#: Extra buffer, as a fraction of the cell size, so thin slivers are never missed by GDAL.
EPS_FRACTION = 1e-2
#: A resource zone counts as limestone when its ``mineral`` contains one of these (case-blind).
LIMESTONE_WORDS = ("灰岩", "limestone")
_QUAD_SEGS = 8
#: Bytes per vertex of a buffered geometry until it is burnt: GEOS's coordinates and the Python
#: coordinate lists rasterio builds from it (~110 B measured; ``benchmarks/bench_memory_estimates.py``).
#: A buffer makes about 3 vertices per input vertex of a line (both sides and the caps).
BUFFER_BYTES_PER_VERTEX = 160
_CIRCUMSCRIBE = 1.0 / math.cos(math.pi / (4 * _QUAD_SEGS))


@dataclass
class Exclusion:
    """Vector form of one excluding constraint: no site may come within ``distance`` m of ``geoms``."""

    name: str
    geoms: np.ndarray
    distance: np.ndarray  # per geometry, m
    labels: np.ndarray    # per geometry, for messages (feature name or kind)


@dataclass
class Inside:
    """Vector form of one "inside" constraint: a site must lie wholly within ``geom``."""

    name: str
    geom: shapely.Geometry


@dataclass
class MaskResult:
    """The exclusion mask and what it was made of.

    ``layers`` maps each constraint name to its boolean raster of excluded cells;
    ``allowed`` is the complement of their union.
    """

    allowed: np.ndarray
    layers: dict[str, np.ndarray]
    exclusions: list[Exclusion] = field(default_factory=list)
    inside: list[Inside] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    not_checked: dict[str, str] = field(default_factory=dict)


def _clean(frame: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame | None:
    if frame is None or len(frame) == 0:
        return None
    geom = frame.geometry
    keep = ~(geom.isna() | geom.is_empty)
    if not keep.any():
        return None
    return frame[keep.to_numpy()]


def burn_outside(geoms, distances, grid: Grid) -> np.ndarray:
    """Cells touched by any geometry buffered by its distance (plus eps), as a boolean raster.

    ``distances`` is a scalar or one value per geometry (m, ≥ 0). Buffers circumscribe the true
    distance zone; an extra ``EPS_FRACTION`` of a cell catches slivers GDAL would miss.
    """
    geoms = np.asarray(geoms, dtype=object).ravel()
    if len(geoms) == 0:
        return np.zeros(grid.shape, dtype=bool)
    dist = np.broadcast_to(np.asarray(distances, dtype="float64"), geoms.shape)
    eps = EPS_FRACTION * min(grid.cell_x, grid.cell_y)
    vertices = float(shapely.get_num_coordinates(geoms).sum()) * 3 + len(geoms) * (4 * _QUAD_SEGS + 1)
    check_memory(
        f"buffering {len(geoms):,} geometries (about {vertices:.3g} vertices) and burning them into "
        f"{grid.shape[0]:,} × {grid.shape[1]:,} cells",
        vertices * BUFFER_BYTES_PER_VERTEX + float(grid.shape[0]) * grid.shape[1] * 2,
        "simplify or clip the constraint layers to the district, use a coarser grid, or raise --memory-limit",
    )
    # repair invalid input (self-touching rings) so buffers are right; lines/points are valid anyway
    geoms = np.where(shapely.is_valid(geoms), geoms, shapely.make_valid(geoms))
    buffered = shapely.buffer(geoms, dist * _CIRCUMSCRIBE + eps, quad_segs=_QUAD_SEGS)
    return rasterize(buffered, grid, all_touched=True)


def burn_inside(geom: shapely.Geometry, grid: Grid) -> np.ndarray:
    """Cells lying wholly inside ``geom``.

    Cells whose centre is inside and that no part of the (eps-buffered) outline touches are
    inside; the cells the outline touches are decided exactly, by ``covers`` on the cell squares
    (so a cell whose edge lies on the outline is kept, a cell missing a sliver is not).
    """
    if geom is None or geom.is_empty:
        return np.zeros(grid.shape, dtype=bool)
    centre_in = rasterize([geom], grid, all_touched=False)
    eps = EPS_FRACTION * min(grid.cell_x, grid.cell_y)
    outline = shapely.buffer(shapely.boundary(geom), eps, quad_segs=2)
    touched = rasterize([outline], grid, all_touched=True)
    inside = centre_in & ~touched
    rows, cols = np.nonzero(touched)
    if len(rows):
        t = grid.transform
        x0 = t.c + cols * grid.cell_x
        y1 = t.f - rows * grid.cell_y
        squares = shapely.box(x0, y1 - grid.cell_y, x0 + grid.cell_x, y1)
        shapely.prepare(geom)
        inside[rows, cols] = shapely.covers(geom, squares)
    return inside


def _road_distances(roads: gpd.GeoDataFrame, scenario: Scenario, notes: list[str]) -> np.ndarray:
    s = scenario.siting
    per_kind = {k: float(v) for k, v in s.road_buffer_m.items()}
    if not scenario.visibility.enabled:  # with visibility on, the viewshed replaces the corridor
        for kind in scenario.trunk_kinds:
            per_kind[kind] = max(per_kind.get(kind, 0.0), scenario.trunk_line_m)
    widest = max(per_kind.values()) if per_kind else 0.0
    if "kind" not in roads.columns:
        notes.append(f"roads has no `kind` field: every road buffered by the widest distance, {widest:g} m")
        return np.full(len(roads), widest)
    kinds = roads["kind"].astype("string").str.strip()
    dist = kinds.map(per_kind).astype("float64")
    unknown = dist.isna().to_numpy()
    if unknown.any():
        notes.append(
            f"roads: {int(unknown.sum())} feature(s) of unknown kind (e.g. {kinds[unknown].iloc[0]!r}) "
            f"buffered by the widest distance, {widest:g} m"
        )
    return dist.fillna(widest).to_numpy()


def _labels(frame: gpd.GeoDataFrame, fallback: str) -> np.ndarray:
    if "name" in frame.columns:
        names = frame["name"].astype("object").where(frame["name"].notna(), None).to_numpy(dtype=object)
        return np.array([n if n not in (None, "") else fallback for n in names], dtype=object)
    return np.full(len(frame), fallback, dtype=object)


def exclusion_mask(
    pack: LayerPack,
    scenario: Scenario,
    grid: Grid,
    *,
    kept: gpd.GeoDataFrame | None = None,
    slope: np.ndarray | None = None,
) -> MaskResult:
    """Build the exclusion mask of new sites on ``grid`` (see the module notes for the rules).

    Parameters
    ----------
    pack : the layer pack (layers in its working CRS; others are reprojected with a note).
    scenario : distances and buffers (``blast_distance_m``, ``trunk_line_m``, ``main_river_m``,
        ``siting.road_buffer_m``, ``siting.wujiang_buffer_m``, ``siting.site_spacing_m``,
        ``siting.max_slope_deg``). With ``visibility.enabled`` the ``trunk_line_m`` /
        ``main_river_m`` corridors are left out here: the caller adds the viewshed of the lines
        (:func:`wlgeo.engine.visibility.visible_cells`) instead.
    grid : the siting grid.
    kept : quarries that stay (retained and consolidated); sites keep ``site_spacing_m`` from them.
    slope : slope in degrees on ``grid`` (NaN = unknown, excluded); ``None`` = slope not checked.

    Returns
    -------
    MaskResult
    """
    s = scenario.siting
    notes: list[str] = []
    not_checked: dict[str, str] = {}
    layers: dict[str, np.ndarray] = {}
    exclusions: list[Exclusion] = []
    inside: list[Inside] = []

    def layer(name: str) -> gpd.GeoDataFrame | None:
        frame = _clean(pack.get(name))
        return None if frame is None else in_working_crs(frame, name, notes, pack.working_crs)

    def outside(name: str, frame: gpd.GeoDataFrame, distances, fallback: str) -> None:
        geoms = frame.geometry.to_numpy()
        dist = np.broadcast_to(np.asarray(distances, dtype="float64"), geoms.shape).copy()
        layers[name] = burn_outside(geoms, dist, grid)
        exclusions.append(Exclusion(name, geoms, dist, _labels(frame, fallback)))

    for name in ("red_line", "farmland", "protected_areas"):
        frame = layer(name)
        if frame is None:
            not_checked[name] = f"layer {name} absent or empty"
            continue
        outside(name, frame, 0.0, name)

    # industrial parks are zoned for industry, not extraction: a site may border one, not enter it
    frame = layer("parks")
    if frame is not None:
        outside("parks", frame, 0.0, "park")

    frame = layer("settlements")
    if frame is None:
        not_checked["settlements"] = "layer settlements absent or empty"
    else:
        outside("settlements", frame, scenario.blast_distance_m, "settlement")

    frame = layer("roads")
    if frame is None:
        not_checked["roads"] = "layer roads absent or empty"
    else:
        fallback = frame["kind"].astype("object").fillna("road").to_numpy() if "kind" in frame.columns else "road"
        outside("roads", frame, _road_distances(frame, scenario, notes), "road")
        if "kind" in frame.columns:
            exclusions[-1].labels = np.array(
                [f"{lab} ({k})" if lab != "road" else str(k) for lab, k in zip(exclusions[-1].labels, fallback)],
                dtype=object,
            )

    frame = layer("rivers")
    if frame is None:
        not_checked["rivers"] = "layer rivers absent or empty"
    else:
        if "main" in frame.columns:
            main = yes_flags(frame["main"], "rivers.main", notes)
        else:
            main = np.ones(len(frame), dtype=bool)
            notes.append("rivers has no `main` field: every river counted as main")
        # with visibility on, the viewshed (wlgeo.engine.siting.core) replaces the main_river_m corridor
        band = s.wujiang_buffer_m if scenario.visibility.enabled else max(scenario.main_river_m, s.wujiang_buffer_m)
        outside("rivers", frame, np.where(main, band, 0.0), "river")

    if kept is not None and len(kept):
        frame = _clean(kept)
        if frame is not None:
            frame = in_working_crs(frame, "kept quarries", notes, pack.working_crs)
            outside("kept_quarries", frame, s.site_spacing_m, "quarry")
            if "quarry_id" in frame.columns:
                exclusions[-1].labels = frame["quarry_id"].astype(str).to_numpy(dtype=object)

    # inside constraints
    frame = layer("resource_zones")
    if frame is None:
        not_checked["resource_zones"] = "layer resource_zones absent or empty: new sites not restricted to mapped limestone"
    else:
        if "mineral" in frame.columns:
            text = frame["mineral"].astype("string").str.lower().fillna("")
            lime = np.zeros(len(frame), dtype=bool)
            for word in LIMESTONE_WORDS:
                lime |= text.str.contains(word, regex=False).to_numpy(dtype=bool)
            notes.append(f"resource_zones: {int(lime.sum())} of {len(frame)} zone(s) are limestone")
            frame = frame[lime]
        else:
            notes.append("resource_zones has no `mineral` field: every zone counted as limestone")
        geom = shapely.union_all(shapely.make_valid(frame.geometry.to_numpy())) if len(frame) else shapely.Polygon()
        inside.append(Inside("resource_zones", geom))
        layers["resource_zones"] = ~burn_inside(geom, grid)

    frame = layer("planning_blocks")
    if frame is not None:
        geom = shapely.union_all(shapely.make_valid(frame.geometry.to_numpy()))
        inside.append(Inside("planning_blocks", geom))
        layers["planning_blocks"] = ~burn_inside(geom, grid)

    frame = layer("boundary")
    if frame is None:
        not_checked["boundary"] = "layer boundary absent: sites limited to the grid only"
    else:
        geom = shapely.union_all(shapely.make_valid(frame.geometry.to_numpy()))
        inside.append(Inside("boundary", geom))
        layers["boundary"] = ~burn_inside(geom, grid)

    if slope is None:
        not_checked["slope"] = "no DEM: slope not checked"
    else:
        with np.errstate(invalid="ignore"):
            layers["slope"] = ~(slope <= s.max_slope_deg)  # NaN (no DEM data) is excluded too
        unknown = np.isnan(slope)
        if "boundary" in layers:
            unknown &= ~layers["boundary"]
        if unknown.any():
            notes.append(f"{int(unknown.sum())} cell(s) inside the grid{' and boundary' if 'boundary' in layers else ''} "
                         "without DEM data (or next to nodata) excluded: slope unknown")

    excluded = np.zeros(grid.shape, dtype=bool)
    for raster in layers.values():
        excluded |= raster
    return MaskResult(~excluded, layers, exclusions, inside, notes, not_checked)


def share_excluded(result: MaskResult) -> pd.Series:
    """Share of grid cells each constraint excludes (for notes and reports)."""
    return pd.Series({k: float(v.mean()) for k, v in result.layers.items()}, dtype="float64")
