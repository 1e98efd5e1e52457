//! `eventhubs-emulator`: a local Azure Event Hubs-compatible server, as a library.
//!
//! It speaks AMQP 1.0 through the project's own engine and follows docs/PROTOCOL.md: SASL
//! (MSSBCBS, ANONYMOUS, PLAIN, EXTERNAL, or none), `$cbs` put-token with SAS validation,
//! `$management` READ, ingest of single and batch messages with partition-key routing,
//! delivery from any start position, epochs and receiver quotas.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
//! use eventhubs_emulator::{Config, Emulator};
//! let emulator = Emulator::start(Config::default()).await?;
//! println!("{}", emulator.connection_string(Some("eh1")));
//! emulator.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # Layout
//! - [`config`]: configuration and the `Config.json` format.
//! - [`server`]: `run(listener, config, shutdown)` and the in-process [`Emulator`].
//! - `connection`: per-connection link dispatch; `requests`: `$cbs` and `$management`;
//!   `ingest` and `delivery`: producer and consumer links; `epochs`: receiver ownership;
//!   `auth`: token validation and grants.
//! - [`namespace`]: hubs and partitions (read-only views: [`PartitionInfo`],
//!   [`StoredEvent`]); `log`: a partition's event log.
//! - `segment`, `journal`, `dir_lock`: the durable store's file format, its group-commit
//!   writer, and the lock that keeps a second emulator out of its directory.
//! - [`health`]: the `/health` endpoint.
//! - [`faults`]: faults for tests of clients, off unless set from code.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod auth;
mod clock;
pub mod config;
mod connection;
mod delivery;
mod dir_lock;
mod epochs;
pub mod faults;
pub mod health;
mod ingest;
mod journal;
pub mod jwt;
mod log;
pub mod namespace;
mod requests;
mod segment;
pub mod server;
mod stamp;

pub use config::{Config, ConfigError, DurableStorage, HubConfig, JwtPolicy, Storage, SyncPolicy};
pub use faults::Faults;
pub use jwt::JwtKeys;
pub use log::{PartitionInfo, StoredEvent};
pub use server::{connection_string, run, websocket_url, Emulator, Listeners, Service, Transports};

/// The crate README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
