//! Helpers shared by the integration tests: a tiny queue broker on our server role, and
//! finding the interop peers.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use eventhubs_amqp::connection::{ConnectionConfig, LinkConfig};
use eventhubs_amqp::definitions::Role;
use eventhubs_amqp::definitions::SenderSettleMode;
use eventhubs_amqp::message::Message;
use eventhubs_amqp_io::{accept, IncomingLink, Session};

type Queues = Arc<
    Mutex<
        HashMap<
            String,
            (
                mpsc::UnboundedSender<Bytes>,
                Option<mpsc::UnboundedReceiver<Bytes>>,
            ),
        >,
    >,
>;

/// Starts a broker on 127.0.0.1:0: messages sent to address A are queued and delivered to
/// whoever attaches a receiver on A. Returns the port.
pub(crate) async fn start_broker(config: ConnectionConfig) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let queues: Queues = Arc::default();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            stream.set_nodelay(true).unwrap();
            let queues = queues.clone();
            let config = config.clone();
            tokio::spawn(async move {
                let Ok((_conn, mut links)) = accept(stream, config).await else {
                    return;
                };
                while let Some(link) = links.recv().await {
                    tokio::spawn(serve_link(link, queues.clone()));
                }
            });
        }
    });
    port
}

fn queue(queues: &Queues, addr: &str) -> mpsc::UnboundedSender<Bytes> {
    let mut q = queues.lock().unwrap();
    q.entry(addr.to_owned())
        .or_insert_with(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            (tx, Some(rx))
        })
        .0
        .clone()
}

async fn serve_link(link: IncomingLink, queues: Queues) {
    match link.peer_role() {
        Role::Sender => {
            let addr = link
                .attach()
                .target
                .as_ref()
                .and_then(|t| t.address.clone())
                .unwrap_or_default();
            let tx = queue(&queues, &addr);
            let Ok(mut rx) = link.accept_receiver(LinkConfig::default(), 1000).await else {
                return;
            };
            while let Ok(d) = rx.recv().await {
                if !d.settled {
                    let _ = rx.accept(&d).await;
                }
                let _ = tx.send(d.payload);
            }
        }
        Role::Receiver => {
            let addr = link
                .attach()
                .source
                .as_ref()
                .and_then(|s| s.address.clone())
                .unwrap_or_default();
            queue(&queues, &addr);
            let rx = queues
                .lock()
                .unwrap()
                .get_mut(&addr)
                .and_then(|q| q.1.take());
            let Some(mut rx) = rx else { return };
            let Ok(tx) = link.accept_sender(LinkConfig::default()).await else {
                return;
            };
            while let Some(m) = rx.recv().await {
                if tx.send_settled(m, 0).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// The i-th test message: a data section holding `i` as text plus padding.
pub(crate) fn message(i: usize, size: usize) -> Bytes {
    let mut body = format!("message {i} ").into_bytes();
    body.resize(size.max(body.len()), b'.');
    eventhubs_amqp::codec::Encode::to_bytes(&Message::with_data(body))
}

/// Decodes a test message back to its index.
pub(crate) fn index_of(payload: &Bytes) -> usize {
    let m = Message::decode(payload).unwrap();
    let data = m.data().unwrap();
    let text = std::str::from_utf8(data).unwrap();
    text.split(' ').nth(1).unwrap().parse().unwrap()
}

/// Size of the one large message in each round trip: larger than any frame size the tests
/// negotiate, so it always travels as a multi-frame delivery.
pub(crate) const LARGE: usize = 100_000;

/// Sends `n` messages pre-settled to queue `settled` and `n` unsettled to `unsettled`
/// (waiting for every outcome), the middle one `LARGE` bytes, then receives both queues
/// back through the same session and checks every message's index, in order.
pub(crate) async fn round_trip(session: &Session, n: usize) {
    for (queue, settled) in [("settled", true), ("unsettled", false)] {
        let mode = if settled {
            SenderSettleMode::Settled
        } else {
            SenderSettleMode::Unsettled
        };
        let config = LinkConfig::sender(format!("s-{queue}"), queue).snd_settle_mode(mode);
        let sender = session.attach_sender(config).await.unwrap();
        let mut pending = Vec::new();
        for i in 0..n {
            let m = message(i, if i == n / 2 { LARGE } else { 100 });
            if settled {
                sender.send_settled(m, 0).await.unwrap();
            } else {
                pending.push(sender.start_send(m, 0).await.unwrap());
            }
        }
        for p in pending {
            p.wait().await.unwrap();
        }
        let config = LinkConfig::receiver(format!("r-{queue}"), queue);
        let mut receiver = session.attach_receiver(config, 500).await.unwrap();
        for i in 0..n {
            let d = receiver.recv().await.unwrap();
            assert_eq!(index_of(&d.payload), i, "{queue}");
            if i == n / 2 {
                assert!(d.payload.len() > LARGE, "{queue}: large message truncated");
            }
            if !d.settled {
                receiver.accept(&d).await.unwrap();
            }
        }
    }
}
