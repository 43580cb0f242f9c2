"""Sheets from a run: ``wlgeo sheet RUN`` draws the district sheet or one sheet per town from a
run directory read back (:func:`wlgeo.runs.reader.load_run`)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Literal

from wlgeo.io.atomic import refuse_existing
from wlgeo.model.errors import LayerError, OutputError, WlgeoError
from wlgeo.model.pack import LayerPack
from wlgeo.runs.layout import SHEET_STEM
from wlgeo.runs.reader import RunPlan, load_run
from wlgeo.engine.towns import assign_towns
from wlgeo.engine.towns import clean_names
from wlgeo.io.filenames import is_inside, safe_filename, unique_stems

__all__ = ["run_sheets", "SheetReport", "SheetFailure", "DISTRICT_STEM"]

log = logging.getLogger(__name__)

#: File stem of the district sheet ``run_sheets`` writes when no town is asked for.
DISTRICT_STEM = SHEET_STEM


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
    towns = pack.get("towns")
    if towns is None or "town" not in towns.columns:
        raise LayerError("has no 'towns' layer with a 'town' field: cannot draw sheets by town", path=gpkg,
                         layer="towns")
    return list(dict.fromkeys(clean_names(towns["town"]).dropna()))


def _note_unplaced(plan: RunPlan, pack: LayerPack, known: list[str], report: SheetReport) -> None:
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
    from wlgeo.products.sheet import check_sheet_options, save_sheet_file, sheet_figure

    formats = check_sheet_options(paper=paper, orientation=orientation, dpi=dpi, formats=formats)
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
