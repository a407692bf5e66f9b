//! Named bits of the control registers, EFER and RFLAGS (SDM Vol. 3A, 2.5 "Control
//! Registers" and 2.2.1 "Extended Feature Enable Register"; Vol. 1, 3.4.3 "EFLAGS").

/// CR0 bits.
pub mod cr0 {
    /// Protection enable.
    pub const PE: u64 = 1 << 0;
    /// Monitor coprocessor.
    pub const MP: u64 = 1 << 1;
    /// x87 emulation.
    pub const EM: u64 = 1 << 2;
    /// Task switched.
    pub const TS: u64 = 1 << 3;
    /// Extension type: hard-wired to 1 on every processor since the 486.
    pub const ET: u64 = 1 << 4;
    /// Numeric error (native #MF reporting).
    pub const NE: u64 = 1 << 5;
    /// Write protect in supervisor mode.
    pub const WP: u64 = 1 << 16;
    /// Alignment mask.
    pub const AM: u64 = 1 << 18;
    /// Not write-through.
    pub const NW: u64 = 1 << 29;
    /// Cache disable.
    pub const CD: u64 = 1 << 30;
    /// Paging.
    pub const PG: u64 = 1 << 31;
    /// The value after reset and INIT: CD, NW and ET (SDM Vol. 3A, Table 10-1).
    pub const RESET: u64 = CD | NW | ET;
}

/// CR4 bits.
pub mod cr4 {
    /// Virtual-8086 mode extensions.
    pub const VME: u64 = 1 << 0;
    /// Page size extensions (4 MiB pages without PAE).
    pub const PSE: u64 = 1 << 4;
    /// Physical address extension: required for long mode.
    pub const PAE: u64 = 1 << 5;
    /// Machine check enable.
    pub const MCE: u64 = 1 << 6;
    /// Page global enable.
    pub const PGE: u64 = 1 << 7;
    /// FXSAVE/FXRSTOR and SSE enabled by the OS.
    pub const OSFXSR: u64 = 1 << 9;
    /// Unmasked SIMD exceptions enabled by the OS.
    pub const OSXMMEXCPT: u64 = 1 << 10;
    /// XSAVE and XSETBV enabled by the OS.
    pub const OSXSAVE: u64 = 1 << 18;
}

/// EFER (MSR 0xC000_0080) bits.
pub mod efer {
    /// The MSR index.
    pub const MSR: u32 = 0xC000_0080;
    /// SYSCALL enable.
    pub const SCE: u64 = 1 << 0;
    /// Long mode enable.
    pub const LME: u64 = 1 << 8;
    /// Long mode active (set by the processor when paging turns on with LME).
    pub const LMA: u64 = 1 << 10;
    /// No-execute enable.
    pub const NXE: u64 = 1 << 11;
    /// Secure virtual machine enable (AMD); never visible to a guest here.
    pub const SVME: u64 = 1 << 12;
}

/// RFLAGS bits.
pub mod rflags {
    /// Carry.
    pub const CF: u64 = 1 << 0;
    /// Reserved, always reads 1.
    pub const FIXED: u64 = 1 << 1;
    /// Zero.
    pub const ZF: u64 = 1 << 6;
    /// Trap (single step).
    pub const TF: u64 = 1 << 8;
    /// Interrupt enable.
    pub const IF: u64 = 1 << 9;
    /// Direction (string instructions count down when set).
    pub const DF: u64 = 1 << 10;
    /// I/O privilege level, two bits.
    pub const IOPL: u64 = 3 << 12;
    /// Resume (suppresses instruction breakpoints for one instruction).
    pub const RF: u64 = 1 << 16;
    /// Virtual-8086 mode.
    pub const VM: u64 = 1 << 17;
    /// The value after reset, and the value every boot protocol enters with: only the
    /// always-one bit, so interrupts are off.
    pub const RESET: u64 = FIXED;
}
