//! An ordered map from disjoint address ranges to values: a partition's port
//! and MMIO dispatch tables.
//!
//! Built once from the partition table; registering a range that overlaps one
//! already present is an error naming both, never a silent shadow.

use alloc::vec::Vec;
use core::ops::RangeInclusive;

/// A registration that overlaps an existing range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Overlap<T> {
    /// The range already registered.
    pub existing: RangeInclusive<u64>,
    /// Its value.
    pub value: T,
}

/// Disjoint inclusive ranges, sorted by start, each with a value.
#[derive(Clone, Debug)]
pub struct RangeMap<T> {
    entries: Vec<(RangeInclusive<u64>, T)>,
}

impl<T> Default for RangeMap<T> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
        }
    }
}

impl<T: Clone> RangeMap<T> {
    /// Adds `first..=last` with `value`; refuses an overlap with what is there.
    pub fn insert(&mut self, first: u64, last: u64, value: T) -> Result<(), Overlap<T>> {
        let (first, last) = (first.min(last), first.max(last));
        let at = self
            .entries
            .partition_point(|(range, _)| *range.end() < first);
        if let Some((range, existing)) = self.entries.get(at)
            && *range.start() <= last
        {
            return Err(Overlap {
                existing: range.clone(),
                value: existing.clone(),
            });
        }
        self.entries.insert(at, (first..=last, value));
        Ok(())
    }
}

impl<T> RangeMap<T> {
    /// The range holding `address` and its value.
    pub fn get(&self, address: u64) -> Option<(u64, &T)> {
        let at = self
            .entries
            .partition_point(|(range, _)| *range.end() < address);
        self.entries
            .get(at)
            .filter(|(range, _)| range.contains(&address))
            .map(|(range, value)| (*range.start(), value))
    }

    /// Every range with its value, in address order.
    pub fn iter(&self) -> impl Iterator<Item = (&RangeInclusive<u64>, &T)> {
        self.entries.iter().map(|(range, value)| (range, value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lookups find the range holding an address, and nothing between ranges.
    #[test]
    fn finds_the_enclosing_range() {
        let mut map = RangeMap::default();
        map.insert(0x3F8, 0x3FF, "com1").unwrap();
        map.insert(0x40, 0x43, "pit").unwrap();
        map.insert(0xF4, 0xF4, "exit").unwrap();
        assert_eq!(map.get(0x3FA), Some((0x3F8, &"com1")));
        assert_eq!(map.get(0x40), Some((0x40, &"pit")));
        assert_eq!(map.get(0xF4), Some((0xF4, &"exit")));
        assert_eq!(map.get(0x44), None);
        assert_eq!(map.get(0), None);
        assert_eq!(map.get(u64::MAX), None);
        let starts: Vec<u64> = map.iter().map(|(r, _)| *r.start()).collect();
        assert_eq!(starts, [0x40, 0xF4, 0x3F8]);
    }

    /// Any overlap is refused and names what is already there.
    #[test]
    fn refuses_overlaps() {
        let mut map = RangeMap::default();
        map.insert(0x20, 0x21, "pic").unwrap();
        for (first, last) in [(0x21, 0x22), (0x1F, 0x20), (0x10, 0x30), (0x20, 0x21)] {
            let err = map.insert(first, last, "other").unwrap_err();
            assert_eq!(
                err,
                Overlap {
                    existing: 0x20..=0x21,
                    value: "pic"
                }
            );
        }
        map.insert(0x22, 0x22, "next").unwrap();
        map.insert(0x1F, 0x1F, "before").unwrap();
    }
}
