//! What a partition's guest sees of the processor, and the emulation its exits need.
//!
//! Everything here is pure: tables built once from the partition table and the host's
//! answers, and functions of guest state. The exit dispatcher asks these modules and
//! applies their answers; no module touches hardware.
//!
//! - [`cpuid`]: the per-partition CPUID table, built at partition creation and answered
//!   from on every CPUID exit.
//! - [`msr`]: the per-vCPU MSR file: what every intercepted RDMSR and WRMSR does.
//! - [`walk`]: the guest page-table walker (guest-linear to guest-physical) and segment
//!   arithmetic, for fetching the exiting instruction and for string-I/O operands.
//! - [`mmio`]: emulation of the instruction behind an MMIO exit (a nested page fault on
//!   a guest-physical address that is no RAM).
//! - [`io_string`]: `ins`/`outs` (with and without `rep`) as a bounded batch of
//!   guest-linear element addresses and register updates.
//!
//! Every value here can come from a guest, so the code answers with an architectural
//! result or an error and never panics (STYLE rule 7): the lints below keep indexing,
//! unchecked arithmetic and unwrapping out of the non-test code.

#![deny(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::unreachable
)]

pub mod cpuid;
pub mod io_string;
pub mod mmio;
pub mod msr;
pub mod walk;

/// The processor vendor, which decides the answers where AMD and Intel differ (which MSRs
/// exist, which CPUID leaves carry topology).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Vendor {
    /// AMD (and Hygon, which follows AMD's definitions): "AuthenticAMD", "HygonGenuine".
    Amd,
    /// Intel: "GenuineIntel".
    Intel,
}

impl Vendor {
    /// The vendor named by CPUID leaf 0's EBX, EDX, ECX (in that order the 12-byte
    /// string reads), or `None` for a vendor Bulkhead does not know.
    pub fn from_signature(ebx: u32, ecx: u32, edx: u32) -> Option<Vendor> {
        let mut text = [0u8; 12];
        for (chunk, word) in text.chunks_exact_mut(4).zip([ebx, edx, ecx]) {
            chunk.copy_from_slice(&word.to_le_bytes());
        }
        match &text {
            b"AuthenticAMD" | b"HygonGenuine" => Some(Vendor::Amd),
            b"GenuineIntel" => Some(Vendor::Intel),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Vendor;

    /// The vendor strings of leaf 0 are read EBX, EDX, ECX (SDM Vol. 2A, CPUID leaf 0).
    #[test]
    fn vendor_from_leaf0_registers() {
        assert_eq!(
            Vendor::from_signature(0x6874_7541, 0x444D_4163, 0x6974_6E65),
            Some(Vendor::Amd)
        );
        assert_eq!(
            Vendor::from_signature(0x756E_6547, 0x6C65_746E, 0x4965_6E69),
            Some(Vendor::Intel)
        );
        assert_eq!(Vendor::from_signature(0, 0, 0), None);
    }
}
