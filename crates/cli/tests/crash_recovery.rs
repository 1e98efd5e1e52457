//! The durable store survives `kill -9` in the middle of a stream of sends: after a
//! restart every acknowledged event is there, numbering has no holes, a torn record left
//! at the end of a segment is cut off and never served, and new events continue the
//! numbering.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

mod common;

use eventhubs_amqp::connection::LinkConfig;
use eventhubs_amqp::delivery_state::DeliveryState;
use eventhubs_protocol::selector::StartPosition;
use eventhubs_test_support::client::{body_of, connect, consumer, event, put_token};

/// Starts `eh emulator --data-dir <dir>` on a free port.
fn start(dir: &Path) -> common::Running {
    common::start_eh([OsStr::new("--data-dir"), dir.as_os_str()], 0)
}

/// Sends round-robin with up to 256 in flight until the emulator dies; returns the bodies
/// it acknowledged.
async fn send_until_killed(mut emulator: common::Running) -> HashSet<String> {
    let (_c, session) = connect(emulator.addr).await;
    assert_eq!(put_token(&session, "SAS_KEY_VALUE").await, 202);
    let sender = session
        .attach_sender(LinkConfig::sender("s", "eh1"))
        .await
        .unwrap();
    let acked = Arc::new(Mutex::new(HashSet::new()));
    let mut in_flight = tokio::task::JoinSet::new();
    let mut killed = false;
    for i in 0..1_000_000u32 {
        let body = format!("crash-{i}");
        let Ok(pending) = sender.start_send(event(&body, None), 0).await else {
            break;
        };
        let record = acked.clone();
        in_flight.spawn(async move {
            if let Ok(DeliveryState::Accepted) = pending.wait().await {
                record.lock().unwrap().insert(body);
            }
        });
        while in_flight.len() >= 256 {
            in_flight.join_next().await;
        }
        if !killed && acked.lock().unwrap().len() >= 5000 {
            // SIGKILL with sends in flight: no shutdown path runs.
            emulator.kill();
            killed = true;
        }
    }
    while in_flight.join_next().await.is_some() {}
    assert!(killed, "the emulator was killed mid-stream");
    Arc::try_unwrap(acked).unwrap().into_inner().unwrap()
}

/// Receives a partition from the earliest event until it has been quiet for a second.
async fn drain(addr: SocketAddr, partition: &str) -> Vec<(String, i64)> {
    let (_c, session) = connect(addr).await;
    assert_eq!(put_token(&session, "SAS_KEY_VALUE").await, 202);
    let mut rx = session
        .attach_receiver(consumer(partition, StartPosition::Earliest, None), 1000)
        .await
        .unwrap();
    let mut out = Vec::new();
    while let Ok(d) = tokio::time::timeout(Duration::from_secs(1), rx.recv()).await {
        out.push(body_of(&d.unwrap().payload));
    }
    out
}

fn last_segment(dir: &Path, partition: &str) -> std::path::PathBuf {
    let mut files: Vec<_> = std::fs::read_dir(dir.join("eh1").join(partition))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files.pop().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_mid_write_loses_no_acknowledged_event() {
    let dir = std::env::temp_dir().join(format!("eh-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let acked = send_until_killed(start(&dir)).await;

    // A write torn by the crash: a record prefix promising 200 bytes, then only 30.
    let torn = last_segment(&dir, "0");
    let intact_len = std::fs::metadata(&torn).unwrap().len();
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&torn)
        .unwrap();
    file.write_all(&200u32.to_le_bytes()).unwrap();
    file.write_all(&[0xAB; 34]).unwrap();
    drop(file);

    let mut emulator = start(&dir);
    let addr = emulator.addr;
    assert_eq!(
        std::fs::metadata(&torn).unwrap().len(),
        intact_len,
        "the torn record is cut off on recovery"
    );
    let mut received = HashSet::new();
    let mut counts = Vec::new();
    for partition in ["0", "1", "2", "3"] {
        let events = drain(addr, partition).await;
        for (i, (body, seq)) in events.iter().enumerate() {
            assert_eq!(
                *seq, i as i64,
                "partition {partition}: no holes in numbering"
            );
            assert!(body.starts_with("crash-"), "only whole events: {body:?}");
            assert!(received.insert(body.clone()), "served once: {body}");
        }
        counts.push(events.len());
    }
    let missing: Vec<_> = acked.difference(&received).collect();
    assert!(missing.is_empty(), "acknowledged but lost: {missing:?}");
    eprintln!(
        "acknowledged {} before the kill; recovered {} ({counts:?} per partition)",
        acked.len(),
        received.len()
    );

    // Numbering continues after the recovered tail.
    let (_c, session) = connect(addr).await;
    assert_eq!(put_token(&session, "SAS_KEY_VALUE").await, 202);
    let sender = session
        .attach_sender(LinkConfig::sender("s", "eh1/Partitions/0"))
        .await
        .unwrap();
    sender
        .send_encoded(event("after-restart", None), 0)
        .await
        .unwrap();
    let events = drain(addr, "0").await;
    assert_eq!(
        events.last().unwrap(),
        &("after-restart".to_owned(), counts[0] as i64)
    );
    emulator.kill();
    std::fs::remove_dir_all(&dir).unwrap();
}
