//! Ingest: a producer's link. Single messages and batches (0x80013700), routed to the
//! link's partition, by partition-key hash, or round-robin; stamped and appended. In durable
//! mode a send is acknowledged once the journal has committed it.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use eventhubs_amqp::codec::DecodeError;
use eventhubs_amqp::connection::Delivery;
use eventhubs_amqp::definitions::{condition, AmqpError};
use eventhubs_amqp::delivery_state::DeliveryState;
use eventhubs_amqp::message::{RawMessage, BATCH_MESSAGE_FORMAT};
use eventhubs_amqp_io::Receiver;
use eventhubs_protocol::hash::partition_for_key;
use tokio::sync::watch;

use crate::auth::LinkAuth;
use crate::clock;
use crate::faults::Faults;
use crate::journal::Commit;
use crate::namespace::{Hub, Namespace};
use crate::{segment, stamp};

/// Serves one producer link until it closes.
pub(crate) async fn serve(
    mut rx: Receiver,
    ns: Arc<Namespace>,
    hub_index: usize,
    partition: Option<usize>,
    mut auth: LinkAuth,
) {
    let mut commits = ns.journal.as_ref().map(|j| j.subscribe());
    // Unsettled deliveries stored in the durable journal, waiting for their generation.
    let mut waiting: VecDeque<(u32, u64)> = VecDeque::new();
    let mut outcomes = Outcomes::default();
    let faults = &ns.config.faults;
    let mut events_seen = 0u64;
    let expiry = faults.link_expiry();
    tokio::pin!(expiry);
    loop {
        tokio::select! {
            d = rx.recv() => {
                let Ok(first) = d else { return };
                // Take every delivery already here: one settlement per run of them, not one
                // connection-task wake-up per delivery. Only ask for the next delivery while
                // there is room to store it in this wake-up: one taken off the channel and
                // not stored would be lost.
                let mut next = Some(first);
                let mut taken = 0;
                while let Some(d) = next.take() {
                    taken += 1;
                    let hub = &ns.hubs[hub_index];
                    events_seen += 1;
                    // The reject fault answers as a throttled namespace would: not stored.
                    let stored = if faults.rejects(events_seen) && !d.settled {
                        Err(Faults::server_busy())
                    } else {
                        store(&ns, hub, partition, &d)
                    };
                    match stored {
                        _ if d.settled => {}
                        Ok(Some(generation)) => waiting.push_back((d.delivery_id, generation)),
                        Ok(None) => outcomes.push(d.delivery_id, DeliveryState::Accepted),
                        Err(e) => {
                            tracing::info!(hub = %hub.name, error = %e, "rejecting event");
                            outcomes.push(d.delivery_id, DeliveryState::Rejected(Some(e)));
                        }
                    }
                    if taken < MAX_DELIVERIES_PER_WAKE {
                        match rx.try_recv().await {
                            Ok(found) => next = found,
                            Err(_) => return,
                        }
                    }
                }
                if outcomes.flush(&rx).await.is_err() {
                    return;
                }
            }
            commit = committed(&mut commits), if !waiting.is_empty() => {
                let Some(commit) = commit else { return };
                if settle_committed(&rx, &mut waiting, commit, &mut outcomes).await.is_err() {
                    return;
                }
            }
            () = &mut expiry => {
                tracing::info!("producer link detached by the detach_links_after fault");
                let _ = outcomes.flush(&rx).await;
                let _ = rx.close(Some(Faults::detach_forced())).await;
                return;
            }
            _ = auth.lapsed() => {
                tracing::info!("producer link detached: token expired");
                ns.links_expired.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let _ = rx.close(Some(AmqpError::new(condition::UNAUTHORIZED_ACCESS, "the token authorizing this link expired"))).await;
                return;
            }
        }
    }
}

/// Deliveries taken per wake-up before settling (bounds the latency of the first one).
const MAX_DELIVERIES_PER_WAKE: usize = 256;

/// Outcomes to send: runs of deliveries with the same state go to the connection task in
/// one command, but each gets its own disposition (first = last), as the service sends
/// them — the official Rust crate's AMQP stack (fe2o3-amqp 0.16) stalls on ranges.
#[derive(Debug, Default)]
struct Outcomes {
    runs: Vec<(Vec<u32>, DeliveryState)>,
}

impl Outcomes {
    fn push(&mut self, id: u32, state: DeliveryState) {
        match self.runs.last_mut() {
            Some((ids, s)) if *s == state => ids.push(id),
            _ => self.runs.push((vec![id], state)),
        }
    }

    async fn flush(&mut self, rx: &Receiver) -> Result<(), eventhubs_amqp_io::Error> {
        for (ids, state) in self.runs.drain(..) {
            rx.settle_each(ids, state).await?;
        }
        Ok(())
    }
}

/// The journal's next commit (`None` once the journal is gone).
async fn committed(commits: &mut Option<watch::Receiver<Commit>>) -> Option<Commit> {
    let commits = commits.as_mut()?;
    commits.changed().await.ok()?;
    let commit = *commits.borrow_and_update();
    Some(commit)
}

/// Accepts the waiting deliveries `commit` covers, or rejects all of them if the store
/// failed.
async fn settle_committed(
    rx: &Receiver,
    waiting: &mut VecDeque<(u32, u64)>,
    commit: Commit,
    outcomes: &mut Outcomes,
) -> Result<(), eventhubs_amqp_io::Error> {
    let outcome = if commit.failed {
        DeliveryState::Rejected(Some(AmqpError::new(
            condition::INTERNAL_ERROR,
            "the emulator could not write its data directory",
        )))
    } else {
        DeliveryState::Accepted
    };
    while let Some(&(id, generation)) = waiting.front() {
        if generation > commit.generation && !commit.failed {
            break;
        }
        waiting.pop_front();
        outcomes.push(id, outcome.clone());
    }
    outcomes.flush(rx).await
}

fn decode_error(e: impl std::fmt::Display) -> AmqpError {
    AmqpError::new(
        condition::DECODE_ERROR,
        format!("the message could not be decoded: {e}"),
    )
}

/// Splits a delivery into events, picks the partition, stamps and appends them. Returns
/// the journal generation to wait for in durable mode (`None`: stored and visible).
fn store(
    ns: &Namespace,
    hub: &Hub,
    partition: Option<usize>,
    d: &Delivery,
) -> Result<Option<u64>, AmqpError> {
    let (events, envelope_key): (Vec<Bytes>, Option<String>) =
        if d.message_format == BATCH_MESSAGE_FORMAT {
            let raw = RawMessage::parse(d.payload.clone()).map_err(decode_error)?;
            let key = raw
                .message_annotations()
                .map_err(decode_error)?
                .and_then(|a| stamp::partition_key(&a));
            (raw.data_sections().map_err(decode_error)?, key)
        } else {
            let key = stamp::partition_key(&stamp::annotations(&d.payload).map_err(decode_error)?);
            (vec![d.payload.clone()], key)
        };
    if events.is_empty() {
        return Ok(None);
    }
    let key = match &envelope_key {
        Some(k) => Some(k.clone()),
        None => stamp::partition_key(&stamp::annotations(&events[0]).map_err(decode_error)?),
    };
    // A partition link wins, even with a key (Python's buffered producer, docs/PROTOCOL.md §4.4).
    let index = match (partition, &key) {
        (Some(p), _) => p,
        (None, Some(k)) => partition_for_key(k, hub.partitions.len()),
        (None, None) => hub.next_round_robin(),
    };
    let p = &hub.partitions[index];
    let now = clock::now_ms();
    let mut log = p.lock();
    let first = (log.next_sequence(), log.next_offset());
    let size: usize = events.iter().map(|e| e.len() + 96).sum();
    let mut stamped =
        BytesMut::with_capacity(size + envelope_key.as_ref().map_or(0, |k| k.len() * events.len()));
    log.append_all(now, &events, |event, seq, offset, time| {
        stamp::stamp_into(
            &mut stamped,
            event,
            seq,
            offset,
            time,
            envelope_key.as_deref(),
        )?;
        Ok::<_, DecodeError>(stamped.split().freeze())
    })
    .map_err(decode_error)?;
    let generation = match &ns.journal {
        Some(journal) => {
            let generation = journal
                .stage(p.slot, first, log.next_sequence(), |records| {
                    for e in log.newest(events.len()) {
                        segment::encode_record(records, &e);
                    }
                })
                .map_err(|_| {
                    AmqpError::new(
                        condition::INTERNAL_ERROR,
                        "the emulator could not write its data directory",
                    )
                })?;
            Some(generation)
        }
        None => None,
    };
    log.trim(&ns.config.retention, now);
    let visible = if generation.is_none() {
        Some(log.publish_all())
    } else {
        None
    };
    drop(log);
    p.events_in
        .fetch_add(events.len() as u64, std::sync::atomic::Ordering::Relaxed);
    if let Some(visible) = visible {
        p.tail.send_replace(visible);
    }
    Ok(generation)
}
