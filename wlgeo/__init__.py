"""wlgeo: spatial planning of the quarries and industrial parks of Wulong District (武隆区).

The public API is listed in ``__all__``; everything else is internal.
"""

from __future__ import annotations

import logging

from .crs import WORKING_CRS, gcj02_to_wgs84, wgs84_to_gcj02
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
from .compare import Comparison, compare, diff_map, plot_sweep, sweep
from .export import ExportReport, export_plan
from .io import LayerPack, read_gpkg_metadata, read_layer, read_pack, write_geopackage
from .maps import folium_map, save_map
from .plan import PlanResult, plan, run
from .sheet import map_sheet
from .runs import load_run, run_sheets
from .siting import SitingResult, propose_sites, write_raster
from .scenario import Scenario, SitingParams, list_presets, load_scenario
from .validate import Problem, ValidationReport, check_pack, normalise_quarries

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

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
    "Problem",
    "normalise_quarries",
    "Scenario",
    "SitingParams",
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
