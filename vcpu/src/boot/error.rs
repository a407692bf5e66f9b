//! Why a guest could not be prepared, in words a user can act on.

use core::fmt;

use super::layout::{MemoryType, PhysRange};
use crate::memory::MemoryError;

/// Something a boot builder places in guest memory, named in placements and errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Item {
    /// A kernel loaded as one flat piece: a real-mode image, a Multiboot a.out-kludge
    /// image, the protected-mode part of a bzImage with the room it decompresses into.
    Kernel,
    /// An ELF `PT_LOAD` segment, by program header index.
    KernelSegment(u16),
    /// A boot module, by position in the configuration.
    Module(usize),
    /// The initial ramdisk.
    Initrd,
    /// The boot structure area as a whole.
    BootArea,
    /// The GDT the protected-mode protocols load.
    Gdt,
    /// The identity-mapping page tables of the Linux 64-bit entry.
    PageTables,
    /// Linux `boot_params`, the zero page.
    BootParams,
    /// The Multiboot information structure.
    MultibootInfo,
    /// PVH `hvm_start_info`.
    StartInfo,
    /// The memory map handed to the guest.
    MemoryMap,
    /// The module list (Multiboot `mods`, PVH `modlist`).
    ModuleList,
    /// The kernel command line.
    CommandLine,
    /// A module's command line, by module position.
    ModuleCommandLine(usize),
    /// The Multiboot boot loader name.
    LoaderName,
    /// A reserved region of the layout.
    Reserved(MemoryType),
    /// The legacy VGA/BIOS hole, 640 KiB to 1 MiB.
    LegacyHole,
}

impl fmt::Display for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Item::Kernel => f.write_str("the kernel image"),
            Item::KernelSegment(n) => {
                write!(f, "the kernel's loadable segment (program header {n})")
            }
            Item::Module(n) => write!(f, "boot module {n}"),
            Item::Initrd => f.write_str("the initrd"),
            Item::BootArea => f.write_str("the boot structure area"),
            Item::Gdt => f.write_str("the boot GDT"),
            Item::PageTables => f.write_str("the boot page tables"),
            Item::BootParams => f.write_str("boot_params (the zero page)"),
            Item::MultibootInfo => f.write_str("the Multiboot information structure"),
            Item::StartInfo => f.write_str("hvm_start_info"),
            Item::MemoryMap => f.write_str("the memory map"),
            Item::ModuleList => f.write_str("the module list"),
            Item::CommandLine => f.write_str("the kernel command line"),
            Item::ModuleCommandLine(n) => write!(f, "the command line of boot module {n}"),
            Item::LoaderName => f.write_str("the boot loader name"),
            Item::Reserved(kind) => write!(f, "the reserved region ({})", kind.name()),
            Item::LegacyHole => f.write_str("the legacy VGA/BIOS hole (640 KiB to 1 MiB)"),
        }
    }
}

/// Why a guest could not be prepared.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BootError {
    /// The image ends before a structure it declares.
    #[error(
        "the image is truncated: {what} needs bytes up to offset {needed:#x}, but the file has {len:#x}"
    )]
    Truncated {
        /// The structure.
        what: &'static str,
        /// One past the last byte it needs.
        needed: u64,
        /// The file's length.
        len: u64,
    },
    /// An ELF segment's file contents run past the end of the file.
    #[error(
        "the image is truncated: program header {index} needs file bytes up to {needed:#x}, but the file has {len:#x}"
    )]
    TruncatedSegment {
        /// Program header index.
        index: u16,
        /// One past the last byte it needs.
        needed: u64,
        /// The file's length.
        len: u64,
    },
    /// The image is not in the format the protocol loads.
    #[error("{0}")]
    NotRecognized(&'static str),
    /// A Multiboot header whose checksum does not add up.
    #[error(
        "the Multiboot header at offset {offset:#x} has a bad checksum (magic + flags + checksum = {sum:#x}, not 0)"
    )]
    BadChecksum {
        /// Offset of the header in the file.
        offset: u64,
        /// The sum found.
        sum: u32,
    },
    /// A Multiboot header that requires something Bulkhead does not provide.
    #[error(
        "the Multiboot header requires features Bulkhead does not provide: flags {flags:#x} (bit 2 asks for a video mode)"
    )]
    UnsupportedFlags {
        /// The unmet requirement bits.
        flags: u32,
    },
    /// A field with a value that makes no sense.
    #[error("{detail} ({value:#x})")]
    Malformed {
        /// What is wrong.
        detail: &'static str,
        /// The value found.
        value: u64,
    },
    /// An ELF program header that makes no sense.
    #[error("program header {index}: {detail}")]
    BadSegment {
        /// Program header index.
        index: u16,
        /// What is wrong.
        detail: &'static str,
    },
    /// A well-formed image of a kind the protocol does not load.
    #[error("{0}")]
    Unsupported(&'static str),
    /// A bzImage older than the 64-bit entry.
    #[error(
        "the bzImage speaks boot protocol {}.{}, but the 64-bit entry needs 2.12 or newer",
        .found >> 8,
        .found & 0xFF
    )]
    ProtocolTooOld {
        /// The version found, e.g. 0x020A.
        found: u16,
    },
    /// Something that must go in RAM would not.
    #[error("{item} at {range} lies outside the partition's RAM")]
    OutsideRam {
        /// What.
        item: Item,
        /// Where it would go.
        range: PhysRange,
    },
    /// Something would go above what the entry state can reach.
    #[error("{item} at {range} lies above {limit:#x}, out of reach of the kernel's entry")]
    Unreachable {
        /// What.
        item: Item,
        /// Where it would go.
        range: PhysRange,
        /// The limit.
        limit: u64,
    },
    /// Two placements collide.
    #[error("{item} at {range} overlaps {other} at {other_range}")]
    Overlap {
        /// What was being placed.
        item: Item,
        /// Where.
        range: PhysRange,
        /// What is already there.
        other: Item,
        /// Where that is.
        other_range: PhysRange,
    },
    /// No free RAM for something the builder places itself.
    #[error("no room for {item} ({size:#x} bytes) in the partition's free RAM below {limit:#x}")]
    NoRoom {
        /// What.
        item: Item,
        /// Its size.
        size: u64,
        /// The highest address it may reach.
        limit: u64,
    },
    /// The boot structure area is full.
    #[error("the boot structure area {area} has no room left for {item} ({size:#x} bytes)")]
    BootAreaFull {
        /// What.
        item: Item,
        /// Its size.
        size: u64,
        /// The area.
        area: PhysRange,
    },
    /// The entry point is not in the loaded image.
    #[error("the entry point {entry:#x} is outside the loaded kernel")]
    EntryOutsideImage {
        /// The entry point.
        entry: u64,
    },
    /// The command line is longer than the kernel takes.
    #[error("the command line is {len} bytes; the kernel accepts at most {max}")]
    CommandLineTooLong {
        /// Its length.
        len: usize,
        /// The kernel's limit.
        max: u64,
    },
    /// A string handed to the guest has a NUL inside, which would cut it short.
    #[error("{item} contains a NUL byte, which would cut it short")]
    EmbeddedNul {
        /// Which string.
        item: Item,
    },
    /// The memory map does not fit the protocol's table.
    #[error("the memory map has {count} entries; {protocol} carries at most {max}")]
    TooManyMapEntries {
        /// Entries needed.
        count: usize,
        /// The table's capacity.
        max: usize,
        /// The protocol.
        protocol: &'static str,
    },
    /// An input the protocol has no place for.
    #[error("the {protocol} protocol takes no {what}")]
    UnexpectedInput {
        /// The protocol.
        protocol: &'static str,
        /// The input.
        what: &'static str,
    },
    /// The memory layout itself is unusable.
    #[error("invalid memory layout: {detail} ({range})")]
    Layout {
        /// What is wrong.
        detail: &'static str,
        /// The range concerned.
        range: PhysRange,
    },
    /// Guest memory refused a write the layout allows: layout and memory disagree.
    #[error(transparent)]
    Memory(#[from] MemoryError),
}
