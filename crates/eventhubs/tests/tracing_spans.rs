//! What a user sees with `RUST_LOG=trace`: spans name the connection, each link (hub,
//! partition, consumer group, link name) and each operation; and no secret — the shared
//! access key, a signature, a token — appears anywhere, not even in the engine's frame
//! trace.

mod common;

use common::Captured;
use eventhubs::{
    ClientOptions, ConsumerClient, PartitionReceiverOptions, ProducerClient, SendEventOptions,
    StartPosition, DEFAULT_CONSUMER_GROUP,
};
use eventhubs_emulator::{Config, Emulator};

/// Under a trace-level capture: sends `body` to `partition` of `eh1` on an in-process
/// emulator, reads it back from the earliest event, closes everything; returns the log.
async fn round_trip(options: ClientOptions, partition: &str, body: &str) -> String {
    let captured = Captured::default();
    let guard = captured.install(tracing::Level::TRACE);
    let em = Emulator::start(Config::default()).await.unwrap();
    let cs = em.connection_string(Some("eh1"));
    let producer = ProducerClient::from_connection_string(&cs, None, options.clone()).unwrap();
    producer
        .send_events([body], SendEventOptions::default().partition_id(partition))
        .await
        .unwrap();
    producer.get_partition_properties(partition).await.unwrap();
    let consumer =
        ConsumerClient::from_connection_string(&cs, None, DEFAULT_CONSUMER_GROUP, options).unwrap();
    let mut receiver = consumer
        .open_partition_receiver(
            partition,
            PartitionReceiverOptions::default().start_position(StartPosition::earliest()),
        )
        .await
        .unwrap();
    assert_eq!(receiver.recv().await.unwrap().data_as_str(), Some(body));
    receiver.close().await;
    producer.close().await;
    consumer.close().await;
    em.shutdown().await;
    drop(guard);
    let log = captured.text();
    assert!(
        log.contains("eventhubs_amqp::frames"),
        "the frame trace ran (so it was checked too)"
    );
    if std::env::var_os("EH_SHOW_TRACE").is_some() {
        eprintln!("{log}");
    }
    log
}

#[tokio::test]
async fn spans_name_what_they_are_about_and_nothing_secret_is_logged() {
    let log = round_trip(ClientOptions::default(), "2", "traced").await;
    for expected in [
        "eventhubs.connection{host=localhost hub=eh1",
        "eventhubs.token_renewal{hub=eh1 audience=sb://localhost",
        "eventhubs.send_events{hub=eh1 partition=Some(\"2\")}",
        "eventhubs.send_batch{hub=eh1 partition=Some(\"2\") events=1}",
        "eventhubs.attach_sender{hub=eh1 address=eh1/Partitions/2 link=sender-",
        "eventhubs.get_partition_properties{hub=eh1 partition=2}",
        "eventhubs.open_partition_receiver{hub=eh1 consumer_group=$Default partition=2}",
        "eventhubs.attach_receiver{hub=eh1 consumer_group=$Default partition=2 link=receiver-2-",
        "sender attached",
        "receiver attached",
    ] {
        assert!(
            log.contains(expected),
            "no {expected:?} in the trace:\n{log}"
        );
    }
    // The emulator's default key, and what a SAS token carries.
    for secret in ["SAS_KEY_VALUE", "sig=", "SharedAccessSignature sr="] {
        assert!(!log.contains(secret), "{secret:?} appears in the trace");
    }
    eprintln!("{} lines of trace checked", log.lines().count());
}

/// A client authorized by Entra ID tokens: the JWT is in no log line either (the emulator
/// accepts any JWT by default, and logs in this process too).
#[tokio::test]
async fn a_jwt_is_not_logged() {
    use eventhubs::{Token, TokenFuture, TokenKind, TokenProvider};
    use std::time::{Duration, SystemTime};

    /// Header, claims and signature of a JWT-shaped token (its signature is what would
    /// let someone reuse it).
    const JWT: &str = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJhdWQiOiJodHRwczovL2V2ZW50aHVicy5henVyZS5uZXQifQ.c2lnbmF0dXJlLW9mLWEtc2VjcmV0LXRva2Vu";
    #[derive(Debug)]
    struct Entra;
    impl TokenProvider for Entra {
        fn get_token<'a>(&'a self, _audience: &'a str) -> TokenFuture<'a> {
            Box::pin(async {
                Ok(Token {
                    kind: TokenKind::Jwt,
                    value: JWT.to_owned(),
                    expires_at: SystemTime::now() + Duration::from_secs(3600),
                })
            })
        }
    }

    // The connection string only says where (the emulator); every token is the JWT.
    let options = ClientOptions::default().token_provider(std::sync::Arc::new(Entra));
    let log = round_trip(options, "1", "with a jwt").await;
    assert!(
        log.contains("token accepted audience=sb://localhost") && log.contains("type=jwt"),
        "the emulator took the JWT as one"
    );
    for (i, part) in JWT.split('.').enumerate() {
        assert!(
            !log.contains(part),
            "part {i} of the JWT appears in the trace"
        );
    }
}
