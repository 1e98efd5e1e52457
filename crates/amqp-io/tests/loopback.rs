//! Our client role against our server role over real loopback sockets.

mod common;

use bytes::Bytes;
use eventhubs_amqp::connection::{ConnectionConfig, LinkConfig};
use eventhubs_amqp::definitions::condition;
use eventhubs_amqp_io::{accept, Connection};

const N: usize = 10_000;

/// 10,000 messages each way, settled and unsettled, with one message larger than the
/// negotiated frame size, arrive intact and in order.
#[tokio::test]
async fn ten_thousand_each_way() {
    let port = common::start_broker(ConnectionConfig::server("broker").max_frame_size(4096)).await;
    let conn = Connection::connect_tcp(&format!("127.0.0.1:{port}"), ConnectionConfig::client("c"))
        .await
        .unwrap();
    let session = conn.begin().await.unwrap();
    common::round_trip(&session, N).await;
    conn.close(None).await.unwrap();
}

/// A link the server refuses fails the attach with the server's error condition.
#[tokio::test]
async fn refused_attach_reports_condition() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let (s, _) = listener.accept().await.unwrap();
        let (_conn, mut links) = accept(s, ConnectionConfig::server("srv")).await.unwrap();
        while let Some(l) = links.recv().await {
            l.refuse(eventhubs_amqp::definitions::AmqpError::new(
                condition::NOT_FOUND,
                "nope",
            ))
            .await
            .unwrap();
        }
    });
    let conn = Connection::connect_tcp(&addr, ConnectionConfig::client("c"))
        .await
        .unwrap();
    let session = conn.begin().await.unwrap();
    let err = session
        .attach_receiver(LinkConfig::receiver("r", "missing"), 10)
        .await
        .unwrap_err();
    assert_eq!(err.condition(), Some(condition::NOT_FOUND));
    let err = session
        .attach_sender(LinkConfig::sender("s", "missing"))
        .await
        .unwrap_err();
    assert_eq!(err.condition(), Some(condition::NOT_FOUND));
    let _ = Bytes::new();
}

/// A receiver that stops consuming stops its sender: with no credit, `send_settled` waits
/// once the engine holds its bounded queue, and resumes, losing nothing, when the
/// receiver consumes again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backpressure_without_credit() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    const TOTAL: usize = 20_000;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (rx_tx, rx_rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let (s, _) = listener.accept().await.unwrap();
        let (_conn, mut links) = accept(s, ConnectionConfig::server("srv")).await.unwrap();
        let link = links.recv().await.unwrap();
        let rx = link
            .accept_receiver(LinkConfig::default(), 1)
            .await
            .unwrap();
        let _ = rx_tx.send((rx, _conn));
    });
    let conn = Connection::connect_tcp(&addr, ConnectionConfig::client("c"))
        .await
        .unwrap();
    let sender = conn
        .begin()
        .await
        .unwrap()
        .attach_sender(LinkConfig::sender("s", "q"))
        .await
        .unwrap();
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = sent.clone();
    let producer = tokio::spawn(async move {
        for i in 0..TOTAL {
            sender
                .send_settled(common::message(i, 10), 0)
                .await
                .unwrap();
            counter.fetch_add(1, Ordering::Relaxed);
        }
    });
    let (mut rx, _server_conn) = rx_rx.await.unwrap();
    // One delivery goes out on the single credit; 2,048 more wait in the link's queue; the
    // next send waits for the link's own credit.
    const STALL_AT: usize = 1 + 2048;
    tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while sent.load(Ordering::Relaxed) < STALL_AT {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the producer gets as far as the link's queue allows");
    for _ in 0..1000 {
        tokio::task::yield_now().await;
    }
    assert_eq!(
        sent.load(Ordering::Relaxed),
        STALL_AT,
        "the producer waits once the link's queue is full"
    );
    for i in 0..TOTAL {
        let d = rx.recv().await.unwrap();
        assert_eq!(common::index_of(&d.payload), i);
    }
    producer.await.unwrap();
}
