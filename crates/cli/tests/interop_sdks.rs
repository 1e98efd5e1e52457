//! The official Python (`azure-eventhub`) and JS (`@azure/event-hubs`) SDKs, pinned in
//! interop/, against a freshly started `eh emulator`, one scenario script per test.

mod common;

use eventhubs_test_support::{interop_python as python, repo_root};

/// Runs `program args… <connection string>` against a fresh `eh emulator`; it must exit
/// 0 and print a line `ok`.
fn run_peer(program: &std::path::Path, args: &[std::path::PathBuf], dir: &std::path::Path) {
    let mut emulator = common::start_eh::<[&str; 0], &str>([], 0);
    let mut args: Vec<std::ffi::OsString> = args.iter().map(|a| a.clone().into()).collect();
    args.push(emulator.connection_string.clone().into());
    common::peer_ok(program, &args, dir);
    emulator.kill();
}

/// Runs `interop/python/<script>` with the pinned Python SDK.
fn run_script(script: &str) {
    let Some(python) = python() else { return };
    let dir = repo_root().join("interop/python");
    run_peer(&python, &[dir.join(script)], &dir);
}

/// Properties, a keyed batch and a partition event, received from earliest with bodies,
/// sequence numbers, offsets and partition keys checked.
#[test]
fn python_sdk_smoke() {
    run_script("smoke.py");
}

/// A wrong SAS key is rejected; sequence number, offset and enqueued time (inclusive and
/// exclusive), earliest and latest positions each start at the right event.
#[test]
fn python_sdk_positions_and_auth() {
    run_script("positions.py");
}

/// owner_level 2 steals partition 0 from owner_level 1 (which sees amqp:link:stolen);
/// a receiver without owner level is refused; the owner keeps receiving.
#[test]
fn python_sdk_epochs() {
    run_script("epochs.py");
}

/// The buffered producer: keyed, partition-targeted and round-robin events each arrive
/// exactly once, keyed ones in order on one partition.
#[test]
fn python_sdk_buffered_producer() {
    run_script("buffered.py");
}

/// A ~1 MiB event split over many frames arrives byte for byte; the SDK's batch limit is
/// the link's advertised 1 MiB.
#[test]
fn python_sdk_one_mebibyte_event() {
    run_script("large.py");
}

/// Runs `interop/js/<script>` with the pinned JS SDK.
fn run_js(script: &str) {
    let Some(dir) = eventhubs_test_support::interop_js() else {
        return;
    };
    run_peer(std::path::Path::new("node"), &[dir.join(script)], &dir);
}

/// The official JS SDK (`@azure/event-hubs` 6.0.4): properties, a keyed batch with
/// application properties, a JSON body to a partition, all received from earliest.
#[test]
fn js_sdk_smoke() {
    run_js("smoke.mjs");
}

/// JS: a wrong key is rejected; earliest, latest, sequence number, offset and enqueued
/// time (inclusive and exclusive) each start at the right event.
#[test]
fn js_sdk_positions_and_auth() {
    run_js("positions.mjs");
}

/// JS: ownerLevel 2 steals from ownerLevel 1 (ReceiverDisconnectedError); a receiver
/// without owner level is refused.
#[test]
fn js_sdk_epochs() {
    run_js("epochs.mjs");
}
