"""Which town each feature lies in: its ``town`` field, or the town polygon holding most of it."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

__all__ = ["assign_towns", "largest_overlap", "clean_names"]


def largest_overlap(features: gpd.GeoDataFrame, towns: gpd.GeoDataFrame) -> pd.Series:
    """Town name of the town polygon holding most of each feature (by area, length or point)."""
    result = pd.Series(None, index=features.index, dtype=object)
    if features.empty or towns.empty:
        return result
    geoms = features.geometry.values
    tgeoms = towns.geometry.values
    tree = towns.sindex
    left, right = tree.query(geoms, predicate="intersects")
    if len(left) == 0:
        return result
    pieces = gpd.GeoSeries(geoms[left]).intersection(gpd.GeoSeries(tgeoms[right]))
    measure = np.where(pieces.area.to_numpy() > 0, pieces.area.to_numpy(), pieces.length.to_numpy())
    measure = np.where(measure > 0, measure, 1e-12)  # a point inside a town
    frame = pd.DataFrame({"f": left, "t": right, "m": measure})
    best = frame.loc[frame.groupby("f")["m"].idxmax()]
    names = towns["town"].to_numpy()
    result.iloc[best["f"].to_numpy()] = names[best["t"].to_numpy()]
    return result


def clean_names(values: pd.Series) -> pd.Series:
    """Town names as text: surrounding blanks removed; empty and missing values are ``None``."""
    out = values.astype(object).where(values.notna(), None)
    return out.map(lambda v: None if v is None or not str(v).strip() else str(v).strip())


def assign_towns(features: gpd.GeoDataFrame, towns: gpd.GeoDataFrame | None) -> tuple[pd.Series, int]:
    """Town of each feature: its ``town`` field, or the town polygon holding most of it.

    Returns
    -------
    (Series, int)
        Town name per feature (``None`` when neither the field nor a polygon gives one), aligned
        to ``features.index``; and how many features were placed by overlap.
    """
    if "town" in features.columns:
        given = clean_names(features["town"])
    else:
        given = pd.Series(None, index=features.index, dtype=object)
    missing = given.isna()
    if missing.any() and towns is not None and "town" in towns.columns:
        placed = largest_overlap(features[missing], towns)
        given.loc[missing] = placed
        return given, int(placed.notna().sum())
    return given, 0
