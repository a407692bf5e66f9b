//! PVH: the Xen direct boot ABI that Linux `vmlinux`, FreeBSD and many unikernels
//! support (Xen `docs/misc/pvh.pandoc`; `xen/include/public/arch-x86/hvm/start_info.h`;
//! `xen/include/public/elfnote.h`).
//!
//! # Loading
//!
//! The kernel is an ELF file, 32-bit (EM_386) or 64-bit (EM_X86_64), little-endian.
//! Its entry point is the descriptor of the note `XEN_ELFNOTE_PHYS32_ENTRY` (type 18,
//! owner `"Xen"`) found in a `PT_NOTE` segment: 4 bytes, or 8 (Linux emits it with
//! `_ASM_PTR`, a quadword on 64-bit builds) whose value must fit 32 bits. Without the
//! note the kernel was not built for PVH and is refused; `e_entry` is not used. Each
//! `PT_LOAD` segment is copied to its physical address `p_paddr` and zero-filled to
//! `p_memsz`, in usable RAM below 4 GiB (the entry runs with paging off); the entry must
//! lie in a loaded segment.
//!
//! # Modules
//!
//! The initrd, when given, is module 0 (the convention Linux follows: it takes the first
//! module as its initrd), then the configured modules in order. Each goes to the lowest
//! 4 KiB-aligned free RAM at or above the end of the kernel, below 4 GiB (Xen places all
//! start-of-day data below 4 GiB too).
//!
//! # Start info, in the boot area in this order
//!
//! 1. the GDT ([`crate::state::boot_selectors`]);
//! 2. `hvm_start_info`, 56 bytes, 16-aligned: magic 0x336EC578, version 1, flags 0,
//!    `nr_modules`, `modlist_paddr` (0 without modules), `cmdline_paddr` (0 for an empty
//!    command line), `rsdp_paddr` (the layout's RSDP, or 0), `memmap_paddr`,
//!    `memmap_entries`;
//! 3. the memory map, 24 bytes an entry (`addr`, `size`, `type`, 0):
//!    [`MemoryLayout::memory_map`] with E820 types;
//! 4. the module list, 32 bytes an entry (`paddr`, `size`, `cmdline_paddr`, 0);
//! 5. the command line, then each non-empty module command line.
//!
//! # Entry state (pvh.pandoc, "Entry point")
//!
//! EBX = `hvm_start_info`; 32-bit flat protected mode with paging off
//! ([`GuestState::flat_protected_mode`]): CS a 32-bit execute/read segment and DS, ES, SS
//! read/write segments, base 0 and limit 0xFFFFFFFF; TR a busy 32-bit TSS with base 0
//! and limit 0x67; CR0 = PE | ET (every other writable bit clear), CR4 = 0; EFLAGS = 2
//! (VM, IF and TF clear). Stack, GDT and IDT are the kernel's to set up.

pub mod start_info;

use alloc::vec::Vec;

use self::start_info::PlacedModule;
use super::elf::{self, Class, EM_386, EM_X86_64, Elf, PT_NOTE};
use super::error::{BootError, Item};
use super::layout::{MemoryLayout, PhysRange};
use super::place::{BootArea, FOUR_GIB, PAGE, Placer, align_up};
use super::{BootImages, Prepared, gdt};
use crate::memory::GuestMemory;
use crate::state::GuestState;

pub use self::start_info::START_MAGIC;

/// `XEN_ELFNOTE_PHYS32_ENTRY`: the note holding the 32-bit physical entry point.
pub const XEN_ELFNOTE_PHYS32_ENTRY: u32 = 18;

/// The PVH entry point from the kernel's notes.
fn find_entry(elf: &Elf<'_>, headers: &[elf::ProgramHeader]) -> Result<u32, BootError> {
    for ph in headers.iter().filter(|ph| ph.kind == PT_NOTE) {
        let bytes = elf.file_bytes(ph)?;
        for note in elf::notes(bytes, ph.align)? {
            if note.kind != XEN_ELFNOTE_PHYS32_ENTRY || note.name != b"Xen\0" {
                continue;
            }
            let entry = match note.desc.len() {
                4 => super::bytes::u32_at(note.desc, 0, "the PVH entry note")?.into(),
                8 => super::bytes::u64_at(note.desc, 0, "the PVH entry note")?,
                other => {
                    return Err(BootError::Malformed {
                        detail: "the PVH entry note's descriptor is neither 4 nor 8 bytes",
                        value: other as u64,
                    });
                }
            };
            return u32::try_from(entry).map_err(|_| BootError::Malformed {
                detail: "the PVH entry point lies above 4 GiB, out of reach of a 32-bit entry",
                value: entry,
            });
        }
    }
    Err(BootError::NotRecognized(
        "the ELF file has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY, type 18, owner \"Xen\"): \
         the kernel was built without PVH support",
    ))
}

/// Loads a PVH kernel, its initrd and modules, builds `hvm_start_info`, and returns the
/// entry state.
pub fn prepare<M: GuestMemory + ?Sized>(
    memory: &mut M,
    images: &BootImages<'_>,
    layout: &MemoryLayout,
) -> Result<Prepared, BootError> {
    let elf = Elf::parse(images.kernel)?;
    let machine_ok = match elf.class {
        Class::Elf32 => elf.machine == EM_386,
        Class::Elf64 => elf.machine == EM_X86_64,
    };
    if !machine_ok {
        return Err(BootError::Malformed {
            detail: "the ELF file is not for x86 (e_machine must be EM_386 or EM_X86_64)",
            value: elf.machine.into(),
        });
    }
    let headers = elf.program_headers()?;
    let entry = find_entry(&elf, &headers)?;

    let mut placer = Placer::new(layout, memory.size(), true)?;
    let mut area = BootArea::claim(&mut placer, FOUR_GIB)?;
    let loaded = elf::load_segments(&elf, &headers, memory, &mut placer, FOUR_GIB)?;
    if !loaded.contains(entry.into()) {
        return Err(BootError::EntryOutsideImage {
            entry: entry.into(),
        });
    }

    let initrd = images.initrd.map(|image| (Item::Initrd, image, ""));
    let configured = images
        .modules
        .iter()
        .enumerate()
        .map(|(i, m)| (Item::Module(i), m.image, m.cmdline));
    let from = align_up(loaded.end, PAGE).unwrap_or(u64::MAX);
    let mut modules = Vec::with_capacity(images.modules.len().saturating_add(1));
    for (item, image, cmdline) in initrd.into_iter().chain(configured) {
        let size = image.len() as u64;
        let at = placer
            .find_lowest(from, size, PAGE, FOUR_GIB)
            .ok_or(BootError::NoRoom {
                item,
                size,
                limit: FOUR_GIB,
            })?;
        let range = PhysRange::new(at, at.saturating_add(size));
        placer.claim(item, range)?;
        memory.write(at, image)?;
        modules.push(PlacedModule {
            item,
            range,
            cmdline,
        });
    }

    let mut state = GuestState::flat_protected_mode(entry, Default::default());
    gdt::write(memory, &mut placer, &mut area, &mut state)?;
    let info = start_info::write(
        memory,
        &mut placer,
        &mut area,
        layout,
        images.cmdline,
        &modules,
    )?;
    state.gprs.rbx = info;
    Ok(Prepared {
        state,
        placements: placer.into_placements(),
    })
}

#[cfg(test)]
mod tests;
