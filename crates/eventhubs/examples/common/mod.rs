//! Shared by the examples: the connection string of a real hub when
//! `EVENTHUB_CONNECTION_STRING` is set (with `EntityPath`, or with the hub named by
//! `EVENTHUB_NAME`), else that of an emulator started in this process.

#![allow(dead_code)]

use eventhubs::{ClientOptions, ConsumerClient, ProducerClient, DEFAULT_CONSUMER_GROUP};
use eventhubs_emulator::{Config, Emulator};

/// Where the examples connect: a connection string naming its hub, and the embedded
/// emulator when one was started (keep it alive as long as the clients).
pub(crate) struct Target {
    pub connection_string: String,
    pub emulator: Option<Emulator>,
}

impl Target {
    /// A real hub from the environment, else an embedded emulator.
    pub(crate) async fn from_env_or_emulator() -> Result<Self, Box<dyn std::error::Error>> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        if let Some(mut connection_string) = var("EVENTHUB_CONNECTION_STRING") {
            if let Some(hub) = var("EVENTHUB_NAME") {
                if !connection_string.contains("EntityPath=") {
                    connection_string.push_str(&format!(";EntityPath={hub}"));
                }
            }
            return Ok(Self {
                connection_string,
                emulator: None,
            });
        }
        let emulator = Emulator::start(Config::default()).await?;
        eprintln!(
            "EVENTHUB_CONNECTION_STRING is not set: using an embedded emulator at {}",
            emulator.addr()
        );
        Ok(Self {
            connection_string: emulator.connection_string(Some("eh1")),
            emulator: Some(emulator),
        })
    }

    /// A producer of the hub.
    pub(crate) fn producer(&self) -> Result<ProducerClient, eventhubs::Error> {
        ProducerClient::from_connection_string(
            &self.connection_string,
            None,
            ClientOptions::default(),
        )
    }

    /// A consumer of the hub's default consumer group.
    pub(crate) fn consumer(&self) -> Result<ConsumerClient, eventhubs::Error> {
        ConsumerClient::from_connection_string(
            &self.connection_string,
            None,
            DEFAULT_CONSUMER_GROUP,
            ClientOptions::default(),
        )
    }
}
