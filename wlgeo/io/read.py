"""``read_layer``: the one funnel every input format goes through."""

from __future__ import annotations

import hashlib
import zipfile
from os import PathLike
from pathlib import Path

import geopandas as gpd

from wlgeo.model.errors import ReadError
from wlgeo.model.resources import check_memory, format_bytes
from wlgeo.io.coords import to_working_crs
from wlgeo.io.paths import checked_path
from wlgeo.io.raw import RawLayer
from wlgeo.io.vector import VECTOR_SUFFIXES, read_vector
from wlgeo.io.bubiao import read_bubiao
from wlgeo.io.corners import read_corner_table

__all__ = ["read_layer", "SUPPORTED_SUFFIXES", "file_sha256"]

TABLE_SUFFIXES = (".csv", ".xlsx", ".xls")
TEXT_SUFFIXES = (".txt",)
SUPPORTED_SUFFIXES = VECTOR_SUFFIXES + TEXT_SUFFIXES + TABLE_SUFFIXES


def _check_path(source) -> Path:
    path = checked_path(source, what="file path")
    if not path.exists():
        raise ReadError("no such file", path=path)
    suffix = path.suffix.lower()
    if path.is_dir() and suffix != ".gdb":
        raise ReadError("is a directory; give the path of a file inside it (a FileGDB folder ends in .gdb)", path=path)
    if suffix not in SUPPORTED_SUFFIXES:
        raise ReadError(
            f"unsupported file type {suffix or '(no extension)'!r}; wlgeo reads "
            + ", ".join(SUPPORTED_SUFFIXES),
            path=path,
        )
    if path.is_dir():
        if not any(path.iterdir()):
            raise ReadError("FileGDB folder is empty", path=path)
    elif not path.is_file():
        raise ReadError("is not a regular file (a device, pipe or socket); give a file", path=path)
    elif path.stat().st_size == 0:
        raise ReadError("file is empty (0 bytes)", path=path)
    _check_read_memory(path, suffix)
    return path


READ_BYTES_PER_FILE_BYTE = {".geojson": 8, ".json": 8, ".txt": 12, ".csv": 12, ".gpkg": 3, ".shp": 3,
                            ".xlsx": 10, ".xls": 10}
"""Allowance of memory per byte of file while a reader turns it into a frame (GDAL's GeoJSON
objects, Python rows of a text table, the frame itself); for a workbook, per byte of its
uncompressed XML."""


def _check_read_memory(path: Path, suffix: str) -> None:
    """Refuse a file whose reading would not fit the memory budget (a 10 GB GeoJSON, a zip bomb
    posing as a workbook) before a byte of it is read."""
    size = path.stat().st_size
    what = f"reading {path.name} ({format_bytes(size)})"
    if suffix == ".xlsx":
        try:
            with zipfile.ZipFile(path) as archive:
                size = sum(max(0, info.file_size) for info in archive.infolist())
        except (zipfile.BadZipFile, OSError, ValueError, EOFError):
            return  # the reader says what is wrong with it
        what = f"reading {path.name} ({format_bytes(size)} of XML once unzipped)"
    check_memory(what, size * READ_BYTES_PER_FILE_BYTE.get(suffix, 3),
                 "split the layer into smaller files (GeoPackage or GeoParquet parts), or raise --memory-limit")


def _read_raw(path: Path, *, layer, encoding) -> RawLayer:
    suffix = path.suffix.lower()
    if suffix in TEXT_SUFFIXES:
        return read_bubiao(path, encoding=encoding)
    if suffix in TABLE_SUFFIXES:
        return read_corner_table(path, sheet=layer, encoding=encoding)
    return read_vector(path, layer=layer, encoding=encoding)


def file_sha256(path: Path) -> str:
    """SHA-256 of a file (and, for a shapefile, of its sidecars in a fixed order; for a folder
    of GeoParquet parts, of its ``*.parquet`` files in name order)."""
    digest = hashlib.sha256()
    paths = [path]
    if path.is_dir():  # a FileGDB folder or a folder of GeoParquet parts: its files in a fixed order
        paths = sorted(p for p in path.rglob("*") if p.is_file())
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
    working_crs=None,
    region: tuple[float, float, float, float] | None = None,
    region_name: str = "the district's region",
) -> gpd.GeoDataFrame:
    """Read any supported file into a GeoDataFrame in a metric working CRS.

    Parameters
    ----------
    source : path to a GeoPackage, GeoJSON, ESRI JSON, JSON-FG, shapefile (or a zipped one),
        FileGDB folder (``.gdb``), 部标 TXT, or a corner-point table (CSV / XLSX).
    layer : layer of a GeoPackage, FileGDB or zip, or sheet of a workbook.
    encoding : text encoding; when given it always wins. Otherwise GBK shapefiles without a
        ``.cpg`` and GBK survey text are detected and the guess is recorded.
    crs : the source CRS, for files that carry none or carry a wrong one. It always wins over
        the file's declaration and a survey header (a disagreement is warned, naming both).
    gcj02 : the file's lon/lat are GCJ-02 (Gaode/AMap): shift them to WGS84 before projecting
        (points outside China are left unchanged, with a note).
    working_crs : the CRS to return (projected, metres), e.g. a pack's working CRS. ``None``:
        the CGCS2000 3-degree Gauss-Kruger zone (EPSG:4534–4554) holding the data's centre.
        GK metres that name no zone (no header, no prefix) are taken to be in this CRS's zone,
        with a warning; without it they are refused.
    region : (west, south, east, north) lon/lat box the layer must reach (a pack passes its
        district's region); a layer wholly outside is refused, naming where it lies. ``None``:
        around the working CRS's zone, or China.
    region_name : how messages name ``region``.

    Returns
    -------
    GeoDataFrame
        In the working CRS. ``.attrs["wlgeo_notes"]`` lists, in order, every assumption and fix
        (CRS guessed, grid read from a header, encoding detected, axes swapped, zone prefix
        removed, GCJ-02 removed, working CRS chosen, reprojection); ``.attrs["wlgeo_source"]`` holds the path, layer, encoding and source CRS.

    Raises
    ------
    ReadError
        The file is missing, empty, a directory, of an unknown type, or not readable.
    CRSError
        The coordinates cannot be placed: no CRS and no recognisable magnitudes, a zone that
        cannot be known (the candidates are listed), a header naming a local grid or a
        contradiction, eastings beyond the zone's width, a layer outside ``region``, or a
        ``working_crs`` that is not projected metres.

    Examples
    --------
    >>> import wlgeo
    >>> quarries = wlgeo.read_layer("layers/wulong.gpkg", layer="quarries")  # doctest: +SKIP
    >>> quarries.crs.to_epsg()  # the zone holding the data: 36, CM 108°E  # doctest: +SKIP
    4545
    """
    path = _check_path(source)
    raw = _read_raw(path, layer=layer, encoding=encoding)
    notes = list(raw.notes)
    frame = to_working_crs(
        raw.frame,
        crs=crs,
        datum=raw.datum,
        hint=raw.hint,
        working_crs=working_crs,
        region=region,
        region_name=region_name,
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
