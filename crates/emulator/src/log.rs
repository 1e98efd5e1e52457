//! The partition log: stamped events in sequence order, retention, and position lookup for
//! receivers.
//!
//! Appended events stay invisible to receivers and to `$management` until they are
//! published: at once in memory mode, after the journal has written (and synced) them in
//! durable mode, so nothing a crash could lose is ever served.
//!
//! In durable mode the log is an index over the segment files plus a cache of the newest
//! bodies within a byte budget: older bodies are dropped from memory once written, and read
//! back from their segment (through the page cache) when a receiver asks for them.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::Arc;

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

/// Where an event's record starts in a segment file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OnDisk {
    pub file: Arc<Path>,
    pub record_at: u64,
    /// The body's length.
    pub len: u64,
}

/// One retained event: its position, its body's length, its body while cached, and where
/// its record is once written. Kept small: a log may index millions of events.
#[derive(Debug)]
struct Entry {
    event: StoredEvent,
    len: u32,
    disk: Option<Slot>,
}

/// Where a record is: a segment of the log's table, and the position in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot {
    segment: u32,
    record_at: u32,
}

/// The segment files entries point into, by id (ids only grow; old ones are dropped once
/// no entry points into them).
#[derive(Debug, Default)]
struct Segments {
    first_id: u32,
    files: VecDeque<Arc<Path>>,
}

impl Segments {
    /// The id of `file`, added when it is new (files come in the order they were written;
    /// each segment's path is one shared `Arc`, from recovery or from its creation).
    fn id_of(&mut self, file: &Arc<Path>) -> u32 {
        let found = self.files.iter().rposition(|f| Arc::ptr_eq(f, file));
        let index = found.unwrap_or_else(|| {
            self.files.push_back(file.clone());
            self.files.len() - 1
        });
        self.first_id + index as u32
    }

    fn file(&self, id: u32) -> Option<&Arc<Path>> {
        self.files.get(id.checked_sub(self.first_id)? as usize)
    }

    /// Forgets the segments below `id`.
    fn drop_below(&mut self, id: u32) {
        while self.first_id < id && !self.files.is_empty() {
            self.files.pop_front();
            self.first_id += 1;
        }
    }
}

/// An event read for delivery: whole, or (its body not cached) still to be loaded from
/// disk with [`load`].
pub(crate) type Pending = (StoredEvent, Option<OnDisk>);

/// The events of one partition.
#[derive(Debug, Default)]
pub(crate) struct PartitionLog {
    events: VecDeque<Entry>,
    next_sequence: i64,
    next_offset: i64,
    bytes: u64,
    /// Events below this sequence number are visible.
    visible: i64,
    last: Option<(i64, i64, i64)>,
    /// Bodies held in memory at most (durable mode; `None`: every body).
    cache_budget: Option<u64>,
    /// Bytes of the bodies held.
    cached: u64,
    /// Bodies of events below this sequence number are on disk only.
    cold_below: i64,
    /// The files the entries' slots name.
    segments: Segments,
}

impl PartitionLog {
    /// Appends one message: `stamp(sequence, offset, enqueued_ms)` returns its stored bytes.
    #[cfg(test)]
    pub(crate) fn append<E>(
        &mut self,
        now_ms: i64,
        stamp: impl FnOnce(i64, i64, i64) -> Result<Bytes, E>,
    ) -> Result<&StoredEvent, E> {
        let mut stamp = Some(stamp);
        self.append_all(now_ms, &[()], |_, seq, offset, time| {
            (stamp.take().expect("called once"))(seq, offset, time)
        })?;
        Ok(&self.events.back().expect("just pushed").event)
    }

    /// Appends all `items` or none: `stamp(item, sequence, offset, enqueued_ms)` returns each
    /// one's stored bytes; the first error leaves the log unchanged.
    pub(crate) fn append_all<T, E>(
        &mut self,
        now_ms: i64,
        items: &[T],
        mut stamp: impl FnMut(&T, i64, i64, i64) -> Result<Bytes, E>,
    ) -> Result<(), E> {
        let (mut seq, mut offset) = (self.next_sequence, self.next_offset);
        let (len_before, mut added) = (self.events.len(), 0u64);
        self.events.reserve(items.len());
        for item in items {
            let bytes = match stamp(item, seq, offset, now_ms) {
                Ok(b) => b,
                Err(e) => {
                    self.events.truncate(len_before);
                    return Err(e);
                }
            };
            let len = bytes.len();
            self.events.push_back(Entry {
                event: StoredEvent {
                    sequence_number: seq,
                    offset,
                    enqueued_ms: now_ms,
                    bytes,
                },
                len: len as u32,
                disk: None,
            });
            seq += 1;
            offset += len as i64;
            added += len as u64;
        }
        self.bytes += added;
        self.cached += added;
        (self.next_sequence, self.next_offset) = (seq, offset);
        Ok(())
    }

    /// The `n` most recently appended events (fewer if retention dropped some).
    pub(crate) fn newest(&self, n: usize) -> impl Iterator<Item = &StoredEvent> {
        self.events
            .iter()
            .skip(self.events.len().saturating_sub(n))
            .map(|e| &e.event)
    }

    /// A log holding recovered `events` (in sequence order, all visible, each with where
    /// its record is), continuing at `next_sequence` / `next_offset`, caching the newest
    /// bodies within `cache_budget` bytes (`None`: all).
    pub(crate) fn recovered(
        events: Vec<(StoredEvent, Option<OnDisk>)>,
        next_sequence: i64,
        next_offset: i64,
        cache_budget: Option<u64>,
    ) -> Self {
        let last = events
            .last()
            .map(|(e, _)| (e.sequence_number, e.offset, e.enqueued_ms));
        // Recovery may have dropped the oldest bodies already: their length is the record's.
        let mut segments = Segments::default();
        let entries: VecDeque<Entry> = events
            .into_iter()
            .map(|(event, disk)| Entry {
                len: disk.as_ref().map_or(event.bytes.len() as u64, |d| d.len) as u32,
                event,
                disk: disk.map(|d| Slot {
                    segment: segments.id_of(&d.file),
                    record_at: d.record_at as u32,
                }),
            })
            .collect();
        let bytes = entries.iter().map(|e| u64::from(e.len)).sum();
        let cold = entries
            .iter()
            .take_while(|e| e.event.bytes.is_empty() && e.len > 0)
            .count();
        let mut log = Self {
            bytes,
            cached: entries
                .iter()
                .skip(cold)
                .map(|e| e.event.bytes.len() as u64)
                .sum(),
            cold_below: entries
                .get(cold)
                .map_or(next_sequence, |e| e.event.sequence_number),
            segments,
            events: entries,
            next_sequence,
            next_offset,
            visible: next_sequence,
            last,
            cache_budget,
        };
        if cache_budget.is_some() {
            log.evict();
            // The bodies kept are slices of whole segment files read at recovery: copied,
            // so the files' buffers are freed.
            for e in log.events.iter_mut().filter(|e| !e.event.bytes.is_empty()) {
                e.event.bytes = Bytes::copy_from_slice(&e.event.bytes);
            }
        }
        log
    }

    /// Records where a written batch went: its events from `first` (sequence number,
    /// offset) up to sequence `upto` (not included) are records back to back in `file` from
    /// `record_at`. Then drops bodies beyond the cache budget.
    pub(crate) fn written(
        &mut self,
        (first, first_offset): (i64, i64),
        upto: i64,
        file: &Arc<Path>,
        record_at: u64,
    ) {
        // Each record before an event is its fixed fields plus its body, and bodies are what
        // offsets count: the position follows from the sequence number and offset alone
        // (so events retention already dropped need not be here).
        let front = self.first_sequence();
        let segment = self.segments.id_of(file);
        let start = usize::try_from(first.max(front) - front).unwrap_or(usize::MAX);
        for e in self.events.iter_mut().skip(start) {
            let ev = &e.event;
            if ev.sequence_number >= upto {
                break;
            }
            let before = (ev.sequence_number - first) as u64 * crate::segment::record_len(0)
                + (ev.offset - first_offset) as u64;
            e.disk = Some(Slot {
                segment,
                // Segments roll at far less than 4 GiB (`SegmentBytes` is checked).
                record_at: (record_at + before) as u32,
            });
        }
        self.evict();
    }

    /// Bytes of the bodies held in memory.
    pub(crate) fn cached_bytes(&self) -> u64 {
        self.cached
    }

    /// Drops the oldest written bodies while the cache is over its budget.
    fn evict(&mut self) {
        let Some(budget) = self.cache_budget else {
            return;
        };
        let first = self.first_sequence();
        while self.cached > budget {
            let Some(e) = usize::try_from(self.cold_below - first)
                .ok()
                .and_then(|i| self.events.get_mut(i))
            else {
                break;
            };
            if e.disk.is_none() {
                break;
            }
            e.event.bytes = Bytes::new();
            self.cached -= u64::from(e.len);
            self.cold_below += 1;
        }
    }

    /// The sequence number the next event will get.
    pub(crate) fn next_sequence(&self) -> i64 {
        self.next_sequence
    }

    /// The offset the next event will get.
    pub(crate) fn next_offset(&self) -> i64 {
        self.next_offset
    }

    /// Makes every event below sequence `upto` visible; returns the new visible bound.
    pub(crate) fn publish(&mut self, upto: i64) -> i64 {
        let upto = upto.min(self.next_sequence);
        if upto > self.visible {
            self.visible = upto;
            let first = self.first_sequence();
            if let Some(e) = usize::try_from(upto - 1 - first)
                .ok()
                .and_then(|i| self.events.get(i))
            {
                let e = &e.event;
                self.last = Some((e.sequence_number, e.offset, e.enqueued_ms));
            }
        }
        self.visible
    }

    /// Makes everything appended so far visible (memory mode).
    pub(crate) fn publish_all(&mut self) -> i64 {
        self.publish(self.next_sequence)
    }

    /// The sequence number of the first retained event (or the next one when empty).
    pub(crate) fn first_sequence(&self) -> i64 {
        self.events
            .front()
            .map_or(self.next_sequence, |e| e.event.sequence_number)
    }

    /// Drops events beyond the retention limits.
    pub(crate) fn trim(&mut self, retention: &Retention, now_ms: i64) {
        let min_time = now_ms - retention.max_age.as_millis() as i64;
        while let Some(front) = self.events.front() {
            let over = self.events.len() > retention.max_events
                || self.bytes > retention.max_bytes
                || front.event.enqueued_ms < min_time;
            if !over {
                break;
            }
            self.bytes -= u64::from(front.len);
            if front.event.sequence_number >= self.cold_below {
                self.cached -= u64::from(front.len);
            }
            self.events.pop_front();
        }
        self.cold_below = self.cold_below.max(self.first_sequence());
        if let Some(slot) = self.events.front().and_then(|e| e.disk) {
            self.segments.drop_below(slot.segment);
        }
    }

    /// The sequence number a receiver with this start position reads first.
    pub(crate) fn resolve(&self, position: &StartPosition) -> i64 {
        let first = self.first_sequence();
        let find = |pred: &dyn Fn(&StoredEvent) -> bool| {
            let idx = self.events.partition_point(|e| !pred(&e.event));
            self.events
                .get(idx)
                .map_or(self.next_sequence, |e| e.event.sequence_number)
                .min(self.visible)
        };
        match *position {
            StartPosition::Earliest => first,
            StartPosition::Latest => self.visible,
            StartPosition::SequenceNumber {
                sequence_number,
                inclusive,
            } => (if inclusive {
                sequence_number
            } else {
                sequence_number.saturating_add(1)
            })
            .max(first),
            StartPosition::Offset {
                ref offset,
                inclusive,
            } => {
                // Offsets this emulator hands out are decimal; attach refuses others.
                let Ok(offset) = offset.parse::<i64>() else {
                    return self.visible;
                };
                find(&|e: &StoredEvent| {
                    if inclusive {
                        e.offset >= offset
                    } else {
                        e.offset > offset
                    }
                })
            }
            StartPosition::EnqueuedTime { millis, inclusive } => find(&|e: &StoredEvent| {
                if inclusive {
                    e.enqueued_ms >= millis
                } else {
                    e.enqueued_ms > millis
                }
            }),
        }
    }

    /// Up to `max` visible events starting at sequence `from` (clamped to what is
    /// retained); those whose bodies are on disk only come with where to [`load`] them from.
    /// Cheap: no I/O (call it under the partition's lock, then `load` outside it).
    pub(crate) fn read(&self, from: i64, max: usize) -> Vec<Pending> {
        let first = self.first_sequence();
        let from = from.max(first);
        let available = usize::try_from(self.visible - from).unwrap_or(0);
        let start = (from - first) as usize;
        self.events
            .iter()
            .skip(start)
            .take(max.min(available))
            .map(|e| {
                let cold = e.event.sequence_number < self.cold_below;
                let disk = e.disk.filter(|_| cold).and_then(|slot| {
                    Some(OnDisk {
                        file: self.segments.file(slot.segment)?.clone(),
                        record_at: u64::from(slot.record_at),
                        len: u64::from(e.len),
                    })
                });
                (e.event.clone(), disk)
            })
            .collect()
    }

    /// Runtime information.
    pub(crate) fn info(&self) -> PartitionInfo {
        let (last_sequence_number, last_offset, last_enqueued_ms) = match self.last {
            Some((s, o, t)) => (s, o, Some(t)),
            None => (-1, -1, None),
        };
        let first_visible = self
            .events
            .front()
            .map(|e| e.event.sequence_number)
            .filter(|&s| s < self.visible);
        PartitionInfo {
            begin_sequence_number: first_visible.unwrap_or(last_sequence_number),
            last_sequence_number,
            last_offset,
            last_enqueued_ms,
            is_empty: first_visible.is_none(),
        }
    }
}

/// The events `read` returned, with the bodies that were on disk read from their segment
/// files (runs of neighbouring records in one read each).
pub(crate) fn load(pending: Vec<Pending>) -> std::io::Result<Vec<StoredEvent>> {
    if pending.iter().all(|(_, disk)| disk.is_none()) {
        return Ok(pending.into_iter().map(|(e, _)| e).collect());
    }
    let mut out = Vec::with_capacity(pending.len());
    let mut run: Vec<(StoredEvent, OnDisk)> = Vec::new();
    for (event, disk) in pending {
        match disk {
            Some(d) => {
                let follows = run.last().is_some_and(|(_, at)| {
                    Arc::ptr_eq(&at.file, &d.file)
                        && at.record_at + crate::segment::record_len(at.len) == d.record_at
                });
                if !follows {
                    out.extend(crate::segment::read_run(std::mem::take(&mut run))?);
                }
                run.push((event, d));
            }
            None => {
                out.extend(crate::segment::read_run(std::mem::take(&mut run))?);
                out.push(event);
            }
        }
    }
    out.extend(crate::segment::read_run(run)?);
    Ok(out)
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
        log.publish_all();
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
                offset: "20".into(),
                inclusive: true
            }),
            2
        );
        assert_eq!(
            log.resolve(&P::Offset {
                offset: "20".into(),
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
                .map(|(e, _)| e.sequence_number)
                .collect::<Vec<_>>(),
            vec![3, 4]
        );
    }

    /// A failing stamp leaves the log as it was: all of a batch or none of it.
    #[test]
    fn append_all_is_atomic() {
        let mut log = log_with(2);
        let r = log.append_all(5000, &[1, 2, 3], |i, _, _, _| {
            if *i == 3 {
                Err("bad")
            } else {
                Ok(Bytes::from_static(b"ok"))
            }
        });
        assert_eq!(r, Err("bad"));
        assert_eq!((log.next_sequence(), log.next_offset()), (2, 20));
        log.publish_all();
        assert_eq!(log.read(0, 10).len(), 2);
    }

    /// Unpublished events are neither read, nor reported, nor the `@latest` position.
    #[test]
    fn unpublished_events_are_invisible() {
        let mut log = log_with(2);
        log.append::<()>(2000, |_, _, _| Ok(Bytes::from_static(b"x")))
            .unwrap();
        assert_eq!(log.read(0, 10).len(), 2);
        assert_eq!(log.resolve(&StartPosition::Latest), 2);
        assert_eq!(log.info().last_sequence_number, 1);
        assert_eq!(log.publish(3), 3);
        assert_eq!(log.read(0, 10).len(), 3);
        assert_eq!(log.info().last_sequence_number, 2);
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
