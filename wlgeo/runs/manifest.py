"""``manifest.json`` of a run: one versioned type, read and written only here.

A run's manifest records what went in (input files and their SHA-256, the scenario), what came
out (counts, caps, the files written and their SHA-256) and how (package versions, timings,
engine). ``manifest_version`` says which layout it follows; a manifest written before versions
existed reads as version 1 (the same layout).

>>> m = Manifest({"wlgeo": "plan run manifest", "scenario": {"name": "baseline"}, "demo": True})
>>> m.version, m.scenario_name, m.is_demo
(1, 'baseline', True)
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

from wlgeo.io.atomic import atomic_write
from wlgeo.io.jsontext import to_json
from wlgeo.runs.layout import MANIFEST

__all__ = ["Manifest", "MANIFEST_VERSION", "RUN_KIND", "DISTRICT_KIND"]

log = logging.getLogger(__name__)

#: The manifest layout this wlgeo writes.
MANIFEST_VERSION = 1
#: The ``wlgeo`` entry of a run's manifest, and of a city run's district folder.
RUN_KIND = "plan run manifest"
DISTRICT_KIND = "district plan manifest"


@dataclass
class Manifest:
    """The entries of one ``manifest.json`` (a JSON object), with the version they follow."""

    entries: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.entries = dict(self.entries)

    @classmethod
    def new(cls, kind: str = RUN_KIND, **entries: Any) -> Manifest:
        """A manifest of this wlgeo's layout: ``wlgeo`` = ``kind``, ``manifest_version``, then ``entries``."""
        return cls({"wlgeo": kind, "manifest_version": MANIFEST_VERSION, **entries})

    @property
    def version(self) -> int:
        """The layout version (1 for a manifest written before versions were recorded)."""
        value = self.entries.get("manifest_version", 1)
        return value if isinstance(value, int) else 1

    @property
    def scenario(self) -> dict[str, Any]:
        """The ``scenario`` entry (``name``, ``file``, ``parameters``, ``notes``); empty when unknown."""
        entry = self.entries.get("scenario")
        return entry if isinstance(entry, dict) else {}

    @property
    def scenario_name(self) -> str | None:
        name = self.scenario.get("name")
        return name if isinstance(name, str) and name else None

    @property
    def is_demo(self) -> bool:
        """Written by ``wlgeo demo`` (``"demo": true``)."""
        return self.entries.get("demo") is True

    def get(self, key: str, default: Any = None) -> Any:
        return self.entries.get(key, default)

    def __getitem__(self, key: str) -> Any:
        return self.entries[key]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.entries)

    def to_json(self) -> str:
        """The file's text (strict JSON, UTF-8 characters kept, indented)."""
        return to_json(self.entries, indent=2)

    def write(self, folder: str | PathLike) -> Path:
        """Write ``folder/manifest.json`` atomically; return its path."""
        text = self.to_json()

        def write(tmp: Path) -> None:
            with open(tmp, "x", encoding="utf-8") as handle:
                handle.write(text + "\n")

        return atomic_write(Path(folder) / MANIFEST, write)

    @classmethod
    def read(cls, where: str | PathLike) -> Manifest | None:
        """The manifest of a run directory (or of the run holding a ``plan.gpkg``); ``None`` when
        there is none or it is not a JSON object (a run is still readable without one)."""
        path = Path(where)
        path = path / MANIFEST if path.is_dir() else path.parent / MANIFEST
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            log.debug("no readable manifest at %s (%s)", path, err)
            return None
        if not isinstance(data, Mapping):
            return None
        return cls(dict(data))
