//! Concurrent single sends to one target share deliveries. While a target (a partition,
//! or the hub with one partition key) has fewer than [`DIRECT_IN_FLIGHT`] sends in
//! flight, a send goes out at once as its own delivery. Beyond that, further concurrent
//! sends wait in a queue and go out together as one batch message as soon as a delivery
//! finishes; each caller still gets its own result (the batch's outcome).
//!
//! Nothing is reordered that had an order: calls merged into one batch were concurrent,
//! and each caller's own sends are sequential (it waits for each result). Under light load
//! no send waits; under heavy load the connection carries one delivery per batch instead
//! of one per event, which is what makes many concurrent single sends fast.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use eventhubs_amqp::message::{BatchBuilder, Message, BATCH_MESSAGE_FORMAT};
use eventhubs_amqp::types::Value;
use eventhubs_protocol::constants as k;
use tokio::sync::oneshot;

use crate::error::Error;
use crate::producer::ProducerClient;

/// Sends to one target that go out on their own before later ones start queueing.
pub(crate) const DIRECT_IN_FLIGHT: usize = 2;

/// Where a send goes: the link address and, for the hub, the partition key.
type Target = (String, Option<String>);

/// An encoded event waiting for a batch, with its caller.
struct Waiting {
    event: Bytes,
    since: tokio::time::Instant,
    caller: oneshot::Sender<Result<(), Error>>,
}

#[derive(Default)]
struct Queue {
    waiting: Vec<Waiting>,
    /// Deliveries (single or batch) under way to this target.
    in_flight: usize,
}

/// The queues of one producer.
#[derive(Default)]
pub(crate) struct Coalescer {
    queues: Mutex<HashMap<Target, Queue>>,
}

impl std::fmt::Debug for Coalescer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Coalescer").finish_non_exhaustive()
    }
}

impl Coalescer {
    fn lock(&self) -> MutexGuard<'_, HashMap<Target, Queue>> {
        self.queues.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Sends one encoded event to `target`: at once, or in the next batch to that target.
/// Cancel-safe in the same sense as any send: dropped, the event may still be sent.
pub(crate) async fn send(
    producer: &ProducerClient,
    coalescer: &Arc<Coalescer>,
    target: Target,
    event: Bytes,
) -> Result<(), Error> {
    let waiter = {
        let mut queues = coalescer.lock();
        let q = queues.entry(target.clone()).or_default();
        if q.in_flight < DIRECT_IN_FLIGHT && q.waiting.is_empty() {
            q.in_flight += 1;
            None
        } else {
            let (tx, rx) = oneshot::channel();
            q.waiting.push(Waiting {
                event: event.clone(),
                since: tokio::time::Instant::now(),
                caller: tx,
            });
            Some(rx)
        }
    };
    match waiter {
        // Bounded by its batch's deadline (its enqueue time plus the operation timeout, see
        // `send_waiting`), so no timer per caller.
        Some(rx) => rx.await.unwrap_or_else(|_| {
            Err(Error::new(
                crate::ErrorKind::Closed,
                "the send was dropped before it completed",
            ))
        }),
        None => {
            // A guard, so the count drops (and waiters are served) even if this call is
            // cancelled mid-send.
            let _done = Done {
                producer,
                coalescer,
                target: &target,
            };
            producer.send_payload(target.0.clone(), event, 0).await
        }
    }
}

/// Ends one delivery to a target: hands whatever is waiting to a flush task.
struct Done<'a> {
    producer: &'a ProducerClient,
    coalescer: &'a Arc<Coalescer>,
    target: &'a Target,
}

impl Drop for Done<'_> {
    fn drop(&mut self) {
        finish(self.producer, self.coalescer, self.target);
    }
}

/// A delivery to `target` ended: if events wait, the slot goes to a task that sends them.
fn finish(producer: &ProducerClient, coalescer: &Arc<Coalescer>, target: &Target) {
    let mut queues = coalescer.lock();
    let Some(q) = queues.get_mut(target) else {
        return;
    };
    if q.waiting.is_empty() {
        q.in_flight -= 1;
        if q.in_flight == 0 {
            queues.remove(target);
        }
        return;
    }
    // The slot passes straight to the flush task (in_flight unchanged).
    drop(queues);
    let (producer, coalescer, target) = (producer.clone(), coalescer.clone(), target.clone());
    tokio::spawn(async move { flush(producer, coalescer, target).await });
}

/// Sends what waits for `target`, a batch at a time, until nothing does.
async fn flush(producer: ProducerClient, coalescer: Arc<Coalescer>, target: Target) {
    loop {
        let waiting = {
            let mut queues = coalescer.lock();
            let Some(q) = queues.get_mut(&target) else {
                return;
            };
            if q.waiting.is_empty() {
                q.in_flight -= 1;
                if q.in_flight == 0 {
                    queues.remove(&target);
                }
                return;
            }
            std::mem::take(&mut q.waiting)
        };
        send_waiting(&producer, &target, waiting).await;
    }
}

/// Sends `waiting` as few batch messages as fit the link, and tells each caller. Each
/// batch must be done by its oldest caller's enqueue time plus the operation timeout, so
/// every caller waits at most that long from joining the queue, as a direct send would.
async fn send_waiting(producer: &ProducerClient, target: &Target, waiting: Vec<Waiting>) {
    let timeout = producer.operation_timeout();
    let timed_out = || {
        Error::new(
            crate::ErrorKind::Timeout,
            format!(
                "the send to {} did not complete within {timeout:?}",
                target.0
            ),
        )
    };
    let oldest = waiting
        .first()
        .map_or_else(tokio::time::Instant::now, |w| w.since);
    let max = tokio::time::timeout_at(oldest + timeout, producer.link_max_message_size(&target.0))
        .await
        .unwrap_or_else(|_| Err(timed_out()));
    let max = match max {
        Ok(max) => max,
        Err(e) => {
            for w in waiting {
                let _ = w.caller.send(Err(e.clone()));
            }
            return;
        }
    };
    let envelope = target.1.as_deref().map(envelope);
    let mut rest = waiting.into_iter().peekable();
    while let Some(first) = rest.peek() {
        let deadline = first.since + timeout;
        let mut batch = BatchBuilder::new(envelope.as_ref(), max.min(usize::MAX as u64) as usize);
        let mut callers = Vec::new();
        while let Some(w) = rest.peek() {
            if !batch.try_add_encoded(&w.event) {
                break;
            }
            callers.push(rest.next().expect("peeked").caller);
        }
        let sending = if callers.is_empty() {
            // One event too large for a batch: it goes alone (or fails with its size).
            let w = rest.next().expect("peeked");
            callers.push(w.caller);
            tokio::time::timeout_at(
                deadline,
                producer.send_payload(target.0.clone(), w.event, 0),
            )
            .await
        } else {
            let payload = batch.finish();
            tokio::time::timeout_at(
                deadline,
                producer.send_payload(target.0.clone(), payload, BATCH_MESSAGE_FORMAT),
            )
            .await
        };
        let result = sending.unwrap_or_else(|_| {
            Err(Error::new(
                crate::ErrorKind::Timeout,
                format!(
                    "the send to {} did not complete within {timeout:?}",
                    target.0
                ),
            ))
        });
        for tx in callers {
            let _ = tx.send(result.clone());
        }
    }
}

/// A batch envelope carrying the partition key.
fn envelope(key: &str) -> Message {
    Message {
        message_annotations: Some(vec![(
            Value::Symbol(k::PARTITION_KEY.into()),
            Value::String(key.to_owned()),
        )]),
        ..Message::default()
    }
}
