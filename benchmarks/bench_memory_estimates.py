"""Memory estimates vs what the steps really allocate, side by side.

wlgeo sizes four steps before running them (``wlgeo.model.resources``): the siting grid, each distance
transform, each buffer and the consolidation pairs. This benchmark runs each on inputs of a few
sizes with ``tracemalloc`` on (NumPy and SciPy report their arrays to it; GEOS allocations are
not seen: the buffer rows add 24 bytes per vertex GEOS made) and prints estimate, measured peak
and their ratio. An estimate ≥ the peak (ratio ≥ 1) refuses
before the memory is gone; a ratio far above 1 refuses runs that would have fitted.

Run: ``python benchmarks/bench_memory_estimates.py``. Nothing is asserted.
"""

from __future__ import annotations

import gc
import tracemalloc

import numpy as np
import shapely

from wlgeo.engine.classify import PAIR_BYTES, consolidation_links, estimate_pairs
from wlgeo.model.resources import format_bytes, using_budget
from wlgeo.engine.siting.factors import EDT_BYTES_PER_CELL, _pad_cells, distance_to
from wlgeo.engine.siting.grid import SITING_BYTES_PER_CELL, grid_from_bounds
from wlgeo.engine.siting.mask import BUFFER_BYTES_PER_VERTEX, _QUAD_SEGS, burn_outside


def traced(fn):
    gc.collect()
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def row(what: str, estimate: float, peak: float) -> None:
    print(f"{what:<48} {format_bytes(estimate):>10} {format_bytes(peak):>10} {estimate / max(peak, 1):>6.2f}")


def main() -> None:
    print(f"{'step':<48} {'estimate':>10} {'measured':>10} {'ratio':>6}")
    with using_budget("64GiB"):
        for res in (60.0, 30.0, 15.0):
            grid = grid_from_bounds((424_655, 3_212_358, 507_808, 3_283_713), res)  # Wulong's extent
            port = [shapely.Point(480_000, 3_230_000)]
            left, bottom, right, top = _pad_cells(grid, np.array(port, dtype=object), 30_000)
            big = grid.padded(left, bottom, right, top)
            estimate = big.shape[0] * big.shape[1] * EDT_BYTES_PER_CELL
            row(f"distance transform, {res:g} m ({grid.shape[0]}×{grid.shape[1]})", estimate,
                traced(lambda g=grid: distance_to(port, g, max_distance=30_000)))
        rng = np.random.default_rng(0)
        grid = grid_from_bounds((450_000, 3_200_000, 470_000, 3_220_000), 30.0)
        for n in (200, 1000, 3000):
            roads = [shapely.LineString(np.column_stack([np.linspace(450_000, 470_000, 500),
                                                         3_200_000 + 20_000 * rng.random() + 5 * rng.random(500)]))
                     for _ in range(n)]
            vertices = n * 500 * 3 + n * (4 * _QUAD_SEGS + 1)
            estimate = vertices * BUFFER_BYTES_PER_VERTEX + grid.shape[0] * grid.shape[1] * 2
            made = int(shapely.get_num_coordinates(shapely.buffer(np.array(roads, dtype=object), 100.0,
                                                                  quad_segs=_QUAD_SEGS)).sum())
            peak = traced(lambda r=roads: burn_outside(r, 100.0, grid)) + 24 * made  # + GEOS's coordinates
            row(f"buffers, {n} roads × 500 vertices ({made:,} made)", estimate, peak)
        for n in (2_000, 10_000, 30_000):
            xy = rng.random((n, 2)) * 20_000
            geoms = shapely.points(xy)
            pairs = estimate_pairs(geoms, 1000.0)
            cap = np.full(n, 10.0)
            surv = np.ones(n, dtype=bool)
            row(f"consolidation pairs, {n} quarries in 20 km, 1 km", pairs * PAIR_BYTES,
                traced(lambda g=geoms, c=cap, s=surv: consolidation_links(g, c, s, merge_distance_m=1000.0,
                                                                         min_capacity=50)))
    print(f"(siting grid: {SITING_BYTES_PER_CELL} bytes per cell, measured 69.5 on the demo with tracemalloc)")


if __name__ == "__main__":
    main()
