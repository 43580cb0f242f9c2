"""Add a canonical layer to a pack GeoPackage, safely (``wlgeo import``).

The pack is never half-written: the existing pack is copied to a temporary file in the same
directory, the layer is written into the copy, the copy is checked, and only then does it
replace the pack with :func:`os.replace`. Any failure leaves the original pack as it was.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

import geopandas as gpd
import pyogrio

from wlgeo.model.errors import OPTION_SLOT, LayerError, OutputError, ReadError
from wlgeo.model.schema import LAYER_NAMES, LAYERS
from wlgeo.io.gpkg import layer_identifier
from wlgeo.io.read import read_layer
from wlgeo.io.vector import list_layers
from wlgeo.io.atomic import atomic_path
from wlgeo.io.paths import gdal_path

__all__ = ["ImportResult", "add_layer", "import_layer", "canonical_columns"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImportResult:
    """What :func:`import_layer` did."""

    pack: Path
    layer: str
    features: int
    replaced: bool
    notes: list[str] = field(default_factory=list)


def _strip_unit(alias: str) -> str:
    return alias.split("(")[0].split("（")[0].strip()


def canonical_columns(frame: gpd.GeoDataFrame, name: str) -> tuple[gpd.GeoDataFrame, dict[str, str]]:
    """Rename columns named by a Chinese alias of layer ``name``'s fields to the canonical names.

    A column is renamed when it equals a field's alias (``矿山编号`` → ``quarry_id``), with or
    without the bracketed unit (``生产规模`` → ``capacity``), the canonical name in another
    case (``Quarry_ID``) or cut to a shapefile's 10 characters (``license_en`` →
    ``license_end``), and the canonical column is not already there. Returns the renamed copy
    and the mapping used.
    """
    spec = LAYERS[name]
    columns = [c for c in frame.columns if c != frame.geometry.name]
    mapping: dict[str, str] = {}
    for fs in spec.fields:
        if fs.name in frame.columns:
            continue
        candidates = {fs.alias_zh, _strip_unit(fs.alias_zh), fs.name.lower()}
        if len(fs.name) > 10:
            candidates.add(fs.name[:10])  # a shapefile (DBF) cuts field names at 10 characters
        for column in columns:
            if column in mapping:
                continue
            if str(column).strip() in candidates or str(column).strip().lower() == fs.name:
                mapping[column] = fs.name
                break
    return frame.rename(columns=mapping), mapping


def _check_pack_target(pack: Path, name: str, *, overwrite: bool) -> bool:
    """Return whether the pack already has layer ``name``; raise when it cannot take it."""
    if name not in LAYER_NAMES:
        raise LayerError(f"unknown layer {name!r}; canonical layers are: {', '.join(LAYER_NAMES)}")
    if pack.suffix.lower() != ".gpkg":
        raise OutputError("a pack written by wlgeo import is a GeoPackage: give a .gpkg path", path=pack)
    if not pack.exists():
        if not pack.parent.is_dir():
            raise OutputError(f"directory {pack.parent} does not exist", path=pack)
        return False
    if pack.is_dir():
        raise OutputError("is a directory; give the path of a .gpkg file", path=pack)
    if pack.stat().st_size == 0:
        raise ReadError("pack file is empty (0 bytes); remove it or give another path", path=pack)
    existing = list_layers(pack)
    if name in existing and not overwrite:
        raise OutputError(f"already has layer '{name}'; pass {OPTION_SLOT} to replace it", path=pack, option="overwrite")
    return name in existing


def add_layer(
    pack: str | PathLike,
    name: str,
    frame: gpd.GeoDataFrame,
    *,
    overwrite: bool = False,
) -> bool:
    """Write ``frame`` as canonical layer ``name`` into the pack GeoPackage, atomically.

    Parameters
    ----------
    pack : the pack ``.gpkg``; created when missing (its directory must exist).
    name : canonical layer name (``quarries``, ``red_line``, ...).
    frame : the layer, in the pack's working CRS (as :func:`wlgeo.read_layer` returns it).
    overwrite : replace an existing layer of that name; without it that is an error.

    Returns
    -------
    bool
        True when an existing layer was replaced.

    Raises
    ------
    OutputError
        The pack path is not a ``.gpkg``, is a directory, already has the layer (without
        ``overwrite``), or writing failed. The original pack is untouched.
    ReadError
        The existing pack cannot be opened (truncated, not a GeoPackage).
    """
    pack = Path(pack)
    replaced = _check_pack_target(pack, name, overwrite=overwrite)
    if frame.crs is None:
        raise LayerError("has no CRS; read it through wlgeo.read_layer first", layer=name)
    with atomic_path(pack, what=f"layer '{name}'") as tmp:
        if pack.exists():
            shutil.copyfile(pack, tmp)
        with gdal_path(tmp) as opened:  # a folder with '!' is not an archive
            frame.to_file(
                opened,
                layer=name,
                driver="GPKG",
                engine="pyogrio",
                layer_options={"IDENTIFIER": layer_identifier(name), "DESCRIPTION": f"{LAYERS[name].alias_zh} {name}"},
            )
        if name not in list_layers(tmp):
            raise OutputError(f"layer '{name}' is missing after writing", path=pack)
    log.info("%s layer %s (%d features) in %s", "replaced" if replaced else "added", name, len(frame), pack)
    return replaced


def _pack_crs(pack: Path):
    """The CRS of an existing pack's layers (boundary, else quarries, else the first), or ``None``."""
    if not pack.exists():
        return None
    names = list_layers(pack)
    for name in [n for n in ("boundary", "quarries") if n in names] + names:
        try:
            crs = pyogrio.read_info(pack, layer=name)["crs"]
        except Exception:  # noqa: BLE001 - an odd layer: try the next
            continue
        if crs:
            return crs
    return None


def import_layer(
    source: str | PathLike,
    pack: str | PathLike,
    *,
    as_layer: str,
    layer: str | None = None,
    encoding: str | None = None,
    crs=None,
    gcj02: bool = False,
    overwrite: bool = False,
    rename: bool = True,
) -> ImportResult:
    """Read ``source`` through :func:`wlgeo.read_layer` and add it to a pack as ``as_layer``.

    Parameters
    ----------
    source : any file :func:`wlgeo.read_layer` reads (GeoPackage, shapefile, GeoJSON, 部标 TXT,
        corner table).
    pack : the pack GeoPackage (created when missing).
    as_layer : canonical layer name to store it under.
    layer, encoding, crs, gcj02 : passed to :func:`wlgeo.read_layer` (into the CRS of the pack's
        existing layers; into the zone holding the data for a new pack).
    overwrite : replace an existing layer of that name.
    rename : rename columns named by the layer's Chinese aliases to canonical names
        (see :func:`canonical_columns`); each rename is recorded in the notes.

    Returns
    -------
    ImportResult
        With the notes of reading (encoding guessed, CRS assumed, ...) and of renaming.

    Examples
    --------
    >>> import_layer("采矿权.shp", "pack.gpkg", as_layer="quarries")  # doctest: +SKIP
    ImportResult(pack=PosixPath('pack.gpkg'), layer='quarries', features=12, replaced=False, notes=[...])
    """
    pack = Path(pack)
    _check_pack_target(pack, as_layer, overwrite=overwrite)  # fail before the (slow) read
    frame = read_layer(source, layer=layer, encoding=encoding, crs=crs, gcj02=gcj02, working_crs=_pack_crs(pack))
    notes = list(frame.attrs.get("wlgeo_notes", []))
    if rename:
        frame, mapping = canonical_columns(frame, as_layer)
        notes.extend(f"column '{old}' renamed to '{new}'" for old, new in mapping.items())
    replaced = add_layer(pack, as_layer, frame, overwrite=overwrite)
    return ImportResult(pack, as_layer, len(frame), replaced, notes)
