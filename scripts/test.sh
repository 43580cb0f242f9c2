#!/usr/bin/env bash
# Set up everything the test suite needs on a fresh machine (Python 3.11 + pip, Debian) and run it.
#
#   bash scripts/test.sh [pytest args]            install from the lock (requirements/lock.txt), run pytest
#   bash scripts/test.sh --latest [pytest args]   install today's newest releases instead, to find drift first
#
# The lock is regenerated with `bash scripts/lock.sh` whenever pyproject.toml's dependencies change.
set -euo pipefail
cd "$(dirname "$0")/.."

latest=0
if [ "${1:-}" = "--latest" ]; then
  latest=1
  shift
fi

# Debian packages the browser, sheet, QGIS and database tests need, when missing.
if [ -f scripts/setup_test_env.sh ]; then
  bash scripts/setup_test_env.sh
fi

pip_install() { python -m pip install --quiet --disable-pip-version-check "$@"; }
if [ "$latest" = 1 ]; then
  echo "test.sh: installing the newest releases (no lock)" >&2
  pip_install --upgrade --upgrade-strategy eager -e ".[test,demo-build]"
  # GDAL's GeoPackage validator ships in gdal-utils; its 'gdal' dependency needs libgdal headers and is
  # not needed for vector validation, so install the wheel alone.
  pip_install --upgrade --no-deps "gdal-utils>=3.9"
else
  pip_install -c requirements/lock.txt -e ".[test,demo-build]"
  pip_install --no-deps -c requirements/lock.txt "gdal-utils>=3.9"
fi

python -m pytest "$@"
