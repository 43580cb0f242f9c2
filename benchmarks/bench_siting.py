"""Benchmark: the full new-site suitability for the Wulong demo district, 100 m vs 30 m DEM.

Runs :func:`wlgeo.engine.siting.propose_sites` on the demo pack (``layers/wulong.gpkg``) with its own
100 m DEM and with a 30 m DEM of the same synthetic terrain, side by side in one process, and
prints for each: wall time, the share of each step, peak traced memory (``tracemalloc``, a
second run) and the process's peak RSS. It then checks the distance raster against exact
vector distances (shapely) on a random sample of cell centres and reports the largest error
(must stay under half a cell diagonal) and the time ratio of the raster way to the vector way
extrapolated to every cell.

The 30 m DEM is made with ``scripts/build_demo_pack.py --dem-resolution 30 --dem-out`` when
``--dem30`` is not given (about 25 s, cached in the temp directory).

Run::

    python benchmarks/bench_siting.py              # 100 m and 30 m
    python benchmarks/bench_siting.py --quick      # 100 m only
"""

from __future__ import annotations

import argparse
import math
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from dataclasses import replace
from pathlib import Path

import numpy as np
import shapely

from wlgeo import Scenario, read_pack
from wlgeo.engine.siting import distance_to, propose_sites

REPO = Path(__file__).resolve().parents[1]


def dem30(path: Path | None) -> Path:
    if path is not None:
        return path
    out = Path(tempfile.gettempdir()) / "wlgeo_bench_dem30.tif"
    if not out.exists():
        print(f"building a 30 m DEM at {out} ...", flush=True)
        subprocess.run([sys.executable, str(REPO / "scripts" / "build_demo_pack.py"), "--dem-resolution", "30",
                        "--dem-out", str(out)], check=True)
    return out


def run(pack, scenario, kept, label):
    t0 = time.perf_counter()
    res = propose_sites(pack, scenario, kept=kept, kept_capacity=float(kept["capacity"].sum()))
    wall = time.perf_counter() - t0
    tracemalloc.start()
    propose_sites(pack, scenario, kept=kept, kept_capacity=float(kept["capacity"].sum()))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rows, cols = res.grid.shape
    print(f"\n== {label}: {rows} × {cols} = {rows * cols / 1e6:.2f} M cells of {res.grid.cell_x:g} m; "
          f"{len(res.new_sites)} site(s)")
    print(f"   wall {wall:.2f} s; peak traced memory {peak / 2**20:.0f} MiB")
    total = sum(res.timings.values())
    for step, sec in res.timings.items():
        print(f"   {step:<12} {sec:7.3f} s  {100 * sec / total:5.1f} %")
    for _, site in res.new_sites.iterrows():
        print(f"   {site.site_id} score {site.score:.3f} slope {site.slope_deg:.1f}° town {site.town}")
    return res, wall, peak


def distance_accuracy(pack, grid, n_sample, rng):
    roads = pack["roads"]
    geoms = roads[roads["kind"] != "railway"].geometry.to_numpy()
    t0 = time.perf_counter()
    raster = distance_to(geoms, grid)
    t_raster = time.perf_counter() - t0
    rows = rng.integers(0, grid.shape[0], n_sample)
    cols = rng.integers(0, grid.shape[1], n_sample)
    xs, ys = grid.cell_centres()
    pts = shapely.points(xs[cols], ys[rows])
    t0 = time.perf_counter()
    tree = shapely.STRtree(geoms)
    _, exact = tree.query_nearest(pts, return_distance=True, all_matches=False)
    t_vec = time.perf_counter() - t0
    err = np.abs(raster[rows, cols] - exact)
    full_vec = t_vec * grid.shape[0] * grid.shape[1] / n_sample
    half_diag = math.hypot(grid.cell_x, grid.cell_y) / 2
    print(f"   distance to roads: raster {t_raster:.2f} s for every cell; vector (STRtree nearest) "
          f"{t_vec:.2f} s for {n_sample} cells → ≈ {full_vec:.1f} s for every cell (ratio {full_vec / t_raster:.1f}×)")
    print(f"   |raster − exact| max {err.max():.2f} m, mean {err.mean():.2f} m "
          f"(bound: half a cell diagonal = {half_diag:.2f} m) → {'OK' if err.max() <= half_diag + 1e-6 else 'EXCEEDED'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pack", type=Path, default=REPO / "layers" / "wulong.gpkg")
    ap.add_argument("--dem30", type=Path, default=None, help="a 30 m DEM of the demo terrain (built when absent)")
    ap.add_argument("--quick", action="store_true", help="only the pack's own (100 m) DEM")
    ap.add_argument("--sample", type=int, default=200_000, help="cells sampled for the distance accuracy check")
    args = ap.parse_args()

    pack = read_pack(args.pack)
    quarries = pack["quarries"]
    kept = quarries.sort_values("capacity").head(25)  # leaves room under the baseline caps
    scenario = Scenario.preset("baseline")
    rng = np.random.default_rng(0)

    res100, wall100, peak100 = run(pack, scenario, kept, "pack DEM")
    distance_accuracy(pack, res100.grid, args.sample, rng)
    if not args.quick:
        pack30 = replace(pack, dem=dem30(args.dem30))
        res30, wall30, peak30 = run(pack30, scenario, kept, "30 m DEM")
        distance_accuracy(pack, res30.grid, args.sample, rng)
        cells = (res30.grid.shape[0] * res30.grid.shape[1]) / (res100.grid.shape[0] * res100.grid.shape[1])
        print(f"\n30 m vs 100 m: {cells:.1f}× the cells, {wall30 / wall100:.1f}× the time, "
              f"{peak30 / peak100:.1f}× the peak traced memory")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process peak RSS {rss:.0f} MiB")


if __name__ == "__main__":
    main()
