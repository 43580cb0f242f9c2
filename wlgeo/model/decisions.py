"""The decisions a plan gives, their labels, and the label of a quarry in no known town.

One list for every layer of wlgeo: the classifier writes these values, the tables count them,
the map, the sheet and the QGIS styles draw them (:mod:`wlgeo.products.style` keys its symbols
by them).

>>> DECISIONS
('close', 'expire', 'retain', 'consolidate')
>>> PLAN_DECISIONS[-1], DECISION_LABELS_ZH["new"]
('new', '规划新建')
"""

from __future__ import annotations

from types import MappingProxyType

__all__ = [
    "DECISIONS",
    "PLAN_DECISIONS",
    "DECISION_LABELS_ZH",
    "DECISION_LABELS_EN",
    "DECISION_ZH",
    "UNASSIGNED_TOWN",
    "UNASSIGNED_STEM",
]

#: What the classifier decides for every existing quarry (DESIGN §4), in report order.
DECISIONS: tuple[str, ...] = ("close", "expire", "retain", "consolidate")
#: Every class a plan draws: the quarry decisions and ``new`` (proposed sites).
PLAN_DECISIONS: tuple[str, ...] = (*DECISIONS, "new")

DECISION_LABELS_ZH: MappingProxyType[str, str] = MappingProxyType({
    "close": "关闭退出",
    "expire": "到期退出",
    "retain": "予以保留",
    "consolidate": "优化整合",
    "new": "规划新建",
})
DECISION_LABELS_EN: MappingProxyType[str, str] = MappingProxyType({
    "close": "Close",
    "expire": "Expire at licence end",
    "retain": "Retain",
    "consolidate": "Consolidate",
    "new": "New site",
})
#: The ``decision_zh`` value of each quarry decision.
DECISION_ZH: MappingProxyType[str, str] = MappingProxyType({d: DECISION_LABELS_ZH[d] for d in DECISIONS})

#: The town of a feature that lies in no known town (tables, maps, sheets).
UNASSIGNED_TOWN = "未定乡镇 unassigned"
#: The same, as a file stem (a batch export's ``未定乡镇_unassigned.gpkg``).
UNASSIGNED_STEM = UNASSIGNED_TOWN.replace(" ", "_")
