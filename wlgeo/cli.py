"""The ``wlgeo`` command line: a thin click group over the library.

Every command parses its options, calls one library function and reports. What is shared lives
here once:

- :class:`WlgeoGroup` turns every :class:`~wlgeo.model.errors.WlgeoError` (and any ``OSError``) raised
  by a command into a one-line ``error: ...`` on stderr and exit code 2 — never a traceback for
  bad input. An unexpected exception is a bug: one line and exit code 3 (``-vv`` logs the
  traceback).
- ``-v``/``-q`` configure logging; wlgeo warnings print as one line ``warning: ...``.
- Option decorators for the usual options: :data:`pack_argument`, :func:`out_option`,
  :data:`overwrite_option`, :func:`read_options`.

Exit codes: 0 success; 1 the command ran and found problems (``validate``: the pack has
problems; ``run``/``demo``: the outputs were written but a cap is not met; ``export``/``sheet``:
some outputs failed); 2 bad input or usage (the input could not be read, an option is wrong, the target exists); 3 internal error.

Adding a command takes a few lines::

    @main.command()
    @pack_argument
    @out_option(help="Directory for the outputs.")
    @overwrite_option
    def run(pack, out, overwrite):
        \"\"\"Run the plan.\"\"\"
        result = wlgeo.plan(...)
        echo(f"wrote {out}")
"""

from __future__ import annotations

import sys

from wlgeo.io import interrupt

interrupt.install_for_cli()  # the wlgeo command: SIGINT/SIGTERM give one line and exit 130/143 from here on

import contextlib  # noqa: E402
import logging  # noqa: E402
import traceback  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import click  # noqa: E402

from wlgeo import __version__  # noqa: E402
from wlgeo.model.errors import WlgeoError, WlgeoWarning  # noqa: E402
from wlgeo.model.schema import LAYER_NAMES  # noqa: E402

__all__ = [
    "main",
    "WlgeoGroup",
    "EXIT_OK",
    "EXIT_PROBLEMS",
    "EXIT_BAD_INPUT",
    "EXIT_INTERNAL",
    "pack_argument",
    "out_option",
    "overwrite_option",
    "read_options",
    "echo",
    "echo_notes",
]

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3

log = logging.getLogger("wlgeo.cli")


# ------------------------------------------------------------------------- output helpers
def echo(message: str = "") -> None:
    """Print a result line on stdout."""
    click.echo(message)


def _stderr(message: str) -> None:
    click.echo(message, err=True)


def _shown() -> list[str]:
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return []
    return ctx.find_root().meta.setdefault("wlgeo.warnings_shown", [])


def echo_notes(notes: list[str]) -> None:
    """Print a reader's notes (``note: ...``) on stderr, skipping those already shown as warnings."""
    if _quiet():
        return
    shown = _shown()
    for note in notes:
        if any(note in text for text in shown):
            continue
        _stderr(f"note: {note}")


def _quiet() -> bool:
    ctx = click.get_current_context(silent=True)
    return bool(ctx and ctx.find_root().meta.get("wlgeo.quiet"))


@contextlib.contextmanager
def progress_bar(label: str, *, min_total: int = 0) -> Iterator[Callable[[int, int, str], None]]:
    """A ``progress(done, total, item)`` callback drawing one bar on stderr, closed on leaving;
    nothing is drawn with ``--quiet`` or for fewer than ``min_total`` items."""
    bar = None

    def progress(done: int, total: int, item: str) -> None:
        nonlocal bar
        if _quiet() or total < min_total:
            return
        if bar is None:
            bar = click.progressbar(length=total, label=label, file=sys.stderr)
            bar.__enter__()
        bar.update(1)

    try:
        yield progress
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """``warnings.showwarning`` for the CLI: one line, no source location."""
    text = str(message)
    if issubclass(category, WlgeoWarning):
        _shown().append(text)
        if not _quiet():
            _stderr(f"warning: {text}")
    else:
        log.debug("%s: %s (%s:%s)", category.__name__, text, filename, lineno)


def _configure_logging(verbose: int, quiet: bool) -> None:
    level = logging.ERROR if quiet else {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    logger = logging.getLogger("wlgeo")
    for handler in list(logger.handlers):
        if getattr(handler, "_wlgeo_cli", False):
            logger.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    handler._wlgeo_cli = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(level)


def _os_error_text(err: OSError) -> str:
    parts = [str(p) for p in (err.filename, err.filename2) if p is not None]
    reason = err.strerror or str(err)
    return f"{', '.join(parts)}: {reason}" if parts else reason


# ------------------------------------------------------------------------- the group
class WlgeoGroup(click.Group):
    """A click group whose commands report bad input in one line and exit 2."""

    def main(self, *args, **kwargs):
        """Run the command; SIGINT/SIGTERM end it with one line and exit 130/143 (:mod:`wlgeo.io.interrupt`)."""
        try:
            with interrupt.armed():
                try:
                    return super().main(*args, **kwargs)
                except interrupt.Interrupted as err:
                    interrupt.exit_interrupted(err)
        finally:
            interrupt.settle()  # a signal while the finished process exits no longer kills it silently

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except WlgeoError as err:
            log.debug("".join(traceback.format_exception(err)))
            _stderr(f"error: {err.cli_message()}")
            ctx.exit(EXIT_BAD_INPUT)
        except OSError as err:
            log.debug("".join(traceback.format_exception(err)))
            _stderr(f"error: {_os_error_text(err)}")
            ctx.exit(EXIT_BAD_INPUT)
        except KeyboardInterrupt:
            _stderr("interrupted")
            ctx.exit(130)
        except Exception as err:  # a bug: say so in one line, traceback only with -vv
            log.debug("".join(traceback.format_exception(err)))
            _stderr(
                f"error: internal error {type(err).__name__}: {err} — this is a bug in wlgeo; "
                "run again with -vv to see the traceback"
            )
            ctx.exit(EXIT_INTERNAL)


# ------------------------------------------------------------------------- shared options
pack_argument = click.argument("pack", type=click.Path(path_type=Path, dir_okay=True))
"""The ``PACK`` argument: a pack GeoPackage or catalog TOML (checked by the library, not click)."""

overwrite_option = click.option(
    "--overwrite", is_flag=True, help="Replace what is already there (otherwise refuse)."
)


def out_option(*, help: str, required: bool = True):  # noqa: A002 - click's keyword
    """``--out PATH`` (a file or directory, as ``help`` says)."""
    return click.option("--out", "out", type=click.Path(path_type=Path), required=required, help=help)


def read_options(func):
    """The :func:`wlgeo.read_layer` options: ``--layer``, ``--encoding``, ``--crs``, ``--gcj02``."""
    options = [
        click.option("--layer", default=None, help="Layer of a GeoPackage, or sheet of a workbook."),
        click.option("--encoding", default=None, help="Text encoding (e.g. gbk) when the file's is missing or wrong."),
        click.option("--crs", default=None, help="Source CRS for files that carry none, e.g. EPSG:4545."),
        click.option("--gcj02", is_flag=True, help="Lon/lat are GCJ-02 (Gaode/AMap): shift to WGS84 first."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@click.group(cls=WlgeoGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="wlgeo")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors.")
@click.pass_context
def main(ctx: click.Context, verbose: int, quiet: bool) -> None:
    """wlgeo: quarry and park planning for a district (区县矿山与园区空间规划; demo: Wulong 武隆区).

    Exit codes: 0 ok; 1 problems found (validate: problems in the pack; run/demo: outputs
    written but a cap is not met; export/sheet: some outputs failed); 2 bad input; 3 internal
    error; 130 interrupted.
    """
    _configure_logging(verbose, quiet)
    ctx.meta["wlgeo.quiet"] = quiet
    previous = warnings.showwarning
    warnings.showwarning = _show_warning
    ctx.call_on_close(lambda: setattr(warnings, "showwarning", previous))
    warnings.simplefilter("always", WlgeoWarning)


cli = main


# ------------------------------------------------------------------------- commands
@main.command()
@pack_argument
@click.option("--strict", is_flag=True, help="Count warnings as errors.")
@click.option("--repair", is_flag=True, help="Repair invalid geometries (make_valid) in memory and report each repair.")
@click.pass_context
def validate(ctx: click.Context, pack: Path, strict: bool, repair: bool) -> None:
    """Check a layer pack and list every problem (检查图层包).

    Exits 0 when the pack has no errors (with --strict: no warnings either), 1 when it has, and
    2 when it cannot be read at all.
    """
    from wlgeo.io.validate import check_pack

    report = check_pack(pack, strict=strict, repair=repair)
    echo(report.to_text())
    ctx.exit(EXIT_OK if report.ok else EXIT_PROBLEMS)


@main.command("init")
@click.argument("folder", type=click.Path(path_type=Path))
@out_option(help="Catalog TOML to write (refused when it exists, unless --overwrite).")
@overwrite_option
@click.option("--max-files", default=2000, show_default=True, type=click.IntRange(min=1),
              help="Open at most this many spatial files; the rest are listed as not opened.")
@click.pass_context
def init(ctx: click.Context, folder: Path, out: Path, overwrite: bool, max_files: int) -> None:
    """Propose a catalog for a FOLDER of raw files, write it and validate it (生成图层目录).

    Every spatial file (shapefile, GeoPackage layers, GeoJSON, 部标 TXT, corner tables, GeoTIFF)
    is opened; each is placed as a canonical layer from its names, geometry, fields and values,
    with the evidence and a confidence written as comments, and its fields, values and units
    mapped. Files not placed are listed at the end of the catalog. Exits 0 when the catalog
    validates, 1 when validation found errors (fix the catalog, then `wlgeo validate`), 2 on bad
    input.
    """
    from wlgeo.io.catalog_init import init_catalog

    with progress_bar("reading files", min_total=10) as progress:
        result = init_catalog(folder, out, overwrite=overwrite, max_files=max_files, progress=progress)
    echo(result.summary())
    echo(f"wrote {result.catalog}")
    echo("")
    echo(result.report.to_text())
    ctx.exit(EXIT_OK if result.report.ok else EXIT_PROBLEMS)


@main.command("import")
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--as", "as_layer", required=True, type=click.Choice(LAYER_NAMES), help="Canonical layer name.")
@out_option(help="Pack GeoPackage to add the layer to (created when missing).")
@read_options
@click.option("--keep-names", is_flag=True, help="Do not rename Chinese alias columns to canonical names.")
@overwrite_option
def import_(
    source: Path,
    as_layer: str,
    out: Path,
    layer: str | None,
    encoding: str | None,
    crs: str | None,
    gcj02: bool,
    keep_names: bool,
    overwrite: bool,
) -> None:
    """Read SOURCE and add it to a pack GeoPackage as a canonical layer (导入图层).

    SOURCE is a GeoPackage, shapefile, GeoJSON, 部标 TXT or corner table. The pack is written
    safely: a copy is changed and renamed over the original only when complete.
    """
    from wlgeo.io.append import import_layer

    result = import_layer(
        source,
        out,
        as_layer=as_layer,
        layer=layer,
        encoding=encoding,
        crs=crs,
        gcj02=gcj02,
        overwrite=overwrite,
        rename=not keep_names,
    )
    echo_notes(result.notes)
    verb = "replaced" if result.replaced else "added"
    echo(f"{verb} layer '{result.layer}' ({result.features} features) in {result.pack}")


@main.command("export")
@click.argument("plan_gpkg", metavar="PLAN.gpkg", type=click.Path(path_type=Path))
@click.option("--by", required=True, type=click.Choice(["town", "decision"]), help="One GeoPackage per town or per decision class.")
@out_option(help="Directory for the GeoPackages and index.csv.")
@click.option("--layers", default=None, help="Comma-separated layers to export (default: all), e.g. quarries,roads.")
@overwrite_option
@click.pass_context
def export(ctx: click.Context, plan_gpkg: Path, by: str, out: Path, layers: str | None, overwrite: bool) -> None:
    """Split a plan GeoPackage into one styled GeoPackage per town or class (分乡镇/分类导出).

    Each file is valid, styled for QGIS and carries the plan's metadata; index.csv lists every
    file with its feature counts. Exits 1 when some outputs failed (the others are whole).
    """
    from wlgeo.products.export import export_plan

    selected = None if layers is None else [name.strip() for name in layers.split(",") if name.strip()]
    with progress_bar(f"export by {by}") as progress:
        report = export_plan(plan_gpkg, by=by, out_dir=out, layers=selected, overwrite=overwrite, progress=progress)
    echo_notes(report.notes)
    for item in report.files:
        counts = ", ".join(f"{name}={n}" for name, n in item.counts.items())
        echo(f"wrote {item.path} ({counts})")
    if report.index is not None:
        echo(f"wrote {report.index}")
    _report_failures(ctx, report.failures, total=len(report.files) + len(report.failures), what="outputs")


def _report_failures(ctx: click.Context, failures, *, total: int, what: str) -> None:
    """Print each failed output of a batch and exit 1 when there was one (the others were kept)."""
    for failure in failures:
        _stderr(f"error: {failure.key}: {failure.error}")
    if failures:
        _stderr(f"{len(failures)} of {total} {what} failed")
        ctx.exit(EXIT_PROBLEMS)


# ------------------------------------------------------------------------- plan commands
def _report_run(output) -> None:
    """Print a run's short summary: counts per decision, caps, where the files went."""
    result = output.result
    echo_notes(result.notes)
    echo(result.to_text())
    def shown(path: Path) -> str:
        try:
            return str(path.relative_to(output.out_dir))
        except ValueError:
            return path.name

    echo(f"wrote {', '.join(shown(p) for p in output.files)} in {output.out_dir}")


scenario_option = click.option(
    "--scenario",
    default=None,
    metavar="NAME|FILE",
    help="Scenario preset (baseline, strict) or scenario TOML file; default baseline.",
)
basemap_option = click.option(
    "--basemap",
    type=click.Choice(["none", "osm", "tianditu", "tianditu_img", "gaode"]),
    default="none",
    show_default=True,
    help="Basemap of map.html; 'none' keeps the map fully offline. Tianditu needs TIANDITU_KEY.",
)
memory_limit_option = click.option(
    "--memory-limit",
    default=None,
    metavar="SIZE",
    help="Memory budget, e.g. 2GiB or 512MiB: of the whole process with the local engine (default: half of "
    "the available memory; a step that would need more is refused with its estimate), of each worker with "
    "--engine dask.",
)
sites_option = click.option("--sites/--no-sites", default=True, show_default=True,
                            help="Propose new sites (规划新建); --no-sites skips siting.")


@main.command("run")
@pack_argument
@scenario_option
@out_option(help="Directory for the outputs (new or empty).")
@overwrite_option
@sites_option
@basemap_option
@click.option("--engine", type=click.Choice(["local", "dask"]), default="local", show_default=True,
              help="Run in this process, or as partitions on a dask.distributed cluster (same results).")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Dask: start a local cluster of N worker processes (default 2), shut down afterwards.")
@memory_limit_option
@click.option("--scheduler", default=None, metavar="tcp://HOST:PORT",
              help="Dask: use the running cluster at this scheduler address (its workers must see the pack's files).")
@click.option("--outputs", default=None, metavar="LIST",
              help="What to write among plan,tables,map,sheet (default all for a one-district local run; "
                   "plan,tables for a city pack or --engine dask).")
@click.option("--partition-size", "partition_size", type=click.IntRange(min=1), default=None,
              help="Dask: most quarries per partition (default about four partitions per worker).")
@click.pass_context
def run_(ctx: click.Context, pack: Path, scenario: str | None, out: Path, overwrite: bool, sites: bool, basemap: str, engine: str,
         workers: int | None, memory_limit: str | None, scheduler: str | None, outputs: str | None,
         partition_size: int | None) -> None:
    """Validate PACK, run the plan and write plan.gpkg, map.html, sheet.png/.pdf, summary_towns.csv,
    caps.csv, summary.xlsx, suitability.tif and manifest.json (运行规划).

    A city pack (a boundary with one polygon per district) or --engine dask writes plan.parquet,
    districts/<district>/plan.gpkg, summary_towns.csv, caps.csv and manifest.json instead; draw a
    district's map or sheet later with `wlgeo map RUN --district NAME` / `wlgeo sheet RUN --district NAME`.

    Refuses a pack whose validation finds errors (run `wlgeo validate PACK` to list them) and a
    non-empty output directory unless --overwrite.

    Exit codes: 0 plan written and every cap met; 1 plan written but a cap is not met; 2 bad
    input (nothing written); 3 internal error.
    """
    from wlgeo.runs.writer import run_plan

    if engine == "local" and (workers is not None or scheduler is not None):
        raise click.UsageError("--workers and --scheduler need --engine dask")
    output = run_plan(pack, scenario=scenario, out_dir=out, overwrite=overwrite, sites=sites, basemap=basemap,
                      engine=engine, workers=workers, memory_limit=memory_limit, scheduler=scheduler,
                      outputs=outputs, partition_size=partition_size)
    _report_run(output)
    ctx.exit(EXIT_OK if output.result.caps_ok else EXIT_PROBLEMS)


@main.command()
@scenario_option
@out_option(help="Directory for the outputs (default out/demo).", required=False)
@overwrite_option
@sites_option
@basemap_option
@memory_limit_option
@click.pass_context
def demo(ctx: click.Context, scenario: str | None, out: Path | None, overwrite: bool, sites: bool,
         basemap: str, memory_limit: str | None) -> None:
    """Run the plan on the bundled Wulong demo pack, layers/wulong.gpkg (演示).

    A previous demo output in the directory is replaced; any other non-empty directory is
    refused unless --overwrite. Exit codes as for `wlgeo run`: 0 caps met, 1 a cap not met.
    """
    from wlgeo.runs.demo import DEMO_OUT, run_demo

    output = run_demo(out or DEMO_OUT, scenario=scenario, overwrite=overwrite, sites=sites, basemap=basemap,
                      memory_limit=memory_limit)
    _report_run(output)
    ctx.exit(EXIT_OK if output.result.caps.ok else EXIT_PROBLEMS)


@main.command()
@click.argument("run_a", type=click.Path(path_type=Path))
@click.argument("run_b", type=click.Path(path_type=Path))
def diff(run_a: Path, run_b: Path) -> None:
    """List the quarries whose decision changed between two runs, with both reasons (比较方案).

    RUN_A and RUN_B are directories written by `wlgeo run` (or their plan.gpkg).
    """
    from wlgeo.review.diff import diff_runs

    echo(diff_runs(run_a, run_b).to_text())



@main.command()
@click.argument("run", type=click.Path(path_type=Path))
@out_option(help="Directory for the sheets (default: RUN/sheets).", required=False)
@click.option("--by", "by", type=click.Choice(["town"]), default=None, help="One sheet per town polygon of the plan.")
@click.option("--town", "towns", multiple=True, metavar="NAME", help="Only this town (repeat for more); implies --by town.")
@click.option("--paper", default="A3", show_default=True, type=click.Choice(["A4", "A3", "A2", "A1", "A0"]))
@click.option("--orientation", default="landscape", show_default=True, type=click.Choice(["landscape", "portrait"]))
@click.option("--dpi", default=300, show_default=True, type=click.IntRange(min=1), help="Resolution of the PNG.")
@click.option("--format", "formats", default="png,pdf", show_default=True, help="Comma-separated: png, pdf, svg.")
@overwrite_option
@click.option("--district", default=None, metavar="NAME",
              help="A city or dask run: draw this district (districts/NAME/plan.gpkg).")
@click.pass_context
def sheet(ctx: click.Context, run: Path, out: Path | None, by: str | None, towns: tuple[str, ...], paper: str,
          orientation: str, dpi: int, formats: str, overwrite: bool, district: str | None) -> None:
    """Draw printed map sheets (PNG/PDF) from a run: the district, or one per town (出图).

    RUN is a directory written by `wlgeo run` (or its plan.gpkg). With --by town each town gets
    its sheet, named after it (和顺镇.png); --town NAME draws only the towns named. Exits 1 when
    some sheets failed (the others are whole).
    """
    from wlgeo.runs.city import district_run
    from wlgeo.runs.reader import plan_file
    from wlgeo.runs.sheets import run_sheets

    if run.is_dir():
        run = district_run(run, district)
    elif district is not None:
        raise click.UsageError("--district needs a run directory (RUN), not a plan.gpkg")
    if out is None:
        gpkg = plan_file(run)
        out = (run if run.is_dir() else gpkg.parent) / "sheets"
    fmts = [f.strip().lower() for f in formats.split(",") if f.strip()]
    with progress_bar("sheets", min_total=2) as progress:
        report = run_sheets(run, out_dir=out, by_town=by == "town", towns=list(towns) or None, paper=paper,
                            orientation=orientation, dpi=dpi, formats=fmts, overwrite=overwrite, progress=progress)
    echo_notes(report.notes)
    for path in report.files:
        echo(f"wrote {path}")
    _report_failures(ctx, report.failures, total=report.total, what="sheets")


@main.command("map")
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--district", default=None, metavar="NAME",
              help="A city or dask run: the district to draw (districts/NAME/plan.gpkg).")
@out_option(help="The map file (default: map.html beside the plan.gpkg drawn).", required=False)
@basemap_option
@overwrite_option
def map_(run: Path, district: str | None, out: Path | None, basemap: str, overwrite: bool) -> None:
    """Draw the interactive map (map.html, offline) of a run, or of one district of a city run (交互地图)."""
    from wlgeo.runs.city import district_run
    from wlgeo.model.errors import OutputError
    from wlgeo.products.maps import save_map
    from wlgeo.runs.reader import load_run

    folder = district_run(run, district) if run.is_dir() else run
    plan, pack = load_run(folder)
    target = out or (plan.plan_gpkg.parent / "map.html")
    if target.exists() and not overwrite:
        raise OutputError("exists; pass --overwrite to replace it", path=target)
    echo(f"wrote {save_map(plan, pack, target, basemap=basemap)}")


if __name__ == "__main__":
    main()
