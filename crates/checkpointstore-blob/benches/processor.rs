//! Event processor benchmark: events handled per second by 1, 2 and 4 of our processors
//! (one process, one emulator, one Azurite) on a pre-filled hub of 16 partitions, each
//! checkpointing every 1,000 events per partition into Azure Blob Storage (Azurite), beside
//! the official Python SDK's processor doing the same work; and how long 4 of our processors
//! take to balance 32 partitions. Prints events/s, this process's CPU per event (processors
//! and emulator) and Azurite's. `cargo bench -p eventhubs-checkpointstore-blob --bench
//! processor [-- --quick] [-- --members N]` (`--members N`: only the row of N of ours, for
//! profiling).

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use eventhubs::{
    CheckpointStore, ClientOptions, ConsumerClient, HostOptions, LoadBalancingStrategy, Processor,
    ProcessorHost, ProcessorOptions, ProducerClient, SendEventOptions, StartPosition,
    DEFAULT_CONSUMER_GROUP,
};
use eventhubs_checkpointstore_blob::BlobCheckpointStore;
use eventhubs_emulator::config::Retention;
use eventhubs_emulator::{Config, Emulator, HubConfig};
use eventhubs_test_support::azurite::Azurite;
use eventhubs_test_support::bench::{cpu_now, invoked_by_cargo_bench};

const PARTITIONS: usize = 16;

fn config(partitions: usize) -> Config {
    let mut config = Config::default();
    config.hubs = vec![HubConfig::new("eh1", partitions)];
    config.retention = Retention {
        max_events: usize::MAX,
        max_bytes: u64::MAX,
        ..Retention::default()
    };
    config
}

async fn fill(em: &Emulator, per_partition: usize) {
    let producer = ProducerClient::from_connection_string(
        &em.connection_string(Some("eh1")),
        None,
        ClientOptions::default(),
    )
    .unwrap();
    let body = "x".repeat(100);
    for p in 0..PARTITIONS {
        for chunk in 0..per_partition.div_ceil(10_000) {
            let n = 10_000.min(per_partition - chunk * 10_000);
            producer
                .send_events(
                    (0..n).map(|_| body.as_str()),
                    SendEventOptions::default().partition_id(p.to_string()),
                )
                .await
                .unwrap();
        }
    }
    producer.close().await;
}

fn processor(
    em: &Emulator,
    store: &Arc<BlobCheckpointStore>,
    strategy: LoadBalancingStrategy,
    interval: Duration,
) -> Processor {
    let consumer = ConsumerClient::from_connection_string(
        &em.connection_string(Some("eh1")),
        None,
        DEFAULT_CONSUMER_GROUP,
        ClientOptions::default(),
    )
    .unwrap();
    let options = ProcessorOptions::default()
        .strategy(strategy)
        .update_interval(interval)
        .ownership_expiration(interval * 6)
        .prefetch(3000)
        .default_start_position(StartPosition::earliest());
    Processor::new(consumer, store.clone(), options).unwrap()
}

/// `members` of our processors (as `ProcessorHost`s, checkpointing every 1,000 events per
/// partition) read a hub pre-filled with `per_partition` events on each partition: (events/s
/// from the first event to the moment every partition's last event was handled, CPU ns per
/// event for the whole process). While a fleet balances, a stolen partition's new owner
/// repeats what the old one handled after its last checkpoint; those repeats are counted and
/// printed, and the rate counts each event once.
async fn ours(
    em: &Emulator,
    azurite: &Azurite,
    storage: &str,
    container: &str,
    members: usize,
    per_partition: usize,
) -> Row {
    let total = (per_partition * PARTITIONS) as u64;
    let store = Arc::new(BlobCheckpointStore::from_connection_string(storage, container).unwrap());
    store.create_container_if_missing().await.unwrap();
    let handled = Arc::new(AtomicU64::new(0));
    let reached: Arc<Vec<AtomicI64>> =
        Arc::new((0..PARTITIONS).map(|_| AtomicI64::new(-1)).collect());
    let first: Arc<std::sync::OnceLock<Instant>> = Arc::default();
    let c0 = cpu_now();
    let a0 = azurite.cpu_time();
    let mut hosts = Vec::new();
    for _ in 0..members {
        let host = ProcessorHost::new(
            processor(
                em,
                &store,
                LoadBalancingStrategy::Greedy,
                Duration::from_millis(500),
            ),
            HostOptions::default().checkpoint_every(1000, Duration::from_secs(5)),
        );
        let (handled, reached, first) = (handled.clone(), reached.clone(), first.clone());
        host.register_handler(move |event| {
            first.get_or_init(Instant::now);
            handled.fetch_add(1, Ordering::Relaxed);
            if let Ok(p) = event.partition_id().parse::<usize>() {
                reached[p].fetch_max(event.sequence_number(), Ordering::Relaxed);
            }
            std::future::ready(Ok(()))
        });
        host.start().unwrap();
        hosts.push(host);
    }
    let last = per_partition as i64 - 1;
    let deadline = Instant::now() + Duration::from_secs(300);
    while !reached.iter().all(|r| r.load(Ordering::Relaxed) == last) {
        assert!(
            Instant::now() < deadline,
            "not every partition read within 300 s"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let wall = first.get().map_or(Duration::ZERO, Instant::elapsed);
    let cpu = cpu_now() - c0;
    let storage_cpu = azurite.cpu_time().zip(a0).map(|(a, b)| a - b);
    for host in hosts {
        host.close().await;
    }
    let repeats = handled.load(Ordering::Relaxed).saturating_sub(total);
    eprintln!(
        "  ours x{members}: {total} events in {wall:?} ({repeats} handled again after rebalancing)"
    );
    Row {
        rate: total as f64 / wall.as_secs_f64(),
        cpu: cpu.as_nanos() as f64 / total as f64,
        storage_cpu: storage_cpu.map(|c| c.as_nanos() as f64 / total as f64),
    }
}

/// One line of the table: events/s, CPU ns per event of the processors' side (for ours,
/// this process, which also runs the emulator), and Azurite's CPU ns per event.
struct Row {
    rate: f64,
    cpu: f64,
    storage_cpu: Option<f64>,
}

/// Python's processor on the same hub (a fresh container): (events/s, CPU ns/event of the
/// peer plus this process, which serves it).
async fn python(em: &Emulator, azurite: &Azurite, storage: &str, total: u64) -> Option<Row> {
    let python = eventhubs_test_support::interop_python()?;
    let dir = eventhubs_test_support::repo_root().join("interop/python");
    let store = BlobCheckpointStore::from_connection_string(storage, "pythonbench").unwrap();
    store.create_container_if_missing().await.unwrap();
    let c0 = cpu_now();
    let a0 = azurite.cpu_time();
    let out = tokio::time::timeout(
        Duration::from_secs(600),
        tokio::process::Command::new(python)
            .arg(dir.join("processor_bench.py"))
            .args([
                &em.connection_string(Some("eh1")),
                storage,
                "pythonbench",
                &total.to_string(),
            ])
            .kill_on_drop(true)
            .output(),
    )
    .await
    .ok()?
    .ok()?;
    let line = String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| l.starts_with("RESULT "))
        .map(str::to_owned);
    let Some(line) = line else {
        eprintln!("  python: {}", String::from_utf8_lossy(&out.stderr));
        return None;
    };
    let v: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let [n, secs, cpu] = v[..] else { return None };
    eprintln!("  python: {n} events in {secs:.2} s");
    let ours_cpu = (cpu_now() - c0).as_secs_f64();
    let storage_cpu = azurite.cpu_time().zip(a0).map(|(a, b)| a - b);
    Some(Row {
        rate: n / secs,
        cpu: (cpu + ours_cpu) * 1e9 / n,
        storage_cpu: storage_cpu.map(|c| c.as_nanos() as f64 / n),
    })
}

/// How long 4 balanced processors (1 s update interval) take to split 32 partitions 8/8/8/8.
async fn convergence(storage: &str) -> Duration {
    let em = Emulator::start(config(32)).await.unwrap();
    let store =
        Arc::new(BlobCheckpointStore::from_connection_string(storage, "convergence").unwrap());
    store.create_container_if_missing().await.unwrap();
    let started = Instant::now();
    let procs: Vec<Processor> = (0..4)
        .map(|_| {
            processor(
                &em,
                &store,
                LoadBalancingStrategy::Balanced,
                Duration::from_secs(1),
            )
        })
        .collect();
    for p in &procs {
        let p = p.clone();
        tokio::spawn(async move { p.run().await });
    }
    let took = loop {
        let counts: Vec<usize> = procs
            .iter()
            .map(|p| p.owned_partition_ids().len())
            .collect();
        if counts.iter().all(|&c| c == 8) {
            break started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "not balanced: {counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    for p in &procs {
        p.close().await;
    }
    let c = ConsumerClient::from_connection_string(
        &em.connection_string(Some("eh1")),
        None,
        DEFAULT_CONSUMER_GROUP,
        ClientOptions::default(),
    )
    .unwrap();
    let owners = store
        .list_ownership(c.fully_qualified_namespace(), "eh1", DEFAULT_CONSUMER_GROUP)
        .await
        .unwrap();
    assert_eq!(owners.len(), 32);
    took
}

fn main() {
    if !invoked_by_cargo_bench() {
        return;
    }
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    // `--members N`: only the row of N of our processors (for profiling).
    let only: Option<usize> = args
        .iter()
        .position(|a| a == "--members")
        .and_then(|i| args.get(i + 1)?.parse().ok());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let Some(azurite) = Azurite::start() else {
            panic!("azurite is needed: run scripts/setup-interop.sh");
        };
        let storage = azurite.connection_string();
        let per_partition = if quick { 12_500 } else { 125_000 };
        let mut rows = Vec::new();
        for members in [1, 2, 4].into_iter().filter(|m| only.is_none_or(|o| o == *m)) {
            // A fresh hub per row: every row reads all of it from the start.
            let em = Emulator::start(config(PARTITIONS)).await.unwrap();
            fill(&em, per_partition).await;
            let row = ours(&em, &azurite, &storage, &format!("ours{members}"), members, per_partition).await;
            rows.push((format!("ours, {members} processor{}", if members > 1 { "s" } else { "" }), row));
        }
        if only.is_some() {
            for (name, row) in &rows {
                let storage = row.storage_cpu.unwrap_or(f64::NAN);
                println!("{name}: {:.0} events/s, {:.0} CPU ns/event, Azurite {storage:.0} CPU ns/event", row.rate, row.cpu);
            }
            return;
        }
        let python_events = if quick { 16_000 } else { 64_000 };
        let em = Emulator::start(config(PARTITIONS)).await.unwrap();
        fill(&em, python_events / PARTITIONS).await;
        let py = python(&em, &azurite, &storage, python_events as u64).await;
        let converged = convergence(&storage).await;

        println!();
        println!("| processors | events/s | CPU ns/event (processors + emulator) | Azurite CPU ns/event |");
        println!("|---|---:|---:|---:|");
        let line = |name: &str, row: &Row| {
            let storage = row.storage_cpu.map_or_else(|| "n/a".to_owned(), |c| format!("{c:.0}"));
            println!("| {name} | {:.0} | {:.0} | {storage} |", row.rate, row.cpu);
        };
        for (name, row) in &rows {
            line(name, row);
        }
        if let Some(row) = &py {
            line("python azure-eventhub 5.15.1 + checkpointstoreblob-aio 1.2.0, 1 processor", row);
            let best = rows.iter().map(|(_, r)| r.rate).fold(0.0, f64::max);
            println!("ours (1 processor) / python: {:.1}x; best fleet / python: {:.1}x", rows[0].1.rate / row.rate, best / row.rate);
        }
        println!("4 balanced processors (1 s interval) split 32 partitions 8/8/8/8 in {converged:?}");
    });
}
