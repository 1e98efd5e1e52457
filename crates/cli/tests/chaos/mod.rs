//! The soak and chaos runner shared by `benches/soak.rs` (a minute or more of each
//! scenario, figures printed) and `tests/soak.rs` (20 seconds of each, figures asserted):
//! producers and consumers with our client on 8 partitions while the network is cut, the
//! emulator is killed, or the service misbehaves; every acknowledged event accounted for.

#![allow(dead_code, unreachable_pub)]

use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use eventhubs::{
    ClientOptions, ConsumerClient, CreateBatchOptions, EventData, PartitionReceiverOptions,
    ProducerClient, RetryOptions, SasTokenProvider, StartPosition, TokenProvider,
    DEFAULT_CONSUMER_GROUP,
};
use eventhubs_emulator::{Config, Emulator, Faults, HubConfig};
use eventhubs_test_support::proxy::Proxy;

/// The hub every scenario uses.
const HUB: &str = "soak";
const PARTITIONS: usize = 8;
const PRODUCERS: usize = 4;
const CONSUMERS: usize = 4;
/// Events per batch; bodies are `producer:number`.
const BATCH: usize = 50;
/// After the producers stop: how long the consumers may go without an event before what is
/// missing is called lost.
const DRAIN_QUIET: Duration = Duration::from_secs(15);

/// What goes wrong during a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// A proxy cuts every connection every 2 s.
    Cut,
    /// A durable `eh emulator` is killed (SIGKILL) every 10 s and restarted on its data.
    Restart,
    /// The emulator refuses one send in 50 with server-busy, detaches links after 5 s and
    /// answers one management request in 3 after the client's timeout.
    ServiceErrors,
    /// Every client signs its own short-lived SAS tokens (one minute, or a third of a
    /// shorter run) and must renew them on every connection before the emulator ends the
    /// links they authorize.
    Tokens,
}

impl Scenario {
    pub fn name(self) -> &'static str {
        match self {
            Self::Cut => "cut",
            Self::Restart => "restart",
            Self::ServiceErrors => "service errors",
            Self::Tokens => "tokens",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "cut" => Some(Self::Cut),
            "restart" => Some(Self::Restart),
            "errors" | "service-errors" => Some(Self::ServiceErrors),
            "tokens" => Some(Self::Tokens),
            _ => None,
        }
    }
}

/// The retry policy of every client in the runs: its longest delay bounds the stalls.
pub fn retry() -> RetryOptions {
    RetryOptions::default()
        .max_retries(30)
        .delay(Duration::from_millis(100))
        .max_delay(Duration::from_secs(2))
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct Figures {
    pub scenario: &'static str,
    pub seconds: f64,
    /// Events handed to sends.
    pub sent: u64,
    /// Events whose send succeeded.
    pub acknowledged: u64,
    /// Batches whose send failed even after retries (their events are not acknowledged).
    pub failed_batches: u64,
    /// Events received, duplicates included.
    pub received: u64,
    /// Receipts of an event already received (a send retried after its first try was
    /// stored, or a redelivery).
    pub duplicates: u64,
    /// Acknowledged events never received.
    pub lost: u64,
    /// Jumps in a partition's sequence numbers as its consumer saw them.
    pub gaps: u64,
    /// The longest time a partition went without an event while the producers ran.
    pub longest_stall: Duration,
    /// Cuts, kills or injected faults' timers fired.
    pub faults: u64,
    /// Management requests that failed even after retries.
    pub failed_management: u64,
    /// The longest a killed emulator took to listen again (restart scenario; part of the
    /// longest stall, as the clients cannot reconnect sooner).
    pub longest_restart: Duration,
    /// The emulator's resident memory at the start and the end (bytes; for the in-process
    /// emulator, this process's).
    pub memory_start: u64,
    pub memory_end: u64,
}

impl Figures {
    /// One line of the results table.
    pub fn row(&self) -> String {
        format!(
            "| {} | {:.0} | {} | {} | {} | {} | {} | {} | {} | {} | {:.2} s | {:.2} s | {} | {} → {} MiB |",
            self.scenario,
            self.seconds,
            self.sent,
            self.acknowledged,
            self.failed_batches,
            self.received,
            self.duplicates,
            self.lost,
            self.gaps,
            self.faults,
            self.longest_stall.as_secs_f64(),
            self.longest_restart.as_secs_f64(),
            self.failed_management,
            self.memory_start >> 20,
            self.memory_end >> 20,
        )
    }

    pub const HEADER: &'static str = "| scenario | s | sent | acknowledged | failed batches | received | duplicates | lost | gaps | faults | longest stall | longest restart | failed mgmt | memory |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|";
}

/// The resident memory of process `pid` in bytes (0 where /proc is missing).
pub fn rss(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// An `eh emulator` process on a fixed port (so a restart keeps the address).
struct Process {
    child: Child,
    args: Vec<String>,
    _stdout: Option<std::io::BufReader<std::process::ChildStdout>>,
}

impl Process {
    /// `eh emulator` on `port` with the Config.json at `config`.
    fn on(port: u16, config: &std::path::Path) -> Self {
        Self::start(vec![
            "emulator".into(),
            "--port".into(),
            port.to_string(),
            "--log-level".into(),
            "error".into(),
            "--config".into(),
            config.display().to_string(),
        ])
    }

    fn start(args: Vec<String>) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_eh"))
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("eh emulator starts");
        let mut out = std::io::BufReader::new(child.stdout.take().expect("stdout is piped"));
        let mut first = String::new();
        out.read_line(&mut first)
            .expect("eh emulator prints its address");
        assert!(first.starts_with("listening on "), "{first:?}");
        Self {
            child,
            args,
            _stdout: Some(out),
        }
    }

    /// Kills the emulator and starts it again; returns how long it was gone.
    fn kill_and_restart(&mut self) -> Duration {
        let killed = Instant::now();
        let _ = self.child.kill();
        let _ = self.child.wait();
        *self = Self::start(self.args.clone());
        killed.elapsed()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free loopback port (bound and released: a small race, fine for a test machine).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A Config.json with the soak hub (and durable storage when `data_dir` is given).
fn config_file(dir: &std::path::Path, data_dir: Option<&std::path::Path>) -> PathBuf {
    let emulator = match data_dir {
        Some(d) => format!(
            r#","Emulator":{{"DataDir":"{}","Sync":"Never"}}"#,
            d.display()
        ),
        None => String::new(),
    };
    let json = format!(
        r#"{{"UserConfig":{{"NamespaceConfig":[{{"Type":"EventHub","Name":"soakns","Entities":[{{"Name":"{HUB}","PartitionCount":"{PARTITIONS}"}}]}}],"LoggingConfig":{{"Type":"Console"}}{emulator}}}}}"#
    );
    let path = dir.join("Config.json");
    std::fs::write(&path, json).expect("the config file is written");
    path
}

fn connection_string(port: u16) -> String {
    format!(
        "Endpoint=sb://localhost:{port};SharedAccessKeyName=RootManageSharedAccessKey;\
         SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;EntityPath={HUB}"
    )
}

/// Who sent what and who got it.
#[derive(Default)]
struct Book {
    /// Per producer: each event number's state (bit 0 acknowledged; the rest: receipts).
    events: Vec<Vec<u32>>,
    received: u64,
    duplicates: u64,
    gaps: u64,
}

impl Book {
    fn slot(&mut self, producer: usize, n: usize) -> &mut u32 {
        let events = &mut self.events[producer];
        if events.len() <= n {
            events.resize(n + 1, 0);
        }
        &mut events[n]
    }
}

/// Runs `scenario` for `duration` and returns its figures.
pub async fn run(scenario: Scenario, duration: Duration) -> Figures {
    let dir = std::env::temp_dir().join(format!(
        "eh-soak-{}-{}",
        scenario.name().replace(' ', "-"),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    let mut figures = Figures {
        scenario: scenario.name(),
        ..Figures::default()
    };

    // The emulator, and the address the clients use.
    let mut process = None;
    let mut in_process = None;
    let mut proxy = None;
    let port = match scenario {
        Scenario::Cut | Scenario::Restart | Scenario::Tokens => {
            let port = free_port();
            let data = dir.join("data");
            let durable = (scenario == Scenario::Restart).then_some(data.as_path());
            let config = config_file(&dir, durable);
            let p = Process::on(port, &config);
            figures.memory_start = rss(p.child.id());
            process = Some(p);
            if scenario == Scenario::Cut {
                let target = format!("127.0.0.1:{port}").parse().expect("an address");
                let px = Proxy::start(target).await;
                let via = px.addr().port();
                proxy = Some(px);
                via
            } else {
                port
            }
        }
        Scenario::ServiceErrors => {
            let mut config = Config::default();
            config.hubs = vec![HubConfig::new(HUB, PARTITIONS)];
            config.faults = Faults::default()
                .reject_every(50)
                .detach_links_after(Duration::from_secs(5))
                .delay_management(3, Duration::from_secs(4));
            let em = Emulator::start(config).await.expect("the emulator starts");
            figures.memory_start = rss(std::process::id());
            let port = em.addr().port();
            in_process = Some(em);
            port
        }
    };
    let cs = connection_string(port);
    let mut options = ClientOptions::default()
        .retry(retry())
        .operation_timeout(Duration::from_secs(3));
    let tokens = Arc::new(CountingTokens {
        sas: SasTokenProvider::from_key("RootManageSharedAccessKey", "SAS_KEY_VALUE")
            .with_ttl((duration / 3).min(Duration::from_secs(60))),
        issued: AtomicU64::new(0),
    });
    if scenario == Scenario::Tokens {
        options = options.token_provider(tokens.clone());
    }

    let book = Arc::new(Mutex::new(Book {
        events: vec![Vec::new(); PRODUCERS],
        ..Book::default()
    }));
    let producing = Arc::new(AtomicBool::new(true));
    let stop_reading = Arc::new(AtomicBool::new(false));
    let last_event_us = Arc::new(AtomicU64::new(0));
    let started = Instant::now();

    // Consumers: one receiver per partition, each consumer client with two partitions.
    let mut readers = tokio::task::JoinSet::new();
    let mut consumers = Vec::new();
    for c in 0..CONSUMERS {
        let consumer = ConsumerClient::from_connection_string(
            &cs,
            None,
            DEFAULT_CONSUMER_GROUP,
            options.clone(),
        )
        .expect("a consumer");
        for partition in (c..PARTITIONS).step_by(CONSUMERS) {
            let receiver = consumer
                .open_partition_receiver(
                    &partition.to_string(),
                    PartitionReceiverOptions::default()
                        .start_position(StartPosition::earliest())
                        .prefetch(2000),
                )
                .await
                .expect("a receiver");
            let (book, producing, stop, last) = (
                book.clone(),
                producing.clone(),
                stop_reading.clone(),
                last_event_us.clone(),
            );
            readers.spawn(async move {
                let mut receiver = receiver;
                let mut last_seq: Option<i64> = None;
                let mut last_at = Instant::now();
                let mut stall = Duration::ZERO;
                while !stop.load(Ordering::Relaxed) {
                    let events = match receiver.recv_batch(1000, Duration::from_millis(200)).await {
                        Ok(events) => events,
                        Err(e) => panic!("partition {partition}: the receiver failed: {e}"),
                    };
                    let now = Instant::now();
                    if events.is_empty() {
                        if producing.load(Ordering::Relaxed) {
                            stall = stall.max(now - last_at);
                        }
                        continue;
                    }
                    if producing.load(Ordering::Relaxed) {
                        stall = stall.max(now - last_at);
                    }
                    last_at = now;
                    last.store(started.elapsed().as_micros() as u64, Ordering::Relaxed);
                    let mut b = book.lock().expect("the book");
                    for e in &events {
                        let seq = e.sequence_number();
                        match last_seq {
                            Some(l) if seq != l + 1 => b.gaps += 1,
                            _ => {}
                        }
                        last_seq = Some(seq);
                        let (producer, n) = parse(e.data()).expect("a soak body");
                        b.received += 1;
                        let slot = b.slot(producer, n);
                        let again = *slot >> 1 > 0;
                        *slot += 2;
                        if again {
                            b.duplicates += 1;
                        }
                    }
                }
                receiver.close().await;
                stall
            });
        }
        consumers.push(consumer);
    }

    // Producers: batches of BATCH events to the partitions in turn, one batch at a time.
    let sent = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let mut writers = tokio::task::JoinSet::new();
    for p in 0..PRODUCERS {
        let producer =
            ProducerClient::from_connection_string(&cs, None, options.clone()).expect("a producer");
        let (book, producing, sent, failed) = (
            book.clone(),
            producing.clone(),
            sent.clone(),
            failed.clone(),
        );
        writers.spawn(async move {
            let mut n = 0usize;
            let mut partition = p;
            while producing.load(Ordering::Relaxed) {
                partition = (partition + 1) % PARTITIONS;
                let options = CreateBatchOptions::default().partition_id(partition.to_string());
                let Ok(mut batch) = producer.create_batch(options).await else {
                    failed.fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                let first = n;
                while n - first < BATCH
                    && batch
                        .try_add(EventData::new(format!("{p}:{n}").into_bytes()))
                        .is_ok()
                {
                    n += 1;
                }
                sent.fetch_add((n - first) as u64, Ordering::Relaxed);
                match producer.send_batch(batch).await {
                    Ok(()) => {
                        let mut b = book.lock().expect("the book");
                        for i in first..n {
                            *b.slot(p, i) |= 1;
                        }
                    }
                    Err(_) => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            producer.close().await;
        });
    }

    // The faults, until the time is up.
    let deadline = started + duration;
    let mut failed_management = 0;
    let mut management = tokio::time::interval(Duration::from_millis(500));
    let mut fault_timer = tokio::time::interval(match scenario {
        Scenario::Cut => Duration::from_secs(2),
        Scenario::Restart => Duration::from_secs(10),
        Scenario::ServiceErrors => Duration::from_secs(5),
        Scenario::Tokens => duration,
    });
    fault_timer.tick().await;
    let admin =
        ConsumerClient::from_connection_string(&cs, None, DEFAULT_CONSUMER_GROUP, options.clone())
            .expect("an admin client");
    while Instant::now() < deadline {
        tokio::select! {
            _ = tokio::time::sleep_until(deadline.into()) => {}
            _ = fault_timer.tick() => {
                figures.faults += 1;
                match scenario {
                    Scenario::Cut => {
                        if let Some(p) = &proxy {
                            p.cut_all();
                        }
                    }
                    Scenario::Restart => {
                        if let Some(p) = process.as_mut() {
                            let gone = p.kill_and_restart();
                            figures.longest_restart = figures.longest_restart.max(gone);
                        }
                    }
                    // The emulator's own timers, or the tokens' lifetimes: nothing to do.
                    Scenario::ServiceErrors | Scenario::Tokens => {}
                }
            }
            _ = management.tick(), if scenario == Scenario::ServiceErrors => {
                if admin.get_partition_properties("0").await.is_err() {
                    failed_management += 1;
                }
            }
        }
    }
    producing.store(false, Ordering::Relaxed);
    while writers.join_next().await.is_some() {}
    let seconds = started.elapsed().as_secs_f64();

    // Drain: until everything acknowledged is in, or the consumers go quiet.
    loop {
        let complete = {
            let b = book.lock().expect("the book");
            b.events
                .iter()
                .flatten()
                .all(|s| *s & 1 == 0 || *s >> 1 > 0)
        };
        let quiet =
            started.elapsed() - Duration::from_micros(last_event_us.load(Ordering::Relaxed));
        if complete || quiet > DRAIN_QUIET {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop_reading.store(true, Ordering::Relaxed);
    while let Some(stall) = readers.join_next().await {
        figures.longest_stall = figures.longest_stall.max(stall.expect("a reader task"));
    }
    admin.close().await;
    for c in consumers {
        c.close().await;
    }

    figures.memory_end = match (&process, &in_process) {
        (Some(p), _) => rss(p.child.id()),
        _ => rss(std::process::id()),
    };
    let b = book.lock().expect("the book");
    figures.seconds = seconds;
    figures.sent = sent.load(Ordering::Relaxed);
    figures.failed_batches = failed.load(Ordering::Relaxed);
    figures.acknowledged = b.events.iter().flatten().filter(|s| *s & 1 == 1).count() as u64;
    figures.lost = b
        .events
        .iter()
        .flatten()
        .filter(|s| *s & 1 == 1 && *s >> 1 == 0)
        .count() as u64;
    figures.received = b.received;
    figures.duplicates = b.duplicates;
    figures.gaps = b.gaps;
    figures.failed_management = failed_management;
    if scenario == Scenario::Tokens {
        // The tokens issued beyond each connection's first are the renewals.
        figures.faults = tokens.issued.load(Ordering::Relaxed);
    }
    drop(b);
    drop(proxy);
    drop(process);
    drop(in_process);
    let _ = std::fs::remove_dir_all(&dir);
    figures
}

/// A SAS token provider that counts the tokens it signs.
#[derive(Debug)]
struct CountingTokens {
    sas: SasTokenProvider,
    issued: AtomicU64,
}

impl TokenProvider for CountingTokens {
    fn get_token<'a>(&'a self, audience: &'a str) -> eventhubs::auth::TokenFuture<'a> {
        self.issued.fetch_add(1, Ordering::Relaxed);
        self.sas.get_token(audience)
    }
}

/// `producer:number` from a body.
fn parse(body: &[u8]) -> Option<(usize, usize)> {
    let text = std::str::from_utf8(body).ok()?;
    let (p, n) = text.split_once(':')?;
    Some((p.parse().ok()?, n.parse().ok()?))
}

/// What the scale run measured.
#[derive(Debug, Clone, Default)]
pub struct ScaleFigures {
    pub idle: usize,
    /// The emulator's resident memory per idle connection (bytes).
    pub per_idle_connection: u64,
    pub busy: usize,
    pub seconds: f64,
    /// Events sent and received by the busy connections, and their errors.
    pub sent: u64,
    pub received: u64,
    pub errors: u64,
    /// Per busy connection (a sender and a receiver link each), bytes.
    pub per_busy_connection: u64,
}

/// Opens `idle` AMQP connections (SASL, open, a session) to an `eh emulator` and holds
/// them; then `busy` more, each with a sender and a receiver on its own partition, sending
/// an event every 100 ms for `duration`. Measures the emulator's memory per connection.
pub async fn scale(idle: usize, busy: usize, duration: Duration) -> ScaleFigures {
    use eventhubs_amqp::connection::LinkConfig;
    use eventhubs_test_support::client::{connect, consumer, event, put_token_for};

    // Each side (this process, the emulator) holds one socket per connection.
    raise_open_file_limit(idle + busy + 1000);
    let dir = std::env::temp_dir().join(format!("eh-scale-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    let limit = idle + busy + 100;
    // 20 consumer groups × 32 partitions, for up to 5 receivers each (the service's quota).
    let groups = (1..20)
        .map(|g| format!(r#"{{"Name":"cg{g}"}}"#))
        .collect::<Vec<_>>()
        .join(",");
    let json = format!(
        r#"{{"UserConfig":{{"NamespaceConfig":[{{"Type":"EventHub","Name":"scalens","Entities":[{{"Name":"{HUB}","PartitionCount":"32","ConsumerGroups":[{groups}]}}]}}],"LoggingConfig":{{"Type":"Console"}},"Emulator":{{"MaxConnections":{limit}}}}}}}"#
    );
    std::fs::write(dir.join("Config.json"), json).expect("the config file");
    let port = free_port();
    let process = Process::on(port, &dir.join("Config.json"));
    let pid = process.child.id();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().expect("an address");
    let mut f = ScaleFigures {
        idle,
        busy,
        ..ScaleFigures::default()
    };

    let before = settled_rss(pid).await;
    let mut held = Vec::with_capacity(idle);
    for _ in 0..idle {
        held.push(connect(addr).await);
    }
    let with_idle = settled_rss(pid).await;
    f.per_idle_connection = with_idle.saturating_sub(before) / idle.max(1) as u64;

    let sent = Arc::new(AtomicU64::new(0));
    let received = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let running = Arc::new(AtomicBool::new(true));
    let mut tasks = tokio::task::JoinSet::new();
    let audience = format!("sb://localhost/{HUB}");
    let mut busy_links = Vec::with_capacity(busy);
    for i in 0..busy {
        let (conn, session) = connect(addr).await;
        assert_eq!(
            put_token_for(&session, &audience, "SAS_KEY_VALUE", 3600).await,
            202
        );
        let partition = ((i / 20) % 32).to_string();
        let group = match i % 20 {
            0 => "$Default".to_owned(),
            g => format!("cg{g}"),
        };
        let sender = session
            .attach_sender(LinkConfig::sender(
                format!("s{i}"),
                format!("{HUB}/Partitions/{partition}"),
            ))
            .await
            .expect("a sender");
        let mut link = consumer(
            &partition,
            eventhubs_protocol::selector::StartPosition::Latest,
            None,
        );
        if let Some(source) = link.source.as_mut() {
            source.address = Some(format!(
                "{HUB}/ConsumerGroups/{group}/Partitions/{partition}"
            ));
        }
        link.name = format!("r{i}");
        let receiver = session
            .attach_receiver(link, 100)
            .await
            .expect("a receiver");
        busy_links.push((conn, session, sender, receiver));
    }
    let started = Instant::now();
    for (conn, session, sender, mut receiver) in busy_links {
        let (sent, received, errors, running) = (
            sent.clone(),
            received.clone(),
            errors.clone(),
            running.clone(),
        );
        tasks.spawn(async move {
            let _keep = (conn, session);
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            while running.load(Ordering::Relaxed) {
                tokio::select! {
                    _ = tick.tick() => match sender.send_encoded(event("x", None), 0).await {
                        Ok(_) => { sent.fetch_add(1, Ordering::Relaxed); }
                        Err(_) => { errors.fetch_add(1, Ordering::Relaxed); }
                    },
                    d = receiver.recv() => match d {
                        Ok(_) => { received.fetch_add(1, Ordering::Relaxed); }
                        Err(_) => { errors.fetch_add(1, Ordering::Relaxed); return; }
                    },
                }
            }
        });
    }
    tokio::time::sleep(duration).await;
    let with_busy = rss(pid);
    running.store(false, Ordering::Relaxed);
    while tasks.join_next().await.is_some() {}
    f.seconds = started.elapsed().as_secs_f64();
    f.sent = sent.load(Ordering::Relaxed);
    f.received = received.load(Ordering::Relaxed);
    f.errors = errors.load(Ordering::Relaxed);
    f.per_busy_connection = with_busy.saturating_sub(with_idle) / busy.max(1) as u64;
    drop(held);
    drop(process);
    let _ = std::fs::remove_dir_all(&dir);
    f
}

/// Waits until `pid`'s memory has not changed by more than 256 KiB for a second (at most
/// 30 s); returns it.
pub async fn settled_rss(pid: u32) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(30);
    let (mut last, mut since) = (rss(pid), Instant::now());
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = rss(pid);
        if now.abs_diff(last) > 256 << 10 {
            (last, since) = (now, Instant::now());
        } else if since.elapsed() >= Duration::from_secs(1) {
            return now;
        }
    }
    last
}

/// Raises this process's open-file limit (inherited by the emulator it starts) to at least
/// `wanted`, up to the hard limit.
///
/// # Panics
/// When the hard limit is lower than `wanted`: the run cannot hold its connections.
fn raise_open_file_limit(wanted: usize) {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut limit = getrlimit(Resource::Nofile);
    let wanted = wanted as u64;
    if limit.current.is_some_and(|c| c >= wanted) {
        return;
    }
    assert!(
        limit.maximum.is_none_or(|m| m >= wanted),
        "the open-file hard limit {:?} is below the {wanted} this run needs",
        limit.maximum
    );
    limit.current = Some(wanted);
    setrlimit(Resource::Nofile, limit).expect("the open-file limit can be raised");
}
