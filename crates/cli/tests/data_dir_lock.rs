//! One emulator per data directory: a second `eh emulator --data-dir D` exits non-zero
//! with an error naming the directory and the first one's pid, and the first keeps
//! serving — its acknowledged events all there after it stops and restarts.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

mod common;

use eventhubs_amqp::connection::LinkConfig;
use eventhubs_amqp::delivery_state::DeliveryState;
use eventhubs_test_support::client::{authorized, event, receive_bodies};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_emulator_on_one_data_dir_is_refused() {
    let dir = std::env::temp_dir().join(format!("eh-lock-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let data_dir = [OsStr::new("--data-dir"), dir.as_os_str()];
    let mut first = common::start_eh(data_dir, 0);

    let mut second = Command::new(env!("CARGO_BIN_EXE_eh"))
        .args(["emulator", "--port", "0", "--data-dir"])
        .arg(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Refused, it exits at once and its stdout ends empty; let in, it would print its
    // address: either way the first line (or the end) comes without waiting for long.
    let mut line = String::new();
    BufReader::new(second.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    if !line.is_empty() {
        second.kill().unwrap();
        second.wait().unwrap();
        panic!("the second emulator started on a locked directory: {line}");
    }
    let second = second.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        !second.status.success(),
        "the second emulator must exit non-zero"
    );
    assert!(
        stderr.contains(&dir.display().to_string()),
        "names the directory: {stderr}"
    );
    assert!(
        stderr.contains(&format!("pid {}", first.child.id())),
        "names the holder's pid: {stderr}"
    );

    // The first one still serves: sends are acknowledged and can be read back.
    let (_conn, session) = authorized(first.addr).await;
    let sender = session
        .attach_sender(LinkConfig::sender("s", "eh1/Partitions/0"))
        .await
        .unwrap();
    for i in 0..100 {
        let outcome = sender.send_encoded(event(&format!("e{i}"), None), 0).await;
        assert_eq!(outcome.unwrap(), DeliveryState::Accepted);
    }
    let got = receive_bodies(&session, "0", 100).await;
    assert_eq!(got.last(), Some(&("e99".to_owned(), 99)));
    drop(session);
    first.kill();

    // The holder gone, the directory opens again with everything it acknowledged.
    let mut again = common::start_eh(data_dir, 0);
    let (_conn, session) = authorized(again.addr).await;
    let got = receive_bodies(&session, "0", 100).await;
    let want: Vec<(String, i64)> = (0..100).map(|i| (format!("e{i}"), i)).collect();
    assert_eq!(got, want);
    again.kill();
    std::fs::remove_dir_all(&dir).unwrap();
}
