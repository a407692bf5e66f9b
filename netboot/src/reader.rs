//! The container reader: no allocation, no panics, checked arithmetic throughout. It runs
//! in the loader before any heap exists, on bytes that came over the network.

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

use sha2::{Digest, Sha256};

use crate::error::{EntryName, EscapedBytes, HexDigest, ImageError};
use crate::format::{
    ENTRY_ALIGN, ENTRY_LEN, EntryKind, HEADER_LEN, MAGIC, MAX_ENTRIES, VERSION, decode_name, entry,
    header,
};

/// Reads `N` bytes at `offset`, or `None` if they are not all there.
pub(crate) fn array<const N: usize>(bytes: &[u8], offset: usize) -> Option<[u8; N]> {
    let end = offset.checked_add(N)?;
    bytes.get(offset..end)?.try_into().ok()
}

fn u16_at(bytes: &[u8], offset: usize) -> Option<u16> {
    array(bytes, offset).map(u16::from_le_bytes)
}

fn u32_at(bytes: &[u8], offset: usize) -> Option<u32> {
    array(bytes, offset).map(u32::from_le_bytes)
}

fn u64_at(bytes: &[u8], offset: usize) -> Option<u64> {
    array(bytes, offset).map(u64::from_le_bytes)
}

/// SHA-256 of `bytes`.
pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Widens a length; `usize` is never wider than 64 bits on the targets this runs on,
/// and the saturation only makes an impossible length look too large.
fn to_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// The header fields after the header checksum has been checked.
struct Header {
    header_len: u16,
    entry_count: u32,
    total_len: u64,
    table_offset: u64,
    table_len: u64,
    table_sha256: [u8; 32],
}

impl Header {
    /// Checks magic, version and header checksum, in that order, so that a file that
    /// is not a container at all, or one from another format version, is reported as
    /// such rather than as a checksum failure.
    fn parse(bytes: &[u8]) -> Result<Header, ImageError> {
        let available = to_u64(bytes.len());
        let truncated = |needed: usize| ImageError::Truncated {
            needed: to_u64(needed),
            available,
        };

        let magic: [u8; 8] = array(bytes, header::MAGIC).ok_or(truncated(HEADER_LEN))?;
        if magic != MAGIC {
            return Err(ImageError::BadMagic {
                found: EscapedBytes(magic),
            });
        }
        let version = u16_at(bytes, header::VERSION).ok_or(truncated(HEADER_LEN))?;
        if version != VERSION {
            return Err(ImageError::UnsupportedVersion {
                found: version,
                supported: VERSION,
            });
        }
        let hashed = bytes
            .get(..header::HEADER_SHA256)
            .ok_or(truncated(HEADER_LEN))?;
        let stored: [u8; 32] = array(bytes, header::HEADER_SHA256).ok_or(truncated(HEADER_LEN))?;
        let computed = sha256(hashed);
        if stored != computed {
            return Err(ImageError::HeaderChecksum {
                expected: HexDigest(stored),
                actual: HexDigest(computed),
            });
        }

        // All of these lie before HEADER_SHA256, which was present.
        let field_missing = truncated(HEADER_LEN);
        Ok(Header {
            header_len: u16_at(bytes, header::HEADER_LEN).ok_or(field_missing)?,
            entry_count: u32_at(bytes, header::ENTRY_COUNT).ok_or(field_missing)?,
            total_len: u64_at(bytes, header::TOTAL_LEN).ok_or(field_missing)?,
            table_offset: u64_at(bytes, header::TABLE_OFFSET).ok_or(field_missing)?,
            table_len: u64_at(bytes, header::TABLE_LEN).ok_or(field_missing)?,
            table_sha256: array(bytes, header::TABLE_SHA256).ok_or(field_missing)?,
        })
    }

    /// Checks the header's length fields against each other; nothing here reads past
    /// the header.
    fn check_ranges(&self) -> Result<(), ImageError> {
        let header_len = to_u64(HEADER_LEN);
        if u64::from(self.header_len) != header_len {
            return Err(ImageError::HeaderLengthOutOfRange {
                found: self.header_len,
                expected: u16::try_from(HEADER_LEN).unwrap_or(u16::MAX),
            });
        }
        if self.entry_count > MAX_ENTRIES {
            return Err(ImageError::EntryCountOutOfRange {
                count: self.entry_count,
                max: MAX_ENTRIES,
            });
        }
        let expected = u64::from(self.entry_count).saturating_mul(to_u64(ENTRY_LEN));
        if self.table_len != expected {
            return Err(ImageError::TableLengthMismatch {
                count: self.entry_count,
                len: self.table_len,
                expected,
            });
        }
        let table_end = self.table_offset.checked_add(self.table_len);
        if self.table_offset < header_len || table_end.is_none_or(|end| end > self.total_len) {
            return Err(ImageError::TableOutOfRange {
                offset: self.table_offset,
                len: self.table_len,
                header_len,
                total_len: self.total_len,
            });
        }
        Ok(())
    }
}

/// A parsed container whose header, entry table and entry bounds have been checked.
/// Entry data is only hashed on request ([`Image::verify_all`], [`Entry::verify`]).
#[derive(Clone, Copy)]
pub struct Image<'a> {
    /// Exactly the container: `total_len` bytes.
    bytes: &'a [u8],
    /// Exactly the entry table.
    table: &'a [u8],
    entry_count: u32,
}

impl<'a> Image<'a> {
    /// Checks the header (magic, version, header checksum, length fields), then the
    /// entry table's checksum, then every entry's kind, name, alignment and bounds, and
    /// that no two entries overlap or share a kind and name. Does not hash entry data.
    ///
    /// `bytes` may be longer than the container (the loader passes everything up to
    /// the end of its RAM region): the header's total length decides where the
    /// container ends, and a total length past `bytes.len()` is
    /// [`ImageError::Truncated`].
    pub fn parse(bytes: &'a [u8]) -> Result<Image<'a>, ImageError> {
        let header = Header::parse(bytes)?;
        header.check_ranges()?;

        let truncated = ImageError::Truncated {
            needed: header.total_len,
            available: to_u64(bytes.len()),
        };
        let total_len = usize::try_from(header.total_len).map_err(|_| truncated)?;
        let bytes = bytes.get(..total_len).ok_or(truncated)?;

        // check_ranges put the table inside the container, which is now in bounds.
        let table = usize::try_from(header.table_offset)
            .ok()
            .zip(usize::try_from(header.table_len).ok())
            .and_then(|(offset, len)| bytes.get(offset..offset.checked_add(len)?))
            .ok_or(truncated)?;
        let computed = sha256(table);
        if computed != header.table_sha256 {
            return Err(ImageError::TableChecksum {
                expected: HexDigest(header.table_sha256),
                actual: HexDigest(computed),
            });
        }

        let image = Image {
            bytes,
            table,
            entry_count: header.entry_count,
        };
        image.check_entries(header.table_offset, header.table_len)?;
        Ok(image)
    }

    /// Checks every entry on its own, then every pair.
    fn check_entries(&self, table_offset: u64, table_len: u64) -> Result<(), ImageError> {
        let total_len = self.total_len();
        let table_end = table_offset.saturating_add(table_len);
        let mut index = 0u32;
        for record in records(self.table) {
            let entry = decode_record(record, index)?;
            let name = EntryName::new(entry.name);
            if entry.offset % ENTRY_ALIGN != 0 {
                return Err(ImageError::EntryMisaligned {
                    kind: entry.kind,
                    name,
                    offset: entry.offset,
                });
            }
            let end = entry.offset.checked_add(entry.len);
            if end.is_none_or(|end| end > total_len) {
                return Err(ImageError::EntryPastEnd {
                    kind: entry.kind,
                    name,
                    offset: entry.offset,
                    len: entry.len,
                    total_len,
                });
            }
            let start = entry.offset;
            let end = start.saturating_add(entry.len);
            if overlaps(start, end, 0, to_u64(HEADER_LEN))
                || overlaps(start, end, table_offset, table_end)
            {
                return Err(ImageError::EntryOverlapsMetadata {
                    kind: entry.kind,
                    name,
                    offset: entry.offset,
                    len: entry.len,
                });
            }
            index = index.saturating_add(1);
        }

        // Quadratic, but bounded by MAX_ENTRIES and free of allocation.
        for (i, first) in self.records().enumerate() {
            for second in self.records().skip(i.saturating_add(1)) {
                check_pair(&first, &second)?;
            }
        }
        Ok(())
    }

    /// The records, already validated by `parse`.
    fn records(&self) -> impl Iterator<Item = Record<'a>> + 'a {
        records(self.table).filter_map(|record| decode_record(record, 0).ok())
    }

    /// Length of the container in bytes, from its header.
    pub fn total_len(&self) -> u64 {
        to_u64(self.bytes.len())
    }

    /// The container's bytes (exactly [`Image::total_len`] of them).
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Number of entries.
    pub fn entry_count(&self) -> u32 {
        self.entry_count
    }

    /// The entries, in table order.
    pub fn entries(&self) -> Entries<'a> {
        Entries {
            bytes: self.bytes,
            records: records(self.table),
        }
    }

    /// The entry of `kind` called `name`.
    pub fn find(&self, kind: EntryKind, name: &str) -> Option<Entry<'a>> {
        self.entries().find(|e| e.kind == kind && e.name == name)
    }

    /// The first entry of `kind` in table order.
    pub fn first(&self, kind: EntryKind) -> Option<Entry<'a>> {
        self.entries().find(|e| e.kind == kind)
    }

    /// Hashes every entry's data in table order; the first mismatch is returned.
    pub fn verify_all(&self) -> Result<(), ImageError> {
        self.entries().try_for_each(|entry| entry.verify())
    }
}

/// Whether the half-open ranges `a` and `b` share a byte; empty ranges share none.
fn overlaps(a_start: u64, a_end: u64, b_start: u64, b_end: u64) -> bool {
    a_start < a_end && b_start < b_end && a_start < b_end && b_start < a_end
}

fn check_pair(first: &Record<'_>, second: &Record<'_>) -> Result<(), ImageError> {
    if first.kind == second.kind && first.name == second.name {
        return Err(ImageError::DuplicateEntry {
            kind: second.kind,
            name: EntryName::new(second.name),
        });
    }
    let first_end = first.offset.saturating_add(first.len);
    let second_end = second.offset.saturating_add(second.len);
    if overlaps(first.offset, first_end, second.offset, second_end) {
        return Err(ImageError::OverlappingEntries {
            first_kind: first.kind,
            first: EntryName::new(first.name),
            first_start: first.offset,
            first_end,
            second_kind: second.kind,
            second: EntryName::new(second.name),
            second_start: second.offset,
            second_end,
        });
    }
    Ok(())
}

/// One decoded table record, before its data range is resolved.
struct Record<'a> {
    kind: EntryKind,
    name: &'a str,
    offset: u64,
    len: u64,
    sha256: [u8; 32],
}

/// The table's records; `parse` made the table a whole number of records long.
fn records(table: &[u8]) -> core::slice::Iter<'_, [u8; ENTRY_LEN]> {
    table.as_chunks::<ENTRY_LEN>().0.iter()
}

/// Copies the `N`-byte field at `at` out of a record. The offsets are constants that
/// lie inside the record (checked at compile time in `format`), so this always copies
/// the whole field; written without indexing so that it cannot panic regardless.
fn field<const N: usize>(record: &[u8; ENTRY_LEN], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    for (dst, src) in out.iter_mut().zip(record.iter().skip(at)) {
        *dst = *src;
    }
    out
}

/// Decodes one record; `index` only labels errors.
fn decode_record(record: &[u8; ENTRY_LEN], index: u32) -> Result<Record<'_>, ImageError> {
    let code = u16::from_le_bytes(field(record, entry::KIND));
    let kind = EntryKind::from_code(code).ok_or(ImageError::UnknownKind { index, value: code })?;
    if field::<{ entry::RESERVED_LEN }>(record, entry::RESERVED) != [0; entry::RESERVED_LEN] {
        return Err(ImageError::ReservedNotZero { index });
    }
    let name_field = record.get(entry::NAME..entry::OFFSET).unwrap_or_default();
    let name = decode_name(name_field).map_err(|reason| ImageError::BadName { index, reason })?;
    Ok(Record {
        kind,
        name,
        offset: u64::from_le_bytes(field(record, entry::OFFSET)),
        len: u64::from_le_bytes(field(record, entry::LENGTH)),
        sha256: field(record, entry::SHA256),
    })
}

/// One payload of a parsed container.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Entry<'a> {
    /// What it holds.
    pub kind: EntryKind,
    /// Its name, unique within its kind.
    pub name: &'a str,
    /// Offset of its data from the container start (a multiple of
    /// [`crate::ENTRY_ALIGN`]).
    pub offset: u64,
    /// Its data.
    pub data: &'a [u8],
    /// The SHA-256 of its data recorded in the entry table.
    pub sha256: [u8; 32],
}

impl Entry<'_> {
    /// Hashes the data and compares it with the recorded digest.
    pub fn verify(&self) -> Result<(), ImageError> {
        let computed = sha256(self.data);
        if computed != self.sha256 {
            return Err(ImageError::EntryChecksum {
                kind: self.kind,
                name: EntryName::new(self.name),
                expected: HexDigest(self.sha256),
                actual: HexDigest(computed),
            });
        }
        Ok(())
    }
}

/// Iterator over the entries of an [`Image`], in table order.
#[derive(Clone)]
pub struct Entries<'a> {
    bytes: &'a [u8],
    records: core::slice::Iter<'a, [u8; ENTRY_LEN]>,
}

impl<'a> Iterator for Entries<'a> {
    type Item = Entry<'a>;

    fn next(&mut self) -> Option<Entry<'a>> {
        // Every record was validated by `Image::parse`, so nothing is skipped here.
        self.records.find_map(|record| {
            let record = decode_record(record, 0).ok()?;
            let start = usize::try_from(record.offset).ok()?;
            let end = start.checked_add(usize::try_from(record.len).ok()?)?;
            Some(Entry {
                kind: record.kind,
                name: record.name,
                offset: record.offset,
                data: self.bytes.get(start..end)?,
                sha256: record.sha256,
            })
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.records.len()))
    }
}

// Debug output summarises instead of dumping megabytes of payload.

impl fmt::Debug for Image<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Image")
            .field("total_len", &self.total_len())
            .field("entry_count", &self.entry_count)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Entry<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry")
            .field("kind", &self.kind)
            .field("name", &self.name)
            .field("offset", &self.offset)
            .field("len", &self.data.len())
            .field("sha256", &HexDigest(self.sha256))
            .finish()
    }
}

impl fmt::Debug for Entries<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entries")
            .field("remaining", &self.records.len())
            .finish_non_exhaustive()
    }
}
