"""What a format reader hands to the funnel before coordinates are normalised."""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd

from ..crs import Datum

__all__ = ["RawLayer", "decode_text"]


@dataclass
class RawLayer:
    """A layer as stored in its file.

    ``frame.crs`` is the CRS the file declares (``None`` when it declares none). For survey
    formats (部标 TXT, corner tables) geometry x is the easting column (Y) and y the northing
    column (X) as written; the funnel detects and fixes files whose columns were swapped.
    """

    frame: gpd.GeoDataFrame
    datum: Datum | None = None
    encoding: str | None = None
    notes: list[str] = field(default_factory=list)


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
