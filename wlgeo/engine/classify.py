"""Decisions per quarry (DESIGN §4): close / expire / retain / consolidate, with every reason.

:func:`classify` works from a metrics frame (overlap areas and distances, as
:func:`wlgeo.engine.overlay.constraint_metrics` returns them), so the rules can be tested and reviewed
without any constraint layer. The rules, in order; the first decisive rule sets the decision and
**every** rule that fires is recorded in ``reasons``:

1. **close** — overlap with the red line, permanent farmland or a closing protected area larger
   than ``min_overlap_m2``; or a settlement within ``blast_distance_m``.
2. **expire** — within ``trunk_line_m`` of a trunk line or ``main_river_m`` of a main river
   (``red_line_action = "expire"`` moves the red-line rule here). With ``[visibility] enabled``
   the corridors give way to line of sight (:mod:`wlgeo.engine.visibility`): a quarry expires when it
   can be seen from a trunk line or a main river within ``visibility.max_distance_m``.
3. **consolidate** — surviving quarries (not closed or expired by 1–2) within
   ``merge_distance_m`` of each other, at least one of the pair small (``capacity <
   min_capacity``), are linked; each connected set of two or more is a group.
4. **expire** — a small surviving quarry with no link.
5. **retain** — everything else.

Each rule that fires is a :class:`~wlgeo.model.reasons.Reason` record (:func:`classify_records`
returns them); the ``reasons`` column is their text, ``;``-joined in rule order::

    red_line:12450m2(23.1%)   farmland:300m2(1.2%)   protected:5000m2(world_heritage)
    settlement:180m(张家院子)  trunk_line:650m(G65)   main_river:420m(乌江)
    small:30<50               merge:G03              licence_end:2025-06-30

with visibility on, instead of ``trunk_line`` / ``main_river``::

    visible:1830m(G65 包茂高速)   seen from that line, the nearest observer that sees it 1830 m away
    hidden:420m(G65 包茂高速)     within range of that line (420 m) but no part of it can be seen
    sight:not_checked          the DEM could not settle it: the fixed corridor applies instead

``licence_end`` is recorded for every quarry that expires and for any quarry whose licence ends
before the scenario's ``horizon``. A rule whose metric column is entirely null (its layer is
absent) is not applied; it is listed in ``result.attrs["not_checked"]``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from wlgeo.model.errors import LayerError
from wlgeo.engine.overlay import METRIC_COLUMNS
from wlgeo.model.resources import check_memory
from wlgeo.model.scenario import Scenario
from wlgeo.model.decisions import DECISION_ZH, DECISIONS
from wlgeo.model.reasons import Reason, format_reasons
from wlgeo.model.values import id_text, parse_date_series, parse_number_series

__all__ = [
    "classify",
    "classify_records",
    "consolidation_groups",
    "consolidation_links",
    "canonical_group_ids",
    "surviving_mask",
    "DECISIONS",
    "DECISION_ZH",
    "OUTPUT_COLUMNS",
    "METRIC_FIELDS",
    "SIGHT_FIELDS",
    "RULES",
]

log = logging.getLogger(__name__)

#: Metric columns copied onto the classified quarries (DESIGN §4 plus the overlap shares).
METRIC_FIELDS = METRIC_COLUMNS
#: Columns :func:`classify` adds, in order.
OUTPUT_COLUMNS = ("decision", "decision_zh", "reasons", *METRIC_FIELDS, "group_id")
#: Line-of-sight columns copied onto the quarries when ``[visibility]`` is enabled.
SIGHT_FIELDS = ("trunk_line_sight", "trunk_line_seen_m", "main_river_sight", "main_river_seen_m")
#: Rule name → the metric column it reads (a rule is "not checked" when that column is all null).
RULES: dict[str, str] = {
    "red_line": "red_line_m2",
    "farmland": "farmland_m2",
    "protected": "protected_m2",
    "settlement": "settlement_m",
    "trunk_line": "trunk_line_m",
    "main_river": "main_river_m",
}
_ID = "quarry_id"


# ---------------------------------------------------------------------------- inputs
def _text_column(metrics: pd.DataFrame, column: str, n: int) -> np.ndarray:
    if column not in metrics.columns:
        return np.full(n, None, dtype=object)
    return metrics[column].astype(object).to_numpy()


def _ids(quarries: gpd.GeoDataFrame) -> np.ndarray:
    if _ID not in quarries.columns:
        raise LayerError("has no 'quarry_id' field (required)", layer="quarries", field=_ID)
    ids = np.array([id_text(v) for v in quarries[_ID].tolist()], dtype=object)
    for i, value in enumerate(ids):
        if not value:
            raise LayerError("quarry_id is empty", layer="quarries", feature=f"row {quarries.index[i]}", field=_ID)
    seen: set[str] = set()
    for value in ids:
        if value in seen:
            raise LayerError("quarry_id is not unique", layer="quarries", feature=value, field=_ID)
        seen.add(value)
    return ids


def _capacity(quarries: gpd.GeoDataFrame, ids: np.ndarray) -> np.ndarray:
    if "capacity" not in quarries.columns:
        raise LayerError("has no 'capacity' field (required, 万吨/年)", layer="quarries", field="capacity")
    values, _bad = parse_number_series(quarries["capacity"], units=True)
    values = values.to_numpy(dtype=float)
    bad = ~np.isfinite(values) | (values <= 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raw = quarries["capacity"].iloc[i]
        raise LayerError(
            f"capacity must be a positive number (万吨/年), got {raw!r}",
            layer="quarries",
            feature=ids[i],
            field="capacity",
        )
    return values


def _licence_end(quarries: gpd.GeoDataFrame) -> pd.Series:
    if "license_end" not in quarries.columns:
        return pd.Series(pd.NaT, index=quarries.index, dtype="datetime64[ns]")
    return parse_date_series(quarries["license_end"])[0]


def _metric(metrics: pd.DataFrame, column: str, n: int) -> np.ndarray:
    if column not in metrics.columns:
        return np.full(n, np.nan)
    return pd.to_numeric(metrics[column], errors="coerce").to_numpy(dtype=float)


# ---------------------------------------------------------------------------- consolidation
PAIR_BYTES = 32
"""Bytes per candidate pair of an STRtree ``dwithin`` query (two int64 indices, the envelope
candidates it filters, the masks that follow): 31 measured with tracemalloc
(``benchmarks/bench_memory_estimates.py``); :func:`estimate_pairs` over-counts about 2.7×."""


def estimate_pairs(geoms: np.ndarray, distance: float) -> float:
    """About how many ordered pairs of ``geoms`` lie within ``distance`` (envelope test), counted
    in O(n) by binning the envelopes' centres into cells of ``distance`` + a typical extent.

    Examples
    --------
    >>> import shapely
    >>> pts = shapely.points([(0, 0), (10, 0), (5000, 0)])
    >>> estimate_pairs(pts, 100.0) >= 5  # each point with itself, and the first two both ways
    True
    """
    bounds = shapely.bounds(np.asarray(geoms, dtype=object))
    ok = np.isfinite(bounds).all(axis=1)
    bounds = bounds[ok]
    if len(bounds) == 0:
        return 0.0
    extent = np.maximum(bounds[:, 2] - bounds[:, 0], bounds[:, 3] - bounds[:, 1])
    cell = float(distance) + float(np.percentile(extent, 95))
    if not cell > 0:
        cell = 1.0
    cx = np.floor((bounds[:, 0] + bounds[:, 2]) / 2 / cell)
    cy = np.floor((bounds[:, 1] + bounds[:, 3]) / 2 / cell)
    cx, cy = (cx - cx.min()).astype(np.int64), (cy - cy.min()).astype(np.int64)
    width = int(cy.max()) + 3
    keys, counts = np.unique(cx * width + cy, return_counts=True)
    total = 0.0
    for dx in (-1, 0, 1):
        for dy in (-1, 0, 1):
            where = np.searchsorted(keys, keys + dx * width + dy)
            where = np.minimum(where, len(keys) - 1)
            hit = keys[where] == keys + dx * width + dy
            total += float((counts * np.where(hit, counts[where], 0)).sum())
    return total


def consolidation_links(
    geoms, capacity: np.ndarray, surviving: np.ndarray, *, merge_distance_m: float, min_capacity: float
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs ``(i, j)``, ``i < j``, of surviving quarries linked for consolidation.

    Two surviving quarries are linked when their polygons lie within ``merge_distance_m`` of
    each other (distance ≤ the figure) and at least one is small (``capacity < min_capacity``).
    Uses an STRtree ``dwithin`` query, so only nearby pairs are measured.
    """
    geoms = np.asarray(geoms, dtype=object)
    candidates = np.flatnonzero(surviving & ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms))
    if len(candidates) < 2:
        return np.empty(0, dtype=int), np.empty(0, dtype=int)
    sub = geoms[candidates]
    pairs = estimate_pairs(sub, float(merge_distance_m))
    check_memory(
        f"consolidation: about {pairs:.3g} candidate pairs of {len(sub):,} quarries within merge_distance_m = "
        f"{merge_distance_m:g} m", pairs * PAIR_BYTES,
        "lower merge_distance_m, split the pack by district, or raise --memory-limit",
    )
    tree = shapely.STRtree(sub)
    left, right = tree.query(sub, predicate="dwithin", distance=float(merge_distance_m))
    keep = left < right
    a, b = candidates[left[keep]], candidates[right[keep]]
    small = capacity < min_capacity
    keep = small[a] | small[b]
    return a[keep], b[keep]


def canonical_group_ids(n: int, a: np.ndarray, b: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """``G01``… per connected component of ≥ 2 linked quarries, ordered by smallest member id.

    The numbering depends only on the links and the quarry ids, not on the order of the
    quarries or on how they were partitioned: groups are sorted by their smallest ``quarry_id``
    (as text) and numbered from ``G01`` (``G001`` from 100 groups on).

    Parameters
    ----------
    n : number of quarries.
    a, b : positions (0 … n−1) of the two ends of each link (any order, duplicates allowed).
    ids : ``quarry_id`` text of each quarry (length ``n``).

    Returns
    -------
    ndarray of object: the group id of each quarry, ``None`` for unlinked ones.

    Examples
    --------
    >>> canonical_group_ids(4, np.array([3]), np.array([1]), np.array(["d", "c", "b", "a"])).tolist()
    [None, 'G01', None, 'G01']
    """
    out = np.full(n, None, dtype=object)
    if len(a) == 0:
        return out
    graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    linked = np.zeros(n, dtype=bool)
    linked[a] = linked[b] = True
    components: dict[int, list[int]] = {}
    for i in np.flatnonzero(linked):
        components.setdefault(int(labels[i]), []).append(int(i))
    ordered = sorted(components.values(), key=lambda members: min(ids[m] for m in members))
    width = max(2, len(str(len(ordered))))
    for k, members in enumerate(ordered, start=1):
        out[members] = f"G{k:0{width}d}"
    return out


# ---------------------------------------------------------------------------- the rules
def classify(
    quarries: gpd.GeoDataFrame,
    metrics: pd.DataFrame,
    scenario: Scenario | None = None,
    *,
    group_ids: pd.Series | None = None,
) -> gpd.GeoDataFrame:
    """Apply the DESIGN §4 rules to every quarry.

    Parameters
    ----------
    quarries : the quarries layer (``quarry_id``, ``capacity`` in 万吨/年, ``license_end``),
        in EPSG:4545 (distances between quarries are measured in its units).
    metrics : frame aligned to ``quarries.index`` with the columns of
        :func:`wlgeo.engine.overlay.constraint_metrics` (``red_line_m2`` … ``main_river_m``; optional
        ``nearest_settlement``, ``nearest_trunk_line``, ``nearest_main_river`` and
        ``protected_kinds`` name the features in the reasons). A missing or all-null column means
        the rule was not checked.
    scenario : the rules' parameters; baseline defaults when ``None``.
    group_ids : consolidation group of each quarry (aligned to ``quarries.index``, ``None`` when
        in no group) formed elsewhere, e.g. from the links of every partition of a city
        (:func:`canonical_group_ids`); only surviving quarries may carry one. Default: the
        groups are formed here from the quarries given.

    Returns
    -------
    GeoDataFrame
        The quarries with geometry and attributes unchanged (same index and order) plus
        :data:`OUTPUT_COLUMNS`. ``attrs["not_checked"]`` maps each rule not applied to why;
        ``attrs["notes"]`` lists what was assumed.

    Raises
    ------
    LayerError
        Missing/duplicate ``quarry_id``, a capacity that is not a positive number, or a metrics
        frame not aligned to the quarries.

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd, shapely
    >>> q = gpd.GeoDataFrame({"quarry_id": ["Q1", "Q2"], "capacity": [80, 80]},
    ...                      geometry=[shapely.box(0, 0, 100, 100), shapely.box(5000, 0, 5100, 100)],
    ...                      crs="EPSG:4545")
    >>> m = pd.DataFrame({"red_line_m2": [2500.0, 0.0], "red_line_pct": [25.0, 0.0]})
    >>> out = classify(q, m)
    >>> list(out["decision"]), out.loc[0, "reasons"]
    (['close', 'retain'], 'red_line:2500m2(25%)')
    """
    return _classify(quarries, metrics, scenario, group_ids)[0]


def classify_records(
    quarries: gpd.GeoDataFrame,
    metrics: pd.DataFrame,
    scenario: Scenario | None = None,
    *,
    group_ids: pd.Series | None = None,
) -> tuple[gpd.GeoDataFrame, pd.Series]:
    """:func:`classify`, and every quarry's reasons as records.

    Returns
    -------
    (GeoDataFrame, Series)
        The frame :func:`classify` returns, and a Series aligned to ``quarries.index`` holding
        each quarry's :class:`~wlgeo.model.reasons.Reason` records (a tuple, in rule order); the
        frame's ``reasons`` column is their text (:func:`~wlgeo.model.reasons.format_reasons`).

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd, shapely
    >>> q = gpd.GeoDataFrame({"quarry_id": ["Q1"], "capacity": [30]}, geometry=[shapely.box(0, 0, 100, 100)],
    ...                      crs="EPSG:4545")
    >>> out, records = classify_records(q, pd.DataFrame({"settlement_m": [180.0]}, index=q.index))
    >>> records[0]
    (Reason(code='settlement', figure=180.0, unit='m'), Reason(code='small', figure=30.0, limit=50.0))
    >>> out.loc[0, "reasons"]
    'settlement:180m;small:30<50'
    """
    out, _surviving, records = _classify(quarries, metrics, scenario, group_ids)
    return out, records


def _classify(quarries, metrics, scenario, group_ids) -> tuple[gpd.GeoDataFrame, np.ndarray, pd.Series]:
    """:func:`classify`, the surviving mask (not closed or expired by rules 1–2), and the reason records."""
    scenario = scenario if scenario is not None else Scenario()
    if not isinstance(quarries, gpd.GeoDataFrame):
        raise LayerError("quarries must be a GeoDataFrame", layer="quarries")
    if not metrics.index.equals(quarries.index):
        if len(metrics) != len(quarries):
            raise LayerError(
                f"metrics has {len(metrics)} rows for {len(quarries)} quarries; give the frame of "
                "constraint_metrics(quarries, ...)",
                layer="quarries",
            )
        raise LayerError("metrics is not aligned to the quarries' index", layer="quarries")
    n = len(quarries)
    ids = _ids(quarries)
    capacity = _capacity(quarries, ids)
    licence_end = _licence_end(quarries)
    notes: list[str] = list(metrics.attrs.get("notes", []))
    not_checked: dict[str, str] = dict(metrics.attrs.get("not_checked", {}))
    values = {c: _metric(metrics, c, n) for c in METRIC_FIELDS}
    for rule, column in RULES.items():
        if n and np.isnan(values[column]).all() and rule not in not_checked:
            not_checked[rule] = f"no {column} figures (layer absent?)"
    checked = {rule: rule not in not_checked for rule in RULES}

    reasons: list[list[Reason]] = [[] for _ in range(n)]
    close = np.zeros(n, dtype=bool)
    corridor = np.zeros(n, dtype=bool)
    min_overlap = scenario.min_overlap_m2
    protected_kinds = _text_column(metrics, "protected_kinds", n)
    names = {
        "settlement": _text_column(metrics, "nearest_settlement", n),
        "trunk_line": _text_column(metrics, "nearest_trunk_line", n),
        "main_river": _text_column(metrics, "nearest_main_river", n),
    }

    def overlap_rule(rule: str, target: np.ndarray) -> None:
        m2, pct = values[f"{rule}_m2"], values[f"{rule}_pct"]
        fired = checked[rule] & (np.nan_to_num(m2, nan=-1.0) > min_overlap)
        for i in np.flatnonzero(fired):
            share = pct[i] if np.isfinite(pct[i]) else None
            if rule == "protected" and protected_kinds[i]:  # the kinds overlapped name it, else the share
                reasons[i].append(Reason.overlap(rule, m2[i], name=protected_kinds[i]))
            else:
                reasons[i].append(Reason.overlap(rule, m2[i], share=share))
        target |= fired

    def distance_rule(rule: str, limit: float, target: np.ndarray) -> None:
        dist = values[f"{rule}_m"]
        fired = checked[rule] & (np.nan_to_num(dist, nan=np.inf) <= limit)
        for i in np.flatnonzero(fired):
            reasons[i].append(Reason.distance(rule, dist[i], names[rule][i]))
        target |= fired

    # rule 1: close (the red line here unless it only expires)
    overlap_rule("red_line", close if scenario.red_line_action == "close" else corridor)
    overlap_rule("farmland", close)
    overlap_rule("protected", close)
    distance_rule("settlement", scenario.blast_distance_m, close)
    # rule 2: expire (soft corridors, or what can be seen from the lines)
    if scenario.visibility.enabled:
        fallback: list[str] = []

        def sight_rule(rule: str, limit: float, target: np.ndarray) -> None:
            column = f"{rule}_sight"
            if column not in metrics.columns:
                raise LayerError(
                    f"the scenario enables [visibility] but the metrics have no {column!r} column: compute it with "
                    "wlgeo.engine.visibility.quarry_visibility (wlgeo.plan does)", layer="quarries", field=column)
            if not checked[rule]:
                return
            sight = metrics[column].astype(object).to_numpy()
            seen_m, near_m = _metric(metrics, f"{rule}_seen_m", n), _metric(metrics, f"{rule}_near_m", n)
            seen_by, near_by = _text_column(metrics, f"{rule}_seen_by", n), _text_column(metrics, f"{rule}_near_by", n)
            dist = values[f"{rule}_m"]
            for i in range(n):
                if sight[i] == "visible":
                    reasons[i].append(Reason.distance("visible", seen_m[i], seen_by[i]))
                    target[i] = True
                elif sight[i] == "hidden" and np.isfinite(near_m[i]):
                    reasons[i].append(Reason.distance("hidden", near_m[i], near_by[i]))
                elif sight[i] == "not_checked":
                    reasons[i].append(Reason.sight_not_checked())
                    fallback.append(ids[i])
                    if np.isfinite(dist[i]) and dist[i] <= limit:
                        reasons[i].append(Reason.distance(rule, dist[i], names[rule][i]))
                        target[i] = True

        sight_rule("trunk_line", scenario.trunk_line_m, corridor)
        sight_rule("main_river", scenario.main_river_m, corridor)
        if fallback:
            shown = sorted(set(fallback))
            notes.append(f"visibility not checked for {len(shown)} quarr{'y' if len(shown) == 1 else 'ies'} (DEM nodata "
                         f"or not covering a line within {scenario.visibility.max_distance_m:g} m): the fixed corridors "
                         f"trunk_line_m / main_river_m applied to them: " + ", ".join(shown[:10])
                         + (", ..." if len(shown) > 10 else ""))
    else:
        distance_rule("trunk_line", scenario.trunk_line_m, corridor)
        distance_rule("main_river", scenario.main_river_m, corridor)

    decision = np.full(n, "retain", dtype=object)
    decision[corridor] = "expire"
    decision[close] = "close"
    surviving = ~close & ~corridor

    # rules 3–4: consolidation of surviving quarries; small ones with no link expire
    if group_ids is None:
        geoms = np.asarray(quarries.geometry.values, dtype=object)
        a, b = consolidation_links(
            geoms, capacity, surviving, merge_distance_m=scenario.merge_distance_m, min_capacity=scenario.min_capacity
        )
        group_id = canonical_group_ids(n, a, b, ids)
    else:
        group_id = _given_groups(group_ids, quarries.index, surviving)
    small = capacity < scenario.min_capacity
    for i in np.flatnonzero(small):
        reasons[i].append(Reason.small(capacity[i], scenario.min_capacity))
    in_group = np.array([g is not None for g in group_id], dtype=bool)
    decision[in_group] = "consolidate"
    for i in np.flatnonzero(in_group):
        reasons[i].append(Reason.merge(group_id[i]))
    decision[surviving & small & ~in_group] = "expire"

    # licence end: for every exit at licence end, and for licences ending within the plan period
    horizon = pd.Timestamp(scenario.horizon)
    ends = licence_end.to_numpy()
    for i in range(n):
        end = ends[i]
        if pd.isna(end):
            continue
        if decision[i] == "expire" or pd.Timestamp(end) <= horizon:
            reasons[i].append(Reason.licence_end(end))
    if decision.tolist().count("expire") and pd.isna(ends[decision == "expire"]).any():
        notes.append("some expiring quarries have no licence end date: their exit date is unknown")

    out = quarries.copy()
    clashes = [c for c in OUTPUT_COLUMNS if c in quarries.columns]
    if clashes:
        notes.append(f"quarries already had column(s) {', '.join(clashes)}: replaced by this plan's values")
        out = out.drop(columns=clashes)
    out["decision"] = pd.Series(decision, index=quarries.index, dtype=object)
    out["decision_zh"] = out["decision"].map(DECISION_ZH)
    out["reasons"] = pd.Series([format_reasons(r) for r in reasons], index=quarries.index, dtype=object)
    for column in METRIC_FIELDS:
        out[column] = values[column]
    out["group_id"] = pd.Series(group_id, index=quarries.index, dtype=object)
    if scenario.visibility.enabled:
        for column in SIGHT_FIELDS:
            if column in metrics.columns:
                out[column] = metrics[column].to_numpy()
    out = out[[c for c in out.columns if c != out.geometry.name] + [out.geometry.name]]
    out.attrs = {"not_checked": not_checked, "notes": notes}
    log.info("classified %d quarries: %s", n, pd.Series(decision).value_counts().to_dict())
    records = pd.Series([tuple(r) for r in reasons], index=quarries.index, dtype=object)
    return out, surviving, records


def _given_groups(group_ids: pd.Series, index: pd.Index, surviving: np.ndarray) -> np.ndarray:
    if not isinstance(group_ids, pd.Series) or not group_ids.index.equals(index):
        raise LayerError("group_ids must be a Series aligned to the quarries' index", layer="quarries", field="group_id")
    out = np.array([None if (g is None or (isinstance(g, float) and math.isnan(g))) else str(g)
                    for g in group_ids.tolist()], dtype=object)
    bad = np.flatnonzero((out != None) & ~surviving)  # noqa: E711 - elementwise
    if len(bad):
        raise LayerError("a quarry closed or expired by rules 1–2 cannot be in a consolidation group",
                         layer="quarries", feature=str(index[bad[0]]), field="group_id")
    return out


def surviving_mask(quarries: gpd.GeoDataFrame, metrics: pd.DataFrame, scenario: Scenario | None = None) -> np.ndarray:
    """Quarries not closed or expired by rules 1–2 (the candidates for consolidation).

    Same rules and figures as :func:`classify` (it is computed by it), without the groups.
    """
    return _classify(quarries, metrics, scenario, pd.Series(None, index=quarries.index, dtype=object))[1]


# ---------------------------------------------------------------------------- groups layer
def _polygonal(geom):
    """Keep a union polygonal: drop points/lines a GeometryCollection may carry."""
    if geom is None or geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else None


def consolidation_groups(
    quarries: gpd.GeoDataFrame, *, towns: Mapping | pd.Series | None = None
) -> gpd.GeoDataFrame:
    """One feature per consolidation group: merged footprint, members, combined capacity.

    Parameters
    ----------
    quarries : the output of :func:`classify`.
    towns : town of each quarry (Series aligned to ``quarries.index``), e.g. from
        :func:`wlgeo.engine.towns.assign_towns`; default the quarries' ``town`` field when present.

    Returns
    -------
    GeoDataFrame
        Columns ``group_id``, ``decision`` (consolidate), ``decision_zh``, ``members``
        (``;``-joined quarry ids, sorted), ``n_members``, ``capacity`` (sum, 万吨/年),
        ``area_m2`` (of the merged footprint), ``towns`` (``;``-joined), geometry = union of the
        members' polygons (Polygon or MultiPolygon); sorted by ``group_id``; CRS of the quarries.
    """
    columns = ["group_id", "decision", "decision_zh", "members", "n_members", "capacity", "area_m2", "towns"]
    if "group_id" not in quarries.columns:
        raise LayerError("has no 'group_id' column: classify the quarries first", layer="quarries", field="group_id")
    if towns is None:
        towns = quarries["town"] if "town" in quarries.columns else pd.Series(None, index=quarries.index, dtype=object)
    towns = pd.Series(towns, index=quarries.index) if not isinstance(towns, pd.Series) else towns
    capacity, _ = parse_number_series(quarries["capacity"], units=True)
    rows, geoms = [], []
    grouped = quarries[quarries["group_id"].notna()]
    for gid in sorted(grouped["group_id"].unique()):
        members = grouped[grouped["group_id"] == gid]
        member_ids = sorted(id_text(v) for v in members[_ID])
        town_names: list[str] = []
        for t in towns.loc[members.index]:
            if t is not None and not (isinstance(t, float) and math.isnan(t)) and str(t).strip():
                if str(t).strip() not in town_names:
                    town_names.append(str(t).strip())
        footprint = _polygonal(shapely.union_all(members.geometry.values))
        rows.append({
            "group_id": gid,
            "decision": "consolidate",
            "decision_zh": DECISION_ZH["consolidate"],
            "members": ";".join(member_ids),
            "n_members": len(members),
            "capacity": float(capacity.loc[members.index].sum()),
            "area_m2": float(footprint.area) if footprint is not None else float("nan"),
            "towns": ";".join(town_names) or None,
        })
        geoms.append(footprint)
    frame = pd.DataFrame(rows, columns=columns)
    if not rows:
        frame = frame.astype({"n_members": "int64", "capacity": "float64", "area_m2": "float64"})
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=quarries.crs), crs=quarries.crs)
