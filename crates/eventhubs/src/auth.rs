//! Authentication: tokens, the [`TokenProvider`] abstraction, and the SAS provider (from a
//! key, the environment, a connection string, or a fixed signature).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use eventhubs_protocol::connection_string::{ConnectionString, Credential};
use eventhubs_protocol::constants as k;
use eventhubs_protocol::sas::SasToken;

use crate::error::Error;

/// What kind of token a [`Token`] is; it decides the CBS `type` property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// A shared access signature (`servicebus.windows.net:sastoken`).
    Sas,
    /// A Microsoft Entra ID (Azure AD) JWT (`jwt`).
    Jwt,
}

impl TokenKind {
    /// The CBS put-token `type`.
    pub fn cbs_type(self) -> &'static str {
        match self {
            Self::Sas => k::SAS_TOKEN_TYPE,
            Self::Jwt => k::JWT_TOKEN_TYPE,
        }
    }
}

/// A token for one audience; `Debug` never shows its value.
#[derive(Clone)]
pub struct Token {
    /// SAS or JWT.
    pub kind: TokenKind,
    /// The token text.
    pub value: String,
    /// When it stops being valid.
    pub expires_at: SystemTime,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("kind", &self.kind)
            .field("value", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// The future a [`TokenProvider`] returns.
pub type TokenFuture<'a> = Pin<Box<dyn Future<Output = Result<Token, Error>> + Send + 'a>>;

/// Produces tokens for an audience (`sb://<host>/<hub>[/...]`). The client asks again
/// before each token expires and puts the new one on the connection, for as long as the
/// connection lives.
pub trait TokenProvider: Send + Sync + fmt::Debug {
    /// A token valid for `audience`.
    fn get_token<'a>(&'a self, audience: &'a str) -> TokenFuture<'a>;
}

/// Signs SAS tokens with a shared access key, or hands out a fixed signature.
#[derive(Clone)]
pub struct SasTokenProvider {
    source: SasSource,
    ttl: Duration,
}

#[derive(Clone)]
enum SasSource {
    Key {
        name: String,
        key: String,
    },
    Signature {
        token: String,
        expires_at: SystemTime,
    },
}

impl fmt::Debug for SasTokenProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("SasTokenProvider");
        match &self.source {
            SasSource::Key { name, .. } => d.field("key_name", name).field("key", &"<redacted>"),
            SasSource::Signature { expires_at, .. } => d
                .field("signature", &"<redacted>")
                .field("expires_at", expires_at),
        };
        d.field("ttl", &self.ttl).finish()
    }
}

/// Default lifetime of tokens signed by [`SasTokenProvider`].
pub const DEFAULT_SAS_TTL: Duration = Duration::from_secs(3600);

impl SasTokenProvider {
    /// Signs with the shared access policy `key_name` and its `key`.
    pub fn from_key(key_name: impl Into<String>, key: impl Into<String>) -> Self {
        Self {
            source: SasSource::Key {
                name: key_name.into(),
                key: key.into(),
            },
            ttl: DEFAULT_SAS_TTL,
        }
    }

    /// Hands out a ready-made `SharedAccessSignature ...` token. It cannot be renewed:
    /// links authorized by it end when it expires.
    pub fn from_signature(signature: impl Into<String>) -> Result<Self, Error> {
        let token = signature.into();
        let parsed = SasToken::parse(&token)
            .map_err(|e| Error::invalid(format!("invalid shared access signature: {e}")))?;
        Ok(Self {
            source: SasSource::Signature {
                token,
                expires_at: UNIX_EPOCH + Duration::from_secs(parsed.expiry()),
            },
            ttl: DEFAULT_SAS_TTL,
        })
    }

    /// From a parsed connection string's key or signature.
    pub fn from_connection_string(cs: &ConnectionString) -> Result<Self, Error> {
        match &cs.credential {
            Credential::Key { name, key } => Ok(Self::from_key(name.clone(), key.clone())),
            Credential::Signature(sig) => Self::from_signature(sig.clone()),
        }
    }

    /// From `EVENTHUB_KEY_NAME` + `EVENTHUB_KEY_VALUE`, else `EVENTHUB_CONNECTION_STRING`.
    pub fn from_env() -> Result<Self, Error> {
        let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
        match (var("EVENTHUB_KEY_NAME"), var("EVENTHUB_KEY_VALUE")) {
            (Some(name), Some(key)) => return Ok(Self::from_key(name, key)),
            (Some(_), None) => {
                return Err(Error::invalid(
                    "EVENTHUB_KEY_NAME is set but EVENTHUB_KEY_VALUE is not",
                ))
            }
            (None, Some(_)) => {
                return Err(Error::invalid(
                    "EVENTHUB_KEY_VALUE is set but EVENTHUB_KEY_NAME is not",
                ))
            }
            (None, None) => {}
        }
        let cs = var("EVENTHUB_CONNECTION_STRING").ok_or_else(|| {
            Error::invalid(
                "set EVENTHUB_KEY_NAME and EVENTHUB_KEY_VALUE, or EVENTHUB_CONNECTION_STRING",
            )
        })?;
        let cs = ConnectionString::parse(&cs).map_err(|e| {
            Error::invalid(format!("EVENTHUB_CONNECTION_STRING: {e}")).with_source(e)
        })?;
        Self::from_connection_string(&cs)
    }

    /// Lifetime of each signed token (default one hour; the client renews before expiry).
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }
}

impl TokenProvider for SasTokenProvider {
    fn get_token<'a>(&'a self, audience: &'a str) -> TokenFuture<'a> {
        Box::pin(async move {
            match &self.source {
                SasSource::Key { name, key } => {
                    let expires_at = SystemTime::now() + self.ttl;
                    let expiry = expires_at
                        .duration_since(UNIX_EPOCH)
                        .map_or(0, |d| d.as_secs());
                    Ok(Token {
                        kind: TokenKind::Sas,
                        value: eventhubs_protocol::sas::sign(audience, name, key, expiry),
                        expires_at: UNIX_EPOCH + Duration::from_secs(expiry),
                    })
                }
                SasSource::Signature { token, expires_at } => Ok(Token {
                    kind: TokenKind::Sas,
                    value: token.clone(),
                    expires_at: *expires_at,
                }),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys and signatures never show in `Debug`; signed tokens verify with the key.
    #[tokio::test]
    async fn sas_provider_signs_and_redacts() {
        let p = SasTokenProvider::from_key("policy", "super-secret-key");
        assert!(!format!("{p:?}").contains("super-secret-key"));
        let t = p.get_token("sb://host/hub").await.unwrap();
        assert!(!format!("{t:?}").contains(&t.value));
        let parsed = SasToken::parse(&t.value).unwrap();
        assert!(parsed.verify("super-secret-key"));
        assert_eq!(parsed.key_name(), "policy");
        let fixed = SasTokenProvider::from_signature(t.value.clone()).unwrap();
        assert!(!format!("{fixed:?}").contains(&t.value));
        assert_eq!(fixed.get_token("anything").await.unwrap().value, t.value);
        assert!(SasTokenProvider::from_signature("not a token").is_err());
    }
}
