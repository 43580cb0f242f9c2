"""What a new user meets first: a light start, exit codes a script can rely on, tables that load,
a plan that validates, and nothing a spreadsheet would evaluate (issues 10 and 11 item 4)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

import plan_fixtures as fx
import wlgeo
from wlgeo.products.tables import caps_table, write_caps_csv, write_summary_csv, write_summary_xlsx

HEAVY = ("pandas", "geopandas", "shapely", "pyproj", "folium", "matplotlib", "rasterio", "scipy")


def _python(code: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **env})


def _console(*args, cwd=None, **env) -> subprocess.CompletedProcess:
    exe = shutil.which("wlgeo")
    assert exe, "the wlgeo console script is not installed (pip install -e .)"
    result = subprocess.run([exe, *map(str, args)], capture_output=True, text=True, timeout=300, cwd=cwd,
                            env={**os.environ, **env})
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    return result


# ---------------------------------------------------------------------------- start-up
def test_help_loads_none_of_the_heavy_libraries():
    code = (
        "import sys\n"
        "from wlgeo.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit as e:\n    assert e.code == 0, e.code\n"
        f"print('loaded=' + ','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    result = _python(code)
    assert result.returncode == 0, result.stderr
    *_, loaded = result.stdout.strip().splitlines()
    assert loaded == "loaded=", f"wlgeo --help imported {loaded}"
    assert "Exit codes" in result.stdout and "cap is not met" in result.stdout


def test_import_wlgeo_is_light_and_the_public_names_still_resolve():
    code = (
        "import sys, types\n"
        "import wlgeo\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
        "from wlgeo.runs.writer import run_plan\n"  # importing the submodule must not hide the function
        "import wlgeo.review.compare\n"
        "assert callable(wlgeo.plan) and not isinstance(wlgeo.plan, types.ModuleType)\n"
        "assert callable(wlgeo.compare) and not isinstance(wlgeo.compare, types.ModuleType)\n"
        "assert all(getattr(wlgeo, n) is not None for n in wlgeo.__all__)\n"
        "print('ok')\n"
    )
    result = _python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["ok"]  # no heavy module after `import wlgeo`


# ---------------------------------------------------------------------------- exit codes and files
@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("fresh")
    pack = base / "pack.gpkg"
    fx.write_pack(pack)
    out = base / "run"
    result = _console("run", pack, "--out", out, "--no-sites", cwd=base)
    assert result.returncode == 0, result.stderr
    return out


def test_a_run_whose_caps_are_not_met_exits_1_with_every_output_written(tmp_path):
    pack = tmp_path / "pack.gpkg"
    fx.write_pack(pack)
    tight = tmp_path / "tight.toml"
    tight.write_text('name = "tight"\nmax_quarries = 3\n', encoding="utf-8")
    result = _console("run", pack, "--scenario", tight, "--out", tmp_path / "out", "--no-sites", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "NOT met" in result.stdout
    names = {p.name for p in (tmp_path / "out").iterdir()}
    assert {"plan.gpkg", "map.html", "summary_towns.csv", "caps.csv", "summary.xlsx", "manifest.json"} <= names
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["caps"]["ok"] is False and manifest["caps"]["quarries_after"] == 4


def test_plan_gpkg_of_a_run_validates_clean(run_dir):
    result = _console("validate", run_dir / "plan.gpkg")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "warning" not in (result.stdout + result.stderr).lower()
    assert "new_sites" in result.stdout and "info" in result.stdout  # named once, as information


def test_export_from_the_console_script_with_deprecations_as_errors(run_dir, tmp_path):
    result = _console("export", run_dir / "plan.gpkg", "--by", "decision", "--out", tmp_path / "by_decision",
                      PYTHONWARNINGS="error::DeprecationWarning:wlgeo.cli")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "by_decision" / "index.csv").is_file()


def test_both_tables_load_as_one_table_each(run_dir):
    towns = pd.read_csv(run_dir / "summary_towns.csv")
    assert towns.columns[0] == "乡镇 Town" and len(towns) == 3  # two towns and the total row
    for column in (c for c in towns.columns if c.endswith(" count")):
        assert pd.api.types.is_integer_dtype(towns[column]), column
    caps = pd.read_csv(run_dir / "caps.csv")
    assert caps["cap"].tolist() == ["max_quarries", "max_total_capacity"]
    assert caps.loc[0, ["limit", "before", "after", "margin"]].tolist() == [50, 17, 4, 46]
    assert caps.loc[1, ["limit", "before", "after"]].tolist() == [6000, 1169.5, 520]
    assert caps["met"].tolist() == [True, True]
    lines = (run_dir / "caps.csv").read_text(encoding="utf-8-sig").splitlines()
    assert lines[1].split(",")[3:] == ["50", "17", "4", "46", "true"]  # counts written as integers


# ---------------------------------------------------------------------------- spreadsheet safety
HOSTILE_TOWNS = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "普通镇"]


def test_spreadsheet_safe_quotes_every_trigger_and_leaves_numbers():
    from wlgeo.products.tables import spreadsheet_safe

    frame = pd.DataFrame({"t": ["=1+1", "+1", "-1", "@x", "\tx", "\rx", "ok", "a=b"], "n": [-1, 2, 3, 4, 5, 6, 7, 8]})
    safe = spreadsheet_safe(frame)
    assert safe["t"].tolist() == ["'=1+1", "'+1", "'-1", "'@x", "'\tx", "'\rx", "ok", "a=b"]
    assert safe["n"].tolist() == frame["n"].tolist()


@pytest.fixture(scope="module")
def hostile_result():
    layers = fx.layers()
    quarries = layers["quarries"].copy()
    quarries["town"] = [HOSTILE_TOWNS[i % len(HOSTILE_TOWNS)] for i in range(len(quarries))]
    layers["quarries"] = quarries
    del layers["towns"]
    return wlgeo.plan(fx.LayerPack(layers), sites=False)


def test_csv_cells_that_a_spreadsheet_would_evaluate_are_written_as_text(hostile_result, tmp_path):
    write_summary_csv(tmp_path / "summary_towns.csv", hostile_result.summary)
    towns = pd.read_csv(tmp_path / "summary_towns.csv", keep_default_na=False)["乡镇 Town"].tolist()
    for name in HOSTILE_TOWNS[:-1]:
        assert "'" + name in towns, name
        assert name not in towns
    assert "普通镇" in towns  # ordinary names are left alone
    write_caps_csv(tmp_path / "caps.csv", hostile_result.caps)
    assert pd.read_csv(tmp_path / "caps.csv")["before"].tolist() == [17, pytest.approx(1169.5)]


def test_xlsx_never_stores_data_as_a_formula(hostile_result, tmp_path):
    path = write_summary_xlsx(tmp_path / "summary.xlsx", hostile_result.summary, hostile_result.caps)
    book = openpyxl.load_workbook(path)
    cells = {c.value: c for sheet in book for row in sheet.iter_rows() for c in row if isinstance(c.value, str)}
    for name in HOSTILE_TOWNS[:-1]:
        cell = cells[name]  # the text itself, unaltered ...
        assert cell.data_type == "s" and cell.quotePrefix, name  # ... stored as text, shown as typed
    assert not any(c.data_type == "f" for sheet in book for row in sheet.iter_rows() for c in row)
    assert caps_table(hostile_result.caps)["cap"].tolist() == ["max_quarries", "max_total_capacity"]
