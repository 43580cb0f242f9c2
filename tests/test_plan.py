"""plan() / run() / summary / caps / diff on the hand-worked pack of tests/plan_fixtures.py.

Hand figures (town of each quarry: its field, else the town polygon holding most of it):

- 甲镇: Q01–Q07 (80 each), Q09 (30), Q10 (120) → 9 quarries, 710 万吨/年. close Q01–Q04, Q07
  (5, 400); expire Q05, Q06 (2, 160); consolidate Q09, Q10 (2, 150); group G02 (Q08+Q09+Q10 =
  250) counts here, its largest member Q10 being in 甲镇 → after 1 mine, 250.
- 乙乡: Q08 (100, by field), Q11 100, Q12 60, Q13 20, Q14 20, Q15 49.5, P1 10, P2 100 → 8, 459.5.
  close Q14 (1, 20); expire Q13, Q15 (2, 69.5); retain Q11, Q12 (2, 160); consolidate Q08, P1,
  P2 (3, 210); group G01 (110) → after 2 + 1 = 3 mines, 160 + 110 = 270.
- total: before 17, 1169.5; after 4 mines, 520.
"""

from __future__ import annotations

import csv
import hashlib
import json

import geopandas as gpd
import openpyxl
import pandas as pd
import pyogrio
import pytest
import shapely

import plan_fixtures as fx
from wlgeo import OutputError, PackError, PlanResult, Scenario, plan, read_layer, run
from wlgeo.review.diff import diff_runs
from wlgeo.model.pack import LayerPack
from wlgeo.engine.summary import TOTAL_ROW, TOWN_COLUMN, quarry_towns
from wlgeo.io.atomic import atomic_write

COUNT = "{} 数量 {} count"
CAP = "{} 产能 {} capacity (万吨/年)"


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def result() -> PlanResult:
    return plan(fx.pack(), sites=False)


@pytest.fixture(scope="module")
def pack_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("pack") / "test_pack.gpkg"
    fx.write_pack(path)
    return path


@pytest.fixture(scope="module")
def wide_toml(tmp_path_factory):
    path = tmp_path_factory.mktemp("scen") / "wide.toml"
    path.write_text('description = "settlements 150 m, small below 65"\nblast_distance_m = 150\nmin_capacity = 65\n',
                    encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def runs(pack_file, wide_toml, tmp_path_factory):
    base = tmp_path_factory.mktemp("runs")
    before = _sha(pack_file), pack_file.stat().st_mtime_ns
    # siting off: these runs check the hand-worked exit rules; new sites are tested on their own
    a = run(pack_file, scenario="baseline", out_dir=base / "a", sites=False)
    b = run(pack_file, scenario=wide_toml, out_dir=base / "b", sites=False)
    return {"a": a, "b": b, "before": before}


# ------------------------------------------------------------------------------ plan()
def test_plan_decisions_and_reasons(result):
    q = result.quarries.set_index("quarry_id", drop=False)
    assert q["decision"].to_dict() == fx.EXPECTED
    assert q.loc["Q03", "reasons"] == "protected:2000m2(world_heritage)"
    assert result.counts() == {"close": 6, "expire": 4, "retain": 2, "consolidate": 5}
    assert list(result.consolidation_groups["group_id"]) == ["G01", "G02"]
    assert result.not_checked == {}


def test_plan_keeps_input_geometry_and_attributes():
    pack = fx.pack()
    before = pack["quarries"].copy()
    out = plan(pack, sites=False).quarries
    pd.testing.assert_frame_equal(pack["quarries"], before)
    for column in before.columns:
        if column != "geometry":
            pd.testing.assert_series_equal(out[column], before[column])
    assert shapely.equals_exact(out.geometry.values, before.geometry.values, tolerance=0).all()


def test_new_sites_empty_with_design_columns(result):
    sites = result.new_sites
    assert len(sites) == 0
    for column in ("site_id", "decision", "score", "capacity", "area_m2", "town", "reasons"):
        assert column in sites.columns
    assert sites.crs.to_epsg() == 4545


def _row(summary: pd.DataFrame, town: str) -> pd.Series:
    return summary.set_index(TOWN_COLUMN).loc[town]


def test_summary_by_town_by_hand(result):
    s = result.summary
    assert list(s[TOWN_COLUMN]) == sorted([fx.TOWN_A, fx.TOWN_B]) + [TOTAL_ROW]
    a, b, t = _row(s, fx.TOWN_A), _row(s, fx.TOWN_B), _row(s, TOTAL_ROW)
    assert (a[COUNT.format("现状", "before")], a[CAP.format("现状", "before")]) == (9, 710.0)
    assert (a[COUNT.format("关闭退出", "close")], a[CAP.format("关闭退出", "close")]) == (5, 400.0)
    assert (a[COUNT.format("到期退出", "expire")], a[CAP.format("到期退出", "expire")]) == (2, 160.0)
    assert (a[COUNT.format("优化整合", "consolidate")], a[CAP.format("优化整合", "consolidate")]) == (2, 150.0)
    assert (a[COUNT.format("整合后矿山", "consolidated mines")], a[CAP.format("整合后矿山", "consolidated mines")]) == (1, 250.0)
    assert (a[COUNT.format("规划后", "after")], a[CAP.format("规划后", "after")]) == (1, 250.0)
    assert (b[COUNT.format("现状", "before")], b[CAP.format("现状", "before")]) == (8, 459.5)
    assert (b[COUNT.format("予以保留", "retain")], b[CAP.format("予以保留", "retain")]) == (2, 160.0)
    assert (b[COUNT.format("到期退出", "expire")], b[CAP.format("到期退出", "expire")]) == (2, 69.5)
    assert (b[COUNT.format("规划后", "after")], b[CAP.format("规划后", "after")]) == (3, 270.0)
    # G02 (Q08 in 乙乡 by its field; Q09, Q10 in 甲镇) spans two towns: each member is counted in its
    # own town's consolidate column, the merged mine once, in the town of its largest member (Q10)
    assert (b[COUNT.format("优化整合", "consolidate")], b[CAP.format("优化整合", "consolidate")]) == (3, 210.0)
    assert (b[COUNT.format("整合后矿山", "consolidated mines")], b[CAP.format("整合后矿山", "consolidated mines")]) == (1, 110.0)
    assert (t[COUNT.format("现状", "before")], t[CAP.format("现状", "before")]) == (17, 1169.5)
    assert (t[COUNT.format("规划后", "after")], t[CAP.format("规划后", "after")]) == (4, 520.0)
    assert (t[COUNT.format("规划新建", "new")], t[CAP.format("规划新建", "new")]) == (0, 0.0)


def test_caps_met_with_margins(result):
    caps = result.caps
    assert (caps.quarries_before, caps.capacity_before) == (17, 1169.5)
    assert (caps.quarries_after, caps.capacity_after) == (4, 520.0)
    assert caps.quarries_margin == 50 - 4 and caps.capacity_margin == 6000 - 520
    assert caps.ok and caps.quarries_ok and caps.capacity_ok


def test_caps_exceeded_by_how_much():
    tight = Scenario(max_quarries=3, max_total_capacity=500)
    caps = plan(fx.pack(), tight).caps
    assert caps.quarries_margin == -1 and caps.capacity_margin == pytest.approx(-20.0)
    assert not caps.ok and caps.quarries_ok is False and caps.capacity_ok is False
    assert "over by 1" in caps.to_text() and "over by 20" in caps.to_text()
    uncapped = plan(fx.pack(), Scenario(max_quarries=None, max_total_capacity=None)).caps
    assert uncapped.ok and uncapped.quarries_margin is None and uncapped.quarries_ok is None


def test_town_by_largest_overlap():
    towns = fx.towns()
    split_x = fx.X0 + 9 * fx.SLOT
    straddling = shapely.box(split_x - 60, fx.Y0, split_x + 140, fx.Y0 + 100)  # 30 % west, 70 % east
    frame = gpd.GeoDataFrame({"town": [None, " ", fx.TOWN_A]},
                             geometry=[straddling, straddling, straddling], crs=fx.CRS)
    placed = quarry_towns(frame, towns)
    assert placed.tolist() == [fx.TOWN_B, fx.TOWN_B, fx.TOWN_A]  # empty text counts as absent; the field wins
    assert placed.attrs["by_overlap"] == 2


def test_absent_layer_listed_as_not_checked_everywhere(tmp_path):
    layers = fx.layers()
    del layers["farmland"]
    result = plan(LayerPack(layers), sites=False)
    assert set(result.not_checked) == {"farmland"}
    q = result.quarries.set_index("quarry_id")
    assert q["farmland_m2"].isna().all()
    assert q.loc["Q02", "decision"] == "retain"  # not closed: farmland was not checked
    assert "not checked: farmland" in result.to_text()


# ------------------------------------------------------------------------------ run()
def test_run_writes_the_outputs_atomically(runs):
    out = runs["a"]
    assert sorted(p.name for p in out.iterdir()) == [
        "caps.csv", "manifest.json", "map.html", "plan.gpkg", "sheet.pdf", "sheet.png", "summary.xlsx",
        "summary_towns.csv"]


def test_run_leaves_the_inputs_untouched(runs, pack_file):
    assert (_sha(pack_file), pack_file.stat().st_mtime_ns) == runs["before"]


def test_plan_gpkg_round_trip(runs):
    gpkg = runs["a"] / "plan.gpkg"
    names = [name for name, _ in pyogrio.list_layers(gpkg)]
    for name in ("quarries", "new_sites", "consolidation_groups", "red_line", "farmland", "protected_areas",
                 "settlements", "roads", "rivers", "towns", "boundary"):
        assert name in names, name
    q = read_layer(gpkg, layer="quarries").set_index("quarry_id")
    assert q["decision"].to_dict() == fx.EXPECTED
    assert q.loc["Q07", "reasons"] == "red_line:10000m2(50%);settlement:250m(李家湾);trunk_line:800m(G319)"
    assert q.loc["Q01", "red_line_m2"] == pytest.approx(5000.0)
    assert q.loc["Q08", "group_id"] == "G02"
    original = fx.quarries().set_index("quarry_id")
    # the GeoPackage stores every polygon layer as MultiPolygon: same shapes, same areas
    assert shapely.equals(q.geometry.loc[original.index].values, original.geometry.values).all()
    assert (q.geometry.area == 20_000.0).all()
    groups = read_layer(gpkg, layer="consolidation_groups").set_index("group_id")
    assert groups.loc["G02", "members"] == "Q08;Q09;Q10"
    assert groups.loc["G02", "capacity"] == 250.0
    assert groups.geometry.loc["G02"].area == pytest.approx(60_000.0)
    assert pyogrio.read_info(gpkg, layer="new_sites")["features"] == 0


def test_plan_gpkg_is_valid(runs):
    from osgeo_utils.samples import validate_gpkg

    errors = validate_gpkg.check(str(runs["a"] / "plan.gpkg"), abort_at_first_error=False, warning_as_error=True,
                                 myprint=lambda *_: None)
    assert errors == []


def test_summary_csv_has_bom_and_hand_totals(runs):
    raw = (runs["a"] / "summary_towns.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    header = rows[0]
    assert all(len(r) == len(header) for r in rows) and [] not in rows  # one table, no second block
    total = next(r for r in rows if r and r[0] == TOTAL_ROW)
    record = dict(zip(header, total))
    assert record[COUNT.format("规划后", "after")] == "4"
    assert float(record[CAP.format("规划后", "after")]) == 520.0


def test_tables_load_with_pandas_as_one_table_each_with_integer_counts(runs):
    towns = pd.read_csv(runs["a"] / "summary_towns.csv", encoding="utf-8-sig")
    counts = [c for c in towns.columns if " count" in c]
    assert counts and all(pd.api.types.is_integer_dtype(towns[c]) for c in counts)
    assert towns.set_index(TOWN_COLUMN).loc[TOTAL_ROW, COUNT.format("现状", "before")] == 17
    caps = pd.read_csv(runs["a"] / "caps.csv", encoding="utf-8-sig").set_index("cap")
    assert list(caps.columns) == ["cap_zh", "unit", "limit", "before", "after", "margin", "met"]
    # the hand-worked pack: 17 quarries before, 4 mines after (2 retained + 2 groups), 520 万吨/年 after
    assert caps.loc["max_quarries", "before"] == 17 and caps.loc["max_quarries", "after"] == 4
    assert str(caps.loc["max_quarries", "after"]) == "4"  # an integer, not 4.0
    assert caps.loc["max_total_capacity", "after"] == pytest.approx(520.0)
    assert caps.loc["max_total_capacity", "before"] == pytest.approx(1169.5)
    assert caps["met"].map(str).str.lower().isin(["true", "false", "nan"]).all()


def test_summary_xlsx(runs):
    book = openpyxl.load_workbook(runs["a"] / "summary.xlsx")
    assert book.sheetnames[:2] == ["汇总 summary", "总量控制 caps"]
    sheet = book["汇总 summary"]
    values = list(sheet.values)
    total = next(r for r in values if r[0] == TOTAL_ROW)
    header = values[0]
    assert total[header.index(COUNT.format("现状", "before"))] == 17
    assert total[header.index(CAP.format("现状", "before"))] == 1169.5


def test_manifest(runs, pack_file, wide_toml):
    m = json.loads((runs["a"] / "manifest.json").read_text(encoding="utf-8"))
    pack_entry = next(i for i in m["inputs"] if i["path"] == str(pack_file.resolve()))
    assert pack_entry["sha256"] == _sha(pack_file)
    assert m["scenario"]["name"] == "baseline"
    assert m["scenario"]["parameters"]["blast_distance_m"] == 300.0
    for key in ("wlgeo", "geopandas", "shapely", "pyogrio", "pyproj", "rasterio", "GDAL", "GEOS", "PROJ"):
        assert m["versions"][key], key
    for step in ("validate", "plan.overlay", "plan.classify", "write.gpkg", "write.summary"):
        assert step in m["timings"]
    assert m["counts"] == {"close": 6, "expire": 4, "retain": 2, "consolidate": 5}
    assert m["not_checked"] == {}
    assert m["outputs"]["plan.gpkg"] == _sha(runs["a"] / "plan.gpkg")
    mb = json.loads((runs["b"] / "manifest.json").read_text(encoding="utf-8"))
    scen = next(i for i in mb["inputs"] if i["role"] == "scenario")
    assert scen["sha256"] == _sha(wide_toml) and mb["scenario"]["name"] == "wide"


def test_run_refuses_a_non_empty_directory(pack_file, tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(OutputError, match="not empty"):
        run(pack_file, out_dir=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]
    run(pack_file, out_dir=tmp_path, overwrite=True)
    assert (tmp_path / "plan.gpkg").is_file() and (tmp_path / "keep.txt").read_text() == "mine"


def test_run_refuses_a_pack_that_fails_validation(tmp_path):
    layers = fx.layers()
    q = layers["quarries"]
    q.loc[q["quarry_id"] == "Q02", "quarry_id"] = "Q01"
    q.loc[q["quarry_id"] == "Q15", "capacity"] = -5.0
    bad = tmp_path / "bad.gpkg"
    for name, frame in layers.items():
        frame.to_file(bad, layer=name, driver="GPKG", engine="pyogrio")
    out = tmp_path / "out"
    with pytest.raises(PackError) as info:
        run(bad, out_dir=out)
    text = str(info.value)
    assert "duplicate_id" in text and "capacity_not_positive" in text and "Q15" in text
    assert not out.exists()


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "summary.csv"
    target.write_text("old")

    def half(tmp):
        tmp.write_text("half written")
        raise RuntimeError("disk full")

    with pytest.raises(OutputError, match="disk full"):
        atomic_write(target, half)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["summary.csv"]


# ------------------------------------------------------------------------------ diff
def test_diff_lists_exactly_the_changed_quarries(runs):
    """wide: settlements close within 150 m (Q04's is 180 m away → retain); small below 65
    (Q12 at 60 becomes small, 500 m from Q11 → both consolidate). Nothing else changes."""
    d = diff_runs(runs["a"], runs["b"])
    assert d.changed["quarry_id"].tolist() == ["Q04", "Q11", "Q12"]
    assert d.changed.set_index("quarry_id")[["decision_a", "decision_b"]].to_dict("index") == {
        "Q04": {"decision_a": "close", "decision_b": "retain"},
        "Q11": {"decision_a": "retain", "decision_b": "consolidate"},
        "Q12": {"decision_a": "retain", "decision_b": "consolidate"},
    }
    row = d.changed.set_index("quarry_id").loc["Q04"]
    assert row["reasons_a"] == "settlement:180m(张家院子)" and row["reasons_b"] == ""
    assert d.changed.set_index("quarry_id").loc["Q12", "reasons_b"] == "small:60<65;merge:G03"
    assert d.counts.loc["close"].tolist() == [6, 5, -1]
    assert d.counts.loc["retain"].tolist() == [2, 1, -1]
    assert d.counts.loc["consolidate"].tolist() == [5, 7, 2]
    assert d.counts.loc["expire"].tolist() == [4, 4, 0]
    assert (d.scenario_a, d.scenario_b) == ("baseline", "wide")
    assert d.only_a == [] and d.only_b == []
    assert "Q04" in d.to_text() and "Q01" not in d.to_text()


def test_run_lists_rules_not_checked_in_summary_and_manifest(tmp_path):
    layers = fx.layers()
    del layers["farmland"], layers["rivers"]
    pack = tmp_path / "partial.gpkg"
    for name, frame in layers.items():
        frame.to_file(pack, layer=name, driver="GPKG", engine="pyogrio")
    out = run(pack, out_dir=tmp_path / "out", sites=False)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert set(manifest["not_checked"]) == {"farmland", "main_river"}
    not_checked = pd.read_csv(out / "not_checked.csv", encoding="utf-8-sig")
    assert sorted(not_checked["rule"]) == ["farmland", "main_river"] and not_checked["why"].notna().all()
    assert "未检查 not checked" in openpyxl.load_workbook(out / "summary.xlsx").sheetnames
    q = read_layer(out / "plan.gpkg", layer="quarries").set_index("quarry_id")
    assert q["farmland_m2"].isna().all() and q["main_river_m"].isna().all()
    assert q.loc["Q06", "decision"] == "retain" and q.loc["Q02", "decision"] == "retain"


def test_new_sites_count_in_the_after_figures():
    """With siting on, each new site adds one mine of ``new_site_capacity`` (100) after the plan."""
    result = plan(fx.pack(), sites=True)
    n = len(result.new_sites)
    assert 0 < n <= 5  # at least one site fits; max_new_sites = 5
    assert (result.new_sites["capacity"] == 100.0).all()
    total = _row(result.summary, TOTAL_ROW)
    assert total[COUNT.format("规划新建", "new")] == n
    assert (result.caps.quarries_after, result.caps.capacity_after) == (4 + n, 520.0 + 100.0 * n)
    assert "siting.slope" in result.not_checked  # the test pack has no DEM
