"""The shared map kit (wlgeo.products.mapkit) and the public map skeleton (maps.MapSkeleton).

A map of one's own composed from the skeleton, as the diff map composes it, checked in headless
Chromium: feature counts, popups, tooltips, legend and title, every value shown literally.
"""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely

from browser import Chromium
from wlgeo.io.pack import LayerPack
from wlgeo.model.errors import MapError
from wlgeo.products.mapkit import (
    CONTEXT_ROWS,
    GCJ02_NOTE,
    basemap_tiles,
    check_basemap,
    field_text,
    format_value,
    js_safe,
    leaflet_style,
    marker_spec,
    popup_table,
)
from wlgeo.products.maps import FeatureLayer, MapSkeleton, legend_item, legend_note
from wlgeo.products.style import DECISION_SYMBOLS, LAYER_SYMBOLS, ROAD_KIND_SYMBOLS

X0, Y0 = 460_000.0, 3_250_000.0
TEMPLATE = "{{7*7}}"
XSS = "<img src=x onerror=window.__xss=1>"


def test_basemap_tiles():
    assert basemap_tiles("none") == ([], None)
    (osm,), note = basemap_tiles("osm")
    assert note is None and osm.max_zoom == 19 and "openstreetmap.org" in osm.url and not osm.overlay
    base, labels = basemap_tiles("tianditu_img", "abc123")[0]
    assert "LAYER=img" in base.url and "LAYER=cia" in labels.url and labels.overlay and "tk=abc123" in base.url
    (gaode,), note = basemap_tiles("gaode")
    assert note == GCJ02_NOTE and "autonavi" in gaode.url
    with pytest.raises(MapError, match="letters and digits"):
        basemap_tiles("tianditu", TEMPLATE)
    with pytest.raises(MapError, match="unknown basemap 'google'"):
        check_basemap("google")


def test_values_and_popup_tables():
    assert format_value(None) == "—" and format_value(1234567.8) == "1,234,568" and format_value(True) == "是 yes"
    assert field_text("expressway", "kind") == ROAD_KIND_SYMBOLS["expressway"].label
    assert field_text("expressway", "name") == "expressway"
    table = popup_table({"name": XSS, "kind": "expressway", "other": 1}, CONTEXT_ROWS, always=("town",))
    assert table == ("<table><tr><th>名称 Name</th><td>&lt;img src=x onerror=window.__xss=1&gt;</td></tr>"
                     "<tr><th>乡镇 Town</th><td>—</td></tr>"
                     f"<tr><th>类别 Kind</th><td>{ROAD_KIND_SYMBOLS['expressway'].label}</td></tr></table>")
    assert js_safe('"</script>\u2028"') == '"\\u003c/script\\u003e\\u2028"'


def test_feature_layer_counts_non_empty_features_and_adds_marker_points():
    geoms = shapely.from_wkt(["POLYGON ((0 0, 1 0, 1 1, 0 1, 0 0))", "POLYGON EMPTY", None, "POINT (2 3)"])
    symbol = DECISION_SYMBOLS["close"]
    layer = FeatureLayer("mine", "Mine", geoms, [{"_t": str(i)} for i in range(4)],
                         style=leaflet_style(symbol), marker=marker_spec(symbol, below=9))
    assert layer.count == 2 and layer.layer_name == "Mine (2)" and layer.key == "mine"
    assert '"_t":"0","_m":[0.5,0.5]' in layer.spec_json and '"_t":"3","_m":[2.0,3.0]' in layer.spec_json
    assert '"below":9' in layer.spec_json and '"_t":"1"' not in layer.spec_json


def _pack() -> LayerPack:
    boundary = gpd.GeoDataFrame(dict(name=[TEMPLATE]), geometry=[shapely.box(X0 - 2000, Y0 - 2000, X0 + 6000, Y0 + 4000)],
                                crs=4545)
    roads = gpd.GeoDataFrame(dict(kind=["county", "railway"], name=["X101", XSS]),
                             geometry=[shapely.LineString([(X0, Y0 + 2000), (X0 + 5000, Y0 + 2000)]),
                                       shapely.LineString([(X0, Y0 + 3000), (X0 + 5000, Y0 + 3500)])], crs=4545)
    return LayerPack({"boundary": boundary, "roads": roads})


def test_a_map_composed_from_the_skeleton(tmp_path):
    """A map of one's own, built in the skeleton's steps: counts, popups, legend, title in the page."""
    sk = MapSkeleton(basemap="none")
    sk.add_context(_pack())
    assert [name for name, _ in sk.context] == ["boundary", "roads"] and sk.road_kinds == ["railway", "county"]
    frame = gpd.GeoDataFrame(dict(name=[TEMPLATE, XSS, "空"]),
                             geometry=[shapely.box(X0, Y0, X0 + 300, Y0 + 300), shapely.box(X0 + 1000, Y0, X0 + 1300, Y0 + 300),
                                       shapely.Polygon()], crs=4545)
    symbol = DECISION_SYMBOLS["retain"]
    props = [{"_p": f"<div class=\"wlgeo-popup\">{popup_table(rec, (('name', '名称 Name'),))}</div>",
              "_t": f"tip {i}", "_s": f"S{i} {rec['name']}"}
             for i, rec in enumerate(frame.drop(columns="geometry").to_dict("records"))]
    n = sk.add_features("mine", symbol.label, sk.geometries(frame, layer="mine"), props,
                        style=leaflet_style(symbol), marker=marker_spec(symbol))
    assert n == 2
    sk.add_legend([legend_item(symbol, n, dot=True), legend_note(TEMPLATE, "second line")])
    m = sk.finish(title=f"标题 {TEMPLATE}")
    path = tmp_path / "mine.html"
    path.write_text(m.get_root().render(), encoding="utf-8")
    text = path.read_text(encoding="utf-8")
    assert XSS not in text and text.lower().count("</script") == text.lower().count("<script")

    with Chromium() as b:
        b.open(path)
        b.wait_for("window.wlgeoDrawn !== undefined")
        b.pump(0.3)
        counts = b.evaluate("window.wlgeoCounts")
        assert counts == {"context:boundary": 1, "context:roads": 2, "mine": 2}
        texts = b.evaluate("""window.wlgeoLayers['mine'].getLayers().map(l => {
            l.openPopup(); l.openTooltip();
            return [l.feature.properties._s, l.getPopup().getElement().querySelector('.leaflet-popup-content').textContent, l.getTooltip().getElement().textContent]; })""")
        assert sorted(map(tuple, texts)) == [(f"S0 {TEMPLATE}", "名称 Name" + TEMPLATE, "tip 0"),
                                             (f"S1 {XSS}", "名称 Name" + XSS, "tip 1")]
        legend = b.evaluate("document.querySelector('.wlgeo-legend').textContent")
        assert f"{symbol.label} (2)" in legend and TEMPLATE in legend and "49" not in legend
        assert LAYER_SYMBOLS["boundary"].label in legend and ROAD_KIND_SYMBOLS["railway"].label in legend
        title = b.evaluate("document.querySelector('.wlgeo-title').textContent")
        assert title == f"标题 {TEMPLATE}"
        assert b.evaluate("window.__xss === undefined") and b.page_errors == []
