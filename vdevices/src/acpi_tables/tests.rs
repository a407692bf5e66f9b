//! The built tables, parsed back by a small independent reader: signatures,
//! lengths, checksums, pointers and contents.

use super::fadt::{
    BOOT_CMOS_RTC_NOT_PRESENT, BOOT_LEGACY_DEVICES, BOOT_VGA_NOT_PRESENT, FLAG_HW_REDUCED_ACPI,
    FLAG_PWR_BUTTON, FLAG_TMR_VAL_EXT,
};
use super::madt::{
    INTI_ACTIVE_HIGH, INTI_EDGE, INTI_LEVEL, LOCAL_APIC_ENABLED, PCAT_COMPAT, PIT_GSI,
    TYPE_INTERRUPT_OVERRIDE, TYPE_IO_APIC, TYPE_LOCAL_APIC, TYPE_LOCAL_APIC_NMI,
};
use super::*;

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(bytes[at..at + 2].try_into().unwrap())
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap())
}

fn sums_to_zero(bytes: &[u8]) -> bool {
    bytes.iter().fold(0u8, |sum, &b| sum.wrapping_add(b)) == 0
}

/// Guest memory holding a blob, read by guest-physical address.
struct Guest<'a> {
    base: u64,
    bytes: &'a [u8],
}

impl<'a> Guest<'a> {
    fn slice(&self, gpa: u64, len: usize) -> &'a [u8] {
        assert!(gpa >= self.base, "{gpa:#x} below the blob");
        let start = usize::try_from(gpa - self.base).unwrap();
        &self.bytes[start..start + len]
    }

    /// A table with a standard header: checks the length fits, the checksum
    /// and the signature, and the 8-byte alignment.
    fn table(&self, gpa: u64, signature: &[u8; 4]) -> &'a [u8] {
        assert_eq!(
            gpa % 8,
            0,
            "{} at {gpa:#x} is not 8-byte aligned",
            ascii(signature)
        );
        let length = u32_at(self.slice(gpa, HEADER_LEN), 4) as usize;
        assert!(length >= HEADER_LEN);
        let table = self.slice(gpa, length);
        assert_eq!(&table[..4], signature);
        assert!(sums_to_zero(table), "{} checksum", ascii(signature));
        assert_eq!(&table[10..16], &OEM_ID);
        assert_eq!(&table[16..24], &OEM_TABLE_ID);
        table
    }
}

fn ascii(signature: &[u8]) -> String {
    String::from_utf8_lossy(signature).into_owned()
}

/// Everything the reader found.
struct Parsed<'a> {
    rsdp: &'a [u8],
    xsdt: &'a [u8],
    rsdt: Option<&'a [u8]>,
    fadt: &'a [u8],
    madt: &'a [u8],
    dsdt: &'a [u8],
    facs: &'a [u8],
}

fn parse(blob: &AcpiBlob, base: u64) -> Parsed<'_> {
    let guest = Guest {
        base,
        bytes: &blob.bytes,
    };
    assert_eq!(blob.rsdp_gpa % 16, 0);
    let rsdp = guest.slice(blob.rsdp_gpa, RSDP_LEN);
    assert_eq!(&rsdp[..8], b"RSD PTR ");
    assert!(sums_to_zero(&rsdp[..20]), "RSDP checksum");
    assert!(sums_to_zero(rsdp), "RSDP extended checksum");
    assert_eq!(rsdp[15], 2, "revision");
    assert_eq!(u32_at(rsdp, 20), RSDP_LEN as u32);

    let xsdt = guest.table(u64_at(rsdp, 24), b"XSDT");
    let entries: Vec<u64> = xsdt[HEADER_LEN..].chunks(8).map(|c| u64_at(c, 0)).collect();
    assert_eq!(entries.len(), 2);
    let fadt = guest.table(entries[0], b"FACP");
    let madt = guest.table(entries[1], b"APIC");

    let rsdt = match u32_at(rsdp, 16) {
        0 => None,
        at => {
            let rsdt = guest.table(u64::from(at), b"RSDT");
            let entries32: Vec<u64> = rsdt[HEADER_LEN..]
                .chunks(4)
                .map(|c| u64::from(u32_at(c, 0)))
                .collect();
            assert_eq!(entries32, entries, "RSDT and XSDT list the same tables");
            Some(rsdt)
        }
    };

    let dsdt_gpa = match u64_at(fadt, 140) {
        0 => u64::from(u32_at(fadt, 40)),
        x => {
            let legacy = u32_at(fadt, 40);
            assert!(
                legacy == 0 || u64::from(legacy) == x,
                "DSDT and X_DSDT differ"
            );
            x
        }
    };
    let dsdt = guest.table(dsdt_gpa, b"DSDT");
    let facs_gpa = match u32_at(fadt, 36) {
        0 => u64_at(fadt, 132),
        at => u64::from(at),
    };
    assert_eq!(facs_gpa % 64, 0, "FACS alignment");
    let facs = guest.slice(facs_gpa, 64);
    assert_eq!(&facs[..4], b"FACS");
    assert_eq!(u32_at(facs, 4), 64);
    Parsed {
        rsdp,
        xsdt,
        rsdt,
        fadt,
        madt,
        dsdt,
        facs,
    }
}

/// One MADT interrupt controller structure: type and body.
fn madt_entries(madt: &[u8]) -> Vec<(u8, &[u8])> {
    let mut entries = Vec::new();
    let mut at = HEADER_LEN + 8;
    while at < madt.len() {
        let (kind, length) = (madt[at], usize::from(madt[at + 1]));
        assert!(
            length >= 2 && at + length <= madt.len(),
            "entry at {at} overruns"
        );
        entries.push((kind, &madt[at..at + length]));
        at += length;
    }
    entries
}

/// RSDP (ACPI 2.0+): signature, both checksums, revision 2, length 36, and
/// pointers to an XSDT and an RSDT that list the same FADT and MADT.
#[test]
fn rsdp_points_at_xsdt_and_rsdt() {
    let base = 0x000E_0000;
    let blob = AcpiTables::build(AcpiConfig::default(), base);
    assert_eq!(blob.rsdp_gpa, base);
    let parsed = parse(&blob, base);
    assert_eq!(&parsed.rsdp[9..15], &OEM_ID);
    assert!(parsed.rsdt.is_some());
    assert_eq!(parsed.xsdt[8], 1, "XSDT revision");
    assert!(blob.bytes.len() < 4096, "{} bytes", blob.bytes.len());
}

/// Every table carries its signature, a length covering its contents, a
/// checksum summing to zero and the revision of ACPI 6.0 (FADT 6.0, MADT 4,
/// DSDT 2 for 64-bit AML integers, FACS version 2).
#[test]
fn tables_have_signatures_lengths_checksums_and_revisions() {
    let blob = AcpiTables::build(AcpiConfig::default(), 0x7FF_0000);
    let parsed = parse(&blob, 0x7FF_0000);
    assert_eq!(parsed.fadt.len(), 276);
    assert_eq!((parsed.fadt[8], parsed.fadt[131]), (6, 0));
    assert_eq!(parsed.madt[8], 4);
    assert_eq!(parsed.dsdt[8], 2);
    assert_eq!(parsed.facs[32], 2);
}

/// MADT: local APIC address, PCAT_COMPAT with a PIC, one enabled local APIC
/// per vCPU with APIC ID = UID = index, the IOAPIC at 0xFEC00000 with GSI
/// base 0 and its ID, IRQ0 → GSI 2 edge/high, IRQ9 → GSI 9 level/high, and
/// LINT1 as NMI on all processors.
#[test]
fn madt_lists_apics_ioapic_and_overrides() {
    let config = AcpiConfig {
        cpus: 3,
        ioapic_id: 3,
        ..AcpiConfig::default()
    };
    let blob = AcpiTables::build(config, 0x10_0000);
    let madt = parse(&blob, 0x10_0000).madt;
    assert_eq!(u32_at(madt, 36), LOCAL_APIC_ADDRESS);
    assert_eq!(u32_at(madt, 40), PCAT_COMPAT);
    let entries = madt_entries(madt);
    let kinds: Vec<u8> = entries.iter().map(|(kind, _)| *kind).collect();
    assert_eq!(
        kinds,
        [
            TYPE_LOCAL_APIC,
            TYPE_LOCAL_APIC,
            TYPE_LOCAL_APIC,
            TYPE_IO_APIC,
            TYPE_INTERRUPT_OVERRIDE,
            TYPE_INTERRUPT_OVERRIDE,
            TYPE_LOCAL_APIC_NMI
        ]
    );
    for (index, (_, entry)) in entries[..3].iter().enumerate() {
        assert_eq!(entry.len(), 8);
        assert_eq!((entry[2], entry[3]), (index as u8, index as u8));
        assert_eq!(u32_at(entry, 4), LOCAL_APIC_ENABLED);
    }
    let ioapic = entries[3].1;
    assert_eq!(ioapic.len(), 12);
    assert_eq!(ioapic[2], 3);
    assert_eq!(u32_at(ioapic, 4), IOAPIC_ADDRESS);
    assert_eq!(u32_at(ioapic, 8), 0);
    let irq0 = entries[4].1;
    assert_eq!((irq0.len(), irq0[2], irq0[3]), (10, 0, 0));
    assert_eq!(u32_at(irq0, 4), PIT_GSI);
    assert_eq!(u16_at(irq0, 8), INTI_EDGE | INTI_ACTIVE_HIGH);
    let sci = entries[5].1;
    assert_eq!((sci[2], sci[3]), (0, SCI_IRQ));
    assert_eq!(u32_at(sci, 4), u32::from(SCI_IRQ));
    assert_eq!(u16_at(sci, 8), INTI_LEVEL | INTI_ACTIVE_HIGH);
    let nmi = entries[6].1;
    assert_eq!((nmi.len(), nmi[2], nmi[5]), (6, 0xFF, 1));
}

/// Without an IOAPIC there is no IOAPIC entry and no override (they only
/// describe IOAPIC routing); without a PIC, PCAT_COMPAT is clear.
#[test]
fn madt_without_ioapic_or_pic() {
    let config = AcpiConfig {
        cpus: 1,
        ioapic: false,
        pic: false,
        ..AcpiConfig::default()
    };
    let blob = AcpiTables::build(config, 0x10_0000);
    let parsed = parse(&blob, 0x10_0000);
    assert_eq!(u32_at(parsed.madt, 40), 0);
    let kinds: Vec<u8> = madt_entries(parsed.madt)
        .iter()
        .map(|(kind, _)| *kind)
        .collect();
    assert_eq!(kinds, [TYPE_LOCAL_APIC, TYPE_LOCAL_APIC_NMI]);
    assert_eq!(parsed.fadt[44], 0, "INT_MODEL dual PIC");
}

/// FADT: SCI on IRQ 9, PM1a event/control blocks and the PM timer at the
/// PM base (+0, +4, +8) in both the 32-bit fields and the I/O-space GAS
/// fields, TMR_VAL_EXT following the timer width, not hardware-reduced,
/// the fixed power button, CENTURY at CMOS 0x32, and the boot flags.
#[test]
fn fadt_describes_the_pm_hardware() {
    for timer_32 in [true, false] {
        let config = AcpiConfig {
            pm_base: 0xB000,
            pm_timer_32bit: timer_32,
            ..Default::default()
        };
        let blob = AcpiTables::build(config, 0x9_F000);
        let fadt = parse(&blob, 0x9_F000).fadt;
        assert_eq!(u16_at(fadt, 46), 9, "SCI_INT");
        assert_eq!(u32_at(fadt, 48), 0, "SMI_CMD: always in ACPI mode");
        for (field, length_field, gas, port, length) in [
            (56, 88, 148, 0xB000, 4),
            (64, 89, 172, 0xB004, 2),
            (76, 91, 208, 0xB008, 4),
        ] {
            assert_eq!(u32_at(fadt, field), port);
            assert_eq!(fadt[length_field], length);
            assert_eq!(fadt[gas], 1, "system I/O");
            assert_eq!(fadt[gas + 1], length * 8);
            assert_eq!(u64_at(fadt, gas + 4), u64::from(port));
        }
        let flags = u32_at(fadt, 112);
        assert_eq!(flags & FLAG_TMR_VAL_EXT != 0, timer_32);
        assert_eq!(flags & (FLAG_HW_REDUCED_ACPI | FLAG_PWR_BUTTON), 0);
        assert_eq!(fadt[108], 0x32, "CENTURY");
        assert_eq!(
            u16_at(fadt, 109),
            BOOT_LEGACY_DEVICES | BOOT_VGA_NOT_PRESENT
        );
        assert!(
            u16_at(fadt, 96) > 100 && u16_at(fadt, 98) > 1000,
            "no C2/C3"
        );
        assert_eq!(fadt[44], 1, "INT_MODEL APIC");
    }
    let config = AcpiConfig {
        rtc: false,
        ..Default::default()
    };
    let fadt = parse(&AcpiTables::build(config, 0x9_F000), 0x9_F000)
        .fadt
        .to_vec();
    assert_eq!(fadt[108], 0);
    assert_ne!(u16_at(&fadt, 109) & BOOT_CMOS_RTC_NOT_PRESENT, 0);
}

/// DSDT: the header followed by exactly `Name (\_S5, Package (4) {0, 0, 0,
/// 0})` in AML.
#[test]
fn dsdt_defines_s5() {
    let blob = AcpiTables::build(AcpiConfig::default(), 0x10_0000);
    let dsdt = parse(&blob, 0x10_0000).dsdt;
    let aml = [
        0x08, b'\\', b'_', b'S', b'5', b'_', 0x12, 0x06, 0x04, 0, 0, 0, 0,
    ];
    assert_eq!(&dsdt[HEADER_LEN..], &aml);
}

/// Tables above 4 GiB cannot be reached through 32-bit pointers: the RSDP
/// has no RSDT, the FADT's FIRMWARE_CTRL and DSDT are 0 and X_FIRMWARE_CTRL
/// and X_DSDT point instead.
#[test]
fn tables_above_4g_use_64_bit_pointers() {
    let base = 0x1_0000_0000;
    let blob = AcpiTables::build(AcpiConfig::default(), base);
    let parsed = parse(&blob, base);
    assert!(parsed.rsdt.is_none());
    assert_eq!(u32_at(parsed.fadt, 36), 0);
    assert_eq!(u32_at(parsed.fadt, 40), 0);
    assert!(u64_at(parsed.fadt, 132) > base);
    assert!(u64_at(parsed.fadt, 140) > base);

    // Straddling the 4 GiB line counts as above.
    let base = (1 << 32) - 0x100;
    let blob = AcpiTables::build(AcpiConfig::default(), base);
    assert!(parse(&blob, base).rsdt.is_none());
}

/// Any base works: the RSDP lands on the next 16-byte boundary, tables on
/// 8-byte and the FACS on 64-byte boundaries, checksums intact.
#[test]
fn unaligned_base() {
    for base in [0x1001, 0x7_FFF3, 0x12_3457] {
        let blob = AcpiTables::build(
            AcpiConfig {
                cpus: 8,
                ..Default::default()
            },
            base,
        );
        assert_eq!(blob.rsdp_gpa, base.next_multiple_of(16));
        parse(&blob, base);
    }
}

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Any configuration at any base below the top of the address space builds
/// tables that parse, with one local APIC entry per vCPU.
#[test]
fn arbitrary_configurations_build_valid_tables() {
    let mut rng = XorShift(0xC2B2_AE3D_27D4_EB4F);
    for _ in 0..2000 {
        let bits = rng.next();
        let config = AcpiConfig {
            cpus: bits as u8,
            ioapic: bits & 1 << 8 != 0,
            ioapic_id: (bits >> 16) as u8,
            pic: bits & 1 << 9 != 0,
            rtc: bits & 1 << 10 != 0,
            pm_base: (bits >> 32) as u16,
            pm_timer_32bit: bits & 1 << 11 != 0,
        };
        let base = rng.next() % (1 << 52);
        let blob = AcpiTables::build(config, base);
        let parsed = parse(&blob, base);
        let local_apics = madt_entries(parsed.madt)
            .iter()
            .filter(|(kind, _)| *kind == TYPE_LOCAL_APIC)
            .count();
        assert_eq!(local_apics, usize::from(config.cpus));
    }
    // The top of the address space neither panics nor overflows.
    AcpiTables::build(AcpiConfig::default(), u64::MAX - 10);
}
