//! The consumers of `eh bench`: one task per partition counts the run's events and records
//! each one's latency (now minus the producer's stamp) in a histogram of its own.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use eventhubs::{PartitionReceiver, Value};
use hdrhistogram::Histogram;
use tokio::sync::watch;

use super::stamp::{self, Counters};
use crate::fail::Failure;

/// Latencies in microseconds, from 1 µs to an hour, to three significant figures.
pub(super) fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("constant bounds hdrhistogram accepts")
}

/// What a partition's task counts.
#[derive(Debug, Clone, Copy)]
pub(super) enum Counting {
    /// The events of this run (others on the hub are skipped), timed.
    Run(u64),
    /// Every event, up to this sequence number (what the partition held at the start).
    UpTo(i64),
}

/// Reads until `stop` is set (or, with [`Counting::UpTo`], the last event is in), then
/// closes the receiver and hands back the latencies.
pub(super) async fn consume(
    mut receiver: PartitionReceiver,
    counting: Counting,
    started: Instant,
    counters: Arc<Counters>,
    mut stop: watch::Receiver<bool>,
) -> Result<Histogram<u64>, Failure> {
    let mut latencies = histogram();
    let outcome = loop {
        let first = tokio::select! {
            r = receiver.recv() => r,
            _ = stop.wait_for(|s| *s) => break Ok(()),
        };
        let mut events = match first {
            Ok(e) => vec![e],
            Err(e) => break Err(Failure::from(e)),
        };
        if let Ok(more) = receiver.recv_batch(TAKE_AT_ONCE, Duration::ZERO).await {
            events.extend(more);
        }
        let now = stamp::now_micros();
        let (mut n, mut bytes, mut done) = (0u64, 0u64, false);
        for event in &events {
            match counting {
                Counting::Run(run) => {
                    if event.property(stamp::RUN) != Some(&Value::Ulong(run)) {
                        continue;
                    }
                    if let Some(Value::Long(at)) = event.property(stamp::SENT_AT) {
                        latencies.saturating_record(now.saturating_sub(*at).max(1) as u64);
                    }
                }
                Counting::UpTo(end) => {
                    if event.sequence_number() > end {
                        done = true;
                        break;
                    }
                    done = event.sequence_number() == end;
                }
            }
            n += 1;
            bytes += event.data().len() as u64;
        }
        counters.received.fetch_add(n, Ordering::Relaxed);
        counters.received_bytes.fetch_add(bytes, Ordering::Relaxed);
        counters
            .last_received_us
            .fetch_max(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        if done {
            break Ok(());
        }
    };
    receiver.close().await;
    outcome.map(|()| latencies)
}

/// Events taken from a receiver's buffer at once.
const TAKE_AT_ONCE: usize = 1024;
