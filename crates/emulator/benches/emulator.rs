//! Emulator benchmark: ingest (100-event batches, in memory and durable with group-commit
//! fsync) and delivery to one receiver, with the project's AMQP engine as the client over
//! loopback. 100-byte event bodies. Prints events/s and process CPU ns/event (client and
//! emulator run in this process, so CPU covers both ends). Not a test: run it with
//! `cargo bench -p eventhubs-emulator --bench emulator` (optionally `-- --quick`, and words
//! that pick rows by name: `-- memory`, `-- deliver`, `-- durable`, `-- cold`). Each ingest
//! row ends by checking that the emulator stores exactly the events acknowledged. The cold
//! row delivers from a durable store whose retention is four to five times its cache, so
//! most bodies come back from the segment files; then the store is opened again (recovery
//! timed) and delivered from with nothing cached.

use std::collections::VecDeque;

use bytes::Bytes;
use eventhubs_amqp::codec::Encode;
use eventhubs_amqp::connection::LinkConfig;
use eventhubs_amqp::delivery_state::DeliveryState;
use eventhubs_amqp::message::{BatchBuilder, Message, BATCH_MESSAGE_FORMAT};
use eventhubs_emulator::config::Retention;
use eventhubs_emulator::{Config, DurableStorage, Emulator, Storage};
use eventhubs_protocol::selector::StartPosition;
use eventhubs_test_support::bench::{self, measure};
use eventhubs_test_support::client::{connect, consumer, put_token};

const BODY: usize = 100;
const BATCH: usize = 100;
/// Batches in flight per producer link.
const WINDOW: usize = 16;

fn batch() -> Bytes {
    let e = Message::with_data(vec![b'x'; BODY]).to_bytes();
    let mut b = BatchBuilder::new(None, 1 << 20);
    for _ in 0..BATCH {
        assert!(b.try_add_encoded(&e));
    }
    b.finish()
}

fn config(storage: Storage) -> Config {
    let mut c = Config::default();
    c.retention = Retention {
        max_events: usize::MAX,
        max_bytes: u64::MAX,
        ..Retention::default()
    };
    c.storage = storage;
    c
}

/// Sends `batches` batches to each of `links` partitions, one connection per link, with
/// `WINDOW` unsettled batches in flight on each; every batch must be accepted.
async fn ingest(em: &Emulator, links: usize, batches: usize) {
    let payload = batch();
    let mut tasks = tokio::task::JoinSet::new();
    for partition in 0..links {
        let (addr, payload) = (em.addr(), payload.clone());
        tasks.spawn(async move {
            let (conn, session) = connect(addr).await;
            assert_eq!(put_token(&session, "SAS_KEY_VALUE").await, 202);
            let sender = session
                .attach_sender(LinkConfig::sender(
                    "bench",
                    format!("eh1/Partitions/{partition}"),
                ))
                .await
                .unwrap();
            let mut inflight = VecDeque::new();
            for _ in 0..batches {
                let pending = sender
                    .start_send(payload.clone(), BATCH_MESSAGE_FORMAT)
                    .await
                    .unwrap();
                inflight.push_back(pending);
                if inflight.len() >= WINDOW {
                    let outcome = inflight.pop_front().unwrap().wait().await.unwrap();
                    assert_eq!(outcome, DeliveryState::Accepted);
                }
            }
            for p in inflight {
                assert_eq!(p.wait().await.unwrap(), DeliveryState::Accepted);
            }
            drop(conn);
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }
}

/// Fails the run unless hub `eh1` stores exactly the `acknowledged` events counted.
fn check_stored(em: &Emulator, acknowledged: u64) {
    bench::check_stored(em.namespace().hubs[0].stored_events(), acknowledged);
}

/// Receives `events` events of partition 0 from the earliest one with credit `prefetch`.
async fn deliver(em: &Emulator, events: u64, prefetch: u32) {
    let (_conn, session) = connect(em.addr()).await;
    assert_eq!(put_token(&session, "SAS_KEY_VALUE").await, 202);
    let mut rx = session
        .attach_receiver(consumer("0", StartPosition::Earliest, None), prefetch)
        .await
        .unwrap();
    for _ in 0..events {
        rx.recv().await.unwrap();
    }
}

fn main() {
    if !bench::invoked_by_cargo_bench() {
        return;
    }
    let quick = std::env::args().any(|a| a == "--quick");
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let wanted = |name: &str| {
        filters.is_empty()
            || filters
                .iter()
                .any(|f| name.contains(f) || (f == "cold" && name.starts_with("recover")))
    };
    let batches = if quick { 2_000 } else { 12_500 };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = std::env::temp_dir().join(format!("eh-bench-{}", std::process::id()));
    let mut rows: Vec<(String, (f64, f64))> = Vec::new();
    rt.block_on(async {
        for links in [1, 2, 4] {
            let em = Emulator::start(config(Storage::Memory)).await.unwrap();
            let events = (links * batches * BATCH) as u64;
            eprintln!("ingest, memory, {links} link(s)");
            let r = measure(events, ingest(&em, links, batches)).await;
            check_stored(&em, events);
            rows.push((
                format!("ingest 100-event batches, memory, {links} link(s)"),
                r,
            ));
            if links == 1 {
                for prefetch in [300, 5000] {
                    eprintln!("deliver, credit {prefetch}");
                    let r = measure(events, deliver(&em, events, prefetch)).await;
                    rows.push((format!("deliver to one receiver, credit {prefetch}"), r));
                }
            }
            em.shutdown().await;
        }
        // The cold row's cache holds a quarter of the bodies' bytes (shared by 4 partitions,
        // all the events on one): most of them come back from the segment files.
        let bodies = (batches * BATCH * BODY) as u64;
        for (cache, name) in [
            (None, "all cached".to_owned()),
            (
                Some(bodies),
                format!(
                    "cold: cache {} MiB for {} MiB of bodies",
                    (bodies / 4) >> 20,
                    bodies >> 20
                ),
            ),
        ] {
            if !wanted("cold") && !wanted("deliver") {
                break;
            }
            let _ = std::fs::remove_dir_all(&dir);
            let mut durable = DurableStorage::new(&dir);
            durable.sync = eventhubs_emulator::SyncPolicy::Never;
            durable.cache_bytes = cache;
            let em = Emulator::start(config(Storage::Durable(durable)))
                .await
                .unwrap();
            let events = (batches * BATCH) as u64;
            eprintln!("durable store, then deliver ({name})");
            ingest(&em, 1, batches).await;
            check_stored(&em, events);
            let cached = em.namespace().hubs[0].partitions[0].cached_bytes();
            let r = measure(events, deliver(&em, events, 5000)).await;
            rows.push((
                format!(
                    "deliver to one receiver, credit 5000, durable, {name} ({} MiB cached)",
                    cached >> 20
                ),
                r,
            ));
            em.shutdown().await;
            if cache.is_some() {
                // Open the store again: recovery reads and checks every record and keeps
                // the index only, so the events are all cold now.
                eprintln!("recover the durable store");
                let mut durable = DurableStorage::new(&dir);
                durable.sync = eventhubs_emulator::SyncPolicy::Never;
                durable.cache_bytes = cache;
                let mut reopened = None;
                let r = measure(events, async {
                    reopened = Some(
                        Emulator::start(config(Storage::Durable(durable)))
                            .await
                            .unwrap(),
                    );
                })
                .await;
                rows.push(("recover the store (start on its segment files)".into(), r));
                let em = reopened.expect("started");
                check_stored(&em, events);
                let r = measure(events, deliver(&em, events, 5000)).await;
                rows.push((
                    "deliver to one receiver, credit 5000, durable, cold after a restart (0 MiB cached)"
                        .into(),
                    r,
                ));
                em.shutdown().await;
            }
        }
        for links in [1, 4] {
            if !wanted("durable") {
                break;
            }
            let _ = std::fs::remove_dir_all(&dir);
            let em = Emulator::start(config(Storage::Durable(DurableStorage::new(&dir))))
                .await
                .unwrap();
            let events = (links * batches * BATCH) as u64;
            eprintln!("ingest, durable (fsync group commit), {links} link(s)");
            let r = measure(events, ingest(&em, links, batches)).await;
            check_stored(&em, events);
            rows.push((
                format!("ingest 100-event batches, durable fsync, {links} link(s)"),
                r,
            ));
            em.shutdown().await;
        }
    });
    let _ = std::fs::remove_dir_all(&dir);
    println!();
    println!("| path | events/s | CPU ns/event |");
    println!("|---|---:|---:|");
    for (name, (rate, cpu)) in rows.into_iter().filter(|(n, _)| wanted(n)) {
        println!("| {name} | {rate:.0} | {cpu:.0} |");
    }
}
