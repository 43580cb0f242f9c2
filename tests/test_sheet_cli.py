"""``wlgeo sheet RUN``: printed sheets from a run, the district or one per town, rendered for real.

The pack is built here: three towns side by side, 10 km × 8 km each, one 1500 m × 1000 m quarry
in each, chosen so each town holds a different decision (DESIGN §4, by hand):

- 和顺镇: A1 (town field) overlaps the red line by 750 m × 1000 m = 750 000 m² (50 %) → close;
- 白马镇: B1 (no town field, lies in 白马镇's polygon) large (100) and alone → retain; it lies
  300 m east of the 和顺镇 border, inside the frame of 和顺镇's sheet;
- ``../x``: C1 (no town field) small (20 < 50) and alone → expire.

Colours are counted in the PNGs: a decision's polygon fill (opacity 0.75) over the white map is
0.75 × fill + 0.25 × 255 per channel, worked out here from the hex codes of wlgeo.products.style.
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from PIL import Image

import wlgeo
from wlgeo.runs.reader import load_run
from wlgeo.products.sheet import sheet_figure

CRS = "EPSG:4545"
X0, Y0 = 450_000.0, 3_250_000.0
TOWNS = ["和顺镇", "白马镇", "../x"]
FILES = {"和顺镇": "和顺镇.png", "白马镇": "白马镇.png", "../x": "__x.png"}
# fill colours of wlgeo.products.style.DECISION_SYMBOLS, copied by hand
FILL = {"close": "#e31a1c", "expire": "#fd8d3c", "retain": "#33a02c", "consolidate": "#1f78b4"}
TOWN_DECISION = {"和顺镇": "close", "白马镇": "retain", "../x": "expire"}
A3_50DPI = (int(420 / 25.4 * 50), int(297 / 25.4 * 50))  # matplotlib truncates inches × dpi


def _rgb(colour: str) -> np.ndarray:
    return np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)], dtype=float)


def _blend(colour: str, opacity: float = 0.75) -> np.ndarray:
    return opacity * _rgb(colour) + (1 - opacity) * 255.0


def _count(pixels: np.ndarray, colour: np.ndarray, tol: float = 6.0) -> int:
    return int((np.abs(pixels[..., :3].astype(float) - colour).max(axis=-1) <= tol).sum())


def _map_part(path: Path) -> np.ndarray:
    """The map frame of a sheet: left of the legend (which starts at 80 % of the width)."""
    image = np.asarray(Image.open(path).convert("RGB"))
    return image[:, : int(image.shape[1] * 0.78)]


def _legend_part(path: Path) -> np.ndarray:
    image = np.asarray(Image.open(path).convert("RGB"))
    return image[: int(image.shape[0] * 0.6), int(image.shape[1] * 0.8):]


def _rect(x: float, y: float):
    return shapely.box(X0 + x, Y0 + y, X0 + x + 1500, Y0 + y + 1000)


def _write_pack(path: Path) -> None:
    towns = gpd.GeoDataFrame({"town": TOWNS}, crs=CRS, geometry=[
        shapely.box(X0 + i * 10_000, Y0, X0 + (i + 1) * 10_000, Y0 + 8000) for i in range(3)])
    quarries = gpd.GeoDataFrame(
        {"quarry_id": ["A1", "B1", "C1"], "name": ["甲采石场", "乙采石场", "丙采石场"], "capacity": [100.0, 100.0, 20.0],
         "license_end": [dt.date(2035, 12, 31)] * 3, "town": ["和顺镇", None, None]},
        geometry=[_rect(3000, 3000), _rect(10_300, 3500), _rect(25_000, 3000)], crs=CRS)
    boundary = gpd.GeoDataFrame({"name": ["测试区"]}, geometry=[shapely.box(X0, Y0, X0 + 30_000, Y0 + 8000)], crs=CRS)
    red_line = gpd.GeoDataFrame({"category": ["生态"]}, geometry=[shapely.box(X0 + 2500, Y0 + 2500, X0 + 3750, Y0 + 4500)],
                                crs=CRS)
    for name, frame in {"boundary": boundary, "towns": towns, "quarries": quarries, "red_line": red_line}.items():
        frame.to_file(path, layer=name, driver="GPKG", engine="pyogrio")


def wlgeo_cli(*args) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "wlgeo.cli", *map(str, args)], capture_output=True, text=True,
                            timeout=300)
    assert "Traceback" not in result.stderr + result.stdout
    return result


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("sheetrun")
    _write_pack(base / "pack.gpkg")
    return wlgeo.run(base / "pack.gpkg", out_dir=base / "run", sites=False)


@pytest.fixture(scope="module")
def by_town(run_dir, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    out = tmp_path_factory.mktemp("sheets") / "out"
    return out, wlgeo_cli("sheet", run_dir, "--by", "town", "--out", out, "--dpi", 50, "--format", "png")


# ------------------------------------------------------------------------------ library
def test_load_run_reads_decisions_and_scenario(run_dir):
    plan, pack = load_run(run_dir)
    assert dict(zip(plan.quarries["quarry_id"], plan.quarries["decision"])) == {"A1": "close", "B1": "retain",
                                                                                 "C1": "expire"}
    assert plan.scenario.name == "baseline"
    assert sorted(pack.get("towns")["town"]) == sorted(TOWNS)
    # the plan.gpkg itself is accepted as well
    again, _ = load_run(run_dir / "plan.gpkg")
    assert list(again.quarries["quarry_id"]) == list(plan.quarries["quarry_id"])


def test_town_figure_title_legend_and_frame(run_dir):
    plan, pack = load_run(run_dir)
    fig = sheet_figure(plan, pack, town="和顺镇")
    # the district in the title is the pack's (its boundary is named 测试区), not a constant
    assert fig.texts[0].get_text() == "测试区碎石矿山布局规划图 — 和顺镇 — 基准方案"  # scenario title_zh (issue 15)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "关闭退出 Close (1)" in labels
    assert not [t for t in labels if t.startswith(("予以保留", "到期退出", "优化整合"))], labels
    x0, x1 = fig.axes[0].get_xlim()
    y0, y1 = fig.axes[0].get_ylim()
    # framed on the town (x 450 000..460 000, y 3 250 000..3 258 000) with a margin, not the district
    assert x0 < X0 and 10_000 < x1 - X0 < 13_000 and y0 < Y0 and y1 > Y0 + 8000
    # B1 (白马镇, x ≥ 460 300) is inside the frame: the sheet greys it rather than leaving it out
    assert x1 > X0 + 10_300


def test_unknown_town_in_the_library(run_dir):
    plan, pack = load_run(run_dir)
    with pytest.raises(wlgeo.MapError, match="no town named '火星镇'; the towns are: 和顺镇, 白马镇, ../x"):
        sheet_figure(plan, pack, town="火星镇")


# ------------------------------------------------------------------------------ command line
def test_by_town_one_png_per_town_at_the_paper_size(by_town):
    out, result = by_town
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES.values())  # no temp files, nothing else
    assert not (out.parent / "x.png").exists()  # '../x' stays inside the output directory
    for name in FILES.values():
        assert Image.open(out / name).size == A3_50DPI == (826, 584)
        assert f"wrote {out / name}" in result.stdout


@pytest.mark.parametrize("town", TOWNS)
def test_each_town_sheet_shows_its_decisions_only(by_town, town):
    out, _ = by_town
    path = out / FILES[town]
    pixels, legend = _map_part(path), _legend_part(path)
    own = TOWN_DECISION[town]
    # the quarry is 1500 m × 1000 m, about 75 × 50 px at this scale: most of it is plain fill
    assert _count(pixels, _blend(FILL[own])) > 800, own
    assert _count(legend, _blend(FILL[own])) > 20, own  # the legend patch is filled as on the map (0.75)
    for decision, colour in FILL.items():
        if decision != own:
            assert _count(pixels, _blend(colour)) == 0, decision
            assert _count(pixels, _rgb(colour)) == 0, decision
            assert _count(legend, _rgb(colour)) == 0, decision
            assert _count(legend, _blend(colour)) == 0, decision


def test_district_sheet_by_default_in_run_sheets(run_dir, tmp_path):
    result = wlgeo_cli("sheet", run_dir, "--dpi", 50, "--format", "png", "--overwrite")
    assert result.returncode == 0, result.stderr
    path = run_dir / "sheets" / "sheet.png"
    assert Image.open(path).size == A3_50DPI
    pixels = _map_part(path)
    # the whole district at 30 km wide: each quarry is ~25 × 17 px, every town's decision shows
    for decision in ("close", "retain", "expire"):
        assert _count(pixels, _blend(FILL[decision])) > 100, decision


def test_town_option_paper_and_pdf(run_dir, tmp_path):
    out = tmp_path / "one"
    result = wlgeo_cli("sheet", run_dir / "plan.gpkg", "--town", "白马镇", "--out", out, "--paper", "A4",
                       "--orientation", "portrait", "--dpi", 50, "--format", "png,pdf")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["白马镇.pdf", "白马镇.png"]
    assert Image.open(out / "白马镇.png").size == (int(210 / 25.4 * 50), int(297 / 25.4 * 50)) == (413, 584)
    pdf = (out / "白马镇.pdf").read_bytes()
    assert pdf.startswith(b"%PDF")
    # A4 portrait in PostScript points: 210 mm and 297 mm × 72 / 25.4 = 595.28 × 841.89
    box = re.search(rb"/MediaBox \[ 0 0 ([0-9.]+) ([0-9.]+) \]", pdf)
    assert box is not None
    assert float(box[1]) == pytest.approx(595.28, abs=0.01) and float(box[2]) == pytest.approx(841.89, abs=0.01)


def test_unknown_town_is_one_line_listing_the_towns(run_dir, tmp_path):
    out = tmp_path / "none"
    result = wlgeo_cli("sheet", run_dir, "--town", "和顺镇", "--town", "火星镇", "--out", out, "--format", "png")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "'火星镇'" in lines[0] and "和顺镇, 白马镇, ../x" in lines[0]
    assert not out.exists()


def test_refuses_to_overwrite_then_overwrites(run_dir, tmp_path):
    out = tmp_path / "again"
    first = wlgeo_cli("sheet", run_dir, "--town", "和顺镇", "--out", out, "--dpi", 20, "--format", "png")
    assert first.returncode == 0, first.stderr
    target = out / "和顺镇.png"
    target.write_bytes(b"keep me")
    second = wlgeo_cli("sheet", run_dir, "--town", "和顺镇", "--out", out, "--dpi", 20, "--format", "png")
    assert second.returncode == 2
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1 and "和顺镇.png" in lines[0] and "--overwrite" in lines[0]
    assert target.read_bytes() == b"keep me"
    third = wlgeo_cli("sheet", run_dir, "--town", "和顺镇", "--out", out, "--dpi", 20, "--format", "png", "--overwrite")
    assert third.returncode == 0, third.stderr
    assert Image.open(target).size == (int(420 / 25.4 * 20), int(297 / 25.4 * 20))


def test_a_failed_sheet_is_reported_and_the_others_kept(run_dir, tmp_path):
    out = tmp_path / "partial"
    blocker = out / "白马镇.png"
    blocker.mkdir(parents=True)
    (blocker / "inside").write_text("a directory where the sheet should go")
    result = wlgeo_cli("sheet", run_dir, "--by", "town", "--out", out, "--dpi", 20, "--format", "png", "--overwrite")
    assert result.returncode == 1
    assert "error: 白马镇:" in result.stderr and "1 of 3 sheets failed" in result.stderr
    assert Image.open(out / "和顺镇.png").size == Image.open(out / "__x.png").size == (330, 233)
    assert sorted(p.name for p in out.iterdir()) == ["__x.png", "和顺镇.png", "白马镇.png"]  # no temp file left
    assert (blocker / "inside").is_file()


def test_not_a_run(tmp_path):
    result = wlgeo_cli("sheet", tmp_path, "--format", "png")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"error: {tmp_path}: is not a wlgeo run directory: it has no plan.gpkg"]
