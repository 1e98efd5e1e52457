//! `eh` throughput against the in-process emulator, beside the official Python SDK's
//! simplest scripts doing the same (`interop/python/lines.py`): `eh send` of a
//! 1,000,000-line file (stdin), and `eh receive --exit-at-end --from earliest` of the same,
//! raw and `--json`. Each run is the release `eh` binary as a process of its own; its stdout
//! is read and its lines counted by this program. Prints events/s.
//! `cargo bench -p eventhubs-cli --bench eh [-- --quick]`.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use eventhubs_emulator::config::Retention;
use eventhubs_emulator::{Config, Emulator};
use eventhubs_test_support::bench::invoked_by_cargo_bench;

/// Runs `eh args` with `stdin` from `input` (or nothing); returns (lines on stdout, wall
/// time).
fn eh(args: &[&str], input: Option<&std::path::Path>) -> (u64, Duration) {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_eh"))
        .args(args)
        .stdin(match input {
            Some(path) => Stdio::from(std::fs::File::open(path).unwrap()),
            None => Stdio::null(),
        })
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = 0u64;
    let mut out = BufReader::with_capacity(1 << 20, child.stdout.take().unwrap());
    loop {
        let buf = out.fill_buf().unwrap();
        if buf.is_empty() {
            break;
        }
        lines += buf.iter().filter(|b| **b == b'\n').count() as u64;
        let n = buf.len();
        out.consume(n);
    }
    let status = child.wait().unwrap();
    assert!(status.success(), "eh {args:?}: {status:?}");
    (lines, started.elapsed())
}

/// The Python script's `RESULT <events> <seconds>`.
fn python(args: &[&str]) -> Option<(u64, f64)> {
    let python = eventhubs_test_support::interop_python()?;
    let dir = eventhubs_test_support::repo_root().join("interop/python");
    let out = Command::new(python)
        .arg(dir.join("lines.py"))
        .args(args)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| l.starts_with("RESULT "))?;
    let mut parts = line.split_whitespace().skip(1);
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

async fn stored(em: &Emulator) -> u64 {
    let consumer = eventhubs::ConsumerClient::from_connection_string(
        &em.connection_string(Some("eh1")),
        None,
        eventhubs::DEFAULT_CONSUMER_GROUP,
        eventhubs::ClientOptions::default(),
    )
    .unwrap();
    let mut n = 0;
    for id in consumer.get_partition_ids().await.unwrap() {
        let p = consumer.get_partition_properties(&id).await.unwrap();
        if !p.is_empty {
            n += (p.last_enqueued_sequence_number - p.beginning_sequence_number + 1) as u64;
        }
    }
    consumer.close().await;
    n
}

fn main() {
    if !invoked_by_cargo_bench() {
        return;
    }
    let quick = std::env::args().any(|a| a == "--quick");
    let lines: u64 = if quick { 100_000 } else { 1_000_000 };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let file = std::env::temp_dir().join(format!("eh-bench-{}.txt", std::process::id()));
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
        for i in 0..lines {
            // About 100 bytes a line, as in the client benchmark.
            writeln!(f, "{i:010} {}", "x".repeat(89)).unwrap();
        }
    }
    let start_emulator = || {
        runtime.block_on(async {
            let mut config = Config::default();
            config.retention = Retention {
                max_events: usize::MAX,
                max_bytes: u64::MAX,
                ..Retention::default()
            };
            Emulator::start(config).await.unwrap()
        })
    };
    let mut rows: Vec<(String, f64)> = Vec::new();

    // Ours.
    let em = start_emulator();
    let cs = em.connection_string(Some("eh1"));
    let (_, took) = eh(&["send", "-c", &cs], Some(&file));
    assert_eq!(runtime.block_on(stored(&em)), lines, "every line stored");
    rows.push(("eh send < file".into(), lines as f64 / took.as_secs_f64()));
    for (name, extra) in [
        ("eh receive -e --from earliest", None),
        ("eh receive -e --from earliest --json", Some("--json")),
    ] {
        let mut args = vec!["receive", "-c", &cs, "-e", "--from", "earliest"];
        args.extend(extra);
        let (got, took) = eh(&args, None);
        assert_eq!(got, lines, "{name}: every event printed once");
        rows.push((name.into(), lines as f64 / took.as_secs_f64()));
    }
    drop(em);

    // Python, on a fresh emulator.
    let em = start_emulator();
    let cs = em.connection_string(Some("eh1"));
    let py_send = python(&["send", &cs, file.to_str().unwrap()]);
    let py_receive = py_send.and_then(|_| python(&["receive", &cs, &lines.to_string()]));
    let _ = std::fs::remove_file(&file);

    println!();
    println!("| {lines} lines of ~100 bytes | eh events/s | Python events/s |");
    println!("|---|---:|---:|");
    let py = |r: Option<(u64, f64)>| {
        r.map_or_else(|| "n/a".to_owned(), |(n, s)| format!("{:.0}", n as f64 / s))
    };
    println!("| send from a file | {:.0} | {} |", rows[0].1, py(py_send));
    println!(
        "| receive to stdout, raw | {:.0} | {} |",
        rows[1].1,
        py(py_receive)
    );
    println!("| receive to stdout, JSON | {:.0} | — |", rows[2].1);
}
