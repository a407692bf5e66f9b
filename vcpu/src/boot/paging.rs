//! Identity-mapping page tables for the Linux 64-bit entry.
//!
//! The protocol asks for the kernel (with `init_size`), the zero page and the command
//! line to be identity mapped; all of them go below 4 GiB, and the tables map exactly
//! `0..4 GiB` with 2 MiB pages, which every long-mode processor supports (1 GiB pages
//! need CPUID.80000001:EDX.Page1GB). Six pages, contiguous: PML4, PDPT, then four page
//! directories, one per GiB. The kernel builds its own tables before it touches anything
//! else (its decompressor maps further memory on demand).

use super::bytes::Buf;
use super::error::{BootError, Item};
use super::place::{BootArea, PAGE, Placer};
use crate::memory::GuestMemory;

/// Present.
const P: u64 = 1 << 0;
/// Writable.
const RW: u64 = 1 << 1;
/// Page size: this entry maps a 2 MiB page.
const PS: u64 = 1 << 7;
/// Gibibytes mapped.
const GIBS: u64 = 4;
/// Bytes of page tables: PML4, PDPT, one page directory per GiB.
pub(crate) const TABLES_LEN: u64 = (2 + GIBS) * PAGE;

/// Writes the tables into the boot area and returns the CR3 value (the PML4 address).
// The loop bounds (GIBS, 512 entries) keep every offset and address computed here far
// from overflow.
#[allow(clippy::arithmetic_side_effects)]
pub(crate) fn write_identity_map<M: GuestMemory + ?Sized>(
    memory: &mut M,
    placer: &mut Placer<'_>,
    area: &mut BootArea,
) -> Result<u64, BootError> {
    let base = area.alloc(placer, Item::PageTables, TABLES_LEN, PAGE)?;
    let mut tables = Buf::new(TABLES_LEN as usize);
    let pdpt = base.saturating_add(PAGE);
    tables.u64(0, pdpt | P | RW);
    for gib in 0..GIBS {
        let pd_offset = (2 + gib) * PAGE;
        let pdpte_at = PAGE + gib * 8;
        tables.u64(pdpte_at as usize, (base.saturating_add(pd_offset)) | P | RW);
        for entry in 0..512u64 {
            let phys = (gib << 30) | (entry << 21);
            tables.u64((pd_offset + entry * 8) as usize, phys | P | RW | PS);
        }
    }
    memory.write(base, tables.as_slice())?;
    Ok(base)
}
