"""Benchmark: the offline map with many quarries — HTML size, build time, time to first draw.

Builds N synthetic quarries (64-vertex polygons, ~300 m across) spread over Wulong's extent in
EPSG:4545, writes the map with and without display simplification, opens each in headless
Chromium with the network blocked, and reports side by side:

- Python build + write time,
- HTML size,
- in-page time from navigation start to the first frame with every layer drawn
  (``window.wlgeoDrawn``, two animation frames after the layers were added).

Usage::

    python benchmarks/bench_map.py [--n 10000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from browser import Chromium  # noqa: E402

from wlgeo.maps import save_map  # noqa: E402

DECISIONS = np.array(["close", "expire", "retain", "consolidate"])


def synthetic(n: int, seed: int = 5) -> SimpleNamespace:
    rng = np.random.default_rng(seed)
    x = rng.uniform(430_000, 500_000, n)
    y = rng.uniform(3_215_000, 3_280_000, n)
    radius = rng.uniform(100, 200, n)
    angles = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    wobble = 1 + 0.15 * np.sin(5 * angles)
    polys = [
        shapely.Polygon(np.column_stack([cx + r * wobble * np.cos(angles), cy + r * wobble * np.sin(angles)]))
        for cx, cy, r in zip(x, y, radius)
    ]
    quarries = gpd.GeoDataFrame(
        {
            "quarry_id": [f"Q-{i:05d}" for i in range(n)],
            "name": [f"碎石场{i}" for i in range(n)],
            "owner": "武隆某建材公司",
            "town": "白马镇",
            "capacity": rng.uniform(10, 200, n).round(1),
            "license_end": "2027-06-30",
            "decision": DECISIONS[rng.integers(0, 4, n)],
            "reasons": "red_line:12450m2(23.1%);settlement:180m",
        },
        geometry=polys,
        crs="EPSG:4545",
    )
    empty = gpd.GeoDataFrame(geometry=[], crs="EPSG:4545")
    return SimpleNamespace(quarries=quarries, consolidation_groups=empty, new_sites=empty,
                           scenario=SimpleNamespace(name="bench"))


def run(n: int) -> list[dict]:
    result = synthetic(n)
    rows = []
    with tempfile.TemporaryDirectory() as tmp, Chromium(timeout=120) as browser:
        for simplify in (0.0, 5.0, 10.0):
            path = Path(tmp) / f"map_{simplify:g}.html"
            t0 = time.perf_counter()
            save_map(result, None, path, simplify_m=simplify)
            build = time.perf_counter() - t0
            browser.open(path, timeout=120)
            drawn = browser.wait_for("window.wlgeoDrawn", timeout=120)
            counts = browser.evaluate("Object.values(window.wlgeoCounts).reduce((a, b) => a + b, 0)")
            errors = browser.console_errors + browser.page_errors
            rows.append({"simplify_m": simplify, "mb": path.stat().st_size / 1e6, "build_s": build,
                         "first_draw_ms": drawn, "features": counts, "errors": len(errors), "blocked": len(browser.blocked)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    args = parser.parse_args()
    rows = run(args.n)
    print(f"{args.n} quarries, 64 vertices each; headless Chromium, network blocked")
    print(f"{'simplify':>9} {'HTML MB':>8} {'build s':>8} {'first draw ms':>14} {'features':>9} {'errors':>7} {'blocked':>8}")
    for r in rows:
        print(f"{r['simplify_m']:>8g}m {r['mb']:>8.2f} {r['build_s']:>8.2f} {r['first_draw_ms']:>14.0f} "
              f"{r['features']:>9} {r['errors']:>7} {r['blocked']:>8}")
    base = rows[0]
    for r in rows[1:]:
        print(f"simplify {r['simplify_m']:g} m vs none: size ×{r['mb'] / base['mb']:.2f}, "
              f"first draw ×{r['first_draw_ms'] / base['first_draw_ms']:.2f}")


if __name__ == "__main__":
    main()
