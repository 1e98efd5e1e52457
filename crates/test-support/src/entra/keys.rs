//! The fake's keys and tokens: PEM fixtures to DER, self-signed certificates, and RS256
//! access tokens signed with the token-signing key.

use std::time::Duration;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use serde_json::{json, Value as Json};

use super::State;

pub(super) fn pkcs8_der(pem: &str) -> Vec<u8> {
    pem_der(pem, "PRIVATE KEY")
}

pub(super) fn pem_der(pem: &str, label: &str) -> Vec<u8> {
    let begin = format!("-----BEGIN {label}-----");
    let body: String = pem
        .lines()
        .skip_while(|l| !l.starts_with(&begin))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    STANDARD.decode(body).expect("fixture base64")
}

pub(super) fn self_signed(key_pem: &str, name: &str) -> rcgen::Certificate {
    let key = rcgen::KeyPair::from_pkcs8_pem_and_sign_algo(key_pem, &rcgen::PKCS_RSA_SHA256)
        .expect("fixture key");
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    params.self_signed(&key).expect("fixture certificate")
}

pub(super) fn mint(state: &State, audience: &str, now: u64, lifetime: Duration) -> String {
    let claims = json!({
        "aud": audience,
        "iss": format!("https://sts.windows.net/{}/", state.config.tenant),
        "iat": now,
        "nbf": now,
        "exp": now + lifetime.as_secs(),
        "appid": state.config.client_id,
        "tid": state.config.tenant,
    });
    sign_claims(&state.signing, &claims)
}

/// An RS256 JWT of `claims`, signed with the token-signing key.
pub(super) fn sign_claims(signing: &RsaKeyPair, claims: &Json) -> String {
    let header = json!({"alg": "RS256", "typ": "JWT", "kid": "fake-entra"});
    let signed = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut signature = vec![0; signing.public().modulus_len()];
    signing
        .sign(
            &RSA_PKCS1_SHA256,
            &ring::rand::SystemRandom::new(),
            signed.as_bytes(),
            &mut signature,
        )
        .expect("sign");
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature))
}
