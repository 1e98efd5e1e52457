//! The quick start: send "hello, world!" to a partition and read it back.
//! `cargo run -p eventhubs --example quickstart` (an embedded emulator), or set
//! `EVENTHUB_CONNECTION_STRING` (and `EVENTHUB_NAME` without `EntityPath`) for a real hub.

mod common;

use std::time::Duration;

use eventhubs::{EventData, PartitionReceiverOptions, SendEventOptions, StartPosition};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let target = common::Target::from_env_or_emulator().await?;
    let producer = target.producer()?;
    let consumer = target.consumer()?;

    // Start reading partition 0 at its end, so only what is sent next arrives.
    let mut receiver = consumer
        .open_partition_receiver(
            "0",
            PartitionReceiverOptions::default().start_position(StartPosition::latest()),
        )
        .await?;

    let event = EventData::from("hello, world!").with_property("greeting", true);
    producer
        .send_event(event, SendEventOptions::default().partition_id("0"))
        .await?;

    // `recv` is cancel-safe: a timeout around it loses nothing.
    let received = tokio::time::timeout(Duration::from_secs(20), receiver.recv()).await??;
    println!(
        "partition {} #{}: {}",
        received.partition_id(),
        received.sequence_number(),
        received.data_as_str().unwrap_or("<binary>")
    );
    assert_eq!(received.data_as_str(), Some("hello, world!"));

    receiver.close().await;
    producer.close().await;
    consumer.close().await;
    Ok(())
}
