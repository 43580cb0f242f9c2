"""The scenario-review notebooks, executed top to bottom in a fresh ``python3`` kernel (nbclient).

Each notebook runs with ``notebooks/`` as its working directory on the bundled demo pack; an
error in any cell fails the test. What each prints is checked against figures computed here
independently: layer and feature counts read with pyogrio, the grid read with rasterio, and
the baseline / custom decisions recomputed by brute force with plain shapely (DESIGN §4).
The notebooks in git carry no outputs, match ``scripts/make_notebooks.py``, and write nothing
into the repository.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pyogrio
import pytest
import rasterio
from brute_force import brute_decisions
from nbclient import NotebookClient

from wlgeo import read_pack

REPO = Path(__file__).resolve().parents[1]
NB_DIR = REPO / "notebooks"
PACK = REPO / "layers" / "wulong.gpkg"
NOTEBOOKS = ("01_layers.ipynb", "02_baseline_plan.ipynb", "03_scenario_review.ipynb", "04_new_sites.ipynb",
             "05_batch_export.ipynb")
CHANGE_ME = "BLAST_DISTANCE_M = 500"


def _execute(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NB_DIR)}})
    client.execute()  # raises CellExecutionError on the first failing cell
    return nb


def _snapshot() -> dict[str, tuple[int, int]]:
    """Every file under notebooks/ and layers/ with its size and mtime."""
    out = {}
    for root in (NB_DIR, REPO / "layers"):
        for path in root.rglob("*"):
            if path.is_file():
                stat = path.stat()
                out[str(path.relative_to(REPO))] = (stat.st_size, stat.st_mtime_ns)
    return out


@pytest.fixture(scope="module")
def executed():
    """Run each notebook once (lazily); check that none writes into the repository."""
    cache: dict[str, nbformat.NotebookNode] = {}
    before = _snapshot()

    def run(name: str) -> nbformat.NotebookNode:
        if name not in cache:
            cache[name] = _execute(nbformat.read(NB_DIR / name, as_version=4))
        return cache[name]

    yield run
    assert _snapshot() == before, "a notebook wrote into notebooks/ or layers/"


def _stdout(nb) -> str:
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs
                   if o.output_type == "stream" and o.get("name") == "stdout")


def _outputs(nb, mime: str) -> list[str]:
    return [o["data"][mime] for c in nb.cells if c.cell_type == "code" for o in c.outputs if mime in o.get("data", {})]


# ------------------------------------------------------------------------------ independent figures
@pytest.fixture(scope="module")
def demo():
    return read_pack(PACK)


# ------------------------------------------------------------------------------ the files in git
def test_notebooks_in_git_are_stripped_and_in_sync():
    assert sorted(p.name for p in NB_DIR.glob("*.ipynb")) == list(NOTEBOOKS)
    for name in NOTEBOOKS:
        nb = nbformat.read(NB_DIR / name, as_version=4)
        nbformat.validate(nb)
        assert nb.metadata.kernelspec.name == "python3"
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, f"{name}: outputs not stripped"
                imports = re.findall(r"^\s*(?:import|from)\s+([\w.]+)", cell.source, re.M)
                assert {i.split(".")[0] for i in imports} <= {"wlgeo", "pandas", "matplotlib", "pathlib", "tempfile",
                                                              "shutil"}, f"{name}: {imports}"
        assert nb.cells[0].cell_type == "markdown" and re.search(r"[\u4e00-\u9fff]", nb.cells[0].source)
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "make_notebooks.py"), "--check"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


# ------------------------------------------------------------------------------ each notebook
def test_01_layers(executed):
    nb = executed("01_layers.ipynb")
    layers = [name for name, _ in pyogrio.list_layers(PACK) if name != "layer_styles"]
    total = sum(pyogrio.read_info(PACK, layer=name)["features"] for name in layers)
    out = _stdout(nb)
    assert f"{len(layers)} layers, {total} features; DEM: wulong.dem.tif" in out
    assert "OK 通过" in out
    assert len(_outputs(nb, "image/png")) == 1  # the quick map


def test_02_baseline_plan(executed, demo):
    nb = executed("02_baseline_plan.ipynb")
    counts = {d: 0 for d in ("close", "expire", "retain", "consolidate")}
    for d in brute_decisions(demo).values():
        counts[d] += 1
    out = _stdout(nb)
    n = pyogrio.read_info(PACK, layer="quarries")["features"]
    assert f"scenario baseline: {n} quarries — " + ", ".join(f"{d} {k}" for d, k in counts.items()) in out
    assert "caps: quarries" in out and "未检查 not checked: nothing" in out
    maps = [h for h in _outputs(nb, "text/html") if "leaflet" in h.lower()]
    assert len(maps) == 1
    assert "武隆区碎石矿山布局规划图 — baseline" in maps[0]
    assert "https://cdn" not in maps[0] and "unpkg.com" not in maps[0]  # Leaflet is inlined


def _changes(text: str) -> dict[str, tuple[str, str]]:
    """``{quarry_id: (decision_a, decision_b)}`` from the change lines of ``Comparison.to_text()``."""
    return {m.group(1): (m.group(2), m.group(3))
            for m in re.finditer(r"^  (\S+) .*: (\w+) → (\w+)$", text, re.M)}


def test_03_scenario_review(executed, demo):
    nb = executed("03_scenario_review.ipynb")
    marked = [c for c in nb.cells if c.cell_type == "code" and CHANGE_ME in c.source]
    assert len(marked) == 1 and "改这个数" in marked[0].source and "CHANGE THIS NUMBER" in marked[0].source
    out = _stdout(nb)
    assert "A = baseline, B = strict" in out
    custom = out.split("A = baseline, B = custom", 1)[1]
    assert "blast_distance_m: 300 → 500" in custom
    base, wide = brute_decisions(demo), brute_decisions(demo, blast=500.0)
    expected = {q: (base[q], wide[q]) for q in base if base[q] != wide[q]}
    assert expected  # the demo pack has settlements between 300 and 500 m of open quarries
    assert _changes(custom) == expected
    assert f"{len(expected)} quarries changed decision" in custom
    maps = [h for h in _outputs(nb, "text/html") if "leaflet" in h.lower()]
    assert len(maps) == 1 and "方案对比 Scenario comparison: baseline → custom" in maps[0]
    assert len(_outputs(nb, "image/png")) == 1  # the two sweeps side by side


def test_03_change_this_number(executed):
    """The reviewer's contract: change the one marked value, re-run, and everything follows."""
    nb = nbformat.read(NB_DIR / "03_scenario_review.ipynb", as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "code" and CHANGE_ME in c.source)
    cell.source = cell.source.replace(CHANGE_ME, "BLAST_DISTANCE_M = 300")  # the baseline value
    out = _stdout(_execute(nb))
    custom = out.split("A = baseline, B = custom", 1)[1]
    assert "the two scenarios have the same parameters" in custom
    assert "0 quarries changed decision" in custom


def test_04_new_sites(executed):
    nb = executed("04_new_sites.ipynb")
    out = _stdout(nb)
    # the siting grid is the DEM's own cells (never resampled), cut to cover the district boundary
    with rasterio.open(PACK.with_suffix(".dem.tif")) as dem:
        t, dem_rows, dem_cols = dem.transform, dem.height, dem.width
    minx, miny, maxx, maxy = pyogrio.read_dataframe(PACK, layer="boundary").total_bounds
    need_rows = math.ceil((t.f - miny) / -t.e) - math.floor((t.f - maxy) / -t.e)
    need_cols = math.ceil((maxx - t.c) / t.a) - math.floor((minx - t.c) / t.a)
    grid = re.search(r"grid (\d+)×(\d+) cells of (\d+) m", out)
    rows, cols, cell = map(int, grid.groups())
    assert cell == t.a
    assert need_rows <= rows <= dem_rows and need_cols <= cols <= dem_cols
    found = re.search(r"(\d+) new site\(s\); the caps and max_new_sites allowed (\d+)", out)
    assert found and 1 <= int(found.group(1)) <= int(found.group(2))
    tables = "".join(_outputs(nb, "text/html"))
    assert "N-01" in tables and "score:" in tables  # the chosen sites with their reasons
    assert len(_outputs(nb, "image/png")) == 4  # suitability, factors, allowed ground, visible range
    # optimal vs greedy: the toy case by hand (0.8 + 0.8 > 0.9), and the demo's optimum never below greedy
    assert "optimal takes [0, 2] = 1.6, gap 0" in out
    opt, gre = map(float, re.search(r"demo: optimal objective ([\d.]+) ≥ greedy ([\d.]+)", out).groups())
    assert opt >= gre > 0
    # visibility: the line-of-sight plan changes some quarries, and compare names the parameter
    changed = int(re.search(r"(\d+) quarries change between the 1000 m corridors and line of sight", out).group(1))
    assert changed >= 1 and "visibility.enabled" in tables


def test_05_batch_export(executed):
    nb = executed("05_batch_export.ipynb")
    out = _stdout(nb)
    quarries = pyogrio.read_info(PACK, layer="quarries")["features"]
    towns = pyogrio.read_info(PACK, layer="towns")["features"]
    assert f"{towns} files, 0 failures; ok=True" in out
    assert f"quarries over all towns: {quarries}" in out
    assert ": OK 通过" in out  # the town file passes validation (no errors)
    work = Path(re.search(r"writing into (\S+)", out).group(1))
    assert not str(work).startswith(str(REPO))
    assert f"removed {work}" in out and not work.exists()
