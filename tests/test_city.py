"""City packs: one boundary polygon per district, each district in its own zone (local engine).

Golden figures are those of the exact rectangles built in tests/city_fixtures.py (areas and
distances in the district's own Gauss-Kruger zone), not values read back from wlgeo.
"""

from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from city_fixtures import PREFIX, ZONES, centre, city_layers, write_pack

import wlgeo
from wlgeo.cli import main
from wlgeo.model.crs import gk3_zone_epsg, working_crs_for
from wlgeo.model.errors import LayerError
from wlgeo.model.scenario import Scenario


def cli(args):
    """Run ``wlgeo ARGS`` in this process (click's runner: exit code, stdout and stderr apart)."""
    from click.testing import CliRunner

    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def city_pack(tmp_path_factory):
    return write_pack(tmp_path_factory.mktemp("city") / "city.gpkg", city_layers())


@pytest.fixture(scope="module")
def city_plan(city_pack):
    return wlgeo.plan(city_pack, "baseline", sites=False)


def test_gk3_zone_epsg_and_working_crs():
    assert [gk3_zone_epsg(lon) for lon in (105.0, 106.4, 107.7, 108.0, 109.49, 111.0)] == [4544, 4544, 4545, 4545,
                                                                                           4545, 4546]
    assert working_crs_for(shapely.box(110.8, 29, 111.3, 30)).to_epsg() == 4546
    frame = gpd.GeoDataFrame(geometry=[shapely.box(104.8, 29.3, 105.2, 29.7)], crs=4490).to_crs(4545)
    assert working_crs_for(frame).to_epsg() == 4544


def test_each_district_is_measured_in_its_own_zone(city_plan):
    q = city_plan.quarries.set_index("quarry_id")
    assert set(city_plan.districts) == set(ZONES)
    assert {name: d.epsg for name, d in city_plan.districts.items()} == {n: e for n, (_, e) in ZONES.items()}
    for name, prefix in PREFIX.items():
        # 50 m × 100 m of farmland over a 200 m × 100 m quarry, exact in the district's zone
        assert q.loc[f"{prefix}-Q1", "farmland_m2"] == pytest.approx(5000.0, rel=1e-6)
        assert q.loc[f"{prefix}-Q1", "farmland_pct"] == pytest.approx(25.0, rel=1e-6)
        assert q.loc[f"{prefix}-Q5", "settlement_m"] == pytest.approx(400.0, rel=1e-6)
        assert q.loc[f"{prefix}-Q1", "district"] == name
    # measured in zone 36 instead, the zone-37 rectangle would be ~0.2 % larger: the check can fail
    zone37 = city_plan.districts["丙区"].quarries.set_index("quarry_id").geometry
    assert zone37.to_crs(4545).area["C-Q1"] > 20_000 * 1.001
    assert zone37.area["C-Q1"] == pytest.approx(20_000.0, rel=1e-6)


def test_city_decisions_reasons_and_canonical_groups(city_plan):
    q = city_plan.quarries.set_index("quarry_id")
    for prefix, gid in zip(("A", "B", "C"), ("G01", "G02", "G03")):  # numbered by smallest member id
        assert q.loc[f"{prefix}-Q1", "decision"] == "close"
        assert q.loc[f"{prefix}-Q1", "reasons"] == "farmland:5000m2(25%)"
        assert q.loc[f"{prefix}-Q2", "reasons"] == f"small:20<50;merge:{gid}"
        assert q.loc[f"{prefix}-Q3", "group_id"] == gid
        assert q.loc[f"{prefix}-Q4", "decision"] == "expire"
        assert q.loc[f"{prefix}-Q4", "reasons"] == "small:30<50;licence_end:2030-06-30"
        assert q.loc[f"{prefix}-Q5", "decision"] == "retain"
    assert city_plan.counts() == {"close": 3, "expire": 3, "retain": 3, "consolidate": 6}
    groups = city_plan.consolidation_groups.set_index("group_id")
    assert groups.loc["G03", "members"] == "C-Q2;C-Q3"
    assert groups.loc["G03", "district"] == "丙区"
    assert groups.loc["G03", "area_m2"] == pytest.approx(20_000.0, rel=1e-6)  # two 100 m squares, zone 37
    assert city_plan.not_checked["trunk_line"]  # roads present, none of a trunk kind


def test_caps_per_district_and_city(city_pack):
    scenario = Scenario(max_quarries=2, max_total_capacity=150.0, city_caps={"max_quarries": 5})
    result = wlgeo.plan(city_pack, scenario, sites=False)
    for district in result.districts.values():
        # after = Q5 retained (100) + one group (20 + 80)
        assert (district.caps.quarries_after, district.caps.capacity_after) == (2, 200.0)
        assert district.caps.quarries_ok is True and district.caps.capacity_ok is False
    assert (result.caps.quarries_after, result.caps.max_quarries, result.caps.quarries_ok) == (6, 5, False)
    assert result.caps.max_total_capacity is None
    assert not result.caps_ok


def test_groups_never_cross_a_district_border_and_spanning_quarries(tmp_path):
    """Two adjacent districts in zone 36: two small quarries 200 m apart across the border stay
    apart; a quarry over the border belongs to the district holding its larger part."""
    lon, epsg = 108.0, 4545
    cx, cy = centre(lon, epsg)

    def box(x0, y0, x1, y1):
        return shapely.box(cx + x0, cy + y0, cx + x1, cy + y1)

    def ll(geoms):
        return gpd.GeoSeries(geoms, crs=epsg).to_crs(4490)

    boundary = gpd.GeoDataFrame({"district": ["西区", "东区"]}, geometry=ll([box(-10000, -5000, 0, 5000),
                                                                          box(0, -5000, 10000, 5000)]))
    quarries = gpd.GeoDataFrame({
        "quarry_id": ["W1", "E1", "S1"],
        "capacity": [20.0, 20.0, 80.0],
        "license_end": pd.to_datetime(["2030-01-01"] * 3),
    }, geometry=ll([box(-200, 0, -100, 100), box(100, 0, 200, 100), box(-50, 3000, 150, 3100)]))
    pack = write_pack(tmp_path / "two.gpkg", {"boundary": boundary, "quarries": quarries})
    result = wlgeo.plan(pack, sites=False)
    q = result.quarries.set_index("quarry_id")
    assert q.loc["W1", "district"] == "西区" and q.loc["E1", "district"] == "东区"
    assert q.loc["W1", "decision"] == q.loc["E1", "decision"] == "expire"  # 200 m apart, but not linked
    assert q["group_id"].isna().all()
    assert q.loc["S1", "district"] == "东区"  # 150 of its 200 m lie in the east
    assert any("span two districts" in n and "S1→东区" in n for n in result.notes)


def test_duplicate_ids_and_quarries_outside_every_district_are_refused(tmp_path):
    layers = city_layers()
    dup = layers["quarries"].copy()
    dup.loc[dup["quarry_id"] == "C-Q5", "quarry_id"] = "A-Q5"
    with pytest.raises(LayerError, match="used by 2 features") as err:
        wlgeo.plan(write_pack(tmp_path / "dup.gpkg", {**layers, "quarries": dup}), sites=False)
    assert "A-Q5" in str(err.value)
    far = layers["quarries"].copy()
    lon, epsg = ZONES["乙区"]
    cx, cy = centre(lon, epsg)
    far.loc[far["quarry_id"] == "B-Q4", "geometry"] = gpd.GeoSeries(
        [shapely.box(cx + 30000, cy, cx + 30100, cy + 100)], crs=epsg).to_crs(4490).values
    with pytest.raises(LayerError, match="outside every district") as err:
        wlgeo.plan(write_pack(tmp_path / "far.gpkg", {**layers, "quarries": far}), sites=False)
    assert "B-Q4" in str(err.value)


def test_city_run_writes_parquet_district_packages_and_tables(city_pack, tmp_path):
    from osgeo_utils.samples import validate_gpkg

    out = tmp_path / "run"
    scenario = tmp_path / "city.toml"
    scenario.write_text('name = "city"\nmax_quarries = 2\n[city_caps]\nmax_quarries = 10\n', encoding="utf-8")
    proc = cli(["run", str(city_pack), "--scenario", str(scenario), "--no-sites", "--out", str(out)])
    assert proc.exit_code == 0, proc.stderr
    names = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert names == sorted(["plan.parquet", "summary_towns.csv", "caps.csv", "not_checked.csv", "manifest.json",
                            *[f"districts/{d}/{f}" for d in ZONES for f in ("plan.gpkg", "manifest.json")]])
    plan = gpd.read_parquet(out / "plan.parquet")
    assert plan.crs.to_epsg() == 4490 and len(plan) == 15
    assert plan.set_index("quarry_id").loc["C-Q2", "group_id"] == "G03"
    caps = pd.read_csv(out / "caps.csv", encoding="utf-8-sig")
    assert list(caps["district"]) == ["丙区", "丙区", "乙区", "乙区", "甲区", "甲区", "全市 City", "全市 City"]
    counts = caps[caps["cap"] == "max_quarries"]
    assert counts["after"].tolist() == [2, 2, 2, 6] and counts["limit"].tolist() == [2, 2, 2, 10]
    assert counts["met"].tolist() == [True] * 4
    assert ",6.0," not in (out / "caps.csv").read_text(encoding="utf-8-sig")  # counts written as integers
    towns = pd.read_csv(out / "summary_towns.csv", encoding="utf-8-sig")
    assert set(towns["district"]) == set(ZONES)
    gpkg = out / "districts" / "丙区" / "plan.gpkg"
    for name in ZONES:
        errors = validate_gpkg.check(str(out / "districts" / name / "plan.gpkg"), abort_at_first_error=False,
                                     warning_as_error=True, myprint=lambda *_: None)
        assert errors == [], name
    district = gpd.read_file(gpkg, layer="quarries")
    assert sorted(district["quarry_id"]) == ["C-Q1", "C-Q2", "C-Q3", "C-Q4", "C-Q5"]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["districts"]["丙区"]["epsg"] == 4546
    # a district's map on demand from the run; a city run without --district says which to choose
    proc = cli(["map", str(out), "--district", "丙区"])
    assert proc.exit_code == 0, proc.stderr
    html = (out / "districts" / "丙区" / "map.html").read_text(encoding="utf-8")
    assert "C-Q1" in html and "A-Q1" not in html
    proc = cli(["map", str(out)])
    assert proc.exit_code == 2 and "choose one with --district" in proc.stderr and "甲区" in proc.stderr


def test_one_district_pack_is_planned_as_before(tmp_path):
    """A boundary with one polygon goes the one-district way: plan.gpkg, no district column."""
    layers = {k: v for k, v in city_layers({"乙区": ZONES["乙区"]}).items()
              if k in ("boundary", "quarries", "farmland", "settlements")}
    pack = write_pack(tmp_path / "one.gpkg", layers)
    result = wlgeo.plan(pack, sites=False)
    assert not result.districts and "district" not in result.quarries.columns
    assert result.quarries.crs.to_epsg() == 4545
    assert result.quarries.set_index("quarry_id").loc["B-Q1", "farmland_m2"] == pytest.approx(5000.0, rel=1e-6)
    # the local engine by partitions of 2 quarries (what it does for huge layers) plans the same
    parts = wlgeo.plan(pack, sites=False, partition_size=2)
    assert parts.partitions["count"] == 3
    for column in ("decision", "reasons", "group_id", "farmland_m2", "settlement_m"):
        assert parts.quarries[column].tolist() == result.quarries[column].tolist(), column


def test_unknown_output_kind_and_local_dask_options_are_refused(city_pack, tmp_path):
    proc = cli(["run", city_pack, "--outputs", "plan,maps", "--out", tmp_path / "a"])
    assert proc.exit_code == 2 and "unknown output(s) ['maps']" in proc.stderr and "plan, tables, map, sheet" in proc.stderr
    proc = cli(["run", city_pack, "--workers", "2", "--out", tmp_path / "b"])
    assert proc.exit_code == 2 and "--engine dask" in proc.stderr
    assert not (tmp_path / "a").exists() or not any((tmp_path / "a").iterdir())
