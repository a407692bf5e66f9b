//! The core's own page tables: an identity map of the physical address space.
//!
//! The loader's tables map only the first 4 GiB. The core maps everything up
//! to the top of RAM (at least 4 GiB, so the APIC and PCI windows stay
//! reachable): 2 MiB pages below 4 GiB, where RAM and device windows sit side
//! by side, and 1 GiB pages above when the CPU has them. A 2 MiB page holding
//! no RAM at all is mapped uncacheable, so device windows are never cached
//! even where firmware left MTRRs loose.

use bulkhead_netboot::mbinfo::RegionKind;
use log::info;
use x86_64::PhysAddr;
use x86_64::registers::control::{Cr3, Cr3Flags};
use x86_64::structures::paging::PhysFrame;

use super::bootinfo::Boot;
use super::frames;

const PRESENT: u64 = 1 << 0;
const WRITABLE: u64 = 1 << 1;
const WRITE_THROUGH: u64 = 1 << 3;
const CACHE_DISABLE: u64 = 1 << 4;
const HUGE: u64 = 1 << 7;
const TABLE: u64 = PRESENT | WRITABLE;
const GIB: u64 = 1 << 30;
const TWO_MIB: u64 = 2 << 20;
const FOUR_GIB: u64 = 4 * GIB;

/// Builds the identity map and switches this core to it.
pub fn init(boot: &Boot) {
    let ram_top = boot
        .memory_map()
        .filter(|r| r.kind != RegionKind::Defective && !matches!(r.kind, RegionKind::Reserved(_)))
        .map(|r| r.end())
        .max()
        .unwrap_or(FOUR_GIB);
    let top = ram_top.max(FOUR_GIB).next_multiple_of(GIB);
    let gib_pages = has_gib_pages();
    let pml4 = table();
    for gib in (0..top).step_by(GIB as usize) {
        let pml4_slot = (gib >> 39) as usize & 511;
        let pdpt = next_table(pml4, pml4_slot);
        let pdpt_slot = (gib >> 30) as usize & 511;
        if gib >= FOUR_GIB && gib_pages {
            write(pdpt, pdpt_slot, gib | PRESENT | WRITABLE | HUGE);
            continue;
        }
        let pd = table();
        write(pdpt, pdpt_slot, pd | TABLE);
        for slot in 0..512 {
            let page = gib + slot as u64 * TWO_MIB;
            let caching = if holds_ram(boot, page) {
                0
            } else {
                CACHE_DISABLE | WRITE_THROUGH
            };
            write(pd, slot, page | PRESENT | WRITABLE | HUGE | caching);
        }
    }
    let frame = PhysFrame::from_start_address(PhysAddr::new(pml4)).expect("page table is aligned");
    // SAFETY: the new tables identity-map all RAM and device windows the old
    // ones did (the first 4 GiB) and more, so every address in use stays valid.
    unsafe { Cr3::write(frame, Cr3Flags::empty()) };
    info!(
        "page tables: identity map of {} GiB ({} pages above 4 GiB)",
        top / GIB,
        if gib_pages { "1 GiB" } else { "2 MiB" }
    );
}

/// The root table, for the AP trampoline.
pub fn root() -> u64 {
    Cr3::read().0.start_address().as_u64()
}

fn holds_ram(boot: &Boot, page: u64) -> bool {
    boot.memory_map().any(|r| {
        matches!(
            r.kind,
            RegionKind::Available | RegionKind::AcpiReclaimable | RegionKind::AcpiNvs
        ) && r.base < page + TWO_MIB
            && r.end() > page
    })
}

fn has_gib_pages() -> bool {
    let leaf = core::arch::x86_64::__cpuid(0x8000_0001);
    leaf.edx & (1 << 26) != 0
}

fn table() -> u64 {
    frames::allocate_zeroed_page().expect("no memory for page tables")
}

fn next_table(parent: u64, slot: usize) -> u64 {
    let entry = read(parent, slot);
    if entry & PRESENT != 0 {
        return entry & 0x000F_FFFF_FFFF_F000;
    }
    let child = table();
    write(parent, slot, child | TABLE);
    child
}

fn read(table: u64, slot: usize) -> u64 {
    // SAFETY: `table` is a page-table page from `frames`, identity mapped,
    // and `slot` < 512.
    unsafe { (table as *const u64).add(slot).read() }
}

fn write(table: u64, slot: usize, entry: u64) {
    // SAFETY: as for `read`; the tables are not live until CR3 is written.
    unsafe { (table as *mut u64).add(slot).write(entry) }
}
