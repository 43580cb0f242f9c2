"""Coordinate systems: Gauss-Kruger grids, working CRSs, prefixes, axis order, GCJ-02.

China's survey data sit in Gauss-Kruger (GK) grids: 3-degree zones 25–45 or 6-degree zones
13–23, in CGCS2000, Xian 1980 or Beijing 1954, with the zone number written before the easting
(Y = 37xxxxxx) or not. :class:`GKGrid` names one such grid and its EPSG code. A pack's metric
work is done in the CGCS2000 3-degree zone without prefix (EPSG:4534–4554) that holds the centre
of its data (:func:`gk3_zone_epsg`, :func:`working_crs_for`); :func:`inspect_gk_layout`
recognises GK metres, a swapped axis order and a zone prefix from the coordinate magnitudes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pyproj import CRS


__all__ = [
    "WORKING_CRS",
    "MAP_CRS",
    "LONLAT_CRS",
    "GK_CRS",
    "GK_ZONES",
    "Datum",
    "GKGrid",
    "GKLayout",
    "gk_crs",
    "gk_grid",
    "gk_family",
    "gk3_zone_epsg",
    "working_crs_for",
    "data_centre",
    "check_working_crs",
    "crs_label",
    "inspect_gk_layout",
    "looks_like_lonlat",
    "out_of_china",
    "wgs84_to_gcj02",
    "gcj02_to_wgs84",
    "gk3_zone_epsg",
    "working_crs_for",
]

WORKING_CRS = CRS.from_epsg(4545)
"""CGCS2000 / 3-degree GK CM 108E (zone 36): the working CRS of the bundled demo pack.

Kept for compatibility. A pack's own working CRS is :attr:`wlgeo.LayerPack.working_crs` (the
zone holding its centre, :func:`working_crs_for`); this constant is only the fallback for a frame
that carries no CRS and no pack to take one from.
"""

MAP_CRS = CRS.from_epsg(4326)
"""WGS84 lon/lat: the CRS of web maps."""

LONLAT_CRS = CRS.from_epsg(4490)
"""CGCS2000 lon/lat: where the centre of a pack is taken to choose its zone."""

Datum = Literal["cgcs2000", "xian80", "beijing54"]

# (datum, width, prefixed) -> (first zone, EPSG code of that zone); zones are consecutive codes.
_GK_FIRST: dict[tuple[str, int, bool], tuple[int, int]] = {
    ("cgcs2000", 3, True): (25, 4513),
    ("cgcs2000", 3, False): (25, 4534),
    ("cgcs2000", 6, True): (13, 4491),
    ("cgcs2000", 6, False): (13, 4502),
    ("xian80", 3, True): (25, 2349),
    ("xian80", 3, False): (25, 2370),
    ("xian80", 6, True): (13, 2327),
    ("xian80", 6, False): (13, 2338),
    ("beijing54", 3, True): (25, 2401),
    ("beijing54", 3, False): (25, 2422),
    ("beijing54", 6, True): (13, 21413),
    ("beijing54", 6, False): (13, 21473),
}
GK_ZONES: dict[int, tuple[int, int]] = {3: (25, 45), 6: (13, 23)}
"""Zone width (degrees) → the zone numbers covering China."""
_DATUM_NAMES = {"cgcs2000": "CGCS2000", "xian80": "Xian 1980", "beijing54": "Beijing 1954"}


@dataclass(frozen=True)
class GKGrid:
    """One Gauss-Kruger grid: datum, zone width (3 or 6 degrees), zone number, zone prefix or not.

    Examples
    --------
    >>> g = GKGrid("cgcs2000", 3, 37, prefixed=False)
    >>> g.epsg, g.central_meridian
    (4546, 111)
    >>> GKGrid("xian80", 6, 18, prefixed=True).epsg
    2332
    """

    datum: str
    width: int
    zone: int
    prefixed: bool = False

    def __post_init__(self) -> None:
        if (self.datum, self.width, self.prefixed) not in _GK_FIRST:
            raise ValueError(f"no Gauss-Kruger grid for datum={self.datum!r}, width={self.width!r}")
        low, high = GK_ZONES[self.width]
        if not low <= self.zone <= high:
            raise ValueError(f"{self.width}-degree zone {self.zone} is not one of China's zones {low}–{high}")

    @property
    def epsg(self) -> int:
        first_zone, first_code = _GK_FIRST[(self.datum, self.width, self.prefixed)]
        return first_code + self.zone - first_zone

    @property
    def central_meridian(self) -> int:
        return self.zone * 3 if self.width == 3 else self.zone * 6 - 3

    def crs(self) -> CRS:
        return CRS.from_epsg(self.epsg)

    def with_prefix(self, prefixed: bool) -> GKGrid:
        return GKGrid(self.datum, self.width, self.zone, prefixed)

    def label(self) -> str:
        """``'CGCS2000 3-degree GK zone 37 (CM 111°E, EPSG:4546)'``."""
        prefix = ", zone prefix" if self.prefixed else ""
        return (f"{_DATUM_NAMES[self.datum]} {self.width}-degree GK zone {self.zone} "
                f"(CM {self.central_meridian}°E{prefix}, EPSG:{self.epsg})")


_GRID_BY_EPSG: dict[int, GKGrid] = {}
for (_datum, _width, _prefixed), (_first, _code) in _GK_FIRST.items():
    for _zone in range(GK_ZONES[_width][0], GK_ZONES[_width][1] + 1):
        _GRID_BY_EPSG[_code + _zone - _first] = GKGrid(_datum, _width, _zone, _prefixed)

GK_CRS: dict[tuple[str, bool], int] = {
    (datum, prefixed): GKGrid(datum, 3, 36, prefixed).epsg
    for datum in ("cgcs2000", "xian80", "beijing54") for prefixed in (True, False)
}
"""(datum, prefixed) → EPSG code of 3-degree zone 36 (the demo's zone; kept for compatibility)."""

# Magnitudes of GK coordinates anywhere in China (metres).
_EASTING = (100_000.0, 900_000.0)  # false easting 500 000 m, ±400 km
_NORTHING = (1_000_000.0, 6_500_000.0)  # ~9°N .. ~58°N
_ZONES = (13, 45)  # 6-degree zones 13-23 and 3-degree zones 25-45 cover China


def gk_crs(datum: Datum = "cgcs2000", *, zone: int, width: int = 3, prefixed: bool = False) -> CRS:
    """The Gauss-Kruger CRS of ``datum``, ``width``-degree ``zone``, with or without the zone prefix.

    Examples
    --------
    >>> gk_crs("cgcs2000", zone=37).to_epsg(), gk_crs("xian80", zone=18, width=6).to_epsg()
    (4546, 2343)
    """
    return GKGrid(datum, width, zone, prefixed).crs()


def gk_grid(crs: CRS | None) -> GKGrid | None:
    """The :class:`GKGrid` of ``crs`` when it is one of China's GK grids (by EPSG code), else ``None``."""
    if crs is None:
        return None
    crs = CRS.from_user_input(crs)
    code = crs.to_epsg()
    if code is None and crs.is_projected:
        code = crs.to_epsg(min_confidence=70)
    return _GRID_BY_EPSG.get(code) if code is not None else None


def gk_family(crs: CRS | None) -> tuple[str, bool] | None:
    """Return ``(datum, prefixed)`` when ``crs`` is a Chinese GK grid, else ``None``."""
    grid = gk_grid(crs)
    return None if grid is None else (grid.datum, grid.prefixed)


def gk3_zone_epsg(lon: float) -> int:
    """EPSG code of the CGCS2000 3-degree GK zone without prefix (4534–4554) holding longitude ``lon``.

    The zone is ``round(lon / 3)`` (a longitude on a zone edge goes east).

    Raises
    ------
    ValueError
        ``lon`` lies outside China's 3-degree zones 25–45 (73.5°E–136.5°E).

    Examples
    --------
    >>> gk3_zone_epsg(107.7), gk3_zone_epsg(109.9), gk3_zone_epsg(105.0)
    (4545, 4546, 4544)
    """
    if not math.isfinite(float(lon)):
        raise ValueError(f"longitude {lon!r} is not a number")
    zone = int(math.floor(float(lon) / 3.0 + 0.5))
    if not 25 <= zone <= 45:
        raise ValueError(f"longitude {float(lon):.4f}° lies outside China's 3-degree Gauss-Kruger zones 25–45 "
                         "(73.5°E–136.5°E)")
    return 4534 + zone - 25


def data_centre(obj) -> tuple[float, float]:
    """The centroid, in CGCS2000 lon/lat (EPSG:4490), of a GeoDataFrame, GeoSeries or geometry.

    A bare shapely geometry (no CRS) is taken as lon/lat. Invalid geometries are made valid
    first (a bow-tie ring still has a centre).
    """
    import geopandas as gpd
    import shapely

    if isinstance(obj, (gpd.GeoDataFrame, gpd.GeoSeries)):
        series = obj.geometry if isinstance(obj, gpd.GeoDataFrame) else obj
        series = series[~(series.isna() | series.is_empty)]
        if series.crs is None:
            raise ValueError("the data have no CRS: cannot say which zone holds them")
        if len(series) == 0:
            raise ValueError("the data hold no geometry: cannot say which zone holds them")
        geoms = np.asarray(series.to_crs(LONLAT_CRS).values)
    else:
        if obj is None or shapely.is_empty(obj):
            raise ValueError("empty geometry: cannot say which zone holds it")
        geoms = np.asarray([obj])
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)  # of the coordinates as given: always sound
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        geoms = geoms.copy()
        geoms[invalid] = shapely.make_valid(geoms[invalid])
    # the centroid of the union, as the weighted mean of the parts' centroids (exact when the
    # parts do not overlap; no union of a large layer): by area, else length, else count
    centres = shapely.get_coordinates(shapely.centroid(geoms))
    weights = shapely.area(geoms)
    if not weights.sum() > 0:
        weights = shapely.length(geoms)
    if not weights.sum() > 0:
        weights = np.ones(len(geoms))
    ok = np.isfinite(centres).all(axis=1) & (weights > 0) if len(centres) == len(geoms) else None
    if ok is None or not ok.any():
        return float((minx + maxx) / 2), float((miny + maxy) / 2)
    lon, lat = np.average(centres[ok], axis=0, weights=weights[ok])
    if not (minx <= lon <= maxx and miny <= lat <= maxy):  # a degenerate part (a bow tie's sliver) ran off
        return float((minx + maxx) / 2), float((miny + maxy) / 2)
    return float(lon), float(lat)


def working_crs_for(gdf_or_geometry) -> CRS:
    """The working CRS of data: the CGCS2000 3-degree GK zone (no prefix) holding their centre.

    The centre is the centroid of the data's union in CGCS2000 lon/lat (EPSG:4490); a bare
    shapely geometry is taken as lon/lat.

    Raises
    ------
    ValueError
        No CRS, no geometry, or a centre outside China's 3-degree zones.

    Examples
    --------
    >>> import shapely
    >>> working_crs_for(shapely.box(109.6, 30.8, 110.2, 31.4)).to_epsg()
    4546
    """
    lon, _lat = data_centre(gdf_or_geometry)
    return CRS.from_epsg(gk3_zone_epsg(lon))


def check_working_crs(value) -> CRS:
    """Return ``value`` as a pyproj CRS if it is a projected CRS in metres, else raise ``ValueError``.

    Examples
    --------
    >>> check_working_crs("EPSG:4546").to_epsg()
    4546
    """
    crs = CRS.from_user_input(value)
    if not crs.is_projected:
        raise ValueError(f"working_crs {crs_label(crs)} is not a projected CRS: areas and distances need metres "
                         "(use a CGCS2000 3-degree Gauss-Kruger zone, EPSG:4534–4554)")
    units = {(axis.unit_name or "").lower() for axis in crs.axis_info}
    if not units or not units <= {"metre", "meter", "m"}:
        raise ValueError(f"working_crs {crs_label(crs)} is not in metres (units: {', '.join(sorted(units))})")
    return crs


def crs_label(crs) -> str:
    """``'EPSG:4546'`` when the CRS has an EPSG code, else its name."""
    if crs is None:
        return "no CRS"
    crs = CRS.from_user_input(crs)
    code = crs.to_epsg()
    return f"EPSG:{code}" if code else crs.name


@dataclass(frozen=True)
class GKLayout:
    """How GK coordinates were stored, as read from their magnitudes.

    ``swapped`` is true when the first stored coordinate is the northing; ``zone`` is the zone
    prefix found on the easting (``None`` when there is none).
    """

    swapped: bool
    zone: int | None


def _within(values: np.ndarray, bounds: tuple[float, float]) -> bool:
    return bool(values.size) and bool(np.all((values >= bounds[0]) & (values < bounds[1])))


def _easting_zone(values: np.ndarray) -> tuple[bool, int | None]:
    """Whether ``values`` are eastings, and the zone prefix they share (``None`` if none)."""
    if _within(values, _EASTING):
        return True, None
    if not values.size or np.any(values < 1e7) or np.any(values >= 1e8):
        return False, None
    zones = np.floor(values / 1e6)
    if zones.min() != zones.max() or not (_ZONES[0] <= zones[0] <= _ZONES[1]):
        return False, None
    return _within(values - zones[0] * 1e6, _EASTING), int(zones[0])


def inspect_gk_layout(x: np.ndarray, y: np.ndarray) -> GKLayout | None:
    """Recognise GK metres from their magnitudes.

    Parameters
    ----------
    x, y : arrays of the first and second stored coordinate of every vertex.

    Returns
    -------
    GKLayout or None
        ``None`` when the values are not GK metres in either axis order.

    Examples
    --------
    >>> inspect_gk_layout(np.array([3245315.7]), np.array([36476688.2]))
    GKLayout(swapped=True, zone=36)
    >>> inspect_gk_layout(np.array([476688.2]), np.array([3245315.7]))
    GKLayout(swapped=False, zone=None)
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    x, y = x[np.isfinite(x)], y[np.isfinite(y)]
    is_easting, zone = _easting_zone(x)
    if is_easting and _within(y, _NORTHING):
        return GKLayout(swapped=False, zone=zone)
    is_easting, zone = _easting_zone(y)
    if is_easting and _within(x, _NORTHING):
        return GKLayout(swapped=True, zone=zone)
    return None


def looks_like_lonlat(x: np.ndarray, y: np.ndarray) -> bool | None:
    """``True`` for lon/lat in China's range, ``False`` for lat/lon swapped, ``None`` otherwise."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if _within(x, (70.0, 140.0)) and _within(y, (0.0, 60.0)):
        return True
    if _within(y, (70.0, 140.0)) and _within(x, (0.0, 60.0)):
        return False
    return None




# --- GCJ-02 ---------------------------------------------------------------------------------
# The public "Mars coordinates" formula (the same in eviltransform, prcoords, coordtransform).

_GCJ_A = 6378245.0
_GCJ_EE = 0.00669342162296594323


def _gcj_delta(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = lon - 105.0
    y = lat - 35.0
    sqrt_abs_x = np.sqrt(np.abs(x))
    d_lat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt_abs_x
    d_lon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt_abs_x
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    d_lat = d_lat + common
    d_lon = d_lon + common
    d_lat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    d_lon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    d_lat += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    d_lon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    rad_lat = lat / 180.0 * np.pi
    magic = 1.0 - _GCJ_EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_GCJ_A * (1.0 - _GCJ_EE)) / (magic * sqrt_magic) * np.pi)
    d_lon = (d_lon * 180.0) / (_GCJ_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    return d_lon, d_lat


def out_of_china(lon, lat) -> np.ndarray:
    """Whether points lie outside the box where GCJ-02 applies (the published implementations' test).

    eviltransform, coordtransform and prcoords leave a point unchanged when
    ``lon < 72.004 or lon > 137.8347 or lat < 0.8293 or lat > 55.8271``.

    Examples
    --------
    >>> out_of_china([107.7, -104.99], [29.3, 39.74]).tolist()
    [False, True]
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def wgs84_to_gcj02(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """Shift WGS84 lon/lat to GCJ-02 (Gaode/AMap, Tencent) with the public formula.

    Points outside China (:func:`out_of_china`) are returned unchanged, as the published
    implementations do.

    Examples
    --------
    >>> lon, lat = wgs84_to_gcj02(107.76, 29.325)
    >>> round(float(lon - 107.76), 4), round(float(lat - 29.325), 4)
    (0.0044, -0.0028)
    >>> [float(v) for v in wgs84_to_gcj02(-104.99, 39.74)]
    [-104.99, 39.74]
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    d_lon, d_lat = _gcj_delta(lon, lat)
    outside = out_of_china(lon, lat)
    return lon + np.where(outside, 0.0, d_lon), lat + np.where(outside, 0.0, d_lat)


def gcj02_to_wgs84(lon, lat, *, tol_deg: float = 1e-9, max_iter: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """Invert :func:`wgs84_to_gcj02` by fixed-point iteration (error far below 0.5 m).

    Points outside China (:func:`out_of_china`) are returned unchanged.

    Examples
    --------
    >>> g = wgs84_to_gcj02(107.801, 29.434)
    >>> lon, lat = gcj02_to_wgs84(*g)
    >>> abs(float(lon) - 107.801) < 1e-8 and abs(float(lat) - 29.434) < 1e-8
    True
    """
    g_lon = np.asarray(lon, dtype=float)
    g_lat = np.asarray(lat, dtype=float)
    w_lon, w_lat = g_lon.copy(), g_lat.copy()
    for _ in range(max_iter):
        f_lon, f_lat = wgs84_to_gcj02(w_lon, w_lat)
        e_lon, e_lat = f_lon - g_lon, f_lat - g_lat
        w_lon = w_lon - e_lon
        w_lat = w_lat - e_lat
        if np.all(np.abs(e_lon) < tol_deg) and np.all(np.abs(e_lat) < tol_deg):
            break
    return w_lon, w_lat


def in_working_crs(frame, name: str, notes: list[str], crs=None):
    """``frame`` (a GeoDataFrame) in ``crs`` (the pack's working CRS; default EPSG:4545): a
    reprojected copy when needed, with a note; a frame without CRS is taken as already in it."""
    target = CRS.from_user_input(crs if crs is not None else WORKING_CRS)
    label = crs_label(target)
    if frame.crs is None:
        notes.append(f"{name} has no CRS: taken as {label} (the pack's working CRS)")
        return frame
    if CRS.from_user_input(frame.crs) != target:
        notes.append(f"{name} was in {frame.crs.to_string()}: reprojected to {label} for measuring")
        return frame.to_crs(target)
    return frame
