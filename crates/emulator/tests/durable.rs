//! The durable store over real sockets: acknowledged events survive a restart with their
//! sequence numbers, offsets and bytes; numbering continues; segments roll and retention
//! deletes whole old segments. (The kill-mid-write test drives the `eh` binary, in
//! `crates/cli/tests/crash_recovery.rs`.)

mod common;

use std::path::Path;

use eventhubs_amqp::connection::LinkConfig;
use eventhubs_amqp::delivery_state::DeliveryState;
use eventhubs_emulator::config::Retention;
use eventhubs_emulator::{Emulator, SyncPolicy};
use eventhubs_test_support::client::{authorized, event, receive_bodies};

use common::{data_dir, durable_config};

/// Sends `bodies` to `partition`, many in flight, and checks each is accepted.
async fn send_all(em: &Emulator, partition: &str, bodies: &[String]) {
    let (_c, session) = authorized(em.addr()).await;
    let sender = session
        .attach_sender(LinkConfig::sender(
            "s",
            format!("eh1/Partitions/{partition}"),
        ))
        .await
        .unwrap();
    let mut pending = Vec::new();
    for b in bodies {
        pending.push(sender.start_send(event(b, None), 0).await.unwrap());
    }
    for p in pending {
        assert_eq!(p.wait().await.unwrap(), DeliveryState::Accepted);
    }
}

/// Receives `n` events of `partition` from the earliest one.
async fn receive(em: &Emulator, partition: &str, n: usize) -> Vec<(String, i64)> {
    let (_c, session) = authorized(em.addr()).await;
    receive_bodies(&session, partition, n).await
}

fn segments(dir: &Path, partition: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("eh1").join(partition))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// 2,000 events acknowledged under group commit are all there after a restart, in order,
/// with the same sequence numbers and offsets; the next event continues the numbering.
#[tokio::test]
async fn acknowledged_events_survive_restart() {
    let dir = data_dir("restart");
    let bodies: Vec<String> = (0..2000).map(|i| format!("event-{i}")).collect();
    let em = Emulator::start(durable_config(&dir, SyncPolicy::Always, 64 << 20))
        .await
        .unwrap();
    send_all(&em, "1", &bodies).await;
    let before = em.namespace().hubs[0].partitions[1].info();
    em.shutdown().await;

    let em = Emulator::start(durable_config(&dir, SyncPolicy::Always, 64 << 20))
        .await
        .unwrap();
    assert_eq!(em.namespace().hubs[0].partitions[1].info(), before);
    let got = receive(&em, "1", 2000).await;
    let want: Vec<(String, i64)> = bodies.iter().cloned().zip(0..).collect();
    assert_eq!(got, want);
    send_all(&em, "1", &["after".to_owned()]).await;
    assert_eq!(
        receive(&em, "1", 2001).await[2000],
        ("after".to_owned(), 2000)
    );
    em.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Small segments roll over; count retention deletes whole old segment files, and after
/// a restart the log starts at the first retained event with numbering intact.
#[tokio::test]
async fn segments_roll_and_retention_deletes_them() {
    let dir = data_dir("roll");
    let mut config = durable_config(&dir, SyncPolicy::Never, 4096);
    config.retention = Retention {
        max_events: 100,
        ..Retention::default()
    };
    let em = Emulator::start(config.clone()).await.unwrap();
    for round in 0..10 {
        let bodies: Vec<String> = (0..50).map(|i| format!("r{round}-{i:03}")).collect();
        send_all(&em, "0", &bodies).await;
    }
    em.shutdown().await;
    let files = segments(&dir, "0");
    assert!(files.len() >= 2, "segments rolled: {files:?}");
    assert_ne!(
        files[0], "00000000000000000000.seg",
        "the oldest segments were deleted"
    );

    let em = Emulator::start(config).await.unwrap();
    let info = em.namespace().hubs[0].partitions[0].info();
    assert_eq!(info.last_sequence_number, 499);
    assert_eq!(info.begin_sequence_number, 400, "count retention holds");
    let got = receive(&em, "0", 100).await;
    assert_eq!(got[0], ("r8-000".to_owned(), 400));
    assert_eq!(got[99], ("r9-049".to_owned(), 499));
    em.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Retention 16 times the cache: bodies beyond each partition's share of the cache are
/// dropped from memory once written and read back from the segment files, in order and
/// byte for byte, before and after a restart (recovery indexes the records and caches no
/// body: every one is read back from disk).
#[tokio::test]
async fn retention_beyond_the_cache_is_served_from_disk() {
    let dir = data_dir("cold");
    let mut config = durable_config(&dir, SyncPolicy::Never, 16 * 1024);
    let share = 64 * 1024u64;
    if let eventhubs_emulator::Storage::Durable(d) = &mut config.storage {
        d.cache_bytes = Some(4 * share);
    }
    let bodies: Vec<String> = (0..2000)
        .map(|i| format!("{i:05}-{}", "x".repeat(500)))
        .collect();
    let em = Emulator::start(config.clone()).await.unwrap();
    send_all(&em, "0", &bodies).await;
    let partition = &em.namespace().hubs[0].partitions[0];
    let retained: u64 = partition
        .events(0, 2000)
        .unwrap()
        .iter()
        .map(|e| e.bytes.len() as u64)
        .sum();
    assert!(
        retained > 16 * share,
        "retention {retained} is 16 times the cache share"
    );
    assert!(
        partition.cached_bytes() <= share,
        "{} cached",
        partition.cached_bytes()
    );
    let read: Vec<String> = receive(&em, "0", 2000)
        .await
        .into_iter()
        .map(|(b, _)| b)
        .collect();
    assert_eq!(read, bodies);
    em.shutdown().await;

    let em = Emulator::start(config).await.unwrap();
    let partition = &em.namespace().hubs[0].partitions[0];
    assert!(
        partition.cached_bytes() <= share,
        "{} cached after recovery",
        partition.cached_bytes()
    );
    let all = partition.events(0, 2000).unwrap();
    let empty: Vec<i64> = all
        .iter()
        .filter(|e| e.bytes.is_empty())
        .map(|e| e.sequence_number)
        .collect();
    assert!(
        empty.is_empty(),
        "{} empty, first {:?}",
        empty.len(),
        &empty[..empty.len().min(5)]
    );
    let read: Vec<(String, i64)> = receive(&em, "0", 2000).await;
    assert_eq!(
        read.iter().map(|(b, _)| b.clone()).collect::<Vec<_>>(),
        bodies
    );
    assert!(read
        .iter()
        .enumerate()
        .all(|(i, (_, seq))| *seq == i as i64));
    em.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
