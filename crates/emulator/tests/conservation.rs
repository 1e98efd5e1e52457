//! Conservation under random workloads: whatever mix of connections, links, bursts,
//! batches, keys, partition targets, settlement modes and storage, the multiset of events
//! the emulator accepted equals the multiset it stored, which equals what a reader from
//! the beginning of each partition receives. Also: keyed events land on their key's
//! partition, partition-link events on that partition, each link's events keep their order
//! within a partition, and sequence numbers have no holes. Durable cases are checked after
//! a restart, so "stored" means "recovered from disk".
//!
//! `PROPTEST_CASES=10000 cargo test -p eventhubs-emulator --release --test conservation`
//! runs it long; the suite runs [`SUITE_CASES`]. A failure shrinks to a minimal workload.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use eventhubs_amqp::connection::LinkConfig;
use eventhubs_amqp::delivery_state::DeliveryState;
use eventhubs_amqp::message::{BatchBuilder, Message, BATCH_MESSAGE_FORMAT};
use eventhubs_amqp::types::Value;
use eventhubs_amqp_io::{PendingOutcome, Sender, Session};
use eventhubs_emulator::config::HubConfig;
use eventhubs_emulator::{Config, Emulator, SyncPolicy};
use eventhubs_protocol::constants as k;
use eventhubs_protocol::hash::partition_for_key;
use eventhubs_protocol::selector::StartPosition;
use eventhubs_test_support::client::{authorized, consumer, event};
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestCaseError, TestRunner};

/// Cases run by the test suite (more with `PROPTEST_CASES`).
const SUITE_CASES: u32 = 48;

/// The longest any single wait (an outcome, an event, an attach) may take.
const WAIT: Duration = Duration::from_secs(10);

/// Partition keys drawn from a small set, so they collide and spread.
const KEYS: [&str; 5] = ["a", "device-7", "hello", "zz", "k-42"];

#[derive(Debug, Clone)]
enum Target {
    /// The hub: round-robin or by key.
    Hub,
    /// A partition link (index taken modulo the partition count).
    Partition(usize),
}

#[derive(Debug, Clone)]
enum Send {
    /// One event, optionally keyed.
    Single { key: Option<usize> },
    /// A batch message of `events` events, optionally keyed on the envelope.
    Batch { events: usize, key: Option<usize> },
}

#[derive(Debug, Clone)]
struct Burst {
    /// Pre-settled sends (no outcome) or unsettled ones (each must be accepted).
    settled: bool,
    sends: Vec<Send>,
}

#[derive(Debug, Clone)]
struct LinkPlan {
    target: Target,
    bursts: Vec<Burst>,
}

#[derive(Debug, Clone)]
struct Workload {
    partitions: usize,
    durable: bool,
    /// Connections, each with its links; every link runs concurrently with the others.
    connections: Vec<Vec<LinkPlan>>,
}

fn send_strategy() -> impl Strategy<Value = Send> {
    let key = proptest::option::of(0..KEYS.len());
    prop_oneof![
        3 => key.clone().prop_map(|key| Send::Single { key }),
        1 => (1..=20usize, key).prop_map(|(events, key)| Send::Batch { events, key }),
    ]
}

fn burst_strategy() -> impl Strategy<Value = Burst> {
    // Sizes around the ingest loop's per-wake-up batch (256) as often as small ones.
    let size = prop_oneof![1..=8usize, 250..=262usize, 1..=600usize];
    (any::<bool>(), size).prop_flat_map(|(settled, n)| {
        proptest::collection::vec(send_strategy(), n)
            .prop_map(move |sends| Burst { settled, sends })
    })
}

fn workload_strategy() -> impl Strategy<Value = Workload> {
    let target = prop_oneof![Just(Target::Hub), (0..8usize).prop_map(Target::Partition)];
    let link = (target, proptest::collection::vec(burst_strategy(), 1..=3))
        .prop_map(|(target, bursts)| LinkPlan { target, bursts });
    let connection = proptest::collection::vec(link, 1..=3);
    (
        1..=8usize,
        any::<bool>(),
        proptest::collection::vec(connection, 1..=3),
    )
        .prop_map(|(partitions, durable, connections)| Workload {
            partitions,
            durable,
            connections,
        })
}

/// What one link sent, as the checks need it: body → (key, required partition).
#[derive(Debug, Default)]
struct Sent {
    events: BTreeMap<String, (Option<String>, Option<usize>)>,
}

/// An event as stored: body, partition key, sequence number.
type Stored = (String, Option<String>, i64);

/// A batch's envelope: no body, the partition key (if any) in its annotations.
fn envelope(key: Option<&str>) -> Message {
    let mut m = Message::default();
    if let Some(key) = key {
        m.message_annotations = Some(vec![(
            Value::Symbol(k::PARTITION_KEY.into()),
            Value::from(key),
        )]);
    }
    m
}

async fn bounded<T, E: std::fmt::Debug>(
    what: &str,
    f: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, String> {
    match tokio::time::timeout(WAIT, f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(format!("{what}: {e:?}")),
        Err(_) => Err(format!("{what}: no answer within {WAIT:?}")),
    }
}

/// Runs one link's plan and returns what it sent (every event must have been stored).
async fn run_link(
    session: Session,
    name: String,
    plan: LinkPlan,
    partitions: usize,
) -> Result<Sent, String> {
    let (address, partition) = match plan.target {
        Target::Hub => ("eh1".to_owned(), None),
        Target::Partition(p) => {
            let p = p % partitions;
            (format!("eh1/Partitions/{p}"), Some(p))
        }
    };
    let sender: Sender = bounded(
        "attach",
        session.attach_sender(LinkConfig::sender(name.clone(), address)),
    )
    .await?;
    let mut sent = Sent::default();
    let mut counter = 0usize;
    let mut body = |sent: &mut Sent, key: Option<&str>| {
        let b = format!("{name}-{counter:06}");
        counter += 1;
        let required = partition.or_else(|| key.map(|k| partition_for_key(k, partitions)));
        sent.events
            .insert(b.clone(), (key.map(str::to_owned), required));
        b
    };
    // Every link ends with one unsettled event: its outcome says every pre-settled send
    // before it on the link has been processed.
    let mut bursts = plan.bursts;
    bursts.push(Burst {
        settled: false,
        sends: vec![Send::Single { key: None }],
    });
    for burst in bursts {
        let mut pending: Vec<PendingOutcome> = Vec::new();
        for send in burst.sends {
            let (payload, format) = match send {
                Send::Single { key } => {
                    let key = key.map(|i| KEYS[i]);
                    (event(&body(&mut sent, key), key), 0)
                }
                Send::Batch { events, key } => {
                    let key = key.map(|i| KEYS[i]);
                    let mut batch = BatchBuilder::new(Some(&envelope(key)), 1 << 20);
                    for _ in 0..events {
                        assert!(batch.try_add_encoded(&event(&body(&mut sent, key), None)));
                    }
                    (batch.finish(), BATCH_MESSAGE_FORMAT)
                }
            };
            if burst.settled {
                bounded("pre-settled send", sender.send_settled(payload, format)).await?;
            } else {
                pending.push(bounded("send", sender.start_send(payload, format)).await?);
            }
        }
        for (i, p) in pending.into_iter().enumerate() {
            let outcome = bounded(&format!("{name}: outcome of send {i}"), p.wait()).await?;
            if outcome != DeliveryState::Accepted {
                return Err(format!("{name}: send {i} got {outcome:?}"));
            }
        }
    }
    let _ = sender.close(None).await;
    Ok(sent)
}

/// Reads every event of every partition straight from the emulator's logs.
fn stored(em: &Emulator) -> Vec<Vec<Stored>> {
    em.namespace().hubs[0]
        .partitions
        .iter()
        .map(|p| {
            p.events(0, usize::MAX)
                .unwrap()
                .into_iter()
                .map(|e| decode(&e.bytes))
                .collect()
        })
        .collect()
}

fn decode(bytes: &Bytes) -> Stored {
    let m = Message::decode(bytes).expect("a stored event decodes");
    let annotation = |name: &str| {
        m.message_annotations
            .iter()
            .flatten()
            .find(|(k, _)| k.as_str() == Some(name))
            .map(|(_, v)| v.clone())
    };
    let body = String::from_utf8(m.data().expect("a data body").to_vec()).expect("UTF-8");
    let key = annotation(k::PARTITION_KEY).and_then(|v| v.as_str().map(str::to_owned));
    let seq = annotation(k::SEQUENCE_NUMBER)
        .and_then(|v| v.as_i64())
        .expect("a sequence number");
    (body, key, seq)
}

/// Reads `n` events of `partition` from the beginning over a socket.
async fn read_partition(
    session: &Session,
    partition: usize,
    n: usize,
) -> Result<Vec<Stored>, String> {
    let mut rx = bounded(
        "attach receiver",
        session.attach_receiver(
            consumer(&partition.to_string(), StartPosition::Earliest, None),
            300,
        ),
    )
    .await?;
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let d = bounded(
            &format!("event {} of partition {partition}", out.len()),
            rx.recv(),
        )
        .await?;
        out.push(decode(&d.payload));
    }
    let _ = rx.close(None).await;
    Ok(out)
}

fn config(w: &Workload, dir: &std::path::Path) -> Config {
    let mut config = if w.durable {
        common::durable_config(dir, SyncPolicy::Always, 64 << 20)
    } else {
        Config::default()
    };
    config.hubs = vec![HubConfig::new("eh1", w.partitions)];
    config
}

/// Totals over a run, printed at its end.
#[derive(Debug, Default)]
struct Totals {
    cases: u64,
    durable: u64,
    links: u64,
    events: u64,
}

async fn check(w: Workload, dir: &std::path::Path, totals: &mut Totals) -> Result<(), String> {
    let _ = std::fs::remove_dir_all(dir);
    let em = Emulator::start(config(&w, dir))
        .await
        .map_err(|e| e.to_string())?;
    let mut links = tokio::task::JoinSet::new();
    let mut connections = Vec::new();
    for (c, plans) in w.connections.iter().enumerate() {
        let (conn, session) = authorized(em.addr()).await;
        for (l, plan) in plans.iter().enumerate() {
            links.spawn(run_link(
                session.clone(),
                format!("c{c}l{l}"),
                plan.clone(),
                w.partitions,
            ));
        }
        connections.push((conn, session));
    }
    let mut sent = BTreeMap::new();
    while let Some(done) = links.join_next().await {
        let link = done.map_err(|e| format!("a link task failed: {e}"))??;
        sent.extend(link.events);
    }
    drop(connections);
    totals.cases += 1;
    totals.durable += u64::from(w.durable);
    totals.links += w.connections.iter().map(|c| c.len() as u64).sum::<u64>();
    totals.events += sent.len() as u64;
    let em = if w.durable {
        // Stored means recovered from disk.
        em.shutdown().await;
        Emulator::start(config(&w, dir))
            .await
            .map_err(|e| e.to_string())?
    } else {
        em
    };

    let logs = stored(&em);
    let mut seen = BTreeMap::new();
    for (p, events) in logs.iter().enumerate() {
        let mut last_of_link: BTreeMap<&str, &str> = BTreeMap::new();
        for (i, (body, key, seq)) in events.iter().enumerate() {
            if *seq != i as i64 {
                return Err(format!(
                    "partition {p}: event {i} has sequence number {seq}"
                ));
            }
            let Some((sent_key, required)) = sent.get(body) else {
                return Err(format!(
                    "partition {p}: stored {body:?}, which was never sent"
                ));
            };
            if seen.insert(body.clone(), p).is_some() {
                return Err(format!("{body:?} stored twice"));
            }
            if key != sent_key {
                return Err(format!("{body:?}: key {key:?}, sent with {sent_key:?}"));
            }
            if required.is_some_and(|r| r != p) {
                return Err(format!("{body:?} on partition {p}, expected {required:?}"));
            }
            let (link, n) = body.rsplit_once('-').expect("link-counter");
            if last_of_link.insert(link, n).is_some_and(|prev| prev > n) {
                return Err(format!(
                    "partition {p}: {body:?} after a later event of its link"
                ));
            }
        }
    }
    if seen.len() != sent.len() {
        let lost: Vec<&String> = sent
            .keys()
            .filter(|b| !seen.contains_key(*b))
            .take(10)
            .collect();
        return Err(format!(
            "{} sent and accepted, {} stored; lost (first 10): {lost:?}",
            sent.len(),
            seen.len()
        ));
    }
    let (_conn, session) = authorized(em.addr()).await;
    for (p, events) in logs.iter().enumerate() {
        let read = read_partition(&session, p, events.len()).await?;
        if &read != events {
            return Err(format!(
                "partition {p}: a reader from the beginning got other events"
            ));
        }
    }
    em.shutdown().await;
    Ok(())
}

#[test]
fn accepted_equals_stored_equals_received() {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(SUITE_CASES);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = common::data_dir("conservation");
    let mut runner = TestRunner::new(RunnerConfig {
        cases,
        failure_persistence: None,
        ..RunnerConfig::default()
    });
    let totals = std::cell::RefCell::new(Totals::default());
    let result = runner.run(&workload_strategy(), |w| {
        runtime
            .block_on(check(w, &dir, &mut totals.borrow_mut()))
            .map_err(TestCaseError::fail)
    });
    let _ = std::fs::remove_dir_all(&dir);
    let t = totals.into_inner();
    eprintln!(
        "conservation: {} workloads ({} durable), {} producer links, {} events sent and checked",
        t.cases, t.durable, t.links, t.events
    );
    if let Err(e) = result {
        panic!("{e}");
    }
}
