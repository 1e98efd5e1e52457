//! Cross-SDK round trips against the in-process emulator: events sent by the official
//! Python (`azure-eventhub` 5.15.1) and JS (`@azure/event-hubs` 6.0.4) SDKs are received
//! by our client with body, properties, partition key and system properties intact, and
//! events our client sends are received by them the same way.

mod common;

use std::path::Path;
use std::process::Command;

use common::{start, within};
use eventhubs::{Event, Hub, ReceiveOptions, Value};
use eventhubs_protocol::hash::partition_for_key;
use eventhubs_test_support::{interop_js, interop_python, repo_root};

/// Runs a peer script; returns its stdout lines (it must exit 0 and print `ok`).
fn run(program: &Path, script: &Path, args: &[&str]) -> Vec<serde_json::Value> {
    let out = Command::new(program)
        .arg(script)
        .args(args)
        .current_dir(script.parent().unwrap())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.lines().any(|l| l == "ok"),
        "{} failed\nstdout: {stdout}\nstderr: {}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The peer sent "from-<sdk>" (properties n=7, s="text", content type, correlation and
/// message ids) to partition 0 and "keyed-<sdk>" with key "<sdk>-key".
async fn receive_from_peer(hub: &Hub, sdk: &str) {
    let mut rx = hub
        .receiver("0", ReceiveOptions::default().from_beginning())
        .await
        .unwrap();
    let e = within("peer event", rx.recv()).await.unwrap();
    assert_eq!(e.data_as_str(), Some(format!("from-{sdk}").as_str()));
    assert_eq!(e.property("n").and_then(Value::as_i64), Some(7));
    assert_eq!(e.property("s"), Some(&Value::from("text")));
    assert_eq!(e.content_type(), Some("text/plain"));
    assert_eq!(
        e.correlation_id(),
        Some(&Value::from(format!("corr-{sdk}").as_str()))
    );
    assert_eq!(
        e.message_id(),
        Some(&Value::from(format!("mid-{sdk}").as_str()))
    );
    assert_eq!((e.sequence_number(), e.offset()), (0, "0"));
    let key = format!("{sdk}-key");
    let partition = partition_for_key(&key, 4).to_string();
    let mut rx = hub
        .receiver(&partition, ReceiveOptions::default().from_beginning())
        .await
        .unwrap();
    let e = within("keyed peer event", rx.recv()).await.unwrap();
    assert_eq!(e.data_as_str(), Some(format!("keyed-{sdk}").as_str()));
    assert_eq!(e.partition_key(), Some(key.as_str()));
}

/// Our client sends "from-rust" to partition 1 and "keyed-rust" keyed "rs-key"; the peer
/// receives both with everything intact.
async fn send_to_peer(hub: &Hub, program: &Path, script: &Path, cs: &str) {
    hub.send_to_partition(
        "1",
        Event::from("from-rust")
            .with_property("n", 7i64)
            .with_property("s", "text")
            .with_content_type("text/plain")
            .with_correlation_id("corr-rs")
            .with_message_id("mid-rs"),
    )
    .await
    .unwrap();
    hub.send(Event::from("keyed-rust").with_partition_key("rs-key"))
        .await
        .unwrap();
    let events = receive_all(hub, program, script, cs, "1").await;
    let e = events
        .iter()
        .find(|e| e["body"] == "from-rust")
        .expect("our event");
    assert_eq!(e["body"], "from-rust");
    assert_eq!(e["properties"]["n"], 7);
    assert_eq!(e["properties"]["s"], "text");
    assert_eq!(e["content_type"], "text/plain");
    assert_eq!(e["correlation_id"], "corr-rs");
    assert_eq!(e["message_id"], "mid-rs");
    let info = hub.partition_information("1").await.unwrap();
    let keyed_after_it = i64::from(partition_for_key("rs-key", 4) == 1);
    assert_eq!(
        e["sequence_number"],
        info.last_sequence_number - keyed_after_it
    );
    assert!(e["offset"].as_str().unwrap().parse::<i64>().is_ok());
    assert!(e["enqueued_ms"].as_i64().unwrap() > 1_700_000_000_000);
    let keyed = partition_for_key("rs-key", 4).to_string();
    let events = receive_all(hub, program, script, cs, &keyed).await;
    let keyed_event = events
        .iter()
        .find(|e| e["body"] == "keyed-rust")
        .expect("keyed event");
    assert_eq!(keyed_event["partition_key"], "rs-key");
}

/// Every event of `partition`, as the peer received them.
async fn receive_all(
    hub: &Hub,
    program: &Path,
    script: &Path,
    cs: &str,
    partition: &str,
) -> Vec<serde_json::Value> {
    let count = hub
        .partition_information(partition)
        .await
        .unwrap()
        .last_sequence_number
        + 1;
    run(
        program,
        script,
        &["receive", cs, partition, &count.to_string()],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_round_trips() {
    let Some(python) = interop_python() else {
        return;
    };
    let script = repo_root().join("interop/python/cross.py");
    let (em, hub) = start().await;
    let cs = em.connection_string(None);
    run(&python, &script, &["send", &cs]);
    receive_from_peer(&hub, "py").await;
    send_to_peer(&hub, &python, &script, &cs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn js_sdk_round_trips() {
    let Some(dir) = interop_js() else { return };
    let script = dir.join("cross.mjs");
    let (em, hub) = start().await;
    let cs = em.connection_string(None);
    run(Path::new("node"), &script, &["send", &cs]);
    receive_from_peer(&hub, "js").await;
    send_to_peer(&hub, Path::new("node"), &script, &cs).await;
}
