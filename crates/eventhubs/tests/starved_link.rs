//! One partition whose sender never gets credit, with 10,000 sends queued for it, must not
//! stall the rest of the producer's connection: a send to another partition and a
//! management call still answer within a second, the starved sends fail with `Timeout`
//! after the operation timeout (not never), and `close` completes within a second.
//! (That a receiver on the same connection keeps receiving is shown at the engine level,
//! in `eventhubs-amqp-io`'s `tests/starvation.rs`: a client's producer and consumer have
//! connections of their own.)

use std::time::{Duration, Instant};

use eventhubs::{ClientOptions, ErrorKind, ProducerClient, SendEventOptions};
use eventhubs_emulator::{Config, Emulator, Faults};
use tokio::task::JoinHandle;

const STEP: Duration = Duration::from_secs(1);
const OPERATION_TIMEOUT: Duration = Duration::from_secs(3);

/// 10,000 concurrent sends to the starved partition.
fn flood(producer: &ProducerClient) -> Vec<JoinHandle<Result<(), eventhubs::Error>>> {
    (0..10_000)
        .map(|i| {
            let producer = producer.clone();
            tokio::spawn(async move {
                let to_1 = SendEventOptions::default().partition_id("1");
                producer.send_event(format!("starved {i}"), to_1).await
            })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_starved_partition_does_not_stall_the_connection() {
    let mut config = Config::default();
    config.faults = Faults::default().starve_sends_to("eh1/partitions/1");
    let em = Emulator::start(config).await.unwrap();
    let producer = ProducerClient::from_connection_string(
        &em.connection_string(Some("eh1")),
        None,
        ClientOptions::default()
            .operation_timeout(OPERATION_TIMEOUT)
            .retry(eventhubs::RetryOptions::default().max_retries(0)),
    )
    .unwrap();
    // The connection is up before the flood.
    producer.get_eventhub_properties().await.unwrap();

    let started = Instant::now();
    let starved = flood(&producer);
    tokio::task::yield_now().await;

    // The rest of the connection works, promptly.
    let other = tokio::time::timeout(
        STEP,
        producer.send_event("fine", SendEventOptions::default().partition_id("2")),
    )
    .await
    .expect("a send to another partition answers within 1 s");
    other.unwrap();
    let props = tokio::time::timeout(STEP, producer.get_partition_properties("2"))
        .await
        .expect("management answers within 1 s")
        .unwrap();
    assert_eq!(props.last_enqueued_sequence_number, 0);

    // The starved sends end, with Timeout, once the operation timeout has passed.
    for task in starved {
        let result = tokio::time::timeout(OPERATION_TIMEOUT + 2 * STEP, task)
            .await
            .expect("a starved send ends after the operation timeout")
            .unwrap();
        let e = result.expect_err("no credit, no send");
        assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    }
    assert!(started.elapsed() >= OPERATION_TIMEOUT);
    assert_eq!(
        em.namespace().hubs[0].partitions[1]
            .info()
            .last_sequence_number,
        -1,
        "nothing reached the starved partition"
    );

    // A new flood, then close: it completes at once, and the queued sends fail promptly.
    let queued = flood(&producer);
    tokio::task::yield_now().await;
    tokio::time::timeout(STEP, producer.close())
        .await
        .expect("close completes within 1 s");
    for task in queued {
        let result = tokio::time::timeout(STEP, task)
            .await
            .expect("a queued send ends within 1 s of close")
            .unwrap();
        assert!(result.is_err());
    }
    em.shutdown().await;
}
