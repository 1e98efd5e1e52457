//! Every committed fuzz seed and regression input, replayed through what the
//! `frame_decoder` and `connection` fuzz targets run, on every test run: a change that makes
//! one of them panic (or hang) fails here without a fuzzer.

use std::path::PathBuf;
use std::time::{Duration, Instant};

#[allow(unreachable_pub)]
#[path = "../../../fuzz/fuzz_targets/engine_input.rs"]
mod engine_input;
#[allow(unreachable_pub)]
#[path = "../../../fuzz/fuzz_targets/handshake.rs"]
mod handshake;

fn inputs(dirs: &[&str]) -> Vec<(PathBuf, Vec<u8>)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut out = Vec::new();
    for dir in dirs {
        let dir = root.join(dir);
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.is_file() {
                let bytes = std::fs::read(&path).unwrap();
                out.push((path, bytes));
            }
        }
    }
    assert!(!out.is_empty(), "no inputs in {dirs:?}");
    out
}

#[test]
fn every_seed_and_regression_input_replays() {
    let all = inputs(&[
        "fuzz/corpus/frame_decoder",
        "fuzz/corpus/connection",
        "crates/amqp/tests/regressions",
    ]);
    for (path, data) in &all {
        let started = Instant::now();
        engine_input::decode_everything(data);
        engine_input::drive_a_server_connection(&handshake::handshake(), data);
        // A guard against a hang (the fuzzers' "slow unit"), not a speed check.
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{} took {:?}",
            path.display(),
            started.elapsed()
        );
    }
    eprintln!("replayed {} inputs", all.len());
}
