"""The partitioned plan: the same rules, computed district by district and partition by partition.

Used by the local engine for a city pack (one partition per district) and by the dask engine
(:mod:`wlgeo.engine.cluster`, several partitions per district, spread over the workers). Both call
the same pure per-partition functions through an *executor* (``executor.map(func, *iterables)``
→ list), so a dask run and a local run compute every figure with the same code:

1. :func:`partition_metrics` — the constraint metrics of a partition's quarries, measured in
   its district's zone. Overlap layers are read in the window of the partition's quarries;
   distance layers in that window grown by the largest rule distance, then grown again for
   the quarries whose nearest feature is farther than the window guarantees, until exact (the
   figures equal a whole-layer computation, not only the decisions).
2. :func:`partition_links` — consolidation links between the partition's surviving quarries and
   every surviving quarry of its district within ``merge_distance_m`` (its halo), as pairs of
   ``quarry_id``. The links of all partitions form one edge list; the groups are its connected
   components (:func:`wlgeo.engine.classify.canonical_group_ids`), numbered by their smallest quarry id,
   so they do not depend on the partitioning. A link never crosses a district border.
3. :func:`partition_classify` — the decisions with those groups.

Then, per district: the consolidation-group footprints, new sites, the summary and the caps
(each district's caps are the scenario's; ``[city_caps]`` adds city totals).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from wlgeo.engine.classify import canonical_group_ids, classify, consolidation_groups, consolidation_links, surviving_mask
from wlgeo.model.crs import WORKING_CRS
from wlgeo.engine.districts import DEFAULT_DISTRICT, District, assign_districts, read_districts
from wlgeo.model.errors import LayerError
from wlgeo.model.pack import LayerPack
from wlgeo.model.sources import LayerSource
from wlgeo.engine.overlay import constraint_metrics, protected_kinds
from wlgeo.engine.summary import CapsCheck, check_caps, quarry_towns, summary_table
from wlgeo.model.scenario import Scenario
from wlgeo.model.values import id_text, parse_number_series
from wlgeo.engine.siting import propose_sites
from wlgeo.model.crs import working_crs_for

__all__ = [
    "Partition",
    "DistrictPlan",
    "CityPlan",
    "LocalExecutor",
    "partition_metrics",
    "partition_links",
    "partition_classify",
    "district_sites",
    "make_partitions",
    "plan_districts",
    "city_caps",
    "OVERLAP_LAYERS",
    "DISTANCE_LAYERS",
    "CITY_CRS",
    "DISTRICT_COLUMN",
]

log = logging.getLogger(__name__)

#: Layers measured by overlap (read in the partition's window).
OVERLAP_LAYERS = ("red_line", "farmland", "protected_areas")
#: Layers measured by distance → the metric column (read in a growing window).
DISTANCE_LAYERS = {"settlements": "settlement_m", "roads": "trunk_line_m", "rivers": "main_river_m"}
#: Layers propose_sites reads.
SITING_LAYERS = ("boundary", "towns", "red_line", "farmland", "protected_areas", "settlements", "roads", "rivers",
                 "parks", "ports", "resource_zones", "planning_blocks", "bases")
#: CRS of the city-wide outputs (districts lie in different zones): CGCS2000 lon/lat.
CITY_CRS = CRS.from_epsg(4490)
DISTRICT_COLUMN = "district"
_NAME_COLUMN = {"settlement_m": "nearest_settlement", "trunk_line_m": "nearest_trunk_line",
                "main_river_m": "nearest_main_river"}
_WHOLE_LAYER_M = 2_000_000.0  # a window grown past this reads the whole layer
_SITING_MARGIN_M = 40_000.0  # siting reads context this far around a district (factors saturate ≤ 30 km)


class LocalExecutor:
    """Runs every partition in this process, in order."""

    name = "local"
    workers = 1

    def map(self, func: Callable, *iterables: Iterable) -> list:
        return [func(*args) for args in zip(*iterables)]

    def share(self, value: Any) -> Any:
        """A value every task may read (here: the value itself)."""
        return value


@dataclass
class Partition:
    """Quarries of one district planned together (in the district's zone)."""

    key: str
    district: str
    epsg: int
    quarries: gpd.GeoDataFrame

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        return tuple(float(v) for v in self.quarries.total_bounds)  # type: ignore[return-value]


# ---------------------------------------------------------------------------- per partition
def _grow(bounds, margin: float):
    return (bounds[0] - margin, bounds[1] - margin, bounds[2] + margin, bounds[3] + margin)


def partition_metrics(quarries: gpd.GeoDataFrame, sources: Mapping[str, LayerSource | None], scenario: Scenario,
                      epsg: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Constraint metrics of one partition's quarries and their surviving mask (rules 1–2).

    ``quarries`` are in ``EPSG:epsg`` (the district's zone); ``sources`` maps each constraint
    layer to a windowed reader (``None`` when absent). The figures equal those of
    :func:`wlgeo.engine.overlay.constraint_metrics` on the whole layers.
    """
    crs = CRS.from_epsg(epsg)
    bounds = tuple(float(v) for v in quarries.total_bounds)
    margin = max(scenario.blast_distance_m, scenario.trunk_line_m, scenario.main_river_m, 1.0)
    layers: dict[str, gpd.GeoDataFrame] = {}
    windows: dict[str, float] = {}
    reads: dict[str, int] = {}
    for name in (*OVERLAP_LAYERS, *DISTANCE_LAYERS):
        source = sources.get(name)
        if source is None:
            continue
        grow = margin if name in DISTANCE_LAYERS else 0.0
        layers[name] = source.read(_grow(bounds, grow), crs=crs)
        windows[name] = grow
        reads[name] = len(layers[name])
    metrics = constraint_metrics(quarries, LayerPack(layers), scenario, crs=crs)
    not_checked = dict(metrics.attrs.get("not_checked", {}))
    notes = list(metrics.attrs.get("notes", []))
    # Overlap layers present but with nothing in this window: no overlap (0), as on the whole layer.
    area = shapely.area(np.asarray(quarries.geometry.values, dtype=object))
    for name, rule in (("red_line", "red_line"), ("farmland", "farmland"), ("protected_areas", "protected")):
        if sources.get(name) is not None and not sources[name].is_empty():
            if metrics[f"{rule}_m2"].isna().all():
                metrics[f"{rule}_m2"] = np.where(np.isfinite(area), 0.0, np.nan)
                metrics[f"{rule}_pct"] = np.where(area > 0, 0.0, np.nan)
            not_checked.pop(rule, None)
    # Distances: exact when the nearest feature lies within the window's margin; else grow it.
    for name, column in DISTANCE_LAYERS.items():
        source = sources.get(name)
        if source is None or source.is_empty():
            continue
        rule = column[:-2]
        grow = windows[name]
        extent = source.bounds(crs)
        while True:
            values = metrics[column].to_numpy(dtype=float)
            open_ = ~(values <= grow)
            whole = grow >= _WHOLE_LAYER_M or (extent is not None and _covers(_grow(bounds, grow), extent))
            if not open_.any() or whole:
                break
            grow = min(grow * 4.0, _WHOLE_LAYER_M)
            extent_now = _grow(bounds, grow)
            whole = grow >= _WHOLE_LAYER_M or (extent is not None and _covers(extent_now, extent))
            frame = source.read(None if whole else extent_now, crs=crs)
            reads[name] = max(reads.get(name, 0), len(frame))
            subset = quarries[open_]
            more = constraint_metrics(subset, LayerPack({name: frame}), scenario, crs=crs)
            metrics.loc[subset.index, column] = more[column].to_numpy()
            metrics.loc[subset.index, _NAME_COLUMN[column]] = more[_NAME_COLUMN[column]].to_numpy()
            notes.extend(n for n in more.attrs.get("notes", []) if n not in notes)
            if whole:
                if rule in more.attrs.get("not_checked", {}):
                    not_checked[rule] = more.attrs["not_checked"][rule]
                else:
                    not_checked.pop(rule, None)
                break
        if not metrics[column].isna().all():
            not_checked.pop(rule, None)
    metrics["protected_kinds"] = protected_kinds(quarries, metrics["protected_m2"], layers.get("protected_areas"),
                                                 scenario, crs=crs)
    surviving = surviving_mask(quarries, metrics, scenario)
    metrics.attrs = {"not_checked": not_checked, "notes": notes, "reads": reads}
    return metrics, surviving


def _covers(window, extent) -> bool:
    return window[0] <= extent[0] and window[1] <= extent[1] and window[2] >= extent[2] and window[3] >= extent[3]


def partition_links(quarries: gpd.GeoDataFrame, own: np.ndarray, scenario: Scenario) -> list[tuple[str, str]]:
    """Consolidation links (pairs of ``quarry_id``) touching the partition's own quarries.

    ``quarries`` are the district's *surviving* quarries in the partition's window grown by
    ``merge_distance_m`` (its own and its halo, one zone); ``own`` flags the partition's own.
    """
    if len(quarries) < 2:
        return []
    capacity = parse_number_series(quarries["capacity"], units=True)[0].to_numpy(dtype=float)
    a, b = consolidation_links(np.asarray(quarries.geometry.values, dtype=object), capacity,
                               np.ones(len(quarries), dtype=bool), merge_distance_m=scenario.merge_distance_m,
                               min_capacity=scenario.min_capacity)
    keep = own[a] | own[b]
    ids = np.array([id_text(v) for v in quarries["quarry_id"]], dtype=object)
    return [(str(x), str(y)) for x, y in zip(ids[a[keep]], ids[b[keep]])]


def partition_classify(quarries: gpd.GeoDataFrame, metrics: pd.DataFrame, scenario: Scenario,
                       group_ids: pd.Series) -> gpd.GeoDataFrame:
    """Decisions and reasons of one partition's quarries, with the city-wide groups."""
    return classify(quarries, metrics, scenario, group_ids=group_ids)


def district_sites(sources: Mapping[str, LayerSource | None], dem, district: District, whole: bool,
                   scenario: Scenario, kept: gpd.GeoDataFrame, kept_capacity: float, kept_count: int):
    """New sites of one district (:func:`wlgeo.engine.siting.propose_sites` on its layers, in the district's own zone)."""

    crs = district.crs
    window = None
    if not whole:
        b = gpd.GeoSeries([district.geometry], crs=_pack_crs(sources)).to_crs(crs).total_bounds
        window = _grow(tuple(float(v) for v in b), _SITING_MARGIN_M)
    layers = {}
    for name in SITING_LAYERS:
        source = sources.get(name)
        if source is None:
            continue
        frame = source.read(window, crs=crs)
        if name == "boundary" and not whole:
            frame = gpd.GeoDataFrame({"name": [district.name]}, geometry=gpd.GeoSeries(
                [district.geometry], crs=_pack_crs(sources)).to_crs(crs), crs=crs)
        layers[name] = frame
    return propose_sites(LayerPack(layers, dem=dem, working_crs=crs), scenario, kept=kept.to_crs(crs),
                         kept_capacity=kept_capacity, kept_count=kept_count)


def _pack_crs(sources: Mapping[str, LayerSource | None]) -> CRS:
    boundary = sources.get("boundary")
    return boundary.crs if boundary is not None else WORKING_CRS


# ---------------------------------------------------------------------------- partitioning
def make_partitions(quarries: gpd.GeoDataFrame, districts: np.ndarray, zones: Mapping[str, int], *,
                    partition_size: int | None) -> list[Partition]:
    """Split each district's quarries (reprojected to its zone) into runs of nearby quarries.

    Within a district quarries are ordered along a Hilbert curve of their centres and cut into
    partitions of at most ``partition_size`` (``None``: one partition per district).
    """
    out: list[Partition] = []
    for name in sorted(set(districts)):
        members = quarries[districts == name].to_crs(epsg=zones[name])
        if partition_size is None or len(members) <= partition_size:
            out.append(Partition(f"{name}/0", name, zones[name], members))
            continue
        order = np.argsort(members.geometry.hilbert_distance(total_bounds=members.total_bounds).to_numpy(),
                           kind="stable")
        for k, start in enumerate(range(0, len(members), partition_size)):
            chunk = members.iloc[np.sort(order[start:start + partition_size])]
            out.append(Partition(f"{name}/{k}", name, zones[name], chunk))
    return out


# ---------------------------------------------------------------------------- results
@dataclass
class DistrictPlan:
    """One district's plan, in its own zone."""

    name: str
    epsg: int
    quarries: gpd.GeoDataFrame
    consolidation_groups: gpd.GeoDataFrame
    new_sites: gpd.GeoDataFrame
    summary: pd.DataFrame
    caps: CapsCheck
    siting: Any = None


@dataclass
class CityPlan:
    """What :func:`plan_districts` computed."""

    districts: dict[str, DistrictPlan]
    quarries: gpd.GeoDataFrame  # in input order, in the districts' common output CRS
    notes: list[str] = field(default_factory=list)
    not_checked: dict[str, str] = field(default_factory=dict)
    partitions: int = 0
    largest_read: dict[str, int] = field(default_factory=dict)
    """Layer → most features one partition read of it (the memory a partition needs)."""
    timings: dict[str, float] = field(default_factory=dict)
    """Step (partition, metrics, links, classify, siting, summary) → seconds."""


def city_caps(districts: Mapping[str, DistrictPlan], scenario: Scenario) -> CapsCheck:
    """City totals of every district against ``[city_caps]`` (uncapped when the table is absent)."""
    caps = scenario.city_caps or {}
    plans = list(districts.values())
    return CapsCheck(
        max_quarries=caps.get("max_quarries"),
        max_total_capacity=caps.get("max_total_capacity"),
        quarries_before=sum(p.caps.quarries_before for p in plans),
        capacity_before=float(sum(p.caps.capacity_before for p in plans)),
        quarries_after=sum(p.caps.quarries_after for p in plans),
        capacity_after=float(sum(p.caps.capacity_after for p in plans)),
    )


def _check_ids(quarries: gpd.GeoDataFrame) -> np.ndarray:
    ids = np.array([id_text(v) for v in quarries["quarry_id"]], dtype=object)
    seen: set[str] = set()
    for value in ids:
        if value in seen:
            raise LayerError("quarry_id is not unique across the city (each id may appear once)", layer="quarries",
                             feature=value, field="quarry_id")
        seen.add(value)
    return ids


def plan_districts(
    quarries: gpd.GeoDataFrame,
    sources: Mapping[str, LayerSource | None],
    scenario: Scenario,
    *,
    executor: Any = None,
    partition_size: int | None = None,
    sites: bool = True,
    dem=None,
    empty_sites: Callable[[], gpd.GeoDataFrame] | None = None,
    progress: Callable[[str], None] | None = None,
) -> CityPlan:
    """Plan every district of a pack, partition by partition (see the module docstring).

    Parameters
    ----------
    quarries : the normalised quarries (``quarry_id`` text), in the pack's CRS.
    sources : every pack layer as a windowed reader (``boundary`` names the districts); a
        layer absent from the pack is missing or ``None``.
    scenario : the rules and caps (caps apply per district; ``city_caps`` city-wide).
    executor : :class:`LocalExecutor` (default) or the dask executor.
    partition_size : most quarries per partition (``None``: one partition per district).
    sites : propose new sites per district.
    dem : the DEM path for siting.
    """
    import time

    executor = executor or LocalExecutor()
    timings: dict[str, float] = {}
    last = [time.perf_counter()]

    def say(step: str) -> None:
        now = time.perf_counter()
        timings[step] = round(timings.get(step, 0.0) + now - last[0], 4)
        last[0] = now
        if progress is not None:
            progress(step)

    notes: list[str] = []
    boundary_source = sources.get("boundary")
    boundary = boundary_source.read() if boundary_source is not None else None
    districts = read_districts(boundary)
    whole = len(districts) <= 1
    if not districts:
        lonlat = quarries.geometry.to_crs(4490)

        districts = [District(DEFAULT_DISTRICT, shapely.union_all(quarries.geometry.values),
                              int(working_crs_for(lonlat).to_epsg()))]
    by_name = {d.name: d for d in districts}
    ids = _check_ids(quarries)
    if boundary is not None and boundary.crs is not None and quarries.crs is not None \
            and not CRS.from_user_input(boundary.crs).equals(CRS.from_user_input(quarries.crs)):
        quarries_b = quarries.to_crs(boundary.crs)
    else:
        quarries_b = quarries
    names, more = assign_districts(quarries_b, districts)
    notes.extend(more)
    zones = {d.name: d.epsg for d in districts}
    if len(districts) > 1:
        notes.append("districts and their working CRS: " + ", ".join(f"{d.name} EPSG:{d.epsg}" for d in districts))
    partitions = make_partitions(quarries, names, zones, partition_size=partition_size)
    log.info("%d partition(s) in %d district(s)", len(partitions), len(districts))
    say("partition")
    shared = executor.share(dict(sources))

    # 1. metrics per partition
    results = executor.map(partition_metrics, [p.quarries for p in partitions], [shared] * len(partitions),
                           [scenario] * len(partitions), [p.epsg for p in partitions])
    not_checked: dict[str, str] = {}
    largest: dict[str, int] = {}
    for metrics, _ in results:
        for layer, count in metrics.attrs.get("reads", {}).items():
            largest[layer] = max(largest.get(layer, 0), int(count))
        notes.extend(n for n in metrics.attrs.get("notes", []) if n not in notes)
        for rule, why in metrics.attrs.get("not_checked", {}).items():
            not_checked.setdefault(rule, why)
    say("metrics")

    # 2. links: each partition against its district's surviving quarries within merge distance
    surviving = {p.key: surv for p, (_, surv) in zip(partitions, results)}
    alive: dict[str, gpd.GeoDataFrame] = {}
    for name in zones:
        parts = [p.quarries[surviving[p.key]] for p in partitions if p.district == name]
        alive[name] = pd.concat(parts) if parts else partitions[0].quarries.iloc[:0]
    halos, owns = [], []
    for p in partitions:
        pool = alive[p.district]
        window = shapely.box(*_grow(p.bounds, scenario.merge_distance_m))
        near = pool[pool.geometry.intersects(window).to_numpy()] if len(pool) else pool
        own_ids = set(p.quarries.index[surviving[p.key]])
        halos.append(near)
        owns.append(np.array([i in own_ids for i in near.index], dtype=bool))
    link_lists = executor.map(partition_links, halos, owns, [scenario] * len(partitions))
    position = {q: i for i, q in enumerate(ids)}
    edges = {tuple(sorted(pair)) for links in link_lists for pair in links}
    a = np.array([position[x] for x, _ in sorted(edges)], dtype=int)
    b = np.array([position[y] for _, y in sorted(edges)], dtype=int)
    groups = pd.Series(canonical_group_ids(len(ids), a, b, ids), index=quarries.index, dtype=object)
    say("links")

    # 3. decisions per partition
    classified = executor.map(partition_classify, [p.quarries for p in partitions], [m for m, _ in results],
                              [scenario] * len(partitions), [groups.loc[p.quarries.index] for p in partitions])
    for frame in classified:
        notes.extend(n for n in frame.attrs.get("notes", []) if n not in notes)
    say("classify")

    # 4. per district: groups, sites, summary, caps
    plans: dict[str, DistrictPlan] = {}
    site_jobs = []
    towns_source = sources.get("towns")
    per_district: dict[str, tuple] = {}
    for name, district in by_name.items():
        frames = [c for p, c in zip(partitions, classified) if p.district == name]
        if not frames:
            continue
        done = pd.concat(frames)
        done = done.loc[[i for i in quarries.index if i in done.index]]
        done.attrs = {}
        towns = None if towns_source is None else towns_source.read(crs=CRS.from_epsg(district.epsg))
        town_of = quarry_towns(done, towns)
        if town_of.attrs.get("by_overlap"):
            note = f"{town_of.attrs['by_overlap']} quarries had no town value: placed in the town polygon holding most of them"
            notes.append(note if whole else f"{name}: {note}")
        groups_d = consolidation_groups(done, towns=town_of)
        per_district[name] = (done, towns, town_of, groups_d)
        if sites:
            kept_mask = done["decision"].isin(["retain", "consolidate"]).to_numpy()
            kept = done[kept_mask]
            capacity = pd.to_numeric(kept["capacity"], errors="coerce").fillna(0.0)
            kept_count = int((kept["decision"] == "retain").sum()) + len(groups_d)
            site_jobs.append((name, kept, float(capacity.sum()), kept_count))
    siting = {}
    if site_jobs:
        found = executor.map(district_sites, [shared] * len(site_jobs), [dem] * len(site_jobs),
                             [by_name[j[0]] for j in site_jobs], [whole] * len(site_jobs),
                             [scenario] * len(site_jobs), [j[1] for j in site_jobs], [j[2] for j in site_jobs],
                             [j[3] for j in site_jobs])
        for (name, *_), result in zip(site_jobs, found):
            siting[name] = result
            prefix = "siting: " if whole else f"siting ({name}): "
            notes.extend(f"{prefix}{n}" for n in result.notes if f"{prefix}{n}" not in notes)
            for key, why in result.not_checked.items():
                not_checked.setdefault(f"siting.{key}", why)
        say("siting")
    for name, (done, towns, town_of, groups_d) in per_district.items():
        epsg = by_name[name].epsg
        if name in siting:
            new_sites = siting[name].new_sites.to_crs(epsg=epsg)
        else:
            new_sites = empty_sites() if empty_sites is not None else gpd.GeoDataFrame(geometry=[], crs=epsg)
            new_sites = new_sites.to_crs(epsg=epsg)
        summary = summary_table(done, towns=towns, new_sites=new_sites, town_of=town_of)
        plans[name] = DistrictPlan(name, epsg, done, groups_d, new_sites, summary, check_caps(summary, scenario),
                                   siting.get(name))
    say("summary")
    if whole:
        only = next(iter(plans.values()))
        city = only.quarries
    else:
        city = pd.concat([_with_district(p.quarries, p.name).to_crs(CITY_CRS) for p in plans.values()])
        city = city.loc[list(quarries.index)]
    log.info("planned %d district(s) in %d partition(s) with the %s engine", len(plans), len(partitions),
             getattr(executor, "name", "local"))
    return CityPlan(plans, city, notes, not_checked, len(partitions), largest, timings)


def _with_district(frame: gpd.GeoDataFrame, name: str) -> gpd.GeoDataFrame:
    out = frame.copy()
    out.insert(0, DISTRICT_COLUMN, name)
    return out


def _isnan(value) -> bool:
    return isinstance(value, float) and math.isnan(value)
