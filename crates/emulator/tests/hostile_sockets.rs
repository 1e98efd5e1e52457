//! Sockets that never speak: 2,000 of them are closed at the handshake timeout, while a
//! real client connects, sends and reads among them; and the connection limit counts open
//! connections only, refusing the one over it with a clear AMQP error.

use std::time::{Duration, Instant};

use eventhubs_amqp::connection::ConnectionConfig;
use eventhubs_amqp::definitions::condition;
use eventhubs_amqp_io::Connection;
use eventhubs_emulator::{Config, Emulator};
use eventhubs_test_support::client::{authorized, receive_bodies, send_bodies};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

const HANDSHAKE: Duration = Duration::from_secs(2);

async fn silent(addr: std::net::SocketAddr, n: usize) -> Vec<(TcpStream, Instant)> {
    let mut sockets = Vec::with_capacity(n);
    for _ in 0..n {
        sockets.push((TcpStream::connect(addr).await.unwrap(), Instant::now()));
    }
    sockets
}

/// How long after opening each socket the emulator closed it (bounded wait).
async fn closed_after(sockets: Vec<(TcpStream, Instant)>) -> Vec<Duration> {
    let waits = sockets.into_iter().map(|(mut s, opened)| async move {
        let mut byte = [0u8; 1];
        let read = tokio::time::timeout(HANDSHAKE + Duration::from_secs(20), s.read(&mut byte))
            .await
            .expect("the emulator closes a silent socket");
        // EOF, or a reset: either way, closed and nothing was sent.
        assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
        opened.elapsed()
    });
    futures_join_all(waits).await
}

/// Waits for every future, all polled at once.
async fn futures_join_all<
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
>(
    futures: impl IntoIterator<Item = F>,
) -> Vec<T> {
    let mut set = tokio::task::JoinSet::new();
    for f in futures {
        set.spawn(f);
    }
    let mut out = Vec::new();
    while let Some(r) = set.join_next().await {
        out.push(r.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_sockets_are_closed_at_the_handshake_timeout() {
    let mut config = Config::default();
    config.handshake_timeout = HANDSHAKE;
    let em = Emulator::start(config).await.unwrap();
    let addr = em.addr();

    let mut sockets = silent(addr, 1500).await;
    // Among 1,500 silent sockets a real client gets in, sends and reads.
    let (_conn, session) = authorized(addr).await;
    send_bodies(&session, "eh1/Partitions/0", ["among the silent"]).await;
    assert_eq!(
        receive_bodies(&session, "0", 1).await[0].0,
        "among the silent"
    );
    sockets.extend(silent(addr, 500).await);

    let started = Instant::now();
    let lifetimes = closed_after(sockets).await;
    assert_eq!(lifetimes.len(), 2000);
    // The socket limit is twice the connection limit (2,000 with the default 1,000): the
    // one socket over it (the real client holds a slot) may be refused at once; every other
    // silent socket lives until the timeout.
    let early = lifetimes
        .iter()
        .filter(|d| **d < HANDSHAKE - Duration::from_millis(100));
    assert!(early.count() <= 1, "closed before the timeout");
    eprintln!(
        "2000 silent sockets closed {:?} after the last was opened",
        started.elapsed()
    );
    // The real connection is open and working still.
    send_bodies(&session, "eh1/Partitions/0", ["after"]).await;
    assert_eq!(receive_bodies(&session, "0", 2).await[1].0, "after");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_limit_counts_open_connections() {
    let mut config = Config::default();
    config.max_connections = 2;
    config.handshake_timeout = HANDSHAKE;
    let em = Emulator::start(config).await.unwrap();
    let addr = em.addr();
    // A silent socket does not take one of the two slots (it takes one of the four
    // sockets allowed: open connections and as many again in their handshake).
    let _quiet = silent(addr, 1).await;
    let (_a, _sa) = authorized(addr).await;
    let (_b, _sb) = authorized(addr).await;
    let third = Connection::connect_tcp(&addr.to_string(), ConnectionConfig::client("third"))
        .await
        .unwrap();
    // The server closes it right after the open: beginning a session fails with its error.
    let deadline = Instant::now() + Duration::from_secs(10);
    let e = loop {
        match tokio::time::timeout(Duration::from_secs(5), third.begin()).await {
            Ok(Err(e)) => break e,
            _ if Instant::now() > deadline => panic!("the connection over the limit stays open"),
            _ => continue,
        }
    };
    assert_eq!(
        e.condition(),
        Some(condition::RESOURCE_LIMIT_EXCEEDED),
        "{e}"
    );
    assert!(e.to_string().contains("connection limit (2)"), "{e}");
}
