"""Reading and writing: one funnel (`read_layer`) for every input format, the layer pack."""

from .pack import LayerPack, read_pack
from .gpkg import read_gpkg_metadata, write_geopackage
from .read import SUPPORTED_SUFFIXES, read_layer

__all__ = [
    "read_layer",
    "read_pack",
    "LayerPack",
    "SUPPORTED_SUFFIXES",
    "write_geopackage",
    "read_gpkg_metadata",
]
