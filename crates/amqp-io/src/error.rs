//! The error type of every async operation in this crate.

use eventhubs_amqp::connection::ConnectionError;
use eventhubs_amqp::definitions::AmqpError;

/// Why an AMQP operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The transport failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// The protocol engine refused the operation or the peer broke the protocol.
    #[error(transparent)]
    Connection(#[from] ConnectionError),
    /// The peer closed the connection, with this error if it gave one.
    #[error("connection closed by peer{}", display_opt(.0))]
    ConnectionClosed(Option<AmqpError>),
    /// The link was detached (by the peer, or refused at attach).
    #[error("link detached{}", display_opt(.0))]
    LinkDetached(Option<AmqpError>),
    /// The session ended.
    #[error("session ended{}", display_opt(.0))]
    SessionEnded(Option<AmqpError>),
    /// The delivery was rejected, released or modified instead of accepted.
    #[error("delivery not accepted: {0:?}")]
    NotAccepted(eventhubs_amqp::delivery_state::DeliveryState),
    /// The connection task is gone (the connection closed locally or failed).
    #[error("connection is closed")]
    Closed,
    /// TLS setup failed.
    #[error("tls: {0}")]
    Tls(String),
    /// An HTTP proxy refused or broke the CONNECT tunnel (`status`: its HTTP status, 407
    /// when it wants other credentials). Never carries the password.
    #[error("proxy: {message}")]
    Proxy {
        /// The proxy's HTTP status, when it answered.
        status: Option<u16>,
        /// What happened, naming the proxy and the target.
        message: String,
    },
    /// The WebSocket handshake failed (the URL, the server's answer or the subprotocol).
    #[error("websocket: {0}")]
    WebSocket(String),
}

fn display_opt(e: &Option<AmqpError>) -> String {
    e.as_ref().map(|e| format!(": {e}")).unwrap_or_default()
}

impl Error {
    /// The AMQP error condition carried by this error, if any.
    pub fn condition(&self) -> Option<&str> {
        match self {
            Self::ConnectionClosed(Some(e))
            | Self::LinkDetached(Some(e))
            | Self::SessionEnded(Some(e)) => Some(e.condition.as_str()),
            Self::NotAccepted(eventhubs_amqp::delivery_state::DeliveryState::Rejected(Some(e))) => {
                Some(e.condition.as_str())
            }
            Self::Connection(ConnectionError::Protocol(e)) => Some(e.condition.as_str()),
            _ => None,
        }
    }
}
