//! The Bulkhead deployment image format.
//!
//! A deployment travels as one *container*: a header, an entry table, and the payloads
//! (the hypervisor core, the partition table, guest kernels, initrds and modules), each
//! protected by a SHA-256 digest. The container rides inside `bulkhead.img`, a
//! Multiboot v1 kernel whose layout [`layout`] describes and [`multiboot::wrap`]
//! writes.
//!
//! The reader ([`Image`]) needs neither `std` nor an allocator, never panics, and uses
//! checked arithmetic throughout: it runs in the loader, before any heap exists, on
//! bytes that came over the network. The writer ([`ImageBuilder`]) and the Multiboot
//! wrapper need feature `std`.
//!
//! # Container layout (format version 1)
//!
//! All integers are little-endian; offsets are from the container start.
//!
//! ```text
//! header, 0x68 bytes
//! 0x00  [u8; 8]   magic "BULKHEAD"
//! 0x08  u16       format version = 1 (any other is refused)
//! 0x0A  u16       header length = 0x68
//! 0x0C  u32       entry count (at most MAX_ENTRIES = 1024)
//! 0x10  u64       total container length
//! 0x18  u64       entry table offset (the writer puts it at 0x68)
//! 0x20  u64       entry table length = entry count * 0x58
//! 0x28  [u8; 32]  SHA-256 of the entry table
//! 0x48  [u8; 32]  SHA-256 of header bytes 0x00..0x48
//!
//! entry table record, 0x58 bytes each
//! 0x00  u16       kind: 1 core, 2 partition-table, 3 kernel, 4 initrd, 5 module
//! 0x02  [u8; 6]   reserved, zero
//! 0x08  [u8; 32]  name: UTF-8, 1..=32 bytes, NUL-padded, no control characters,
//!                 unique within its kind
//! 0x28  u64       data offset (a multiple of 4096)
//! 0x30  u64       data length
//! 0x38  [u8; 32]  SHA-256 of the data
//!
//! data: each entry at its offset; the writer packs them in table order, each at the
//! next 4096 boundary after the previous one (zero padding between), and the container
//! ends where the last entry's data ends.
//! ```
//!
//! The checks chain: the header digest covers the table digest, which covers every
//! entry's digest. [`Image::parse`] checks the header and table digests and every
//! entry's bounds (inside the container, clear of header and table, pairwise
//! disjoint); [`Image::verify_all`] hashes the data. Padding between entries is
//! covered by no digest and never read.
#![cfg_attr(not(any(test, feature = "std")), no_std)]
#![forbid(unsafe_code)]

mod error;
mod format;
pub mod layout;
#[cfg(any(test, feature = "std"))]
pub mod multiboot;
mod reader;
#[cfg(any(test, feature = "std"))]
mod writer;

#[cfg(test)]
mod tests;

pub use error::{EntryName, EscapedBytes, HexDigest, ImageError};
pub use format::{
    ENTRY_ALIGN, ENTRY_LEN, EntryKind, HEADER_LEN, MAGIC, MAX_ENTRIES, NAME_LEN, NameError,
    UnknownKindName, VERSION, check_name,
};
pub use reader::{Entries, Entry, Image};
#[cfg(any(test, feature = "std"))]
pub use writer::{BuildError, ImageBuilder};

pub mod handoff;
pub mod mbinfo;
