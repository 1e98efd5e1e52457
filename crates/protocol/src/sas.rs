//! Shared access signature tokens (docs/PROTOCOL.md §2.3): signing for clients, parsing and
//! verification for the emulator.
//!
//! The signature is `base64(HMAC-SHA256(key = utf8(SharedAccessKey), urlencode(resource) +
//! "\n" + expiry))`. The key is used as raw UTF-8 bytes, not base64-decoded. A verifier
//! signs the `sr` value exactly as it appears in the token, because the SDKs' URL encoders
//! differ on rare characters.

use base64::Engine;
use ring::hmac;

use crate::url;

/// Prefix of every SAS token.
pub const PREFIX: &str = "SharedAccessSignature ";

/// Why a string is not a usable SAS token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SasError {
    /// Missing the `SharedAccessSignature ` prefix.
    #[error("not a shared access signature (expected the prefix `SharedAccessSignature `)")]
    NotSas,
    /// A required field (`sr`, `sig`, `se` or `skn`) is absent.
    #[error("shared access signature is missing the `{0}` field")]
    MissingField(&'static str),
    /// A field is not valid (bad escape, non-numeric expiry).
    #[error("shared access signature field `{0}` is malformed")]
    Malformed(&'static str),
}

/// Signs a token for `resource` valid until `expiry` (Unix seconds).
pub fn sign(resource: &str, key_name: &str, key: &str, expiry: u64) -> String {
    let sr = url::encode(resource);
    let sig = signature(&sr, expiry, key.as_bytes());
    format!(
        "{PREFIX}sr={sr}&sig={}&se={expiry}&skn={}",
        url::encode(&sig),
        url::encode(key_name)
    )
}

fn signature(raw_sr: &str, expiry: u64, key: &[u8]) -> String {
    let k = hmac::Key::new(hmac::HMAC_SHA256, key);
    let tag = hmac::sign(&k, format!("{raw_sr}\n{expiry}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(tag.as_ref())
}

/// A parsed token. `Debug` never prints the signature.
#[derive(Clone, PartialEq, Eq)]
pub struct SasToken {
    raw_sr: String,
    resource: String,
    signature: Vec<u8>,
    expiry: u64,
    key_name: String,
}

impl std::fmt::Debug for SasToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SasToken")
            .field("resource", &self.resource)
            .field("expiry", &self.expiry)
            .field("key_name", &self.key_name)
            .field("signature", &"<redacted>")
            .finish()
    }
}

impl SasToken {
    /// Parses `SharedAccessSignature sr=..&sig=..&se=..&skn=..` (fields in any order).
    pub fn parse(token: &str) -> Result<Self, SasError> {
        let rest = token.trim().strip_prefix(PREFIX).ok_or(SasError::NotSas)?;
        let (mut sr, mut sig, mut se, mut skn) = (None, None, None, None);
        for part in rest.split('&') {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            match k {
                "sr" => sr = Some(v),
                "sig" => sig = Some(v),
                "se" => se = Some(v),
                "skn" => skn = Some(v),
                _ => {}
            }
        }
        let raw_sr = sr.ok_or(SasError::MissingField("sr"))?;
        let sig = url::decode(sig.ok_or(SasError::MissingField("sig"))?)
            .ok_or(SasError::Malformed("sig"))?;
        let signature = base64::engine::general_purpose::STANDARD
            .decode(sig.replace(' ', "+"))
            .map_err(|_| SasError::Malformed("sig"))?;
        let expiry = se
            .ok_or(SasError::MissingField("se"))?
            .parse()
            .map_err(|_| SasError::Malformed("se"))?;
        let key_name = url::decode(skn.ok_or(SasError::MissingField("skn"))?)
            .ok_or(SasError::Malformed("skn"))?;
        let resource = url::decode(raw_sr).ok_or(SasError::Malformed("sr"))?;
        Ok(Self {
            raw_sr: raw_sr.to_owned(),
            resource,
            signature,
            expiry,
            key_name,
        })
    }

    /// The decoded resource URI the token is scoped to.
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// Expiry, Unix seconds.
    pub fn expiry(&self) -> u64 {
        self.expiry
    }

    /// The key (policy) name.
    pub fn key_name(&self) -> &str {
        &self.key_name
    }

    /// True if the signature was made with `key` (constant-time comparison).
    pub fn verify(&self, key: &str) -> bool {
        let k = hmac::Key::new(hmac::HMAC_SHA256, key.as_bytes());
        hmac::verify(
            &k,
            format!("{}\n{}", self.raw_sr, self.expiry).as_bytes(),
            &self.signature,
        )
        .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test vector of docs/PROTOCOL.md §2.3 (computed with the Python and JS SDK code).
    #[test]
    fn protocol_vector() {
        let t = sign(
            "sb://localhost/eh1",
            "RootManageSharedAccessKey",
            "SAS_KEY_VALUE",
            1_700_000_000,
        );
        assert_eq!(
            t,
            "SharedAccessSignature sr=sb%3A%2F%2Flocalhost%2Feh1&sig=bXwnzzxeV2PFlM%2BGaXaWproC2URqPYHFIhvxuIqXTAA%3D&se=1700000000&skn=RootManageSharedAccessKey"
        );
        let parsed = SasToken::parse(&t).unwrap();
        assert!(parsed.verify("SAS_KEY_VALUE"));
        assert!(!parsed.verify("other"));
        assert_eq!(parsed.resource(), "sb://localhost/eh1");
        assert_eq!(parsed.expiry(), 1_700_000_000);
        assert!(!format!("{parsed:?}").contains("bXwn"));
    }

    /// Malformed tokens are typed errors.
    #[test]
    fn malformed() {
        assert_eq!(SasToken::parse("Bearer x"), Err(SasError::NotSas));
        assert_eq!(
            SasToken::parse("SharedAccessSignature sig=a&se=1&skn=k"),
            Err(SasError::MissingField("sr"))
        );
        assert_eq!(
            SasToken::parse("SharedAccessSignature sr=a&sig=YQ%3D%3D&se=x&skn=k"),
            Err(SasError::Malformed("se"))
        );
        assert_eq!(
            SasToken::parse("SharedAccessSignature sr=a&sig=%zz&se=1&skn=k"),
            Err(SasError::Malformed("sig"))
        );
    }
}
