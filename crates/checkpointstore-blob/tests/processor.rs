//! Two processors sharing one Azurite container over the in-process emulator: they split
//! the four partitions, every event is handled once, and when one closes gracefully the
//! other takes its partitions and starts exactly after its last checkpoint.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use eventhubs::{
    CheckpointStore, ClientOptions, ConsumerClient, Processor, ProcessorOptions, ProducerClient,
    SendEventOptions, DEFAULT_CONSUMER_GROUP,
};
use eventhubs_checkpointstore_blob::BlobCheckpointStore;
use eventhubs_emulator::{Config, Emulator};
use eventhubs_test_support::azurite::Azurite;

mod common;

use common::{start_handling, Handled};

fn start(
    em: &Emulator,
    store: &Arc<BlobCheckpointStore>,
    id: &str,
    handled: &Handled,
) -> (Processor, tokio::task::JoinHandle<()>) {
    let options = ProcessorOptions::default()
        .owner_id(id)
        .update_interval(Duration::from_millis(300))
        .ownership_expiration(Duration::from_secs(3));
    start_handling(em, store, options, id, handled)
}

async fn until(what: &str, mut check: impl FnMut() -> bool) {
    tokio::time::timeout(Duration::from_secs(30), async {
        while !check() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{what}: not within 30 s"));
}

async fn fill(em: &Emulator, n: usize) {
    let producer = ProducerClient::from_connection_string(
        &em.connection_string(Some("eh1")),
        None,
        ClientOptions::default(),
    )
    .unwrap();
    for p in 0..4 {
        producer
            .send_events(
                (0..n).map(|i| i.to_string()),
                SendEventOptions::default().partition_id(p.to_string()),
            )
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processors_share_a_container_and_hand_over() {
    let Some(azurite) = Azurite::start() else {
        return;
    };
    let store = Arc::new(
        BlobCheckpointStore::from_connection_string(&azurite.connection_string(), "processors")
            .unwrap(),
    );
    store.create_container_if_missing().await.unwrap();
    let em = Emulator::start(Config::default()).await.unwrap();
    let handled = Handled::default();
    let (a, run_a) = start(&em, &store, "a", &handled);
    let (b, run_b) = start(&em, &store, "b", &handled);
    until("a 2/2 split", || {
        a.owned_partition_ids().len() == 2 && b.owned_partition_ids().len() == 2
    })
    .await;
    fill(&em, 30).await;
    until("120 handled", || handled.lock().unwrap().len() == 120).await;

    let a_had = a.owned_partition_ids();
    a.close().await;
    run_a.await.unwrap();
    until("b owns all four", || b.owned_partition_ids().len() == 4).await;
    fill(&em, 30).await;
    until("240 handled", || handled.lock().unwrap().len() >= 240).await;
    b.close().await;
    run_b.await.unwrap();

    let handled = handled.lock().unwrap().clone();
    let unique: HashSet<(String, i64)> = handled.iter().map(|(_, p, s)| (p.clone(), *s)).collect();
    assert_eq!(unique.len(), handled.len(), "no event handled twice");
    assert_eq!(unique.len(), 240);
    for p in &a_had {
        let first_by_b = handled
            .iter()
            .filter(|(w, q, _)| q == p && w == "b")
            .map(|(_, _, s)| *s)
            .min();
        assert_eq!(
            first_by_b,
            Some(30),
            "partition {p} resumed after a's checkpoint"
        );
    }
    // Released at the end, checkpoints in the blobs.
    let c = ConsumerClient::from_connection_string(
        &em.connection_string(Some("eh1")),
        None,
        DEFAULT_CONSUMER_GROUP,
        ClientOptions::default(),
    )
    .unwrap();
    let owners = store
        .list_ownership(c.fully_qualified_namespace(), "eh1", DEFAULT_CONSUMER_GROUP)
        .await
        .unwrap();
    assert_eq!(owners.len(), 4);
    assert!(owners.iter().all(|o| o.owner_id.is_empty()), "{owners:?}");
    let cps = store
        .list_checkpoints(c.fully_qualified_namespace(), "eh1", DEFAULT_CONSUMER_GROUP)
        .await
        .unwrap();
    assert!(
        cps.iter().all(|cp| cp.sequence_number == Some(59)),
        "{cps:?}"
    );
}

/// Checkpoints as the .NET SDK writes them when it has only a sequence number (`offset`
/// empty, or "no offset" in older versions), put into Azurite by the official JS storage
/// SDK: a processor resumes right after that sequence number.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_without_an_offset_resume_at_their_sequence_number() {
    let Some(azurite) = Azurite::start() else {
        return;
    };
    let Some(js) = eventhubs_test_support::interop_js() else {
        return;
    };
    let storage = azurite.connection_string();
    let em = Emulator::start(Config::default()).await.unwrap();
    fill(&em, 10).await;
    let ns = ConsumerClient::from_connection_string(
        &em.connection_string(Some("eh1")),
        None,
        DEFAULT_CONSUMER_GROUP,
        ClientOptions::default(),
    )
    .unwrap()
    .fully_qualified_namespace()
    .to_owned();
    for (partition, sequence, offset) in [("0", "4", ""), ("1", "6", "no offset")] {
        eventhubs_test_support::run_js(
            &js,
            "put_blob.mjs",
            [
                storage.clone(),
                "dotnet".to_owned(),
                format!("{ns}/eh1/$default/checkpoint/{partition}"),
                format!(r#"{{"sequencenumber":"{sequence}","offset":"{offset}"}}"#),
            ],
        );
    }
    let store = Arc::new(BlobCheckpointStore::from_connection_string(&storage, "dotnet").unwrap());
    let read = store
        .list_checkpoints(&ns, "eh1", DEFAULT_CONSUMER_GROUP)
        .await
        .unwrap();
    assert_eq!(read.len(), 2, "{read:?}");
    assert!(read.iter().all(|c| c.offset.is_none()), "{read:?}");
    let handled = Handled::default();
    let (p, run) = start(&em, &store, "resumer", &handled);
    let first = |partition: &str| {
        handled
            .lock()
            .unwrap()
            .iter()
            .filter(|h| h.1 == partition)
            .map(|h| h.2)
            .min()
    };
    until("partitions 0, 1 and 2 handled to the end", || {
        let h = handled.lock().unwrap();
        ["0", "1", "2"]
            .iter()
            .all(|p| h.iter().any(|e| e.1 == *p && e.2 == 9))
    })
    .await;
    assert_eq!(first("0"), Some(5), "after sequence number 4");
    assert_eq!(first("1"), Some(7), "after sequence number 6");
    assert_eq!(first("2"), Some(0), "no checkpoint: from the start");
    p.close().await;
    run.await.unwrap();
}
