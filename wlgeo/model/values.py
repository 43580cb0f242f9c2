"""Parsing attribute values the way bureau files write them: dates, numbers, yes/no.

Each parser takes a Series and returns the parsed Series (same index) and a boolean mask of the
values that were present but could not be parsed, so a caller can report every bad value with
its row. Missing values (None, NaN, NaT, empty or blank text) are neither parsed nor bad.

Examples
--------
>>> import pandas as pd
>>> dates, bad = parse_date_series(pd.Series(["2025-06-30", "2025/6/30", "20250630", "2025年6月30日", "soon"]))
>>> [d.strftime("%Y-%m-%d") if not pd.isna(d) else None for d in dates]
['2025-06-30', '2025-06-30', '2025-06-30', '2025-06-30', None]
>>> bad.tolist()
[False, False, False, False, True]
"""

from __future__ import annotations

import datetime as _dt
import math
import re
import unicodedata
from numbers import Number

import numpy as np
import pandas as pd

__all__ = ["parse_date", "parse_date_series", "parse_number_series", "parse_bool_series", "yes_flags", "is_missing",
           "id_text"]

_DATE_SEP = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_DATE_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_DATE_ZH = re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?$")
_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
_CAPACITY_UNIT = re.compile(r"\s*(?:万吨/年|万吨|万t/a|万t)$", re.IGNORECASE)
_YEARS = (1900, 2200)
_CHINA_TZ = _dt.timezone(_dt.timedelta(hours=8))
"""Time-zone-aware dates are read as the date they fall on in China (UTC+8, no DST)."""
"""Plausible licence years; outside them a date is a typo (and would overflow datetime64[ns])."""
_TRUE = {"true", "t", "yes", "y", "1", "是", "真", "干流"}
_FALSE = {"false", "f", "no", "n", "0", "否", "假"}


def is_missing(value) -> bool:
    """Whether ``value`` is absent: None, NaN, NaT, pandas NA, or blank text."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if isinstance(value, np.datetime64) and np.isnat(value):
        return True
    if isinstance(value, str) and not value.strip():
        return True
    return False


def id_text(value) -> str | None:
    """An identifier as text: stripped, ``None`` when missing; a whole float loses its ``.0``.

    Spreadsheets store ``1`` as ``1.0``, so ``1``, ``1.0`` and ``"1"`` are the same id.

    >>> [id_text(v) for v in (1, 1.0, " 1 ", "Q-1", 2.5, None, "  ")]
    ['1', '1', '1', 'Q-1', '2.5', None, None]
    """
    if is_missing(value):
        return None
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value).strip()


def _text(value) -> str:
    """NFKC-normalised, stripped text (full-width digits and slashes become ASCII)."""
    return unicodedata.normalize("NFKC", str(value)).strip()


def parse_date(value) -> pd.Timestamp | None:
    """Parse one date; return ``None`` when it is not a date written in an accepted form.

    Accepted: ``datetime``/``date``/``Timestamp``/``datetime64`` values; text ``2025-06-30``,
    ``2025/6/30``, ``2025.6.30`` (optionally followed by a time), ``20250630``, ``2025年6月30日``;
    the integer ``20250630``. A time-zone-aware datetime gives its calendar date in China (UTC+8):
    ``2027-06-29T16:00Z`` is 2027-06-30. The calendar is checked (``2025-02-30`` is not a date) and the
    year must lie in 1900–2200.
    Spreadsheet serial numbers (``45838``) are refused: they are ambiguous.
    """
    if isinstance(value, (pd.Timestamp, _dt.datetime, _dt.date, np.datetime64)):
        stamp = pd.Timestamp(value)
        if pd.isna(stamp):
            return None
        if stamp.tzinfo is not None:  # the calendar date in China (UTC+8), as a naive date
            stamp = stamp.tz_convert(_CHINA_TZ).tz_localize(None)
        if not _YEARS[0] <= stamp.year <= _YEARS[1]:
            return None
        return stamp.normalize()
    if isinstance(value, bool):
        return None
    if isinstance(value, Number):
        if not float(value).is_integer():
            return None
        value = str(int(value))
    if not isinstance(value, str):
        return None
    text = _text(value)
    for pattern in (_DATE_SEP, _DATE_COMPACT, _DATE_ZH):
        match = pattern.match(text)
        if match:
            year, month, day = (int(part) for part in match.groups())
            if not _YEARS[0] <= year <= _YEARS[1]:
                return None
            try:
                return pd.Timestamp(_dt.date(year, month, day))
            except ValueError:
                return None
    return None


def parse_date_series(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse a column of dates.

    Returns
    -------
    (dates, bad)
        ``dates``: ``datetime64[ns]`` Series on the same index, NaT where missing or bad;
        ``bad``: boolean Series, True where a value was present but is not a date.
    """
    parsed, bad = [], []
    for value in values.tolist():
        if is_missing(value):
            parsed.append(pd.NaT)
            bad.append(False)
            continue
        stamp = parse_date(value)
        parsed.append(pd.NaT if stamp is None else stamp)
        bad.append(stamp is None)
    dates = pd.Series(parsed, index=values.index, name=values.name, dtype="datetime64[ns]")
    return dates, pd.Series(bad, index=values.index, dtype=bool)


def _number(value, *, units: bool) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, Number):
        number = float(value)
        return number if math.isfinite(number) else None
    if not isinstance(value, str):
        return None
    text = _text(value).replace(",", "")
    if units:
        text = _CAPACITY_UNIT.sub("", text)
    if not _NUMBER.match(text):
        return None
    return float(text)


def parse_number_series(values: pd.Series, *, units: bool = False) -> tuple[pd.Series, pd.Series]:
    """Parse a column of numbers (``12``, ``"12.5"``, ``"1,200"``, full-width digits).

    ``units=True`` also accepts a trailing ``万吨/年`` or ``万吨`` (the capacity unit).
    Returns ``(float Series, bad mask)``; booleans and infinities are bad.
    """
    parsed, bad = [], []
    for value in values.tolist():
        if is_missing(value):
            parsed.append(np.nan)
            bad.append(False)
            continue
        number = _number(value, units=units)
        parsed.append(np.nan if number is None else number)
        bad.append(number is None)
    return (
        pd.Series(parsed, index=values.index, dtype=float, name=values.name),
        pd.Series(bad, index=values.index, dtype=bool),
    )


def parse_bool_series(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse a column of yes/no values (``True``, ``1``, ``"yes"``, ``"是"``, ``"否"`` ...).

    Returns ``(nullable boolean Series, bad mask)``.
    """
    parsed, bad = [], []
    for value in values.tolist():
        if is_missing(value):
            parsed.append(pd.NA)
            bad.append(False)
            continue
        result = None
        if isinstance(value, (bool, np.bool_)):
            result = bool(value)
        elif isinstance(value, Number) and float(value) in (0.0, 1.0):
            result = bool(value)
        elif isinstance(value, str):
            text = _text(value).lower()
            result = True if text in _TRUE else False if text in _FALSE else None
        parsed.append(pd.NA if result is None else result)
        bad.append(result is None)
    return (
        pd.Series(parsed, index=values.index, dtype="boolean", name=values.name),
        pd.Series(bad, index=values.index, dtype=bool),
    )


def yes_flags(values: pd.Series, name: str, notes: list[str]) -> np.ndarray:
    """A yes/no column (e.g. ``rivers.main``) as a bool array for a rule: missing is no, and values
    :func:`parse_bool_series` cannot read count as no, with one note naming the column (``name``).

    >>> notes = []
    >>> yes_flags(pd.Series([True, "是", "否", None, "maybe"]), "rivers.main", notes).tolist()
    [True, True, False, False, False]
    >>> notes
    ["rivers.main: 1 value(s) not read as yes/no (e.g. 'maybe'); counted as no"]
    """
    parsed, bad = parse_bool_series(values)
    if bad.any():
        first = values[bad].iloc[0]
        notes.append(f"{name}: {int(bad.sum())} value(s) not read as yes/no (e.g. {first!r}); counted as no")
    return parsed.fillna(False).to_numpy(dtype=bool)
