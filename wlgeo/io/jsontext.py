"""The one JSON encoder of wlgeo: manifests, GeoPackage metadata, city-run files.

Dates and times become ISO text, paths their text, sets and tuples lists, numpy scalars Python
numbers; NaN, infinity and missing values become ``null`` (strict JSON, which every reader
accepts). Anything else is refused with :class:`TypeError`.

>>> import datetime, numpy as np
>>> to_json({"when": datetime.date(2025, 6, 30), "n": np.int64(3), "x": float("nan"), "s": (1, 2)})
'{"when": "2025-06-30", "n": 3, "x": null, "s": [1, 2]}'
>>> import pandas as pd
>>> to_json([pd.NaT, pd.Timestamp("2025-06-30"), pd.NA])
'[null, "2025-06-30T00:00:00", null]'
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
from collections.abc import Mapping
from os import PathLike
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["jsonable", "to_json"]


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON data (dict, list, str, int, float, bool, None), by the rules above."""
    if value is None or isinstance(value, (str, bool)):
        return value
    if value is pd.NA or value is pd.NaT:  # NaT is a datetime: test it before the dates
        return None
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, (_dt.date, _dt.datetime, _dt.time)):  # pandas.Timestamp is a datetime
        return value.isoformat()
    if isinstance(value, PathLike):
        return os.fspath(value)
    if isinstance(value, np.generic):
        return jsonable(value.item())
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def to_json(value: Any, *, indent: int | None = None) -> str:
    """JSON text of ``value`` (UTF-8 characters kept, not escaped)."""
    return json.dumps(jsonable(value), ensure_ascii=False, indent=indent, allow_nan=False)
