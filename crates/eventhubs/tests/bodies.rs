//! Events sent by other SDKs need not have one data section: several data sections,
//! an `amqp-value` (a string, binary, or any value) and an `amqp-sequence` all reach a
//! consumer intact, and `data()` gives the bytes wherever the body has bytes.

mod common;

use bytes::Bytes;
use common::{start, within};
use eventhubs::{
    AmqpBody, ClientOptions, ConsumerClient, PartitionReceiverOptions, StartPosition, Value,
    DEFAULT_CONSUMER_GROUP,
};
use eventhubs_amqp::connection::LinkConfig;
use eventhubs_amqp::message::{Body, Message};

#[tokio::test]
async fn every_amqp_body_kind_is_received() {
    let (em, _hub) = start().await;
    let (_conn, session) = eventhubs_test_support::client::authorized(em.addr()).await;
    let sender = within(
        "attach",
        session.attach_sender(LinkConfig::sender("bodies", "eh1/Partitions/0")),
    )
    .await
    .unwrap();
    let bodies = [
        Body::Data(vec![
            Bytes::from_static(b"first "),
            Bytes::from_static(b"second"),
        ]),
        Body::Value(Value::from("a string value")),
        Body::Value(Value::Binary(Bytes::from_static(b"\x00binary\xff"))),
        Body::Value(Value::Long(42)),
        Body::Sequence(vec![vec![Value::Int(1), Value::from("x")]]),
    ];
    for body in &bodies {
        let message = Message {
            body: body.clone(),
            ..Message::default()
        };
        within("send", sender.send(&message)).await.unwrap();
    }

    let consumer = ConsumerClient::from_connection_string(
        &em.connection_string(Some("eh1")),
        None,
        DEFAULT_CONSUMER_GROUP,
        ClientOptions::default(),
    )
    .unwrap();
    let mut receiver = within(
        "open",
        consumer.open_partition_receiver(
            "0",
            PartitionReceiverOptions::default().start_position(StartPosition::earliest()),
        ),
    )
    .await
    .unwrap();
    let mut events = Vec::new();
    while events.len() < bodies.len() {
        events.push(within("recv", receiver.recv()).await.unwrap());
    }

    let expected_data: [&[u8]; 5] = [
        b"first second",
        b"a string value",
        b"\x00binary\xff",
        b"",
        b"",
    ];
    for ((event, body), data) in events.iter().zip(&bodies).zip(expected_data) {
        let body: &AmqpBody = body;
        assert_eq!(event.body(), body, "the body as sent");
        assert_eq!(event.data(), data, "{body:?}");
    }
    assert_eq!(events[0].data_as_str(), Some("first second"));
}
