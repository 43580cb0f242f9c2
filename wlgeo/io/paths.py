"""Local file paths: checked without surprises, and opened by GDAL as the files they name.

:func:`checked_path` turns what the OS says about a path (a NUL byte, a name too long, a symlink
loop, no permission) into a one-line :class:`~wlgeo.model.errors.ReadError` instead of a raw
``ValueError``/``OSError``/``RuntimeError``.

pyogrio reads ``!`` in a path as an archive separator (``data.zip!layer.shp``) and passes paths
that start with ``/vsi`` to GDAL's virtual file systems, so a folder named ``重要!资料`` is reported
as missing (pyogrio issue #632) and ``/vsi…`` names are not the local files they look like.
:func:`gdal_path` gives GDAL an alias without those characters: a temporary folder holding a
symbolic link to the file's folder (or, where links are not allowed, copies of the file and its
sidecars). Ordinary paths are passed on absolute, so that a relative name such as ``GPKG:a.gpkg``
or ``PG:x`` is not read as a GDAL connection string.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from wlgeo.model.errors import ReadError

__all__ = ["gdal_path", "needs_alias", "checked_path", "MAX_PATH_CHARS"]

MAX_PATH_CHARS = 4096
"""Longest path accepted (Linux PATH_MAX); longer ones are refused before the OS is asked."""


def _shown(text: str) -> str:
    """A path as shown in a message: control characters escaped, very long paths cut in the middle."""
    shown = text.encode("unicode_escape").decode("ascii") if any(ord(c) < 32 for c in text) else text
    return shown if len(shown) <= 160 else shown[:80] + f"…({len(shown)} characters)…" + shown[-60:]


def checked_path(
    raw, *, what: str = "path", base: Path | None = None, resolve: bool = False, origin: Path | None = None
) -> Path:
    """``raw`` as a :class:`Path` (relative to ``base`` when given), refused in one line when the OS
    cannot take it: not text, a NUL byte, longer than :data:`MAX_PATH_CHARS`, a symlink loop, or a
    name the OS rejects. ``resolve`` makes it absolute with symlinks resolved. Existence is not checked.
    ``origin`` is the file that named the path (a catalog), named in the error.
    """
    try:
        path = Path(raw) if base is None else base / raw
    except TypeError as err:
        raise ReadError(f"not a {what}: {raw!r}", path=origin) from err
    text = str(path)
    if "\0" in text:
        raise ReadError(f"{what} '{_shown(text)}' contains a NUL character; no file can have that name", path=origin)
    if len(text) > MAX_PATH_CHARS:
        raise ReadError(f"{what} is {len(text)} characters long; the limit is {MAX_PATH_CHARS}: {_shown(text)}", path=origin)
    try:
        if resolve:
            path = path.resolve()
        os.stat(path)
    except FileNotFoundError:
        pass
    except RuntimeError as err:  # Python 3.11 Path.resolve on a symlink loop
        raise ReadError(f"{what} {_shown(text)}: symbolic link loop", path=origin) from err
    except OSError as err:
        if err.errno in (errno.ENOENT, errno.ENOTDIR):
            return path
        reason = {errno.ELOOP: "symbolic link loop", errno.ENAMETOOLONG: "a name in it is too long for the file system",
                  errno.EACCES: "permission denied"}.get(err.errno, err.strerror or str(err))
        raise ReadError(f"{what} {_shown(text)}: {reason}", path=origin) from err
    except ValueError as err:
        raise ReadError(f"{what} '{_shown(text)}' cannot be used: {err}", path=origin) from err
    return path



def needs_alias(path: str | os.PathLike) -> bool:
    """Whether pyogrio/GDAL would read ``path`` as something other than the local file it names."""
    text = os.path.abspath(os.fspath(path))
    posix = text.replace("\\", "/")
    return "!" in text or posix.startswith("/vsi") or "://" in posix


def _safe(name: str) -> str:
    return name.replace("!", "_")


@contextmanager
def gdal_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a path under which GDAL opens the file ``path`` names (``path`` itself when safe).

    The file's folder is reached through a symbolic link in a temporary folder, so sidecars
    (``.shx``, ``.dbf``, ``.cpg``, ``-wal``) are found as usual; a file name with ``!`` is linked
    (or copied) under a name without it, together with its sidecars.
    """
    path = Path(path)
    if not needs_alias(path):
        yield Path(os.path.abspath(path))  # absolute: a relative "GPKG:x.gpkg" or "PG:..." is no connection string
        return
    folder = Path(os.path.abspath(path)).parent
    with tempfile.TemporaryDirectory(prefix="wlgeo-path-") as tmp:
        alias = Path(tmp) / "d"
        try:
            if needs_alias(path.name):
                raise OSError("the file name itself needs an alias")
            os.symlink(folder, alias, target_is_directory=True)
            yield alias / path.name
            return
        except OSError:
            pass
        alias.mkdir(exist_ok=True)
        stem = path.name.split(".")[0]
        for part in folder.iterdir():
            if part.is_file() and part.name.split(".")[0] == stem:
                target = alias / _safe(part.name)
                try:
                    os.symlink(part, target)
                except OSError:
                    shutil.copy2(part, target)
        yield alias / _safe(path.name)
