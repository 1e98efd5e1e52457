//! A consumer: one receiver per partition, each a `Stream` in its own task, from the
//! earliest event, tracking how far behind the partition's last event it is.
//! `cargo run -p eventhubs --example consumer`.

mod common;

use std::time::Duration;

use eventhubs::{PartitionReceiverOptions, SendEventOptions, StartPosition};
use futures::StreamExt;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let target = common::Target::from_env_or_emulator().await?;
    let producer = target.producer()?;
    let consumer = target.consumer()?;
    for i in 0..8 {
        producer
            .send_event(format!("event {i}"), SendEventOptions::default())
            .await?;
    }

    let mut tasks = Vec::new();
    for partition in consumer.get_partition_ids().await? {
        let options = PartitionReceiverOptions::default()
            .start_position(StartPosition::earliest())
            .track_last_enqueued_event_properties(true);
        let mut events = consumer
            .open_partition_receiver(&partition, options)
            .await?
            .into_stream();
        tasks.push(tokio::spawn(async move {
            let mut count = 0;
            // Stop once the partition has been quiet for a second.
            while let Ok(Some(event)) =
                tokio::time::timeout(Duration::from_secs(1), events.next()).await
            {
                let event = event?;
                let behind = event
                    .last_enqueued()
                    .map_or(0, |l| l.sequence_number - event.sequence_number());
                println!(
                    "partition {partition} #{}: {} ({behind} behind)",
                    event.sequence_number(),
                    event.data_as_str().unwrap_or("<binary>")
                );
                count += 1;
            }
            Ok::<_, eventhubs::Error>(count)
        }));
    }
    let mut total = 0;
    for task in tasks {
        total += task.await??;
    }
    println!("received {total} events");
    producer.close().await;
    consumer.close().await;
    Ok(())
}
