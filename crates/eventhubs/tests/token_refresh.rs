//! A day of one-hour tokens on a paused clock: the client renews each connection's token
//! before it expires, so the emulator (which ends a link whose token lapsed, on the same
//! clock) never detaches the sender or the receiver, and an event sent every hour of the
//! day arrives on the receiver opened at the start.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use eventhubs::auth::TokenFuture;
use eventhubs::{
    ClientOptions, ConsumerClient, PartitionReceiverOptions, ProducerClient, SasTokenProvider,
    SendEventOptions, StartPosition, TokenProvider, DEFAULT_CONSUMER_GROUP,
};
use eventhubs_emulator::{Config, Emulator};

const HOUR: Duration = Duration::from_secs(3600);

/// Signs one-hour SAS tokens and counts them.
#[derive(Debug)]
struct Counting {
    sas: SasTokenProvider,
    issued: AtomicUsize,
}

impl Counting {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            sas: SasTokenProvider::from_key("RootManageSharedAccessKey", "SAS_KEY_VALUE")
                .with_ttl(HOUR),
            issued: AtomicUsize::new(0),
        })
    }
}

impl TokenProvider for Counting {
    fn get_token<'a>(&'a self, audience: &'a str) -> TokenFuture<'a> {
        self.issued.fetch_add(1, Ordering::Relaxed);
        self.sas.get_token(audience)
    }
}

#[tokio::test(start_paused = true)]
async fn a_day_of_one_hour_tokens() {
    let em = Emulator::start(Config::default()).await.unwrap();
    let cs = em.connection_string(Some("eh1"));
    let (for_producer, for_consumer) = (Counting::new(), Counting::new());
    let producer = ProducerClient::from_connection_string(
        &cs,
        None,
        ClientOptions::default().token_provider(for_producer.clone()),
    )
    .unwrap();
    let consumer = ConsumerClient::from_connection_string(
        &cs,
        None,
        DEFAULT_CONSUMER_GROUP,
        ClientOptions::default().token_provider(for_consumer.clone()),
    )
    .unwrap();
    let mut receiver = consumer
        .open_partition_receiver(
            "0",
            PartitionReceiverOptions::default().start_position(StartPosition::earliest()),
        )
        .await
        .unwrap();

    let started = tokio::time::Instant::now();
    for hour in 0..=24 {
        let body = format!("hour {hour}");
        producer
            .send_event(body.as_str(), SendEventOptions::default().partition_id("0"))
            .await
            .unwrap_or_else(|e| panic!("send at hour {hour}: {e}"));
        let event = receiver
            .recv()
            .await
            .unwrap_or_else(|e| panic!("receive at hour {hour}: {e}"));
        assert_eq!(event.data_as_str(), Some(body.as_str()));
        assert_eq!(event.sequence_number(), hour);
        if hour < 24 {
            // Virtual time: the paused clock jumps, running every timer on the way.
            tokio::time::sleep(HOUR).await;
        }
    }
    assert!(started.elapsed() >= 24 * HOUR);
    // One token per connection at the start, then one renewal per hour or more.
    for (who, provider) in [("producer", &for_producer), ("consumer", &for_consumer)] {
        let renewals = provider.issued.load(Ordering::Relaxed) - 1;
        eprintln!("{who}: {renewals} renewals in 24 h");
        assert!(renewals >= 23, "{who}: {renewals} renewals");
    }
    em.shutdown().await;
}
