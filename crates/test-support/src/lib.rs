//! Helpers shared by the project's tests (never published): the repository root and the
//! interop peers installed by `scripts/setup-interop.sh`.

use std::path::PathBuf;

pub mod azurite;
pub mod bench;
pub mod client;
pub mod connect_proxy;
pub mod entra;
pub mod proxy;
pub mod test_ca;

/// The repository root (this crate lives in `crates/test-support`).
pub fn repo_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    here.canonicalize().unwrap_or(here)
}

/// The interop virtualenv's Python. `None` (with the reason printed) when it is missing
/// outside CI; with `CI=true` a missing peer fails the test instead of skipping it.
///
/// # Panics
/// In CI, when the peer is missing.
pub fn interop_python() -> Option<PathBuf> {
    let py = repo_root().join(".venv/bin/python");
    if py.exists() {
        return Some(py);
    }
    missing_peer(&py.display().to_string())
}

/// Reports a missing interop peer: a panic in CI (`CI=true`), else a `SKIPPED` line and
/// `None`.
///
/// # Panics
/// In CI.
pub fn missing_peer<T>(what: &str) -> Option<T> {
    let msg = format!("interop peer missing: {what} (run scripts/setup-interop.sh)");
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{msg}");
    }
    eprintln!("SKIPPED: {msg}");
    None
}

/// The JS interop folder (`interop/js`) when its pinned packages are installed; same CI
/// rule as [`interop_python`].
///
/// # Panics
/// In CI, when the peer is missing.
pub fn interop_js() -> Option<PathBuf> {
    let dir = repo_root().join("interop/js");
    let node_ok = std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if node_ok && dir.join("node_modules/@azure/event-hubs").exists() {
        return Some(dir);
    }
    missing_peer(&format!("node or {}/node_modules", dir.display()))
}

/// Runs `node <script> <args>` in the JS interop folder `js` (from [`interop_js`]) and
/// returns what it printed.
///
/// # Panics
/// When the script fails (its stderr is in the message).
pub fn run_js<S: AsRef<std::ffi::OsStr>>(
    js: &std::path::Path,
    script: &str,
    args: impl IntoIterator<Item = S>,
) -> String {
    let out = std::process::Command::new("node")
        .arg(script)
        .args(args)
        .current_dir(js)
        .output()
        .unwrap_or_else(|e| panic!("node {script}: {e}"));
    assert!(
        out.status.success(),
        "node {script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
