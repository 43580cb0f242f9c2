"""Reading and writing: one funnel (`read_layer`) for every input format, the layer pack."""

from .pack import LayerPack, read_pack
from .read import SUPPORTED_SUFFIXES, read_layer

__all__ = ["read_layer", "read_pack", "LayerPack", "SUPPORTED_SUFFIXES"]
