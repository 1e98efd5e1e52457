//! On-disk partition segments: the record format, and recovery that keeps every whole
//! record and truncates a torn or corrupt tail.
//!
//! A partition directory holds segment files named by the sequence number of their first
//! event (`00000000000000000042.seg`). Each starts with a 24-byte header — magic, base
//! sequence number, base offset — followed by records:
//!
//! ```text
//! u32 LE body length | u32 LE CRC-32 of body | body: i64 seq | i64 offset | i64 enqueued ms | message
//! ```
//!
//! A record is only trusted when its length, checksum and sequence number all agree; the
//! first one that does not marks the end of the log, and everything from there on is cut
//! off (the file is truncated, later segments are removed).

use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;

use crate::log::{Indexed, OnDisk, StoredEvent};

/// First bytes of every segment file (format version 1).
const MAGIC: &[u8; 8] = b"EHSEG\0\0\x01";
/// Magic, base sequence number, base offset.
pub(crate) const SEGMENT_HEADER_LEN: u64 = 24;
/// Length and checksum.
const RECORD_PREFIX: usize = 8;
/// Sequence number, offset, enqueued time.
const RECORD_FIELDS: usize = 24;
/// Larger bodies cannot have been written (the link limit is far below); treat as corrupt.
const MAX_BODY: usize = 256 * 1024 * 1024;

/// The file name of the segment whose first event has sequence number `base`.
pub(crate) fn segment_path(dir: &Path, base: i64) -> PathBuf {
    dir.join(format!("{base:020}.seg"))
}

/// The header of a new segment.
pub(crate) fn segment_header(base_sequence: i64, base_offset: i64) -> [u8; 24] {
    let mut h = [0u8; 24];
    h[..8].copy_from_slice(MAGIC);
    h[8..16].copy_from_slice(&base_sequence.to_le_bytes());
    h[16..].copy_from_slice(&base_offset.to_le_bytes());
    h
}

/// Appends the record of `event` to `out`.
pub(crate) fn encode_record(out: &mut Vec<u8>, event: &StoredEvent) {
    let body_len = RECORD_FIELDS + event.bytes.len();
    out.reserve(RECORD_PREFIX + body_len);
    out.extend_from_slice(&(body_len as u32).to_le_bytes());
    let crc_at = out.len();
    out.extend_from_slice(&[0; 4]);
    let body_at = out.len();
    out.extend_from_slice(&event.sequence_number.to_le_bytes());
    out.extend_from_slice(&event.offset.to_le_bytes());
    out.extend_from_slice(&event.enqueued_ms.to_le_bytes());
    out.extend_from_slice(&event.bytes);
    let crc = crc32fast::hash(&out[body_at..]);
    out[crc_at..body_at].copy_from_slice(&crc.to_le_bytes());
}

/// The length of the record of a `body_len`-byte message.
pub(crate) fn record_len(body_len: u64) -> u64 {
    (RECORD_PREFIX + RECORD_FIELDS) as u64 + body_len
}

/// Reads the bodies of `run` — records back to back in one segment file — in one read,
/// checking each record's length, checksum and sequence number.
pub(crate) fn read_run(run: Vec<(StoredEvent, OnDisk)>) -> io::Result<Vec<StoredEvent>> {
    let (Some((_, first)), Some((_, last))) = (run.first(), run.last()) else {
        return Ok(Vec::new());
    };
    let start = first.record_at;
    let end = last.record_at + record_len(last.len);
    let mut buf = vec![0u8; usize::try_from(end - start).map_err(io::Error::other)?];
    fs::File::open(&first.file)?.read_exact_at(&mut buf, start)?;
    let data = Bytes::from(buf);
    run.into_iter()
        .map(|(mut event, at)| {
            let pos = usize::try_from(at.record_at - start).map_err(io::Error::other)?;
            let message = check_record(&data, pos, event.sequence_number, event.offset)
                .filter(|r| r.message.len() as u64 == at.len)
                .ok_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "{}: the record of event {} at {} does not check out",
                            at.file.display(),
                            event.sequence_number,
                            at.record_at
                        ),
                    )
                })?
                .message;
            event.bytes = data.slice(message);
            Ok(event)
        })
        .collect()
}

/// One segment file that survived recovery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Segment {
    /// Sequence number of its first event.
    pub base: i64,
    /// Path of the file (shared with the log's index of where records are).
    pub path: Arc<Path>,
    /// Valid length in bytes.
    pub len: u64,
}

/// What a partition directory held: an index of its events, not their bodies (those are
/// read back from the files when asked for).
#[derive(Debug, Default)]
pub(crate) struct Recovered {
    /// Every whole event, in sequence order from `first_sequence`; `segment` is an index
    /// into `segments`.
    pub index: Vec<Indexed>,
    /// Sequence number of the first event of `index`.
    pub first_sequence: i64,
    /// Surviving segments, oldest first (the last one is appended to).
    pub segments: Vec<Segment>,
    /// Sequence number and offset the next event gets.
    pub next_sequence: i64,
    /// See `next_sequence`.
    pub next_offset: i64,
    /// Bytes cut off a torn or corrupt tail (0 after a clean shutdown).
    pub truncated_bytes: u64,
}

/// Reads a partition directory (created if missing), truncating any torn tail on disk.
/// Every record is checked; only its position, time and length are kept, so recovery needs
/// the index plus one segment of memory (`buf`, reused from call to call), not the store.
pub(crate) fn recover(dir: &Path, buf: &mut Vec<u8>) -> io::Result<Recovered> {
    fs::create_dir_all(dir)?;
    let mut bases: Vec<(i64, PathBuf)> = fs::read_dir(dir)?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let path = entry.path();
            let base = path
                .extension()
                .filter(|e| *e == "seg")
                .and_then(|_| path.file_stem())
                .and_then(|s| s.to_str())
                .and_then(|s| s.parse().ok())?;
            Some((base, path))
        })
        .collect();
    bases.sort_by_key(|(base, _)| *base);

    let mut out = Recovered::default();
    let mut broken = false;
    for (base, path) in bases {
        if broken {
            out.truncated_bytes += fs::metadata(&path).map_or(0, |m| m.len());
            tracing::warn!(path = %path.display(), "removing segment after a corrupt record");
            fs::remove_file(&path)?;
            continue;
        }
        buf.clear();
        fs::File::open(&path)?.read_to_end(buf)?;
        let data = &buf[..];
        let header = parse_header(data).filter(|(seq, off)| {
            *seq == base
                && (out.segments.is_empty() || (*seq, *off) == (out.next_sequence, out.next_offset))
        });
        let Some((base_sequence, base_offset)) = header else {
            broken = true;
            out.truncated_bytes += data.len() as u64;
            tracing::warn!(path = %path.display(), "removing segment with a bad header");
            fs::remove_file(&path)?;
            continue;
        };
        if out.segments.is_empty() {
            (out.next_sequence, out.next_offset) = (base_sequence, base_offset);
            out.first_sequence = base_sequence;
        }
        let valid = index_records(data, out.segments.len() as u32, &mut out);
        if valid < data.len() {
            broken = true;
            let cut = (data.len() - valid) as u64;
            out.truncated_bytes += cut;
            tracing::warn!(path = %path.display(), bytes = cut, "truncating a torn or corrupt tail");
            fs::OpenOptions::new()
                .write(true)
                .open(&path)?
                .set_len(valid as u64)?;
        }
        out.segments.push(Segment {
            base,
            path: Arc::from(path.as_path()),
            len: valid as u64,
        });
    }
    // The index lives as long as the log: not with the slack of its growth.
    out.index.shrink_to_fit();
    Ok(out)
}

fn parse_header(data: &[u8]) -> Option<(i64, i64)> {
    let header = data.get(..SEGMENT_HEADER_LEN as usize)?;
    if &header[..8] != MAGIC {
        return None;
    }
    let le = |r: std::ops::Range<usize>| header[r].try_into().ok().map(i64::from_le_bytes);
    Some((le(8..16)?, le(16..24)?))
}

/// Indexes the whole, consistent records of segment `segment` (`data`) into `out`; returns
/// the valid length.
fn index_records(data: &[u8], segment: u32, out: &mut Recovered) -> usize {
    let mut pos = SEGMENT_HEADER_LEN as usize;
    while let Some(record) = check_record(data, pos, out.next_sequence, out.next_offset) {
        let len = record.message.len();
        out.index.push(Indexed {
            offset: out.next_offset,
            enqueued_ms: record.enqueued_ms,
            len: len as u32,
            segment,
            record_at: pos as u32,
        });
        pos = record.message.end;
        out.next_sequence += 1;
        out.next_offset += len as i64;
    }
    pos
}

/// A record that checked out.
struct Record {
    enqueued_ms: i64,
    /// Where its message is in the data.
    message: std::ops::Range<usize>,
}

/// The record at `pos` of `data` if it is whole, its checksum matches and it is event
/// `sequence` at `offset`.
fn check_record(data: &[u8], pos: usize, sequence: i64, offset: i64) -> Option<Record> {
    let prefix = data.get(pos..pos + RECORD_PREFIX)?;
    let body_len = u32::from_le_bytes(prefix[..4].try_into().ok()?) as usize;
    let crc = u32::from_le_bytes(prefix[4..].try_into().ok()?);
    if !(RECORD_FIELDS..=MAX_BODY).contains(&body_len) {
        return None;
    }
    let body_at = pos + RECORD_PREFIX;
    let body = data.get(body_at..body_at + body_len)?;
    if crc32fast::hash(body) != crc {
        return None;
    }
    let field =
        |i: usize| i64::from_le_bytes(body[i * 8..i * 8 + 8].try_into().unwrap_or_default());
    if (field(0), field(1)) != (sequence, offset) {
        return None;
    }
    Some(Record {
        enqueued_ms: field(2),
        message: body_at + RECORD_FIELDS..body_at + body_len,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(seq: i64, offset: i64, body: &[u8]) -> StoredEvent {
        StoredEvent {
            sequence_number: seq,
            offset,
            enqueued_ms: 1000 + seq,
            bytes: Bytes::copy_from_slice(body),
        }
    }

    fn write_segment(dir: &Path, base: i64, base_offset: i64, events: &[StoredEvent]) -> Vec<u8> {
        let mut data = segment_header(base, base_offset).to_vec();
        for e in events {
            encode_record(&mut data, e);
        }
        fs::write(segment_path(dir, base), &data).unwrap();
        data
    }

    /// The bodies of what `recover` indexed, read back from the files.
    fn bodies(r: &Recovered) -> Vec<Vec<u8>> {
        r.index
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let event = StoredEvent {
                    sequence_number: r.first_sequence + i as i64,
                    offset: e.offset,
                    enqueued_ms: e.enqueued_ms,
                    bytes: Bytes::new(),
                };
                let at = OnDisk {
                    file: r.segments[e.segment as usize].path.clone(),
                    record_at: u64::from(e.record_at),
                    len: u64::from(e.len),
                };
                read_run(vec![(event, at)]).unwrap()[0].bytes.to_vec()
            })
            .collect()
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("eh-seg-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    /// Whole segments come back byte for byte, continuing sequence numbers and offsets.
    #[test]
    fn recovers_whole_segments() {
        let dir = temp_dir("whole");
        fs::create_dir_all(&dir).unwrap();
        write_segment(&dir, 0, 0, &[event(0, 0, b"aa"), event(1, 2, b"bbb")]);
        write_segment(&dir, 2, 5, &[event(2, 5, b"c")]);
        let r = recover(&dir, &mut Vec::new()).unwrap();
        assert_eq!(bodies(&r), vec![&b"aa"[..], b"bbb", b"c"]);
        assert_eq!(
            r.index.iter().map(|e| e.enqueued_ms).collect::<Vec<_>>(),
            vec![1000, 1001, 1002]
        );
        assert_eq!(
            (r.next_sequence, r.next_offset, r.truncated_bytes),
            (3, 6, 0)
        );
        assert_eq!(r.segments.len(), 2);
        fs::remove_dir_all(&dir).unwrap();
    }

    /// A record cut anywhere — in its prefix, fields or message — is dropped and the file
    /// truncated to the last whole record; a flipped byte is caught by the checksum.
    #[test]
    fn torn_and_corrupt_tails_are_cut() {
        let dir = temp_dir("torn");
        fs::create_dir_all(&dir).unwrap();
        let full = write_segment(&dir, 0, 0, &[event(0, 0, b"hello"), event(1, 5, b"world")]);
        let first_end = SEGMENT_HEADER_LEN as usize + RECORD_PREFIX + RECORD_FIELDS + 5;
        for cut in first_end + 1..full.len() {
            fs::write(segment_path(&dir, 0), &full[..cut]).unwrap();
            let r = recover(&dir, &mut Vec::new()).unwrap();
            assert_eq!(r.index.len(), 1, "cut at {cut}");
            assert_eq!(bodies(&r), vec![b"hello"]);
            assert_eq!(r.truncated_bytes, (cut - first_end) as u64);
            assert_eq!(
                fs::metadata(segment_path(&dir, 0)).unwrap().len(),
                first_end as u64
            );
        }
        let mut flipped = full.clone();
        *flipped.last_mut().unwrap() ^= 1;
        fs::write(segment_path(&dir, 0), &flipped).unwrap();
        assert_eq!(recover(&dir, &mut Vec::new()).unwrap().index.len(), 1);
        fs::remove_dir_all(&dir).unwrap();
    }

    /// After a corrupt record, later segments are removed: the log never has a hole.
    #[test]
    fn segments_after_a_corrupt_one_are_removed() {
        let dir = temp_dir("holes");
        fs::create_dir_all(&dir).unwrap();
        let mut first = write_segment(&dir, 0, 0, &[event(0, 0, b"a"), event(1, 1, b"b")]);
        first.truncate(first.len() - 1);
        fs::write(segment_path(&dir, 0), &first).unwrap();
        write_segment(&dir, 2, 2, &[event(2, 2, b"c")]);
        let r = recover(&dir, &mut Vec::new()).unwrap();
        assert_eq!((r.index.len(), r.next_sequence), (1, 1));
        assert!(!segment_path(&dir, 2).exists());
        fs::remove_dir_all(&dir).unwrap();
    }
}
