//! The reader's error type and the allocation-free display helpers its messages use.

// Untrusted input: no panicking paths outside tests.
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects,
        clippy::panic,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::unreachable,
        clippy::cast_possible_truncation
    )
)]

use core::fmt;

use crate::format::{ENTRY_ALIGN, ENTRY_LEN, EntryKind, MAGIC, NAME_LEN, NameError};

/// Displays a SHA-256 digest as 64 lowercase hex digits, without allocating.
///
/// A precision limits the number of digits: `format!("{:.12}", HexDigest(d))` prints
/// the first twelve.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct HexDigest(pub [u8; 32]);

impl fmt::Display for HexDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let limit = f.precision().unwrap_or(usize::MAX);
        let nibbles = self.0.iter().flat_map(|&b| [b >> 4, b & 0xf]);
        for nibble in nibbles.take(limit) {
            let digit = DIGITS.get(usize::from(nibble)).copied().unwrap_or(b'?');
            fmt::Write::write_char(f, char::from(digit))?;
        }
        Ok(())
    }
}

impl fmt::Debug for HexDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// An entry name copied out of the image, so an error can name its entry without
/// borrowing the image bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct EntryName {
    bytes: [u8; NAME_LEN],
    len: u8,
}

impl EntryName {
    /// Copies `name`, keeping at most [`NAME_LEN`] bytes (cut at a character
    /// boundary). The reader only builds these from names it has validated.
    pub fn new(name: &str) -> EntryName {
        let mut len = name.len().min(NAME_LEN);
        while !name.is_char_boundary(len) {
            len = len.saturating_sub(1);
        }
        let mut bytes = [0; NAME_LEN];
        for (dst, src) in bytes.iter_mut().zip(name.as_bytes().iter().take(len)) {
            *dst = *src;
        }
        EntryName {
            bytes,
            len: u8::try_from(len).unwrap_or(0),
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        self.bytes
            .get(..usize::from(self.len))
            .and_then(|b| core::str::from_utf8(b).ok())
            .unwrap_or("")
    }
}

impl fmt::Display for EntryName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl fmt::Debug for EntryName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// Displays raw bytes as an ASCII string with escapes (`BULK\x00\xff`), without
/// allocating; used to show a bad magic.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct EscapedBytes(pub [u8; 8]);

impl fmt::Display for EscapedBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &b in &self.0 {
            write!(f, "{}", core::ascii::escape_default(b))?;
        }
        Ok(())
    }
}

impl fmt::Debug for EscapedBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

/// Why a container was refused. Every message says what was found and what was
/// expected, so a person at a serial console can tell a bad download from a bad pack.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ImageError {
    /// Fewer bytes are present than the header (or, before the header is read, the
    /// header itself) needs.
    #[error(
        "image truncated: the container needs {needed} bytes but only {available} are \
         present (incomplete download or copy?)"
    )]
    Truncated {
        /// Bytes the container needs.
        needed: u64,
        /// Bytes actually present.
        available: u64,
    },
    /// The container does not start with [`MAGIC`].
    #[error(
        "not a Bulkhead image: expected magic \"{}\" at the start of the container, \
         found \"{found}\"",
        EscapedBytes(MAGIC)
    )]
    BadMagic {
        /// The first eight bytes found.
        found: EscapedBytes,
    },
    /// The header carries a format version this build does not read.
    #[error(
        "unsupported image format version {found}: this build reads version {supported} \
         only; repack the image with a matching `bulkhead pack`"
    )]
    UnsupportedVersion {
        /// Version found in the header.
        found: u16,
        /// The version this build reads.
        supported: u16,
    },
    /// The header's own SHA-256 does not match the header bytes.
    #[error("header checksum mismatch: expected {expected}, got {actual}")]
    HeaderChecksum {
        /// Digest stored in the header.
        expected: HexDigest,
        /// Digest computed over the header bytes.
        actual: HexDigest,
    },
    /// The header declares a header length other than this version's.
    #[error(
        "header length {found} out of range: format version 1 headers are exactly \
         {expected} bytes"
    )]
    HeaderLengthOutOfRange {
        /// Header length found.
        found: u16,
        /// Header length of this version.
        expected: u16,
    },
    /// The header declares more entries than [`crate::MAX_ENTRIES`].
    #[error("entry count {count} out of range: a container holds at most {max} entries")]
    EntryCountOutOfRange {
        /// Entry count found.
        count: u32,
        /// The largest count accepted.
        max: u32,
    },
    /// The table length does not match the entry count.
    #[error(
        "entry table length out of range: {count} entries need {expected} bytes \
         ({ENTRY_LEN} each) but the header declares {len}"
    )]
    TableLengthMismatch {
        /// Entry count from the header.
        count: u32,
        /// Table length from the header.
        len: u64,
        /// `count` times the record length.
        expected: u64,
    },
    /// The table does not lie between the end of the header and the end of the
    /// container.
    #[error(
        "entry table out of range: {len} bytes at offset {offset} must lie between the \
         end of the header ({header_len}) and the end of the container ({total_len})"
    )]
    TableOutOfRange {
        /// Table offset from the header.
        offset: u64,
        /// Table length from the header.
        len: u64,
        /// Header length.
        header_len: u64,
        /// Container length from the header.
        total_len: u64,
    },
    /// The entry table's SHA-256 does not match the digest in the header.
    #[error("entry table checksum mismatch: expected {expected}, got {actual}")]
    TableChecksum {
        /// Digest stored in the header.
        expected: HexDigest,
        /// Digest computed over the table.
        actual: HexDigest,
    },
    /// An entry's kind code is not one this version knows.
    #[error(
        "entry #{index}: unknown entry kind {value} (known: 1 core, 2 partition-table, \
         3 kernel, 4 initrd, 5 module); was the image packed by a newer `bulkhead`?"
    )]
    UnknownKind {
        /// Position of the entry in the table.
        index: u32,
        /// The kind code found.
        value: u16,
    },
    /// An entry's reserved bytes are not zero.
    #[error(
        "entry #{index}: reserved bytes are not zero; was the image packed by a newer \
         `bulkhead`?"
    )]
    ReservedNotZero {
        /// Position of the entry in the table.
        index: u32,
    },
    /// An entry's name field is not a valid name.
    #[error("entry #{index}: bad name: {reason}")]
    BadName {
        /// Position of the entry in the table.
        index: u32,
        /// What is wrong with it.
        reason: NameError,
    },
    /// An entry's data does not start on an [`ENTRY_ALIGN`] boundary.
    #[error("entry '{name}' ({kind}): data offset {offset:#x} is not a multiple of {ENTRY_ALIGN}")]
    EntryMisaligned {
        /// Kind of the entry.
        kind: EntryKind,
        /// Name of the entry.
        name: EntryName,
        /// Its data offset.
        offset: u64,
    },
    /// An entry's data extends past the end of the container.
    #[error(
        "entry '{name}' ({kind}): {len} bytes at offset {offset} extend past the end of \
         the {total_len}-byte container"
    )]
    EntryPastEnd {
        /// Kind of the entry.
        kind: EntryKind,
        /// Name of the entry.
        name: EntryName,
        /// Its data offset.
        offset: u64,
        /// Its data length.
        len: u64,
        /// Container length from the header.
        total_len: u64,
    },
    /// An entry's data overlaps the header or the entry table.
    #[error(
        "entry '{name}' ({kind}): {len} bytes at offset {offset} overlap the image \
         header or the entry table"
    )]
    EntryOverlapsMetadata {
        /// Kind of the entry.
        kind: EntryKind,
        /// Name of the entry.
        name: EntryName,
        /// Its data offset.
        offset: u64,
        /// Its data length.
        len: u64,
    },
    /// Two entries' data ranges overlap.
    #[error(
        "overlapping entries: '{first}' ({first_kind}, bytes {first_start:#x}..{first_end:#x}) \
         and '{second}' ({second_kind}, bytes {second_start:#x}..{second_end:#x})"
    )]
    OverlappingEntries {
        /// Kind of the entry earlier in the table.
        first_kind: EntryKind,
        /// Name of the entry earlier in the table.
        first: EntryName,
        /// Start of its data.
        first_start: u64,
        /// End of its data.
        first_end: u64,
        /// Kind of the entry later in the table.
        second_kind: EntryKind,
        /// Name of the entry later in the table.
        second: EntryName,
        /// Start of its data.
        second_start: u64,
        /// End of its data.
        second_end: u64,
    },
    /// Two entries share a kind and a name, so a lookup would be ambiguous.
    #[error("duplicate entry '{name}' ({kind}): names must be unique within a kind")]
    DuplicateEntry {
        /// The shared kind.
        kind: EntryKind,
        /// The shared name.
        name: EntryName,
    },
    /// An entry's data does not match its SHA-256.
    #[error("entry '{name}' ({kind}): checksum mismatch: expected {expected}, got {actual}")]
    EntryChecksum {
        /// Kind of the entry.
        kind: EntryKind,
        /// Name of the entry.
        name: EntryName,
        /// Digest stored in the entry table.
        expected: HexDigest,
        /// Digest computed over the data.
        actual: HexDigest,
    },
}
