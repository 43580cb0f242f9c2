"""The plan's tables as files: ``summary_towns.csv``, ``caps.csv``, ``not_checked.csv`` and
``summary.xlsx`` (sheets 汇总 summary / 总量控制 caps / 未检查 not checked).

One table per CSV file, UTF-8 with BOM (so Excel on Windows reads the Chinese), integral numbers
without ``.0``. Atomic; text a spreadsheet would evaluate (``=HYPERLINK(...)``) is written as text.
"""

from __future__ import annotations

import csv
import io
import logging
import math
from collections.abc import Mapping
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from wlgeo.engine.summary import CAPACITY_UNIT, CapsCheck
from wlgeo.io.atomic import atomic_write

__all__ = [
    "write_summary_csv",
    "write_caps_csv",
    "write_csv",
    "write_summary_xlsx",
    "caps_table",
    "not_checked_table",
    "spreadsheet_safe",
    "is_formula_like",
    "FORMULA_TRIGGERS",
]

log = logging.getLogger(__name__)

# ---------------------------------------------------------------------------- writing
#: First characters that make a spreadsheet read a text cell as a formula (OWASP, CSV injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def is_formula_like(value: object) -> bool:
    """True for text a spreadsheet would evaluate: it begins with ``= + - @``, a tab or a CR.

    >>> is_formula_like('=HYPERLINK("http://x")'), is_formula_like("和顺镇"), is_formula_like(-3)
    (True, False, False)
    """
    return isinstance(value, str) and value.startswith(FORMULA_TRIGGERS)


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose formula-like text cells (:func:`is_formula_like`) start with a
    single quote, so Excel, LibreOffice and WPS show them as text (OWASP's CSV-injection advice).
    Numbers are left alone."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column].dtype):
            out[column] = out[column].map(lambda v: "'" + v if is_formula_like(v) else v)
    return out


def caps_table(caps: CapsCheck) -> pd.DataFrame:
    """The caps as one table, a row per cap: ``cap`` (its scenario key), ``cap_zh``, ``unit``,
    ``limit`` (empty when the scenario sets none), ``before``, ``after``, ``margin`` (limit − after;
    negative: over the cap) and ``met`` (true/false, empty without a limit)."""
    rows = [
        ("max_quarries", "矿山数量", "个", caps.max_quarries, caps.quarries_before, caps.quarries_after,
         caps.quarries_margin, caps.quarries_ok),
        ("max_total_capacity", "总产能", CAPACITY_UNIT, caps.max_total_capacity, caps.capacity_before,
         caps.capacity_after, caps.capacity_margin, caps.capacity_ok),
    ]
    columns = ["cap", "cap_zh", "unit", "limit", "before", "after", "margin", "met"]
    return pd.DataFrame.from_records(rows, columns=columns).astype({"met": object})


def not_checked_table(not_checked: Mapping[str, str]) -> pd.DataFrame:
    """Rules that were not applied (their layer is absent) and why."""
    return pd.DataFrame({"rule": list(not_checked), "why": list(not_checked.values())})


def _number_text(value: object) -> str:
    """A number as a CSV cell: integral values without a decimal point (``48``, not ``48.0``)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    number = float(value)
    return str(int(round(number))) if number.is_integer() else repr(round(number, 6))


def _csv_text(frame: pd.DataFrame) -> str:
    """``frame`` as CSV text: spreadsheet-safe text, integral numbers without ``.0``, CRLF lines."""
    safe = spreadsheet_safe(frame)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([str(c) for c in safe.columns])
    for row in safe.itertuples(index=False):
        writer.writerow([v if isinstance(v, str) else _number_text(v) for v in row])
    return buffer.getvalue()


def write_csv(path: str | PathLike, frame: pd.DataFrame) -> Path:
    """Write one table as CSV in UTF-8 with a byte-order mark (Excel on Windows then shows the
    Chinese), atomically; text that a spreadsheet would evaluate is written as text."""
    text = _csv_text(frame)

    def write(tmp: Path) -> None:
        with open(tmp, "x", encoding="utf-8-sig", newline="") as handle:
            handle.write(text)

    return atomic_write(path, write)


def write_summary_csv(path: str | PathLike, summary: pd.DataFrame) -> Path:
    """Write the decision × town table (:func:`summary_table`) as ``summary_towns.csv``."""
    return write_csv(path, summary)


def write_caps_csv(path: str | PathLike, caps: CapsCheck) -> Path:
    """Write the caps table (:func:`caps_table`) as ``caps.csv``."""
    return write_csv(path, caps_table(caps))


def _protect_formulas(sheet) -> None:
    """Mark formula-like text cells of an openpyxl sheet as text with a quote prefix (as Excel does
    for a typed leading apostrophe), so they are never evaluated."""
    for row in sheet.iter_rows():
        for cell in row:
            if is_formula_like(cell.value):
                cell.data_type = "s"
                cell.quotePrefix = True


def write_summary_xlsx(
    path: str | PathLike, summary: pd.DataFrame, caps: CapsCheck, *, not_checked: Mapping[str, str] | None = None
) -> Path:
    """Write the summary workbook (sheets ``汇总 summary``, ``总量控制 caps`` and, when some rule
    was not checked, ``未检查 not checked``) with openpyxl, atomically; formula-like text is
    stored as text."""

    def write(tmp: Path) -> None:
        with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
            summary.to_excel(writer, sheet_name="汇总 summary", index=False)
            caps_table(caps).to_excel(writer, sheet_name="总量控制 caps", index=False)
            if not_checked:
                not_checked_table(not_checked).to_excel(writer, sheet_name="未检查 not checked", index=False)
            for sheet in writer.sheets.values():
                _protect_formulas(sheet)
                for column in sheet.columns:
                    width = max(len(str(c.value or "")) for c in column)
                    sheet.column_dimensions[column[0].column_letter].width = min(60, max(10, width * 1.3))

    return atomic_write(path, write)


