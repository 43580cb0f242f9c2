"""Styled GeoPackages: the layers with their bilingual descriptions and QGIS default styles.

:func:`write_geopackage` makes the descriptions (from :mod:`wlgeo.products.style`) and the QGIS
styles (:mod:`wlgeo.products.qgis_style`) and hands them to the one GeoPackage writer,
:func:`wlgeo.io.gpkg.write_gpkg_layers`, which knows nothing of styling.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from os import PathLike
from pathlib import Path
from typing import Any

import geopandas as gpd

from wlgeo.io.gpkg import read_gpkg_metadata, write_gpkg_layers
from wlgeo.products.qgis_style import LayerStyle, layer_style
from wlgeo.products.style import DECISION_SYMBOLS, LAYER_SYMBOLS

__all__ = ["write_geopackage", "read_gpkg_metadata", "layer_description", "layer_styles"]

log = logging.getLogger(__name__)


def layer_description(name: str) -> str:
    """``gpkg_contents.description`` of a layer: its bilingual label in the style spec.

    >>> layer_description("red_line")
    '生态保护红线 Ecological red line'
    """
    if name == "quarries":
        classes = "/".join(s.label_zh for k, s in DECISION_SYMBOLS.items() if k != "new")
        return f"碎石矿山及处置方式（{classes}） Quarries with their decision"
    symbol = LAYER_SYMBOLS.get(name) or (DECISION_SYMBOLS["new"] if name == "new_sites" else None)
    return f"{symbol.label_zh} {symbol.label_en}" if symbol else name


def layer_styles(layers: Mapping[str, gpd.GeoDataFrame],
                 given: Mapping[str, LayerStyle] | None = None) -> dict[str, LayerStyle]:
    """The QGIS default style of every layer the style spec knows (``given`` ones win)."""
    out: dict[str, LayerStyle] = {}
    for name, frame in layers.items():
        style = (given or {}).get(name) or layer_style(name, frame)
        if style is None:
            log.info("layer %s has no entry in the style spec: no QGIS style written", name)
            continue
        out[name] = style
    return out


def write_geopackage(
    path: str | PathLike,
    layers: Mapping[str, gpd.GeoDataFrame],
    *,
    metadata: Mapping[str, Any] | None = None,
    descriptions: Mapping[str, str] | None = None,
    styles: bool | Mapping[str, LayerStyle] = True,
    overwrite: bool = False,
    crs=None,
) -> Path:
    """Write layers to one GeoPackage with aliases, metadata, descriptions and QGIS styles, atomically.

    Parameters
    ----------
    path, layers, metadata, overwrite, crs : as for :func:`wlgeo.io.gpkg.write_gpkg_layers`.
    descriptions : layer name → ``gpkg_contents.description``; default :func:`layer_description`.
    styles : ``True`` writes a QGIS default style for every layer the style spec knows; ``False``
        none; a mapping layer name → :class:`~wlgeo.products.qgis_style.LayerStyle` made once by
        a caller writing many files (batch export) is used for the layers it names (the others
        get their default style).

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    OutputError
        As :func:`wlgeo.io.gpkg.write_gpkg_layers`: nothing is left behind and a pre-existing
        target is untouched.
    """
    given = dict(descriptions or {})
    texts = {name: given.get(name) or layer_description(name) for name in layers}
    chosen = {} if styles is False else layer_styles(layers, styles if isinstance(styles, Mapping) else None)
    return write_gpkg_layers(path, layers, metadata=metadata, descriptions=texts, styles=chosen,
                             overwrite=overwrite, crs=crs)
