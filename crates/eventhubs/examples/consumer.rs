//! Hello-world consumer: a receiver per partition as a `Stream` inside `tokio::spawn`,
//! from the beginning, with the partition's last enqueued event tracked.
//! `cargo run -p eventhubs --example consumer`.

mod common;

use std::future::poll_fn;
use std::time::Duration;

use eventhubs::{HubOptions, ReceiveOptions};
use futures_core::Stream;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (hub, _emulator) = common::hub(HubOptions::default()).await?;
    for i in 0..8 {
        hub.send(format!("event {i}")).await?;
    }
    let mut tasks = Vec::new();
    for partition in hub.runtime_information().await?.partition_ids {
        let options = ReceiveOptions::default()
            .from_beginning()
            .track_last_enqueued(true);
        let mut stream = Box::pin(hub.receiver(&partition, options).await?.into_stream());
        tasks.push(tokio::spawn(async move {
            let mut count = 0;
            // Stop once the partition has been quiet for a second.
            while let Ok(Some(event)) = tokio::time::timeout(
                Duration::from_secs(1),
                poll_fn(|cx| stream.as_mut().poll_next(cx)),
            )
            .await
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
    for t in tasks {
        total += t.await??;
    }
    println!("received {total} events");
    hub.close().await;
    Ok(())
}
