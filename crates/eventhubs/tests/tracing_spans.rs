//! What a user sees with `RUST_LOG=trace`: spans name the connection, each link (hub,
//! partition, consumer group, link name) and each operation; and no secret — the shared
//! access key, a signature, a token — appears anywhere, not even in the engine's frame
//! trace.

mod common;

use common::Captured;
use eventhubs::{
    ClientOptions, ConsumerClient, PartitionReceiverOptions, ProducerClient, SendEventOptions,
    StartPosition, DEFAULT_CONSUMER_GROUP,
};
use eventhubs_emulator::{Config, Emulator};

#[tokio::test]
async fn spans_name_what_they_are_about_and_nothing_secret_is_logged() {
    let captured = Captured::default();
    let _guard = captured.install(tracing::Level::TRACE);

    let em = Emulator::start(Config::default()).await.unwrap();
    let cs = em.connection_string(Some("eh1"));
    let producer =
        ProducerClient::from_connection_string(&cs, None, ClientOptions::default()).unwrap();
    producer
        .send_events(["traced"], SendEventOptions::default().partition_id("2"))
        .await
        .unwrap();
    producer.get_partition_properties("2").await.unwrap();
    let consumer = ConsumerClient::from_connection_string(
        &cs,
        None,
        DEFAULT_CONSUMER_GROUP,
        ClientOptions::default(),
    )
    .unwrap();
    let mut receiver = consumer
        .open_partition_receiver(
            "2",
            PartitionReceiverOptions::default().start_position(StartPosition::earliest()),
        )
        .await
        .unwrap();
    assert_eq!(receiver.recv().await.unwrap().data_as_str(), Some("traced"));
    receiver.close().await;
    producer.close().await;
    consumer.close().await;
    em.shutdown().await;
    drop(_guard);

    let log = captured.text();
    for expected in [
        "eventhubs.connection{host=localhost hub=eh1",
        "eventhubs.token_renewal{hub=eh1 audience=sb://localhost",
        "eventhubs.send_events{hub=eh1 partition=Some(\"2\")}",
        "eventhubs.send_batch{hub=eh1 partition=Some(\"2\") events=1}",
        "eventhubs.attach_sender{hub=eh1 address=eh1/Partitions/2 link=sender-",
        "eventhubs.get_partition_properties{hub=eh1 partition=2}",
        "eventhubs.open_partition_receiver{hub=eh1 consumer_group=$Default partition=2}",
        "eventhubs.attach_receiver{hub=eh1 consumer_group=$Default partition=2 link=receiver-2-",
        "sender attached",
        "receiver attached",
    ] {
        assert!(
            log.contains(expected),
            "no {expected:?} in the trace:\n{log}"
        );
    }
    assert!(
        log.contains("eventhubs_amqp::frames"),
        "the frame trace ran (so it was checked too)"
    );
    // The emulator's default key, and what a SAS token carries.
    for secret in ["SAS_KEY_VALUE", "sig=", "SharedAccessSignature sr="] {
        assert!(!log.contains(secret), "{secret:?} appears in the trace");
    }
    eprintln!("{} lines of trace checked", log.lines().count());
    if std::env::var_os("EH_SHOW_TRACE").is_some() {
        eprintln!("{log}");
    }
}
