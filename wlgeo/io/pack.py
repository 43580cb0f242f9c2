"""The layer pack: canonical layer name → GeoDataFrame in the pack's working CRS, plus the DEM and provenance.

A pack is either a GeoPackage whose layers carry the canonical names, or a catalog TOML that
maps canonical names to files in any supported format (DESIGN §3)::

    working_crs = "EPSG:4546"   # optional; default: the zone holding the boundary's centre
    district = "巫山县"          # optional; default: the boundary's district or name field
    [layers.quarries]
    path = "采矿权.shp"
    encoding = "gbk"
    crs = "EPSG:4545"
    [layers.red_line]
    path = "三线.gpkg"
    layer = "生态保护红线"
    [dem]
    path = "dem.tif"

A layer's ``path`` may be a list of files (read and concatenated, e.g. this year's rights and
the new ones), and the entry may carry ``[layers.X.fields]``, ``[layers.X.values.FIELD]`` and
``[layers.X.units]`` tables (:mod:`wlgeo.io.mapping`) that rename, recode and convert the source
fields; an explicit mapping wins over the automatic renaming of Chinese alias columns.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

import geopandas as gpd

from pyproj import CRS

from wlgeo.model.crs import check_working_crs, crs_label, data_centre, gk_grid, working_crs_for
from wlgeo.model.pack import ANCHOR_LAYERS, LayerPack, district_name
from wlgeo.model.errors import CRSError, ReadError
from wlgeo.model.schema import LAYER_NAMES, PLAN_OUTPUT_LAYERS
from wlgeo.io.mapping import MAPPING_KEYS, FieldMapping, apply_mapping, parse_mapping
from wlgeo.io.paths import checked_path
from wlgeo.io.read import file_sha256, read_layer
from wlgeo.io.vector import list_layers
from wlgeo.io.append import canonical_columns
from wlgeo.model.crs import LONLAT_CRS

__all__ = ["LayerPack", "LayerSource", "PackSources", "ReadContext", "read_pack", "pack_sources", "read_source",
           "district_name", "lazy_source", "CATALOG_KEYS", "CATALOG_TOP_KEYS"]

CATALOG_KEYS = {"path", "layer", "encoding", "crs", "gcj02", "dsn", "table", "sql", *MAPPING_KEYS}
CATALOG_TOP_KEYS = {"layers", "dem", "name", "description", "district", "synthetic", "working_crs"}
"""Top-level catalog keys: the tables, a name and description, and (before any table) the pack's
working CRS, its district's name and whether its data are synthetic."""

REGION_MARGIN_DEG = 1.5
"""How far (degrees, ~150 km) around the district's boundary a pack layer may lie."""
"""The layers whose centre chooses the working CRS, in order of preference; they are read first."""


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
    context = sources.context()
    layers = {}
    for entry in sources.read_order():
        layers[entry.name] = read_source(entry, context)
        context.learn(entry.name, layers[entry.name])
    return sources.to_pack(layers, context)


@dataclass
class ReadContext:
    """What the layers read so far tell the next ones: the working CRS, why, and the region.

    The catalog's ``working_crs`` wins; else the first anchor layer read (``boundary``, else
    ``quarries``) is read into the zone holding its centre, and that zone becomes the pack's.
    The region is the boundary's lon/lat box widened by :data:`REGION_MARGIN_DEG`.
    """

    working_crs: CRS | None = None
    why: str | None = None
    region: tuple[float, float, float, float] | None = None

    def options(self) -> dict:
        out: dict = {}
        if self.working_crs is not None:
            out["working_crs"] = self.working_crs
        if self.region is not None:
            out["region"] = self.region
        return out

    def learn(self, name: str, frame: gpd.GeoDataFrame) -> None:
        if name not in ANCHOR_LAYERS or frame.crs is None or not len(frame):
            return
        try:
            lon, lat = data_centre(frame)
        except ValueError:
            return
        if self.working_crs is None:
            self.working_crs = CRS.from_user_input(frame.crs)
            grid = gk_grid(self.working_crs)
            zone = f"zone {grid.zone}, CM {grid.central_meridian}°E" if grid else "its zone"
            self.why = (f"the CGCS2000 3-degree Gauss-Kruger zone holding the centre of the '{name}' layer "
                        f"({lon:.3f}°E, {lat:.3f}°N → {zone})")
        if name == "boundary" and self.region is None:
            w, s, e, n = frame.to_crs(LONLAT_CRS).total_bounds
            m = REGION_MARGIN_DEG
            self.region = (float(w - m), float(s - m), float(e + m), float(n + m))


@dataclass(frozen=True)
class LayerSource:
    """Where one canonical layer of a pack is stored, and how to read it.

    ``path`` is the (first) file; ``paths`` every file when the catalog lists several (they are
    concatenated); ``options`` go to :func:`read_layer`; ``mapping`` renames, recodes and
    converts fields as the catalog says.
    """

    name: str
    path: Path
    options: dict
    paths: tuple[Path, ...] = ()
    mapping: FieldMapping | None = None

    @property
    def files(self) -> tuple[Path, ...]:
        """Every file of the layer, in catalog order."""
        return self.paths or (self.path,)


@dataclass
class PackSources:
    """What a pack file lists: one :class:`LayerSource` per canonical layer, the DEM, ignored layers."""

    source: Path
    entries: list[LayerSource]
    dem: Path | None = None
    ignored: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    working_crs: CRS | None = None
    district: str | None = None

    def context(self) -> ReadContext:
        """A fresh :class:`ReadContext` (holding the catalog's ``working_crs``, if any)."""
        if self.working_crs is None:
            return ReadContext()
        return ReadContext(self.working_crs, f"set by the catalog (working_crs = \"{crs_label(self.working_crs)}\")")

    def read_order(self) -> list[LayerSource]:
        """The entries, boundary first, then quarries (they choose the working CRS), then the rest."""
        rank = {name: i for i, name in enumerate(ANCHOR_LAYERS)}
        return sorted(self.entries, key=lambda e: rank.get(e.name, len(rank)))

    def to_pack(self, layers: dict[str, gpd.GeoDataFrame], context: ReadContext | None = None) -> LayerPack:
        """A :class:`LayerPack` of the layers read, with their provenance and working CRS."""
        layers = {e.name: layers[e.name] for e in self.entries if e.name in layers}
        digests: dict[Path, str] = {}
        provenance: dict[str, dict] = {}
        for entry in self.entries:
            if entry.name not in layers:
                continue
            if "dsn" in entry.options:
                from wlgeo.io.sources import redact_dsn

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
            if len(entry.files) > 1:
                provenance[entry.name]["paths"] = [str(p) for p in entry.files]
                provenance[entry.name]["sha256s"] = [digests.setdefault(p, file_sha256(p)) for p in entry.files]
        if self.ignored:
            provenance["_ignored"] = {"layers": list(self.ignored)}
        if self.dem is not None:
            provenance["dem"] = {"path": str(self.dem), "sha256": file_sha256(self.dem)}
        working = context.working_crs if context is not None else None
        if working is not None:
            provenance["_working_crs"] = {"crs": crs_label(working), "why": context.why}
        return LayerPack(layers, self.dem, self.source, provenance, working_crs=working, district=self.district)


def read_source(entry: LayerSource, context: ReadContext | None = None) -> gpd.GeoDataFrame:
    """Read one pack layer through :func:`read_layer` (into the context's working CRS), with
    canonical column names.

    Several files are concatenated (their notes prefixed by the file name); the catalog's
    field, value and unit mapping is applied first, then Chinese alias columns not mapped
    explicitly are renamed automatically.
    """
    lazy = lazy_source(entry)
    if lazy is not None:  # GeoParquet or PostGIS: read whole here (the dask engine reads them by window)
        frame = lazy.read(crs=None if context is None else context.working_crs)
        if context is not None and context.working_crs is None and frame.crs is not None and frame.crs.is_geographic:
            frame = frame.to_crs(working_crs_for(frame))
        frame.attrs["wlgeo_notes"] = [] if frame.crs is None or lazy.crs.equals(frame.crs) else [
            f"{lazy.describe()} was in {lazy.crs.to_string()}: reprojected to {crs_label(frame.crs)}"]
        return _canonical_names(frame, entry.name)
    options = dict(entry.options)
    if context is not None:
        options.update(context.options())
    frames = [read_layer(path, **options) for path in entry.files]
    frame = frames[0] if len(frames) == 1 else _concat(frames, entry)
    if entry.mapping:
        frame = apply_mapping(frame, entry.mapping, layer=entry.name, path=entry.path)
    return _canonical_names(frame, entry.name)


def _concat(frames: list[gpd.GeoDataFrame], entry: LayerSource) -> gpd.GeoDataFrame:
    import pandas as pd

    notes: list[str] = []
    for path, frame in zip(entry.files, frames):
        notes.extend(f"{path.name}: {note}" for note in frame.attrs.get("wlgeo_notes", []))
    notes.append(
        f"{len(frames)} files concatenated: "
        + ", ".join(f"{p.name} ({len(f)})" for p, f in zip(entry.files, frames))
    )
    geometry = frames[0].geometry.name
    parts = [f.rename_geometry(geometry) if f.geometry.name != geometry else f for f in frames]
    for part in parts:
        part.attrs = {}
    joined = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry=geometry, crs=frames[0].crs)
    joined.attrs["wlgeo_notes"] = notes
    joined.attrs["wlgeo_source"] = dict(frames[0].attrs.get("wlgeo_source", {}), paths=[str(p) for p in entry.files])
    return joined


def pack_sources(path: str | PathLike) -> PackSources:
    """List the layers a pack GeoPackage or catalog TOML holds, without reading them.

    Raises
    ------
    ReadError
        The pack is missing, a directory, empty, of another type, not a GeoPackage, bad TOML,
        or a catalog naming an unknown layer or a missing file.
    """
    path = checked_path(path, what="layer pack path")
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


MAX_CATALOG_BYTES = 8 << 20
"""Largest catalog read, bytes (a real one is a few kB)."""


def _load_toml(path: Path) -> dict:
    if not path.is_file():
        raise ReadError("is not a regular file (a device, pipe or socket); give a catalog .toml", path=path)
    if path.stat().st_size > MAX_CATALOG_BYTES:
        raise ReadError(f"is {path.stat().st_size:,} bytes; a catalog is at most {MAX_CATALOG_BYTES:,}", path=path)
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
    raw_paths = entry["path"] if isinstance(entry["path"], list) else [entry["path"]]
    if not raw_paths:
        raise ReadError(f"[layers.{name}] path = [] lists no file", path=path)
    files = []
    for raw in raw_paths:
        file = _catalog_file(path, raw, f"[layers.{name}] path")
        if not file.exists():
            raise ReadError(f"[layers.{name}] path {raw!r}: no such file {file}", path=path)
        files.append(file)
    for key in ("layer", "encoding", "crs"):
        if key in entry and not isinstance(entry[key], str):
            raise ReadError(f"[layers.{name}] {key} must be text in quotes, got {entry[key]!r}", path=path)
    options = {k: entry[k] for k in ("layer", "encoding", "crs") if k in entry}
    gcj02 = entry.get("gcj02", False)
    if not isinstance(gcj02, bool):  # bool("false") would be True
        raise ReadError(f"[layers.{name}] gcj02 must be true or false (no quotes), got {gcj02!r}", path=path)
    options["gcj02"] = gcj02
    mapping = parse_mapping(entry, layer=name, catalog=path)
    return LayerSource(name, files[0], options, tuple(files) if len(files) > 1 else (), mapping or None)


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
    from wlgeo.io.sources import ParquetSource, PostGISSource, is_parquet_path

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
    return checked_path(text, what=what, base=catalog.parent, resolve=True, origin=catalog)


def _canonical_names(frame: gpd.GeoDataFrame, name: str) -> gpd.GeoDataFrame:
    """Rename Chinese-alias or DBF-truncated columns (``license_en``) to canonical names, noted."""

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
    unknown = set(catalog) - CATALOG_TOP_KEYS
    if unknown:
        raise ReadError(
            f"unknown catalog sections {sorted(unknown)}; allowed: {', '.join(sorted(CATALOG_TOP_KEYS))}", path=path
        )
    working = _catalog_working_crs(path, catalog.get("working_crs"))
    district = catalog.get("district")
    if district is not None and (not isinstance(district, str) or not district.strip()):
        raise ReadError(f"district must be a name in quotes, got {district!r}", path=path)
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
    return PackSources(path, entries, dem, working_crs=working, district=district.strip() if district else None)


def _catalog_working_crs(path: Path, value) -> CRS | None:
    """The catalog's top-level ``working_crs``: a projected CRS in metres, else a one-line CRSError."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ReadError(f"working_crs must be text in quotes such as \"EPSG:4546\", got {value!r}", path=path)
    try:
        crs = CRS.from_user_input(value)
    except Exception as err:  # noqa: BLE001 - pyproj raises several types for bad input
        raise CRSError(f"working_crs = {value!r} is not a CRS; give an EPSG code such as \"EPSG:4546\"",
                       path=path, field="working_crs") from err
    try:
        return check_working_crs(crs)
    except ValueError as err:
        raise CRSError(str(err), path=path, field="working_crs") from None
