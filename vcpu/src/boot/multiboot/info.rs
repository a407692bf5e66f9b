//! The Multiboot information structure (Multiboot Specification 0.6.96, 3.3 "Boot
//! information format").

use alloc::vec::Vec;

use crate::boot::bytes::{Buf, c_string, low32};
use crate::boot::error::{BootError, Item};
use crate::boot::layout::{MemoryLayout, PhysRange};
use crate::boot::place::{BootArea, Placer};
use crate::memory::GuestMemory;

/// The value the loader leaves in EAX (3.2).
pub const BOOTLOADER_MAGIC: u32 = 0x2BAD_B002;
/// Size of the structure up to and including the framebuffer fields.
pub const INFO_SIZE: usize = 116;
/// Size of one memory map entry: the `size` field (which does not count itself), then
/// `base_addr`, `length`, `type`.
pub const MMAP_ENTRY_SIZE: usize = 24;
/// Size of one module entry: `mod_start`, `mod_end`, `string`, `reserved`.
pub const MODULE_ENTRY_SIZE: usize = 16;
/// What `boot_loader_name` says.
pub const LOADER_NAME: &str = "Bulkhead";

/// Info `flags` bits: which fields are valid.
pub mod info_flags {
    /// `mem_lower`, `mem_upper`.
    pub const MEMORY: u32 = 1 << 0;
    /// `cmdline`.
    pub const CMDLINE: u32 = 1 << 2;
    /// `mods_count`, `mods_addr`.
    pub const MODS: u32 = 1 << 3;
    /// `mmap_length`, `mmap_addr`.
    pub const MMAP: u32 = 1 << 6;
    /// `boot_loader_name`.
    pub const LOADER_NAME: u32 = 1 << 9;
}

/// Byte offsets of the fields written.
pub mod offset {
    /// `flags`.
    pub const FLAGS: usize = 0;
    /// `mem_lower`: KiB of memory from address 0, at most 640.
    pub const MEM_LOWER: usize = 4;
    /// `mem_upper`: KiB of memory from 1 MiB up to the first hole.
    pub const MEM_UPPER: usize = 8;
    /// `cmdline`.
    pub const CMDLINE: usize = 16;
    /// `mods_count`.
    pub const MODS_COUNT: usize = 20;
    /// `mods_addr`.
    pub const MODS_ADDR: usize = 24;
    /// `mmap_length`.
    pub const MMAP_LENGTH: usize = 44;
    /// `mmap_addr`.
    pub const MMAP_ADDR: usize = 48;
    /// `boot_loader_name`.
    pub const LOADER_NAME: usize = 64;
}

/// A module as placed: where, and its command line.
pub(crate) struct PlacedModule<'a> {
    pub(crate) range: PhysRange,
    pub(crate) cmdline: &'a str,
}

fn kib(bytes: u64) -> u32 {
    u32::try_from(bytes / 1024).unwrap_or(u32::MAX)
}

/// Writes a NUL-terminated string into the boot area and returns its address.
fn put_string<M: GuestMemory + ?Sized>(
    memory: &mut M,
    placer: &mut Placer<'_>,
    area: &mut BootArea,
    item: Item,
    text: &str,
) -> Result<u32, BootError> {
    let bytes = c_string(text, item)?;
    let at = area.alloc(placer, item, bytes.len() as u64, 1)?;
    memory.write(at, &bytes)?;
    Ok(low32(at))
}

/// Builds the information structure, its memory map, module list and strings in the
/// boot area, in that order, and returns the structure's address.
pub(crate) fn write<M: GuestMemory + ?Sized>(
    memory: &mut M,
    placer: &mut Placer<'_>,
    area: &mut BootArea,
    layout: &MemoryLayout,
    cmdline: &str,
    modules: &[PlacedModule<'_>],
) -> Result<u32, BootError> {
    let info_at = area.alloc(placer, Item::MultibootInfo, INFO_SIZE as u64, 16)?;
    let mut info = Buf::new(INFO_SIZE);
    let mut flags = info_flags::MEMORY | info_flags::MMAP | info_flags::CMDLINE;
    flags |= info_flags::LOADER_NAME | info_flags::MODS;

    info.u32(
        offset::MEM_LOWER,
        kib(layout
            .usable_run_from(0)
            .min(MemoryLayout::LEGACY_HOLE.start())),
    );
    info.u32(
        offset::MEM_UPPER,
        kib(layout.usable_run_from(MemoryLayout::LEGACY_HOLE.end())),
    );

    let map = layout.memory_map();
    let mmap_len = map.len().saturating_mul(MMAP_ENTRY_SIZE);
    let mut mmap = Buf::new(mmap_len);
    for (i, entry) in map.iter().enumerate() {
        let at = i.saturating_mul(MMAP_ENTRY_SIZE);
        // `size` counts the 20 bytes after itself.
        mmap.u32(at, 20);
        mmap.u64(at.saturating_add(4), entry.range.start());
        mmap.u64(at.saturating_add(12), entry.range.len());
        mmap.u32(at.saturating_add(20), entry.kind.e820());
    }
    let mmap_at = area.alloc(placer, Item::MemoryMap, mmap.len(), 8)?;
    memory.write(mmap_at, mmap.as_slice())?;
    info.u32(
        offset::MMAP_LENGTH,
        u32::try_from(mmap_len).unwrap_or(u32::MAX),
    );
    info.u32(offset::MMAP_ADDR, low32(mmap_at));

    let list_len = modules.len().saturating_mul(MODULE_ENTRY_SIZE);
    let list_at = if modules.is_empty() {
        0
    } else {
        area.alloc(placer, Item::ModuleList, list_len as u64, 16)?
    };
    info.u32(
        offset::MODS_COUNT,
        u32::try_from(modules.len()).unwrap_or(u32::MAX),
    );
    info.u32(offset::MODS_ADDR, low32(list_at));

    let name = put_string(memory, placer, area, Item::LoaderName, LOADER_NAME)?;
    info.u32(offset::LOADER_NAME, name);
    let cmdline_at = put_string(memory, placer, area, Item::CommandLine, cmdline)?;
    info.u32(offset::CMDLINE, cmdline_at);

    let mut list = Buf::new(list_len);
    let mut strings = Vec::with_capacity(modules.len());
    for (i, module) in modules.iter().enumerate() {
        strings.push(put_string(
            memory,
            placer,
            area,
            Item::ModuleCommandLine(i),
            module.cmdline,
        )?);
    }
    for (i, (module, string)) in modules.iter().zip(strings).enumerate() {
        let at = i.saturating_mul(MODULE_ENTRY_SIZE);
        list.u32(at, low32(module.range.start()));
        list.u32(at.saturating_add(4), low32(module.range.end()));
        list.u32(at.saturating_add(8), string);
    }
    if !modules.is_empty() {
        memory.write(list_at, list.as_slice())?;
    }

    info.u32(offset::FLAGS, flags);
    memory.write(info_at, info.as_slice())?;
    Ok(low32(info_at))
}
