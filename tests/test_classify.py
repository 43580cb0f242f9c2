"""Decision rules and consolidation (DESIGN §4) against hand-worked rectangles (tests/plan_fixtures.py)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import plan_fixtures as fx
from wlgeo.engine.classify import classify, consolidation_groups
from wlgeo.model.errors import LayerError
from wlgeo.model.pack import LayerPack
from wlgeo.engine.overlay import constraint_metrics
from wlgeo.model.scenario import Scenario


def _run(pack: LayerPack, scenario: Scenario | None = None) -> gpd.GeoDataFrame:
    scenario = scenario or Scenario()
    metrics = constraint_metrics(pack["quarries"], pack, scenario)
    return classify(pack["quarries"], metrics, scenario).set_index("quarry_id", drop=False)


@pytest.fixture(scope="module")
def result() -> gpd.GeoDataFrame:
    return _run(fx.pack())


def test_every_decision_as_worked_out_by_hand(result):
    assert result["decision"].to_dict() == fx.EXPECTED


def test_chinese_labels(result):
    zh = dict(zip(result["decision"], result["decision_zh"]))
    assert zh == {"close": "关闭退出", "expire": "到期退出", "retain": "予以保留", "consolidate": "优化整合"}


@pytest.mark.parametrize(
    ("qid", "reasons"),
    [
        ("Q01", "red_line:5000m2(25%)"),
        ("Q02", "farmland:1000m2(5%)"),
        ("Q03", "protected:2000m2(10%)"),  # no protected_kinds column from overlay: share shown
        ("Q04", "settlement:180m(张家院子)"),
        ("Q05", "trunk_line:650m(G65);licence_end:2027-06-30"),
        ("Q06", "main_river:420m(乌江);licence_end:2035-12-31"),
        ("Q07", "red_line:10000m2(50%);settlement:250m(李家湾);trunk_line:800m(G319)"),
        ("Q08", "merge:G02"),
        ("Q09", "small:30<50;merge:G02"),
        ("Q10", "merge:G02"),
        ("Q11", "licence_end:2026-01-31"),
        ("Q12", ""),
        ("Q13", "small:20<50;licence_end:2035-12-31"),
        ("Q14", "farmland:8000m2(40%);small:20<50"),
        ("Q15", "small:49.5<50;licence_end:2035-12-31"),
        ("P1", "small:10<50;merge:G01"),
        ("P2", "merge:G01"),
    ],
)
def test_reasons_carry_every_rule_with_figures(result, qid, reasons):
    assert result.loc[qid, "reasons"] == reasons


def test_metric_columns(result):
    assert result.loc["Q01", "red_line_m2"] == pytest.approx(5000.0)
    assert result.loc["Q07", "red_line_pct"] == pytest.approx(50.0)
    assert result.loc["Q14", "farmland_m2"] == pytest.approx(8000.0)
    assert result.loc["Q03", "protected_m2"] == pytest.approx(2000.0)
    assert result.loc["Q04", "settlement_m"] == pytest.approx(180.0)
    # the township road 50 m away is not a trunk line; the non-main river 100 m away is not main
    assert result.loc["Q05", "trunk_line_m"] == pytest.approx(650.0)
    assert result.loc["Q06", "main_river_m"] == pytest.approx(420.0)
    assert result.loc["Q12", "red_line_m2"] == 0.0


def test_input_geometry_and_attributes_untouched():
    q = fx.quarries()
    before = q.copy()
    metrics = constraint_metrics(q, fx.pack())
    out = classify(q, metrics, Scenario())
    pd.testing.assert_frame_equal(q, before)
    assert out.index.equals(q.index)
    for column in q.columns:
        if column != "geometry":
            pd.testing.assert_series_equal(out[column], q[column])
    assert shapely.equals_exact(out.geometry.values, q.geometry.values, tolerance=0).all()
    assert out.crs == q.crs


def test_groups_are_components_ordered_by_smallest_member(result):
    assert result.loc[["P1", "P2"], "group_id"].tolist() == ["G01", "G01"]
    assert result.loc[["Q08", "Q09", "Q10"], "group_id"].tolist() == ["G02"] * 3
    assert result.loc[result["decision"] != "consolidate", "group_id"].isna().all()


def test_consolidation_groups_layer(result):
    groups = consolidation_groups(result).set_index("group_id")
    assert list(groups.index) == ["G01", "G02"]
    assert groups.loc["G02", "members"] == "Q08;Q09;Q10"
    assert groups.loc["G01", "members"] == "P1;P2"
    assert groups["n_members"].tolist() == [2, 3]
    assert groups["capacity"].tolist() == [110.0, 250.0]
    # three disjoint 200×100 rectangles
    assert groups.loc["G02", "geometry"].area == pytest.approx(60_000.0)
    assert groups.loc["G02", "geometry"].geom_type == "MultiPolygon"
    assert groups.loc["G02", "area_m2"] == pytest.approx(60_000.0)
    assert groups.loc["G02", "towns"] == f"{fx.TOWN_B};{fx.TOWN_A}"  # Q08's field says 乙乡
    assert groups.crs == result.crs


def test_merged_footprint_of_touching_members_is_one_polygon():
    q = gpd.GeoDataFrame({"quarry_id": ["A", "B"], "capacity": [10.0, 10.0]},
                         geometry=[fx.rect(0, 0), fx.rect(200, 0)], crs=fx.CRS)
    out = classify(q, pd.DataFrame(index=q.index), Scenario())
    groups = consolidation_groups(out)
    assert groups.geometry.iloc[0].geom_type == "Polygon"
    assert groups.geometry.iloc[0].area == pytest.approx(40_000.0)


def test_red_line_action_expire_moves_the_red_line_into_rule_2():
    out = _run(fx.pack(), Scenario(red_line_action="expire"))
    assert out.loc["Q01", "decision"] == "expire"
    assert out.loc["Q01", "reasons"] == "red_line:5000m2(25%);licence_end:2035-12-31"
    assert out.loc["Q07", "decision"] == "close"  # the settlement still closes it


def test_absent_layers_are_null_and_not_checked():
    layers = fx.layers()
    pack = LayerPack({"quarries": layers["quarries"], "red_line": layers["red_line"]})
    out = _run(pack)
    for column in ("farmland_m2", "protected_m2", "settlement_m", "trunk_line_m", "main_river_m"):
        assert out[column].isna().all(), column
    assert (out["red_line_m2"].notna()).all()
    assert set(out.attrs["not_checked"]) == {"farmland", "protected", "settlement", "trunk_line", "main_river"}
    # Q04 (settlement) is no longer closed: nothing checked can close it; Q02 likewise
    assert out.loc["Q04", "decision"] == "retain"
    assert out.loc["Q02", "decision"] == "retain"
    assert out.loc["Q01", "decision"] == "close"


def test_metrics_without_a_column_mark_the_rule_not_checked():
    q = fx.quarries().iloc[:1]
    out = classify(q, pd.DataFrame({"red_line_m2": [0.0], "red_line_pct": [0.0]}, index=q.index))
    assert "farmland" in out.attrs["not_checked"]
    assert "red_line" not in out.attrs["not_checked"]
    assert np.isnan(out["farmland_m2"].iloc[0])


def _pair(gap: float, caps=(10.0, 100.0)) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"quarry_id": ["A", "B"], "capacity": list(caps)},
                            geometry=[fx.rect(0, 0), fx.rect(200 + gap, 0)], crs=fx.CRS)


def test_thresholds_are_inclusive_for_distances_and_strict_for_overlaps():
    q = _pair(1000.0)  # exactly merge_distance_m apart: linked
    out = classify(q, pd.DataFrame(index=q.index))
    assert out["decision"].tolist() == ["consolidate", "consolidate"]
    q = _pair(1000.5)
    out = classify(q, pd.DataFrame(index=q.index))
    assert out["decision"].tolist() == ["expire", "retain"]
    metrics = pd.DataFrame({"settlement_m": [300.0, 300.5], "farmland_m2": [0.0, 1.0], "farmland_pct": [0.0, 0.005]},
                           index=q.index)
    out = classify(_pair(5000.0, (100.0, 100.0)), metrics)
    assert out["decision"].tolist() == ["close", "retain"]  # 300 m closes; 1 m² is not "more than 1 m²"


def test_protected_kinds_named_when_given():
    q = _pair(5000.0, (100.0, 100.0))
    metrics = pd.DataFrame({"protected_m2": [12450.0, 0.0], "protected_pct": [23.1, 0.0],
                            "protected_kinds": ["world_heritage", None]}, index=q.index)
    out = classify(q, metrics)
    assert out["reasons"].iloc[0] == "protected:12450m2(world_heritage)"


def test_closed_quarry_is_never_a_merge_partner_but_two_large_never_link():
    q = gpd.GeoDataFrame({"quarry_id": ["A", "B", "C"], "capacity": [100.0, 20.0, 100.0]},
                         geometry=[fx.rect(0, 0), fx.rect(500, 0), fx.rect(1000, 0)], crs=fx.CRS)
    metrics = pd.DataFrame({"farmland_m2": [0.0, 50.0, 0.0], "farmland_pct": [0.0, 0.25, 0.0]}, index=q.index)
    out = classify(q, metrics)
    # B (small) is closed; A and C are large and 800 m apart: not linked by that alone
    assert out["decision"].tolist() == ["retain", "close", "retain"]


def test_bad_inputs_name_the_feature():
    q = _pair(5000.0)
    q.loc[1, "capacity"] = -3
    with pytest.raises(LayerError, match="feature 'B', field 'capacity'"):
        classify(q, pd.DataFrame(index=q.index))
    q = _pair(5000.0)
    q["quarry_id"] = ["A", "A"]
    with pytest.raises(LayerError, match="not unique"):
        classify(q, pd.DataFrame(index=q.index))
    with pytest.raises(LayerError, match="1 rows for 2 quarries"):
        classify(_pair(5000.0), pd.DataFrame({"red_line_m2": [0.0]}))
