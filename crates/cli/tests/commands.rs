//! `eh send`, `eh receive` and `eh info` as separate processes against `eh emulator`:
//! what is sent is read back (JSON parsed), keys and partitions, properties and binary
//! bodies, start positions, exit at the end, a closed pipe, and the exit codes and messages
//! of bad input.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{eh, exit_within, json_lines, ok, on_terminal, start_eh};

const NO_ARGS: [&str; 0] = [];

#[test]
fn lines_sent_are_read_back_as_json() {
    let em = start_eh(NO_ARGS, 0);
    let cs = em.connection_string.as_str();
    let lines: Vec<String> = (0..500).map(|i| format!("line {i}")).collect();
    let sent = eh(
        &["send", "-c", cs, "--partition", "1"],
        lines.join("\n").as_bytes(),
    );
    ok(&sent);
    let stderr = String::from_utf8_lossy(&sent.stderr);
    assert!(stderr.contains("sent 500 events"), "{stderr}");
    let out = ok(&eh(
        &[
            "receive", "-c", cs, "--json", "--from", "earliest", "--count", "500",
        ],
        b"",
    ));
    let events = json_lines(&out);
    let bodies: Vec<&str> = events.iter().map(|e| e["body"].as_str().unwrap()).collect();
    assert_eq!(bodies, lines.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(events.iter().all(|e| e["partition"] == "1"));
    let seqs: Vec<i64> = events
        .iter()
        .map(|e| e["sequence_number"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, (0..500).collect::<Vec<i64>>());
    assert!(events[0]["enqueued_time"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn keys_properties_binary_bodies_and_templates() {
    let em = start_eh(NO_ARGS, 0);
    let cs = em.connection_string.as_str();
    // -K: key before the first ':'; each key lands in one partition.
    let input: String = (0..60).map(|i| format!("key{}:v{i}\n", i % 3)).collect();
    ok(&eh(
        &[
            "send",
            "-c",
            cs,
            "-K",
            ":",
            "--property",
            "src=cli",
            "--content-type",
            "text/plain",
        ],
        input.as_bytes(),
    ));
    let events = json_lines(&ok(&eh(
        &["receive", "-c", cs, "--json", "--from", "earliest", "-e"],
        b"",
    )));
    assert_eq!(events.len(), 60);
    let mut partitions_of: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for e in &events {
        let key = e["partition_key"].as_str().unwrap().to_owned();
        assert!(e["body"].as_str().unwrap().starts_with('v'), "{e}");
        assert_eq!(e["properties"]["src"], "cli");
        partitions_of
            .entry(key)
            .or_default()
            .insert(e["partition"].as_str().unwrap().to_owned());
    }
    assert_eq!(partitions_of.len(), 3);
    assert!(
        partitions_of.values().all(|p| p.len() == 1),
        "{partitions_of:?}"
    );

    // A binary file as one event: base64 in JSON, the bytes as sent without.
    let dir = std::env::temp_dir().join(format!("eh-cli-bin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("blob.bin");
    let bytes: Vec<u8> = vec![0, 159, 146, 150, 255, 10, 1];
    std::fs::write(&file, &bytes).unwrap();
    ok(&eh(
        &[
            "send",
            "-c",
            cs,
            "--partition",
            "3",
            "--file",
            file.to_str().unwrap(),
        ],
        b"",
    ));
    let events = json_lines(&ok(&eh(
        &[
            "receive",
            "-c",
            cs,
            "--partition",
            "3",
            "--json",
            "--from",
            "earliest",
            "-e",
        ],
        b"",
    )));
    let last = events.last().unwrap();
    use base64::Engine as _;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(last["body"]["base64"].as_str().unwrap())
        .unwrap();
    assert_eq!(decoded, bytes);
    let raw = eh(
        &[
            "receive",
            "-c",
            cs,
            "--partition",
            "3",
            "--from",
            "earliest",
            "-e",
        ],
        b"",
    );
    assert!(raw.stdout.ends_with(&[bytes.as_slice(), b"\n"].concat()));
    let keyed = partitions_of["key0"].first().unwrap().clone();
    let templated = ok(&eh(
        &[
            "receive",
            "-c",
            cs,
            "--partition",
            &keyed,
            "--from",
            "earliest",
            "--count",
            "1",
            "--format",
            r"%p|%s|%k|%b|%h",
        ],
        b"",
    ));
    let fields: Vec<&str> = templated.trim_end().split('|').collect();
    assert_eq!(fields[0], keyed);
    assert_eq!(fields[1], "0");
    assert!(fields[2].starts_with("key"), "{templated}");
    assert_eq!(fields[4], r#"{"src":"cli"}"#);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn start_positions_and_exit_at_end() {
    let em = start_eh(NO_ARGS, 0);
    let cs = em.connection_string.as_str();
    // `eh receive -e --from <from> [extra]` on partition 0.
    let read = |from: &str, extra: &[&str]| {
        let args = [
            &[
                "receive",
                "-c",
                cs,
                "--partition",
                "0",
                "-e",
                "--from",
                from,
            ],
            extra,
        ]
        .concat();
        ok(&eh(&args, b""))
    };
    // Exit at end with nothing there: at once, nothing printed.
    assert_eq!(read("earliest", &[]), "");
    ok(&eh(&["send", "-c", cs, "--partition", "0"], b"a\nb\nc\n"));
    assert_eq!(read("earliest", &[]), "a\nb\nc\n");
    assert_eq!(read("seq:0", &[]), "b\nc\n");
    assert_eq!(read("seq:0", &["--inclusive"]), "a\nb\nc\n");
    assert_eq!(read("-1m", &[]), "a\nb\nc\n");
    assert_eq!(read("time:2000-01-01T00:00:00Z", &[]), "a\nb\nc\n");
    // Past the last event: exit at end returns at once with nothing.
    let later = humantime::format_rfc3339(std::time::SystemTime::now() + Duration::from_secs(3600));
    assert_eq!(read(&format!("time:{later}"), &[]), "");
    assert_eq!(read("seq:2", &[]), "");
    assert_eq!(read("latest", &[]), "");
    assert_eq!(read("earliest", &["--count", "0"]), "");
}

#[test]
fn a_closed_pipe_ends_a_following_receive_quietly() {
    let em = start_eh(NO_ARGS, 0);
    let cs = em.connection_string.as_str();
    ok(&eh(
        &["send", "-c", cs, "--partition", "0"],
        b"first\nsecond\n",
    ));
    // Follows (no -e, no count); the reader takes one line and closes the pipe.
    let mut child = Command::new(env!("CARGO_BIN_EXE_eh"))
        .args(["receive", "-c", cs, "--from", "earliest"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "first\n");
    drop(out);
    let status = exit_within(
        &mut child,
        Duration::from_secs(20),
        "eh receive after its reader left",
    );
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(status.success(), "{status:?}: {stderr}");
    assert_eq!(stderr, "", "quietly");
}

#[test]
fn info_as_json() {
    let em = start_eh(NO_ARGS, 0);
    let cs = em.connection_string.as_str();
    ok(&eh(&["send", "-c", cs, "--partition", "2"], b"x\ny\n"));
    let doc: serde_json::Value =
        serde_json::from_str(&ok(&eh(&["info", "-c", cs, "--json"], b""))).unwrap();
    assert_eq!(doc["name"], "eh1");
    assert_eq!(
        doc["partition_ids"],
        serde_json::json!(["0", "1", "2", "3"])
    );
    let p2 = &doc["partitions"][2];
    assert_eq!(p2["last_enqueued_sequence_number"], 1);
    assert_eq!(p2["is_empty"], false);
    assert_eq!(doc["partitions"][0]["is_empty"], true);
    let table = ok(&eh(&["info", "-c", cs], b""));
    assert!(table.starts_with("hub eh1"), "{table}");
    assert_eq!(table.lines().count(), 6, "{table}");
}

#[test]
fn bad_input_gets_one_line_and_the_right_exit_code() {
    let em = start_eh(NO_ARGS, 0);
    let cs = em.connection_string.clone();
    let check = |args: &[&str], code: i32, wanted: &str| {
        let out = eh(args, b"");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
        assert!(stderr.contains(wanted), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        stderr
    };
    let no_key =
        "Endpoint=sb://localhost;SharedAccessKeyName=RootManageSharedAccessKey;EntityPath=eh1";
    let e = check(&["info", "-c", no_key], 2, "SharedAccessKey");
    assert_eq!(e.lines().count(), 1, "{e}");
    check(&["receive", "-c", &cs, "--from", "soon"], 2, "--from soon");
    check(&["send", "-c", &cs, "--nonsense"], 2, "--nonsense");
    check(&["info"], 2, "connection-string");
    let wrong_key = cs.replace("SAS_KEY_VALUE", "d3Jvbmcga2V5");
    let e = check(&["info", "-c", &wrong_key], 1, "unauthorized");
    assert!(!e.contains("d3Jvbmcga2V5"), "the key is not printed: {e}");
    let no_hub = cs.split(";EntityPath=").next().unwrap().to_owned();
    check(&["info", "-c", &no_hub, "-n", "nohub"], 1, "not found");
}

/// On a terminal (a pty from util-linux's `script`), `eh send` draws a progress line on
/// stderr and clears it before the summary; through a pipe, the summary line is all.
#[test]
fn a_progress_line_on_a_terminal_only() {
    let em = start_eh(NO_ARGS, 0);
    let cs = em.connection_string.as_str();
    let send = format!(
        "{} send -c '{cs}' --count 200000 --size 10",
        env!("CARGO_BIN_EXE_eh")
    );
    let shown = on_terminal(&send);
    assert!(shown.contains("/200,000 events"), "{shown:?}");
    assert!(
        shown.contains("\u{1b}[2K"),
        "the line is cleared: {shown:?}"
    );
    assert!(shown.contains("sent 200000 events"), "{shown:?}");

    let piped = eh(
        &["send", "-c", cs, "--count", "200000", "--size", "10"],
        b"",
    );
    ok(&piped);
    let stderr = String::from_utf8_lossy(&piped.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
    assert!(
        stderr.starts_with("sent 200000 events (2000000 bytes) in "),
        "{stderr:?}"
    );
    assert!(!stderr.contains('\u{1b}'), "{stderr:?}");
}

#[test]
fn completions_and_version() {
    let bash = ok(&eh(&["completions", "bash"], b""));
    for word in ["send", "receive", "info", "emulator", "--exit-at-end"] {
        assert!(
            bash.contains(word),
            "{word} missing from the bash completions"
        );
    }
    assert!(ok(&eh(&["completions", "fish"], b"")).contains("complete -c eh"));
    let version = ok(&eh(&["--version"], b""));
    assert_eq!(version.trim(), format!("eh {}", env!("CARGO_PKG_VERSION")));
    let e = eh(&["completions", "tcsh"], b"");
    assert_eq!(e.status.code(), Some(2));
}

/// `eh info --checkpoints`: owner, checkpoint and lag per partition from the processors'
/// blob store in Azurite, for the consumer group.
#[test]
fn info_with_checkpoints_shows_owner_checkpoint_and_lag() {
    use eventhubs::{Checkpoint, CheckpointStore, Ownership};
    let Some(azurite) = eventhubs_test_support::azurite::Azurite::start() else {
        return;
    };
    let storage = azurite.connection_string();
    let em = start_eh(NO_ARGS, 0);
    let cs = em.connection_string.as_str();
    ok(&eh(
        &["send", "-c", cs, "--partition", "1"],
        b"a\nb\nc\nd\ne\n",
    ));
    ok(&eh(&["send", "-c", cs, "--partition", "2"], b"x\ny\n"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = eventhubs_checkpointstore_blob::BlobCheckpointStore::from_connection_string(
            &storage, "ehinfo",
        )
        .unwrap();
        store.create_container_if_missing().await.unwrap();
        let (ns, hub, group) = ("localhost", "eh1", "$Default");
        let claimed = store
            .claim_ownership(vec![Ownership::new(ns, hub, group, "1", "proc-a", None)])
            .await
            .unwrap();
        assert_eq!(claimed.len(), 1);
        let mut c = Checkpoint::new(ns, hub, group, "1");
        c.sequence_number = Some(1);
        c.offset = Some("0".into());
        store.update_checkpoint(c).await.unwrap();
    });
    let doc: serde_json::Value = serde_json::from_str(&ok(&eh(
        &[
            "info",
            "-c",
            cs,
            "--json",
            "--checkpoints",
            &storage,
            "--container",
            "ehinfo",
        ],
        b"",
    )))
    .unwrap();
    let p = |i: usize| &doc["partitions"][i];
    assert_eq!(p(1)["owner"], "proc-a");
    assert_eq!(p(1)["checkpoint_sequence_number"], 1);
    assert_eq!(p(1)["lag"], 3, "events 2, 3 and 4 after the checkpoint");
    assert_eq!(p(2)["owner"], serde_json::Value::Null);
    assert_eq!(p(2)["lag"], 2, "no checkpoint: all of it");
    assert_eq!(p(0)["lag"], 0);
    let table = ok(&eh(
        &[
            "info",
            "-c",
            cs,
            "--checkpoints",
            &storage,
            "--container",
            "ehinfo",
        ],
        b"",
    ));
    assert!(table.lines().nth(1).unwrap().contains("owner"), "{table}");
    assert!(table.lines().nth(3).unwrap().contains("proc-a"), "{table}");
    let e = eh(&["info", "-c", cs, "--checkpoints", &storage], b"");
    assert_eq!(e.status.code(), Some(2), "--container is required");
}

/// Even at trace level, the logs on stderr carry neither the key nor a token's signature —
/// the emulator's (which validates the tokens) as well as the clients' — and, written to a
/// pipe, no colour codes either.
#[test]
fn secrets_stay_out_of_trace_logs() {
    let log = std::env::temp_dir().join(format!("eh-trace-{}.log", std::process::id()));
    let em = common::start_eh_logging(
        "trace",
        Stdio::from(std::fs::File::create(&log).unwrap()),
        NO_ARGS,
        0,
    );
    let cs = em.connection_string.as_str();
    let mut logs = Vec::new();
    for args in [
        &["send", "-c", cs, "--log-level", "trace"][..],
        &[
            "receive",
            "-c",
            cs,
            "--from",
            "earliest",
            "-e",
            "--log-level",
            "trace",
        ][..],
    ] {
        let out = eh(args, b"secret-free\n");
        ok(&out);
        let text = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(text.lines().count() > 5, "trace logs were written: {text}");
        assert!(
            !text.contains('\u{1b}'),
            "no colour codes off a terminal: {text}"
        );
        logs.push((format!("eh {}", args[0]), text));
    }
    drop(em);
    let emulator = std::fs::read_to_string(&log).unwrap();
    let _ = std::fs::remove_file(&log);
    assert!(
        emulator.lines().count() > 20,
        "the emulator logged the exchange at trace level"
    );
    logs.push(("eh emulator".into(), emulator));
    for (who, text) in &logs {
        for secret in ["SAS_KEY_VALUE", "sig=", "SharedAccessSignature sr"] {
            assert!(!text.contains(secret), "{secret} in the logs of {who}");
        }
    }
}
