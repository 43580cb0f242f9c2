"""Benchmark: ``wlgeo.engine.overlay.constraint_metrics`` vs the straightforward geopandas way.

Synthetic data shaped like the bureau's, over Wulong's extent in EPSG:4545:

- 10 000 quarries (irregular 8-gons, 40–400 m across);
- a red line of 36 star-shaped polygons with ~500 000 vertices in all (non-overlapping);
- farmland as ~10 000 small parcels (one per cell of a grid, so none overlap);
- protected areas (a few big polygons), settlements (points), roads and rivers (long lines).

The geopandas way: ``gpd.overlay(how="intersection")`` + ``groupby`` sum of areas per quarry, and
``gpd.sjoin_nearest`` for distances. Both run in the same process, one after the other; the
script prints each timing, the ratio, and the largest difference in any area and distance.

Run::

    python benchmarks/bench_overlay.py            # full size (about a minute or two)
    python benchmarks/bench_overlay.py --quick    # smaller sizes, a few seconds
"""

from __future__ import annotations

import argparse
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from wlgeo import LayerPack, Scenario
from wlgeo.engine.overlay import constraint_metrics

E_MIN, E_MAX, N_MIN, N_MAX = 424_655.0, 507_808.0, 3_212_358.0, 3_283_713.0
CRS = "EPSG:4545"


def star_polygons(rng, centres, radius, n_vertices):
    """Star-shaped (hence simple) wiggly polygons: r(θ) > 0 for strictly increasing θ.

    The radius is a sum of harmonics with amplitudes falling as 1/k (a fractal-ish outline like
    a mapped boundary), not white noise per vertex.
    """
    out = []
    theta = np.linspace(0, 2 * np.pi, n_vertices, endpoint=False)
    k = np.arange(2, 400)
    for cx, cy in centres:
        amp = 0.25 / k * rng.uniform(0.5, 1.5, len(k))
        phase = rng.uniform(0, 2 * np.pi, len(k))
        r = radius * (1 + (amp[:, None] * np.sin(k[:, None] * theta + phase[:, None])).sum(axis=0))
        ring = np.column_stack([cx + r * np.cos(theta), cy + r * np.sin(theta)])
        out.append(shapely.Polygon(ring))
    return out


def irregular_polygons(rng, cx, cy, size, n_vertices=8):
    """Vectorised irregular convex-ish polygons around (cx, cy)."""
    n = len(cx)
    step = 2 * np.pi / n_vertices
    theta = np.arange(n_vertices) * step + rng.uniform(0, 0.5 * step, (n, n_vertices))
    r = size[:, None] / 2 * rng.uniform(0.6, 1.0, (n, n_vertices))
    xs = cx[:, None] + r * np.cos(theta)
    ys = cy[:, None] + r * np.sin(theta)
    coords = np.stack([xs, ys], axis=-1)
    coords = np.concatenate([coords, coords[:, :1]], axis=1)
    return shapely.polygons(coords)


def random_walks(rng, n, n_vertices, step):
    starts = np.column_stack([rng.uniform(E_MIN, E_MAX, n), rng.uniform(N_MIN, N_MAX, n)])
    heading = rng.uniform(0, 2 * np.pi, n)
    turns = np.cumsum(rng.normal(0, 0.15, (n, n_vertices)), axis=1) + heading[:, None]
    steps = np.stack([np.cos(turns), np.sin(turns)], axis=-1) * step
    coords = starts[:, None, :] + np.cumsum(steps, axis=1)
    return shapely.linestrings(coords)


def build(quick: bool, seed: int = 2025):
    rng = np.random.default_rng(seed)
    n_quarries = 2_000 if quick else 10_000
    red_vertices = 100_000 if quick else 500_000
    grid = (6, 6)
    n_red = grid[0] * grid[1]
    cell_w, cell_h = (E_MAX - E_MIN) / grid[0], (N_MAX - N_MIN) / grid[1]
    centres = [
        (E_MIN + (i + 0.5) * cell_w, N_MIN + (j + 0.5) * cell_h) for i in range(grid[0]) for j in range(grid[1])
    ]
    red = gpd.GeoDataFrame(
        {"category": ["生态保护红线"] * n_red},
        geometry=star_polygons(rng, centres, radius=0.3 * min(cell_w, cell_h), n_vertices=red_vertices // n_red),
        crs=CRS,
    )
    # farmland: one parcel per cell of a ~100 × 100 grid (2 000 in quick mode)
    side = 45 if quick else 100
    gx, gy = np.meshgrid(np.arange(side), np.arange(side))
    fw, fh = (E_MAX - E_MIN) / side, (N_MAX - N_MIN) / side
    fcx = E_MIN + (gx.ravel() + 0.5) * fw
    fcy = N_MIN + (gy.ravel() + 0.5) * fh
    fsize = rng.uniform(150, 0.9 * min(fw, fh), len(fcx))
    farmland = gpd.GeoDataFrame(geometry=irregular_polygons(rng, fcx, fcy, fsize, 10), crs=CRS)
    protected = gpd.GeoDataFrame(
        {"kind": ["scenic_area", "nature_reserve", "forest_park", "world_heritage"], "name": list("ABCD")},
        geometry=star_polygons(
            rng,
            [(E_MIN + 0.2 * (E_MAX - E_MIN), N_MIN + 0.8 * (N_MAX - N_MIN)),
             (E_MIN + 0.8 * (E_MAX - E_MIN), N_MIN + 0.2 * (N_MAX - N_MIN)),
             (E_MIN + 0.5 * (E_MAX - E_MIN), N_MIN + 0.5 * (N_MAX - N_MIN)),
             (E_MIN + 0.85 * (E_MAX - E_MIN), N_MIN + 0.85 * (N_MAX - N_MIN))],
            radius=6000,
            n_vertices=5000,
        ),
        crs=CRS,
    )
    qcx = rng.uniform(E_MIN, E_MAX, n_quarries)
    qcy = rng.uniform(N_MIN, N_MAX, n_quarries)
    quarries = gpd.GeoDataFrame(
        {"quarry_id": [f"Q-{i:05d}" for i in range(n_quarries)]},
        geometry=irregular_polygons(rng, qcx, qcy, rng.uniform(40, 400, n_quarries)),
        crs=CRS,
    )
    n_settle = 500 if quick else 2_000
    settlements = gpd.GeoDataFrame(
        {"name": [f"S{i}" for i in range(n_settle)]},
        geometry=shapely.points(rng.uniform(E_MIN, E_MAX, n_settle), rng.uniform(N_MIN, N_MAX, n_settle)),
        crs=CRS,
    )
    n_roads = 60 if quick else 200
    kinds = np.array(["expressway", "railway", "national", "provincial", "county", "township"])
    roads = gpd.GeoDataFrame(
        {"kind": kinds[rng.integers(0, len(kinds), n_roads)], "name": [f"R{i}" for i in range(n_roads)]},
        geometry=random_walks(rng, n_roads, 500, 60.0),
        crs=CRS,
    )
    rivers = gpd.GeoDataFrame(
        {"name": ["乌江"] + [f"T{i}" for i in range(20)], "main": [True] + [False] * 20},
        geometry=list(random_walks(rng, 1, 5000, 25.0)) + list(random_walks(rng, 20, 400, 40.0)),
        crs=CRS,
    )
    layers = {
        "quarries": quarries,
        "red_line": red,
        "farmland": farmland,
        "protected_areas": protected,
        "settlements": settlements,
        "roads": roads,
        "rivers": rivers,
    }
    return LayerPack(layers)


def geopandas_way(pack: LayerPack, scenario: Scenario) -> pd.DataFrame:
    """What one would write with plain geopandas: overlay + groupby, sjoin_nearest."""
    q = pack["quarries"][["quarry_id", "geometry"]]
    out = pd.DataFrame(index=q["quarry_id"])
    area = q.set_index("quarry_id").area
    protected = pack["protected_areas"]
    protected = protected[protected["kind"].isin(scenario.closing_protected_kinds)]
    for col, layer in (("red_line", pack["red_line"]), ("farmland", pack["farmland"]), ("protected", protected)):
        pieces = gpd.overlay(q, layer[["geometry"]], how="intersection", keep_geom_type=True)
        summed = pieces.area.groupby(pieces["quarry_id"]).sum()
        out[f"{col}_m2"] = summed.reindex(out.index, fill_value=0.0)
        out[f"{col}_pct"] = out[f"{col}_m2"] / area * 100
    roads = pack["roads"]
    rivers = pack["rivers"]
    for col, layer in (
        ("settlement_m", pack["settlements"]),
        ("trunk_line_m", roads[roads["kind"].isin(scenario.trunk_kinds)]),
        ("main_river_m", rivers[rivers["main"]]),
    ):
        joined = gpd.sjoin_nearest(q, layer[["geometry"]], distance_col="dist")
        out[col] = joined.groupby("quarry_id")["dist"].min().reindex(out.index)
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a few seconds)")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    pack = build(args.quick)
    scenario = Scenario()
    red_v = int(shapely.get_num_coordinates(pack["red_line"].geometry.values).sum())
    print(
        f"data: {len(pack['quarries'])} quarries; red line {len(pack['red_line'])} polygons, {red_v} vertices; "
        f"farmland {len(pack['farmland'])} parcels; {len(pack['settlements'])} settlements; "
        f"{len(pack['roads'])} roads; built in {time.perf_counter() - t0:.1f} s"
    )

    t0 = time.perf_counter()
    ours = constraint_metrics(pack["quarries"], pack, scenario)
    t_ours = time.perf_counter() - t0
    print(f"wlgeo constraint_metrics:           {t_ours:8.2f} s")

    t0 = time.perf_counter()
    theirs = geopandas_way(pack, scenario)
    t_theirs = time.perf_counter() - t0
    print(f"geopandas overlay + sjoin_nearest:  {t_theirs:8.2f} s")
    print(f"ratio: {t_theirs / t_ours:.1f}x faster")

    ours = ours.set_axis(pack["quarries"]["quarry_id"].to_numpy())
    area_cols = ["red_line_m2", "farmland_m2", "protected_m2"]
    dist_cols = ["settlement_m", "trunk_line_m", "main_river_m"]
    area_diff = (ours[area_cols] - theirs[area_cols]).abs().max()
    dist_diff = (ours[dist_cols] - theirs[dist_cols]).abs().max()
    hits = {c: int((theirs[c] > 0).sum()) for c in area_cols}
    print("quarries overlapping: " + ", ".join(f"{c} {n}" for c, n in hits.items()))
    print("largest area difference (m²): " + ", ".join(f"{c} {v:.2e}" for c, v in area_diff.items()))
    print("largest distance difference (m): " + ", ".join(f"{c} {v:.2e}" for c, v in dist_diff.items()))
    ok = bool(area_diff.max() <= 0.01)
    print(f"areas identical within 0.01 m²: {'yes' if ok else 'NO'}")


if __name__ == "__main__":
    main()
