//! A small Event Hubs client on the project's AMQP engine, for tests and benchmarks that
//! must speak the wire protocol directly: connect, CBS put-token, events, consumers.

use bytes::Bytes;
use eventhubs_amqp::codec::Encode;
use eventhubs_amqp::connection::{ConnectionConfig, LinkConfig};
use eventhubs_amqp::message::{Body, Message, Properties};
use eventhubs_amqp::terminus::Source;
use eventhubs_amqp::types::{Described, Symbol, Value};
use eventhubs_amqp_io::{Connection, Sender, Session};
use eventhubs_protocol::cbs::{PutToken, CBS_NODE};
use eventhubs_protocol::constants as k;
use eventhubs_protocol::management::{ReadRequest, MANAGEMENT_NODE};
use eventhubs_protocol::response::RequestParts;
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

/// Connects and puts a token for `eh1` signed with the emulator's default key.
///
/// # Panics
/// When connecting or authorizing fails.
pub async fn authorized(addr: std::net::SocketAddr) -> (Connection, Session) {
    let (conn, session) = connect(addr).await;
    assert_eq!(put_token(&session, "SAS_KEY_VALUE").await, 202);
    (conn, session)
}

/// Attaches a sender to `address` and sends each body (unsettled, one at a time, each
/// accepted); returns the sender.
///
/// # Panics
/// When attaching or a send fails.
pub async fn send_bodies<I, S>(session: &Session, address: &str, bodies: I) -> Sender
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let sender = session
        .attach_sender(LinkConfig::sender(format!("send-{address}"), address))
        .await
        .unwrap();
    for body in bodies {
        sender
            .send_encoded(event(body.as_ref(), None), 0)
            .await
            .unwrap();
    }
    sender
}

/// Receives the first `n` events of `eh1` partition `partition` from the earliest one:
/// (body, sequence number) each.
///
/// # Panics
/// When attaching fails or an event takes more than 10 seconds to arrive.
pub async fn receive_bodies(session: &Session, partition: &str, n: usize) -> Vec<(String, i64)> {
    let mut rx = session
        .attach_receiver(consumer(partition, StartPosition::Earliest, None), 500)
        .await
        .unwrap();
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let d = tokio::time::timeout(std::time::Duration::from_secs(10), rx.recv())
            .await
            .expect("the event arrives within 10 s")
            .unwrap();
        out.push(body_of(&d.payload));
    }
    let _ = rx.close(None).await;
    out
}

/// Puts a SAS token signed with `key` for `sb://localhost/eh1` (valid 10 minutes);
/// returns the status code.
///
/// # Panics
/// When the exchange fails or the reply is malformed.
pub async fn put_token(session: &Session, key: &str) -> i32 {
    put_token_for(session, "sb://localhost/eh1", key, 600).await
}

/// Puts a SAS token for `audience` signed with `key`, expiring in `ttl_secs`; returns the
/// status code.
///
/// # Panics
/// When the exchange fails or the reply is malformed.
pub async fn put_token_for(session: &Session, audience: &str, key: &str, ttl_secs: u64) -> i32 {
    let expiry = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + ttl_secs;
    let token = eventhubs_protocol::sas::sign(audience, "RootManageSharedAccessKey", key, expiry);
    let put = PutToken {
        token_type: k::SAS_TOKEN_TYPE.to_owned(),
        audience: audience.to_owned(),
        expiration_ms: None,
        token,
    };
    status(&request(session, CBS_NODE, put.into_parts()).await)
}

/// Puts a JWT for `audience` (no `expiration`: the token's own `exp` decides); returns
/// the status code.
///
/// # Panics
/// When the exchange fails or the reply is malformed.
pub async fn put_jwt(session: &Session, audience: &str, token: &str) -> i32 {
    let put = PutToken {
        token_type: k::JWT_TOKEN_TYPE.to_owned(),
        audience: audience.to_owned(),
        expiration_ms: None,
        token: token.to_owned(),
    };
    status(&request(session, CBS_NODE, put.into_parts()).await)
}

/// A `$management` READ of hub `name` (`partition` given: of that partition).
///
/// # Panics
/// When the exchange fails.
pub async fn management_read(session: &Session, name: &str, partition: Option<&str>) -> Message {
    let read = ReadRequest {
        hub: name.to_owned(),
        partition: partition.map(str::to_owned),
    };
    request(session, MANAGEMENT_NODE, read.into_parts()).await
}

/// Sends one request to a `$cbs`/`$management` node and returns the response; checks the
/// response's correlation-id is the request's message-id with its type.
///
/// # Panics
/// When the exchange fails or the correlation-id does not match.
pub async fn request(session: &Session, node: &str, request: RequestParts) -> Message {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut replies = session
        .attach_receiver(LinkConfig::receiver(format!("{node}-reply-{n}"), node), 10)
        .await
        .unwrap();
    let requests = session
        .attach_sender(LinkConfig::sender(format!("{node}-req-{n}"), node))
        .await
        .unwrap();
    let message_id = Value::Ulong(n);
    let request = Message {
        properties: Some(Properties {
            message_id: Some(message_id.clone()),
            ..Properties::default()
        }),
        application_properties: Some(request.properties),
        body: Body::Value(request.body),
        ..Message::default()
    };
    requests.send(&request).await.unwrap();
    let reply = Message::decode(&replies.recv().await.unwrap().payload).unwrap();
    assert_eq!(
        reply
            .properties
            .as_ref()
            .and_then(|p| p.correlation_id.clone()),
        Some(message_id),
        "correlation-id keeps the message-id's type"
    );
    let _ = requests.close(None).await;
    let _ = replies.close(None).await;
    reply
}

/// An application property of a response.
pub fn app_property<'a>(reply: &'a Message, key: &str) -> Option<&'a Value> {
    eventhubs_protocol::response::application_property(reply, key)
}

/// The `status-code` of a response (an int, as the service sends it).
///
/// # Panics
/// When it is missing or not an int.
pub fn status(reply: &Message) -> i32 {
    match app_property(reply, k::STATUS_CODE) {
        Some(Value::Int(s)) => *s,
        other => panic!("status-code must be an int, got {other:?}"),
    }
}

/// A value of a response's map body by string key.
pub fn body_field<'a>(reply: &'a Message, key: &str) -> Option<&'a Value> {
    match &reply.body {
        Body::Value(Value::Map(entries)) => entries
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v),
        _ => None,
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
