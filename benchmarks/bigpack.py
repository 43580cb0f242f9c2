"""A 10 000-quarry Wulong pack for the output benchmarks, built in code with a seed.

The demo pack's boundary, towns, roads, rivers, settlements, parks, bases, ports, protected areas,
resource zones and DEM, with:

- 10 000 quarries (24-vertex wobbly polygons, 80–360 m across), one per cell of a ~520 m grid
  inside the district, so none overlap;
- a red line of 40 star-shaped, non-overlapping polygons with ~500 000 vertices in all;
- 8 000 farmland parcels: 20 fields of 20 × 20 parcels sharing their edges exactly (a coverage,
  8 vertices per parcel), so a display simplification that opens gaps would show.

``big_pack(seed)`` returns a :class:`wlgeo.LayerPack`; the bench scripts import it.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from wlgeo.model.pack import LayerPack
from wlgeo.io.pack import read_pack

CRS = "EPSG:4545"
ROOT = Path(__file__).resolve().parents[1]
N_QUARRIES = 10_000


def _stars(rng, centres, radius, n_vertices):
    theta = np.linspace(0, 2 * np.pi, n_vertices, endpoint=False)
    k = np.arange(2, 300)
    out = []
    for cx, cy in centres:
        amp = 0.25 / k * rng.uniform(0.5, 1.5, len(k))
        phase = rng.uniform(0, 2 * np.pi, len(k))
        r = radius * (1 + (amp[:, None] * np.sin(k[:, None] * theta + phase[:, None])).sum(axis=0))
        out.append(shapely.Polygon(np.column_stack([cx + r * np.cos(theta), cy + r * np.sin(theta)])))
    return out


def _quarries(rng, boundary, towns, n):
    x0, y0, x1, y1 = boundary.bounds
    step = 520.0
    gx, gy = np.meshgrid(np.arange(x0 + step / 2, x1, step), np.arange(y0 + step / 2, y1, step))
    pts = shapely.points(gx.ravel(), gy.ravel())
    inside = shapely.contains(shapely.buffer(boundary, -300), pts)
    cells = np.flatnonzero(inside)
    chosen = np.sort(rng.choice(cells, size=n, replace=False))
    cx, cy = gx.ravel()[chosen], gy.ravel()[chosen]
    cx += rng.uniform(-60, 60, n)
    cy += rng.uniform(-60, 60, n)
    radius = rng.uniform(40, 180, n)
    theta = np.linspace(0, 2 * np.pi, 24, endpoint=False)
    wob = 1 + 0.15 * np.sin(np.outer(rng.integers(2, 6, n), theta) + rng.uniform(0, 6, (n, 1)))
    xs = cx[:, None] + radius[:, None] * wob * np.cos(theta)
    ys = cy[:, None] + radius[:, None] * wob * np.sin(theta)
    coords = np.stack([xs, ys], axis=-1)
    coords = np.concatenate([coords, coords[:, :1]], axis=1)
    geoms = shapely.polygons(coords)
    town_names = towns["town"].to_numpy()
    hits = towns.sindex.query(shapely.points(cx, cy), predicate="within")
    town = np.full(n, None, dtype=object)
    town[hits[0]] = town_names[hits[1]]
    start = pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 2500, n), unit="D")
    end = start + pd.to_timedelta(rng.integers(1500, 5000, n), unit="D")
    owners = np.array([f"武隆{c}建材有限公司" for c in "甲乙丙丁戊己庚辛壬癸"])
    return gpd.GeoDataFrame(
        {
            "quarry_id": [f"Q{i:05d}" for i in range(n)],
            "name": [f"{t or '武隆'}{i}号碎石场" for i, t in enumerate(town)],
            "owner": owners[rng.integers(0, len(owners), n)],
            "town": town,
            "mineral": "石灰岩",
            "capacity": rng.uniform(5, 150, n).round(1),
            "license_start": start,
            "license_end": end,
            "license_no": [f"C50015620{i:08d}" for i in range(n)],
            "source": "synthetic: benchmark quarry",
        },
        geometry=geoms,
        crs=CRS,
    )


def _farmland(rng, boundary, n_fields=20, side=20, cell=80.0):
    x0, y0, x1, y1 = boundary.bounds
    polys = []
    placed: list = []
    inner = shapely.buffer(boundary, -2500)
    while len(placed) < n_fields:
        ox, oy = rng.uniform(x0, x1), rng.uniform(y0, y1)
        extent = shapely.box(ox - 50, oy - 50, ox + side * cell + 50, oy + side * cell + 50)
        if not shapely.contains_xy(inner, ox, oy) or any(extent.intersects(e) for e in placed):
            continue
        placed.append(extent)
        gx, gy = np.meshgrid(np.arange(side + 1) * cell, np.arange(side + 1) * cell)
        vx = ox + gx + rng.uniform(-cell * 0.2, cell * 0.2, gx.shape)
        vy = oy + gy + rng.uniform(-cell * 0.2, cell * 0.2, gy.shape)
        # one jittered midpoint per edge, shared by the two parcels on either side
        hx = (vx[:, :-1] + vx[:, 1:]) / 2 + rng.uniform(-8, 8, (side + 1, side))
        hy = (vy[:, :-1] + vy[:, 1:]) / 2 + rng.uniform(-8, 8, (side + 1, side))
        ux = (vx[:-1, :] + vx[1:, :]) / 2 + rng.uniform(-8, 8, (side, side + 1))
        uy = (vy[:-1, :] + vy[1:, :]) / 2 + rng.uniform(-8, 8, (side, side + 1))
        for i in range(side):
            for j in range(side):
                ring = [
                    (vx[i, j], vy[i, j]), (hx[i, j], hy[i, j]), (vx[i, j + 1], vy[i, j + 1]),
                    (ux[i, j + 1], uy[i, j + 1]), (vx[i + 1, j + 1], vy[i + 1, j + 1]),
                    (hx[i + 1, j], hy[i + 1, j]), (vx[i + 1, j], vy[i + 1, j]), (ux[i, j], uy[i, j]),
                ]
                polys.append(shapely.Polygon(ring))
    return gpd.GeoDataFrame({"source": ["synthetic: benchmark parcel"] * len(polys)}, geometry=polys, crs=CRS)


def big_pack(seed: int = 15, *, n_quarries: int = N_QUARRIES, red_vertices: int = 500_000) -> LayerPack:
    rng = np.random.default_rng(seed)
    demo = read_pack(ROOT / "layers" / "wulong.gpkg")
    layers = dict(demo.layers)
    boundary = layers["boundary"].to_crs(CRS).geometry.union_all()
    x0, y0, x1, y1 = boundary.bounds
    cw, ch = (x1 - x0) / 8, (y1 - y0) / 5
    centres = [(x0 + (i + 0.5) * cw, y0 + (j + 0.5) * ch) for i in range(8) for j in range(5)]
    stars = _stars(rng, centres, 0.3 * min(cw, ch), red_vertices // 40)
    layers["red_line"] = gpd.GeoDataFrame(
        {"category": ["生态保护红线"] * len(stars), "source": "synthetic: benchmark red line"}, geometry=stars, crs=CRS)
    layers["farmland"] = _farmland(rng, boundary)
    layers["quarries"] = _quarries(rng, boundary, layers["towns"].to_crs(CRS), n_quarries)
    return LayerPack(layers, dem=demo.dem, source=demo.source)


if __name__ == "__main__":
    import time

    t = time.perf_counter()
    pack = big_pack()
    print(f"built in {time.perf_counter() - t:.1f} s")
    for name, frame in pack.layers.items():
        print(name, len(frame), int(frame.geometry.count_coordinates().sum()))
