"""DESIGN §4 baseline decisions recomputed by brute force with plain shapely — the independent
check the demo-run and notebook tests compare wlgeo's plan against (no wlgeo code is used)."""

from __future__ import annotations

import numpy as np
import shapely
from scipy.sparse.csgraph import connected_components


def brute_decisions(pack, *, blast: float = 300.0, corridor_m: float = 1000.0, small_below: float = 50.0,
                    merge_m: float = 1000.0, min_overlap_m2: float = 1.0) -> dict[str, str]:
    """quarry_id → decision, from unions and pairwise distances over every quarry."""
    q = pack["quarries"].reset_index(drop=True)
    geoms = np.asarray(q.geometry.values)
    overlap = np.zeros(len(q))
    for name in ("red_line", "farmland", "protected_areas"):
        union = shapely.union_all(pack[name].geometry.values)
        overlap = np.maximum(overlap, shapely.area(shapely.intersection(geoms, union)))
    settlement = shapely.distance(geoms, shapely.union_all(pack["settlements"].geometry.values))
    roads, rivers = pack["roads"], pack["rivers"]
    trunk = shapely.union_all(roads[roads["kind"].isin(["expressway", "railway", "national"])].geometry.values)
    main = shapely.union_all(rivers[rivers["main"].astype(bool)].geometry.values)
    close = (overlap > min_overlap_m2) | (settlement <= blast)
    corridor = (shapely.distance(geoms, trunk) <= corridor_m) | (shapely.distance(geoms, main) <= corridor_m)
    surviving = ~close & ~corridor
    small = q["capacity"].to_numpy(float) < small_below
    linked = (shapely.distance(geoms[:, None], geoms[None, :]) <= merge_m) & surviving[:, None] & surviving[None, :]
    linked &= small[:, None] | small[None, :]
    np.fill_diagonal(linked, False)
    _, label = connected_components(linked, directed=False)
    grouped = np.bincount(label)[label] >= 2
    decision = np.where(close, "close", np.where(corridor, "expire", np.where(
        grouped, "consolidate", np.where(small, "expire", "retain"))))
    return dict(zip(q["quarry_id"], decision))
