//! The dynamically typed AMQP value, used for annotations, application properties,
//! filters and anything whose type is only known at run time.

use bytes::{BufMut, Bytes, BytesMut};

use super::{Decimal128, Decimal32, Decimal64, Symbol, Timestamp, Uuid};
use crate::codec::__private::{unexpected, write_array_header, write_ulong};
use crate::codec::{code, Decode, DecodeError, Encode, Reader};

/// Most elements accepted in an array whose element type has zero width.
const MAX_EMPTY_ELEMENTS: usize = 4096;

/// Any AMQP 1.0 value.
#[derive(Debug, Clone, PartialEq, Default)]
#[allow(missing_docs)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Ubyte(u8),
    Ushort(u16),
    Uint(u32),
    Ulong(u64),
    Byte(i8),
    Short(i16),
    Int(i32),
    Long(i64),
    Float(f32),
    Double(f64),
    Decimal32(Decimal32),
    Decimal64(Decimal64),
    Decimal128(Decimal128),
    Char(char),
    Timestamp(Timestamp),
    Uuid(Uuid),
    Binary(Bytes),
    String(String),
    Symbol(Symbol),
    List(Vec<Self>),
    Map(Vec<(Self, Self)>),
    /// An array: every element has the same type (the first element's, on encode).
    Array(Vec<Self>),
    Described(Box<Described>),
}

/// Why a [`Value`] cannot be encoded: an array whose elements differ in type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("array element {index} is {found}, but the array's first element is {first} (an AMQP array holds one type)")]
pub struct MixedArray {
    /// The position of the first element that differs.
    pub index: usize,
    /// The type of the first element.
    pub first: &'static str,
    /// The type of the element that differs.
    pub found: &'static str,
}

/// A described value: a descriptor (ulong or symbol) and the value it describes.
#[derive(Debug, Clone, PartialEq)]
pub struct Described {
    /// The descriptor, normally `Value::Ulong` or `Value::Symbol`.
    pub descriptor: Value,
    /// The described value.
    pub value: Value,
}

impl Value {
    /// The string if this is a `String`.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(s) => Some(s),
            Self::Symbol(s) => Some(s.as_str()),
            _ => None,
        }
    }

    /// Widens any integer to i64 where it fits.
    pub fn as_i64(&self) -> Option<i64> {
        Some(match *self {
            Self::Ubyte(v) => v.into(),
            Self::Ushort(v) => v.into(),
            Self::Uint(v) => v.into(),
            Self::Ulong(v) => i64::try_from(v).ok()?,
            Self::Byte(v) => v.into(),
            Self::Short(v) => v.into(),
            Self::Int(v) => v.into(),
            Self::Long(v) => v,
            Self::Timestamp(t) => t.0,
            _ => return None,
        })
    }

    /// True for `Null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Self::Null)
    }

    /// Checks that this value can be encoded: every [`Value::Array`] inside it holds
    /// elements of one type (and, for described elements, one descriptor), as AMQP arrays
    /// must. [`Encode`] cannot fail, so callers that accept values from users check them
    /// first; a mixed array is encoded as bytes no peer can decode.
    pub fn validate(&self) -> Result<(), MixedArray> {
        match self {
            Self::List(items) => items.iter().try_for_each(Self::validate),
            Self::Map(pairs) => pairs.iter().try_for_each(|(k, v)| {
                k.validate()?;
                v.validate()
            }),
            Self::Described(d) => {
                d.descriptor.validate()?;
                d.value.validate()
            }
            Self::Array(items) => {
                let Some(first) = items.first() else {
                    return Ok(());
                };
                for (index, item) in items.iter().enumerate() {
                    let same = match (first, item) {
                        (Self::Described(a), Self::Described(b)) => {
                            a.descriptor == b.descriptor
                                && a.value.array_code() == b.value.array_code()
                        }
                        _ => first.array_code() == item.array_code(),
                    };
                    if !same {
                        return Err(MixedArray {
                            index,
                            first: first.type_name(),
                            found: item.type_name(),
                        });
                    }
                    item.validate()?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// The AMQP type's name, as the specification spells it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Null => "null",
            Self::Bool(_) => "boolean",
            Self::Ubyte(_) => "ubyte",
            Self::Ushort(_) => "ushort",
            Self::Uint(_) => "uint",
            Self::Ulong(_) => "ulong",
            Self::Byte(_) => "byte",
            Self::Short(_) => "short",
            Self::Int(_) => "int",
            Self::Long(_) => "long",
            Self::Float(_) => "float",
            Self::Double(_) => "double",
            Self::Decimal32(_) => "decimal32",
            Self::Decimal64(_) => "decimal64",
            Self::Decimal128(_) => "decimal128",
            Self::Char(_) => "char",
            Self::Timestamp(_) => "timestamp",
            Self::Uuid(_) => "uuid",
            Self::Binary(_) => "binary",
            Self::String(_) => "string",
            Self::Symbol(_) => "symbol",
            Self::List(_) => "list",
            Self::Map(_) => "map",
            Self::Array(_) => "array",
            Self::Described(_) => "described",
        }
    }

    /// The format code used for this value as an array element (the wide forms, so one
    /// constructor fits every element).
    fn array_code(&self) -> u8 {
        match self {
            Self::Null => code::NULL,
            Self::Bool(_) => code::BOOLEAN,
            Self::Ubyte(_) => code::UBYTE,
            Self::Ushort(_) => code::USHORT,
            Self::Uint(_) => code::UINT,
            Self::Ulong(_) => code::ULONG,
            Self::Byte(_) => code::BYTE,
            Self::Short(_) => code::SHORT,
            Self::Int(_) => code::INT,
            Self::Long(_) => code::LONG,
            Self::Float(_) => code::FLOAT,
            Self::Double(_) => code::DOUBLE,
            Self::Decimal32(_) => code::DECIMAL32,
            Self::Decimal64(_) => code::DECIMAL64,
            Self::Decimal128(_) => code::DECIMAL128,
            Self::Char(_) => code::CHAR,
            Self::Timestamp(_) => code::TIMESTAMP,
            Self::Uuid(_) => code::UUID,
            Self::Binary(_) => code::VBIN32,
            Self::String(_) => code::STR32,
            Self::Symbol(_) => code::SYM32,
            Self::List(_) => code::LIST32,
            Self::Map(_) => code::MAP32,
            Self::Array(_) => code::ARRAY32,
            Self::Described(_) => code::DESCRIBED,
        }
    }

    /// Writes the value body for array element constructor `c` (no constructor byte).
    fn encode_array_element(&self, c: u8, buf: &mut BytesMut) {
        let mut tmp = BytesMut::new();
        match (c, self) {
            (code::BOOLEAN, Self::Bool(b)) => buf.put_u8(*b as u8),
            (code::UINT, Self::Uint(v)) => buf.put_u32(*v),
            (code::ULONG, Self::Ulong(v)) => buf.put_u64(*v),
            (code::INT, Self::Int(v)) => buf.put_i32(*v),
            (code::LONG, Self::Long(v)) => buf.put_i64(*v),
            (code::VBIN32, Self::Binary(b)) => {
                buf.put_u32(b.len() as u32);
                buf.put_slice(b);
            }
            (code::STR32, Self::String(s)) => {
                buf.put_u32(s.len() as u32);
                buf.put_slice(s.as_bytes());
            }
            (code::SYM32, Self::Symbol(s)) => {
                buf.put_u32(s.0.len() as u32);
                buf.put_slice(s.0.as_bytes());
            }
            (code::LIST32 | code::MAP32 | code::ARRAY32, _) => {
                // Compound encoders may pick the 8-bit form; rewrite to the 32-bit form.
                self.encode(&mut tmp);
                let mut r_buf = tmp.freeze();
                let first = r_buf[0];
                if first == code::LIST0 {
                    buf.put_u32(4);
                    buf.put_u32(0);
                } else if matches!(first, code::LIST8 | code::MAP8 | code::ARRAY8) {
                    let size = r_buf[1] as u32;
                    let count = r_buf[2] as u32;
                    buf.put_u32(size + 3);
                    buf.put_u32(count);
                    buf.put_slice(&r_buf.split_off(3));
                } else {
                    buf.put_slice(&r_buf.split_off(1));
                }
            }
            (code::DESCRIBED, Self::Described(_)) | (code::NULL, _) => {
                // Described elements are written in full each (rare; interop peers accept it
                // poorly anyway), nulls have no body.
                if c == code::DESCRIBED {
                    self.encode(&mut tmp);
                    buf.put_slice(&tmp[1..]);
                }
            }
            _ => {
                // Fixed-width values: their normal encoding is constructor + body with the
                // same constructor as the array code.
                self.encode(&mut tmp);
                buf.put_slice(&tmp[1..]);
            }
        }
    }

    /// Decodes a value whose constructor `c` was read, depth-limited by the reader.
    fn decode_compound(c: u8, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match c {
            code::LIST0 => Ok(Self::List(Vec::new())),
            code::LIST8 | code::LIST32 => {
                let (count, mut inner) = r.compound(c == code::LIST32, "list")?;
                let mut items = Vec::with_capacity(count.min(inner.remaining()));
                for _ in 0..count {
                    items.push(Self::decode(&mut inner)?);
                }
                Ok(Self::List(items))
            }
            code::MAP8 | code::MAP32 => {
                let (count, mut inner) = r.compound(c == code::MAP32, "map")?;
                if count % 2 != 0 {
                    return Err(DecodeError::Malformed("map"));
                }
                let mut items = Vec::with_capacity((count / 2).min(inner.remaining()));
                for _ in 0..count / 2 {
                    let k = Self::decode(&mut inner)?;
                    let v = Self::decode(&mut inner)?;
                    items.push((k, v));
                }
                Ok(Self::Map(items))
            }
            code::ARRAY8 | code::ARRAY32 => {
                let (count, mut inner) = r.compound(c == code::ARRAY32, "array")?;
                let elem = inner.u8()?;
                // Elements of a zero-width type (null, true, uint0...) take no bytes, so the
                // declared count is not bounded by the data: cap it (found by fuzzing).
                if count > inner.remaining() && count > MAX_EMPTY_ELEMENTS {
                    return Err(DecodeError::Malformed("array"));
                }
                let mut items = Vec::with_capacity(count.min(inner.remaining()));
                if elem == code::DESCRIBED {
                    let descriptor = Self::decode(&mut inner)?;
                    let ec = inner.u8()?;
                    for _ in 0..count {
                        let value = Self::decode_with(ec, &mut inner)?;
                        items.push(Self::Described(Box::new(Described {
                            descriptor: descriptor.clone(),
                            value,
                        })));
                    }
                } else {
                    for _ in 0..count {
                        items.push(Self::decode_with(elem, &mut inner)?);
                    }
                }
                Ok(Self::Array(items))
            }
            other => Err(unexpected("value", other)),
        }
    }
}

impl Encode for Value {
    fn encode(&self, buf: &mut BytesMut) {
        match self {
            Self::Null => buf.put_u8(code::NULL),
            Self::Bool(v) => v.encode(buf),
            Self::Ubyte(v) => v.encode(buf),
            Self::Ushort(v) => v.encode(buf),
            Self::Uint(v) => v.encode(buf),
            Self::Ulong(v) => write_ulong(buf, *v),
            Self::Byte(v) => v.encode(buf),
            Self::Short(v) => v.encode(buf),
            Self::Int(v) => v.encode(buf),
            Self::Long(v) => v.encode(buf),
            Self::Float(v) => v.encode(buf),
            Self::Double(v) => v.encode(buf),
            Self::Decimal32(v) => v.encode(buf),
            Self::Decimal64(v) => v.encode(buf),
            Self::Decimal128(v) => v.encode(buf),
            Self::Char(v) => v.encode(buf),
            Self::Timestamp(v) => v.encode(buf),
            Self::Uuid(v) => v.encode(buf),
            Self::Binary(v) => v.encode(buf),
            Self::String(v) => v.encode(buf),
            Self::Symbol(v) => v.encode(buf),
            Self::List(items) => {
                if items.is_empty() {
                    buf.put_u8(code::LIST0);
                } else {
                    let mut w = crate::codec::ListWriter::plain(buf);
                    for i in items {
                        w.field(i);
                    }
                    w.finish();
                }
            }
            Self::Map(items) => encode_map(buf, items.iter().map(|(k, v)| (k, v)), items.len()),
            Self::Array(items) => {
                let c = items.first().map_or(code::NULL, Self::array_code);
                let mut body = BytesMut::new();
                if c == code::DESCRIBED {
                    // Arrays of described values share one descriptor.
                    if let Some(Self::Described(d)) = items.first() {
                        d.descriptor.encode(&mut body);
                        let ec = d.value.array_code();
                        body.put_u8(ec);
                        for item in items {
                            if let Self::Described(d) = item {
                                d.value.encode_array_element(ec, &mut body);
                            }
                        }
                    }
                } else {
                    for item in items {
                        item.encode_array_element(c, &mut body);
                    }
                }
                write_array_header(buf, items.len(), c, body.len());
                buf.put_slice(&body);
            }
            Self::Described(d) => {
                buf.put_u8(code::DESCRIBED);
                d.descriptor.encode(buf);
                d.value.encode(buf);
            }
        }
    }
}

/// Writes a map from key/value pairs, choosing map8 or map32.
pub(crate) fn encode_map<'a, K: Encode + 'a, V: Encode + 'a>(
    buf: &mut BytesMut,
    pairs: impl Iterator<Item = (&'a K, &'a V)>,
    len: usize,
) {
    let start = buf.len();
    buf.put_u8(code::MAP32);
    buf.put_u64(0);
    for (k, v) in pairs {
        k.encode(buf);
        v.encode(buf);
    }
    let body = buf.len() - start - 9;
    let count = len * 2;
    if body < 255 && count <= 255 {
        buf[start] = code::MAP8;
        buf[start + 1] = (body + 1) as u8;
        buf[start + 2] = count as u8;
        buf.copy_within(start + 9.., start + 3);
        buf.truncate(start + 3 + body);
    } else {
        buf[start + 1..start + 5].copy_from_slice(&((body + 4) as u32).to_be_bytes());
        buf[start + 5..start + 9].copy_from_slice(&(count as u32).to_be_bytes());
    }
}

impl Decode for Value {
    fn decode_with(c: u8, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match c {
            code::NULL => Self::Null,
            code::TRUE | code::FALSE | code::BOOLEAN => Self::Bool(bool::decode_with(c, r)?),
            code::UBYTE => Self::Ubyte(r.u8()?),
            code::USHORT => Self::Ushort(u16::decode_with(c, r)?),
            code::UINT | code::SMALL_UINT | code::UINT0 => Self::Uint(u32::decode_with(c, r)?),
            code::ULONG | code::SMALL_ULONG | code::ULONG0 => Self::Ulong(u64::decode_with(c, r)?),
            code::BYTE => Self::Byte(r.u8()? as i8),
            code::SHORT => Self::Short(i16::decode_with(c, r)?),
            code::INT | code::SMALL_INT => Self::Int(i32::decode_with(c, r)?),
            code::LONG | code::SMALL_LONG => Self::Long(i64::decode_with(c, r)?),
            code::FLOAT => Self::Float(f32::decode_with(c, r)?),
            code::DOUBLE => Self::Double(f64::decode_with(c, r)?),
            code::DECIMAL32 => Self::Decimal32(Decimal32::decode_with(c, r)?),
            code::DECIMAL64 => Self::Decimal64(Decimal64::decode_with(c, r)?),
            code::DECIMAL128 => Self::Decimal128(Decimal128::decode_with(c, r)?),
            code::CHAR => Self::Char(char::decode_with(c, r)?),
            code::TIMESTAMP => Self::Timestamp(Timestamp::decode_with(c, r)?),
            code::UUID => Self::Uuid(Uuid::decode_with(c, r)?),
            code::VBIN8 | code::VBIN32 => Self::Binary(Bytes::decode_with(c, r)?),
            code::STR8 | code::STR32 => Self::String(String::decode_with(c, r)?),
            code::SYM8 | code::SYM32 => Self::Symbol(Symbol::decode_with(c, r)?),
            code::DESCRIBED => {
                let mut guard = r.nested()?;
                let descriptor = Self::decode(&mut guard)?;
                let value = Self::decode(&mut guard)?;
                r.resume(guard);
                Self::Described(Box::new(Described { descriptor, value }))
            }
            _ => Self::decode_compound(c, r)?,
        })
    }
}

macro_rules! from_impl {
    ($($t:ty => $v:ident),*) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Self {
                Self::$v(v.into())
            }
        }
    )*};
}
from_impl!(bool => Bool, u8 => Ubyte, u16 => Ushort, u32 => Uint, u64 => Ulong, i8 => Byte,
    i16 => Short, i32 => Int, i64 => Long, f32 => Float, f64 => Double, char => Char,
    Timestamp => Timestamp, Uuid => Uuid, Bytes => Binary, String => String, &str => String,
    Symbol => Symbol);

/// Maps (and `fields`, `annotations`) are vectors of pairs in wire order.
impl<K: Encode, V: Encode> Encode for Vec<(K, V)> {
    fn encode(&self, buf: &mut BytesMut) {
        encode_map(buf, self.iter().map(|(k, v)| (k, v)), self.len());
    }
}

impl<K: Decode, V: Decode> Decode for Vec<(K, V)> {
    fn decode_with(c: u8, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let (count, mut inner) = match c {
            code::MAP8 | code::MAP32 => r.compound(c == code::MAP32, "map")?,
            other => return Err(unexpected("map", other)),
        };
        if count % 2 != 0 {
            return Err(DecodeError::Malformed("map"));
        }
        let mut out = Self::with_capacity((count / 2).min(inner.remaining()));
        for _ in 0..count / 2 {
            let k = K::decode(&mut inner)?;
            let v = V::decode(&mut inner)?;
            out.push((k, v));
        }
        Ok(out)
    }
}
