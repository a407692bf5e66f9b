//! Containers whose digests are right but whose structure is wrong: what a buggy or
//! hostile packer could produce. Each test edits fields of a good container and
//! reseals the digests, so the structural check is what refuses it.

use super::{record_field, reseal, sample, set_range, set_u16, set_u32, set_u64};
use crate::format::{entry, header};
use crate::{
    ENTRY_LEN, EntryKind, HEADER_LEN, Image, ImageBuilder, ImageError, MAX_ENTRIES, NameError,
};

fn parse_edited(edit: impl FnOnce(&mut Vec<u8>)) -> ImageError {
    let mut bytes = sample();
    edit(&mut bytes);
    reseal(&mut bytes);
    Image::parse(&bytes).expect_err("edited container accepted")
}

/// Only format version 1 is read; the message gives both versions.
#[test]
fn other_versions_are_refused() {
    for version in [0, 2, 0x100, u16::MAX] {
        let err = parse_edited(|b| set_u16(b, header::VERSION, version));
        assert_eq!(
            err,
            ImageError::UnsupportedVersion {
                found: version,
                supported: 1
            }
        );
    }
    assert_eq!(
        parse_edited(|b| set_u16(b, header::VERSION, 2)).to_string(),
        "unsupported image format version 2: this build reads version 1 only; repack the \
         image with a matching `bulkhead pack`"
    );
}

/// The version is checked before the header digest: a future format with another
/// header layout is reported as a version problem, not as corruption.
#[test]
fn version_is_checked_before_the_digest() {
    let mut bytes = sample();
    set_u16(&mut bytes, header::VERSION, 2);
    assert!(matches!(
        Image::parse(&bytes),
        Err(ImageError::UnsupportedVersion { .. })
    ));
}

/// Version 1 headers are exactly 0x68 bytes.
#[test]
fn header_length_out_of_range() {
    for len in [0, 0x67, 0x69, 0x1000] {
        let err = parse_edited(|b| set_u16(b, header::HEADER_LEN, len));
        assert_eq!(
            err,
            ImageError::HeaderLengthOutOfRange {
                found: len,
                expected: HEADER_LEN as u16
            }
        );
    }
}

/// An absurd entry count is refused from the header alone, before the table is read.
#[test]
fn absurd_entry_count_is_refused() {
    for count in [MAX_ENTRIES + 1, 0x10_0000, u32::MAX] {
        let err = parse_edited(|b| set_u32(b, header::ENTRY_COUNT, count));
        assert_eq!(
            err,
            ImageError::EntryCountOutOfRange {
                count,
                max: MAX_ENTRIES
            }
        );
    }
    // A count that fits the limit but not the table length.
    let err = parse_edited(|b| set_u32(b, header::ENTRY_COUNT, 6));
    assert_eq!(
        err,
        ImageError::TableLengthMismatch {
            count: 6,
            len: 5 * ENTRY_LEN as u64,
            expected: 6 * ENTRY_LEN as u64
        }
    );
    // Count and table length agree but run past the container.
    let err = parse_edited(|b| {
        set_u32(b, header::ENTRY_COUNT, MAX_ENTRIES);
        set_u64(
            b,
            header::TABLE_LEN,
            u64::from(MAX_ENTRIES) * ENTRY_LEN as u64,
        );
    });
    assert!(matches!(err, ImageError::TableOutOfRange { .. }), "{err}");
}

/// The table must lie between the end of the header and the end of the container.
#[test]
fn table_out_of_range() {
    for offset in [0, 8, HEADER_LEN as u64 - 1, u64::MAX - 10, 1 << 40] {
        let err = parse_edited(|b| set_u64(b, header::TABLE_OFFSET, offset));
        assert!(
            matches!(err, ImageError::TableOutOfRange { .. }),
            "{offset}: {err}"
        );
    }
    let err = parse_edited(|b| set_u64(b, header::TOTAL_LEN, HEADER_LEN as u64 + 10));
    assert!(matches!(err, ImageError::TableOutOfRange { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        format!(
            "entry table out of range: {} bytes at offset 104 must lie between the end of \
             the header (104) and the end of the container (114)",
            5 * ENTRY_LEN
        )
    );
}

/// A total length past the available bytes is a truncation, whatever its size.
#[test]
fn total_length_past_the_bytes_is_truncation() {
    let len = sample().len() as u64;
    for total in [len + 1, len + 4096, u64::MAX] {
        let err = parse_edited(|b| set_u64(b, header::TOTAL_LEN, total));
        assert_eq!(
            err,
            ImageError::Truncated {
                needed: total,
                available: len
            }
        );
    }
}

/// An entry whose data runs past the container's end is refused, naming it.
#[test]
fn entry_lengths_past_the_end() {
    let total = sample().len() as u64;
    let core_offset = 4096;
    for len in [total - core_offset + 1, total, u64::MAX] {
        let err = parse_edited(|b| set_range(b, 0, core_offset, len));
        assert!(
            matches!(err, ImageError::EntryPastEnd { kind: EntryKind::Core, len: l, .. } if l == len),
            "{err}"
        );
    }
    let err = parse_edited(|b| set_range(b, 4, u64::MAX - 4095, 2));
    assert!(matches!(err, ImageError::EntryPastEnd { .. }), "{err}");
    assert_eq!(
        parse_edited(|b| set_range(b, 0, 4096, total)).to_string(),
        format!(
            "entry 'core' (core): {total} bytes at offset 4096 extend past the end of the \
             {total}-byte container"
        )
    );
}

/// Overlapping entries are refused, naming both.
#[test]
fn overlapping_entries_are_refused() {
    // The partition table moved onto the core's second page.
    let err = parse_edited(|b| set_range(b, 1, 8192, 100));
    assert!(
        matches!(err, ImageError::OverlappingEntries { .. }),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "overlapping entries: 'core' (core, bytes 0x1000..0x2388) and 'deploy' \
         (partition-table, bytes 0x2000..0x2064)"
    );
    // Identical ranges.
    let err = parse_edited(|b| set_range(b, 2, 4096, 5000));
    assert!(
        matches!(err, ImageError::OverlappingEntries { .. }),
        "{err}"
    );
    // Touching ranges do not overlap; empty ranges overlap nothing.
    let mut bytes = ImageBuilder::new()
        .entry(EntryKind::Kernel, "a", vec![0; 4096])
        .unwrap()
        .entry(EntryKind::Kernel, "b", vec![0; 10])
        .unwrap()
        .entry(EntryKind::Initrd, "c", vec![])
        .unwrap()
        .build();
    set_range(&mut bytes, 2, 4096, 0);
    reseal(&mut bytes);
    Image::parse(&bytes).unwrap();
}

/// Entry data may not overlap the header or the table it is described by.
#[test]
fn entries_overlapping_header_or_table_are_refused() {
    let err = parse_edited(|b| set_range(b, 4, 0, 17));
    assert!(
        matches!(err, ImageError::EntryOverlapsMetadata { .. }),
        "{err}"
    );
    // A container whose table reaches past the first page: an entry on that page
    // overlaps the table.
    let mut builder = ImageBuilder::new();
    for i in 0..60 {
        builder = builder
            .entry(EntryKind::Module, &format!("m{i}"), vec![1])
            .unwrap();
    }
    let mut bytes = builder.build();
    const { assert!(HEADER_LEN + 60 * ENTRY_LEN > 4096) };
    set_range(&mut bytes, 0, 4096, 1);
    reseal(&mut bytes);
    assert!(matches!(
        Image::parse(&bytes),
        Err(ImageError::EntryOverlapsMetadata { .. })
    ));
}

/// Data offsets must be page multiples.
#[test]
fn misaligned_entries_are_refused() {
    let err = parse_edited(|b| set_range(b, 1, 12289, 100));
    assert!(
        matches!(
            err,
            ImageError::EntryMisaligned {
                offset: 12289,
                kind: EntryKind::PartitionTable,
                ..
            }
        ),
        "{err}"
    );
}

/// Unknown kinds are refused with the value found; so is a non-zero reserved field.
#[test]
fn unknown_kinds_and_reserved_bytes() {
    for value in [0, 6, 0x8001, u16::MAX] {
        let err = parse_edited(|b| set_u16(b, record_field(2, entry::KIND), value));
        assert_eq!(err, ImageError::UnknownKind { index: 2, value });
    }
    assert!(
        parse_edited(|b| set_u16(b, record_field(0, entry::KIND), 6))
            .to_string()
            .starts_with("entry #0: unknown entry kind 6 (known: 1 core, ")
    );
    for byte in 0..6 {
        let err = parse_edited(|b| b[record_field(3, entry::RESERVED) + byte] = 1);
        assert_eq!(err, ImageError::ReservedNotZero { index: 3 });
    }
}

/// Names must be non-empty UTF-8 without control characters, NUL-padded.
#[test]
fn bad_names_are_refused() {
    let cases: [(&[u8], NameError); 5] = [
        (b"", NameError::Empty),
        (b"\xff\xfe", NameError::NotUtf8),
        (b"co\0re", NameError::DataAfterNul),
        (b"a\x07b", NameError::ControlCharacter),
        (b"\xc3", NameError::NotUtf8), // a UTF-8 sequence cut short
    ];
    for (name, reason) in cases {
        let err = parse_edited(|b| {
            let field = &mut b[record_field(1, entry::NAME)..][..32];
            field.fill(0);
            field[..name.len()].copy_from_slice(name);
        });
        assert_eq!(err, ImageError::BadName { index: 1, reason }, "{name:?}");
    }
    // All 32 bytes used, no NUL: valid.
    let mut bytes = sample();
    bytes[record_field(1, entry::NAME)..][..32].fill(b'z');
    reseal(&mut bytes);
    let image = Image::parse(&bytes).unwrap();
    assert!(
        image
            .find(EntryKind::PartitionTable, &"z".repeat(32))
            .is_some()
    );
}

/// Two entries of one kind and name would make lookups ambiguous.
#[test]
fn duplicate_entries_are_refused() {
    let err = parse_edited(|b| {
        let name = record_field(3, entry::NAME);
        b[name..name + 32].fill(0);
        b[name..name + 5].copy_from_slice(b"linux");
        set_u16(b, record_field(3, entry::KIND), EntryKind::Kernel.code());
    });
    assert_eq!(
        err.to_string(),
        "duplicate entry 'linux' (kernel): names must be unique within a kind"
    );
}
