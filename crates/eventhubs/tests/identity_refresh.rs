//! Entra ID tokens over time: with 20-second tokens, refreshed tokens reach the emulator
//! (which validates each JWT and detaches links at its `exp`) before the old ones expire,
//! for 60 s of traffic; a 15-second outage of the token service is retried through and no
//! link is lost. (About a minute: both run at once.)

use std::sync::Arc;
use std::time::{Duration, Instant};

use eventhubs::identity::ClientSecretCredential;
use eventhubs::{
    ClientOptions, ConsumerClient, PartitionReceiverOptions, ProducerClient, SendEventOptions,
    StartPosition, DEFAULT_CONSUMER_GROUP,
};
use eventhubs_test_support::entra::{EntraConfig, FakeEntra};

mod common;
use common::entra::{credential_options, validating_emulator};

/// What a run saw.
struct Run {
    sent: usize,
    received: usize,
    links_expired: u64,
}

/// Sends an event every 100 ms to `partition` for `length` and receives them all, with
/// one credential for both clients; `during` runs at `at` into the run.
async fn traffic(
    entra: &FakeEntra,
    partition: &str,
    length: Duration,
    during: Option<(Duration, Box<dyn FnOnce() + Send>)>,
) -> Run {
    let emulator = validating_emulator(entra).await;
    let c = entra.config();
    let credential = Arc::new(
        ClientSecretCredential::new(
            &c.tenant,
            &c.client_id,
            c.client_secret.clone(),
            credential_options(entra),
        )
        .unwrap(),
    );
    let cs = emulator.connection_string(Some("eh1"));
    let client_options = ClientOptions::default().token_provider(credential);
    let producer =
        ProducerClient::from_connection_string(&cs, None, client_options.clone()).unwrap();
    let consumer =
        ConsumerClient::from_connection_string(&cs, None, DEFAULT_CONSUMER_GROUP, client_options)
            .unwrap();
    let mut receiver = consumer
        .open_partition_receiver(
            partition,
            PartitionReceiverOptions::default().start_position(StartPosition::earliest()),
        )
        .await
        .unwrap();

    let started = Instant::now();
    let mut during = during;
    let mut pace = tokio::time::interval(Duration::from_millis(100));
    let (mut sent, mut received) = (0usize, 0usize);
    while started.elapsed() < length {
        tokio::select! {
            _ = pace.tick() => {
                producer
                    .send_events([format!("event {sent}")], SendEventOptions::default().partition_id(partition))
                    .await
                    .unwrap_or_else(|e| panic!("send {sent} at {:?}: {e}", started.elapsed()));
                sent += 1;
            }
            event = receiver.recv() => {
                let event = event.unwrap_or_else(|e| panic!("receive at {:?}: {e}", started.elapsed()));
                assert_eq!(event.data_as_str(), Some(format!("event {received}").as_str()));
                received += 1;
            }
        }
        if during
            .as_ref()
            .is_some_and(|(at, _)| started.elapsed() >= *at)
        {
            (during.take().unwrap().1)();
        }
    }
    while received < sent {
        let event = tokio::time::timeout(Duration::from_secs(10), receiver.recv())
            .await
            .expect("the rest within 10 s")
            .unwrap();
        assert_eq!(
            event.data_as_str(),
            Some(format!("event {received}").as_str())
        );
        received += 1;
    }
    receiver.close().await;
    producer.close().await;
    consumer.close().await;
    let links_expired = emulator.namespace().links_expired();
    emulator.shutdown().await;
    Run {
        sent,
        received,
        links_expired,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_second_tokens_are_refreshed_before_they_expire() {
    let entra = FakeEntra::start(EntraConfig {
        token_lifetime: Duration::from_secs(20),
        ..EntraConfig::default()
    })
    .await;
    let run = traffic(&entra, "0", Duration::from_secs(60), None).await;
    assert!(run.sent >= 400, "sent {}", run.sent);
    assert_eq!(run.received, run.sent);
    assert_eq!(run.links_expired, 0, "no link outlived its token");
    // One token at the start, then one per half-life (about 10 s), shared by both clients.
    let issued = entra.tokens_issued();
    eprintln!(
        "20 s tokens, 60 s: {} sent, {} received, {issued} tokens issued, {} links expired",
        run.sent, run.received, run.links_expired
    );
    assert!(
        (5..=9).contains(&issued),
        "{issued} tokens: {:?}",
        entra.served()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fifteen_second_token_service_outage_loses_no_link() {
    // 40 s tokens: refreshed with about 20 s left, so a 15 s outage starting just before
    // the refresh is still covered by the current token.
    let entra = Arc::new(
        FakeEntra::start(EntraConfig {
            token_lifetime: Duration::from_secs(40),
            ..EntraConfig::default()
        })
        .await,
    );
    let outage_entra = entra.clone();
    let run = traffic(
        &entra,
        "1",
        Duration::from_secs(50),
        Some((
            Duration::from_secs(17),
            Box::new(move || outage_entra.outage(Duration::from_secs(15))),
        )),
    )
    .await;
    assert_eq!(run.received, run.sent);
    assert_eq!(run.links_expired, 0, "the outage cost no link");
    let served = entra.served();
    let failed = served.iter().filter(|s| s.status == 503).count();
    eprintln!(
        "15 s outage, 50 s: {} sent, {} received, {} tokens issued, {failed} requests refused (503), {} links expired",
        run.sent,
        run.received,
        entra.tokens_issued(),
        run.links_expired
    );
    assert!(
        failed >= 2,
        "refreshes were tried during the outage: {served:?}"
    );
    // After the outage a refresh succeeded (the first token expired at 40 s, the run
    // went on to 50 s).
    let last_failure = served.iter().rposition(|s| s.status == 503).unwrap();
    assert!(
        served[last_failure..].iter().any(|s| s.status == 200),
        "{served:?}"
    );
}
