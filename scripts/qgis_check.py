#!/usr/bin/python3
"""Open a GeoPackage in real QGIS (PyQGIS, no GUI) and print what QGIS sees, as JSON.

Run it with the Python that has the QGIS bindings (Debian's ``python3-qgis``), offscreen::

    QT_QPA_PLATFORM=offscreen /usr/bin/python3 scripts/qgis_check.py plan.gpkg --png plan.png

For every vector layer of the file: validity, feature count, CRS, geometry type, fields with
their QGIS type and alias, the Python type of each attribute of the first feature (``QDate`` for
DATE fields), where the style came from, the renderer (type, classification attribute,
categories with value, label and symbol colours), and the labelling (enabled, expression,
font). ``--png`` renders all layers with QGIS's map renderer (labels included) into one PNG.

The script imports only QGIS and the standard library: it runs outside the project's Python.
Exit code 0 when it could report (invalid layers are reported, not fatal), 2 on a usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from qgis.core import (  # noqa: E402
    Qgis,
    QgsApplication,
    QgsCategorizedSymbolRenderer,
    QgsMapRendererSequentialJob,
    QgsMapSettings,
    QgsRectangle,
    QgsRenderContext,
    QgsSingleSymbolRenderer,
    QgsVectorLayer,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QSize  # noqa: E402
from qgis.PyQt.QtGui import QColor  # noqa: E402


def _colour(colour: QColor) -> dict:
    return {"hex": colour.name(), "alpha": colour.alpha()}


def _symbol(symbol) -> dict:
    """Type, colour and the colours of every symbol layer of a QgsSymbol."""
    if symbol is None:
        return {}
    layers = []
    for i in range(symbol.symbolLayerCount()):
        sl = symbol.symbolLayer(i)
        item = {"class": sl.layerType(), "color": _colour(sl.color())}
        for name in ("fillColor", "strokeColor"):
            getter = getattr(sl, name, None)
            if getter is not None:
                try:
                    item[name] = _colour(getter())
                except TypeError:  # pragma: no cover - symbol layers without the colour
                    pass
        for name in ("strokeWidth", "width", "size"):
            getter = getattr(sl, name, None)
            if getter is not None:
                try:
                    item[name] = getter()
                except TypeError:  # pragma: no cover
                    pass
        if hasattr(sl, "strokeStyle"):
            item["strokeStyle"] = int(sl.strokeStyle())
        if hasattr(sl, "brushStyle"):
            item["brushStyle"] = int(sl.brushStyle())
        if hasattr(sl, "useCustomDashPattern"):
            item["customDash"] = list(sl.customDashVector()) if sl.useCustomDashPattern() else None
        layers.append(item)
    return {
        "type": {0: "marker", 1: "line", 2: "fill"}.get(int(symbol.type()), str(symbol.type())),
        "color": _colour(symbol.color()),
        "opacity": symbol.opacity(),
        "layers": layers,
    }


def _renderer(layer: QgsVectorLayer) -> dict:
    renderer = layer.renderer()
    if renderer is None:
        return {"type": None}
    out: dict = {"type": renderer.type()}
    if isinstance(renderer, QgsCategorizedSymbolRenderer):
        out["attr"] = renderer.classAttribute()
        out["categories"] = [
            {
                "value": cat.value(),
                "label": cat.label(),
                "render": cat.renderState(),
                "symbol": _symbol(cat.symbol()),
            }
            for cat in renderer.categories()
        ]
    elif isinstance(renderer, QgsSingleSymbolRenderer):
        out["symbol"] = _symbol(renderer.symbol())
    return out


def _drawn(layer: QgsVectorLayer) -> dict:
    """How many features the renderer draws with which symbol colour (``none``: not drawn)."""
    renderer = layer.renderer().clone()
    context = QgsRenderContext()
    renderer.startRender(context, layer.fields())
    counts: dict[str, int] = {}
    try:
        for feature in layer.getFeatures():
            context.expressionContext().setFeature(feature)
            symbol = renderer.symbolForFeature(feature, context)
            key = "none" if symbol is None else symbol.color().name()
            counts[key] = counts.get(key, 0) + 1
    finally:
        renderer.stopRender(context)
    return counts


def _labels(layer: QgsVectorLayer) -> dict:
    labeling = layer.labeling()
    out: dict = {"enabled": bool(layer.labelsEnabled()), "type": labeling.type() if labeling else None}
    if labeling is not None and labeling.type() == "simple":
        settings = labeling.settings()
        fmt = settings.format()
        out.update(
            expression=settings.fieldName,
            is_expression=bool(settings.isExpression),
            font_family=fmt.font().family(),
            font_found=bool(fmt.fontFound()),
            font_family_asked=fmt.resolvedFontFamily() if hasattr(fmt, "resolvedFontFamily") else None,
            font_size=fmt.size(),
            color=_colour(fmt.color()),
            opacity=fmt.opacity(),
            buffer=bool(fmt.buffer().enabled()),
            buffer_color=_colour(fmt.buffer().color()),
            buffer_size=fmt.buffer().size(),
            placement=int(settings.placement),
        )
    return out


def _value(value) -> dict:
    kind = type(value).__name__
    if value is None or (hasattr(value, "isNull") and value.isNull()):
        return {"type": kind, "value": None}
    if kind in ("QDate", "QDateTime", "QTime"):
        return {"type": kind, "value": value.toString("yyyy-MM-dd" if kind == "QDate" else "yyyy-MM-ddTHH:mm:ss")}
    if isinstance(value, (bool, int, float, str)):
        return {"type": kind, "value": value}
    return {"type": kind, "value": str(value)}


def _vector_layers(path: str) -> list[str]:
    """Vector layer names in file order from gpkg_contents (read-only sqlite)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT table_name FROM gpkg_contents WHERE data_type = 'features' ORDER BY rowid"
        ).fetchall()
    finally:
        conn.close()
    return [r[0] for r in rows]


def _stored_styles(path: str) -> dict[str, dict]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'layer_styles'").fetchone():
            return {}
        rows = conn.execute(
            "SELECT f_table_name, styleName, useAsDefault, f_geometry_column FROM layer_styles"
        ).fetchall()
    finally:
        conn.close()
    return {r[0]: {"name": r[1], "useAsDefault": r[2], "geometry_column": r[3]} for r in rows}


def check_layer(path: str, name: str, stored: dict) -> tuple[dict, QgsVectorLayer]:
    layer = QgsVectorLayer(f"{path}|layername={name}", name, "ogr")
    info: dict = {"name": name, "valid": layer.isValid()}
    if not layer.isValid():
        return info, layer
    # Did QGIS apply the database default style when the layer was loaded? Load it explicitly
    # and compare: the same renderer and labelling means it already had it (a layer without a
    # style gets a random colour, which the explicit load would change).
    info["style_in_db"] = stored.get(name)
    on_load = (_renderer(layer), _labels(layer))
    message, ok = layer.loadDefaultStyle()
    explicit = (_renderer(layer), _labels(layer))
    if not ok:
        info["style_source"] = f"none ({message})"
    elif on_load == explicit:
        info["style_source"] = "database, on load"
    else:
        info["style_source"] = "database, only by loadDefaultStyle()"
    n_styles, ids, names, descriptions, _msg = layer.listStylesInDatabase()
    info["styles_listed"] = {"count": n_styles, "names": list(names), "descriptions": list(descriptions)}
    info["feature_count"] = layer.featureCount()
    info["crs"] = layer.crs().authid()
    info["geometry_type"] = QgsWkbTypes.displayString(layer.wkbType())
    fields = layer.fields()
    # what GDAL itself hands QGIS (gpkg_data_columns aliases, GDAL >= 3.7), before any style
    provider_fields = layer.dataProvider().fields()
    info["fields"] = [
        {
            "name": f.name(),
            "type": f.typeName(),
            "variant": f.type(),
            "alias": layer.attributeAlias(i),
            "provider_alias": provider_fields[provider_fields.lookupField(f.name())].alias()
            if provider_fields.lookupField(f.name()) >= 0 else None,
        }
        for i, f in enumerate(fields)
    ]
    feature = next(layer.getFeatures(), None)
    if feature is not None:
        info["first_feature"] = {fields[i].name(): _value(v) for i, v in enumerate(feature.attributes())}
    info["renderer"] = _renderer(layer)
    info["drawn"] = _drawn(layer)
    info["labels"] = _labels(layer)
    extent = layer.extent()
    info["extent"] = [extent.xMinimum(), extent.yMinimum(), extent.xMaximum(), extent.yMaximum()]
    return info, layer


def render(layers: list[QgsVectorLayer], out: str, width: int, bbox: list[float] | None = None) -> dict:
    """Render the layers (first one on top, as in the QGIS layer panel) into a PNG."""
    if bbox is not None:
        extent = QgsRectangle(*bbox)
    else:
        extent = QgsRectangle()
        extent.setMinimal()
        for layer in layers:
            if layer.featureCount() and not layer.extent().isEmpty():
                extent.combineExtentWith(layer.extent())
        if extent.isEmpty():
            return {"written": False, "reason": "no extent"}
        extent.scale(1.05)
    height = max(1, round(width * extent.height() / extent.width())) if extent.width() else width
    settings = QgsMapSettings()
    settings.setLayers(layers)
    settings.setDestinationCrs(layers[0].crs())
    settings.setExtent(extent)
    settings.setOutputSize(QSize(width, height))
    settings.setOutputDpi(96)
    settings.setBackgroundColor(QColor(255, 255, 255))
    settings.setFlag(settings.DrawLabeling, True)
    settings.setFlag(settings.Antialiasing, True)
    job = QgsMapRendererSequentialJob(settings)
    job.start()
    job.waitForFinished()
    image = job.renderedImage()
    ok = image.save(out, "PNG")
    errors = [f"{e.layerID}: {e.message}" for e in job.errors()]
    labelled = job.takeLabelingResults()
    n_labels = len(labelled.allLabels()) if labelled is not None else None
    return {
        "written": bool(ok),
        "path": out,
        "size": [image.width(), image.height()],
        "errors": errors,
        "labels_drawn": n_labels,
        "extent": [extent.xMinimum(), extent.yMinimum(), extent.xMaximum(), extent.yMaximum()],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("gpkg")
    parser.add_argument("--png", help="render the layers into this PNG")
    parser.add_argument("--width", type=int, default=1200, help="PNG width in pixels (default 1200)")
    parser.add_argument("--layers", help="comma-separated layers to render, top first (default: all)")
    parser.add_argument("--extent", help="xmin,ymin,xmax,ymax to render, in the layers' CRS (default: all)")
    args = parser.parse_args(argv)
    path = os.path.abspath(args.gpkg)
    if not os.path.isfile(path):
        print(json.dumps({"error": f"{path}: no such file"}))
        return 2

    QgsApplication.setPrefixPath("/usr", True)
    app = QgsApplication([], False)
    app.initQgis()
    loaded: dict[str, QgsVectorLayer] = {}
    try:
        stored = _stored_styles(path)
        report: dict = {
            "file": path,
            "qgis_version": Qgis.version(),
            "gdal_version": _gdal_version(),
            "layers": [],
        }
        for name in _vector_layers(path):
            info, layer = check_layer(path, name, stored)
            report["layers"].append(info)
            if layer.isValid():
                loaded[name] = layer
        if args.png:
            order = args.layers.split(",") if args.layers else _draw_order(list(loaded))
            bbox = [float(v) for v in args.extent.split(",")] if args.extent else None
            report["png"] = render([loaded[n] for n in order if n in loaded], args.png, args.width, bbox)
        print(json.dumps(report, ensure_ascii=False, indent=1, default=str), flush=True)
    finally:
        # layers must go before the application, or PyQGIS crashes on exit
        loaded.clear()
        layer = None
        app.exitQgis()
    return 0


def _draw_order(names: list[str]) -> list[str]:
    """Plan layers on top, then points, lines and polygons; the boundary outline above fills."""
    top = ["new_sites", "quarries", "consolidation_groups", "ports", "settlements", "roads", "rivers", "boundary", "towns"]
    first = [n for n in top if n in names]
    return first + [n for n in names if n not in first]


def _gdal_version() -> str | None:
    try:
        from osgeo import gdal

        return gdal.__version__
    except ImportError:
        return None


if __name__ == "__main__":
    sys.exit(main())
