"""What a plan computed: :class:`PlanResult` (quarries with decisions and reasons, consolidation
groups, new sites, the summary and the caps), produced by :func:`wlgeo.plan` and rendered by
the products (map, sheet, tables, GeoPackages)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from wlgeo.engine.summary import CapsCheck, decision_counts
from wlgeo.model.crs import WORKING_CRS
from wlgeo.model.scenario import Scenario
from wlgeo.engine.siting import SITE_COLUMNS

__all__ = ["PlanResult", "empty_sites"]


@dataclass
class PlanResult:
    """Everything :func:`plan` computed.

    Attributes
    ----------
    quarries : every input quarry, geometry and attributes unchanged, plus ``decision``,
        ``decision_zh``, ``reasons``, the metric columns and ``group_id`` (DESIGN §4).
    consolidation_groups : one merged footprint per group (``group_id``, ``members``,
        ``n_members``, ``capacity``, ``towns``).
    new_sites : proposed sites (decision ``new``); empty when siting was off or found no room.
    summary : counts and capacity by decision × town (:func:`wlgeo.engine.summary.summary_table`).
    caps : the caps check (:class:`wlgeo.engine.summary.CapsCheck`).
    scenario : the scenario used.
    provenance : where each layer came from (path, layer, sha256, read notes).
    not_checked : rule → why it was not applied (its layer is absent).
    notes : what was assumed or normalised along the way.
    timings : step → seconds.
    source : the pack file, if the pack came from one.
    siting : the :class:`wlgeo.engine.siting.SitingResult` (grid, suitability, factors, mask) when
        siting ran, else ``None``.
    visibility : with ``[visibility] enabled``, what the line-of-sight test found (parameters,
        quarries visible / hidden / not checked per kind of line, sight lines cast), else ``None``.
    reasons : each quarry's :class:`~wlgeo.model.reasons.Reason` records (tuples aligned to
        ``quarries.index``) when kept from the classifier, else ``None``; read them with
        :func:`wlgeo.model.reasons.reasons_of`.
    """

    quarries: gpd.GeoDataFrame
    consolidation_groups: gpd.GeoDataFrame
    new_sites: gpd.GeoDataFrame
    summary: pd.DataFrame
    caps: CapsCheck
    scenario: Scenario
    provenance: dict[str, Any] = field(default_factory=dict)
    not_checked: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    source: Path | None = None
    siting: Any = None
    visibility: dict[str, Any] | None = None
    districts: dict[str, Any] = field(default_factory=dict)
    engine: str = "local"
    partitions: dict[str, Any] = field(default_factory=dict)
    reasons: pd.Series | None = None

    @property
    def caps_ok(self) -> bool:
        """Every cap met: the caps (city totals for a city) and, for a city, every district's."""
        return self.caps.ok and all(d.caps.ok for d in self.districts.values())

    def counts(self) -> dict[str, int]:
        """Number of quarries per decision (close, expire, retain, consolidate)."""
        return decision_counts(self.quarries)

    def to_text(self) -> str:
        """A short report: counts per decision, groups, new sites (and how they were chosen), the
        line-of-sight test when on, caps, rules not checked."""
        counts = ", ".join(f"{d} {n}" for d, n in self.counts().items())
        lines = [
            f"scenario {self.scenario.name}: {len(self.quarries)} quarries — {counts}",
            f"{len(self.consolidation_groups)} consolidation group(s), {len(self.new_sites)} new site(s)",
        ]
        selection = getattr(self.siting, "selection", None)
        if selection is not None:
            lines.insert(2, f"new sites by {selection.to_text()}")
        if self.visibility:
            seen = "; ".join(f"{kind} visible {v['visible']}, hidden {v['hidden']}, not checked {v['not_checked']}"
                             for kind, v in self.visibility.items() if kind in ("trunk_line", "main_river"))
            lines.insert(2, f"三区两线 by line of sight within {self.visibility['max_distance_m']:g} m: {seen}")
        for name, district in self.districts.items():
            lines.append(f"district {name} (EPSG:{district.epsg}): {district.caps.to_text()}")
        lines.append(("city " if self.districts else "") + self.caps.to_text())
        for rule, why in self.not_checked.items():
            lines.append(f"not checked: {rule} ({why})")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"PlanResult({self.scenario.name!r}: {self.counts()}, groups={len(self.consolidation_groups)})"


def empty_sites(crs=WORKING_CRS) -> gpd.GeoDataFrame:
    """A ``new_sites`` frame with no rows and the site columns (:data:`wlgeo.engine.siting.SITE_COLUMNS`)."""

    numeric = {"score", "capacity", "area_m2", "slope_deg", "road_m", "park_m", "port_m"}
    cols = {c: pd.Series(dtype="float64" if c in numeric else "object") for c in SITE_COLUMNS}
    return gpd.GeoDataFrame(cols, geometry=gpd.GeoSeries([], crs=crs), crs=crs)
