//! The 1.0 producer against the in-process emulator: a full batch hands the event back (so
//! a fill loop loses nothing), a part-way failure of `send_events` says how many events
//! were stored, sends are routed where asked and refused when asked for two places, and the
//! facade's partitioned sender refuses rather than silently redirects.

mod common;

use common::{producer, start, within};
use eventhubs::{
    BatchOptions, CreateBatchOptions, ErrorKind, EventData, HubOptions, SendEventOptions,
};
use eventhubs_emulator::Emulator;

fn stored(em: &Emulator, partition: usize) -> i64 {
    em.namespace().hubs[0].partitions[partition]
        .info()
        .last_sequence_number
        + 1
}

/// 1,000 events offered to small batches: every one that does not fit comes back and goes
/// into the next batch, so all 1,000 are stored, in order.
#[tokio::test]
async fn filling_batches_loses_nothing() {
    let (em, _hub) = start().await;
    let producer = producer(&em);
    let options = || {
        CreateBatchOptions::default()
            .partition_id("1")
            .max_size_in_bytes(2048)
    };
    let mut batch = producer.create_batch(options()).await.unwrap();
    let mut batches = 0;
    for i in 0..1000 {
        let event = EventData::from(format!("event {i:04}"));
        if let Err(full) = batch.try_add(event) {
            assert!(full.is_full());
            producer.send_batch(batch).await.unwrap();
            batches += 1;
            batch = producer.create_batch(options()).await.unwrap();
            batch.try_add(full.into_event()).unwrap();
        }
    }
    producer.send_batch(batch).await.unwrap();
    assert!(batches >= 5, "the limit made many batches ({batches})");
    assert_eq!(stored(&em, 1), 1000, "every event offered is stored");
}

/// `send_events` stops at an event too large for any batch; the error says how many events
/// were accepted before it, which is exactly what the partition holds.
#[tokio::test]
async fn send_events_reports_how_many_were_stored() {
    let (em, _hub) = start().await;
    let producer = producer(&em);
    let mut events: Vec<EventData> = (0..3000)
        .map(|i| EventData::from(vec![b'x'; 500 + i % 7]))
        .collect();
    events.push(EventData::from(vec![0u8; 2 << 20])); // over the 1 MiB link limit
    events.push(EventData::from("never sent"));
    let err = producer
        .send_events(events, SendEventOptions::default().partition_id("2"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MessageTooLarge, "{err}");
    let sent = err
        .events_sent()
        .expect("the error says how many were sent");
    assert_eq!(
        sent as i64,
        stored(&em, 2),
        "events_sent is what the partition holds"
    );
    assert!(sent > 0 && sent <= 3000, "{sent}");
}

/// A partition id and a partition key together are refused; a key routes by lookup3; a
/// partition that does not exist is an error naming it.
#[tokio::test]
async fn routing_and_refusals() {
    let (em, _hub) = start().await;
    let producer = producer(&em);
    let both = SendEventOptions::default()
        .partition_id("1")
        .partition_key("k");
    let err = producer.send_event("x", both).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
    let err = producer
        .create_batch(
            CreateBatchOptions::default()
                .partition_id("1")
                .partition_key("k"),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");

    // lookup3("hello") with 4 partitions is partition 3 (docs/PROTOCOL.md §8.2).
    producer
        .send_event("keyed", SendEventOptions::default().partition_key("hello"))
        .await
        .unwrap();
    assert_eq!(stored(&em, 3), 1);

    let err = within(
        "send to a missing partition",
        producer.send_event("x", SendEventOptions::default().partition_id("7")),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(err.to_string().contains('7'), "names the partition: {err}");
}

/// The facade's partitioned sender sends to its partition, and refuses a different one
/// instead of quietly sending there anyway.
#[tokio::test]
async fn partitioned_sender_refuses_other_partitions() {
    let (em, hub) = common::start_with(
        eventhubs_emulator::Config::default(),
        HubOptions::default().partitioned_sender("1"),
    )
    .await;
    hub.send("pinned").await.unwrap();
    hub.send_to_partition("1", "same partition").await.unwrap();
    assert_eq!(stored(&em, 1), 2);
    for other in ["0", "7"] {
        let err = hub.send_to_partition(other, "elsewhere").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
        assert!(err.to_string().contains(other), "{err}");
    }
    let err = hub
        .create_batch(BatchOptions::default().partition_id("2"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert_eq!(stored(&em, 0) + stored(&em, 2), 0, "nothing went elsewhere");
}

/// 2,000 concurrent single sends — to partitions, to keys, to the hub — share deliveries,
/// yet each call gets its own result and each event is stored once where it belongs, with
/// its own properties.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_single_sends_are_each_stored_once() {
    let (em, _hub) = start().await;
    let producer = producer(&em);
    let mut sends = tokio::task::JoinSet::new();
    for i in 0..2000u32 {
        let producer = producer.clone();
        sends.spawn(async move {
            let event = EventData::from(format!("e{i}")).with_property("i", i64::from(i));
            let options = match i % 3 {
                0 => SendEventOptions::default().partition_id("0"),
                1 => SendEventOptions::default().partition_key("hello"), // partition 3
                _ => SendEventOptions::default(),
            };
            producer.send_event(event, options).await
        });
    }
    within("every send returns", async {
        while let Some(r) = sends.join_next().await {
            r.unwrap().unwrap();
        }
    })
    .await;
    let mut seen = std::collections::HashSet::new();
    for (p, partition) in em.namespace().hubs[0].partitions.iter().enumerate() {
        for e in partition.events(0, usize::MAX).unwrap() {
            let m = eventhubs_amqp::message::Message::decode(&e.bytes).unwrap();
            let body = String::from_utf8(m.data().unwrap().to_vec()).unwrap();
            let i: u32 = body[1..].parse().unwrap();
            let prop = m.application_properties.unwrap();
            assert_eq!(
                prop[0].1,
                eventhubs::Value::Long(i64::from(i)),
                "its own properties"
            );
            match i % 3 {
                0 => assert_eq!(p, 0, "{body}"),
                1 => assert_eq!(p, 3, "{body}"),
                _ => {}
            }
            assert!(seen.insert(i), "{body} stored twice");
        }
    }
    assert_eq!(seen.len(), 2000);
}

/// An event too large for the link, sent among many concurrent ones, fails on its own;
/// the others are stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversize_send_fails_alone() {
    let (em, _hub) = start().await;
    let producer = producer(&em);
    let mut sends = tokio::task::JoinSet::new();
    for i in 0..300usize {
        let producer = producer.clone();
        sends.spawn(async move {
            let data = if i == 150 {
                vec![0u8; 2 << 20]
            } else {
                vec![b'x'; 100]
            };
            (
                i,
                producer
                    .send_event(data, SendEventOptions::default().partition_id("1"))
                    .await,
            )
        });
    }
    let mut failed = Vec::new();
    while let Some(r) = sends.join_next().await {
        let (i, result) = r.unwrap();
        if let Err(e) = result {
            assert_eq!(e.kind(), ErrorKind::MessageTooLarge, "{e}");
            failed.push(i);
        }
    }
    assert_eq!(failed, [150]);
    assert_eq!(stored(&em, 1), 299);
}

/// An array property whose elements differ in type cannot be encoded as AMQP: the send is
/// refused with the property's name, and nothing reaches the hub (not even the good events
/// of the same `send_events` call).
#[tokio::test]
async fn mixed_type_array_property_is_refused() {
    use eventhubs::Value;
    let (em, _hub) = start().await;
    let producer = producer(&em);
    let mixed = Value::Array(vec![Value::Int(1), Value::from("two")]);
    let bad = EventData::from("bad").with_property("readings", mixed);
    let to_2 = || SendEventOptions::default().partition_id("2");

    let err = within("send", producer.send_event(bad.clone(), to_2()))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
    assert!(err.to_string().contains("\"readings\""), "{err}");
    assert!(err.to_string().contains("string"), "{err}");

    let err = within(
        "send_events",
        producer.send_events([EventData::from("good"), bad.clone()], to_2()),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
    assert_eq!(stored(&em, 2), 0, "nothing sent");

    // Arrays of one type are fine.
    let good = EventData::from("ok")
        .with_property("readings", Value::Array(vec![Value::Int(1), Value::Int(2)]));
    within("send", producer.send_event(good, to_2()))
        .await
        .unwrap();
    assert_eq!(stored(&em, 2), 1);
}

/// A batch hands a mixed-type event back with the reason, and stays usable.
#[tokio::test]
async fn batch_hands_back_an_event_it_cannot_encode() {
    use eventhubs::TryAddReason;
    use eventhubs::Value;
    let (em, _hub) = start().await;
    let producer = producer(&em);
    let mut batch = producer
        .create_batch(CreateBatchOptions::default().partition_id("3"))
        .await
        .unwrap();
    let mixed = Value::Array(vec![Value::Long(1), Value::Bool(true)]);
    let err = batch
        .try_add(EventData::from("bad").with_property("flags", mixed))
        .unwrap_err();
    assert_eq!(err.reason(), TryAddReason::InvalidProperty);
    assert!(err.to_string().contains("\"flags\""), "{err}");
    assert_eq!(err.into_event().data(), b"bad");
    batch.try_add(EventData::from("fine")).unwrap();
    producer.send_batch(batch).await.unwrap();
    assert_eq!(stored(&em, 3), 1);
}
