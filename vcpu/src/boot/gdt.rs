//! The GDT every protected-mode protocol enters with.
//!
//! The hidden parts of the segment registers are what the guest runs with; the GDT holds
//! the same descriptors so that a guest which reloads a selector before building its own
//! table gets what it already has. Layout ([`boot_selectors`]): 0x00 null, 0x08 unused,
//! 0x10 code, 0x18 data, 0x20 TSS (8 bytes, or 16 in long mode). Linux's 64-bit boot
//! protocol requires code at 0x10 (`__BOOT_CS`) and data at 0x18 (`__BOOT_DS`).

use super::bytes::Buf;
use super::error::{BootError, Item};
use super::place::{BootArea, Placer};
use crate::memory::GuestMemory;
use crate::state::{DescriptorTable, GuestState, Segment, boot_selectors, efer};

/// Byte offset of a selector's descriptor.
fn slot(selector: u16) -> usize {
    usize::from(selector & !7)
}

fn descriptor(segment: &Segment) -> Result<u64, BootError> {
    segment.to_descriptor().ok_or(BootError::Unsupported(
        "a boot segment has no GDT descriptor encoding",
    ))
}

/// Writes the GDT for `state`'s CS, DS and TR into the boot area and points GDTR at it.
pub(crate) fn write<M: GuestMemory + ?Sized>(
    memory: &mut M,
    placer: &mut Placer<'_>,
    area: &mut BootArea,
    state: &mut GuestState,
) -> Result<(), BootError> {
    let long = state.efer & efer::LMA != 0;
    let tss_len = if long { 16 } else { 8 };
    let size = slot(boot_selectors::TSS).saturating_add(tss_len);
    let mut gdt = Buf::new(size);
    gdt.u64(slot(boot_selectors::CODE), descriptor(&state.cs)?);
    gdt.u64(slot(boot_selectors::DATA), descriptor(&state.ds)?);
    if long {
        let [low, high] = state
            .tr
            .to_system_descriptor_64()
            .ok_or(BootError::Unsupported(
                "the boot TSS has no GDT descriptor encoding",
            ))?;
        gdt.u64(slot(boot_selectors::TSS), low);
        gdt.u64(slot(boot_selectors::TSS).saturating_add(8), high);
    } else {
        gdt.u64(slot(boot_selectors::TSS), descriptor(&state.tr)?);
    }
    let base = area.alloc(placer, Item::Gdt, gdt.len(), 16)?;
    memory.write(base, gdt.as_slice())?;
    state.gdtr = DescriptorTable {
        base,
        limit: u16::try_from(size.saturating_sub(1)).unwrap_or(u16::MAX),
    };
    Ok(())
}
