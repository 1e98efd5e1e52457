//! `composite!`: declares an AMQP composite type (a described list) once, and derives its
//! struct, `Default`, `Encode` and `Decode` from that single declaration so that field order
//! and defaults cannot drift between encoder and decoder.

/// Declares a composite type. Each field is `name: Type = mode` where mode is `required`
/// (mandatory in the spec; decoding fails when absent), `optional` (an `Option`), or
/// `default(expr)` (absent decodes as `expr`; always encoded).
macro_rules! composite {
    (
        $(#[$meta:meta])*
        pub struct $name:ident ($sym:literal, $code:literal) {
            $( $(#[$fmeta:meta])* $fname:ident : $fty:ty = $mode:ident $( ($default:expr) )? ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $name {
            $( $(#[$fmeta])* pub $fname: $fty, )*
        }

        impl $name {
            /// Numeric descriptor of this composite type.
            pub const DESCRIPTOR: u64 = $code;
            /// Symbolic descriptor of this composite type.
            pub const NAME: &'static str = $sym;

            #[allow(unused_mut, unused_variables)]
            pub(crate) fn decode_fields(
                mut f: $crate::codec::FieldReader<'_>,
            ) -> Result<Self, $crate::codec::DecodeError> {
                let v = Self { $( $fname: composite!(@read f, $fname, $mode $(, $default)?), )* };
                f.finish()?;
                Ok(v)
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self { $( $fname: composite!(@default $mode $(, $default)?), )* }
            }
        }

        impl $crate::codec::Encode for $name {
            #[inline]
            fn encode(&self, buf: &mut bytes::BytesMut) {
                let mut w = $crate::codec::ListWriter::described(buf, $code);
                $( w.field(&self.$fname); )*
                w.finish();
            }
        }

        impl $crate::codec::Decode for $name {
            #[inline]
            fn decode_with(
                c: u8,
                r: &mut $crate::codec::Reader<'_>,
            ) -> Result<Self, $crate::codec::DecodeError> {
                if c != $crate::codec::code::DESCRIBED {
                    return Err($crate::codec::__private::unexpected($sym, c));
                }
                match r.descriptor_after_constructor($crate::descriptors::code_of)? {
                    $crate::codec::Descriptor::Code($code) => {}
                    other => {
                        return Err($crate::codec::DecodeError::UnexpectedDescriptor {
                            expected: $sym,
                            found: other.to_string(),
                        })
                    }
                }
                Self::decode_fields($crate::codec::FieldReader::open(r, $sym)?)
            }
        }
    };
    (@read $f:ident, $fname:ident, required) => { $f.required(stringify!($fname))? };
    (@read $f:ident, $fname:ident, optional) => { $f.optional()? };
    (@read $f:ident, $fname:ident, default, $d:expr) => { $f.optional()?.unwrap_or($d) };
    (@default required) => { Default::default() };
    (@default optional) => { None };
    (@default default, $d:expr) => { $d };
}
