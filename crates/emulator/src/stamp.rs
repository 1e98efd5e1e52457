//! Stamping an incoming event with the service annotations (PROTOCOL.md §5.4): sequence
//! number, offset, enqueued time, and the partition key when the sender supplied one.
//! Only the message-annotations section is rewritten; every other section is copied as
//! the publisher encoded it.

use bytes::{Bytes, BytesMut};
use eventhubs_amqp::codec::{DecodeError, Encode};
use eventhubs_amqp::descriptors;
use eventhubs_amqp::message::RawMessage;
use eventhubs_amqp::types::{Annotations, Described, Timestamp, Value};
use eventhubs_protocol::constants as k;

/// The message annotations of an encoded message, if any.
pub(crate) fn annotations(msg: &Bytes) -> Result<Annotations, DecodeError> {
    Ok(RawMessage::parse(msg.clone())?
        .message_annotations()?
        .unwrap_or_default())
}

/// The string partition key in a set of annotations.
pub(crate) fn partition_key(annotations: &Annotations) -> Option<String> {
    annotations.iter().find_map(|(key, v)| match (key, v) {
        (Value::Symbol(s), Value::String(p)) if s.as_str() == k::PARTITION_KEY => Some(p.clone()),
        _ => None,
    })
}

/// Returns `msg` with the service annotations set.
pub(crate) fn stamp(
    msg: &Bytes,
    seq: i64,
    offset: i64,
    enqueued_ms: i64,
    key: Option<&str>,
) -> Result<Bytes, DecodeError> {
    let raw = RawMessage::parse(msg.clone())?;
    let mut ann = raw.message_annotations()?.unwrap_or_default();
    ann.retain(|(key, _)| {
        !matches!(
            key.as_str(),
            Some(k::SEQUENCE_NUMBER | k::OFFSET | k::ENQUEUED_TIME)
        )
    });
    if let Some(key) = key {
        if partition_key(&ann).is_none() {
            ann.push((
                Value::Symbol(k::PARTITION_KEY.into()),
                Value::String(key.to_owned()),
            ));
        }
    }
    ann.push((Value::Symbol(k::SEQUENCE_NUMBER.into()), Value::Long(seq)));
    ann.push((
        Value::Symbol(k::OFFSET.into()),
        Value::String(offset.to_string()),
    ));
    ann.push((
        Value::Symbol(k::ENQUEUED_TIME.into()),
        Value::Timestamp(Timestamp(enqueued_ms)),
    ));
    let (mut head_end, mut tail_start) = (0, msg.len());
    for (code, range) in raw.section_ranges() {
        if code < descriptors::MESSAGE_ANNOTATIONS {
            head_end = range.end;
        } else if code > descriptors::MESSAGE_ANNOTATIONS {
            tail_start = range.start;
            break;
        }
    }
    let mut out = BytesMut::with_capacity(msg.len() + 96);
    out.extend_from_slice(&msg[..head_end]);
    section(descriptors::MESSAGE_ANNOTATIONS, Value::Map(ann)).encode(&mut out);
    out.extend_from_slice(&msg[tail_start..]);
    Ok(out.freeze())
}

/// Prepends runtime-metric delivery annotations (after a header section, if present).
pub(crate) fn with_delivery_annotations(
    msg: &Bytes,
    annotations: Annotations,
) -> Result<Bytes, DecodeError> {
    let raw = RawMessage::parse(msg.clone())?;
    let at = raw
        .section_ranges()
        .find(|(code, _)| *code == descriptors::HEADER)
        .map_or(0, |(_, r)| r.end);
    let mut out = BytesMut::with_capacity(msg.len() + 128);
    out.extend_from_slice(&msg[..at]);
    section(descriptors::DELIVERY_ANNOTATIONS, Value::Map(annotations)).encode(&mut out);
    out.extend_from_slice(&msg[at..]);
    Ok(out.freeze())
}

fn section(descriptor: u64, value: Value) -> Value {
    Value::Described(Box::new(Described {
        descriptor: Value::Ulong(descriptor),
        value,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use eventhubs_amqp::message::{Header, Message, Properties};

    /// Stamping keeps every other section byte for byte and replaces stale annotations.
    #[test]
    fn stamps_and_preserves() {
        let m = Message {
            header: Some(Header::default()),
            message_annotations: Some(vec![
                (Value::Symbol("custom".into()), Value::Int(1)),
                (Value::Symbol(k::SEQUENCE_NUMBER.into()), Value::Long(99)),
            ]),
            properties: Some(Properties {
                message_id: Some(Value::from("m1")),
                ..Properties::default()
            }),
            ..Message::with_data(Bytes::from_static(b"body"))
        };
        let out = stamp(&m.to_bytes(), 7, 700, 1234, Some("pk")).unwrap();
        let back = Message::decode(&out).unwrap();
        assert_eq!(back.header, m.header);
        assert_eq!(back.properties, m.properties);
        assert_eq!(back.body, m.body);
        let ann = back.message_annotations.unwrap();
        let get = |name: &str| {
            ann.iter()
                .find(|(key, _)| key.as_str() == Some(name))
                .map(|(_, v)| v.clone())
        };
        assert_eq!(get("custom"), Some(Value::Int(1)));
        assert_eq!(get(k::SEQUENCE_NUMBER), Some(Value::Long(7)));
        assert_eq!(get(k::OFFSET), Some(Value::from("700")));
        assert_eq!(
            get(k::ENQUEUED_TIME),
            Some(Value::Timestamp(Timestamp(1234)))
        );
        assert_eq!(get(k::PARTITION_KEY), Some(Value::from("pk")));
        let with_da =
            with_delivery_annotations(&out, vec![(Value::Symbol("x".into()), Value::Long(1))])
                .unwrap();
        let back = Message::decode(&with_da).unwrap();
        assert_eq!(back.delivery_annotations.unwrap().len(), 1);
        assert_eq!(back.header, m.header);
    }
}
