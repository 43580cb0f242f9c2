"""What a survey file says about its grid: datum, zone width, zone number, projection.

A 部标 TXT header (``坐标系``, ``几度分带``, ``带号``, ``投影类型``) or the title row of a corner
table (``2000国家大地坐标系 3度带 第37带``) names the grid its coordinates are in. :func:`hint_from_header`
and :func:`hint_from_text` turn that text into a :class:`GridHint`; the reading funnel
(:mod:`wlgeo.io.coords`) weighs it against the coordinates' magnitudes and zone prefix and
against an explicit ``crs=``, which always wins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from wlgeo.model.crs import GK_ZONES, Datum

__all__ = ["GridHint", "hint_from_header", "hint_from_text", "datum_from_text", "LOCAL_GRID"]

_DATUM_PATTERNS: tuple[tuple[Datum, re.Pattern], ...] = (
    ("cgcs2000", re.compile(r"2000|cgcs", re.I)),
    ("xian80", re.compile(r"西安|xi.?an|1980|80", re.I)),
    ("beijing54", re.compile(r"北京|beijing|1954|54", re.I)),
)
_WGS84 = re.compile(r"wgs|1984|84坐标", re.I)
LOCAL_GRID = re.compile(r"独立|地方|任意|城建|工程坐标|假定|local|independent|arbitrary", re.I)
"""Names of independent or local grids (独立坐标系, 地方坐标系): no EPSG code, parameters needed."""


def datum_from_text(text: str) -> Datum | None:
    """Recognise the datum a survey header names (``"2000国家大地坐标系"`` → ``"cgcs2000"``).

    Returns ``None`` for an empty or unrecognised value (and for WGS84, which is not a GK datum).

    Examples
    --------
    >>> datum_from_text("1980西安坐标系"), datum_from_text("CGCS2000"), datum_from_text("")
    ('xian80', 'cgcs2000', None)
    """
    text = (text or "").strip()
    if not text or _WGS84.search(text):
        return None
    for datum, pattern in _DATUM_PATTERNS:
        if pattern.search(text):
            return datum
    return None


@dataclass
class GridHint:
    """The grid a file's text names. Every field is ``None`` when the text does not say.

    Attributes
    ----------
    datum : ``cgcs2000``, ``xian80`` or ``beijing54``.
    wgs84 : the text names WGS84 (then the grid is UTM).
    width : zone width in degrees (3 or 6), from ``几度分带`` or from the zone number.
    zone : zone number (3-degree 25–45, 6-degree 13–23, UTM 1–60).
    utm : the projection is UTM (``投影类型=UTM``, or a WGS84 datum).
    local : the text naming an independent or local grid (no EPSG code exists).
    problems : contradictions and unreadable values (the funnel refuses them unless ``crs=`` is given).
    notes : how values were read (a 带号 given as a central meridian, ...).
    said : ``key=value`` of what the text said, for messages.
    """

    datum: Datum | None = None
    wgs84: bool = False
    width: int | None = None
    zone: int | None = None
    utm: bool = False
    local: str | None = None
    projection_gk: bool = False
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    said: str = ""

    @property
    def empty(self) -> bool:
        return not (self.datum or self.wgs84 or self.width or self.zone or self.utm or self.local or self.problems)


def _width(text: str, hint: GridHint, key: str) -> None:
    text = text.strip()
    if not text:
        return
    match = re.fullmatch(r"(3|6|三|六)\s*(度|°)?\s*(带|分带)?", text)
    if match is None:
        hint.problems.append(f"{key}={text!r} is not 3 or 6")
        return
    hint.width = 3 if match.group(1) in ("3", "三") else 6


def _zone(text: str, hint: GridHint, key: str) -> None:
    text = text.strip()
    if not text:
        return  # an empty 带号= is common: the prefix or the caller's working zone decides
    match = re.fullmatch(r"(第)?\s*(\d{1,3})\s*(度带|带|度)?", text)
    if match is None:
        hint.problems.append(f"{key}={text!r} is not a zone number")
        return
    number = int(match.group(2))
    if 72 <= number <= 136 and not hint.utm:
        # a central meridian written in place of the zone number (带号=111)
        if hint.width == 6 or (hint.width is None and number % 3 != 0):
            if (number + 3) % 6:
                hint.problems.append(f"{key}={number} is neither a zone number nor a 6-degree central meridian")
                return
            hint.width, zone = 6, (number + 3) // 6
        else:
            hint.width, zone = 3, number // 3
            if number % 3:
                hint.problems.append(f"{key}={number} is neither a zone number nor a 3-degree central meridian")
                return
        hint.notes.append(f"{key}={number} read as the central meridian {number}°E: {hint.width}-degree zone {zone}")
        number = zone
    hint.zone = number


def _check(hint: GridHint, width_key: str, zone_key: str) -> None:
    if hint.wgs84 and not hint.utm and (hint.projection_gk or hint.width == 3):
        hint.problems.append(
            f"坐标系=WGS84 with a {'3-degree ' if hint.width == 3 else ''}Gauss-Kruger projection: WGS84 grids are "
            "read as UTM (投影类型=UTM); Gauss-Kruger grids in CGCS2000, Xian 1980 or Beijing 1954")
        return
    if hint.utm or hint.wgs84:
        hint.utm = True
        if hint.zone is not None and not 1 <= hint.zone <= 60:
            hint.problems.append(f"{zone_key}={hint.zone} is not a UTM zone (1–60)")
        return
    if hint.zone is None:
        return
    if hint.width is None:
        for width, (low, high) in GK_ZONES.items():
            if low <= hint.zone <= high:
                hint.width = width
                hint.notes.append(f"{zone_key}={hint.zone} is a {width}-degree zone number")
                return
        hint.problems.append(
            f"{zone_key}={hint.zone} is not a zone of China (3-degree zones 25–45, 6-degree zones 13–23)")
        return
    low, high = GK_ZONES[hint.width]
    if not low <= hint.zone <= high:
        other = next((w for w, (lo, hi) in GK_ZONES.items() if lo <= hint.zone <= hi), None)
        why = f" ({hint.zone} is a {other}-degree zone number)" if other else ""
        hint.problems.append(
            f"{width_key}={hint.width} with {zone_key}={hint.zone} is a contradiction: China's "
            f"{hint.width}-degree zones are {low}–{high}{why}")


def hint_from_header(header: dict[str, str]) -> GridHint:
    """Read a 部标 ``[属性描述]`` header (``坐标系``, ``几度分带``, ``带号``, ``投影类型``).

    Examples
    --------
    >>> h = hint_from_header({"坐标系": "2000国家大地坐标系", "几度分带": "3", "带号": "37"})
    >>> h.datum, h.width, h.zone, h.problems
    ('cgcs2000', 3, 37, [])
    >>> hint_from_header({"几度分带": "6", "带号": "36"}).problems[0].split(":")[0]
    '几度分带=6 with 带号=36 is a contradiction'
    """
    hint = GridHint()
    said = []
    for key in ("坐标系", "几度分带", "投影类型", "带号"):
        value = (header.get(key) or "").strip()
        if value:
            said.append(f"{key}={value}")
    hint.said = ", ".join(said)
    system = (header.get("坐标系") or "").strip()
    if system:
        if LOCAL_GRID.search(system):
            hint.local = system
        elif _WGS84.search(system):
            hint.wgs84 = True
        else:
            hint.datum = datum_from_text(system)
            if hint.datum is None:
                hint.problems.append(
                    f"坐标系={system!r} is not a datum wlgeo knows (2000国家大地坐标系, 1980西安坐标系, "
                    "1954北京坐标系, WGS84)")
    projection = (header.get("投影类型") or "").strip()
    if re.search(r"utm|通用横轴墨卡托|通用横轴", projection, re.I):
        hint.utm = True
    elif re.search(r"高斯|克吕格|gauss|kr[uü]ger|gk", projection, re.I):
        hint.projection_gk = True
    _width(header.get("几度分带") or "", hint, "几度分带")
    _zone(header.get("带号") or "", hint, "带号")
    for key in ("中央子午线", "中央经线"):
        value = re.sub(r"[°度E东\s]", "", header.get(key) or "")
        if value and hint.zone is None:
            if re.fullmatch(r"\d{2,3}(\.0+)?", value):
                _zone(str(int(float(value))), hint, key)
                hint.said += f", {key}={header[key].strip()}"
            else:
                hint.problems.append(f"{key}={header[key].strip()!r} is not a central meridian in whole degrees")
    _check(hint, "几度分带", "带号")
    return hint


def hint_from_text(text: str) -> GridHint:
    """Read a free-text title (``坐标系：1980西安坐标系 3度带 第37带``) of a corner table.

    Examples
    --------
    >>> h = hint_from_text("拐点坐标（2000国家大地坐标系，3度分带，带号37）")
    >>> h.datum, h.width, h.zone
    ('cgcs2000', 3, 37)
    """
    hint = GridHint(said=text.strip())
    if LOCAL_GRID.search(text) and re.search(r"坐标", text):
        hint.local = text.strip()
        return hint
    if _WGS84.search(text):
        hint.wgs84 = True
    else:
        hint.datum = datum_from_text(text)
    if re.search(r"utm|通用横轴墨卡托", text, re.I):
        hint.utm = True
    width = re.search(r"(3|6|三|六)\s*(度|°)\s*(分)?带", text)
    if width:
        _width(width.group(1), hint, "分带")
    zone = re.search(r"带号\s*[:：=]?\s*(\d{1,3})|第\s*(\d{1,3})\s*带|(\d{2})\s*带(?!号)", text)
    if zone:
        number = next(g for g in zone.groups() if g)
        if not (width and number in ("3", "6")):
            _zone(number, hint, "带号")
    cm = re.search(r"中央(子午线|经线)\s*[:：=]?\s*(\d{2,3})", text)
    if cm and hint.zone is None:
        _zone(cm.group(2), hint, "中央子午线")
    _check(hint, "分带", "带号")
    return hint
