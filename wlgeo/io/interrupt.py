"""SIGINT and SIGTERM for the ``wlgeo`` command: one line, exit 130/143, nothing half-written.

:func:`install` (called first thing by :mod:`wlgeo.cli`, before any heavy import) routes both
signals here. Until the command is running (:func:`armed`), a signal ends the process at once
with one line — there is nothing to clean up during start-up imports. Once armed, a signal raises
:class:`Interrupted` (a ``BaseException``, so no ``except Exception`` swallows it) at the point
the program has reached; ``finally`` blocks and the run directory's staging remove what was
half-written, and the CLI prints one line and exits ``128 + signal``. A second signal while
that cleanup runs is ignored, and :func:`deferred` holds a signal back while a finished run is
being renamed into place.

This module imports only the standard library.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["Interrupted", "install", "install_for_cli", "is_cli_process", "armed", "deferred", "settle", "message",
           "HANDLED"]

HANDLED = tuple(s for s in (getattr(signal, "SIGINT", None), getattr(signal, "SIGTERM", None)) if s is not None)
"""The signals handled: SIGINT (Ctrl+C) and SIGTERM (``kill``, a scheduler stopping the job)."""


class Interrupted(BaseException):
    """The process received SIGINT or SIGTERM; ``exit_code`` is ``128 + signal number``."""

    def __init__(self, signum: int) -> None:
        self.signum = int(signum)
        self.exit_code = 128 + self.signum
        super().__init__(message(self.signum))


_state = {"armed": False, "fired": False, "defer": 0, "pending": None, "installed": False}


def message(signum: int) -> str:
    """The one line printed for ``signum``."""
    name = {getattr(signal, "SIGINT", -1): "SIGINT", getattr(signal, "SIGTERM", -2): "SIGTERM"}.get(signum, str(signum))
    verb = "interrupted" if name == "SIGINT" else "terminated"
    return f"{verb} ({name}): stopped; no partial output was kept"


def _handler(signum, frame) -> None:
    if not _state["armed"]:
        try:
            os.write(2, (message(signum) + "\n").encode())
        finally:
            os._exit(128 + signum)
    if _state["fired"]:
        return  # cleanup of the first signal is running: let it finish
    if _state["defer"]:
        _state["pending"] = signum
        return
    _state["fired"] = True
    raise Interrupted(signum)


def install() -> None:
    """Route SIGINT and SIGTERM to this module (main thread only; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in HANDLED:
        try:
            signal.signal(sig, _handler)
        except (ValueError, OSError):  # pragma: no cover - embedded interpreters
            continue
        _state["installed"] = True


def settle() -> None:
    """The command is over and its exit code decided: from here on SIGINT/SIGTERM are ignored.

    Python's finalisation puts back the default action of a signal that has a Python handler,
    so a signal arriving while the finished process exits would kill it with no message (exit
    −15) after its outputs were complete. An ignored signal is left alone by finalisation. Only
    where :func:`install` routed the signals (the ``wlgeo`` command), main thread only.
    """
    if not _state["installed"] or threading.current_thread() is not threading.main_thread():
        return
    for sig in HANDLED:
        try:
            signal.signal(sig, signal.SIG_IGN)
        except (ValueError, OSError):  # pragma: no cover - embedded interpreters
            pass


def is_cli_process() -> bool:
    """Whether this process is the ``wlgeo`` command (console script or ``python -m wlgeo.cli``)."""
    argv0 = os.path.basename(sys.argv[0]) if sys.argv else ""
    if argv0.lower().split(".")[0] in ("wlgeo", "wlgeo-script"):
        return True
    orig = list(getattr(sys, "orig_argv", []))
    return any(orig[i:i + 2] in (["-m", "wlgeo.cli"], ["-m", "wlgeo"]) for i in range(len(orig)))


def install_for_cli() -> None:
    """:func:`install` when this process is the ``wlgeo`` command; a library user's process is left alone."""
    if is_cli_process():
        install()


@contextmanager
def armed() -> Iterator[None]:
    """From here on a signal raises :class:`Interrupted` instead of ending the process at once."""
    previous = _state["armed"]
    _state["armed"] = True
    try:
        yield
    finally:
        _state["armed"] = previous


@contextmanager
def deferred() -> Iterator[None]:
    """Hold a signal back for the duration (a few renames); it is raised when the block ends."""
    _state["defer"] += 1
    try:
        yield
    finally:
        _state["defer"] -= 1
        pending = _state["pending"]
        if not _state["defer"] and pending is not None:
            _state["pending"] = None
            _state["fired"] = True
            raise Interrupted(pending)


def exit_interrupted(err: Interrupted) -> None:
    """Print the one line for ``err`` and leave with its exit code (no traceback, no cleanup hooks
    that could be interrupted again)."""
    try:
        sys.stderr.write(f"error: {err}\n")
        sys.stderr.flush()
    finally:
        raise SystemExit(err.exit_code)
