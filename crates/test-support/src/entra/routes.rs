//! The fake's HTTP side: one accept loop per port (TLS or plain), and the routes: the v2
//! token endpoint, IMDS and App Service managed identity, scripted faults and outages.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value as Json};
use tokio::net::TcpListener;

use super::client_credentials::check_token_request;
use super::keys::mint;
use super::{lock, now_secs, Fault, Served, State, RESOURCES};

pub(super) async fn serve(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    state: Arc<State>,
) {
    while let Ok((tcp, _)) = listener.accept().await {
        let (tls, state) = (tls.clone(), state.clone());
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let state = state.clone();
                async move { Ok::<_, std::convert::Infallible>(answer(&state, req).await) }
            });
            let http = hyper::server::conn::http1::Builder::new();
            match tls {
                Some(tls) => {
                    if let Ok(Ok(stream)) =
                        tokio::time::timeout(Duration::from_secs(10), tls.accept(tcp)).await
                    {
                        let _ = http.serve_connection(TokioIo::new(stream), service).await;
                    }
                }
                None => {
                    let _ = http.serve_connection(TokioIo::new(tcp), service).await;
                }
            }
        });
    }
}

type Reply = Response<Full<Bytes>>;

fn reply(status: u16, body: &Json) -> Reply {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap_or_default()
}

fn aadsts(status: u16, error: &str, code: u32, description: &str) -> Reply {
    reply(
        status,
        &json!({
            "error": error,
            "error_description": format!("AADSTS{code}: {description}"),
            "error_codes": [code],
            "trace_id": "fake",
            "correlation_id": "fake",
        }),
    )
}

async fn answer(state: &State, req: Request<hyper::body::Incoming>) -> Reply {
    let path = req.uri().path().to_owned();
    let query: HashMap<String, String> = req
        .uri()
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let headers = req.headers().clone();
    let method = req.method().clone();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();

    let route = if path.ends_with("/oauth2/v2.0/token") {
        "token"
    } else if path == "/metadata/identity/oauth2/token" {
        "imds"
    } else if path == "/msi/token" {
        "app_service"
    } else {
        "unknown"
    };
    // The resource asked for: the token route's scope less `/.default`, the managed
    // identity routes' `resource`.
    let resource = if route == "token" {
        form_urlencoded::parse(&body)
            .find(|(k, _)| k == "scope")
            .map(|(_, v)| v.trim_end_matches("/.default").to_owned())
    } else {
        query.get("resource").cloned()
    }
    .unwrap_or_else(|| "-".to_owned());
    // Storage tokens carry the storage audience; Event Hubs tokens the configured one (a
    // test may configure a wrong one).
    let audience = if resource == RESOURCES[1] {
        RESOURCES[1]
    } else {
        state.config.audience.as_str()
    };
    let record = |grant: &'static str, status: u16| {
        lock(&state.served).push(Served {
            route,
            grant,
            status,
            resource: resource.clone(),
        });
    };
    let outage = lock(&state.outage_until).is_some_and(|until| std::time::Instant::now() < until);
    if outage {
        record("-", 503);
        return reply(503, &json!({"error": "temporarily_unavailable"}));
    }
    let fault = lock(&state.faults).pop_front();
    match fault {
        Some(Fault::Status(status)) => {
            record("-", status);
            return reply(status, &json!({}));
        }
        Some(Fault::Aadsts {
            status,
            error,
            code,
            ..
        }) => {
            record("-", status);
            return aadsts(
                status,
                &error,
                code,
                "scripted failure of the fake token service",
            );
        }
        Some(Fault::Slow(d)) => tokio::time::sleep(d).await,
        None => {}
    }
    let lifetime = state.config.token_lifetime;
    let now = now_secs();
    match route {
        "token" => {
            let (grant, outcome) = check_token_request(state, &method, &path, &body, now);
            match outcome {
                Ok(()) => {
                    record(grant, 200);
                    reply(
                        200,
                        &json!({
                            "token_type": "Bearer",
                            "expires_in": lifetime.as_secs(),
                            "ext_expires_in": lifetime.as_secs(),
                            "access_token": mint(state, audience, now, lifetime),
                        }),
                    )
                }
                Err(r) => {
                    record(grant, r.status);
                    aadsts(r.status, r.error, r.code, &r.description)
                }
            }
        }
        "imds" | "app_service" => {
            let header_ok = if route == "imds" {
                headers.get("metadata").and_then(|v| v.to_str().ok()) == Some("true")
            } else {
                headers
                    .get("x-identity-header")
                    .and_then(|v| v.to_str().ok())
                    == Some(state.config.identity_header.as_str())
            };
            let version_ok = query.get("api-version").is_some_and(|v| !v.is_empty());
            if !header_ok || !version_ok || !RESOURCES.contains(&resource.as_str()) {
                record("managed", 400);
                return reply(
                    400,
                    &json!({"error": "invalid_request", "error_description": "bad managed identity request (header, api-version or resource)"}),
                );
            }
            if let Some(id) = query.get("client_id") {
                if *id != state.config.client_id {
                    record("managed", 400);
                    return reply(
                        400,
                        &json!({"error": "invalid_request", "error_description": "Identity not found"}),
                    );
                }
            }
            record("managed", 200);
            // Both routes send the numbers as strings.
            reply(
                200,
                &json!({
                    "access_token": mint(state, audience, now, lifetime),
                    "expires_in": lifetime.as_secs().to_string(),
                    "expires_on": (now + lifetime.as_secs()).to_string(),
                    "not_before": now.to_string(),
                    "resource": resource,
                    "token_type": "Bearer",
                }),
            )
        }
        _ => {
            record("-", 404);
            reply(404, &json!({"error": "not_found"}))
        }
    }
}
