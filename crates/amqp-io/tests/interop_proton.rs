//! Interop with python-qpid-proton, an independent AMQP 1.0 implementation, over loopback:
//! proton as client of our server role, and our client role against a proton broker.
//! 10,000 messages each way, settled and unsettled, one larger than the frame size.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use eventhubs_amqp::connection::{ConnectionConfig, SaslClient};
use eventhubs_amqp_io::Connection;

const N: usize = 10_000;

fn script(name: &str) -> std::path::PathBuf {
    eventhubs_test_support::repo_root()
        .join("interop/amqp")
        .join(name)
}

/// proton's client sends 2×10,000 messages to our server and receives them back intact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proton_client_against_our_server() {
    let Some(python) = eventhubs_test_support::interop_python() else {
        return;
    };
    let port =
        common::start_broker(ConnectionConfig::server("our-broker").max_frame_size(8192)).await;
    let child = tokio::process::Command::new(python)
        .arg(script("proton_client.py"))
        .arg(port.to_string())
        .arg(N.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let out = tokio::time::timeout(Duration::from_secs(240), child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.starts_with("ok"),
        "stdout: {stdout}\nstderr: {stderr}"
    );
}

/// Our client sends 2×10,000 messages to a proton broker and receives them back intact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_against_proton_broker() {
    let Some(python) = eventhubs_test_support::interop_python() else {
        return;
    };
    let mut child = Command::new(python)
        .arg(script("proton_broker.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port: u16 = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .parse()
        .unwrap();
    let result = tokio::time::timeout(Duration::from_secs(240), round_trip(port)).await;
    drop(child.stdin.take());
    let _ = child.kill();
    let _ = child.wait();
    result.unwrap();
}

async fn round_trip(port: u16) {
    let addr = format!("127.0.0.1:{port}");
    let mut conn = None;
    for _ in 0..50 {
        let config = ConnectionConfig::client("our-client")
            .sasl(SaslClient::Anonymous)
            .max_frame_size(8192);
        match Connection::connect_tcp(&addr, config).await {
            Ok(c) => {
                conn = Some(c);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    let conn = conn.expect("proton broker did not accept connections");
    let session = conn.begin().await.unwrap();
    common::round_trip(&session, N).await;
    conn.close(None).await.unwrap();
}
