"""Coordinate systems: the working CRS, Gauss-Kruger zones and prefixes, axis order, GCJ-02.

Wulong lies wholly in the 3-degree Gauss-Kruger zone 36 (central meridian 108°E). All metric
work is done in CGCS2000 / 3-degree GK CM 108E (EPSG:4545). Survey files often carry the zone
number as a prefix of the easting (Y = 36xxxxxx), write X = northing / Y = easting (or swap them
by mistake), or carry no CRS at all; :func:`inspect_gk_layout` recognises those cases from the
coordinate magnitudes so that the reading funnel can fix them with a recorded note.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from pyproj import CRS

from .errors import CRSError

__all__ = [
    "WORKING_CRS",
    "MAP_CRS",
    "WULONG_ZONE",
    "GK_CRS",
    "Datum",
    "GKLayout",
    "gk_crs",
    "inspect_gk_layout",
    "looks_like_lonlat",
    "gk_family",
    "wgs84_to_gcj02",
    "gcj02_to_wgs84",
    "gk3_zone_epsg",
    "working_crs_for",
]

WORKING_CRS = CRS.from_epsg(4545)
"""CGCS2000 / 3-degree Gauss-Kruger CM 108E: the CRS of every metric computation."""

MAP_CRS = CRS.from_epsg(4326)
"""WGS84 lon/lat: the CRS of web maps."""

WULONG_ZONE = 36
"""The 3-degree GK zone holding Wulong (central meridian 108°E)."""

Datum = Literal["cgcs2000", "xian80", "beijing54"]

# (datum, with zone prefix?) -> EPSG code of the 3-degree GK zone 36 CRS
GK_CRS: dict[tuple[str, bool], int] = {
    ("cgcs2000", True): 4524,
    ("cgcs2000", False): 4545,
    ("xian80", True): 2360,
    ("xian80", False): 2381,
    ("beijing54", True): 2412,
    ("beijing54", False): 2433,
}
_GK_BY_EPSG = {code: key for key, code in GK_CRS.items()}

# Magnitudes of GK coordinates anywhere in China (metres).
_EASTING = (100_000.0, 900_000.0)  # false easting 500 000 m, ±400 km
_NORTHING = (1_000_000.0, 6_500_000.0)  # ~9°N .. ~58°N
_ZONES = (13, 45)  # 6-degree zones 13-23 and 3-degree zones 25-45 cover China


def gk_crs(datum: Datum = "cgcs2000", *, prefixed: bool = False) -> CRS:
    """Return the zone-36 Gauss-Kruger CRS of ``datum``, with or without the zone prefix."""
    return CRS.from_epsg(GK_CRS[(datum, prefixed)])


def gk_family(crs: CRS | None) -> tuple[str, bool] | None:
    """Return ``(datum, prefixed)`` when ``crs`` is one of the zone-36 GK CRSs, else ``None``."""
    if crs is None:
        return None
    code = crs.to_epsg()
    return _GK_BY_EPSG.get(code) if code is not None else None


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


# --- 3-degree zones -------------------------------------------------------------------------
_GK3_FIRST_ZONE, _GK3_LAST_ZONE = 25, 45  # EPSG:4534 (zone 25, CM 75E) .. EPSG:4554 (zone 45, CM 135E)


def gk3_zone_epsg(lon: float) -> int:
    """EPSG code of the CGCS2000 3-degree Gauss-Kruger zone (no prefix) holding longitude ``lon``.

    zone = round(lon / 3); EPSG = 4534 + (zone − 25). China spans zones 25–45.

    Raises
    ------
    CRSError
        ``lon`` is not finite or lies outside China's zones (73.5°E–136.5°E).

    Examples
    --------
    >>> gk3_zone_epsg(107.7), gk3_zone_epsg(105.0), gk3_zone_epsg(111.2)
    (4545, 4544, 4546)
    """
    value = float(lon)
    if not np.isfinite(value):
        raise CRSError(f"longitude {lon!r} is not a number; cannot choose a Gauss-Kruger zone")
    zone = int(np.floor(value / 3.0 + 0.5))
    if not _GK3_FIRST_ZONE <= zone <= _GK3_LAST_ZONE:
        raise CRSError(f"longitude {value:.4f}° lies outside China's 3-degree zones 25–45 (73.5°E–136.5°E)")
    return 4534 + (zone - _GK3_FIRST_ZONE)


def working_crs_for(gdf_or_geometry) -> CRS:
    """The CGCS2000 3-degree zone (no prefix) holding the centre of a GeoDataFrame, GeoSeries or
    shapely geometry: :func:`gk3_zone_epsg` of the centroid of its geometries (their union) in
    EPSG:4490 lon/lat.

    A bare shapely geometry is taken as lon/lat (EPSG:4490).

    Examples
    --------
    >>> import shapely
    >>> working_crs_for(shapely.box(107.2, 29.1, 108.1, 29.6)).to_epsg()
    4545
    """
    import geopandas as gpd
    import shapely

    if isinstance(gdf_or_geometry, (gpd.GeoDataFrame, gpd.GeoSeries)):
        series = gdf_or_geometry.geometry if isinstance(gdf_or_geometry, gpd.GeoDataFrame) else gdf_or_geometry
        series = series[~(series.isna() | series.is_empty)]
        if not len(series):
            raise CRSError("no geometry to choose a working CRS from")
        if series.crs is None:
            raise CRSError("the layer has no CRS; cannot choose its Gauss-Kruger zone")
        centre = shapely.union_all(series.to_crs(4490).geometry.values).centroid
    else:
        geom = gdf_or_geometry
        if geom is None or shapely.is_empty(geom):
            raise CRSError("no geometry to choose a working CRS from")
        centre = shapely.centroid(geom)
    return CRS.from_epsg(gk3_zone_epsg(centre.x))


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


def wgs84_to_gcj02(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """Shift WGS84 lon/lat to GCJ-02 (Gaode/AMap, Tencent) with the public formula.

    Examples
    --------
    >>> lon, lat = wgs84_to_gcj02(107.76, 29.325)
    >>> round(float(lon - 107.76), 4), round(float(lat - 29.325), 4)
    (0.0044, -0.0028)
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    d_lon, d_lat = _gcj_delta(lon, lat)
    return lon + d_lon, lat + d_lat


def gcj02_to_wgs84(lon, lat, *, tol_deg: float = 1e-9, max_iter: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """Invert :func:`wgs84_to_gcj02` by fixed-point iteration (error far below 0.5 m).

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
