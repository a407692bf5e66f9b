//! The neutral exit: what a backend reports when the guest stops running.
//!
//! `bulkhead-svm` and `bulkhead-vmx` decode their raw #VMEXIT / VM exit into one
//! [`Exit`] and handle only what is vendor-internal (re-injecting an event whose
//! delivery an exit interrupted, CR shadows, XCR0 switching). I/O, MMIO, CPUID and MSR
//! *policy* lives once, in the core (STYLE rule 2). Each variant says when it happens and
//! which raw exit it comes from: SVM exit codes from APM Vol. 2, Appendix C "SVM Intercept
//! Exit Codes"; VMX basic exit reasons from SDM Vol. 3D, Appendix C "VMX Basic Exit
//! Reasons".
//!
//! Exits caused by an instruction leave RIP *at* that instruction. The core completes the
//! instruction (writes its result through the vCPU's register accessors) and then moves
//! past it with [`Vcpu::skip_instruction`](crate::Vcpu::skip_instruction), or injects a
//! fault instead and leaves RIP alone.

use crate::state::SegmentReg;

/// The direction of an I/O access.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IoDirection {
    /// `in`/`ins`: device to guest.
    In,
    /// `out`/`outs`: guest to device.
    Out,
}

/// How a guest-physical access that exited was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MmioAccess {
    /// A data read.
    Read,
    /// A data write (a read-modify-write instruction reports its write).
    Write,
    /// An instruction fetch.
    Execute,
}

/// Why the guest stopped, decoded and vendor-neutral.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Exit {
    /// `in al/ax/eax, imm8|dx` on a port the I/O bitmap intercepts (SVM `IOIO` 0x7B with
    /// TYPE = in and STR clear; VMX reason 30 with direction in and string clear). The
    /// core reads the device and writes the result with [`merge_io_read`].
    IoIn {
        /// The port.
        port: u16,
        /// Access width in bytes: 1, 2 or 4.
        size: u8,
    },
    /// `out imm8|dx, al/ax/eax` on an intercepted port (SVM `IOIO`, VMX reason 30).
    IoOut {
        /// The port.
        port: u16,
        /// Access width in bytes: 1, 2 or 4.
        size: u8,
        /// The low `size` bytes of RAX, already masked.
        value: u32,
    },
    /// `ins`/`outs`, with or without `rep`, on an intercepted port (SVM `IOIO` with STR;
    /// VMX reason 30 with the string bit). The core decodes the instruction at RIP (iced-x86)
    /// for what the exit does not say reliably, reads or writes guest memory at ES:RDI or
    /// seg:RSI through the guest's paging, and updates RCX/RSI/RDI by RFLAGS.DF.
    IoString {
        /// The port (DX).
        port: u16,
        /// Element width in bytes: 1, 2 or 4.
        size: u8,
        /// `ins` (In) or `outs` (Out).
        direction: IoDirection,
        /// A `rep` prefix is present: RCX counts the elements.
        rep: bool,
        /// Address size in bits (16, 32, 64), when the hardware reports it (SVM always;
        /// VMX when IA32_VMX_BASIC bit 54 is set).
        address_bits: Option<u8>,
        /// The source segment of `outs` after overrides, when the hardware reports it
        /// (SVM with decode assists; VMX with the instruction-information field). `ins`
        /// always writes through ES.
        segment: Option<SegmentReg>,
    },
    /// A guest-physical access the nested page tables do not allow: no mapping (an MMIO
    /// hole, or an address outside the partition's RAM) or a permission the mapping lacks
    /// (SVM `NPF` 0x400; VMX reasons 48 EPT violation and 49 EPT misconfiguration). The core
    /// looks the address up in its MMIO map, decodes the instruction at RIP (iced-x86) and
    /// emulates it, or refuses the access per policy.
    Mmio {
        /// The guest-physical address.
        gpa: u64,
        /// Read, write or fetch.
        access: MmioAccess,
        /// The guest-linear address, when the hardware reports one (VMX).
        linear: Option<u64>,
        /// The access was the processor walking the guest's own page tables, not the
        /// instruction's operand: the guest's page tables point outside its RAM, which
        /// no instruction emulation can fix.
        page_walk: bool,
    },
    /// `cpuid` (SVM `CPUID` 0x72; VMX reason 10). The core answers from the partition's
    /// CPUID table into RAX, RBX, RCX, RDX.
    Cpuid {
        /// EAX at the instruction.
        leaf: u32,
        /// ECX at the instruction.
        subleaf: u32,
    },
    /// `rdmsr` on an MSR the bitmap intercepts (SVM `MSR` 0x7C with EXITINFO1 = 0; VMX
    /// reason 31). The core answers into EDX:EAX or injects #GP.
    MsrRead {
        /// ECX at the instruction.
        msr: u32,
    },
    /// `wrmsr` on an intercepted MSR (SVM `MSR` 0x7C with EXITINFO1 = 1; VMX reason 32).
    MsrWrite {
        /// ECX at the instruction.
        msr: u32,
        /// EDX:EAX.
        value: u64,
    },
    /// `hlt` (SVM `HLT` 0x78; VMX reason 12). The core idles the vCPU until an interrupt
    /// is pending and the guest can take it.
    Hlt,
    /// `vmmcall` or `vmcall` (SVM `VMMCALL` 0x81; VMX reason 18). The arguments are in the
    /// registers; the core reads them through the vCPU.
    Hypercall,
    /// The guest shut down: a triple fault, or a fault while delivering a double fault
    /// (SVM `SHUTDOWN` 0x7F; VMX reason 2). The guest cannot continue; the crash policy
    /// applies.
    Shutdown,
    /// The guest can take an interrupt now, after the core asked with
    /// [`Vcpu::request_interrupt_window`](crate::Vcpu::request_interrupt_window) (SVM
    /// `VINTR` 0x64; VMX reason 7).
    InterruptWindow,
    /// A host interrupt arrived while the guest ran (SVM `INTR` 0x60; VMX reason 1). The
    /// backend has left it pending for the host to take once host interrupts are on; the
    /// core only needs to look at its own work before re-entering.
    ExternalInterrupt,
    /// A host NMI arrived while the guest ran (SVM `NMI` 0x61; VMX reason 0 with
    /// interruption type NMI).
    Nmi,
    /// The physical core received INIT (SVM `INIT` 0x63; VMX reason 3). Guest INIT IPIs
    /// go to the virtual local APIC and never produce this.
    Init,
    /// An intercepted guest exception (SVM exit codes 0x40..=0x5F; VMX reason 0 with
    /// interruption type hardware exception). The core decides: reflect it, or stop the
    /// guest (an #MC, for one).
    Exception {
        /// The vector.
        vector: u8,
        /// The error code, for vectors that push one.
        error_code: Option<u32>,
    },
    /// `xsetbv` (SVM `XSETBV` 0x8D; VMX reason 55). The core checks the value against the
    /// features its CPUID table advertises in leaf 0xD and either stores it in
    /// [`GuestState::xcr0`](crate::GuestState::xcr0) and skips the instruction, or
    /// injects #GP. Switching XCR0 between host and guest on entry and exit is the
    /// backend's business.
    Xsetbv {
        /// ECX: which XCR (only 0 exists).
        index: u32,
        /// EDX:EAX.
        value: u64,
    },
    /// `pause` in a spin loop, when pause-loop exiting is on (SVM `PAUSE` 0x77; VMX
    /// reason 40).
    Pause,
    /// The hardware refused to enter the guest because the guest state is invalid (SVM
    /// `VMEXIT_INVALID`, exit code -1; VMX reason 33, and 34 for MSR loading). A bug in
    /// the state the core set, never the guest's own doing.
    InvalidGuestState {
        /// Which check failed, as far as the backend could tell.
        detail: &'static str,
    },
    /// Any exit the backend does not decode, with its raw vendor values for the log.
    Unhandled {
        /// SVM EXITCODE or VMX basic exit reason.
        code: u64,
        /// SVM EXITINFO1 or VMX exit qualification.
        info1: u64,
        /// SVM EXITINFO2 or VMX guest-physical / linear address, whichever applies.
        info2: u64,
    },
}

/// The kind of an [`Exit`] without its fields: a stable index for counting exits per
/// reason in a fixed array (`[u64; ExitKind::COUNT]`).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum ExitKind {
    /// [`Exit::IoIn`].
    IoIn,
    /// [`Exit::IoOut`].
    IoOut,
    /// [`Exit::IoString`].
    IoString,
    /// [`Exit::Mmio`].
    Mmio,
    /// [`Exit::Cpuid`].
    Cpuid,
    /// [`Exit::MsrRead`].
    MsrRead,
    /// [`Exit::MsrWrite`].
    MsrWrite,
    /// [`Exit::Hlt`].
    Hlt,
    /// [`Exit::Hypercall`].
    Hypercall,
    /// [`Exit::Shutdown`].
    Shutdown,
    /// [`Exit::InterruptWindow`].
    InterruptWindow,
    /// [`Exit::ExternalInterrupt`].
    ExternalInterrupt,
    /// [`Exit::Nmi`].
    Nmi,
    /// [`Exit::Init`].
    Init,
    /// [`Exit::Exception`].
    Exception,
    /// [`Exit::Xsetbv`].
    Xsetbv,
    /// [`Exit::Pause`].
    Pause,
    /// [`Exit::InvalidGuestState`].
    InvalidGuestState,
    /// [`Exit::Unhandled`].
    Unhandled,
}

impl ExitKind {
    /// How many kinds there are.
    pub const COUNT: usize = 19;

    /// Every kind, in index order: `ALL[k.index()] == k`.
    pub const ALL: [ExitKind; Self::COUNT] = [
        ExitKind::IoIn,
        ExitKind::IoOut,
        ExitKind::IoString,
        ExitKind::Mmio,
        ExitKind::Cpuid,
        ExitKind::MsrRead,
        ExitKind::MsrWrite,
        ExitKind::Hlt,
        ExitKind::Hypercall,
        ExitKind::Shutdown,
        ExitKind::InterruptWindow,
        ExitKind::ExternalInterrupt,
        ExitKind::Nmi,
        ExitKind::Init,
        ExitKind::Exception,
        ExitKind::Xsetbv,
        ExitKind::Pause,
        ExitKind::InvalidGuestState,
        ExitKind::Unhandled,
    ];

    /// The index into a per-kind array, `0..COUNT`.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// A short, stable name for logs and status output.
    pub const fn name(self) -> &'static str {
        match self {
            ExitKind::IoIn => "io-in",
            ExitKind::IoOut => "io-out",
            ExitKind::IoString => "io-string",
            ExitKind::Mmio => "mmio",
            ExitKind::Cpuid => "cpuid",
            ExitKind::MsrRead => "msr-read",
            ExitKind::MsrWrite => "msr-write",
            ExitKind::Hlt => "hlt",
            ExitKind::Hypercall => "hypercall",
            ExitKind::Shutdown => "shutdown",
            ExitKind::InterruptWindow => "interrupt-window",
            ExitKind::ExternalInterrupt => "external-interrupt",
            ExitKind::Nmi => "nmi",
            ExitKind::Init => "init",
            ExitKind::Exception => "exception",
            ExitKind::Xsetbv => "xsetbv",
            ExitKind::Pause => "pause",
            ExitKind::InvalidGuestState => "invalid-guest-state",
            ExitKind::Unhandled => "unhandled",
        }
    }
}

impl Exit {
    /// The kind of this exit.
    pub const fn kind(&self) -> ExitKind {
        match self {
            Exit::IoIn { .. } => ExitKind::IoIn,
            Exit::IoOut { .. } => ExitKind::IoOut,
            Exit::IoString { .. } => ExitKind::IoString,
            Exit::Mmio { .. } => ExitKind::Mmio,
            Exit::Cpuid { .. } => ExitKind::Cpuid,
            Exit::MsrRead { .. } => ExitKind::MsrRead,
            Exit::MsrWrite { .. } => ExitKind::MsrWrite,
            Exit::Hlt => ExitKind::Hlt,
            Exit::Hypercall => ExitKind::Hypercall,
            Exit::Shutdown => ExitKind::Shutdown,
            Exit::InterruptWindow => ExitKind::InterruptWindow,
            Exit::ExternalInterrupt => ExitKind::ExternalInterrupt,
            Exit::Nmi => ExitKind::Nmi,
            Exit::Init => ExitKind::Init,
            Exit::Exception { .. } => ExitKind::Exception,
            Exit::Xsetbv { .. } => ExitKind::Xsetbv,
            Exit::Pause => ExitKind::Pause,
            Exit::InvalidGuestState { .. } => ExitKind::InvalidGuestState,
            Exit::Unhandled { .. } => ExitKind::Unhandled,
        }
    }
}

/// RAX after an `in` of `size` bytes returned `value`: `in al` and `in ax` replace only
/// their low 8 or 16 bits and leave the rest of RAX alone; `in eax` writes a 32-bit
/// register, which zero-extends into RAX (SDM Vol. 1, 3.4.1.1). A size other than 1, 2 or
/// 4 leaves RAX unchanged.
pub const fn merge_io_read(rax: u64, size: u8, value: u32) -> u64 {
    match size {
        1 => (rax & !0xFF) | (value as u64 & 0xFF),
        2 => (rax & !0xFFFF) | (value as u64 & 0xFFFF),
        4 => value as u64,
        _ => rax,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Indexes are dense and stable, names unique, and every exit maps to its kind.
    #[test]
    fn kinds_are_a_dense_index() {
        for (i, kind) in ExitKind::ALL.iter().enumerate() {
            assert_eq!(kind.index(), i);
        }
        let mut names: Vec<&str> = ExitKind::ALL.iter().map(|k| k.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ExitKind::COUNT);

        let exits = [
            Exit::IoIn {
                port: 0x3F8,
                size: 1,
            },
            Exit::IoOut {
                port: 0x3F8,
                size: 1,
                value: 0x41,
            },
            Exit::IoString {
                port: 0x3F8,
                size: 1,
                direction: IoDirection::Out,
                rep: true,
                address_bits: Some(32),
                segment: None,
            },
            Exit::Mmio {
                gpa: 0xFEE0_0000,
                access: MmioAccess::Write,
                linear: None,
                page_walk: false,
            },
            Exit::Cpuid {
                leaf: 0,
                subleaf: 0,
            },
            Exit::MsrRead { msr: 0x1B },
            Exit::MsrWrite {
                msr: 0x1B,
                value: 0,
            },
            Exit::Hlt,
            Exit::Hypercall,
            Exit::Shutdown,
            Exit::InterruptWindow,
            Exit::ExternalInterrupt,
            Exit::Nmi,
            Exit::Init,
            Exit::Exception {
                vector: 18,
                error_code: None,
            },
            Exit::Xsetbv { index: 0, value: 7 },
            Exit::Pause,
            Exit::InvalidGuestState { detail: "cs" },
            Exit::Unhandled {
                code: 0x7E,
                info1: 0,
                info2: 0,
            },
        ];
        assert_eq!(exits.len(), ExitKind::COUNT);
        for (exit, kind) in exits.iter().zip(ExitKind::ALL) {
            assert_eq!(exit.kind(), kind);
        }
        let mut counts = [0u64; ExitKind::COUNT];
        counts[Exit::Hlt.kind().index()] += 1;
        assert_eq!(counts[7], 1);
    }

    /// 8- and 16-bit `in` keep the rest of RAX; 32-bit `in` zero-extends.
    #[test]
    fn io_read_merging() {
        let rax = 0x1122_3344_5566_7788;
        assert_eq!(merge_io_read(rax, 1, 0xAABB_CCDD), 0x1122_3344_5566_77DD);
        assert_eq!(merge_io_read(rax, 2, 0xAABB_CCDD), 0x1122_3344_5566_CCDD);
        assert_eq!(merge_io_read(rax, 4, 0xAABB_CCDD), 0x0000_0000_AABB_CCDD);
        assert_eq!(merge_io_read(rax, 3, 0xAABB_CCDD), rax);
    }
}
