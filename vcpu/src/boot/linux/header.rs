//! The bzImage setup header (`Documentation/arch/x86/boot.rst`, "The Real-Mode Kernel
//! Header" and "Details of Header Fields"). Offsets are from the start of the image,
//! which are also the offsets in `boot_params`.

use crate::boot::bytes::{u8_at, u16_at, u32_at, u64_at};
use crate::boot::error::BootError;

/// Where the setup header starts.
pub const SETUP_HEADER_START: u64 = 0x1F1;
/// The setup header may not reach past this offset of `boot_params`, where
/// `edd_mbr_sig_buffer` begins.
pub const SETUP_HEADER_LIMIT: u64 = 0x290;
/// `"HdrS"`, little-endian.
pub const HDRS_MAGIC: u32 = u32::from_le_bytes(*b"HdrS");
/// The boot sector signature.
pub const BOOT_FLAG: u16 = 0xAA55;
/// The oldest protocol with a 64-bit entry point (2.12, which added `xloadflags`).
pub const MIN_VERSION: u16 = 0x020C;
/// The protocol that added `acpi_rsdp_addr` (2.14).
pub const RSDP_VERSION: u16 = 0x020E;

/// Field offsets.
pub mod offset {
    /// `setup_sects`: 512-byte sectors of real-mode setup after the boot sector (0 means 4).
    pub const SETUP_SECTS: u64 = 0x1F1;
    /// `boot_flag`: 0xAA55.
    pub const BOOT_FLAG: u64 = 0x1FE;
    /// `jump`: its second byte is the length of the header after 0x202.
    pub const JUMP: u64 = 0x200;
    /// `header`: "HdrS".
    pub const HEADER: u64 = 0x202;
    /// `version`.
    pub const VERSION: u64 = 0x206;
    /// `type_of_loader`.
    pub const TYPE_OF_LOADER: u64 = 0x210;
    /// `loadflags`.
    pub const LOADFLAGS: u64 = 0x211;
    /// `ramdisk_image`.
    pub const RAMDISK_IMAGE: u64 = 0x218;
    /// `ramdisk_size`.
    pub const RAMDISK_SIZE: u64 = 0x21C;
    /// `cmd_line_ptr`.
    pub const CMD_LINE_PTR: u64 = 0x228;
    /// `initrd_addr_max`: the highest address the initrd may occupy.
    pub const INITRD_ADDR_MAX: u64 = 0x22C;
    /// `kernel_alignment`.
    pub const KERNEL_ALIGNMENT: u64 = 0x230;
    /// `relocatable_kernel`.
    pub const RELOCATABLE_KERNEL: u64 = 0x234;
    /// `xloadflags`.
    pub const XLOADFLAGS: u64 = 0x236;
    /// `cmdline_size`: the longest command line without its NUL.
    pub const CMDLINE_SIZE: u64 = 0x238;
    /// `pref_address`.
    pub const PREF_ADDRESS: u64 = 0x258;
    /// `init_size`: bytes the kernel needs from its load address to decompress and start.
    pub const INIT_SIZE: u64 = 0x260;
    /// One past `init_size`: every 2.12 header reaches at least this far.
    pub const INIT_SIZE_END: u64 = 0x264;
}

/// `loadflags` bits.
pub mod loadflags {
    /// The protected-mode code loads at 0x100000 (a bzImage).
    pub const LOADED_HIGH: u8 = 1 << 0;
}

/// `xloadflags` bits.
pub mod xloadflags {
    /// The kernel has the 64-bit entry point at load address + 0x200.
    pub const KERNEL_64: u16 = 1 << 0;
    /// `boot_params`, command line and initrd may lie above 4 GiB.
    pub const CAN_BE_LOADED_ABOVE_4G: u16 = 1 << 1;
}

/// What the loader needs from the setup header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SetupHeader {
    /// Protocol version, e.g. 0x020F for 2.15.
    pub version: u16,
    /// One past the header's last byte (0x202 + the byte at 0x201).
    pub end: u64,
    /// File offset of the protected-mode kernel: `(setup_sects + 1) * 512`.
    pub kernel_offset: u64,
    /// `xloadflags`.
    pub xloadflags: u16,
    /// `initrd_addr_max`.
    pub initrd_addr_max: u32,
    /// `kernel_alignment`.
    pub kernel_alignment: u32,
    /// `relocatable_kernel` is nonzero.
    pub relocatable: bool,
    /// `cmdline_size`.
    pub cmdline_size: u32,
    /// `pref_address`.
    pub pref_address: u64,
    /// `init_size`.
    pub init_size: u32,
}

/// Reads and checks the setup header of a bzImage.
pub fn parse(image: &[u8]) -> Result<SetupHeader, BootError> {
    let what = "the bzImage setup header";
    if u16_at(image, offset::BOOT_FLAG, what)? != BOOT_FLAG {
        return Err(BootError::NotRecognized(
            "the kernel is not a bzImage: no boot flag 0xAA55 at offset 0x1FE",
        ));
    }
    if u32_at(image, offset::HEADER, what)? != HDRS_MAGIC {
        return Err(BootError::NotRecognized(
            "the kernel is not a bzImage: no \"HdrS\" signature at offset 0x202 \
             (a vmlinux ELF? boot it by PVH)",
        ));
    }
    let version = u16_at(image, offset::VERSION, what)?;
    if version < MIN_VERSION {
        return Err(BootError::ProtocolTooOld { found: version });
    }
    let end =
        offset::HEADER.saturating_add(u8_at(image, offset::JUMP.saturating_add(1), what)?.into());
    if end > SETUP_HEADER_LIMIT {
        return Err(BootError::Malformed {
            detail: "the setup header claims to end past offset 0x290, beyond its room in boot_params",
            value: end,
        });
    }
    if end < offset::INIT_SIZE_END {
        return Err(BootError::Malformed {
            detail: "the setup header ends before init_size, too short for its protocol version",
            value: end,
        });
    }
    crate::boot::bytes::slice(image, 0, end, what)?;
    if u8_at(image, offset::LOADFLAGS, what)? & loadflags::LOADED_HIGH == 0 {
        return Err(BootError::Unsupported(
            "the kernel is a zImage (loadflags.LOADED_HIGH clear); only bzImages are loaded",
        ));
    }
    let xloadflags = u16_at(image, offset::XLOADFLAGS, what)?;
    if xloadflags & xloadflags::KERNEL_64 == 0 {
        return Err(BootError::Unsupported(
            "the bzImage has no 64-bit entry point (xloadflags.XLF_KERNEL_64 clear): a 32-bit kernel?",
        ));
    }
    let setup_sects = match u8_at(image, offset::SETUP_SECTS, what)? {
        0 => 4,
        n => u64::from(n),
    };
    let kernel_alignment = u32_at(image, offset::KERNEL_ALIGNMENT, what)?;
    let relocatable = u8_at(image, offset::RELOCATABLE_KERNEL, what)? != 0;
    if relocatable && !kernel_alignment.is_power_of_two() {
        return Err(BootError::Malformed {
            detail: "the relocatable kernel's kernel_alignment is not a power of two",
            value: kernel_alignment.into(),
        });
    }
    Ok(SetupHeader {
        version,
        end,
        kernel_offset: setup_sects.saturating_add(1).saturating_mul(512),
        xloadflags,
        initrd_addr_max: u32_at(image, offset::INITRD_ADDR_MAX, what)?,
        kernel_alignment,
        relocatable,
        cmdline_size: u32_at(image, offset::CMDLINE_SIZE, what)?,
        pref_address: u64_at(image, offset::PREF_ADDRESS, what)?,
        init_size: u32_at(image, offset::INIT_SIZE, what)?,
    })
}
