//! CPUID overrides: feature bits to hide or force, and whole registers of a leaf.

use alloc::vec::Vec;
use core::fmt;

use serde::{Deserialize, Serialize};

/// A CPUID output register.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Register {
    /// EAX.
    Eax,
    /// EBX.
    Ebx,
    /// ECX.
    Ecx,
    /// EDX.
    Edx,
}

impl Register {
    /// Lower-case name, as written in the TOML file.
    pub const fn as_str(self) -> &'static str {
        match self {
            Register::Eax => "eax",
            Register::Ebx => "ebx",
            Register::Ecx => "ecx",
            Register::Edx => "edx",
        }
    }

    /// Parses `eax`, `ebx`, `ecx` or `edx`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "eax" => Some(Register::Eax),
            "ebx" => Some(Register::Ebx),
            "ecx" => Some(Register::Ecx),
            "edx" => Some(Register::Edx),
            _ => None,
        }
    }
}

/// One CPUID feature bit: where it lives in the CPUID output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FeatureBit {
    /// Leaf (EAX input).
    pub leaf: u32,
    /// Subleaf (ECX input); 0 for leaves that have none.
    pub subleaf: u32,
    /// Output register.
    pub register: Register,
    /// Bit number, 0 to 31.
    pub bit: u8,
}

impl FeatureBit {
    const fn new(leaf: u32, subleaf: u32, register: Register, bit: u8) -> Self {
        Self {
            leaf,
            subleaf,
            register,
            bit,
        }
    }

    /// The bit for a feature name from [`FEATURES`].
    pub fn from_name(name: &str) -> Option<Self> {
        FEATURES.iter().find(|(n, _)| *n == name).map(|(_, b)| *b)
    }

    /// The feature's name, if [`FEATURES`] has one for this bit.
    pub fn name(&self) -> Option<&'static str> {
        FEATURES.iter().find(|(_, b)| b == self).map(|(n, _)| *n)
    }

    /// Parses the raw spelling `LEAF:SUBLEAF:REGISTER:BIT`, e.g. `0x7:0:ebx:5`.
    pub fn from_raw(text: &str) -> Option<Self> {
        let mut parts = text.split(':');
        let leaf = crate::units::parse_integer(parts.next()?.trim())?;
        let subleaf = crate::units::parse_integer(parts.next()?.trim())?;
        let register = Register::from_name(parts.next()?.trim())?;
        let bit = crate::units::parse_integer(parts.next()?.trim())?;
        if parts.next().is_some() {
            return None;
        }
        Some(Self {
            leaf: u32::try_from(leaf).ok()?,
            subleaf: u32::try_from(subleaf).ok()?,
            register,
            bit: u8::try_from(bit).ok().filter(|b| *b < 32)?,
        })
    }
}

impl fmt::Display for FeatureBit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(
                f,
                "{:#x}:{}:{}:{}",
                self.leaf,
                self.subleaf,
                self.register.as_str(),
                self.bit
            ),
        }
    }
}

use Register::{Eax, Ebx, Ecx, Edx};

/// Feature names accepted in `cpuid.hide` and `cpuid.force`, with their bits. The names
/// follow Linux's `/proc/cpuinfo` where it has one (SDM vol. 2A, CPUID; APM vol. 3, E.4).
pub const FEATURES: &[(&str, FeatureBit)] = &[
    // Leaf 1, EDX.
    ("fpu", FeatureBit::new(1, 0, Edx, 0)),
    ("vme", FeatureBit::new(1, 0, Edx, 1)),
    ("de", FeatureBit::new(1, 0, Edx, 2)),
    ("pse", FeatureBit::new(1, 0, Edx, 3)),
    ("tsc", FeatureBit::new(1, 0, Edx, 4)),
    ("msr", FeatureBit::new(1, 0, Edx, 5)),
    ("pae", FeatureBit::new(1, 0, Edx, 6)),
    ("mce", FeatureBit::new(1, 0, Edx, 7)),
    ("cx8", FeatureBit::new(1, 0, Edx, 8)),
    ("apic", FeatureBit::new(1, 0, Edx, 9)),
    ("sep", FeatureBit::new(1, 0, Edx, 11)),
    ("mtrr", FeatureBit::new(1, 0, Edx, 12)),
    ("pge", FeatureBit::new(1, 0, Edx, 13)),
    ("mca", FeatureBit::new(1, 0, Edx, 14)),
    ("cmov", FeatureBit::new(1, 0, Edx, 15)),
    ("pat", FeatureBit::new(1, 0, Edx, 16)),
    ("pse36", FeatureBit::new(1, 0, Edx, 17)),
    ("clflush", FeatureBit::new(1, 0, Edx, 19)),
    ("mmx", FeatureBit::new(1, 0, Edx, 23)),
    ("fxsr", FeatureBit::new(1, 0, Edx, 24)),
    ("sse", FeatureBit::new(1, 0, Edx, 25)),
    ("sse2", FeatureBit::new(1, 0, Edx, 26)),
    ("ss", FeatureBit::new(1, 0, Edx, 27)),
    ("ht", FeatureBit::new(1, 0, Edx, 28)),
    // Leaf 1, ECX.
    ("sse3", FeatureBit::new(1, 0, Ecx, 0)),
    ("pclmulqdq", FeatureBit::new(1, 0, Ecx, 1)),
    ("monitor", FeatureBit::new(1, 0, Ecx, 3)),
    ("vmx", FeatureBit::new(1, 0, Ecx, 5)),
    ("ssse3", FeatureBit::new(1, 0, Ecx, 9)),
    ("fma", FeatureBit::new(1, 0, Ecx, 12)),
    ("cx16", FeatureBit::new(1, 0, Ecx, 13)),
    ("pdcm", FeatureBit::new(1, 0, Ecx, 15)),
    ("pcid", FeatureBit::new(1, 0, Ecx, 17)),
    ("sse4_1", FeatureBit::new(1, 0, Ecx, 19)),
    ("sse4_2", FeatureBit::new(1, 0, Ecx, 20)),
    ("x2apic", FeatureBit::new(1, 0, Ecx, 21)),
    ("movbe", FeatureBit::new(1, 0, Ecx, 22)),
    ("popcnt", FeatureBit::new(1, 0, Ecx, 23)),
    ("tsc_deadline_timer", FeatureBit::new(1, 0, Ecx, 24)),
    ("aes", FeatureBit::new(1, 0, Ecx, 25)),
    ("xsave", FeatureBit::new(1, 0, Ecx, 26)),
    ("avx", FeatureBit::new(1, 0, Ecx, 28)),
    ("f16c", FeatureBit::new(1, 0, Ecx, 29)),
    ("rdrand", FeatureBit::new(1, 0, Ecx, 30)),
    ("hypervisor", FeatureBit::new(1, 0, Ecx, 31)),
    // Leaf 7 subleaf 0, EBX.
    ("fsgsbase", FeatureBit::new(7, 0, Ebx, 0)),
    ("tsc_adjust", FeatureBit::new(7, 0, Ebx, 1)),
    ("bmi1", FeatureBit::new(7, 0, Ebx, 3)),
    ("hle", FeatureBit::new(7, 0, Ebx, 4)),
    ("avx2", FeatureBit::new(7, 0, Ebx, 5)),
    ("smep", FeatureBit::new(7, 0, Ebx, 7)),
    ("bmi2", FeatureBit::new(7, 0, Ebx, 8)),
    ("erms", FeatureBit::new(7, 0, Ebx, 9)),
    ("invpcid", FeatureBit::new(7, 0, Ebx, 10)),
    ("rtm", FeatureBit::new(7, 0, Ebx, 11)),
    ("avx512f", FeatureBit::new(7, 0, Ebx, 16)),
    ("avx512dq", FeatureBit::new(7, 0, Ebx, 17)),
    ("rdseed", FeatureBit::new(7, 0, Ebx, 18)),
    ("adx", FeatureBit::new(7, 0, Ebx, 19)),
    ("smap", FeatureBit::new(7, 0, Ebx, 20)),
    ("clflushopt", FeatureBit::new(7, 0, Ebx, 23)),
    ("clwb", FeatureBit::new(7, 0, Ebx, 24)),
    ("avx512cd", FeatureBit::new(7, 0, Ebx, 28)),
    ("sha_ni", FeatureBit::new(7, 0, Ebx, 29)),
    ("avx512bw", FeatureBit::new(7, 0, Ebx, 30)),
    ("avx512vl", FeatureBit::new(7, 0, Ebx, 31)),
    // Leaf 7 subleaf 0, ECX.
    ("umip", FeatureBit::new(7, 0, Ecx, 2)),
    ("pku", FeatureBit::new(7, 0, Ecx, 3)),
    ("waitpkg", FeatureBit::new(7, 0, Ecx, 5)),
    ("gfni", FeatureBit::new(7, 0, Ecx, 8)),
    ("vaes", FeatureBit::new(7, 0, Ecx, 9)),
    ("vpclmulqdq", FeatureBit::new(7, 0, Ecx, 10)),
    ("la57", FeatureBit::new(7, 0, Ecx, 16)),
    ("rdpid", FeatureBit::new(7, 0, Ecx, 22)),
    // Leaf 7 subleaf 0, EDX.
    ("md_clear", FeatureBit::new(7, 0, Edx, 10)),
    ("spec_ctrl", FeatureBit::new(7, 0, Edx, 26)),
    ("stibp", FeatureBit::new(7, 0, Edx, 27)),
    ("flush_l1d", FeatureBit::new(7, 0, Edx, 28)),
    ("arch_capabilities", FeatureBit::new(7, 0, Edx, 29)),
    ("ssbd", FeatureBit::new(7, 0, Edx, 31)),
    // Leaf 0xD subleaf 1, EAX.
    ("xsaveopt", FeatureBit::new(0xD, 1, Eax, 0)),
    ("xsavec", FeatureBit::new(0xD, 1, Eax, 1)),
    ("xgetbv1", FeatureBit::new(0xD, 1, Eax, 2)),
    ("xsaves", FeatureBit::new(0xD, 1, Eax, 3)),
    // Leaf 0x8000_0001, ECX.
    ("lahf_lm", FeatureBit::new(0x8000_0001, 0, Ecx, 0)),
    ("svm", FeatureBit::new(0x8000_0001, 0, Ecx, 2)),
    ("abm", FeatureBit::new(0x8000_0001, 0, Ecx, 5)),
    ("sse4a", FeatureBit::new(0x8000_0001, 0, Ecx, 6)),
    ("3dnowprefetch", FeatureBit::new(0x8000_0001, 0, Ecx, 8)),
    ("xop", FeatureBit::new(0x8000_0001, 0, Ecx, 11)),
    ("topoext", FeatureBit::new(0x8000_0001, 0, Ecx, 22)),
    // Leaf 0x8000_0001, EDX.
    ("syscall", FeatureBit::new(0x8000_0001, 0, Edx, 11)),
    ("nx", FeatureBit::new(0x8000_0001, 0, Edx, 20)),
    ("pdpe1gb", FeatureBit::new(0x8000_0001, 0, Edx, 26)),
    ("rdtscp", FeatureBit::new(0x8000_0001, 0, Edx, 27)),
    ("lm", FeatureBit::new(0x8000_0001, 0, Edx, 29)),
    // Leaf 0x8000_0007, EDX.
    ("invtsc", FeatureBit::new(0x8000_0007, 0, Edx, 8)),
];

/// One leaf override (`[[partition.cpuid.leaf]]`): the given registers replace what the
/// hypervisor's policy would answer; registers left out keep the policy's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuidLeaf {
    /// Leaf (EAX input).
    pub leaf: u32,
    /// Subleaf (ECX input); `None` matches every subleaf.
    pub subleaf: Option<u32>,
    /// Replacement EAX.
    pub eax: Option<u32>,
    /// Replacement EBX.
    pub ebx: Option<u32>,
    /// Replacement ECX.
    pub ecx: Option<u32>,
    /// Replacement EDX.
    pub edx: Option<u32>,
}

/// A partition's CPUID changes (`[partition.cpuid]`), applied in this order on top of the
/// hypervisor's policy: leaf overrides, then forced bits, then hidden bits.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuidPolicy {
    /// Feature bits cleared (`hide`).
    pub hide: Vec<FeatureBit>,
    /// Feature bits set (`force`).
    pub force: Vec<FeatureBit>,
    /// Whole-register overrides (`leaf`).
    pub leaves: Vec<CpuidLeaf>,
}
