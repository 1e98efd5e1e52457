//! [`CredentialOptions`]: where the token service is (cloud, authority), how to reach it
//! (TLS roots, proxy) and how long to wait.

use std::time::Duration;

use eventhubs_http::{HttpClient, RetryPolicy};

use crate::client_options::ClientOptions;
use crate::cloud::Cloud;
use crate::error::Error;
use crate::proxy::ProxyOptions;

/// Options shared by every credential. `Default`: the cloud `AZURE_ENVIRONMENT` names (and
/// `AZURE_AUTHORITY_HOST`), else the public cloud; the web PKI roots plus `SSL_CERT_FILE`;
/// the proxy `HTTPS_PROXY` names for the login host (managed identity endpoints are never
/// proxied); 30 s per request; 3 retries of transient failures (5 for managed identity,
/// whose endpoint asks for them).
///
/// ```
/// use std::time::Duration;
/// use eventhubs::identity::CredentialOptions;
/// use eventhubs::Cloud;
/// let options = CredentialOptions::default()
///     .cloud(Cloud::us_government())
///     .request_timeout(Duration::from_secs(10));
/// # let _ = options;
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
#[must_use = "setters return the changed value: use it"]
pub struct CredentialOptions {
    pub(crate) cloud: Option<Cloud>,
    pub(crate) extra_roots: Vec<Vec<u8>>,
    pub(crate) proxy: Option<ProxyOptions>,
    pub(crate) request_timeout: Duration,
    pub(crate) max_retries: u32,
}

impl Default for CredentialOptions {
    fn default() -> Self {
        Self {
            cloud: None,
            extra_roots: Vec::new(),
            proxy: None,
            request_timeout: Duration::from_secs(30),
            max_retries: 3,
        }
    }
}

impl CredentialOptions {
    /// The cloud: its authority host (`login.microsoftonline.com`, …) and the Event Hubs
    /// scope.
    pub fn cloud(mut self, cloud: Cloud) -> Self {
        self.cloud = Some(cloud);
        self
    }

    /// Also trust the root certificates of this PEM bundle (a TLS-inspecting proxy's, a
    /// private authority's).
    pub fn add_root_certificates(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.extra_roots.push(pem.into());
        self
    }

    /// Reach the login host through this proxy (its `no_proxy` list applies).
    pub fn proxy(mut self, proxy: ProxyOptions) -> Self {
        self.proxy = Some(proxy);
        self
    }

    /// The bound on each token request (connection included). Default 30 s.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Retries of a transient failure (connection errors, timeouts, 429, 5xx) within one
    /// token request. Default 3. A failed refresh is tried again later anyway, for as long
    /// as the current token is valid.
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// The cloud, extra root certificates and proxy of a client's options, so that token
    /// requests go where, and trust what, the client does.
    pub fn for_client(options: &ClientOptions) -> Self {
        Self {
            cloud: options.cloud.clone(),
            extra_roots: options.extra_roots.clone(),
            proxy: options.proxy.clone(),
            ..Self::default()
        }
    }

    pub(crate) fn resolved_cloud(&self) -> Result<Cloud, Error> {
        match &self.cloud {
            Some(c) => Ok(c.clone()),
            None => Cloud::from_env(),
        }
    }

    fn policy(&self, retries: u32) -> RetryPolicy {
        RetryPolicy::default()
            .max_retries(retries)
            .try_timeout(self.request_timeout)
    }

    /// A client for the login host `host`: proxied when the options or the environment
    /// say so (loopback never from the environment).
    pub(crate) fn login_client(&self, host: &str) -> Result<HttpClient, Error> {
        let tls = crate::transport::tls_config(&self.extra_roots)?;
        let proxy = match &self.proxy {
            Some(p) => Some(p.clone()).filter(|p| p.applies_to(host)),
            None => ProxyOptions::from_env(host)?,
        };
        let policy = self.policy(self.max_retries);
        match proxy {
            None => Ok(HttpClient::new(&tls, policy)),
            Some(p) => {
                let mut route = eventhubs_http::Proxy::new(p.address());
                if let Some((user, password)) = p.basic_credentials() {
                    route = route.credentials(user, password);
                }
                tracing::debug!(proxy = p.address(), %host, "token requests go through the proxy");
                HttpClient::with_proxy(&tls, policy, &route)
                    .map_err(|e| Error::invalid(format!("proxy: {e}")))
            }
        }
    }

    /// A client for a managed identity endpoint: never proxied, more retries.
    pub(crate) fn local_client(&self) -> Result<HttpClient, Error> {
        let tls = crate::transport::tls_config(&self.extra_roots)?;
        Ok(HttpClient::new(&tls, self.policy(self.max_retries.max(5))))
    }
}
