"""Benchmark: what writing the outputs costs next to the analysis, and export vs bare pyogrio.

1. ``wlgeo.run_plan`` on the 10 000-quarry pack of :mod:`bigpack` (red line of 40 polygons /
   500 000 vertices, 8 000 farmland parcels): the manifest's ``plan.*`` timings (the analysis,
   ``plan()``) against its ``write.*`` timings (GeoPackage, map, sheet PNG + PDF, suitability
   raster, tables). Prints both sums, the ratio (the issue asks ≤ 1.5) and the PDF's size (< 5 MB).
2. ``wlgeo export`` of the demo's plan by town (26 styled, valid GeoPackages + index) against
   bare ``pyogrio.write_dataframe`` calls writing the very same features (each exported file's
   layers read back, untimed, then written again layer by layer). Best of ``--repeat``; the
   issue asks ≤ 1.5.

Usage::

    python benchmarks/bench_outputs.py [--repeat 3] [--skip-run] [--skip-export]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pyogrio

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bigpack import big_pack  # noqa: E402

from wlgeo.products.export import export_plan  # noqa: E402
from wlgeo.runs.demo import demo_pack_path  # noqa: E402
from wlgeo.runs.writer import run_plan  # noqa: E402


def bench_run(tmp: Path) -> None:
    pack = big_pack()
    out = run_plan(pack, out_dir=tmp / "run")
    timings = out.manifest["timings"]
    plan_s = sum(v for k, v in timings.items() if k.startswith("plan."))
    write_s = sum(v for k, v in timings.items() if k.startswith("write."))
    print(f"run on {len(pack['quarries'])} quarries, red line {int(pack['red_line'].geometry.count_coordinates().sum())} "
          f"vertices, {len(pack['farmland'])} farmland parcels")
    for key, value in timings.items():
        print(f"  {key:<22}{value:8.2f} s")
    sizes = {p.name: p.stat().st_size / 1e6 for p in (tmp / "run").iterdir()}
    print("  files: " + ", ".join(f"{k} {v:.1f} MB" for k, v in sorted(sizes.items())))
    print(f"plan() {plan_s:.2f} s, writing {write_s:.2f} s: ratio {write_s / plan_s:.2f} (target ≤ 1.5); "
          f"sheet.pdf {sizes['sheet.pdf']:.2f} MB (target < 5)")


def bare_writes(exported: list[Path], layers: dict[Path, dict], out: Path) -> None:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    for path in exported:
        target = out / path.name
        for name, frame in layers[path].items():
            pyogrio.write_dataframe(frame, target, layer=name, driver="GPKG", append=target.exists())


def bench_export(tmp: Path, repeat: int) -> None:
    run = tmp / "demo"
    run_plan(demo_pack_path(), out_dir=run)
    plan = run / "plan.gpkg"

    def export() -> float:
        shutil.rmtree(tmp / "towns", ignore_errors=True)
        start = time.perf_counter()
        export.report = export_plan(plan, by="town", out_dir=tmp / "towns")
        return time.perf_counter() - start

    times = {"export": [export()], "bare": []}
    files = [f.path for f in export.report.files]
    layers = {}
    for path in files:  # the same features, read back (not timed)
        names = [name for name, _ in pyogrio.list_layers(path) if name != "layer_styles"]
        layers[path] = {name: pyogrio.read_dataframe(path, layer=name) for name in names}

    def bare() -> float:
        start = time.perf_counter()
        bare_writes(files, layers, tmp / "bare")
        return time.perf_counter() - start

    times["bare"].append(bare())
    for _ in range(repeat - 1):  # alternate, so a change of load on the machine hits both alike
        times["export"].append(export())
        times["bare"].append(bare())
    best_export, best_bare = min(times["export"]), min(times["bare"])
    n_layers = sum(len(v) for v in layers.values())
    print(f"export by town of the demo plan: {len(files)} files, {n_layers} layers; alternated, best of {repeat}")
    print("  runs (s): export " + ", ".join(f"{t:.1f}" for t in times["export"])
          + "; bare " + ", ".join(f"{t:.1f}" for t in times["bare"]))
    print(f"  wlgeo export {best_export:.2f} s, bare pyogrio writes {best_bare:.2f} s: "
          f"ratio {best_export / best_bare:.2f} (target ≤ 1.5)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-run", action="store_true")
    parser.add_argument("--skip-export", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if not args.skip_run:
            bench_run(tmp)
        if not args.skip_export:
            bench_export(tmp, args.repeat)


if __name__ == "__main__":
    main()
