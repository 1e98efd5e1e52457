//! The namespace: hubs, their partitions (log plus a tail signal for waiting receivers)
//! and counters; opening it recovers the durable store.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use crate::config::{Config, HubConfig, Storage};
use crate::dir_lock::DirLock;
use crate::journal::{self, Journal, PartitionFiles};
use crate::log::{PartitionInfo, PartitionLog, StoredEvent};
use crate::segment;

/// One partition: its log, a watch that changes whenever an event is appended, and
/// counters for observability.
#[derive(Debug)]
pub struct Partition {
    /// Partition id ("0", "1", ...).
    pub id: String,
    /// Index among all partitions of the namespace.
    pub(crate) slot: usize,
    /// The events.
    log: Mutex<PartitionLog>,
    /// The next sequence number; receivers wait on it for new events.
    pub(crate) tail: watch::Sender<i64>,
    /// Events stored.
    pub(crate) events_in: AtomicU64,
    /// Events delivered to receivers.
    pub(crate) events_out: AtomicU64,
}

impl Partition {
    fn new(id: String, slot: usize, log: PartitionLog) -> Self {
        let visible = log.next_sequence();
        Self {
            id,
            slot,
            log: Mutex::new(log),
            tail: watch::channel(visible).0,
            events_in: AtomicU64::new(0),
            events_out: AtomicU64::new(0),
        }
    }

    /// Locks the log (a poisoned lock means a panic elsewhere; the data is still sound).
    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, PartitionLog> {
        self.log.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What `$management` reports for this partition now.
    pub fn info(&self) -> PartitionInfo {
        self.lock().info()
    }

    /// Bytes of event bodies held in memory (in durable mode, within the partition's share
    /// of the cache once written).
    pub fn cached_bytes(&self) -> u64 {
        self.lock().cached_bytes()
    }

    /// Up to `max` retained events visible to readers, from sequence number `from` on
    /// (copies of the handles: cached event bytes are shared, not copied; the others are
    /// read from their segment files).
    ///
    /// # Errors
    /// When a segment file cannot be read.
    pub fn events(&self, from: i64, max: usize) -> std::io::Result<Vec<StoredEvent>> {
        let pending = self.lock().read(from, max);
        crate::log::load(pending)
    }

    /// Events stored in this partition since the emulator started.
    pub fn events_in(&self) -> u64 {
        self.events_in.load(Ordering::Relaxed)
    }

    /// Events delivered from this partition to readers since the emulator started.
    pub fn events_out(&self) -> u64 {
        self.events_out.load(Ordering::Relaxed)
    }
}

/// One event hub.
#[derive(Debug)]
pub struct Hub {
    /// Name as configured.
    pub name: String,
    /// Creation time, Unix ms.
    pub created_ms: i64,
    /// Partitions in id order.
    pub partitions: Vec<Partition>,
    /// Consumer groups as configured.
    pub consumer_groups: Vec<String>,
    round_robin: AtomicUsize,
}

impl Hub {
    fn new(
        c: &HubConfig,
        now_ms: i64,
        logs: &mut impl Iterator<Item = PartitionLog>,
        slot: &mut usize,
    ) -> Self {
        Self {
            name: c.name.clone(),
            created_ms: now_ms,
            partitions: (0..c.partition_count)
                .map(|i| {
                    *slot += 1;
                    Partition::new(i.to_string(), *slot - 1, logs.next().unwrap_or_default())
                })
                .collect(),
            consumer_groups: c.consumer_groups.clone(),
            round_robin: AtomicUsize::new(0),
        }
    }

    /// Events retained in all partitions (stored and visible to receivers). Benchmarks
    /// check it against what they counted as acknowledged.
    pub fn stored_events(&self) -> u64 {
        self.partitions
            .iter()
            .map(Partition::info)
            .filter(|i| !i.is_empty)
            .map(|i| (i.last_sequence_number - i.begin_sequence_number + 1) as u64)
            .sum()
    }

    /// A partition by id.
    pub fn partition(&self, id: &str) -> Option<&Partition> {
        self.partitions.iter().find(|p| p.id == id)
    }

    /// True if the consumer group exists (case-insensitive, docs/PROTOCOL.md §9.10).
    pub fn has_consumer_group(&self, name: &str) -> bool {
        self.consumer_groups
            .iter()
            .any(|c| c.eq_ignore_ascii_case(name))
    }

    /// The next partition index for an event without key or partition.
    pub(crate) fn next_round_robin(&self) -> usize {
        self.round_robin.fetch_add(1, Ordering::Relaxed) % self.partitions.len()
    }
}

/// All hubs of the emulated namespace.
#[derive(Debug)]
pub struct Namespace {
    /// The configuration it was built from.
    pub config: Config,
    /// Hubs.
    pub hubs: Vec<Hub>,
    /// The durable store's writer, if any.
    pub(crate) journal: Option<Arc<Journal>>,
    /// Links detached because the token authorizing them expired.
    pub(crate) links_expired: AtomicU64,
}

impl Namespace {
    /// How many links were detached because the token authorizing them expired (a
    /// renewed token in time keeps a link: a test of token refresh expects this to stay 0).
    pub fn links_expired(&self) -> u64 {
        self.links_expired.load(Ordering::Relaxed)
    }

    /// Builds an in-memory namespace from configuration (ignoring [`Config::storage`]).
    pub fn new(config: Config) -> Self {
        Self::build(config, Vec::new(), None)
    }

    /// Opens the namespace `config` describes: in memory, or recovered from the durable
    /// store's directory (truncating any torn tail) with its writer started. The
    /// directory is locked first: while one namespace (in any process) has it open,
    /// another fails with [`std::io::ErrorKind::ResourceBusy`], naming the holder's pid.
    pub fn open(config: Config) -> std::io::Result<Arc<Self>> {
        let Storage::Durable(durable) = config.storage.clone() else {
            return Ok(Arc::new(Self::new(config)));
        };
        let lock = DirLock::acquire(&durable.dir)?;
        // The cache is shared out evenly: each partition keeps its newest bodies within
        // its share.
        let partitions: u64 = config.hubs.iter().map(|h| h.partition_count as u64).sum();
        let budget = durable.cache_bytes.map(|b| b / partitions.max(1));
        let dirs: Vec<PathBuf> = config
            .hubs
            .iter()
            .flat_map(|hub| {
                (0..hub.partition_count).map(|p| partition_dir(&durable.dir, &hub.name, p))
            })
            .collect();
        let (logs, files) = recover_partitions(dirs, &config, budget)?
            .into_iter()
            .unzip();
        let (journal, writer) = journal::start(files, lock, durable.sync, durable.segment_bytes);
        let ns = Arc::new(Self::build(config, logs, Some(journal)));
        writer.spawn(Arc::downgrade(&ns))?;
        Ok(ns)
    }

    fn build(config: Config, logs: Vec<PartitionLog>, journal: Option<Arc<Journal>>) -> Self {
        let now = crate::clock::now_ms();
        let (mut logs, mut slot) = (logs.into_iter(), 0);
        let hubs = config
            .hubs
            .iter()
            .map(|h| Hub::new(h, now, &mut logs, &mut slot))
            .collect();
        Self {
            config,
            hubs,
            journal,
            links_expired: AtomicU64::new(0),
        }
    }

    /// Closes the durable store (no-op in memory): what is staged is written and synced,
    /// the writer stops and the directory's lock is released, so another emulator may
    /// open it. Sends after this are rejected. Waits up to `within` for the writer and
    /// returns whether it finished.
    pub async fn close_store(&self, within: std::time::Duration) -> bool {
        match &self.journal {
            Some(journal) => journal.close_and_wait(within).await,
            None => true,
        }
    }

    /// A partition by its index among all partitions of the namespace.
    pub(crate) fn partition_by_slot(&self, slot: usize) -> Option<&Partition> {
        self.hubs.iter().flat_map(|h| &h.partitions).nth(slot)
    }

    /// A hub by name (case-insensitive).
    pub fn hub(&self, name: &str) -> Option<&Hub> {
        self.hub_index(name).map(|i| &self.hubs[i])
    }

    /// The index in [`Namespace::hubs`] of a hub by name (case-insensitive).
    pub fn hub_index(&self, name: &str) -> Option<usize> {
        self.hubs
            .iter()
            .position(|h| h.name.eq_ignore_ascii_case(name))
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        if let Some(journal) = &self.journal {
            journal.close();
        }
    }
}

/// `<data dir>/<hub, lower case, '/' as '~'>/<partition>`: hub names are case-insensitive
/// and may contain '/', which '~' (not allowed in names) replaces.
fn partition_dir(root: &Path, hub: &str, partition: usize) -> PathBuf {
    root.join(hub.to_ascii_lowercase().replace('/', "~"))
        .join(partition.to_string())
}

/// Recovers every partition directory, a few at a time (one per core: recovery reads and
/// checks every record, so a restart's downtime is the slowest core's share).
fn recover_partitions(
    dirs: Vec<PathBuf>,
    config: &Config,
    cache_budget: Option<u64>,
) -> std::io::Result<Vec<(PartitionLog, PartitionFiles)>> {
    let now = crate::clock::now_ms();
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(dirs.len())
        .max(1);
    let mut recovered: Vec<(usize, std::io::Result<(PartitionLog, PartitionFiles)>)> =
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..workers)
                .map(|_| {
                    scope.spawn(|| {
                        // One segment's buffer per worker, reused for every file it reads.
                        let (mut buf, mut done) = (Vec::new(), Vec::new());
                        loop {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            let Some(dir) = dirs.get(i) else {
                                return done;
                            };
                            let partition =
                                recover_partition(dir.clone(), config, now, cache_budget, &mut buf);
                            let failed = partition.is_err();
                            done.push((i, partition));
                            if failed {
                                return done;
                            }
                        }
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_default())
                .collect()
        });
    if recovered.len() < dirs.len() && recovered.iter().all(|(_, r)| r.is_ok()) {
        return Err(std::io::Error::other("a recovery worker panicked"));
    }
    recovered.sort_by_key(|(i, _)| *i);
    recovered.into_iter().map(|(_, r)| r).collect()
}

fn recover_partition(
    dir: PathBuf,
    config: &Config,
    now_ms: i64,
    cache_budget: Option<u64>,
    buf: &mut Vec<u8>,
) -> std::io::Result<(PartitionLog, PartitionFiles)> {
    let context = |e: std::io::Error| {
        std::io::Error::new(e.kind(), format!("durable store {}: {e}", dir.display()))
    };
    let r = segment::recover(&dir, buf).map_err(context)?;
    if r.truncated_bytes > 0 {
        tracing::warn!(dir = %dir.display(), bytes = r.truncated_bytes, "recovered after a crash: cut a torn tail");
    }
    let next = (r.next_sequence, r.next_offset);
    tracing::debug!(dir = %dir.display(), events = r.index.len(), next_sequence = next.0, "partition recovered");
    let paths = r.segments.iter().map(|s| s.path.clone());
    let mut log = PartitionLog::recovered(r.index, r.first_sequence, paths, next, cache_budget);
    log.trim(&config.retention, now_ms);
    let mut files = PartitionFiles::open(dir.clone(), r.segments, next).map_err(context)?;
    files.drop_segments_below(log.first_sequence());
    Ok((log, files))
}
