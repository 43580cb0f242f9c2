"""The summary of a plan: counts and capacity by decision × town, before and after, and the caps.

- :func:`quarry_towns` — each quarry's town: its ``town`` field, or (when absent or empty) the
  town polygon holding most of it (:mod:`wlgeo.engine.towns`).
- :func:`summary_table` — one row per town plus a total row; for each decision the number of
  quarries and their capacity (万吨/年); *before* = every input quarry; *after* = retained
  quarries + one mine per consolidation group (with the group's combined capacity) + new sites.
- :func:`check_caps` → :class:`CapsCheck` — ``max_quarries`` and ``max_total_capacity`` met or
  not, and by how much (margin = cap − after; negative means over the cap).

Column labels are bilingual, e.g. ``关闭退出 数量 close count``; the files are written by
:mod:`wlgeo.products.tables`.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass

import geopandas as gpd
import pandas as pd

from wlgeo.engine.towns import assign_towns
from wlgeo.model.decisions import DECISION_LABELS_ZH, DECISIONS, UNASSIGNED_TOWN
from wlgeo.model.errors import LayerError
from wlgeo.model.scenario import Scenario
from wlgeo.model.values import parse_number_series

__all__ = [
    "CapsCheck",
    "quarry_towns",
    "summary_table",
    "summary_columns",
    "check_caps",
    "total_row",
    "decision_counts",
    "TOWN_COLUMN",
    "TOTAL_ROW",
    "UNASSIGNED_TOWN",
    "CAPACITY_UNIT",
]

log = logging.getLogger(__name__)

TOWN_COLUMN = "乡镇 Town"
TOTAL_ROW = "合计 Total"
CAPACITY_UNIT = "万吨/年"


def _count_label(zh: str, en: str) -> str:
    return f"{zh} 数量 {en} count"


def _capacity_label(zh: str, en: str) -> str:
    return f"{zh} 产能 {en} capacity ({CAPACITY_UNIT})"


def summary_columns() -> list[tuple[str, str, str]]:
    """(key, count label, capacity label) of each column pair, in order."""
    pairs = [("before", "现状", "before")]
    pairs += [(d, DECISION_LABELS_ZH[d], d) for d in DECISIONS]
    pairs += [("groups", "整合后矿山", "consolidated mines"), ("new", DECISION_LABELS_ZH["new"], "new"),
              ("after", "规划后", "after")]
    return [(key, _count_label(zh, en), _capacity_label(zh, en)) for key, zh, en in pairs]


# ---------------------------------------------------------------------------- towns
def quarry_towns(features: gpd.GeoDataFrame, towns: gpd.GeoDataFrame | None = None) -> pd.Series:
    """Town of each feature: its ``town`` field or, when absent/empty, the town polygon holding
    most of it (largest overlap); :data:`UNASSIGNED_TOWN` when neither gives one.

    Returns a Series aligned to ``features.index``; ``attrs["by_overlap"]`` counts the features
    placed by overlap.
    """
    names, by_overlap = assign_towns(features, towns)
    out = names.where(names.notna(), UNASSIGNED_TOWN).astype(object)
    out.attrs["by_overlap"] = by_overlap
    return out


def _capacity(frame: pd.DataFrame) -> pd.Series:
    if "capacity" not in frame.columns:
        return pd.Series(0.0, index=frame.index)
    return parse_number_series(frame["capacity"], units=True)[0].fillna(0.0).astype(float)


def _group_towns(quarries: pd.DataFrame, town: pd.Series, capacity: pd.Series) -> dict[str, str]:
    """A group's town: the town of its largest-capacity member (ties: smallest quarry id)."""
    out: dict[str, str] = {}
    members = quarries[quarries["group_id"].notna()]
    order = sorted(members.index, key=lambda i: (-capacity[i], str(quarries.at[i, "quarry_id"])))
    for i in order:
        out.setdefault(members.at[i, "group_id"], town[i])
    return out


# ---------------------------------------------------------------------------- the table
def summary_table(
    quarries: gpd.GeoDataFrame,
    *,
    towns: gpd.GeoDataFrame | None = None,
    new_sites: gpd.GeoDataFrame | None = None,
    town_of: pd.Series | None = None,
) -> pd.DataFrame:
    """Counts and capacity (万吨/年) by decision × town, before and after, with a total row.

    Parameters
    ----------
    quarries : classified quarries (``decision``, ``capacity``, ``group_id``, ``quarry_id``).
    towns : the pack's ``towns`` polygons, to place quarries that have no ``town`` value.
    new_sites : proposed sites (``capacity``; placed by their ``town`` field or polygon).
    town_of : precomputed town per quarry (from :func:`quarry_towns`).

    Returns
    -------
    DataFrame
        Column :data:`TOWN_COLUMN` then, for before, each decision, consolidated mines (groups),
        new and after, a count column and a capacity column. Rows: towns sorted by name,
        :data:`UNASSIGNED_TOWN` last, then :data:`TOTAL_ROW`. A consolidation group counts as one
        mine after the plan, in the town of its largest member.
    """
    if "decision" not in quarries.columns:
        raise LayerError("has no 'decision' column: classify the quarries first", layer="quarries", field="decision")
    town = town_of if town_of is not None else quarry_towns(quarries, towns)
    capacity = _capacity(quarries)
    decision = quarries["decision"]
    rows: dict[str, dict[str, float]] = {}

    def add(t: str, key: str, count: int, cap: float) -> None:
        row = rows.setdefault(t, {})
        row[f"{key}_n"] = row.get(f"{key}_n", 0) + count
        row[f"{key}_c"] = row.get(f"{key}_c", 0.0) + cap

    for i in quarries.index:
        add(town[i], "before", 1, capacity[i])
        add(town[i], decision[i], 1, capacity[i])
    if "group_id" in quarries.columns:
        grouped = quarries["group_id"].notna()
        group_cap = capacity[grouped].groupby(quarries.loc[grouped, "group_id"]).sum()
        for gid, t in _group_towns(quarries, town, capacity).items():
            add(t, "groups", 1, float(group_cap[gid]))
    if new_sites is not None and len(new_sites):
        site_town = quarry_towns(new_sites, towns)
        site_cap = _capacity(new_sites)
        for i in new_sites.index:
            add(site_town[i], "new", 1, site_cap[i])
    for t, row in rows.items():
        row["after_n"] = row.get("retain_n", 0) + row.get("groups_n", 0) + row.get("new_n", 0)
        row["after_c"] = row.get("retain_c", 0.0) + row.get("groups_c", 0.0) + row.get("new_c", 0.0)

    order = sorted(t for t in rows if t != UNASSIGNED_TOWN) + ([UNASSIGNED_TOWN] if UNASSIGNED_TOWN in rows else [])
    records = []
    for t in [*order, TOTAL_ROW]:
        source = rows.get(t, {}) if t != TOTAL_ROW else None
        record: dict[str, object] = {TOWN_COLUMN: t}
        for key, n_label, c_label in summary_columns():
            if source is None:
                record[n_label] = int(sum(r.get(f"{key}_n", 0) for r in rows.values()))
                record[c_label] = float(sum(r.get(f"{key}_c", 0.0) for r in rows.values()))
            else:
                record[n_label] = int(source.get(f"{key}_n", 0))
                record[c_label] = float(source.get(f"{key}_c", 0.0))
        records.append(record)
    labels = [TOWN_COLUMN] + [label for _, n, c in summary_columns() for label in (n, c)]
    return pd.DataFrame.from_records(records, columns=labels)


def total_row(summary: pd.DataFrame) -> pd.Series:
    """The total row of a :func:`summary_table`."""
    return summary.loc[summary[TOWN_COLUMN] == TOTAL_ROW].iloc[0]


# ---------------------------------------------------------------------------- caps
@dataclass(frozen=True)
class CapsCheck:
    """The district caps against the plan.

    Attributes
    ----------
    max_quarries, max_total_capacity : the scenario's caps (``None`` = no cap).
    quarries_before, capacity_before : every input quarry.
    quarries_after, capacity_after : retained + one per consolidation group + new sites.
    """

    max_quarries: int | None
    max_total_capacity: float | None
    quarries_before: int
    capacity_before: float
    quarries_after: int
    capacity_after: float

    @property
    def quarries_margin(self) -> int | None:
        """``max_quarries − quarries_after`` (negative: over the cap); ``None`` when uncapped."""
        return None if self.max_quarries is None else self.max_quarries - self.quarries_after

    @property
    def capacity_margin(self) -> float | None:
        """``max_total_capacity − capacity_after`` in 万吨/年; ``None`` when uncapped."""
        return None if self.max_total_capacity is None else self.max_total_capacity - self.capacity_after

    @property
    def quarries_ok(self) -> bool | None:
        return None if self.max_quarries is None else self.quarries_margin >= 0

    @property
    def capacity_ok(self) -> bool | None:
        return None if self.max_total_capacity is None else self.capacity_margin >= -1e-9

    @property
    def ok(self) -> bool:
        """True when every cap that is set is met."""
        return self.quarries_ok is not False and self.capacity_ok is not False

    def to_dict(self) -> dict[str, object]:
        out = asdict(self)
        out.update(quarries_margin=self.quarries_margin, capacity_margin=self.capacity_margin,
                   quarries_ok=self.quarries_ok, capacity_ok=self.capacity_ok, ok=self.ok)
        return out

    def to_frame(self) -> pd.DataFrame:
        """Two rows (mines, capacity): cap, before, after, margin, met."""
        def met(flag: bool | None) -> str:
            return "无上限 no cap" if flag is None else ("满足 met" if flag else "超出 exceeded")

        return pd.DataFrame(
            {
                "指标 Item": ["矿山数量 Number of quarries", f"总产能 Total capacity ({CAPACITY_UNIT})"],
                "上限 Cap": [self.max_quarries, self.max_total_capacity],
                "现状 Before": [self.quarries_before, self.capacity_before],
                "规划后 After": [self.quarries_after, self.capacity_after],
                "余量 Margin": [self.quarries_margin, self.capacity_margin],
                "是否满足 Met": [met(self.quarries_ok), met(self.capacity_ok)],
            }
        )

    def to_text(self) -> str:
        """One line, e.g. ``caps: quarries 9 ≤ 30 (margin 21), capacity 790 ≤ 3000 万吨/年 (margin 2210): met``."""
        def part(name, after, cap, margin, unit=""):
            if cap is None:
                return f"{name} {_fmt(after)}{unit} (no cap)"
            rel = "≤" if margin >= 0 else ">"
            word = "margin" if margin >= 0 else "over by"
            return f"{name} {_fmt(after)} {rel} {_fmt(cap)}{unit} ({word} {_fmt(abs(margin))})"

        parts = [
            part("quarries", self.quarries_after, self.max_quarries, self.quarries_margin),
            part("capacity", self.capacity_after, self.max_total_capacity, self.capacity_margin, f" {CAPACITY_UNIT}"),
        ]
        return f"caps: {', '.join(parts)}: {'met 满足' if self.ok else 'NOT met 未满足'}"


def _fmt(value: float) -> str:
    return str(int(round(value))) if math.isclose(value, round(value), abs_tol=1e-9) else f"{value:.1f}"


def check_caps(summary: pd.DataFrame, scenario: Scenario) -> CapsCheck:
    """The scenario's caps against the total row of a :func:`summary_table`."""
    total = total_row(summary)
    labels = {key: (n, c) for key, n, c in summary_columns()}
    return CapsCheck(
        max_quarries=scenario.max_quarries,
        max_total_capacity=scenario.max_total_capacity,
        quarries_before=int(total[labels["before"][0]]),
        capacity_before=float(total[labels["before"][1]]),
        quarries_after=int(total[labels["after"][0]]),
        capacity_after=float(total[labels["after"][1]]),
    )


def decision_counts(quarries: pd.DataFrame) -> dict[str, int]:
    """Number of quarries per decision, in rule order (every decision listed, 0 when none)."""
    counts = quarries["decision"].value_counts() if "decision" in quarries.columns else pd.Series(dtype=int)
    return {d: int(counts.get(d, 0)) for d in DECISIONS}

