//! Feeds arbitrary bytes to the frame decoder and the message parsers: they must return
//! errors, never panic, and never allocate beyond the frame limit.
#![no_main]

#[path = "engine_input.rs"]
mod engine_input;

libfuzzer_sys::fuzz_target!(|data: &[u8]| engine_input::decode_everything(data));
