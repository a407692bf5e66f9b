//! The per-vCPU MSR file: what every RDMSR and WRMSR the MSR permission map intercepts
//! does (SDM Vol. 4, "Model-Specific Registers"; APM Vol. 2, Appendix A).
//!
//! The permission map passes the partition's allow list straight to the hardware and
//! intercepts everything else; each intercepted access comes here and gets an
//! [`MsrOutcome`]. An MSR is looked up in three tiers:
//!
//! 1. MSRs the hypervisor owns are always emulated, whatever the allow list says (the
//!    configuration refuses most of them in `msr_allow` anyway): the local APIC base,
//!    EFER, the MTRRs and PAT, the SVM and VMX control MSRs, the TSC and TSC deadline,
//!    the x2APIC range, and the MSRs that live in the guest's save area.
//! 2. The allow list: [`MsrOutcome::PassToHardware`] (an allowed MSR outside the ranges
//!    the permission map covers still exits; the backend performs the access).
//! 3. Informational MSRs a guest kernel reads while it boots, answered with fixed values
//!    as the vendor's hardware defines them. The vendor decides which exist.
//!
//! Everything else is #GP(0), as for an MSR the processor does not implement.
//!
//! | MSR | name | vendor | read | write |
//! | --- | --- | --- | --- | --- |
//! | 0x10 | IA32_TSC | both | [`TscRead`](MsrOutcome::TscRead) | [`TscWrite`](MsrOutcome::TscWrite): the backend moves the TSC offset |
//! | 0x17 | IA32_PLATFORM_ID | Intel | 0 | #GP |
//! | 0x1B | IA32_APIC_BASE | both | 0xFEE0_0000, BSP bit per vCPU, enable bit | base other than 0xFEE0_0000, EXTD (x2APIC), reserved bits: #GP; BSP bit ignored; the enable bit is recorded ([`ApicEnabled`](MsrOutcome::ApicEnabled) when it changes) |
//! | 0x3A | IA32_FEATURE_CONTROL | Intel | locked, VMX off (1) | #GP (locked) |
//! | 0x8B | IA32_BIOS_SIGN_ID / PATCH_LEVEL | both | 0 (no microcode revision) | Intel: ignored (the "write 0, CPUID(1), read" protocol); AMD: #GP |
//! | 0xCE | MSR_PLATFORM_INFO | Intel | 0 (no ratios, no CPUID faulting) | #GP |
//! | 0xFE | IA32_MTRRCAP | both | VCNT 8, FIX, WC | #GP |
//! | 0x174–0x176 | IA32_SYSENTER_CS/ESP/EIP | both | [`GuestState`](MsrOutcome::GuestState) | [`GuestState`](MsrOutcome::GuestState) |
//! | 0x179 | IA32_MCG_CAP | both | 0 (no banks, no MCG_CTL) | #GP |
//! | 0x17A | IA32_MCG_STATUS | both | 0 | 0 accepted, else #GP |
//! | 0x1A0 | IA32_MISC_ENABLE | Intel | fast strings, BTS and PEBS unavailable | fast-strings bit stored; any other change #GP |
//! | 0x1D9 | IA32_DEBUGCTL | both | 0 | 0 accepted, else #GP (no branch tracing) |
//! | 0x200–0x20F | IA32_MTRR_PHYSBASE/PHYSMASKn | both | stored, start disabled | stored; reserved bits, invalid types: #GP |
//! | 0x250, 0x258, 0x259, 0x268–0x26F | fixed-range MTRRs | both | stored, start WB / VGA UC | stored; invalid types: #GP |
//! | 0x277 | IA32_PAT | both | stored, starts 0x0007_0406_0007_0406 | invalid types: #GP; else [`PatWrite`](MsrOutcome::PatWrite) |
//! | 0x2FF | IA32_MTRR_DEF_TYPE | both | stored, starts E, FE, WB | stored; reserved bits, invalid type: #GP |
//! | 0x200–0x2FF others | MC CTL2 and reserved | both | #GP | #GP |
//! | 0x480–0x491 | IA32_VMX_* | both | #GP (no nested VMX) | #GP |
//! | 0x6E0 | IA32_TSC_DEADLINE | both | [`TscDeadlineRead`](MsrOutcome::TscDeadlineRead) | [`TscDeadlineWrite`](MsrOutcome::TscDeadlineWrite): to the virtual local APIC |
//! | 0x800–0x8FF | x2APIC | both | #GP (xAPIC mode only) | #GP |
//! | 0xC000_0080 | EFER | both | [`EferRead`](MsrOutcome::EferRead): the save area's, SVME hidden | reserved bits, SVME: #GP; else [`EferWrite`](MsrOutcome::EferWrite) |
//! | 0xC000_0081–84 | STAR, LSTAR, CSTAR, SFMASK | both | [`GuestState`](MsrOutcome::GuestState) | [`GuestState`](MsrOutcome::GuestState) |
//! | 0xC000_0100–102 | FS_BASE, GS_BASE, KERNEL_GS_BASE | both | [`GuestState`](MsrOutcome::GuestState) | [`GuestState`](MsrOutcome::GuestState) |
//! | 0xC000_0103 | TSC_AUX | both | #GP (RDTSCP and RDPID are hidden) | #GP |
//! | 0xC001_0010 | SYSCFG | AMD | MtrrFixDramEn, MtrrVarDramEn (no TOM2, no SME) | #GP |
//! | 0xC001_0015 | HWCR | AMD | SmmLock, TscFreqSel | the same value accepted, else #GP |
//! | 0xC001_001F | NB_CFG | AMD | 0 | the same value accepted, else #GP |
//! | 0xC001_0055 | INT_PENDING_MSG | AMD | 0 (C1E not enabled: Linux checks it on family 0Fh/10h parts for erratum 400) | the same value accepted, else #GP |
//! | 0xC001_0114 | VM_CR | both | AMD: SVMDIS and LOCK (SVM disabled, locked); Intel: #GP | #GP |
//! | 0xC001_0117 | VM_HSAVE_PA | both | #GP | #GP |
//! | 0xC001_0140, 0xC001_0141 | OSVW_ID_LENGTH, OSVW_STATUS | AMD | 0 (no errata to report) | the same value accepted, else #GP |
//! | 0xC001_1020 | LS_CFG | AMD | #GP | #GP |
//! | 0xC001_1029 | DE_CFG | AMD | LFENCE serializing (bit 1) | the same value accepted, else #GP |
//! | anything else | | | #GP | #GP |
//!
//! LS_CFG is refused rather than given a fixed value: Linux on families 15h–17h takes a
//! readable LS_CFG as its speculative-store-bypass control and would then believe writes
//! that could not reach the hardware. Refused, it reports the mitigation unavailable.

use alloc::vec::Vec;

use bulkhead_config::MsrRange;

use super::Vendor;

pub mod mtrr;

use mtrr::Mtrrs;

/// MSR numbers the file handles.
pub mod index {
    /// IA32_TSC.
    pub const TSC: u32 = 0x10;
    /// IA32_PLATFORM_ID.
    pub const PLATFORM_ID: u32 = 0x17;
    /// IA32_APIC_BASE.
    pub const APIC_BASE: u32 = 0x1B;
    /// IA32_FEATURE_CONTROL.
    pub const FEATURE_CONTROL: u32 = 0x3A;
    /// IA32_BIOS_SIGN_ID (Intel), PATCH_LEVEL (AMD).
    pub const BIOS_SIGN_ID: u32 = 0x8B;
    /// MSR_PLATFORM_INFO.
    pub const PLATFORM_INFO: u32 = 0xCE;
    /// IA32_SYSENTER_CS.
    pub const SYSENTER_CS: u32 = 0x174;
    /// IA32_SYSENTER_EIP.
    pub const SYSENTER_EIP: u32 = 0x176;
    /// IA32_MCG_CAP.
    pub const MCG_CAP: u32 = 0x179;
    /// IA32_MCG_STATUS.
    pub const MCG_STATUS: u32 = 0x17A;
    /// IA32_MISC_ENABLE.
    pub const MISC_ENABLE: u32 = 0x1A0;
    /// IA32_DEBUGCTL.
    pub const DEBUGCTL: u32 = 0x1D9;
    /// First of the MTRR/PAT block the hypervisor owns.
    pub const MTRR_BLOCK_FIRST: u32 = 0x200;
    /// Last of the MTRR/PAT block.
    pub const MTRR_BLOCK_LAST: u32 = 0x2FF;
    /// First VMX capability MSR.
    pub const VMX_FIRST: u32 = 0x480;
    /// Last VMX capability MSR.
    pub const VMX_LAST: u32 = 0x491;
    /// IA32_TSC_DEADLINE.
    pub const TSC_DEADLINE: u32 = 0x6E0;
    /// First x2APIC MSR.
    pub const X2APIC_FIRST: u32 = 0x800;
    /// Last x2APIC MSR.
    pub const X2APIC_LAST: u32 = 0x8FF;
    /// EFER.
    pub const EFER: u32 = 0xC000_0080;
    /// STAR.
    pub const STAR: u32 = 0xC000_0081;
    /// SFMASK.
    pub const SFMASK: u32 = 0xC000_0084;
    /// FS_BASE.
    pub const FS_BASE: u32 = 0xC000_0100;
    /// KERNEL_GS_BASE.
    pub const KERNEL_GS_BASE: u32 = 0xC000_0102;
    /// TSC_AUX.
    pub const TSC_AUX: u32 = 0xC000_0103;
    /// SYSCFG (AMD).
    pub const SYSCFG: u32 = 0xC001_0010;
    /// HWCR (AMD).
    pub const HWCR: u32 = 0xC001_0015;
    /// NB_CFG (AMD).
    pub const NB_CFG: u32 = 0xC001_001F;
    /// VM_CR (AMD).
    pub const VM_CR: u32 = 0xC001_0114;
    /// VM_HSAVE_PA (AMD).
    pub const VM_HSAVE_PA: u32 = 0xC001_0117;
    /// INT_PENDING_MSG (AMD K8/family 10h): C1E on CMP halt, interrupt pending message.
    pub const INT_PENDING_MSG: u32 = 0xC001_0055;
    /// OSVW_ID_LENGTH (AMD).
    pub const OSVW_ID_LENGTH: u32 = 0xC001_0140;
    /// OSVW_STATUS (AMD).
    pub const OSVW_STATUS: u32 = 0xC001_0141;
    /// LS_CFG (AMD).
    pub const LS_CFG: u32 = 0xC001_1020;
    /// DE_CFG (AMD).
    pub const DE_CFG: u32 = 0xC001_1029;
}

/// EFER bits (APM Vol. 2, 3.1.7; SDM Vol. 4, Table 2-2).
pub mod efer {
    /// System-call extensions.
    pub const SCE: u64 = 1 << 0;
    /// Long mode enable.
    pub const LME: u64 = 1 << 8;
    /// Long mode active (read only: the processor sets it).
    pub const LMA: u64 = 1 << 10;
    /// No-execute enable.
    pub const NXE: u64 = 1 << 11;
    /// SVM enable: hidden from the guest, forced on in the VMCB by the SVM backend.
    pub const SVME: u64 = 1 << 12;
    /// The bits a guest may hold: everything else (SVME, LMSLE, FFXSR, TCE, MCOMMIT,
    /// INTWB, UAIE, AIBRSE, whose CPUID bits are hidden) is reserved for it.
    pub const GUEST_BITS: u64 = SCE | LME | LMA | NXE;
}

/// IA32_APIC_BASE fields (SDM Vol. 3A, 11.4.4).
pub mod apic_base {
    /// This processor is the bootstrap processor.
    pub const BSP: u64 = 1 << 8;
    /// x2APIC mode.
    pub const EXTD: u64 = 1 << 10;
    /// The local APIC is enabled.
    pub const ENABLE: u64 = 1 << 11;
    /// The only base the virtual local APIC sits at.
    pub const DEFAULT_BASE: u64 = 0xFEE0_0000;
}

/// Fixed values of the informational MSRs.
mod fixed {
    /// IA32_FEATURE_CONTROL: lock (bit 0) set, VMX (bits 1, 2) off.
    pub const FEATURE_CONTROL: u64 = 1;
    /// IA32_MISC_ENABLE: fast strings (bit 0), BTS unavailable (bit 11), PEBS
    /// unavailable (bit 12).
    pub const MISC_ENABLE: u64 = 1 | 1 << 11 | 1 << 12;
    /// The IA32_MISC_ENABLE bits a guest may change: fast strings.
    pub const MISC_ENABLE_WRITABLE: u64 = 1;
    /// VM_CR: LOCK (bit 3) and SVMDIS (bit 4).
    pub const VM_CR: u64 = 1 << 3 | 1 << 4;
    /// SYSCFG: MtrrFixDramEn (bit 18), MtrrVarDramEn (bit 20); TOM2 and memory
    /// encryption off, so Linux reads neither TOP_MEM2 nor SME state.
    pub const SYSCFG: u64 = 1 << 18 | 1 << 20;
    /// HWCR: SmmLock (bit 0) as firmware leaves it, TscFreqSel (bit 24), which Linux
    /// checks on family 10h and later ("TSC doesn't count with P0 frequency").
    pub const HWCR: u64 = 1 | 1 << 24;
    /// DE_CFG: LFENCE is dispatch serializing (bit 1), so Linux need not set it.
    pub const DE_CFG: u64 = 1 << 1;
}

/// What an intercepted RDMSR or WRMSR does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MsrOutcome {
    /// RDMSR answered: EDX:EAX = the value.
    Value(u64),
    /// WRMSR accepted; nothing more to do.
    Done,
    /// On the allow list: the backend performs the real RDMSR/WRMSR.
    PassToHardware,
    /// Inject #GP(0); the instruction does not complete.
    GeneralProtection,
    /// RDMSR of IA32_TSC: answer the guest's TSC (host TSC plus the vCPU's offset).
    TscRead,
    /// WRMSR of IA32_TSC: set the vCPU's TSC offset so the guest's TSC reads the value
    /// from now on.
    TscWrite(u64),
    /// RDMSR of IA32_TSC_DEADLINE: answer the virtual local APIC's armed deadline.
    TscDeadlineRead,
    /// WRMSR of IA32_TSC_DEADLINE: arm (or, with 0, disarm) the virtual local APIC's
    /// deadline.
    TscDeadlineWrite(u64),
    /// RDMSR of EFER: answer [`efer_view`] of the guest's EFER in the save area.
    EferRead,
    /// WRMSR of EFER with a value that passed the static checks: the backend computes the
    /// new EFER with [`efer_update`] (#GP if it refuses) and stores it in the save area,
    /// with SVME forced on under SVM.
    EferWrite(u64),
    /// WRMSR of IA32_PAT accepted and stored: the backend loads it into the guest PAT
    /// the hardware uses under nested paging (VMCB G_PAT, VMCS guest IA32_PAT).
    PatWrite(u64),
    /// WRMSR of IA32_APIC_BASE changed the enable bit: tell the virtual local APIC it is
    /// now enabled (`true`) or disabled in hardware (`false`).
    ApicEnabled(bool),
    /// The MSR lives in the guest's save area (VMCB/VMCS guest state): the backend reads
    /// or writes it there (it normally does not intercept these at all).
    GuestState,
}

/// Who the vCPU is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VcpuIdentity {
    /// Index of the vCPU in its partition.
    pub index: u32,
    /// Its virtual local APIC's ID.
    pub apic_id: u8,
    /// Whether it is the partition's bootstrap processor (IA32_APIC_BASE.BSP).
    pub is_bsp: bool,
}

/// What the MSR file needs to know of the host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostFacts {
    /// The processor vendor: decides which informational MSRs exist.
    pub vendor: Vendor,
    /// MAXPHYADDR (CPUID 0x8000_0008 EAX\[7:0\]): bits at and above it are reserved in
    /// the MTRRs and IA32_APIC_BASE.
    pub phys_addr_bits: u8,
}

/// One vCPU's emulated MSRs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MsrFile {
    vcpu: VcpuIdentity,
    host: HostFacts,
    allow: Vec<MsrRange>,
    apic_enabled: bool,
    mtrrs: Mtrrs,
    pat: u64,
    misc_enable: u64,
}

/// Whether a guest-state MSR: the save area (VMCB/VMCS) holds the guest's copy.
fn is_save_area(msr: u32) -> bool {
    matches!(
        msr,
        index::SYSENTER_CS..=index::SYSENTER_EIP
            | index::STAR..=index::SFMASK
            | index::FS_BASE..=index::KERNEL_GS_BASE
    )
}

impl MsrFile {
    /// The MSRs of a vCPU after reset, as firmware leaves them. `allow` is the
    /// partition's `msr_allow`.
    pub fn new(vcpu: VcpuIdentity, allow: &[MsrRange], host: HostFacts) -> Self {
        Self {
            vcpu,
            host,
            allow: allow.to_vec(),
            apic_enabled: true,
            mtrrs: Mtrrs::firmware_defaults(),
            pat: mtrr::PAT_POWER_ON,
            misc_enable: fixed::MISC_ENABLE,
        }
    }

    /// The vCPU this file belongs to.
    pub fn vcpu(&self) -> VcpuIdentity {
        self.vcpu
    }

    /// The guest's IA32_PAT (what the backend loads at vCPU creation).
    pub fn pat(&self) -> u64 {
        self.pat
    }

    /// Whether the guest left IA32_APIC_BASE.EN set.
    pub fn apic_enabled(&self) -> bool {
        self.apic_enabled
    }

    /// The emulated MTRRs.
    pub fn mtrrs(&self) -> &Mtrrs {
        &self.mtrrs
    }

    /// RDMSR `msr`.
    pub fn read(&self, msr: u32) -> MsrOutcome {
        if let Some(outcome) = self.read_owned(msr) {
            return outcome;
        }
        if self.allowed(msr) {
            return MsrOutcome::PassToHardware;
        }
        self.read_info(msr)
            .map_or(MsrOutcome::GeneralProtection, MsrOutcome::Value)
    }

    /// WRMSR `msr` with `value` (EDX:EAX).
    pub fn write(&mut self, msr: u32, value: u64) -> MsrOutcome {
        if let Some(outcome) = self.write_owned(msr, value) {
            return outcome;
        }
        if self.allowed(msr) {
            return MsrOutcome::PassToHardware;
        }
        self.write_info(msr, value)
    }

    fn allowed(&self, msr: u32) -> bool {
        self.allow.iter().any(|r| (r.start..=r.end).contains(&msr))
    }

    fn is_amd(&self) -> bool {
        self.host.vendor == Vendor::Amd
    }

    /// Bits at and above MAXPHYADDR.
    fn above_phys(&self) -> u64 {
        u64::MAX
            .checked_shl(u32::from(self.host.phys_addr_bits))
            .unwrap_or(0)
    }

    fn apic_base(&self) -> u64 {
        let mut value = apic_base::DEFAULT_BASE;
        if self.vcpu.is_bsp {
            value |= apic_base::BSP;
        }
        if self.apic_enabled {
            value |= apic_base::ENABLE;
        }
        value
    }

    /// Tier 1 reads: `None` if the hypervisor does not own `msr`.
    fn read_owned(&self, msr: u32) -> Option<MsrOutcome> {
        use MsrOutcome::{GeneralProtection, Value};
        Some(match msr {
            index::TSC => MsrOutcome::TscRead,
            index::APIC_BASE => Value(self.apic_base()),
            index::FEATURE_CONTROL if self.is_amd() => GeneralProtection,
            index::FEATURE_CONTROL => Value(fixed::FEATURE_CONTROL),
            mtrr::MTRRCAP => Value(mtrr::MTRRCAP_VALUE),
            mtrr::PAT => Value(self.pat),
            index::MTRR_BLOCK_FIRST..=index::MTRR_BLOCK_LAST => {
                self.mtrrs.read(msr).map_or(GeneralProtection, Value)
            }
            index::VMX_FIRST..=index::VMX_LAST | index::X2APIC_FIRST..=index::X2APIC_LAST => {
                GeneralProtection
            }
            index::TSC_DEADLINE => MsrOutcome::TscDeadlineRead,
            index::EFER => MsrOutcome::EferRead,
            index::VM_CR if self.is_amd() => Value(fixed::VM_CR),
            index::VM_CR | index::VM_HSAVE_PA => GeneralProtection,
            _ if is_save_area(msr) => MsrOutcome::GuestState,
            _ => return None,
        })
    }

    /// Tier 1 writes: `None` if the hypervisor does not own `msr`.
    fn write_owned(&mut self, msr: u32, value: u64) -> Option<MsrOutcome> {
        use MsrOutcome::GeneralProtection;
        Some(match msr {
            index::TSC => MsrOutcome::TscWrite(value),
            index::APIC_BASE => self.write_apic_base(value),
            index::FEATURE_CONTROL | mtrr::MTRRCAP => GeneralProtection,
            mtrr::PAT => {
                if !mtrr::valid_pat(value) {
                    return Some(GeneralProtection);
                }
                self.pat = value;
                MsrOutcome::PatWrite(value)
            }
            index::MTRR_BLOCK_FIRST..=index::MTRR_BLOCK_LAST => {
                match self.mtrrs.write(msr, value, self.host.phys_addr_bits) {
                    Ok(true) => MsrOutcome::Done,
                    Ok(false) | Err(mtrr::Refused) => GeneralProtection,
                }
            }
            index::VMX_FIRST..=index::VMX_LAST | index::X2APIC_FIRST..=index::X2APIC_LAST => {
                GeneralProtection
            }
            index::TSC_DEADLINE => MsrOutcome::TscDeadlineWrite(value),
            index::EFER => {
                if value & !efer::GUEST_BITS != 0 {
                    GeneralProtection
                } else {
                    MsrOutcome::EferWrite(value)
                }
            }
            index::VM_CR | index::VM_HSAVE_PA => GeneralProtection,
            _ if is_save_area(msr) => MsrOutcome::GuestState,
            _ => return None,
        })
    }

    /// IA32_APIC_BASE: the base is fixed (relocation is refused: no guest Bulkhead runs
    /// moves it, and the MMIO map is built once), x2APIC mode is refused as on a
    /// processor without x2APIC, the BSP bit is the hypervisor's to say and a written
    /// value is ignored, and the enable bit is recorded for the virtual local APIC.
    fn write_apic_base(&mut self, value: u64) -> MsrOutcome {
        let reserved = 0xFF | 1 << 9 | self.above_phys();
        let base = value & !0xFFF & !self.above_phys();
        if value & reserved != 0 || value & apic_base::EXTD != 0 || base != apic_base::DEFAULT_BASE
        {
            return MsrOutcome::GeneralProtection;
        }
        let enable = value & apic_base::ENABLE != 0;
        if enable == self.apic_enabled {
            return MsrOutcome::Done;
        }
        self.apic_enabled = enable;
        MsrOutcome::ApicEnabled(enable)
    }

    /// Tier 3 reads: the informational MSRs of the vendor, or `None` (#GP).
    fn read_info(&self, msr: u32) -> Option<u64> {
        let amd = self.is_amd();
        match msr {
            index::BIOS_SIGN_ID | index::MCG_CAP | index::MCG_STATUS | index::DEBUGCTL => Some(0),
            index::PLATFORM_ID | index::PLATFORM_INFO if !amd => Some(0),
            index::MISC_ENABLE if !amd => Some(self.misc_enable),
            index::SYSCFG if amd => Some(fixed::SYSCFG),
            index::HWCR if amd => Some(fixed::HWCR),
            index::NB_CFG | index::INT_PENDING_MSG | index::OSVW_ID_LENGTH | index::OSVW_STATUS
                if amd =>
            {
                Some(0)
            }
            index::DE_CFG if amd => Some(fixed::DE_CFG),
            _ => None,
        }
    }

    /// Tier 3 writes.
    fn write_info(&mut self, msr: u32, value: u64) -> MsrOutcome {
        use MsrOutcome::{Done, GeneralProtection};
        let amd = self.is_amd();
        match msr {
            // Intel's microcode protocol writes 0 before CPUID(1) and reads the revision
            // back; nothing is loaded, so nothing changes.
            index::BIOS_SIGN_ID if !amd => Done,
            index::MCG_STATUS | index::DEBUGCTL if value == 0 => Done,
            index::MISC_ENABLE if !amd => {
                if (value ^ self.misc_enable) & !fixed::MISC_ENABLE_WRITABLE != 0 {
                    GeneralProtection
                } else {
                    self.misc_enable = value;
                    Done
                }
            }
            // Fixed AMD configuration: writing back what was read is harmless (Linux's
            // msr_set_bit does so only when a bit is missing), changing it is refused.
            index::HWCR
            | index::NB_CFG
            | index::INT_PENDING_MSG
            | index::OSVW_ID_LENGTH
            | index::OSVW_STATUS
            | index::DE_CFG
                if amd =>
            {
                if self.read_info(msr) == Some(value) {
                    Done
                } else {
                    GeneralProtection
                }
            }
            _ => GeneralProtection,
        }
    }
}

/// The EFER a guest reads: the save area's with SVME cleared (the SVM backend runs every
/// guest with SVME set, as VMRUN requires).
pub const fn efer_view(save_area_efer: u64) -> u64 {
    save_area_efer & !efer::SVME
}

/// The guest EFER after a WRMSR of `requested` (already past [`MsrFile::write`]'s
/// checks) when the guest's EFER is `current` and CR0.PG is `paging`; `None` means #GP.
/// LMA is read only and keeps its current value; changing LME while paging is on is
/// refused (SDM Vol. 3A, 10.8.5; APM Vol. 2, 14.6). The SVM backend ORs in
/// [`efer::SVME`] before it stores the result in the VMCB.
pub const fn efer_update(current: u64, requested: u64, paging: bool) -> Option<u64> {
    if requested & !efer::GUEST_BITS != 0 {
        return None;
    }
    if paging && (current ^ requested) & efer::LME != 0 {
        return None;
    }
    Some((requested & !efer::LMA) | (current & efer::LMA))
}

#[cfg(test)]
mod tests;
