"""Hostile input files built byte by byte in code (no fixture files): shapefiles of types wlgeo
cannot use (MultiPatch, written as ArcGIS 3D exports write them) and GeoPackages whose WKB
geometry is damaged (unclosed or one-point rings, TIN)."""

from __future__ import annotations

import sqlite3
import struct
from pathlib import Path

import geopandas as gpd
import shapely

MULTIPATCH = 31


def _shp_header(shape_type: int, length_words: int, bbox) -> bytes:
    xmin, ymin, xmax, ymax = bbox
    head = struct.pack(">7i", 9994, 0, 0, 0, 0, 0, length_words)
    head += struct.pack("<2i", 1000, shape_type)
    head += struct.pack("<8d", xmin, ymin, xmax, ymax, 0.0, 10.0, 0.0, 0.0)
    return head


def _multipatch_record(points, part_type: int = 0) -> bytes:
    """One MultiPatch shape: a single part (0 = triangle strip, 1 = fan, 5 = ring) with Z."""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    zs = [p[2] for p in points]
    body = struct.pack("<i4d", MULTIPATCH, min(xs), min(ys), max(xs), max(ys))
    body += struct.pack("<2i", 1, len(points))
    body += struct.pack("<i", 0) + struct.pack("<i", part_type)
    for x, y, _ in points:
        body += struct.pack("<2d", x, y)
    body += struct.pack("<2d", min(zs), max(zs)) + struct.pack(f"<{len(zs)}d", *zs)
    return body


def _dbf(names: list[str]) -> bytes:
    width = max(len(n.encode("utf-8")) for n in names) + 1
    header_len = 32 + 32 + 1
    record_len = 1 + width
    head = struct.pack("<B3BIHH20x", 3, 126, 1, 1, len(names), header_len, record_len)
    field = b"quarry_id".ljust(11, b"\0") + b"C" + b"\0" * 4 + bytes([width, 0]) + b"\0" * 14
    records = b"".join(b" " + n.encode("utf-8").ljust(width) for n in names)
    return head + field + b"\r" + records + b"\x1a"


def write_multipatch_shapefile(path: Path, part_type: int = 0) -> Path:
    """A MultiPatch shapefile (.shp/.shx/.dbf/.cpg) with one triangle-strip feature near Wulong."""
    x0, y0 = 460_000.0, 3_250_000.0
    points = [(x0, y0, 0.0), (x0 + 100, y0, 5.0), (x0, y0 + 100, 5.0), (x0 + 100, y0 + 100, 10.0)]
    record = _multipatch_record(points, part_type)
    words = (100 + 8 + len(record)) // 2
    bbox = (x0, y0, x0 + 100, y0 + 100)
    shp = _shp_header(MULTIPATCH, words, bbox) + struct.pack(">2i", 1, len(record) // 2) + record
    shx = _shp_header(MULTIPATCH, (100 + 8) // 2, bbox) + struct.pack(">2i", 50, len(record) // 2)
    path.write_bytes(shp)
    path.with_suffix(".shx").write_bytes(shx)
    path.with_suffix(".dbf").write_bytes(_dbf(["MP1"]))
    path.with_suffix(".cpg").write_text("UTF-8")
    return path


def _gpkg_blob(wkb: bytes, srs_id: int = 4545) -> bytes:
    return b"GP" + bytes([0, 1]) + struct.pack("<i", srs_id) + wkb  # flags 1: little endian, no envelope


def polygon_wkb(rings: list[list[tuple[float, float]]]) -> bytes:
    """Polygon WKB written as given: no closing point added, any number of points."""
    out = struct.pack("<BII", 1, 3, len(rings))
    for ring in rings:
        out += struct.pack("<I", len(ring)) + b"".join(struct.pack("<2d", x, y) for x, y in ring)
    return out


def tin_wkb() -> bytes:
    """A one-triangle TIN (ISO WKB type 16)."""
    x0, y0 = 460_000.0, 3_250_000.0
    tri = [(x0, y0), (x0 + 100, y0), (x0, y0 + 100), (x0, y0)]
    return struct.pack("<BII", 1, 16, 1) + polygon_wkb([tri])


def write_gpkg_with_blobs(path: Path, blobs: dict[str, bytes], layer: str = "quarries") -> Path:
    """A valid quarries GeoPackage (one feature per key of ``blobs``), then each feature's geometry
    blob replaced in SQLite by ``blobs[quarry_id]`` (WKB), as a damaged or foreign file has it."""
    x0, y0 = 460_000.0, 3_250_000.0
    ids = list(blobs)
    frame = gpd.GeoDataFrame(
        {"quarry_id": ids, "capacity": [60.0] * len(ids), "license_end": ["2030-12-31"] * len(ids)},
        geometry=[shapely.box(x0 + 1000 * i, y0, x0 + 1000 * i + 200, y0 + 100) for i in range(len(ids))],
        crs="EPSG:4545",
    )
    frame.to_file(path, layer=layer, driver="GPKG", engine="pyogrio", layer_options={"SPATIAL_INDEX": "NO"})
    with sqlite3.connect(path) as db:
        for qid, wkb in blobs.items():
            if wkb is not None:
                db.execute(f'UPDATE "{layer}" SET geom = ? WHERE quarry_id = ?', (_gpkg_blob(wkb), qid))
    return path
