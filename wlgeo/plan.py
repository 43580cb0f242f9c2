"""The plan: :func:`plan` computes it, :func:`run` writes it.

``plan(pack, scenario)`` → :class:`PlanResult`: constraint metrics (:mod:`wlgeo.overlay`), the
decisions and consolidation groups (:mod:`wlgeo.classify`), new sites, the summary and the caps
(:mod:`wlgeo.report`). Nothing is written.

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
from collections.abc import Mapping
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

from .classify import classify, consolidation_groups
from .crs import WORKING_CRS, crs_label
from .errors import OutputError, PackError
from .io.pack import LayerPack, read_pack
from .io.read import file_sha256
from .overlay import constraint_metrics, overlap_area
from .report import (
    CapsCheck,
    atomic_write,
    check_caps,
    decision_counts,
    quarry_towns,
    not_checked_table,
    summary_table,
    write_caps_csv,
    write_csv,
    write_summary_csv,
    write_summary_xlsx,
)
from .resources import current_budget, using_budget
from .scenario import Scenario, load_scenario
from .values import id_text

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
             CAPS_CSV, NOT_CHECKED_CSV, SUMMARY_XLSX, MANIFEST)
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
    summary : counts and capacity by decision × town (:func:`wlgeo.report.summary_table`).
    caps : the caps check (:class:`wlgeo.report.CapsCheck`).
    scenario : the scenario used.
    provenance : where each layer came from (path, layer, sha256, read notes).
    not_checked : rule → why it was not applied (its layer is absent).
    notes : what was assumed or normalised along the way.
    timings : step → seconds.
    source : the pack file, if the pack came from one.
    siting : the :class:`wlgeo.siting.SitingResult` (grid, suitability, factors, mask) when
        siting ran, else ``None``.
    visibility : with ``[visibility] enabled``, what the line-of-sight test found (parameters,
        quarries visible / hidden / not checked per kind of line, sight lines cast), else ``None``.
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
            self.caps.to_text(),
        ]
        selection = getattr(self.siting, "selection", None)
        if selection is not None:
            lines.insert(2, f"new sites by {selection.to_text()}")
        if self.visibility:
            seen = "; ".join(f"{kind} visible {v['visible']}, hidden {v['hidden']}, not checked {v['not_checked']}"
                             for kind, v in self.visibility.items() if kind in ("trunk_line", "main_river"))
            lines.insert(2, f"三区两线 by line of sight within {self.visibility['max_distance_m']:g} m: {seen}")
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
    from .validate import normalise_quarries

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
    out = pd.Series(None, index=quarries.index, dtype=object)
    areas = pack.get("protected_areas")
    if areas is None or "kind" not in areas.columns or "protected_m2" not in metrics.columns:
        return out
    hit = (metrics["protected_m2"].fillna(0) > scenario.min_overlap_m2).to_numpy()
    if not hit.any():
        return out
    if areas.crs is not None and CRS.from_user_input(areas.crs) != CRS.from_user_input(quarries.crs):
        areas = areas.to_crs(quarries.crs)
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


def _empty_sites(crs=WORKING_CRS) -> gpd.GeoDataFrame:
    from .siting import SITE_COLUMNS

    numeric = {"score", "capacity", "area_m2", "slope_deg", "road_m", "park_m", "port_m"}
    cols = {c: pd.Series(dtype="float64" if c in numeric else "object") for c in SITE_COLUMNS}
    return gpd.GeoDataFrame(cols, geometry=gpd.GeoSeries([], crs=crs), crs=crs)


def plan(
    pack: LayerPack | str | PathLike,
    scenario: Scenario | str | PathLike | None = None,
    *,
    sites: bool = True,
    memory_limit: str | int | None = None,
) -> PlanResult:
    """Classify every quarry, build the consolidation groups and check the caps.

    Parameters
    ----------
    pack : a :class:`~wlgeo.LayerPack`, or the path of a pack GeoPackage or catalog TOML.
    scenario : a :class:`~wlgeo.Scenario`, a preset name, a scenario TOML path, or ``None``
        for the ``baseline`` preset.
    sites : propose new sites (:func:`wlgeo.siting.propose_sites`; without a DEM slope is not
        checked); ``False`` skips siting (faster, e.g. for parameter sweeps of the exit rules)
        and leaves ``new_sites`` empty.
    memory_limit : memory budget (``"2GiB"``, bytes, or a :class:`~wlgeo.resources.MemoryBudget`);
        default the budget in force (:func:`wlgeo.resources.using_budget`), else half of the
        available memory. The siting grid, distance transforms, buffers and consolidation pairs
        are sized first and refused (:class:`~wlgeo.resources.ResourceError`) when over it.

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
    with using_budget(current_budget() if memory_limit is None else memory_limit):
        return _plan(pack, scenario, sites=sites)


def _plan(pack: LayerPack | str | PathLike, scenario: Scenario | str | PathLike | None, *, sites: bool) -> PlanResult:
    clock = _Clock()
    if not isinstance(pack, LayerPack):
        pack = read_pack(pack)
        clock.done("read")
    scenario = load_scenario(scenario)
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
    classified = classify(quarries, metrics, scenario)
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
    )
    log.info("plan %s: %s; %s", scenario.name, result.counts(), caps.to_text())
    return result


def _sight(quarries: gpd.GeoDataFrame, pack: LayerPack, scenario: Scenario,
           notes: list[str]) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Line-of-sight figures of every quarry (:func:`wlgeo.visibility.quarry_visibility`) and a summary."""
    from .overlay import corridor_lines
    from .siting import read_dem
    from .visibility import quarry_visibility

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


def _propose(pack, scenario, classified, groups, notes, not_checked):
    from .siting import propose_sites

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
    from .io.pack import pack_sources

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
    memory_limit: str | int | None = None,
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
    with using_budget(current_budget() if memory_limit is None else memory_limit):
        return _run_plan(pack, scenario=scenario, out_dir=out_dir, sites=sites, basemap=basemap,
                         tianditu_key=tianditu_key, manifest_extra=manifest_extra)


def _run_plan(pack, *, scenario, out_dir: Path, sites: bool, basemap: str, tianditu_key: str | None,
              manifest_extra: Mapping[str, Any] | None) -> RunOutput:
    from .io.atomic import staged_dir
    from .io.gpkg import write_geopackage
    from .validate import check_pack

    clock = _Clock()
    scenario_obj = load_scenario(scenario)  # refuse a bad scenario before the (slower) validation
    _refuse_inputs_as_outputs(pack, _scenario_file(scenario), out_dir)
    report = check_pack(pack)
    if not report.ok:
        raise PackError("validation found errors; nothing was written:\n" + report.to_text(),
                        path=report.source)
    clock.done("validate")
    if not isinstance(pack, LayerPack):
        pack = read_pack(pack)
    clock.done("read")
    result = plan(pack, scenario_obj, sites=sites)
    timings = {**clock.timings, **{f"plan.{k}": v for k, v in result.timings.items()}}
    clock.done("plan")

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
    with staged_dir(final_dir, owned=RUN_FILES) as out_dir:  # complete or absent: renamed into place at the end
        written = [write_geopackage(out_dir / PLAN_FILE, layers, metadata=json.loads(json.dumps(metadata, default=_json_default)),
                                    overwrite=True, crs=pack.working_crs)]
        clock.done("write.gpkg")
        written.extend(_write_maps(result, pack, out_dir, basemap=basemap, tianditu_key=tianditu_key, clock=clock))
        if result.siting is not None and result.siting.suitability is not None:
            from .siting import write_raster

            written.append(write_raster(out_dir / SUITABILITY_FILE, result.siting.suitability, result.siting.grid))
            clock.done("write.suitability")
        written.append(write_summary_csv(out_dir / SUMMARY_CSV, result.summary))
        written.append(write_caps_csv(out_dir / CAPS_CSV, result.caps))
        if result.not_checked:
            written.append(write_csv(out_dir / NOT_CHECKED_CSV, not_checked_table(result.not_checked)))
        written.append(write_summary_xlsx(out_dir / SUMMARY_XLSX, result.summary, result.caps, not_checked=result.not_checked))
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
            "outputs": {p.name: file_sha256(p) for p in written},
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
    return RunOutput(final_dir, [final_dir / p.name for p in written], result, manifest)



def _siting_manifest(result: PlanResult) -> dict[str, Any] | None:
    """``manifest.json`` → ``siting``: how the sites were chosen (selection, objective, gap, greedy_objective)."""
    report = getattr(result.siting, "selection", None)
    if report is None:
        return None
    return report.to_dict()


def _write_maps(result: PlanResult, pack: LayerPack, out_dir: Path, *, basemap: str,
                tianditu_key: str | None, clock: _Clock | None = None) -> list[Path]:
    """Write ``map.html`` (offline unless a basemap is chosen) and ``sheet.png``/``sheet.pdf``;
    timed apart as ``write.map`` and ``write.sheet``."""
    from .webmap import save_map
    from .sheet import map_sheet

    html = save_map(result, pack, out_dir / MAP_FILE, basemap=basemap, tianditu_key=tianditu_key)
    if clock is not None:
        clock.done("write.map")
    sheets = map_sheet(result, pack, out_dir / SHEET_STEM)
    if clock is not None:
        clock.done("write.sheet")
    return [html, *sheets]


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
    from .errors import ReadError

    path = Path(__file__).resolve().parent.parent / "layers" / "wulong.gpkg"
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
