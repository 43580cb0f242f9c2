"""Shared pytest setup: the header names the geospatial stack the suite ran on."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DEMO_PACK = REPO / "layers" / "wulong.gpkg"


def pytest_report_header(config):
    import geopandas
    import pyogrio
    import pyproj
    import shapely

    return (
        f"geopandas {geopandas.__version__}, shapely {shapely.__version__} (GEOS {shapely.geos_version_string}), "
        f"pyogrio {pyogrio.__version__} (GDAL {pyogrio.__gdal_version_string__}), "
        f"pyproj {pyproj.__version__} (PROJ {pyproj.proj_version_str})"
    )


@pytest.fixture(scope="session")
def demo_pack_path() -> Path:
    """Path of the bundled Wulong demo pack."""
    assert DEMO_PACK.exists(), f"demo pack missing: {DEMO_PACK} (run scripts/build_demo_pack.py)"
    return DEMO_PACK
