//! `transfer` and `disposition`: move messages and settle them (part 2 §2.7.5, §2.7.6).

use bytes::Bytes;

use crate::definitions::{ReceiverSettleMode, Role};
use crate::delivery_state::DeliveryState;

composite! {
    /// One frame of a delivery; the message bytes follow the performative in the frame.
    pub struct Transfer("amqp:transfer:list", 0x14) {
        /// Link handle.
        handle: u32 = required,
        /// Delivery id (first frame of a delivery).
        delivery_id: Option<u32> = optional,
        /// Delivery tag (first frame of a delivery).
        delivery_tag: Option<Bytes> = optional,
        /// Message format (0 = AMQP, 0x80013700 = Microsoft batch).
        message_format: Option<u32> = optional,
        /// Pre-settled.
        settled: Option<bool> = optional,
        /// More frames of this delivery follow.
        more: bool = default(false),
        /// Per-delivery receiver settle mode.
        rcv_settle_mode: Option<ReceiverSettleMode> = optional,
        /// Delivery state.
        state: Option<DeliveryState> = optional,
        /// Resumed delivery.
        resume: bool = default(false),
        /// The delivery is aborted.
        aborted: bool = default(false),
        /// Batchable hint.
        batchable: bool = default(false),
    }
}

composite! {
    /// Informs the peer of delivery state changes for a range of delivery ids.
    pub struct Disposition("amqp:disposition:list", 0x15) {
        /// Role of the sender of this frame.
        role: Role = required,
        /// First delivery id of the range.
        first: u32 = required,
        /// Last delivery id of the range (default `first`).
        last: Option<u32> = optional,
        /// The deliveries are settled.
        settled: bool = default(false),
        /// New state of the deliveries.
        state: Option<DeliveryState> = optional,
        /// Batchable hint.
        batchable: bool = default(false),
    }
}
