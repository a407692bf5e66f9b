//! `struct boot_params`, the zero page (`Documentation/arch/x86/zero-page.rst`;
//! `arch/x86/include/uapi/asm/bootparam.h`).

use super::header::{SETUP_HEADER_START, SetupHeader, offset as hdr};
use crate::boot::bytes::{Buf, slice};
use crate::boot::error::BootError;
use crate::boot::layout::{MemoryLayout, PhysRange};

/// Size of `boot_params`: one page.
pub const BOOT_PARAMS_SIZE: usize = 4096;
/// Entries `e820_table` holds (`E820_MAX_ENTRIES_ZEROPAGE`).
pub const E820_MAX: usize = 128;
/// Size of one `struct boot_e820_entry` (packed: `addr` u64, `size` u64, `type` u32).
pub const E820_ENTRY_SIZE: usize = 20;
/// `type_of_loader` for a loader without an assigned ID.
pub const LOADER_UNDEFINED: u8 = 0xFF;

/// Offsets in `boot_params` outside the setup header.
pub mod offset {
    /// `acpi_rsdp_addr` (protocol 2.14).
    pub const ACPI_RSDP_ADDR: usize = 0x070;
    /// `ext_ramdisk_image`: `ramdisk_image` bits 32..=63.
    pub const EXT_RAMDISK_IMAGE: usize = 0x0C0;
    /// `ext_ramdisk_size`: `ramdisk_size` bits 32..=63.
    pub const EXT_RAMDISK_SIZE: usize = 0x0C4;
    /// `ext_cmd_line_ptr`: `cmd_line_ptr` bits 32..=63.
    pub const EXT_CMD_LINE_PTR: usize = 0x0C8;
    /// `e820_entries`.
    pub const E820_ENTRIES: usize = 0x1E8;
    /// `e820_table`.
    pub const E820_TABLE: usize = 0x2D0;
}

fn at(offset: u64) -> usize {
    usize::try_from(offset).unwrap_or(usize::MAX)
}

fn low(value: u64) -> u32 {
    (value & 0xFFFF_FFFF) as u32
}

fn high(value: u64) -> u32 {
    (value >> 32) as u32
}

/// What goes into the zero page besides the image's own header.
pub(crate) struct ZeroPage {
    pub(crate) cmdline: u64,
    pub(crate) initrd: Option<PhysRange>,
}

/// Builds `boot_params`: zeros, the image's setup header copied in (boot.rst, "64-bit
/// boot protocol": from 0x1F1 to 0x202 + the byte at 0x201), then the fields a boot
/// loader fills: `type_of_loader`, `cmd_line_ptr`, `ramdisk_image`/`ramdisk_size` and
/// their `ext_` high halves, the E820 table, and `acpi_rsdp_addr`.
pub(crate) fn build(
    image: &[u8],
    header: &SetupHeader,
    layout: &MemoryLayout,
    page: &ZeroPage,
) -> Result<Buf, BootError> {
    let mut bp = Buf::new(BOOT_PARAMS_SIZE);
    let setup_len = header.end.saturating_sub(SETUP_HEADER_START);
    bp.put(
        at(SETUP_HEADER_START),
        slice(
            image,
            SETUP_HEADER_START,
            setup_len,
            "the bzImage setup header",
        )?,
    );

    bp.u8(at(hdr::TYPE_OF_LOADER), LOADER_UNDEFINED);
    bp.u32(at(hdr::CMD_LINE_PTR), low(page.cmdline));
    bp.u32(offset::EXT_CMD_LINE_PTR, high(page.cmdline));
    let (image_at, size) = page.initrd.map_or((0, 0), |r| (r.start(), r.len()));
    bp.u32(at(hdr::RAMDISK_IMAGE), low(image_at));
    bp.u32(offset::EXT_RAMDISK_IMAGE, high(image_at));
    bp.u32(at(hdr::RAMDISK_SIZE), low(size));
    bp.u32(offset::EXT_RAMDISK_SIZE, high(size));

    let map = layout.memory_map();
    if map.len() > E820_MAX {
        return Err(BootError::TooManyMapEntries {
            count: map.len(),
            max: E820_MAX,
            protocol: "the Linux zero page",
        });
    }
    for (i, entry) in map.iter().enumerate() {
        let e = offset::E820_TABLE.saturating_add(i.saturating_mul(E820_ENTRY_SIZE));
        bp.u64(e, entry.range.start());
        bp.u64(e.saturating_add(8), entry.range.len());
        bp.u32(e.saturating_add(16), entry.kind.e820());
    }
    bp.u8(
        offset::E820_ENTRIES,
        u8::try_from(map.len()).unwrap_or(u8::MAX),
    );

    // Older kernels ignore the field; 2.14 and later read it instead of scanning for the
    // RSDP.
    if let Some(rsdp) = layout.rsdp() {
        bp.u64(offset::ACPI_RSDP_ADDR, rsdp);
    }
    Ok(bp)
}
