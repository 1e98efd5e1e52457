//! The `header` and `properties` sections (part 3 §3.2.1, §3.2.4).

use bytes::Bytes;

use crate::types::{Symbol, Timestamp, Value};

composite! {
    /// Transport headers of a message.
    pub struct Header("amqp:header:list", 0x70) {
        /// Durability requirement.
        durable: bool = default(false),
        /// Relative priority (default 4).
        priority: u8 = default(4),
        /// Time to live in milliseconds.
        ttl: Option<u32> = optional,
        /// The message has not been acquired before.
        first_acquirer: bool = default(false),
        /// Failed delivery attempts.
        delivery_count: u32 = default(0),
    }
}

composite! {
    /// Immutable properties of a message.
    pub struct Properties("amqp:properties:list", 0x73) {
        /// Application message id (ulong, uuid, binary or string).
        message_id: Option<Value> = optional,
        /// Creating user id.
        user_id: Option<Bytes> = optional,
        /// Destination address.
        to: Option<String> = optional,
        /// Application subject.
        subject: Option<String> = optional,
        /// Address to reply to.
        reply_to: Option<String> = optional,
        /// Application correlation id (ulong, uuid, binary or string).
        correlation_id: Option<Value> = optional,
        /// MIME content type.
        content_type: Option<Symbol> = optional,
        /// MIME content encoding.
        content_encoding: Option<Symbol> = optional,
        /// Absolute expiry time.
        absolute_expiry_time: Option<Timestamp> = optional,
        /// Creation time.
        creation_time: Option<Timestamp> = optional,
        /// Group the message belongs to.
        group_id: Option<String> = optional,
        /// Position within the group.
        group_sequence: Option<u32> = optional,
        /// Group to reply to.
        reply_to_group_id: Option<String> = optional,
    }
}
