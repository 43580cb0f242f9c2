"""The demo's printed sheets to a cartographer's eye: every town name and quarry id placed, no
label over another or over the frame (measured from matplotlib's rendered text extents), a
ratio scale, a Chinese title, the synthetic-data note, legend symbols drawn as on the map."""

from __future__ import annotations

import re
from itertools import combinations

import numpy as np
import pytest
from matplotlib.patches import PathPatch
from matplotlib.colors import to_hex

import wlgeo
from wlgeo.engine.towns import assign_towns
from wlgeo.products.labels import LABEL_GID
from wlgeo.runs.demo import demo_pack_path
from wlgeo.products.sheet import sheet_figure
from wlgeo.products.style import LAYER_SYMBOLS, ROAD_KIND_SYMBOLS, is_synthetic


@pytest.fixture(scope="module")
def demo():
    pack = wlgeo.read_pack(demo_pack_path())
    return wlgeo.plan(pack, wlgeo.Scenario.preset("baseline")), pack


def _labels(fig):
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    texts = [t for t in ax.texts if t.get_gid() == LABEL_GID]
    return ax, [(t.get_text(), t.get_window_extent(renderer)) for t in texts], ax.get_window_extent(renderer)


def _check_layout(boxes, frame):
    for text, box in boxes:
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1, text
    for (ta, a), (tb, b) in combinations(boxes, 2):
        overlap = a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1
        assert not overlap, (ta, tb)


def test_district_sheet_names_every_town_without_overlap(demo):
    result, pack = demo
    fig = sheet_figure(result, pack, dpi=100)
    _, boxes, frame = _labels(fig)
    names = [t for t, _ in boxes]
    towns = sorted(pack["towns"]["town"])
    assert len(towns) == 26
    assert sorted(n for n in names if n in towns) == towns  # all 26, each once
    for other in ("白马港", "长坝绿色建材产业园"):  # ports and parks are labelled too
        assert other in names
    _check_layout(boxes, frame)
    assert fig.texts[0].get_text() == "武隆区碎石矿山布局规划图 — 基准方案"  # title_zh, no English suffix
    figure_texts = [t.get_text() for t in fig.texts]
    assert "示意数据 Synthetic data" in figure_texts
    ratio = [t.get_text() for t in fig.axes[0].texts if re.fullmatch(r"1:\d{1,3}( \d{3})*", t.get_text())]
    assert len(ratio) == 1
    # the ratio matches the drawn frame: ground metres across / paper metres across
    x0, x1 = fig.axes[0].get_xlim()
    width_m = fig.axes[0].get_position().width * fig.get_figwidth() * 0.0254
    assert int(ratio[0][2:].replace(" ", "")) == pytest.approx((x1 - x0) / width_m, rel=1e-6)


def test_every_quarry_id_on_its_town_sheet(demo):
    result, pack = demo
    towns = pack["towns"]
    placed_by = assign_towns(result.quarries, towns)[0]
    seen = 0
    for town in towns["town"]:
        ids = sorted(result.quarries.loc[(placed_by == town).to_numpy(), "quarry_id"].astype(str))
        fig = sheet_figure(result, pack, town=town, dpi=100)
        _, boxes, frame = _labels(fig)
        names = [t for t, _ in boxes]
        assert sorted(n for n in names if n in ids) == ids, town
        _check_layout(boxes, frame)
        seen += len(ids)
    assert seen == 150  # every demo quarry got its id on its town's sheet


def test_legend_draws_roads_and_outlines_as_the_map(demo):
    result, pack = demo
    fig = sheet_figure(result, pack, town="白马镇", dpi=100, labels=False)
    legend = fig.legends[0]
    handles = dict(zip([t.get_text() for t in legend.get_texts()], legend.legend_handles))
    # the town outline of the sheet: the same colour and width in the legend as on the map
    focus = handles["本乡镇界 Town boundary"]
    drawn = [p for p in fig.axes[0].patches if isinstance(p, PathPatch) and p.get_zorder() == 95]
    assert len(drawn) == 1
    assert to_hex(focus.get_edgecolor()) == to_hex(drawn[0].get_edgecolor()) == "#222222"
    assert focus.get_linewidth() == pytest.approx(drawn[0].get_linewidth())
    assert focus.get_linestyle() == drawn[0].get_linestyle() and focus.get_linestyle() in ("-", "solid")
    # railway: a black line under white dashes; boundary: purple dash-dot; expressway ≠ national
    lines = [p for p in fig.axes[0].patches if isinstance(p, PathPatch) and not p.get_fill()]
    colours = {to_hex(p.get_edgecolor()) for p in lines}
    assert {"#212121", "#ffffff", "#8d2b0b", "#ff9800", "#d32f2f", "#fbc02d"} <= colours
    railway = ROAD_KIND_SYMBOLS["railway"]
    assert railway.inner == "#ffffff" and railway.inner_dash and railway.stroke == "#212121"
    boundary = LAYER_SYMBOLS["boundary"]
    assert boundary.stroke == "#6a1b9a" and len(boundary.dash) == 4  # dash, gap, dot, gap
    national = ROAD_KIND_SYMBOLS["national"].stroke
    expressway = ROAD_KIND_SYMBOLS["expressway"]
    rgb = lambda c: np.array([int(c[i:i + 2], 16) for i in (1, 3, 5)])  # noqa: E731
    assert np.abs(rgb(national) - rgb(expressway.inner)).max() > 80 and expressway.inner


def test_synthetic_flag():
    pack = wlgeo.read_pack(demo_pack_path())
    assert is_synthetic(pack)
    real = wlgeo.LayerPack({"boundary": pack["boundary"]})  # the demo's boundary is real (cnmaps)
    assert not is_synthetic(real)
    flagged = wlgeo.LayerPack({"boundary": pack["boundary"]})
    flagged.synthetic = True  # a catalog's top-level `synthetic = true`
    assert is_synthetic(flagged)
