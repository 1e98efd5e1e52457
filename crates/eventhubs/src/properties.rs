//! What `$management` says about an event hub and its partitions, and how the answers are
//! read (docs/PROTOCOL.md §3.3).

use std::time::{SystemTime, UNIX_EPOCH};

use eventhubs_amqp::types::Value;

use crate::error::{Error, ErrorKind};

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
        let partition_ids: Vec<String> = match field(body, "partition_ids") {
            Some(Value::Array(ids) | Value::List(ids)) => ids
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => return Err(bad_response("partition_ids")),
        };
        Ok(Self {
            name: field_str(body, "name").unwrap_or_else(|| hub.to_owned()),
            created_on: field_time(body, "created_at").unwrap_or(UNIX_EPOCH),
            partition_ids,
        })
    }
}

impl PartitionProperties {
    pub(crate) fn from_response(body: &Value, hub: &str, id: &str) -> Result<Self, Error> {
        let long = |name: &str| {
            field(body, name)
                .and_then(Value::as_i64)
                .ok_or_else(|| bad_response(name))
        };
        Ok(Self {
            eventhub_name: field_str(body, "name").unwrap_or_else(|| hub.to_owned()),
            id: id.to_owned(),
            beginning_sequence_number: long("begin_sequence_number")?,
            last_enqueued_sequence_number: long("last_enqueued_sequence_number")?,
            last_enqueued_offset: field_str(body, "last_enqueued_offset")
                .ok_or_else(|| bad_response("last_enqueued_offset"))?,
            last_enqueued_time: field_time(body, "last_enqueued_time_utc").unwrap_or(UNIX_EPOCH),
            is_empty: matches!(field(body, "is_partition_empty"), Some(Value::Bool(true))),
        })
    }
}

fn field<'a>(body: &'a Value, name: &str) -> Option<&'a Value> {
    match body {
        Value::Map(entries) => entries
            .iter()
            .find(|(k, _)| k.as_str() == Some(name))
            .map(|(_, v)| v),
        _ => None,
    }
}

fn field_str(body: &Value, name: &str) -> Option<String> {
    match field(body, name)? {
        Value::String(s) => Some(s.clone()),
        other => other.as_i64().map(|n| n.to_string()),
    }
}

fn field_time(body: &Value, name: &str) -> Option<SystemTime> {
    match field(body, name)? {
        Value::Timestamp(t) => Some(crate::event::time_from_millis(t.0)),
        _ => None,
    }
}

fn bad_response(name: &str) -> Error {
    Error::new(
        ErrorKind::Service,
        format!("the management response has no valid {name}"),
    )
}
