"""The bundled Wulong demo: ``wlgeo demo`` runs the plan on ``layers/wulong.gpkg``."""

from __future__ import annotations

from os import PathLike
from pathlib import Path

from wlgeo.model.scenario import Scenario
from wlgeo.runs.manifest import Manifest
from wlgeo.runs.writer import RunOutput, run_plan
from wlgeo.model.errors import ReadError

__all__ = ["run_demo", "demo_pack_path", "DEMO_OUT"]


#: Where ``wlgeo demo`` writes by default (relative to the working directory).
DEMO_OUT = Path("out") / "demo"


def demo_pack_path() -> Path:
    """The bundled Wulong demo pack, ``layers/wulong.gpkg`` next to the ``wlgeo`` package.

    Raises
    ------
    ReadError
        The pack is not there (an installed, non-editable wlgeo does not carry ``layers/``).
    """

    path = Path(__file__).resolve().parents[2] / "layers" / "wulong.gpkg"
    if not path.is_file():
        raise ReadError(
            "the demo pack ships with the wlgeo source repository (layers/wulong.gpkg next to the wlgeo "
            "package) and is not installed with the package; run from a git checkout "
            "(pip install -e .) or give a pack to `wlgeo run`",
            path=path,
        )
    return path


def _is_demo_output(out_dir: Path) -> bool:
    manifest = Manifest.read(out_dir) if out_dir.is_dir() else None
    return manifest is not None and manifest.is_demo


def run_demo(
    out_dir: str | PathLike = DEMO_OUT,
    *,
    scenario: Scenario | str | PathLike | None = None,
    overwrite: bool = False,
    sites: bool = True,
    basemap: str = "none",
    tianditu_key: str | None = None,
    memory_limit: str | int | None = None,
) -> RunOutput:
    """Run the plan on the bundled demo pack (:func:`demo_pack_path`).

    A directory holding a previous demo run (its ``manifest.json`` says ``"demo": true``) is
    overwritten; any other non-empty directory is refused unless ``overwrite``.
    """
    out_dir = Path(out_dir)
    pack = demo_pack_path()
    overwrite = overwrite or _is_demo_output(out_dir)
    return run_plan(pack, scenario=scenario, out_dir=out_dir, overwrite=overwrite, sites=sites,
                    basemap=basemap, tianditu_key=tianditu_key, manifest_extra={"demo": True},
                    memory_limit=memory_limit)
