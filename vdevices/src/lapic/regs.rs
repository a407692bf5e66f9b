//! Register offsets and bit fields of the xAPIC local APIC, from SDM Vol. 3A
//! Table 11-1 "Local APIC Register Address Map" and the register figures of
//! §11.4–§11.8. Offsets are relative to the 4 KiB APIC page; every register is
//! 32 bits wide at a 16-byte aligned offset.

/// Local APIC ID register (bits 31:24 hold the ID; §11.4.6).
pub const APIC_ID: u64 = 0x020;
/// Local APIC version register (§11.4.8), read-only.
pub const APIC_VERSION: u64 = 0x030;
/// Task priority register (§11.8.3.1).
pub const APIC_TPR: u64 = 0x080;
/// Arbitration priority register; this model reads it as 0.
pub const APIC_APR: u64 = 0x090;
/// Processor priority register (§11.8.3.1), read-only, computed.
pub const APIC_PPR: u64 = 0x0A0;
/// End-of-interrupt register (§11.8.5), write-only.
pub const APIC_EOI: u64 = 0x0B0;
/// Remote read register; obsolete since the Pentium 4, reads 0.
pub const APIC_RRD: u64 = 0x0C0;
/// Logical destination register (bits 31:24; §11.6.2.2).
pub const APIC_LDR: u64 = 0x0D0;
/// Destination format register (bits 31:28 select the model; §11.6.2.2).
pub const APIC_DFR: u64 = 0x0E0;
/// Spurious-interrupt vector register (§11.9).
pub const APIC_SVR: u64 = 0x0F0;
/// First of the eight in-service registers (vectors 0–31 at 0x100, …).
pub const APIC_ISR_BASE: u64 = 0x100;
/// First of the eight trigger mode registers.
pub const APIC_TMR_BASE: u64 = 0x180;
/// First of the eight interrupt request registers.
pub const APIC_IRR_BASE: u64 = 0x200;
/// Error status register (§11.5.3).
pub const APIC_ESR: u64 = 0x280;
/// LVT corrected machine-check interrupt register.
pub const APIC_LVT_CMCI: u64 = 0x2F0;
/// Interrupt command register, bits 31:0 (§11.6.1). Writing it sends.
pub const APIC_ICR_LOW: u64 = 0x300;
/// Interrupt command register, bits 63:32 (destination in bits 31:24).
pub const APIC_ICR_HIGH: u64 = 0x310;
/// LVT timer register (§11.5.1, §11.5.4).
pub const APIC_LVT_TIMER: u64 = 0x320;
/// LVT thermal sensor register.
pub const APIC_LVT_THERMAL: u64 = 0x330;
/// LVT performance monitoring counters register.
pub const APIC_LVT_PERF: u64 = 0x340;
/// LVT LINT0 register.
pub const APIC_LVT_LINT0: u64 = 0x350;
/// LVT LINT1 register.
pub const APIC_LVT_LINT1: u64 = 0x360;
/// LVT error register.
pub const APIC_LVT_ERROR: u64 = 0x370;
/// Timer initial count register (§11.5.4).
pub const APIC_TIMER_INITIAL_COUNT: u64 = 0x380;
/// Timer current count register, read-only.
pub const APIC_TIMER_CURRENT_COUNT: u64 = 0x390;
/// Timer divide configuration register (Figure 11-10).
pub const APIC_TIMER_DIVIDE_CONFIG: u64 = 0x3E0;

/// Size of the MMIO window: one page.
pub const APIC_WINDOW_SIZE: u64 = 0x1000;
/// Where the APIC page sits after reset (IA32_APIC_BASE default).
pub const APIC_DEFAULT_BASE: u64 = 0xFEE0_0000;

/// Version register bits 7:0: an integrated xAPIC of the Pentium 4 / Xeon
/// and later generations.
pub const VERSION_NUMBER: u32 = 0x14;
/// Version register bits 23:16: number of LVT entries minus one. Seven
/// entries (CMCI, timer, thermal, perf, LINT0, LINT1, error), so 6.
pub const VERSION_MAX_LVT: u32 = 6;
/// Version register bit 24: EOI-broadcast suppression is supported (§11.8.5).
pub const VERSION_EOI_BROADCAST_SUPPRESSION: u32 = 1 << 24;
/// What the version register reads.
pub const VERSION_VALUE: u32 =
    VERSION_NUMBER | (VERSION_MAX_LVT << 16) | VERSION_EOI_BROADCAST_SUPPRESSION;

/// Vector field of the LVT entries, SVR and ICR (bits 7:0).
pub const VECTOR_MASK: u32 = 0xFF;

/// LVT delivery mode, bits 10:8 (thermal, perf, CMCI, LINT0, LINT1).
pub const LVT_DELIVERY_MODE_MASK: u32 = 0x7 << 8;
/// LVT delivery mode field position.
pub const LVT_DELIVERY_MODE_SHIFT: u32 = 8;
/// LVT delivery status (read-only; always idle in this model).
pub const LVT_DELIVERY_STATUS: u32 = 1 << 12;
/// LVT input pin polarity, 1 = active low (LINT0/LINT1 only).
pub const LVT_POLARITY_LOW: u32 = 1 << 13;
/// LVT remote IRR (read-only; LINT0/LINT1 only).
pub const LVT_REMOTE_IRR: u32 = 1 << 14;
/// LVT trigger mode, 1 = level (LINT0/LINT1 only).
pub const LVT_TRIGGER_LEVEL: u32 = 1 << 15;
/// LVT mask: 1 inhibits the interrupt.
pub const LVT_MASKED: u32 = 1 << 16;
/// LVT timer mode field, bits 18:17.
pub const LVT_TIMER_MODE_MASK: u32 = 0x3 << 17;
/// LVT timer mode field position.
pub const LVT_TIMER_MODE_SHIFT: u32 = 17;
/// Timer mode `00`: one-shot.
pub const TIMER_MODE_ONE_SHOT: u32 = 0b00;
/// Timer mode `01`: periodic.
pub const TIMER_MODE_PERIODIC: u32 = 0b01;
/// Timer mode `10`: TSC-deadline (§11.5.4.1).
pub const TIMER_MODE_TSC_DEADLINE: u32 = 0b10;

/// Writable bits of the LVT timer register.
pub const LVT_TIMER_WRITABLE: u32 = VECTOR_MASK | LVT_MASKED | LVT_TIMER_MODE_MASK;
/// Writable bits of the LVT thermal, perf and CMCI registers.
pub const LVT_LOCAL_WRITABLE: u32 = VECTOR_MASK | LVT_DELIVERY_MODE_MASK | LVT_MASKED;
/// Writable bits of the LVT LINT0 and LINT1 registers.
pub const LVT_LINT_WRITABLE: u32 =
    VECTOR_MASK | LVT_DELIVERY_MODE_MASK | LVT_POLARITY_LOW | LVT_TRIGGER_LEVEL | LVT_MASKED;
/// Writable bits of the LVT error register.
pub const LVT_ERROR_WRITABLE: u32 = VECTOR_MASK | LVT_MASKED;

/// SVR bits 7:0: the spurious-interrupt vector.
pub const SVR_VECTOR_MASK: u32 = 0xFF;
/// SVR bit 8: APIC software enable.
pub const SVR_APIC_ENABLED: u32 = 1 << 8;
/// SVR bit 12: suppress EOI broadcasts for level-triggered interrupts.
pub const SVR_EOI_BROADCAST_SUPPRESSION: u32 = 1 << 12;
/// Writable SVR bits. Bit 9 (focus processor checking) is reserved on the
/// Pentium 4 and later, which this model follows.
pub const SVR_WRITABLE: u32 = SVR_VECTOR_MASK | SVR_APIC_ENABLED | SVR_EOI_BROADCAST_SUPPRESSION;
/// SVR after reset: disabled, vector 0xFF.
pub const SVR_RESET: u32 = 0xFF;

/// ESR bit 5: an IPI with an illegal vector (0–15) was sent.
pub const ESR_SEND_ILLEGAL_VECTOR: u32 = 1 << 5;
/// ESR bit 6: an interrupt with an illegal vector (0–15) was received or
/// generated locally.
pub const ESR_RECEIVE_ILLEGAL_VECTOR: u32 = 1 << 6;
/// ESR bit 7: software accessed an unimplemented register of the APIC page.
pub const ESR_ILLEGAL_REGISTER_ADDRESS: u32 = 1 << 7;

/// DFR bits 31:28 for the flat model.
pub const DFR_MODEL_FLAT: u32 = 0xF;
/// DFR bits 31:28 for the cluster model.
pub const DFR_MODEL_CLUSTER: u32 = 0x0;
/// DFR bits 27:0 are reserved and read as ones.
pub const DFR_RESERVED_ONES: u32 = 0x0FFF_FFFF;

/// ICR delivery mode field, bits 10:8.
pub const ICR_DELIVERY_MODE_MASK: u32 = 0x7 << 8;
/// ICR delivery mode field position.
pub const ICR_DELIVERY_MODE_SHIFT: u32 = 8;
/// ICR bit 11: logical destination mode.
pub const ICR_DESTINATION_LOGICAL: u32 = 1 << 11;
/// ICR bit 12: delivery status, 1 = send pending (read-only).
pub const ICR_DELIVERY_STATUS: u32 = 1 << 12;
/// ICR bit 14: level, 1 = assert (0 only for the obsolete INIT de-assert).
pub const ICR_LEVEL_ASSERT: u32 = 1 << 14;
/// ICR bit 15: trigger mode, 1 = level.
pub const ICR_TRIGGER_LEVEL: u32 = 1 << 15;
/// ICR destination shorthand field, bits 19:18.
pub const ICR_SHORTHAND_MASK: u32 = 0x3 << 18;
/// ICR destination shorthand field position.
pub const ICR_SHORTHAND_SHIFT: u32 = 18;
/// Shorthand `00`: use the destination field.
pub const SHORTHAND_NONE: u32 = 0b00;
/// Shorthand `01`: self.
pub const SHORTHAND_SELF: u32 = 0b01;
/// Shorthand `10`: all including self.
pub const SHORTHAND_ALL_INCLUDING_SELF: u32 = 0b10;
/// Shorthand `11`: all excluding self.
pub const SHORTHAND_ALL_EXCLUDING_SELF: u32 = 0b11;
/// Writable bits of ICR low.
pub const ICR_LOW_WRITABLE: u32 = VECTOR_MASK
    | ICR_DELIVERY_MODE_MASK
    | ICR_DESTINATION_LOGICAL
    | ICR_LEVEL_ASSERT
    | ICR_TRIGGER_LEVEL
    | ICR_SHORTHAND_MASK;
/// ICR high bits 31:24: the destination field.
pub const ICR_HIGH_DESTINATION_SHIFT: u32 = 24;

/// Writable bits of the divide configuration register (bits 0, 1 and 3).
pub const DIVIDE_CONFIG_WRITABLE: u32 = 0b1011;

/// Vectors 0–15 are illegal for fixed interrupts (§11.5.2).
pub const FIRST_LEGAL_VECTOR: u8 = 16;
