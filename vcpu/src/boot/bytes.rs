//! Little-endian fields: read from untrusted images with bounds checks that become
//! [`BootError::Truncated`], and written into structures the builders lay out.

use alloc::vec;
use alloc::vec::Vec;

use super::error::BootError;

/// `len` bytes at `offset` of `bytes`, or the error naming `what`.
pub(crate) fn slice<'a>(
    bytes: &'a [u8],
    offset: u64,
    len: u64,
    what: &'static str,
) -> Result<&'a [u8], BootError> {
    let truncated = || BootError::Truncated {
        what,
        needed: offset.saturating_add(len),
        len: bytes.len() as u64,
    };
    let start = usize::try_from(offset).map_err(|_| truncated())?;
    let len = usize::try_from(len).map_err(|_| truncated())?;
    let end = start.checked_add(len).ok_or_else(truncated)?;
    bytes.get(start..end).ok_or_else(truncated)
}

fn array<const N: usize>(
    bytes: &[u8],
    offset: u64,
    what: &'static str,
) -> Result<[u8; N], BootError> {
    let raw = slice(bytes, offset, N as u64, what)?;
    let mut out = [0; N];
    out.copy_from_slice(raw);
    Ok(out)
}

/// The byte at `offset`.
pub(crate) fn u8_at(bytes: &[u8], offset: u64, what: &'static str) -> Result<u8, BootError> {
    Ok(u8::from_le_bytes(array(bytes, offset, what)?))
}

/// The little-endian u16 at `offset`.
pub(crate) fn u16_at(bytes: &[u8], offset: u64, what: &'static str) -> Result<u16, BootError> {
    Ok(u16::from_le_bytes(array(bytes, offset, what)?))
}

/// The little-endian u32 at `offset`.
pub(crate) fn u32_at(bytes: &[u8], offset: u64, what: &'static str) -> Result<u32, BootError> {
    Ok(u32::from_le_bytes(array(bytes, offset, what)?))
}

/// The little-endian u64 at `offset`.
pub(crate) fn u64_at(bytes: &[u8], offset: u64, what: &'static str) -> Result<u64, BootError> {
    Ok(u64::from_le_bytes(array(bytes, offset, what)?))
}

/// A structure being laid out before it is written to guest memory in one piece.
///
/// Offsets come from the protocol's layout constants and sizes from this crate, never
/// from guest input; a write past the end is a bug in this crate, caught by tests.
pub(crate) struct Buf(Vec<u8>);

impl Buf {
    /// `len` zero bytes.
    pub(crate) fn new(len: usize) -> Self {
        Self(vec![0; len])
    }

    /// Copies `data` to `offset`.
    pub(crate) fn put(&mut self, offset: usize, data: &[u8]) {
        let dst = offset
            .checked_add(data.len())
            .and_then(|end| self.0.get_mut(offset..end));
        match dst {
            Some(dst) => dst.copy_from_slice(data),
            None => debug_assert!(false, "structure field at {offset:#x} out of bounds"),
        }
    }

    /// A byte at `offset`.
    pub(crate) fn u8(&mut self, offset: usize, value: u8) {
        self.put(offset, &[value]);
    }

    /// A little-endian u32 at `offset`.
    pub(crate) fn u32(&mut self, offset: usize, value: u32) {
        self.put(offset, &value.to_le_bytes());
    }

    /// A little-endian u64 at `offset`.
    pub(crate) fn u64(&mut self, offset: usize, value: u64) {
        self.put(offset, &value.to_le_bytes());
    }

    /// The bytes.
    pub(crate) fn as_slice(&self) -> &[u8] {
        &self.0
    }

    /// The length as a guest-memory size.
    pub(crate) fn len(&self) -> u64 {
        self.0.len() as u64
    }
}

/// `text` with a terminating NUL, refused if it already holds one (the guest would see
/// it cut short).
pub(crate) fn c_string(text: &str, item: super::Item) -> Result<Vec<u8>, BootError> {
    if text.as_bytes().contains(&0) {
        return Err(BootError::EmbeddedNul { item });
    }
    let mut out = Vec::with_capacity(text.len().saturating_add(1));
    out.extend_from_slice(text.as_bytes());
    out.push(0);
    Ok(out)
}

/// The low 32 bits of an address the builder placed below 4 GiB.
pub(crate) fn low32(value: u64) -> u32 {
    (value & 0xFFFF_FFFF) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::boot::Item;

    /// Reads past the end, or at offsets that overflow, are Truncated errors naming the
    /// structure; in-bounds reads are little-endian.
    #[test]
    fn bounded_reads() {
        let b = [1, 2, 3, 4, 5, 6, 7, 8];
        assert_eq!(u16_at(&b, 0, "x"), Ok(0x0201));
        assert_eq!(u32_at(&b, 4, "x"), Ok(0x0807_0605));
        assert_eq!(u64_at(&b, 0, "x"), Ok(0x0807_0605_0403_0201));
        assert_eq!(
            u32_at(&b, 6, "the header"),
            Err(BootError::Truncated {
                what: "the header",
                needed: 10,
                len: 8
            })
        );
        assert!(u8_at(&b, u64::MAX, "x").is_err());
        assert!(slice(&b, 1, u64::MAX, "x").is_err());
        assert_eq!(slice(&b, 8, 0, "x"), Ok(&[][..]));
    }

    /// Strings gain one NUL and may not contain one.
    #[test]
    fn c_strings() {
        assert_eq!(c_string("ab", Item::CommandLine).unwrap(), b"ab\0");
        assert_eq!(
            c_string("a\0b", Item::CommandLine),
            Err(BootError::EmbeddedNul {
                item: Item::CommandLine
            })
        );
        let mut buf = Buf::new(4);
        buf.put(2, &0xBEEFu16.to_le_bytes());
        assert_eq!(buf.as_slice(), &[0, 0, 0xEF, 0xBE]);
    }
}
