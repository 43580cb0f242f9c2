"""Writing a run: :func:`run` validates the pack, plans and writes the run directory
(:mod:`wlgeo.runs.layout` names its files) into ``out_dir`` (new or empty, unless ``overwrite``):

- ``plan.gpkg`` — ``quarries``, ``new_sites``, ``consolidation_groups`` and the context and
  constraint layers used, styled, with the run's metadata;
- ``summary_towns.csv`` (decision × town), ``caps.csv`` (one row per cap), ``not_checked.csv``
  (when a rule's layer is absent; UTF-8 with BOM) and ``summary.xlsx`` (all as sheets);
- ``map.html``, ``sheet.png``, ``sheet.pdf``, ``suitability.tif``;
- ``manifest.json`` — input files and their SHA-256, the scenario, package versions, timings,
  rules not checked, notes.

The run is staged in a hidden sibling directory and renamed into place when complete; the input
files are only read.

>>> import wlgeo
>>> wlgeo.run("layers/wulong.gpkg", scenario="baseline", out_dir="out/2025")  # doctest: +SKIP
PosixPath('out/2025')
"""

from __future__ import annotations

import datetime as _dt
import logging
import warnings
import platform
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import metadata as _metadata
from os import PathLike
from pathlib import Path
from typing import Any

import geopandas as gpd
import shapely

from wlgeo.engine.result import PlanResult
from wlgeo.engine.summary import decision_counts
from wlgeo.io.jsontext import jsonable
from wlgeo.io.read import file_sha256
from wlgeo.model.crs import crs_label
from wlgeo.model.errors import OutputError, PackError, WlgeoWarning
from wlgeo.model.pack import LayerPack
from wlgeo.model.resources import using_budget
from wlgeo.model.scenario import Scenario, load_scenario
from wlgeo.products.tables import not_checked_table, write_caps_csv, write_csv, write_summary_csv, write_summary_xlsx
from wlgeo.runs.city import parse_outputs, write_city_run
from wlgeo.runs.layout import (
    CAPS_CSV,
    CONTEXT_LAYERS,
    MAP_FILE,
    NOT_CHECKED_CSV,
    PLAN_FILE,
    RUN_FILES,
    SHEET_STEM,
    SUITABILITY_FILE,
    SUMMARY_CSV,
    SUMMARY_XLSX,
)
from wlgeo.runs.manifest import RUN_KIND, Manifest
from wlgeo.model.timing import StepClock
from wlgeo.runs.planning import engine_budget, open_pack, plan, plan_on_cluster
from wlgeo.io.atomic import staged_dir
from wlgeo.io.pack import pack_sources
from wlgeo.io.raster import write_raster
from wlgeo.io.validate import check_pack
from wlgeo.products.geopackage import write_geopackage

__all__ = ["run", "run_plan", "RunOutput"]

log = logging.getLogger(__name__)

#: Packages whose versions the manifest records.
_PACKAGES = ("wlgeo", "geopandas", "shapely", "pyogrio", "pyproj", "rasterio", "pandas", "numpy", "scipy",
             "openpyxl")


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


def run(
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
) -> Path:
    """Validate the pack, run the plan and write its outputs; return the output directory.

    The parameters are those of :func:`run_plan`, which also returns the files written, the
    plan and the manifest.

    Examples
    --------
    >>> out = run("layers/wulong.gpkg", scenario="strict", out_dir="out/strict")  # doctest: +SKIP
    >>> sorted(p.name for p in out.iterdir())[:2]  # doctest: +SKIP
    ['manifest.json', 'map.html']
    """
    return run_plan(pack, scenario=scenario, out_dir=out_dir, overwrite=overwrite, sites=sites, basemap=basemap,
                    tianditu_key=tianditu_key, manifest_extra=manifest_extra, engine=engine, client=client,
                    workers=workers, memory_limit=memory_limit, scheduler=scheduler,
                    partition_size=partition_size, outputs=outputs).out_dir


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
    memory_limit, budget = engine_budget(engine, memory_limit)
    with using_budget(budget):
        return _run_plan(pack, scenario=scenario, out_dir=out_dir, sites=sites, basemap=basemap,
                         tianditu_key=tianditu_key, manifest_extra=manifest_extra, engine=engine, client=client,
                         workers=workers, memory_limit=memory_limit, scheduler=scheduler,
                         partition_size=partition_size, outputs=outputs)


def _run_plan(pack, *, scenario, out_dir: Path, sites: bool, basemap: str, tianditu_key: str | None,
              manifest_extra: Mapping[str, Any] | None, engine: str, client: Any, workers: int | None,
              memory_limit: int | str | None, scheduler: str | None, partition_size: int | None,
              outputs) -> RunOutput:
    parse_outputs(outputs, default=())  # refuse an unknown kind before any work
    clock = StepClock()
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
        pack = report.pack  # validation read every layer already: plan on that, not a second read
        _warn_again(report)
    clock.done("read")
    if engine == "dask":
        result = plan_on_cluster(pack, lazy, scenario_obj, client=client, workers=workers, memory_limit=memory_limit,
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
            metadata["scenario_entry"] = {"name": scenario_obj.name, "parameters": scenario_obj.to_dict()}
            metadata["engine"] = engine

            def maps(district_result: PlanResult, district_pack: LayerPack, folder: Path) -> list[Path]:
                return _write_maps(district_result, district_pack, folder, basemap=basemap, tianditu_key=tianditu_key,
                                   html="map" in wanted, sheet="sheet" in wanted)

            written.extend(write_city_run(result, pack, out_dir, outputs=wanted,
                                          metadata=jsonable(metadata),
                                          context_layers=CONTEXT_LAYERS, write_maps=maps,
                                          as_result=lambda d: _district_result(d, result)))
            clock.done("write.city")
        else:
            if "plan" in wanted:
                written.append(write_geopackage(out_dir / PLAN_FILE, layers,
                                                metadata=jsonable(metadata),
                                                overwrite=True, crs=pack.working_crs))
                clock.done("write.gpkg")
            if "map" in wanted or "sheet" in wanted:
                written.extend(_write_maps(result, pack, out_dir, basemap=basemap, tianditu_key=tianditu_key,
                                           html="map" in wanted, sheet="sheet" in wanted, clock=clock))
            if "plan" in wanted and result.siting is not None and result.siting.suitability is not None:
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

        manifest = Manifest.new(
            RUN_KIND,
            **{
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
            },
        )
        written.append(manifest.write(out_dir))
    log.info("wrote %s", final_dir)
    return RunOutput(final_dir, [final_dir / p.relative_to(out_dir) for p in written], result, manifest.to_dict())



def _warn_again(report) -> None:
    """Raise again, as warnings, what the readers warned while validation read the pack (an
    encoding or CRS guessed): a run tells them as ``read_pack`` would have."""
    for problem in report.warnings:
        if problem.code == "read_warning":
            warnings.warn(problem.message, problem.category or WlgeoWarning, stacklevel=4)


def _siting_manifest(result: PlanResult) -> dict[str, Any] | None:
    """``manifest.json`` → ``siting``: how the sites were chosen (selection, objective, gap, greedy_objective)."""
    report = getattr(result.siting, "selection", None)
    if report is None:
        return None
    return report.to_dict()


def _write_maps(result: PlanResult, pack: LayerPack, out_dir: Path, *, basemap: str,
                tianditu_key: str | None, html: bool = True, sheet: bool = True,
                clock: StepClock | None = None) -> list[Path]:
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
