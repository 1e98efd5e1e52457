#!/usr/bin/env bash
# The whole test suite: installs the pinned interop peers, then runs every test.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
scripts/setup-interop.sh
cargo test --workspace --locked --all-targets
cargo test --workspace --locked --doc
# Optional features the workspace build leaves off: the azure_core adapter (with the official
# azure_identity credential), and the environment credential without PKCS#12 support (the
# CLI turns `pkcs12` on for the workspace build).
cargo test -p eventhubs --locked --features azure-core --test azure_core_adapter --test identity_env
# Every client example runs end to end against its embedded emulator.
for example in quickstart producer consumer batch_processing checkpointing facade; do
  env -u EVENTHUB_CONNECTION_STRING timeout 300 cargo run --locked --quiet -p eventhubs --example "$example" > /dev/null
done
# The processor example (embedded emulator, file checkpoints) runs for three seconds.
env -u EVENTHUB_CONNECTION_STRING -u AZURE_STORAGE_CONNECTION_STRING -u AZURE_STORAGE_CONTAINER timeout 300 \
  cargo run --locked --quiet -p eventhubs-checkpointstore-blob --example processor -- --seconds 3 > /dev/null
