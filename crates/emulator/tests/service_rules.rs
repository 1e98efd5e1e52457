//! Service behaviour over real loopback sockets with the project's AMQP client: lookup3
//! routing against docs/PROTOCOL.md §8.2's vectors, round-robin, `$management` READ field types,
//! retention, runtime metrics, drain, and detaching links when their token expires.

use std::time::Duration;

use eventhubs_amqp::connection::LinkConfig;
use eventhubs_amqp::definitions::condition;
use eventhubs_amqp::message::Message;
use eventhubs_amqp::types::{Symbol, Value};
use eventhubs_emulator::config::Retention;
use eventhubs_emulator::{Config, Emulator, HubConfig};
use eventhubs_protocol::constants as k;
use eventhubs_protocol::selector::StartPosition;
use eventhubs_test_support::client::{
    authorized, body_field, body_of, connect, consumer, event, management_read, put_token_for,
    send_bodies, status,
};

const KEY: &str = "SAS_KEY_VALUE";

/// docs/PROTOCOL.md §8.2: key, partition index with 4 partitions, with 32 partitions.
const VECTORS: &[(&str, usize, usize)] = &[
    ("a", 0, 28),
    ("abc", 1, 17),
    ("hello", 3, 23),
    ("partition-key", 1, 5),
    ("0123456789ab", 2, 30),
    ("0123456789abc", 3, 7),
    ("012345678901234567890123", 3, 15),
    ("ünïcödé", 3, 27),
    ("key1", 3, 27),
    ("key2", 3, 7),
    ("key3", 0, 8),
    ("test-key-42", 2, 2),
];

/// The bodies stored in each partition of `hub`, read straight from the namespace.
fn stored_bodies(em: &Emulator, hub: usize) -> Vec<Vec<String>> {
    em.namespace().hubs[hub]
        .partitions
        .iter()
        .map(|p| {
            p.events(0, 1000)
                .unwrap()
                .iter()
                .map(|e| body_of(&e.bytes).0)
                .collect()
        })
        .collect()
}

/// Keyed events sent to the hub (not a partition) land where the service's lookup3 hash
/// puts them, for 4 and 32 partitions.
#[tokio::test]
async fn partition_keys_follow_the_lookup3_vectors() {
    let mut config = Config::default();
    config.hubs.push(HubConfig::new("wide", 32));
    let em = Emulator::start(config).await.unwrap();
    let (_c, session) = connect(em.addr()).await;
    assert_eq!(
        put_token_for(&session, "sb://localhost/", KEY, 600).await,
        202
    );
    for (hub_index, hub) in ["eh1", "wide"].into_iter().enumerate() {
        let sender = session
            .attach_sender(LinkConfig::sender(format!("s-{hub}"), hub))
            .await
            .unwrap();
        for (key, _, _) in VECTORS {
            sender.send_encoded(event(key, Some(key)), 0).await.unwrap();
        }
        let stored = stored_bodies(&em, hub_index);
        for &(key, four, thirty_two) in VECTORS {
            let want = if hub_index == 0 { four } else { thirty_two };
            assert!(
                stored[want].iter().any(|b| b == key),
                "{hub}: key {key:?} expected on partition {want}"
            );
        }
        assert_eq!(stored.iter().map(Vec::len).sum::<usize>(), VECTORS.len());
    }
}

/// Events without key or partition are spread round-robin.
#[tokio::test]
async fn unkeyed_events_are_spread_round_robin() {
    let em = Emulator::start(Config::default()).await.unwrap();
    let (_c, session) = authorized(em.addr()).await;
    let _sender = send_bodies(&session, "eh1", (0..8).map(|i| format!("rr-{i}"))).await;
    let counts: Vec<usize> = stored_bodies(&em, 0).iter().map(Vec::len).collect();
    assert_eq!(counts, vec![2, 2, 2, 2]);
}

/// `$management` READ answers with docs/PROTOCOL.md §3.3's field names and AMQP types, and
/// 404 + amqp:not-found for unknown hubs and partitions.
#[tokio::test]
async fn management_read_fields_and_types() {
    let em = Emulator::start(Config::default()).await.unwrap();
    let (_c, session) = authorized(em.addr()).await;

    let hub = management_read(&session, "eh1", None).await;
    assert_eq!(status(&hub), 200);
    assert_eq!(body_field(&hub, "name"), Some(&Value::from("eh1")));
    assert!(matches!(
        body_field(&hub, "created_at"),
        Some(Value::Timestamp(_))
    ));
    assert_eq!(body_field(&hub, "partition_count"), Some(&Value::Int(4)));
    let ids = ["0", "1", "2", "3"]
        .map(|s| Value::String(s.into()))
        .to_vec();
    assert_eq!(body_field(&hub, "partition_ids"), Some(&Value::Array(ids)));

    let empty = management_read(&session, "eh1", Some("2")).await;
    assert_eq!(status(&empty), 200);
    assert_eq!(
        body_field(&empty, "last_enqueued_sequence_number"),
        Some(&Value::Long(-1))
    );
    assert_eq!(
        body_field(&empty, "last_enqueued_offset"),
        Some(&Value::from("-1"))
    );
    assert_eq!(
        body_field(&empty, "last_enqueued_time_utc"),
        Some(&Value::Timestamp(eventhubs_amqp::types::Timestamp(
            k::YEAR_ONE_MILLIS
        )))
    );
    assert_eq!(
        body_field(&empty, "is_partition_empty"),
        Some(&Value::Bool(true))
    );

    let _sender = send_bodies(
        &session,
        "eh1/Partitions/2",
        (0..3).map(|i| format!("m{i}")),
    )
    .await;
    let p = management_read(&session, "eh1", Some("2")).await;
    assert_eq!(body_field(&p, "partition"), Some(&Value::from("2")));
    assert_eq!(
        body_field(&p, "begin_sequence_number"),
        Some(&Value::Long(0))
    );
    assert_eq!(
        body_field(&p, "last_enqueued_sequence_number"),
        Some(&Value::Long(2))
    );
    assert!(matches!(
        body_field(&p, "last_enqueued_offset"),
        Some(Value::String(s)) if s.parse::<i64>().unwrap() > 0
    ));
    assert_eq!(
        body_field(&p, "is_partition_empty"),
        Some(&Value::Bool(false))
    );

    for (name, partition) in [("nope", None), ("eh1", Some("9"))] {
        let r = management_read(&session, name, partition).await;
        assert_eq!(status(&r), 404, "{name} {partition:?}");
        assert_eq!(
            eventhubs_test_support::client::app_property(&r, k::ERROR_CONDITION),
            Some(&Value::Symbol(condition::NOT_FOUND.into()))
        );
    }
}

/// Count retention trims the oldest events: earliest starts after them and management
/// reports the new beginning.
#[tokio::test]
async fn retention_trims_the_oldest_events() {
    let mut config = Config::default();
    config.retention = Retention {
        max_events: 5,
        ..Retention::default()
    };
    let em = Emulator::start(config).await.unwrap();
    let (_c, session) = authorized(em.addr()).await;
    let _sender = send_bodies(
        &session,
        "eh1/Partitions/0",
        (0..8).map(|i| format!("r{i}")),
    )
    .await;
    let mut rx = session
        .attach_receiver(consumer("0", StartPosition::Earliest, None), 10)
        .await
        .unwrap();
    assert_eq!(
        body_of(&rx.recv().await.unwrap().payload),
        ("r3".to_owned(), 3)
    );
    let info = management_read(&session, "eh1", Some("0")).await;
    assert_eq!(
        body_field(&info, "begin_sequence_number"),
        Some(&Value::Long(3))
    );
}

/// A receiver asking for runtime metrics gets them offered back and finds the partition's
/// last enqueued sequence number, offset and time in each event's delivery annotations.
#[tokio::test]
async fn runtime_metrics_in_delivery_annotations() {
    let em = Emulator::start(Config::default()).await.unwrap();
    let (_c, session) = authorized(em.addr()).await;
    let _sender = send_bodies(
        &session,
        "eh1/Partitions/1",
        (0..3).map(|i| format!("x{i}")),
    )
    .await;
    let mut config = consumer("1", StartPosition::Earliest, None);
    config.desired_capabilities = Some(vec![Symbol::from(k::RUNTIME_METRIC)]);
    let mut rx = session.attach_receiver(config, 10).await.unwrap();
    let offered = rx.remote_attach().offered_capabilities.clone();
    assert_eq!(offered, Some(vec![Symbol::from(k::RUNTIME_METRIC)]));
    let d = rx.recv().await.unwrap();
    let m = Message::decode(&d.payload).unwrap();
    let da = m.delivery_annotations.expect("delivery annotations");
    let get = |key: &str| {
        da.iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v.clone())
    };
    assert_eq!(get(k::LAST_ENQUEUED_SEQUENCE_NUMBER), Some(Value::Long(2)));
    assert!(matches!(
        get(k::LAST_ENQUEUED_OFFSET),
        Some(Value::String(_))
    ));
    assert!(matches!(
        get(k::LAST_ENQUEUED_TIME_UTC),
        Some(Value::Timestamp(_))
    ));
    assert!(matches!(
        get(k::RUNTIME_INFO_RETRIEVAL_TIME_UTC),
        Some(Value::Timestamp(_))
    ));
    assert_eq!(body_of(&d.payload).0, "x0");
}

/// A drain on an empty partition completes (the emulator returns the credit) and the
/// link works again once credit is granted.
#[tokio::test]
async fn drain_returns_credit_on_an_empty_partition() {
    let em = Emulator::start(Config::default()).await.unwrap();
    let (_c, session) = authorized(em.addr()).await;
    let mut rx = session
        .attach_receiver(consumer("3", StartPosition::Earliest, None), 50)
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(5), rx.drain())
        .await
        .expect("drain completes")
        .unwrap();
    rx.add_credit(10).await.unwrap();
    let sender = session
        .attach_sender(LinkConfig::sender("s", "eh1/Partitions/3"))
        .await
        .unwrap();
    sender.send_encoded(event("later", None), 0).await.unwrap();
    let d = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("the event arrives on the new credit")
        .unwrap();
    assert_eq!(body_of(&d.payload).0, "later");
}

/// Links authorized by a token are detached with amqp:unauthorized-access when it
/// expires; a fresh token on a new connection works.
#[tokio::test]
async fn links_are_detached_when_their_token_expires() {
    let em = Emulator::start(Config::default()).await.unwrap();
    let (_c, session) = connect(em.addr()).await;
    assert_eq!(
        put_token_for(&session, "sb://localhost/eh1", KEY, 2).await,
        202
    );
    let sender = session
        .attach_sender(LinkConfig::sender("s", "eh1/Partitions/0"))
        .await
        .unwrap();
    let mut rx = session
        .attach_receiver(consumer("0", StartPosition::Latest, None), 10)
        .await
        .unwrap();
    sender
        .send_encoded(event("in time", None), 0)
        .await
        .unwrap();
    assert_eq!(body_of(&rx.recv().await.unwrap().payload).0, "in time");
    let err = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("the receiver is detached")
        .unwrap_err();
    assert_eq!(err.condition(), Some(condition::UNAUTHORIZED_ACCESS));
    tokio::time::timeout(Duration::from_secs(10), sender.closed())
        .await
        .expect("the sender is detached");
    let err = sender
        .send_encoded(event("late", None), 0)
        .await
        .unwrap_err();
    assert!(
        err.condition() == Some(condition::UNAUTHORIZED_ACCESS) || err.condition().is_none(),
        "{err}"
    );
}
