//! Reading the Multiboot (v1) information structure.
//!
//! The loader and the core both need the firmware's memory map and command
//! line. They copy the raw bytes out of physical memory (the one unsafe step,
//! done by the caller) and parse them here, where every offset is checked, so
//! a malformed structure yields `None` or a shorter map, never a wild read.
//! Layout: Multiboot Specification 0.6.96, section 3.3 "Boot information format".

/// The magic value a Multiboot loader leaves in EAX.
pub const BOOTLOADER_MAGIC: u32 = 0x2BAD_B002;
/// Size of the information structure up to and including the framebuffer fields.
pub const INFO_SIZE: usize = 116;

/// `flags` bit: `mem_lower`/`mem_upper` are valid.
pub const FLAG_MEMORY: u32 = 1 << 0;
/// `flags` bit: `cmdline` is valid.
pub const FLAG_CMDLINE: u32 = 1 << 2;
/// `flags` bit: `mods_count`/`mods_addr` are valid.
pub const FLAG_MODS: u32 = 1 << 3;
/// `flags` bit: `mmap_length`/`mmap_addr` are valid.
pub const FLAG_MMAP: u32 = 1 << 6;

/// Byte offsets of the fields this project uses.
mod offset {
    pub const FLAGS: usize = 0;
    pub const CMDLINE: usize = 16;
    pub const MODS_COUNT: usize = 20;
    pub const MODS_ADDR: usize = 24;
    pub const MMAP_LENGTH: usize = 44;
    pub const MMAP_ADDR: usize = 48;
}

fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let raw = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes(raw.try_into().ok()?))
}

fn read_u64(bytes: &[u8], at: usize) -> Option<u64> {
    let raw = bytes.get(at..at.checked_add(8)?)?;
    Some(u64::from_le_bytes(raw.try_into().ok()?))
}

/// The fixed part of the information structure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Info<'a> {
    bytes: &'a [u8],
}

impl<'a> Info<'a> {
    /// Wraps the first [`INFO_SIZE`] bytes of the structure; `None` if shorter.
    pub fn new(bytes: &'a [u8]) -> Option<Self> {
        (bytes.len() >= INFO_SIZE).then_some(Self { bytes })
    }

    /// The `flags` word.
    pub fn flags(&self) -> u32 {
        read_u32(self.bytes, offset::FLAGS).unwrap_or(0)
    }

    fn field(&self, flag: u32, at: usize) -> Option<u32> {
        (self.flags() & flag != 0)
            .then(|| read_u32(self.bytes, at))
            .flatten()
    }

    /// Physical address of the NUL-terminated command line.
    pub fn cmdline_addr(&self) -> Option<u32> {
        self.field(FLAG_CMDLINE, offset::CMDLINE)
    }

    /// Physical address and byte length of the memory map.
    pub fn mmap(&self) -> Option<(u32, u32)> {
        Some((
            self.field(FLAG_MMAP, offset::MMAP_ADDR)?,
            self.field(FLAG_MMAP, offset::MMAP_LENGTH)?,
        ))
    }

    /// Physical address and count of the module list.
    pub fn mods(&self) -> Option<(u32, u32)> {
        Some((
            self.field(FLAG_MODS, offset::MODS_ADDR)?,
            self.field(FLAG_MODS, offset::MODS_COUNT)?,
        ))
    }

    /// A copy of the structure with the memory map and command line moved to
    /// new addresses, as the loader hands it to the core.
    pub fn relocated(&self, mmap_addr: u32, cmdline_addr: Option<u32>) -> [u8; INFO_SIZE] {
        let mut out = [0u8; INFO_SIZE];
        out.copy_from_slice(&self.bytes[..INFO_SIZE]);
        out[offset::MMAP_ADDR..offset::MMAP_ADDR + 4].copy_from_slice(&mmap_addr.to_le_bytes());
        let mut flags = self.flags();
        match cmdline_addr {
            Some(addr) => {
                out[offset::CMDLINE..offset::CMDLINE + 4].copy_from_slice(&addr.to_le_bytes());
                flags |= FLAG_CMDLINE;
            }
            None => flags &= !FLAG_CMDLINE,
        }
        // The core is never handed modules: everything it needs is in the image.
        flags &= !FLAG_MODS;
        out[offset::FLAGS..offset::FLAGS + 4].copy_from_slice(&flags.to_le_bytes());
        out
    }
}

/// What a memory-map entry says its range is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegionKind {
    /// Usable RAM (type 1).
    Available,
    /// ACPI tables that may be reclaimed after reading (type 3).
    AcpiReclaimable,
    /// ACPI non-volatile storage (type 4).
    AcpiNvs,
    /// Defective RAM (type 5).
    Defective,
    /// Anything else: reserved.
    Reserved(u32),
}

impl RegionKind {
    fn from_raw(raw: u32) -> Self {
        match raw {
            1 => Self::Available,
            3 => Self::AcpiReclaimable,
            4 => Self::AcpiNvs,
            5 => Self::Defective,
            other => Self::Reserved(other),
        }
    }
}

/// One range of the firmware memory map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    /// First byte.
    pub base: u64,
    /// Length in bytes.
    pub len: u64,
    /// What the range is.
    pub kind: RegionKind,
}

impl Region {
    /// One past the last byte, saturating at the top of the address space.
    pub fn end(&self) -> u64 {
        self.base.saturating_add(self.len)
    }
}

/// Iterator over the raw memory-map bytes (`mmap_length` bytes at `mmap_addr`).
///
/// Each entry starts with its own size (not counting the size field), so the
/// walk follows that size; an entry too short to hold base, length and type
/// ends the walk rather than being misread.
#[derive(Clone, Debug)]
pub struct MemoryMap<'a> {
    bytes: &'a [u8],
}

impl<'a> MemoryMap<'a> {
    /// Wraps the raw map.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }
}

impl Iterator for MemoryMap<'_> {
    type Item = Region;

    fn next(&mut self) -> Option<Region> {
        loop {
            let size = read_u32(self.bytes, 0)? as usize;
            if size < 20 {
                self.bytes = &[];
                return None;
            }
            let entry = self.bytes.get(4..4usize.checked_add(size)?)?;
            self.bytes = &self.bytes[4 + size..];
            let region = Region {
                base: read_u64(entry, 0)?,
                len: read_u64(entry, 8)?,
                kind: RegionKind::from_raw(read_u32(entry, 16)?),
            };
            if region.len != 0 {
                return Some(region);
            }
        }
    }
}

/// The command line up to its NUL (or the whole slice), if it is UTF-8.
pub fn cmdline_str(bytes: &[u8]) -> Option<&str> {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    core::str::from_utf8(&bytes[..end]).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(base: u64, len: u64, kind: u32) -> [u8; 24] {
        let mut e = [0u8; 24];
        e[0..4].copy_from_slice(&20u32.to_le_bytes());
        e[4..12].copy_from_slice(&base.to_le_bytes());
        e[12..20].copy_from_slice(&len.to_le_bytes());
        e[20..24].copy_from_slice(&kind.to_le_bytes());
        e
    }

    /// The map QEMU's SeaBIOS reports for `-m 128M` reads back entry by entry.
    #[test]
    fn walks_a_bios_map() {
        let mut raw = Vec::new();
        raw.extend(entry(0, 0x9fc00, 1));
        raw.extend(entry(0x9fc00, 0x400, 2));
        raw.extend(entry(0x100000, 0x7ee0000, 1));
        raw.extend(entry(0xfffc0000, 0x40000, 2));
        let regions: Vec<_> = MemoryMap::new(&raw).collect();
        assert_eq!(regions.len(), 4);
        assert_eq!(regions[2].kind, RegionKind::Available);
        assert_eq!(regions[2].end(), 0x7fe0000);
        assert_eq!(regions[3].kind, RegionKind::Reserved(2));
    }

    /// A truncated or undersized entry ends the walk instead of being misread.
    #[test]
    fn stops_at_malformed_entries() {
        let mut raw = Vec::new();
        raw.extend(entry(0, 0x1000, 1));
        raw.extend(&entry(0x1000, 0x1000, 1)[..10]);
        assert_eq!(MemoryMap::new(&raw).count(), 1);
        let mut tiny = entry(0, 0x1000, 1);
        tiny[0..4].copy_from_slice(&4u32.to_le_bytes());
        assert_eq!(MemoryMap::new(&tiny).count(), 0);
        for cut in 0..raw.len() {
            let _ = MemoryMap::new(&raw[..cut]).count();
        }
    }

    /// Zero-length entries are skipped; a larger entry size is honoured.
    #[test]
    fn honours_entry_size() {
        let mut raw = Vec::new();
        raw.extend(entry(0, 0, 1));
        let mut big = Vec::from(entry(0x2000, 0x1000, 1));
        big[0..4].copy_from_slice(&28u32.to_le_bytes());
        big.extend([0xAA; 8]);
        raw.extend(big);
        raw.extend(entry(0x5000, 0x1000, 3));
        let regions: Vec<_> = MemoryMap::new(&raw).collect();
        assert_eq!(regions.len(), 2);
        assert_eq!(regions[0].base, 0x2000);
        assert_eq!(regions[1].kind, RegionKind::AcpiReclaimable);
    }

    /// Fields are read only when their flag says they are valid, and the
    /// relocated copy points at the new map and drops modules.
    #[test]
    fn info_fields_follow_flags() {
        let mut raw = [0u8; INFO_SIZE];
        raw[0..4].copy_from_slice(&(FLAG_MMAP | FLAG_MODS).to_le_bytes());
        raw[16..20].copy_from_slice(&0x1234u32.to_le_bytes());
        raw[44..48].copy_from_slice(&48u32.to_le_bytes());
        raw[48..52].copy_from_slice(&0x7000u32.to_le_bytes());
        let info = Info::new(&raw).unwrap();
        assert_eq!(info.cmdline_addr(), None);
        assert_eq!(info.mmap(), Some((0x7000, 48)));
        let moved = info.relocated(0x20_0000, Some(0x20_1000));
        let moved = Info::new(&moved).unwrap();
        assert_eq!(moved.mmap(), Some((0x20_0000, 48)));
        assert_eq!(moved.cmdline_addr(), Some(0x20_1000));
        assert_eq!(moved.mods(), None);
        assert!(Info::new(&raw[..100]).is_none());
    }

    /// The command line stops at its NUL and must be UTF-8.
    #[test]
    fn cmdline() {
        assert_eq!(
            cmdline_str(b"bulkhead.img smp\0junk"),
            Some("bulkhead.img smp")
        );
        assert_eq!(cmdline_str(b"abc"), Some("abc"));
        assert_eq!(cmdline_str(&[0xff, 0]), None);
    }
}
