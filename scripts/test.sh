#!/usr/bin/env bash
# Set up everything the test suite needs on a fresh machine (Python 3.11 + pip, Debian) and run it.
# Usage: bash scripts/test.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the browser and sheet tests need (headless Chromium, CJK fonts), when missing.
if [ -f scripts/setup_test_env.sh ]; then
  bash scripts/setup_test_env.sh
fi

python -m pip install --quiet --disable-pip-version-check -e ".[test]"
# GDAL's GeoPackage validator ships in gdal-utils; its 'gdal' dependency needs libgdal headers and is not
# needed for vector validation, so install the wheel alone.
python -m pip install --quiet --disable-pip-version-check --no-deps "gdal-utils>=3.9"

python -m pytest "$@"
