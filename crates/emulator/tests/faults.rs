//! Transport rules and bad input over real sockets: a 1 MiB event split over many frames,
//! malformed frames closing only their own connection, SASL variants and the bare AMQP
//! header, connection and link limits, and the `/health` counters.

use std::time::Duration;

use bytes::Bytes;
use eventhubs_amqp::codec::Encode;
use eventhubs_amqp::connection::{ConnectionConfig, LinkConfig, SaslClient};
use eventhubs_amqp::definitions::condition;
use eventhubs_amqp::message::Message;
use eventhubs_amqp_io::Connection;
use eventhubs_emulator::{Config, Emulator};
use eventhubs_protocol::selector::StartPosition;
use eventhubs_test_support::client::{
    authorized, connect, consumer, put_token, receive_bodies, send_bodies,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const KEY: &str = "SAS_KEY_VALUE";
const AMQP_HEADER: &[u8; 8] = b"AMQP\x00\x01\x00\x00";

/// An event of 1 MiB minus a little (the default limit) travels split into 64 KiB frames
/// both ways and arrives byte for byte.
#[tokio::test]
async fn one_mebibyte_event_split_over_frames() {
    let em = Emulator::start(Config::default()).await.unwrap();
    let (conn, session) = connect(em.addr()).await;
    assert_eq!(conn.remote_open().max_frame_size, 65536);
    assert_eq!(put_token(&session, KEY).await, 202);
    let body: Vec<u8> = (0..1024 * 1024 - 200)
        .map(|i| (i * 7 % 251) as u8)
        .collect();
    let payload = Message::with_data(Bytes::from(body.clone())).to_bytes();
    assert!(
        payload.len() > 16 * 65536 - 1000,
        "spans at least 16 frames"
    );
    let sender = session
        .attach_sender(LinkConfig::sender("s", "eh1/Partitions/0"))
        .await
        .unwrap();
    sender.send_encoded(payload, 0).await.unwrap();
    let mut rx = session
        .attach_receiver(consumer("0", StartPosition::Earliest, None), 2)
        .await
        .unwrap();
    let d = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .unwrap()
        .unwrap();
    let m = Message::decode(&d.payload).unwrap();
    assert_eq!(m.data().unwrap(), &body[..]);
}

/// Reads from a raw socket until the peer closes it (bounded by a timeout).
async fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return out,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => panic!("the connection was not closed; got {out:?}"),
        }
    }
}

/// Garbage after a valid handshake closes that connection with an AMQP error; a
/// connection opened before it keeps sending and receiving.
#[tokio::test]
async fn malformed_frames_close_only_their_connection() {
    let em = Emulator::start(Config::default()).await.unwrap();
    let (_good, session) = authorized(em.addr()).await;

    let cases: [&[u8]; 3] = [
        // A frame whose body is not a performative.
        b"\x00\x00\x00\x10\x02\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff",
        // A frame size below the 8-byte minimum.
        b"\x00\x00\x00\x04\x02\x00\x00\x00",
        // A frame over the negotiated maximum (the emulator's is 65536).
        b"\x00\x10\x00\x00\x02\x00\x00\x00",
    ];
    for bad in cases {
        let mut raw = TcpStream::connect(em.addr()).await.unwrap();
        raw.write_all(AMQP_HEADER).await.unwrap();
        let mut header = [0u8; 8];
        raw.read_exact(&mut header).await.unwrap();
        assert_eq!(&header, AMQP_HEADER, "a bare AMQP header is accepted");
        raw.write_all(bad).await.unwrap();
        let reply = read_until_closed(&mut raw).await;
        let text = String::from_utf8_lossy(&reply);
        assert!(
            text.contains("amqp:decode-error")
                || text.contains("amqp:connection:framing-error")
                || text.contains("amqp:frame-size-too-small"),
            "closed with an AMQP error: {text:?}"
        );
    }

    send_bodies(&session, "eh1/Partitions/1", ["still here"]).await;
    assert_eq!(
        receive_bodies(&session, "1", 1).await,
        [("still here".to_owned(), 0)]
    );
}

/// SASL PLAIN and no SASL at all both get to a working connection (authorization is
/// always by CBS token).
#[tokio::test]
async fn sasl_plain_and_bare_amqp_header() {
    let em = Emulator::start(Config::default()).await.unwrap();
    for sasl in [
        SaslClient::Plain {
            username: "RootManageSharedAccessKey".into(),
            password: KEY.into(),
        },
        SaslClient::None,
    ] {
        let config = ConnectionConfig::client("sasl-test").sasl(sasl);
        let conn = Connection::connect_tcp(&em.addr().to_string(), config)
            .await
            .unwrap();
        let session = conn.begin().await.unwrap();
        assert_eq!(put_token(&session, KEY).await, 202);
        conn.close(None).await.unwrap();
    }
}

/// Beyond `max_connections` a new connection is closed right after its open with
/// resource-limit-exceeded; closing one makes room.
#[tokio::test]
async fn connection_limit() {
    let mut config = Config::default();
    config.max_connections = 2;
    let em = Emulator::start(config).await.unwrap();
    let (first, _s1) = connect(em.addr()).await;
    let (_second, _s2) = connect(em.addr()).await;
    // A connection with a working session, or the error it was closed with.
    let try_connect = || async {
        let conn =
            Connection::connect_tcp(&em.addr().to_string(), ConnectionConfig::client("more"))
                .await?;
        let session = conn.begin().await?;
        Ok::<_, eventhubs_amqp_io::Error>((conn, session))
    };
    let refused = try_connect().await.map(|_| ()).unwrap_err();
    assert_eq!(
        refused.condition(),
        Some(condition::RESOURCE_LIMIT_EXCEEDED),
        "{refused}"
    );
    first.close(None).await.unwrap();
    // The slot is free once the emulator has seen the close: bounded retries.
    let mut admitted = false;
    for _ in 0..50 {
        if try_connect().await.is_ok() {
            admitted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(admitted, "a closed connection frees its place");
}

/// Beyond `max_links_per_connection` attaches are refused with resource-limit-exceeded.
#[tokio::test]
async fn link_limit() {
    let mut config = Config::default();
    config.max_links_per_connection = 4;
    let em = Emulator::start(config).await.unwrap();
    let (_c, session) = connect(em.addr()).await;
    // put_token uses two links.
    assert_eq!(put_token(&session, KEY).await, 202);
    let _a = session
        .attach_sender(LinkConfig::sender("a", "eh1"))
        .await
        .unwrap();
    let _b = session
        .attach_sender(LinkConfig::sender("b", "eh1"))
        .await
        .unwrap();
    let err = session
        .attach_sender(LinkConfig::sender("c", "eh1"))
        .await
        .unwrap_err();
    assert_eq!(err.condition(), Some(condition::RESOURCE_LIMIT_EXCEEDED));
}

/// `GET /health` reports healthy with per-partition event counters.
#[tokio::test]
async fn health_endpoint_counts_events() {
    let em = Emulator::start(Config::default()).await.unwrap();
    let health = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let health_addr = health.local_addr().unwrap();
    tokio::spawn(eventhubs_emulator::health::serve(
        health,
        em.namespace().clone(),
    ));
    let (_c, session) = authorized(em.addr()).await;
    let _sender = send_bodies(
        &session,
        "eh1/Partitions/2",
        (0..3).map(|i| format!("h{i}")),
    )
    .await;
    let mut http = TcpStream::connect(health_addr).await.unwrap();
    http.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let response = String::from_utf8(read_until_closed(&mut http).await).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let json = &response[response.find("\r\n\r\n").unwrap() + 4..];
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(v["status"], "healthy");
    let p2 = v["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["hub"] == "eh1" && p["partition"] == "2")
        .unwrap_or_else(|| panic!("{v}"));
    assert_eq!(p2["events_in"], 3);
}
