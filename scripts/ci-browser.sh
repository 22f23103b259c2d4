#!/usr/bin/env bash
# CI: the server's tests, including the page in headless chromium and schema fuzzing of the API.
# The browser is Debian's chromium from apt, which Playwright drives through its executable path
# (/usr/bin/chromium); no browser is ever downloaded (never `playwright install`).
# Screenshots of the page land in build/screenshots/.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x /usr/bin/chromium ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q chromium
fi
pip install -q -e '.[serve,browser,test]'
python -m pytest -q tests/serve tests/retrieve/test_explain.py
ls build/screenshots
