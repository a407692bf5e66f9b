//! The loader's work, in order: check the Multiboot hand-over, verify the
//! deployment container, place the boot data and the core, jump.

use core::convert::Infallible;
use core::fmt;
use core::mem::MaybeUninit;
use core::num::NonZeroU64;

use bulkhead_netboot::handoff::{HANDOFF_SIZE, Handoff};
use bulkhead_netboot::mbinfo::{self, Info, MemoryMap, Region, RegionKind};
use bulkhead_netboot::{EntryKind, Image, ImageError, layout};
use hermit_entry::Entry;
use hermit_entry::boot_info::{BootInfo, HardwareInfo, PlatformInfo, RawBootInfo, SerialPortBase};
use hermit_entry::elf::{KernelObject, ParseKernelError};

use crate::phys::{self, symbol_address};
use crate::say;
use crate::serial::Com1;

const PAGE: u64 = 4096;
/// The core is placed on a 2 MiB boundary so it can map itself with large pages.
const CORE_ALIGN: u64 = 2 << 20;
/// The entry code identity-maps only this much.
const MAPPED_LIMIT: u64 = 1 << 32;
/// Layout of the boot area the loader hands to the core.
const BOOT_INFO_OFFSET: u64 = 0;
const HANDOFF_OFFSET: u64 = 256;
const MBI_OFFSET: u64 = HANDOFF_OFFSET + HANDOFF_SIZE as u64;
const MMAP_OFFSET: u64 = 512;
const COM1_PORT: u16 = 0x3F8;

const _: () = assert!(core::mem::size_of::<RawBootInfo>() as u64 <= HANDOFF_OFFSET);
const _: () = assert!(MBI_OFFSET + mbinfo::INFO_SIZE as u64 <= MMAP_OFFSET);

/// Why the loader refuses to go on.
enum Failure {
    NotMultiboot(u32),
    NoMemoryMap,
    ContainerOutsideRam(u64),
    Image(ImageError),
    NoCore,
    CoreElf(ParseKernelError),
    CoreNotRelocatable(u64),
    NoRoom {
        what: &'static str,
        at: u64,
        len: u64,
    },
}

impl From<ImageError> for Failure {
    fn from(error: ImageError) -> Self {
        Self::Image(error)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotMultiboot(magic) => write!(
                f,
                "not started by a Multiboot loader (EAX = {magic:#010x}, expected {:#010x})",
                mbinfo::BOOTLOADER_MAGIC
            ),
            Self::NoMemoryMap => f.write_str("the boot loader passed no memory map"),
            Self::ContainerOutsideRam(at) => write!(
                f,
                "the deployment container at {at:#x} is not in usable RAM below 4 GiB"
            ),
            Self::Image(error) => write!(f, "{error}"),
            Self::NoCore => f.write_str("the image holds no core entry"),
            Self::CoreElf(error) => write!(f, "entry 'core': {error}"),
            Self::CoreNotRelocatable(at) => {
                write!(
                    f,
                    "entry 'core' is linked at {at:#x}; it must be position independent"
                )
            }
            Self::NoRoom { what, at, len } => write!(
                f,
                "no usable RAM below 4 GiB for the {what} ({len} bytes at {at:#x})"
            ),
        }
    }
}

/// Stops this processor for good.
pub fn halt() -> ! {
    loop {
        x86_64::instructions::interrupts::disable();
        x86_64::instructions::hlt();
    }
}

/// Called by the entry code in long mode with the Multiboot registers.
#[unsafe(no_mangle)]
extern "C" fn loader_main(magic: u32, info_addr: u32) -> ! {
    Com1::init();
    say!("starting");
    match run(magic, info_addr) {
        Ok(never) => match never {},
        Err(failure) => {
            say!("IMAGE REFUSED: {failure}");
            say!("halted; nothing was started");
            halt()
        }
    }
}

fn run(magic: u32, info_addr: u32) -> Result<Infallible, Failure> {
    if magic != mbinfo::BOOTLOADER_MAGIC {
        return Err(Failure::NotMultiboot(magic));
    }
    // SAFETY: the Multiboot loader put the information structure in RAM below
    // 4 GiB and nothing writes it while the loader reads it.
    let info = Info::new(unsafe { phys::bytes(info_addr.into(), mbinfo::INFO_SIZE) })
        .ok_or(Failure::NoMemoryMap)?;
    let (mmap_addr, mmap_len) = info.mmap().ok_or(Failure::NoMemoryMap)?;
    // SAFETY: as above, for the memory map the information structure points at.
    let mmap_bytes = unsafe { phys::bytes(mmap_addr.into(), mmap_len as usize) };
    let map = MemoryMap::new(mmap_bytes);
    let cmdline = info.cmdline_addr().map(|addr| read_cmdline(addr, &map));

    let container_start = layout::payload_address(symbol_address!(__loader_end));
    let container_len = container_len(container_start, &map)?;
    // SAFETY: `container_len` checked that the whole container is usable RAM
    // below 4 GiB, loaded by the Multiboot loader; nothing writes it.
    let container = unsafe { phys::bytes(container_start, container_len as usize) };
    let image = Image::parse(container)?;
    say!(
        "verifying deployment image: {} entries, {} bytes",
        image.entries().count(),
        image.total_len()
    );
    image.verify_all()?;
    say!("image verified");

    let core = image.first(EntryKind::Core).ok_or(Failure::NoCore)?;
    let kernel = KernelObject::parse(core.data).map_err(Failure::CoreElf)?;
    if let Some(at) = kernel.start_addr() {
        return Err(Failure::CoreNotRelocatable(at));
    }

    // Everything the firmware and the Multiboot loader left for us lies below
    // `reserved_end`; the boot area and then the core go above it.
    let mut reserved_end = container_start + container_len;
    reserved_end = reserved_end.max(u64::from(info_addr) + mbinfo::INFO_SIZE as u64);
    reserved_end = reserved_end.max(u64::from(mmap_addr) + u64::from(mmap_len));
    if let (Some(addr), Some(text)) = (info.cmdline_addr(), cmdline) {
        reserved_end = reserved_end.max(u64::from(addr) + text.len() as u64 + 1);
    }
    let boot_area = align_up(reserved_end, PAGE);
    let cmdline_len = cmdline.map_or(0, str::len) as u64;
    let boot_area_len = align_up(MMAP_OFFSET + u64::from(mmap_len) + cmdline_len + 1, PAGE);
    claim(&map, "boot information", boot_area, boot_area_len)?;

    let core_start = align_up(boot_area + boot_area_len, CORE_ALIGN);
    let core_len = kernel.mem_size() as u64;
    claim(&map, "core", core_start, core_len)?;

    // SAFETY: `claim` checked the boot area is usable RAM below 4 GiB, above
    // everything the firmware, the image and the Multiboot data occupy.
    let area = unsafe { phys::bytes_mut(boot_area, boot_area_len as usize) };
    area.fill(0);
    let mmap_copy = boot_area + MMAP_OFFSET;
    let cmdline_copy = mmap_copy + u64::from(mmap_len);
    area[MMAP_OFFSET as usize..][..mmap_len as usize].copy_from_slice(mmap_bytes);
    let command_line: Option<&'static str> = cmdline.map(|text| {
        let at = (cmdline_copy - boot_area) as usize;
        area[at..at + text.len()].copy_from_slice(text.as_bytes());
        // SAFETY: the bytes were just copied from a `str`, and the boot area
        // is never written again.
        unsafe { core::str::from_utf8_unchecked(phys::bytes(cmdline_copy, text.len())) }
    });
    let relocated = info.relocated(mmap_copy as u32, cmdline.map(|_| cmdline_copy as u32));
    area[MBI_OFFSET as usize..][..relocated.len()].copy_from_slice(&relocated);
    let handoff = Handoff::new(
        u64::from(layout::IMAGE_BASE),
        core_start,
        container_start,
        container_len,
    );
    area[HANDOFF_OFFSET as usize..MBI_OFFSET as usize].copy_from_slice(&handoff.to_bytes());

    // SAFETY: `claim` checked the core's range is usable RAM below 4 GiB that
    // nothing else uses; it is handed to the ELF loader as uninitialised bytes.
    let core_memory = unsafe { phys::bytes_mut(core_start, core_len as usize) };
    // SAFETY: `u8` and `MaybeUninit<u8>` have the same layout, and every byte
    // pattern is a valid `MaybeUninit<u8>`.
    let core_memory = unsafe { &mut *(core_memory as *mut [u8] as *mut [MaybeUninit<u8>]) };
    let loaded = kernel.load_kernel(core_memory, core_start);

    let top_of_ram = map
        .clone()
        .filter(|r| r.kind == RegionKind::Available)
        .map(|r| r.end())
        .max()
        .unwrap_or(0);
    let boot_info = BootInfo {
        hardware_info: HardwareInfo {
            phys_addr_range: 0..top_of_ram,
            serial_port_base: SerialPortBase::new(COM1_PORT),
            device_tree: None,
        },
        load_info: loaded.load_info,
        platform_info: PlatformInfo::Multiboot {
            command_line,
            multiboot_info_addr: NonZeroU64::new(boot_area + MBI_OFFSET)
                .expect("the boot area is above 1 MiB"),
        },
    };
    let raw_boot_info = write_boot_info(boot_area, RawBootInfo::from(boot_info));
    say!(
        "core loaded at {core_start:#x}..{:#x}; entering it",
        core_start + core_len
    );
    // SAFETY: the entry point comes from the verified core ELF, which
    // hermit-entry has just loaded and relocated at `core_start`; its
    // signature is the hermit-entry contract the core asserts at compile time.
    let entry: Entry = unsafe { core::mem::transmute::<u64, Entry>(loaded.entry_point) };
    // SAFETY: the core takes over the machine; the boot info lives in the
    // boot area, which the core keeps reserved.
    unsafe { entry(raw_boot_info, 0) }
}

/// How many bytes of usable RAM follow `start`, capped by the container's own
/// declared length once its header has been read.
fn container_len(start: u64, map: &MemoryMap<'_>) -> Result<u64, Failure> {
    let region =
        available_region_containing(map, start).ok_or(Failure::ContainerOutsideRam(start))?;
    let available = region.end().min(MAPPED_LIMIT) - start;
    // SAFETY: the range is usable RAM below 4 GiB; the loader writes nothing
    // until the returned length has been computed and this slice is gone.
    let window = unsafe { phys::bytes(start, available as usize) };
    Ok(Image::parse(window)?.total_len())
}

fn available_region_containing(map: &MemoryMap<'_>, addr: u64) -> Option<Region> {
    map.clone()
        .find(|r| r.kind == RegionKind::Available && r.base <= addr && addr < r.end())
}

/// Checks that `start..start + len` is usable RAM the entry code mapped.
fn claim(map: &MemoryMap<'_>, what: &'static str, start: u64, len: u64) -> Result<(), Failure> {
    let fits = start
        .checked_add(len)
        .filter(|&end| end <= MAPPED_LIMIT)
        .and_then(|end| {
            available_region_containing(map, start).filter(|region| end <= region.end())
        })
        .is_some();
    if fits {
        Ok(())
    } else {
        Err(Failure::NoRoom {
            what,
            at: start,
            len,
        })
    }
}

fn read_cmdline(addr: u32, map: &MemoryMap<'_>) -> &'static str {
    /// Longest command line the loader passes on; Multiboot sets no limit.
    const MAX_CMDLINE: u64 = 4096;
    let addr = u64::from(addr);
    let limit = available_region_containing(map, addr)
        .map_or(MAX_CMDLINE.min(0x10_0000u64.saturating_sub(addr)), |r| {
            (r.end() - addr).min(MAX_CMDLINE)
        });
    // SAFETY: the command line lies in RAM the Multiboot loader filled (the
    // window is bounded by its memory region, or by the low megabyte).
    let bytes = unsafe { phys::bytes(addr, limit as usize) };
    mbinfo::cmdline_str(bytes).unwrap_or("")
}

fn write_boot_info(boot_area: u64, raw: RawBootInfo) -> &'static RawBootInfo {
    let at = (boot_area + BOOT_INFO_OFFSET) as *mut RawBootInfo;
    // SAFETY: the boot area is page aligned, at least a page long, reserved
    // for this, and the slot is never written again.
    unsafe {
        at.write(raw);
        &*at
    }
}

const fn align_up(value: u64, align: u64) -> u64 {
    (value + align - 1) & !(align - 1)
}
