//! The quick start: send "hello, world!" and receive it from every partition.
//! `cargo run -p eventhubs --example quickstart` (embedded emulator), or set
//! `EVENTHUB_CONNECTION_STRING` to use a real hub.

mod common;

use std::time::Duration;

use eventhubs::{HubOptions, ReceiveOptions};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (hub, _emulator) = common::hub(HubOptions::default()).await?;

    // Listen to each partition from now on.
    let info = hub.runtime_information().await?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut listeners = Vec::new();
    for partition in &info.partition_ids {
        let tx = tx.clone();
        let handler = move |event: eventhubs::ReceivedEvent| {
            let tx = tx.clone();
            async move {
                let text = event.data_as_str().unwrap_or("<binary>").to_owned();
                println!("partition {}: {text}", event.partition_id());
                let _ = tx.send(text);
                Ok(())
            }
        };
        listeners.push(
            hub.receive(partition, handler, ReceiveOptions::default().from_latest())
                .await?,
        );
    }

    // Send a single event to any partition.
    hub.send("hello, world!").await?;

    let got = tokio::time::timeout(Duration::from_secs(20), rx.recv()).await?;
    assert_eq!(got.as_deref(), Some("hello, world!"));
    for listener in listeners {
        listener.close().await;
    }
    hub.close().await;
    Ok(())
}
