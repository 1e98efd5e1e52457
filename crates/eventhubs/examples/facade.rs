//! The Go v3 facade, `Hub`: `NewHubFromConnectionString`, `Send`, `SendBatch`,
//! `GetRuntimeInformation`, and `Receive` with a handler and a checkpoint persister — the
//! seed's calls with its defaults, built on `ProducerClient` and `ConsumerClient`.
//! `cargo run -p eventhubs --example facade`.

mod common;

use std::sync::Arc;
use std::time::Duration;

use eventhubs::{FilePersister, Hub, HubOptions, ReceiveOptions, ReceivedEventData};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let target = common::Target::from_env_or_emulator().await?;
    let dir = std::env::temp_dir().join("eventhubs-example-facade");
    if target.emulator.is_some() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    // hub, err := eventhub.NewHubFromConnectionString(connStr,
    //     eventhub.HubWithOffsetPersistence(persister))
    let options = HubOptions::default().checkpoint_persister(Arc::new(FilePersister::new(&dir)?));
    let hub = Hub::from_connection_string(&target.connection_string, options)?;

    // info, err := hub.GetRuntimeInformation(ctx)
    let info = hub.runtime_information().await?;
    println!("{} has partitions {:?}", info.path, info.partition_ids);

    // hub.Receive(ctx, partitionID, handler, eventhub.ReceiveWithLatestOffset())
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut listeners = Vec::new();
    for partition in &info.partition_ids {
        let tx = tx.clone();
        let handler = move |event: ReceivedEventData| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(event.data_as_str().unwrap_or_default().to_owned());
                Ok(())
            }
        };
        let options = ReceiveOptions::default().from_latest();
        listeners.push(hub.receive(partition, handler, options).await?);
    }

    // hub.Send(ctx, eventhub.NewEventFromString("hello")), then hub.SendBatch(ctx, batch)
    hub.send("hello").await?;
    hub.send_batch((0..9).map(|i| format!("batched {i}")))
        .await?;

    let mut got = Vec::new();
    while got.len() < 10 {
        got.push(tokio::time::timeout(Duration::from_secs(20), rx.recv()).await?);
    }
    println!("the handlers saw {} events", got.len());
    // listener.Close(ctx): the last checkpoint is flushed first.
    for listener in listeners {
        listener.close().await;
    }
    hub.close().await;
    Ok(())
}
