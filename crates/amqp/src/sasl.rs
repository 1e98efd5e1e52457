//! SASL frames (part 5 §5.3): mechanisms, init, challenge, response, outcome.

use bytes::{Bytes, BytesMut};

use crate::codec::__private::unexpected;
use crate::codec::{code, Decode, DecodeError, Descriptor, Encode, FieldReader, Reader};
use crate::descriptors as d;
use crate::types::Symbol;

composite! {
    /// Server → client: the mechanisms the server supports.
    pub struct SaslMechanisms("amqp:sasl-mechanisms:list", 0x40) {
        /// Supported mechanisms, in the server's preference order.
        sasl_server_mechanisms: Vec<Symbol> = required,
    }
}

composite! {
    /// Client → server: the chosen mechanism and initial response.
    pub struct SaslInit("amqp:sasl-init:list", 0x41) {
        /// Chosen mechanism.
        mechanism: Symbol = required,
        /// Initial response (e.g. `\0user\0password` for PLAIN).
        initial_response: Option<Bytes> = optional,
        /// Host name the client is connecting to.
        hostname: Option<String> = optional,
    }
}

composite! {
    /// Server → client: a security challenge.
    pub struct SaslChallenge("amqp:sasl-challenge:list", 0x42) {
        /// Challenge data.
        challenge: Bytes = required,
    }
}

composite! {
    /// Client → server: answer to a challenge.
    pub struct SaslResponse("amqp:sasl-response:list", 0x43) {
        /// Response data.
        response: Bytes = required,
    }
}

composite! {
    /// Server → client: the result of the exchange.
    pub struct SaslOutcome("amqp:sasl-outcome:list", 0x44) {
        /// 0 ok, 1 auth, 2 sys, 3 sys-perm, 4 sys-temp.
        code: u8 = required,
        /// Additional data.
        additional_data: Option<Bytes> = optional,
    }
}

/// Outcome codes of [`SaslOutcome`].
pub mod outcome {
    /// Authentication succeeded.
    pub const OK: u8 = 0;
    /// Authentication failed: bad credentials.
    pub const AUTH: u8 = 1;
    /// System error.
    pub const SYS: u8 = 2;
}

/// Any SASL frame body.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub enum SaslFrame {
    Mechanisms(SaslMechanisms),
    Init(SaslInit),
    Challenge(SaslChallenge),
    Response(SaslResponse),
    Outcome(SaslOutcome),
}

impl Encode for SaslFrame {
    fn encode(&self, buf: &mut BytesMut) {
        match self {
            Self::Mechanisms(f) => f.encode(buf),
            Self::Init(f) => f.encode(buf),
            Self::Challenge(f) => f.encode(buf),
            Self::Response(f) => f.encode(buf),
            Self::Outcome(f) => f.encode(buf),
        }
    }
}

impl Decode for SaslFrame {
    fn decode_with(c: u8, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        if c != code::DESCRIBED {
            return Err(unexpected("sasl frame", c));
        }
        let desc = r.descriptor_after_constructor(d::code_of)?;
        macro_rules! fields {
            ($t:ident) => {
                $t::decode_fields(FieldReader::open(r, $t::NAME)?)?
            };
        }
        Ok(match desc {
            Descriptor::Code(d::SASL_MECHANISMS) => Self::Mechanisms(fields!(SaslMechanisms)),
            Descriptor::Code(d::SASL_INIT) => Self::Init(fields!(SaslInit)),
            Descriptor::Code(d::SASL_CHALLENGE) => Self::Challenge(fields!(SaslChallenge)),
            Descriptor::Code(d::SASL_RESPONSE) => Self::Response(fields!(SaslResponse)),
            Descriptor::Code(d::SASL_OUTCOME) => Self::Outcome(fields!(SaslOutcome)),
            other => {
                return Err(DecodeError::UnexpectedDescriptor {
                    expected: "sasl frame",
                    found: other.to_string(),
                })
            }
        })
    }
}
