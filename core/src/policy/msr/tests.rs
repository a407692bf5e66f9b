#![allow(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unwrap_used
)]

use bulkhead_config::MsrRange;

use super::MsrOutcome::{
    ApicEnabled, Done, EferRead, EferWrite, GeneralProtection, GuestState, PassToHardware,
    PatWrite, TscDeadlineRead, TscDeadlineWrite, TscRead, TscWrite, Value,
};
use super::{HostFacts, MsrFile, VcpuIdentity, efer, efer_update, efer_view, index, mtrr};
use crate::policy::Vendor;

fn file(vendor: Vendor, is_bsp: bool, allow: &[MsrRange]) -> MsrFile {
    MsrFile::new(
        VcpuIdentity {
            index: u32::from(!is_bsp),
            apic_id: u8::from(!is_bsp),
            is_bsp,
        },
        allow,
        HostFacts {
            vendor,
            phys_addr_bits: 48,
        },
    )
}

fn amd() -> MsrFile {
    file(Vendor::Amd, true, &[])
}

fn intel() -> MsrFile {
    file(Vendor::Intel, true, &[])
}

/// The MTRRs start as firmware leaves them and read back through RDMSR.
#[test]
fn mtrr_initial_state() {
    for f in [amd(), intel()] {
        assert_eq!(f.read(0xFE), Value(0x508), "VCNT 8, FIX, WC");
        assert_eq!(f.read(0x2FF), Value(0xC06), "E, FE, default WB");
        assert_eq!(f.read(0x250), Value(0x0606_0606_0606_0606));
        assert_eq!(f.read(0x258), Value(0x0606_0606_0606_0606));
        assert_eq!(f.read(0x259), Value(0), "VGA window UC");
        assert_eq!(f.read(0x26F), Value(0x0606_0606_0606_0606));
        assert_eq!(f.read(0x20F), Value(0));
        assert_eq!(f.read(0x210), GeneralProtection, "no ninth variable range");
        assert_eq!(f.read(0x280), GeneralProtection, "no MC banks");
    }
}

/// MTRR writes are stored when valid and refused with #GP when a type is invalid, a
/// reserved bit is set, or the MSR is MTRRCAP.
#[test]
fn mtrr_writes() {
    let mut f = amd();
    assert_eq!(f.write(0xFE, 0), GeneralProtection);
    assert_eq!(f.write(0x2FF, 0xC03), GeneralProtection);
    assert_eq!(f.write(0x2FF, 0x806), Done);
    assert_eq!(f.read(0x2FF), Value(0x806));
    assert_eq!(f.write(0x200, 0xE000_0000), Done);
    assert_eq!(f.write(0x201, 0xFFFF_E000_0800), Done);
    assert_eq!(f.write(0x201, 0x1_0000_0000_0800 << 4), GeneralProtection);
    assert_eq!(f.mtrrs().memory_type(0xE000_1000), mtrr::memory_type::UC);
    assert_eq!(f.write(0x268, 0x0505_0505_0505_0505), Done);
    assert_eq!(f.write(0x268, 0x0505_0505_0505_0502), GeneralProtection);
    assert_eq!(f.read(0x268), Value(0x0505_0505_0505_0505));
}

/// IA32_PAT starts at its power-on value; invalid types (2, 3, >7) are #GP; valid writes
/// are stored and handed to the backend for the hardware's guest PAT.
#[test]
fn pat_validity() {
    let mut f = intel();
    assert_eq!(f.read(0x277), Value(0x0007_0406_0007_0406));
    assert_eq!(f.write(0x277, 0x0007_0406_0007_0402), GeneralProtection);
    assert_eq!(f.write(0x277, 0x0007_0406_0007_0408), GeneralProtection);
    assert_eq!(f.read(0x277), Value(0x0007_0406_0007_0406));
    assert_eq!(
        f.write(0x277, 0x0007_0501_0007_0406),
        PatWrite(0x0007_0501_0007_0406)
    );
    assert_eq!(f.read(0x277), Value(0x0007_0501_0007_0406));
    assert_eq!(f.pat(), 0x0007_0501_0007_0406);
}

/// EFER: reads come from the save area with SVME hidden; setting SVME or a reserved bit
/// is #GP; SCE/LME/NXE writes go to the backend; LMA is read only; LME cannot change
/// while paging is on.
#[test]
fn efer_svme_hidden_and_refused() {
    let mut f = amd();
    assert_eq!(f.read(index::EFER), EferRead);
    assert_eq!(efer_view(0x1D01), 0xD01);
    assert_eq!(
        f.write(index::EFER, efer::SVME | efer::LME),
        GeneralProtection
    );
    assert_eq!(f.write(index::EFER, 1 << 14), GeneralProtection, "FFXSR");
    assert_eq!(f.write(index::EFER, 1 << 15), GeneralProtection, "TCE");
    assert_eq!(f.write(index::EFER, 1 << 1), GeneralProtection, "reserved");
    let wanted = efer::SCE | efer::LME | efer::NXE;
    assert_eq!(f.write(index::EFER, wanted), EferWrite(wanted));
    assert_eq!(efer_update(0, wanted, false), Some(wanted));
    assert_eq!(
        efer_update(0, wanted | efer::LMA, false),
        Some(wanted),
        "LMA read only"
    );
    let active = efer::LME | efer::LMA;
    assert_eq!(
        efer_update(active, efer::LME | efer::NXE, true),
        Some(active | efer::NXE)
    );
    assert_eq!(
        efer_update(active, 0, true),
        None,
        "LME cleared under paging"
    );
    assert_eq!(
        efer_update(0, efer::LME, true),
        None,
        "LME set under paging"
    );
    assert_eq!(efer_update(0, efer::SVME, false), None);
}

/// IA32_APIC_BASE: the xAPIC base, the BSP bit only on the BSP, enabled; relocation and
/// x2APIC mode are #GP; clearing and setting the enable bit is recorded and reported.
#[test]
fn apic_base_relocation_refused() {
    let mut bsp = amd();
    let ap = file(Vendor::Amd, false, &[]);
    assert_eq!(bsp.read(0x1B), Value(0xFEE0_0900));
    assert_eq!(ap.read(0x1B), Value(0xFEE0_0800));
    assert_eq!(
        bsp.write(0x1B, 0xFED0_0900),
        GeneralProtection,
        "relocation"
    );
    assert_eq!(bsp.write(0x1B, 0xFEE0_0D00), GeneralProtection, "x2APIC");
    assert_eq!(
        bsp.write(0x1B, 0xFEE0_0901),
        GeneralProtection,
        "reserved bit 0"
    );
    assert_eq!(
        bsp.write(0x1B, 0x1_0000_FEE0_0900),
        GeneralProtection,
        "above MAXPHYADDR"
    );
    assert_eq!(bsp.write(0x1B, 0xFEE0_0900), Done, "unchanged");
    assert_eq!(bsp.write(0x1B, 0xFEE0_0100), ApicEnabled(false));
    assert!(!bsp.apic_enabled());
    assert_eq!(bsp.read(0x1B), Value(0xFEE0_0100));
    assert_eq!(
        bsp.write(0x1B, 0xFEE0_0800),
        ApicEnabled(true),
        "BSP bit written is ignored"
    );
    assert_eq!(bsp.read(0x1B), Value(0xFEE0_0900));
}

/// MSRs on the allow list go to the hardware; the hypervisor's own MSRs never do, even
/// when listed; informational MSRs yield to the allow list.
#[test]
fn allow_list_pass_through() {
    let allow = [
        MsrRange::new(0x48, 0x49),
        MsrRange::new(0xC001_0015, 0xC001_0015),
        MsrRange::new(0x1B, 0x1B),
        MsrRange::new(0x10, 0x10),
    ];
    let mut f = file(Vendor::Amd, true, &allow);
    assert_eq!(f.read(0x48), PassToHardware);
    assert_eq!(f.write(0x49, 1), PassToHardware);
    assert_eq!(f.read(0xC001_0015), PassToHardware);
    assert_eq!(f.read(0x1B), Value(0xFEE0_0900), "APIC base stays emulated");
    assert_eq!(f.write(0x10, 5), TscWrite(5), "TSC stays emulated");
    assert_eq!(f.read(0x4A), GeneralProtection);
}

/// MSRs nobody handles are #GP, reads and writes alike.
#[test]
fn unknown_msrs_are_general_protection() {
    let mut f = intel();
    for msr in [
        0x0,
        0x48,
        0x3B,
        0xDA0,
        0x480,
        0x801,
        0xC000_0103,
        0xC001_0117,
        0x4000_0000,
        u32::MAX,
    ] {
        assert_eq!(f.read(msr), GeneralProtection, "read {msr:#x}");
        assert_eq!(f.write(msr, 0), GeneralProtection, "write {msr:#x}");
    }
}

/// MSRs one vendor has and the other does not: VM_CR, SYSCFG, HWCR, DE_CFG, OSVW on AMD;
/// FEATURE_CONTROL, MISC_ENABLE, PLATFORM_INFO and microcode writes on Intel.
#[test]
fn per_vendor_differences() {
    let mut a = amd();
    let mut i = intel();
    assert_eq!(a.read(index::VM_CR), Value(0x18), "SVM disabled and locked");
    assert_eq!(i.read(index::VM_CR), GeneralProtection);
    assert_eq!(a.write(index::VM_CR, 0), GeneralProtection);
    assert_eq!(a.read(index::VM_HSAVE_PA), GeneralProtection);
    assert_eq!(a.read(index::SYSCFG), Value(0x14_0000));
    assert_eq!(a.write(index::SYSCFG, 0x14_0000), GeneralProtection);
    assert_eq!(i.read(index::SYSCFG), GeneralProtection);
    assert_eq!(a.read(index::HWCR), Value(0x100_0001));
    assert_eq!(a.write(index::HWCR, 0x100_0001), Done);
    assert_eq!(a.write(index::HWCR, 0x4100_0001), GeneralProtection);
    assert_eq!(a.read(index::DE_CFG), Value(2));
    assert_eq!(a.read(index::NB_CFG), Value(0));
    assert_eq!(a.read(index::OSVW_ID_LENGTH), Value(0));
    assert_eq!(a.read(index::OSVW_STATUS), Value(0));
    assert_eq!(a.read(index::LS_CFG), GeneralProtection);
    assert_eq!(i.read(index::HWCR), GeneralProtection);

    assert_eq!(i.read(index::FEATURE_CONTROL), Value(1), "locked, VMX off");
    assert_eq!(i.write(index::FEATURE_CONTROL, 5), GeneralProtection);
    assert_eq!(a.read(index::FEATURE_CONTROL), GeneralProtection);
    assert_eq!(i.read(index::PLATFORM_INFO), Value(0));
    assert_eq!(a.read(index::PLATFORM_INFO), GeneralProtection);
    assert_eq!(i.read(index::PLATFORM_ID), Value(0));
    assert_eq!(i.read(index::MISC_ENABLE), Value(0x1801));
    assert_eq!(
        i.write(index::MISC_ENABLE, 0x1800),
        Done,
        "fast strings off"
    );
    assert_eq!(i.read(index::MISC_ENABLE), Value(0x1800));
    assert_eq!(
        i.write(index::MISC_ENABLE, 0x1801 | 1 << 18),
        GeneralProtection,
        "MONITOR"
    );
    assert_eq!(a.read(index::MISC_ENABLE), GeneralProtection);
    assert_eq!(i.write(index::BIOS_SIGN_ID, 0), Done);
    assert_eq!(a.write(index::BIOS_SIGN_ID, 0), GeneralProtection);
    assert_eq!(a.read(index::BIOS_SIGN_ID), Value(0));
    assert_eq!(i.read(index::BIOS_SIGN_ID), Value(0));
}

/// Machine check: no banks, MCG_STATUS reads 0 and only 0 may be written back.
#[test]
fn machine_check_has_no_banks() {
    let mut f = intel();
    assert_eq!(f.read(index::MCG_CAP), Value(0));
    assert_eq!(f.write(index::MCG_CAP, 0), GeneralProtection);
    assert_eq!(f.read(index::MCG_STATUS), Value(0));
    assert_eq!(f.write(index::MCG_STATUS, 0), Done);
    assert_eq!(f.write(index::MCG_STATUS, 4), GeneralProtection);
    assert_eq!(f.read(0x400), GeneralProtection, "MC0_CTL");
}

/// TSC, TSC deadline and the save-area MSRs are routed, not answered here.
#[test]
fn routed_msrs() {
    let mut f = amd();
    assert_eq!(f.read(0x10), TscRead);
    assert_eq!(f.write(0x10, 77), TscWrite(77));
    assert_eq!(f.read(0x6E0), TscDeadlineRead);
    assert_eq!(f.write(0x6E0, 99), TscDeadlineWrite(99));
    for msr in [
        0x174,
        0x175,
        0x176,
        0xC000_0081,
        0xC000_0084,
        0xC000_0100,
        0xC000_0102,
    ] {
        assert_eq!(f.read(msr), GuestState, "{msr:#x}");
        assert_eq!(f.write(msr, 1), GuestState, "{msr:#x}");
    }
    assert_eq!(f.read(index::DEBUGCTL), Value(0));
    assert_eq!(f.write(index::DEBUGCTL, 1), GeneralProtection);
}

/// On AMD, INT_PENDING_MSG reads 0 (no C1E), so Linux's erratum-400 check on
/// family 0Fh/10h parts finds nothing to work around; Intel has no such MSR.
#[test]
fn amd_int_pending_msg_reads_zero() {
    let mut amd = amd();
    assert_eq!(amd.read(index::INT_PENDING_MSG), Value(0));
    assert_eq!(amd.write(index::INT_PENDING_MSG, 0), Done);
    assert_eq!(
        amd.write(index::INT_PENDING_MSG, 1 << 27),
        GeneralProtection
    );
    assert_eq!(intel().read(index::INT_PENDING_MSG), GeneralProtection);
}
