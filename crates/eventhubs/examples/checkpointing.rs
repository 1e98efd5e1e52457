//! Checkpointing with the file store: read a partition, record the last handled event
//! with `Checkpoint::from(&event)` every few events, and resume after it in a "second
//! run" (a new consumer reading the same store). The store's layout and semantics are
//! those the processor uses, so the same checkpoints serve both.
//! `cargo run -p eventhubs --example checkpointing`.

mod common;

use std::time::Duration;

use eventhubs::{
    Checkpoint, CheckpointStore, ConsumerClient, FileCheckpointStore, PartitionReceiver,
    PartitionReceiverOptions, SendEventOptions, StartPosition,
};

const PARTITION: &str = "0";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let target = common::Target::from_env_or_emulator().await?;
    let dir = std::env::temp_dir().join("eventhubs-example-checkpoints");
    if target.emulator.is_some() {
        // A fresh embedded emulator starts at sequence number 0: old checkpoints would
        // point past its events.
        let _ = std::fs::remove_dir_all(&dir);
    }
    let store = FileCheckpointStore::new(&dir)?;
    let producer = target.producer()?;
    for i in 0..10 {
        producer
            .send_event(
                format!("before restart {i}"),
                SendEventOptions::default().partition_id(PARTITION),
            )
            .await?;
    }

    // First run: handle what is there, checkpointing every 4 events and at the end.
    let consumer = target.consumer()?;
    let mut receiver = open_after_checkpoint(&store, &consumer).await?;
    let mut handled = 0;
    let mut last = None;
    for event in receiver.recv_batch(1_000, Duration::from_secs(1)).await? {
        println!("first run: {}", event.data_as_str().unwrap_or_default());
        handled += 1;
        if handled % 4 == 0 {
            store.update_checkpoint(Checkpoint::from(&event)).await?;
        }
        last = Some(event);
    }
    if let Some(event) = &last {
        store.update_checkpoint(Checkpoint::from(event)).await?;
    }
    receiver.close().await;
    consumer.close().await;

    producer
        .send_event(
            "after restart",
            SendEventOptions::default().partition_id(PARTITION),
        )
        .await?;

    // Second run: a new consumer resumes right after the last checkpoint.
    let consumer = target.consumer()?;
    let mut receiver = open_after_checkpoint(&store, &consumer).await?;
    let next = tokio::time::timeout(Duration::from_secs(10), receiver.recv()).await??;
    println!(
        "second run resumes with: {}",
        next.data_as_str().unwrap_or_default()
    );
    assert_eq!(next.data_as_str(), Some("after restart"));
    println!("checkpoints are in {}", dir.display());
    receiver.close().await;
    consumer.close().await;
    producer.close().await;
    Ok(())
}

/// A receiver of the partition, right after its checkpoint (or from the earliest event
/// when it has none).
async fn open_after_checkpoint(
    store: &FileCheckpointStore,
    consumer: &ConsumerClient,
) -> Result<PartitionReceiver, eventhubs::Error> {
    let checkpoints = store
        .list_checkpoints(
            consumer.fully_qualified_namespace(),
            consumer.eventhub_name(),
            consumer.consumer_group(),
        )
        .await?;
    let start = checkpoints
        .iter()
        .find(|c| c.partition_id == PARTITION)
        .and_then(Checkpoint::start_position)
        .unwrap_or_else(StartPosition::earliest);
    consumer
        .open_partition_receiver(
            PARTITION,
            PartitionReceiverOptions::default().start_position(start),
        )
        .await
}
