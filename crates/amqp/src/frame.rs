//! Frames (part 2 §2.3): the 8-byte header, AMQP and SASL bodies, heartbeats, and the
//! protocol headers that precede them.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::codec::{Decode, DecodeError, Encode, Reader};
use crate::performatives::Performative;
use crate::sasl::SaslFrame;

/// Size of the fixed frame header.
pub const HEADER_SIZE: usize = 8;
/// "Prior to any explicit negotiation, the maximum frame size is 512 (MIN-MAX-FRAME-SIZE)."
pub const MIN_MAX_FRAME_SIZE: u32 = 512;
const TYPE_AMQP: u8 = 0;
const TYPE_SASL: u8 = 1;

/// A decoded frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// Channel (session) number; 0 for SASL frames.
    pub channel: u16,
    /// What the frame carries.
    pub body: FrameBody,
}

/// The body of a frame.
#[derive(Debug, Clone, PartialEq)]
pub enum FrameBody {
    /// A frame with no body: a heartbeat.
    Empty,
    /// An AMQP performative and, for transfers, the payload bytes that follow it.
    Amqp {
        /// The performative.
        performative: Performative,
        /// Bytes after the performative (message data for transfers), zero-copy.
        payload: Bytes,
    },
    /// A SASL frame.
    Sasl(SaslFrame),
}

/// Why bytes could not be read as a frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The frame header announces more bytes than the negotiated max-frame-size.
    #[error("frame of {size} bytes exceeds max-frame-size {max}")]
    TooLarge {
        /// Announced size.
        size: u32,
        /// Limit in force.
        max: u32,
    },
    /// Size smaller than the header, or data offset pointing outside the frame.
    #[error("malformed frame header (size {size}, doff {doff})")]
    BadHeader {
        /// Announced size.
        size: u32,
        /// Data offset in 4-byte words.
        doff: u8,
    },
    /// Unknown frame type.
    #[error("unknown frame type {0:#x}")]
    UnknownType(u8),
    /// The body did not decode.
    #[error("frame body: {0}")]
    Decode(#[from] DecodeError),
    /// Bytes after the SASL frame body (SASL frames carry no payload).
    #[error("unexpected trailing bytes in {0} frame")]
    TrailingBytes(&'static str),
}

/// Parses one frame from the front of `buf` if it is complete. Returns `Ok(None)` when more
/// bytes are needed; the size limit is checked from the header alone, before buffering the
/// body, so a hostile peer cannot make us allocate more than `max_frame_size`.
pub fn parse(buf: &mut BytesMut, max_frame_size: u32) -> Result<Option<Frame>, FrameError> {
    if buf.len() < HEADER_SIZE {
        return Ok(None);
    }
    let size = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
    let doff = buf[4];
    let ftype = buf[5];
    let channel = u16::from_be_bytes([buf[6], buf[7]]);
    if size > max_frame_size {
        return Err(FrameError::TooLarge {
            size,
            max: max_frame_size,
        });
    }
    // "The data offset ... MUST be at least 2" (part 2 §2.3.1).
    if (size as usize) < HEADER_SIZE || doff < 2 || (doff as u32) * 4 > size {
        return Err(FrameError::BadHeader { size, doff });
    }
    if buf.len() < size as usize {
        buf.reserve(size as usize - buf.len());
        return Ok(None);
    }
    let mut frame = buf.split_to(size as usize).freeze();
    frame.advance(doff as usize * 4);
    decode_body(channel, ftype, frame).map(Some)
}

fn decode_body(channel: u16, ftype: u8, body: Bytes) -> Result<Frame, FrameError> {
    if body.is_empty() {
        return match ftype {
            TYPE_AMQP => Ok(Frame {
                channel,
                body: FrameBody::Empty,
            }),
            TYPE_SASL => Err(DecodeError::Truncated("sasl frame").into()),
            other => Err(FrameError::UnknownType(other)),
        };
    }
    let mut r = Reader::new(&body);
    match ftype {
        TYPE_AMQP => {
            let performative = Performative::decode(&mut r)?;
            let payload = body.slice(r.position()..);
            Ok(Frame {
                channel,
                body: FrameBody::Amqp {
                    performative,
                    payload,
                },
            })
        }
        TYPE_SASL => {
            let f = SaslFrame::decode(&mut r)?;
            if !r.is_empty() {
                return Err(FrameError::TrailingBytes("sasl"));
            }
            Ok(Frame {
                channel,
                body: FrameBody::Sasl(f),
            })
        }
        other => Err(FrameError::UnknownType(other)),
    }
}

/// Writes a frame header, lets `body` write the body, then patches the size. Returns the
/// frame's total size.
#[inline]
fn write_with(
    buf: &mut BytesMut,
    channel: u16,
    ftype: u8,
    body: impl FnOnce(&mut BytesMut),
) -> usize {
    let start = buf.len();
    buf.put_u32(0);
    buf.put_u8(2);
    buf.put_u8(ftype);
    buf.put_u16(channel);
    body(buf);
    let size = buf.len() - start;
    buf[start..start + 4].copy_from_slice(&(size as u32).to_be_bytes());
    size
}

/// Appends an AMQP frame carrying `performative` and `payload`.
#[inline]
pub fn write_amqp(
    buf: &mut BytesMut,
    channel: u16,
    performative: &impl Encode,
    payload: &[u8],
) -> usize {
    write_with(buf, channel, TYPE_AMQP, |b| {
        performative.encode(b);
        b.put_slice(payload);
    })
}

/// Appends a SASL frame.
pub fn write_sasl(buf: &mut BytesMut, frame: &SaslFrame) -> usize {
    write_with(buf, 0, TYPE_SASL, |b| frame.encode(b))
}

/// The empty frame used as a heartbeat.
pub const EMPTY_FRAME: [u8; 8] = [0, 0, 0, 8, 2, 0, 0, 0];

/// A protocol header: `AMQP` followed by protocol id and version 1.0.0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtocolHeader {
    /// Protocol id 0: plain AMQP.
    Amqp,
    /// Protocol id 2: TLS.
    Tls,
    /// Protocol id 3: SASL.
    Sasl,
}

impl ProtocolHeader {
    /// The 8 header bytes.
    pub fn bytes(self) -> [u8; 8] {
        let id = match self {
            Self::Amqp => 0,
            Self::Tls => 2,
            Self::Sasl => 3,
        };
        [b'A', b'M', b'Q', b'P', id, 1, 0, 0]
    }

    /// Parses a header, `Err` with the raw bytes if it is not a supported AMQP 1.0 header.
    pub fn parse(b: &[u8; 8]) -> Result<Self, [u8; 8]> {
        if &b[0..4] != b"AMQP" || b[5..8] != [1, 0, 0] {
            return Err(*b);
        }
        match b[4] {
            0 => Ok(Self::Amqp),
            2 => Ok(Self::Tls),
            3 => Ok(Self::Sasl),
            _ => Err(*b),
        }
    }
}
