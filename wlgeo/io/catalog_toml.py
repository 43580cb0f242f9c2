"""Write a :class:`~wlgeo.io.infer.CatalogProposal` as a catalog TOML a planner can read and edit.

Every entry carries a comment with its evidence and confidence; a second candidate for a layer is
written commented out below the entries; files that were not placed are listed at the end with
the reason. Encodings and CRSs the reader had to find are written into the entries, so the
catalog reads the same on any machine.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
from pathlib import Path

from wlgeo.model.schema import LAYER_NAMES, LAYERS
from wlgeo.io.infer import CatalogProposal, LayerProposal, Unplaced

__all__ = ["proposal_to_toml", "toml_string", "toml_key"]

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_MAX_UNPLACED = 300


def _utf8(text) -> str:
    """Text that can be written as UTF-8 (undecodable file-name bytes shown as �)."""
    return str(text).encode("utf-8", "replace").decode("utf-8")


def toml_string(text: str) -> str:
    """A TOML basic string (JSON escaping is valid TOML; non-ASCII kept as is)."""
    return json.dumps(_utf8(text), ensure_ascii=False)


def toml_key(key: str) -> str:
    """A bare key when it may be one, else a quoted key."""
    return key if _BARE_KEY.match(key) else toml_string(key)


def _value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return toml_string(value)


def _comment(text: str) -> str:
    return " ".join(_utf8(text).split())


def _rel(path: Path, base: Path) -> str:
    target, start = path.resolve(), base.resolve()
    try:
        common = Path(os.path.commonpath([target, start]))
        text = str(target) if common == Path(common.anchor) else os.path.relpath(target, start)
    except ValueError:  # another drive on Windows
        text = str(target)
    return text.replace(os.sep, "/")


def _line(key: str, value, comment: str | None = None, *, width: int = 34) -> str:
    text = f"{toml_key(key)} = {_value(value)}"
    return f"{text:<{width}} # {_comment(comment)}" if comment else text


def _entry_lines(proposal: LayerProposal, base: Path) -> list[str]:
    """The lines of one ``[layers.X]`` (or ``[dem]``) entry and its sub-tables."""
    name = proposal.name
    files = [probe.path for probe in proposal.probes]
    header = "[dem]" if name == "dem" else f"[layers.{name}]"
    lines = [header]
    sources = ", ".join(p.label for p in proposal.probes)
    what = "DEM" if name == "dem" else f"{name} ({LAYERS[name].alias_zh})"
    lines.append(f"# {what} ← {_comment(sources)}")
    lines.append(f"# confidence {proposal.guess.confidence}: {_comment('; '.join(proposal.guess.evidence))}")
    probe = proposal.probes[0]
    if name != "dem":
        counts = " + ".join(str(p.count) for p in proposal.probes)
        lines.append(f"# {counts} feature(s), {probe.geometry or 'no'} geometry")
    paths = [_rel(f, base) for f in files]
    lines.append(_line("path", paths[0] if len(paths) == 1 else paths))
    if probe.layer_option is not None:
        lines.append(_line("layer", probe.layer_option))
    if probe.encoding:
        why = next((n for n in probe.notes if "decoded as" in n or "encoding" in n), "the encoding the reader used")
        lines.append(_line("encoding", probe.encoding, f"found by the reader: {why}"))
    if probe.crs:
        why = next(
            (n for n in probe.notes if n.startswith("no CRS") or "header names" in n or "metres, not degrees" in n),
            "the CRS the reader settled on",
        )
        lines.append(_line("crs", probe.crs, f"found by the reader: {why}"))
    if probe.crs_problem:
        lines.append(f'# crs = "EPSG:…"                  # REQUIRED: {_comment(probe.crs_problem)}')
    said = [n for n in probe.notes if not n.startswith("no CRS") and "decoded as" not in n]
    for note in said[:6]:
        lines.append(f"# reader: {_comment(note)}")
    for note in proposal.notes:
        lines.append(f"# note: {_comment(note)}")
    if name == "dem":
        return lines
    for missing in proposal.missing:
        spec = LAYERS[name].field(missing)
        lines.append(
            f"# MISSING required field {missing} ({spec.alias_zh}): no source field found — add "
            f'{missing} = "<source field>" under [layers.{name}.fields]'
        )
    if proposal.fields:
        lines.append("")
        lines.append(f"{f'[layers.{name}.fields]':<34} # canonical field = source field")
        for choice in proposal.fields:
            lines.append(_line(choice.canonical, choice.source, choice.evidence))
            for other, why in choice.others:
                lines.append("# " + _line(choice.canonical, other, why))
    for field_name in sorted(set(proposal.values) | set(proposal.unmapped)):
        mapped = proposal.values.get(field_name, {})
        lines.append("")
        lines.append(f"{f'[layers.{name}.values.{field_name}]':<34} # source value = canonical value")
        counts = proposal.value_counts.get(field_name, {})
        for source, target in mapped.items():
            lines.append(_line(source, target, f"{counts.get(source, 0)} feature(s)", width=24))
        unmapped = proposal.unmapped.get(field_name, [])
        if unmapped:
            allowed = LAYERS[name].field(field_name).allowed
            hint = f"one of {', '.join(allowed)}" if allowed else "true or false"
            shown = ", ".join(f"{toml_string(v)} ({n})" for v, n in unmapped[:20])
            more = f" and {len(unmapped) - 20} more" if len(unmapped) > 20 else ""
            lines.append(f"# UNMAPPED values (left as they are; the validator will report them): {shown}{more}")
            lines.append(f'# add a line "<value>" = "<{hint}>" for each')
    if proposal.units or proposal.needs_density:
        lines.append("")
        lines.append(f"[layers.{name}.units]")
        for field_name, (unit, why) in proposal.units.items():
            target = "万吨/年" if field_name == "capacity" else "万吨"
            lines.append(_line(field_name, unit, f"{why}; converted to {target} on reading"))
        if proposal.needs_density:
            lines.append(
                "# density = 2.6                   # t/m³ of the rock: REQUIRED to convert a volume to tonnes; "
                "set it and remove the '#'"
            )
    return lines


def _unplaced_line(item: Unplaced, base: Path) -> str:
    where = _rel(item.path, base) + (f" (layer '{item.layer}')" if item.layer else "")
    text = f"#   {where}: {_comment(item.reason)}"
    if item.candidates:
        evidence = {tuple(g.evidence) for g in item.candidates}
        if len(item.candidates) > 1 and len(evidence) == 1:  # the same (weak) reason for each
            names = ", ".join(g.layer for g in item.candidates)
            text += f"; candidates: {names} ({item.candidates[0].confidence}: {_comment('; '.join(next(iter(evidence))))})"
        else:
            text += "; candidates: " + "; ".join(_comment(g.describe()) for g in item.candidates)
    return text


def proposal_to_toml(proposal: CatalogProposal, catalog: str | os.PathLike) -> str:
    """The catalog text for ``proposal``, with paths relative to the ``catalog`` file's folder."""
    catalog = Path(catalog)
    base = catalog.parent
    today = _dt.date.today().isoformat()
    out = [
        f"# Layer catalog proposed by `wlgeo init` from {proposal.folder} on {today}",
        f"# ({proposal.scanned} file(s) looked at). Every entry says why it was chosen and how sure wlgeo is:",
        "#   high = names and content agree; medium = one of them; low = weak (not used, listed at the end).",
        "# Read it, edit what is wrong, then:",
        f"#   wlgeo validate {catalog.name}",
        f"#   wlgeo run {catalog.name} --out plan",
        "# Canonical layers and fields: README, section 'Layer packs'. Paths are relative to this file.",
    ]
    for note in proposal.notes:
        out.append(f"# NOTE: {_comment(note)}")
    district = _district(proposal)
    if district:
        out.append("")
        out.append(_line("district", district, "the boundary layer's name"))
    order = [n for n in LAYER_NAMES if n in proposal.layers]
    for name in order:
        out.append("")
        out.extend(_entry_lines(proposal.layers[name], base))
    if proposal.dem is not None:
        out.append("")
        out.extend(_entry_lines(proposal.dem, base))
    if proposal.alternatives:
        out.append("")
        out.append("# " + "-" * 88)
        out.append("# Other candidates, not used. To use one instead, replace the active entry with it (remove the '# ').")
        for alt in sorted(proposal.alternatives, key=lambda a: (LAYER_NAMES.index(a.name) if a.name in LAYER_NAMES else 99)):
            out.append("#")
            out.append(f"# not used: {_comment(alt.why_not_active or '')}")
            out.extend("# " + line if line else "#" for line in _entry_lines(alt, base))
    missing = [n for n in ("quarries",) if n not in proposal.layers]
    absent = [n for n in LAYER_NAMES if n not in proposal.layers and n not in missing]
    out.append("")
    out.append("# " + "-" * 88)
    if missing:
        out.append("# MISSING: no file looked like the quarries layer (采矿权/矿山), which is mandatory; add it:")
        out.append('# [layers.quarries]\n# path = "<the mining-rights file>"')
    if absent:
        out.append(f"# Not found (rules that need them are reported as not checked): {', '.join(absent)}")
    if proposal.dem is None:
        out.append("# Not found: a DEM (single-band elevation raster in metres); new sites are then proposed without slope")
    if proposal.unplaced:
        out.append(f"# Files and layers not placed ({len(proposal.unplaced)}); nothing is dropped silently:")
        # what may be a layer first (candidates, unreadable files), plain non-spatial files last
        unplaced = sorted(
            proposal.unplaced,
            key=lambda u: 0 if u.candidates else 2 if u.reason.startswith("not a spatial file type") else 1,
        )
        for item in unplaced[:_MAX_UNPLACED]:
            out.append(_unplaced_line(item, base))
        if len(unplaced) > _MAX_UNPLACED:
            rest = unplaced[_MAX_UNPLACED:]
            kinds = {}
            for item in rest:
                kinds[item.path.suffix.lower() or "(none)"] = kinds.get(item.path.suffix.lower() or "(none)", 0) + 1
            shown = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items(), key=lambda kv: -kv[1]))
            out.append(f"#   … and {len(rest)} more ({shown})")
    return _utf8("\n".join(out) + "\n")


def _district(proposal: CatalogProposal) -> str | None:
    boundary = proposal.layers.get("boundary")
    if boundary is None:
        return None
    frame = boundary.probes[0].frame
    column = boundary.field_map.get("name", "name")
    if frame is None or column not in frame.columns or len(frame) != 1:
        return None
    value = frame[column].iloc[0]
    return str(value).strip() if isinstance(value, str) and value.strip() else None
