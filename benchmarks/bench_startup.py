"""Start-up time of the command line, side by side with importing geopandas.

    python benchmarks/bench_startup.py [--runs 7]

Each command runs in a fresh interpreter, ``--runs`` times; the best (least disturbed) wall time
is reported with the median, and the ratio to ``python -c "import geopandas"``, which is what any
command paid before the imports became lazy. Also lists the heavy libraries each command loads.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time

HEAVY = ("pandas", "geopandas", "shapely", "pyproj", "folium", "matplotlib", "rasterio", "scipy")


def _time(cmd: list[str], runs: int) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def _loaded(code: str) -> str:
    probe = code + f"\nimport sys\nprint('loaded=' + ','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False)
    return out.stdout.strip().splitlines()[-1].removeprefix("loaded=")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    console = shutil.which("wlgeo")
    help_code = "from wlgeo.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass"
    rows = [
        ('python -c "import geopandas"', [sys.executable, "-c", "import geopandas"], "import geopandas"),
        ('python -c "import wlgeo"', [sys.executable, "-c", "import wlgeo"], "import wlgeo"),
        ("python -m wlgeo.cli --help", [sys.executable, "-m", "wlgeo.cli", "--help"], help_code),
    ]
    if console:
        rows.append(("wlgeo --help (console script)", [console, "--help"], help_code))
    base = None
    print(f"{'command':34} {'best s':>8} {'median s':>9} {'× geopandas':>12}  heavy modules loaded")
    for label, cmd, code in rows:
        best, median = _time(cmd, args.runs)
        base = base or best
        print(f"{label:34} {best:8.3f} {median:9.3f} {best / base:12.2f}  {_loaded(code) or '-'}")


if __name__ == "__main__":
    main()
