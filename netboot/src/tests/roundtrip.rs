//! What the writer writes, the reader reads back unchanged.

use super::{pattern, sample};
use crate::{
    BuildError, ENTRY_ALIGN, EntryKind, HEADER_LEN, HexDigest, Image, ImageBuilder, NameError,
};

/// Every entry comes back with its kind, name, data and digest, in insertion order.
#[test]
fn round_trip_preserves_entries_in_order() {
    let bytes = sample();
    let image = Image::parse(&bytes).unwrap();
    image.verify_all().unwrap();
    assert_eq!(image.total_len(), bytes.len() as u64);
    assert_eq!(image.entry_count(), 5);

    let got: Vec<_> = image
        .entries()
        .map(|e| (e.kind, e.name, e.data.to_vec()))
        .collect();
    let want = vec![
        (EntryKind::Core, "core", pattern(5000, 1)),
        (EntryKind::PartitionTable, "deploy", pattern(100, 2)),
        (EntryKind::Kernel, "linux", pattern(3000, 3)),
        (EntryKind::Initrd, "linux", Vec::new()),
        (EntryKind::Module, "rtos.bin", pattern(17, 4)),
    ];
    assert_eq!(got, want);
    for e in image.entries() {
        assert_eq!(e.sha256, crate::reader::sha256(e.data));
    }
}

/// Data starts on a page boundary after the table, entries follow in order, and the
/// container ends with the last entry's data.
#[test]
fn writer_aligns_every_entry() {
    let bytes = sample();
    let image = Image::parse(&bytes).unwrap();
    let mut previous_end = 0;
    for e in image.entries() {
        assert_eq!(e.offset % ENTRY_ALIGN, 0, "{}", e.name);
        assert!(e.offset >= previous_end);
        assert!(e.offset >= HEADER_LEN as u64);
        previous_end = e.offset + e.data.len() as u64;
    }
    assert_eq!(image.entries().next().unwrap().offset, ENTRY_ALIGN);
    assert_eq!(previous_end, image.total_len());
}

/// The loader passes everything up to the end of RAM: trailing bytes are not part of
/// the container and do not disturb it.
#[test]
fn parse_ignores_bytes_after_the_container() {
    let mut bytes = sample();
    let len = bytes.len();
    bytes.extend(std::iter::repeat_n(0xa5, 10_000));
    let image = Image::parse(&bytes).unwrap();
    assert_eq!(image.total_len(), len as u64);
    assert_eq!(image.as_bytes().len(), len);
    image.verify_all().unwrap();
}

/// `find` matches kind and name; `first` takes the first of a kind in table order.
#[test]
fn find_and_first() {
    let bytes = sample();
    let image = Image::parse(&bytes).unwrap();
    assert_eq!(
        image.find(EntryKind::Kernel, "linux").unwrap().data.len(),
        3000
    );
    assert_eq!(
        image.find(EntryKind::Initrd, "linux").unwrap().data.len(),
        0
    );
    assert!(image.find(EntryKind::Kernel, "rtos.bin").is_none());
    assert!(image.find(EntryKind::Kernel, "linu").is_none());
    assert_eq!(image.first(EntryKind::Core).unwrap().name, "core");
    assert_eq!(image.first(EntryKind::Module).unwrap().name, "rtos.bin");

    let two_kernels = ImageBuilder::new()
        .entry(EntryKind::Kernel, "b", vec![1])
        .unwrap()
        .entry(EntryKind::Kernel, "a", vec![2])
        .unwrap()
        .build();
    let image = Image::parse(&two_kernels).unwrap();
    assert_eq!(image.first(EntryKind::Kernel).unwrap().name, "b");
    assert!(image.first(EntryKind::Core).is_none());
}

/// A container without entries is valid: header and table only.
#[test]
fn empty_container() {
    let bytes = ImageBuilder::new().build();
    assert_eq!(bytes.len(), HEADER_LEN);
    let image = Image::parse(&bytes).unwrap();
    assert_eq!(image.entries().count(), 0);
    image.verify_all().unwrap();
}

/// Names use the whole 32-byte field, and any UTF-8 without control characters.
#[test]
fn full_length_and_unicode_names() {
    let long = "n".repeat(32);
    let bytes = ImageBuilder::new()
        .entry(EntryKind::Module, &long, vec![1, 2])
        .unwrap()
        .entry(EntryKind::Module, "grüße-µ", vec![3])
        .unwrap()
        .build();
    let image = Image::parse(&bytes).unwrap();
    assert_eq!(image.find(EntryKind::Module, &long).unwrap().data, &[1, 2]);
    assert_eq!(image.find(EntryKind::Module, "grüße-µ").unwrap().data, &[3]);
}

/// The writer refuses what the reader would refuse.
#[test]
fn writer_rejects_bad_entries() {
    let b = || {
        ImageBuilder::new()
            .entry(EntryKind::Kernel, "linux", vec![])
            .unwrap()
    };
    assert_eq!(
        b().entry(EntryKind::Kernel, "linux", vec![1])
            .err()
            .unwrap(),
        BuildError::Duplicate {
            kind: EntryKind::Kernel,
            name: "linux".into()
        }
    );
    // Same name, other kind: fine.
    assert!(b().entry(EntryKind::Initrd, "linux", vec![1]).is_ok());

    let long = "x".repeat(33);
    let err = b().entry(EntryKind::Module, &long, vec![]).err().unwrap();
    assert!(matches!(
        err,
        BuildError::BadName {
            reason: NameError::TooLong { len: 33 },
            ..
        }
    ));
    assert_eq!(
        err.to_string(),
        format!(
            "entry '{long}' (module): bad name: the name is 33 bytes long; at most 32 bytes fit"
        )
    );
    // 31 bytes plus a two-byte character is 33 bytes, though only 32 characters.
    let multibyte = format!("{}é", "x".repeat(31));
    assert!(b().entry(EntryKind::Module, &multibyte, vec![]).is_err());

    for (name, reason) in [
        ("", NameError::Empty),
        ("a\0b", NameError::ControlCharacter),
        ("tab\there", NameError::ControlCharacter),
        ("esc\x1b[2J", NameError::ControlCharacter),
    ] {
        let err = b().entry(EntryKind::Module, name, vec![]).err().unwrap();
        assert!(
            matches!(&err, BuildError::BadName { reason: r, .. } if *r == reason),
            "{name:?}: {err}"
        );
    }
}

/// Kinds print as the lowercase words the command line accepts.
#[test]
fn kind_names_round_trip() {
    for kind in EntryKind::ALL {
        assert_eq!(kind.to_string().parse::<EntryKind>().unwrap(), kind);
        assert_eq!(EntryKind::from_code(kind.code()), Some(kind));
    }
    assert_eq!(EntryKind::PartitionTable.to_string(), "partition-table");
    assert_eq!(format!("{:>8}", EntryKind::Core), "    core");
    assert!("Kernel".parse::<EntryKind>().is_err());
    assert_eq!(
        "vmlinuz".parse::<EntryKind>().unwrap_err().to_string(),
        "unknown entry kind; expected one of core, partition-table, kernel, initrd, module"
    );
    assert_eq!(EntryKind::from_code(0), None);
    assert_eq!(EntryKind::from_code(6), None);
}

/// Digests print as 64 lowercase hex digits; a precision shortens them.
#[test]
fn hex_digest_display() {
    let mut d = [0u8; 32];
    d[0] = 0x3f;
    d[1] = 0xa1;
    d[31] = 0x0e;
    let s = HexDigest(d).to_string();
    assert_eq!(s.len(), 64);
    assert!(s.starts_with("3fa10000"));
    assert!(s.ends_with("000e"));
    assert_eq!(format!("{:.6}", HexDigest(d)), "3fa100");
    assert_eq!(format!("{:.100}", HexDigest(d)), s);
}
