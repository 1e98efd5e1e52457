#!/usr/bin/env bash
# Builds the libraries and binaries with the workspace's declared minimum Rust version
# (`rust-version` in Cargo.toml), installing that toolchain with rustup if it is missing.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
msrv=$(sed -n 's/^rust-version = "\(.*\)"/\1/p' Cargo.toml | head -1)
[ -n "$msrv" ] || { echo "check-msrv: no rust-version in Cargo.toml" >&2; exit 1; }
toolchain="$msrv"
# rustup wants a full version (1.89 -> 1.89.0).
[[ "$toolchain" =~ ^[0-9]+\.[0-9]+$ ]] && toolchain="$toolchain.0"
if ! rustup run "$toolchain" rustc --version >/dev/null 2>&1; then
  echo "check-msrv: installing Rust $toolchain"
  rustup toolchain install "$toolchain" --profile minimal --no-self-update
fi
echo "check-msrv: building with Rust $toolchain (rust-version = $msrv)"
# Its own target directory, so the main build's cache is not thrown away.
cargo "+$toolchain" check --workspace --locked --lib --bins --target-dir target/msrv
