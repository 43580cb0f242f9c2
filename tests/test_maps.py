"""The interactive map: self-contained HTML, checked in a real headless Chromium with no network."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from browser import Chromium
from wlgeo.model.crs import wgs84_to_gcj02
from wlgeo.model.errors import MapError, OutputError, WlgeoError
from wlgeo.model.pack import LayerPack
from wlgeo.products.mapkit import OUTLINE_ZOOM
from wlgeo.products.maps import folium_map, reason_items
from wlgeo.products.webmap import save_map

X0, Y0 = 460_000.0, 3_250_000.0
XSS_IMG = "<img src=x onerror=window.__xss=1>"
XSS_TEMPLATE = "${window.__xss=2}"
XSS_SCRIPT = "</script><script>window.__xss=3</script>"
XSS_ATTR = "\" onmouseover=\"window.__xss=4\" '"

DECISIONS = ["close", "expire", "retain", "consolidate", "retain", "close"]
NAMES = [XSS_IMG, XSS_TEMPLATE, "白马石灰岩矿", XSS_SCRIPT, XSS_ATTR, "羊角碎石场"]


def _result() -> SimpleNamespace:
    rows = []
    for i, (decision, name) in enumerate(zip(DECISIONS, NAMES)):
        rows.append(
            dict(
                quarry_id=f"Q-{i + 1}",
                name=name,
                owner=XSS_IMG if i == 2 else "武隆某建材公司",
                town="白马镇",
                capacity=30.0 + 20 * i,
                license_end=pd.Timestamp("2027-06-30"),
                decision=decision,
                reasons="red_line:12450m2(23.1%);settlement:180m" if i == 0 else ("trunk_line:640m" if i == 1 else ""),
                group_id="G-1" if decision == "consolidate" else None,
                geometry=shapely.box(X0 + i * 2000, Y0, X0 + i * 2000 + 500, Y0 + 400),
            )
        )
    quarries = gpd.GeoDataFrame(rows, crs="EPSG:4545")
    groups = gpd.GeoDataFrame(
        dict(group_id=["G-1"], members=["Q-4"], n_members=[1], capacity=[90.0]),
        geometry=[shapely.box(X0 + 5950, Y0 - 50, X0 + 6550, Y0 + 450)], crs="EPSG:4545",
    )
    sites = gpd.GeoDataFrame(
        dict(site_id=["N-1", "N-2"], score=[0.81, 0.77], capacity=[100.0, 100.0], area_m2=[250_000.0, 250_000.0]),
        geometry=[shapely.box(X0, Y0 + 3000, X0 + 500, Y0 + 3500), shapely.box(X0 + 4000, Y0 + 3000, X0 + 4500, Y0 + 3500)],
        crs="EPSG:4545",
    )
    return SimpleNamespace(quarries=quarries, consolidation_groups=groups, new_sites=sites,
                           scenario=SimpleNamespace(name="baseline"))


def _pack(*, district: bool = False) -> LayerPack:
    """Context layers; ``district`` draws an 80 km × 60 km boundary, so the map opens at district zoom."""
    extent = (X0 - 30_000, Y0 - 30_000, X0 + 50_000, Y0 + 30_000) if district else (X0 - 2000, Y0 - 2000, X0 + 14000, Y0 + 6000)
    boundary = gpd.GeoDataFrame(dict(name=["武隆区"]), geometry=[shapely.box(*extent)], crs=4545)
    roads = gpd.GeoDataFrame(
        dict(kind=["expressway", "county", "railway"], name=["G65", "X101", XSS_IMG]),
        geometry=[shapely.LineString([(X0 - 1000, Y0 - 1000), (X0 + 12000, Y0 + 5000)]),
                  shapely.LineString([(X0, Y0 + 2000), (X0 + 9000, Y0 + 2000)]),
                  shapely.LineString([(X0, Y0 + 5000), (X0 + 9000, Y0 + 5500)])],
        crs=4545,
    )
    ports = gpd.GeoDataFrame(dict(name=["白马港"]), geometry=[shapely.Point(X0 + 3000, Y0 + 4000)], crs=4545)
    parks = gpd.GeoDataFrame(dict(name=["长坝绿色建材产业园"], role=["park"]),
                             geometry=[shapely.box(X0 + 8000, Y0 + 3000, X0 + 10000, Y0 + 5000)], crs=4545)
    farmland = gpd.GeoDataFrame(geometry=[shapely.box(X0 + 100, Y0 + 1000, X0 + 900, Y0 + 1500)] * 3, crs=4545)
    return LayerPack({"boundary": boundary, "roads": roads, "ports": ports, "parks": parks, "farmland": farmland})


EXPECTED = {  # counted by hand from the frames above
    "decision:close": 2, "decision:expire": 1, "decision:retain": 2, "decision:consolidate": 1,
    "decision:new": 2, "groups": 1,
    "context:boundary": 1, "context:roads": 3, "context:ports": 1, "context:parks": 1, "context:farmland": 3,
}
HIDDEN = {"context:farmland"}  # off when the map opens


@pytest.fixture(scope="module")
def browser():
    with Chromium() as b:
        yield b


@pytest.fixture(scope="module", params=["town", "district"])
def map_path(request, tmp_path_factory):
    """The map opening at town zoom (13: polygons) and at district zoom (markers): same behaviour."""
    return save_map(_result(), _pack(district=request.param == "district"), tmp_path_factory.mktemp("map") / "map.html")


@pytest.fixture(scope="module")
def loaded(browser, map_path):
    browser.open(map_path)
    browser.wait_for("window.wlgeoDrawn !== undefined")
    browser.pump(0.3)
    return browser


def test_html_is_self_contained(map_path):
    text = map_path.read_text(encoding="utf-8")
    assert re.search(r"<script[^>]+src=", text, re.I) is None
    assert re.search(r"<link[^>]+href=", text, re.I) is None
    assert re.search(r"url\((?!data:|#)", text) is None  # CSS images inlined as data URIs
    assert "sourceMappingURL" not in text
    assert "tianditu" not in text and "openstreetmap.org" not in text and "autonavi" not in text
    assert "L.version" in text or 't.version="1.9.4"' in text


def test_attributes_escaped_in_html(map_path):
    text = map_path.read_text(encoding="utf-8")
    # raw payloads never appear; the only '</script' are the closing tags of our own script elements
    assert XSS_IMG not in text and "<img" not in text
    assert "window.__xss=3</script>" not in text
    assert text.lower().count("</script") == text.lower().count("<script")
    assert "${window.__xss=2}" not in text.split("<script")[0]


def test_geometry_quantised_and_in_wgs84(loaded):
    """The page decodes each quarry to its corners in EPSG:4326, within the 0.1 m quantum."""
    drawn = loaded.evaluate(
        """(() => { const out = {};
        for (const k of ['decision:close', 'decision:retain']) for (const l of window.wlgeoLayers[k].getLayers())
            out[l.feature.properties._s.split(' ')[0]] = l.getLatLngs()[0].map(p => [p.lng, p.lat]);
        return out; })()"""
    )
    quarries = _result().quarries.to_crs(4326).set_index("quarry_id")
    assert sorted(drawn) == ["Q-1", "Q-3", "Q-5", "Q-6"]
    for qid, ring in drawn.items():
        corners = np.array(quarries.geometry[qid].exterior.coords)[:-1]
        assert len(ring) == 4  # the closing vertex is implied
        for lon, lat in ring:
            assert np.hypot(corners[:, 0] - lon, corners[:, 1] - lat).min() < 2e-6  # 0.1 m quantum ≈ 1e-6°


def test_varints_round_trip():
    from wlgeo.products.webmap import decode_varints, encode_varints

    values = np.array([0, 1, -1, 15, 16, -16, -17, 31, 32, 1023, -1024, 2**31, -(2**35) + 3])
    text = encode_varints(values)
    assert set(text) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert decode_varints(text).tolist() == values.tolist()
    assert encode_varints(np.array([0, -1, 1, 16, -300])) == "ABCgB3S"  # worked by hand: zigzag, 5 bits a char


def test_window_l_and_counts(loaded):
    assert loaded.evaluate("typeof window.L") == "object"
    assert loaded.evaluate("L.version") == "1.9.4"
    counts = loaded.evaluate("window.wlgeoCounts")
    assert counts == EXPECTED
    sizes = loaded.evaluate("Object.fromEntries(Object.entries(window.wlgeoLayers).map(([k, g]) => [k, g.getLayers().length]))")
    assert sizes == EXPECTED
    on_map = loaded.evaluate(
        "Object.fromEntries(Object.entries(window.wlgeoLayers).map(([k, g]) => [k, g._map ? true : false]))"
    )
    assert {k for k, v in on_map.items() if not v} == HIDDEN
    # every visible feature is a path of the one canvas renderer
    drawn = loaded.evaluate("Object.keys(window.wlgeoLayers['decision:close']._map._renderer._layers).length")
    assert drawn == sum(n for k, n in EXPECTED.items() if k not in HIDDEN)
    assert loaded.evaluate("document.querySelectorAll('canvas.leaflet-zoom-animated').length") == 1
    assert loaded.evaluate("document.querySelectorAll('svg.leaflet-zoom-animated').length") == 0


def test_no_errors_no_requests(loaded, map_path):
    assert loaded.console_errors == []
    assert loaded.page_errors == []
    assert loaded.dialogs == []
    assert loaded.blocked == []
    assert all(u.startswith("file:") for u in loaded.requests)
    assert loaded.evaluate("window.__xss === undefined")


def test_legend_and_controls(loaded):
    legend = loaded.evaluate("document.querySelector('.wlgeo-legend').textContent")
    for label in ("关闭退出 Close (2)", "到期退出", "予以保留 Retain (2)", "优化整合 Consolidate (1)", "规划新建 New site (2)",
                  "高速公路 Expressway", "铁路 Railway", "县道 County road", "产业园区", "港口", "永久基本农田"):
        assert label in legend
    assert "武隆区碎石矿山布局规划图 — baseline" in loaded.evaluate("document.querySelector('.wlgeo-title').textContent")
    assert loaded.evaluate("document.querySelectorAll('.leaflet-control-scale').length") == 1
    assert loaded.evaluate("document.querySelectorAll('.wlgeo-fullscreen a, .wlgeo-measure a').length") == 2
    overlays = loaded.evaluate("Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label')).map(l => l.textContent.trim())")
    assert len(overlays) == len(EXPECTED)
    assert "关闭退出 Close (2)" in overlays


@pytest.mark.parametrize("quarry_id, payload", [("Q-1", XSS_IMG), ("Q-2", XSS_TEMPLATE), ("Q-4", XSS_SCRIPT), ("Q-5", XSS_ATTR)])
def test_xss_names_show_as_text(loaded, quarry_id, payload):
    text = loaded.evaluate(
        f"""(() => {{
        for (const g of Object.values(window.wlgeoLayers)) for (const l of g.getLayers()) {{
            if (l.feature.properties._s && l.feature.properties._s.startsWith({json.dumps(quarry_id + ' ')})) {{
                l.openPopup(); l.openTooltip();
                const p = l.getPopup().getElement().querySelector('.leaflet-popup-content');
                const t = l.getTooltip().getElement();
                return [p.textContent, t.textContent, p.querySelectorAll('img,script,[onmouseover]').length];
            }}
        }}
        return null; }})()"""
    )
    assert text is not None
    popup, tooltip, elements = text
    assert payload in popup
    assert payload in tooltip
    assert elements == 0
    loaded.pump(0.2)
    assert loaded.evaluate("window.__xss === undefined")
    assert loaded.dialogs == [] and loaded.page_errors == []


def test_popup_content_bilingual(loaded):
    popup = loaded.evaluate(
        """(() => { const l = window.wlgeoLayers['decision:close'].getLayers()[0]; l.openPopup();
        return l.getPopup().getElement().textContent; })()"""
    )
    for part in ("Q-1", "采矿权人 Owner", "武隆某建材公司", "白马镇", "30", "2027-06-30", "关闭退出 Close",
                 "占用生态保护红线 Overlaps ecological red line: 12450m2(23.1%)",
                 "爆破安全距离内有居民点 Settlement within blasting distance: 180m"):
        assert part in popup


def test_search_opens_popup(loaded):
    hits = loaded.evaluate(
        """(() => { const i = document.querySelector('.wlgeo-search-input'); i.value = '羊角';
        i.dispatchEvent(new Event('input')); return Array.from(document.querySelectorAll('.wlgeo-search-hit')).map(li => li.textContent); })()"""
    )
    assert hits == ["Q-6 羊角碎石场"]
    popup = loaded.evaluate(
        """(() => { document.querySelector('.wlgeo-search-hit').click();
        const map = window.wlgeoLayers['decision:close']._map;
        return [map._popup._source.feature.properties._s, map._popup.getElement().textContent]; })()"""
    )
    assert popup[0] == "Q-6 羊角碎石场"  # the map's open popup belongs to the hit
    assert "Q-6" in popup[1] and "羊角碎石场" in popup[1]
    xss_hit = loaded.evaluate(
        """(() => { const i = document.querySelector('.wlgeo-search-input'); i.value = 'q-1';
        i.dispatchEvent(new Event('input')); return document.querySelector('.wlgeo-search-list').innerHTML; })()"""
    )
    assert "<img" not in xss_hit and "&lt;img" in xss_hit


def test_measure_sums_distance(loaded):
    # two clicks 2 km apart along a meridian (1° of latitude ≈ 111 195 m on Leaflet's sphere)
    out = loaded.evaluate(
        """(() => { const map = window.wlgeoLayers['decision:close']._map;
        document.querySelector('.wlgeo-measure a').click();
        const a = L.latLng(29.3, 107.7), b = L.latLng(29.3 + 2000 / 111195, 107.7);
        map.fire('click', {latlng: a}); map.fire('click', {latlng: b});
        const text = document.querySelector('.wlgeo-measure-out').textContent;
        document.querySelector('.wlgeo-measure a').click();
        return text; })()"""
    )
    assert out.endswith("2.00 km")


def test_gaode_shifts_data_and_says_so(tmp_path):
    m = folium_map(_result(), None, basemap="gaode")
    text = m.get_root().render()
    assert "GCJ-02" in text and "autonavi" in text
    lon, lat = 107.7, 29.3
    g_lon, g_lat = wgs84_to_gcj02(np.array([lon]), np.array([lat]))
    assert 0.004 < g_lon[0] - lon < 0.0047 and -0.0032 < g_lat[0] - lat < -0.0024  # FIELD-NOTES range
    corner = _result().quarries.to_crs(4326).geometry.iloc[0].exterior.coords[0]
    gx, gy = wgs84_to_gcj02(np.array([corner[0]]), np.array([corner[1]]))
    coords = np.array([[float(a), float(b)] for a, b in re.findall(r"\[(1\d\d\.\d+),(\d\d\.\d+)\]", text)])
    near = lambda x, y: np.any(np.hypot(coords[:, 0] - x, coords[:, 1] - y) < 1.5e-6)  # noqa: E731
    assert near(gx[0], gy[0])
    assert not near(*corner)
    plain = folium_map(_result(), None).get_root().render()
    assert "GCJ-02" not in plain


def test_tianditu_needs_key(monkeypatch):
    monkeypatch.delenv("TIANDITU_KEY", raising=False)
    with pytest.raises(MapError, match="TIANDITU_KEY"):
        folium_map(_result(), None, basemap="tianditu")
    monkeypatch.setenv("TIANDITU_KEY", "abc123")
    text = folium_map(_result(), None, basemap="tianditu_img").get_root().render()
    assert "LAYER=img" in text and "LAYER=cia" in text and "tk=abc123" in text


def test_bad_options_and_inputs(tmp_path):
    with pytest.raises(MapError, match="allowed: none, osm"):
        folium_map(_result(), None, basemap="google")
    bad = _result()
    bad.quarries.loc[2, "decision"] = "keep"
    with pytest.raises(MapError, match="feature 'Q-3', field 'decision'.*unknown decision 'keep'") as err:
        folium_map(bad, None)
    assert isinstance(err.value, WlgeoError) and isinstance(err.value, ValueError)
    with pytest.raises(OutputError):
        save_map(_result(), None, tmp_path / "missing-dir" / "map.html")
    assert list(tmp_path.iterdir()) == []


def test_save_is_atomic_and_replaces(tmp_path):
    target = tmp_path / "map.html"
    target.write_text("old")
    save_map(_result(), _pack(), target)
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["map.html"]


def test_reason_items():
    assert reason_items("red_line:12450m2(23.1%);mystery:3;") == [
        "占用生态保护红线 Overlaps ecological red line: 12450m2(23.1%)", "mystery: 3"]
    assert reason_items(None) == [] and reason_items("") == []


# --------------------------------------------------------------------------- district zoom: dots, then outlines
FILLS = {  # the fill colours of style.py's decision symbols, written out
    "close": (0xE3, 0x1A, 0x1C), "expire": (0xFD, 0x8D, 0x3C), "retain": (0x33, 0xA0, 0x2C),
    "consolidate": (0x1F, 0x78, 0xB4), "new": (0x9E, 0x4F, 0xD0),
}
QUARRY_KEYS = [f"decision:{d}" for d in FILLS]


@pytest.fixture(scope="module")
def district_path(tmp_path_factory):
    return save_map(_result(), _pack(district=True), tmp_path_factory.mktemp("district") / "map.html")


@pytest.fixture(scope="module")
def browser2():
    with Chromium() as b:
        yield b


@pytest.fixture
def district(browser2, district_path):
    """The district map freshly opened (each test starts at the opening view)."""
    browser2.open(district_path)
    browser2.wait_for("window.wlgeoDrawn !== undefined")
    browser2.pump(0.3)
    return browser2


def _state(b) -> dict:
    """Per quarry layer: features, markers on the map, polygons on the map."""
    return b.evaluate(
        f"""(() => {{ const out = {{}};
        for (const k of {json.dumps(QUARRY_KEYS)}) {{ const g = window.wlgeoLayers[k];
            out[k] = [g.getLayers().length, g.wlgeoMarkers.filter(m => m._map).length, g.getLayers().filter(l => l._map).length];
        }}
        out.zoom = window.wlgeoLayers['context:boundary']._map.getZoom();
        out.drawn = Object.keys(window.wlgeoLayers['context:boundary']._map._renderer._layers).length;
        return out; }})()"""
    )


def _set_zoom(b, zoom: int) -> None:
    b.evaluate(f"(() => {{ const m = window.wlgeoLayers['context:boundary']._map; m.setView(m.getCenter(), {zoom}, {{animate: false}}); }})()")
    b.pump(0.3)


def test_district_map_opens_with_a_dot_per_quarry(district):
    state = _state(district)
    assert state["zoom"] < OUTLINE_ZOOM
    for key in QUARRY_KEYS:
        n = EXPECTED[key]
        assert state[key] == [n, n, 0]  # every quarry as a dot, no polygon drawn
    assert state["drawn"] == sum(n for k, n in EXPECTED.items() if k not in HIDDEN)
    styles = district.evaluate(
        f"""(() => {{ const out = {{}};
        for (const k of {json.dumps(QUARRY_KEYS)}) out[k] = window.wlgeoLayers[k].wlgeoMarkers.map(m =>
            [m.feature.properties._s || m.feature.properties._t, m.options.fillColor, m.options.fillOpacity, m.options.color,
             m.options.radius, m.getLatLng().lng, m.getLatLng().lat]);
        return out; }})()"""
    )
    quarries = _result().quarries.to_crs(4326).set_index("quarry_id")
    sites = _result().new_sites.to_crs(4326).set_index("site_id")
    for key in QUARRY_KEYS:
        decision = key.split(":")[1]
        for label, fill, opacity, outline, radius, lon, lat in styles[key]:
            assert fill.lower() == "#%02x%02x%02x" % FILLS[decision] and opacity == 1
            assert outline.lower() not in (fill.lower(), "#ffffff")  # a distinct (dark) outline
            if decision == "new":
                assert radius == 7 and outline.lower() == "#5b1f7a"
                shape = sites.geometry[next(s for s in sites.index if s in label)]
            else:
                assert radius == 5
                shape = quarries.geometry[label.split(" ")[0]]
                assert quarries.loc[label.split(" ")[0], "decision"] == decision
            assert shape.contains(shapely.Point(lon, lat))  # the dot sits inside its quarry


def test_dots_show_their_decision_colour_on_screen(district, tmp_path):
    from PIL import Image

    points = district.evaluate(
        f"""(() => {{ const out = []; const map = window.wlgeoLayers['context:boundary']._map;
        const box = map.getContainer().getBoundingClientRect();
        for (const k of {json.dumps(QUARRY_KEYS)}) for (const m of window.wlgeoLayers[k].wlgeoMarkers) {{
            const p = map.latLngToContainerPoint(m.getLatLng()); out.push([k.split(':')[1], p.x + box.left, p.y + box.top]);
        }}
        return [out, devicePixelRatio]; }})()"""
    )
    dots, ratio = points
    assert ratio == 1 and len(dots) == sum(EXPECTED[k] for k in QUARRY_KEYS)
    image = np.asarray(Image.open(district.screenshot(tmp_path / "district.png")).convert("RGB")).astype(int)
    for decision, x, y in dots:
        x, y = round(x), round(y)
        window = image[y - 8:y + 9, x - 8:x + 9]
        exact = np.all(window == FILLS[decision], axis=-1).sum()
        # a 5 px dot has ~50 pixels of its fill inside its outline (~120 for a 7 px new-site dot)
        assert exact >= (60 if decision == "new" else 25), (decision, exact)
    # nowhere else on the map area is painted in a decision colour but at the dots (the legend is outside it)
    for decision, fill in FILLS.items():
        total = np.all(image == fill, axis=-1)
        near = np.zeros_like(total)
        for d, x, y in dots:
            near[round(y) - 9:round(y) + 10, round(x) - 9:round(x) + 10] = True
        legend = district.evaluate("(() => { const r = document.querySelector('.wlgeo-legend').getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; })()")
        left, top, right, bottom = (round(v) for v in legend)
        near[top:bottom + 1, left:right + 1] = True
        assert not (total & ~near).any(), decision


def test_outlines_from_the_threshold_zoom(district):
    _set_zoom(district, OUTLINE_ZOOM)
    state = _state(district)
    assert state["zoom"] == OUTLINE_ZOOM
    for key in QUARRY_KEYS:
        n = EXPECTED[key]
        assert state[key] == [n, 0, n]  # polygons, no dots
    assert state["drawn"] == sum(n for k, n in EXPECTED.items() if k not in HIDDEN)
    style = district.evaluate("window.wlgeoLayers['decision:close'].getLayers()[0].options")
    assert style["color"].lower() == "#8b0000" and style["fillColor"].lower() == "#e31a1c"  # style.py close: stroke, fill
    assert 0.5 <= style["fillOpacity"] < 1
    _set_zoom(district, OUTLINE_ZOOM - 1)
    state = _state(district)
    for key in QUARRY_KEYS:
        assert state[key] == [EXPECTED[key], EXPECTED[key], 0]


def _click(b, x: float, y: float) -> None:
    for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
        b.send("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1}, session=True)
    b.pump(0.3)


@pytest.mark.parametrize("quarry_id, payload", [("Q-1", XSS_IMG), ("Q-2", XSS_TEMPLATE), ("Q-4", XSS_SCRIPT), ("Q-5", XSS_ATTR)])
def test_clicking_a_dot_opens_the_same_escaped_popup(district, quarry_id, payload):
    where = district.evaluate(
        f"""(() => {{ const map = window.wlgeoLayers['context:boundary']._map;
        for (const g of Object.values(window.wlgeoLayers)) for (const m of (g.wlgeoMarkers || [])) {{
            if ((m.feature.properties._s || '').startsWith({json.dumps(quarry_id + ' ')})) {{
                window.__dot = m; const p = map.latLngToContainerPoint(m.getLatLng());
                const box = map.getContainer().getBoundingClientRect(); return [p.x + box.left, p.y + box.top];
            }}
        }} return null; }})()"""
    )
    assert where is not None
    _click(district, *where)  # a real mouse click on the canvas, where the dot is drawn
    popup = district.evaluate(
        """(() => { const m = window.__dot, map = m._map, pop = map._popup;
        const el = pop.getElement().querySelector('.leaflet-popup-content');
        const tip = m.getTooltip().getElement();
        return [map.hasLayer(pop), pop._source === m, pop === m._wlgeoTwin.getPopup(), el.textContent,
                el.querySelectorAll('img,script,[onmouseover]').length, tip ? tip.textContent : null,
                m._wlgeoTwin._map ? true : false]; })()"""
    )
    is_open, from_dot, same_popup, text, elements, tooltip, polygon_drawn = popup
    assert is_open and from_dot and same_popup and not polygon_drawn
    assert payload in text and quarry_id in text and "编号 ID" in text and elements == 0
    assert tooltip is not None and payload in tooltip  # the mouse over the dot shows its tooltip
    assert district.evaluate("window.__xss === undefined")
    assert district.dialogs == [] and district.page_errors == [] and district.console_errors == []


def test_toggling_a_decision_layer_removes_its_dots(district):
    def toggle(label: str) -> None:
        district.evaluate(
            f"""(() => {{ const l = Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label'))
                .find(l => l.textContent.trim() === {json.dumps(label)}); l.querySelector('input').click(); }})()"""
        )
        district.pump(0.2)

    before = _state(district)
    toggle("关闭退出 Close (2)")
    state = _state(district)
    assert state["decision:close"] == [2, 0, 0]
    assert state["drawn"] == before["drawn"] - 2
    assert state["decision:retain"] == before["decision:retain"]
    assert district.evaluate("window.wlgeoCounts")["decision:close"] == 2  # counts are of features, not of what is drawn
    _set_zoom(district, OUTLINE_ZOOM + 1)  # zooming in does not bring the hidden layer back
    assert _state(district)["decision:close"] == [2, 0, 0]
    toggle("关闭退出 Close (2)")
    assert _state(district)["decision:close"] == [2, 0, 2]
    _set_zoom(district, OUTLINE_ZOOM - 2)
    assert _state(district)["decision:close"] == [2, 2, 0]


@pytest.mark.parametrize("start", [None, OUTLINE_ZOOM - 2])
def test_search_from_district_zoom_ends_on_the_outline(district, start):
    """From the opening zoom Leaflet jumps (> 4 levels); from zoom 11 it animates, and the popup
    opened on the dot during the animation moves to the polygon when the dots give way."""
    if start is not None:
        _set_zoom(district, start)
    district.evaluate(
        """(() => { const i = document.querySelector('.wlgeo-search-input'); i.value = '羊角';
        i.dispatchEvent(new Event('input')); document.querySelector('.wlgeo-search-hit').click(); })()"""
    )
    district.wait_for("window.wlgeoLayers['context:boundary']._map.getZoom() >= 13 && !window.wlgeoLayers['context:boundary']._map._animatingZoom")
    district.pump(0.3)
    popup = district.evaluate(
        """(() => { const g = window.wlgeoLayers['decision:close'], map = g._map, pop = map._popup;
        return [map.getZoom(), map.hasLayer(pop), g.getLayers().includes(pop._source), pop._source.feature.properties._s,
                pop.getElement().textContent]; })()"""
    )
    zoom, is_open, on_polygon, label, text = popup
    assert zoom >= OUTLINE_ZOOM and is_open and on_polygon  # on the polygon once the dots gave way
    assert label == "Q-6 羊角碎石场" and "羊角碎石场" in text


def test_outline_zoom_option(tmp_path):
    for bad in ("13", -1, 31, True, 12.5):
        with pytest.raises(MapError, match="outline_zoom"):
            folium_map(_result(), None, outline_zoom=bad)
    text = folium_map(_result(), None, outline_zoom=0).get_root().render()
    assert '"below":0' in text
    assert "Dots below zoom 0" in text


def test_diff_map_uses_the_same_dots(browser2, tmp_path):
    """The scenario diff map switches the same way: a changed quarry is a dot outlined in A's
    decision colour and filled with B's; unchanged quarries are faint dots in their own colour."""
    import plan_fixtures as fx

    import wlgeo
    from wlgeo.review.diffmap import diff_map

    pack = LayerPack(fx.layers())
    a = wlgeo.plan(pack, wlgeo.Scenario(), sites=False)
    b = wlgeo.plan(pack, wlgeo.Scenario().replace(name="near", blast_distance_m=100), sites=False)
    path = tmp_path / "diff.html"
    path.write_text(diff_map(a, b, pack).get_root().render(), encoding="utf-8")
    browser2.open(path)
    browser2.wait_for("window.wlgeoDrawn !== undefined")
    browser2.pump(0.3)
    _set_zoom(browser2, 10)
    dots = browser2.evaluate(
        """(() => { const out = {};
        for (const [k, g] of Object.entries(window.wlgeoLayers)) if (g.wlgeoMarkers) out[k] = [g.getLayers().length,
            g.wlgeoMarkers.filter(m => m._map).length, g.getLayers().filter(l => l._map).length,
            g.wlgeoMarkers.map(m => [m.feature.properties.d || null, m.options.fillColor, m.options.color])];
        return out; })()"""
    )
    assert set(dots) == {"unchanged", "change:close>retain"}  # hand-worked fixture: only Q04 changes
    assert dots["change:close>retain"][:3] == [1, 1, 0]
    assert dots["change:close>retain"][3] == [[None, "#33a02c", "#8b0000"]]  # fill = retain (B), outline = close (A)
    n, shown, polys, styles = dots["unchanged"]
    assert n == shown == 16 and polys == 0
    unchanged = a.quarries[a.quarries["quarry_id"] != "Q04"]
    assert sorted(d for d, _, _ in styles) == sorted(unchanged["decision"])
    assert all(fill == "#%02x%02x%02x" % FILLS[d] for d, fill, _ in styles)
    _set_zoom(browser2, OUTLINE_ZOOM)
    assert browser2.evaluate("window.wlgeoLayers['unchanged'].getLayers().filter(l => l._map).length") == 16
    assert browser2.evaluate("window.wlgeoLayers['unchanged'].wlgeoMarkers.filter(m => m._map).length") == 0
    assert browser2.console_errors == [] and browser2.page_errors == []
