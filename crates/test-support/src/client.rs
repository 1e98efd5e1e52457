//! A small Event Hubs client on the project's AMQP engine, for tests and benchmarks that
//! must speak the wire protocol directly: connect, CBS put-token, events, consumers.

use bytes::Bytes;
use eventhubs_amqp::codec::Encode;
use eventhubs_amqp::connection::{ConnectionConfig, LinkConfig};
use eventhubs_amqp::message::{Body, Message, Properties};
use eventhubs_amqp::terminus::Source;
use eventhubs_amqp::types::{Described, Symbol, Value};
use eventhubs_amqp_io::{Connection, Session};
use eventhubs_protocol::constants as k;
use eventhubs_protocol::selector::{StartPosition, SELECTOR_FILTER};

/// Opens a connection (SASL ANONYMOUS) and one session.
///
/// # Panics
/// When the connection fails (this is test code).
pub async fn connect(addr: std::net::SocketAddr) -> (Connection, Session) {
    let conn = Connection::connect_tcp(&addr.to_string(), ConnectionConfig::client("test"))
        .await
        .unwrap();
    let session = conn.begin().await.unwrap();
    (conn, session)
}

/// Puts a SAS token signed with `key` for `sb://localhost/eh1`; returns the status code.
///
/// # Panics
/// When the exchange fails or the reply is malformed.
pub async fn put_token(session: &Session, key: &str) -> i32 {
    let expiry = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600;
    let token = eventhubs_protocol::sas::sign(
        "sb://localhost/eh1",
        "RootManageSharedAccessKey",
        key,
        expiry,
    );
    let mut replies = session
        .attach_receiver(LinkConfig::receiver("cbs-reply", "$cbs"), 10)
        .await
        .unwrap();
    let requests = session
        .attach_sender(LinkConfig::sender("cbs-req", "$cbs"))
        .await
        .unwrap();
    let request = Message {
        properties: Some(Properties {
            message_id: Some(Value::from("req-1")),
            ..Properties::default()
        }),
        application_properties: Some(vec![
            ("operation".into(), Value::from(k::PUT_TOKEN)),
            ("type".into(), Value::from(k::SAS_TOKEN_TYPE)),
            ("name".into(), Value::from("sb://localhost/eh1")),
        ]),
        body: Body::Value(Value::String(token)),
        ..Message::default()
    };
    requests.send(&request).await.unwrap();
    let reply = Message::decode(&replies.recv().await.unwrap().payload).unwrap();
    assert_eq!(
        reply.properties.unwrap().correlation_id,
        Some(Value::from("req-1")),
        "correlation-id keeps its type"
    );
    let status = reply
        .application_properties
        .unwrap()
        .into_iter()
        .find(|(k, _)| k == "status-code")
        .unwrap()
        .1;
    match status {
        Value::Int(s) => s,
        other => panic!("status-code must be an int, got {other:?}"),
    }
}

/// An encoded event with `body` as its data section and an optional partition key.
pub fn event(body: &str, key: Option<&str>) -> Bytes {
    let mut m = Message::with_data(Bytes::from(body.to_owned()));
    if let Some(key) = key {
        m.message_annotations = Some(vec![(
            Value::Symbol(k::PARTITION_KEY.into()),
            Value::from(key),
        )]);
    }
    m.to_bytes()
}

/// A receiver link on `eh1/ConsumerGroups/$Default/Partitions/<partition>` starting at
/// `position`, with an optional epoch.
pub fn consumer(partition: &str, position: StartPosition, epoch: Option<i64>) -> LinkConfig {
    let filter = vec![(
        Symbol::from(SELECTOR_FILTER),
        Value::Described(Box::new(Described {
            descriptor: Value::Symbol(SELECTOR_FILTER.into()),
            value: Value::String(position.to_expression()),
        })),
    )];
    let mut c = LinkConfig::receiver(format!("r-{partition}-{epoch:?}"), "");
    c.source = Some(Source {
        address: Some(format!(
            "eh1/ConsumerGroups/$Default/Partitions/{partition}"
        )),
        filter: Some(filter),
        ..Source::default()
    });
    if let Some(e) = epoch {
        c.properties = Some(vec![(Symbol::from(k::EPOCH), Value::Long(e))]);
    }
    c
}

/// The body (as text) and sequence number of a received event.
///
/// # Panics
/// When the payload is not a stamped event with a UTF-8 body.
pub fn body_of(payload: &Bytes) -> (String, i64) {
    let m = Message::decode(payload).unwrap();
    let seq = m
        .message_annotations
        .clone()
        .unwrap()
        .into_iter()
        .find(|(k, _)| k.as_str() == Some(k::SEQUENCE_NUMBER))
        .and_then(|(_, v)| v.as_i64())
        .unwrap();
    (String::from_utf8(m.data().unwrap().to_vec()).unwrap(), seq)
}
