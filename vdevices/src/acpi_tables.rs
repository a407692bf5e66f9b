//! Guest ACPI tables for one partition, and the ACPI power-management
//! registers they describe.
//!
//! [`AcpiTables::build`] lays out, for a guest-physical base address, the
//! tables of the ACPI 6.0 specification a PC guest needs (section numbers
//! are ACPI 6.0's):
//!
//! | table | section | contents |
//! | --- | --- | --- |
//! | RSDP | 5.2.5 | revision 2, checksum and extended checksum, XSDT and RSDT addresses |
//! | XSDT | 5.2.8 | FADT, MADT (64-bit entries) |
//! | RSDT | 5.2.7 | the same with 32-bit entries, for ACPI 1.0 guests (only when the tables lie below 4 GiB) |
//! | FADT | 5.2.9 | revision 6.0; PM1a event/control blocks and PM timer in I/O space, SCI on IRQ 9, DSDT, FACS, CENTURY |
//! | FACS | 5.2.10 | version 2, no waking vector, no global lock owner |
//! | DSDT | 5.2.11.1 | a header and one object, `\_S5`, S5 with SLP_TYP 0 |
//! | MADT | 5.2.12 | local APICs with APIC IDs 0..n, the IOAPIC, ISA overrides, LINT1 as NMI |
//!
//! Every table is 8-byte aligned and carries a correct checksum; the FACS is
//! 64-byte aligned. The whole blob should be reported to the guest as ACPI
//! NVS memory (it holds the FACS, which must be in NVS per §5.2.10), or as
//! reserved memory.
//!
//! The FADT is not hardware-reduced, so it describes fixed hardware, which
//! [`AcpiPmBlock`] emulates: an ICH9-style block of I/O ports at
//! [`AcpiConfig::pm_base`] with PM1a_EVT_BLK at +0, PM1a_CNT_BLK at +4 and
//! PM_TMR_BLK at +8 (QEMU's q35 places it at 0x600, so `outw(0x604,
//! 0x2000)`, a common way to power off under QEMU, works here too).
//!
//! Not provided: a reset register (RESET_REG_SUP is clear), GPE blocks,
//! sleep states other than S5, processor objects or any device in the DSDT
//! (guests find the legacy devices at their fixed ports, and the PCI host
//! bridge through configuration mechanism #1), HPET, MCFG, SRAT.

mod dsdt;
mod fadt;
mod madt;
pub mod pm;
#[cfg(test)]
mod tests;

use alloc::vec::Vec;

pub use pm::{AcpiPmBlock, PmTimer, SleepRequest};

/// Where the local APICs are, as the MADT reports it.
pub const LOCAL_APIC_ADDRESS: u32 = 0xFEE0_0000;
/// Where the IOAPIC is.
pub const IOAPIC_ADDRESS: u32 = 0xFEC0_0000;
/// The SCI's ISA IRQ (and GSI).
pub const SCI_IRQ: u8 = 9;
/// Default base of the PM register block (QEMU q35's).
pub const DEFAULT_PM_BASE: u16 = 0x600;
/// PM1a_EVT_BLK offset in the PM register block.
pub const PM1_EVENT_OFFSET: u16 = 0;
/// PM1a_CNT_BLK offset in the PM register block.
pub const PM1_CONTROL_OFFSET: u16 = 4;
/// PM_TMR_BLK offset in the PM register block.
pub const PM_TIMER_OFFSET: u16 = 8;

/// OEM ID in every table header and the RSDP.
pub const OEM_ID: [u8; 6] = *b"BLKHD ";
/// OEM table ID in every table header.
pub const OEM_TABLE_ID: [u8; 8] = *b"BULKHEAD";
/// OEM revision in every table header.
pub const OEM_REVISION: u32 = 1;
/// Creator ID in every table header.
pub const CREATOR_ID: [u8; 4] = *b"BLKH";
/// Creator revision in every table header.
pub const CREATOR_REVISION: u32 = 1;

/// Length of the common table header (§5.2.6).
pub const HEADER_LEN: usize = 36;
/// Header field: length of the whole table.
const HEADER_LENGTH: usize = 4;
/// Header field: checksum making the table's bytes sum to 0.
const HEADER_CHECKSUM: usize = 9;

/// RSDP field: checksum of the first 20 bytes.
const RSDP_CHECKSUM: usize = 8;
/// RSDP field: OEM ID.
const RSDP_OEM_ID: usize = 9;
/// RSDP field: revision (2 for ACPI 2.0 and later).
const RSDP_REVISION: usize = 15;
/// RSDP field: 32-bit RSDT address.
const RSDP_RSDT_ADDRESS: usize = 16;
/// RSDP field: length of the RSDP.
const RSDP_LENGTH: usize = 20;
/// RSDP field: 64-bit XSDT address.
const RSDP_XSDT_ADDRESS: usize = 24;
/// RSDP field: checksum of the whole structure.
const RSDP_EXTENDED_CHECKSUM: usize = 32;
/// Size of an ACPI 2.0+ RSDP.
pub const RSDP_LEN: usize = 36;
/// Bytes of the RSDP the ACPI 1.0 checksum covers.
const RSDP_V1_LEN: usize = 20;

/// What the partition looks like to its ACPI tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AcpiConfig {
    /// vCPUs; they get APIC IDs and ACPI processor UIDs 0..cpus.
    pub cpus: u8,
    /// An IOAPIC at [`IOAPIC_ADDRESS`] with GSI base 0.
    pub ioapic: bool,
    /// The IOAPIC's ID, as its ID register reports it.
    pub ioapic_id: u8,
    /// A dual 8259 is present (MADT flag PCAT_COMPAT).
    pub pic: bool,
    /// A CMOS RTC is present (FADT CENTURY, and the "CMOS RTC not present"
    /// boot flag when it is not).
    pub rtc: bool,
    /// First port of the [`AcpiPmBlock`].
    pub pm_base: u16,
    /// 32-bit PM timer (FADT flag TMR_VAL_EXT) rather than 24-bit.
    pub pm_timer_32bit: bool,
}

impl Default for AcpiConfig {
    fn default() -> Self {
        AcpiConfig {
            cpus: 1,
            ioapic: true,
            ioapic_id: 0,
            pic: true,
            rtc: true,
            pm_base: DEFAULT_PM_BASE,
            pm_timer_32bit: true,
        }
    }
}

/// Built tables: `bytes` go to guest-physical `base_gpa` as given to
/// [`AcpiTables::build`]; the RSDP is at `rsdp_gpa` inside them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcpiBlob {
    /// The tables, to be copied to guest memory at the base address.
    pub bytes: Vec<u8>,
    /// Guest-physical address of the RSDP, for the boot protocol (PVH's
    /// `rsdp_paddr`, Linux's `acpi_rsdp_addr`) or the BIOS search areas.
    pub rsdp_gpa: u64,
}

/// The table builder.
#[derive(Clone, Copy, Debug)]
pub struct AcpiTables;

/// Where each table lands, as byte offsets into the blob.
#[derive(Clone, Copy, Debug)]
struct Layout {
    base: u64,
    rsdp: usize,
    xsdt: usize,
    rsdt: Option<usize>,
    fadt: usize,
    facs: usize,
    dsdt: usize,
    madt: usize,
    end: usize,
}

impl Layout {
    fn gpa(&self, offset: usize) -> u64 {
        self.base.wrapping_add(offset as u64)
    }

    /// Whether every table is reachable through 32-bit pointers.
    fn below_4g(&self) -> bool {
        self.base
            .checked_add(self.end as u64)
            .is_some_and(|end| end <= 1 << 32)
    }

    /// A 32-bit pointer to `offset`, or 0 above 4 GiB, where only the
    /// 64-bit fields point.
    fn gpa32(&self, offset: usize) -> u32 {
        if self.below_4g() {
            self.gpa(offset) as u32
        } else {
            0
        }
    }
}

impl AcpiTables {
    /// Builds the tables for `config` to be placed at `base_gpa`. The RSDP
    /// comes first, at the first 16-byte aligned address from `base_gpa`.
    pub fn build(config: AcpiConfig, base_gpa: u64) -> AcpiBlob {
        let dsdt = dsdt::build();
        let madt = madt::build(&config);
        let layout = layout(base_gpa, dsdt.len(), madt.len());
        let fadt = fadt::build(&config, &layout);
        let facs = fadt::build_facs();
        let entries = [layout.fadt, layout.madt];
        let xsdt = pointer_table(*b"XSDT", entries.map(|at| layout.gpa(at).to_le_bytes()));
        let mut bytes = alloc::vec![0u8; layout.end];
        let mut place = |offset: usize, table: &[u8]| {
            bytes[offset..offset + table.len()].copy_from_slice(table);
        };
        place(layout.xsdt, &xsdt);
        if let Some(rsdt_at) = layout.rsdt {
            let rsdt = pointer_table(*b"RSDT", entries.map(|at| layout.gpa32(at).to_le_bytes()));
            place(rsdt_at, &rsdt);
        }
        place(layout.fadt, &fadt);
        place(layout.facs, &facs);
        place(layout.dsdt, &dsdt);
        place(layout.madt, &madt);
        place(layout.rsdp, &rsdp(&layout));
        AcpiBlob {
            bytes,
            rsdp_gpa: layout.gpa(layout.rsdp),
        }
    }
}

fn layout(base: u64, dsdt_len: usize, madt_len: usize) -> Layout {
    // Offsets are aligned as guest-physical addresses, so any base works.
    let align = |offset: usize, to: u64| -> usize {
        let gpa = base.wrapping_add(offset as u64);
        offset + (gpa.wrapping_neg() % to) as usize
    };
    let rsdp = align(0, 16);
    let xsdt = align(rsdp + RSDP_LEN, 8);
    let rsdt_at = align(xsdt + HEADER_LEN + 2 * 8, 8);
    let fadt_at = align(rsdt_at + HEADER_LEN + 2 * 4, 8);
    let facs = align(fadt_at + fadt::FADT_LEN, 64);
    let dsdt = align(facs + fadt::FACS_LEN, 8);
    let madt = align(dsdt + dsdt_len, 8);
    let mut layout = Layout {
        base,
        rsdp,
        xsdt,
        rsdt: Some(rsdt_at),
        fadt: fadt_at,
        facs,
        dsdt,
        madt,
        end: madt + madt_len,
    };
    if !layout.below_4g() {
        layout.rsdt = None;
    }
    layout
}

/// A table header (§5.2.6) with length and checksum still zero.
fn header(signature: [u8; 4], revision: u8) -> Vec<u8> {
    let mut table = Vec::with_capacity(256);
    table.extend_from_slice(&signature);
    table.extend_from_slice(&0u32.to_le_bytes());
    table.push(revision);
    table.push(0);
    table.extend_from_slice(&OEM_ID);
    table.extend_from_slice(&OEM_TABLE_ID);
    table.extend_from_slice(&OEM_REVISION.to_le_bytes());
    table.extend_from_slice(&CREATOR_ID);
    table.extend_from_slice(&CREATOR_REVISION.to_le_bytes());
    table
}

/// Fills in the header's length and checksum.
fn finish(mut table: Vec<u8>) -> Vec<u8> {
    let length = table.len() as u32;
    table[HEADER_LENGTH..HEADER_LENGTH + 4].copy_from_slice(&length.to_le_bytes());
    table[HEADER_CHECKSUM] = 0;
    table[HEADER_CHECKSUM] = checksum(&table);
    table
}

/// The byte that makes `bytes` sum to zero modulo 256.
fn checksum(bytes: &[u8]) -> u8 {
    bytes
        .iter()
        .fold(0u8, |sum, &b| sum.wrapping_add(b))
        .wrapping_neg()
}

/// The RSDT or the XSDT: a header followed by table addresses.
fn pointer_table<const N: usize>(signature: [u8; 4], entries: [[u8; N]; 2]) -> Vec<u8> {
    let mut table = header(signature, 1);
    for entry in entries {
        table.extend_from_slice(&entry);
    }
    finish(table)
}

/// The Root System Description Pointer (§5.2.5.3).
fn rsdp(layout: &Layout) -> [u8; RSDP_LEN] {
    let mut rsdp = [0u8; RSDP_LEN];
    rsdp[..8].copy_from_slice(b"RSD PTR ");
    rsdp[RSDP_OEM_ID..RSDP_OEM_ID + 6].copy_from_slice(&OEM_ID);
    rsdp[RSDP_REVISION] = 2;
    let rsdt = layout.rsdt.map_or(0, |at| layout.gpa32(at));
    rsdp[RSDP_RSDT_ADDRESS..RSDP_RSDT_ADDRESS + 4].copy_from_slice(&rsdt.to_le_bytes());
    rsdp[RSDP_LENGTH..RSDP_LENGTH + 4].copy_from_slice(&(RSDP_LEN as u32).to_le_bytes());
    let xsdt = layout.gpa(layout.xsdt);
    rsdp[RSDP_XSDT_ADDRESS..RSDP_XSDT_ADDRESS + 8].copy_from_slice(&xsdt.to_le_bytes());
    rsdp[RSDP_CHECKSUM] = checksum(&rsdp[..RSDP_V1_LEN]);
    rsdp[RSDP_EXTENDED_CHECKSUM] = checksum(&rsdp);
    rsdp
}
