//! `eh checkpoints`: the processors' blob checkpoint store for one hub and consumer group —
//! list it, export and import its checkpoints as JSON lines, and import the Go v3 Event
//! Processor Host's lease blobs.

mod record;

use std::collections::BTreeMap;
use std::io::{BufRead, Write};

use eventhubs::{Checkpoint, CheckpointStore};
use eventhubs_checkpointstore_blob::{import_v3_checkpoints, BlobCheckpointStore, V3ImportOptions};

use crate::connect::ConnectArgs;
use crate::fail::Failure;

/// Options of `eh checkpoints`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Each partition's checkpoint and owner, as a table or JSON lines.
    #[command(after_help = "Example:\n  \
        eh checkpoints list -c \"$CS\" -g mygroup --storage \"$STORAGE\" --container checkpoints")]
    List(ListArgs),
    /// The checkpoints as JSON lines on stdout (one per partition), for `import`.
    #[command(
        after_help = "Example (copy a group's checkpoints to another group):\n  \
        eh checkpoints export -g old --container c | eh checkpoints import -g new --container c"
    )]
    Export(Where),
    /// Write checkpoints read as JSON lines from stdin (as `export` prints them) into the
    /// hub and consumer group given here, whatever the lines name. Every line is checked
    /// before anything is written.
    #[command(after_help = "Example:\n  \
        echo '{\"partition_id\":\"0\",\"sequence_number\":41,\"offset\":\"4100\"}' | \\\n    \
        eh checkpoints import --container checkpoints")]
    Import(ImportArgs),
    /// Import the checkpoints of Go v3 Event Processor Host lease blobs (one JSON blob per
    /// partition) into the modern layout. Leases are not touched; refused while a v3 host
    /// still holds one, unless --force.
    #[command(
        name = "import-v3",
        after_help = "Example:\n  \
        eh checkpoints import-v3 --from-container eph-leases --container checkpoints --dry-run"
    )]
    ImportV3(V3Args),
}

/// The store and the hub and consumer group whose checkpoints are meant.
#[derive(Debug, clap::Args)]
struct Where {
    #[command(flatten)]
    connect: ConnectArgs,
    /// The storage account's connection string.
    #[arg(
        long,
        env = "AZURE_STORAGE_CONNECTION_STRING",
        hide_env_values = true,
        value_name = "STORAGE_CONNECTION_STRING"
    )]
    storage: Option<String>,
    /// The storage account's blob URL (`https://account.blob.core.windows.net`), signed in
    /// with Microsoft Entra ID instead of a connection string: the credential --aad names
    /// (default `env`). The identity needs a data role such as Storage Blob Data Contributor.
    #[arg(long, value_name = "URL", conflicts_with = "storage")]
    storage_url: Option<String>,
    /// The checkpoint store's container.
    #[arg(long, env = "AZURE_STORAGE_CONTAINER")]
    container: String,
}

#[derive(Debug, clap::Args)]
struct ListArgs {
    #[command(flatten)]
    at: Where,
    /// One JSON object per partition instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
struct ImportArgs {
    #[command(flatten)]
    at: Where,
    /// Check and print what would be written; write nothing.
    #[arg(long)]
    dry_run: bool,
}

#[derive(Debug, clap::Args)]
struct V3Args {
    #[command(flatten)]
    at: Where,
    /// The container of the v3 lease blobs (in the same storage account).
    #[arg(long)]
    from_container: String,
    /// The v3 blobs' name prefix (the blobs are `{prefix}{partition}`).
    #[arg(long, default_value = "")]
    prefix: String,
    /// Import even while v3 hosts hold leases (their later checkpoints are then lost).
    #[arg(long)]
    force: bool,
    /// Report what would be imported; write nothing.
    #[arg(long)]
    dry_run: bool,
}

pub(crate) async fn run(args: Args) -> Result<(), Failure> {
    match args.command {
        Command::List(a) => list(a).await,
        Command::Export(a) => export(a).await,
        Command::Import(a) => import(a).await,
        Command::ImportV3(a) => import_v3(a).await,
    }
}

/// A store and the (namespace, hub, consumer group) of the command.
struct Target {
    store: BlobCheckpointStore,
    namespace: String,
    hub: String,
    group: String,
}

impl Target {
    fn scope(&self) -> (&str, &str, &str) {
        (&self.namespace, &self.hub, &self.group)
    }

    fn name(&self) -> String {
        format!("{}/{}/{}", self.namespace, self.hub, self.group)
    }
}

impl Where {
    /// The store in `container`: by --storage's connection string, or at --storage-url
    /// with an Entra ID credential. No request is made.
    fn store(&self, container: &str) -> Result<BlobCheckpointStore, Failure> {
        if let Some(url) = &self.storage_url {
            let mut store = BlobCheckpointStore::with_token_provider(
                url,
                self.connect.storage_credential()?,
                container,
            )
            .map_err(|e| Failure::usage(format!("--storage-url: {e}")))?;
            if let Some(pem) = self.connect.ca_pem()? {
                store = store
                    .add_root_certificates(&pem)
                    .map_err(|e| Failure::usage(format!("--ca-file: {e}")))?;
            }
            return Ok(store);
        }
        let Some(storage) = &self.storage else {
            return Err(Failure::usage(
                "no storage account: pass --storage (or set AZURE_STORAGE_CONNECTION_STRING), \
                 or --storage-url to sign in with Entra ID",
            ));
        };
        BlobCheckpointStore::from_connection_string(storage, container)
            .map_err(|e| Failure::usage(format!("--storage: {e}")))
    }
}

/// Opens the store (no request is made) and works out the scope: from --namespace and -n,
/// or from the connection string. Nothing connects to Event Hubs.
fn open(at: &Where, container: &str) -> Result<Target, Failure> {
    at.connect.init_logging()?;
    let store = at.store(container)?;
    let group = at.connect.consumer_group.clone();
    // The names alone are enough to find the checkpoints: no connection is made.
    let (namespace, hub) = match (at.connect.namespace(), at.connect.hub_name()) {
        (Some(ns), Some(hub)) => (ns.to_owned(), hub.to_owned()),
        (Some(_), None) => return Err(Failure::usage("--namespace needs -n/--hub")),
        (None, _) => {
            let consumer = at.connect.consumer()?;
            (
                consumer.fully_qualified_namespace().to_owned(),
                consumer.eventhub_name().to_owned(),
            )
        }
    };
    Ok(Target {
        store,
        namespace,
        hub,
        group,
    })
}

/// Partition ids in numeric order where they are numbers.
fn partition_order(id: &str) -> (u64, String) {
    (id.parse().unwrap_or(u64::MAX), id.to_owned())
}

async fn list(args: ListArgs) -> Result<(), Failure> {
    let t = open(&args.at, &args.at.container)?;
    let (ns, hub, group) = t.scope();
    let mut rows: BTreeMap<(u64, String), (Option<Checkpoint>, Option<eventhubs::Ownership>)> =
        BTreeMap::new();
    for c in t.store.list_checkpoints(ns, hub, group).await? {
        let key = partition_order(&c.partition_id);
        rows.entry(key).or_default().0 = Some(c);
    }
    for o in t.store.list_ownership(ns, hub, group).await? {
        let key = partition_order(&o.partition_id);
        rows.entry(key).or_default().1 = Some(o);
    }
    let time = crate::output::rfc3339;
    let mut out = std::io::stdout().lock();
    let mut emit = |line: String| writeln!(out, "{line}");
    if args.json {
        for ((_, id), (c, o)) in &rows {
            let owner = o.as_ref().filter(|o| !o.owner_id.is_empty());
            let doc = serde_json::json!({
                "partition_id": id,
                "sequence_number": c.as_ref().and_then(|c| c.sequence_number),
                "offset": c.as_ref().and_then(|c| c.offset.clone()),
                "owner_id": owner.map(|o| o.owner_id.clone()),
                "owner_since": owner.map(|o| time(o.last_modified_time)),
            });
            emit(doc.to_string()).map_err(stdout_error)?;
        }
        return Ok(());
    }
    emit(format!(
        "checkpoints of {} in container {}",
        t.name(),
        args.at.container
    ))
    .map_err(stdout_error)?;
    emit(format!(
        "{:>9}  {:>14}  {:>16}  {:<36}  owner since",
        "partition", "sequence", "offset", "owner"
    ))
    .map_err(stdout_error)?;
    for ((_, id), (c, o)) in &rows {
        let dash = || "-".to_owned();
        let owner = o.as_ref().filter(|o| !o.owner_id.is_empty());
        emit(format!(
            "{id:>9}  {:>14}  {:>16}  {:<36}  {}",
            c.as_ref()
                .and_then(|c| c.sequence_number)
                .map_or_else(dash, |s| s.to_string()),
            c.as_ref()
                .and_then(|c| c.offset.clone())
                .unwrap_or_else(dash),
            owner.map_or_else(dash, |o| o.owner_id.clone()),
            owner.map_or_else(dash, |o| time(o.last_modified_time)),
        ))
        .map_err(stdout_error)?;
    }
    if rows.is_empty() {
        emit("(none)".into()).map_err(stdout_error)?;
    }
    Ok(())
}

fn stdout_error(e: std::io::Error) -> Failure {
    Failure::runtime(format!("writing to stdout: {e}"))
}

async fn export(at: Where) -> Result<(), Failure> {
    let t = open(&at, &at.container)?;
    let (ns, hub, group) = t.scope();
    let mut checkpoints = t.store.list_checkpoints(ns, hub, group).await?;
    checkpoints.sort_by_key(|c| partition_order(&c.partition_id));
    let mut out = std::io::stdout().lock();
    for c in &checkpoints {
        writeln!(out, "{}", record::to_json(c)).map_err(stdout_error)?;
    }
    out.flush().map_err(stdout_error)?;
    eprintln!("exported {} checkpoints of {}", checkpoints.len(), t.name());
    Ok(())
}

async fn import(args: ImportArgs) -> Result<(), Failure> {
    let t = open(&args.at, &args.at.container)?;
    // Every line is read and checked before the first write: a bad line leaves the store
    // as it was.
    let mut lines = Vec::new();
    for (n, line) in std::io::stdin().lock().lines().enumerate() {
        let line = line.map_err(|e| Failure::runtime(format!("reading stdin: {e}")))?;
        if line.trim().is_empty() {
            continue;
        }
        let parsed = record::parse(&line)
            .map_err(|e| Failure::usage(format!("stdin line {}: {e}", n + 1)))?;
        lines.push(parsed);
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(twice) = lines.iter().find(|l| !seen.insert(l.partition_id.clone())) {
        return Err(Failure::usage(format!(
            "partition {} appears on more than one line",
            twice.partition_id
        )));
    }
    let (ns, hub, group) = t.scope();
    for l in &lines {
        let mut c = Checkpoint::new(ns, hub, group, l.partition_id.clone());
        c.sequence_number = l.sequence_number;
        c.offset.clone_from(&l.offset);
        if args.dry_run {
            println!("{}", record::to_json(&c));
        } else {
            t.store.update_checkpoint(c).await?;
        }
    }
    let sources: std::collections::BTreeSet<&str> =
        lines.iter().filter_map(|l| l.from.as_deref()).collect();
    let from = match sources.len() {
        0 => String::new(),
        _ => format!(
            " (the lines name {})",
            sources.into_iter().collect::<Vec<_>>().join(", ")
        ),
    };
    eprintln!(
        "{} {} checkpoints into {}{from}",
        if args.dry_run {
            "would import"
        } else {
            "imported"
        },
        lines.len(),
        t.name()
    );
    Ok(())
}

async fn import_v3(args: V3Args) -> Result<(), Failure> {
    let t = open(&args.at, &args.at.container)?;
    let source = args.at.store(&args.from_container)?;
    let options = V3ImportOptions::default()
        .force(args.force)
        .dry_run(args.dry_run);
    let report =
        import_v3_checkpoints(&source, &args.prefix, &t.store, t.scope(), &options).await?;
    if report.imported.is_empty() && report.skipped.is_empty() {
        return Err(Failure::runtime(format!(
            "no blobs under the prefix {:?} in container {}: is --prefix right?",
            args.prefix, args.from_container
        )));
    }
    for (partition, sequence, offset) in &report.imported {
        println!("partition {partition}: sequence number {sequence}, offset {offset}");
    }
    for (blob, why) in &report.skipped {
        eprintln!("skipped {blob}: {why}");
    }
    eprintln!(
        "{} {} v3 checkpoints from {}/{} into {}",
        if args.dry_run {
            "would import"
        } else {
            "imported"
        },
        report.imported.len(),
        args.from_container,
        args.prefix,
        t.name()
    );
    Ok(())
}
