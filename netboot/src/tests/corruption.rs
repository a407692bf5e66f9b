//! A damaged container is refused, and the message says which part is damaged.

use super::sample;
use crate::format::header;
use crate::{ENTRY_LEN, EntryKind, HEADER_LEN, Image, ImageError};

/// Flip patterns: the lowest bit, the highest bit, every bit.
const FLIPS: [u8; 3] = [0x01, 0x80, 0xff];

/// A container cut short anywhere, from nothing to one byte short, is refused as
/// truncated, and the message gives the needed and available lengths.
#[test]
fn truncation_at_every_offset_is_refused() {
    let bytes = sample();
    for len in 0..bytes.len() {
        let err = Image::parse(&bytes[..len]).expect_err("truncated container accepted");
        match err {
            ImageError::Truncated { needed, available } => {
                assert_eq!(available, len as u64);
                let expected = if len < HEADER_LEN {
                    HEADER_LEN
                } else {
                    bytes.len()
                };
                assert_eq!(needed, expected as u64, "cut at {len}");
            }
            other => panic!("cut at {len}: {other}"),
        }
    }
    assert_eq!(
        Image::parse(&bytes[..200]).unwrap_err().to_string(),
        format!(
            "image truncated: the container needs {} bytes but only 200 are present \
             (incomplete download or copy?)",
            bytes.len()
        )
    );
}

/// Any flipped header byte is caught: in the magic as a bad magic, in the version as an
/// unsupported version, anywhere else (digests included) as a header checksum mismatch.
#[test]
fn header_flips_are_refused() {
    let good = sample();
    for offset in 0..HEADER_LEN {
        for flip in FLIPS {
            let mut bytes = good.clone();
            bytes[offset] ^= flip;
            let err = Image::parse(&bytes).expect_err("flipped header accepted");
            match offset {
                0..8 => assert!(
                    matches!(err, ImageError::BadMagic { .. }),
                    "{offset}: {err}"
                ),
                8..10 => assert!(
                    matches!(err, ImageError::UnsupportedVersion { supported: 1, .. }),
                    "{offset}: {err}"
                ),
                _ => {
                    assert!(
                        matches!(err, ImageError::HeaderChecksum { .. }),
                        "{offset}: {err}"
                    );
                    assert_digest_message(&err.to_string(), "header checksum mismatch: ");
                }
            }
        }
    }
}

/// Any flipped table byte is caught by the table digest before any field of the
/// table is believed.
#[test]
fn table_flips_are_refused() {
    let good = sample();
    let count = Image::parse(&good).unwrap().entry_count() as usize;
    for offset in HEADER_LEN..HEADER_LEN + count * ENTRY_LEN {
        for flip in FLIPS {
            let mut bytes = good.clone();
            bytes[offset] ^= flip;
            let err = Image::parse(&bytes).expect_err("flipped table accepted");
            assert!(
                matches!(err, ImageError::TableChecksum { .. }),
                "{offset}: {err}"
            );
            assert_digest_message(&err.to_string(), "entry table checksum mismatch: ");
        }
    }
}

/// A flipped payload byte passes `parse` (which does not hash data) and is caught by
/// `verify_all`, naming the entry it hit; the other entries still verify.
#[test]
fn payload_flips_are_refused_naming_the_entry() {
    let good = sample();
    let image = Image::parse(&good).unwrap();
    let entries: Vec<_> = image
        .entries()
        .map(|e| (e.kind, e.name.to_string(), e.offset as usize, e.data.len()))
        .collect();
    for (kind, name, start, len) in entries {
        // Every byte of the small entries, a spread of the large one.
        let step = if len > 1000 { 37 } else { 1 };
        let offsets = (start..start + len)
            .step_by(step)
            .chain((len > 0).then(|| start + len - 1));
        for offset in offsets {
            let mut bytes = good.clone();
            bytes[offset] ^= FLIPS[offset % 3];
            let image = Image::parse(&bytes).expect("payload flips do not affect parse");
            let err = image.verify_all().expect_err("flipped payload accepted");
            match &err {
                ImageError::EntryChecksum {
                    kind: k, name: n, ..
                } => {
                    assert_eq!((*k, n.as_str()), (kind, name.as_str()), "{offset}")
                }
                other => panic!("{offset}: {other}"),
            }
            assert_digest_message(
                &err.to_string(),
                &format!("entry '{name}' ({kind}): checksum mismatch: "),
            );
            for e in image
                .entries()
                .filter(|e| (e.kind, e.name) != (kind, name.as_str()))
            {
                e.verify().unwrap();
            }
        }
    }
}

/// Padding between entries is covered by no digest and never read, so damage there is
/// harmless (and documented as such).
#[test]
fn padding_is_not_read() {
    let mut bytes = sample();
    let image = Image::parse(&bytes).unwrap();
    let core = image.find(EntryKind::Core, "core").unwrap();
    let next = image.find(EntryKind::PartitionTable, "deploy").unwrap();
    let padding = (core.offset as usize + core.data.len())..next.offset as usize;
    let table_end = HEADER_LEN + 5 * ENTRY_LEN;
    assert!(!padding.is_empty());
    for i in padding.chain(table_end..core.offset as usize) {
        bytes[i] ^= 0xff;
    }
    Image::parse(&bytes).unwrap().verify_all().unwrap();
}

/// Bad magic says what was found; a file that is not a container at all is told so
/// before anything else.
#[test]
fn bad_magic_names_what_was_found() {
    let mut bytes = sample();
    bytes[..8].copy_from_slice(b"\x7fELF\x02\x01\x01\x00");
    assert_eq!(
        Image::parse(&bytes).unwrap_err().to_string(),
        "not a Bulkhead image: expected magic \"BULKHEAD\" at the start of the container, \
         found \"\\x7fELF\\x02\\x01\\x01\\x00\""
    );
    assert!(matches!(
        Image::parse(b"GIF89a, not an image at all, but long enough"),
        Err(ImageError::BadMagic { .. })
    ));
}

/// A header checksum message carries both full digests, as the brief for COM1 asks.
#[test]
fn header_checksum_message_has_full_digests() {
    let mut bytes = sample();
    bytes[header::TOTAL_LEN] ^= 1;
    let message = Image::parse(&bytes).unwrap_err().to_string();
    assert_digest_message(&message, "header checksum mismatch: ");
}

/// `<prefix>expected <64 hex>, got <64 hex>`, the two digests different.
fn assert_digest_message(message: &str, prefix: &str) {
    let rest = message
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("{message:?} does not start with {prefix:?}"));
    let rest = rest.strip_prefix("expected ").unwrap();
    let (expected, actual) = rest.split_once(", got ").unwrap();
    for digest in [expected, actual] {
        assert_eq!(digest.len(), 64, "{message}");
        assert!(
            digest
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
    }
    assert_ne!(expected, actual);
    assert!(message.contains("checksum mismatch"));
}
