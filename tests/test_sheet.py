"""The printable sheet: real CJK font, pixel size, content, PDF, errors."""

from __future__ import annotations

import datetime as dt
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from matplotlib import font_manager
from matplotlib.ft2font import FT2Font
from PIL import Image

import wlgeo.products.fonts as fonts
from test_maps import _pack, _result
from wlgeo.model.errors import MapError, OutputError, WlgeoWarning
from wlgeo.products.sheet import map_sheet, sheet_figure

TITLE = "武隆区碎石矿山布局规划图 — baseline"


def _hex(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))


def test_title_uses_a_real_cjk_font():
    fig = sheet_figure(_result(), _pack())
    title = fig.texts[0]
    assert title.get_text() == TITLE
    used = Path(font_manager.findfont(title.get_fontproperties(), fallback_to_default=False))
    font = fonts.cjk_font()
    assert font.found and used == font.path
    # independent check: the file itself has a glyph for every character of the title
    charmap = FT2Font(str(used)).get_charmap()
    assert all(ord(ch) in charmap for ch in TITLE if not ch.isspace())
    assert "dejavu" not in used.name.lower()


@pytest.fixture(scope="module")
def sheet(tmp_path_factory):
    out = tmp_path_factory.mktemp("sheet")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        paths = map_sheet(_result(), _pack(), out / "sheet", date=dt.date(2025, 3, 1), source="wulong.gpkg")
    return paths, [str(w.message) for w in caught]


def test_no_missing_glyph_warnings(sheet):
    _, messages = sheet
    assert not [m for m in messages if "missing from" in m or "Glyph" in m], messages


def test_png_size_and_content(sheet):
    paths, _ = sheet
    assert [p.name for p in paths] == ["sheet.png", "sheet.pdf"]
    image = Image.open(paths[0])
    # A3 landscape is 420 x 297 mm; at 300 dpi matplotlib truncates inches * dpi
    assert image.size == (int(420 / 25.4 * 300), int(297 / 25.4 * 300)) == (4960, 3507)
    pixels = np.asarray(image.convert("RGB")).reshape(-1, 3)
    white = np.all(pixels == 255, axis=1)
    assert 0.02 < 1 - white.mean() < 0.6
    for decision_fill in ("#e31a1c", "#fd8d3c", "#33a02c", "#1f78b4", "#9e4fd0"):  # close … new: opaque markers
        assert np.all(pixels == _hex(decision_fill), axis=1).any(), decision_fill
    assert not np.all(pixels == _hex("#123456"), axis=1).any()  # a colour the style does not use is absent
    assert len({tuple(p) for p in pixels[::7]}) > 50


def test_pdf_written_with_cjk_font(sheet):
    paths, _ = sheet
    data = paths[1].read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    assert re.search(rb"/BaseFont /([A-Z]{6}\+)?NotoSansSC", data)


def test_portrait_a4_size(tmp_path):
    (png,) = map_sheet(_result(), None, tmp_path / "a4.png", paper="A4", orientation="portrait", dpi=100, formats=("png",))
    assert Image.open(png).size == (int(210 / 25.4 * 100), int(297 / 25.4 * 100))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a4.png"]


def test_bad_options(tmp_path):
    with pytest.raises(MapError, match="unknown paper 'B5'; allowed: A4, A3"):
        map_sheet(_result(), None, tmp_path / "s", paper="B5")
    with pytest.raises(MapError, match="orientation"):
        map_sheet(_result(), None, tmp_path / "s", orientation="sideways")
    with pytest.raises(MapError, match="format"):
        map_sheet(_result(), None, tmp_path / "s", formats=("jpg",))
    with pytest.raises(OutputError):
        map_sheet(_result(), None, tmp_path / "nowhere" / "s", dpi=50)
    assert list(tmp_path.iterdir()) == []


def test_font_fallback_warns(monkeypatch, tmp_path):
    bogus = tmp_path / "not-a-font.ttf"
    bogus.write_bytes(b"nope")
    monkeypatch.setenv("WLGEO_CJK_FONT", str(bogus))
    fonts.cjk_font.cache_clear()
    try:
        with pytest.warns(WlgeoWarning, match="WLGEO_CJK_FONT"):
            font = fonts.cjk_font()
        assert font.found and font.path != bogus
        # a machine with neither the PyPI font nor a system CJK font: a clear warning, default font
        fonts.cjk_font.cache_clear()
        monkeypatch.delenv("WLGEO_CJK_FONT")
        monkeypatch.setattr(fonts, "_packaged", lambda: None)
        monkeypatch.setattr(fonts, "_system", lambda: [])
        with pytest.warns(WlgeoWarning, match="no CJK font found.*pylopdf-fonts-zh-cn"):
            font = fonts.cjk_font()
        assert not font.found
    finally:
        fonts.cjk_font.cache_clear()
