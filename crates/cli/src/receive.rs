//! `eh receive`: events of one or more partitions on stdout, one per line — the body as
//! sent, JSON, or a template — from any position, until a count, the end, or Ctrl-C.

use std::io::Write;
use std::time::{Duration, SystemTime};

use eventhubs::{PartitionReceiverOptions, ReceivedEventData};
use tokio::sync::mpsc;

use crate::connect::ConnectArgs;
use crate::fail::Failure;
use crate::output::{self, Format};

/// Options of `eh receive`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    eh receive --from earliest -e                 everything there is, then exit\n  \
    eh receive --partition 0 --from -5m --json    the last five minutes of partition 0\n  \
    eh receive --format '%p/%s %k: %b' --count 10")]
pub(crate) struct Args {
    #[command(flatten)]
    connect: ConnectArgs,
    /// Read this partition (repeatable; default: all).
    #[arg(long = "partition", value_name = "ID")]
    partitions: Vec<String>,
    /// Where to start: earliest, latest, seq:N, offset:X, time:RFC3339 or -DURATION (-5m).
    #[arg(long, default_value = "latest", allow_hyphen_values = true)]
    from: String,
    /// Include the event at --from's sequence number, offset or time.
    #[arg(long)]
    inclusive: bool,
    /// Stop after this many events in all.
    #[arg(long)]
    count: Option<u64>,
    /// Stop when every partition has reached the last event it had at start.
    #[arg(short = 'e', long)]
    exit_at_end: bool,
    /// One JSON object per event (partition, sequence_number, offset, enqueued_time,
    /// partition_key, properties, system_properties, body).
    #[arg(long, conflicts_with = "format")]
    json: bool,
    /// A line per event from a template: %p partition, %s sequence number, %o offset,
    /// %t enqueued time, %k partition key, %b body, %h properties as JSON; \n and \t.
    #[arg(long)]
    format: Option<String>,
    /// Events each partition's receiver asks for ahead.
    #[arg(long, default_value_t = 1000)]
    prefetch: u32,
}

/// Events formatted by a partition's task: their lines, and where each line ends (for
/// `--count`). Formatting (and freeing the events) where they were received spreads the
/// work over the runtime's threads and keeps allocations on the thread that made them.
struct Lines {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

/// What the partition tasks hand the writer.
type Received = Result<Lines, Failure>;

/// Formats `events` as `format` says.
fn lines(format: &Format, events: &[ReceivedEventData]) -> Lines {
    let mut lines = Lines {
        bytes: Vec::with_capacity(events.len() * 128),
        ends: Vec::with_capacity(events.len()),
    };
    for event in events {
        // Writing into a Vec cannot fail.
        let _ = output::write(&mut lines.bytes, format, event);
        lines.ends.push(lines.bytes.len());
    }
    lines
}

pub(crate) async fn run(args: Args) -> Result<(), Failure> {
    args.connect.init_logging()?;
    let from = crate::from::parse(&args.from, SystemTime::now()).map_err(Failure::usage)?;
    let start = from.position(args.inclusive);
    let format = match (&args.format, args.json) {
        (Some(t), _) => Format::Template(output::template(t).map_err(Failure::usage)?),
        (None, true) => Format::Json,
        (None, false) => Format::Body,
    };
    let consumer = args.connect.consumer()?;
    let partitions = if args.partitions.is_empty() {
        consumer.get_partition_ids().await?
    } else {
        args.partitions.clone()
    };
    let (tx, mut rx) = mpsc::channel::<Received>(64);
    for partition in &partitions {
        // With --exit-at-end: the last sequence number now (None: nothing to read).
        let end = if args.exit_at_end {
            let p = consumer.get_partition_properties(partition).await?;
            let last = (
                p.last_enqueued_sequence_number,
                p.last_enqueued_offset.as_str(),
                p.last_enqueued_time,
            );
            if p.is_empty || from.past(args.inclusive, last.0, last.1, last.2) {
                continue;
            }
            Some(p.last_enqueued_sequence_number)
        } else {
            None
        };
        let options = PartitionReceiverOptions::default()
            .start_position(start.clone())
            .prefetch(args.prefetch);
        let mut receiver = consumer.open_partition_receiver(partition, options).await?;
        let tx = tx.clone();
        let max = args.prefetch.max(1) as usize;
        let format = format.clone();
        tokio::spawn(async move {
            loop {
                // The first event waits; what has already arrived comes with it.
                let first = tokio::select! {
                    r = receiver.recv() => r,
                    () = tx.closed() => return,
                };
                let mut batch = match first {
                    Ok(e) => vec![e],
                    Err(e) => {
                        let _ = tx.send(Err(e.into())).await;
                        return;
                    }
                };
                if let Ok(more) = receiver.recv_batch(max, Duration::ZERO).await {
                    batch.extend(more);
                }
                let done = end.and_then(|end| {
                    let at = batch.iter().position(|e| e.sequence_number() >= end)?;
                    batch.truncate(at + 1);
                    Some(())
                });
                let formatted = lines(&format, &batch);
                drop(batch);
                if tx.send(Ok(formatted)).await.is_err() || done.is_some() {
                    receiver.close().await;
                    return;
                }
            }
        });
    }
    drop(tx);
    let outcome = write_all(&mut rx, args.count).await;
    drop(rx);
    consumer.close().await;
    outcome
}

/// Writes what the partitions hand over until they are all done, `count` events are out,
/// or stdout is closed (a quiet success, as for `eh receive | head -1`).
async fn write_all(rx: &mut mpsc::Receiver<Received>, count: Option<u64>) -> Result<(), Failure> {
    if count == Some(0) {
        return Ok(());
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, stdout.lock());
    let mut written = 0u64;
    let broken = |e: std::io::Error| -> Result<(), Failure> {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            Ok(())
        } else {
            Err(Failure::runtime(format!("writing to stdout: {e}")))
        }
    };
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let reader_gone = crate::stdout_closed::closed();
    tokio::pin!(reader_gone);
    loop {
        let next = match rx.try_recv() {
            Ok(next) => next,
            Err(mpsc::error::TryRecvError::Disconnected) => break,
            Err(mpsc::error::TryRecvError::Empty) => {
                // Nothing waiting: what is written so far goes out before the wait.
                if let Err(e) = out.flush() {
                    return broken(e);
                }
                tokio::select! {
                    next = rx.recv() => match next {
                        Some(next) => next,
                        None => break,
                    },
                    _ = &mut ctrl_c => break,
                    // Nobody reads any more: a quiet success.
                    () = &mut reader_gone => return Ok(()),
                }
            }
        };
        let next = next?;
        let room = count.map_or(usize::MAX, |c| (c - written) as usize);
        let take = next.ends.len().min(room);
        let upto = take.checked_sub(1).map_or(0, |i| next.ends[i]);
        if let Err(e) = out.write_all(&next.bytes[..upto]) {
            return broken(e);
        }
        written += take as u64;
        if count.is_some_and(|c| written >= c) {
            return out.flush().or_else(broken);
        }
    }
    out.flush().or_else(broken)
}
