//! The per-leaf policy: which host leaves are copied, filtered, synthesized or left out
//! (left out reads as zeros). The decisions are tabled in the parent module's docs.

use alloc::vec::Vec;

use super::bits::{
    cache_eax, ext1_ecx, ext1_edx, ext7_edx, ext8_ebx, ext8_ecx, ext21_eax, leaf, leaf1_ebx,
    leaf1_ecx, leaf1_edx, leaf6_eax, leaf7_1, leaf7_ebx, leaf7_ecx, leaf7_edx, topology,
    xsave1_eax,
};
use super::{
    BASIC_LEAF_CAP, Clocks, CpuidResult, EXTENDED_LEAF_CAP, Entry, Fill, HYPERVISOR_LEAF_MAX,
    SIGNATURE, Subleaf, Topology,
};
use crate::policy::Vendor;

/// Most subleaves copied from a leaf whose list the host ends itself (a bound against a
/// host that never ends it).
const MAX_SUBLEAVES: u32 = 64;
/// Most AMX palettes copied from leaf 0x1D.
const MAX_TILE_PALETTES: u32 = 8;

/// Leaf 1 ECX bits the guest never sees from the host (OSXSAVE is filled per lookup).
const LEAF1_ECX_HIDDEN: u32 = leaf1_ecx::DTES64
    | leaf1_ecx::MONITOR
    | leaf1_ecx::DS_CPL
    | leaf1_ecx::VMX
    | leaf1_ecx::SMX
    | leaf1_ecx::EST
    | leaf1_ecx::TM2
    | leaf1_ecx::SDBG
    | leaf1_ecx::XTPR
    | leaf1_ecx::PDCM
    | leaf1_ecx::DCA
    | leaf1_ecx::X2APIC
    | leaf1_ecx::OSXSAVE;
/// Leaf 1 EDX bits hidden (HTT is recomputed from the topology).
const LEAF1_EDX_HIDDEN: u32 = leaf1_edx::PSN
    | leaf1_edx::DS
    | leaf1_edx::ACPI
    | leaf1_edx::TM
    | leaf1_edx::PBE
    | leaf1_edx::HTT;
/// Leaf 7.0 EBX bits hidden.
const LEAF7_EBX_HIDDEN: u32 = leaf7_ebx::TSC_ADJUST
    | leaf7_ebx::SGX
    | leaf7_ebx::PQM
    | leaf7_ebx::MPX
    | leaf7_ebx::PQE
    | leaf7_ebx::PT;
/// Leaf 7.0 ECX bits hidden (OSPKE is filled per lookup).
const LEAF7_ECX_HIDDEN: u32 = leaf7_ecx::OSPKE
    | leaf7_ecx::WAITPKG
    | leaf7_ecx::CET_SS
    | leaf7_ecx::TME
    | leaf7_ecx::LA57
    | leaf7_ecx::RDPID
    | leaf7_ecx::KEY_LOCKER
    | leaf7_ecx::BUS_LOCK_DETECT
    | leaf7_ecx::ENQCMD
    | leaf7_ecx::SGX_LC;
/// Leaf 7.0 EDX bits hidden.
const LEAF7_EDX_HIDDEN: u32 = leaf7_edx::SRBDS_CTRL
    | leaf7_edx::TSX_FORCE_ABORT
    | leaf7_edx::HYBRID
    | leaf7_edx::PCONFIG
    | leaf7_edx::ARCH_LBR
    | leaf7_edx::CET_IBT
    | leaf7_edx::SPEC_CTRL
    | leaf7_edx::STIBP
    | leaf7_edx::L1D_FLUSH
    | leaf7_edx::ARCH_CAPABILITIES
    | leaf7_edx::CORE_CAPABILITIES
    | leaf7_edx::SSBD;
/// Leaf 7.1 EAX bits hidden.
const LEAF7_1_EAX_HIDDEN: u32 = leaf7_1::EAX_ARCH_PERFMON_EXT
    | leaf7_1::EAX_FRED
    | leaf7_1::EAX_HRESET
    | leaf7_1::EAX_LAM
    | leaf7_1::EAX_MSRLIST;
/// Leaf 7.1 EDX bits hidden.
const LEAF7_1_EDX_HIDDEN: u32 = leaf7_1::EDX_CET_SSS | leaf7_1::EDX_AVX10;
/// Leaf 0x8000_0001 ECX bits hidden (CmpLegacy is recomputed from the topology).
const EXT1_ECX_HIDDEN: u32 = ext1_ecx::CMP_LEGACY
    | ext1_ecx::SVM
    | ext1_ecx::EXT_APIC_SPACE
    | ext1_ecx::IBS
    | ext1_ecx::SKINIT
    | ext1_ecx::WDT
    | ext1_ecx::LWP
    | ext1_ecx::TCE
    | ext1_ecx::PERFCTR_CORE
    | ext1_ecx::PERFCTR_NB
    | ext1_ecx::DATA_BP_EXT
    | ext1_ecx::PERF_TSC
    | ext1_ecx::PERFCTR_LLC
    | ext1_ecx::MONITORX
    | ext1_ecx::ADDR_MASK_EXT;
/// Leaf 0x8000_0001 EDX bits hidden.
const EXT1_EDX_HIDDEN: u32 = ext1_edx::FFXSR | ext1_edx::RDTSCP;
/// Leaf 0x8000_0008 EBX bits hidden.
const EXT8_EBX_HIDDEN: u32 = ext8_ebx::INST_RET_CNT_MSR
    | ext8_ebx::INVLPGB
    | ext8_ebx::RDPRU
    | ext8_ebx::BE
    | ext8_ebx::MCOMMIT
    | ext8_ebx::IBPB
    | ext8_ebx::IBRS
    | ext8_ebx::STIBP
    | ext8_ebx::IBRS_ALWAYS_ON
    | ext8_ebx::STIBP_ALWAYS_ON
    | ext8_ebx::IBRS_PREFERRED
    | ext8_ebx::IBRS_SAME_MODE
    | ext8_ebx::PPIN
    | ext8_ebx::SSBD
    | ext8_ebx::VIRT_SSBD
    | ext8_ebx::CPPC
    | ext8_ebx::PSFD
    | ext8_ebx::IBPB_RET
    | ext8_ebx::BRANCH_SAMPLE;
/// Leaf 0x8000_0021 EAX bits hidden.
const EXT21_EAX_HIDDEN: u32 = ext21_eax::UAI
    | ext21_eax::AUTO_IBRS
    | ext21_eax::PREFETCH_CTL
    | ext21_eax::CPUID_USER_DIS
    | ext21_eax::SBPB;

/// What the policy works from.
struct Ctx<'a> {
    host: &'a dyn Fn(u32, u32) -> CpuidResult,
    vendor: Option<Vendor>,
    topology: &'a Topology,
    clocks: Clocks,
    ext_max: u32,
}

/// Every entry of the table before the partition's overrides.
pub(super) fn policy_entries(
    host: &dyn Fn(u32, u32) -> CpuidResult,
    topology: &Topology,
    clocks: Clocks,
) -> Vec<Entry> {
    let leaf0 = host(leaf::VENDOR, 0);
    let vendor = Vendor::from_signature(leaf0.ebx, leaf0.ecx, leaf0.edx);
    let basic_max = leaf0.eax.min(BASIC_LEAF_CAP);
    let ext0 = host(leaf::EXT_MAX, 0);
    // A host without extended leaves (none that runs x86_64) reports something below
    // 0x8000_0000 here; the guest then gets leaf 0x8000_0000 alone.
    let ext_max = if ext0.eax >= leaf::EXT_MAX && ext0.eax <= leaf::EXT_MAX | 0xFFFF {
        ext0.eax.min(EXTENDED_LEAF_CAP)
    } else {
        leaf::EXT_MAX
    };
    let ctx = Ctx {
        host,
        vendor,
        topology,
        clocks,
        ext_max,
    };
    let mut out = Vec::new();
    for number in 0..=basic_max {
        ctx.basic(number, basic_max, &mut out);
    }
    for number in leaf::EXT_MAX..=ext_max {
        ctx.extended(number, &mut out);
    }
    ctx.hypervisor(&mut out);
    out
}

impl Ctx<'_> {
    fn host(&self, leaf: u32, subleaf: u32) -> CpuidResult {
        (self.host)(leaf, subleaf)
    }

    fn multi_vcpu(&self) -> bool {
        self.topology.vcpu_count() > 1
    }

    /// "Addressable IDs minus one" for a cache or core count field.
    fn span_minus_one(&self) -> u32 {
        self.topology.id_span().saturating_sub(1)
    }

    fn basic(&self, number: u32, basic_max: u32, out: &mut Vec<Entry>) {
        let any = |value| Entry::new(number, Subleaf::Any, value);
        match number {
            leaf::VENDOR => {
                let mut v = self.host(number, 0);
                v.eax = basic_max;
                out.push(any(v));
            }
            leaf::FEATURES => out.push(self.leaf1()),
            leaf::CACHE_DESCRIPTORS => out.push(any(self.host(number, 0))),
            leaf::CACHE_PARAMS => self.cache_params(number, out),
            leaf::THERMAL_POWER => out.push(any(CpuidResult::new(leaf6_eax::ARAT, 0, 0, 0))),
            leaf::EXTENDED_FEATURES => self.leaf7(out),
            leaf::TOPOLOGY | leaf::TOPOLOGY_V2 => self.topology_leaf(number, out),
            leaf::XSAVE => self.xsave(out),
            leaf::TSC_CRYSTAL => out.push(any(self.tsc_crystal())),
            leaf::FREQUENCY => out.push(any(self.frequency())),
            leaf::TLB_PARAMS => self.tlb_params(out),
            leaf::TILE => self.copy_counted(number, MAX_TILE_PALETTES, out),
            leaf::TMUL => out.push(Entry::new(number, Subleaf::Exact(0), self.host(number, 0))),
            // Hidden whole: serial number, MONITOR, DCA, performance monitoring, RDT,
            // SGX, processor trace, SoC vendor strings, Key Locker, hybrid, PCONFIG,
            // arch LBR. No entry answers zeros.
            leaf::SERIAL
            | leaf::MONITOR
            | leaf::DCA
            | leaf::PERFMON
            | leaf::RDT_MONITORING
            | leaf::RDT_ALLOCATION
            | leaf::SGX
            | leaf::PROCESSOR_TRACE
            | leaf::SOC_VENDOR
            | leaf::KEY_LOCKER
            | leaf::HYBRID
            | leaf::PCONFIG
            | leaf::ARCH_LBR => {}
            // Reserved leaves: zeros as well.
            _ => {}
        }
    }

    fn leaf1(&self) -> Entry {
        let mut v = self.host(leaf::FEATURES, 0);
        v.ecx = (v.ecx & !LEAF1_ECX_HIDDEN) | leaf1_ecx::HYPERVISOR;
        v.edx &= !LEAF1_EDX_HIDDEN;
        if self.multi_vcpu() {
            v.edx |= leaf1_edx::HTT;
        }
        let logical = self.topology.id_span().min(0xFF);
        v.ebx = (v.ebx & !(leaf1_ebx::LOGICAL_COUNT_MASK | leaf1_ebx::APIC_ID_MASK))
            | (logical << leaf1_ebx::LOGICAL_COUNT_SHIFT);
        Entry::new(leaf::FEATURES, Subleaf::Any, v)
            .with_fills(&[Fill::InitialApicId, Fill::Osxsave])
    }

    /// Leaf 4 (Intel) and 0x8000_001D (AMD): the host's caches, shared as the
    /// partition's topology says: L1 and L2 by one vCPU each, L3 by all.
    fn cache_params(&self, number: u32, out: &mut Vec<Entry>) {
        for subleaf in 0..MAX_SUBLEAVES {
            let mut v = self.host(number, subleaf);
            if v.eax & cache_eax::TYPE_MASK == 0 {
                break;
            }
            let level = (v.eax >> cache_eax::LEVEL_SHIFT) & 0x7;
            let sharing = if level >= 3 { self.span_minus_one() } else { 0 };
            v.eax = (v.eax & !cache_eax::SHARING_MASK)
                | ((sharing << cache_eax::SHARING_SHIFT) & cache_eax::SHARING_MASK);
            if number == leaf::CACHE_PARAMS {
                let cores = self.span_minus_one().min(0x3F);
                v.eax = (v.eax & !cache_eax::CORES_MASK) | (cores << cache_eax::CORES_SHIFT);
            }
            out.push(Entry::new(number, Subleaf::Exact(subleaf), v));
        }
    }

    fn leaf7(&self, out: &mut Vec<Entry>) {
        let number = leaf::EXTENDED_FEATURES;
        let mut s0 = self.host(number, 0);
        let max_subleaf = s0.eax.min(1);
        s0.eax = max_subleaf;
        s0.ebx &= !LEAF7_EBX_HIDDEN;
        s0.ecx &= !LEAF7_ECX_HIDDEN;
        s0.edx &= !LEAF7_EDX_HIDDEN;
        out.push(Entry::new(number, Subleaf::Exact(0), s0).with_fills(&[Fill::Ospke]));
        if max_subleaf >= 1 {
            let mut s1 = self.host(number, 1);
            s1.eax &= !LEAF7_1_EAX_HIDDEN;
            // EBX: PPIN and later MSR-backed bits; ECX: reserved.
            s1.ebx = 0;
            s1.ecx = 0;
            s1.edx &= !LEAF7_1_EDX_HIDDEN;
            out.push(Entry::new(number, Subleaf::Exact(1), s1));
        }
    }

    /// Leaves 0xB and 0x1F: an SMT level of one thread, a core level of all vCPUs, and
    /// the "invalid level" answer for every further subleaf (SDM Vol. 3A, 9.9.1).
    fn topology_leaf(&self, number: u32, out: &mut Vec<Entry>) {
        let count = u32::try_from(self.topology.vcpu_count()).unwrap_or(u32::MAX);
        let smt = CpuidResult::new(0, 1, topology::LEVEL_SMT << topology::LEVEL_TYPE_SHIFT, 0);
        let core = CpuidResult::new(
            self.topology.core_bits(),
            count & 0xFFFF,
            1 | (topology::LEVEL_CORE << topology::LEVEL_TYPE_SHIFT),
            0,
        );
        out.push(Entry::new(number, Subleaf::Exact(0), smt).with_fills(&[Fill::X2apicId]));
        out.push(Entry::new(number, Subleaf::Exact(1), core).with_fills(&[Fill::X2apicId]));
        out.push(
            Entry::new(number, Subleaf::Any, CpuidResult::ZERO)
                .with_fills(&[Fill::LevelNumber, Fill::X2apicId]),
        );
    }

    /// Leaf 0xD: the host's user state components; supervisor components and XSAVES
    /// hidden; the sizes in EBX follow the guest's XCR0 at lookup.
    fn xsave(&self, out: &mut Vec<Entry>) {
        let number = leaf::XSAVE;
        let s0 = self.host(number, 0);
        let supported = u64::from(s0.eax) | (u64::from(s0.edx) << 32);
        out.push(Entry::new(number, Subleaf::Exact(0), s0).with_fills(&[Fill::XsaveStandardSize]));
        let mut s1 = self.host(number, 1);
        s1.eax &= !(xsave1_eax::XSAVES | xsave1_eax::XFD);
        s1.ecx = 0;
        s1.edx = 0;
        out.push(Entry::new(number, Subleaf::Exact(1), s1).with_fills(&[Fill::XsaveCompactedSize]));
        for index in 2..64u32 {
            if supported & (1u64 << index) == 0 {
                continue;
            }
            let v = self.host(number, index);
            // ECX[0] set: a supervisor (IA32_XSS) component.
            if v.ecx & 1 == 0 {
                out.push(Entry::new(number, Subleaf::Exact(index), v));
            }
        }
    }

    /// Leaf 0x15 from the partition's clocks: the "core crystal" is the virtual APIC
    /// timer's clock (Linux on Intel takes it as the local APIC timer rate), and the
    /// ratio EBX/EAX turns it into the TSC rate exactly. Zeros unless both are known.
    fn tsc_crystal(&self) -> CpuidResult {
        match (self.clocks.tsc_khz, self.clocks.apic_timer_khz) {
            (Some(tsc), Some(apic)) if tsc != 0 && apic != 0 => {
                CpuidResult::new(apic, tsc, apic.checked_mul(1000).unwrap_or(0), 0)
            }
            _ => CpuidResult::ZERO,
        }
    }

    /// Leaf 0x16 from the partition's clocks: base and maximum frequency = the TSC rate,
    /// bus (reference) frequency = the APIC timer clock, in MHz. Zeros if the TSC rate
    /// is unknown, as the host's figures would describe a clock the guest cannot see.
    fn frequency(&self) -> CpuidResult {
        let Some(tsc) = self.clocks.tsc_khz.filter(|&t| t != 0) else {
            return CpuidResult::ZERO;
        };
        let mhz = (tsc / 1000) & 0xFFFF;
        let bus = (self.clocks.apic_timer_khz.unwrap_or(0) / 1000) & 0xFFFF;
        CpuidResult::new(mhz, mhz, bus, 0)
    }

    /// Leaf 0x18: the host's TLBs, each used by one vCPU.
    fn tlb_params(&self, out: &mut Vec<Entry>) {
        let number = leaf::TLB_PARAMS;
        let max = self.host(number, 0).eax.min(MAX_SUBLEAVES - 1);
        for subleaf in 0..=max {
            let mut v = self.host(number, subleaf);
            v.edx &= !cache_eax::SHARING_MASK;
            out.push(Entry::new(number, Subleaf::Exact(subleaf), v));
        }
    }

    /// A leaf whose subleaf 0 EAX is the highest subleaf: copied up to `cap`.
    fn copy_counted(&self, number: u32, cap: u32, out: &mut Vec<Entry>) {
        let max = self.host(number, 0).eax.min(cap);
        for subleaf in 0..=max {
            out.push(Entry::new(
                number,
                Subleaf::Exact(subleaf),
                self.host(number, subleaf),
            ));
        }
    }

    fn extended(&self, number: u32, out: &mut Vec<Entry>) {
        let any = |value| Entry::new(number, Subleaf::Any, value);
        match number {
            leaf::EXT_MAX => {
                let mut v = self.host(number, 0);
                v.eax = self.ext_max;
                out.push(any(v));
            }
            leaf::EXT_FEATURES => {
                let mut v = self.host(number, 0);
                v.ecx &= !EXT1_ECX_HIDDEN;
                if self.vendor == Some(Vendor::Amd) && self.multi_vcpu() {
                    v.ecx |= ext1_ecx::CMP_LEGACY;
                }
                v.edx &= !EXT1_EDX_HIDDEN;
                out.push(any(v));
            }
            leaf::BRAND_FIRST..=leaf::BRAND_LAST
            | leaf::L1_CACHE
            | leaf::L2_CACHE
            | leaf::TLB_1G
            | leaf::PERF_OPT => out.push(any(self.host(number, 0))),
            leaf::POWER_RAS => {
                let edx = self.host(number, 0).edx & ext7_edx::INVARIANT_TSC;
                out.push(any(CpuidResult::new(0, 0, 0, edx)));
            }
            leaf::ADDRESS_SIZES => out.push(any(self.address_sizes())),
            leaf::CACHE_TOPOLOGY => self.cache_params(number, out),
            leaf::EXT_APIC_ID => {
                let topoext = self.host(leaf::EXT_FEATURES, 0).ecx & ext1_ecx::TOPOEXT != 0;
                if self.vendor == Some(Vendor::Amd) && topoext {
                    // One thread per core (EBX[15:8] = 0), one node (ECX = 0).
                    out.push(
                        any(CpuidResult::ZERO).with_fills(&[Fill::ExtendedApicId, Fill::CoreId]),
                    );
                }
            }
            leaf::EXT_FEATURES_2 => {
                let host = self.host(number, 0);
                out.push(any(CpuidResult::new(
                    host.eax & !EXT21_EAX_HIDDEN,
                    host.ebx,
                    0,
                    0,
                )));
            }
            // Hidden whole: SVM, IBS, LWP, memory encryption, PQoS.
            leaf::SVM | leaf::IBS | leaf::LWP | leaf::MEMORY_ENCRYPTION | leaf::PQOS => {}
            // Reserved leaves: zeros as well.
            _ => {}
        }
    }

    /// Leaf 0x8000_0008: address sizes as the host's; AMD's core count from the
    /// partition's topology; INVLPGB and RDPRU limits (EDX) zero.
    fn address_sizes(&self) -> CpuidResult {
        let host = self.host(leaf::ADDRESS_SIZES, 0);
        let ecx = if self.vendor == Some(Vendor::Amd) {
            let count = u32::try_from(self.topology.vcpu_count()).unwrap_or(u32::MAX);
            (count.saturating_sub(1) & ext8_ecx::NC_MASK)
                | ((self.topology.core_bits() & 0xF) << ext8_ecx::APIC_ID_SIZE_SHIFT)
        } else {
            host.ecx
        };
        CpuidResult::new(host.eax, host.ebx & !EXT8_EBX_HIDDEN, ecx, 0)
    }

    fn hypervisor(&self, out: &mut Vec<Entry>) {
        let [a, b, c, d, e, f, g, h, i, j, k, l] = SIGNATURE;
        let vendor = CpuidResult::new(
            HYPERVISOR_LEAF_MAX,
            u32::from_le_bytes([a, b, c, d]),
            u32::from_le_bytes([e, f, g, h]),
            u32::from_le_bytes([i, j, k, l]),
        );
        out.push(Entry::new(leaf::HV_VENDOR, Subleaf::Any, vendor));
        let timing = CpuidResult::new(
            self.clocks.tsc_khz.unwrap_or(0),
            self.clocks.apic_timer_khz.unwrap_or(0),
            0,
            0,
        );
        out.push(Entry::new(leaf::HV_TIMING, Subleaf::Any, timing));
    }
}
