//! [`ClientSecretCredential`]: an app registration's client secret, exchanged for tokens
//! at the tenant's v2 token endpoint.

use std::fmt;

use crate::error::Error;
use crate::identity::cache::{FetchFuture, FetchToken};
use crate::identity::scoped::Scoped;
use crate::identity::token_request::{ClientAuth, Entra};
use crate::identity::CredentialOptions;

/// Authorizes as a service principal with its client secret. Tokens are cached, shared by
/// every link, and refreshed ahead of expiry. `Debug` never shows the secret.
///
/// ```no_run
/// # fn demo() -> Result<(), eventhubs::Error> {
/// use std::sync::Arc;
/// use eventhubs::identity::{ClientSecretCredential, CredentialOptions};
/// use eventhubs::{ClientOptions, ProducerClient};
/// let credential = ClientSecretCredential::new(
///     "contoso.onmicrosoft.com",
///     "00000000-0000-0000-0000-000000000000",
///     "the secret",
///     CredentialOptions::default(),
/// )?;
/// let producer = ProducerClient::new("my-namespace", "my-hub", Arc::new(credential), ClientOptions::default())?;
/// # let _ = producer; Ok(()) }
/// ```
pub struct ClientSecretCredential {
    cache: Scoped,
}

struct Source {
    entra: Entra,
    secret: String,
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientSecret")
            .field("token_url", &self.entra.url)
            .field("client_id", &self.entra.client_id)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl FetchToken for Source {
    fn fetch<'a>(&'a self, scope: &'a str) -> FetchFuture<'a> {
        Box::pin(self.entra.request(ClientAuth::Secret(&self.secret), scope))
    }
}

impl ClientSecretCredential {
    /// The service principal `client_id` of `tenant_id` (a GUID or a domain), with `secret`.
    ///
    /// # Errors
    /// `InvalidArgument` for an empty or malformed tenant id, client id or secret, or bad
    /// options (an unreadable `SSL_CERT_FILE`, an unknown `AZURE_ENVIRONMENT`).
    pub fn new(
        tenant_id: &str,
        client_id: &str,
        secret: impl Into<String>,
        options: CredentialOptions,
    ) -> Result<Self, Error> {
        let secret = secret.into();
        if secret.is_empty() {
            return Err(Error::invalid(
                "client secret credential: the secret is empty",
            ));
        }
        let entra = Entra::new(tenant_id, client_id, &options, "client secret credential")?;
        let default_scope = entra.default_scope().to_owned();
        Ok(Self {
            cache: Scoped::new(Source { entra, secret }, default_scope),
        })
    }
}

cached_credential!(ClientSecretCredential);
