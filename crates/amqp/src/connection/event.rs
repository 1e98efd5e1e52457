//! What the state machine tells its driver: identifiers and events.

use bytes::Bytes;

use crate::definitions::AmqpError;
use crate::delivery_state::DeliveryState;
use crate::performatives::{Attach, Open};
use crate::types::Symbol;

/// A session, named by its local channel number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(pub u16);

/// A link endpoint. Ids are never reused within a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkId(pub u64);

/// A complete incoming delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// Delivery id within the session (for settlement).
    pub delivery_id: u32,
    /// Delivery tag.
    pub tag: Bytes,
    /// Message format (0 or 0x80013700 for batches).
    pub message_format: u32,
    /// The sender settled it already.
    pub settled: bool,
    /// The encoded message: a zero-copy slice when it arrived in one frame.
    pub payload: Bytes,
}

/// Something the driver must react to.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// SASL finished. On a server this carries the mechanism and initial response chosen by
    /// the client (`None` when the client skipped SASL).
    SaslDone {
        /// Mechanism used.
        mechanism: Option<Symbol>,
        /// Initial response (e.g. PLAIN credentials).
        initial_response: Option<Bytes>,
    },
    /// The peer's open arrived; the connection is usable.
    Opened(Box<Open>),
    /// The connection is closed (the peer's close, ours answered, or a local error).
    Closed {
        /// The error, if any.
        error: Option<AmqpError>,
        /// True if the peer initiated the close.
        by_peer: bool,
    },
    /// A session is mapped (our begin answered, or the peer began one that we accepted).
    SessionBegun {
        /// The session.
        session: SessionId,
        /// The peer started it.
        remote_initiated: bool,
    },
    /// A session ended.
    SessionEnded {
        /// The session.
        session: SessionId,
        /// The error, if any.
        error: Option<AmqpError>,
    },
    /// The peer attached a link we did not ask for: accept or refuse it.
    LinkRequested {
        /// The new link endpoint.
        link: LinkId,
        /// Session it belongs to.
        session: SessionId,
        /// The peer's attach.
        attach: Box<Attach>,
    },
    /// The peer answered our attach with terminus present.
    LinkAttached {
        /// The link.
        link: LinkId,
        /// The peer's attach.
        attach: Box<Attach>,
    },
    /// The link is detached (by the peer, or as the answer to ours).
    LinkDetached {
        /// The link.
        link: LinkId,
        /// Closed rather than just detached.
        closed: bool,
        /// The error, if any.
        error: Option<AmqpError>,
        /// The peer initiated it.
        by_peer: bool,
    },
    /// A sender link's credit changed.
    Credit {
        /// The link.
        link: LinkId,
        /// Credit now available.
        credit: u32,
        /// The receiver asked us to drain.
        drain: bool,
    },
    /// A receiver link's drain completed (credit went to 0 by the sender's flow).
    Drained {
        /// The link.
        link: LinkId,
    },
    /// A complete message arrived on a receiver link.
    Delivery {
        /// The link.
        link: LinkId,
        /// The delivery.
        delivery: Delivery,
    },
    /// The peer reported a state for a delivery we sent unsettled.
    Outcome {
        /// The link.
        link: LinkId,
        /// The context given to `send`.
        context: u64,
        /// The state (outcome) reported.
        state: Option<DeliveryState>,
        /// The peer settled it.
        settled: bool,
    },
    /// The peer settled a delivery it had sent us unsettled.
    RemoteSettled {
        /// The link.
        link: LinkId,
        /// The delivery id.
        delivery_id: u32,
        /// Final state.
        state: Option<DeliveryState>,
    },
}
