"""Batch export of a plan GeoPackage: one styled, valid GeoPackage per town or per decision class.

``export_plan("out/plan.gpkg", by="town", out_dir="out/towns")`` writes ``白马镇.gpkg``,
``火炉镇.gpkg``, ... each holding that town's quarries, consolidation groups and new sites and the
context layers clipped to the town polygon; ``by="decision"`` writes ``close_关闭退出.gpkg``, ...
Every file goes through :func:`wlgeo.products.geopackage.write_geopackage` (temporary name, then rename;
styles, aliases and metadata), and ``index.csv`` (UTF-8 with BOM, for Excel) lists every file
with its feature count per layer. A failure on one output leaves the others whole; the
:class:`ExportReport` lists it.
"""

from __future__ import annotations

import csv
import datetime as _dt
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Literal

import geopandas as gpd
import numpy as np

from wlgeo.model.errors import LayerError, OutputError, WlgeoError
from wlgeo.products.geopackage import read_gpkg_metadata, write_geopackage
from wlgeo.io.read import file_sha256
from wlgeo.io.planfile import read_plan_layers as _read_plan
from wlgeo.engine.towns import assign_towns, clean_names
from wlgeo.io.filenames import is_inside, safe_filename, unique_stems
from wlgeo.model.decisions import UNASSIGNED_STEM
from wlgeo.products.style import DECISION_SYMBOLS, DECISIONS
from wlgeo.io.atomic import atomic_path, refuse_existing
from wlgeo import __version__
from wlgeo.products.qgis_style import layer_style

__all__ = [
    "export_plan",
    "ExportReport",
    "ExportedFile",
    "ExportFailure",
    "PLAN_LAYERS",
    "UNASSIGNED",
]

log = logging.getLogger(__name__)

#: Layers that carry the plan's results (the others are context layers).
PLAN_LAYERS = ("quarries", "consolidation_groups", "new_sites")
#: File stem of the export holding features that lie in no known town.
#: File stem of the features in no known town.
UNASSIGNED = UNASSIGNED_STEM
INDEX_NAME = "index.csv"

ProgressCallback = Callable[[int, int, str], None]

#: Bidirectional controls (LRM/RLM, ALM, embeddings/overrides U+202A–202E, isolates U+2066–2069):
#: removed, so a town named ``U+202E + 'fdp.exe'`` cannot show as ``exe.pdf`` in a file manager.


@dataclass(frozen=True)
class ExportedFile:
    """One GeoPackage written: its path, the town or class it holds and the count per layer."""

    path: Path
    key: str
    counts: dict[str, int]


@dataclass(frozen=True)
class ExportFailure:
    """One output that could not be written, and why."""

    key: str
    path: Path
    error: str


@dataclass
class ExportReport:
    """What :func:`export_plan` wrote and what failed.

    Attributes
    ----------
    by : ``"town"`` or ``"decision"``.
    out_dir : the output directory.
    files : every GeoPackage written, in order.
    failures : every output that failed (the others are whole).
    index : path of ``index.csv`` (``None`` when it could not be written).
    notes : assumptions made (quarries assigned to a town by overlap, unclipped context, ...).
    """

    by: str
    out_dir: Path
    files: list[ExportedFile] = field(default_factory=list)
    failures: list[ExportFailure] = field(default_factory=list)
    index: Path | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every output was written."""
        return not self.failures and self.index is not None

    def total(self, layer: str) -> int:
        """Features of ``layer`` over every file written."""
        return sum(f.counts.get(layer, 0) for f in self.files)


# --------------------------------------------------------------------------------------------
# reading the plan


def _select_layers(available: dict[str, gpd.GeoDataFrame], layers: Iterable[str] | None, plan_gpkg: Path):
    if layers is None:
        return available
    wanted = [name.strip() for name in layers if name and name.strip()]
    unknown = [name for name in wanted if name not in available]
    if unknown:
        raise LayerError(
            f"unknown layer(s) {', '.join(map(repr, unknown))}; the plan has: {', '.join(available)}",
            path=plan_gpkg,
        )
    if not wanted:
        raise LayerError("no layers selected", path=plan_gpkg)
    return {name: available[name] for name in available if name in wanted}


# --------------------------------------------------------------------------------------------
# building each output


def _clip(frame: gpd.GeoDataFrame, mask) -> gpd.GeoDataFrame:
    if frame.empty:
        return frame
    hits = frame.sindex.query(mask, predicate="intersects")
    subset = frame.iloc[np.sort(hits)]
    if subset.empty:
        return subset
    clipped = gpd.clip(subset, mask, keep_geom_type=True)
    return clipped[~clipped.geometry.is_empty & clipped.geometry.notna()]


def _town_outputs(layers: dict[str, gpd.GeoDataFrame], all_layers, report: ExportReport) -> dict[str, dict]:
    towns = all_layers.get("towns")
    quarries = all_layers["quarries"]
    q_town, by_overlap = assign_towns(quarries, towns)
    if by_overlap:
        report.notes.append(f"{by_overlap} quarries had no town field value: placed in the town polygon holding most of them")
    keys: list[str] = []
    for name in (quarries.get("town"), towns["town"] if towns is not None and "town" in towns else None):
        if name is not None:
            keys.extend(k for k in clean_names(name).dropna().unique() if k not in keys)
    if q_town.isna().any():
        keys.append(UNASSIGNED)
        report.notes.append(f"{int(q_town.isna().sum())} quarries lie in no known town: written to {UNASSIGNED}.gpkg")
    q_key = q_town.fillna(UNASSIGNED)

    # consolidation groups follow their members; new sites are placed like quarries
    groups = all_layers.get("consolidation_groups")
    group_towns: dict[object, set[str]] = {}
    if groups is not None and "group_id" in quarries.columns and "group_id" in groups.columns:
        for gid, town in zip(quarries["group_id"], q_key):
            if gid is not None and not (isinstance(gid, float) and np.isnan(gid)):
                group_towns.setdefault(gid, set()).add(town)
    elif groups is not None:
        placed, _ = assign_towns(groups, towns)
        group_towns = {gid: {t} for gid, t in zip(groups.index, placed.fillna(UNASSIGNED))}
    sites = all_layers.get("new_sites")
    site_key = assign_towns(sites, towns)[0].fillna(UNASSIGNED) if sites is not None else None
    if site_key is not None and (site_key == UNASSIGNED).any() and UNASSIGNED not in keys:
        keys.append(UNASSIGNED)

    outputs: dict[str, dict] = {}
    no_polygon: list[str] = []
    for key in keys:
        content: dict[str, gpd.GeoDataFrame] = {}
        mask = None
        if towns is not None and "town" in towns.columns and key != UNASSIGNED:
            polygons = towns[clean_names(towns["town"]) == key]
            if len(polygons):
                mask = polygons.geometry.union_all()
        for name, frame in layers.items():
            if name == "quarries":
                content[name] = frame[(q_key == key).to_numpy()]
            elif name == "consolidation_groups":
                if "group_id" in frame.columns and group_towns and "group_id" in quarries.columns:
                    content[name] = frame[np.array([key in group_towns.get(g, ()) for g in frame["group_id"]], dtype=bool)]
                else:
                    content[name] = frame[np.array([key in group_towns.get(i, ()) for i in frame.index], dtype=bool)]
            elif name == "new_sites":
                content[name] = frame[(site_key == key).to_numpy()] if site_key is not None else frame.iloc[:0]
            elif name == "towns":
                content[name] = frame[(clean_names(frame["town"]) == key).to_numpy()] if "town" in frame else frame.iloc[:0]
            elif mask is not None:
                content[name] = _clip(frame, mask)
        if mask is None and any(n not in PLAN_LAYERS and n != "towns" for n in layers):
            no_polygon.append(key)
        outputs[key] = content
    if no_polygon:
        report.notes.append(f"no town polygon for {', '.join(no_polygon)}: context layers not included there")
    return outputs


def _decision_outputs(layers: dict[str, gpd.GeoDataFrame], all_layers, report: ExportReport) -> dict[str, dict]:
    quarries = all_layers["quarries"]
    if "decision" not in quarries.columns:
        raise LayerError("has no 'decision' field: is this a plan GeoPackage?", layer="quarries")
    values = clean_names(quarries["decision"])
    unknown = sorted(set(values.dropna()) - set(DECISIONS))
    if unknown:
        raise LayerError(
            f"unknown decision value(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(DECISIONS)}",
            layer="quarries",
            field="decision",
        )
    if values.isna().any():
        report.notes.append(f"{int(values.isna().sum())} quarries have no decision: not exported")
    outputs: dict[str, dict] = {}
    sites = all_layers.get("new_sites")
    for decision in DECISIONS:
        content: dict[str, gpd.GeoDataFrame] = {}
        if decision == "new":
            if sites is None or sites.empty or "new_sites" not in layers:
                continue
            content["new_sites"] = layers["new_sites"]
        else:
            selected = (values == decision).to_numpy()
            if not selected.any():
                continue
            if "quarries" in layers:
                content["quarries"] = layers["quarries"][selected]
            if decision == "consolidate" and "consolidation_groups" in layers:
                content["consolidation_groups"] = layers["consolidation_groups"]
        for context in ("boundary", "towns"):
            if context in layers:
                content[context] = layers[context]
        if content:
            outputs[f"{decision}_{DECISION_SYMBOLS[decision].label_zh}"] = content
    return outputs


# --------------------------------------------------------------------------------------------
# entry point


def export_plan(
    plan_gpkg: str | PathLike,
    *,
    by: Literal["town", "decision"],
    out_dir: str | PathLike,
    layers: Sequence[str] | None = None,
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
) -> ExportReport:
    """Write one GeoPackage per town or per decision class from a plan GeoPackage.

    Parameters
    ----------
    plan_gpkg : the ``plan.gpkg`` written by ``wlgeo run`` (or any GeoPackage with a
        ``quarries`` layer; ``by="decision"`` needs its ``decision`` field).
    by : ``"town"``: each town's quarries (their ``town`` field, or the town polygon holding most
        of them), the consolidation groups they belong to, the new sites in the town and every
        context layer clipped to the town polygon. ``"decision"``: the quarries of each class
        (consolidate adds the groups, new the new sites), with the boundary and towns.
    out_dir : output directory (created when missing). File names come from the data and are
        sanitised with :func:`safe_filename`; Chinese names are kept (``和顺镇.gpkg``).
    layers : write only these layers (names of the plan's layers).
    overwrite : replace existing files; without it any existing target stops the export
        before anything is written.
    progress : called as ``progress(done, total, key)`` after each output.

    Returns
    -------
    ExportReport
        Files written with their counts, failures (each with its reason), ``index.csv``.

    Raises
    ------
    ReadError
        The plan cannot be read.
    LayerError
        ``by`` or ``layers`` names something the plan does not have.
    OutputError
        Targets exist without ``overwrite``, or ``out_dir`` is not a directory.
    """
    if by not in ("town", "decision"):
        raise LayerError(f"by={by!r} is not allowed; allowed: 'town', 'decision'")
    plan_gpkg = Path(plan_gpkg)
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError("exists and is not a directory", path=out_dir)
    all_layers = _read_plan(plan_gpkg)
    for frame in all_layers.values():
        frame.attrs = {}  # pandas deep-copies attrs on every subset: thousands of copies per export
    selected = _select_layers(all_layers, layers, plan_gpkg)
    if by == "decision" and "decision" not in all_layers["quarries"].columns:
        raise LayerError("has no field: is this a plan GeoPackage?", path=plan_gpkg, layer="quarries", field="decision")
    report = ExportReport(by=by, out_dir=out_dir)
    build = _town_outputs if by == "town" else _decision_outputs
    outputs = build(selected, all_layers, report)
    stems = unique_stems(list(outputs), safe_filename, reserved=[Path(INDEX_NAME).stem])
    targets = {key: out_dir / f"{stems[key]}.gpkg" for key in outputs}
    for key, target in targets.items():
        if not is_inside(out_dir, target):  # defence in depth: safe_filename already prevents it
            raise OutputError(f"output name for {key!r} would leave the output directory", path=target)
        if target.resolve() == plan_gpkg.resolve():  # a town named 'plan' exported into the run
            raise OutputError(f"the output for {key!r} would overwrite the plan being exported; choose another "
                              "output directory", path=target)
    index_path = out_dir / INDEX_NAME
    if not overwrite:
        refuse_existing([*targets.values(), index_path], out_dir=out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    # styles made once from the whole plan's layers, not once per file (each town's file holds a
    # subset of the same layers, styled the same way)

    styles = {name: style for name, frame in selected.items() if (style := layer_style(name, frame)) is not None}
    base_meta = read_gpkg_metadata(plan_gpkg) or {}
    source = {"path": str(plan_gpkg), "sha256": file_sha256(plan_gpkg)}

    total = len(outputs)
    for done, (key, content) in enumerate(outputs.items(), start=1):
        target = targets[key]
        meta = dict(base_meta)
        meta["export"] = {
            "by": by,
            "key": key,
            "source": source,
            "wlgeo_version": __version__,
            "exported_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        }
        try:
            write_geopackage(target, content, metadata=meta, overwrite=overwrite, styles=styles)
        except (WlgeoError, OSError, ValueError) as err:
            log.warning("export of %s failed: %s", key, err)
            report.failures.append(ExportFailure(key=key, path=target, error=str(err)))
        else:
            report.files.append(ExportedFile(path=target, key=key, counts={n: len(f) for n, f in content.items()}))
        if progress is not None:
            progress(done, total, key)
    try:
        report.index = _write_index(index_path, report, layer_order=list(selected))
    except OSError as err:
        report.failures.append(ExportFailure(key=INDEX_NAME, path=index_path, error=str(err)))
    return report


def _write_index(path: Path, report: ExportReport, *, layer_order: list[str]) -> Path:
    """``index.csv`` (UTF-8 with BOM): file, key, then the feature count of every layer."""
    columns = [name for name in layer_order if any(name in f.counts for f in report.files)]
    with atomic_path(path, what="index") as tmp, open(tmp, "x", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", report.by, *columns])
        for item in report.files:
            writer.writerow([item.path.name, item.key, *(item.counts.get(c, 0) for c in columns)])
    return path
