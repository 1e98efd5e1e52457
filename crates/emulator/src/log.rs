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

/// What the log knows of one retained event besides its body: 32 bytes, as a log may index
/// millions of events. Its sequence number is its place in the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Indexed {
    pub offset: i64,
    pub enqueued_ms: i64,
    /// The body's length.
    pub len: u32,
    /// The segment holding its record (an id of the log's segment table), or [`UNWRITTEN`].
    pub segment: u32,
    /// Where its record starts in that segment (segments stay far below 4 GiB).
    pub record_at: u32,
}

/// [`Indexed::segment`] of an event the journal has not written yet.
pub(crate) const UNWRITTEN: u32 = u32::MAX;

impl Indexed {
    fn written(&self) -> bool {
        self.segment != UNWRITTEN
    }
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

/// The events of one partition: an index of every retained event, and the bodies of the
/// newest ones (all of them in memory mode; in durable mode those within the cache
/// budget, the others being read back from their segments).
#[derive(Debug, Default)]
pub(crate) struct PartitionLog {
    index: VecDeque<Indexed>,
    /// Sequence number of the first entry of `index` (`next_sequence` when empty).
    first: i64,
    /// The bodies of the events from `cold_below` on, in order.
    bodies: VecDeque<Bytes>,
    /// Bodies of events below this sequence number are on disk only.
    cold_below: i64,
    next_sequence: i64,
    next_offset: i64,
    bytes: u64,
    /// Events below this sequence number are visible.
    visible: i64,
    last: Option<(i64, i64, i64)>,
    /// Bodies held in memory at most (durable mode; `None`: every body appended).
    cache_budget: Option<u64>,
    /// Bytes of the bodies held.
    cached: u64,
    /// The files the entries' segment ids name.
    segments: Segments,
}

impl PartitionLog {
    /// Appends one message: `stamp(sequence, offset, enqueued_ms)` returns its stored bytes.
    #[cfg(test)]
    pub(crate) fn append<E>(
        &mut self,
        now_ms: i64,
        stamp: impl FnOnce(i64, i64, i64) -> Result<Bytes, E>,
    ) -> Result<(), E> {
        let mut stamp = Some(stamp);
        self.append_all(now_ms, &[()], |_, seq, offset, time| {
            (stamp.take().expect("called once"))(seq, offset, time)
        })
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
        let (len_before, bodies_before, mut added) = (self.index.len(), self.bodies.len(), 0u64);
        self.index.reserve(items.len());
        self.bodies.reserve(items.len());
        for item in items {
            let bytes = match stamp(item, seq, offset, now_ms) {
                Ok(b) => b,
                Err(e) => {
                    self.index.truncate(len_before);
                    self.bodies.truncate(bodies_before);
                    return Err(e);
                }
            };
            let len = bytes.len();
            self.index.push_back(Indexed {
                offset,
                enqueued_ms: now_ms,
                len: len as u32,
                segment: UNWRITTEN,
                record_at: 0,
            });
            self.bodies.push_back(bytes);
            seq += 1;
            offset += len as i64;
            added += len as u64;
        }
        self.bytes += added;
        self.cached += added;
        (self.next_sequence, self.next_offset) = (seq, offset);
        Ok(())
    }

    /// The `n` most recently appended events (fewer if retention dropped some); they are
    /// always cached, as only written bodies are evicted.
    pub(crate) fn newest(&self, n: usize) -> impl Iterator<Item = StoredEvent> + '_ {
        let n = n.min(self.bodies.len());
        let skip = self.index.len() - n;
        let first_seq = self.first + skip as i64;
        self.index
            .iter()
            .skip(skip)
            .zip(self.bodies.iter().skip(self.bodies.len() - n))
            .enumerate()
            .map(move |(i, (e, body))| StoredEvent {
                sequence_number: first_seq + i as i64,
                offset: e.offset,
                enqueued_ms: e.enqueued_ms,
                bytes: body.clone(),
            })
    }

    /// A log of recovered events: `index` from sequence number `first` (all visible, each
    /// written to `segments[entry.segment]`), continuing at `next_sequence` / `next_offset`.
    /// No body is cached: they are read from the segments when asked for, and the cache
    /// fills with what is appended from now on (within `cache_budget` bytes; `None`: all).
    pub(crate) fn recovered(
        index: Vec<Indexed>,
        first: i64,
        segments: impl IntoIterator<Item = Arc<Path>>,
        (next_sequence, next_offset): (i64, i64),
        cache_budget: Option<u64>,
    ) -> Self {
        let last = index
            .last()
            .map(|e| (next_sequence - 1, e.offset, e.enqueued_ms));
        Self {
            bytes: index.iter().map(|e| u64::from(e.len)).sum(),
            index: index.into(),
            first,
            bodies: VecDeque::new(),
            cold_below: next_sequence,
            next_sequence,
            next_offset,
            visible: next_sequence,
            last,
            cache_budget,
            cached: 0,
            segments: Segments {
                first_id: 0,
                files: segments.into_iter().collect(),
            },
        }
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
        let front = self.first;
        let segment = self.segments.id_of(file);
        let from = first.max(front);
        let start = usize::try_from(from - front).unwrap_or(usize::MAX);
        let count = usize::try_from(upto - from).unwrap_or(0);
        for (i, e) in self.index.iter_mut().skip(start).take(count).enumerate() {
            let sequence = from + i as i64;
            let before = (sequence - first) as u64 * crate::segment::record_len(0)
                + (e.offset - first_offset) as u64;
            e.segment = segment;
            // Segments roll at far less than 4 GiB (`SegmentBytes` is checked).
            e.record_at = (record_at + before) as u32;
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
        while self.cached > budget {
            let Some(e) = usize::try_from(self.cold_below - self.first)
                .ok()
                .and_then(|i| self.index.get(i))
            else {
                break;
            };
            if !e.written() {
                break;
            }
            self.bodies.pop_front();
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
            if let Some(e) = usize::try_from(upto - 1 - self.first)
                .ok()
                .and_then(|i| self.index.get(i))
            {
                self.last = Some((upto - 1, e.offset, e.enqueued_ms));
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
        self.first
    }

    /// Drops events beyond the retention limits.
    pub(crate) fn trim(&mut self, retention: &Retention, now_ms: i64) {
        let min_time = now_ms - retention.max_age.as_millis() as i64;
        while let Some(front) = self.index.front() {
            let over = self.index.len() > retention.max_events
                || self.bytes > retention.max_bytes
                || front.enqueued_ms < min_time;
            if !over {
                break;
            }
            self.bytes -= u64::from(front.len);
            if self.first >= self.cold_below {
                self.cached -= u64::from(front.len);
                self.bodies.pop_front();
            }
            self.index.pop_front();
            self.first += 1;
        }
        if self.index.is_empty() {
            self.first = self.next_sequence;
        }
        self.cold_below = self.cold_below.max(self.first);
        if let Some(e) = self.index.front().filter(|e| e.written()) {
            self.segments.drop_below(e.segment);
        }
    }

    /// The sequence number a receiver with this start position reads first.
    pub(crate) fn resolve(&self, position: &StartPosition) -> i64 {
        let first = self.first;
        let find = |pred: &dyn Fn(&Indexed) -> bool| {
            let idx = self.index.partition_point(|e| !pred(e));
            (first + idx as i64).min(self.visible)
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
                find(&|e: &Indexed| {
                    if inclusive {
                        e.offset >= offset
                    } else {
                        e.offset > offset
                    }
                })
            }
            StartPosition::EnqueuedTime { millis, inclusive } => find(&|e: &Indexed| {
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
        self.read_within(from, max, u64::MAX)
    }

    /// [`read`](Self::read), stopping before the bodies add up to more than `max_bytes`
    /// (but always at least one event, however large).
    pub(crate) fn read_within(&self, from: i64, max: usize, max_bytes: u64) -> Vec<Pending> {
        let from = from.max(self.first);
        let available = usize::try_from(self.visible - from).unwrap_or(0);
        let start = (from - self.first) as usize;
        let mut total = 0u64;
        self.index
            .iter()
            .skip(start)
            .take(max.min(available))
            .take_while(|e| {
                let first = total == 0;
                total += u64::from(e.len).max(1);
                first || total <= max_bytes
            })
            .enumerate()
            .map(|(i, e)| {
                let sequence_number = from + i as i64;
                let cached = usize::try_from(sequence_number - self.cold_below)
                    .ok()
                    .and_then(|at| self.bodies.get(at));
                let disk = match cached {
                    Some(_) => None,
                    None => self.segments.file(e.segment).map(|file| OnDisk {
                        file: file.clone(),
                        record_at: u64::from(e.record_at),
                        len: u64::from(e.len),
                    }),
                };
                let event = StoredEvent {
                    sequence_number,
                    offset: e.offset,
                    enqueued_ms: e.enqueued_ms,
                    bytes: cached.cloned().unwrap_or_default(),
                };
                (event, disk)
            })
            .collect()
    }

    /// Runtime information.
    pub(crate) fn info(&self) -> PartitionInfo {
        let (last_sequence_number, last_offset, last_enqueued_ms) = match self.last {
            Some((s, o, t)) => (s, o, Some(t)),
            None => (-1, -1, None),
        };
        let first_visible =
            Some(self.first).filter(|&s| !self.index.is_empty() && s < self.visible);
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

    /// A read stops at its byte budget, but always returns one event.
    #[test]
    fn reads_are_bounded_by_bytes() {
        let log = log_with(10); // 10 bytes each
        assert_eq!(log.read_within(0, 100, 35).len(), 3);
        assert_eq!(log.read_within(0, 2, 35).len(), 2);
        assert_eq!(log.read_within(4, 100, 1).len(), 1);
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
