//! Validating Microsoft Entra ID access tokens (JWTs) the way Event Hubs does, against
//! public keys given in PEM: an RS256 signature, the Event Hubs audience, and the
//! `nbf`/`exp` validity window.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::Value as Json;
use tokio_rustls::rustls::pki_types::pem::{PemObject, SectionKind};
use tokio_rustls::rustls::pki_types::CertificateDer;

/// The audiences Event Hubs accepts in an Entra ID token (the resource, with or without
/// its trailing slash).
const AUDIENCES: [&str; 2] = [
    "https://eventhubs.azure.net",
    "https://eventhubs.azure.net/",
];

/// Clock skew tolerated on `nbf`, as token validators commonly allow.
const NOT_BEFORE_SKEW_SECS: u64 = 60;

/// The keys JWTs are checked against: every certificate (`CERTIFICATE`) and RSA public key
/// (`PUBLIC KEY`) of a PEM bundle. A token verifies if any key does.
#[derive(Clone, PartialEq, Eq)]
pub struct JwtKeys {
    keys: Vec<VerifyKey>,
}

#[derive(Clone, PartialEq, Eq)]
enum VerifyKey {
    /// An X.509 certificate; its subject public key is used.
    Certificate(CertificateDer<'static>),
    /// A PKCS#1 `RSAPublicKey`, DER.
    Rsa(Vec<u8>),
}

impl fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtKeys")
            .field("keys", &self.keys.len())
            .finish()
    }
}

impl JwtKeys {
    /// The keys of a PEM bundle.
    ///
    /// # Errors
    /// A description when the text holds no certificate or RSA public key, or one of them
    /// cannot be read.
    pub fn from_pem(pem: &[u8]) -> Result<Self, String> {
        let mut keys = Vec::new();
        for section in <(SectionKind, Vec<u8>)>::pem_slice_iter(pem) {
            match section.map_err(|e| format!("not a PEM file: {e}"))? {
                (SectionKind::Certificate, der) => {
                    let der = CertificateDer::from(der);
                    webpki::EndEntityCert::try_from(&der)
                        .map_err(|e| format!("unreadable certificate: {e}"))?;
                    keys.push(VerifyKey::Certificate(der));
                }
                (SectionKind::PublicKey, der) => keys.push(VerifyKey::Rsa(rsa_key_of_spki(&der)?)),
                _ => {}
            }
        }
        if keys.is_empty() {
            return Err("no CERTIFICATE or PUBLIC KEY in the PEM text".to_owned());
        }
        Ok(Self { keys })
    }

    /// Checks `token` at `now` (Unix seconds): an RS256 signature by one of the keys, an
    /// Event Hubs audience, `exp` after `now`, `nbf` (if any) no more than a minute after
    /// it. Returns `exp`.
    ///
    /// # Errors
    /// The reason, prefixed with the error condition the emulator refuses the token with
    /// (`InvalidSignature: ...`, `ExpiredToken: ...`); it never quotes the token.
    pub fn validate(&self, token: &str, now: u64) -> Result<u64, String> {
        let mut parts = token.split('.');
        let (Some(header), Some(claims), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("InvalidToken: not a JWT (three dot-separated parts)".into());
        };
        let header = decode_json(header, "header")?;
        if header.get("alg").and_then(Json::as_str) != Some("RS256") {
            return Err("InvalidToken: the JWT is not signed with RS256".into());
        }
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| "InvalidToken: the JWT signature is not base64url".to_owned())?;
        let signed = &token[..header_and_claims_len(token)];
        if !self
            .keys
            .iter()
            .any(|k| k.verifies(signed.as_bytes(), &signature))
        {
            return Err(
                "InvalidSignature: the JWT signature does not verify with any configured key"
                    .into(),
            );
        }
        let claims = decode_json(claims, "claims")?;
        let audience_ok = match claims.get("aud") {
            Some(Json::String(a)) => AUDIENCES.contains(&a.as_str()),
            Some(Json::Array(all)) => all
                .iter()
                .any(|a| a.as_str().is_some_and(|a| AUDIENCES.contains(&a))),
            _ => false,
        };
        if !audience_ok {
            return Err(format!(
                "InvalidAudience: the JWT audience is not {}",
                AUDIENCES[0]
            ));
        }
        let exp = claims
            .get("exp")
            .and_then(Json::as_u64)
            .ok_or_else(|| "InvalidToken: the JWT has no exp".to_owned())?;
        if exp <= now {
            return Err("ExpiredToken: the JWT is expired.".into());
        }
        if let Some(nbf) = claims.get("nbf").and_then(Json::as_u64) {
            if nbf > now + NOT_BEFORE_SKEW_SECS {
                return Err("InvalidToken: the JWT is not valid yet (nbf)".into());
            }
        }
        Ok(exp)
    }
}

impl VerifyKey {
    fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        match self {
            Self::Certificate(der) => webpki::EndEntityCert::try_from(der).is_ok_and(|cert| {
                cert.verify_signature(webpki::ring::RSA_PKCS1_2048_8192_SHA256, message, signature)
                    .is_ok()
            }),
            Self::Rsa(der) => ring::signature::UnparsedPublicKey::new(
                &ring::signature::RSA_PKCS1_2048_8192_SHA256,
                der,
            )
            .verify(message, signature)
            .is_ok(),
        }
    }
}

/// The length of `header.claims`, the signed part of a JWT.
fn header_and_claims_len(token: &str) -> usize {
    token.rfind('.').unwrap_or(token.len())
}

fn decode_json(part: &str, what: &str) -> Result<Json, String> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| format!("InvalidToken: the JWT {what} is not base64url"))?;
    serde_json::from_slice(&bytes).map_err(|_| format!("InvalidToken: the JWT {what} is not JSON"))
}

/// The PKCS#1 `RSAPublicKey` inside a `SubjectPublicKeyInfo`:
/// `SEQUENCE { SEQUENCE { algorithm, parameters }, BIT STRING { 0 unused bits, key } }`.
fn rsa_key_of_spki(spki: &[u8]) -> Result<Vec<u8>, String> {
    const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
    let bad = || "PUBLIC KEY: not an RSA SubjectPublicKeyInfo".to_owned();
    let (0x30, body, _) = der_element(spki).ok_or_else(bad)? else {
        return Err(bad());
    };
    let (0x30, algorithm, rest) = der_element(body).ok_or_else(bad)? else {
        return Err(bad());
    };
    let (0x06, oid, _) = der_element(algorithm).ok_or_else(bad)? else {
        return Err(bad());
    };
    if oid != RSA_ENCRYPTION {
        return Err("PUBLIC KEY: only RSA keys are supported (RS256)".to_owned());
    }
    match der_element(rest).ok_or_else(bad)? {
        (0x03, [0, key @ ..], _) => Ok(key.to_vec()),
        _ => Err(bad()),
    }
}

/// One DER element: tag, contents, what follows. `None` if truncated or not DER.
fn der_element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let len = rest[..count]
            .iter()
            .fold(0usize, |n, &b| (n << 8) | usize::from(b));
        (len, &rest[count..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// DER lengths in short and long form, and truncation.
    #[test]
    fn der_elements() {
        assert_eq!(
            der_element(&[0x30, 2, 1, 2, 9]),
            Some((0x30, &[1u8, 2][..], &[9u8][..]))
        );
        let mut long = vec![0x04, 0x81, 200];
        long.extend([7u8; 200]);
        assert_eq!(der_element(&long).map(|(_, c, _)| c.len()), Some(200));
        assert_eq!(der_element(&[0x30, 5, 1]), None);
        assert_eq!(der_element(&[0x30, 0x85, 0, 0, 0, 0, 1]), None);
    }

    /// Malformed tokens are refused with a reason, never a panic.
    #[test]
    fn malformed_tokens() {
        let keys = JwtKeys {
            keys: vec![VerifyKey::Rsa(vec![1, 2, 3])],
        };
        for bad in ["", "a.b", "a.b.c.d", "!!.??.**", "e30.e30.e30"] {
            let why = keys.validate(bad, 0).unwrap_err();
            assert!(why.starts_with("Invalid"), "{bad}: {why}");
        }
        assert!(JwtKeys::from_pem(b"nothing here").is_err());
    }

    proptest::proptest! {
        /// Whatever arrives as a token, the answer is a reason, never a panic.
        #[test]
        fn arbitrary_tokens_never_panic(token in "[A-Za-z0-9_.\\-=+/é]{0,200}") {
            let keys = JwtKeys { keys: vec![VerifyKey::Rsa(vec![0x30, 0])] };
            proptest::prop_assert!(keys.validate(&token, 0).is_err());
        }

        /// Arbitrary PEM-ish input is refused or read, never a panic.
        #[test]
        fn arbitrary_key_files_never_panic(body in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let mut pem = b"-----BEGIN PUBLIC KEY-----\n".to_vec();
            pem.extend(base64::engine::general_purpose::STANDARD.encode(&body).into_bytes());
            pem.extend(b"\n-----END PUBLIC KEY-----\n");
            let _ = JwtKeys::from_pem(&pem);
            let _ = rsa_key_of_spki(&body);
        }
    }
}
