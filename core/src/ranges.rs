//! A fixed-capacity set of disjoint address ranges: the free-frame pool.
//!
//! The frame allocator has to work before any heap exists, so the set lives
//! in a fixed array. Ranges are kept sorted and merged; removing a piece from
//! the middle of a range splits it. Allocation is first fit from the lowest
//! address, which keeps early boot structures (page tables the AP trampoline
//! loads into a 32-bit CR3) below 4 GiB.

use core::ops::Range;

/// The set has no slot left for a split or an insertion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Full;

/// Disjoint, sorted, non-adjacent half-open ranges of addresses.
#[derive(Clone, Debug)]
pub struct RangeSet<const N: usize> {
    ranges: [Range<u64>; N],
    len: usize,
}

impl<const N: usize> Default for RangeSet<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> RangeSet<N> {
    /// An empty set.
    pub const fn new() -> Self {
        Self {
            ranges: [const { 0..0 }; N],
            len: 0,
        }
    }

    /// The ranges, lowest first.
    pub fn iter(&self) -> impl Iterator<Item = Range<u64>> + '_ {
        self.ranges[..self.len].iter().cloned()
    }

    /// Total bytes in the set.
    pub fn total(&self) -> u64 {
        self.iter().map(|r| r.end - r.start).sum()
    }

    /// Adds `range`, merging with whatever it overlaps or touches.
    pub fn insert(&mut self, range: Range<u64>) -> Result<(), Full> {
        if range.start >= range.end {
            return Ok(());
        }
        let mut merged = range;
        let mut i = 0;
        while i < self.len {
            let r = &self.ranges[i];
            if r.end >= merged.start && r.start <= merged.end {
                merged = merged.start.min(r.start)..merged.end.max(r.end);
                self.delete(i);
            } else {
                i += 1;
            }
        }
        let at = self.ranges[..self.len]
            .iter()
            .position(|r| r.start > merged.start)
            .unwrap_or(self.len);
        self.place(at, merged)
    }

    /// Takes `range` out of the set; parts not in the set are ignored.
    pub fn remove(&mut self, range: Range<u64>) -> Result<(), Full> {
        if range.start >= range.end {
            return Ok(());
        }
        let mut i = 0;
        while i < self.len {
            let r = self.ranges[i].clone();
            if r.end <= range.start || r.start >= range.end {
                i += 1;
                continue;
            }
            let left = r.start..range.start.max(r.start);
            let right = range.end.min(r.end)..r.end;
            match (left.is_empty(), right.is_empty()) {
                (true, true) => self.delete(i),
                (false, true) => {
                    self.ranges[i] = left;
                    i += 1;
                }
                (true, false) => {
                    self.ranges[i] = right;
                    i += 1;
                }
                (false, false) => {
                    self.ranges[i] = left;
                    self.place(i + 1, right)?;
                    i += 2;
                }
            }
        }
        Ok(())
    }

    /// Removes and returns the lowest `size` bytes aligned to `align` (a power
    /// of two) that end at or below `limit`.
    pub fn allocate(&mut self, size: u64, align: u64, limit: u64) -> Option<u64> {
        if size == 0 || !align.is_power_of_two() {
            return None;
        }
        let start = self.iter().find_map(|r| {
            let start = r.start.checked_add(align - 1)? & !(align - 1);
            let end = start.checked_add(size)?;
            (end <= r.end && end <= limit).then_some(start)
        })?;
        self.remove(start..start + size).ok()?;
        Some(start)
    }

    fn delete(&mut self, i: usize) {
        self.ranges[i..self.len].rotate_left(1);
        self.len -= 1;
    }

    fn place(&mut self, at: usize, range: Range<u64>) -> Result<(), Full> {
        if self.len == N {
            return Err(Full);
        }
        self.ranges[self.len] = range;
        self.ranges[at..=self.len].rotate_right(1);
        self.len += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranges<const N: usize>(set: &RangeSet<N>) -> Vec<Range<u64>> {
        set.iter().collect()
    }

    /// Overlapping and touching insertions merge into one sorted range.
    #[test]
    fn insert_merges() {
        let mut set = RangeSet::<8>::new();
        set.insert(0x5000..0x6000).unwrap();
        set.insert(0x1000..0x2000).unwrap();
        set.insert(0x2000..0x3000).unwrap();
        assert_eq!(ranges(&set), [0x1000..0x3000, 0x5000..0x6000]);
        set.insert(0x2800..0x5800).unwrap();
        let merged = 0x1000..0x6000;
        assert_eq!(ranges(&set), [merged]);
        set.insert(0x7000..0x7000).unwrap();
        assert_eq!(set.total(), 0x5000);
    }

    /// Removing from the middle splits; from the edges trims; across several removes them.
    #[test]
    fn remove_splits_and_trims() {
        let mut set = RangeSet::<8>::new();
        set.insert(0..0x10_0000).unwrap();
        set.remove(0x4000..0x8000).unwrap();
        assert_eq!(ranges(&set), [0..0x4000, 0x8000..0x10_0000]);
        set.remove(0..0x1000).unwrap();
        set.remove(0xF_0000..0x20_0000).unwrap();
        assert_eq!(ranges(&set), [0x1000..0x4000, 0x8000..0xF_0000]);
        set.remove(0..u64::MAX).unwrap();
        assert_eq!(set.total(), 0);
    }

    /// A split that needs a slot the set does not have reports `Full`.
    #[test]
    fn full_is_reported() {
        let mut set = RangeSet::<2>::new();
        set.insert(0..0x1000).unwrap();
        set.insert(0x2000..0x3000).unwrap();
        assert_eq!(set.insert(0x5000..0x6000), Err(Full));
        assert_eq!(set.remove(0x2400..0x2800), Err(Full));
    }

    /// Allocation is first fit from the bottom, honours alignment and the limit.
    #[test]
    fn allocate_first_fit_aligned() {
        let mut set = RangeSet::<8>::new();
        set.insert(0x1000..0x3000).unwrap();
        set.insert(0x20_1000..0x80_0000).unwrap();
        assert_eq!(set.allocate(0x1000, 0x1000, u64::MAX), Some(0x1000));
        assert_eq!(
            set.allocate(0x20_0000, 0x20_0000, u64::MAX),
            Some(0x40_0000)
        );
        assert_eq!(
            ranges(&set),
            [0x2000..0x3000, 0x20_1000..0x40_0000, 0x60_0000..0x80_0000]
        );
        assert_eq!(set.allocate(0x1000, 0x1000, 0x2000), None);
        assert_eq!(set.allocate(0x100_0000, 0x1000, u64::MAX), None);
        assert_eq!(set.allocate(0x1000, 3, u64::MAX), None);
        assert_eq!(set.allocate(0, 0x1000, u64::MAX), None);
    }

    /// Random operations keep the set sorted, disjoint, non-adjacent and
    /// equal in size to a byte-level model.
    #[test]
    fn matches_a_model() {
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move |bound: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % bound
        };
        let mut set = RangeSet::<64>::new();
        let mut model = [false; 256];
        for _ in 0..5000 {
            let a = next(256);
            let b = (a + 1 + next(32)).min(256);
            if next(2) == 0 {
                if set.insert(a..b).is_ok() {
                    model[a as usize..b as usize].fill(true);
                }
            } else if set.remove(a..b).is_ok() {
                model[a as usize..b as usize].fill(false);
            }
            let all = ranges(&set);
            for pair in all.windows(2) {
                assert!(pair[0].end < pair[1].start, "{all:?}");
            }
            assert_eq!(set.total(), model.iter().filter(|&&b| b).count() as u64);
        }
    }
}
