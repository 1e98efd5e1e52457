//! Microsoft Entra ID (Azure AD) credentials: a client secret, a client certificate,
//! managed identity (IMDS, App Service), workload identity, the Azure CLI, and the
//! environment's choice among them. Each is a [`TokenProvider`](crate::TokenProvider)
//! whose token is cached, shared by every link of a client, and refreshed well before it
//! expires (ten minutes, or half the life of a short token, with jitter); a failed refresh
//! is retried with backoff while the current token stays valid. Token requests go to the
//! cloud's authority host ([`Cloud`](crate::Cloud)), through the proxy the options or
//! `HTTPS_PROXY` name; managed identity endpoints never go through a proxy. A credential
//! asked for an OAuth scope (`https://storage.azure.com/.default`, as the blob checkpoint
//! store asks) gets a token for that scope, cached apart; the clients' entity audiences
//! (`sb://…/hub`) mean the cloud's Event Hubs scope.
//!
//! ```no_run
//! # async fn demo() -> Result<(), eventhubs::Error> {
//! use std::sync::Arc;
//! use eventhubs::identity::{CredentialOptions, EnvironmentCredential};
//! use eventhubs::{ClientOptions, ProducerClient};
//! let credential = EnvironmentCredential::from_env(CredentialOptions::default())?;
//! let producer = ProducerClient::new(
//!     "my-namespace", "my-hub", Arc::new(credential), ClientOptions::default())?;
//! # let _ = producer; Ok(()) }
//! ```

/// The `Debug` (naming the credential, never its secret) and [`TokenProvider`] of a
/// credential that is a [`scoped::Scoped`] in a `cache` field.
///
/// [`TokenProvider`]: crate::TokenProvider
macro_rules! cached_credential {
    ($name:ident) => {
        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_tuple(stringify!($name)).field(&self.cache).finish()
            }
        }

        impl crate::auth::TokenProvider for $name {
            fn get_token<'a>(&'a self, audience: &'a str) -> crate::auth::TokenFuture<'a> {
                Box::pin(self.cache.token(audience))
            }
        }
    };
}

mod azure_cli;
#[cfg(feature = "azure-core")]
mod azure_core;
mod cache;
mod certificate;
mod client_certificate;
mod client_secret;
mod environment;
mod managed_identity;
mod options;
#[cfg(feature = "pkcs12")]
mod pkcs12;
mod scoped;
mod token_request;
mod workload_identity;

#[cfg(feature = "azure-core")]
pub use self::azure_core::AzureCoreCredential;
pub use azure_cli::AzureCliCredential;
pub use client_certificate::ClientCertificateCredential;
pub use client_secret::ClientSecretCredential;
pub use environment::{EnvironmentCredential, EnvironmentSource};
pub use managed_identity::{ManagedIdentityCredential, UserAssignedId};
pub use options::CredentialOptions;
pub use workload_identity::WorkloadIdentityCredential;

pub(crate) use token_request::ENTRA_ERROR;
