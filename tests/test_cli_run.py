"""``wlgeo run``, ``wlgeo demo``, ``wlgeo diff`` in real subprocesses, as a planner runs them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import plan_fixtures as fx
from wlgeo import read_layer

REPO = Path(__file__).resolve().parents[1]


def wlgeo_cli(*args, cwd=None, env=None) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "wlgeo.cli", *map(str, args)], capture_output=True, text=True,
                            cwd=cwd, env=env, timeout=300)
    assert "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr
    return result


@pytest.fixture(scope="module")
def pack_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("pack") / "pack.gpkg"
    fx.write_pack(path)
    return path


def test_run_prints_counts_caps_and_where(pack_file, tmp_path):
    out = tmp_path / "baseline"
    r = wlgeo_cli("run", pack_file, "--out", out, "--no-sites")
    assert r.returncode == 0, r.stderr
    assert "close 6, expire 4, retain 2, consolidate 5" in r.stdout
    assert "caps: quarries 4 ≤ 50 (margin 46), capacity 520 ≤ 6000 万吨/年 (margin 5480): met" in r.stdout
    assert f"in {out}" in r.stdout
    assert read_layer(out / "plan.gpkg", layer="quarries")["decision"].value_counts().to_dict() == {
        "close": 6, "consolidate": 5, "expire": 4, "retain": 2}

    again = wlgeo_cli("run", pack_file, "--out", out, "--no-sites")
    assert again.returncode == 2 and "not empty" in again.stderr and "--overwrite" in again.stderr
    assert "overwrite=True" not in again.stderr  # the command line names its option, not the Python argument
    assert wlgeo_cli("run", pack_file, "--out", out, "--overwrite", "--no-sites").returncode == 0


def test_run_with_scenario_file_and_preset(pack_file, tmp_path):
    toml = tmp_path / "tight.toml"
    toml.write_text("max_quarries = 3\nmax_total_capacity = 500\n", encoding="utf-8")
    r = wlgeo_cli("run", pack_file, "--scenario", toml, "--out", tmp_path / "tight", "--no-sites")
    assert r.returncode == 1, r.stderr  # the outputs are written, but a cap is not met
    assert (tmp_path / "tight" / "manifest.json").is_file() and (tmp_path / "tight" / "plan.gpkg").is_file()
    assert "scenario tight:" in r.stdout
    assert "quarries 4 > 3 (over by 1)" in r.stdout and "over by 20" in r.stdout and "NOT met" in r.stdout
    r = wlgeo_cli("run", pack_file, "--scenario", "strict", "--out", tmp_path / "strict")
    assert r.returncode == 0 and "scenario strict:" in r.stdout
    bad = wlgeo_cli("run", pack_file, "--scenario", "nosuch", "--out", tmp_path / "x")
    assert bad.returncode == 2 and "no preset" in bad.stderr and "baseline" in bad.stderr
    assert not (tmp_path / "x").exists()


def test_run_refuses_an_invalid_pack(tmp_path):
    layers = fx.layers()
    layers["quarries"].loc[0, "capacity"] = -1.0
    bad = tmp_path / "bad.gpkg"
    for name, frame in layers.items():
        frame.to_file(bad, layer=name, driver="GPKG", engine="pyogrio")
    r = wlgeo_cli("run", bad, "--out", tmp_path / "out")
    assert r.returncode == 2
    assert "validation found errors" in r.stderr and "Q01" in r.stderr and "capacity" in r.stderr
    assert not (tmp_path / "out").exists()


def test_diff_between_two_runs(pack_file, tmp_path):
    toml = tmp_path / "wide.toml"
    toml.write_text("blast_distance_m = 150\nmin_capacity = 65\n", encoding="utf-8")
    assert wlgeo_cli("run", pack_file, "--out", tmp_path / "a").returncode == 0
    assert wlgeo_cli("run", pack_file, "--scenario", toml, "--out", tmp_path / "b").returncode == 0
    r = wlgeo_cli("diff", tmp_path / "a", tmp_path / "b")
    assert r.returncode == 0, r.stderr
    assert "3 quarries changed decision" in r.stdout
    assert "Q04 Q04采石场 [甲镇]: close → retain" in r.stdout  # the same lines as compare()
    assert "Q11 Q11采石场: retain → consolidate" in r.stdout
    assert "A: settlement:180m(张家院子)" in r.stdout
    assert "B: small:60<65;merge:G03" in r.stdout
    for line in r.stdout.splitlines():
        assert not line.strip().startswith(("Q01", "Q05", "P1")), line
    missing = wlgeo_cli("diff", tmp_path / "a", tmp_path / "nope")
    assert missing.returncode == 2 and "nope" in missing.stderr


def test_demo_runs_on_the_bundled_pack_and_replaces_its_own_output(tmp_path):
    r = wlgeo_cli("demo", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    out = tmp_path / "out" / "demo"
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["demo"] is True
    assert manifest["pack"] == str(REPO / "layers" / "wulong.gpkg")
    quarries = read_layer(out / "plan.gpkg", layer="quarries")
    assert set(quarries["decision"]) == {"close", "expire", "retain", "consolidate"}
    again = wlgeo_cli("demo", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    other = tmp_path / "notdemo"
    other.mkdir()
    (other / "note.txt").write_text("keep")
    refused = wlgeo_cli("demo", "--out", other)
    assert refused.returncode == 2 and "not empty" in refused.stderr
    assert sorted(p.name for p in other.iterdir()) == ["note.txt"]


def test_demo_without_the_repository_says_so(tmp_path):
    """An installed (non-editable) wlgeo has no layers/ beside it: a clear error, exit 2."""
    site = tmp_path / "site"
    shutil.copytree(REPO / "wlgeo", site / "wlgeo", ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, "PYTHONPATH": str(site)}
    r = subprocess.run([sys.executable, "-c", "import wlgeo.cli; wlgeo.cli.main()", "demo", "--out", tmp_path / "o"],
                       capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    assert "layers/wulong.gpkg" in r.stderr and "git checkout" in r.stderr
    assert str(site / "layers" / "wulong.gpkg") in r.stderr
