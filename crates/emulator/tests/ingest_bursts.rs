//! Bursts of deliveries on one producer link, around and past the number the ingest loop
//! takes per wake-up: every unsettled send gets an outcome, and every event — settled or
//! pre-settled, memory or durable — is stored exactly once, in the order it was sent.

mod common;

use std::time::Duration;

use eventhubs_amqp::connection::LinkConfig;
use eventhubs_amqp::delivery_state::DeliveryState;
use eventhubs_emulator::{Config, Emulator, SyncPolicy};
use eventhubs_test_support::client::{authorized, event, receive_bodies};

use common::{data_dir, durable_config};

/// Burst sizes: one below, at and above each multiple of the per-wake-up batch (256), and
/// two larger ones.
const BURSTS: [usize; 8] = [255, 256, 257, 511, 512, 513, 1000, 5000];

/// How long any single outcome may take before it counts as never coming.
const OUTCOME_WAIT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    /// Unsettled: each send waits for its own outcome.
    Unsettled,
    /// Pre-settled, handed over in one burst, then one unsettled marker whose outcome says
    /// everything before it on the link has been processed.
    PreSettled,
}

fn bodies(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("burst-{i:05}")).collect()
}

/// Sends a burst of `n` events to partition 0 of a fresh emulator with `config` and
/// checks outcomes and the stored partition.
async fn burst(config: Config, n: usize, mode: Mode) {
    let em = Emulator::start(config).await.unwrap();
    let (_conn, session) = authorized(em.addr()).await;
    let sender = session
        .attach_sender(LinkConfig::sender("burst", "eh1/Partitions/0"))
        .await
        .unwrap();
    let mut sent = bodies(n);
    match mode {
        Mode::Unsettled => {
            let mut pending = Vec::with_capacity(n);
            for b in &sent {
                pending.push(sender.start_send(event(b, None), 0).await.unwrap());
            }
            let mut missing = Vec::new();
            for (i, p) in pending.into_iter().enumerate() {
                match tokio::time::timeout(OUTCOME_WAIT, p.wait()).await {
                    Ok(Ok(DeliveryState::Accepted)) => {}
                    Ok(other) => panic!("send {i} of {n}: {other:?}"),
                    Err(_) => missing.push(i),
                }
            }
            assert!(
                missing.is_empty(),
                "{mode:?} burst of {n}: no outcome for sends {missing:?}"
            );
        }
        Mode::PreSettled => {
            let payloads = sent.iter().map(|b| event(b, None)).collect();
            sender.send_settled_many(payloads, 0).await.unwrap();
            let marker =
                tokio::time::timeout(OUTCOME_WAIT, sender.send_encoded(event("marker", None), 0))
                    .await
                    .expect("the marker's outcome arrives");
            assert_eq!(marker.unwrap(), DeliveryState::Accepted);
            sent.push("marker".to_owned());
        }
    }
    let info = em.namespace().hubs[0].partitions[0].info();
    assert_eq!(
        info.last_sequence_number + 1,
        sent.len() as i64,
        "{mode:?} burst of {n}: the partition holds exactly what was sent"
    );
    let got = receive_bodies(&session, "0", sent.len()).await;
    let want: Vec<(String, i64)> = sent.into_iter().zip(0..).collect();
    if got != want {
        let first_bad = got.iter().zip(&want).position(|(g, w)| g != w);
        panic!(
            "{mode:?} burst of {n}: stored events differ from those sent, first at {first_bad:?}"
        );
    }
    em.shutdown().await;
}

async fn all_bursts(config: impl Fn() -> Config, mode: Mode) {
    for n in BURSTS {
        burst(config(), n, mode).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsettled_bursts_memory() {
    all_bursts(Config::default, Mode::Unsettled).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presettled_bursts_memory() {
    all_bursts(Config::default, Mode::PreSettled).await;
}

/// [`all_bursts`] on a fresh durable store (fsync on) for each burst.
async fn durable_bursts(name: &str, mode: Mode) {
    let dir = data_dir(name);
    let fresh = || {
        let _ = std::fs::remove_dir_all(&dir);
        durable_config(&dir, SyncPolicy::Always, 64 << 20)
    };
    all_bursts(fresh, mode).await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsettled_bursts_durable() {
    durable_bursts("bursts-unsettled", Mode::Unsettled).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presettled_bursts_durable() {
    durable_bursts("bursts-presettled", Mode::PreSettled).await;
}
