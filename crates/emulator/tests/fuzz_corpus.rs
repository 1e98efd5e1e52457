//! Every committed seed of the `emulator` fuzz target, replayed the way the target runs it
//! (an emulator connection over an in-memory pipe after a valid handshake, on a
//! paused-clock runtime, one namespace for all): each input must end with the connection
//! closed or idle, never a panic or a hang.

use std::path::PathBuf;
use std::sync::Arc;

use eventhubs_emulator::namespace::Namespace;
use eventhubs_emulator::Service;

#[allow(unreachable_pub)]
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
