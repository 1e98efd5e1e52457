//! The `Encode` trait and the list writer used by every composite type.

use bytes::{BufMut, BytesMut};

use super::code;

/// A type that can write its AMQP encoding.
pub trait Encode {
    /// Appends the encoding (constructor included) to `buf`.
    fn encode(&self, buf: &mut BytesMut);

    /// Exact number of bytes `encode` writes. The default encodes into a scratch buffer;
    /// hot types override it with arithmetic.
    fn encoded_size(&self) -> usize {
        let mut scratch = BytesMut::new();
        self.encode(&mut scratch);
        scratch.len()
    }

    /// Encodes into a fresh buffer.
    fn to_bytes(&self) -> bytes::Bytes {
        let mut buf = BytesMut::new();
        self.encode(&mut buf);
        buf.freeze()
    }
}

impl<T: Encode + ?Sized> Encode for &T {
    fn encode(&self, buf: &mut BytesMut) {
        (**self).encode(buf)
    }
}

impl<T: Encode> Encode for Option<T> {
    #[inline]
    fn encode(&self, buf: &mut BytesMut) {
        match self {
            Some(v) => v.encode(buf),
            None => buf.put_u8(code::NULL),
        }
    }
}

/// Writes a described list (`0x00 0x53 <code> list`) field by field, then patches in the
/// size and count, choosing list8 when the result fits and list32 otherwise.
///
/// Every field is written, nulls included: pyamqp reads performative fields by position
/// and fails on trimmed lists (docs/PROTOCOL.md §10).
#[derive(Debug)]
pub struct ListWriter<'a> {
    buf: &'a mut BytesMut,
    start: usize,
    count: u32,
}

impl<'a> ListWriter<'a> {
    /// Starts a described list with a small-ulong descriptor.
    #[inline]
    pub fn described(buf: &'a mut BytesMut, descriptor: u64) -> Self {
        buf.reserve(16);
        buf.put_u8(code::DESCRIBED);
        write_ulong(buf, descriptor);
        Self::plain(buf)
    }

    /// Starts an undescribed list.
    #[inline]
    pub fn plain(buf: &'a mut BytesMut) -> Self {
        let start = buf.len();
        buf.put_u8(code::LIST32);
        buf.put_u64(0); // size and count, patched in `finish`
        Self {
            buf,
            start,
            count: 0,
        }
    }

    /// Appends one field.
    #[inline]
    pub fn field(&mut self, value: &impl Encode) -> &mut Self {
        value.encode(self.buf);
        self.count += 1;
        self
    }

    /// Patches the header; shrinks to list8 when possible.
    #[inline]
    pub fn finish(self) {
        let body = self.buf.len() - self.start - 9;
        if body < 255 && self.count <= 255 {
            let s = self.start;
            self.buf[s] = code::LIST8;
            self.buf[s + 1] = (body + 1) as u8;
            self.buf[s + 2] = self.count as u8;
            self.buf.copy_within(s + 9.., s + 3);
            self.buf.truncate(s + 3 + body);
        } else {
            let s = self.start;
            self.buf[s + 1..s + 5].copy_from_slice(&((body + 4) as u32).to_be_bytes());
            self.buf[s + 5..s + 9].copy_from_slice(&self.count.to_be_bytes());
        }
    }
}

/// Writes a ulong with the smallest constructor.
#[inline]
pub(crate) fn write_ulong(buf: &mut BytesMut, v: u64) {
    if v == 0 {
        buf.put_u8(code::ULONG0);
    } else if v < 256 {
        buf.put_u8(code::SMALL_ULONG);
        buf.put_u8(v as u8);
    } else {
        buf.put_u8(code::ULONG);
        buf.put_u64(v);
    }
}

/// Writes a variable-width value (binary, string, symbol) with the 8- or 32-bit form.
#[inline]
pub(crate) fn write_variable(buf: &mut BytesMut, narrow: u8, wide: u8, data: &[u8]) {
    if data.len() < 256 {
        buf.reserve(2 + data.len());
        buf.put_u8(narrow);
        buf.put_u8(data.len() as u8);
    } else {
        buf.reserve(5 + data.len());
        buf.put_u8(wide);
        buf.put_u32(data.len() as u32);
    }
    buf.put_slice(data);
}

/// Size of a variable-width value's encoding.
#[inline]
pub(crate) fn variable_size(len: usize) -> usize {
    if len < 256 {
        2 + len
    } else {
        5 + len
    }
}
