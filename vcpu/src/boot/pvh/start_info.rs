//! `struct hvm_start_info` and its tables (Xen `xen/include/public/arch-x86/hvm/start_info.h`,
//! version 1). All addresses are physical; 0 means "not present", which is why nothing is
//! ever placed at address 0.

use alloc::vec::Vec;

use crate::boot::bytes::{Buf, c_string};
use crate::boot::error::{BootError, Item};
use crate::boot::layout::{MemoryLayout, PhysRange};
use crate::boot::place::{BootArea, Placer};
use crate::memory::GuestMemory;

/// `XEN_HVM_START_MAGIC_VALUE`: "xEn3" with the 0x80 bit of the "E" set.
pub const START_MAGIC: u32 = 0x336E_C578;
/// The structure version written: 1 added the memory map.
pub const START_INFO_VERSION: u32 = 1;
/// Size of version 1 of the structure.
pub const START_INFO_SIZE: usize = 56;
/// Size of one `hvm_modlist_entry`: `paddr`, `size`, `cmdline_paddr`, `reserved`.
pub const MODLIST_ENTRY_SIZE: usize = 32;
/// Size of one `hvm_memmap_table_entry`: `addr`, `size`, `type`, `reserved`.
pub const MEMMAP_ENTRY_SIZE: usize = 24;

/// Byte offsets of the structure's fields.
pub mod offset {
    /// `magic`.
    pub const MAGIC: usize = 0;
    /// `version`.
    pub const VERSION: usize = 4;
    /// `flags` (`SIF_*`; none apply to a partition).
    pub const FLAGS: usize = 8;
    /// `nr_modules`.
    pub const NR_MODULES: usize = 12;
    /// `modlist_paddr`.
    pub const MODLIST_PADDR: usize = 16;
    /// `cmdline_paddr`.
    pub const CMDLINE_PADDR: usize = 24;
    /// `rsdp_paddr`.
    pub const RSDP_PADDR: usize = 32;
    /// `memmap_paddr` (version 1).
    pub const MEMMAP_PADDR: usize = 40;
    /// `memmap_entries` (version 1).
    pub const MEMMAP_ENTRIES: usize = 48;
}

/// A module as placed.
pub(crate) struct PlacedModule<'a> {
    pub(crate) item: Item,
    pub(crate) range: PhysRange,
    pub(crate) cmdline: &'a str,
}

/// Writes a NUL-terminated string into the boot area, or nothing for an empty one;
/// returns its address or 0.
fn put_string<M: GuestMemory + ?Sized>(
    memory: &mut M,
    placer: &mut Placer<'_>,
    area: &mut BootArea,
    item: Item,
    text: &str,
) -> Result<u64, BootError> {
    if text.is_empty() {
        return Ok(0);
    }
    let bytes = c_string(text, item)?;
    let at = area.alloc(placer, item, bytes.len() as u64, 1)?;
    memory.write(at, &bytes)?;
    Ok(at)
}

/// Builds `hvm_start_info`, the memory map, the module list and the strings in the boot
/// area, in that order, and returns the structure's address.
pub(crate) fn write<M: GuestMemory + ?Sized>(
    memory: &mut M,
    placer: &mut Placer<'_>,
    area: &mut BootArea,
    layout: &MemoryLayout,
    cmdline: &str,
    modules: &[PlacedModule<'_>],
) -> Result<u64, BootError> {
    let info_at = area.alloc(placer, Item::StartInfo, START_INFO_SIZE as u64, 16)?;
    let mut info = Buf::new(START_INFO_SIZE);
    info.u32(offset::MAGIC, START_MAGIC);
    info.u32(offset::VERSION, START_INFO_VERSION);

    let map = layout.memory_map();
    let mut memmap = Buf::new(map.len().saturating_mul(MEMMAP_ENTRY_SIZE));
    for (i, entry) in map.iter().enumerate() {
        let at = i.saturating_mul(MEMMAP_ENTRY_SIZE);
        memmap.u64(at, entry.range.start());
        memmap.u64(at.saturating_add(8), entry.range.len());
        memmap.u32(at.saturating_add(16), entry.kind.e820());
    }
    let memmap_at = area.alloc(placer, Item::MemoryMap, memmap.len(), 8)?;
    memory.write(memmap_at, memmap.as_slice())?;
    info.u64(offset::MEMMAP_PADDR, memmap_at);
    info.u32(
        offset::MEMMAP_ENTRIES,
        u32::try_from(map.len()).unwrap_or(u32::MAX),
    );

    let list_len = modules.len().saturating_mul(MODLIST_ENTRY_SIZE);
    let list_at = if modules.is_empty() {
        0
    } else {
        area.alloc(placer, Item::ModuleList, list_len as u64, 16)?
    };
    info.u32(
        offset::NR_MODULES,
        u32::try_from(modules.len()).unwrap_or(u32::MAX),
    );
    info.u64(offset::MODLIST_PADDR, list_at);

    let cmdline_at = put_string(memory, placer, area, Item::CommandLine, cmdline)?;
    info.u64(offset::CMDLINE_PADDR, cmdline_at);
    info.u64(offset::RSDP_PADDR, layout.rsdp().unwrap_or(0));

    let mut strings = Vec::with_capacity(modules.len());
    for (i, module) in modules.iter().enumerate() {
        let item = match module.item {
            Item::Module(n) => Item::ModuleCommandLine(n),
            _ => Item::ModuleCommandLine(i),
        };
        strings.push(put_string(memory, placer, area, item, module.cmdline)?);
    }
    let mut list = Buf::new(list_len);
    for (i, (module, string)) in modules.iter().zip(strings).enumerate() {
        let at = i.saturating_mul(MODLIST_ENTRY_SIZE);
        list.u64(at, module.range.start());
        list.u64(at.saturating_add(8), module.range.len());
        list.u64(at.saturating_add(16), string);
    }
    if !modules.is_empty() {
        memory.write(list_at, list.as_slice())?;
    }
    memory.write(info_at, info.as_slice())?;
    Ok(info_at)
}
