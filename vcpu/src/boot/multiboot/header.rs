//! The Multiboot header in the kernel image (Multiboot Specification 0.6.96, 3.1
//! "OS image format").

use crate::boot::bytes::u32_at;
use crate::boot::error::BootError;

/// The header's magic (3.1.2).
pub const HEADER_MAGIC: u32 = 0x1BAD_B002;
/// The header must lie within this many bytes of the start of the image, 4-byte aligned
/// (3.1.1).
pub const SEARCH_LIMIT: u64 = 8192;

/// Header `flags` bits (3.1.2). Bits 0..=15 are requirements: a loader that cannot meet
/// one must refuse the kernel. Bits 16..=31 are optional features.
pub mod header_flags {
    /// Align boot modules on 4 KiB boundaries.
    pub const PAGE_ALIGN: u32 = 1 << 0;
    /// Pass memory information (`mem_*`, and the memory map).
    pub const MEMORY_INFO: u32 = 1 << 1;
    /// Pass a video mode table and set a video mode.
    pub const VIDEO_MODE: u32 = 1 << 2;
    /// The address fields at offsets 12..=28 are valid: load by them ("a.out kludge").
    pub const ADDRESS_FIELDS: u32 = 1 << 16;
    /// The requirement bits.
    pub const REQUIREMENTS: u32 = 0xFFFF;
    /// The requirements Bulkhead meets: modules are always page aligned and memory
    /// information always passed. A video mode it cannot set.
    pub const MET: u32 = PAGE_ALIGN | MEMORY_INFO;
}

/// The address fields of a header with [`header_flags::ADDRESS_FIELDS`] (3.1.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddressFields {
    /// Physical address the header itself is loaded to.
    pub header_addr: u32,
    /// Physical address of the start of the text segment: where loading starts.
    pub load_addr: u32,
    /// Physical end of the data segment; 0 means the rest of the file.
    pub load_end_addr: u32,
    /// Physical end of the bss, zeroed by the loader; 0 means no bss.
    pub bss_end_addr: u32,
    /// The entry point.
    pub entry_addr: u32,
}

/// A Multiboot header found in an image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Offset of the header (its magic) in the file.
    pub offset: u64,
    /// Its flags.
    pub flags: u32,
    /// Its address fields, when flag 16 says they are valid.
    pub addresses: Option<AddressFields>,
}

/// Finds the first valid Multiboot header: the magic at a 4-byte aligned offset, with
/// magic, flags and checksum within the first 8 KiB and summing to zero. Headers whose
/// requirements Bulkhead cannot meet are refused.
pub fn find(image: &[u8]) -> Result<Header, BootError> {
    let window = SEARCH_LIMIT.min(image.len() as u64);
    let what = "the Multiboot header";
    let mut bad_checksum = None;
    let mut offset = 0u64;
    while offset.saturating_add(12) <= window {
        if u32_at(image, offset, what)? == HEADER_MAGIC {
            let flags = u32_at(image, offset.saturating_add(4), what)?;
            let checksum = u32_at(image, offset.saturating_add(8), what)?;
            let sum = HEADER_MAGIC.wrapping_add(flags).wrapping_add(checksum);
            if sum == 0 {
                return parse(image, offset, flags);
            }
            bad_checksum.get_or_insert(BootError::BadChecksum { offset, sum });
        }
        offset = offset.saturating_add(4);
    }
    Err(bad_checksum.unwrap_or(BootError::NotRecognized(
        "the kernel has no Multiboot header (magic 0x1BADB002, 4-byte aligned) in its first 8 KiB",
    )))
}

fn parse(image: &[u8], offset: u64, flags: u32) -> Result<Header, BootError> {
    let unmet = flags & header_flags::REQUIREMENTS & !header_flags::MET;
    if unmet != 0 {
        return Err(BootError::UnsupportedFlags { flags: unmet });
    }
    let addresses = if flags & header_flags::ADDRESS_FIELDS != 0 {
        let what = "the Multiboot header's address fields";
        let field = |n: u64| {
            u32_at(
                image,
                offset
                    .saturating_add(12)
                    .saturating_add(n.saturating_mul(4)),
                what,
            )
        };
        Some(AddressFields {
            header_addr: field(0)?,
            load_addr: field(1)?,
            load_end_addr: field(2)?,
            bss_end_addr: field(3)?,
            entry_addr: field(4)?,
        })
    } else {
        None
    };
    Ok(Header {
        offset,
        flags,
        addresses,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::boot::test_support::multiboot_header as header;

    /// The header is found at any 4-byte aligned offset whose 12 bytes end within 8 KiB,
    /// and not past that (3.1.1).
    #[test]
    fn search_window() {
        let mut image = vec![0u8; 16384];
        let h = header(0, None);
        image[8180..8192].copy_from_slice(&h);
        assert_eq!(find(&image).map(|h| h.offset), Ok(8180));
        image[8180..8192].fill(0);
        image[8184..8196].copy_from_slice(&h);
        assert!(matches!(find(&image), Err(BootError::NotRecognized(_))));
        let mut unaligned = vec![0u8; 64];
        unaligned[6..18].copy_from_slice(&h);
        assert!(find(&unaligned).is_err());
    }

    /// A bad checksum is reported with its offset and sum; a valid header later wins.
    #[test]
    fn checksum() {
        let mut image = vec![0u8; 64];
        let mut h = header(0, None);
        h[8] ^= 1;
        image[0..12].copy_from_slice(&h);
        assert_eq!(
            find(&image),
            Err(BootError::BadChecksum { offset: 0, sum: 1 })
        );
        image[16..28].copy_from_slice(&header(header_flags::PAGE_ALIGN, None));
        assert_eq!(find(&image).map(|h| h.offset), Ok(16));
    }

    /// A video mode requirement cannot be met and is refused; unknown optional bits are
    /// fine; address fields are read, and refused when truncated.
    #[test]
    fn flags_and_address_fields() {
        let h = header(header_flags::VIDEO_MODE, None);
        assert_eq!(find(&h), Err(BootError::UnsupportedFlags { flags: 4 }));
        assert!(find(&header(1 << 20, None)).is_ok());
        let h = header(header_flags::ADDRESS_FIELDS, Some([1, 2, 3, 4, 5]));
        let found = find(&h).unwrap();
        assert_eq!(
            found.addresses,
            Some(AddressFields {
                header_addr: 1,
                load_addr: 2,
                load_end_addr: 3,
                bss_end_addr: 4,
                entry_addr: 5
            })
        );
        assert!(matches!(find(&h[..30]), Err(BootError::Truncated { .. })));
    }
}
