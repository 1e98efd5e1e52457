//! The selector filter that positions a receiver (docs/PROTOCOL.md §5.1–5.2):
//! `amqp.annotation.<x-opt-offset|x-opt-sequence-number|x-opt-enqueued-time> <op> <value>`,
//! with the value quoted or bare, as each SDK writes it.

use eventhubs_amqp::types::{Symbol, Value};

/// Filter-set key and symbolic descriptor of the selector filter.
pub const SELECTOR_FILTER: &str = "apache.org:selector-filter:string";
/// Numeric descriptor JS sends.
pub const SELECTOR_CODE_APACHE: u64 = 0x0000_468C_0000_0004;
/// Numeric descriptor .NET sends.
pub const SELECTOR_CODE_MICROSOFT: u64 = 0x0000_0137_0000_000A;

/// Where a receiver starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartPosition {
    /// From the first retained event.
    Earliest,
    /// Only events enqueued after the link opens.
    Latest,
    /// After (or at, when `inclusive`) this offset. Offsets are opaque text: decimal
    /// byte positions on most hubs, other forms on geo-replicated ones.
    Offset {
        /// Offset value, as the service gave it.
        offset: String,
        /// Include the event at the offset.
        inclusive: bool,
    },
    /// After (or at) this sequence number.
    SequenceNumber {
        /// Sequence number.
        sequence_number: i64,
        /// Include it.
        inclusive: bool,
    },
    /// Enqueued after (or at) this time, Unix ms.
    EnqueuedTime {
        /// Unix milliseconds.
        millis: i64,
        /// Include events enqueued exactly at it.
        inclusive: bool,
    },
}

/// Why a selector could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported selector expression {0:?}")]
pub struct SelectorError(pub String);

impl StartPosition {
    /// Parses a selector expression.
    pub fn parse(expr: &str) -> Result<Self, SelectorError> {
        let err = || SelectorError(expr.to_owned());
        let rest = expr
            .trim()
            .strip_prefix("amqp.annotation.")
            .ok_or_else(err)?;
        let end = rest
            .find(|c: char| c.is_whitespace() || matches!(c, '>' | '<' | '='))
            .ok_or_else(err)?;
        let (name, rest) = rest.split_at(end);
        let rest = rest.trim_start();
        let (inclusive, value) = if let Some(v) = rest.strip_prefix(">=") {
            (true, v)
        } else if let Some(v) = rest.strip_prefix('>') {
            (false, v)
        } else if let Some(v) = rest.strip_prefix('=') {
            (true, v)
        } else {
            return Err(err());
        };
        let value = value.trim();
        let value = value
            .strip_prefix('\'')
            .and_then(|v| v.strip_suffix('\''))
            .unwrap_or(value);
        match name {
            "x-opt-offset" => match value {
                "-1" => Ok(Self::Earliest),
                "@latest" => Ok(Self::Latest),
                "" => Err(err()),
                v => Ok(Self::Offset {
                    offset: v.to_owned(),
                    inclusive,
                }),
            },
            "x-opt-sequence-number" => Ok(Self::SequenceNumber {
                sequence_number: value.parse().map_err(|_| err())?,
                inclusive,
            }),
            "x-opt-enqueued-time" => Ok(Self::EnqueuedTime {
                millis: value.parse().map_err(|_| err())?,
                inclusive,
            }),
            _ => Err(err()),
        }
    }

    /// The expression our client sends (quoted values, like Python, JS and Java).
    pub fn to_expression(&self) -> String {
        let op = |inclusive: bool| if inclusive { ">=" } else { ">" };
        match self {
            Self::Earliest => "amqp.annotation.x-opt-offset > '-1'".to_owned(),
            Self::Latest => "amqp.annotation.x-opt-offset > '@latest'".to_owned(),
            Self::Offset { offset, inclusive } => {
                format!("amqp.annotation.x-opt-offset {} '{offset}'", op(*inclusive))
            }
            Self::SequenceNumber {
                sequence_number,
                inclusive,
            } => {
                format!(
                    "amqp.annotation.x-opt-sequence-number {} '{sequence_number}'",
                    op(*inclusive)
                )
            }
            Self::EnqueuedTime { millis, inclusive } => {
                format!(
                    "amqp.annotation.x-opt-enqueued-time {} '{millis}'",
                    op(*inclusive)
                )
            }
        }
    }

    /// Finds the selector in a source filter set (any of the three descriptor forms) and
    /// parses it. `Ok(None)` when there is no selector filter.
    pub fn from_filter(filter: Option<&[(Symbol, Value)]>) -> Result<Option<Self>, SelectorError> {
        let Some(filter) = filter else {
            return Ok(None);
        };
        for (key, value) in filter {
            let Value::Described(d) = value else { continue };
            let known = match &d.descriptor {
                Value::Symbol(s) => s.as_str() == SELECTOR_FILTER,
                Value::Ulong(c) => *c == SELECTOR_CODE_APACHE || *c == SELECTOR_CODE_MICROSOFT,
                _ => false,
            };
            if known || key.as_str() == SELECTOR_FILTER {
                let Value::String(expr) = &d.value else {
                    return Err(SelectorError(format!("{:?}", d.value)));
                };
                return Self::parse(expr).map(Some);
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What every SDK emits (docs/PROTOCOL.md §5.2) parses to the intended position.
    #[test]
    fn sdk_forms() {
        let cases = [
            (
                "amqp.annotation.x-opt-offset > '-1'",
                StartPosition::Earliest,
            ),
            ("amqp.annotation.x-opt-offset > -1", StartPosition::Earliest),
            (
                "amqp.annotation.x-opt-offset >= '@latest'",
                StartPosition::Latest,
            ),
            (
                "amqp.annotation.x-opt-offset > '@latest'",
                StartPosition::Latest,
            ),
            (
                "amqp.annotation.x-opt-offset >= 12345",
                StartPosition::Offset {
                    offset: "12345".into(),
                    inclusive: true,
                },
            ),
            (
                "amqp.annotation.x-opt-offset >'7'",
                StartPosition::Offset {
                    offset: "7".into(),
                    inclusive: false,
                },
            ),
            (
                "amqp.annotation.x-opt-sequence-number >='5'",
                StartPosition::SequenceNumber {
                    sequence_number: 5,
                    inclusive: true,
                },
            ),
            (
                "amqp.annotation.x-opt-sequence-number > '5'",
                StartPosition::SequenceNumber {
                    sequence_number: 5,
                    inclusive: false,
                },
            ),
            (
                "amqp.annotation.x-opt-enqueued-time > 1700000000000",
                StartPosition::EnqueuedTime {
                    millis: 1_700_000_000_000,
                    inclusive: false,
                },
            ),
            (
                "  amqp.annotation.x-opt-enqueued-time >= '1700000000000' ",
                StartPosition::EnqueuedTime {
                    millis: 1_700_000_000_000,
                    inclusive: true,
                },
            ),
        ];
        for (expr, want) in cases {
            assert_eq!(StartPosition::parse(expr).unwrap(), want, "{expr}");
        }
        // Offsets are opaque: geo-replicated hubs use forms that are not numbers.
        assert_eq!(
            StartPosition::parse("amqp.annotation.x-opt-offset > '2:-1:-1'").unwrap(),
            StartPosition::Offset {
                offset: "2:-1:-1".into(),
                inclusive: false
            }
        );
        for bad in [
            "",
            "x-opt-offset > 1",
            "amqp.annotation.x-opt-foo > 1",
            "amqp.annotation.x-opt-offset < 1",
            "amqp.annotation.x-opt-offset > ''",
        ] {
            assert!(StartPosition::parse(bad).is_err(), "{bad}");
        }
    }

    /// Our own expressions round-trip.
    #[test]
    fn round_trip() {
        for p in [
            StartPosition::Earliest,
            StartPosition::Latest,
            StartPosition::Offset {
                offset: "3".into(),
                inclusive: true,
            },
            StartPosition::SequenceNumber {
                sequence_number: 9,
                inclusive: false,
            },
            StartPosition::EnqueuedTime {
                millis: 5,
                inclusive: true,
            },
        ] {
            assert_eq!(StartPosition::parse(&p.to_expression()).unwrap(), p);
        }
    }
}
