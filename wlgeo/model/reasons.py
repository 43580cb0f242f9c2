"""Why a quarry got its decision: one :class:`Reason` record per rule that fired.

The classifier (:func:`wlgeo.engine.classify.classify_records`) builds the records; the
``reasons`` column of a plan is their text, ``;``-joined in rule order
(:func:`format_reasons`)::

    red_line:12450m2(23.1%)   farmland:300m2(1.2%)   protected:5000m2(world_heritage)
    settlement:180m(张家院子)  trunk_line:650m(G65)   main_river:420m(乌江)
    visible:1830m(G65 包茂高速)  hidden:420m(G65)      sight:not_checked
    small:30<50               merge:G03              licence_end:2025-06-30

Code that has the plan in memory uses the records (:func:`reasons_of`). :func:`parse_reasons`
is the one way back from that text, for a plan read from a file (a run's ``plan.gpkg``); it is
the only place in wlgeo that reads a reasons string.

Examples
--------
>>> records = (Reason.overlap("red_line", 12450.0, share=23.14), Reason.distance("settlement", 180.2, "张家院子"),
...            Reason.small(30, 50), Reason.merge("G03"), Reason.licence_end("2025-06-30"))
>>> text = format_reasons(records)
>>> text
'red_line:12450m2(23.1%);settlement:180m(张家院子);small:30<50;merge:G03;licence_end:2025-06-30'
>>> parse_reasons(text) == records
True
>>> records[1]
Reason(code='settlement', figure=180.0, unit='m', name='张家院子')
>>> records[1].display
'爆破安全距离内有居民点 Settlement within blasting distance: 180m(张家院子)'
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from types import MappingProxyType
from typing import Any

import pandas as pd

__all__ = [
    "REASON_LABELS",
    "Reason",
    "figure_text",
    "format_reasons",
    "parse_reasons",
    "reasons_of",
]

#: Bilingual labels (中文, English) of the reason codes; an unknown code is shown as written.
REASON_LABELS: Mapping[str, tuple[str, str]] = MappingProxyType({
    "red_line": ("占用生态保护红线", "Overlaps ecological red line"),
    "farmland": ("占用永久基本农田", "Overlaps permanent farmland"),
    "protected": ("占用自然保护地", "Overlaps a protected area"),
    "protected_area": ("占用自然保护地", "Overlaps a protected area"),
    "protected_areas": ("占用自然保护地", "Overlaps a protected area"),
    "settlement": ("爆破安全距离内有居民点", "Settlement within blasting distance"),
    "trunk_line": ("位于交通干线可视范围", "Within trunk-line corridor"),
    "main_river": ("位于主要河流可视范围", "Within main-river corridor"),
    "small": ("规模低于最低开采规模", "Below minimum capacity"),
    "small_capacity": ("规模低于最低开采规模", "Below minimum capacity"),
    "capacity": ("规模低于最低开采规模", "Below minimum capacity"),
    "merge": ("与邻近矿山整合", "Consolidated with neighbours"),
    "consolidate": ("与邻近矿山整合", "Consolidated with neighbours"),
    "group": ("与邻近矿山整合", "Consolidated with neighbours"),
    "license_end": ("采矿许可证到期", "Licence ends"),
    "licence_end": ("采矿许可证到期", "Licence ends"),
})

_SEPARATOR = ";"


def figure_text(value: float) -> str:
    """A figure as a reason writes it: whole numbers (and anything ≥ 100) without decimals, else one.

    >>> figure_text(12450.3), figure_text(23.14), figure_text(2.97), figure_text(49.5)
    ('12450', '23.1', '3', '49.5')
    """
    rounded = round(float(value))
    if math.isclose(value, rounded, abs_tol=0.05) or abs(value) >= 100:
        return str(int(rounded))
    return f"{value:.1f}"


def _recorded(value: float | None) -> float | None:
    """The figure as the reason states it (rounded like :func:`figure_text`), so text and record agree."""
    return None if value is None else float(figure_text(float(value)))


def _clean_name(name: object) -> str | None:
    """A feature name as a reason shows it: stripped; ``None`` for missing, NaN or blank."""
    if name is None or (isinstance(name, float) and math.isnan(name)) or not str(name).strip():
        return None
    return str(name).strip()


@dataclass(frozen=True)
class Reason:
    """One rule that fired for a quarry, with the figure it states.

    Attributes
    ----------
    code : the rule (``red_line``, ``settlement``, ``visible``, ``small``, ``merge``, ``licence_end`` …).
    figure : the measured number (m², m, or 万吨/年 for ``small``), as the reason states it —
        rounded to whole numbers, or one decimal below 100 (:func:`figure_text`); ``None`` for a
        reason that carries a text ``value`` instead.
    unit : unit written after the figure: ``"m2"`` (overlaps), ``"m"`` (distances) or ``""``
        (capacity, written bare).
    limit : the threshold written after the figure (``small:30<50`` → 50.0), else ``None``.
    share : the overlap's share of the quarry in % (``red_line:12450m2(23.1%)`` → 23.1), else ``None``.
    name : the feature the reason names in brackets (settlement, line, river, protected-area
        kinds), else ``None``. A reason shows a name or a share, never both.
    value : the text a reason carries instead of a figure: a group id (``merge:G03``), an ISO date
        (``licence_end:2025-06-30``), ``not_checked`` (``sight``); else ``None``.

    :attr:`text` is the reason as the ``reasons`` column writes it; :func:`parse_reasons` reads it
    back to an equal record.
    """

    code: str
    figure: float | None = None
    unit: str = ""
    limit: float | None = None
    share: float | None = None
    name: str | None = None
    value: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.code, str) or not self.code.strip() or any(c in self.code for c in ":;"):
            raise ValueError(f"a reason code is a non-empty word without ':' or ';', got {self.code!r}")
        object.__setattr__(self, "name", _clean_name(self.name))
        if self.value is not None and (self.figure is not None or self.name is not None or self.share is not None
                                       or self.limit is not None):
            raise ValueError(f"reason {self.code}: a text value ({self.value!r}) carries no figure, name or share")
        if self.figure is None and (self.limit is not None or self.share is not None or self.name is not None
                                    or self.unit):
            raise ValueError(f"reason {self.code}: a unit, limit, share or name needs a figure")
        if self.name is not None and self.share is not None:
            raise ValueError(f"reason {self.code}: shows either a name or a share, not both")
        if self.unit not in ("", "m", "m2"):
            raise ValueError(f"reason {self.code}: unit must be 'm2', 'm' or '', got {self.unit!r}")

    def __repr__(self) -> str:  # only the fields set, so records read well in tests and logs
        shown = [f"{f.name}={getattr(self, f.name)!r}" for f in fields(self)
                 if f.name == "code" or getattr(self, f.name) not in (None, "")]
        return f"Reason({', '.join(shown)})"

    # ------------------------------------------------------------------ the rules' reasons
    @classmethod
    def overlap(cls, code: str, m2: float, *, share: float | None = None, name: object = None) -> Reason:
        """An overlap rule (``red_line``, ``farmland``, ``protected``): area in m², and the share
        in % or, for protected areas, the kinds overlapped (a name wins over the share)."""
        name = _clean_name(name)
        return cls(code, _recorded(m2), "m2", share=None if name is not None or share is None else _recorded(share),
                   name=name)

    @classmethod
    def distance(cls, code: str, metres: float, name: object = None) -> Reason:
        """A distance rule (``settlement``, ``trunk_line``, ``main_river``, ``visible``, ``hidden``)
        and the feature it measured to."""
        return cls(code, _recorded(metres), "m", name=name)

    @classmethod
    def small(cls, capacity: float, minimum: float) -> Reason:
        """Capacity (万吨/年) below the minimum: ``small:30<50``."""
        return cls("small", _recorded(capacity), limit=_recorded(minimum))

    @classmethod
    def merge(cls, group_id: str) -> Reason:
        """Consolidated into group ``group_id``: ``merge:G03``."""
        return cls("merge", value=str(group_id))

    @classmethod
    def licence_end(cls, date: Any) -> Reason:
        """The licence end date (any date-like value, written as ISO): ``licence_end:2025-06-30``."""
        return cls("licence_end", value=pd.Timestamp(date).date().isoformat())

    @classmethod
    def sight_not_checked(cls) -> Reason:
        """The DEM could not settle line of sight: the fixed corridor applies instead."""
        return cls("sight", value="not_checked")

    # ------------------------------------------------------------------ text
    @property
    def body(self) -> str | None:
        """What follows ``code:`` in the text (``12450m2(23.1%)``), ``None`` for a bare code."""
        if self.value is not None:
            return self.value
        if self.figure is None:
            return None
        out = figure_text(self.figure) + self.unit
        if self.limit is not None:
            out += "<" + figure_text(self.limit)
        if self.name is not None:
            out += f"({self.name})"
        elif self.share is not None:
            out += f"({figure_text(self.share)}%)"
        return out

    @property
    def text(self) -> str:
        """The reason as the ``reasons`` column writes it: ``settlement:180m(张家院子)``."""
        body = self.body
        return self.code if body is None else f"{self.code}:{body}"

    def __str__(self) -> str:
        return self.text

    @property
    def label(self) -> str:
        """``中文 English`` label of the code (:data:`REASON_LABELS`), or the code itself when unknown."""
        zh_en = REASON_LABELS.get(self.code)
        return f"{zh_en[0]} {zh_en[1]}" if zh_en else self.code

    @property
    def display(self) -> str:
        """The line a map shows (not escaped): ``占用生态保护红线 Overlaps ecological red line: 12450m2(23.1%)``."""
        body = self.body
        return self.label if body is None else f"{self.label}: {body}"


def format_reasons(records: Iterable[Reason]) -> str:
    """The ``reasons`` column text of one quarry: the records' :attr:`Reason.text`, ``;``-joined.

    >>> format_reasons([Reason.small(20, 50), Reason.licence_end("2035-12-31")])
    'small:20<50;licence_end:2035-12-31'
    >>> format_reasons(())
    ''
    """
    return _SEPARATOR.join(r.text for r in records)


_NUMBER = r"-?\d+(?:\.\d+)?"
_BODY = re.compile(rf"({_NUMBER})(m2|m)?(?:<({_NUMBER}))?(?:\((.*)\))?", re.DOTALL)
_SHARE = re.compile(rf"({_NUMBER})%")


def _parse_one(token: str) -> Reason:
    code, sep, body = token.partition(":")
    code, body = code.strip(), body.strip()
    if not sep:
        return Reason(code)
    match = _BODY.fullmatch(body)
    if match is None:
        return Reason(code, value=body)
    figure, unit, limit, detail = match.groups()
    share = _SHARE.fullmatch(detail.strip()) if detail is not None else None
    return Reason(code, float(figure), unit or "", limit=float(limit) if limit is not None else None,
                  share=float(share.group(1)) if share else None, name=None if share else detail)


def parse_reasons(text: Any) -> tuple[Reason, ...]:
    """The records of one quarry's ``reasons`` text (read back from a plan file).

    The inverse of :func:`format_reasons` for every reason the classifier writes. Blank entries
    are skipped; an entry with an unknown code is kept (its figure or text value as written).

    Examples
    --------
    >>> parse_reasons("red_line:12450m2(23.1%);sight:not_checked;small:30<50")
    (Reason(code='red_line', figure=12450.0, unit='m2', share=23.1), Reason(code='sight', value='not_checked'), \
Reason(code='small', figure=30.0, limit=50.0))
    >>> text = "protected:5000m2(world_heritage);visible:1830m(G65 包茂高速);hidden:420m;merge:G01"
    >>> format_reasons(parse_reasons(text)) == text
    True
    >>> parse_reasons(None), parse_reasons("")
    ((), ())
    """
    if text is None or text is pd.NA or (isinstance(text, float) and math.isnan(text)):
        return ()
    tokens = (t.strip() for t in str(text).split(_SEPARATOR))
    return tuple(_parse_one(t) for t in tokens if t and t.partition(":")[0].strip())


def _parsed_column(frame: pd.DataFrame) -> pd.Series:
    if "reasons" not in frame.columns:
        return pd.Series([()] * len(frame), index=frame.index, dtype=object)
    return pd.Series([parse_reasons(t) for t in frame["reasons"].tolist()], index=frame.index, dtype=object)


def reasons_of(plan: Any) -> pd.Series:
    """The reason records of every quarry of a plan: a Series of ``tuple[Reason, ...]`` aligned
    to the quarries' index.

    ``plan`` is a plan in memory (:class:`~wlgeo.PlanResult`: its ``reasons`` field, when the
    classifier's records were kept and still match ``plan.quarries``), a plan read back from a run
    (:class:`wlgeo.runs.reader.RunPlan`), or a quarries frame; otherwise the ``reasons`` text
    column is read with :func:`parse_reasons` (empty tuples when there is none).

    >>> frame = pd.DataFrame({"reasons": ["merge:G01", None]}, index=[7, 8])
    >>> reasons_of(frame).to_dict()
    {7: (Reason(code='merge', value='G01'),), 8: ()}
    """
    if isinstance(plan, pd.DataFrame):
        return _parsed_column(plan)
    quarries = plan.quarries
    records = getattr(plan, "reasons", None)
    if isinstance(records, pd.Series) and records.index.equals(quarries.index):
        return records
    return _parsed_column(quarries)
