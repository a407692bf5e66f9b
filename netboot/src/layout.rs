//! Where the pieces of `bulkhead.img` sit in the file and in memory. Shared by the
//! packer (which writes them, [`crate::multiboot`]) and the loader (which finds its
//! payload by them).
//!
//! The boot loader (QEMU `-kernel`, iPXE, GRUB) copies the whole file flat to
//! [`IMAGE_BASE`] and zero-fills up to the Multiboot `bss_end_addr`, so a file offset
//! and a physical address differ by exactly `IMAGE_BASE`:
//!
//! ```text
//! file offset  physical address
//! 0x0000       0x0010_0000  ELF32 header + one PT_LOAD program header
//! 0x0060       0x0010_0060  Multiboot v1 header (with the address fields)
//! 0x0080       0x0010_0080  payload locator (see PAYLOAD_LOCATOR_OFFSET)
//! 0x1000       0x0010_1000  loader memory image (text, data, bss as zeros)
//! P            IMAGE_BASE+P container, P = payload_address(loader end) - IMAGE_BASE
//! ```

// Untrusted input: no panicking paths outside tests.
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects,
        clippy::panic,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::unreachable,
        clippy::cast_possible_truncation
    )
)]

/// Physical address the file is loaded at: file offset 0 lands here.
pub const IMAGE_BASE: u32 = 0x10_0000;

/// Physical address the loader is linked at (file offset `0x1000`).
pub const LOADER_BASE: u32 = 0x10_1000;

/// File offset of the Multiboot v1 header.
pub const MULTIBOOT_HEADER_OFFSET: u32 = 0x60;

/// File offset of the payload locator: [`PAYLOAD_LOCATOR_MAGIC`], then the container's
/// file offset (`u32`, little-endian) and its length (`u32`, little-endian). Host tools
/// use it to find the container without the loader's symbols; the loader may use it as
/// a cross-check of [`payload_address`]. It is not covered by any checksum.
pub const PAYLOAD_LOCATOR_OFFSET: u32 = 0x80;

/// First eight bytes of the payload locator.
pub const PAYLOAD_LOCATOR_MAGIC: [u8; 8] = *b"BHPAYLD1";

/// Length of the payload locator in bytes.
pub const PAYLOAD_LOCATOR_LEN: u32 = 16;

/// Granule of the loader image, the payload start and the memory size.
pub const PAGE_SIZE: u64 = 4096;

/// Physical address of the container: the end of the loader's memory image (including
/// its bss) rounded up to a page. Saturates at the top of the address space rather
/// than wrapping, so a nonsense `loader_end` can never alias low memory.
pub const fn payload_address(loader_end: u64) -> u64 {
    match loader_end.checked_next_multiple_of(PAGE_SIZE) {
        Some(address) => address,
        None => u64::MAX - (PAGE_SIZE - 1),
    }
}

const _: () = assert!(LOADER_BASE - IMAGE_BASE == 0x1000);
const _: () = assert!(MULTIBOOT_HEADER_OFFSET.is_multiple_of(4) && MULTIBOOT_HEADER_OFFSET < 8192);
const _: () = assert!(PAYLOAD_LOCATOR_OFFSET >= MULTIBOOT_HEADER_OFFSET + 32);
const _: () = assert!(PAYLOAD_LOCATOR_OFFSET + PAYLOAD_LOCATOR_LEN <= LOADER_BASE - IMAGE_BASE);
const _: () = assert!(payload_address(0x10_1000) == 0x10_1000);
const _: () = assert!(payload_address(0x10_1001) == 0x10_2000);
