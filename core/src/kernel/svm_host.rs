//! Turning SVM on for a core (AMD64 APM Vol. 2, 15.4 "Enabling SVM").
//!
//! Every core that will run a partition checks the CPU offers SVM with nested
//! paging, that firmware has not locked it off (VM_CR.SVMDIS), sets EFER.SVME
//! and gives the CPU a host save area for VMRUN.

use core::fmt;

use x86_64::registers::model_specific::{Efer, EferFlags, Msr};

use super::frames;

const VM_CR: u32 = 0xC001_0114;
const VM_CR_SVMDIS: u64 = 1 << 4;
const VM_HSAVE_PA: u32 = 0xC001_0117;

/// What the CPU's SVM offers, from CPUID 0x8000_000A (APM Vol. 3, E.4.10).
#[derive(Clone, Copy, Debug)]
pub struct SvmFeatures {
    /// Nested paging.
    pub nested_paging: bool,
    /// The CPU saves the next RIP on exits (nRIP save); without it, the
    /// instruction length comes from a decoder.
    pub next_rip: bool,
    /// 1 GiB pages, usable in nested page tables.
    pub gib_pages: bool,
}

/// Why a core cannot run guests under SVM.
#[derive(Clone, Copy, Debug)]
pub enum SvmUnavailable {
    /// CPUID says no SVM (or the CPU is not AMD-compatible).
    NoSvm,
    /// Firmware disabled SVM and locked the setting.
    DisabledByFirmware,
    /// SVM without nested paging: partitions need it for isolation.
    NoNestedPaging,
    /// No memory for the host save area.
    NoMemory,
}

impl fmt::Display for SvmUnavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoSvm => "the CPU does not offer AMD SVM (CPUID 8000_0001h ECX bit 2)",
            Self::DisabledByFirmware => "SVM is disabled by firmware (VM_CR.SVMDIS)",
            Self::NoNestedPaging => "SVM without nested paging (CPUID 8000_000Ah EDX bit 0)",
            Self::NoMemory => "no memory for the SVM host save area",
        })
    }
}

/// What CPUID says about SVM on this core, without changing anything.
pub fn features() -> Result<SvmFeatures, SvmUnavailable> {
    let max_extended = core::arch::x86_64::__cpuid(0x8000_0000).eax;
    if max_extended < 0x8000_000A || core::arch::x86_64::__cpuid(0x8000_0001).ecx & (1 << 2) == 0 {
        return Err(SvmUnavailable::NoSvm);
    }
    let svm = core::arch::x86_64::__cpuid(0x8000_000A);
    let features = SvmFeatures {
        nested_paging: svm.edx & (1 << 0) != 0,
        next_rip: svm.edx & (1 << 3) != 0,
        gib_pages: core::arch::x86_64::__cpuid(0x8000_0001).edx & (1 << 26) != 0,
    };
    if !features.nested_paging {
        return Err(SvmUnavailable::NoNestedPaging);
    }
    Ok(features)
}

/// Puts XCR0 back to its reset value (x87 only) before a guest boots.
///
/// VMRUN does not switch XCR0 and the guest's XSETBV is not intercepted, so
/// XCR0 is the partition's own live state on its core; a fresh boot must not
/// inherit what the last run left. The host needs CR4.OSXSAVE for XSETBV,
/// which changes nothing else for it (the hypervisor uses no FPU state).
pub fn reset_xcr0() {
    const XSAVE: u32 = 1 << 26;
    if core::arch::x86_64::__cpuid(1).ecx & XSAVE == 0 {
        return;
    }
    // SAFETY: the CPU has XSAVE, so CR4.OSXSAVE may be set; XCR0 = 1 (x87
    // only) is always valid.
    unsafe {
        x86_64::registers::control::Cr4::update(|cr4| {
            cr4.insert(x86_64::registers::control::Cr4Flags::OSXSAVE)
        });
        core::arch::asm!("xsetbv", in("ecx") 0, in("eax") 1, in("edx") 0, options(nomem, nostack));
    }
}

/// Enables SVM on the running core and installs its host save area.
pub fn enable() -> Result<SvmFeatures, SvmUnavailable> {
    let features = features()?;
    // SAFETY: VM_CR exists on every CPU that reports SVM.
    if unsafe { Msr::new(VM_CR).read() } & VM_CR_SVMDIS != 0 {
        return Err(SvmUnavailable::DisabledByFirmware);
    }
    let save_area = frames::allocate_zeroed_page().ok_or(SvmUnavailable::NoMemory)?;
    // SAFETY: SVM is present and not disabled, so EFER.SVME may be set; the
    // host save area is a zeroed page that belongs to this core from now on.
    unsafe {
        Efer::update(|flags| flags.insert(EferFlags::SECURE_VIRTUAL_MACHINE_ENABLE));
        Msr::new(VM_HSAVE_PA).write(save_area);
    }
    Ok(features)
}
