//! `eh info`: a hub's properties and its partitions, as a table or one JSON document.

use eventhubs::PartitionProperties;

use crate::connect::ConnectArgs;
use crate::fail::Failure;

/// Options of `eh info`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Example:\n  eh info -c \"$CS\" --json | jq '.partitions[0]'")]
pub(crate) struct Args {
    #[command(flatten)]
    connect: ConnectArgs,
    /// One JSON document instead of a table.
    #[arg(long)]
    json: bool,
    /// Also each partition's owner, checkpoint and lag for the consumer group, from the
    /// processors' blob checkpoint store with this storage connection string.
    #[arg(long, value_name = "STORAGE_CONNECTION_STRING", requires = "container")]
    checkpoints: Option<String>,
    /// The checkpoint store's container (with --checkpoints).
    #[arg(long, requires = "checkpoints")]
    container: Option<String>,
}

/// One partition's state in a checkpoint store.
#[derive(Debug, Default)]
struct Tracked {
    owner: Option<String>,
    checkpoint: Option<i64>,
}

/// Partition → owner and checkpoint for the consumer's group.
async fn tracked(
    consumer: &eventhubs::ConsumerClient,
    storage: &str,
    container: &str,
) -> Result<std::collections::HashMap<String, Tracked>, Failure> {
    use eventhubs::CheckpointStore;
    let store = eventhubs_checkpointstore_blob::BlobCheckpointStore::from_connection_string(
        storage, container,
    )
    .map_err(|e| Failure::usage(format!("--checkpoints: {e}")))?;
    let (ns, hub, group) = (
        consumer.fully_qualified_namespace(),
        consumer.eventhub_name(),
        consumer.consumer_group(),
    );
    let mut by: std::collections::HashMap<String, Tracked> = Default::default();
    for o in store.list_ownership(ns, hub, group).await? {
        if !o.owner_id.is_empty() {
            by.entry(o.partition_id).or_default().owner = Some(o.owner_id);
        }
    }
    for c in store.list_checkpoints(ns, hub, group).await? {
        by.entry(c.partition_id).or_default().checkpoint = c.sequence_number;
    }
    Ok(by)
}

/// Events after the checkpoint (all of them without one).
fn lag(p: &PartitionProperties, checkpoint: Option<i64>) -> i64 {
    if p.is_empty {
        return 0;
    }
    let after = checkpoint.unwrap_or(p.beginning_sequence_number - 1);
    (p.last_enqueued_sequence_number - after).max(0)
}

pub(crate) async fn run(args: Args) -> Result<(), Failure> {
    args.connect.init_logging()?;
    let consumer = args.connect.consumer()?;
    let hub = consumer.get_eventhub_properties().await?;
    let mut partitions = Vec::with_capacity(hub.partition_ids.len());
    for id in &hub.partition_ids {
        partitions.push(consumer.get_partition_properties(id).await?);
    }
    let tracked = match (&args.checkpoints, &args.container) {
        (Some(storage), Some(container)) => Some(tracked(&consumer, storage, container).await?),
        _ => None,
    };
    consumer.close().await;
    let time = crate::output::rfc3339;
    let none = Tracked::default();
    let state = |id: &str| tracked.as_ref().map(|t| t.get(id).unwrap_or(&none));
    if args.json {
        let doc = serde_json::json!({
            "name": hub.name,
            "created_on": time(hub.created_on),
            "partition_ids": hub.partition_ids,
            "partitions": partitions.iter().map(|p| {
                let mut doc = serde_json::json!({
                    "id": p.id,
                    "beginning_sequence_number": p.beginning_sequence_number,
                    "last_enqueued_sequence_number": p.last_enqueued_sequence_number,
                    "last_enqueued_offset": p.last_enqueued_offset,
                    "last_enqueued_time": time(p.last_enqueued_time),
                    "is_empty": p.is_empty,
                });
                if let Some(t) = state(&p.id) {
                    doc["owner"] = serde_json::json!(t.owner);
                    doc["checkpoint_sequence_number"] = serde_json::json!(t.checkpoint);
                    doc["lag"] = serde_json::json!(lag(p, t.checkpoint));
                }
                doc
            }).collect::<Vec<_>>(),
        });
        println!("{doc}");
        return Ok(());
    }
    println!("hub {} (created {})", hub.name, time(hub.created_on));
    let mut header = format!(
        "{:>9}  {:>14}  {:>14}  {:>16}  {:<24}  empty",
        "partition", "first seq", "last seq", "last offset", "last enqueued"
    );
    if tracked.is_some() {
        header.push_str(&format!(
            "  {:<24}  {:>14}  {:>10}",
            "owner", "checkpoint", "lag"
        ));
    }
    println!("{header}");
    for p in &partitions {
        let mut line = row(p, &time);
        if let Some(t) = state(&p.id) {
            let checkpoint = t
                .checkpoint
                .map_or_else(|| "-".to_owned(), |c| c.to_string());
            line.push_str(&format!(
                "  {:<24}  {:>14}  {:>10}",
                t.owner.as_deref().unwrap_or("-"),
                checkpoint,
                lag(p, t.checkpoint)
            ));
        }
        println!("{line}");
    }
    Ok(())
}

fn row(p: &PartitionProperties, time: &dyn Fn(std::time::SystemTime) -> String) -> String {
    format!(
        "{:>9}  {:>14}  {:>14}  {:>16}  {:<24}  {}",
        p.id,
        p.beginning_sequence_number,
        p.last_enqueued_sequence_number,
        p.last_enqueued_offset,
        if p.is_empty {
            "-".to_owned()
        } else {
            time(p.last_enqueued_time)
        },
        if p.is_empty { "yes" } else { "no" }
    )
}
