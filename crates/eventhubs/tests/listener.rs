//! The handler listener (`Hub::receive`) and the checkpoint stores: checkpoint writes are
//! coalesced, never go past an event whose handler failed, and are flushed when the
//! listener stops; a retry policy retries the same event; a panicking handler is reported;
//! a dropped handle leaves the listener running. The file store's writes are atomic under
//! concurrent writers and its ownership claims are exclusive across instances.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{start_with, within};
use eventhubs::persist::{Checkpoint, CheckpointKey, PersistFuture};
use eventhubs::{
    CheckpointPersister, CheckpointStore, Error, ErrorKind, FileCheckpointStore,
    HandlerErrorPolicy, Hub, HubOptions, MemoryPersister, Ownership, ReceiveOptions,
};
use eventhubs_emulator::{Config, Emulator};

/// A persister that counts its writes.
#[derive(Debug, Default)]
struct Counting {
    inner: MemoryPersister,
    writes: AtomicUsize,
}

impl CheckpointPersister for Counting {
    fn write<'a>(&'a self, key: &'a CheckpointKey, c: &'a Checkpoint) -> PersistFuture<'a, ()> {
        self.writes.fetch_add(1, Ordering::Relaxed);
        self.inner.write(key, c)
    }
    fn read<'a>(&'a self, key: &'a CheckpointKey) -> PersistFuture<'a, Option<Checkpoint>> {
        self.inner.read(key)
    }
}

async fn hub_with(persister: Arc<Counting>) -> (Emulator, Hub) {
    start_with(
        Config::default(),
        HubOptions::default().checkpoint_persister(persister),
    )
    .await
}

fn key(hub: &Hub, partition: &str) -> CheckpointKey {
    CheckpointKey {
        namespace: hub.namespace().to_owned(),
        hub: hub.name().to_owned(),
        consumer_group: "$Default".into(),
        partition_id: partition.into(),
    }
}

async fn fill(hub: &Hub, partition: &str, n: usize) {
    hub.producer()
        .send_events(
            (0..n).map(|i| i.to_string()),
            eventhubs::SendEventOptions::default().partition_id(partition),
        )
        .await
        .unwrap();
}

/// 10,000 handled events with a checkpoint every 1,000: ten writes and the final one,
/// not ten thousand; the last checkpoint is the last event.
#[tokio::test]
async fn checkpoint_writes_are_coalesced() {
    let persister = Arc::new(Counting::default());
    let (_em, hub) = hub_with(persister.clone()).await;
    fill(&hub, "0", 10_000).await;
    let handled = Arc::new(AtomicUsize::new(0));
    let (all_tx, all_rx) = tokio::sync::oneshot::channel();
    let all_tx = Arc::new(Mutex::new(Some(all_tx)));
    let count = handled.clone();
    let handle = hub
        .receive(
            "0",
            move |_e| {
                let (count, all_tx) = (count.clone(), all_tx.clone());
                async move {
                    if count.fetch_add(1, Ordering::Relaxed) + 1 == 10_000 {
                        if let Some(tx) = all_tx.lock().unwrap().take() {
                            let _ = tx.send(());
                        }
                    }
                    Ok(())
                }
            },
            ReceiveOptions::default().checkpoint_every(1000, Duration::from_secs(3600)),
        )
        .await
        .unwrap();
    within("every event handled", all_rx).await.unwrap();
    handle.close().await;
    let writes = persister.writes.load(Ordering::Relaxed);
    assert!(
        (10..=11).contains(&writes),
        "{writes} checkpoint writes for 10,000 events"
    );
    let cp = persister.read(&key(&hub, "0")).await.unwrap().unwrap();
    assert_eq!(cp.sequence_number, 9_999);
}

/// Event 5's handler fails: the listener stops, its checkpoint is event 4 — never past 5,
/// even though a checkpoint was due — and the error is the handler's.
#[tokio::test]
async fn no_checkpoint_past_a_failed_event() {
    let persister = Arc::new(Counting::default());
    let (_em, hub) = hub_with(persister.clone()).await;
    fill(&hub, "1", 10).await;
    let handle = hub
        .receive(
            "1",
            |e| async move {
                if e.sequence_number() == 5 {
                    return Err(Error::new(ErrorKind::Service, "cannot handle 5"));
                }
                Ok(())
            },
            ReceiveOptions::default().checkpoint_every(1, Duration::from_secs(3600)),
        )
        .await
        .unwrap();
    within("stops", handle.done()).await;
    assert!(handle
        .err()
        .unwrap()
        .to_string()
        .contains("cannot handle 5"));
    let cp = persister.read(&key(&hub, "1")).await.unwrap().unwrap();
    assert_eq!(cp.sequence_number, 4);
}

/// With a retry policy, a handler that fails twice on an event gets it a third time and
/// the listener goes on past it.
#[tokio::test]
async fn retry_policy_retries_the_same_event() {
    let persister = Arc::new(Counting::default());
    let (_em, hub) = hub_with(persister.clone()).await;
    fill(&hub, "2", 5).await;
    let calls = Arc::new(Mutex::new(Vec::new()));
    let record = calls.clone();
    let handle = hub
        .receive(
            "2",
            move |e| {
                let record = record.clone();
                async move {
                    let seq = e.sequence_number();
                    let mut calls = record.lock().unwrap();
                    calls.push(seq);
                    let tries = calls.iter().filter(|s| **s == 2).count();
                    if seq == 2 && tries < 3 {
                        return Err(Error::new(ErrorKind::Service, "not yet"));
                    }
                    Ok(())
                }
            },
            ReceiveOptions::default().on_handler_error(HandlerErrorPolicy::Retry {
                attempts: 3,
                delay: Duration::from_millis(1),
            }),
        )
        .await
        .unwrap();
    within("all five handled", async {
        loop {
            if calls.lock().unwrap().last() == Some(&4) {
                break;
            }
            tokio::task::yield_now().await;
        }
    })
    .await;
    handle.close().await;
    assert_eq!(*calls.lock().unwrap(), [0, 1, 2, 2, 2, 3, 4]);
    assert!(handle.err().is_none());
    assert_eq!(
        persister
            .read(&key(&hub, "2"))
            .await
            .unwrap()
            .unwrap()
            .sequence_number,
        4
    );
}

/// A panicking handler ends the listener with an error that says so.
#[tokio::test]
async fn a_panicking_handler_is_reported() {
    let (_em, hub) = hub_with(Arc::default()).await;
    fill(&hub, "3", 1).await;
    let handle = hub
        .receive(
            "3",
            |_e| async move { panic!("handler bug") },
            ReceiveOptions::default(),
        )
        .await
        .unwrap();
    within("stops", handle.done()).await;
    let err = handle.err().expect("an error");
    assert!(err.to_string().contains("panicked"), "{err}");
}

/// Dropping the handle does not stop the listener.
#[tokio::test]
async fn dropping_the_handle_keeps_the_listener() {
    let (_em, hub) = hub_with(Arc::default()).await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let handle = hub
        .receive(
            "0",
            move |e| {
                let tx = tx.clone();
                async move {
                    let _ = tx.send(e.sequence_number());
                    Ok(())
                }
            },
            ReceiveOptions::default(),
        )
        .await
        .unwrap();
    drop(handle);
    fill(&hub, "0", 3).await;
    for i in 0..3 {
        assert_eq!(within("handled after the drop", rx.recv()).await, Some(i));
    }
}

/// Two writers updating one checkpoint 500 times each, with a reader listing all along:
/// every write succeeds and every read sees a whole checkpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_checkpoint_writers() {
    let dir = std::env::temp_dir().join(format!("eh-store-writers-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = Arc::new(FileCheckpointStore::new(&dir).unwrap());
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..2i64 {
        let store = store.clone();
        tasks.spawn(async move {
            for i in 0..500 {
                let mut c = eventhubs::Checkpoint::new("ns", "hub", "$Default", "0");
                c.sequence_number = Some(w * 1000 + i);
                c.offset = Some(i.to_string());
                store.update_checkpoint(c).await.unwrap();
            }
        });
    }
    // The reader reads for as long as the writers write, then once more: every read sees
    // whole checkpoints, and the last one sees theirs.
    let writing = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let (reader, still_writing) = (store.clone(), writing.clone());
    let reads = tokio::spawn(async move {
        let mut seen = 0;
        loop {
            let last_round = !still_writing.load(Ordering::Acquire);
            for c in reader
                .list_checkpoints("ns", "hub", "$Default")
                .await
                .unwrap()
            {
                assert!(
                    c.sequence_number.is_some() && c.offset.is_some(),
                    "a torn checkpoint: {c:?}"
                );
                seen += 1;
            }
            if last_round {
                return seen;
            }
            tokio::task::yield_now().await;
        }
    });
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }
    writing.store(false, Ordering::Release);
    assert!(reads.await.unwrap() > 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Two store instances on one directory (as two processes would be) claim the same
/// partitions at once: each partition goes to exactly one of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ownership_claims_are_exclusive() {
    let dir = std::env::temp_dir().join(format!("eh-store-claims-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let claim = |owner: &'static str| {
        let store = FileCheckpointStore::new(&dir).unwrap();
        tokio::spawn(async move {
            let claims = (0..32)
                .map(|p| Ownership::new("ns", "hub", "$Default", p.to_string(), owner, None))
                .collect();
            store.claim_ownership(claims).await.unwrap()
        })
    };
    let (a, b) = (claim("a"), claim("b"));
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    assert_eq!(a.len() + b.len(), 32, "{} + {}", a.len(), b.len());
    let listed = FileCheckpointStore::new(&dir)
        .unwrap()
        .list_ownership("ns", "hub", "$Default")
        .await
        .unwrap();
    assert_eq!(listed.len(), 32);
    for o in &listed {
        let winner = if a.iter().any(|x| x.partition_id == o.partition_id) {
            "a"
        } else {
            "b"
        };
        assert_eq!(o.owner_id, winner);
    }
    // A claim naming the current etag wins; one naming a stale etag loses.
    let mut steal = listed[0].clone();
    steal.owner_id = "c".into();
    let store = FileCheckpointStore::new(&dir).unwrap();
    assert_eq!(
        store
            .claim_ownership(vec![steal.clone()])
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(store.claim_ownership(vec![steal]).await.unwrap().is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A checkpoint beyond the partition's last event (a recreated hub, another hub's
/// checkpoint) silently hides every event up to it: resuming from one is warned about,
/// resuming from a checkpoint inside the partition is not.
#[tokio::test]
async fn checkpoint_past_the_end_is_warned_about() {
    let persister = Arc::new(Counting::default());
    let (_em, hub) = hub_with(persister.clone()).await;
    fill(&hub, "0", 3).await;
    let at = |sequence_number| Checkpoint {
        offset: String::new(),
        sequence_number,
        enqueued_time: std::time::SystemTime::now(),
    };
    let warning = "the checkpoint is past the end of the partition";

    let captured = common::Captured::default();
    let guard = captured.install(tracing::Level::WARN);
    persister
        .inner
        .write(&key(&hub, "0"), &at(1))
        .await
        .unwrap();
    drop(hub.receiver("0", ReceiveOptions::default()).await.unwrap());
    assert!(!captured.text().contains(warning), "{}", captured.text());

    persister
        .inner
        .write(&key(&hub, "0"), &at(1000))
        .await
        .unwrap();
    drop(hub.receiver("0", ReceiveOptions::default()).await.unwrap());
    drop(guard);
    let log = captured.text();
    assert!(log.contains(warning), "{log}");
    assert!(
        log.contains("checkpoint=1000") && log.contains("last_enqueued=2"),
        "{log}"
    );
}
