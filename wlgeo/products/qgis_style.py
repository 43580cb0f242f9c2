"""QGIS styles (QML and SLD) generated from the one style spec, :mod:`wlgeo.products.style`.

:func:`layer_style` returns the default style of a layer of a plan GeoPackage:

- ``quarries`` (and any layer with a ``decision`` field): categorised by ``decision``, one
  category per class with its bilingual label (``关闭退出 Close``...), labelled with
  ``quarry_id`` and ``name``; quarries without a ``decision`` field (a pack's input layer) get
  the single :data:`wlgeo.products.style.QUARRY_SYMBOL` — a renderer categorised on a missing field
  would draw nothing;
- ``new_sites``: the ``new`` class symbol (规划新建); ``consolidation_groups``: dashed outline;
- ``roads``: categorised by ``kind`` (高速公路, 铁路, 国道, ...) when the field is present; the
  category with the empty value draws every other kind (QGIS's "all other values");
- every other context layer: its single symbol from :data:`wlgeo.products.style.LAYER_SYMBOLS`.

Colours, widths (points), dashes, opacities and labels all come from the style spec: change a
colour there and the QGIS styles follow. The QML is QGIS 3 ``renderer-v2`` XML; symbol layer
properties are written both as ``<Option>`` maps (QGIS >= 3.26) and ``<prop>`` items (older 3.x).
Field aliases go into the QML ``<aliases>`` element as well as ``gpkg_data_columns``: GDAL < 3.7
(QGIS 3.22 on Debian 12, for one) does not read the latter, and QGIS applies the style's aliases.
``scripts/qgis_check.py`` opens a GeoPackage in real QGIS and reports what it applied
(``tests/test_qgis.py``).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from wlgeo.model.schema import FIELD_ALIASES
from wlgeo.products.style import DECISION_SYMBOLS, DECISIONS, LAYER_SYMBOLS, QUARRY_SYMBOL, ROAD_KIND_SYMBOLS, Symbol
from wlgeo.io.gpkg import LayerStyle

__all__ = ["LayerStyle", "layer_style", "layer_qml", "layer_sld", "QML_VERSION"]

Kind = Literal["point", "line", "polygon"]

#: QGIS version written in the QML header (the format is read by every QGIS 3).
QML_VERSION = "3.28.0-Firenze"

_GEOMETRY_TYPE = {"point": "0", "line": "1", "polygon": "2"}
_LABEL_FIELDS = {
    "quarries": ("quarry_id", "name"),
    "new_sites": ("site_id",),
    "consolidation_groups": ("group_id",),
    "towns": ("town",),
    "ports": ("name",),
    "parks": ("name",),
    "bases": ("name",),
    "protected_areas": ("name",),
    "settlements": ("name",),
    "roads": ("name",),
    "rivers": ("name",),
}
_LABEL_FONT = "Microsoft YaHei"


# --------------------------------------------------------------------------------------------
# what to draw


@dataclass(frozen=True)
class _Plan:
    kind: Kind
    attr: str | None  # categorised by this field, or single symbol when None
    classes: tuple[tuple[str, Symbol], ...]  # (value, symbol); one entry for a single symbol
    label_fields: tuple[str, ...]
    description: str
    label_on_outline: bool = False  # polygon labels along the ring, not at the centroid


def _data_kind(frame, fallback: Kind) -> Kind:
    if frame is None or len(frame) == 0:
        return fallback
    types = set(frame.geometry.dropna().geom_type.unique())
    for kind, names in (
        ("polygon", {"Polygon", "MultiPolygon"}),
        ("line", {"LineString", "MultiLineString", "LinearRing"}),
        ("point", {"Point", "MultiPoint"}),
    ):
        if types and types <= names:
            return kind  # type: ignore[return-value]
    return fallback


def _plan(name: str, frame) -> _Plan | None:
    columns = set() if frame is None else set(frame.columns)
    labels = tuple(f for f in _LABEL_FIELDS.get(name, ()) if f in columns)
    if name == "new_sites":
        symbol = DECISION_SYMBOLS["new"]
        return _Plan(_data_kind(frame, "polygon"), None, (("", symbol),), labels, symbol.label)
    if name == "quarries" and frame is not None and "decision" not in columns:
        symbol = QUARRY_SYMBOL
        return _Plan(_data_kind(frame, "polygon"), None, (("", symbol),), labels, symbol.label)
    if name == "quarries" or ("decision" in columns and name not in LAYER_SYMBOLS):
        classes = tuple((d, DECISION_SYMBOLS[d]) for d in DECISIONS)
        text = "按处置方式分类 categorised by decision: " + ", ".join(s.label for _, s in classes)
        return _Plan(_data_kind(frame, "polygon"), "decision", classes, labels, text)
    if name not in LAYER_SYMBOLS:
        return None
    symbol = LAYER_SYMBOLS[name]
    kind = _data_kind(frame, symbol.geometry)
    if name == "roads" and (frame is None or "kind" in columns):
        classes = tuple(ROAD_KIND_SYMBOLS.items())
        text = f"{symbol.label} by kind: " + ", ".join(s.label for _, s in classes)
        return _Plan(kind, "kind", classes + (("", symbol),), labels, text)
    # a group encloses its quarries: its label on the outline leaves theirs free
    return _Plan(kind, None, (("", symbol),), labels, symbol.label, name == "consolidation_groups")


def layer_style(name: str, frame=None) -> LayerStyle | None:
    """The default style of layer ``name`` (``None`` when the style spec has no entry for it).

    Parameters
    ----------
    name : layer name (``quarries``, ``new_sites``, ``consolidation_groups`` or a context layer).
    frame : the GeoDataFrame to style; its geometry type and fields choose the symbol kind,
        the labels and the aliases. ``None`` styles the layer as the spec describes it.
    """
    plan = _plan(name, frame)
    if plan is None:
        return None
    columns = [] if frame is None else [c for c in frame.columns if c != frame.geometry.name]
    return LayerStyle(
        layer=name,
        qml=_qml(plan, columns),
        sld=_sld(name, plan),
        description=f"wlgeo default style: {plan.description}",
    )


def layer_qml(name: str, frame=None) -> str:
    """QML text of :func:`layer_style`; raises ``KeyError`` for a layer the spec does not style."""
    style = layer_style(name, frame)
    if style is None:
        raise KeyError(f"no style for layer {name!r}; styled: quarries, new_sites, {', '.join(LAYER_SYMBOLS)}")
    return style.qml


def layer_sld(name: str, frame=None) -> str:
    """SLD 1.1 text of :func:`layer_style`; raises ``KeyError`` like :func:`layer_qml`."""
    style = layer_style(name, frame)
    if style is None:
        raise KeyError(f"no style for layer {name!r}")
    return style.sld


# --------------------------------------------------------------------------------------------
# QML


def _rgba(colour: str | None, opacity: float = 1.0) -> str:
    if colour is None:
        return "0,0,0,0"
    c = colour.lstrip("#")
    r, g, b = (int(c[i : i + 2], 16) for i in (0, 2, 4))
    return f"{r},{g},{b},{round(max(0.0, min(1.0, opacity)) * 255)}"


def _num(value: float) -> str:
    return f"{value:g}"


def _symbol_layer(parent: ET.Element, cls: str, props: dict[str, str]) -> None:
    layer = ET.SubElement(parent, "layer", {"class": cls, "enabled": "1", "locked": "0", "pass": "0"})
    option = ET.SubElement(layer, "Option", {"type": "Map"})
    for key, value in props.items():
        ET.SubElement(option, "Option", {"name": key, "type": "QString", "value": value})
    for key, value in props.items():
        ET.SubElement(layer, "prop", {"k": key, "v": value})


def _line_props(symbol: Symbol, colour: str) -> dict[str, str]:
    props = {
        "line_color": _rgba(colour),
        "line_width": _num(symbol.width),
        "line_width_unit": "Point",
        "line_style": "solid",
        "capstyle": "round",
        "joinstyle": "round",
        "use_custom_dash": "1" if symbol.dash else "0",
        "customdash": ";".join(_num(d) for d in (symbol.dash or (5.0, 2.0))),
        "customdash_unit": "Point",
        "offset": "0",
    }
    return props


def _symbol(parent: ET.Element, tag_name: str, symbol: Symbol, kind: Kind) -> ET.Element:
    qtype = {"polygon": "fill", "line": "line", "point": "marker"}[kind]
    element = ET.SubElement(
        parent,
        "symbol",
        {"type": qtype, "name": tag_name, "alpha": "1", "clip_to_extent": "1", "force_rhr": "0"},
    )
    if kind == "polygon":
        dashed = symbol.dash is not None
        _symbol_layer(
            element,
            "SimpleFill",
            {
                "color": _rgba(symbol.fill, symbol.fill_opacity),
                "style": "solid" if symbol.fill and symbol.fill_opacity > 0 else "no",
                "outline_color": _rgba(symbol.stroke),
                "outline_style": "no" if dashed else "solid",
                "outline_width": _num(symbol.width),
                "outline_width_unit": "Point",
                "joinstyle": "round",
                "offset": "0,0",
            },
        )
        if dashed:
            _symbol_layer(element, "SimpleLine", _line_props(symbol, symbol.stroke))
    elif kind == "line":
        _symbol_layer(element, "SimpleLine", _line_props(symbol, symbol.stroke))
    else:
        _symbol_layer(
            element,
            "SimpleMarker",
            {
                "name": "circle",
                "color": _rgba(symbol.fill or symbol.stroke, symbol.fill_opacity),
                "outline_color": _rgba(symbol.stroke),
                "outline_style": "solid",
                "outline_width": _num(symbol.width),
                "outline_width_unit": "Point",
                "size": _num(symbol.marker_size),
                "size_unit": "Point",
                "angle": "0",
                "offset": "0,0",
            },
        )
    return element


def _label_expression(fields: Sequence[str]) -> str:
    first, *rest = fields
    expression = f'"{first}"'
    for field in rest:
        expression += f" || coalesce(' ' || \"{field}\", '')"
    return expression


def _labeling(root: ET.Element, plan: _Plan) -> None:
    labeling = ET.SubElement(root, "labeling", {"type": "simple"})
    settings = ET.SubElement(labeling, "settings", {"calloutType": "simple"})
    style = ET.SubElement(
        settings,
        "text-style",
        {
            "fieldName": _label_expression(plan.label_fields),
            "isExpression": "1",
            "fontFamily": _LABEL_FONT,
            "fontSize": "8",
            "fontSizeUnit": "Point",
            "textColor": "33,33,33,255",
            "textOpacity": "1",
            "namedStyle": "Regular",
        },
    )
    ET.SubElement(
        style,
        "text-buffer",
        {"bufferDraw": "1", "bufferSize": "0.8", "bufferSizeUnits": "MM", "bufferColor": "255,255,255,255", "bufferOpacity": "0.8"},
    )
    ET.SubElement(settings, "text-format", {"wrapChar": "", "multilineAlign": "3", "plussign": "0"})
    # QgsPalLayerSettings placement: 1 over the centroid, 2 along the line (a polygon's ring),
    # 6 ordered positions around a point
    placement = {"polygon": "1", "line": "2", "point": "6"}[plan.kind]
    if plan.label_on_outline:
        placement = "2"
    attrs = {"placement": placement, "dist": "1", "distUnits": "MM", "priority": "5"}
    if placement == "2":
        attrs["placementFlags"] = "10"  # above the line, map orientation: the line does not cross the text
    ET.SubElement(settings, "placement", attrs)
    ET.SubElement(settings, "rendering", {"obstacle": "1", "displayAll": "0", "upsidedownLabels": "0"})


def _qml(plan: _Plan, columns: Sequence[str]) -> str:
    root = ET.Element(
        "qgis",
        {
            "version": QML_VERSION,
            "styleCategories": "Symbology|Labeling|Fields",
            "labelsEnabled": "1" if plan.label_fields else "0",
        },
    )
    if plan.attr is None:
        renderer = ET.SubElement(
            root, "renderer-v2", {"type": "singleSymbol", "symbollevels": "0", "enableorderby": "0", "forceraster": "0"}
        )
        symbols = ET.SubElement(renderer, "symbols")
        _symbol(symbols, "0", plan.classes[0][1], plan.kind)
    else:
        renderer = ET.SubElement(
            root,
            "renderer-v2",
            {"type": "categorizedSymbol", "attr": plan.attr, "symbollevels": "0", "enableorderby": "0", "forceraster": "0"},
        )
        categories = ET.SubElement(renderer, "categories")
        symbols = ET.SubElement(renderer, "symbols")
        for i, (value, symbol) in enumerate(plan.classes):
            ET.SubElement(
                categories,
                "category",
                {"value": value, "symbol": str(i), "label": symbol.label, "render": "true", "type": "string"},
            )
            _symbol(symbols, str(i), symbol, plan.kind)
        source = ET.SubElement(renderer, "source-symbol")
        _symbol(source, "0", plan.classes[0][1], plan.kind)
    ET.SubElement(renderer, "rotation")
    ET.SubElement(renderer, "sizescale")
    if plan.label_fields:
        _labeling(root, plan)
    aliases = ET.SubElement(root, "aliases")
    for index, column in enumerate(columns, start=1):  # field 0 is the GeoPackage fid
        if column in FIELD_ALIASES:
            ET.SubElement(aliases, "alias", {"field": column, "index": str(index), "name": FIELD_ALIASES[column]})
    ET.SubElement(root, "layerGeometryType").text = _GEOMETRY_TYPE[plan.kind]
    ET.indent(root, space=" ")
    body = ET.tostring(root, encoding="unicode")
    return "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + body + "\n"


# --------------------------------------------------------------------------------------------
# SLD 1.1 (Symbology Encoding), as QGIS exports it

_NS = {
    "sld": "http://www.opengis.net/sld",
    "se": "http://www.opengis.net/se",
    "ogc": "http://www.opengis.net/ogc",
    "xlink": "http://www.w3.org/1999/xlink",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
}
for _prefix, _uri in _NS.items():
    ET.register_namespace(_prefix, _uri)


def _q(prefix: str, tag: str) -> str:
    return f"{{{_NS[prefix]}}}{tag}"


def _svg(parent: ET.Element, name: str, value: str) -> None:
    ET.SubElement(parent, _q("se", "SvgParameter"), {"name": name}).text = value


def _px(points: float) -> str:
    return f"{points * 96 / 72:.2f}"


def _stroke(parent: ET.Element, symbol: Symbol) -> None:
    stroke = ET.SubElement(parent, _q("se", "Stroke"))
    _svg(stroke, "stroke", symbol.stroke)
    _svg(stroke, "stroke-width", _px(symbol.width))
    if symbol.dash:
        _svg(stroke, "stroke-dasharray", " ".join(_px(d) for d in symbol.dash))


def _symbolizer(rule: ET.Element, symbol: Symbol, kind: Kind) -> None:
    if kind == "polygon":
        node = ET.SubElement(rule, _q("se", "PolygonSymbolizer"))
        if symbol.fill and symbol.fill_opacity > 0:
            fill = ET.SubElement(node, _q("se", "Fill"))
            _svg(fill, "fill", symbol.fill)
            _svg(fill, "fill-opacity", _num(symbol.fill_opacity))
        _stroke(node, symbol)
    elif kind == "line":
        _stroke(ET.SubElement(rule, _q("se", "LineSymbolizer")), symbol)
    else:
        node = ET.SubElement(rule, _q("se", "PointSymbolizer"))
        graphic = ET.SubElement(node, _q("se", "Graphic"))
        mark = ET.SubElement(graphic, _q("se", "Mark"))
        ET.SubElement(mark, _q("se", "WellKnownName")).text = "circle"
        fill = ET.SubElement(mark, _q("se", "Fill"))
        _svg(fill, "fill", symbol.fill or symbol.stroke)
        _stroke(mark, symbol)
        ET.SubElement(graphic, _q("se", "Size")).text = _px(symbol.marker_size)


def _sld(name: str, plan: _Plan) -> str:
    root = ET.Element(
        _q("sld", "StyledLayerDescriptor"),
        {
            "version": "1.1.0",
            _q("xsi", "schemaLocation"): "http://www.opengis.net/sld http://schemas.opengis.net/sld/1.1.0/StyledLayerDescriptor.xsd",
        },
    )
    layer = ET.SubElement(root, _q("sld", "NamedLayer"))
    ET.SubElement(layer, _q("se", "Name")).text = name
    user = ET.SubElement(layer, _q("sld", "UserStyle"))
    ET.SubElement(user, _q("se", "Name")).text = name
    fts = ET.SubElement(user, _q("se", "FeatureTypeStyle"))
    for value, symbol in plan.classes:
        rule = ET.SubElement(fts, _q("se", "Rule"))
        ET.SubElement(rule, _q("se", "Name")).text = symbol.label
        description = ET.SubElement(rule, _q("se", "Description"))
        ET.SubElement(description, _q("se", "Title")).text = symbol.label
        if plan.attr is not None:
            flt = ET.SubElement(rule, _q("ogc", "Filter"))
            if value == "":
                flt = ET.SubElement(flt, _q("ogc", "Not"))
                ors = ET.SubElement(flt, _q("ogc", "Or"))
                for other, _ in plan.classes:
                    if other:
                        eq = ET.SubElement(ors, _q("ogc", "PropertyIsEqualTo"))
                        ET.SubElement(eq, _q("ogc", "PropertyName")).text = plan.attr
                        ET.SubElement(eq, _q("ogc", "Literal")).text = other
            else:
                eq = ET.SubElement(flt, _q("ogc", "PropertyIsEqualTo"))
                ET.SubElement(eq, _q("ogc", "PropertyName")).text = plan.attr
                ET.SubElement(eq, _q("ogc", "Literal")).text = value
        _symbolizer(rule, symbol, plan.kind)
    ET.indent(root, space=" ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
