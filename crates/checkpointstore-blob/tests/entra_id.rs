//! The blob checkpoint store signed in with Microsoft Entra ID, against Azurite over HTTPS
//! with OAuth (which refuses tokens whose audience is not storage) and the fake token
//! service: one credential serves both the Event Hubs client and the store — the store asks
//! for the storage scope and gets a storage token, the client an Event Hubs one.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use eventhubs::identity::{ClientSecretCredential, CredentialOptions};
use eventhubs::{
    Checkpoint, CheckpointStore, ClientOptions, Cloud, ConsumerClient, ErrorKind, Ownership,
    PartitionReceiverOptions, ProducerClient, SendEventOptions, StartPosition, Token, TokenFuture,
    TokenKind, TokenProvider, DEFAULT_CONSUMER_GROUP,
};
use eventhubs_checkpointstore_blob::BlobCheckpointStore;
use eventhubs_emulator::{Config, Emulator, JwtKeys, JwtPolicy};
use eventhubs_test_support::azurite::Azurite;
use eventhubs_test_support::entra::{EntraConfig, FakeEntra};

const NS: &str = "ns.servicebus.windows.net";

fn credential(entra: &FakeEntra) -> Arc<ClientSecretCredential> {
    let options = CredentialOptions::default()
        .cloud(Cloud::custom(
            "fake",
            entra.authority_host(),
            ".servicebus.windows.net",
            "https://eventhubs.azure.net/.default",
        ))
        .add_root_certificates(entra.ca_pem());
    let c = entra.config();
    Arc::new(
        ClientSecretCredential::new(&c.tenant, &c.client_id, c.client_secret.clone(), options)
            .unwrap(),
    )
}

fn store(azurite: &Azurite, provider: Arc<dyn TokenProvider>) -> BlobCheckpointStore {
    BlobCheckpointStore::with_token_provider(&azurite.account_url(), provider, "entra")
        .unwrap()
        .add_root_certificates(azurite.ca_pem().as_bytes())
        .unwrap()
}

/// Hands out one fixed token, whatever it is asked for.
#[derive(Debug)]
struct Fixed(String);

impl TokenProvider for Fixed {
    fn get_token<'a>(&'a self, _audience: &'a str) -> TokenFuture<'a> {
        Box::pin(async move {
            Ok(Token {
                kind: TokenKind::Jwt,
                value: self.0.clone(),
                expires_at: SystemTime::now() + Duration::from_secs(600),
            })
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_credential_for_event_hubs_and_storage() {
    let Some(azurite) = Azurite::start_oauth() else {
        return;
    };
    let entra = FakeEntra::start(EntraConfig::default()).await;
    let credential = credential(&entra);

    // The store: container, a claim, a checkpoint, and both read back.
    let blobs = store(&azurite, credential.clone());
    blobs.create_container_if_missing().await.unwrap();
    let claimed = blobs
        .claim_ownership(vec![Ownership::new(
            NS, "hub", "$Default", "0", "proc-a", None,
        )])
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let mut checkpoint = Checkpoint::new(NS, "hub", "$Default", "0");
    checkpoint.sequence_number = Some(41);
    checkpoint.offset = Some("4100".into());
    blobs.update_checkpoint(checkpoint).await.unwrap();
    let listed = blobs.list_checkpoints(NS, "hub", "$Default").await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].sequence_number, Some(41));
    let owners = blobs.list_ownership(NS, "hub", "$Default").await.unwrap();
    assert_eq!(owners[0].owner_id, "proc-a");

    // The same credential authorizes the Event Hubs client (the emulator checks the
    // audience and signature of its token).
    let mut config = Config::default();
    config.jwt = JwtPolicy::Validate(Arc::new(
        JwtKeys::from_pem(entra.signing_cert_pem().as_bytes()).unwrap(),
    ));
    let emulator = Emulator::start(config).await.unwrap();
    let cs = emulator.connection_string(Some("eh1"));
    let options = ClientOptions::default()
        .token_provider(credential.clone())
        .operation_timeout(Duration::from_secs(10));
    let producer = ProducerClient::from_connection_string(&cs, None, options.clone()).unwrap();
    producer
        .send_events(["both"], SendEventOptions::default().partition_id("1"))
        .await
        .unwrap();
    let consumer =
        ConsumerClient::from_connection_string(&cs, None, DEFAULT_CONSUMER_GROUP, options).unwrap();
    let mut receiver = consumer
        .open_partition_receiver(
            "1",
            PartitionReceiverOptions::default().start_position(StartPosition::earliest()),
        )
        .await
        .unwrap();
    let event = tokio::time::timeout(Duration::from_secs(10), receiver.recv())
        .await
        .expect("an event within 10 s")
        .unwrap();
    assert_eq!(event.data_as_str(), Some("both"));
    receiver.close().await;
    producer.close().await;
    consumer.close().await;

    // One token per resource, each cached for every later request.
    let issued: Vec<String> = entra
        .served()
        .into_iter()
        .filter(|s| s.status == 200)
        .map(|s| s.resource)
        .collect();
    assert_eq!(
        issued,
        ["https://storage.azure.com", "https://eventhubs.azure.net"],
        "{:?}",
        entra.served()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_hubs_token_is_refused_by_storage() {
    let Some(azurite) = Azurite::start_oauth() else {
        return;
    };
    let entra = FakeEntra::start(EntraConfig::default()).await;
    let token = entra.mint("https://eventhubs.azure.net", Duration::from_secs(600));
    let blobs = store(&azurite, Arc::new(Fixed(token.clone())));
    let err = blobs.create_container_if_missing().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized, "{err}");
    let text = format!("{err} {err:?}");
    assert!(!text.contains(&token), "the token is in the error: {text}");
}
