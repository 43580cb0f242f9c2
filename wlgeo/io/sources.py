"""Layer sources that can be read by window: in-memory frames, GeoParquet files or folders of
parts, and PostGIS tables or queries.

A source knows its CRS and reads the features whose bounding box meets a window
(:meth:`read`), so a worker of a distributed run fetches only the constraints around its
quarries, and the whole layer is never held in one process. Every source pickles to a small
description (paths, DSN, table), to be sent to a dask worker.

Catalog entries (DESIGN §3)::

    [layers.farmland]
    path = "farmland.parquet"        # a GeoParquet file, or a folder of GeoParquet parts
    [layers.red_line]
    dsn = "postgresql://gis@localhost:5432/gis"
    table = "planning.red_line"      # or: sql = "SELECT geom, category FROM ..."

GeoParquet parts must share their columns and CRS (else :class:`ReadError` names the part);
a PostGIS geometry column with SRID 0 is refused (:class:`CRSError`). PostGIS is read with
``geopandas.read_postgis`` over SQLAlchemy and psycopg 3 (``pip install wlgeo[postgis]``).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from wlgeo.model.errors import CRSError, ReadError
from wlgeo.model.sources import Bounds, FrameSource, LayerSource, transform_bounds

__all__ = [
    "LayerSource",
    "FrameSource",
    "ParquetSource",
    "PostGISSource",
    "VectorSource",
    "Bounds",
    "is_parquet_path",
    "redact_dsn",
]

log = logging.getLogger(__name__)

_BATCH_ROWS = 65_536


# ---------------------------------------------------------------------------- GDAL vector files
class VectorSource(LayerSource):
    """A GeoPackage layer or shapefile with a declared CRS, read by window with pyogrio (its
    spatial index), for layers too big to read whole into one process."""

    def __init__(self, path: str | Path, *, layer: str | None = None, name: str = "layer",
                 encoding: str | None = None) -> None:
        import pyogrio

        self.path = Path(path)
        self.layer = layer
        self.name = name
        self.encoding = encoding
        try:
            info = pyogrio.read_info(self.path, layer=layer, encoding=encoding)
        except Exception as err:  # noqa: BLE001 - GDAL raises several types
            raise ReadError(f"cannot read: {err}", path=self.path, layer=layer or name) from err
        if not info.get("crs"):
            raise CRSError("has no CRS; big layers are read by window only with a declared CRS", path=self.path,
                           layer=layer or name)
        self.crs = CRS.from_user_input(info["crs"])
        self.rows = int(info.get("features") or 0)
        self.extent = tuple(float(v) for v in info["total_bounds"]) if info.get("total_bounds") is not None else None

    @property
    def files(self) -> list[Path]:
        return [self.path]

    def describe(self) -> str:
        return f"{self.name} ({self.path}" + (f", layer {self.layer})" if self.layer else ")")

    def is_empty(self) -> bool:
        return self.rows == 0

    def bounds(self, crs: CRS | None = None) -> Bounds | None:
        if self.extent is None or not self.rows:
            return None
        return transform_bounds(self.extent, self.crs, CRS.from_user_input(crs)) if crs is not None else self.extent

    def _read(self, window: Bounds | None) -> gpd.GeoDataFrame:
        import pyogrio

        try:
            frame = pyogrio.read_dataframe(self.path, layer=self.layer, bbox=window, encoding=self.encoding,
                                           use_arrow=True)
        except Exception as err:  # noqa: BLE001
            raise ReadError(f"cannot read: {type(err).__name__}: {err}", path=self.path,
                            layer=self.layer or self.name) from err
        return frame.set_crs(self.crs, allow_override=True)


# ---------------------------------------------------------------------------- GeoParquet
def is_parquet_path(path: Path) -> bool:
    """A ``.parquet``/``.geoparquet`` file, or a folder holding ``*.parquet`` parts."""
    if path.suffix.lower() in (".parquet", ".geoparquet"):
        return True
    return path.is_dir() and any(path.glob("*.parquet"))


class ParquetSource(LayerSource):
    """A GeoParquet file or a folder of GeoParquet parts (``*.parquet``, read in name order).

    Parts are checked when the source is made (metadata only): same columns and types, same
    CRS, one geometry column. Windows are read per part, only from parts whose ``bbox``
    metadata meets the window, with the GeoParquet bbox covering when the part has one, else
    in batches of rows filtered as they stream (memory bounded by a batch).
    """

    def __init__(self, path: str | Path, *, name: str = "layer", crs=None) -> None:
        import pyarrow.parquet as pq

        self.path = Path(path)
        self.name = name
        if not self.path.exists():
            raise ReadError("no such GeoParquet file or folder", path=self.path, layer=name)
        parts = sorted(self.path.glob("*.parquet")) if self.path.is_dir() else [self.path]
        if not parts:
            raise ReadError("folder holds no *.parquet parts", path=self.path, layer=name)
        self.parts: list[Path] = parts
        self.part_bounds: list[Bounds | None] = []
        self.covering: list[dict | None] = []
        first_schema = None
        first_crs: CRS | None = None
        self.geometry_column = "geometry"
        for part in parts:
            try:
                schema = pq.read_schema(part)
            except Exception as err:  # noqa: BLE001 - pyarrow raises several types for a bad file
                raise ReadError(f"cannot read GeoParquet part: {err}", path=part, layer=name) from err
            raw = (schema.metadata or {}).get(b"geo")
            if raw is None:
                raise ReadError("is Parquet without GeoParquet 'geo' metadata (no geometry column)", path=part, layer=name)
            geo = json.loads(raw)
            column = geo.get("primary_column", "geometry")
            meta = geo.get("columns", {}).get(column, {})
            part_crs = _parquet_crs(meta, crs, part, name)
            plain = schema.remove_metadata()
            if first_schema is None:
                first_schema, first_crs, self.geometry_column = plain, part_crs, column
            else:
                if not plain.equals(first_schema):
                    diff = sorted(set(plain.names) ^ set(first_schema.names)) or [
                        f"{n}: {plain.field(n).type} vs {first_schema.field(n).type}"
                        for n in plain.names if plain.field(n).type != first_schema.field(n).type]
                    raise ReadError(
                        f"GeoParquet part's columns differ from {parts[0].name}'s ({', '.join(map(str, diff[:5]))}); "
                        "all parts of a layer must share one schema",
                        path=part, layer=name,
                    )
                if not part_crs.equals(first_crs):
                    raise ReadError(
                        f"GeoParquet part's CRS {part_crs.to_string()} differs from {parts[0].name}'s "
                        f"{first_crs.to_string()}; all parts of a layer must share one CRS",
                        path=part, layer=name,
                    )
            bbox = meta.get("bbox")
            self.part_bounds.append(tuple(float(v) for v in bbox[:4]) if bbox and len(bbox) == 4 else None)  # type: ignore[misc]
            self.covering.append(meta.get("covering"))
        assert first_crs is not None
        self.crs = first_crs
        self.rows = sum(pq.ParquetFile(part).metadata.num_rows for part in parts)

    def is_empty(self) -> bool:
        return self.rows == 0

    @property
    def files(self) -> list[Path]:
        return list(self.parts)

    def describe(self) -> str:
        return f"{self.name} ({self.path}, {len(self.parts)} part(s))"

    def bounds(self, crs: CRS | None = None) -> Bounds | None:
        known = [b for b in self.part_bounds if b is not None]
        if len(known) != len(self.part_bounds) or not known:
            return None
        arr = np.asarray(known)
        b = (float(arr[:, 0].min()), float(arr[:, 1].min()), float(arr[:, 2].max()), float(arr[:, 3].max()))
        return transform_bounds(b, self.crs, CRS.from_user_input(crs)) if crs is not None else b

    def _read(self, window: Bounds | None) -> gpd.GeoDataFrame:
        frames = []
        for part, pb, covering in zip(self.parts, self.part_bounds, self.covering):
            if window is not None and pb is not None and (
                pb[0] > window[2] or pb[2] < window[0] or pb[1] > window[3] or pb[3] < window[1]
            ):
                continue
            try:
                if window is None:
                    frame = gpd.read_parquet(part)
                elif covering:
                    frame = gpd.read_parquet(part, bbox=window)
                else:
                    frame = self._stream(part, window)
            except ReadError:
                raise
            except Exception as err:  # noqa: BLE001 - pyarrow/geopandas raise several types
                raise ReadError(f"cannot read GeoParquet part: {type(err).__name__}: {err}", path=part,
                                layer=self.name) from err
            frames.append(frame.set_crs(self.crs, allow_override=True))
        if not frames:
            frame = gpd.read_parquet(self.parts[0]).iloc[:0]
            return frame.set_crs(self.crs, allow_override=True)
        if len(frames) == 1:
            return frames[0]
        return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry=frames[0].geometry.name, crs=self.crs)

    def _stream(self, part: Path, window: Bounds) -> gpd.GeoDataFrame:
        import pyarrow.parquet as pq

        handle = pq.ParquetFile(part)
        chunks = []
        for batch in handle.iter_batches(batch_size=_BATCH_ROWS):
            table = batch.to_pandas()
            geoms = shapely.from_wkb(table[self.geometry_column].to_numpy())
            b = shapely.bounds(geoms)
            keep = (b[:, 0] <= window[2]) & (b[:, 2] >= window[0]) & (b[:, 1] <= window[3]) & (b[:, 3] >= window[1])
            if keep.any():
                kept = table[keep].copy()
                kept[self.geometry_column] = geoms[keep]
                chunks.append(kept)
        if not chunks:
            return gpd.read_parquet(part).iloc[:0]
        table = pd.concat(chunks, ignore_index=True)
        return gpd.GeoDataFrame(table, geometry=self.geometry_column, crs=self.crs)


def _parquet_crs(meta: dict, override, part: Path, name: str) -> CRS:
    if override is not None:
        try:
            return CRS.from_user_input(override)
        except Exception as err:  # noqa: BLE001 - pyproj's CRSError and TypeError
            raise CRSError(f"cannot understand crs={override!r}", path=part, layer=name) from err
    if "crs" in meta and meta["crs"] is None:
        raise CRSError("GeoParquet geometry has an undefined CRS (crs: null); give crs = \"EPSG:...\" in the "
                       "catalog", path=part, layer=name)
    try:
        # GeoParquet: a missing "crs" key means OGC:CRS84 (lon/lat)
        return CRS.from_user_input(meta["crs"]) if "crs" in meta else CRS.from_user_input("OGC:CRS84")
    except Exception as err:  # noqa: BLE001
        raise CRSError(f"GeoParquet CRS cannot be read: {err}", path=part, layer=name) from err


# ---------------------------------------------------------------------------- PostGIS
_IDENT = re.compile(r"^[A-Za-z_\u4e00-\u9fff][A-Za-z0-9_$\u4e00-\u9fff]*$")


def redact_dsn(dsn: str) -> str:
    """The DSN without its password (for messages and manifests)."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", dsn)


def _quote_table(table: str, name: str) -> str:
    parts = table.split(".")
    if len(parts) > 2 or not all(p.strip() for p in parts):
        raise ReadError(f"table {table!r} is not 'table' or 'schema.table'", layer=name)
    return ".".join('"' + p.strip().replace('"', '""') + '"' for p in parts)


class PostGISSource(LayerSource):
    """A PostGIS table (``table = "schema.table"``) or query (``sql = "SELECT ..."``).

    The geometry column and its SRID are found when the source is made; SRID 0 (no CRS) is
    refused. Windows are read with the ``&&`` index operator against ``ST_MakeEnvelope``.
    """

    def __init__(self, dsn: str, *, table: str | None = None, sql: str | None = None, name: str = "layer") -> None:
        if (table is None) == (sql is None):
            raise ReadError('a PostGIS layer needs exactly one of table = "schema.table" or sql = "SELECT ..."',
                            layer=name)
        self.dsn = dsn
        self.name = name
        self.table = table
        self.sql = sql
        self.query = f"SELECT * FROM {_quote_table(table, name)}" if table is not None else sql.strip().rstrip(";")
        self._engine = None
        self.geometry_column, srid = self._inspect()
        if srid == 0:
            raise CRSError(
                f"PostGIS {self._what()} has SRID 0 (no CRS) in column {self.geometry_column!r}; set it in the "
                f"database, e.g. SELECT UpdateGeometrySRID('{table or 'schema.table'}', '{self.geometry_column}', 4490)",
                layer=name,
            )
        try:
            self.crs = CRS.from_epsg(srid)
        except Exception as err:  # noqa: BLE001
            raise CRSError(f"PostGIS {self._what()} has SRID {srid}, which PROJ does not know", layer=name) from err
        self.empty = not self._execute(f"SELECT EXISTS (SELECT 1 FROM ({self.query}) AS q)")[0][0]

    def is_empty(self) -> bool:
        return self.empty

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_engine"] = None
        return state

    def _what(self) -> str:
        return f"table {self.table}" if self.table else "query"

    def describe(self) -> str:
        return f"{self.name} (PostGIS {redact_dsn(self.dsn)} {self._what()})"

    def engine(self):
        if self._engine is None:
            try:
                import sqlalchemy
            except ImportError as err:  # pragma: no cover - depends on the install
                raise ReadError("reading PostGIS needs SQLAlchemy and psycopg: pip install 'wlgeo[postgis]'",
                                layer=self.name) from err
            url = re.sub(r"^postgres(ql)?://", "postgresql+psycopg://", self.dsn)
            try:
                self._engine = sqlalchemy.create_engine(url, pool_pre_ping=True)
            except Exception as err:  # noqa: BLE001 - bad URL, missing driver
                raise ReadError(f"cannot use PostGIS DSN {redact_dsn(self.dsn)}: {err}", layer=self.name) from err
        return self._engine

    def _execute(self, sql: str, params: dict | None = None):
        import sqlalchemy

        try:
            with self.engine().connect() as conn:
                return conn.execute(sqlalchemy.text(sql), params or {}).fetchall()
        except ReadError:
            raise
        except Exception as err:  # noqa: BLE001 - connection refused, bad table, bad SQL
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise ReadError(f"PostGIS {redact_dsn(self.dsn)} {self._what()}: {first}", layer=self.name) from err

    def _inspect(self) -> tuple[str, int]:
        rows = self._execute(
            "SELECT a.attname, postgis_typmod_srid(a.atttypmod) FROM pg_attribute a JOIN pg_type t ON a.atttypid = t.oid "
            "WHERE a.attrelid = to_regclass(:rel) AND t.typname = 'geometry' AND a.attnum > 0 AND NOT a.attisdropped "
            "ORDER BY a.attnum", {"rel": _quote_table(self.table, self.name)}) if self.table else []
        if self.table and not rows:
            exists = self._execute("SELECT to_regclass(:rel) IS NOT NULL", {"rel": _quote_table(self.table, self.name)})
            if not exists[0][0]:
                raise ReadError(f"PostGIS {redact_dsn(self.dsn)}: no table {self.table}", layer=self.name)
            raise ReadError(f"PostGIS table {self.table} has no geometry column", layer=self.name)
        if rows:
            column, srid = rows[0][0], int(rows[0][1] or 0)
            if srid == 0:  # a generic geometry column: look at the data
                found = self._execute(f'SELECT DISTINCT ST_SRID("{column}") FROM ({self.query}) AS q LIMIT 2')
                srid = int(found[0][0]) if len(found) == 1 and found[0][0] is not None else 0
            return column, srid
        # a query: the first geometry column of its result
        probe = self._execute(
            f"SELECT * FROM ({self.query}) AS q LIMIT 0")  # validates the SQL
        del probe
        import sqlalchemy

        with self.engine().connect() as conn:
            result = conn.execute(sqlalchemy.text(f"SELECT * FROM ({self.query}) AS q LIMIT 1"))
            columns = list(result.keys())
            row = result.fetchone()
        for column in columns:
            found = self._execute(
                f'SELECT ST_SRID("{column}") FROM ({self.query}) AS q WHERE pg_typeof("{column}") = '
                "'geometry'::regtype LIMIT 1") if row is not None else []
            if found:
                return column, int(found[0][0] or 0)
        raise ReadError("PostGIS query returns no geometry column (or no rows)", layer=self.name)

    def _read(self, window: Bounds | None) -> gpd.GeoDataFrame:
        sql = f"SELECT * FROM ({self.query}) AS wlgeo_q"
        params = None
        if window is not None:
            sql += (f' WHERE wlgeo_q."{self.geometry_column}" && '
                    f"ST_MakeEnvelope(:x0, :y0, :x1, :y1, {int(self.crs.to_epsg())})")
            params = {"x0": window[0], "y0": window[1], "x1": window[2], "y1": window[3]}
        import sqlalchemy

        try:
            with self.engine().connect() as conn:
                frame = gpd.read_postgis(sqlalchemy.text(sql), conn, geom_col=self.geometry_column, params=params)
        except Exception as err:  # noqa: BLE001
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise ReadError(f"PostGIS {redact_dsn(self.dsn)} {self._what()}: {first}", layer=self.name) from err
        return frame.set_crs(self.crs, allow_override=True)


def sources_files(sources: Sequence[LayerSource]) -> list[Path]:
    """Every file the given sources read."""
    out: list[Path] = []
    for source in sources:
        out.extend(source.files)
    return out
