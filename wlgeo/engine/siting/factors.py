"""Suitability factors on the siting grid: slope (Horn), Euclidean distances, 0–1 normalisation.

All functions are vectorised numpy/scipy on whole arrays.

Distances are computed by burning the features into the grid with ``all_touched=True`` and
running :func:`scipy.ndimage.distance_transform_edt` with ``sampling`` = the cell size. The
result is the distance between cell *centres*; because every burnt cell holds a point of a
feature within half a cell diagonal of its centre, the raster distance differs from the true
distance from a cell centre to the nearest feature by at most half a cell diagonal
(≈ 0.71 × cell size). Features outside the grid are found too: the grid is padded on the sides
where features lie, up to ``max_distance``.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import shapely
from scipy import ndimage

from wlgeo.model.errors import LayerError
from wlgeo.model.resources import check_memory
from wlgeo.engine.siting.grid import Grid, check_on_grid, rasterize

__all__ = ["slope_degrees", "distance_to", "normalise", "weighted_sum"]


EDT_BYTES_PER_CELL = 36
"""Peak bytes per cell of :func:`distance_to` on its padded grid (burnt mask, SciPy's feature
indices and float64 distances, the float32 crop): 34.0 measured with tracemalloc."""


def slope_degrees(dem: np.ndarray, grid: Grid) -> np.ndarray:
    """Slope in degrees by Horn's (1981) 3×3 method, for the grid's cell size.

    ``dz/dx = ((c + 2f + i) − (a + 2d + g)) / (8·Δx)`` and ``dz/dy`` likewise over rows with
    ``Δy``; slope = ``atan(hypot(dz/dx, dz/dy))``. Edge cells use a linear extrapolation of the
    DEM (odd reflection), exact for a plane. A NaN (nodata) cell and its neighbours get NaN.

    Examples
    --------
    >>> from wlgeo.engine.siting.grid import grid_from_bounds
    >>> g = grid_from_bounds((0, 0, 50, 50), 10)
    >>> xs, ys = g.cell_centres()
    >>> z = 0.5 * xs[None, :] + 0 * ys[:, None]
    >>> round(float(slope_degrees(z, g)[2, 2]), 4)   # atan(0.5)
    26.5651
    """
    dem = check_on_grid(np.asarray(dem, dtype="float64"), grid, "dem")
    if min(dem.shape) < 2:
        return np.full(dem.shape, np.nan, dtype="float32")
    z = np.pad(dem, 1, mode="reflect", reflect_type="odd")
    a, b, c = z[:-2, :-2], z[:-2, 1:-1], z[:-2, 2:]
    d, f = z[1:-1, :-2], z[1:-1, 2:]
    g, h, i = z[2:, :-2], z[2:, 1:-1], z[2:, 2:]
    dzdx = ((c + 2 * f + i) - (a + 2 * d + g)) / (8.0 * grid.cell_x)
    dzdy = ((g + 2 * h + i) - (a + 2 * b + c)) / (8.0 * grid.cell_y)
    slope = np.degrees(np.arctan(np.hypot(dzdx, dzdy)))
    # Horn's kernel skips the centre: a nodata cell is itself unknown; its neighbours already are
    slope[np.isnan(dem)] = np.nan
    return slope.astype("float32")


def _pad_cells(grid: Grid, geoms: np.ndarray, max_distance: float | None) -> tuple[int, int, int, int]:
    """Cells to add (left, bottom, right, top) so features up to ``max_distance`` outside are seen."""
    gminx, gminy, gmaxx, gmaxy = shapely.total_bounds(geoms)
    minx, miny, maxx, maxy = grid.bounds
    reach = math.inf if max_distance is None else float(max_distance)

    def cells(beyond: float, size: float) -> int:
        beyond = min(max(beyond, 0.0), reach)
        return int(math.ceil(beyond / size)) if beyond > 0 else 0

    return (
        cells(minx - gminx, grid.cell_x),
        cells(miny - gminy, grid.cell_y),
        cells(gmaxx - maxx, grid.cell_x),
        cells(gmaxy - maxy, grid.cell_y),
    )


def distance_to(geoms, grid: Grid, *, max_distance: float | None = None) -> np.ndarray:
    """Euclidean distance, m, from each cell centre to the nearest of ``geoms``.

    Parameters
    ----------
    geoms : shapely geometries (points, lines or polygons; polygons count from their interior).
    grid : the siting grid.
    max_distance : features farther than this outside the grid are ignored (the padding of the
        grid is limited to it); distances beyond it are not needed when a factor saturates there.

    Returns
    -------
    float32 array on ``grid``; ``inf`` where no feature is reachable. Accurate to half a cell
    diagonal (see the module notes).
    """
    arr = np.asarray([g for g in np.asarray(geoms, dtype=object).ravel() if g is not None], dtype=object)
    if len(arr):
        arr = arr[~shapely.is_empty(arr)]
    if len(arr) == 0:
        return np.full(grid.shape, np.inf, dtype="float32")
    left, bottom, right, top = _pad_cells(grid, arr, max_distance)
    big = grid.padded(left, bottom, right, top)
    cells = float(big.shape[0]) * float(big.shape[1])
    check_memory(
        f"a distance transform over {big.shape[0]:,} × {big.shape[1]:,} cells (the grid padded by "
        f"{max(left, bottom, right, top):,} cells to reach features up to {max_distance or 0:g} m outside)",
        cells * EDT_BYTES_PER_CELL,
        "lower the [siting.saturation_m] distances, use a coarser grid, or raise --memory-limit",
    )
    burnt = rasterize(arr, big, all_touched=True)
    if not burnt.any():
        return np.full(grid.shape, np.inf, dtype="float32")
    dist = ndimage.distance_transform_edt(~burnt, sampling=(grid.cell_y, grid.cell_x))
    rows, cols = grid.shape
    return dist[top : top + rows, left : left + cols].astype("float32")


def normalise(
    values: np.ndarray,
    *,
    saturation: float,
    better: Literal["low", "high"] = "low",
) -> np.ndarray:
    """Map a distance (or slope) to a 0–1 score that saturates at ``saturation``.

    ``better="low"`` (nearer / flatter is better): ``1 − v/saturation``, clipped to [0, 1] (1 at
    0, 0 at and beyond ``saturation``). ``better="high"``: ``v/saturation`` clipped (0 at 0, 1 at
    and beyond). ``inf`` maps to the far end; NaN stays NaN.

    Examples
    --------
    >>> normalise(np.array([0.0, 2500.0, 5000.0, 9000.0]), saturation=5000).tolist()
    [1.0, 0.5, 0.0, 0.0]
    >>> normalise(np.array([0.0, 2500.0, np.inf]), saturation=5000, better="high").tolist()
    [0.0, 0.5, 1.0]
    """
    if not (saturation > 0) or not math.isfinite(saturation):
        raise ValueError(f"saturation must be a finite number > 0, got {saturation}")
    if better not in ("low", "high"):
        raise ValueError(f"better must be 'low' or 'high', got {better!r}")
    v = np.asarray(values, dtype="float64")
    with np.errstate(invalid="ignore"):
        frac = np.clip(v / saturation, 0.0, 1.0)
    score = 1.0 - frac if better == "low" else frac
    return score.astype("float32")


def weighted_sum(factors: dict[str, np.ndarray], weights: dict[str, float], grid: Grid) -> np.ndarray:
    """Σ weight × factor over the factors with a positive weight (every factor checked on ``grid``).

    Weights are expected to be normalised (the scenario does that, with a note); a factor named
    in ``weights`` with weight > 0 but missing from ``factors`` is an error.
    """
    out = np.zeros(grid.shape, dtype="float32")
    for name, weight in weights.items():
        if weight <= 0:
            continue
        if name not in factors:
            raise LayerError(f"factor {name!r} has weight {weight:g} but was not computed", layer=name)
        out += np.float32(weight) * check_on_grid(factors[name], grid, f"factor {name}")
    return out
