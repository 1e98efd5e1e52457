//! Engine benchmark: our AMQP stack and fe2o3-amqp on the same loopback in one run, with
//! 100-byte messages. Prints events/s and process CPU ns/event (client and server both run
//! in this process, so CPU covers both ends). Not a test: run it with
//! `cargo bench -p eventhubs-amqp-io --bench amqp` (optionally `-- --quick`, and words that
//! pick rows by name: `-- delivery`, `-- batches`).

use std::collections::VecDeque;

use bytes::Bytes;
use eventhubs_amqp::codec::Encode;
use eventhubs_amqp::connection::{ConnectionConfig, LinkConfig, SaslClient};
use eventhubs_amqp::definitions::SenderSettleMode;
use eventhubs_amqp::message::{BatchBuilder, Message, BATCH_MESSAGE_FORMAT};
use eventhubs_amqp_io::{accept, Connection};
use eventhubs_test_support::bench::measure;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

const BODY: usize = 100;
const BATCH: usize = 100;

struct Row {
    name: &'static str,
    ours: (f64, f64),
    fe2o3: (f64, f64),
}

fn event() -> Bytes {
    Message::with_data(vec![b'x'; BODY]).to_bytes()
}

fn batch() -> Bytes {
    let e = event();
    let mut b = BatchBuilder::new(None, 1 << 20);
    for _ in 0..BATCH {
        assert!(b.try_add_encoded(&e));
    }
    b.finish()
}

// ---------------------------------------------------------------- ours

/// Our server: counts deliveries on any incoming sender link and reports after `expect`;
/// serves `serve` pre-settled events to any receiver link.
async fn our_server(expect: u64, serve: u64) -> (u16, oneshot::Receiver<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (done_tx, done_rx) = oneshot::channel();
    tokio::spawn(async move {
        let (s, _) = listener.accept().await.unwrap();
        s.set_nodelay(true).unwrap();
        let config = ConnectionConfig::server("bench-server").max_frame_size(256 * 1024);
        let (_conn, mut links) = accept(s, config).await.unwrap();
        let mut done_tx = Some(done_tx);
        while let Some(link) = links.recv().await {
            if link.peer_role() == eventhubs_amqp::definitions::Role::Sender {
                let mut rx = link
                    .accept_receiver(LinkConfig::default().max_message_size(1 << 24), 5000)
                    .await
                    .unwrap();
                let done = done_tx.take();
                tokio::spawn(async move {
                    let mut n = 0u64;
                    while n < expect {
                        // Take one delivery, then whatever else has arrived, and settle the
                        // unsettled ones with one ranged disposition.
                        let mut next = Some(rx.recv().await.unwrap());
                        let mut range: Option<(u32, u32)> = None;
                        while let Some(d) = next {
                            n += if d.message_format == BATCH_MESSAGE_FORMAT {
                                BATCH as u64
                            } else {
                                1
                            };
                            if !d.settled {
                                range = Some((range.map_or(d.delivery_id, |r| r.0), d.delivery_id));
                            }
                            next = if n < expect {
                                rx.try_recv().await.unwrap()
                            } else {
                                None
                            };
                        }
                        if let Some((a, b)) = range {
                            rx.settle(
                                a,
                                b,
                                eventhubs_amqp::delivery_state::DeliveryState::Accepted,
                            )
                            .await
                            .unwrap();
                        }
                    }
                    if let Some(d) = done {
                        let _ = d.send(());
                    }
                    // keep the link alive until the client goes away
                    let _ = rx.recv().await;
                });
            } else {
                let tx = link.accept_sender(LinkConfig::default()).await.unwrap();
                let e = event();
                tokio::spawn(async move {
                    for _ in 0..serve {
                        if tx.send_settled(e.clone(), 0).await.is_err() {
                            return;
                        }
                    }
                });
            }
        }
    });
    (port, done_rx)
}

async fn our_client(port: u16) -> Connection {
    let config = ConnectionConfig::client("bench-client")
        .sasl(SaslClient::Anonymous)
        .max_frame_size(256 * 1024);
    Connection::connect_tcp(&format!("127.0.0.1:{port}"), config)
        .await
        .unwrap()
}

async fn ours_send(n: u64, settled: bool, batched: bool) -> (f64, f64) {
    let transfers = if batched { n / BATCH as u64 } else { n };
    let (port, done) = our_server(n, 0).await;
    let conn = our_client(port).await;
    let session = conn.begin().await.unwrap();
    let mode = if settled {
        SenderSettleMode::Settled
    } else {
        SenderSettleMode::Unsettled
    };
    let sender = session
        .attach_sender(LinkConfig::sender("bench", "q").snd_settle_mode(mode))
        .await
        .unwrap();
    let (payload, format) = if batched {
        (batch(), BATCH_MESSAGE_FORMAT)
    } else {
        (event(), 0)
    };
    let window = if batched { 10 } else { 5000 };
    let r = measure(n, async {
        let mut inflight = VecDeque::new();
        for _ in 0..transfers {
            if settled {
                sender.send_settled(payload.clone(), format).await.unwrap();
            } else {
                inflight.push_back(sender.start_send(payload.clone(), format).await.unwrap());
                if inflight.len() >= window {
                    inflight.pop_front().unwrap().wait().await.unwrap();
                }
            }
        }
        for p in inflight {
            p.wait().await.unwrap();
        }
        done.await.unwrap();
    })
    .await;
    conn.close(None).await.unwrap();
    r
}

async fn ours_receive(n: u64) -> (f64, f64) {
    let (port, _done) = our_server(u64::MAX, n).await;
    let conn = our_client(port).await;
    let session = conn.begin().await.unwrap();
    let mut rx = session
        .attach_receiver(LinkConfig::receiver("bench-r", "q"), 1000)
        .await
        .unwrap();
    let r = measure(n, async {
        for _ in 0..n {
            rx.recv().await.unwrap();
        }
    })
    .await;
    conn.close(None).await.unwrap();
    r
}

// ---------------------------------------------------------------- fe2o3

mod fe {
    use super::*;
    use fe2o3_amqp::acceptor::{ConnectionAcceptor, LinkAcceptor, LinkEndpoint, SessionAcceptor};
    use fe2o3_amqp::link::receiver::CreditMode;
    use fe2o3_amqp::types::definitions::SenderSettleMode as FeMode;
    use fe2o3_amqp::types::messaging::{Batch, Body, Data, Message as FeMessage};
    use fe2o3_amqp::types::primitives::{Binary, Value};

    pub(super) async fn server(expect: u64, serve: u64) -> (u16, oneshot::Receiver<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (done_tx, done_rx) = oneshot::channel();
        tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            stream.set_nodelay(true).unwrap();
            let acceptor = ConnectionAcceptor::builder()
                .container_id("fe-server")
                .max_frame_size(256 * 1024u32)
                .build();
            let mut conn = acceptor.accept(stream).await.unwrap();
            let mut session = SessionAcceptor::new().accept(&mut conn).await.unwrap();
            let links = LinkAcceptor::new();
            let mut done_tx = Some(done_tx);
            while let Ok(link) = links.accept(&mut session).await {
                match link {
                    LinkEndpoint::Receiver(mut r) => {
                        let done = done_tx.take();
                        tokio::spawn(async move {
                            let mut n = 0;
                            while n < expect {
                                let d = r.recv::<Body<Value>>().await.unwrap();
                                n += match d.body() {
                                    Body::Data(b) if b.len() > 1 => b.len() as u64,
                                    _ => 1,
                                };
                                r.accept(&d).await.unwrap();
                            }
                            if let Some(d) = done {
                                let _ = d.send(());
                            }
                            let _ = r.recv::<Body<Value>>().await;
                        });
                    }
                    LinkEndpoint::Sender(mut s) => {
                        tokio::spawn(async move {
                            for _ in 0..serve {
                                let m = FeMessage::builder()
                                    .data(Binary::from(vec![b'x'; BODY]))
                                    .build();
                                let sendable = fe2o3_amqp::link::delivery::Sendable::builder()
                                    .message(m)
                                    .settled(true)
                                    .build();
                                if s.send(sendable).await.is_err() {
                                    return;
                                }
                            }
                        });
                    }
                }
            }
        });
        (port, done_rx)
    }

    async fn client(
        port: u16,
    ) -> (
        fe2o3_amqp::connection::ConnectionHandle<()>,
        fe2o3_amqp::session::SessionHandle<()>,
    ) {
        // Our own socket with TCP_NODELAY, exactly as our client uses, so both stacks get
        // the same transport.
        let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        stream.set_nodelay(true).unwrap();
        let mut conn = fe2o3_amqp::Connection::builder()
            .container_id("fe-client")
            .max_frame_size(256 * 1024u32)
            .hostname("127.0.0.1")
            .open_with_stream(stream)
            .await
            .unwrap();
        let session = fe2o3_amqp::Session::begin(&mut conn).await.unwrap();
        (conn, session)
    }

    fn message(batched: bool) -> FeMessage<Body<Value>> {
        if batched {
            let e = event().to_vec();
            let data: Batch<Data> = (0..BATCH).map(|_| Data(Binary::from(e.clone()))).collect();
            FeMessage::builder().body(Body::Data(data)).build()
        } else {
            FeMessage::builder()
                .body(Body::Data(
                    vec![Data(Binary::from(vec![b'x'; BODY]))].into(),
                ))
                .build()
        }
    }

    pub(super) async fn send(n: u64, settled: bool, batched: bool) -> (f64, f64) {
        let transfers = if batched { n / BATCH as u64 } else { n };
        let (port, done) = server(n, 0).await;
        let (mut conn, mut session) = client(port).await;
        let mode = if settled {
            FeMode::Mixed
        } else {
            FeMode::Unsettled
        };
        let mut sender = fe2o3_amqp::Sender::builder()
            .name("bench")
            .target("q")
            .sender_settle_mode(mode)
            .attach(&mut session)
            .await
            .unwrap();
        let window = if batched { 10 } else { 5000 };
        let r = measure(n, async {
            let mut inflight = VecDeque::new();
            for _ in 0..transfers {
                if settled {
                    let sendable = fe2o3_amqp::link::delivery::Sendable::builder()
                        .message(message(batched))
                        .settled(true)
                        .build();
                    sender.send(sendable).await.unwrap();
                } else {
                    inflight.push_back(sender.send_batchable(message(batched)).await.unwrap());
                    if inflight.len() >= window {
                        inflight.pop_front().unwrap().await.unwrap();
                    }
                }
            }
            for p in inflight {
                p.await.unwrap();
            }
            done.await.unwrap();
        })
        .await;
        let _ = sender.close().await;
        let _ = session.end().await;
        let _ = conn.close().await;
        r
    }

    pub(super) async fn receive(n: u64) -> (f64, f64) {
        let (port, _done) = server(u64::MAX, n).await;
        let (mut conn, mut session) = client(port).await;
        let mut rx = fe2o3_amqp::Receiver::builder()
            .name("bench-r")
            .source("q")
            .credit_mode(CreditMode::Auto(1000))
            .attach(&mut session)
            .await
            .unwrap();
        let r = measure(n, async {
            for _ in 0..n {
                let d = rx.recv::<Body<Value>>().await.unwrap();
                // fe2o3 refreshes auto credit only when deliveries are disposed (a no-op on
                // the wire for pre-settled ones).
                rx.accept(&d).await.unwrap();
            }
        })
        .await;
        let _ = rx.close().await;
        let _ = session.end().await;
        let _ = conn.close().await;
        r
    }
}

fn main() {
    if !eventhubs_test_support::bench::invoked_by_cargo_bench() {
        return;
    }
    let quick = std::env::args().any(|a| a == "--quick");
    let scale = if quick { 10 } else { 1 };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let single = 2_000_000 / scale;
        let fe_single = 200_000 / scale;
        let batched = 20_000_000 / scale;
        let fe_batched = 1_000_000 / scale;
        // Words after `--` pick rows by name (`-- delivery`, `-- batches`).
        let filters: Vec<String> = std::env::args()
            .skip(1)
            .filter(|a| !a.starts_with("--"))
            .collect();
        let wanted = |name: &str| filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()));
        let mut rows = Vec::new();
        let name = "pre-settled single transfers";
        if wanted(name) {
            rows.push(Row { name, ours: ours_send(single, true, false).await, fe2o3: fe::send(fe_single, true, false).await });
        }
        let name = "unsettled pipelined transfers";
        if wanted(name) {
            rows.push(Row { name, ours: ours_send(single, false, false).await, fe2o3: fe::send(fe_single / 2, false, false).await });
        }
        let name = "100-event batches (0x80013700)";
        if wanted(name) {
            rows.push(Row { name, ours: ours_send(batched, false, true).await, fe2o3: fe::send(fe_batched, false, true).await });
        }
        let name = "server→client delivery, credit 1000";
        if wanted(name) {
            rows.push(Row { name, ours: ours_receive(single).await, fe2o3: fe::receive(fe_single).await });
        }
        println!("| path ({BODY}-byte events, loopback) | ours events/s | ours CPU ns/event | fe2o3 events/s | fe2o3 CPU ns/event | speed-up |");
        println!("|---|---:|---:|---:|---:|---:|");
        for r in rows {
            println!(
                "| {} | {:.0} | {:.0} | {:.0} | {:.0} | {:.1}x |",
                r.name, r.ours.0, r.ours.1, r.fe2o3.0, r.fe2o3.1, r.ours.0 / r.fe2o3.0
            );
        }
    });
}
