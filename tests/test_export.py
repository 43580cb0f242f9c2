"""Batch export by town and by decision: counts, clipping, names, validity, failures, CLI."""

from __future__ import annotations

import csv
import datetime as dt
import sqlite3
import xml.etree.ElementTree as ET

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from click.testing import CliRunner
from osgeo_utils.samples import validate_gpkg
from shapely.geometry import LineString, box

from wlgeo import LayerError, OutputError, read_layer
from wlgeo.cli import main
from wlgeo.products.export import UNASSIGNED, export_plan
from wlgeo.io.filenames import safe_filename
from wlgeo.products.geopackage import read_gpkg_metadata, write_geopackage

X0, Y0 = 470_000.0, 3_245_000.0  # in Wulong, EPSG:4545 metres


def _shift(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    frame.geometry = frame.geometry.translate(X0, Y0)
    return frame


def plan_layers() -> dict[str, gpd.GeoDataFrame]:
    # four towns side by side, each 1000 m wide and 1000 m tall
    towns = _shift(
        gpd.GeoDataFrame(
            {"town": ["白马镇", "../x", "a/b", "CON"]},
            geometry=[box(i * 1000, 0, (i + 1) * 1000, 1000) for i in range(4)],
            crs="EPSG:4545",
        )
    )
    quarries = _shift(
        gpd.GeoDataFrame(
            {
                "quarry_id": ["Q-1", "Q-2", "Q-3", "Q-4", "Q-5", "Q-6"],
                "name": ["一号", "二号", None, "四号", "五号", "六号"],
                "capacity": [30.0, 80.0, 12.5, 60.0, 20.0, 45.0],
                "license_end": [dt.date(2027, 5, 1), dt.date(2028, 1, 1), None, dt.date(2029, 12, 31), dt.date(2026, 6, 30), dt.date(2031, 1, 1)],
                "town": ["白马镇", "白马镇", "../x", None, "a/b", None],
                "decision": ["close", "retain", "consolidate", "consolidate", "expire", "retain"],
                "decision_zh": ["关闭退出", "予以保留", "优化整合", "优化整合", "到期退出", "予以保留"],
                "group_id": [None, None, "G-1", "G-1", None, None],
            },
            geometry=[
                box(100, 100, 200, 200),
                box(300, 100, 400, 200),
                box(1100, 100, 1200, 200),
                # no town field: 30 m in town 2 (a/b, x 2000..3000), 70 m in town 3 (CON)
                box(2970, 500, 3070, 600),
                box(2100, 100, 2200, 200),
                # no town field and outside every town
                box(9000, 9000, 9100, 9100),
            ],
            crs="EPSG:4545",
        )
    )
    groups = _shift(
        gpd.GeoDataFrame(
            {"group_id": ["G-1"], "members": ["Q-3;Q-4"], "n_members": [2], "capacity": [72.5]},
            geometry=[box(1100, 100, 1200, 200).union(box(2970, 500, 3070, 600))],
            crs="EPSG:4545",
        )
    )
    new_sites = _shift(
        gpd.GeoDataFrame(
            {"site_id": ["N-1"], "decision": ["new"], "score": [0.8], "capacity": [100.0]},
            geometry=[box(500, 600, 700, 800)],
            crs="EPSG:4545",
        )
    )
    # farmland 400 m tall spanning x 500..1500: 500 m in 白马镇 and 500 m in ../x
    farmland = _shift(gpd.GeoDataFrame(geometry=[box(500, 0, 1500, 400)], crs="EPSG:4545"))
    roads = _shift(
        gpd.GeoDataFrame(
            {"kind": ["national"], "name": ["G319"]},
            geometry=[LineString([(0, 900), (4000, 900)])],
            crs="EPSG:4545",
        )
    )
    return {
        "quarries": quarries,
        "consolidation_groups": groups,
        "new_sites": new_sites,
        "farmland": farmland,
        "roads": roads,
        "towns": towns,
    }


META = {"scenario": {"name": "baseline"}, "wlgeo_version": "0.1.0"}


@pytest.fixture()
def plan_gpkg(tmp_path):
    return write_geopackage(tmp_path / "run" / "plan.gpkg", plan_layers(), metadata=META)


def validator_errors(path) -> list:
    return validate_gpkg.check(str(path), abort_at_first_error=False, warning_as_error=True, myprint=lambda *_: None)


def _index(path) -> list[dict]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM for Excel
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


# ---------------------------------------------------------------------------- by town


def test_by_town_files_counts_and_validity(plan_gpkg, tmp_path):
    out = tmp_path / "towns"
    report = export_plan(plan_gpkg, by="town", out_dir=out)
    assert report.ok and report.failures == []
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(["白马镇.gpkg", "__x.gpkg", "a_b.gpkg", "_CON.gpkg", f"{UNASSIGNED}.gpkg", "index.csv"])
    # every quarry lands in exactly one file
    assert report.total("quarries") == 6
    counts = {f.path.name: f.counts for f in report.files}
    assert counts["白马镇.gpkg"]["quarries"] == 2
    assert counts["__x.gpkg"]["quarries"] == 1
    assert counts["a_b.gpkg"]["quarries"] == 1
    assert counts["_CON.gpkg"]["quarries"] == 1  # 70 m of its 100 m width lie in CON
    assert counts[f"{UNASSIGNED}.gpkg"]["quarries"] == 1
    for item in report.files:
        assert validator_errors(item.path) == [], item.path
        assert pyogrio.read_info(item.path, layer="quarries")["features"] == item.counts["quarries"]
    rows = _index(out / "index.csv")
    assert [r["file"] for r in rows] == [f.path.name for f in report.files]
    assert sum(int(r["quarries"]) for r in rows) == 6
    assert {r["town"] for r in rows} == {"白马镇", "../x", "a/b", "CON", UNASSIGNED}


def test_by_town_groups_follow_members_and_sites_by_place(plan_gpkg, tmp_path):
    report = export_plan(plan_gpkg, by="town", out_dir=tmp_path / "t")
    counts = {f.key: f.counts for f in report.files}
    # G-1 has members in ../x and CON
    assert counts["../x"]["consolidation_groups"] == 1
    assert counts["CON"]["consolidation_groups"] == 1
    assert counts["白马镇"]["consolidation_groups"] == 0
    assert counts["白马镇"]["new_sites"] == 1
    assert sum(c["new_sites"] for c in counts.values()) == 1


def test_context_layers_clipped_to_the_town(plan_gpkg, tmp_path):
    report = export_plan(plan_gpkg, by="town", out_dir=tmp_path / "t")
    paths = {f.key: f.path for f in report.files}
    farm_a = pyogrio.read_dataframe(paths["白马镇"], layer="farmland")
    farm_b = pyogrio.read_dataframe(paths["../x"], layer="farmland")
    assert farm_a.area.sum() == pytest.approx(500 * 400)
    assert farm_b.area.sum() == pytest.approx(500 * 400)
    assert pyogrio.read_info(paths["a/b"], layer="farmland")["features"] == 0
    road = pyogrio.read_dataframe(paths["CON"], layer="roads")
    assert road.length.sum() == pytest.approx(1000)
    towns = pyogrio.read_dataframe(paths["CON"], layer="towns")
    assert towns["town"].tolist() == ["CON"]
    assert towns.area.sum() == pytest.approx(1000 * 1000)


def test_export_carries_styles_and_metadata(plan_gpkg, tmp_path):
    report = export_plan(plan_gpkg, by="town", out_dir=tmp_path / "t")
    path = next(f.path for f in report.files if f.key == "白马镇")
    meta = read_gpkg_metadata(path)
    assert meta["scenario"] == {"name": "baseline"}
    assert meta["export"]["by"] == "town" and meta["export"]["key"] == "白马镇"
    assert len(meta["export"]["source"]["sha256"]) == 64
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT f_table_name, styleQML FROM layer_styles WHERE useAsDefault").fetchall()
    styled = sorted(name for name, _ in rows)
    assert styled == sorted(["quarries", "consolidation_groups", "new_sites", "farmland", "roads", "towns"])
    qml = dict(rows)["quarries"]
    categories = [c.get("label") for c in ET.fromstring(qml.split("\n", 1)[1]).iter("category")]
    assert any("关闭退出" in label for label in categories)


def test_round_trip_same_features_and_decisions(plan_gpkg, tmp_path):
    report = export_plan(plan_gpkg, by="town", out_dir=tmp_path / "t")
    original = plan_layers()["quarries"].set_index("quarry_id")
    seen = []
    for item in report.files:
        back = read_layer(item.path, layer="quarries").set_index("quarry_id")
        for qid, row in back.iterrows():
            seen.append(qid)
            assert row["decision"] == original.loc[qid, "decision"]
            assert row["decision_zh"] == original.loc[qid, "decision_zh"]
            assert row["capacity"] == original.loc[qid, "capacity"]
            expected_end = original.loc[qid, "license_end"]
            if expected_end is None:
                assert pd.isna(row["license_end"])
            else:
                assert row["license_end"].date() == expected_end
            assert back.geometry[qid].equals(original.geometry[qid])
    assert sorted(seen) == sorted(original.index)


# ---------------------------------------------------------------------------- by decision


def test_by_decision(plan_gpkg, tmp_path):
    out = tmp_path / "classes"
    report = export_plan(plan_gpkg, by="decision", out_dir=out)
    assert report.ok
    names = [f.path.name for f in report.files]
    assert names == ["close_关闭退出.gpkg", "expire_到期退出.gpkg", "retain_予以保留.gpkg", "consolidate_优化整合.gpkg", "new_规划新建.gpkg"]
    counts = {f.key.split("_")[0]: f.counts for f in report.files}
    # hand count of the decision column above: close 1, expire 1, retain 2, consolidate 2
    assert {k: c.get("quarries", 0) for k, c in counts.items()} == {"close": 1, "expire": 1, "retain": 2, "consolidate": 2, "new": 0}
    assert counts["consolidate"]["consolidation_groups"] == 1
    assert counts["new"]["new_sites"] == 1
    for item in report.files:
        assert validator_errors(item.path) == []
        if "quarries" in item.counts:
            decisions = set(read_layer(item.path, layer="quarries")["decision"])
            assert decisions == {item.key.split("_")[0]}
    rows = _index(out / "index.csv")
    assert sum(int(r["quarries"]) for r in rows) == 6


def test_layers_option_limits_layers(plan_gpkg, tmp_path):
    report = export_plan(plan_gpkg, by="town", out_dir=tmp_path / "t", layers=["quarries", "roads"])
    for item in report.files:
        assert [n for n, _ in pyogrio.list_layers(item.path) if n != "layer_styles"] == list(item.counts)
        assert set(item.counts) <= {"quarries", "roads"}
    with pytest.raises(LayerError, match="nope"):
        export_plan(plan_gpkg, by="town", out_dir=tmp_path / "u", layers=["quarries", "nope"])


def test_bad_by_refused(plan_gpkg, tmp_path):
    with pytest.raises(LayerError, match="allowed"):
        export_plan(plan_gpkg, by="county", out_dir=tmp_path / "t")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- names and safety


@pytest.mark.parametrize(
    "name, expected",
    [
        ("和顺镇", "和顺镇"),
        ("../x", "__x"),
        ("a/b", "a_b"),
        ("a\\b", "a_b"),
        ("..", "_"),
        ("", "unnamed"),
        (None, "unnamed"),
        ("   ", "unnamed"),
        ("CON", "_CON"),
        ("con", "_con"),
        ("nul.txt", "_nul.txt"),
        ("LPT1", "_LPT1"),
        ("COM9", "_COM9"),
        ("CONSOLE", "CONSOLE"),
        ("x:y*z?", "x_y_z_"),
        ("tab\tnew\nline", "tab_new_line"),
        (".hidden", "hidden"),
    ],
)
def test_safe_filename(name, expected):
    assert safe_filename(name) == expected


def test_safe_filename_length_keeps_whole_characters():
    stem = safe_filename("镇" * 100)  # 300 UTF-8 bytes
    assert len(stem.encode("utf-8")) <= 120
    assert set(stem) == {"镇"}


def test_nothing_written_outside_out_dir(plan_gpkg, tmp_path):
    out = tmp_path / "deep" / "out"
    report = export_plan(plan_gpkg, by="town", out_dir=out)
    for item in report.files:
        assert item.path.resolve().parent == out.resolve()
    assert not (tmp_path / "deep" / "x.gpkg").exists() and not (tmp_path / "deep" / "x").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deep", "run"]


def test_existing_outputs_refused_without_overwrite(plan_gpkg, tmp_path):
    out = tmp_path / "t"
    first = export_plan(plan_gpkg, by="town", out_dir=out)
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    with pytest.raises(OutputError, match="overwrite"):
        export_plan(plan_gpkg, by="town", out_dir=out)
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before
    again = export_plan(plan_gpkg, by="town", out_dir=out, overwrite=True)
    assert again.ok and len(again.files) == len(first.files)


def test_one_failure_leaves_the_others_whole(plan_gpkg, tmp_path):
    out = tmp_path / "t"
    out.mkdir()
    (out / "a_b.gpkg").mkdir()  # a directory where one output should go: that output fails
    report = export_plan(plan_gpkg, by="town", out_dir=out, overwrite=True)
    assert not report.ok
    assert [f.key for f in report.failures] == ["a/b"]
    assert "directory" in report.failures[0].error
    assert len(report.files) == 4
    for item in report.files:
        assert validator_errors(item.path) == []
    rows = _index(out / "index.csv")
    assert "a_b.gpkg" not in {r["file"] for r in rows}
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary files left


# ---------------------------------------------------------------------------- CLI


def test_cli_export(plan_gpkg, tmp_path):
    out = tmp_path / "cli"
    result = CliRunner().invoke(main, ["export", str(plan_gpkg), "--by", "decision", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "close_关闭退出.gpkg" in result.output
    assert (out / "index.csv").exists()
    again = CliRunner().invoke(main, ["export", str(plan_gpkg), "--by", "decision", "--out", str(out)])
    assert again.exit_code == 2
    assert "overwrite" in again.output


def test_cli_export_failure_exit_code(plan_gpkg, tmp_path):
    out = tmp_path / "cli"
    out.mkdir()
    (out / "白马镇.gpkg").mkdir()
    result = CliRunner().invoke(main, ["export", str(plan_gpkg), "--by", "town", "--out", str(out), "--overwrite", "--layers", "quarries"])
    assert result.exit_code == 1
    assert "白马镇" in result.output and "1 of 5 outputs failed" in result.output
    assert (out / "__x.gpkg").is_file()
