"""The interactive map: one self-contained HTML file that opens with no internet.

Leaflet's JavaScript and CSS are inlined from the ``django-js-lib-leaflet`` package (Leaflet
1.9.4, BSD-2), the map's own controls (legend, search, measure, fullscreen) from
``wlgeo/assets``. With ``basemap="none"`` the saved file makes no request at all; a basemap
(OpenStreetMap, Tianditu, Gaode) is the only thing that reaches out.

A quarry of a few hectares is a speck at district zoom, so below
:data:`~wlgeo.products.mapkit.OUTLINE_ZOOM` each quarry and new site is drawn as a circle marker
in its decision colour at a point inside it (:func:`shapely.point_on_surface`, computed here);
from that zoom on, as its polygon. The marker opens the polygon's own popup and tooltip objects,
belongs to the same layer-switcher entry, and ``window.wlgeoCounts`` still counts features, not
drawn shapes.

Every attribute shown in a popup, tooltip or the search list is escaped: popups and tooltips
are HTML built here with :func:`html.escape`; search labels are set with ``textContent``; the
data travel as JSON with ``<``, ``>`` and ``&`` written as ``\\u003c`` … so no value can close
the ``<script>`` element, and no value passes through a JavaScript template literal.

The map is composed from a public skeleton, which :func:`wlgeo.review.diffmap.diff_map` composes
too (as ``GeoDataFrame.explore(m=...)`` composes maps):

1. :class:`MapSkeleton` — an empty map with Leaflet, wlgeo's controls and the basemap;
2. :meth:`MapSkeleton.add_context` — the context layers of a pack;
3. :meth:`MapSkeleton.geometries` and :meth:`MapSkeleton.add_features` (a :class:`FeatureLayer`)
   — a layer of features drawn with a :class:`~wlgeo.products.style.Symbol`, with popups,
   tooltips, search entries and circle markers;
4. :meth:`MapSkeleton.add_legend` — legend rows (:func:`legend_item`, :func:`legend_note`);
5. :meth:`MapSkeleton.finish` — fit the bounds, add the layer switcher, title, legend and tools.

What the light map (:mod:`wlgeo.products.webmap`) shares with this one — basemaps, assets,
escaping, value formatting, popup rows, styles, markers, swatches — is in :mod:`wlgeo.products.mapkit`.

Examples
--------
>>> from wlgeo.products.maps import save_map
>>> save_map(result, pack, "out/map.html")  # doctest: +SKIP
"""

from __future__ import annotations

import html
import json
import logging
from collections.abc import Iterable, Mapping
from os import PathLike
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import shapely
from branca.element import Element, MacroElement
from folium.map import Layer
from jinja2 import Template

from wlgeo.model.crs import WORKING_CRS, wgs84_to_gcj02, working_crs_for
from wlgeo.model.errors import MapError
from wlgeo.model.reasons import REASON_LABELS, parse_reasons, reasons_of
from wlgeo.model.values import is_missing
from wlgeo.io.atomic import atomic_path
from wlgeo.products.mapkit import (
    CONTEXT_ROWS,
    GROUP_ROWS,
    LEAFLET_CDN,
    OUTLINE_ZOOM,
    QUARRY_ROWS,
    SHOWN_LAYERS,
    SITE_ROWS,
    Basemap,
    basemap_tiles,
    check_basemap,
    check_decisions,
    check_outline_zoom,
    context_frames,
    dot_swatch_html,
    escape_value,
    format_value,
    frame_records,
    js_json,
    js_safe,
    leaflet_assets,
    leaflet_style,
    marker_spec,
    new_site_marker,
    own_assets,
    popup_table,
    road_kinds_present,
    swatch_html,
    zoom_note,
)
from wlgeo.products.style import (
    DECISION_SYMBOLS,
    LAYER_SYMBOLS,
    ROAD_KIND_SYMBOLS,
    Symbol,
)

__all__ = [
    "folium_map", "save_map", "REASON_LABELS",
    "MapSkeleton", "FeatureLayer", "legend_item", "legend_note",
]

log = logging.getLogger(__name__)



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
    if isinstance(reasons, str) or is_missing(reasons):
        reasons = parse_reasons(reasons)
    return [r.display for r in reasons]


# --------------------------------------------------------------------------- quarry popups


def _quarry_popup_spec(decision: str, fields: list[str]) -> dict:
    """The part of a quarry popup shared by a whole decision layer: escaped row heads, decision row."""
    symbol = DECISION_SYMBOLS[decision]
    heads = dict(QUARRY_ROWS)
    return {
        "rows": [html.escape(heads[f]) for f in fields],
        "after": f"<table><tr><th>决策 Decision</th><td>{swatch_html(symbol)}{html.escape(symbol.label)}</td></tr></table>",
        "reasons": "<div><b>理由 Reasons</b></div>",
    }


def _quarry_popup_props(record: Mapping[str, Any], fields: list[str], reasons: Any) -> dict:
    """Per-quarry popup values, each HTML-escaped (``reasons``: its Reason records); ``wlgeo.layer``
    assembles the popup lazily."""
    return {
        "_h": " ".join(escape_value(record.get(k)) for k in ("quarry_id", "name") if not is_missing(record.get(k))),
        "_v": [escape_value(record.get(f)) for f in fields],
        "_r": [html.escape(r) for r in reason_items(reasons)],
    }


def _quarry_tooltip(record: Mapping[str, Any], decision: str) -> str:
    name = record.get("name")
    head = escape_value(record.get("quarry_id")) + ("" if is_missing(name) else " " + escape_value(name))
    return f"{head} — {html.escape(DECISION_SYMBOLS[decision].label)}"


def _titled_popup(rec: Mapping[str, Any], symbol: Symbol, id_field: str, rows) -> dict[str, str]:
    """Escaped popup (``_p``) and tooltip (``_t``) of a site or group: bilingual label + id, then a table."""
    title = f"{html.escape(symbol.label)} {escape_value(rec.get(id_field))}"
    return {"_p": f'<div class="wlgeo-popup"><h4>{title}</h4>{popup_table(rec, rows)}</div>', "_t": title}


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
    ``wlgeo.layer`` puts its circle marker (see :func:`~wlgeo.products.mapkit.marker_spec`).
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


class FeatureLayer(Layer, _VerbatimMacro):
    """A layer of features drawn by ``wlgeo.layer`` in the page from escaped GeoJSON; one layer-switcher entry.

    Parameters
    ----------
    key : str
        The layer's key in ``window.wlgeoCounts`` (e.g. ``"decision:close"``).
    label : str
        Its name in the layer switcher; `` (n)`` with the feature count is appended.
    geoms : numpy.ndarray
        Shapely geometries in display coordinates (:meth:`MapSkeleton.geometries`); missing or
        empty ones are left out with their properties.
    props : list of dict
        One per geometry, sent to the page as GeoJSON properties: ``_p`` popup and ``_t``
        tooltip HTML (escaped by the caller, e.g. with :func:`~wlgeo.products.mapkit.popup_table`),
        ``_s`` search text (set with ``textContent``), and any field ``style_by`` reads.
    style : dict
        Leaflet path options (:func:`~wlgeo.products.mapkit.leaflet_style`).
    radius : float, optional
        Circle radius in pixels of point features.
    style_by : dict, optional
        ``{"field": name, "styles": {value: style}}``: the style of each feature by a property.
    popup : dict, optional
        A popup template shared by the layer (quarry layers: row heads, decision row), filled
        lazily from each feature's ``_h``, ``_v`` and ``_r``.
    marker : dict, optional
        A :func:`~wlgeo.products.mapkit.marker_spec`: below its zoom each feature is a circle
        marker at its representative point (added here as ``_m``).
    show : bool
        Whether the layer is on when the map opens.

    Attributes
    ----------
    key : str
    count : int
        The number of features drawn.
    """

    _template = Template(
        """
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = wlgeo.layer({{ this._parent.get_name() }}, {{ this.spec_json }});
{% if this.show %}{{ this.get_name() }}.addTo({{ this._parent.get_name() }});{% endif %}
{% endmacro %}
"""
    )

    def __init__(
        self,
        key: str,
        label: str,
        geoms: np.ndarray,
        props: list[dict],
        *,
        style: Mapping[str, Any],
        radius: float | None = None,
        style_by: Mapping[str, Any] | None = None,
        popup: Mapping[str, Any] | None = None,
        marker: Mapping[str, Any] | None = None,
        show: bool = True,
    ) -> None:
        data, n = _feature_collection(geoms, props, markers=marker is not None)
        name = f"{label} ({n})"
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "WlgeoLayer"
        self.key = key
        self.count = n
        spec: dict[str, Any] = {"style": style}
        for field, value in (("radius", radius), ("styleBy", style_by), ("popup", popup), ("marker", marker)):
            if value is not None:
                spec[field] = value
        spec_text = json.dumps({**spec, "key": key, "name": name}, ensure_ascii=False, separators=(",", ":"))
        self.spec_json = js_safe(spec_text[:-1] + ',"data":' + data + "}")


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
        self.title_json = js_json(title_html)
        self.legend_json = js_json(legend_html)


# --------------------------------------------------------------------------- the skeleton


def legend_item(symbol: Symbol, count: int | None = None, *, dot: bool = False) -> str:
    """One legend row (HTML): ``symbol``'s swatch (after its circle-marker swatch with ``dot``), label and ``(count)``."""
    swatches = (dot_swatch_html(symbol) if dot else "") + swatch_html(symbol)
    tail = "" if count is None else f" ({count})"
    return f'<div class="wlgeo-item">{swatches}{html.escape(symbol.label)}{tail}</div>'


def legend_note(*lines: str) -> str:
    """One legend note (HTML) of ``lines`` (plain text, escaped here), one line each."""
    return '<div class="wlgeo-note">' + "<br>".join(html.escape(line) for line in lines) + "</div>"


class MapSkeleton:
    """A Leaflet map built in steps; :func:`folium_map` and :func:`wlgeo.review.diffmap.diff_map` compose it.

    1. ``MapSkeleton(...)`` — an empty map: Leaflet (inlined when ``offline``), wlgeo's controls
       and the tile layers of ``basemap``;
    2. :meth:`add_context` — the context layers of a pack (once);
    3. :meth:`add_features` (or :meth:`add_layer`) — layers of features in display coordinates
       (:meth:`geometries`);
    4. :meth:`add_legend` — legend rows, shown under the heading and above the context layers' rows;
    5. :meth:`finish` — fit the boundary (else ``extent``), add the layer switcher, title box
       (with the basemap's note), legend, scale, search, measure and fullscreen; returns the map.

    Parameters
    ----------
    basemap : {"none", "osm", "tianditu", "tianditu_img", "gaode"}
        ``"none"`` makes no request at all; ``"gaode"`` shifts every layer to GCJ-02 and says so.
    tianditu_key : str, optional
        For the Tianditu basemaps (else the ``TIANDITU_KEY`` environment variable).
    offline : bool
        Inline Leaflet (default); ``False`` links it from a CDN.
    simplify_m : float
        Default display-only simplification tolerance of :meth:`geometries`, in metres.

    Attributes
    ----------
    map : folium.Map
    note : str or None
        The note the basemap asks the title box to show.
    gcj02 : bool
        Whether geometries are shifted to GCJ-02 (the Gaode basemap).

    Raises
    ------
    MapError
        Unknown basemap, a Tianditu basemap without a well-formed key.

    Examples
    --------
    >>> from wlgeo.products.mapkit import leaflet_style
    >>> sk = MapSkeleton(basemap="none")  # doctest: +SKIP
    >>> sk.add_context(pack)  # doctest: +SKIP
    >>> n = sk.add_features("quarries", symbol.label, sk.geometries(quarries, layer="quarries"),
    ...                     [{"_t": "…"} for _ in range(len(quarries))], style=leaflet_style(symbol))  # doctest: +SKIP
    >>> sk.add_legend([legend_item(symbol, n)])  # doctest: +SKIP
    >>> m = sk.finish(title="…", extent=quarries)  # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        basemap: Basemap = "none",
        tianditu_key: str | None = None,
        offline: bool = True,
        simplify_m: float = 5.0,
    ) -> None:
        check_basemap(basemap)
        self.gcj02 = basemap == "gaode"
        self.simplify_m = simplify_m
        m = folium.Map(tiles=None, prefer_canvas=True, control_scale=False, zoom_start=10, location=[29.35, 107.75])
        header = m.get_root().header
        if offline:
            m.default_js, m.default_css = [], []
            leaflet_js, leaflet_css = leaflet_assets()
            header.add_child(_Verbatim(f"<style>{leaflet_css}</style>"), name="leaflet_css_inline")
            header.add_child(_Verbatim(f"<script>{leaflet_js}</script>"), name="leaflet_js_inline")
        else:
            m.default_js = [("leaflet", LEAFLET_CDN + ".js")]
            m.default_css = [("leaflet_css", LEAFLET_CDN + ".css")]
        own_js, own_css = own_assets()
        header.add_child(_Verbatim(f"<style>{own_css}</style>"), name="wlgeo_css")
        header.add_child(_Verbatim(f"<script>{own_js}</script>"), name="wlgeo_js")
        tiles, self.note = basemap_tiles(basemap, tianditu_key)
        for tile in tiles:
            folium.TileLayer(tile.url, attr=tile.attribution, name=tile.name, subdomains=tile.subdomains,
                             max_zoom=tile.max_zoom, overlay=tile.overlay).add_to(m)
        self.map = m
        self.context: list[tuple[str, Symbol]] = []  # drawn context layers, in CONTEXT_LAYERS order
        self.road_kinds: list[str] = []  # road kinds present, for the legend
        self.bounds: np.ndarray | None = None  # the boundary's, EPSG:4326
        self._legend: list[str] = []

    def geometries(self, frame: gpd.GeoDataFrame, *, layer: str, simplify_m: float | None = None) -> np.ndarray:
        """``frame``'s geometries for display: simplified (``simplify_m``, default the map's), in EPSG:4326 (GCJ-02 on Gaode), rounded to 1e-6°.

        Raises :class:`MapError` naming ``layer`` when ``frame`` has no CRS.
        """
        simplify = self.simplify_m if simplify_m is None else simplify_m
        return _display_geometries(frame, simplify_m=simplify, gcj02=self.gcj02, layer=layer)

    def add_layer(self, layer: FeatureLayer) -> int:
        """Add ``layer`` on top of the layers added so far; return its feature count."""
        layer.add_to(self.map)
        return layer.count

    def add_features(self, key: str, label: str, geoms: np.ndarray, props: list[dict], **options: Any) -> int:
        """Add a :class:`FeatureLayer` (``options`` as its keywords: ``style``, ``marker`` …); return its feature count."""
        return self.add_layer(FeatureLayer(key, label, geoms, props, **options))

    def add_context(self, pack: Any) -> None:
        """Draw the context layers of ``pack`` (:data:`~wlgeo.products.mapkit.CONTEXT_LAYERS`; ``None``: none), lowest ``z`` first.

        Those in :data:`~wlgeo.products.mapkit.SHOWN_LAYERS` are on when the map opens; the
        boundary's extent is what :meth:`finish` fits.
        """
        frames = context_frames(pack)
        for name, frame, symbol in sorted(frames, key=lambda c: c[2].z):
            self.add_layer(_context_layer(self, name, frame, symbol))
            if name == "roads":
                self.road_kinds = road_kinds_present(frame)
            if name == "boundary":
                self.bounds = frame.to_crs("EPSG:4326").total_bounds
        self.context.extend((name, symbol) for name, _, symbol in frames)

    def context_legend(self) -> list[str]:
        """Legend rows (HTML) of the context layers drawn, roads split by kind."""
        rows: list[str] = []
        for name, symbol in self.context:
            if name == "roads" and self.road_kinds:
                rows.extend(legend_item(ROAD_KIND_SYMBOLS[kind]) for kind in self.road_kinds)
                continue
            rows.append(legend_item(symbol))
        return rows

    def add_legend(self, rows: Iterable[str]) -> None:
        """Append legend ``rows`` (escaped HTML: :func:`legend_item`, :func:`legend_note`)."""
        self._legend.extend(rows)

    def finish(self, *, title: str, extent: gpd.GeoDataFrame | None = None) -> folium.Map:
        """Fit the map, add the layer switcher, the title box and the legend and tools; return the map.

        The map is fitted to the pack's boundary when drawn, else to ``extent`` (any CRS) when
        it has features. The title (plain text, escaped here) shows with the basemap's note.
        """
        bounds = self.bounds
        if bounds is None and extent is not None and len(extent):
            bounds = extent.to_crs("EPSG:4326").total_bounds
        m = self.map
        if bounds is not None and np.all(np.isfinite(bounds)):
            west, south, east, north = bounds
            if self.gcj02:
                (west, east), (south, north) = wgs84_to_gcj02(np.array([west, east]), np.array([south, north]))
            m.fit_bounds([[float(south), float(west)], [float(north), float(east)]])
        folium.LayerControl(collapsed=True).add_to(m)  # expanded, it hides the legend on a laptop screen
        title_html = f"<h4>{html.escape(title)}</h4>"
        if self.note:
            title_html += f'<div class="wlgeo-note">{html.escape(self.note)}</div>'
        legend = "".join(["<h4>图例 Legend</h4>", *self._legend, *self.context_legend()])
        _Controls(title_html, legend).add_to(m)
        return m


# --------------------------------------------------------------------------- the plan map


def _context_layer(sk: MapSkeleton, name: str, frame: gpd.GeoDataFrame, symbol: Symbol) -> FeatureLayer:
    geoms = sk.geometries(frame, layer=name)
    props = []
    for rec in frame_records(frame):
        label = f"{symbol.label_zh} {symbol.label_en}"
        title = label if is_missing(rec.get("name")) else f"{label}: {format_value(rec.get('name'))}"
        props.append(
            {
                "_t": html.escape(title),
                "_p": f'<div class="wlgeo-popup"><h4>{html.escape(label)}</h4>{popup_table(rec, CONTEXT_ROWS)}</div>',
                "kind": None if is_missing(rec.get("kind")) else str(rec.get("kind")),
            }
        )
    style_by = None
    if name == "roads":
        style_by = {"field": "kind", "styles": {k: leaflet_style(s) for k, s in ROAD_KIND_SYMBOLS.items()}}
    return FeatureLayer(f"context:{name}", symbol.label, geoms, props, style=leaflet_style(symbol),
                        radius=symbol.marker_size / 2 + 1, style_by=style_by, show=name in SHOWN_LAYERS)


def _decision_layers(result: Any, sk: MapSkeleton, *, outline_zoom: int = OUTLINE_ZOOM) -> list[FeatureLayer]:
    """The plan's layers, bottom to top: consolidation groups, one per decision, new sites."""
    quarries = result.quarries
    check_decisions(quarries)
    decisions = quarries["decision"].astype("string")
    geoms = sk.geometries(quarries, layer="quarries")
    records = frame_records(quarries)
    reasons = reasons_of(result).tolist()  # each quarry's Reason records, in row order
    fields = ["quarry_id", "name", "owner", "town", "capacity", "license_end"]
    fields += [f for f, _ in QUARRY_ROWS if f not in fields and f in quarries.columns]
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
            search = " ".join(format_value(rec.get(k)) for k in ("quarry_id", "name") if not is_missing(rec.get(k)))
            props.append({**_quarry_popup_props(rec, fields, reasons[i]), "_t": _quarry_tooltip(rec, decision), "_s": search})
        out.append(FeatureLayer(f"decision:{decision}", symbol.label, geoms[which], props,
                                style=leaflet_style(symbol), popup=_quarry_popup_spec(decision, fields),
                                marker=marker_spec(symbol, below=outline_zoom)))

    sites = getattr(result, "new_sites", None)
    if sites is not None and len(sites):
        symbol = DECISION_SYMBOLS["new"]
        site_geoms = sk.geometries(sites, layer="new_sites")
        props = [{**_titled_popup(rec, symbol, "site_id", SITE_ROWS), "_s": format_value(rec.get("site_id"))}
                 for rec in frame_records(sites)]
        out.append(FeatureLayer("decision:new", symbol.label, site_geoms, props, style=leaflet_style(symbol),
                                marker=new_site_marker(symbol, below=outline_zoom)))

    groups = getattr(result, "consolidation_groups", None)
    if groups is not None and len(groups):
        symbol = LAYER_SYMBOLS["consolidation_groups"]
        group_geoms = sk.geometries(groups, layer="consolidation_groups")
        props = [_titled_popup(rec, symbol, "group_id", GROUP_ROWS) for rec in frame_records(groups)]
        # first, so that the quarries' dots and outlines are drawn over the groups' dashed hulls
        out.insert(0, FeatureLayer("groups", symbol.label, group_geoms, props, style=leaflet_style(symbol)))
    return out


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
        Context layers (:data:`~wlgeo.products.mapkit.CONTEXT_LAYERS`) are drawn when present.
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
        polygon, which open the same popup (default :data:`~wlgeo.products.mapkit.OUTLINE_ZOOM`).

    Returns
    -------
    folium.Map
        ``window.wlgeoCounts`` in the page holds the feature count of each layer once drawn.

    Raises
    ------
    MapError
        Unknown basemap or decision, a Tianditu basemap without key, a layer without CRS.
    """
    check_basemap(basemap)
    check_outline_zoom(outline_zoom)
    scenario = getattr(getattr(result, "scenario", None), "name", None) or "—"
    title = title or f"{getattr(pack, 'district', None) or ''}碎石矿山布局规划图 — {scenario}"

    sk = MapSkeleton(basemap=basemap, tianditu_key=tianditu_key, offline=offline, simplify_m=simplify_m)
    sk.add_context(pack)
    decision_counts: dict[str, int] = {}
    has_groups = False
    for layer in _decision_layers(result, sk, outline_zoom=outline_zoom):
        n = sk.add_layer(layer)
        if layer.key.startswith("decision:"):
            decision_counts[layer.key.split(":", 1)[1]] = n
        has_groups = has_groups or layer.key == "groups"
    sk.add_legend(legend_item(DECISION_SYMBOLS[d], n, dot=True) for d, n in decision_counts.items())
    if decision_counts:
        sk.add_legend([legend_note(*zoom_note(outline_zoom))])
    if has_groups:
        sk.add_legend([legend_item(LAYER_SYMBOLS["consolidation_groups"])])
    m = sk.finish(title=title, extent=result.quarries)
    log.info("map: %s features in %d layers", sum(decision_counts.values()), len(decision_counts) + len(sk.context))
    return m


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
