"""What to say when GDAL reads a vector file whose content wlgeo cannot turn into a frame.

pyogrio hands GDAL's WKB to shapely; a ring that is not closed, a ring of one point or a
triangulated surface (TIN / PolyhedralSurface, what GDAL makes of an ArcGIS MultiPatch) raises a
bare ``GEOSException``; a GeoJSON property holding an array or an object comes back as a Python
list, array or dict (or, for an array of booleans, a ``ValueError``). These helpers find the
feature and field concerned and say it in one line.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pyogrio
import pyogrio.raw
import shapely

from wlgeo.model.errors import LayerError, ReadError
from wlgeo.io.paths import gdal_path

__all__ = ["undecodable_geometry", "nested_value_error", "check_plain_values", "wkb_type_name"]

_WKB_NAMES = {
    1: "Point", 2: "LineString", 3: "Polygon", 4: "MultiPoint", 5: "MultiLineString", 6: "MultiPolygon",
    7: "GeometryCollection", 8: "CircularString", 9: "CompoundCurve", 10: "CurvePolygon", 11: "MultiCurve",
    12: "MultiSurface", 13: "Curve", 14: "Surface", 15: "PolyhedralSurface", 16: "TIN", 17: "Triangle",
}
SURFACES = {15, 16, 17}
"""ISO WKB codes of 3-D surfaces with no polygon equivalent wlgeo could use."""

_ID_FIELDS = ("quarry_id", "site_id", "block_id", "name", "id")
_SCAN_LIMIT = 32 << 20  # GeoJSON files up to this size are scanned to name a nested value's feature


def wkb_type_name(wkb: bytes) -> tuple[int, str]:
    """The base ISO type code and name of a WKB geometry (Z/M/EWKB flags removed)."""
    if len(wkb) < 5:
        return 0, "truncated WKB"
    order = "<" if wkb[0] == 1 else ">"
    code = struct.unpack(order + "I", wkb[1:5])[0] & 0x0FFFFFFF
    base = code % 1000
    return base, _WKB_NAMES.get(base, f"unknown WKB type {code}")


def _label(fields: list[str], values: list, i: int, fid) -> str:
    for name in _ID_FIELDS:
        if name in fields:
            value = values[fields.index(name)][i]
            if value is not None and str(value).strip():
                return str(value)
    return f"fid {fid}"


def undecodable_geometry(path: Path, layer: str | None, encoding: str | None, err: Exception) -> Exception:
    """The :class:`LayerError` for a layer whose geometry shapely cannot decode: names the type
    (surfaces: the whole layer is refused) or the first feature and GEOS's reason."""

    reason = str(err).split(":", 1)[-1].strip() or type(err).__name__
    try:
        with gdal_path(path) as opened:
            meta, fids, wkbs, values = pyogrio.raw.read(opened, layer=layer, encoding=encoding, return_fids=True)
    except Exception:  # noqa: BLE001 - the first error is the one to report
        return LayerError(f"a geometry cannot be decoded ({reason})", path=path, layer=layer, field="geometry")
    fields = [str(f) for f in meta["fields"]]
    fids = fids if fids is not None else np.arange(len(wkbs))
    for i, wkb in enumerate(wkbs):
        if wkb is None:
            continue
        code, name = wkb_type_name(bytes(wkb))
        if code in SURFACES:
            return LayerError(
                f"holds {name} geometries (3-D surfaces, e.g. an ArcGIS MultiPatch; first: feature "
                f"'{_label(fields, values, i, fids[i])}'), which wlgeo cannot use: export the layer as 2-D polygons "
                "(footprints) first",
                path=path, layer=layer, field="geometry",
            )
        try:
            shapely.from_wkb(bytes(wkb))
        except shapely.errors.GEOSException as bad:
            why = str(bad).split(":", 1)[-1].strip()
            return LayerError(
                f"{name} geometry cannot be decoded: {why} (a polygon ring must be closed and have at least 4 points)",
                path=path, layer=layer, feature=_label(fields, values, i, fids[i]), field="geometry",
            )
    return LayerError(f"a geometry cannot be decoded ({reason})", path=path, layer=layer, field="geometry")


def _nested(value) -> bool:
    return isinstance(value, (list, tuple, dict, np.ndarray))


def _geojson_nested(path: Path) -> tuple[str, str] | None:
    """(feature label, field) of the first array/object property of a GeoJSON file, if small enough."""
    try:
        if path.stat().st_size > _SCAN_LIMIT:
            return None
        data = json.loads(path.read_bytes().decode("utf-8-sig"))
    except (OSError, ValueError, RecursionError):
        return None
    features = data.get("features") if isinstance(data, dict) else None
    for n, feature in enumerate(features if isinstance(features, list) else []):
        props = feature.get("properties") if isinstance(feature, dict) else None
        if not isinstance(props, dict):
            continue
        for key, value in props.items():
            if _nested(value):
                label = next((str(props[k]) for k in _ID_FIELDS if k in props and not _nested(props[k])), f"#{n + 1}")
                return label, str(key)
    return None


def nested_value_error(path: Path, layer: str | None, err: Exception) -> Exception:
    """The error for a file pyogrio could not turn into columns (GeoJSON arrays or objects as values)."""
    where = _geojson_nested(path) if path.suffix.lower() in (".geojson", ".json") else None
    if where is not None:
        return LayerError(
            "holds a list or object, not one value: wlgeo needs one plain value (text, number, date) per field",
            path=path, layer=layer, feature=where[0], field=where[1],
        )
    reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return ReadError(f"cannot be read into columns: {reason[:200]}", path=path, layer=layer)


def check_plain_values(frame, *, path: Path, layer: str | None) -> None:
    """Refuse a frame with a list, array or dict as a value (a GeoJSON array or object property)."""
    geometry = frame.geometry.name if hasattr(frame, "geometry") else None
    for column in frame.columns:
        if column == geometry or frame[column].dtype != object:
            continue
        values = frame[column].to_numpy()
        nested = np.fromiter((_nested(v) for v in values), dtype=bool, count=len(values))
        if nested.any():
            i = int(np.flatnonzero(nested)[0])
            label = f"#{i + 1}"
            for name in _ID_FIELDS:
                if name in frame.columns and name != column and not _nested(frame[name].iloc[i]):
                    label = str(frame[name].iloc[i])
                    break
            raise LayerError(
                "holds a list or object, not one value: wlgeo needs one plain value (text, number, date) per field",
                path=path, layer=layer, feature=label, field=str(column),
            )
