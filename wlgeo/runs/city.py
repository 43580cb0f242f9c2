"""The outputs of a city run (several districts) or of a dask run (DESIGN §5).

Into the run directory:

- ``plan.parquet`` — GeoParquet, every quarry with its decision, reasons, figures, group and
  ``district`` (EPSG:4490 for a city; the district's zone for a one-district pack);
- ``districts/<district>/plan.gpkg`` — the same styled layers as a district run (quarries,
  new sites, consolidation groups, the context layers held in memory), with a small
  ``manifest.json`` beside it so ``wlgeo map``/``wlgeo sheet`` can draw it;
- ``summary_towns.csv`` — counts and capacity by decision × town, with a ``district`` column;
- ``caps.csv`` — a row per district and cap, plus city rows when ``[city_caps]`` is set;
- ``not_checked.csv`` — rules not applied (their layer is absent), when there are some;
- optionally ``districts/<district>/map.html`` and ``sheet.png``/``sheet.pdf``.

Every file is written under a temporary name and renamed when complete.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from wlgeo.model.errors import OutputError, ReadError
from wlgeo.io.atomic import atomic_write
from wlgeo.io.jsontext import jsonable
from wlgeo.runs.layout import CAPS_CSV, CITY_PLAN, DISTRICTS_DIR, NOT_CHECKED_CSV, PLAN_FILE, SUMMARY_CSV
from wlgeo.runs.manifest import DISTRICT_KIND, Manifest
from wlgeo.model.pack import LayerPack
from wlgeo.engine.summary import CapsCheck
from wlgeo.products.tables import not_checked_table, write_csv
from wlgeo.products.tables import caps_table as report_caps_table

__all__ = [
    "OUTPUT_KINDS",
    "parse_outputs",
    "towns_table",
    "caps_table",
    "write_city_run",
    "district_dir",
    "district_run",
]

log = logging.getLogger(__name__)

OUTPUT_KINDS = ("plan", "tables", "map", "sheet")
DISTRICT_COLUMN = "district"
CITY_ROW = "全市 City"


def parse_outputs(text: str | Iterable[str] | None, *, default: Iterable[str]) -> frozenset[str]:
    """``"plan,tables,map,sheet"`` → the set of outputs (``None``: ``default``).

    Raises
    ------
    OutputError
        An unknown kind (names the allowed ones).
    """
    if text is None:
        return frozenset(default)
    items = [t.strip() for t in (text.split(",") if isinstance(text, str) else text) if t.strip()]
    unknown = sorted(set(items) - set(OUTPUT_KINDS))
    if unknown or not items:
        raise OutputError(f"unknown output(s) {unknown or [text]}; choose among {', '.join(OUTPUT_KINDS)}")
    return frozenset(items)


def district_dir(out_dir: Path, name: str) -> Path:
    """``out_dir/districts/<name>`` with the name made safe for a file system."""
    from wlgeo.io.filenames import safe_filename

    return out_dir / DISTRICTS_DIR / safe_filename(name)


def district_run(run: str | Path, district: str | None) -> Path:
    """The directory holding a district's ``plan.gpkg`` in a run (the run itself for a
    one-district local run when ``district`` is ``None``).

    Raises
    ------
    ReadError
        No such district in the run (lists the districts it has).
    """
    run = Path(run)
    root = run / DISTRICTS_DIR
    if district is None:
        if (run / PLAN_FILE).is_file() or not root.is_dir():
            return run
        names = sorted(p.name for p in root.iterdir() if (p / PLAN_FILE).is_file())
        if len(names) == 1:
            return root / names[0]
        raise ReadError(f"is a city run of {len(names)} districts; choose one with --district "
                        f"({', '.join(names)})", path=run)
    path = district_dir(run, district)
    if not (path / PLAN_FILE).is_file():
        names = sorted(p.name for p in root.iterdir() if (p / PLAN_FILE).is_file()) if root.is_dir() else []
        raise ReadError(f"has no district {district!r}" + (f"; districts: {', '.join(names)}" if names else
                                                          " (not a city or dask run)"), path=run)
    return path


# ---------------------------------------------------------------------------- tables
def towns_table(summaries: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Every district's town summary (:func:`wlgeo.engine.summary.summary_table`) under a ``district`` column."""
    frames = [s.assign(**{DISTRICT_COLUMN: name})[[DISTRICT_COLUMN, *s.columns]] for name, s in summaries.items()]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=[DISTRICT_COLUMN])


def caps_table(district_caps: Mapping[str, CapsCheck], city: CapsCheck | None = None) -> pd.DataFrame:
    """:func:`wlgeo.products.tables.caps_table` of every district under a ``district`` column, and the
    city rows (``district`` = 全市 City) when ``city`` is given."""
    items = list(district_caps.items()) + ([(CITY_ROW, city)] if city is not None else [])
    frames = [report_caps_table(caps).assign(**{DISTRICT_COLUMN: name}) for name, caps in items]
    frame = pd.concat(frames, ignore_index=True)
    return frame[[DISTRICT_COLUMN, *[c for c in frame.columns if c != DISTRICT_COLUMN]]]


def _write_parquet(path: Path, frame: gpd.GeoDataFrame) -> Path:
    def write(tmp: Path) -> None:
        frame.to_parquet(tmp, index=False, write_covering_bbox=True)

    return atomic_write(path, write)


# ---------------------------------------------------------------------------- the run
def _context(pack: LayerPack, names: Iterable[str], geometry, crs, whole: bool) -> dict[str, gpd.GeoDataFrame]:
    """The pack's context layers around one district (all of them for a one-district pack)."""
    out = {}
    window = None if whole else shapely.box(*gpd.GeoSeries([geometry], crs=crs).total_bounds)
    for name in names:
        frame = pack.get(name)
        if frame is None:
            continue
        if window is not None:
            local = gpd.GeoSeries([window], crs=crs).to_crs(frame.crs).iloc[0]
            frame = frame[frame.geometry.intersects(local).to_numpy()]
        out[name] = frame
    return out


def write_city_run(
    result: Any,
    pack: LayerPack,
    out_dir: Path,
    *,
    outputs: frozenset[str],
    metadata: Mapping[str, Any],
    context_layers: Iterable[str],
    write_maps: Callable[[Any, LayerPack, Path], list[Path]] | None = None,
    as_result: Callable[[Any], Any] | None = None,
) -> list[Path]:
    """Write a city (or dask) run's outputs; return the files written (manifest excluded).

    ``result`` is the :class:`~wlgeo.PlanResult`; its ``districts`` hold the per-district plans
    (empty for a one-district pack, whose plan is the result itself); ``as_result`` turns a
    district's plan into a PlanResult for the GeoPackage, map and sheet writers.
    """
    from wlgeo.engine.districts import read_districts
    from wlgeo.products.geopackage import write_geopackage

    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    districts = dict(result.districts)
    if not districts:  # one district: the result is its plan
        found = read_districts(pack.get("boundary"))
        name = found[0].name if found else (pack.source.stem if pack.source is not None else "district")
        districts = {name: result}
        shapes = {name: None}
    else:
        shapes = {d.name: d.geometry for d in read_districts(pack.get("boundary"))}
    if "plan" in outputs:
        frame = result.quarries
        if "district" not in frame.columns:
            frame = frame.copy()
            frame.insert(0, "district", next(iter(districts)))
        written.append(_write_parquet(out_dir / CITY_PLAN, frame))
    boundary = pack.get("boundary")
    for name, plan in districts.items():
        folder = district_dir(out_dir, name)
        wants = outputs & {"plan", "map", "sheet"}
        if not wants:
            continue
        folder.mkdir(parents=True, exist_ok=True)
        whole = shapes[name] is None
        context = _context(pack, context_layers, shapes[name], boundary.crs if boundary is not None else None, whole)
        if not whole and boundary is not None:
            column = "district" if "district" in boundary.columns else "name"
            context["boundary"] = boundary[boundary[column].astype(str).str.strip() == name]
        district_result = as_result(plan) if as_result is not None else plan
        if "plan" in outputs:
            layers = {"quarries": district_result.quarries, "new_sites": district_result.new_sites,
                      "consolidation_groups": district_result.consolidation_groups, **context}
            meta = dict(metadata, district=name, counts=district_result.counts(), caps=district_result.caps.to_dict())
            epsg = getattr(plan, "epsg", None)  # each district's GeoPackage in its own zone
            written.append(write_geopackage(folder / PLAN_FILE, layers, metadata=jsonable(meta),
                                            overwrite=True, crs=f"EPSG:{epsg}" if epsg else None))
            manifest = Manifest.new(DISTRICT_KIND, district=name, scenario=metadata.get("scenario_entry"),
                                    counts=district_result.counts(), caps=district_result.caps.to_dict())
            written.append(manifest.write(folder))
        if ("map" in outputs or "sheet" in outputs) and write_maps is not None:
            written.extend(write_maps(district_result, LayerPack(context, source=pack.source), folder))
    if "tables" in outputs:
        summaries = {name: plan.summary for name, plan in districts.items()}
        written.append(write_csv(out_dir / SUMMARY_CSV, towns_table(summaries)))
        city = result.caps if result.districts and result.scenario.city_caps is not None else None
        written.append(write_csv(out_dir / CAPS_CSV, caps_table({n: p.caps for n, p in districts.items()}, city)))
        if result.not_checked:
            written.append(write_csv(out_dir / NOT_CHECKED_CSV, not_checked_table(result.not_checked)))
    return written
