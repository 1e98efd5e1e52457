//! The Go v3 checkpoint persisters (`persist.CheckpointPersister`): where a [`Hub`]
//! receiver records the last handled event of a partition and finds it again. They are
//! adapters over a [`CheckpointStore`]: [`MemoryPersister`] keeps checkpoints in memory (the
//! default), [`FilePersister`] in a [`FileCheckpointStore`].
//!
//! [`Hub`]: crate::Hub

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::SystemTime;

use crate::checkpoint_store::{Checkpoint as StoreCheckpoint, CheckpointStore};
use crate::error::Error;
use crate::file_store::FileCheckpointStore;
use crate::memory_store::InMemoryCheckpointStore;

/// The last handled event of a partition for a consumer group (Go's `persist.Checkpoint`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Its offset.
    pub offset: String,
    /// Its sequence number.
    pub sequence_number: i64,
    /// When it was enqueued.
    pub enqueued_time: SystemTime,
}

/// Which partition of which consumer group a checkpoint belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CheckpointKey {
    /// Namespace host.
    pub namespace: String,
    /// Event hub.
    pub hub: String,
    /// Consumer group.
    pub consumer_group: String,
    /// Partition id.
    pub partition_id: String,
}

/// The future a [`CheckpointPersister`] returns.
pub type PersistFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'a>>;

/// Stores checkpoints so a receiver can resume after the last handled event.
pub trait CheckpointPersister: Send + Sync + std::fmt::Debug {
    /// Records `checkpoint` for `key`.
    fn write<'a>(
        &'a self,
        key: &'a CheckpointKey,
        checkpoint: &'a Checkpoint,
    ) -> PersistFuture<'a, ()>;
    /// The checkpoint of `key`, if one was written.
    fn read<'a>(&'a self, key: &'a CheckpointKey) -> PersistFuture<'a, Option<Checkpoint>>;
}

/// A [`CheckpointPersister`] over any [`CheckpointStore`].
#[derive(Debug)]
pub struct StorePersister<S> {
    store: S,
}

/// Checkpoints in memory: lost when the process ends (the default).
pub type MemoryPersister = StorePersister<InMemoryCheckpointStore>;

/// Checkpoints as files in a directory (a [`FileCheckpointStore`]).
pub type FilePersister = StorePersister<FileCheckpointStore>;

impl<S: CheckpointStore> StorePersister<S> {
    /// Persists into `store`.
    pub fn with_store(store: S) -> Self {
        Self { store }
    }

    /// The store it writes to.
    pub fn store(&self) -> &S {
        &self.store
    }
}

impl StorePersister<InMemoryCheckpointStore> {
    /// An empty in-memory persister.
    pub fn new() -> Self {
        Self::with_store(InMemoryCheckpointStore::new())
    }
}

impl Default for StorePersister<InMemoryCheckpointStore> {
    fn default() -> Self {
        Self::new()
    }
}

impl StorePersister<FileCheckpointStore> {
    /// Keeps checkpoints in `dir` (created if missing).
    pub fn new(dir: impl Into<PathBuf>) -> Result<Self, Error> {
        Ok(Self::with_store(FileCheckpointStore::new(dir)?))
    }

    /// The file `key`'s checkpoint is kept in.
    pub fn path_of(&self, key: &CheckpointKey) -> PathBuf {
        self.store.checkpoint_path(
            &key.namespace,
            &key.hub,
            &key.consumer_group,
            &key.partition_id,
        )
    }
}

impl<S: CheckpointStore> CheckpointPersister for StorePersister<S> {
    fn write<'a>(
        &'a self,
        key: &'a CheckpointKey,
        checkpoint: &'a Checkpoint,
    ) -> PersistFuture<'a, ()> {
        let mut c = StoreCheckpoint::new(
            key.namespace.clone(),
            key.hub.clone(),
            key.consumer_group.clone(),
            key.partition_id.clone(),
        );
        c.offset = Some(checkpoint.offset.clone());
        c.sequence_number = Some(checkpoint.sequence_number);
        c.enqueued_time = Some(checkpoint.enqueued_time);
        self.store.update_checkpoint(c)
    }

    fn read<'a>(&'a self, key: &'a CheckpointKey) -> PersistFuture<'a, Option<Checkpoint>> {
        Box::pin(async move {
            let all = self
                .store
                .list_checkpoints(&key.namespace, &key.hub, &key.consumer_group)
                .await?;
            Ok(all
                .into_iter()
                .find(|c| c.partition_id == key.partition_id)
                .and_then(|c| {
                    Some(Checkpoint {
                        offset: c.offset?,
                        sequence_number: c.sequence_number?,
                        enqueued_time: c.enqueued_time.unwrap_or(SystemTime::UNIX_EPOCH),
                    })
                }))
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::error::ErrorKind;

    fn key(p: &str) -> CheckpointKey {
        CheckpointKey {
            namespace: "ns.example".into(),
            hub: "hub".into(),
            consumer_group: "$Default".into(),
            partition_id: p.into(),
        }
    }

    fn cp(seq: i64) -> Checkpoint {
        Checkpoint {
            offset: (seq * 100).to_string(),
            sequence_number: seq,
            enqueued_time: UNIX_EPOCH + Duration::from_millis(1_700_000_000_123),
        }
    }

    /// Both persisters return what was written, per partition; the file one survives a
    /// new instance, ignores a torn temporary file, and reports a corrupt file clearly.
    #[tokio::test]
    async fn persisters_round_trip() {
        let mem = MemoryPersister::new();
        assert_eq!(mem.read(&key("0")).await.unwrap(), None);
        mem.write(&key("0"), &cp(5)).await.unwrap();
        assert_eq!(mem.read(&key("0")).await.unwrap(), Some(cp(5)));
        assert_eq!(mem.read(&key("1")).await.unwrap(), None);

        let dir = std::env::temp_dir().join(format!("eh-cp-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let files = FilePersister::new(&dir).unwrap();
        files.write(&key("0"), &cp(1)).await.unwrap();
        files.write(&key("0"), &cp(2)).await.unwrap();
        // A crash mid-write leaves only a torn temporary file next to the good one.
        let path = files.path_of(&key("0"));
        std::fs::write(path.with_file_name(".0.json.99.0.tmp"), "{\"offs").unwrap();
        let again = FilePersister::new(&dir).unwrap();
        assert_eq!(again.read(&key("0")).await.unwrap(), Some(cp(2)));
        assert!(
            path.to_str().unwrap().contains("%24default"),
            "{}",
            path.display()
        );
        std::fs::write(&path, "garbage").unwrap();
        let err = again.read(&key("0")).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Checkpoint);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
