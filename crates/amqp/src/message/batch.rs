//! Microsoft batch messages: message-format 0x80013700, where each data section of the
//! outer message holds one complete encoded message. Size accounting is exact, so a
//! producer can fill a batch up to a link's max-message-size without ever overshooting.

use bytes::{Bytes, BytesMut};

use super::{data_section_size, encode_data_section, Message};
use crate::codec::Encode;

/// The message-format of a batch transfer.
pub const BATCH_MESSAGE_FORMAT: u32 = 0x8001_3700;

/// Builds a batch message section by section.
#[derive(Debug)]
pub struct BatchBuilder {
    buf: BytesMut,
    max_size: usize,
    count: usize,
}

impl BatchBuilder {
    /// Starts a batch whose encoded size may not exceed `max_size`; `envelope` supplies the
    /// outer header/annotations/properties (its body is ignored).
    pub fn new(envelope: Option<&Message>, max_size: usize) -> Self {
        let mut buf = BytesMut::with_capacity(max_size.min(64 * 1024));
        if let Some(e) = envelope {
            e.encode_head(&mut buf);
        }
        Self {
            buf,
            max_size,
            count: 0,
        }
    }

    /// Exact size of the batch message if finished now.
    pub fn size(&self) -> usize {
        self.buf.len()
    }

    /// Number of messages added.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True when no message was added.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The size the batch would have after adding an encoded message of `len` bytes.
    pub fn size_with(&self, len: usize) -> usize {
        self.buf.len() + data_section_size(len)
    }

    /// Adds an already-encoded message; returns false (and adds nothing) if it would not fit.
    pub fn try_add_encoded(&mut self, encoded: &[u8]) -> bool {
        if self.size_with(encoded.len()) > self.max_size {
            return false;
        }
        encode_data_section(&mut self.buf, encoded);
        self.count += 1;
        true
    }

    /// Encodes and adds a message; returns false (and adds nothing) if it would not fit.
    pub fn try_add(&mut self, message: &Message) -> bool {
        let encoded = message.to_bytes();
        self.try_add_encoded(&encoded)
    }

    /// The encoded batch message, to be sent with [`BATCH_MESSAGE_FORMAT`].
    pub fn finish(self) -> Bytes {
        self.buf.freeze()
    }
}
