"""Atomic output: write to a temporary name beside the target, then rename it into place.

Every file wlgeo writes goes through :func:`atomic_path` (or :func:`atomic_write`), so an
interrupted run leaves either the old file or the new one, never half of one, and no temporary
file behind.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from os import PathLike
from pathlib import Path

from ..errors import OutputError, WlgeoError

__all__ = ["atomic_path", "atomic_write", "refuse_existing"]

log = logging.getLogger(__name__)

# SQLite (GeoPackage) may leave these beside a file it was writing.
_SIDECARS = ("", "-journal", "-wal", "-shm")


def _remove_quietly(tmp: Path) -> None:
    for suffix in _SIDECARS:
        try:
            os.remove(f"{tmp}{suffix}")
        except FileNotFoundError:
            pass
        except OSError as err:  # pragma: no cover - permissions on a broken disk
            log.warning("could not remove temporary file %s%s: %s", tmp, suffix, err)


@contextmanager
def atomic_path(path: str | PathLike, *, what: str = "file") -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (same suffix); rename it onto ``path`` on success.

    On any exception the temporary file is removed and ``path`` is left as it was; errors that
    are not wlgeo's own become :class:`~wlgeo.errors.OutputError` naming ``path``.

    Examples
    --------
    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "a.txt"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("done")
    >>> target.read_text()
    'done'
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise OutputError("the output directory does not exist", path=path.parent)
    tmp = path.parent / f".{path.stem}.{uuid.uuid4().hex[:12]}.tmp{path.suffix}"
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException as err:
        _remove_quietly(tmp)
        if isinstance(err, WlgeoError) or not isinstance(err, Exception):
            raise
        reason = err.strerror if isinstance(err, OSError) and err.strerror else f"{type(err).__name__}: {err}"
        raise OutputError(f"{what} could not be written: {reason}", path=path) from err


def atomic_write(path: str | PathLike, write: Callable[[Path], None], *, what: str = "file") -> Path:
    """Call ``write(tmp)`` with a temporary path beside ``path``, then rename it to ``path``."""
    with atomic_path(path, what=what) as tmp:
        write(tmp)
    return Path(path)


def refuse_existing(paths, *, out_dir: str | PathLike, what: str = "output") -> None:
    """Raise :class:`~wlgeo.errors.OutputError` naming the files of ``paths`` that already exist.

    Batch writers call it before writing anything, so that a refused batch changes nothing.
    """
    existing = [Path(p).name for p in paths if Path(p).exists()]
    if existing:
        shown = ", ".join(existing[:5]) + ("..." if len(existing) > 5 else "")
        raise OutputError(
            f"{len(existing)} {what}(s) exist ({shown}); pass {{option}} to replace them",
            path=out_dir,
            option="overwrite",
        )
