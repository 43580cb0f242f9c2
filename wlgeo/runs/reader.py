"""Reading a run back (the directory ``wlgeo run`` wrote), and drawing its sheets (``wlgeo sheet``).

:func:`plan_file` finds a run's ``plan.gpkg``; :func:`read_plan_layers` reads every layer of it;
:func:`load_run` turns it into a :class:`RunPlan` (quarries with their decisions, groups, new
sites, the scenario) and a :class:`~wlgeo.model.pack.LayerPack` of the context layers the run kept,
which is what :func:`wlgeo.products.sheet.map_sheet` draws. :func:`run_sheets` writes the district sheet,
or one sheet per town, from a run.

Examples
--------
>>> plan, pack = load_run("out/baseline")  # doctest: +SKIP
>>> report = run_sheets("out/baseline", out_dir="out/sheets", by_town=True)  # doctest: +SKIP
>>> [p.name for p in report.files][:2]  # doctest: +SKIP
['和顺镇.png', '和顺镇.pdf']
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cached_property
from os import PathLike
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import geopandas as gpd
import pandas as pd

from wlgeo.model.errors import LayerError, ReadError, WlgeoError
from wlgeo.model.pack import LayerPack
from wlgeo.io.planfile import read_plan_layers
from wlgeo.model.reasons import reasons_of
from wlgeo.runs.layout import PLAN_FILE
from wlgeo.runs.manifest import Manifest
from wlgeo.model.scenario import Scenario

__all__ = [
    "RunPlan",
    "load_run",
    "plan_file",
    "manifest_scenario",
    "read_plan_layers",
]

log = logging.getLogger(__name__)

_RESULT_LAYERS = ("quarries", "consolidation_groups", "new_sites")


# ------------------------------------------------------------------------------ reading
def plan_file(run: str | PathLike) -> Path:
    """The ``plan.gpkg`` of a run directory (or the file itself when given a ``.gpkg``)."""
    path = Path(run)
    if path.is_dir():
        path = path / PLAN_FILE
        if not path.is_file():
            raise ReadError("is not a wlgeo run directory: it has no plan.gpkg", path=Path(run))
        return path
    if not path.exists():
        raise ReadError("no such run directory or plan GeoPackage", path=path)
    if path.suffix.lower() != ".gpkg":
        raise ReadError("give a run directory or its plan.gpkg", path=path)
    return path


def manifest_scenario(run: Path, gpkg: Path) -> dict:
    """The ``scenario`` entry of the run's ``manifest.json`` (empty when unknown)."""
    manifest = Manifest.read(run if run.is_dir() else gpkg)
    return manifest.scenario if manifest is not None else {}


@dataclass
class RunPlan:
    """A plan read back from a run: what :func:`wlgeo.products.sheet.map_sheet` needs of a ``PlanResult``.

    Attributes
    ----------
    quarries : the ``quarries`` layer, with ``decision``.
    consolidation_groups, new_sites : those layers (empty when the run has none).
    scenario : the run's :class:`~wlgeo.Scenario` rebuilt from ``manifest.json`` (or an object
        with only ``name`` when the manifest is missing or from another version).
    plan_gpkg : the file read.
    manifest : the run's ``manifest.json`` (empty when missing).
    reasons : each quarry's :class:`~wlgeo.model.reasons.Reason` records, read from the
        ``reasons`` text on first use (:func:`~wlgeo.model.reasons.parse_reasons`, through
        :func:`~wlgeo.model.reasons.reasons_of`).
    """

    quarries: gpd.GeoDataFrame
    consolidation_groups: gpd.GeoDataFrame
    new_sites: gpd.GeoDataFrame
    scenario: Any
    plan_gpkg: Path
    manifest: dict = field(default_factory=dict)

    @cached_property
    def reasons(self) -> pd.Series:
        """Tuples of :class:`~wlgeo.model.reasons.Reason` aligned to ``quarries.index`` (parsed once)."""
        return reasons_of(self.quarries)


def _scenario(entry: dict) -> Any:
    parameters = entry.get("parameters")
    if isinstance(parameters, dict):
        try:
            return Scenario.from_dict(parameters)
        except (WlgeoError, TypeError, ValueError) as err:
            log.info("scenario of the run not rebuilt (%s): using its name only", err)
    return SimpleNamespace(name=entry.get("name") or None)


def load_run(run: str | PathLike) -> tuple[RunPlan, LayerPack]:
    """Read a run directory written by :func:`wlgeo.run` (or its ``plan.gpkg``).

    Returns
    -------
    (RunPlan, LayerPack)
        The plan (quarries with decisions, groups, new sites, scenario) and a pack holding the
        context layers the run stored in ``plan.gpkg`` (boundary, towns, red line, ...). Parks,
        bases and ports are not stored in a run, so sheets drawn from it do not show them.

    Raises
    ------
    ReadError
        No ``plan.gpkg``, or it cannot be read.
    LayerError
        Its ``quarries`` layer has no ``decision`` field.
    """
    gpkg = plan_file(run)
    layers = read_plan_layers(gpkg)
    quarries = layers.pop("quarries")
    if "decision" not in quarries.columns:
        raise LayerError("has no field: is this a plan GeoPackage?", path=gpkg, layer="quarries", field="decision")
    empty = gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs=quarries.crs), crs=quarries.crs)
    manifest = Manifest.read(gpkg) or Manifest()
    plan = RunPlan(
        quarries=quarries,
        consolidation_groups=layers.pop("consolidation_groups", empty),
        new_sites=layers.pop("new_sites", empty.copy()),
        scenario=_scenario(manifest.scenario),
        plan_gpkg=gpkg,
        manifest=manifest.to_dict(),
    )
    return plan, LayerPack(layers, source=gpkg)
