//! Positional reading of a composite type's list of fields.

use super::decode::unexpected;
use super::{code, Decode, DecodeError, Reader};

/// Reads the fields of a composite (a described list) in order. Fields beyond the encoded
/// count read as absent, so trimmed lists and list0 decode like lists of nulls.
#[derive(Debug)]
pub struct FieldReader<'a> {
    inner: Reader<'a>,
    remaining: usize,
    ty: &'static str,
}

impl<'a> FieldReader<'a> {
    /// Opens the list at the cursor (list0, list8 or list32) of composite type `ty`.
    pub fn open(r: &mut Reader<'a>, ty: &'static str) -> Result<Self, DecodeError> {
        let c = r.u8()?;
        let (count, inner) = match c {
            code::LIST0 => (0, r.clone_empty()),
            code::LIST8 => r.compound(false, ty)?,
            code::LIST32 => r.compound(true, ty)?,
            other => return Err(unexpected("list", other)),
        };
        Ok(Self {
            inner,
            remaining: count,
            ty,
        })
    }

    /// The next field, `None` if null or beyond the encoded count.
    #[inline]
    pub fn optional<T: Decode>(&mut self) -> Result<Option<T>, DecodeError> {
        if self.remaining == 0 {
            return Ok(None);
        }
        self.remaining -= 1;
        let c = self.inner.u8()?;
        if c == code::NULL {
            Ok(None)
        } else {
            T::decode_with(c, &mut self.inner).map(Some)
        }
    }

    /// The next field, or the type's default when absent.
    #[inline]
    pub fn or_default<T: Decode + Default>(&mut self) -> Result<T, DecodeError> {
        Ok(self.optional()?.unwrap_or_default())
    }

    /// The next field, which the specification marks mandatory.
    #[inline]
    pub fn required<T: Decode>(&mut self, field: &'static str) -> Result<T, DecodeError> {
        self.optional()?
            .ok_or(DecodeError::MissingField { ty: self.ty, field })
    }

    /// Skips the rest (fields a newer revision may have appended).
    pub fn finish(self) -> Result<(), DecodeError> {
        Ok(())
    }
}

impl Reader<'_> {
    pub(crate) fn clone_empty(&self) -> Self {
        let mut r = self.clone();
        r.truncate_here();
        r
    }
}
