#![allow(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unwrap_used,
    clippy::panic
)]

use alloc::vec;
use alloc::vec::Vec;

use bulkhead_config::{CpuidLeaf, CpuidPolicy, FeatureBit, Register};

use super::hosts::{epyc_7713, xeon_8380};
use super::{Clocks, CpuidResult, CpuidTable, GuestView, SIGNATURE, Topology};
use crate::policy::Vendor;

fn table(host: fn(u32, u32) -> CpuidResult, vcpus: usize) -> CpuidTable {
    CpuidTable::build(
        &host,
        &CpuidPolicy::default(),
        &Topology::sequential(vcpus),
        Clocks::default(),
    )
}

fn ask(table: &CpuidTable, leaf: u32, subleaf: u32) -> CpuidResult {
    table.lookup(leaf, subleaf, 0, GuestView::RESET)
}

fn feature(name: &str) -> FeatureBit {
    FeatureBit::from_name(name).unwrap()
}

fn has(table: &CpuidTable, name: &str) -> bool {
    let bit = feature(name);
    ask(table, bit.leaf, bit.subleaf).get(bit.register) & (1 << bit.bit) != 0
}

/// Leaf 1 ECX[31] tells the guest it runs under a hypervisor, on either vendor.
#[test]
fn hypervisor_bit_is_set() {
    for host in [epyc_7713 as fn(u32, u32) -> CpuidResult, xeon_8380] {
        assert!(has(&table(host, 1), "hypervisor"));
    }
}

/// SVM (0x8000_0001 ECX[2]) and VMX (leaf 1 ECX[5]) are hidden, and the SVM feature leaf
/// 0x8000_000A reads as zeros: no nested virtualization.
#[test]
fn virtualization_extensions_are_hidden() {
    let amd = table(epyc_7713, 1);
    assert!(
        epyc_7713(0x8000_0001, 0).ecx & (1 << 2) != 0,
        "the fake host has SVM"
    );
    assert!(!has(&amd, "svm"));
    assert_eq!(ask(&amd, 0x8000_000A, 0), CpuidResult::ZERO);
    let intel = table(xeon_8380, 1);
    assert!(xeon_8380(1, 0).ecx & (1 << 5) != 0, "the fake host has VMX");
    assert!(!has(&intel, "vmx"));
}

/// Leaf 0x4000_0000: the highest hypervisor leaf in EAX, the signature in EBX, ECX, EDX.
#[test]
fn hypervisor_signature_leaf() {
    let t = table(epyc_7713, 1);
    let v = ask(&t, 0x4000_0000, 0);
    assert_eq!(v.eax, 0x4000_0010);
    let mut text = Vec::new();
    for word in [v.ebx, v.ecx, v.edx] {
        text.extend_from_slice(&word.to_le_bytes());
    }
    assert_eq!(text, SIGNATURE);
    assert_eq!(&text[..10], b"BulkheadHV");
    // Leaves between the vendor and timing leaves are zeros.
    assert_eq!(ask(&t, 0x4000_0001, 0), CpuidResult::ZERO);
    assert_eq!(ask(&t, 0x4000_0011, 0), CpuidResult::ZERO);
}

/// Leaf 0x4000_0010 carries the TSC and APIC timer rates in kHz, zeros when unknown.
#[test]
fn timing_leaf_reports_clocks() {
    assert_eq!(ask(&table(xeon_8380, 1), 0x4000_0010, 0), CpuidResult::ZERO);
    let clocks = Clocks {
        tsc_khz: Some(2_300_000),
        apic_timer_khz: Some(25_000),
    };
    let t = CpuidTable::build(
        &xeon_8380,
        &CpuidPolicy::default(),
        &Topology::sequential(1),
        clocks,
    );
    let v = ask(&t, 0x4000_0010, 0);
    assert_eq!((v.eax, v.ebx), (2_300_000, 25_000));
}

/// Leaf 0x15 is synthesized so that Linux's computation (crystal kHz = ECX / 1000,
/// TSC = crystal * EBX / EAX) gives the TSC rate exactly and the crystal is the APIC
/// timer clock; leaf 0x16 reports the TSC rate in MHz. Without clocks both are zeros,
/// not the host's.
#[test]
fn tsc_leaves_follow_partition_clocks() {
    let unknown = table(xeon_8380, 1);
    assert_eq!(ask(&unknown, 0x15, 0), CpuidResult::ZERO);
    assert_eq!(ask(&unknown, 0x16, 0), CpuidResult::ZERO);

    let clocks = Clocks {
        tsc_khz: Some(2_294_687),
        apic_timer_khz: Some(25_000),
    };
    let t = CpuidTable::build(
        &xeon_8380,
        &CpuidPolicy::default(),
        &Topology::sequential(1),
        clocks,
    );
    let l15 = ask(&t, 0x15, 0);
    let crystal_khz = u64::from(l15.ecx / 1000);
    assert_eq!(crystal_khz, 25_000);
    assert_eq!(
        crystal_khz * u64::from(l15.ebx) / u64::from(l15.eax),
        2_294_687
    );
    let l16 = ask(&t, 0x16, 0);
    assert_eq!((l16.eax, l16.ebx, l16.ecx), (2294, 2294, 25));
}

/// Leaf 1 EBX[23:16] counts the partition's vCPUs, HTT is set only with more than one,
/// and each vCPU sees its own APIC ID in EBX[31:24] (never the host core's, 0x12).
#[test]
fn leaf1_topology_for_1_2_4_vcpus() {
    for host in [epyc_7713 as fn(u32, u32) -> CpuidResult, xeon_8380] {
        for n in [1usize, 2, 4] {
            let t = table(host, n);
            for vcpu in 0..n {
                let v = t.lookup(1, 0, vcpu, GuestView::RESET);
                assert_eq!((v.ebx >> 16) & 0xFF, n as u32, "{n} vCPUs");
                assert_eq!(v.ebx >> 24, vcpu as u32, "APIC ID of vCPU {vcpu}");
                assert_eq!(v.ebx & 0xFFFF, host(1, 0).ebx & 0xFFFF, "CLFLUSH size kept");
                assert_eq!(v.edx & (1 << 28) != 0, n > 1, "HTT with {n} vCPUs");
            }
        }
    }
}

/// Leaves 0xB and 0x1F: subleaf 0 is the SMT level with one thread, subleaf 1 the core
/// level with all vCPUs and a shift wide enough for every APIC ID, later subleaves are
/// invalid levels echoing the subleaf; EDX is the vCPU's x2APIC ID throughout.
#[test]
fn extended_topology_leaf_per_vcpu() {
    for (n, shift) in [(1usize, 0u32), (2, 1), (4, 2)] {
        let t = table(xeon_8380, n);
        for vcpu in 0..n {
            let id = vcpu as u32;
            let smt = t.lookup(0xB, 0, vcpu, GuestView::RESET);
            assert_eq!(smt, CpuidResult::new(0, 1, 0x100, id));
            let core = t.lookup(0xB, 1, vcpu, GuestView::RESET);
            assert_eq!(core, CpuidResult::new(shift, n as u32, 0x201, id));
            let invalid = t.lookup(0xB, 5, vcpu, GuestView::RESET);
            assert_eq!(invalid, CpuidResult::new(0, 0, 5, id));
        }
        // The host's maximum basic leaf is 0x1B: no leaf 0x1F.
        assert_eq!(ask(&t, 0x1F, 0), CpuidResult::ZERO);
    }
}

/// Leaf 4 reports core counts and L3 sharing for the partition, L1/L2 private; on AMD
/// 0x8000_0008 ECX and 0x8000_001D agree, and 0x8000_001E gives each vCPU its own ID.
#[test]
fn cache_and_core_counts_are_consistent() {
    let intel = table(xeon_8380, 4);
    for (subleaf, sharing) in [(0, 0), (1, 0), (2, 0), (3, 3)] {
        let eax = ask(&intel, 4, subleaf).eax;
        assert_eq!(eax >> 26, 3, "cores - 1 in subleaf {subleaf}");
        assert_eq!((eax >> 14) & 0xFFF, sharing, "sharing in subleaf {subleaf}");
        assert_eq!(eax & 0x3FFF, xeon_8380(4, subleaf).eax & 0x3FFF);
    }
    assert_eq!(ask(&intel, 4, 4), CpuidResult::ZERO);

    let amd = table(epyc_7713, 4);
    let ecx = ask(&amd, 0x8000_0008, 0).ecx;
    assert_eq!(ecx & 0xFF, 3, "NC = cores - 1");
    assert_eq!((ecx >> 12) & 0xF, 2, "APIC ID core bits");
    assert_eq!(
        (ask(&amd, 0x8000_001D, 3).eax >> 14) & 0xFFF,
        3,
        "L3 shared by 4"
    );
    assert_eq!(
        (ask(&amd, 0x8000_001D, 0).eax >> 14) & 0xFFF,
        0,
        "L1D private"
    );
    assert_eq!(ask(&amd, 0x8000_001D, 4), CpuidResult::ZERO);
    for vcpu in 0..4 {
        let v = amd.lookup(0x8000_001E, 0, vcpu, GuestView::RESET);
        assert_eq!(v, CpuidResult::new(vcpu as u32, vcpu as u32, 0, 0));
    }
    // CmpLegacy follows the vCPU count on AMD.
    assert!(ask(&amd, 0x8000_0001, 0).ecx & 0b10 != 0);
    assert!(ask(&table(epyc_7713, 1), 0x8000_0001, 0).ecx & 0b10 == 0);
}

/// A partition whose APIC IDs are not 0..n still reports every ID as addressable.
#[test]
fn sparse_apic_ids_widen_the_core_field() {
    let t = CpuidTable::build(
        &xeon_8380,
        &CpuidPolicy::default(),
        &Topology::new(vec![0, 5]),
        Clocks::default(),
    );
    assert_eq!(t.lookup(1, 0, 1, GuestView::RESET).ebx >> 24, 5);
    assert_eq!((ask(&t, 1, 0).ebx >> 16) & 0xFF, 8);
    assert_eq!(ask(&t, 0xB, 1).eax, 3);
    assert_eq!(ask(&t, 0xB, 1).ebx, 2);
}

/// The leaf ranges are capped: the basic maximum is the host's (below the cap), the
/// extended maximum is capped at 0x8000_0021, and leaves past either read as zeros even
/// where the Intel host repeats its highest basic leaf.
#[test]
fn leaf_ranges_are_capped_and_unknown_leaves_are_zero() {
    let intel = table(xeon_8380, 1);
    assert_eq!(ask(&intel, 0, 0).eax, 0x1B);
    assert_eq!(ask(&intel, 0x8000_0000, 0).eax, 0x8000_0008);
    assert_ne!(xeon_8380(0x25, 0), CpuidResult::ZERO);
    assert_eq!(ask(&intel, 0x25, 0), CpuidResult::ZERO);
    assert_eq!(ask(&intel, 0x8000_0009, 0), CpuidResult::ZERO);
    assert_eq!(intel.vendor(), Some(Vendor::Intel));

    let amd = table(epyc_7713, 1);
    assert_eq!(ask(&amd, 0x8000_0000, 0).eax, 0x8000_0021);
    assert_eq!(ask(&amd, 0x8000_0022, 0), CpuidResult::ZERO);
    assert_eq!(ask(&amd, 0x8000_0023, 0), CpuidResult::ZERO);
    assert_eq!(ask(&amd, 0xC000_0000, 0), CpuidResult::ZERO);
    assert_eq!(amd.vendor(), Some(Vendor::Amd));
    // The vendor strings and brand string pass through.
    assert_eq!(ask(&amd, 0, 0).ebx, 0x6874_7541);
    assert_eq!(ask(&amd, 0x8000_0002, 0), epyc_7713(0x8000_0002, 0));
}

/// Features whose state or MSRs the hypervisor does not virtualize are hidden on Intel.
#[test]
fn intel_hidden_features() {
    let t = table(xeon_8380, 1);
    for name in [
        "x2apic",
        "monitor",
        "pdcm",
        "tsc_adjust",
        "la57",
        "rdpid",
        "rdtscp",
        "spec_ctrl",
        "stibp",
        "flush_l1d",
        "arch_capabilities",
        "ssbd",
        "xsaves",
        "waitpkg",
        "ht",
    ] {
        assert!(!has(&t, name), "{name} must be hidden");
    }
    for name in [
        "tsc_deadline_timer",
        "pcid",
        "invpcid",
        "avx512f",
        "xsave",
        "md_clear",
        "nx",
        "lm",
    ] {
        assert!(has(&t, name), "{name} must be kept");
    }
    let leaf7 = ask(&t, 7, 0);
    assert_eq!(leaf7.ebx & (1 << 2), 0, "SGX");
    assert_eq!(leaf7.ebx & (1 << 25), 0, "processor trace");
    assert_eq!(leaf7.ebx & (1 << 12 | 1 << 15), 0, "RDT");
    assert_eq!(leaf7.ebx & (1 << 14), 0, "MPX");
    assert_eq!(leaf7.eax, 1, "subleaf count");
    assert_eq!(ask(&t, 7, 1).eax & (1 << 26), 0, "LAM");
    assert_eq!(ask(&t, 7, 1).eax & 0x30, 0x30, "AVX-VNNI, AVX512_BF16 kept");
    for leaf in [
        3, 5, 9, 0xA, 0xF, 0x10, 0x12, 0x14, 0x17, 0x19, 0x1A, 0x1B, 0x1C,
    ] {
        assert_eq!(ask(&t, leaf, 0), CpuidResult::ZERO, "leaf {leaf:#x}");
    }
    assert_eq!(
        ask(&t, 6, 0),
        CpuidResult::new(1 << 2, 0, 0, 0),
        "leaf 6 = ARAT only"
    );
    // XSAVE: the processor-trace component (supervisor) is gone, user ones stay.
    assert_eq!(ask(&t, 0xD, 8), CpuidResult::ZERO);
    assert_eq!(ask(&t, 0xD, 5), xeon_8380(0xD, 5));
    let d1 = ask(&t, 0xD, 1);
    assert_eq!((d1.eax, d1.ecx, d1.edx), (0x7, 0, 0));
    // TLB parameters are copied with the sharing field cleared.
    assert_eq!(ask(&t, 0x18, 1).edx, 0x0022);
}

/// Features hidden on AMD: performance counters, IBS, memory encryption, MCA and power
/// management extensions, INVLPGB; invariant TSC is kept.
#[test]
fn amd_hidden_features() {
    let t = table(epyc_7713, 1);
    let e1 = ask(&t, 0x8000_0001, 0);
    for bit in [2, 3, 10, 12, 13, 17, 23, 24, 26, 28, 29, 30] {
        assert_eq!(e1.ecx & (1 << bit), 0, "0x8000_0001 ECX[{bit}]");
    }
    assert_ne!(e1.ecx & (1 << 22), 0, "topology extensions kept");
    assert_eq!(e1.edx & (1 << 25 | 1 << 27), 0, "FFXSR, RDTSCP");
    assert_ne!(e1.edx & (1 << 26), 0, "1 GiB pages kept");
    assert_eq!(ask(&t, 0x8000_0007, 0), CpuidResult::new(0, 0, 0, 1 << 8));
    let e8 = ask(&t, 0x8000_0008, 0);
    assert_eq!(e8.eax, 0x3030);
    assert_eq!(e8.ebx & (1 << 3 | 1 << 12 | 1 << 14 | 1 << 24), 0);
    assert_ne!(e8.ebx & 1, 0, "CLZERO kept");
    assert_eq!(e8.edx, 0);
    for leaf in [0x8000_001B, 0x8000_001C, 0x8000_001F, 0x8000_0020] {
        assert_eq!(ask(&t, leaf, 0), CpuidResult::ZERO, "leaf {leaf:#x}");
    }
    assert_eq!(ask(&t, 0x8000_0021, 0).eax & (1 << 8 | 1 << 17), 0);
    assert_eq!(ask(&t, 5, 0), CpuidResult::ZERO);
    assert!(!has(&t, "x2apic"));
    assert!(!has(&t, "monitor"));
    assert!(!has(&t, "rdpid"));
}

/// OSXSAVE and OSPKE mirror the guest's CR4, not the host's.
#[test]
fn os_bits_follow_guest_cr4() {
    let t = table(xeon_8380, 1);
    assert_eq!(ask(&t, 1, 0).ecx & (1 << 27), 0);
    assert_eq!(ask(&t, 7, 0).ecx & (1 << 4), 0);
    let guest = GuestView {
        cr4: 1 << 18 | 1 << 22,
        xcr0: 0x7,
    };
    assert_ne!(t.lookup(1, 0, 0, guest).ecx & (1 << 27), 0);
    assert_ne!(t.lookup(7, 0, 0, guest).ecx & (1 << 4), 0);
}

/// Leaf 0xD EBX is the XSAVE area size for the components the guest's XCR0 enables
/// (standard format in subleaf 0, compacted in subleaf 1), whatever the host's XCR0.
#[test]
fn xsave_size_follows_guest_xcr0() {
    let t = table(xeon_8380, 1);
    let size = |xcr0, subleaf| t.lookup(0xD, subleaf, 0, GuestView { cr4: 0, xcr0 }).ebx;
    assert_eq!(size(0x3, 0), 576);
    assert_eq!(size(0x7, 0), 0x340);
    assert_eq!(size(0xE7, 0), 0xA80);
    assert_eq!(size(0x2E7, 0), 0xA88);
    assert_eq!(size(0x7, 1), 576 + 0x100);
    assert_eq!(size(0x207, 1), 576 + 0x100 + 8);
    // Components the host lacks add nothing.
    assert_eq!(size(1 << 40 | 0x3, 0), 576);
    assert_eq!(ask(&t, 0xD, 0).eax, 0x2E7);
}

/// Overrides come last: a leaf value replaces the policy's answer (per-vCPU fields
/// included), forced bits beat the policy's hiding, hidden bits beat forced ones.
#[test]
fn overrides_are_applied_last() {
    let policy = CpuidPolicy {
        hide: vec![feature("avx2"), feature("sse4a")],
        force: vec![feature("svm"), feature("x2apic"), feature("sse4a")],
        leaves: vec![
            CpuidLeaf {
                leaf: 1,
                subleaf: None,
                eax: None,
                ebx: Some(0xAABB_CCDD),
                ecx: None,
                edx: None,
            },
            CpuidLeaf {
                leaf: 0x4000_0000,
                subleaf: None,
                eax: Some(0x4000_0001),
                ebx: None,
                ecx: None,
                edx: None,
            },
        ],
    };
    let t = CpuidTable::build(
        &epyc_7713,
        &policy,
        &Topology::sequential(2),
        Clocks::default(),
    );
    assert!(has(&t, "svm"), "forced over the policy's hiding");
    assert!(has(&t, "x2apic"));
    assert!(!has(&t, "avx2"));
    assert!(!has(&t, "sse4a"), "hidden wins over forced");
    for vcpu in 0..2 {
        assert_eq!(t.lookup(1, 0, vcpu, GuestView::RESET).ebx, 0xAABB_CCDD);
    }
    let hv = ask(&t, 0x4000_0000, 0);
    assert_eq!(hv.eax, 0x4000_0001);
    assert_eq!(
        hv.ebx.to_le_bytes(),
        *b"Bulk",
        "registers not overridden keep the policy's value"
    );
}

/// A subleaf override changes that subleaf only; a forced bit on a missing leaf creates
/// it; a hidden bit also masks a per-vCPU field.
#[test]
fn subleaf_overrides_and_new_leaves() {
    let policy = CpuidPolicy {
        hide: vec![FeatureBit {
            leaf: 0xB,
            subleaf: 0,
            register: Register::Edx,
            bit: 0,
        }],
        force: vec![FeatureBit {
            leaf: 0x4000_0005,
            subleaf: 0,
            register: Register::Eax,
            bit: 3,
        }],
        leaves: vec![CpuidLeaf {
            leaf: 0xB,
            subleaf: Some(7),
            eax: Some(0x55),
            ebx: None,
            ecx: None,
            edx: None,
        }],
    };
    let t = CpuidTable::build(
        &xeon_8380,
        &policy,
        &Topology::sequential(2),
        Clocks::default(),
    );
    let seven = t.lookup(0xB, 7, 1, GuestView::RESET);
    assert_eq!(
        seven,
        CpuidResult::new(0x55, 0, 7, 1),
        "split off the catch-all, fills kept"
    );
    assert_eq!(
        t.lookup(0xB, 6, 1, GuestView::RESET),
        CpuidResult::new(0, 0, 6, 1)
    );
    assert_eq!(ask(&t, 0x4000_0005, 0).eax, 1 << 3);
    assert_eq!(
        t.lookup(0xB, 0, 1, GuestView::RESET).edx,
        0,
        "x2APIC ID bit 0 hidden"
    );
    assert_eq!(t.lookup(0xB, 1, 1, GuestView::RESET).edx, 1);
}

/// A vCPU index past the partition's answers APIC ID 0 instead of panicking.
#[test]
fn unknown_vcpu_index_is_contained() {
    let t = table(epyc_7713, 2);
    assert_eq!(t.lookup(1, 0, 99, GuestView::RESET).ebx >> 24, 0);
}

/// Whatever a host answers (maximum leaves of 0xFFFF_FFFF, endless subleaf lists) and
/// whatever the overrides say, building and looking up terminate without panicking.
#[test]
fn arbitrary_hosts_never_panic() {
    let mut seed = 0x1234_5678_9ABC_DEF0u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..40u64 {
        let salt = next();
        let host = move |leaf: u32, subleaf: u32| {
            let mix = |k: u64| {
                let x = (u64::from(leaf) << 32 | u64::from(subleaf)) ^ salt ^ k;
                (x.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 29) as u32
            };
            match leaf {
                0 => CpuidResult::new(u32::MAX, mix(1), mix(2), mix(3)),
                0x8000_0000 => CpuidResult::new(0x8000_FFFF, 0, 0, 0),
                _ => CpuidResult::new(mix(4), mix(5), mix(6), mix(7)),
            }
        };
        let policy = CpuidPolicy {
            hide: vec![FeatureBit {
                leaf: next() as u32,
                subleaf: 0,
                register: Register::Ecx,
                bit: 31,
            }],
            force: vec![FeatureBit {
                leaf: 0xB,
                subleaf: next() as u32,
                register: Register::Edx,
                bit: (next() % 32) as u8,
            }],
            leaves: vec![CpuidLeaf {
                leaf: (next() % 0x30) as u32,
                subleaf: (round % 2 == 0).then(|| next() as u32),
                eax: Some(next() as u32),
                ebx: None,
                ecx: None,
                edx: Some(1),
            }],
        };
        let t = CpuidTable::build(
            &host,
            &policy,
            &Topology::sequential((round % 7) as usize),
            Clocks::default(),
        );
        for _ in 0..64 {
            let guest = GuestView {
                cr4: next(),
                xcr0: next(),
            };
            let _ = t.lookup(
                next() as u32 % 0x40,
                next() as u32 % 80,
                (next() % 9) as usize,
                guest,
            );
            let _ = t.lookup(next() as u32, next() as u32, next() as usize, guest);
        }
    }
}
