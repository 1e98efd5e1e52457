//! Interop with fe2o3-amqp, an independent AMQP 1.0 implementation, over loopback: our
//! client against an fe2o3 acceptor, and an fe2o3 client against our server. 10,000
//! messages each way, settled and unsettled, one larger than the negotiated frame size.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fe2o3_amqp::acceptor::{ConnectionAcceptor, LinkAcceptor, LinkEndpoint, SessionAcceptor};
use fe2o3_amqp::types::definitions::SenderSettleMode as FeSettleMode;
use fe2o3_amqp::types::messaging::{Body, Message as FeMessage};
use fe2o3_amqp::types::primitives::{Binary, Value as FeValue};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use eventhubs_amqp::connection::ConnectionConfig;
use eventhubs_amqp_io::Connection;

const N: usize = 10_000;
type FeMsg = FeMessage<Body<FeValue>>;
type FeQueues = Arc<
    Mutex<
        HashMap<
            String,
            (
                mpsc::UnboundedSender<FeMsg>,
                Option<mpsc::UnboundedReceiver<FeMsg>>,
            ),
        >,
    >,
>;

fn fe_queue(q: &FeQueues, addr: &str) -> mpsc::UnboundedSender<FeMsg> {
    let mut q = q.lock().unwrap();
    q.entry(addr.to_owned())
        .or_insert_with(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            (tx, Some(rx))
        })
        .0
        .clone()
}

/// An fe2o3 acceptor acting as a queue broker.
async fn start_fe2o3_broker() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let queues: FeQueues = Arc::default();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let queues = queues.clone();
            tokio::spawn(async move {
                let acceptor = ConnectionAcceptor::builder()
                    .container_id("fe2o3-broker")
                    .max_frame_size(8192u32)
                    .build();
                let mut conn = acceptor.accept(stream).await.unwrap();
                let sessions = SessionAcceptor::new();
                while let Ok(mut session) = sessions.accept(&mut conn).await {
                    let queues = queues.clone();
                    tokio::spawn(async move {
                        let links = LinkAcceptor::new();
                        while let Ok(link) = links.accept(&mut session).await {
                            let queues = queues.clone();
                            match link {
                                LinkEndpoint::Receiver(mut r) => {
                                    let addr = r
                                        .target()
                                        .as_ref()
                                        .and_then(|t| t.address.clone())
                                        .unwrap_or_default();
                                    let tx = fe_queue(&queues, &addr);
                                    tokio::spawn(async move {
                                        while let Ok(d) = r.recv::<Body<FeValue>>().await {
                                            let _ = r.accept(&d).await;
                                            let _ = tx.send(d.into_message());
                                        }
                                    });
                                }
                                LinkEndpoint::Sender(mut s) => {
                                    let addr = s
                                        .source()
                                        .as_ref()
                                        .and_then(|t| t.address.clone())
                                        .unwrap_or_default();
                                    fe_queue(&queues, &addr);
                                    let rx = queues
                                        .lock()
                                        .unwrap()
                                        .get_mut(&addr)
                                        .and_then(|q| q.1.take());
                                    tokio::spawn(async move {
                                        let Some(mut rx) = rx else { return };
                                        while let Some(m) = rx.recv().await {
                                            if s.send(m).await.is_err() {
                                                return;
                                            }
                                        }
                                    });
                                }
                            }
                        }
                    });
                }
            });
        }
    });
    port
}

/// Our client sends 2×10,000 messages through an fe2o3 broker and reads them back intact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_against_fe2o3_acceptor() {
    let port = start_fe2o3_broker().await;
    let work = async {
        let config = ConnectionConfig::client("our-client")
            .sasl(eventhubs_amqp::connection::SaslClient::None)
            .max_frame_size(8192);
        let conn = Connection::connect_tcp(&format!("127.0.0.1:{port}"), config)
            .await
            .unwrap();
        let session = conn.begin().await.unwrap();
        common::round_trip(&session, N).await;
        conn.close(None).await.unwrap();
    };
    tokio::time::timeout(Duration::from_secs(240), work)
        .await
        .unwrap();
}

fn fe_body(i: usize) -> Vec<u8> {
    let mut b = format!("message {i} ").into_bytes();
    b.resize(if i == N / 2 { 100_000 } else { 100 }, b'.');
    b
}

/// An fe2o3 client sends 2×10,000 messages through our server and reads them back intact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fe2o3_client_against_our_server() {
    let port =
        common::start_broker(ConnectionConfig::server("our-broker").max_frame_size(8192)).await;
    let work = async {
        let mut conn = fe2o3_amqp::Connection::builder()
            .container_id("fe2o3-client")
            .max_frame_size(8192u32)
            .open(format!("amqp://127.0.0.1:{port}").as_str())
            .await
            .unwrap();
        let mut session = fe2o3_amqp::Session::begin(&mut conn).await.unwrap();
        for (queue, settled) in [("settled", true), ("unsettled", false)] {
            let mode = if settled {
                FeSettleMode::Settled
            } else {
                FeSettleMode::Unsettled
            };
            let mut sender = fe2o3_amqp::Sender::builder()
                .name(format!("fe-s-{queue}"))
                .target(queue)
                .sender_settle_mode(mode)
                .attach(&mut session)
                .await
                .unwrap();
            for i in 0..N {
                let m = FeMessage::builder().data(Binary::from(fe_body(i))).build();
                let outcome = sender.send(m).await.unwrap();
                if !settled {
                    outcome.accepted_or("not accepted").unwrap();
                }
            }
            let mut receiver =
                fe2o3_amqp::Receiver::attach(&mut session, format!("fe-r-{queue}"), queue)
                    .await
                    .unwrap();
            for i in 0..N {
                let d = receiver.recv::<Body<FeValue>>().await.unwrap();
                let Body::Data(data) = d.body() else {
                    panic!("expected data body")
                };
                assert_eq!(
                    data[0].0.as_slice(),
                    fe_body(i).as_slice(),
                    "{queue} message {i}"
                );
                receiver.accept(&d).await.unwrap();
            }
            receiver.close().await.unwrap();
            sender.close().await.unwrap();
        }
        session.end().await.unwrap();
        conn.close().await.unwrap();
    };
    tokio::time::timeout(Duration::from_secs(240), work)
        .await
        .unwrap();
}
