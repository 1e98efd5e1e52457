//! Delivery: a consumer's link. Events are read from the partition log from the resolved
//! start position and sent pre-settled, only as far as the receiver's credit allows.

use std::sync::Arc;

use bytes::Bytes;
use eventhubs_amqp::definitions::AmqpError;
use eventhubs_amqp::types::{Timestamp, Value};
use eventhubs_amqp_io::Sender;
use eventhubs_protocol::constants as k;
use tokio::sync::oneshot;

use crate::clock;
use crate::epochs::Registration;
use crate::faults::Faults;
use crate::log::StoredEvent;
use crate::namespace::Namespace;
use crate::stamp;

/// Bodies read from the log and handed to the link per round, at most (one event if larger).
const ROUND_BYTES: u64 = 1 << 20;

/// Everything a delivery task needs.
#[derive(Debug)]
pub(crate) struct Consumer {
    /// The link.
    pub sender: Sender,
    /// Hub and partition indexes.
    pub hub: usize,
    /// Partition index.
    pub partition: usize,
    /// First sequence number to send.
    pub next: i64,
    /// Fires when another receiver steals the partition.
    pub stolen: oneshot::Receiver<AmqpError>,
    /// Keeps the receiver registered while the task runs.
    pub registration: Registration,
    /// Add runtime-metric delivery annotations.
    pub runtime_metric: bool,
}

/// Serves one consumer link until it closes or is stolen.
pub(crate) async fn serve(ns: Arc<Namespace>, c: Consumer) {
    let Consumer {
        sender,
        hub,
        partition,
        mut next,
        mut stolen,
        registration,
        runtime_metric,
    } = c;
    let _registration = registration;
    let p = &ns.hubs[hub].partitions[partition];
    let mut tail = p.tail.subscribe();
    let expiry = ns.config.faults.link_expiry();
    tokio::pin!(expiry);
    loop {
        let credit = tokio::select! {
            err = &mut stolen => return disconnect(&sender, err.ok()).await,
            () = &mut expiry => return disconnect(&sender, Some(Faults::detach_forced())).await,
            c = sender.wait_for_credit() => match c {
                Ok(c) => c,
                Err(_) => return,
            },
        };
        tail.borrow_and_update();
        // A round reads at most about a megabyte: what a wide credit allows is sent in
        // rounds, so a consumer that stops reading holds up one round, not its credit.
        let pending = p.lock().read_within(next, credit as usize, ROUND_BYTES);
        // Bodies no longer cached come from their segment files, outside the lock.
        let events = match crate::log::load(pending) {
            Ok(events) => events,
            Err(e) => {
                tracing::error!(error = %e, "cannot read events back from the durable store");
                let _ = sender
                    .close(Some(AmqpError::new(
                        eventhubs_amqp::definitions::condition::INTERNAL_ERROR,
                        "the emulator could not read these events back from its data directory",
                    )))
                    .await;
                return;
            }
        };
        if events.is_empty() {
            tokio::select! {
                err = &mut stolen => return disconnect(&sender, err.ok()).await,
                () = &mut expiry => return disconnect(&sender, Some(Faults::detach_forced())).await,
                r = tail.changed() => if r.is_err() { return },
                // The client went away while nothing was arriving: free its place.
                _ = sender.closed() => return,
            }
            continue;
        }
        let metric = runtime_metric.then(|| runtime_annotations(&p.lock().info()));
        let count = events.len() as u64;
        next = events.last().map_or(next, |e| e.sequence_number + 1);
        let payloads = events
            .into_iter()
            .map(|e| match &metric {
                Some(m) => with_metric(&e, m.clone()),
                None => e.bytes,
            })
            .collect();
        if sender.send_settled_many(payloads, 0).await.is_err() {
            return;
        }
        p.events_out
            .fetch_add(count, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Detaches a receiver with `error`: the registry's `amqp:link:stolen` when it was stolen.
async fn disconnect(sender: &Sender, error: Option<AmqpError>) {
    if let Some(err) = error {
        tracing::info!(error = %err, "receiver disconnected by a newer one");
        let _ = sender.close(Some(err)).await;
    }
}

fn runtime_annotations(info: &crate::log::PartitionInfo) -> Vec<(Value, Value)> {
    vec![
        (
            Value::Symbol(k::LAST_ENQUEUED_SEQUENCE_NUMBER.into()),
            Value::Long(info.last_sequence_number),
        ),
        (
            Value::Symbol(k::LAST_ENQUEUED_OFFSET.into()),
            Value::String(info.last_offset.to_string()),
        ),
        (
            Value::Symbol(k::LAST_ENQUEUED_TIME_UTC.into()),
            Value::Timestamp(Timestamp(
                info.last_enqueued_ms.unwrap_or(k::YEAR_ONE_MILLIS),
            )),
        ),
        (
            Value::Symbol(k::RUNTIME_INFO_RETRIEVAL_TIME_UTC.into()),
            Value::Timestamp(Timestamp(clock::now_ms())),
        ),
    ]
}

fn with_metric(e: &StoredEvent, annotations: Vec<(Value, Value)>) -> Bytes {
    stamp::with_delivery_annotations(&e.bytes, annotations).unwrap_or_else(|_| e.bytes.clone())
}
