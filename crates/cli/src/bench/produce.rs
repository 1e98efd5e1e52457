//! The producers of `eh bench`: batches of stamped events to each partition in turn, a
//! few batches in flight, until the shared budget or the deadline runs out.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use eventhubs::{CreateBatchOptions, EventData, ProducerClient, TryAddReason};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::stamp::{self, Counters};
use crate::fail::Failure;

/// How much a producer may send: a number of events shared by all producers, or until a
/// moment.
#[derive(Debug)]
pub(super) enum Budget {
    Count(AtomicU64),
    Until(Instant),
}

impl Budget {
    /// Takes up to `n` events from the budget (0: it is spent).
    fn take(&self, n: u64) -> u64 {
        match self {
            Self::Count(left) => left
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |l| {
                    (l > 0).then(|| l - l.min(n))
                })
                .map_or(0, |l| l.min(n)),
            Self::Until(deadline) => {
                if Instant::now() < *deadline {
                    n
                } else {
                    0
                }
            }
        }
    }

    /// Returns events taken but not sent (a batch filled up before its share).
    fn give_back(&self, n: u64) {
        if let Self::Count(left) = self {
            left.fetch_add(n, Ordering::Relaxed);
        }
    }
}

/// What every producer sends.
#[derive(Debug)]
pub(super) struct Load {
    pub body: Bytes,
    pub batch: u64,
    pub in_flight: usize,
    pub run: u64,
    pub budget: Budget,
}

/// Sends batches to `partitions` in turn until the budget is spent or `stop` is set, then
/// waits for the batches under way.
pub(super) async fn produce(
    producer: ProducerClient,
    partitions: Vec<String>,
    load: Arc<Load>,
    counters: Arc<Counters>,
    stop: watch::Receiver<bool>,
) -> Result<(), Failure> {
    let mut sending: JoinSet<Result<(u64, u64), eventhubs::Error>> = JoinSet::new();
    let outcome = async {
        for partition in partitions.iter().cycle() {
            if *stop.borrow() {
                break;
            }
            let share = load.budget.take(load.batch);
            if share == 0 {
                break;
            }
            let options = CreateBatchOptions::default().partition_id(partition.clone());
            let mut batch = producer.create_batch(options).await?;
            let mut added = 0;
            while added < share {
                let event = EventData::new(load.body.clone())
                    .with_property(stamp::RUN, load.run)
                    .with_property(stamp::SENT_AT, stamp::now_micros());
                match batch.try_add(event) {
                    Ok(()) => added += 1,
                    Err(e) if e.reason() == TryAddReason::Full && added > 0 => break,
                    Err(e) => {
                        return Err(Failure::usage(format!(
                            "a {}-byte event cannot be sent: {e}",
                            load.body.len()
                        )))
                    }
                }
            }
            load.budget.give_back(share - added);
            while sending.len() >= load.in_flight {
                finish_one(&mut sending, &counters).await?;
            }
            let producer = producer.clone();
            let bytes = added * load.body.len() as u64;
            sending.spawn(async move { producer.send_batch(batch).await.map(|()| (added, bytes)) });
        }
        while !sending.is_empty() {
            finish_one(&mut sending, &counters).await?;
        }
        Ok(())
    }
    .await;
    producer.close().await;
    outcome
}

async fn finish_one(
    sending: &mut JoinSet<Result<(u64, u64), eventhubs::Error>>,
    counters: &Counters,
) -> Result<(), Failure> {
    match sending.join_next().await {
        Some(Ok(Ok((events, bytes)))) => {
            counters.sent.fetch_add(events, Ordering::Relaxed);
            counters.sent_bytes.fetch_add(bytes, Ordering::Relaxed);
            Ok(())
        }
        Some(Ok(Err(e))) => Err(e.into()),
        Some(Err(e)) => Err(Failure::runtime(format!("a send task failed: {e}"))),
        None => Ok(()),
    }
}
