//! Shared by the examples: a hub client for `EVENTHUB_CONNECTION_STRING` (with
//! `EntityPath`, or `EVENTHUB_NAME`) when it is set, else for an emulator started in this
//! process.

#![allow(dead_code)]

use eventhubs::{Hub, HubOptions};
use eventhubs_emulator::{Config, Emulator};

/// The hub client, and the embedded emulator when one was started (keep it alive).
pub(crate) async fn hub(
    options: HubOptions,
) -> Result<(Hub, Option<Emulator>), Box<dyn std::error::Error>> {
    if std::env::var("EVENTHUB_CONNECTION_STRING").is_ok_and(|v| !v.is_empty()) {
        return Ok((Hub::from_env(options)?, None));
    }
    let emulator = Emulator::start(Config::default()).await?;
    eprintln!(
        "EVENTHUB_CONNECTION_STRING is not set: using an embedded emulator at {}",
        emulator.addr()
    );
    let hub = Hub::from_connection_string(&emulator.connection_string(Some("eh1")), options)?;
    Ok((hub, Some(emulator)))
}
