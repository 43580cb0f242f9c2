"""Benchmark: 三区两线 by line of sight on the Wulong demo district at the DEM's resolution.

Runs, side by side in one process, the two line-of-sight computations of ``[visibility]``:

1. every quarry against the trunk lines and the main river (:func:`wlgeo.engine.visibility.quarry_visibility`);
2. the viewshed over the new-site candidate ground (:func:`wlgeo.engine.visibility.visible_cells`, the
   cells every other constraint allows, on the siting grid = the DEM's own cells);

and the fixed-corridor metrics they replace (:func:`wlgeo.engine.overlay.constraint_metrics`), with the
wall time, the share of each step, the peak traced memory (``tracemalloc``, a second run) and the
process's peak RSS. ``--dem PATH`` runs on another DEM of the same terrain, e.g. 30 m from
``scripts/build_demo_pack.py --dem-resolution 30 --dem-out PATH`` (``--dem30`` builds it).

Run::

    python benchmarks/bench_visibility.py            # the pack's own DEM (100 m)
    python benchmarks/bench_visibility.py --dem30    # and a 30 m DEM of the same terrain
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from dataclasses import replace
from pathlib import Path

import numpy as np

from wlgeo import Scenario, read_pack
from wlgeo.engine.overlay import constraint_metrics, corridor_lines
from wlgeo.engine.siting import exclusion_mask, read_dem
from wlgeo.engine.visibility import quarry_visibility, visible_cells

REPO = Path(__file__).resolve().parents[1]


def traced(fn):
    """(result, seconds, peak traced MiB) of ``fn()``: timed on a first call, traced on a second."""
    t0 = time.perf_counter()
    out = fn()
    wall = time.perf_counter() - t0
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return out, wall, peak / 2**20


def shares(timings: dict[str, float]) -> str:
    total = sum(timings.values()) or 1.0
    return ", ".join(f"{k} {v:.2f} s ({100 * v / total:.0f} %)" for k, v in timings.items())


def bench(pack, label: str) -> None:
    scenario = Scenario.preset("baseline").replace(**{"visibility.enabled": True})
    params = scenario.visibility
    quarries = pack["quarries"]
    lines, _ = corridor_lines(pack, scenario)
    reach = params.max_distance_m
    print(f"\n== {label}")
    (grid, dem, _), t_read, m_read = traced(lambda: read_dem(pack.dem, crs=pack.working_crs))
    print(f"   DEM {grid.shape[0]} × {grid.shape[1]} cells of {grid.cell_x:g} m; read {t_read:.2f} s, {m_read:.0f} MiB")
    n_lines = {k: 0 if v is None else len(v) for k, v in lines.items()}
    length = {k: 0.0 if v is None else float(v.length.sum()) / 1000 for k, v in lines.items()}
    print(f"   lines: " + ", ".join(f"{k} {n_lines[k]} ({length[k]:.0f} km)" for k in lines))

    _, t_buf, m_buf = traced(lambda: constraint_metrics(quarries, pack, scenario))
    print(f"   fixed corridors (all constraint metrics, {len(quarries)} quarries): {t_buf:.2f} s, peak {m_buf:.1f} MiB (traced; GEOS memory is not)")

    sight, t_q, m_q = traced(lambda: quarry_visibility(quarries, lines, dem, grid, params))
    counts = {c: sight[f"{c}_sight"].value_counts().to_dict() for c in lines}
    print(f"   quarries: {t_q:.2f} s, peak {m_q:.0f} MiB; {sight.attrs['targets']} targets, "
          f"{sight.attrs['pairs']} sight lines cast")
    print(f"      steps: {shares(sight.attrs['timings'])}")
    for c, v in counts.items():
        print(f"      {c}: {v}")

    # the candidate ground of new sites (every other constraint) on the siting grid
    boundary = tuple(pack["boundary"].to_crs(pack.working_crs).total_bounds)
    s_grid, s_dem, _ = read_dem(pack.dem, clip_to=boundary, crs=pack.working_crs)
    from wlgeo.engine.siting import slope_degrees

    slope = slope_degrees(s_dem, s_grid)
    mask = exclusion_mask(pack, scenario, s_grid, kept=None, slope=slope)
    x0, y0, x1, y1 = s_grid.bounds
    v_grid, v_dem, _ = read_dem(pack.dem, clip_to=(x0 - reach, y0 - reach, x1 + reach, y1 + reach),
                                crs=pack.working_crs)
    found, t_v, m_v = traced(lambda: visible_cells(v_dem, v_grid, lines, s_grid, mask.allowed, params))
    print(f"   viewshed over the candidate ground: {int(mask.allowed.sum())} cells tested of {mask.allowed.size}; "
          f"{t_v:.2f} s, peak {m_v:.0f} MiB; {found.observers} observers, {found.pairs} sight lines cast")
    print(f"      steps: {shares(found.timings)}")
    print(f"      {int(found.visible.sum())} visible, {int(found.unknown.sum())} not checked")
    cells = int(mask.allowed.sum())
    print(f"   per quarry {1e3 * t_q / len(quarries):.1f} ms, per candidate cell {1e6 * t_v / max(cells, 1):.0f} µs; "
          f"line of sight vs fixed corridors: {t_q / t_buf:.1f}× the time of all the constraint metrics")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pack", type=Path, default=REPO / "layers" / "wulong.gpkg")
    ap.add_argument("--dem", type=Path, default=None, help="another DEM of the same terrain (same CRS)")
    ap.add_argument("--dem30", action="store_true", help="also build (cached) and run a 30 m DEM")
    args = ap.parse_args()
    pack = read_pack(args.pack)
    bench(pack, f"pack DEM ({pack.dem.name})")
    dem = args.dem
    if args.dem30 and dem is None:
        dem = Path(tempfile.gettempdir()) / "wlgeo_bench_dem30.tif"
        if not dem.exists():
            print(f"building a 30 m DEM at {dem} ...", flush=True)
            subprocess.run([sys.executable, str(REPO / "scripts" / "build_demo_pack.py"), "--dem-resolution", "30",
                            "--dem-out", str(dem)], check=True)
    if dem is not None:
        bench(replace(pack, dem=dem), f"DEM {dem.name}")
    print(f"\nprocess peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
