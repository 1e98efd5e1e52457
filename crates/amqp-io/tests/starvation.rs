//! Backpressure is per link, and control traffic never waits behind data: one link that
//! the peer never gives credit, with 10,000 sends queued on it, must not stop a receiver on
//! the same connection, a request/response exchange, or the connection's close.

use std::time::Duration;

use eventhubs_amqp::connection::{ConnectionConfig, LinkConfig};
use eventhubs_amqp::definitions::Role;
use eventhubs_amqp_io::{accept, Connection, IncomingLink};
use tokio::net::TcpListener;

mod common;

/// How long each step may take.
const STEP: Duration = Duration::from_secs(1);

/// A server whose links by target/source address: `starved` accepts a sender but never
/// grants credit; `echo` sends back (on `replies`) every message it gets; `stream` sends
/// numbered messages as long as the receiver grants credit.
async fn start_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        tcp.set_nodelay(true).unwrap();
        let (_conn, mut links) = accept(tcp, ConnectionConfig::server("s")).await.unwrap();
        let (reply_tx, mut reply_rx) = tokio::sync::mpsc::unbounded_channel();
        let mut held = Vec::new();
        while let Some(link) = links.recv().await {
            match (link.peer_role(), address(&link).as_str()) {
                (Role::Sender, "starved") => {
                    // Zero credit: attached, but the peer may never send.
                    held.push(
                        link.accept_receiver(LinkConfig::default(), 0)
                            .await
                            .unwrap(),
                    );
                }
                (Role::Sender, "echo") => {
                    let mut rx = link
                        .accept_receiver(LinkConfig::default(), 100)
                        .await
                        .unwrap();
                    let reply_tx = reply_tx.clone();
                    tokio::spawn(async move {
                        while let Ok(d) = rx.recv().await {
                            let _ = rx.accept(&d).await;
                            let _ = reply_tx.send(d.payload);
                        }
                    });
                }
                (Role::Receiver, "replies") => {
                    let tx = link.accept_sender(LinkConfig::default()).await.unwrap();
                    let mut replies =
                        std::mem::replace(&mut reply_rx, tokio::sync::mpsc::unbounded_channel().1);
                    tokio::spawn(async move {
                        while let Some(p) = replies.recv().await {
                            if tx.send_settled(p, 0).await.is_err() {
                                return;
                            }
                        }
                    });
                }
                (Role::Receiver, "stream") => {
                    let tx = link.accept_sender(LinkConfig::default()).await.unwrap();
                    tokio::spawn(async move {
                        for i in 0.. {
                            if tx.wait_for_credit().await.is_err()
                                || tx.send_settled(common::message(i, 10), 0).await.is_err()
                            {
                                return;
                            }
                        }
                    });
                }
                _ => {}
            }
        }
        drop(held);
    });
    addr
}

fn address(link: &IncomingLink) -> String {
    let a = link.attach();
    match link.peer_role() {
        Role::Sender => a.target.as_ref().and_then(|t| t.address.clone()),
        Role::Receiver => a.source.as_ref().and_then(|s| s.address.clone()),
    }
    .unwrap_or_default()
}

async fn step<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(STEP, f)
        .await
        .unwrap_or_else(|_| panic!("{what} took more than {STEP:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_starved_link_stalls_nothing_else() {
    let addr = start_server().await;
    let conn = Connection::connect_tcp(&addr, ConnectionConfig::client("c"))
        .await
        .unwrap();
    let session = conn.begin().await.unwrap();
    let starved = session
        .attach_sender(LinkConfig::sender("starved", "starved"))
        .await
        .unwrap();
    let mut stream = session
        .attach_receiver(LinkConfig::receiver("stream", "stream"), 100)
        .await
        .unwrap();
    let echo = session
        .attach_sender(LinkConfig::sender("echo", "echo"))
        .await
        .unwrap();
    let mut replies = session
        .attach_receiver(LinkConfig::receiver("replies", "replies"), 10)
        .await
        .unwrap();

    // 10,000 sends on the link without credit, from tasks of their own.
    let mut queued = tokio::task::JoinSet::new();
    for i in 0..10_000 {
        let starved = starved.clone();
        queued.spawn(async move {
            let _ = starved.send_settled(common::message(i, 10), 0).await;
        });
    }
    // Let them pile up: wait until every task has run at least once.
    for _ in 0..100 {
        tokio::task::yield_now().await;
    }

    // The receiver on the same connection keeps receiving (well past its prefetch).
    for i in 0..5_000 {
        step(&format!("stream message {i}"), stream.recv())
            .await
            .unwrap();
    }
    // A request/response exchange answers.
    for i in 0..10 {
        let request = common::message(i, 20);
        step("echo send", echo.send_encoded(request.clone(), 0))
            .await
            .unwrap();
        let reply = step("echo reply", replies.recv()).await.unwrap();
        assert_eq!(reply.payload, request);
    }
    // And the connection closes.
    step("close", conn.close(None)).await.unwrap();
    // The queued sends all end (failed: the connection is gone), none hangs.
    step("queued sends end", async {
        while queued.join_next().await.is_some() {}
    })
    .await;
}
