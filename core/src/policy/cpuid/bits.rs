//! Named CPUID leaves and bits the policy touches (SDM Vol. 2A, "CPUID"; APM Vol. 3,
//! Appendix E). Only bits with a decision behind them are named; every other bit of a
//! copied leaf passes through as the host reports it.

/// Single bit `n` of a register.
const fn bit(n: u32) -> u32 {
    1 << n
}

/// Leaf numbers.
pub mod leaf {
    /// Highest basic leaf and vendor string.
    pub const VENDOR: u32 = 0x0;
    /// Family/model/stepping, APIC ID, feature flags.
    pub const FEATURES: u32 = 0x1;
    /// Cache and TLB descriptors.
    pub const CACHE_DESCRIPTORS: u32 = 0x2;
    /// Processor serial number.
    pub const SERIAL: u32 = 0x3;
    /// Deterministic cache parameters (Intel).
    pub const CACHE_PARAMS: u32 = 0x4;
    /// MONITOR/MWAIT parameters.
    pub const MONITOR: u32 = 0x5;
    /// Thermal and power management.
    pub const THERMAL_POWER: u32 = 0x6;
    /// Structured extended features.
    pub const EXTENDED_FEATURES: u32 = 0x7;
    /// Direct cache access.
    pub const DCA: u32 = 0x9;
    /// Architectural performance monitoring.
    pub const PERFMON: u32 = 0xA;
    /// Extended topology, version 1.
    pub const TOPOLOGY: u32 = 0xB;
    /// XSAVE state components.
    pub const XSAVE: u32 = 0xD;
    /// Resource Director Technology monitoring.
    pub const RDT_MONITORING: u32 = 0xF;
    /// Resource Director Technology allocation.
    pub const RDT_ALLOCATION: u32 = 0x10;
    /// SGX capabilities.
    pub const SGX: u32 = 0x12;
    /// Processor trace.
    pub const PROCESSOR_TRACE: u32 = 0x14;
    /// TSC to core crystal clock ratio.
    pub const TSC_CRYSTAL: u32 = 0x15;
    /// Processor frequency information.
    pub const FREQUENCY: u32 = 0x16;
    /// System-on-chip vendor attributes.
    pub const SOC_VENDOR: u32 = 0x17;
    /// Deterministic address translation parameters.
    pub const TLB_PARAMS: u32 = 0x18;
    /// Key Locker.
    pub const KEY_LOCKER: u32 = 0x19;
    /// Hybrid core information.
    pub const HYBRID: u32 = 0x1A;
    /// PCONFIG information.
    pub const PCONFIG: u32 = 0x1B;
    /// Architectural LBR.
    pub const ARCH_LBR: u32 = 0x1C;
    /// AMX tile palettes.
    pub const TILE: u32 = 0x1D;
    /// AMX TMUL.
    pub const TMUL: u32 = 0x1E;
    /// Extended topology, version 2.
    pub const TOPOLOGY_V2: u32 = 0x1F;

    /// Highest extended leaf and (AMD) vendor string.
    pub const EXT_MAX: u32 = 0x8000_0000;
    /// Extended feature flags.
    pub const EXT_FEATURES: u32 = 0x8000_0001;
    /// First of the three brand-string leaves.
    pub const BRAND_FIRST: u32 = 0x8000_0002;
    /// Last brand-string leaf.
    pub const BRAND_LAST: u32 = 0x8000_0004;
    /// L1 cache and TLB (AMD).
    pub const L1_CACHE: u32 = 0x8000_0005;
    /// L2/L3 cache and TLB.
    pub const L2_CACHE: u32 = 0x8000_0006;
    /// Power management and RAS.
    pub const POWER_RAS: u32 = 0x8000_0007;
    /// Address sizes, AMD feature bits and core count.
    pub const ADDRESS_SIZES: u32 = 0x8000_0008;
    /// SVM features.
    pub const SVM: u32 = 0x8000_000A;
    /// 1 GiB page TLB (AMD).
    pub const TLB_1G: u32 = 0x8000_0019;
    /// Performance optimisation identifiers (AMD).
    pub const PERF_OPT: u32 = 0x8000_001A;
    /// Instruction-based sampling (AMD).
    pub const IBS: u32 = 0x8000_001B;
    /// Lightweight profiling (AMD).
    pub const LWP: u32 = 0x8000_001C;
    /// Cache topology (AMD).
    pub const CACHE_TOPOLOGY: u32 = 0x8000_001D;
    /// Extended APIC ID, core and node identifiers (AMD).
    pub const EXT_APIC_ID: u32 = 0x8000_001E;
    /// Memory encryption (AMD).
    pub const MEMORY_ENCRYPTION: u32 = 0x8000_001F;
    /// Platform QoS extensions (AMD).
    pub const PQOS: u32 = 0x8000_0020;
    /// Extended feature identifiers 2 (AMD).
    pub const EXT_FEATURES_2: u32 = 0x8000_0021;

    /// Hypervisor vendor leaf: highest hypervisor leaf and signature.
    pub const HV_VENDOR: u32 = 0x4000_0000;
    /// Hypervisor timing leaf: TSC and local APIC bus frequencies in kHz (the leaf
    /// VMware defined and Linux reads).
    pub const HV_TIMING: u32 = 0x4000_0010;
}

/// Leaf 1 ECX.
pub mod leaf1_ecx {
    use super::bit;
    /// 64-bit debug store.
    pub const DTES64: u32 = bit(2);
    /// MONITOR/MWAIT.
    pub const MONITOR: u32 = bit(3);
    /// CPL-qualified debug store.
    pub const DS_CPL: u32 = bit(4);
    /// Virtual machine extensions.
    pub const VMX: u32 = bit(5);
    /// Safer mode extensions.
    pub const SMX: u32 = bit(6);
    /// Enhanced SpeedStep.
    pub const EST: u32 = bit(7);
    /// Thermal monitor 2.
    pub const TM2: u32 = bit(8);
    /// Silicon debug (IA32_DEBUG_INTERFACE).
    pub const SDBG: u32 = bit(11);
    /// xTPR update control.
    pub const XTPR: u32 = bit(14);
    /// Perfmon and debug capability (IA32_PERF_CAPABILITIES).
    pub const PDCM: u32 = bit(15);
    /// Direct cache access.
    pub const DCA: u32 = bit(18);
    /// x2APIC.
    pub const X2APIC: u32 = bit(21);
    /// OS has set CR4.OSXSAVE.
    pub const OSXSAVE: u32 = bit(27);
    /// Running under a hypervisor.
    pub const HYPERVISOR: u32 = bit(31);
}

/// Leaf 1 EDX.
pub mod leaf1_edx {
    use super::bit;
    /// Processor serial number.
    pub const PSN: u32 = bit(18);
    /// Debug store.
    pub const DS: u32 = bit(21);
    /// Thermal monitor and software-controlled clock (ACPI MSRs).
    pub const ACPI: u32 = bit(22);
    /// Multi-threading: leaf 1 EBX bits 23:16 are valid.
    pub const HTT: u32 = bit(28);
    /// Thermal monitor.
    pub const TM: u32 = bit(29);
    /// Pending break enable.
    pub const PBE: u32 = bit(31);
}

/// Leaf 1 EBX fields.
pub mod leaf1_ebx {
    /// Bits 31:24, the initial APIC ID.
    pub const APIC_ID_SHIFT: u32 = 24;
    /// Bits 23:16, addressable logical processor IDs in the package.
    pub const LOGICAL_COUNT_SHIFT: u32 = 16;
    /// Mask of bits 23:16.
    pub const LOGICAL_COUNT_MASK: u32 = 0xFF << LOGICAL_COUNT_SHIFT;
    /// Mask of bits 31:24.
    pub const APIC_ID_MASK: u32 = 0xFF << APIC_ID_SHIFT;
}

/// Leaf 6 EAX.
pub mod leaf6_eax {
    use super::bit;
    /// The APIC timer runs at a constant rate in every C-state.
    pub const ARAT: u32 = bit(2);
}

/// Leaf 7 subleaf 0 EBX.
pub mod leaf7_ebx {
    use super::bit;
    /// IA32_TSC_ADJUST.
    pub const TSC_ADJUST: u32 = bit(1);
    /// Software guard extensions.
    pub const SGX: u32 = bit(2);
    /// Resource director monitoring (PQM).
    pub const PQM: u32 = bit(12);
    /// Memory protection extensions.
    pub const MPX: u32 = bit(14);
    /// Resource director allocation (PQE).
    pub const PQE: u32 = bit(15);
    /// Processor trace.
    pub const PT: u32 = bit(25);
}

/// Leaf 7 subleaf 0 ECX.
pub mod leaf7_ecx {
    use super::bit;
    /// OS has set CR4.PKE.
    pub const OSPKE: u32 = bit(4);
    /// UMONITOR/UMWAIT/TPAUSE.
    pub const WAITPKG: u32 = bit(5);
    /// CET shadow stacks.
    pub const CET_SS: u32 = bit(7);
    /// Total memory encryption.
    pub const TME: u32 = bit(13);
    /// 5-level paging.
    pub const LA57: u32 = bit(16);
    /// RDPID.
    pub const RDPID: u32 = bit(22);
    /// Key Locker.
    pub const KEY_LOCKER: u32 = bit(23);
    /// Bus-lock detection.
    pub const BUS_LOCK_DETECT: u32 = bit(24);
    /// ENQCMD (needs IA32_PASID).
    pub const ENQCMD: u32 = bit(29);
    /// SGX launch configuration.
    pub const SGX_LC: u32 = bit(30);
}

/// Leaf 7 subleaf 0 EDX.
pub mod leaf7_edx {
    use super::bit;
    /// IA32_MCU_OPT_CTRL (SRBDS mitigation control).
    pub const SRBDS_CTRL: u32 = bit(9);
    /// TSX_FORCE_ABORT MSR.
    pub const TSX_FORCE_ABORT: u32 = bit(13);
    /// Hybrid part: per-core leaf 0x1A.
    pub const HYBRID: u32 = bit(15);
    /// PCONFIG.
    pub const PCONFIG: u32 = bit(18);
    /// Architectural LBR.
    pub const ARCH_LBR: u32 = bit(19);
    /// CET indirect branch tracking.
    pub const CET_IBT: u32 = bit(20);
    /// IA32_SPEC_CTRL.IBRS and IA32_PRED_CMD.IBPB.
    pub const SPEC_CTRL: u32 = bit(26);
    /// IA32_SPEC_CTRL.STIBP.
    pub const STIBP: u32 = bit(27);
    /// IA32_FLUSH_CMD.
    pub const L1D_FLUSH: u32 = bit(28);
    /// IA32_ARCH_CAPABILITIES.
    pub const ARCH_CAPABILITIES: u32 = bit(29);
    /// IA32_CORE_CAPABILITIES.
    pub const CORE_CAPABILITIES: u32 = bit(30);
    /// IA32_SPEC_CTRL.SSBD.
    pub const SSBD: u32 = bit(31);
}

/// Leaf 7 subleaf 1.
pub mod leaf7_1 {
    use super::bit;
    /// EAX: architectural performance monitoring extended leaf 0x23.
    pub const EAX_ARCH_PERFMON_EXT: u32 = bit(8);
    /// EAX: flexible return and event delivery.
    pub const EAX_FRED: u32 = bit(17);
    /// EAX: HRESET and leaf 0x20.
    pub const EAX_HRESET: u32 = bit(22);
    /// EAX: linear address masking.
    pub const EAX_LAM: u32 = bit(26);
    /// EAX: RDMSRLIST/WRMSRLIST.
    pub const EAX_MSRLIST: u32 = bit(27);
    /// EDX: CET supervisor shadow stacks.
    pub const EDX_CET_SSS: u32 = bit(18);
    /// EDX: AVX10 and leaf 0x24.
    pub const EDX_AVX10: u32 = bit(19);
}

/// Leaf 0xD subleaf 1 EAX.
pub mod xsave1_eax {
    use super::bit;
    /// XSAVES/XRSTORS and IA32_XSS.
    pub const XSAVES: u32 = bit(3);
    /// Extended feature disable (IA32_XFD).
    pub const XFD: u32 = bit(4);
}

/// Leaf 0x8000_0001 ECX.
pub mod ext1_ecx {
    use super::bit;
    /// Core multi-processing legacy mode (AMD): HTT describes cores.
    pub const CMP_LEGACY: u32 = bit(1);
    /// Secure virtual machine.
    pub const SVM: u32 = bit(2);
    /// Extended APIC register space.
    pub const EXT_APIC_SPACE: u32 = bit(3);
    /// Instruction-based sampling.
    pub const IBS: u32 = bit(10);
    /// SKINIT/STGI.
    pub const SKINIT: u32 = bit(12);
    /// Watchdog timer.
    pub const WDT: u32 = bit(13);
    /// Lightweight profiling.
    pub const LWP: u32 = bit(15);
    /// Translation cache extension (EFER.TCE).
    pub const TCE: u32 = bit(17);
    /// Topology extensions: leaves 0x8000_001D/1E.
    pub const TOPOEXT: u32 = bit(22);
    /// Core performance counter extensions.
    pub const PERFCTR_CORE: u32 = bit(23);
    /// Northbridge performance counter extensions.
    pub const PERFCTR_NB: u32 = bit(24);
    /// Data breakpoint extensions.
    pub const DATA_BP_EXT: u32 = bit(26);
    /// Performance time-stamp counter.
    pub const PERF_TSC: u32 = bit(27);
    /// Last-level cache performance counter extensions.
    pub const PERFCTR_LLC: u32 = bit(28);
    /// MONITORX/MWAITX.
    pub const MONITORX: u32 = bit(29);
    /// Address mask extension for instruction breakpoints.
    pub const ADDR_MASK_EXT: u32 = bit(30);
}

/// Leaf 0x8000_0001 EDX.
pub mod ext1_edx {
    use super::bit;
    /// FXSAVE/FXRSTOR optimisations (EFER.FFXSR).
    pub const FFXSR: u32 = bit(25);
    /// RDTSCP and IA32_TSC_AUX.
    pub const RDTSCP: u32 = bit(27);
}

/// Leaf 0x8000_0007 EDX.
pub mod ext7_edx {
    use super::bit;
    /// The TSC runs at a constant rate in every P-, C- and T-state.
    pub const INVARIANT_TSC: u32 = bit(8);
}

/// Leaf 0x8000_0008 EBX (AMD).
pub mod ext8_ebx {
    use super::bit;
    /// Instructions-retired counter MSR.
    pub const INST_RET_CNT_MSR: u32 = bit(1);
    /// INVLPGB/TLBSYNC: broadcast TLB invalidation.
    pub const INVLPGB: u32 = bit(3);
    /// RDPRU.
    pub const RDPRU: u32 = bit(4);
    /// Memory bandwidth enforcement.
    pub const BE: u32 = bit(6);
    /// MCOMMIT.
    pub const MCOMMIT: u32 = bit(8);
    /// IBPB through PRED_CMD.
    pub const IBPB: u32 = bit(12);
    /// IBRS through SPEC_CTRL.
    pub const IBRS: u32 = bit(14);
    /// STIBP through SPEC_CTRL.
    pub const STIBP: u32 = bit(15);
    /// IBRS always on.
    pub const IBRS_ALWAYS_ON: u32 = bit(16);
    /// STIBP always on.
    pub const STIBP_ALWAYS_ON: u32 = bit(17);
    /// IBRS preferred.
    pub const IBRS_PREFERRED: u32 = bit(18);
    /// IBRS same-mode protection.
    pub const IBRS_SAME_MODE: u32 = bit(19);
    /// Protected processor inventory number.
    pub const PPIN: u32 = bit(23);
    /// SSBD through SPEC_CTRL.
    pub const SSBD: u32 = bit(24);
    /// SSBD through VIRT_SPEC_CTRL.
    pub const VIRT_SSBD: u32 = bit(25);
    /// Collaborative processor performance control.
    pub const CPPC: u32 = bit(27);
    /// Predictive store forwarding disable.
    pub const PSFD: u32 = bit(28);
    /// IBPB also flushes return predictions.
    pub const IBPB_RET: u32 = bit(30);
    /// Branch sampling.
    pub const BRANCH_SAMPLE: u32 = bit(31);
}

/// Leaf 0x8000_0008 ECX fields (AMD).
pub mod ext8_ecx {
    /// Bits 7:0, number of physical cores minus one.
    pub const NC_MASK: u32 = 0xFF;
    /// Bits 15:12, APIC ID bits that hold the core ID.
    pub const APIC_ID_SIZE_SHIFT: u32 = 12;
}

/// Leaf 0x8000_0021 EAX (AMD).
pub mod ext21_eax {
    use super::bit;
    /// Upper address ignore (EFER.UAIE).
    pub const UAI: u32 = bit(7);
    /// Automatic IBRS (EFER.AIBRSE).
    pub const AUTO_IBRS: u32 = bit(8);
    /// Prefetch control MSR.
    pub const PREFETCH_CTL: u32 = bit(13);
    /// CPUID disable for CPL > 0 (HWCR).
    pub const CPUID_USER_DIS: u32 = bit(17);
    /// Selective branch predictor barrier (PRED_CMD).
    pub const SBPB: u32 = bit(27);
}

/// Deterministic cache parameter fields of leaf 4 and leaf 0x8000_001D EAX.
pub mod cache_eax {
    /// Bits 4:0, cache type; 0 ends the list.
    pub const TYPE_MASK: u32 = 0x1F;
    /// Bits 7:5, cache level.
    pub const LEVEL_SHIFT: u32 = 5;
    /// Bits 25:14, logical processors sharing the cache, minus one.
    pub const SHARING_SHIFT: u32 = 14;
    /// Mask of bits 25:14.
    pub const SHARING_MASK: u32 = 0xFFF << SHARING_SHIFT;
    /// Bits 31:26 (leaf 4 only), addressable core IDs in the package, minus one.
    pub const CORES_SHIFT: u32 = 26;
    /// Mask of bits 31:26.
    pub const CORES_MASK: u32 = 0x3F << CORES_SHIFT;
}

/// Extended topology (leaves 0xB, 0x1F) fields.
pub mod topology {
    /// Level type "SMT" in ECX bits 15:8.
    pub const LEVEL_SMT: u32 = 1;
    /// Level type "core" in ECX bits 15:8.
    pub const LEVEL_CORE: u32 = 2;
    /// Shift of the level type in ECX.
    pub const LEVEL_TYPE_SHIFT: u32 = 8;
}

/// CR4 bits the dynamic CPUID bits mirror.
pub mod cr4 {
    /// CR4.OSXSAVE (bit 18): mirrored in leaf 1 ECX bit 27.
    pub const OSXSAVE: u64 = 1 << 18;
    /// CR4.PKE (bit 22): mirrored in leaf 7 ECX bit 4.
    pub const PKE: u64 = 1 << 22;
}
