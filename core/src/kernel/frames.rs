//! The physical frame allocator.
//!
//! Starts from the firmware's usable RAM and takes out everything that is
//! already spoken for: the first megabyte (real-mode IVT, BIOS data, EBDA,
//! the AP trampoline), the loaded image with its deployment container and the
//! loader's boot area, and the core itself. ACPI tables and firmware areas are
//! never in the usable set to begin with.

use bulkhead_core::ranges::RangeSet;
use bulkhead_netboot::mbinfo::RegionKind;
use log::{info, warn};
use spinning_top::Spinlock;

use super::bootinfo::Boot;

const PAGE: u64 = 4096;
const LOW_MEMORY_END: u64 = 0x10_0000;
/// Page tables the AP trampoline loads must sit where a 32-bit CR3 reaches.
pub const BELOW_4G: u64 = 1 << 32;

static FREE: Spinlock<RangeSet<128>> = Spinlock::new(RangeSet::new());

/// Builds the free set from the boot information and reports the totals.
pub fn init(boot: &Boot) {
    let mut free = FREE.lock();
    let mut usable = 0u64;
    let mut count = 0;
    info!("firmware memory map:");
    for region in boot.memory_map() {
        info!(
            "  [{:#018x}-{:#018x}] {}",
            region.base,
            region.end() - 1,
            kind_name(region.kind)
        );
        if region.kind == RegionKind::Available {
            usable += region.len;
            count += 1;
            let start = region.base.next_multiple_of(PAGE);
            let end = region.end() & !(PAGE - 1);
            if free.insert(start..end).is_err() {
                warn!("frame table full: {:#x}..{:#x} left unused", start, end);
            }
        }
    }
    if boot.dropped_regions() > 0 {
        warn!(
            "{} memory map entries did not fit and were left unused",
            boot.dropped_regions()
        );
    }
    let core = boot.core_range();
    let reserved = [
        0..LOW_MEMORY_END,
        boot.handoff.image_start..boot.handoff.reserved_end,
        core.start & !(PAGE - 1)..core.end.next_multiple_of(PAGE),
    ];
    for range in reserved {
        free.remove(range)
            .expect("frame table full while reserving boot memory");
    }
    info!(
        "memory: {} KiB usable RAM in {count} ranges ({} MiB); {} KiB free after boot",
        usable / 1024,
        usable >> 20,
        free.total() / 1024
    );
}

fn kind_name(kind: RegionKind) -> &'static str {
    match kind {
        RegionKind::Available => "available",
        RegionKind::AcpiReclaimable => "ACPI tables",
        RegionKind::AcpiNvs => "ACPI NVS",
        RegionKind::Defective => "defective",
        RegionKind::Reserved(_) => "reserved",
    }
}

/// `size` bytes aligned to `align`, below 4 GiB (boot structures only need a little).
pub fn allocate(size: u64, align: u64) -> Option<u64> {
    FREE.lock()
        .allocate(size.next_multiple_of(PAGE), align.max(PAGE), BELOW_4G)
}

/// `size` bytes aligned to `align`, anywhere in RAM (partition memory).
pub fn allocate_anywhere(size: u64, align: u64) -> Option<u64> {
    FREE.lock()
        .allocate(size.next_multiple_of(PAGE), align.max(PAGE), u64::MAX)
}

/// One zeroed 4 KiB page below 4 GiB.
pub fn allocate_zeroed_page() -> Option<u64> {
    let page = allocate(PAGE, PAGE)?;
    // SAFETY: the page was just taken from the free set, so nothing else uses
    // it, and everything below 4 GiB is identity mapped.
    unsafe { core::ptr::write_bytes(page as *mut u8, 0, PAGE as usize) };
    Some(page)
}

/// Bytes still free.
pub fn free_bytes() -> u64 {
    FREE.lock().total()
}
