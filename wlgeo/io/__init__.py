"""Reading and writing data: one funnel (`read_layer`) for every input format, the layer pack,
GeoPackage writing (styles come in as arguments), atomic files and safe file names.

Nothing here is imported until used (PEP 562), so ``import wlgeo.io.interrupt`` stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_LAZY: dict[str, str] = {
    "read_layer": "wlgeo.io.read",
    "SUPPORTED_SUFFIXES": "wlgeo.io.read",
    "read_pack": "wlgeo.io.pack",
    "LayerPack": "wlgeo.model.pack",
    "write_gpkg_layers": "wlgeo.io.gpkg",
    "read_gpkg_metadata": "wlgeo.io.gpkg",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    """Import the module defining a public name on first use (PEP 562)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'wlgeo.io' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


if TYPE_CHECKING:
    from wlgeo.io.gpkg import read_gpkg_metadata, write_gpkg_layers
    from wlgeo.model.pack import LayerPack
    from wlgeo.io.pack import read_pack
    from wlgeo.io.read import SUPPORTED_SUFFIXES, read_layer
