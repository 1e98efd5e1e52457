//! `attach` and `detach`: create and destroy links (part 2 §2.7.3, §2.7.7).

use crate::definitions::{AmqpError, ReceiverSettleMode, Role, SenderSettleMode};
use crate::terminus::{Source, Target};
use crate::types::{Fields, Map, Symbol};

composite! {
    /// Attaches a link endpoint to a session.
    pub struct Attach("amqp:attach:list", 0x12) {
        /// Link name, unique per direction between two containers.
        name: String = required,
        /// Handle the sender uses for this link.
        handle: u32 = required,
        /// Role of the sender of this frame.
        role: Role = required,
        /// Sender settlement mode.
        snd_settle_mode: SenderSettleMode = default(SenderSettleMode::Mixed),
        /// Receiver settlement mode.
        rcv_settle_mode: ReceiverSettleMode = default(ReceiverSettleMode::First),
        /// Source terminus; null on a refusing reply.
        source: Option<Source> = optional,
        /// Target terminus; null on a refusing reply.
        target: Option<Target> = optional,
        /// Unsettled delivery state (link recovery).
        unsettled: Option<Map> = optional,
        /// The unsettled map is incomplete.
        incomplete_unsettled: bool = default(false),
        /// Sender's initial delivery count (mandatory for senders).
        initial_delivery_count: Option<u32> = optional,
        /// Largest message the sender of this frame accepts.
        max_message_size: Option<u64> = optional,
        /// Extensions supported.
        offered_capabilities: Option<Vec<Symbol>> = optional,
        /// Extensions desired.
        desired_capabilities: Option<Vec<Symbol>> = optional,
        /// Link properties (Event Hubs puts `com.microsoft:epoch` here).
        properties: Option<Fields> = optional,
    }
}

composite! {
    /// Detaches a link endpoint, closing it when `closed` is set.
    pub struct Detach("amqp:detach:list", 0x16) {
        /// Handle of the link.
        handle: u32 = required,
        /// The link is closed, not just detached.
        closed: bool = default(false),
        /// The error that caused the detach.
        error: Option<AmqpError> = optional,
    }
}
