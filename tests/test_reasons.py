"""Reasons as records (wlgeo.model.reasons): the text codec, the classifier's records, their readers."""

from __future__ import annotations

from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from wlgeo.engine.classify import classify, classify_records
from wlgeo.model.reasons import (
    REASON_LABELS,
    Reason,
    figure_text,
    format_reasons,
    parse_reasons,
    reasons_of,
)
from wlgeo.model.scenario import Scenario
from wlgeo.products.maps import reason_items
from wlgeo.review.compare import decision_changes

# every kind of reason the classifier writes, built in code, and its text written out by hand
KINDS = [
    (Reason.overlap("red_line", 12450.0, share=23.1), "red_line:12450m2(23.1%)"),
    (Reason.overlap("farmland", 300.0, share=1.2), "farmland:300m2(1.2%)"),
    (Reason.overlap("farmland", 8000.0), "farmland:8000m2"),
    (Reason.overlap("protected", 5000.0, share=25.0, name="world_heritage"), "protected:5000m2(world_heritage)"),
    (Reason.overlap("protected", 2000.0, share=10.0), "protected:2000m2(10%)"),
    (Reason.distance("settlement", 180.0, "张家院子"), "settlement:180m(张家院子)"),
    (Reason.distance("settlement", 0.0), "settlement:0m"),
    (Reason.distance("trunk_line", 650.0, "G65"), "trunk_line:650m(G65)"),
    (Reason.distance("main_river", 420.0, "乌江"), "main_river:420m(乌江)"),
    (Reason.distance("visible", 1830.0, "G65 包茂高速"), "visible:1830m(G65 包茂高速)"),
    (Reason.distance("hidden", 420.0, "(东)支线"), "hidden:420m((东)支线)"),
    (Reason.distance("hidden", 42.5), "hidden:42.5m"),
    (Reason.sight_not_checked(), "sight:not_checked"),
    (Reason.small(30, 50), "small:30<50"),
    (Reason.small(49.5, 50), "small:49.5<50"),
    (Reason.small(0.4, 0.5), "small:0.4<0.5"),
    (Reason.merge("G03"), "merge:G03"),
    (Reason.merge("G001"), "merge:G001"),
    (Reason.licence_end("2025-06-30"), "licence_end:2025-06-30"),
    (Reason.licence_end(pd.Timestamp("2035-12-31 00:00")), "licence_end:2035-12-31"),
    (Reason("mystery", 3.0), "mystery:3"),
    (Reason("mystery"), "mystery"),
]


@pytest.mark.parametrize(("record", "text"), KINDS, ids=[t for _, t in KINDS])
def test_every_kind_writes_its_text_and_reads_back(record, text):
    assert record.text == text == str(record)
    assert parse_reasons(text) == (record,)
    assert parse_reasons(record.text)[0].text == text


def test_a_quarry_round_trips_through_the_column_text():
    records = tuple(r for r, _ in KINDS)
    text = format_reasons(records)
    assert text == ";".join(t for _, t in KINDS)
    assert parse_reasons(text) == records
    assert format_reasons(parse_reasons(text)) == text
    assert format_reasons(()) == "" and parse_reasons("") == () and parse_reasons(None) == ()
    assert parse_reasons(np.nan) == () and parse_reasons(" ; ;") == ()


def test_records_state_the_figures_as_written():
    # figures are kept as the text states them, so a record read back equals the one written
    record = Reason.overlap("red_line", 12450.4, share=23.14)
    assert (record.figure, record.share) == (12450.0, 23.1)
    assert Reason.distance("settlement", 99.96).figure == 100.0
    assert [figure_text(v) for v in (2.97, 0.04, 150.6, 7.25)] == ["3", "0", "151", "7.2"]
    # a name wins over the share (protected kinds), and a blank name is no name
    assert Reason.overlap("protected", 10.0, share=5.0, name="world_heritage").share is None
    assert Reason.distance("settlement", 180.0, "  ").name is None
    assert Reason.distance("settlement", 180.0, np.nan).text == "settlement:180m"


def test_a_share_and_a_name_are_told_apart():
    assert parse_reasons("protected:5000m2(nature_reserve,world_heritage)")[0].name == "nature_reserve,world_heritage"
    assert parse_reasons("red_line:5000m2(25%)")[0] == Reason("red_line", 5000.0, "m2", share=25.0)
    assert parse_reasons("small:20<50")[0] == Reason("small", 20.0, limit=50.0)
    assert parse_reasons("licence_end:2025-06-30")[0] == Reason("licence_end", value="2025-06-30")


@pytest.mark.parametrize("bad", [
    {"code": ""}, {"code": "a:b"}, {"code": "a;b"},
    {"code": "merge", "value": "G01", "figure": 1.0},
    {"code": "red_line", "figure": 1.0, "unit": "m2", "share": 2.0, "name": "x"},
    {"code": "x", "unit": "m"}, {"code": "x", "figure": 1.0, "unit": "km"},
])
def test_inconsistent_records_are_refused(bad):
    with pytest.raises(ValueError):
        Reason(**bad)


def test_labels_and_display_lines():
    assert REASON_LABELS["settlement"] == ("爆破安全距离内有居民点", "Settlement within blasting distance")
    red = Reason.overlap("red_line", 12450.0, share=23.1)
    assert red.label == "占用生态保护红线 Overlaps ecological red line"
    assert red.display == "占用生态保护红线 Overlaps ecological red line: 12450m2(23.1%)"
    assert Reason("mystery").display == "mystery"
    assert Reason.distance("visible", 1830.0, "G65").display == "visible: 1830m(G65)"
    # the map's reason lines: the same from records and from text
    records = (red, Reason.small(30, 50), Reason("mystery", 3.0))
    assert reason_items(records) == reason_items(format_reasons(records)) == [
        "占用生态保护红线 Overlaps ecological red line: 12450m2(23.1%)",
        "规模低于最低开采规模 Below minimum capacity: 30<50",
        "mystery: 3",
    ]
    assert reason_items(()) == reason_items(None) == []


# ---------------------------------------------------------------------------- the classifier's records
def _quarries() -> gpd.GeoDataFrame:
    """Six quarries 5 km apart (no links) but Q5–Q6, 300 m apart (Q6 small): one group."""
    ids = ["Q1", "Q2", "Q3", "Q4", "Q5", "Q6"]
    xs = [0, 5000, 10000, 15000, 20000, 20500]
    return gpd.GeoDataFrame(
        {"quarry_id": ids, "capacity": [80, 80, 30, 80, 100, 20],
         "license_end": ["2030-01-01", "2027-06-30", "2040-01-01", "2040-01-01", "2040-01-01", "2040-01-01"]},
        geometry=[shapely.box(x, 0, x + 200, 100) for x in xs], crs="EPSG:4545", index=[10, 11, 12, 13, 14, 15])


def _metrics(index) -> pd.DataFrame:
    nan = np.nan
    return pd.DataFrame({
        "red_line_m2": [2500.0, 0, 0, 0, 0, 0], "red_line_pct": [12.5, 0, 0, 0, 0, 0],
        "farmland_m2": [0.0, 0, 0, 0, 0, 0], "farmland_pct": [0.0, 0, 0, 0, 0, 0],
        "protected_m2": [3000.4, 0, 0, 0, 0, 0], "protected_pct": [15.0, 0, 0, 0, 0, 0],
        "settlement_m": [180.2, 2000, 2000, 2000, 2000, 2000],
        "trunk_line_m": [5000.0, 650, 5000, 5000, 5000, 5000], "main_river_m": [5000.0, 5000, 5000, 42.5, 5000, 5000],
        "nearest_settlement": ["张家院子", None, None, None, None, None],
        "nearest_trunk_line": [None, "G65", None, None, None, None],
        "nearest_main_river": [None, None, None, " 乌江 ", None, None],
        "protected_kinds": ["world_heritage", nan, nan, nan, nan, nan],
    }, index=index)


EXPECTED = {
    10: (Reason("red_line", 2500.0, "m2", share=12.5), Reason("protected", 3000.0, "m2", name="world_heritage"),
         Reason("settlement", 180.0, "m", name="张家院子")),
    11: (Reason("trunk_line", 650.0, "m", name="G65"), Reason("licence_end", value="2027-06-30")),
    12: (Reason("small", 30.0, limit=50.0), Reason("licence_end", value="2040-01-01")),
    13: (Reason("main_river", 42.5, "m", name="乌江"), Reason("licence_end", value="2040-01-01")),
    14: (Reason("merge", value="G01"),),
    15: (Reason("small", 20.0, limit=50.0), Reason("merge", value="G01")),
}
TEXT = {
    10: "red_line:2500m2(12.5%);protected:3000m2(world_heritage);settlement:180m(张家院子)",
    11: "trunk_line:650m(G65);licence_end:2027-06-30",
    12: "small:30<50;licence_end:2040-01-01",
    13: "main_river:42.5m(乌江);licence_end:2040-01-01",
    14: "merge:G01",
    15: "small:20<50;merge:G01",
}


def test_classify_builds_the_records_and_writes_the_same_text():
    quarries = _quarries()
    out, records = classify_records(quarries, _metrics(quarries.index), Scenario())
    assert records.index.equals(quarries.index)
    assert records.to_dict() == EXPECTED
    assert out["reasons"].to_dict() == TEXT
    assert classify(quarries, _metrics(quarries.index), Scenario())["reasons"].to_dict() == TEXT
    assert out["decision"].tolist() == ["close", "expire", "expire", "expire", "consolidate", "consolidate"]
    # the text reads back to the very same records
    assert reasons_of(out).to_dict() == EXPECTED


def test_classify_records_with_line_of_sight():
    quarries = _quarries().iloc[:3]
    metrics = _metrics(_quarries().index).iloc[:3].copy()
    metrics["trunk_line_sight"] = ["visible", "hidden", "not_checked"]
    metrics["trunk_line_seen_m"] = [1830.0, np.nan, np.nan]
    metrics["trunk_line_seen_by"] = ["G65 包茂高速", None, None]
    metrics["trunk_line_near_m"] = [np.nan, 650.0, np.nan]
    metrics["trunk_line_near_by"] = [None, "G65", None]
    metrics["trunk_line_m"] = [1900.0, 650.0, 300.0]
    metrics["nearest_trunk_line"] = [None, "G65", "G319"]
    metrics["main_river_sight"] = ["hidden", "hidden", "hidden"]
    metrics["main_river_near_m"] = [np.nan] * 3
    scenario = Scenario().replace(**{"visibility.enabled": True})
    out, records = classify_records(quarries, metrics, scenario)
    assert records[10][-1] == Reason("visible", 1830.0, "m", name="G65 包茂高速")
    assert records[11][0] == Reason("hidden", 650.0, "m", name="G65")
    assert records[12][:3] == (Reason("sight", value="not_checked"), Reason("trunk_line", 300.0, "m", name="G319"),
                               Reason("small", 30.0, limit=50.0))
    assert out["reasons"].tolist() == [format_reasons(r) for r in records]
    assert out.loc[12, "reasons"] == "sight:not_checked;trunk_line:300m(G319);small:30<50;licence_end:2040-01-01"
    assert reasons_of(out).tolist() == records.tolist()


# ---------------------------------------------------------------------------- readers of the records
def test_reasons_of_prefers_the_plans_records():
    quarries = _quarries()
    out, records = classify_records(quarries, _metrics(quarries.index), Scenario())
    kept = SimpleNamespace(quarries=out, reasons=records)
    assert reasons_of(kept) is records
    # without records (a partitioned plan, a plan read from a file), or records for other rows: from the text
    assert reasons_of(SimpleNamespace(quarries=out, reasons=None)).to_dict() == EXPECTED
    subset = SimpleNamespace(quarries=out.iloc[:2], reasons=records)
    assert reasons_of(subset).to_dict() == {k: EXPECTED[k] for k in (10, 11)}
    assert reasons_of(out.drop(columns="reasons")).tolist() == [()] * len(out)


def test_a_plan_read_back_from_a_run_parses_its_text_once():
    from pathlib import Path

    from wlgeo.runs.reader import RunPlan

    quarries = _quarries()
    out = classify(quarries, _metrics(quarries.index), Scenario())
    plan = RunPlan(quarries=out, consolidation_groups=out.iloc[:0], new_sites=out.iloc[:0], scenario=None,
                   plan_gpkg=Path("plan.gpkg"))
    assert reasons_of(plan).to_dict() == EXPECTED
    assert reasons_of(plan) is plan.reasons  # parsed on first use, then kept


def test_change_causes_from_records_match_those_from_text():
    quarries = _quarries()
    metrics = _metrics(quarries.index)
    a, records_a = classify_records(quarries, metrics, Scenario())
    other = Scenario().replace(blast_distance_m=100.0, trunk_line_m=600.0, min_capacity=25.0)
    b, records_b = classify_records(quarries, metrics, other)
    params = {"parameters_a": Scenario().to_dict(), "parameters_b": other.to_dict()}
    from_records = decision_changes(a, b, reasons_a=records_a, reasons_b=records_b, **params)[0]
    from_text = decision_changes(a, b, **params)[0]
    pd.testing.assert_frame_equal(from_records, from_text)
    causes = dict(zip(from_records["quarry_id"], from_records["cause"]))
    assert causes == {"Q2": "−trunk_line:650m(G65) [trunk_line_m 1000→600]",
                      "Q3": "−small:30<50 [min_capacity 50→25]"}
    assert from_records.loc[0, "reasons_a"] == TEXT[11]  # the change table keeps the text columns


def test_misaligned_records_are_refused():
    quarries = _quarries()
    out, records = classify_records(quarries, _metrics(quarries.index), Scenario())
    from wlgeo.model.errors import LayerError

    with pytest.raises(LayerError, match="not aligned"):
        decision_changes(out, out, reasons_a=records.iloc[:2])
