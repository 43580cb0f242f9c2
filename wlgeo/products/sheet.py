"""The printable map sheet (PNG + PDF) of a plan, drawn with matplotlib.

A3 landscape by default: title ``<district>碎石矿山布局规划图 — <scenario title_zh>``, the district
with every quarry coloured by decision (symbols from :mod:`wlgeo.products.style`, the legend drawing each
exactly as the map does: railways as black-and-white dashed double lines, expressways as cased
lines, the district boundary dash-dot purple), town names and park, base and port names placed
without overlap (:mod:`wlgeo.products.labels`), a scale bar in km with the ratio scale ``1:N`` (the frame
is set to a round N), a north arrow, grid ticks in the pack's working CRS metres
(e.g. EPSG:4545, CGCS2000 3-degree GK zone 36), ``示意数据 Synthetic data`` when the pack is made up
(:func:`wlgeo.products.style.is_synthetic`), and a footer with source, date and scenario. Geometry is
cut to the frame and simplified to half a printed pixel before drawing, each layer one compound
path, so a 10 000-quarry district prints in seconds and its PDF stays small. Chinese text uses
the font found by :func:`wlgeo.products.fonts.cjk_font`. ``town=`` draws one town instead: framed on its
polygon, the ground outside veiled, other towns' quarries grey, its name in the title, every
quarry labelled with its id (moved, with a leader line where space is short), legend counts for
the town only (``wlgeo sheet RUN --by town`` writes one per town via :func:`wlgeo.runs.sheets.run_sheets`).

Examples
--------
>>> from wlgeo.products.sheet import map_sheet
>>> map_sheet(result, pack, "out/sheet")  # doctest: +SKIP
[PosixPath('out/sheet.png'), PosixPath('out/sheet.pdf')]
"""

from __future__ import annotations

import datetime as _dt
import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import matplotlib
import numpy as np
import shapely
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, PathPatch, Polygon, Rectangle
from matplotlib.path import Path as MplPath
from matplotlib.ticker import FuncFormatter

from wlgeo.model.crs import WORKING_CRS, crs_label, gk_grid
from wlgeo.model.errors import MapError
from wlgeo.products.fonts import cjk_font
from wlgeo.products.labels import Label, LabelPlacer, nice_denominator, ratio_denominator
from wlgeo.products.style import (
    DECISION_SYMBOLS,
    LAYER_SYMBOLS,
    ROAD_KIND_SYMBOLS,
    SYNTHETIC_NOTE,
    Symbol,
    is_synthetic,
    scenario_title,
)
from wlgeo.io.atomic import atomic_path

__all__ = ["map_sheet", "sheet_figure", "save_sheet_file", "check_sheet_options", "PAPER_MM", "SHEET_FORMATS"]

log = logging.getLogger(__name__)

PAPER_MM: dict[str, tuple[float, float]] = {
    "A4": (297.0, 210.0),
    "A3": (420.0, 297.0),
    "A2": (594.0, 420.0),
    "A1": (841.0, 594.0),
    "A0": (1189.0, 841.0),
}
"""ISO paper sizes in mm, landscape (width, height)."""

_CONTEXT = (
    "towns", "resource_zones", "planning_blocks", "farmland", "red_line", "protected_areas",
    "rivers", "roads", "parks", "bases", "settlements", "ports", "boundary",
)
_LABELLED = ("parks", "bases", "ports")
_MM = 1 / 25.4


_LW = 0.6
"""Printed line width (pt) per unit of a symbol's width (web map pixels)."""


def _mpl_dash(dash):
    return (0, tuple(dash)) if dash else "solid"


def _compound(coords: np.ndarray, ring_of: np.ndarray, *, closed: bool) -> MplPath | None:
    """One matplotlib path holding many rings or lines (vertex ``i`` belongs to ring ``ring_of[i]``)."""
    if not len(coords):
        return None
    codes = np.full(len(coords), MplPath.LINETO, dtype=np.uint8)
    starts = np.concatenate([[0], np.flatnonzero(np.diff(ring_of)) + 1])
    codes[starts] = MplPath.MOVETO
    if closed:
        ends = np.concatenate([starts[1:], [len(coords)]]) - 1
        codes[ends] = MplPath.CLOSEPOLY
    return MplPath(coords, codes)


def _polygon_path(geoms: np.ndarray) -> MplPath | None:
    """All polygons as one compound path: exteriors counter-clockwise, holes clockwise, so the
    non-zero fill leaves holes empty; one fill and one stroke per layer in the PNG and the PDF."""
    parts = shapely.get_parts(geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))])
    parts = shapely.orient_polygons(parts[shapely.get_type_id(parts) == 3])
    rings = shapely.get_rings(parts)
    coords, ring_of = shapely.get_coordinates(rings, return_index=True)
    return _compound(coords, ring_of, closed=True)


def _line_path(geoms: np.ndarray) -> MplPath | None:
    present = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    kinds = shapely.get_type_id(present)
    lines = shapely.get_parts(present[np.isin(kinds, (1, 2, 5))])
    polys = present[np.isin(kinds, (3, 6))]
    if len(polys):
        lines = np.concatenate([lines, shapely.get_parts(shapely.boundary(polys))])
    coords, idx = shapely.get_coordinates(lines, return_index=True)
    return _compound(coords, idx, closed=False)


def _draw(ax, frame: gpd.GeoDataFrame, symbol: Symbol, *, zorder: float) -> None:
    """Draw a layer (already in the sheet's CRS and simplified) with its symbol, as the legend shows it.

    ``add_artist``, not ``add_patch``: the limits are set by the sheet, and walking the curves of
    a 100 000-vertex path to update them costs seconds."""
    geoms = np.asarray(frame.geometry.values, dtype=object)
    kinds = shapely.get_type_id(geoms)
    polys = geoms[np.isin(kinds, (3, 6))]
    lines = geoms[np.isin(kinds, (1, 2, 5))]
    points = geoms[np.isin(kinds, (0, 4))]
    path = _polygon_path(polys) if len(polys) else None
    if path is not None:
        face = to_rgba(symbol.fill, symbol.fill_opacity) if symbol.fill else "none"
        ax.add_artist(PathPatch(path, facecolor=face, edgecolor=symbol.stroke, linewidth=symbol.width * _LW,
                               linestyle=_mpl_dash(symbol.dash), zorder=zorder, joinstyle="round"))
    path = _line_path(lines) if len(lines) else None
    if path is not None:
        if symbol.inner:
            ax.add_artist(PathPatch(path, fill=False, edgecolor=symbol.stroke, linewidth=symbol.width * _LW,
                                   zorder=zorder, capstyle="butt", joinstyle="round"))
            ax.add_artist(PathPatch(path, fill=False, edgecolor=symbol.inner, linewidth=symbol.inner_width * _LW,
                                   linestyle=_mpl_dash(symbol.inner_dash), zorder=zorder + 0.05, capstyle="butt",
                                   joinstyle="round"))
        else:
            ax.add_artist(PathPatch(path, fill=False, edgecolor=symbol.stroke, linewidth=symbol.width * _LW,
                                   linestyle=_mpl_dash(symbol.dash), zorder=zorder, joinstyle="round"))
    if len(points):
        xy = shapely.get_coordinates(points)
        ax.scatter(xy[:, 0], xy[:, 1], color=symbol.fill or symbol.stroke, edgecolor=symbol.stroke, linewidth=0.5,
                   s=symbol.marker_size ** 2 / 2, zorder=zorder)


def _legend_handle(symbol: Symbol, *, dot: float | None = None):
    """The legend symbol: the very line widths, dashes, colours and fill of :func:`_draw`."""
    if symbol.geometry == "line":
        casing = Line2D([], [], color=symbol.stroke, linewidth=symbol.width * _LW,
                        linestyle="solid" if symbol.inner else _mpl_dash(symbol.dash), solid_capstyle="butt")
        if symbol.inner:
            inner = Line2D([], [], color=symbol.inner, linewidth=symbol.inner_width * _LW,
                           linestyle=_mpl_dash(symbol.inner_dash), solid_capstyle="butt", dash_capstyle="butt")
            return (casing, inner)
        return casing
    if symbol.geometry == "point":
        return Line2D([], [], marker="o", linestyle="none", markerfacecolor=symbol.fill or symbol.stroke,
                      markeredgecolor=symbol.stroke, markeredgewidth=0.5, markersize=symbol.marker_size / math.sqrt(2))
    patch = Patch(facecolor=to_rgba(symbol.fill, symbol.fill_opacity) if symbol.fill else "none",
                  edgecolor=symbol.stroke, linestyle=_mpl_dash(symbol.dash), linewidth=symbol.width * _LW)
    if dot is None:
        return patch
    marker = Line2D([], [], marker="o", linestyle="none", markerfacecolor=symbol.fill, markeredgecolor=symbol.stroke,
                    markeredgewidth=0.4, markersize=math.sqrt(dot))
    return (patch, marker)


def _nice_length(span_m: float) -> float:
    target = span_m / 5
    for km in (0.5, 1, 2, 5, 10, 20, 50, 100, 200):
        if km * 1000 >= target:
            return km * 1000
    return 500_000.0


def _ratio_text(denominator: int) -> str:
    """``1:250 000`` (thin groups of three digits, as Chinese sheets print it)."""
    return "1:" + f"{denominator:,}".replace(",", " ")


def _scale_bar(ax, extent: tuple[float, float, float, float], font, denominator: int, size: float = 1.0) -> list:
    """Alternating bar in km with the ratio scale ``1:N`` beside it; returns its artists."""
    x0, y0, x1, y1 = extent
    length = _nice_length(x1 - x0)
    height = (y1 - y0) * 0.008
    left, base = x0 + (x1 - x0) * 0.04, y0 + (y1 - y0) * 0.04
    artists = []
    for i in range(4):
        artists.append(ax.add_patch(Rectangle((left + i * length / 4, base), length / 4, height,
                                              facecolor="black" if i % 2 == 0 else "white", edgecolor="black",
                                              linewidth=0.6, zorder=200)))
    for frac in (0, 0.5, 1):
        km = length * frac / 1000
        text = f"{km:g}" + (" km" if frac == 1 else "")
        artists.append(ax.text(left + length * frac, base + height * 1.8, text, ha="center", va="bottom",
                               fontproperties=font.properties(8 * size), zorder=200))
    artists.append(ax.text(left + length / 2, base - height * 0.9, "比例尺 Scale", ha="center", va="top",
                           fontproperties=font.properties(7 * size), zorder=200))
    artists.append(ax.text(left + length + (x1 - x0) * 0.015, base + height / 2, _ratio_text(denominator),
                           ha="left", va="center", fontproperties=font.properties(10 * size), zorder=200))
    return artists


def _north_arrow(ax, font) -> list:
    x, y, h, w = 0.955, 0.88, 0.07, 0.022
    return [
        ax.add_patch(Polygon([(x, y + h), (x - w, y), (x, y + h * 0.28)], closed=True, transform=ax.transAxes,
                             facecolor="black", edgecolor="black", linewidth=0.8, zorder=200)),
        ax.add_patch(Polygon([(x, y + h), (x + w, y), (x, y + h * 0.28)], closed=True, transform=ax.transAxes,
                             facecolor="white", edgecolor="black", linewidth=0.8, zorder=200)),
        ax.text(x, y + h + 0.01, "北 N", transform=ax.transAxes, ha="center", va="bottom",
                fontproperties=font.properties(11), zorder=200),
    ]


def _sheet_crs(result: Any, pack: Any):
    """The CRS the sheet is drawn in: the pack's working CRS, else the quarries' projected CRS."""
    working = getattr(pack, "working_crs", None)
    if working is not None:
        return working
    crs = getattr(result.quarries, "crs", None)
    return crs if crs is not None and crs.is_projected else WORKING_CRS


def _crs_text(crs) -> str:
    grid = gk_grid(crs)
    if grid is not None:
        return f"CGCS2000 / {grid.width}° Gauss-Krüger CM {grid.central_meridian}°E ({crs_label(crs)})"
    return f"{crs.name} ({crs_label(crs)})"


def _extent(result: Any, pack: Any) -> tuple[float, float, float, float]:
    frames = []
    boundary = pack.get("boundary") if pack is not None else None
    if boundary is not None and len(boundary):
        frames = [boundary]
    else:
        frames = [f for f in (result.quarries, getattr(result, "new_sites", None)) if f is not None and len(f)]
    if not frames:
        raise MapError("nothing to draw: no boundary and no quarries", layer="quarries")
    bounds = np.array([f.to_crs(_sheet_crs(result, pack)).total_bounds for f in frames])
    x0, y0 = bounds[:, 0].min(), bounds[:, 1].min()
    x1, y1 = bounds[:, 2].max(), bounds[:, 3].max()
    pad = max(x1 - x0, y1 - y0, 1000.0) * 0.04
    return x0 - pad, y0 - pad, x1 + pad, y1 + pad


@dataclass(frozen=True)
class _TownFocus:
    """A town sheet: the town polygon, the map extent and which quarries and sites are the town's."""

    name: str
    polygon: Any
    extent: tuple[float, float, float, float]
    quarries: np.ndarray
    sites: np.ndarray | None


#: Quarries and new sites of other towns on a town sheet (greyed, like the ground around the town).
_OUTSIDE = Symbol("其他乡镇", "Other towns", "polygon", "#9e9e9e", "#d9d9d9", 0.75, 0.8, z=44)
#: The outline of the town a town sheet is about (drawn over everything but labels).
_FOCUS = Symbol("本乡镇界", "Town boundary", "polygon", "#222222", None, 0.0, 3.0, z=95)


def _town_focus(result: Any, pack: Any, town: str) -> _TownFocus:
    """Frame a sheet on ``town``: its polygon(s) in the pack's ``towns`` layer, with a margin.

    Quarries and new sites belong to the town as in :func:`wlgeo.engine.towns.assign_towns` (their
    ``town`` field, else the town polygon holding most of them).
    """
    from wlgeo.engine.towns import assign_towns, clean_names

    towns = pack.get("towns") if pack is not None else None
    if towns is None or "town" not in towns.columns or not len(towns):
        raise MapError("a town sheet needs a 'towns' layer with a 'town' field", layer="towns", field="town")
    crs = _sheet_crs(result, pack)
    towns = towns.to_crs(crs)
    names = clean_names(towns["town"])
    chosen = (names == town).to_numpy()
    if not chosen.any():
        known = ", ".join(dict.fromkeys(names.dropna()))
        raise MapError(f"no town named {town!r}; the towns are: {known}", layer="towns", field="town")
    polygon = towns.geometry[chosen].union_all()
    quarries = result.quarries.to_crs(crs)
    in_town = (assign_towns(quarries, towns)[0] == town).to_numpy()
    sites = getattr(result, "new_sites", None)
    site_mask = None
    if sites is not None and len(sites):
        site_mask = (assign_towns(sites.to_crs(crs), towns)[0] == town).to_numpy()
    bounds = [polygon.bounds]
    if in_town.any():  # a quarry placed by its town field may lie outside the polygon
        bounds.append(tuple(quarries[in_town].total_bounds))
    b = np.array(bounds)
    x0, y0, x1, y1 = b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()
    pad = max(x1 - x0, y1 - y0, 1000.0) * 0.08
    return _TownFocus(town, polygon, (x0 - pad, y0 - pad, x1 + pad, y1 + pad), in_town, site_mask)


def _draw_outside(ax, focus: _TownFocus, quarries: gpd.GeoDataFrame, sites: gpd.GeoDataFrame | None,
                  extent: tuple[float, float, float, float]) -> None:
    """Grey the ground outside the town: other towns' quarries in grey under a white veil."""
    others = [quarries[~focus.quarries]]
    if sites is not None and focus.sites is not None:
        others.append(sites[~focus.sites])
    for frame in others:
        if len(frame):
            _draw(ax, frame, _OUTSIDE, zorder=_OUTSIDE.z)
    x0, y0, x1, y1 = extent
    w, h = x1 - x0, y1 - y0
    veil = shapely.box(x0 - 2 * w, y0 - 2 * h, x1 + 2 * w, y1 + 2 * h).difference(focus.polygon)
    gpd.GeoSeries([veil], crs=quarries.crs).plot(ax=ax, facecolor="white", alpha=0.6, edgecolor="none", zorder=45)
    _draw(ax, gpd.GeoDataFrame(geometry=[focus.polygon], crs=quarries.crs), _FOCUS, zorder=_FOCUS.z)


def _groups_in(groups: gpd.GeoDataFrame, quarries: gpd.GeoDataFrame) -> np.ndarray:
    """Consolidation groups with a member among ``quarries`` (by ``group_id``)."""
    if "group_id" not in groups.columns or "group_id" not in quarries.columns:
        return np.zeros(len(groups), dtype=bool)
    return groups["group_id"].isin(quarries["group_id"].dropna()).to_numpy()


def _fit(extent: tuple[float, float, float, float], aspect: float) -> tuple[float, float, float, float]:
    """Grow ``extent`` around its centre to the width/height ratio ``aspect`` of the map frame."""
    x0, y0, x1, y1 = extent
    w, h = x1 - x0, y1 - y0
    if w / h < aspect:
        grow = (h * aspect - w) / 2
        return x0 - grow, y0, x1 + grow, y1
    grow = (w / aspect - h) / 2
    return x0, y0 - grow, x1, y1 + grow


def _prepare(frame: gpd.GeoDataFrame, clip: tuple[float, float, float, float], tolerance: float,
             crs) -> gpd.GeoDataFrame:
    """A layer in the sheet's CRS, cut to the printed area and simplified to what prints."""
    from wlgeo.products.webmap import simplify_for_display

    frame = frame.to_crs(crs)
    geoms = np.asarray(frame.geometry.values, dtype=object)
    keep = shapely.intersects(shapely.box(*clip), geoms) & ~shapely.is_missing(geoms)
    frame = frame[keep]
    geoms = geoms[keep]
    inside = shapely.within(geoms, shapely.box(*clip))
    cut = geoms.copy()
    if (~inside).any():  # only what crosses the edge is cut (lines and polygons stay whole inside)
        cut[~inside] = shapely.clip_by_rect(geoms[~inside], *clip)
    cut = simplify_for_display(cut, tolerance)
    return frame.set_geometry(gpd.GeoSeries(cut, index=frame.index, crs=crs))


def _frame_extent(extent, box_mm: tuple[float, float]) -> tuple[tuple[float, float, float, float], int]:
    """The map extent at a round ratio scale (the next at or above what fits), and its denominator."""
    x0, y0, x1, y1 = _fit(extent, box_mm[0] / box_mm[1])
    denominator = nice_denominator(ratio_denominator(x1 - x0, box_mm[0]))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    half_w = denominator * box_mm[0] / 1000 / 2
    half_h = denominator * box_mm[1] / 1000 / 2
    return (cx - half_w, cy - half_h, cx + half_w, cy + half_h), denominator


def _inside(xy: np.ndarray, limits) -> np.ndarray:
    x0, y0, x1, y1 = limits
    return (xy[:, 0] > x0) & (xy[:, 0] < x1) & (xy[:, 1] > y0) & (xy[:, 1] < y1)


def _place_labels(ax, renderer, font, scale: float, pack: Any, *, quarries: gpd.GeoDataFrame | None,
                  towns: gpd.GeoDataFrame | None, limits, obstacles: list, dot_pt: float, crs) -> None:
    """Town names (district sheet) or quarry ids (town sheet), and park/base/port names, placed
    without overlap (:class:`wlgeo.products.labels.LabelPlacer`)."""
    placer = LabelPlacer(ax, renderer)
    placer.add_obstacles(obstacles)
    labels: list[Label] = []
    owns: list = []
    if quarries is not None and len(quarries) and "quarry_id" in quarries.columns:
        xy = shapely.get_coordinates(shapely.point_on_surface(np.asarray(quarries.geometry.values)))
        dots = placer.obstacle_points(xy, dot_pt)
        placer.add_obstacles(dots)
        for (x, y), qid, dot in zip(xy, quarries["quarry_id"], dots):
            labels.append(Label(str(qid), (x, y), font.properties(6.5 * scale), color="#212121", priority=1))
            owns.append(dot)
    if towns is not None and len(towns) and "town" in towns.columns:
        xy = shapely.get_coordinates(shapely.point_on_surface(np.asarray(towns.geometry.values)))
        for (x, y), name, area in zip(xy, towns["town"], towns.geometry.area):
            if name is None or not str(name).strip():
                continue
            labels.append(Label(str(name).strip(), (x, y), font.properties(8.5 * scale), color="#37474f", area=True,
                                priority=2 - area / 1e12, halo=2.6))
            owns.append(None)
    for name in _LABELLED:
        frame = pack.get(name) if pack is not None else None
        if frame is None or not len(frame) or "name" not in frame.columns:
            continue
        frame = frame.to_crs(crs)
        xy = shapely.get_coordinates(shapely.point_on_surface(np.asarray(frame.geometry.values)))
        for (x, y), text in zip(xy, frame["name"]):
            if text is None or str(text).strip() in ("", "nan", "None"):
                continue
            labels.append(Label(str(text), (x, y), font.properties(8 * scale), color=LAYER_SYMBOLS[name].stroke,
                                priority=0))
            owns.append(None)
    keep = [i for i, lab in enumerate(labels) if _inside(np.array([lab.anchor]), limits)[0]]
    placed = placer.place([labels[i] for i in keep], own_obstacles=[owns[i] for i in keep])
    missing = [lab.text for lab in placed if lab.placed is None]
    if missing:
        log.warning("sheet: no room for %d label(s): %s", len(missing), ", ".join(missing[:10]))


#: The file formats a sheet is written in.
SHEET_FORMATS = ("png", "pdf", "svg")


def check_sheet_options(*, paper: str = "A3", orientation: str = "landscape", dpi: float = 200,
                        formats: Iterable[str] = ("png",)) -> list[str]:
    """Refuse an unknown paper, orientation or format, or a dpi that is not positive, with one
    :class:`~wlgeo.MapError` naming the allowed values; return the formats as a list.

    >>> check_sheet_options(paper="A4", formats=("pdf",))
    ['pdf']
    """
    if paper not in PAPER_MM:
        raise MapError(f"unknown paper {paper!r}; allowed: {', '.join(PAPER_MM)}")
    if orientation not in ("landscape", "portrait"):
        raise MapError(f"unknown orientation {orientation!r}; allowed: landscape, portrait")
    formats = list(formats)
    bad = [f for f in formats if f not in SHEET_FORMATS]
    if bad or not formats:
        raise MapError(f"unknown sheet format(s) {bad or formats!r}; allowed: {', '.join(SHEET_FORMATS)}")
    if not dpi > 0:
        raise MapError(f"dpi must be positive, got {dpi}")
    return formats


def sheet_figure(
    result: Any,
    pack: Any,
    *,
    paper: str = "A3",
    orientation: Literal["landscape", "portrait"] = "landscape",
    title: str | None = None,
    date: _dt.date | None = None,
    source: str | None = None,
    town: str | None = None,
    district: str | None = None,
    dpi: int = 300,
    labels: bool = True,
) -> Figure:
    """Draw the sheet on a new :class:`matplotlib.figure.Figure` (no pyplot, no global state).

    See :func:`map_sheet` for the parameters. The title is ``fig.texts[0]``; the placed labels
    are the axes' texts with gid :data:`wlgeo.products.labels.LABEL_GID`. ``dpi`` sets how far geometry
    is simplified (half a printed pixel).
    """
    check_sheet_options(paper=paper, orientation=orientation)
    if "decision" not in result.quarries.columns:
        raise MapError("quarries have no 'decision' column; run wlgeo.plan first", layer="quarries", field="decision")
    width_mm, height_mm = PAPER_MM[paper]
    if orientation == "portrait":
        width_mm, height_mm = height_mm, width_mm
    scale = width_mm / 420.0 if orientation == "landscape" else height_mm / 420.0
    font = cjk_font()
    scenario_obj = getattr(result, "scenario", None)
    scenario = getattr(scenario_obj, "name", None) or "—"
    heading = scenario_title(scenario_obj)
    focus = _town_focus(result, pack, town) if town is not None else None
    district = district or getattr(pack, "district", None) or ""
    if focus is not None:
        title = title or f"{district}碎石矿山布局规划图 — {town} — {heading}"
    title = title or f"{district}碎石矿山布局规划图 — {heading}"
    crs = _sheet_crs(result, pack)
    date = date or _dt.date.today()
    if source is None:
        source = Path(pack.source).name if getattr(pack, "source", None) else "wlgeo"

    rc = {"axes.unicode_minus": False, "pdf.fonttype": 42 if font.path and font.path.suffix == ".ttf" else 3}
    if font.found:
        rc["font.family"] = [font.name, "DejaVu Sans"]
    with matplotlib.rc_context(rc):
        fig = Figure(figsize=(width_mm * _MM, height_mm * _MM))
        canvas = FigureCanvasAgg(fig)
        fig.text(0.5, 0.965, title, ha="center", va="top", fontproperties=font.properties(22 * scale))
        if is_synthetic(pack):
            fig.text(0.985, 0.975, SYNTHETIC_NOTE, ha="right", va="top", color="#6a1b9a",
                     fontproperties=font.properties(12 * scale, weight="bold"),
                     bbox={"boxstyle": "round,pad=0.25", "facecolor": "white", "edgecolor": "#6a1b9a", "linewidth": 0.8})
        legend_w = 0.20 if orientation == "landscape" else 0.30
        position = (0.06, 0.09, 0.92 - legend_w - 0.02, 0.82)
        ax = fig.add_axes(position)
        extent = _extent(result, pack) if focus is None else focus.extent
        box_mm = (position[2] * width_mm, position[3] * height_mm)
        limits, denominator = _frame_extent(extent, box_mm)
        tolerance = 0.5 * denominator * 0.0254 / dpi  # half a printed pixel, in metres
        x0, y0, x1, y1 = limits
        margin = 0.02 * (x1 - x0)
        clip = (x0 - margin, y0 - margin, x1 + margin, y1 + margin)
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_aspect("equal", adjustable="box")

        quarries = _prepare(result.quarries, clip, tolerance, crs) if focus is None else None
        if focus is not None:  # the focus masks index the full frame: cut after selecting
            all_q = result.quarries.to_crs(crs)
            quarries = _prepare(all_q[focus.quarries], clip, tolerance, crs)
            others = _prepare(all_q[~focus.quarries], clip, tolerance, crs)
        sites = getattr(result, "new_sites", None)
        site_frame = sites.to_crs(crs) if sites is not None and len(sites) else None
        groups = getattr(result, "consolidation_groups", None)
        if focus is not None:
            other_sites = None
            if site_frame is not None and focus.sites is not None:
                other_sites = site_frame[~focus.sites]
                site_frame = site_frame[focus.sites]
            outside = _TownFocus(focus.name, focus.polygon, focus.extent, np.zeros(len(others), dtype=bool),
                                 None if other_sites is None else np.zeros(len(other_sites), dtype=bool))
            _draw_outside(ax, outside, others, other_sites, limits)
            if groups is not None and len(groups):
                groups = groups[_groups_in(groups, result.quarries[focus.quarries])]
        sites = _prepare(site_frame, clip, tolerance, crs) if site_frame is not None and len(site_frame) else None

        handles: list[tuple[Any, str]] = []
        counts = (result.quarries[focus.quarries] if focus is not None else result.quarries)["decision"].value_counts()
        for name in _CONTEXT:
            frame = pack.get(name) if pack is not None else None
            if frame is None or not len(frame):
                continue
            frame = _prepare(frame, clip, tolerance, crs)
            symbol = LAYER_SYMBOLS[name]
            if name == "roads" and "kind" in frame.columns:
                for kind, road in ROAD_KIND_SYMBOLS.items():
                    part = frame[frame["kind"].astype(str) == kind]
                    if len(part):
                        _draw(ax, part, road, zorder=road.z)
                        handles.append((_legend_handle(road), road.label))
                rest = frame[~frame["kind"].astype(str).isin(list(ROAD_KIND_SYMBOLS))]
                if len(rest):
                    _draw(ax, rest, symbol, zorder=symbol.z)
                continue
            if len(frame):
                _draw(ax, frame, symbol, zorder=symbol.z)
            handles.append((_legend_handle(symbol), symbol.label))

        dot = (9 * scale) ** 1
        decision_handles = []
        for decision, symbol in DECISION_SYMBOLS.items():
            part = sites if decision == "new" else quarries[quarries["decision"] == decision]
            n = (len(part) if part is not None else 0) if decision == "new" else int(counts.get(decision, 0))
            if not n:
                continue
            if part is not None and len(part):
                _draw(ax, part, symbol, zorder=symbol.z)
                centres = shapely.get_coordinates(shapely.point_on_surface(np.asarray(part.geometry.values)))
                ax.scatter(centres[:, 0], centres[:, 1], s=dot, color=symbol.fill, edgecolor=symbol.stroke,
                           linewidth=0.4, zorder=symbol.z + 0.5)
            decision_handles.append((_legend_handle(symbol, dot=dot), f"{symbol.label} ({n})"))
        if groups is not None and len(groups):
            symbol = LAYER_SYMBOLS["consolidation_groups"]
            _draw(ax, _prepare(groups, clip, tolerance, crs), symbol, zorder=symbol.z)
            decision_handles.append((_legend_handle(symbol), symbol.label))

        ax.ticklabel_format(useOffset=False, style="plain")
        metres = FuncFormatter(lambda v, _pos: f"{v:,.0f}".replace(",", " "))
        ax.xaxis.set_major_formatter(metres)
        ax.yaxis.set_major_formatter(metres)
        ax.tick_params(labelsize=7 * scale, top=True, right=True, labeltop=True, labelright=True)
        for label in ax.get_yticklabels():
            label.set_rotation(90)
            label.set_verticalalignment("center")
        ax.grid(True, linestyle=":", linewidth=0.4, color="#888888", zorder=0)
        ax.set_xlabel("东坐标 Easting Y (m)", fontproperties=font.properties(9 * scale))
        ax.set_ylabel("北坐标 Northing X (m)", fontproperties=font.properties(9 * scale))
        furniture = _scale_bar(ax, limits, font, denominator, scale) + _north_arrow(ax, font)

        if focus is not None:
            decision_handles.append((_legend_handle(_FOCUS), _FOCUS.label))
            decision_handles.append((_legend_handle(_OUTSIDE), _OUTSIDE.label))
        all_handles = decision_handles + handles
        fig.legend(
            [h for h, _ in all_handles], [t for _, t in all_handles],
            loc="upper left", bbox_to_anchor=(1 - legend_w, 0.91), frameon=True, borderpad=0.8,
            prop=font.properties(10 * scale), title="图例 Legend",
            title_fontproperties=font.properties(13 * scale), handlelength=2.6,
        )
        footer = (
            f"数据来源 Source: {source}    制图日期 Date: {date.isoformat()}    方案 Scenario: {scenario}    "
            + (f"乡镇 Town: {town}    " if focus is not None else "")
            + f"坐标系 {_crs_text(crs)}    制图 wlgeo"
        )
        fig.text(0.5, 0.022, footer, ha="center", va="bottom", fontproperties=font.properties(8 * scale), color="#333333")
        if labels:
            ax.apply_aspect()
            renderer = canvas.get_renderer()
            obstacles = [a.get_window_extent(renderer) for a in furniture]
            towns = None
            if focus is None and pack is not None and pack.get("towns") is not None:
                towns = pack.get("towns").to_crs(crs)
            _place_labels(ax, renderer, font, scale, pack, quarries=quarries if focus is not None else None,
                          towns=towns, limits=limits, obstacles=obstacles, dot_pt=math.sqrt(dot) / 2 + 0.5, crs=crs)
    return fig


def save_sheet_file(fig: Figure, path: Path, fmt: str, dpi: int) -> None:
    """Write a sheet figure as ``fmt`` (``png`` or ``pdf``) at ``dpi``, atomically, with fast compression."""
    # fast compression: level 1 PNG is ~10 % larger than level 6 and much faster on a 17 Mpx sheet;
    # level 1 PDF streams stay far below 5 MB once the geometry is simplified to what prints
    options = {"pil_kwargs": {"compress_level": 1}} if fmt == "png" else {}
    with matplotlib.rc_context({"pdf.compression": 1}), atomic_path(path, what="sheet") as tmp, open(tmp, "xb") as f:
        fig.savefig(f, format=fmt, dpi=dpi, **options)


def map_sheet(
    result: Any,
    pack: Any,
    path: str | PathLike,
    *,
    paper: str = "A3",
    orientation: Literal["landscape", "portrait"] = "landscape",
    title: str | None = None,
    dpi: int = 300,
    formats: Sequence[str] = ("png", "pdf"),
    date: _dt.date | None = None,
    source: str | None = None,
    town: str | None = None,
    district: str | None = None,
) -> list[Path]:
    """Write the printable sheet as PNG and PDF.

    Parameters
    ----------
    result : PlanResult
        Reads ``quarries`` (with ``decision``), ``consolidation_groups``, ``new_sites``, ``scenario.name``.
    pack : LayerPack or None
        Context layers drawn when present; ``boundary`` sets the extent.
    path : path
        Output path; its suffix is replaced by each format's (``out/sheet`` → ``out/sheet.png``, ``out/sheet.pdf``).
    paper : {"A4", "A3", "A2", "A1", "A0"}
    orientation : {"landscape", "portrait"}
    title : str, optional
        Default ``<district>碎石矿山布局规划图 — <scenario>`` (the district from ``pack.district``).
    dpi : int
        Resolution of the PNG (300 by default: an A3 sheet is 4960 × 3507 px).
    formats : sequence of {"png", "pdf", "svg"}
    date, source : optional
        Footer values; default today and the pack's file name.
    district : str, optional
        District named in the title (default: the pack's ``district``).
    town : str, optional
        Draw one town instead of the district: the map is framed on the town's polygon in the
        pack's ``towns`` layer (with a margin), the ground outside it is veiled in white and
        other towns' quarries are grey; the title reads ``<district>碎石矿山布局规划图 — <town> —
        <scenario>`` and the legend counts only the town's quarries and new sites (placed as
        :func:`wlgeo.engine.towns.assign_towns` does: ``town`` field, else the polygon holding most).

    Returns
    -------
    list of Path
        The files written, in the order of ``formats``.

    Raises
    ------
    MapError
        Unknown paper, orientation or format; a result without decisions; a ``town`` that is
        not in the pack's ``towns`` layer (the message lists the towns).
    OutputError
        A file cannot be written (each is written to a temporary name, then renamed).
    """
    formats = check_sheet_options(paper=paper, orientation=orientation, dpi=dpi, formats=formats)
    path = Path(path)
    fig = sheet_figure(result, pack, paper=paper, orientation=orientation, title=title, date=date, source=source,
                       town=town, district=district, dpi=dpi)
    written = []
    for fmt in formats:
        target = path.with_suffix("." + fmt)
        save_sheet_file(fig, target, fmt, dpi)
        written.append(target)
        log.info("sheet written: %s", target)
    return written
