"""A CJK font for printed sheets, registered explicitly with matplotlib's font manager.

matplotlib has no Chinese glyphs of its own. The font is looked for, in order:

1. the file named by the environment variable ``WLGEO_CJK_FONT``;
2. Noto Sans SC from the PyPI package ``pylopdf-fonts-zh-cn`` (SIL OFL 1.1, a dependency);
3. system fonts: Noto Sans CJK (Debian ``fonts-noto-cjk``), Source Han Sans, WenQuanYi,
   SimHei / Microsoft YaHei (Windows), PingFang (macOS).

When none is found a :class:`~wlgeo.model.errors.WlgeoWarning` says so and the sheet falls back to
matplotlib's default font (Chinese then prints as empty boxes).

Examples
--------
>>> font = cjk_font()  # doctest: +SKIP
>>> font.get_name()  # doctest: +SKIP
'Noto Sans SC'
"""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from matplotlib import font_manager

from wlgeo.model.errors import WlgeoWarning

__all__ = ["CJKFont", "cjk_font", "web_font_subset", "SYSTEM_CJK_FAMILIES"]

log = logging.getLogger(__name__)

SYSTEM_CJK_FAMILIES: tuple[str, ...] = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
    "Noto Sans CJK JP",
)
"""System font families tried, in order, when no packaged font is available."""

_TEST_TEXT = "武隆区碎石矿山布局规划图关闭退出到期予以保留优化整合规划新建"


@dataclass(frozen=True)
class CJKFont:
    """The font chosen for Chinese text: its file, family name and where it came from."""

    path: Path | None
    name: str
    source: str

    @property
    def found(self) -> bool:
        return self.path is not None

    def properties(self, size: float | None = None, weight: str | None = None) -> font_manager.FontProperties:
        """FontProperties that point at this exact file (or the default family when none was found)."""
        if self.path is None:
            return font_manager.FontProperties(size=size, weight=weight)
        return font_manager.FontProperties(fname=str(self.path), size=size, weight=weight)


def _covers(path: Path) -> bool:
    """Whether the font file has a glyph for every character of a sample of sheet text."""
    try:
        from matplotlib.ft2font import FT2Font

        font = FT2Font(str(path))
        charmap = font.get_charmap()
    except Exception as err:  # unreadable or unsupported font file
        log.debug("font %s unusable: %s", path, err)
        return False
    return all(ord(ch) in charmap for ch in _TEST_TEXT)


def _register(path: Path, source: str) -> CJKFont | None:
    if not path.is_file() or not _covers(path):
        return None
    font_manager.fontManager.addfont(str(path))
    name = font_manager.FontProperties(fname=str(path)).get_name()
    log.info("CJK font: %s (%s, %s)", name, path, source)
    return CJKFont(path, name, source)


def _packaged() -> Path | None:
    try:
        import pylopdf_fonts_zh_cn
    except ImportError:
        return None
    return Path(pylopdf_fonts_zh_cn.sans_path())


def _system() -> list[Path]:
    by_family: dict[str, list[Path]] = {}
    for entry in font_manager.fontManager.ttflist:
        by_family.setdefault(entry.name, []).append(Path(entry.fname))
    for path in font_manager.findSystemFonts():
        lower = Path(path).name.lower()
        if any(k in lower for k in ("cjk", "wqy", "simhei", "msyh", "sourcehan", "notosanssc", "pingfang")):
            by_family.setdefault("_files", []).append(Path(path))
    out = []
    for family in SYSTEM_CJK_FAMILIES:
        regular = sorted(by_family.get(family, []), key=lambda p: ("regular" not in p.name.lower(), p.name))
        out.extend(regular)
    out.extend(sorted(by_family.get("_files", []), key=lambda p: ("sans" not in p.name.lower(), p.name)))
    return out


@lru_cache(maxsize=1)
def cjk_font() -> CJKFont:
    """Find, check and register a CJK font; warn (once) when there is none.

    Returns
    -------
    CJKFont
        ``path`` is ``None`` when no CJK font was found.
    """
    env = os.environ.get("WLGEO_CJK_FONT")
    if env:
        found = _register(Path(env), "WLGEO_CJK_FONT")
        if found:
            return found
        warnings.warn(f"WLGEO_CJK_FONT={env} is not a readable font with Chinese glyphs; looking elsewhere",
                      WlgeoWarning, stacklevel=2)
    packaged = _packaged()
    if packaged is not None:
        found = _register(packaged, "pylopdf-fonts-zh-cn")
        if found:
            return found
    for path in _system():
        found = _register(path, "system")
        if found:
            return found
    warnings.warn(
        "no CJK font found: Chinese text on the sheet will print as boxes. Install the PyPI package "
        "pylopdf-fonts-zh-cn (or Debian fonts-noto-cjk), or set WLGEO_CJK_FONT to a .ttf/.otf with Chinese glyphs",
        WlgeoWarning,
        stacklevel=2,
    )
    return CJKFont(None, font_manager.FontProperties().get_name(), "matplotlib default (no CJK)")


def web_font_subset(text: str) -> bytes | None:
    """A WOFF font holding only the glyphs of ``text`` (plus printable ASCII), cut from the CJK font.

    What the offline map embeds in ``@font-face`` so its Chinese reads on a machine without a
    Chinese font. Returns ``None`` (the map then relies on system fonts) when no CJK font file
    is available. Uses fontTools' subsetter; WOFF (zlib) needs no extra package.

    Examples
    --------
    >>> data = web_font_subset("武隆区")  # doctest: +SKIP
    >>> data[:4]  # doctest: +SKIP
    b'wOFF'
    """
    import io

    from fontTools import subset
    from fontTools.ttLib import TTFont

    font_file = cjk_font().path
    if font_file is None:
        return None
    chars = {ch for ch in set(text) if ord(ch) > 126} | {chr(c) for c in range(32, 127)}
    options = subset.Options()
    options.flavor = "woff"
    options.layout_features = []
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True
    options.hinting = False
    options.recalc_bounds = False
    font = TTFont(str(font_file), lazy=True, recalcBBoxes=False)
    try:
        subsetter = subset.Subsetter(options)
        subsetter.populate(text="".join(sorted(chars)))
        subsetter.subset(font)
        buffer = io.BytesIO()
        font.flavor = "woff"
        font.save(buffer)
    finally:
        font.close()
    return buffer.getvalue()
