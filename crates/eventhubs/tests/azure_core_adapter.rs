//! Feature `azure-core`: the official `azure_identity` `ClientSecretCredential`, pointed at
//! the fake Entra ID token service (its HTTP through a transport over our HTTP client, which
//! trusts the fake's test CA), authorizes sends and receives through `AzureCoreCredential`
//! against the emulator validating JWTs. (Run by `scripts/test.sh` with the feature on.)
#![cfg(feature = "azure-core")]

use azure_core::credentials::Secret;
use azure_core::http::{
    AsyncRawResponse, Body, ClientOptions as AzureClientOptions, Request, Transport,
};
use bytes::Bytes;
use eventhubs::identity::AzureCoreCredential;
use eventhubs::{ErrorKind, TokenKind, TokenProvider};
use eventhubs_test_support::entra::{EntraConfig, FakeEntra};
use std::sync::Arc;

mod common;
use common::entra::{round_trip, validating_emulator};

/// azure_core's transport over the project's HTTP client (azure_core without its reqwest
/// feature has none of its own).
#[derive(Debug)]
struct OurHttp(eventhubs_http::HttpClient);

#[async_trait::async_trait]
impl azure_core::http::HttpClient for OurHttp {
    async fn execute_request(&self, request: &Request) -> azure_core::Result<AsyncRawResponse> {
        let body = match request.body() {
            Body::Bytes(b) => Bytes::copy_from_slice(b),
            _ => Bytes::new(),
        };
        let response = self
            .0
            .send(|| {
                let mut r = http::Request::builder()
                    .method(request.method().as_str())
                    .uri(request.url().as_str());
                for (name, value) in request.headers().iter() {
                    r = r.header(name.as_str(), value.as_str());
                }
                r.body(body.clone()).unwrap()
            })
            .await
            .map_err(|e| {
                azure_core::Error::with_message(azure_core::error::ErrorKind::Io, e.to_string())
            })?;
        let mut headers = azure_core::http::headers::Headers::new();
        for (name, value) in &response.headers {
            if let Ok(v) = value.to_str() {
                headers.insert(name.as_str().to_owned(), v.to_owned());
            }
        }
        Ok(AsyncRawResponse::from_bytes(
            response.status.as_u16().into(),
            headers,
            response.body,
        ))
    }
}

fn official_credential(
    entra: &FakeEntra,
    secret: &str,
) -> Arc<dyn azure_core::credentials::TokenCredential> {
    let c = entra.config();
    let tls = eventhubs_amqp_io::TlsConfig::from_pem_roots(entra.ca_pem().as_bytes()).unwrap();
    let http = eventhubs_http::HttpClient::new(&tls, eventhubs_http::RetryPolicy::default());
    let mut custom = azure_core::cloud::CustomConfiguration::default();
    custom.authority_host = entra.authority_host();
    let options = azure_identity::ClientSecretCredentialOptions {
        client_options: AzureClientOptions {
            transport: Some(Transport::new(Arc::new(OurHttp(http)))),
            cloud: Some(Arc::new(custom.into())),
            ..AzureClientOptions::default()
        },
    };
    azure_identity::ClientSecretCredential::new(
        &c.tenant,
        c.client_id.clone(),
        Secret::new(secret.to_owned()),
        Some(options),
    )
    .unwrap()
}

#[tokio::test]
async fn an_azure_identity_credential_authorizes_sends_and_receives() {
    let entra = FakeEntra::start(EntraConfig::default()).await;
    let emulator = validating_emulator(&entra).await;
    let secret = entra.config().client_secret.clone();
    let provider = Arc::new(AzureCoreCredential::new(official_credential(
        &entra, &secret,
    )));
    let token = provider.get_token("sb://localhost/eh1").await.unwrap();
    assert_eq!(token.kind, TokenKind::Jwt);

    round_trip(&emulator, provider.clone(), "by azure_identity")
        .await
        .unwrap();
    // A caller that names a scope (the blob checkpoint store) gets a token for it.
    provider
        .get_token("https://storage.azure.com/.default")
        .await
        .unwrap();
    let served = entra.served();
    assert!(served
        .iter()
        .all(|s| s.grant == "secret" && s.status == 200));
    assert_eq!(
        served.last().map(|s| s.resource.as_str()),
        Some("https://storage.azure.com"),
        "{served:?}"
    );

    // The official credential's refusal, as our error.
    let wrong = AzureCoreCredential::new(official_credential(&entra, "wrong-secret"));
    let e = wrong.get_token("x").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthorized, "{e}");
    assert!(e.to_string().contains("azure_core credential"), "{e}");
    emulator.shutdown().await;
}
