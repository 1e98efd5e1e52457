//! Batch processing: read events in groups — up to 100, or what arrived within 200 ms —
//! and process each group at once (Go's `ReceiveEvents(ctx, count)`).
//! `cargo run -p eventhubs --example batch_processing`.

mod common;

use std::time::Duration;

use eventhubs::{EventData, PartitionReceiverOptions, SendEventOptions, StartPosition};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let target = common::Target::from_env_or_emulator().await?;
    let producer = target.producer()?;
    let consumer = target.consumer()?;

    let partition = "0";
    let first = consumer.get_partition_properties(partition).await?;
    producer
        .send_events(
            (0..1_000)
                .map(|i| EventData::from(format!("reading {i}")).with_property("value", i as i64)),
            SendEventOptions::default().partition_id(partition),
        )
        .await?;

    // Start after what the partition held before this run.
    let start = StartPosition::sequence_number(first.last_enqueued_sequence_number);
    let mut receiver = consumer
        .open_partition_receiver(
            partition,
            PartitionReceiverOptions::default()
                .start_position(start)
                .prefetch(500),
        )
        .await?;
    let mut processed = 0;
    loop {
        let group = receiver.recv_batch(100, Duration::from_millis(200)).await?;
        if group.is_empty() {
            break;
        }
        let sum: i64 = group
            .iter()
            .filter_map(|e| e.property("value").and_then(|v| v.as_i64()))
            .sum();
        processed += group.len();
        println!("group of {} events, sum {sum}", group.len());
    }
    println!("processed {processed} events");
    assert_eq!(processed, 1_000);
    producer.close().await;
    consumer.close().await;
    Ok(())
}
