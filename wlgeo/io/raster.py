"""Writing rasters: a grid's array as a one-band GeoTIFF, atomically."""

from __future__ import annotations

from os import PathLike
from pathlib import Path

import numpy as np
import rasterio

from wlgeo.io.atomic import atomic_path

__all__ = ["write_raster"]


def write_raster(path: str | PathLike, array: np.ndarray, grid) -> Path:
    """Write ``array`` on ``grid`` as a one-band GeoTIFF, atomically (temp file + ``os.replace``).

    Float arrays are written as float32 with NaN as nodata; boolean arrays as uint8 (1 = true).

    Raises
    ------
    OutputError
        The directory does not exist or is not writable, or GDAL fails to write.
    LayerError
        ``array`` is not on ``grid`` (a :class:`wlgeo.engine.siting.Grid`).
    """
    path = Path(path)
    grid.check(array, path.name)
    if array.dtype == bool:
        data, dtype, nodata = array.astype("uint8"), "uint8", None
    else:
        data, dtype, nodata = np.asarray(array, dtype="float32"), "float32", float("nan")
    profile = dict(
        driver="GTiff", width=grid.shape[1], height=grid.shape[0], count=1, dtype=dtype, crs=grid.crs.to_wkt() if grid.crs.to_epsg() is None else f"EPSG:{grid.crs.to_epsg()}",
        transform=grid.transform, nodata=nodata, compress="deflate", tiled=grid.shape[1] >= 256 and grid.shape[0] >= 256,
    )
    if profile["tiled"]:
        profile.update(blockxsize=256, blockysize=256)
    with atomic_path(path, what="raster") as tmp, rasterio.open(tmp, "w", **profile) as dst:
        dst.write(data, 1)
    return path
