//! Every committed seed of the `emulator` fuzz target, replayed the way the target runs it
//! (an emulator connection over an in-memory pipe after a valid handshake, on a
//! paused-clock runtime, one namespace for all): each input must end with the connection
//! closed or idle, never a panic or a hang.

use std::path::PathBuf;
use std::sync::Arc;

use eventhubs_emulator::namespace::Namespace;
use eventhubs_emulator::Service;

#[allow(unreachable_pub, dead_code)]
#[path = "../../../fuzz/fuzz_targets/emulator_input.rs"]
mod emulator_input;
#[allow(unreachable_pub)]
#[path = "../../../fuzz/fuzz_targets/handshake.rs"]
mod handshake;

#[tokio::test(start_paused = true)]
async fn every_seed_replays() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/emulator");
    let service = Service::new(Arc::new(Namespace::new(emulator_input::config())));
    let mut replayed = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let mut input = handshake::handshake().to_vec();
        input.extend_from_slice(&std::fs::read(&path).unwrap());
        eprintln!("{}", path.display());
        emulator_input::converse(&service, input).await;
        replayed += 1;
    }
    assert!(replayed > 0, "no seeds in {}", dir.display());
}

#[allow(unreachable_pub, dead_code)]
#[path = "../../../fuzz/fuzz_targets/websocket_input.rs"]
mod websocket_input;

/// Every committed seed of the `websocket` fuzz target, and every `emulator` seed carried
/// over WebSockets behind the handshake in 7-byte binary frames (so AMQP frames span
/// WebSocket messages), replayed the way the target runs them.
#[tokio::test(start_paused = true)]
async fn every_websocket_seed_replays() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
    let service = Service::new(Arc::new(Namespace::new(emulator_input::config())));
    let mut replayed = 0;
    for entry in std::fs::read_dir(root.join("websocket")).unwrap() {
        let path = entry.unwrap().path();
        eprintln!("{}", path.display());
        let _ = websocket_input::converse(&service, std::fs::read(&path).unwrap()).await;
        replayed += 1;
    }
    assert!(replayed > 0, "no WebSocket seeds");
    for entry in std::fs::read_dir(root.join("emulator")).unwrap() {
        let path = entry.unwrap().path();
        let mut amqp = handshake::handshake().to_vec();
        amqp.extend_from_slice(&std::fs::read(&path).unwrap());
        let mut input = Vec::new();
        for piece in amqp.chunks(7) {
            input.extend_from_slice(&websocket_input::binary_frame(piece));
        }
        eprintln!("{} over WebSockets", path.display());
        let answered = websocket_input::converse(&service, input).await;
        // The emulator's own SASL, open and begin frames, at least.
        assert!(
            answered > 100,
            "{}: only {answered} bytes back",
            path.display()
        );
    }
}

#[allow(unreachable_pub)]
#[path = "../../../fuzz/fuzz_targets/jwt_input.rs"]
mod jwt_input;

/// Every committed seed of the `jwt` fuzz target, replayed the way the target runs it; the
/// seeds named `valid…` must verify and every other token seed must be refused.
#[test]
fn every_jwt_seed_replays() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/jwt");
    let (mut accepted, mut refused) = (0, 0);
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        match jwt_input::run(&std::fs::read(&path).unwrap()) {
            Some(Ok(_)) => {
                assert!(name.starts_with("valid"), "{name} was accepted");
                accepted += 1;
            }
            Some(Err(why)) => {
                assert!(!name.starts_with("valid"), "{name} was refused: {why}");
                refused += 1;
            }
            None => {}
        }
    }
    assert!(
        accepted >= 2 && refused >= 5,
        "{accepted} accepted, {refused} refused"
    );
}
