"""What a format reader hands to the funnel before coordinates are normalised."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd

from wlgeo.model.crs import Datum
from wlgeo.io.gridhint import GridHint
from wlgeo.model.errors import EncodingGuessWarning, ReadError, where

__all__ = ["RawLayer", "decode_text", "read_text_file"]


@dataclass
class RawLayer:
    """A layer as stored in its file.

    ``frame.crs`` is the CRS the file declares (``None`` when it declares none). For survey
    formats (部标 TXT, corner tables) geometry x is the easting column (Y) and y the northing
    column (X) as written; the funnel detects and fixes files whose columns were swapped.
    ``hint`` is the grid a survey header or title names (datum, zone width, zone number).
    """

    frame: gpd.GeoDataFrame
    datum: Datum | None = None
    encoding: str | None = None
    notes: list[str] = field(default_factory=list)
    hint: GridHint | None = None


def decode_text(data: bytes, encoding: str | None = None) -> tuple[str, str]:
    """Decode survey text: an explicit ``encoding`` wins; else UTF-8 (with or without BOM), then GBK.

    Returns the text and the encoding used. Raises ``UnicodeDecodeError`` when an explicit
    encoding does not fit, and ``ValueError`` when neither UTF-8 nor GB18030 decodes the bytes.
    """
    if encoding:
        return data.decode(encoding), encoding
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        data.decode("gbk")
        return data.decode("gbk"), "gbk"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as err:
        raise ValueError("text is neither UTF-8 nor GBK/GB18030; pass encoding=") from err


def read_text_file(path: Path, encoding: str | None, notes: list[str]) -> tuple[str, str]:
    """Read and decode a survey text file (部标 TXT, CSV corner table), noting a guessed encoding.

    Returns the text and the encoding used. Raises ``ReadError`` naming the file when it
    cannot be read or decoded.
    """
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ReadError(f"cannot be read: {err.strerror or err}", path=path) from err
    try:
        text, used = decode_text(data, encoding)
    except (UnicodeDecodeError, LookupError, ValueError) as err:
        hint = "" if "encoding=" in str(err) else "; pass encoding="
        raise ReadError(f"cannot be decoded as {encoding or 'UTF-8 or GBK'}: {err}{hint}", path=path) from err
    if encoding is None and used != "utf-8":
        message = f"text is not UTF-8: decoded as {used.upper()} (pass encoding= to override)"
        notes.append(message)
        warnings.warn(f"{where(path)}: {message}", EncodingGuessWarning, stacklevel=5)
    return text, used
