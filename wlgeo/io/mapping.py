"""Field, value and unit mappings of a catalog layer: ``[layers.X.fields]``, ``.values``, ``.units``.

A bureau file names its columns in Chinese and writes its values the way the bureau does
(``高速公路``, ``是``, capacity in 吨/年). A catalog entry says how to turn them into the canonical
layer, explicitly and editably (``wlgeo init`` writes these tables)::

    [layers.quarries]
    path = ["武隆区采矿权2024.shp", "新增采矿权.shp"]
    [layers.quarries.fields]           # canonical field = source field
    quarry_id = "矿山编号"
    capacity = "生产规模"
    [layers.quarries.values.status]    # source value = canonical value, per (canonical) field
    "停产" = "suspended"
    [layers.quarries.units]
    capacity = "吨/年"                  # converted to 万吨/年 on reading

:func:`parse_mapping` checks the tables when the catalog is read; :func:`apply_mapping` applies
them to a layer as read, recording every change in ``attrs["wlgeo_notes"]``.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from wlgeo.model.errors import LayerError, ReadError
from wlgeo.model.values import id_text, is_missing

__all__ = ["FieldMapping", "parse_mapping", "apply_mapping", "value_key", "UNITS", "MAPPING_KEYS"]

MAPPING_KEYS = ("fields", "values", "units")
"""The sub-tables of a catalog layer entry that :func:`parse_mapping` reads."""

# unit → (quantity, factor to tonnes or cubic metres)
UNITS: dict[str, tuple[str, float]] = {
    "万吨/年": ("t", 1e4),
    "万吨": ("t", 1e4),
    "万t/a": ("t", 1e4),
    "万t": ("t", 1e4),
    "吨/年": ("t", 1.0),
    "吨": ("t", 1.0),
    "t/a": ("t", 1.0),
    "t": ("t", 1.0),
    "万立方米/年": ("m3", 1e4),
    "万立方米": ("m3", 1e4),
    "万m3/a": ("m3", 1e4),
    "万m³/a": ("m3", 1e4),
    "立方米/年": ("m3", 1.0),
    "立方米": ("m3", 1.0),
    "m3/a": ("m3", 1.0),
    "m³/a": ("m3", 1.0),
}
"""Units a ``[layers.X.units]`` entry may name; values are converted to 万吨(/年)."""

_CONVERTIBLE = {"capacity": "万吨/年", "reserves": "万吨"}
"""Canonical fields that carry a unit, and the unit wlgeo uses for them."""

_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LEADING_NUMBER = re.compile(r"^\s*([+-]?(?:\d[\d,]*(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*([^\d\s].*)?$")


@dataclass(frozen=True)
class FieldMapping:
    """How to turn one source layer into a canonical one.

    Attributes
    ----------
    fields : canonical field → source column.
    values : canonical field → {source value (as text) → canonical value}.
    units : canonical field (``capacity``, ``reserves``) → the source's unit.
    density : rock density in t/m³, needed to convert a volume unit (万立方米/年) to tonnes.
    """

    fields: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, object]] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    density: float | None = None

    def __bool__(self) -> bool:
        return bool(self.fields or self.values or self.units)


def value_key(value) -> str | None:
    """The text by which a source value is looked up in a values table (``1.0`` → ``"1"``)."""
    text = id_text(value)
    return None if text is None else unicodedata.normalize("NFKC", text).strip()


def _source_key(text: str) -> str:
    """A values-table key as :func:`value_key` spells values: ``"40.0"`` and ``"40"`` are one key."""
    key = unicodedata.normalize("NFKC", str(text)).strip()
    try:
        number = float(key)
    except ValueError:
        return key
    return str(int(number)) if math.isfinite(number) and number.is_integer() and "." in key else key


def _unit_key(unit: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", unit)).replace("／", "/")


def parse_mapping(entry: dict, *, layer: str, catalog: Path) -> FieldMapping:
    """Read and check the ``fields``/``values``/``units`` tables of catalog entry ``[layers.<layer>]``.

    Raises
    ------
    ReadError
        A table is not a table, a name or value is not text, a unit is unknown.
    """

    def fail(message: str) -> ReadError:
        return ReadError(f"[layers.{layer}.{message}", path=catalog)

    fields_raw = entry.get("fields", {})
    if not isinstance(fields_raw, dict):
        raise fail('fields] must be a table of canonical = "source column" lines')
    fields: dict[str, str] = {}
    for canonical, source in fields_raw.items():
        if not _FIELD_NAME.match(canonical):
            raise fail(f"fields] {canonical!r}: a canonical field name is English snake_case (e.g. capacity)")
        if not isinstance(source, str) or not source.strip():
            raise fail(f"fields] {canonical} must name a source column in quotes, got {source!r}")
        fields[canonical] = source
    values_raw = entry.get("values", {})
    if not isinstance(values_raw, dict):
        raise fail('values.FIELD] tables hold "source value" = "canonical value" lines')
    values: dict[str, dict[str, object]] = {}
    for name, table in values_raw.items():
        if not isinstance(table, dict):
            raise fail(f'values.{name}] must be a table of "source value" = "canonical value" lines')
        mapped: dict[str, object] = {}
        for source, target in table.items():
            if not isinstance(target, (str, bool, int, float)):
                raise fail(f"values.{name}] {source!r} = {target!r}: the canonical value must be text, a number or true/false")
            mapped[_source_key(source)] = target
        values[name] = mapped
    units_raw = entry.get("units", {})
    if not isinstance(units_raw, dict):
        raise fail('units] must be a table such as capacity = "吨/年"')
    units: dict[str, str] = {}
    density = None
    for name, unit in units_raw.items():
        if name == "density":
            if isinstance(unit, bool) or not isinstance(unit, (int, float)) or not math.isfinite(unit) or unit <= 0:
                raise fail(f"units] density must be a positive number (t/m³, e.g. 2.6), got {unit!r}")
            density = float(unit)
            continue
        if name not in _CONVERTIBLE:
            raise fail(f"units] {name}: only {', '.join(_CONVERTIBLE)} carry a unit")
        if not isinstance(unit, str) or _unit_key(unit) not in UNITS:
            raise fail(f"units] {name} = {unit!r}: unknown unit; known: {', '.join(UNITS)}")
        units[name] = _unit_key(unit)
    return FieldMapping(fields, values, units, density)


def apply_mapping(frame: gpd.GeoDataFrame, mapping: FieldMapping, *, layer: str, path=None) -> gpd.GeoDataFrame:
    """Rename, recode and convert ``frame`` as ``mapping`` says; return a copy with notes added.

    Raises
    ------
    LayerError
        A source column named in ``fields`` is not in the layer, or a volume unit is given
        without a ``density``.
    """
    notes = list(frame.attrs.get("wlgeo_notes", []))
    out = frame.copy()
    geometry = out.geometry.name
    if mapping.fields:
        missing = {c: s for c, s in mapping.fields.items() if s not in frame.columns}
        if missing:
            canonical, source = next(iter(missing.items()))
            shown = ", ".join(str(c) for c in frame.columns if c != geometry)
            raise LayerError(
                f"[layers.{layer}.fields] {canonical} = {source!r}: no such column; the columns are: {shown}",
                path=path,
                layer=layer,
                field=canonical,
            )
        sources = set(mapping.fields.values())
        for canonical, source in mapping.fields.items():
            if canonical in frame.columns and canonical != source and canonical not in sources:
                notes.append(f"column '{canonical}' replaced by '{source}' as [layers.{layer}.fields] says")
        columns = {canonical: frame[source] for canonical, source in mapping.fields.items()}
        drop = [s for s in sources if s not in mapping.fields and s != geometry]
        out = out.drop(columns=drop)
        for canonical, series in columns.items():
            out[canonical] = series.values
        renamed = ", ".join(f"{s} → {c}" for c, s in mapping.fields.items() if c != s)
        if renamed:
            notes.append(f"columns mapped by the catalog: {renamed}")
    for name, table in mapping.values.items():
        if name not in out.columns:
            continue
        out[name], changed = _recode(out[name], table)
        if changed:
            notes.append(f"values of '{name}' mapped by the catalog in {changed} feature(s)")
    for name, unit in mapping.units.items():
        if name not in out.columns:
            continue
        out[name] = _convert(out[name], name, unit, mapping.density, layer=layer, path=path, notes=notes)
    out.attrs = dict(frame.attrs)
    out.attrs["wlgeo_notes"] = notes
    return out


def _recode(values: pd.Series, table: dict[str, object]) -> tuple[pd.Series, int]:
    result, changed = [], 0
    for value in values.tolist():
        key = value_key(value)
        if key is not None and key in table:
            result.append(table[key])
            changed += 1
        else:
            result.append(value)
    kinds = {type(v) for v in result if not is_missing(v)}
    if kinds == {bool}:
        series = pd.Series([pd.NA if is_missing(v) else v for v in result], index=values.index, dtype="boolean")
    else:
        series = pd.Series(result, index=values.index, dtype=object)
    return series, changed


def _convert(values: pd.Series, name: str, unit: str, density, *, layer: str, path, notes: list[str]) -> pd.Series:
    target = _CONVERTIBLE[name]
    quantity, factor = UNITS[unit]
    if quantity == "m3":
        if density is None:
            raise LayerError(
                f"{name} is in {unit} (a volume): set density = <t/m³> (e.g. 2.6 for limestone) under "
                f"[layers.{layer}.units] to convert it to {target}",
                path=path,
                layer=layer,
                field=name,
            )
        factor *= density
    scale = factor / 1e4  # to 万吨
    if scale == 1.0:
        return values
    converted = []
    for value in values.tolist():
        number = _leading_number(value)
        converted.append(value if number is None else number * scale)
    how = f"× {density:g} t/m³ " if quantity == "m3" else ""
    notes.append(f"{name} converted from {unit} to {target} ({how}× {scale:g})")
    numbers = [v for v in converted if not is_missing(v)]
    if all(isinstance(v, float) for v in numbers):
        return pd.Series(converted, index=values.index, dtype=float)
    return pd.Series(converted, index=values.index, dtype=object)


def _leading_number(value) -> float | None:
    """A number, or text holding one followed by a unit (``"300000吨/年"``); ``None`` otherwise."""
    if isinstance(value, bool) or is_missing(value):
        return None
    if isinstance(value, (int, float, np.integer, np.floating)):
        number = float(value)
        return number if math.isfinite(number) else None
    match = _LEADING_NUMBER.match(unicodedata.normalize("NFKC", str(value)))
    if not match:
        return None
    return float(match.group(1).replace(",", ""))
