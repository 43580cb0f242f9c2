"""wlgeo's public exceptions and warnings.

Every error wlgeo raises on purpose is a :class:`WlgeoError`, and each subclass is also the
builtin a caller would expect (``ValueError`` for bad content, ``OSError`` for files that cannot
be read or written), so ``except ValueError`` keeps working.

Messages name *where* the problem is (file, layer, feature, field) through :func:`where`, so a
planner can find the offending feature without a traceback.
"""

from __future__ import annotations

import re
from os import PathLike

#: The error and warning classes a user catches or filters (``wlgeo.__all__`` lists these).
ERROR_CLASSES = (
    "WlgeoError",
    "ReadError",
    "LayerError",
    "CRSError",
    "ScenarioError",
    "PackError",
    "OutputError",
    "MapError",
    "WlgeoWarning",
    "CRSWarning",
    "EncodingGuessWarning",
    "DatumWarning",
)

__all__ = [
    *ERROR_CLASSES,
    "ERROR_CLASSES",
    "where",
    "OPTION_SLOT",
    "printable",
]


#: Where a message names the option that would change the outcome; :class:`WlgeoError` fills it with
#: ``overwrite=True`` for Python callers and ``--overwrite`` at the command line.
OPTION_SLOT = "{option}"


def python_option(name: str) -> str:
    """``"overwrite"`` → ``"overwrite=True"`` (how a Python caller passes a flag)."""
    return f"{name}=True"


def cli_option(name: str) -> str:
    """``"overwrite"`` → ``"--overwrite"`` (how the command line spells the same flag)."""
    return "--" + name.replace("_", "-")


_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]")


def printable(text: object, *, keep_newlines: bool = False) -> str:
    r"""``text`` with control, line-separator and bidi characters escaped (``\x0b``, ``\u2028``), so
    a value from a file cannot break a one-line message or reorder it on screen.

    Examples
    --------
    >>> printable("a\x0bb\u202ec")
    'a\\x0bb\\u202ec'
    """
    text = str(text)

    def escape(match: re.Match) -> str:
        ch = match.group(0)
        if keep_newlines and ch == "\n":
            return ch
        return f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}"

    return _UNPRINTABLE.sub(escape, text)


def where(
    path: str | PathLike | None = None,
    *,
    layer: str | None = None,
    feature: object = None,
    field: str | None = None,
) -> str:
    """Return a compact location string such as ``q.shp, layer 'quarries', feature 'Q-3', field 'capacity'``."""
    parts = []
    if path is not None:
        parts.append(printable(path))
    if layer is not None:
        parts.append(f"layer '{printable(layer)}'")
    if feature is not None:
        parts.append(f"feature '{printable(feature)}'")
    if field is not None:
        parts.append(f"field '{printable(field)}'")
    return ", ".join(parts)


class WlgeoError(Exception):
    """Root of every error wlgeo raises on purpose.

    The text is one line: control, line-separator and bidi characters coming from data are
    escaped (:func:`printable`); only :class:`PackError` keeps the line breaks of its report.
    """

    multiline = False

    def __init__(
        self,
        message: str,
        *,
        path: str | PathLike | None = None,
        layer: str | None = None,
        feature: object = None,
        field: str | None = None,
        option: str | None = None,
    ) -> None:
        self.message = message
        self.path = None if path is None else str(path)
        self.layer = layer
        self.feature = feature
        self.field = field
        self.option = option
        self.location = where(path, layer=layer, feature=feature, field=field)
        super().__init__(self._render(python_option(option) if option else ""))

    def _render(self, option_text: str) -> str:
        message = self.message.replace(OPTION_SLOT, option_text) if self.option else self.message
        message = printable(message, keep_newlines=self.multiline)
        return f"{self.location}: {message}" if self.location else message

    def cli_message(self) -> str:
        """The message as the command line shows it: an ``option`` named as its flag (``--overwrite``)
        instead of the Python argument (``overwrite=True``)."""
        return self._render(cli_option(self.option)) if self.option else str(self)


class ReadError(WlgeoError, OSError):
    """A file or pack cannot be read at all (missing, a directory, truncated, unknown format)."""


class LayerError(WlgeoError, ValueError):
    """A layer was read but its content is unusable (fields, geometry, values)."""


class CRSError(LayerError):
    """A layer's coordinates cannot be placed in a known coordinate system."""


class ScenarioError(WlgeoError, ValueError):
    """A scenario parameter is unknown, of the wrong type, or impossible."""


class PackError(WlgeoError, ValueError):
    """A layer pack failed validation and cannot be planned on (the message holds the report)."""

    multiline = True


class OutputError(WlgeoError, OSError):
    """An output cannot be written (target exists, not writable, ...)."""


class MapError(WlgeoError, ValueError):
    """A map or sheet cannot be made as asked (unknown basemap, missing Tianditu key, paper size)."""


class WlgeoWarning(UserWarning):
    """Root of wlgeo's warnings: recoverable data issues that were handled and recorded."""


class CRSWarning(WlgeoWarning):
    """A CRS was guessed, an axis order or zone prefix fixed, or a datum shift is approximate."""


class EncodingGuessWarning(WlgeoWarning):
    """A text encoding was guessed (e.g. GBK for a shapefile without ``.cpg``)."""


class DatumWarning(CRSWarning):
    """A datum transformation is only approximate (Xian 1980 / Beijing 1954 to CGCS2000)."""
