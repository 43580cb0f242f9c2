"""Reading a run back (the directory ``wlgeo run`` wrote), and drawing its sheets (``wlgeo sheet``).

:func:`plan_file` finds a run's ``plan.gpkg``; :func:`read_plan_layers` reads every layer of it;
:func:`load_run` turns it into a :class:`RunPlan` (quarries with their decisions, groups, new
sites, the scenario) and a :class:`~wlgeo.io.pack.LayerPack` of the context layers the run kept,
which is what :func:`wlgeo.products.sheet.map_sheet` draws. :func:`run_sheets` writes the district sheet,
or one sheet per town, from a run.

Examples
--------
>>> plan, pack = load_run("out/baseline")  # doctest: +SKIP
>>> report = run_sheets("out/baseline", out_dir="out/sheets", by_town=True)  # doctest: +SKIP
>>> [p.name for p in report.files][:2]  # doctest: +SKIP
['和顺镇.png', '和顺镇.pdf']
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from os import PathLike
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Literal

import geopandas as gpd
import pandas as pd

from wlgeo.model.errors import LayerError, MapError, OutputError, ReadError, WlgeoError
from wlgeo.io.pack import LayerPack
from wlgeo.io.atomic import refuse_existing
from wlgeo.io.planfile import read_plan_layers
from wlgeo.model.reasons import reasons_of

__all__ = [
    "RunPlan",
    "SheetReport",
    "SheetFailure",
    "load_run",
    "plan_file",
    "manifest_scenario",
    "read_plan_layers",
    "run_sheets",
    "DISTRICT_STEM",
]

log = logging.getLogger(__name__)

#: File stem of the district sheet ``run_sheets`` writes when no town is asked for.
DISTRICT_STEM = "sheet"
_RESULT_LAYERS = ("quarries", "consolidation_groups", "new_sites")


# ------------------------------------------------------------------------------ reading
def plan_file(run: str | PathLike) -> Path:
    """The ``plan.gpkg`` of a run directory (or the file itself when given a ``.gpkg``)."""
    path = Path(run)
    if path.is_dir():
        path = path / "plan.gpkg"
        if not path.is_file():
            raise ReadError("is not a wlgeo run directory: it has no plan.gpkg", path=Path(run))
        return path
    if not path.exists():
        raise ReadError("no such run directory or plan GeoPackage", path=path)
    if path.suffix.lower() != ".gpkg":
        raise ReadError("give a run directory or its plan.gpkg", path=path)
    return path


def manifest_scenario(run: Path, gpkg: Path) -> dict:
    """The ``scenario`` entry of the run's ``manifest.json`` (empty when unknown)."""
    manifest = (run if run.is_dir() else gpkg.parent) / "manifest.json"
    try:
        entry = json.loads(manifest.read_text(encoding="utf-8"))["scenario"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return entry if isinstance(entry, dict) else {}


def _manifest(gpkg: Path) -> dict:
    try:
        data = json.loads((gpkg.parent / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


@dataclass
class RunPlan:
    """A plan read back from a run: what :func:`wlgeo.products.sheet.map_sheet` needs of a ``PlanResult``.

    Attributes
    ----------
    quarries : the ``quarries`` layer, with ``decision``.
    consolidation_groups, new_sites : those layers (empty when the run has none).
    scenario : the run's :class:`~wlgeo.Scenario` rebuilt from ``manifest.json`` (or an object
        with only ``name`` when the manifest is missing or from another version).
    plan_gpkg : the file read.
    manifest : the run's ``manifest.json`` (empty when missing).
    reasons : each quarry's :class:`~wlgeo.model.reasons.Reason` records, read from the
        ``reasons`` text on first use (:func:`~wlgeo.model.reasons.parse_reasons`, through
        :func:`~wlgeo.model.reasons.reasons_of`).
    """

    quarries: gpd.GeoDataFrame
    consolidation_groups: gpd.GeoDataFrame
    new_sites: gpd.GeoDataFrame
    scenario: Any
    plan_gpkg: Path
    manifest: dict = field(default_factory=dict)

    @cached_property
    def reasons(self) -> pd.Series:
        """Tuples of :class:`~wlgeo.model.reasons.Reason` aligned to ``quarries.index`` (parsed once)."""
        return reasons_of(self.quarries)


def _scenario(entry: dict) -> Any:
    from wlgeo.model.scenario import Scenario

    parameters = entry.get("parameters")
    if isinstance(parameters, dict):
        try:
            return Scenario.from_dict(parameters)
        except (WlgeoError, TypeError, ValueError) as err:
            log.info("scenario of the run not rebuilt (%s): using its name only", err)
    return SimpleNamespace(name=entry.get("name") or None)


def load_run(run: str | PathLike) -> tuple[RunPlan, LayerPack]:
    """Read a run directory written by :func:`wlgeo.run` (or its ``plan.gpkg``).

    Returns
    -------
    (RunPlan, LayerPack)
        The plan (quarries with decisions, groups, new sites, scenario) and a pack holding the
        context layers the run stored in ``plan.gpkg`` (boundary, towns, red line, ...). Parks,
        bases and ports are not stored in a run, so sheets drawn from it do not show them.

    Raises
    ------
    ReadError
        No ``plan.gpkg``, or it cannot be read.
    LayerError
        Its ``quarries`` layer has no ``decision`` field.
    """
    gpkg = plan_file(run)
    layers = read_plan_layers(gpkg)
    quarries = layers.pop("quarries")
    if "decision" not in quarries.columns:
        raise LayerError("has no field: is this a plan GeoPackage?", path=gpkg, layer="quarries", field="decision")
    empty = gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs=quarries.crs), crs=quarries.crs)
    plan = RunPlan(
        quarries=quarries,
        consolidation_groups=layers.pop("consolidation_groups", empty),
        new_sites=layers.pop("new_sites", empty.copy()),
        scenario=_scenario(manifest_scenario(Path(run), gpkg)),
        plan_gpkg=gpkg,
        manifest=_manifest(gpkg),
    )
    return plan, LayerPack(layers, source=gpkg)


# ------------------------------------------------------------------------------ sheets
@dataclass(frozen=True)
class SheetFailure:
    """One sheet that could not be drawn or written, and why."""

    key: str
    error: str


@dataclass
class SheetReport:
    """What :func:`run_sheets` wrote: the files, the sheets that failed, notes, sheets asked for."""

    out_dir: Path
    files: list[Path] = field(default_factory=list)
    failures: list[SheetFailure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    total: int = 0

    @property
    def ok(self) -> bool:
        """True when every sheet was written."""
        return not self.failures


def _town_names(pack: LayerPack, gpkg: Path) -> list[str]:
    from wlgeo.engine.towns import clean_names

    towns = pack.get("towns")
    if towns is None or "town" not in towns.columns:
        raise LayerError("has no 'towns' layer with a 'town' field: cannot draw sheets by town", path=gpkg,
                         layer="towns")
    return list(dict.fromkeys(clean_names(towns["town"]).dropna()))


def _note_unplaced(plan: RunPlan, pack: LayerPack, known: list[str], report: SheetReport) -> None:
    from wlgeo.engine.towns import assign_towns

    towns = pack.get("towns")
    placed = assign_towns(plan.quarries, towns)[0]
    outside = int((~placed.isin(known)).sum())
    if outside:
        report.notes.append(f"{outside} quarries lie in no town polygon of the plan: they are on no town sheet")


def run_sheets(
    run: str | PathLike,
    *,
    out_dir: str | PathLike,
    by_town: bool = False,
    towns: Sequence[str] | None = None,
    paper: str = "A3",
    orientation: Literal["landscape", "portrait"] = "landscape",
    dpi: int = 300,
    formats: Sequence[str] = ("png", "pdf"),
    overwrite: bool = False,
    progress: Callable[[int, int, str], None] | None = None,
) -> SheetReport:
    """Draw the printed sheets of a run: the district, or one per town.

    Parameters
    ----------
    run : a run directory written by :func:`wlgeo.run`, or its ``plan.gpkg``.
    out_dir : output directory (created when missing).
    by_town : one sheet per town polygon of the plan's ``towns`` layer, named after the town
        (:func:`wlgeo.io.filenames.safe_filename`; Chinese kept: ``和顺镇.png``).
    towns : only these towns (implies ``by_town``).
    paper, orientation, dpi, formats : as :func:`wlgeo.products.sheet.map_sheet`.
    overwrite : replace existing files; without it any existing target stops before anything
        is written.
    progress : called as ``progress(done, total, key)`` after each sheet.

    Returns
    -------
    SheetReport
        Files written; sheets that failed (the others are whole).

    Raises
    ------
    ReadError, LayerError
        The run cannot be read, has no towns layer, or a town asked for is not in it (the
        message lists the towns).
    MapError
        Unknown paper, orientation, format or a bad dpi.
    OutputError
        Targets exist without ``overwrite``, or ``out_dir`` is a file.
    """
    from wlgeo.io.filenames import is_inside, safe_filename, unique_stems
    from wlgeo.products.sheet import PAPER_MM, save_sheet_file, sheet_figure

    formats = list(formats)
    bad = [f for f in formats if f not in ("png", "pdf", "svg")]
    if bad or not formats:
        raise MapError(f"unknown sheet format(s) {bad or formats!r}; allowed: png, pdf, svg")
    if paper not in PAPER_MM:
        raise MapError(f"unknown paper {paper!r}; allowed: {', '.join(PAPER_MM)}")
    if dpi <= 0:
        raise MapError(f"dpi must be positive, got {dpi}")
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError("exists and is not a directory", path=out_dir)
    plan, pack = load_run(run)
    report = SheetReport(out_dir=out_dir)
    if getattr(plan.scenario, "name", None) is None:
        report.notes.append("the run has no readable manifest.json: the scenario name is unknown")

    keys: list[str | None]
    if towns or by_town:
        known = _town_names(pack, plan.plan_gpkg)
        wanted = list(dict.fromkeys(t.strip() for t in towns)) if towns else known
        unknown = [t for t in wanted if t not in known]
        if unknown:
            raise LayerError(f"no town named {', '.join(map(repr, unknown))}; the towns are: {', '.join(known)}",
                             path=plan.plan_gpkg, layer="towns", field="town")
        keys = list(wanted)
        stems = unique_stems(keys, safe_filename)
        _note_unplaced(plan, pack, known, report)
    else:
        keys = [None]
        stems = {None: DISTRICT_STEM}
    targets = {key: [out_dir / f"{stems[key]}.{fmt}" for fmt in formats] for key in keys}
    for key, paths in targets.items():
        for target in paths:
            if not is_inside(out_dir, target):  # defence in depth: safe_filename already prevents it
                raise OutputError(f"output name for {key!r} would leave the output directory", path=target)
    if not overwrite:
        refuse_existing([p for paths in targets.values() for p in paths], out_dir=out_dir, what="sheet file")
    out_dir.mkdir(parents=True, exist_ok=True)

    report.total = len(keys)
    pack_name = plan.manifest.get("pack")
    source = f"{Path(pack_name).name} → {plan.plan_gpkg.name}" if pack_name else plan.plan_gpkg.name
    for done, key in enumerate(keys, start=1):
        label = key or "district"
        try:
            fig = sheet_figure(plan, pack, paper=paper, orientation=orientation, town=key, source=source)
            for target in targets[key]:
                save_sheet_file(fig, target, target.suffix[1:], dpi)
                report.files.append(target)
                log.info("sheet written: %s", target)
        except (WlgeoError, OSError, ValueError, RuntimeError) as err:
            log.warning("sheet %s failed: %s", label, err)
            report.failures.append(SheetFailure(key=label, error=str(err)))
        if progress is not None:
            progress(done, len(keys), label)
    return report
