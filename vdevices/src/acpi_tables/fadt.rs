//! Fixed ACPI Description Table, revision 6.0 (ACPI 6.0 §5.2.9, Table
//! 5-34), and the Firmware ACPI Control Structure (§5.2.10, Table 5-37).
//!
//! Field offsets are named after the specification's fields; the FADT is
//! written into a zeroed buffer of its full length, so every field not
//! named here is 0 (no PM1b, PM2 or GPE blocks, no P-state or C-state
//! control through SMI, no reset register).

use alloc::vec::Vec;

use super::pm::{PM_TIMER_HZ, PM_TIMER_LEN, PM1_CONTROL_LEN, PM1_EVENT_LEN, S5_SLP_TYP};
use super::{
    AcpiConfig, HEADER_LEN, Layout, PM_TIMER_OFFSET, PM1_CONTROL_OFFSET, PM1_EVENT_OFFSET, SCI_IRQ,
    finish, header,
};

/// Length of a revision 6.0 FADT.
pub(super) const FADT_LEN: usize = 276;
/// FADT major revision.
const FADT_REVISION: u8 = 6;
/// FADT minor revision (ACPI 6.0).
const FADT_MINOR_REVISION: u8 = 0;

const FIRMWARE_CTRL: usize = 36;
const DSDT: usize = 40;
/// ACPI 1.0's INT_MODEL, reserved since 2.0 but still read by old guests.
const INT_MODEL: usize = 44;
const SCI_INT: usize = 46;
const PM1A_EVT_BLK: usize = 56;
const PM1A_CNT_BLK: usize = 64;
const PM_TMR_BLK: usize = 76;
const PM1_EVT_LEN: usize = 88;
const PM1_CNT_LEN: usize = 89;
const PM_TMR_LEN: usize = 91;
const P_LVL2_LAT: usize = 96;
const P_LVL3_LAT: usize = 98;
const CENTURY: usize = 108;
const IAPC_BOOT_ARCH: usize = 109;
const FLAGS: usize = 112;
const FADT_MINOR_VERSION: usize = 131;
const X_FIRMWARE_CTRL: usize = 132;
const X_DSDT: usize = 140;
const X_PM1A_EVT_BLK: usize = 148;
const X_PM1A_CNT_BLK: usize = 172;
const X_PM_TMR_BLK: usize = 208;

// Spot checks of the layout against Table 5-34.
const _: () = assert!(HEADER_LEN == FIRMWARE_CTRL);
const _: () = assert!(X_PM_TMR_BLK + GAS_LEN == 220 && FADT_LEN == 268 + 8);

/// INT_MODEL: dual 8259.
const INT_MODEL_DUAL_PIC: u8 = 0;
/// INT_MODEL: multiple APIC.
const INT_MODEL_APIC: u8 = 1;
/// P_LVL2_LAT above 100 µs: C2 not supported.
const C2_NOT_SUPPORTED: u16 = 101;
/// P_LVL3_LAT above 1000 µs: C3 not supported.
const C3_NOT_SUPPORTED: u16 = 1001;
/// CMOS index of the century byte.
const RTC_CENTURY_INDEX: u8 = 0x32;

/// IAPC_BOOT_ARCH: ISA devices the OS cannot enumerate (UART, RTC, PIT).
pub(super) const BOOT_LEGACY_DEVICES: u16 = 1 << 0;
/// IAPC_BOOT_ARCH: an 8042 keyboard controller (never set: there is none,
/// and Linux skips probing it when this is clear).
pub(super) const BOOT_8042: u16 = 1 << 1;
/// IAPC_BOOT_ARCH: VGA not present.
pub(super) const BOOT_VGA_NOT_PRESENT: u16 = 1 << 2;
/// IAPC_BOOT_ARCH: CMOS RTC not present.
pub(super) const BOOT_CMOS_RTC_NOT_PRESENT: u16 = 1 << 5;

/// Flags: WBINVD works (caches are coherent for the OS's purposes).
pub(super) const FLAG_WBINVD: u32 = 1 << 0;
/// Flags: C1 (HLT) is supported on every processor.
pub(super) const FLAG_PROC_C1: u32 = 1 << 2;
/// Flags: the power button is a control method or absent; clear here, the
/// power button is the fixed-feature one of PM1.
pub(super) const FLAG_PWR_BUTTON: u32 = 1 << 4;
/// Flags: no fixed-feature sleep button.
pub(super) const FLAG_SLP_BUTTON: u32 = 1 << 5;
/// Flags: RTC wake status is not in the fixed register space.
pub(super) const FLAG_FIX_RTC: u32 = 1 << 6;
/// Flags: the PM timer is 32 bits wide.
pub(super) const FLAG_TMR_VAL_EXT: u32 = 1 << 8;
/// Flags: RESET_REG is supported (never set here).
pub(super) const FLAG_RESET_REG_SUP: u32 = 1 << 10;
/// Flags: hardware-reduced ACPI (never set: the fixed hardware exists).
pub(super) const FLAG_HW_REDUCED_ACPI: u32 = 1 << 20;

/// Boot architecture flags of every partition.
const BOOT_ALWAYS: u16 = BOOT_LEGACY_DEVICES | BOOT_VGA_NOT_PRESENT;
/// FADT flags of every partition.
const FLAGS_ALWAYS: u32 = FLAG_WBINVD | FLAG_PROC_C1 | FLAG_SLP_BUTTON | FLAG_FIX_RTC;
// What the platform does not have: an 8042, a control-method power button
// (it is PM1's fixed-feature one), a reset register, reduced hardware.
const _: () = assert!(BOOT_ALWAYS & BOOT_8042 == 0);
const _: () =
    assert!(FLAGS_ALWAYS & (FLAG_PWR_BUTTON | FLAG_RESET_REG_SUP | FLAG_HW_REDUCED_ACPI) == 0);

/// Length of a Generic Address Structure (§5.2.3.2).
const GAS_LEN: usize = 12;
/// GAS address space: system I/O.
const GAS_SYSTEM_IO: u8 = 1;

/// Length of the FACS.
pub(super) const FACS_LEN: usize = 64;
/// FACS field: length.
const FACS_LENGTH: usize = 4;
/// FACS field: version.
const FACS_VERSION: usize = 32;
/// FACS version of ACPI 6.0.
const FACS_VERSION_2: u8 = 2;

// The FADT and the PM block must agree on what they describe.
const _: () = assert!(PM1_EVENT_LEN == 4 && PM1_CONTROL_LEN == 2 && PM_TIMER_LEN == 4);
const _: () = assert!(S5_SLP_TYP == 0 && PM_TIMER_HZ == 3_579_545);

pub(super) fn build(config: &AcpiConfig, layout: &Layout) -> Vec<u8> {
    let mut fadt = header(*b"FACP", FADT_REVISION);
    fadt.resize(FADT_LEN, 0);
    let mut put = |offset: usize, bytes: &[u8]| {
        fadt[offset..offset + bytes.len()].copy_from_slice(bytes);
    };

    // ACPI 1.0 guests follow the 32-bit FACS and DSDT pointers; later ones
    // prefer X_DSDT. Both hold the same address (ACPICA warns when they
    // differ), and X_FIRMWARE_CTRL stays 0 while FIRMWARE_CTRL can reach the
    // FACS, as QEMU does. Above 4 GiB only the 64-bit fields are set.
    let facs = layout.gpa32(layout.facs);
    put(FIRMWARE_CTRL, &facs.to_le_bytes());
    if facs == 0 {
        put(X_FIRMWARE_CTRL, &layout.gpa(layout.facs).to_le_bytes());
    }
    put(DSDT, &layout.gpa32(layout.dsdt).to_le_bytes());
    put(X_DSDT, &layout.gpa(layout.dsdt).to_le_bytes());

    let int_model = if config.ioapic {
        INT_MODEL_APIC
    } else {
        INT_MODEL_DUAL_PIC
    };
    put(INT_MODEL, &[int_model]);
    put(SCI_INT, &u16::from(SCI_IRQ).to_le_bytes());
    // SMI_CMD, ACPI_ENABLE and ACPI_DISABLE stay 0: there is no SMM, the
    // platform is always in ACPI mode and PM1_CNT.SCI_EN reads 1.

    let blocks = [
        (
            PM1A_EVT_BLK,
            PM1_EVT_LEN,
            X_PM1A_EVT_BLK,
            PM1_EVENT_OFFSET,
            PM1_EVENT_LEN,
        ),
        (
            PM1A_CNT_BLK,
            PM1_CNT_LEN,
            X_PM1A_CNT_BLK,
            PM1_CONTROL_OFFSET,
            PM1_CONTROL_LEN,
        ),
        (
            PM_TMR_BLK,
            PM_TMR_LEN,
            X_PM_TMR_BLK,
            PM_TIMER_OFFSET,
            PM_TIMER_LEN,
        ),
    ];
    for (field, length_field, x_field, offset, length) in blocks {
        let port = config.pm_base.wrapping_add(offset);
        put(field, &u32::from(port).to_le_bytes());
        put(length_field, &[length as u8]);
        put(x_field, &system_io(port, length));
    }

    put(P_LVL2_LAT, &C2_NOT_SUPPORTED.to_le_bytes());
    put(P_LVL3_LAT, &C3_NOT_SUPPORTED.to_le_bytes());
    if config.rtc {
        put(CENTURY, &[RTC_CENTURY_INDEX]);
    }
    let mut boot = BOOT_ALWAYS;
    if !config.rtc {
        boot |= BOOT_CMOS_RTC_NOT_PRESENT;
    }
    put(IAPC_BOOT_ARCH, &boot.to_le_bytes());
    let mut flags = FLAGS_ALWAYS;
    if config.pm_timer_32bit {
        flags |= FLAG_TMR_VAL_EXT;
    }
    put(FLAGS, &flags.to_le_bytes());
    put(FADT_MINOR_VERSION, &[FADT_MINOR_REVISION]);
    finish(fadt)
}

/// A Generic Address Structure for `length` bytes of I/O ports at `port`.
/// Access size 0 ("undefined", legacy reasons) as QEMU: ACPICA then uses
/// the register's natural width.
fn system_io(port: u16, length: usize) -> [u8; GAS_LEN] {
    let mut gas = [0u8; GAS_LEN];
    gas[0] = GAS_SYSTEM_IO;
    gas[1] = (length * 8) as u8;
    gas[4..].copy_from_slice(&u64::from(port).to_le_bytes());
    gas
}

/// The FACS: signature, length and version; no hardware signature, waking
/// vector or global lock owner.
pub(super) fn build_facs() -> [u8; FACS_LEN] {
    let mut facs = [0u8; FACS_LEN];
    facs[..4].copy_from_slice(b"FACS");
    facs[FACS_LENGTH..FACS_LENGTH + 4].copy_from_slice(&(FACS_LEN as u32).to_le_bytes());
    facs[FACS_VERSION] = FACS_VERSION_2;
    facs
}
