//! Errors a newcomer meets in the first five minutes say what the operation was about (hub,
//! partition, consumer group) and what to check, in the words of the API — not the
//! protocol's (`$cbs`, "link detached").

mod common;

use eventhubs::{
    ClientOptions, ConsumerClient, Error, ErrorKind, PartitionReceiverOptions, ProducerClient,
    SendEventOptions,
};

fn check(e: &Error, kind: ErrorKind, must_say: &[&str]) {
    let text = e.to_string();
    assert_eq!(e.kind(), kind, "{text}");
    for words in must_say {
        assert!(text.contains(words), "{words:?} missing from: {text}");
    }
    for jargon in ["$cbs", "link detached", "put-token failed"] {
        assert!(!text.contains(jargon), "{jargon:?} in: {text}");
    }
}

#[tokio::test]
async fn errors_name_their_subject_and_say_what_to_check() {
    let (em, _hub) = common::start().await;
    let cs = em.connection_string(Some("eh1"));
    let options = ClientOptions::default;
    let producer = ProducerClient::from_connection_string(&cs, None, options()).unwrap();
    let to_9 = || SendEventOptions::default().partition_id("9");

    let e = producer.send_event("x", to_9()).await.unwrap_err();
    check(
        &e,
        ErrorKind::NotFound,
        &["sending to partition 9 of eh1", "Check the names"],
    );
    let e = producer.get_partition_properties("9").await.unwrap_err();
    check(
        &e,
        ErrorKind::NotFound,
        &[
            "reading the properties of partition 9 of eh1",
            "Check the names",
        ],
    );

    let unknown_hub = em.connection_string(Some("nope"));
    let producer = ProducerClient::from_connection_string(&unknown_hub, None, options()).unwrap();
    let e = producer
        .send_event("x", SendEventOptions::default())
        .await
        .unwrap_err();
    check(
        &e,
        ErrorKind::NotFound,
        &["sending to nope", "Check the names"],
    );

    let wrong_key = cs.replace("SAS_KEY_VALUE", "not-the-key");
    let producer = ProducerClient::from_connection_string(&wrong_key, None, options()).unwrap();
    let e = producer.get_eventhub_properties().await.unwrap_err();
    check(
        &e,
        ErrorKind::Unauthorized,
        &[
            "reading the properties of eh1",
            "authorization",
            "Check the credential",
        ],
    );
    assert!(
        !e.to_string().contains("not-the-key"),
        "the key is never shown"
    );

    let consumer = ConsumerClient::from_connection_string(&cs, None, "missing", options()).unwrap();
    let e = consumer
        .open_partition_receiver("0", PartitionReceiverOptions::default())
        .await
        .err()
        .unwrap();
    check(
        &e,
        ErrorKind::NotFound,
        &[
            "partition 0 of eh1 (consumer group missing)",
            "Check the names",
        ],
    );

    let e = ProducerClient::from_connection_string(
        "Endpoint=sb://x/;SharedAccessKeyName=a",
        None,
        options(),
    )
    .err()
    .unwrap();
    check(
        &e,
        ErrorKind::InvalidArgument,
        &["connection string", "SharedAccessKey"],
    );
    let e = ProducerClient::from_connection_string(&em.connection_string(None), None, options())
        .err()
        .unwrap();
    check(&e, ErrorKind::InvalidArgument, &["EntityPath"]);
}
