"""Hostile inputs (issue 11): nothing in a planner's files can run code, crash, hang, eat memory
or leave half a run. Each test here failed on the code before the fix it names."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import plan_fixtures as fx
from browser import Chromium

REPO = Path(__file__).resolve().parents[1]

TEMPLATE_NAME = "{{7*7}}"
QUOTE_NAME = "石'\"场{%"


def wlgeo_cli(*args, cwd=None, env=None, timeout=300) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "wlgeo.cli", *map(str, args)], capture_output=True, text=True,
                            cwd=cwd, env=env, timeout=timeout)
    assert "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr
    return result


# --------------------------------------------------------------------------- 1. no template evaluation


def _hostile_pack(path: Path, marker: Path) -> None:
    """The hand-worked pack with hostile quarry names, scenario-independent."""
    layers = fx.layers()
    q = layers["quarries"]
    q.loc[q["quarry_id"] == "Q11", "name"] = TEMPLATE_NAME
    q.loc[q["quarry_id"] == "Q12", "name"] = "{{ cycler.__init__.__globals__.os.mkdir('%s') }}" % marker
    q.loc[q["quarry_id"] == "Q01", "name"] = QUOTE_NAME
    q.loc[q["quarry_id"] == "Q15", "owner"] = "{% for x in range(3) %}X{% endfor %}"
    layers["towns"].loc[0, "town"] = "{{8*8}}镇"
    for name, frame in layers.items():
        frame.to_file(path, layer=name, driver="GPKG", engine="pyogrio")


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    marker = root / "PWNED"
    pack = root / "pack.gpkg"
    _hostile_pack(pack, marker)
    scenario = root / "s.toml"
    scenario.write_text('name = "{{9*9}}"\n', encoding="utf-8")
    out = root / "run"
    r = wlgeo_cli("run", pack, "--scenario", scenario, "--out", out, "--no-sites")
    return root, marker, out, r


def test_template_names_run_nothing(hostile_run):
    root, marker, out, r = hostile_run
    assert r.returncode == 0, r.stderr
    assert not marker.exists()
    text = (out / "map.html").read_text(encoding="utf-8")
    assert TEMPLATE_NAME in text and "{{9*9}}" in text and "{{8*8}}镇" in text
    assert "{% for x in range(3) %}X{% endfor %}" in text
    assert "cycler.__init__.__globals__" in text


def _feature_texts(b: Chromium, quarry_id: str):
    return b.evaluate(
        f"""(() => {{
        for (const g of Object.values(window.wlgeoLayers)) for (const l of g.getLayers()) {{
            const p = l.feature.properties;
            if (p._s && p._s.startsWith({json.dumps(quarry_id + ' ')})) {{
                l.openPopup(); l.openTooltip();
                return [l.getPopup().getElement().textContent, l.getTooltip().getElement().textContent, p._s];
            }}
        }}
        return null; }})()"""
    )


def _search(b: Chromium, text: str) -> list[str]:
    return b.evaluate(
        f"""(() => {{ const i = document.querySelector('.wlgeo-search-input'); i.value = {json.dumps(text)};
        i.dispatchEvent(new Event('input'));
        return Array.from(document.querySelectorAll('.wlgeo-search-hit')).map(li => li.textContent); }})()"""
    )


def test_template_names_show_literally_in_the_browser(hostile_run):
    root, marker, out, r = hostile_run
    with Chromium() as b:
        b.open(out / "map.html")
        b.wait_for("window.wlgeoDrawn !== undefined")
        b.pump(0.3)
        popup, tooltip, search = _feature_texts(b, "Q11")
        assert TEMPLATE_NAME in popup and TEMPLATE_NAME in tooltip and search == "Q11 " + TEMPLATE_NAME
        assert "49" not in popup.replace("2035", "")
        popup, tooltip, _ = _feature_texts(b, "Q01")
        assert QUOTE_NAME in popup and QUOTE_NAME in tooltip
        assert _search(b, "7*7") == ["Q11 " + TEMPLATE_NAME]
        title = b.evaluate("document.querySelector('.wlgeo-title').textContent")
        assert "{{9*9}}" in title and "81" not in title
        assert b.page_errors == [] and b.console_errors == []
    assert not marker.exists()


def test_diff_map_shows_template_names_literally(tmp_path):
    import wlgeo
    from wlgeo.review.diffmap import diff_map
    from wlgeo.model.pack import LayerPack

    layers = fx.layers()
    q = layers["quarries"]
    marker = tmp_path / "PWNED"
    q.loc[q["quarry_id"] == "Q04", "name"] = TEMPLATE_NAME  # Q04 changes class below
    q.loc[q["quarry_id"] == "Q12", "name"] = "{{ cycler.__init__.__globals__.os.mkdir('%s') }}" % marker
    pack = LayerPack(layers)
    a = wlgeo.plan(pack, wlgeo.Scenario(), sites=False)
    b = wlgeo.plan(pack, wlgeo.Scenario().replace(name="{{6*6}}", blast_distance_m=100), sites=False)
    path = tmp_path / "diff.html"
    path.write_text(diff_map(a, b, pack).get_root().render(), encoding="utf-8")
    assert not marker.exists()
    with Chromium() as br:
        br.open(path)
        br.wait_for("window.wlgeoDrawn !== undefined")
        popup, tooltip, _ = _feature_texts(br, "Q04")
        assert TEMPLATE_NAME in popup and TEMPLATE_NAME in tooltip
        assert "{{6*6}}" in br.evaluate("document.querySelector('.wlgeo-title').textContent")
        assert br.page_errors == []


def test_tianditu_key_is_not_template_source(monkeypatch):
    from wlgeo.model.errors import MapError
    from wlgeo.products.maps import folium_map
    import wlgeo
    from wlgeo.model.pack import LayerPack

    result = wlgeo.plan(LayerPack({"quarries": fx.quarries()}), wlgeo.Scenario(), sites=False)
    with pytest.raises(MapError, match="letters and digits"):
        folium_map(result, None, basemap="tianditu", tianditu_key="{{7*7}}")


# --------------------------------------------------------------------------- 2. clear one-line errors

import hostile_fixtures as hf  # noqa: E402

import wlgeo  # noqa: E402
from wlgeo.model.errors import LayerError, ReadError, WlgeoError  # noqa: E402

X0, Y0 = 460_000.0, 3_250_000.0
BUBIAO = """[属性描述]
坐标系=2000国家大地坐标系
几度分带=3
带号=36
[地块坐标]
{count},2.0000,Q-1,测试地块,面,,,,@
1,1,3250000.000,460000.000
2,1,3250000.000,460100.000
3,1,3250100.000,460100.000
4,1,3250000.000,460000.000
"""


@pytest.mark.parametrize("count", ["inf", "1e400", "-inf", "nan", "4.5", "1e20"])
def test_bubiao_point_count_not_a_whole_number(tmp_path, count):
    path = tmp_path / "parcel.txt"
    path.write_text(BUBIAO.format(count=count), encoding="utf-8")
    with pytest.raises(LayerError, match="点数|declares") as info:
        wlgeo.read_layer(path)
    assert "Q-1" in str(info.value) and "point_count" in str(info.value)
    assert "\n" not in str(info.value)


def _catalog(tmp_path: Path, path_text: str) -> Path:
    catalog = tmp_path / "pack.toml"
    catalog.write_text(f"[layers.quarries]\npath = {json.dumps(path_text)}\n", encoding="utf-8")
    return catalog


@pytest.mark.parametrize("case, needle", [
    ("loop", "symbolic link loop"), ("nul", "NUL character"), ("long", "characters long"), ("longname", "too long"),
])
def test_catalog_paths_the_os_rejects(tmp_path, case, needle):
    (tmp_path / "loopA").symlink_to(tmp_path / "loopB")
    (tmp_path / "loopB").symlink_to(tmp_path / "loopA")
    text = {"loop": "loopA/q.gpkg", "nul": "q\u0000.gpkg", "long": "x" * 5000 + ".gpkg", "longname": "y" * 300 + ".gpkg"}[case]
    catalog = _catalog(tmp_path, text)
    with pytest.raises(ReadError, match=needle) as info:
        wlgeo.read_pack(catalog)
    assert str(catalog) in str(info.value) and "[layers.quarries] path" in str(info.value)
    r = wlgeo_cli("validate", catalog)
    assert r.returncode == 2 and needle in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_long_and_nul_paths_to_read_layer():
    with pytest.raises(ReadError, match="characters long"):
        wlgeo.read_layer("z" * 5000 + ".gpkg")
    with pytest.raises(ReadError, match="NUL"):
        wlgeo.read_layer("a\u0000b.gpkg")


def _ring_gpkg(path: Path) -> Path:
    good = [(X0, Y0), (X0 + 10, Y0), (X0, Y0 + 10), (X0, Y0)]
    return hf.write_gpkg_with_blobs(path, {
        "OK": hf.polygon_wkb([good]),
        "UNCLOSED": hf.polygon_wkb([good[:3]]),
        "ONE": hf.polygon_wkb([good[:1]]),
    })


def test_unclosed_ring_in_geopackage_named_by_feature(tmp_path):
    path = _ring_gpkg(tmp_path / "q.gpkg")
    with pytest.raises(LayerError) as info:
        wlgeo.read_layer(path, layer="quarries")
    text = str(info.value)
    assert "feature 'UNCLOSED'" in text and "layer 'quarries'" in text and "field 'geometry'" in text
    assert "closed" in text


@pytest.mark.parametrize("ring, reason", [
    ([[107.7, 29.3], [107.71, 29.3], [107.71, 29.31]], "closed"),
    ([[107.7, 29.3]], "elements"),
])
def test_bad_rings_in_geojson_named_by_feature(tmp_path, ring, reason):
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"quarry_id": "A1"},
         "geometry": {"type": "Polygon", "coordinates": [[[107.8, 29.3], [107.81, 29.3], [107.81, 29.31], [107.8, 29.3]]]}},
        {"type": "Feature", "properties": {"quarry_id": "B2"}, "geometry": {"type": "Polygon", "coordinates": [ring]}}]}
    path = tmp_path / "q.geojson"
    path.write_text(json.dumps(fc), encoding="utf-8")
    with pytest.raises(LayerError, match=reason) as info:
        wlgeo.read_layer(path)
    assert "feature 'B2'" in str(info.value) and "field 'geometry'" in str(info.value)


@pytest.mark.parametrize("value", [[True, False], ["a", "b"], [1, 2], {"a": 1}, [1, "x"]])
def test_list_valued_geojson_property(tmp_path, value):
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"quarry_id": "A1", "owner": value},
         "geometry": {"type": "Point", "coordinates": [107.7, 29.3]}},
        {"type": "Feature", "properties": {"quarry_id": "B2", "owner": value},
         "geometry": {"type": "Point", "coordinates": [107.71, 29.3]}}]}
    path = tmp_path / "q.geojson"
    path.write_text(json.dumps(fc), encoding="utf-8")
    with pytest.raises(LayerError, match="list or object") as info:
        wlgeo.read_layer(path)
    assert "feature 'A1'" in str(info.value) and "field 'owner'" in str(info.value)


@pytest.mark.parametrize("part_type", [0, 1])  # triangle strip, triangle fan: GDAL reads them as TIN
def test_multipatch_shapefile_refused_naming_the_type(tmp_path, part_type):
    path = hf.write_multipatch_shapefile(tmp_path / "三维矿山.shp", part_type)
    with pytest.raises(LayerError, match="TIN") as info:
        wlgeo.read_layer(path, crs="EPSG:4545")
    assert "MultiPatch" in str(info.value) and str(path) in str(info.value)
    catalog = tmp_path / "pack.toml"
    catalog.write_text('[layers.quarries]\npath = "三维矿山.shp"\ncrs = "EPSG:4545"\n', encoding="utf-8")
    r = wlgeo_cli("validate", catalog)
    assert r.returncode == 1 and "TIN" in r.stdout  # validate lists it as the layer's problem
    r = wlgeo_cli("run", catalog, "--out", tmp_path / "run")
    assert r.returncode == 2 and "TIN" in r.stderr and not (tmp_path / "run").exists()


def test_paths_with_exclamation_marks_are_read(tmp_path):
    folder = tmp_path / "重要!资料" / "!2024"
    folder.mkdir(parents=True)
    fx.write_pack(tmp_path / "pack.gpkg")  # (pyogrio itself cannot write there)
    (tmp_path / "pack.gpkg").rename(folder / "pack!v2.gpkg")
    frame = wlgeo.read_layer(folder / "pack!v2.gpkg", layer="quarries")
    assert sorted(frame["quarry_id"]) == sorted(fx.EXPECTED)
    fx.quarries().to_file(tmp_path / "q.shp", engine="pyogrio", encoding="utf-8")
    for part in tmp_path.glob("q.*"):
        part.rename(folder / ("q!" + part.suffix))
    assert len(wlgeo.read_layer(folder / "q!.shp")) == len(fx.EXPECTED)
    pack = wlgeo.read_pack(folder / "pack!v2.gpkg")
    assert set(pack.layers) == set(fx.layers())
    r = wlgeo_cli("run", folder / "pack!v2.gpkg", "--out", folder / "run!1", "--no-sites")
    assert r.returncode == 0, r.stderr
    assert "close 6, expire 4, retain 2, consolidate 5" in r.stdout
    assert (folder / "run!1" / "plan.gpkg").is_file()


@pytest.mark.parametrize("text, field", [
    ("trunk_line_m = 1e200\n", "trunk_line_m"),
    ("main_river_m = 1e12\n", "main_river_m"),
    ("blast_distance_m = 2e5\n", "blast_distance_m"),
    ("merge_distance_m = 1e300\n", "merge_distance_m"),
    ("[siting]\nsite_spacing_m = 1e200\n", "siting.site_spacing_m"),
    ("[siting]\nwujiang_buffer_m = 1e200\n", "siting.wujiang_buffer_m"),
    ("[siting.road_buffer_m]\ncounty = 1e200\n", "siting.road_buffer_m.county"),
    ("[siting.saturation_m]\nports = 1e200\n", "siting.saturation_m.ports"),
    ("[siting]\ngrid_resolution_m = 0.01\n", "siting.grid_resolution_m"),
    ("[siting]\ngrid_resolution_m = 1e9\n", "siting.grid_resolution_m"),
    ("[siting]\nnew_site_capacity = 0\n", "siting.new_site_capacity"),
    ("max_total_capacity = 1e308\n", "max_total_capacity"),
    ("max_quarries = 9223372036854775807\n", "max_quarries"),
    ("min_overlap_m2 = 1e300\n", "min_overlap_m2"),
])
def test_scenario_numbers_bounded_with_the_allowed_range(tmp_path, text, field):
    from wlgeo.model.errors import ScenarioError

    path = tmp_path / "s.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError, match="allowed: ") as info:
        wlgeo.Scenario.from_toml(path)
    assert info.value.field == field and str(path) in str(info.value)


def test_scenario_bound_in_the_cli(tmp_path):
    pack = tmp_path / "pack.gpkg"
    fx.write_pack(pack)
    scenario = tmp_path / "far.toml"
    scenario.write_text("trunk_line_m = 1e200\n", encoding="utf-8")
    r = wlgeo_cli("run", pack, "--scenario", scenario, "--out", tmp_path / "out", "--no-sites")
    assert r.returncode == 2 and "trunk_line_m" in r.stderr and "≤ 100000 m" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "out").exists()


def test_room_for_sites_with_a_huge_cap_over_a_tiny_site():
    from wlgeo.engine.siting.select import room_for_sites

    scenario = wlgeo.Scenario(max_total_capacity=1e6, max_quarries=None,
                              siting={"new_site_capacity": 5e-324, "max_new_sites": 7})
    limit, notes = room_for_sites(scenario, kept_count=3, kept_capacity=10.0)
    assert limit == 7 and notes == []


# --------------------------------------------------------------------------- 3. memory budget

import numpy as np  # noqa: E402
import shapely  # noqa: E402

from wlgeo.model.resources import (  # noqa: E402
    MemoryBudget,
    ResourceError,
    parse_memory_limit,
    process_memory,
    using_budget,
)


@pytest.mark.parametrize("text, size", [
    ("2GiB", 2 * 1024**3), ("512MiB", 512 * 1024**2), ("2GB", 2_000_000_000), ("1.5 gb", 1_500_000_000),
    ("300MB", 300_000_000), ("1TiB", 1024**4), ("100000000", 100_000_000), ("64mib", 64 * 1024**2),
])
def test_parse_memory_limit(text, size):
    assert parse_memory_limit(text) == size


@pytest.mark.parametrize("text", ["", "two GiB", "2XB", "-1GiB", "1e400GB", "nan", "inf", "3MB", "10EB", "1,5GB"])
def test_parse_memory_limit_refuses(text):
    with pytest.raises(ResourceError):
        parse_memory_limit(text)


def test_default_budget_is_half_of_available_memory():
    meminfo = Path("/proc/meminfo").read_text()
    available = int(next(line for line in meminfo.splitlines() if line.startswith("MemAvailable:")).split()[1]) * 1024
    budget = MemoryBudget.resolve(None)
    assert abs(budget.limit - available // 2) < 0.1 * available  # memory moves a little between the two reads
    assert "half" in budget.source


def _room(mib: int) -> int:
    """A budget leaving ``mib`` MiB above what this test process already holds."""
    return process_memory() + mib * 1024**2


def test_grid_refused_under_the_budget():
    from wlgeo.model.pack import LayerPack

    pack = LayerPack({"quarries": fx.quarries(), "boundary": fx.boundary()})
    fine = wlgeo.Scenario(siting={"grid_resolution_m": 1.0})
    with pytest.raises(ResourceError, match="siting grid of 6,000 × 92,000 cells of 1 m") as info:
        wlgeo.plan(pack, fine, memory_limit=_room(200))
    assert "grid_resolution_m" in str(info.value) and "30 m would need about" in str(info.value)


def test_dem_grid_refused_before_it_is_read(tmp_path):
    import rasterio
    from affine import Affine

    from wlgeo.engine.siting.grid import read_dem

    dem = tmp_path / "dem_1m.tif"
    with rasterio.open(dem, "w", driver="GTiff", width=60_000, height=50_000, count=1, dtype="float32",
                       crs="EPSG:4545", transform=Affine(1, 0, 440_000, 0, -1, 3_280_000), tiled=True,
                       sparse_ok=True, compress="deflate"):
        pass  # nothing written: a sparse 3e9-cell file of a few kB
    with using_budget(_room(500)), pytest.raises(ResourceError, match="50,000 × 60,000 cells of 1 m") as info:
        read_dem(dem)
    assert "gdalwarp" in str(info.value)


def test_distance_transform_refused_under_the_budget():
    from wlgeo.engine.siting.factors import distance_to
    from wlgeo.engine.siting.grid import grid_from_bounds

    grid = grid_from_bounds((450_000, 3_200_000, 470_000, 3_220_000), 10.0)  # 2000 × 2000 cells
    far_port = [shapely.Point(520_000, 3_210_000)]  # 50 km east: padding to reach it makes 2000 × 7000 cells
    with using_budget(_room(100)):
        near = distance_to([shapely.Point(460_000, 3_210_000)], grid_from_bounds((455_000, 3_205_000, 465_000, 3_215_000), 50.0))
        assert near.shape == (200, 200) and float(near.min()) < 50
        with pytest.raises(ResourceError, match="distance transform over 2,000 × 7,000 cells") as info:
            distance_to(far_port, grid, max_distance=60_000)
    assert "saturation_m" in str(info.value)


def test_buffers_refused_under_the_budget():
    from wlgeo.engine.siting.grid import grid_from_bounds
    from wlgeo.engine.siting.mask import burn_outside

    grid = grid_from_bounds((450_000, 3_200_000, 460_000, 3_210_000), 50.0)
    rng = np.random.default_rng(0)
    # 2 000 wiggly roads of 2 000 vertices each: 8 million buffered vertices
    roads = [shapely.LineString(np.column_stack([np.linspace(450_000, 460_000, 2000),
                                                 3_200_000 + 10_000 * rng.random() + 5 * rng.random(2000)]))
             for _ in range(2000)]
    with using_budget(_room(100)):
        assert burn_outside(roads[:3], 100.0, grid).any()
        with pytest.raises(ResourceError, match="buffering 2,000 geometries") as info:
            burn_outside(roads, 100.0, grid)
    assert "simplify" in str(info.value)


def test_candidate_pairs_refused_under_the_budget():
    from wlgeo.engine.classify import consolidation_links, estimate_pairs

    rng = np.random.default_rng(1)
    xy = rng.random((20_000, 2)) * 5_000  # 20 000 quarries in 5 km × 5 km, all within 10 km of each other
    geoms = shapely.points(xy)
    capacity = np.full(len(geoms), 10.0)
    surviving = np.ones(len(geoms), dtype=bool)
    assert estimate_pairs(geoms, 10_000.0) == len(geoms) ** 2  # one bin: every ordered pair
    with using_budget(_room(100)):
        a, b = consolidation_links(geoms[:50], capacity[:50], surviving[:50], merge_distance_m=10.0, min_capacity=50)
        with pytest.raises(ResourceError, match="4e\\+08 candidate pairs of 20,000 quarries") as info:
            consolidation_links(geoms, capacity, surviving, merge_distance_m=10_000.0, min_capacity=50)
    assert "merge_distance_m" in str(info.value)


def test_estimate_pairs_counts_near_pairs():
    # three clusters far apart: 5 + 3 + 1 points; within 10 m only points of a cluster meet
    xy = [(0, 0), (1, 0), (2, 0), (3, 0), (4, 0), (1000, 0), (1001, 0), (1002, 0), (5000, 5000)]
    assert estimate_pairs_of(xy, 10.0) == 5 * 5 + 3 * 3 + 1


def estimate_pairs_of(xy, d):
    from wlgeo.engine.classify import estimate_pairs

    return estimate_pairs(shapely.points(np.asarray(xy, dtype=float)), d)


def test_memory_limit_in_the_cli(tmp_path):
    pack = tmp_path / "pack.gpkg"
    fx.write_pack(pack)
    scenario = tmp_path / "fine.toml"
    scenario.write_text("[siting]\ngrid_resolution_m = 1\n", encoding="utf-8")
    r = wlgeo_cli("run", pack, "--scenario", scenario, "--out", tmp_path / "out", "--memory-limit", "1GiB")
    assert r.returncode == 2 and "--memory-limit 1GiB" in r.stderr and "siting grid" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "out").exists()
    r = wlgeo_cli("run", pack, "--out", tmp_path / "out", "--memory-limit", "lots")
    assert r.returncode == 2 and "not a size" in r.stderr
    r = wlgeo_cli("demo", "--out", tmp_path / "demo", "--memory-limit", "100MiB")
    assert r.returncode == 2 and "over the memory budget of 100 MiB" in r.stderr
    assert not (tmp_path / "demo").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


# --------------------------------------------------------------------------- 5. complete or absent


def test_bidi_controls_removed_from_file_names():
    from wlgeo.io.filenames import safe_filename

    assert safe_filename("和顺镇\u202egpj.exe") == "和顺镇gpj.exe"
    for ch in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c":
        assert safe_filename(f"a{ch}b") == "ab"


def test_export_file_names_without_bidi(tmp_path):
    layers = fx.layers()
    layers["towns"].loc[0, "town"] = "甲\u202e镇"
    q = layers["quarries"]
    q.loc[q["town"] == fx.TOWN_A, "town"] = "甲\u202e镇"
    pack = tmp_path / "pack.gpkg"
    for name, frame in layers.items():
        frame.to_file(pack, layer=name, driver="GPKG", engine="pyogrio")
    run = tmp_path / "run"
    assert wlgeo_cli("run", pack, "--out", run, "--no-sites").returncode == 0
    r = wlgeo_cli("export", run / "plan.gpkg", "--by", "town", "--out", tmp_path / "towns")
    assert r.returncode == 0, r.stderr
    names = [p.name for p in (tmp_path / "towns").iterdir()]
    assert "甲镇.gpkg" in names
    assert not any(ch in name for name in names for ch in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def test_failed_run_leaves_nothing_and_keeps_the_previous_run(tmp_path, monkeypatch):
    """A run failing while writing (here: the map cannot be made) leaves no plan.gpkg of its own,
    no temporary directory, and a previous run in the directory untouched."""
    from wlgeo.model.errors import MapError

    pack = tmp_path / "pack.gpkg"
    fx.write_pack(pack)
    out = tmp_path / "run"
    import importlib

    plan_module = importlib.import_module("wlgeo.runs.writer")

    first = plan_module.run_plan(pack, out_dir=out, sites=False)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert set(before) >= {"plan.gpkg", "map.html", "manifest.json"}

    def broken(*args, **kwargs):
        raise MapError("the map could not be made (test)")

    monkeypatch.setattr(plan_module, "_write_maps", broken)
    with pytest.raises(MapError):
        plan_module.run_plan(pack, out_dir=out, sites=False, overwrite=True)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    with pytest.raises(MapError):
        plan_module.run_plan(pack, out_dir=tmp_path / "new", sites=False)
    assert not (tmp_path / "new").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pack.gpkg", "run"]
    assert first.out_dir == out


def test_overwrite_into_a_folder_with_other_files_keeps_them(tmp_path):
    pack = tmp_path / "pack.gpkg"
    fx.write_pack(pack)
    out = tmp_path / "work"
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    r = wlgeo_cli("run", pack, "--out", out, "--overwrite", "--no-sites")
    assert r.returncode == 0, r.stderr
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert (out / "manifest.json").is_file() and (out / "plan.gpkg").is_file()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _complete(folder: Path) -> bool:
    """A complete run: its manifest lists every file there with the right hash, and nothing else is there."""
    import hashlib

    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    files = {p.name for p in folder.iterdir()}
    if files != set(manifest["outputs"]) | {"manifest.json"}:
        return False
    return all(hashlib.sha256((folder / n).read_bytes()).hexdigest() == h for n, h in manifest["outputs"].items())


# Moments of a demo run at which a signal arrives: seconds after start (start-up imports, reading,
# planning), or as soon as a file appears in the staging directory (writing).
MOMENTS = [0.25, 0.8, 2.0, 4.0, "stage", "plan.gpkg", "map.html", "sheet.png", "summary.xlsx", "manifest.json"]


def test_signals_at_ten_moments_leave_a_complete_run_or_the_previous_one(tmp_path):
    import signal
    import time

    out = tmp_path / "demo"
    first = wlgeo_cli("demo", "--out", out)
    assert first.returncode == 0, first.stderr
    assert _complete(out)
    previous = _tree(out)
    outcomes = []
    for k, moment in enumerate(MOMENTS):
        sig = (signal.SIGINT, signal.SIGTERM)[k % 2]
        proc = subprocess.Popen([sys.executable, "-m", "wlgeo.cli", "demo", "--out", str(out), "--overwrite"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        start = time.monotonic()
        while proc.poll() is None:
            stages = list(tmp_path.glob(".demo.*.tmp"))
            if isinstance(moment, float):
                reached = time.monotonic() - start >= moment
            elif moment == "stage":
                reached = bool(stages)
            else:
                reached = any((s / moment).exists() for s in stages)
            if reached:
                proc.send_signal(sig)
                break
            time.sleep(0.005)
        stdout, stderr = proc.communicate(timeout=300)
        assert "Traceback" not in stderr, stderr
        left = sorted(p.name for p in tmp_path.iterdir() if p.name != "demo")
        assert left == [], (moment, left)  # no staging or old directory left beside the run
        if proc.returncode == 0:
            outcomes.append((moment, "finished"))
        else:
            assert proc.returncode == 128 + sig, (moment, proc.returncode, stderr)
            what = "interrupted (SIGINT)" if sig == signal.SIGINT else "terminated (SIGTERM)"
            line = f"{what}: stopped; no partial output was kept"
            lines = stderr.strip().splitlines()
            assert lines[-1] in (line, f"error: {line}"), stderr  # one line (the error: form once the command runs)
            assert not any(x.startswith("error:") for x in lines[:-1]), stderr
            outcomes.append((moment, proc.returncode))
        assert _complete(out), moment
        now = _tree(out)
        assert now == previous or proc.returncode == 0 or moment == "manifest.json", moment
        previous = now
    interrupted = [m for m, r in outcomes if r != "finished"]
    assert len(interrupted) >= 8, outcomes  # the signals did land while the runs were going


# --------------------------------------------------------------------------- 6. found by scripts/fuzz.py


def test_control_characters_from_data_do_not_break_the_one_line_message(tmp_path):
    """Fuzz findings: a corner table of NUL/VT bytes and a GeoJSON property key U+0085 (NEL) made
    messages that ``splitlines`` cuts in two; a bidi override could reorder it on screen."""
    table = tmp_path / "f.csv"
    table.write_bytes(b"\x00" * 9 + b"\x0b\x00")
    with pytest.raises(LayerError) as info:
        wlgeo.read_layer(table)
    assert len(str(info.value).splitlines()) == 1 and "\\x0b" in str(info.value)
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"quarry_id": "Q\u202e1\u2028", "name": {"\x85": None}},
         "geometry": {"type": "Point", "coordinates": [107.7, 29.3]}}]}
    path = tmp_path / "q.geojson"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(LayerError) as info:
        wlgeo.read_layer(path)
    text = str(info.value)
    assert len(text.splitlines()) == 1 and "\u202e" not in text and "feature 'Q\\u202e1\\u2028'" in text
    r = wlgeo_cli("validate", table)
    assert len(r.stderr.strip().splitlines()) <= 1 and "\x0b" not in r.stderr + r.stdout


def test_devices_pipes_and_bombs_are_refused_before_reading(tmp_path):
    import os
    import zipfile

    (tmp_path / "zero.geojson").symlink_to("/dev/zero")
    os.mkfifo(tmp_path / "pipe.txt")
    os.mkfifo(tmp_path / "pipe.toml")
    for name in ("zero.geojson", "pipe.txt"):
        with pytest.raises(ReadError, match="not a regular file"):
            wlgeo.read_layer(tmp_path / name)
    with pytest.raises(ReadError, match="not a regular file"):
        wlgeo.read_pack(tmp_path / "pipe.toml")
    with pytest.raises(ReadError, match="not a regular file"):
        wlgeo.Scenario.from_toml(tmp_path / "pipe.toml")
    bomb = tmp_path / "corners.xlsx"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"<a>" + b" " * (200 << 20))  # 200 MiB of XML in 200 kB
    assert bomb.stat().st_size < 1 << 20
    with using_budget(_room(500)), pytest.raises(ResourceError, match="200 MiB of XML once unzipped"):
        wlgeo.read_layer(bomb)
    big = tmp_path / "s.toml"
    big.write_text("# " + "x" * (2 << 20) + "\n", encoding="utf-8")
    with pytest.raises(wlgeo.ScenarioError, match="at most"):
        wlgeo.Scenario.from_toml(big)


def test_nul_in_catalog_options(tmp_path):
    """Fuzz finding: ``encoding = "a\\u0000b"`` in a catalog raised a bare ValueError."""
    (tmp_path / "q.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"quarry_id": "Q1", "capacity": 60, "license_end": "2030-12-31"},
         "geometry": {"type": "Point", "coordinates": [107.75, 29.35]}}]}), encoding="utf-8")
    for key in ("encoding", "layer", "crs"):
        catalog = tmp_path / "pack.toml"
        catalog.write_text(f'[layers.quarries]\npath = "q.geojson"\n{key} = "a\\u0000b"\n', encoding="utf-8")
        with pytest.raises(WlgeoError) as info:
            wlgeo.read_pack(catalog)
        assert "a\\x00b" in str(info.value) and "\x00" not in str(info.value)


def test_zero_area_polygons_do_not_break_the_zone_choice(tmp_path):
    """Fuzz finding: polygons whose points all coincide made ``working_crs_for`` raise a bare
    GEOSException (the centroid of their union is empty)."""
    ring = [[107.75, 29.35]] * 4
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"quarry_id": f"Q{i}", "capacity": 60, "license_end": "2030-12-31"},
         "geometry": {"type": "Polygon", "coordinates": [ring]}} for i in range(2)]}
    path = tmp_path / "q.geojson"
    path.write_text(json.dumps(doc), encoding="utf-8")
    try:
        frame = wlgeo.read_layer(path)
    except WlgeoError as err:
        assert len(str(err).splitlines()) == 1
    else:
        assert frame.crs.to_epsg() == 4545 and len(frame) == 2
    from wlgeo.model.crs import working_crs_for

    assert working_crs_for(shapely.Polygon([(107.75, 29.35)] * 4)).to_epsg() == 4545


def test_a_signal_after_the_command_finished_does_not_kill_the_exiting_process():
    """Python's finalisation restores the default action of handled signals; once the command is
    over, ``settle`` ignores them, so a late SIGTERM cannot end a finished run with exit -15."""
    code = (
        "import atexit, os, signal, sys, time\n"
        "from wlgeo.io import interrupt\n"
        "interrupt.install()\n"
        "interrupt.settle()\n"
        "atexit.register(lambda: (os.kill(os.getpid(), signal.SIGTERM), time.sleep(0.2), print('exited cleanly')))\n"
        "print('done')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, (result.returncode, result.stderr)
    assert result.stdout.split() == ["done", "exited", "cleanly"]
    unsettled = subprocess.run([sys.executable, "-c", code.replace("interrupt.settle()\n", "")],
                               capture_output=True, text=True, timeout=60)
    assert unsettled.returncode != 0  # without it the late signal is not ignored
