//! What `eh bench` puts in each event to recognise its own and time them (two application
//! properties), and the counters its tasks share.

use std::sync::atomic::AtomicU64;
use std::time::{SystemTime, UNIX_EPOCH};

/// The run's id: receivers count only the events of their own run (a real hub may carry
/// other traffic).
pub(super) const RUN: &str = "eh-bench-run";
/// When the producer made the event, in microseconds since the Unix epoch.
pub(super) const SENT_AT: &str = "eh-bench-sent-us";

/// Microseconds since the Unix epoch, now.
pub(super) fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

/// A run id unlikely to repeat: the clock mixed with the process id.
pub(super) fn run_id() -> u64 {
    (now_micros() as u64).rotate_left(20) ^ u64::from(std::process::id())
}

/// What the producers and consumers have done so far.
#[derive(Debug, Default)]
pub(super) struct Counters {
    /// Events acknowledged by the hub.
    pub sent: AtomicU64,
    pub sent_bytes: AtomicU64,
    /// Events of this run received.
    pub received: AtomicU64,
    pub received_bytes: AtomicU64,
    /// Microseconds from the start of the run to the last event received.
    pub last_received_us: AtomicU64,
}
