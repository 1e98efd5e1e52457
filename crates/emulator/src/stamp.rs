//! Stamping an incoming event with the service annotations (docs/PROTOCOL.md §5.4): sequence
//! number, offset, enqueued time, and the partition key when the sender supplied one.
//! Only the message-annotations section is rewritten; every other section is copied as
//! the publisher encoded it.

use bytes::{Bytes, BytesMut};
use eventhubs_amqp::codec::{DecodeError, Encode};
use eventhubs_amqp::descriptors;
use eventhubs_amqp::message::{RawMessage, Sections};
use eventhubs_amqp::types::{Annotations, Described, Timestamp, Value};
use eventhubs_protocol::constants as k;

/// The message annotations of an encoded message (empty, without allocating, when none).
pub(crate) fn annotations(msg: &Bytes) -> Result<Annotations, DecodeError> {
    for section in Sections::new(msg) {
        let (code, _, _) = section?;
        if code == descriptors::MESSAGE_ANNOTATIONS {
            return Ok(RawMessage::parse(msg.clone())?
                .message_annotations()?
                .unwrap_or_default());
        }
        if code > descriptors::MESSAGE_ANNOTATIONS {
            break;
        }
    }
    Ok(Annotations::new())
}

/// The string partition key in a set of annotations.
pub(crate) fn partition_key(annotations: &Annotations) -> Option<String> {
    annotations.iter().find_map(|(key, v)| match (key, v) {
        (Value::Symbol(s), Value::String(p)) if s.as_str() == k::PARTITION_KEY => Some(p.clone()),
        _ => None,
    })
}

/// Returns `msg` with the service annotations set.
#[cfg(test)]
pub(crate) fn stamp(
    msg: &Bytes,
    seq: i64,
    offset: i64,
    enqueued_ms: i64,
    key: Option<&str>,
) -> Result<Bytes, DecodeError> {
    let mut out = BytesMut::new();
    stamp_into(&mut out, msg, seq, offset, enqueued_ms, key)?;
    Ok(out.freeze())
}

/// Appends `msg` with the service annotations set to `out`. Stamping a batch into one
/// buffer and splitting it (`BytesMut::split`) costs one allocation per batch, not one
/// per event.
pub(crate) fn stamp_into(
    out: &mut BytesMut,
    msg: &Bytes,
    seq: i64,
    offset: i64,
    enqueued_ms: i64,
    key: Option<&str>,
) -> Result<(), DecodeError> {
    let (mut head_end, mut tail_start, mut existing) = (0, msg.len(), false);
    for section in Sections::new(msg) {
        let (code, range, _) = section?;
        if code < descriptors::MESSAGE_ANNOTATIONS {
            head_end = range.end;
        } else if code == descriptors::MESSAGE_ANNOTATIONS {
            existing = true;
        } else {
            tail_start = range.start;
            break;
        }
    }
    out.reserve(msg.len() + 96 + key.map_or(0, str::len));
    out.extend_from_slice(&msg[..head_end]);
    if existing {
        // The publisher's own annotations: merge through the value model (SDKs send few).
        let publisher = RawMessage::parse(msg.clone())?.message_annotations()?;
        let ann = merged(publisher.unwrap_or_default(), seq, offset, enqueued_ms, key);
        section(descriptors::MESSAGE_ANNOTATIONS, Value::Map(ann)).encode(out);
    } else {
        write_service_annotations(out, seq, offset, enqueued_ms, key);
    }
    out.extend_from_slice(&msg[tail_start..]);
    Ok(())
}

/// `ann` without stale service annotations, plus ours.
fn merged(
    mut ann: Annotations,
    seq: i64,
    offset: i64,
    enqueued_ms: i64,
    key: Option<&str>,
) -> Annotations {
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
    ann
}

/// Writes a message-annotations section holding only the service annotations, encoded
/// directly (the common case: publishers rarely annotate events themselves).
fn write_service_annotations(
    out: &mut BytesMut,
    seq: i64,
    offset: i64,
    enqueued_ms: i64,
    key: Option<&str>,
) {
    let mut entries = Vec::with_capacity(128);
    let mut count = 6u32;
    if let Some(key) = key {
        put_symbol(&mut entries, k::PARTITION_KEY);
        put_string(&mut entries, key);
        count += 2;
    }
    put_symbol(&mut entries, k::SEQUENCE_NUMBER);
    entries.push(0x81);
    entries.extend_from_slice(&seq.to_be_bytes());
    put_symbol(&mut entries, k::OFFSET);
    put_string(&mut entries, itoa(offset, &mut [0u8; 20]));
    put_symbol(&mut entries, k::ENQUEUED_TIME);
    entries.push(0x83);
    entries.extend_from_slice(&enqueued_ms.to_be_bytes());
    // Section descriptor: 0x00, smallulong, message-annotations.
    out.extend_from_slice(&[0x00, 0x53, descriptors::MESSAGE_ANNOTATIONS as u8]);
    if entries.len() < 255 {
        out.extend_from_slice(&[0xc1, entries.len() as u8 + 1, count as u8]);
    } else {
        out.extend_from_slice(&[0xd1]);
        out.extend_from_slice(&(entries.len() as u32 + 4).to_be_bytes());
        out.extend_from_slice(&count.to_be_bytes());
    }
    out.extend_from_slice(&entries);
}

/// Service annotation keys are short ASCII symbols.
fn put_symbol(out: &mut Vec<u8>, s: &str) {
    out.push(0xa3);
    out.push(s.len() as u8);
    out.extend_from_slice(s.as_bytes());
}

fn put_string(out: &mut Vec<u8>, s: &str) {
    if s.len() <= 255 {
        out.push(0xa1);
        out.push(s.len() as u8);
    } else {
        out.push(0xb1);
        out.extend_from_slice(&(s.len() as u32).to_be_bytes());
    }
    out.extend_from_slice(s.as_bytes());
}

/// Decimal text of a non-negative offset without allocating.
fn itoa(mut n: i64, buf: &mut [u8; 20]) -> &str {
    if n < 0 {
        return "-1";
    }
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    std::str::from_utf8(&buf[i..]).unwrap_or("0")
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

    /// The direct encoding (no publisher annotations) decodes to exactly what the value
    /// model would produce, with and without a partition key, short and long.
    #[test]
    fn direct_encoding_matches_the_value_model() {
        let m = Message {
            header: Some(Header::default()),
            application_properties: Some(vec![("n".into(), Value::Int(1))]),
            ..Message::with_data(Bytes::from_static(b"body"))
        };
        let long_key = "k".repeat(300);
        for key in [None, Some("pk"), Some(long_key.as_str())] {
            for (seq, offset) in [(0, 0), (7, 1234567890123), (i64::MAX, i64::MAX)] {
                let out = stamp(&m.to_bytes(), seq, offset, -5, key).unwrap();
                let back = Message::decode(&out).unwrap();
                assert_eq!(back.header, m.header);
                assert_eq!(back.application_properties, m.application_properties);
                assert_eq!(back.body, m.body);
                assert_eq!(
                    back.message_annotations.unwrap(),
                    merged(Vec::new(), seq, offset, -5, key)
                );
            }
        }
    }
}
