//! What the loader handed over, copied once and then only read.
//!
//! hermit-entry's `RawBootInfo` is converted into a `BootInfo`; the firmware
//! memory map comes from the Multiboot copy it points at, and the loader's
//! own [`Handoff`] sits directly in front of that copy.

use core::ops::Range;

use bulkhead_netboot::handoff::{HANDOFF_SIZE, Handoff};
use bulkhead_netboot::mbinfo::{self, Info, MemoryMap, Region};
use hermit_entry::boot_info::{BootInfo, PlatformInfo, RawBootInfo};

use super::once::SetOnce;

/// More entries than any firmware map this project has met; extra ones are reported.
const MAX_REGIONS: usize = 64;

/// The boot information the core works from.
pub struct Boot {
    /// hermit-entry's view: memory range, serial port, where the core was loaded.
    pub info: BootInfo,
    /// Bulkhead's hand-off: image and container location.
    pub handoff: Handoff,
    regions: [Option<Region>; MAX_REGIONS],
    dropped_regions: usize,
    cmdline: &'static str,
}

impl Boot {
    /// The firmware memory map, as the loader copied it.
    pub fn memory_map(&self) -> impl Iterator<Item = Region> + '_ {
        self.regions.iter().flatten().copied()
    }

    /// Map entries that did not fit in the table (each is reported at boot).
    pub fn dropped_regions(&self) -> usize {
        self.dropped_regions
    }

    /// The boot command line (empty if none was given).
    pub fn cmdline(&self) -> &'static str {
        self.cmdline
    }

    /// Where the loader placed the core, bss included.
    pub fn core_range(&self) -> Range<u64> {
        self.info.load_info.kernel_image_addr_range.clone()
    }
}

static BOOT: SetOnce<Boot> = SetOnce::new();

/// Reads the loader's hand-over. Called once, by the bootstrap processor.
pub fn init(raw: &'static RawBootInfo) -> &'static Boot {
    let info = BootInfo::from(*raw);
    let PlatformInfo::Multiboot {
        command_line,
        multiboot_info_addr,
    } = info.platform_info
    else {
        panic!("the loader did not pass Multiboot information");
    };
    let info_addr = multiboot_info_addr.get();
    // SAFETY: the loader wrote the hand-off and the Multiboot copy into its
    // boot area, which lies below `reserved_end` and is never handed out.
    let handoff_bytes = unsafe { phys_bytes(info_addr - HANDOFF_SIZE as u64, HANDOFF_SIZE) };
    let handoff = Handoff::from_bytes(handoff_bytes)
        .expect("the loader's hand-off is missing or of another version");
    // SAFETY: as above, for the Multiboot copy itself.
    let mb = Info::new(unsafe { phys_bytes(info_addr, mbinfo::INFO_SIZE) })
        .expect("Multiboot information too short");
    let (mmap_addr, mmap_len) = mb.mmap().expect("the loader passed no memory map");
    // SAFETY: the loader copied the map into the same reserved boot area.
    let mmap = unsafe { phys_bytes(mmap_addr.into(), mmap_len as usize) };

    let mut regions = [None; MAX_REGIONS];
    let mut dropped_regions = 0;
    for (i, region) in MemoryMap::new(mmap).enumerate() {
        match regions.get_mut(i) {
            Some(slot) => *slot = Some(region),
            None => dropped_regions += 1,
        }
    }
    let boot = Boot {
        info,
        handoff,
        regions,
        dropped_regions,
        cmdline: command_line.unwrap_or(""),
    };
    BOOT.set(boot)
}

/// The boot information, once [`init`] has run.
pub fn get() -> &'static Boot {
    BOOT.get()
        .expect("boot information is read before any other core starts")
}

/// # Safety
/// `addr..addr + len` must be mapped memory that nobody writes while the slice lives.
unsafe fn phys_bytes(addr: u64, len: usize) -> &'static [u8] {
    // SAFETY: forwarded to the caller.
    unsafe { core::slice::from_raw_parts(addr as *const u8, len) }
}
