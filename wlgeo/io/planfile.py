"""Reading a plan GeoPackage back (``plan.gpkg`` of a run, or an exported one): its layers in
the CRS of its quarries."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pyogrio

from wlgeo.io.paths import gdal_path
from wlgeo.io.read import read_layer
from wlgeo.model.errors import ReadError

__all__ = ["read_plan_layers"]


def read_plan_layers(plan_gpkg: Path) -> dict[str, gpd.GeoDataFrame]:
    """Every vector layer of a plan GeoPackage (empty layers too), in the CRS of its quarries (the run's working CRS).

    Raises
    ------
    ReadError
        The file is missing, is not a GeoPackage, or has no ``quarries`` layer.
    """
    if not plan_gpkg.is_file():
        raise ReadError("no such plan GeoPackage", path=plan_gpkg)
    with gdal_path(plan_gpkg) as opened:  # a folder with '!' is not an archive
        try:
            listed = pyogrio.list_layers(opened)
        except Exception as err:  # noqa: BLE001 - GDAL raises several types for a bad file
            raise ReadError(f"cannot be opened as a GeoPackage: {err}", path=plan_gpkg) from err
        empty = {str(name) for name, gtype in listed
                 if gtype is not None and pyogrio.read_info(opened, layer=str(name))["features"] == 0}
        frames = {name: pyogrio.read_dataframe(opened, layer=name) for name in empty}
        has_quarries = any(str(name) == "quarries" for name, _ in listed)
        working = (pyogrio.read_info(opened, layer="quarries")["crs"] if has_quarries else None) or "EPSG:4545"
    names = [str(name) for name, gtype in listed if gtype is not None and name != "layer_styles"]
    if "quarries" not in names:
        raise ReadError(f"has no 'quarries' layer; its layers: {', '.join(names) or '(none)'}", path=plan_gpkg)
    layers = {}
    for name in names:
        if name in frames:
            frame = frames[name]
            layers[name] = frame.set_crs(working, allow_override=True) if frame.crs is None else frame
        else:
            layers[name] = read_layer(plan_gpkg, layer=name, working_crs=working)
    return layers
