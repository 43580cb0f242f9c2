"""Atomic output: write to a temporary name beside the target, then rename it into place.

Every file wlgeo writes goes through :func:`atomic_path` (or :func:`atomic_write`), so an
interrupted run leaves either the old file or the new one, never half of one, and no temporary
file behind.
"""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from os import PathLike
from pathlib import Path

from wlgeo.io import interrupt
from wlgeo.model.errors import OutputError, WlgeoError

__all__ = ["atomic_path", "atomic_write", "refuse_existing", "staged_dir"]

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
    are not wlgeo's own become :class:`~wlgeo.model.errors.OutputError` naming ``path``.

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
    """Raise :class:`~wlgeo.model.errors.OutputError` naming the files of ``paths`` that already exist.

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


@contextmanager
def staged_dir(out_dir: str | PathLike, *, owned: Iterable[str] = ()) -> Iterator[Path]:
    """Yield an empty hidden sibling of ``out_dir`` to write a set of files into; when the block
    ends normally it becomes ``out_dir``, so ``out_dir`` holds all of the files or none of them.

    - ``out_dir`` absent: the staging directory is renamed to it.
    - ``out_dir`` holding only ``owned`` names (the files of a previous run): the old directory
      is moved aside, the staging directory renamed into place, then the old one removed — a
      previous run is replaced only at that moment.
    - ``out_dir`` empty, the working directory, or holding other files too (``--overwrite``
      into a folder with other things in it): each staged file is renamed onto its namesake,
      ``owned`` files not written this time are removed, the other files are left alone.

    The renames run with SIGINT/SIGTERM held back (:func:`wlgeo.io.interrupt.deferred`). On any
    exception or signal the staging directory is removed and ``out_dir`` is left as it was.
    """
    out_dir = Path(os.path.abspath(out_dir))
    owned = set(owned)
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        stage = out_dir.parent / f".{out_dir.name}.{uuid.uuid4().hex[:12]}.tmp"
        stage.mkdir()
    except OSError as err:
        raise OutputError(f"cannot create the output directory: {err.strerror or err}", path=out_dir) from err
    try:
        yield stage
        with interrupt.deferred():
            _commit(stage, out_dir, owned)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise


def _commit(stage: Path, out_dir: Path, owned: set[str]) -> None:
    if not out_dir.exists():
        os.rename(stage, out_dir)
        return
    present = {p.name for p in out_dir.iterdir()}
    if present and present <= owned and out_dir != Path.cwd().resolve():
        old = out_dir.parent / f".{out_dir.name}.{uuid.uuid4().hex[:12]}.old"
        os.rename(out_dir, old)
        try:
            os.rename(stage, out_dir)
        except BaseException:
            os.rename(old, out_dir)
            raise
        shutil.rmtree(old, ignore_errors=True)
        return
    staged = {p.name for p in stage.iterdir()}
    for name in sorted(staged):
        os.replace(stage / name, out_dir / name)
    for name in sorted((present & owned) - staged):
        target = out_dir / name
        if target.is_file():
            target.unlink()
    stage.rmdir()
