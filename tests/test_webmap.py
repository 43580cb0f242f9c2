"""The light map (``wlgeo run``'s map.html): template-like and HTML-like names stay text, the
embedded CJK subset draws Chinese in a Chromium that has no CJK font, tool buttons carry icons."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from fontTools.ttLib import TTFont

from browser import Chromium
from test_maps import X0, Y0, _pack, _result
from wlgeo.products.webmap import map_html, save_map

TEMPLATE = "{{7*7}}"
TEMPLATE_PY = "{{ cycler.__init__.__globals__.os.popen('id').read() }}"
IMG = "<img src=x onerror=window.__xss=5>"


def _hostile():
    result = _result()
    result.quarries.loc[0, "name"] = TEMPLATE
    result.quarries.loc[1, "name"] = IMG
    result.quarries.loc[2, "owner"] = TEMPLATE_PY
    return result


@pytest.fixture(scope="module")
def hostile_map(tmp_path_factory):
    return save_map(_hostile(), _pack(), tmp_path_factory.mktemp("hostile") / "map.html")


def test_data_is_json_in_a_data_script(hostile_map):
    text = hostile_map.read_text(encoding="utf-8")
    data = re.search(r'<script type="application/json" id="wlgeo-data">(.*?)</script>', text, re.S).group(1)
    assert "<" not in data and "\u2028" not in data  # '<' written as \\u003c: no value closes the element
    assert TEMPLATE in json.loads(data)["layers"][-2]["cols"][1]["v"] or TEMPLATE in data
    assert "49" not in re.sub(r"[0-9A-Za-z_-]{8,}", "", data)  # nothing evaluated {{7*7}}
    assert IMG not in text and "<img" not in text


@pytest.mark.parametrize("quarry_id, payload, field", [("Q-1", TEMPLATE, "name"), ("Q-2", IMG, "name"),
                                                       ("Q-3", TEMPLATE_PY, "owner")])
def test_names_show_literally_in_popup_tooltip_and_search(hostile_map, quarry_id, payload, field):
    with Chromium() as b:
        b.open(hostile_map)
        b.wait_for("window.wlgeoDrawn !== undefined")
        out = b.evaluate(
            f"""(() => {{
            const i = document.querySelector('.wlgeo-search-input'); i.value = {json.dumps(quarry_id)};
            i.dispatchEvent(new Event('input'));
            const hit = Array.from(document.querySelectorAll('.wlgeo-search-hit')).map(li => li.textContent)
                .find(t => t.startsWith({json.dumps(quarry_id + ' ')}));
            for (const g of Object.values(window.wlgeoLayers)) for (const l of g.getLayers()) {{
                const s = l.feature.properties._s || '';
                if (s.startsWith({json.dumps(quarry_id + ' ')})) {{
                    l.openPopup(); l.openTooltip();
                    const p = l.getPopup().getElement().querySelector('.leaflet-popup-content');
                    return [hit, p.textContent, l.getTooltip().getElement().textContent,
                            p.querySelectorAll('img,script').length + document.querySelectorAll('.wlgeo-search-list img').length];
                }}
            }}
            return null; }})()"""
        )
        assert out is not None
        hit, popup, tooltip, elements = out
        assert payload in popup and elements == 0
        if field == "name":
            assert hit == f"{quarry_id} {payload}" and payload in tooltip
        assert "49" not in popup.replace("2027", "")
        b.pump(0.2)
        assert b.evaluate("window.__xss === undefined")
        assert b.page_errors == [] and b.dialogs == [] and b.blocked == []


def test_tool_buttons_have_icons_and_bilingual_tooltips(hostile_map):
    with Chromium() as b:
        b.open(hostile_map)
        b.wait_for("window.wlgeoDrawn !== undefined")
        buttons = b.evaluate(
            """Array.from(document.querySelectorAll('.wlgeo-fullscreen a, .wlgeo-measure a')).map(a =>
                [a.title, a.getAttribute('aria-label'), a.querySelectorAll('svg path').length, a.textContent.trim()])"""
        )
    assert buttons == [["全屏 Fullscreen", "全屏 Fullscreen", 1, ""], ["测距 Measure distance", "测距 Measure distance", 1, ""]]


def test_font_subset_holds_exactly_the_page_characters(tmp_path):
    import base64

    text = map_html(_result(), _pack())
    b64 = re.search(r"url\(data:font/woff;base64,([A-Za-z0-9+/=]+)\)", text).group(1)
    path = tmp_path / "sub.woff"
    path.write_bytes(base64.b64decode(b64))
    cmap = TTFont(str(path)).getBestCmap()
    page = text.replace(b64, "")
    page += "".join(chr(int(h, 16)) for h in re.findall(r"\\u([0-9a-fA-F]{4})", page))  # the scripts' escapes
    used = {ch for ch in page if ord(ch) > 126}
    assert {"武", "隆", "关", "闭", "图", "例", "羊", "角", "测", "距", "搜", "索"} <= used
    assert used <= {chr(c) for c in cmap}  # every non-ASCII character of the page has a glyph
    assert len(cmap) < len(used) + 200  # ... and not many more (a subset, not the 8 MB font)
    assert len(b64) < 400_000


def _fontconfig_without_cjk(tmp_path: Path) -> dict[str, str]:
    """An isolated fontconfig: only DejaVu (no CJK font), its own cache."""
    fonts = tmp_path / "fonts"
    fonts.mkdir()
    for f in Path("/usr/share/fonts/truetype/dejavu").glob("DejaVuSans*.ttf"):
        shutil.copy(f, fonts / f.name)
    conf = tmp_path / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
        f"<dir>{fonts}</dir><cachedir>{tmp_path / 'cache'}</cachedir></fontconfig>",
        encoding="utf-8",
    )
    return {"FONTCONFIG_FILE": str(conf), "FONTCONFIG_PATH": str(tmp_path)}


GLYPHS = """(async () => {
    await document.fonts.ready;
    const family = getComputedStyle(document.querySelector('.wlgeo-title')).fontFamily;
    const draw = (ch) => { const c = document.createElement('canvas'); c.width = 40; c.height = 40;
        const x = c.getContext('2d'); x.font = '32px ' + family; x.fillStyle = '#000'; x.fillText(ch, 2, 32);
        return [x.measureText(ch).width, Array.from(x.getImageData(0, 0, 40, 40).data).join(',')]; };
    const out = {};
    for (const ch of ['武', '隆', '关', '闭']) out[ch] = draw(ch);
    return out; })()"""


def test_chinese_draws_without_any_system_cjk_font(tmp_path):
    env = _fontconfig_without_cjk(tmp_path)
    with_font = save_map(_result(), _pack(), tmp_path / "map.html")
    without = save_map(_result(), _pack(), tmp_path / "bare.html", embed_font=False)
    with Chromium(env=env) as b:
        b.open(without)
        b.wait_for("window.wlgeoDrawn !== undefined")
        tofu = b.evaluate(GLYPHS)
        b.open(with_font)
        b.wait_for("window.wlgeoDrawn !== undefined")
        real = b.evaluate(GLYPHS)
        used = b.evaluate("document.fonts.check('16px WlgeoCJK', '武隆区关闭退出')")
    # control: this browser has no CJK font, so without the subset every character is the same box
    assert len({pixels for _, pixels in tofu.values()}) == 1
    # with the embedded subset each character is its own full-width glyph
    assert len({pixels for _, pixels in real.values()}) == 4
    assert all(abs(width - 32) < 1 for width, _ in real.values())  # CJK glyphs are 1 em wide
    assert used


def test_basemaps_and_tianditu_key(monkeypatch):
    from wlgeo.model.errors import MapError

    monkeypatch.delenv("TIANDITU_KEY", raising=False)
    with pytest.raises(MapError, match="TIANDITU_KEY"):
        map_html(_result(), None, basemap="tianditu", embed_font=False)
    with pytest.raises(MapError, match="letters and digits"):
        map_html(_result(), None, basemap="tianditu", tianditu_key='a"b', embed_font=False)
    text = map_html(_result(), None, basemap="tianditu_img", tianditu_key="abc123", embed_font=False)
    assert "LAYER=img" in text and "LAYER=cia" in text and "tk=abc123" in text
    plain = map_html(_result(), None, embed_font=False)
    assert "tianditu" not in plain and "openstreetmap" not in plain and "GCJ-02" not in plain
    gaode = map_html(_result(), None, basemap="gaode", embed_font=False)
    assert "GCJ-02" in gaode and "autonavi" in gaode


def _decode(level: dict, origin) -> list:
    """An independent decoder of one encoded level: per feature, a list of polygons (rings)."""
    from wlgeo.products.webmap import decode_varints

    parts, rings, verts = (decode_varints(level[k]) for k in ("p", "r", "v"))
    xy = decode_varints(level["c"]).reshape(-1, 2).cumsum(axis=0) * level["q"] + np.asarray(origin)
    out, pi, ri, ci = [], 0, 0, 0
    for n_parts in parts:
        polys = []
        for _ in range(n_parts):
            ring_list = []
            for _ in range(rings[pi]):
                ring_list.append(xy[ci:ci + verts[ri]])
                ci += verts[ri]
                ri += 1
            pi += 1
            polys.append(shapely.Polygon(ring_list[0], ring_list[1:]))
        out.append(shapely.union_all(polys) if polys else None)
    return out


def test_coverage_simplified_per_zoom_without_gaps_or_overlaps():
    """Farmland parcels laid like bricks (each row offset by half a parcel, so three parcels meet
    at T-junctions in the middle of a neighbour's wiggly edge) form a coverage. Every display
    level keeps one shared edge between neighbours: the decoded parcels' union is one polygon
    without hole, and their areas add up to it. (Simplifying each parcel alone fails this.)"""
    from wlgeo.model.pack import LayerPack

    rows, cols, cell = 6, 6, 1000.0
    xs = np.linspace(0, cols * cell, cols * 60 + 1)  # every junction (a multiple of cell / 2) is a sample
    rng = np.random.default_rng(3)
    lines = [Y0 + i * cell + rng.uniform(20, 60) * np.sin(rng.uniform(3, 9) * np.pi * xs / (cols * cell))
             * (0 < i < rows) + rng.uniform(-1, 1, xs.shape) * (0 < i < rows) for i in range(rows + 1)]
    polys = []
    for i in range(rows):
        cuts = [0.0] + [x for x in np.arange(cell / 2 if i % 2 else cell, cols * cell, cell)] + [cols * cell]
        for left, right in zip(cuts[:-1], cuts[1:]):
            k0, k1 = int(round(left / (cell / 60))), int(round(right / (cell / 60)))
            bottom = list(zip(X0 + xs[k0:k1 + 1], lines[i][k0:k1 + 1]))
            top = list(zip(X0 + xs[k0:k1 + 1], lines[i + 1][k0:k1 + 1]))[::-1]
            polys.append(shapely.Polygon(bottom + top))
    farmland = gpd.GeoDataFrame(geometry=polys, crs="EPSG:4545")
    assert shapely.is_valid(farmland.geometry.values).all() and shapely.coverage_is_valid(farmland.geometry.values)
    text = map_html(_result(), LayerPack({"farmland": farmland}), embed_font=False)
    data = json.loads(re.search(r'<script type="application/json" id="wlgeo-data">(.*?)</script>', text, re.S).group(1))
    spec = next(layer for layer in data["layers"] if layer["key"] == "context:farmland")
    assert len(spec["lods"]) >= 2 and spec["lods"][0]["nv"] < spec["lods"][-1]["nv"]  # coarser at low zoom
    for level in spec["lods"]:
        shapes = gpd.GeoSeries(_decode(level, data["origin"]), crs=4326).to_crs(4545)
        union = shapes.union_all()
        assert union.geom_type == "Polygon" and len(union.interiors) == 0  # no gap between parcels
        assert shapes.area.sum() == pytest.approx(union.area, rel=1e-6)  # no overlap
        assert union.area == pytest.approx(farmland.area.sum(), rel=0.01)  # a coverage: parcels add up


def test_a_layer_of_points_and_polygons_is_drawn(tmp_path):
    """bases may be points or polygons (DESIGN §3), even in one layer: each is drawn as itself."""
    from wlgeo.model.pack import LayerPack

    bases = gpd.GeoDataFrame({"name": ["点基地", "面基地"]},
                             geometry=[shapely.Point(X0 + 1000, Y0 + 1000), shapely.box(X0 + 3000, Y0, X0 + 4000, Y0 + 800)],
                             crs="EPSG:4545")
    path = save_map(_result(), LayerPack({"bases": bases}), tmp_path / "map.html", embed_font=False)
    with Chromium() as b:
        b.open(path)
        b.wait_for("window.wlgeoDrawn !== undefined")
        kinds = b.evaluate("""window.wlgeoLayers['context:bases'].getLayers().map(l =>
            [l instanceof L.CircleMarker, l instanceof L.Polygon, l.getPopup() ? l.getPopup()._content().textContent : ''])""")
        assert b.page_errors == []
    assert [k[:2] for k in kinds] == [[True, False], [False, True]]
    assert "点基地" in kinds[0][2] and "面基地" in kinds[1][2]
