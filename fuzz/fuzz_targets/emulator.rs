//! Feeds arbitrary bytes to an emulator connection after a valid SASL + open + begin
//! handshake, over an in-memory pipe on a paused-clock runtime: the emulator must answer,
//! close the connection, or keep going — never panic, hang or grow without bound. One
//! namespace (with tight retention) serves every input, like a long-running emulator.
#![no_main]

#[path = "handshake.rs"]
mod handshake;
#[path = "emulator_input.rs"]
mod emulator_input;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let (rt, service) = emulator_input::shared();
    let mut input = handshake::handshake().to_vec();
    input.extend_from_slice(data);
    rt.block_on(emulator_input::converse(service, input));
});
