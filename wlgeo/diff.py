"""Compare two plan runs: which quarries changed decision, and why (``wlgeo diff RUN_A RUN_B``).

A run is the directory :func:`wlgeo.run` wrote (its ``plan.gpkg``), or a ``plan.gpkg`` itself.
Quarries are matched on ``quarry_id``.

Examples
--------
>>> d = diff_runs("out/baseline", "out/strict")  # doctest: +SKIP
>>> d.changed[["quarry_id", "decision_a", "decision_b"]]  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

import pandas as pd

from .classify import DECISIONS
from .errors import LayerError, ReadError
from .io.read import read_layer

__all__ = ["RunDiff", "diff_runs", "plan_file"]

log = logging.getLogger(__name__)

_COLUMNS = ["quarry_id", "name", "decision_a", "decision_b", "reasons_a", "reasons_b"]


def plan_file(run: str | PathLike) -> Path:
    """The ``plan.gpkg`` of a run directory (or the file itself when given a ``.gpkg``)."""
    path = Path(run)
    if path.is_dir():
        path = path / "plan.gpkg"
        if not path.is_file():
            raise ReadError("is not a wlgeo run directory: it has no plan.gpkg", path=Path(run))
        return path
    if not path.exists():
        raise ReadError("no such run directory or plan GeoPackage", path=path)
    if path.suffix.lower() != ".gpkg":
        raise ReadError("give a run directory or its plan.gpkg", path=path)
    return path


def _scenario_name(run: Path, gpkg: Path) -> str | None:
    manifest = (run if run.is_dir() else gpkg.parent) / "manifest.json"
    try:
        return json.loads(manifest.read_text(encoding="utf-8"))["scenario"]["name"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _quarries(gpkg: Path) -> pd.DataFrame:
    frame = read_layer(gpkg, layer="quarries")
    for column in ("quarry_id", "decision"):
        if column not in frame.columns:
            raise LayerError("has no field: is this a plan GeoPackage?", path=gpkg, layer="quarries", field=column)
    out = pd.DataFrame({
        "quarry_id": frame["quarry_id"].astype(str).str.strip(),
        "name": frame["name"] if "name" in frame.columns else None,
        "decision": frame["decision"].astype(object),
        "reasons": frame["reasons"].fillna("").astype(object) if "reasons" in frame.columns else "",
    })
    dupes = out["quarry_id"][out["quarry_id"].duplicated()]
    if len(dupes):
        raise LayerError("quarry_id is not unique", path=gpkg, layer="quarries", feature=dupes.iloc[0], field="quarry_id")
    return out.set_index(out["quarry_id"].rename(None))


@dataclass
class RunDiff:
    """What changed between run A and run B.

    Attributes
    ----------
    run_a, run_b : the two plan GeoPackages.
    scenario_a, scenario_b : scenario names from the runs' manifests (``None`` if unknown).
    changed : quarries in both runs whose decision differs: ``quarry_id``, ``name``,
        ``decision_a``, ``decision_b``, ``reasons_a``, ``reasons_b`` (sorted by id).
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
        for _, row in self.changed.iterrows():
            name = f" {row['name']}" if isinstance(row["name"], str) and row["name"] else ""
            lines.append(f"  {row['quarry_id']}{name}: {row['decision_a']} → {row['decision_b']}")
            lines.append(f"      A: {row['reasons_a'] or '(no reason recorded)'}")
            lines.append(f"      B: {row['reasons_b'] or '(no reason recorded)'}")
        if self.only_a:
            lines.append(f"only in A: {', '.join(self.only_a)}")
        if self.only_b:
            lines.append(f"only in B: {', '.join(self.only_b)}")
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
    qa, qb = _quarries(gpkg_a), _quarries(gpkg_b)
    both = qa.index.intersection(qb.index, sort=False)
    joined = qa.loc[both].join(qb.loc[both, ["decision", "reasons"]], suffixes=("_a", "_b"))
    changed = joined[joined["decision_a"] != joined["decision_b"]]
    changed = changed[_COLUMNS].sort_values("quarry_id").reset_index(drop=True)
    order = list(DECISIONS) + sorted((set(qa["decision"].dropna()) | set(qb["decision"].dropna())) - set(DECISIONS))
    count_a = qa["decision"].value_counts()
    count_b = qb["decision"].value_counts()
    counts = pd.DataFrame({"a": [int(count_a.get(d, 0)) for d in order],
                           "b": [int(count_b.get(d, 0)) for d in order]}, index=order)
    counts.loc["total"] = [len(qa), len(qb)]
    counts["change"] = counts["b"] - counts["a"]
    result = RunDiff(
        run_a=gpkg_a,
        run_b=gpkg_b,
        scenario_a=_scenario_name(Path(run_a), gpkg_a),
        scenario_b=_scenario_name(Path(run_b), gpkg_b),
        changed=changed,
        only_a=sorted(set(qa.index) - set(qb.index)),
        only_b=sorted(set(qb.index) - set(qa.index)),
        counts=counts,
    )
    log.info("diff %s → %s: %d changed", gpkg_a, gpkg_b, len(changed))
    return result
