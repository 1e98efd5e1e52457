//! A mixed fleet on one Azurite container, one consumer group and one hub of 6 partitions
//! on the in-process emulator: our processor, the official Python SDK's
//! (`EventHubConsumerClient` + `BlobCheckpointStore` aio 1.2.0) and the official JS SDK's
//! (`EventHubConsumerClient` + `@azure/eventhubs-checkpointstore-blob` 2.0.0), each in the
//! blob layout of the others. Once settled they split the partitions and every event is
//! handled exactly once; as members leave and join, each resumes the others' checkpoints,
//! both ways (ours → Python and JS; Python → ours and JS; JS → ours), with nothing handled
//! twice. The namespace each SDK writes into the blob names is pinned: the host, without the
//! emulator's port.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use eventhubs::{ClientOptions, Processor, ProcessorOptions, ProducerClient, SendEventOptions};
use eventhubs_checkpointstore_blob::BlobCheckpointStore;
use eventhubs_emulator::{Config, Emulator, HubConfig};
use eventhubs_test_support::azurite::Azurite;
use eventhubs_test_support::{interop_js, interop_python, repo_root};

const PARTITIONS: usize = 6;
const CONTAINER: &str = "mixedfleet";

mod common;

use common::{live_owners, spawn_peer, start_handling, Handled};

/// Our processor, handling and checkpointing every event, recorded as "rust".
fn start_ours(
    em: &Emulator,
    store: &Arc<BlobCheckpointStore>,
    handled: &Handled,
) -> (Processor, tokio::task::JoinHandle<()>) {
    let options = ProcessorOptions::default()
        .update_interval(Duration::from_millis(400))
        .ownership_expiration(Duration::from_secs(2));
    start_handling(em, store, options, "rust", handled)
}

async fn owners(store: &BlobCheckpointStore, ns: &str) -> BTreeMap<String, String> {
    live_owners(store, ns, Duration::from_secs(2)).await
}

/// Waits until every partition has a live owner among `members` distinct owners and the
/// map stays the same for 2 s (five update intervals).
async fn settle(store: &BlobCheckpointStore, ns: &str, members: usize) -> BTreeMap<String, String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut stable_since = Instant::now();
    let mut last = BTreeMap::new();
    loop {
        let now = owners(store, ns).await;
        let distinct: std::collections::HashSet<&String> = now.values().collect();
        if now != last || now.len() != PARTITIONS || distinct.len() != members {
            stable_since = Instant::now();
            last = now;
        } else if stable_since.elapsed() > Duration::from_secs(2) {
            return last;
        }
        assert!(
            Instant::now() < deadline,
            "not settled with {members} members: {last:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn round(producer: &ProducerClient, n: usize) {
    for p in 0..PARTITIONS {
        producer
            .send_events(
                (0..n).map(|i| i.to_string()),
                SendEventOptions::default().partition_id(p.to_string()),
            )
            .await
            .unwrap();
    }
}

/// Waits until `total` distinct events were handled; then every one exactly once.
async fn all_once(handled: &Handled, total: usize, phase: &str) -> HashMap<String, usize> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let distinct: std::collections::HashSet<(String, i64)> = handled
            .lock()
            .unwrap()
            .iter()
            .map(|(_, p, s)| (p.clone(), *s))
            .collect();
        if distinct.len() >= total {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{phase}: {} of {total} handled",
            distinct.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let handled = handled.lock().unwrap().clone();
    let mut times: HashMap<(String, i64), Vec<String>> = HashMap::new();
    for (who, p, s) in &handled {
        times.entry((p.clone(), *s)).or_default().push(who.clone());
    }
    let twice: Vec<_> = times.iter().filter(|(_, w)| w.len() > 1).collect();
    assert!(
        twice.is_empty(),
        "{phase}: handled twice: {:?}",
        &twice[..twice.len().min(5)]
    );
    let mut by: HashMap<String, usize> = HashMap::new();
    for (who, _, _) in handled {
        *by.entry(who).or_default() += 1;
    }
    by
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ours_python_and_js_share_a_container() {
    let Some(azurite) = Azurite::start() else {
        return;
    };
    let (Some(python), Some(js)) = (interop_python(), interop_js()) else {
        return;
    };
    let storage = azurite.connection_string();
    let store = Arc::new(BlobCheckpointStore::from_connection_string(&storage, CONTAINER).unwrap());
    store.create_container_if_missing().await.unwrap();
    let mut config = Config::default();
    config.hubs = vec![HubConfig::new("eh1", PARTITIONS)];
    // On the AMQP port, so the connection string has none: Python writes the endpoint's
    // port into the namespace of its blob names (`localhost:PORT/eh1/...`), JS and we write
    // the host alone, and with a port they would not see each other's claims.
    let em = Emulator::start_on(config, "127.0.0.1:5672")
        .await
        .expect("port 5672 (AMQP) must be free for the mixed-fleet test");
    let cs = em.connection_string(Some("eh1"));
    assert!(cs.starts_with("Endpoint=sb://localhost;"), "{cs}");
    let producer =
        ProducerClient::from_connection_string(&cs, None, ClientOptions::default()).unwrap();
    let ns = producer.fully_qualified_namespace().to_owned();
    assert_eq!(
        ns, "localhost",
        "the namespace in blob names is the host, without the port"
    );
    let handled = Handled::default();
    let args = vec![cs.clone(), storage.clone(), CONTAINER.to_owned()];
    let py_dir = repo_root().join("interop/python");

    // All three: each takes a share, every event once.
    let (ours, run) = start_ours(&em, &store, &handled);
    let py = spawn_peer(
        "python",
        &python,
        &[
            vec![py_dir.join("processor.py").display().to_string()],
            args.clone(),
        ]
        .concat(),
        &py_dir,
        &handled,
    );
    let node = spawn_peer(
        "js",
        std::path::Path::new("node"),
        &[vec!["processor.mjs".to_owned()], args.clone()].concat(),
        &js,
        &handled,
    );
    let split = settle(&store, &ns, 3).await;
    eprintln!("settled, three members: {split:?}");
    round(&producer, 10).await;
    let by = all_once(&handled, PARTITIONS * 10, "three members").await;
    assert_eq!(by.len(), 3, "each member handled some: {by:?}");

    // Ours leaves: Python and JS resume our checkpoints.
    ours.close().await;
    run.await.unwrap();
    settle(&store, &ns, 2).await;
    round(&producer, 10).await;
    all_once(&handled, PARTITIONS * 20, "after ours left").await;

    // Ours joins again and Python leaves: ours and JS resume Python's checkpoints.
    let (ours, run) = start_ours(&em, &store, &handled);
    settle(&store, &ns, 3).await;
    py.stop();
    settle(&store, &ns, 2).await;
    round(&producer, 10).await;
    all_once(&handled, PARTITIONS * 30, "after Python left").await;

    // JS leaves: ours resumes JS's checkpoints.
    node.stop();
    settle(&store, &ns, 1).await;
    round(&producer, 10).await;
    let by = all_once(&handled, PARTITIONS * 40, "after JS left").await;
    eprintln!("events handled by member: {by:?}");
    ours.close().await;
    run.await.unwrap();
}
