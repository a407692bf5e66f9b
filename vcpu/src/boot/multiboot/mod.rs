//! Multiboot (v1), following the Multiboot Specification version 0.6.96.
//!
//! # Loading (3.1)
//!
//! The kernel must carry a Multiboot header ([`header::find`]): magic 0x1BADB002 at a
//! 4-byte aligned offset in its first 8 KiB, with a checksum that makes magic + flags +
//! checksum zero, and no requirement (flag bits 0..=15) Bulkhead cannot meet; bit 2, a
//! video mode, is refused. Then, as the spec orders:
//!
//! - flag 16 set (the "a.out kludge", 3.1.3): the file from offset `header offset -
//!   (header_addr - load_addr)` is copied to `load_addr` up to `load_end_addr` (0: to the
//!   end of the file), and zeros up to `bss_end_addr` (0: none). The entry is
//!   `entry_addr`, which must lie in the loaded bytes.
//! - otherwise the kernel must be an ELF32 i386 executable. Each `PT_LOAD` segment is
//!   copied to its physical address `p_paddr`, zero-filled up to `p_memsz`. The entry
//!   is `e_entry`, translated from virtual to physical through the segment whose
//!   `p_vaddr` range holds it (as GRUB does for kernels linked high), and must lie in a
//!   loaded segment. A 64-bit ELF file is refused: the spec describes a 32-bit image and
//!   its 32-bit entry state, and QEMU refuses the same; such a kernel sets flag 16 or
//!   boots by PVH.
//!
//! Everything loaded must lie in usable RAM below 4 GiB: not in the legacy hole, not on a
//! reserved region, not on the boot structure area.
//!
//! # Modules
//!
//! Each module is copied to the lowest 4 KiB-aligned free RAM at or above the end of the
//! kernel (after its bss), in configuration order, below 4 GiB.
//!
//! # Information structure (3.3), in the boot area in this order
//!
//! 1. the GDT ([`crate::state::boot_selectors`]);
//! 2. the information structure, 116 bytes, 16-aligned: `flags` = mem | cmdline | mods |
//!    mmap | boot_loader_name (0x24D); `mem_lower` = KiB of usable RAM from 0 (at most
//!    640), `mem_upper` = KiB of usable RAM from 1 MiB to the first hole; everything
//!    else zero;
//! 3. the memory map, 24 bytes an entry (`size` = 20, `base_addr`, `length`, `type`):
//!    [`MemoryLayout::memory_map`] — usable RAM as type 1, reserved regions with their
//!    E820 types (3 ACPI, 4 NVS, 2 reserved);
//! 4. the module list, 16 bytes an entry (`mod_start`, `mod_end` one past the last byte,
//!    `string`, 0), when there are modules (`mods_addr` is 0 otherwise);
//! 5. the strings: boot loader name `"Bulkhead"`, the kernel command line (always
//!    present, possibly empty), each module's command line.
//!
//! # Entry state (3.2)
//!
//! EAX = 0x2BADB002, EBX = the information structure; 32-bit flat protected mode
//! ([`GuestState::flat_protected_mode`]): CS execute/read and DS, ES, FS, GS, SS
//! read/write, base 0, limit 0xFFFFFFFF; CR0.PE = 1, CR0.PG = 0; EFLAGS = 2 (VM and IF
//! clear); ESP, IDTR undefined (0); GDTR valid though the spec does not promise it.
//! A20 is always enabled in a partition.

pub mod header;
pub mod info;

use alloc::vec::Vec;

use self::header::{AddressFields, Header};
use self::info::PlacedModule;
use super::elf::{self, Class, EM_386, Elf};
use super::error::{BootError, Item};
use super::layout::{MemoryLayout, PhysRange};
use super::place::{BootArea, FOUR_GIB, PAGE, Placer, align_up};
use super::{BootImages, Prepared, gdt};
use crate::memory::GuestMemory;
use crate::state::GuestState;

pub use self::info::BOOTLOADER_MAGIC;

/// The loaded kernel: where it ends and where it starts.
struct Kernel {
    end: u64,
    entry: u32,
}

/// Loads a Multiboot kernel and its modules, builds the information structure, and
/// returns the entry state.
pub fn prepare<M: GuestMemory + ?Sized>(
    memory: &mut M,
    images: &BootImages<'_>,
    layout: &MemoryLayout,
) -> Result<Prepared, BootError> {
    if images.initrd.is_some() {
        return Err(BootError::UnexpectedInput {
            protocol: "multiboot",
            what: "initrd (pass it as a boot module)",
        });
    }
    let image = images.kernel;
    let header = header::find(image)?;
    let mut placer = Placer::new(layout, memory.size(), true)?;
    let mut area = BootArea::claim(&mut placer, FOUR_GIB)?;

    let kernel = match header.addresses {
        Some(addresses) => load_address_fields(image, &header, &addresses, memory, &mut placer)?,
        None => load_elf(image, memory, &mut placer)?,
    };

    let mut modules = Vec::with_capacity(images.modules.len());
    let from = align_up(kernel.end, PAGE).unwrap_or(u64::MAX);
    // `mod_end` is 32 bits and exclusive: a module may end at 0xFFFF_FFFF, not at 4 GiB.
    let limit = u64::from(u32::MAX);
    for (i, module) in images.modules.iter().enumerate() {
        let size = module.image.len() as u64;
        let item = Item::Module(i);
        let at = placer
            .find_lowest(from, size, PAGE, limit)
            .ok_or(BootError::NoRoom { item, size, limit })?;
        let range = PhysRange::new(at, at.saturating_add(size));
        placer.claim(item, range)?;
        memory.write(at, module.image)?;
        modules.push(PlacedModule {
            range,
            cmdline: module.cmdline,
        });
    }

    let mut state = GuestState::flat_protected_mode(kernel.entry, Default::default());
    gdt::write(memory, &mut placer, &mut area, &mut state)?;
    let info = info::write(
        memory,
        &mut placer,
        &mut area,
        layout,
        images.cmdline,
        &modules,
    )?;
    state.gprs.rax = BOOTLOADER_MAGIC.into();
    state.gprs.rbx = info.into();
    Ok(Prepared {
        state,
        placements: placer.into_placements(),
    })
}

/// Loads by the header's address fields (3.1.3).
fn load_address_fields<M: GuestMemory + ?Sized>(
    image: &[u8],
    header: &Header,
    a: &AddressFields,
    memory: &mut M,
    placer: &mut Placer<'_>,
) -> Result<Kernel, BootError> {
    let header_addr = u64::from(a.header_addr);
    let load_addr = u64::from(a.load_addr);
    let delta = header_addr
        .checked_sub(load_addr)
        .ok_or(BootError::Malformed {
            detail: "the Multiboot header's load_addr lies above its header_addr",
            value: load_addr,
        })?;
    let file_offset = header
        .offset
        .checked_sub(delta)
        .ok_or(BootError::Malformed {
            detail: "header_addr - load_addr reaches before the start of the file",
            value: delta,
        })?;
    let file_len = image.len() as u64;
    let load_end = if a.load_end_addr == 0 {
        load_addr.saturating_add(file_len.saturating_sub(file_offset))
    } else {
        u64::from(a.load_end_addr)
    };
    let load_len = load_end
        .checked_sub(load_addr)
        .ok_or(BootError::Malformed {
            detail: "the Multiboot header's load_end_addr lies below its load_addr",
            value: load_end,
        })?;
    let data = super::bytes::slice(
        image,
        file_offset,
        load_len,
        "the image the Multiboot address fields describe (load_addr..load_end_addr)",
    )?;
    let bss_end = if a.bss_end_addr == 0 {
        load_end
    } else {
        u64::from(a.bss_end_addr)
    };
    if bss_end < load_end {
        return Err(BootError::Malformed {
            detail: "the Multiboot header's bss_end_addr lies below its load_end_addr",
            value: bss_end,
        });
    }
    let range = PhysRange::new(load_addr, bss_end);
    if range.end() > FOUR_GIB {
        return Err(BootError::Unreachable {
            item: Item::Kernel,
            range,
            limit: FOUR_GIB,
        });
    }
    if !PhysRange::new(load_addr, load_end).contains(a.entry_addr.into()) {
        return Err(BootError::EntryOutsideImage {
            entry: a.entry_addr.into(),
        });
    }
    placer.claim(Item::Kernel, range)?;
    memory.write(load_addr, data)?;
    memory.zero(load_end, bss_end.saturating_sub(load_end))?;
    Ok(Kernel {
        end: bss_end,
        entry: a.entry_addr,
    })
}

/// Loads an ELF32 kernel by its program headers.
fn load_elf<M: GuestMemory + ?Sized>(
    image: &[u8],
    memory: &mut M,
    placer: &mut Placer<'_>,
) -> Result<Kernel, BootError> {
    let elf = Elf::parse(image)?;
    if elf.class != Class::Elf32 {
        return Err(BootError::Unsupported(
            "the kernel is a 64-bit ELF file: Multiboot loads 32-bit ELF images; \
             give it the a.out-kludge address fields (header flag 16) or boot it by PVH",
        ));
    }
    if elf.machine != EM_386 {
        return Err(BootError::Malformed {
            detail: "the ELF file is not for i386 (e_machine must be EM_386, 3)",
            value: elf.machine.into(),
        });
    }
    let headers = elf.program_headers()?;
    let loaded = elf::load_segments(&elf, &headers, memory, placer, FOUR_GIB)?;
    let entry = headers
        .iter()
        .filter(|ph| ph.kind == elf::PT_LOAD)
        .find(|ph| PhysRange::new(ph.vaddr, ph.vaddr.saturating_add(ph.memsz)).contains(elf.entry))
        .map_or(elf.entry, |ph| {
            elf.entry.wrapping_sub(ph.vaddr).wrapping_add(ph.paddr)
        });
    let entry = u32::try_from(entry)
        .ok()
        .filter(|&e| loaded.contains(e.into()))
        .ok_or(BootError::EntryOutsideImage { entry })?;
    Ok(Kernel {
        end: loaded.end,
        entry,
    })
}

#[cfg(test)]
mod tests;
