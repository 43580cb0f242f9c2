"""wlgeo: spatial planning of the quarries and industrial parks of a Chinese district (demo: Wulong, 武隆区).

The public API is listed in ``__all__``; everything else is internal.
"""

from __future__ import annotations

from . import interrupt as _interrupt

# The wlgeo command handles SIGINT/SIGTERM (one line, exit 130/143) from its first line on,
# before anything else is imported; a library user's process is left alone.
_interrupt.install_for_cli()

import importlib  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402
import types  # noqa: E402
from typing import TYPE_CHECKING, Any  # noqa: E402

from .errors import (
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

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

#: Public name → the module that defines it. ``import wlgeo`` loads none of them (nor pandas,
#: geopandas, shapely, pyproj, folium, matplotlib, rasterio or scipy): each module is imported the
#: first time one of its names is used, so ``wlgeo --help`` starts fast.
_LAZY: dict[str, str] = {
    "WORKING_CRS": ".crs",
    "gcj02_to_wgs84": ".crs",
    "wgs84_to_gcj02": ".crs",
    "Comparison": ".compare",
    "compare": ".compare",
    "diff_map": ".compare",
    "plot_sweep": ".compare",
    "sweep": ".compare",
    "ExportReport": ".export",
    "export_plan": ".export",
    "LayerPack": ".io",
    "read_gpkg_metadata": ".io",
    "read_layer": ".io",
    "read_pack": ".io",
    "write_geopackage": ".io",
    "folium_map": ".maps",
    "save_map": ".webmap",
    "PlanResult": ".plan",
    "plan": ".plan",
    "run": ".plan",
    "map_sheet": ".sheet",
    "load_run": ".runs",
    "run_sheets": ".runs",
    "SitingResult": ".siting",
    "propose_sites": ".siting",
    "write_raster": ".siting",
    "Scenario": ".scenario",
    "SitingParams": ".scenario",
    "VisibilityParams": ".scenario",
    "list_presets": ".scenario",
    "load_scenario": ".scenario",
    "Problem": ".validate",
    "ValidationReport": ".validate",
    "check_pack": ".validate",
    "normalise_quarries": ".validate",
    "InitResult": ".catalog_init",
    "init_catalog": ".catalog_init",
}


def __getattr__(name: str) -> Any:
    """Import the module defining a public name on first use (PEP 562)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'wlgeo' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


class _Package(types.ModuleType):
    """The ``wlgeo`` package object: ``wlgeo.plan`` and ``wlgeo.compare`` stay the *functions*.

    Importing the submodules ``wlgeo.plan`` / ``wlgeo.compare`` would otherwise bind the
    modules over the public functions of the same name (the eager ``__init__`` used to rebind
    them); the modules remain reachable as ``sys.modules["wlgeo.plan"]`` and through
    ``from wlgeo.plan import ...``.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in ("plan", "compare") and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


if TYPE_CHECKING:  # what static tools and IDEs see
    from .compare import Comparison, compare, diff_map, plot_sweep, sweep
    from .crs import WORKING_CRS, gcj02_to_wgs84, wgs84_to_gcj02
    from .export import ExportReport, export_plan
    from .io import LayerPack, read_gpkg_metadata, read_layer, read_pack, write_geopackage
    from .maps import folium_map
    from .webmap import save_map
    from .plan import PlanResult, plan, run
    from .runs import load_run, run_sheets
    from .scenario import Scenario, SitingParams, VisibilityParams, list_presets, load_scenario
    from .sheet import map_sheet
    from .siting import SitingResult, propose_sites, write_raster
    from .validate import Problem, ValidationReport, check_pack, normalise_quarries
    from .catalog_init import InitResult, init_catalog

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
    "WlgeoError",
    "ReadError",
    "LayerError",
    "CRSError",
    "ScenarioError",
    "PackError",
    "OutputError",
    "MapError",
    "WlgeoWarning",
    "CRSWarning",
    "EncodingGuessWarning",
    "DatumWarning",
]
