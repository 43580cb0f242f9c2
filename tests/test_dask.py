"""The dask engine on a real dask.distributed LocalCluster (worker processes) equals the local one.

The synthetic city (scripts/make_synthetic_city.py: three districts in zones 35, 36, 37, stored
in lon/lat, farmland as GeoParquet parts) is planned locally from its GeoPackage and with dask
from its catalog (farmland read by window in the workers), with 1 and 2 workers and small
partitions, so that constraints and consolidation links cross partition edges.
"""

from __future__ import annotations

import importlib.util
import json
import socket
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import wlgeo
from wlgeo.cli import main
from wlgeo.model.errors import ReadError

ROOT = Path(__file__).resolve().parent.parent
FIGURES = ("red_line_m2", "red_line_pct", "farmland_m2", "farmland_pct", "protected_m2", "settlement_m",
           "trunk_line_m", "main_river_m")


def cli(args):
    """Run ``wlgeo ARGS`` in this process (click's runner: exit code, stdout and stderr apart)."""
    from click.testing import CliRunner

    return CliRunner().invoke(main, [str(a) for a in args])


def _script():
    spec = importlib.util.spec_from_file_location("make_synthetic_city", ROOT / "scripts" / "make_synthetic_city.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    return _script().build_city(tmp_path_factory.mktemp("synthetic_city"), quarries=45, parcels=900, seed=7, parts=3)


@pytest.fixture(scope="module")
def client():
    import dask
    import distributed

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):  # a dead worker fails its task at once
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, memory_limit="1GiB",
                                           dashboard_address=":0")
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


@pytest.fixture(scope="module")
def local_city(city):
    return wlgeo.plan(city["gpkg"], sites=False)


def assert_same_plan(a, b):
    qa, qb = a.quarries.reset_index(drop=True), b.quarries.reset_index(drop=True)
    assert list(qa["quarry_id"]) == list(qb["quarry_id"])
    assert list(qa["decision"]) == list(qb["decision"])
    assert list(qa["reasons"]) == list(qb["reasons"])
    assert list(qa["group_id"].fillna("")) == list(qb["group_id"].fillna(""))
    for column in FIGURES:
        np.testing.assert_allclose(qa[column].to_numpy(float), qb[column].to_numpy(float), rtol=1e-6, atol=1e-6,
                                   equal_nan=True, err_msg=column)
    assert a.caps == b.caps
    assert {n: d.caps for n, d in a.districts.items()} == {n: d.caps for n, d in b.districts.items()}
    pd.testing.assert_frame_equal(a.summary, b.summary)
    ga, gb = a.consolidation_groups, b.consolidation_groups
    assert list(ga["group_id"]) == list(gb["group_id"]) and list(ga["members"]) == list(gb["members"])
    np.testing.assert_allclose(ga["area_m2"].to_numpy(float), gb["area_m2"].to_numpy(float), rtol=1e-6)


def test_dask_two_workers_equals_local_on_a_three_zone_city(city, client, local_city):
    result = wlgeo.plan(city["toml"], sites=False, engine="dask", client=client, partition_size=12)
    assert result.engine == "dask" and result.partitions["count"] >= 12
    assert {d.epsg for d in result.districts.values()} == {4544, 4545, 4546}
    assert local_city.counts()["consolidate"] > 0 and len(local_city.consolidation_groups) >= 3
    assert_same_plan(local_city, result)
    # memory bounded by the partition: no partition read more than a fraction of the farmland
    total = sum(f.metadata.num_rows for f in map(pq.ParquetFile, sorted(Path(city["farmland"]).glob("*.parquet"))))
    assert total == 2700
    assert 0 < result.partitions["largest_read"]["farmland"] < total / 6


def test_dask_one_worker_cli_run_equals_local(city, local_city, tmp_path):
    out = tmp_path / "run"
    proc = cli(["run", str(city["toml"]), "--engine", "dask",
                           "--workers", "1", "--memory-limit", "1GiB", "--partition-size", "20", "--no-sites",
                           "--out", str(out)])
    assert proc.exit_code == 0, proc.stderr
    plan = gpd.read_parquet(out / "plan.parquet")
    assert list(plan["quarry_id"]) == list(local_city.quarries["quarry_id"])
    assert list(plan["decision"]) == list(local_city.quarries["decision"])
    assert list(plan["reasons"]) == list(local_city.quarries["reasons"])
    np.testing.assert_allclose(plan["farmland_m2"], local_city.quarries["farmland_m2"], rtol=1e-6)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["engine"] == "dask" and manifest["partitions"]["workers"] == 1
    assert sorted(p.name for p in (out / "districts").iterdir()) == sorted(local_city.districts)


def test_dask_on_the_demo_pack_equals_local(client, monkeypatch):
    """The demo's red line and farmland read by window from its GeoPackage in the workers
    (what a dask run does for GeoPackage layers bigger than 250 000 features)."""
    plan_module = importlib.import_module("wlgeo.runs.planning")

    pack = ROOT / "layers" / "wulong.gpkg"
    local = wlgeo.plan(pack)
    monkeypatch.setattr(plan_module, "LOCAL_PARTITION_FEATURES", 10)
    result = wlgeo.plan(pack, engine="dask", client=client, partition_size=40)
    assert result.provenance["farmland"]["read"] == "by window, in the workers"
    assert result.provenance["red_line"]["read"] == "by window, in the workers"
    assert result.counts() == {"close": 29, "expire": 62, "retain": 33, "consolidate": 26}
    assert len(result.consolidation_groups) == 10 and len(result.new_sites) == 5
    assert_same_plan(local, result)
    assert list(result.new_sites["site_id"]) == list(local.new_sites["site_id"])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_scheduler_is_one_line_and_writes_nothing(city, tmp_path):
    out = tmp_path / "run"
    address = f"tcp://127.0.0.1:{_free_port()}"
    proc = cli(["run", str(city["gpkg"]), "--engine", "dask",
                           "--scheduler", address, "--no-sites", "--out", str(out)])
    assert proc.exit_code == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot reach the dask scheduler" in lines[0] and address in lines[0]
    assert not out.exists() or not any(out.iterdir())


def test_parquet_parts_with_different_schema_or_crs_are_refused(city, tmp_path):
    folder = tmp_path / "farmland"
    folder.mkdir()
    farmland = gpd.read_parquet(city["farmland"])
    farmland.iloc[:10].to_parquet(folder / "a.parquet")
    farmland.iloc[10:20].assign(extra=1).to_parquet(folder / "b.parquet")
    catalog = tmp_path / "c.toml"
    catalog.write_text(f'[layers.quarries]\npath = "{city["gpkg"]}"\nlayer = "quarries"\n'
                       f'[layers.farmland]\npath = "farmland"\n', encoding="utf-8")
    with pytest.raises(ReadError, match="columns differ") as err:
        wlgeo.read_pack(catalog)
    assert "b.parquet" in str(err.value)
    farmland.iloc[10:20].to_crs(4545).to_parquet(folder / "b.parquet")
    with pytest.raises(ReadError, match="CRS EPSG:4545 differs") as err:
        wlgeo.read_pack(catalog)
    assert "b.parquet" in str(err.value)


def test_a_part_that_fails_to_read_in_a_worker_names_it(city, client, tmp_path):
    folder = tmp_path / "farmland"
    folder.mkdir()
    farmland = gpd.read_parquet(city["farmland"])
    farmland.iloc[:1000].to_parquet(folder / "a.parquet", write_covering_bbox=True)
    broken = folder / "b.parquet"
    farmland.iloc[1000:].to_parquet(broken, write_covering_bbox=True, compression="snappy")
    data = bytearray(broken.read_bytes())
    data[200:len(data) - 4000] = b"\xff" * (len(data) - 4200)  # data pages destroyed, footer kept
    broken.write_bytes(bytes(data))
    catalog = tmp_path / "c.toml"
    catalog.write_text("".join(f'[layers.{n}]\npath = "{city["gpkg"]}"\nlayer = "{n}"\n'
                               for n in ("boundary", "quarries")) + '[layers.farmland]\npath = "farmland"\n',
                       encoding="utf-8")
    with pytest.raises(ReadError, match="cannot read GeoParquet part") as err:
        wlgeo.plan(catalog, sites=False, engine="dask", client=client, partition_size=30)
    assert "b.parquet" in str(err.value)


def test_workers_that_cannot_see_the_files_are_named(client):
    from wlgeo.engine.cluster import DaskError, DaskExecutor, check_files_visible

    with pytest.raises(DaskError, match="cannot see /nonexistent/farmland.parquet"):
        check_files_visible(DaskExecutor(client), [Path("/nonexistent/farmland.parquet")])


def test_a_worker_that_dies_is_one_clear_error(city, client):  # last: it kills the module's workers
    from city_fixtures import DyingSource
    from pyproj import CRS

    from wlgeo.engine.cluster import DaskError, DaskExecutor
    from wlgeo.runs.planning import plan_partitioned

    pack = wlgeo.read_pack(city["gpkg"])
    with pytest.raises(DaskError, match="worker .* died while running partition_metrics"):
        plan_partitioned(pack, wlgeo.Scenario(), executor=DaskExecutor(client), sites=False, partition_size=60,
                         lazy={"farmland": DyingSource(CRS.from_epsg(4490))})
