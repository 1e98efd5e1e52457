#!/usr/bin/env bash
# Installs the interop peers the test suite needs, with pinned versions, into git-ignored
# folders: Python packages into .venv/. Idempotent: skips work when the pins are unchanged.
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
