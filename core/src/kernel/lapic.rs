//! The physical local APIC, only as far as the hypervisor needs it: its ID and
//! inter-processor interrupts for bring-up. xAPIC registers are reached through
//! MMIO, x2APIC ones through MSRs (SDM Vol. 3A, 11.4 and 11.12), whichever
//! mode firmware left the APIC in.
//!
//! The APIC's global enable bit is never cleared: on some platforms (QEMU's
//! TCG among them) a cleared enable bit cannot be set again.

use x86_64::registers::model_specific::Msr;

const IA32_APIC_BASE: u32 = 0x1B;
const BASE_ENABLE: u64 = 1 << 11;
const BASE_X2APIC: u64 = 1 << 10;
const BASE_ADDRESS_MASK: u64 = 0x000F_FFFF_FFFF_F000;
const X2APIC_MSR_BASE: u32 = 0x800;

/// Register offsets in the xAPIC page.
mod reg {
    pub const ID: u32 = 0x20;
    pub const SPURIOUS: u32 = 0xF0;
    pub const ICR_LOW: u32 = 0x300;
    pub const ICR_HIGH: u32 = 0x310;
    pub const EOI: u32 = 0xB0;
    pub const LVT_TIMER: u32 = 0x320;
    pub const TIMER_INITIAL: u32 = 0x380;
    pub const TIMER_CURRENT: u32 = 0x390;
    pub const TIMER_DIVIDE: u32 = 0x3E0;
}

const LVT_MASKED: u64 = 1 << 16;
/// Divide configuration 0b011: divide by 16.
const DIVIDE_BY_16: u64 = 0b0011;

const SPURIOUS_VECTOR: u64 = 0xFF;
const SOFTWARE_ENABLE: u64 = 1 << 8;
const ICR_DELIVERY_PENDING: u64 = 1 << 12;
const ICR_LEVEL_ASSERT: u64 = 1 << 14;
const ICR_INIT: u64 = 5 << 8;
const ICR_STARTUP: u64 = 6 << 8;

fn base_msr() -> u64 {
    // SAFETY: IA32_APIC_BASE exists on every CPU with a local APIC.
    unsafe { Msr::new(IA32_APIC_BASE).read() }
}

fn x2apic() -> bool {
    base_msr() & BASE_X2APIC != 0
}

fn read(offset: u32) -> u64 {
    if x2apic() {
        // SAFETY: in x2APIC mode each register is the MSR 0x800 + offset/16.
        unsafe { Msr::new(X2APIC_MSR_BASE + (offset >> 4)).read() }
    } else {
        let address = (base_msr() & BASE_ADDRESS_MASK) + u64::from(offset);
        // SAFETY: the xAPIC page is identity mapped uncached; 32-bit aligned reads are the interface.
        u64::from(unsafe { (address as *const u32).read_volatile() })
    }
}

fn write(offset: u32, value: u64) {
    if x2apic() {
        // SAFETY: as in `read`; register writes only affect this core's APIC.
        unsafe { Msr::new(X2APIC_MSR_BASE + (offset >> 4)).write(value) }
    } else {
        let address = (base_msr() & BASE_ADDRESS_MASK) + u64::from(offset);
        // SAFETY: as in `read`, for a 32-bit register write.
        unsafe { (address as *mut u32).write_volatile(value as u32) }
    }
}

/// Makes sure this core's APIC is enabled and accepting IPIs.
pub fn init() {
    let base = base_msr();
    if base & BASE_ENABLE == 0 {
        // SAFETY: setting the global enable bit, keeping the base address and mode.
        unsafe { Msr::new(IA32_APIC_BASE).write(base | BASE_ENABLE) };
    }
    write(reg::SPURIOUS, SOFTWARE_ENABLE | SPURIOUS_VECTOR);
}

/// This core's APIC ID.
pub fn id() -> u32 {
    let raw = read(reg::ID);
    if x2apic() {
        raw as u32
    } else {
        (raw >> 24) as u32
    }
}

fn send(apic_id: u32, command: u64) {
    if x2apic() {
        write(reg::ICR_LOW, (u64::from(apic_id) << 32) | command);
    } else {
        write(reg::ICR_HIGH, u64::from(apic_id) << 24);
        write(reg::ICR_LOW, command);
        while read(reg::ICR_LOW) & ICR_DELIVERY_PENDING != 0 {
            core::hint::spin_loop();
        }
    }
}

/// Starts the timer counting down from `count` with its interrupt masked
/// (for calibration).
pub fn timer_count_down(count: u32) {
    write(reg::TIMER_DIVIDE, DIVIDE_BY_16);
    write(reg::LVT_TIMER, LVT_MASKED);
    write(reg::TIMER_INITIAL, count.into());
}

/// The timer's current count.
pub fn timer_current() -> u32 {
    read(reg::TIMER_CURRENT) as u32
}

/// Arms the timer to raise `vector` once, after `ticks` at divide-by-16.
pub fn timer_one_shot(vector: u8, ticks: u32) {
    write(reg::TIMER_DIVIDE, DIVIDE_BY_16);
    write(reg::LVT_TIMER, vector.into());
    write(reg::TIMER_INITIAL, ticks.into());
}

/// Stops the timer and masks its interrupt.
pub fn timer_stop() {
    write(reg::LVT_TIMER, LVT_MASKED);
    write(reg::TIMER_INITIAL, 0);
}

/// Signals the end of the interrupt being handled.
pub fn end_of_interrupt() {
    write(reg::EOI, 0);
}

/// INIT IPI: resets the target core into wait-for-SIPI.
pub fn send_init(apic_id: u32) {
    send(apic_id, ICR_INIT | ICR_LEVEL_ASSERT);
}

/// Start-up IPI: the target core begins in real mode at `page * 4096`.
pub fn send_startup(apic_id: u32, page: u8) {
    send(apic_id, ICR_STARTUP | ICR_LEVEL_ASSERT | u64::from(page));
}

/// A fixed-delivery IPI raising `vector` on core `apic_id`.
pub fn send_fixed(apic_id: u32, vector: u8) {
    send(apic_id, ICR_LEVEL_ASSERT | u64::from(vector));
}
