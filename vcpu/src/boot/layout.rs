//! The partition's guest-physical memory layout, as the boot protocols report it to the
//! guest.

use alloc::vec::Vec;
use core::fmt;

use super::error::BootError;

/// A half-open range of guest-physical addresses, `start..end`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PhysRange {
    start: u64,
    end: u64,
}

impl PhysRange {
    /// `start..end`; an `end` below `start` gives the empty range at `start`.
    pub const fn new(start: u64, end: u64) -> Self {
        Self {
            start,
            end: if end < start { start } else { end },
        }
    }

    /// `start..start + len`, or `None` when that passes 2^64.
    pub const fn from_len(start: u64, len: u64) -> Option<Self> {
        match start.checked_add(len) {
            Some(end) => Some(Self { start, end }),
            None => None,
        }
    }

    /// The first address.
    pub const fn start(self) -> u64 {
        self.start
    }

    /// One past the last address.
    pub const fn end(self) -> u64 {
        self.end
    }

    /// Length in bytes.
    pub const fn len(self) -> u64 {
        self.end.saturating_sub(self.start)
    }

    /// No addresses at all.
    pub const fn is_empty(self) -> bool {
        self.start >= self.end
    }

    /// `addr` lies in the range.
    pub const fn contains(self, addr: u64) -> bool {
        self.start <= addr && addr < self.end
    }

    /// `other` lies entirely in this range (an empty `other` inside or at either end).
    pub const fn covers(self, other: PhysRange) -> bool {
        self.start <= other.start && other.end <= self.end
    }

    /// The two ranges share an address.
    pub const fn overlaps(self, other: PhysRange) -> bool {
        self.start < other.end && other.start < self.end && !self.is_empty() && !other.is_empty()
    }
}

impl fmt::Display for PhysRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}..{:#x}", self.start, self.end)
    }
}

/// What a range of the guest's memory map holds. The numbers are the E820 types (ACPI
/// 6.5, 15.1 "INT 15H, E820H", Table 15.1), which Multiboot's memory map and PVH's
/// `hvm_memmap_table_entry` use unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u32)]
pub enum MemoryType {
    /// Usable RAM (`AddressRangeMemory`).
    Ram = 1,
    /// Reserved: do not use (`AddressRangeReserved`).
    Reserved = 2,
    /// ACPI tables, reclaimable once read (`AddressRangeACPI`).
    Acpi = 3,
    /// ACPI NVS: must be preserved (`AddressRangeNVS`).
    AcpiNvs = 4,
    /// Memory with errors (`AddressRangeUnusable`).
    Unusable = 5,
}

impl MemoryType {
    /// The E820 type number.
    pub const fn e820(self) -> u32 {
        self as u32
    }

    /// What it is, in words.
    pub const fn name(self) -> &'static str {
        match self {
            MemoryType::Ram => "RAM",
            MemoryType::Reserved => "reserved",
            MemoryType::Acpi => "ACPI tables",
            MemoryType::AcpiNvs => "ACPI NVS",
            MemoryType::Unusable => "unusable",
        }
    }
}

/// One entry of the memory map a guest is given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MapEntry {
    /// The addresses.
    pub range: PhysRange,
    /// What they hold.
    pub kind: MemoryType,
}

/// The partition's guest-physical memory: where its RAM is, which ranges the guest must
/// leave alone (ACPI tables the core built, say), where the ACPI RSDP is, and where the
/// boot builders put their structures.
///
/// The memory map every protocol hands the guest ([`memory_map`](Self::memory_map)) is
/// the RAM minus [`LEGACY_HOLE`](Self::LEGACY_HOLE) minus the reserved regions, plus
/// the reserved regions with their types, sorted. The legacy hole (640 KiB to 1 MiB) is
/// RAM-backed in a partition but a PC keeps video memory and ROMs there, and kernels
/// expect it not to be listed as RAM; only the real-mode protocol loads into it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemoryLayout {
    ram: Vec<PhysRange>,
    reserved: Vec<MapEntry>,
    rsdp: Option<u64>,
    boot_area: PhysRange,
}

impl MemoryLayout {
    /// Where boot structures go unless [`with_boot_area`](Self::with_boot_area) says
    /// otherwise: 0x7000..0xA0000, conventional memory below the legacy hole, clear of the
    /// real-mode interrupt table and BIOS data area below 0x500 and of anything a kernel
    /// links at 1 MiB.
    pub const DEFAULT_BOOT_AREA: PhysRange = PhysRange::new(0x7000, 0xA_0000);

    /// 640 KiB to 1 MiB: video memory and ROMs on a PC.
    pub const LEGACY_HOLE: PhysRange = PhysRange::new(0xA_0000, 0x10_0000);

    /// A layout with RAM at `ram` (any order; adjacent ranges are merged), nothing
    /// reserved, no RSDP, and the default boot area. Empty or overlapping RAM ranges are
    /// refused.
    pub fn new(ram: &[PhysRange]) -> Result<Self, BootError> {
        let mut sorted: Vec<PhysRange> = ram.to_vec();
        sorted.sort_unstable();
        let mut merged: Vec<PhysRange> = Vec::with_capacity(sorted.len());
        for range in sorted {
            if range.is_empty() {
                return Err(BootError::Layout {
                    detail: "an empty RAM range",
                    range,
                });
            }
            match merged.last_mut() {
                Some(last) if last.overlaps(range) => {
                    return Err(BootError::Layout {
                        detail: "RAM ranges overlap",
                        range,
                    });
                }
                Some(last) if last.end == range.start => last.end = range.end,
                _ => merged.push(range),
            }
        }
        if merged.is_empty() {
            return Err(BootError::Layout {
                detail: "the partition has no RAM",
                range: PhysRange::default(),
            });
        }
        Ok(Self {
            ram: merged,
            reserved: Vec::new(),
            rsdp: None,
            boot_area: Self::DEFAULT_BOOT_AREA,
        })
    }

    /// RAM at guest-physical `0..size`.
    pub fn flat(size: u64) -> Result<Self, BootError> {
        Self::new(&[PhysRange::new(0, size)])
    }

    /// Adds a reserved region of type `kind`: inside RAM (ACPI tables the core wrote
    /// into the partition's memory), or outside it (an MMIO range the guest should
    /// know is taken). It must not overlap another reserved region, and `kind` must not
    /// be [`MemoryType::Ram`].
    pub fn reserve(mut self, range: PhysRange, kind: MemoryType) -> Result<Self, BootError> {
        if range.is_empty() {
            return Err(BootError::Layout {
                detail: "an empty reserved region",
                range,
            });
        }
        if kind == MemoryType::Ram {
            return Err(BootError::Layout {
                detail: "a reserved region cannot have type RAM",
                range,
            });
        }
        if self.reserved.iter().any(|r| r.range.overlaps(range)) {
            return Err(BootError::Layout {
                detail: "reserved regions overlap",
                range,
            });
        }
        self.reserved.push(MapEntry { range, kind });
        self.reserved.sort_unstable_by_key(|r| r.range);
        Ok(self)
    }

    /// Records where the ACPI RSDP is, for the protocols that pass it on (PVH
    /// `rsdp_paddr`, Linux `acpi_rsdp_addr`).
    pub fn with_rsdp(mut self, rsdp: u64) -> Self {
        self.rsdp = Some(rsdp);
        self
    }

    /// Moves the boot structure area. It must lie in RAM, outside the legacy hole and the
    /// reserved regions, and below 4 GiB; [`prepare`](super::prepare) checks.
    pub fn with_boot_area(mut self, area: PhysRange) -> Self {
        self.boot_area = area;
        self
    }

    /// The RAM ranges, sorted and merged.
    pub fn ram(&self) -> &[PhysRange] {
        &self.ram
    }

    /// The reserved regions, sorted.
    pub fn reserved(&self) -> &[MapEntry] {
        &self.reserved
    }

    /// The RSDP address, if known.
    pub fn rsdp(&self) -> Option<u64> {
        self.rsdp
    }

    /// Where boot structures go.
    pub fn boot_area(&self) -> PhysRange {
        self.boot_area
    }

    /// `range` lies entirely inside one RAM range.
    pub fn in_ram(&self, range: PhysRange) -> bool {
        self.ram.iter().any(|r| r.covers(range))
    }

    /// One past the highest RAM address.
    pub fn ram_end(&self) -> u64 {
        self.ram.last().map_or(0, |r| r.end)
    }

    /// The RAM a guest may use: RAM minus the legacy hole minus the reserved regions,
    /// sorted.
    pub fn usable_ram(&self) -> Vec<PhysRange> {
        let mut pieces = self.ram.clone();
        pieces = subtract(&pieces, Self::LEGACY_HOLE);
        for r in &self.reserved {
            pieces = subtract(&pieces, r.range);
        }
        pieces
    }

    /// The memory map handed to the guest: [`usable_ram`](Self::usable_ram) as
    /// [`MemoryType::Ram`] plus the reserved regions, sorted by address.
    pub fn memory_map(&self) -> Vec<MapEntry> {
        let mut map: Vec<MapEntry> = self
            .usable_ram()
            .into_iter()
            .map(|range| MapEntry {
                range,
                kind: MemoryType::Ram,
            })
            .collect();
        map.extend(self.reserved.iter().copied());
        map.sort_unstable_by_key(|e| e.range);
        map
    }

    /// The length of usable RAM starting exactly at `start` (Multiboot's `mem_lower` and
    /// `mem_upper` count from 0 and from 1 MiB).
    pub fn usable_run_from(&self, start: u64) -> u64 {
        self.usable_ram()
            .iter()
            .find(|r| r.start == start)
            .map_or(0, |r| r.len())
    }
}

/// `ranges` with `cut` taken out.
fn subtract(ranges: &[PhysRange], cut: PhysRange) -> Vec<PhysRange> {
    let mut out = Vec::with_capacity(ranges.len().saturating_add(1));
    for &r in ranges {
        if !r.overlaps(cut) {
            out.push(r);
            continue;
        }
        if r.start < cut.start {
            out.push(PhysRange::new(r.start, cut.start));
        }
        if cut.end < r.end {
            out.push(PhysRange::new(cut.end, r.end));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    /// The map lists RAM without the legacy hole and without reserved regions, and the
    /// reserved regions with their own types, in address order.
    #[test]
    fn memory_map_carves_holes() {
        let layout = MemoryLayout::flat(64 * MIB)
            .unwrap()
            .reserve(PhysRange::new(0xE_0000, 0xF_0000), MemoryType::Acpi)
            .unwrap()
            .reserve(PhysRange::new(32 * MIB, 33 * MIB), MemoryType::AcpiNvs)
            .unwrap()
            .reserve(
                PhysRange::new(0xFEC0_0000, 0xFEC0_1000),
                MemoryType::Reserved,
            )
            .unwrap();
        let map = layout.memory_map();
        let expect = [
            (0, 0xA_0000, MemoryType::Ram),
            (0xE_0000, 0xF_0000, MemoryType::Acpi),
            (MIB, 32 * MIB, MemoryType::Ram),
            (32 * MIB, 33 * MIB, MemoryType::AcpiNvs),
            (33 * MIB, 64 * MIB, MemoryType::Ram),
            (0xFEC0_0000, 0xFEC0_1000, MemoryType::Reserved),
        ];
        let got: Vec<(u64, u64, MemoryType)> = map
            .iter()
            .map(|e| (e.range.start(), e.range.end(), e.kind))
            .collect();
        assert_eq!(got, expect);
        assert_eq!(layout.usable_run_from(0), 0xA_0000);
        assert_eq!(layout.usable_run_from(MIB), 31 * MIB);
        assert_eq!(layout.usable_run_from(5), 0);
    }

    /// RAM ranges are sorted and merged; bad ones are refused with the offending range.
    #[test]
    fn ram_validation() {
        let l = MemoryLayout::new(&[
            PhysRange::new(4 << 30, 5 << 30),
            PhysRange::new(0, MIB),
            PhysRange::new(MIB, 2 * MIB),
        ])
        .unwrap();
        assert_eq!(
            l.ram(),
            [PhysRange::new(0, 2 * MIB), PhysRange::new(4 << 30, 5 << 30)]
        );
        assert_eq!(l.ram_end(), 5 << 30);
        assert!(l.in_ram(PhysRange::new(MIB, 2 * MIB)));
        assert!(!l.in_ram(PhysRange::new(MIB, 2 * MIB + 1)));
        assert!(MemoryLayout::new(&[]).is_err());
        assert!(MemoryLayout::new(&[PhysRange::new(5, 5)]).is_err());
        assert!(MemoryLayout::new(&[PhysRange::new(0, 10), PhysRange::new(5, 20)]).is_err());
        let l = MemoryLayout::flat(MIB).unwrap();
        assert!(
            l.clone()
                .reserve(PhysRange::new(0, 0), MemoryType::Acpi)
                .is_err()
        );
        assert!(
            l.clone()
                .reserve(PhysRange::new(0, 1), MemoryType::Ram)
                .is_err()
        );
        let l = l.reserve(PhysRange::new(0, 10), MemoryType::Acpi).unwrap();
        assert!(l.reserve(PhysRange::new(9, 12), MemoryType::Acpi).is_err());
    }

    /// Range arithmetic never overflows and treats empty ranges as touching nothing.
    #[test]
    fn ranges() {
        assert_eq!(PhysRange::from_len(u64::MAX, 1), None);
        assert_eq!(PhysRange::new(10, 5), PhysRange::new(10, 10));
        let a = PhysRange::new(0, 10);
        assert!(a.overlaps(PhysRange::new(9, 11)));
        assert!(!a.overlaps(PhysRange::new(10, 11)));
        assert!(!a.overlaps(PhysRange::new(5, 5)));
        assert!(a.covers(PhysRange::new(10, 10)));
        assert!(a.contains(9) && !a.contains(10));
        assert_eq!(
            format!("{}", PhysRange::new(0x7000, 0xA0000)),
            "0x7000..0xa0000"
        );
    }
}
