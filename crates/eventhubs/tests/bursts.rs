//! Many sends at once through the public client: 1,024 concurrent 50-event batches to
//! one partition all return, and the partition then holds exactly those 51,200 events,
//! each batch's events together and in order.

mod common;

use std::collections::HashMap;

use common::{start, within};
use eventhubs::{BatchOptions, Event, ReceiveOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_batches_all_return_and_are_all_stored() {
    const SENDS: usize = 1024;
    const PER_SEND: usize = 50;
    let (em, hub) = start().await;
    // Build every batch first, so the sends start together.
    let mut batches = Vec::with_capacity(SENDS);
    for s in 0..SENDS {
        let options = BatchOptions::default().partition_id("0");
        let mut batch = hub.create_batch(options).await.unwrap();
        for i in 0..PER_SEND {
            batch.try_add(Event::from(format!("{s}:{i}"))).unwrap();
        }
        batches.push(batch);
    }
    let mut tasks = tokio::task::JoinSet::new();
    for batch in batches {
        let hub = hub.clone();
        tasks.spawn(async move { hub.send_event_batch(batch).await.unwrap() });
    }
    within("every send returns", async {
        while let Some(done) = tasks.join_next().await {
            done.unwrap();
        }
    })
    .await;
    let partition = &em.namespace().hubs[0].partitions[0];
    assert_eq!(
        partition.info().last_sequence_number + 1,
        (SENDS * PER_SEND) as i64,
        "the partition holds every event sent"
    );

    let mut rx = hub
        .receiver(
            "0",
            ReceiveOptions::default().from_beginning().prefetch(2000),
        )
        .await
        .unwrap();
    // Each batch is stored as one run: its 50 events contiguous and in order.
    let mut next_in_batch: HashMap<usize, usize> = HashMap::new();
    let mut current: Option<usize> = None;
    for n in 0..SENDS * PER_SEND {
        let e = within("receive", rx.recv()).await.unwrap();
        assert_eq!(e.sequence_number(), n as i64);
        let (s, i) = e.data_as_str().unwrap().split_once(':').unwrap();
        let (s, i): (usize, usize) = (s.parse().unwrap(), i.parse().unwrap());
        if i == 0 {
            assert!(current.is_none(), "batch {s} starts inside another batch");
            current = Some(s);
        }
        assert_eq!(current, Some(s), "event {s}:{i} outside its batch's run");
        let expected = next_in_batch.entry(s).or_default();
        assert_eq!(i, *expected, "batch {s} out of order");
        *expected += 1;
        if i == PER_SEND - 1 {
            current = None;
        }
    }
    assert_eq!(next_in_batch.len(), SENDS, "every batch received once");
}
