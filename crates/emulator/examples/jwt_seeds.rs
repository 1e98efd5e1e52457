//! Writes seeds for the `jwt` fuzz target into `fuzz/corpus/jwt/`: tokens signed with the
//! test-only signing key for the target's fixed clock — valid ones (a string and a list
//! audience) and ones refused for their audience, expiry, `nbf`, algorithm or shape — and
//! a key file. Names starting `valid` must verify; the replay test checks it.
//! Run: `cargo run -p eventhubs-emulator --example jwt_seeds`.

use std::path::PathBuf;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use eventhubs_test_support::entra::{sign_with_test_key, SIGNING_PUBLIC_KEY_PEM};
use serde_json::json;

/// The target's clock (`fuzz/fuzz_targets/jwt_input.rs`).
const NOW: u64 = 1_800_000_000;

fn main() -> std::io::Result<()> {
    let claims = |aud: serde_json::Value, nbf: u64, exp: u64| json!({"aud": aud, "iss": "https://sts.windows.net/tenant/", "nbf": nbf, "exp": exp});
    let aud = || json!("https://eventhubs.azure.net");
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims(aud(), NOW, NOW + 3600).to_string())
    );
    let tokens = [
        ("valid", sign_with_test_key(&claims(aud(), NOW, NOW + 3600))),
        (
            "valid-slash-list",
            sign_with_test_key(&claims(
                json!(["https://other.example", "https://eventhubs.azure.net/"]),
                NOW + 30,
                NOW + 60,
            )),
        ),
        (
            "wrong-audience",
            sign_with_test_key(&claims(json!("https://storage.azure.com"), NOW, NOW + 3600)),
        ),
        (
            "expired",
            sign_with_test_key(&claims(aud(), NOW - 7200, NOW - 1)),
        ),
        (
            "not-yet",
            sign_with_test_key(&claims(aud(), NOW + 600, NOW + 3600)),
        ),
        ("alg-none", unsigned),
        ("two-parts", "eyJhbGciOiJSUzI1NiJ9.e30".to_owned()),
    ];
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/jwt");
    std::fs::create_dir_all(&dir)?;
    for (name, token) in tokens {
        let mut seed = vec![0u8];
        seed.extend_from_slice(token.as_bytes());
        std::fs::write(dir.join(name), seed)?;
    }
    let mut key_file = vec![1u8];
    key_file.extend_from_slice(SIGNING_PUBLIC_KEY_PEM.as_bytes());
    std::fs::write(dir.join("key-file"), key_file)?;
    Ok(())
}
