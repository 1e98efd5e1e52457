//! `eventhubs-amqp-io`: runs the sans-IO `eventhubs-amqp` engine over tokio sockets.
//!
//! One task per connection owns the socket, the engine and every session and link; the
//! public types ([`Connection`], [`Session`], [`Sender`], [`Receiver`]) are cheap handles
//! that talk to it over a bounded channel. Output produced while handling a wakeup is
//! written with one `write` call, not one per frame.
//!
//! # Layout
//! - [`connection`]: connecting (TCP, TLS, any stream) and the `Connection` handle.
//! - [`server`]: accepting a connection and answering the links the peer attaches.
//! - `session`, `sender`, `receiver`: the link handles.
//! - [`tls`]: rustls configuration for both roles.
//! - [`websocket`]: AMQP over WebSockets, both roles.
//! - [`proxy`]: HTTP CONNECT tunnels.
//!
//! # Example
//! ```no_run
//! # async fn demo() -> Result<(), eventhubs_amqp_io::Error> {
//! use eventhubs_amqp::connection::{ConnectionConfig, LinkConfig};
//! use eventhubs_amqp_io::Connection;
//!
//! let conn = Connection::connect_tcp("127.0.0.1:5672", ConnectionConfig::client("me")).await?;
//! let session = conn.begin().await?;
//! let sender = session.attach_sender(LinkConfig::sender("s1", "queue")).await?;
//! sender.send_settled(bytes::Bytes::from_static(b"\x00\x53\x75\xa0\x02hi"), 0).await?;
//! conn.close(None).await?;
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod command;
pub mod connection;
mod driver;
mod error;
pub mod proxy;
mod receiver;
mod sender;
pub mod server;
mod session;
pub mod tls;
pub mod websocket;

pub use connection::Connection;
pub use error::Error;
pub use receiver::Receiver;
pub use sender::{PendingOutcome, Sender};
pub use server::{accept, IncomingLink};
pub use session::Session;
pub use tls::{TlsConfig, TlsServerConfig};
pub use websocket::WebSocketStream;

/// The crate README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
