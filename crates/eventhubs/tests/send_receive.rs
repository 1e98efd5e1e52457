//! Sending and receiving against the in-process emulator: single events with every field,
//! partition keys, partitioned senders, explicit and split batches, oversize events,
//! start positions, streams in spawned tasks, runtime metrics and management.

mod common;

use std::time::Duration;

use common::{start, start_with, within};
use eventhubs::{BatchOptions, ErrorKind, Event, HubOptions, ReceiveOptions, Value};
use eventhubs_emulator::Config;

/// One event with every field is received with them all, plus system properties.
#[tokio::test]
async fn event_fields_round_trip() {
    let (_em, hub) = start().await;
    let event = Event::from("hello, world!")
        .with_message_id("id-1")
        .with_content_type("text/plain")
        .with_correlation_id("corr-9")
        .with_property("n", 42i64)
        .with_property("s", "text");
    hub.send_to_partition("2", event).await.unwrap();
    let mut rx = hub
        .receiver("2", ReceiveOptions::default().from_beginning())
        .await
        .unwrap();
    let e = within("receive", rx.recv()).await.unwrap();
    assert_eq!(e.data_as_str(), Some("hello, world!"));
    assert_eq!(e.message_id(), Some(&Value::from("id-1")));
    assert_eq!(e.content_type(), Some("text/plain"));
    assert_eq!(e.correlation_id(), Some(&Value::from("corr-9")));
    assert_eq!(e.property("n"), Some(&Value::Long(42)));
    assert_eq!(e.property("s"), Some(&Value::from("text")));
    assert_eq!(
        (e.sequence_number(), e.offset(), e.partition_id()),
        (0, "0", "2")
    );
    assert!(e.enqueued_time() > std::time::UNIX_EPOCH);
    assert!(e
        .system_properties()
        .iter()
        .any(|(k, _)| k.as_str() == Some("x-opt-sequence-number")));
    assert!(!e.raw_amqp_message().is_empty());
}

/// Keyed events land on the lookup3 partition and keep their key; a partitioned sender
/// sends everything to its partition.
#[tokio::test]
async fn partition_keys_and_partitioned_sender() {
    let (em, hub) = start().await;
    for i in 0..3 {
        hub.send(Event::from(format!("k{i}")).with_partition_key("hello"))
            .await
            .unwrap();
    }
    // lookup3("hello") with 4 partitions is 3 (docs/PROTOCOL.md §8.2).
    let mut rx = hub.receiver("3", ReceiveOptions::default()).await.unwrap();
    for i in 0..3 {
        let e = within("keyed", rx.recv()).await.unwrap();
        assert_eq!(e.data_as_str(), Some(format!("k{i}").as_str()));
        assert_eq!(e.partition_key(), Some("hello"));
    }
    let pinned = eventhubs::Hub::from_connection_string(
        &em.connection_string(Some("eh1")),
        HubOptions::default().partitioned_sender("1"),
    )
    .unwrap();
    pinned
        .send(Event::from("pinned").with_partition_key("hello"))
        .await
        .unwrap();
    pinned.send_batch(["a", "b"]).await.unwrap();
    let info = hub.partition_information("1").await.unwrap();
    assert_eq!(info.last_sequence_number, 2);
}

/// `send_batch` groups by key and splits at the link's limit (256 KiB here, like Basic
/// tier): every event arrives once, in order per key.
#[tokio::test]
async fn send_batch_splits_at_the_link_limit() {
    let mut config = Config::default();
    config.max_message_size = 256 * 1024;
    let (_em, hub) = start_with(config, HubOptions::default().partitioned_sender("0")).await;
    let events: Vec<Event> = (0..100)
        .map(|i| Event::new(vec![b'a' + (i % 26) as u8; 10_000]).with_property("i", i as i64))
        .collect();
    hub.send_batch(events).await.unwrap();
    let info = hub.partition_information("0").await.unwrap();
    assert_eq!(info.last_sequence_number, 99, "all 100 events stored");
    let mut rx = hub.receiver("0", ReceiveOptions::default()).await.unwrap();
    for i in 0..100i64 {
        let e = within("batch", rx.recv()).await.unwrap();
        assert_eq!(e.property("i"), Some(&Value::Long(i)));
        assert_eq!(e.data().len(), 10_000);
    }
    let batch = hub.create_batch(BatchOptions::default()).await.unwrap();
    assert_eq!(
        batch.max_size_in_bytes(),
        256 * 1024,
        "the link's negotiated limit"
    );
}

/// An event over the limit fails with a clear error naming both sizes, without
/// retries, and the client keeps working.
#[tokio::test]
async fn oversize_event_is_a_clear_error() {
    let mut config = Config::default();
    config.max_message_size = 256 * 1024;
    let (_em, hub) = start_with(config, HubOptions::default()).await;
    let err = hub
        .send(Event::new(vec![0u8; 300 * 1024]))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MessageTooLarge);
    assert!(!err.is_transient());
    assert!(err.to_string().contains("262144"), "{err}");
    let err = hub
        .send_batch([Event::new(vec![0u8; 300 * 1024])])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MessageTooLarge);
    let mut batch = hub.create_batch(BatchOptions::default()).await.unwrap();
    let refused = batch
        .try_add(Event::new(vec![0u8; 300 * 1024]))
        .unwrap_err();
    assert!(
        !refused.is_full(),
        "too large for any batch, not just this one"
    );
    assert_eq!(
        refused.into_event().data().len(),
        300 * 1024,
        "the event comes back"
    );
    batch.try_add(Event::from("small")).unwrap();
    hub.send_event_batch(batch).await.unwrap();
}

/// Every start position starts at the right event.
#[tokio::test]
async fn start_positions() {
    let (_em, hub) = start().await;
    for i in 0..5 {
        hub.send_to_partition("1", format!("e{i}")).await.unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let first = |options: ReceiveOptions| {
        let hub = hub.clone();
        async move {
            let mut rx = hub.receiver("1", options).await.unwrap();
            within("first event", rx.recv()).await.unwrap()
        }
    };
    let e2 = first(ReceiveOptions::default().from_sequence_number(2, true)).await;
    assert_eq!(e2.data_as_str(), Some("e2"));
    let e = first(ReceiveOptions::default().from_sequence_number(2, false)).await;
    assert_eq!(e.data_as_str(), Some("e3"));
    let e = first(ReceiveOptions::default().from_offset(e2.offset(), true)).await;
    assert_eq!(e.data_as_str(), Some("e2"));
    let e = first(ReceiveOptions::default().from_offset(e2.offset(), false)).await;
    assert_eq!(e.data_as_str(), Some("e3"));
    let e = first(ReceiveOptions::default().from_enqueued_time(e2.enqueued_time(), true)).await;
    assert_eq!(e.data_as_str(), Some("e2"));
    let e = first(ReceiveOptions::default().from_enqueued_time(e2.enqueued_time(), false)).await;
    assert_eq!(e.data_as_str(), Some("e3"));
    let e = first(ReceiveOptions::default().from_beginning()).await;
    assert_eq!(e.data_as_str(), Some("e0"));
    let mut latest = hub
        .receiver("1", ReceiveOptions::default().from_latest())
        .await
        .unwrap();
    hub.send_to_partition("1", "after").await.unwrap();
    let e = within("latest", latest.recv()).await.unwrap();
    assert_eq!((e.data_as_str(), e.sequence_number()), (Some("after"), 5));
    assert_eq!(
        hub.receiver(
            "1",
            ReceiveOptions::default().from_offset("not-a-number", true)
        )
        .await
        .unwrap_err()
        .kind(),
        ErrorKind::InvalidArgument
    );
}

/// The stream is `Send + 'static`: it runs inside `tokio::spawn`. Runtime metrics come
/// with each event when asked for.
#[tokio::test]
async fn stream_in_a_spawned_task_with_runtime_metrics() {
    use futures_core::Stream;
    let (_em, hub) = start().await;
    hub.send_batch((0..10).map(|i| Event::from(format!("s{i}")).with_partition_key("k")))
        .await
        .unwrap();
    let rx = hub
        .receiver("0", ReceiveOptions::default().track_last_enqueued(true))
        .await
        .unwrap();
    let partition = eventhubs_protocol::hash::partition_for_key("k", 4).to_string();
    let rx = if partition == "0" {
        rx
    } else {
        hub.receiver(
            &partition,
            ReceiveOptions::default().track_last_enqueued(true),
        )
        .await
        .unwrap()
    };
    let task = tokio::spawn(async move {
        let mut stream = Box::pin(rx.into_stream());
        let mut got = Vec::new();
        while got.len() < 10 {
            let next = std::future::poll_fn(|cx| stream.as_mut().poll_next(cx)).await;
            let e = next.unwrap().unwrap();
            got.push((
                e.data_as_str().unwrap().to_owned(),
                e.last_enqueued().cloned(),
            ));
        }
        got
    });
    let got = within("stream", task).await.unwrap();
    assert_eq!(got[9].0, "s9");
    let last = got[0].1.as_ref().expect("runtime metric");
    assert_eq!(last.sequence_number, 9);
}

/// Runtime information and partition information come from `$management`.
#[tokio::test]
async fn management() {
    let (_em, hub) = start().await;
    let info = hub.runtime_information().await.unwrap();
    assert_eq!(info.path, "eh1");
    assert_eq!(info.partition_ids, vec!["0", "1", "2", "3"]);
    assert_eq!(info.partition_count, 4);
    let p = hub.partition_information("2").await.unwrap();
    assert!(p.is_empty);
    assert_eq!(p.last_sequence_number, -1);
    hub.send_to_partition("2", "x").await.unwrap();
    let p = hub.partition_information("2").await.unwrap();
    assert!(!p.is_empty);
    assert_eq!(
        (p.beginning_sequence_number, p.last_sequence_number),
        (0, 0)
    );
    let err = hub.partition_information("9").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}
