"""Corner-point tables: one row per corner of a mining right, in a CSV or XLSX sheet.

Bureaus hand mining-right boundaries over as spreadsheets: a right id, the point name, X
(northing) and Y (easting, maybe with the zone prefix, e.g. 37), sometimes a ring number and per-right
columns such as the mine name or the elevation range (开采标高). Headers come in English or
Chinese, often below a title row, with ids in merged cells. :func:`read_corner_table` finds the
header row, recognises the columns by name, groups the rows by right (in file order) and builds
one polygon per right, as stored: geometry x = the Y column, y = the X column, no CRS.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import re
from pathlib import Path

import geopandas as gpd
import pandas as pd

from wlgeo.model.errors import LayerError, ReadError
from wlgeo.model.schema import LAYERS
from wlgeo.io.bubiao import assemble_polygon, invalid_geometry_notes
from wlgeo.io.gridhint import GridHint, hint_from_text
from wlgeo.io.raw import RawLayer, read_text_file

log = logging.getLogger(__name__)

__all__ = ["read_corner_table", "COLUMN_NAMES"]

COLUMN_NAMES: dict[str, tuple[str, ...]] = {
    "id": ("quarry_id", "right_id", "id", "矿权编号", "采矿权编号", "许可证号", "采矿许可证号", "矿山编号", "编号"),
    "point": ("point", "point_id", "点号", "拐点号", "拐点编号", "界址点号", "点名"),
    "x": ("x", "x坐标", "纵坐标", "北坐标", "northing"),
    "y": ("y", "y坐标", "横坐标", "东坐标", "easting"),
    "ring": ("ring", "part", "圈号", "环号"),
}
"""Accepted header names (compared lower-case, without spaces and bracketed units)."""

_NAME_AS_ID = ("矿山名称", "name")
_HEADER_SCAN_ROWS = 20

_ROW_COUNTERS = ("序号", "no", "no.", "seq")
"""Row-counter columns: not an attribute of the right, dropped."""

_ATTR_NAMES_ZH: dict[str, str] = {
    f.alias_zh: f.name for f in LAYERS["quarries"].fields
} | {
    "矿山名称": "name",
    "采矿权人": "owner",
    "矿种": "mineral",
    "开采矿种": "mineral",
    "开采标高": "elevation_range",
    "开采深度": "elevation_range",
    "最高标高": "elevation_max",
    "最低标高": "elevation_min",
    "生产规模": "capacity",
    "所在乡镇": "town",
    "乡镇": "town",
    "面积": "area",
    "矿区面积": "area",
    "有效期起": "license_start",
    "有效期止": "license_end",
}


def _attr_name(header: object) -> str:
    key = _norm(header)
    for zh, name in _ATTR_NAMES_ZH.items():
        if _norm(zh) == key:
            return name
    return str(header).strip()


def _norm(name: object) -> str:
    """Header cell → comparison key: lower case, no spaces, no bracketed unit (``X坐标(m)`` → ``x坐标``)."""
    text = "" if name is None else str(name)
    text = re.sub(r"[（(\[【].*?[)）\]】]", "", text)
    return re.sub(r"\s+", "", text).lower()


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or str(value).strip() == ""


# --- loading the cells ---------------------------------------------------------------------


def _csv_rows(path: Path, encoding: str | None, notes: list[str]) -> tuple[list[list], str]:
    text, used = read_text_file(path, encoding, notes)
    head = "\n".join(text.splitlines()[:_HEADER_SCAN_ROWS])
    delimiter = max((",", "\t", ";"), key=head.count)
    try:
        rows = [list(r) for r in csv.reader(io.StringIO(text), delimiter=delimiter)]
    except csv.Error as err:
        raise ReadError(f"cannot be read as CSV: {err}", path=path) from err
    width = max((len(r) for r in rows), default=0)
    return [r + [""] * (width - len(r)) for r in rows], used


def _sheet_rows(ws) -> list[list]:
    rows = [list(row) for row in ws.iter_rows(values_only=True)]
    width = max((len(r) for r in rows), default=0)
    rows = [r + [None] * (width - len(r)) for r in rows]
    for merged in ws.merged_cells.ranges:  # a merged cell holds its value in the top-left only
        value = ws.cell(merged.min_row, merged.min_col).value
        for r in range(merged.min_row, merged.max_row + 1):
            for c in range(merged.min_col, merged.max_col + 1):
                rows[r - 1][c - 1] = value
    return rows


def _xlsx_rows(path: Path, sheet: str | None, notes: list[str]) -> tuple[list[list], str]:
    if path.suffix.lower() == ".xls":
        raise ReadError("old-style .xls workbooks are not supported; save the sheet as .xlsx or .csv", path=path)
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, data_only=True)
    except Exception as err:  # openpyxl raises zipfile, KeyError, ValueError... on bad files
        raise ReadError(f"cannot be opened as an XLSX workbook: {err}", path=path) from err
    names = book.sheetnames
    if sheet is not None:
        if sheet not in names:
            raise ReadError(f"has no sheet {sheet!r}; its sheets are: {', '.join(names)}", path=path)
        return _sheet_rows(book[sheet]), sheet
    if len(names) == 1:
        return _sheet_rows(book[names[0]]), names[0]
    fitting = [(name, rows) for name in names if _find_header(rows := _sheet_rows(book[name])) is not None]
    if len(fitting) == 1:
        notes.append(f"workbook has {len(names)} sheets; read {fitting[0][0]!r}, the only one with corner columns")
        return fitting[0][1], fitting[0][0]
    raise ReadError(
        f"holds {len(names)} sheets and {len(fitting) or 'none'} of them look like corner tables; "
        f"pass layer= (the sheet) one of: {', '.join(names)}",
        path=path,
    )


# --- header and columns ---------------------------------------------------------------------


def _match(cells: list) -> dict[str, int]:
    keys = [_norm(c) for c in cells]
    found: dict[str, int] = {}
    for role, accepted in COLUMN_NAMES.items():
        for name in accepted:  # earlier names win (quarry_id before 编号)
            if name in keys:
                found[role] = keys.index(name)
                break
    if "id" not in found:
        for name in _NAME_AS_ID:
            if name in keys:
                found["id"] = keys.index(name)
                break
    return found


def _find_header(rows: list[list]) -> tuple[int, dict[str, int]] | None:
    for index, row in enumerate(rows[:_HEADER_SCAN_ROWS]):
        found = _match(row)
        if "x" in found and "y" in found:
            return index, found
    return None


def _layout_error(rows: list[list], path: Path, sheet: str | None) -> LayerError:
    first = next((r for r in rows if any(not _blank(c) for c in r)), [])
    seen = ", ".join(str(c).strip() for c in first if not _blank(c)) or "(none)"
    accepted = "; ".join(f"{role}: {', '.join(names)}" for role, names in COLUMN_NAMES.items())
    return LayerError(
        f"cannot recognise the corner-table columns; found: {seen}. Accepted names — {accepted} "
        f"(矿山名称 also serves as id)",
        path=path,
        layer=sheet,
    )


def _hint_above(rows: list[list], header_index: int, notes: list[str]) -> GridHint | None:
    """A title row above the header often names the grid (``坐标系：1980西安坐标系 3度带 第37带``)."""
    texts = []
    for row in rows[:header_index]:
        for cell in row:
            text = "" if _blank(cell) else str(cell).strip()
            if re.search(r"坐标|cgcs|西安|北京|带|wgs|utm|子午线|经线", text, re.I):
                texts.append(text)
    if not texts:
        return None
    hint = hint_from_text(" ".join(texts))
    if hint.empty:
        return None
    notes.append(f"grid from the title row {hint.said!r}: " + ", ".join(
        f"{k} {v}" for k, v in (("datum", hint.datum or ("WGS84" if hint.wgs84 else None)),
                                ("width", hint.width), ("zone", hint.zone)) if v is not None))
    notes.extend(hint.notes)
    return hint


# --- rows → rights --------------------------------------------------------------------------


def _number(value, *, path, sheet, row_no, right, column) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    else:
        text = "" if value is None else str(value).strip()
        if re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?", text):
            text = text.replace(",", "")
        try:
            number = float(text)
        except ValueError:
            number = math.nan
    if not math.isfinite(number):
        raise LayerError(
            f"row {row_no}: {value!r} is not a number", path=path, layer=sheet, feature=right, field=column
        )
    return number


def _attr_value(value):
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _numeric_columns(frame: pd.DataFrame, columns: list[str]) -> None:
    for column in columns:
        values = frame[column]
        texts = values.map(lambda v: isinstance(v, str))
        if texts.any() and not values[texts].str.fullmatch(r"[+-]?0\d+").any():  # keep codes like 0602
            converted = pd.to_numeric(values, errors="coerce")
            if converted.notna().sum() == values.notna().sum():
                frame[column] = converted


def read_corner_table(
    path: Path, *, sheet: str | None = None, encoding: str | None = None
) -> RawLayer:
    """Read a corner-point table (CSV or XLSX) into one polygon per right, as stored.

    Parameters
    ----------
    path : a ``.csv`` (UTF-8 or GBK) or ``.xlsx`` file.
    sheet : the sheet of a workbook; when ``None`` the only sheet, or the only one whose header
        has corner columns.
    encoding : text encoding of a CSV; when ``None``, UTF-8 then GBK.

    Returns
    -------
    RawLayer
        One row per right with ``quarry_id`` (from the id column; see :data:`COLUMN_NAMES`) and
        every other per-right column (first value per right; known Chinese headers get English
        names, e.g. 矿山名称 → ``name``, 开采标高 → ``elevation_range``). Geometry x = the Y
        column, y = the X column; no CRS (the funnel recognises GK metres, prefix and swap).

    Raises
    ------
    ReadError
        The file cannot be opened or decoded, or the sheet is ambiguous or missing.
    LayerError
        Columns not recognised (the message lists those found and those accepted); a row with
        no id or a non-numeric coordinate; a right with fewer than 3 distinct points. Messages
        name the file, row number, right and column.

    Examples
    --------
    >>> raw = read_corner_table(Path("rights.xlsx"))  # doctest: +SKIP
    >>> raw.frame["quarry_id"].tolist()  # doctest: +SKIP
    """
    path = Path(path)
    notes: list[str] = []
    if path.suffix.lower() == ".csv":
        rows, used = _csv_rows(path, encoding, notes)
        layer, encoding_used = None, used
    else:
        rows, layer = _xlsx_rows(path, sheet, notes)
        encoding_used = None
    found = _find_header(rows)
    if found is None or "id" not in found[1]:
        raise _layout_error(rows if found is None else rows[found[0]:], path, layer)
    header_index, columns = found
    header = rows[header_index]
    hint = _hint_above(rows, header_index, notes)
    if _norm(header[columns["id"]]) in _NAME_AS_ID:
        notes.append(f"no id column: rights grouped by {header[columns['id']]!s}")
    used_cols = set(columns.values())
    attr_cols = [
        (i, _attr_name(name))
        for i, name in enumerate(header)
        if i not in used_cols and not _blank(name) and _norm(name) not in _ROW_COUNTERS
    ]
    col_name = {role: str(header[i]).strip() for role, i in columns.items()}

    rights: dict[str, dict] = {}
    for offset, row in enumerate(rows[header_index + 1 :], start=header_index + 2):
        cell = {role: row[i] if i < len(row) else None for role, i in columns.items()}
        if all(_blank(cell.get(role)) for role in ("id", "x", "y", "point")):
            continue
        if _blank(cell["id"]):
            raise LayerError(
                f"row {offset}: no right id", path=path, layer=layer, field=col_name["id"]
            )
        right = str(cell["id"]).strip()
        if isinstance(cell["id"], float) and cell["id"].is_integer():
            right = str(int(cell["id"]))
        northing = _number(cell["x"], path=path, sheet=layer, row_no=offset, right=right, column=col_name["x"])
        easting = _number(cell["y"], path=path, sheet=layer, row_no=offset, right=right, column=col_name["y"])
        ring = "1" if _blank(cell.get("ring")) else str(cell["ring"]).strip()
        entry = rights.setdefault(right, {"row": offset, "rings": [], "attrs": {}})
        if not entry["rings"] or entry["rings"][-1][0] != ring:
            entry["rings"].append((ring, []))
        entry["rings"][-1][1].append((easting, northing))
        for i, name in attr_cols:
            value = _attr_value(row[i] if i < len(row) else None)
            if entry["attrs"].get(name) is None and value is not None:
                entry["attrs"][name] = value
    if not rights:
        raise LayerError("the table has a header but no corner rows", path=path, layer=layer)

    records, geoms = [], []
    for right, entry in rights.items():
        distinct = {p for _, pts in entry["rings"] for p in pts}
        if len(distinct) < 3:
            raise LayerError(
                f"row {entry['row']}: the right has {len(distinct)} distinct corner point(s); a "
                "polygon needs at least 3",
                path=path,
                layer=layer,
                feature=right,
                field=col_name["x"],
            )
        what = {"path": path, "layer": layer, "feature": right}
        geoms.append(assemble_polygon(entry["rings"], what=what))
        records.append({"quarry_id": right} | {name: entry["attrs"].get(name) for _, name in attr_cols})
    names = ["quarry_id"] + [name for _, name in attr_cols]
    frame = gpd.GeoDataFrame(records, columns=list(dict.fromkeys(names)), geometry=geoms, crs=None)
    _numeric_columns(frame, [n for n in dict.fromkeys(names) if n != "quarry_id"])
    notes.extend(invalid_geometry_notes(frame["quarry_id"], frame.geometry.values, "right"))
    described = ", ".join(f"{role}={name}" for role, name in col_name.items())
    notes.append(
        f"corner table: {len(frame)} right(s) from {sum(len(p) for e in rights.values() for _, p in e['rings'])} "
        f"rows; columns {described}; X taken as northing, Y as easting"
    )
    return RawLayer(frame=frame, datum=hint.datum if hint else None, encoding=encoding_used, notes=notes, hint=hint)
