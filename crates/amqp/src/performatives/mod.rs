//! The nine AMQP performatives and the [`Performative`] enum that frames carry.

mod attach;
mod begin;
mod flow;
mod open;
mod transfer;

pub use attach::{Attach, Detach};
pub use begin::{Begin, End};
pub use flow::Flow;
pub use open::{Close, Open};
pub use transfer::{Disposition, Transfer};

use bytes::BytesMut;

use crate::codec::__private::unexpected;
use crate::codec::{code, Decode, DecodeError, Descriptor, Encode, FieldReader, Reader};
use crate::descriptors as d;

/// Any performative: the body of an AMQP frame.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub enum Performative {
    // The rare, large performatives are boxed so that the hot ones (transfer, flow,
    // disposition) move cheaply.
    Open(Box<Open>),
    Begin(Box<Begin>),
    Attach(Box<Attach>),
    Flow(Flow),
    Transfer(Transfer),
    Disposition(Disposition),
    Detach(Detach),
    End(End),
    Close(Close),
}

impl Performative {
    /// Name for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Open(_) => "open",
            Self::Begin(_) => "begin",
            Self::Attach(_) => "attach",
            Self::Flow(_) => "flow",
            Self::Transfer(_) => "transfer",
            Self::Disposition(_) => "disposition",
            Self::Detach(_) => "detach",
            Self::End(_) => "end",
            Self::Close(_) => "close",
        }
    }
}

impl Encode for Performative {
    fn encode(&self, buf: &mut BytesMut) {
        match self {
            Self::Open(p) => p.encode(buf),
            Self::Begin(p) => p.encode(buf),
            Self::Attach(p) => p.encode(buf),
            Self::Flow(p) => p.encode(buf),
            Self::Transfer(p) => p.encode(buf),
            Self::Disposition(p) => p.encode(buf),
            Self::Detach(p) => p.encode(buf),
            Self::End(p) => p.encode(buf),
            Self::Close(p) => p.encode(buf),
        }
    }
}

impl Decode for Performative {
    fn decode_with(c: u8, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        if c != code::DESCRIBED {
            return Err(unexpected("performative", c));
        }
        let desc = r.descriptor_after_constructor(d::code_of)?;
        let Descriptor::Code(n) = desc else {
            return Err(DecodeError::UnexpectedDescriptor {
                expected: "performative",
                found: desc.to_string(),
            });
        };
        macro_rules! fields {
            ($t:ident) => {
                $t::decode_fields(FieldReader::open(r, $t::NAME)?)?
            };
        }
        Ok(match n {
            d::OPEN => Self::Open(Box::new(fields!(Open))),
            d::BEGIN => Self::Begin(Box::new(fields!(Begin))),
            d::ATTACH => Self::Attach(Box::new(fields!(Attach))),
            d::FLOW => Self::Flow(fields!(Flow)),
            d::TRANSFER => Self::Transfer(fields!(Transfer)),
            d::DISPOSITION => Self::Disposition(fields!(Disposition)),
            d::DETACH => Self::Detach(fields!(Detach)),
            d::END => Self::End(fields!(End)),
            d::CLOSE => Self::Close(fields!(Close)),
            _ => {
                return Err(DecodeError::UnexpectedDescriptor {
                    expected: "performative",
                    found: desc.to_string(),
                })
            }
        })
    }
}

macro_rules! from_perf {
    ($($t:ident),*) => {$(
        impl From<$t> for Performative {
            fn from(p: $t) -> Self {
                Self::$t(p.into())
            }
        }
    )*};
}
from_perf!(
    Open,
    Begin,
    Attach,
    Flow,
    Transfer,
    Disposition,
    Detach,
    End,
    Close
);
