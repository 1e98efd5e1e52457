//! Checkpointing with the file persister: a handler receives and checkpoints; a second
//! run (a new client with the same directory) resumes after the last handled event.
//! `cargo run -p eventhubs --example checkpointing`.

mod common;

use std::sync::Arc;
use std::time::Duration;

use eventhubs::{FilePersister, HubOptions, ReceiveOptions};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join("eventhubs-example-checkpoints");
    if std::env::var("EVENTHUB_CONNECTION_STRING").is_err() {
        // A fresh embedded emulator starts at sequence number 0: old checkpoints would
        // point past its events.
        let _ = std::fs::remove_dir_all(&dir);
    }
    let persister = Arc::new(FilePersister::new(&dir)?);
    let options = HubOptions::default().checkpoint_persister(persister);
    let (hub, emulator) = common::hub(options.clone()).await?;
    let partition = "0";

    for i in 0..3 {
        hub.send_to_partition(partition, format!("before restart {i}"))
            .await?;
    }
    let handle = hub
        .receive(
            partition,
            |e| async move {
                println!("first run: {}", e.data_as_str().unwrap_or_default());
                Ok(())
            },
            ReceiveOptions::default(),
        )
        .await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    handle.close().await;
    hub.send_to_partition(partition, "after restart").await?;

    // "Restart": a new client reads the checkpoint files and resumes after them.
    let again = match &emulator {
        Some(em) => {
            eventhubs::Hub::from_connection_string(&em.connection_string(Some("eh1")), options)?
        }
        None => eventhubs::Hub::from_env(options)?,
    };
    let mut receiver = again.receiver(partition, ReceiveOptions::default()).await?;
    let next = tokio::time::timeout(Duration::from_secs(10), receiver.recv()).await??;
    println!(
        "second run resumes with: {}",
        next.data_as_str().unwrap_or_default()
    );
    println!("checkpoints are in {}", dir.display());
    again.close().await;
    hub.close().await;
    Ok(())
}
