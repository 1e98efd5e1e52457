//! The few Blob service operations the store needs — list with metadata, put an empty
//! blob, set metadata, create a container — each conditional where asked, authorized by
//! Shared Key, a SAS or a bearer token, and keeping the service's clock from `Date`.

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use bytes::Bytes;
use eventhubs::TokenProvider;
use eventhubs_http::{HttpClient, Response};
use http::{HeaderValue, Method, Request};

use crate::listing::{self, ListedBlob};
use crate::shared_key;

/// The service version every request asks for: one both Azure and Azurite 3.35 serve.
const VERSION: &str = "2021-08-06";

/// The scope of storage tokens from Entra ID.
pub(crate) const STORAGE_SCOPE: &str = "https://storage.azure.com/.default";

/// What authorizes requests.
#[derive(Clone)]
pub(crate) enum Auth {
    SharedKey { account: String, key: Vec<u8> },
    Sas(String),
    Token(Arc<dyn TokenProvider>),
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::SharedKey { account, .. } => write!(f, "SharedKey({account}, <redacted>)"),
            Self::Sas(_) => f.write_str("Sas(<redacted>)"),
            Self::Token(_) => f.write_str("Token"),
        }
    }
}

/// A write's precondition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Condition<'a> {
    /// Unconditional.
    None,
    /// Only if the blob's ETag is this.
    IfMatch(&'a str),
    /// Only if the blob does not exist.
    IfNoneExists,
}

/// A blob written: its new version and time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Written {
    pub etag: Option<String>,
    pub last_modified: Option<SystemTime>,
}

/// A failed operation: the status and `x-ms-error-code` when the service answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub status: Option<u16>,
    pub code: Option<String>,
    pub message: String,
}

impl Failure {
    /// The service said the condition failed or the blob exists: a lost race.
    pub(crate) fn is_conflict(&self) -> bool {
        matches!(self.status, Some(409 | 412))
    }

    pub(crate) fn is_not_found(&self) -> bool {
        self.status == Some(404)
    }
}

/// One container of one account.
#[derive(Debug, Clone)]
pub(crate) struct ContainerClient {
    http: HttpClient,
    /// `https://account.blob.core.windows.net` or a path-style emulator URL.
    endpoint: String,
    container: String,
    auth: Auth,
    /// The service's clock at the last response, and when that was here.
    service_clock: Arc<Mutex<Option<(SystemTime, tokio::time::Instant)>>>,
    /// Page size for listings (`None`: the service's, 5,000).
    pub(crate) page_size: Option<u32>,
}

impl ContainerClient {
    pub(crate) fn new(http: HttpClient, endpoint: &str, container: &str, auth: Auth) -> Self {
        Self {
            http,
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            container: container.to_owned(),
            auth,
            service_clock: Arc::default(),
            page_size: None,
        }
    }

    /// The same container through another HTTP client (other TLS roots).
    pub(crate) fn with_http(mut self, http: HttpClient) -> Self {
        self.http = http;
        self
    }

    /// Now by the service's clock (the last `Date` it sent plus the time since), else ours.
    pub(crate) fn now(&self) -> SystemTime {
        match *self.service_clock.lock().unwrap_or_else(|p| p.into_inner()) {
            Some((date, at)) => date + at.elapsed(),
            None => SystemTime::now(),
        }
    }

    /// Every blob whose name starts with `prefix`, with metadata, page by page.
    pub(crate) async fn list(&self, prefix: &str) -> Result<Vec<ListedBlob>, Failure> {
        let mut blobs = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let mut query = format!(
                "restype=container&comp=list&include=metadata&prefix={}",
                eventhubs_protocol::url::encode(prefix)
            );
            if let Some(n) = self.page_size {
                query.push_str(&format!("&maxresults={n}"));
            }
            if let Some(m) = &marker {
                query.push_str(&format!("&marker={}", eventhubs_protocol::url::encode(m)));
            }
            let r = self
                .send(Method::GET, None, &query, &[], "listing blobs")
                .await?;
            let body = std::str::from_utf8(&r.body).map_err(|_| Failure {
                status: Some(r.status.as_u16()),
                code: None,
                message: "the blob listing is not UTF-8".into(),
            })?;
            let page = listing::parse(body).map_err(|message| Failure {
                status: Some(r.status.as_u16()),
                code: None,
                message,
            })?;
            blobs.extend(page.blobs);
            match page.next_marker {
                Some(m) => marker = Some(m),
                None => return Ok(blobs),
            }
        }
    }

    /// Creates an empty block blob with `metadata`.
    pub(crate) async fn put_empty(
        &self,
        blob: &str,
        metadata: &[(&str, &str)],
        condition: Condition<'_>,
    ) -> Result<Written, Failure> {
        let mut headers: Vec<(String, String)> =
            vec![("x-ms-blob-type".into(), "BlockBlob".into())];
        headers.extend(meta_headers(metadata));
        headers.extend(condition_header(condition));
        let r = self
            .send(Method::PUT, Some(blob), "", &headers, "creating a blob")
            .await?;
        Ok(written(&r))
    }

    /// Replaces the metadata of `blob`.
    pub(crate) async fn set_metadata(
        &self,
        blob: &str,
        metadata: &[(&str, &str)],
        condition: Condition<'_>,
    ) -> Result<Written, Failure> {
        let mut headers: Vec<(String, String)> = meta_headers(metadata).collect();
        headers.extend(condition_header(condition));
        let r = self
            .send(
                Method::PUT,
                Some(blob),
                "comp=metadata",
                &headers,
                "setting blob metadata",
            )
            .await?;
        Ok(written(&r))
    }

    /// The content of `blob`.
    pub(crate) async fn get(&self, blob: &str) -> Result<Bytes, Failure> {
        Ok(self
            .send(Method::GET, Some(blob), "", &[], "reading a blob")
            .await?
            .body)
    }

    /// Creates the container (a 409 "already exists" is success).
    pub(crate) async fn create_container(&self) -> Result<(), Failure> {
        match self
            .send(
                Method::PUT,
                None,
                "restype=container",
                &[],
                "creating the container",
            )
            .await
        {
            Err(f) if f.status == Some(409) => Ok(()),
            other => other.map(|_| ()),
        }
    }

    /// Sends one operation; a status outside 2xx is a [`Failure`] with the service's code.
    async fn send(
        &self,
        method: Method,
        blob: Option<&str>,
        query: &str,
        headers: &[(String, String)],
        what: &str,
    ) -> Result<Response, Failure> {
        let mut url = format!("{}/{}", self.endpoint, self.container);
        if let Some(b) = blob {
            url.push('/');
            url.push_str(&encode_path(b));
        }
        let mut query = query.to_owned();
        if let Auth::Sas(sas) = &self.auth {
            if !query.is_empty() {
                query.push('&');
            }
            query.push_str(sas);
        }
        if !query.is_empty() {
            url.push('?');
            url.push_str(&query);
        }
        let bearer = match &self.auth {
            Auth::Token(provider) => Some(
                provider
                    .get_token(STORAGE_SCOPE)
                    .await
                    .map_err(|e| Failure {
                        status: None,
                        code: None,
                        message: format!("{what}: no storage token: {e}"),
                    })?
                    .value,
            ),
            _ => None,
        };
        let make = || {
            let mut builder = Request::builder()
                .method(method.clone())
                .uri(&url)
                .header("x-ms-version", VERSION)
                .header("x-ms-date", httpdate::fmt_http_date(SystemTime::now()));
            if method == Method::PUT {
                builder = builder.header("content-length", "0");
            }
            for (name, value) in headers {
                builder = builder.header(name.as_str(), value.as_str());
            }
            let mut request = builder.body(Bytes::new()).unwrap_or_default();
            match &self.auth {
                Auth::SharedKey { account, key } => shared_key::sign(&mut request, account, key),
                Auth::Token(_) => {
                    if let Some(Ok(v)) = bearer
                        .as_ref()
                        .map(|t| HeaderValue::from_str(&format!("Bearer {t}")))
                    {
                        request.headers_mut().insert(http::header::AUTHORIZATION, v);
                    }
                }
                Auth::Sas(_) => {}
            }
            request
        };
        let target = blob.unwrap_or(&self.container);
        let r = self.http.send(make).await.map_err(|e| Failure {
            status: None,
            code: None,
            message: format!("{what} ({target}): {e}"),
        })?;
        if let Some(date) = r
            .header("date")
            .and_then(|d| httpdate::parse_http_date(d).ok())
        {
            *self.service_clock.lock().unwrap_or_else(|p| p.into_inner()) =
                Some((date, tokio::time::Instant::now()));
        }
        if r.status.is_success() {
            return Ok(r);
        }
        let code = r.header("x-ms-error-code").map(str::to_owned);
        Err(Failure {
            status: Some(r.status.as_u16()),
            message: format!(
                "{what} ({target}): {} {}",
                r.status.as_u16(),
                code.as_deref()
                    .unwrap_or_else(|| r.status.canonical_reason().unwrap_or(""))
            ),
            code,
        })
    }
}

fn meta_headers<'a>(
    metadata: &'a [(&'a str, &'a str)],
) -> impl Iterator<Item = (String, String)> + 'a {
    metadata
        .iter()
        .map(|(k, v)| (format!("x-ms-meta-{k}"), (*v).to_owned()))
}

fn condition_header(condition: Condition<'_>) -> Option<(String, String)> {
    match condition {
        Condition::None => None,
        Condition::IfMatch(etag) => Some(("if-match".into(), quoted(etag))),
        Condition::IfNoneExists => Some(("if-none-match".into(), "*".into())),
    }
}

/// An ETag in the quoted form conditional headers take (listings send it bare).
pub(crate) fn quoted(etag: &str) -> String {
    if etag.starts_with('"') {
        etag.to_owned()
    } else {
        format!("\"{etag}\"")
    }
}

fn written(r: &Response) -> Written {
    Written {
        etag: r.header("etag").map(str::to_owned),
        last_modified: r
            .header("last-modified")
            .and_then(|d| httpdate::parse_http_date(d).ok()),
    }
}

/// A blob name as a URL path: each segment percent-encoded, `/` kept.
fn encode_path(name: &str) -> String {
    name.split('/')
        .map(eventhubs_protocol::url::encode)
        .collect::<Vec<_>>()
        .join("/")
}
