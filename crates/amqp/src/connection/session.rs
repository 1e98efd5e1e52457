//! Per-session state: channels, transfer-id windows, handle maps and unsettled deliveries.

use std::collections::BTreeMap;

use crate::id_map::IdMap;

use super::event::LinkId;

/// Lifecycle of a session endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SessionState {
    /// We sent begin; waiting for the peer's.
    BeginSent,
    /// Both begins exchanged.
    Mapped,
    /// We sent end; waiting for the peer's.
    EndSent,
}

/// An outgoing unsettled delivery awaiting the peer's disposition.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Unsettled {
    pub(crate) link: LinkId,
    pub(crate) context: u64,
}

#[derive(Debug)]
pub(crate) struct Session {
    pub(crate) state: SessionState,
    pub(crate) remote_channel: Option<u16>,
    /// Transfer id of our next outgoing transfer (= next delivery id, as we use one id per
    /// delivery and count transfer frames separately only for windows).
    pub(crate) next_outgoing_id: u32,
    /// Our incoming window as last advertised.
    pub(crate) incoming_window: u32,
    /// Configured size of our incoming window.
    pub(crate) window_size: u32,
    /// Transfer id the peer will use next.
    pub(crate) next_incoming_id: u32,
    /// How many more transfers the peer lets us send.
    pub(crate) remote_incoming_window: u32,
    /// Delivery id counter for deliveries we send (per session, docs/PROTOCOL.md §10).
    pub(crate) next_delivery_id: u32,
    pub(crate) handle_max: u32,
    pub(crate) remote_handle_max: u32,
    pub(crate) local_handles: IdMap<u32, LinkId>,
    pub(crate) remote_handles: IdMap<u32, LinkId>,
    /// Deliveries we sent unsettled, by delivery id.
    pub(crate) unsettled_out: BTreeMap<u32, Unsettled>,
    /// Deliveries we received unsettled, by delivery id.
    pub(crate) unsettled_in: BTreeMap<u32, LinkId>,
}

impl Session {
    pub(crate) fn new(window: u32, state: SessionState) -> Self {
        Self {
            state,
            remote_channel: None,
            next_outgoing_id: 0,
            incoming_window: window,
            window_size: window,
            next_incoming_id: 0,
            remote_incoming_window: 0,
            next_delivery_id: 0,
            handle_max: u32::MAX,
            remote_handle_max: u32::MAX,
            local_handles: IdMap::default(),
            remote_handles: IdMap::default(),
            unsettled_out: BTreeMap::new(),
            unsettled_in: BTreeMap::new(),
        }
    }

    /// The smallest unused local handle.
    pub(crate) fn free_handle(&self) -> Option<u32> {
        (0..=self.remote_handle_max.min(self.handle_max))
            .find(|h| !self.local_handles.contains_key(h))
    }
}
