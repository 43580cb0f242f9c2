"""The diff map: one offline map of what changed between plan A and plan B.

Each change (e.g. 予以保留 Retain → 到期退出 Expire) is its own layer, outlined in A's decision
colour and filled with B's. Composed from the public map skeleton of :mod:`wlgeo.products.maps`
(:class:`~wlgeo.products.maps.MapSkeleton`) and the shared pieces of :mod:`wlgeo.products.mapkit`.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from wlgeo.model.errors import MapError
from wlgeo.model.reasons import reasons_of
from wlgeo.model.values import is_missing
from wlgeo.products.mapkit import (
    OUTLINE_ZOOM,
    QUARRY_ROWS,
    SITE_ROWS,
    check_basemap,
    escape_value,
    frame_records,
    leaflet_style,
    marker_spec,
    popup_table,
    swatch_html,
    zoom_note,
)
from wlgeo.products.maps import MapSkeleton, legend_item, legend_note, reason_items
from wlgeo.products.style import DECISION_SYMBOLS, Symbol
from wlgeo.review.compare import compare

if TYPE_CHECKING:
    import folium

__all__ = ["diff_map"]

log = logging.getLogger(__name__)

_UNCHANGED = Symbol("未变化", "Unchanged", "polygon", "#757575", "#bdbdbd", 0.35, 0.6, z=40)
_SITE_STATUS = {
    "added": Symbol("新增新建矿山", "New site added", "polygon", "#5b1f7a", "#9e4fd0", 0.7, 2.4, (4.0, 2.0), z=70),
    "dropped": Symbol("取消新建矿山", "New site dropped", "polygon", "#5b1f7a", "#ffffff", 0.5, 2.0, (2.0, 3.0), z=71),
    "moved": Symbol("新建矿山位置调整", "New site moved", "polygon", "#5b1f7a", "#d1b3e6", 0.6, 1.8, (4.0, 2.0), z=69),
    "kept": Symbol("新建矿山未变", "New site unchanged", "polygon", "#5b1f7a", "#d1b3e6", 0.35, 1.0, (4.0, 2.0), z=68),
}


def _transition_symbol(a: str, b: str) -> Symbol:
    """Outline = the decision in A, fill = the decision in B."""
    sa, sb = DECISION_SYMBOLS[a], DECISION_SYMBOLS[b]
    return Symbol(f"{sa.label_zh} → {sb.label_zh}", f"{sa.label_en} → {sb.label_en}", "polygon",
                  sa.stroke, sb.fill, 0.85, 3.0, z=60)


def _decision_block(label: str, decision: Any, reasons: Any) -> str:
    """One plan's decision and its reasons (the quarry's :class:`~wlgeo.model.reasons.Reason`
    records), each on its bilingual display line."""
    symbol = DECISION_SYMBOLS.get(str(decision))
    head = f"{swatch_html(symbol)}{html.escape(symbol.label)}" if symbol else html.escape(str(decision))
    items = [html.escape(r) for r in reason_items(reasons)] or ["—"]
    return (f"<div><b>{html.escape(label)}</b>: {head}</div>"
            "<ul>" + "".join(f"<li>{r}</li>" for r in items) + "</ul>")


def _change_popup(rec: Mapping[str, Any], label_a: str, label_b: str, row: Mapping[str, Any] | None,
                  reasons_a: Any, reasons_b: Any) -> str:
    """The popup of a quarry on the diff map: both decisions and reason records (one when unchanged)."""
    title = " ".join(escape_value(rec.get(k)) for k in ("quarry_id", "name") if not is_missing(rec.get(k)))
    rows = tuple((f, h) for f, h in QUARRY_ROWS if f in ("town", "capacity", "license_end"))
    if row is None:  # unchanged
        body = _decision_block("A = B", rec.get("decision"), reasons_b)
    else:
        body = _decision_block(f"A {label_a}", row["decision_a"], reasons_a)
        body += _decision_block(f"B {label_b}", row["decision_b"], reasons_b)
        if row.get("cause"):
            causes = "".join(f"<li>{html.escape(c)}</li>" for c in str(row["cause"]).split("; "))
            body += f"<div><b>{html.escape('变化原因 What changed')}</b></div><ul>{causes}</ul>"
    return f'<div class="wlgeo-popup"><h4>{title}</h4>{popup_table(rec, rows)}{body}</div>'


def diff_map(
    result_a: Any,
    result_b: Any,
    pack: Any,
    *,
    basemap: str = "none",
    tianditu_key: str | None = None,
    offline: bool = True,
    simplify_m: float = 5.0,
    title: str | None = None,
) -> folium.Map:
    """One offline map of what changed between plan A and plan B.

    Each change (e.g. 予以保留 Retain → 到期退出 Expire) is its own layer, outlined in A's
    decision colour and filled with B's; unchanged quarries are drawn faint in their decision
    colour; new sites added, dropped or moved have their own layers. Popups show both decisions,
    both reason sets and what changed, every value HTML-escaped. Built on :mod:`wlgeo.products.maps`
    (Leaflet inlined, nothing fetched unless a basemap is chosen).

    Parameters
    ----------
    result_a, result_b : the two plans (:class:`~wlgeo.PlanResult`).
    pack : the layer pack, for the context layers (or ``None``).
    basemap, tianditu_key, offline, simplify_m : as for :func:`wlgeo.folium_map`.
    title : default ``方案对比 Scenario comparison: A → B``.

    Returns
    -------
    folium.Map
        ``window.wlgeoCounts`` holds the feature count per layer once drawn (keys
        ``change:retain>expire``, ``unchanged``, ``sites:added`` …).
    """
    check_basemap(basemap)
    comparison = compare(result_a, result_b)
    label_a, label_b = comparison.scenario_a, comparison.scenario_b
    sk = MapSkeleton(basemap=basemap, tianditu_key=tianditu_key, offline=offline, simplify_m=simplify_m)
    sk.add_context(pack)

    quarries = result_b.quarries
    ids = quarries["quarry_id"].astype(str).str.strip().to_numpy()
    keep = ~np.isin(ids, comparison.only_b)
    quarries, ids = quarries[keep], ids[keep]
    geoms = sk.geometries(quarries, layer="quarries")
    records = frame_records(quarries)
    reasons_b = reasons_of(result_b)[keep].tolist()
    ids_a = result_a.quarries["quarry_id"].astype(str).str.strip().to_numpy()
    reasons_a = dict(zip(ids_a, reasons_of(result_a).tolist()))
    changes = comparison.changes.set_index("quarry_id").to_dict("index")
    sk.add_legend([legend_note(f"A = {label_a}, B = {label_b}; 轮廓 = A, 填充 = B outline = A, fill = B"),
                   legend_note(*zoom_note(OUTLINE_ZOOM))])

    def tooltip(rec: Mapping[str, Any], text: str) -> str:
        head = " ".join(escape_value(rec.get(k)) for k in ("quarry_id", "name") if not is_missing(rec.get(k)))
        return f"{head} — {html.escape(text)}"

    def search(rec: Mapping[str, Any]) -> str:
        return " ".join(str(rec.get(c)) for c in ("quarry_id", "name") if not is_missing(rec.get(c)))

    unchanged = np.array([i not in changes for i in ids], dtype=bool)
    faint = {d: {**leaflet_style(s), "fillOpacity": 0.25, "opacity": 0.6, "weight": 0.8}
             for d, s in DECISION_SYMBOLS.items()}
    props = []
    for k in np.flatnonzero(unchanged):
        rec = records[k]
        symbol = DECISION_SYMBOLS.get(str(rec.get("decision")))
        props.append({"_p": _change_popup(rec, label_a, label_b, None, reasons_a.get(ids[k]), reasons_b[k]), "d": str(rec.get("decision")),
                      "_t": tooltip(rec, f"{_UNCHANGED.label}: {symbol.label if symbol else rec.get('decision')}"),
                      "_s": search(rec)})
    faint_dots = {d: {"fillColor": s.fill, "color": s.stroke, "fillOpacity": 0.5, "opacity": 0.7}
                  for d, s in DECISION_SYMBOLS.items()}
    n = sk.add_features("unchanged", _UNCHANGED.label, geoms[unchanged], props, style=leaflet_style(_UNCHANGED),
                        style_by={"field": "d", "styles": faint},
                        marker=marker_spec(_UNCHANGED, radius=3.5, weight=0.8,
                                           style_by={"field": "d", "styles": faint_dots}))
    unchanged_row = legend_item(_UNCHANGED, n)

    transitions = comparison.changes.groupby(["decision_a", "decision_b"], sort=False).size()
    order = {d: i for i, d in enumerate(DECISION_SYMBOLS)}
    for (da, db) in sorted(transitions.index, key=lambda t: (order.get(t[0], 99), order.get(t[1], 99))):
        if da not in DECISION_SYMBOLS or db not in DECISION_SYMBOLS:
            raise MapError(f"unknown decision in {da!r} → {db!r}; allowed: {', '.join(DECISION_SYMBOLS)}",
                           layer="quarries", field="decision")
        symbol = _transition_symbol(da, db)
        which = np.flatnonzero([changes.get(i, {}).get("decision_a") == da and changes.get(i, {}).get("decision_b") == db
                                for i in ids])
        props = []
        for k in which:
            rec, row = records[k], changes[ids[k]]
            props.append({"_p": _change_popup(rec, label_a, label_b, row, reasons_a.get(ids[k]), reasons_b[k]), "_t": tooltip(rec, symbol.label),
                          "_s": search(rec)})
        n = sk.add_features(f"change:{da}>{db}", symbol.label, geoms[which], props, style=leaflet_style(symbol),
                            marker=marker_spec(symbol, radius=6.0, weight=2.5))
        sk.add_legend([legend_item(symbol, n)])
    sk.add_legend([unchanged_row])

    sites = comparison.new_sites
    for status, symbol in _SITE_STATUS.items():
        subset = sites[sites["status"] == status]
        if not len(subset):
            continue
        sgeoms = sk.geometries(subset, layer="new_sites", simplify_m=0)
        props = []
        for rec in frame_records(subset):
            sid = rec.get("site_id_b") if status != "dropped" else rec.get("site_id_a")
            title_html = f"{html.escape(symbol.label)} {escape_value(sid)}"
            shown = {"site_id": sid, "score": rec.get("score_b") if status != "dropped" else rec.get("score_a")}
            extra = "" if status in ("added", "dropped") else (
                f"<div>A: {escape_value(rec.get('site_id_a'))} ({escape_value(rec.get('score_a'))}) → "
                f"B: {escape_value(rec.get('site_id_b'))} ({escape_value(rec.get('score_b'))})</div>")
            props.append({"_p": f'<div class="wlgeo-popup"><h4>{title_html}</h4>{popup_table(shown, SITE_ROWS)}{extra}</div>',
                          "_t": title_html})
        n = sk.add_features(f"sites:{status}", symbol.label, sgeoms, props, style=leaflet_style(symbol),
                            marker=marker_spec(symbol, radius=7.0, weight=symbol.width, dash=True))
        sk.add_legend([legend_item(symbol, n)])

    title = title or f"方案对比 Scenario comparison: {label_a} → {label_b}"
    m = sk.finish(title=title, extent=quarries)
    log.info("diff map %s → %s: %d changed", label_a, label_b, len(comparison.changes))
    return m
