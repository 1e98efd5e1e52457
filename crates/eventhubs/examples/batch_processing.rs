//! Batch processing: pull events in groups (up to 100, or whatever arrived within
//! 200 ms) and process each group at once.
//! `cargo run -p eventhubs --example batch_processing`.

mod common;

use std::time::Duration;

use eventhubs::{Event, HubOptions, ReceiveOptions};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (hub, _emulator) = common::hub(HubOptions::default().partitioned_sender("0")).await?;
    hub.send_batch(
        (0..1_000).map(|i| Event::from(format!("reading {i}")).with_property("value", i as i64)),
    )
    .await?;

    let mut receiver = hub
        .receiver("0", ReceiveOptions::default().prefetch(500))
        .await?;
    let mut processed = 0;
    loop {
        let mut group = Vec::with_capacity(100);
        let deadline = tokio::time::Instant::now() + Duration::from_millis(200);
        while group.len() < 100 {
            match tokio::time::timeout_at(deadline, receiver.recv()).await {
                Ok(event) => group.push(event?),
                Err(_) => break,
            }
        }
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
    hub.close().await;
    Ok(())
}
