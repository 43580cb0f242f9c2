"""Benchmark the GeoPackage writer and the batch export against a bare pyogrio write.

A synthetic district: 10 000 quarries (16-vertex polygons) spread over 26 towns (a 13 x 2 grid
of 4 km squares), 200 roads, 300 farmland parcels, 50 consolidation groups. Side by side in one
run:

1. ``write_geopackage`` (DATE fields, aliases, JSON metadata, QGIS styles, temp + rename)
   vs ``pyogrio.write_dataframe`` of the same layers into one file;
2. ``export_plan(by="town")`` (read back, assign towns, clip context, 26 styled files, index)
   vs bare ``pyogrio.write_dataframe`` calls of the same layers per town (its quarries and
   their groups, roads and farmland clipped the same way — clipping time included — and the
   town polygon).

Run: ``python benchmarks/bench_gpkg.py [--quarries N] [--repeat R]``. Prints a table and ratios;
the numbers are not asserted anywhere.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from shapely.geometry import box

from wlgeo.products.export import export_plan
from wlgeo.products.geopackage import write_geopackage

X0, Y0 = 440_000.0, 3_230_000.0
TOWN = 4000.0
DECISIONS = np.array(["close", "expire", "retain", "consolidate"])
ZH = {"close": "关闭退出", "expire": "到期退出", "retain": "予以保留", "consolidate": "优化整合"}


def district(n_quarries: int, seed: int = 7) -> dict[str, gpd.GeoDataFrame]:
    rng = np.random.default_rng(seed)
    towns = gpd.GeoDataFrame(
        {"town": [f"镇{i:02d}" for i in range(26)]},
        geometry=[box(X0 + (i % 13) * TOWN, Y0 + (i // 13) * TOWN, X0 + (i % 13 + 1) * TOWN, Y0 + (i // 13 + 1) * TOWN) for i in range(26)],
        crs="EPSG:4545",
    )
    cx = X0 + rng.uniform(100, 13 * TOWN - 100, n_quarries)
    cy = Y0 + rng.uniform(100, 2 * TOWN - 100, n_quarries)
    radius = rng.uniform(20, 80, n_quarries)
    geoms = shapely.buffer(shapely.points(cx, cy), radius, quad_segs=4)
    town_idx = ((cx - X0) // TOWN).astype(int) + 13 * ((cy - Y0) // TOWN).astype(int)
    decision = DECISIONS[rng.integers(0, 4, n_quarries)]
    ends = pd.to_datetime("2025-01-01") + pd.to_timedelta(rng.integers(0, 3650, n_quarries), unit="D")
    quarries = gpd.GeoDataFrame(
        {
            "quarry_id": [f"Q-{i:05d}" for i in range(n_quarries)],
            "name": [f"石场{i}" for i in range(n_quarries)],
            "capacity": rng.uniform(5, 200, n_quarries).round(1),
            "license_end": ends,
            "town": towns["town"].to_numpy()[town_idx],
            "decision": decision,
            "decision_zh": [ZH[d] for d in decision],
            "reasons": np.where(decision == "close", "red_line:120m2(3.1%)", ""),
            "red_line_m2": rng.uniform(0, 500, n_quarries),
            "group_id": np.where(decision == "consolidate", [f"G-{i % 50}" for i in range(n_quarries)], None),
        },
        geometry=geoms,
        crs="EPSG:4545",
    )
    # drop the town field of 10 % of the quarries: export places them by overlap
    quarries.loc[quarries.sample(frac=0.1, random_state=seed).index, "town"] = None
    groups = quarries[quarries["decision"] == "consolidate"].dissolve("group_id", as_index=False)[["group_id", "geometry"]]
    ys = Y0 + rng.uniform(0, 2 * TOWN, 200)
    roads = gpd.GeoDataFrame(
        {"kind": rng.choice(["national", "provincial", "county", "township"], 200), "name": [f"路{i}" for i in range(200)]},
        geometry=[shapely.LineString([(X0, y), (X0 + 13 * TOWN, y + 300)]) for y in ys],
        crs="EPSG:4545",
    )
    fx = X0 + rng.uniform(0, 13 * TOWN - 600, 300)
    fy = Y0 + rng.uniform(0, 2 * TOWN - 600, 300)
    farmland = gpd.GeoDataFrame(geometry=[box(x, y, x + 600, y + 400) for x, y in zip(fx, fy)], crs="EPSG:4545")
    return {"quarries": quarries, "consolidation_groups": groups, "roads": roads, "farmland": farmland, "towns": towns}


def timed(func, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best


def raw_write(path: Path, layers: dict[str, gpd.GeoDataFrame]) -> None:
    if path.exists():
        path.unlink()
    for name, frame in layers.items():
        pyogrio.write_dataframe(frame, path, layer=name, append=path.exists())


def raw_batch(plan: dict[str, gpd.GeoDataFrame], out: Path) -> None:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    towns = plan["towns"]
    quarries = plan["quarries"]
    groups = plan["consolidation_groups"]
    for town, polygon in zip(towns["town"], towns.geometry):
        # the layers export writes for a town: its quarries and their groups, the context clipped, the town
        mine = quarries[quarries["town"] == town]
        layers = {"quarries": mine, "consolidation_groups": groups[groups["group_id"].isin(mine["group_id"].dropna())]}
        for name in ("roads", "farmland"):
            layers[name] = gpd.clip(plan[name], polygon)
        layers["towns"] = towns[towns["town"] == town]
        raw_write(out / f"{town}.gpkg", layers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quarries", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    plan = district(args.quarries)
    meta = {"scenario": {"name": "bench"}, "run_time": dt.datetime.now().isoformat()}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t_wlgeo = timed(lambda: write_geopackage(tmp / "plan.gpkg", plan, metadata=meta, overwrite=True), args.repeat)
        t_raw = timed(lambda: raw_write(tmp / "raw.gpkg", plan), args.repeat)
        plan_path = tmp / "plan.gpkg"
        t_export = timed(lambda: export_plan(plan_path, by="town", out_dir=tmp / "towns", overwrite=True), args.repeat)
        t_raw_batch = timed(lambda: raw_batch(plan, tmp / "raw_towns"), args.repeat)
        report = export_plan(plan_path, by="town", out_dir=tmp / "towns", overwrite=True)
        size_w = plan_path.stat().st_size / 1e6
        size_r = (tmp / "raw.gpkg").stat().st_size / 1e6

    print(f"synthetic district: {args.quarries} quarries, 26 towns; best of {args.repeat}")
    print(f"{'task':<44}{'wlgeo (s)':>11}{'raw pyogrio (s)':>17}{'ratio':>8}")
    print(f"{'plan.gpkg (all layers, styles, metadata)':<44}{t_wlgeo:>11.2f}{t_raw:>17.2f}{t_wlgeo / t_raw:>8.2f}")
    print(f"{'export by town (26 files + index)':<44}{t_export:>11.2f}{t_raw_batch:>17.2f}{t_export / t_raw_batch:>8.2f}")
    print(f"plan.gpkg size {size_w:.1f} MB (raw {size_r:.1f} MB); export wrote {len(report.files)} files, "
          f"{report.total('quarries')} quarries, failures {len(report.failures)}")


if __name__ == "__main__":
    main()
