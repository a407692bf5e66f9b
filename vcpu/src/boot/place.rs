//! Bookkeeping of what goes where in guest memory: every placement is checked against
//! the RAM and against everything placed before it, so a collision is an error naming
//! both parties rather than one image silently overwriting another.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use super::Placement;
use super::error::{BootError, Item};
use super::layout::{MemoryLayout, PhysRange};

/// 4 KiB.
pub(crate) const PAGE: u64 = 0x1000;
/// 4 GiB: the reach of a 32-bit entry, and of the Linux entry's identity map.
pub(crate) const FOUR_GIB: u64 = 1 << 32;

/// `value` rounded up to a multiple of `align` (a power of two), or `None` on overflow.
pub(crate) fn align_up(value: u64, align: u64) -> Option<u64> {
    let mask = align.checked_sub(1)?;
    value.checked_add(mask).map(|v| v & !mask)
}

/// `value` rounded down to a multiple of `align` (a power of two).
pub(crate) fn align_down(value: u64, align: u64) -> u64 {
    value & !align.saturating_sub(1)
}

/// Claimed ranges of guest memory.
pub(crate) struct Placer<'l> {
    layout: &'l MemoryLayout,
    /// start -> (end, what); disjoint, non-empty.
    claims: BTreeMap<u64, (u64, Item)>,
    placements: Vec<Placement>,
}

impl<'l> Placer<'l> {
    /// A placer over `layout` whose reserved regions are already taken, and the legacy
    /// hole too when `protect_legacy_hole`. Checks that the layout's RAM fits in
    /// `memory_size` bytes of guest memory.
    pub(crate) fn new(
        layout: &'l MemoryLayout,
        memory_size: u64,
        protect_legacy_hole: bool,
    ) -> Result<Self, BootError> {
        if let Some(past) = layout.ram().iter().find(|r| r.end() > memory_size) {
            return Err(BootError::Layout {
                detail: "a RAM range reaches past the end of the guest memory",
                range: *past,
            });
        }
        let mut placer = Self {
            layout,
            claims: BTreeMap::new(),
            placements: Vec::new(),
        };
        for r in layout.reserved() {
            placer.insert(r.range, Item::Reserved(r.kind))?;
        }
        if protect_legacy_hole {
            // Reserved regions may sit in the hole (ACPI tables at 0xE0000); claim the
            // pieces between them.
            let mut at = MemoryLayout::LEGACY_HOLE.start();
            let end = MemoryLayout::LEGACY_HOLE.end();
            for r in layout.reserved() {
                if r.range.overlaps(MemoryLayout::LEGACY_HOLE) {
                    placer.insert(PhysRange::new(at, r.range.start()), Item::LegacyHole)?;
                    at = at.max(r.range.end());
                }
            }
            placer.insert(PhysRange::new(at, end), Item::LegacyHole)?;
        }
        Ok(placer)
    }

    /// The layout placed into.
    pub(crate) fn layout(&self) -> &'l MemoryLayout {
        self.layout
    }

    /// The lowest claim overlapping `range`, if any.
    fn conflict(&self, range: PhysRange) -> Option<(PhysRange, Item)> {
        if range.is_empty() {
            return None;
        }
        let before = self.claims.range(..=range.start()).next_back();
        let inside = self.claims.range(range.start()..range.end()).next();
        [before, inside]
            .into_iter()
            .flatten()
            .map(|(&start, &(end, item))| (PhysRange::new(start, end), item))
            .find(|(claimed, _)| claimed.overlaps(range))
    }

    fn insert(&mut self, range: PhysRange, item: Item) -> Result<(), BootError> {
        if range.is_empty() {
            return Ok(());
        }
        if let Some((other_range, other)) = self.conflict(range) {
            return Err(BootError::Overlap {
                item,
                range,
                other,
                other_range,
            });
        }
        self.claims.insert(range.start(), (range.end(), item));
        Ok(())
    }

    /// Takes `range` for `item`: it must lie in one RAM range and collide with nothing
    /// claimed before.
    pub(crate) fn claim(&mut self, item: Item, range: PhysRange) -> Result<(), BootError> {
        if !range.is_empty() && !self.layout.in_ram(range) {
            return Err(BootError::OutsideRam { item, range });
        }
        self.insert(range, item)?;
        self.record(item, range);
        Ok(())
    }

    /// Notes a placement inside something already claimed (a structure in the boot area).
    pub(crate) fn record(&mut self, item: Item, range: PhysRange) {
        self.placements.push(Placement { item, range });
    }

    /// The lowest `align`-aligned address at or above `from` where `size` bytes fit in
    /// unclaimed RAM, ending at or below `limit`.
    pub(crate) fn find_lowest(&self, from: u64, size: u64, align: u64, limit: u64) -> Option<u64> {
        for ram in self.layout.ram() {
            let top = ram.end().min(limit);
            let mut at = align_up(ram.start().max(from), align)?;
            loop {
                let range = PhysRange::from_len(at, size)?;
                if range.end() > top {
                    break;
                }
                match self.conflict(range) {
                    None => return Some(at),
                    Some((claimed, _)) => at = align_up(claimed.end(), align)?,
                }
            }
        }
        None
    }

    /// The highest `align`-aligned address where `size` bytes fit in unclaimed RAM,
    /// ending at or below `limit`.
    pub(crate) fn find_highest(&self, size: u64, align: u64, limit: u64) -> Option<u64> {
        for ram in self.layout.ram().iter().rev() {
            let mut top = ram.end().min(limit);
            while let Some(start) = top.checked_sub(size) {
                let at = align_down(start, align);
                if at < ram.start() {
                    break;
                }
                let range = PhysRange::from_len(at, size)?;
                match self.conflict(range) {
                    None => return Some(at),
                    Some((claimed, _)) => top = claimed.start(),
                }
            }
        }
        None
    }

    /// Everything placed, in placement order.
    pub(crate) fn into_placements(self) -> Vec<Placement> {
        self.placements
    }
}

/// The boot structure area, handed out front to back.
pub(crate) struct BootArea {
    area: PhysRange,
    next: u64,
}

impl BootArea {
    /// Claims the layout's boot area, which must lie below `limit` (the reach of the
    /// protocol's entry).
    pub(crate) fn claim(placer: &mut Placer<'_>, limit: u64) -> Result<Self, BootError> {
        let area = placer.layout().boot_area();
        if area.is_empty() {
            return Err(BootError::Layout {
                detail: "the boot structure area is empty",
                range: area,
            });
        }
        if area.end() > limit {
            return Err(BootError::Unreachable {
                item: Item::BootArea,
                range: area,
                limit,
            });
        }
        placer.claim(Item::BootArea, area)?;
        Ok(Self {
            area,
            next: area.start(),
        })
    }

    /// `size` bytes at the next `align`-aligned address, recorded as `item`.
    pub(crate) fn alloc(
        &mut self,
        placer: &mut Placer<'_>,
        item: Item,
        size: u64,
        align: u64,
    ) -> Result<u64, BootError> {
        let full = BootError::BootAreaFull {
            item,
            size,
            area: self.area,
        };
        let at = align_up(self.next, align).ok_or(full.clone())?;
        let range = PhysRange::from_len(at, size).ok_or(full.clone())?;
        if range.end() > self.area.end() {
            return Err(full);
        }
        self.next = range.end();
        placer.record(item, range);
        Ok(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::boot::layout::MemoryType;

    const MIB: u64 = 1 << 20;

    /// Claims must be in RAM and disjoint; the error names both parties.
    #[test]
    fn claims_collide_loudly() {
        let layout = MemoryLayout::flat(16 * MIB)
            .unwrap()
            .reserve(PhysRange::new(0xE_0000, 0xE_2000), MemoryType::Acpi)
            .unwrap();
        let mut p = Placer::new(&layout, 16 * MIB, true).unwrap();
        p.claim(Item::Kernel, PhysRange::new(MIB, 2 * MIB)).unwrap();
        assert_eq!(
            p.claim(Item::Initrd, PhysRange::new(2 * MIB - 1, 3 * MIB)),
            Err(BootError::Overlap {
                item: Item::Initrd,
                range: PhysRange::new(2 * MIB - 1, 3 * MIB),
                other: Item::Kernel,
                other_range: PhysRange::new(MIB, 2 * MIB),
            })
        );
        assert!(matches!(
            p.claim(Item::Initrd, PhysRange::new(15 * MIB, 17 * MIB)),
            Err(BootError::OutsideRam { .. })
        ));
        let hole = p.claim(Item::KernelSegment(0), PhysRange::new(0xB_0000, 0xB_1000));
        assert!(matches!(
            hole,
            Err(BootError::Overlap {
                other: Item::LegacyHole,
                ..
            })
        ));
        let acpi = p.claim(Item::KernelSegment(0), PhysRange::new(0xE_1000, 0xE_3000));
        assert!(matches!(
            acpi,
            Err(BootError::Overlap {
                other: Item::Reserved(MemoryType::Acpi),
                ..
            })
        ));
        p.claim(Item::Module(0), PhysRange::new(2 * MIB, 2 * MIB))
            .unwrap();
        assert!(
            Placer::new(&layout, 8 * MIB, true).is_err(),
            "layout past memory"
        );
    }

    /// Free-space search skips claims, respects alignment and limits, and fails cleanly.
    #[test]
    fn searching_for_room() {
        let layout = MemoryLayout::flat(16 * MIB).unwrap();
        let mut p = Placer::new(&layout, 16 * MIB, true).unwrap();
        p.claim(Item::Kernel, PhysRange::new(MIB, 3 * MIB + 5))
            .unwrap();
        assert_eq!(
            p.find_lowest(MIB, PAGE, PAGE, u64::MAX),
            Some(3 * MIB + PAGE)
        );
        assert_eq!(p.find_lowest(0, 0x1000, PAGE, u64::MAX), Some(0));
        assert_eq!(
            p.find_lowest(0x9_F800, 0x1000, PAGE, u64::MAX),
            Some(3 * MIB + PAGE)
        );
        assert_eq!(p.find_highest(MIB, PAGE, u64::MAX), Some(15 * MIB));
        assert_eq!(p.find_highest(0x1_0000, PAGE, 3 * MIB), Some(0x9_0000));
        assert_eq!(p.find_highest(2 * MIB, PAGE, 3 * MIB), None);
        assert_eq!(p.find_highest(u64::MAX, PAGE, u64::MAX), None);
        assert_eq!(p.find_lowest(u64::MAX - 5, 1, PAGE, u64::MAX), None);
    }

    /// The boot area hands out aligned pieces and reports when it is full.
    #[test]
    fn boot_area_allocation() {
        let layout = MemoryLayout::flat(16 * MIB)
            .unwrap()
            .with_boot_area(PhysRange::new(0x7000, 0x8000));
        let mut p = Placer::new(&layout, 16 * MIB, true).unwrap();
        let mut area = BootArea::claim(&mut p, FOUR_GIB).unwrap();
        assert_eq!(area.alloc(&mut p, Item::Gdt, 40, 16).unwrap(), 0x7000);
        assert_eq!(
            area.alloc(&mut p, Item::MultibootInfo, 8, 16).unwrap(),
            0x7030
        );
        assert!(matches!(
            area.alloc(&mut p, Item::MemoryMap, 0x1000, 16),
            Err(BootError::BootAreaFull { .. })
        ));
        assert!(area.alloc(&mut p, Item::MemoryMap, u64::MAX, 16).is_err());
        let high = MemoryLayout::flat(16 * MIB)
            .unwrap()
            .with_boot_area(PhysRange::new(0xA_0000, 0xA_1000));
        let mut p = Placer::new(&high, 16 * MIB, true).unwrap();
        assert!(
            BootArea::claim(&mut p, FOUR_GIB).is_err(),
            "boot area in the legacy hole"
        );
    }
}
