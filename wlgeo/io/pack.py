"""The layer pack: canonical layer name → GeoDataFrame in EPSG:4545, plus the DEM and provenance.

A pack is either a GeoPackage whose layers carry the canonical names, or a catalog TOML that
maps canonical names to files in any supported format (DESIGN §3)::

    [layers.quarries]
    path = "采矿权.shp"
    encoding = "gbk"
    crs = "EPSG:4545"
    [layers.red_line]
    path = "三线.gpkg"
    layer = "生态保护红线"
    [dem]
    path = "dem.tif"
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

import geopandas as gpd

from ..errors import ReadError
from ..schema import LAYER_NAMES
from .read import file_sha256, read_layer
from .vector import list_layers

__all__ = ["LayerPack", "read_pack", "CATALOG_KEYS"]

CATALOG_KEYS = {"path", "layer", "encoding", "crs", "gcj02"}


@dataclass
class LayerPack:
    """Canonical layers in the working CRS, the DEM path and where each layer came from.

    Attributes
    ----------
    layers : canonical name → GeoDataFrame (EPSG:4545). Absent layers are simply missing.
    dem : path of the DEM GeoTIFF, or ``None``.
    source : the GeoPackage or catalog the pack was read from.
    provenance : canonical name → ``{"path", "layer", "sha256", "notes", ...}``.
    """

    layers: dict[str, gpd.GeoDataFrame]
    dem: Path | None = None
    source: Path | None = None
    provenance: dict[str, dict] = field(default_factory=dict)

    def __contains__(self, name: str) -> bool:
        return name in self.layers

    def __getitem__(self, name: str) -> gpd.GeoDataFrame:
        return self.layers[name]

    def get(self, name: str) -> gpd.GeoDataFrame | None:
        return self.layers.get(name)

    def __repr__(self) -> str:
        counts = ", ".join(f"{k}={len(v)}" for k, v in self.layers.items())
        return f"LayerPack({self.source}: {counts}; dem={self.dem})"


def read_pack(path: str | PathLike) -> LayerPack:
    """Read a layer pack from a GeoPackage with canonical layer names or from a catalog TOML.

    Layers with non-canonical names in a GeoPackage are ignored (and listed in
    ``provenance["_ignored"]``). A DEM beside a GeoPackage is found as ``<pack>.dem.tif``.

    Examples
    --------
    >>> pack = read_pack("layers/wulong.gpkg")  # doctest: +SKIP
    >>> sorted(pack.layers)[:3]  # doctest: +SKIP
    ['bases', 'boundary', 'farmland']
    """
    path = Path(path)
    if not path.exists():
        raise ReadError("no such layer pack", path=path)
    if path.is_dir():
        raise ReadError("is a directory; give a pack GeoPackage or a catalog .toml", path=path)
    suffix = path.suffix.lower()
    if suffix == ".toml":
        return _read_catalog(path)
    if suffix == ".gpkg":
        return _read_geopackage(path)
    raise ReadError(
        f"a layer pack is a GeoPackage (.gpkg) or a catalog (.toml), not {suffix or 'a file without extension'!r}",
        path=path,
    )


def _read_geopackage(path: Path) -> LayerPack:
    if path.stat().st_size == 0:
        raise ReadError("file is empty (0 bytes)", path=path)
    names = list_layers(path)
    digest = file_sha256(path)
    layers, provenance = {}, {}
    for name in names:
        if name not in LAYER_NAMES:
            continue
        frame = read_layer(path, layer=name)
        layers[name] = frame
        provenance[name] = {"path": str(path), "layer": name, "sha256": digest, "notes": frame.attrs.get("wlgeo_notes", [])}
    ignored = [n for n in names if n not in LAYER_NAMES]
    if ignored:
        provenance["_ignored"] = {"layers": ignored}
    dem = path.with_name(path.stem + ".dem.tif")
    if dem.exists():
        provenance["dem"] = {"path": str(dem), "sha256": file_sha256(dem)}
    return LayerPack(layers, dem if dem.exists() else None, path, provenance)


def _load_toml(path: Path) -> dict:
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as err:
        raise ReadError(f"is not valid TOML: {err}", path=path) from err
    except UnicodeDecodeError as err:
        raise ReadError("catalog must be UTF-8 text", path=path) from err


def _catalog_entry(path: Path, name: str, entry) -> dict:
    if name not in LAYER_NAMES:
        raise ReadError(
            f"unknown layer [layers.{name}]; canonical layers are: {', '.join(LAYER_NAMES)}", path=path
        )
    if not isinstance(entry, dict) or "path" not in entry:
        raise ReadError(f"[layers.{name}] needs a path = \"...\" entry", path=path)
    unknown = set(entry) - CATALOG_KEYS
    if unknown:
        raise ReadError(
            f"[layers.{name}] has unknown keys {sorted(unknown)}; allowed: {sorted(CATALOG_KEYS)}",
            path=path,
        )
    return entry


def _canonical_names(frame: gpd.GeoDataFrame, name: str) -> gpd.GeoDataFrame:
    """Rename Chinese-alias or DBF-truncated columns (``license_en``) to canonical names, noted."""
    from .append import canonical_columns

    notes = frame.attrs.get("wlgeo_notes", [])
    renamed, mapping = canonical_columns(frame, name)
    if mapping:
        renamed.attrs = dict(frame.attrs)
        renamed.attrs["wlgeo_notes"] = notes + [
            "columns renamed to canonical names: " + ", ".join(f"{a} → {b}" for a, b in mapping.items())
        ]
    return renamed


def _read_catalog(path: Path) -> LayerPack:
    catalog = _load_toml(path)
    unknown = set(catalog) - {"layers", "dem", "name", "description"}
    if unknown:
        raise ReadError(f"unknown catalog sections {sorted(unknown)}; allowed: layers, dem, name, description", path=path)
    layers, provenance = {}, {}
    for name, raw_entry in (catalog.get("layers") or {}).items():
        entry = _catalog_entry(path, name, raw_entry)
        file = (path.parent / entry["path"]).resolve()
        frame = read_layer(
            file,
            layer=entry.get("layer"),
            encoding=entry.get("encoding"),
            crs=entry.get("crs"),
            gcj02=bool(entry.get("gcj02", False)),
        )
        frame = _canonical_names(frame, name)
        layers[name] = frame
        provenance[name] = {
            "path": str(file),
            "layer": entry.get("layer"),
            "sha256": file_sha256(file),
            "notes": frame.attrs.get("wlgeo_notes", []),
        }
    dem = None
    if "dem" in catalog:
        dem_entry = catalog["dem"]
        if not isinstance(dem_entry, dict) or "path" not in dem_entry:
            raise ReadError('[dem] needs a path = "..." entry', path=path)
        dem = (path.parent / dem_entry["path"]).resolve()
        if not dem.is_file():
            raise ReadError(f"[dem] file {dem} does not exist", path=path)
        provenance["dem"] = {"path": str(dem), "sha256": file_sha256(dem)}
    return LayerPack(layers, dem, path, provenance)
