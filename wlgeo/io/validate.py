"""Check a layer pack against the input contract (DESIGN §3) and report every problem at once.

:func:`check_pack` never stops at the first problem: it walks every layer, every feature and
every field it knows and returns a :class:`ValidationReport`. Each :class:`Problem` says how bad
it is (``error`` stops a plan, ``warning`` does not unless ``strict=True``), where it is (layer,
feature id, field) and what is wrong, in Chinese and English.

:func:`normalise_quarries` gives the engine the quarries with their values parsed (dates as
``datetime64``, capacity as float), refusing what :func:`check_pack` reports as an error.

Examples
--------
>>> import geopandas as gpd, shapely, wlgeo
>>> quarries = gpd.GeoDataFrame(
...     {"quarry_id": ["Q-1", "Q-1"], "capacity": [30, -5], "license_end": ["2026-06-30", "soon"]},
...     geometry=[shapely.box(450000, 3250000, 450100, 3250100)] * 2, crs="EPSG:4545")
>>> report = wlgeo.check_pack(wlgeo.LayerPack({"quarries": quarries}))
>>> report.ok
False
>>> sorted(p.code for p in report.errors)
['capacity_not_positive', 'date_unparseable', 'duplicate_id']
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from os import PathLike
from pathlib import Path
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from wlgeo.model.crs import WORKING_CRS, crs_label, working_crs_for
from wlgeo.model.errors import LayerError, PackError, WlgeoError, WlgeoWarning, where
from wlgeo.model.pack import LayerPack
from wlgeo.model.schema import LAYER_NAMES, LAYERS, MANDATORY_LAYERS, FieldSpec, LayerSpec
from wlgeo.model.values import id_text, is_missing, parse_bool_series, parse_date_series, parse_number_series
from wlgeo.io.coords import to_working_crs
from wlgeo.io.pack import pack_sources, read_source
from wlgeo.model.errors import ReadError

__all__ = [
    "Problem",
    "ValidationReport",
    "check_pack",
    "check_layer",
    "normalise_quarries",
    "parse_date_series",
    "BOUNDARY_TOLERANCE_M",
]

log = logging.getLogger(__name__)

Severity = Literal["error", "warning"]

BOUNDARY_TOLERANCE_M = 100.0
"""How far (m) a feature may stick out of the district boundary before it is reported."""

GEOMETRY_TYPES: dict[str, tuple[str, ...]] = {
    "polygon": ("Polygon", "MultiPolygon"),
    "line": ("LineString", "MultiLineString"),
    "point": ("Point", "MultiPoint"),
}

INSIDE_LAYERS = ("quarries", "towns", "parks", "bases", "ports", "resource_zones", "planning_blocks", "settlements")
"""Layers whose features belong inside the district; constraint layers may run across its edge."""

_ID_FIELD = "quarry_id"

_ZH: dict[str, str] = {
    "layer_missing": "缺少必需图层",
    "layer_unreadable": "图层无法读取",
    "layer_empty": "图层为空",
    "layer_ignored": "图层名非标准, 已忽略",
    "read_warning": "读取提示",
    "crs_unplaced": "坐标系无法确定",
    "crs_not_working": "非工作坐标系",
    "field_missing": "缺少必填字段",
    "value_missing": "必填值为空",
    "value_not_allowed": "取值不在允许范围",
    "not_numeric": "不是数值",
    "not_boolean": "不是是/否值",
    "capacity_not_positive": "生产规模须大于0",
    "date_unparseable": "日期无法识别",
    "duplicate_id": "编号重复",
    "geometry_null": "几何为空值",
    "geometry_empty": "几何为空",
    "geometry_type": "几何类型不符",
    "geometry_invalid": "几何无效",
    "geometry_repaired": "几何已修复",
    "outside_boundary": "位于行政区界外",
    "crosses_boundary": "部分超出行政区界",
    "layer_outside_boundary": "整层位于行政区界外",
    "rivers_no_main": "河流缺少干流字段",
    "dem_unreadable": "高程数据无法读取",
    "dem_crs": "高程数据坐标系不符",
    "dem_coverage": "高程数据未覆盖区界",
}


@dataclass(frozen=True)
class Problem:
    """One problem found in a pack.

    Attributes
    ----------
    severity : ``"error"`` (the pack cannot be planned on) or ``"warning"``.
    code : a stable machine-readable code, e.g. ``"capacity_not_positive"``.
    message : what is wrong, in English, echoing the bad value and what was expected.
    layer : canonical layer name, or ``None`` for the pack as a whole.
    feature : the feature's ``quarry_id`` where it has one, else its row index.
    field : the attribute concerned, if any.
    row : the feature's row index in the layer, if the problem is about one feature.
    category : for a ``read_warning``, the warning class the reader raised (e.g.
        :class:`~wlgeo.EncodingGuessWarning`), so a caller can raise it again.
    """

    severity: Severity
    code: str
    message: str
    layer: str | None = None
    feature: object = None
    field: str | None = None
    row: object = None
    category: type[Warning] | None = dataclass_field(default=None, compare=False, repr=False)

    @property
    def message_zh(self) -> str:
        """Short Chinese label of the problem's code."""
        return _ZH.get(self.code, "")

    def location(self) -> str:
        """``layer 'quarries', feature 'Q-3', field 'capacity'``; a feature without id shows as ``row 7``."""
        if self.feature is None or isinstance(self.feature, str):
            return where(layer=self.layer, feature=self.feature, field=self.field)
        parts = [where(layer=self.layer), f"row {self.feature}", where(field=self.field)]
        return ", ".join(part for part in parts if part)

    def __str__(self) -> str:
        label = "error 错误" if self.severity == "error" else "warning 警告"
        location = self.location() or "pack"
        zh = f"{self.message_zh}: " if self.message_zh else ""
        return f"{label}  {location}: {zh}{self.message} [{self.code}]"


@dataclass(frozen=True)
class ValidationReport:
    """Every problem :func:`check_pack` found.

    Attributes
    ----------
    problems : all problems, in the order found (layer by layer).
    strict : whether warnings count as errors.
    pack : the pack that was checked; with ``repair=True``, a repaired copy.
    source : the file the pack came from, if known.
    """

    problems: tuple[Problem, ...]
    strict: bool = False
    pack: LayerPack | None = None
    source: Path | None = None
    info: tuple[str, ...] = ()

    @property
    def errors(self) -> list[Problem]:
        """Problems that stop a plan (with ``strict=True``, every problem)."""
        return [p for p in self.problems if self.strict or p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        """Problems that do not stop a plan (empty with ``strict=True``: they are errors then)."""
        return [] if self.strict else [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        """True when there is no error (with ``strict=True``: no problem at all)."""
        return not self.errors

    def to_text(self) -> str:
        """One line per problem after a summary line, Chinese and English."""
        head = f"{self.source}: " if self.source else ""
        n_err, n_warn = len(self.errors), len(self.warnings)
        info = [f"info 说明  {line}" for line in self.info]
        if not self.problems:
            return "\n".join([f"{head}OK 通过: no problems found", *info])
        verdict = "OK 通过" if self.ok else "FAILED 未通过"
        strict = " (strict: warnings count as errors)" if self.strict else ""
        lines = [f"{head}{verdict}: {n_err} error(s) 错误, {n_warn} warning(s) 警告{strict}"]
        for problem in self.problems:
            text = str(problem)
            if self.strict and problem.severity == "warning":
                text = "error 错误 (strict)" + text[len("warning 警告"):]
            lines.append(text)
        return "\n".join([*lines, *info])

    __str__ = to_text

    def to_frame(self) -> pd.DataFrame:
        """The problems as a table: severity, layer, feature, row, field, code, message, message_zh."""
        columns = ["severity", "layer", "feature", "row", "field", "code", "message", "message_zh"]
        rows = [
            {
                "severity": "error" if self.strict else p.severity,
                "layer": p.layer,
                "feature": p.feature,
                "row": p.row,
                "field": p.field,
                "code": p.code,
                "message": p.message,
                "message_zh": p.message_zh,
            }
            for p in self.problems
        ]
        return pd.DataFrame(rows, columns=columns)

    def raise_for_errors(self) -> None:
        """Raise :class:`PackError` summarising the errors, if there are any."""
        if self.ok:
            return
        first = self.errors[0]
        more = f" (and {len(self.errors) - 1} more; run `wlgeo validate` to list them)" if len(self.errors) > 1 else ""
        raise PackError(
            f"the pack failed validation: {first.message}{more}",
            path=self.source,
            layer=first.layer,
            feature=first.feature,
            field=first.field,
        )


class _Collector:
    """Collects problems for one layer with its feature labels."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems

    def add(self, severity: Severity, code: str, message: str, **where) -> None:
        self.problems.append(Problem(severity, code, message, **where))


# ------------------------------------------------------------------------------- public API
def check_pack(
    pack: LayerPack | str | PathLike,
    *,
    strict: bool = False,
    repair: bool = False,
    boundary_tolerance_m: float = BOUNDARY_TOLERANCE_M,
) -> ValidationReport:
    """Check a layer pack and list every problem at once.

    Parameters
    ----------
    pack : a :class:`LayerPack`, or the path of a pack GeoPackage or catalog TOML. When given a
        path, each layer is read on its own, so a layer whose CRS cannot be placed is reported
        (``crs_unplaced``) while the others are still checked; warnings raised while reading
        (encoding or CRS guessed) are recorded as ``read_warning``.
    strict : count warnings as errors.
    repair : fix invalid geometries with ``shapely.make_valid`` in a copy of the pack
        (``report.pack``) and record each fix as a ``geometry_repaired`` warning. The input
        pack is never modified.
    boundary_tolerance_m : how far a feature may lie outside the ``boundary`` layer.

    Returns
    -------
    ValidationReport

    Raises
    ------
    ReadError
        The pack file itself (or a file its catalog names) cannot be read at all.
    """
    problems: list[Problem] = []
    info: list[str] = []
    source = None
    if not isinstance(pack, LayerPack):
        pack = _read_pack_collecting(pack, problems, info)  # a path; anything else is refused there
        source = pack.source
    else:
        source = pack.source
    checked: dict[str, gpd.GeoDataFrame] = {}
    for name in MANDATORY_LAYERS:
        unread = any(p.layer == name and p.code in ("crs_unplaced", "layer_unreadable") for p in problems)
        if name not in pack.layers and not unread:
            problems.append(
                Problem("error", "layer_missing", f"the pack has no '{name}' layer (mandatory)", layer=name)
            )
    for name, frame in pack.layers.items():
        if name not in LAYERS:
            problems.append(
                Problem("warning", "layer_ignored", f"'{name}' is not a canonical layer name; ignored", layer=name)
            )
            continue
        checked[name] = check_layer(frame, name, problems, repair=repair, working_crs=pack.working_crs)
    _check_boundary(checked, problems, tolerance=boundary_tolerance_m)
    if pack.dem is not None:
        _check_dem(Path(pack.dem), checked.get("boundary"), problems, pack.working_crs)
    out = pack
    if repair:
        out = LayerPack(
            {name: checked.get(name, frame) for name, frame in pack.layers.items()},
            pack.dem,
            pack.source,
            pack.provenance,
            working_crs=pack.working_crs,
            district=pack.district,
        )
    report = ValidationReport(tuple(problems), strict=strict, pack=out, source=source, info=tuple(info))
    log.info("validated %s: %d error(s), %d warning(s)", source or "pack", len(report.errors), len(report.warnings))
    return report


def check_layer(
    frame: gpd.GeoDataFrame,
    name: str,
    problems: list[Problem],
    *,
    repair: bool = False,
    working_crs=None,
) -> gpd.GeoDataFrame:
    """Check one canonical layer, appending to ``problems``; return it (repaired copy if asked).

    The returned frame is in the working CRS (``working_crs``; default: the layer's own
    projected CRS, else the zone holding it) when its CRS could be placed (a copy when it was reprojected); the input is never
    modified.
    """
    spec = LAYERS[name]
    out = _Collector(problems)
    frame = _check_crs(frame, name, out, _layer_working_crs(frame) if working_crs is None else CRS.from_user_input(working_crs))
    if len(frame) == 0:
        severity: Severity = "error" if name in MANDATORY_LAYERS else "warning"
        out.add(severity, "layer_empty", "the layer has no features", layer=name)
        return frame
    labels = _feature_labels(frame, name)
    _check_fields(frame, spec, labels, out)
    frame = _check_geometries(frame, spec, labels, out, repair=repair)
    if name == "quarries" and _ID_FIELD in frame.columns:
        _check_unique_ids(frame, out)
    if name == "rivers" and "main" not in frame.columns:
        out.add(
            "warning",
            "rivers_no_main",
            "the rivers layer has no 'main' field: every river counts as a main river (1000 m corridor)",
            layer=name,
            field="main",
        )
    return frame


def normalise_quarries(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The quarries with parsed values, for the engine.

    Returns a copy on the same index with ``quarry_id`` as stripped text, ``capacity`` and
    ``reserves`` as float, ``license_end`` and ``license_start`` as ``datetime64[ns]``. Geometry
    and every other attribute are unchanged.

    Raises
    ------
    LayerError
        When :func:`check_pack` would report an error on this layer (missing field, bad date,
        capacity ≤ 0, duplicate id, bad geometry...), naming the first one and how many more.
    """
    problems: list[Problem] = []
    check_layer(frame, "quarries", problems)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        first = errors[0]
        more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
        raise LayerError(first.message + more, layer="quarries", feature=first.feature, field=first.field)
    result = frame.copy()
    result[_ID_FIELD] = [id_text(v) for v in frame[_ID_FIELD]]
    for column in ("capacity", "reserves"):
        if column in frame.columns:
            result[column] = parse_number_series(frame[column], units=True)[0]
    for column in ("license_end", "license_start"):
        if column in frame.columns:
            result[column] = parse_date_series(frame[column])[0]
    return result


# ---------------------------------------------------------------------------- reading
def _read_pack_collecting(path: Path, problems: list[Problem], info: list[str]) -> LayerPack:
    """Read a pack layer by layer, turning per-layer content errors into problems.

    Whole-file failures (missing, directory, not a GeoPackage, bad TOML, a catalog naming a
    missing file) still raise ``ReadError``: there is nothing to validate.
    """

    sources = pack_sources(path)
    if sources.outputs:
        info.append(f"a plan GeoPackage: its result layers {', '.join(sources.outputs)} are wlgeo's own outputs, "
                    "not inputs, and are not checked")
    for name in sources.ignored:
        problems.append(
            Problem(
                "warning",
                "layer_ignored",
                f"layer '{name}' is not a canonical layer name and is ignored "
                f"(canonical: {', '.join(LAYER_NAMES)})",
                layer=name,
            )
        )
    layers = {}
    context = sources.context()
    for entry in sources.read_order():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", WlgeoWarning)
            try:
                frame = read_source(entry, context)
            except ReadError:
                raise
            except WlgeoError as err:
                code = "crs_unplaced" if type(err).__name__ == "CRSError" else "layer_unreadable"
                problems.append(Problem("error", code, err.message, layer=entry.name))
                continue
        for item in caught:
            if issubclass(item.category, WlgeoWarning):
                problems.append(Problem("warning", "read_warning", str(item.message), layer=entry.name,
                                        category=item.category))
            else:
                warnings.warn_explicit(item.message, item.category, item.filename, item.lineno)
        layers[entry.name] = frame
        context.learn(entry.name, frame)
    return sources.to_pack(layers, context)


# ---------------------------------------------------------------------------- layer checks
def _feature_labels(frame: gpd.GeoDataFrame, name: str) -> list[object]:
    """quarry_id where a feature has one, else its row index."""
    if name == "quarries" and _ID_FIELD in frame.columns:
        return [idx if id_text(v) is None else id_text(v) for idx, v in zip(frame.index, frame[_ID_FIELD])]
    return list(frame.index)


def _layer_working_crs(frame: gpd.GeoDataFrame) -> CRS:
    """A layer checked alone: its own projected CRS, else the zone holding it, else EPSG:4545."""
    if frame.crs is not None and CRS.from_user_input(frame.crs).is_projected:
        return CRS.from_user_input(frame.crs)
    try:
        return working_crs_for(frame)
    except ValueError:
        return WORKING_CRS


def _check_crs(frame: gpd.GeoDataFrame, name: str, out: _Collector, working: CRS) -> gpd.GeoDataFrame:
    """Bring the frame to the working CRS for checking; report when that needs a guess or fails."""
    if frame.crs is not None and CRS.from_user_input(frame.crs).equals(working):
        return frame

    notes: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", WlgeoWarning)
        try:
            moved = to_working_crs(frame, notes=notes, layer=name, working_crs=working)
        except WlgeoError as err:
            out.add("error", "crs_unplaced", err.message, layer=name)
            return frame.set_crs(None, allow_override=True)
    declared = "no CRS" if frame.crs is None else f"CRS {frame.crs.to_string()}"
    detail = "; ".join(notes) if notes else "reprojected"
    out.add(
        "warning",
        "crs_not_working",
        f"layer has {declared}, not the working CRS {crs_label(working)}: {detail}",
        layer=name,
    )
    return moved


def _alias_hint(frame: gpd.GeoDataFrame, spec: FieldSpec) -> str:
    if spec.alias_zh in frame.columns:
        return f"; column '{spec.alias_zh}' looks like it: rename it to '{spec.name}'"
    if len(spec.name) > 10 and spec.name[:10] in frame.columns:
        return (
            f"; column '{spec.name[:10]}' looks like it cut to a shapefile's 10 characters: "
            f"rename it to '{spec.name}' (wlgeo import does)"
        )
    lower = {str(c).lower(): c for c in frame.columns}
    if spec.name.lower() in lower:
        return f"; column '{lower[spec.name.lower()]}' differs only in case: rename it to '{spec.name}'"
    return ""


def _check_fields(frame: gpd.GeoDataFrame, spec: LayerSpec, labels: list, out: _Collector) -> None:
    for field_spec in spec.fields:
        if field_spec.name not in frame.columns:
            if field_spec.required:
                out.add(
                    "error",
                    "field_missing",
                    f"required field '{field_spec.name}' ({field_spec.alias_zh}) is missing{_alias_hint(frame, field_spec)}",
                    layer=spec.name,
                    field=field_spec.name,
                )
            continue
        _check_values(frame[field_spec.name], spec, field_spec, labels, out)


def _check_values(values: pd.Series, spec: LayerSpec, fs: FieldSpec, labels: list, out: _Collector) -> None:
    severity: Severity = "error" if fs.required else "warning"
    missing = np.array([is_missing(v) for v in values.tolist()], dtype=bool)

    def add(i: int, code: str, message: str, sev: Severity = severity) -> None:
        out.add(sev, code, message, layer=spec.name, feature=labels[i], field=fs.name, row=values.index[i])

    if fs.required:
        for i in np.flatnonzero(missing):
            add(i, "value_missing", f"required value of '{fs.name}' is empty")
    if fs.type == "number":
        numbers, bad = parse_number_series(values, units=fs.name == "capacity")
        for i in np.flatnonzero(bad.to_numpy()):
            add(i, "not_numeric", f"{values.iloc[i]!r} is not a number")
        if fs.name == "capacity":
            for i in np.flatnonzero((numbers <= 0).to_numpy()):
                add(i, "capacity_not_positive", f"capacity must be > 0 万吨/年, got {values.iloc[i]!r}", "error")
    elif fs.type == "date":
        _dates, bad = parse_date_series(values)
        for i in np.flatnonzero(bad.to_numpy()):
            add(
                i,
                "date_unparseable",
                f"{values.iloc[i]!r} is not a date (write 2025-06-30, 2025/6/30, 20250630 or 2025年6月30日)",
            )
    elif fs.type == "bool":
        _flags, bad = parse_bool_series(values)
        for i in np.flatnonzero(bad.to_numpy()):
            add(i, "not_boolean", f"{values.iloc[i]!r} is not yes/no (true/false, 1/0, 是/否)")
    if fs.allowed is not None:
        for i, value in enumerate(values.tolist()):
            if not missing[i] and str(value).strip() not in fs.allowed:
                add(i, "value_not_allowed", f"{value!r} is not one of: {', '.join(fs.allowed)}")


def _check_unique_ids(frame: gpd.GeoDataFrame, out: _Collector) -> None:
    ids = pd.Series([id_text(v) for v in frame[_ID_FIELD]], index=frame.index, dtype=object)
    present = ids.dropna()
    for value, rows in present.groupby(present, sort=True).groups.items():
        if len(rows) > 1:
            out.add(
                "error",
                "duplicate_id",
                f"quarry_id {value!r} is used by {len(rows)} features (rows {', '.join(map(str, rows))})",
                layer="quarries",
                feature=value,
                field=_ID_FIELD,
            )


def _repair_one(geom, kind: str):
    if kind == "polygon":
        return shapely.make_valid(geom, method="structure", keep_collapsed=False)
    return shapely.make_valid(geom)


def _check_geometries(
    frame: gpd.GeoDataFrame, spec: LayerSpec, labels: list, out: _Collector, *, repair: bool
) -> gpd.GeoDataFrame:
    geoms = np.asarray(frame.geometry.values, dtype=object)
    allowed = tuple(t for kind in spec.geometry for t in GEOMETRY_TYPES[kind])
    null = shapely.is_missing(geoms)
    empty = ~null & shapely.is_empty(geoms)
    valid = np.ones(len(geoms), dtype=bool)
    live = ~(null | empty)
    valid[live] = shapely.is_valid(geoms[live])
    repaired = geoms.copy()

    def add(i: int, severity: Severity, code: str, message: str) -> None:
        out.add(severity, code, message, layer=spec.name, feature=labels[i], row=frame.index[i])

    for i in np.flatnonzero(null):
        add(i, "error", "geometry_null", "the feature has no geometry")
    for i in np.flatnonzero(empty):
        add(i, "error", "geometry_empty", "the feature's geometry is empty")
    for i in np.flatnonzero(~valid):
        reason = shapely.is_valid_reason(geoms[i])
        if repair:
            kind = "polygon" if geoms[i].geom_type in GEOMETRY_TYPES["polygon"] else "other"
            fixed = _repair_one(geoms[i], kind)
            repaired[i] = fixed
            add(
                i,
                "warning",
                "geometry_repaired",
                f"invalid geometry ({_describe_reason(reason)}) repaired with make_valid → {fixed.geom_type}",
            )
        else:
            add(i, "error", "geometry_invalid", f"invalid geometry: {_describe_reason(reason)} (repair=True / --repair fixes it)")
    for i in np.flatnonzero(live):
        geom = repaired[i]
        if geom is None or geom.is_empty:
            add(i, "error", "geometry_empty", "the geometry is empty after repair")
        elif geom.geom_type not in allowed:
            add(i, "error", "geometry_type", f"geometry is {geom.geom_type}; a {spec.name} feature must be {' or '.join(allowed)}")
    if repair and not valid.all():
        frame = frame.copy()
        frame[frame.geometry.name] = gpd.GeoSeries(repaired, index=frame.index, crs=frame.crs)
    return frame


def _describe_reason(reason: str) -> str:
    """``Self-intersection[5 5]`` → ``Self-intersection at (5, 5)``."""
    if "[" in reason and reason.endswith("]"):
        text, _, coords = reason[:-1].partition("[")
        return f"{text} at ({', '.join(coords.split())})"
    return reason


# ---------------------------------------------------------------------------- boundary
def _check_boundary(layers: dict[str, gpd.GeoDataFrame], problems: list[Problem], *, tolerance: float) -> None:
    boundary = layers.get("boundary")
    if boundary is None or boundary.crs is None or len(boundary) == 0:
        return
    parts = np.asarray(boundary.geometry.values, dtype=object)
    parts = parts[~(shapely.is_missing(parts) | shapely.is_empty(parts))]
    if not len(parts):
        return
    district = shapely.union_all(shapely.make_valid(parts)).buffer(tolerance)
    shapely.prepare(district)
    for name, frame in layers.items():
        if name == "boundary" or frame.crs is None or len(frame) == 0:
            continue
        geoms = np.asarray(frame.geometry.values, dtype=object)
        live = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
        if not live.any():
            continue
        touches = np.zeros(len(geoms), dtype=bool)
        tree = shapely.STRtree(geoms)
        touches[tree.query(district, predicate="intersects")] = True
        if name not in INSIDE_LAYERS:
            if not touches[live].any():
                problems.append(
                    Problem(
                        "warning",
                        "layer_outside_boundary",
                        f"no feature of '{name}' comes within {tolerance:g} m of the district boundary "
                        "(wrong CRS or a layer of another district?)",
                        layer=name,
                    )
                )
            continue
        labels = _feature_labels(frame, name)
        inside = np.zeros(len(geoms), dtype=bool)
        inside[live & touches] = shapely.within(geoms[live & touches], district)
        for i in np.flatnonzero(live & ~touches):
            problems.append(
                Problem(
                    "error" if name == "quarries" else "warning",
                    "outside_boundary",
                    f"lies wholly outside the district boundary (more than {tolerance:g} m)",
                    layer=name,
                    feature=labels[i],
                    row=frame.index[i],
                )
            )
        for i in np.flatnonzero(live & touches & ~inside):
            problems.append(
                Problem(
                    "warning",
                    "crosses_boundary",
                    f"sticks out of the district boundary by more than {tolerance:g} m",
                    layer=name,
                    feature=labels[i],
                    row=frame.index[i],
                )
            )


# ---------------------------------------------------------------------------- DEM
def _check_dem(path: Path, boundary: gpd.GeoDataFrame | None, problems: list[Problem], working: CRS | None = None) -> None:
    """The DEM opens, is in the working CRS and covers the district (reads one pixel, the last)."""
    working = WORKING_CRS if working is None else working
    import rasterio
    from rasterio.errors import RasterioError

    from rasterio.windows import Window

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
            with rasterio.open(path) as src:
                crs = None if src.crs is None else CRS.from_user_input(src.crs.to_wkt())
                bounds = src.bounds
                src.read(1, window=Window(src.width - 1, src.height - 1, 1, 1))  # a truncated file fails here
    except (RasterioError, OSError) as err:
        reason = str(err).replace(f"{path}: ", "")
        problems.append(Problem("error", "dem_unreadable", f"{path}: cannot be opened as a raster: {reason}", layer="dem"))
        return
    if crs is None or not crs.equals(working, ignore_axis_order=True):
        declared = "no CRS" if crs is None else crs.to_string()
        label = crs_label(working)
        problems.append(
            Problem("error", "dem_crs", f"{path} has {declared}; the DEM must be in the working CRS {label} "
                    f"(gdalwarp -t_srs {label}, or set the catalog's working_crs to the DEM's CRS)", layer="dem")
        )
        return
    if boundary is None or boundary.crs is None or boundary.geometry.isna().all():
        return
    minx, miny, maxx, maxy = boundary.total_bounds
    if minx < bounds.left or miny < bounds.bottom or maxx > bounds.right or maxy > bounds.top:
        problems.append(
            Problem(
                "warning",
                "dem_coverage",
                f"{path} covers {bounds.left:.0f}..{bounds.right:.0f} E, {bounds.bottom:.0f}..{bounds.top:.0f} N "
                f"but the district reaches {minx:.0f}..{maxx:.0f} E, {miny:.0f}..{maxy:.0f} N: "
                "no new sites can be proposed where there is no DEM",
                layer="dem",
            )
        )
