"""Scenario model: validation messages, TOML loading, presets, copies."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import pickle

import pytest

import wlgeo
from wlgeo import ReadError, Scenario, ScenarioError, load_scenario
from wlgeo.model.scenario import SitingParams, list_presets
from wlgeo.model.schema import PROTECTED_KINDS


def write(tmp_path, text, name="sc.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------- presets
def test_presets_listed_and_exported():
    assert {"baseline", "strict"} <= set(list_presets())
    assert wlgeo.load_scenario is load_scenario
    assert "Scenario" in wlgeo.__all__ and "load_scenario" in wlgeo.__all__


def test_baseline_preset_is_the_design_defaults():
    base = Scenario.preset("baseline")
    assert base.name == "baseline"
    assert base.replace(description="") == Scenario()
    # DESIGN §4 figures, by hand
    assert base.min_overlap_m2 == 1.0
    assert base.blast_distance_m == 300.0
    assert base.trunk_kinds == ("expressway", "railway", "national")
    assert base.trunk_line_m == 1000.0 and base.main_river_m == 1000.0
    assert base.min_capacity == 50.0 and base.merge_distance_m == 1000.0
    assert base.red_line_action == "close"
    assert base.closing_protected_kinds == PROTECTED_KINDS
    assert base.siting.road_buffer_m["township"] == 50.0
    assert base.siting.road_buffer_m["railway"] == 1000.0
    assert base.notes == ()


def test_strict_preset_is_stricter():
    strict = load_scenario("strict")
    base = load_scenario("baseline")
    assert strict.siting.wujiang_buffer_m == 5000.0
    assert "provincial" in strict.trunk_kinds
    assert strict.blast_distance_m > base.blast_distance_m
    assert strict.min_capacity > base.min_capacity
    assert strict.max_quarries < base.max_quarries


def test_load_scenario_by_path_and_none(tmp_path):
    path = write(tmp_path, "blast_distance_m = 450\n", name="review.toml")
    sc = load_scenario(path)
    assert sc.name == "review"  # defaults to the stem
    assert sc.blast_distance_m == 450.0
    assert load_scenario(str(path)).blast_distance_m == 450.0
    assert load_scenario(None).name == "baseline"
    assert load_scenario(sc) is sc


def test_unknown_preset_lists_presets():
    with pytest.raises(ScenarioError, match="baseline, strict"):
        load_scenario("lenient")
    with pytest.raises(ScenarioError, match="presets are"):
        Scenario.preset("lenient")


def test_missing_file_is_read_error(tmp_path):
    with pytest.raises(ReadError, match="no such scenario file"):
        load_scenario(tmp_path / "absent.toml")


def test_invalid_toml_names_file(tmp_path):
    path = write(tmp_path, "blast_distance_m = = 3\n")
    with pytest.raises(ScenarioError, match="sc.toml.*not valid TOML"):
        Scenario.from_toml(path)


# ---------------------------------------------------------------- refusals
def test_unknown_top_level_key(tmp_path):
    path = write(tmp_path, "blast_distance = 300\n")
    with pytest.raises(ScenarioError) as info:
        Scenario.from_toml(path)
    msg = str(info.value)
    assert "sc.toml" in msg and "'blast_distance'" in msg and "blast_distance_m" in msg
    assert info.value.field == "blast_distance"


def test_unknown_nested_key_has_path_and_allowed(tmp_path):
    path = write(tmp_path, "[siting.weights]\nroad = 0.5\nparks = 0.5\n")
    with pytest.raises(ScenarioError) as info:
        Scenario.from_toml(path)
    assert info.value.field == "siting.weights.road"
    assert "roads, parks, ports, slope" in str(info.value)
    assert str(path) in str(info.value)


def test_unknown_siting_key(tmp_path):
    path = write(tmp_path, "[siting]\nmax_slope = 20\n")
    with pytest.raises(ScenarioError, match="siting.max_slope'.*max_slope_deg"):
        Scenario.from_toml(path)


@pytest.mark.parametrize(
    "text, field, words",
    [
        ("blast_distance_m = true\n", "blast_distance_m", "number, got a boolean"),
        ('blast_distance_m = "300"\n', "blast_distance_m", "number, got a string"),
        ("max_quarries = 30.5\n", "max_quarries", "whole number"),
        ("max_quarries = true\n", "max_quarries", "whole number"),
        ('name = 3\n', "name", "string"),
        ("trunk_kinds = \"national\"\n", "trunk_kinds", "list of kinds"),
        ("horizon = \"next year\"\n", "horizon", "date"),
        ("horizon = 2028-12-31T10:00:00\n", "horizon", "without a time"),
        ("siting = 3\n", "siting", "table"),
        ("[siting]\nweights = 1\n", "siting.weights", "table"),
        ("[siting.road_buffer_m]\ncounty = \"100\"\n", "siting.road_buffer_m.county", "number"),
    ],
)
def test_wrong_types(tmp_path, text, field, words):
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as info:
        Scenario.from_toml(path)
    assert info.value.field == field
    assert words in str(info.value)
    assert str(path) in str(info.value)


def test_ints_accepted_for_floats(tmp_path):
    sc = Scenario.from_toml(write(tmp_path, "blast_distance_m = 450\nmax_total_capacity = 2500\n"))
    assert sc.blast_distance_m == 450.0 and isinstance(sc.blast_distance_m, float)
    assert sc.max_total_capacity == 2500.0


def test_bad_enum_lists_allowed(tmp_path):
    with pytest.raises(ScenarioError, match="'close', 'expire'.*'shut'"):
        Scenario.from_toml(write(tmp_path, 'red_line_action = "shut"\n'))


@pytest.mark.parametrize(
    "text, field",
    [
        ("blast_distance_m = -1\n", "blast_distance_m"),
        ("trunk_line_m = -0.5\n", "trunk_line_m"),
        ("min_overlap_m2 = -1\n", "min_overlap_m2"),
        ("max_quarries = -1\n", "max_quarries"),
        ("max_total_capacity = -10\n", "max_total_capacity"),
        ("min_capacity = -5\n", "min_capacity"),
        ("[siting]\nwujiang_buffer_m = -5000\n", "siting.wujiang_buffer_m"),
        ("[siting]\ngrid_resolution_m = 0\n", "siting.grid_resolution_m"),
        ("[siting]\nmax_slope_deg = 95\n", "siting.max_slope_deg"),
        ("[siting]\nmax_new_sites = -2\n", "siting.max_new_sites"),
        ("[siting.road_buffer_m]\nrailway = -1\n", "siting.road_buffer_m.railway"),
        ("[siting.saturation_m]\nroads = 0\n", "siting.saturation_m.roads"),
        ("[siting.weights]\nroads = -0.1\nparks = 1.1\n", "siting.weights.roads"),
        ("blast_distance_m = nan\n", "blast_distance_m"),
        ("blast_distance_m = inf\n", "blast_distance_m"),
    ],
)
def test_impossible_values(tmp_path, text, field):
    with pytest.raises(ScenarioError) as info:
        Scenario.from_toml(write(tmp_path, text))
    assert info.value.field == field


def test_negative_distance_message():
    with pytest.raises(ScenarioError, match=r"must be ≥ 0 m, got -1"):
        Scenario.from_dict({"blast_distance_m": -1})


def test_unknown_kinds_named(tmp_path):
    with pytest.raises(ScenarioError) as info:
        Scenario.from_toml(write(tmp_path, 'closing_protected_kinds = ["nature_reserve", "park"]\n'))
    assert info.value.field == "closing_protected_kinds[1]"
    assert "'park'" in str(info.value) and "water_source" in str(info.value)
    with pytest.raises(ScenarioError, match="motorway.*township"):
        Scenario.from_dict({"trunk_kinds": ["motorway"]})


def test_weights_all_zero_refused():
    with pytest.raises(ScenarioError, match="all 0") as info:
        Scenario.from_dict({"siting": {"weights": {"roads": 0, "parks": 0}}})
    assert info.value.field == "siting.weights"


def test_weights_normalised_with_note(tmp_path):
    sc = Scenario.from_toml(write(tmp_path, "[siting.weights]\nroads = 2\nparks = 1\nports = 1\n"))
    w = sc.siting.weights
    assert w == {"roads": 0.5, "parks": 0.25, "ports": 0.25, "slope": 0.0}
    assert len(sc.notes) == 1 and "summed to 4" in sc.notes[0]


def test_partial_tables_keep_defaults():
    sc = Scenario.from_dict({"siting": {"road_buffer_m": {"county": 150}, "saturation_m": {"ports": 40000}}})
    assert sc.siting.road_buffer_m["county"] == 150.0
    assert sc.siting.road_buffer_m["township"] == 50.0
    assert sc.siting.saturation_m == {"roads": 5000.0, "parks": 20000.0, "ports": 40000.0}


def test_caps_none_and_dates():
    sc = Scenario.from_dict({"max_quarries": "none", "max_total_capacity": None, "horizon": "2030-06-30"})
    assert sc.max_quarries is None and sc.max_total_capacity is None
    assert sc.horizon == dt.date(2030, 6, 30)


def test_duplicate_kinds_collapsed():
    assert Scenario(trunk_kinds=["railway", "railway", "national"]).trunk_kinds == ("railway", "national")


def test_direct_construction_is_validated():
    with pytest.raises(ScenarioError, match="blast_distance_m"):
        Scenario(blast_distance_m=-3)
    with pytest.raises(ScenarioError, match="siting.max_slope_deg"):
        SitingParams(max_slope_deg=0)


# ---------------------------------------------------------------- copies and round trips
def test_frozen_and_read_only_mappings():
    sc = Scenario()
    with pytest.raises(dataclasses.FrozenInstanceError):
        sc.blast_distance_m = 10  # type: ignore[misc]
    with pytest.raises(TypeError):
        sc.siting.weights["roads"] = 1.0  # type: ignore[index]


def test_to_dict_round_trip_json_and_pickle():
    sc = load_scenario("strict")
    data = sc.to_dict()
    text = json.dumps(data, ensure_ascii=False)
    assert json.loads(text)["siting"]["wujiang_buffer_m"] == 5000.0
    assert data["horizon"] == "2028-12-31"
    assert Scenario.from_dict(json.loads(text)) == sc
    assert pickle.loads(pickle.dumps(sc)) == sc
    assert hash(sc) == hash(Scenario.from_dict(data))
    assert dataclasses.asdict(sc)["siting"]["weights"]["roads"] == pytest.approx(0.3)


def test_replace_validates_and_accepts_dotted_keys():
    base = Scenario()
    wide = base.replace(blast_distance_m=500, **{"siting.max_slope_deg": 20})
    assert wide.blast_distance_m == 500.0 and wide.siting.max_slope_deg == 20.0
    assert base.blast_distance_m == 300.0  # original untouched
    assert base.replace(siting={"wujiang_buffer_m": 5000}).siting.wujiang_buffer_m == 5000.0
    with pytest.raises(ScenarioError, match="blast_distance_m"):
        base.replace(blast_distance_m=-1)
    with pytest.raises(ScenarioError, match="unknown key"):
        base.replace(blast=1)
    with pytest.raises(ScenarioError, match="siting.weights.road'"):
        base.replace(**{"siting.weights.road": 1})
