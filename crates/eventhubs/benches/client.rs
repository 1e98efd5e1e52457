//! Client benchmark: our client, the official Python SDK and the official JS SDK doing the
//! same work against one in-process emulator, in one run. 100-byte events. Rows: batched
//! send (100-event batches), single sends with many in flight, receive; our batched send and
//! receive again over AMQP over WebSockets. Prints events/s
//! and CPU ns/event: for our client the process CPU (client and emulator), for the peers
//! their own CPU plus the emulator's during their run. Not a test: run it with
//! `cargo bench -p eventhubs --bench client` (`-- --quick` for fewer events, `-- --ours` to
//! skip the peers, and words that pick rows by name: `-- single`). After every sending row the run checks that the emulator stores exactly
//! the events acknowledged (ours, or as the peer counted them), and fails otherwise.

use eventhubs::{BatchOptions, Event, Hub, HubOptions, ReceiveOptions};
use eventhubs_emulator::config::Retention;
use eventhubs_emulator::{Config, Emulator};
use eventhubs_test_support::bench::{self, cpu_now, measure};
use eventhubs_test_support::{interop_js, interop_python, repo_root};

const BODY: usize = 100;
const IN_FLIGHT: usize = 256;

/// The 100-byte body every event shares (as the peers share theirs).
fn body() -> bytes::Bytes {
    static BODY_BYTES: [u8; BODY] = [b'x'; BODY];
    bytes::Bytes::from_static(&BODY_BYTES)
}

fn bench_config() -> Config {
    let mut config = Config::default();
    config.retention = Retention {
        max_events: usize::MAX,
        max_bytes: u64::MAX,
        ..Retention::default()
    };
    config
}

async fn emulator() -> Emulator {
    Emulator::start(bench_config()).await.unwrap()
}

fn client(em: &Emulator) -> Hub {
    Hub::from_connection_string(&em.connection_string(Some("eh1")), HubOptions::default()).unwrap()
}

/// 100-event batches from `hubs.len()` clients (one connection each), 8 batches in
/// flight per client, spread over two partitions per client (as the peers do).
async fn ours_batched(hubs: &[Hub], events: usize) {
    debug_assert_eq!(events % (100 * 8 * hubs.len()), 0, "whole batches per task");
    let batches_per_task = events / 100 / 8 / hubs.len();
    let mut tasks = tokio::task::JoinSet::new();
    for (i, hub) in hubs.iter().enumerate() {
        for t in 0..8 {
            let partition = 2 * i + t % 2;
            let hub = hub.clone();
            tasks.spawn(async move {
                for _ in 0..batches_per_task {
                    let options = BatchOptions::default().partition_id(partition.to_string());
                    let mut batch = hub.create_batch(options).await.unwrap();
                    for _ in 0..100 {
                        batch.try_add(Event::new(body())).unwrap();
                    }
                    hub.send_event_batch(batch).await.unwrap();
                }
            });
        }
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }
}

async fn ours_single(hub: &Hub, events: usize) {
    debug_assert_eq!(events % IN_FLIGHT, 0, "whole sends per task");
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..IN_FLIGHT {
        let hub = hub.clone();
        tasks.spawn(async move {
            for _ in 0..events / IN_FLIGHT {
                hub.send_to_partition("2", Event::new(body()))
                    .await
                    .unwrap();
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }
}

async fn ours_receive(hub: &Hub, events: usize) {
    let mut rx = hub
        .receiver(
            "1",
            ReceiveOptions::default().from_beginning().prefetch(3000),
        )
        .await
        .unwrap();
    for _ in 0..events {
        rx.recv().await.unwrap();
    }
}

/// `Hub::receive` over partition 1 with a file persister writing a checkpoint every
/// 1,000 events; ends when the handler has seen `events` events (and the last checkpoint
/// is written).
async fn ours_listener(em: &Emulator, events: usize) {
    let dir = std::env::temp_dir().join(format!("eh-bench-cp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let persister = std::sync::Arc::new(eventhubs::FilePersister::new(&dir).unwrap());
    let hub = Hub::from_connection_string(
        &em.connection_string(Some("eh1")),
        HubOptions::default().checkpoint_persister(persister),
    )
    .unwrap();
    let (all_tx, all_rx) = tokio::sync::oneshot::channel();
    let mut all_tx = Some(all_tx);
    let mut seen = 0;
    let handle = hub
        .receive(
            "1",
            move |_e| {
                seen += 1;
                if seen == events {
                    if let Some(tx) = all_tx.take() {
                        let _ = tx.send(());
                    }
                }
                std::future::ready(Ok(()))
            },
            ReceiveOptions::default()
                .from_beginning()
                .prefetch(3000)
                .checkpoint_every(1000, std::time::Duration::from_secs(5)),
        )
        .await
        .unwrap();
    all_rx.await.unwrap();
    handle.close().await;
    hub.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// Fills partition 1 of the emulator at `em` with `events` events for the receive rows.
async fn fill(em: &Emulator, events: usize) {
    let pinned = Hub::from_connection_string(
        &em.connection_string(Some("eh1")),
        HubOptions::default().partitioned_sender("1"),
    )
    .unwrap();
    pinned
        .send_batch((0..events).map(|_| Event::new(body())))
        .await
        .unwrap();
    pinned.close().await;
}

/// Fails the run unless hub `eh1` stores exactly the `acknowledged` events counted.
fn check_stored(em: &Emulator, acknowledged: u64) {
    bench::check_stored(em.namespace().hubs[0].stored_events(), acknowledged);
}

/// How to start a peer: program, leading arguments, extra environment.
#[derive(Clone)]
struct PeerCommand {
    program: std::path::PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
}

/// How long one peer row may run before it counts as stalled (and is killed).
const PEER_DEADLINE: std::time::Duration = std::time::Duration::from_secs(180);

/// Attempts per peer row: a stalled attempt is reported and the row run again.
const PEER_ATTEMPTS: usize = 3;

/// How one run of a peer row ended.
enum PeerRun {
    /// Events acknowledged or received, events/s, CPU ns/event (with the emulator's CPU
    /// during the run).
    Done(u64, f64, f64),
    /// No result within [`PEER_DEADLINE`]; the peer was killed.
    Stalled,
    /// It exited without a result (its stderr was printed).
    Failed,
}

/// Runs one peer row, bounded by [`PEER_DEADLINE`].
async fn peer(cmd: &PeerCommand, mode: &str, events: usize) -> PeerRun {
    let c0 = cpu_now();
    let child = tokio::process::Command::new(&cmd.program)
        .args(&cmd.args)
        .args([mode, &events.to_string()])
        .envs(cmd.env.iter().cloned())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn();
    let Ok(child) = child else {
        eprintln!("  {} cannot be started", cmd.program.display());
        return PeerRun::Failed;
    };
    // On timeout the child is dropped, which kills it.
    let out = match tokio::time::timeout(PEER_DEADLINE, child.wait_with_output()).await {
        Ok(Ok(out)) => out,
        Ok(Err(e)) => {
            eprintln!("  {} {mode}: {e}", cmd.program.display());
            return PeerRun::Failed;
        }
        Err(_) => return PeerRun::Stalled,
    };
    let emulator_cpu = cpu_now() - c0;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let Some(line) = stdout.lines().find(|l| l.starts_with("RESULT ")) else {
        eprintln!(
            "  {} {mode}: {}",
            cmd.program.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        return PeerRun::Failed;
    };
    let parts: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|p| p.parse().ok())
        .collect();
    let [n, secs, cpu] = parts[..] else {
        eprintln!("  {} {mode}: malformed {line:?}", cmd.program.display());
        return PeerRun::Failed;
    };
    eprintln!(
        "  {} {mode}: {n} events in {secs:.3} s",
        cmd.program.display()
    );
    let total_cpu = cpu + emulator_cpu.as_secs_f64();
    PeerRun::Done(n as u64, n / secs, total_cpu * 1e9 / n)
}

fn main() {
    if !bench::invoked_by_cargo_bench() {
        return;
    }
    let quick = std::env::args().any(|a| a == "--quick");
    let ours_only = std::env::args().any(|a| a == "--ours");
    let (batched_n, single_n, receive_n) = if quick {
        (100_000, 25_600, 100_000)
    } else {
        (2_000_000, 256_000, 1_000_000)
    };
    let (peer_batched, peer_single, peer_receive) = if quick {
        (5_000, 2_560, 5_000)
    } else {
        (50_000, 25_600, 50_000)
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut rows: Vec<(String, String, (f64, f64))> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    rt.block_on(async {
        let em = emulator().await;
        let hub = client(&em);
        hub.runtime_information().await.unwrap();
        // Words after `--` pick rows by name (`-- single`, `-- receive`).
        let filters: Vec<String> = std::env::args()
            .skip(1)
            .filter(|a| !a.starts_with("--"))
            .collect();
        let wanted = |name: &str| filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()));
        let mut expected = 0u64;
        let row = "batched send (100-event batches, 8 in flight, 2 partitions)";
        if wanted(row) {
            eprintln!("ours: batched send");
            let one = [hub.clone()];
            rows.push((row.into(), "ours".into(), measure(batched_n as u64, ours_batched(&one, batched_n)).await));
            expected += batched_n as u64;
            check_stored(&em, expected);
        }
        let row = format!("single sends, {IN_FLIGHT} in flight");
        if wanted(&row) {
            eprintln!("ours: single sends, {IN_FLIGHT} in flight");
            rows.push((row, "ours".into(), measure(single_n as u64, ours_single(&hub, single_n)).await));
            expected += single_n as u64;
            check_stored(&em, expected);
        }
        if wanted("receive") {
            fill(&em, receive_n).await;
            expected += receive_n as u64;
            check_stored(&em, expected);
            eprintln!("ours: receive");
            rows.push(("receive".into(), "ours".into(), measure(receive_n as u64, ours_receive(&hub, receive_n)).await));
        }
        let row = "handler listener, file checkpoints every 1,000 events";
        if wanted(row) {
            if !wanted("receive") {
                fill(&em, receive_n).await;
                expected += receive_n as u64;
                check_stored(&em, expected);
            }
            eprintln!("ours: {row}");
            rows.push((row.into(), "ours".into(), measure(receive_n as u64, ours_listener(&em, receive_n)).await));
        }
        hub.close().await;
        em.shutdown().await;

        // The same batched send and receive over AMQP over WebSockets (ws://, no TLS, as
        // the TCP rows above).
        let ws_rows = ["batched send (100-event batches, 8 in flight, 2 partitions)", "receive"];
        if ws_rows.iter().any(|r| wanted(r)) || wanted("websocket") {
            let em = Emulator::start_with(bench_config(), eventhubs_emulator::Transports::default().websocket())
                .await
                .unwrap();
            let cs = eventhubs_emulator::connection_string(em.websocket_addr().unwrap(), &em.namespace().config, Some("eh1"));
            let hub = Hub::from_connection_string(&cs, HubOptions::default().websocket_connection()).unwrap();
            hub.runtime_information().await.unwrap();
            eprintln!("ours over websockets: batched send");
            let one = [hub.clone()];
            rows.push((ws_rows[0].into(), "ours (websockets)".into(), measure(batched_n as u64, ours_batched(&one, batched_n)).await));
            check_stored(&em, batched_n as u64);
            fill(&em, receive_n).await;
            check_stored(&em, (batched_n + receive_n) as u64);
            eprintln!("ours over websockets: receive");
            rows.push((ws_rows[1].into(), "ours (websockets)".into(), measure(receive_n as u64, ours_receive(&hub, receive_n)).await));
            hub.close().await;
            em.shutdown().await;
        }

        let script_peer = |program: std::path::PathBuf, script: std::path::PathBuf| PeerCommand {
            program,
            args: vec![script.display().to_string()],
            env: Vec::new(),
        };
        let mut peers: Vec<(&str, PeerCommand, bool)> = Vec::new();
        if let Some(python) = interop_python() {
            peers.push(("python azure-eventhub 5.15.1", script_peer(python, repo_root().join("interop/python/bench.py")), false));
        }
        if let Some(dir) = interop_js() {
            peers.push(("js @azure/event-hubs 6.0.4", script_peer("node".into(), dir.join("bench.mjs")), false));
        }
        let azure = repo_root().join("interop/rust-azure/target/release/rust-azure-peer");
        if azure.exists() {
            peers.push(("rust azure_messaging_eventhubs 0.16.0", PeerCommand { program: azure, args: Vec::new(), env: Vec::new() }, true));
        } else {
            eprintln!("rust azure_messaging_eventhubs peer not built: cargo build --release --manifest-path interop/rust-azure/Cargo.toml");
        }
        if ours_only {
            peers.clear();
        }
        for (name, mut cmd, tls) in peers {
            let (em, cs) = if tls {
                // The official Rust crate only speaks AMQPS: serve TLS with a throwaway
                // certificate it trusts through SSL_CERT_FILE.
                let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
                let cert = std::env::temp_dir().join(format!("eh-bench-cert-{}.pem", std::process::id()));
                std::fs::write(&cert, ck.cert.pem()).unwrap();
                let tls = eventhubs_amqp_io::TlsServerConfig::from_pem(ck.cert.pem().as_bytes(), ck.signing_key.serialize_pem().as_bytes()).unwrap();
                let em = Emulator::start_with_tls(bench_config(), tls).await.unwrap();
                let port = em.tls_addr().unwrap().port();
                cmd.env.push(("SSL_CERT_FILE".into(), cert.display().to_string()));
                cmd.args.push("Endpoint=sb://localhost/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE".into());
                cmd.args.push(format!("amqps://localhost:{port}"));
                (em, String::new())
            } else {
                let em = emulator().await;
                let cs = em.connection_string(None);
                (em, cs)
            };
            if !cs.is_empty() {
                cmd.args.push(cs);
            }
            fill(&em, peer_receive).await;
            let mut acknowledged = peer_receive as u64;
            for (row, mode, n) in [
                ("batched send (100-event batches, 8 in flight, 2 partitions)", "batched", peer_batched),
                (&format!("single sends, {IN_FLIGHT} in flight") as &str, "single", peer_single),
                ("receive", "receive", peer_receive),
            ] {
                for attempt in 1..=PEER_ATTEMPTS {
                    match peer(&cmd, mode, n).await {
                        PeerRun::Done(n, rate, cpu) => {
                            if mode != "receive" {
                                acknowledged += n;
                            }
                            check_stored(&em, acknowledged);
                            rows.push((row.to_owned(), name.to_owned(), (rate, cpu)));
                            break;
                        }
                        outcome => {
                            // What it got acknowledged is unknown; say what the hub holds.
                            let stored = em.namespace().hubs[0].stored_events();
                            let what = match outcome {
                                PeerRun::Stalled => format!("stalled (no result in {PEER_DEADLINE:?}, killed)"),
                                _ => "failed".to_owned(),
                            };
                            eprintln!("  {name} {mode}: attempt {attempt}/{PEER_ATTEMPTS} {what}; the hub holds {stored} events");
                            notes.push(format!("{name} {mode}: attempt {attempt} {what}"));
                            acknowledged = stored;
                        }
                    }
                }
            }
            em.shutdown().await;
        }
    });
    println!();
    println!("| row | client | events/s | CPU ns/event |");
    println!("|---|---|---:|---:|");
    for (row, client, (rate, cpu)) in &rows {
        println!("| {row} | {client} | {rate:.0} | {cpu:.0} |");
    }
    for (row, (rate, _)) in rows
        .iter()
        .filter(|r| r.1 == "ours (websockets)")
        .map(|r| (&r.0, r.2))
    {
        if let Some((_, _, (tcp, _))) = rows.iter().find(|r| r.0 == *row && r.1 == "ours") {
            println!("websockets / tcp on {row}: {:.0}%", 100.0 * rate / tcp);
        }
    }
    for (row, client, (rate, _)) in rows.iter().filter(|r| !r.1.starts_with("ours")) {
        if let Some((_, _, (ours, _))) = rows.iter().find(|r| r.0 == *row && r.1 == "ours") {
            println!("ours / {client} on {row}: {:.1}x", ours / rate);
        }
    }
    for note in &notes {
        println!("note: {note}");
    }
}
