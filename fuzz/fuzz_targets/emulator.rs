//! Feeds arbitrary bytes to an emulator connection after a valid SASL + open + begin
//! handshake, over an in-memory pipe on a paused-clock runtime: the emulator must answer,
//! close the connection, or keep going — never panic, hang or grow without bound. One
//! namespace (with tight retention) serves every input, like a long-running emulator.
#![no_main]

#[path = "handshake.rs"]
mod handshake;
#[path = "emulator_input.rs"]
mod emulator_input;

use std::sync::{Arc, OnceLock};

use eventhubs_emulator::namespace::Namespace;
use eventhubs_emulator::Service;
use tokio::runtime::Runtime;

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
        let service = Service::new(Arc::new(Namespace::new(emulator_input::config())));
        (rt, service)
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let (rt, service) = setup();
    let mut input = handshake::handshake().to_vec();
    input.extend_from_slice(data);
    rt.block_on(emulator_input::converse(service, input));
});
