#!/usr/bin/env bash
# Debian packages the map and sheet tests need, installed only when missing:
#   chromium        - the headless browser tests/browser.py drives (/usr/bin/chromium)
#   fonts-noto-cjk  - a system CJK font, the fallback when the PyPI font package is absent
# Runs `apt-get update` only when something is missing. Needs root (or sudo) on Debian/Ubuntu.
set -euo pipefail

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
if ! (command -v fc-list >/dev/null && fc-list :lang=zh-cn family | grep -qi "noto sans cjk"); then
  missing+=(fonts-noto-cjk)
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if ! command -v apt-get >/dev/null; then
  echo "setup_test_env: missing ${missing[*]} and no apt-get here; install them by hand" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "setup_test_env: installing ${missing[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
