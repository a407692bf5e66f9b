//! Constants and field offsets of the container format, shared by the reader and the
//! writer so the two cannot drift apart. The byte diagram is in the crate documentation
//! and in `docs/image-format.md`.

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
use core::str::FromStr;

/// The first eight bytes of every container.
pub const MAGIC: [u8; 8] = *b"BULKHEAD";

/// The format version this crate reads and writes. Any other version is refused: a
/// change of layout gets a new number rather than a best-effort reading.
pub const VERSION: u16 = 1;

/// Length in bytes of a version-1 header.
pub const HEADER_LEN: usize = 0x68;

/// Length in bytes of one entry-table record.
pub const ENTRY_LEN: usize = 0x58;

/// Length in bytes of the NUL-padded name field of an entry.
pub const NAME_LEN: usize = 32;

/// Every entry's data starts at a multiple of this many bytes from the container start,
/// so the loader can map or hand out payloads in place, page by page.
pub const ENTRY_ALIGN: u64 = 4096;

/// The most entries one container may hold. A deployment needs a handful per
/// partition; the bound keeps the reader's pairwise overlap check cheap and lets it
/// refuse an absurd count before touching the table.
pub const MAX_ENTRIES: u32 = 1024;

/// Byte offsets of the header fields (all little-endian).
pub(crate) mod header {
    /// `[u8; 8]`: [`super::MAGIC`].
    pub const MAGIC: usize = 0x00;
    /// `u16`: format version.
    pub const VERSION: usize = 0x08;
    /// `u16`: header length in bytes.
    pub const HEADER_LEN: usize = 0x0A;
    /// `u32`: number of entry-table records.
    pub const ENTRY_COUNT: usize = 0x0C;
    /// `u64`: length of the whole container in bytes.
    pub const TOTAL_LEN: usize = 0x10;
    /// `u64`: offset of the entry table from the container start.
    pub const TABLE_OFFSET: usize = 0x18;
    /// `u64`: length of the entry table in bytes.
    pub const TABLE_LEN: usize = 0x20;
    /// `[u8; 32]`: SHA-256 of the entry table.
    pub const TABLE_SHA256: usize = 0x28;
    /// `[u8; 32]`: SHA-256 of header bytes `0..HEADER_SHA256`.
    pub const HEADER_SHA256: usize = 0x48;
}

/// Byte offsets of the fields of one entry-table record (all little-endian).
pub(crate) mod entry {
    /// `u16`: [`super::EntryKind`] code.
    pub const KIND: usize = 0x00;
    /// `[u8; 6]`: reserved, zero.
    pub const RESERVED: usize = 0x02;
    /// `[u8; 32]`: NUL-padded UTF-8 name.
    pub const NAME: usize = 0x08;
    /// `u64`: offset of the data from the container start.
    pub const OFFSET: usize = 0x28;
    /// `u64`: length of the data in bytes.
    pub const LENGTH: usize = 0x30;
    /// `[u8; 32]`: SHA-256 of the data.
    pub const SHA256: usize = 0x38;
    /// Length of the reserved field.
    pub const RESERVED_LEN: usize = 6;
}

const _: () = assert!(header::HEADER_SHA256 + 32 == HEADER_LEN);
const _: () = assert!(header::TABLE_SHA256 + 32 == header::HEADER_SHA256);
const _: () = assert!(entry::RESERVED + entry::RESERVED_LEN == entry::NAME);
const _: () = assert!(entry::NAME + NAME_LEN == entry::OFFSET);
const _: () = assert!(entry::SHA256 + 32 == ENTRY_LEN);
// The table of a full container still fits the address arithmetic of a 32-bit loader.
const _: () = assert!((MAX_ENTRIES as usize) * ENTRY_LEN < u32::MAX as usize);

/// What an entry holds; stored as a `u16` code in the entry table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u16)]
pub enum EntryKind {
    /// The hypervisor core ELF, loaded by the loader stage.
    Core = 1,
    /// The static partition table the core starts partitions from.
    PartitionTable = 2,
    /// A guest kernel image.
    Kernel = 3,
    /// A guest initial ramdisk.
    Initrd = 4,
    /// Any other guest boot module.
    Module = 5,
}

impl EntryKind {
    /// Every kind, in code order.
    pub const ALL: [EntryKind; 5] = [
        EntryKind::Core,
        EntryKind::PartitionTable,
        EntryKind::Kernel,
        EntryKind::Initrd,
        EntryKind::Module,
    ];

    /// The kind stored under `code` in the entry table, if this version knows it.
    pub const fn from_code(code: u16) -> Option<EntryKind> {
        match code {
            1 => Some(EntryKind::Core),
            2 => Some(EntryKind::PartitionTable),
            3 => Some(EntryKind::Kernel),
            4 => Some(EntryKind::Initrd),
            5 => Some(EntryKind::Module),
            _ => None,
        }
    }

    /// The code stored in the entry table.
    pub const fn code(self) -> u16 {
        self as u16
    }

    /// The lowercase name used in messages and on the command line
    /// (`core`, `partition-table`, `kernel`, `initrd`, `module`).
    pub const fn name(self) -> &'static str {
        match self {
            EntryKind::Core => "core",
            EntryKind::PartitionTable => "partition-table",
            EntryKind::Kernel => "kernel",
            EntryKind::Initrd => "initrd",
            EntryKind::Module => "module",
        }
    }
}

impl fmt::Display for EntryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// A string that names no [`EntryKind`]; returned by `EntryKind::from_str`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnknownKindName;

impl fmt::Display for UnknownKindName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("unknown entry kind; expected one of ")?;
        for (i, kind) in EntryKind::ALL.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(kind.name())?;
        }
        Ok(())
    }
}

impl core::error::Error for UnknownKindName {}

impl FromStr for EntryKind {
    type Err = UnknownKindName;

    /// Parses the names [`EntryKind::name`] prints.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EntryKind::ALL
            .into_iter()
            .find(|kind| kind.name() == s)
            .ok_or(UnknownKindName)
    }
}

/// Why an entry name is not acceptable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameError {
    /// The name is empty.
    Empty,
    /// The name is longer than [`NAME_LEN`] bytes.
    TooLong {
        /// Length of the offered name in bytes.
        len: usize,
    },
    /// The name field is not valid UTF-8.
    NotUtf8,
    /// The name contains a control character (including NUL), which would garble the
    /// console messages that quote it.
    ControlCharacter,
    /// The name field has non-NUL bytes after the NUL that ends the name.
    DataAfterNul,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameError::Empty => f.write_str("the name is empty"),
            NameError::TooLong { len } => {
                write!(
                    f,
                    "the name is {len} bytes long; at most {NAME_LEN} bytes fit"
                )
            }
            NameError::NotUtf8 => f.write_str("the name is not valid UTF-8"),
            NameError::ControlCharacter => f.write_str("the name contains a control character"),
            NameError::DataAfterNul => {
                f.write_str("the name field has bytes other than NUL after the name")
            }
        }
    }
}

/// Checks a name as the writer stores it: 1 to [`NAME_LEN`] bytes of UTF-8 without
/// control characters.
pub fn check_name(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.len() > NAME_LEN {
        return Err(NameError::TooLong { len: name.len() });
    }
    if name.chars().any(char::is_control) {
        return Err(NameError::ControlCharacter);
    }
    Ok(())
}

/// Decodes a NUL-padded name field: the name is everything before the first NUL (or the
/// whole field), and everything after it must be NUL.
pub(crate) fn decode_name(field: &[u8]) -> Result<&str, NameError> {
    let len = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    let (name, padding) = field.split_at_checked(len).ok_or(NameError::NotUtf8)?;
    if padding.iter().any(|&b| b != 0) {
        return Err(NameError::DataAfterNul);
    }
    let name = core::str::from_utf8(name).map_err(|_| NameError::NotUtf8)?;
    check_name(name)?;
    Ok(name)
}
