"""A second district in another zone: the whole pipeline on layers/wushan.gpkg (巫山县, zone 37).

The pack is built by ``scripts/build_demo_pack.py --district wushan``: the real boundary plus
200 m × 100 m rectangles laid out in EPSG:4546 (CGCS2000 3-degree GK CM 111°E). The figures
below are worked out by hand from those rectangles (the table in ``build_wushan``'s docstring),
not by wlgeo; computed in zone 36 they would be off by ≈ 2 m² and ≈ 0.1 m.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import rasterio
import shapely
from osgeo_utils.samples import validate_gpkg

import wlgeo
from wlgeo import CRSError, read_pack
from wlgeo.products.sheet import sheet_figure

pytestmark = pytest.mark.filterwarnings("ignore::wlgeo.WlgeoWarning")

REPO = Path(__file__).resolve().parents[1]
PACK = REPO / "layers" / "wushan.gpkg"
DEM = REPO / "layers" / "wushan.dem.tif"
SCRIPT = REPO / "scripts" / "build_demo_pack.py"

EXPECTED = {
    "W01": "close", "W02": "close", "W03": "close", "W04": "expire", "W05": "expire",
    "W06": "consolidate", "W07": "consolidate", "W08": "retain", "W09": "retain", "W10": "expire",
}
X0, Y0, SLOT = 385_000.0, 3_438_000.0, 5_000.0  # row A origin in EPSG:4546 (the builder's layout)


@pytest.fixture(scope="module")
def pack():
    return read_pack(PACK)


@pytest.fixture(scope="module")
def result(pack):
    return wlgeo.plan(pack)


def test_the_pack_works_in_zone_37(pack):
    assert pack.working_crs.to_epsg() == 4546
    assert pack.district == "巫山县"
    why = pack.provenance["_working_crs"]["why"]
    assert "boundary" in why and "zone 37" in why
    assert all(frame.crs.to_epsg() == 4546 for frame in pack.layers.values())
    assert pack.dem is not None and pack.dem.name == "wushan.dem.tif"


def test_decisions(result):
    q = result.quarries.set_index("quarry_id")
    assert q["decision"].to_dict() == EXPECTED
    assert result.counts() == {"close": 3, "expire": 3, "retain": 2, "consolidate": 2}


def test_areas_and_distances_are_the_hand_figures_in_zone_37(result):
    q = result.quarries.set_index("quarry_id")
    assert q.loc["W01", "red_line_m2"] == pytest.approx(5000.0, abs=1e-6)
    assert q.loc["W01", "red_line_pct"] == pytest.approx(25.0, abs=1e-9)
    assert q.loc["W02", "farmland_m2"] == pytest.approx(1000.0, abs=1e-6)
    assert q.loc["W03", "settlement_m"] == pytest.approx(180.0, abs=1e-6)
    assert q.loc["W04", "trunk_line_m"] == pytest.approx(650.0, abs=1e-6)
    assert q.loc["W05", "main_river_m"] == pytest.approx(420.0, abs=1e-6)
    assert q.loc["W01", "reasons"] == "red_line:5000m2(25%)"
    assert q.loc["W04", "reasons"].startswith("trunk_line:650m(G42")
    groups = result.consolidation_groups.set_index("group_id")
    assert list(groups.index) == ["G01"] and groups.loc["G01", "members"] == "W06;W07"
    assert groups.loc["G01", "capacity"] == pytest.approx(110.0)
    assert groups.loc["G01", "area_m2"] == pytest.approx(40_000.0, abs=1e-6)


def test_the_same_rectangles_measured_in_zone_36_differ():
    """The check above can fail: in EPSG:4545 the red-line overlap is not 5 000 m²."""
    x, y = X0, Y0
    quarry = gpd.GeoSeries([shapely.box(x, y, x + 200, y + 100)], crs=4546).to_crs(4545)
    red = gpd.GeoSeries([shapely.box(x + 100, y + 50, x + 300, y + 300)], crs=4546).to_crs(4545)
    assert abs(quarry.iloc[0].intersection(red.iloc[0]).area - 5000.0) > 1.0


def test_new_sites_lie_in_the_resource_zone_and_are_measured_in_zone_37(result, pack):
    sites = result.new_sites
    assert len(sites) >= 1 and sites.crs.to_epsg() == 4546
    zone = shapely.box(X0 + 3 * SLOT, Y0 - 8000, X0 + 3 * SLOT + 3000, Y0 - 6000)  # the builder's slot B3
    assert pack["resource_zones"].geometry.iloc[0].equals(zone)
    port = pack["ports"].geometry.iloc[0]
    for _, site in sites.iterrows():
        assert zone.buffer(1e-6).covers(site.geometry)
        assert site["port_m"] == pytest.approx(site.geometry.distance(port), abs=1e-6)
        assert site["area_m2"] == pytest.approx(site.geometry.area, abs=1e-6)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return wlgeo.run(PACK, out_dir=tmp_path_factory.mktemp("wushan") / "run")


def test_run_writes_everything_in_zone_37_and_titles_the_district(run_dir):
    out = run_dir
    plan_gpkg = out / "plan.gpkg"
    for name, gtype in pyogrio.list_layers(plan_gpkg):
        if gtype is not None:
            assert pyogrio.read_info(plan_gpkg, layer=name)["crs"] == "EPSG:4546", name
    errors = validate_gpkg.check(str(plan_gpkg), abort_at_first_error=False)
    assert not errors, errors
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["district"] == "巫山县"
    assert manifest["working_crs"]["crs"] == "EPSG:4546" and "boundary" in manifest["working_crs"]["why"]
    assert manifest["counts"] == {"close": 3, "expire": 3, "retain": 2, "consolidate": 2}
    assert "巫山县碎石矿山布局规划图 — 基准方案" in (out / "map.html").read_text(encoding="utf-8")
    with rasterio.open(out / "suitability.tif") as src:
        assert src.crs.to_epsg() == 4546
    reread = wlgeo.runs.reader.read_plan_layers(plan_gpkg)
    assert reread["quarries"].crs.to_epsg() == 4546


def test_map_in_headless_chromium_is_titled_and_placed_at_wushan(run_dir):
    from browser import Chromium

    with Chromium() as browser:
        browser.open(run_dir / "map.html")
        browser.wait_for("window.wlgeoDrawn !== undefined")
        browser.pump(0.3)
        title = browser.evaluate("document.querySelector('.wlgeo-title').textContent")
        assert title.startswith("巫山县碎石矿山布局规划图 — ")
        assert browser.evaluate("window.wlgeoCounts['decision:close']") == 3
        # every vertex (or marker) of the closed quarries, as drawn in lon/lat
        points = browser.evaluate(
            """(() => { const out = [];
            for (const l of window.wlgeoLayers['decision:close'].getLayers()) {
                const ps = l.getLatLngs ? l.getLatLngs().flat(3) : [l.getLatLng()];
                for (const p of ps) out.push([p.lng, p.lat]); }
            return out; })()"""
        )
        assert browser.page_errors == [] and browser.blocked == []
    from pyproj import Transformer

    # back in EPSG:4546, each lies on one of W01–W03 (lower-left corners at E 385 000 + k × 5 000, N 3 438 000)
    xs, ys = Transformer.from_crs(4326, 4546, always_xy=True).transform(*zip(*points))
    boxes = [shapely.box(X0 + k * SLOT, Y0, X0 + k * SLOT + 200, Y0 + 100) for k in range(3)]
    assert len(points) >= 3
    for x, y in zip(xs, ys):
        assert min(b.distance(shapely.Point(x, y)) for b in boxes) < 1.0, (x, y)


def test_sheet_title_and_grid(result, pack):
    fig = sheet_figure(result, pack)
    assert fig.texts[0].get_text() == "巫山县碎石矿山布局规划图 — 基准方案"
    assert any("EPSG:4546" in t.get_text() for t in fig.texts)


def test_rebuild_is_byte_identical(tmp_path):
    proc = subprocess.run([sys.executable, str(SCRIPT), "--district", "wushan", "--out-dir", str(tmp_path)],
                          capture_output=True, text=True, cwd=REPO, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "wushan.gpkg").read_bytes() == PACK.read_bytes()
    assert (tmp_path / "wushan.dem.tif").read_bytes() == DEM.read_bytes()


# --- catalogs: working_crs, district, mixed zones, the region --------------------------------------


def _catalog(tmp_path, top: str, layers: dict[str, tuple[Path, str | None]]) -> Path:
    lines = [top] if top else []
    for name, (path, layer) in layers.items():
        lines.append(f"[layers.{name}]")
        lines.append(f'path = "{path.as_posix()}"')
        if layer:
            lines.append(f'layer = "{layer}"')
    catalog = tmp_path / "catalog.toml"
    catalog.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return catalog


def test_catalog_working_crs_wins(tmp_path):
    catalog = _catalog(tmp_path, 'working_crs = "EPSG:4545"',
                       {n: (PACK, n) for n in ("boundary", "quarries", "red_line")})
    pack = read_pack(catalog)
    assert pack.working_crs.to_epsg() == 4545
    assert "set by the catalog" in pack.provenance["_working_crs"]["why"]
    metrics = wlgeo.plan(pack, sites=False).quarries.set_index("quarry_id")
    x, y = X0, Y0  # the same overlap, measured independently in zone 36 through geopandas/pyproj
    quarry = gpd.GeoSeries([shapely.box(x, y, x + 200, y + 100)], crs=4546).to_crs(4545).iloc[0]
    red = gpd.GeoSeries([shapely.box(x + 100, y + 50, x + 300, y + 300)], crs=4546).to_crs(4545).iloc[0]
    assert metrics.loc["W01", "red_line_m2"] == pytest.approx(quarry.intersection(red).area, abs=1e-6)


def test_catalog_refuses_a_working_crs_in_degrees(tmp_path):
    catalog = _catalog(tmp_path, 'working_crs = "EPSG:4490"', {"quarries": (PACK, "quarries")})
    with pytest.raises(CRSError) as info:
        read_pack(catalog)
    text = str(info.value)
    assert "not a projected CRS" in text and str(catalog) in text and "\n" not in text


def test_district_from_the_catalog_when_the_boundary_names_none(tmp_path):
    boundary = gpd.read_file(PACK, layer="boundary", engine="pyogrio")[["geometry"]]
    bare = tmp_path / "bare.gpkg"
    boundary.to_file(bare, layer="boundary", engine="pyogrio")
    catalog = _catalog(tmp_path, 'district = "测试县"', {"boundary": (bare, "boundary"), "quarries": (PACK, "quarries")})
    pack = read_pack(catalog)
    assert pack.district == "测试县" and pack.working_crs.to_epsg() == 4546
    fig = sheet_figure(wlgeo.plan(pack, sites=False), pack)
    assert fig.texts[0].get_text().startswith("测试县碎石矿山布局规划图")


def test_layers_in_another_zone_are_converted_with_a_note(tmp_path):
    quarries = gpd.read_file(PACK, layer="quarries", engine="pyogrio")
    in36 = tmp_path / "quarries_zone36.gpkg"
    quarries.to_crs(4545).to_file(in36, layer="quarries", engine="pyogrio")
    catalog = _catalog(tmp_path, "", {"boundary": (PACK, "boundary"), "quarries": (in36, "quarries"),
                                      "red_line": (PACK, "red_line")})
    pack = read_pack(catalog)
    assert pack.working_crs.to_epsg() == 4546
    assert any("reprojected from EPSG:4545 to EPSG:4546" in n for n in pack.provenance["quarries"]["notes"])
    back = pack["quarries"].set_index("quarry_id")
    original = quarries.set_index("quarry_id")
    for qid in original.index:
        assert shapely.equals_exact(back.loc[qid].geometry, original.loc[qid].geometry, tolerance=1e-6), qid
    assert wlgeo.plan(pack, sites=False).quarries.set_index("quarry_id").loc["W01", "red_line_m2"] == \
        pytest.approx(5000.0, abs=1e-6)


def test_a_layer_far_from_the_district_is_refused_by_layer(tmp_path):
    utah = gpd.GeoDataFrame({"name": ["Salt Lake"]}, geometry=[shapely.box(-112.0, 40.6, -111.8, 40.8)], crs="EPSG:4326")
    far = tmp_path / "utah.shp"
    utah.to_file(far, engine="pyogrio")
    catalog = _catalog(tmp_path, "", {"boundary": (PACK, "boundary"), "quarries": (PACK, "quarries"),
                                      "farmland": (far, None)})
    with pytest.raises(CRSError) as info:
        read_pack(catalog)
    text = str(info.value)
    assert "outside the district's region" in text and str(far) in text and "°W" in text
    report = wlgeo.check_pack(catalog)
    assert any(p.code == "crs_unplaced" and p.layer == "farmland" for p in report.errors)


def test_the_hand_worked_pack_planned_in_zone_40(tmp_path):
    """tests/plan_fixtures' rectangles declared in zone 40 (CM 120°E, near 杭州): same figures, zone 40 output."""
    import plan_fixtures as fx

    layers = {name: frame.set_crs("EPSG:4549", allow_override=True) for name, frame in fx.layers().items()}
    path = tmp_path / "zone40.gpkg"
    for name, frame in layers.items():
        frame.to_file(path, layer=name, driver="GPKG", engine="pyogrio")
    pack = read_pack(path)
    assert pack.working_crs.to_epsg() == 4549 and pack.district == "测试区"
    from wlgeo.runs.writer import run_plan

    out = run_plan(pack, out_dir=tmp_path / "run", sites=False)
    q = out.result.quarries.set_index("quarry_id")
    assert q["decision"].to_dict() == fx.EXPECTED
    assert q.loc["Q01", "red_line_m2"] == pytest.approx(5000.0, abs=1e-6)
    assert q.loc["Q04", "settlement_m"] == pytest.approx(180.0, abs=1e-6)
    assert pyogrio.read_info(tmp_path / "run" / "plan.gpkg", layer="quarries")["crs"] == "EPSG:4549"
    assert out.manifest["working_crs"]["crs"] == "EPSG:4549"
