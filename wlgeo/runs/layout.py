"""The run directory: the one owner of its file names.

A run (``wlgeo run`` / :func:`wlgeo.run`) writes these files into its output directory; readers
(:mod:`wlgeo.runs.reader`, :mod:`wlgeo.review.diff`, ``wlgeo map|sheet RUN``) find them here.
A city run writes :data:`CITY_PLAN` and one folder per district under :data:`DISTRICTS_DIR`.
"""

from __future__ import annotations

__all__ = [
    "PLAN_FILE",
    "SUMMARY_CSV",
    "CAPS_CSV",
    "NOT_CHECKED_CSV",
    "SUMMARY_XLSX",
    "MANIFEST",
    "MAP_FILE",
    "SHEET_STEM",
    "SUITABILITY_FILE",
    "CITY_PLAN",
    "DISTRICTS_DIR",
    "RUN_FILES",
    "CONTEXT_LAYERS",
]

PLAN_FILE = "plan.gpkg"
SUMMARY_CSV = "summary_towns.csv"
CAPS_CSV = "caps.csv"
NOT_CHECKED_CSV = "not_checked.csv"
SUMMARY_XLSX = "summary.xlsx"
MANIFEST = "manifest.json"
MAP_FILE = "map.html"
SHEET_STEM = "sheet"  # sheet.png and sheet.pdf
SUITABILITY_FILE = "suitability.tif"
CITY_PLAN = "plan.parquet"  # a city run's quarries, every district
DISTRICTS_DIR = "districts"  # districts/<district>/plan.gpkg, map.html, sheet.*
RUN_FILES = (PLAN_FILE, MAP_FILE, f"{SHEET_STEM}.png", f"{SHEET_STEM}.pdf", SUITABILITY_FILE, SUMMARY_CSV,
             CAPS_CSV, NOT_CHECKED_CSV, SUMMARY_XLSX, MANIFEST, CITY_PLAN)
"""Every file a run may write into its output directory."""
#: Pack layers copied into ``plan.gpkg`` beside the results: the constraints the rules used and
#: the context a sheet or an export needs (parks, bases, ports, resource zones, blocks).
CONTEXT_LAYERS = ("boundary", "towns", "red_line", "farmland", "protected_areas", "settlements", "roads", "rivers",
                  "parks", "bases", "ports", "resource_zones", "planning_blocks")
