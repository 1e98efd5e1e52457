//! Feeds arbitrary bytes to a server connection after a valid SASL + open handshake: the
//! state machine must close with an AMQP error or keep going, never panic.
#![no_main]

#[path = "handshake.rs"]
mod handshake;
#[path = "engine_input.rs"]
mod engine_input;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    engine_input::drive_a_server_connection(&handshake::handshake(), data)
});
