//! `eventhubs`: an Azure Event Hubs client in pure Rust, on the project's own AMQP 1.0
//! engine. Everything the Go library `azure-event-hubs-go` v3 offers — hubs from
//! connection strings, the environment or token providers; SAS auth; send, batches,
//! partition keys, partitioned senders; receivers from any position with consumer groups
//! and epochs; runtime information; checkpoint persisters — plus token refresh, one
//! multiplexed connection, link-sized batches and receivers that resume after the last
//! event on reconnect.
//!
//! ```no_run
//! # async fn demo() -> Result<(), eventhubs::Error> {
//! use eventhubs::{Hub, HubOptions, ReceiveOptions};
//! let hub = Hub::from_connection_string(
//!     "Endpoint=sb://localhost:5672;SharedAccessKeyName=RootManageSharedAccessKey;\
//!      SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;EntityPath=eh1",
//!     HubOptions::default(),
//! )?;
//! hub.send("hello, world!").await?;
//! for partition in hub.runtime_information().await?.partition_ids {
//!     let mut receiver = hub.receiver(&partition, ReceiveOptions::default()).await?;
//!     # let _ = &mut receiver;
//! }
//! # Ok(()) }
//! ```
//!
//! # Layout
//! - [`Hub`] (`hub`): construction, retries, management; `producer`: sends and batches;
//!   `consumer`: receivers, streams and handler listeners.
//! - [`auth`]: tokens and providers; `connection`: the one AMQP connection, CBS and token
//!   refresh; `rpc`: request/response nodes.
//! - [`checkpoint`]: checkpoints and persisters; [`Event`] / [`ReceivedEvent`]; [`Error`].

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
