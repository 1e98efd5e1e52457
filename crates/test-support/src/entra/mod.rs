//! A fake Microsoft Entra ID for tests, on 127.0.0.1 only: the v2 token endpoint over
//! HTTPS (a test CA), checking form fields and verifying certificate assertions; the
//! managed identity endpoints (IMDS and App Service) over plain HTTP; RS256 access tokens
//! with a chosen lifetime; scripted faults (statuses, slow replies, AADSTS errors,
//! outages).
//!
//! Its keys are the checked-in, **test-only** RSA keys under `fixtures/` (they protect
//! nothing; see the note at the top of each file). Certificates are made from them at
//! start.

mod client_credentials;
mod keys;
mod routes;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::signature::RsaKeyPair;
use serde_json::Value as Json;
use tokio::net::TcpListener;

use keys::{mint, pem_der, pkcs8_der, self_signed, sign_claims};
use routes::serve;

/// The token-signing key (what the emulator's `Validate` mode trusts, by its certificate).
pub const SIGNING_KEY_PEM: &str = include_str!("../../fixtures/entra-test-only-key.pem");
/// The token-signing key's public half, as a `PUBLIC KEY` (SubjectPublicKeyInfo) PEM.
pub const SIGNING_PUBLIC_KEY_PEM: &str = include_str!("../../fixtures/entra-test-only-public.pem");
/// The fixture service principal's certificate key (the client certificate credential).
pub const CLIENT_KEY_PEM: &str = include_str!("../../fixtures/client-test-only-key.pem");
/// The fixture service principal's certificate.
pub const CLIENT_CERT_PEM: &str = include_str!("../../fixtures/client-test-only-cert.pem");
/// Its key and certificate as PKCS#12 (AES-256), password [`CLIENT_PFX_PASSWORD`].
pub const CLIENT_PFX: &[u8] = include_bytes!("../../fixtures/client-test-only.pfx");
/// The same with the legacy 3DES/RC2 encryption.
pub const CLIENT_PFX_LEGACY: &[u8] = include_bytes!("../../fixtures/client-test-only-legacy.pfx");
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
    /// The resource asked for (`https://eventhubs.azure.net`, `https://storage.azure.com`),
    /// or `-` when the request was refused before that was read.
    pub resource: String,
}

/// The resources the service issues tokens for.
pub const RESOURCES: [&str; 2] = ["https://eventhubs.azure.net", "https://storage.azure.com"];

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

        let server = crate::test_ca::loopback_certificate("fake entra test CA");
        let tls = tokio_rustls::TlsAcceptor::from(Arc::new(
            tokio_rustls::rustls::ServerConfig::builder_with_provider(Arc::new(
                tokio_rustls::rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .expect("protocols")
            .with_no_client_auth()
            .with_single_cert(
                vec![server.cert_der.clone().into()],
                tokio_rustls::rustls::pki_types::PrivateKeyDer::Pkcs8(server.key_der.into()),
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
            ca_pem: server.ca_pem,
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

    /// The environment of a service principal signing in here with its secret
    /// (`AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`, `AZURE_AUTHORITY_HOST`),
    /// for a child process.
    pub fn service_principal_env(&self) -> [(&'static str, String); 4] {
        let c = &self.state.config;
        [
            ("AZURE_TENANT_ID", c.tenant.clone()),
            ("AZURE_CLIENT_ID", c.client_id.clone()),
            ("AZURE_CLIENT_SECRET", c.client_secret.clone()),
            ("AZURE_AUTHORITY_HOST", self.authority_host()),
        ]
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
        sign_claims(&self.state.signing, claims)
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

/// A JWT with exactly these claims, signed with the token-signing key
/// ([`SIGNING_KEY_PEM`]) without a running service: for seeds and validator tests.
///
/// # Panics
/// If the fixture key cannot be read (it is checked in).
pub fn sign_with_test_key(claims: &Json) -> String {
    let signing = RsaKeyPair::from_pkcs8(&pkcs8_der(SIGNING_KEY_PEM)).expect("signing key");
    sign_claims(&signing, claims)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
