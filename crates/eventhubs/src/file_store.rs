//! [`FileCheckpointStore`]: ownership and checkpoints as small JSON files in a directory,
//! safe for several processes on one machine.
//!
//! Layout: `<root>/<namespace>/<hub>/<consumer group>/{checkpoint,ownership}/<partition>.json`,
//! names lower-cased (they are case-insensitive) and percent-encoded so that no two names
//! share a file (`$Default` is `%24default`, `a_b` is `a%5fb`). Every file is written to a
//! temporary file of its own, synced, renamed over the old one, and the directory synced:
//! a crash leaves the old or the new version, never a torn one. Claims of one consumer
//! group are serialised across processes by an advisory lock on `ownership/.lock`.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::checkpoint_store::{Checkpoint, CheckpointStore, Ownership, StoreFuture};
use crate::error::{Error, ErrorKind};

/// Checkpoints and ownership claims in files under a directory.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), eventhubs::Error> {
/// use eventhubs::{Checkpoint, CheckpointStore, FileCheckpointStore, Ownership};
/// # let dir = std::env::temp_dir().join(format!("eh-doc-store-{}", std::process::id()));
/// let store = FileCheckpointStore::new(&dir)?;
/// let claim = Ownership::new("ns.example", "hub", "$Default", "0", "processor-a", None);
/// let won = store.claim_ownership(vec![claim.clone()]).await?;
/// assert_eq!(won.len(), 1);
/// // A second claim naming no (or an old) version loses.
/// assert!(store.claim_ownership(vec![claim]).await?.is_empty());
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct FileCheckpointStore {
    root: PathBuf,
}

impl FileCheckpointStore {
    /// A store in `root` (created if missing).
    pub fn new(root: impl Into<PathBuf>) -> Result<Self, Error> {
        let root = root.into();
        std::fs::create_dir_all(&root).map_err(|e| io_error(&root, "create", e))?;
        Ok(Self { root })
    }

    /// The directory of one consumer group's `kind` (`checkpoint` or `ownership`) files.
    fn dir(&self, ns: &str, hub: &str, group: &str, kind: &str) -> PathBuf {
        self.root
            .join(encode(&ns.to_ascii_lowercase()))
            .join(encode(&hub.to_ascii_lowercase()))
            .join(encode(&group.to_ascii_lowercase()))
            .join(kind)
    }

    /// The file of one partition's checkpoint.
    pub fn checkpoint_path(&self, ns: &str, hub: &str, group: &str, partition: &str) -> PathBuf {
        self.dir(ns, hub, group, "checkpoint")
            .join(format!("{}.json", encode(partition)))
    }

    fn ownership_path(&self, ns: &str, hub: &str, group: &str, partition: &str) -> PathBuf {
        self.dir(ns, hub, group, "ownership")
            .join(format!("{}.json", encode(partition)))
    }
}

/// Percent-encodes everything but `a-z`, `0-9`, `-` and `.` (and a leading `.`, so no
/// name is hidden or special): a one-to-one map from names to file names.
fn encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for (i, b) in name.bytes().enumerate() {
        let plain =
            b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || (b == b'.' && i > 0);
        if plain {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02x}"));
        }
    }
    out
}

/// The name a file name encodes (`None` for files that are not ours).
fn decode(file: &str) -> Option<String> {
    let stem = file.strip_suffix(".json")?;
    let mut bytes = Vec::with_capacity(stem.len());
    let mut rest = stem.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'%' {
            let hex = std::str::from_utf8(tail.get(..2)?).ok()?;
            bytes.push(u8::from_str_radix(hex, 16).ok()?);
            rest = &tail[2..];
        } else {
            bytes.push(b);
            rest = tail;
        }
    }
    String::from_utf8(bytes).ok()
}

fn io_error(path: &Path, what: &str, e: std::io::Error) -> Error {
    Error::new(
        ErrorKind::Checkpoint,
        format!("cannot {what} {}: {e}", path.display()),
    )
    .with_source(e)
}

fn millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Replaces `path` with `bytes`: a temporary file of this writer's own, synced, renamed
/// over the old file, then the directory synced.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir, "create", e))?;
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(
        ".{file_name}.{}.{}.tmp",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let write = || -> std::io::Result<()> {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io_error(path, "write", e)
    })
}

/// The JSON of `path`, `None` when it does not exist.
fn read_json(path: &Path) -> Result<Option<serde_json::Value>, Error> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).map(Some).map_err(|e| {
            Error::new(
                ErrorKind::Checkpoint,
                format!("{} is not valid JSON: {e}", path.display()),
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_error(path, "read", e)),
    }
}

/// The partitions that have a file in `dir`, with their JSON.
fn read_all(dir: &Path) -> Result<Vec<(String, serde_json::Value)>, Error> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_error(dir, "list", e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| io_error(dir, "list", e))?;
        let name = entry.file_name();
        let Some(partition) = name
            .to_str()
            .filter(|n| !n.starts_with('.'))
            .and_then(decode)
        else {
            continue;
        };
        if let Some(json) = read_json(&entry.path())? {
            out.push((partition, json));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

fn checkpoint_from(
    ns: &str,
    hub: &str,
    group: &str,
    partition: String,
    v: &serde_json::Value,
) -> Checkpoint {
    let mut c = Checkpoint::new(ns, hub, group, partition);
    c.offset = v.get("offset").and_then(|o| o.as_str()).map(str::to_owned);
    c.sequence_number = v.get("sequence_number").and_then(serde_json::Value::as_i64);
    c.enqueued_time = v
        .get("enqueued_time_ms")
        .and_then(serde_json::Value::as_u64)
        .map(|ms| UNIX_EPOCH + Duration::from_millis(ms));
    c
}

fn ownership_from(
    ns: &str,
    hub: &str,
    group: &str,
    partition: String,
    v: &serde_json::Value,
) -> Ownership {
    let mut o = Ownership::new(
        ns,
        hub,
        group,
        partition,
        v.get("owner_id")
            .and_then(|x| x.as_str())
            .unwrap_or_default(),
        v.get("etag").and_then(|x| x.as_str()).map(str::to_owned),
    );
    o.last_modified_time = UNIX_EPOCH
        + Duration::from_millis(
            v.get("last_modified_ms")
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(0),
        );
    o
}

/// A fresh etag: unique across processes and restarts.
fn new_etag() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{nanos:x}-{:x}-{:x}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Runs blocking file work off the async runtime.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        Error::new(
            ErrorKind::Checkpoint,
            format!("checkpoint store task failed: {e}"),
        )
    })?
}

impl CheckpointStore for FileCheckpointStore {
    fn list_ownership<'a>(
        &'a self,
        ns: &'a str,
        hub: &'a str,
        group: &'a str,
    ) -> StoreFuture<'a, Vec<Ownership>> {
        let dir = self.dir(ns, hub, group, "ownership");
        let (ns, hub, group) = (ns.to_owned(), hub.to_owned(), group.to_owned());
        Box::pin(blocking(move || {
            Ok(read_all(&dir)?
                .into_iter()
                .map(|(p, v)| ownership_from(&ns, &hub, &group, p, &v))
                .collect())
        }))
    }

    fn claim_ownership<'a>(
        &'a self,
        ownerships: Vec<Ownership>,
    ) -> StoreFuture<'a, Vec<Ownership>> {
        let store = self.clone();
        Box::pin(blocking(move || {
            let mut claimed = Vec::new();
            for mut o in ownerships {
                let path = store.ownership_path(
                    &o.fully_qualified_namespace,
                    &o.eventhub_name,
                    &o.consumer_group,
                    &o.partition_id,
                );
                let dir = path.parent().unwrap_or_else(|| Path::new(".")).to_owned();
                std::fs::create_dir_all(&dir).map_err(|e| io_error(&dir, "create", e))?;
                // Read, compare and write under the group's lock: a compare-and-swap
                // between processes.
                let lock_path = dir.join(".lock");
                let lock = OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(&lock_path)
                    .map_err(|e| io_error(&lock_path, "open", e))?;
                lock.lock().map_err(|e| io_error(&lock_path, "lock", e))?;
                let current = read_json(&path)?
                    .and_then(|v| v.get("etag").and_then(|e| e.as_str()).map(str::to_owned));
                if current == o.etag {
                    o.etag = Some(new_etag());
                    o.last_modified_time = SystemTime::now();
                    let json = serde_json::json!({
                        "owner_id": o.owner_id,
                        "etag": o.etag,
                        "last_modified_ms": millis(o.last_modified_time),
                    });
                    write_atomically(&path, json.to_string().as_bytes())?;
                    claimed.push(o);
                }
                drop(lock);
            }
            Ok(claimed)
        }))
    }

    fn list_checkpoints<'a>(
        &'a self,
        ns: &'a str,
        hub: &'a str,
        group: &'a str,
    ) -> StoreFuture<'a, Vec<Checkpoint>> {
        let dir = self.dir(ns, hub, group, "checkpoint");
        let (ns, hub, group) = (ns.to_owned(), hub.to_owned(), group.to_owned());
        Box::pin(blocking(move || {
            Ok(read_all(&dir)?
                .into_iter()
                .map(|(p, v)| checkpoint_from(&ns, &hub, &group, p, &v))
                .collect())
        }))
    }

    fn update_checkpoint<'a>(&'a self, checkpoint: Checkpoint) -> StoreFuture<'a, ()> {
        let path = self.checkpoint_path(
            &checkpoint.fully_qualified_namespace,
            &checkpoint.eventhub_name,
            &checkpoint.consumer_group,
            &checkpoint.partition_id,
        );
        Box::pin(blocking(move || {
            let json = serde_json::json!({
                "offset": checkpoint.offset,
                "sequence_number": checkpoint.sequence_number,
                "enqueued_time_ms": checkpoint.enqueued_time.map(millis),
            });
            write_atomically(&path, json.to_string().as_bytes())
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encoding is one-to-one: names that an underscore scheme would merge stay apart.
    #[test]
    fn names_do_not_collide() {
        let names = [
            "$default",
            "_default",
            "%24default",
            "a_b",
            "a$b",
            "a/b",
            "a.b",
            ".x",
        ];
        let encoded: std::collections::HashSet<String> = names.iter().map(|n| encode(n)).collect();
        assert_eq!(encoded.len(), names.len());
        for n in names {
            assert_eq!(decode(&format!("{}.json", encode(n))).as_deref(), Some(n));
            assert!(!encode(n).starts_with('.'), "{n}");
        }
    }
}
