//! Byte-level helpers for the sealed bodies: little-endian fixed fields, LEB128
//! varints, and length-prefixed byte strings.
//!
//! Bodies come from authenticated peers, but a buggy or hostile peer that holds the
//! console key can still send anything, so every read checks its length and returns
//! `None` instead of panicking, and nothing is allocated before its bytes are known to
//! be there.

use alloc::vec::Vec;

/// Reads fields front to back from a body.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }

    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.bytes.len() {
            return None;
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Some(head)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    pub(crate) fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }

    pub(crate) fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.array()?))
    }

    /// An unsigned LEB128 value of at most 64 bits.
    pub(crate) fn varint(&mut self) -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.u8()?;
            let bits = u64::from(byte & 0x7f);
            // The tenth byte may only hold the top bit.
            if shift == 63 && bits > 1 {
                return None;
            }
            value |= bits << shift;
            if byte & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }

    /// A varint length, then that many bytes.
    pub(crate) fn bytes(&mut self) -> Option<&'a [u8]> {
        let len = usize::try_from(self.varint()?).ok()?;
        self.take(len)
    }

    /// Like [`Self::bytes`], and the bytes must be UTF-8.
    pub(crate) fn str(&mut self) -> Option<&'a str> {
        core::str::from_utf8(self.bytes()?).ok()
    }

    /// Everything not read yet.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        core::mem::take(&mut self.bytes)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

pub(crate) fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push(value as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

pub(crate) fn varint_len(value: u64) -> usize {
    (64 - value.leading_zeros() as usize).max(1).div_ceil(7)
}

pub(crate) fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// Encoded length of a length-prefixed byte string.
pub(crate) fn bytes_len(len: usize) -> usize {
    varint_len(len as u64) + len
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
pub(crate) fn truncate_str(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Varints round-trip at every width, their length is predicted exactly, and
    /// overlong or overflowing encodings are refused.
    #[test]
    fn varints() {
        for value in [
            0,
            1,
            127,
            128,
            300,
            16_383,
            16_384,
            u32::MAX as u64,
            u64::MAX,
        ] {
            let mut out = Vec::new();
            put_varint(&mut out, value);
            assert_eq!(out.len(), varint_len(value), "{value}");
            let mut r = Reader::new(&out);
            assert_eq!(r.varint(), Some(value));
            assert!(r.is_empty());
        }
        assert_eq!(Reader::new(&[0x80; 10]).varint(), None);
        let mut too_big = [0xff; 10];
        too_big[9] = 0x02;
        assert_eq!(Reader::new(&too_big).varint(), None);
        assert_eq!(Reader::new(&[0x80]).varint(), None);
    }

    /// A length prefix longer than the input is refused, not trusted.
    #[test]
    fn lengths_are_checked() {
        let mut out = Vec::new();
        put_varint(&mut out, u64::MAX);
        out.extend_from_slice(b"abc");
        assert_eq!(Reader::new(&out).bytes(), None);
        assert_eq!(Reader::new(&[2, 0xff, 0xfe]).str(), None);
        assert_eq!(Reader::new(&[2, b'h', b'i']).str(), Some("hi"));
    }

    /// Truncation never splits a character.
    #[test]
    fn truncation_keeps_characters_whole() {
        assert_eq!(truncate_str("héllo", 2), "h");
        assert_eq!(truncate_str("héllo", 3), "hé");
        assert_eq!(truncate_str("hi", 10), "hi");
    }
}
