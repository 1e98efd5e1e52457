//! AMQP messages (part 3 §3.2): the bare message and its annotations, eager and lazy
//! parsing, and Microsoft batch messages (message-format 0x80013700).

mod batch;
mod raw;
mod sections;

pub use batch::{BatchBuilder, BATCH_MESSAGE_FORMAT};
pub use raw::{RawMessage, Sections};
pub use sections::{Header, Properties};

use bytes::{BufMut, Bytes, BytesMut};

use crate::codec::__private::{unexpected, write_ulong};
use crate::codec::{code, Decode, DecodeError, Descriptor, Encode, Reader};
use crate::descriptors as d;
use crate::types::{Annotations, Value};

/// Application properties: string keys to simple values.
pub type ApplicationProperties = Vec<(String, Value)>;

/// The body of a message.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// One or more data sections (the Event Hubs norm); each is a zero-copy slice.
    Data(Vec<Bytes>),
    /// One or more amqp-sequence sections.
    Sequence(Vec<Vec<Value>>),
    /// A single amqp-value section.
    Value(Value),
}

impl Default for Body {
    fn default() -> Self {
        Self::Data(Vec::new())
    }
}

/// A complete AMQP message.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Message {
    /// Transport header.
    pub header: Option<Header>,
    /// Delivery annotations (hop-by-hop).
    pub delivery_annotations: Option<Annotations>,
    /// Message annotations (Event Hubs `x-opt-*` live here).
    pub message_annotations: Option<Annotations>,
    /// Immutable properties.
    pub properties: Option<Properties>,
    /// Application properties.
    pub application_properties: Option<ApplicationProperties>,
    /// The body.
    pub body: Body,
    /// Footer.
    pub footer: Option<Annotations>,
}

impl Message {
    /// A message with one data section.
    pub fn with_data(data: impl Into<Bytes>) -> Self {
        Self {
            body: Body::Data(vec![data.into()]),
            ..Self::default()
        }
    }

    /// The first data section, if the body is data.
    pub fn data(&self) -> Option<&Bytes> {
        match &self.body {
            Body::Data(d) => d.first(),
            _ => None,
        }
    }

    /// Parses every section of an encoded message.
    pub fn decode(bytes: &Bytes) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let mut m = Self::default();
        let mut data = Vec::new();
        let mut seq = Vec::new();
        while !r.is_empty() {
            let c = r.u8()?;
            if c != code::DESCRIBED {
                return Err(unexpected("message section", c));
            }
            match r.descriptor_after_constructor(d::code_of)? {
                Descriptor::Code(d::HEADER) => {
                    m.header = Some(Header::decode_fields(crate::codec::FieldReader::open(
                        &mut r,
                        Header::NAME,
                    )?)?)
                }
                Descriptor::Code(d::DELIVERY_ANNOTATIONS) => {
                    m.delivery_annotations = Some(Decode::decode(&mut r)?)
                }
                Descriptor::Code(d::MESSAGE_ANNOTATIONS) => {
                    m.message_annotations = Some(Decode::decode(&mut r)?)
                }
                Descriptor::Code(d::PROPERTIES) => {
                    m.properties = Some(Properties::decode_fields(
                        crate::codec::FieldReader::open(&mut r, Properties::NAME)?,
                    )?)
                }
                Descriptor::Code(d::APPLICATION_PROPERTIES) => {
                    m.application_properties = Some(Decode::decode(&mut r)?)
                }
                Descriptor::Code(d::DATA) => data.push(Bytes::decode(&mut r)?),
                Descriptor::Code(d::AMQP_SEQUENCE) => match Value::decode(&mut r)? {
                    Value::List(l) => seq.push(l),
                    _ => return Err(DecodeError::Malformed("amqp-sequence")),
                },
                Descriptor::Code(d::AMQP_VALUE) => m.body = Body::Value(Value::decode(&mut r)?),
                Descriptor::Code(d::FOOTER) => m.footer = Some(Decode::decode(&mut r)?),
                other => {
                    return Err(DecodeError::UnexpectedDescriptor {
                        expected: "message section",
                        found: other.to_string(),
                    })
                }
            }
        }
        if !data.is_empty() {
            m.body = Body::Data(data);
        } else if !seq.is_empty() {
            m.body = Body::Sequence(seq);
        }
        Ok(m)
    }

    /// Writes the sections that come before the body (header, annotations, properties,
    /// application properties). Batch envelopes use this alone.
    pub(crate) fn encode_head(&self, buf: &mut BytesMut) {
        self.header.encode_present(buf);
        encode_map_section(
            buf,
            d::DELIVERY_ANNOTATIONS,
            self.delivery_annotations.as_ref(),
        );
        encode_map_section(
            buf,
            d::MESSAGE_ANNOTATIONS,
            self.message_annotations.as_ref(),
        );
        self.properties.encode_present(buf);
        encode_map_section(
            buf,
            d::APPLICATION_PROPERTIES,
            self.application_properties.as_ref(),
        );
    }
}

trait EncodePresent {
    fn encode_present(&self, buf: &mut BytesMut);
}

impl<T: Encode> EncodePresent for Option<T> {
    fn encode_present(&self, buf: &mut BytesMut) {
        if let Some(v) = self {
            v.encode(buf)
        }
    }
}

fn encode_map_section<T: Encode>(buf: &mut BytesMut, descriptor: u64, map: Option<&T>) {
    if let Some(m) = map {
        section_header(buf, descriptor);
        m.encode(buf);
    }
}

#[inline]
fn section_header(buf: &mut BytesMut, descriptor: u64) {
    buf.put_u8(code::DESCRIBED);
    write_ulong(buf, descriptor);
}

/// Writes one data section holding `data`.
#[inline]
pub fn encode_data_section(buf: &mut BytesMut, data: &[u8]) {
    section_header(buf, d::DATA);
    crate::codec::__private::write_variable(buf, code::VBIN8, code::VBIN32, data);
}

/// Exact encoded size of a data section holding `len` bytes.
#[inline]
pub const fn data_section_size(len: usize) -> usize {
    3 + if len < 256 { 2 + len } else { 5 + len }
}

impl Encode for Message {
    fn encode(&self, buf: &mut BytesMut) {
        self.encode_head(buf);
        match &self.body {
            Body::Data(sections) => {
                for s in sections {
                    encode_data_section(buf, s);
                }
            }
            Body::Sequence(seqs) => {
                for s in seqs {
                    section_header(buf, d::AMQP_SEQUENCE);
                    // An empty sequence still needs a list, and list0 is fine in a body.
                    Value::List(s.clone()).encode(buf);
                }
            }
            Body::Value(v) => {
                section_header(buf, d::AMQP_VALUE);
                v.encode(buf);
            }
        }
        encode_map_section(buf, d::FOOTER, self.footer.as_ref());
    }
}
