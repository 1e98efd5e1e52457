//! Helpers shared by the emulator's socket tests: scratch data directories and configs
//! for the durable store.

#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};

use eventhubs_emulator::{Config, DurableStorage, Storage, SyncPolicy};

/// A fresh (removed if present) scratch directory unique to this test process and `name`.
pub fn data_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("eh-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The default config with durable storage in `dir`.
pub fn durable_config(dir: &Path, sync: SyncPolicy, segment_bytes: u64) -> Config {
    let mut storage = DurableStorage::new(dir);
    storage.sync = sync;
    storage.segment_bytes = segment_bytes;
    let mut config = Config::default();
    config.storage = Storage::Durable(storage);
    config
}
