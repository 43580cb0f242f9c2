"""Scenario review: compare, diff_map, sweep, plot_sweep on the hand-worked pack of plan_fixtures.

Every expected figure comes from the rectangles of ``tests/plan_fixtures.py`` (its docstring
table), worked out by hand: 200 m × 100 m quarries, settlement 180 m east of Q04, Q12 (60) 500 m
from Q11 (100), Q13 and Q14 (both 20) 400 m apart with Q14 on 8000 m² of farmland, red line over
5000 m² (25 %) of Q01, …
"""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from browser import Chromium  # noqa: E402

import plan_fixtures as fx  # noqa: E402
import wlgeo  # noqa: E402
from wlgeo import ScenarioError  # noqa: E402
from wlgeo.review.compare import CHANGE_COLUMNS, compare, decision_changes  # noqa: E402
from wlgeo.review.diffmap import diff_map  # noqa: E402
from wlgeo.review.sweep import plot_sweep, sweep  # noqa: E402
from wlgeo.products.fonts import cjk_font  # noqa: E402
from wlgeo.model.pack import LayerPack  # noqa: E402
from wlgeo.engine.summary import TOTAL_ROW  # noqa: E402

BASE = wlgeo.Scenario()  # baseline: blast 300 m, min_capacity 50, min_overlap 1 m², merge 1000 m
XSS = '<img src=x onerror="window.__xss=1">'


@pytest.fixture(scope="module")
def pack() -> LayerPack:
    return fx.pack()


@pytest.fixture(scope="module")
def baseline(pack):
    return wlgeo.plan(pack, BASE, sites=False)


def _plan(pack, **changes):
    return wlgeo.plan(pack, BASE.replace(name="b", **changes), sites=False)


# ------------------------------------------------------------------------------ compare
def test_a_quarry_leaving_its_group_is_blamed_on_the_partner_not_on_min_capacity():
    """Two small quarries 800 m apart form a group. Scenario B makes provincial roads trunk lines
    (S203 runs 100 m from QB, 1100 m from QA) and raises min_capacity 50 → 100. QB expires on the road; QA
    loses its only link and expires as a small quarry. Raising min_capacity can only make links,
    never break one, so QA's change is the partner's, and min_capacity is not named."""
    import datetime as dt

    import geopandas as gpd
    import shapely

    x, y = fx.X0, fx.Y0
    quarries = gpd.GeoDataFrame(
        {"quarry_id": ["QA", "QB"], "capacity": [20.0, 30.0], "license_end": [dt.date(2035, 1, 1)] * 2},
        geometry=[shapely.box(x, y, x + 200, y + 100), shapely.box(x + 1000, y, x + 1200, y + 100)], crs=fx.CRS)
    roads = gpd.GeoDataFrame({"kind": ["provincial"], "name": ["S203"]},
                             geometry=[shapely.LineString([(x + 1300, y - 5000), (x + 1300, y + 5000)])], crs=fx.CRS)
    pack = LayerPack({"quarries": quarries, "roads": roads})
    a = wlgeo.plan(pack, BASE, sites=False)
    b = wlgeo.plan(pack, BASE.replace(name="b", min_capacity=100,
                                      trunk_kinds=("expressway", "railway", "national", "provincial")), sites=False)
    cause = compare(a, b).changes.set_index("quarry_id")["cause"]
    assert cause["QB"] == ("−merge:G01; +trunk_line:100m(S203) "
                           "[trunk_kinds expressway,railway,national→expressway,railway,national,provincial]")
    assert cause["QA"] == "−merge:G01 [a neighbour's decision changed: QB consolidate→expire]", cause["QA"]


def test_blast_distance_300_to_100_reopens_only_q04(pack, baseline):
    """Q04's settlement is 180 m away: within 300 m (close), beyond 100 m (then nothing else
    fires; capacity 80 ≥ 50 and no neighbour within 1000 m → retain). Q07 keeps its red line."""
    c = compare(baseline, _plan(pack, blast_distance_m=100))
    assert list(c.changes.columns) == list(CHANGE_COLUMNS)
    assert c.changes["quarry_id"].tolist() == ["Q04"]
    row = c.changes.iloc[0]
    assert (row["decision_a"], row["decision_b"]) == ("close", "retain")
    assert row["reasons_a"] == "settlement:180m(张家院子)" and row["reasons_b"] == ""
    assert row["cause"] == "−settlement:180m(张家院子) [blast_distance_m 300→100]"
    assert (row["name"], row["town"], row["capacity"]) == ("Q04采石场", fx.TOWN_A, 80.0)
    assert c.parameters.to_dict("records") == [{"parameter": "blast_distance_m", "a": 300.0, "b": 100.0}]
    assert c.transitions().to_dict() == {"close → retain": 1}


def test_counts_and_capacity_by_decision_and_town(pack, baseline):
    c = compare(baseline, _plan(pack, blast_distance_m=100))
    t = c.totals
    # close: Q01–Q04, Q07 (80 each) + Q14 (20) = 420 → without Q04 340; retain: Q11 100 + Q12 60 = 160 → +Q04 240
    assert t.loc["close", ["count_a", "count_b", "count_change"]].tolist() == [6, 5, -1]
    assert t.loc["close", ["capacity_a", "capacity_b", "capacity_change"]].tolist() == [420.0, 340.0, -80.0]
    assert t.loc["retain", ["count_a", "count_b", "capacity_a", "capacity_b"]].tolist() == [2, 3, 160.0, 240.0]
    # after = retain + one mine per group (G: Q08–Q10 and P1–P2) → 4 then 5
    assert t.loc["after", ["count_a", "count_b"]].tolist() == [4, 5]
    assert t.loc["before", ["count_a", "count_b", "count_change"]].tolist() == [17, 17, 0]
    by_town = c.by_town("count_change")
    assert by_town.loc[fx.TOWN_A, "close"] == -1 and by_town.loc[fx.TOWN_A, "retain"] == 1
    assert (by_town.loc[fx.TOWN_B] == 0).all()  # nothing changed in 乙乡
    assert by_town.index[-1] == TOTAL_ROW
    assert c.decisions.loc["close"].tolist() == [6, 5, -1]
    assert c.caps.loc["quarries", ["after_a", "after_b", "cap_a", "ok_b"]].tolist() == [4, 5, 50, True]
    with pytest.raises(ValueError, match="allowed"):
        c.by_town("nonsense")


def test_no_change_when_the_parameter_moves_within_slack(pack, baseline):
    # 180 m is within 200 m too; the other settlement (250 m from Q07) only adds a reason to a closed quarry
    c = compare(baseline, _plan(pack, blast_distance_m=200))
    assert c.changes.empty and c.transitions().empty
    assert (c.totals["count_change"] == 0).all()
    assert "0 quarries changed decision" in c.to_text()


def test_min_capacity_65_links_q11_and_q12(pack, baseline):
    """Q12 (60) becomes small and lies 500 m from Q11 (100): both consolidate."""
    c = compare(baseline, _plan(pack, min_capacity=65))
    assert c.changes["quarry_id"].tolist() == ["Q11", "Q12"]
    assert set(c.transitions().to_dict()) == {"retain → consolidate"}
    cause = c.changes.set_index("quarry_id")["cause"]
    assert cause["Q12"].startswith("+small:60<65 [min_capacity 50→65]; +merge:G")
    assert cause["Q11"].startswith("+merge:G") and cause["Q11"].endswith("[min_capacity 50→65]")
    assert c.totals.loc["groups", ["count_a", "count_b"]].tolist() == [2, 3]
    # capacity after: groups keep their capacity; retain 160 → 0, groups +160
    assert c.totals.loc["after", "capacity_change"] == 0.0


def test_neighbour_change_is_named(pack, baseline):
    """min_overlap 9000 m²: Q14's 8000 m² of farmland no longer closes it; Q13 and Q14 (both 20,
    400 m apart) then link and consolidate. Q01 (5000 m²), Q02 (1000) and Q03 (2000) reopen and
    retain; Q07's 10 000 m² of red line still closes it."""
    c = compare(baseline, _plan(pack, min_overlap_m2=9000))
    got = c.changes.set_index("quarry_id")[["decision_a", "decision_b"]].apply(tuple, axis=1).to_dict()
    assert got == {"Q01": ("close", "retain"), "Q02": ("close", "retain"), "Q03": ("close", "retain"),
                   "Q13": ("expire", "consolidate"), "Q14": ("close", "consolidate")}
    cause = c.changes.set_index("quarry_id")["cause"]
    assert cause["Q01"] == "−red_line:5000m2(25%) [min_overlap_m2 1→9000]"
    assert cause["Q14"].startswith("−farmland:8000m2(40%) [min_overlap_m2 1→9000]; +merge:G")
    assert cause["Q13"].startswith("+merge:G") and cause["Q13"].endswith("[a neighbour's decision changed: Q14 close→consolidate]")


def test_same_rule_other_action_is_named(pack, baseline):
    """red_line_action expire: Q01's red line (its only rule) now expires it; Q07 still closes (settlement)."""
    c = compare(baseline, _plan(pack, red_line_action="expire"))
    assert c.changes["quarry_id"].tolist() == ["Q01"]
    assert c.changes.iloc[0]["cause"] == "=red_line:5000m2(25%) [red_line_action close→expire]"


def test_to_text_reads_like_a_report(pack, baseline):
    text = compare(baseline, _plan(pack, blast_distance_m=100)).to_text()
    assert "A = baseline, B = b" in text
    assert "blast_distance_m: 300 → 100" in text
    assert "Q04 Q04采石场 [甲镇]: close → retain" in text
    assert "why: −settlement:180m(张家院子) [blast_distance_m 300→100]" in text
    assert "Q01" not in text


def test_new_sites_added_dropped_moved():
    import geopandas as gpd
    import shapely

    def sites(ids, boxes):
        return gpd.GeoDataFrame({"site_id": ids, "score": [0.9] * len(ids), "town": ["甲镇"] * len(ids)},
                                geometry=[shapely.box(*b) for b in boxes], crs=fx.CRS)

    a = sites(["N-01", "N-02", "N-03"], [(0, 0, 100, 100), (1000, 0, 1100, 100), (5000, 0, 5100, 100)])
    b = sites(["N-01", "N-02", "N-03"], [(1000, 0, 1100, 100), (50, 0, 150, 100), (9000, 0, 9100, 100)])
    from wlgeo.review.compare import _compare_sites

    out = _compare_sites(a, b).sort_values(["status", "site_id_b"]).reset_index(drop=True)
    assert out[["status", "site_id_a", "site_id_b"]].fillna("-").values.tolist() == [
        ["added", "-", "N-03"], ["dropped", "N-03", "-"], ["kept", "N-02", "N-01"], ["moved", "N-01", "N-02"]]
    # touching is not overlapping: a B site sharing only an edge with an A site is new
    touch = _compare_sites(a.iloc[:1], sites(["N-01"], [(100, 0, 200, 100)]))
    assert sorted(touch["status"]) == ["added", "dropped"]


def test_decision_changes_refuses_bad_tables():
    import pandas as pd

    good = pd.DataFrame({"quarry_id": ["A", "B"], "decision": ["close", "retain"], "reasons": ["", ""]})
    with pytest.raises(wlgeo.LayerError, match="decision"):
        decision_changes(good, good.drop(columns="decision"))
    with pytest.raises(wlgeo.LayerError, match="not unique") as err:
        decision_changes(good, good.assign(quarry_id=["A", "A"]))
    assert "feature 'A'" in str(err.value)
    changed, only_a, only_b, counts = decision_changes(good, good.assign(quarry_id=["A", "C"], decision=["retain", "close"]))
    assert changed["quarry_id"].tolist() == ["A"] and only_a == ["B"] and only_b == ["C"]
    assert counts.loc["total"].tolist() == [2, 2, 0]


# ------------------------------------------------------------------------------ sweep
def test_sweep_blast_distance_counts(pack):
    """Without the settlement rule 5 quarries close (Q01, Q02, Q03, Q07, Q14); Q04 joins at ≥ 180 m."""
    df = sweep(pack, BASE, "blast_distance_m", [100, 150, 179, 180, 250, 400])
    assert df["blast_distance_m"].tolist() == [100, 150, 179, 180, 250, 400]
    assert df["close"].tolist() == [5, 5, 5, 6, 6, 6]
    assert df["close"].is_monotonic_increasing  # a wider blast distance can only close more
    assert df["close_capacity"].tolist() == [340.0] * 3 + [420.0] * 3
    assert df["after"].tolist() == [5, 5, 5, 4, 4, 4]
    assert (df[["close", "expire", "retain", "consolidate"]].sum(axis=1) == 17).all()
    assert df["caps_met"].all() and (df["max_quarries"] == 50).all()
    assert df.attrs == {"param": "blast_distance_m", "scenario": "baseline", "sites": False}


def test_sweep_min_capacity_retain_shrinks(pack):
    """10: nothing is small → the 9 surviving quarries retain. 50: baseline. 65: Q11+Q12 join a
    group. 101: Q08, Q11, Q12, P2 small too — groups Q08–Q10, Q11–Q12, P1–P2; Q13 and Q15 alone expire."""
    df = sweep(pack, BASE, "min_capacity", [10, 50, 65, 101])
    assert df["retain"].tolist() == [9, 2, 0, 0]
    assert df["consolidate"].tolist() == [0, 5, 7, 7]
    assert df["expire"].tolist() == [2, 4, 4, 4]
    assert df["close"].tolist() == [6, 6, 6, 6]  # the exit rules do not depend on size
    assert df["groups"].tolist() == [0, 2, 3, 3]
    assert df["retain"].is_monotonic_decreasing


def test_sweep_caps_column_follows_the_cap(pack):
    df = sweep(pack, BASE, "max_quarries", [3, 4, 5])
    assert df["quarries_ok"].tolist() == [False, True, True]  # 4 mines after the plan
    assert df["caps_met"].tolist() == [False, True, True]


def test_sweep_siting_key_turns_sites_on_and_refusals(pack):
    df = sweep(pack, BASE, "siting.max_new_sites", [0, 2, 5])
    assert df.attrs["sites"] is True
    # 4 mines after the exits leave room under the caps (50 mines, 6000 万吨/年) for every site asked for
    assert df["new"].tolist() == [0, 2, 5]
    assert df["new_capacity"].tolist() == [0.0, 200.0, 500.0]  # 100 万吨/年 per new site
    assert df["after"].tolist() == [4, 6, 9]
    with pytest.raises(ScenarioError, match="blast_distance"):
        sweep(pack, BASE, "blast_distance", [100])
    with pytest.raises(ScenarioError, match="blast_distance_m"):
        sweep(pack, BASE, "blast_distance_m", [-5])
    with pytest.raises(ScenarioError, match="no values"):
        sweep(pack, BASE, "blast_distance_m", [])


def test_plot_sweep_labels_in_cjk_without_tofu(pack):
    df = sweep(pack, BASE, "blast_distance_m", [100, 200, 300])
    fig, ax = plt.subplots()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = plot_sweep(df, ax=ax)
        fig.canvas.draw()
    assert out is ax
    assert not [w for w in caught if "missing from" in str(w.message) or "Glyph" in str(w.message)]
    assert ax.get_xlabel() == "爆破安全距离 Blast distance (m)"
    assert ax.get_ylabel() == "矿山数量 Quarries"
    font = cjk_font()
    assert font.found and ax.xaxis.label.get_fontproperties().get_file() == str(font.path)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["关闭退出 Close", "到期退出 Expire at licence end", "予以保留 Retain", "优化整合 Consolidate",
                      "规划后 After the plan", "上限 Cap"]
    close_line = ax.get_lines()[0]
    assert close_line.get_xdata().tolist() == [100, 200, 300] and close_line.get_ydata().tolist() == [5, 6, 6]
    plt.close(fig)
    with pytest.raises(ValueError, match="not a column"):
        plot_sweep(df, param="min_capacity")


# ------------------------------------------------------------------------------ diff map
@pytest.fixture(scope="module")
def xss_pair():
    """Q04 renamed to an HTML payload, its settlement too: the change popup must show them as text."""
    layers = fx.layers()
    q = layers["quarries"]
    q.loc[q["quarry_id"] == "Q04", "name"] = XSS
    layers["settlements"].loc[0, "name"] = XSS
    pack = LayerPack(layers)
    a = wlgeo.plan(pack, BASE, sites=False)
    b = wlgeo.plan(pack, BASE.replace(name="近距 near", blast_distance_m=100), sites=False)
    return pack, a, b


@pytest.fixture(scope="module")
def diff_html(xss_pair, tmp_path_factory):
    pack, a, b = xss_pair
    path = tmp_path_factory.mktemp("diff") / "diff.html"
    path.write_text(diff_map(a, b, pack).get_root().render(), encoding="utf-8")
    return path


def test_diff_map_html_is_offline_and_escaped(diff_html):
    text = diff_html.read_text(encoding="utf-8")
    assert "<script src=" not in text and "<link " not in text
    assert "cdn.jsdelivr" not in text and "openstreetmap" not in text
    assert XSS not in text and "<img" not in text


def test_diff_map_in_a_real_browser(diff_html):
    with Chromium() as browser:
        browser.open(diff_html)
        browser.wait_for("window.wlgeoDrawn !== undefined")
        browser.pump(0.3)
        counts = browser.evaluate("window.wlgeoCounts")
        assert counts["change:close>retain"] == 1
        assert counts["unchanged"] == 16
        assert not [k for k in counts if k.startswith("change:") and k != "change:close>retain"]
        legend = browser.evaluate("document.querySelector('.wlgeo-legend').textContent")
        assert "关闭退出 → 予以保留 Close → Retain (1)" in legend and "未变化 Unchanged (16)" in legend
        assert "A = baseline, B = 近距 near" in legend
        title = browser.evaluate("document.querySelector('.wlgeo-title').textContent")
        assert "方案对比 Scenario comparison: baseline → 近距 near" in title
        popup = browser.evaluate(
            """(() => { const l = window.wlgeoLayers['change:close>retain'].getLayers()[0]; l.openPopup();
            const p = l.getPopup().getElement().querySelector('.leaflet-popup-content');
            return [p.textContent, p.querySelectorAll('img,script').length]; })()"""
        )
        text, elements = popup
        assert elements == 0 and XSS in text
        for part in ("Q04", "A baseline", "关闭退出 Close", "B 近距 near", "予以保留 Retain",
                     "爆破安全距离内有居民点 Settlement within blasting distance: 180m", "变化原因 What changed",
                     "[blast_distance_m 300→100]"):
            assert part in text
        browser.pump(0.2)
        assert browser.evaluate("window.__xss === undefined")
        assert browser.console_errors == [] and browser.page_errors == [] and browser.dialogs == []
        assert browser.blocked == [] and all(u.startswith("file:") for u in browser.requests)


# ------------------------------------------------------------------------------ runs on disk share the core
def test_diff_runs_names_the_cause_from_the_manifests(tmp_path):
    """``wlgeo diff`` reads the runs back and goes through the same decision_changes as compare."""
    from wlgeo.review.diff import diff_runs
    from wlgeo.runs.writer import run_plan

    gpkg = tmp_path / "pack.gpkg"
    fx.write_pack(gpkg)
    run_plan(gpkg, scenario=BASE, out_dir=tmp_path / "a", sites=False)
    run_plan(gpkg, scenario=BASE.replace(name="near", blast_distance_m=100), out_dir=tmp_path / "b", sites=False)
    d = diff_runs(tmp_path / "a", tmp_path / "b")
    assert d.changed["quarry_id"].tolist() == ["Q04"]
    row = d.changed.iloc[0]
    assert (row["decision_a"], row["decision_b"], row["town"], row["capacity"]) == ("close", "retain", fx.TOWN_A, 80.0)
    assert row["cause"] == "−settlement:180m(张家院子) [blast_distance_m 300→100]"
    assert "why: −settlement:180m(张家院子) [blast_distance_m 300→100]" in d.to_text()
