//! `flow`: session windows and link credit (part 2 §2.7.4).

use crate::types::Fields;

composite! {
    /// Updates the flow state of a session and, with a handle, of a link.
    pub struct Flow("amqp:flow:list", 0x13) {
        /// The next transfer id the sender of this frame expects (null before begin is seen).
        next_incoming_id: Option<u32> = optional,
        /// Sender's incoming window.
        incoming_window: u32 = required,
        /// Sender's next outgoing transfer id.
        next_outgoing_id: u32 = required,
        /// Sender's outgoing window.
        outgoing_window: u32 = required,
        /// Link this flow is for, if any.
        handle: Option<u32> = optional,
        /// Link delivery count.
        delivery_count: Option<u32> = optional,
        /// Link credit.
        link_credit: Option<u32> = optional,
        /// Messages available at the sender.
        available: Option<u32> = optional,
        /// Drain mode.
        drain: bool = default(false),
        /// Ask the peer to reply with its flow state.
        echo: bool = default(false),
        /// Link state properties.
        properties: Option<Fields> = optional,
    }
}
