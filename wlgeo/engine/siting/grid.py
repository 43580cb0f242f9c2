"""The one raster grid of new-site work: from the DEM, or from the boundary at a chosen cell size.

Every factor and mask of :mod:`wlgeo.engine.siting` lives on one :class:`Grid`. Nothing is ever
resampled: an array whose shape differs from the grid's is an error (:func:`check_on_grid`).
The grid is north-up (no rotation), in the pack's working CRS, with square or rectangular cells in metres.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

import numpy as np
import rasterio
import rasterio.errors
import rasterio.features
import rasterio.windows
import shapely
from affine import Affine
from pyproj import CRS

from wlgeo.model.crs import WORKING_CRS
from wlgeo.model.errors import CRSError, LayerError, ReadError
from wlgeo.model.resources import check_memory

__all__ = ["Grid", "grid_from_bounds", "read_dem", "check_on_grid", "rasterize",
           "SITING_BYTES_PER_CELL", "check_grid_memory"]

SITING_BYTES_PER_CELL = 72
"""Bytes new-site work holds per cell of its grid at its peak (DEM, slope, factor and mask
rasters, suitability): 69.5 measured with tracemalloc on the Wulong demo (705 × 837 cells)."""


def check_grid_memory(rows: int, cols: int, cell_m: float, change: str) -> None:
    """Refuse a siting grid of ``rows × cols`` cells whose rasters would not fit the memory budget."""
    cells = float(rows) * float(cols)
    check_memory(
        f"the siting grid of {rows:,} × {cols:,} cells of {cell_m:g} m ({cells:.3g} cells × "
        f"{SITING_BYTES_PER_CELL} bytes)", cells * SITING_BYTES_PER_CELL, change,
    )


@dataclass(frozen=True)
class Grid:
    """A north-up raster grid in the working CRS.

    Attributes
    ----------
    crs : pyproj.CRS
        The pack's working CRS (EPSG:4545 for the demo).
    transform : affine.Affine
        Pixel → map transform (``a`` = cell width, ``e`` = −cell height, no rotation).
    shape : tuple of int
        ``(rows, cols)``.
    nodata : float or None
        The DEM's nodata value (``None`` for a grid made from the boundary).
    """

    crs: CRS
    transform: Affine
    shape: tuple[int, int]
    nodata: float | None = None

    def check(self, array: np.ndarray, name: str) -> np.ndarray:
        """``array`` if it lies on this grid, else :class:`~wlgeo.LayerError` (:func:`check_on_grid`)."""
        return check_on_grid(array, self, name)

    @property
    def cell_x(self) -> float:
        """Cell width, m."""
        return float(self.transform.a)

    @property
    def cell_y(self) -> float:
        """Cell height, m (positive)."""
        return float(-self.transform.e)

    @property
    def cell_area(self) -> float:
        """Cell area, m²."""
        return self.cell_x * self.cell_y

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(minx, miny, maxx, maxy)`` of the grid."""
        rows, cols = self.shape
        x0, y1 = self.transform.c, self.transform.f
        return (x0, y1 - rows * self.cell_y, x0 + cols * self.cell_x, y1)

    def cell_centres(self) -> tuple[np.ndarray, np.ndarray]:
        """x of each column's centre and y of each row's centre (1-D arrays)."""
        rows, cols = self.shape
        xs = self.transform.c + (np.arange(cols) + 0.5) * self.cell_x
        ys = self.transform.f - (np.arange(rows) + 0.5) * self.cell_y
        return xs, ys

    def padded(self, left: int, bottom: int, right: int, top: int) -> Grid:
        """The grid grown by whole cells on each side (same alignment)."""
        t = self.transform
        transform = Affine(t.a, 0.0, t.c - left * self.cell_x, 0.0, t.e, t.f + top * self.cell_y)
        return Grid(self.crs, transform, (self.shape[0] + top + bottom, self.shape[1] + left + right), self.nodata)


def _check_north_up(transform: Affine, *, path=None) -> None:
    if transform.b != 0 or transform.d != 0:
        raise LayerError("the DEM grid is rotated; give a north-up GeoTIFF (no rotation terms)", path=path)
    if transform.a <= 0 or transform.e >= 0:
        raise LayerError(
            f"the DEM grid must have positive cell width and negative cell height, got {transform.a}, {transform.e}",
            path=path,
        )


def grid_from_bounds(bounds: tuple[float, float, float, float], resolution: float, *, crs=None) -> Grid:
    """A grid of ``resolution`` m square cells covering ``bounds``, snapped outward to whole cells.

    Examples
    --------
    >>> g = grid_from_bounds((0, 0, 95, 40), 10)
    >>> g.shape, g.bounds
    ((4, 10), (0.0, 0.0, 100.0, 40.0))
    """
    minx, miny, maxx, maxy = (float(v) for v in bounds)
    if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)) or maxx <= minx or maxy <= miny:
        raise LayerError(f"cannot make a grid over empty or invalid bounds {bounds}")
    if not (resolution > 0):
        raise LayerError(f"grid resolution must be > 0 m, got {resolution}")
    x0 = math.floor(minx / resolution) * resolution
    y0 = math.floor(miny / resolution) * resolution
    x1 = math.ceil(maxx / resolution) * resolution
    y1 = math.ceil(maxy / resolution) * resolution
    cols = max(1, int(round((x1 - x0) / resolution)))
    rows = max(1, int(round((y1 - y0) / resolution)))
    crs = WORKING_CRS if crs is None else CRS.from_user_input(crs)
    return Grid(crs, Affine(resolution, 0.0, x0, 0.0, -resolution, y1), (rows, cols), None)


def read_dem(path: str | PathLike, *, clip_to=None, crs=None) -> tuple[Grid, np.ndarray, list[str]]:
    """Read a DEM GeoTIFF in the working CRS ``crs`` (default EPSG:4545) as float64 with NaN for nodata.

    Parameters
    ----------
    path : the GeoTIFF.
    clip_to : (minx, miny, maxx, maxy), optional
        Read only the window of DEM cells covering these bounds plus one cell (the DEM's own
        grid and alignment are kept; nothing is resampled).

    Returns
    -------
    grid, elevation (float64, NaN where nodata), notes

    Raises
    ------
    ReadError
        The file cannot be opened as a raster.
    CRSError
        The DEM has no CRS or is not in the working CRS.
    LayerError
        Rotated grid, or the DEM does not cover ``clip_to`` at all.
    """
    path = Path(path)
    working = WORKING_CRS if crs is None else CRS.from_user_input(crs)
    label = f"EPSG:{working.to_epsg()}" if working.to_epsg() else working.name
    notes: list[str] = []
    try:
        src = rasterio.open(path)
    except rasterio.errors.RasterioIOError as err:
        raise ReadError(f"cannot open the DEM: {err}", path=path) from err
    with src:
        if src.crs is None:
            raise CRSError(f"the DEM has no CRS; it must be in the working CRS {label} ({working.name})", path=path)
        dem_crs = CRS.from_user_input(src.crs.to_wkt())
        if not dem_crs.equals(working, ignore_axis_order=True):
            name = dem_crs.to_string()
            raise CRSError(
                f"the DEM is in {name}, not {label} (the working CRS); reproject it first "
                f"(e.g. gdalwarp -t_srs {label}), or make the DEM's CRS the pack's (catalog: working_crs = "
                f"\"{name}\") — wlgeo does not resample the DEM silently",
                path=path,
            )
        _check_north_up(src.transform, path=path)
        window = None
        if clip_to is not None:
            minx, miny, maxx, maxy = clip_to
            t = src.transform
            c0, r0 = (minx - t.c) / t.a, (maxy - t.f) / t.e
            c1, r1 = (maxx - t.c) / t.a, (miny - t.f) / t.e
            c0, r0 = max(0, math.floor(c0) - 1), max(0, math.floor(r0) - 1)
            c1, r1 = min(src.width, math.ceil(c1) + 1), min(src.height, math.ceil(r1) + 1)
            if c1 <= c0 or r1 <= r0:
                raise LayerError("the DEM does not cover the district boundary at all", path=path)
            if (c0, r0, c1, r1) != (0, 0, src.width, src.height):
                window = rasterio.windows.Window(c0, r0, c1 - c0, r1 - r0)
        rows, cols = (src.height, src.width) if window is None else (int(window.height), int(window.width))
        check_grid_memory(rows, cols, float(src.transform.a),
                          "resample the DEM to coarser cells (e.g. gdalwarp -tr 30 30) or clip it to the district, "
                          "or raise --memory-limit")
        data = src.read(1, window=window, masked=True)
        t = src.transform
        transform = t if window is None else Affine(t.a, 0.0, t.c + window.col_off * t.a, 0.0, t.e,
                                                      t.f + window.row_off * t.e)
        nodata = src.nodata
        scale, offset = src.scales[0], src.offsets[0]
    z = data.astype("float64").filled(np.nan)
    if (scale, offset) != (1.0, 0.0):
        z = z * scale + offset
        notes.append(f"DEM values scaled by {scale:g} and offset by {offset:g} (GeoTIFF scale/offset)")
    grid = Grid(working, transform, z.shape, None if nodata is None else float(nodata))
    return grid, z, notes


def check_on_grid(array: np.ndarray, grid: Grid, name: str) -> np.ndarray:
    """Return ``array`` if it has the grid's shape, else raise :class:`~wlgeo.LayerError`.

    wlgeo never resamples a factor or mask to fit: a raster on another grid is an error.
    """
    shape = tuple(np.shape(array))
    if shape != tuple(grid.shape):
        raise LayerError(
            f"raster is {shape[0] if shape else '?'}×{shape[1] if len(shape) > 1 else '?'} cells but the siting grid is "
            f"{grid.shape[0]}×{grid.shape[1]}; every factor and mask must be on the one grid (nothing is resampled)",
            layer=name,
        )
    return array


def rasterize(geoms, grid: Grid, *, all_touched: bool) -> np.ndarray:
    """Boolean raster: cells covered by (``all_touched=True``: touched by) any of ``geoms``."""
    arr = np.asarray([g for g in np.asarray(geoms, dtype=object).ravel() if g is not None], dtype=object)
    if len(arr):
        arr = arr[~shapely.is_empty(arr)]
    if len(arr) == 0:
        return np.zeros(grid.shape, dtype=bool)
    burnt = rasterio.features.rasterize(
        ((g, 1) for g in arr),
        out_shape=grid.shape,
        transform=grid.transform,
        fill=0,
        all_touched=all_touched,
        dtype="uint8",
    )
    return burnt.astype(bool)
