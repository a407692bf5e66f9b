//! The part of ELF (System V gABI, "Object Files" and "Program Loading") that loading a
//! kernel by its program headers needs: the file header, `PT_LOAD` and `PT_NOTE`
//! program headers, and note entries. ELF32 and ELF64, little-endian only.

use alloc::vec::Vec;

use super::bytes::{slice, u8_at, u16_at, u32_at, u64_at};
use super::error::{BootError, Item};
use super::layout::PhysRange;
use super::place::Placer;
use crate::memory::GuestMemory;

/// `p_type` of a loadable segment.
pub(crate) const PT_LOAD: u32 = 1;
/// `p_type` of a note segment.
pub(crate) const PT_NOTE: u32 = 4;
/// `e_machine` for i386.
pub(crate) const EM_386: u16 = 3;
/// `e_machine` for x86-64.
pub(crate) const EM_X86_64: u16 = 62;
/// `e_type` of an executable.
const ET_EXEC: u16 = 2;
/// `e_phnum` escape meaning "the count is elsewhere".
const PN_XNUM: u16 = 0xFFFF;

/// ELF32 or ELF64.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Class {
    /// 32-bit.
    Elf32,
    /// 64-bit.
    Elf64,
}

/// A parsed ELF file header.
pub(crate) struct Elf<'a> {
    bytes: &'a [u8],
    /// 32- or 64-bit.
    pub(crate) class: Class,
    /// `e_machine`.
    pub(crate) machine: u16,
    /// `e_entry`.
    pub(crate) entry: u64,
    phoff: u64,
    phentsize: u64,
    phnum: u16,
}

/// One program header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ProgramHeader {
    /// Index in the program header table.
    pub(crate) index: u16,
    /// `p_type`.
    pub(crate) kind: u32,
    /// `p_offset`.
    pub(crate) offset: u64,
    /// `p_vaddr`.
    pub(crate) vaddr: u64,
    /// `p_paddr`.
    pub(crate) paddr: u64,
    /// `p_filesz`.
    pub(crate) filesz: u64,
    /// `p_memsz`.
    pub(crate) memsz: u64,
    /// `p_align`.
    pub(crate) align: u64,
}

impl<'a> Elf<'a> {
    /// Parses the file header and checks that the program header table lies in the file.
    pub(crate) fn parse(bytes: &'a [u8]) -> Result<Self, BootError> {
        if bytes.get(..4) != Some(b"\x7fELF".as_slice()) {
            return Err(BootError::NotRecognized(
                "the kernel is not an ELF file (no \\x7fELF magic at offset 0)",
            ));
        }
        let what = "the ELF file header";
        let class = match u8_at(bytes, 4, what)? {
            1 => Class::Elf32,
            2 => Class::Elf64,
            other => {
                return Err(BootError::Malformed {
                    detail: "the ELF class is neither 32-bit (1) nor 64-bit (2)",
                    value: other.into(),
                });
            }
        };
        let data = u8_at(bytes, 5, what)?;
        if data != 1 {
            return Err(BootError::Unsupported(
                "the ELF file is not little-endian: not an x86 kernel",
            ));
        }
        let kind = u16_at(bytes, 16, what)?;
        if kind != ET_EXEC {
            return Err(BootError::Malformed {
                detail: "the ELF file is not an executable (e_type must be ET_EXEC, 2)",
                value: kind.into(),
            });
        }
        let machine = u16_at(bytes, 18, what)?;
        let (entry, phoff, phentsize, phnum, min_phentsize) = match class {
            Class::Elf32 => (
                u64::from(u32_at(bytes, 24, what)?),
                u64::from(u32_at(bytes, 28, what)?),
                u16_at(bytes, 42, what)?,
                u16_at(bytes, 44, what)?,
                32,
            ),
            Class::Elf64 => (
                u64_at(bytes, 24, what)?,
                u64_at(bytes, 32, what)?,
                u16_at(bytes, 54, what)?,
                u16_at(bytes, 56, what)?,
                56,
            ),
        };
        if phentsize < min_phentsize {
            return Err(BootError::Malformed {
                detail: "the ELF program header entry size is smaller than a program header",
                value: phentsize.into(),
            });
        }
        if phnum == PN_XNUM {
            return Err(BootError::Unsupported(
                "the ELF file has 65535 or more program headers (PN_XNUM)",
            ));
        }
        let table_len = u64::from(phentsize).saturating_mul(u64::from(phnum));
        slice(bytes, phoff, table_len, "the ELF program header table")?;
        Ok(Self {
            bytes,
            class,
            machine,
            entry,
            phoff,
            phentsize: phentsize.into(),
            phnum,
        })
    }

    /// Program header `index`.
    fn program_header(&self, index: u16) -> Result<ProgramHeader, BootError> {
        let at = self
            .phentsize
            .checked_mul(index.into())
            .and_then(|o| o.checked_add(self.phoff))
            .ok_or(BootError::Malformed {
                detail: "the ELF program header table offset overflows",
                value: self.phoff,
            })?;
        let b = self.bytes;
        let what = "an ELF program header";
        let field = |off: u64| at.saturating_add(off);
        let ph = match self.class {
            Class::Elf32 => ProgramHeader {
                index,
                kind: u32_at(b, field(0), what)?,
                offset: u32_at(b, field(4), what)?.into(),
                vaddr: u32_at(b, field(8), what)?.into(),
                paddr: u32_at(b, field(12), what)?.into(),
                filesz: u32_at(b, field(16), what)?.into(),
                memsz: u32_at(b, field(20), what)?.into(),
                align: u32_at(b, field(28), what)?.into(),
            },
            Class::Elf64 => ProgramHeader {
                index,
                kind: u32_at(b, field(0), what)?,
                offset: u64_at(b, field(8), what)?,
                vaddr: u64_at(b, field(16), what)?,
                paddr: u64_at(b, field(24), what)?,
                filesz: u64_at(b, field(32), what)?,
                memsz: u64_at(b, field(40), what)?,
                align: u64_at(b, field(48), what)?,
            },
        };
        Ok(ph)
    }

    /// All program headers, in table order.
    pub(crate) fn program_headers(&self) -> Result<Vec<ProgramHeader>, BootError> {
        (0..self.phnum).map(|i| self.program_header(i)).collect()
    }

    /// The file bytes of segment `ph`.
    pub(crate) fn file_bytes(&self, ph: &ProgramHeader) -> Result<&'a [u8], BootError> {
        slice(self.bytes, ph.offset, ph.filesz, "").map_err(|_| BootError::TruncatedSegment {
            index: ph.index,
            needed: ph.offset.saturating_add(ph.filesz),
            len: self.bytes.len() as u64,
        })
    }
}

/// One ELF note.
pub(crate) struct Note<'a> {
    /// The owner name, with its NUL.
    pub(crate) name: &'a [u8],
    /// `n_type`.
    pub(crate) kind: u32,
    /// The descriptor.
    pub(crate) desc: &'a [u8],
}

/// The notes in a `PT_NOTE` segment's bytes. Name and descriptor are padded to 4 bytes,
/// or 8 when the segment says `p_align` = 8 (gABI "Note Section").
pub(crate) fn notes<'a>(segment: &'a [u8], align: u64) -> Result<Vec<Note<'a>>, BootError> {
    let pad = if align == 8 { 8 } else { 4 };
    let what = "an ELF note entry";
    let mut out = Vec::new();
    let mut at = 0u64;
    while at < segment.len() as u64 {
        let namesz = u64::from(u32_at(segment, at, what)?);
        let descsz = u64::from(u32_at(segment, at.saturating_add(4), what)?);
        let kind = u32_at(segment, at.saturating_add(8), what)?;
        let name_at = at.saturating_add(12);
        let name = slice(segment, name_at, namesz, what)?;
        let desc_at = super::place::align_up(name_at.saturating_add(namesz), pad).ok_or(
            BootError::Malformed {
                detail: "an ELF note's name size overflows",
                value: namesz,
            },
        )?;
        let desc = slice(segment, desc_at, descsz, what)?;
        out.push(Note { name, kind, desc });
        at = super::place::align_up(desc_at.saturating_add(descsz), pad).unwrap_or(u64::MAX);
    }
    Ok(out)
}

/// What loading an ELF file's segments produced.
pub(crate) struct Loaded {
    /// The physical ranges of the loaded segments.
    pub(crate) ranges: Vec<PhysRange>,
    /// One past the highest loaded byte.
    pub(crate) end: u64,
}

impl Loaded {
    /// `addr` lies in a loaded segment.
    pub(crate) fn contains(&self, addr: u64) -> bool {
        self.ranges.iter().any(|r| r.contains(addr))
    }
}

/// Loads every non-empty `PT_LOAD` segment at its physical address (`p_paddr`): the file
/// bytes, then zeros up to `p_memsz`. Every segment is checked and claimed before any
/// byte is written; segments must end at or below `limit`.
pub(crate) fn load_segments<M: GuestMemory + ?Sized>(
    elf: &Elf<'_>,
    headers: &[ProgramHeader],
    memory: &mut M,
    placer: &mut Placer<'_>,
    limit: u64,
) -> Result<Loaded, BootError> {
    let mut plan = Vec::new();
    for ph in headers
        .iter()
        .filter(|ph| ph.kind == PT_LOAD && ph.memsz > 0)
    {
        if ph.filesz > ph.memsz {
            return Err(BootError::BadSegment {
                index: ph.index,
                detail: "p_filesz is larger than p_memsz",
            });
        }
        let data = elf.file_bytes(ph)?;
        let item = Item::KernelSegment(ph.index);
        let range = PhysRange::from_len(ph.paddr, ph.memsz).ok_or(BootError::BadSegment {
            index: ph.index,
            detail: "p_paddr + p_memsz overflows",
        })?;
        if range.end() > limit {
            return Err(BootError::Unreachable { item, range, limit });
        }
        placer.claim(item, range)?;
        plan.push((range, data));
    }
    if plan.is_empty() {
        return Err(BootError::NotRecognized(
            "the ELF file has no loadable (PT_LOAD) segment",
        ));
    }
    for (range, data) in &plan {
        memory.write(range.start(), data)?;
        let bss = range.start().saturating_add(data.len() as u64);
        memory.zero(bss, range.end().saturating_sub(bss))?;
    }
    let end = plan.iter().map(|(r, _)| r.end()).max().unwrap_or(0);
    Ok(Loaded {
        ranges: plan.into_iter().map(|(r, _)| r).collect(),
        end,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::boot::test_support::{ElfBuilder, note};

    /// A well-formed ELF32 parses and its segment reads back; broken headers are refused
    /// with the structure named.
    #[test]
    fn parses_and_refuses() {
        let image = ElfBuilder::elf32(0x10_0000)
            .segment(0x10_0000, 0x10_0000, b"code", 0x10)
            .build();
        let elf = Elf::parse(&image).unwrap();
        assert_eq!(elf.class, Class::Elf32);
        assert_eq!(elf.machine, EM_386);
        let phs = elf.program_headers().unwrap();
        assert_eq!(phs.len(), 1);
        assert_eq!(phs[0].paddr, 0x10_0000);
        assert_eq!(elf.file_bytes(&phs[0]).unwrap(), b"code");

        assert!(matches!(
            Elf::parse(b"MZ\0\0"),
            Err(BootError::NotRecognized(_))
        ));
        assert!(matches!(
            Elf::parse(&image[..30]),
            Err(BootError::Truncated { .. })
        ));
        let mut bad = image.clone();
        bad[5] = 2;
        assert!(matches!(Elf::parse(&bad), Err(BootError::Unsupported(_))));
        let mut bad = image.clone();
        bad[42] = 8;
        assert!(matches!(Elf::parse(&bad), Err(BootError::Malformed { .. })));
        let mut bad = image.clone();
        bad[28..32].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
        assert!(matches!(
            Elf::parse(&bad),
            Err(BootError::Truncated {
                what: "the ELF program header table",
                ..
            })
        ));
    }

    /// Notes are walked with 4-byte padding; a note running past its segment is refused.
    #[test]
    fn note_walk() {
        let mut seg = note(b"GNU\0", 3, &[1, 2, 3, 4, 5]);
        seg.extend(note(b"Xen\0", 18, &0x1234u32.to_le_bytes()));
        let ns = notes(&seg, 4).unwrap();
        assert_eq!(ns.len(), 2);
        assert_eq!((ns[1].name, ns[1].kind), (&b"Xen\0"[..], 18));
        assert_eq!(ns[1].desc, 0x1234u32.to_le_bytes());
        assert!(notes(&seg[..seg.len() - 2], 4).is_err());
        let mut huge = note(b"Xen\0", 18, &[0; 4]);
        huge[0..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(notes(&huge, 4).is_err());
    }
}
