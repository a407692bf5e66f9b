//! The per-partition CPUID table (SDM Vol. 2A, "CPUID"; APM Vol. 3, Appendix E).
//!
//! [`CpuidTable::build`] runs once, when the partition is created, on a core of the
//! machine: it asks the host for its leaves, filters them through the policy below,
//! adds the topology of the partition's own vCPUs and the hypervisor leaves, and applies
//! the partition's `[partition.cpuid]` overrides last. Every CPUID exit is answered by
//! [`CpuidTable::lookup`] from that table, never from the host at exit time, so all
//! vCPUs of a partition see one consistent processor whatever core they run on.
//!
//! # Range
//!
//! - Basic leaves are copied up to `min(host maximum, 0x1F)` ([`BASIC_LEAF_CAP`]).
//!   Features enumerated by a leaf above the cap are hidden with it (AVX10, leaf 0x24).
//! - Extended leaves are copied up to `min(host maximum, 0x8000_0021)`
//!   ([`EXTENDED_LEAF_CAP`]).
//! - Hypervisor leaves 0x4000_0000..=0x4000_0010 are synthesized.
//! - Any other leaf, and any subleaf the table has no entry for, answers all zeros.
//!   Intel parts answer leaves above the maximum with the highest basic leaf; zeros is
//!   AMD's behaviour and the one a guest can make no wrong inference from.
//!
//! # What the guest sees changed
//!
//! | leaf, register, bit | answer | why |
//! | --- | --- | --- |
//! | 1 ECX\[31\] hypervisor | set | the guest is virtualized; it finds the 0x4000_0000 leaves |
//! | 1 ECX\[5\] VMX, 0x8000_0001 ECX\[2\] SVM, leaf 0x8000_000A | hidden, zeros | no nested virtualization |
//! | 1 ECX\[21\] x2APIC | hidden | the virtual local APIC is xAPIC only |
//! | 1 ECX\[3\] MONITOR, leaf 5, 0x8000_0001 ECX\[29\] MONITORX | hidden, zeros | MWAIT would park the physical core outside the hypervisor's view |
//! | 1 ECX\[24\] TSC-deadline | the host's | the virtual local APIC implements the mode (IA32_TSC_DEADLINE is routed to it) |
//! | 1 ECX\[2,4\] DTES64, DS-CPL; EDX\[21\] DS | hidden | debug store needs IA32_DS_AREA, not offered |
//! | 1 ECX\[6\] SMX | hidden | GETSEC is not virtualized |
//! | 1 ECX\[7,8\] EST, TM2; EDX\[22,29,31\] ACPI, TM, PBE; leaf 6 | hidden; leaf 6 = ARAT only | power and thermal control belongs to the machine; the virtual APIC timer always runs |
//! | 1 ECX\[11\] SDBG, \[14\] xTPR, \[15\] PDCM, \[18\] DCA; leaves 9, 0xA | hidden, zeros | their MSRs are not offered; performance monitoring is not virtualized |
//! | 1 ECX\[27\] OSXSAVE, 7 ECX\[4\] OSPKE | the guest's CR4.OSXSAVE, CR4.PKE | architecturally they mirror CR4 |
//! | 1 EDX\[18\] PSN, leaf 3 | hidden, zeros | no serial number |
//! | 1 EBX\[31:24\], 0xB/0x1F EDX, 0x8000_001E EAX | the vCPU's APIC ID | per vCPU |
//! | 1 EBX\[23:16\], EDX\[28\] HTT, leaf 4 EAX\[31:14\], 0xB, 0x1F, 0x8000_0008 ECX, 0x8000_001D/1E | the partition's vCPUs | one thread per core, one core per vCPU, one package |
//! | 7 EBX\[1\] TSC_ADJUST | hidden | IA32_TSC_ADJUST is not emulated; TSC writes go through the TSC offset |
//! | 7 EBX\[2\] SGX, ECX\[30\] SGX_LC, leaf 0x12 | hidden, zeros | enclaves are not virtualized |
//! | 7 EBX\[12,15\] PQM/PQE, leaves 0xF, 0x10, 0x8000_0020 | hidden, zeros | cache and bandwidth allocation is the machine's, not a partition's |
//! | 7 EBX\[14\] MPX | hidden | IA32_BNDCFGS is not offered |
//! | 7 EBX\[25\] PT, leaf 0x14 | hidden, zeros | processor trace is not virtualized |
//! | 7 ECX\[5\] WAITPKG | hidden | UMWAIT/TPAUSE park the core; IA32_UMWAIT_CONTROL is not offered |
//! | 7 ECX\[7\] CET_SS, EDX\[20\] CET_IBT, 7.1 EDX\[18\] CET_SSS | hidden | CET needs supervisor XSAVE state and MSRs not offered |
//! | 7 ECX\[13\] TME, 0x8000_001F | hidden, zeros | memory encryption is the machine's |
//! | 7 ECX\[16\] LA57 | hidden | the emulator's page walker handles four levels |
//! | 7 ECX\[22\] RDPID, 0x8000_0001 EDX\[27\] RDTSCP | hidden | IA32_TSC_AUX is not virtualized (a guest write would #GP) |
//! | 7 ECX\[23\] Key Locker, leaf 0x19 | hidden, zeros | the wrapping key is per core state not virtualized |
//! | 7 ECX\[24\] bus-lock detect, \[29\] ENQCMD | hidden | need IA32_DEBUGCTL bits and IA32_PASID |
//! | 7 EDX\[9,13,26..31\] SRBDS_CTRL, TSX_FORCE_ABORT, spec-ctrl family; 0x8000_0008 EBX IBPB/IBRS/STIBP/SSBD/PSFD family; 0x8000_0021 EAX AutoIBRS, SBPB | hidden | their MSRs (SPEC_CTRL, PRED_CMD, FLUSH_CMD, ARCH_CAPABILITIES, ...) exit and #GP unless allow-listed; force the bits together with `msr_allow` to offer them |
//! | 7 EDX\[15\] hybrid, leaf 0x1A | hidden, zeros | the table is built once: the core types of a hybrid part cannot differ per vCPU |
//! | 7 EDX\[18\] PCONFIG, \[19\] arch LBR; leaves 0x1B, 0x1C | hidden, zeros | not virtualized |
//! | 7.1 EAX\[8\] perfmon ext, \[17\] FRED, \[22\] HRESET, \[26\] LAM, \[27\] MSRLIST; 7.1 EBX; 7 subleaf 2 | hidden | MSRs or address translation the hypervisor does not model |
//! | 0xD.1 EAX\[3\] XSAVES, \[4\] XFD; supervisor components | hidden, zeros | IA32_XSS and IA32_XFD are not offered |
//! | 0xD.0 EBX, 0xD.1 EBX | computed from the guest's XCR0 | architecturally they follow XCR0 |
//! | 0x15, 0x16, 0x4000_0010 | from the partition's clocks, or zeros | see [`Clocks`] |
//! | 0x17 | zeros | vendor attribute strings are of no use to a guest |
//! | 0x8000_0001 ECX\[3,10,12,13,15,17,23,24,26,27,28,30\] | hidden | extended APIC space, IBS, SKINIT, WDT, LWP, TCE, performance counters, breakpoint extensions: not virtualized |
//! | 0x8000_0001 EDX\[25\] FFXSR | hidden | EFER.FFXSR is refused by the MSR file |
//! | 0x8000_0001 ECX\[1\] CmpLegacy (AMD) | set iff more than one vCPU | as real multi-core AMD parts |
//! | 0x8000_0007 | EDX\[8\] invariant TSC only | power management and MCA extensions are the machine's |
//! | 0x8000_0008 EBX\[1,3,4,6,8,23,27,31\], EDX | hidden, zeros | IRPERF, INVLPGB (would reach other cores' TLBs), RDPRU, bandwidth enforcement, MCOMMIT, PPIN, CPPC, branch sampling |
//! | 0x8000_001B, 0x8000_001C | zeros | IBS, LWP |
//! | 0x8000_0021 EAX\[7,13,17\] | hidden | upper address ignore, prefetch control, CPUID user disable |
//!
//! Bits not named stay as the host reports them. The partition's overrides come last, in
//! the order the configuration defines (leaf values, then forced bits, then hidden bits),
//! and win over everything above, per-vCPU fields included: an overridden register is
//! answered exactly as configured.

use alloc::vec::Vec;

use bulkhead_config::{CpuidLeaf, CpuidPolicy, FeatureBit, Register};

use super::Vendor;

mod bits;
mod filter;
#[cfg(test)]
mod hosts;
#[cfg(test)]
mod tests;

/// Highest basic leaf the table copies from the host.
pub const BASIC_LEAF_CAP: u32 = 0x1F;
/// Highest extended leaf the table copies from the host.
pub const EXTENDED_LEAF_CAP: u32 = 0x8000_0021;
/// Highest hypervisor leaf, reported in leaf 0x4000_0000 EAX.
pub const HYPERVISOR_LEAF_MAX: u32 = 0x4000_0010;
/// The hypervisor signature in leaf 0x4000_0000 EBX, ECX, EDX: "BulkheadHV" padded with
/// NULs to 12 bytes, so it also reads as a C string (as KVM's "KVMKVMKVM\0\0\0" does).
pub const SIGNATURE: [u8; 12] = *b"BulkheadHV\0\0";

/// The four output registers of one CPUID.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct CpuidResult {
    /// EAX.
    pub eax: u32,
    /// EBX.
    pub ebx: u32,
    /// ECX.
    pub ecx: u32,
    /// EDX.
    pub edx: u32,
}

impl CpuidResult {
    /// All zeros: the answer for a leaf that does not exist.
    pub const ZERO: CpuidResult = CpuidResult {
        eax: 0,
        ebx: 0,
        ecx: 0,
        edx: 0,
    };

    /// A result from its four registers.
    pub const fn new(eax: u32, ebx: u32, ecx: u32, edx: u32) -> Self {
        Self { eax, ebx, ecx, edx }
    }

    /// One register.
    pub const fn get(&self, register: Register) -> u32 {
        match register {
            Register::Eax => self.eax,
            Register::Ebx => self.ebx,
            Register::Ecx => self.ecx,
            Register::Edx => self.edx,
        }
    }

    /// A mutable reference to one register.
    pub fn get_mut(&mut self, register: Register) -> &mut u32 {
        match register {
            Register::Eax => &mut self.eax,
            Register::Ebx => &mut self.ebx,
            Register::Ecx => &mut self.ecx,
            Register::Edx => &mut self.edx,
        }
    }
}

/// The partition's vCPUs as CPUID describes them: one package, one core per vCPU, one
/// thread per core, and each vCPU's (virtual, xAPIC) local APIC ID.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topology {
    apic_ids: Vec<u8>,
}

impl Topology {
    /// vCPU `i` has APIC ID `apic_ids[i]`. An empty list is taken as one vCPU with APIC
    /// ID 0: a partition always has at least one.
    pub fn new(apic_ids: Vec<u8>) -> Self {
        let apic_ids = if apic_ids.is_empty() {
            alloc::vec![0]
        } else {
            apic_ids
        };
        Self { apic_ids }
    }

    /// `count` vCPUs with APIC IDs 0, 1, 2, ... (at least one, at most 255).
    pub fn sequential(count: usize) -> Self {
        let ids = (0..=u8::MAX - 1).take(count.max(1)).collect();
        Self { apic_ids: ids }
    }

    /// Number of vCPUs.
    pub fn vcpu_count(&self) -> usize {
        self.apic_ids.len()
    }

    /// vCPU `index`'s APIC ID, or `None` past the last vCPU.
    pub fn apic_id(&self, index: usize) -> Option<u8> {
        self.apic_ids.get(index).copied()
    }

    /// Number of APIC IDs the package spans: the smallest power of two above the highest
    /// ID. This is the "maximum number of addressable IDs" the count fields report; it
    /// equals the vCPU count when that is a power of two and the IDs are 0..n.
    pub fn id_span(&self) -> u32 {
        let highest = self.apic_ids.iter().copied().max().unwrap_or(0);
        u32::from(highest).saturating_add(1).next_power_of_two()
    }

    /// Number of APIC ID bits that select the core within the package (log2 of
    /// [`Self::id_span`]).
    pub fn core_bits(&self) -> u32 {
        self.id_span().trailing_zeros()
    }
}

/// The clocks the partition's guest is told about.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Clocks {
    /// The guest's TSC rate in kHz (the host TSC's, as the TSC is passed through with an
    /// offset), if the hypervisor measured or was told it.
    pub tsc_khz: Option<u32>,
    /// The virtual local APIC timer's input clock in kHz (the rate the virtual APIC's
    /// `ApicClock::timer_hz` is set to).
    pub apic_timer_khz: Option<u32>,
}

/// Guest state some CPUID bits follow (they are not fixed at partition creation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GuestView {
    /// The guest's CR4: OSXSAVE (bit 18) shows in leaf 1 ECX\[27\], PKE (bit 22) in leaf
    /// 7 ECX\[4\].
    pub cr4: u64,
    /// The guest's XCR0: leaf 0xD EBX sizes the XSAVE area for the components it enables.
    pub xcr0: u64,
}

impl GuestView {
    /// State after reset: CR4 clear, XCR0 = x87 only.
    pub const RESET: GuestView = GuestView { cr4: 0, xcr0: 1 };
}

/// A value the table computes at lookup rather than stores.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fill {
    /// Leaf 1 EBX\[31:24\]: the vCPU's APIC ID.
    InitialApicId,
    /// Leaves 0xB/0x1F EDX: the vCPU's x2APIC ID (= its APIC ID).
    X2apicId,
    /// Leaves 0xB/0x1F ECX\[7:0\]: the subleaf asked for.
    LevelNumber,
    /// Leaf 0x8000_001E EAX: the vCPU's extended APIC ID.
    ExtendedApicId,
    /// Leaf 0x8000_001E EBX\[7:0\]: the core ID (= APIC ID, one thread per core).
    CoreId,
    /// Leaf 1 ECX\[27\]: CR4.OSXSAVE.
    Osxsave,
    /// Leaf 7 ECX\[4\]: CR4.PKE.
    Ospke,
    /// Leaf 0xD.0 EBX: standard-format XSAVE size for XCR0.
    XsaveStandardSize,
    /// Leaf 0xD.1 EBX: compacted-format XSAVE size for XCR0 (IA32_XSS is 0).
    XsaveCompactedSize,
}

impl Fill {
    const fn register(self) -> Register {
        match self {
            Fill::InitialApicId
            | Fill::CoreId
            | Fill::XsaveStandardSize
            | Fill::XsaveCompactedSize => Register::Ebx,
            Fill::X2apicId => Register::Edx,
            Fill::LevelNumber | Fill::Osxsave | Fill::Ospke => Register::Ecx,
            Fill::ExtendedApicId => Register::Eax,
        }
    }
}

/// Which subleaves an entry answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Subleaf {
    /// Exactly this ECX input.
    Exact(u32),
    /// Every ECX input without an exact entry (leaves that ignore ECX, and the
    /// "invalid level" answer of the topology leaves).
    Any,
}

/// One row of the table.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    leaf: u32,
    subleaf: Subleaf,
    value: CpuidResult,
    fills: Vec<Fill>,
    /// Bits set by `force` overrides, re-applied after the fills.
    force: CpuidResult,
    /// Bits cleared by `hide` overrides, re-applied after the fills.
    hide: CpuidResult,
}

impl Entry {
    fn new(leaf: u32, subleaf: Subleaf, value: CpuidResult) -> Self {
        Self {
            leaf,
            subleaf,
            value,
            fills: Vec::new(),
            force: CpuidResult::ZERO,
            hide: CpuidResult::ZERO,
        }
    }

    fn with_fills(mut self, fills: &[Fill]) -> Self {
        self.fills.extend_from_slice(fills);
        self
    }

    fn key(&self) -> (u32, Subleaf) {
        (self.leaf, self.subleaf)
    }
}

/// One XSAVE state component as leaf 0xD describes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct XsaveComponent {
    index: u32,
    size: u32,
    offset: u32,
    align64: bool,
}

/// Size of the legacy region plus the XSAVE header (SDM Vol. 1, 13.4).
const XSAVE_BASE_SIZE: u32 = 512 + 64;

/// A partition's CPUID answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CpuidTable {
    /// Sorted by key, unique.
    entries: Vec<Entry>,
    topology: Topology,
    xsave: Vec<XsaveComponent>,
}

impl CpuidTable {
    /// Builds the table: the host's leaves (`host(leaf, subleaf)`, the CPUID instruction
    /// on the building core) filtered by the policy in the module documentation, the
    /// partition's `topology` and `clocks`, then the partition's `policy` overrides.
    pub fn build(
        host: &dyn Fn(u32, u32) -> CpuidResult,
        policy: &CpuidPolicy,
        topology: &Topology,
        clocks: Clocks,
    ) -> CpuidTable {
        let mut table = CpuidTable {
            entries: filter::policy_entries(host, topology, clocks),
            topology: topology.clone(),
            xsave: Vec::new(),
        };
        table.sort();
        table.apply_overrides(policy);
        table.xsave = table.xsave_layout();
        table
    }

    /// The answer to CPUID(`leaf`, `subleaf`) on vCPU `vcpu_index`, whose control state
    /// is `guest`. A vCPU index past the partition's is a hypervisor bug; it is answered
    /// as APIC ID 0 rather than panicking.
    pub fn lookup(
        &self,
        leaf: u32,
        subleaf: u32,
        vcpu_index: usize,
        guest: GuestView,
    ) -> CpuidResult {
        let Some(entry) = self.find(leaf, subleaf) else {
            return CpuidResult::ZERO;
        };
        let apic_id = u32::from(self.topology.apic_id(vcpu_index).unwrap_or(0));
        let mut out = entry.value;
        for fill in &entry.fills {
            self.apply_fill(*fill, &mut out, subleaf, apic_id, guest);
        }
        for register in [Register::Eax, Register::Ebx, Register::Ecx, Register::Edx] {
            let value = out.get_mut(register);
            *value = (*value | entry.force.get(register)) & !entry.hide.get(register);
        }
        out
    }

    /// The vendor the host reported in leaf 0, as the guest sees it.
    pub fn vendor(&self) -> Option<Vendor> {
        let leaf0 = self.find(bits::leaf::VENDOR, 0)?.value;
        Vendor::from_signature(leaf0.ebx, leaf0.ecx, leaf0.edx)
    }

    fn apply_fill(
        &self,
        fill: Fill,
        out: &mut CpuidResult,
        subleaf: u32,
        apic_id: u32,
        guest: GuestView,
    ) {
        use bits::{cr4, leaf1_ebx, leaf1_ecx, leaf7_ecx};
        match fill {
            Fill::InitialApicId => {
                out.ebx =
                    (out.ebx & !leaf1_ebx::APIC_ID_MASK) | (apic_id << leaf1_ebx::APIC_ID_SHIFT);
            }
            Fill::X2apicId | Fill::ExtendedApicId => {
                *out.get_mut(fill.register()) = apic_id;
            }
            Fill::LevelNumber => out.ecx = (out.ecx & !0xFF) | (subleaf & 0xFF),
            Fill::CoreId => out.ebx = (out.ebx & !0xFF) | (apic_id & 0xFF),
            Fill::Osxsave => set_bit(
                &mut out.ecx,
                leaf1_ecx::OSXSAVE,
                guest.cr4 & cr4::OSXSAVE != 0,
            ),
            Fill::Ospke => set_bit(&mut out.ecx, leaf7_ecx::OSPKE, guest.cr4 & cr4::PKE != 0),
            Fill::XsaveStandardSize => out.ebx = self.xsave_standard_size(guest.xcr0),
            Fill::XsaveCompactedSize => out.ebx = self.xsave_compacted_size(guest.xcr0),
        }
    }

    /// Standard-format size: the end of the furthest enabled component (SDM Vol. 1,
    /// 13.4.3).
    fn xsave_standard_size(&self, xcr0: u64) -> u32 {
        self.xsave
            .iter()
            .filter(|c| xcr0 & (1u64 << c.index) != 0)
            .map(|c| c.offset.saturating_add(c.size))
            .fold(XSAVE_BASE_SIZE, u32::max)
    }

    /// Compacted-format size: enabled components packed in index order, those that ask
    /// for it aligned to 64 bytes (SDM Vol. 1, 13.4.3).
    fn xsave_compacted_size(&self, xcr0: u64) -> u32 {
        self.xsave
            .iter()
            .filter(|c| xcr0 & (1u64 << c.index) != 0)
            .fold(XSAVE_BASE_SIZE, |end, c| {
                let start = if c.align64 {
                    end.saturating_add(63) & !63
                } else {
                    end
                };
                start.saturating_add(c.size)
            })
    }

    /// The user state components 2..=63 of the final table, for the size fills.
    fn xsave_layout(&self) -> Vec<XsaveComponent> {
        (2..64u32)
            .filter_map(|index| {
                let entry = self.find_exact(bits::leaf::XSAVE, index)?;
                let v = entry.value;
                (v.eax != 0 && v.ecx & 1 == 0).then_some(XsaveComponent {
                    index,
                    size: v.eax,
                    offset: v.ebx,
                    align64: v.ecx & 2 != 0,
                })
            })
            .collect()
    }

    fn sort(&mut self) {
        self.entries.sort_by_key(Entry::key);
        self.entries.dedup_by_key(|e| e.key());
    }

    fn position(&self, leaf: u32, subleaf: Subleaf) -> Result<usize, usize> {
        self.entries
            .binary_search_by_key(&(leaf, subleaf), Entry::key)
    }

    fn find_exact(&self, leaf: u32, subleaf: u32) -> Option<&Entry> {
        let i = self.position(leaf, Subleaf::Exact(subleaf)).ok()?;
        self.entries.get(i)
    }

    /// The entry answering (leaf, subleaf): the exact one, else the leaf's catch-all.
    fn find(&self, leaf: u32, subleaf: u32) -> Option<&Entry> {
        self.find_exact(leaf, subleaf).or_else(|| {
            let i = self.position(leaf, Subleaf::Any).ok()?;
            self.entries.get(i)
        })
    }

    /// Index of the entry (leaf, subleaf) answers from, creating an exact entry (from the
    /// catch-all's value, or zeros) when `create` and there is none.
    fn resolve(&mut self, leaf: u32, subleaf: u32, create: bool) -> Option<usize> {
        if let Ok(i) = self.position(leaf, Subleaf::Exact(subleaf)) {
            return Some(i);
        }
        if let Ok(i) = self.position(leaf, Subleaf::Any) {
            return Some(i);
        }
        if !create {
            return None;
        }
        self.insert(Entry::new(leaf, Subleaf::Exact(subleaf), CpuidResult::ZERO))
    }

    fn insert(&mut self, entry: Entry) -> Option<usize> {
        match self.position(entry.leaf, entry.subleaf) {
            Ok(i) => Some(i),
            Err(i) => {
                self.entries.insert(i, entry);
                Some(i)
            }
        }
    }

    /// Leaf values, then forced bits, then hidden bits (the order `CpuidPolicy`
    /// documents).
    fn apply_overrides(&mut self, policy: &CpuidPolicy) {
        for over in &policy.leaves {
            self.apply_leaf_override(over);
        }
        for bit in &policy.force {
            if let Some(entry) = self
                .resolve(bit.leaf, bit.subleaf, true)
                .and_then(|i| self.entries.get_mut(i))
            {
                let mask = bit_mask(bit);
                *entry.value.get_mut(bit.register) |= mask;
                *entry.force.get_mut(bit.register) |= mask;
                *entry.hide.get_mut(bit.register) &= !mask;
            }
        }
        for bit in &policy.hide {
            if let Some(entry) = self
                .resolve(bit.leaf, bit.subleaf, false)
                .and_then(|i| self.entries.get_mut(i))
            {
                let mask = bit_mask(bit);
                *entry.value.get_mut(bit.register) &= !mask;
                *entry.hide.get_mut(bit.register) |= mask;
                *entry.force.get_mut(bit.register) &= !mask;
            }
        }
    }

    fn apply_leaf_override(&mut self, over: &CpuidLeaf) {
        let targets: Vec<usize> = match over.subleaf {
            Some(subleaf) => {
                // A subleaf override of a leaf answered by a catch-all splits that
                // subleaf off, so the other subleaves keep the policy's answer.
                let existing = self.position(over.leaf, Subleaf::Exact(subleaf)).ok();
                let index = existing.or_else(|| {
                    let base = self
                        .position(over.leaf, Subleaf::Any)
                        .ok()
                        .and_then(|i| self.entries.get(i))
                        .map(|e| {
                            let mut split = e.clone();
                            split.subleaf = Subleaf::Exact(subleaf);
                            split
                        })
                        .unwrap_or_else(|| {
                            Entry::new(over.leaf, Subleaf::Exact(subleaf), CpuidResult::ZERO)
                        });
                    self.insert(base)
                });
                index.into_iter().collect()
            }
            None => {
                let all: Vec<usize> = (0..self.entries.len())
                    .filter(|&i| self.entries.get(i).is_some_and(|e| e.leaf == over.leaf))
                    .collect();
                if all.is_empty() {
                    self.insert(Entry::new(over.leaf, Subleaf::Any, CpuidResult::ZERO))
                        .into_iter()
                        .collect()
                } else {
                    all
                }
            }
        };
        let registers = [
            (Register::Eax, over.eax),
            (Register::Ebx, over.ebx),
            (Register::Ecx, over.ecx),
            (Register::Edx, over.edx),
        ];
        for i in targets {
            let Some(entry) = self.entries.get_mut(i) else {
                continue;
            };
            for (register, value) in registers {
                if let Some(value) = value {
                    *entry.value.get_mut(register) = value;
                    entry.fills.retain(|f| f.register() != register);
                }
            }
        }
    }
}

fn bit_mask(bit: &FeatureBit) -> u32 {
    1u32.checked_shl(u32::from(bit.bit)).unwrap_or(0)
}

fn set_bit(register: &mut u32, mask: u32, on: bool) {
    if on {
        *register |= mask;
    } else {
        *register &= !mask;
    }
}
