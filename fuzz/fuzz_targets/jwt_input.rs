//! What the `jwt` fuzz target does with one input, shared with the test that replays the
//! committed corpus (`crates/emulator/tests/fuzz_corpus.rs`): the emulator's Entra ID token
//! validation, on an arbitrary token or an arbitrary key file.
//!
//! The first byte picks the part: `0`, the rest is a token checked against the test-only
//! signing key at [`NOW`]; `1`, the rest is a PEM key file, and a fixed token is checked
//! against whatever keys it holds. Either may fail; neither may panic.

use eventhubs_emulator::JwtKeys;

/// The clock the tokens are checked at (Unix seconds), fixed so seeds stay valid.
pub const NOW: u64 = 1_800_000_000;

/// The key file the token inputs are checked against: the test-only token-signing key's
/// public half, and a certificate (so both kinds of key are on the path).
pub const KEYS_PEM: &str = concat!(
    include_str!("../../crates/test-support/fixtures/entra-test-only-public.pem"),
    include_str!("../../crates/test-support/fixtures/client-test-only-cert.pem"),
);

/// The token checked against fuzzed key files: three parts, RS256, signed by nothing.
const PROBE_TOKEN: &str =
    "eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2V2ZW50aHVicy5henVyZS5uZXQifQ.c2ln";

/// The keys parsed once.
pub fn keys() -> &'static JwtKeys {
    static KEYS: std::sync::OnceLock<JwtKeys> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| JwtKeys::from_pem(KEYS_PEM.as_bytes()).expect("fixture keys"))
}

/// Runs one input; for a token input, the validation's outcome (`exp` or the reason).
pub fn run(data: &[u8]) -> Option<Result<u64, String>> {
    let (&part, rest) = data.split_first()?;
    match part {
        0 => {
            let token = std::str::from_utf8(rest).ok()?;
            let outcome = keys().validate(token, NOW);
            if let Ok(exp) = &outcome {
                assert!(*exp > NOW, "an expired token was accepted");
            }
            Some(outcome)
        }
        1 => {
            if let Ok(keys) = JwtKeys::from_pem(rest) {
                assert!(
                    keys.validate(PROBE_TOKEN, NOW).is_err(),
                    "an unsigned token verified"
                );
            }
            None
        }
        _ => None,
    }
}
