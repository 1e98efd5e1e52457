//! Options and credentials against the in-process emulator: a fixed shared access
//! signature, a custom JWT token provider, a consumer group, a custom endpoint, and the
//! operation timeout.

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use common::within;
use eventhubs::auth::TokenFuture;
use eventhubs::{ErrorKind, Hub, HubOptions, ReceiveOptions, Token, TokenKind, TokenProvider};
use eventhubs_emulator::{Config, Emulator, HubConfig};

/// `SharedAccessSignature=` in the connection string authorizes sends and receives.
#[tokio::test]
async fn fixed_signature_connection_string() {
    let em = Emulator::start(Config::default()).await.unwrap();
    let expiry = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600;
    let audience = format!("sb://localhost:{}/eh1", em.addr().port());
    let sig = eventhubs_protocol::sas::sign(
        &audience,
        "RootManageSharedAccessKey",
        "SAS_KEY_VALUE",
        expiry,
    );
    let cs = format!(
        "Endpoint=sb://localhost:{};SharedAccessSignature={sig};UseDevelopmentEmulator=true;EntityPath=eh1",
        em.addr().port()
    );
    let hub = Hub::from_connection_string(&cs, HubOptions::default()).unwrap();
    hub.send_to_partition("0", "signed").await.unwrap();
    let mut rx = hub.receiver("0", ReceiveOptions::default()).await.unwrap();
    assert_eq!(
        within("signed", rx.recv()).await.unwrap().data_as_str(),
        Some("signed")
    );
}

/// A token provider of our own, handing out JWTs (the emulator accepts any by default).
#[derive(Debug)]
struct FakeJwt;

impl TokenProvider for FakeJwt {
    fn get_token<'a>(&'a self, _audience: &'a str) -> TokenFuture<'a> {
        Box::pin(async {
            Ok(Token {
                kind: TokenKind::Jwt,
                value: "eyJhbGciOiJub25lIn0.e30.".into(),
                expires_at: SystemTime::now() + Duration::from_secs(3600),
            })
        })
    }
}

#[tokio::test]
async fn custom_jwt_provider_and_consumer_group() {
    let mut config = Config::default();
    config.hubs = vec![HubConfig {
        name: "eh1".into(),
        partition_count: 2,
        consumer_groups: vec!["$Default".into(), "analytics".into()],
    }];
    let em = Emulator::start(config).await.unwrap();
    // Hub::new would speak AMQPS to a namespace; the emulator here is plain AMQP, so the
    // provider goes into a connection-string client.
    let hub = Hub::from_connection_string(
        &em.connection_string(Some("eh1")),
        HubOptions::default()
            .token_provider(Arc::new(FakeJwt))
            .consumer_group("analytics"),
    )
    .unwrap();
    hub.send_to_partition("1", "for analytics").await.unwrap();
    let mut rx = hub.receiver("1", ReceiveOptions::default()).await.unwrap();
    assert_eq!(rx.consumer_group(), "analytics");
    assert_eq!(
        within("jwt", rx.recv()).await.unwrap().data_as_str(),
        Some("for analytics")
    );
    let err = hub
        .receiver("1", ReceiveOptions::default().consumer_group("missing"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

/// A custom endpoint is dialed instead of the connection string's host and port.
#[tokio::test]
async fn custom_endpoint_is_dialed() {
    let em = Emulator::start(Config::default()).await.unwrap();
    let cs = "Endpoint=sb://localhost:1;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;EntityPath=eh1";
    let hub = Hub::from_connection_string(
        cs,
        HubOptions::default().custom_endpoint(em.addr().to_string()),
    )
    .unwrap();
    hub.send("via custom endpoint").await.unwrap();
    assert_eq!(hub.runtime_information().await.unwrap().partition_count, 4);
}

/// A server that accepts but never answers: the connect fails with `Timeout` after the
/// operation timeout (and is retried as transient, per the retry options).
#[tokio::test]
async fn operation_timeout() {
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let _hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            held.push(s);
        }
    });
    let cs = format!("Endpoint=sb://localhost:{port};SharedAccessKeyName=k;SharedAccessKey=v;UseDevelopmentEmulator=true;EntityPath=eh1");
    let hub = Hub::from_connection_string(
        &cs,
        HubOptions::default()
            .operation_timeout(Duration::from_millis(300))
            .retry(
                eventhubs::RetryOptions::default()
                    .max_retries(1)
                    .delay(Duration::from_millis(10)),
            ),
    )
    .unwrap();
    let started = std::time::Instant::now();
    let err = hub.send("x").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(err.is_transient());
    assert!(started.elapsed() < Duration::from_secs(5));
}
