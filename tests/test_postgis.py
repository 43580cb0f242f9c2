"""PostGIS layers: a real PostgreSQL + PostGIS (Debian packages) started for this module.

The server runs from a temporary folder on a free local port (initdb refuses root: it runs as the
``postgres`` user through ``runuser`` when the tests run as root) and is stopped at the end. The
hand-built three-zone city (tests/city_fixtures.py) is planned once from its GeoPackage and once
with its farmland and settlements in PostGIS (a table and an SQL query): the plans must agree.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
import shapely
from city_fixtures import city_layers, write_pack

import wlgeo
from wlgeo.cli import main
from wlgeo.model.errors import CRSError, ReadError

PG_BINS = sorted(glob.glob("/usr/lib/postgresql/*/bin"))


def cli(args):
    """Run ``wlgeo ARGS`` in this process (click's runner: exit code, stdout and stderr apart)."""
    from click.testing import CliRunner

    return CliRunner().invoke(main, [str(a) for a in args])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@pytest.fixture(scope="module")
def postgis():
    assert PG_BINS, "PostgreSQL is not installed: run scripts/setup_test_env.sh"
    bindir = Path(PG_BINS[-1])
    folder = Path(tempfile.mkdtemp(prefix="wlgeo-pg-", dir="/tmp"))
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(folder, pw.pw_uid, pw.pw_gid)
    data, port = folder / "data", _free_port()
    run = dict(check=True)
    subprocess.run(_as_postgres([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                                 "--no-sync", "-E", "UTF8", "--locale", "C"]), **run)
    subprocess.run(_as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"), "-w", "-o",
                                 f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off", "start"]), **run)
    dsn = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    try:
        import psycopg

        for _ in range(50):
            try:
                conn = psycopg.connect(dsn, autocommit=True)
                break
            except psycopg.OperationalError:
                time.sleep(0.2)
        with conn:
            conn.execute("CREATE EXTENSION postgis")
            conn.execute("CREATE SCHEMA planning")
        yield dsn
    finally:
        subprocess.run(_as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
                       capture_output=True, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


def _load(dsn: str, table: str, frame, srid: int) -> None:
    import psycopg

    columns = [c for c in frame.columns if c != frame.geometry.name]
    types = {c: ("bigint" if str(frame[c].dtype).startswith("int") else "text") for c in columns}
    with psycopg.connect(dsn, autocommit=True) as conn:
        spec = ", ".join(f'"{c}" {types[c]}' for c in columns)
        conn.execute(f"CREATE TABLE {table} (id serial PRIMARY KEY, {spec + ', ' if spec else ''}"
                     f"geom geometry(Geometry, {srid}))")
        placeholders = ", ".join(["%s"] * len(columns))
        sql = (f"INSERT INTO {table} ({', '.join(chr(34) + c + chr(34) for c in columns)}{', ' if columns else ''}geom) "
               f"VALUES ({placeholders}{', ' if columns else ''}ST_GeomFromWKB(%s, {srid}))")
        rows = [(*[None if v is None else (int(v) if types[c] == "bigint" else str(v)) for c, v in zip(columns, row)],
                 shapely.to_wkb(g)) for row, g in zip(frame[columns].itertuples(index=False), frame.geometry.values)]
        with conn.cursor() as cur:
            cur.executemany(sql, rows)


@pytest.fixture(scope="module")
def packs(postgis, tmp_path_factory):
    folder = tmp_path_factory.mktemp("pgcity")
    layers = city_layers()
    gpkg = write_pack(folder / "city.gpkg", layers)
    _load(postgis, "planning.farmland", layers["farmland"], 4490)
    _load(postgis, "public.settlements", layers["settlements"].to_crs(4545), 4545)
    catalog = folder / "city.toml"
    text = "".join(f'[layers.{n}]\npath = "city.gpkg"\nlayer = "{n}"\n'
                   for n in layers if n not in ("farmland", "settlements"))
    text += f'[layers.farmland]\ndsn = "{postgis}"\ntable = "planning.farmland"\n'
    text += f'[layers.settlements]\ndsn = "{postgis}"\nsql = "SELECT name, geom FROM public.settlements"\n'
    catalog.write_text(text, encoding="utf-8")
    return gpkg, catalog


def test_postgis_layers_plan_the_same_as_the_geopackage(packs):
    gpkg, catalog = packs
    a = wlgeo.plan(gpkg, sites=False)
    b = wlgeo.plan(catalog, sites=False)
    assert a.counts() == b.counts() == {"close": 3, "expire": 3, "retain": 3, "consolidate": 6}
    qa, qb = a.quarries, b.quarries
    assert list(qa["reasons"]) == list(qb["reasons"]) and list(qa["group_id"]) == list(qb["group_id"])
    for column in ("farmland_m2", "settlement_m"):
        np.testing.assert_allclose(qa[column].to_numpy(float), qb[column].to_numpy(float), rtol=1e-6)
    assert b.quarries.set_index("quarry_id").loc["C-Q1", "farmland_m2"] == pytest.approx(5000.0, rel=1e-6)
    assert "PostGIS" not in str(b.provenance["farmland"].get("path", ""))
    assert b.provenance["farmland"]["table"] == "planning.farmland"


def test_postgis_window_read_uses_the_index_operator(postgis, packs):
    from wlgeo.io.sources import PostGISSource

    source = PostGISSource(postgis, table="planning.farmland", name="farmland")
    assert source.crs.to_epsg() == 4490 and source.geometry_column == "geom"
    everything = source.read()
    assert len(everything) == 3
    one = source.read(tuple(everything.geometry.iloc[0].bounds))
    assert len(one) == 1


def test_srid_0_and_missing_table_are_clear_errors(postgis, tmp_path):
    import psycopg

    with psycopg.connect(postgis, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.nosrid (id serial, geom geometry)")
        conn.execute("INSERT INTO public.nosrid (geom) VALUES (ST_GeomFromText('POLYGON((0 0,1 0,1 1,0 0))'))")
    from wlgeo.io.sources import PostGISSource

    with pytest.raises(CRSError, match="SRID 0"):
        PostGISSource(postgis, table="public.nosrid", name="red_line")
    with pytest.raises(ReadError, match="no table planning.nothing"):
        PostGISSource(postgis, table="planning.nothing", name="red_line")
    catalog = tmp_path / "c.toml"
    catalog.write_text(f'[layers.red_line]\ndsn = "{postgis}"\ntable = "public.nosrid"\n', encoding="utf-8")
    with pytest.raises(CRSError, match="SRID 0") as err:
        wlgeo.read_pack(catalog)
    assert "red_line" in str(err.value) and "public.nosrid" in str(err.value)
    proc = cli(["validate", str(catalog)])
    assert proc.exit_code == 1  # validate lists every problem: this one names the layer and SRID 0
    assert any("red_line" in line and "SRID 0" in line for line in proc.stdout.splitlines()), proc.stdout


def test_postgis_layers_are_read_by_window_in_dask_workers(packs):
    """One worker process reads the PostGIS layers itself, partition by partition."""
    gpkg, catalog = packs
    local = wlgeo.plan(gpkg, sites=False)
    result = wlgeo.plan(catalog, sites=False, engine="dask", workers=1, partition_size=2)
    assert result.partitions["count"] >= 6
    assert result.provenance["farmland"]["read"] == "by window, in the workers"
    assert result.partitions["largest_read"]["farmland"] == 1  # each window holds one parcel of the three
    assert list(local.quarries["reasons"]) == list(result.quarries["reasons"])
    for column in ("farmland_m2", "settlement_m"):
        np.testing.assert_allclose(local.quarries[column].to_numpy(float), result.quarries[column].to_numpy(float),
                                   rtol=1e-6)
