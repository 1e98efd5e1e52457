//! `eh bench` as a separate process: against an emulator of its own (`--embedded`) and
//! against `eh emulator`, its table and JSON parsed, its events read back with `eh receive`,
//! other traffic on the hub left uncounted, bad options refused, and its live status line
//! on a terminal.

mod common;

use common::{eh, json_lines, ok, on_terminal, start_eh};

const NO_ARGS: [&str; 0] = [];

/// The numbers of a table row (`sent  100000  812345  81.23  0.12`).
fn row(table: &str, name: &str) -> Vec<f64> {
    let line = table
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("no {name} row in:\n{table}"));
    line.split_whitespace()
        .skip(1)
        .map(|n| n.parse().unwrap_or_else(|e| panic!("{line}: {e}")))
        .collect()
}

#[test]
fn embedded_prints_its_table() {
    let table = ok(&eh(&["bench", "--embedded", "--count", "100000"], b""));
    let first = table.lines().next().unwrap();
    assert!(
        first.starts_with("eh bench: hub bench (embedded emulator), 4 partitions; 1 producer, 1 consumer; 100-byte events in batches of 100"),
        "{table}"
    );
    for name in ["sent", "received"] {
        let [events, per_sec, mb_per_sec, seconds] = row(&table, name)[..] else {
            panic!("{table}");
        };
        assert_eq!(events, 100_000.0, "{table}");
        assert!(
            per_sec > 0.0 && mb_per_sec > 0.0 && seconds > 0.0,
            "{table}"
        );
        // 100-byte bodies: MB/s is events/s × 100 / 10^6 (both rounded).
        assert!((mb_per_sec - per_sec * 1e-4).abs() < 0.02, "{table}");
    }
    let latency = table
        .lines()
        .find(|l| l.starts_with("latency"))
        .unwrap_or_else(|| panic!("{table}"));
    let millis: Vec<f64> = latency
        .split_whitespace()
        .zip(latency.split_whitespace().skip(1))
        .filter(|(k, _)| ["p50", "p90", "p99", "p99.9", "max"].contains(k))
        .map(|(_, v)| v.parse().unwrap())
        .collect();
    assert_eq!(millis.len(), 5, "{latency}");
    assert!(millis.windows(2).all(|w| w[0] <= w[1]), "{latency}");
    assert!(
        latency.ends_with("(send to receive, 100000 events)"),
        "{latency}"
    );
    assert!(!table.contains("missing"), "{table}");
}

#[test]
fn against_a_running_emulator_counting_only_its_own_events() {
    let em = start_eh(NO_ARGS, 0);
    let cs = em.connection_string.as_str();
    // Traffic that is not the bench's: neither read nor counted.
    ok(&eh(
        &["send", "-c", cs, "--count", "500", "--size", "7"],
        b"",
    ));
    let args = [
        "bench",
        "-c",
        cs,
        "--producers",
        "2",
        "--consumers",
        "3",
        "--count",
        "20000",
        "--size",
        "50",
        "--batch",
        "10",
        "--json",
    ];
    for _ in 0..2 {
        let doc: serde_json::Value = serde_json::from_str(&ok(&eh(&args, b""))).unwrap();
        assert_eq!(doc["hub"], "eh1", "{doc}");
        assert_eq!(doc["embedded"], false, "{doc}");
        assert_eq!(doc["partitions"], 4, "{doc}");
        assert_eq!(doc["sent"]["events"], 20_000, "{doc}");
        assert_eq!(doc["sent"]["bytes"], 1_000_000, "{doc}");
        assert_eq!(doc["received"]["events"], 20_000, "{doc}");
        assert_eq!(doc["received"]["bytes"], 1_000_000, "{doc}");
        assert_eq!(doc["missing"], 0, "{doc}");
        let latency = &doc["latency_ms"];
        assert_eq!(latency["events"], 20_000, "{doc}");
        assert!(latency["p50"].as_f64().unwrap() <= latency["p99_9"].as_f64().unwrap());
    }
    // Everything the two runs sent is on the hub, stamped with its run and send time.
    let events = json_lines(&ok(&eh(
        &["receive", "-c", cs, "--from", "earliest", "-e", "--json"],
        b"",
    )));
    assert_eq!(events.len(), 40_500);
    let stamped: Vec<_> = events
        .iter()
        .filter(|e| e["properties"]["eh-bench-run"].is_u64())
        .collect();
    assert_eq!(stamped.len(), 40_000);
    let runs: std::collections::BTreeSet<u64> = stamped
        .iter()
        .map(|e| e["properties"]["eh-bench-run"].as_u64().unwrap())
        .collect();
    assert_eq!(runs.len(), 2, "two runs, two ids");
    assert!(stamped
        .iter()
        .all(
            |e| e["properties"]["eh-bench-sent-us"].as_i64().unwrap() > 1_700_000_000_000_000
                && e["body"].as_str().unwrap().len() == 50
        ));

    // Without producers, the consumers read what the hub held at the start.
    let doc: serde_json::Value = serde_json::from_str(&ok(&eh(
        &[
            "bench",
            "-c",
            cs,
            "--producers",
            "0",
            "--consumers",
            "2",
            "--json",
        ],
        b"",
    )))
    .unwrap();
    assert_eq!(doc["received"]["events"], 40_500, "{doc}");
    assert_eq!(doc["received"]["bytes"], 40_000 * 50 + 500 * 7, "{doc}");
    assert!(
        doc["sent"].is_null() && doc["latency_ms"].is_null(),
        "{doc}"
    );
}

#[test]
fn bad_options_are_refused() {
    let check = |args: &[&str], wanted: &str| {
        let out = eh(args, b"");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(wanted), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    };
    check(&["bench"], "no connection string");
    check(
        &[
            "bench",
            "--embedded",
            "--producers",
            "0",
            "--consumers",
            "0",
        ],
        "nothing to run",
    );
    check(
        &["bench", "--embedded", "--size", "2000000", "--count", "1"],
        "2000000-byte event cannot be sent",
    );
    check(
        &["bench", "--embedded", "--count", "5", "--duration", "1s"],
        "--duration",
    );
    check(&["bench", "--partitions", "8"], "--embedded");
}

/// On a terminal (a pty from util-linux's `script`) the run shows a live status line on
/// stderr, cleared before the table; through a pipe there is none (the other tests).
#[test]
fn live_progress_on_a_terminal() {
    let bench = format!(
        "{} bench --embedded --count 300000 --size 10",
        env!("CARGO_BIN_EXE_eh")
    );
    let shown = on_terminal(&bench);
    assert!(shown.contains(" received "), "{shown:?}");
    assert!(
        shown.contains("\u{1b}[2K"),
        "the line is cleared: {shown:?}"
    );
    assert!(shown.contains("eh bench: hub bench"), "{shown:?}");
}
