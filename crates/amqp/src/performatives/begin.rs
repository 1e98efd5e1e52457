//! `begin` and `end`: start and finish a session (part 2 §2.7.2, §2.7.8).

use crate::definitions::AmqpError;
use crate::types::{Fields, Symbol};

composite! {
    /// Begins a session on a channel.
    pub struct Begin("amqp:begin:list", 0x11) {
        /// The peer's channel when answering a remotely begun session.
        remote_channel: Option<u16> = optional,
        /// Transfer id the sender will use next.
        next_outgoing_id: u32 = required,
        /// Initial incoming window of the sender.
        incoming_window: u32 = required,
        /// Initial outgoing window of the sender.
        outgoing_window: u32 = required,
        /// Highest link handle the sender accepts.
        handle_max: u32 = default(u32::MAX),
        /// Extensions the sender supports.
        offered_capabilities: Option<Vec<Symbol>> = optional,
        /// Extensions the sender may use.
        desired_capabilities: Option<Vec<Symbol>> = optional,
        /// Session properties.
        properties: Option<Fields> = optional,
    }
}

composite! {
    /// Ends a session, with an optional error.
    pub struct End("amqp:end:list", 0x17) {
        /// The error that caused the end.
        error: Option<AmqpError> = optional,
    }
}
