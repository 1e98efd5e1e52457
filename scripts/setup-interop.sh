#!/usr/bin/env bash
# Installs the interop peers the test suite needs, with pinned versions, into git-ignored
# folders: Python packages into .venv/, npm packages into interop/js/node_modules/.
# Idempotent: skips work when the pins are unchanged.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

python="${PYTHON:-python3}"
req="interop/requirements.txt"
stamp=".venv/.installed-$(sha256sum "$req" | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "setup-interop: installing Python peers from $req into .venv"
  "$python" -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r "$req"
  rm -f .venv/.installed-*
  touch "$stamp"
fi

# JS peers: exact versions from interop/js/package-lock.json into interop/js/node_modules.
lock="interop/js/package-lock.json"
jstamp="interop/js/node_modules/.installed-$(sha256sum "$lock" | cut -c1-16)"
if [ ! -f "$jstamp" ]; then
  echo "setup-interop: installing JS peers from $lock into interop/js/node_modules"
  (cd interop/js && npm ci --no-audit --no-fund --loglevel=error)
  rm -f interop/js/node_modules/.installed-*
  touch "$jstamp"
fi
