#!/usr/bin/env python
"""Write the scenario-review notebooks ``notebooks/*.ipynb`` (outputs stripped) from one source.

The notebooks are generated so they stay in sync with each other and with the library; edit the
cells here, then run::

    python scripts/make_notebooks.py            # rewrite notebooks/*.ipynb
    python scripts/make_notebooks.py --check    # exit 1 if a notebook differs from this script

Each notebook runs on the bundled demo pack (``layers/wulong.gpkg``) with no network, imports
only ``wlgeo`` (plus pandas/matplotlib for display), and writes only into a temporary directory.
``tests/test_notebooks.py`` executes every one of them top to bottom.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"

SETUP = '''\
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

import wlgeo
from wlgeo.products.fonts import cjk_font

PACK = Path("../layers/wulong.gpkg")  # the bundled demo pack (run from notebooks/)
plt.rcParams["font.family"] = [cjk_font().name, "DejaVu Sans"]  # Chinese labels without tofu
pd.set_option("display.max_colwidth", 120)'''


def _nb(cells: list[tuple[str, str]]) -> nbformat.NotebookNode:
    nb = new_notebook()
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    for i, (kind, text) in enumerate(cells):
        cell = new_markdown_cell(text) if kind == "md" else new_code_cell(text)
        cell["id"] = f"c{i:02d}"  # stable ids: regenerating gives the same file
        nb.cells.append(cell)
    return nb


NOTEBOOKS: dict[str, list[tuple[str, str]]] = {}

NOTEBOOKS["01_layers.ipynb"] = [
    ("md", "# 01 图层包 The layer pack\n\n"
           "What is in the pack, is it valid, and where is everything? — 图层包里有什么、是否合格、都在哪里？"),
    ("code", SETUP),
    ("code", "pack = wlgeo.read_pack(PACK)\npack"),
    ("md", "## 图层与要素数 Layers and feature counts"),
    ("code", '''\
from wlgeo.model.schema import LAYERS

layers = pd.DataFrame(
    [
        {
            "图层 layer": name,
            "中文": LAYERS[name].alias_zh if name in LAYERS else "",
            "要素数 features": len(frame),
            "几何 geometry": ", ".join(sorted(frame.geom_type.dropna().unique())),
            "坐标系 CRS": frame.crs.to_string() if frame.crs is not None else "—",
        }
        for name, frame in pack.layers.items()
    ]
)
print(f"{len(layers)} layers, {layers['要素数 features'].sum()} features; DEM: {pack.dem.name if pack.dem else 'none'}")
layers'''),
    ("md", "## 校验报告 Validation report\n\nEvery problem at once — 一次列出全部问题。"),
    ("code", '''\
report = wlgeo.check_pack(PACK)
print(report.to_text())
report.to_frame()'''),
    ("md", "## 快速地图 Quick map"),
    ("code", '''\
from wlgeo.products.style import LAYER_SYMBOLS, QUARRY_SYMBOL

fig, ax = plt.subplots(figsize=(8, 8))
for name in ("towns", "red_line", "farmland", "protected_areas", "rivers", "roads", "parks", "settlements", "boundary"):
    if name not in pack:
        continue
    s = LAYER_SYMBOLS[name]
    frame = pack[name]
    if s.geometry == "polygon":
        frame.plot(ax=ax, facecolor=s.fill or "none", edgecolor=s.stroke, alpha=max(s.fill_opacity, 0.4) if s.fill else 1,
                   linewidth=s.width)
    else:
        frame.plot(ax=ax, color=s.stroke, linewidth=s.width, markersize=s.marker_size)
quarries = pack["quarries"]
quarries.centroid.plot(ax=ax, marker="^", color=QUARRY_SYMBOL.stroke, markersize=18)  # too small to see as polygons
ax.set_title(f"武隆区图层包 Wulong layer pack (EPSG:4545); ▲ {len(quarries)} 碎石矿山 quarries")
ax.set_axis_off()'''),
]

NOTEBOOKS["02_baseline_plan.ipynb"] = [
    ("md", "# 02 基准方案 The baseline plan\n\n"
           "Which quarries close, expire, stay or merge under the baseline rules, and why? "
           "— 基准规则下每个矿山关闭、到期退出、保留还是整合，理由是什么？"),
    ("code", SETUP),
    ("code", '''\
pack = wlgeo.read_pack(PACK)
result = wlgeo.plan(pack, "baseline")
print(result.to_text())'''),
    ("md", "## 决策与理由 Decisions with their reasons\n\n"
           "`reasons` lists every rule that fired, with its figure (m, m², 万吨/年)."),
    ("code", '''\
columns = ["quarry_id", "name", "town", "capacity", "decision", "decision_zh", "reasons", "group_id"]
result.quarries[columns].sort_values(["decision", "quarry_id"])'''),
    ("code", '''\
pd.Series(result.counts(), name="quarries").rename_axis("decision").to_frame()'''),
    ("md", "## 汇总 Summary by town\n\nCounts and capacity (万吨/年) by decision × town, before and after the plan."),
    ("code", "result.summary"),
    ("md", "## 总量控制 Caps"),
    ("code", '''\
print(result.caps.to_text())
result.caps.to_frame()'''),
    ("code", '''\
print("未检查 not checked:", result.not_checked or "nothing — every rule had its layer")
for note in result.notes:
    print("note:", note)'''),
    ("md", "## 地图 The map\n\nSelf-contained (Leaflet inlined): it draws with no internet. Click a quarry for its reasons."),
    ("code", "wlgeo.folium_map(result, pack)"),
]

NOTEBOOKS["03_scenario_review.ipynb"] = [
    ("md", "# 03 方案比选 Scenario review\n\n"
           "If a distance or a cap changes, which quarries change class, and why? "
           "— 距离或上限变了，哪些矿山的决策随之改变，原因是什么？"),
    ("code", SETUP),
    ("code", '''\
pack = wlgeo.read_pack(PACK)
baseline = wlgeo.plan(pack, "baseline")
strict = wlgeo.plan(pack, "strict")
print(baseline.to_text())
print()
print(strict.to_text())'''),
    ("md", "## 基准 vs 从严 Baseline vs strict"),
    ("code", '''\
c = wlgeo.compare(baseline, strict)
print(c.to_text().split("quarries changed decision")[0] + "quarries changed decision")'''),
    ("code", "c.transitions().to_frame()"),
    ("code", "c.changes"),
    ("code", '''\
c.by_town("count_change")  # change in the number of quarries per town and class (B − A)'''),
    ("md", "## ✏️ 改这个数 Change this number\n\n"
           "Set the blast distance (爆破安全距离, m) for a custom scenario, then re-run the notebook "
           "(Run All). Everything below follows from it."),
    ("code", '''\
# ✏️ 改这个数 CHANGE THIS NUMBER, then Run All
BLAST_DISTANCE_M = 500'''),
    ("code", '''\
custom_scenario = baseline.scenario.replace(name="custom", blast_distance_m=BLAST_DISTANCE_M)
custom = wlgeo.plan(pack, custom_scenario)
review = wlgeo.compare(baseline, custom)
print(review.to_text())'''),
    ("code", '''\
review.changes[["quarry_id", "name", "town", "capacity", "decision_a", "decision_b", "cause"]]'''),
    ("md", "## 变化地图 Diff map\n\nOutline = baseline decision, fill = custom decision; unchanged quarries are faint. "
           "Popups show both decisions and both sets of reasons."),
    ("code", "wlgeo.diff_map(baseline, custom, pack)"),
    ("md", "## 参数扫描 Sweeps\n\nOne parameter at a time; the dotted red line is the cap on the number of mines."),
    ("code", '''\
blast = wlgeo.sweep(pack, "baseline", "blast_distance_m", range(200, 501, 50))
small = wlgeo.sweep(pack, "baseline", "min_capacity", [30, 40, 50, 60, 80, 100])
blast[["blast_distance_m", "close", "expire", "retain", "consolidate", "after", "after_capacity", "caps_met"]]'''),
    ("code", '''\
fig, axes = plt.subplots(1, 2, figsize=(13, 4.5))
wlgeo.plot_sweep(blast, ax=axes[0])
wlgeo.plot_sweep(small, ax=axes[1])
fig.tight_layout()'''),
]

NOTEBOOKS["04_new_sites.ipynb"] = [
    ("md", "# 04 规划新建 New sites\n\n"
           "Where could new quarries go, how good is the ground, and why were these sites chosen? "
           "— 新建矿山可以布置在哪里、各处适宜性如何、为什么选这几处？"),
    ("code", SETUP),
    ("code", '''\
pack = wlgeo.read_pack(PACK)
result = wlgeo.plan(pack, "baseline")  # sites=True is the default
siting = result.siting
grid = siting.grid
minx, miny, maxx, maxy = grid.bounds
extent = (minx, maxx, miny, maxy)
print(f"grid {grid.shape[0]}×{grid.shape[1]} cells of {grid.cell_x:g} m; {int(siting.mask.sum())} cells allowed")
print("weights:", {k: round(v, 3) for k, v in siting.weights.items()})
for note in siting.notes:
    print("note:", note)'''),
    ("md", "## 适宜性 Suitability\n\nWeighted sum of the factors, blank where a site may not go."),
    ("code", '''\
fig, ax = plt.subplots(figsize=(9, 8))
image = ax.imshow(siting.suitability, extent=extent, cmap="viridis", vmin=0, vmax=1)
pack["boundary"].boundary.plot(ax=ax, color="black", linewidth=1)
result.new_sites.boundary.plot(ax=ax, color="#d50000", linewidth=2)
for _, site in result.new_sites.iterrows():
    x, y = site.geometry.centroid.coords[0]
    ax.annotate(site["site_id"], (x, y), xytext=(6, 6), textcoords="offset points", color="#d50000")
fig.colorbar(image, ax=ax, shrink=0.7, label="适宜性 Suitability (0–1)")
ax.set_title("新建矿山适宜性 Suitability for new quarries (red: chosen sites)")
ax.set_axis_off()'''),
    ("md", "## 因子 Factors\n\nEach factor is scored 0–1 (1 = best: flat, near roads, parks and ports)."),
    ("code", '''\
labels = {"slope": "坡度 Slope", "roads": "道路 Roads", "railway": "铁路 Railway",
          "parks": "园区 Parks", "ports": "港口 Ports"}
names = list(siting.factors)
fig, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 4))
for ax, name in zip(axes, names):
    ax.imshow(siting.factors[name], extent=extent, cmap="magma", vmin=0, vmax=1)
    weight = siting.weights.get(name, 0.0)
    ax.set_title(f"{labels.get(name, name)} (w={weight:.2f})")
    ax.set_axis_off()
fig.tight_layout()'''),
    ("md", "## 排除范围 Where sites may not go\n\nArea each constraint excludes (km²; a cell can be excluded by several)."),
    ("code", '''\
excluded = pd.Series({name: mask.sum() * grid.cell_area / 1e6 for name, mask in siting.mask_layers.items()},
                     name="km²").sort_values(ascending=False)
fig, axes = plt.subplots(1, 2, figsize=(13, 5))
axes[0].imshow(siting.mask, extent=extent, cmap="Greens")
axes[0].set_title("可选址范围 Allowed ground")
axes[0].set_axis_off()
excluded.plot.barh(ax=axes[1])
axes[1].set_xlabel("排除面积 Area excluded (km²)")
fig.tight_layout()
excluded.round(1).to_frame()'''),
    ("md", "## 选定的新建矿山及理由 The chosen sites and their reasons"),
    ("code", '''\
print(f"{len(result.new_sites)} new site(s); the caps and max_new_sites allowed {siting.limit}")
result.new_sites[["site_id", "score", "capacity", "area_m2", "slope_deg", "road_m", "park_m", "port_m", "town", "reasons"]]'''),
    ("md", "## 最优选址与贪心选址 Optimal vs greedy selection\n\n"
           "Greedy takes the best block, blocks its neighbourhood, and repeats; it can miss a better set. "
           "The default `siting.selection = \"optimal\"` solves an integer programme over the candidate blocks "
           "(HiGHS): the largest total score under the spacing rule and the caps, with its optimality gap "
           "(0 = proven optimal) and greedy's total beside it. A toy case first: a block scoring 0.9 between two "
           "scoring 0.8, the spacing forbidding the middle with either neighbour. "
           "— 贪心法逐个取最优地块，可能错过更好的组合；最优法以整数规划求总分最高的组合，并给出最优性差距。"),
    ("code", '''\
from wlgeo.engine.siting.optimal import Caps, solve_selection

toy = solve_selection([0.8, 0.9, 0.8], ([0, 1], [1, 2]), Caps(max_sites=5))  # conflicts: 0–1 and 1–2
print(f"toy: greedy takes the middle (0.9); optimal takes {toy.chosen.tolist()} = {toy.objective:.1f}, gap {toy.gap:g}")

greedy = wlgeo.plan(pack, result.scenario.replace(name="greedy", **{"siting.selection": "greedy"}))
chosen = pd.DataFrame([greedy.siting.selection.to_dict(), siting.selection.to_dict()], index=["greedy", "optimal"])
print(f"demo: optimal objective {siting.selection.objective:.4f} ≥ greedy {greedy.siting.selection.objective:.4f}")
chosen[["objective", "gap", "greedy_objective", "status", "candidates", "conflicts", "seconds"]]'''),
    ("md", "## 三区两线：看得见才算 Visible range by line of sight\n\n"
           "The rule's words are 直观可视范围. With `[visibility] enabled = true` a quarry expires when some part of it "
           "(a 20 m face) can be seen from a trunk line or the main river within 3 km, by line of sight on the DEM, "
           "instead of lying within the fixed 1000 m corridor; new sites are kept out of the viewshed. The demo DEM "
           "has 100 m cells, so this runs in seconds. "
           "— 以视线通视判定可视范围，替代固定 1000 m 缓冲区。"),
    ("code", '''\
sight = wlgeo.plan(pack, result.scenario.replace(name="visibility", **{"visibility.enabled": True}))
print(f"sight lines: {sight.visibility['sight_lines']}, targets: {sight.visibility['targets']}")
for kind in ("trunk_line", "main_river"):
    print(kind, sight.visibility[kind])
comparison = wlgeo.compare(result, sight)
print(f"{len(comparison.changes)} quarries change between the 1000 m corridors and line of sight")
print(comparison.transitions().to_string())
comparison.changes[["quarry_id", "name", "decision_a", "decision_b", "cause"]]'''),
    ("code", '''\
from matplotlib.colors import ListedColormap

fig, ax = plt.subplots(figsize=(9, 8))
seen = sight.siting.mask_layers["visible_range"]
ax.imshow(sight.siting.mask, extent=extent, cmap=ListedColormap([(0, 0, 0, 0), "#c8e6c9"]), vmin=0, vmax=1)
ax.imshow(seen, extent=extent, cmap=ListedColormap([(0, 0, 0, 0), "#ff9800"]), vmin=0, vmax=1)
pack["boundary"].boundary.plot(ax=ax, color="black", linewidth=1)
roads = pack["roads"]
roads[roads["kind"].isin(result.scenario.trunk_kinds)].plot(ax=ax, color="#333333", linewidth=1.5)
pack["rivers"].plot(ax=ax, color="#1565c0", linewidth=1.5)
changed = sight.quarries[sight.quarries["quarry_id"].isin(comparison.changes["quarry_id"])]
changed.boundary.plot(ax=ax, color="#6a1b9a", linewidth=3)
sight.new_sites.boundary.plot(ax=ax, color="#d50000", linewidth=2)
ax.set_title("可视范围 Candidate ground seen from trunk lines / main river (orange; green: still allowed); "
             "purple: quarries that change; red: new sites", fontsize=9)
ax.set_axis_off()'''),
]

NOTEBOOKS["05_batch_export.ipynb"] = [
    ("md", "# 05 批量输出 Batch run and export\n\n"
           "Run the whole plan, send each town its own GeoPackage, and check what was written. "
           "— 运行完整方案，按乡镇分发 GeoPackage，并检查输出。\n\n"
           "Everything is written into a temporary directory, never into the repository."),
    ("code", SETUP + '''
import tempfile

work = Path(tempfile.mkdtemp(prefix="wlgeo-notebook-"))
print("writing into", work)'''),
    ("code", '''\
run_dir = wlgeo.run(PACK, scenario="baseline", out_dir=work / "run")
pd.DataFrame([{"file": p.name, "KB": round(p.stat().st_size / 1024, 1)} for p in sorted(run_dir.iterdir())])'''),
    ("md", "## 按乡镇输出 One GeoPackage per town"),
    ("code", '''\
export = wlgeo.export_plan(run_dir / "plan.gpkg", by="town", out_dir=work / "towns")
print(f"{len(export.files)} files, {len(export.failures)} failures; ok={export.ok}")
for note in export.notes:
    print("note:", note)'''),
    ("md", "## 读回索引 Read back `index.csv`"),
    ("code", '''\
index = pd.read_csv(export.index, encoding="utf-8-sig")
print("quarries over all towns:", index["quarries"].sum())
index'''),
    ("md", "## 校验一个文件 Validate one file\n\nThe town file with the most quarries, checked as a layer pack, "
           "with the metadata the export wrote. Its plan layers (`new_sites`, `consolidation_groups`) and the QGIS "
           "`layer_styles` table are not input layers, so the check lists them as ignored — that is expected."),
    ("code", '''\
biggest = max(export.files, key=lambda f: f.counts.get("quarries", 0))
print(biggest.path.name, biggest.counts)
check = wlgeo.check_pack(biggest.path)
print(check.to_text())
meta = wlgeo.read_gpkg_metadata(biggest.path)
print("export metadata:", {k: meta["export"][k] for k in ("by", "key")})'''),
    ("code", '''\
town = wlgeo.read_layer(biggest.path, layer="quarries")
town[["quarry_id", "name", "town", "decision", "reasons"]]'''),
    ("md", "## 清理 Clean up\n\nComment this out to keep the files for QGIS."),
    ("code", '''\
import shutil

shutil.rmtree(work)
print("removed", work)'''),
]


def build() -> dict[str, str]:
    """Notebook file name → its JSON text (outputs empty)."""
    return {name: nbformat.writes(_nb(cells)) + "\n" for name, cells in NOTEBOOKS.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="report notebooks that differ; write nothing")
    args = parser.parse_args(argv)
    stale = []
    for name, text in build().items():
        path = NOTEBOOK_DIR / name
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
            continue
        NOTEBOOK_DIR.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
    if stale:
        print("out of date (run scripts/make_notebooks.py):", ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
