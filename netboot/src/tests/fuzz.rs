//! Randomised tests: the reader never panics, whatever the bytes, and whatever it
//! accepts satisfies the invariants the loader relies on.

use proptest::prelude::*;

use super::{record_field, reseal, sample, set_range, set_u32, set_u64};
use crate::format::{check_name, header};
use crate::{ENTRY_ALIGN, ENTRY_LEN, HEADER_LEN, Image};

/// What the loader may assume of an accepted container: every entry lies inside it,
/// page-aligned, clear of header and table and of every other entry, with a valid name.
fn assert_invariants(image: &Image<'_>, input: &[u8]) {
    let total = image.total_len();
    assert!(total <= input.len() as u64);
    assert!(total >= HEADER_LEN as u64);
    let table_end = HEADER_LEN as u64 + u64::from(image.entry_count()) * ENTRY_LEN as u64;
    let entries: Vec<_> = image.entries().collect();
    assert_eq!(entries.len() as u32, image.entry_count());
    for (i, a) in entries.iter().enumerate() {
        let a_end = a.offset + a.data.len() as u64;
        assert!(a_end <= total);
        assert_eq!(a.offset % ENTRY_ALIGN, 0);
        check_name(a.name).unwrap();
        if !a.data.is_empty() {
            assert!(a.offset >= table_end || a_end <= HEADER_LEN as u64);
        }
        for b in &entries[i + 1..] {
            let b_end = b.offset + b.data.len() as u64;
            let disjoint =
                a.data.is_empty() || b.data.is_empty() || a_end <= b.offset || b_end <= a.offset;
            assert!(disjoint, "{} and {} overlap", a.name, b.name);
            assert!((a.kind, a.name) != (b.kind, b.name));
        }
    }
    // Messages format without panicking either.
    if let Err(e) = image.verify_all() {
        assert!(e.to_string().contains("checksum mismatch"));
    }
}

fn parse_and_check(bytes: &[u8]) {
    match Image::parse(bytes) {
        Ok(image) => assert_invariants(&image, bytes),
        Err(e) => assert!(!e.to_string().is_empty()),
    }
}

/// Field values around the edges that checked arithmetic has to survive.
fn interesting_u64() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        Just(1),
        Just(HEADER_LEN as u64),
        Just(4096),
        Just(8192),
        Just(12288),
        Just(u64::from(u32::MAX)),
        Just(u64::MAX),
        Just(u64::MAX - 4095),
        Just(i64::MAX as u64),
        0u64..32768,
        any::<u64>(),
    ]
}

proptest! {
    /// Arbitrary bytes never panic the reader.
    #[test]
    fn arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        parse_and_check(&bytes);
    }

    /// Arbitrary bytes behind a valid magic and version reach the header digest.
    #[test]
    fn arbitrary_bytes_after_magic(tail in proptest::collection::vec(any::<u8>(), 0..1024)) {
        let mut bytes = b"BULKHEAD\x01\x00".to_vec();
        bytes.extend(tail);
        parse_and_check(&bytes);
    }

    /// Byte flips anywhere in a valid container, and cuts or extensions of it, never
    /// panic the reader.
    #[test]
    fn mutated_container(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..), 0..8),
        cut in proptest::option::of(any::<prop::sample::Index>()),
        extra in 0usize..64,
    ) {
        let mut bytes = sample();
        for (index, mask) in flips {
            let i = index.index(bytes.len());
            bytes[i] ^= mask;
        }
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len()));
        }
        bytes.extend(std::iter::repeat_n(0x5a, extra));
        parse_and_check(&bytes);
    }

    /// Header and table edits with the digests recomputed, so the structural checks
    /// behind them are exercised, not just the digests.
    #[test]
    fn resealed_structural_edits(
        header_edits in proptest::collection::vec((0usize..4, interesting_u64()), 0..3),
        ranges in proptest::collection::vec((0usize..5, interesting_u64(), interesting_u64()), 0..4),
        table_flips in proptest::collection::vec((0usize..5 * ENTRY_LEN, 1u8..), 0..3),
    ) {
        let mut bytes = sample();
        for (field, value) in header_edits {
            match field {
                0 => set_u32(&mut bytes, header::ENTRY_COUNT, value as u32),
                1 => set_u64(&mut bytes, header::TOTAL_LEN, value),
                2 => set_u64(&mut bytes, header::TABLE_OFFSET, value),
                _ => set_u64(&mut bytes, header::TABLE_LEN, value),
            }
        }
        for (index, offset, len) in ranges {
            set_range(&mut bytes, index, offset, len);
        }
        for (offset, mask) in table_flips {
            bytes[record_field(0, offset)] ^= mask;
        }
        reseal(&mut bytes);
        parse_and_check(&bytes);
    }
}
