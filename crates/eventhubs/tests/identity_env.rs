//! Entra ID from the environment: `EnvironmentCredential::from_env` picks the credential
//! each combination of `AZURE_*` variables describes (and gets a token from the fake token
//! service with it), errors name the missing variable, and `ProducerClient::from_env` /
//! `Hub::from_env` (the Go `NewHubFromEnvironment`) send and receive with Entra ID alone.
//! The tests change process-wide variables, so they take turns.

use std::path::PathBuf;
use std::time::Duration;

use eventhubs::identity::{CredentialOptions, EnvironmentCredential, EnvironmentSource};
use eventhubs::{
    ClientOptions, ConsumerClient, ErrorKind, Hub, HubOptions, PartitionReceiverOptions,
    ProducerClient, SendEventOptions, StartPosition, TokenProvider, DEFAULT_CONSUMER_GROUP,
};
use eventhubs_amqp_io::TlsServerConfig;
use eventhubs_emulator::Emulator;
use eventhubs_test_support::entra::{self, EntraConfig, FakeEntra};

mod common;
use common::entra::{credential_options, validating_config};

/// Every variable these tests touch; each test starts with none of them set.
const VARS: [&str; 16] = [
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_CERTIFICATE_PATH",
    "AZURE_CERTIFICATE_PASSWORD",
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_CLIENT_CERTIFICATE_PASSWORD",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_POD_IDENTITY_AUTHORITY_HOST",
    "AZURE_AUTHORITY_HOST",
    "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
    "EVENTHUB_NAMESPACE",
    "EVENTHUB_NAME",
    "EVENTHUB_CONNECTION_STRING",
    "SSL_CERT_FILE",
];

static ENV: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Clears [`VARS`], then sets `vars`.
fn set_env(vars: &[(&str, &str)]) {
    for v in VARS {
        std::env::remove_var(v);
    }
    for (k, v) in vars {
        std::env::set_var(k, v);
    }
}

struct Fixture {
    entra: FakeEntra,
    dir: PathBuf,
}

impl Fixture {
    async fn start() -> Self {
        let entra = FakeEntra::start(EntraConfig::default()).await;
        let dir = std::env::temp_dir().join(format!(
            "eh-identity-env-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self { entra, dir }
    }

    fn file(&self, name: &str, contents: &[u8]) -> String {
        let path = self.dir.join(name);
        std::fs::write(&path, contents).unwrap();
        path.display().to_string()
    }

    fn options(&self) -> CredentialOptions {
        credential_options(&self.entra)
    }

    /// The credential the environment picks, its kind, and which grant the fake served.
    async fn pick(&self, vars: &[(&str, &str)]) -> (EnvironmentSource, &'static str) {
        set_env(vars);
        let credential = EnvironmentCredential::from_env(self.options())
            .unwrap_or_else(|e| panic!("{vars:?}: {e}"));
        set_env(&[]);
        let before = self.entra.served().len();
        credential
            .get_token("sb://localhost/eh1")
            .await
            .unwrap_or_else(|e| panic!("{vars:?}: {e}"));
        let served = self.entra.served();
        assert_eq!(served.len(), before + 1, "{served:?}");
        (credential.source(), served[before].grant)
    }

    fn refused(&self, vars: &[(&str, &str)]) -> String {
        set_env(vars);
        let e = EnvironmentCredential::from_env(self.options()).unwrap_err();
        set_env(&[]);
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
        e.to_string()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test]
async fn from_env_picks_the_credential_the_variables_describe() {
    let _turn = ENV.lock().await;
    let f = Fixture::start().await;
    let c = f.entra.config().clone();
    let (tenant, client) = (c.tenant.as_str(), c.client_id.as_str());
    let imds = f.entra.imds_host();
    let pem = f.file(
        "app.pem",
        format!("{}{}", entra::CLIENT_CERT_PEM, entra::CLIENT_KEY_PEM).as_bytes(),
    );
    let federated = f.file("federated-token", c.federated_token.as_bytes());

    let secret = [
        ("AZURE_TENANT_ID", tenant),
        ("AZURE_CLIENT_ID", client),
        ("AZURE_CLIENT_SECRET", c.client_secret.as_str()),
    ];
    assert_eq!(
        f.pick(&secret).await,
        (EnvironmentSource::ClientSecret, "secret")
    );

    let certificate = [
        ("AZURE_TENANT_ID", tenant),
        ("AZURE_CLIENT_ID", client),
        ("AZURE_CERTIFICATE_PATH", pem.as_str()),
    ];
    assert_eq!(
        f.pick(&certificate).await,
        (EnvironmentSource::ClientCertificate, "certificate")
    );
    // azidentity's names for the same.
    let certificate2 = [
        ("AZURE_TENANT_ID", tenant),
        ("AZURE_CLIENT_ID", client),
        ("AZURE_CLIENT_CERTIFICATE_PATH", pem.as_str()),
    ];
    assert_eq!(
        f.pick(&certificate2).await,
        (EnvironmentSource::ClientCertificate, "certificate")
    );

    let workload = [
        ("AZURE_TENANT_ID", tenant),
        ("AZURE_CLIENT_ID", client),
        ("AZURE_FEDERATED_TOKEN_FILE", federated.as_str()),
    ];
    assert_eq!(
        f.pick(&workload).await,
        (EnvironmentSource::WorkloadIdentity, "federated")
    );

    // Nothing but the IMDS address: the system-assigned managed identity; with
    // AZURE_CLIENT_ID, the user-assigned one it names (as Go does).
    let system = [("AZURE_POD_IDENTITY_AUTHORITY_HOST", imds.as_str())];
    assert_eq!(
        f.pick(&system).await,
        (EnvironmentSource::ManagedIdentity, "managed")
    );
    let user = [
        ("AZURE_POD_IDENTITY_AUTHORITY_HOST", imds.as_str()),
        ("AZURE_CLIENT_ID", client),
    ];
    assert_eq!(
        f.pick(&user).await,
        (EnvironmentSource::ManagedIdentity, "managed")
    );
    // ... and App Service's endpoint when it is there.
    let app = [
        ("IDENTITY_ENDPOINT", f.entra.identity_endpoint()),
        ("IDENTITY_HEADER", c.identity_header.clone()),
    ];
    let app: Vec<(&str, &str)> = app.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(
        f.pick(&app).await,
        (EnvironmentSource::ManagedIdentity, "managed")
    );
    assert!(f
        .entra
        .served()
        .iter()
        .any(|s| s.route == "app_service" && s.status == 200));

    // Precedence: the secret over a certificate over workload identity.
    let all = [&secret[..], &certificate[2..], &workload[2..]].concat();
    assert_eq!(f.pick(&all).await.0, EnvironmentSource::ClientSecret);
    let no_secret = [&certificate[..], &workload[2..]].concat();
    assert_eq!(
        f.pick(&no_secret).await.0,
        EnvironmentSource::ClientCertificate
    );
}

#[tokio::test]
async fn from_env_errors_name_the_missing_variable() {
    let _turn = ENV.lock().await;
    let f = Fixture::start().await;
    let c = f.entra.config().clone();
    let (tenant, client) = (c.tenant.as_str(), c.client_id.as_str());
    let cases: [(&[(&str, &str)], &str); 7] = [
        (
            &[("AZURE_CLIENT_SECRET", "s"), ("AZURE_CLIENT_ID", client)],
            "AZURE_CLIENT_SECRET is set but AZURE_TENANT_ID is not",
        ),
        (
            &[("AZURE_CLIENT_SECRET", "s"), ("AZURE_TENANT_ID", tenant)],
            "AZURE_CLIENT_SECRET is set but AZURE_CLIENT_ID is not",
        ),
        (
            &[
                ("AZURE_CERTIFICATE_PATH", "/nope.pem"),
                ("AZURE_CLIENT_ID", client),
            ],
            "AZURE_CERTIFICATE_PATH is set but AZURE_TENANT_ID is not",
        ),
        (
            &[
                ("AZURE_CERTIFICATE_PATH", "/nope.pem"),
                ("AZURE_CLIENT_ID", client),
                ("AZURE_TENANT_ID", tenant),
            ],
            "AZURE_CERTIFICATE_PATH=/nope.pem: cannot read it",
        ),
        (
            &[
                ("AZURE_FEDERATED_TOKEN_FILE", "/t"),
                ("AZURE_TENANT_ID", tenant),
            ],
            "AZURE_FEDERATED_TOKEN_FILE is set but AZURE_CLIENT_ID is not",
        ),
        (
            &[
                ("AZURE_CLIENT_SECRET", "s"),
                ("AZURE_CLIENT_ID", client),
                ("AZURE_TENANT_ID", "a/../b"),
            ],
            "is not a tenant id",
        ),
        (
            &[
                ("AZURE_CLIENT_SECRET", "s"),
                ("AZURE_CLIENT_ID", client),
                ("AZURE_TENANT_ID", tenant),
                ("SSL_CERT_FILE", "/no/such/bundle.pem"),
            ],
            "SSL_CERT_FILE=/no/such/bundle.pem",
        ),
    ];
    for (vars, expected) in cases {
        let text = f.refused(vars);
        assert!(text.contains(expected), "{vars:?}: {text}");
        assert!(
            !text.contains("=s;") && !text.contains(": s"),
            "no secret: {text}"
        );
    }
    // A PKCS#12 file: read with the `pkcs12` feature, else the error says so.
    let pfx = f.file("app.pfx", entra::CLIENT_PFX);
    let vars = [
        ("AZURE_TENANT_ID", tenant),
        ("AZURE_CLIENT_ID", client),
        ("AZURE_CERTIFICATE_PATH", pfx.as_str()),
        ("AZURE_CERTIFICATE_PASSWORD", entra::CLIENT_PFX_PASSWORD),
    ];
    if cfg!(feature = "pkcs12") {
        assert_eq!(
            f.pick(&vars).await,
            (EnvironmentSource::ClientCertificate, "certificate")
        );
    } else {
        assert!(f.refused(&vars).contains("`pkcs12` feature"));
    }
}

/// The emulator over TLS with a certificate for the namespace name, validating the fake's
/// JWTs; its certificate and the fake's CA in one bundle for `SSL_CERT_FILE`.
async fn tls_emulator(f: &Fixture) -> (Emulator, String) {
    let ck =
        rcgen::generate_simple_self_signed(vec!["ns.servicebus.windows.net".to_owned()]).unwrap();
    let tls = TlsServerConfig::from_pem(
        ck.cert.pem().as_bytes(),
        ck.signing_key.serialize_pem().as_bytes(),
    )
    .unwrap();
    let emulator = Emulator::start_with_tls(validating_config(&f.entra), tls)
        .await
        .unwrap();
    let bundle = f.file(
        "roots.pem",
        format!("{}{}", ck.cert.pem(), f.entra.ca_pem()).as_bytes(),
    );
    (emulator, bundle)
}

#[tokio::test]
async fn clients_from_env_authorize_with_entra_id() {
    let _turn = ENV.lock().await;
    let f = Fixture::start().await;
    let (emulator, bundle) = tls_emulator(&f).await;
    let tls_addr = emulator.tls_addr().unwrap().to_string();
    let c = f.entra.config().clone();
    let authority = f.entra.authority_host();
    // What a deployment sets: a short namespace name (completed with the cloud's suffix),
    // the hub, the service principal, and here the fake's authority and test roots.
    set_env(&[
        ("EVENTHUB_NAMESPACE", "ns"),
        ("EVENTHUB_NAME", "eh1"),
        ("AZURE_TENANT_ID", &c.tenant),
        ("AZURE_CLIENT_ID", &c.client_id),
        ("AZURE_CLIENT_SECRET", &c.client_secret),
        ("AZURE_AUTHORITY_HOST", &authority),
        ("SSL_CERT_FILE", &bundle),
    ]);
    let options = ClientOptions::default()
        .custom_endpoint(tls_addr.clone())
        .operation_timeout(Duration::from_secs(10));
    let producer = ProducerClient::from_env(options.clone());
    let consumer = ConsumerClient::from_env(DEFAULT_CONSUMER_GROUP, options);
    let hub = Hub::from_env(HubOptions::default().custom_endpoint(tls_addr));
    set_env(&[]);
    let (producer, consumer, hub) = (producer.unwrap(), consumer.unwrap(), hub.unwrap());

    producer
        .send_events(["from env"], SendEventOptions::default().partition_id("3"))
        .await
        .unwrap();
    hub.send_to_partition("3", "from the hub").await.unwrap();
    let mut receiver = consumer
        .open_partition_receiver(
            "3",
            PartitionReceiverOptions::default().start_position(StartPosition::earliest()),
        )
        .await
        .unwrap();
    for expected in ["from env", "from the hub"] {
        let event = tokio::time::timeout(Duration::from_secs(10), receiver.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(event.data_as_str(), Some(expected));
    }
    assert!(f
        .entra
        .served()
        .iter()
        .all(|s| s.grant == "secret" && s.status == 200));
    receiver.close().await;
    producer.close().await;
    consumer.close().await;
    hub.close().await;
    emulator.shutdown().await;
}
