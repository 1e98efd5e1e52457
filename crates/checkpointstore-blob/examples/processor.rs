//! The event processor, as the Go library's Event Processor Host example: partitions are
//! claimed, processed and checkpointed; run several copies and they share the partitions.
//!
//! With `EVENTHUB_CONNECTION_STRING` (with `EntityPath`), `AZURE_STORAGE_CONNECTION_STRING`
//! and `AZURE_STORAGE_CONTAINER` set (the names `eh checkpoints` reads too), it runs against Azure Event Hubs and Azure Storage. Without them
//! it starts an emulator in this process and keeps checkpoints in a file store in a temporary
//! directory. It sends a few events, prints them as they are processed and one line per
//! ownership change (`claimed 3`, `released 3`), and stops on Ctrl-C or after
//! `--seconds N`.
//!
//! `cargo run -p eventhubs-checkpointstore-blob --example processor -- --seconds 5`

use std::sync::Arc;
use std::time::Duration;

use eventhubs::{
    CheckpointStore, ClientOptions, ConsumerClient, FileCheckpointStore, LoadBalancingStrategy,
    PartitionEndReason, Processor, ProcessorOptions, ProducerClient, SendEventOptions,
    StartPosition, DEFAULT_CONSUMER_GROUP,
};
use eventhubs_checkpointstore_blob::BlobCheckpointStore;
use eventhubs_emulator::{Config, Emulator};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seconds = std::env::args()
        .skip_while(|a| a != "--seconds")
        .nth(1)
        .map(|s| s.parse::<u64>())
        .transpose()
        .map_err(|e| format!("--seconds: {e}"))?;
    let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());

    // Where events and checkpoints live.
    let mut _emulator = None;
    let (connection_string, store): (String, Arc<dyn CheckpointStore>) = match (
        var("EVENTHUB_CONNECTION_STRING"),
        var("AZURE_STORAGE_CONNECTION_STRING"),
        var("AZURE_STORAGE_CONTAINER"),
    ) {
        (Some(cs), Some(storage), Some(container)) => {
            let store = BlobCheckpointStore::from_connection_string(&storage, &container)?;
            (cs, Arc::new(store))
        }
        _ => {
            let em = Emulator::start(Config::default()).await?;
            let dir =
                std::env::temp_dir().join(format!("eventhubs-processor-{}", std::process::id()));
            eprintln!(
                "EVENTHUB_CONNECTION_STRING, AZURE_STORAGE_CONNECTION_STRING and AZURE_STORAGE_CONTAINER are not all set: \
                 using an embedded emulator at {} and checkpoints in {}",
                em.addr(),
                dir.display()
            );
            let cs = em.connection_string(Some("eh1"));
            _emulator = Some(em);
            (cs, Arc::new(FileCheckpointStore::new(dir)?))
        }
    };

    // A few events to process.
    let producer =
        ProducerClient::from_connection_string(&connection_string, None, ClientOptions::default())?;
    for i in 0..8 {
        producer
            .send_event(format!("event {i}"), SendEventOptions::default())
            .await?;
    }
    producer.close().await;

    let consumer = ConsumerClient::from_connection_string(
        &connection_string,
        None,
        DEFAULT_CONSUMER_GROUP,
        ClientOptions::default(),
    )?;
    // Greedy: a lone processor takes every partition in its first cycle (balanced, the
    // default, takes one per cycle so that processors starting together spread evenly).
    let options = ProcessorOptions::default()
        .strategy(LoadBalancingStrategy::Greedy)
        .default_start_position(StartPosition::earliest());
    let processor = Processor::new(consumer, store, options)?;
    println!("processor {} started", processor.owner_id());
    let cycles = tokio::spawn({
        let processor = processor.clone();
        async move { processor.run().await }
    });

    // Each partition won is processed in a task of its own.
    let dispatch = tokio::spawn({
        let processor = processor.clone();
        async move {
            while let Some(mut partition) = processor.next_partition_client().await {
                let id = partition.partition_id().to_owned();
                println!("claimed {id}");
                tokio::spawn(async move {
                    let mut last = None;
                    while let Ok(events) = partition.recv_batch(100, Duration::from_secs(1)).await {
                        for event in &events {
                            println!(
                                "partition {id} #{}: {}",
                                event.sequence_number(),
                                event.data_as_str().unwrap_or("<binary>")
                            );
                        }
                        // One checkpoint per batch: the last event processed.
                        if let Some(event) = events.last() {
                            if partition.update_checkpoint(event).await.is_err() {
                                break;
                            }
                        }
                        last = events.into_iter().last().or(last);
                    }
                    match partition.end_reason() {
                        Some(PartitionEndReason::OwnershipLost) => println!("lost {id}"),
                        _ => {
                            if let Some(event) = &last {
                                let _ = partition.update_checkpoint(event).await;
                            }
                            println!("released {id}");
                        }
                    }
                });
            }
        }
    });

    match seconds {
        Some(s) => tokio::time::sleep(Duration::from_secs(s)).await,
        None => tokio::signal::ctrl_c().await?,
    }
    println!("stopping");
    processor.close().await;
    cycles.await??;
    dispatch.await?;
    Ok(())
}
