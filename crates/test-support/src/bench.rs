//! Measuring benchmark rows: wall-clock rate and process CPU per event.

use std::time::{Duration, Instant};

/// CPU time used by this process so far (every thread: client and server when both run
/// in-process).
pub fn cpu_now() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Runs `f`, which handles `events` events, and returns (events/s, CPU ns/event); prints
/// the wall time to stderr.
pub async fn measure<F: std::future::Future<Output = ()>>(events: u64, f: F) -> (f64, f64) {
    let (t0, c0) = (Instant::now(), cpu_now());
    f.await;
    let (wall, cpu) = (t0.elapsed(), cpu_now() - c0);
    eprintln!("  {events} events in {wall:?}");
    (
        events as f64 / wall.as_secs_f64(),
        cpu.as_nanos() as f64 / events as f64,
    )
}

/// False when a benchmark binary runs under `cargo test --all-targets` (cargo passes
/// `--bench` only from `cargo bench`): benchmarks then only check that they start.
pub fn invoked_by_cargo_bench() -> bool {
    let bench = std::env::args().any(|a| a == "--bench");
    if !bench {
        eprintln!("benchmark skipped: run it with `cargo bench`");
    }
    bench
}

/// Fails the run unless the emulator `stored` exactly the `acknowledged` events the
/// benchmark counted: a benchmark that does not check its result can hide loss.
///
/// # Panics
/// When the two differ.
pub fn check_stored(stored: u64, acknowledged: u64) {
    assert_eq!(
        stored, acknowledged,
        "the emulator stores {stored} events but {acknowledged} were acknowledged"
    );
    eprintln!("  checked: {stored} events stored = acknowledged");
}
