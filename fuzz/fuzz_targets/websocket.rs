//! Feeds arbitrary WebSocket frames to the emulator's WebSocket path after a valid upgrade
//! (over an in-memory pipe, on a paused-clock runtime): tungstenite's frame parser, our
//! byte-stream adapter and the AMQP connection behind it must answer, close or keep going —
//! never panic, hang or grow without bound.
#![no_main]

#[allow(dead_code)]
#[path = "emulator_input.rs"]
mod emulator_input;
#[allow(dead_code)]
#[path = "websocket_input.rs"]
mod websocket_input;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let (rt, service) = emulator_input::shared();
    let _ = rt.block_on(websocket_input::converse(service, data.to_vec()));
});
