//! [`AzureCoreCredential`]: any `azure_core` `TokenCredential` — so every credential of the
//! official `azure_identity` crate — as a [`TokenProvider`] (feature `azure-core`).

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use azure_core::credentials::TokenCredential;

use crate::auth::{Token, TokenFuture, TokenKind, TokenProvider};
use crate::error::{Error, ErrorKind};
use crate::identity::scoped::scope_for;
use crate::identity::ENTRA_ERROR;

/// The Event Hubs scope in every cloud.
const EVENTHUBS_SCOPE: &str = "https://eventhubs.azure.net/.default";

/// Authorizes with an `azure_core` credential (`azure_identity`'s
/// `DeveloperToolsCredential`, `ManagedIdentityCredential`, `ClientAssertionCredential`, …).
/// The credential caches and renews its own token; each of the client's renewals asks it
/// again.
///
/// ```ignore
/// let credential = azure_identity::DeveloperToolsCredential::new(None)?;
/// let producer = eventhubs::ProducerClient::new(
///     "my-namespace", "my-hub",
///     std::sync::Arc::new(eventhubs::identity::AzureCoreCredential::new(credential)),
///     eventhubs::ClientOptions::default())?;
/// ```
#[derive(Debug, Clone)]
pub struct AzureCoreCredential {
    credential: Arc<dyn TokenCredential>,
    scope: String,
}

impl AzureCoreCredential {
    /// Wraps `credential`, asking for the scope `https://eventhubs.azure.net/.default`.
    pub fn new(credential: Arc<dyn TokenCredential>) -> Self {
        Self {
            credential,
            scope: EVENTHUBS_SCOPE.to_owned(),
        }
    }

    /// Asks for another scope (a sovereign cloud's resource) where the caller names none.
    /// A caller that asks with a scope (the blob checkpoint store asks for
    /// `https://storage.azure.com/.default`) gets a token for that scope.
    #[must_use]
    pub fn with_scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = scope.into();
        self
    }
}

impl TokenProvider for AzureCoreCredential {
    fn get_token<'a>(&'a self, audience: &'a str) -> TokenFuture<'a> {
        Box::pin(async move {
            let scope = scope_for(audience, &self.scope);
            let token = self
                .credential
                .get_token(&[scope], None)
                .await
                .map_err(|e| {
                    let kind = match e.kind() {
                        azure_core::error::ErrorKind::HttpResponse { status, .. } => {
                            match u16::from(*status) {
                                429 | 500..=599 => ErrorKind::ServerBusy,
                                _ => ErrorKind::Unauthorized,
                            }
                        }
                        azure_core::error::ErrorKind::Io
                        | azure_core::error::ErrorKind::Connection => ErrorKind::ConnectionLost,
                        _ => ErrorKind::Unauthorized,
                    };
                    Error::new(kind, format!("{ENTRA_ERROR} (azure_core credential): {e}"))
                })?;
            let expires = u64::try_from(token.expires_on.unix_timestamp()).unwrap_or(0);
            Ok(Token {
                kind: TokenKind::Jwt,
                value: token.token.secret().to_owned(),
                expires_at: UNIX_EPOCH + Duration::from_secs(expires),
            })
        })
    }
}
