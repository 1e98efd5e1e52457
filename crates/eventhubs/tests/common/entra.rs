//! Shared Entra ID set-up: the emulator validating the fake token service's JWTs, credential
//! options pointing at the fake, and a send-and-receive authorized by a provider alone.

use std::sync::Arc;
use std::time::Duration;

use eventhubs::identity::CredentialOptions;
use eventhubs::{
    ClientOptions, Cloud, ConsumerClient, PartitionReceiverOptions, ProducerClient,
    SendEventOptions, StartPosition, TokenProvider, DEFAULT_CONSUMER_GROUP,
};
use eventhubs_emulator::{Config, Emulator, JwtKeys, JwtPolicy};
use eventhubs_test_support::entra::FakeEntra;

/// The default emulator configuration, validating JWTs against the fake's signing key.
pub fn validating_config(entra: &FakeEntra) -> Config {
    let mut config = Config::default();
    config.jwt = JwtPolicy::Validate(Arc::new(
        JwtKeys::from_pem(entra.signing_cert_pem().as_bytes()).unwrap(),
    ));
    config
}

/// An in-process emulator with [`validating_config`].
pub async fn validating_emulator(entra: &FakeEntra) -> Emulator {
    Emulator::start(validating_config(entra)).await.unwrap()
}

/// Credential options pointing at the fake: its authority host and test CA.
pub fn credential_options(entra: &FakeEntra) -> CredentialOptions {
    CredentialOptions::default()
        .cloud(Cloud::custom(
            "fake",
            entra.authority_host(),
            ".servicebus.windows.net",
            "https://eventhubs.azure.net/.default",
        ))
        .add_root_certificates(entra.ca_pem())
}

/// Sends `body` to partition 0 and reads it back, authorized by `provider` only.
pub async fn round_trip(
    emulator: &Emulator,
    provider: Arc<dyn TokenProvider>,
    body: &str,
) -> Result<(), eventhubs::Error> {
    let cs = emulator.connection_string(Some("eh1"));
    let options = ClientOptions::default()
        .token_provider(provider)
        .operation_timeout(Duration::from_secs(10));
    let producer = ProducerClient::from_connection_string(&cs, None, options.clone())?;
    producer
        .send_events([body], SendEventOptions::default().partition_id("0"))
        .await?;
    let consumer =
        ConsumerClient::from_connection_string(&cs, None, DEFAULT_CONSUMER_GROUP, options)?;
    let mut receiver = consumer
        .open_partition_receiver(
            "0",
            PartitionReceiverOptions::default().start_position(StartPosition::earliest()),
        )
        .await?;
    loop {
        let event = tokio::time::timeout(Duration::from_secs(10), receiver.recv())
            .await
            .expect("an event within 10 s")?;
        if event.data_as_str() == Some(body) {
            break;
        }
    }
    receiver.close().await;
    producer.close().await;
    consumer.close().await;
    Ok(())
}
