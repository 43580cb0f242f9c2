"""Seconds spent per named step, for the manifest's ``timings`` and progress reports."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

__all__ = ["StepClock"]


class StepClock:
    """Seconds spent per named step (``timings``, rounded to 0.1 ms; a repeated step adds up).

    ``progress(step, fraction)`` is called after each step when given, ``fraction`` being the
    step's place in ``steps`` (1.0 for a step not listed).

    >>> clock = StepClock()
    >>> clock.done("read"); sorted(clock.timings)
    ['read']
    """

    def __init__(self, progress: Callable[[str, float], None] | None = None, steps: Sequence[str] = ()) -> None:
        self.timings: dict[str, float] = {}
        self.progress = progress
        self.steps = tuple(steps)
        self._last = time.perf_counter()

    def done(self, step: str) -> None:
        """Close ``step``: the time since the previous step is added to it."""
        now = time.perf_counter()
        self.timings[step] = round(self.timings.get(step, 0.0) + now - self._last, 4)
        self._last = now
        if self.progress is not None:
            place = self.steps.index(step) + 1 if step in self.steps else len(self.steps)
            self.progress(step, place / len(self.steps) if self.steps else 1.0)
