"""The one GeoPackage writer: layers, Chinese field aliases, metadata and QGIS default styles.

:func:`write_gpkg_layers` is used by ``wlgeo run`` (``plan.gpkg``) and by ``wlgeo export``. What it
writes, beyond what a plain ``to_file`` does:

- every layer in one projected CRS (the pack's working CRS, e.g. EPSG:4545), UTF-8; ``gpkg_contents.identifier`` is ``"<中文名> <name>"`` and
  ``description`` is filled;
- dates as GeoPackage ``DATE`` fields (``license_end``, ``license_start``, any column of
  :class:`datetime.date` values), booleans as ``BOOLEAN``;
- Chinese field aliases from :data:`wlgeo.model.schema.FIELD_ALIASES` in ``gpkg_data_columns``
  (the *Schema* extension; GDAL >= 3.7 and QGIS read ``name`` as the field alias);
- the caller's metadata (scenario, inputs, versions, ...) as one JSON document in
  ``gpkg_metadata`` referenced for the whole GeoPackage (``application/json``); GDAL lists it
  as dataset metadata item ``GPKG_METADATA_ITEM_1`` (``ogrinfo``, ``pyogrio.read_info``);
- a QGIS default style per layer given one, in ``layer_styles`` (the styles come as arguments;
  :mod:`wlgeo.products.geopackage` makes them).

The file is written under a temporary name in the target directory and renamed with
:func:`os.replace` only when complete: an exception leaves no partial file and a pre-existing
target untouched.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from pyogrio.raw import write as _ogr_write

from wlgeo.model.crs import WORKING_CRS
from wlgeo.model.errors import OutputError
from wlgeo.model.schema import FIELD_ALIASES, LAYERS
from wlgeo.io.jsontext import to_json
from wlgeo.io.atomic import atomic_path
from wlgeo.io.paths import gdal_path

__all__ = [
    "LayerStyle",
    "write_gpkg_layers",
    "read_gpkg_metadata",
    "layer_identifier",
    "DATE_FIELDS",
    "METADATA_URI",
]

log = logging.getLogger(__name__)

#: Columns written as GeoPackage DATE when they hold datetimes at midnight.
DATE_FIELDS = frozenset(f.name for spec in LAYERS.values() for f in spec.fields if f.type == "date")
#: ``md_standard_uri`` of the JSON metadata row wlgeo writes.
METADATA_URI = "urn:wlgeo:metadata:1"

_RESERVED_TABLES = {"layer_styles", "sqlite_sequence"}
_OUTPUT_LAYER_ZH = {
    "quarries": "碎石矿山",
    "new_sites": "规划新建",
    "consolidation_groups": "整合范围",
}

_DATA_COLUMNS_DDL = """
CREATE TABLE IF NOT EXISTS gpkg_data_columns (
  table_name TEXT NOT NULL,
  column_name TEXT NOT NULL,
  name TEXT,
  title TEXT,
  description TEXT,
  mime_type TEXT,
  constraint_name TEXT,
  CONSTRAINT pk_gdc PRIMARY KEY (table_name, column_name),
  CONSTRAINT gdc_tn UNIQUE (table_name, name)
);
CREATE TABLE IF NOT EXISTS gpkg_data_column_constraints (
  constraint_name TEXT NOT NULL,
  constraint_type TEXT NOT NULL,
  value TEXT,
  min NUMERIC,
  min_is_inclusive BOOLEAN,
  max NUMERIC,
  max_is_inclusive BOOLEAN,
  description TEXT,
  CONSTRAINT gdcc_ntv UNIQUE (constraint_name, constraint_type, value)
);
"""
_SCHEMA_EXT = "http://www.geopackage.org/spec121/#extension_schema"

_METADATA_DDL = """
CREATE TABLE IF NOT EXISTS gpkg_metadata (
  id INTEGER CONSTRAINT m_pk PRIMARY KEY ASC NOT NULL,
  md_scope TEXT NOT NULL DEFAULT 'dataset',
  md_standard_uri TEXT NOT NULL,
  mime_type TEXT NOT NULL DEFAULT 'text/xml',
  metadata TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS gpkg_metadata_reference (
  reference_scope TEXT NOT NULL,
  table_name TEXT,
  column_name TEXT,
  row_id_value INTEGER,
  timestamp DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  md_file_id INTEGER NOT NULL,
  md_parent_id INTEGER,
  CONSTRAINT crmr_mfi_fk FOREIGN KEY (md_file_id) REFERENCES gpkg_metadata(id),
  CONSTRAINT crmr_mpi_fk FOREIGN KEY (md_parent_id) REFERENCES gpkg_metadata(id)
);
"""
_METADATA_EXT = "http://www.geopackage.org/spec120/#extension_metadata"


@dataclass(frozen=True)
class LayerStyle:
    """A layer's default QGIS style as a GeoPackage stores it: QML, SLD and a one-line description
    (made by :func:`wlgeo.products.qgis_style.layer_style`)."""

    layer: str
    qml: str
    sld: str
    description: str



def layer_identifier(name: str) -> str:
    """``gpkg_contents.identifier`` of a layer: Chinese alias and English name, ``"碎石矿山 quarries"``."""
    zh = _OUTPUT_LAYER_ZH.get(name) or (LAYERS[name].alias_zh if name in LAYERS else None)
    return f"{zh} {name}" if zh else name


# --------------------------------------------------------------------------------------------
# public entry point


def write_gpkg_layers(
    path: str | PathLike,
    layers: Mapping[str, gpd.GeoDataFrame],
    *,
    metadata: Mapping[str, Any] | None = None,
    descriptions: Mapping[str, str] | None = None,
    styles: Mapping[str, LayerStyle] | None = None,
    overwrite: bool = False,
    crs=None,
) -> Path:
    """Write layers to one GeoPackage with aliases, metadata and QGIS styles, atomically.

    Parameters
    ----------
    path : target ``.gpkg`` file. Its directory is created when missing.
    layers : layer name → GeoDataFrame, written in this order. Names are table names (letters,
        digits, ``_``; not starting with ``gpkg_``/``rtree_``/``sqlite_``; not ``layer_styles``).
        Frames in another CRS are reprojected to ``crs``; a non-empty frame without a CRS is
        refused (its coordinates cannot be placed).
    metadata : JSON-serialisable mapping (scenario name and parameters, input hashes, wlgeo
        version, run time, ...). Stored as one JSON document in ``gpkg_metadata`` with a
        ``geopackage``-scope reference (read it back with :func:`read_gpkg_metadata`). Dates and
        paths are written as strings; NaN and infinity as ``null``.
    descriptions : layer name → ``gpkg_contents.description``; default :func:`layer_identifier`.
    styles : layer name → :class:`LayerStyle` to store as the layer's QGIS default style in
        ``layer_styles``; layers not named get none. This writer knows nothing of styling:
        :func:`wlgeo.products.geopackage.write_geopackage` makes the styles and calls it.
    overwrite : replace an existing file; without it an existing target is an error.
    crs : the CRS every layer is written in (a pack's working CRS); default: the first layer's
        projected CRS, else EPSG:4545.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    OutputError
        The target exists (without ``overwrite``) or is a directory, a layer name or column is
        unusable, a column type cannot be stored, or writing failed. Nothing is left behind and
        a pre-existing target is untouched.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> q = gpd.GeoDataFrame({"quarry_id": ["Q-1"], "decision": ["retain"]},
    ...                      geometry=[box(0, 0, 100, 100)], crs="EPSG:4545")
    >>> write_gpkg_layers(tmp / "plan.gpkg", {"quarries": q})  # doctest: +SKIP
    PosixPath('.../plan.gpkg')
    """
    target = Path(path)
    _check_target(target, overwrite=overwrite)
    frames = _check_layers(target, layers, _output_crs(layers, crs))
    descriptions = dict(descriptions or {})
    meta_json = _metadata_json(target, metadata)

    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target, what="GeoPackage") as tmp:
        for name, frame in frames.items():
            _write_layer(
                tmp,
                name,
                frame,
                description=descriptions.get(name) or layer_identifier(name),
            )
        with _connect(tmp) as conn:
            _write_aliases(conn, frames)
            if meta_json is not None:
                _write_json_metadata(conn, meta_json)
            if styles:
                _write_styles(conn, frames, styles)
    log.info("wrote %s (%s)", target, ", ".join(f"{k}={len(v)}" for k, v in frames.items()))
    return target


def read_gpkg_metadata(path: str | PathLike) -> dict[str, Any] | None:
    """The JSON metadata document :func:`write_gpkg_layers` stored, or ``None`` when there is none."""
    try:
        conn = sqlite3.connect(f"file:{Path(path)}?mode=ro", uri=True)
    except sqlite3.Error as err:
        raise OutputError(f"cannot be opened: {err}", path=path) from err
    try:
        has = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'gpkg_metadata'").fetchone()
        if not has:
            return None
        row = conn.execute(
            "SELECT metadata FROM gpkg_metadata WHERE md_standard_uri = ? AND mime_type = "
            "'application/json' ORDER BY id DESC LIMIT 1",
            (METADATA_URI,),
        ).fetchone()
    except sqlite3.DatabaseError as err:
        raise OutputError(f"is not a GeoPackage: {err}", path=path) from err
    finally:
        conn.close()
    return None if row is None else json.loads(row[0])


# --------------------------------------------------------------------------------------------
# checks


def _check_target(target: Path, *, overwrite: bool) -> None:
    if target.suffix.lower() != ".gpkg":
        raise OutputError("a GeoPackage file name must end in .gpkg", path=target)
    if target.is_dir():
        raise OutputError("is a directory; give a .gpkg file path", path=target)
    if target.exists() and not overwrite:
        raise OutputError("exists; pass {option} to replace it", path=target, option="overwrite")


def _output_crs(layers, crs) -> CRS:
    if crs is not None:
        return CRS.from_user_input(crs)
    if isinstance(layers, Mapping):
        for frame in layers.values():
            if isinstance(frame, gpd.GeoDataFrame) and frame.crs is not None and frame.crs.is_projected:
                return CRS.from_user_input(frame.crs)
    return WORKING_CRS


def _check_layers(target: Path, layers: Mapping[str, gpd.GeoDataFrame], crs: CRS) -> dict[str, gpd.GeoDataFrame]:
    if not isinstance(layers, Mapping) or not layers:
        raise OutputError("no layers to write (give a mapping name -> GeoDataFrame)", path=target)
    frames: dict[str, gpd.GeoDataFrame] = {}
    for name, frame in layers.items():
        if not isinstance(name, str) or not name or not all(c.isalnum() or c == "_" for c in name) \
                or not name[0].isalpha() or name.lower().startswith(("gpkg_", "rtree_", "sqlite_")) \
                or name.lower() in _RESERVED_TABLES:
            raise OutputError(
                "layer names must start with a letter and hold only letters, digits and '_' "
                "(and not be gpkg_*, rtree_*, sqlite_*, layer_styles)",
                path=target,
                layer=str(name),
            )
        if not isinstance(frame, gpd.GeoDataFrame):
            raise OutputError(f"expected a GeoDataFrame, got {type(frame).__name__}", path=target, layer=name)
        frames[name] = _to_working_crs(target, name, frame, crs)
        _check_columns(target, name, frames[name])
    lowered = [n.lower() for n in frames]
    if len(set(lowered)) != len(lowered):
        raise OutputError("layer names differ only in case; GeoPackage table names do not", path=target)
    return frames


def _to_working_crs(target: Path, name: str, frame: gpd.GeoDataFrame, crs: CRS) -> gpd.GeoDataFrame:
    if frame.crs is None:
        if len(frame) and frame.geometry.notna().any():
            raise OutputError(
                f"has no CRS; set it ({crs.to_string()} for the working CRS) before writing",
                path=target,
                layer=name,
            )
        return frame.set_crs(crs, allow_override=True)
    if not frame.crs.equals(crs):
        log.info("layer %s reprojected from %s to %s", name, frame.crs.to_string(), crs.to_string())
        return frame.to_crs(crs)
    return frame


def _check_columns(target: Path, name: str, frame: gpd.GeoDataFrame) -> None:
    geometry_name = frame.geometry.name
    seen: set[str] = set()
    for column in frame.columns:
        if column == geometry_name:
            continue
        if not isinstance(column, str) or not column:
            raise OutputError(f"column names must be non-empty text, got {column!r}", path=target, layer=name)
        if column.lower() in ("fid", "geom") or column.lower() in seen:
            raise OutputError(
                "duplicate or reserved column name (fid and geom are used by the GeoPackage)",
                path=target,
                layer=name,
                field=column,
            )
        seen.add(column.lower())


# --------------------------------------------------------------------------------------------
# layer writing


def _geometry_type(name: str, frame: gpd.GeoDataFrame) -> tuple[str, bool]:
    """OGR geometry type name and whether single parts must be promoted to multi."""
    geoms = frame.geometry.values
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    kinds = set(frame.geometry[present].geom_type.unique())
    has_z = bool(present.any() and shapely.has_z(geoms[present]).any())
    if not kinds:
        hint = _spec_geometry(name)
        return (hint or "Unknown"), bool(hint)
    families = {k.removeprefix("Multi") for k in kinds}
    if len(families) == 1:
        family = families.pop()
        multi = any(k.startswith("Multi") for k in kinds)
        # polygons and lines are promoted so every layer holds one declared geometry type
        if family == "GeometryCollection":
            gtype = "GeometryCollection"
        elif multi or (family == "Polygon" and name in _MULTI_LAYERS):
            gtype = f"Multi{family}"  # mixed single/multi, or plan polygons: one declared type
        else:
            gtype = family
        return gtype + (" Z" if has_z else ""), gtype.startswith("Multi")
    return "Unknown", False


_MULTI_LAYERS = {"quarries", "consolidation_groups", "new_sites"}


def _spec_geometry(name: str) -> str | None:
    if name in _MULTI_LAYERS:
        return "MultiPolygon"
    kind = LAYERS[name].geometry[0] if name in LAYERS else None
    return {"polygon": "MultiPolygon", "line": "MultiLineString", "point": "Point"}.get(kind)


def _is_date_column(column: str, values: pd.Series) -> bool:
    dtype = values.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype):
        if column not in DATE_FIELDS or isinstance(dtype, pd.DatetimeTZDtype):
            return False
        valid = values.dropna()
        return bool((valid == valid.dt.normalize()).all())
    if dtype == object:
        valid = values.dropna()
        return len(valid) > 0 and all(
            isinstance(v, _dt.date) and not isinstance(v, _dt.datetime) for v in valid
        )
    return False


def _field_arrays(target: Path, name: str, frame: gpd.GeoDataFrame):
    """Numpy arrays and null masks for pyogrio's raw writer (dates as ``datetime64[D]``)."""
    from pandas.arrays import BooleanArray, FloatingArray, IntegerArray

    geometry_name = frame.geometry.name
    fields, data, masks = [], [], []
    for column in frame.columns:
        if column == geometry_name:
            continue
        series = frame[column]
        if _is_date_column(column, series):
            values = pd.to_datetime(series, errors="raise").to_numpy(dtype="datetime64[D]")
            mask = None
        elif isinstance(series.dtype, pd.DatetimeTZDtype):
            values = series.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
            mask = None
        elif isinstance(series.array, (IntegerArray, FloatingArray, BooleanArray)):
            values, mask = series.array._data, series.array._mask
        elif isinstance(series.dtype, pd.CategoricalDtype):
            values = series.astype(object).where(series.notna(), None).to_numpy(dtype=object)
            mask = None
        elif isinstance(series.array, pd.api.extensions.ExtensionArray) and not isinstance(
            series.array, np.ndarray
        ) and series.dtype.kind not in "biufcmM":
            values = series.astype(object).to_numpy(dtype=object)
            mask = series.isna().to_numpy()
        else:
            values, mask = series.to_numpy(), None
        if values.dtype.kind in "cmV":
            raise OutputError(
                f"column type {series.dtype} cannot be stored in a GeoPackage "
                "(convert it to numbers or text first)",
                path=target,
                layer=name,
                field=column,
            )
        fields.append(column)
        data.append(values)
        masks.append(mask)
    return fields, data, masks


def _write_layer(tmp: Path, name: str, frame: gpd.GeoDataFrame, *, description: str) -> None:
    target_for_errors = tmp
    geometry_type, promote = _geometry_type(name, frame)
    fields, data, masks = _field_arrays(target_for_errors, name, frame)
    geoms = frame.geometry.values
    if promote:
        geoms = _promote(geoms)
    wkb = shapely.to_wkb(np.asarray(geoms), output_dimension=3 if geometry_type.endswith(" Z") else 2)
    append = tmp.exists()
    with gdal_path(tmp) as opened:  # a folder with '!' is not an archive
        _ogr_write(
            str(opened),
            wkb,
            data,
            fields,
            field_mask=masks,
            layer=name,
            driver="GPKG",
            geometry_type=geometry_type,
            crs=frame.crs.to_string() if frame.crs.to_epsg() else frame.crs.to_wkt(),
            encoding="UTF-8",
            append=append,
            layer_options={"DESCRIPTION": description, "IDENTIFIER": layer_identifier(name)},
            # GeoPackage 1.2: GDAL < 3.7 (QGIS 3.22/3.28 builds) warns "may only be partially
            # supported" on every open of the 1.4 files a recent GDAL writes by default
            dataset_options=None if append else {"VERSION": "1.2"},
        )


def _promote(geoms):
    """Single parts as one-part multi geometries (vectorised, as pyogrio does)."""
    out = np.asarray(geoms, dtype=object).copy()
    types = shapely.get_type_id(out)
    for single, maker in ((0, shapely.multipoints), (1, shapely.multilinestrings), (3, shapely.multipolygons)):
        mask = types == single
        if mask.any():
            out[mask] = maker(np.atleast_2d(out[mask]), axis=0)
    return out


# --------------------------------------------------------------------------------------------
# sqlite post-processing: aliases, JSON metadata, styles


class _connect:
    """sqlite3 connection that commits on success and always closes."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(str(path))
        # the file is a temporary one, renamed only when complete: no need to sync to disk each commit
        self.conn.execute("PRAGMA synchronous = OFF")

    def __enter__(self) -> sqlite3.Connection:
        return self.conn

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self.conn.commit()
            else:
                self.conn.rollback()
        finally:
            self.conn.close()


def _register_extension(conn: sqlite3.Connection, table: str, extension: str, definition: str) -> None:
    exists = conn.execute(
        "SELECT 1 FROM gpkg_extensions WHERE table_name = ? AND column_name IS NULL AND extension_name = ?",
        (table, extension),
    ).fetchone()
    if not exists:
        conn.execute(
            "INSERT INTO gpkg_extensions (table_name, column_name, extension_name, definition, scope) "
            "VALUES (?, NULL, ?, ?, 'read-write')",
            (table, extension, definition),
        )


def _ensure_extensions_table(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS gpkg_extensions (table_name TEXT, column_name TEXT, "
        "extension_name TEXT NOT NULL, definition TEXT NOT NULL, scope TEXT NOT NULL, "
        "CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name))"
    )


def _write_aliases(conn: sqlite3.Connection, frames: Mapping[str, gpd.GeoDataFrame]) -> None:
    rows = []
    for name, frame in frames.items():
        used: set[str] = set()
        for column in frame.columns:
            alias = FIELD_ALIASES.get(column)
            if column == frame.geometry.name or not alias or alias in used:
                continue
            used.add(alias)
            rows.append((name, column, alias, alias))
    if not rows:
        return
    _ensure_extensions_table(conn)
    conn.executescript(_DATA_COLUMNS_DDL)
    _register_extension(conn, "gpkg_data_columns", "gpkg_schema", _SCHEMA_EXT)
    _register_extension(conn, "gpkg_data_column_constraints", "gpkg_schema", _SCHEMA_EXT)
    conn.executemany(
        "INSERT OR REPLACE INTO gpkg_data_columns (table_name, column_name, name, title) VALUES (?, ?, ?, ?)",
        rows,
    )


def _metadata_json(target: Path, metadata: Mapping[str, Any] | None) -> str | None:
    if metadata is None:
        return None
    if not isinstance(metadata, Mapping):
        raise OutputError(f"metadata must be a mapping, got {type(metadata).__name__}", path=target)
    try:
        return to_json(dict(metadata), indent=2)
    except (TypeError, ValueError) as err:
        raise OutputError(f"metadata cannot be stored as JSON: {err}", path=target) from err


def _write_json_metadata(conn: sqlite3.Connection, document: str) -> None:
    _ensure_extensions_table(conn)
    conn.executescript(_METADATA_DDL)
    _register_extension(conn, "gpkg_metadata", "gpkg_metadata", _METADATA_EXT)
    _register_extension(conn, "gpkg_metadata_reference", "gpkg_metadata", _METADATA_EXT)
    cur = conn.execute(
        "INSERT INTO gpkg_metadata (md_scope, md_standard_uri, mime_type, metadata) "
        "VALUES ('dataset', ?, 'application/json', ?)",
        (METADATA_URI, document),
    )
    conn.execute(
        "INSERT INTO gpkg_metadata_reference (reference_scope, table_name, column_name, row_id_value, "
        "timestamp, md_file_id, md_parent_id) VALUES ('geopackage', NULL, NULL, NULL, "
        "strftime('%Y-%m-%dT%H:%M:%fZ','now'), ?, NULL)",
        (cur.lastrowid,),
    )


_STYLES_DDL = """
CREATE TABLE "layer_styles" ( "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, "f_table_catalog" TEXT,
  "f_table_schema" TEXT, "f_table_name" TEXT, "f_geometry_column" TEXT, "styleName" TEXT, "styleQML" TEXT,
  "styleSLD" TEXT, "useAsDefault" BOOLEAN, "description" TEXT, "owner" TEXT, "ui" TEXT, "update_time" DATETIME)
"""


def _write_styles(conn: sqlite3.Connection, frames: Mapping[str, gpd.GeoDataFrame], given: Mapping[str, LayerStyle]) -> None:
    """The QGIS ``layer_styles`` table (as QGIS and GDAL create it) holding the ``given`` styles, registered as an attributes
    table in ``gpkg_contents``; written in the connection that writes aliases and metadata."""
    rows = [(name, given[name]) for name in frames if given.get(name) is not None]
    if not rows:
        return
    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
    conn.executescript(_STYLES_DDL)
    conn.executemany(
        'INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, f_geometry_column, "styleName", '
        '"styleQML", "styleSLD", "useAsDefault", description, owner, ui, update_time) '
        "VALUES ('', '', ?, 'geom', ?, ?, ?, 1, ?, 'wlgeo', NULL, ?)",
        [(name, name, st.qml, st.sld, st.description, now) for name, st in rows],
    )
    conn.execute(
        "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, last_change, srs_id) "
        "VALUES ('layer_styles', 'attributes', 'layer_styles', 'QGIS layer styles (wlgeo)', "
        "strftime('%Y-%m-%dT%H:%M:%fZ','now'), 0)"
    )
    has_counts = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'gpkg_ogr_contents'").fetchone()
    if has_counts:
        conn.execute("INSERT INTO gpkg_ogr_contents (table_name, feature_count) VALUES ('layer_styles', ?)", (len(rows),))
