//! `eh bench`: producers and consumers in one process against a hub — or an emulator
//! started in the process — printing throughput and send-to-receive latency.

mod consume;
mod produce;
mod report;
mod stamp;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use eventhubs::{ConsumerClient, PartitionReceiverOptions, StartPosition};
use eventhubs_emulator::{Config, Emulator, HubConfig};
use hdrhistogram::Histogram;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::connect::ConnectArgs;
use crate::fail::Failure;
use crate::progress::Progress;
use consume::Counting;
use produce::{Budget, Load};
use report::{Flow, Report};
use stamp::Counters;

/// The hub `--embedded` creates.
const EMBEDDED_HUB: &str = "bench";

/// With no event for this long the consumers are taken to have everything they will get.
const STALL: Duration = Duration::from_secs(10);

/// Options of `eh bench`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    eh bench --embedded                                 10 s against an emulator in this process\n  \
    eh bench --embedded --count 100000 --json\n  \
    eh bench -c \"$CS\" --producers 4 --consumers 2 --size 1024 --duration 30s\n  \
    eh bench -c \"$CS\" --producers 0 --consumers 4     read what the hub holds\n\n\
    Each event carries two application properties, eh-bench-run and eh-bench-sent-us\n\
    (microseconds since the Unix epoch): consumers count their own run's events and time\n\
    each one from send to receive. Consumers start after each partition's last event, so a\n\
    real hub's other traffic is neither read nor counted. With --producers 0 the consumers\n\
    read every partition from the start to the last event it held when the run began.")]
pub(crate) struct Args {
    #[command(flatten)]
    connect: ConnectArgs,
    /// Run against an emulator started in this process (no connection string needed).
    #[arg(long)]
    embedded: bool,
    /// With --embedded: the hub's partition count.
    #[arg(long, default_value_t = 4, requires = "embedded",
        value_parser = clap::value_parser!(u16).range(1..=1024))]
    partitions: u16,
    /// Producer clients, each with a connection of its own.
    #[arg(long, default_value_t = 1)]
    producers: u16,
    /// Consumer clients, each with a connection of its own, sharing the partitions.
    #[arg(long, default_value_t = 1)]
    consumers: u16,
    /// Body size of each event in bytes.
    #[arg(long, default_value_t = 100)]
    size: usize,
    /// Events per batch (fewer when the batch is full first).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
    batch: u64,
    /// Batches each producer has in flight.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..))]
    in_flight: u16,
    /// How long the producers send (e.g. 10s, 1m).
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration,
        conflicts_with = "count")]
    duration: Duration,
    /// Send (or, with --producers 0, read) this many events in all, instead of --duration.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    count: Option<u64>,
    /// Events each partition's receiver asks for ahead.
    #[arg(long, default_value_t = 1000)]
    prefetch: u32,
    /// The results as one JSON document on stdout instead of a table.
    #[arg(long)]
    json: bool,
}

/// A partition to read: where from, and what to count.
struct Reading {
    partition: String,
    start: StartPosition,
    counting: Counting,
}

pub(crate) async fn run(mut args: Args) -> Result<(), Failure> {
    args.connect.init_logging()?;
    if args.producers == 0 && args.consumers == 0 {
        return Err(Failure::usage(
            "--producers 0 and --consumers 0: nothing to run",
        ));
    }
    let emulator = if args.embedded {
        let mut config = Config::default();
        config.hubs = vec![HubConfig::new(EMBEDDED_HUB, usize::from(args.partitions))];
        let emulator = Emulator::start(config)
            .await
            .map_err(|e| Failure::runtime(format!("cannot start the embedded emulator: {e}")))?;
        args.connect
            .replace_target(emulator.connection_string(Some(EMBEDDED_HUB)));
        Some(emulator)
    } else {
        None
    };
    let report = bench(&args).await;
    if let Some(emulator) = emulator {
        emulator.shutdown().await;
    }
    let report = report?;
    if args.json {
        println!("{}", report.json());
    } else {
        print!("{}", report.table());
    }
    match report.missing() {
        0 => Ok(()),
        n => Err(Failure::runtime(format!(
            "{n} events acknowledged by the hub were not received within {} s of the last one",
            STALL.as_secs()
        ))),
    }
}

async fn bench(args: &Args) -> Result<Report, Failure> {
    let admin = args.connect.consumer()?;
    let hub = admin.get_eventhub_properties().await?;
    let run = stamp::run_id();
    let readings = plan(
        &admin,
        &hub.partition_ids,
        (args.producers > 0).then_some(run),
    )
    .await?;
    admin.close().await;
    let counters = Arc::new(Counters::default());
    // Producers stop at Ctrl-C; consumers once they have what was sent.
    let (stop_sending, sending_stopped) = watch::channel(false);
    let (stop_reading, reading_stopped) = watch::channel(false);

    // Every receiver attached before anything is sent or timed.
    let mut consumers: Vec<ConsumerClient> = Vec::new();
    let mut receivers = Vec::new();
    for c in 0..usize::from(args.consumers) {
        let client = args.connect.consumer()?;
        for r in readings.iter().skip(c).step_by(usize::from(args.consumers)) {
            let options = PartitionReceiverOptions::default()
                .start_position(r.start.clone())
                .prefetch(args.prefetch);
            let receiver = client
                .open_partition_receiver(&r.partition, options)
                .await?;
            let counting = match r.counting {
                Counting::Run(_) => Counting::Run(run),
                upto => upto,
            };
            receivers.push((receiver, counting));
        }
        consumers.push(client);
    }
    let producers = (0..args.producers)
        .map(|_| args.connect.producer())
        .collect::<Result<Vec<_>, _>>()?;

    let started = Instant::now();
    let mut readers: JoinSet<Result<Histogram<u64>, Failure>> = JoinSet::new();
    for (receiver, counting) in receivers {
        readers.spawn(consume::consume(
            receiver,
            counting,
            started,
            counters.clone(),
            reading_stopped.clone(),
        ));
    }
    let deadline = started + args.duration;
    let load = Arc::new(Load {
        body: Bytes::from(vec![b'x'; args.size]),
        batch: args.batch,
        in_flight: usize::from(args.in_flight),
        run,
        budget: match args.count {
            Some(n) => Budget::Count(n.into()),
            None => Budget::Until(deadline),
        },
    });
    let mut writers: JoinSet<Result<(), Failure>> = JoinSet::new();
    for (p, client) in producers.into_iter().enumerate() {
        // Each producer starts at a different partition.
        let mut partitions = hub.partition_ids.clone();
        let first = p % partitions.len().max(1);
        partitions.rotate_left(first);
        writers.spawn(produce::produce(
            client,
            partitions,
            load.clone(),
            counters.clone(),
            sending_stopped.clone(),
        ));
    }

    let progress = Progress::status();
    let mut latency = consume::histogram();
    let outcome = watch_run(
        args,
        &mut writers,
        &mut readers,
        &counters,
        &stop_sending,
        &progress,
        (started, deadline),
        &mut latency,
    )
    .await;
    let _ = stop_sending.send(true);
    let _ = stop_reading.send(true);
    writers.abort_all();
    while let Some(r) = readers.join_next().await {
        if let Ok(Ok(h)) = r {
            let _ = latency.add(h);
        }
    }
    progress.finish();
    for c in consumers {
        c.close().await;
    }
    let send_seconds = outcome?;
    let load = |events: &std::sync::atomic::AtomicU64| events.load(Ordering::Relaxed);
    Ok(Report {
        hub: hub.name,
        embedded: args.embedded,
        partitions: hub.partition_ids.len(),
        producers: args.producers,
        consumers: args.consumers,
        size: args.size,
        batch: args.batch,
        sent: (args.producers > 0).then(|| Flow {
            events: load(&counters.sent),
            bytes: load(&counters.sent_bytes),
            seconds: send_seconds,
        }),
        received: (args.consumers > 0).then(|| Flow {
            events: load(&counters.received),
            bytes: load(&counters.received_bytes),
            seconds: load(&counters.last_received_us) as f64 / 1e6,
        }),
        latency,
    })
}

/// Where each partition is read from. With producers (their `run`): after the last event
/// there now, counting only that run's. Without: from the start up to that last event
/// (empty partitions are left out).
async fn plan(
    admin: &ConsumerClient,
    partitions: &[String],
    run: Option<u64>,
) -> Result<Vec<Reading>, Failure> {
    let mut readings = Vec::with_capacity(partitions.len());
    for id in partitions {
        let p = admin.get_partition_properties(id).await?;
        let (start, counting) = match (run, p.is_empty) {
            (Some(run), true) => (StartPosition::earliest(), Counting::Run(run)),
            (Some(run), false) => (
                StartPosition::sequence_number(p.last_enqueued_sequence_number),
                Counting::Run(run),
            ),
            (None, true) => continue,
            (None, false) => (
                StartPosition::earliest(),
                Counting::UpTo(p.last_enqueued_sequence_number),
            ),
        };
        readings.push(Reading {
            partition: id.clone(),
            start,
            counting,
        });
    }
    Ok(readings)
}

/// Follows the run until it is over: the producers done and every acknowledged event
/// received (or no event for [`STALL`]); without producers, the readers done, the count
/// reached or the duration over. Ctrl-C stops the producers early. Returns how long the
/// producers took.
#[allow(clippy::too_many_arguments)]
async fn watch_run(
    args: &Args,
    writers: &mut JoinSet<Result<(), Failure>>,
    readers: &mut JoinSet<Result<Histogram<u64>, Failure>>,
    counters: &Counters,
    stop_sending: &watch::Sender<bool>,
    progress: &Progress,
    (started, deadline): (Instant, Instant),
    latency: &mut Histogram<u64>,
) -> Result<f64, Failure> {
    let mut sending_took = None;
    let mut interrupted = false;
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let (mut last_received, mut last_change) = (0, Instant::now());
    loop {
        let sent = counters.sent.load(Ordering::Relaxed);
        let received = counters.received.load(Ordering::Relaxed);
        if received != last_received {
            (last_received, last_change) = (received, Instant::now());
        }
        let sending = !writers.is_empty();
        if !sending && sending_took.is_none() {
            sending_took = Some(started.elapsed().as_secs_f64());
        }
        let over = if args.producers > 0 {
            !sending && (args.consumers == 0 || received >= sent || last_change.elapsed() >= STALL)
        } else {
            readers.is_empty()
                || args.count.is_some_and(|n| received >= n)
                || (args.count.is_none() && Instant::now() >= deadline)
        };
        if over {
            return Ok(sending_took.unwrap_or_default());
        }
        progress.say(format!("sent {sent}  received {received}"));
        tokio::select! {
            Some(done) = writers.join_next(), if sending => match done {
                Ok(Ok(())) => {}
                Ok(Err(f)) => return Err(f),
                Err(e) => return Err(Failure::runtime(format!("a producer failed: {e}"))),
            },
            Some(done) = readers.join_next(), if !readers.is_empty() => match done {
                Ok(Ok(h)) => { let _ = latency.add(h); }
                Ok(Err(f)) => return Err(f),
                Err(e) => return Err(Failure::runtime(format!("a consumer failed: {e}"))),
            },
            _ = tick.tick() => {}
            _ = &mut ctrl_c, if !interrupted => {
                // Producers stop taking new batches; what is under way still counts, and
                // the consumers get what was sent.
                interrupted = true;
                let _ = stop_sending.send(true);
                if args.producers == 0 {
                    return Ok(0.0);
                }
            }
        }
    }
}
