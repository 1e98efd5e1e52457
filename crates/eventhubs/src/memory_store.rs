//! [`InMemoryCheckpointStore`]: ownership and checkpoints in this process's memory, for
//! tests, and for consumers that do not need to survive a restart.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::SystemTime;

use crate::checkpoint_store::{Checkpoint, CheckpointStore, Ownership, StoreFuture};

/// A consumer group's partition: names compared case-insensitively, as the service does.
type Key = (String, String, String, String);

fn key(ns: &str, hub: &str, group: &str, partition: &str) -> Key {
    (
        ns.to_ascii_lowercase(),
        hub.to_ascii_lowercase(),
        group.to_ascii_lowercase(),
        partition.to_owned(),
    )
}

fn in_group(k: &Key, ns: &str, hub: &str, group: &str) -> bool {
    k.0.eq_ignore_ascii_case(ns) && k.1.eq_ignore_ascii_case(hub) && k.2.eq_ignore_ascii_case(group)
}

/// Ownership claims and checkpoints in memory, lost when the process ends. Claims are
/// compare-and-swap on the etag, like a durable store's.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), eventhubs::Error> {
/// use eventhubs::{Checkpoint, CheckpointStore, InMemoryCheckpointStore};
/// let store = InMemoryCheckpointStore::new();
/// let mut cp = Checkpoint::new("ns.example", "hub", "$Default", "0");
/// cp.sequence_number = Some(41);
/// store.update_checkpoint(cp).await?;
/// let all = store.list_checkpoints("ns.example", "hub", "$default").await?;
/// assert_eq!(all[0].sequence_number, Some(41));
/// # Ok(()) }
/// ```
#[derive(Debug, Default)]
pub struct InMemoryCheckpointStore {
    ownership: Mutex<HashMap<Key, Ownership>>,
    checkpoints: Mutex<HashMap<Key, Checkpoint>>,
    next_etag: AtomicU64,
}

impl InMemoryCheckpointStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl CheckpointStore for InMemoryCheckpointStore {
    fn list_ownership<'a>(
        &'a self,
        ns: &'a str,
        hub: &'a str,
        group: &'a str,
    ) -> StoreFuture<'a, Vec<Ownership>> {
        Box::pin(async move {
            let map = self.ownership.lock().unwrap_or_else(|p| p.into_inner());
            Ok(map
                .iter()
                .filter(|(k, _)| in_group(k, ns, hub, group))
                .map(|(_, o)| o.clone())
                .collect())
        })
    }

    fn claim_ownership<'a>(
        &'a self,
        ownerships: Vec<Ownership>,
    ) -> StoreFuture<'a, Vec<Ownership>> {
        Box::pin(async move {
            let mut map = self.ownership.lock().unwrap_or_else(|p| p.into_inner());
            let mut claimed = Vec::new();
            for mut o in ownerships {
                let k = key(
                    &o.fully_qualified_namespace,
                    &o.eventhub_name,
                    &o.consumer_group,
                    &o.partition_id,
                );
                let current = map.get(&k).and_then(|c| c.etag.clone());
                if current != o.etag {
                    continue; // someone else claimed it since `o` was read
                }
                o.etag = Some(self.next_etag.fetch_add(1, Ordering::Relaxed).to_string());
                o.last_modified_time = SystemTime::now();
                map.insert(k, o.clone());
                claimed.push(o);
            }
            Ok(claimed)
        })
    }

    fn list_checkpoints<'a>(
        &'a self,
        ns: &'a str,
        hub: &'a str,
        group: &'a str,
    ) -> StoreFuture<'a, Vec<Checkpoint>> {
        Box::pin(async move {
            let map = self.checkpoints.lock().unwrap_or_else(|p| p.into_inner());
            Ok(map
                .iter()
                .filter(|(k, _)| in_group(k, ns, hub, group))
                .map(|(_, c)| c.clone())
                .collect())
        })
    }

    fn update_checkpoint<'a>(&'a self, checkpoint: Checkpoint) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let k = key(
                &checkpoint.fully_qualified_namespace,
                &checkpoint.eventhub_name,
                &checkpoint.consumer_group,
                &checkpoint.partition_id,
            );
            self.checkpoints
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(k, checkpoint);
            Ok(())
        })
    }
}
