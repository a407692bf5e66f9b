//! A partition's RAM: one contiguous block of host memory, laid out at the
//! guest-physical regions the partition table gives (by default 0.. with a
//! hole below 4 GiB for device windows).

use alloc::vec::Vec;

use bulkhead_config::MemoryRegion;
use bulkhead_svm::Tables;
use bulkhead_vcpu::{GuestMemory, MemoryError};

use super::super::frames;

/// One guest-physical region and where it lives in host memory.
#[derive(Clone, Copy, Debug)]
struct Mapping {
    gpa: u64,
    len: u64,
    host: u64,
}

/// The partition's RAM.
pub struct GuestRam {
    mappings: Vec<Mapping>,
    host_base: u64,
    size: u64,
}

impl GuestRam {
    /// RAM at `host_base`, `size` bytes, laid out as `layout` says. The layout's
    /// total must equal `size` (the table's validation guarantees it).
    pub fn new(host_base: u64, size: u64, layout: &[MemoryRegion]) -> Self {
        let mut host = host_base;
        let mappings = layout
            .iter()
            .map(|region| {
                let mapping = Mapping {
                    gpa: region.base,
                    len: region.size,
                    host,
                };
                host += region.size;
                mapping
            })
            .collect();
        Self {
            mappings,
            host_base,
            size,
        }
    }

    /// Zeroes all of it: a partition starts (and restarts) from clean memory.
    pub fn clear(&mut self) {
        // SAFETY: the block was reserved for this partition alone at boot and
        // is identity mapped.
        unsafe { core::ptr::write_bytes(self.host_base as *mut u8, 0, self.size as usize) };
    }

    /// `(guest-physical, host-physical, length)` of every region, for nested paging.
    pub fn regions(&self) -> impl Iterator<Item = (u64, u64, u64)> + '_ {
        self.mappings.iter().map(|m| (m.gpa, m.host, m.len))
    }

    /// The host address of `gpa..gpa + len`, if it lies inside one region.
    fn host_range(&self, gpa: u64, len: u64) -> Result<u64, MemoryError> {
        let error = MemoryError {
            gpa,
            len,
            size: GuestMemory::size(self),
        };
        let end = gpa.checked_add(len).ok_or(error)?;
        self.mappings
            .iter()
            .find(|m| gpa >= m.gpa && end <= m.gpa + m.len)
            .map(|m| m.host + (gpa - m.gpa))
            .ok_or(error)
    }
}

impl GuestMemory for GuestRam {
    fn size(&self) -> u64 {
        self.mappings
            .iter()
            .map(|m| m.gpa + m.len)
            .max()
            .unwrap_or(0)
    }

    fn read(&self, gpa: u64, buf: &mut [u8]) -> Result<(), MemoryError> {
        let host = self.host_range(gpa, buf.len() as u64)?;
        // SAFETY: `host_range` checked the whole range lies in this partition's
        // block, which is identity mapped and owned by this partition's core.
        unsafe { core::ptr::copy_nonoverlapping(host as *const u8, buf.as_mut_ptr(), buf.len()) };
        Ok(())
    }

    fn write(&mut self, gpa: u64, data: &[u8]) -> Result<(), MemoryError> {
        let host = self.host_range(gpa, data.len() as u64)?;
        // SAFETY: as in `read`; the guest is not running while the core writes.
        unsafe { core::ptr::copy_nonoverlapping(data.as_ptr(), host as *mut u8, data.len()) };
        Ok(())
    }
}

/// Nested-page-table pages from the frame allocator, reached through the identity map.
pub struct FrameTables;

impl Tables for FrameTables {
    fn allocate(&mut self) -> Option<u64> {
        frames::allocate_zeroed_page()
    }

    fn read(&self, table: u64, slot: usize) -> u64 {
        // SAFETY: `table` came from `allocate`, a page this partition owns; slot < 512.
        unsafe { (table as *const u64).add(slot).read() }
    }

    fn write(&mut self, table: u64, slot: usize, entry: u64) {
        // SAFETY: as in `read`.
        unsafe { (table as *mut u64).add(slot).write(entry) }
    }
}
