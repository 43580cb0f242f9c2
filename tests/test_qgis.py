"""GeoPackages written by wlgeo open styled in real QGIS (Debian's python3-qgis, QGIS 3.22).

``scripts/qgis_check.py`` runs under Debian's ``/usr/bin/python3`` (the QGIS bindings are built
for it, not for the project's Python) and reports, as JSON, what QGIS itself applied: layer
validity, counts, CRS, aliases, the renderer and its categories, the symbol each feature is
drawn with, labels, and a PNG rendered by QGIS's map renderer. ``scripts/setup_test_env.sh``
installs QGIS when it is missing.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from PIL import Image
from shapely.geometry import LineString, box

from wlgeo.products.export import export_plan
from wlgeo.products.geopackage import write_geopackage
from wlgeo.products.style import DECISION_SYMBOLS, LAYER_SYMBOLS, QUARRY_SYMBOL, ROAD_KIND_SYMBOLS

REPO = Path(__file__).resolve().parents[1]
CHECK = REPO / "scripts" / "qgis_check.py"
QGIS_PYTHON = "/usr/bin/python3"
X0, Y0 = 470_000.0, 3_245_000.0  # in Wulong, EPSG:4545 metres

# what a person sees in the QGIS legend, written out by hand
DECISION_LABELS = {
    "close": "关闭退出 Close",
    "expire": "到期退出 Expire at licence end",
    "retain": "予以保留 Retain",
    "consolidate": "优化整合 Consolidate",
    "new": "规划新建 New site",
}


def _frame(data: dict, geometry: list) -> gpd.GeoDataFrame:
    frame = gpd.GeoDataFrame(data, geometry=geometry, crs="EPSG:4545")
    frame.geometry = frame.geometry.translate(X0, Y0)
    return frame


def plan_layers() -> dict[str, gpd.GeoDataFrame]:
    """Four 500 m quarries (one per decision) in a row, a new site, a group, context layers."""
    quarries = _frame(
        {
            "quarry_id": ["Q-1", "Q-2", "Q-3", "Q-4"],
            "name": ["一号采石场", "二号采石场", "三号采石场", "四号采石场"],
            "capacity": [30.0, 80.0, 12.5, 60.0],
            "license_end": [dt.date(2027, 5, 1), dt.date(2028, 1, 1), None, dt.date(2029, 12, 31)],
            "decision": ["close", "expire", "retain", "consolidate"],
            "decision_zh": ["关闭退出", "到期退出", "予以保留", "优化整合"],
            "group_id": [None, None, None, "G-1"],
        },
        [box(i * 1000, 0, i * 1000 + 500, 500) for i in range(4)],
    )
    new_sites = _frame(
        {"site_id": ["N-1"], "decision": ["new"], "capacity": [100.0]},
        [box(0, 1000, 500, 1500)],
    )
    groups = _frame(
        {"group_id": ["G-1"], "members": ["Q-4"], "capacity": [60.0]},
        [box(2950, -50, 3550, 550)],
    )
    farmland = _frame({"source": ["synthetic"]}, [box(2000, 1000, 2500, 1500)])
    roads = _frame(
        {"kind": ["national", "forest_track"], "name": ["G319", "林道"]},
        [LineString([(0, 800), (3500, 800)]), LineString([(0, 1700), (3500, 1700)])],
    )
    towns = _frame({"town": ["白马镇", "江口镇"]}, [box(-100, -100, 1800, 1800), box(1800, -100, 3600, 1800)])
    return {
        "quarries": quarries,
        "new_sites": new_sites,
        "consolidation_groups": groups,
        "farmland": farmland,
        "roads": roads,
        "towns": towns,
    }


def qgis(path: Path, *args: str) -> dict:
    """Run scripts/qgis_check.py in Debian's Python with QGIS; its JSON report."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PYENV", "VIRTUAL_ENV", "QT_"))}
    env.update(QT_QPA_PLATFORM="offscreen", XDG_RUNTIME_DIR=str(path.parent))
    done = subprocess.run(
        [QGIS_PYTHON, str(CHECK), str(path), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, (
        f"qgis_check failed ({done.returncode}); is QGIS installed (bash scripts/setup_test_env.sh)?\n"
        f"{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    )
    return json.loads(done.stdout)


def layers_of(report: dict) -> dict[str, dict]:
    return {layer["name"]: layer for layer in report["layers"]}


def blend(colour: str, opacity: float) -> np.ndarray:
    """A fill of ``colour`` at ``opacity`` over the white background (hand compositing)."""
    rgb = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=float)
    alpha = round(opacity * 255) / 255
    return rgb * alpha + 255 * (1 - alpha)


def pixels_near(image: np.ndarray, rgb: np.ndarray, tolerance: int = 3) -> int:
    return int((np.abs(image.astype(int) - rgb.round().astype(int)) <= tolerance).all(axis=-1).sum())


@pytest.fixture(scope="module")
def plan_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("qgis")
    path = write_geopackage(out / "plan.gpkg", plan_layers(), metadata={"scenario": {"name": "baseline"}})
    report = qgis(path, "--png", str(out / "plan.png"), "--width", "1200")
    return report, out


def test_qgis_is_the_real_thing(plan_report):
    report, _ = plan_report
    assert report["qgis_version"].startswith("3.")
    assert [layer["name"] for layer in report["layers"]] == list(plan_layers())


def test_layers_valid_counts_crs(plan_report):
    layers = layers_of(plan_report[0])
    expected = {name: len(frame) for name, frame in plan_layers().items()}
    for name, count in expected.items():
        assert layers[name]["valid"], name
        assert layers[name]["feature_count"] == count, name
        assert layers[name]["crs"] == "EPSG:4545", name


def test_default_style_applied_on_load(plan_report):
    for name, layer in layers_of(plan_report[0]).items():
        assert layer["style_in_db"]["useAsDefault"] == 1, name
        # QGIS applied it when opening the layer: loading it again changes nothing
        assert layer["style_source"] == "database, on load", name


def test_quarries_categorised_by_decision(plan_report):
    quarries = layers_of(plan_report[0])["quarries"]
    renderer = quarries["renderer"]
    assert renderer["type"] == "categorizedSymbol"
    assert renderer["attr"] == "decision"
    categories = renderer["categories"]
    assert [c["value"] for c in categories] == list(DECISION_LABELS)
    assert {c["value"]: c["label"] for c in categories} == DECISION_LABELS
    for category in categories:
        spec = DECISION_SYMBOLS[category["value"]]
        fill = category["symbol"]["layers"][0]
        assert category["render"] is True
        assert fill["class"] == "SimpleFill"
        assert fill["fillColor"] == {"hex": spec.fill, "alpha": round(spec.fill_opacity * 255)}
        assert fill["strokeColor"]["hex"] == spec.stroke
    # each quarry is drawn with its decision's fill: one of each
    assert quarries["drawn"] == {DECISION_SYMBOLS[d].fill: 1 for d in ("close", "expire", "retain", "consolidate")}


def test_quarry_labels_and_aliases(plan_report):
    quarries = layers_of(plan_report[0])["quarries"]
    labels = quarries["labels"]
    assert labels["enabled"] is True
    assert labels["is_expression"] is True
    assert '"quarry_id"' in labels["expression"] and '"name"' in labels["expression"]
    assert labels["color"]["hex"] == "#212121"
    aliases = {f["name"]: f["alias"] for f in quarries["fields"]}
    assert aliases["quarry_id"] == "矿山编号"
    assert aliases["capacity"] == "生产规模(万吨/年)"
    assert aliases["license_end"] == "采矿许可证有效期止"
    assert aliases["decision"] == "处置方式"
    assert aliases["group_id"] == "整合组"


def test_dates_come_back_as_qdate(plan_report):
    quarries = layers_of(plan_report[0])["quarries"]
    types = {f["name"]: f["type"] for f in quarries["fields"]}
    assert types["license_end"] == "Date"
    first = quarries["first_feature"]
    assert first["quarry_id"]["value"] == "Q-1"
    assert first["license_end"] == {"type": "QDate", "value": "2027-05-01"}


def test_context_layers_have_their_spec_symbols(plan_report):
    layers = layers_of(plan_report[0])
    farmland = layers["farmland"]["renderer"]
    assert farmland["type"] == "singleSymbol"
    spec = LAYER_SYMBOLS["farmland"]
    assert farmland["symbol"]["layers"][0]["fillColor"] == {"hex": spec.fill, "alpha": round(spec.fill_opacity * 255)}

    new_sites = layers["new_sites"]
    assert new_sites["renderer"]["symbol"]["layers"][0]["fillColor"]["hex"] == DECISION_SYMBOLS["new"].fill
    assert new_sites["renderer"]["symbol"]["layers"][1]["customDash"] == list(DECISION_SYMBOLS["new"].dash)

    groups = layers["consolidation_groups"]["renderer"]["symbol"]["layers"]
    assert groups[0]["fillColor"]["alpha"] == 0  # outline only
    assert groups[1]["color"]["hex"] == LAYER_SYMBOLS["consolidation_groups"].stroke

    towns = layers["towns"]
    assert towns["labels"]["enabled"] and towns["labels"]["expression"] == '"town"'
    assert towns["renderer"]["symbol"]["layers"][1]["color"]["hex"] == LAYER_SYMBOLS["towns"].stroke


def test_roads_by_kind_and_other_kinds_still_drawn(plan_report):
    roads = layers_of(plan_report[0])["roads"]
    renderer = roads["renderer"]
    assert renderer["type"] == "categorizedSymbol" and renderer["attr"] == "kind"
    colours = {c["value"]: c["symbol"]["layers"][0]["color"]["hex"] for c in renderer["categories"]}
    assert colours == {**{k: s.stroke for k, s in ROAD_KIND_SYMBOLS.items()}, "": LAYER_SYMBOLS["roads"].stroke}
    # "forest_track" is no road kind: the catch-all category draws it in the plain road colour
    assert roads["drawn"] == {ROAD_KIND_SYMBOLS["national"].stroke: 1, LAYER_SYMBOLS["roads"].stroke: 1}
    assert roads["labels"]["enabled"] and roads["labels"]["expression"] == '"name"'


def test_png_drawn_in_decision_colours(plan_report):
    report, out = plan_report
    png = report["png"]
    assert png["written"] and png["errors"] == []
    # 4 quarries + 1 site + 1 group + 2 roads + 2 towns, all labelled
    assert png["labels_drawn"] == 10
    image = np.asarray(Image.open(out / "plan.png").convert("RGB"))
    assert image.shape[1] == 1200
    white = (image == 255).all(axis=-1).mean()
    assert 0.3 < white < 0.97, f"{white:.1%} white"
    # map scale: the extent is 3700 m + 5 % wide, so a 500 m quarry is ~160 px across (~25 000 px)
    for decision in ("close", "expire", "retain", "consolidate", "new"):
        spec = DECISION_SYMBOLS[decision]
        count = pixels_near(image, blend(spec.fill, spec.fill_opacity))
        assert count > 10_000, f"{decision}: {count} pixels of its fill"
    farmland = LAYER_SYMBOLS["farmland"]
    assert pixels_near(image, blend(farmland.fill, farmland.fill_opacity)) > 10_000


def test_quarries_without_decision_are_drawn(tmp_path):
    quarries = _frame({"quarry_id": ["Q-1", "Q-2"], "name": ["甲", "乙"]}, [box(0, 0, 400, 400), box(1000, 0, 1400, 400)])
    path = write_geopackage(tmp_path / "pack.gpkg", {"quarries": quarries})
    report = qgis(path, "--png", str(tmp_path / "pack.png"))
    layer = layers_of(report)["quarries"]
    assert layer["renderer"]["type"] == "singleSymbol"
    assert layer["drawn"] == {QUARRY_SYMBOL.fill: 2}
    image = np.asarray(Image.open(tmp_path / "pack.png").convert("RGB"))
    assert pixels_near(image, blend(QUARRY_SYMBOL.fill, QUARRY_SYMBOL.fill_opacity)) > 10_000


def test_export_by_decision_opens_styled(tmp_path):
    plan = write_geopackage(tmp_path / "run" / "plan.gpkg", plan_layers())
    report = export_plan(plan, by="decision", out_dir=tmp_path / "by_decision")
    files = {item.key.split("_")[0]: item.path for item in report.files}  # "close_关闭退出"
    assert set(files) >= {"close", "consolidate"}, files
    for key in ("close", "consolidate"):
        layers = layers_of(qgis(files[key]))
        quarries = layers["quarries"]
        assert quarries["valid"] and quarries["feature_count"] == 1
        assert quarries["renderer"]["attr"] == "decision"
        assert [c["label"] for c in quarries["renderer"]["categories"]] == list(DECISION_LABELS.values())
        assert quarries["drawn"] == {DECISION_SYMBOLS[key].fill: 1}
        assert quarries["style_source"] == "database, on load"
        assert {f["name"]: f["alias"] for f in quarries["fields"]}["decision"] == "处置方式"


def test_missing_file_is_an_error(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "QT_"))}
    done = subprocess.run(
        [QGIS_PYTHON, str(CHECK), str(tmp_path / "nope.gpkg")], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 2
    assert "no such file" in json.loads(done.stdout)["error"]
