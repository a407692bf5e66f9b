//! Nested page tables (AMD64 APM Vol. 2, 15.25): guest-physical to
//! host-physical, in the long-mode 4-level format.
//!
//! A partition's RAM is one contiguous host block mapped at guest-physical 0
//! (or at the guest-physical regions of its layout); everything else, MMIO
//! holes included, is left unmapped so that any access to it exits as a
//! nested page fault. Large pages are used wherever guest and host addresses
//! are both aligned. Every entry carries the U bit: nested walks are user
//! accesses (APM 15.25.5), and QEMU's TCG enforces it.

use crate::Tables;

const PRESENT: u64 = 1 << 0;
const WRITABLE: u64 = 1 << 1;
const USER: u64 = 1 << 2;
const HUGE: u64 = 1 << 7;
const ADDRESS_MASK: u64 = 0x000F_FFFF_FFFF_F000;
const LEAF: u64 = PRESENT | WRITABLE | USER;
const TABLE: u64 = PRESENT | WRITABLE | USER;

const KIB4: u64 = 1 << 12;
const MIB2: u64 = 1 << 21;
const GIB1: u64 = 1 << 30;

/// Why a mapping could not be made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NptError {
    /// Addresses or size not 4 KiB aligned.
    Misaligned,
    /// The range overlaps one already mapped.
    Overlap {
        /// First guest-physical address found mapped.
        gpa: u64,
    },
    /// The table allocator ran out.
    OutOfMemory,
    /// Past the 48-bit guest-physical space.
    OutOfRange,
}

/// A nested page table being built, over a table-page source.
pub struct NestedPageTable<T: Tables> {
    tables: T,
    root: u64,
    gib_pages: bool,
}

impl<T: Tables> NestedPageTable<T> {
    /// An empty table. `gib_pages`: whether the CPU supports 1 GiB pages.
    pub fn new(mut tables: T, gib_pages: bool) -> Result<Self, NptError> {
        let root = tables.allocate().ok_or(NptError::OutOfMemory)?;
        Ok(Self {
            tables,
            root,
            gib_pages,
        })
    }

    /// The physical address to put in the VMCB's N_CR3.
    pub fn root(&self) -> u64 {
        self.root
    }

    /// Maps `gpa..gpa + size` onto `hpa..hpa + size`, read-write-execute.
    pub fn map(&mut self, gpa: u64, hpa: u64, size: u64) -> Result<(), NptError> {
        if !(gpa | hpa | size).is_multiple_of(KIB4) {
            return Err(NptError::Misaligned);
        }
        let end = gpa
            .checked_add(size)
            .filter(|&e| e <= 1 << 48)
            .ok_or(NptError::OutOfRange)?;
        let mut offset = 0;
        while gpa + offset < end {
            let (g, h, left) = (gpa + offset, hpa + offset, end - gpa - offset);
            let page = if self.gib_pages && (g | h).is_multiple_of(GIB1) && left >= GIB1 {
                GIB1
            } else if (g | h).is_multiple_of(MIB2) && left >= MIB2 {
                MIB2
            } else {
                KIB4
            };
            self.map_page(g, h, page)?;
            offset += page;
        }
        Ok(())
    }

    /// Looks a guest-physical address up: the host-physical address, if mapped.
    pub fn translate(&self, gpa: u64) -> Option<u64> {
        let mut table = self.root;
        for (level, page) in [(39, 0), (30, GIB1), (21, MIB2), (12, KIB4)] {
            let entry = self.tables.read(table, (gpa >> level) as usize & 511);
            if entry & PRESENT == 0 {
                return None;
            }
            if page == KIB4 || (page != 0 && entry & HUGE != 0) {
                return Some((entry & ADDRESS_MASK & !(page - 1)) + (gpa & (page - 1)));
            }
            table = entry & ADDRESS_MASK;
        }
        None
    }

    fn map_page(&mut self, gpa: u64, hpa: u64, page: u64) -> Result<(), NptError> {
        let leaf_level = match page {
            GIB1 => 30,
            MIB2 => 21,
            _ => 12,
        };
        let mut table = self.root;
        for level in [39, 30, 21, 12] {
            let slot = (gpa >> level) as usize & 511;
            let entry = self.tables.read(table, slot);
            if level == leaf_level {
                if entry & PRESENT != 0 {
                    return Err(NptError::Overlap { gpa });
                }
                let huge = if page == KIB4 { 0 } else { HUGE };
                self.tables.write(table, slot, hpa | LEAF | huge);
                return Ok(());
            }
            if entry & PRESENT != 0 {
                if entry & HUGE != 0 {
                    return Err(NptError::Overlap { gpa });
                }
                table = entry & ADDRESS_MASK;
            } else {
                let child = self.tables.allocate().ok_or(NptError::OutOfMemory)?;
                self.tables.write(table, slot, child | TABLE);
                table = child;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::FakeTables;

    /// A 2 MiB-aligned block maps with 2 MiB pages and translates back exactly.
    #[test]
    fn maps_large_pages_where_aligned() {
        let mut npt = NestedPageTable::new(FakeTables::default(), false).unwrap();
        npt.map(0, 0x4000_0000, 16 << 20).unwrap();
        assert_eq!(npt.translate(0), Some(0x4000_0000));
        assert_eq!(npt.translate(0x12_3456), Some(0x4012_3456));
        assert_eq!(npt.translate(16 << 20), None);
        // root, PDPT, one PD: no 4 KiB tables were needed.
        assert_eq!(npt.tables.pages(), 3);
        let pd_entry = npt.tables.entries().find(|&e| e & HUGE != 0).unwrap();
        assert_eq!(pd_entry & USER, USER);
    }

    /// An unaligned tail falls back to 4 KiB pages; 1 GiB pages are used only when allowed.
    #[test]
    fn mixes_page_sizes() {
        let mut npt = NestedPageTable::new(FakeTables::default(), true).unwrap();
        npt.map(0, 0x8000_0000, GIB1 + MIB2 + KIB4).unwrap();
        assert_eq!(npt.translate(GIB1 - 1), Some(0x8000_0000 + GIB1 - 1));
        assert_eq!(npt.translate(GIB1 + MIB2), Some(0x8000_0000 + GIB1 + MIB2));
        assert_eq!(npt.translate(GIB1 + MIB2 + KIB4), None);
    }

    /// Overlapping and misaligned requests are refused, not silently remapped.
    #[test]
    fn refuses_overlap_and_misalignment() {
        let mut npt = NestedPageTable::new(FakeTables::default(), false).unwrap();
        npt.map(0, 0x20_0000, MIB2).unwrap();
        assert_eq!(
            npt.map(0x1000, 0x50_0000, KIB4),
            Err(NptError::Overlap { gpa: 0x1000 })
        );
        assert_eq!(npt.map(0x1234, 0, KIB4), Err(NptError::Misaligned));
        assert_eq!(
            npt.map(u64::MAX - 0xFFF, 0, KIB4),
            Err(NptError::OutOfRange)
        );
    }
}
