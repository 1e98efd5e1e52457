//! `Jwt: {"Validate": …}` from `Config.json`: the keys file as a certificate or as a public
//! key, tokens minted by the fake Entra ID service checked through a real put-token, and the
//! configuration's errors naming their field.

use std::time::Duration;

use eventhubs_emulator::{Config, Emulator, JwtKeys, JwtPolicy};
use eventhubs_test_support::entra::{self, EntraConfig, FakeEntra};

fn config_with(jwt: &str) -> Result<Config, String> {
    Config::from_json(&format!(
        r#"{{"UserConfig":{{"NamespaceConfig":[{{"Entities":[{{"Name":"eh1","PartitionCount":1}}]}}],"Emulator":{{"Jwt":{jwt}}}}}}}"#
    ))
    .map_err(|e| e.to_string())
}

#[test]
fn the_config_reads_certificates_and_public_keys_and_names_bad_fields() {
    let dir = std::env::temp_dir().join(format!("eh-jwt-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let public = dir.join("public.pem");
    std::fs::write(&public, entra::SIGNING_PUBLIC_KEY_PEM).unwrap();
    let config = config_with(&format!(r#"{{"Validate":"{}"}}"#, public.display())).unwrap();
    assert!(matches!(config.jwt, JwtPolicy::Validate(_)));
    assert_eq!(config_with(r#""Reject""#).unwrap().jwt, JwtPolicy::Reject);

    let missing = config_with(r#"{"Validate":"/no/such/keys.pem"}"#).unwrap_err();
    assert!(
        missing.contains("UserConfig.Emulator.Jwt.Validate") && missing.contains("cannot read"),
        "{missing}"
    );
    let misspelt = config_with(r#"{"Validat":"x"}"#).unwrap_err();
    assert!(misspelt.contains("did you mean Validate"), "{misspelt}");
    let wrong = config_with("5").unwrap_err();
    assert!(wrong.contains("\"AcceptAll\", \"Reject\" or"), "{wrong}");
    let not_pem = dir.join("not.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    let e = config_with(&format!(r#"{{"Validate":"{}"}}"#, not_pem.display())).unwrap_err();
    assert!(e.contains("no CERTIFICATE or PUBLIC KEY"), "{e}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// A put-token of `token` on a fresh connection: the status code.
async fn put(emulator: &Emulator, token: &str) -> i32 {
    let (connection, session) = eventhubs_test_support::client::connect(emulator.addr()).await;
    let status =
        eventhubs_test_support::client::put_jwt(&session, "sb://localhost/eh1", token).await;
    let _ = connection.close(None).await;
    status
}

#[tokio::test]
async fn tokens_are_checked_against_either_key_form() {
    let entra = FakeEntra::start(EntraConfig::default()).await;
    for pem in [entra.signing_cert_pem(), entra::SIGNING_PUBLIC_KEY_PEM] {
        let mut config = Config::default();
        config.jwt = JwtPolicy::Validate(std::sync::Arc::new(
            JwtKeys::from_pem(pem.as_bytes()).unwrap(),
        ));
        let emulator = Emulator::start(config).await.unwrap();
        let good = entra.mint("https://eventhubs.azure.net/", Duration::from_secs(60));
        assert_eq!(put(&emulator, &good).await, 202);
        let wrong = entra.mint("https://servicebus.azure.net", Duration::from_secs(60));
        assert_eq!(put(&emulator, &wrong).await, 401);
        emulator.shutdown().await;
    }
}

#[tokio::test]
async fn validity_window_and_audience_forms() {
    let entra = FakeEntra::start(EntraConfig::default()).await;
    let mut config = Config::default();
    config.jwt = JwtPolicy::Validate(std::sync::Arc::new(
        JwtKeys::from_pem(entra.signing_cert_pem().as_bytes()).unwrap(),
    ));
    let emulator = Emulator::start(config).await.unwrap();
    let now = FakeEntra::now_secs();
    let aud = "https://eventhubs.azure.net";
    let cases = [
        (
            serde_json::json!({"aud": aud, "nbf": now, "exp": now + 60}),
            202,
        ),
        // An audience list holding the resource is fine.
        (
            serde_json::json!({"aud": ["api://other", aud], "exp": now + 60}),
            202,
        ),
        // Not valid for ten minutes yet (beyond the minute of skew allowed).
        (
            serde_json::json!({"aud": aud, "nbf": now + 600, "exp": now + 1200}),
            401,
        ),
        // Within the skew.
        (
            serde_json::json!({"aud": aud, "nbf": now + 30, "exp": now + 60}),
            202,
        ),
        (serde_json::json!({"aud": aud}), 401),
        (serde_json::json!({"aud": aud, "exp": now - 1}), 401),
        (serde_json::json!({"exp": now + 60}), 401),
    ];
    for (claims, expected) in cases {
        let token = entra.sign_claims(&claims);
        assert_eq!(put(&emulator, &token).await, expected, "{claims}");
    }
    emulator.shutdown().await;
}
