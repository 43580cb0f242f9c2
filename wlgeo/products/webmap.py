"""The light offline map: compact data decoded in the page, one self-contained HTML file.

What ``wlgeo run`` writes as ``map.html`` (:func:`save_map`). Compared with a
GeoJSON map (``GeoDataFrame.explore()`` or :func:`wlgeo.products.maps.folium_map`) it carries the same
features, popups, layer switcher and search in a fraction of the bytes and draws its first frame
in a fraction of the time:

- **Coordinates are quantised integers**, delta-coded along each layer and written as base-32
  varints (6 bits a character, alphabet ``A-Za-z0-9-_``: no character JSON or HTML must escape);
  the page decodes them into Leaflet ``LatLng`` objects.
- **Context layers are simplified per zoom** (:data:`LEVELS`: about half a screen pixel at the
  lowest zoom of each level) with a quantum of a third of the tolerance. Polygon layers that
  form a coverage (parcels sharing edges, towns) are simplified with
  :func:`shapely.coverage_simplify`, so neighbours keep one shared edge (no gap, no overlap);
  others with :func:`shapely.simplify` (``preserve_topology=True``). A level whose vertex count
  is within 20 % of the next finer one is dropped. The page decodes a level the first time its
  zoom is reached.
- **Attributes are a column table** (repeated values dictionary-coded); popups, tooltips and
  search entries are built lazily in JavaScript with ``textContent`` (no HTML from data, no
  template engine: the data travel as JSON in ``<script type="application/json">`` with ``<``,
  ``>``, ``&``, U+2028 and U+2029 escaped).
- One canvas renderer draws every vector layer; below :data:`wlgeo.products.mapkit.OUTLINE_ZOOM` each quarry
  is a dot (as in :mod:`wlgeo.products.maps`).
- The Chinese text is drawn with a subset of the bundled CJK font (only the characters the page
  uses, WOFF, see :func:`wlgeo.products.fonts.web_font_subset`), so the map reads the same on a machine
  without Chinese fonts.

Examples
--------
>>> from wlgeo.products.webmap import map_html
>>> text = map_html(result, pack)  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import html
import json
import logging
import os
import re
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from wlgeo.model.crs import WORKING_CRS, wgs84_to_gcj02
from wlgeo.model.errors import MapError
from wlgeo.model.reasons import reasons_of
from wlgeo.model.values import is_missing
from wlgeo.io.atomic import atomic_path
from wlgeo.products.mapkit import (
    CONTEXT_LAYERS,
    CONTEXT_ROWS,
    GROUP_ROWS,
    OUTLINE_ZOOM,
    QUARRY_ROWS,
    SHOWN_LAYERS,
    SITE_ROWS,
    basemap_tiles,
    check_basemap,
    check_decisions,
    check_inlinable,
    check_outline_zoom,
    context_frames,
    field_text,
    js_safe,
    leaflet_assets,
    leaflet_style,
    marker_spec,
    new_site_marker,
    own_assets,
    road_kinds_present,
    zoom_note,
)
from wlgeo.products.style import (
    DECISION_SYMBOLS,
    LAYER_SYMBOLS,
    ROAD_KIND_SYMBOLS,
    Symbol,
    is_synthetic,
    scenario_title,
)

__all__ = ["map_html", "save_map", "LEVELS", "encode_varints", "decode_varints", "simplify_for_display"]

log = logging.getLogger(__name__)

LEVELS: tuple[tuple[int, float], ...] = ((0, 50.0), (11, 12.0), (13, 3.0), (15, 0.5))
"""Display levels of context layers: (lowest zoom, simplification tolerance in metres).

At zoom *z* a screen pixel in Wulong (29.3° N) is 136 500 / 2^z m: 133 m at 10, 33 m at 12, 8 m
at 14, 2 m at 16; each tolerance is at most about half a pixel at its lowest zoom.
"""

PLAN_TOLERANCE_M = 0.5
"""Simplification of quarries, new sites and groups (drawn from zoom 13, 17 m a pixel)."""

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_ALPHA = np.frombuffer(_ALPHABET.encode("ascii"), dtype=np.uint8)
_METRES_PER_DEGREE = 111_320.0


# --------------------------------------------------------------------------- varints


def encode_varints(values: np.ndarray) -> str:
    """Signed integers as zigzag base-32 varints, one character per 5 bits.

    A character below ``g`` (index < 32) ends a number; ``g``… (index ≥ 32) carries 5 more bits.

    Examples
    --------
    >>> encode_varints(np.array([0, -1, 1, 16, -300]))
    'ABCgB3S'
    >>> decode_varints('ABCgB3S').tolist()
    [0, -1, 1, 16, -300]
    """
    v = np.asarray(values, dtype=np.int64)
    if not len(v):
        return ""
    z = ((v << 1) ^ (v >> 63)).astype(np.uint64)
    digits = [z & np.uint64(31)]
    rest = z >> np.uint64(5)
    while rest.any():
        digits.append(rest & np.uint64(31))
        rest = rest >> np.uint64(5)
    d = np.stack(digits, axis=1).astype(np.uint8)  # least significant first
    n = len(digits)
    # how many digits each value needs: 1 + index of its highest non-zero digit
    nz = d != 0
    used = np.where(nz.any(axis=1), n - np.argmax(nz[:, ::-1], axis=1), 1)
    cont = np.arange(n)[None, :] < (used[:, None] - 1)
    codes = _ALPHA[d + np.where(cont, 32, 0).astype(np.uint8)]
    keep = np.arange(n)[None, :] < used[:, None]
    return codes[keep].tobytes().decode("ascii")


def decode_varints(text: str) -> np.ndarray:
    """Inverse of :func:`encode_varints` (used by tests; the page has its own decoder)."""
    lookup = {c: i for i, c in enumerate(_ALPHABET)}
    out, value, shift = [], 0, 0
    for ch in text:
        k = lookup[ch]
        value |= (k & 31) << shift
        if k >= 32:
            shift += 5
            continue
        out.append((value >> 1) ^ -(value & 1))
        value, shift = 0, 0
    return np.array(out, dtype=np.int64)


# --------------------------------------------------------------------------- geometry


def _structure(geoms: np.ndarray) -> tuple[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Flatten geometries: kind, parts per feature, rings per part, vertices per ring, coordinates,
    and the kind of each feature (0 point, 1 line, 2 polygon).

    Polygon rings lose their closing vertex (the page closes them); a line part is one ring; a
    point is one ring of one vertex. ``kind`` is ``"polygon"``, ``"line"`` or ``"point"`` when
    every feature is of that family, else ``"mixed"`` (a layer of points and polygons).
    """
    n = len(geoms)
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    idx = np.flatnonzero(present)
    parts, part_of = shapely.get_parts(geoms[present], return_index=True)
    parts_per_feature = np.zeros(n, dtype=np.int64)
    np.add.at(parts_per_feature, idx[part_of], 1)
    ptype = shapely.get_type_id(parts)
    family = np.select([ptype == 3, np.isin(ptype, (1, 2))], [2, 1], 0)
    feature_kind = np.full(n, 2, dtype=np.int64)
    first = np.unique(part_of, return_index=True)[1]
    feature_kind[idx[part_of[first]]] = family[first]
    is_poly = ptype == 3
    poly_rings, poly_ring_of = shapely.get_rings(parts[is_poly], return_index=True)
    ring_part = np.concatenate([np.flatnonzero(is_poly)[poly_ring_of], np.flatnonzero(~is_poly)]).astype(np.int64)
    ring_geom = np.concatenate([poly_rings, parts[~is_poly]])
    order = np.argsort(ring_part, kind="stable")
    ring_part, ring_geom = ring_part[order], ring_geom[order]
    rings_per_part = np.bincount(ring_part, minlength=len(parts)).astype(np.int64)
    coords, coord_of = shapely.get_coordinates(ring_geom, return_index=True)
    counts = np.bincount(coord_of, minlength=len(ring_geom)).astype(np.int64)
    closing = is_poly[ring_part] & (counts > 0)
    last = np.cumsum(counts) - 1
    keep = np.ones(len(coords), dtype=bool)
    keep[last[closing]] = False
    coords = coords[keep]
    counts = counts - closing.astype(np.int64)
    kinds = set(family.tolist())
    kind = {frozenset({2}): "polygon", frozenset({1}): "line", frozenset({0}): "point", frozenset(): "polygon"}.get(
        frozenset(kinds), "mixed")
    return kind, parts_per_feature, rings_per_part, counts, coords, feature_kind


def _lonlat(geoms_m: np.ndarray, crs: Any, *, gcj02: bool) -> np.ndarray:
    """Geometries in metres (``crs``) to EPSG:4326, optionally shifted to GCJ-02."""
    out = gpd.GeoSeries(geoms_m, crs=crs).to_crs("EPSG:4326").values
    arr = np.asarray(out, dtype=object)
    if gcj02:
        def shift(c: np.ndarray) -> np.ndarray:
            if not len(c):
                return c
            lon, lat = wgs84_to_gcj02(c[:, 0], c[:, 1])
            return np.column_stack([lon, lat])

        arr = shapely.transform(arr, shift)
    return arr


def _encode_level(geoms_ll: np.ndarray, quantum_deg: float, origin: tuple[float, float], min_zoom: int) -> dict:
    kind, n_parts, n_rings, n_verts, coords, feature_kind = _structure(geoms_ll)
    ints = np.rint((coords - np.asarray(origin)) / quantum_deg).astype(np.int64)
    flat = ints.reshape(-1)
    deltas = np.diff(flat.reshape(-1, 2), axis=0, prepend=np.zeros((1, 2), dtype=np.int64)).reshape(-1)
    return {
        "z": int(min_zoom),
        "q": float(quantum_deg),
        "k": kind,
        "p": encode_varints(n_parts),
        "r": encode_varints(n_rings),
        "v": encode_varints(n_verts),
        "c": encode_varints(deltas),
        "nv": int(len(coords)),
        **({"t": encode_varints(feature_kind)} if kind == "mixed" else {}),
    }


def _metric_crs(frame: gpd.GeoDataFrame) -> Any:
    """The CRS tolerances are measured in: the layer's own when projected (a pack's working CRS,
    whatever its zone), else the default working CRS."""
    crs = frame.crs
    return crs if crs is not None and crs.is_projected else WORKING_CRS


def _is_coverage(geoms: np.ndarray) -> bool:
    """Whether the polygons share edges and form a valid coverage (no overlaps)."""
    polys = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    if len(polys) < 2 or not np.isin(shapely.get_type_id(polys), (3, 6)).all():
        return False
    coords, owner = shapely.get_coordinates(polys, return_index=True)
    keys = np.round(coords, 3)
    order = np.lexsort((owner, keys[:, 1], keys[:, 0]))
    same = np.all(keys[order][1:] == keys[order][:-1], axis=1) & (owner[order][1:] != owner[order][:-1])
    if not same.any():
        return False  # no two polygons share a vertex, hence no edge: each can be simplified alone
    try:
        return bool(shapely.coverage_is_valid(polys))
    except Exception:  # GEOS refuses invalid input: treat as not a coverage
        return False


def _simplify(geoms: np.ndarray, tolerance: float, *, coverage: bool) -> np.ndarray:
    if tolerance <= 0:
        return geoms
    if coverage:
        out = geoms.copy()
        ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
        out[ok] = shapely.coverage_simplify(geoms[ok], tolerance)
        return out
    return shapely.simplify(geoms, tolerance, preserve_topology=True)


def simplify_for_display(geoms: np.ndarray, tolerance: float) -> np.ndarray:
    """Douglas-Peucker without topology checks (display only: a self-touch below the tolerance is
    below half a pixel); a polygon that would collapse keeps its topology-preserving form."""
    if tolerance <= 0:
        return geoms
    out = shapely.simplify(geoms, tolerance, preserve_topology=False)
    lost = shapely.is_empty(out) & ~shapely.is_empty(geoms) & ~shapely.is_missing(geoms)
    if lost.any():
        out[lost] = shapely.simplify(geoms[lost], tolerance, preserve_topology=True)
    return out


def _levels(frame: gpd.GeoDataFrame, *, gcj02: bool, origin: tuple[float, float], layer: str,
            levels: Sequence[tuple[int, float]] = LEVELS) -> list[dict]:
    """Encoded display levels of a context layer, coarsest first (see :data:`LEVELS`)."""
    if frame.crs is None:
        raise MapError("layer has no CRS; cannot place it on the map", layer=layer)
    crs = _metric_crs(frame)
    arr = np.asarray(frame.geometry.to_crs(crs).values, dtype=object)
    types = shapely.get_type_id(arr[~(shapely.is_missing(arr) | shapely.is_empty(arr))])
    if len(types) and np.isin(types, (0, 4)).any():  # points (alone or with shapes): one level
        return [_encode_level(_lonlat(arr, crs, gcj02=gcj02), 0.2 / _METRES_PER_DEGREE, origin, 0)]
    coverage = _is_coverage(arr)
    out: list[dict] = []
    previous_count = None
    for min_zoom, tolerance in reversed(levels):  # finest first, so coarse ones can be dropped
        simple = _simplify(arr, tolerance, coverage=True) if coverage else simplify_for_display(arr, tolerance)
        count = int(shapely.get_num_coordinates(simple).sum())
        if previous_count is not None and count > 0.8 * previous_count:
            out[-1]["z"] = int(min_zoom)  # not worth a level: the finer one serves from this zoom
            continue
        quantum = max(tolerance / 3, 0.1) / _METRES_PER_DEGREE
        out.append(_encode_level(_lonlat(simple, crs, gcj02=gcj02), quantum, origin, min_zoom))
        previous_count = count
    out.reverse()
    out[0]["z"] = 0
    return out


# --------------------------------------------------------------------------- attributes


def _column(values: Sequence[str | None]) -> Any:
    """A column of display strings (``None`` = missing): a list, or a dictionary + varint indices."""
    values = list(values)
    uniques = list(dict.fromkeys(values))
    if len(values) > 8 and len(uniques) * 2 < len(values):
        index = {v: i for i, v in enumerate(uniques)}
        return {"d": uniques, "i": encode_varints(np.array([index[v] for v in values], dtype=np.int64))}
    return values


def _text(values: pd.Series, field: str | None = None) -> list[str | None]:
    """Display strings of a column (:func:`~wlgeo.products.mapkit.field_text`), ``None`` for missing values."""
    return [None if is_missing(value) else field_text(value, field) for value in values.tolist()]


def _table(frame: gpd.GeoDataFrame, rows: Sequence[tuple[str, str]], *, always: Sequence[str] = ()) -> list[dict]:
    cols = []
    for field, head in rows:
        if field in frame.columns:
            cols.append({"f": field, "h": head, "v": _column(_text(frame[field], field))})
        elif field in always:
            cols.append({"f": field, "h": head, "v": _column([None] * len(frame))})
    return cols


# --------------------------------------------------------------------------- styles and legend


def _swatch(symbol: Symbol, *, dot: bool = False) -> dict:
    kind = "dot" if dot else symbol.geometry
    out = {"t": kind, "s": symbol.stroke, "f": symbol.fill, "o": symbol.fill_opacity, "w": symbol.width}
    if symbol.dash:
        out["d"] = ",".join(f"{d:g}" for d in symbol.dash)
    return out


# --------------------------------------------------------------------------- layers


def _drawn(frame: gpd.GeoDataFrame) -> np.ndarray:
    """Which rows have a geometry to draw."""
    geoms = frame.geometry.values
    return ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))


def _feature_rows(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return frame[_drawn(frame)]


def _plan_layer(key: str, name: str, frame: gpd.GeoDataFrame, symbol: Symbol, *, gcj02: bool,
                origin: tuple[float, float], marker: dict | None, extra: dict) -> dict:
    frame = _feature_rows(frame)
    crs = _metric_crs(frame)
    metric = np.asarray(frame.geometry.to_crs(crs).values, dtype=object)
    simple = simplify_for_display(metric, PLAN_TOLERANCE_M)
    level = _encode_level(_lonlat(simple, crs, gcj02=gcj02), 0.1 / _METRES_PER_DEGREE, origin, 0)
    spec = {"key": key, "name": f"{name} ({len(frame)})", "n": len(frame), "show": True,
            "style": leaflet_style(symbol), "lods": [level], **extra}
    if marker is not None:
        points = shapely.point_on_surface(simple)
        spec["marker"] = marker
        spec["m"] = _encode_level(_lonlat(points, crs, gcj02=gcj02), 0.1 / _METRES_PER_DEGREE, origin, 0)
    return spec


def _quarry_layers(result: Any, *, gcj02: bool, origin: tuple[float, float], outline_zoom: int) -> list[dict]:
    from wlgeo.products.maps import reason_items

    quarries = result.quarries
    check_decisions(quarries)
    records = reasons_of(result)  # each quarry's Reason records, aligned to quarries.index
    decisions = quarries["decision"].astype("string")
    fields = ["quarry_id", "name", "owner", "town", "capacity", "license_end"]
    fields += [f for f, _ in QUARRY_ROWS if f not in fields and f in quarries.columns]
    heads = dict(QUARRY_ROWS)
    rows = tuple((f, heads[f]) for f in fields)
    out: list[dict] = []
    groups = getattr(result, "consolidation_groups", None)
    if groups is not None and len(groups):
        symbol = LAYER_SYMBOLS["consolidation_groups"]
        part = _feature_rows(groups)  # dissolved footprints: drawn with display levels, like the context
        out.append({"key": "groups", "name": f"{symbol.label} ({len(part)})", "n": len(part), "show": True,
                    "style": leaflet_style(symbol), "popup": "titled", "label": symbol.label, "id": "group_id",
                    "cols": _table(part, GROUP_ROWS),
                    "lods": _levels(part, gcj02=gcj02, origin=origin, layer="consolidation_groups")})
    for decision, symbol in DECISION_SYMBOLS.items():
        if decision == "new":
            continue
        chosen = (decisions == decision).to_numpy(dtype=bool)
        part = _feature_rows(quarries[chosen])
        if not len(part):
            continue
        drawn = records[chosen][_drawn(quarries[chosen])]
        reasons = ["\n".join(reason_items(r)) for r in drawn.tolist()]
        out.append(_plan_layer(
            f"decision:{decision}", symbol.label, part, symbol, gcj02=gcj02, origin=origin,
            marker=marker_spec(symbol, below=outline_zoom),
            extra={"popup": "quarry", "decision": {"label": symbol.label, "sw": _swatch(symbol)},
                   "cols": _table(part, rows, always=("quarry_id", "name", "owner", "town", "capacity", "license_end")),
                   "reasons": _column(reasons)},
        ))
    sites = getattr(result, "new_sites", None)
    if sites is not None and len(sites):
        symbol = DECISION_SYMBOLS["new"]
        part = _feature_rows(sites)
        out.append(_plan_layer("decision:new", symbol.label, part, symbol, gcj02=gcj02, origin=origin,
                               marker=new_site_marker(symbol, below=outline_zoom),
                               extra={"popup": "titled", "label": symbol.label, "id": "site_id", "search": True,
                                      "cols": _table(part, SITE_ROWS)}))
    return out


def _context_layers(pack: Any, *, gcj02: bool, origin: tuple[float, float]) -> tuple[list[dict], list[str], Any]:
    specs, road_kinds, bounds = [], [], None
    for name, frame, symbol in sorted(context_frames(pack), key=lambda c: c[2].z):
        frame = _feature_rows(frame)
        spec = {"key": f"context:{name}", "name": f"{symbol.label} ({len(frame)})", "n": len(frame),
                "show": name in SHOWN_LAYERS, "style": leaflet_style(symbol), "radius": symbol.marker_size / 2 + 1,
                "popup": "context", "label": symbol.label,
                "cols": _table(frame, CONTEXT_ROWS),
                "lods": _levels(frame, gcj02=gcj02, origin=origin, layer=name)}
        if name == "roads" and "kind" in frame.columns:
            spec["styleBy"] = {"field": "kind", "styles": {k: leaflet_style(s) for k, s in ROAD_KIND_SYMBOLS.items()}}
            spec["kind"] = _column([None if v is None else str(v) for v in frame["kind"].where(frame["kind"].notna(), None)])
            road_kinds = road_kinds_present(frame)
        if name == "boundary":
            bounds = frame.to_crs("EPSG:4326").total_bounds
        specs.append(spec)
    return specs, road_kinds, bounds


def _legend(layers: list[dict], pack: Any, road_kinds: list[str], outline_zoom: int) -> list[dict]:
    items: list[dict] = []
    for spec in layers:
        key = spec["key"]
        if key.startswith("decision:"):
            symbol = DECISION_SYMBOLS[key.split(":", 1)[1]]
            items.append({"sw": [_swatch(symbol, dot=True), _swatch(symbol)], "t": f"{symbol.label} ({spec['n']})"})
    if items:
        items.append({"note": list(zoom_note(outline_zoom))})
    if any(s["key"] == "groups" for s in layers):
        symbol = LAYER_SYMBOLS["consolidation_groups"]
        items.append({"sw": [_swatch(symbol)], "t": symbol.label})
    shown = {s["key"].split(":", 1)[1] for s in layers if s["key"].startswith("context:")}
    for name in sorted((n for n in CONTEXT_LAYERS if n in shown), key=lambda n: LAYER_SYMBOLS[n].z):
        if name == "roads" and road_kinds:
            items.extend({"sw": [_swatch(ROAD_KIND_SYMBOLS[k])], "t": ROAD_KIND_SYMBOLS[k].label} for k in road_kinds)
            continue
        items.append({"sw": [_swatch(LAYER_SYMBOLS[name])], "t": LAYER_SYMBOLS[name].label})
    return items


def _basemap(basemap: str, tianditu_key: str | None) -> tuple[list[dict], str | None]:
    """The page's tile layers of ``basemap`` (:func:`~wlgeo.products.mapkit.basemap_tiles`) and its note."""
    tiles, note = basemap_tiles(basemap, tianditu_key)
    return [{"url": t.url, "attribution": t.attribution, "subdomains": t.subdomains, "maxZoom": t.max_zoom,
             "name": t.name} for t in tiles], note


# --------------------------------------------------------------------------- page


@lru_cache(maxsize=1)
def _light_js() -> str:
    text = (resources.files("wlgeo") / "assets" / "wlgeo_light.js").read_text(encoding="utf-8")
    return check_inlinable(text, "wlgeo_light.js", "</script")


def _json_script(value: Any) -> str:
    return js_safe(json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False))


def _font_face(text: str) -> str:
    """``@font-face`` of the CJK subset covering ``text`` (empty when no font is available)."""
    from wlgeo.products.fonts import web_font_subset

    # the page scripts write their Chinese as \\uXXXX escapes: count those characters too
    text += "".join(chr(int(h, 16)) for h in re.findall(r"\\u([0-9a-fA-F]{4})", text))
    data = web_font_subset(text)
    if data is None:
        return ""
    b64 = base64.b64encode(data).decode("ascii")
    return ('@font-face{font-family:"WlgeoCJK";src:url(data:font/woff;base64,' + b64
            + ') format("woff");font-weight:normal;font-style:normal;font-display:block}')


def map_html(
    result: Any,
    pack: Any,
    *,
    basemap: str = "none",
    tianditu_key: str | None = None,
    title: str | None = None,
    outline_zoom: int | None = None,
    district: str | None = None,
    embed_font: bool = True,
) -> str:
    """The light map of a plan as one self-contained HTML document.

    Parameters
    ----------
    result : PlanResult
        ``quarries`` (with ``decision``), ``consolidation_groups``, ``new_sites``, ``scenario``.
    pack : LayerPack or None
        Context layers drawn when present (:data:`wlgeo.products.mapkit.CONTEXT_LAYERS`).
    basemap, tianditu_key : as :func:`wlgeo.products.maps.folium_map`; ``"none"`` makes no request at all.
    title : default ``<district>碎石矿山布局规划图 — <scenario title>``.
    outline_zoom : from this zoom on quarries are polygons, dots below (default
        :data:`wlgeo.products.mapkit.OUTLINE_ZOOM`).
    district : the district's name for the default title (default: the pack's ``district``).
    embed_font : embed the CJK font subset (default).

    Raises
    ------
    MapError
        Unknown basemap or decision, a Tianditu basemap without key, a layer without CRS.
    """
    check_basemap(basemap)
    outline_zoom = OUTLINE_ZOOM if outline_zoom is None else outline_zoom
    check_outline_zoom(outline_zoom)
    gcj02 = basemap == "gaode"
    tiles, note = _basemap(basemap, tianditu_key)
    district = district or getattr(pack, "district", None) or ""
    title = title or f"{district}碎石矿山布局规划图 — {scenario_title(getattr(result, 'scenario', None))}"
    origin = (107.0, 29.0)
    context, road_kinds, bounds = _context_layers(pack, gcj02=gcj02, origin=origin)
    plan_layers = _quarry_layers(result, gcj02=gcj02, origin=origin, outline_zoom=outline_zoom)
    layers = context + plan_layers
    if bounds is None and len(result.quarries):
        bounds = result.quarries.to_crs("EPSG:4326").total_bounds
    if bounds is not None and gcj02:
        (w, e), (s, n) = wgs84_to_gcj02(np.array([bounds[0], bounds[2]]), np.array([bounds[1], bounds[3]]))
        bounds = (w, s, e, n)
    data = {
        "title": title,
        "note": note,
        "synthetic": is_synthetic(pack),
        "origin": list(origin),
        "bounds": None if bounds is None else [[float(bounds[1]), float(bounds[0])], [float(bounds[3]), float(bounds[2])]],
        "tiles": tiles,
        "outlineZoom": int(outline_zoom),
        "layers": layers,
        "legend": _legend(layers, pack, road_kinds, outline_zoom),
    }
    payload = _json_script(data)
    leaflet_js, leaflet_css = leaflet_assets()
    own_js, own_css = own_assets()
    light_js = _light_js()
    font_css = _font_face(payload + own_js + light_js + title) if embed_font else ""
    log.info("light map: %d layers, %d bytes of data", len(layers), len(payload))
    return "".join([
        '<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1.0">',
        f"<title>{html.escape(title)}</title>",
        f"<style>{leaflet_css}</style><style>{font_css}{own_css}</style>",
        f"<script>{leaflet_js}</script><script>{own_js}</script><script>{light_js}</script>",
        '</head><body><div id="wlgeo-map"></div>',
        f'<script type="application/json" id="wlgeo-data">{payload}</script>',
        '<script>wlgeo.boot(document.getElementById("wlgeo-data"));</script>',
        "</body></html>\n",
    ])


def save_map(
    result: Any,
    pack: Any,
    path: str | os.PathLike,
    *,
    basemap: str = "none",
    tianditu_key: str | None = None,
    title: str | None = None,
    outline_zoom: int | None = None,
    district: str | None = None,
    embed_font: bool = True,
) -> Path:
    """Write the light offline map of :func:`map_html` to ``path`` atomically (temporary file, then
    rename). What ``wlgeo run`` writes as ``map.html``.

    The same layers, popups, dots, layer switcher, search and tools as
    :func:`wlgeo.products.maps.folium_map`, in compact form (quantised delta-coded coordinates, per-zoom
    simplification of the context layers, a column table of attributes decoded in the page) and
    with the CJK font subset embedded.

    Raises
    ------
    MapError
        Unknown basemap or decision, a Tianditu basemap without key, a layer without CRS.
    OutputError
        When the file cannot be written.
    """
    path = Path(path)
    text = map_html(result, pack, basemap=basemap, tianditu_key=tianditu_key, title=title,
                    outline_zoom=outline_zoom, district=district, embed_font=embed_font)
    with atomic_path(path, what="map") as tmp, open(tmp, "x", encoding="utf-8") as f:
        f.write(text)
    return path
