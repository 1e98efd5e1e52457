//! What the `emulator` fuzz target does with one input, shared with the test that replays
//! the committed corpus on every test run (`crates/emulator/tests/fuzz_corpus.rs`).

use std::time::Duration;

use eventhubs_emulator::config::Retention;
use eventhubs_emulator::Config;
use eventhubs_emulator::Service;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The runtime and emulator service a fuzz target's inputs share: a paused clock (when
/// every task waits, it jumps to the next timer, so idle timeouts and our own deadlines cost
/// no wall time) and one namespace, like a long-running emulator.
pub fn shared() -> &'static (tokio::runtime::Runtime, Service) {
    static SHARED: std::sync::OnceLock<(tokio::runtime::Runtime, Service)> =
        std::sync::OnceLock::new();
    SHARED.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        let ns = eventhubs_emulator::namespace::Namespace::new(config());
        (rt, Service::new(std::sync::Arc::new(ns)))
    })
}

/// The namespace every input shares: tight retention, as a long-running emulator under
/// arbitrary input must stay small.
pub fn config() -> Config {
    let mut config = Config::default();
    config.retention = Retention {
        max_events: 64,
        max_bytes: 1 << 20,
        ..Retention::default()
    };
    config
}

/// Writes `input` (a handshake, then the fuzzed bytes) to an emulator connection over an
/// in-memory pipe and reads until it closes. Run on a paused clock, the bounds cost no wall
/// time; the connection must close or go idle, never hang.
pub async fn converse(service: &Service, input: Vec<u8>) {
    let (client, server) = tokio::io::duplex(1 << 20);
    let service = service.clone();
    let task = tokio::spawn(async move { service.serve_connection(server).await });
    let (mut rd, mut wr) = tokio::io::split(client);
    let _ = exchange(&mut rd, &mut wr, &input).await;
    let _ = tokio::time::timeout(Duration::from_secs(600), task).await;
}

/// Writes `input` then ends the write side, while reading until the connection closes;
/// returns the bytes read. Fails the input if that takes more than 600 s of (paused) time.
pub async fn exchange(
    rd: &mut (impl AsyncReadExt + Unpin),
    wr: &mut (impl AsyncWriteExt + Unpin),
    input: &[u8],
) -> usize {
    let write = async {
        let _ = wr.write_all(input).await;
        let _ = wr.shutdown().await;
    };
    let read = async {
        let (mut buf, mut total) = (vec![0u8; 65536], 0);
        while let Ok(n) = rd.read(&mut buf).await {
            if n == 0 {
                break;
            }
            total += n;
        }
        total
    };
    let finished = tokio::time::timeout(Duration::from_secs(600), async {
        tokio::join!(write, read)
    })
    .await;
    let Ok(((), read)) = finished else {
        panic!("the connection neither closed nor went idle");
    };
    read
}
