"""wlgeo: spatial planning of the quarries and industrial parks of a Chinese district (demo: Wulong, 武隆区).

The public API is listed in ``__all__``; everything else is internal.
"""

from __future__ import annotations

from wlgeo.io import interrupt as _interrupt

# The wlgeo command handles SIGINT/SIGTERM (one line, exit 130/143) from its first line on,
# before anything else is imported; a library user's process is left alone.
_interrupt.install_for_cli()

import importlib  # noqa: E402
import logging  # noqa: E402
from typing import TYPE_CHECKING, Any  # noqa: E402

from wlgeo.model import errors as _errors  # light: no third-party import

globals().update({name: getattr(_errors, name) for name in _errors.ERROR_CLASSES})

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

#: Public name → the module that defines it. ``import wlgeo`` loads none of them (nor pandas,
#: geopandas, shapely, pyproj, folium, matplotlib, rasterio or scipy): each module is imported the
#: first time one of its names is used, so ``wlgeo --help`` starts fast.
_LAZY: dict[str, str] = {
    "WORKING_CRS": "wlgeo.model.crs",
    "gcj02_to_wgs84": "wlgeo.model.crs",
    "wgs84_to_gcj02": "wlgeo.model.crs",
    "Comparison": "wlgeo.review.compare",
    "compare": "wlgeo.review.compare",
    "diff_map": "wlgeo.review.diffmap",
    "plot_sweep": "wlgeo.review.sweep",
    "sweep": "wlgeo.review.sweep",
    "ExportReport": "wlgeo.products.export",
    "export_plan": "wlgeo.products.export",
    "LayerPack": "wlgeo.io",
    "read_gpkg_metadata": "wlgeo.io",
    "read_layer": "wlgeo.io",
    "read_pack": "wlgeo.io",
    "write_geopackage": "wlgeo.products.geopackage",
    "folium_map": "wlgeo.products.maps",
    "save_map": "wlgeo.products.webmap",
    "PlanResult": "wlgeo.engine.result",
    "plan": "wlgeo.runs.planning",
    "run": "wlgeo.runs.writer",
    "map_sheet": "wlgeo.products.sheet",
    "load_run": "wlgeo.runs.reader",
    "run_sheets": "wlgeo.runs.sheets",
    "SitingResult": "wlgeo.engine.siting",
    "propose_sites": "wlgeo.engine.siting",
    "write_raster": "wlgeo.io.raster",
    "Scenario": "wlgeo.model.scenario",
    "SitingParams": "wlgeo.model.scenario",
    "VisibilityParams": "wlgeo.model.scenario",
    "list_presets": "wlgeo.model.scenario",
    "load_scenario": "wlgeo.model.scenario",
    "Problem": "wlgeo.io.validate",
    "ValidationReport": "wlgeo.io.validate",
    "check_pack": "wlgeo.io.validate",
    "normalise_quarries": "wlgeo.io.validate",
    "InitResult": "wlgeo.io.catalog_init",
    "init_catalog": "wlgeo.io.catalog_init",
}


def __getattr__(name: str) -> Any:
    """Import the module defining a public name on first use (PEP 562)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'wlgeo' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))




if TYPE_CHECKING:  # what static tools and IDEs see
    from wlgeo.model.errors import (
        CRSError,
        CRSWarning,
        DatumWarning,
        EncodingGuessWarning,
        LayerError,
        MapError,
        OutputError,
        PackError,
        ReadError,
        ScenarioError,
        WlgeoError,
        WlgeoWarning,
    )
    from wlgeo.review.compare import Comparison, compare
    from wlgeo.review.diffmap import diff_map
    from wlgeo.review.sweep import plot_sweep, sweep
    from wlgeo.model.crs import WORKING_CRS, gcj02_to_wgs84, wgs84_to_gcj02
    from wlgeo.products.export import ExportReport, export_plan
    from wlgeo.io import LayerPack, read_gpkg_metadata, read_layer, read_pack
    from wlgeo.products.geopackage import write_geopackage
    from wlgeo.products.maps import folium_map
    from wlgeo.products.webmap import save_map
    from wlgeo.engine.result import PlanResult
    from wlgeo.runs.planning import plan
    from wlgeo.runs.writer import run
    from wlgeo.runs.reader import load_run
    from wlgeo.runs.sheets import run_sheets
    from wlgeo.model.scenario import Scenario, SitingParams, VisibilityParams, list_presets, load_scenario
    from wlgeo.products.sheet import map_sheet
    from wlgeo.engine.siting import SitingResult, propose_sites
    from wlgeo.io.raster import write_raster
    from wlgeo.io.validate import Problem, ValidationReport, check_pack, normalise_quarries
    from wlgeo.io.catalog_init import InitResult, init_catalog

__all__ = [
    "__version__",
    "WORKING_CRS",
    "read_layer",
    "read_pack",
    "LayerPack",
    "plan",
    "PlanResult",
    "run",
    "folium_map",
    "save_map",
    "map_sheet",
    "run_sheets",
    "load_run",
    "write_geopackage",
    "read_gpkg_metadata",
    "export_plan",
    "compare",
    "Comparison",
    "diff_map",
    "sweep",
    "plot_sweep",
    "ExportReport",
    "check_pack",
    "ValidationReport",
    "init_catalog",
    "InitResult",
    "Problem",
    "normalise_quarries",
    "Scenario",
    "SitingParams",
    "VisibilityParams",
    "load_scenario",
    "propose_sites",
    "SitingResult",
    "write_raster",
    "list_presets",
    "wgs84_to_gcj02",
    "gcj02_to_wgs84",
    *_errors.ERROR_CLASSES,
]
