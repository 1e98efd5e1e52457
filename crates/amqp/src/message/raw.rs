//! Lazy message parsing: index the sections of an encoded message once, decode only the
//! ones asked for. The emulator reads annotations without touching bodies this way.

use bytes::Bytes;

use super::{Header, Message, Properties};
use crate::codec::__private::unexpected;
use crate::codec::{code, Decode, DecodeError, Descriptor, FieldReader, Reader};
use crate::descriptors as d;
use crate::types::Annotations;

/// An encoded message with the byte range of each section located, nothing else decoded.
#[derive(Debug, Clone)]
pub struct RawMessage {
    bytes: Bytes,
    /// (descriptor code, start of the section value, end) for each section in order.
    sections: Vec<(u64, usize, usize)>,
    /// Where each section starts (its `0x00` constructor), parallel to `sections`.
    starts: Vec<usize>,
}

impl RawMessage {
    /// Indexes the sections of `bytes` (validating their framing, not their contents).
    pub fn parse(bytes: Bytes) -> Result<Self, DecodeError> {
        let mut sections = Vec::with_capacity(4);
        let mut starts = Vec::with_capacity(4);
        for section in Sections::new(&bytes) {
            let (code, whole, value_start) = section?;
            starts.push(whole.start);
            sections.push((code, value_start, whole.end));
        }
        Ok(Self {
            bytes,
            sections,
            starts,
        })
    }

    /// The whole encoded message.
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    fn section(&self, descriptor: u64) -> Option<Bytes> {
        self.sections
            .iter()
            .find(|s| s.0 == descriptor)
            .map(|&(_, a, b)| self.bytes.slice(a..b))
    }

    /// The header section, decoded.
    pub fn header(&self) -> Result<Option<Header>, DecodeError> {
        self.section(d::HEADER)
            .map(|b| Header::decode_fields(FieldReader::open(&mut Reader::new(&b), Header::NAME)?))
            .transpose()
    }

    /// The message annotations, decoded.
    pub fn message_annotations(&self) -> Result<Option<Annotations>, DecodeError> {
        self.section(d::MESSAGE_ANNOTATIONS)
            .map(|b| Annotations::from_bytes(&b))
            .transpose()
    }

    /// The properties section, decoded.
    pub fn properties(&self) -> Result<Option<Properties>, DecodeError> {
        self.section(d::PROPERTIES)
            .map(|b| {
                Properties::decode_fields(FieldReader::open(
                    &mut Reader::new(&b),
                    Properties::NAME,
                )?)
            })
            .transpose()
    }

    /// The payloads of all data sections, as zero-copy slices.
    pub fn data_sections(&self) -> Result<Vec<Bytes>, DecodeError> {
        self.sections
            .iter()
            .filter(|s| s.0 == d::DATA)
            .map(|&(_, a, b)| Bytes::from_bytes(&self.bytes.slice(a..b)))
            .collect()
    }

    /// Each section as (descriptor code, byte range of the whole section), in order.
    pub fn section_ranges(&self) -> impl Iterator<Item = (u64, std::ops::Range<usize>)> + '_ {
        self.sections
            .iter()
            .zip(&self.starts)
            .map(|(&(code, _, end), &start)| (code, start..end))
    }

    /// Byte offset where the body sections start (after header, annotations, properties).
    pub fn body_offset(&self) -> usize {
        self.sections
            .iter()
            .position(|s| s.0 >= d::DATA)
            .map_or(self.bytes.len(), |i| self.starts[i])
    }

    /// Fully decodes the message.
    pub fn decode(&self) -> Result<Message, DecodeError> {
        Message::decode(&self.bytes)
    }
}

/// The sections of an encoded message, in order, without allocating: each item is the
/// section's descriptor code, its byte range (descriptor included) and where its value
/// starts. Validates framing, not contents; stops after the first error.
#[derive(Debug, Clone)]
pub struct Sections<'a> {
    reader: Reader<'a>,
    failed: bool,
}

impl<'a> Sections<'a> {
    /// Scans `bytes`.
    pub fn new(bytes: &'a Bytes) -> Self {
        Self {
            reader: Reader::new(bytes),
            failed: false,
        }
    }

    fn next_section(&mut self) -> Result<(u64, std::ops::Range<usize>, usize), DecodeError> {
        let r = &mut self.reader;
        let start = r.position();
        let c = r.u8()?;
        if c != code::DESCRIBED {
            return Err(unexpected("message section", c));
        }
        let desc = r.descriptor_after_constructor(d::code_of)?;
        let Descriptor::Code(n @ d::HEADER..=d::FOOTER) = desc else {
            return Err(DecodeError::UnexpectedDescriptor {
                expected: "message section",
                found: desc.to_string(),
            });
        };
        let value_start = r.position();
        r.skip_value()?;
        Ok((n, start..r.position(), value_start))
    }
}

impl Iterator for Sections<'_> {
    type Item = Result<(u64, std::ops::Range<usize>, usize), DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.reader.is_empty() {
            return None;
        }
        let item = self.next_section();
        self.failed = item.is_err();
        Some(item)
    }
}
