//! `eventhubs`: an Azure Event Hubs client in pure Rust, on the project's own AMQP 1.0
//! engine. Everything the Go library `azure-event-hubs-go` v3 offers — hubs from
//! connection strings, the environment or token providers; SAS auth; send, batches,
//! partition keys, partitioned senders; receivers from any position with consumer groups
//! and epochs; runtime information; checkpoint persisters — plus token refresh, one
//! multiplexed connection, link-sized batches and receivers that resume after the last
//! event on reconnect.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let emulator = eventhubs_emulator::Emulator::start(Default::default()).await?;
//! # let connection_string = emulator.connection_string(Some("eh1"));
//! use eventhubs::{Event, Hub, HubOptions, ReceiveOptions};
//!
//! // e.g. "Endpoint=sb://<namespace>.servicebus.windows.net/;SharedAccessKeyName=...;
//! //       SharedAccessKey=...;EntityPath=<hub>", or an emulator's with UseDevelopmentEmulator=true
//! let hub = Hub::from_connection_string(&connection_string, HubOptions::default())?;
//! hub.send_to_partition("0", Event::from("hello, world!").with_property("lang", "en")).await?;
//!
//! let mut receiver = hub.receiver("0", ReceiveOptions::default().from_beginning()).await?;
//! let event = receiver.recv().await?;
//! assert_eq!(event.data_as_str(), Some("hello, world!"));
//! println!("#{} at offset {}", event.sequence_number(), event.offset());
//! hub.close().await;
//! # Ok(()) }
//! ```
//!
//! # Layout
//! - [`Hub`] (`hub`): construction, retries, management; `producer`: sends and batches;
//!   `consumer`: receivers, streams and handler listeners.
//! - [`auth`]: tokens and providers; `connection`: the one AMQP connection, CBS and token
//!   refresh; `rpc`: request/response nodes.
//! - [`checkpoint`]: checkpoints and persisters; [`Event`] / [`ReceivedEvent`]; [`Error`].

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod auth;
pub mod checkpoint;
mod connection;
mod consumer;
mod error;
mod event;
mod hub;
mod options;
mod producer;
mod retry;
mod rpc;

pub use auth::{SasTokenProvider, Token, TokenKind, TokenProvider};
pub use checkpoint::{
    Checkpoint, CheckpointKey, CheckpointPersister, FilePersister, MemoryPersister,
};
pub use consumer::{EventStream, ListenerHandle, PartitionReceiver, ReceiveOptions};
pub use error::{Error, ErrorKind};
pub use event::{Event, LastEnqueued, ReceivedEvent};
pub use eventhubs_amqp::types::Value;
pub use hub::{Hub, HubRuntimeInformation, PartitionInformation};
pub use options::HubOptions;
pub use producer::{BatchOptions, EventBatch};
pub use retry::RetryOptions;

/// The crate README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
