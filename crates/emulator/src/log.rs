//! The in-memory partition log: stamped events in sequence order, retention, and position
//! lookup for receivers.

use std::collections::VecDeque;

use bytes::Bytes;
use eventhubs_protocol::selector::StartPosition;

use crate::config::Retention;

/// One stored event: its service-assigned position and its encoded message (annotations
/// already stamped), forwarded to receivers as-is.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    /// Sequence number in the partition, from 0.
    pub sequence_number: i64,
    /// Byte offset in the partition.
    pub offset: i64,
    /// Enqueued time, Unix ms.
    pub enqueued_ms: i64,
    /// The encoded message.
    pub bytes: Bytes,
}

/// What `$management` reports for a partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionInfo {
    /// First retained sequence number (−1 when nothing was ever stored).
    pub begin_sequence_number: i64,
    /// Last sequence number assigned (−1 when none).
    pub last_sequence_number: i64,
    /// Offset of the last event (−1 when none).
    pub last_offset: i64,
    /// Enqueued time of the last event, Unix ms (`None` when none).
    pub last_enqueued_ms: Option<i64>,
    /// No event is retained.
    pub is_empty: bool,
}

/// The events of one partition.
#[derive(Debug, Default)]
pub struct PartitionLog {
    events: VecDeque<StoredEvent>,
    next_sequence: i64,
    next_offset: i64,
    bytes: u64,
    last: Option<(i64, i64, i64)>,
}

impl PartitionLog {
    /// Appends one message: `stamp(sequence, offset, enqueued_ms)` returns its stored bytes.
    pub fn append<E>(
        &mut self,
        now_ms: i64,
        stamp: impl FnOnce(i64, i64, i64) -> Result<Bytes, E>,
    ) -> Result<&StoredEvent, E> {
        let (seq, offset) = (self.next_sequence, self.next_offset);
        let bytes = stamp(seq, offset, now_ms)?;
        self.next_sequence += 1;
        self.next_offset += bytes.len() as i64;
        self.bytes += bytes.len() as u64;
        self.last = Some((seq, offset, now_ms));
        self.events.push_back(StoredEvent {
            sequence_number: seq,
            offset,
            enqueued_ms: now_ms,
            bytes,
        });
        Ok(self.events.back().expect("just pushed"))
    }

    /// The sequence number the next event will get.
    pub fn next_sequence(&self) -> i64 {
        self.next_sequence
    }

    /// The sequence number of the first retained event (or the next one when empty).
    pub fn first_sequence(&self) -> i64 {
        self.events
            .front()
            .map_or(self.next_sequence, |e| e.sequence_number)
    }

    /// Drops events beyond the retention limits.
    pub fn trim(&mut self, retention: &Retention, now_ms: i64) {
        let min_time = now_ms - retention.max_age.as_millis() as i64;
        while let Some(front) = self.events.front() {
            let over = self.events.len() > retention.max_events
                || self.bytes > retention.max_bytes
                || front.enqueued_ms < min_time;
            if !over {
                break;
            }
            self.bytes -= front.bytes.len() as u64;
            self.events.pop_front();
        }
    }

    /// The sequence number a receiver with this start position reads first.
    pub fn resolve(&self, position: &StartPosition) -> i64 {
        let first = self.first_sequence();
        let find = |pred: &dyn Fn(&StoredEvent) -> bool| {
            let idx = self.events.partition_point(|e| !pred(e));
            self.events
                .get(idx)
                .map_or(self.next_sequence, |e| e.sequence_number)
        };
        match *position {
            StartPosition::Earliest => first,
            StartPosition::Latest => self.next_sequence,
            StartPosition::SequenceNumber {
                sequence_number,
                inclusive,
            } => (if inclusive {
                sequence_number
            } else {
                sequence_number.saturating_add(1)
            })
            .max(first),
            StartPosition::Offset { offset, inclusive } => find(&|e: &StoredEvent| {
                if inclusive {
                    e.offset >= offset
                } else {
                    e.offset > offset
                }
            }),
            StartPosition::EnqueuedTime { millis, inclusive } => find(&|e: &StoredEvent| {
                if inclusive {
                    e.enqueued_ms >= millis
                } else {
                    e.enqueued_ms > millis
                }
            }),
        }
    }

    /// Up to `max` events starting at sequence `from` (clamped to what is retained).
    pub fn read(&self, from: i64, max: usize) -> Vec<StoredEvent> {
        let first = self.first_sequence();
        let start = (from.max(first) - first) as usize;
        self.events.iter().skip(start).take(max).cloned().collect()
    }

    /// Runtime information.
    pub fn info(&self) -> PartitionInfo {
        let (last_sequence_number, last_offset, last_enqueued_ms) = match self.last {
            Some((s, o, t)) => (s, o, Some(t)),
            None => (-1, -1, None),
        };
        PartitionInfo {
            begin_sequence_number: self
                .events
                .front()
                .map_or(last_sequence_number, |e| e.sequence_number),
            last_sequence_number,
            last_offset,
            last_enqueued_ms,
            is_empty: self.events.is_empty(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log_with(n: i64) -> PartitionLog {
        let mut log = PartitionLog::default();
        for i in 0..n {
            log.append::<()>(1000 + i * 10, |_, _, _| Ok(Bytes::from(vec![0u8; 10])))
                .unwrap();
        }
        log
    }

    /// Every start position resolves to the documented first event.
    #[test]
    fn positions() {
        let log = log_with(5); // offsets 0,10,20,30,40; times 1000..1040
        use StartPosition as P;
        assert_eq!(log.resolve(&P::Earliest), 0);
        assert_eq!(log.resolve(&P::Latest), 5);
        assert_eq!(
            log.resolve(&P::SequenceNumber {
                sequence_number: 2,
                inclusive: true
            }),
            2
        );
        assert_eq!(
            log.resolve(&P::SequenceNumber {
                sequence_number: 2,
                inclusive: false
            }),
            3
        );
        assert_eq!(
            log.resolve(&P::Offset {
                offset: 20,
                inclusive: true
            }),
            2
        );
        assert_eq!(
            log.resolve(&P::Offset {
                offset: 20,
                inclusive: false
            }),
            3
        );
        assert_eq!(
            log.resolve(&P::EnqueuedTime {
                millis: 1020,
                inclusive: true
            }),
            2
        );
        assert_eq!(
            log.resolve(&P::EnqueuedTime {
                millis: 1020,
                inclusive: false
            }),
            3
        );
        assert_eq!(
            log.resolve(&P::EnqueuedTime {
                millis: 9999,
                inclusive: false
            }),
            5
        );
        assert_eq!(
            log.read(3, 10)
                .iter()
                .map(|e| e.sequence_number)
                .collect::<Vec<_>>(),
            vec![3, 4]
        );
    }

    /// Retention by count, bytes and age trims from the front; positions stay valid.
    #[test]
    fn retention() {
        let mut log = log_with(10);
        log.trim(
            &Retention {
                max_events: 6,
                ..Retention::default()
            },
            1100,
        );
        assert_eq!(log.first_sequence(), 4);
        log.trim(
            &Retention {
                max_bytes: 30,
                ..Retention::default()
            },
            1100,
        );
        assert_eq!(log.first_sequence(), 7);
        log.trim(
            &Retention {
                max_age: std::time::Duration::from_millis(100),
                ..Retention::default()
            },
            1185,
        );
        assert_eq!(log.first_sequence(), 9);
        assert_eq!(log.resolve(&StartPosition::Earliest), 9);
        assert_eq!(
            log.resolve(&StartPosition::SequenceNumber {
                sequence_number: 0,
                inclusive: true
            }),
            9
        );
        let info = log.info();
        assert_eq!(
            (
                info.begin_sequence_number,
                info.last_sequence_number,
                info.last_offset
            ),
            (9, 9, 90)
        );
    }
}
