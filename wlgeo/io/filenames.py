"""Safe file names built from data (town names, quarry ids): no path escapes, nothing Windows
refuses, unique ignoring case.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

__all__ = ["safe_filename", "unique_stems", "is_inside"]

_FORBIDDEN = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f-\x9f]')
_BIDI = re.compile("[\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]")
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10)), *(f"LPT{i}" for i in range(10))}
_MAX_STEM_BYTES = 120


def safe_filename(name: object, *, default: str = "unnamed") -> str:
    """A file stem built from data that cannot leave its directory or trip Windows.

    Bidirectional control characters (U+202E …) are removed; path separators, ``..``,
    characters Windows forbids and control characters become ``_``;
    leading/trailing dots and spaces are dropped; Windows device names (``CON``, ``NUL``,
    ``COM1``...) get a leading ``_``; the result is at most 120 UTF-8 bytes. Chinese characters
    are kept.

    Examples
    --------
    >>> safe_filename("和顺镇")
    '和顺镇'
    >>> safe_filename("../x"), safe_filename("a/b"), safe_filename("CON"), safe_filename("")
    ('__x', 'a_b', '_CON', 'unnamed')
    """
    text = "" if name is None or (isinstance(name, float) and np.isnan(name)) else str(name)
    text = unicodedata.normalize("NFC", text)
    text = _BIDI.sub("", text)
    text = _FORBIDDEN.sub("_", text)
    text = text.replace("..", "_")
    text = text.strip(" .\t")
    if text.split(".")[0].strip().upper() in _WINDOWS_RESERVED:
        text = "_" + text
    encoded = text.encode("utf-8")
    if len(encoded) > _MAX_STEM_BYTES:
        text = encoded[:_MAX_STEM_BYTES].decode("utf-8", errors="ignore").rstrip(" .")
    return text or default


def unique_stems(keys: Sequence[str], stem: Callable[[str], str], *, reserved: Iterable[str] = ()) -> dict[str, str]:
    """File stem per key, unique ignoring case (Windows and macOS file systems) and never one of
    ``reserved`` (e.g. the stem of an index file written beside them).

    >>> unique_stems(["a", "A", "index"], str, reserved=["index"])
    {'a': 'a', 'A': 'A_2', 'index': 'index_2'}
    """
    taken = {r.casefold() for r in reserved}
    out: dict[str, str] = {}
    seen: set[str] = set()
    for key in keys:
        base = stem(key)
        candidate, n = base, 2
        while candidate.casefold() in seen or candidate.casefold() in taken:
            candidate, n = f"{base}_{n}", n + 1
        seen.add(candidate.casefold())
        out[key] = candidate
    return out


def is_inside(out_dir: Path, target: Path) -> bool:
    """Whether ``target`` lands directly in ``out_dir`` (no separator or link took it elsewhere)."""
    return target.resolve().parent == out_dir.resolve()
