"""The printable map sheet (PNG + PDF) of a plan, drawn with matplotlib.

A3 landscape by default: title ``<district>碎石矿山布局规划图 — <scenario>``, the district with every
quarry coloured by decision (symbols from :mod:`wlgeo.style`), parks, bases and ports labelled,
a legend, a scale bar in km, a north arrow, grid ticks in the pack's working CRS metres (e.g.
EPSG:4545, CGCS2000 3-degree GK zone 36), and a footer with source, date and scenario. Chinese text uses the font found by
:func:`wlgeo.fonts.cjk_font`. ``town=`` draws one town instead: framed on its polygon, the ground
outside veiled, other towns' quarries grey, its name in the title, legend counts for the town
only (``wlgeo sheet RUN --by town`` writes one per town via :func:`wlgeo.runs.run_sheets`).

Examples
--------
>>> from wlgeo.sheet import map_sheet
>>> map_sheet(result, pack, "out/sheet")  # doctest: +SKIP
[PosixPath('out/sheet.png'), PosixPath('out/sheet.pdf')]
"""

from __future__ import annotations

import datetime as _dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import matplotlib
import numpy as np
import shapely
from matplotlib import patheffects
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Polygon, Rectangle
from matplotlib.ticker import FuncFormatter

from .crs import WORKING_CRS, crs_label, gk_grid
from .errors import MapError
from .fonts import cjk_font
from .style import DECISION_SYMBOLS, LAYER_SYMBOLS, ROAD_KIND_SYMBOLS, Symbol
from .io.atomic import atomic_path

__all__ = ["map_sheet", "sheet_figure", "PAPER_MM"]

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


def _mpl_dash(symbol: Symbol):
    return (0, symbol.dash) if symbol.dash else "solid"


def _draw(ax, frame: gpd.GeoDataFrame, symbol: Symbol, *, zorder: float) -> None:
    geoms = frame.geometry
    kinds = geoms.geom_type.fillna("")
    polys = frame[kinds.str.contains("Polygon")]
    lines = frame[kinds.str.contains("LineString")]
    points = frame[kinds.str.contains("Point")]
    if len(polys):
        if symbol.fill:
            polys.plot(ax=ax, facecolor=symbol.fill, alpha=symbol.fill_opacity, edgecolor="none", zorder=zorder)
        polys.boundary.plot(ax=ax, color=symbol.stroke, linewidth=symbol.width * 0.6,
                            linestyle=_mpl_dash(symbol), zorder=zorder + 0.1)
    if len(lines):
        lines.plot(ax=ax, color=symbol.stroke, linewidth=symbol.width * 0.6, linestyle=_mpl_dash(symbol), zorder=zorder)
    if len(points):
        points.plot(ax=ax, color=symbol.fill or symbol.stroke, edgecolor=symbol.stroke, linewidth=0.5,
                    markersize=symbol.marker_size ** 2 / 2, zorder=zorder)


def _legend_handle(symbol: Symbol):
    if symbol.geometry == "line":
        return Line2D([], [], color=symbol.stroke, linewidth=max(symbol.width * 0.8, 1.0), linestyle=_mpl_dash(symbol))
    if symbol.geometry == "point":
        return Line2D([], [], marker="o", linestyle="none", markerfacecolor=symbol.fill or symbol.stroke,
                      markeredgecolor=symbol.stroke, markersize=symbol.marker_size * 0.8)
    return Patch(facecolor=symbol.fill or "none", alpha=None, edgecolor=symbol.stroke,
                 linestyle="--" if symbol.dash else "-", linewidth=max(symbol.width * 0.6, 0.8))


def _nice_length(span_m: float) -> float:
    target = span_m / 5
    for km in (0.5, 1, 2, 5, 10, 20, 50, 100, 200):
        if km * 1000 >= target:
            return km * 1000
    return 500_000.0


def _scale_bar(ax, extent: tuple[float, float, float, float], font) -> None:
    x0, y0, x1, y1 = extent
    length = _nice_length(x1 - x0)
    height = (y1 - y0) * 0.008
    left, base = x0 + (x1 - x0) * 0.04, y0 + (y1 - y0) * 0.04
    for i in range(4):
        ax.add_patch(Rectangle((left + i * length / 4, base), length / 4, height,
                               facecolor="black" if i % 2 == 0 else "white", edgecolor="black", linewidth=0.6, zorder=200))
    for frac in (0, 0.5, 1):
        km = length * frac / 1000
        text = f"{km:g}" + (" km" if frac == 1 else "")
        ax.text(left + length * frac, base + height * 1.8, text, ha="center", va="bottom",
                fontproperties=font.properties(8), zorder=200)
    ax.text(left + length / 2, base - height * 0.9, "比例尺 Scale", ha="center", va="top",
            fontproperties=font.properties(7), zorder=200)


def _north_arrow(ax, font) -> None:
    x, y, h, w = 0.955, 0.88, 0.07, 0.022
    ax.add_patch(Polygon([(x, y + h), (x - w, y), (x, y + h * 0.28)], closed=True, transform=ax.transAxes,
                         facecolor="black", edgecolor="black", linewidth=0.8, zorder=200))
    ax.add_patch(Polygon([(x, y + h), (x + w, y), (x, y + h * 0.28)], closed=True, transform=ax.transAxes,
                         facecolor="white", edgecolor="black", linewidth=0.8, zorder=200))
    ax.text(x, y + h + 0.01, "北 N", transform=ax.transAxes, ha="center", va="bottom",
            fontproperties=font.properties(11), zorder=200)


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


def _town_focus(result: Any, pack: Any, town: str) -> _TownFocus:
    """Frame a sheet on ``town``: its polygon(s) in the pack's ``towns`` layer, with a margin.

    Quarries and new sites belong to the town as in :func:`wlgeo.export.assign_towns` (their
    ``town`` field, else the town polygon holding most of them).
    """
    from .export import _clean_names, assign_towns

    towns = pack.get("towns") if pack is not None else None
    if towns is None or "town" not in towns.columns or not len(towns):
        raise MapError("a town sheet needs a 'towns' layer with a 'town' field", layer="towns", field="town")
    crs = _sheet_crs(result, pack)
    towns = towns.to_crs(crs)
    names = _clean_names(towns["town"])
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
    gpd.GeoSeries([focus.polygon], crs=quarries.crs).boundary.plot(ax=ax, color="#222222", linewidth=1.8, zorder=95)


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


def _label(ax, frame: gpd.GeoDataFrame, font, *, size: float, color: str) -> None:
    if "name" not in frame.columns:
        return
    halo = [patheffects.withStroke(linewidth=2.2, foreground="white")]
    for geom, name in zip(frame.geometry, frame["name"]):
        if geom is None or geom.is_empty or name is None or str(name).strip() in ("", "nan", "None"):
            continue
        point = geom.representative_point()
        ax.annotate(str(name), (point.x, point.y), xytext=(4, 4), textcoords="offset points", color=color,
                    fontproperties=font.properties(size), path_effects=halo, zorder=150, clip_on=True)


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
) -> Figure:
    """Draw the sheet on a new :class:`matplotlib.figure.Figure` (no pyplot, no global state).

    See :func:`map_sheet` for the parameters. The title is ``fig.texts[0]``.
    """
    if paper not in PAPER_MM:
        raise MapError(f"unknown paper {paper!r}; allowed: {', '.join(PAPER_MM)}")
    if orientation not in ("landscape", "portrait"):
        raise MapError(f"unknown orientation {orientation!r}; allowed: landscape, portrait")
    if "decision" not in result.quarries.columns:
        raise MapError("quarries have no 'decision' column; run wlgeo.plan first", layer="quarries", field="decision")
    width_mm, height_mm = PAPER_MM[paper]
    if orientation == "portrait":
        width_mm, height_mm = height_mm, width_mm
    scale = width_mm / 420.0 if orientation == "landscape" else height_mm / 420.0
    font = cjk_font()
    scenario = getattr(getattr(result, "scenario", None), "name", None) or "—"
    focus = _town_focus(result, pack, town) if town is not None else None
    district = getattr(pack, "district", None) or ""
    if focus is not None:
        title = title or f"{district}碎石矿山布局规划图 — {town} — {scenario}"
    title = title or f"{district}碎石矿山布局规划图 — {scenario}"
    crs = _sheet_crs(result, pack)
    date = date or _dt.date.today()
    if source is None:
        source = Path(pack.source).name if getattr(pack, "source", None) else "wlgeo"

    rc = {"axes.unicode_minus": False, "pdf.fonttype": 42 if font.path and font.path.suffix == ".ttf" else 3}
    if font.found:
        rc["font.family"] = [font.name, "DejaVu Sans"]
    with matplotlib.rc_context(rc):
        fig = Figure(figsize=(width_mm * _MM, height_mm * _MM))
        fig.text(0.5, 0.965, title, ha="center", va="top", fontproperties=font.properties(22 * scale))
        legend_w = 0.20 if orientation == "landscape" else 0.30
        ax = fig.add_axes((0.06, 0.09, 0.92 - legend_w - 0.02, 0.82))
        x0, y0, x1, y1 = extent = _extent(result, pack) if focus is None else focus.extent
        quarries = result.quarries.to_crs(crs)
        sites = getattr(result, "new_sites", None)
        sites = sites.to_crs(crs) if sites is not None and len(sites) else None
        groups = getattr(result, "consolidation_groups", None)
        if focus is not None:
            _draw_outside(ax, focus, quarries, sites, extent)
            quarries = quarries[focus.quarries]
            sites = sites[focus.sites] if sites is not None else None
            if groups is not None and len(groups):
                groups = groups[_groups_in(groups, quarries)]

        handles: list[tuple[Any, str]] = []
        counts = quarries["decision"].value_counts()
        for name in _CONTEXT:
            frame = pack.get(name) if pack is not None else None
            if frame is None or not len(frame):
                continue
            frame = frame.to_crs(crs)
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
            _draw(ax, frame, symbol, zorder=symbol.z)
            handles.append((_legend_handle(symbol), symbol.label))

        decision_handles = []
        for decision, symbol in DECISION_SYMBOLS.items():
            if decision == "new":
                part = sites
            else:
                part = quarries[quarries["decision"] == decision]
            if part is None or not len(part):
                continue
            _draw(ax, part, symbol, zorder=symbol.z)
            centres = part.geometry.representative_point()
            ax.scatter(centres.x, centres.y, s=(9 * scale) ** 1, color=symbol.fill, edgecolor=symbol.stroke,
                       linewidth=0.4, zorder=symbol.z + 0.5)
            n = len(part) if decision == "new" else int(counts.get(decision, 0))
            decision_handles.append((_legend_handle(symbol), f"{symbol.label} ({n})"))
        if groups is not None and len(groups):
            symbol = LAYER_SYMBOLS["consolidation_groups"]
            _draw(ax, groups.to_crs(crs), symbol, zorder=symbol.z)
            decision_handles.append((_legend_handle(symbol), symbol.label))

        for name in _LABELLED:
            frame = pack.get(name) if pack is not None else None
            if frame is not None and len(frame):
                _label(ax, frame.to_crs(crs), font, size=9 * scale, color=LAYER_SYMBOLS[name].stroke)

        frame = ax.get_position(original=True)
        box_w, box_h = frame.width * width_mm, frame.height * height_mm
        x0, y0, x1, y1 = _fit(extent, box_w / box_h)
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_aspect("equal", adjustable="box")
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
        _scale_bar(ax, (ax.get_xlim()[0], ax.get_ylim()[0], ax.get_xlim()[1], ax.get_ylim()[1]), font)
        _north_arrow(ax, font)

        if focus is not None:
            decision_handles.append((_legend_handle(_OUTSIDE), _OUTSIDE.label))
        all_handles = decision_handles + handles
        fig.legend(
            [h for h, _ in all_handles], [t for _, t in all_handles],
            loc="upper left", bbox_to_anchor=(1 - legend_w, 0.91), frameon=True, borderpad=0.8,
            prop=font.properties(10 * scale), title="图例 Legend",
            title_fontproperties=font.properties(13 * scale),
        )
        footer = (
            f"数据来源 Source: {source}    制图日期 Date: {date.isoformat()}    方案 Scenario: {scenario}    "
            + (f"乡镇 Town: {town}    " if focus is not None else "")
            + f"坐标系 {_crs_text(crs)}    制图 wlgeo"
        )
        fig.text(0.5, 0.022, footer, ha="center", va="bottom", fontproperties=font.properties(8 * scale), color="#333333")
    return fig


def _save_atomic(fig: Figure, path: Path, fmt: str, dpi: int) -> None:
    with atomic_path(path, what="sheet") as tmp, open(tmp, "xb") as f:
        fig.savefig(f, format=fmt, dpi=dpi)


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
    town : str, optional
        Draw one town instead of the district: the map is framed on the town's polygon in the
        pack's ``towns`` layer (with a margin), the ground outside it is veiled in white and
        other towns' quarries are grey; the title reads ``<district>碎石矿山布局规划图 — <town> —
        <scenario>`` and the legend counts only the town's quarries and new sites (placed as
        :func:`wlgeo.export.assign_towns` does: ``town`` field, else the polygon holding most).

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
    bad = [f for f in formats if f not in ("png", "pdf", "svg")]
    if bad or not formats:
        raise MapError(f"unknown sheet format(s) {bad or list(formats)!r}; allowed: png, pdf, svg")
    if dpi <= 0:
        raise MapError(f"dpi must be positive, got {dpi}")
    path = Path(path)
    fig = sheet_figure(result, pack, paper=paper, orientation=orientation, title=title, date=date, source=source,
                       town=town)
    written = []
    for fmt in formats:
        target = path.with_suffix("." + fmt)
        _save_atomic(fig, target, fmt, dpi)
        written.append(target)
        log.info("sheet written: %s", target)
    return written
