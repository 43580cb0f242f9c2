"""The memory budget: sizes are estimated before memory is spent, and a step that would not fit
is refused with the estimate and what to change.

The budget is ``--memory-limit`` (``2GiB``, ``512MiB``, ``4GB``…; :func:`parse_memory_limit`) —
for the whole process with the local engine, for each worker with dask — and by default half of
the memory the machine has available when the run starts (:func:`available_memory`).

The steps that can grow without bound check themselves against the budget in force
(:func:`check_memory`): the siting raster grid (cells × bytes the siting keeps per cell), each
distance transform (its padded grid), each buffer (vertices it will make, and the raster it is
burnt into) and the candidate pairs of consolidation. :func:`using_budget` sets the budget for a
block of code (``wlgeo.plan(..., memory_limit=...)`` does it for a plan); without one, the
default applies.

This module imports nothing heavy, so the CLI and the dask engine can parse ``--memory-limit``
before anything else is loaded.

Examples
--------
>>> parse_memory_limit("2GiB")
2147483648
>>> parse_memory_limit("1.5 GB")
1500000000
>>> format_bytes(5.5 * 2**30)
'5.5 GiB'
"""

from __future__ import annotations

import contextvars
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from wlgeo.model.errors import WlgeoError

__all__ = [
    "MemoryBudget",
    "ResourceError",
    "parse_memory_limit",
    "format_bytes",
    "available_memory",
    "process_memory",
    "current_budget",
    "using_budget",
    "check_memory",
]

_UNITS = {
    "": 1, "b": 1,
    "k": 1000, "kb": 1000, "m": 1000**2, "mb": 1000**2, "g": 1000**3, "gb": 1000**3, "t": 1000**4, "tb": 1000**4,
    "kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4,
}
MIN_LIMIT = 64 * 1024**2
"""Smallest budget accepted (64 MiB): below it not even Python with GDAL starts."""


class ResourceError(WlgeoError, MemoryError):
    """A step would need more memory than the budget allows; nothing was allocated."""


def parse_memory_limit(text: str | int | float) -> int:
    """Bytes in a size such as ``2GiB``, ``512MiB``, ``4GB``, ``1.5G`` or a plain number of bytes.

    ``GiB/MiB/KiB/TiB`` are powers of 1024; ``GB/MB/KB/TB`` (and ``G/M/K/T``) powers of 1000, as
    dask spells them. Case and spaces do not matter.

    Raises
    ------
    ResourceError
        Not a size, not finite, or below :data:`MIN_LIMIT`.
    """
    if isinstance(text, bool):
        raise ResourceError(f"memory limit must be a size such as 2GiB or 512MiB, got {text!r}")
    if isinstance(text, (int, float)):
        value, unit = float(text), ""
    else:
        match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE]([+-]?[0-9]{1,3}))?\s*([A-Za-z]*)\s*", str(text))
        if match is None or match.group(3).lower() not in _UNITS:
            raise ResourceError(
                f"memory limit {str(text)[:40]!r} is not a size: write e.g. 2GiB, 512MiB, 4GB (units: B, KiB, MiB, GiB, "
                "TiB, KB, MB, GB, TB)"
            )
        value = float(match.group(1) + (f"e{match.group(2)}" if match.group(2) else ""))
        unit = match.group(3).lower()
    if not value == value or value in (float("inf"), float("-inf")):  # noqa: PLR0124 - NaN check
        raise ResourceError(f"memory limit must be finite, got {text!r}")
    size = value * _UNITS[unit]
    if size < MIN_LIMIT:
        raise ResourceError(f"memory limit {text!r} is below the {format_bytes(MIN_LIMIT)} wlgeo needs to start")
    if size > 2**62:
        raise ResourceError(f"memory limit {text!r} is larger than any machine (more than 4 EiB)")
    return int(size)


def format_bytes(n: float) -> str:
    """``n`` bytes in binary units with 2 significant decimals (``'5.5 GiB'``)."""
    n = float(n)
    for unit, size in (("TiB", 1024**4), ("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if abs(n) >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n:.0f} B"


def _meminfo(key: str) -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def available_memory() -> int | None:
    """Memory available to new allocations, bytes (``MemAvailable`` of /proc/meminfo, else psutil)."""
    found = _meminfo("MemAvailable")
    if found is not None:
        return found
    try:
        import psutil  # optional: Windows and macOS
    except ImportError:
        return None
    return int(psutil.virtual_memory().available)


def process_memory() -> int:
    """This process's resident memory now, bytes (0 when it cannot be read)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        pass
    try:
        import psutil
    except ImportError:
        return 0
    return int(psutil.Process().memory_info().rss)


_FALLBACK = 4 * 1024**3  # when the machine's memory cannot be read at all


@dataclass(frozen=True)
class MemoryBudget:
    """How many bytes a run may hold, and where the figure came from (for messages).

    Build with :meth:`resolve`: ``None`` → half of :func:`available_memory`; a size text or a
    number of bytes → that; a :class:`MemoryBudget` → itself.
    """

    limit: int
    source: str

    @classmethod
    def resolve(cls, memory_limit: MemoryBudget | str | int | float | None = None) -> MemoryBudget:
        if isinstance(memory_limit, MemoryBudget):
            return memory_limit
        if memory_limit is None:
            available = available_memory()
            if available is None:
                return cls(_FALLBACK, f"the default {format_bytes(_FALLBACK)} (available memory unknown)")
            return cls(max(MIN_LIMIT, available // 2),
                       f"half of the {format_bytes(available)} available (default)")
        return cls(parse_memory_limit(memory_limit), f"--memory-limit {memory_limit}")

    def check(self, what: str, need: float, change: str) -> None:
        """Refuse (:class:`ResourceError`) when ``need`` more bytes on top of what the process
        already holds would pass the limit; ``change`` says what to change."""
        held = process_memory()
        if need + held > self.limit:
            raise ResourceError(
                f"{what} would need about {format_bytes(need)}"
                + (f" on top of the {format_bytes(held)} in use" if held else "")
                + f", over the memory budget of {format_bytes(self.limit)} ({self.source}); {change}"
            )


_BUDGET: contextvars.ContextVar[MemoryBudget | None] = contextvars.ContextVar("wlgeo_memory_budget", default=None)


def current_budget() -> MemoryBudget:
    """The budget set by :func:`using_budget`, else the default (half of available memory)."""
    budget = _BUDGET.get()
    return budget if budget is not None else MemoryBudget.resolve(None)


@contextmanager
def using_budget(memory_limit: MemoryBudget | str | int | float | None) -> Iterator[MemoryBudget]:
    """Run a block under a memory budget (see :meth:`MemoryBudget.resolve`)."""
    budget = MemoryBudget.resolve(memory_limit)
    token = _BUDGET.set(budget)
    try:
        yield budget
    finally:
        _BUDGET.reset(token)


def check_memory(what: str, need: float, change: str) -> None:
    """Check ``need`` bytes for ``what`` against the budget in force (see :meth:`MemoryBudget.check`)."""
    current_budget().check(what, need, change)
