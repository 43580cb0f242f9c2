#!/usr/bin/env python
"""Build a seeded synthetic city pack of several districts in three Gauss-Kruger zones.

Three districts (by default) centred on 105°E, 108°E and 111°E at 29.5°N — the central
meridians of CGCS2000 3-degree zones 35, 36 and 37 — each with towns, quarries, permanent
farmland parcels, a red line, protected areas, settlements, roads, rivers and resource zones.
Every layer is stored in EPSG:4490 (lon/lat), as a city bureau exchanges them. Everything is
made up (``synthetic``) and reproducible from ``--seed``.

Writes into OUT:

- ``city.gpkg`` — every layer (the pack for ``wlgeo run``);
- ``city.toml`` + ``farmland.parquet`` (or ``farmland/`` parts with ``--parts N``) — the same
  pack with the farmland as GeoParquet, read lazily by the dask engine.

Examples
--------
    python scripts/make_synthetic_city.py --out /tmp/city --quarries 300 --parcels 20000
    python scripts/make_synthetic_city.py --out /tmp/big --quarries 30000 --parcels 1000000 --parts 8 --no-gpkg-farmland
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

#: (district, centre lon, EPSG of its zone)
DISTRICTS = (("甲区", 105.0, 4544), ("乙区", 108.0, 4545), ("丙区", 111.0, 4546))
LAT = 29.5
HALF_W, HALF_H = 15_000.0, 12_000.0  # district half-width/height, m (a 30 km × 24 km district)
FARMLAND_SHARE = 0.2  # parcels (~3 600 m² each) cover about this share of a district; big runs grow it


def _zone_epsg(lon: float) -> int:
    return 4534 + (int(round(lon / 3.0)) - 25)


def _centre_xy(lon: float, epsg: int) -> tuple[float, float]:
    from pyproj import Transformer

    t = Transformer.from_crs(4490, epsg, always_xy=True)
    return t.transform(lon, LAT)


def _to_lonlat(geoms, epsg: int) -> gpd.GeoSeries:
    return gpd.GeoSeries(geoms, crs=epsg).to_crs(4490)


def _boxes(rng, n, cx, cy, w_range, h_range, spread):
    x = cx + rng.uniform(-spread[0], spread[0], n)
    y = cy + rng.uniform(-spread[1], spread[1], n)
    w = rng.uniform(*w_range, n)
    h = rng.uniform(*h_range, n)
    return shapely.box(x - w / 2, y - h / 2, x + w / 2, y + h / 2)


def district_layers(name: str, lon: float, *, quarries: int, parcels: int, rng: np.random.Generator,
                    id_prefix: str) -> dict[str, gpd.GeoDataFrame]:
    """Every layer of one district, in EPSG:4490 (built in its zone's metres)."""
    epsg = _zone_epsg(lon)
    cx, cy = _centre_xy(lon, epsg)
    # many parcels: a larger district (up to ±120 km, inside the zone), so they cover ~FARMLAND_SHARE of it
    grow = min(8.0, max(1.0, float(np.sqrt(parcels * 3600.0 / FARMLAND_SHARE / (4 * HALF_W * HALF_H)))))
    half_w, half_h = HALF_W * grow, HALF_H * grow
    frame = shapely.box(cx - half_w, cy - half_h, cx + half_w, cy + half_h)
    out: dict[str, gpd.GeoDataFrame] = {}
    out["boundary"] = gpd.GeoDataFrame({"district": [name], "name": [name]}, geometry=_to_lonlat([frame], epsg))
    towns = [shapely.box(cx - half_w, cy - half_h, cx, cy + half_h), shapely.box(cx, cy - half_h, cx + half_w, cy + half_h)]
    out["towns"] = gpd.GeoDataFrame({"town": [f"{name}西镇", f"{name}东镇"]}, geometry=_to_lonlat(towns, epsg))
    q = _boxes(rng, quarries, cx, cy, (120, 400), (120, 400), spread=(half_w * 0.9, half_h * 0.9))
    start = dt.date(2024, 1, 1)
    out["quarries"] = gpd.GeoDataFrame({
        "quarry_id": [f"{id_prefix}{i:06d}" for i in range(quarries)],
        "name": [f"{name}采石场{i}" for i in range(quarries)],
        "capacity": np.round(rng.uniform(10, 150, quarries), 1),
        "license_end": [start + dt.timedelta(days=int(d)) for d in rng.integers(0, 365 * 8, quarries)],
        "mineral": "limestone",
    }, geometry=_to_lonlat(q, epsg))
    parcels_xy = _boxes(rng, parcels, cx, cy, (30, 90), (30, 90), spread=(half_w * 0.95, half_h * 0.95))
    out["farmland"] = gpd.GeoDataFrame({"parcel": np.arange(parcels, dtype=np.int64)},
                                       geometry=_to_lonlat(parcels_xy, epsg))
    red = _boxes(rng, 4, cx, cy, (2000, 5000), (1500, 4000), spread=(half_w * 0.95, half_h * 0.95))
    out["red_line"] = gpd.GeoDataFrame({"category": "生态保护红线"}, index=range(4), geometry=_to_lonlat(red, epsg))
    prot = _boxes(rng, 2, cx, cy, (1000, 3000), (1000, 3000), spread=(half_w * 0.95, half_h * 0.95))
    out["protected_areas"] = gpd.GeoDataFrame({"kind": ["scenic_area", "forest_park"], "name": ["景区", "森林公园"]},
                                              geometry=_to_lonlat(prot, epsg))
    n_set = max(5, quarries // 4)
    pts = shapely.points(cx + rng.uniform(-half_w, half_w, n_set), cy + rng.uniform(-half_h, half_h, n_set))
    out["settlements"] = gpd.GeoDataFrame({"name": [f"{name}村{i}" for i in range(n_set)]}, geometry=_to_lonlat(pts, epsg))
    roads = [shapely.LineString([(cx - half_w, cy + dy), (cx + half_w, cy + dy + 500)]) for dy in (-8000, 2000, 9000)]
    out["roads"] = gpd.GeoDataFrame({"kind": ["expressway", "county", "national"], "name": ["G1", "X2", "G3"]},
                                    geometry=_to_lonlat(roads, epsg))
    rivers = [shapely.LineString([(cx + dx, cy - half_h), (cx + dx + 800, cy + half_h)]) for dx in (-11000, 6000)]
    out["rivers"] = gpd.GeoDataFrame({"name": ["大江", "小溪"], "main": [True, False]}, geometry=_to_lonlat(rivers, epsg))
    zones = _boxes(rng, 3, cx, cy, (3000, 6000), (3000, 6000), spread=(half_w * 0.95, half_h * 0.95))
    out["resource_zones"] = gpd.GeoDataFrame({"mineral": "limestone"}, index=range(3), geometry=_to_lonlat(zones, epsg))
    return out


def build_city(out: Path, *, quarries: int = 100, parcels: int = 2000, seed: int = 14,
               districts=DISTRICTS, parts: int = 0, gpkg_farmland: bool = True) -> dict[str, Path]:
    """Write the synthetic city into ``out``; return the paths (``gpkg``, ``toml``, ``farmland``).

    ``quarries`` and ``parcels`` are per district. ``parts`` > 0 writes the GeoParquet farmland
    as a folder of that many parts.
    """
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    layers: dict[str, list[gpd.GeoDataFrame]] = {}
    for k, (name, lon, _epsg) in enumerate(districts):
        for layer, frame in district_layers(name, lon, quarries=quarries, parcels=parcels, rng=rng,
                                            id_prefix="ABCDEFGHIJ"[k] + "-").items():
            layers.setdefault(layer, []).append(frame)
    merged = {name: gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=4490) for name, frames in layers.items()}
    gpkg = out / "city.gpkg"
    if gpkg.exists():
        gpkg.unlink()
    for name, frame in merged.items():
        if name == "farmland" and not gpkg_farmland:
            continue
        frame.to_file(gpkg, layer=name, driver="GPKG", engine="pyogrio")
    farmland = merged["farmland"]
    if parts > 0:
        folder = out / "farmland"
        folder.mkdir(exist_ok=True)
        order = np.argsort(farmland.geometry.hilbert_distance().to_numpy(), kind="stable")
        for i, chunk in enumerate(np.array_split(order, parts)):
            farmland.iloc[np.sort(chunk)].to_parquet(folder / f"part-{i:03d}.parquet", write_covering_bbox=True)
        farm_path = folder
    else:
        farm_path = out / "farmland.parquet"
        farmland.to_parquet(farm_path, write_covering_bbox=True)
    toml = out / "city.toml"
    lines = ["# synthetic city (wlgeo scripts/make_synthetic_city.py)"]
    for name in merged:
        lines.append(f"[layers.{name}]")
        if name == "farmland":
            lines.append(f'path = "{farm_path.name}"')
        else:
            lines.append('path = "city.gpkg"')
            lines.append(f'layer = "{name}"')
    toml.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"gpkg": gpkg, "toml": toml, "farmland": farm_path}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--quarries", type=int, default=100, help="quarries per district")
    parser.add_argument("--parcels", type=int, default=2000, help="farmland parcels per district")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--parts", type=int, default=0, help="write the GeoParquet farmland as N parts")
    parser.add_argument("--no-gpkg-farmland", action="store_true",
                        help="leave the farmland out of city.gpkg (only the GeoParquet copy; for huge runs)")
    args = parser.parse_args(argv)
    paths = build_city(args.out, quarries=args.quarries, parcels=args.parcels, seed=args.seed, parts=args.parts,
                       gpkg_farmland=not args.no_gpkg_farmland)
    for key, path in paths.items():
        print(f"{key}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
