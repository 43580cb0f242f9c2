"""The districts of a pack: one polygon per district in the ``boundary`` layer (DESIGN §2).

A city pack's ``boundary`` holds one polygon per district, named by its ``district`` field
(else its ``name`` field); a boundary with one polygon (or none) is a one-district pack. Each
district is measured in the CGCS2000 3-degree Gauss-Kruger zone holding its centre
(:func:`wlgeo.model.crs.working_crs_for`). Every quarry belongs to one district: the one holding
its larger part; a quarry outside every district is refused by id.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from wlgeo.model.crs import working_crs_for
from wlgeo.model.errors import LayerError
from wlgeo.model.values import id_text

__all__ = ["District", "DISTRICT_FIELD", "DEFAULT_DISTRICT", "read_districts", "assign_districts"]

log = logging.getLogger(__name__)

DISTRICT_FIELD = "district"
DEFAULT_DISTRICT = "district"
"""Name of the one district of a pack whose boundary names none."""


@dataclass(frozen=True)
class District:
    """One district: its name, its polygon (in the pack's CRS) and its working CRS (EPSG code)."""

    name: str
    geometry: shapely.Geometry
    epsg: int

    @property
    def crs(self) -> CRS:
        return CRS.from_epsg(self.epsg)


def _name_column(boundary: gpd.GeoDataFrame) -> str | None:
    for column in (DISTRICT_FIELD, "name"):
        if column in boundary.columns and boundary[column].notna().any():
            return column
    return None


def read_districts(boundary: gpd.GeoDataFrame | None, *, default_name: str = DEFAULT_DISTRICT) -> list[District]:
    """The districts of a ``boundary`` layer, sorted by name (polygons of one name merged).

    Returns an empty list when there is no boundary (or it has no geometry).

    Raises
    ------
    LayerError
        A boundary polygon has no district name while others have one.
    """
    if boundary is None or not len(boundary):
        return []
    frame = boundary[~(boundary.geometry.isna() | boundary.geometry.is_empty)]
    if not len(frame):
        return []
    if frame.crs is None:
        raise LayerError("has no CRS", layer="boundary")
    column = _name_column(frame)
    if column is None or frame[column].nunique(dropna=True) <= 1:
        name = default_name if column is None else str(frame[column].dropna().iloc[0]).strip() or default_name
        names = pd.Series(name, index=frame.index)
    else:
        raw = frame[column]
        missing = raw.isna() | (raw.astype(str).str.strip() == "")
        if missing.any():
            raise LayerError(
                f"a boundary polygon has no {column} name while others have one; name every district",
                layer="boundary", feature=f"row {frame.index[np.flatnonzero(missing.to_numpy())[0]]}", field=column,
            )
        names = raw.astype(str).str.strip()
    out = []
    lonlat = frame.geometry.to_crs(4490)
    for name in sorted(set(names)):
        mask = (names == name).to_numpy()
        geometry = shapely.union_all(frame.geometry.values[mask])
        epsg = int(working_crs_for(gpd.GeoSeries(lonlat.values[mask], crs=4490)).to_epsg())
        out.append(District(name, geometry, epsg))
    return out


def assign_districts(quarries: gpd.GeoDataFrame, districts: list[District], *,
                     crs=None) -> tuple[np.ndarray, list[str]]:
    """The district of each quarry (by its larger part) and notes on quarries spanning two.

    ``quarries`` and the districts' polygons are in the same CRS (``crs``: the pack's CRS,
    a metric one; overlaps are compared there).

    Raises
    ------
    LayerError
        A quarry lies outside every district (names its ``quarry_id``).
    """
    ids = [id_text(v) for v in quarries["quarry_id"]]
    n = len(quarries)
    if len(districts) == 1:
        return np.full(n, districts[0].name, dtype=object), []
    geoms = np.asarray(quarries.geometry.values, dtype=object)
    shapes = np.asarray([d.geometry for d in districts], dtype=object)
    tree = shapely.STRtree(shapes)
    qi, di = tree.query(geoms, predicate="intersects")
    area = shapely.area(shapely.intersection(geoms[qi], shapes[di])) if len(qi) else np.empty(0)
    best = np.full(n, -1)
    best_area = np.zeros(n)
    count = np.zeros(n, dtype=int)
    for q, d, a in zip(qi, di, area):
        if a <= 0:
            continue
        count[q] += 1
        if a > best_area[q] or (a == best_area[q] and districts[d].name < districts[best[q]].name):
            best[q], best_area[q] = d, a
    outside = np.flatnonzero(best < 0)
    if len(outside):
        shown = ", ".join(ids[i] for i in outside[:5]) + (", ..." if len(outside) > 5 else "")
        raise LayerError(
            f"{len(outside)} quarry(ies) lie outside every district of the boundary layer: {shown}; "
            "fix their geometry or add the district",
            layer="quarries", feature=ids[outside[0]], field="geometry",
        )
    names = np.array([districts[b].name for b in best], dtype=object)
    notes = []
    spanning = np.flatnonzero(count > 1)
    if len(spanning):
        shown = ", ".join(f"{ids[i]}→{names[i]}" for i in spanning[:10]) + (", ..." if len(spanning) > 10 else "")
        notes.append(f"{len(spanning)} quarry(ies) span two districts: each belongs to the district holding its "
                     f"larger part ({shown})")
    return names, notes
