//! Emulator rules checked over real loopback sockets with the project's AMQP client:
//! CBS validation, unknown entities, routing by partition key, positions, epochs and
//! the size limit.

use eventhubs_amqp::connection::LinkConfig;
use eventhubs_amqp::definitions::condition;
use eventhubs_emulator::{Config, Emulator};
use eventhubs_protocol::selector::StartPosition;
use eventhubs_test_support::client::{authorized, body_of, connect, consumer, event, put_token};

/// A wrong key gets 401 and links stay unauthorized; the right key gets 202.
#[tokio::test]
async fn cbs_validates_sas() {
    let em = Emulator::start(Config::default()).await.unwrap();
    let (_c, session) = connect(em.addr()).await;
    assert_eq!(put_token(&session, "wrong-key").await, 401);
    let err = session
        .attach_sender(LinkConfig::sender("s", "eh1"))
        .await
        .unwrap_err();
    assert_eq!(err.condition(), Some(condition::UNAUTHORIZED_ACCESS));
    let (_c2, session2) = authorized(em.addr()).await;
    session2
        .attach_sender(LinkConfig::sender("s", "eh1"))
        .await
        .unwrap();
}

/// Unknown hubs, partitions and consumer groups are refused with amqp:not-found.
#[tokio::test]
async fn unknown_entities_are_not_found() {
    let em = Emulator::start(Config::default()).await.unwrap();
    let (_c, session) = authorized(em.addr()).await;
    for addr in ["nope", "eh1/Partitions/9"] {
        let err = session
            .attach_sender(LinkConfig::sender(addr, addr))
            .await
            .unwrap_err();
        assert_eq!(err.condition(), Some(condition::NOT_FOUND), "{addr}");
    }
    let err = session
        .attach_receiver(
            LinkConfig::receiver("r", "eh1/ConsumerGroups/none/Partitions/0"),
            1,
        )
        .await
        .unwrap_err();
    assert_eq!(err.condition(), Some(condition::NOT_FOUND));
}

/// Keyed events land on the lookup3 partition with consecutive sequence numbers; reading
/// from a sequence number (exclusive) starts right after it.
#[tokio::test]
async fn keyed_routing_and_positions() {
    let em = Emulator::start(Config::default()).await.unwrap();
    let (_c, session) = authorized(em.addr()).await;
    let sender = session
        .attach_sender(LinkConfig::sender("s", "eh1"))
        .await
        .unwrap();
    for i in 0..5 {
        sender
            .send_encoded(event(&format!("e{i}"), Some("hello")), 0)
            .await
            .unwrap();
    }
    let p = eventhubs_protocol::hash::partition_for_key("hello", 4).to_string();
    assert_eq!(p, "3");
    let mut rx = session
        .attach_receiver(consumer(&p, StartPosition::Earliest, None), 10)
        .await
        .unwrap();
    for i in 0..5 {
        assert_eq!(
            body_of(&rx.recv().await.unwrap().payload),
            (format!("e{i}"), i)
        );
    }
    let pos = StartPosition::SequenceNumber {
        sequence_number: 2,
        inclusive: false,
    };
    let mut rx = session
        .attach_receiver(consumer(&p, pos, None), 10)
        .await
        .unwrap();
    assert_eq!(
        body_of(&rx.recv().await.unwrap().payload),
        ("e3".to_owned(), 3)
    );
}

/// An epoch receiver steals the partition (the old one is detached with
/// amqp:link:stolen) and a non-epoch receiver is then refused.
#[tokio::test]
async fn epoch_steals_and_refuses_non_epoch() {
    let em = Emulator::start(Config::default()).await.unwrap();
    let (_c, session) = authorized(em.addr()).await;
    let mut old = session
        .attach_receiver(consumer("0", StartPosition::Latest, Some(1)), 10)
        .await
        .unwrap();
    let _new = session
        .attach_receiver(consumer("0", StartPosition::Latest, Some(2)), 10)
        .await
        .unwrap();
    let err = old.recv().await.unwrap_err();
    assert_eq!(err.condition(), Some(condition::STOLEN));
    let err = session
        .attach_receiver(consumer("0", StartPosition::Latest, None), 10)
        .await
        .unwrap_err();
    assert_eq!(err.condition(), Some(condition::STOLEN));
}

/// The configured max-message-size (256 KiB, like Basic tier) is advertised on the link;
/// an event over it fails before sending with both sizes named, and the link keeps
/// working. (The engine's own rejection of oversize deliveries from peers that ignore the
/// limit is tested in `eventhubs-amqp`.)
#[tokio::test]
async fn oversize_event_is_rejected() {
    let mut config = Config::default();
    config.max_message_size = 256 * 1024;
    let em = Emulator::start(config).await.unwrap();
    let (_c, session) = authorized(em.addr()).await;
    let sender = session
        .attach_sender(LinkConfig::sender("s", "eh1/Partitions/1"))
        .await
        .unwrap();
    assert_eq!(sender.max_message_size(), 256 * 1024);
    let big = event(&"x".repeat(300 * 1024), None);
    let err = sender.send_encoded(big.clone(), 0).await.unwrap_err();
    assert!(
        err.to_string()
            .contains(&format!("{} bytes exceeds", big.len())),
        "{err}"
    );
    assert!(err.to_string().contains("262144"), "{err}");
    sender.send_encoded(event("small", None), 0).await.unwrap();
}

/// Receivers whose connections close free their place in the 5-receiver quota, even
/// when no event arrived while they were attached (regression: idle delivery tasks kept
/// their registration).
#[tokio::test]
async fn closed_receivers_free_the_quota() {
    let em = Emulator::start(Config::default()).await.unwrap();
    for _ in 0..7 {
        let (conn, session) = authorized(em.addr()).await;
        let _rx = session
            .attach_receiver(consumer("2", StartPosition::Latest, None), 10)
            .await
            .unwrap();
        conn.close(None).await.unwrap();
    }
    let (_c, session) = authorized(em.addr()).await;
    let mut held = Vec::new();
    for _ in 0..5 {
        held.push(
            session
                .attach_receiver(consumer("2", StartPosition::Latest, None), 10)
                .await
                .unwrap(),
        );
    }
    let err = session
        .attach_receiver(consumer("2", StartPosition::Latest, None), 10)
        .await
        .unwrap_err();
    assert_eq!(err.condition(), Some(condition::RESOURCE_LIMIT_EXCEEDED));
}
