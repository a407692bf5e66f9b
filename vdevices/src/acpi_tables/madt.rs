//! Multiple APIC Description Table, revision 4 (ACPI 6.0 §5.2.12).
//!
//! Entries, in order: one Processor Local APIC per vCPU (§5.2.12.2, ACPI
//! processor UID = APIC ID = index, enabled), the I/O APIC (§5.2.12.3), the
//! ISA interrupt source overrides (§5.2.12.5) and one Local APIC NMI entry
//! (§5.2.12.7) wiring LINT1 of every processor to NMI, as PC firmware does.
//!
//! The overrides describe how ISA IRQs reach the IOAPIC, so they exist only
//! with one: IRQ0 (the PIT) arrives on pin 2, as on PCs where the 8259's
//! cascade takes pin 0, edge-triggered active high; IRQ9 (the SCI) on pin 9,
//! level-triggered active high, as the SCI's sharable level interrupt.

use alloc::vec::Vec;

use super::{AcpiConfig, IOAPIC_ADDRESS, LOCAL_APIC_ADDRESS, SCI_IRQ, finish, header};

/// MADT revision of ACPI 6.0.
const MADT_REVISION: u8 = 4;
/// MADT flags: a dual 8259 is present and must be masked when the APICs
/// are used.
pub(super) const PCAT_COMPAT: u32 = 1 << 0;

/// Entry type: Processor Local APIC.
pub(super) const TYPE_LOCAL_APIC: u8 = 0;
/// Entry type: I/O APIC.
pub(super) const TYPE_IO_APIC: u8 = 1;
/// Entry type: Interrupt Source Override.
pub(super) const TYPE_INTERRUPT_OVERRIDE: u8 = 2;
/// Entry type: Local APIC NMI.
pub(super) const TYPE_LOCAL_APIC_NMI: u8 = 4;

const LOCAL_APIC_LEN: u8 = 8;
const IO_APIC_LEN: u8 = 12;
const INTERRUPT_OVERRIDE_LEN: u8 = 10;
const LOCAL_APIC_NMI_LEN: u8 = 6;

/// Local APIC flags: enabled.
pub(super) const LOCAL_APIC_ENABLED: u32 = 1 << 0;
/// Bus of an ISA interrupt source override.
const BUS_ISA: u8 = 0;
/// MPS INTI flags (Table 5-50): polarity active high, bits 1:0 = 01.
pub(super) const INTI_ACTIVE_HIGH: u16 = 0b01;
/// MPS INTI flags: trigger mode edge, bits 3:2 = 01.
pub(super) const INTI_EDGE: u16 = 0b01 << 2;
/// MPS INTI flags: trigger mode level, bits 3:2 = 11.
pub(super) const INTI_LEVEL: u16 = 0b11 << 2;
/// ACPI processor UID meaning "all processors" in a Local APIC NMI entry.
const ALL_PROCESSORS: u8 = 0xFF;
/// The local APIC input that PCs wire to NMI.
const LINT1: u8 = 1;
/// IOAPIC pin of the PIT's IRQ0.
pub(super) const PIT_GSI: u32 = 2;

pub(super) fn build(config: &AcpiConfig) -> Vec<u8> {
    let mut madt = header(*b"APIC", MADT_REVISION);
    madt.extend_from_slice(&LOCAL_APIC_ADDRESS.to_le_bytes());
    let flags = if config.pic { PCAT_COMPAT } else { 0 };
    madt.extend_from_slice(&flags.to_le_bytes());

    for id in 0..config.cpus {
        madt.extend_from_slice(&[
            TYPE_LOCAL_APIC,
            LOCAL_APIC_LEN,
            /*uid=*/ id,
            /*apic id=*/ id,
        ]);
        madt.extend_from_slice(&LOCAL_APIC_ENABLED.to_le_bytes());
    }

    if config.ioapic {
        madt.extend_from_slice(&[TYPE_IO_APIC, IO_APIC_LEN, config.ioapic_id, 0]);
        madt.extend_from_slice(&IOAPIC_ADDRESS.to_le_bytes());
        madt.extend_from_slice(&/*gsi base=*/ 0u32.to_le_bytes());
        let overrides = [
            (0, PIT_GSI, INTI_ACTIVE_HIGH | INTI_EDGE),
            (SCI_IRQ, u32::from(SCI_IRQ), INTI_ACTIVE_HIGH | INTI_LEVEL),
        ];
        for (irq, gsi, inti) in overrides {
            madt.extend_from_slice(&[
                TYPE_INTERRUPT_OVERRIDE,
                INTERRUPT_OVERRIDE_LEN,
                BUS_ISA,
                irq,
            ]);
            madt.extend_from_slice(&gsi.to_le_bytes());
            madt.extend_from_slice(&inti.to_le_bytes());
        }
    }

    madt.extend_from_slice(&[TYPE_LOCAL_APIC_NMI, LOCAL_APIC_NMI_LEN, ALL_PROCESSORS]);
    madt.extend_from_slice(&(INTI_ACTIVE_HIGH | INTI_EDGE).to_le_bytes());
    madt.push(LINT1);
    finish(madt)
}
