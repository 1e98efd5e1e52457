//! A producer: single events (to any partition, a partition, or by partition key), a batch
//! filled until it is full (a full batch hands the event back, so nothing is lost), and
//! `send_events` splitting many events into link-sized batches.
//! `cargo run -p eventhubs --example producer`.

mod common;

use eventhubs::{CreateBatchOptions, EventData, SendEventOptions};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let target = common::Target::from_env_or_emulator().await?;
    let producer = target.producer()?;

    producer
        .send_event("to any partition", SendEventOptions::default())
        .await?;
    producer
        .send_event(
            "to device-7's partition",
            SendEventOptions::default().partition_key("device-7"),
        )
        .await?;
    producer
        .send_event(
            EventData::from("to partition 0").with_property("kind", "demo"),
            SendEventOptions::default().partition_id("0"),
        )
        .await?;

    // Fill batches until they are full; the event that did not fit starts the next one.
    // (Batches are capped at 16 KiB here to show it; by default they take the link's limit.)
    let options = || {
        CreateBatchOptions::default()
            .partition_id("1")
            .max_size_in_bytes(16 * 1024)
    };
    let mut batch = producer.create_batch(options()).await?;
    let mut batches = 0;
    for i in 0..5_000 {
        let event = EventData::from(format!("reading {i}")).with_property("n", i as i64);
        if let Err(full) = batch.try_add(event) {
            if !full.is_full() {
                return Err(full.into()); // too large for any batch
            }
            producer.send_batch(batch).await?;
            batches += 1;
            batch = producer.create_batch(options()).await?;
            batch.try_add(full.into_event())?;
        }
    }
    producer.send_batch(batch).await?;
    println!("sent 5,000 events in {} batches", batches + 1);

    // Or let the client batch: on failure the error says how many were stored.
    let many = (0..10_000).map(|i| EventData::from(format!("event {i}")));
    if let Err(e) = producer
        .send_events(many, SendEventOptions::default())
        .await
    {
        eprintln!("stopped after {:?} events: {e}", e.events_sent());
        return Err(e.into());
    }
    println!("sent 10,000 more");
    producer.close().await;
    Ok(())
}
