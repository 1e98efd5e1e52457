//! Restricted types and the `error` composite from part 2 §2.8 of the specification.

use bytes::BytesMut;

use crate::codec::{Decode, DecodeError, Encode, Reader};
use crate::types::{Fields, Symbol};

/// Link role: `false` on the wire is sender, `true` is receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Role {
    /// The link endpoint sends messages.
    #[default]
    Sender,
    /// The link endpoint receives messages.
    Receiver,
}

impl Encode for Role {
    #[inline]
    fn encode(&self, buf: &mut BytesMut) {
        (*self == Self::Receiver).encode(buf)
    }
}

impl Decode for Role {
    #[inline]
    fn decode_with(c: u8, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(if bool::decode_with(c, r)? {
            Self::Receiver
        } else {
            Self::Sender
        })
    }
}

macro_rules! ubyte_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $n:literal),* } default $d:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
        pub enum $name { $($(#[$vm])* $v),* }
        impl Encode for $name {
            #[inline]
            fn encode(&self, buf: &mut BytesMut) {
                let n: u8 = match self { $(Self::$v => $n),* };
                n.encode(buf)
            }
        }
        impl Decode for $name {
            #[inline]
            fn decode_with(c: u8, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                match u8::decode_with(c, r)? {
                    $($n => Ok(Self::$v),)*
                    _ => Err(DecodeError::OutOfRange(stringify!($name))),
                }
            }
        }
        impl $name {
            /// The default mode of the specification.
            pub const DEFAULT: Self = Self::$d;
        }
    };
}

ubyte_enum!(
    /// Settlement policy for a sender.
    SenderSettleMode {
        /// Deliveries are sent unsettled.
        Unsettled = 0,
        /// Deliveries are sent settled (pre-settled, "fire and forget").
        Settled = 1,
        /// Either, per delivery.
        #[default]
        Mixed = 2
    } default Mixed
);

ubyte_enum!(
    /// Settlement policy for a receiver.
    ReceiverSettleMode {
        /// The receiver settles first.
        #[default]
        First = 0,
        /// The receiver settles after the sender settles.
        Second = 1
    } default First
);

composite! {
    /// Details of an error (`amqp:error:list`).
    pub struct AmqpError("amqp:error:list", 0x1d) {
        /// Error condition, e.g. `amqp:not-found`.
        condition: Symbol = required,
        /// Human-readable description.
        description: Option<String> = optional,
        /// Additional information.
        info: Option<Fields> = optional,
    }
}

impl AmqpError {
    /// An error with a condition and description.
    pub fn new(condition: impl Into<Symbol>, description: impl Into<String>) -> Self {
        Self {
            condition: condition.into(),
            description: Some(description.into()),
            info: None,
        }
    }
}

impl std::fmt::Display for AmqpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.description {
            Some(d) => write!(f, "{}: {}", self.condition, d),
            None => write!(f, "{}", self.condition),
        }
    }
}

impl std::error::Error for AmqpError {}

/// Standard error conditions (part 2 §2.8.15–2.8.18).
pub mod condition {
    #![allow(missing_docs)]
    pub const INTERNAL_ERROR: &str = "amqp:internal-error";
    pub const NOT_FOUND: &str = "amqp:not-found";
    pub const UNAUTHORIZED_ACCESS: &str = "amqp:unauthorized-access";
    pub const DECODE_ERROR: &str = "amqp:decode-error";
    pub const RESOURCE_LIMIT_EXCEEDED: &str = "amqp:resource-limit-exceeded";
    pub const NOT_ALLOWED: &str = "amqp:not-allowed";
    pub const INVALID_FIELD: &str = "amqp:invalid-field";
    pub const NOT_IMPLEMENTED: &str = "amqp:not-implemented";
    pub const RESOURCE_LOCKED: &str = "amqp:resource-locked";
    pub const PRECONDITION_FAILED: &str = "amqp:precondition-failed";
    pub const RESOURCE_DELETED: &str = "amqp:resource-deleted";
    pub const ILLEGAL_STATE: &str = "amqp:illegal-state";
    pub const FRAME_SIZE_TOO_SMALL: &str = "amqp:frame-size-too-small";
    pub const CONNECTION_FORCED: &str = "amqp:connection:forced";
    pub const FRAMING_ERROR: &str = "amqp:connection:framing-error";
    pub const REDIRECT: &str = "amqp:connection:redirect";
    pub const WINDOW_VIOLATION: &str = "amqp:session:window-violation";
    pub const ERRANT_LINK: &str = "amqp:session:errant-link";
    pub const HANDLE_IN_USE: &str = "amqp:session:handle-in-use";
    pub const UNATTACHED_HANDLE: &str = "amqp:session:unattached-handle";
    pub const DETACH_FORCED: &str = "amqp:link:detach-forced";
    pub const TRANSFER_LIMIT_EXCEEDED: &str = "amqp:link:transfer-limit-exceeded";
    pub const MESSAGE_SIZE_EXCEEDED: &str = "amqp:link:message-size-exceeded";
    pub const LINK_REDIRECT: &str = "amqp:link:redirect";
    pub const STOLEN: &str = "amqp:link:stolen";
}
