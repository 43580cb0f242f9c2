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

import os
import tomllib
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

import geopandas as gpd

from ..crs import WORKING_CRS
from ..errors import ReadError
from ..schema import LAYER_NAMES, PLAN_OUTPUT_LAYERS
from .read import file_sha256, read_layer
from .vector import list_layers

__all__ = ["LayerPack", "LayerSource", "PackSources", "read_pack", "pack_sources", "read_source", "lazy_source",
           "CATALOG_KEYS"]

CATALOG_KEYS = {"path", "layer", "encoding", "crs", "gcj02", "dsn", "table", "sql"}


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
    Columns named by a Chinese alias or cut to a shapefile's 10 characters are renamed to the
    canonical names, with a note.

    Examples
    --------
    >>> pack = read_pack("layers/wulong.gpkg")  # doctest: +SKIP
    >>> sorted(pack.layers)[:3]  # doctest: +SKIP
    ['bases', 'boundary', 'farmland']
    """
    sources = pack_sources(path)
    layers = {}
    for entry in sources.entries:
        layers[entry.name] = read_source(entry)
    return sources.to_pack(layers)


@dataclass(frozen=True)
class LayerSource:
    """Where one canonical layer of a pack is stored, and how to read it."""

    name: str
    path: Path
    options: dict


@dataclass
class PackSources:
    """What a pack file lists: one :class:`LayerSource` per canonical layer, the DEM, ignored layers."""

    source: Path
    entries: list[LayerSource]
    dem: Path | None = None
    ignored: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)

    def to_pack(self, layers: dict[str, gpd.GeoDataFrame]) -> LayerPack:
        """A :class:`LayerPack` of the layers read, with their provenance."""
        digests: dict[Path, str] = {}
        provenance: dict[str, dict] = {}
        for entry in self.entries:
            if entry.name not in layers:
                continue
            if "dsn" in entry.options:
                from .sources import redact_dsn

                provenance[entry.name] = {"dsn": redact_dsn(entry.options["dsn"]), "table": entry.options.get("table"),
                                          "sql": entry.options.get("sql"),
                                          "notes": layers[entry.name].attrs.get("wlgeo_notes", [])}
                continue
            digest = digests.setdefault(entry.path, file_sha256(entry.path))
            provenance[entry.name] = {
                "path": str(entry.path),
                "layer": entry.options.get("layer"),
                "sha256": digest,
                "notes": layers[entry.name].attrs.get("wlgeo_notes", []),
            }
        if self.ignored:
            provenance["_ignored"] = {"layers": list(self.ignored)}
        if self.dem is not None:
            provenance["dem"] = {"path": str(self.dem), "sha256": file_sha256(self.dem)}
        return LayerPack(layers, self.dem, self.source, provenance)


def read_source(entry: LayerSource) -> gpd.GeoDataFrame:
    """Read one pack layer through :func:`read_layer` (GeoParquet and PostGIS layers whole, then
    reprojected to the working CRS), with canonical column names."""
    lazy = lazy_source(entry)
    if lazy is None:
        return _canonical_names(read_layer(entry.path, **entry.options), entry.name)
    frame = lazy.read(crs=WORKING_CRS)
    frame.attrs["wlgeo_notes"] = [] if lazy.crs.equals(WORKING_CRS) else [
        f"{lazy.describe()} was in {lazy.crs.to_string()}: reprojected to EPSG:{WORKING_CRS.to_epsg()}"]
    return _canonical_names(frame, entry.name)


def pack_sources(path: str | PathLike) -> PackSources:
    """List the layers a pack GeoPackage or catalog TOML holds, without reading them.

    Raises
    ------
    ReadError
        The pack is missing, a directory, empty, of another type, not a GeoPackage, bad TOML,
        or a catalog naming an unknown layer or a missing file.
    """
    try:
        path = Path(path)
    except TypeError as err:
        raise ReadError(f"not a layer pack path: {path!r}") from err
    if not path.exists():
        raise ReadError("no such layer pack", path=path)
    if path.is_dir():
        raise ReadError("is a directory; give a pack GeoPackage or a catalog .toml", path=path)
    suffix = path.suffix.lower()
    if suffix == ".toml":
        return _catalog_sources(path)
    if suffix == ".gpkg":
        return _geopackage_sources(path)
    raise ReadError(
        f"a layer pack is a GeoPackage (.gpkg) or a catalog (.toml), not {suffix or 'a file without extension'!r}",
        path=path,
    )


def _geopackage_sources(path: Path) -> PackSources:
    if path.stat().st_size == 0:
        raise ReadError("file is empty (0 bytes)", path=path)
    names = list_layers(path)
    entries = [LayerSource(name, path, {"layer": name}) for name in names if name in LAYER_NAMES]
    ignored = [name for name in names if name not in LAYER_NAMES and name not in PLAN_OUTPUT_LAYERS]
    outputs = [name for name in names if name in PLAN_OUTPUT_LAYERS]
    dem = path.with_name(path.stem + ".dem.tif")
    return PackSources(path, entries, dem if dem.exists() else None, ignored, outputs)


def _load_toml(path: Path) -> dict:
    try:
        with open(path, "rb") as handle:
            return tomllib.loads(handle.read().decode("utf-8-sig"))  # Notepad writes a BOM
    except tomllib.TOMLDecodeError as err:
        raise ReadError(f"is not valid TOML: {err}", path=path) from err
    except UnicodeDecodeError as err:
        raise ReadError("catalog must be UTF-8 text", path=path) from err


def _catalog_entry(path: Path, name: str, entry) -> LayerSource:
    if name not in LAYER_NAMES:
        raise ReadError(
            f"unknown layer [layers.{name}]; canonical layers are: {', '.join(LAYER_NAMES)}", path=path
        )
    if isinstance(entry, dict) and "dsn" in entry and "path" not in entry:
        return _database_entry(path, name, entry)
    if not isinstance(entry, dict) or "path" not in entry:
        raise ReadError(f"[layers.{name}] needs a path = \"...\" entry (or dsn = \"postgresql://...\")", path=path)
    unknown = set(entry) - CATALOG_KEYS
    if unknown or {"dsn", "table", "sql"} & set(entry):
        raise ReadError(
            f"[layers.{name}] has unknown keys {sorted(unknown or {'dsn', 'table', 'sql'} & set(entry))}; "
            f"allowed: {sorted(CATALOG_KEYS - {'dsn', 'table', 'sql'})} (dsn with table or sql for PostGIS)",
            path=path,
        )
    file = _catalog_file(path, entry["path"], f"[layers.{name}] path")
    if not file.exists():
        raise ReadError(f"[layers.{name}] path {entry['path']!r}: no such file {file}", path=path)
    for key in ("layer", "encoding", "crs"):
        if key in entry and not isinstance(entry[key], str):
            raise ReadError(f"[layers.{name}] {key} must be text in quotes, got {entry[key]!r}", path=path)
    options = {k: entry[k] for k in ("layer", "encoding", "crs") if k in entry}
    gcj02 = entry.get("gcj02", False)
    if not isinstance(gcj02, bool):  # bool("false") would be True
        raise ReadError(f"[layers.{name}] gcj02 must be true or false (no quotes), got {gcj02!r}", path=path)
    options["gcj02"] = gcj02
    return LayerSource(name, file, options)


def _database_entry(path: Path, name: str, entry: dict) -> LayerSource:
    """``dsn`` + ``table`` or ``sql``: a PostGIS layer (its LayerSource path is the catalog)."""
    allowed = {"dsn", "table", "sql"}
    unknown = set(entry) - allowed
    if unknown:
        raise ReadError(f"[layers.{name}] has unknown keys {sorted(unknown)} for a PostGIS layer; allowed: "
                        f"{sorted(allowed)}", path=path)
    for key in allowed & set(entry):
        if not isinstance(entry[key], str) or not entry[key].strip():
            raise ReadError(f"[layers.{name}] {key} must be text in quotes, got {entry[key]!r}", path=path)
    if not entry["dsn"].startswith(("postgresql://", "postgres://")):
        raise ReadError(f"[layers.{name}] dsn must start with postgresql://", path=path)
    if ("table" in entry) == ("sql" in entry):
        raise ReadError(f"[layers.{name}] needs exactly one of table = \"schema.table\" or sql = \"SELECT ...\"",
                        path=path)
    return LayerSource(name, path, {k: entry[k] for k in ("dsn", "table", "sql") if k in entry})


def lazy_source(entry: LayerSource):
    """A windowed reader (:mod:`wlgeo.io.sources`) for a GeoParquet or PostGIS entry, else ``None``."""
    from .sources import ParquetSource, PostGISSource, is_parquet_path

    if "dsn" in entry.options:
        return PostGISSource(entry.options["dsn"], table=entry.options.get("table"), sql=entry.options.get("sql"),
                             name=entry.name)
    if is_parquet_path(entry.path):
        return ParquetSource(entry.path, name=entry.name, crs=entry.options.get("crs"))
    return None


def _catalog_file(catalog: Path, raw, what: str) -> Path:
    """A catalog ``path``, relative to the catalog's folder; Windows separators (``子\\q.shp``) accepted."""
    if not isinstance(raw, str) or not raw.strip():
        raise ReadError(f"{what} must be a file name in quotes, got {raw!r}", path=catalog)
    text = raw.strip()
    if os.sep == "/" and "\\" in text:
        text = text.replace("\\", "/")
    return (catalog.parent / text).resolve()


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


def _catalog_sources(path: Path) -> PackSources:
    catalog = _load_toml(path)
    unknown = set(catalog) - {"layers", "dem", "name", "description"}
    if unknown:
        raise ReadError(f"unknown catalog sections {sorted(unknown)}; allowed: layers, dem, name, description", path=path)
    tables = catalog.get("layers") or {}
    if not isinstance(tables, dict):
        raise ReadError('layers must be tables such as [layers.quarries] with path = "..."', path=path)
    entries = [_catalog_entry(path, name, raw) for name, raw in tables.items()]
    dem = None
    if "dem" in catalog:
        dem_entry = catalog["dem"]
        if not isinstance(dem_entry, dict) or "path" not in dem_entry:
            raise ReadError('[dem] needs a path = "..." entry', path=path)
        dem = _catalog_file(path, dem_entry["path"], "[dem] path")
        if not dem.is_file():
            raise ReadError(f"[dem] file {dem} does not exist", path=path)
    return PackSources(path, entries, dem)
