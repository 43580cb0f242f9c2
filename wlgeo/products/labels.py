"""Label placement for printed sheets: every label shown, none over another or over the frame.

A greedy pass over the labels in priority order, measured with the renderer's own text extents
(:meth:`matplotlib.text.Text.get_window_extent`): for each label, candidate boxes are tried
around its anchor — on it first for area labels, then in eight directions at growing distances —
and the first box that stays inside the map frame and clears every label already placed and
every obstacle (scale bar, north arrow, notes, the dots of other labelled features) is taken.
From the third ring on, a thin leader line joins the label to its anchor, and the leader must
not cross a placed label either. Boxes are in display units (pixels at the figure's dpi), so the
same layout holds at any output dpi.

Examples
--------
>>> placer = LabelPlacer(ax, renderer)  # doctest: +SKIP
>>> placer.place([Label("白马镇", (x, y), font, area=True)])  # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from matplotlib import patheffects
from matplotlib.lines import Line2D
from matplotlib.transforms import Bbox

__all__ = ["Label", "LabelPlacer", "LABEL_GID", "boxes_overlap"]

#: ``gid`` of every placed label text (tests find them by it).
LABEL_GID = "wlgeo-label"

_DIRECTIONS = ((1, 1), (1, 0), (1, -1), (0, 1), (0, -1), (-1, 1), (-1, 0), (-1, -1),
               (0.5, 1), (1, 0.5), (1, -0.5), (0.5, -1), (-0.5, -1), (-1, -0.5), (-1, 0.5), (-0.5, 1))
_RINGS_PT = (2.0, 6.0, 12.0, 20.0, 30.0, 42.0, 56.0, 72.0, 90.0, 115.0, 145.0, 180.0, 220.0, 270.0)
_LEADER_FROM = 2  # index of the first ring that gets a leader line


@dataclass
class Label:
    """One label: its text, anchor (data coordinates), font and style.

    ``area`` labels (town names) try the anchor itself first; point labels (quarry ids) start
    beside it. ``priority``: lower is placed first.
    """

    text: str
    anchor: tuple[float, float]
    font: Any
    color: str = "#212121"
    area: bool = False
    priority: float = 0.0
    halo: float = 2.2
    placed: Any = field(default=None, repr=False)
    leader: bool = False


def boxes_overlap(a: Bbox, b: Bbox) -> bool:
    """Whether two boxes share any area (touching edges do not count)."""
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def _segment_hits_box(p: tuple[float, float], q: tuple[float, float], box: Bbox) -> bool:
    """Whether the segment p–q passes through the box (Liang–Barsky clipping)."""
    x0, y0 = p
    dx, dy = q[0] - x0, q[1] - y0
    t0, t1 = 0.0, 1.0
    for pk, qk in ((-dx, x0 - box.x0), (dx, box.x1 - x0), (-dy, y0 - box.y0), (dy, box.y1 - y0)):
        if pk == 0:
            if qk < 0:
                return False
            continue
        t = qk / pk
        if pk < 0:
            t0 = max(t0, t)
        else:
            t1 = min(t1, t)
        if t0 > t1:
            return False
    return t1 - t0 > 1e-9


class LabelPlacer:
    """Greedy collision-free placement of labels on one axes (see the module docstring)."""

    def __init__(self, ax, renderer, *, pad_pt: float = 1.5, frame_pad_pt: float = 3.0) -> None:
        self.ax = ax
        self.renderer = renderer
        dpi = ax.figure.dpi
        self.pt = dpi / 72.0
        self.pad = pad_pt * self.pt
        frame = ax.get_window_extent(renderer)
        inset = frame_pad_pt * self.pt
        self.frame = Bbox.from_extents(frame.x0 + inset, frame.y0 + inset, frame.x1 - inset, frame.y1 - inset)
        self.boxes: list[Bbox] = []
        self.obstacles: list[Bbox] = []

    def add_obstacles(self, boxes: Iterable[Bbox]) -> None:
        """Boxes (display units) labels must not cover: scale bar, north arrow, notes, dots."""
        self.obstacles.extend(boxes)

    def obstacle_points(self, xy: np.ndarray, radius_pt: float) -> list[Bbox]:
        """Square boxes of ``radius_pt`` around data points (e.g. the dots of labelled features)."""
        pts = self.ax.transData.transform(np.asarray(xy, dtype=float).reshape(-1, 2))
        r = radius_pt * self.pt
        return [Bbox.from_extents(x - r, y - r, x + r, y + r) for x, y in pts]

    def _free(self, box: Bbox, own: Bbox | None) -> bool:
        f = self.frame
        if box.x0 < f.x0 or box.y0 < f.y0 or box.x1 > f.x1 or box.y1 > f.y1:
            return False
        if any(boxes_overlap(box, b) for b in self.boxes):
            return False
        return not any(boxes_overlap(box, b) for b in self.obstacles if b is not own)

    def _leader_clear(self, anchor: tuple[float, float], box: Bbox) -> bool:
        end = (min(max(anchor[0], box.x0), box.x1), min(max(anchor[1], box.y0), box.y1))
        return not any(_segment_hits_box(anchor, end, b) for b in self.boxes)

    def place(self, labels: Sequence[Label], *, own_obstacles: Sequence[Bbox | None] | None = None) -> list[Label]:
        """Place ``labels`` (highest priority first); return them with ``placed`` set.

        ``own_obstacles[i]`` is label i's own dot box, which it may cover. A label that finds no
        free place within the largest ring is placed nowhere (``placed`` stays ``None``).
        """
        order = sorted(range(len(labels)), key=lambda i: labels[i].priority)
        halo_effects = {}
        for i in order:
            label = labels[i]
            own = own_obstacles[i] if own_obstacles is not None else None
            text = self.ax.text(0, 0, label.text, fontproperties=label.font, color=label.color,
                                ha="left", va="bottom", zorder=150, clip_on=False)
            text.set_gid(LABEL_GID)
            if label.halo:
                key = label.halo
                halo_effects.setdefault(key, [patheffects.withStroke(linewidth=label.halo, foreground="white")])
                text.set_path_effects(halo_effects[key])
            ext = text.get_window_extent(self.renderer)
            w, h = ext.width, ext.height
            # offset of the drawn extent from the text position (descent etc.)
            base = self.ax.transData.transform((0, 0))
            ox, oy = ext.x0 - base[0], ext.y0 - base[1]
            ax_, ay_ = self.ax.transData.transform(label.anchor)
            found = None
            candidates = []
            if label.area:
                candidates.append((ax_ - w / 2, ay_ - h / 2, False))
            for ring, r_pt in enumerate(_RINGS_PT):
                r = r_pt * self.pt
                for dx, dy in _DIRECTIONS:
                    k = 1.0 / math.hypot(dx, dy)
                    x = ax_ + dx * r * k - w * (1 - dx) / 2
                    y = ay_ + dy * r * k - h * (1 - dy) / 2
                    candidates.append((x, y, ring >= _LEADER_FROM))
            for x, y, leader in candidates:
                box = Bbox.from_extents(x - self.pad, y - self.pad, x + w + self.pad, y + h + self.pad)
                if not self._free(box, own):
                    continue
                if leader and not self._leader_clear((ax_, ay_), box):
                    continue
                found = (x, y, leader, box)
                break
            if found is None:
                text.remove()
                continue
            x, y, leader, box = found
            data_xy = self.ax.transData.inverted().transform((x - ox, y - oy))
            text.set_position(data_xy)
            self.boxes.append(box)
            label.placed = text
            label.leader = leader
            if leader:
                inner = Bbox.from_extents(x, y, x + w, y + h)
                end = (min(max(ax_, inner.x0), inner.x1), min(max(ay_, inner.y0), inner.y1))
                a, b = self.ax.transData.inverted().transform([(ax_, ay_), end])
                self.ax.add_line(Line2D([a[0], b[0]], [a[1], b[1]], color="#616161", linewidth=0.5,
                                        zorder=149, solid_capstyle="round"))
        return list(labels)


def ratio_denominator(ground_m: float, paper_mm: float) -> float:
    """The scale denominator N of ``1:N`` when ``ground_m`` metres print on ``paper_mm`` millimetres."""
    return ground_m / (paper_mm / 1000.0)


def nice_denominator(n: float) -> int:
    """The scale denominator at or above ``n`` rounded up to two significant digits.

    Examples
    --------
    >>> nice_denominator(231_400), nice_denominator(50_000), nice_denominator(61_200)
    (240000, 50000, 62000)
    """
    exp = 10 ** max(math.floor(math.log10(n)) - 1, 0)
    return int(math.ceil(n / exp - 1e-9) * exp)
