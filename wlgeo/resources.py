"""Resource budgets given on the command line: memory limits such as ``2GiB``."""

from __future__ import annotations

import re

from .errors import WlgeoError

__all__ = ["parse_memory_limit", "MemoryLimitError"]

_UNITS = {
    "": 1, "b": 1,
    "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
    "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40,
    "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40,
}
_PATTERN = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*([a-zA-Z]*)\s*$")


class MemoryLimitError(WlgeoError, ValueError):
    """A memory limit that cannot be read."""


def parse_memory_limit(text: str) -> int:
    """Bytes of a memory limit: ``2GiB``, ``1.5GiB``, ``512MiB``, ``2GB`` (10⁹), ``1e9`` bytes.

    Raises
    ------
    MemoryLimitError
        Not a positive size with a known unit (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB).

    Examples
    --------
    >>> parse_memory_limit("1.5GiB"), parse_memory_limit("512MiB"), parse_memory_limit("2GB")
    (1610612736, 536870912, 2000000000)
    """
    raw = str(text)
    match = _PATTERN.match(raw)
    unit = match.group(2).lower() if match else None
    if match is None or unit not in _UNITS:
        raise MemoryLimitError(
            f"memory limit {raw!r} is not a size; write e.g. 2GiB, 1.5GiB, 512MiB or 2GB"
        )
    value = int(float(match.group(1)) * _UNITS[unit])
    if value <= 0:
        raise MemoryLimitError(f"memory limit {raw!r} must be larger than 0")
    return value
