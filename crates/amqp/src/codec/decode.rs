//! A bounds-checked cursor over a `Bytes` buffer and the `Decode` trait.

use bytes::Bytes;

use super::code;
use super::DecodeError;

/// Deepest nesting of compound values accepted. Deep enough for any real message, shallow
/// enough that hostile input cannot exhaust the stack.
pub(crate) const MAX_DEPTH: usize = 32;

/// A cursor over encoded AMQP bytes. Binary values are returned as `Bytes` slices of the
/// underlying buffer, never copied.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a Bytes,
    pos: usize,
    end: usize,
    depth: usize,
}

impl<'a> Reader<'a> {
    /// A reader over the whole buffer.
    pub fn new(buf: &'a Bytes) -> Self {
        Self {
            buf,
            pos: 0,
            end: buf.len(),
            depth: 0,
        }
    }

    /// Current position from the start of the buffer.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bytes left to read.
    pub fn remaining(&self) -> usize {
        self.end - self.pos
    }

    /// True when every byte has been read.
    pub fn is_empty(&self) -> bool {
        self.pos >= self.end
    }

    /// The unread rest of the buffer, as a zero-copy slice.
    pub fn rest(&self) -> Bytes {
        self.buf.slice(self.pos..self.end)
    }

    /// The format code at the cursor without consuming it.
    pub fn peek_u8(&self) -> Option<u8> {
        (self.pos < self.end).then(|| self.buf[self.pos])
    }

    /// Reads one byte.
    #[inline]
    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        if self.pos < self.end {
            let b = self.buf[self.pos];
            self.pos += 1;
            Ok(b)
        } else {
            Err(DecodeError::Truncated("byte"))
        }
    }

    /// Reads `N` bytes into an array.
    #[inline]
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let s = self.take(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(s);
        Ok(out)
    }

    /// Borrows the next `n` bytes.
    #[inline]
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.end - self.pos {
            return Err(DecodeError::Truncated("value"));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// Slices off the next `n` bytes without copying.
    #[inline]
    pub fn slice(&mut self, n: usize) -> Result<Bytes, DecodeError> {
        if n > self.end - self.pos {
            return Err(DecodeError::Truncated("value"));
        }
        let s = self.buf.slice(self.pos..self.pos + n);
        self.pos += n;
        Ok(s)
    }

    /// Reads a one- or four-byte length prefix for a variable-width code.
    #[inline]
    pub(crate) fn var_len(&mut self, wide: bool) -> Result<usize, DecodeError> {
        if wide {
            Ok(u32::from_be_bytes(self.array()?) as usize)
        } else {
            Ok(self.u8()? as usize)
        }
    }

    /// Reads the size/count header of a list, map or array, returning `(count, reader over
    /// the body)`; the outer cursor moves past the whole compound.
    pub(crate) fn compound(
        &mut self,
        wide: bool,
        what: &'static str,
    ) -> Result<(usize, Self), DecodeError> {
        let size = self.var_len(wide)?;
        if size > self.remaining() {
            return Err(DecodeError::Truncated(what));
        }
        let width = if wide { 4 } else { 1 };
        if size < width {
            return Err(DecodeError::Malformed(what));
        }
        let body_start = self.pos;
        let count = self.var_len(wide)?;
        let inner = self.sub(body_start + width, body_start + size)?;
        self.pos = body_start + size;
        Ok((count, inner))
    }

    fn sub(&self, start: usize, end: usize) -> Result<Self, DecodeError> {
        if self.depth + 1 > MAX_DEPTH {
            return Err(DecodeError::TooDeep(MAX_DEPTH));
        }
        Ok(Self {
            buf: self.buf,
            pos: start,
            end,
            depth: self.depth + 1,
        })
    }

    /// A reader over the rest of this one, one nesting level deeper (for described values).
    pub(crate) fn nested(&self) -> Result<Self, DecodeError> {
        self.sub(self.pos, self.end)
    }

    /// Continues after a nested reader created by [`Reader::nested`] finished.
    pub(crate) fn resume(&mut self, nested: Self) {
        self.pos = nested.pos;
    }

    pub(crate) fn truncate_here(&mut self) {
        self.end = self.pos;
    }

    /// Skips one complete value (constructor included) without materialising it.
    pub fn skip_value(&mut self) -> Result<(), DecodeError> {
        let c = self.u8()?;
        self.skip_with(c)
    }

    /// Skips the value whose constructor `c` was already read.
    pub fn skip_with(&mut self, c: u8) -> Result<(), DecodeError> {
        let n = match c {
            code::DESCRIBED => {
                if self.depth + 1 > MAX_DEPTH {
                    return Err(DecodeError::TooDeep(MAX_DEPTH));
                }
                self.depth += 1;
                let r = self.skip_value().and_then(|_| self.skip_value());
                self.depth -= 1;
                return r;
            }
            0x40..=0x4f => 0,
            0x50..=0x5f => 1,
            0x60..=0x6f => 2,
            0x70..=0x7f => 4,
            0x80..=0x8f => 8,
            0x90..=0x9f => 16,
            0xa0..=0xaf => self.var_len(false)?,
            0xb0..=0xbf => self.var_len(true)?,
            0xc0..=0xcf | 0xe0..=0xef => self.var_len(false)?,
            0xd0..=0xdf | 0xf0..=0xff => self.var_len(true)?,
            _ => return Err(DecodeError::InvalidFormatCode(c)),
        };
        self.take(n).map(|_| ())
    }

    /// Reads a described-type header (`0x00 descriptor`) and returns the numeric code of the
    /// descriptor; a symbolic descriptor is mapped through `symbolic`.
    pub fn descriptor(
        &mut self,
        symbolic: impl Fn(&[u8]) -> Option<u64>,
    ) -> Result<Descriptor, DecodeError> {
        let c = self.u8()?;
        if c != code::DESCRIBED {
            return Err(DecodeError::UnexpectedType {
                expected: "described type",
                found: code::name(c),
                code: c,
            });
        }
        self.descriptor_after_constructor(symbolic)
    }

    /// Like [`Reader::descriptor`] when the `0x00` constructor was already consumed.
    pub fn descriptor_after_constructor(
        &mut self,
        symbolic: impl Fn(&[u8]) -> Option<u64>,
    ) -> Result<Descriptor, DecodeError> {
        let d = self.u8()?;
        match d {
            code::SMALL_ULONG => Ok(Descriptor::Code(self.u8()? as u64)),
            code::ULONG => Ok(Descriptor::Code(u64::from_be_bytes(self.array()?))),
            code::ULONG0 => Ok(Descriptor::Code(0)),
            code::SYM8 | code::SYM32 => {
                let n = self.var_len(d == code::SYM32)?;
                let s = self.take(n)?;
                Ok(match symbolic(s) {
                    Some(n) => Descriptor::Code(n),
                    None => Descriptor::Unknown(String::from_utf8_lossy(s).into_owned()),
                })
            }
            other => Err(DecodeError::UnexpectedType {
                expected: "descriptor",
                found: code::name(other),
                code: other,
            }),
        }
    }
}

/// The descriptor of a described type as seen by a typed decoder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Descriptor {
    /// A numeric descriptor (symbolic ones that the caller recognised are mapped to their code).
    Code(u64),
    /// A symbolic descriptor the caller did not recognise.
    Unknown(String),
}

impl std::fmt::Display for Descriptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Code(c) => write!(f, "0x{c:016x}"),
            Self::Unknown(s) => f.write_str(s),
        }
    }
}

/// A type that can be read from its AMQP encoding.
pub trait Decode: Sized {
    /// Decodes the value whose constructor byte `code` has already been consumed.
    fn decode_with(code: u8, r: &mut Reader<'_>) -> Result<Self, DecodeError>;

    /// Decodes one value including its constructor.
    #[inline]
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let c = r.u8()?;
        Self::decode_with(c, r)
    }

    /// Decodes a whole buffer holding exactly one value.
    fn from_bytes(buf: &Bytes) -> Result<Self, DecodeError> {
        let mut r = Reader::new(buf);
        Self::decode(&mut r)
    }
}

pub(crate) fn unexpected(expected: &'static str, c: u8) -> DecodeError {
    if code::name(c) == "invalid" {
        DecodeError::InvalidFormatCode(c)
    } else {
        DecodeError::UnexpectedType {
            expected,
            found: code::name(c),
            code: c,
        }
    }
}
