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
}

pub(crate) async fn run(args: Args) -> Result<(), Failure> {
    args.connect.init_logging()?;
    let consumer = args.connect.consumer()?;
    let hub = consumer.get_eventhub_properties().await?;
    let mut partitions = Vec::with_capacity(hub.partition_ids.len());
    for id in &hub.partition_ids {
        partitions.push(consumer.get_partition_properties(id).await?);
    }
    consumer.close().await;
    let time = crate::output::rfc3339;
    if args.json {
        let doc = serde_json::json!({
            "name": hub.name,
            "created_on": time(hub.created_on),
            "partition_ids": hub.partition_ids,
            "partitions": partitions.iter().map(|p| serde_json::json!({
                "id": p.id,
                "beginning_sequence_number": p.beginning_sequence_number,
                "last_enqueued_sequence_number": p.last_enqueued_sequence_number,
                "last_enqueued_offset": p.last_enqueued_offset,
                "last_enqueued_time": time(p.last_enqueued_time),
                "is_empty": p.is_empty,
            })).collect::<Vec<_>>(),
        });
        println!("{doc}");
        return Ok(());
    }
    println!("hub {} (created {})", hub.name, time(hub.created_on));
    println!(
        "{:>9}  {:>14}  {:>14}  {:>16}  {:<24}  empty",
        "partition", "first seq", "last seq", "last offset", "last enqueued"
    );
    for p in &partitions {
        println!("{}", row(p, &time));
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
