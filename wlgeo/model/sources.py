"""Layers that can be read whole or by window: the :class:`LayerSource` contract, and
:class:`FrameSource` for a GeoDataFrame already in memory.

The engine reads its constraints through sources, so the same partition code runs on frames
in this process and on GeoParquet / PostGIS / big GeoPackage layers read by window in a dask
worker (:mod:`wlgeo.io.sources` implements those).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS, Transformer

from wlgeo.model.errors import CRSError

__all__ = ["LayerSource", "FrameSource", "Bounds", "transform_bounds", "box_filter"]

#: A window (min x, min y, max x, max y).
Bounds = tuple[float, float, float, float]


def transform_bounds(bounds: Bounds, src: CRS, dst: CRS) -> Bounds:
    """``bounds`` (in ``src``) as a window in ``dst`` that holds them (edges densified)."""
    if src.equals(dst):
        return tuple(float(v) for v in bounds)  # type: ignore[return-value]
    transformer = Transformer.from_crs(src, dst, always_xy=True)
    return tuple(float(v) for v in transformer.transform_bounds(*bounds, densify_pts=21))  # type: ignore[return-value]


def box_filter(frame: gpd.GeoDataFrame, bounds: Bounds) -> gpd.GeoDataFrame:
    """Rows whose geometry's bounding box meets ``bounds`` (same CRS)."""
    if not len(frame):
        return frame
    b = frame.geometry.bounds.to_numpy()
    keep = (b[:, 0] <= bounds[2]) & (b[:, 2] >= bounds[0]) & (b[:, 1] <= bounds[3]) & (b[:, 3] >= bounds[1])
    return frame[keep]


class LayerSource:
    """A layer that can be read whole or by window. Subclasses set ``name`` and ``crs``."""

    name: str
    crs: CRS

    def read(self, bounds: Bounds | None = None, crs: CRS | None = None) -> gpd.GeoDataFrame:
        """The features whose bounding box meets ``bounds`` (given in ``crs``), in ``crs``.

        ``bounds=None`` reads the whole layer; ``crs=None`` means the source's own CRS.
        """
        target = CRS.from_user_input(crs) if crs is not None else self.crs
        window = None
        if bounds is not None:
            window = transform_bounds(bounds, target, self.crs)
            if not target.equals(self.crs):  # reprojected edges bulge: pad by 0.1 % of the window
                pad = 1e-3 * max(window[2] - window[0], window[3] - window[1])
                window = (window[0] - pad, window[1] - pad, window[2] + pad, window[3] + pad)
        frame = self._read(window)
        if window is not None:
            frame = box_filter(frame, window)
        if not target.equals(self.crs):
            frame = frame.to_crs(target)
        return frame

    def _read(self, window: Bounds | None) -> gpd.GeoDataFrame:  # pragma: no cover - abstract
        raise NotImplementedError

    def bounds(self, crs: CRS | None = None) -> Bounds | None:
        """Extent of the layer in ``crs`` (``None`` when unknown or empty)."""
        return None

    def is_empty(self) -> bool:
        """True when the layer holds no feature."""
        return False

    @property
    def files(self) -> list[Path]:
        """Files a worker must be able to open to read this source."""
        return []

    def describe(self) -> str:
        return self.name


class FrameSource(LayerSource):
    """A GeoDataFrame already in memory (a layer read through :func:`wlgeo.read_layer`)."""

    def __init__(self, frame: gpd.GeoDataFrame, name: str = "layer") -> None:
        if frame.crs is None:
            raise CRSError("has no CRS", layer=name)
        self.frame = frame
        self.name = name
        self.crs = CRS.from_user_input(frame.crs)
        self._tree: shapely.STRtree | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_tree"] = None  # rebuilt where it is used
        return state

    def _read(self, window: Bounds | None) -> gpd.GeoDataFrame:
        if window is None:
            return self.frame
        if self._tree is None:
            self._tree = shapely.STRtree(self.frame.geometry.values)
        hits = np.sort(self._tree.query(shapely.box(*window)))
        return self.frame.iloc[hits]

    def is_empty(self) -> bool:
        geoms = self.frame.geometry
        return bool(len(self.frame) == 0 or (geoms.isna() | geoms.is_empty).all())

    def bounds(self, crs: CRS | None = None) -> Bounds | None:
        geoms = self.frame.geometry
        geoms = geoms[~(geoms.isna() | geoms.is_empty)]
        if not len(geoms):
            return None
        b = tuple(float(v) for v in geoms.total_bounds)
        return transform_bounds(b, self.crs, CRS.from_user_input(crs)) if crs is not None else b  # type: ignore[arg-type]
