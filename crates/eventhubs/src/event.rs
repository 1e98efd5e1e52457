//! Events: [`EventData`] to send (data, partition key, message id, properties, content type,
//! correlation id) and [`ReceivedEventData`] with the service's system properties and the raw
//! AMQP message.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use eventhubs_amqp::codec::Encode;
use eventhubs_amqp::message::{encode_data_section, Body, Message, Properties};
use eventhubs_amqp::types::{Annotations, Value};
use eventhubs_protocol::constants as k;

use crate::error::Error;

/// The Go v3 name of [`EventData`].
pub type Event = EventData;

/// The Go v3 name of [`ReceivedEventData`].
pub type ReceivedEvent = ReceivedEventData;

/// An event to send.
///
/// ```
/// use eventhubs::EventData;
/// let event = EventData::from("hello, world!")
///     .with_partition_key("device-7")
///     .with_property("temperature", 21.5)
///     .with_content_type("text/plain");
/// assert_eq!(event.data(), b"hello, world!");
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
#[must_use = "setters return the changed value: use it"]
pub struct EventData {
    data: Bytes,
    partition_key: Option<String>,
    message_id: Option<String>,
    content_type: Option<String>,
    correlation_id: Option<String>,
    properties: Vec<(String, Value)>,
}

impl EventData {
    /// An event carrying `data`.
    #[doc(alias = "NewEvent")]
    pub fn new(data: impl Into<Bytes>) -> Self {
        Self {
            data: data.into(),
            ..Self::default()
        }
    }

    /// The body.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// The partition key (events with one key always land on the same partition).
    pub fn partition_key(&self) -> Option<&str> {
        self.partition_key.as_deref()
    }

    /// Sets the partition key.
    pub fn with_partition_key(mut self, key: impl Into<String>) -> Self {
        self.partition_key = Some(key.into());
        self
    }

    /// Sets the AMQP message-id.
    pub fn with_message_id(mut self, id: impl Into<String>) -> Self {
        self.message_id = Some(id.into());
        self
    }

    /// Sets the content type (e.g. `application/json`).
    pub fn with_content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = Some(content_type.into());
        self
    }

    /// Sets the correlation id.
    pub fn with_correlation_id(mut self, id: impl Into<String>) -> Self {
        self.correlation_id = Some(id.into());
        self
    }

    /// Adds an application property.
    pub fn with_property(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.properties.push((name.into(), value.into()));
        self
    }

    /// The application properties.
    pub fn properties(&self) -> &[(String, Value)] {
        &self.properties
    }

    /// Checks what `encode` cannot refuse: every property value must be encodable (an
    /// AMQP array holds elements of one type).
    pub(crate) fn validate(&self) -> Result<(), Error> {
        for (name, value) in &self.properties {
            value
                .validate()
                .map_err(|e| Error::invalid(format!("event property {name:?}: {e}")))?;
        }
        Ok(())
    }

    /// The AMQP message this event is sent as.
    pub(crate) fn to_message(&self) -> Message {
        let properties = (self.message_id.is_some()
            || self.content_type.is_some()
            || self.correlation_id.is_some())
        .then(|| Properties {
            message_id: self.message_id.clone().map(Value::String),
            content_type: self.content_type.clone().map(Into::into),
            correlation_id: self.correlation_id.clone().map(Value::String),
            ..Properties::default()
        });
        Message {
            message_annotations: self.partition_key.as_ref().map(|key| {
                vec![(
                    Value::Symbol(k::PARTITION_KEY.into()),
                    Value::String(key.clone()),
                )]
            }),
            properties,
            application_properties: (!self.properties.is_empty()).then(|| self.properties.clone()),
            ..Message::with_data(self.data.clone())
        }
    }

    /// Appends the encoded AMQP message to `buf`.
    pub(crate) fn encode_into(&self, buf: &mut BytesMut) {
        let plain = self.partition_key.is_none()
            && self.message_id.is_none()
            && self.content_type.is_none()
            && self.correlation_id.is_none()
            && self.properties.is_empty();
        if plain {
            // The common case: one data section, encoded without building a Message.
            encode_data_section(buf, &self.data);
        } else {
            self.to_message().encode(buf);
        }
    }

    /// The encoded AMQP message.
    pub(crate) fn encode(&self) -> Bytes {
        let mut buf = BytesMut::with_capacity(self.data.len() + 16);
        self.encode_into(&mut buf);
        buf.freeze()
    }
}

impl From<&str> for EventData {
    fn from(s: &str) -> Self {
        Self::new(Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl From<String> for EventData {
    fn from(s: String) -> Self {
        Self::new(Bytes::from(s))
    }
}

impl From<Vec<u8>> for EventData {
    fn from(v: Vec<u8>) -> Self {
        Self::new(Bytes::from(v))
    }
}

impl From<Bytes> for EventData {
    fn from(b: Bytes) -> Self {
        Self::new(b)
    }
}

/// The partition's last enqueued event when the event was delivered (runtime metric).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastEnqueued {
    /// Sequence number of the last event in the partition.
    pub sequence_number: i64,
    /// Its offset.
    pub offset: String,
    /// When it was enqueued.
    pub enqueued_time: SystemTime,
}

/// Where received events come from: shared by all the events of one receiver (so that
/// an event carries no copy of its partition's name).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Origin {
    pub namespace: String,
    pub eventhub: String,
    pub consumer_group: String,
    pub partition_id: String,
}

/// An event received from a partition. Cloning it is cheap (it shares one allocation), so
/// it can go to many handlers or tasks.
#[derive(Clone)]
pub struct ReceivedEventData {
    // One pointer: an event moves through channels, buffers and handler futures several
    // times on its way, and the decoded message is large.
    fields: std::sync::Arc<Fields>,
}

/// What a received event holds.
#[derive(Debug)]
struct Fields {
    origin: std::sync::Arc<Origin>,
    raw: Bytes,
    message: Message,
    /// The body as bytes (see `data`), computed once.
    data: Bytes,
    sequence_number: i64,
    offset: String,
    enqueued_time: SystemTime,
    partition_key: Option<String>,
    last_enqueued: Option<LastEnqueued>,
}

impl std::fmt::Debug for ReceivedEventData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let e = &self.fields;
        f.debug_struct("ReceivedEventData")
            .field("partition_id", &e.origin.partition_id)
            .field("sequence_number", &e.sequence_number)
            .field("offset", &e.offset)
            .field("enqueued_time", &e.enqueued_time)
            .field("partition_key", &e.partition_key)
            .field("message", &e.message)
            .field("last_enqueued", &e.last_enqueued)
            .finish_non_exhaustive()
    }
}

/// The bytes `ReceivedEventData::data` returns for `body`.
fn body_bytes(body: &Body) -> Bytes {
    match body {
        Body::Data(sections) if sections.len() == 1 => sections[0].clone(),
        Body::Data(sections) => {
            let mut joined = BytesMut::with_capacity(sections.iter().map(Bytes::len).sum());
            for section in sections {
                joined.extend_from_slice(section);
            }
            joined.freeze()
        }
        Body::Value(Value::Binary(b)) => b.clone(),
        Body::Value(Value::String(s)) => Bytes::copy_from_slice(s.as_bytes()),
        _ => Bytes::new(),
    }
}

fn annotation<'a>(annotations: &'a Annotations, key: &str) -> Option<&'a Value> {
    annotations
        .iter()
        .find(|(name, _)| name.as_str() == Some(key))
        .map(|(_, v)| v)
}

/// A Unix time in milliseconds (negative before 1970, like the service's year-1 sentinel).
pub(crate) fn time_from_millis(ms: i64) -> SystemTime {
    if ms >= 0 {
        UNIX_EPOCH + Duration::from_millis(ms as u64)
    } else {
        UNIX_EPOCH - Duration::from_millis(ms.unsigned_abs())
    }
}

fn time_of(v: Option<&Value>) -> Option<SystemTime> {
    let ms = match v? {
        Value::Timestamp(t) => t.0,
        other => other.as_i64()?,
    };
    Some(time_from_millis(ms))
}

fn offset_of(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        other => other.as_i64().map(|n| n.to_string()),
    }
}

impl ReceivedEventData {
    /// Decodes a delivery read from `origin`.
    pub(crate) fn decode(raw: Bytes, origin: &std::sync::Arc<Origin>) -> Result<Self, Error> {
        let partition_id = origin.partition_id.as_str();
        let message = Message::decode(&raw).map_err(|e| {
            Error::new(
                crate::ErrorKind::Service,
                format!("an event from partition {partition_id} could not be decoded: {e}"),
            )
        })?;
        let empty = Annotations::new();
        let ann = message.message_annotations.as_ref().unwrap_or(&empty);
        let missing = |what: &str| {
            Error::new(
                crate::ErrorKind::Service,
                format!("an event from partition {partition_id} has no {what}"),
            )
        };
        let sequence_number = annotation(ann, k::SEQUENCE_NUMBER)
            .and_then(Value::as_i64)
            .ok_or_else(|| missing(k::SEQUENCE_NUMBER))?;
        let offset = offset_of(annotation(ann, k::OFFSET)).ok_or_else(|| missing(k::OFFSET))?;
        let enqueued_time =
            time_of(annotation(ann, k::ENQUEUED_TIME)).ok_or_else(|| missing(k::ENQUEUED_TIME))?;
        let partition_key = annotation(ann, k::PARTITION_KEY)
            .and_then(Value::as_str)
            .map(str::to_owned);
        let last_enqueued = message.delivery_annotations.as_ref().and_then(|da| {
            Some(LastEnqueued {
                sequence_number: annotation(da, k::LAST_ENQUEUED_SEQUENCE_NUMBER)?.as_i64()?,
                offset: offset_of(annotation(da, k::LAST_ENQUEUED_OFFSET))?,
                enqueued_time: time_of(annotation(da, k::LAST_ENQUEUED_TIME_UTC))?,
            })
        });
        let data = body_bytes(&message.body);
        Ok(Self {
            fields: std::sync::Arc::new(Fields {
                origin: origin.clone(),
                raw,
                data,
                message,
                sequence_number,
                offset,
                enqueued_time,
                partition_key,
                last_enqueued,
            }),
        })
    }

    /// The namespace, hub and consumer group it was read from.
    pub(crate) fn origin(&self) -> &Origin {
        &self.fields.origin
    }

    /// The body as bytes: its data sections joined (one section, the norm, is not copied),
    /// or the bytes of an `amqp-value` body that holds binary or a string. Any other body
    /// (an `amqp-sequence`, an `amqp-value` of another type) gives no bytes: read it with
    /// [`body`](Self::body).
    #[doc(alias = "Data")]
    pub fn data(&self) -> &[u8] {
        &self.fields.data
    }

    /// The AMQP body as sent: data sections, `amqp-value` or `amqp-sequence` (the other
    /// SDKs can send all three).
    pub fn body(&self) -> &Body {
        &self.fields.message.body
    }

    /// The body as text, if it is UTF-8.
    pub fn data_as_str(&self) -> Option<&str> {
        std::str::from_utf8(self.data()).ok()
    }

    /// The partition it came from.
    pub fn partition_id(&self) -> &str {
        &self.fields.origin.partition_id
    }

    /// Sequence number in the partition.
    pub fn sequence_number(&self) -> i64 {
        self.fields.sequence_number
    }

    /// Offset in the partition (an opaque string; decimal today).
    pub fn offset(&self) -> &str {
        &self.fields.offset
    }

    /// When the service enqueued it.
    pub fn enqueued_time(&self) -> SystemTime {
        self.fields.enqueued_time
    }

    /// The partition key it was sent with.
    pub fn partition_key(&self) -> Option<&str> {
        self.fields.partition_key.as_deref()
    }

    /// Application properties.
    pub fn properties(&self) -> &[(String, Value)] {
        self.fields
            .message
            .application_properties
            .as_deref()
            .unwrap_or(&[])
    }

    /// One application property by name.
    pub fn property(&self, name: &str) -> Option<&Value> {
        self.properties()
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
    }

    /// The AMQP message-id, as text when it is a string.
    pub fn message_id(&self) -> Option<&Value> {
        self.fields.message.properties.as_ref()?.message_id.as_ref()
    }

    /// The content type.
    pub fn content_type(&self) -> Option<&str> {
        self.fields
            .message
            .properties
            .as_ref()?
            .content_type
            .as_ref()
            .map(|s| s.as_str())
    }

    /// The correlation id.
    pub fn correlation_id(&self) -> Option<&Value> {
        self.fields
            .message
            .properties
            .as_ref()?
            .correlation_id
            .as_ref()
    }

    /// Every message annotation: the service's `x-opt-*` system properties and any
    /// others.
    pub fn system_properties(&self) -> &[(Value, Value)] {
        self.fields
            .message
            .message_annotations
            .as_deref()
            .unwrap_or(&[])
    }

    /// The partition's last enqueued event, when the receiver asked for runtime metrics.
    pub fn last_enqueued(&self) -> Option<&LastEnqueued> {
        self.fields.last_enqueued.as_ref()
    }

    /// The decoded AMQP message.
    pub fn message(&self) -> &Message {
        &self.fields.message
    }

    /// The AMQP message exactly as received.
    pub fn raw_amqp_message(&self) -> &Bytes {
        &self.fields.raw
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eventhubs_amqp::types::Timestamp;

    /// An event's fields survive encoding and the service's stamping.
    #[test]
    fn round_trip_through_the_wire_form() {
        let e = EventData::from("hi")
            .with_partition_key("pk")
            .with_message_id("m-1")
            .with_content_type("text/plain")
            .with_correlation_id("c-1")
            .with_property("n", 7i32);
        let mut m = Message::decode(&e.encode()).unwrap();
        m.message_annotations.get_or_insert_with(Vec::new).extend([
            (Value::Symbol(k::SEQUENCE_NUMBER.into()), Value::Long(3)),
            (Value::Symbol(k::OFFSET.into()), Value::from("300")),
            (
                Value::Symbol(k::ENQUEUED_TIME.into()),
                Value::Timestamp(Timestamp(1_700_000_000_000)),
            ),
        ]);
        let origin = std::sync::Arc::new(Origin {
            partition_id: "2".into(),
            ..Origin::default()
        });
        let r = ReceivedEventData::decode(m.to_bytes(), &origin).unwrap();
        assert_eq!(r.data_as_str(), Some("hi"));
        assert_eq!(r.partition_key(), Some("pk"));
        assert_eq!((r.sequence_number(), r.offset()), (3, "300"));
        assert_eq!(
            r.enqueued_time(),
            UNIX_EPOCH + Duration::from_millis(1_700_000_000_000)
        );
        assert_eq!(r.message_id(), Some(&Value::from("m-1")));
        assert_eq!(r.content_type(), Some("text/plain"));
        assert_eq!(r.correlation_id(), Some(&Value::from("c-1")));
        assert_eq!(r.property("n"), Some(&Value::Int(7)));
        assert_eq!(r.partition_id(), "2");
        assert!(
            ReceivedEventData::decode(EventData::from("x").encode(), &Default::default()).is_err()
        );
    }
}
