//! [`EnvironmentCredential`]: the credential the `AZURE_*` variables describe, in the order
//! the Go library reads them — client secret, client certificate, workload identity, then
//! managed identity.

use std::fmt;

use crate::auth::{TokenFuture, TokenProvider};
use crate::error::Error;
use crate::identity::{
    ClientCertificateCredential, ClientSecretCredential, CredentialOptions,
    ManagedIdentityCredential, UserAssignedId, WorkloadIdentityCredential,
};

/// Which credential [`EnvironmentCredential::from_env`] chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EnvironmentSource {
    /// `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`.
    ClientSecret,
    /// `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CERTIFICATE_PATH` (or
    /// `AZURE_CLIENT_CERTIFICATE_PATH`) and its password variable.
    ClientCertificate,
    /// `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_FEDERATED_TOKEN_FILE`.
    WorkloadIdentity,
    /// None of the above: the managed identity (user-assigned if `AZURE_CLIENT_ID` is set).
    ManagedIdentity,
}

/// A credential chosen by environment variables, like the Go library's
/// `NewHubFromEnvironment`:
///
/// 1. `AZURE_CLIENT_SECRET` set: [`ClientSecretCredential`] with `AZURE_TENANT_ID` and
///    `AZURE_CLIENT_ID`;
/// 2. else `AZURE_CERTIFICATE_PATH` (or `AZURE_CLIENT_CERTIFICATE_PATH`) set:
///    [`ClientCertificateCredential`] from that PEM file (or PKCS#12 with
///    `AZURE_CERTIFICATE_PASSWORD` / `AZURE_CLIENT_CERTIFICATE_PASSWORD`, feature
///    `pkcs12`);
/// 3. else `AZURE_FEDERATED_TOKEN_FILE` set: [`WorkloadIdentityCredential`];
/// 4. else [`ManagedIdentityCredential`], user-assigned by `AZURE_CLIENT_ID` if set.
///
/// The cloud comes from `AZURE_ENVIRONMENT` / `AZURE_AUTHORITY_HOST` unless the options
/// name one.
pub struct EnvironmentCredential {
    source: EnvironmentSource,
    inner: Box<dyn TokenProvider>,
}

impl fmt::Debug for EnvironmentCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnvironmentCredential")
            .field("source", &self.source)
            .field("credential", &self.inner)
            .finish()
    }
}

/// A set, non-blank environment variable.
pub(crate) fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// A variable `what` needs; the error names it.
pub(crate) fn required(name: &str, what: &str) -> Result<String, Error> {
    var(name).ok_or_else(|| Error::invalid(format!("{what}: {name} is not set")))
}

impl EnvironmentCredential {
    /// The credential the environment describes; see the type's docs.
    ///
    /// # Errors
    /// `InvalidArgument` naming the missing variable (`AZURE_CLIENT_SECRET is set but
    /// AZURE_TENANT_ID is not`), or an unreadable certificate file.
    #[doc(alias = "NewJWTProvider")]
    #[doc(alias = "JWTProviderWithEnvironmentVars")]
    pub fn from_env(options: CredentialOptions) -> Result<Self, Error> {
        let needs = |name: &str, because: &str| {
            var(name).ok_or_else(|| {
                Error::invalid(format!(
                    "environment credential: {because} is set but {name} is not"
                ))
            })
        };
        let with = |source, inner: Box<dyn TokenProvider>| Ok(Self { source, inner });
        if let Some(secret) = var("AZURE_CLIENT_SECRET") {
            let tenant = needs("AZURE_TENANT_ID", "AZURE_CLIENT_SECRET")?;
            let client = needs("AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET")?;
            return with(
                EnvironmentSource::ClientSecret,
                Box::new(ClientSecretCredential::new(
                    &tenant, &client, secret, options,
                )?),
            );
        }
        let certificate = ["AZURE_CERTIFICATE_PATH", "AZURE_CLIENT_CERTIFICATE_PATH"]
            .into_iter()
            .find_map(|n| var(n).map(|v| (n, v)));
        if let Some((name, path)) = certificate {
            let tenant = needs("AZURE_TENANT_ID", name)?;
            let client = needs("AZURE_CLIENT_ID", name)?;
            let bytes = std::fs::read(&path).map_err(|e| {
                Error::invalid(format!(
                    "environment credential: {name}={path}: cannot read it: {e}"
                ))
            })?;
            let credential = if bytes.windows(11).any(|w| w == b"-----BEGIN ") {
                ClientCertificateCredential::from_pem(&tenant, &client, &bytes, options)
            } else {
                pkcs12(&tenant, &client, &bytes, options)
            }
            .map_err(|e| e.context(&format!("{name}={path}")))?;
            return with(EnvironmentSource::ClientCertificate, Box::new(credential));
        }
        if let Some(file) = var("AZURE_FEDERATED_TOKEN_FILE") {
            let tenant = needs("AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE")?;
            let client = needs("AZURE_CLIENT_ID", "AZURE_FEDERATED_TOKEN_FILE")?;
            return with(
                EnvironmentSource::WorkloadIdentity,
                Box::new(WorkloadIdentityCredential::new(
                    &tenant, &client, file, options,
                )?),
            );
        }
        let credential = match var("AZURE_CLIENT_ID") {
            Some(id) => {
                ManagedIdentityCredential::user_assigned(UserAssignedId::ClientId(id), options)?
            }
            None => ManagedIdentityCredential::new(options)?,
        };
        with(EnvironmentSource::ManagedIdentity, Box::new(credential))
    }

    /// Which credential was chosen.
    pub fn source(&self) -> EnvironmentSource {
        self.source
    }
}

/// A PKCS#12 certificate file with its password variable.
fn pkcs12(
    tenant: &str,
    client: &str,
    bytes: &[u8],
    options: CredentialOptions,
) -> Result<ClientCertificateCredential, Error> {
    #[cfg(feature = "pkcs12")]
    {
        let password = [
            "AZURE_CERTIFICATE_PASSWORD",
            "AZURE_CLIENT_CERTIFICATE_PASSWORD",
        ]
        .into_iter()
        .find_map(|n| std::env::var(n).ok())
        .unwrap_or_default();
        ClientCertificateCredential::from_pkcs12(tenant, client, bytes, &password, options)
    }
    #[cfg(not(feature = "pkcs12"))]
    {
        let _ = (tenant, client, bytes, options);
        Err(Error::invalid(
            "the file is not PEM; reading PKCS#12 (.pfx) needs the eventhubs crate's `pkcs12` feature",
        ))
    }
}

impl TokenProvider for EnvironmentCredential {
    fn get_token<'a>(&'a self, audience: &'a str) -> TokenFuture<'a> {
        self.inner.get_token(audience)
    }
}
