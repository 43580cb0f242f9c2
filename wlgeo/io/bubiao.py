"""部标 TXT: the MNR electronic submission format for land parcels and mining-right corners.

A file has an ``[属性描述]`` header (``key=value`` lines: 坐标系, 几度分带, 带号, 计量单位, ...) and a
``[地块坐标]`` section holding many parcels. Each parcel is a line::

    点数,面积(公顷),地块编号,地块名称,几何类型(面/线/点),图幅号,地块用途,地类编码,@

followed by its point lines ``点号,圈号,X,Y`` where X is the northing and Y the easting (maybe
with the zone prefix 36). Ring 1 is the outer ring; a further ring is a hole when it lies inside
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

from ..crs import WULONG_ZONE, Datum
from ..errors import CRSError, LayerError
from .raw import RawLayer, read_text_file

log = logging.getLogger(__name__)

__all__ = ["read_bubiao", "datum_from_text", "assemble_polygon", "invalid_geometry_notes"]

COLUMNS = ["parcel_id", "name", "area_ha", "use", "land_code", "sheet", "geom_type"]
AREA_TOLERANCE = 0.01
"""Relative difference between the declared 面积 and the polygon's area that earns a note."""

_GEOM_TYPES = {"面": "polygon", "线": "line", "点": "point"}

_DATUM_PATTERNS: tuple[tuple[Datum, re.Pattern], ...] = (
    ("cgcs2000", re.compile(r"2000|cgcs", re.I)),
    ("xian80", re.compile(r"西安|xi.?an|1980|80", re.I)),
    ("beijing54", re.compile(r"北京|beijing|1954|54", re.I)),
)


def datum_from_text(text: str) -> Datum | None:
    """Recognise the datum a survey header names (``"2000国家大地坐标系"`` → ``"cgcs2000"``).

    Returns ``None`` for an empty or unrecognised value.

    Examples
    --------
    >>> datum_from_text("1980西安坐标系"), datum_from_text("CGCS2000"), datum_from_text("")
    ('xian80', 'cgcs2000', None)
    """
    text = (text or "").strip()
    if not text:
        return None
    for datum, pattern in _DATUM_PATTERNS:
        if pattern.search(text):
            return datum
    return None


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
        if line.startswith("[") and line.endswith("]"):
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


def _parcel_line(fields: list[str], line_no: int, path: Path) -> _Parcel:
    values = fields[:-1]  # drop the trailing "@"
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
    attrs = {
        "parcel_id": parcel_id,
        "name": values[3],
        "area_ha": area,
        "use": extra[6],
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


def _check_count(parcel: _Parcel, path: Path) -> None:
    if parcel.n_points != parcel.count:
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


def _parse_body(body: list[tuple[int, str]], path: Path) -> list[_Parcel]:
    parcels: list[_Parcel] = []
    for line_no, line in body:
        fields = _split(line)
        if fields[-1] == "@":
            if parcels:
                _check_count(parcels[-1], path)
            parcels.append(_parcel_line(fields, line_no, path))
        elif not parcels:
            raise LayerError(
                f"line {line_no}: a point line comes before any parcel line (a parcel line ends with '@')",
                path=path,
            )
        else:
            _add_point(parcels[-1], fields, line_no, path)
    if not parcels:
        raise LayerError("the [地块坐标] section holds no parcel", path=path)
    _check_count(parcels[-1], path)
    return parcels


# --- header checks --------------------------------------------------------------------------


def _header_datum(header: dict[str, str], path: Path) -> Datum | None:
    text = header.get("坐标系", "")
    datum = datum_from_text(text)
    if text and datum is None:
        raise CRSError(
            f"坐标系={text!r} is not a datum wlgeo knows; expected 2000国家大地坐标系, "
            "1980西安坐标系 or 1954北京坐标系 (convert the file, or fix the header)",
            path=path,
            field="坐标系",
        )
    return datum


def _header_units(header: dict[str, str], path: Path) -> None:
    unit = header.get("计量单位", "").strip().lower()
    if unit and unit not in ("米", "m", "metre", "meter", "metres", "meters"):
        raise CRSError(
            f"计量单位={header['计量单位']!r}: only coordinates in metres (米) are supported",
            path=path,
            field="计量单位",
        )
    width = header.get("几度分带", "").strip()
    if width and width not in ("3", "3度", "三度"):
        raise CRSError(
            f"几度分带={width!r}: wlgeo reads 3-degree Gauss-Kruger zones (Wulong is in 3-degree "
            "zone 36); convert the file to 3-degree zone 36 first",
            path=path,
            field="几度分带",
        )


def _prefix_zones(parcels: list[_Parcel]) -> set[int]:
    """Zone prefixes found on 8-digit coordinates (either column)."""
    zones = set()
    for parcel in parcels:
        for _, points in parcel.rings:
            for x, y in points:
                for value in (x, y):
                    if 1e7 <= abs(value) < 1e8:
                        zones.add(int(value // 1e6))
    return zones


def _header_zone(header: dict[str, str], parcels: list[_Parcel], path: Path, notes: list[str]) -> None:
    """Check 带号 against Wulong's zone 36 and the prefix the coordinates carry."""
    text = header.get("带号", "").strip()
    if not text:
        return
    match = re.fullmatch(r"\s*(\d{1,2})\s*(带|度带)?\s*", text)
    if match is None:
        raise CRSError(f"带号={text!r} is not a zone number", path=path, field="带号")
    zone = int(match.group(1))
    if zone == WULONG_ZONE:
        return
    prefixes = _prefix_zones(parcels)
    if prefixes == {WULONG_ZONE}:
        message = (
            f"the header says 带号={zone}, but every easting carries the zone prefix "
            f"{WULONG_ZONE}: the coordinates were taken as zone {WULONG_ZONE} (the header is wrong)"
        )
        notes.append(message)
        log.warning("%s: %s", path, message)
        return
    raise CRSError(
        f"the header says 带号={zone}, but Wulong lies in 3-degree zone {WULONG_ZONE} (central "
        f"meridian 108°E) and the coordinates carry no zone-{WULONG_ZONE} prefix to say otherwise; "
        f"convert the file to zone {WULONG_ZONE}, or fix 带号 if it is wrong",
        path=path,
        field="带号",
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
        column; no CRS; ``datum`` from the header's 坐标系; notes on the encoding, the header and
        every parcel whose declared 面积 differs from its polygon by more than 1 %.

    Raises
    ------
    ReadError
        The file cannot be read or decoded.
    LayerError
        A malformed line: the message names the file, line number, parcel and field.
    CRSError
        The header names a datum, unit, zone width or zone wlgeo cannot place in zone 36.

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
    datum = _header_datum(header, path)
    _header_units(header, path)
    parcels = _parse_body(body, path)
    _header_zone(header, parcels, path, notes)
    if datum is None:
        notes.append("部标 header names no 坐标系: CGCS2000 assumed unless crs= is given")
    else:
        notes.append(f"部标 header: 坐标系={header.get('坐标系')} ({datum})")
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
    return RawLayer(frame=frame, datum=datum, encoding=used, notes=notes)
