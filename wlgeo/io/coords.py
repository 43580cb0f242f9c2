"""Place a freshly read layer in the working CRS, fixing what can be fixed and saying so.

Every reader hands its frame here (through :func:`to_working_crs`). The steps, each recorded
as a note:

1. choose the source CRS: an explicit ``crs=`` always wins (a file CRS or survey header that
   disagrees gets a warning naming both); else the file's declared CRS; else the grid a survey
   header names, weighed against the zone prefix the coordinates carry (the prefix wins, said
   so); else GK metres or lon/lat recognised from the magnitudes, with a warning; else refuse;
2. fix a swapped axis order (X = northing written first), strip a GK zone prefix, refuse
   features whose eastings lie beyond their zone's width;
3. undo the GCJ-02 offset when asked (lon/lat inside China only);
4. refuse a layer that lies outside the region it belongs to, naming where it lies;
5. reproject to the working CRS: the one given, else the CGCS2000 3-degree GK zone holding
   the data's centre (:func:`wlgeo.model.crs.working_crs_for`).
"""

from __future__ import annotations

import logging
import warnings

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError as ProjCRSError

from wlgeo.model.crs import (
    GK_ZONES,
    LONLAT_CRS,
    WORKING_CRS,
    Datum,
    GKGrid,
    check_working_crs,
    data_centre,
    crs_label,
    gcj02_to_wgs84,
    gk_grid,
    inspect_gk_layout,
    looks_like_lonlat,
    out_of_china,
    working_crs_for,
)
from wlgeo.model.errors import CRSError, CRSWarning, DatumWarning
from wlgeo.io.gridhint import GridHint
from wlgeo.model.errors import where as fmt

log = logging.getLogger(__name__)

__all__ = ["parse_crs", "to_working_crs", "resolve_working_crs", "CHINA_REGION"]

_DATUM_NAMES = {"cgcs2000": "CGCS2000", "xian80": "Xian 1980", "beijing54": "Beijing 1954"}

CHINA_REGION = (72.0, 0.8, 137.9, 55.9)
"""(west, south, east, north): lon/lat box of China (the GCJ-02 box), for layers read alone."""

_DEGREE_NOISE = 1e-6
"""Degrees beyond ±180/±90 still taken as floating noise (x = 180.00000000000006)."""
_ZONE_SLACK_DEG = 1.5
"""How far past its zone edge a feature may reach before its eastings are refused."""


def parse_crs(value, *, path=None, layer=None) -> CRS:
    """Parse a user-given CRS (``"EPSG:4545"``, ``4545``, WKT, a pyproj CRS) or raise CRSError."""
    try:
        return CRS.from_user_input(value)
    except (ProjCRSError, TypeError, ValueError) as err:
        raise CRSError(
            f"cannot understand crs={value!r}; give an EPSG code such as 'EPSG:4546'",
            path=path,
            layer=layer,
        ) from err


def resolve_working_crs(value, *, path=None, layer=None) -> CRS:
    """Parse a ``working_crs`` and check it is a projected CRS in metres (else one-line CRSError)."""
    source = parse_crs(value, path=path, layer=layer)
    try:
        return check_working_crs(source)
    except ValueError as err:
        raise CRSError(str(err), path=path, layer=layer, field="working_crs") from None


def _coords(frame: gpd.GeoDataFrame) -> np.ndarray:
    geoms = frame.geometry.values
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    return shapely.get_coordinates(geoms)


def _map_xy(frame: gpd.GeoDataFrame, func) -> gpd.GeoDataFrame:
    out = frame.copy()
    out.geometry.values[:] = shapely.transform(np.asarray(frame.geometry.values), func)
    return out


def _swap_xy(frame):
    return _map_xy(frame, lambda c: c[:, ::-1])


def _strip_prefix(frame, zone: int):
    offset = zone * 1_000_000.0
    return _map_xy(frame, lambda c: c - np.array([offset, 0.0]))


def _loc(where: dict) -> str:
    return fmt(where.get("path"), layer=where.get("layer"))


def _warn(message: str, where: dict, category=CRSWarning) -> None:
    warnings.warn(f"{_loc(where)}: {message}", category, stacklevel=5)


def _zone_width(zone: int) -> int | None:
    return next((w for w, (low, high) in GK_ZONES.items() if low <= zone <= high), None)


def _candidates() -> str:
    return ("3-degree zones 25–45 (CGCS2000 EPSG:4534–4554) and 6-degree zones 13–23 (EPSG:4502–4512) alike; "
            "pass crs=, e.g. crs='EPSG:4546' for CGCS2000 3-degree zone 37 (CM 111°E)")


def _hint_grid(hint: GridHint | None, layout, working: CRS | None, notes: list[str], where: dict) -> CRS:
    """The GK (or UTM) CRS of header-less or header-carrying GK metres without a declared CRS."""
    hint = hint or GridHint()
    if hint.local:
        raise CRSError(
            f"the file names an independent or local grid ({hint.local!r}); it has no EPSG code: "
            "give its parameters as crs= (a PROJ string or WKT: central meridian, false easting, "
            "origin offsets) or convert the file to CGCS2000",
            **where,
        )
    if hint.problems:
        raise CRSError("; ".join(hint.problems) + " — fix the header, or pass crs= to say which grid it is", **where)
    said = f" ({hint.said})" if hint.said else ""
    if hint.utm:
        if layout.zone is not None and layout.zone != hint.zone:
            raise CRSError(f"the file says UTM{said} but the eastings carry the prefix {layout.zone}; pass crs=", **where)
        zone = hint.zone if hint.zone is not None else layout.zone
        if zone is None:
            raise CRSError(f"the file says UTM{said} but names no zone; pass crs=, e.g. crs='EPSG:32649'", **where)
        crs = CRS.from_epsg(32600 + zone)
        notes.append(f"header{said}: WGS84 UTM zone {zone}N (EPSG:{32600 + zone})")
        return crs
    prefix = layout.zone
    zone = width = None
    if prefix is not None:
        width = _zone_width(prefix)
        if width is None:
            raise CRSError(f"coordinates carry the zone prefix {prefix}, which is not a zone of China "
                           "(3-degree 25–45, 6-degree 13–23); pass crs=", **where)
        zone = prefix
        if hint.zone is not None and (hint.zone != prefix or (hint.width or width) != width):
            message = (f"the header says 带号={hint.zone}{'' if hint.width is None else f' ({hint.width}-degree)'}, "
                       f"but every easting carries the zone prefix {prefix}: read as {width}-degree zone {prefix} "
                       "(the coordinates carry their zone; the header is wrong)")
            notes.append(message)
            _warn(message, where)
        elif hint.width is not None and hint.width != width:
            message = (f"the header says 几度分带={hint.width}, but the eastings carry the {width}-degree zone "
                       f"prefix {prefix}: read as {width}-degree zone {prefix}")
            notes.append(message)
            _warn(message, where)
    elif hint.zone is not None:
        zone, width = hint.zone, hint.width
        notes.append(f"zone from the header: {width}-degree zone {zone}")
    else:
        grid = gk_grid(working) if working is not None else None
        if grid is not None and hint.width in (None, grid.width):
            zone, width = grid.zone, grid.width
            message = (f"the file names no zone{said} and the eastings carry no prefix: taken as the working "
                       f"CRS's {width}-degree zone {zone} ({crs_label(working)}); pass crs= to override")
            notes.append(message)
            _warn(message, where)
        else:
            raise CRSError(
                f"the zone cannot be known: no CRS in the file{said}, no zone number, no zone prefix on the "
                f"eastings — Gauss-Kruger metres fit {_candidates()}",
                **where,
            )
    datum: Datum = hint.datum or "cgcs2000"
    grid = GKGrid(datum, width, zone, prefixed=prefix is not None)
    if hint.datum is None:
        message = (f"no CRS in the file; coordinates are Gauss-Kruger metres{' with the zone prefix' if prefix else ''}: "
                   f"assumed {grid.label()}; pass crs= to override")
        notes.append(message)
        _warn(message, where)
    else:
        notes.append(f"header names {_DATUM_NAMES[datum]}{said}: {grid.label()}")
    return grid.crs()


def _guess_crs(frame, xy: np.ndarray, hint: GridHint | None, working: CRS | None, notes: list[str],
               where: dict) -> CRS:
    """Recognise a CRS from a survey header and the coordinate magnitudes for a file that declares none."""
    layout = inspect_gk_layout(xy[:, 0], xy[:, 1])
    if layout is not None:
        return _hint_grid(hint, layout, working, notes, where)
    if hint is not None and not hint.empty:
        misfits = _misfit_features(frame, _gk_fits)
        if misfits:
            raise CRSError(misfits, **where)
        raise CRSError(
            f"the header says {hint.said or 'a Gauss-Kruger grid'} but the coordinates are not Gauss-Kruger metres "
            f"(x {xy[:, 0].min():.6g}..{xy[:, 0].max():.6g}, y {xy[:, 1].min():.6g}..{xy[:, 1].max():.6g}); "
            "check the X/Y columns, or pass crs=",
            **where,
        )
    lonlat = looks_like_lonlat(xy[:, 0], xy[:, 1])
    if lonlat is not None:
        message = "no CRS in the file; coordinates are degrees: assumed lon/lat WGS84 (EPSG:4326); pass crs= to override"
        _warn(message, where)
        notes.append(message)
        return CRS.from_epsg(4326)
    misfits = _misfit_features(frame, _gk_fits)
    if misfits:
        raise CRSError(f"no CRS in the file; {misfits}", **where)
    if np.abs(xy[:, 0]).max() <= 180 + _DEGREE_NOISE and np.abs(xy[:, 1]).max() <= 90 + _DEGREE_NOISE \
            and np.abs(xy).max() > 1.0:
        # degrees, but not China's: placed as lon/lat so that the region check can say where they lie
        message = "no CRS in the file; coordinates look like degrees outside China: taken as lon/lat WGS84 (EPSG:4326)"
        _warn(message, where)
        notes.append(message)
        return CRS.from_epsg(4326)
    raise CRSError(
        "no CRS in the file and the coordinates fit no known system "
        f"(x {xy[:, 0].min():.6g}..{xy[:, 0].max():.6g}, y {xy[:, 1].min():.6g}..{xy[:, 1].max():.6g}); "
        "pass crs=, e.g. crs='EPSG:4546' for CGCS2000 3-degree GK zone 37",
        **where,
    )


_ID_COLUMNS = ("quarry_id", "id", "parcel_id", "name")


def _label(frame: gpd.GeoDataFrame, row: int) -> str:
    id_column = next((c for c in _ID_COLUMNS if c in frame.columns), None)
    return str(frame[id_column].iloc[row]) if id_column else f"row {row}"


def _misfit_features(frame: gpd.GeoDataFrame, fits) -> str | None:
    """When some features fit a coordinate system and others do not, name the ones that do not.

    A single stray feature (coordinates typed in the wrong columns, a test polygon at 0,0)
    otherwise makes the whole layer look unplaceable.
    """
    bad, good = [], 0
    for row, geom in enumerate(frame.geometry.values):
        if geom is None or geom.is_empty:
            continue
        xy = shapely.get_coordinates(geom)
        if fits(xy):
            good += 1
        else:
            bad.append(f"'{_label(frame, row)}' (x {xy[:, 0].min():.6g}, y {xy[:, 1].min():.6g})")
    if not bad or not good:
        return None
    shown = ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
    return (
        f"{len(bad)} of {len(bad) + good} features have coordinates unlike the others: {shown}; "
        "fix or remove them (the rest of the layer is readable)"
    )


def _gk_fits(xy: np.ndarray) -> bool:
    return inspect_gk_layout(xy[:, 0], xy[:, 1]) is not None


def _check_zone_width(frame, grid: GKGrid, where: dict) -> None:
    """Refuse, by feature, eastings farther from the central meridian than the zone's width allows."""
    geoms = frame.geometry.values
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not present.any():
        return
    bounds = shapely.bounds(np.asarray(geoms)[present])
    to_lonlat = Transformer.from_crs(grid.crs(), LONLAT_CRS, always_xy=True)
    mid_y = (bounds[:, 1] + bounds[:, 3]) / 2
    lon_w, _ = to_lonlat.transform(bounds[:, 0], mid_y)
    lon_e, _ = to_lonlat.transform(bounds[:, 2], mid_y)
    reach = np.maximum(np.abs(np.asarray(lon_w) - grid.central_meridian), np.abs(np.asarray(lon_e) - grid.central_meridian))
    limit = grid.width / 2 + _ZONE_SLACK_DEG
    bad = np.flatnonzero(~(reach <= limit))
    if not len(bad):
        return
    rows = np.flatnonzero(present)[bad]
    shown = ", ".join(
        f"'{_label(frame, int(r))}' (easting {bounds[b, 0]:.0f}..{bounds[b, 2]:.0f}, {reach[b]:.1f}° from CM)"
        for r, b in list(zip(rows, bad))[:5]
    ) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
    raise CRSError(
        f"{len(bad)} feature(s) have eastings beyond the width of {grid.label()} "
        f"(±{grid.width / 2:g}° around {grid.central_meridian}°E): {shown}; wrong zone or a typo — fix them or "
        "pass the right crs=",
        **where,
    )


def _utm_zone(crs: CRS) -> int | None:
    code = crs.to_epsg()
    return code - 32600 if code is not None and 32601 <= code <= 32660 else None


def _fix_utm_layout(frame, crs: CRS, zone: int, xy: np.ndarray, notes: list[str], where: dict):
    """Swap a northing-first UTM layer back and strip a prefix naming its own zone."""
    layout = inspect_gk_layout(xy[:, 0], xy[:, 1])
    if layout is None:
        return frame
    if layout.swapped:
        frame = _swap_xy(frame)
        notes.append("axes swapped in the source (northing stored first): swapped back")
        _warn("X/Y were swapped in the source; swapped back", where)
    if layout.zone is not None:
        if layout.zone != zone:
            raise CRSError(f"the layer is in {crs_label(crs)} (UTM zone {zone}) but the eastings carry the prefix "
                           f"{layout.zone}; pass the right crs=", **where)
        frame = _strip_prefix(frame, zone)
        notes.append(f"zone prefix {zone} removed from the UTM eastings")
    return frame


def _fix_gk_layout(frame, crs: CRS, notes: list[str], where: dict, *, given: bool = False):
    """Swap axes and strip the zone prefix of a GK layer; return the frame and its (unprefixed) CRS."""
    grid = gk_grid(crs)
    xy = _coords(frame)
    if grid is None and len(xy) and _utm_zone(crs) is not None:
        return _fix_utm_layout(frame, crs, _utm_zone(crs), xy, notes, where), crs
    if grid is None or not len(xy):
        return frame, crs
    layout = inspect_gk_layout(xy[:, 0], xy[:, 1])
    said = f"crs={crs_label(crs)}" if given else f"the layer says {crs_label(crs)}"
    if layout is None:
        misfits = _misfit_features(frame, _gk_fits)
        if misfits:
            raise CRSError(misfits, **where)
        raise CRSError(
            f"{said} but its coordinates are not Gauss-Kruger metres "
            f"(x {xy[:, 0].min():.6g}..{xy[:, 0].max():.6g}, y {xy[:, 1].min():.6g}..{xy[:, 1].max():.6g}); "
            "pass the right crs=",
            **where,
        )
    if layout.swapped:
        frame = _swap_xy(frame)
        notes.append("axes swapped in the source (X = northing stored first): swapped back")
        _warn("X/Y were swapped in the source; swapped back", where)
    if layout.zone is not None:
        if layout.zone != grid.zone or _zone_width(layout.zone) != grid.width:
            raise CRSError(
                f"{said} ({grid.label()}) but the eastings carry the zone prefix {layout.zone}: "
                f"the coordinates are in zone {layout.zone}; pass the crs= of that zone",
                **where,
            )
        frame = _strip_prefix(frame, layout.zone)
        if grid.prefixed:
            notes.append(f"zone prefix {layout.zone} removed from eastings")
        else:
            message = (f"{said} has no zone prefix but the eastings carry the prefix {layout.zone} of that zone: "
                       "prefix removed")
            notes.append(message)
            _warn(message, where)
    elif grid.prefixed:
        notes.append(f"{said} has the zone prefix but the eastings carry none: read as {grid.with_prefix(False).label()}")
    grid = grid.with_prefix(False)
    _check_zone_width(frame, grid, where)
    return frame, grid.crs()


def _fix_lonlat_order(frame, crs: CRS, notes: list[str], where: dict, *, given: bool = False):
    xy = _coords(frame)
    if not crs.is_geographic or not len(xy):
        return frame
    order = looks_like_lonlat(xy[:, 0], xy[:, 1])
    if order is False:
        notes.append("lat/lon stored in place of lon/lat: swapped back")
        _warn("lat/lon were swapped in the source; swapped back", where)
        return _swap_xy(frame)
    max_x, max_y = np.abs(xy[:, 0]).max(), np.abs(xy[:, 1]).max()
    if order is None and (max_x > 180 + _DEGREE_NOISE or max_y > 90 + _DEGREE_NOISE):
        raise CRSError(
            f"{'crs=' if given else 'the layer says '}{crs.name} (degrees) but its coordinates are not degrees "
            f"(x up to {max_x:.6g}); {'that CRS' if given else 'the file' + chr(39) + 's CRS'} is wrong: pass the right crs=, "
            "e.g. crs='EPSG:4546'",
            **where,
        )
    if max_x > 180 or max_y > 90:
        notes.append(f"degrees beyond ±180/±90 by less than {_DEGREE_NOISE:g}° (floating noise): clamped")
        return _map_xy(frame, lambda c: np.column_stack([np.clip(c[:, 0], -180, 180), np.clip(c[:, 1], -90, 90)]))
    return frame


def _datum_of(crs: CRS) -> str | None:
    name = (crs.geodetic_crs.name if crs.geodetic_crs else crs.name).lower()
    if "xian" in name or "xi'an" in name:
        return "xian80"
    if "beijing" in name:
        return "beijing54"
    return None


def _undo_gcj02(frame, crs: CRS, notes: list[str], where: dict):
    if not crs.is_geographic:
        raise CRSError(
            f"gcj02=True needs lon/lat coordinates, but the layer is in {crs.name}", **where
        )
    outside = 0

    def shift(coords):
        nonlocal outside
        outside += int(out_of_china(coords[:, 0], coords[:, 1]).sum())
        lon, lat = gcj02_to_wgs84(coords[:, 0], coords[:, 1])
        return np.column_stack([lon, lat])

    frame = _map_xy(frame, shift)
    notes.append("GCJ-02 offset removed (iterative inverse of the public formula) before projecting")
    if outside:
        message = f"{outside} vertex(es) lie outside China, where GCJ-02 does not apply: left unchanged"
        notes.append(message)
        _warn(message, where)
    return frame


def _lonlat_bounds(frame, crs: CRS) -> tuple[float, float, float, float] | None:
    xy = _coords(frame)
    if not len(xy):
        return None
    minx, miny = xy.min(axis=0)
    maxx, maxy = xy.max(axis=0)
    if crs.is_geographic and crs.equals(LONLAT_CRS.geodetic_crs or LONLAT_CRS, ignore_axis_order=True):
        return float(minx), float(miny), float(maxx), float(maxy)
    transformer = Transformer.from_crs(crs, LONLAT_CRS, always_xy=True)
    return tuple(float(v) for v in transformer.transform_bounds(minx, miny, maxx, maxy, densify_pts=21))


def _fmt_lon(lon: float) -> str:
    return f"{abs(lon):.2f}°{'E' if lon >= 0 else 'W'}"


def _fmt_lat(lat: float) -> str:
    return f"{abs(lat):.2f}°{'N' if lat >= 0 else 'S'}"


def _fmt_box(box) -> str:
    w, s, e, n = box
    return f"{_fmt_lon(w)}–{_fmt_lon(e)}, {_fmt_lat(s)}–{_fmt_lat(n)}"


def _check_region(bounds, region, region_name: str, crs: CRS, where: dict) -> None:
    if bounds is None or region is None:
        return
    w, s, e, n = bounds
    rw, rs, re_, rn = region
    if not np.all(np.isfinite(bounds)) or e < rw or w > re_ or n < rs or s > rn:
        raise CRSError(
            f"the layer lies at {_fmt_box(bounds) if np.all(np.isfinite(bounds)) else 'no valid lon/lat'} "
            f"(read as {crs_label(crs)}), outside {region_name} ({_fmt_box(region)}); it is data of another "
            "place, or its CRS is wrong: check the file, or pass the right crs=",
            **where,
        )


def _region_of(working: CRS | None) -> tuple[tuple[float, float, float, float], str]:
    grid = gk_grid(working) if working is not None else None
    if grid is not None:
        cm = grid.central_meridian
        return (cm - grid.width / 2 - 3.0, CHINA_REGION[1], cm + grid.width / 2 + 3.0, CHINA_REGION[3]), \
            f"the region of the working CRS {crs_label(working)}"
    return CHINA_REGION, "China"


def _target(frame, source: CRS, working: CRS | None, notes: list[str], where: dict) -> CRS:
    """The working CRS given, else the CGCS2000 3-degree zone holding the data's centre."""
    if working is not None:
        return working
    if not len(_coords(frame)):
        return WORKING_CRS
    try:
        lon, _lat = data_centre(frame.set_crs(source, allow_override=True))
        target = working_crs_for(frame.set_crs(source, allow_override=True))
    except ValueError as err:
        raise CRSError(f"{err}; pass working_crs=", **where) from None
    notes.append(f"working CRS {crs_label(target)}: the CGCS2000 3-degree zone {gk_grid(target).zone} holding the "
                 f"data's centre ({_fmt_lon(lon)})")
    return target


def to_working_crs(
    frame: gpd.GeoDataFrame,
    *,
    crs=None,
    datum: Datum | None = None,
    hint: GridHint | None = None,
    working_crs=None,
    region: tuple[float, float, float, float] | None = None,
    region_name: str = "the district's region",
    gcj02: bool = False,
    notes: list[str],
    path=None,
    layer: str | None = None,
) -> gpd.GeoDataFrame:
    """Return ``frame`` in the working CRS, appending to ``notes`` what was assumed or fixed.

    Parameters
    ----------
    frame : GeoDataFrame as read (its ``crs`` is the file's declared CRS, possibly ``None``).
    crs : an explicit source CRS from the user; it wins over the file's and over a header.
    datum : the datum a survey file names (used when ``hint`` is not given).
    hint : the grid a survey header names (:class:`wlgeo.io.gridhint.GridHint`).
    working_crs : the target CRS (projected, metres); ``None``: the CGCS2000 3-degree GK zone
        holding the data's centre.
    region : (west, south, east, north) lon/lat box the layer must reach; ``None``: around the
        working CRS's zone, or China when there is none.
    region_name : how messages name ``region``.
    gcj02 : the lon/lat are GCJ-02 (Gaode/AMap) and must be shifted to WGS84 first.
    """
    where = {"path": path, "layer": layer}
    working = None if working_crs is None else resolve_working_crs(working_crs, **where)
    if hint is None and datum is not None:
        hint = GridHint(datum=datum, said=f"datum {_DATUM_NAMES[datum]}")
    xy = _coords(frame)
    given = crs is not None
    if given:
        source = parse_crs(crs, **where)
        if frame.crs is not None and not frame.crs.equals(source):
            message = f"the file says {crs_label(frame.crs)}; crs={crs_label(source)} given: crs= wins"
            notes.append(message)
            _warn(message, where)
        if hint is not None and not hint.empty:
            said_grid = _hint_disagrees(hint, source)
            if said_grid:
                message = f"the header says {said_grid}; crs={crs_label(source)} given: crs= wins"
                notes.append(message)
                _warn(message, where)
    elif frame.crs is not None:
        source = frame.crs
    elif len(xy):
        source = _guess_crs(frame, xy, hint, working, notes, where)
    else:
        source = working or WORKING_CRS
        notes.append(f"no CRS and no coordinates: taken as {crs_label(source)}")
    frame = frame.set_crs(source, allow_override=True)
    frame, source = _fix_gk_layout(frame, source, notes, where, given=given)
    frame = _fix_lonlat_order(frame, source, notes, where, given=given)
    frame = frame.set_crs(source, allow_override=True)
    if gcj02:
        frame = _undo_gcj02(frame, source, notes, where)
    legacy = _datum_of(source)
    if legacy:
        message = (
            f"{_DATUM_NAMES[legacy]} → CGCS2000 is done by PROJ without local parameters; the "
            "true offset can reach tens of metres — get the local 7-parameter set for precise work"
        )
        warnings.warn(f"{_loc(where)}: {message}", DatumWarning, stacklevel=3)
        notes.append(message)
    if region is None:
        region, region_name = _region_of(working)
    _check_region(_lonlat_bounds(frame, source), region, region_name, source, where)
    target = _target(frame, source, working, notes, where)
    if not source.equals(target):
        notes.append(f"reprojected from {crs_label(source)} to {crs_label(target)}")
        frame = frame.to_crs(target)
    else:
        frame = frame.set_crs(target, allow_override=True)
    frame.attrs["wlgeo_source_crs"] = source.to_string()
    return frame


def _hint_disagrees(hint: GridHint, crs: CRS) -> str | None:
    """What the header says, when it names a grid other than ``crs`` (else ``None``)."""
    grid = gk_grid(crs)
    if hint.local or hint.problems:
        return hint.said or "another grid"
    if grid is None:
        return hint.said or None if (hint.zone or hint.datum or hint.width) else None
    if hint.datum is not None and hint.datum != grid.datum:
        return hint.said
    if hint.zone is not None and hint.zone != grid.zone:
        return hint.said
    if hint.width is not None and hint.width != grid.width:
        return hint.said
    return None
