//! Shared by the blob store's processor tests: a processor on the in-process emulator that
//! handles and checkpoints every event, and the live owners of a store.

#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use eventhubs::{
    CheckpointStore, ClientOptions, ConsumerClient, Processor, ProcessorOptions, StartPosition,
    DEFAULT_CONSUMER_GROUP,
};
use eventhubs_checkpointstore_blob::BlobCheckpointStore;
use eventhubs_emulator::Emulator;

/// Every event handled: (who, partition, sequence number).
pub type Handled = Arc<Mutex<Vec<(String, String, i64)>>>;

/// Starts a processor of `eh1` with `options` (earliest start, the interval and expiration
/// given), handling every event as `who` and checkpointing each; returns it and the task
/// running its cycles.
pub fn start_handling(
    em: &Emulator,
    store: &Arc<BlobCheckpointStore>,
    options: ProcessorOptions,
    who: &str,
    handled: &Handled,
) -> (Processor, tokio::task::JoinHandle<()>) {
    start_handling_hub(em, "eh1", store, options, who, handled)
}

/// [`start_handling`] on `hub`.
pub fn start_handling_hub(
    em: &Emulator,
    hub: &str,
    store: &Arc<BlobCheckpointStore>,
    options: ProcessorOptions,
    who: &str,
    handled: &Handled,
) -> (Processor, tokio::task::JoinHandle<()>) {
    let consumer = ConsumerClient::from_connection_string(
        &em.connection_string(Some(hub)),
        None,
        DEFAULT_CONSUMER_GROUP,
        ClientOptions::default(),
    )
    .unwrap();
    let options = options.default_start_position(StartPosition::earliest());
    let processor = Processor::new(consumer, store.clone(), options).unwrap();
    let run = tokio::spawn({
        let p = processor.clone();
        async move { p.run().await.unwrap() }
    });
    let (p, handled, who) = (processor.clone(), handled.clone(), who.to_owned());
    tokio::spawn(async move {
        while let Some(mut partition) = p.next_partition_client().await {
            let (handled, who) = (handled.clone(), who.clone());
            tokio::spawn(async move {
                while let Ok(event) = partition.recv().await {
                    handled.lock().unwrap().push((
                        who.clone(),
                        event.partition_id().to_owned(),
                        event.sequence_number(),
                    ));
                    if partition.update_checkpoint(&event).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    (processor, run)
}

/// Partition → owner of `eh1`'s default group, counting claims renewed within `expiration`
/// by the store's clock.
pub async fn live_owners(
    store: &BlobCheckpointStore,
    ns: &str,
    expiration: Duration,
) -> BTreeMap<String, String> {
    let now = store.now();
    store
        .list_ownership(ns, "eh1", DEFAULT_CONSUMER_GROUP)
        .await
        .unwrap()
        .into_iter()
        .filter(|o| !o.owner_id.is_empty())
        .filter(|o| now.duration_since(o.last_modified_time).unwrap_or_default() <= expiration)
        .map(|o| (o.partition_id, o.owner_id))
        .collect()
}

/// An SDK's processor in a process of its own, its `handled` lines collected as `who`.
pub struct Peer {
    pub child: Child,
}

pub fn spawn_peer(
    who: &'static str,
    program: &std::path::Path,
    args: &[String],
    dir: &std::path::Path,
    handled: &Handled,
) -> Peer {
    let mut child = Command::new(program)
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let out = BufReader::new(child.stdout.take().unwrap());
    let sink = handled.clone();
    std::thread::spawn(move || {
        for line in out.lines().map_while(Result::ok) {
            let mut parts = line.split_whitespace();
            if parts.next() == Some("handled") {
                if let (Some(p), Some(Ok(s))) = (parts.next(), parts.next().map(str::parse)) {
                    sink.lock().unwrap().push((who.to_owned(), p.to_owned(), s));
                }
            }
        }
    });
    Peer { child }
}

impl Peer {
    /// SIGTERM, and the peer's own clean close.
    pub fn stop(mut self) {
        assert!(Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap()
            .success());
        let status = self.child.wait().unwrap();
        assert!(status.success(), "the peer closes cleanly");
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
