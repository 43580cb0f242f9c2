"""Planning: :func:`plan` reads a pack (or takes one), normalises the quarries and runs the
engine — in this process, by partitions, or on a dask cluster — into a :class:`PlanResult`.
Nothing is written (that is :mod:`wlgeo.runs.writer`).

Examples
--------
>>> import wlgeo
>>> result = wlgeo.plan("layers/wulong.gpkg", "strict")  # doctest: +SKIP
>>> result.counts()  # doctest: +SKIP
{'close': 31, 'expire': 52, 'retain': 40, 'consolidate': 27}
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from os import PathLike
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
from pyproj import CRS

from wlgeo.engine.classify import classify_records, consolidation_groups
from wlgeo.engine.overlay import constraint_metrics, protected_kinds
from wlgeo.engine.result import PlanResult, empty_sites
from wlgeo.engine.summary import check_caps, quarry_towns, summary_table
from wlgeo.io.pack import read_pack
from wlgeo.io.read import file_sha256
from wlgeo.model.crs import crs_label
from wlgeo.model.errors import PackError, WlgeoError
from wlgeo.model.pack import LayerPack
from wlgeo.model.resources import current_budget, using_budget
from wlgeo.model.scenario import Scenario, load_scenario
from wlgeo.model.timing import StepClock
from wlgeo.model.values import id_text
from wlgeo.engine.districts import read_districts
from wlgeo.engine.overlay import corridor_lines
from wlgeo.engine.partitions import CITY_CRS, DISTRICT_COLUMN, LocalExecutor, city_caps, plan_districts
from wlgeo.engine.siting import propose_sites
from wlgeo.engine.siting import read_dem
from wlgeo.engine.visibility import quarry_visibility
from wlgeo.io.pack import lazy_source, pack_sources, read_source
from wlgeo.io.validate import normalise_quarries
from wlgeo.model.resources import parse_memory_limit
from wlgeo.model.sources import FrameSource

__all__ = ["plan", "engine_budget", "ENGINES", "plan_partitioned", "open_pack", "PlanResult", "LOCAL_PARTITION_FEATURES", "plan_on_cluster"]

log = logging.getLogger(__name__)




def _working_quarries(pack: LayerPack, notes: list[str]) -> gpd.GeoDataFrame:
    quarries = pack.get("quarries")
    if quarries is None:
        raise PackError("the pack has no 'quarries' layer (mandatory)", path=pack.source, layer="quarries")
    normalise_quarries(quarries)  # refuses what validation reports as an error (names the feature)
    ids = [id_text(v) for v in quarries["quarry_id"]]
    if any(not isinstance(v, str) or v != t for v, t in zip(quarries["quarry_id"], ids)):
        notes.append("quarry_id values written as text (a spreadsheet's 1.0 is id '1')")
        quarries = quarries.copy()
        quarries["quarry_id"] = pd.Series(ids, index=quarries.index, dtype=object)
    working = pack.working_crs
    if quarries.crs is None:
        notes.append(f"quarries have no CRS: taken as {crs_label(working)} (the working CRS)")
        return quarries.set_crs(working)
    if CRS.from_user_input(quarries.crs) != CRS.from_user_input(working):
        notes.append(f"quarries were in {quarries.crs.to_string()}: reprojected to {crs_label(working)}")
        return quarries.to_crs(working)
    return quarries


def _protected_kinds(quarries: gpd.GeoDataFrame, metrics: pd.DataFrame, pack: LayerPack, scenario: Scenario) -> pd.Series:
    """Kinds of the closing protected areas each quarry overlaps by more than ``min_overlap_m2``."""
    m2 = metrics["protected_m2"] if "protected_m2" in metrics.columns else None
    return protected_kinds(quarries, m2, pack.get("protected_areas"), scenario, crs=quarries.crs)


#: The engines a plan runs on.
ENGINES = ("local", "dask")


def engine_budget(engine: str, memory_limit: int | str | None) -> tuple[int | str | None, Any]:
    """``(memory_limit, budget)`` for a plan on ``engine``: the limit as the engine takes it and the
    memory budget this process plans under.

    Locally the limit is this process's budget (default: the budget in force). With dask it is
    each worker's (text such as ``"2GiB"`` read as bytes here) and this process keeps the budget
    in force. An unknown engine is refused.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be 'local' or 'dask', got {engine!r}")
    if engine == "dask":
        limit = parse_memory_limit(memory_limit) if isinstance(memory_limit, str) else memory_limit
        return limit, current_budget()
    return memory_limit, current_budget() if memory_limit is None else memory_limit


def plan(
    pack: LayerPack | str | PathLike,
    scenario: Scenario | str | PathLike | None = None,
    *,
    sites: bool = True,
    engine: str = "local",
    client: Any = None,
    workers: int | None = None,
    memory_limit: int | str | None = None,
    scheduler: str | None = None,
    partition_size: int | None = None,
) -> PlanResult:
    """Classify every quarry, build the consolidation groups and check the caps.

    Parameters
    ----------
    pack : a :class:`~wlgeo.LayerPack`, or the path of a pack GeoPackage or catalog TOML.
    scenario : a :class:`~wlgeo.Scenario`, a preset name, a scenario TOML path, or ``None``
        for the ``baseline`` preset.
    sites : propose new sites (:func:`wlgeo.engine.siting.propose_sites`; without a DEM slope is not
        checked); ``False`` skips siting (faster, e.g. for parameter sweeps of the exit rules)
        and leaves ``new_sites`` empty.
    memory_limit : memory budget (``"2GiB"``, bytes, or a :class:`~wlgeo.model.resources.MemoryBudget`);
        default the budget in force (:func:`wlgeo.model.resources.using_budget`), else half of the
        available memory. The siting grid, distance transforms, buffers and consolidation pairs
        are sized first and refused (:class:`~wlgeo.model.resources.ResourceError`) when over it.
    engine : ``"local"`` (this process) or ``"dask"`` (partitions as tasks on a dask.distributed
        cluster: ``client``, or a scheduler address ``scheduler``, or a local cluster of
        ``workers`` processes with ``memory_limit`` each, shut down afterwards). The results are
        the same: decisions, reasons, canonical group ids, areas and distances, caps.
    partition_size : most quarries per partition (dask default: about four partitions per worker;
        local default: one partition per district, or windows of about 100 000 constraint
        features when the overlap layers hold more than 250 000).

    A pack whose ``boundary`` holds several districts (``district`` field) is planned district
    by district (:mod:`wlgeo.engine.partitions`): each in its own 3-degree zone, caps per district (and
    ``[city_caps]`` city-wide), consolidation within a district; ``quarries`` then carries a
    ``district`` column and the city-wide frames are in EPSG:4490.

    Returns
    -------
    PlanResult

    Raises
    ------
    PackError
        The pack has no quarries layer.
    LayerError
        A quarry has a value validation calls an error (names the feature and field).
    ScenarioError
        The scenario is unknown or invalid.
    ResourceError
        A step would need more memory than ``memory_limit``.
    """
    memory_limit, budget = engine_budget(engine, memory_limit)
    with using_budget(budget):
        return _plan(pack, scenario, sites=sites, engine=engine, client=client, workers=workers,
                     memory_limit=memory_limit, scheduler=scheduler, partition_size=partition_size)


def _plan(pack: LayerPack | str | PathLike, scenario: Scenario | str | PathLike | None, *, sites: bool,
          engine: str, client: Any, workers: int | None, memory_limit: int | str | None, scheduler: str | None,
          partition_size: int | None) -> PlanResult:
    clock = StepClock()
    scenario = load_scenario(scenario)
    if engine == "dask":
        lazy: dict = {}
        if not isinstance(pack, LayerPack):
            pack, lazy = open_pack(pack)
            clock.done("read")
        return plan_on_cluster(pack, lazy, scenario, client=client, workers=workers, memory_limit=memory_limit,
                                scheduler=scheduler, sites=sites, partition_size=partition_size, clock=clock)
    if not isinstance(pack, LayerPack):
        pack = read_pack(pack)
        clock.done("read")
    size = _local_partition_size(pack) if partition_size is None else partition_size
    if _district_count(pack) > 1 or size is not None:
        return plan_partitioned(pack, scenario, sites=sites, partition_size=size, clock=clock)
    notes: list[str] = list(scenario.notes)
    quarries = _working_quarries(pack, notes)
    clock.done("normalise")

    metrics = constraint_metrics(quarries, pack, scenario)
    metrics["protected_kinds"] = _protected_kinds(quarries, metrics, pack, scenario)
    clock.done("overlay")
    visibility = None
    if scenario.visibility.enabled:
        sight, visibility = _sight(quarries, pack, scenario, notes)
        for column in sight.columns:
            metrics[column] = sight[column]
        clock.done("visibility")
    classified, reasons = classify_records(quarries, metrics, scenario)
    notes.extend(n for n in classified.attrs.get("notes", []) if n not in notes)
    not_checked = dict(classified.attrs.get("not_checked", {}))
    clock.done("classify")

    towns = pack.get("towns")
    town_of = quarry_towns(classified, towns)
    if town_of.attrs.get("by_overlap"):
        notes.append(f"{town_of.attrs['by_overlap']} quarries had no town value: placed in the town polygon holding most of them")
    groups = consolidation_groups(classified, towns=town_of)
    clock.done("consolidate")

    new_sites, siting = empty_sites(pack.working_crs), None
    if sites:
        siting = _propose(pack, scenario, classified, groups, notes, not_checked)
        new_sites = siting.new_sites
        clock.done("siting")

    summary = summary_table(classified, towns=towns, new_sites=new_sites, town_of=town_of)
    caps = check_caps(summary, scenario)
    clock.done("summary")
    classified.attrs = {}
    result = PlanResult(
        quarries=classified,
        consolidation_groups=groups,
        new_sites=new_sites,
        summary=summary,
        caps=caps,
        scenario=scenario,
        provenance=dict(pack.provenance),
        not_checked=not_checked,
        notes=notes,
        timings=clock.timings,
        source=Path(pack.source) if pack.source is not None else None,
        siting=siting,
        visibility=visibility,
        reasons=reasons,
    )
    log.info("plan %s: %s; %s", scenario.name, result.counts(), caps.to_text())
    return result


def _sight(quarries: gpd.GeoDataFrame, pack: LayerPack, scenario: Scenario,
           notes: list[str]) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Line-of-sight figures of every quarry (:func:`wlgeo.engine.visibility.quarry_visibility`) and a summary."""

    params = scenario.visibility
    if pack.dem is None:
        raise PackError(
            "the scenario enables [visibility] (line of sight for 三区两线) but the pack has no DEM; add [dem] to the "
            "catalog or <pack>.dem.tif beside the GeoPackage, or set visibility.enabled = false",
            path=pack.source, layer="dem")
    lines, line_notes = corridor_lines(pack, scenario)
    notes.extend(n for n in line_notes if n not in notes)
    reach = params.max_distance_m
    minx, miny, maxx, maxy = (float(v) for v in quarries.total_bounds)
    grid, dem, dem_notes = read_dem(pack.dem, clip_to=(minx - reach, miny - reach, maxx + reach, maxy + reach),
                                    crs=pack.working_crs)
    notes.extend(n for n in dem_notes if n not in notes)
    sight = quarry_visibility(quarries, lines, dem, grid, params)
    notes.extend(n for n in sight.attrs.get("notes", []) if n not in notes)
    summary: dict[str, Any] = {**params.to_dict(), "dem_cell_m": grid.cell_x, "targets": sight.attrs.get("targets"),
                               "sight_lines": sight.attrs.get("pairs")}
    for category, frame in lines.items():
        states = sight[f"{category}_sight"].value_counts()
        summary[category] = {state: int(states.get(state, 0))
                             for state in ("visible", "hidden", "not_checked", "out_of_range")}
        if frame is None:
            summary[category]["lines"] = 0
    parts = [f"{c}: " + ", ".join(f"{k} {v}" for k, v in summary[c].items() if k != "lines") for c in lines]
    notes.append(f"visibility: line of sight within {reach:g} m (eye {params.observer_height_m:g} m, quarry face "
                 f"{params.target_height_m:g} m, DEM {grid.cell_x:g} m) replaces the trunk_line_m / main_river_m "
                 "corridors — " + "; ".join(parts))
    return sight, summary


def plan_on_cluster(pack: LayerPack, lazy: Mapping[str, Any], scenario: Scenario, *, client: Any,
                     workers: int | None, memory_limit: int | str | None, scheduler: str | None, sites: bool,
                     partition_size: int | None, clock: StepClock | None = None) -> PlanResult:
    """:func:`plan_partitioned` on a dask cluster (the user's, or a local one started and closed here),
    after checking that its workers can see the files they will read."""
    from wlgeo.engine.cluster import check_files_visible, dask_executor

    clock = clock or StepClock()
    with dask_executor(client, workers=workers, memory_limit=memory_limit, scheduler=scheduler) as executor:
        files = [f for source in lazy.values() for f in source.files]
        if pack.dem is not None and sites:
            files.append(Path(pack.dem))
        check_files_visible(executor, files)
        clock.done("cluster")
        return plan_partitioned(pack, scenario, executor=executor, lazy=lazy, sites=sites,
                                partition_size=partition_size, clock=clock)


#: Above this many features in the overlap layers the local engine plans by partitions, so that
#: its memory follows one partition's window rather than the whole layer (same results).
LOCAL_PARTITION_FEATURES = 250_000
_WINDOW_FEATURES = 100_000  # aim: about this many overlap features in one partition's window


def _local_partition_size(pack: LayerPack) -> int | None:
    features = sum(len(pack[name]) for name in ("red_line", "farmland", "protected_areas") if name in pack)
    quarries = len(pack["quarries"]) if "quarries" in pack else 0
    if features <= LOCAL_PARTITION_FEATURES or not quarries:
        return None
    return max(200, -(-quarries * _WINDOW_FEATURES // features))


def _district_count(pack: LayerPack) -> int:
    return len(read_districts(pack.get("boundary")))


def open_pack(path: str | PathLike) -> tuple[LayerPack, dict]:
    """The pack's small layers read here, and its GeoParquet/PostGIS layers as windowed sources
    (:mod:`wlgeo.io.sources`) for the workers to read."""

    sources = pack_sources(path)
    layers, lazy = {}, {}
    for entry in sources.entries:
        source = lazy_source(entry) or _big_vector(entry)
        if source is None:
            layers[entry.name] = read_source(entry)
        else:
            lazy[entry.name] = source
    pack = sources.to_pack(layers)
    for name, source in lazy.items():
        entry = {"source": source.describe(), "read": "by window, in the workers"}
        path = getattr(source, "path", None)
        if path is not None:
            entry.update(path=str(path), layer=None, sha256=file_sha256(Path(path)))
        pack.provenance[name] = entry
    return pack, lazy


def _big_vector(entry):
    """A huge GeoPackage/shapefile overlap layer with a declared CRS, as a windowed reader."""
    from wlgeo.io.sources import VectorSource

    if entry.name not in ("red_line", "farmland", "protected_areas") or entry.path.suffix.lower() not in (
            ".gpkg", ".shp") or entry.options.get("crs") or entry.options.get("gcj02"):
        return None
    try:
        source = VectorSource(entry.path, layer=entry.options.get("layer"), name=entry.name,
                              encoding=entry.options.get("encoding"))
    except WlgeoError:
        return None  # let the reading funnel say what is wrong
    return source if source.rows > LOCAL_PARTITION_FEATURES else None


def plan_partitioned(
    pack: LayerPack,
    scenario: Scenario,
    *,
    executor: Any = None,
    lazy: Mapping[str, Any] | None = None,
    sites: bool = True,
    partition_size: int | None = None,
    clock: StepClock | None = None,
) -> PlanResult:
    """:func:`plan` district by district and partition by partition (:func:`wlgeo.engine.partitions.plan_districts`).

    ``lazy`` holds layers read by window (GeoParquet, PostGIS) beside the pack's in-memory ones.
    """

    clock = clock or StepClock()
    executor = executor or LocalExecutor()
    notes: list[str] = list(scenario.notes)
    quarries = _working_quarries(pack, notes)
    clock.done("normalise")
    sources: dict[str, Any] = {name: FrameSource(frame, name) for name, frame in pack.layers.items()
                               if name != "quarries" and frame.crs is not None}
    sources.update(lazy or {})
    if partition_size is None and getattr(executor, "name", "local") == "dask":
        # about four partitions per worker, smaller when the overlap layers are big (a window of
        # about 100 000 constraint features each), so a worker's memory follows its window
        partition_size = max(50, -(-len(quarries) // (4 * max(1, executor.workers))))
        features = sum(len(pack[n]) for n in ("red_line", "farmland", "protected_areas") if n in pack)
        features += sum(getattr(source, "rows", 0) for source in (lazy or {}).values())
        if features > LOCAL_PARTITION_FEATURES and len(quarries):
            partition_size = min(partition_size, max(50, -(-len(quarries) * _WINDOW_FEATURES // features)))
    city = plan_districts(quarries, sources, scenario, executor=executor, partition_size=partition_size, sites=sites,
                          dem=pack.dem, empty_sites=empty_sites)
    clock.done("plan")
    clock.timings.update({f"engine.{k}": v for k, v in city.timings.items()})
    notes.extend(n for n in city.notes if n not in notes)
    districts = city.districts
    if len(districts) == 1:
        only = next(iter(districts.values()))
        groups, new_sites, summary, caps, siting = (only.consolidation_groups, only.new_sites, only.summary,
                                                    only.caps, only.siting)
        per_district: dict[str, Any] = {}
    else:
        def tagged(frame, name):
            out = frame.to_crs(CITY_CRS)
            out.insert(0, DISTRICT_COLUMN, name)
            return out

        groups = pd.concat([tagged(d.consolidation_groups, n) for n, d in districts.items()], ignore_index=True)
        new_sites = pd.concat([tagged(d.new_sites, n) for n, d in districts.items()], ignore_index=True)
        summary = pd.concat([d.summary.assign(**{DISTRICT_COLUMN: n})[[DISTRICT_COLUMN, *d.summary.columns]]
                             for n, d in districts.items()], ignore_index=True)
        caps, siting, per_district = city_caps(districts, scenario), None, dict(districts)
    classified = city.quarries
    classified.attrs = {}
    result = PlanResult(
        quarries=classified,
        consolidation_groups=groups,
        new_sites=new_sites,
        summary=summary,
        caps=caps,
        scenario=scenario,
        provenance=dict(pack.provenance),
        not_checked=dict(city.not_checked),
        notes=notes,
        timings=clock.timings,
        source=Path(pack.source) if pack.source is not None else None,
        siting=siting,
        districts=per_district,
        engine=getattr(executor, "name", "local"),
        partitions={"count": city.partitions, "size": partition_size, "largest_read": dict(city.largest_read),
                    "workers": getattr(executor, "workers", 1)},
    )
    log.info("plan %s (%s engine, %d partitions): %s", scenario.name, result.engine, city.partitions, result.counts())
    return result


def _propose(pack, scenario, classified, groups, notes, not_checked):
    kept_mask = classified["decision"].isin(["retain", "consolidate"]).to_numpy()
    kept = classified[kept_mask]
    capacity = pd.to_numeric(kept["capacity"], errors="coerce").fillna(0.0)
    kept_count = int((kept["decision"] == "retain").sum()) + len(groups)
    found = propose_sites(pack, scenario, kept=kept, kept_capacity=float(capacity.sum()), kept_count=kept_count)
    notes.extend(f"siting: {n}" for n in found.notes if f"siting: {n}" not in notes)
    for key, why in found.not_checked.items():
        not_checked.setdefault(f"siting.{key}", why)
    return found
