//! Ingest: a producer's link. Single messages and batches (0x80013700), routed to the
//! link's partition, by partition-key hash, or round-robin; stamped and appended.

use bytes::Bytes;
use eventhubs_amqp::connection::Delivery;
use eventhubs_amqp::definitions::{condition, AmqpError};
use eventhubs_amqp::delivery_state::DeliveryState;
use eventhubs_amqp::message::{RawMessage, BATCH_MESSAGE_FORMAT};
use eventhubs_amqp_io::Receiver;
use eventhubs_protocol::hash::partition_for_key;

use crate::auth::LinkAuth;
use crate::clock;
use crate::namespace::{Hub, Namespace};
use crate::stamp;

/// Serves one producer link until it closes.
pub(crate) async fn serve(
    mut rx: Receiver,
    ns: std::sync::Arc<Namespace>,
    hub_index: usize,
    partition: Option<usize>,
    mut auth: LinkAuth,
) {
    loop {
        let d = tokio::select! {
            d = rx.recv() => match d {
                Ok(d) => d,
                Err(_) => return,
            },
            _ = auth.lapsed() => {
                tracing::info!("producer link detached: token expired");
                let _ = rx.close(Some(AmqpError::new(condition::UNAUTHORIZED_ACCESS, "the token authorizing this link expired"))).await;
                return;
            }
        };
        let hub = &ns.hubs[hub_index];
        let outcome = match store(&ns, hub, partition, &d) {
            Ok(()) => DeliveryState::Accepted,
            Err(e) => {
                tracing::info!(hub = %hub.name, error = %e, "rejecting event");
                DeliveryState::Rejected(Some(e))
            }
        };
        if !d.settled
            && rx
                .settle(d.delivery_id, d.delivery_id, outcome)
                .await
                .is_err()
        {
            return;
        }
    }
}

fn decode_error(e: impl std::fmt::Display) -> AmqpError {
    AmqpError::new(
        condition::DECODE_ERROR,
        format!("the message could not be decoded: {e}"),
    )
}

/// Splits a delivery into events, picks the partition, stamps and appends them.
fn store(
    ns: &Namespace,
    hub: &Hub,
    partition: Option<usize>,
    d: &Delivery,
) -> Result<(), AmqpError> {
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
        return Ok(());
    }
    let key = match &envelope_key {
        Some(k) => Some(k.clone()),
        None => stamp::partition_key(&stamp::annotations(&events[0]).map_err(decode_error)?),
    };
    // A partition link wins, even with a key (Python's buffered producer, PROTOCOL.md §4.4).
    let index = match (partition, &key) {
        (Some(p), _) => p,
        (None, Some(k)) => partition_for_key(k, hub.partitions.len()),
        (None, None) => hub.next_round_robin(),
    };
    let p = &hub.partitions[index];
    let now = clock::now_ms();
    let next = {
        let mut log = p.lock();
        for event in &events {
            log.append(now, |seq, offset, time| {
                stamp::stamp(event, seq, offset, time, envelope_key.as_deref())
            })
            .map_err(decode_error)?;
        }
        log.trim(&ns.config.retention, now);
        log.next_sequence()
    };
    p.events_in
        .fetch_add(events.len() as u64, std::sync::atomic::Ordering::Relaxed);
    p.tail.send_replace(next);
    Ok(())
}
