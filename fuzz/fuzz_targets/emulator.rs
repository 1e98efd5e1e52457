//! Feeds arbitrary bytes to an emulator connection after a valid SASL + open + begin
//! handshake, over an in-memory pipe on a paused-clock runtime: the emulator must answer,
//! close the connection, or keep going — never panic, hang or grow without bound. One
//! namespace (with tight retention) serves every input, like a long-running emulator.
#![no_main]

#[path = "handshake.rs"]
mod handshake;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use eventhubs_emulator::config::Retention;
use eventhubs_emulator::namespace::Namespace;
use eventhubs_emulator::{Config, Service};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::runtime::Runtime;

use handshake::handshake;


fn setup() -> &'static (Runtime, Service) {
    static SETUP: OnceLock<(Runtime, Service)> = OnceLock::new();
    SETUP.get_or_init(|| {
        // Paused time: when every task waits, the clock jumps to the next timer, so idle
        // timeouts and our own deadline cost no wall time.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        let mut config = Config::default();
        config.retention = Retention { max_events: 64, max_bytes: 1 << 20, ..Retention::default() };
        let service = Service::new(Arc::new(Namespace::new(config)));
        (rt, service)
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let (rt, service) = setup();
    let mut input = handshake();
    input.extend_from_slice(data);
    rt.block_on(async {
        let (client, server) = tokio::io::duplex(1 << 20);
        let service = service.clone();
        let task = tokio::spawn(async move { service.serve_connection(server).await });
        let (mut rd, mut wr) = tokio::io::split(client);
        let write = async {
            let _ = wr.write_all(&input).await;
            let _ = wr.shutdown().await;
        };
        let read = async {
            let mut buf = vec![0u8; 65536];
            while let Ok(n) = rd.read(&mut buf).await {
                if n == 0 {
                    break;
                }
            }
        };
        let finished = tokio::time::timeout(Duration::from_secs(600), async { tokio::join!(write, read) }).await;
        assert!(finished.is_ok(), "the connection neither closed nor went idle");
        let _ = tokio::time::timeout(Duration::from_secs(600), task).await;
    });
});
