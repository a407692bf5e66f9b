//! Linux's x86 boot protocol, 64-bit entry (`Documentation/arch/x86/boot.rst`: "The
//! Real-Mode Kernel Header", "Loading The Rest of The Kernel", "64-bit Boot Protocol";
//! `Documentation/arch/x86/zero-page.rst`).
//!
//! # The image
//!
//! A bzImage ([`header::parse`]): boot flag 0xAA55 at 0x1FE, `"HdrS"` at 0x202, protocol
//! 2.12 or newer, `loadflags.LOADED_HIGH` and `xloadflags.XLF_KERNEL_64` set, a setup
//! header that ends (0x202 + the byte at 0x201) at or after `init_size` and at or before
//! 0x290. The protected-mode kernel starts at file offset `(setup_sects + 1) * 512`
//! (`setup_sects` 0 meaning 4). The real-mode setup code is never run.
//!
//! # Placement
//!
//! - The protected-mode kernel is loaded at `pref_address`, and `max(init_size, its
//!   length)` bytes from there are claimed: the kernel decompresses itself into that
//!   room. A relocatable kernel that does not fit there goes to the lowest
//!   `kernel_alignment`-aligned address above `pref_address` where it fits, never below:
//!   the 64-bit decompressor moves a kernel loaded below `pref_address` up to it anyway.
//!   A kernel that is not relocatable must fit at `pref_address`. The whole claim lies
//!   below 4 GiB, inside the identity map.
//! - The initrd, page aligned, at the highest address where it fits in free usable RAM
//!   ending at or below `initrd_addr_max + 1`, or anywhere in RAM when
//!   `xloadflags.XLF_CAN_BE_LOADED_ABOVE_4G` is set (the high halves go to
//!   `ext_ramdisk_image`/`ext_ramdisk_size`). An empty initrd is no initrd.
//! - In the boot area, in this order: `boot_params` (one page, page aligned: 0x7000 in
//!   the default layout), the page tables (six pages, page aligned: 0x8000..0xE000), the
//!   GDT (48 bytes: 0xE000), the command line (at most `cmdline_size` bytes plus NUL:
//!   0xE030).
//!
//! # boot_params
//!
//! Zeros, the image's setup header copied to 0x1F1, `type_of_loader` = 0xFF,
//! `cmd_line_ptr` (always set, possibly to an empty string), `ramdisk_image` and
//! `ramdisk_size` (0 without an initrd), the E820 table from [`MemoryLayout::memory_map`]
//! (at most 128 entries), and `acpi_rsdp_addr` when the layout knows the RSDP.
//!
//! # Entry state ("64-bit Boot Protocol")
//!
//! 64-bit mode with paging on ([`GuestState::long_mode`]): CR0 = PG | PE | ET, CR4 = PAE,
//! EFER = LME | LMA, CR3 = page tables identity-mapping 0..4 GiB with 2 MiB pages (which
//! covers the kernel with its `init_size`, the zero page and the command line); a GDT
//! with `__BOOT_CS` (0x10) a flat 64-bit execute/read segment and `__BOOT_DS` (0x18) a
//! flat read/write segment; CS = 0x10, DS = ES = SS = FS = GS = 0x18; interrupts off
//! (RFLAGS = 2); RSI = `boot_params`; RIP = load address + 0x200. Every other general
//! register is zero.

pub mod header;
pub mod zero_page;

use self::header::{SetupHeader, xloadflags};
use self::zero_page::ZeroPage;
use super::bytes::{c_string, slice};
use super::error::{BootError, Item};
use super::layout::{MemoryLayout, PhysRange};
use super::place::{BootArea, FOUR_GIB, PAGE, Placer, align_up};
use super::{BootImages, Prepared, gdt, paging};
use crate::memory::GuestMemory;
use crate::state::GuestState;

/// Offset of the 64-bit entry point from the load address.
pub const ENTRY_64_OFFSET: u64 = 0x200;

/// Where the protected-mode kernel goes, claimed.
fn place_kernel(
    header: &SetupHeader,
    payload_len: u64,
    placer: &mut Placer<'_>,
) -> Result<PhysRange, BootError> {
    let need = u64::from(header.init_size).max(payload_len);
    let need = align_up(need, PAGE).ok_or(BootError::Malformed {
        detail: "the kernel's size overflows",
        value: need,
    })?;
    let pref = header.pref_address;
    let at_pref = PhysRange::from_len(pref, need).unwrap_or(PhysRange::new(pref, u64::MAX));
    if at_pref.end() > FOUR_GIB && !header.relocatable {
        return Err(BootError::Unreachable {
            item: Item::Kernel,
            range: at_pref,
            limit: FOUR_GIB,
        });
    }
    let at = if header.relocatable {
        let align = u64::from(header.kernel_alignment).max(PAGE);
        placer
            .find_lowest(pref, need, align, FOUR_GIB)
            .ok_or(BootError::NoRoom {
                item: Item::Kernel,
                size: need,
                limit: FOUR_GIB,
            })?
    } else {
        pref
    };
    let range = PhysRange::new(at, at.saturating_add(need));
    placer.claim(Item::Kernel, range)?;
    Ok(range)
}

/// Where the initrd goes, claimed; `None` without one.
fn place_initrd(
    header: &SetupHeader,
    initrd: &[u8],
    placer: &mut Placer<'_>,
) -> Result<Option<PhysRange>, BootError> {
    if initrd.is_empty() {
        return Ok(None);
    }
    let limit = if header.xloadflags & xloadflags::CAN_BE_LOADED_ABOVE_4G != 0 {
        u64::MAX
    } else {
        u64::from(header.initrd_addr_max).saturating_add(1)
    };
    let size = initrd.len() as u64;
    let at = placer
        .find_highest(size, PAGE, limit)
        .ok_or(BootError::NoRoom {
            item: Item::Initrd,
            size,
            limit,
        })?;
    let range = PhysRange::new(at, at.saturating_add(size));
    placer.claim(Item::Initrd, range)?;
    Ok(Some(range))
}

/// Loads a bzImage and its initrd, builds `boot_params`, page tables and GDT, and
/// returns the 64-bit entry state.
pub fn prepare<M: GuestMemory + ?Sized>(
    memory: &mut M,
    images: &BootImages<'_>,
    layout: &MemoryLayout,
) -> Result<Prepared, BootError> {
    if !images.modules.is_empty() {
        return Err(BootError::UnexpectedInput {
            protocol: "linux",
            what: "boot modules (only an initrd)",
        });
    }
    let image = images.kernel;
    let header = header::parse(image)?;
    let image_len = image.len() as u64;
    let payload = slice(
        image,
        header.kernel_offset,
        image_len.saturating_sub(header.kernel_offset),
        "the protected-mode kernel after the setup sectors",
    )?;
    if payload.is_empty() {
        return Err(BootError::Truncated {
            what: "the protected-mode kernel after the setup sectors",
            needed: header.kernel_offset.saturating_add(1),
            len: image_len,
        });
    }
    let cmdline = c_string(images.cmdline, Item::CommandLine)?;
    if images.cmdline.len() as u64 > u64::from(header.cmdline_size) {
        return Err(BootError::CommandLineTooLong {
            len: images.cmdline.len(),
            max: header.cmdline_size.into(),
        });
    }

    let mut placer = Placer::new(layout, memory.size(), true)?;
    let mut area = BootArea::claim(&mut placer, FOUR_GIB)?;
    let kernel = place_kernel(&header, payload.len() as u64, &mut placer)?;
    let initrd = images.initrd.unwrap_or(&[]);
    let initrd_range = place_initrd(&header, initrd, &mut placer)?;

    let boot_params = area.alloc(
        &mut placer,
        Item::BootParams,
        zero_page::BOOT_PARAMS_SIZE as u64,
        PAGE,
    )?;
    let cr3 = paging::write_identity_map(memory, &mut placer, &mut area)?;
    let entry = kernel.start().saturating_add(ENTRY_64_OFFSET);
    let mut state = GuestState::long_mode(entry, cr3, Default::default());
    gdt::write(memory, &mut placer, &mut area, &mut state)?;
    let cmdline_at = area.alloc(&mut placer, Item::CommandLine, cmdline.len() as u64, 16)?;

    let page = zero_page::build(
        image,
        &header,
        layout,
        &ZeroPage {
            cmdline: cmdline_at,
            initrd: initrd_range,
        },
    )?;

    memory.write(kernel.start(), payload)?;
    if let Some(range) = initrd_range {
        memory.write(range.start(), initrd)?;
    }
    memory.write(cmdline_at, &cmdline)?;
    memory.write(boot_params, page.as_slice())?;
    state.gprs.rsi = boot_params;
    Ok(Prepared {
        state,
        placements: placer.into_placements(),
    })
}

#[cfg(test)]
mod tests;
