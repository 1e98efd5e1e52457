//! What `$management` says about an event hub and its partitions, and how the answers are
//! read (docs/PROTOCOL.md §3.3).

use std::time::{SystemTime, UNIX_EPOCH};

use eventhubs_amqp::types::Value;
use eventhubs_protocol::management::{EventHubInfo, PartitionInfo};
use eventhubs_protocol::response::MalformedMessage;

use crate::error::{Error, ErrorKind};
use crate::event::time_from_millis;

/// An event hub's properties.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EventHubProperties {
    /// The hub's name.
    pub name: String,
    /// When it was created.
    pub created_on: SystemTime,
    /// Its partition ids, in order.
    pub partition_ids: Vec<String>,
}

/// A partition's properties.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PartitionProperties {
    /// The hub's name.
    pub eventhub_name: String,
    /// The partition's id.
    pub id: String,
    /// Sequence number of the first retained event (−1 when nothing was ever stored).
    pub beginning_sequence_number: i64,
    /// Sequence number of the last enqueued event (−1 when none).
    pub last_enqueued_sequence_number: i64,
    /// Offset of the last enqueued event (opaque; `"-1"` when none).
    pub last_enqueued_offset: String,
    /// When the last event was enqueued (the Unix epoch when none).
    pub last_enqueued_time: SystemTime,
    /// No event is retained.
    pub is_empty: bool,
}

impl EventHubProperties {
    pub(crate) fn from_response(body: &Value, hub: &str) -> Result<Self, Error> {
        let info = EventHubInfo::from_value(body).map_err(bad_response)?;
        Ok(Self {
            name: if info.name.is_empty() {
                hub.to_owned()
            } else {
                info.name
            },
            created_on: info.created_at_ms.map_or(UNIX_EPOCH, time_from_millis),
            partition_ids: info.partition_ids,
        })
    }
}

impl PartitionProperties {
    pub(crate) fn from_response(body: &Value, hub: &str, id: &str) -> Result<Self, Error> {
        let info = PartitionInfo::from_value(body).map_err(bad_response)?;
        Ok(Self {
            eventhub_name: if info.hub.is_empty() {
                hub.to_owned()
            } else {
                info.hub
            },
            id: id.to_owned(),
            beginning_sequence_number: info.begin_sequence_number,
            last_enqueued_sequence_number: info.last_enqueued_sequence_number,
            last_enqueued_offset: info.last_enqueued_offset,
            last_enqueued_time: info
                .last_enqueued_time_ms
                .map_or(UNIX_EPOCH, time_from_millis),
            is_empty: info.is_empty,
        })
    }
}

fn bad_response(e: MalformedMessage) -> Error {
    Error::new(ErrorKind::Service, e.0)
}
