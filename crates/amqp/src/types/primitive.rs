//! Encode/decode of the fixed-width and variable-width primitive types.

use bytes::{BufMut, Bytes, BytesMut};

use crate::codec::__private::{unexpected, variable_size, write_ulong, write_variable};
use crate::codec::code;
use crate::codec::{Decode, DecodeError, Encode, Reader};

/// A symbolic value: an ASCII string from a constrained domain.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Symbol(pub String);

impl Symbol {
    /// The symbol as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Symbol {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

impl From<String> for Symbol {
    fn from(s: String) -> Self {
        Self(s)
    }
}

impl std::fmt::Display for Symbol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for Symbol {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

/// Milliseconds since the Unix epoch (AMQP `timestamp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Timestamp(pub i64);

/// A 16-byte UUID in network byte order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Uuid(pub [u8; 16]);

/// IEEE 754 decimal32, kept opaque.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Decimal32(pub [u8; 4]);
/// IEEE 754 decimal64, kept opaque.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Decimal64(pub [u8; 8]);
/// IEEE 754 decimal128, kept opaque.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Decimal128(pub [u8; 16]);

impl Encode for bool {
    #[inline]
    fn encode(&self, buf: &mut BytesMut) {
        buf.put_u8(if *self { code::TRUE } else { code::FALSE });
    }
    fn encoded_size(&self) -> usize {
        1
    }
}

impl Decode for bool {
    #[inline]
    fn decode_with(c: u8, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match c {
            code::TRUE => Ok(true),
            code::FALSE => Ok(false),
            code::BOOLEAN => match r.u8()? {
                0 => Ok(false),
                1 => Ok(true),
                _ => Err(DecodeError::OutOfRange("boolean")),
            },
            other => Err(unexpected("boolean", other)),
        }
    }
}

/// Reads any unsigned integer encoding as a u64.
#[inline]
fn read_unsigned(c: u8, r: &mut Reader<'_>, expected: &'static str) -> Result<u64, DecodeError> {
    Ok(match c {
        code::UINT0 | code::ULONG0 => 0,
        code::UBYTE | code::SMALL_UINT | code::SMALL_ULONG => r.u8()? as u64,
        code::USHORT => u16::from_be_bytes(r.array()?) as u64,
        code::UINT => u32::from_be_bytes(r.array()?) as u64,
        code::ULONG => u64::from_be_bytes(r.array()?),
        other => return Err(unexpected(expected, other)),
    })
}

/// Reads any signed integer encoding as an i64.
#[inline]
fn read_signed(c: u8, r: &mut Reader<'_>, expected: &'static str) -> Result<i64, DecodeError> {
    Ok(match c {
        code::BYTE | code::SMALL_INT | code::SMALL_LONG => r.u8()? as i8 as i64,
        code::SHORT => i16::from_be_bytes(r.array()?) as i64,
        code::INT => i32::from_be_bytes(r.array()?) as i64,
        code::LONG => i64::from_be_bytes(r.array()?),
        other => return Err(unexpected(expected, other)),
    })
}

macro_rules! unsigned {
    ($t:ty, $name:literal, $enc:expr) => {
        impl Encode for $t {
            #[inline]
            fn encode(&self, buf: &mut BytesMut) {
                #[allow(clippy::redundant_closure_call)]
                ($enc)(*self, buf)
            }
        }
        impl Decode for $t {
            #[inline]
            fn decode_with(c: u8, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                <$t>::try_from(read_unsigned(c, r, $name)?)
                    .map_err(|_| DecodeError::OutOfRange($name))
            }
        }
    };
}

macro_rules! signed {
    ($t:ty, $name:literal, $enc:expr) => {
        impl Encode for $t {
            #[inline]
            fn encode(&self, buf: &mut BytesMut) {
                #[allow(clippy::redundant_closure_call)]
                ($enc)(*self, buf)
            }
        }
        impl Decode for $t {
            #[inline]
            fn decode_with(c: u8, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                <$t>::try_from(read_signed(c, r, $name)?)
                    .map_err(|_| DecodeError::OutOfRange($name))
            }
        }
    };
}

unsigned!(u8, "ubyte", |v: u8, buf: &mut BytesMut| {
    buf.put_u8(code::UBYTE);
    buf.put_u8(v)
});
unsigned!(u16, "ushort", |v: u16, buf: &mut BytesMut| {
    buf.put_u8(code::USHORT);
    buf.put_u16(v)
});
unsigned!(u32, "uint", |v: u32, buf: &mut BytesMut| {
    if v == 0 {
        buf.put_u8(code::UINT0)
    } else if v < 256 {
        buf.put_u8(code::SMALL_UINT);
        buf.put_u8(v as u8)
    } else {
        buf.put_u8(code::UINT);
        buf.put_u32(v)
    }
});
unsigned!(u64, "ulong", |v: u64, buf: &mut BytesMut| write_ulong(
    buf, v
));
signed!(i8, "byte", |v: i8, buf: &mut BytesMut| {
    buf.put_u8(code::BYTE);
    buf.put_i8(v)
});
signed!(i16, "short", |v: i16, buf: &mut BytesMut| {
    buf.put_u8(code::SHORT);
    buf.put_i16(v)
});
signed!(i32, "int", |v: i32, buf: &mut BytesMut| {
    if (-128..128).contains(&v) {
        buf.put_u8(code::SMALL_INT);
        buf.put_i8(v as i8)
    } else {
        buf.put_u8(code::INT);
        buf.put_i32(v)
    }
});
signed!(i64, "long", |v: i64, buf: &mut BytesMut| {
    if (-128..128).contains(&v) {
        buf.put_u8(code::SMALL_LONG);
        buf.put_i8(v as i8)
    } else {
        buf.put_u8(code::LONG);
        buf.put_i64(v)
    }
});

macro_rules! fixed {
    ($t:ty, $code:expr, $name:literal, $n:literal, |$v:ident| $to:expr, |$a:ident| $from:expr) => {
        impl Encode for $t {
            #[inline]
            fn encode(&self, buf: &mut BytesMut) {
                let $v = self;
                buf.put_u8($code);
                buf.put_slice(&$to);
            }
            fn encoded_size(&self) -> usize {
                1 + $n
            }
        }
        impl Decode for $t {
            #[inline]
            fn decode_with(c: u8, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                if c != $code {
                    return Err(unexpected($name, c));
                }
                let $a: [u8; $n] = r.array()?;
                $from
            }
        }
    };
}

fixed!(f32, code::FLOAT, "float", 4, |v| v.to_be_bytes(), |a| Ok(
    f32::from_be_bytes(a)
));
fixed!(f64, code::DOUBLE, "double", 8, |v| v.to_be_bytes(), |a| Ok(
    f64::from_be_bytes(a)
));
fixed!(
    Timestamp,
    code::TIMESTAMP,
    "timestamp",
    8,
    |v| v.0.to_be_bytes(),
    |a| Ok(Timestamp(i64::from_be_bytes(a)))
);
fixed!(Uuid, code::UUID, "uuid", 16, |v| v.0, |a| Ok(Uuid(a)));
fixed!(Decimal32, code::DECIMAL32, "decimal32", 4, |v| v.0, |a| Ok(
    Decimal32(a)
));
fixed!(Decimal64, code::DECIMAL64, "decimal64", 8, |v| v.0, |a| Ok(
    Decimal64(a)
));
fixed!(
    Decimal128,
    code::DECIMAL128,
    "decimal128",
    16,
    |v| v.0,
    |a| Ok(Decimal128(a))
);
fixed!(
    char,
    code::CHAR,
    "char",
    4,
    |v| (*v as u32).to_be_bytes(),
    |a| {
        let n = u32::from_be_bytes(a);
        char::from_u32(n).ok_or(DecodeError::InvalidChar(n))
    }
);

/// Binary data is carried as a zero-copy `Bytes` slice.
impl Encode for Bytes {
    #[inline]
    fn encode(&self, buf: &mut BytesMut) {
        write_variable(buf, code::VBIN8, code::VBIN32, self);
    }
    fn encoded_size(&self) -> usize {
        variable_size(self.len())
    }
}

impl Decode for Bytes {
    #[inline]
    fn decode_with(c: u8, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let n = match c {
            code::VBIN8 => r.var_len(false)?,
            code::VBIN32 => r.var_len(true)?,
            other => return Err(unexpected("binary", other)),
        };
        r.slice(n)
    }
}

impl Encode for str {
    #[inline]
    fn encode(&self, buf: &mut BytesMut) {
        write_variable(buf, code::STR8, code::STR32, self.as_bytes());
    }
    fn encoded_size(&self) -> usize {
        variable_size(self.len())
    }
}

impl Encode for String {
    #[inline]
    fn encode(&self, buf: &mut BytesMut) {
        self.as_str().encode(buf)
    }
    fn encoded_size(&self) -> usize {
        variable_size(self.len())
    }
}

impl Decode for String {
    #[inline]
    fn decode_with(c: u8, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let n = match c {
            code::STR8 => r.var_len(false)?,
            code::STR32 => r.var_len(true)?,
            other => return Err(unexpected("string", other)),
        };
        std::str::from_utf8(r.take(n)?)
            .map(str::to_owned)
            .map_err(|_| DecodeError::InvalidUtf8("string"))
    }
}

impl Encode for Symbol {
    #[inline]
    fn encode(&self, buf: &mut BytesMut) {
        write_variable(buf, code::SYM8, code::SYM32, self.0.as_bytes());
    }
    fn encoded_size(&self) -> usize {
        variable_size(self.0.len())
    }
}

impl Decode for Symbol {
    #[inline]
    fn decode_with(c: u8, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let n = match c {
            code::SYM8 => r.var_len(false)?,
            code::SYM32 => r.var_len(true)?,
            other => return Err(unexpected("symbol", other)),
        };
        // Symbols are ASCII by definition; accept UTF-8 to be liberal in what we read.
        std::str::from_utf8(r.take(n)?)
            .map(|s| Self(s.to_owned()))
            .map_err(|_| DecodeError::InvalidUtf8("symbol"))
    }
}

/// A `multiple="true"` field of symbols: encoded as a single symbol when there is one
/// (allowed by the spec and what most peers send), otherwise as an array of sym8/sym32.
impl Encode for Vec<Symbol> {
    fn encode(&self, buf: &mut BytesMut) {
        match self.as_slice() {
            [] => buf.put_u8(code::NULL),
            [one] => one.encode(buf),
            many => {
                let wide = many.iter().any(|s| s.0.len() > 255);
                let mut body = BytesMut::new();
                for s in many {
                    if wide {
                        body.put_u32(s.0.len() as u32);
                    } else {
                        body.put_u8(s.0.len() as u8);
                    }
                    body.put_slice(s.0.as_bytes());
                }
                let elem = if wide { code::SYM32 } else { code::SYM8 };
                crate::codec::__private::write_array_header(buf, many.len(), elem, body.len());
                buf.put_slice(&body);
            }
        }
    }
}

/// Accepts a single symbol or an array of symbols.
impl Decode for Vec<Symbol> {
    fn decode_with(c: u8, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match c {
            code::SYM8 | code::SYM32 => Ok(vec![Symbol::decode_with(c, r)?]),
            code::ARRAY8 | code::ARRAY32 => {
                let (count, mut inner) = r.compound(c == code::ARRAY32, "array")?;
                let elem = inner.u8()?;
                let mut out = Self::with_capacity(count.min(inner.remaining()));
                for _ in 0..count {
                    out.push(Symbol::decode_with(elem, &mut inner)?);
                }
                Ok(out)
            }
            other => Err(unexpected("symbol or array of symbols", other)),
        }
    }
}
