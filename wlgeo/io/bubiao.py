"""部标 TXT: the MNR electronic submission format for land parcels and mining-right corners.

A file has an ``[属性描述]`` header (``key=value`` lines: 坐标系, 几度分带, 带号, 计量单位, ...) and a
``[地块坐标]`` section holding many parcels. Each parcel is a line::

    点数,面积(公顷),地块编号,地块名称,几何类型(面/线/点),图幅号,地块用途,地类编码,@

followed by its point lines ``点号,圈号,X,Y`` where X is the northing and Y the easting (maybe
with the zone prefix, e.g. 37). Ring 1 is the outer ring; a further ring is a hole when it lies inside
an outer ring read before it, else a further part (MultiPolygon). The first point is often
repeated at the end to close the ring.

:func:`read_bubiao` returns the parcels as stored: geometry x = the Y column, y = the X column,
no CRS. The funnel (:func:`wlgeo.io.read.read_layer`) then recognises the zone prefix and a
swapped file, and picks the CRS from the header's datum.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import shapely
from shapely.geometry import LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon

from wlgeo.model.errors import CRSError, LayerError
from wlgeo.io.gridhint import datum_from_text, hint_from_header
from wlgeo.io.raw import RawLayer, read_text_file

log = logging.getLogger(__name__)

__all__ = ["read_bubiao", "datum_from_text", "assemble_polygon", "invalid_geometry_notes"]

COLUMNS = ["parcel_id", "name", "area_ha", "use", "land_code", "sheet", "geom_type"]
AREA_TOLERANCE = 0.01
"""Relative difference between the declared 面积 and the polygon's area that earns a note."""

_GEOM_TYPES = {"面": "polygon", "线": "line", "点": "point"}

# --- geometry -------------------------------------------------------------------------------


def _close(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Drop the repeated closing point (and consecutive duplicates)."""
    out: list[tuple[float, float]] = []
    for point in points:
        if not out or point != out[-1]:
            out.append(point)
    if len(out) > 1 and out[0] == out[-1]:
        out.pop()
    return out


def assemble_polygon(
    rings: list[tuple[str, list[tuple[float, float]]]], *, what: dict
) -> Polygon | MultiPolygon:
    """Build a polygon from rings in file order: ring 1 outer, then holes or further parts.

    A ring after the first is a hole when it lies inside an outer ring already read (the most
    recent first), else it starts a further part. ``what`` carries the error location
    (``path``, ``feature``) for :class:`LayerError`.
    """
    parts: list[tuple[list, list[list]]] = []  # (shell, holes)
    for number, points in rings:
        ring = _close(points)
        if len(ring) < 3:
            raise LayerError(
                f"ring {number} has {len(ring)} distinct point(s); a polygon ring needs at least 3",
                field="ring",
                **what,
            )
        candidate = Polygon(ring)
        host = None
        for shell, holes in reversed(parts):
            if Polygon(shell).covers(candidate):
                host = holes
                break
        if host is None:
            parts.append((ring, []))
        else:
            host.append(ring)
    polygons = [Polygon(shell, holes) for shell, holes in parts]
    return polygons[0] if len(polygons) == 1 else MultiPolygon(polygons)


def invalid_geometry_notes(ids, geoms, what: str) -> list[str]:
    """Notes for geometries GEOS finds invalid (crossing rings, wrong point order): kept, not fixed."""
    geoms = list(geoms)
    reasons = shapely.is_valid_reason(geoms)
    return [
        f"{what} '{ident}': geometry is not valid ({reason}); kept as written — check the point order"
        for ident, reason, geom in zip(ids, reasons, geoms)
        if reason != "Valid Geometry" and geom is not None
    ]


def _assemble(kind: str, rings, *, what: dict):
    if kind == "polygon":
        return assemble_polygon(rings, what=what)
    if kind == "line":
        lines = []
        for number, points in rings:
            if len(points) < 2:
                raise LayerError(f"line part {number} has fewer than 2 points", field="ring", **what)
            lines.append(LineString(points))
        return lines[0] if len(lines) == 1 else MultiLineString(lines)
    points = [p for _, pts in rings for p in pts]
    return Point(points[0]) if len(points) == 1 else MultiPoint(points)


# --- parsing --------------------------------------------------------------------------------


@dataclass
class _Parcel:
    line_no: int
    count: int
    attrs: dict
    kind: str
    rings: list[tuple[str, list[tuple[float, float]]]] = field(default_factory=list)
    n_points: int = 0


def _split(line: str) -> list[str]:
    return [part.strip() for part in line.replace("，", ",").split(",")]


def _header(lines: list[tuple[int, str]]) -> dict[str, str]:
    header: dict[str, str] = {}
    for _, line in lines:
        if "=" in line:
            key, _, value = line.partition("=")
            header[key.strip()] = value.strip()
    return header


def _sections(text: str, path: Path) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """Split the text into numbered header lines and numbered coordinate lines."""
    header: list[tuple[int, str]] = []
    body: list[tuple[int, str]] = []
    current = None
    seen_body = False
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip().lstrip("\ufeff")
        if not line:
            continue
        if line[:1] in "[【" and line[-1:] in "]】":
            current = line[1:-1].strip()
            seen_body = seen_body or current == "地块坐标"
            continue
        if current == "属性描述":
            header.append((number, line))
        elif current == "地块坐标":
            body.append((number, line))
    if not seen_body:
        raise LayerError(
            "not a 部标 TXT file: no [地块坐标] section (expected [属性描述] and [地块坐标] headings)",
            path=path,
        )
    return header, body


def _float(value: str, *, path, line_no, parcel, field_name) -> float:
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise LayerError(
            f"line {line_no}: {value!r} is not a number", path=path, feature=parcel, field=field_name
        )
    return number


_PLACEHOLDERS = re.compile(r"^(FID(_\d+)?|OBJECTID|DKBH|DKMC|TFH|DKYT|DLBM|JHLX|MJ|JZDS)$", re.I)
"""Field names an ArcPy export tool writes in place of values (``FID_0,DKMC,面,TFH,DKYT,DLBM``)."""


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _parcel_line(fields: list[str], line_no: int, path: Path, notes: list[str], number: int) -> _Parcel:
    values = fields[:-1]  # drop the trailing "@"
    placeholders = [v for v in values[2:] if v and _PLACEHOLDERS.match(v)]
    if placeholders:
        values = values[:2] + ["" if _PLACEHOLDERS.match(v) else v for v in values[2:]]
        notes.append(f"line {line_no}: placeholder attribute values {', '.join(placeholders)} (an export tool "
                     "wrote field names in place of values): left empty")
    if len(values) > 2 and not values[2] and placeholders:
        values[2] = str(number)
        notes.append(f"line {line_no}: no real 地块编号: the parcel is numbered {number} (its order in the file)")
    parcel_id = values[2] if len(values) > 2 and values[2] else None
    label = parcel_id or f"line {line_no}"
    if len(values) < 5:
        raise LayerError(
            f"line {line_no}: a parcel line needs 点数,面积,地块编号,地块名称,几何类型,...,@ "
            f"but has {len(values)} field(s) before '@'",
            path=path,
            feature=label,
        )
    if parcel_id is None:
        raise LayerError(f"line {line_no}: the parcel has no 地块编号", path=path, feature=label, field="parcel_id")
    try:
        number = float(values[0])
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or number != math.floor(number):  # inf, 1e400, nan, 2.5
        raise LayerError(
            f"line {line_no}: 点数 {values[0]!r} is not a whole number", path=path, feature=label, field="point_count"
        )
    count = int(number)
    area = math.nan
    if values[1]:
        area = _float(values[1], path=path, line_no=line_no, parcel=label, field_name="area_ha")
    kind_text = values[4] or "面"
    kind = _GEOM_TYPES.get(kind_text)
    if kind is None:
        raise LayerError(
            f"line {line_no}: 几何类型 {kind_text!r} is not one of 面, 线, 点",
            path=path,
            feature=label,
            field="geom_type",
        )
    extra = values + [""] * (8 - len(values))
    name, use = values[3], extra[6]
    if (not name or _is_number(name)) and use and not _is_number(use) and not extra[7]:
        # fields out of the usual order (``63,,010031, 32,,,地块1,,@``): the name sits in 用途's place
        held = f" (the name field held {name!r})" if name else ""
        notes.append(f"line {line_no}: fields out of the usual order: 地块名称 {use!r} taken from the 7th field{held}")
        name, use = use, ""
    attrs = {
        "parcel_id": parcel_id,
        "name": name,
        "area_ha": area,
        "use": use,
        "land_code": extra[7],
        "sheet": extra[5],
        "geom_type": kind_text,
    }
    return _Parcel(line_no=line_no, count=count, attrs=attrs, kind=kind)


def _add_point(parcel: _Parcel, fields: list[str], line_no: int, path: Path) -> None:
    label = parcel.attrs["parcel_id"]
    if len(fields) < 4:
        raise LayerError(
            f"line {line_no}: a point line needs 点号,圈号,X,Y but has {len(fields)} field(s)",
            path=path,
            feature=label,
        )
    ring = fields[1] or "1"
    northing = _float(fields[2], path=path, line_no=line_no, parcel=label, field_name="X")
    easting = _float(fields[3], path=path, line_no=line_no, parcel=label, field_name="Y")
    if not parcel.rings or parcel.rings[-1][0] != ring:
        parcel.rings.append((ring, []))
    parcel.rings[-1][1].append((easting, northing))
    parcel.n_points += 1


def _closing_points(parcel: _Parcel) -> int:
    """How many rings repeat their first point at the end."""
    return sum(1 for _, points in parcel.rings if len(points) > 1 and points[0] == points[-1])


def _check_count(parcel: _Parcel, path: Path, notes: list[str]) -> None:
    closing = _closing_points(parcel)
    if parcel.n_points != parcel.count and closing and parcel.n_points - closing == parcel.count:
        notes.append(f"line {parcel.line_no}: 点数={parcel.count} does not count the closing point(s) that "
                     f"repeat each ring's first: {parcel.n_points} point lines read")
    elif parcel.n_points != parcel.count and not closing and parcel.count - parcel.n_points == len(parcel.rings):
        notes.append(f"line {parcel.line_no}: 点数={parcel.count} counts a closing point per ring that the file "
                     "leaves out (unclosed ring): closed")
    elif parcel.n_points != parcel.count:
        raise LayerError(
            f"line {parcel.line_no}: the parcel line declares {parcel.count} points but "
            f"{parcel.n_points} follow it (file truncated or 点数 wrong)",
            path=path,
            feature=parcel.attrs["parcel_id"],
            field="point_count",
        )
    if not parcel.rings:
        raise LayerError(
            f"line {parcel.line_no}: the parcel has no points", path=path, feature=parcel.attrs["parcel_id"]
        )


def _parse_body(body: list[tuple[int, str]], path: Path, notes: list[str]) -> list[_Parcel]:
    parcels: list[_Parcel] = []
    for line_no, line in body:
        fields = _split(line)
        if fields[-1] == "@":
            if parcels:
                _check_count(parcels[-1], path, notes)
            parcels.append(_parcel_line(fields, line_no, path, notes, len(parcels) + 1))
        elif not parcels:
            raise LayerError(
                f"line {line_no}: a point line comes before any parcel line (a parcel line ends with '@')",
                path=path,
            )
        else:
            _add_point(parcels[-1], fields, line_no, path)
    if not parcels:
        raise LayerError("the [地块坐标] section holds no parcel", path=path)
    _check_count(parcels[-1], path, notes)
    return parcels


# --- header checks --------------------------------------------------------------------------


def _header_units(header: dict[str, str], path: Path) -> None:
    unit = header.get("计量单位", "").strip().lower()
    if unit and unit not in ("米", "m", "metre", "meter", "metres", "meters"):
        raise CRSError(
            f"计量单位={header['计量单位']!r}: only coordinates in metres (米) are supported",
            path=path,
            field="计量单位",
        )


# --- public ---------------------------------------------------------------------------------


def _area_notes(frame: gpd.GeoDataFrame, notes: list[str]) -> None:
    areas = shapely.area(frame.geometry.values) / 10_000.0
    for parcel_id, declared, actual, kind in zip(
        frame["parcel_id"], frame["area_ha"], areas, frame.geometry.geom_type
    ):
        if not kind.endswith("Polygon") or not (declared > 0):
            continue
        if abs(actual - declared) > AREA_TOLERANCE * declared:
            notes.append(
                f"parcel '{parcel_id}': 面积 {declared:g} ha in the file but the polygon measures "
                f"{actual:.4f} ha ({(actual - declared) / declared:+.1%})"
            )


def read_bubiao(path: Path, *, encoding: str | None = None) -> RawLayer:
    """Read a 部标 TXT file (parcels of ``[地块坐标]``) as stored.

    Parameters
    ----------
    path : the ``.txt`` file.
    encoding : text encoding; when ``None``, UTF-8 (with or without BOM) then GBK is tried.

    Returns
    -------
    RawLayer
        One row per parcel with ``parcel_id``, ``name``, ``area_ha``, ``use``, ``land_code``,
        ``sheet``, ``geom_type``; geometry x = the Y (easting) column, y = the X (northing)
        column; no CRS; ``hint``: the grid the header names (坐标系, 几度分带, 带号, 投影类型); notes on the encoding, the header and
        every parcel whose declared 面积 differs from its polygon by more than 1 %.

    Raises
    ------
    ReadError
        The file cannot be read or decoded.
    LayerError
        A malformed line: the message names the file, line number, parcel and field.
    CRSError
        The header names coordinates in a unit other than metres (the grid it names is
        weighed by the reading funnel, where ``crs=`` can override it).

    Examples
    --------
    >>> raw = read_bubiao(Path("parcels.txt"))  # doctest: +SKIP
    >>> raw.frame[["parcel_id", "area_ha"]]  # doctest: +SKIP
    """
    path = Path(path)
    notes: list[str] = []
    text, used = read_text_file(path, encoding, notes)
    header_lines, body = _sections(text, path)
    header = _header(header_lines)
    _header_units(header, path)
    hint = hint_from_header(header)
    notes.extend(f"部标 header: {n}" for n in hint.notes)
    parcels = _parse_body(body, path, notes)
    if hint.said:
        notes.append(f"部标 header: {hint.said}")
    else:
        notes.append("部标 header names no 坐标系, 带号 or 几度分带: the grid is read from the coordinates")
    rows, geoms = [], []
    for parcel in parcels:
        what = {"path": path, "feature": parcel.attrs["parcel_id"]}
        geoms.append(_assemble(parcel.kind, parcel.rings, what=what))
        rows.append(parcel.attrs)
    frame = gpd.GeoDataFrame(rows, columns=COLUMNS, geometry=geoms, crs=None)
    frame["area_ha"] = frame["area_ha"].astype(float)
    _area_notes(frame, notes)
    notes.extend(invalid_geometry_notes(frame["parcel_id"], frame.geometry.values, "parcel"))
    duplicated = sorted(set(frame.loc[frame["parcel_id"].duplicated(), "parcel_id"]))
    if duplicated:
        notes.append(f"地块编号 repeated in the file: {', '.join(duplicated)}")
    return RawLayer(frame=frame, datum=hint.datum, encoding=used, notes=notes, hint=hint)
