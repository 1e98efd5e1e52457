//! Delivery states and outcomes (part 3 §3.4): received, accepted, rejected, released,
//! modified.

use bytes::BytesMut;

use crate::codec::__private::unexpected;
use crate::codec::{
    code, Decode, DecodeError, Descriptor, Encode, FieldReader, ListWriter, Reader,
};
use crate::definitions::AmqpError;
use crate::descriptors as d;
use crate::types::Fields;

/// The state of a delivery, as carried in transfer and disposition frames.
#[derive(Debug, Clone, PartialEq)]
pub enum DeliveryState {
    /// Partial receipt (used for resuming).
    Received {
        /// Section the receiver got up to.
        section_number: u32,
        /// Offset within that section.
        section_offset: u64,
    },
    /// Terminal: the message was processed.
    Accepted,
    /// Terminal: the message is invalid; carries the reason.
    Rejected(Option<AmqpError>),
    /// Terminal: not processed; may be redelivered.
    Released,
    /// Terminal: not processed, with modifications.
    Modified {
        /// Count the failure towards the delivery count.
        delivery_failed: bool,
        /// Do not redeliver to this link.
        undeliverable_here: bool,
        /// Annotations to merge into the message.
        message_annotations: Option<Fields>,
    },
}

impl DeliveryState {
    /// True for the four outcomes (every state except `received`).
    pub fn is_terminal(&self) -> bool {
        !matches!(self, Self::Received { .. })
    }
}

impl Encode for DeliveryState {
    fn encode(&self, buf: &mut BytesMut) {
        match self {
            Self::Received {
                section_number,
                section_offset,
            } => {
                let mut w = ListWriter::described(buf, d::RECEIVED);
                w.field(section_number).field(section_offset);
                w.finish();
            }
            Self::Accepted => ListWriter::described(buf, d::ACCEPTED).finish(),
            Self::Rejected(e) => {
                let mut w = ListWriter::described(buf, d::REJECTED);
                w.field(e);
                w.finish();
            }
            Self::Released => ListWriter::described(buf, d::RELEASED).finish(),
            Self::Modified {
                delivery_failed,
                undeliverable_here,
                message_annotations,
            } => {
                let mut w = ListWriter::described(buf, d::MODIFIED);
                w.field(delivery_failed)
                    .field(undeliverable_here)
                    .field(message_annotations);
                w.finish();
            }
        }
    }
}

impl Decode for DeliveryState {
    fn decode_with(c: u8, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        if c != code::DESCRIBED {
            return Err(unexpected("delivery-state", c));
        }
        let desc = r.descriptor_after_constructor(d::code_of)?;
        let Descriptor::Code(n) = desc else {
            return Err(DecodeError::UnexpectedDescriptor {
                expected: "delivery-state",
                found: desc.to_string(),
            });
        };
        let mut f = FieldReader::open(r, "delivery-state")?;
        Ok(match n {
            d::RECEIVED => Self::Received {
                section_number: f.required("section-number")?,
                section_offset: f.required("section-offset")?,
            },
            d::ACCEPTED => Self::Accepted,
            d::REJECTED => Self::Rejected(f.optional()?),
            d::RELEASED => Self::Released,
            d::MODIFIED => Self::Modified {
                delivery_failed: f.or_default()?,
                undeliverable_here: f.or_default()?,
                message_annotations: f.optional()?,
            },
            _ => {
                return Err(DecodeError::UnexpectedDescriptor {
                    expected: "delivery-state",
                    found: desc.to_string(),
                })
            }
        })
    }
}
