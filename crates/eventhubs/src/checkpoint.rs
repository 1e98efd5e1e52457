//! Checkpoints: where a consumer group got to in a partition, and persisters that keep
//! them — in memory (the default) or as files (one per partition, replaced atomically).

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::{Error, ErrorKind};

/// The last handled event of a partition for a consumer group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Its offset.
    pub offset: String,
    /// Its sequence number.
    pub sequence_number: i64,
    /// When it was enqueued.
    pub enqueued_time: SystemTime,
}

impl Checkpoint {
    fn to_json(&self) -> String {
        let ms = self
            .enqueued_time
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        serde_json::json!({
            "offset": self.offset,
            "sequence_number": self.sequence_number,
            "enqueued_time_ms": ms,
        })
        .to_string()
    }

    fn from_json(text: &str) -> Option<Self> {
        let v: serde_json::Value = serde_json::from_str(text).ok()?;
        Some(Self {
            offset: v.get("offset")?.as_str()?.to_owned(),
            sequence_number: v.get("sequence_number")?.as_i64()?,
            enqueued_time: UNIX_EPOCH + Duration::from_millis(v.get("enqueued_time_ms")?.as_u64()?),
        })
    }
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

/// Checkpoints in memory: lost when the process ends (the default).
#[derive(Debug, Default)]
pub struct MemoryPersister {
    map: Mutex<HashMap<CheckpointKey, Checkpoint>>,
}

impl MemoryPersister {
    /// An empty persister.
    pub fn new() -> Self {
        Self::default()
    }
}

impl CheckpointPersister for MemoryPersister {
    fn write<'a>(
        &'a self,
        key: &'a CheckpointKey,
        checkpoint: &'a Checkpoint,
    ) -> PersistFuture<'a, ()> {
        Box::pin(async move {
            self.map
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(key.clone(), checkpoint.clone());
            Ok(())
        })
    }

    fn read<'a>(&'a self, key: &'a CheckpointKey) -> PersistFuture<'a, Option<Checkpoint>> {
        Box::pin(async move {
            Ok(self
                .map
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(key)
                .cloned())
        })
    }
}

/// Checkpoints as JSON files in a directory, one per partition, each written to a
/// temporary file, synced, then renamed over the old one — a crash mid-write leaves the
/// previous checkpoint intact.
#[derive(Debug, Clone)]
pub struct FilePersister {
    dir: PathBuf,
}

impl FilePersister {
    /// Keeps checkpoints in `dir` (created if missing).
    pub fn new(dir: impl Into<PathBuf>) -> Result<Self, Error> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|e| {
            Error::new(
                ErrorKind::Checkpoint,
                format!("cannot create checkpoint directory {}: {e}", dir.display()),
            )
            .with_source(e)
        })?;
        Ok(Self { dir })
    }

    /// The file of `key`: `<namespace>_<hub>_<group>_<partition>.json`, with characters
    /// other than letters, digits, `-`, `.` and `_` replaced by `_`.
    pub fn path_of(&self, key: &CheckpointKey) -> PathBuf {
        let name = format!(
            "{}_{}_{}_{}",
            key.namespace, key.hub, key.consumer_group, key.partition_id
        );
        let safe: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        self.dir.join(format!("{safe}.json"))
    }
}

fn checkpoint_error(path: &Path, what: &str, e: std::io::Error) -> Error {
    Error::new(
        ErrorKind::Checkpoint,
        format!("cannot {what} checkpoint {}: {e}", path.display()),
    )
    .with_source(e)
}

impl CheckpointPersister for FilePersister {
    fn write<'a>(
        &'a self,
        key: &'a CheckpointKey,
        checkpoint: &'a Checkpoint,
    ) -> PersistFuture<'a, ()> {
        Box::pin(async move {
            let path = self.path_of(key);
            let tmp = path.with_extension("json.tmp");
            let text = checkpoint.to_json();
            let write = async {
                use tokio::io::AsyncWriteExt;
                let mut f = tokio::fs::File::create(&tmp).await?;
                f.write_all(text.as_bytes()).await?;
                f.sync_all().await?;
                tokio::fs::rename(&tmp, &path).await
            };
            write.await.map_err(|e| checkpoint_error(&path, "write", e))
        })
    }

    fn read<'a>(&'a self, key: &'a CheckpointKey) -> PersistFuture<'a, Option<Checkpoint>> {
        Box::pin(async move {
            let path = self.path_of(key);
            match tokio::fs::read_to_string(&path).await {
                Ok(text) => Checkpoint::from_json(&text).map(Some).ok_or_else(|| {
                    Error::new(
                        ErrorKind::Checkpoint,
                        format!("checkpoint {} is not valid", path.display()),
                    )
                }),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(checkpoint_error(&path, "read", e)),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        std::fs::write(path.with_extension("json.tmp"), "{\"offs").unwrap();
        let again = FilePersister::new(&dir).unwrap();
        assert_eq!(again.read(&key("0")).await.unwrap(), Some(cp(2)));
        assert!(path
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .contains("_Default_0"));
        std::fs::write(&path, "garbage").unwrap();
        let err = again.read(&key("0")).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Checkpoint);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
