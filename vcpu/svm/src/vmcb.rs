//! The Virtual Machine Control Block (AMD64 APM Vol. 2, Appendix B, "Layout of
//! VMCB"): a 4 KiB page with the control area at 0x000 and the state-save area
//! at 0x400. Every field's offset is checked at compile time against the
//! tables in the manual.

use core::mem::offset_of;

/// A segment register as the VMCB stores it (APM Vol. 2, Table B-2).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VmcbSegment {
    /// Selector.
    pub selector: u16,
    /// Attributes, packed: type[3:0], S[4], DPL[6:5], P[7], AVL[8], L[9], D/B[10], G[11].
    pub attributes: u16,
    /// Limit in bytes (expanded, not the descriptor's raw 20 bits).
    pub limit: u32,
    /// Base address.
    pub base: u64,
}

/// The control area (APM Vol. 2, Table B-1).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ControlArea {
    /// Bits 15:0 intercept CR0–15 reads, bits 31:16 writes.
    pub intercept_cr: u32,
    /// Bits 15:0 intercept DR0–15 reads, bits 31:16 writes.
    pub intercept_dr: u32,
    /// One bit per exception vector.
    pub intercept_exceptions: u32,
    /// [`Intercept1`] bits.
    pub intercept_misc1: u32,
    /// [`Intercept2`] bits.
    pub intercept_misc2: u32,
    /// Intercept vector 5 (INVLPGB, ...); left zero.
    pub intercept_misc3: u32,
    reserved_018: [u8; 0x03C - 0x018],
    /// PAUSE filter threshold.
    pub pause_filter_threshold: u16,
    /// PAUSE filter count.
    pub pause_filter_count: u16,
    /// Physical address of the I/O permission map (12 KiB, 4 KiB aligned).
    pub iopm_base_pa: u64,
    /// Physical address of the MSR permission map (8 KiB, 4 KiB aligned).
    pub msrpm_base_pa: u64,
    /// Added to the host TSC while the guest runs.
    pub tsc_offset: u64,
    /// Guest ASID (nonzero).
    pub guest_asid: u32,
    /// TLB control: 0 nothing, 1 flush all, 3 flush this guest's ASID, 7 non-global.
    pub tlb_control: u8,
    reserved_05d: [u8; 3],
    /// [`VIntr`] bits: V_TPR, V_IRQ, V_INTR_PRIO, V_IGN_TPR, V_INTR_MASKING, V_INTR_VECTOR.
    pub v_intr: u64,
    /// Bit 0: the guest is in an interrupt shadow; bit 1: guest RFLAGS.IF (read-only).
    pub interrupt_shadow: u64,
    /// Why the guest exited (APM Vol. 2, Appendix C).
    pub exit_code: u64,
    /// Exit-specific information.
    pub exit_info1: u64,
    /// Exit-specific information.
    pub exit_info2: u64,
    /// An event that was being delivered when the exit happened (same format as `event_inj`).
    pub exit_int_info: u64,
    /// Bit 0 enables nested paging.
    pub np_enable: u64,
    /// AVIC APIC backing page; unused.
    pub avic_apic_bar: u64,
    /// SEV-ES GHCB; unused.
    pub ghcb_pa: u64,
    /// An event to inject on the next VMRUN (APM Vol. 2, 15.20).
    pub event_inj: u64,
    /// Nested page table root.
    pub n_cr3: u64,
    /// Bit 0 LBR virtualization, bit 1 virtualized VMLOAD/VMSAVE.
    pub lbr_virtualization: u64,
    /// Clean bits: which state the CPU may keep cached. Always 0 here: QEMU's TCG
    /// does not implement them, and 0 is correct (if slower) everywhere.
    pub vmcb_clean: u32,
    reserved_0c4: u32,
    /// The RIP of the next instruction, when the CPU has nRIP save.
    pub next_rip: u64,
    /// Bytes of the faulting instruction the CPU fetched (decode assists).
    pub guest_instruction_len: u8,
    /// The fetched bytes.
    pub guest_instruction_bytes: [u8; 15],
    reserved_0e0: [u8; 0x400 - 0x0E0],
}

/// The state-save area (APM Vol. 2, Table B-2).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct SaveArea {
    /// ES.
    pub es: VmcbSegment,
    /// CS.
    pub cs: VmcbSegment,
    /// SS.
    pub ss: VmcbSegment,
    /// DS.
    pub ds: VmcbSegment,
    /// FS (VMLOAD/VMSAVE state).
    pub fs: VmcbSegment,
    /// GS (VMLOAD/VMSAVE state).
    pub gs: VmcbSegment,
    /// GDTR: only base and limit are used.
    pub gdtr: VmcbSegment,
    /// LDTR (VMLOAD/VMSAVE state).
    pub ldtr: VmcbSegment,
    /// IDTR: only base and limit are used.
    pub idtr: VmcbSegment,
    /// TR (VMLOAD/VMSAVE state).
    pub tr: VmcbSegment,
    reserved_4a0: [u8; 0x4CB - 0x4A0],
    /// Current privilege level; must equal SS.DPL.
    pub cpl: u8,
    reserved_4cc: u32,
    /// Guest EFER (SVME must be set).
    pub efer: u64,
    reserved_4d8: [u8; 0x548 - 0x4D8],
    /// CR4.
    pub cr4: u64,
    /// CR3.
    pub cr3: u64,
    /// CR0.
    pub cr0: u64,
    /// DR7.
    pub dr7: u64,
    /// DR6.
    pub dr6: u64,
    /// RFLAGS.
    pub rflags: u64,
    /// RIP.
    pub rip: u64,
    reserved_580: [u8; 0x5D8 - 0x580],
    /// RSP.
    pub rsp: u64,
    /// Shadow-stack state; unused.
    pub s_cet: u64,
    /// Shadow-stack state; unused.
    pub ssp: u64,
    /// Shadow-stack state; unused.
    pub isst_addr: u64,
    /// RAX.
    pub rax: u64,
    /// STAR (VMLOAD/VMSAVE state).
    pub star: u64,
    /// LSTAR (VMLOAD/VMSAVE state).
    pub lstar: u64,
    /// CSTAR (VMLOAD/VMSAVE state).
    pub cstar: u64,
    /// SFMASK (VMLOAD/VMSAVE state).
    pub sfmask: u64,
    /// KernelGSBase (VMLOAD/VMSAVE state).
    pub kernel_gs_base: u64,
    /// SYSENTER_CS (VMLOAD/VMSAVE state).
    pub sysenter_cs: u64,
    /// SYSENTER_ESP (VMLOAD/VMSAVE state).
    pub sysenter_esp: u64,
    /// SYSENTER_EIP (VMLOAD/VMSAVE state).
    pub sysenter_eip: u64,
    /// CR2.
    pub cr2: u64,
    reserved_648: [u8; 0x668 - 0x648],
    /// Guest PAT, used with nested paging.
    pub g_pat: u64,
    /// DebugCtl.
    pub dbgctl: u64,
    /// LBR state; unused.
    pub br_from: u64,
    /// LBR state; unused.
    pub br_to: u64,
    /// LBR state; unused.
    pub last_excp_from: u64,
    /// LBR state; unused.
    pub last_excp_to: u64,
    reserved_698: [u8; 0x1000 - 0x698 - 0x400],
}

/// A whole VMCB page.
#[repr(C, align(4096))]
#[derive(Clone, Copy, Debug)]
pub struct Vmcb {
    /// Offsets 0x000..0x400.
    pub control: ControlArea,
    /// Offsets 0x400..0x1000.
    pub save: SaveArea,
}

const _: () = {
    assert!(core::mem::size_of::<Vmcb>() == 4096);
    assert!(core::mem::size_of::<VmcbSegment>() == 16);
    assert!(offset_of!(ControlArea, intercept_misc1) == 0x00C);
    assert!(offset_of!(ControlArea, intercept_misc2) == 0x010);
    assert!(offset_of!(ControlArea, pause_filter_threshold) == 0x03C);
    assert!(offset_of!(ControlArea, iopm_base_pa) == 0x040);
    assert!(offset_of!(ControlArea, msrpm_base_pa) == 0x048);
    assert!(offset_of!(ControlArea, tsc_offset) == 0x050);
    assert!(offset_of!(ControlArea, guest_asid) == 0x058);
    assert!(offset_of!(ControlArea, tlb_control) == 0x05C);
    assert!(offset_of!(ControlArea, v_intr) == 0x060);
    assert!(offset_of!(ControlArea, interrupt_shadow) == 0x068);
    assert!(offset_of!(ControlArea, exit_code) == 0x070);
    assert!(offset_of!(ControlArea, exit_info1) == 0x078);
    assert!(offset_of!(ControlArea, exit_info2) == 0x080);
    assert!(offset_of!(ControlArea, exit_int_info) == 0x088);
    assert!(offset_of!(ControlArea, np_enable) == 0x090);
    assert!(offset_of!(ControlArea, event_inj) == 0x0A8);
    assert!(offset_of!(ControlArea, n_cr3) == 0x0B0);
    assert!(offset_of!(ControlArea, vmcb_clean) == 0x0C0);
    assert!(offset_of!(ControlArea, next_rip) == 0x0C8);
    assert!(offset_of!(ControlArea, guest_instruction_len) == 0x0D0);
    assert!(core::mem::size_of::<ControlArea>() == 0x400);
    assert!(offset_of!(SaveArea, cs) == 0x010);
    assert!(offset_of!(SaveArea, tr) == 0x090);
    assert!(offset_of!(SaveArea, cpl) == 0x0CB);
    assert!(offset_of!(SaveArea, efer) == 0x0D0);
    assert!(offset_of!(SaveArea, cr4) == 0x148);
    assert!(offset_of!(SaveArea, rflags) == 0x170);
    assert!(offset_of!(SaveArea, rip) == 0x178);
    assert!(offset_of!(SaveArea, rsp) == 0x1D8);
    assert!(offset_of!(SaveArea, rax) == 0x1F8);
    assert!(offset_of!(SaveArea, star) == 0x200);
    assert!(offset_of!(SaveArea, cr2) == 0x240);
    assert!(offset_of!(SaveArea, g_pat) == 0x268);
    assert!(offset_of!(SaveArea, last_excp_to) == 0x290);
    assert!(offset_of!(Vmcb, save) == 0x400);
};

/// Intercept vector 3 (control area offset 0x00C).
pub mod intercept1 {
    /// Physical maskable interrupts.
    pub const INTR: u32 = 1 << 0;
    /// Non-maskable interrupts.
    pub const NMI: u32 = 1 << 1;
    /// System-management interrupts.
    pub const SMI: u32 = 1 << 2;
    /// INIT signals.
    pub const INIT: u32 = 1 << 3;
    /// Virtual interrupt window: the guest can take a V_IRQ.
    pub const VINTR: u32 = 1 << 4;
    /// CPUID.
    pub const CPUID: u32 = 1 << 18;
    /// RSM.
    pub const RSM: u32 = 1 << 19;
    /// IRET (used to find the end of an NMI handler).
    pub const IRET: u32 = 1 << 20;
    /// INVD.
    pub const INVD: u32 = 1 << 22;
    /// HLT.
    pub const HLT: u32 = 1 << 24;
    /// INVLPGA.
    pub const INVLPGA: u32 = 1 << 26;
    /// IN/OUT/INS/OUTS, filtered by the I/O permission map.
    pub const IOIO_PROT: u32 = 1 << 27;
    /// RDMSR/WRMSR, filtered by the MSR permission map.
    pub const MSR_PROT: u32 = 1 << 28;
    /// Task switches.
    pub const TASK_SWITCH: u32 = 1 << 29;
    /// Shutdown (triple fault).
    pub const SHUTDOWN: u32 = 1 << 31;
}

/// Intercept vector 4 (control area offset 0x010).
pub mod intercept2 {
    /// VMRUN (must always be set, or VMRUN fails).
    pub const VMRUN: u32 = 1 << 0;
    /// VMMCALL: the hypercall instruction.
    pub const VMMCALL: u32 = 1 << 1;
    /// VMLOAD.
    pub const VMLOAD: u32 = 1 << 2;
    /// VMSAVE.
    pub const VMSAVE: u32 = 1 << 3;
    /// STGI.
    pub const STGI: u32 = 1 << 4;
    /// CLGI.
    pub const CLGI: u32 = 1 << 5;
    /// SKINIT.
    pub const SKINIT: u32 = 1 << 6;
    /// ICEBP.
    pub const ICEBP: u32 = 1 << 8;
    /// MONITOR.
    pub const MONITOR: u32 = 1 << 10;
    /// MWAIT.
    pub const MWAIT: u32 = 1 << 11;
    /// XSETBV.
    pub const XSETBV: u32 = 1 << 13;
}

/// Fields of `v_intr` (control area offset 0x060).
pub mod v_intr {
    /// Virtual TPR, bits 3:0.
    pub const TPR_MASK: u64 = 0xF;
    /// A virtual interrupt is pending.
    pub const V_IRQ: u64 = 1 << 8;
    /// Priority of the virtual interrupt, bits 19:16.
    pub const PRIO_SHIFT: u64 = 16;
    /// Ignore the virtual TPR for the pending interrupt.
    pub const IGN_TPR: u64 = 1 << 20;
    /// Virtualize interrupt masking: guest RFLAGS.IF masks only virtual interrupts,
    /// physical ones are governed by the host's.
    pub const INTR_MASKING: u64 = 1 << 24;
    /// The vector of the virtual interrupt, bits 39:32.
    pub const VECTOR_SHIFT: u64 = 32;
}

/// The event-injection format shared by `event_inj` and `exit_int_info`
/// (APM Vol. 2, 15.20, Figure 15-10).
pub mod event {
    /// Vector, bits 7:0.
    pub const VECTOR_MASK: u64 = 0xFF;
    /// Type, bits 10:8.
    pub const TYPE_SHIFT: u64 = 8;
    /// Type: external or virtual interrupt.
    pub const TYPE_INTR: u64 = 0;
    /// Type: NMI.
    pub const TYPE_NMI: u64 = 2;
    /// Type: exception (fault or trap).
    pub const TYPE_EXCEPTION: u64 = 3;
    /// Type: software interrupt (INTn).
    pub const TYPE_SOFT_INT: u64 = 4;
    /// The error code in bits 63:32 is valid.
    pub const ERROR_CODE_VALID: u64 = 1 << 11;
    /// The event is valid.
    pub const VALID: u64 = 1 << 31;
    /// The error code, bits 63:32.
    pub const ERROR_CODE_SHIFT: u64 = 32;
}

/// Exit codes (APM Vol. 2, Appendix C, Table C-1).
pub mod exit_code {
    /// Exception vector n exits at `EXCEPTION_BASE + n`.
    pub const EXCEPTION_BASE: u64 = 0x40;
    /// Physical INTR.
    pub const INTR: u64 = 0x60;
    /// Physical NMI.
    pub const NMI: u64 = 0x61;
    /// Physical SMI.
    pub const SMI: u64 = 0x62;
    /// Physical INIT.
    pub const INIT: u64 = 0x63;
    /// Virtual interrupt window.
    pub const VINTR: u64 = 0x64;
    /// CPUID.
    pub const CPUID: u64 = 0x72;
    /// RSM.
    pub const RSM: u64 = 0x73;
    /// IRET.
    pub const IRET: u64 = 0x74;
    /// INVD.
    pub const INVD: u64 = 0x76;
    /// PAUSE.
    pub const PAUSE: u64 = 0x77;
    /// HLT.
    pub const HLT: u64 = 0x78;
    /// INVLPGA.
    pub const INVLPGA: u64 = 0x7A;
    /// IN/OUT/INS/OUTS.
    pub const IOIO: u64 = 0x7B;
    /// RDMSR/WRMSR.
    pub const MSR: u64 = 0x7C;
    /// Task switch.
    pub const TASK_SWITCH: u64 = 0x7D;
    /// Shutdown: the guest triple-faulted.
    pub const SHUTDOWN: u64 = 0x7F;
    /// VMRUN.
    pub const VMRUN: u64 = 0x80;
    /// VMMCALL.
    pub const VMMCALL: u64 = 0x81;
    /// VMLOAD.
    pub const VMLOAD: u64 = 0x82;
    /// VMSAVE.
    pub const VMSAVE: u64 = 0x83;
    /// STGI.
    pub const STGI: u64 = 0x84;
    /// CLGI.
    pub const CLGI: u64 = 0x85;
    /// SKINIT.
    pub const SKINIT: u64 = 0x86;
    /// ICEBP.
    pub const ICEBP: u64 = 0x88;
    /// MONITOR.
    pub const MONITOR: u64 = 0x8A;
    /// MWAIT.
    pub const MWAIT: u64 = 0x8B;
    /// XSETBV.
    pub const XSETBV: u64 = 0x8D;
    /// Nested page fault.
    pub const NPF: u64 = 0x400;
    /// VMRUN refused the VMCB. QEMU's TCG reports it as 0xFFFF_FFFF in the low 32
    /// bits only, so compare `exit_code as u32` against this.
    pub const INVALID: u32 = u32::MAX;
}

/// Fields of EXITINFO1 for IOIO exits (APM Vol. 2, 15.10.2, Figure 15-2).
pub mod ioio {
    /// 1 = IN/INS, 0 = OUT/OUTS.
    pub const TYPE_IN: u64 = 1 << 0;
    /// String instruction.
    pub const STRING: u64 = 1 << 2;
    /// REP prefix.
    pub const REP: u64 = 1 << 3;
    /// Operand size one-hot: bit 4 byte, 5 word, 6 dword.
    pub const SIZE_SHIFT: u64 = 4;
    /// Address size one-hot: bit 7 16-bit, 8 32-bit, 9 64-bit.
    pub const ADDRESS_SHIFT: u64 = 7;
    /// Effective segment for string instructions, bits 12:10.
    pub const SEGMENT_SHIFT: u64 = 10;
    /// The port, bits 31:16.
    pub const PORT_SHIFT: u64 = 16;
}

/// Fields of EXITINFO1 for nested page faults (a #PF error code, APM Vol. 2, 15.25.6).
pub mod npf {
    /// The translation was present (a protection fault rather than a missing page).
    pub const PRESENT: u64 = 1 << 0;
    /// A write.
    pub const WRITE: u64 = 1 << 1;
    /// A reserved bit was set.
    pub const RESERVED: u64 = 1 << 3;
    /// An instruction fetch.
    pub const FETCH: u64 = 1 << 4;
    /// The fault happened on the final guest-physical address.
    pub const FINAL_ADDRESS: u64 = 1 << 32;
    /// The fault happened while walking the guest's own page tables.
    pub const GUEST_TABLES: u64 = 1 << 33;
}

impl Vmcb {
    /// An all-zero VMCB.
    pub const fn zeroed() -> Self {
        // SAFETY: every field is an integer or an array of integers, for which
        // all-zero bytes are a valid value.
        unsafe { core::mem::zeroed() }
    }
}
