"""Benchmark: wlgeo's light offline map vs ``GeoDataFrame.explore()`` of the same layers.

The 10 000-quarry pack of :mod:`bigpack` (red line of 40 polygons / 500 000 vertices, 8 000
farmland parcels, the district boundary) is planned with ``wlgeo.plan`` (no new sites), then
drawn twice:

1. ``wlgeo.products.webmap.save_map`` (what ``wlgeo run`` writes), the context restricted to the same
   three layers;
2. the straightforward folium way: ``quarries.explore(column="decision", popup=True)`` and
   ``explore(m=...)`` of the boundary, red line and farmland, with Leaflet's JS and CSS inlined
   (folium's other CDN files removed, no tiles, no legend) so that it, too, draws offline with no
   error.

Each file is opened ``--repeat`` times, alternately, in headless Chromium with the network blocked.
The first vector frame is the time from navigation start to the second animation frame after the
page's last script ran (the same probe is appended to both files). Prints sizes, medians and
the ratios wlgeo / explore (the issue asks for ≤ 0.3 on both).

Usage::

    python benchmarks/bench_map.py [--repeat 3] [--quarries 10000]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from bigpack import big_pack  # noqa: E402
from browser import Chromium  # noqa: E402

import wlgeo  # noqa: E402
from wlgeo.model.pack import LayerPack  # noqa: E402
from wlgeo.products.maps import leaflet_assets  # noqa: E402
from wlgeo.products.webmap import save_map  # noqa: E402

PROBE = ("<script>requestAnimationFrame(function(){requestAnimationFrame(function(){"
         "window.__frame=performance.now();});});</script>")
LAYERS = ("boundary", "red_line", "farmland")


def explore_map(result, pack: LayerPack, path: Path) -> None:
    """The straightforward folium map of the same layers, made to draw offline."""
    quarries = result.quarries.copy()
    for column in quarries.columns:
        if str(quarries[column].dtype).startswith("datetime"):
            quarries[column] = quarries[column].astype(str)
    m = pack["boundary"].explore(style_kwds={"fill": False, "color": "#222222"}, name="boundary", tiles=None)
    pack["red_line"].explore(m=m, color="#c51b7d", name="red_line")
    pack["farmland"].explore(m=m, color="#b8a100", name="farmland")
    # no legend: branca's categorical legend needs jQuery from a CDN (an offline page would throw)
    quarries.explore(m=m, column="decision", categorical=True, popup=True, legend=False, name="quarries")
    text = m.get_root().render()
    js, css = leaflet_assets()
    text = re.sub(r"<script[^>]+src=[^>]+></script>", "", text)
    text = re.sub(r"<link[^>]+stylesheet[^>]*>", "", text)
    text = text.replace("<head>", f"<head><style>{css}</style><script>{js}</script>", 1)
    path.write_text(text, encoding="utf-8")


def first_frame(browser: Chromium, path: Path) -> tuple[float, int]:
    browser.open(path, timeout=300)
    frame = browser.wait_for("window.__frame", timeout=300)
    errors = len(browser.page_errors) + len(browser.console_errors) + len(browser.blocked)
    return float(frame), errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quarries", type=int, default=10_000)
    args = parser.parse_args()
    full = big_pack(n_quarries=args.quarries)
    result = wlgeo.plan(full, wlgeo.Scenario(), sites=False)
    pack = LayerPack({name: full[name] for name in LAYERS})
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        ours, theirs = tmp / "wlgeo.html", tmp / "explore.html"
        t0 = time.perf_counter()
        save_map(result, pack, ours)
        t_ours = time.perf_counter() - t0
        t0 = time.perf_counter()
        explore_map(result, pack, theirs)
        t_theirs = time.perf_counter() - t0
        for path in (ours, theirs):
            path.write_text(path.read_text(encoding="utf-8").replace("</html>", PROBE + "</html>"), encoding="utf-8")
        times: dict[Path, list[float]] = {ours: [], theirs: []}
        errors: dict[Path, int] = {ours: 0, theirs: 0}
        with Chromium(timeout=300) as browser:
            for _ in range(args.repeat):
                for path in (ours, theirs):
                    ms, n_err = first_frame(browser, path)
                    times[path].append(ms)
                    errors[path] += n_err
            features = browser.evaluate("1") and None
            browser.open(ours, timeout=300)
            browser.wait_for("window.__frame", timeout=300)
            features = browser.evaluate("Object.values(window.wlgeoCounts).reduce((a, b) => a + b, 0)")
        size = {p: p.stat().st_size / 1e6 for p in times}
        med = {p: statistics.median(v) for p, v in times.items()}
    n_red = int(full["red_line"].geometry.count_coordinates().sum())
    print(f"{len(result.quarries)} quarries, red line {len(full['red_line'])} polygons / {n_red} vertices, "
          f"{len(full['farmland'])} farmland parcels; headless Chromium, network blocked, median of {args.repeat}")
    print(f"{'map':<10}{'HTML MB':>9}{'build s':>9}{'first frame ms':>16}{'errors':>8}")
    print(f"{'wlgeo':<10}{size[ours]:>9.2f}{t_ours:>9.2f}{med[ours]:>16.0f}{errors[ours]:>8}")
    print(f"{'explore':<10}{size[theirs]:>9.2f}{t_theirs:>9.2f}{med[theirs]:>16.0f}{errors[theirs]:>8}")
    print(f"wlgeo map features: {features}")
    print(f"ratio size {size[ours] / size[theirs]:.3f}  first frame {med[ours] / med[theirs]:.3f}  (target ≤ 0.3)")


if __name__ == "__main__":
    main()
