//! Errors raised while decoding AMQP bytes.

/// Why a sequence of bytes is not a valid AMQP encoding of the expected type.
///
/// Every decoder returns this instead of panicking; the connection layer maps it to an
/// `amqp:decode-error` close.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The bytes ended in the middle of a value.
    #[error("unexpected end of data while decoding {0}")]
    Truncated(&'static str),
    /// A byte that is not an AMQP format code.
    #[error("invalid format code 0x{0:02x}")]
    InvalidFormatCode(u8),
    /// A valid value of the wrong type.
    #[error("expected {expected}, found {found} (format code 0x{code:02x})")]
    UnexpectedType {
        /// What the decoder wanted.
        expected: &'static str,
        /// What the bytes held.
        found: &'static str,
        /// The format code seen.
        code: u8,
    },
    /// A described type whose descriptor is not the expected one.
    #[error("unexpected descriptor {found} while decoding {expected}")]
    UnexpectedDescriptor {
        /// What the decoder wanted.
        expected: &'static str,
        /// The descriptor seen, rendered.
        found: String,
    },
    /// A mandatory field was null or absent.
    #[error("mandatory field {field} of {ty} is missing")]
    MissingField {
        /// Composite type name.
        ty: &'static str,
        /// Field name.
        field: &'static str,
    },
    /// A string or symbol that is not valid UTF-8 / ASCII.
    #[error("invalid utf-8 in {0}")]
    InvalidUtf8(&'static str),
    /// A char value outside the Unicode scalar range.
    #[error("invalid char code point {0:#x}")]
    InvalidChar(u32),
    /// A numeric value out of range for the field type.
    #[error("value out of range for {0}")]
    OutOfRange(&'static str),
    /// A compound's declared size or count is inconsistent with its contents.
    #[error("malformed {0}: size or count inconsistent with its contents")]
    Malformed(&'static str),
    /// Values nested deeper than the decoder allows (guards the stack against hostile input).
    #[error("values nested deeper than {0} levels")]
    TooDeep(usize),
}
