//! A process handling events with file checkpoints is killed (`SIGKILL`) mid-stream; a new
//! process resumes right after the last checkpoint it flushed, and between the two every
//! event was handled — none skipped (events after that checkpoint are handled again:
//! at-least-once).
//!
//! The child is this test binary run again with `EH_KILL_RESUME_CHILD` set, running the
//! `child` test below.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use eventhubs::persist::CheckpointKey;
use eventhubs::{CheckpointPersister, FilePersister, Hub, HubOptions, ReceiveOptions};
use eventhubs_emulator::{Config, Emulator};

const EVENTS: i64 = 5_000;
const CHILD: &str = "EH_KILL_RESUME_CHILD";

/// The child: handle partition 0 with a file persister, printing each sequence number.
#[tokio::test]
async fn child() {
    let Ok(connection_string) = std::env::var(CHILD) else {
        return; // not a child: nothing to do
    };
    let dir = std::env::var("EH_KILL_RESUME_DIR").unwrap();
    let persister = Arc::new(FilePersister::new(dir).unwrap());
    let options = HubOptions::default().checkpoint_persister(persister);
    let hub = Hub::from_connection_string(&connection_string, options).unwrap();
    let handle = hub
        .receive(
            "0",
            |e| async move {
                use std::io::Write;
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "handled {}", e.sequence_number());
                let _ = out.flush();
                Ok(())
            },
            ReceiveOptions::default().checkpoint_every(100, Duration::from_secs(3600)),
        )
        .await
        .unwrap();
    handle.done().await; // until killed
}

fn spawn_child(connection_string: &str, dir: &std::path::Path) -> (Child, BufReader<ChildStdout>) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["child", "--exact", "--nocapture", "--test-threads", "1"])
        .env(CHILD, connection_string)
        .env("EH_KILL_RESUME_DIR", dir)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = BufReader::new(child.stdout.take().unwrap());
    (child, out)
}

/// The next `handled N` of a child (the test harness's own output skipped).
fn next_handled(out: &mut BufReader<ChildStdout>) -> Option<i64> {
    let mut line = String::new();
    loop {
        line.clear();
        if out.read_line(&mut line).ok()? == 0 {
            return None;
        }
        // The harness may print `test child ... ` on the same line first.
        if let Some(at) = line.find("handled ") {
            return line[at + "handled ".len()..].trim().parse().ok();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_process_resumes_after_its_last_checkpoint() {
    if std::env::var(CHILD).is_ok() {
        return;
    }
    let em = Emulator::start(Config::default()).await.unwrap();
    let cs = em.connection_string(Some("eh1"));
    let hub =
        Hub::from_connection_string(&cs, HubOptions::default().partitioned_sender("0")).unwrap();
    hub.send_batch((0..EVENTS).map(|i| i.to_string()))
        .await
        .unwrap();
    let dir = std::env::temp_dir().join(format!("eh-kill-resume-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);

    let key = CheckpointKey {
        namespace: hub.namespace().to_owned(),
        hub: "eh1".into(),
        consumer_group: "$Default".into(),
        partition_id: "0".into(),
    };
    let persister = Arc::new(FilePersister::new(&dir).unwrap());

    // First child: let it handle about half and flush at least one checkpoint, then kill it.
    let (first, killed_at_checkpoint) = tokio::task::spawn_blocking({
        let (cs, dir, persister, key) = (cs.clone(), dir.clone(), persister.clone(), key.clone());
        move || {
            let (mut child, mut out) = spawn_child(&cs, &dir);
            let mut first = Vec::new();
            while first.len() < (EVENTS / 2) as usize {
                first.push(next_handled(&mut out).expect("the child handles events"));
            }
            // Bounded wait for a flushed checkpoint (the writer runs behind the handler).
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            while runtime.block_on(persister.read(&key)).unwrap().is_none() {
                assert!(
                    std::time::Instant::now() < deadline,
                    "no checkpoint flushed in 10 s"
                );
                std::thread::yield_now();
            }
            child.kill().unwrap();
            child.wait().unwrap();
            // What it handled between our last read and the kill is still in the pipe.
            while let Some(seq) = next_handled(&mut out) {
                first.push(seq);
            }
            let at_kill = runtime.block_on(persister.read(&key)).unwrap();
            (
                first,
                at_kill
                    .expect("a checkpoint survives the kill")
                    .sequence_number,
            )
        }
    })
    .await
    .unwrap();

    // Second child: runs until it has handled the last event.
    let second = tokio::task::spawn_blocking({
        let (cs, dir) = (cs.clone(), dir.clone());
        move || {
            let (mut child, mut out) = spawn_child(&cs, &dir);
            let mut second = Vec::new();
            while second.last() != Some(&(EVENTS - 1)) {
                second.push(next_handled(&mut out).expect("the new child handles events"));
            }
            child.kill().unwrap();
            child.wait().unwrap();
            second
        }
    })
    .await
    .unwrap();

    assert_eq!(first[0], 0);
    let last_first = *first.last().unwrap();
    let resumed_at = second[0];
    // The checkpoint on disk at the kill is one the child flushed (every 100 events) for an
    // event it had handled; the second child starts right after it.
    assert_eq!(killed_at_checkpoint % 100, 99, "{killed_at_checkpoint}");
    assert!(
        killed_at_checkpoint <= last_first,
        "a checkpoint ahead of the handler"
    );
    assert_eq!(
        resumed_at,
        killed_at_checkpoint + 1,
        "resumed right after the flushed checkpoint (first reached {last_first})"
    );
    // Nothing skipped: the two runs together handled every event, each in order.
    for run in [&first, &second] {
        assert!(
            run.windows(2).all(|w| w[1] == w[0] + 1),
            "a gap or repeat within a run"
        );
    }
    assert_eq!(*second.last().unwrap(), EVENTS - 1);
    let final_cp = persister.read(&key).await.unwrap().unwrap().sequence_number;
    assert!(final_cp >= resumed_at - 1, "{final_cp}");
    eprintln!(
        "first run handled 0..={last_first}; killed with checkpoint {killed_at_checkpoint} on disk; \
         second resumed at {resumed_at} and handled to {}",
        EVENTS - 1
    );
    std::fs::remove_dir_all(&dir).unwrap();
    em.shutdown().await;
}
