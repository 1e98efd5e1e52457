//! Feeds arbitrary bytes to a server connection after a valid SASL + open handshake: the
//! state machine must close with an AMQP error or keep going, never panic.
#![no_main]

#[path = "handshake.rs"]
mod handshake;

use std::time::{Duration, Instant};

use eventhubs_amqp::connection::{Connection, ConnectionConfig};

use handshake::handshake;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let now = Instant::now();
    let mut c = Connection::new(ConnectionConfig::server("fuzz"), now);
    c.read_buffer().extend_from_slice(&handshake());
    c.handle_input(now).expect("valid handshake");
    assert!(c.is_open());
    // Split the input in chunks to exercise partial frames.
    for (i, chunk) in data.chunks(97).enumerate() {
        c.read_buffer().extend_from_slice(chunk);
        let t = now + Duration::from_millis(i as u64);
        let _ = c.handle_input(t);
        let _ = c.handle_timeout(t);
        while c.poll_event().is_some() {}
        c.transmit_buffer().clear();
    }
});
