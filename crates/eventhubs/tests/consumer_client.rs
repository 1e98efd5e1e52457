//! The 1.0 consumer against the in-process emulator: `recv` and `recv_batch` raced and
//! dropped at random thousands of times lose nothing, repeat nothing and never stall;
//! prefetch 0 fetches only what is asked; new receivers start at the latest event;
//! `recv_batch` returns what it has when its wait ends.

mod common;

use std::time::Duration;

use common::{start, within};
use eventhubs::{
    ClientOptions, ConsumerClient, PartitionReceiverOptions, ProducerClient, SendEventOptions,
    StartPosition, DEFAULT_CONSUMER_GROUP,
};
use eventhubs_emulator::Emulator;

fn clients(em: &Emulator) -> (ProducerClient, ConsumerClient) {
    let cs = em.connection_string(Some("eh1"));
    (
        ProducerClient::from_connection_string(&cs, None, ClientOptions::default()).unwrap(),
        ConsumerClient::from_connection_string(
            &cs,
            None,
            DEFAULT_CONSUMER_GROUP,
            ClientOptions::default(),
        )
        .unwrap(),
    )
}

fn earliest() -> PartitionReceiverOptions {
    PartitionReceiverOptions::default().start_position(StartPosition::earliest())
}

/// At least 50,000 events read through `recv` and `recv_batch` while a producer keeps
/// sending, each call raced against a future that finishes after 0–3 yields (so calls are
/// dropped at every stage): every event arrives once, in order. The producer sends until the
/// reader has seen 50,000 events and 10,000 cancellations (how many races a call loses
/// depends on the machine's speed, so the count is reached by sending more, not assumed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_receives_lose_nothing() {
    const EVENTS: usize = 50_000;
    const CANCELLATIONS: u32 = 10_000;
    let (em, _hub) = start().await;
    let (producer, consumer) = clients(&em);
    let enough = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut sending = Some(tokio::spawn({
        let enough = enough.clone();
        async move {
            let mut sent = 0usize;
            // Bounded: at most 2,000,000 events.
            while !enough.load(std::sync::atomic::Ordering::Acquire) && sent < 2_000_000 {
                producer
                    .send_events(
                        (sent..sent + 1000).map(|i| i.to_string()),
                        SendEventOptions::default().partition_id("0"),
                    )
                    .await
                    .unwrap();
                sent += 1000;
            }
            sent
        }
    }));
    let mut receiver = consumer
        .open_partition_receiver("0", earliest())
        .await
        .unwrap();
    let mut total: Option<i64> = None;
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let (mut next, mut cancelled) = (0i64, 0u32);
    while total.is_none_or(|t| next < t) {
        if total.is_none() && next >= EVENTS as i64 && cancelled >= CANCELLATIONS {
            enough.store(true, std::sync::atomic::Ordering::Release);
            if let Some(task) = sending.take() {
                total = Some(task.await.unwrap() as i64);
            }
            continue;
        }
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let yields = rng % 4;
        let cancel = async {
            for _ in 0..yields {
                tokio::task::yield_now().await;
            }
        };
        let got = if rng & 16 == 0 {
            tokio::select! {
                e = receiver.recv() => Some(vec![e.unwrap()]),
                () = cancel => None,
            }
        } else {
            let max = (rng >> 8) as usize % 64 + 1;
            tokio::select! {
                b = receiver.recv_batch(max, Duration::from_millis(50)) => Some(b.unwrap()),
                () = cancel => None,
            }
        };
        match got {
            Some(events) => {
                for e in events {
                    assert_eq!(e.sequence_number(), next, "after {cancelled} cancellations");
                    assert_eq!(e.data_as_str(), Some(next.to_string().as_str()));
                    next += 1;
                }
            }
            None => {
                cancelled += 1;
                assert!(cancelled < 20_000_000, "stalled at event {next}");
            }
        }
    }
    assert!(cancelled >= CANCELLATIONS, "only {cancelled} cancellations");
    eprintln!("{next} events in order through {cancelled} cancelled receives");
}

/// With prefetch 0 a receiver asks for exactly what each call wants.
#[tokio::test]
async fn prefetch_zero_fetches_on_demand() {
    let (em, _hub) = start().await;
    let (producer, consumer) = clients(&em);
    producer
        .send_events(
            (0..20).map(|i| i.to_string()),
            SendEventOptions::default().partition_id("1"),
        )
        .await
        .unwrap();
    let mut receiver = consumer
        .open_partition_receiver("1", earliest().prefetch(0))
        .await
        .unwrap();
    for i in 0..5 {
        let e = within("recv", receiver.recv()).await.unwrap();
        assert_eq!(e.sequence_number(), i);
    }
    let batch = within(
        "recv_batch",
        receiver.recv_batch(10, Duration::from_secs(5)),
    )
    .await
    .unwrap();
    let seqs: Vec<i64> = batch.iter().map(|e| e.sequence_number()).collect();
    assert_eq!(seqs, (5..15).collect::<Vec<_>>());
    // Only what was asked for left the partition.
    let delivered = em.namespace().hubs[0].partitions[1].events_out();
    assert_eq!(delivered, 15, "prefetch 0 fetched ahead");
}

/// A new receiver starts at the latest event (as the official SDKs do); `recv_batch` with
/// nothing to read returns empty after its wait.
#[tokio::test]
async fn starts_at_latest_and_batches_wait_bounded() {
    let (em, _hub) = start().await;
    let (producer, consumer) = clients(&em);
    let to_2 = || SendEventOptions::default().partition_id("2");
    producer.send_event("old", to_2()).await.unwrap();
    let mut receiver = consumer
        .open_partition_receiver("2", PartitionReceiverOptions::default())
        .await
        .unwrap();
    let started = tokio::time::Instant::now();
    let none = receiver
        .recv_batch(10, Duration::from_millis(300))
        .await
        .unwrap();
    assert!(none.is_empty());
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(started.elapsed() < Duration::from_secs(3));
    producer.send_event("new", to_2()).await.unwrap();
    let e = within("recv", receiver.recv()).await.unwrap();
    assert_eq!(e.data_as_str(), Some("new"));
    assert_eq!(e.sequence_number(), 1);
}

/// A sixth receiver on one partition and consumer group is over the service's quota: the
/// error says so by kind (not a generic service error) and in words that say what to do,
/// and it is not retried as if transient.
#[tokio::test]
async fn sixth_receiver_is_a_quota_error() {
    let (em, _hub) = start().await;
    let (_producer, consumer) = clients(&em);
    let mut open = Vec::new();
    for _ in 0..5 {
        open.push(
            within("open", consumer.open_partition_receiver("0", earliest()))
                .await
                .unwrap(),
        );
    }
    let err = within("sixth", consumer.open_partition_receiver("0", earliest()))
        .await
        .expect_err("a sixth receiver is refused");
    assert_eq!(err.kind(), eventhubs::ErrorKind::QuotaExceeded, "{err}");
    assert!(!err.is_transient());
    let text = err.to_string();
    assert!(text.contains("partition 0"), "{text}");
    eprintln!("sixth receiver: {text}");
    // Closing one makes room.
    drop(open.pop());
    let again = common::eventually(|| consumer.open_partition_receiver("0", earliest())).await;
    drop(again);
}

/// A receiver whose link is taken by a higher owner level while events are queued for it
/// hands out the events it already received, in order, then the loss as
/// `OwnershipLost` (the service's `amqp:link:stolen`), not a generic detach.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stolen_link_comes_after_the_events_already_received() {
    let (em, _hub) = start().await;
    let (producer, consumer) = clients(&em);
    producer
        .send_events(
            (0..500).map(|i| i.to_string()),
            SendEventOptions::default().partition_id("0"),
        )
        .await
        .unwrap();
    let mut owner = within(
        "open",
        consumer.open_partition_receiver("0", earliest().owner_level(1).prefetch(1000)),
    )
    .await
    .unwrap();
    let first = within("first", owner.recv()).await.unwrap();
    assert_eq!(first.sequence_number(), 0);
    let (_, thief_client) = clients(&em);
    let _thief = within(
        "steal",
        thief_client.open_partition_receiver("0", earliest().owner_level(2)),
    )
    .await
    .unwrap();
    let mut next = 1;
    let error = loop {
        match within("drain", owner.recv()).await {
            Ok(e) => {
                assert_eq!(e.sequence_number(), next, "in order, nothing skipped");
                next += 1;
            }
            Err(e) => break e,
        }
    };
    assert_eq!(error.kind(), eventhubs::ErrorKind::OwnershipLost, "{error}");
    eprintln!("{next} events received before the loss was reported");
}
