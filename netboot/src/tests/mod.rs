//! Host tests of the container format and the Multiboot wrapper.

mod corruption;
mod fuzz;
mod roundtrip;
mod structure;
mod wrap;

use crate::format::{entry, header};
use crate::reader::sha256;
use crate::{ENTRY_LEN, EntryKind, HEADER_LEN, ImageBuilder};

/// A small container that exercises every kind, a name shared by two kinds, an entry
/// spanning several pages, a tiny one and an empty one.
pub(crate) fn sample() -> Vec<u8> {
    ImageBuilder::new()
        .entry(EntryKind::Core, "core", pattern(5000, 1))
        .unwrap()
        .entry(EntryKind::PartitionTable, "deploy", pattern(100, 2))
        .unwrap()
        .entry(EntryKind::Kernel, "linux", pattern(3000, 3))
        .unwrap()
        .entry(EntryKind::Initrd, "linux", Vec::new())
        .unwrap()
        .entry(EntryKind::Module, "rtos.bin", pattern(17, 4))
        .unwrap()
        .build()
}

/// `len` bytes that differ from entry to entry and from offset to offset.
pub(crate) fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

pub(crate) fn get_u64(bytes: &[u8], offset: usize) -> u64 {
    u64::from_le_bytes(bytes[offset..offset + 8].try_into().unwrap())
}

pub(crate) fn set_u16(bytes: &mut [u8], offset: usize, value: u16) {
    bytes[offset..offset + 2].copy_from_slice(&value.to_le_bytes());
}

pub(crate) fn set_u32(bytes: &mut [u8], offset: usize, value: u32) {
    bytes[offset..offset + 4].copy_from_slice(&value.to_le_bytes());
}

pub(crate) fn set_u64(bytes: &mut [u8], offset: usize, value: u64) {
    bytes[offset..offset + 8].copy_from_slice(&value.to_le_bytes());
}

/// Byte offset of field `field` of table record `index` in a container the writer
/// built (table right after the header).
pub(crate) fn record_field(index: usize, field: usize) -> usize {
    HEADER_LEN + index * ENTRY_LEN + field
}

/// Sets the offset and length of record `index`.
pub(crate) fn set_range(bytes: &mut [u8], index: usize, offset: u64, len: u64) {
    set_u64(bytes, record_field(index, entry::OFFSET), offset);
    set_u64(bytes, record_field(index, entry::LENGTH), len);
}

/// Recomputes the table digest and the header digest after a test has edited fields,
/// so that the structural checks behind the digests are what the test reaches. Uses
/// the table range the header declares, when it lies within `bytes`.
pub(crate) fn reseal(bytes: &mut [u8]) {
    let offset = get_u64(bytes, header::TABLE_OFFSET);
    let len = get_u64(bytes, header::TABLE_LEN);
    let table = usize::try_from(offset)
        .ok()
        .zip(usize::try_from(len).ok())
        .and_then(|(o, l)| bytes.get(o..o.checked_add(l)?));
    if let Some(table) = table {
        let digest = sha256(table);
        bytes[header::TABLE_SHA256..][..32].copy_from_slice(&digest);
    }
    let digest = sha256(&bytes[..header::HEADER_SHA256]);
    bytes[header::HEADER_SHA256..][..32].copy_from_slice(&digest);
}
