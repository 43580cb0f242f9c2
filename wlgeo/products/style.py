"""One style spec for every output: the folium map, the printed sheet and the QGIS styles.

Each decision class and each context layer has one :class:`Symbol`: fill and stroke colours,
opacity, line width and dash, marker size, drawing order and labels in Chinese and English.
Change a colour here and the map, the sheet and the GeoPackage styles follow.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from wlgeo.model.decisions import DECISION_LABELS_EN, DECISION_LABELS_ZH, PLAN_DECISIONS

__all__ = [
    "Symbol",
    "DECISIONS",
    "DECISION_ORDER",
    "DECISION_LABELS_ZH",
    "DECISION_SYMBOLS",
    "QUARRY_SYMBOL",
    "LAYER_SYMBOLS",
    "ROAD_KIND_SYMBOLS",
    "PROTECTED_KIND_LABELS",
    "decision_symbol",
    "layer_symbol",
    "label",
    "SYNTHETIC_NOTE",
    "scenario_title",
    "is_synthetic",
]

#: The note every output shows when the pack's data are made up (see :func:`is_synthetic`).
SYNTHETIC_NOTE = "示意数据 Synthetic data"

Geometry = Literal["polygon", "line", "point"]


@dataclass(frozen=True)
class Symbol:
    """How one class of features is drawn.

    Colours are ``#rrggbb``; ``dash`` is ``None`` for a solid line or a sequence of dash and gap
    lengths in points; ``z`` orders drawing (higher on top).

    ``inner`` makes a double line on the printed sheet: a solid ``stroke`` line of ``width`` with
    an ``inner`` line of ``inner_width`` on top (dashed by ``inner_dash``), as railways (black
    and white dashes) and expressways (dark casing, orange core) are printed. Single-line
    renderers (the web map, QGIS) draw ``stroke`` with ``dash``.
    """

    label_zh: str
    label_en: str
    geometry: Geometry
    stroke: str
    fill: str | None = None
    fill_opacity: float = 0.6
    width: float = 1.0
    dash: tuple[float, ...] | None = None
    marker_size: float = 6.0
    z: int = 0
    inner: str | None = None
    inner_width: float = 0.0
    inner_dash: tuple[float, ...] | None = None

    @property
    def label(self) -> str:
        """Bilingual label, e.g. ``关闭退出 Close``."""
        return f"{self.label_zh} {self.label_en}"


#: Every class a plan draws, in legend order (:data:`wlgeo.model.decisions.PLAN_DECISIONS`).
DECISIONS = PLAN_DECISIONS
DECISION_ORDER = DECISIONS
_LOOK = {  # stroke, fill, fill opacity, width, dash, z
    "close": ("#8b0000", "#e31a1c", 0.75, 1.2, None, 50),
    "expire": ("#a65e00", "#fd8d3c", 0.75, 1.2, None, 51),
    "retain": ("#1b5e20", "#33a02c", 0.75, 1.2, None, 52),
    "consolidate": ("#2c3e9e", "#1f78b4", 0.75, 1.2, None, 53),
    "new": ("#5b1f7a", "#9e4fd0", 0.6, 1.6, (4.0, 2.0), 54),
}

DECISION_SYMBOLS: MappingProxyType[str, Symbol] = MappingProxyType({
    d: Symbol(DECISION_LABELS_ZH[d], DECISION_LABELS_EN[d], "polygon", stroke, fill, opacity, width, dash, z=z)
    for d, (stroke, fill, opacity, width, dash, z) in _LOOK.items()
})

#: Quarries that have no decision yet (a layer pack's input quarries, before ``wlgeo run``).
QUARRY_SYMBOL = Symbol("碎石矿山", "Quarries", "polygon", "#4e342e", "#a1887f", 0.75, 1.2, z=49)


LAYER_SYMBOLS: MappingProxyType[str, Symbol] = MappingProxyType(
    {
        "boundary": Symbol("行政区界", "District boundary", "polygon", "#6a1b9a", None, 0.0, 2.0, (8.0, 2.5, 1.5, 2.5), z=90),
        "towns": Symbol("乡镇街道", "Towns", "polygon", "#7f7f7f", None, 0.0, 0.6, (2.0, 2.0), z=5),
        "red_line": Symbol("生态保护红线", "Ecological red line", "polygon", "#c51b7d", "#f1b6da", 0.35, 0.6, z=10),
        "farmland": Symbol("永久基本农田", "Permanent farmland", "polygon", "#b8a100", "#ffe066", 0.45, 0.3, z=11),
        "protected_areas": Symbol("自然保护地", "Protected areas", "polygon", "#00695c", "#80cbc4", 0.35, 1.0, z=12),
        "resource_zones": Symbol("资源分布区", "Limestone resource zones", "polygon", "#6d4c41", "#d7ccc8", 0.3, 0.6, (3.0, 2.0), z=8),
        "planning_blocks": Symbol("开采规划区块", "Planning blocks", "polygon", "#4e342e", None, 0.0, 1.2, (5.0, 2.0), z=9),
        "parks": Symbol("产业园区", "Industrial parks", "polygon", "#0d47a1", "#90caf9", 0.5, 1.4, z=30),
        "bases": Symbol("产业基地", "Bases", "polygon", "#283593", "#c5cae9", 0.5, 1.0, (3.0, 1.5), 7.0, z=31),
        "ports": Symbol("港口", "Port", "point", "#01579b", "#29b6f6", 1.0, 1.2, marker_size=9.0, z=40),
        "settlements": Symbol("居民点", "Settlements", "point", "#424242", "#bdbdbd", 0.9, 0.8, marker_size=4.0, z=35),
        "roads": Symbol("交通干线", "Roads", "line", "#616161", None, 1.0, 1.2, z=20),
        "rivers": Symbol("河流", "Rivers", "line", "#1e88e5", "#90caf9", 0.8, 1.6, z=15),
        "consolidation_groups": Symbol("整合范围", "Consolidation groups", "polygon", "#2c3e9e", None, 0.0, 1.6, (4.0, 3.0), z=60),
    }
)

ROAD_KIND_SYMBOLS: MappingProxyType[str, Symbol] = MappingProxyType(
    {
        "expressway": Symbol("高速公路", "Expressway", "line", "#8d2b0b", width=3.0, z=24,
                             inner="#ff9800", inner_width=1.6),
        "railway": Symbol("铁路", "Railway", "line", "#212121", width=2.2, dash=(6.0, 3.0), z=25,
                          inner="#ffffff", inner_width=1.2, inner_dash=(4.0, 4.0)),
        "national": Symbol("国道", "National road", "line", "#d32f2f", width=2.0, z=23),
        "provincial": Symbol("省道", "Provincial road", "line", "#fbc02d", width=1.6, z=22),
        "county": Symbol("县道", "County road", "line", "#8d6e63", width=1.0, z=21),
        "township": Symbol("乡道", "Township road", "line", "#a1887f", width=0.7, z=20),
    }
)

PROTECTED_KIND_LABELS: MappingProxyType[str, tuple[str, str]] = MappingProxyType(
    {
        "nature_reserve": ("自然保护区", "Nature reserve"),
        "world_heritage": ("世界自然遗产地", "World Heritage site"),
        "scenic_area": ("风景名胜区", "Scenic area"),
        "forest_park": ("森林公园", "Forest park"),
        "geopark": ("地质公园", "Geopark"),
        "water_source": ("饮用水水源保护区", "Drinking-water source area"),
    }
)


def decision_symbol(decision: str) -> Symbol:
    """The symbol of a decision class; raises ``KeyError`` naming the allowed classes."""
    try:
        return DECISION_SYMBOLS[decision]
    except KeyError:
        raise KeyError(f"unknown decision {decision!r}; allowed: {', '.join(DECISIONS)}") from None


def layer_symbol(layer: str) -> Symbol:
    """The symbol of a context layer; raises ``KeyError`` naming the styled layers."""
    try:
        return LAYER_SYMBOLS[layer]
    except KeyError:
        raise KeyError(f"no style for layer {layer!r}; styled: {', '.join(LAYER_SYMBOLS)}") from None


def label(key: str, *, lang: Literal["zh", "en", "both"] = "both") -> str:
    """Label of a decision or layer in Chinese, English or both."""
    symbol = DECISION_SYMBOLS.get(key) or LAYER_SYMBOLS.get(key) or ROAD_KIND_SYMBOLS.get(key)
    if symbol is None:
        raise KeyError(f"no label for {key!r}")
    return {"zh": symbol.label_zh, "en": symbol.label_en, "both": symbol.label}[lang]


def scenario_title(scenario: object) -> str:
    """The title of a scenario on maps and sheets: its ``title_zh`` (基准方案), else its name, else ``—``."""
    title = getattr(scenario, "title_zh", None)
    if title:
        return str(title)
    return str(getattr(scenario, "name", None) or "—")


def is_synthetic(pack: object) -> bool:
    """Whether a layer pack holds made-up data, to be flagged :data:`SYNTHETIC_NOTE` on every output.

    True when the catalog says ``synthetic = true`` (a ``synthetic`` attribute of the pack), or
    when any layer's ``source`` field says ``synthetic…`` for every feature (as the demo's layers
    do: its quarries, red line, farmland … are invented; only its boundary is real). One invented
    layer is enough to make the map illustrative.
    """
    if pack is None:
        return False
    if getattr(pack, "synthetic", None) is True:
        return True
    layers = getattr(pack, "layers", None) or {}
    for frame in layers.values():
        columns = getattr(frame, "columns", ())
        if "source" in columns and len(frame):
            values = frame["source"].dropna().astype(str).str.strip().str.lower()
            if len(values) == len(frame) and values.str.startswith("synthetic").all():
                return True
    return False
