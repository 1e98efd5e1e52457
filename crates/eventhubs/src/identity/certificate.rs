//! A client certificate and its RSA key (from PEM, or PKCS#12 with the `pkcs12` feature),
//! and the RS256 client assertion JWT signed with it (ring).

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::rand::SystemRandom;
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use tokio_rustls::rustls::pki_types::pem::{PemObject, SectionKind};

use crate::error::Error;

/// How long an assertion is valid (what Microsoft's libraries use).
const ASSERTION_LIFETIME: Duration = Duration::from_secs(300);

/// A certificate's thumbprint and signing key. `Debug` shows the thumbprint only.
pub(crate) struct SigningCertificate {
    /// `x5t`: base64url of the SHA-1 of the certificate's DER.
    thumbprint: String,
    key: RsaKeyPair,
}

impl fmt::Debug for SigningCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningCertificate")
            .field("x5t", &self.thumbprint)
            .finish_non_exhaustive()
    }
}

impl SigningCertificate {
    /// From PEM text holding the certificate (the first `CERTIFICATE` is the client's) and
    /// its RSA key (`PRIVATE KEY` or `RSA PRIVATE KEY`), in any order.
    pub(crate) fn from_pem(pem: &[u8]) -> Result<Self, Error> {
        let (mut certificate, mut key) = (None, None);
        for section in <(SectionKind, Vec<u8>)>::pem_slice_iter(pem) {
            let (kind, der) =
                section.map_err(|e| Error::invalid(format!("client certificate: not PEM: {e}")))?;
            match kind {
                SectionKind::Certificate if certificate.is_none() => certificate = Some(der),
                SectionKind::PrivateKey => key = Some(KeyDer::Pkcs8(der)),
                SectionKind::RsaPrivateKey => key = Some(KeyDer::Pkcs1(der)),
                SectionKind::EcPrivateKey => {
                    return Err(Error::invalid(
                        "client certificate: the key is an EC key; Microsoft Entra ID certificate credentials need RSA",
                    ))
                }
                _ => {}
            }
        }
        let certificate = certificate
            .ok_or_else(|| Error::invalid("client certificate: no CERTIFICATE in the PEM text"))?;
        let key = key.ok_or_else(|| {
            Error::invalid("client certificate: no PRIVATE KEY or RSA PRIVATE KEY in the PEM text (an encrypted key must be decrypted first)")
        })?;
        Self::from_der(&certificate, key)
    }

    pub(crate) fn from_der(certificate: &[u8], key: KeyDer) -> Result<Self, Error> {
        let key = match &key {
            KeyDer::Pkcs8(der) => RsaKeyPair::from_pkcs8(der),
            KeyDer::Pkcs1(der) => RsaKeyPair::from_der(der),
        }
        .map_err(|e| {
            Error::invalid(format!(
                "client certificate: the private key is not a usable RSA key (2048 to 8192 bits): {e}"
            ))
        })?;
        let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, certificate);
        Ok(Self {
            thumbprint: URL_SAFE_NO_PAD.encode(digest.as_ref()),
            key,
        })
    }

    /// A client assertion for `client_id` at the token endpoint `audience`, valid for five
    /// minutes from `now`.
    pub(crate) fn assertion(
        &self,
        client_id: &str,
        audience: &str,
        now: SystemTime,
    ) -> Result<String, Error> {
        let now = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "x5t": self.thumbprint});
        let claims = serde_json::json!({
            "aud": audience,
            "iss": client_id,
            "sub": client_id,
            "jti": jti(),
            "nbf": now,
            "iat": now,
            "exp": now + ASSERTION_LIFETIME.as_secs(),
        });
        let signed = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                signed.as_bytes(),
                &mut signature,
            )
            .map_err(|_| {
                Error::new(
                    crate::ErrorKind::Service,
                    "client certificate: signing the assertion failed",
                )
            })?;
        Ok(format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }
}

/// A private key's DER and its format.
pub(crate) enum KeyDer {
    Pkcs8(Vec<u8>),
    Pkcs1(Vec<u8>),
}

/// A random UUID (version 4) for the assertion's `jti`.
fn jti() -> String {
    let mut b = fastrand::u128(..).to_be_bytes();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A v4 UUID's shape.
    #[test]
    fn jti_is_a_uuid() {
        let id = jti();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"));
        assert_ne!(jti(), id);
    }

    /// Missing parts and non-RSA keys are refused with what is wrong.
    #[test]
    fn bad_pem() {
        let e = SigningCertificate::from_pem(b"nothing").unwrap_err();
        assert!(e.to_string().contains("no CERTIFICATE"), "{e}");
        let ec = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["x".to_owned()])
            .unwrap()
            .self_signed(&ec)
            .unwrap();
        let e = SigningCertificate::from_pem(cert.pem().as_bytes()).unwrap_err();
        assert!(e.to_string().contains("no PRIVATE KEY"), "{e}");
        let both = format!("{}{}", cert.pem(), ec.serialize_pem());
        let e = SigningCertificate::from_pem(both.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("RSA"), "{e}");
    }
}
