//! Recognising guest images by their contents, so that an image that does not match its
//! boot protocol is refused before anything boots. Pure functions over bytes; the front
//! end reads the files.

use alloc::format;
use alloc::string::String;

/// Multiboot (v1) header magic (Multiboot Specification 0.6.96, 3.1.1).
pub const MULTIBOOT_MAGIC: u32 = 0x1BAD_B002;
/// The Multiboot header must lie entirely within this many bytes of the image's start.
pub const MULTIBOOT_SEARCH: usize = 8192;
/// Offset of the `"HdrS"` signature in a bzImage's setup header (Linux boot protocol).
pub const LINUX_HDRS_OFFSET: usize = 0x202;
/// The oldest Linux boot protocol with a 64-bit entry point (2.12, `xloadflags`).
pub const LINUX_MIN_PROTOCOL: u16 = 0x020C;
/// `XEN_ELFNOTE_PHYS32_ENTRY`, the PVH entry note type.
pub const XEN_ELFNOTE_PHYS32_ENTRY: u32 = 18;

/// What a Linux bzImage's setup header says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinuxHeader {
    /// Boot protocol version, e.g. 0x020F for 2.15.
    pub version: u16,
    /// The longest command line the kernel accepts, without the terminating NUL.
    pub cmdline_size: u32,
}

/// What a Multiboot header says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MultibootHeader {
    /// Byte offset of the header in the image.
    pub offset: usize,
    /// The header's flags.
    pub flags: u32,
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(
        b.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        b.get(at..at.checked_add(8)?)?.try_into().ok()?,
    ))
}

/// Reads a bzImage's setup header. The error says what is wrong in words.
pub fn linux_header(image: &[u8]) -> Result<LinuxHeader, String> {
    let sig = image.get(LINUX_HDRS_OFFSET..LINUX_HDRS_OFFSET + 4);
    if sig != Some(b"HdrS".as_slice()) {
        return Err(String::from(
            "not a bzImage: no \"HdrS\" signature at offset 0x202 (is it a vmlinux ELF? use protocol \"pvh\" for that)",
        ));
    }
    let version = u16_at(image, 0x206).unwrap_or(0);
    if version < LINUX_MIN_PROTOCOL {
        return Err(format!(
            "the bzImage speaks boot protocol {}.{}, but 2.12 or newer is needed for the 64-bit entry",
            version >> 8,
            version & 0xFF
        ));
    }
    // xloadflags, bit 0: XLF_KERNEL_64, the 64-bit entry at +0x200 exists.
    let xloadflags = u16_at(image, 0x236).unwrap_or(0);
    if xloadflags & 1 == 0 {
        return Err(String::from(
            "the bzImage has no 64-bit entry point (xloadflags.XLF_KERNEL_64 is clear): a 32-bit kernel?",
        ));
    }
    let cmdline_size = u32_at(image, 0x238).unwrap_or(255);
    Ok(LinuxHeader {
        version,
        cmdline_size,
    })
}

/// Finds a valid Multiboot (v1) header: the magic at a 4-byte aligned offset within the
/// first 8 KiB, whose checksum makes magic + flags + checksum zero.
pub fn multiboot_header(image: &[u8]) -> Result<MultibootHeader, String> {
    let window = &image[..image.len().min(MULTIBOOT_SEARCH)];
    let mut offset = 0;
    let mut bad_checksum = None;
    while offset + 12 <= window.len() {
        if u32_at(window, offset) == Some(MULTIBOOT_MAGIC) {
            let flags = u32_at(window, offset + 4).unwrap_or(0);
            let checksum = u32_at(window, offset + 8).unwrap_or(0);
            if MULTIBOOT_MAGIC.wrapping_add(flags).wrapping_add(checksum) == 0 {
                // Bits 0-15 are requirements the loader must meet or refuse the kernel;
                // Bulkhead meets 0 (aligned modules) and 1 (memory map) and no other.
                let unmet = flags & 0xFFFC;
                if unmet != 0 {
                    return Err(format!(
                        "the Multiboot header requires features Bulkhead does not provide (flags {unmet:#x}; bit 2 is a video mode)"
                    ));
                }
                if flags & (1 << 16) == 0 && image.get(..4) != Some(b"\x7fELF".as_slice()) {
                    return Err(String::from(
                        "the Multiboot header has no address fields (flag 16) and the image is not ELF, so there is no way to load it",
                    ));
                }
                return Ok(MultibootHeader { offset, flags });
            }
            bad_checksum.get_or_insert(offset);
        }
        offset += 4;
    }
    Err(match bad_checksum {
        Some(at) => format!("the Multiboot magic at offset {at:#x} has a bad checksum"),
        None => String::from(
            "no Multiboot header (magic 0x1BADB002, 4-byte aligned) in the first 8 KiB",
        ),
    })
}

/// Finds the PVH entry point: the `XEN_ELFNOTE_PHYS32_ENTRY` note, owner `"Xen"`, in a
/// `PT_NOTE` segment of a little-endian ELF file (32- or 64-bit).
pub fn pvh_entry(image: &[u8]) -> Result<u32, String> {
    if image.get(..4) != Some(b"\x7fELF".as_slice()) {
        return Err(String::from(
            "not an ELF file: PVH kernels are ELF images with the Xen entry note (a bzImage? use protocol \"linux\")",
        ));
    }
    let class = image.get(4).copied();
    if image.get(5) != Some(&1) {
        return Err(String::from("the ELF file is not little-endian"));
    }
    let bad = || String::from("the ELF file's program headers are truncated or malformed");
    let (phoff, phentsize, phnum) = match class {
        Some(1) => (
            u64::from(u32_at(image, 0x1C).ok_or_else(bad)?),
            u16_at(image, 0x2A).ok_or_else(bad)?,
            u16_at(image, 0x2C).ok_or_else(bad)?,
        ),
        Some(2) => (
            u64_at(image, 0x20).ok_or_else(bad)?,
            u16_at(image, 0x36).ok_or_else(bad)?,
            u16_at(image, 0x38).ok_or_else(bad)?,
        ),
        _ => return Err(String::from("the ELF file is neither 32- nor 64-bit")),
    };
    let phoff = usize::try_from(phoff).map_err(|_| bad())?;
    for n in 0..usize::from(phnum) {
        let ph = n
            .checked_mul(usize::from(phentsize))
            .and_then(|o| o.checked_add(phoff))
            .ok_or_else(bad)?;
        let p_type = u32_at(image, ph).ok_or_else(bad)?;
        const PT_NOTE: u32 = 4;
        if p_type != PT_NOTE {
            continue;
        }
        let (offset, size) = if class == Some(1) {
            (
                u64::from(u32_at(image, ph + 4).ok_or_else(bad)?),
                u64::from(u32_at(image, ph + 16).ok_or_else(bad)?),
            )
        } else {
            (
                u64_at(image, ph + 8).ok_or_else(bad)?,
                u64_at(image, ph + 32).ok_or_else(bad)?,
            )
        };
        let start = usize::try_from(offset).map_err(|_| bad())?;
        let end = usize::try_from(offset.saturating_add(size)).map_err(|_| bad())?;
        let Some(notes) = image.get(start..end) else {
            return Err(bad());
        };
        if let Some(entry) = find_xen_entry(notes) {
            return Ok(entry);
        }
    }
    Err(String::from(
        "the ELF file has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY, type 18, owner \"Xen\"): the kernel was built without PVH support",
    ))
}

fn find_xen_entry(notes: &[u8]) -> Option<u32> {
    let align4 = |n: usize| n.checked_add(3).map(|v| v & !3);
    let mut at = 0usize;
    while at + 12 <= notes.len() {
        let namesz = usize::try_from(u32_at(notes, at)?).ok()?;
        let descsz = usize::try_from(u32_at(notes, at + 4)?).ok()?;
        let kind = u32_at(notes, at + 8)?;
        let name_at = at + 12;
        let desc_at = name_at.checked_add(align4(namesz)?)?;
        let next = desc_at.checked_add(align4(descsz)?)?;
        let name = notes.get(name_at..name_at.checked_add(namesz)?)?;
        if kind == XEN_ELFNOTE_PHYS32_ENTRY && name == b"Xen\0" && descsz >= 4 {
            return u32_at(notes, desc_at);
        }
        at = next;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Random bytes are none of the formats, and the sniffers do not panic on short input.
    #[test]
    fn short_inputs_are_refused() {
        for len in 0..64 {
            let bytes = alloc::vec![0x7Fu8; len];
            assert!(linux_header(&bytes).is_err());
            assert!(multiboot_header(&bytes).is_err());
            assert!(pvh_entry(&bytes).is_err());
        }
    }

    /// A Multiboot header past the 8 KiB window is not found (spec 3.1.1).
    #[test]
    fn multiboot_window_is_8k() {
        let mut img = alloc::vec![0u8; 16384];
        let at = 8192;
        img[at..at + 4].copy_from_slice(&MULTIBOOT_MAGIC.to_le_bytes());
        let flags: u32 = 1 << 16;
        img[at + 4..at + 8].copy_from_slice(&flags.to_le_bytes());
        let sum = 0u32.wrapping_sub(MULTIBOOT_MAGIC).wrapping_sub(flags);
        img[at + 8..at + 12].copy_from_slice(&sum.to_le_bytes());
        assert!(multiboot_header(&img).is_err());
        img.copy_within(at..at + 12, 8180);
        assert_eq!(multiboot_header(&img).map(|h| h.offset), Ok(8180));
    }
}
