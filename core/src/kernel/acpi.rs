//! Platform discovery from the firmware's ACPI tables: which cores exist,
//! where the IOAPICs are, how ISA IRQs are routed. Only the MADT is read
//! (ACPI 6.5, section 5.2.12); no AML is interpreted.

use alloc::vec::Vec;
use core::ptr::NonNull;

use acpi::madt::{Madt, MadtEntry};
use acpi::{AcpiHandler, AcpiTables, PhysicalMapping};
use log::{info, warn};

/// A processor the MADT lists.
#[derive(Clone, Copy, Debug)]
pub struct Cpu {
    /// Local APIC (or x2APIC) ID.
    pub apic_id: u32,
    /// Usable now (bit 0 of the entry's flags); disabled entries are never started.
    pub enabled: bool,
}

/// An I/O APIC the MADT lists.
#[derive(Clone, Copy, Debug)]
pub struct IoApic {
    /// Its APIC ID.
    pub id: u8,
    /// Physical address of its register window.
    pub address: u32,
    /// First global system interrupt it serves.
    pub gsi_base: u32,
}

/// An ISA IRQ that does not arrive on the IOAPIC pin of the same number.
#[derive(Clone, Copy, Debug)]
pub struct Override {
    /// ISA IRQ.
    pub irq: u8,
    /// Global system interrupt it arrives on.
    pub gsi: u32,
    /// MPS INTI flags: polarity and trigger mode.
    pub flags: u16,
}

/// What the core knows of the machine.
#[derive(Debug, Default)]
pub struct Platform {
    /// Processors in MADT order.
    pub cpus: Vec<Cpu>,
    /// I/O APICs.
    pub ioapics: Vec<IoApic>,
    /// ISA interrupt source overrides.
    pub overrides: Vec<Override>,
}

impl Platform {
    /// Processors that may be started.
    pub fn enabled_cpus(&self) -> impl Iterator<Item = Cpu> + '_ {
        self.cpus.iter().copied().filter(|c| c.enabled)
    }

    /// `(core index, APIC ID)` as the partition table counts cores: 0 is the
    /// bootstrap processor, then every other enabled core in MADT order.
    pub fn core_indexes(&self, bsp_apic_id: u32) -> impl Iterator<Item = (u32, u32)> + '_ {
        let others = self
            .enabled_cpus()
            .map(|c| c.apic_id)
            .filter(move |&id| id != bsp_apic_id);
        (0u32..).zip(core::iter::once(bsp_apic_id).chain(others))
    }
}

/// ACPI tables are reached through the identity map.
#[derive(Clone, Copy)]
struct IdentityMapped;

impl AcpiHandler for IdentityMapped {
    unsafe fn map_physical_region<T>(
        &self,
        address: usize,
        size: usize,
    ) -> PhysicalMapping<Self, T> {
        let virt = NonNull::new(address as *mut T).expect("ACPI table at address 0");
        // SAFETY: all physical memory is identity mapped, so the physical
        // address is the virtual one, for the whole region.
        unsafe { PhysicalMapping::new(address, virt, size, size, *self) }
    }

    fn unmap_physical_region<T>(_region: &PhysicalMapping<Self, T>) {}
}

/// Finds the RSDP in the BIOS areas and reads the MADT.
pub fn discover() -> Platform {
    // SAFETY: the BIOS areas (EBDA, 0xE0000..0x100000) are identity mapped
    // and only read.
    let tables = match unsafe { AcpiTables::search_for_rsdp_bios(IdentityMapped) } {
        Ok(tables) => tables,
        Err(error) => {
            warn!("no ACPI tables ({error:?}): running on the bootstrap processor only");
            return Platform::default();
        }
    };
    let madt = match tables.find_table::<Madt>() {
        Ok(madt) => madt,
        Err(error) => {
            warn!("no MADT ({error:?}): running on the bootstrap processor only");
            return Platform::default();
        }
    };
    let mut platform = Platform::default();
    for entry in madt.get().entries() {
        match entry {
            MadtEntry::LocalApic(e) => platform.cpus.push(Cpu {
                apic_id: e.apic_id.into(),
                enabled: { e.flags } & 1 != 0,
            }),
            MadtEntry::LocalX2Apic(e) => platform.cpus.push(Cpu {
                apic_id: e.x2apic_id,
                enabled: { e.flags } & 1 != 0,
            }),
            MadtEntry::IoApic(e) => platform.ioapics.push(IoApic {
                id: e.io_apic_id,
                address: e.io_apic_address,
                gsi_base: e.global_system_interrupt_base,
            }),
            MadtEntry::InterruptSourceOverride(e) if e.bus == 0 => {
                platform.overrides.push(Override {
                    irq: e.irq,
                    gsi: e.global_system_interrupt,
                    flags: e.flags,
                })
            }
            _ => {}
        }
    }
    let ids: Vec<u32> = platform.enabled_cpus().map(|c| c.apic_id).collect();
    info!(
        "ACPI: {} processors ({} enabled, apic ids {ids:?}), {} IOAPIC(s), {} ISA override(s)",
        platform.cpus.len(),
        ids.len(),
        platform.ioapics.len(),
        platform.overrides.len()
    );
    for io in &platform.ioapics {
        info!(
            "  IOAPIC id {} at {:#x}, GSI base {}",
            io.id, io.address, io.gsi_base
        );
    }
    for o in &platform.overrides {
        info!(
            "  ISA IRQ {} -> GSI {} (flags {:#x})",
            o.irq, o.gsi, o.flags
        );
    }
    platform
}
