//! The AMQP 1.0 type-system codec: format codes, a bounds-checked reader and the
//! `Encode`/`Decode` traits every wire type implements.
//!
//! Decoding is liberal (every width variant, list0, trimmed lists, symbolic or numeric
//! descriptors); encoding is strict and predictable (small-ulong descriptors, every field
//! present, the narrowest width the spec allows). See docs/PROTOCOL.md §9 for why.

pub mod code;
mod decode;
mod encode;
mod error;
mod fields;

pub use decode::{Decode, Descriptor, Reader};
pub use encode::{Encode, ListWriter};
pub use error::DecodeError;
pub use fields::FieldReader;

/// Helpers shared by the type modules of this crate.
pub(crate) mod __private {
    pub(crate) use super::decode::unexpected;
    pub(crate) use super::encode::{variable_size, write_ulong, write_variable};

    use bytes::{BufMut, BytesMut};

    /// Writes an array header (array8 or array32) for `count` elements of constructor `elem`
    /// whose element bodies total `body_len` bytes.
    pub(crate) fn write_array_header(buf: &mut BytesMut, count: usize, elem: u8, body_len: usize) {
        // size covers count + constructor + bodies
        if body_len + 2 < 256 && count < 256 {
            buf.put_u8(super::code::ARRAY8);
            buf.put_u8((body_len + 2) as u8);
            buf.put_u8(count as u8);
        } else {
            buf.put_u8(super::code::ARRAY32);
            buf.put_u32((body_len + 5) as u32);
            buf.put_u32(count as u32);
        }
        buf.put_u8(elem);
    }
}
