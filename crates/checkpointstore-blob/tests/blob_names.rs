//! Which blob names each SDK's checkpoint store writes, read back with the official JS
//! storage SDK: ours, Python's (`azure-eventhub-checkpointstoreblob-aio` 1.2.0) and JS's
//! (`@azure/eventhubs-checkpointstore-blob` 2.0.0), for a hub named `MyHub` in the consumer
//! group `$Default`.
//!
//! - With a port in the endpoint (`sb://localhost:PORT`), each alone in a container of its
//!   own: all three lower-case the hub and the group; Python writes the namespace with the
//!   port (`localhost:PORT/myhub/$default/...`), JS and we write the host alone.
//! - Without a port (the AMQP port 5672), one after the other in one container, each
//!   resuming the previous one's checkpoints: one set of blobs, whatever the casing of the
//!   names each SDK was given.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use eventhubs::{ClientOptions, ProcessorOptions, ProducerClient, SendEventOptions};
use eventhubs_checkpointstore_blob::BlobCheckpointStore;
use eventhubs_emulator::{Config, Emulator, HubConfig};
use eventhubs_test_support::azurite::Azurite;
use eventhubs_test_support::{interop_js, interop_python, repo_root, run_js};

mod common;

use common::{spawn_peer, start_handling_hub, Handled};

const HUB: &str = "MyHub";
const PARTITIONS: usize = 2;

/// The peers' programs and directories.
struct Peers {
    python: std::path::PathBuf,
    js: std::path::PathBuf,
}

/// Every blob in `container`: (name, sequencenumber metadata or "").
fn list(peers: &Peers, storage: &str, container: &str) -> Vec<(String, String)> {
    run_js(&peers.js, "list_blobs.mjs", [storage, container])
        .lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let seq = v["metadata"]["sequencenumber"]
                .as_str()
                .unwrap_or("")
                .to_owned();
            (v["name"].as_str().unwrap().to_owned(), seq)
        })
        .collect()
}

/// Waits (bounded) until `container` holds a checkpoint at sequence number `seq` for
/// every partition; returns the blob names then.
fn until_checkpointed(peers: &Peers, storage: &str, container: &str, seq: i64) -> BTreeSet<String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let blobs = list(peers, storage, container);
        let at_seq = blobs
            .iter()
            .filter(|(name, s)| name.contains("/checkpoint/") && *s == seq.to_string())
            .count();
        if at_seq == PARTITIONS {
            return blobs.into_iter().map(|(name, _)| name).collect();
        }
        assert!(
            Instant::now() < deadline,
            "no checkpoint at {seq} on every partition: {blobs:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The names a store writes for `MyHub`/`$Default` under `namespace`.
fn expected(namespace: &str) -> BTreeSet<String> {
    (0..PARTITIONS)
        .flat_map(|p| {
            ["checkpoint", "ownership"].map(|kind| format!("{namespace}/myhub/$default/{kind}/{p}"))
        })
        .collect()
}

async fn send_round(producer: &ProducerClient) {
    for p in 0..PARTITIONS {
        producer
            .send_event("x", SendEventOptions::default().partition_id(p.to_string()))
            .await
            .unwrap();
    }
}

fn config() -> Config {
    let mut config = Config::default();
    config.hubs = vec![HubConfig::new(HUB, PARTITIONS)];
    config
}

/// One SDK's processor, run until every partition's checkpoint is at `seq`, then closed.
async fn run_until_checkpointed(
    sdk: &str,
    peers: &Peers,
    em: &Emulator,
    storage: &str,
    container: &str,
    seq: i64,
) -> (BTreeSet<String>, Handled) {
    let handled = Handled::default();
    let cs = em.connection_string(Some(HUB));
    let args = vec![cs, storage.to_owned(), container.to_owned(), HUB.to_owned()];
    let names = match sdk {
        "rust" => {
            let store =
                Arc::new(BlobCheckpointStore::from_connection_string(storage, container).unwrap());
            let options = ProcessorOptions::default().update_interval(Duration::from_millis(400));
            let (processor, run) = start_handling_hub(em, HUB, &store, options, "rust", &handled);
            let names =
                tokio::task::block_in_place(|| until_checkpointed(peers, storage, container, seq));
            processor.close().await;
            run.await.unwrap();
            names
        }
        peer => {
            let (program, script, dir) = if peer == "python" {
                let dir = repo_root().join("interop/python");
                let script = dir.join("processor.py").display().to_string();
                (peers.python.clone(), script, dir)
            } else {
                ("node".into(), "processor.mjs".to_owned(), peers.js.clone())
            };
            let who = if peer == "python" { "python" } else { "js" };
            let peer = spawn_peer(
                who,
                &program,
                &[vec![script], args].concat(),
                &dir,
                &handled,
            );
            let names =
                tokio::task::block_in_place(|| until_checkpointed(peers, storage, container, seq));
            peer.stop();
            names
        }
    };
    (names, handled)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_sdk_writes_the_names_the_others_read() {
    let Some(azurite) = Azurite::start() else {
        return;
    };
    let (Some(python), Some(js)) = (interop_python(), interop_js()) else {
        return;
    };
    let peers = Peers { python, js };
    let storage = azurite.connection_string();

    // With a port: each alone.
    let em = Emulator::start(config()).await.unwrap();
    let port = em.addr().port();
    assert!(
        em.connection_string(Some(HUB))
            .starts_with(&format!("Endpoint=sb://localhost:{port};")),
        "the endpoint carries the port"
    );
    let producer = ProducerClient::from_connection_string(
        &em.connection_string(Some(HUB)),
        None,
        ClientOptions::default(),
    )
    .unwrap();
    send_round(&producer).await;
    for (sdk, namespace) in [
        ("rust", "localhost".to_owned()),
        ("js", "localhost".to_owned()),
        ("python", format!("localhost:{port}")),
    ] {
        let container = format!("names-{sdk}");
        BlobCheckpointStore::from_connection_string(&storage, &container)
            .unwrap()
            .create_container_if_missing()
            .await
            .unwrap();
        let (names, _) = run_until_checkpointed(sdk, &peers, &em, &storage, &container, 0).await;
        assert_eq!(names, expected(&namespace), "{sdk} with a port");
        eprintln!("{sdk} writes {:?}", names.first());
    }
    producer.close().await;
    drop(em);

    // Without a port: one container, each resuming the one before.
    let em = Emulator::start_on(config(), "127.0.0.1:5672")
        .await
        .expect("port 5672 (AMQP) must be free for this test");
    let producer = ProducerClient::from_connection_string(
        &em.connection_string(Some(HUB)),
        None,
        ClientOptions::default(),
    )
    .unwrap();
    let container = "names-shared";
    BlobCheckpointStore::from_connection_string(&storage, container)
        .unwrap()
        .create_container_if_missing()
        .await
        .unwrap();
    for (round, sdk) in ["python", "js", "rust"].into_iter().enumerate() {
        send_round(&producer).await;
        let seq = round as i64;
        let (names, handled) =
            run_until_checkpointed(sdk, &peers, &em, &storage, container, seq).await;
        assert_eq!(names, expected("localhost"), "one set of blobs after {sdk}");
        // It resumed the previous SDK's checkpoints: only this round's events.
        let seen: BTreeSet<i64> = handled.lock().unwrap().iter().map(|h| h.2).collect();
        assert_eq!(
            seen,
            BTreeSet::from([seq]),
            "{sdk} starts after the checkpoints before it"
        );
    }
    producer.close().await;
}
