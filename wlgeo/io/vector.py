"""Vector files through pyogrio: GeoPackage, GeoJSON, ESRI JSON, JSON-FG, shapefile (also zipped),
FileGDB folders; GBK mojibake detection; every format's own CRS declaration used.

A bureau shapefile is usually GBK without a ``.cpg``; GDAL then decodes it as Latin-1 and
returns mojibake (``ÉúÌ¬±£»¤ºìÏß`` for 生态保护红线) without any error. :func:`read_vector`
recognises that from the text it got back, re-reads with the right encoding and says so.
"""

from __future__ import annotations

import codecs
import re
import warnings
from pathlib import Path

import numpy as np
import pyogrio
import shapely
from pyogrio.errors import CRSError as OgrCRSError
from pyogrio.errors import DataLayerError, DataSourceError, FeatureError, FieldError, GeometryError

from wlgeo.model.crs import crs_label
from wlgeo.model.errors import EncodingGuessWarning, ReadError, WlgeoWarning, where
from wlgeo.io.paths import gdal_path
from wlgeo.io.undecodable import check_plain_values, nested_value_error, undecodable_geometry
from wlgeo.io.raw import RawLayer

__all__ = ["read_vector", "list_layers", "VECTOR_SUFFIXES"]

VECTOR_SUFFIXES = (".gpkg", ".geojson", ".json", ".shp", ".gdb", ".zip")
_MULTI_LAYER = (".gpkg", ".gdb", ".zip")
"""Containers that may hold several layers: ``layer=`` chooses one."""

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]")


def list_layers(path: Path) -> list[str]:
    """Names of the layers in a vector file (raises ReadError when it cannot be opened)."""
    try:
        with gdal_path(path) as opened:
            return [str(name) for name in pyogrio.list_layers(opened)[:, 0]]
    except (DataSourceError, DataLayerError, OSError, ValueError) as err:
        raise ReadError(f"cannot be opened as a vector file: {_gdal_reason(err)}", path=path) from err


def _gdal_reason(err: Exception) -> str:
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return text[:300]


def _text_values(frame) -> list[str]:
    values = [str(c) for c in frame.columns]
    for column in frame.columns:
        if column == frame.geometry.name or frame[column].dtype.kind not in "OUS" and str(frame[column].dtype) not in ("string", "str"):
            continue
        values.extend(v for v in frame[column].dropna().unique()[:500] if isinstance(v, str))
    return [v for v in values if any(ord(ch) > 127 for ch in v)]


def detect_mojibake(frame) -> str | None:
    """Return the encoding (``"utf-8"`` or ``"gbk"``) whose bytes were decoded as Latin-1, if any."""
    samples = _text_values(frame)
    if not samples:
        return None
    try:
        raw = [s.encode("latin-1") for s in samples]
    except UnicodeEncodeError:
        return None  # characters above U+00FF: the text was decoded properly
    for encoding in ("utf-8", "gbk", "gb18030"):
        try:
            decoded = [b.decode(encoding) for b in raw]
        except UnicodeDecodeError:
            continue
        if any(_CJK.search(text) for text in decoded):
            return encoding
    return None


def _gdal_encoding(encoding: str | None, path: Path, layer) -> str | None:
    """Python's canonical spelling of ``encoding``: GDAL/iconv reject some aliases (``latin-1``)."""
    if encoding is None:
        return None
    try:
        return codecs.lookup(encoding).name
    except (LookupError, ValueError, TypeError) as err:  # ValueError: a NUL in the name
        raise ReadError(f"unknown encoding={encoding!r}", path=path, layer=layer) from err


def _read(path: Path, layer, encoding):
    gdal_encoding = _gdal_encoding(encoding, path, layer)
    try:
        with gdal_path(path) as opened:
            frame = pyogrio.read_dataframe(opened, layer=layer, encoding=gdal_encoding)
    except (DataSourceError, DataLayerError, FeatureError, FieldError, GeometryError, OgrCRSError) as err:
        raise ReadError(f"cannot be read: {_gdal_reason(err)}", path=path, layer=layer) from err
    except (LookupError, UnicodeDecodeError) as err:
        raise ReadError(f"cannot be decoded with encoding={encoding!r}: {err}", path=path, layer=layer) from err
    except shapely.errors.GEOSException as err:
        raise undecodable_geometry(path, layer, gdal_encoding, err) from err
    except (ValueError, TypeError, OverflowError) as err:  # e.g. a GeoJSON property holding a list of booleans
        raise nested_value_error(path, layer, err) from err
    check_plain_values(frame, path=path, layer=layer)
    return frame


def _choose_layer(path: Path, layer: str | None) -> str | None:
    if path.suffix.lower() not in _MULTI_LAYER:
        return layer
    names = list_layers(path)
    if layer is None:
        if len(names) == 1:
            return names[0]
        raise ReadError(
            f"holds {len(names)} layers; pass layer= one of: {', '.join(names) or '(none)'}",
            path=path,
        )
    if layer not in names:
        raise ReadError(
            f"has no layer {layer!r}; its layers are: {', '.join(names) or '(none)'}", path=path
        )
    return layer


def read_vector(path: Path, *, layer: str | None = None, encoding: str | None = None) -> RawLayer:
    """Read a GeoPackage, GeoJSON or shapefile layer as stored (declared CRS, original axes)."""
    layer = _choose_layer(path, layer)
    notes: list[str] = []
    if path.suffix.lower() == ".shp":
        _check_sidecars(path, notes)
    try:
        frame = _read(path, layer, encoding)
        used = encoding
    except ReadError as err:
        if encoding is not None or path.suffix.lower() != ".shp" or not isinstance(err.__cause__, UnicodeDecodeError):
            raise
        frame, used = _read_despite_cpg(path, err, notes)
    if encoding is None and used is None and path.suffix.lower() in (".shp", ".zip"):
        has_cpg = path.with_suffix(".cpg").exists() or path.with_suffix(".CPG").exists()
        guessed = detect_mojibake(frame)
        if guessed:
            frame = _read(path, layer, guessed)
            used = guessed
            message = (
                f"text was not readable as Latin-1{'' if not has_cpg else ' despite the .cpg'}: "
                f"decoded as {guessed.upper()} (pass encoding= to override)"
            )
            notes.append(message)
            warnings.warn(f"{where(path, layer=layer)}: {message}", EncodingGuessWarning, stacklevel=3)
    if path.suffix.lower() in (".geojson", ".json"):
        frame = _json_crs(path, layer, frame, notes)
    return RawLayer(frame=frame, encoding=used, notes=notes)


def _sidecar(path: Path, suffix: str) -> Path | None:
    for candidate in (path.with_suffix(suffix), path.with_suffix(suffix.upper())):
        if candidate.exists():
            return candidate
    return None


def _check_sidecars(path: Path, notes: list[str]) -> None:
    """A shapefile needs its ``.shx`` (refused without it) and ``.dbf`` (warned: no attributes)."""
    if _sidecar(path, ".shx") is None:
        raise ReadError(
            f"the index file {path.with_suffix('.shx').name} is missing; a shapefile is several files "
            "(.shp, .shx, .dbf, .prj, .cpg): copy them all",
            path=path,
        )
    if _sidecar(path, ".dbf") is None:
        message = f"the attribute file {path.with_suffix('.dbf').name} is missing: the layer has geometry only, no fields"
        notes.append(message)
        warnings.warn(f"{where(path)}: {message}", WlgeoWarning, stacklevel=4)


def _read_despite_cpg(path: Path, err: ReadError, notes: list[str]):
    """The ``.cpg`` names an encoding the text is not in (often UTF-8 over GBK): try GBK, say so."""
    cpg = _sidecar(path, ".cpg")
    declared = cpg.read_text(errors="replace").strip() if cpg is not None else "its declared encoding"
    for guess in ("gbk", "gb18030"):
        try:
            frame = _read(path, None, guess)
        except ReadError:
            continue
        message = f"the .cpg says {declared} but the text is not {declared}: decoded as {guess.upper()} (pass encoding= to override)"
        notes.append(message)
        warnings.warn(f"{where(path)}: {message}", EncodingGuessWarning, stacklevel=4)
        return frame, guess
    raise ReadError(
        f"the text is not {declared} as the .cpg says, nor GBK: pass the right encoding= (--encoding)", path=path
    ) from err


_JSON_DECLARATION = re.compile(rb'"(crs|spatialReference|coordRefSys)"\s*:')


def _json_declares_crs(path: Path) -> bool:
    """Whether a JSON file has a CRS member: GeoJSON ``crs``, ESRI ``spatialReference``, JSON-FG ``coordRefSys``."""
    with open(path, "rb") as handle:
        tail = b""
        for block in iter(lambda: handle.read(1 << 20), b""):
            if _JSON_DECLARATION.search(tail + block):
                return True
            tail = block[-24:]
    return False


def _json_crs(path: Path, layer, frame, notes: list[str]):
    """Use the JSON file's own CRS declaration; RFC 7946 WGS84 only for GeoJSON that declares none."""
    try:
        driver = pyogrio.read_info(path, layer=layer)["driver"]
    except (DataSourceError, DataLayerError):
        driver = "GeoJSON"
    kind = {"ESRIJSON": "ESRI JSON spatialReference", "JSONFG": "JSON-FG coordRefSys"}.get(driver, "GeoJSON crs")
    if not _json_declares_crs(path):
        if driver == "GeoJSON":
            return _geojson_default_crs(frame, notes)
        notes.append(f"{driver} file declares no CRS")
        return frame.set_crs(None, allow_override=True)
    if frame.crs is not None:
        notes.append(f"CRS from the file's {kind}: {crs_label(frame.crs)}")
        return frame
    declared = _read_json_declaration(path, layer)
    if declared is None:
        raise ReadError(f"the file has a {kind} member that GDAL could not read and wlgeo cannot either; pass crs=",
                        path=path, layer=layer)
    crs, text = declared
    notes.append(f"CRS from the file's {text} (GDAL did not read it): {crs_label(crs)}")
    return frame.set_crs(crs, allow_override=True)


def _crs_from_reference(value):
    """A CRS from ``wkid``/``latestWkid``/``wkt``, a URI, ``[EPSG:n]``, or a GeoJSON ``crs`` object."""
    from pyproj import CRS
    from pyproj.exceptions import CRSError as ProjCRSError

    candidates: list[str] = []
    if isinstance(value, dict):
        for key in ("latestWkid", "wkid"):
            if isinstance(value.get(key), int):
                candidates += [f"EPSG:{value[key]}", f"ESRI:{value[key]}"]
        if isinstance(value.get("wkt"), str):
            candidates.append(value["wkt"])
        for key in ("href", "name"):
            if isinstance(value.get(key), str):
                candidates.append(value[key])
        if isinstance(value.get("properties"), dict):
            props = value["properties"]
            candidates += [props[k] for k in ("name", "href") if isinstance(props.get(k), str)]
    elif isinstance(value, str):
        candidates.append(value.strip("[]"))
    elif isinstance(value, list) and value:
        return _crs_from_reference(value[0])
    for text in candidates:
        match = re.search(r"EPSG/\d+/(\d+)$|EPSG::?(\d+)$", text)
        if match:
            text = f"EPSG:{match.group(1) or match.group(2)}"
        try:
            return CRS.from_user_input(text)
        except (ProjCRSError, ValueError, TypeError):
            continue
    return None


def _read_json_declaration(path: Path, layer=None):
    """Read a JSON file's CRS member ourselves: top level, else every feature's (or its geometry's).

    Features that declare different CRSs are refused (GDAL reads such a file with no CRS at all).
    """
    import json

    try:
        with open(path, "rb") as handle:
            data = json.loads(handle.read().decode("utf-8-sig"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    members = (("spatialReference", "ESRI JSON spatialReference"), ("coordRefSys", "JSON-FG coordRefSys"),
               ("crs", "GeoJSON crs"))
    for member, text in members:
        if data.get(member) is not None:
            crs = _crs_from_reference(data[member])
            if crs is not None:
                return crs, text
    found: dict[str, tuple] = {}
    features = data.get("features") if isinstance(data.get("features"), list) else []
    for number, feature in enumerate(features, start=1):
        if not isinstance(feature, dict):
            continue
        places = [(feature, "features' ")]
        if isinstance(feature.get("geometry"), dict):
            places.append((feature["geometry"], "geometries' "))
        for place, where_ in places:
            hit = next(((m, t) for m, t in members if place.get(m) is not None), None)
            if hit is None:
                continue
            crs = _crs_from_reference(place[hit[0]])
            if crs is not None:
                found.setdefault(crs_label(crs), (crs, f"{where_}{hit[1]}", number))
            break
    if len(found) > 1:
        shown = ", ".join(f"{label} (feature {number})" for label, (_, _, number) in found.items())
        raise ReadError(f"its features declare different CRSs: {shown}; split the file by CRS, or pass crs=",
                        path=path, layer=layer)
    if found:
        crs, text, _ = next(iter(found.values()))
        return crs, text
    return None


def _geojson_default_crs(frame, notes: list[str]):
    """GeoJSON without ``crs`` is WGS84 by RFC 7946 — unless its numbers are plainly not degrees."""
    import shapely

    xy = shapely.get_coordinates(frame.geometry.values)
    noise = 1e-6  # x = 180.00000000000006 is still degrees
    if len(xy) and (np.abs(xy[:, 0]).max() > 180 + noise or np.abs(xy[:, 1]).max() > 90 + noise):
        notes.append("GeoJSON without a crs member holds metres, not degrees: the RFC 7946 WGS84 default does not apply")
        return frame.set_crs(None, allow_override=True)
    return frame
