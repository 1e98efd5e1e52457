//! A fake Microsoft Entra ID for tests, on 127.0.0.1 only: the v2 token endpoint over
//! HTTPS (a test CA), checking form fields and verifying certificate assertions; the
//! managed identity endpoints (IMDS and App Service) over plain HTTP; RS256 access tokens
//! with a chosen lifetime; scripted faults (statuses, slow replies, AADSTS errors,
//! outages).
//!
//! Its keys are the checked-in, **test-only** RSA keys under `fixtures/` (they protect
//! nothing; see the note at the top of each file). Certificates are made from them at
//! start.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use ring::signature::{
    RsaKeyPair, UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256,
};
use serde_json::{json, Value as Json};
use tokio::net::TcpListener;

/// The token-signing key (what the emulator's `Validate` mode trusts, by its certificate).
pub const SIGNING_KEY_PEM: &str = include_str!("../fixtures/entra-test-only-key.pem");
/// The token-signing key's public half, as a `PUBLIC KEY` (SubjectPublicKeyInfo) PEM.
pub const SIGNING_PUBLIC_KEY_PEM: &str = include_str!("../fixtures/entra-test-only-public.pem");
/// The fixture service principal's certificate key (the client certificate credential).
pub const CLIENT_KEY_PEM: &str = include_str!("../fixtures/client-test-only-key.pem");
/// The fixture service principal's certificate.
pub const CLIENT_CERT_PEM: &str = include_str!("../fixtures/client-test-only-cert.pem");
/// Its key and certificate as PKCS#12 (AES-256), password [`CLIENT_PFX_PASSWORD`].
pub const CLIENT_PFX: &[u8] = include_bytes!("../fixtures/client-test-only.pfx");
/// The same with the legacy 3DES/RC2 encryption.
pub const CLIENT_PFX_LEGACY: &[u8] = include_bytes!("../fixtures/client-test-only-legacy.pfx");
/// The password of both PKCS#12 fixtures.
pub const CLIENT_PFX_PASSWORD: &str = "test-only-password";

/// Who may get tokens, and how long they live.
#[derive(Debug, Clone)]
pub struct EntraConfig {
    /// The tenant the token endpoint serves (`/{tenant}/oauth2/v2.0/token`).
    pub tenant: String,
    /// The app registration's client id.
    pub client_id: String,
    /// Its client secret.
    pub client_secret: String,
    /// The federated (workload identity) token it accepts as an assertion.
    pub federated_token: String,
    /// The `X-IDENTITY-HEADER` the App Service route requires.
    pub identity_header: String,
    /// Lifetime of minted access tokens.
    pub token_lifetime: Duration,
    /// The `aud` of minted tokens.
    pub audience: String,
}

impl Default for EntraConfig {
    fn default() -> Self {
        Self {
            tenant: "00000000-0000-0000-0000-0000000000aa".into(),
            client_id: "11111111-1111-1111-1111-1111111111bb".into(),
            client_secret: "test-only-secret".into(),
            federated_token: "test-only-federated-token".into(),
            identity_header: "test-only-identity-header".into(),
            token_lifetime: Duration::from_secs(3600),
            audience: "https://eventhubs.azure.net".into(),
        }
    }
}

/// A scripted misbehaviour for the next request (any route).
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer with this status and an empty JSON body.
    Status(u16),
    /// Wait this long, then answer normally.
    Slow(Duration),
    /// An Entra error body (`{"error": ..., "error_description": "AADSTS<code>: ..."}`).
    Aadsts {
        /// The HTTP status.
        status: u16,
        /// `error`, e.g. `invalid_client`.
        error: String,
        /// The AADSTS number.
        code: u32,
    },
}

/// One request the service answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served {
    /// `token`, `imds` or `app_service`.
    pub route: &'static str,
    /// The grant: `secret`, `certificate`, `federated`, `managed`.
    pub grant: &'static str,
    /// The status sent.
    pub status: u16,
}

#[derive(Debug)]
struct State {
    config: EntraConfig,
    signing: RsaKeyPair,
    client_public: Vec<u8>,
    client_thumbprint: String,
    token_url: String,
    faults: Mutex<VecDeque<Fault>>,
    outage_until: Mutex<Option<std::time::Instant>>,
    served: Mutex<Vec<Served>>,
}

/// The running fake; stops when dropped.
#[derive(Debug)]
pub struct FakeEntra {
    state: Arc<State>,
    https: SocketAddr,
    http: SocketAddr,
    ca_pem: String,
    signing_cert_pem: String,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for FakeEntra {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl FakeEntra {
    /// Starts the service on two loopback ports (HTTPS for login, HTTP for managed identity).
    ///
    /// # Panics
    /// If the fixtures cannot be read or a port cannot be bound (test setup).
    pub async fn start(config: EntraConfig) -> Self {
        let signing = RsaKeyPair::from_pkcs8(&pkcs8_der(SIGNING_KEY_PEM)).expect("signing key");
        let client = RsaKeyPair::from_pkcs8(&pkcs8_der(CLIENT_KEY_PEM)).expect("client key");
        let signing_cert_pem = self_signed(SIGNING_KEY_PEM, "fake entra token signing").pem();
        let client_thumbprint = URL_SAFE_NO_PAD.encode(
            ring::digest::digest(
                &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
                &pem_der(CLIENT_CERT_PEM, "CERTIFICATE"),
            )
            .as_ref(),
        );

        let ca_key = rcgen::KeyPair::generate().expect("ca key");
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("ca");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "fake entra test CA");
        let ca_cert = ca_params.self_signed(&ca_key).expect("ca cert");
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let server_key = rcgen::KeyPair::generate().expect("server key");
        let server_cert =
            rcgen::CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])
                .expect("server params")
                .signed_by(&server_key, &issuer)
                .expect("server cert");
        let tls = tokio_rustls::TlsAcceptor::from(Arc::new(
            tokio_rustls::rustls::ServerConfig::builder_with_provider(Arc::new(
                tokio_rustls::rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .expect("protocols")
            .with_no_client_auth()
            .with_single_cert(
                vec![server_cert.der().clone()],
                tokio_rustls::rustls::pki_types::PrivateKeyDer::Pkcs8(
                    server_key.serialize_der().into(),
                ),
            )
            .expect("server config"),
        ));

        let https_listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let http_listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let https = https_listener.local_addr().expect("addr");
        let http = http_listener.local_addr().expect("addr");
        let token_url = format!(
            "https://localhost:{}/{}/oauth2/v2.0/token",
            https.port(),
            config.tenant
        );
        let state = Arc::new(State {
            config,
            signing,
            client_public: client.public().as_ref().to_vec(),
            client_thumbprint,
            token_url,
            faults: Mutex::default(),
            outage_until: Mutex::default(),
            served: Mutex::default(),
        });
        let tasks = vec![
            tokio::spawn(serve(https_listener, Some(tls), state.clone())),
            tokio::spawn(serve(http_listener, None, state.clone())),
        ];
        Self {
            state,
            https,
            http,
            ca_pem: ca_cert.pem(),
            signing_cert_pem,
            tasks,
        }
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &EntraConfig {
        &self.state.config
    }

    /// The authority host (`https://localhost:<port>/`), for `AZURE_AUTHORITY_HOST` or a
    /// custom cloud.
    pub fn authority_host(&self) -> String {
        format!("https://localhost:{}/", self.https.port())
    }

    /// The HTTPS port's address.
    pub fn https_addr(&self) -> SocketAddr {
        self.https
    }

    /// The managed identity base (`http://127.0.0.1:<port>`), for
    /// `AZURE_POD_IDENTITY_AUTHORITY_HOST` (the IMDS route is below it).
    pub fn imds_host(&self) -> String {
        format!("http://127.0.0.1:{}", self.http.port())
    }

    /// The App Service endpoint, for `IDENTITY_ENDPOINT`.
    pub fn identity_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}/msi/token", self.http.port())
    }

    /// The test CA (PEM) that signed the HTTPS certificate.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The token-signing certificate (PEM): the emulator's `Validate` key.
    pub fn signing_cert_pem(&self) -> &str {
        &self.signing_cert_pem
    }

    /// Queues faults for the next requests, one each.
    pub fn script(&self, faults: impl IntoIterator<Item = Fault>) {
        lock(&self.state.faults).extend(faults);
    }

    /// Every request fails with 503 for `duration` from now.
    pub fn outage(&self, duration: Duration) {
        *lock(&self.state.outage_until) = Some(std::time::Instant::now() + duration);
    }

    /// The requests answered so far.
    pub fn served(&self) -> Vec<Served> {
        lock(&self.state.served).clone()
    }

    /// Tokens issued so far (successful answers).
    pub fn tokens_issued(&self) -> usize {
        self.served().iter().filter(|s| s.status == 200).count()
    }

    /// A JWT with exactly these claims, signed as the service signs its tokens (for tests
    /// of what a validator does with odd ones).
    pub fn sign_claims(&self, claims: &Json) -> String {
        sign_claims(&self.state, claims)
    }

    /// Seconds since the Unix epoch now, for building claims.
    pub fn now_secs() -> u64 {
        now_secs()
    }

    /// Mints an access token as the service would, with `lifetime` and `audience`
    /// (`nbf` now).
    pub fn mint(&self, audience: &str, lifetime: Duration) -> String {
        mint(&self.state, audience, now_secs(), lifetime)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn pkcs8_der(pem: &str) -> Vec<u8> {
    pem_der(pem, "PRIVATE KEY")
}

fn pem_der(pem: &str, label: &str) -> Vec<u8> {
    let begin = format!("-----BEGIN {label}-----");
    let body: String = pem
        .lines()
        .skip_while(|l| !l.starts_with(&begin))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    STANDARD.decode(body).expect("fixture base64")
}

fn self_signed(key_pem: &str, name: &str) -> rcgen::Certificate {
    let key = rcgen::KeyPair::from_pkcs8_pem_and_sign_algo(key_pem, &rcgen::PKCS_RSA_SHA256)
        .expect("fixture key");
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    params.self_signed(&key).expect("fixture certificate")
}

fn mint(state: &State, audience: &str, now: u64, lifetime: Duration) -> String {
    let claims = json!({
        "aud": audience,
        "iss": format!("https://sts.windows.net/{}/", state.config.tenant),
        "iat": now,
        "nbf": now,
        "exp": now + lifetime.as_secs(),
        "appid": state.config.client_id,
        "tid": state.config.tenant,
    });
    sign_claims(state, &claims)
}

/// An RS256 JWT of `claims`, signed with the token-signing key.
fn sign_claims(state: &State, claims: &Json) -> String {
    let header = json!({"alg": "RS256", "typ": "JWT", "kid": "fake-entra"});
    let signed = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut signature = vec![0; state.signing.public().modulus_len()];
    state
        .signing
        .sign(
            &RSA_PKCS1_SHA256,
            &ring::rand::SystemRandom::new(),
            signed.as_bytes(),
            &mut signature,
        )
        .expect("sign");
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature))
}

async fn serve(listener: TcpListener, tls: Option<tokio_rustls::TlsAcceptor>, state: Arc<State>) {
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
    let record = |grant: &'static str, status: u16| {
        lock(&state.served).push(Served {
            route,
            grant,
            status,
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
                            "access_token": mint(state, &state.config.audience, now, lifetime),
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
            let resource = query.get("resource").map(String::as_str);
            let header_ok = if route == "imds" {
                headers.get("metadata").and_then(|v| v.to_str().ok()) == Some("true")
            } else {
                headers
                    .get("x-identity-header")
                    .and_then(|v| v.to_str().ok())
                    == Some(state.config.identity_header.as_str())
            };
            let version_ok = query.get("api-version").is_some_and(|v| !v.is_empty());
            if !header_ok || !version_ok || resource != Some("https://eventhubs.azure.net") {
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
                    "access_token": mint(state, &state.config.audience, now, lifetime),
                    "expires_in": lifetime.as_secs().to_string(),
                    "expires_on": (now + lifetime.as_secs()).to_string(),
                    "not_before": now.to_string(),
                    "resource": "https://eventhubs.azure.net",
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

/// Why a token request was refused: an AADSTS error.
struct Refusal {
    status: u16,
    error: &'static str,
    code: u32,
    description: String,
}

/// Checks a client-credentials request as Entra does; returns the grant kind and the
/// refusal, if any.
fn check_token_request(
    state: &State,
    method: &hyper::Method,
    path: &str,
    body: &[u8],
    now: u64,
) -> (&'static str, Result<(), Refusal>) {
    let c = &state.config;
    let form: HashMap<String, String> = form_urlencoded::parse(body).into_owned().collect();
    let field = |name: &str| form.get(name).map(String::as_str);
    let grant = if form.contains_key("client_secret") {
        "secret"
    } else if field("client_assertion") == Some(c.federated_token.as_str()) {
        "federated"
    } else {
        "certificate"
    };
    let refuse = |status, error, code, description: &str| {
        Err(Refusal {
            status,
            error,
            code,
            description: description.to_owned(),
        })
    };
    if *method != hyper::Method::POST {
        return (
            grant,
            refuse(
                405,
                "invalid_request",
                900561,
                "the endpoint only accepts POST requests",
            ),
        );
    }
    if path != format!("/{}/oauth2/v2.0/token", c.tenant) {
        return (
            grant,
            refuse(400, "invalid_request", 90002, "Tenant not found."),
        );
    }
    if field("grant_type") != Some("client_credentials") {
        return (
            grant,
            refuse(
                400,
                "unsupported_grant_type",
                70003,
                "grant_type must be client_credentials",
            ),
        );
    }
    if field("client_id") != Some(c.client_id.as_str()) {
        return (
            grant,
            refuse(
                400,
                "unauthorized_client",
                700016,
                "Application not found in the directory.",
            ),
        );
    }
    if field("scope") != Some("https://eventhubs.azure.net/.default") {
        return (
            grant,
            refuse(
                400,
                "invalid_scope",
                70011,
                "The provided value for the input parameter 'scope' is not valid.",
            ),
        );
    }
    let outcome = match grant {
        "secret" if field("client_secret") == Some(c.client_secret.as_str()) => Ok(()),
        "secret" => refuse(
            401,
            "invalid_client",
            7000215,
            "Invalid client secret provided.",
        ),
        "federated" => Ok(()),
        _ => {
            if field("client_assertion_type")
                != Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
            {
                refuse(
                    400,
                    "invalid_request",
                    900144,
                    "client_assertion_type is missing or wrong",
                )
            } else {
                match check_assertion(state, field("client_assertion").unwrap_or_default(), now) {
                    Ok(()) => Ok(()),
                    Err(why) => refuse(401, "invalid_client", 700027, &why),
                }
            }
        }
    };
    (grant, outcome)
}

/// Verifies a certificate assertion: RS256 by the fixture client key, `x5t` its
/// certificate's thumbprint, `aud` the token URL, `iss` = `sub` = the client id, a `jti`,
/// and a current validity window.
fn check_assertion(state: &State, assertion: &str, now: u64) -> Result<(), String> {
    let parts: Vec<&str> = assertion.split('.').collect();
    let [header, claims, signature] = parts[..] else {
        return Err("the assertion is not a JWT".into());
    };
    let decode = |p: &str| -> Result<Json, String> {
        let bytes = URL_SAFE_NO_PAD
            .decode(p)
            .map_err(|e| format!("not base64url: {e}"))?;
        serde_json::from_slice(&bytes).map_err(|e| format!("not JSON: {e}"))
    };
    let (header, claims) = (decode(header)?, decode(claims)?);
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|e| format!("signature not base64url: {e}"))?;
    if header["alg"] != "RS256" || header["typ"] != "JWT" {
        return Err(format!("unexpected header {header}"));
    }
    if header["x5t"] != state.client_thumbprint.as_str() {
        return Err("x5t is not the registered certificate's thumbprint".into());
    }
    let signed = &assertion[..assertion.rfind('.').unwrap_or(0)];
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &state.client_public)
        .verify(signed.as_bytes(), &signature)
        .map_err(|_| {
            "the assertion's signature does not verify with the registered certificate".to_owned()
        })?;
    let id = state.config.client_id.as_str();
    if claims["aud"] != state.token_url.as_str() {
        return Err(format!("aud {} is not {}", claims["aud"], state.token_url));
    }
    if claims["iss"] != id || claims["sub"] != id {
        return Err("iss and sub must be the client id".into());
    }
    if !claims["jti"].is_string() {
        return Err("no jti".into());
    }
    let (nbf, exp) = (
        claims["nbf"].as_u64().unwrap_or(u64::MAX),
        claims["exp"].as_u64().unwrap_or(0),
    );
    if nbf > now + 60 || exp <= now || exp > now + 3600 {
        return Err(format!("bad validity window nbf={nbf} exp={exp} now={now}"));
    }
    Ok(())
}
