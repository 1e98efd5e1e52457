//! [`ClientOptions`]: what a [`ProducerClient`](crate::ProducerClient) and a
//! [`ConsumerClient`](crate::ConsumerClient) share that has a default.

use std::sync::Arc;
use std::time::Duration;

use crate::auth::TokenProvider;
use crate::cloud::Cloud;
use crate::proxy::ProxyOptions;
use crate::retry::RetryOptions;
use crate::transport::TransportType;

/// The consumer group every event hub has.
pub const DEFAULT_CONSUMER_GROUP: &str = "$Default";

/// Options of a client. `Default`: 3 retries from 200 ms (doubling, at most 30 s, 20 %
/// jitter), a 60 s bound on every network operation, no application id, the endpoint from
/// the connection string or namespace, credentials from the connection string, AMQP over
/// TCP, the web PKI roots (and `SSL_CERT_FILE`'s bundle, if set).
///
/// ```
/// use std::time::Duration;
/// use eventhubs::{ClientOptions, RetryOptions};
/// let options = ClientOptions::default()
///     .application_id("billing/1.4")
///     .retry(RetryOptions::default().max_retries(5))
///     .operation_timeout(Duration::from_secs(30));
/// # let _ = options;
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
#[must_use = "setters return the changed value: use it"]
pub struct ClientOptions {
    pub(crate) application_id: Option<String>,
    pub(crate) retry: RetryOptions,
    pub(crate) operation_timeout: Duration,
    pub(crate) custom_endpoint: Option<String>,
    pub(crate) token_provider: Option<Arc<dyn TokenProvider>>,
    pub(crate) transport: TransportType,
    pub(crate) extra_roots: Vec<Vec<u8>>,
    pub(crate) proxy: Option<ProxyOptions>,
    pub(crate) cloud: Option<Cloud>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            application_id: None,
            retry: RetryOptions::default(),
            operation_timeout: Duration::from_secs(60),
            custom_endpoint: None,
            token_provider: None,
            transport: TransportType::AmqpTcp,
            extra_roots: Vec::new(),
            proxy: None,
            cloud: None,
        }
    }
}

impl ClientOptions {
    /// Identifies the application to the service (the connection's `user-agent`).
    pub fn application_id(mut self, id: impl Into<String>) -> Self {
        self.application_id = Some(id.into());
        self
    }

    /// How transient failures are retried.
    pub fn retry(mut self, retry: RetryOptions) -> Self {
        self.retry = retry;
        self
    }

    /// The longest any single network operation may take: connecting, authorizing,
    /// attaching a link, a send's outcome, a management request. Default 60 s.
    pub fn operation_timeout(mut self, timeout: Duration) -> Self {
        self.operation_timeout = timeout;
        self
    }

    /// Dial this `host:port` instead of the namespace (a proxy or a private endpoint); TLS
    /// still verifies the namespace's name.
    pub fn custom_endpoint(mut self, address: impl Into<String>) -> Self {
        self.custom_endpoint = Some(address.into());
        self
    }

    /// Authorize with this provider instead of the connection string's key or signature.
    pub fn token_provider(mut self, provider: Arc<dyn TokenProvider>) -> Self {
        self.token_provider = Some(provider);
        self
    }

    /// Connect over AMQP on TCP (the default) or over WebSockets (port 443, for networks
    /// that only open that port).
    pub fn transport_type(mut self, transport: TransportType) -> Self {
        self.transport = transport;
        self
    }

    /// The Azure cloud: the DNS suffix a short namespace name (`my-ns`) is completed with.
    /// Default: the one `AZURE_ENVIRONMENT` names, else the public cloud.
    pub fn cloud(mut self, cloud: Cloud) -> Self {
        self.cloud = Some(cloud);
        self
    }

    /// Connect through this HTTP proxy (CONNECT tunnel, Basic auth), over AMQP over
    /// WebSockets whatever [`transport_type`](Self::transport_type) says. Without it,
    /// `HTTPS_PROXY`/`NO_PROXY` decide (loopback hosts are never proxied from the
    /// environment).
    pub fn proxy(mut self, proxy: ProxyOptions) -> Self {
        self.proxy = Some(proxy);
        self
    }

    /// Also trust the root certificates of this PEM bundle (a private CA, a TLS-inspecting
    /// proxy's, the emulator's AMQPS and WSS ports): added to the web PKI roots and to the
    /// bundle `SSL_CERT_FILE` names, if set. May be called more than once; the bundle is
    /// checked when the client is built.
    ///
    /// ```no_run
    /// # fn demo() -> std::io::Result<()> {
    /// use eventhubs::ClientOptions;
    /// let options = ClientOptions::default().add_root_certificates(std::fs::read("ca.pem")?);
    /// # let _ = options; Ok(()) }
    /// ```
    pub fn add_root_certificates(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.extra_roots.push(pem.into());
        self
    }
}
