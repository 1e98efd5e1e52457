//! [`HttpClient`]: one pooled HTTP/1.1 client (plain HTTP for local emulators, HTTPS with the
//! project's rustls configuration), each try bounded, transient failures retried.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full};
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
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
    policy: RetryPolicy,
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
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .build(connector);
        Self { client, policy }
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
        let response = self
            .client
            .request(request.map(Full::new))
            .await
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
