"""The plan: :func:`plan` computes it, :func:`run` writes it.

``plan(pack, scenario)`` → :class:`PlanResult`: constraint metrics (:mod:`wlgeo.engine.overlay`), the
decisions and consolidation groups (:mod:`wlgeo.engine.classify`), new sites, the summary and the caps
(:mod:`wlgeo.engine.summary`). Nothing is written.

``run(pack, scenario=..., out_dir=...)`` refuses a pack that fails validation, runs the plan and
writes into ``out_dir`` (new or empty, unless ``overwrite``):

- ``plan.gpkg`` — ``quarries``, ``new_sites``, ``consolidation_groups`` and the context and
  constraint layers used, styled, with the run's metadata;
- ``summary_towns.csv`` (decision × town), ``caps.csv`` (one row per cap), ``not_checked.csv``
  (when a rule's layer is absent; UTF-8 with BOM) and ``summary.xlsx`` (all as sheets);
- ``manifest.json`` — input files and their SHA-256, the scenario, package versions, timings,
  rules not checked, notes.

Every file is written under a temporary name in ``out_dir`` and renamed when complete; the input
files are only read.

Examples
--------
>>> import wlgeo
>>> result = wlgeo.plan("layers/wulong.gpkg", "strict")  # doctest: +SKIP
>>> result.counts()  # doctest: +SKIP
{'close': 31, 'expire': 52, 'retain': 40, 'consolidate': 27}
>>> wlgeo.run("layers/wulong.gpkg", scenario="baseline", out_dir="out/2025")  # doctest: +SKIP
PosixPath('out/2025')
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import platform
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import metadata as _metadata
from os import PathLike
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from wlgeo.engine.classify import classify_records, consolidation_groups
from wlgeo.model.crs import WORKING_CRS, crs_label
from wlgeo.model.errors import OutputError, PackError, WlgeoError
from wlgeo.io.pack import LayerPack, read_pack
from wlgeo.io.read import file_sha256
from wlgeo.engine.overlay import constraint_metrics, protected_kinds
from wlgeo.engine.summary import CapsCheck, check_caps, decision_counts, quarry_towns, summary_table
from wlgeo.io.atomic import atomic_write
from wlgeo.products.tables import not_checked_table, write_caps_csv, write_csv, write_summary_csv, write_summary_xlsx
from wlgeo.model.resources import current_budget, using_budget
from wlgeo.model.scenario import Scenario, load_scenario
from wlgeo.model.values import id_text

__all__ = [
    "PlanResult",
    "RunOutput",
    "plan",
    "run",
    "run_plan",
    "run_demo",
    "demo_pack_path",
    "DEMO_OUT",
    "PLAN_FILE",
    "SUMMARY_CSV",
    "CAPS_CSV",
    "NOT_CHECKED_CSV",
    "SUMMARY_XLSX",
    "MANIFEST",
    "CONTEXT_LAYERS",
]

log = logging.getLogger(__name__)

PLAN_FILE = "plan.gpkg"
SUMMARY_CSV = "summary_towns.csv"
CAPS_CSV = "caps.csv"
NOT_CHECKED_CSV = "not_checked.csv"
SUMMARY_XLSX = "summary.xlsx"
MANIFEST = "manifest.json"
MAP_FILE = "map.html"
SHEET_STEM = "sheet"  # sheet.png and sheet.pdf
SUITABILITY_FILE = "suitability.tif"
RUN_FILES = (PLAN_FILE, MAP_FILE, f"{SHEET_STEM}.png", f"{SHEET_STEM}.pdf", SUITABILITY_FILE, SUMMARY_CSV,
             CAPS_CSV, NOT_CHECKED_CSV, SUMMARY_XLSX, MANIFEST, "plan.parquet")
"""Every file a run may write into its output directory."""
#: Pack layers copied into ``plan.gpkg`` beside the results: the constraints the rules used and
#: the context a sheet or an export needs (parks, bases, ports, resource zones, blocks).
CONTEXT_LAYERS = ("boundary", "towns", "red_line", "farmland", "protected_areas", "settlements", "roads", "rivers",
                  "parks", "bases", "ports", "resource_zones", "planning_blocks")
#: Packages whose versions the manifest records.
_PACKAGES = ("wlgeo", "geopandas", "shapely", "pyogrio", "pyproj", "rasterio", "pandas", "numpy", "scipy",
             "openpyxl")


@dataclass
class PlanResult:
    """Everything :func:`plan` computed.

    Attributes
    ----------
    quarries : every input quarry, geometry and attributes unchanged, plus ``decision``,
        ``decision_zh``, ``reasons``, the metric columns and ``group_id`` (DESIGN §4).
    consolidation_groups : one merged footprint per group (``group_id``, ``members``,
        ``n_members``, ``capacity``, ``towns``).
    new_sites : proposed sites (decision ``new``); empty when siting was off or found no room.
    summary : counts and capacity by decision × town (:func:`wlgeo.engine.summary.summary_table`).
    caps : the caps check (:class:`wlgeo.engine.summary.CapsCheck`).
    scenario : the scenario used.
    provenance : where each layer came from (path, layer, sha256, read notes).
    not_checked : rule → why it was not applied (its layer is absent).
    notes : what was assumed or normalised along the way.
    timings : step → seconds.
    source : the pack file, if the pack came from one.
    siting : the :class:`wlgeo.engine.siting.SitingResult` (grid, suitability, factors, mask) when
        siting ran, else ``None``.
    visibility : with ``[visibility] enabled``, what the line-of-sight test found (parameters,
        quarries visible / hidden / not checked per kind of line, sight lines cast), else ``None``.
    reasons : each quarry's :class:`~wlgeo.model.reasons.Reason` records (tuples aligned to
        ``quarries.index``) when kept from the classifier, else ``None``; read them with
        :func:`wlgeo.model.reasons.reasons_of`.
    """

    quarries: gpd.GeoDataFrame
    consolidation_groups: gpd.GeoDataFrame
    new_sites: gpd.GeoDataFrame
    summary: pd.DataFrame
    caps: CapsCheck
    scenario: Scenario
    provenance: dict[str, Any] = field(default_factory=dict)
    not_checked: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    source: Path | None = None
    siting: Any = None
    visibility: dict[str, Any] | None = None
    districts: dict[str, Any] = field(default_factory=dict)
    engine: str = "local"
    partitions: dict[str, Any] = field(default_factory=dict)
    reasons: pd.Series | None = None

    @property
    def caps_ok(self) -> bool:
        """Every cap met: the caps (city totals for a city) and, for a city, every district's."""
        return self.caps.ok and all(d.caps.ok for d in self.districts.values())

    def counts(self) -> dict[str, int]:
        """Number of quarries per decision (close, expire, retain, consolidate)."""
        return decision_counts(self.quarries)

    def to_text(self) -> str:
        """A short report: counts per decision, groups, new sites (and how they were chosen), the
        line-of-sight test when on, caps, rules not checked."""
        counts = ", ".join(f"{d} {n}" for d, n in self.counts().items())
        lines = [
            f"scenario {self.scenario.name}: {len(self.quarries)} quarries — {counts}",
            f"{len(self.consolidation_groups)} consolidation group(s), {len(self.new_sites)} new site(s)",
        ]
        selection = getattr(self.siting, "selection", None)
        if selection is not None:
            lines.insert(2, f"new sites by {selection.to_text()}")
        if self.visibility:
            seen = "; ".join(f"{kind} visible {v['visible']}, hidden {v['hidden']}, not checked {v['not_checked']}"
                             for kind, v in self.visibility.items() if kind in ("trunk_line", "main_river"))
            lines.insert(2, f"三区两线 by line of sight within {self.visibility['max_distance_m']:g} m: {seen}")
        for name, district in self.districts.items():
            lines.append(f"district {name} (EPSG:{district.epsg}): {district.caps.to_text()}")
        lines.append(("city " if self.districts else "") + self.caps.to_text())
        for rule, why in self.not_checked.items():
            lines.append(f"not checked: {rule} ({why})")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"PlanResult({self.scenario.name!r}: {self.counts()}, groups={len(self.consolidation_groups)})"


class _Clock:
    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self._last = time.perf_counter()

    def done(self, step: str) -> None:
        now = time.perf_counter()
        self.timings[step] = round(self.timings.get(step, 0.0) + now - self._last, 4)
        self._last = now


# ---------------------------------------------------------------------------- plan
def _working_quarries(pack: LayerPack, notes: list[str]) -> gpd.GeoDataFrame:
    from wlgeo.io.validate import normalise_quarries

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


def _empty_sites(crs=WORKING_CRS) -> gpd.GeoDataFrame:
    from wlgeo.engine.siting import SITE_COLUMNS

    numeric = {"score", "capacity", "area_m2", "slope_deg", "road_m", "park_m", "port_m"}
    cols = {c: pd.Series(dtype="float64" if c in numeric else "object") for c in SITE_COLUMNS}
    return gpd.GeoDataFrame(cols, geometry=gpd.GeoSeries([], crs=crs), crs=crs)


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
    if engine not in ("local", "dask"):
        raise ValueError(f"engine must be 'local' or 'dask', got {engine!r}")
    if engine == "dask" and isinstance(memory_limit, str):
        from wlgeo.model.resources import parse_memory_limit

        memory_limit = parse_memory_limit(memory_limit)
    budget = current_budget() if memory_limit is None or engine == "dask" else memory_limit
    with using_budget(budget):  # with dask, memory_limit is each worker's
        return _plan(pack, scenario, sites=sites, engine=engine, client=client, workers=workers,
                     memory_limit=memory_limit, scheduler=scheduler, partition_size=partition_size)


def _plan(pack: LayerPack | str | PathLike, scenario: Scenario | str | PathLike | None, *, sites: bool,
          engine: str, client: Any, workers: int | None, memory_limit: int | str | None, scheduler: str | None,
          partition_size: int | None) -> PlanResult:
    clock = _Clock()
    scenario = load_scenario(scenario)
    if engine == "dask":
        lazy: dict = {}
        if not isinstance(pack, LayerPack):
            pack, lazy = open_pack(pack)
            clock.done("read")
        return _plan_on_cluster(pack, lazy, scenario, client=client, workers=workers, memory_limit=memory_limit,
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

    new_sites, siting = _empty_sites(pack.working_crs), None
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
    from wlgeo.engine.overlay import corridor_lines
    from wlgeo.engine.siting import read_dem
    from wlgeo.engine.visibility import quarry_visibility

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


def _plan_on_cluster(pack: LayerPack, lazy: Mapping[str, Any], scenario: Scenario, *, client: Any,
                     workers: int | None, memory_limit: int | str | None, scheduler: str | None, sites: bool,
                     partition_size: int | None, clock: _Clock | None = None) -> PlanResult:
    """:func:`plan_partitioned` on a dask cluster (the user's, or a local one started and closed here),
    after checking that its workers can see the files they will read."""
    from wlgeo.engine.cluster import check_files_visible, dask_executor

    clock = clock or _Clock()
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
    from wlgeo.engine.districts import read_districts

    return len(read_districts(pack.get("boundary")))


def open_pack(path: str | PathLike) -> tuple[LayerPack, dict]:
    """The pack's small layers read here, and its GeoParquet/PostGIS layers as windowed sources
    (:mod:`wlgeo.io.sources`) for the workers to read."""
    from wlgeo.io.pack import lazy_source, pack_sources, read_source

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
    clock: _Clock | None = None,
) -> PlanResult:
    """:func:`plan` district by district and partition by partition (:func:`wlgeo.engine.partitions.plan_districts`).

    ``lazy`` holds layers read by window (GeoParquet, PostGIS) beside the pack's in-memory ones.
    """
    from wlgeo.engine.partitions import CITY_CRS, DISTRICT_COLUMN, LocalExecutor, city_caps, plan_districts
    from wlgeo.io.sources import FrameSource

    clock = clock or _Clock()
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
                          dem=pack.dem, empty_sites=_empty_sites)
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
    from wlgeo.engine.siting import propose_sites

    kept_mask = classified["decision"].isin(["retain", "consolidate"]).to_numpy()
    kept = classified[kept_mask]
    capacity = pd.to_numeric(kept["capacity"], errors="coerce").fillna(0.0)
    kept_count = int((kept["decision"] == "retain").sum()) + len(groups)
    found = propose_sites(pack, scenario, kept=kept, kept_capacity=float(capacity.sum()), kept_count=kept_count)
    notes.extend(f"siting: {n}" for n in found.notes if f"siting: {n}" not in notes)
    for key, why in found.not_checked.items():
        not_checked.setdefault(f"siting.{key}", why)
    return found


# ---------------------------------------------------------------------------- run
def _versions() -> dict[str, str | None]:
    import pyogrio
    import pyproj

    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = _metadata.version(name)
        except _metadata.PackageNotFoundError:
            out[name] = None
    out["GDAL"] = pyogrio.__gdal_version_string__
    out["GEOS"] = shapely.geos_version_string
    out["PROJ"] = pyproj.proj_version_str
    return out


def _check_out_dir(out_dir: Path, *, overwrite: bool) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError("exists and is not a directory", path=out_dir)
    if out_dir.is_dir() and any(out_dir.iterdir()) and not overwrite:
        raise OutputError("is not empty; choose a new directory or pass {option}", path=out_dir, option="overwrite")


def _input_files(pack: LayerPack | str | PathLike, scenario_file: Path | None) -> set[Path]:
    """Every file the run reads (resolved): the pack, its layer files, the DEM, the scenario."""
    from wlgeo.io.pack import pack_sources

    files: set[Path] = set()
    if isinstance(pack, LayerPack):
        if pack.source is not None:
            files.add(Path(pack.source))
        files.update(Path(path) for name, entry in pack.provenance.items()
                     if not name.startswith("_") and isinstance(entry, dict) and "path" in entry
                     for path in entry.get("paths") or [entry["path"]])
    else:
        sources = pack_sources(pack)
        files.add(sources.source)
        files.update(path for entry in sources.entries for path in entry.files)
        if sources.dem is not None:
            files.add(sources.dem)
    if scenario_file is not None:
        files.add(scenario_file)
    return {path.resolve() for path in files}


def _refuse_inputs_as_outputs(pack: LayerPack | str | PathLike, scenario_file: Path | None, out_dir: Path) -> None:
    """Raise :class:`OutputError` when a run output would land on one of its input files.

    ``wlgeo run RUN/plan.gpkg --out RUN --overwrite`` would otherwise replace the pack it reads.
    """
    outputs = {(out_dir / name).resolve(): name for name in RUN_FILES}
    clashes = sorted(str(path) for path in _input_files(pack, scenario_file) if path in outputs)
    if clashes:
        raise OutputError(
            f"the run would overwrite its own input {', '.join(clashes)}; choose another output directory "
            "(inputs are never modified)",
            path=out_dir,
        )


def _inputs(pack: LayerPack, scenario_file: Path | None) -> list[dict[str, Any]]:
    """One entry per input file (path, sha256, the layers read from it)."""
    files: dict[str, dict[str, Any]] = {}
    if pack.source is not None and Path(pack.source).is_file():
        src = Path(pack.source).resolve()
        files[str(src)] = {"path": str(src), "role": "pack", "layers": [], "sha256": None}
    for name, entry in pack.provenance.items():
        if name.startswith("_") or not isinstance(entry, dict) or "path" not in entry:
            continue
        paths = entry.get("paths") or [entry["path"]]  # a catalog layer may concatenate several files
        digests = entry.get("sha256s") or [entry.get("sha256")]
        for path, digest in zip(paths, digests):
            key = str(Path(path).resolve())
            item = files.setdefault(key, {"path": key, "role": "layer", "layers": [], "sha256": digest})
            item["layers"].append(name if name == "dem" else (f"{name} ({entry['layer']})" if entry.get("layer") not in (None, name) else name))
            item["sha256"] = item["sha256"] or digest
            if name == "dem":
                item["role"] = "dem"
    if scenario_file is not None:
        files[str(scenario_file)] = {"path": str(scenario_file), "role": "scenario", "layers": [], "sha256": None}
    for item in files.values():
        if item["sha256"] is None and Path(item["path"]).is_file():
            item["sha256"] = file_sha256(Path(item["path"]))
    return list(files.values())


def _json_default(value: Any) -> Any:
    if isinstance(value, (_dt.date, _dt.datetime, pd.Timestamp)):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return None if np.isnan(value) else float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (set, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _scenario_file(scenario: Scenario | str | PathLike | None) -> Path | None:
    if scenario is None or isinstance(scenario, Scenario):
        return None
    path = Path(scenario)
    return path.resolve() if path.is_file() else None


@dataclass
class RunOutput:
    """What :func:`run_plan` wrote: the directory, the files, the plan and the manifest."""

    out_dir: Path
    files: list[Path]
    result: PlanResult
    manifest: dict[str, Any]


def run(pack: LayerPack | str | PathLike, **options: Any) -> Path:
    """Validate the pack, run the plan and write its outputs; return the output directory.

    Takes the same keyword options as :func:`run_plan` (``out_dir`` is required).

    Examples
    --------
    >>> out = run("layers/wulong.gpkg", scenario="strict", out_dir="out/strict")  # doctest: +SKIP
    >>> sorted(p.name for p in out.iterdir())[:2]  # doctest: +SKIP
    ['manifest.json', 'map.html']
    """
    return run_plan(pack, **options).out_dir


def run_plan(
    pack: LayerPack | str | PathLike,
    *,
    scenario: Scenario | str | PathLike | None = None,
    out_dir: str | PathLike,
    overwrite: bool = False,
    sites: bool = True,
    basemap: str = "none",
    tianditu_key: str | None = None,
    manifest_extra: Mapping[str, Any] | None = None,
    engine: str = "local",
    client: Any = None,
    workers: int | None = None,
    memory_limit: int | str | None = None,
    scheduler: str | None = None,
    partition_size: int | None = None,
    outputs: str | Iterable[str] | None = None,
) -> RunOutput:
    """Validate the pack, run the plan and write its outputs into ``out_dir``.

    The outputs are written into a hidden temporary sibling of ``out_dir`` and renamed into
    place once all are written (:func:`wlgeo.io.atomic.staged_dir`): ``out_dir`` holds a complete
    run or is absent, and with ``overwrite`` a previous run is replaced only at that moment. A
    failure or a signal leaves the previous run as it was and no temporary file.

    Parameters
    ----------
    pack : the pack GeoPackage or catalog TOML (or a :class:`~wlgeo.LayerPack`).
    scenario : preset name, scenario TOML path or :class:`~wlgeo.Scenario`; ``None`` = baseline.
    out_dir : output directory; created when missing, must be empty unless ``overwrite``.
    overwrite : replace the files of a previous run in ``out_dir``.
    sites : propose new sites (see :func:`plan`).
    basemap : basemap of ``map.html``: ``"none"`` (offline, default), ``"osm"``, ``"tianditu"``,
        ``"tianditu_img"`` or ``"gaode"`` (see :func:`wlgeo.folium_map`).
    tianditu_key : Tianditu key (else the ``TIANDITU_KEY`` environment variable).
    manifest_extra : more top-level entries for ``manifest.json`` (e.g. ``{"demo": True}``).
    memory_limit : memory budget of the run (see :func:`plan`).
    engine, client, workers, memory_limit, scheduler, partition_size : see :func:`plan`.
    outputs : what to write among ``plan``, ``tables``, ``map``, ``sheet`` (comma-separated text
        or a list). Default: all for a one-district local run; ``plan,tables`` for a city pack
        or a dask run, which write ``plan.parquet``, ``districts/<district>/plan.gpkg``,
        ``summary_towns.csv`` and ``caps.csv`` (:mod:`wlgeo.runs.city`).

    Returns
    -------
    RunOutput
        ``out_dir`` holding ``plan.gpkg``, ``map.html``, ``sheet.png``, ``sheet.pdf``,
        ``suitability.tif`` (when siting ran on a grid), ``summary_towns.csv``, ``caps.csv`` (and ``not_checked.csv`` when a rule was not checked),
        ``summary.xlsx``, ``manifest.json``;
        the files, the :class:`PlanResult` and the manifest.

    Raises
    ------
    OutputError
        ``out_dir`` is a file, or is not empty and ``overwrite`` is false; or writing failed.
    PackError
        Validation found errors; the message holds the validation report.
    ReadError, ScenarioError, LayerError
        The pack or scenario cannot be read.
    """
    out_dir = Path(out_dir)
    _check_out_dir(out_dir, overwrite=overwrite)
    if engine == "dask" and isinstance(memory_limit, str):
        from wlgeo.model.resources import parse_memory_limit

        memory_limit = parse_memory_limit(memory_limit)  # each worker's; this process keeps the default budget
    with using_budget(current_budget() if memory_limit is None or engine == "dask" else memory_limit):
        return _run_plan(pack, scenario=scenario, out_dir=out_dir, sites=sites, basemap=basemap,
                         tianditu_key=tianditu_key, manifest_extra=manifest_extra, engine=engine, client=client,
                         workers=workers, memory_limit=memory_limit, scheduler=scheduler,
                         partition_size=partition_size, outputs=outputs)


def _run_plan(pack, *, scenario, out_dir: Path, sites: bool, basemap: str, tianditu_key: str | None,
              manifest_extra: Mapping[str, Any] | None, engine: str, client: Any, workers: int | None,
              memory_limit: int | str | None, scheduler: str | None, partition_size: int | None,
              outputs) -> RunOutput:
    from wlgeo.io.atomic import staged_dir
    from wlgeo.io.gpkg import write_geopackage
    from wlgeo.io.validate import check_pack

    from wlgeo.runs.city import parse_outputs

    if engine not in ("local", "dask"):
        raise ValueError(f"engine must be 'local' or 'dask', got {engine!r}")
    parse_outputs(outputs, default=())  # refuse an unknown kind before any work
    clock = _Clock()
    scenario_obj = load_scenario(scenario)  # refuse a bad scenario before the (slower) validation
    _refuse_inputs_as_outputs(pack, _scenario_file(scenario), out_dir)
    lazy: dict = {}
    if engine == "dask" and not isinstance(pack, LayerPack):
        pack, lazy = open_pack(pack)  # GeoParquet/PostGIS layers stay where they are
    report = check_pack(pack)
    if not report.ok:
        raise PackError("validation found errors; nothing was written:\n" + report.to_text(),
                        path=report.source)
    clock.done("validate")
    if not isinstance(pack, LayerPack):
        pack = read_pack(pack)
    clock.done("read")
    if engine == "dask":
        result = _plan_on_cluster(pack, lazy, scenario_obj, client=client, workers=workers, memory_limit=memory_limit,
                                  scheduler=scheduler, sites=sites, partition_size=partition_size)
    else:
        result = plan(pack, scenario_obj, sites=sites)
    timings = {**clock.timings, **{f"plan.{k}": v for k, v in result.timings.items()}}
    clock.done("plan")
    city_run = engine == "dask" or bool(result.districts)
    wanted = parse_outputs(outputs, default=("plan", "tables") if city_run else ("plan", "tables", "map", "sheet"))

    created = _dt.datetime.now(_dt.timezone.utc).astimezone().isoformat(timespec="seconds")
    inputs = _inputs(pack, _scenario_file(scenario))
    versions = _versions()
    metadata = {
        "title": f"{pack.district or ''}碎石矿山布局规划 — {scenario_obj.name}",
        "district": pack.district,
        "working_crs": pack.provenance.get("_working_crs", {"crs": crs_label(pack.working_crs)}),
        "created": created,
        "wlgeo_version": versions["wlgeo"],
        "scenario": scenario_obj.to_dict(),
        "inputs": [{k: v for k, v in item.items() if k in ("path", "sha256", "layers")} for item in inputs],
        "counts": result.counts(),
        "caps": result.caps.to_dict(),
        "not_checked": result.not_checked,
    }
    layers: dict[str, gpd.GeoDataFrame] = {
        "quarries": result.quarries,
        "new_sites": result.new_sites,
        "consolidation_groups": result.consolidation_groups,
    }
    for name in CONTEXT_LAYERS:
        if name in pack:
            layers[name] = pack[name]
    final_dir = out_dir
    written: list[Path] = []
    with staged_dir(final_dir, owned=RUN_FILES) as out_dir:  # complete or absent: renamed into place at the end
        if city_run:
            from wlgeo.runs.city import write_city_run

            metadata["scenario_entry"] = {"name": scenario_obj.name, "parameters": scenario_obj.to_dict()}
            metadata["engine"] = engine

            def maps(district_result: PlanResult, district_pack: LayerPack, folder: Path) -> list[Path]:
                return _write_maps(district_result, district_pack, folder, basemap=basemap, tianditu_key=tianditu_key,
                                   html="map" in wanted, sheet="sheet" in wanted)

            written.extend(write_city_run(result, pack, out_dir, outputs=wanted,
                                          metadata=json.loads(json.dumps(metadata, default=_json_default)),
                                          context_layers=CONTEXT_LAYERS, write_maps=maps,
                                          as_result=lambda d: _district_result(d, result)))
            clock.done("write.city")
        else:
            if "plan" in wanted:
                written.append(write_geopackage(out_dir / PLAN_FILE, layers,
                                                metadata=json.loads(json.dumps(metadata, default=_json_default)),
                                                overwrite=True, crs=pack.working_crs))
                clock.done("write.gpkg")
            if "map" in wanted or "sheet" in wanted:
                written.extend(_write_maps(result, pack, out_dir, basemap=basemap, tianditu_key=tianditu_key,
                                           html="map" in wanted, sheet="sheet" in wanted, clock=clock))
            if "plan" in wanted and result.siting is not None and result.siting.suitability is not None:
                from wlgeo.engine.siting import write_raster

                written.append(write_raster(out_dir / SUITABILITY_FILE, result.siting.suitability, result.siting.grid))
                clock.done("write.suitability")
            if "tables" in wanted:
                written.append(write_summary_csv(out_dir / SUMMARY_CSV, result.summary))
                written.append(write_caps_csv(out_dir / CAPS_CSV, result.caps))
                if result.not_checked:
                    written.append(write_csv(out_dir / NOT_CHECKED_CSV, not_checked_table(result.not_checked)))
                written.append(write_summary_xlsx(out_dir / SUMMARY_XLSX, result.summary, result.caps,
                                                  not_checked=result.not_checked))
                clock.done("write.summary")
        timings.update({k: v for k, v in clock.timings.items() if k.startswith("write.")})

        manifest = {
            "wlgeo": "plan run manifest",
            "created": created,
            "pack": str(Path(pack.source).resolve()) if pack.source is not None else None,
            "district": pack.district,
            "working_crs": pack.provenance.get("_working_crs", {"crs": crs_label(pack.working_crs)}),
            "inputs": inputs,
            "scenario": {"name": scenario_obj.name, "file": str(_scenario_file(scenario) or "") or None,
                         "parameters": scenario_obj.to_dict(), "notes": list(scenario_obj.notes)},
            "validation": {"errors": 0, "warnings": [str(p) for p in report.warnings]},
            "counts": result.counts(),
            "consolidation_groups": len(result.consolidation_groups),
            "new_sites": len(result.new_sites),
            "siting": _siting_manifest(result),
            "visibility": result.visibility,
            "caps": result.caps.to_dict(),
            "not_checked": result.not_checked,
            "notes": result.notes,
            "engine": engine,
            "partitions": result.partitions,
            "districts": {name: {"epsg": d.epsg, "counts": decision_counts(d.quarries), "caps": d.caps.to_dict()}
                          for name, d in result.districts.items()},
            "outputs": {str(p.relative_to(out_dir)): file_sha256(p) for p in written},
            "versions": versions,
            "timings": timings,
            **dict(manifest_extra or {}),
        }
        text = json.dumps(manifest, ensure_ascii=False, indent=2, default=_json_default)

        def write(tmp: Path) -> None:
            with open(tmp, "x", encoding="utf-8") as handle:
                handle.write(text + "\n")

        written.append(atomic_write(out_dir / MANIFEST, write))
    log.info("wrote %s", final_dir)
    return RunOutput(final_dir, [final_dir / p.relative_to(out_dir) for p in written], result, manifest)



def _siting_manifest(result: PlanResult) -> dict[str, Any] | None:
    """``manifest.json`` → ``siting``: how the sites were chosen (selection, objective, gap, greedy_objective)."""
    report = getattr(result.siting, "selection", None)
    if report is None:
        return None
    return report.to_dict()


def _write_maps(result: PlanResult, pack: LayerPack, out_dir: Path, *, basemap: str,
                tianditu_key: str | None, html: bool = True, sheet: bool = True,
                clock: _Clock | None = None) -> list[Path]:
    """Write ``map.html`` (offline unless a basemap is chosen) and ``sheet.png``/``sheet.pdf``;
    timed apart as ``write.map`` and ``write.sheet``."""
    from wlgeo.products.webmap import save_map
    from wlgeo.products.sheet import map_sheet

    out = []
    if html:
        out.append(save_map(result, pack, out_dir / MAP_FILE, basemap=basemap, tianditu_key=tianditu_key))
        if clock is not None:
            clock.done("write.map")
    if sheet:
        out.extend(map_sheet(result, pack, out_dir / SHEET_STEM))
        if clock is not None:
            clock.done("write.sheet")
    return out


def _district_result(district: Any, city: PlanResult) -> PlanResult:
    """A district's plan (:class:`wlgeo.engine.partitions.DistrictPlan`) as a PlanResult, for the writers."""
    if isinstance(district, PlanResult):
        return district
    return PlanResult(quarries=district.quarries, consolidation_groups=district.consolidation_groups,
                      new_sites=district.new_sites, summary=district.summary, caps=district.caps,
                      scenario=city.scenario, provenance=city.provenance, not_checked=city.not_checked,
                      notes=city.notes, source=city.source, siting=district.siting)


# ---------------------------------------------------------------------------- demo
#: Where ``wlgeo demo`` writes by default (relative to the working directory).
DEMO_OUT = Path("out") / "demo"


def demo_pack_path() -> Path:
    """The bundled Wulong demo pack, ``layers/wulong.gpkg`` next to the ``wlgeo`` package.

    Raises
    ------
    ReadError
        The pack is not there (an installed, non-editable wlgeo does not carry ``layers/``).
    """
    from wlgeo.model.errors import ReadError

    path = Path(__file__).resolve().parents[2] / "layers" / "wulong.gpkg"
    if not path.is_file():
        raise ReadError(
            "the demo pack ships with the wlgeo source repository (layers/wulong.gpkg next to the wlgeo "
            "package) and is not installed with the package; run from a git checkout "
            "(pip install -e .) or give a pack to `wlgeo run`",
            path=path,
        )
    return path


def _is_demo_output(out_dir: Path) -> bool:
    try:
        manifest = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and manifest.get("demo") is True


def run_demo(
    out_dir: str | PathLike = DEMO_OUT,
    *,
    scenario: Scenario | str | PathLike | None = None,
    overwrite: bool = False,
    sites: bool = True,
    basemap: str = "none",
    tianditu_key: str | None = None,
    memory_limit: str | int | None = None,
) -> RunOutput:
    """Run the plan on the bundled demo pack (:func:`demo_pack_path`).

    A directory holding a previous demo run (its ``manifest.json`` says ``"demo": true``) is
    overwritten; any other non-empty directory is refused unless ``overwrite``.
    """
    out_dir = Path(out_dir)
    pack = demo_pack_path()
    overwrite = overwrite or _is_demo_output(out_dir)
    return run_plan(pack, scenario=scenario, out_dir=out_dir, overwrite=overwrite, sites=sites,
                    basemap=basemap, tianditu_key=tianditu_key, manifest_extra={"demo": True},
                    memory_limit=memory_limit)
