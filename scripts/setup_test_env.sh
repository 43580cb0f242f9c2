#!/usr/bin/env bash
# Debian packages the map and sheet tests need, installed only when missing:
#   chromium        - the headless browser tests/browser.py drives (/usr/bin/chromium)
#   fonts-noto-cjk  - a system CJK font, the fallback when the PyPI font package is absent
#   fonts-dejavu-core - the only font of the isolated fontconfig (no CJK) of tests/test_webmap.py
#   python3-qgis qgis-providers - real QGIS (3.22 on Debian 12) for tests/test_qgis.py, driven by
#                     scripts/qgis_check.py under Debian's /usr/bin/python3; installed without
#                     recommends (about 230 MB of packages, 1 GB on disk, under a minute here)
#   postgresql postgis - a real PostgreSQL + PostGIS that tests/test_postgis.py starts itself
#                     (initdb as the postgres user, on a free port, in a temporary folder)
# Runs `apt-get update` only when something is missing. Needs root (or sudo) on Debian/Ubuntu.
set -euo pipefail

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -d /usr/share/fonts/truetype/dejavu ] || missing+=(fonts-dejavu-core)
if ! (command -v fc-list >/dev/null && fc-list :lang=zh-cn family | grep -qi "noto sans cjk"); then
  missing+=(fonts-noto-cjk)
fi

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  missing+=(postgresql)
fi
if ! ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1; then
  missing+=(postgis)
fi

qgis_missing=()
if ! /usr/bin/python3 -c "import qgis.core" >/dev/null 2>&1; then
  qgis_missing=(python3-qgis qgis-providers)
fi

if [ ${#missing[@]} -eq 0 ] && [ ${#qgis_missing[@]} -eq 0 ]; then
  exit 0
fi

if ! command -v apt-get >/dev/null; then
  echo "setup_test_env: missing ${missing[*]} and no apt-get here; install them by hand" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "setup_test_env: installing ${missing[*]} ${qgis_missing[*]}" >&2
$SUDO apt-get update -qq
if [ ${#missing[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi
if [ ${#qgis_missing[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${qgis_missing[@]}"
fi
