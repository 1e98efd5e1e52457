#!/usr/bin/env bash
# The whole test suite: installs the pinned interop peers, then runs every test.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
scripts/setup-interop.sh
cargo test --workspace --locked --all-targets
cargo test --workspace --locked --doc
