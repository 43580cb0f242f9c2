"""``read_layer``: the one funnel every input format goes through."""

from __future__ import annotations

import hashlib
from os import PathLike
from pathlib import Path

import geopandas as gpd

from ..errors import ReadError
from .coords import to_working_crs
from .raw import RawLayer
from .vector import VECTOR_SUFFIXES, read_vector

__all__ = ["read_layer", "SUPPORTED_SUFFIXES", "file_sha256"]

TABLE_SUFFIXES = (".csv", ".xlsx", ".xls")
TEXT_SUFFIXES = (".txt",)
SUPPORTED_SUFFIXES = VECTOR_SUFFIXES + TEXT_SUFFIXES + TABLE_SUFFIXES


def _check_path(source) -> Path:
    try:
        path = Path(source)
    except TypeError as err:
        raise ReadError(f"not a file path: {source!r}") from err
    if not path.exists():
        raise ReadError("no such file", path=path)
    if path.is_dir():
        raise ReadError("is a directory; give the path of a file inside it", path=path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise ReadError(
            f"unsupported file type {suffix or '(no extension)'!r}; wlgeo reads "
            + ", ".join(SUPPORTED_SUFFIXES),
            path=path,
        )
    if path.stat().st_size == 0:
        raise ReadError("file is empty (0 bytes)", path=path)
    return path


def _read_raw(path: Path, *, layer, encoding) -> RawLayer:
    suffix = path.suffix.lower()
    if suffix in TEXT_SUFFIXES:
        from .bubiao import read_bubiao

        return read_bubiao(path, encoding=encoding)
    if suffix in TABLE_SUFFIXES:
        from .corners import read_corner_table

        return read_corner_table(path, sheet=layer, encoding=encoding)
    return read_vector(path, layer=layer, encoding=encoding)


def file_sha256(path: Path) -> str:
    """SHA-256 of a file (and, for a shapefile, of its sidecars in a fixed order; for a folder
    of GeoParquet parts, of its ``*.parquet`` files in name order)."""
    digest = hashlib.sha256()
    paths = [path]
    if path.is_dir():
        paths = sorted(path.glob("*.parquet"))
    elif path.suffix.lower() == ".shp":
        paths = sorted(p for p in path.parent.glob(path.stem + ".*") if p.is_file())
    for part in paths:
        with open(part, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def read_layer(
    source: str | PathLike,
    *,
    layer: str | None = None,
    encoding: str | None = None,
    crs=None,
    gcj02: bool = False,
) -> gpd.GeoDataFrame:
    """Read any supported file into a GeoDataFrame in the working CRS (EPSG:4545).

    Parameters
    ----------
    source : path to a GeoPackage, GeoJSON, shapefile, 部标 TXT, or a corner-point table
        (CSV / XLSX).
    layer : layer of a GeoPackage, or sheet of a workbook.
    encoding : text encoding; when given it always wins. Otherwise GBK shapefiles without a
        ``.cpg`` and GBK survey text are detected and the guess is recorded.
    crs : the source CRS, for files that carry none or carry a wrong one.
    gcj02 : the file's lon/lat are GCJ-02 (Gaode/AMap): shift them to WGS84 before projecting.

    Returns
    -------
    GeoDataFrame
        In EPSG:4545. ``.attrs["wlgeo_notes"]`` lists, in order, every assumption and fix
        (CRS guessed, encoding detected, axes swapped, zone prefix removed, GCJ-02 removed,
        reprojection); ``.attrs["wlgeo_source"]`` holds the path, layer, encoding and source CRS.

    Raises
    ------
    ReadError
        The file is missing, empty, a directory, of an unknown type, or not readable.
    CRSError
        The coordinates cannot be placed: no CRS and no recognisable magnitudes, a zone other
        than 36, or a declared CRS the coordinates contradict.

    Examples
    --------
    >>> import wlgeo
    >>> quarries = wlgeo.read_layer("layers/wulong.gpkg", layer="quarries")  # doctest: +SKIP
    >>> quarries.crs.to_epsg()  # doctest: +SKIP
    4545
    """
    path = _check_path(source)
    raw = _read_raw(path, layer=layer, encoding=encoding)
    notes = list(raw.notes)
    frame = to_working_crs(
        raw.frame,
        crs=crs,
        datum=raw.datum,
        gcj02=gcj02,
        notes=notes,
        path=path,
        layer=layer,
    )
    frame.attrs["wlgeo_notes"] = notes
    frame.attrs["wlgeo_source"] = {
        "path": str(path),
        "layer": layer,
        "encoding": raw.encoding,
        "crs": frame.attrs.pop("wlgeo_source_crs", None),
    }
    return frame
