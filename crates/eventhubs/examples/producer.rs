//! Hello-world producer: single events, a keyed event, an explicit batch, and
//! `send_batch` splitting a large set into link-sized batches.
//! `cargo run -p eventhubs --example producer`.

mod common;

use eventhubs::{BatchOptions, Event, HubOptions};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (hub, _emulator) = common::hub(HubOptions::default()).await?;

    hub.send("hello").await?;
    hub.send(Event::from("to the partition of device-7").with_partition_key("device-7"))
        .await?;
    hub.send_to_partition(
        "0",
        Event::from("to partition 0").with_property("kind", "demo"),
    )
    .await?;

    let mut batch = hub.create_batch(BatchOptions::default()).await?;
    for i in 0..10 {
        batch.try_add(Event::from(format!("batched {i}")))?;
    }
    println!(
        "sending a batch of {} events ({} bytes)",
        batch.len(),
        batch.size_in_bytes()
    );
    hub.send_event_batch(batch).await?;

    let many = (0..10_000).map(|i| Event::from(format!("event {i}")));
    hub.send_batch(many).await?;
    println!("sent 10,013 events");
    hub.close().await;
    Ok(())
}
