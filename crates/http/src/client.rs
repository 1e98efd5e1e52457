//! [`HttpClient`]: one pooled HTTP/1.1 client (plain HTTP for local emulators, HTTPS with the
//! project's rustls configuration), each try bounded, transient failures retried.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::retry::RetryPolicy;

/// A whole response.
#[derive(Debug, Clone)]
pub struct Response {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body, read to its end.
    pub body: Bytes,
}

impl Response {
    /// A header as text, if present and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Why no response came back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// Every try took longer than the policy's bound.
    #[error("no response within {0:?} (after every retry)")]
    Timeout(Duration),
    /// The connection could not be made or broke (the last try's reason).
    #[error("connection to {host} failed: {reason}")]
    Connection {
        /// The host tried.
        host: String,
        /// What went wrong.
        reason: String,
    },
}

/// An HTTP/1.1 client with a connection pool. Cheap to clone.
#[derive(Clone)]
pub struct HttpClient {
    client: Pooled,
    policy: RetryPolicy,
}

/// The pool: direct, or every connection a CONNECT tunnel through a proxy.
#[derive(Clone)]
enum Pooled {
    Direct(Client<HttpsConnector<HttpConnector>, Full<Bytes>>),
    Tunnelled(Client<HttpsConnector<Tunnel<HttpConnector>>, Full<Bytes>>),
}

/// An HTTP proxy that tunnels (CONNECT) every connection, with optional Basic credentials.
/// `Debug` never shows the password.
#[derive(Clone)]
pub struct Proxy {
    address: String,
    credentials: Option<(String, String)>,
}

impl Proxy {
    /// The proxy at `host:port`.
    pub fn new(address: impl Into<String>) -> Self {
        Self {
            address: address.into(),
            credentials: None,
        }
    }

    /// Basic credentials for the proxy.
    #[must_use]
    pub fn credentials(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.credentials = Some((user.into(), password.into()));
        self
    }

    /// The proxy's `host:port`.
    pub fn address(&self) -> &str {
        &self.address
    }
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("address", &self.address)
            .field("user", &self.credentials.as_ref().map(|(u, _)| u))
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// A client trusting what `tls` trusts (HTTPS), that also speaks plain HTTP to
    /// `http://` URLs (local emulators such as Azurite).
    pub fn new(tls: &eventhubs_amqp_io::TlsConfig, policy: RetryPolicy) -> Self {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config((*tls.client_config()).clone())
            .https_or_http()
            .enable_http1()
            .build();
        Self {
            client: Pooled::Direct(pool().build(connector)),
            policy,
        }
    }

    /// Like [`new`](Self::new), with every connection tunnelled through `proxy` (TLS runs
    /// inside the tunnel, end to end with the server). A proxy's refusal (407 and the like)
    /// is an [`HttpError::Connection`] naming the proxy.
    ///
    /// # Errors
    /// [`HttpError::Connection`] when the proxy address is not a valid `host:port`.
    pub fn with_proxy(
        tls: &eventhubs_amqp_io::TlsConfig,
        policy: RetryPolicy,
        proxy: &Proxy,
    ) -> Result<Self, HttpError> {
        let bad = |reason: String| HttpError::Connection {
            host: proxy.address.clone(),
            reason,
        };
        let uri: http::Uri = format!("http://{}", proxy.address)
            .parse()
            .map_err(|e| bad(format!("not a proxy address: {e}")))?;
        let mut tunnel = Tunnel::new(uri, HttpConnector::new());
        if let Some((user, password)) = &proxy.credentials {
            use base64::Engine as _;
            let basic =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            let mut value = http::HeaderValue::from_str(&format!("Basic {basic}"))
                .map_err(|_| bad("the proxy credentials are not valid header text".into()))?;
            value.set_sensitive(true);
            tunnel = tunnel.with_auth(value);
        }
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config((*tls.client_config()).clone())
            .https_or_http()
            .enable_http1()
            .wrap_connector(tunnel);
        Ok(Self {
            client: Pooled::Tunnelled(pool().build(connector)),
            policy,
        })
    }

    /// The retry policy.
    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// Sends the request `make` builds (once per try, so that each try can be signed
    /// afresh) and reads the whole response. Connection failures, timed-out tries and
    /// retryable statuses are retried per the policy; the last response is returned
    /// whatever its status.
    pub async fn send(&self, make: impl Fn() -> Request<Bytes>) -> Result<Response, HttpError> {
        let mut attempt = 0;
        loop {
            let request = make();
            let host = request.uri().host().unwrap_or_default().to_owned();
            // The path only: a query may carry a shared access signature.
            let (method, path) = (request.method().clone(), request.uri().path().to_owned());
            let started = std::time::Instant::now();
            let outcome = tokio::time::timeout(self.policy.try_timeout, self.once(request)).await;
            tracing::trace!(
                %method,
                %host,
                %path,
                status = ?outcome.as_ref().ok().and_then(|r| r.as_ref().ok()).map(|r| r.status.as_u16()),
                elapsed = ?started.elapsed(),
                "HTTP request"
            );
            let retry_in = match &outcome {
                Ok(Ok(r)) if !self.policy.retries_status(r.status) => None,
                Ok(Ok(r)) => Some(retry_after(r).unwrap_or_else(|| self.policy.delay_for(attempt))),
                _ => Some(self.policy.delay_for(attempt)),
            };
            match (retry_in, attempt < self.policy.max_retries) {
                (Some(delay), true) => {
                    tracing::debug!(%host, attempt, ?delay, "retrying an HTTP request");
                    tokio::time::sleep(delay.min(self.policy.max_delay)).await;
                    attempt += 1;
                }
                _ => {
                    return match outcome {
                        Ok(Ok(r)) => Ok(r),
                        Ok(Err(reason)) => Err(HttpError::Connection { host, reason }),
                        Err(_) => Err(HttpError::Timeout(self.policy.try_timeout)),
                    }
                }
            }
        }
    }

    async fn once(&self, request: Request<Bytes>) -> Result<Response, String> {
        let request = request.map(Full::new);
        let response = match &self.client {
            Pooled::Direct(c) => c.request(request).await,
            Pooled::Tunnelled(c) => c.request(request).await,
        }
        .map_err(|e| error_chain(&e))?;
        let (parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .map_err(|e| error_chain(&e))?
            .to_bytes();
        Ok(Response {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }
}

/// The pool settings every client shares.
fn pool() -> hyper_util::client::legacy::Builder {
    let mut builder = Client::builder(TokioExecutor::new());
    builder.pool_idle_timeout(Duration::from_secs(60));
    builder
}

/// A `Retry-After` in seconds, as Azure sends with 429 and 503.
fn retry_after(r: &Response) -> Option<Duration> {
    r.header("retry-after")?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// An error and its causes on one line (hyper's own text is only the outermost).
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        next = cause.source();
    }
    text
}
