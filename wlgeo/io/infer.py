"""Guess which raw file is which canonical layer, and how its fields and values map (``wlgeo init``).

A district bureau receives a folder such as ``武隆区采矿权2024.shp`` (GBK, Chinese field names),
``生态保护红线.gpkg``, ``交通道路.shp`` (``道路等级`` = 高速公路 / 国道 …), a few 部标 TXT files, an
XLSX of corners, a DEM and some photos. :func:`scan_folder` opens every spatial file through
:func:`wlgeo.read_layer` (so encodings and CRSs are found as they will be when the catalog is
read) and :func:`propose_catalog` judges each layer from

* its file, layer and folder names (Chinese, English and the usual pinyin initials), and
* its geometry, field names and values when the names say nothing (a polygon layer with
  capacity and licence dates is quarries; lines whose values are 高速公路 / 国道 are roads).

Every guess carries its evidence and a confidence; nothing is dropped silently: files that
could not be placed are returned with the reason. The proposal is written as a catalog by
:mod:`wlgeo.io.catalog_toml`.
"""

from __future__ import annotations

import logging
import os
import re
import unicodedata
import warnings
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from wlgeo.model.errors import CRSError, WlgeoError
from wlgeo.model.schema import LAYERS, PLAN_OUTPUT_LAYERS
from wlgeo.model.values import id_text, is_missing, parse_bool_series, parse_date_series, parse_number_series
from wlgeo.io.mapping import value_key
from wlgeo.io.read import SUPPORTED_SUFFIXES, read_layer
from wlgeo.io.append import canonical_columns
from wlgeo.io.bubiao import read_bubiao
from wlgeo.io.corners import read_corner_table
from wlgeo.io.vector import detect_mojibake
from wlgeo.io.vector import list_layers
from wlgeo.io.vector import read_vector

__all__ = [
    "LayerProbe",
    "Guess",
    "FieldChoice",
    "LayerProposal",
    "Unplaced",
    "CatalogProposal",
    "scan_folder",
    "propose_catalog",
    "LAYER_KEYWORDS",
    "FIELD_SYNONYMS",
    "VALUE_VOCABULARY",
    "MAX_FILES",
]

log = logging.getLogger(__name__)

Confidence = Literal["high", "medium", "low"]

MAX_FILES = 2000
"""Spatial files opened at most; the rest are listed as not opened (``max_files=`` changes it)."""
LARGE_FILE_BYTES = 256 * 1024 * 1024
"""Vector files larger than this are sampled (first rows) rather than read whole."""
SAMPLE_ROWS = 2000
"""Rows of a layer whose values are inspected."""

RASTER_SUFFIXES = (".tif", ".tiff", ".img", ".asc", ".vrt")
ARCHIVE_SUFFIXES = (".zip",)
_SIDECARS = (
    ".dbf", ".shx", ".prj", ".cpg", ".sbn", ".sbx", ".qix", ".fix", ".qmd", ".qpj", ".atx", ".ain", ".aih",
    ".aux.xml", ".ovr", ".tfw", ".tifw", ".xml", ".msk", ".rrd", ".shp.xml", ".mtd",
)
"""Files that belong to a shapefile or raster beside them, not layers of their own."""

_CONVERT = "convert it to GeoPackage or shapefile (e.g. ogr2ogr -f GPKG out.gpkg '{}') and run wlgeo init again"
_OTHER_GIS = {
    ".dwg": "a CAD drawing (.dwg): export its layers to shapefile or GeoPackage in CAD/ArcGIS and run wlgeo init again",
    ".dxf": "a CAD drawing (.dxf): " + _CONVERT.format("FILE.dxf"),
    ".tab": "a MapInfo table (.tab): " + _CONVERT.format("FILE.tab"),
    ".mif": "a MapInfo interchange file (.mif): " + _CONVERT.format("FILE.mif"),
    ".kml": "a KML file: " + _CONVERT.format("FILE.kml"),
    ".kmz": "a KMZ file: " + _CONVERT.format("FILE.kmz"),
    ".mdb": "a personal geodatabase (.mdb): export its layers to GeoPackage or shapefile in ArcGIS",
    ".gml": "a GML file: " + _CONVERT.format("FILE.gml"),
    ".parquet": "a (Geo)Parquet file: name it in the catalog by hand if it is a layer (wlgeo init does not open Parquet)",
    ".qgz": "a QGIS project: open its layers' files instead (they are scanned when inside the folder)",
    ".qgs": "a QGIS project: open its layers' files instead (they are scanned when inside the folder)",
    ".mxd": "an ArcMap document: it holds no data; its layers' files are scanned when inside the folder",
    ".aprx": "an ArcGIS Pro project: it holds no data; its layers' files are scanned when inside the folder",
}
"""GIS formats the reader does not open, with what to do."""

# ----------------------------------------------------------------------------- vocabularies
LAYER_KEYWORDS: dict[str, tuple[str, ...]] = {
    "quarries": ("采矿权", "矿业权", "采矿许可", "矿山", "采石场", "石场", "拐点", "ckq", "kyq", "quarr", "mining", "mine"),
    "red_line": ("生态保护红线", "生态红线", "红线", "sthx", "stbhhx", "redline", "red_line", "ecological"),
    "farmland": ("永久基本农田", "基本农田", "jbnt", "yjjbnt", "farmland"),
    "protected_areas": (
        "自然保护地", "自然保护区", "保护区", "保护地", "风景名胜区", "风景区", "森林公园", "地质公园", "世界遗产",
        "世界自然遗产", "湿地公园", "水源保护", "zrbhd", "protected", "reserve", "scenic", "heritage", "forest_park", "geopark",
    ),
    "settlements": ("居民点", "村庄", "聚落", "居民地", "jmd", "settlement", "village", "residen"),
    "roads": ("道路", "公路", "铁路", "交通", "高速", "国道", "省道", "road", "highway", "railway", "rail", "transport", "street_line"),
    "rivers": ("河流", "水系", "河道", "江河", "水域", "river", "stream", "hydro", "water_line"),
    "towns": ("乡镇", "街道", "镇界", "乡镇界", "乡镇行政区", "乡镇街道", "town", "township"),
    "boundary": ("区界", "县界", "行政区", "行政界", "区县界", "边界", "xzq", "boundary", "district", "county", "admin"),
    "parks": ("园区", "产业园", "工业园", "park"),
    "bases": ("基地", "base"),
    "ports": ("码头", "港口", "港区", "port", "wharf", "harbo", "pier"),
    "resource_zones": ("资源", "矿产分布", "分布区", "resource", "mineral", "deposit"),
    "planning_blocks": ("开采规划区块", "规划区块", "开采区块", "planning_block", "block"),
    "dem": ("高程", "地形", "dem", "dtm", "dsm", "elev", "srtm", "aster"),
}
"""Words in a file, layer or folder name that point to a canonical layer (longest match wins)."""

_WEAK_KEYWORDS: dict[str, tuple[str, ...]] = {"farmland": ("耕地", "cropland", "农田")}
"""Words that only hint at a layer (耕地 is land use, not 永久基本农田): a low-confidence candidate."""
_NOT_DEM_WORDS = ("坡度", "坡向", "山体阴影", "晕渲", "影像", "遥感", "slope", "aspect", "hillshade", "ortho", "dom", "landuse", "土地利用", "ndvi")
_PARK_WORDS_NOT_PARKS = ("森林公园", "地质公园", "湿地公园", "forest_park", "geopark")


def _syn(*names: str) -> tuple[str, ...]:
    return names


FIELD_SYNONYMS: dict[str, dict[str, tuple[str, ...]]] = {
    "quarries": {
        "quarry_id": _syn("矿山编号", "矿权编号", "采矿权编号", "矿山代码", "矿区编号", "编号", "ksbh", "kqbh", "id", "code", "地块编号", "parcel_id"),
        "license_no": _syn("采矿许可证号", "许可证号", "采矿证号", "证号", "许可证编号", "xkzh", "xkzbh", "license"),
        "name": _syn("矿山名称", "矿区名称", "矿名", "名称", "ksmc", "mc", "name"),
        "owner": _syn("采矿权人", "矿业权人", "权利人", "企业名称", "业主", "cqkr", "ckqr", "qlr", "owner"),
        "capacity": _syn("生产规模", "核定规模", "设计规模", "年产量", "产能", "规模", "scgm", "capacity", "output"),
        "license_end": _syn("有效期止", "有效期至", "有效期截止", "截止日期", "到期日期", "到期时间", "有效止", "终止日期", "yxqz", "end_date", "expiry", "expires"),
        "license_start": _syn("有效期起", "有效期自", "起始日期", "发证日期", "有效起", "开始日期", "yxqq", "start_date", "issued"),
        "mineral": _syn("开采矿种", "主矿种", "矿种", "矿产", "kckz", "kz", "mineral"),
        "town": _syn("所在乡镇", "所属乡镇", "乡镇", "乡镇街道", "街道", "szxz", "xz", "town"),
        "reserves": _syn("保有资源量", "保有储量", "资源储量", "资源量", "储量", "byzyl", "zycl", "reserves"),
        "status": _syn("生产状态", "开采状态", "矿山状态", "状态", "zt", "kczt", "sczt", "status"),
    },
    "towns": {
        "town": _syn("乡镇名称", "乡镇", "街道", "乡镇街道", "名称", "xzmc", "mc", "name", "town"),
        "code": _syn("行政代码", "行政区代码", "区划代码", "代码", "编码", "xzdm", "code"),
    },
    "boundary": {"name": _syn("名称", "行政区名称", "区县名称", "区县", "xzqmc", "mc", "name")},
    "red_line": {"category": _syn("红线类型", "类型", "类别", "功能类型", "主导功能", "category", "type")},
    "protected_areas": {
        "kind": _syn("保护地类型", "类型", "类别", "保护地类别", "bhdlx", "lx", "kind", "type", "category"),
        "name": _syn("保护地名称", "名称", "mc", "name"),
        "zone": _syn("功能分区", "分区", "功能区", "gnfq", "fq", "zone"),
    },
    "settlements": {
        "name": _syn("居民点名称", "村庄名称", "名称", "村名", "mc", "name"),
        "population": _syn("人口", "户籍人口", "常住人口", "人口数", "rk", "hjrk", "czrk", "population", "pop"),
    },
    "roads": {
        "kind": _syn("道路等级", "公路等级", "等级", "类型", "类别", "道路类型", "dldj", "dj", "lx", "kind", "class", "type", "grade"),
        "name": _syn("道路名称", "名称", "路名", "dlmc", "mc", "name"),
    },
    "rivers": {
        "name": _syn("河流名称", "河名", "名称", "hlmc", "mc", "name"),
        "main": _syn("是否干流", "干流", "主干", "是否主干", "sfgl", "gl", "main", "is_main", "mainstream"),
    },
    "parks": {
        "name": _syn("园区名称", "名称", "mc", "name"),
        "role": _syn("定位", "园区定位", "类型", "功能定位", "role", "type"),
    },
    "bases": {"name": _syn("基地名称", "名称", "mc", "name")},
    "ports": {"name": _syn("港口名称", "码头名称", "名称", "mc", "name")},
    "resource_zones": {
        "mineral": _syn("矿种", "主矿种", "矿产", "mineral"),
        "grade": _syn("品级", "级别", "质量", "grade"),
    },
    "planning_blocks": {"block_id": _syn("区块编号", "规划区块编号", "编号", "qkbh", "block_id", "id")},
}
"""Usual source field names for each canonical field (compared without spaces, brackets and case)."""

VALUE_VOCABULARY: dict[tuple[str, str], tuple[tuple[str, object], ...]] = {
    ("roads", "kind"): (
        ("高速公路", "expressway"), ("高速铁路", "railway"), ("高速", "expressway"), ("高铁", "railway"),
        ("铁路", "railway"), ("国道", "national"), ("省道", "provincial"), ("县道", "county"), ("乡道", "township"),
        ("乡村道路", "township"),
        ("motorway", "expressway"), ("rail", "railway"),
    ),
    ("protected_areas", "kind"): (
        ("世界自然遗产", "world_heritage"), ("世界文化遗产", "world_heritage"), ("世界遗产", "world_heritage"),
        ("自然保护区", "nature_reserve"), ("风景名胜区", "scenic_area"), ("风景区", "scenic_area"),
        ("森林公园", "forest_park"), ("地质公园", "geopark"), ("饮用水水源保护区", "water_source"),
        ("饮用水源保护区", "water_source"), ("水源保护区", "water_source"), ("水源地", "water_source"),
        ("nature reserve", "nature_reserve"), ("world heritage", "world_heritage"), ("scenic", "scenic_area"),
        ("forest park", "forest_park"), ("geopark", "geopark"), ("geological park", "geopark"),
        ("drinking water", "water_source"), ("water source", "water_source"),
    ),
    ("parks", "role"): (("核心", "core"), ("一般", "park"), ("园区", "park"), ("产业园", "park")),
}
"""Usual Chinese forms of enumerated values (substring, longest first) → canonical value."""

_RED_LINE_CATEGORIES = ("水源涵养", "生物多样性", "水土保持", "水土流失", "石漠化", "防风固沙", "海岸", "红线")
_ZONE_VALUES = ("核心区", "缓冲区", "实验区", "一般控制区", "核心保护区", "一级保护区", "二级保护区")
_TOWN_END = re.compile(r"(镇|乡|街道|街道办事处|办事处)$")
_DISTRICT_END = re.compile(r"(区|县|市|自治县)$")
_RIVER_END = re.compile(r"(江|河|溪|水|川|沟|渠)$")
_VILLAGE_END = re.compile(r"(村|组|社区|寨|院子|湾|坝|坪|场|堡|驻地|居委会|[）)])$")
_QUARRY_NAME = re.compile(r"(采石场|石场|石料厂|矿山|矿|采区|石厂)$")
_PARK_END = re.compile(r"(园|园区|产业园|工业园)$")
_BASE_END = re.compile(r"基地$")
_PORT_END = re.compile(r"(港|码头|港口|港区|作业区|物流|集散中心)$")
_MINERAL_WORDS = ("灰岩", "白云岩", "砂岩", "页岩", "花岗岩", "石英", "矿", "limestone", "dolomite", "sandstone")
_LICENSE_NO = re.compile(r"^C\d{15,}$", re.IGNORECASE)

# ----------------------------------------------------------------------------- data model


@dataclass
class LayerProbe:
    """One readable layer of one file, as :func:`wlgeo.read_layer` returned it.

    ``frame`` is a sample (at most :data:`SAMPLE_ROWS` rows) in the working CRS; ``count`` the
    number of features; ``encoding``/``crs`` what the catalog must say so that the file reads
    the same on any machine (``None`` when the file says it itself).
    """

    path: Path
    layer: str | None
    kind: Literal["vector", "survey", "table", "raster"]
    geometry: str | None
    count: int
    frame: gpd.GeoDataFrame | None = None
    encoding: str | None = None
    crs: str | None = None
    notes: list[str] = field(default_factory=list)
    raster: dict | None = None
    siblings: int = 1
    """Layers in the same file (a GeoPackage's layer names then say more than its file name)."""
    crs_problem: str | None = None
    """Why the reader could not place the coordinates (the catalog must then give ``crs =``)."""

    rel: str | None = None
    """The path relative to the folder scanned, for messages."""

    @property
    def label(self) -> str:
        return (self.rel or self.path.name) + (f" layer '{self.layer}'" if self.layer_option else "")

    @property
    def layer_option(self) -> str | None:
        """The ``layer =`` the catalog needs: only when the file holds several layers (or sheets)."""
        return self.layer if self.siblings > 1 else None

    @property
    def columns(self) -> list[str]:
        if self.frame is None:
            return []
        return [str(c) for c in self.frame.columns if c != self.frame.geometry.name]


@dataclass
class Guess:
    """A canonical layer (or ``dem``) proposed for a probe, with its score and evidence."""

    layer: str
    score: float
    evidence: list[str]

    @property
    def confidence(self) -> Confidence:
        if self.score >= 0.8:
            return "high"
        if self.score >= 0.45:
            return "medium"
        return "low"

    def describe(self) -> str:
        return f"{self.layer} ({self.confidence}: {'; '.join(self.evidence)})"


@dataclass
class FieldChoice:
    """One canonical field taken from one source column, and any other column that looked like it."""

    canonical: str
    source: str
    evidence: str
    others: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class LayerProposal:
    """One ``[layers.X]`` (or ``[dem]``) entry of the proposed catalog."""

    name: str
    probes: list[LayerProbe]
    guess: Guess
    fields: list[FieldChoice] = field(default_factory=list)
    values: dict[str, dict[str, object]] = field(default_factory=dict)
    value_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    unmapped: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    units: dict[str, tuple[str, str]] = field(default_factory=dict)
    needs_density: bool = False
    missing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    why_not_active: str | None = None

    @property
    def field_map(self) -> dict[str, str]:
        return {c.canonical: c.source for c in self.fields}

    @property
    def key(self) -> tuple:
        """What must be equal for several files to share one entry (a ``path`` list)."""
        probe = self.probes[0]
        units = tuple(sorted((k, v[0]) for k, v in self.units.items()))
        return (probe.kind, probe.layer_option, probe.encoding, probe.crs, tuple(sorted(self.field_map.items())), units)


@dataclass
class Unplaced:
    """A file (or layer) the proposal does not use, why, and what it might be."""

    path: Path
    reason: str
    layer: str | None = None
    candidates: list[Guess] = field(default_factory=list)


@dataclass
class CatalogProposal:
    """What :func:`propose_catalog` found in a folder.

    Attributes
    ----------
    folder : the folder scanned.
    layers : canonical name → the proposed entry (the best candidate).
    alternatives : other candidates for a layer already proposed (written commented out).
    dem : the proposed DEM entry, if a raster fits.
    unplaced : files and layers not used, with the reason and any low-confidence candidates.
    scanned : number of files looked at (sidecars included).
    notes : remarks about the scan as a whole (limits reached, loops skipped).
    """

    folder: Path
    layers: dict[str, LayerProposal] = field(default_factory=dict)
    alternatives: list[LayerProposal] = field(default_factory=list)
    dem: LayerProposal | None = None
    unplaced: list[Unplaced] = field(default_factory=list)
    scanned: int = 0
    notes: list[str] = field(default_factory=list)
    read: int = 0
    """Layers (and rasters) opened successfully, placed or not."""


@dataclass
class _Scan:
    probes: list[LayerProbe]
    unplaced: list[Unplaced]
    scanned: int
    notes: list[str]


# ----------------------------------------------------------------------------- scanning
def _display_name(name: str) -> tuple[str, bool]:
    """A file name as shown, and whether it is valid UTF-8 (names in GBK bytes are not)."""
    try:
        name.encode("utf-8")
        return name, True
    except UnicodeEncodeError:
        raw = os.fsencode(name)
        for encoding in ("gbk", "gb18030", "big5"):
            try:
                return raw.decode(encoding), False
            except UnicodeDecodeError:
                continue
        return raw.decode("utf-8", errors="replace"), False


def _suffix(name: str) -> str:
    lower = name.lower()
    for double in (".aux.xml", ".shp.xml"):
        if lower.endswith(double):
            return double
    return os.path.splitext(lower)[1]


def _walk(folder: Path, skip: set[Path], notes: list[str], unplaced: list[Unplaced]) -> list[Path]:
    """Every file under ``folder`` (following symlinked folders once; loops skipped, noted).

    A folder whose name is not UTF-8 (GBK bytes) is not entered: a catalog cannot name the files
    inside it; it is listed with the advice to rename it.
    """
    seen: set[tuple[int, int]] = set()
    files: list[Path] = []

    def visit(directory: Path) -> None:
        try:
            stat = directory.stat()
        except OSError as err:
            notes.append(f"{directory}: cannot be opened ({err.strerror or err}); skipped")
            return
        key = (stat.st_dev, stat.st_ino)
        if key in seen:
            notes.append(f"{directory}: a link back to a folder already scanned (symlink loop); skipped")
            return
        seen.add(key)
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as err:
            notes.append(f"{directory}: cannot be listed ({err.strerror or err}); skipped")
            return
        for entry in entries:
            if entry.name.startswith(".") or entry.name in ("__MACOSX", "__pycache__"):
                continue
            path = Path(entry.path)
            try:
                is_dir = entry.is_dir(follow_symlinks=True)
                is_file = entry.is_file(follow_symlinks=True)
            except OSError:
                is_dir = is_file = False
            if is_dir and path.suffix.lower() != ".gdb":
                shown, utf8 = _display_name(entry.name)
                if not utf8:
                    unplaced.append(Unplaced(path.parent / shown, "the folder name is not UTF-8 (GBK bytes): its files were "
                                             "not opened; rename it to UTF-8 (e.g. `convmv -f gbk -t utf-8 --notest -r "
                                             "FOLDER`) and run wlgeo init again"))
                    continue
                visit(path)
            elif is_file or path.suffix.lower() == ".gdb":
                if path.resolve() not in skip:
                    files.append(path)
            else:
                notes.append(f"{path}: a broken link or special file; skipped")

    visit(folder)
    return files


def scan_folder(
    folder: str | os.PathLike,
    *,
    skip: tuple[Path, ...] = (),
    max_files: int = MAX_FILES,
    progress: Callable[[int, int, str], None] | None = None,
) -> _Scan:
    """Open every spatial file under ``folder``; return the layers read and the files not usable.

    Parameters
    ----------
    folder : the folder to scan (recursively).
    skip : files to leave out (the catalog being written).
    max_files : open at most this many spatial files; the rest are listed as not opened.
    progress : called as ``progress(done, total, file name)`` after each file.
    """
    folder = Path(folder)
    notes: list[str] = []
    probes: list[LayerProbe] = []
    unplaced: list[Unplaced] = []
    paths = _walk(folder, {p.resolve() for p in skip}, notes, unplaced)
    stems = {(p.parent, p.stem.lower()) for p in paths if p.suffix.lower() in (".shp", *RASTER_SUFFIXES)}
    work: list[Path] = []
    for path in paths:
        shown, utf8 = _display_name(path.name)
        suffix = _suffix(path.name)
        if not utf8:
            candidates = _name_guesses([Path(shown).stem])
            unplaced.append(
                Unplaced(
                    path.parent / shown,
                    "the file name is not UTF-8 (GBK bytes); rename it to UTF-8 (e.g. `convmv -f gbk -t utf-8 --notest -r "
                    "FOLDER`, or copy it on Windows) and run wlgeo init again",
                    candidates=candidates,
                )
            )
            continue
        if suffix in _SIDECARS:
            stem = path.name[: -len(suffix)].lower()
            if (path.parent, stem) in stems or (path.parent, Path(stem).stem) in stems:
                continue  # part of a shapefile or raster beside it
            if suffix in (".dbf", ".shx", ".prj", ".cpg"):
                unplaced.append(Unplaced(path, f"a shapefile part ({suffix}) without its .shp"))
                continue
        if suffix in SUPPORTED_SUFFIXES or suffix in RASTER_SUFFIXES or suffix in ARCHIVE_SUFFIXES:
            work.append(path)
        elif path.suffix.lower() == ".gdb" and ".gdb" not in SUPPORTED_SUFFIXES:
            unplaced.append(Unplaced(path, "an Esri FileGDB: export its layers to GeoPackage or shapefile (wlgeo does not read .gdb yet)"))
        elif suffix in _OTHER_GIS:
            unplaced.append(Unplaced(path, _OTHER_GIS[suffix], candidates=_name_guesses([path.stem])))
        else:
            unplaced.append(Unplaced(path, f"not a spatial file type ({suffix or 'no extension'})"))
    if len(work) > max_files:
        for path in work[max_files:]:
            unplaced.append(Unplaced(path, f"not opened: more than {max_files} spatial files (raise max_files / --max-files)"))
        notes.append(f"{len(work)} spatial files found; only the first {max_files} were opened")
        work = work[:max_files]
    for done, path in enumerate(work, start=1):
        try:
            found, missed = _probe_file(path)
        except Exception as err:  # noqa: BLE001 - one bad file never stops the scan
            log.debug("probing %s failed", path, exc_info=True)
            found, missed = [], [Unplaced(path, f"cannot be read: {_reason(err)}")]
        for probe in found:
            probe.rel = _relative(path, folder)
        probes.extend(found)
        unplaced.extend(missed)
        if progress is not None:
            progress(done, len(work), path.name)
    probes = _place_by_the_others(probes, notes)
    return _Scan(probes, unplaced, len(paths), notes)


def _place_by_the_others(probes: list[LayerProbe], notes: list[str]) -> list[LayerProbe]:
    """Layers whose zone the reader cannot know on their own (Gauss-Kruger metres with no CRS, no
    zone number and no prefix) are read in the zone where the folder's other layers lie, when
    they agree on one; the catalog then writes that ``crs =`` with the evidence."""
    from collections import Counter

    zones = Counter(
        probe.frame.crs.to_epsg()
        for probe in probes
        if probe.crs_problem is None and probe.frame is not None and getattr(probe.frame, "crs", None) is not None
        and probe.frame.crs.is_projected and probe.frame.crs.to_epsg()
    )
    if not zones or not any(p.crs_problem for p in probes):
        return probes
    epsg, _ = zones.most_common(1)[0]
    out = []
    for probe in probes:
        if probe.crs_problem and probe.kind != "raster":
            retried = _probe_vector(probe.path, probe.layer, working_crs=f"EPSG:{epsg}")
            if retried.crs_problem is None:
                retried.rel = probe.rel
                retried.notes.append(f"no zone in the file: read in EPSG:{epsg}, the zone of the folder's other "
                                     f"layers ({zones[epsg]} layer(s)); check it")
                notes.append(f"{probe.label}: zone unknown on its own, read in EPSG:{epsg} like the other layers")
                out.append(retried)
                continue
        out.append(probe)
    return out


def _relative(path: Path, folder: Path) -> str:
    try:
        return path.relative_to(folder).as_posix()
    except ValueError:
        return path.name


def _reason(err: BaseException) -> str:
    if isinstance(err, WlgeoError):
        return err.message
    text = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return f"{type(err).__name__}: {text}"[:300] if not text else text[:300]


def _probe_file(path: Path) -> tuple[list[LayerProbe], list[Unplaced]]:
    suffix = path.suffix.lower()
    if path.is_file() and path.stat().st_size == 0:
        return [], [Unplaced(path, "the file is empty (0 bytes)")]
    if suffix in RASTER_SUFFIXES:
        return _probe_raster(path)
    if suffix in ARCHIVE_SUFFIXES and suffix not in SUPPORTED_SUFFIXES:
        return _probe_zip(path)
    tables: list[Unplaced] = []
    siblings = None
    if suffix in (".gpkg", ".gdb"):
        layers: list[str | None] = list(list_layers(path))
        geometry_types = _geometry_types(path)
        tables = [
            Unplaced(path, "a table without geometry (not a layer)", layer=name)
            for name in layers
            if name in geometry_types and geometry_types[name] is None
        ]
        siblings = len(layers)  # the reader needs layer= whenever the file lists several, tables included
        tables += [
            Unplaced(path, "a layer a wlgeo run writes (plan output), not an input", layer=name)
            for name in layers
            if name in PLAN_OUTPUT_LAYERS and name not in {t.layer for t in tables}
        ]
        layers = [name for name in layers if name not in {t.layer for t in tables}]
        if not layers:
            return [], tables or [Unplaced(path, "a GeoPackage with no vector layer")]
    elif suffix == ".xlsx":
        layers = _sheets(path)
    else:
        layers = [None]
    probes, missed = [], list(tables)
    for layer in layers:
        try:
            probes.append(_probe_vector(path, layer))
            probes[-1].siblings = siblings or len(layers)
        except Exception as err:  # noqa: BLE001
            log.debug("probing %s %s failed", path, layer, exc_info=True)
            missed.append(Unplaced(path, _not_read_reason(path, err), layer=layer))
    return probes, missed


def _geometry_types(path: Path) -> dict[str, str | None]:
    """Layer name → geometry type (``None`` for attribute tables); empty when GDAL cannot say."""
    import pyogrio

    try:
        return {str(name): (None if kind is None else str(kind)) for name, kind in pyogrio.list_layers(path)}
    except Exception:  # noqa: BLE001 - list_layers above already said whether it opens
        return {}


def _sheets(path: Path) -> list[str | None]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True)
    except Exception:  # noqa: BLE001 - read_layer will say why
        return [None]
    try:
        names = list(book.sheetnames)
    finally:
        book.close()
    return names if len(names) > 1 else [None]


def _not_read_reason(path: Path, err: BaseException) -> str:
    suffix = path.suffix.lower()
    reason = _reason(err)
    if suffix in (".csv", ".xlsx", ".xls") and "corner-table" in reason:
        return "a table without corner-point columns (not a layer): " + reason.split(". Accepted")[0]
    if suffix == ".txt" and ("[地块坐标]" in reason or "部标" in reason or "section" in reason):
        return "a text file that is not a 部标 survey file: " + reason
    reason = reason.split("; It might help")[0].rstrip(".")
    return reason if reason.startswith("cannot be") else f"cannot be read: {reason}"


def _geometry_kind(frame: gpd.GeoDataFrame) -> str | None:
    types = frame.geometry.geom_type.dropna()
    if types.empty:
        return None
    kinds = types.map(
        lambda t: "polygon" if "Polygon" in t else "line" if "LineString" in t else "point" if "Point" in t else "other"
    )
    return kinds.value_counts().index[0]


def _probe_vector(path: Path, layer: str | None, working_crs=None) -> LayerProbe:
    suffix = path.suffix.lower()
    kind = "survey" if suffix == ".txt" else "table" if suffix in (".csv", ".xlsx", ".xls") else "vector"
    if kind == "vector" and path.stat().st_size > LARGE_FILE_BYTES:
        return _probe_large(path, layer)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        try:
            frame = read_layer(path, layer=layer, working_crs=working_crs)
        except CRSError as err:
            return _probe_unplaced_crs(path, layer, kind, err)
    notes = list(frame.attrs.get("wlgeo_notes", []))  # the warnings caught say the same
    source = frame.attrs.get("wlgeo_source", {})
    encoding = source.get("encoding")
    crs = _crs_to_write(path, layer, kind, source.get("crs"))
    count = len(frame)
    sample = frame.iloc[:SAMPLE_ROWS] if count > SAMPLE_ROWS else frame
    return LayerProbe(path, layer, kind, _geometry_kind(sample), count, sample, encoding, crs, notes)


def _probe_unplaced_crs(path: Path, layer: str | None, kind: str, err: CRSError) -> LayerProbe:
    """A layer whose coordinates the reader cannot place: judged from its content as stored.

    The catalog then names the layer with a commented ``crs =`` line to fill in, and validation
    reports the CRS problem on that layer — rather than losing the layer as unreadable.
    """
    if kind == "survey":
        raw = read_bubiao(path)
    elif kind == "table":
        raw = read_corner_table(path, sheet=layer)
    else:
        raw = read_vector(path, layer=layer)
    frame = raw.frame
    sample = frame.iloc[:SAMPLE_ROWS] if len(frame) > SAMPLE_ROWS else frame
    probe = LayerProbe(path, layer, kind, _geometry_kind(sample), len(frame), sample, raw.encoding, None, list(raw.notes))
    probe.crs_problem = err.message
    return probe


def _crs_to_write(path: Path, layer: str | None, kind: str, used) -> str | None:
    """The ``crs =`` a catalog entry needs so that the file reads the same anywhere.

    Survey files and corner tables: always the CRS the reader settled on (from a header, a
    title row or the coordinates' magnitudes), zone included. Vector files: only when the file
    declares none, or another one than the reader used (GeoJSON holding metres).
    """
    if not used:
        return None
    if kind != "vector":
        return _epsg_text(used)
    import pyogrio
    from pyproj import CRS

    try:
        declared = pyogrio.read_info(path, layer=layer).get("crs")
    except Exception:  # noqa: BLE001 - read_layer opened it; be safe and write what it used
        declared = None
    if declared is not None and CRS.from_user_input(declared).equals(CRS.from_user_input(used)):
        return None
    return _epsg_text(used)


def _epsg_text(crs_text) -> str | None:
    if not crs_text:
        return None
    from pyproj import CRS

    crs = CRS.from_user_input(crs_text)
    code = crs.to_epsg()
    return f"EPSG:{code}" if code else crs.to_wkt()


def _probe_large(path: Path, layer: str | None) -> LayerProbe:
    import pyogrio


    info = pyogrio.read_info(path, layer=layer)
    frame = pyogrio.read_dataframe(path, layer=layer, max_features=SAMPLE_ROWS)
    notes = [f"large file ({path.stat().st_size / 2**20:.0f} MB): guessed from its first {len(frame)} features"]
    encoding = detect_mojibake(frame) if path.suffix.lower() == ".shp" else None
    if encoding:
        frame = pyogrio.read_dataframe(path, layer=layer, max_features=SAMPLE_ROWS, encoding=encoding)
        notes.append(f"text was not readable as Latin-1: decoded as {encoding.upper()}")
    count = int(info.get("features", len(frame)))
    return LayerProbe(path, layer, "vector", _geometry_kind(frame), count, frame, encoding, None, notes)


def _probe_raster(path: Path) -> tuple[list[LayerProbe], list[Unplaced]]:
    import rasterio
    from rasterio.errors import RasterioError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with rasterio.open(path) as src:
                info = {
                    "count": src.count,
                    "dtype": src.dtypes[0] if src.count else None,
                    "crs": None if src.crs is None else src.crs.to_string(),
                    "epsg": None if src.crs is None else src.crs.to_epsg(),
                    "metric": bool(src.crs is not None and src.crs.is_projected and (src.crs.linear_units or "").lower() in ("metre", "meter", "m", "metres")),
                    "res": src.res,
                    "size": (src.width, src.height),
                    "nodata": src.nodata,
                }
                if src.count >= 1:
                    step = max(1, max(src.width, src.height) // 256)
                    band = src.read(1, out_shape=(max(1, src.height // step), max(1, src.width // step)), masked=True)
                    data = np.ma.compressed(band).astype(float)
                    data = data[np.isfinite(data)]
                    info["min"] = float(data.min()) if data.size else None
                    info["max"] = float(data.max()) if data.size else None
    except (RasterioError, OSError, ValueError) as err:
        return [], [Unplaced(path, f"cannot be read as a raster: {_reason(err)}")]
    return [LayerProbe(path, None, "raster", None, 1, None, None, None, [], info)], []


def _probe_zip(path: Path) -> tuple[list[LayerProbe], list[Unplaced]]:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError) as err:
        return [], [Unplaced(path, f"cannot be opened as a zip archive: {err}")]
    inner = [n for n in names if n.lower().endswith((".shp", ".gpkg", ".geojson", ".tif", ".txt"))]
    if not inner:
        return [], [Unplaced(path, f"a zip archive with no spatial file ({len(names)} entries)")]
    missed = []
    for name in inner[:20]:
        candidates = _name_guesses([Path(name).stem, path.stem])
        if name.lower().endswith(".shp"):
            candidates = _zip_guesses(path, name) or candidates
        missed.append(
            Unplaced(
                path,
                f"holds {name}: wlgeo reads files, not archives — unpack it beside the archive "
                f"(unzip '{path.name}') and run wlgeo init again",
                layer=name,
                candidates=candidates,
            )
        )
    return [], missed


def _zip_guesses(path: Path, member: str) -> list[Guess]:
    """Guesses for a shapefile inside a zip, read in place through GDAL's /vsizip/ (not kept)."""
    import pyogrio


    try:
        frame = pyogrio.read_dataframe(f"/vsizip/{path}/{member}", max_features=SAMPLE_ROWS)
        guessed = detect_mojibake(frame)
        if guessed:
            frame = pyogrio.read_dataframe(f"/vsizip/{path}/{member}", max_features=SAMPLE_ROWS, encoding=guessed)
    except Exception:  # noqa: BLE001 - the name alone then
        return []
    probe = LayerProbe(path, member, "vector", _geometry_kind(frame), len(frame), frame)
    guesses = _guesses(probe, names=[Path(member).stem, path.stem])
    return [g for g in guesses if g.score > 0][:2]


# ----------------------------------------------------------------------------- judging names
def _norm_name(text: str) -> str:
    text = unicodedata.normalize("NFKC", str(text)).lower()
    text = re.sub(r"[\(（\[【].*?[\)）\]】]", "", text)
    return re.sub(r"[\s_\-.·:：/\\]+", "", text)


def _keyword_hits(text: str) -> list[tuple[str, str]]:
    """(layer, keyword) of the longest keywords found in ``text``."""
    lower = unicodedata.normalize("NFKC", text).lower()
    hits: list[tuple[int, str, str]] = []
    for layer, words in LAYER_KEYWORDS.items():
        for word in words:
            if word.isascii():
                tokens = re.split(r"[^a-z0-9]+", lower)
                found = any(tok.startswith(word) for tok in tokens if tok) if len(word) <= 4 else word.replace("_", "") in lower.replace("_", "")
            else:
                found = word in lower
            if found:
                hits.append((len(word), layer, word))
    if not hits:
        return []
    best = max(h[0] for h in hits)
    out = [(layer, word) for size, layer, word in hits if size == best]
    if any(w in lower for w in _PARK_WORDS_NOT_PARKS):
        out = [(layer, word) for layer, word in out if layer != "parks"]
    return out


def _name_guesses(names: list[str], *, weights: tuple[float, ...] = ()) -> list[Guess]:
    scores: dict[str, tuple[float, list[str]]] = {}
    for i, name in enumerate(names):
        if not name:
            continue
        weight = weights[i] if i < len(weights) else 0.6
        lower = str(name).strip().lower()
        exact = lower in LAYERS or lower == "dem" or any(spec.alias_zh == str(name).strip() for spec in LAYERS.values())
        if exact:
            layer = lower if lower in LAYERS or lower == "dem" else next(s.name for s in LAYERS.values() if s.alias_zh == str(name).strip())
            scores.setdefault(layer, (0.0, []))
            s, ev = scores[layer]
            scores[layer] = (max(s, weight + 0.25), ev + [f"name '{name}' is the canonical name"])
            continue
        hits = _keyword_hits(str(name))
        for layer, word in hits:
            s, ev = scores.get(layer, (0.0, []))
            scores[layer] = (max(s, weight), ev + [f"name '{name}' has '{word}'"])
        if not hits:
            for layer, words in _WEAK_KEYWORDS.items():
                word = next((w for w in words if w in str(name).lower()), None)
                if word:
                    s, ev = scores.get(layer, (0.0, []))
                    scores[layer] = (max(s, 0.2), ev + [f"name '{name}' has '{word}' (a weak hint)"])
    return sorted((Guess(layer, s, list(dict.fromkeys(ev))) for layer, (s, ev) in scores.items()), key=lambda g: -g.score)


# ----------------------------------------------------------------------------- judging content
def _col_key(name: str) -> str:
    return _norm_name(name)


def _text_values(series: pd.Series) -> list[str]:
    return [unicodedata.normalize("NFKC", str(v)).strip() for v in series.tolist() if not is_missing(v) and isinstance(v, str)]


def _share(values: list[str], test) -> float:
    return sum(1 for v in values if test(v)) / len(values) if values else 0.0


def _name_like_columns(probe: LayerProbe, synonyms: tuple[str, ...]) -> list[str]:
    """Columns named by a synonym (in the synonyms' order), then columns that contain a long one
    (``设计生产规模`` holds ``生产规模``; only Chinese synonyms of three characters or more)."""
    keys = [_col_key(s) for s in synonyms]
    exact = sorted((c for c in probe.columns if _col_key(c) in keys), key=lambda c: keys.index(_col_key(c)))
    long_keys = [k for k in keys if len(k) >= 3 and not k.isascii()]
    contained = []
    for column in probe.columns:
        key = _col_key(column)
        if column in exact:
            continue
        hit = next((i for i, k in enumerate(long_keys) if k in key), None)
        if hit is not None:
            contained.append((hit, column))
    return exact + [c for _i, c in sorted(contained)]


def _column_matching(probe: LayerProbe, test, *, share: float = 0.6) -> tuple[str | None, float]:
    best, best_share = None, 0.0
    for column in probe.columns:
        values = _text_values(probe.frame[column])
        if not values:
            continue
        s = _share(values, test)
        if s > best_share:
            best, best_share = column, s
    return (best, best_share) if best_share >= share else (None, best_share)


def _vocab_share(values: list[str], key: tuple[str, str]) -> float:
    allowed = LAYERS[key[0]].field(key[1]).allowed or ()
    return _share(values, lambda v: v in allowed or _vocab(v, key) is not None)


def _vocab(value: str, key: tuple[str, str]):
    text = unicodedata.normalize("NFKC", value).strip().lower()
    for word, canonical in sorted(VALUE_VOCABULARY.get(key, ()), key=lambda p: -len(p[0])):
        if word.lower() in text:
            return canonical
    return None


def _content(probe: LayerProbe) -> dict[str, tuple[float, list[str]]]:
    """Content evidence for each canonical layer: (score, reasons), from fields and values."""
    out: dict[str, tuple[float, list[str]]] = {}
    frame = probe.frame
    if frame is None or not len(frame):
        return out

    def add(layer: str, score: float, reason: str) -> None:
        s, ev = out.get(layer, (0.0, []))
        out[layer] = (min(0.75, s + score), ev + [reason])

    # field names
    generic = {"名称", "name", "mc", "类型", "type", "id", "code", "编号", "代码", "编码", "category", "kind", "类别"}
    for layer, spec in LAYERS.items():
        fields = FIELD_SYNONYMS.get(layer, {})
        for fs in spec.fields:
            synonyms = (fs.name, fs.alias_zh, fs.alias_zh.split("(")[0]) + fields.get(fs.name, ())
            canonical = fs.name
            columns = [c for c in _name_like_columns(probe, synonyms) if _col_key(c) not in generic]
            if not columns:
                continue
            spec = LAYERS[layer].field(canonical)
            weight = 0.15 if spec is not None and spec.required else 0.08
            if layer == "quarries" and canonical in ("capacity", "license_end", "license_no", "owner"):
                weight = 0.2
            if layer in ("rivers",) and canonical == "main":
                weight = 0.4
            if layer == "settlements" and canonical == "population":
                weight = 0.35
            if layer == "planning_blocks":
                weight = 0.45
            add(layer, weight, f"field {columns[0]} looks like {canonical}")
    # values
    roads, share = _column_matching(probe, lambda v: _vocab(v, ("roads", "kind")) is not None or v in LAYERS["roads"].field("kind").allowed)
    if roads:
        add("roads", 0.5, f"values of {roads} are road classes ({share:.0%}: e.g. {_examples(frame[roads])})")
    kinds, share = _column_matching(probe, lambda v: _vocab(v, ("protected_areas", "kind")) is not None or v in LAYERS["protected_areas"].field("kind").allowed)
    if kinds:
        add("protected_areas", 0.5, f"values of {kinds} are protected-area kinds ({share:.0%}: e.g. {_examples(frame[kinds])})")
    zones, share = _column_matching(probe, lambda v: v in _ZONE_VALUES, share=0.5)
    if zones:
        add("protected_areas", 0.15, f"values of {zones} are zones ({_examples(frame[zones])})")
    red, share = _column_matching(probe, lambda v: any(w in v for w in _RED_LINE_CATEGORIES), share=0.6)
    if red:
        add("red_line", 0.5, f"values of {red} are red-line functions (e.g. {_examples(frame[red])})")
    unique_names = lambda column: frame[column].nunique() >= 0.8 * frame[column].notna().sum()  # noqa: E731
    towns, share = _column_matching(probe, lambda v: bool(_TOWN_END.search(v)), share=0.7)
    if towns and unique_names(towns) and len(frame) >= 2:
        add("towns", 0.5, f"values of {towns} are town names, one per feature (e.g. {_examples(frame[towns])})")
    rivers, share = _column_matching(probe, lambda v: bool(_RIVER_END.search(v)) and len(v) <= 8, share=0.6)
    if rivers:
        add("rivers", 0.35, f"values of {rivers} are river names (e.g. {_examples(frame[rivers])})")
    villages, share = _column_matching(probe, lambda v: bool(_VILLAGE_END.search(v)), share=0.6)
    if villages and probe.geometry == "point":
        add("settlements", 0.25, f"values of {villages} are place names (e.g. {_examples(frame[villages])})")
    quarry_names, share = _column_matching(probe, lambda v: bool(_QUARRY_NAME.search(v)), share=0.6)
    if quarry_names:
        add("quarries", 0.15, f"values of {quarry_names} are mine names (e.g. {_examples(frame[quarry_names])})")
    licences, share = _column_matching(probe, lambda v: bool(_LICENSE_NO.match(v)), share=0.6)
    if licences:
        add("quarries", 0.2, f"values of {licences} are mining-licence numbers")
    dates = [c for c in probe.columns if _dates_share(frame[c]) >= 0.8]
    if dates and probe.geometry == "polygon":
        add("quarries", 0.1, f"date field(s) {', '.join(dates[:3])}")
    parks, share = _column_matching(probe, lambda v: bool(_PARK_END.search(v)) and not any(w in v for w in _PARK_WORDS_NOT_PARKS), share=0.7)
    if parks:
        add("parks", 0.45, f"values of {parks} are park names (e.g. {_examples(frame[parks])})")
    bases, share = _column_matching(probe, lambda v: bool(_BASE_END.search(v)), share=0.7)
    if bases:
        add("bases", 0.45, f"values of {bases} are base names (e.g. {_examples(frame[bases])})")
    ports, share = _column_matching(probe, lambda v: bool(_PORT_END.search(v)), share=0.6)
    if ports and probe.geometry == "point":
        add("ports", 0.45, f"values of {ports} are port names (e.g. {_examples(frame[ports])})")
    minerals, share = _column_matching(probe, lambda v: any(w in v.lower() for w in _MINERAL_WORDS) and len(v) <= 12, share=0.7)
    if minerals and not dates and probe.geometry == "polygon":
        add("resource_zones", 0.3, f"values of {minerals} are minerals, no licence dates (e.g. {_examples(frame[minerals])})")
    districts, share = _column_matching(probe, lambda v: bool(_DISTRICT_END.search(v)) and len(v) <= 8, share=0.9)
    if districts and len(frame) <= 3 and probe.geometry == "polygon":
        add("boundary", 0.45, f"{len(frame)} polygon(s) named {_examples(frame[districts])}")
    farm, share = _column_matching(probe, lambda v: "基本农田" in v, share=0.6)
    if farm:
        add("farmland", 0.45, f"values of {farm} say 基本农田 (e.g. {_examples(frame[farm])})")
    else:  # cropland classes are land use, not permanent basic farmland: a weak hint only
        crop, share = _column_matching(probe, lambda v: any(w in v for w in ("耕地", "水田", "旱地")) or bool(re.match(r"^01\d\d$", v)), share=0.6)
        if crop:
            add("farmland", 0.2, f"values of {crop} are cropland classes (land use, not necessarily 永久基本农田: e.g. {_examples(frame[crop])})")
    return out


def _dates_share(values: pd.Series) -> float:
    present = values[[not is_missing(v) for v in values.tolist()]]
    if present.empty or str(values.dtype) in ("bool", "boolean"):
        return 0.0  # integers such as 20250630 may be dates; parse_date says
    if pd.api.types.is_datetime64_any_dtype(values):
        return 1.0
    _dates, bad = parse_date_series(present.iloc[:200])
    return 1.0 - float(bad.mean())


def _examples(values: pd.Series, n: int = 3) -> str:
    seen = list(dict.fromkeys(str(v) for v in values.tolist() if not is_missing(v)))
    return ", ".join(seen[:n]) + (" …" if len(seen) > n else "")


def _geometry_fits(probe: LayerProbe, layer: str) -> bool:
    if layer == "dem":
        return probe.kind == "raster"
    if probe.kind == "raster":
        return False
    return probe.geometry in LAYERS[layer].geometry


def _guesses(probe: LayerProbe, *, names: list[str] | None = None) -> list[Guess]:
    """Every canonical layer the probe might be, best first (score 0 when the geometry does not fit)."""
    if names is None:
        names = [probe.path.stem] + ([probe.layer] if probe.layer else []) + [probe.path.parent.name]
    if probe.layer:
        weights = (0.6 if probe.siblings == 1 else 0.3, 0.65, 0.3)
    else:
        weights = (0.6, 0.3)
    by_name = {g.layer: g for g in _name_guesses(names, weights=weights)}
    if probe.kind == "raster":
        return _raster_guesses(probe, by_name.get("dem"))
    content = _content(probe)
    guesses = []
    for layer in set(by_name) | set(content):
        if layer == "dem":
            continue
        name_guess = by_name.get(layer)
        score = name_guess.score if name_guess else 0.0
        evidence = list(name_guess.evidence) if name_guess else []
        c_score, c_evidence = content.get(layer, (0.0, []))
        if name_guess and c_score:  # names and content agree (a weak name hint earns no bonus)
            score = min(1.0, score + c_score + (0.1 if score >= 0.45 else 0.0))
        else:
            score = max(score, c_score + (0.05 if c_score >= 0.5 else 0.0))
        evidence += c_evidence
        if not _geometry_fits(probe, layer):
            evidence.append(f"but its geometry is {probe.geometry or 'none'}, not {' or '.join(LAYERS[layer].geometry)}")
            score = 0.0
        guesses.append(Guess(layer, round(score, 3), evidence))
    return sorted(guesses, key=lambda g: (-g.score, g.layer))


def _raster_guesses(probe: LayerProbe, by_name: Guess | None) -> list[Guess]:
    info = probe.raster or {}
    evidence = list(by_name.evidence) if by_name else []
    score = by_name.score if by_name else 0.0
    reasons = []
    dtype = str(info.get("dtype"))
    single = info.get("count") == 1
    numeric = dtype.startswith(("float", "int", "uint")) and dtype not in ("uint8",)
    low, high = info.get("min"), info.get("max")
    plausible = low is not None and high is not None and -500 <= low <= high <= 9000 and high - low > 1
    stem = probe.path.stem.lower()
    not_dem = next((w for w in _NOT_DEM_WORDS if w in stem), None)
    if not_dem:
        evidence.append(f"name has '{not_dem}': not an elevation model")
        return [Guess("dem", 0.0, evidence)]
    if single and numeric and plausible:
        reasons.append(f"one {dtype} band, values {low:.0f}..{high:.0f}")
        unit = "metres" if info.get("metric") else "not metres"
        reasons.append(f"CRS {info.get('crs') or 'none'} ({unit}), {info['res'][0]:g} m cells" if info.get("metric") else f"CRS {info.get('crs') or 'none'} ({unit})")
        content = 0.55 if info.get("metric") else 0.3
        score = min(1.0, score + content + 0.1) if by_name else content
        evidence += reasons
    else:
        why = f"{info.get('count')} band(s) of {dtype}" + ("" if plausible or low is None else f", values {low:g}..{high:g}")
        evidence.append(f"{why}: not an elevation model")
        score = 0.0 if not single or not numeric else min(score, 0.3)
    return [Guess("dem", round(score, 3), evidence)]


# ----------------------------------------------------------------------------- fields and values
def _numbers(values: pd.Series) -> pd.Series:
    numbers, _bad = parse_number_series(values, units=True)
    if numbers.notna().sum() == 0 and values.dtype == object:
        extracted = values.astype("string").str.extract(r"^\s*([\d.,]+)")[0].str.replace(",", "")
        numbers = pd.to_numeric(extracted, errors="coerce")
    return numbers


def _field_fits(frame: pd.DataFrame, column: str, spec) -> tuple[bool, str]:
    values = frame[column]
    present = values[[not is_missing(v) for v in values.tolist()]]
    if present.empty:
        return True, "empty column"
    if spec.type == "number":
        numbers = _numbers(present)
        share = numbers.notna().mean()
        return share >= 0.8, f"{share:.0%} numbers"
    if spec.type == "date":
        share = _dates_share(present)
        return share >= 0.8, f"{share:.0%} dates"
    if spec.type == "bool":
        _flags, bad = parse_bool_series(present.map(lambda v: v if not isinstance(v, str) else v.replace("支流", "否")))
        share = 1 - bad.mean()
        return share >= 0.8, f"{share:.0%} yes/no"
    return True, "text"


def _choose_fields(probe: LayerProbe, layer: str) -> tuple[list[FieldChoice], list[str]]:
    frame = probe.frame
    spec = LAYERS[layer]
    synonyms = FIELD_SYNONYMS.get(layer, {})
    used: set[str] = set()
    choices: list[FieldChoice] = []
    notes: list[str] = []
    order = sorted(spec.fields, key=lambda f: (not f.required, f.name != "quarry_id"))
    for fs in order:
        if fs.name in probe.columns:
            used.add(fs.name)
            continue
        candidates = _name_like_columns(probe, synonyms.get(fs.name, ()) + (fs.alias_zh, fs.alias_zh.split("(")[0]))
        if len(fs.name) > 10 and fs.name[:10] in probe.columns:
            candidates.insert(0, fs.name[:10])
        if fs.allowed or fs.type == "bool":
            by_values = _by_values(probe, layer, fs)
            candidates = by_values + [c for c in candidates if c not in by_values]
        fitting, rejected = [], []
        for column in candidates:
            if column in used:
                continue
            ok, how = _field_fits(frame, column, fs)
            (fitting if ok else rejected).append((column, how))
        if not fitting and fs.name == "license_end":
            fitting = _latest_date_column(probe, used)
        if not fitting:
            for column, how in rejected:
                notes.append(f"field {column} looks like {fs.name} by its name but its values do not fit ({how})")
            continue
        column, how = fitting[0]
        names = {_col_key(n) for n in synonyms.get(fs.name, ()) + (fs.alias_zh, fs.alias_zh.split("(")[0])}
        by_name = _col_key(column) in names
        inside = next((n for n in sorted(names, key=len, reverse=True) if len(n) >= 3 and not n.isascii() and n in _col_key(column)), None)
        if fs.allowed and not (by_name or inside):
            evidence = f"values of {column} are {fs.name} values"
        elif by_name:
            evidence = f"field name {column}"
        elif inside:
            evidence = f"field name {column} holds {inside}"
        else:
            evidence = f"{column}: {how}"
        if how not in ("text",) and not evidence.endswith(how):
            evidence += f" ({how})"
        others = [(c, f"also looks like {fs.name} ({h}); not used") for c, h in fitting[1:]]
        choices.append(FieldChoice(fs.name, column, evidence, others))
        if fs.name != "license_no" or column not in [c.source for c in choices if c.canonical == "quarry_id"]:
            used.add(column)
    if layer == "quarries":
        _licence_as_id(probe, choices)
    taken = {c.source for c in choices}
    for choice in choices:
        choice.others = [(c, why) for c, why in choice.others if c not in taken]
    return choices, notes


def _licence_as_id(probe: LayerProbe, choices: list[FieldChoice]) -> None:
    """No id column but a licence number: the licence number is the quarry id (and stays license_no)."""
    names = {c.canonical for c in choices}
    if "quarry_id" in names or "quarry_id" in probe.columns:
        return
    licence = next((c for c in choices if c.canonical == "license_no"), None)
    if licence is not None:
        choices.insert(0, FieldChoice("quarry_id", licence.source, f"no id field: the licence number {licence.source} is the id"))


def _by_values(probe: LayerProbe, layer: str, fs) -> list[str]:
    """Columns whose values are mostly the field's enumerated values in a usual form."""
    scored = []
    for column in probe.columns:
        values = _text_values(probe.frame[column])
        if fs.type == "bool":
            if column in _name_like_columns(probe, FIELD_SYNONYMS.get(layer, {}).get(fs.name, ())):
                scored.append((0, 0.0, column))
            elif layer == "rivers" and _yes_no(probe.frame[column]):
                scored.append((1, 0.0, column))  # a rivers layer's only yes/no column is its main-stream flag
            continue
        share = _vocab_share(values, (layer, fs.name)) if values else 0.0
        if share >= 0.6:
            # a class column repeats a few values; a name column that happens to hold the words does not
            varied = len(set(values)) > max(6, 0.5 * len(values))
            scored.append((int(varied), -share, column))
    return [column for _v, _s, column in sorted(scored)]


def _yes_no(values: pd.Series) -> bool:
    present = values.dropna()
    if present.empty or present.nunique() != 2:
        return False
    _flags, bad = parse_bool_series(present.map(lambda v: v if not isinstance(v, str) else v.replace("支流", "否")))
    return not bad.any()


def _latest_date_column(probe: LayerProbe, used: set[str]) -> list[tuple[str, str]]:
    dates = [c for c in probe.columns if c not in used and _dates_share(probe.frame[c]) >= 0.8]
    if not dates:
        return []
    if len(dates) == 1:
        return [(dates[0], "the only date field")]
    parsed = {c: parse_date_series(probe.frame[c])[0] for c in dates}
    latest = max(dates, key=lambda c: parsed[c].median())
    return [(latest, "the latest of the date fields")]


def _map_values(proposal: LayerProposal) -> None:
    layer = proposal.name
    spec = LAYERS[layer]
    frames = [p.frame for p in proposal.probes if p.frame is not None]
    field_map = proposal.field_map
    for fs in spec.fields:
        if not (fs.allowed or fs.type == "bool"):
            continue
        source = field_map.get(fs.name, fs.name)
        counts: Counter = Counter()
        for frame in frames:
            if source in frame.columns:
                counts.update(k for k in (value_key(v) for v in frame[source].tolist()) if k is not None)
        if not counts:
            continue
        mapped: dict[str, object] = {}
        unmapped: list[tuple[str, int]] = []
        for value, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
            if fs.type == "bool":
                target = _bool_value(value)
                if target is None:
                    unmapped.append((value, n))
                elif value not in ("True", "False", "true", "false"):
                    mapped[value] = target
                continue
            if value in (fs.allowed or ()):
                continue
            target = _vocab(value, (layer, fs.name))
            if target is None:
                unmapped.append((value, n))
            else:
                mapped[value] = target
        if mapped:
            proposal.values[fs.name] = mapped
            proposal.value_counts[fs.name] = {k: counts[k] for k in mapped}
        if unmapped:
            proposal.unmapped[fs.name] = unmapped


def _bool_value(value: str) -> bool | None:
    text = value.strip().lower()
    if text in ("支流", "非干流", "次要"):
        return False
    _flags, bad = parse_bool_series(pd.Series([value]))
    return None if bool(bad.iloc[0]) else bool(_flags.iloc[0])


_UNIT_IN_NAME = (
    (re.compile(r"万\s*(立方米|方|m3|m³)"), "万立方米/年"),
    (re.compile(r"(立方米|m3|m³)"), "立方米/年"),
    (re.compile(r"万\s*(吨|t)", re.I), "万吨/年"),
    (re.compile(r"(吨|t/a|\bt\b)", re.I), "吨/年"),
)


def _units(proposal: LayerProposal) -> None:
    """Capacity and reserves units from the field name, the values' own suffix, or their size."""
    if proposal.name != "quarries":
        return
    targets = {"capacity": ("万吨/年", 1000.0), "reserves": ("万吨", 200_000.0)}
    for choice in proposal.fields:
        if choice.canonical not in targets:
            continue
        default, big = targets[choice.canonical]
        values = pd.concat([p.frame[choice.source] for p in proposal.probes if p.frame is not None and choice.source in p.frame.columns])
        unit, why = None, ""
        for pattern, name in _UNIT_IN_NAME:
            if pattern.search(choice.source):
                unit, why = name, f"the field name {choice.source} says so"
                break
        if unit is None:
            texts = _text_values(values)
            suffixes = Counter(re.sub(r"^[\s\d.,]+", "", t) for t in texts if re.match(r"^\s*[\d.,]+\s*\D+$", t))
            if suffixes:
                suffix, _n = suffixes.most_common(1)[0]
                for pattern, name in _UNIT_IN_NAME:
                    if pattern.search(suffix):
                        unit, why = name, f"the values are written with {suffix}"
                        break
        numbers = _numbers(values).dropna()
        if unit is None and len(numbers):
            median = float(numbers.median())
            if median > big:
                unit = "吨/年" if choice.canonical == "capacity" else "吨"
                why = f"no unit given, but the values are large (median {median:g}): taken as {unit}, not {default}"
        if unit is None:
            continue
        if choice.canonical == "reserves":
            unit = unit.removesuffix("/年")
        if unit == default:
            continue
        if "立方" in unit:
            proposal.needs_density = True
            why += "; a volume: set density (t/m³) to convert it to tonnes"
        proposal.units[choice.canonical] = (unit, why)


def _missing_required(proposal: LayerProposal) -> None:
    mapped = set(proposal.field_map)
    columns = set().union(*(p.columns for p in proposal.probes))

    frame = proposal.probes[0].frame
    auto = set(canonical_columns(frame, proposal.name)[1].values()) if frame is not None else set()
    for fs in LAYERS[proposal.name].required_fields:
        if fs.name not in mapped and fs.name not in columns and fs.name not in auto:
            proposal.missing.append(fs.name)


def _proposal(probe: LayerProbe, guess: Guess) -> LayerProposal:
    if guess.layer == "dem":
        return LayerProposal("dem", [probe], guess)
    proposal = LayerProposal(guess.layer, [probe], guess)
    proposal.fields, proposal.notes = _choose_fields(probe, guess.layer)
    if {"decision", "reasons"} <= set(probe.columns):
        proposal.notes.append("this layer is a plan's output (it has decision and reasons), not raw input")
    _map_values(proposal)
    _units(proposal)
    _missing_required(proposal)
    return proposal


# ----------------------------------------------------------------------------- the proposal
def propose_catalog(
    folder: str | os.PathLike,
    *,
    skip: tuple[Path, ...] = (),
    max_files: int = MAX_FILES,
    progress: Callable[[int, int, str], None] | None = None,
) -> CatalogProposal:
    """Scan ``folder`` and propose a catalog: one entry per canonical layer found, with evidence.

    Each layer read is judged by :func:`_guesses`; per canonical layer the best candidate
    (confidence medium or high) becomes the entry, further candidates with the same fields and
    different features join it as a ``path`` list, and others are kept as alternatives.
    Low-confidence candidates and unreadable or non-spatial files are listed as unplaced.
    """
    folder = Path(folder)
    scan = scan_folder(folder, skip=skip, max_files=max_files, progress=progress)
    result = CatalogProposal(
        folder, unplaced=list(scan.unplaced), scanned=scan.scanned, notes=list(scan.notes), read=len(scan.probes)
    )
    candidates: dict[str, list[LayerProposal]] = {}
    shapeless: list[tuple[LayerProbe, Unplaced]] = []
    for probe in scan.probes:
        guesses = _guesses(probe)
        good = [g for g in guesses if g.score >= 0.45]
        if not good:
            reason = _unplaced_reason(probe, guesses)
            live = [g for g in guesses if g.score > 0][:3]
            result.unplaced.append(Unplaced(probe.path, reason, probe.layer, live))
            if not live and probe.kind != "raster":
                shapeless.append((probe, result.unplaced[-1]))
            continue
        best = good[0]
        candidates.setdefault(best.layer, []).append(_proposal(probe, best))
    for layer, proposals in candidates.items():
        ranked = sorted(proposals, key=_rank)
        chosen = ranked[0]
        for other in ranked[1:]:
            why = _joinable(chosen, other)
            if why is None:
                chosen.probes.extend(other.probes)
                chosen.guess.evidence.append(f"{other.probes[0].label} has the same fields: concatenated")
                _map_values(chosen)
                continue
            other.why_not_active = why
            result.alternatives.append(other)
        if layer == "dem":
            result.dem = chosen
        else:
            result.layers[layer] = chosen
    for probe, item in shapeless:  # nothing but geometry to go by: name what it could be, weakly
        item.candidates = _geometry_candidates(probe, placed=set(result.layers))
    if "quarries" not in result.layers:
        result.notes.append("no layer looks like the quarries (采矿权): add [layers.quarries] by hand — it is mandatory")
    return result


_BY_GEOMETRY: dict[str, tuple[str, ...]] = {
    "polygon": ("farmland", "red_line", "protected_areas", "boundary", "towns", "resource_zones", "planning_blocks", "parks", "bases", "settlements", "rivers"),
    "line": ("roads", "rivers"),
    "point": ("settlements", "ports", "bases"),
}


def _geometry_candidates(probe: LayerProbe, *, placed: set[str]) -> list[Guess]:
    """Canonical layers not yet placed that a layer of this geometry could be (low confidence)."""
    kinds = [k for k in _BY_GEOMETRY.get(probe.geometry or "", ()) if k not in placed]
    if probe.geometry == "polygon" and probe.count == 1:
        kinds = ["boundary"] + [k for k in kinds if k != "boundary"]
    fields = ", ".join(probe.columns[:5]) or "no fields"
    why = f"only the geometry to go by ({probe.count} {probe.geometry}(s), {fields})"
    return [Guess(kind, 0.1, [why]) for kind in kinds[:3]]


def _rank(proposal: LayerProposal):
    conf = {"high": 0, "medium": 1, "low": 2}[proposal.guess.confidence]
    output = {"decision", "reasons"} <= set(proposal.probes[0].columns)
    return (output, conf, len(proposal.missing), -proposal.guess.score, -len(proposal.fields), -proposal.probes[0].count, str(proposal.probes[0].path))


def _joinable(chosen: LayerProposal, other: LayerProposal) -> str | None:
    """``None`` when ``other`` can be read as more features of ``chosen``; else why not."""
    if chosen.name == "dem":
        return (
            f"a second DEM candidate; {chosen.probes[0].label} was preferred (the catalog takes one DEM: "
            "if these are tiles of one model, mosaic them first, e.g. gdalbuildvrt dem.vrt *.tif)"
        )
    frame = other.probes[0].frame
    if chosen.name == "quarries":
        have = set().union(*(_ids(p.frame, chosen) for p in chosen.probes))
        shared = have & _ids(frame, other)
        if shared:
            return f"shares {len(shared)} quarry id(s) with {chosen.probes[0].label} (the same rights again, or another edition?)"
    else:
        wkb = lambda f: set(f.geometry.to_wkb().tolist())  # noqa: E731
        shared = wkb(chosen.probes[0].frame) & wkb(frame)
        if len(shared) > 0.5 * max(1, len(frame)):
            return f"repeats {len(shared)} geometries of {chosen.probes[0].label} (a copy or another edition?)"
    if other.key != chosen.key or other.missing or chosen.missing:
        return f"{chosen.probes[0].label} was preferred ({chosen.guess.confidence}, {len(chosen.fields)} fields mapped); its fields or options differ"
    return None


def _ids(frame: gpd.GeoDataFrame, proposal: LayerProposal) -> set[str]:
    source = proposal.field_map.get("quarry_id", "quarry_id")
    if frame is None or source not in frame.columns:
        return set()
    return {id_text(v) for v in frame[source].tolist()} - {None}


def _unplaced_reason(probe: LayerProbe, guesses: list[Guess]) -> str:
    what = (
        f"{probe.count} {probe.geometry or 'feature'}(s)" if probe.kind != "raster"
        else f"raster ({probe.raster.get('count')} band(s) of {probe.raster.get('dtype')})"
    )
    fields = ", ".join(probe.columns[:8]) + (" …" if len(probe.columns) > 8 else "")
    live = [g for g in guesses if g.score > 0]
    if probe.kind == "raster" and not live and guesses:
        return f"{what}: {'; '.join(guesses[0].evidence)}"
    if not live:
        tail = f"; fields: {fields}" if fields else ""
        return f"{what}: nothing in its name, fields or values points to a canonical layer{tail}"
    return f"{what}: only weak evidence (see candidates); fields: {fields or 'none'}"
