//! The official Python SDK (`azure-eventhub`, pinned in interop/requirements.txt) against a
//! freshly started `eh emulator`: hub and partition properties, a keyed batch, a
//! partition-targeted event, and receiving all of them from the earliest position with
//! bodies, sequence numbers, offsets and partition keys checked.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// In CI a missing peer fails; locally the test is skipped with the reason printed.
fn python() -> Option<PathBuf> {
    let py = repo_root().join(".venv/bin/python");
    if py.exists() {
        return Some(py);
    }
    let msg = format!(
        "interop peer missing: {} (run scripts/setup-interop.sh)",
        py.display()
    );
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{msg}");
    }
    eprintln!("SKIPPED: {msg}");
    None
}

/// Starts `eh emulator --port 0` and returns the child and its connection string.
fn start_emulator() -> (std::process::Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_eh"))
        .args(["emulator", "--port", "0", "--log-level", "warn"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert!(line.starts_with("listening on "), "{line}");
    let mut cs = String::new();
    out.read_line(&mut cs).unwrap();
    assert!(cs.starts_with("Endpoint=sb://localhost:"), "{cs}");
    (child, cs.trim().to_owned())
}

#[test]
fn python_sdk_smoke() {
    let Some(python) = python() else { return };
    let (mut emulator, cs) = start_emulator();
    let out = Command::new(python)
        .arg(repo_root().join("interop/python/smoke.py"))
        .arg(&cs)
        .output()
        .unwrap();
    let _ = emulator.kill();
    let _ = emulator.wait();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("\nok\n"),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
