"""Place a freshly read layer in the working CRS, fixing what can be fixed and saying so.

Every reader hands its frame here (through :func:`to_working_crs`). The steps, each recorded
as a note:

1. choose the source CRS: an explicit ``crs=`` wins; else the file's; else recognise GK metres
   (zone 36, with or without prefix) or lon/lat from the magnitudes, with a warning; else refuse;
2. fix a swapped axis order (X = northing written first) and strip a GK zone prefix;
3. undo the GCJ-02 offset when asked (lon/lat only);
4. reproject to EPSG:4545.
"""

from __future__ import annotations

import logging
import warnings

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError as ProjCRSError

from ..crs import (
    WORKING_CRS,
    WULONG_ZONE,
    Datum,
    gcj02_to_wgs84,
    gk_crs,
    gk_family,
    inspect_gk_layout,
    looks_like_lonlat,
)
from ..errors import CRSError, CRSWarning, DatumWarning

log = logging.getLogger(__name__)

__all__ = ["parse_crs", "to_working_crs"]

_DATUM_NAMES = {"cgcs2000": "CGCS2000", "xian80": "Xian 1980", "beijing54": "Beijing 1954"}


def parse_crs(value, *, path=None, layer=None) -> CRS:
    """Parse a user-given CRS (``"EPSG:4545"``, ``4545``, WKT, a pyproj CRS) or raise CRSError."""
    try:
        return CRS.from_user_input(value)
    except (ProjCRSError, TypeError, ValueError) as err:
        raise CRSError(
            f"cannot understand crs={value!r}; give an EPSG code such as 'EPSG:4545'",
            path=path,
            layer=layer,
        ) from err


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


def _gk_names(crs: CRS) -> str:
    code = crs.to_epsg()
    return f"EPSG:{code}" if code else crs.name


def _guess_crs(frame, xy: np.ndarray, datum: Datum | None, notes: list[str], where: dict) -> CRS:
    """Recognise a CRS from coordinate magnitudes for a file that declares none."""
    layout = inspect_gk_layout(xy[:, 0], xy[:, 1])
    if layout is not None:
        _check_zone(layout.zone, where)
        crs = gk_crs(datum or "cgcs2000", prefixed=layout.zone is not None)
        datum_name = _DATUM_NAMES[datum or "cgcs2000"]
        prefix = " with the zone prefix" if layout.zone else ""
        if datum is not None:
            # A survey header named the datum: only the zone layout was read from the numbers.
            notes.append(f"header names {datum_name}; coordinates are GK zone 36 metres{prefix}: {_gk_names(crs)}")
            return crs
        message = (
            f"no CRS in the file; coordinates are Gauss-Kruger metres of zone 36{prefix}: "
            f"assumed {datum_name} ({_gk_names(crs)}); pass crs= to override"
        )
        warnings.warn(f"{_loc(where)}: {message}", CRSWarning, stacklevel=4)
        notes.append(message)
        return crs
    lonlat = looks_like_lonlat(xy[:, 0], xy[:, 1])
    if lonlat is not None:
        message = "no CRS in the file; coordinates are degrees: assumed lon/lat WGS84 (EPSG:4326); pass crs= to override"
        warnings.warn(f"{_loc(where)}: {message}", CRSWarning, stacklevel=4)
        notes.append(message)
        return CRS.from_epsg(4326)
    misfits = _misfit_features(frame, _gk_fits)
    if misfits:
        raise CRSError(f"no CRS in the file; {misfits}", **where)
    raise CRSError(
        "no CRS in the file and the coordinates fit no known system "
        f"(x {xy[:, 0].min():.6g}..{xy[:, 0].max():.6g}, y {xy[:, 1].min():.6g}..{xy[:, 1].max():.6g}); "
        "pass crs=, e.g. crs='EPSG:4545' for CGCS2000 3-degree GK zone 36",
        **where,
    )


def _loc(where: dict) -> str:
    from ..errors import where as fmt

    return fmt(where.get("path"), layer=where.get("layer"))


_ID_COLUMNS = ("quarry_id", "id", "parcel_id", "name")


def _misfit_features(frame: gpd.GeoDataFrame, fits) -> str | None:
    """When some features fit a coordinate system and others do not, name the ones that do not.

    A single stray feature (coordinates typed in the wrong columns, a test polygon at 0,0)
    otherwise makes the whole layer look unplaceable.
    """
    id_column = next((c for c in _ID_COLUMNS if c in frame.columns), None)
    bad, good = [], 0
    for row, geom in enumerate(frame.geometry.values):
        if geom is None or geom.is_empty:
            continue
        xy = shapely.get_coordinates(geom)
        if fits(xy):
            good += 1
        else:
            label = frame[id_column].iloc[row] if id_column else f"row {row}"
            bad.append(f"'{label}' (x {xy[:, 0].min():.6g}, y {xy[:, 1].min():.6g})")
    if not bad or not good:
        return None
    shown = ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
    return (
        f"{len(bad)} of {len(bad) + good} features have coordinates unlike the others: {shown}; "
        "fix or remove them (the rest of the layer is readable)"
    )


def _gk_fits(xy: np.ndarray) -> bool:
    return inspect_gk_layout(xy[:, 0], xy[:, 1]) is not None


def _check_zone(zone: int | None, where: dict) -> None:
    if zone is not None and zone != WULONG_ZONE:
        raise CRSError(
            f"coordinates carry the Gauss-Kruger zone prefix {zone}, but Wulong lies in 3-degree "
            f"zone {WULONG_ZONE} (central meridian 108°E); check the source, or pass the CRS the "
            "data really is in with crs=",
            **where,
        )


def _fix_gk_layout(frame, crs: CRS, notes: list[str], where: dict, *, given: bool = False):
    """Swap axes and strip the zone prefix of a zone-36 GK layer; return the frame and its CRS."""
    family = gk_family(crs)
    xy = _coords(frame)
    if family is None or not len(xy):
        return frame, crs
    datum, _declared_prefix = family
    layout = inspect_gk_layout(xy[:, 0], xy[:, 1])
    if layout is None:
        misfits = _misfit_features(frame, _gk_fits)
        if misfits:
            raise CRSError(misfits, **where)
        raise CRSError(
            f"{'crs=' if given else 'the layer says '}{_gk_names(crs)} but its coordinates are not Gauss-Kruger metres of "
            f"zone 36 (x {xy[:, 0].min():.6g}..{xy[:, 0].max():.6g}, y {xy[:, 1].min():.6g}..{xy[:, 1].max():.6g}); "
            "pass the right crs=",
            **where,
        )
    if layout.swapped:
        frame = _swap_xy(frame)
        notes.append("axes swapped in the source (X = northing stored first): swapped back")
        warnings.warn(f"{_loc(where)}: X/Y were swapped in the source; swapped back", CRSWarning, stacklevel=4)
    _check_zone(layout.zone, where)
    if layout.zone is not None:
        frame = _strip_prefix(frame, layout.zone)
        notes.append(f"zone prefix {layout.zone} removed from eastings")
    return frame, gk_crs(datum, prefixed=False)


def _fix_lonlat_order(frame, crs: CRS, notes: list[str], where: dict, *, given: bool = False):
    xy = _coords(frame)
    if not crs.is_geographic or not len(xy):
        return frame
    order = looks_like_lonlat(xy[:, 0], xy[:, 1])
    if order is False:
        notes.append("lat/lon stored in place of lon/lat: swapped back")
        warnings.warn(f"{_loc(where)}: lat/lon were swapped in the source; swapped back", CRSWarning, stacklevel=4)
        return _swap_xy(frame)
    if order is None and (np.abs(xy[:, 0]).max() > 180 or np.abs(xy[:, 1]).max() > 90):
        raise CRSError(
            f"{'crs=' if given else 'the layer says '}{crs.name} (degrees) but its coordinates are not degrees "
            f"(x up to {np.abs(xy[:, 0]).max():.6g}); {'that CRS' if given else 'the file' + chr(39) + 's CRS'} is wrong: pass the right crs=, "
            "e.g. crs='EPSG:4545'",
            **where,
        )
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

    def shift(coords):
        lon, lat = gcj02_to_wgs84(coords[:, 0], coords[:, 1])
        return np.column_stack([lon, lat])

    notes.append("GCJ-02 offset removed (iterative inverse of the public formula) before projecting")
    return _map_xy(frame, shift)


def to_working_crs(
    frame: gpd.GeoDataFrame,
    *,
    crs=None,
    datum: Datum | None = None,
    gcj02: bool = False,
    notes: list[str],
    path=None,
    layer: str | None = None,
) -> gpd.GeoDataFrame:
    """Return ``frame`` in EPSG:4545, appending to ``notes`` what was assumed or fixed.

    Parameters
    ----------
    frame : GeoDataFrame as read (its ``crs`` is the file's declared CRS, possibly ``None``).
    crs : an explicit source CRS from the user; it wins over the file's.
    datum : the datum a survey file names in its header, used when no CRS is declared.
    gcj02 : the lon/lat are GCJ-02 (Gaode/AMap) and must be shifted to WGS84 first.
    """
    where = {"path": path, "layer": layer}
    xy = _coords(frame)
    if crs is not None:
        source = parse_crs(crs, **where)
        if frame.crs is not None and not frame.crs.equals(source):
            notes.append(f"file CRS {_gk_names(frame.crs)} overridden by crs={_gk_names(source)}")
    elif frame.crs is not None:
        source = frame.crs
    elif len(xy):
        source = _guess_crs(frame, xy, datum, notes, where)
    else:
        source = WORKING_CRS
        notes.append("no CRS and no coordinates: taken as EPSG:4545")
    frame = frame.set_crs(source, allow_override=True)
    given = crs is not None
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
    if not source.equals(WORKING_CRS):
        notes.append(f"reprojected from {_gk_names(source)} to EPSG:4545")
        frame = frame.to_crs(WORKING_CRS)
    else:
        frame = frame.set_crs(WORKING_CRS, allow_override=True)
    frame.attrs["wlgeo_source_crs"] = source.to_string()
    return frame
