//! Entra ID credentials end to end: each credential gets a token from the fake Entra ID
//! token service (HTTPS on 127.0.0.1, test CA), and the emulator, validating JWTs against
//! the service's signing certificate, authorizes sends and receives with it. Also the
//! emulator's refusals (audience, signature, expiry), the token service's errors, and token
//! requests through a proxy.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use eventhubs::identity::{
    AzureCliCredential, ClientCertificateCredential, ClientSecretCredential, CredentialOptions,
    ManagedIdentityCredential, UserAssignedId, WorkloadIdentityCredential,
};
use eventhubs::{
    ClientOptions, Cloud, ConsumerClient, ErrorKind, PartitionReceiverOptions, ProxyOptions, Token,
    TokenFuture, TokenKind, TokenProvider, DEFAULT_CONSUMER_GROUP,
};
use eventhubs_emulator::Emulator;
use eventhubs_test_support::entra::{self, EntraConfig, FakeEntra, Fault};

mod common;
use common::entra::{credential_options, round_trip, validating_emulator};

/// The fake token service and an emulator that validates its tokens.
async fn start(config: EntraConfig) -> (FakeEntra, Emulator) {
    let entra = FakeEntra::start(config).await;
    let emulator = validating_emulator(&entra).await;
    (entra, emulator)
}

/// A JWT with about `lifetime` left, never in `Debug`.
async fn check_token(provider: &dyn TokenProvider, lifetime: Duration) -> Token {
    let token = provider.get_token("sb://localhost/eh1").await.unwrap();
    assert_eq!(token.kind, TokenKind::Jwt);
    assert_eq!(token.value.split('.').count(), 3, "a JWT");
    let left = token.expires_at.duration_since(SystemTime::now()).unwrap();
    assert!(
        left <= lifetime && left + Duration::from_secs(30) >= lifetime,
        "{left:?}"
    );
    assert!(!format!("{provider:?}").contains(&token.value));
    token
}

#[tokio::test]
async fn client_secret_authorizes_sends_and_receives() {
    let (entra, emulator) = start(EntraConfig::default()).await;
    let c = entra.config().clone();
    let credential = Arc::new(
        ClientSecretCredential::new(
            &c.tenant,
            &c.client_id,
            c.client_secret.clone(),
            credential_options(&entra),
        )
        .unwrap(),
    );
    assert!(
        !format!("{credential:?}").contains(&c.client_secret),
        "secret redacted"
    );
    check_token(credential.as_ref(), c.token_lifetime).await;
    round_trip(&emulator, credential.clone(), "by secret")
        .await
        .unwrap();
    // One token served every audience and link: cached, not fetched per put-token.
    assert_eq!(entra.tokens_issued(), 1, "{:?}", entra.served());
    assert!(entra.served().iter().all(|s| s.grant == "secret"));

    // A wrong secret: the AADSTS code, Unauthorized, no SAS hint, no secret.
    let wrong = Arc::new(
        ClientSecretCredential::new(
            &c.tenant,
            &c.client_id,
            "not-the-secret",
            credential_options(&entra),
        )
        .unwrap(),
    );
    let e = round_trip(&emulator, wrong, "never").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthorized, "{e}");
    let text = e.to_string();
    assert!(text.contains("AADSTS7000215"), "{text}");
    assert!(!text.contains("SharedAccessKey"), "{text}");
    assert!(!text.contains("not-the-secret"), "{text}");
}

#[tokio::test]
async fn client_certificate_pem_authorizes_and_the_assertion_is_verified() {
    let (entra, emulator) = start(EntraConfig::default()).await;
    let c = entra.config().clone();
    let pem = format!("{}{}", entra::CLIENT_CERT_PEM, entra::CLIENT_KEY_PEM);
    let credential = Arc::new(
        ClientCertificateCredential::from_pem(
            &c.tenant,
            &c.client_id,
            pem.as_bytes(),
            credential_options(&entra),
        )
        .unwrap(),
    );
    check_token(credential.as_ref(), c.token_lifetime).await;
    round_trip(&emulator, credential, "by certificate")
        .await
        .unwrap();
    assert!(entra
        .served()
        .iter()
        .any(|s| s.grant == "certificate" && s.status == 200));

    // Another key with the registered certificate: the signature does not verify.
    let other_key = format!("{}{}", entra::CLIENT_CERT_PEM, entra::SIGNING_KEY_PEM);
    let forged = ClientCertificateCredential::from_pem(
        &c.tenant,
        &c.client_id,
        other_key.as_bytes(),
        credential_options(&entra),
    )
    .unwrap();
    let e = forged.get_token("sb://localhost/eh1").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthorized, "{e}");
    assert!(e.to_string().contains("AADSTS700027"), "{e}");
}

#[cfg(feature = "pkcs12")]
#[tokio::test]
async fn client_certificate_pkcs12_modern_and_legacy() {
    let (entra, emulator) = start(EntraConfig::default()).await;
    let c = entra.config().clone();
    for pfx in [entra::CLIENT_PFX, entra::CLIENT_PFX_LEGACY] {
        let credential = Arc::new(
            ClientCertificateCredential::from_pkcs12(
                &c.tenant,
                &c.client_id,
                pfx,
                entra::CLIENT_PFX_PASSWORD,
                credential_options(&entra),
            )
            .unwrap(),
        );
        round_trip(&emulator, credential, "by pfx").await.unwrap();
    }
    let e = ClientCertificateCredential::from_pkcs12(
        &c.tenant,
        &c.client_id,
        entra::CLIENT_PFX,
        "wrong password",
        credential_options(&entra),
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.to_string().contains("wrong password"), "{e}");
}

#[tokio::test]
async fn workload_identity_reads_the_rotating_token_file() {
    let (entra, emulator) = start(EntraConfig::default()).await;
    let c = entra.config().clone();
    let dir = tempdir();
    let file = dir.join("azure-identity-token");
    std::fs::write(&file, format!("{}\n", c.federated_token)).unwrap();
    let credential = Arc::new(
        WorkloadIdentityCredential::new(&c.tenant, &c.client_id, &file, credential_options(&entra))
            .unwrap(),
    );
    round_trip(&emulator, credential, "by workload identity")
        .await
        .unwrap();
    assert!(entra
        .served()
        .iter()
        .any(|s| s.grant == "federated" && s.status == 200));

    // The file is read on every request: a replaced, wrong token is what gets sent.
    std::fs::write(&file, "rotated-but-wrong").unwrap();
    let fresh =
        WorkloadIdentityCredential::new(&c.tenant, &c.client_id, &file, credential_options(&entra))
            .unwrap();
    let e = fresh.get_token("x").await.unwrap_err();
    assert!(e.to_string().contains("AADSTS700027"), "{e}");
    std::fs::remove_file(&file).unwrap();
    let e = fresh.get_token("x").await.unwrap_err();
    assert!(
        e.to_string()
            .contains("cannot read the federated token file"),
        "{e}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// IMDS and App Service both read their endpoints from the environment; one test sets
/// them in turn so that no other test sees them.
#[tokio::test]
async fn managed_identity_imds_and_app_service() {
    let (entra, emulator) = start(EntraConfig::default()).await;
    let c = entra.config().clone();
    // IMDS (its address overridden the way the other Azure libraries allow).
    std::env::set_var("AZURE_POD_IDENTITY_AUTHORITY_HOST", entra.imds_host());
    let system = ManagedIdentityCredential::new(credential_options(&entra)).unwrap();
    let user = ManagedIdentityCredential::user_assigned(
        UserAssignedId::ClientId(c.client_id.clone()),
        credential_options(&entra),
    )
    .unwrap();
    let unknown = ManagedIdentityCredential::user_assigned(
        UserAssignedId::ClientId("not-assigned".into()),
        credential_options(&entra),
    )
    .unwrap();
    std::env::remove_var("AZURE_POD_IDENTITY_AUTHORITY_HOST");
    round_trip(&emulator, Arc::new(system), "by imds")
        .await
        .unwrap();
    check_token(&user, c.token_lifetime).await;
    let e = unknown.get_token("x").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthorized, "{e}");
    assert!(e.to_string().contains("Identity not found"), "{e}");
    let imds: Vec<_> = entra
        .served()
        .into_iter()
        .filter(|s| s.route == "imds")
        .collect();
    assert_eq!(
        imds.iter().filter(|s| s.status == 200).count(),
        2,
        "{imds:?}"
    );
    // Asked with a scope (as the blob checkpoint store asks), the credential gets a token
    // for that resource, cached apart from the Event Hubs one.
    user.get_token("https://storage.azure.com/.default")
        .await
        .unwrap();
    let last = entra.served().pop().unwrap();
    assert_eq!(
        (last.route, last.status, last.resource.as_str()),
        ("imds", 200, "https://storage.azure.com")
    );
    check_token(&user, c.token_lifetime).await;
    let issued = entra.served().iter().filter(|s| s.status == 200).count();
    assert_eq!(issued, 3, "the Event Hubs token was still cached");

    // App Service: IDENTITY_ENDPOINT + IDENTITY_HEADER.
    std::env::set_var("IDENTITY_ENDPOINT", entra.identity_endpoint());
    std::env::set_var("IDENTITY_HEADER", &c.identity_header);
    let app = ManagedIdentityCredential::new(credential_options(&entra)).unwrap();
    std::env::set_var("IDENTITY_HEADER", "wrong");
    let wrong = ManagedIdentityCredential::new(credential_options(&entra)).unwrap();
    std::env::remove_var("IDENTITY_ENDPOINT");
    std::env::remove_var("IDENTITY_HEADER");
    assert!(
        !format!("{app:?}").contains(&c.identity_header),
        "header redacted"
    );
    round_trip(&emulator, Arc::new(app), "by app service")
        .await
        .unwrap();
    assert!(entra
        .served()
        .iter()
        .any(|s| s.route == "app_service" && s.status == 200));
    assert!(wrong.get_token("x").await.is_err());
}

#[cfg(unix)]
#[tokio::test]
async fn azure_cli_runs_az_and_reads_its_token() {
    use std::os::unix::fs::PermissionsExt;
    let (entra, emulator) = start(EntraConfig::default()).await;
    let token = entra.mint("https://eventhubs.azure.net", Duration::from_secs(3600));
    let expires_on = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600;
    // A stand-in for `az` (no Azure CLI here): records its arguments, prints what az 2.54+
    // prints.
    let dir = tempdir();
    let az = dir.join("az");
    let args = dir.join("args");
    std::fs::write(
        &az,
        format!(
            "#!/bin/sh\necho \"$@\" > '{}'\ncat <<'JSON'\n{{\"accessToken\":\"{token}\",\"expiresOn\":\"2099-01-01 00:00:00.000000\",\"expires_on\":{expires_on},\"subscription\":\"s\",\"tenant\":\"t\",\"tokenType\":\"Bearer\"}}\nJSON\n",
            args.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).unwrap();
    let credential = AzureCliCredential::with_program(
        &az,
        Some("contoso.onmicrosoft.com"),
        credential_options(&entra),
    )
    .unwrap();
    let credential = Arc::new(credential);
    round_trip(&emulator, credential.clone(), "by az")
        .await
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(&args).unwrap().trim(),
        "account get-access-token --output json --scope https://eventhubs.azure.net/.default --tenant contoso.onmicrosoft.com"
    );
    credential
        .get_token("https://storage.azure.com/.default")
        .await
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(&args).unwrap().trim(),
        "account get-access-token --output json --scope https://storage.azure.com/.default --tenant contoso.onmicrosoft.com"
    );
    // Not signed in: az's own message.
    std::fs::write(
        &az,
        "#!/bin/sh\necho \"ERROR: Please run 'az login' to setup account.\" >&2\nexit 1\n",
    )
    .unwrap();
    let e = AzureCliCredential::with_program(&az, None, credential_options(&entra))
        .unwrap()
        .get_token("x")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthorized);
    assert!(e.to_string().contains("Please run 'az login'"), "{e}");
    let e = AzureCliCredential::with_program(dir.join("missing"), None, credential_options(&entra))
        .unwrap()
        .get_token("x")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("is the Azure CLI installed"), "{e}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// A fixed token, handed out as is.
#[derive(Debug)]
struct Fixed(String, SystemTime);

impl TokenProvider for Fixed {
    fn get_token<'a>(&'a self, _audience: &'a str) -> TokenFuture<'a> {
        let token = Token {
            kind: TokenKind::Jwt,
            value: self.0.clone(),
            expires_at: self.1,
        };
        Box::pin(async move { Ok(token) })
    }
}

#[tokio::test]
async fn the_emulator_refuses_bad_jwts_and_detaches_at_exp() {
    let (entra, emulator) = start(EntraConfig::default()).await;
    let later = SystemTime::now() + Duration::from_secs(3600);
    let refused = |token: String| {
        let emulator = &emulator;
        async move {
            let e = round_trip(emulator, Arc::new(Fixed(token, later)), "never")
                .await
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Unauthorized, "{e}");
            e.to_string()
        }
    };
    let wrong_audience = entra.mint("https://storage.azure.com", Duration::from_secs(600));
    assert!(refused(wrong_audience).await.contains("InvalidAudience"));
    let expired = entra.mint("https://eventhubs.azure.net", Duration::ZERO);
    assert!(refused(expired).await.contains("Expired"));
    let good = entra.mint("https://eventhubs.azure.net/", Duration::from_secs(600));
    let (head, _) = good.rsplit_once('.').unwrap();
    let tampered = format!("{head}.{}", "A".repeat(342));
    assert!(refused(tampered).await.contains("InvalidSignature"));
    assert!(refused("not.a.jwt".into()).await.contains("Invalid"));

    // A token that cannot be renewed: its links end at its exp.
    let short = entra.mint("https://eventhubs.azure.net", Duration::from_secs(3));
    let exp = SystemTime::now() + Duration::from_secs(3);
    let cs = emulator.connection_string(Some("eh1"));
    let options = ClientOptions::default()
        .token_provider(Arc::new(Fixed(short, exp)))
        .operation_timeout(Duration::from_secs(5));
    let consumer =
        ConsumerClient::from_connection_string(&cs, None, DEFAULT_CONSUMER_GROUP, options).unwrap();
    let mut receiver = consumer
        .open_partition_receiver("1", PartitionReceiverOptions::default())
        .await
        .unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(30), receiver.recv())
        .await
        .expect("the link ends within 30 s");
    assert_eq!(ended.unwrap_err().kind(), ErrorKind::Unauthorized);
    assert!(emulator.namespace().links_expired() >= 1);
    consumer.close().await;
}

#[tokio::test]
async fn token_service_faults_are_retried_or_reported() {
    let (entra, _emulator) = start(EntraConfig::default()).await;
    let c = entra.config().clone();
    let secret = |o: CredentialOptions| {
        ClientSecretCredential::new(&c.tenant, &c.client_id, c.client_secret.clone(), o).unwrap()
    };
    // 429, 500 and a slow reply are retried within one request.
    entra.script([
        Fault::Status(429),
        Fault::Status(500),
        Fault::Slow(Duration::from_millis(300)),
    ]);
    check_token(&secret(credential_options(&entra)), c.token_lifetime).await;
    // An AADSTS error is reported as it is, not retried.
    entra.script([Fault::Aadsts {
        status: 400,
        error: "invalid_request".into(),
        code: 90002,
    }]);
    let before = entra.served().len();
    let e = secret(credential_options(&entra))
        .get_token("x")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthorized);
    assert!(e.to_string().contains("AADSTS90002"), "{e}");
    assert_eq!(entra.served().len(), before + 1, "not retried");
    // A reply slower than the request bound: a timeout, after the retries.
    entra.script(std::iter::repeat_n(Fault::Slow(Duration::from_secs(3)), 2));
    let e = secret(
        credential_options(&entra)
            .request_timeout(Duration::from_millis(500))
            .max_retries(1),
    )
    .get_token("x")
    .await
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(e.is_transient());
    // An unknown tenant.
    let e = ClientSecretCredential::new(
        "other-tenant",
        &c.client_id,
        "s",
        credential_options(&entra),
    )
    .unwrap()
    .get_token("x")
    .await
    .unwrap_err();
    assert!(e.to_string().contains("AADSTS90002"), "{e}");
    // Without the test CA the service's certificate is refused.
    let untrusted = CredentialOptions::default().cloud(Cloud::custom(
        "fake",
        entra.authority_host(),
        ".servicebus.windows.net",
        "https://eventhubs.azure.net/.default",
    ));
    let e = secret(untrusted.max_retries(0))
        .get_token("x")
        .await
        .unwrap_err();
    assert!(e.to_string().to_lowercase().contains("certificate"), "{e}");
}

#[tokio::test]
async fn token_requests_go_through_the_proxy() {
    let (entra, emulator) = start(EntraConfig::default()).await;
    let c = entra.config().clone();
    let proxy =
        eventhubs_test_support::connect_proxy::ConnectProxy::start(Some(("user", "pw"))).await;
    let through = credential_options(&entra).proxy(
        ProxyOptions::new(&format!("http://{}", proxy.addr()))
            .unwrap()
            .credentials("user", "pw"),
    );
    let credential = Arc::new(
        ClientSecretCredential::new(&c.tenant, &c.client_id, c.client_secret.clone(), through)
            .unwrap(),
    );
    round_trip(&emulator, credential, "via proxy")
        .await
        .unwrap();
    let port = entra.https_addr().port();
    assert!(
        proxy
            .log()
            .tunnels
            .iter()
            .any(|t| t == &format!("localhost:{port}")),
        "{:?}",
        proxy.log().tunnels
    );
    // A wrong proxy password: Unauthorized, naming neither password.
    let wrong = credential_options(&entra).proxy(
        ProxyOptions::new(&format!("http://{}", proxy.addr()))
            .unwrap()
            .credentials("user", "wrong-pw"),
    );
    let e = ClientSecretCredential::new(
        &c.tenant,
        &c.client_id,
        c.client_secret.clone(),
        wrong.max_retries(0),
    )
    .unwrap()
    .get_token("x")
    .await
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthorized, "{e}");
    assert!(!e.to_string().contains("wrong-pw") && !e.to_string().contains(&c.client_secret));
    // NO_PROXY-style bypass.
    let tunnels = proxy.log().tunnels.len();
    let bypass = credential_options(&entra).proxy(
        ProxyOptions::new(&format!("http://{}", proxy.addr()))
            .unwrap()
            .no_proxy(["localhost"]),
    );
    check_token(
        &ClientSecretCredential::new(&c.tenant, &c.client_id, c.client_secret.clone(), bypass)
            .unwrap(),
        c.token_lifetime,
    )
    .await;
    assert_eq!(proxy.log().tunnels.len(), tunnels, "bypassed");
}

fn tempdir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "eh-identity-{}-{}",
        std::process::id(),
        fastrand_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn fastrand_suffix() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}
