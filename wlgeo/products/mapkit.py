"""What the web maps share: the folium map, the light map and the diff map.

:mod:`wlgeo.products.maps` (the folium plan map and its :class:`~wlgeo.products.maps.MapSkeleton`),
:mod:`wlgeo.products.webmap` (the light map ``wlgeo run`` writes) and :mod:`wlgeo.review.diffmap`
(the scenario diff map) draw the same things the same way; this module is the one place for it:

- **vocabulary**: the basemaps (:data:`BASEMAPS`, :func:`basemap_tiles`), the context layers drawn
  (:data:`CONTEXT_LAYERS`, :data:`SHOWN_LAYERS`), the zoom where dots give way to outlines
  (:data:`OUTLINE_ZOOM`), the popup rows (:data:`QUARRY_ROWS` …), the decisions a map can draw
  (:func:`check_decisions`);
- **assets**: Leaflet and wlgeo's own controls, inlined (:func:`leaflet_assets`, :func:`own_assets`,
  :func:`check_inlinable`);
- **safety**: JSON that cannot close a ``<script>`` (:func:`js_safe`, :func:`js_json`), escaped
  attribute values (:func:`escape_value`, :func:`popup_table`);
- **look**: the Leaflet style of a :class:`~wlgeo.products.style.Symbol` (:func:`leaflet_style`),
  its circle marker (:func:`marker_spec`), its legend swatch (:func:`swatch_html`).

Nothing here imports folium: the light map does not need it.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from wlgeo.model.errors import MapError
from wlgeo.model.values import is_missing
from wlgeo.products.style import DECISION_SYMBOLS, LAYER_SYMBOLS, PROTECTED_KIND_LABELS, ROAD_KIND_SYMBOLS, Symbol

__all__ = [
    "Basemap", "BASEMAPS", "TileSource", "basemap_tiles", "check_basemap", "GCJ02_NOTE",
    "CONTEXT_LAYERS", "SHOWN_LAYERS", "context_frames", "road_kinds_present",
    "OUTLINE_ZOOM", "check_outline_zoom", "zoom_note", "check_decisions",
    "QUARRY_ROWS", "SITE_ROWS", "GROUP_ROWS", "CONTEXT_ROWS",
    "LEAFLET_CDN", "leaflet_assets", "own_assets", "check_inlinable",
    "js_safe", "js_json",
    "format_value", "field_text", "escape_value", "popup_table", "frame_records",
    "leaflet_style", "MARKER_RADIUS", "marker_spec", "new_site_marker", "swatch_html", "dot_swatch_html",
]

# --------------------------------------------------------------------------- vocabulary

Basemap = Literal["none", "osm", "tianditu", "tianditu_img", "gaode"]
BASEMAPS: tuple[str, ...] = ("none", "osm", "tianditu", "tianditu_img", "gaode")
"""Basemaps a map can be drawn on; ``"none"`` makes no request at all."""

CONTEXT_LAYERS: tuple[str, ...] = (
    "boundary", "towns", "resource_zones", "planning_blocks", "red_line", "farmland",
    "protected_areas", "rivers", "roads", "parks", "bases", "settlements", "ports",
)
"""Context layers drawn when present in the pack, in this order (bottom to top)."""

SHOWN_LAYERS: frozenset[str] = frozenset(
    {"boundary", "red_line", "protected_areas", "rivers", "roads", "parks", "bases", "ports"}
)
"""Context layers switched on when the map opens; the others start hidden in the layer switcher."""

OUTLINE_ZOOM = 13
"""Zoom level from which quarries and new sites are drawn as their polygons.

Below it (the district view the map opens at) each one is a circle marker in its decision colour
at its representative point, since a quarry of a few hectares is a speck at district zoom; at
zoom 13 a pixel is about 17 m at 30°N, so a 200 m quarry is 12 pixels across.
"""

MARKER_RADIUS = 5.0
"""Radius in pixels of a quarry's circle marker; new sites are drawn larger (:func:`new_site_marker`)."""

QUARRY_ROWS: tuple[tuple[str, str], ...] = (
    ("quarry_id", "编号 ID"),
    ("name", "名称 Name"),
    ("owner", "采矿权人 Owner"),
    ("town", "乡镇 Town"),
    ("capacity", "生产规模 Capacity (万吨/年)"),
    ("license_end", "许可证到期 Licence end"),
    ("group_id", "整合组 Group"),
)
"""Popup rows of a quarry: (field, bilingual head), in display order."""

SITE_ROWS: tuple[tuple[str, str], ...] = (
    ("site_id", "编号 ID"),
    ("score", "适宜性得分 Score"),
    ("capacity", "规划规模 Capacity (万吨/年)"),
    ("area_m2", "面积 Area (m²)"),
)
"""Popup rows of a new site: (field, bilingual head)."""

GROUP_ROWS: tuple[tuple[str, str], ...] = (
    ("group_id", "整合组 Group"),
    ("members", "成员 Members"),
    ("n_members", "矿山数 Quarries"),
    ("capacity", "合计规模 Capacity (万吨/年)"),
)
"""Popup rows of a consolidation group: (field, bilingual head)."""

CONTEXT_ROWS: tuple[tuple[str, str], ...] = (
    ("name", "名称 Name"),
    ("town", "乡镇 Town"),
    ("kind", "类别 Kind"),
    ("role", "定位 Role"),
    ("category", "类别 Category"),
    ("mineral", "矿种 Mineral"),
    ("block_id", "区块 Block"),
    ("population", "人口 Population"),
)
"""Popup rows of a context feature (those its layer has): (field, bilingual head)."""

GCJ02_NOTE = "数据已由WGS84偏移至GCJ-02以配准高德底图 Data shifted from WGS84 to GCJ-02 to match the Gaode basemap"
"""The note a map on the Gaode basemap shows (every layer is shifted to GCJ-02)."""

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


@dataclass(frozen=True)
class TileSource:
    """One tile layer of a basemap: URL template, attribution, switcher name, subdomains, max zoom."""

    url: str
    attribution: str
    name: str
    subdomains: str
    max_zoom: int
    overlay: bool = False  # drawn over the base tiles (Tianditu's labels)


def check_basemap(basemap: Any) -> None:
    """Raise :class:`MapError` unless ``basemap`` is one of :data:`BASEMAPS`."""
    if basemap not in BASEMAPS:
        raise MapError(f"unknown basemap {basemap!r}; allowed: {', '.join(BASEMAPS)}")


def basemap_tiles(basemap: str, tianditu_key: str | None = None) -> tuple[list[TileSource], str | None]:
    """The tile layers of ``basemap`` and the note the map must show (``None`` for most).

    Tianditu needs ``tianditu_key`` or the ``TIANDITU_KEY`` environment variable (letters and
    digits only); ``"gaode"`` returns :data:`GCJ02_NOTE`.

    Raises
    ------
    MapError
        Unknown basemap, or a Tianditu basemap without a well-formed key.
    """
    check_basemap(basemap)
    if basemap == "none":
        return [], None
    if basemap == "osm":
        return [TileSource(_OSM[0], _OSM[1], "OpenStreetMap", _OSM[2], 19)], None
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
        return [
            TileSource(_TIANDITU.replace("{layer}", base).replace("{key}", key), attr,
                       f"天地图 Tianditu {base}", "01234567", 18),
            TileSource(_TIANDITU.replace("{layer}", labels).replace("{key}", key), attr,
                       f"天地图注记 Tianditu labels {labels}", "01234567", 18, overlay=True),
        ], None
    return [TileSource(_GAODE[0], _GAODE[1], "高德 Gaode", _GAODE[2], 18)], GCJ02_NOTE  # "gaode"


def check_outline_zoom(outline_zoom: Any) -> None:
    """Raise :class:`MapError` unless ``outline_zoom`` is a whole zoom level 0–30."""
    if isinstance(outline_zoom, bool) or not isinstance(outline_zoom, (int, np.integer)) or not 0 <= outline_zoom <= 30:
        raise MapError(f"outline_zoom must be a whole zoom level 0–30 (0 = always polygons), not {outline_zoom!r}")


def zoom_note(outline_zoom: int) -> tuple[str, str]:
    """The legend's note (Chinese, English; not escaped) that dots become outlines at ``outline_zoom``."""
    return f"圆点示位置，{outline_zoom}级起显示范围", f"Dots below zoom {outline_zoom}, outlines from it"


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


def context_frames(pack: Any) -> list[tuple[str, gpd.GeoDataFrame, Symbol]]:
    """``(name, frame, symbol)`` of each non-empty context layer of ``pack`` (or ``None``), in :data:`CONTEXT_LAYERS` order."""
    out = []
    for name in CONTEXT_LAYERS:
        frame = pack.get(name) if pack is not None else None
        if frame is None or len(frame) == 0:
            continue
        out.append((name, frame, LAYER_SYMBOLS[name]))
    return out


def road_kinds_present(roads: gpd.GeoDataFrame) -> list[str]:
    """The road kinds of :data:`~wlgeo.products.style.ROAD_KIND_SYMBOLS` present in ``roads['kind']``, in legend order."""
    if "kind" not in roads.columns:
        return []
    present = set(roads["kind"].dropna().astype(str))
    return [k for k in ROAD_KIND_SYMBOLS if k in present]


# --------------------------------------------------------------------------- assets

LEAFLET_CDN = "https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist/leaflet"
"""Leaflet 1.9.4 on a CDN (``.js`` / ``.css``), for a map saved with ``offline=False``."""


def check_inlinable(text: str, name: str, closing: str) -> str:
    """``text`` unchanged, or :class:`MapError` when it contains ``closing`` (e.g. ``</script``)."""
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
    return check_inlinable(js, "leaflet.js", "</script"), check_inlinable(css, "leaflet.css", "</style")


@lru_cache(maxsize=1)
def own_assets() -> tuple[str, str]:
    """wlgeo's map JavaScript and CSS (``wlgeo/assets/wlgeo_map.*``: layers, legend, search, measure), ready to inline."""
    root = resources.files("wlgeo") / "assets"
    js = (root / "wlgeo_map.js").read_text(encoding="utf-8")
    css = (root / "wlgeo_map.css").read_text(encoding="utf-8")
    return check_inlinable(js, "wlgeo_map.js", "</script"), check_inlinable(css, "wlgeo_map.css", "</style")


# --------------------------------------------------------------------------- HTML and JavaScript safety


def js_safe(text: str) -> str:
    """JSON text made safe inside ``<script>``: no ``</script``, no ``<!--``, no line separators."""
    return (
        text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    )


def js_json(value: Any) -> str:
    """``value`` as compact JSON that is safe inside ``<script>`` (see :func:`js_safe`)."""
    return js_safe(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


# --------------------------------------------------------------------------- values and popups


def format_value(value: Any) -> str:
    """Display text of one attribute value (not yet escaped); ``—`` when missing."""
    if is_missing(value):
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
        return ", ".join(format_value(v) for v in value)
    return str(value)


def field_text(value: Any, field: str | None = None) -> str:
    """Display text (not escaped) of ``field``'s value: a ``kind`` code as its bilingual label, else :func:`format_value`."""
    if field == "kind" and not is_missing(value):
        if str(value) in PROTECTED_KIND_LABELS:
            return " ".join(PROTECTED_KIND_LABELS[str(value)])
        if str(value) in ROAD_KIND_SYMBOLS:
            return ROAD_KIND_SYMBOLS[str(value)].label
    return format_value(value)


def escape_value(value: Any) -> str:
    """Display text of one attribute value, HTML-escaped (quotes too)."""
    return html.escape(format_value(value), quote=True)


def popup_table(record: Mapping[str, Any], rows: Sequence[tuple[str, str]], *, always: Sequence[str] = ()) -> str:
    """HTML table of the ``rows`` (field, head) ``record`` has (or listed in ``always``), every value escaped."""
    cells = []
    for field, head in rows:
        if field in record or field in always:
            text = field_text(record.get(field), field)
            cells.append(f"<tr><th>{html.escape(head)}</th><td>{html.escape(text, quote=True)}</td></tr>")
    return "<table>" + "".join(cells) + "</table>"


def frame_records(frame: gpd.GeoDataFrame) -> list[dict]:
    """The attribute rows of ``frame`` (geometry column dropped) as dicts, in frame order."""
    return pd.DataFrame(frame.drop(columns=frame.geometry.name)).to_dict("records")


# --------------------------------------------------------------------------- symbols on the map


def leaflet_style(symbol: Symbol) -> dict:
    """Leaflet path options (``color``, ``weight``, ``fillColor`` …) drawing ``symbol``."""
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


def marker_spec(
    symbol: Symbol,
    *,
    radius: float = MARKER_RADIUS,
    weight: float = 1.0,
    fill_opacity: float = 1.0,
    dash: bool = False,
    below: int = OUTLINE_ZOOM,
    style_by: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict:
    """The ``marker`` entry of a layer spec: below zoom ``below`` each polygon is drawn as a circle marker.

    The marker is filled with ``symbol.fill`` and outlined in ``symbol.stroke``; the polygon's
    popup and tooltip open on it. ``style_by`` = ``{"field": name, "styles": {value: style}}``
    varies it per feature. The folium map needs the features' ``_m`` (their representative
    points); the light map encodes them itself.
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


def new_site_marker(symbol: Symbol, *, below: int = OUTLINE_ZOOM) -> dict:
    """Marker spec of a new site: larger than a quarry's, with the site's own (dashed) outline."""
    return marker_spec(symbol, radius=MARKER_RADIUS + 2, weight=max(symbol.width, 1.0), dash=True, below=below)


def swatch_html(symbol: Symbol) -> str:
    """Legend swatch of ``symbol`` as HTML (a filled box, a line or a point in its colours)."""
    fill = symbol.fill or "transparent"
    if symbol.geometry == "line":
        return f'<span class="wlgeo-swatch wlgeo-line" style="border-top-color:{symbol.stroke}"></span>'
    cls = "wlgeo-swatch wlgeo-point" if symbol.geometry == "point" else "wlgeo-swatch"
    border = "dashed" if symbol.dash else "solid"
    return (
        f'<span class="{cls}" style="background:{fill};opacity:{max(symbol.fill_opacity, 0.35) if symbol.fill else 1};'
        f'border:{max(symbol.width, 1):.0f}px {border} {symbol.stroke}"></span>'
    )


def dot_swatch_html(symbol: Symbol) -> str:
    """Legend swatch (HTML) of the circle marker drawn for ``symbol`` below :data:`OUTLINE_ZOOM`."""
    return (f'<span class="wlgeo-swatch wlgeo-point wlgeo-dot" style="background:{symbol.fill or symbol.stroke};'
            f'border:1px solid {symbol.stroke}"></span>')
