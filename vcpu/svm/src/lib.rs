//! AMD-V (SVM) backend for the Bulkhead vCPU.
//!
//! This crate knows the hardware: the VMCB layout, the permission maps, nested
//! page tables, the VMRUN sequence and how to turn a #VMEXIT into the neutral
//! exit the core understands. It decides nothing about policy (which ports a
//! partition may use, what CPUID says): that lives once, in the core.

#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod npt;
pub mod permissions;
mod state;
mod vcpu;
pub mod vmcb;
pub mod world_switch;

pub use vcpu::{SvmConfig, SvmVcpu};

/// Page-table pages for the nested page tables.
///
/// The hypervisor implements it over its frame allocator and identity map;
/// tests implement it over a hash map.
pub trait Tables {
    /// A zeroed, 4 KiB aligned page; its physical address.
    fn allocate(&mut self) -> Option<u64>;
    /// Entry `slot` (0..512) of the table page at `table`.
    fn read(&self, table: u64, slot: usize) -> u64;
    /// Writes entry `slot` of the table page at `table`.
    fn write(&mut self, table: u64, slot: usize, entry: u64);
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::BTreeMap;

    /// Table pages in a map, at made-up physical addresses.
    #[derive(Default)]
    pub struct FakeTables {
        pages: BTreeMap<u64, [u64; 512]>,
    }

    impl FakeTables {
        pub fn pages(&self) -> usize {
            self.pages.len()
        }

        pub fn entries(&self) -> impl Iterator<Item = u64> + '_ {
            self.pages
                .values()
                .flat_map(|p| p.iter().copied())
                .filter(|&e| e != 0)
        }
    }

    impl super::Tables for FakeTables {
        fn allocate(&mut self) -> Option<u64> {
            let address = 0x1000_0000 + self.pages.len() as u64 * 4096;
            self.pages.insert(address, [0; 512]);
            Some(address)
        }

        fn read(&self, table: u64, slot: usize) -> u64 {
            self.pages[&table][slot]
        }

        fn write(&mut self, table: u64, slot: usize, entry: u64) {
            self.pages.get_mut(&table).unwrap()[slot] = entry;
        }
    }
}
