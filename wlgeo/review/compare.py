"""Scenario review: compare two plans (the change table, counts, caps, sites and parameters).

- :func:`compare` → :class:`Comparison`: the quarries whose decision changed (both decisions,
  both reason sets and the rule or parameter that made the difference), counts and capacity by
  decision and by town for plan A and plan B, the caps, new sites added or dropped, and the
  scenario parameters that differ.
- :func:`wlgeo.review.diffmap.diff_map` — one offline map (:mod:`wlgeo.products.maps`) coloured by change
  ("予以保留 Retain → 到期退出 Expire"): outline = decision in A, fill = decision in B.
- :func:`wlgeo.review.sweep.sweep` — counts and capacity per decision, and whether the caps are met, as one
  scenario parameter takes a list of values; :func:`wlgeo.review.sweep.plot_sweep` draws it with Chinese labels.

:func:`wlgeo.review.diff.diff_runs` (``wlgeo diff RUN_A RUN_B``) compares run directories read from
disk with the same core (:func:`decision_changes`).

Examples
--------
>>> import wlgeo
>>> a = wlgeo.plan("layers/wulong.gpkg", "baseline")  # doctest: +SKIP
>>> b = wlgeo.plan("layers/wulong.gpkg", a.scenario.replace(name="wide", blast_distance_m=500))  # doctest: +SKIP
>>> c = wlgeo.compare(a, b)  # doctest: +SKIP
>>> c.changes[["quarry_id", "decision_a", "decision_b", "cause"]]  # doctest: +SKIP
>>> wlgeo.sweep("layers/wulong.gpkg", "baseline", "blast_distance_m", [200, 300, 400, 500])  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from wlgeo.engine.classify import DECISIONS
from wlgeo.model.errors import LayerError
from wlgeo.engine.summary import TOTAL_ROW, TOWN_COLUMN, summary_columns
from wlgeo.model.reasons import Reason, reasons_of

__all__ = [
    "Comparison",
    "compare",
    "decision_changes",
    "CHANGE_COLUMNS",
    "SUMMARY_ITEMS",
    "RULE_PARAMETERS",
]

log = logging.getLogger(__name__)

#: Columns of :attr:`Comparison.changes` (and of ``RunDiff.changed``).
CHANGE_COLUMNS = ("quarry_id", "name", "town", "capacity", "decision_a", "decision_b", "reasons_a", "reasons_b",
                  "cause")
#: Rows of the summary compared per town: every input quarry, each decision, consolidated mines
#: (one per group), new sites, and the mines after the plan (retain + groups + new).
SUMMARY_ITEMS = ("before", "close", "expire", "retain", "consolidate", "groups", "new", "after")
#: The parameters of the line-of-sight test (reason codes ``visible`` / ``hidden``).
_SIGHT_PARAMETERS = ("visibility.enabled", "visibility.max_distance_m", "visibility.observer_height_m",
                     "visibility.target_height_m", "visibility.earth_curvature", "trunk_kinds")
#: Column of the working tables holding each quarry's :class:`~wlgeo.model.reasons.Reason` records.
_RECORDS = "_reason_records"
#: Reason code → the scenario parameters that decide whether it fires.
RULE_PARAMETERS: Mapping[str, tuple[str, ...]] = {
    "red_line": ("min_overlap_m2", "red_line_action"),
    "farmland": ("min_overlap_m2",),
    "protected": ("min_overlap_m2", "closing_protected_kinds"),
    "settlement": ("blast_distance_m",),
    "trunk_line": ("trunk_line_m", "trunk_kinds", "visibility.enabled"),
    "main_river": ("main_river_m", "visibility.enabled"),
    "visible": _SIGHT_PARAMETERS,
    "hidden": _SIGHT_PARAMETERS,
    "sight": ("visibility.enabled",),
    "small": ("min_capacity",),
    "merge": ("merge_distance_m", "min_capacity"),
    "licence_end": ("horizon",),
}


# ---------------------------------------------------------------------------- the shared core
def _flat_parameters(params: Mapping[str, Any] | None, prefix: str = "") -> dict[str, Any]:
    """Scenario parameters as dotted keys (``siting.weights.roads``), without name and description."""
    out: dict[str, Any] = {}
    for key, value in (params or {}).items():
        if not prefix and key in ("name", "description"):
            continue
        if isinstance(value, Mapping):
            out.update(_flat_parameters(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = tuple(value) if isinstance(value, list) else value
    return out


def _show(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return ",".join(str(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "none" if value is None else str(value)


def _codes(reasons: Sequence[Reason]) -> dict[str, Reason]:
    """Reason code → the quarry's first record of it (``settlement`` → ``settlement:180m(张家院子)``)."""
    out: dict[str, Reason] = {}
    for reason in reasons:
        out.setdefault(reason.code, reason)
    return out


#: Rules that fire when their figure is at most the parameter (distances) / above it (overlaps) /
#: below it (capacity): whether a change of that parameter alone can switch the rule.
_AT_MOST = {"settlement": "blast_distance_m", "trunk_line": "trunk_line_m", "main_river": "main_river_m"}
_ABOVE = {"red_line": "min_overlap_m2", "farmland": "min_overlap_m2", "protected": "min_overlap_m2"}
_BELOW = {"small": "min_capacity"}
#: Rules 1–2: a quarry they hit does not survive to the consolidation step.
_DECISIVE = frozenset({"red_line", "farmland", "protected", "settlement", "trunk_line", "main_river", "visible"})


def _switches(figure: float | None, before: Any, after: Any, fires) -> bool:
    """Whether a threshold going from ``before`` to ``after`` switches a rule on this figure."""
    if figure is None or not isinstance(before, (int, float)) or not isinstance(after, (int, float)):
        return True  # cannot tell: keep the parameter as a candidate
    return fires(figure, before) != fires(figure, after)


def _explaining(code: str, reason: Reason, differing: Mapping[str, tuple[Any, Any]], gained: bool) -> list[str]:
    """The differing parameters that can explain why rule ``code`` fired in one plan only (or, for a
    rule in both, changed what it decides): only those the rule reads, and of those only the ones
    whose change could switch it on this quarry's figure."""
    params = [p for p in RULE_PARAMETERS.get(code, ()) if p in differing]
    figure = reason.figure  # the number the reason states (``settlement:180m(张家院子)`` → 180.0)
    tests = {**{c: (lambda f, t: f <= t) for c in _AT_MOST}, **{c: (lambda f, t: f > t) for c in _ABOVE},
             **{c: (lambda f, t: f < t) for c in _BELOW}}
    threshold = _AT_MOST.get(code) or _ABOVE.get(code) or _BELOW.get(code)
    out = []
    for param in params:
        before, after = differing[param]
        if param == threshold and not _switches(figure, before, after, tests[code]):
            continue
        if code == "merge" and isinstance(before, (int, float)) and isinstance(after, (int, float)):
            # a larger merge distance or minimum capacity can only make links, a smaller one only break them
            if (after > before) != gained:
                continue
        out.append(param)
    return out


def _partners(qid: str, group: Any, frame: pd.DataFrame) -> list[str]:
    if "group_id" not in frame.columns or not isinstance(group, str) or not group:
        return []
    return sorted(i for i in frame.index[frame["group_id"] == group] if i != qid)


def _survives(reasons: Sequence[Reason]) -> bool:
    """Whether a quarry passed rules 1–2 (no close or corridor rule fired): only such quarries link."""
    return not any(reason.code in _DECISIVE for reason in reasons)


def _neighbour_note(qid: str, qa: pd.DataFrame, qb: pd.DataFrame, gained: bool) -> str:
    """For a surviving quarry that joined (``gained``) or left a consolidation group: the group
    partners that came into or went out of the surviving set between the plans."""
    frame = qb if gained else qa
    group = frame.at[qid, "group_id"] if "group_id" in frame.columns else None
    moved = []
    for other in _partners(qid, group, frame):
        if other not in qa.index or other not in qb.index:
            continue
        if _survives(qa.at[other, _RECORDS]) != _survives(qb.at[other, _RECORDS]):
            moved.append(f"{other} {qa.at[other, 'decision']}→{qb.at[other, 'decision']}")
    return f" [a neighbour's decision changed: {', '.join(moved)}]" if moved else ""


def _cause(qid: str, qa: pd.DataFrame, qb: pd.DataFrame, differing: Mapping[str, tuple[Any, Any]]) -> str:
    """What made the difference for quarry ``qid``: rules that fired in one plan only (``−`` A only,
    ``+`` B only) and, only when no rule came or went, rules in both whose parameters differ
    (``=``), each with the parameters that can explain it — those the rule reads whose change
    switches it on this quarry's figures — and, for a consolidation link, the partners whose own
    decision changed."""
    ca, cb = _codes(qa.at[qid, _RECORDS]), _codes(qb.at[qid, _RECORDS])
    parts, same = [], []
    for code in list(ca) + [c for c in cb if c not in ca]:
        if code in ca and code in cb:
            params = [p for p in RULE_PARAMETERS.get(code, ()) if p in differing
                      and p not in (_AT_MOST.get(code), _ABOVE.get(code), _BELOW.get(code))]
            if params and code != "licence_end":
                same.append(f"={ca[code].text}" + "".join(
                    f" [{p} {_show(differing[p][0])}→{_show(differing[p][1])}]" for p in params))
            continue
        gained = code in cb
        sign, reason = ("+", cb[code]) if gained else ("−", ca[code])
        params = _explaining(code, reason, differing, gained)
        if code == "licence_end" and not params:
            continue  # recorded for every exit at licence end: a consequence, not a cause
        note = "".join(f" [{p} {_show(differing[p][0])}→{_show(differing[p][1])}]" for p in params)
        if code == "merge" and _survives(qa.at[qid, _RECORDS]) == _survives(qb.at[qid, _RECORDS]):
            note += _neighbour_note(qid, qa, qb, gained)  # otherwise its own close/corridor rule is the cause
        parts.append(f"{sign}{reason.text}{note}")
    return "; ".join(parts or same)  # "=" entries only when no rule came or went (e.g. red_line_action)


def change_lines(changes: pd.DataFrame) -> list[str]:
    """Text lines for a table of changed quarries: id, name, town, both decisions, both reasons, cause."""
    lines = []
    for row in changes.to_dict("records"):
        name, town = row.get("name"), row.get("town")
        name = f" {name}" if isinstance(name, str) and name else ""
        town = f" [{town}]" if isinstance(town, str) and town else ""
        lines.append(f"  {row['quarry_id']}{name}{town}: {row['decision_a']} → {row['decision_b']}")
        lines.append(f"      A: {row['reasons_a'] or '(no reason recorded)'}")
        lines.append(f"      B: {row['reasons_b'] or '(no reason recorded)'}")
        if row.get("cause"):
            lines.append(f"      why: {row['cause']}")
    return lines


def only_lines(only_a, only_b) -> list[str]:
    """Text lines naming the quarries found in only one of two plans."""
    return ([f"only in A: {', '.join(only_a)}"] if only_a else []) + ([f"only in B: {', '.join(only_b)}"] if only_b else [])


def decision_changes(
    quarries_a: pd.DataFrame,
    quarries_b: pd.DataFrame,
    *,
    parameters_a: Mapping[str, Any] | None = None,
    parameters_b: Mapping[str, Any] | None = None,
    reasons_a: pd.Series | None = None,
    reasons_b: pd.Series | None = None,
) -> tuple[pd.DataFrame, list[str], list[str], pd.DataFrame]:
    """Quarries whose decision differs between two classified quarry tables.

    Parameters
    ----------
    quarries_a, quarries_b : tables with ``quarry_id``, ``decision``, ``reasons`` and (optional)
        ``name``, ``town``, ``capacity``; matched on ``quarry_id``.
    parameters_a, parameters_b : the two scenarios as dicts (``Scenario.to_dict()``), to name
        the parameter behind each change in ``cause``.
    reasons_a, reasons_b : each quarry's :class:`~wlgeo.model.reasons.Reason` records, aligned
        to the table's index (:func:`wlgeo.model.reasons.reasons_of`); default: read from its
        ``reasons`` text. ``cause`` is worked out from these records.

    Returns
    -------
    changed : DataFrame with :data:`CHANGE_COLUMNS`, sorted by ``quarry_id``.
    only_a, only_b : ids present in one table only (sorted).
    counts : per decision ``a``, ``b``, ``change`` (b − a), and a ``total`` row.

    Raises
    ------
    LayerError
        A table lacks ``quarry_id`` or ``decision``, or an id is repeated.
    """
    qa = _standard(quarries_a, "A", reasons_a)
    qb = _standard(quarries_b, "B", reasons_b)
    flat_a, flat_b = _flat_parameters(parameters_a), _flat_parameters(parameters_b)
    differing = {k: (flat_a.get(k), flat_b.get(k)) for k in sorted(set(flat_a) | set(flat_b))
                 if flat_a.get(k) != flat_b.get(k)}
    both = qa.index.intersection(qb.index, sort=False)
    joined = qa.loc[both].join(qb.loc[both, ["decision", "reasons"]], suffixes=("_a", "_b"))
    changed = joined[joined["decision_a"] != joined["decision_b"]].copy()
    changed["cause"] = [_cause(qid, qa, qb, differing) for qid in changed.index]
    changed = changed[list(CHANGE_COLUMNS)].sort_values("quarry_id").reset_index(drop=True)
    extra = sorted((set(qa["decision"].dropna()) | set(qb["decision"].dropna())) - set(DECISIONS))
    order = [*DECISIONS, *extra]
    count_a, count_b = qa["decision"].value_counts(), qb["decision"].value_counts()
    counts = pd.DataFrame({"a": [int(count_a.get(d, 0)) for d in order],
                           "b": [int(count_b.get(d, 0)) for d in order]}, index=order)
    counts.loc["total"] = [len(qa), len(qb)]
    counts["change"] = counts["b"] - counts["a"]
    only_a = sorted(set(qa.index) - set(qb.index))
    only_b = sorted(set(qb.index) - set(qa.index))
    return changed, only_a, only_b, counts


def _standard(frame: pd.DataFrame, label: str, records: pd.Series | None) -> pd.DataFrame:
    for column in ("quarry_id", "decision"):
        if column not in frame.columns:
            raise LayerError(f"plan {label} has no {column!r} field: is it a classified plan?", layer="quarries",
                             field=column)
    ids = frame["quarry_id"].astype(str).str.strip()
    out = pd.DataFrame({
        "quarry_id": ids.to_numpy(),
        "name": frame["name"].to_numpy() if "name" in frame.columns else None,
        "town": frame["town"].to_numpy() if "town" in frame.columns else None,
        "capacity": pd.to_numeric(frame["capacity"], errors="coerce").to_numpy() if "capacity" in frame.columns else np.nan,
        "decision": frame["decision"].astype(object).to_numpy(),
        "reasons": frame["reasons"].fillna("").astype(object).to_numpy() if "reasons" in frame.columns else "",
        "group_id": frame["group_id"].astype(object).to_numpy() if "group_id" in frame.columns else None,
        _RECORDS: _aligned_records(frame, records, label),
    })
    dupes = out["quarry_id"][out["quarry_id"].duplicated()]
    if len(dupes):
        raise LayerError(f"quarry_id is not unique in plan {label}", layer="quarries", feature=dupes.iloc[0],
                         field="quarry_id")
    return out.set_index(out["quarry_id"].rename(None))


# ---------------------------------------------------------------------------- compare
@dataclass
class Comparison:
    """Plan A against plan B (:func:`compare`).

    Attributes
    ----------
    scenario_a, scenario_b : scenario names.
    changes : quarries whose decision changed (:data:`CHANGE_COLUMNS`): ``cause`` lists the
        rules that fired in one plan only (``−`` only in A, ``+`` only in B) or in both with a
        different parameter (``=``), each with the differing parameters, e.g.
        ``−settlement:180m(张家院子) [blast_distance_m 300→100]``.
    counts : one row per town (and :data:`~wlgeo.engine.summary.TOTAL_ROW`) and item
        (:data:`SUMMARY_ITEMS`): ``count_a``, ``count_b``, ``count_change``, ``capacity_a``,
        ``capacity_b``, ``capacity_change`` (万吨/年).
    decisions : per decision ``a``, ``b``, ``change`` and a ``total`` row (quarries in each class).
    caps : rows ``quarries`` and ``capacity``: the cap, the figure after the plan and whether it
        is met, for A and B.
    new_sites : GeoDataFrame of new sites: ``status`` (``added``: only in B, ``dropped``: only in
        A, ``kept``: same footprint, ``moved``: overlapping footprints), ``site_id_a``,
        ``site_id_b``, ``score_a``, ``score_b``, ``town``; geometry from B (from A when dropped).
    parameters : scenario parameters that differ: ``parameter``, ``a``, ``b``.
    only_a, only_b : quarry ids in one plan only.
    """

    scenario_a: str
    scenario_b: str
    changes: pd.DataFrame
    counts: pd.DataFrame
    decisions: pd.DataFrame
    caps: pd.DataFrame
    new_sites: gpd.GeoDataFrame
    parameters: pd.DataFrame
    only_a: list[str] = field(default_factory=list)
    only_b: list[str] = field(default_factory=list)

    @property
    def totals(self) -> pd.DataFrame:
        """The district rows of :attr:`counts`, indexed by item."""
        rows = self.counts[self.counts["town"] == TOTAL_ROW]
        return rows.drop(columns="town").set_index("item")

    def by_town(self, value: str = "count_change") -> pd.DataFrame:
        """:attr:`counts` as a town × item table of one column (e.g. ``capacity_change``)."""
        if value not in self.counts.columns or value in ("town", "item"):
            allowed = [c for c in self.counts.columns if c not in ("town", "item")]
            raise ValueError(f"value={value!r}; allowed: {', '.join(allowed)}")
        table = self.counts.pivot(index="town", columns="item", values=value)
        towns = list(dict.fromkeys(self.counts["town"]))
        return table.loc[towns, [i for i in SUMMARY_ITEMS if i in table.columns]]

    def transitions(self) -> pd.Series:
        """Number of quarries per change, e.g. ``retain → expire``: 3."""
        if not len(self.changes):
            return pd.Series(dtype="int64", name="quarries")
        keys = self.changes["decision_a"].astype(str) + " → " + self.changes["decision_b"].astype(str)
        return keys.value_counts().sort_index().rename("quarries")

    def to_text(self) -> str:
        """A readable report: parameters, counts, caps, changed quarries with reasons, new sites."""
        a, b = self.scenario_a, self.scenario_b
        lines = [f"A = {a}, B = {b}"]
        if len(self.parameters):
            lines.append("parameters that differ:")
            lines.extend(f"  {r.parameter}: {_show(r.a)} → {_show(r.b)}" for r in self.parameters.itertuples())
        else:
            lines.append("the two scenarios have the same parameters")
        lines += ["", f"{'':<12}{'A':>6}{'B':>6}{'change':>8}{'capacity A':>12}{'B':>8}{'change':>8}"]
        for item, row in self.totals.iterrows():
            lines.append(f"{item:<12}{row['count_a']:>6.0f}{row['count_b']:>6.0f}{row['count_change']:>+8.0f}"
                         f"{row['capacity_a']:>12.0f}{row['capacity_b']:>8.0f}{row['capacity_change']:>+8.0f}")
        lines.append("")
        for what, row in self.caps.iterrows():
            lines.append(f"cap on {what}: A {_show(row['after_a'])} / {_show(row['cap_a'])} ({_met(row['ok_a'])}), "
                         f"B {_show(row['after_b'])} / {_show(row['cap_b'])} ({_met(row['ok_b'])})")
        n = len(self.changes)
        lines += ["", f"{n} quarr{'y' if n == 1 else 'ies'} changed decision"]
        lines.extend(change_lines(self.changes))
        for status in ("added", "dropped", "moved"):
            sites = self.new_sites[self.new_sites["status"] == status]
            if len(sites):
                ids = sites["site_id_b" if status != "dropped" else "site_id_a"].astype(str)
                lines.append(f"new sites {status}: {', '.join(ids)}")
        lines.extend(only_lines(self.only_a, self.only_b))
        return "\n".join(lines)

    __str__ = to_text

    def __repr__(self) -> str:
        return f"Comparison({self.scenario_a!r} → {self.scenario_b!r}: {len(self.changes)} changed)"


def _met(flag: Any) -> str:
    return "no cap" if flag is None or (isinstance(flag, float) and np.isnan(flag)) else ("met" if flag else "NOT met")


def _summary_long(summary: pd.DataFrame) -> pd.DataFrame:
    """A summary table (:func:`wlgeo.engine.summary.summary_table`) as rows of (town, item, count, capacity)."""
    labels = {key: (n, c) for key, n, c in summary_columns()}
    frames = []
    for item in SUMMARY_ITEMS:
        n, c = labels[item]
        frames.append(pd.DataFrame({"town": summary[TOWN_COLUMN].astype(str).to_numpy(), "item": item,
                                    "count": summary[n].to_numpy(), "capacity": summary[c].to_numpy()}))
    return pd.concat(frames, ignore_index=True)


def _compare_counts(summary_a: pd.DataFrame, summary_b: pd.DataFrame) -> pd.DataFrame:
    la, lb = _summary_long(summary_a), _summary_long(summary_b)
    merged = la.merge(lb, on=["town", "item"], how="outer", suffixes=("_a", "_b"))
    for column in ("count_a", "count_b", "capacity_a", "capacity_b"):
        merged[column] = merged[column].fillna(0)
    merged["count_a"] = merged["count_a"].astype("int64")
    merged["count_b"] = merged["count_b"].astype("int64")
    merged["count_change"] = merged["count_b"] - merged["count_a"]
    merged["capacity_change"] = merged["capacity_b"] - merged["capacity_a"]
    towns = list(dict.fromkeys([*summary_a[TOWN_COLUMN].astype(str), *summary_b[TOWN_COLUMN].astype(str)]))
    towns = [t for t in towns if t != TOTAL_ROW] + [TOTAL_ROW]
    merged["_t"] = merged["town"].map({t: i for i, t in enumerate(towns)})
    merged["_i"] = merged["item"].map({t: i for i, t in enumerate(SUMMARY_ITEMS)})
    merged = merged.sort_values(["_t", "_i"]).drop(columns=["_t", "_i"]).reset_index(drop=True)
    return merged[["town", "item", "count_a", "count_b", "count_change", "capacity_a", "capacity_b", "capacity_change"]]


def _compare_caps(caps_a: Any, caps_b: Any) -> pd.DataFrame:
    rows = {}
    for what, cap, after, ok in (("quarries", "max_quarries", "quarries_after", "quarries_ok"),
                                 ("capacity", "max_total_capacity", "capacity_after", "capacity_ok")):
        rows[what] = {"cap_a": getattr(caps_a, cap), "after_a": getattr(caps_a, after), "ok_a": getattr(caps_a, ok),
                      "cap_b": getattr(caps_b, cap), "after_b": getattr(caps_b, after), "ok_b": getattr(caps_b, ok)}
    return pd.DataFrame.from_dict(rows, orient="index").astype(object)


_SITE_COLUMNS = ["status", "site_id_a", "site_id_b", "score_a", "score_b", "town"]


def _compare_sites(sites_a: gpd.GeoDataFrame, sites_b: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Match new sites by footprint: a B site overlapping an A site (area > 0) is kept or moved."""
    crs = (sites_b.crs if sites_b is not None and sites_b.crs is not None else
           sites_a.crs if sites_a is not None else None)
    ga = np.asarray(sites_a.geometry.values if sites_a is not None else [], dtype=object)
    gb = np.asarray(sites_b.geometry.values if sites_b is not None else [], dtype=object)
    if len(ga) and len(gb) and sites_a.crs is not None and sites_b.crs is not None and sites_a.crs != sites_b.crs:
        ga = np.asarray(sites_a.to_crs(sites_b.crs).geometry.values, dtype=object)
    matched_a: set[int] = set()
    rows = []
    tree = shapely.STRtree(ga) if len(ga) else None
    for j, geom in enumerate(gb):
        best, best_area = None, 0.0
        if tree is not None:
            for i in tree.query(geom, predicate="intersects"):
                area = shapely.area(shapely.intersection(ga[i], geom))
                if area > best_area:
                    best, best_area = int(i), float(area)
        rec_b = sites_b.iloc[j]
        if best is None:
            rows.append(("added", None, rec_b.get("site_id"), np.nan, rec_b.get("score"), rec_b.get("town"), geom))
            continue
        matched_a.add(best)
        rec_a = sites_a.iloc[best]
        status = "kept" if shapely.equals(ga[best], geom) else "moved"
        rows.append((status, rec_a.get("site_id"), rec_b.get("site_id"), rec_a.get("score"), rec_b.get("score"),
                     rec_b.get("town"), geom))
    for i, geom in enumerate(ga):
        if i not in matched_a:
            rec_a = sites_a.iloc[i]
            rows.append(("dropped", rec_a.get("site_id"), None, rec_a.get("score"), np.nan, rec_a.get("town"), geom))
    frame = pd.DataFrame([r[:-1] for r in rows], columns=_SITE_COLUMNS)
    frame["score_a"] = pd.to_numeric(frame["score_a"], errors="coerce")
    frame["score_b"] = pd.to_numeric(frame["score_b"], errors="coerce")
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([r[-1] for r in rows], crs=crs), crs=crs)


def compare(result_a: Any, result_b: Any) -> Comparison:
    """Compare two plans (:class:`~wlgeo.PlanResult`) quarry by quarry.

    Parameters
    ----------
    result_a, result_b : plans of the same pack (quarries matched on ``quarry_id``), usually
        under two scenarios.

    Returns
    -------
    Comparison

    Raises
    ------
    LayerError
        A plan's quarries lack ``quarry_id`` or ``decision``, or repeat an id.

    Examples
    --------
    >>> c = compare(wlgeo.plan(pack, "baseline"), wlgeo.plan(pack, "strict"))  # doctest: +SKIP
    >>> c.transitions()  # doctest: +SKIP
    """
    params_a, params_b = result_a.scenario.to_dict(), result_b.scenario.to_dict()
    changed, only_a, only_b, decisions = decision_changes(result_a.quarries, result_b.quarries,
                                                          parameters_a=params_a, parameters_b=params_b,
                                                          reasons_a=reasons_of(result_a), reasons_b=reasons_of(result_b))
    flat_a, flat_b = _flat_parameters(params_a), _flat_parameters(params_b)
    keys = [k for k in dict.fromkeys([*flat_a, *flat_b]) if flat_a.get(k) != flat_b.get(k)]
    parameters = pd.DataFrame({"parameter": keys, "a": [flat_a.get(k) for k in keys], "b": [flat_b.get(k) for k in keys]},
                              dtype=object)
    out = Comparison(
        scenario_a=result_a.scenario.name,
        scenario_b=result_b.scenario.name,
        changes=changed,
        counts=_compare_counts(result_a.summary, result_b.summary),
        decisions=decisions,
        caps=_compare_caps(result_a.caps, result_b.caps),
        new_sites=_compare_sites(result_a.new_sites, result_b.new_sites),
        parameters=parameters,
        only_a=only_a,
        only_b=only_b,
    )
    log.info("compare %s → %s: %d changed", out.scenario_a, out.scenario_b, len(changed))
    return out


def _aligned_records(frame: pd.DataFrame, records: pd.Series | None, label: str) -> np.ndarray:
    """The quarries' reason records in the frame's row order (read from its text when not given)."""
    if records is None:
        records = reasons_of(frame)
    elif not (isinstance(records, pd.Series) and records.index.equals(frame.index)):
        raise LayerError(f"the reason records of plan {label} are not aligned to its quarries", layer="quarries",
                         field="reasons")
    out = np.empty(len(records), dtype=object)
    for i, reasons in enumerate(records.tolist()):  # element by element: a list of tuples would become 2-D
        out[i] = tuple(reasons)
    return out
