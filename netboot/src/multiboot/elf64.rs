//! Just enough ELF64 to lay out the loader: the file header and the PT_LOAD program
//! headers (System V gABI, "ELF Header" and "Program Header"; x86-64 psABI for the
//! machine number). Every read is bounds-checked: the input is whatever file the user
//! passed as `--loader`.

use std::ops::Range;
use std::vec::Vec;

use super::WrapError;
use crate::layout::LOADER_BASE;
use crate::reader::array;

/// `e_ident[EI_CLASS]` of a 64-bit object.
const ELFCLASS64: u8 = 2;
/// `e_ident[EI_DATA]` of a little-endian object.
const ELFDATA2LSB: u8 = 1;
/// `e_type` of an executable.
const ET_EXEC: u16 = 2;
/// `e_machine` of x86-64.
const EM_X86_64: u16 = 62;
/// `p_type` of a loadable segment.
const PT_LOAD: u32 = 1;
/// Size of the ELF64 file header.
const EHDR_LEN: usize = 64;
/// Size of one ELF64 program header.
const PHDR_LEN: usize = 56;
/// The loaded image must end at or below 4 GiB: the Multiboot header and the 32-bit
/// entry path address it with 32-bit fields.
const ADDRESS_LIMIT: u64 = 1 << 32;

/// One PT_LOAD segment with a non-zero memory size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Segment {
    /// Program header index, for messages.
    pub index: usize,
    /// Load address (identity-mapped, so also the physical address).
    pub vaddr: u64,
    /// Size in memory; the bytes past the file data are zero.
    pub memsz: u64,
    /// The file bytes, as a range of the ELF file.
    pub file: Range<usize>,
}

impl Segment {
    /// One past the last byte in memory (no overflow: checked at parse time).
    pub fn end(&self) -> u64 {
        self.vaddr.saturating_add(self.memsz)
    }
}

/// The loader ELF, checked: x86-64 executable, loadable segments that start at
/// [`LOADER_BASE`], do not overlap, end below 4 GiB, and contain the entry point.
#[derive(Debug)]
pub(crate) struct LoaderElf {
    /// Entry point (`e_entry`).
    pub entry: u64,
    /// Loadable segments, sorted by address.
    pub segments: Vec<Segment>,
}

impl LoaderElf {
    /// One past the last byte of the loader's memory image.
    pub fn end(&self) -> u64 {
        self.segments.iter().map(Segment::end).max().unwrap_or(0)
    }
}

fn u16_at(bytes: &[u8], offset: usize) -> Result<u16, WrapError> {
    array(bytes, offset)
        .map(u16::from_le_bytes)
        .ok_or(WrapError::LoaderTruncated { what: "ELF header" })
}

fn u64_at(bytes: &[u8], offset: usize, what: &'static str) -> Result<u64, WrapError> {
    array(bytes, offset)
        .map(u64::from_le_bytes)
        .ok_or(WrapError::LoaderTruncated { what })
}

/// Parses and checks the loader ELF.
pub(crate) fn parse(bytes: &[u8]) -> Result<LoaderElf, WrapError> {
    let ident: [u8; 16] = array(bytes, 0).ok_or(WrapError::NotElf)?;
    let [0x7f, b'E', b'L', b'F', class, data, ..] = ident else {
        return Err(WrapError::NotElf);
    };
    if class != ELFCLASS64 {
        return Err(WrapError::NotElf64 { class });
    }
    if data != ELFDATA2LSB {
        return Err(WrapError::NotLittleEndian);
    }
    if bytes.len() < EHDR_LEN {
        return Err(WrapError::LoaderTruncated { what: "ELF header" });
    }
    let e_type = u16_at(bytes, 16)?;
    if e_type != ET_EXEC {
        return Err(WrapError::NotExecutable { e_type });
    }
    let machine = u16_at(bytes, 18)?;
    if machine != EM_X86_64 {
        return Err(WrapError::WrongMachine { machine });
    }
    let entry = u64_at(bytes, 24, "ELF header")?;
    let phoff = u64_at(bytes, 32, "ELF header")?;
    let phentsize = u16_at(bytes, 54)?;
    let phnum = u16_at(bytes, 56)?;
    if phnum != 0 && usize::from(phentsize) != PHDR_LEN {
        return Err(WrapError::BadProgramHeaderSize { size: phentsize });
    }

    let table_len = usize::from(phnum).saturating_mul(PHDR_LEN);
    let table = usize::try_from(phoff)
        .ok()
        .and_then(|start| bytes.get(start..start.checked_add(table_len)?))
        .ok_or(WrapError::LoaderTruncated {
            what: "program header table",
        })?;

    let mut segments = Vec::new();
    for (index, phdr) in table.chunks_exact(PHDR_LEN).enumerate() {
        let what = "program header";
        let p_type = array(phdr, 0)
            .map(u32::from_le_bytes)
            .ok_or(WrapError::LoaderTruncated { what })?;
        if p_type != PT_LOAD {
            continue;
        }
        let offset = u64_at(phdr, 8, what)?;
        let vaddr = u64_at(phdr, 16, what)?;
        let paddr = u64_at(phdr, 24, what)?;
        let filesz = u64_at(phdr, 32, what)?;
        let memsz = u64_at(phdr, 40, what)?;
        if memsz == 0 {
            continue;
        }
        if filesz > memsz {
            return Err(WrapError::FileSizeExceedsMemSize {
                index,
                filesz,
                memsz,
            });
        }
        if paddr != vaddr {
            return Err(WrapError::PhysicalAddressMismatch {
                index,
                vaddr,
                paddr,
            });
        }
        let file = usize::try_from(offset)
            .ok()
            .zip(usize::try_from(filesz).ok())
            .and_then(|(start, len)| Some(start..start.checked_add(len)?))
            .filter(|range| range.end <= bytes.len())
            .ok_or(WrapError::SegmentPastEndOfFile {
                index,
                offset,
                filesz,
                file_len: bytes.len(),
            })?;
        if vaddr
            .checked_add(memsz)
            .is_none_or(|end| end > ADDRESS_LIMIT)
        {
            return Err(WrapError::SegmentAbove4GiB {
                index,
                vaddr,
                memsz,
            });
        }
        segments.push(Segment {
            index,
            vaddr,
            memsz,
            file,
        });
    }

    segments.sort_by_key(|s| s.vaddr);
    let lowest = segments.first().ok_or(WrapError::NoLoadSegments)?;
    if lowest.vaddr != u64::from(LOADER_BASE) {
        return Err(WrapError::WrongBase {
            lowest: lowest.vaddr,
            expected: LOADER_BASE,
        });
    }
    for pair in segments.windows(2) {
        if let [first, second] = pair
            && second.vaddr < first.end()
        {
            return Err(WrapError::OverlappingSegments {
                first: first.index,
                second: second.index,
            });
        }
    }
    if !segments.iter().any(|s| s.vaddr <= entry && entry < s.end()) {
        return Err(WrapError::EntryOutsideSegments { entry });
    }
    Ok(LoaderElf { entry, segments })
}
