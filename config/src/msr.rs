//! The MSR allow list.

use core::fmt;

use serde::{Deserialize, Serialize};

/// An inclusive range of MSR indexes the guest may access directly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct MsrRange {
    /// First MSR.
    pub start: u32,
    /// Last MSR, included.
    pub end: u32,
}

impl MsrRange {
    /// The range `start..=end`.
    pub const fn new(start: u32, end: u32) -> Self {
        Self { start, end }
    }

    /// Whether the two ranges share an MSR.
    pub const fn overlaps(&self, other: &MsrRange) -> bool {
        self.start <= other.end && other.start <= self.end
    }
}

impl fmt::Display for MsrRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.start == self.end {
            write!(f, "{:#x}", self.start)
        } else {
            write!(f, "{:#x}-{:#x}", self.start, self.end)
        }
    }
}

/// MSRs the hypervisor keeps for itself or emulates: passing them through would let a guest
/// reach state that is not its own. Each entry names the range and why.
pub(crate) const RESERVED_MSRS: &[(MsrRange, &str)] = &[
    (
        MsrRange::new(0x1B, 0x1B),
        "IA32_APIC_BASE belongs to the hypervisor (the guest gets a virtual local APIC)",
    ),
    (
        MsrRange::new(0x3A, 0x3A),
        "IA32_FEATURE_CONTROL governs VMX for the whole core",
    ),
    (
        MsrRange::new(0xFE, 0xFE),
        "the MTRRs are emulated per partition",
    ),
    (
        MsrRange::new(0x200, 0x2FF),
        "the MTRRs and PAT are emulated per partition",
    ),
    (
        MsrRange::new(0x480, 0x491),
        "the VMX capability MSRs describe the host, and nested VMX is not offered",
    ),
    (
        MsrRange::new(0x800, 0x8FF),
        "the x2APIC registers are the physical local APIC",
    ),
    (
        MsrRange::new(0xC000_0080, 0xC000_0080),
        "EFER is switched by the hypervisor on every entry and exit",
    ),
    (
        MsrRange::new(0xC001_0114, 0xC001_0114),
        "VM_CR governs SVM for the whole core",
    ),
    (
        MsrRange::new(0xC001_0117, 0xC001_0117),
        "VM_HSAVE_PA holds the hypervisor's host save area",
    ),
];
