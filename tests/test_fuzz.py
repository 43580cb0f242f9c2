"""Property-based tests over wlgeo's inputs (hypothesis), with a small fixed budget.

The property is the same everywhere: a reader returns a frame (a loader its object) or raises a
one-line :class:`wlgeo.WlgeoError` — never another exception; the CLI exits 0, 1 or 2 and never
prints a traceback. The strategies are in ``tests/fuzz_cases.py``; ``scripts/fuzz.py`` runs the
same ones for minutes or hours in subprocesses and writes minimal reproducers.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import fuzz_cases as fc
import geopandas as gpd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wlgeo
from wlgeo.model.errors import WlgeoError

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

_QUARRIES_GEOJSON = ('{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"quarry_id":"Q1",'
                     '"capacity":60,"license_end":"2030-12-31"},"geometry":{"type":"Polygon","coordinates":'
                     '[[[107.75,29.35],[107.76,29.35],[107.76,29.36],[107.75,29.35]]]}}]}')


def _one_line(err: WlgeoError) -> None:
    text = str(err)
    assert text and len(text.splitlines()) <= 1 or isinstance(err, wlgeo.PackError), text


def _read(name: str, data: bytes, **options):
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = Path(tmp) / name
        path.write_bytes(data)
        # read as a Wulong pack reads them: tables without a zone or prefix take the pack's zone 36
        options.setdefault("working_crs", "EPSG:4545")
        try:
            frame = wlgeo.read_layer(path, **options)
        except WlgeoError as err:
            _one_line(err)
            return None
        assert isinstance(frame, gpd.GeoDataFrame)
        assert frame.crs is not None and frame.crs.to_epsg() == 4545
        return frame


@SETTINGS
@given(text=fc.bubiao_text(), encoding=st.sampled_from(["utf-8", "gbk"]))
def test_bubiao_reader(text, encoding):
    data = text.encode(encoding, errors="replace")
    _read("parcels.txt", data)


@SETTINGS
@given(text=fc.corner_csv(), encoding=st.sampled_from(["utf-8", "utf-8-sig", "gbk"]))
def test_corner_table_reader(text, encoding):
    _read("corners.csv", text.encode(encoding, errors="replace"))


@SETTINGS
@given(text=fc.geojson_text())
def test_geojson_reader(text):
    _read("layer.geojson", text.encode("utf-8", errors="surrogatepass"))


@SETTINGS
@given(raw=st.binary(max_size=300), suffix=st.sampled_from([".txt", ".csv", ".geojson", ".gpkg", ".shp"]))
def test_readers_on_random_bytes(raw, suffix):
    _read("f" + suffix, raw)


@SETTINGS
@given(text=fc.catalog_text())
def test_catalog_loader(text):
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        (Path(tmp) / "q.geojson").write_text(_QUARRIES_GEOJSON, encoding="utf-8")
        catalog = Path(tmp) / "pack.toml"
        catalog.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            pack = wlgeo.read_pack(catalog)
        except WlgeoError as err:
            _one_line(err)
            return
        assert set(pack.layers) <= set(wlgeo.io.pack.LAYER_NAMES)


@SETTINGS
@given(data=fc.scenario_dict())
def test_scenario_loader(data):
    try:
        scenario = wlgeo.Scenario.from_dict(data)
    except WlgeoError as err:
        _one_line(err)
    else:
        assert scenario.blast_distance_m <= 100_000 and scenario.siting.grid_resolution_m >= 1
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.toml"
        path.write_text(fc.scenario_toml(data), encoding="utf-8", errors="surrogatepass")
        try:
            wlgeo.Scenario.from_toml(path)
        except WlgeoError as err:
            _one_line(err)


@SETTINGS
@given(args=fc.cli_args())
def test_cli_never_crashes(args):
    from wlgeo.cli import main

    args = [a for a in args if a != "demo"] or ["--help"]  # (the demo is a full run: scripts/fuzz.py has it)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "q.geojson").write_text(_QUARRIES_GEOJSON, encoding="utf-8")
        result = fc.invoke_cli(main, args, tmp)
    assert result.exit_code in (0, 1, 2), (args, result.exit_code, result.output)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), (args, repr(result.exception))


@pytest.mark.parametrize("name", ["bubiao", "corners", "geojson"])
def test_strategies_reach_valid_files(name):
    """The strategies are not all noise: some drawn files are read into frames."""
    strategy = {"bubiao": fc.bubiao_text(), "corners": fc.corner_csv(), "geojson": fc.geojson_text()}[name]
    suffix = {"bubiao": "parcels.txt", "corners": "corners.csv", "geojson": "layer.geojson"}[name]
    read = []

    @settings(max_examples=80, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(text=strategy)
    def collect(text):
        frame = _read(suffix, text.encode("utf-8", errors="replace"))
        if frame is not None and len(frame):
            read.append(len(frame))

    collect()
    assert read, f"no {name} case was read into a frame"
