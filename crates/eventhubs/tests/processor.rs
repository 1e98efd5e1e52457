//! The event processor against the in-process emulator and a shared in-memory store, with
//! short timings (a 200 ms update interval, 1 s expiration): one processor takes every
//! partition and releases them on close; two balance, and a graceful close hands over with
//! no event handled twice; a stolen partition ends its client and its checkpoint is
//! refused; a partition claimed away in the store ends its client too.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{consumer, producer, start, within};
use eventhubs::{
    CheckpointStore, ClientOptions, ConsumerClient, ErrorKind, InMemoryCheckpointStore, Ownership,
    PartitionEndReason, PartitionReceiverOptions, Processor, ProcessorOptions,
    ProcessorPartitionClient, SendEventOptions, StartPosition, DEFAULT_CONSUMER_GROUP,
};
use eventhubs_emulator::Emulator;

const INTERVAL: Duration = Duration::from_millis(200);

fn options() -> ProcessorOptions {
    ProcessorOptions::default()
        .update_interval(INTERVAL)
        .ownership_expiration(Duration::from_secs(1))
        .default_start_position(StartPosition::earliest())
}

/// Starts a processor's cycles; returns it and the task running them.
fn start_processor(
    em: &Emulator,
    store: &Arc<InMemoryCheckpointStore>,
    options: ProcessorOptions,
) -> (
    Processor,
    tokio::task::JoinHandle<Result<(), eventhubs::Error>>,
) {
    let processor = Processor::new(consumer(em), store.clone(), options).unwrap();
    let run = tokio::spawn({
        let p = processor.clone();
        async move { p.run().await }
    });
    (processor, run)
}

/// Waits (bounded) until `check` holds.
async fn until(what: &str, mut check: impl FnMut() -> bool) {
    within(what, async {
        while !check() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
}

/// Every (partition, sequence number) handled, by whom.
type Handled = Arc<Mutex<Vec<(String, i64, String)>>>;

/// Handles every partition `processor` is given: records each event, checkpoints it.
fn handle_all(processor: &Processor, handled: &Handled) -> tokio::task::JoinHandle<()> {
    let (processor, handled) = (processor.clone(), handled.clone());
    tokio::spawn(async move {
        while let Some(partition) = processor.next_partition_client().await {
            tokio::spawn(handle(
                partition,
                handled.clone(),
                processor.owner_id().to_owned(),
            ));
        }
    })
}

async fn handle(mut partition: ProcessorPartitionClient, handled: Handled, me: String) {
    while let Ok(event) = partition.recv().await {
        handled.lock().unwrap().push((
            event.partition_id().to_owned(),
            event.sequence_number(),
            me.clone(),
        ));
        if partition.update_checkpoint(&event).await.is_err() {
            break;
        }
    }
}

async fn ownerships(store: &InMemoryCheckpointStore, c: &ConsumerClient) -> Vec<Ownership> {
    store
        .list_ownership(
            c.fully_qualified_namespace(),
            c.eventhub_name(),
            c.consumer_group(),
        )
        .await
        .unwrap()
}

async fn owners(store: &InMemoryCheckpointStore, c: &ConsumerClient) -> BTreeMap<String, String> {
    ownerships(store, c)
        .await
        .into_iter()
        .map(|o| (o.partition_id, o.owner_id))
        .collect()
}

async fn fill(em: &Emulator, per_partition: usize, tag: &str) {
    let producer = producer(em);
    for p in 0..4 {
        producer
            .send_events(
                (0..per_partition).map(|i| format!("{tag} {i}")),
                SendEventOptions::default().partition_id(p.to_string()),
            )
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_processor_takes_every_partition_and_releases_them_on_close() {
    let (em, _hub) = start().await;
    fill(&em, 25, "event").await;
    let store = Arc::new(InMemoryCheckpointStore::new());
    let (processor, run) = start_processor(&em, &store, options());
    let handled = Handled::default();
    let handlers = handle_all(&processor, &handled);
    until("all 100 events handled", || {
        handled.lock().unwrap().len() == 100
    })
    .await;
    assert_eq!(processor.owned_partition_ids(), ["0", "1", "2", "3"]);

    within("close", processor.close()).await;
    run.await.unwrap().unwrap();
    handlers.await.unwrap();
    let c = consumer(&em);
    let after = owners(&store, &c).await;
    assert_eq!(after.len(), 4);
    assert!(
        after.values().all(String::is_empty),
        "all released: {after:?}"
    );
    let checkpoints = store
        .list_checkpoints(
            c.fully_qualified_namespace(),
            c.eventhub_name(),
            c.consumer_group(),
        )
        .await
        .unwrap();
    assert_eq!(checkpoints.len(), 4);
    assert!(checkpoints.iter().all(|cp| cp.sequence_number == Some(24)));
    assert!(processor.next_partition_client().await.is_none(), "closed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processors_balance_and_a_graceful_close_hands_over_exactly() {
    let (em, _hub) = start().await;
    let store = Arc::new(InMemoryCheckpointStore::new());
    let handled = Handled::default();
    let (a, run_a) = start_processor(&em, &store, options().owner_id("a"));
    let (b, run_b) = start_processor(&em, &store, options().owner_id("b"));
    let handlers = [handle_all(&a, &handled), handle_all(&b, &handled)];
    until("two partitions each", || {
        a.owned_partition_ids().len() == 2 && b.owned_partition_ids().len() == 2
    })
    .await;
    fill(&em, 50, "before").await;
    until("the first 200 handled", || {
        handled.lock().unwrap().len() == 200
    })
    .await;

    // A closes: its clients end, its last checkpoints are written, then it releases.
    let a_had = a.owned_partition_ids();
    within("close a", a.close()).await;
    run_a.await.unwrap().unwrap();
    until("b takes a's partitions", || {
        b.owned_partition_ids().len() == 4
    })
    .await;
    fill(&em, 50, "after").await;
    until("all 400 handled", || handled.lock().unwrap().len() >= 400).await;
    within("close b", b.close()).await;
    run_b.await.unwrap().unwrap();
    for h in handlers {
        h.await.unwrap();
    }

    let handled = handled.lock().unwrap().clone();
    let mut seen = std::collections::HashSet::new();
    for (partition, seq, _) in &handled {
        assert!(
            seen.insert((partition.clone(), *seq)),
            "{partition}/{seq} handled twice"
        );
    }
    assert_eq!(seen.len(), 400, "every event handled once");
    for p in &a_had {
        let by_b_first = handled
            .iter()
            .filter(|(q, _, who)| q == p && who == "b")
            .map(|(_, s, _)| *s)
            .min();
        assert_eq!(
            by_b_first,
            Some(50),
            "b starts partition {p} right after a's checkpoint"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stolen_partition_ends_its_client_and_refuses_its_checkpoint() {
    let (em, _hub) = start().await;
    fill(&em, 1, "event").await;
    let store = Arc::new(InMemoryCheckpointStore::new());
    let (processor, run) = start_processor(
        &em,
        &store,
        options().partition_start_position("0", StartPosition::earliest()),
    );
    let mut partition = loop {
        let p = within("a partition", processor.next_partition_client())
            .await
            .unwrap();
        if p.partition_id() == "0" {
            break p;
        }
    };
    let event = within("the event", partition.recv()).await.unwrap();

    // A receiver with a higher owner level takes the partition's link.
    let thief = within(
        "steal",
        consumer(&em)
            .open_partition_receiver("0", PartitionReceiverOptions::default().owner_level(10)),
    )
    .await
    .unwrap();
    let e = within("the loss", partition.recv()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::OwnershipLost, "{e}");
    assert_eq!(
        partition.end_reason(),
        Some(PartitionEndReason::OwnershipLost)
    );
    let refused = partition.update_checkpoint(&event).await.unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::OwnershipLost, "{refused}");
    drop((thief, partition));
    processor.close().await;
    run.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_claimed_away_in_the_store_ends_its_client() {
    let (em, _hub) = start().await;
    fill(&em, 1, "event").await;
    let store = Arc::new(InMemoryCheckpointStore::new());
    let (processor, run) = start_processor(&em, &store, options().owner_id("me"));
    let mut clients = Vec::new();
    while clients.len() < 4 {
        clients.push(
            within("partitions", processor.next_partition_client())
                .await
                .unwrap(),
        );
    }
    let mut one = clients.swap_remove(
        clients
            .iter()
            .position(|c| c.partition_id() == "1")
            .unwrap(),
    );
    let event = within("the event", one.recv()).await.unwrap();

    // Another processor's claim of partition 1 lands in the store (its etag current).
    let c = consumer(&em);
    let mut theirs = ownerships(&store, &c)
        .await
        .into_iter()
        .find(|o| o.partition_id == "1")
        .unwrap();
    theirs.owner_id = "intruder".into();
    assert_eq!(store.claim_ownership(vec![theirs]).await.unwrap().len(), 1);

    let e = within("the loss", one.recv()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::OwnershipLost, "{e}");
    assert!(one.update_checkpoint(&event).await.is_err());
    assert!(!processor.owned_partition_ids().contains(&"1".to_owned()));
    drop((one, clients));
    processor.close().await;
    run.await.unwrap().unwrap();
    assert_eq!(
        owners(&store, &c).await["1"],
        "intruder",
        "not released by us"
    );
}

#[test]
fn options_that_would_make_processors_fight_are_refused() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let _guard = rt.enter();
    let consumer = ConsumerClient::from_connection_string(
        "Endpoint=sb://localhost:1;SharedAccessKeyName=k;SharedAccessKey=v;UseDevelopmentEmulator=true;EntityPath=eh1",
        None,
        DEFAULT_CONSUMER_GROUP,
        ClientOptions::default(),
    )
    .unwrap();
    let e = Processor::new(
        consumer,
        Arc::new(InMemoryCheckpointStore::new()),
        ProcessorOptions::default()
            .update_interval(Duration::from_secs(10))
            .ownership_expiration(Duration::from_secs(20)),
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.to_string().contains("three update intervals"), "{e}");
}
