"""Benchmark: optimal vs greedy new-site selection, objective and time.

1. **The demo** (``layers/wulong.gpkg``, baseline scenario, kept quarries as the plan keeps
   them): :func:`wlgeo.engine.siting.propose_sites` with ``selection = "greedy"`` and ``"optimal"``.
2. **A 10× larger candidate set**: the demo's candidate ground and suitability tiled 5 × 2 into
   a grid ten times the size (each tile's suitability multiplied by a seeded random factor of
   0.97–1.00 per cell, so the tiles are not identical), with ten times the sites
   (``max_new_sites`` 50, no caps), solved by :func:`wlgeo.engine.siting.optimal.choose_sites`.

For each: the objective (sum of the chosen sites' scores) of greedy and optimal, the optimal
gap, the pool size, the pairwise conflicts, and the time of each selection. Ratios are printed
side by side; nothing is asserted.

Run::

    python benchmarks/bench_select.py [--time-limit 60]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from affine import Affine

import wlgeo
from wlgeo import Scenario, read_pack
from wlgeo.engine.siting import Grid, propose_sites
from wlgeo.engine.siting.optimal import Caps, choose_sites
from wlgeo.engine.siting.select import candidate_ground

REPO = Path(__file__).resolve().parents[1]


def line(label, greedy, optimal, t_greedy, t_optimal):
    ratio = optimal.objective / greedy.objective if greedy.objective else float("nan")
    gap = "unknown" if optimal.gap is None else f"{optimal.gap:.2e}"
    print(f"   {label}: greedy {greedy.objective:.4f} in {t_greedy:.2f} s; optimal {optimal.objective:.4f} "
          f"({optimal.status}, gap {gap}) in {t_optimal:.2f} s — objective ratio {ratio:.5f}, "
          f"time ratio {t_optimal / max(t_greedy, 1e-9):.1f}×; pool {optimal.candidates} blocks, "
          f"{optimal.conflicts} conflicting pairs")


def demo(pack, time_limit):
    print("\n== demo district (baseline)")
    base = wlgeo.plan(pack, "baseline", sites=False)
    q = base.quarries
    kept = q[q["decision"].isin(["retain", "consolidate"])]
    kept_count = int((kept["decision"] == "retain").sum()) + len(base.consolidation_groups)
    cap = float(kept["capacity"].sum())
    runs = {}
    for selection in ("greedy", "optimal"):
        sc = Scenario.preset("baseline").replace(**{"siting.selection": selection, "siting.time_limit_s": time_limit})
        t0 = time.perf_counter()
        res = propose_sites(pack, sc, kept=kept, kept_capacity=cap, kept_count=kept_count)
        runs[selection] = (res, time.perf_counter() - t0)
    (g, tg), (o, to) = runs["greedy"], runs["optimal"]
    print(f"   whole siting: greedy {tg:.2f} s, optimal {to:.2f} s; select step greedy {g.timings['select']:.2f} s, "
          f"optimal {o.timings['select']:.2f} s")
    line("sites", g.selection, o.selection, g.timings["select"], o.timings["select"])
    same = sorted(map(tuple, np.round([s.bounds for s in g.new_sites.geometry], 3))) == \
        sorted(map(tuple, np.round([s.bounds for s in o.new_sites.geometry], 3)))
    print(f"   same sites as greedy: {same}")
    return o


def tiled(res, min_area, spacing, time_limit, reps=(2, 5), seed=0):
    grid = res.grid
    ground, n_cells, _ = candidate_ground(res.mask, grid, min_area)
    suit = np.where(ground, res.suitability, np.nan)
    rng = np.random.default_rng(seed)
    big_ground = np.tile(ground, reps)
    big_suit = np.tile(suit, reps) * rng.uniform(0.97, 1.0, size=big_ground.shape)
    t = grid.transform
    big_grid = Grid(grid.crs, Affine(t.a, 0, t.c, 0, t.e, t.f), big_ground.shape)
    print(f"\n== 10× candidate ground: {big_ground.shape[0]} × {big_ground.shape[1]} cells, "
          f"{int(big_ground.sum())} candidate cells ({int(ground.sum())} in the demo)")
    caps = Caps(max_sites=50)
    out = {}
    for selection in ("greedy", "optimal"):
        t0 = time.perf_counter()
        _, notes, report = choose_sites(big_ground, big_suit, big_grid, n_cells=n_cells, caps=caps, spacing_m=spacing,
                                        selection=selection, time_limit_s=time_limit)
        out[selection] = (report, time.perf_counter() - t0)
        if selection == "optimal":
            for n in notes:
                print("   note:", n)
    (g, tg), (o, to) = out["greedy"], out["optimal"]
    line("50 sites", g, o, tg, to)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pack", type=Path, default=REPO / "layers" / "wulong.gpkg")
    ap.add_argument("--time-limit", type=float, default=60.0)
    args = ap.parse_args()
    pack = read_pack(args.pack)
    o = demo(pack, args.time_limit)
    s = Scenario.preset("baseline").siting
    tiled(o, s.min_site_area_m2, s.site_spacing_m, args.time_limit)


if __name__ == "__main__":
    main()
