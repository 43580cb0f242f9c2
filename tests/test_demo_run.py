"""`wlgeo demo` end to end on the bundled Wulong pack, checked the way a planner would.

The decisions are recomputed here by brute force with plain geopandas/shapely (no wlgeo
overlay, classify or siting code): unions and pairwise distances over all 150 quarries.
The outputs are checked with the real tools: GDAL's GeoPackage validator and headless Chromium.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import shapely
from osgeo_utils.samples import validate_gpkg
from PIL import Image

from brute_force import brute_decisions
from browser import Chromium

import wlgeo
from wlgeo import read_layer, read_pack



@pytest.fixture(scope="module")
def demo_out(tmp_path_factory, demo_pack_path):
    out = tmp_path_factory.mktemp("demo") / "out"
    done = subprocess.run(
        [sys.executable, "-m", "wlgeo.cli", "demo", "--out", str(out)], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return out, done.stdout


@pytest.fixture(scope="module")
def pack(demo_pack_path):
    return read_pack(demo_pack_path)


def test_demo_decisions_match_brute_force(demo_out, pack):
    out, _ = demo_out
    got = read_layer(out / "plan.gpkg", layer="quarries")
    expected = brute_decisions(pack)
    assert dict(zip(got["quarry_id"], got["decision"])) == expected
    assert set(got["decision"]) == {"close", "expire", "retain", "consolidate"}
    exiting = got[got["decision"] != "retain"]
    assert exiting["reasons"].fillna("").str.len().gt(0).all()  # every exit or merge says why


def test_demo_caps_line_adds_up(demo_out):
    out, stdout = demo_out
    q = read_layer(out / "plan.gpkg", layer="quarries")
    groups = read_layer(out / "plan.gpkg", layer="consolidation_groups")
    sites = read_layer(out / "plan.gpkg", layer="new_sites")
    retained = q[q["decision"] == "retain"]
    consolidated = q[q["decision"] == "consolidate"]
    mines_after = len(retained) + len(groups) + len(sites)
    capacity_after = retained["capacity"].sum() + consolidated["capacity"].sum() + sites["capacity"].sum()
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    caps = manifest["caps"]
    assert caps["quarries_after"] == mines_after
    assert caps["capacity_after"] == pytest.approx(capacity_after)
    assert f"quarries {mines_after} ≤ 50" in stdout
    assert groups["capacity"].sum() == pytest.approx(consolidated["capacity"].sum())


def test_demo_new_sites_clear_every_constraint(demo_out, pack):
    out, _ = demo_out
    sites = read_layer(out / "plan.gpkg", layer="new_sites")
    # 43 mines kept leave room for 7 under the cap of 50, and 917 万吨/年 for 9 sites of 100:
    # max_new_sites = 5 is what binds
    assert len(sites) == 5
    assert (sites["decision"] == "new").all() and (sites["decision_zh"] == "规划新建").all()
    geoms = np.asarray(sites.geometry.values)
    for name in ("red_line", "farmland", "protected_areas"):
        union = shapely.union_all(pack[name].geometry.values)
        assert not shapely.intersects(geoms, union).any(), name
    settlements = shapely.union_all(pack["settlements"].geometry.values)
    assert (shapely.distance(geoms, settlements) > 300).all()
    roads = pack["roads"]
    trunk = shapely.union_all(roads[roads["kind"].isin(["expressway", "railway", "national"])].geometry.values)
    assert (shapely.distance(geoms, trunk) > 1000).all()
    zones = pack["resource_zones"]
    limestone = shapely.union_all(zones[zones["mineral"].str.contains("灰岩")].geometry.values)
    assert shapely.covered_by(geoms, shapely.buffer(limestone, 0.01)).all()
    assert (shapely.area(geoms) >= 100_000 - 1e-6).all()
    pairwise = shapely.distance(geoms[:, None], geoms[None, :])
    np.fill_diagonal(pairwise, np.inf)
    assert pairwise.min() >= 1000
    q = read_layer(out / "plan.gpkg", layer="quarries")
    kept = shapely.union_all(q[q["decision"].isin(["retain", "consolidate"])].geometry.values)
    assert (shapely.distance(geoms, kept) >= 1000).all()
    assert sites["reasons"].str.startswith("score:").all()


def test_demo_plan_gpkg_is_valid(demo_out):
    out, _ = demo_out
    errors = validate_gpkg.check(str(out / "plan.gpkg"), abort_at_first_error=False, warning_as_error=True,
                                 myprint=lambda *_: None)
    assert errors == []


def test_demo_map_draws_offline(demo_out, pack):
    out, _ = demo_out
    q = read_layer(out / "plan.gpkg", layer="quarries")
    with Chromium() as browser:
        browser.open(out / "map.html")
        browser.wait_for("window.wlgeoDrawn !== undefined")
        counts = browser.evaluate("window.wlgeoCounts")
        assert browser.console_errors == [] and browser.page_errors == [] and browser.blocked == []
    for decision, n in q["decision"].value_counts().items():
        assert counts[f"decision:{decision}"] == n
    assert counts["context:towns"] == len(pack["towns"]) == 26


def test_demo_sheet_is_a3_at_300_dpi(demo_out):
    out, _ = demo_out
    with Image.open(out / "sheet.png") as image:
        assert image.size == (4960, 3507)
        colours = np.asarray(image.convert("RGB").resize((992, 701)))
    assert len(np.unique(colours.reshape(-1, 3), axis=0)) > 50  # not blank
    assert (out / "sheet.pdf").read_bytes()[:5] == b"%PDF-"


def test_demo_manifest_reports_the_optimal_selection(demo_out, demo_pack_path):
    out, _ = demo_out
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    siting = manifest["siting"]
    assert siting["selection"] == "optimal" and siting["status"] == "optimal" and siting["gap"] == 0.0
    sites = read_layer(out / "plan.gpkg", layer="new_sites")
    assert siting["objective"] == pytest.approx(sites["score"].sum(), abs=5 * 5e-5)
    # greedy's figure, from a greedy run of the same plan: optimal is never below it
    greedy = wlgeo.plan(demo_pack_path, wlgeo.Scenario.preset("baseline").replace(**{"siting.selection": "greedy"}))
    assert siting["greedy_objective"] == pytest.approx(greedy.new_sites["score"].sum(), abs=5 * 5e-5)
    assert siting["objective"] >= siting["greedy_objective"] - 1e-9
    assert any(n.startswith("siting: optimal selection (optimal)") for n in manifest["notes"])
    assert manifest["visibility"] is None
