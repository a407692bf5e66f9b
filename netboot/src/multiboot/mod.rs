//! The bootable wrapper (feature `std`): turns the loader ELF64 and a container into
//! `bulkhead.img`, a Multiboot v1 kernel in an ELF32 file that QEMU `-kernel`, iPXE and
//! GRUB load. [`crate::layout`] has the file layout.
//!
//! The Multiboot header sets the address fields (flag bit 16, the "a.out kludge"), so
//! every one of those boot loaders copies the file flat to [`IMAGE_BASE`] and zero-fills
//! to `bss_end_addr` instead of interpreting the ELF program headers. That is why the
//! loader's bss is written out as zeros, and why a truncated file still boots far
//! enough for the loader to report the truncation. The single ELF32 PT_LOAD describes
//! the same flat mapping for tools that read the ELF.

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

mod elf64;

use std::ops::Range;
use std::vec;
use std::vec::Vec;

use crate::layout::{
    IMAGE_BASE, LOADER_BASE, MULTIBOOT_HEADER_OFFSET, PAGE_SIZE, PAYLOAD_LOCATOR_LEN,
    PAYLOAD_LOCATOR_MAGIC, PAYLOAD_LOCATOR_OFFSET, payload_address,
};
use crate::reader::array;

/// Multiboot v1 header magic (Multiboot Specification 0.6.96, 3.1.2).
pub const MULTIBOOT_MAGIC: u32 = 0x1BAD_B002;
/// Flag bit 0: align boot modules on 4 KiB boundaries.
pub const FLAG_PAGE_ALIGN: u32 = 1 << 0;
/// Flag bit 1: pass the memory map in the Multiboot information.
pub const FLAG_MEMORY_INFO: u32 = 1 << 1;
/// Flag bit 16: the header's address fields are valid; load the file flat by them.
pub const FLAG_ADDRESS_FIELDS: u32 = 1 << 16;
/// The flags `bulkhead.img` carries.
pub const MULTIBOOT_FLAGS: u32 = FLAG_PAGE_ALIGN | FLAG_MEMORY_INFO | FLAG_ADDRESS_FIELDS;

/// The largest loader memory image (text to end of bss) accepted. The bss travels as
/// explicit zeros in the file, so a huge bss would mean a huge download; the loader
/// is a small stage and a few hundred KiB is expected.
pub const MAX_LOADER_SIZE: u64 = 64 << 20;

/// Size of the ELF32 file header (gABI).
const ELF32_EHDR_LEN: u16 = 52;
/// Size of one ELF32 program header (gABI).
const ELF32_PHDR_LEN: u16 = 32;
/// Size of both together, as written at the start of the file.
const ELF32_HEADERS_LEN: usize = (ELF32_EHDR_LEN + ELF32_PHDR_LEN) as usize;
/// Size of the Multiboot v1 header with its address fields.
const MULTIBOOT_HEADER_LEN: usize = 32;
/// `e_machine` of i386.
const EM_386: u16 = 3;
/// PT_LOAD flags: read, write, execute.
const PF_RWX: u32 = 0b111;

const _: () = assert!(ELF32_HEADERS_LEN <= MULTIBOOT_HEADER_OFFSET as usize);
const _: () = assert!(
    MULTIBOOT_HEADER_OFFSET as usize + MULTIBOOT_HEADER_LEN <= PAYLOAD_LOCATOR_OFFSET as usize
);

/// Why a loader and container could not be wrapped into a bootable image.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WrapError {
    /// The loader file does not start with the ELF magic.
    #[error("loader is not an ELF file (no \\x7fELF magic)")]
    NotElf,
    /// The loader is not a 64-bit ELF.
    #[error("loader is not an ELF64 file (EI_CLASS {class}); build it for x86_64")]
    NotElf64 {
        /// `e_ident[EI_CLASS]` found.
        class: u8,
    },
    /// The loader is big-endian.
    #[error("loader is not a little-endian ELF; build it for x86_64")]
    NotLittleEndian,
    /// The loader is not an executable.
    #[error(
        "loader is not a statically linked executable (e_type {e_type}, expected 2 = ET_EXEC); \
         link it without -pie at the fixed loader address"
    )]
    NotExecutable {
        /// `e_type` found.
        e_type: u16,
    },
    /// The loader is for another machine.
    #[error("loader is built for ELF machine {machine}, not x86_64 (62)")]
    WrongMachine {
        /// `e_machine` found.
        machine: u16,
    },
    /// A header lies past the end of the loader file.
    #[error("loader file is truncated: its {what} extends past the end of the file")]
    LoaderTruncated {
        /// Which header.
        what: &'static str,
    },
    /// The program headers are not ELF64-sized.
    #[error("loader has program headers of {size} bytes, expected 56")]
    BadProgramHeaderSize {
        /// `e_phentsize` found.
        size: u16,
    },
    /// No PT_LOAD segment has a non-zero memory size.
    #[error("loader has no loadable segments")]
    NoLoadSegments,
    /// A segment has more file bytes than memory.
    #[error(
        "loader segment {index} is malformed: file size {filesz:#x} exceeds memory size \
         {memsz:#x}"
    )]
    FileSizeExceedsMemSize {
        /// Program header index.
        index: usize,
        /// `p_filesz`.
        filesz: u64,
        /// `p_memsz`.
        memsz: u64,
    },
    /// A segment's physical and virtual addresses differ.
    #[error(
        "loader segment {index} has p_vaddr {vaddr:#x} but p_paddr {paddr:#x}; the loader \
         runs identity-mapped, so they must be equal"
    )]
    PhysicalAddressMismatch {
        /// Program header index.
        index: usize,
        /// `p_vaddr`.
        vaddr: u64,
        /// `p_paddr`.
        paddr: u64,
    },
    /// A segment's file bytes lie past the end of the loader file.
    #[error(
        "loader segment {index}: {filesz:#x} file bytes at offset {offset:#x} extend past \
         the end of the {file_len}-byte loader file"
    )]
    SegmentPastEndOfFile {
        /// Program header index.
        index: usize,
        /// `p_offset`.
        offset: u64,
        /// `p_filesz`.
        filesz: u64,
        /// Length of the loader file.
        file_len: usize,
    },
    /// A segment extends past 4 GiB.
    #[error(
        "loader segment {index} ({memsz:#x} bytes at {vaddr:#x}) extends past 4 GiB; the \
         loader must be linked below 4 GiB"
    )]
    SegmentAbove4GiB {
        /// Program header index.
        index: usize,
        /// `p_vaddr`.
        vaddr: u64,
        /// `p_memsz`.
        memsz: u64,
    },
    /// The lowest segment is not at the loader's link address.
    #[error(
        "loader's lowest segment is at {lowest:#x}, expected {expected:#x}; link the \
         loader at bulkhead_netboot::layout::LOADER_BASE"
    )]
    WrongBase {
        /// Lowest `p_vaddr` found.
        lowest: u64,
        /// [`crate::layout::LOADER_BASE`].
        expected: u32,
    },
    /// Two segments overlap in memory.
    #[error("loader segments {first} and {second} overlap in memory")]
    OverlappingSegments {
        /// Program header index of the lower segment.
        first: usize,
        /// Program header index of the higher segment.
        second: usize,
    },
    /// The entry point lies in no segment.
    #[error("loader entry point {entry:#x} lies outside its loadable segments")]
    EntryOutsideSegments {
        /// `e_entry`.
        entry: u64,
    },
    /// The loader's memory image is larger than [`MAX_LOADER_SIZE`].
    #[error(
        "loader memory image is {size:#x} bytes (text to end of bss), more than the \
         {max:#x} accepted; its bss would be written out as zeros in the image"
    )]
    LoaderTooLarge {
        /// Size of the loader's memory image.
        size: u64,
        /// [`MAX_LOADER_SIZE`].
        max: u64,
    },
    /// Loader and container together do not fit below 4 GiB.
    #[error(
        "image too large: loader and container would end at {end:#x}, past the 4 GiB \
         that Multiboot can address"
    )]
    ImageTooLarge {
        /// The end address the image would need.
        end: u64,
    },
}

/// Builds `bulkhead.img` from the loader ELF64 and a container (see [`crate::layout`]
/// for the layout). The loader is checked: x86-64 `ET_EXEC`, lowest PT_LOAD at
/// [`crate::layout::LOADER_BASE`], segments disjoint and below 4 GiB, entry inside a
/// segment.
pub fn wrap(loader_elf: &[u8], container: &[u8]) -> Result<Vec<u8>, WrapError> {
    let loader = elf64::parse(loader_elf)?;
    let loader_size = loader.end().saturating_sub(LOADER_BASE.into());
    if loader_size > MAX_LOADER_SIZE {
        return Err(WrapError::LoaderTooLarge {
            size: loader_size,
            max: MAX_LOADER_SIZE,
        });
    }
    let container_len = u64::try_from(container.len()).unwrap_or(u64::MAX);
    let place = Placement::new(loader.end(), container_len)?;
    // The entry lies inside a segment, and every segment ends below 4 GiB.
    let entry = u32::try_from(loader.entry).map_err(|_| WrapError::EntryOutsideSegments {
        entry: loader.entry,
    })?;

    let mut out = Output(vec![0u8; place.file_len as usize]);
    out.put(0, &elf32_header(entry, place.file_len, place.memsz))?;
    out.put(
        MULTIBOOT_HEADER_OFFSET,
        &multiboot_header(entry, IMAGE_BASE.saturating_add(place.memsz)),
    )?;
    out.put(
        PAYLOAD_LOCATOR_OFFSET,
        &payload_locator(place.container_offset, place.container_len),
    )?;
    for segment in &loader.segments {
        // parse checked both ranges: the file bytes exist, the address is below 4 GiB
        // and at or above LOADER_BASE.
        let data = loader_elf.get(segment.file.clone()).unwrap_or_default();
        let offset = u32::try_from(segment.vaddr.saturating_sub(IMAGE_BASE.into()))
            .map_err(|_| place.too_large())?;
        out.put(offset, data)?;
    }
    out.put(place.container_offset, container)?;
    Ok(out.0)
}

/// Where the container goes and how large the file and its memory image are, as file
/// offsets and sizes relative to [`IMAGE_BASE`]; everything ends below 4 GiB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Placement {
    pub container_offset: u32,
    pub container_len: u32,
    /// File length: the container is last.
    pub file_len: u32,
    /// Memory size: the file rounded up to a page.
    pub memsz: u32,
}

impl Placement {
    pub(crate) fn new(loader_end: u64, container_len: u64) -> Result<Placement, WrapError> {
        let container_address = payload_address(loader_end);
        let container_end = container_address.checked_add(container_len);
        let too_large = || WrapError::ImageTooLarge {
            end: container_end.unwrap_or(u64::MAX),
        };
        // At most 0xffff_f000, so bss_end_addr = IMAGE_BASE + memsz fits 32 bits.
        let memory_end = container_end
            .and_then(|end| end.checked_next_multiple_of(PAGE_SIZE))
            .filter(|&end| end <= u64::from(u32::MAX))
            .ok_or_else(too_large)?;
        let offset = |address: u64| {
            u32::try_from(address.saturating_sub(IMAGE_BASE.into())).map_err(|_| too_large())
        };
        Ok(Placement {
            container_offset: offset(container_address)?,
            container_len: u32::try_from(container_len).map_err(|_| too_large())?,
            file_len: offset(container_end.unwrap_or(u64::MAX))?,
            memsz: offset(memory_end)?,
        })
    }

    fn too_large(&self) -> WrapError {
        WrapError::ImageTooLarge {
            end: u64::from(IMAGE_BASE).saturating_add(self.file_len.into()),
        }
    }
}

/// The image being written. Copies are bounds-checked and report an out-of-range copy
/// (which the placement rules out) as an error rather than a panic.
struct Output(Vec<u8>);

impl Output {
    fn put(&mut self, offset: u32, bytes: &[u8]) -> Result<(), WrapError> {
        let file_len = self.0.len();
        let start = offset as usize;
        start
            .checked_add(bytes.len())
            .and_then(|end| self.0.get_mut(start..end))
            .ok_or(WrapError::ImageTooLarge {
                end: u64::from(IMAGE_BASE).saturating_add(file_len as u64),
            })?
            .copy_from_slice(bytes);
        Ok(())
    }
}

/// The ELF32 file header and its one program header: a single RWX PT_LOAD mapping the
/// whole file at [`IMAGE_BASE`] with `memsz` bytes in memory.
fn elf32_header(entry: u32, filesz: u32, memsz: u32) -> [u8; ELF32_HEADERS_LEN] {
    let phoff = u32::from(ELF32_EHDR_LEN);
    let align = u32::try_from(PAGE_SIZE).unwrap_or(0);
    let mut h = [0u8; ELF32_HEADERS_LEN];
    let fields: [(usize, &[u8]); 17] = [
        // e_ident: magic, ELFCLASS32, ELFDATA2LSB, EV_CURRENT, System V ABI.
        (0, &[0x7f, b'E', b'L', b'F', 1, 1, 1, 0]),
        (16, &2u16.to_le_bytes()), // e_type = ET_EXEC
        (18, &EM_386.to_le_bytes()),
        (20, &1u32.to_le_bytes()), // e_version = EV_CURRENT
        (24, &entry.to_le_bytes()),
        (28, &phoff.to_le_bytes()),
        (40, &ELF32_EHDR_LEN.to_le_bytes()),
        (42, &ELF32_PHDR_LEN.to_le_bytes()),
        (44, &1u16.to_le_bytes()), // e_phnum; e_shoff, e_shnum stay 0: no sections
        // The program header.
        (52, &1u32.to_le_bytes()), // p_type = PT_LOAD (at e_phoff)
        (56, &0u32.to_le_bytes()), // p_offset
        (60, &IMAGE_BASE.to_le_bytes()),
        (64, &IMAGE_BASE.to_le_bytes()),
        (68, &filesz.to_le_bytes()),
        (72, &memsz.to_le_bytes()),
        (76, &PF_RWX.to_le_bytes()),
        (80, &align.to_le_bytes()),
    ];
    for (offset, bytes) in fields {
        if let Some(dst) = offset
            .checked_add(bytes.len())
            .and_then(|end| h.get_mut(offset..end))
        {
            dst.copy_from_slice(bytes);
        }
    }
    h
}

/// The Multiboot v1 header with the address fields: load the file flat from its start
/// at [`IMAGE_BASE`], zero to `bss_end`, enter at `entry`.
fn multiboot_header(entry: u32, bss_end: u32) -> [u8; MULTIBOOT_HEADER_LEN] {
    let checksum = 0u32
        .wrapping_sub(MULTIBOOT_MAGIC)
        .wrapping_sub(MULTIBOOT_FLAGS);
    let words = [
        MULTIBOOT_MAGIC,
        MULTIBOOT_FLAGS,
        checksum,
        IMAGE_BASE.saturating_add(MULTIBOOT_HEADER_OFFSET), // header_addr
        IMAGE_BASE,                                         // load_addr
        0,                                                  // load_end_addr: the whole file
        bss_end,
        entry,
    ];
    let mut h = [0u8; MULTIBOOT_HEADER_LEN];
    for (dst, word) in h.chunks_exact_mut(4).zip(words) {
        dst.copy_from_slice(&word.to_le_bytes());
    }
    h
}

fn payload_locator(offset: u32, len: u32) -> [u8; PAYLOAD_LOCATOR_LEN as usize] {
    let mut l = [0u8; PAYLOAD_LOCATOR_LEN as usize];
    let (magic, rest) = l.split_at_mut(PAYLOAD_LOCATOR_MAGIC.len());
    magic.copy_from_slice(&PAYLOAD_LOCATOR_MAGIC);
    for (dst, word) in rest.chunks_exact_mut(4).zip([offset, len]) {
        dst.copy_from_slice(&word.to_le_bytes());
    }
    l
}

/// Where the container lies in a file written by [`wrap`]: from the payload locator,
/// after checking the ELF32 and Multiboot magics. The range is cut at the end of
/// `image`, so a truncated file yields the bytes that are there (and
/// [`crate::Image::parse`] then reports the truncation). `None` if `image` is not a
/// wrapped image.
pub fn container_range(image: &[u8]) -> Option<Range<usize>> {
    let ident: [u8; 5] = array(image, 0)?;
    if ident != [0x7f, b'E', b'L', b'F', 1] {
        return None;
    }
    let mb_offset = usize::try_from(MULTIBOOT_HEADER_OFFSET).ok()?;
    let magic = array(image, mb_offset).map(u32::from_le_bytes)?;
    if magic != MULTIBOOT_MAGIC {
        return None;
    }
    let locator_offset = usize::try_from(PAYLOAD_LOCATOR_OFFSET).ok()?;
    let locator: [u8; PAYLOAD_LOCATOR_LEN as usize] = array(image, locator_offset)?;
    let (magic, rest) = locator.split_first_chunk::<8>()?;
    if *magic != PAYLOAD_LOCATOR_MAGIC {
        return None;
    }
    let offset = usize::try_from(u32::from_le_bytes(array(rest, 0)?)).ok()?;
    let len = usize::try_from(u32::from_le_bytes(array(rest, 4)?)).ok()?;
    if offset > image.len() {
        return None;
    }
    Some(offset..offset.checked_add(len)?.min(image.len()))
}
