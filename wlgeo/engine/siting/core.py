"""``propose_sites``: raster suitability → ranked new quarry sites (规划新建).

Steps (each timed in :attr:`SitingResult.timings`):

``grid``         one grid, from the DEM (the pack's working CRS, never resampled) or from the boundary at
                 ``siting.grid_resolution_m`` when there is no DEM (slope then "not checked");
``slope``        Horn slope in degrees;
``distances``    distance rasters to roads, railways, parks, ports (EDT on the grid);
``mask``         the exclusion mask (:mod:`wlgeo.engine.siting.mask`);
``suitability``  weighted sum of the 0–1 factors, NaN where excluded;
``candidates``   candidate ground (opened, big enough components);
``select``       the sites: optimal over the candidate blocks (:mod:`wlgeo.engine.siting.optimal`, the
                 default) or greedy (:mod:`wlgeo.engine.siting.select`), with spacing and caps;
``attributes``   per-site factor means, nearest park/port/road, reasons.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from wlgeo.model.crs import WORKING_CRS
from wlgeo.model.pack import LayerPack
from wlgeo.model.crs import in_working_crs
from wlgeo.model.scenario import Scenario
from wlgeo.model.resources import format_bytes
from wlgeo.engine.siting.factors import distance_to, normalise, slope_degrees, weighted_sum
from wlgeo.engine.siting.grid import SITING_BYTES_PER_CELL, Grid, check_grid_memory, check_on_grid, grid_from_bounds, read_dem
from wlgeo.engine.siting.mask import MaskResult, exclusion_mask
from wlgeo.engine.siting.optimal import Caps, SelectionReport, choose_sites
from wlgeo.engine.siting.select import Site, candidate_ground, room_for_sites
from wlgeo.engine.overlay import corridor_lines
from wlgeo.engine.visibility import visible_cells
from wlgeo.model.errors import PackError
from wlgeo.model.timing import StepClock

__all__ = ["SitingResult", "propose_sites", "SITE_COLUMNS", "FACTOR_LAYERS", "DEFAULT_SATURATION_M"]

log = logging.getLogger(__name__)

#: Distance factors: name → (layer, feature filter on ``kind``: None = all, "railway" / "not railway").
FACTOR_LAYERS = {
    "roads": ("roads", "not railway"),
    "railway": ("roads", "railway"),
    "parks": ("parks", None),
    "ports": ("ports", None),
}
#: Saturation used when the scenario has none for a factor (``railway`` until the scenario has it).
#: The steps of :func:`propose_sites`, in order (its ``progress`` reports the share done).
SITING_STEPS = ("grid", "slope", "distances", "mask", "suitability", "candidates", "select", "attributes")
DEFAULT_SATURATION_M = {"roads": 5000.0, "railway": 10000.0, "parks": 20000.0, "ports": 30000.0}
#: Columns of :attr:`SitingResult.new_sites`, before the factor columns ``f_*``.
SITE_COLUMNS = (
    "site_id", "decision", "decision_zh", "score", "capacity", "area_m2", "slope_deg",
    "nearest_road", "road_m", "nearest_park", "park_m", "nearest_port", "port_m", "town", "reasons",
)


@dataclass
class SitingResult:
    """What :func:`propose_sites` found.

    Attributes
    ----------
    new_sites : GeoDataFrame (the pack's working CRS)
        One row per proposed site: ``site_id`` (N-01…), ``decision`` = ``"new"``,
        ``decision_zh`` = ``"规划新建"``, ``score`` (mean suitability, 0–1), ``capacity`` (planned,
        万吨/年), ``area_m2``, ``slope_deg`` (mean; NaN when slope was not checked), nearest
        road/park/port and the distance in m from the site polygon, ``town``, ``reasons`` (the
        score's terms and the figures behind it), and ``f_<factor>`` (mean 0–1 factor score).
    grid : Grid
    suitability : float32 array on ``grid``, NaN where excluded.
    factors : factor name → 0–1 float32 array on ``grid``.
    raw : factor name → the measured quantity (distance in m, slope in degrees) on ``grid``.
    mask : bool array on ``grid``, True where a site may go.
    mask_layers : constraint name → bool array of the cells it excludes.
    weights : the weights used (after dropping factors that could not be computed).
    limit : how many sites the caps and ``max_new_sites`` allowed.
    notes : what was assumed, normalised or not checked, and why there are no (or few) sites.
    not_checked : constraint or factor → why it was not applied.
    timings : step → seconds.
    selection : how the sites were chosen (:class:`wlgeo.engine.siting.optimal.SelectionReport`:
        ``selection``, ``objective``, ``gap``, ``greedy_objective``, ...), ``None`` without a grid.
    """

    new_sites: gpd.GeoDataFrame
    grid: Grid | None
    suitability: np.ndarray | None
    factors: dict[str, np.ndarray] = field(default_factory=dict)
    raw: dict[str, np.ndarray] = field(default_factory=dict)
    mask: np.ndarray | None = None
    mask_layers: dict[str, np.ndarray] = field(default_factory=dict)
    weights: dict[str, float] = field(default_factory=dict)
    limit: int = 0
    notes: list[str] = field(default_factory=list)
    not_checked: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    selection: SelectionReport | None = None


def _viewshed_mask(pack: LayerPack, scenario: Scenario, grid: Grid, allowed: np.ndarray, mask: MaskResult,
                   notes: list[str]) -> np.ndarray:
    """Keep new sites out of the visible range of trunk lines and main rivers ([visibility] on).

    Only cells every other constraint allows are tested (the viewshed of the lines over them,
    :func:`wlgeo.engine.visibility.visible_cells`, on the siting grid = the DEM's own cells); cells the
    DEM cannot settle are excluded too. The DEM is read again with ``max_distance_m`` of margin
    so lines just outside the district still see into it.
    """

    if pack.dem is None:
        raise PackError("the scenario enables [visibility] but the pack has no DEM: new sites cannot be kept out of "
                        "the visible range; add a DEM or set visibility.enabled = false", path=pack.source, layer="dem")
    params = scenario.visibility
    lines, line_notes = corridor_lines(pack, scenario)
    notes.extend(n for n in line_notes if n not in notes)
    x0, y0, x1, y1 = grid.bounds
    r = params.max_distance_m
    dem_grid, dem, _ = read_dem(pack.dem, clip_to=(x0 - r, y0 - r, x1 + r, y1 + r), crs=pack.working_crs)
    found = visible_cells(dem, dem_grid, lines, grid, allowed, params)
    notes.extend(found.notes)
    excluded = found.visible | found.unknown
    mask.layers["visible_range"] = excluded
    notes.append(f"visibility: {int(found.visible.sum())} of {int(found.checked.sum())} otherwise allowed cell(s) can be "
                 f"seen from a trunk line or main river within {r:g} m ({found.observers} observers, {found.pairs} sight "
                 "lines): no new site there")
    return allowed & ~excluded


def _caps(scenario: Scenario, kept_count: int, kept_capacity: float) -> Caps:
    s = scenario.siting
    return Caps(
        max_sites=s.max_new_sites,
        quarry_room=None if scenario.max_quarries is None else scenario.max_quarries - kept_count,
        capacity_room=None if scenario.max_total_capacity is None or s.new_site_capacity <= 0
        else scenario.max_total_capacity - kept_capacity,
        site_capacity=s.new_site_capacity,
    )


def _empty_sites(factor_names=(), crs=WORKING_CRS) -> gpd.GeoDataFrame:
    cols = {c: pd.Series(dtype="float64" if c.endswith(("_m", "_m2", "_deg")) or c in ("score", "capacity") else "object")
            for c in SITE_COLUMNS}
    for name in factor_names:
        cols[f"f_{name}"] = pd.Series(dtype="float64")
    return gpd.GeoDataFrame(cols, geometry=gpd.GeoSeries([], crs=crs), crs=crs)




def _make_grid(pack: LayerPack, scenario: Scenario, notes: list[str]) -> tuple[Grid | None, np.ndarray | None]:
    """The siting grid and the DEM on it (``None`` without a DEM)."""
    boundary = pack.get("boundary")
    bounds = None
    if boundary is not None and len(boundary) and not boundary.geometry.is_empty.all():
        bounds = tuple(in_working_crs(boundary, "boundary", notes, pack.working_crs).total_bounds)
    if pack.dem is not None:
        grid, dem, dem_notes = read_dem(pack.dem, clip_to=bounds, crs=pack.working_crs)
        notes.extend(dem_notes)
        res = scenario.siting.grid_resolution_m
        if not (math.isclose(grid.cell_x, res) and math.isclose(grid.cell_y, res)):
            notes.append(
                f"grid = the DEM's own {grid.cell_x:g}×{grid.cell_y:g} m cells; siting.grid_resolution_m "
                f"({res:g} m) applies only without a DEM (nothing is resampled)"
            )
        if bounds is not None:
            gx0, gy0, gx1, gy1 = grid.bounds
            if bounds[0] < gx0 or bounds[1] < gy0 or bounds[2] > gx1 or bounds[3] > gy1:
                notes.append("the DEM does not cover the whole boundary: ground outside it is not considered")
        return grid, dem
    for name in ("boundary", "resource_zones", "planning_blocks"):
        frame = pack.get(name)
        if frame is not None and len(frame) and not frame.geometry.is_empty.all():
            if name != "boundary":
                notes.append(f"no boundary layer: grid laid over the extent of {name}")
            b = tuple(in_working_crs(frame, name, notes, pack.working_crs).total_bounds)
            res = scenario.siting.grid_resolution_m
            grid = grid_from_bounds(b, res, crs=pack.working_crs)
            coarse = (b[2] - b[0]) / 30.0 * (b[3] - b[1]) / 30.0 * SITING_BYTES_PER_CELL
            hint = f"; 30 m would need about {format_bytes(coarse)}" if res < 30 else ""
            check_grid_memory(*grid.shape, res, f"set a coarser [siting] grid_resolution_m (now {res:g} m{hint}) "
                              "or raise --memory-limit")
            return grid, None
    notes.append("no DEM, boundary, resource_zones or planning_blocks: no grid to site on")
    return None, None


def _factor_layer(pack: LayerPack, name: str, notes: list[str]) -> np.ndarray | None:
    layer_name, which = FACTOR_LAYERS[name]
    frame = pack.get(layer_name)
    if frame is None or len(frame) == 0:
        return None
    frame = in_working_crs(frame, layer_name, [], pack.working_crs)
    if which is not None:
        if "kind" not in frame.columns:
            if which == "railway":
                return None
        else:
            is_rail = (frame["kind"].astype("string").str.strip() == "railway").fillna(False).to_numpy(dtype=bool)
            frame = frame[is_rail if which == "railway" else ~is_rail]
    geoms = frame.geometry.to_numpy()
    geoms = geoms[~(pd.isna(geoms) | shapely.is_empty(geoms))] if len(geoms) else geoms
    return geoms if len(geoms) else None


def _weights(scenario: Scenario, available: set[str], notes: list[str], not_checked: dict[str, str]) -> dict[str, float]:
    raw = dict(scenario.siting.weights)
    used = {k: v for k, v in raw.items() if k in available and v > 0}
    dropped = [k for k, v in raw.items() if v > 0 and k not in available]
    for k in dropped:
        not_checked[f"factor {k}"] = "layer absent or empty" if k != "slope" else "no DEM"
    if dropped:
        total = sum(used.values())
        if total > 0:
            used = {k: v / total for k, v in used.items()}
            notes.append(
                f"factor(s) {', '.join(dropped)} could not be computed: their weight was shared out, "
                + ", ".join(f"{k}={v:.3g}" for k, v in used.items())
            )
        else:
            notes.append(f"no weighted factor could be computed ({', '.join(dropped)}): every allowed cell scores 0")
    return used


def _nearest(polys: np.ndarray, frame: gpd.GeoDataFrame | None, fallback: str) -> tuple[np.ndarray, np.ndarray]:
    dist = np.full(len(polys), np.nan)
    names = np.full(len(polys), None, dtype=object)
    if frame is None or len(frame) == 0 or len(polys) == 0:
        return dist, names
    geoms = frame.geometry.to_numpy()
    ok = ~(pd.isna(geoms) | shapely.is_empty(geoms))
    if not ok.any():
        return dist, names
    frame, geoms = frame[ok], geoms[ok]
    labels = frame["name"].astype("object").to_numpy() if "name" in frame.columns else np.full(len(frame), fallback)
    for i, poly in enumerate(polys):
        d = shapely.distance(poly, geoms)
        j = int(np.argmin(d))
        dist[i], names[i] = float(d[j]), labels[j] if labels[j] not in (None, "") else fallback
    return dist, names


def _attributes(
    sites: list[Site], grid: Grid, pack: LayerPack, scenario: Scenario, factors: dict, raw: dict,
    weights: dict[str, float],
) -> gpd.GeoDataFrame:
    polys = np.array([s.polygon for s in sites], dtype=object)
    rows: dict[str, list] = {c: [] for c in SITE_COLUMNS}
    fcols: dict[str, list] = {f"f_{k}": [] for k in factors}
    roads = pack.get("roads")
    if roads is not None and "kind" in roads.columns:
        roads = roads[(roads["kind"].astype("string").str.strip() != "railway").fillna(True).to_numpy(dtype=bool)]
    road_m, road_n = _nearest(polys, None if roads is None else in_working_crs(roads, "roads", [], pack.working_crs), "road")
    park_m, park_n = _nearest(polys, None if pack.get("parks") is None else in_working_crs(pack["parks"], "parks", [], pack.working_crs), "park")
    port_m, port_n = _nearest(polys, None if pack.get("ports") is None else in_working_crs(pack["ports"], "ports", [], pack.working_crs), "port")
    towns = pack.get("towns")
    towns = None if towns is None or "town" not in towns.columns else in_working_crs(towns, "towns", [], pack.working_crs)
    for i, site in enumerate(sites):
        means = {k: float(v[site.rows, site.cols].mean()) for k, v in factors.items()}
        slope = float(np.nanmean(raw["slope"][site.rows, site.cols])) if "slope" in raw else float("nan")
        terms = "+".join(f"{k} {weights[k]:.2f}×{means[k]:.2f}" for k in weights)
        parts = [f"score:{site.score:.3f}={terms}" if terms else f"score:{site.score:.3f}"]
        parts.append(f"slope:{slope:.1f}deg" if math.isfinite(slope) else "slope:not_checked")
        for code, d, n in (("road", road_m[i], road_n[i]), ("park", park_m[i], park_n[i]), ("port", port_m[i], port_n[i])):
            if math.isfinite(d):
                parts.append(f"{code}:{d:.0f}m({n})")
        area = float(site.polygon.area)
        parts.append(f"area:{area / 1e4:.1f}ha")
        town = None
        if towns is not None:
            hit = towns[towns.geometry.intersects(site.polygon.representative_point())]
            town = None if hit.empty else str(hit["town"].iloc[0])
        values = dict(
            site_id=f"N-{i + 1:02d}", decision="new", decision_zh="规划新建", score=round(site.score, 4),
            capacity=scenario.siting.new_site_capacity, area_m2=area, slope_deg=slope,
            nearest_road=road_n[i], road_m=road_m[i], nearest_park=park_n[i], park_m=park_m[i],
            nearest_port=port_n[i], port_m=port_m[i], town=town, reasons=";".join(parts),
        )
        for c in SITE_COLUMNS:
            rows[c].append(values[c])
        for k, v in means.items():
            fcols[f"f_{k}"].append(round(v, 4))
    frame = gpd.GeoDataFrame({**rows, **fcols}, geometry=list(polys), crs=grid.crs)
    return frame


def propose_sites(
    pack: LayerPack,
    scenario: Scenario,
    *,
    kept: gpd.GeoDataFrame | None,
    kept_capacity: float,
    kept_count: int | None = None,
    progress: Callable[[str, float], None] | None = None,
) -> SitingResult:
    """Propose new quarry sites (规划新建) from a raster suitability analysis.

    Parameters
    ----------
    pack : the layer pack (DEM, constraints, roads, parks, ports, resource zones, ...).
    scenario : distances, caps and ``scenario.siting`` parameters.
    kept : quarries that stay after the plan (retained and consolidated), for spacing; may be
        ``None`` or empty.
    kept_capacity : their total capacity, 万吨/年 (checked against ``max_total_capacity``).
    kept_count : how many quarries stay, for ``max_quarries`` (a consolidation group counts as
        one); default ``len(kept)``.
    progress : optional ``callback(step, fraction)`` called after each step.

    Returns
    -------
    SitingResult
        ``new_sites`` is empty (with the columns) when nothing fits; ``notes`` say why.

    Raises
    ------
    CRSError
        The DEM is not in the pack's working CRS.
    LayerError
        The DEM grid is rotated, or a raster is not on the grid.
    """
    clock = StepClock(progress, SITING_STEPS)
    notes: list[str] = list(scenario.siting.notes)
    not_checked: dict[str, str] = {}
    if kept_count is None:
        kept_count = 0 if kept is None else len(kept)
    limit, cap_notes = room_for_sites(scenario, kept_count=kept_count, kept_capacity=float(kept_capacity))
    notes.extend(cap_notes)

    grid, dem = _make_grid(pack, scenario, notes)
    clock.done("grid")
    if grid is None:
        return SitingResult(_empty_sites(crs=pack.working_crs), None, None, limit=limit, notes=notes, not_checked=not_checked,
                            timings=clock.timings)
    log.info("siting grid %d×%d cells of %g m", grid.shape[0], grid.shape[1], grid.cell_x)

    raw: dict[str, np.ndarray] = {}
    factors: dict[str, np.ndarray] = {}
    slope = None
    if dem is not None:
        slope = slope_degrees(dem, grid)
        raw["slope"] = slope
        factors["slope"] = normalise(slope, saturation=scenario.siting.max_slope_deg, better="low")
        del dem
    else:
        not_checked["slope"] = "no DEM: slope not checked"
    clock.done("slope")

    sat = {**DEFAULT_SATURATION_M, **dict(scenario.siting.saturation_m)}
    for name in FACTOR_LAYERS:
        geoms = _factor_layer(pack, name, notes)
        if geoms is None:
            continue
        dist = distance_to(geoms, grid, max_distance=sat[name])
        raw[name] = dist
        factors[name] = normalise(dist, saturation=sat[name], better="low")
    clock.done("distances")

    mask: MaskResult = exclusion_mask(pack, scenario, grid, kept=kept, slope=slope)
    notes.extend(mask.notes)
    for k, v in mask.not_checked.items():
        not_checked.setdefault(k, v)
    allowed = check_on_grid(mask.allowed, grid, "mask")
    if scenario.visibility.enabled:
        allowed = _viewshed_mask(pack, scenario, grid, allowed, mask, notes)
    clock.done("mask")

    weights = _weights(scenario, set(factors), notes, not_checked)
    suitability = weighted_sum(factors, weights, grid)
    suitability[~allowed] = np.nan
    clock.done("suitability")

    s = scenario.siting
    ground, n_cells, ground_notes = candidate_ground(allowed, grid, s.min_site_area_m2)
    notes.extend(ground_notes)
    clock.done("candidates")

    sites, select_notes, report = choose_sites(
        ground, suitability, grid, n_cells=n_cells, caps=_caps(scenario, kept_count, float(kept_capacity)),
        spacing_m=s.site_spacing_m, exclusions=mask.exclusions, inside=mask.inside, selection=s.selection,
        time_limit_s=s.time_limit_s,
    )
    notes.extend(select_notes)
    notes.append(report.to_text())
    if limit > 0 and not allowed.any():
        notes.append("no new sites: every cell is excluded by the constraints")
    elif limit > 0 and not ground.any():
        notes.append(f"no new sites: no block of allowed cells reaches min_site_area_m2 = {s.min_site_area_m2:g} m²")
    elif len(sites) < limit:
        notes.append(f"{len(sites)} new site(s) of {limit} allowed: no more ground at {s.site_spacing_m:g} m spacing")
    clock.done("select")

    frame = _attributes(sites, grid, pack, scenario, factors, raw, weights) if sites else _empty_sites(factors, grid.crs)
    clock.done("attributes")
    return SitingResult(
        new_sites=frame, grid=grid, suitability=suitability, factors=factors, raw=raw, mask=allowed,
        mask_layers=mask.layers, weights=weights, limit=limit, notes=notes, not_checked=not_checked,
        timings=clock.timings, selection=report,
    )
