//! One token request to an Entra ID (v2 client credentials) or managed identity endpoint,
//! and reading its answer: the token and its expiry, or the service's error (with its
//! `AADSTS` code) as a typed [`Error`].

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use eventhubs_http::{HttpClient, HttpError, Method, Response};
use serde_json::Value as Json;

use crate::error::{Error, ErrorKind};
use crate::identity::cache::AccessToken;

/// The prefix of every token service error, so that the client adds no SAS hint to it.
pub(crate) const ENTRA_ERROR: &str = "Microsoft Entra ID";

/// How the client proves who it is to the token endpoint.
pub(crate) enum ClientAuth<'a> {
    Secret(&'a str),
    /// A signed JWT: a certificate assertion or a federated (workload identity) token.
    Assertion(&'a str),
}

/// The v2 token endpoint of `tenant` under `authority` (which ends with `/`).
pub(crate) fn token_url(authority: &str, tenant: &str) -> String {
    format!("{authority}{tenant}/oauth2/v2.0/token")
}

/// Checks a tenant id before it becomes part of a URL path.
pub(crate) fn check_tenant(tenant: &str, what: &str) -> Result<(), Error> {
    let ok = !tenant.is_empty()
        && tenant
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "{what}: {tenant:?} is not a tenant id (a GUID or a domain such as contoso.onmicrosoft.com)"
        )))
    }
}

/// Checks a client id is present.
pub(crate) fn check_client_id(client_id: &str, what: &str) -> Result<(), Error> {
    if client_id.trim().is_empty() {
        return Err(Error::invalid(format!("{what}: the client id is empty")));
    }
    Ok(())
}

/// A tenant's v2 token endpoint for one app registration.
#[derive(Debug)]
pub(crate) struct Entra {
    http: HttpClient,
    pub url: String,
    pub client_id: String,
    default_scope: String,
}

impl Entra {
    /// The endpoint `options` point at for `tenant`; `what` names the credential in errors.
    pub(crate) fn new(
        tenant: &str,
        client_id: &str,
        options: &crate::identity::CredentialOptions,
        what: &str,
    ) -> Result<Self, Error> {
        check_tenant(tenant, what)?;
        check_client_id(client_id, what)?;
        let cloud = options.resolved_cloud()?;
        let url = token_url(cloud.authority_host(), tenant);
        let host = url
            .split("://")
            .nth(1)
            .and_then(|r| r.split(['/', ':']).next())
            .unwrap_or_default()
            .to_owned();
        Ok(Self {
            http: options.login_client(&host)?,
            url,
            client_id: client_id.to_owned(),
            default_scope: cloud.scope().to_owned(),
        })
    }

    /// The cloud's Event Hubs scope, for audiences that name no scope.
    pub(crate) fn default_scope(&self) -> &str {
        &self.default_scope
    }

    /// One client-credentials request for `scope`.
    pub(crate) async fn request(
        &self,
        auth: ClientAuth<'_>,
        scope: &str,
    ) -> Result<AccessToken, Error> {
        client_credentials(&self.http, &self.url, &self.client_id, scope, auth).await
    }
}

/// POSTs a client-credentials request for `scope` to `url`.
pub(crate) async fn client_credentials(
    http: &HttpClient,
    url: &str,
    client_id: &str,
    scope: &str,
    auth: ClientAuth<'_>,
) -> Result<AccessToken, Error> {
    let body = {
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("client_id", client_id)
            .append_pair("grant_type", "client_credentials")
            .append_pair("scope", scope);
        match auth {
            ClientAuth::Secret(secret) => form.append_pair("client_secret", secret),
            ClientAuth::Assertion(jwt) => form
                .append_pair(
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                )
                .append_pair("client_assertion", jwt),
        };
        Bytes::from(form.finish())
    };
    let response = http
        .send(|| {
            http::Request::builder()
                .method(Method::POST)
                .uri(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .header("accept", "application/json")
                .body(body.clone())
                .unwrap_or_default()
        })
        .await
        .map_err(|e| unreachable_service(&e, url))?;
    read_token(&response, url)
}

/// GETs a managed identity token from `url` (query included) with `header`.
pub(crate) async fn managed_identity(
    http: &HttpClient,
    url: &str,
    header: (&str, &str),
) -> Result<AccessToken, Error> {
    let shown = url.split('?').next().unwrap_or(url);
    let response = http
        .send(|| {
            http::Request::builder()
                .method(Method::GET)
                .uri(url)
                .header(header.0, header.1)
                .header("accept", "application/json")
                .body(Bytes::new())
                .unwrap_or_default()
        })
        .await
        .map_err(|e| unreachable_service(&e, shown))?;
    read_token(&response, shown)
}

fn unreachable_service(e: &HttpError, url: &str) -> Error {
    let kind = match e {
        HttpError::Timeout(_) => ErrorKind::Timeout,
        _ => ErrorKind::ConnectionLost,
    };
    // A proxy refusing the tunnel is a credentials problem, not a network one.
    let text = e.to_string();
    let kind = if text.contains("proxy authorization required") {
        ErrorKind::Unauthorized
    } else {
        kind
    };
    Error::new(kind, format!("{ENTRA_ERROR}: no token from {url}: {text}"))
}

/// The token of a 200 answer, or the service's error.
pub(crate) fn read_token(response: &Response, url: &str) -> Result<AccessToken, Error> {
    let json: Option<Json> = serde_json::from_slice(&response.body).ok();
    if !response.status.is_success() {
        return Err(service_error(response.status.as_u16(), json.as_ref(), url));
    }
    let bad = |what: &str| {
        Error::new(
            ErrorKind::Service,
            format!("{ENTRA_ERROR}: the answer of {url} {what}"),
        )
    };
    let json = json.ok_or_else(|| bad("is not JSON"))?;
    let value = json
        .get("access_token")
        .and_then(Json::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| bad("has no access_token"))?;
    let expires_at =
        expiry(&json, SystemTime::now()).ok_or_else(|| bad("has no expires_in or expires_on"))?;
    Ok(AccessToken {
        value: value.to_owned(),
        expires_at,
    })
}

/// `expires_on` (epoch seconds, as a number or a string) or `expires_in` (seconds from
/// now, likewise): Entra sends numbers, managed identity endpoints strings.
pub(crate) fn expiry(json: &Json, now: SystemTime) -> Option<SystemTime> {
    let seconds = |v: &Json| match v {
        Json::Number(n) => n.as_u64(),
        Json::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    };
    if let Some(on) = json.get("expires_on").and_then(seconds) {
        return Some(UNIX_EPOCH + Duration::from_secs(on));
    }
    json.get("expires_in")
        .and_then(seconds)
        .map(|s| now + Duration::from_secs(s))
}

/// An error answer as a typed error: the first line of `error_description` (which starts
/// with the AADSTS code) or `error`; 400/401/403 are `Unauthorized`, 429 and 5xx
/// `ServerBusy` (transient), others `Service`.
fn service_error(status: u16, json: Option<&Json>, url: &str) -> Error {
    let field = |name: &str| json.and_then(|j| j.get(name)).and_then(Json::as_str);
    let description = field("error_description")
        .and_then(|d| d.lines().next())
        .map(str::trim)
        .filter(|d| !d.is_empty());
    let reason = match (field("error"), description) {
        (Some(e), Some(d)) => format!("{e}: {d}"),
        (Some(e), None) => e.to_owned(),
        (None, Some(d)) => d.to_owned(),
        (None, None) => "no error description".to_owned(),
    };
    let kind = match status {
        400 | 401 | 403 => ErrorKind::Unauthorized,
        429 | 500..=599 => ErrorKind::ServerBusy,
        _ => ErrorKind::Service,
    };
    Error::new(
        kind,
        format!("{ENTRA_ERROR}: {url} answered {status}: {reason}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Expiry as numbers, strings, epoch or relative; none is `None`.
    #[test]
    fn expiry_forms() {
        let now = UNIX_EPOCH + Duration::from_secs(1000);
        let at = |s| Some(UNIX_EPOCH + Duration::from_secs(s));
        assert_eq!(expiry(&json!({"expires_in": 3599}), now), at(4599));
        assert_eq!(expiry(&json!({"expires_in": "60"}), now), at(1060));
        assert_eq!(
            expiry(&json!({"expires_on": "1506484173", "expires_in": "1"}), now),
            at(1506484173)
        );
        assert_eq!(expiry(&json!({"expires_on": 2000}), now), at(2000));
        assert_eq!(expiry(&json!({"expires_in": "soon"}), now), None);
        assert_eq!(expiry(&json!({}), now), None);
    }

    /// AADSTS errors keep their code and first line; statuses map to kinds.
    #[test]
    fn service_errors() {
        let body = json!({"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided.\r\nTrace ID: x"});
        let e = service_error(401, Some(&body), "https://login/t/oauth2/v2.0/token");
        assert_eq!(e.kind(), ErrorKind::Unauthorized);
        assert!(
            e.to_string()
                .contains("invalid_client: AADSTS7000215: Invalid client secret provided."),
            "{e}"
        );
        assert!(!e.to_string().contains("Trace ID"));
        assert!(service_error(429, None, "u").is_transient());
        assert!(service_error(503, None, "u").is_transient());
        assert_eq!(service_error(404, None, "u").kind(), ErrorKind::Service);
    }

    /// Tenant ids cannot smuggle path segments or queries into the URL.
    #[test]
    fn tenants() {
        assert!(check_tenant("contoso.onmicrosoft.com", "t").is_ok());
        assert!(check_tenant("72f988bf-86f1-41af-91ab-2d7cd011db47", "t").is_ok());
        for bad in ["", "a/b", "a?b", "../x", "a b"] {
            assert!(check_tenant(bad, "t").is_err(), "{bad}");
        }
    }
}
