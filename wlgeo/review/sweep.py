"""Parameter sweeps: counts and capacity per decision, and whether the caps are met, as one
scenario parameter takes a list of values; :func:`plot_sweep` draws it with Chinese labels."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from os import PathLike
from typing import TYPE_CHECKING, Any

import pandas as pd

from wlgeo.model.decisions import DECISIONS
from wlgeo.model.errors import ScenarioError
from wlgeo.model.pack import LayerPack
from wlgeo.io.pack import read_pack
from wlgeo.model.scenario import Scenario, load_scenario
from wlgeo.engine.summary import summary_columns, total_row
from wlgeo.products.style import DECISION_SYMBOLS
from wlgeo.review.compare import SUMMARY_ITEMS
from wlgeo.runs.planning import plan

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["sweep", "plot_sweep", "PARAMETER_LABELS"]

log = logging.getLogger(__name__)

#: Axis labels (中文 English) of the parameters a review usually sweeps.
PARAMETER_LABELS: Mapping[str, str] = {
    "blast_distance_m": "爆破安全距离 Blast distance (m)",
    "min_capacity": "最低开采规模 Minimum capacity (万吨/年)",
    "trunk_line_m": "交通干线可视范围 Trunk-line corridor (m)",
    "main_river_m": "主要河流可视范围 Main-river corridor (m)",
    "merge_distance_m": "整合距离 Merge distance (m)",
    "min_overlap_m2": "最小重叠面积 Minimum overlap (m²)",
    "max_quarries": "矿山数量上限 Quarry cap",
    "max_total_capacity": "总产能上限 Capacity cap (万吨/年)",
    "siting.max_slope_deg": "最大坡度 Maximum slope (°)",
    "siting.site_spacing_m": "新建矿山间距 Site spacing (m)",
    "siting.max_new_sites": "新建矿山上限 Maximum new sites",
    "siting.min_site_area_m2": "最小选址面积 Minimum site area (m²)",
    "siting.wujiang_buffer_m": "乌江岸线缓冲 Wujiang buffer (m)",
    "siting.new_site_capacity": "新建矿山规模 New-site capacity (万吨/年)",
    "visibility.max_distance_m": "最大可视距离 Visible range (m)",
    "visibility.observer_height_m": "观察者视高 Eye height (m)",
    "visibility.target_height_m": "采面高度 Quarry face height (m)",
}


def sweep(
    pack: LayerPack | str | PathLike,
    scenario: Scenario | str | PathLike | None,
    param: str,
    values: Iterable[Any],
    *,
    sites: bool | None = None,
) -> pd.DataFrame:
    """Run the plan once per value of one scenario parameter and tabulate the outcome.

    Parameters
    ----------
    pack : the layer pack (read once when given as a path).
    scenario : the scenario varied (preset name, TOML path, :class:`~wlgeo.Scenario`, ``None`` =
        baseline).
    param : a scenario field (``blast_distance_m``) or a dotted siting key
        (``siting.max_slope_deg``), as accepted by :meth:`Scenario.replace`.
    values : the values to try, in order.
    sites : propose new sites; default only when ``param`` is a siting parameter (siting is the
        slow step, and the exit rules do not depend on it). Without sites, ``new`` is 0 and
        ``after`` and the caps count retained quarries and consolidated mines only.

    Returns
    -------
    DataFrame
        One row per value: the column named ``param``; for each of :data:`SUMMARY_ITEMS` but
        ``before`` a count column and a ``<item>_capacity`` column (万吨/年, district totals);
        ``max_quarries``, ``max_total_capacity`` (the caps of that run), ``quarries_ok``,
        ``capacity_ok`` and ``caps_met``. ``attrs`` holds ``param``, ``scenario`` and ``sites``.

    Raises
    ------
    ScenarioError
        ``param`` is not a scenario parameter, a value is invalid for it, or ``values`` is empty.
    """

    if not isinstance(pack, LayerPack):
        pack = read_pack(pack)
    base = load_scenario(scenario)
    values = list(values)
    if not values:
        raise ScenarioError("no values to sweep", field=param)
    if sites is None:
        sites = param.replace("__", ".").startswith("siting.")
    labels = {key: (n, c) for key, n, c in summary_columns()}
    rows = []
    for value in values:
        run = plan(pack, base.replace(**{param: value}), sites=sites)
        total = total_row(run.summary)
        row: dict[str, Any] = {param: value}
        for item in SUMMARY_ITEMS[1:]:
            row[item] = int(total[labels[item][0]])
            row[f"{item}_capacity"] = float(total[labels[item][1]])
        caps = run.caps
        row.update(max_quarries=caps.max_quarries, max_total_capacity=caps.max_total_capacity,
                   quarries_ok=caps.quarries_ok, capacity_ok=caps.capacity_ok, caps_met=caps.ok)
        rows.append(row)
        log.info("sweep %s=%s: %s", param, value, run.counts())
    frame = pd.DataFrame(rows)
    frame.attrs.update(param=param, scenario=base.name, sites=bool(sites))
    return frame


def plot_sweep(df: pd.DataFrame, *, ax: Axes | None = None, param: str | None = None, capacity: bool = False) -> Axes:
    """Plot a :func:`sweep`: quarries per decision (or capacity) against the swept value.

    Lines for each decision in its map colour, the mines after the plan in black, and the cap
    (``max_quarries`` / ``max_total_capacity``) as a dotted red line where one is set. Labels
    are Chinese and English, in the CJK font of :func:`wlgeo.products.fonts.cjk_font`.

    Parameters
    ----------
    df : the frame returned by :func:`sweep`.
    ax : matplotlib axes to draw on (a new figure when ``None``).
    param : the swept column (default ``df.attrs["param"]``, else the first column).
    capacity : plot capacity (万吨/年) instead of counts.

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    from wlgeo.products.fonts import cjk_font

    param = param or df.attrs.get("param") or df.columns[0]
    if param not in df.columns:
        raise ValueError(f"param={param!r} is not a column of the sweep; columns: {', '.join(map(str, df.columns))}")
    font = cjk_font()
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4.5))
    x = df[param].to_numpy()
    suffix = "_capacity" if capacity else ""
    for decision in DECISIONS:
        symbol = DECISION_SYMBOLS[decision]
        ax.plot(x, df[decision + suffix], marker="o", color=symbol.fill, label=symbol.label)
    ax.plot(x, df["after" + suffix], marker="s", color="black", linestyle="--", label="规划后 After the plan")
    cap = df["max_total_capacity" if capacity else "max_quarries"]
    if cap.notna().any():
        ax.plot(x, cap.astype(float), color="#d50000", linestyle=":", linewidth=2, label="上限 Cap")
    ax.set_xlabel(PARAMETER_LABELS.get(param, param), fontproperties=font.properties())
    ax.set_ylabel("产能 Capacity (万吨/年)" if capacity else "矿山数量 Quarries", fontproperties=font.properties())
    scenario = df.attrs.get("scenario")
    title = f"参数扫描 Parameter sweep: {param}" + (f" ({scenario})" if scenario else "")
    if df.attrs.get("sites") is False:
        title += "\n规划后不含新建矿山 after = without new sites"
    ax.set_title(title, fontproperties=font.properties(size=11))
    ax.legend(prop=font.properties(size=8), loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    ax.grid(True, alpha=0.3)
    return ax

