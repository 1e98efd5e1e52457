//! The durable store's writer: ingest stages encoded records per partition, one thread
//! writes them to each partition's active segment and syncs them as a group, then the
//! events are published to receivers and the sends acknowledged.
//!
//! Group commit: while the writer is busy with generation *n*, every append is staged into
//! generation *n + 1*; one `fdatasync` per dirty partition then covers all of them. Sends
//! are acknowledged only once their generation is committed, so an accepted event survives
//! a crash; events are served only once committed, so a receiver never sees an event a
//! crash could take back.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};

use tokio::sync::watch;

use crate::config::SyncPolicy;
use crate::dir_lock::DirLock;
use crate::namespace::Namespace;
use crate::segment::{segment_header, segment_path, Segment, SEGMENT_HEADER_LEN};

/// The writer's progress, watched by ingest links waiting to acknowledge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Commit {
    /// Every generation up to this one is on disk.
    pub generation: u64,
    /// Writing failed; nothing more will be committed.
    pub failed: bool,
}

/// Records staged for one partition and not yet handed to the writer.
#[derive(Debug, Default)]
struct Staged {
    records: Vec<u8>,
    /// Sequence number and offset of the first staged record.
    first: Option<(i64, i64)>,
    /// The partition's next sequence number after the staged records.
    next_sequence: i64,
}

#[derive(Debug, Default)]
struct State {
    /// The generation staged records will be committed in.
    generation: u64,
    partitions: Vec<Staged>,
    dirty: Vec<usize>,
    closed: bool,
    failed: bool,
}

/// The shared side of the writer.
#[derive(Debug)]
pub(crate) struct Journal {
    state: Mutex<State>,
    wake: Condvar,
    commits: watch::Sender<Commit>,
    /// Becomes true once the writer thread has ended and released the directory lock.
    stopped: watch::Sender<bool>,
}

/// Staging failed because the disk failed earlier.
#[derive(Debug)]
pub(crate) struct StoreFailed;

impl Journal {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stages the records `write` appends (encoded by `segment::encode_record`) for
    /// partition `slot`, whose first record has `first` sequence number and offset;
    /// returns the generation to wait for. Callers hold the partition's lock so records are
    /// staged in sequence order.
    pub(crate) fn stage(
        &self,
        slot: usize,
        first: (i64, i64),
        next_sequence: i64,
        write: impl FnOnce(&mut Vec<u8>),
    ) -> Result<u64, StoreFailed> {
        let mut state = self.lock();
        if state.failed || state.closed {
            return Err(StoreFailed);
        }
        let generation = state.generation;
        let staged = &mut state.partitions[slot];
        if staged.first.is_none() {
            staged.first = Some(first);
            state.dirty.push(slot);
        }
        let staged = &mut state.partitions[slot];
        write(&mut staged.records);
        staged.next_sequence = next_sequence;
        drop(state);
        self.wake.notify_one();
        Ok(generation)
    }

    /// Watches commits.
    pub(crate) fn subscribe(&self) -> watch::Receiver<Commit> {
        self.commits.subscribe()
    }

    /// Asks the writer to write what is staged and stop.
    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.wake.notify_one();
    }

    /// [`Journal::close`], then waits up to `within` for the writer to end (its last
    /// records written, the directory unlocked); false if it did not.
    pub(crate) async fn close_and_wait(&self, within: std::time::Duration) -> bool {
        self.close();
        let mut stopped = self.stopped.subscribe();
        let ended = tokio::time::timeout(within, stopped.wait_for(|s| *s)).await;
        if ended.is_err() {
            tracing::warn!(?within, "the durable store's writer did not stop in time");
        }
        ended.is_ok()
    }
}

/// The writer's view of one partition's files.
#[derive(Debug)]
pub(crate) struct PartitionFiles {
    dir: PathBuf,
    segments: Vec<Segment>,
    active: File,
}

impl PartitionFiles {
    /// Opens the last recovered segment for appending, or creates the first one.
    pub(crate) fn open(
        dir: PathBuf,
        mut segments: Vec<Segment>,
        next: (i64, i64),
    ) -> io::Result<Self> {
        let active = match segments.last() {
            Some(last) => OpenOptions::new().append(true).open(&last.path)?,
            None => {
                let (file, segment) = create_segment(&dir, next)?;
                segments.push(segment);
                file
            }
        };
        Ok(Self {
            dir,
            segments,
            active,
        })
    }

    /// Appends `records` (rolling to a new segment first when the active one is full);
    /// returns whether it rolled, the segment written and where the records start in it.
    fn append(
        &mut self,
        records: &[u8],
        first: (i64, i64),
        roll_at: u64,
    ) -> io::Result<(bool, Arc<Path>, u64)> {
        let mut rolled = false;
        let active_len = self.segments.last().map_or(0, |s| s.len);
        if active_len >= roll_at && active_len > SEGMENT_HEADER_LEN {
            let (file, segment) = create_segment(&self.dir, first)?;
            self.active = file;
            self.segments.push(segment);
            rolled = true;
        }
        self.active.write_all(records)?;
        let segment = self
            .segments
            .last_mut()
            .ok_or_else(|| io::Error::other("a partition without a segment"))?;
        let at = segment.len;
        segment.len += records.len() as u64;
        Ok((rolled, segment.path.clone(), at))
    }

    /// Deletes whole segments every event of which is below `first_retained`.
    pub(crate) fn drop_segments_below(&mut self, first_retained: i64) {
        while self.segments.len() > 1 && self.segments[1].base <= first_retained {
            let old = self.segments.remove(0);
            if let Err(e) = fs::remove_file(&old.path) {
                tracing::warn!(path = %old.path.display(), error = %e, "cannot delete an expired segment");
            }
        }
    }
}

fn create_segment(dir: &Path, (base, offset): (i64, i64)) -> io::Result<(File, Segment)> {
    let path = segment_path(dir, base);
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(&path)?;
    file.write_all(&segment_header(base, offset))?;
    Ok((
        file,
        Segment {
            base,
            path: Arc::from(path),
            len: SEGMENT_HEADER_LEN,
        },
    ))
}

/// Prepares the writer over `files` (one per partition slot), holding the directory's
/// `lock` until it ends.
pub(crate) fn start(
    files: Vec<PartitionFiles>,
    lock: DirLock,
    sync: SyncPolicy,
    segment_bytes: u64,
) -> (Arc<Journal>, Writer) {
    let journal = Arc::new(Journal {
        state: Mutex::new(State {
            generation: 1,
            partitions: files.iter().map(|_| Staged::default()).collect(),
            ..State::default()
        }),
        wake: Condvar::new(),
        commits: watch::channel(Commit {
            generation: 0,
            failed: false,
        })
        .0,
        stopped: watch::channel(false).0,
    });
    let writer = Writer {
        journal: journal.clone(),
        files,
        _lock: lock,
        sync,
        // Positions within a segment are kept in 32 bits.
        segment_bytes: segment_bytes.min(1 << 30),
    };
    (journal, writer)
}

/// The writer thread's state; [`Writer::spawn`] runs it.
#[derive(Debug)]
pub(crate) struct Writer {
    journal: Arc<Journal>,
    files: Vec<PartitionFiles>,
    /// Released when the writer (and so the last write) is gone.
    _lock: DirLock,
    sync: SyncPolicy,
    segment_bytes: u64,
}

/// Tells [`Journal::close_and_wait`] the writer thread has ended.
struct Stopped(Arc<Journal>);

impl Drop for Stopped {
    fn drop(&mut self) {
        self.0.stopped.send_replace(true);
    }
}

/// One partition's share of a generation.
struct Batch {
    slot: usize,
    records: Vec<u8>,
    first: (i64, i64),
    next_sequence: i64,
}

impl Writer {
    /// Runs the writer on its own thread; it publishes into `ns` while `ns` lives.
    pub(crate) fn spawn(self, ns: Weak<Namespace>) -> io::Result<()> {
        std::thread::Builder::new()
            .name("eh-journal".into())
            .spawn(move || {
                // Declared first, dropped last: the writer (files, lock) is gone before
                // anyone waiting hears it stopped, even if it panicked.
                let _stopped = Stopped(self.journal.clone());
                self.run(&ns);
            })
            .map(drop)
    }

    fn run(mut self, ns: &Weak<Namespace>) {
        let mut spare: Vec<Vec<u8>> = Vec::new();
        while let Some((generation, batches)) = self.take(&mut spare) {
            match self.write(&batches) {
                Ok(written) => {
                    // Visible before acknowledged: a producer that reads right after its
                    // send is accepted must find the event.
                    if let Some(ns) = ns.upgrade() {
                        self.publish(&ns, &batches, &written);
                    }
                    self.journal.commits.send_replace(Commit {
                        generation,
                        failed: false,
                    });
                }
                Err(e) => {
                    tracing::error!(error = %e, "writing the durable store failed; sends are now rejected");
                    self.journal.lock().failed = true;
                    self.journal.commits.send_replace(Commit {
                        generation: generation - 1,
                        failed: true,
                    });
                    return;
                }
            }
            spare.extend(batches.into_iter().map(|mut b| {
                b.records.clear();
                b.records
            }));
        }
    }

    /// Waits for staged records and takes them, starting the next generation.
    fn take(&self, spare: &mut Vec<Vec<u8>>) -> Option<(u64, Vec<Batch>)> {
        let mut state = self.journal.lock();
        while state.dirty.is_empty() {
            if state.closed {
                return None;
            }
            state = self
                .journal
                .wake
                .wait(state)
                .unwrap_or_else(|p| p.into_inner());
        }
        let generation = state.generation;
        state.generation += 1;
        let dirty = std::mem::take(&mut state.dirty);
        let batches = dirty
            .into_iter()
            .filter_map(|slot| {
                let staged = &mut state.partitions[slot];
                let records =
                    std::mem::replace(&mut staged.records, spare.pop().unwrap_or_default());
                Some(Batch {
                    slot,
                    records,
                    first: staged.first.take()?,
                    next_sequence: staged.next_sequence,
                })
            })
            .collect();
        Some((generation, batches))
    }

    /// Writes every batch; returns where each one's records went.
    fn write(&mut self, batches: &[Batch]) -> io::Result<Vec<(Arc<Path>, u64)>> {
        let mut new_files = false;
        let mut written = Vec::with_capacity(batches.len());
        for b in batches {
            let (rolled, file, at) =
                self.files[b.slot].append(&b.records, b.first, self.segment_bytes)?;
            new_files |= rolled;
            written.push((file, at));
        }
        if self.sync == SyncPolicy::Always {
            for b in batches {
                self.files[b.slot].active.sync_data()?;
            }
            if new_files {
                // A new segment's directory entry must be durable too.
                for b in batches {
                    File::open(&self.files[b.slot].dir)?.sync_all()?;
                }
            }
        }
        Ok(written)
    }

    fn publish(&mut self, ns: &Namespace, batches: &[Batch], written: &[(Arc<Path>, u64)]) {
        for (b, (file, at)) in batches.iter().zip(written) {
            let Some(p) = ns.partition_by_slot(b.slot) else {
                continue;
            };
            let (visible, first_retained) = {
                let mut log = p.lock();
                log.written(b.first, b.next_sequence, file, *at);
                (log.publish(b.next_sequence), log.first_sequence())
            };
            p.tail.send_replace(visible);
            self.files[b.slot].drop_segments_below(first_retained);
        }
    }
}
