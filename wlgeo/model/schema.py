"""The canonical layers of a layer pack: geometry kinds, fields, allowed values, Chinese aliases.

This is the input contract of DESIGN §3 in code. Field names are English snake_case; the
Chinese aliases here are used for labels, popups and exported field aliases.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "FieldSpec",
    "LayerSpec",
    "LAYERS",
    "LAYER_NAMES",
    "MANDATORY_LAYERS",
    "PLAN_OUTPUT_LAYERS",
    "PROTECTED_KINDS",
    "ROAD_KINDS",
    "PARK_ROLES",
    "FIELD_ALIASES",
    "layer_spec",
]

GeometryKind = Literal["polygon", "line", "point"]
FieldType = Literal["text", "number", "date", "bool"]

PROTECTED_KINDS = (
    "nature_reserve",
    "world_heritage",
    "scenic_area",
    "forest_park",
    "geopark",
    "water_source",
)
ROAD_KINDS = ("expressway", "railway", "national", "provincial", "county", "township")
PARK_ROLES = ("core", "park")


@dataclass(frozen=True)
class FieldSpec:
    """One attribute of a canonical layer."""

    name: str
    type: FieldType
    alias_zh: str
    required: bool = False
    allowed: tuple[str, ...] | None = None


@dataclass(frozen=True)
class LayerSpec:
    """One canonical layer: allowed geometry kinds and fields."""

    name: str
    alias_zh: str
    geometry: tuple[GeometryKind, ...]
    fields: tuple[FieldSpec, ...] = field(default_factory=tuple)

    @property
    def required_fields(self) -> tuple[FieldSpec, ...]:
        return tuple(f for f in self.fields if f.required)

    def field(self, name: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.name == name), None)


def _f(name, type_, alias, required=False, allowed=None) -> FieldSpec:
    return FieldSpec(name, type_, alias, required, allowed)


LAYERS: dict[str, LayerSpec] = {
    spec.name: spec
    for spec in (
        LayerSpec("boundary", "行政区界", ("polygon",), (_f("name", "text", "名称"),)),
        LayerSpec(
            "towns",
            "乡镇街道",
            ("polygon",),
            (_f("town", "text", "乡镇", True), _f("code", "text", "代码")),
        ),
        LayerSpec(
            "quarries",
            "碎石矿山",
            ("polygon",),
            (
                _f("quarry_id", "text", "矿山编号", True),
                _f("capacity", "number", "生产规模(万吨/年)", True),
                _f("license_end", "date", "采矿许可证有效期止", True),
                _f("name", "text", "矿山名称"),
                _f("owner", "text", "采矿权人"),
                _f("town", "text", "所在乡镇"),
                _f("mineral", "text", "矿种"),
                _f("license_no", "text", "采矿许可证号"),
                _f("license_start", "date", "采矿许可证有效期起"),
                _f("reserves", "number", "保有资源量(万吨)"),
                _f("status", "text", "状态"),
            ),
        ),
        LayerSpec("red_line", "生态保护红线", ("polygon",), (_f("category", "text", "类型"),)),
        LayerSpec("farmland", "永久基本农田", ("polygon",)),
        LayerSpec(
            "protected_areas",
            "自然保护地",
            ("polygon",),
            (
                _f("kind", "text", "类型", True, PROTECTED_KINDS),
                _f("name", "text", "名称"),
                _f("zone", "text", "分区"),
            ),
        ),
        LayerSpec(
            "settlements",
            "居民点",
            ("point", "polygon"),
            (_f("name", "text", "名称"), _f("population", "number", "人口")),
        ),
        LayerSpec(
            "roads",
            "交通干线",
            ("line",),
            (_f("kind", "text", "等级", True, ROAD_KINDS), _f("name", "text", "名称")),
        ),
        LayerSpec(
            "rivers",
            "河流",
            ("line", "polygon"),
            (_f("name", "text", "名称"), _f("main", "bool", "干流")),
        ),
        LayerSpec(
            "parks",
            "产业园区",
            ("polygon",),
            (_f("name", "text", "名称", True), _f("role", "text", "定位", True, PARK_ROLES)),
        ),
        LayerSpec("bases", "产业基地", ("polygon", "point"), (_f("name", "text", "名称", True),)),
        LayerSpec("ports", "港口", ("point",), (_f("name", "text", "名称", True),)),
        LayerSpec(
            "resource_zones",
            "资源分布区",
            ("polygon",),
            (_f("mineral", "text", "矿种", True), _f("grade", "text", "品级")),
        ),
        LayerSpec(
            "planning_blocks",
            "开采规划区块",
            ("polygon",),
            (_f("block_id", "text", "区块编号", True),),
        ),
    )
}

LAYER_NAMES = tuple(LAYERS)
MANDATORY_LAYERS = ("quarries",)
#: Layers a plan GeoPackage holds beside the canonical ones: wlgeo's own results and QGIS's style
#: table. A plan read back as a pack (``wlgeo validate RUN/plan.gpkg``) names them in one info line.
PLAN_OUTPUT_LAYERS = ("new_sites", "consolidation_groups", "layer_styles")

FIELD_ALIASES: dict[str, str] = {
    f.name: f.alias_zh for spec in LAYERS.values() for f in spec.fields
} | {
    "source": "数据来源",
    "decision": "处置方式",
    "decision_zh": "处置方式(中文)",
    "reasons": "依据",
    "red_line_m2": "压占生态红线面积(m²)",
    "farmland_m2": "压占永久基本农田面积(m²)",
    "protected_m2": "压占自然保护地面积(m²)",
    "settlement_m": "距居民点(m)",
    "trunk_line_m": "距交通干线(m)",
    "main_river_m": "距干流(m)",
    "group_id": "整合组",
}


def layer_spec(name: str) -> LayerSpec:
    """Return the spec of canonical layer ``name``; raise ``KeyError`` naming the allowed set."""
    try:
        return LAYERS[name]
    except KeyError:
        raise KeyError(
            f"unknown layer {name!r}; canonical layers are: {', '.join(LAYER_NAMES)}"
        ) from None
