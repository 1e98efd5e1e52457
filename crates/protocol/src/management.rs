//! The `$management` READ requests and their answers (docs/PROTOCOL.md §3.3): an event
//! hub's partitions, and a partition's sequence numbers, last offset and time.

use eventhubs_amqp::message::Message;
use eventhubs_amqp::types::{Timestamp, Value};

use crate::constants as k;
use crate::response::{string_property, MalformedMessage, RequestParts};

/// The node management requests go to.
pub const MANAGEMENT_NODE: &str = "$management";

/// A READ of a hub's properties, or of one of its partitions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadRequest {
    /// The event hub.
    pub hub: String,
    /// The partition, or `None` for the hub itself.
    pub partition: Option<String>,
}

impl ReadRequest {
    /// The request's properties and (null) body.
    pub fn into_parts(self) -> RequestParts {
        let mut properties = vec![
            (k::OPERATION.to_owned(), Value::from(k::READ)),
            (k::NAME.to_owned(), Value::from(self.hub)),
        ];
        match self.partition {
            Some(p) => {
                properties.push((k::TYPE.to_owned(), Value::from(k::PARTITION_TYPE)));
                properties.push((k::PARTITION.to_owned(), Value::from(p)));
            }
            None => properties.push((k::TYPE.to_owned(), Value::from(k::EVENTHUB_TYPE))),
        }
        RequestParts {
            properties,
            body: Value::Null,
        }
    }

    /// Reads a request (the emulator's side).
    pub fn from_message(message: &Message) -> Result<Self, MalformedMessage> {
        let operation = string_property(message, k::OPERATION).unwrap_or_default();
        if operation != k::READ {
            return Err(MalformedMessage(format!(
                "unsupported {MANAGEMENT_NODE} operation {operation:?} (only {} is)",
                k::READ
            )));
        }
        let hub = string_property(message, k::NAME)
            .unwrap_or_default()
            .to_owned();
        let partition = match string_property(message, k::TYPE) {
            Some(k::EVENTHUB_TYPE) => None,
            Some(k::PARTITION_TYPE) => Some(
                string_property(message, k::PARTITION)
                    .unwrap_or_default()
                    .to_owned(),
            ),
            other => {
                return Err(MalformedMessage(format!(
                    "unsupported {MANAGEMENT_NODE} type {other:?}"
                )))
            }
        };
        Ok(Self { hub, partition })
    }
}

/// What a hub READ answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventHubInfo {
    /// The hub's name.
    pub name: String,
    /// When it was created, Unix milliseconds.
    pub created_at_ms: Option<i64>,
    /// Its partition ids, in order.
    pub partition_ids: Vec<String>,
}

impl EventHubInfo {
    /// The response body.
    pub fn to_value(&self) -> Value {
        let ids = self
            .partition_ids
            .iter()
            .map(|id| Value::from(id.as_str()))
            .collect();
        Value::Map(vec![
            entry("name", Value::from(self.name.as_str())),
            entry("type", Value::from(k::EVENTHUB_TYPE)),
            entry(
                "created_at",
                Value::Timestamp(Timestamp(self.created_at_ms.unwrap_or(0))),
            ),
            entry(
                "partition_count",
                Value::Int(self.partition_ids.len() as i32),
            ),
            entry("partition_ids", Value::Array(ids)),
            entry("georeplication_factor", Value::Int(1)),
        ])
    }

    /// Reads a response body (ids as an array or a list, as peers differ).
    pub fn from_value(body: &Value) -> Result<Self, MalformedMessage> {
        let partition_ids = match field(body, "partition_ids") {
            Some(Value::Array(ids) | Value::List(ids)) => ids
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => return Err(missing("partition_ids")),
        };
        Ok(Self {
            name: field_text(body, "name").unwrap_or_default(),
            created_at_ms: field_millis(body, "created_at"),
            partition_ids,
        })
    }
}

/// What a partition READ answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionInfo {
    /// The hub's name.
    pub hub: String,
    /// The partition's id.
    pub partition: String,
    /// Sequence number of the first retained event (−1 when none was ever stored).
    pub begin_sequence_number: i64,
    /// Sequence number of the last enqueued event (−1 when none).
    pub last_enqueued_sequence_number: i64,
    /// Offset of the last enqueued event (opaque text; `"-1"` when none).
    pub last_enqueued_offset: String,
    /// When the last event was enqueued, Unix milliseconds (the year-1 sentinel when none).
    pub last_enqueued_time_ms: Option<i64>,
    /// No event is retained.
    pub is_empty: bool,
    /// When the service read these figures, Unix milliseconds.
    pub retrieval_time_ms: Option<i64>,
}

impl PartitionInfo {
    /// The response body, with the fields the service sends.
    pub fn to_value(&self) -> Value {
        let time = self.last_enqueued_time_ms.unwrap_or(k::YEAR_ONE_MILLIS);
        let mut map = vec![
            entry("name", Value::from(self.hub.as_str())),
            entry("type", Value::from(k::PARTITION_TYPE)),
            entry("partition", Value::from(self.partition.as_str())),
            entry(
                "begin_sequence_number",
                Value::Long(self.begin_sequence_number),
            ),
            entry(
                "last_enqueued_sequence_number",
                Value::Long(self.last_enqueued_sequence_number),
            ),
            entry(
                "last_enqueued_offset",
                Value::from(self.last_enqueued_offset.as_str()),
            ),
            entry("last_enqueued_time_utc", Value::Timestamp(Timestamp(time))),
            entry("is_partition_empty", Value::Bool(self.is_empty)),
            entry("begin_sequence_number_epoch", Value::Int(0)),
            entry("last_enqueued_sequence_number_epoch", Value::Int(0)),
            entry("last_enqueued_replicationgroupepoch", Value::Int(0)),
        ];
        if let Some(ms) = self.retrieval_time_ms {
            map.push(entry(
                k::RUNTIME_INFO_RETRIEVAL_TIME_UTC,
                Value::Timestamp(Timestamp(ms)),
            ));
        }
        Value::Map(map)
    }

    /// Reads a response body (offsets as text or a number, as peers differ).
    pub fn from_value(body: &Value) -> Result<Self, MalformedMessage> {
        let long = |name: &str| {
            field(body, name)
                .and_then(Value::as_i64)
                .ok_or_else(|| missing(name))
        };
        Ok(Self {
            hub: field_text(body, "name").unwrap_or_default(),
            partition: field_text(body, "partition").unwrap_or_default(),
            begin_sequence_number: long("begin_sequence_number")?,
            last_enqueued_sequence_number: long("last_enqueued_sequence_number")?,
            last_enqueued_offset: field_text(body, "last_enqueued_offset")
                .ok_or_else(|| missing("last_enqueued_offset"))?,
            last_enqueued_time_ms: field_millis(body, "last_enqueued_time_utc"),
            is_empty: matches!(field(body, "is_partition_empty"), Some(Value::Bool(true))),
            retrieval_time_ms: field_millis(body, k::RUNTIME_INFO_RETRIEVAL_TIME_UTC),
        })
    }
}

fn entry(key: &str, v: Value) -> (Value, Value) {
    (Value::from(key), v)
}

fn field<'a>(body: &'a Value, name: &str) -> Option<&'a Value> {
    match body {
        Value::Map(entries) => entries
            .iter()
            .find(|(key, _)| key.as_str() == Some(name))
            .map(|(_, v)| v),
        _ => None,
    }
}

fn field_text(body: &Value, name: &str) -> Option<String> {
    match field(body, name)? {
        Value::String(s) => Some(s.clone()),
        other => other.as_i64().map(|n| n.to_string()),
    }
}

fn field_millis(body: &Value, name: &str) -> Option<i64> {
    match field(body, name)? {
        Value::Timestamp(t) => Some(t.0),
        _ => None,
    }
}

fn missing(name: &str) -> MalformedMessage {
    MalformedMessage(format!("the management response has no valid {name}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::response::Response;
    use eventhubs_amqp::message::{Body, Properties};

    /// A request read back is the request sent; an answer read back is the answer sent.
    #[test]
    fn round_trips() {
        for partition in [None, Some("3".to_owned())] {
            let sent = ReadRequest {
                hub: "eh1".into(),
                partition,
            };
            let parts = sent.clone().into_parts();
            let message = Message {
                application_properties: Some(parts.properties),
                body: Body::Value(parts.body),
                ..Message::default()
            };
            assert_eq!(ReadRequest::from_message(&message), Ok(sent));
        }
        let hub = EventHubInfo {
            name: "eh1".into(),
            created_at_ms: Some(1_700_000_000_000),
            partition_ids: vec!["0".into(), "1".into()],
        };
        assert_eq!(EventHubInfo::from_value(&hub.to_value()), Ok(hub));
        let partition = PartitionInfo {
            hub: "eh1".into(),
            partition: "1".into(),
            begin_sequence_number: 0,
            last_enqueued_sequence_number: 9,
            last_enqueued_offset: "900".into(),
            last_enqueued_time_ms: Some(1_700_000_000_000),
            is_empty: false,
            retrieval_time_ms: Some(1_700_000_000_001),
        };
        assert_eq!(
            PartitionInfo::from_value(&partition.to_value()),
            Ok(partition)
        );

        // The response envelope keeps the message-id's type as the correlation-id.
        let request = Message {
            properties: Some(Properties {
                message_id: Some(Value::Ulong(7)),
                ..Properties::default()
            }),
            ..Message::default()
        };
        let reply = Response::error(404, "amqp:not-found", "no such hub").to_message(&request);
        assert_eq!(
            reply.properties.as_ref().unwrap().correlation_id,
            Some(Value::Ulong(7))
        );
        let back = Response::from_message(reply).unwrap();
        assert_eq!(back.status, 404);
        assert_eq!(back.condition.as_deref(), Some("amqp:not-found"));
        assert!(!back.is_success());
    }
}
