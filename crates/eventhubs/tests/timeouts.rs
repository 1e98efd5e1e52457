//! Every network wait is bounded, and one hung peer does not make callers queue: against a
//! listener that never speaks, a peer that opens the connection but never answers `begin`,
//! and a peer that takes sends but never settles them, concurrent calls each fail with
//! `Timeout` within the operation timeout, and `close` returns.

use std::time::{Duration, Instant};

use bytes::Bytes;
use eventhubs::{ClientOptions, ErrorKind, ProducerClient, RetryOptions, SendEventOptions};
use eventhubs_amqp::codec::Encode;
use eventhubs_amqp::connection::{Connection as Engine, ConnectionConfig, Event, LinkConfig};
use eventhubs_amqp::definitions::Role;
use eventhubs_amqp::message::{Body, Message, Properties};
use eventhubs_amqp::types::Value;
use eventhubs_amqp_io::accept;
use eventhubs_protocol::constants as k;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const TIMEOUT: Duration = Duration::from_secs(2);

/// A producer on `port` (plain AMQP) with a 2 s operation timeout and no retries.
fn producer(port: u16) -> ProducerClient {
    let cs = format!(
        "Endpoint=sb://localhost:{port};SharedAccessKeyName=k;SharedAccessKey=v;UseDevelopmentEmulator=true;EntityPath=eh1"
    );
    let options = ClientOptions::default()
        .operation_timeout(TIMEOUT)
        .retry(RetryOptions::default().max_retries(0));
    ProducerClient::from_connection_string(&cs, None, options).unwrap()
}

/// Five sends at once each fail with `Timeout` after about one operation timeout (not
/// one after another), and close returns at once.
async fn five_concurrent_sends_time_out(producer: ProducerClient) {
    let started = Instant::now();
    let mut sends = tokio::task::JoinSet::new();
    for i in 0..5 {
        let producer = producer.clone();
        sends.spawn(async move {
            let r = producer
                .send_event(format!("e{i}"), SendEventOptions::default())
                .await;
            (r, started.elapsed())
        });
    }
    while let Some(done) = sends.join_next().await {
        let (result, elapsed) = done.unwrap();
        let err = result.expect_err("the send cannot succeed");
        assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
        assert!(
            elapsed < TIMEOUT * 2,
            "a send waited {elapsed:?} (timeout {TIMEOUT:?}): callers must not queue"
        );
    }
    let closing = Instant::now();
    producer.close().await;
    assert!(closing.elapsed() < TIMEOUT + Duration::from_millis(500));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_listener() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accepts and holds connections, never writes a byte.
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    five_concurrent_sends_time_out(producer(port)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_that_never_answers_begin() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    // Runs the server handshake (SASL, open) with our engine, then stops answering.
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut config = ConnectionConfig::server("black-hole");
                config.sasl_server_mechanisms = vec!["ANONYMOUS".into()];
                let mut engine = Engine::new(config, Instant::now());
                let mut buf = vec![0u8; 64 * 1024];
                let mut opened = false;
                loop {
                    let out = engine.transmit_buffer().split();
                    if !out.is_empty() && s.write_all(&out).await.is_err() {
                        return;
                    }
                    let Ok(n) = s.read(&mut buf).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    if opened {
                        continue; // a black hole from here on
                    }
                    engine.read_buffer().extend_from_slice(&buf[..n]);
                    let _ = engine.handle_input(Instant::now());
                    while let Some(e) = engine.poll_event() {
                        opened |= matches!(e, Event::Opened(_));
                    }
                }
            });
        }
    });
    five_concurrent_sends_time_out(producer(port)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_that_never_settles_a_send() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tcp.set_nodelay(true).unwrap();
            tokio::spawn(async move {
                let (_conn, mut links) = accept(tcp, ConnectionConfig::server("s")).await.unwrap();
                let (reply_tx, mut reply_rx) = tokio::sync::mpsc::unbounded_channel::<Bytes>();
                let mut held = Vec::new();
                while let Some(link) = links.recv().await {
                    let address = match link.peer_role() {
                        Role::Sender => link
                            .attach()
                            .target
                            .as_ref()
                            .and_then(|t| t.address.clone()),
                        Role::Receiver => link
                            .attach()
                            .source
                            .as_ref()
                            .and_then(|t| t.address.clone()),
                    };
                    match (link.peer_role(), address.as_deref()) {
                        // $cbs: every put-token is accepted.
                        (Role::Sender, Some("$cbs")) => {
                            let mut rx = link
                                .accept_receiver(LinkConfig::default(), 10)
                                .await
                                .unwrap();
                            let reply_tx = reply_tx.clone();
                            tokio::spawn(async move {
                                while let Ok(d) = rx.recv().await {
                                    let _ = rx.accept(&d).await;
                                    let request = Message::decode(&d.payload).unwrap();
                                    let id = request.properties.and_then(|p| p.message_id);
                                    let reply = Message {
                                        properties: Some(Properties {
                                            correlation_id: id,
                                            ..Properties::default()
                                        }),
                                        application_properties: Some(vec![(
                                            k::STATUS_CODE.to_owned(),
                                            Value::Int(202),
                                        )]),
                                        body: Body::Value(Value::Null),
                                        ..Message::default()
                                    };
                                    let _ = reply_tx.send(reply.to_bytes());
                                }
                            });
                        }
                        (Role::Receiver, Some("$cbs")) => {
                            let tx = link.accept_sender(LinkConfig::default()).await.unwrap();
                            let mut replies = std::mem::replace(
                                &mut reply_rx,
                                tokio::sync::mpsc::unbounded_channel().1,
                            );
                            tokio::spawn(async move {
                                while let Some(r) = replies.recv().await {
                                    let _ = tx.send_settled(r, 0).await;
                                }
                            });
                        }
                        // The hub: takes deliveries, never settles them.
                        (Role::Sender, _) => {
                            held.push(
                                link.accept_receiver(LinkConfig::default(), 100)
                                    .await
                                    .unwrap(),
                            );
                        }
                        _ => {}
                    }
                }
            });
        }
    });
    five_concurrent_sends_time_out(producer(port)).await;
}
