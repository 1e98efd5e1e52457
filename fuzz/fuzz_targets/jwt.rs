//! Feeds arbitrary tokens and key files to the emulator's Entra ID token validation: it must
//! refuse with a reason or accept an unexpired token — never panic.
#![no_main]

#[path = "jwt_input.rs"]
mod jwt_input;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = jwt_input::run(data);
});
