//! Go v3 Event Processor Host checkpoints — JSON lease blobs written by the official JS
//! storage SDK into Azurite — imported into the modern layout: markers (`-1`, `@latest`)
//! skipped, refused while a v3 host holds a lease unless forced, and a processor then resumes
//! each partition right after its v3 checkpoint.

use std::sync::Arc;
use std::time::Duration;

use eventhubs::{
    ClientOptions, ConsumerClient, ErrorKind, LoadBalancingStrategy, Processor, ProcessorOptions,
    ProducerClient, SendEventOptions, StartPosition, DEFAULT_CONSUMER_GROUP,
};
use eventhubs_checkpointstore_blob::{import_v3_checkpoints, BlobCheckpointStore, V3ImportOptions};
use eventhubs_emulator::{Config, Emulator};
use eventhubs_test_support::azurite::Azurite;
use eventhubs_test_support::{interop_js, run_js};

/// Writes the v3 blobs under `prefix` with the JS storage SDK.
fn write_v3_blobs(storage: &str, prefix: &str, lease: bool) -> bool {
    let Some(js) = interop_js() else { return false };
    let out = run_js(
        &js,
        "v3_blobs.mjs",
        [storage, "v3eph", prefix, if lease { "1" } else { "0" }],
    );
    assert!(out.contains("ok"), "{out}");
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v3_checkpoints_are_imported_and_resumed() {
    let Some(azurite) = Azurite::start() else {
        return;
    };
    let storage = azurite.connection_string();
    if !write_v3_blobs(&storage, "held/", true) || !write_v3_blobs(&storage, "eph/", false) {
        return;
    }
    let v3 = BlobCheckpointStore::from_connection_string(&storage, "v3eph").unwrap();
    let modern = BlobCheckpointStore::from_connection_string(&storage, "modern").unwrap();
    modern.create_container_if_missing().await.unwrap();

    let em = Emulator::start(Config::default()).await.unwrap();
    let cs = em.connection_string(Some("eh1"));
    let consumer = ConsumerClient::from_connection_string(
        &cs,
        None,
        DEFAULT_CONSUMER_GROUP,
        ClientOptions::default(),
    )
    .unwrap();
    let scope = (
        consumer.fully_qualified_namespace(),
        "eh1",
        DEFAULT_CONSUMER_GROUP,
    );

    // A v3 host still holds partition 0: refused, naming it; forced, it goes ahead (dry).
    let e = import_v3_checkpoints(&v3, "held/", &modern, scope, &V3ImportOptions::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.to_string().contains("[\"0\"]"), "{e}");
    let dry = import_v3_checkpoints(
        &v3,
        "held/",
        &modern,
        scope,
        &V3ImportOptions::default().force(true).dry_run(true),
    )
    .await
    .unwrap();
    assert_eq!(dry.imported.len(), 2);

    // The stopped fleet's blobs: 0 and 3 are checkpoints, 1 (-1) and 2 (@latest) are not.
    let report = import_v3_checkpoints(&v3, "eph/", &modern, scope, &V3ImportOptions::default())
        .await
        .unwrap();
    let mut imported = report.imported.clone();
    imported.sort();
    assert_eq!(
        imported,
        [
            ("0".to_owned(), 41, "4100".to_owned()),
            ("3".to_owned(), 9, "900".to_owned())
        ]
    );
    assert_eq!(report.skipped.len(), 2, "{:?}", report.skipped);

    // A processor on the modern store resumes partition 0 after event 41 and 3 after 9.
    let producer =
        ProducerClient::from_connection_string(&cs, None, ClientOptions::default()).unwrap();
    for p in ["0", "3"] {
        producer
            .send_events(
                (0..50).map(|i| i.to_string()),
                SendEventOptions::default().partition_id(p),
            )
            .await
            .unwrap();
    }
    let processor = Processor::new(
        consumer,
        Arc::new(modern),
        ProcessorOptions::default()
            .strategy(LoadBalancingStrategy::Greedy)
            .default_start_position(StartPosition::earliest()),
    )
    .unwrap();
    let run = tokio::spawn({
        let p = processor.clone();
        async move { p.run().await }
    });
    let mut first = std::collections::BTreeMap::new();
    while first.len() < 4 {
        let mut partition =
            tokio::time::timeout(Duration::from_secs(15), processor.next_partition_client())
                .await
                .unwrap()
                .unwrap();
        let id = partition.partition_id().to_owned();
        if id == "0" || id == "3" {
            let event = tokio::time::timeout(Duration::from_secs(15), partition.recv())
                .await
                .unwrap()
                .unwrap();
            first.insert(id, event.sequence_number());
        } else {
            first.insert(id, -1);
        }
    }
    assert_eq!(first["0"], 42, "after the v3 checkpoint of 41");
    assert_eq!(first["3"], 10, "after the v3 checkpoint of 9");
    processor.close().await;
    run.await.unwrap().unwrap();
}
