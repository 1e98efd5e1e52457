//! The namespace: hubs, their partitions (log plus a tail signal for waiting receivers)
//! and counters.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

use tokio::sync::watch;

use crate::config::{Config, HubConfig};
use crate::log::PartitionLog;

/// One partition: its log, a watch that changes whenever an event is appended, and
/// counters for observability.
#[derive(Debug)]
pub struct Partition {
    /// Partition id ("0", "1", ...).
    pub id: String,
    /// The events.
    pub log: Mutex<PartitionLog>,
    /// The next sequence number; receivers wait on it for new events.
    pub tail: watch::Sender<i64>,
    /// Events stored.
    pub events_in: AtomicU64,
    /// Events delivered to receivers.
    pub events_out: AtomicU64,
}

impl Partition {
    fn new(id: String) -> Self {
        Self {
            id,
            log: Mutex::default(),
            tail: watch::channel(0).0,
            events_in: AtomicU64::new(0),
            events_out: AtomicU64::new(0),
        }
    }

    /// Locks the log (a poisoned lock means a panic elsewhere; the data is still sound).
    pub fn lock(&self) -> std::sync::MutexGuard<'_, PartitionLog> {
        self.log.lock().unwrap_or_else(|p| p.into_inner())
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
    fn new(c: &HubConfig, now_ms: i64) -> Self {
        Self {
            name: c.name.clone(),
            created_ms: now_ms,
            partitions: (0..c.partition_count)
                .map(|i| Partition::new(i.to_string()))
                .collect(),
            consumer_groups: c.consumer_groups.clone(),
            round_robin: AtomicUsize::new(0),
        }
    }

    /// A partition by id.
    pub fn partition(&self, id: &str) -> Option<&Partition> {
        self.partitions.iter().find(|p| p.id == id)
    }

    /// True if the consumer group exists (case-insensitive, PROTOCOL.md §9.10).
    pub fn has_consumer_group(&self, name: &str) -> bool {
        self.consumer_groups
            .iter()
            .any(|c| c.eq_ignore_ascii_case(name))
    }

    /// The next partition index for an event without key or partition.
    pub fn next_round_robin(&self) -> usize {
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
}

impl Namespace {
    /// Builds the namespace from configuration.
    pub fn new(config: Config) -> Self {
        let now = crate::clock::now_ms();
        let hubs = config.hubs.iter().map(|h| Hub::new(h, now)).collect();
        Self { config, hubs }
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
