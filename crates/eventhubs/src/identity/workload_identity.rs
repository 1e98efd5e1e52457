//! [`WorkloadIdentityCredential`]: Kubernetes workload identity — the federated token the
//! cluster projects into a file, exchanged for an Entra ID token.

use std::path::PathBuf;

use crate::error::{Error, ErrorKind};
use crate::identity::cache::{FetchFuture, FetchToken};
use crate::identity::environment::required;
use crate::identity::scoped::Scoped;
use crate::identity::token_request::{ClientAuth, Entra, ENTRA_ERROR};
use crate::identity::CredentialOptions;

/// Authorizes with a federated token file (AKS workload identity). The file is read again
/// for every token request, since the cluster rotates it.
pub struct WorkloadIdentityCredential {
    cache: Scoped,
}

#[derive(Debug)]
struct Source {
    entra: Entra,
    token_file: PathBuf,
}

impl FetchToken for Source {
    fn fetch<'a>(&'a self, scope: &'a str) -> FetchFuture<'a> {
        Box::pin(async move {
            let assertion = tokio::fs::read_to_string(&self.token_file)
                .await
                .map_err(|e| {
                    Error::new(
                        ErrorKind::Unauthorized,
                        format!(
                            "{ENTRA_ERROR} (workload identity): cannot read the federated token file {}: {e}",
                            self.token_file.display()
                        ),
                    )
                })?;
            let assertion = assertion.trim();
            if assertion.is_empty() {
                return Err(Error::new(
                    ErrorKind::Unauthorized,
                    format!(
                        "{ENTRA_ERROR} (workload identity): the federated token file {} is empty",
                        self.token_file.display()
                    ),
                ));
            }
            self.entra
                .request(ClientAuth::Assertion(assertion), scope)
                .await
        })
    }
}

impl WorkloadIdentityCredential {
    /// The app `client_id` of `tenant_id`, proving itself with the token in `token_file`.
    ///
    /// # Errors
    /// `InvalidArgument` for a malformed tenant or client id, or bad options.
    pub fn new(
        tenant_id: &str,
        client_id: &str,
        token_file: impl Into<PathBuf>,
        options: CredentialOptions,
    ) -> Result<Self, Error> {
        let entra = Entra::new(tenant_id, client_id, &options, "workload identity")?;
        let default_scope = entra.default_scope().to_owned();
        Ok(Self {
            cache: Scoped::new(
                Source {
                    entra,
                    token_file: token_file.into(),
                },
                default_scope,
            ),
        })
    }

    /// From `AZURE_TENANT_ID`, `AZURE_CLIENT_ID` and `AZURE_FEDERATED_TOKEN_FILE` (what the
    /// AKS workload identity webhook sets).
    ///
    /// # Errors
    /// `InvalidArgument` naming the variable that is missing.
    pub fn from_env(options: CredentialOptions) -> Result<Self, Error> {
        let what = "workload identity";
        let file = required("AZURE_FEDERATED_TOKEN_FILE", what)?;
        let tenant = required("AZURE_TENANT_ID", what)?;
        let client = required("AZURE_CLIENT_ID", what)?;
        Self::new(&tenant, &client, file, options)
    }
}

cached_credential!(WorkloadIdentityCredential);
