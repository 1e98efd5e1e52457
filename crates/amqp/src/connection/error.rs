//! Errors from driving a connection.

use crate::definitions::AmqpError;
use crate::frame::FrameError;

/// Why the connection failed or an operation on it was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectionError {
    /// The peer's bytes broke the protocol; we sent close with this error.
    #[error("protocol violation: {0}")]
    Protocol(AmqpError),
    /// Framing or decoding failed; we sent close with a decode/framing error.
    #[error("bad frame: {0}")]
    Frame(#[from] FrameError),
    /// The peer sent something other than an AMQP 1.0 protocol header.
    #[error("unsupported protocol header {0:?}")]
    BadProtocolHeader([u8; 8]),
    /// SASL authentication failed with the given outcome code.
    #[error("SASL authentication failed (outcome code {0})")]
    SaslFailed(u8),
    /// The peer's SASL mechanisms did not include ours.
    #[error("server does not offer SASL mechanism {0}")]
    SaslMechanismUnavailable(String),
    /// The connection is closed.
    #[error("connection is closed")]
    Closed,
    /// The peer did not send anything within our idle timeout.
    #[error("idle timeout expired")]
    IdleTimeout,
    /// The peer did not finish the protocol headers, SASL and open within our handshake
    /// timeout.
    #[error("handshake not completed in time")]
    HandshakeTimeout,
    /// A session or link id that does not exist (or no longer exists).
    #[error("unknown {0}")]
    Unknown(&'static str),
    /// The operation does not apply in the endpoint's current state.
    #[error("invalid state: {0}")]
    InvalidState(&'static str),
    /// No free channel or handle.
    #[error("{0} exhausted")]
    Exhausted(&'static str),
    /// The message is larger than the link allows.
    #[error("message of {size} bytes exceeds the link's max-message-size {max}")]
    MessageTooLarge {
        /// Message size.
        size: u64,
        /// Limit.
        max: u64,
    },
}
