"""Compare two plan runs: which quarries changed decision, and why (``wlgeo diff RUN_A RUN_B``).

A run is the directory :func:`wlgeo.run` wrote (its ``plan.gpkg``), or a ``plan.gpkg`` itself.
Quarries are matched on ``quarry_id``. The comparison itself is shared with
:func:`wlgeo.review.compare.compare` (plans in memory): :func:`wlgeo.review.compare.decision_changes`.

Examples
--------
>>> d = diff_runs("out/baseline", "out/strict")  # doctest: +SKIP
>>> d.changed[["quarry_id", "decision_a", "decision_b"]]  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

import pandas as pd

from wlgeo.review.compare import change_lines, decision_changes, only_lines
from wlgeo.model.errors import LayerError
from wlgeo.model.reasons import reasons_of
from wlgeo.io.read import read_layer
from wlgeo.runs.reader import manifest_scenario, plan_file

__all__ = ["RunDiff", "diff_runs"]

log = logging.getLogger(__name__)


def _quarries(gpkg: Path) -> pd.DataFrame:
    frame = read_layer(gpkg, layer="quarries")
    for column in ("quarry_id", "decision"):
        if column not in frame.columns:
            raise LayerError("has no field: is this a plan GeoPackage?", path=gpkg, layer="quarries", field=column)
    ids = frame["quarry_id"].astype(str).str.strip()
    dupes = ids[ids.duplicated()]
    if len(dupes):
        raise LayerError("quarry_id is not unique", path=gpkg, layer="quarries", feature=dupes.iloc[0], field="quarry_id")
    return pd.DataFrame(frame.drop(columns=frame.geometry.name))


@dataclass
class RunDiff:
    """What changed between run A and run B.

    Attributes
    ----------
    run_a, run_b : the two plan GeoPackages.
    scenario_a, scenario_b : scenario names from the runs' manifests (``None`` if unknown).
    changed : quarries in both runs whose decision differs (sorted by id), with the columns of
        :data:`wlgeo.review.compare.CHANGE_COLUMNS`: ``quarry_id``, ``name``, ``town``, ``capacity``,
        ``decision_a``, ``decision_b``, ``reasons_a``, ``reasons_b`` and ``cause`` (the rules and
        the scenario parameters, from the manifests, that made the difference).
    only_a, only_b : ids present in one run only.
    counts : per decision: ``a``, ``b``, ``change`` (b − a), with a total row.
    """

    run_a: Path
    run_b: Path
    scenario_a: str | None
    scenario_b: str | None
    changed: pd.DataFrame
    only_a: list[str] = field(default_factory=list)
    only_b: list[str] = field(default_factory=list)
    counts: pd.DataFrame | None = None

    def to_text(self) -> str:
        """A readable report: header, count changes, then one block per changed quarry."""
        a = self.scenario_a or str(self.run_a)
        b = self.scenario_b or str(self.run_b)
        lines = [f"A = {a} ({self.run_a})", f"B = {b} ({self.run_b})", "",
                 "decision      A      B   change"]
        for decision, row in self.counts.iterrows():
            lines.append(f"{decision:<11} {row['a']:>4}   {row['b']:>4}   {row['change']:+d}")
        lines.append("")
        lines.append(f"{len(self.changed)} quarr{'y' if len(self.changed) == 1 else 'ies'} changed decision")
        lines.extend(change_lines(self.changed) + only_lines(self.only_a, self.only_b))
        return "\n".join(lines)

    __str__ = to_text


def diff_runs(run_a: str | PathLike, run_b: str | PathLike) -> RunDiff:
    """Quarries whose decision changed between two runs, with both decisions and both reasons.

    Parameters
    ----------
    run_a, run_b : run directories written by :func:`wlgeo.run` (or their ``plan.gpkg``).

    Returns
    -------
    RunDiff

    Raises
    ------
    ReadError
        A run has no ``plan.gpkg`` or it cannot be read.
    LayerError
        Its ``quarries`` layer has no ``quarry_id`` or ``decision`` field.
    """
    gpkg_a, gpkg_b = plan_file(run_a), plan_file(run_b)
    scen_a, scen_b = manifest_scenario(Path(run_a), gpkg_a), manifest_scenario(Path(run_b), gpkg_b)
    quarries_a, quarries_b = _quarries(gpkg_a), _quarries(gpkg_b)
    changed, only_a, only_b, counts = decision_changes(
        quarries_a, quarries_b,
        parameters_a=scen_a.get("parameters"), parameters_b=scen_b.get("parameters"),
        reasons_a=reasons_of(quarries_a), reasons_b=reasons_of(quarries_b),  # read from the text
    )
    result = RunDiff(
        run_a=gpkg_a,
        run_b=gpkg_b,
        scenario_a=scen_a.get("name"),
        scenario_b=scen_b.get("name"),
        changed=changed,
        only_a=only_a,
        only_b=only_b,
        counts=counts,
    )
    log.info("diff %s → %s: %d changed", gpkg_a, gpkg_b, len(changed))
    return result
