//! Shared by the blob store's processor tests: a processor on the in-process emulator that
//! handles and checkpoints every event, and the live owners of a store.

#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
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
    let consumer = ConsumerClient::from_connection_string(
        &em.connection_string(Some("eh1")),
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
