//! `open`: negotiates connection parameters (part 2 §2.7.1).

use crate::definitions::AmqpError;
use crate::types::{Fields, Symbol};

composite! {
    /// The first frame on a connection, sent by each peer.
    pub struct Open("amqp:open:list", 0x10) {
        /// Unique id of the sending container.
        container_id: String = required,
        /// Name of the target host.
        hostname: Option<String> = optional,
        /// Largest frame the sender accepts (default 4294967295).
        max_frame_size: u32 = default(u32::MAX),
        /// Highest channel number the sender accepts (default 65535).
        channel_max: u16 = default(u16::MAX),
        /// Idle timeout in milliseconds the sender requires.
        idle_time_out: Option<u32> = optional,
        /// Locales the sender can write.
        outgoing_locales: Option<Vec<Symbol>> = optional,
        /// Locales the sender accepts.
        incoming_locales: Option<Vec<Symbol>> = optional,
        /// Extensions the sender supports.
        offered_capabilities: Option<Vec<Symbol>> = optional,
        /// Extensions the sender may use.
        desired_capabilities: Option<Vec<Symbol>> = optional,
        /// Connection properties.
        properties: Option<Fields> = optional,
    }
}

composite! {
    /// Signals that a connection is closing, with an optional error (part 2 §2.7.9).
    pub struct Close("amqp:close:list", 0x18) {
        /// The error that caused the close.
        error: Option<AmqpError> = optional,
    }
}
