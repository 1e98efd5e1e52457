//! [`ManagedIdentityCredential`]: the identity Azure gives a VM, scale set, AKS node, App
//! Service, Functions or Container Apps — from the Instance Metadata Service (IMDS) or the
//! App Service identity endpoint.

use std::fmt;

use eventhubs_http::HttpClient;

use crate::error::Error;
use crate::identity::cache::{FetchFuture, FetchToken};
use crate::identity::scoped::Scoped;
use crate::identity::token_request::managed_identity;
use crate::identity::CredentialOptions;

/// The IMDS address, unless `AZURE_POD_IDENTITY_AUTHORITY_HOST` names another (as the
/// other Azure identity libraries allow).
const IMDS_HOST: &str = "http://169.254.169.254";
const IMDS_PATH: &str = "/metadata/identity/oauth2/token";
const IMDS_API_VERSION: &str = "2018-02-01";
const APP_SERVICE_API_VERSION: &str = "2019-08-01";

/// Which user-assigned identity to use (the system-assigned one when none is given).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UserAssignedId {
    /// The identity's client (application) id.
    ClientId(String),
    /// Its object (principal) id.
    ObjectId(String),
    /// Its Azure resource id (`/subscriptions/…/userAssignedIdentities/…`).
    ResourceId(String),
}

/// Where the tokens come from, detected from the environment when the credential is made.
/// (No `Debug`: the App Service header is a secret.)
enum Endpoint {
    /// IMDS at this base URL.
    Imds(String),
    /// App Service / Functions / Container Apps: `IDENTITY_ENDPOINT` and `IDENTITY_HEADER`.
    AppService { url: String, header: String },
}

/// Authorizes as the managed identity of the Azure resource the program runs on: through
/// `IDENTITY_ENDPOINT` + `IDENTITY_HEADER` when set (App Service, Functions, Container
/// Apps), else IMDS. These endpoints are local to the host and never go through a proxy.
///
/// ```no_run
/// # fn demo() -> Result<(), eventhubs::Error> {
/// use eventhubs::identity::{CredentialOptions, ManagedIdentityCredential, UserAssignedId};
/// let system = ManagedIdentityCredential::new(CredentialOptions::default())?;
/// let user = ManagedIdentityCredential::user_assigned(
///     UserAssignedId::ClientId("00000000-0000-0000-0000-000000000000".into()),
///     CredentialOptions::default(),
/// )?;
/// # let _ = (system, user); Ok(()) }
/// ```
pub struct ManagedIdentityCredential {
    cache: Scoped,
}

struct Source {
    http: HttpClient,
    endpoint: Endpoint,
    id: Option<UserAssignedId>,
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (Endpoint::Imds(endpoint) | Endpoint::AppService { url: endpoint, .. }) =
            &self.endpoint;
        f.debug_struct("ManagedIdentity")
            .field("endpoint", &endpoint)
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl FetchToken for Source {
    fn fetch<'a>(&'a self, scope: &'a str) -> FetchFuture<'a> {
        Box::pin(async move {
            let (base, version, header) = match &self.endpoint {
                Endpoint::Imds(host) => (
                    format!("{}{IMDS_PATH}", host.trim_end_matches('/')),
                    IMDS_API_VERSION,
                    ("Metadata", "true"),
                ),
                Endpoint::AppService { url, header } => (
                    url.clone(),
                    APP_SERVICE_API_VERSION,
                    ("X-IDENTITY-HEADER", header.as_str()),
                ),
            };
            let app_service = matches!(self.endpoint, Endpoint::AppService { .. });
            let query = {
                let mut query = form_urlencoded::Serializer::new(String::new());
                query
                    .append_pair("api-version", version)
                    // The resource is the scope without `/.default`.
                    .append_pair("resource", scope.trim_end_matches("/.default"));
                match &self.id {
                    Some(UserAssignedId::ClientId(id)) => query.append_pair("client_id", id),
                    Some(UserAssignedId::ObjectId(id)) if app_service => {
                        query.append_pair("principal_id", id)
                    }
                    Some(UserAssignedId::ObjectId(id)) => query.append_pair("object_id", id),
                    Some(UserAssignedId::ResourceId(id)) if app_service => {
                        query.append_pair("mi_res_id", id)
                    }
                    Some(UserAssignedId::ResourceId(id)) => query.append_pair("msi_res_id", id),
                    None => &mut query,
                };
                query.finish()
            };
            let separator = if base.contains('?') { '&' } else { '?' };
            let url = format!("{base}{separator}{query}");
            managed_identity(&self.http, &url, header)
                .await
                .map_err(|e| e.context("managed identity"))
        })
    }
}

impl ManagedIdentityCredential {
    /// The system-assigned identity.
    ///
    /// # Errors
    /// `InvalidArgument` for bad options (an unknown `AZURE_ENVIRONMENT`, an unreadable
    /// `SSL_CERT_FILE`).
    pub fn new(options: CredentialOptions) -> Result<Self, Error> {
        Self::build(None, &options)
    }

    /// A user-assigned identity.
    ///
    /// # Errors
    /// As [`new`](Self::new), and `InvalidArgument` for an empty id.
    pub fn user_assigned(id: UserAssignedId, options: CredentialOptions) -> Result<Self, Error> {
        let (UserAssignedId::ClientId(v)
        | UserAssignedId::ObjectId(v)
        | UserAssignedId::ResourceId(v)) = &id;
        if v.trim().is_empty() {
            return Err(Error::invalid(
                "managed identity: the user-assigned id is empty",
            ));
        }
        Self::build(Some(id), &options)
    }

    fn build(id: Option<UserAssignedId>, options: &CredentialOptions) -> Result<Self, Error> {
        let var = |n: &str| std::env::var(n).ok().filter(|v| !v.trim().is_empty());
        let endpoint = match (var("IDENTITY_ENDPOINT"), var("IDENTITY_HEADER")) {
            (Some(url), Some(header)) => Endpoint::AppService { url, header },
            _ => Endpoint::Imds(
                var("AZURE_POD_IDENTITY_AUTHORITY_HOST").unwrap_or_else(|| IMDS_HOST.to_owned()),
            ),
        };
        let cloud = options.resolved_cloud()?;
        let shown = match &endpoint {
            Endpoint::Imds(url) | Endpoint::AppService { url, .. } => url.clone(),
        };
        tracing::debug!(endpoint = %shown, "managed identity endpoint");
        Ok(Self {
            cache: Scoped::new(
                Source {
                    http: options.local_client()?,
                    endpoint,
                    id,
                },
                cloud.scope(),
            ),
        })
    }
}

cached_credential!(ManagedIdentityCredential);
