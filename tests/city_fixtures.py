"""A hand-built city of three districts in Gauss-Kruger zones 35, 36 and 37, stored in lon/lat.

Every district is a 20 km square centred on its zone's central meridian (105°E, 108°E, 111°E)
at 29.5°N, built in its zone's metres and stored in EPSG:4490. In each district, at offsets
(m) from its centre, the same exact rectangles:

- ``<D>-Q1`` 200 × 100 m, capacity 80, half-covered by a 100 × 100 m farmland parcel whose
  overlap is 50 × 100 = 5000 m² (25 %) → close;
- ``<D>-Q2`` 100 × 100 m, capacity 20 (small), 500 m from ``<D>-Q3`` (100 × 100 m, capacity 80)
  → one consolidation group;
- ``<D>-Q4`` 100 × 100 m, capacity 30 (small), alone → expire;
- ``<D>-Q5`` 200 × 200 m, capacity 100, a settlement 400 m east of its east edge → retain,
  settlement 400 m (beyond the 300 m blast distance);
- a county road 6 km from everything (roads present, no trunk line → rule not checked).

The figures hold in the district's own zone; measured in zone 36 a zone-37 rectangle of
20 000 m² would be ≈ 20 040 m².
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from pyproj import Transformer

ZONES = {"甲区": (105.0, 4544), "乙区": (108.0, 4545), "丙区": (111.0, 4546)}
PREFIX = {"甲区": "A", "乙区": "B", "丙区": "C"}
HALF = 10_000.0
LAT = 29.5


def centre(lon: float, epsg: int) -> tuple[float, float]:
    return Transformer.from_crs(4490, epsg, always_xy=True).transform(lon, LAT)


def _ll(geoms, epsg):
    return gpd.GeoSeries(geoms, crs=epsg).to_crs(4490)


def city_layers(districts=ZONES) -> dict[str, gpd.GeoDataFrame]:
    """Every layer of the city in EPSG:4490."""
    parts: dict[str, list[gpd.GeoDataFrame]] = {}

    def add(name, frame):
        parts.setdefault(name, []).append(frame)

    for name, (lon, epsg) in districts.items():
        cx, cy = centre(lon, epsg)
        p = PREFIX[name]

        def box(x0, y0, x1, y1):
            return shapely.box(cx + x0, cy + y0, cx + x1, cy + y1)

        add("boundary", gpd.GeoDataFrame({"district": [name]}, geometry=_ll([box(-HALF, -HALF, HALF, HALF)], epsg)))
        add("towns", gpd.GeoDataFrame({"town": [f"{name}镇"]}, geometry=_ll([box(-HALF, -HALF, HALF, HALF)], epsg)))
        quarries = [box(0, 0, 200, 100), box(3000, 0, 3100, 100), box(3600, 0, 3700, 100),
                    box(-5000, -5000, -4900, -4900), box(5000, 5000, 5200, 5200)]
        add("quarries", gpd.GeoDataFrame({
            "quarry_id": [f"{p}-Q{i}" for i in range(1, 6)],
            "capacity": [80.0, 20.0, 80.0, 30.0, 100.0],
            "license_end": pd.to_datetime(["2030-06-30"] * 5),
            "town": f"{name}镇",
        }, geometry=_ll(quarries, epsg)))
        add("farmland", gpd.GeoDataFrame({"parcel": [1]}, geometry=_ll([box(150, 0, 250, 100)], epsg)))
        add("settlements", gpd.GeoDataFrame({"name": [f"{name}村"]},
                                            geometry=_ll([shapely.Point(cx + 5600, cy + 5100)], epsg)))
        add("roads", gpd.GeoDataFrame({"kind": ["county"], "name": ["X1"]},
                                      geometry=_ll([shapely.LineString([(cx - 9000, cy - 9500), (cx + 9000, cy - 9500)])],
                                                   epsg)))
    return {k: gpd.GeoDataFrame(pd.concat(v, ignore_index=True), crs=4490) for k, v in parts.items()}


def write_pack(path: Path, layers: dict[str, gpd.GeoDataFrame]) -> Path:
    if path.exists():
        path.unlink()
    for name, frame in layers.items():
        frame.to_file(path, layer=name, driver="GPKG", engine="pyogrio")
    return path


class DyingSource:
    """A layer source whose read kills the process reading it (a worker that dies mid-task)."""

    name = "farmland"

    def __init__(self, crs) -> None:
        self.crs = crs

    files: list = []

    def read(self, bounds=None, crs=None):
        import os

        os._exit(1)

    def is_empty(self) -> bool:
        return False

    def bounds(self, crs=None):
        return None
