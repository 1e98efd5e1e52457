//! Per-link state: terminus, credit and delivery counting, queued and partial deliveries.

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};

use super::event::SessionId;
use crate::definitions::{ReceiverSettleMode, Role, SenderSettleMode};
use crate::terminus::{Source, Target};
use crate::types::Fields;

/// Lifecycle of a link endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LinkState {
    /// We sent attach; waiting for the peer's.
    AttachSent,
    /// The peer attached; the application has not answered yet.
    AttachReceived,
    /// Both attaches exchanged.
    Attached,
    /// The peer refused (null terminus); waiting for its detach.
    Refused,
    /// We sent detach; waiting for the peer's.
    DetachSent,
}

/// What the application asks for when attaching or accepting a link.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct LinkConfig {
    /// Link name.
    pub name: String,
    /// Our role.
    pub role: Role,
    /// Source terminus.
    pub source: Option<Source>,
    /// Target terminus.
    pub target: Option<Target>,
    /// Sender settle mode.
    pub snd_settle_mode: SenderSettleMode,
    /// Receiver settle mode.
    pub rcv_settle_mode: ReceiverSettleMode,
    /// Largest message we accept (receivers); `None` = connection default.
    pub max_message_size: Option<u64>,
    /// Attach properties.
    pub properties: Option<Fields>,
    /// Desired capabilities.
    pub desired_capabilities: Option<Vec<crate::types::Symbol>>,
    /// Offered capabilities.
    pub offered_capabilities: Option<Vec<crate::types::Symbol>>,
}

impl LinkConfig {
    /// A sender link to `target`.
    pub fn sender(name: impl Into<String>, target: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            role: Role::Sender,
            source: Some(Source::default()),
            target: Some(Target::with_address(target)),
            ..Self::default()
        }
    }

    /// A receiver link from `source`.
    pub fn receiver(name: impl Into<String>, source: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            role: Role::Receiver,
            source: Some(Source::with_address(source)),
            target: Some(Target::default()),
            ..Self::default()
        }
    }

    /// Sets the sender settle mode.
    pub fn snd_settle_mode(mut self, mode: SenderSettleMode) -> Self {
        self.snd_settle_mode = mode;
        self
    }

    /// Sets the receiver settle mode.
    pub fn rcv_settle_mode(mut self, mode: ReceiverSettleMode) -> Self {
        self.rcv_settle_mode = mode;
        self
    }

    /// Sets attach properties.
    pub fn properties(mut self, properties: Fields) -> Self {
        self.properties = Some(properties);
        self
    }

    /// Sets the max message size we accept.
    pub fn max_message_size(mut self, size: u64) -> Self {
        self.max_message_size = Some(size);
        self
    }
}

/// A delivery queued until the link has credit.
#[derive(Debug)]
pub(crate) struct Outgoing {
    pub(crate) payload: Bytes,
    pub(crate) format: u32,
    pub(crate) settled: bool,
    pub(crate) context: u64,
}

/// A multi-frame delivery being reassembled.
#[derive(Debug)]
pub(crate) struct Partial {
    pub(crate) delivery_id: u32,
    pub(crate) tag: Bytes,
    pub(crate) format: u32,
    pub(crate) settled: bool,
    pub(crate) data: BytesMut,
    /// Bytes received so far (data stops growing once the limit is passed).
    pub(crate) size: usize,
}

impl Partial {
    /// Placeholder for an abort that arrives with no delivery in progress.
    pub(crate) fn aborted() -> Self {
        Self {
            delivery_id: 0,
            tag: Bytes::new(),
            format: 0,
            settled: true,
            data: BytesMut::new(),
            size: 0,
        }
    }
}

#[derive(Debug)]
pub(crate) struct Link {
    pub(crate) session: SessionId,
    pub(crate) name: String,
    pub(crate) role: Role,
    pub(crate) state: LinkState,
    pub(crate) handle: Option<u32>,
    pub(crate) remote_handle: Option<u32>,
    pub(crate) snd_settle_mode: SenderSettleMode,
    pub(crate) rcv_settle_mode: ReceiverSettleMode,
    /// Largest message the peer accepts (when we send).
    pub(crate) remote_max_message_size: u64,
    /// Largest message we accept (when we receive).
    pub(crate) max_message_size: u64,
    pub(crate) delivery_count: u32,
    pub(crate) credit: u32,
    pub(crate) drain: bool,
    pub(crate) next_tag: u32,
    pub(crate) queue: VecDeque<Outgoing>,
    pub(crate) partial: Option<Partial>,
    /// The peer's terminus from its attach, echoed when we accept without our own.
    pub(crate) remote_terminus: Option<(Option<Source>, Option<Target>)>,
}

impl Link {
    pub(crate) fn new(session: SessionId, name: String, role: Role, state: LinkState) -> Self {
        Self {
            session,
            name,
            role,
            state,
            handle: None,
            remote_handle: None,
            snd_settle_mode: SenderSettleMode::Mixed,
            rcv_settle_mode: ReceiverSettleMode::First,
            remote_max_message_size: u64::MAX,
            max_message_size: u64::MAX,
            delivery_count: 0,
            credit: 0,
            drain: false,
            next_tag: 0,
            queue: VecDeque::new(),
            partial: None,
            remote_terminus: None,
        }
    }
}
