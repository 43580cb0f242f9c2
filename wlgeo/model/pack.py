"""The layer pack: canonical layer name → GeoDataFrame in the pack's working CRS, the DEM path,
where each layer came from, the working CRS and the district's name.

Reading one is :func:`wlgeo.io.pack.read_pack`'s job; this module only holds the type, so the
engine can take a pack without knowing how it was read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
from pyproj import CRS

from wlgeo.model.crs import WORKING_CRS, crs_label, working_crs_for

__all__ = ["LayerPack", "district_name", "ANCHOR_LAYERS"]

#: The layers whose CRS or position choose a pack's working CRS, in order of preference.
ANCHOR_LAYERS = ("boundary", "quarries")


def district_name(layers: dict[str, gpd.GeoDataFrame], fallback: str | None = None) -> str | None:
    """The district's name: the boundary's ``district`` field, else its ``name`` field, else ``fallback``."""
    boundary = layers.get("boundary")
    if boundary is not None:
        for column in ("district", "name"):
            if column in boundary.columns:
                values = [str(v).strip() for v in boundary[column].dropna() if str(v).strip()]
                if values:
                    return values[0] if len(set(values)) == 1 else "、".join(dict.fromkeys(values))
    return fallback


def _metric_crs_of(layers: dict[str, gpd.GeoDataFrame]) -> tuple[CRS, str]:
    """The working CRS of hand-made layers: the anchor layer's projected CRS, else its zone, else EPSG:4545."""
    for name in ANCHOR_LAYERS:
        frame = layers.get(name)
        if frame is None or frame.crs is None:
            continue
        crs = CRS.from_user_input(frame.crs)
        if crs.is_projected:
            return crs, f"the CRS of the '{name}' layer"
        try:
            return working_crs_for(frame), f"the CGCS2000 3-degree zone holding the centre of '{name}'"
        except ValueError:
            continue
    return WORKING_CRS, "no boundary or quarries in a known CRS: the default EPSG:4545"


@dataclass
class LayerPack:
    """Canonical layers in the working CRS, the DEM path and where each layer came from.

    Attributes
    ----------
    layers : canonical name → GeoDataFrame (in ``working_crs``). Absent layers are simply missing.
    dem : path of the DEM GeoTIFF, or ``None``.
    source : the GeoPackage or catalog the pack was read from.
    provenance : canonical name → ``{"path", "layer", "sha256", "notes", ...}``; ``"_working_crs"``
        → ``{"crs", "why"}``.
    working_crs : the CRS of every area and distance (projected, metres). ``None`` when built
        by hand: then the boundary's (or quarries') projected CRS, else the zone holding its centre.
    district : the district's name (boundary ``district`` field, else ``name``, else the catalog's
        ``district``); ``None`` when nothing names it.
    """

    layers: dict[str, gpd.GeoDataFrame]
    dem: Path | None = None
    source: Path | None = None
    provenance: dict[str, dict] = field(default_factory=dict)
    working_crs: CRS | None = None
    district: str | None = None

    def __post_init__(self) -> None:
        if self.working_crs is None:
            self.working_crs, why = _metric_crs_of(self.layers)
            self.provenance.setdefault("_working_crs", {"crs": crs_label(self.working_crs), "why": why})
        else:
            self.working_crs = CRS.from_user_input(self.working_crs)
        self.district = district_name(self.layers, self.district)

    def __contains__(self, name: str) -> bool:
        return name in self.layers

    def __getitem__(self, name: str) -> gpd.GeoDataFrame:
        return self.layers[name]

    def get(self, name: str) -> gpd.GeoDataFrame | None:
        return self.layers.get(name)

    def __repr__(self) -> str:
        counts = ", ".join(f"{k}={len(v)}" for k, v in self.layers.items())
        return f"LayerPack({self.source}: {counts}; dem={self.dem})"
