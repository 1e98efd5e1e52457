//! How `eh receive` prints an event: the body as sent, one JSON object, or a template.

use std::io::Write;

use base64::Engine as _;
use eventhubs::{ReceivedEventData, Value};

/// The output format.
#[derive(Debug, Clone)]
pub(crate) enum Format {
    /// The body's bytes, then a newline.
    Body,
    /// One JSON object per line.
    Json,
    /// `%p %s %o %t %k %b %h` and `\n`/`\t` in a template, then a newline.
    Template(Vec<Piece>),
}

/// A part of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    Text(String),
    Partition,
    Sequence,
    Offset,
    Time,
    Key,
    Body,
    Properties,
}

/// Parses a `--format` template.
pub(crate) fn template(source: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut chars = source.chars();
    while let Some(c) = chars.next() {
        let field = match c {
            '%' => match chars.next() {
                Some('p') => Piece::Partition,
                Some('s') => Piece::Sequence,
                Some('o') => Piece::Offset,
                Some('t') => Piece::Time,
                Some('k') => Piece::Key,
                Some('b') => Piece::Body,
                Some('h') => Piece::Properties,
                Some('%') => {
                    text.push('%');
                    continue;
                }
                other => {
                    return Err(format!(
                        "--format: unknown field %{} (use %p %s %o %t %k %b %h, or %% for %)",
                        other.map(String::from).unwrap_or_default()
                    ))
                }
            },
            '\\' => {
                match chars.next() {
                    Some('n') => text.push('\n'),
                    Some('t') => text.push('\t'),
                    Some('\\') => text.push('\\'),
                    Some(other) => {
                        text.push('\\');
                        text.push(other);
                    }
                    None => text.push('\\'),
                }
                continue;
            }
            c => {
                text.push(c);
                continue;
            }
        };
        if !text.is_empty() {
            pieces.push(Piece::Text(std::mem::take(&mut text)));
        }
        pieces.push(field);
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

/// Writes `event` as `format` says.
pub(crate) fn write(
    out: &mut impl Write,
    format: &Format,
    event: &ReceivedEventData,
) -> std::io::Result<()> {
    match format {
        Format::Body => {
            out.write_all(event.data())?;
        }
        Format::Json => write_json(out, event)?,
        Format::Template(pieces) => {
            for piece in pieces {
                match piece {
                    Piece::Text(t) => out.write_all(t.as_bytes())?,
                    Piece::Partition => out.write_all(event.partition_id().as_bytes())?,
                    Piece::Sequence => write!(out, "{}", event.sequence_number())?,
                    Piece::Offset => out.write_all(event.offset().as_bytes())?,
                    Piece::Time => write!(out, "{}", rfc3339(event.enqueued_time()))?,
                    Piece::Key => out.write_all(event.partition_key().unwrap_or("").as_bytes())?,
                    Piece::Body => out.write_all(event.data())?,
                    Piece::Properties => {
                        write_map(out, event.properties().iter().map(|(k, v)| (k.as_str(), v)))?
                    }
                }
            }
        }
    }
    out.write_all(b"\n")
}

/// RFC 3339 with milliseconds; a time outside years 1970-9999 (the service's "never"
/// sentinels among them) as the nearest of those bounds would mislead, so it is empty.
pub(crate) fn rfc3339(t: std::time::SystemTime) -> String {
    // 9999-12-31T23:59:59Z
    const LAST: u64 = 253_402_300_799;
    match t.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) if d.as_secs() <= LAST => humantime::format_rfc3339_millis(t).to_string(),
        _ => String::new(),
    }
}

/// The event as one JSON object, written field by field in the documented order (no
/// document tree per event: this is the hot path of `eh receive --json`).
fn write_json(out: &mut impl Write, event: &ReceivedEventData) -> std::io::Result<()> {
    out.write_all(b"{\"partition\":")?;
    serde_json::to_writer(&mut *out, event.partition_id())?;
    write!(
        out,
        ",\"sequence_number\":{},\"offset\":",
        event.sequence_number()
    )?;
    serde_json::to_writer(&mut *out, event.offset())?;
    out.write_all(b",\"enqueued_time\":")?;
    serde_json::to_writer(&mut *out, &rfc3339(event.enqueued_time()))?;
    out.write_all(b",\"partition_key\":")?;
    serde_json::to_writer(&mut *out, &event.partition_key())?;
    out.write_all(b",\"properties\":")?;
    write_map(out, event.properties().iter().map(|(k, v)| (k.as_str(), v)))?;
    out.write_all(b",\"system_properties\":")?;
    write_map(
        out,
        event
            .system_properties()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str()?, v))),
    )?;
    out.write_all(b",\"body\":")?;
    match std::str::from_utf8(event.data()) {
        Ok(text) => serde_json::to_writer(&mut *out, text)?,
        Err(_) => serde_json::to_writer(&mut *out, &bytes(event.data()))?,
    }
    out.write_all(b"}")
}

/// A JSON object of AMQP values, written as it goes.
fn write_map<'a>(
    out: &mut impl Write,
    entries: impl Iterator<Item = (&'a str, &'a Value)>,
) -> std::io::Result<()> {
    out.write_all(b"{")?;
    for (i, (k, v)) in entries.enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        serde_json::to_writer(&mut *out, k)?;
        out.write_all(b":")?;
        serde_json::to_writer(&mut *out, &value(v))?;
    }
    out.write_all(b"}")
}

/// Text when it is UTF-8, else `{"base64": "..."}`.
fn bytes(b: &[u8]) -> serde_json::Value {
    match std::str::from_utf8(b) {
        Ok(s) => serde_json::Value::String(s.to_owned()),
        Err(_) => {
            serde_json::json!({ "base64": base64::engine::general_purpose::STANDARD.encode(b) })
        }
    }
}

/// An AMQP value as JSON: numbers, strings and booleans as themselves, binary as base64,
/// timestamps as RFC 3339, lists and maps as arrays and objects, the rest as text.
fn value(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Null => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Ubyte(n) => (*n).into(),
        Value::Ushort(n) => (*n).into(),
        Value::Uint(n) => (*n).into(),
        Value::Ulong(n) => (*n).into(),
        Value::Byte(n) => (*n).into(),
        Value::Short(n) => (*n).into(),
        Value::Int(n) => (*n).into(),
        Value::Long(n) => (*n).into(),
        Value::Float(f) => serde_json::Number::from_f64(f64::from(*f)).map_or(J::Null, J::Number),
        Value::Double(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
        Value::Char(c) => J::String(c.to_string()),
        Value::Timestamp(t) => {
            let time = if t.0 >= 0 {
                std::time::UNIX_EPOCH + std::time::Duration::from_millis(t.0 as u64)
            } else {
                std::time::UNIX_EPOCH
            };
            J::String(rfc3339(time))
        }
        Value::Binary(b) => bytes(b),
        Value::String(s) => J::String(s.clone()),
        Value::Symbol(s) => J::String(s.as_str().to_owned()),
        Value::List(items) | Value::Array(items) => J::Array(items.iter().map(value).collect()),
        Value::Map(entries) => J::Object(
            entries
                .iter()
                .map(|(k, v)| {
                    let key = k.as_str().map_or_else(|| format!("{k:?}"), str::to_owned);
                    (key, value(v))
                })
                .collect(),
        ),
        other => J::String(format!("{other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_parse_fields_escapes_and_errors() {
        assert_eq!(
            template(r"%p:%s\t%b%%\n").unwrap(),
            vec![
                Piece::Partition,
                Piece::Text(":".into()),
                Piece::Sequence,
                Piece::Text("\t".into()),
                Piece::Body,
                Piece::Text("%\n".into()),
            ]
        );
        assert!(template("%x").unwrap_err().contains("%x"));
    }
}
