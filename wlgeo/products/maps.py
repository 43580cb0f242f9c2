"""The interactive map: one self-contained HTML file that opens with no internet.

Leaflet's JavaScript and CSS are inlined from the ``django-js-lib-leaflet`` package (Leaflet
1.9.4, BSD-2), the map's own controls (legend, search, measure, fullscreen) from
``wlgeo/assets``. With ``basemap="none"`` the saved file makes no request at all; a basemap
(OpenStreetMap, Tianditu, Gaode) is the only thing that reaches out.

A quarry of a few hectares is a speck at district zoom, so below :data:`OUTLINE_ZOOM` each quarry
and new site is drawn as a circle marker in its decision colour at a point inside it
(:func:`shapely.point_on_surface`, computed here); from that zoom on, as its polygon. The marker
opens the polygon's own popup and tooltip objects, belongs to the same layer-switcher entry, and
``window.wlgeoCounts`` still counts features, not drawn shapes.

Every attribute shown in a popup, tooltip or the search list is escaped: popups and tooltips
are HTML built here with :func:`html.escape`; search labels are set with ``textContent``; the
data travel as JSON with ``<``, ``>`` and ``&`` written as ``\\u003c`` … so no value can close
the ``<script>`` element, and no value passes through a JavaScript template literal.

Examples
--------
>>> from wlgeo.products.maps import save_map
>>> save_map(result, pack, "out/map.html")  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import json
import logging
import math
import os
import re
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from os import PathLike
from pathlib import Path
from typing import Any, Literal

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from folium.map import Layer
from jinja2 import Template

from wlgeo.model.crs import WORKING_CRS, wgs84_to_gcj02, working_crs_for
from wlgeo.model.errors import MapError
from wlgeo.model.reasons import REASON_LABELS, parse_reasons
from wlgeo.io.atomic import atomic_path
from wlgeo.products.style import (
    DECISION_SYMBOLS,
    LAYER_SYMBOLS,
    PROTECTED_KIND_LABELS,
    ROAD_KIND_SYMBOLS,
    Symbol,
)

__all__ = ["folium_map", "save_map", "check_decisions", "BASEMAPS", "CONTEXT_LAYERS", "OUTLINE_ZOOM", "REASON_LABELS"]

log = logging.getLogger(__name__)

Basemap = Literal["none", "osm", "tianditu", "tianditu_img", "gaode"]
BASEMAPS: tuple[str, ...] = ("none", "osm", "tianditu", "tianditu_img", "gaode")

CONTEXT_LAYERS: tuple[str, ...] = (
    "boundary", "towns", "resource_zones", "planning_blocks", "red_line", "farmland",
    "protected_areas", "rivers", "roads", "parks", "bases", "settlements", "ports",
)
"""Context layers drawn when present in the pack, in this order (bottom to top)."""

OUTLINE_ZOOM = 13
"""Zoom level from which quarries and new sites are drawn as their polygons.

Below it (the district view the map opens at) each one is a circle marker in its decision colour
at its representative point, since a quarry of a few hectares is a speck at district zoom; at
zoom 13 a pixel is about 17 m at 30°N, so a 200 m quarry is 12 pixels across.
"""

_MARKER_RADIUS = 5.0
"""Radius in pixels of a quarry's circle marker; new sites are drawn larger (:func:`_marker_spec`)."""

_SHOWN = {"boundary", "red_line", "protected_areas", "rivers", "roads", "parks", "bases", "ports"}
"""Context layers switched on when the map opens; the others start hidden in the layer switcher."""

_QUARRY_ROWS: tuple[tuple[str, str], ...] = (
    ("quarry_id", "编号 ID"),
    ("name", "名称 Name"),
    ("owner", "采矿权人 Owner"),
    ("town", "乡镇 Town"),
    ("capacity", "生产规模 Capacity (万吨/年)"),
    ("license_end", "许可证到期 Licence end"),
    ("group_id", "整合组 Group"),
)
_SITE_ROWS: tuple[tuple[str, str], ...] = (
    ("site_id", "编号 ID"),
    ("score", "适宜性得分 Score"),
    ("capacity", "规划规模 Capacity (万吨/年)"),
    ("area_m2", "面积 Area (m²)"),
)
_GROUP_ROWS: tuple[tuple[str, str], ...] = (
    ("group_id", "整合组 Group"),
    ("members", "成员 Members"),
    ("n_members", "矿山数 Quarries"),
    ("capacity", "合计规模 Capacity (万吨/年)"),
)
_CONTEXT_ROWS: tuple[tuple[str, str], ...] = (
    ("name", "名称 Name"),
    ("town", "乡镇 Town"),
    ("kind", "类别 Kind"),
    ("role", "定位 Role"),
    ("category", "类别 Category"),
    ("mineral", "矿种 Mineral"),
    ("block_id", "区块 Block"),
    ("population", "人口 Population"),
)

_OSM = ("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "© OpenStreetMap contributors", "abc")
_TIANDITU = (
    "https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
    "&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}"
    "&TILECOL={x}&tk={key}"
)
_GAODE = (
    "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
    "© 高德地图 AutoNavi",
    "1234",
)
_LEAFLET_CDN = "https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist/leaflet"


# --------------------------------------------------------------------------- assets


def _check_inlinable(text: str, name: str, closing: str) -> str:
    if closing in text.lower():
        raise MapError(f"asset {name} contains {closing!r} and cannot be inlined")
    return text


@lru_cache(maxsize=1)
def leaflet_assets() -> tuple[str, str]:
    """Leaflet 1.9.4's JavaScript and CSS, ready to inline (images as data URIs, no source map).

    Raises
    ------
    MapError
        When the ``django-js-lib-leaflet`` package is missing or its files are not inlinable.
    """
    try:
        root = resources.files("js_lib_leaflet") / "static" / "js_lib_leaflet"
        js = (root / "leaflet.js").read_text(encoding="utf-8")
        css = (root / "leaflet.css").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError) as err:
        raise MapError(
            "Leaflet for offline maps is missing: pip install django-js-lib-leaflet"
        ) from err

    def data_uri(match: re.Match) -> str:
        image = (root / "images" / match.group(1)).read_bytes()
        return "url(data:image/png;base64," + base64.b64encode(image).decode("ascii") + ")"

    css = re.sub(r"url\(images/([\w.-]+\.png)\)", data_uri, css)
    js = re.sub(r"//# sourceMappingURL=\S+\s*$", "", js)
    return _check_inlinable(js, "leaflet.js", "</script"), _check_inlinable(css, "leaflet.css", "</style")


@lru_cache(maxsize=1)
def _own_assets() -> tuple[str, str]:
    root = resources.files("wlgeo") / "assets"
    js = (root / "wlgeo_map.js").read_text(encoding="utf-8")
    css = (root / "wlgeo_map.css").read_text(encoding="utf-8")
    return _check_inlinable(js, "wlgeo_map.js", "</script"), _check_inlinable(css, "wlgeo_map.css", "</style")


def _js_json(value: Any) -> str:
    """``value`` as JSON that is safe inside ``<script>`` (see :func:`_js_safe`)."""
    return _js_safe(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def _js_safe(text: str) -> str:
    """JSON text made safe inside ``<script>``: no ``</script``, no ``<!--``, no line separators."""
    return (
        text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    )


# --------------------------------------------------------------------------- values and popups


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if isinstance(value, str) and not value.strip():
        return True
    return False


def _fmt(value: Any) -> str:
    """Display text of one attribute value (not yet escaped)."""
    if _missing(value):
        return "—"
    if isinstance(value, (pd.Timestamp, _dt.datetime)):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, (bool, np.bool_)):
        return "是 yes" if value else "否 no"
    if isinstance(value, (float, np.floating)):
        return f"{float(value):,.6g}" if abs(value) < 1e6 else f"{float(value):,.0f}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_fmt(v) for v in value)
    return str(value)


def _e(value: Any) -> str:
    return html.escape(_fmt(value), quote=True)


def reason_items(reasons: Any) -> list[str]:
    """Human-readable, bilingual reason lines (not escaped): :attr:`wlgeo.model.reasons.Reason.display`
    of each record.

    ``reasons`` is a quarry's :class:`~wlgeo.model.reasons.Reason` records (as
    :func:`wlgeo.model.reasons.reasons_of` gives them) or, for a plan read from a file, its
    ``reasons`` text (read with :func:`wlgeo.model.reasons.parse_reasons`).

    Examples
    --------
    >>> reason_items("red_line:12450m2(23.1%);settlement:180m")
    ['占用生态保护红线 Overlaps ecological red line: 12450m2(23.1%)', '爆破安全距离内有居民点 Settlement within blasting distance: 180m']
    """
    if isinstance(reasons, str) or _missing(reasons):
        reasons = parse_reasons(reasons)
    return [r.display for r in reasons]


def _table(record: Mapping[str, Any], rows: tuple[tuple[str, str], ...], *, always: tuple[str, ...] = ()) -> str:
    cells = []
    for field, head in rows:
        if field in record or field in always:
            value = record.get(field)
            if field == "kind" and not _missing(value) and str(value) in PROTECTED_KIND_LABELS:
                value = " ".join(PROTECTED_KIND_LABELS[str(value)])
            elif field == "kind" and not _missing(value) and str(value) in ROAD_KIND_SYMBOLS:
                value = ROAD_KIND_SYMBOLS[str(value)].label
            cells.append(f"<tr><th>{html.escape(head)}</th><td>{_e(value)}</td></tr>")
    return "<table>" + "".join(cells) + "</table>"


def _swatch(symbol: Symbol) -> str:
    fill = symbol.fill or "transparent"
    if symbol.geometry == "line":
        return f'<span class="wlgeo-swatch wlgeo-line" style="border-top-color:{symbol.stroke}"></span>'
    cls = "wlgeo-swatch wlgeo-point" if symbol.geometry == "point" else "wlgeo-swatch"
    border = "dashed" if symbol.dash else "solid"
    return (
        f'<span class="{cls}" style="background:{fill};opacity:{max(symbol.fill_opacity, 0.35) if symbol.fill else 1};'
        f'border:{max(symbol.width, 1):.0f}px {border} {symbol.stroke}"></span>'
    )


def _quarry_popup_spec(decision: str, fields: list[str]) -> dict:
    """The part of a quarry popup shared by a whole decision layer: escaped row heads, decision row."""
    symbol = DECISION_SYMBOLS[decision]
    heads = dict(_QUARRY_ROWS)
    return {
        "rows": [html.escape(heads[f]) for f in fields],
        "after": f"<table><tr><th>决策 Decision</th><td>{_swatch(symbol)}{html.escape(symbol.label)}</td></tr></table>",
        "reasons": "<div><b>理由 Reasons</b></div>",
    }


def _quarry_popup_props(record: Mapping[str, Any], fields: list[str]) -> dict:
    """Per-quarry popup values, each HTML-escaped; ``wlgeo.layer`` assembles the popup lazily."""
    return {
        "_h": " ".join(_e(record.get(k)) for k in ("quarry_id", "name") if not _missing(record.get(k))),
        "_v": [_e(record.get(f)) for f in fields],
        "_r": [html.escape(r) for r in reason_items(record.get("reasons"))],
    }


def _quarry_tooltip(record: Mapping[str, Any], decision: str) -> str:
    name = record.get("name")
    head = _e(record.get("quarry_id")) + ("" if _missing(name) else " " + _e(name))
    return f"{head} — {html.escape(DECISION_SYMBOLS[decision].label)}"


# --------------------------------------------------------------------------- geometry


def _metric_crs(frame: gpd.GeoDataFrame):
    """The frame's CRS when projected, else the GK zone holding it (else its UTM zone)."""
    if frame.crs.is_projected:
        return frame.crs
    try:
        return working_crs_for(frame)
    except ValueError:
        return frame.estimate_utm_crs() if len(frame) else WORKING_CRS


def _display_geometries(frame: gpd.GeoDataFrame, *, simplify_m: float, gcj02: bool, layer: str) -> np.ndarray:
    """Simplified (in metres: the frame's projected CRS), reprojected to EPSG:4326, optionally GCJ-02-shifted, rounded to 1e-6°."""
    if frame.crs is None:
        raise MapError("layer has no CRS; cannot place it on the map", layer=layer)
    geoms = frame.geometry
    if simplify_m > 0:
        geoms = geoms.to_crs(_metric_crs(frame)).simplify(simplify_m, preserve_topology=True)
    geoms = geoms.to_crs("EPSG:4326").values
    arr = np.asarray(geoms, dtype=object)

    def shift_round(coords: np.ndarray) -> np.ndarray:
        if gcj02 and len(coords):
            lon, lat = wgs84_to_gcj02(coords[:, 0], coords[:, 1])
            coords = np.column_stack([lon, lat])
        return np.round(coords, 6)

    return shapely.transform(arr, shift_round)


def _feature_collection(geoms: np.ndarray, props: list[dict], *, markers: bool = False) -> tuple[str, int]:
    """GeoJSON FeatureCollection text of the non-empty geometries, and how many features it holds.

    With ``markers``, each feature's properties also get ``_m``: its representative point
    (:func:`shapely.point_on_surface`, inside the polygon as drawn) as ``[lon, lat]``, where
    ``wlgeo.layer`` puts its circle marker (see :func:`_marker_spec`).
    """
    keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    texts = shapely.to_geojson(geoms[keep])
    kept_props = [p for p, k in zip(props, keep) if k]
    if markers:
        points = shapely.get_coordinates(shapely.point_on_surface(geoms[keep])).round(6)
        kept_props = [{**p, "_m": [float(x), float(y)]} for p, (x, y) in zip(kept_props, points)]
    parts = [
        '{"type":"Feature","geometry":' + g + ',"properties":' + json.dumps(p, ensure_ascii=False, separators=(",", ":")) + "}"
        for g, p in zip(texts, kept_props)
    ]
    return '{"type":"FeatureCollection","features":[' + ",".join(parts) + "]}", int(keep.sum())


def _marker_spec(
    symbol: Symbol,
    *,
    radius: float = _MARKER_RADIUS,
    weight: float = 1.0,
    fill_opacity: float = 1.0,
    dash: bool = False,
    below: int = OUTLINE_ZOOM,
    style_by: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict:
    """The ``marker`` entry of a layer spec: below zoom ``below`` each polygon is drawn as a circle
    marker filled with ``symbol.fill`` and outlined in ``symbol.stroke`` (the polygon's popup and
    tooltip open on it). ``style_by`` = ``{"field": name, "styles": {value: style}}`` varies it per feature.
    Needs the features' ``_m`` (:func:`_feature_collection` with ``markers=True``).
    """
    style: dict[str, Any] = {
        "radius": radius,
        "color": symbol.stroke,
        "weight": weight,
        "opacity": 1.0,
        "fill": True,
        "fillColor": symbol.fill or symbol.stroke,
        "fillOpacity": fill_opacity,
    }
    if dash and symbol.dash:
        style["dashArray"] = ",".join(f"{d:g}" for d in symbol.dash)
    spec: dict[str, Any] = {"style": style, "below": int(below)}
    if style_by is not None:
        spec["styleBy"] = {"field": style_by["field"], "styles": dict(style_by["styles"])}
    return spec


def _new_site_marker(symbol: Symbol, *, below: int = OUTLINE_ZOOM) -> dict:
    """Marker spec of a new site: larger than a quarry's, with the site's own (dashed) outline."""
    return _marker_spec(symbol, radius=_MARKER_RADIUS + 2, weight=max(symbol.width, 1.0), dash=True, below=below)


def _style(symbol: Symbol) -> dict:
    style = {
        "color": symbol.stroke,
        "weight": symbol.width,
        "opacity": 1.0,
        "fill": symbol.fill is not None and symbol.geometry != "line",
        "fillColor": symbol.fill or symbol.stroke,
        "fillOpacity": symbol.fill_opacity if symbol.fill else 0.0,
    }
    if symbol.dash:
        style["dashArray"] = ",".join(f"{d:g}" for d in symbol.dash)
    if symbol.geometry == "point":
        style["fill"] = True
    return style


# --------------------------------------------------------------------------- folium elements


class _Verbatim(Element):
    """Text put into the page exactly as given: never parsed as a Jinja template.

    branca's :class:`~branca.element.Element` treats its first argument as *template source*,
    and :meth:`MacroElement.render` wraps every rendered macro in such an ``Element`` — so a
    ``{{ … }}`` in a quarry name that reached a macro's output would be evaluated (and could run
    Python). wlgeo's own elements place their output with this class instead.
    """

    def __init__(self, text: str) -> None:
        super().__init__()
        self._name = "Verbatim"
        self.text = text

    def render(self, **kwargs: Any) -> str:
        return self.text


class _VerbatimMacro(MacroElement):
    """A :class:`MacroElement` whose rendered ``header``/``html``/``script`` macros go into the
    figure as :class:`_Verbatim` text (rendered once from wlgeo's constant template, never again)."""

    def render(self, **kwargs: Any) -> None:
        figure = self.get_root()
        module = self._template.module
        for part, target in (("header", figure.header), ("html", figure.html), ("script", figure.script)):
            macro = getattr(module, part, None)
            if macro is not None:
                target.add_child(_Verbatim(str(macro(self, kwargs))), name=self.get_name())
        for element in self._children.values():
            element.render(**kwargs)


class _GeoJsonLayer(Layer, _VerbatimMacro):
    """A Leaflet GeoJSON layer built by ``wlgeo.layer`` from escaped data; togglable in the layer control."""

    _template = Template(
        """
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = wlgeo.layer({{ this._parent.get_name() }}, {{ this.spec_json }});
{% if this.show %}{{ this.get_name() }}.addTo({{ this._parent.get_name() }});{% endif %}
{% endmacro %}
"""
    )

    def __init__(self, key: str, name: str, spec: dict, data: str, *, show: bool = True) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "WlgeoLayer"
        spec_text = json.dumps({**spec, "key": key, "name": name}, ensure_ascii=False, separators=(",", ":"))
        self.spec_json = _js_safe(spec_text[:-1] + ',"data":' + data + "}")


class _Controls(_VerbatimMacro):
    """Legend, title, scale bar, search, measure and fullscreen; marks the first drawn frame."""

    _template = Template(
        """
{% macro script(this, kwargs) %}
(function (map) {
  wlgeo.box(map, {{ this.title_json }}, "bottomleft", "wlgeo-title");
  wlgeo.box(map, {{ this.legend_json }}, "bottomright", "wlgeo-legend");
  L.control.scale({metric: true, imperial: false, maxWidth: 160}).addTo(map);
  wlgeo.fullscreen(map);
  wlgeo.measure(map);
  wlgeo.search(map);
  wlgeo.ready(map);
})({{ this._parent.get_name() }});
{% endmacro %}
"""
    )

    def __init__(self, title_html: str, legend_html: str) -> None:
        super().__init__()
        self._name = "WlgeoControls"
        self.title_json = _js_json(title_html)
        self.legend_json = _js_json(legend_html)


# --------------------------------------------------------------------------- building the map


def _records(frame: gpd.GeoDataFrame) -> list[dict]:
    return pd.DataFrame(frame.drop(columns=frame.geometry.name)).to_dict("records")


def _context_specs(pack: Any) -> list[tuple[str, gpd.GeoDataFrame, Symbol]]:
    out = []
    for name in CONTEXT_LAYERS:
        frame = pack.get(name) if pack is not None else None
        if frame is None or len(frame) == 0:
            continue
        out.append((name, frame, LAYER_SYMBOLS[name]))
    return out


def _context_layer(name: str, frame: gpd.GeoDataFrame, symbol: Symbol, *, simplify_m: float, gcj02: bool):
    geoms = _display_geometries(frame, simplify_m=simplify_m, gcj02=gcj02, layer=name)
    props = []
    for rec in _records(frame):
        label = f"{symbol.label_zh} {symbol.label_en}"
        title = label if _missing(rec.get("name")) else f"{label}: {_fmt(rec.get('name'))}"
        props.append(
            {
                "_t": html.escape(title),
                "_p": f'<div class="wlgeo-popup"><h4>{html.escape(label)}</h4>{_table(rec, _CONTEXT_ROWS)}</div>',
                "kind": None if _missing(rec.get("kind")) else str(rec.get("kind")),
            }
        )
    data, n = _feature_collection(geoms, props)
    spec: dict = {"style": _style(symbol), "radius": symbol.marker_size / 2 + 1}
    if name == "roads":
        spec["styleBy"] = {"field": "kind", "styles": {k: _style(s) for k, s in ROAD_KIND_SYMBOLS.items()}}
    return data, n, spec



def _titled_popup(rec: Mapping[str, Any], symbol: Symbol, id_field: str, rows) -> dict[str, str]:
    """Escaped popup (``_p``) and tooltip (``_t``) of a site or group: bilingual label + id, then a table."""
    title = f"{html.escape(symbol.label)} {_e(rec.get(id_field))}"
    return {"_p": f'<div class="wlgeo-popup"><h4>{title}</h4>{_table(rec, rows)}</div>', "_t": title}

def check_decisions(quarries) -> None:
    """Raise :class:`MapError` naming the feature when ``quarries`` lack a known ``decision``."""
    if "decision" not in quarries.columns:
        raise MapError("quarries have no 'decision' column; run wlgeo.plan first", layer="quarries", field="decision")
    decisions = quarries["decision"].astype("string")
    unknown = ~decisions.isin(list(DECISION_SYMBOLS)) | decisions.isna()
    if unknown.any():
        first = quarries.index[unknown.to_numpy()][0]
        feature = quarries.loc[first, "quarry_id"] if "quarry_id" in quarries.columns else first
        raise MapError(
            f"unknown decision {quarries.loc[first, 'decision']!r}; allowed: {', '.join(DECISION_SYMBOLS)}",
            layer="quarries", feature=feature, field="decision",
        )


def _decision_layers(
    result: Any, *, simplify_m: float, gcj02: bool, outline_zoom: int = OUTLINE_ZOOM
) -> list[tuple[str, str, str, int, dict]]:
    quarries = result.quarries
    check_decisions(quarries)
    decisions = quarries["decision"].astype("string")
    geoms = _display_geometries(quarries, simplify_m=simplify_m, gcj02=gcj02, layer="quarries")
    records = _records(quarries)
    fields = ["quarry_id", "name", "owner", "town", "capacity", "license_end"]
    fields += [f for f, _ in _QUARRY_ROWS if f not in fields and f in quarries.columns]
    out = []
    for decision, symbol in DECISION_SYMBOLS.items():
        if decision == "new":
            continue
        which = np.flatnonzero((decisions == decision).to_numpy(dtype=bool))
        if not len(which):
            continue
        props = []
        for i in which:
            rec = records[i]
            search = " ".join(_fmt(rec.get(k)) for k in ("quarry_id", "name") if not _missing(rec.get(k)))
            props.append({**_quarry_popup_props(rec, fields), "_t": _quarry_tooltip(rec, decision), "_s": search})
        data, n = _feature_collection(geoms[which], props, markers=True)
        spec = {"style": _style(symbol), "popup": _quarry_popup_spec(decision, fields),
                "marker": _marker_spec(symbol, below=outline_zoom)}
        out.append((f"decision:{decision}", f"{symbol.label} ({n})", data, n, spec))

    sites = getattr(result, "new_sites", None)
    if sites is not None and len(sites):
        symbol = DECISION_SYMBOLS["new"]
        geoms = _display_geometries(sites, simplify_m=simplify_m, gcj02=gcj02, layer="new_sites")
        props = [{**_titled_popup(rec, symbol, "site_id", _SITE_ROWS), "_s": _fmt(rec.get("site_id"))}
                 for rec in _records(sites)]
        data, n = _feature_collection(geoms, props, markers=True)
        spec = {"style": _style(symbol), "marker": _new_site_marker(symbol, below=outline_zoom)}
        out.append(("decision:new", f"{symbol.label} ({n})", data, n, spec))

    groups = getattr(result, "consolidation_groups", None)
    if groups is not None and len(groups):
        symbol = LAYER_SYMBOLS["consolidation_groups"]
        geoms = _display_geometries(groups, simplify_m=simplify_m, gcj02=gcj02, layer="consolidation_groups")
        props = [_titled_popup(rec, symbol, "group_id", _GROUP_ROWS) for rec in _records(groups)]
        data, n = _feature_collection(geoms, props)
        # first, so that the quarries' dots and outlines are drawn over the groups' dashed hulls
        out.insert(0, ("groups", f"{symbol.label} ({n})", data, n, {"style": _style(symbol)}))
    return out


def _zoom_note(outline_zoom: int) -> str:
    """The legend's note (escaped HTML) that dots become outlines from ``outline_zoom`` on."""
    zh = f"圆点示位置，{outline_zoom}级起显示范围"
    en = f"Dots below zoom {outline_zoom}, outlines from it"
    return f"{html.escape(zh)}<br>{html.escape(en)}"


def _marker_swatch(symbol: Symbol) -> str:
    """Legend swatch of the circle marker drawn below :data:`OUTLINE_ZOOM`."""
    return (f'<span class="wlgeo-swatch wlgeo-point wlgeo-dot" style="background:{symbol.fill or symbol.stroke};'
            f'border:1px solid {symbol.stroke}"></span>')


def _check_outline_zoom(outline_zoom: Any) -> None:
    if isinstance(outline_zoom, bool) or not isinstance(outline_zoom, (int, np.integer)) or not 0 <= outline_zoom <= 30:
        raise MapError(f"outline_zoom must be a whole zoom level 0–30 (0 = always polygons), not {outline_zoom!r}")


def _legend_html(
    decision_counts: dict[str, int], context: list[tuple[str, Symbol]], road_kinds: list[str], *, groups: bool,
    outline_zoom: int = OUTLINE_ZOOM,
) -> str:
    rows = ['<h4>图例 Legend</h4>']
    for decision, n in decision_counts.items():
        symbol = DECISION_SYMBOLS[decision]
        rows.append(f'<div class="wlgeo-item">{_marker_swatch(symbol)}{_swatch(symbol)}{html.escape(symbol.label)} ({n})</div>')
    if decision_counts:
        rows.append(f'<div class="wlgeo-note">{_zoom_note(outline_zoom)}</div>')
    if groups:
        symbol = LAYER_SYMBOLS["consolidation_groups"]
        rows.append(f'<div class="wlgeo-item">{_swatch(symbol)}{html.escape(symbol.label)}</div>')
    return "".join(rows + _context_legend(context, road_kinds))


def _context_legend(context: list[tuple[str, Symbol]], road_kinds: list[str]) -> list[str]:
    """Legend rows (escaped HTML) of the context layers, roads split by kind."""
    rows: list[str] = []
    for name, symbol in context:
        if name == "roads" and road_kinds:
            for kind in road_kinds:
                rows.append(f'<div class="wlgeo-item">{_swatch(ROAD_KIND_SYMBOLS[kind])}{html.escape(ROAD_KIND_SYMBOLS[kind].label)}</div>')
            continue
        rows.append(f'<div class="wlgeo-item">{_swatch(symbol)}{html.escape(symbol.label)}</div>')
    return rows


def _basemap(m: folium.Map, basemap: str, tianditu_key: str | None) -> str | None:
    """Add the tile layers of ``basemap``; return a note to show on the map, if any."""
    if basemap == "none":
        return None
    if basemap == "osm":
        folium.TileLayer(_OSM[0], attr=_OSM[1], name="OpenStreetMap", subdomains=_OSM[2], max_zoom=19).add_to(m)
        return None
    if basemap in ("tianditu", "tianditu_img"):
        key = tianditu_key or os.environ.get("TIANDITU_KEY")
        if not key:
            raise MapError(
                f"basemap {basemap!r} needs a Tianditu key: pass tianditu_key= or set the environment "
                "variable TIANDITU_KEY (a free key from the Tianditu console; never commit it)"
            )
        if not re.fullmatch(r"[0-9A-Za-z]{1,128}", key):
            raise MapError("the Tianditu key must be letters and digits only (as the Tianditu console issues it)")
        base, labels = ("vec", "cva") if basemap == "tianditu" else ("img", "cia")
        attr = "© 天地图 Tianditu"
        folium.TileLayer(
            _TIANDITU.replace("{layer}", base).replace("{key}", key), attr=attr,
            name=f"天地图 Tianditu {base}", subdomains="01234567", max_zoom=18,
        ).add_to(m)
        folium.TileLayer(
            _TIANDITU.replace("{layer}", labels).replace("{key}", key), attr=attr,
            name=f"天地图注记 Tianditu labels {labels}", subdomains="01234567", max_zoom=18, overlay=True,
        ).add_to(m)
        return None
    if basemap == "gaode":
        folium.TileLayer(_GAODE[0], attr=_GAODE[1], name="高德 Gaode", subdomains=_GAODE[2], max_zoom=18).add_to(m)
        return "数据已由WGS84偏移至GCJ-02以配准高德底图 Data shifted from WGS84 to GCJ-02 to match the Gaode basemap"
    raise MapError(f"unknown basemap {basemap!r}; allowed: {', '.join(BASEMAPS)}")


def folium_map(
    result: Any,
    pack: Any,
    *,
    basemap: Basemap = "none",
    tianditu_key: str | None = None,
    offline: bool = True,
    simplify_m: float = 5.0,
    title: str | None = None,
    outline_zoom: int = OUTLINE_ZOOM,
) -> folium.Map:
    """Build the interactive plan map.

    Parameters
    ----------
    result : PlanResult
        Reads ``result.quarries`` (with ``decision``, ``reasons`` …), ``result.consolidation_groups``,
        ``result.new_sites`` and ``result.scenario.name``.
    pack : LayerPack or None
        Context layers (:data:`CONTEXT_LAYERS`) are drawn when present.
    basemap : {"none", "osm", "tianditu", "tianditu_img", "gaode"}
        ``"none"`` (default) makes no request at all. Tianditu needs ``tianditu_key`` or the
        ``TIANDITU_KEY`` environment variable. ``"gaode"`` shifts every layer to GCJ-02 and says so.
    offline : bool
        Inline Leaflet (default); ``False`` links it from a CDN (smaller file, needs internet).
    simplify_m : float
        Display-only simplification tolerance in metres (in the layer's projected CRS) before reprojection.
    title : str, optional
        Title shown on the map; default ``<district>碎石矿山布局规划图 — <scenario>`` (the district
        from ``pack.district``).
    outline_zoom : int
        From this zoom on, quarries and new sites are drawn as polygons (decision stroke and
        fill); below it, as circle markers in their decision colour at a point inside each
        polygon, which open the same popup (default :data:`OUTLINE_ZOOM`).

    Returns
    -------
    folium.Map
        ``window.wlgeoCounts`` in the page holds the feature count of each layer once drawn.

    Raises
    ------
    MapError
        Unknown basemap or decision, a Tianditu basemap without key, a layer without CRS.
    """
    if basemap not in BASEMAPS:
        raise MapError(f"unknown basemap {basemap!r}; allowed: {', '.join(BASEMAPS)}")
    _check_outline_zoom(outline_zoom)
    gcj02 = basemap == "gaode"
    scenario = getattr(getattr(result, "scenario", None), "name", None) or "—"
    title = title or f"{getattr(pack, 'district', None) or ''}碎石矿山布局规划图 — {scenario}"

    m, note = _new_map(basemap=basemap, tianditu_key=tianditu_key, offline=offline)
    context, road_kinds, bounds = _add_context(m, pack, simplify_m=simplify_m, gcj02=gcj02)

    decision_counts: dict[str, int] = {}
    has_groups = False
    for key, name, data, n, spec in _decision_layers(result, simplify_m=simplify_m, gcj02=gcj02, outline_zoom=outline_zoom):
        _GeoJsonLayer(key, name, spec, data, show=True).add_to(m)
        if key.startswith("decision:"):
            decision_counts[key.split(":", 1)[1]] = n
        has_groups = has_groups or key == "groups"
    if bounds is None and len(result.quarries):
        bounds = result.quarries.to_crs("EPSG:4326").total_bounds
    legend = _legend_html(decision_counts, [(n, s) for n, _, s in context], road_kinds, groups=has_groups,
                          outline_zoom=outline_zoom)
    _finish_map(m, bounds, gcj02=gcj02, title=title, note=note, legend=legend)
    log.info("map: %s features in %d layers", sum(decision_counts.values()), len(decision_counts) + len(context))
    return m


def _new_map(*, basemap: str, tianditu_key: str | None, offline: bool) -> tuple[folium.Map, str | None]:
    """An empty map with Leaflet (inlined when ``offline``) and wlgeo's own assets, and the basemap.

    Returns the map and the note the basemap asks to show (``None`` for most).
    """
    m = folium.Map(tiles=None, prefer_canvas=True, control_scale=False, zoom_start=10, location=[29.35, 107.75])
    if offline:
        m.default_js, m.default_css = [], []
        leaflet_js, leaflet_css = leaflet_assets()
        header = m.get_root().header
        header.add_child(_Verbatim(f"<style>{leaflet_css}</style>"), name="leaflet_css_inline")
        header.add_child(_Verbatim(f"<script>{leaflet_js}</script>"), name="leaflet_js_inline")
    else:
        m.default_js = [("leaflet", _LEAFLET_CDN + ".js")]
        m.default_css = [("leaflet_css", _LEAFLET_CDN + ".css")]
    own_js, own_css = _own_assets()
    header = m.get_root().header
    header.add_child(_Verbatim(f"<style>{own_css}</style>"), name="wlgeo_css")
    header.add_child(_Verbatim(f"<script>{own_js}</script>"), name="wlgeo_js")
    note = _basemap(m, basemap, tianditu_key)
    return m, note


def _add_context(m: folium.Map, pack: Any, *, simplify_m: float, gcj02: bool):
    """Draw the pack's context layers; return ``(context specs, road kinds present, boundary bounds or None)``."""
    context = _context_specs(pack)
    road_kinds: list[str] = []
    bounds = None
    for name, frame, symbol in sorted(context, key=lambda c: c[2].z):
        data, n, spec = _context_layer(name, frame, symbol, simplify_m=simplify_m, gcj02=gcj02)
        _GeoJsonLayer(f"context:{name}", f"{symbol.label} ({n})", spec, data, show=name in _SHOWN).add_to(m)
        if name == "roads" and "kind" in frame.columns:
            present = set(frame["kind"].dropna().astype(str))
            road_kinds = [k for k in ROAD_KIND_SYMBOLS if k in present]
        if name == "boundary":
            bounds = frame.to_crs("EPSG:4326").total_bounds
    return context, road_kinds, bounds


def _finish_map(m: folium.Map, bounds, *, gcj02: bool, title: str, note: str | None, legend: str) -> None:
    """Fit to ``bounds`` (EPSG:4326), add the layer switcher, title box, legend and controls."""
    if bounds is not None and np.all(np.isfinite(bounds)):
        west, south, east, north = bounds
        if gcj02:
            (west, east), (south, north) = wgs84_to_gcj02(np.array([west, east]), np.array([south, north]))
        m.fit_bounds([[float(south), float(west)], [float(north), float(east)]])
    folium.LayerControl(collapsed=True).add_to(m)  # expanded, it hides the legend on a laptop screen
    title_html = f"<h4>{html.escape(title)}</h4>"
    if note:
        title_html += f'<div class="wlgeo-note">{html.escape(note)}</div>'
    _Controls(title_html, legend).add_to(m)


def save_map(result: Any, pack: Any, path: str | PathLike, **kwargs: Any) -> Path:
    """Write the map of :func:`folium_map` to ``path`` atomically (temporary file, then rename).

    Raises
    ------
    OutputError
        When the file cannot be written.
    """
    path = Path(path)
    text = folium_map(result, pack, **kwargs).get_root().render()
    with atomic_path(path, what="map") as tmp, open(tmp, "x", encoding="utf-8") as f:
        f.write(text)
    return path


# --------------------------------------------------------------------------- shared with the light map
# Public names of the pieces :mod:`wlgeo.products.webmap` (the light map ``wlgeo run`` writes) builds on:
# the same row heads, value formatting, Leaflet styles, dots, tiles and assets as this module.
format_value = _fmt
is_missing = _missing
leaflet_style = _style
marker_spec = _marker_spec
new_site_marker = _new_site_marker
check_inlinable = _check_inlinable
js_safe = _js_safe
check_outline_zoom = _check_outline_zoom
own_assets = _own_assets
QUARRY_ROWS = _QUARRY_ROWS
SITE_ROWS = _SITE_ROWS
GROUP_ROWS = _GROUP_ROWS
CONTEXT_ROWS = _CONTEXT_ROWS
SHOWN_LAYERS = _SHOWN
TILES = {"osm": _OSM, "tianditu": _TIANDITU, "gaode": _GAODE}
