"""From a folder of raw files to a checked layer catalog in one call (``wlgeo init``).

:func:`init_catalog` scans a folder, proposes which file is which canonical layer and how its
fields, values and units map (:mod:`wlgeo.io.infer`), writes the catalog atomically
(:mod:`wlgeo.io.catalog_toml`), and validates it (:func:`wlgeo.check_pack`), so the planner sees
at once what is missing or wrong.

Examples
--------
>>> import wlgeo
>>> result = wlgeo.init_catalog("收到的资料", out="catalog.toml")  # doctest: +SKIP
>>> sorted(result.proposal.layers)  # doctest: +SKIP
['boundary', 'farmland', 'protected_areas', 'quarries', 'red_line', 'rivers', 'roads', 'towns']
>>> result.report.ok  # doctest: +SKIP
True
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from wlgeo.model.errors import OutputError, ReadError, WlgeoError
from wlgeo.io.atomic import atomic_path
from wlgeo.io.catalog_toml import proposal_to_toml
from wlgeo.io.infer import MAX_FILES, CatalogProposal, propose_catalog
from wlgeo.io.validate import Problem, ValidationReport, check_pack

__all__ = ["InitResult", "init_catalog"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InitResult:
    """What :func:`init_catalog` did: the proposal, the catalog written, and its validation."""

    proposal: CatalogProposal
    catalog: Path
    text: str
    report: ValidationReport

    def summary(self) -> str:
        """A few lines per layer: what was placed where, with which confidence."""
        p = self.proposal
        lines = []
        for name, entry in sorted(p.layers.items()):
            files = ", ".join(probe.label for probe in entry.probes)
            lines.append(f"{name:<16} ← {files}  [{entry.guess.confidence}]")
        if p.dem is not None:
            lines.append(f"{'dem':<16} ← {p.dem.probes[0].label}  [{p.dem.guess.confidence}]")
        for alt in p.alternatives:
            lines.append(f"{alt.name:<16}   (other candidate, not used: {alt.probes[0].label})")
        if p.unplaced:
            lines.append(f"{len(p.unplaced)} file(s)/layer(s) not placed: listed at the end of {self.catalog.name}")
        for note in p.notes:
            lines.append(f"note: {note}")
        return "\n".join(lines)


def init_catalog(
    folder: str | os.PathLike,
    out: str | os.PathLike | None = None,
    *,
    overwrite: bool = False,
    max_files: int = MAX_FILES,
    progress: Callable[[int, int, str], None] | None = None,
) -> InitResult:
    """Scan ``folder``, write a proposed catalog to ``out`` and validate it.

    Parameters
    ----------
    folder : the folder of raw files (scanned recursively; symlink loops skipped).
    out : the catalog to write (default ``folder/catalog.toml``); refused when it exists,
        unless ``overwrite``. Nothing else is written.
    overwrite : replace an existing catalog.
    max_files : open at most this many spatial files (the rest are listed as not opened).
    progress : ``progress(done, total, file name)`` after each file opened.

    Returns
    -------
    InitResult
        The proposal, the catalog path and text, and the :class:`~wlgeo.ValidationReport` of
        the catalog written (a catalog that cannot be read at all gives a report with that error).

    Raises
    ------
    ReadError
        ``folder`` does not exist, is not a folder, or holds no file that wlgeo can read as a
        layer (nor any it could name a candidate for).
    OutputError
        ``out`` exists (without ``overwrite``), is a directory, or cannot be written.
    """
    folder = Path(folder)
    if not folder.exists():
        raise ReadError("no such folder", path=folder)
    if not folder.is_dir():
        raise ReadError("is not a folder; give the folder that holds the raw files", path=folder)
    out = folder / "catalog.toml" if out is None else Path(out)
    if out.suffix.lower() != ".toml":
        raise OutputError("a catalog is a .toml file: give --out NAME.toml", path=out)
    if out.is_dir():
        raise OutputError("is a directory; give the path of the catalog .toml to write", path=out)
    if out.exists() and not overwrite:
        raise OutputError("already exists; pass overwrite=True (--overwrite) to replace it", path=out)
    if not out.parent.is_dir():
        raise OutputError("the output directory does not exist", path=out.parent)
    proposal = propose_catalog(folder, skip=(out,), max_files=max_files, progress=progress)
    if not proposal.read and not any(item.candidates for item in proposal.unplaced):
        raise ReadError(_nothing_found(proposal), path=folder)
    text = proposal_to_toml(proposal, out)
    with atomic_path(out, what="catalog") as tmp:
        tmp.write_text(text, encoding="utf-8")
    log.info("wrote %s (%d layers)", out, len(proposal.layers))
    try:
        report = check_pack(out)
    except WlgeoError as err:  # the catalog written cannot be read at all: say so as a report
        report = ValidationReport((Problem("error", "layer_unreadable", err.message),), source=out)
    return InitResult(proposal, out, text, report)


def _nothing_found(proposal: CatalogProposal) -> str:
    if proposal.scanned == 0:
        return "the folder holds no file: nothing to catalog"
    reasons: dict[str, int] = {}
    for item in proposal.unplaced:
        key = item.reason.split(":")[0]
        reasons[key] = reasons.get(key, 0) + 1
    shown = "; ".join(f"{n} × {reason}" for reason, n in sorted(reasons.items(), key=lambda kv: -kv[1])[:4])
    return (
        f"no layer found among {proposal.scanned} file(s) ({shown or 'nothing readable'}); "
        "wlgeo reads GeoPackage, shapefile, GeoJSON, 部标 TXT, corner tables (CSV/XLSX) and GeoTIFF DEMs"
    )
